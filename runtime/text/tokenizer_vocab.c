/* tokenizer_vocab.c — the WordPiece vocabulary: vocab.txt, strictly parsed into an open-addressing hash table with a keyed hash and bounded probing. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/tokenizer.h"

/* vocab.txt: one token a line, id = line index. A line ends at "\n"; a
 * "\r" just before it is dropped (files written on Windows), nothing else
 * is trimmed, as in transformers' load_vocab. An empty line is the token "",
 * which never matches but keeps the ids after it in place. A token on two
 * lines keeps the later id, as HF's dict does; the earlier id is then never
 * produced, but still counts in the size, which is the embedding's rows. */

/* A vocabulary is untrusted input (a model folder from anywhere): with a
 * fixed hash, tokens crafted to share one home slot made loading quadratic
 * (2^17 of them: 7-12 s) and every lookup a walk through all of them. Two
 * defences, each enough alone for one half:
 * - SipHash-1-3 under a random key per table: collisions cannot be aimed;
 * - no token sits more than CLENC__VOCAB_MAX_PROBES slots past its home: an
 *   insertion that would is answered by a new key (REKEYS tries), then by a
 *   table twice the size. So a lookup stops after MAX_PROBES slots, present
 *   or not, whatever the file holds.
 * At most half full, a random key leaves the longest probe under 50 for
 * 2^20 tokens (measured), so rebuilds are rare and growth rarer still. */
#define REKEYS 3
#define MAX_GROWTH 4 /* doublings past the half-full size */

/* Linear probing; id < 0 marks an empty slot. */
struct clenc__vocab_slot {
    uint32_t offset; /* of the token in text */
    uint32_t len;
    uint32_t hash_hi; /* the hash's high half: most misses skip memcmp */
    int32_t id;
};

/* ------------------------------------------------------------ the table */

/* The slot holding prefix+s, or the empty slot where it would go, within
 * MAX_PROBES slots of its home; NULL when neither is. */
static clenc__vocab_slot *slot_for(const clenc__vocab *v, const char *prefix,
                                   size_t plen, const char *s, size_t n,
                                   uint32_t *hash_hi)
{
    uint64_t h = clenc__siphash(v->key, 1, 3, prefix, plen, s, n);
    *hash_hi = (uint32_t)(h >> 32);
    size_t i = (size_t)h & v->slot_mask;
    for (int probe = 0; probe < CLENC__VOCAB_MAX_PROBES;
         probe++, i = (i + 1) & v->slot_mask) {
        clenc__vocab_slot *slot = &v->slots[i];
        if (slot->id < 0)
            return slot;
        if (slot->hash_hi == *hash_hi && slot->len == plen + n &&
            memcmp(v->text + slot->offset, prefix, plen) == 0 &&
            memcmp(v->text + slot->offset + plen, s, n) == 0)
            return slot;
    }
    return NULL;
}

int32_t clenc__vocab_find(const clenc__vocab *v, const char *prefix,
                          size_t plen, const char *s, size_t n)
{
    uint32_t hash_hi;
    const clenc__vocab_slot *slot = slot_for(v, prefix, plen, s, n, &hash_hi);
    return slot ? slot->id : -1;
}

size_t clenc__vocab_max_probes(const clenc__vocab *v)
{
    size_t most = 0;
    for (size_t i = 0; v->slots && i <= v->slot_mask; i++) {
        const clenc__vocab_slot *slot = &v->slots[i];
        if (slot->id < 0)
            continue;
        size_t home = (size_t)clenc__siphash(v->key, 1, 3, "", 0,
                                             v->text + slot->offset,
                                             slot->len) &
                      v->slot_mask;
        size_t probes = ((i - home) & v->slot_mask) + 1;
        if (probes > most)
            most = probes;
    }
    return most;
}

/* utf8proc_iterate rejects overlong forms, surrogates and > U+10FFFF. */
size_t clenc__utf8_invalid_at(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        utf8proc_int32_t cp;
        utf8proc_ssize_t len =
            utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
        if (len < 0)
            return i;
        i += (size_t)len;
    }
    return n;
}

/* The line starting at `start`: its length without "\r\n"; returns where
 * the next line starts. */
static size_t line_at(const char *data, size_t size, size_t start,
                      size_t *len)
{
    const char *nl = memchr(data + start, '\n', size - start);
    size_t end = nl ? (size_t)(nl - data) : size;
    *len = end - start;
    if (*len > 0 && data[start + *len - 1] == '\r')
        (*len)--;
    return end + 1;
}

static clenc_status check_line(clenc__vocab *v, size_t start, size_t len,
                               size_t line, const char *origin)
{
    const char *token = v->text + start;
    if (memchr(token, '\0', len))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "vocabulary %s, line %zu: holds a NUL byte", origin,
                           line + 1);
    size_t bad = clenc__utf8_invalid_at((const unsigned char *)token, len);
    if (bad < len)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "vocabulary %s, line %zu: invalid UTF-8 at byte "
                           "%zu of the line",
                           origin, line + 1, bad);
    if (len > v->max_token_len)
        v->max_token_len = len;
    return CLENC_OK;
}

/* Every line into the table under the current key; 0 when a token would
 * sit past MAX_PROBES from its home. */
static int fill(clenc__vocab *v, size_t size)
{
    for (size_t i = 0; i <= v->slot_mask; i++)
        v->slots[i].id = -1;
    size_t start = 0, len;
    for (size_t line = 0; line < v->lines; line++) {
        size_t next = line_at(v->text, size, start, &len);
        uint32_t hash_hi;
        clenc__vocab_slot *slot =
            slot_for(v, "", 0, v->text + start, len, &hash_hi);
        if (!slot)
            return 0;
        if (slot->id < 0) {
            slot->offset = (uint32_t)start;
            slot->len = (uint32_t)len;
            slot->hash_hi = hash_hi;
        }
        slot->id = (int32_t)line;
        start = next;
    }
    return 1;
}

/* Keys, then sizes, until every token is within MAX_PROBES of its home. */
static clenc_status build_table(clenc__vocab *v, size_t size,
                                const char *origin)
{
    size_t slots = 16;
    while (slots < 2 * v->lines)
        slots *= 2;
    for (int growth = 0; growth <= MAX_GROWTH; growth++, slots *= 2) {
        clenc__free(v->slots);
        if (!(v->slots = clenc__malloc(slots * sizeof *v->slots)))
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "no host memory for vocabulary %s (%zu "
                               "tokens)",
                               origin, v->lines);
        v->slot_mask = slots - 1;
        for (int attempt = 0; attempt < REKEYS; attempt++) {
            clenc__random_key(v->key);
            if (fill(v, size))
                return CLENC_OK;
        }
    }
    return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                       "vocabulary %s: no hash key kept its %zu tokens within "
                       "%d probes of their slots",
                       origin, v->lines, CLENC__VOCAB_MAX_PROBES);
}

clenc_status clenc__vocab_parse(const char *data, size_t size,
                                const char *origin, clenc__vocab *out)
{
    clenc_status st = CLENC_OK;
    memset(out, 0, sizeof *out);
    if (!data || size == 0)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT, "vocabulary %s is empty",
                           origin);
    /* Offsets are 32-bit; real vocabularies are under 1 MB. */
    if (size > UINT32_MAX)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "vocabulary %s is %zu bytes (at most 4 GiB)",
                           origin, size);
    size_t lines = data[size - 1] != '\n'; /* a last line without "\n" */
    for (const char *p = data; (p = memchr(p, '\n', size - (size_t)(p - data)));
         p++)
        lines++;
    if (lines > INT32_MAX)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "vocabulary %s has %zu lines; ids are 32-bit",
                           origin, lines);
    if (!(out->text = clenc__malloc(size))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for vocabulary %s (%zu tokens)",
                         origin, lines);
        goto out_free_vocab;
    }
    memcpy(out->text, data, size);
    out->lines = lines;
    size_t start = 0, len;
    for (size_t line = 0; line < lines; line++) {
        size_t next = line_at(data, size, start, &len);
        TRY(check_line(out, start, len, line, origin), out_free_vocab);
        start = next;
    }
    TRY(build_table(out, size, origin), out_free_vocab);
    return CLENC_OK;
out_free_vocab:
    clenc__vocab_free(out);
    return st;
}

void clenc__vocab_free(clenc__vocab *v)
{
    if (!v)
        return;
    clenc__free(v->text);
    clenc__free(v->slots);
    memset(v, 0, sizeof *v);
}
