/* tokenizer_vocab.c — the WordPiece vocabulary: vocab.txt, strictly parsed into an open-addressing hash table. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tokenizer.h"

/* vocab.txt: one token a line, id = line index. A line ends at "\n"; a
 * "\r" just before it is dropped (files written on Windows), nothing else
 * is trimmed, as in transformers' load_vocab. An empty line is the token "",
 * which never matches but keeps the ids after it in place. A token on two
 * lines keeps the later id, as HF's dict does; the earlier id is then never
 * produced, but still counts in the size, which is the embedding's rows. */

/* Linear probing, at most half full; id < 0 marks an empty slot. */
struct clenc__vocab_slot {
    uint32_t offset; /* of the token in text */
    uint32_t len;
    uint32_t hash_hi; /* the hash's high half: most misses skip memcmp */
    int32_t id;
};

/* The slot holding prefix+s, or the empty slot where it would go. */
static clenc__vocab_slot *slot_for(const clenc__vocab *v, const char *prefix,
                                   size_t plen, const char *s, size_t n,
                                   uint32_t *hash_hi)
{
    uint64_t h = clenc__fnv1a(clenc__fnv1a(CLENC__FNV_SEED, prefix, plen), s,
                              n);
    *hash_hi = (uint32_t)(h >> 32);
    for (size_t i = (size_t)h & v->slot_mask;; i = (i + 1) & v->slot_mask) {
        clenc__vocab_slot *slot = &v->slots[i];
        if (slot->id < 0)
            return slot;
        if (slot->hash_hi == *hash_hi && slot->len == plen + n &&
            memcmp(v->text + slot->offset, prefix, plen) == 0 &&
            memcmp(v->text + slot->offset + plen, s, n) == 0)
            return slot;
    }
}

int32_t clenc__vocab_find(const clenc__vocab *v, const char *prefix,
                          size_t plen, const char *s, size_t n)
{
    uint32_t hash_hi;
    return slot_for(v, prefix, plen, s, n, &hash_hi)->id;
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

static clenc_status add_line(clenc__vocab *v, size_t start, size_t len,
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
    uint32_t hash_hi;
    clenc__vocab_slot *slot = slot_for(v, "", 0, token, len, &hash_hi);
    if (slot->id < 0) {
        slot->offset = (uint32_t)start;
        slot->len = (uint32_t)len;
        slot->hash_hi = hash_hi;
    }
    slot->id = (int32_t)line;
    if (len > v->max_token_len)
        v->max_token_len = len;
    return CLENC_OK;
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
    size_t slots = 16;
    while (slots < 2 * lines)
        slots *= 2;
    out->text = clenc__malloc(size);
    out->slots = clenc__malloc(slots * sizeof *out->slots);
    if (!out->text || !out->slots) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for vocabulary %s (%zu tokens)",
                         origin, lines);
        goto out_free_vocab;
    }
    memcpy(out->text, data, size);
    for (size_t i = 0; i < slots; i++)
        out->slots[i].id = -1;
    out->slot_mask = slots - 1;
    out->lines = lines;
    size_t start = 0;
    for (size_t line = 0; line < lines; line++) {
        const char *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t len = end - start;
        if (len > 0 && data[start + len - 1] == '\r')
            len--;
        TRY(add_line(out, start, len, line, origin), out_free_vocab);
        start = end + 1;
    }
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
