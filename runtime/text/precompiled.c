/* precompiled.c — tokenizer.json's Precompiled normalizer: SentencePiece's compiled character map (a Darts-clone double-array trie over UTF-8 keys and a blob of replacement strings), checked whole at load and applied per grapheme cluster exactly as tokenizers' spm_precompiled does. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/pipeline.h"

/* The charsmap is base64 of: a uint32 (little-endian) byte size of the
 * trie, the trie (that many bytes: uint32 units), then the replacement
 * strings, each ending in NUL. A unit is a node (label in bits 0-7 and
 * 31, has-leaf flag bit 8, child offset in bits 10-30, scaled by 256 when
 * bit 9 is set) or, where a leaf hangs, a value (bits 0-30: the offset of
 * its string in the blob). Darts-clone shares suffixes, so the trie is a
 * DAG: the load walks what is reachable once per node. */

/* Decoded charsmaps SentencePiece writes are about 240 KB (nmt_nfkc).
 * The load walk probes 255 labels per node, so the bound keeps a hostile
 * file to about 250 M probes. */
#define CHARSMAP_MAX_BYTES (4u << 20)

typedef struct precompiled {
    clenc__normalizer base;
    uint32_t *units;
    size_t n_units;
    uint32_t root; /* the root's child base */
    char *blob;    /* the replacement strings */
    size_t blob_n;
} precompiled;

static uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
static int unit_has_leaf(uint32_t u) { return (u >> 8) & 1u; }
static uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static uint32_t unit_offset(uint32_t u)
{
    return (u >> 10) << ((u & (1u << 9)) >> 6);
}

/* tokenizers' transform(): the FIRST key of the trie that is a prefix of
 * key (the shortest, not the longest: "Ⅸ\u0301" matches "Ⅸ" and the
 * accent is dropped with the rest of the chunk), stopping at a NUL byte as
 * Darts does. Returns the value's blob offset or -1. The load proved every
 * reachable base has all 256 slots inside the array; the bound check stays
 * as a second fence. */
static long first_match(const precompiled *pc, const unsigned char *key,
                        size_t len)
{
    uint32_t pos = pc->root;
    for (size_t i = 0; i < len && key[i] != 0; i++) {
        pos ^= key[i];
        if (pos >= pc->n_units)
            return -1;
        uint32_t u = pc->units[pos];
        if (unit_label(u) != key[i])
            return -1;
        pos ^= unit_offset(u);
        if (pos >= pc->n_units)
            return -1;
        if (unit_has_leaf(u))
            return (long)unit_value(pc->units[pos]);
    }
    return -1;
}

/* ------------------------------------------------- grapheme clusters */

/* tokenizers segments with the unicode-segmentation crate (1.13.3 in
 * tokenizers 0.23.3: Unicode 17), utf8proc 2.8 with Unicode 15.0. Only a
 * cluster under 6 bytes of two or more characters is looked up whole, so
 * only boundaries inside such short runs can change the output. Tested on
 * every code point pair that short (a charsmap mapping each first
 * character, HF's output telling joined from split), the two disagree
 * only for the characters below; each is given to utf8proc as a stand-in
 * of the class unicode-segmentation gives it. GB9c (Indic conjunct
 * clusters, Unicode 15.1) is not in utf8proc 2.8: such a cluster is at
 * least 9 bytes, and splitting it differs only where a consonant that the
 * map rewrites is followed by a 2-byte combining mark (U+0300-U+07FF) and
 * nothing else: left as is. */
static const struct {
    int32_t lo, hi, as;
} gcb_fix[] = {
    {0x0897, 0x0897, 0x0300},   /* Extend since Unicode 16 */
    {0x1ACF, 0x1ADD, 0x0300},   {0x1AE0, 0x1AEB, 0x0300},
    {0x2065, 0x2065, 0x0001},   /* reserved default-ignorable: Control */
    {0xFFF0, 0xFFF8, 0x0001},   {0x10D69, 0x10D6D, 0x0300},
    {0x10EFA, 0x10EFC, 0x0300}, {0x113B8, 0x113C0, 0x0300},
    {0x113C2, 0x113C2, 0x0300}, {0x113C5, 0x113C5, 0x0300},
    {0x113C7, 0x113CA, 0x0300}, {0x113CC, 0x113D0, 0x0300},
    {0x113D1, 0x113D1, 0x0600}, /* Prepend since Unicode 16 */
    {0x113D2, 0x113D2, 0x0300}, {0x113E1, 0x113E2, 0x0300},
    {0x11A3A, 0x11A3A, 0x0041}, /* no longer Prepend in Unicode 16 */
    {0x11B60, 0x11B67, 0x0300}, {0x11F5A, 0x11F5A, 0x0300},
    {0x1611E, 0x1612F, 0x0300}, {0x1E5EE, 0x1E5EF, 0x0300},
    {0x1E6E3, 0x1E6E3, 0x0300}, {0x1E6E6, 0x1E6E6, 0x0300},
    {0x1E6EE, 0x1E6EF, 0x0300}, {0x1E6F5, 0x1E6F5, 0x0300},
};

static int32_t gcb_stand_in(int32_t c)
{
    if (c < 0x0897)
        return c;
    size_t lo = 0, hi = sizeof gcb_fix / sizeof gcb_fix[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (c < gcb_fix[mid].lo)
            hi = mid;
        else if (c > gcb_fix[mid].hi)
            lo = mid + 1;
        else
            return gcb_fix[mid].as;
    }
    return c;
}

/* ------------------------------------------------------------ normalize */

static clenc_status put_value(const precompiled *pc, long v, clenc__str *out)
{
    const char *r = pc->blob + v;
    return clenc__str_put(out, r, strlen(r)); /* NUL-ended: checked at load */
}

/* One cluster: whole if under 6 bytes and a key starts it, else each
 * character by itself (tokenizers' Precompiled::normalize). */
static clenc_status cluster(const precompiled *pc, const char *s, size_t n,
                            clenc__str *out)
{
    long v;
    if (n < 6 && (v = first_match(pc, (const unsigned char *)s, n)) >= 0)
        return put_value(pc, v, out);
    clenc_status st = CLENC_OK;
    for (size_t i = 0; i < n && st == CLENC_OK;) {
        size_t k = i;
        clenc__utf8_next(s, n, &k);
        v = first_match(pc, (const unsigned char *)s + i, k - i);
        st = v >= 0 ? put_value(pc, v, out) : clenc__str_put(out, s + i, k - i);
        i = k;
    }
    return st;
}

static clenc_status precompiled_run(const clenc__normalizer *self,
                                    const char *s, size_t n, clenc__str *out)
{
    const precompiled *pc = (const precompiled *)self;
    out->n = 0;
    clenc_status st = CLENC_OK;
    utf8proc_int32_t state = 0; /* fed every boundary in order, as it asks */
    size_t start = 0, i = 0;
    int32_t prev = 0;
    while (i < n && st == CLENC_OK) {
        size_t k = i;
        int32_t c = gcb_stand_in(clenc__utf8_next(s, n, &k));
        if (i > start && utf8proc_grapheme_break_stateful(prev, c, &state)) {
            st = cluster(pc, s + start, i - start, out);
            start = i;
        }
        prev = c;
        i = k;
    }
    if (st == CLENC_OK && n > start)
        st = cluster(pc, s + start, n - start, out);
    return st;
}

static void precompiled_free(clenc__normalizer *self)
{
    precompiled *pc = (precompiled *)self;
    if (!pc)
        return;
    clenc__free(pc->units);
    clenc__free(pc->blob);
    clenc__free(pc);
}

/* ------------------------------------------------------------- loading */

static int b64_digit(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 as the base64 crate's STANDARD engine decodes it for
 * tokenizers: padding canonical or absent (tokenizers reads "YgA" as
 * "YgA="), no whitespace, no stray bits in the last character. out has
 * room for n / 4 * 3 + 2 bytes. Returns B64_OK with *out_n the decoded
 * length, else the offset of the first bad character (n: a bad length). */
#define B64_OK SIZE_MAX

static size_t b64_decode(const char *in, size_t n, unsigned char *out,
                         size_t *out_n)
{
    size_t data = n, o = 0;
    while (data > 0 && n - data < 2 && in[data - 1] == '=')
        data--;
    /* padding only to a multiple of 4; unpadded, a tail of 2 or 3 */
    if ((data < n && (n % 4 != 0 || data % 4 < 2)) || data % 4 == 1)
        return n;
    for (size_t i = 0; i < data; i += 4) {
        const size_t k = data - i < 4 ? data - i : 4; /* 2, 3 or 4 */
        uint32_t q = 0;
        for (size_t j = 0; j < 4; j++) {
            int d = j < k ? b64_digit((unsigned char)in[i + j]) : 0;
            if (d < 0)
                return i + j;
            q = q << 6 | (uint32_t)d;
        }
        if ((k == 2 && (q & 0xFFFF)) || (k == 3 && (q & 0xFF)))
            return i + k - 1; /* bits past the data */
        out[o++] = (unsigned char)(q >> 16);
        if (k > 2)
            out[o++] = (unsigned char)(q >> 8);
        if (k > 3)
            out[o++] = (unsigned char)q;
    }
    *out_n = o;
    return B64_OK;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t k = utf8proc_iterate(
            s + i, (utf8proc_ssize_t)(n - i < 4 ? n - i : 4), &cp);
        if (k <= 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}

/* Every node the text can reach, each base once (a bitmap, an explicit
 * queue: the file decides the shape, so no recursion): all 256 child
 * slots of a base inside the array (tokenizers would index past it), each
 * leaf's value unit inside it, and each value a character boundary of the
 * blob with a NUL after it. */
static clenc_status check_trie(const precompiled *pc, const clenc__jpath *p)
{
    const size_t n = pc->n_units;
    clenc_status st = CLENC_OK;
    uint32_t *queue = clenc__malloc(n * sizeof *queue);
    unsigned char *seen = clenc__calloc((n + 7) / 8, 1);
    if (!queue || !seen) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for the precompiled_charsmap");
        goto out;
    }
    size_t head = 0, tail = 0;
    if ((pc->root | 0xFFu) >= n) {
        st = clenc__jpath_bad(p, "precompiled_charsmap",
                              "has a root that points past its %zu units", n);
        goto out;
    }
    queue[tail++] = pc->root;
    seen[pc->root / 8] |= (unsigned char)(1u << (pc->root % 8));
    while (head < tail) {
        uint32_t base = queue[head++];
        for (uint32_t c = 1; c < 256; c++) {
            uint32_t j = base ^ c; /* < n: base | 0xFF < n */
            uint32_t u = pc->units[j];
            if (unit_label(u) != c)
                continue;
            uint32_t child = j ^ unit_offset(u);
            if ((child | 0xFFu) >= n) {
                st = clenc__jpath_bad(p, "precompiled_charsmap",
                                      "has a node (unit %u) that points "
                                      "past its %zu units", j, n);
                goto out;
            }
            if (unit_has_leaf(u)) {
                uint32_t v = unit_value(pc->units[child]);
                if (v >= pc->blob_n ||
                    ((unsigned char)pc->blob[v] & 0xC0) == 0x80 ||
                    !memchr(pc->blob + v, 0, pc->blob_n - v)) {
                    st = clenc__jpath_bad(p, "precompiled_charsmap",
                                          "has a replacement at byte %u that "
                                          "is not a NUL-ended string of its "
                                          "%zu-byte table", v, pc->blob_n);
                    goto out;
                }
            }
            if (!(seen[child / 8] & (1u << (child % 8)))) {
                seen[child / 8] |= (unsigned char)(1u << (child % 8));
                queue[tail++] = child; /* each base once: tail <= n */
            }
        }
    }
out:
    clenc__free(queue);
    clenc__free(seen);
    return st;
}

clenc_status clenc__norm_precompiled_parse(json_t *obj, const clenc__jpath *p,
                                           clenc__normalizer **out)
{
    *out = NULL;
    json_t *v = json_object_get(obj, "precompiled_charsmap");
    if (!v || json_is_null(v))
        return clenc__jpath_bad(p, "precompiled_charsmap", "is missing");
    if (!json_is_string(v))
        return clenc__jpath_bad(p, "precompiled_charsmap",
                                "is not a (base64) string");
    const char *b64 = json_string_value(v);
    const size_t b64_n = json_string_length(v);
    /* tokenizers 0.23.3 refuses an empty map too (its loader panics). */
    if (b64_n == 0)
        return clenc__jpath_bad(p, "precompiled_charsmap",
                                "is empty (tokenizers cannot load it either)");
    if (b64_n / 4 * 3 > CHARSMAP_MAX_BYTES)
        return clenc__jpath_bad(p, "precompiled_charsmap",
                                "is %zu characters long (at most %u)", b64_n,
                                CHARSMAP_MAX_BYTES / 3 * 4);

    clenc_status st = CLENC_OK;
    precompiled *pc = clenc__calloc(1, sizeof *pc);
    unsigned char *raw = clenc__malloc(b64_n / 4 * 3 + 2);
    if (!pc || !raw) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for the precompiled_charsmap");
        goto fail;
    }
    pc->base = (clenc__normalizer){precompiled_run, precompiled_free};

    size_t raw_n = 0;
    size_t bad = b64_decode(b64, b64_n, raw, &raw_n);
    if (bad != B64_OK) {
        st = bad == b64_n ? clenc__jpath_bad(p, "precompiled_charsmap",
                                             "is not base64: %zu characters, "
                                             "bad length or padding", b64_n)
                         : clenc__jpath_bad(p, "precompiled_charsmap",
                                            "is not base64 at character %zu",
                                            bad);
        goto fail;
    }
    if (raw_n < 4) {
        st = clenc__jpath_bad(p, "precompiled_charsmap",
                              "is %zu bytes, too short for its trie size",
                              raw_n);
        goto fail;
    }
    const uint32_t trie_bytes = (uint32_t)raw[0] | ((uint32_t)raw[1] << 8) |
                                ((uint32_t)raw[2] << 16) |
                                ((uint32_t)raw[3] << 24);
    if (trie_bytes == 0 || trie_bytes % 4 != 0 ||
        trie_bytes > raw_n - 4) {
        st = clenc__jpath_bad(p, "precompiled_charsmap",
                              "declares a %u-byte trie in %zu bytes (a "
                              "nonzero multiple of 4 that fits is needed)",
                              trie_bytes, raw_n - 4);
        goto fail;
    }
    pc->n_units = trie_bytes / 4;
    pc->blob_n = raw_n - 4 - trie_bytes;
    pc->units = clenc__malloc(pc->n_units * sizeof *pc->units);
    pc->blob = clenc__malloc(pc->blob_n + 1);
    if (!pc->units || !pc->blob) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for the precompiled_charsmap");
        goto fail;
    }
    for (size_t i = 0; i < pc->n_units; i++) {
        const unsigned char *b = raw + 4 + 4 * i;
        pc->units[i] = (uint32_t)b[0] | ((uint32_t)b[1] << 8) |
                       ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
    }
    memcpy(pc->blob, raw + 4 + trie_bytes, pc->blob_n);
    pc->blob[pc->blob_n] = '\0'; /* not part of the table: values need their own */
    /* tokenizers reads the blob as one Rust String. */
    if (!valid_utf8((const unsigned char *)pc->blob, pc->blob_n)) {
        st = clenc__jpath_bad(p, "precompiled_charsmap",
                              "has replacement strings that are not UTF-8");
        goto fail;
    }
    pc->root = unit_offset(pc->units[0]);
    if ((st = check_trie(pc, p)) != CLENC_OK)
        goto fail;
    clenc__free(raw);
    *out = &pc->base;
    return CLENC_OK;
fail:
    clenc__free(raw);
    precompiled_free(pc ? &pc->base : NULL);
    return st;
}
