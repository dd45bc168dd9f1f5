/* model_unigram.c — tokenizer.json's Unigram model: the best-scoring cut of a word into vocabulary pieces (Viterbi over a byte trie), unknown characters fused into one unk, optional byte fallback, as tokenizers' Unigram::encode_optimized. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/pipeline.h"

/* tokenizers scores an unknown character min(score) - 10 (kUnkPenalty). */
#define UNK_PENALTY 10.0

/* The pieces as a trie of bytes: each node's children are contiguous and
 * sorted by label (built breadth-first from the sorted pieces), the root's
 * are also in a 256-entry table. A walk costs one step per byte, so a
 * word's lattice costs its length times the longest piece, however the
 * vocabulary is shaped. */
typedef struct unode {
    uint32_t first; /* its first child */
    uint16_t count; /* children (at most 256) */
    uint8_t label;
    int32_t id; /* the piece ending here, or -1 */
} unode;

typedef struct unigram {
    clenc__tmodel base;
    unode *nodes;
    int32_t root_child[256];
    double *scores; /* by id */
    int32_t unk_id; /* -1: none */
    double unk_score;
    int byte_fallback;
    int32_t byte_ids[256]; /* "<0xXX>", -1 where missing */
} unigram;

static int32_t child(const unigram *u, int32_t node, unsigned char c)
{
    if (node == 0)
        return u->root_child[c];
    const unode *k = &u->nodes[u->nodes[node].first];
    size_t lo = 0, hi = u->nodes[node].count;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (k[mid].label < c)
            lo = mid + 1;
        else if (k[mid].label > c)
            hi = mid;
        else
            return (int32_t)(u->nodes[node].first + mid);
    }
    return -1;
}

/* The id of exactly s[0..n), or -1 (tokenizers' token_to_ids). */
static int32_t exact(const unigram *u, const char *s, size_t n)
{
    int32_t node = 0;
    for (size_t i = 0; i < n && node >= 0; i++)
        node = child(u, node, (unsigned char)s[i]);
    return node >= 0 ? u->nodes[node].id : -1;
}

static int32_t unigram_id(const clenc__tmodel *self, const char *token,
                          size_t n)
{
    return exact((const unigram *)self, token, n);
}

/* ------------------------------------------------------------- encoding */

typedef struct best {
    double score; /* of the best path ending here */
    size_t start; /* where its last piece starts; SIZE_MAX: none yet */
    int32_t id;
} best;

/* A run of fused unknown characters s[a..b): the piece if the whole run
 * is one, else its bytes' <0xXX> pieces (byte_fallback, all of them
 * present), else unk. Pushed in reverse: the caller reverses the word. */
static clenc_status push_unknown(const unigram *u, const char *s, size_t a,
                                 size_t b, clenc__ids *out)
{
    int32_t id = exact(u, s + a, b - a);
    if (id >= 0)
        return clenc__ids_push(out, id);
    if (u->byte_fallback) {
        size_t i = a;
        while (i < b && u->byte_ids[(unsigned char)s[i]] >= 0)
            i++;
        if (i == b) {
            clenc_status st = CLENC_OK;
            for (i = b; i > a && st == CLENC_OK; i--)
                st = clenc__ids_push(out, u->byte_ids[(unsigned char)s[i - 1]]);
            return st;
        }
    }
    return clenc__ids_push(out, u->unk_id);
}

/* Viterbi as encode_optimized: positions in order, at each the pieces that
 * start there shortest first, then an unk for one character when no piece
 * is exactly that character; a later candidate wins only with a strictly
 * higher score. The whole word is one lattice, however long: cutting it
 * would change the best path, and tokenizers never does. Memory is 24
 * bytes a byte of the word, time its length times the longest piece
 * (CLENC__TJ_MAX_TOKEN at most: the trie walk stops there). */
static clenc_status unigram_run(const clenc__tmodel *self, const char *s,
                                size_t n, clenc__ids *out)
{
    const unigram *u = (const unigram *)self;
    if (n == 0)
        return CLENC_OK;
    if (n >= SIZE_MAX / sizeof(best) - 1)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "a word too long");
    best small[128];
    best *bp = n < 128 ? small : clenc__malloc((n + 1) * sizeof *bp);
    if (!bp)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a Unigram lattice");
    for (size_t i = 0; i <= n; i++)
        bp[i] = (best){0.0, SIZE_MAX, -1};
    clenc_status st = CLENC_OK;

    for (size_t at = 0; at < n;) {
        const unsigned char lead = (unsigned char)s[at];
        size_t mblen = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        if (mblen > n - at)
            mblen = n - at;
        const double here = bp[at].score;
        int single = 0;
        int32_t node = 0;
        for (size_t k = at; k < n; k++) {
            if ((node = child(u, node, (unsigned char)s[k])) < 0)
                break;
            const int32_t id = u->nodes[node].id;
            if (id < 0)
                continue;
            best *t = &bp[k + 1];
            const double cand = u->scores[id] + here;
            if (t->start == SIZE_MAX || cand > t->score)
                *t = (best){cand, at, id};
            if (k + 1 - at == mblen)
                single = 1;
        }
        if (!single) {
            best *t = &bp[at + mblen];
            const double cand = u->unk_score + here;
            if (t->start == SIZE_MAX || cand > t->score) {
                if (u->unk_id < 0) { /* tokenizers fails the same way */
                    size_t next = at;
                    st = clenc__fail(CLENC_ERR_INVALID_ARG,
                                     "Unigram: no piece covers U+%04X and "
                                     "the model has no unk_id",
                                     (unsigned)clenc__utf8_next(s, n, &next));
                    goto out;
                }
                *t = (best){cand, at, u->unk_id};
            }
        }
        at += mblen;
    }

    /* Back from the end; consecutive unk pieces fuse into one string. */
    const size_t first = out->n;
    size_t unk_end = SIZE_MAX;
    for (size_t end = n; end > 0 && st == CLENC_OK;) {
        const best *b = &bp[end];
        if (b->id == u->unk_id) {
            if (unk_end == SIZE_MAX)
                unk_end = end;
        } else {
            if (unk_end != SIZE_MAX)
                st = push_unknown(u, s, end, unk_end, out);
            unk_end = SIZE_MAX;
            if (st == CLENC_OK)
                st = clenc__ids_push(out, b->id);
        }
        end = b->start;
    }
    if (unk_end != SIZE_MAX && st == CLENC_OK)
        st = push_unknown(u, s, 0, unk_end, out);
    if (st != CLENC_OK)
        out->n = first;
    for (size_t i = first, j = out->n; i + 1 < j; i++, j--) {
        int32_t t = out->v[i];
        out->v[i] = out->v[j - 1];
        out->v[j - 1] = t;
    }
out:
    if (bp != small)
        clenc__free(bp);
    return st;
}

static void unigram_free(clenc__tmodel *self)
{
    unigram *u = (unigram *)self;
    if (!u)
        return;
    clenc__free(u->nodes);
    clenc__free(u->scores);
    clenc__free(u);
}

/* ------------------------------------------------------------- loading */

/* tokenizers reads scores with serde_json's default float parser, which
 * is not correctly rounded: digits into a u64, converted to f64, then one
 * multiply or divide by a power of ten. For a 17-digit score (most scores
 * SentencePiece's float32s become) that is often one ulp away from the
 * nearest double, which jansson's strtod gives. The file's text is gone,
 * so this takes the shortest decimal that reads back as d (what Python's
 * json and serde_json's writer put in files) and reads it serde's way.
 * pow10[k] is 1e+k, correctly rounded, k = 0..308. */
static double serde_number(double d, const double *pow10)
{
    if (d == 0.0 || !isfinite(d))
        return d;
    char text[48];
    /* 16 digits read back as d when the shortest has 16 or fewer (then
     * with zeros after it, dropped below); else 17 do. */
    snprintf(text, sizeof text, "%.15e", d);
    if (strtod(text, NULL) != d)
        snprintf(text, sizeof text, "%.16e", d);
    /* text: [-]D.DDDe±X (the decimal point may be the locale's). */
    uint64_t sig = 0;
    int count = 0;
    const char *q = text;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9') {
            sig = sig * 10 + (uint64_t)(*q - '0');
            count++;
        }
    int exp = (*q == 'e' ? atoi(q + 1) : 0) - (count - 1);
    while (sig % 10 == 0) { /* sig > 0: d is not 0 */
        sig /= 10;
        exp++;
    }
    double f = (double)sig;
    for (;;) {
        const int a = exp < 0 ? -exp : exp;
        if (a <= 308) {
            f = exp >= 0 ? f * pow10[a] : f / pow10[a];
            break;
        }
        if (f == 0.0 || exp >= 0)
            break; /* not reached from a finite double */
        f /= 1e308;
        exp += 308;
    }
    return d < 0 ? -f : f;
}

typedef struct piece {
    const char *s;
    uint32_t n;
    int32_t id;
} piece;

static int piece_order(const void *pa, const void *pb)
{
    const piece *a = pa, *b = pb;
    int c = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
    if (c)
        return c;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    return a->id < b->id ? -1 : a->id > b->id;
}

typedef struct range {
    uint32_t lo, hi, depth;
} range;

/* Breadth-first from the sorted pieces: node i covers pieces [lo, hi),
 * which share their first `depth` bytes; those exactly that long come
 * first, the last (highest id) being the one tokenizers' map keeps for a
 * duplicated piece. */
static clenc_status build_trie(unigram *u, piece *pieces, uint32_t count,
                               size_t total_bytes)
{
    const size_t cap = total_bytes + 1;
    range *ranges = clenc__malloc(cap * sizeof *ranges);
    u->nodes = clenc__malloc(cap * sizeof *u->nodes);
    if (!ranges || !u->nodes) {
        clenc__free(ranges);
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a Unigram vocabulary");
    }
    qsort(pieces, count, sizeof *pieces, piece_order);
    size_t nodes = 1;
    ranges[0] = (range){0, count, 0};
    u->nodes[0].label = 0;
    for (size_t i = 0; i < nodes; i++) {
        const range r = ranges[i];
        uint32_t k = r.lo;
        int32_t id = -1;
        while (k < r.hi && pieces[k].n == r.depth)
            id = pieces[k++].id;
        unode *node = &u->nodes[i]; /* its label was set by its parent */
        node->first = (uint32_t)nodes;
        node->count = 0;
        node->id = id;
        while (k < r.hi) {
            const unsigned char c = (unsigned char)pieces[k].s[r.depth];
            uint32_t k2 = k + 1;
            while (k2 < r.hi && (unsigned char)pieces[k2].s[r.depth] == c)
                k2++;
            /* each node stands for a distinct prefix of a piece: fewer
             * than total_bytes + 1 */
            u->nodes[nodes] = (unode){.label = c};
            ranges[nodes++] = (range){k, k2, r.depth + 1};
            node->count++;
            k = k2;
        }
    }
    clenc__free(ranges);
    unode *fit = clenc__realloc(u->nodes, nodes * sizeof *fit);
    if (fit)
        u->nodes = fit;
    for (int c = 0; c < 256; c++)
        u->root_child[c] = -1;
    for (uint32_t k = 0; k < u->nodes[0].count; k++)
        u->root_child[u->nodes[1 + k].label] = (int32_t)(1 + k);
    return CLENC_OK;
}

clenc_status clenc__tmodel_unigram_parse(json_t *obj, const clenc__jpath *p,
                                         clenc__tmodel **out)
{
    *out = NULL;
    json_t *vocab = json_object_get(obj, "vocab");
    if (!vocab || json_is_null(vocab))
        return clenc__jpath_bad(p, "vocab", "is missing");
    if (!json_is_array(vocab))
        return clenc__jpath_bad(p, "vocab", "is not a list of [piece, score]");
    const size_t count = json_array_size(vocab);
    if (count > CLENC__TJ_MAX_VOCAB)
        return clenc__jpath_bad(p, "vocab", "has %zu pieces (at most %u)",
                                count, CLENC__TJ_MAX_VOCAB);
    long long unk_id;
    int byte_fallback;
    clenc_status st;
    if ((st = clenc__jget_int(obj, p, "unk_id", -1, 0,
                              count ? (long long)count - 1 : 0, &unk_id)) !=
            CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "byte_fallback", 0, &byte_fallback)) !=
            CLENC_OK)
        return st;
    if (unk_id >= 0 && count == 0)
        return clenc__jpath_bad(p, "vocab",
                                "is empty, but unk_id needs a piece");

    clenc__jpath vp;
    clenc__jpath_sub(p, "vocab", -1, &vp);
    unigram *u = clenc__calloc(1, sizeof *u);
    piece *pieces = clenc__malloc((count ? count : 1) * sizeof *pieces);
    if (u)
        u->scores = clenc__malloc((count ? count : 1) * sizeof *u->scores);
    if (!u || !pieces || !u->scores) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for a Unigram vocabulary");
        goto fail;
    }
    u->base = (clenc__tmodel){.run = unigram_run,
                              .id = unigram_id,
                              .vocab_size = count,
                              .max_id = (int32_t)count - 1,
                              .free = unigram_free};
    u->unk_id = (int32_t)unk_id;
    u->byte_fallback = byte_fallback;

    double pow10[309];
    for (int k = 0; k <= 308; k++) {
        char text[16];
        snprintf(text, sizeof text, "1e%d", k);
        pow10[k] = strtod(text, NULL);
    }
    double min_score = INFINITY;
    size_t total_bytes = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *e = json_array_get(vocab, i);
        clenc__jpath ep;
        clenc__jpath_sub(&vp, NULL, (long)i, &ep);
        json_t *text = json_array_get(e, 0), *score = json_array_get(e, 1);
        if (!json_is_array(e) || json_array_size(e) != 2 ||
            !json_is_string(text) || !json_is_number(score)) {
            st = clenc__jpath_bad(&ep, "", "is not a [piece, score] pair");
            goto fail;
        }
        const size_t n = json_string_length(text);
        if (n > CLENC__TJ_MAX_TOKEN) {
            st = clenc__jpath_bad(&ep, "", "is a %zu-byte piece (at most %u)",
                                  n, CLENC__TJ_MAX_TOKEN);
            goto fail;
        }
        pieces[i] = (piece){json_string_value(text), (uint32_t)n, (int32_t)i};
        total_bytes += n;
        u->scores[i] = json_is_integer(score)
                           ? (double)json_integer_value(score)
                           : serde_number(json_real_value(score), pow10);
        if (u->scores[i] < min_score)
            min_score = u->scores[i];
    }
    u->unk_score = min_score - UNK_PENALTY;
    if (total_bytes >= UINT32_MAX) { /* node indices are 32-bit */
        st = clenc__jpath_bad(p, "vocab", "holds %zu bytes of pieces",
                              total_bytes);
        goto fail;
    }
    if ((st = build_trie(u, pieces, (uint32_t)count, total_bytes)) != CLENC_OK)
        goto fail;
    for (int b = 0; b < 256; b++) {
        char name[16];
        snprintf(name, sizeof name, "<0x%02X>", b);
        u->byte_ids[b] = exact(u, name, 6);
    }
    clenc__free(pieces);
    *out = &u->base;
    return CLENC_OK;
fail:
    clenc__free(pieces);
    unigram_free(u ? &u->base : NULL);
    return st;
}
