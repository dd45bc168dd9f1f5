/* model_bpe.c — tokenizer.json's BPE model: a {token: id} vocabulary, ranked merges applied lowest rank first as tokenizers' Word::merge_all does, unk, byte fallback and the sub-word affixes. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "text/pipeline.h"

typedef struct tmodel_bpe {
    clenc__tmodel base;
    clenc__dict vocab;   /* token -> id */
    clenc__dict merges;  /* (left id, right id), 8 bytes -> rank */
    int32_t *merged;     /* rank -> the merged token's id */
    char *prefix;        /* continuing_subword_prefix ("" when none) */
    char *suffix;        /* end_of_word_suffix ("" when none) */
    size_t prefix_n, suffix_n;
    char *unk;           /* unk_token; NULL when none */
    int32_t unk_id;      /* -1: none, or not in the vocabulary */
    int fuse_unk, byte_fallback, ignore_merges;
    int32_t byte_ids[256]; /* "<0x41>" ... for byte_fallback; -1: absent */
    char where[512]; /* "FILE: PATH", for messages at run time */
} tmodel_bpe;

/* ------------------------------------------------------- one word's run */

typedef struct symbol {
    int32_t id;
    int32_t prev, next; /* -1 at the ends */
    int32_t alive;      /* 0 once merged into its left neighbour */
} symbol;

/* A possible merge of the symbol at pos with its right neighbour. */
typedef struct candidate {
    uint32_t rank, pos;
    int32_t merged;
} candidate;

typedef struct scratch {
    symbol *sym;
    size_t n, cap;
    candidate *heap;
    size_t heap_n, heap_cap;
    int32_t unk_id; /* the pending unknown, -1 when none */
} scratch;

static clenc_status grow(void **p, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return CLENC_OK;
    size_t cap2 = *cap ? 2 * *cap : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *bigger = clenc__realloc(*p, cap2 * unit);
    if (!bigger)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a BPE word of %zu symbols",
                           need);
    *p = bigger;
    *cap = cap2;
    return CLENC_OK;
}

static clenc_status add_symbol(scratch *w, int32_t id)
{
    /* Symbols index as int32: a chunk's bytes bound them far below. */
    clenc_status st = grow((void **)&w->sym, &w->cap, w->n + 1,
                           sizeof *w->sym);
    if (st != CLENC_OK)
        return st;
    w->sym[w->n] = (symbol){.id = id,
                            .prev = (int32_t)w->n - 1,
                            .next = -1,
                            .alive = 1};
    if (w->n)
        w->sym[w->n - 1].next = (int32_t)w->n;
    w->n++;
    return CLENC_OK;
}

/* The rank of merging ids a then b, -1 when no merge joins them. */
static int32_t rank_of(const tmodel_bpe *m, int32_t a, int32_t b)
{
    int32_t pair[2] = {a, b};
    return clenc__dict_get(&m->merges, pair, sizeof pair, NULL, 0);
}

/* Min-heap on (rank, pos): tokenizers' queue order, lowest rank first and
 * the leftmost of equal ranks. Equal keys are the same merge. */
static int before(const candidate *x, const candidate *y)
{
    return x->rank != y->rank ? x->rank < y->rank : x->pos < y->pos;
}

static clenc_status heap_push(scratch *w, uint32_t rank, uint32_t pos,
                              int32_t merged)
{
    clenc_status st = grow((void **)&w->heap, &w->heap_cap, w->heap_n + 1,
                           sizeof *w->heap);
    if (st != CLENC_OK)
        return st;
    candidate c = {rank, pos, merged};
    size_t i = w->heap_n++;
    while (i > 0 && before(&c, &w->heap[(i - 1) / 2])) {
        w->heap[i] = w->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    w->heap[i] = c;
    return CLENC_OK;
}

static candidate heap_pop(scratch *w)
{
    candidate top = w->heap[0], last = w->heap[--w->heap_n];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= w->heap_n)
            break;
        if (child + 1 < w->heap_n &&
            before(&w->heap[child + 1], &w->heap[child]))
            child++;
        if (!before(&w->heap[child], &last))
            break;
        w->heap[i] = w->heap[child];
        i = child;
    }
    if (w->heap_n)
        w->heap[i] = last;
    return top;
}

static clenc_status push_pair(const tmodel_bpe *m, scratch *w, int32_t pos)
{
    int32_t next = w->sym[pos].next;
    if (next < 0)
        return CLENC_OK;
    int32_t rank = rank_of(m, w->sym[pos].id, w->sym[next].id);
    if (rank < 0)
        return CLENC_OK;
    return heap_push(w, (uint32_t)rank, (uint32_t)pos, m->merged[rank]);
}

/* tokenizers' Word::merge_all (without dropout): every adjacent pair with
 * a merge queued; the lowest popped, skipped if stale (its left symbol
 * merged away, no right neighbour, or the pair there now merges into
 * another token: tokenizers compares the merged id, not the rank, and so
 * does this), else merged and the two new pairs queued. Each merge removes
 * a symbol and queues at most two: O(n log n) for n symbols. */
static clenc_status merge_all(const tmodel_bpe *m, scratch *w)
{
    clenc_status st = CLENC_OK;
    w->heap_n = 0;
    for (size_t i = 0; i + 1 < w->n && st == CLENC_OK; i++)
        st = push_pair(m, w, (int32_t)i);
    while (w->heap_n && st == CLENC_OK) {
        candidate top = heap_pop(w);
        symbol *left = &w->sym[top.pos];
        if (!left->alive || left->next < 0)
            continue;
        symbol *right = &w->sym[left->next];
        int32_t rank = rank_of(m, left->id, right->id);
        if (rank < 0 || m->merged[rank] != top.merged)
            continue;
        left->id = top.merged;
        left->next = right->next;
        right->alive = 0;
        if (left->next >= 0)
            w->sym[left->next].prev = (int32_t)top.pos;
        if (left->prev >= 0)
            st = push_pair(m, w, left->prev);
        if (st == CLENC_OK)
            st = push_pair(m, w, (int32_t)top.pos);
    }
    return st;
}

static clenc_status missing_unk(const tmodel_bpe *m)
{
    return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                       "%s.unk_token '%.80s' is not in the vocabulary, and a "
                       "word has a character that is not either",
                       m->where, m->unk);
}

static clenc_status flush_unk(scratch *w)
{
    clenc_status st = CLENC_OK;
    if (w->unk_id >= 0)
        st = add_symbol(w, w->unk_id);
    w->unk_id = -1;
    return st;
}

/* One character, looked up as tokenizers' merge_word does: the prefix
 * before any but the word's first, the suffix after its last; else its
 * bytes as <0xXX> tokens (byte_fallback, all or none), else unk (fused
 * with a pending unk under fuse_unk). tokenizers adds byte-fallback
 * pieces without flushing a pending unk first; so does this. */
static clenc_status add_char(const tmodel_bpe *m, scratch *w, const char *c,
                             size_t len, int first, int last)
{
    char key[2 * CLENC__TJ_MAX_TOKEN + 4];
    size_t k = 0;
    if (!first) {
        memcpy(key, m->prefix, m->prefix_n);
        k = m->prefix_n;
    }
    memcpy(key + k, c, len);
    k += len;
    if (last) {
        memcpy(key + k, m->suffix, m->suffix_n);
        k += m->suffix_n;
    }
    int32_t id = clenc__dict_get(&m->vocab, key, k, NULL, 0);
    if (id >= 0) {
        clenc_status st = flush_unk(w);
        return st == CLENC_OK ? add_symbol(w, id) : st;
    }
    if (m->byte_fallback) {
        size_t i = 0;
        while (i < k && m->byte_ids[(unsigned char)key[i]] >= 0)
            i++;
        if (i == k) {
            clenc_status st = CLENC_OK;
            for (i = 0; i < k && st == CLENC_OK; i++)
                st = add_symbol(w, m->byte_ids[(unsigned char)key[i]]);
            return st;
        }
    }
    if (!m->unk)
        return CLENC_OK; /* no unk_token: the character is dropped */
    if (w->unk_id >= 0 && m->fuse_unk)
        return CLENC_OK;
    clenc_status st = flush_unk(w);
    if (st != CLENC_OK)
        return st;
    if (m->unk_id < 0)
        return missing_unk(m);
    w->unk_id = m->unk_id;
    return CLENC_OK;
}

static size_t char_len(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return len <= n - i ? len : 1;
}

/* A word longer than CLENC__TJ_MAX_WORD bytes is cut, at a character
 * boundary, into chunks of at most that many, each merged on its own
 * (pipeline.h's bound on a word's work and memory): the prefix still
 * marks every character after the word's first, the suffix only the
 * word's last. A chunk also ends once it holds CLENC__TJ_MAX_WORD
 * symbols, which only byte fallback with long affixes reaches (each
 * character then becomes the bytes of prefix, character and suffix).
 * Words within the bounds give tokenizers' ids exactly. */
static clenc_status bpe_run(const clenc__tmodel *self, const char *s, size_t n,
                            clenc__ids *out)
{
    const tmodel_bpe *m = (const tmodel_bpe *)self;
    if (n == 0)
        return CLENC_OK;
    if (m->ignore_merges) {
        int32_t id = clenc__dict_get(&m->vocab, s, n, NULL, 0);
        if (id >= 0)
            return clenc__ids_push(out, id);
    }
    scratch w = {.unk_id = -1};
    clenc_status st = CLENC_OK;
    for (size_t from = 0; from < n && st == CLENC_OK;) {
        size_t to = n - from <= CLENC__TJ_MAX_WORD ? n
                                                   : from + CLENC__TJ_MAX_WORD;
        while (to < n && to > from + 1 && ((unsigned char)s[to] & 0xC0) == 0x80)
            to--;
        w.n = 0;
        w.unk_id = -1;
        size_t i = from;
        while (i < to && w.n < CLENC__TJ_MAX_WORD && st == CLENC_OK) {
            size_t len = char_len(s, to, i);
            st = add_char(m, &w, s + i, len, i == 0, i + len == n);
            i += len;
        }
        to = i;
        if (st == CLENC_OK)
            st = flush_unk(&w);
        if (st == CLENC_OK)
            st = merge_all(m, &w);
        for (size_t k = 0; k < w.n && st == CLENC_OK; k++)
            if (w.sym[k].alive)
                st = clenc__ids_push(out, w.sym[k].id);
        from = to;
    }
    clenc__free(w.sym);
    clenc__free(w.heap);
    return st;
}

static int32_t bpe_id(const clenc__tmodel *self, const char *token, size_t n)
{
    const tmodel_bpe *m = (const tmodel_bpe *)self;
    return clenc__dict_get(&m->vocab, token, n, NULL, 0);
}

static void bpe_free(clenc__tmodel *self)
{
    tmodel_bpe *m = (tmodel_bpe *)self;
    if (!m)
        return;
    clenc__dict_free(&m->vocab);
    clenc__dict_free(&m->merges);
    clenc__free(m->merged);
    clenc__free(m->prefix);
    clenc__free(m->suffix);
    clenc__free(m->unk);
    clenc__free(m);
}

/* ------------------------------------------------------------- parsing */

/* vocab: {token: id} (pipeline.h, clenc__jget_vocab). */
static clenc_status parse_vocab(tmodel_bpe *m, json_t *obj,
                                const clenc__jpath *p)
{
    size_t longest;
    return clenc__jget_vocab(obj, p, &m->vocab, &m->base.vocab_size,
                             &m->base.max_id, &longest);
}

/* One merge's two tokens: "a b" (the legacy form: exactly one space) or
 * ["a", "b"]. */
static clenc_status merge_parts(json_t *e, int legacy, const clenc__jpath *ep,
                                const char **a, size_t *na, const char **b,
                                size_t *nb)
{
    if (legacy) {
        const char *line = json_string_value(e);
        size_t n = json_string_length(e);
        const char *space = memchr(line, ' ', n);
        if (!space || memchr(space + 1, ' ', n - (size_t)(space - line) - 1))
            return clenc__jpath_bad(ep, "",
                                    "'%.80s' is not two tokens separated by "
                                    "one space",
                                    line);
        *a = line;
        *na = (size_t)(space - line);
        *b = space + 1;
        *nb = n - *na - 1;
        return CLENC_OK;
    }
    if (!json_is_array(e) || json_array_size(e) != 2 ||
        !json_is_string(json_array_get(e, 0)) ||
        !json_is_string(json_array_get(e, 1)))
        return clenc__jpath_bad(ep, "", "is not a pair of strings");
    *a = json_string_value(json_array_get(e, 0));
    *na = json_string_length(json_array_get(e, 0));
    *b = json_string_value(json_array_get(e, 1));
    *nb = json_string_length(json_array_get(e, 1));
    return CLENC_OK;
}

/* merges: in rank order, all strings or all pairs (tokenizers' two
 * forms; it skips "#version" lines of the legacy form, which take no
 * rank). Both tokens and their merge must be in the vocabulary; the merged
 * token is a followed by b less the prefix's length, as tokenizers builds
 * it. A pair given twice keeps its last rank, as tokenizers' map does.
 * At most CLENC__TJ_MAX_VOCAB merges: more than a vocabulary's worth can
 * only repeat pairs. */
static clenc_status parse_merges(tmodel_bpe *m, json_t *obj,
                                 const clenc__jpath *p)
{
    json_t *merges = json_object_get(obj, "merges");
    clenc__jpath mp;
    clenc__jpath_sub(p, "merges", -1, &mp);
    if (!json_is_array(merges))
        return clenc__jpath_bad(p, "merges", "is %s",
                                merges ? "not an array" : "missing");
    size_t count = json_array_size(merges);
    if (count > CLENC__TJ_MAX_VOCAB)
        return clenc__jpath_bad(p, "merges", "has %zu entries (at most %u)",
                                count, CLENC__TJ_MAX_VOCAB);
    int legacy = count > 0 && json_is_string(json_array_get(merges, 0));
    clenc_status st = clenc__dict_init(&m->merges, count);
    if (st != CLENC_OK)
        return st;
    m->merged = clenc__malloc((count ? count : 1) * sizeof *m->merged);
    if (!m->merged)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for %zu merges", count);
    /* Both tokens are in the vocabulary, so at most CLENC__TJ_MAX_TOKEN
     * bytes each. */
    char token[2 * CLENC__TJ_MAX_TOKEN + 1];
    int32_t rank = 0;
    for (size_t i = 0; i < count; i++) {
        json_t *e = json_array_get(merges, i);
        clenc__jpath ep;
        clenc__jpath_sub(&mp, NULL, (long)i, &ep);
        if (legacy != json_is_string(e))
            return clenc__jpath_bad(&ep, "",
                                    "is %s where merges[0] is %s: merges are "
                                    "all \"a b\" strings or all [\"a\", "
                                    "\"b\"] pairs",
                                    legacy ? "not a string" : "a string",
                                    legacy ? "one" : "not");
        if (legacy && strncmp(json_string_value(e), "#version", 8) == 0)
            continue;
        const char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        if ((st = merge_parts(e, legacy, &ep, &a, &na, &b, &nb)) != CLENC_OK)
            return st;
        int32_t ids[2] = {clenc__dict_get(&m->vocab, a, na, NULL, 0),
                          clenc__dict_get(&m->vocab, b, nb, NULL, 0)};
        if (ids[0] < 0 || ids[1] < 0)
            return clenc__jpath_bad(&ep, "",
                                    "names '%.80s', which is not in the "
                                    "vocabulary",
                                    ids[0] < 0 ? a : b);
        /* tokenizers cuts the prefix's length off b whatever b begins with
         * (and fails on a b shorter than it). */
        if (nb < m->prefix_n)
            return clenc__jpath_bad(&ep, "",
                                    "names '%.80s', shorter than "
                                    "continuing_subword_prefix",
                                    b);
        size_t n = na + nb - m->prefix_n;
        memcpy(token, a, na);
        memcpy(token + na, b + m->prefix_n, nb - m->prefix_n);
        token[n] = '\0';
        int32_t merged = clenc__dict_get(&m->vocab, token, n, NULL, 0);
        if (merged < 0)
            return clenc__jpath_bad(&ep, "",
                                    "makes '%.80s', which is not in the "
                                    "vocabulary",
                                    token);
        m->merged[rank] = merged;
        if ((st = clenc__dict_put(&m->merges, ids, sizeof ids, NULL, 0, rank,
                                  NULL)) != CLENC_OK)
            return st;
        rank++;
    }
    return CLENC_OK;
}

/* A string option: NULL when absent or null, bounded as a token is. */
static clenc_status affix(json_t *obj, const clenc__jpath *p, const char *key,
                          char **out, size_t *n)
{
    const char *v;
    clenc_status st = clenc__jget_string(obj, p, key, "", &v);
    if (st != CLENC_OK)
        return st;
    if (strlen(v) > CLENC__TJ_MAX_TOKEN)
        return clenc__jpath_bad(p, key, "is %zu bytes long (at most %u)",
                                strlen(v), CLENC__TJ_MAX_TOKEN);
    *n = strlen(v);
    if (!(*out = clenc__strdup(v)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a BPE model");
    return CLENC_OK;
}

clenc_status clenc__tmodel_bpe_parse(json_t *obj, const clenc__jpath *p,
                                     clenc__tmodel **out)
{
    *out = NULL;
    double dropout;
    clenc_status st = clenc__jget_number(obj, p, "dropout", 0.0, &dropout);
    if (st != CLENC_OK)
        return st;
    /* tokenizers refuses a dropout outside 0..1; within, any but 0 makes
     * merges random, which no fixed ids can match. */
    if (!(dropout >= 0.0 && dropout <= 1.0))
        return clenc__jpath_bad(p, "dropout", "is %g, outside 0..1", dropout);
    if (dropout != 0.0) {
        char value[32];
        snprintf(value, sizeof value, "%g", dropout);
        return clenc__jpath_unsupported(p, "dropout", value);
    }
    tmodel_bpe *m = clenc__calloc(1, sizeof *m);
    if (!m)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a BPE model");
    m->base.run = bpe_run;
    m->base.id = bpe_id;
    m->base.free = bpe_free;
    snprintf(m->where, sizeof m->where, "%s: %s", p->file ? p->file : "?",
             p->at);
    const char *unk;
    TRY(clenc__jget_string(obj, p, "unk_token", NULL, &unk), out_free_model);
    if (unk && !(m->unk = clenc__strdup(unk))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for a BPE model");
        goto out_free_model;
    }
    TRY(affix(obj, p, "continuing_subword_prefix", &m->prefix, &m->prefix_n),
        out_free_model);
    TRY(affix(obj, p, "end_of_word_suffix", &m->suffix, &m->suffix_n),
        out_free_model);
    TRY(clenc__jget_bool(obj, p, "fuse_unk", 0, &m->fuse_unk), out_free_model);
    TRY(clenc__jget_bool(obj, p, "byte_fallback", 0, &m->byte_fallback),
        out_free_model);
    TRY(clenc__jget_bool(obj, p, "ignore_merges", 0, &m->ignore_merges),
        out_free_model);
    TRY(parse_vocab(m, obj, p), out_free_model);
    TRY(parse_merges(m, obj, p), out_free_model);
    m->unk_id = m->unk ? clenc__dict_get(&m->vocab, m->unk, strlen(m->unk),
                                         NULL, 0)
                       : -1;
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        m->byte_ids[b] = clenc__dict_get(&m->vocab, name, 6, NULL, 0);
    }
    *out = &m->base;
    return CLENC_OK;

out_free_model:
    bpe_free(&m->base);
    return st;
}
