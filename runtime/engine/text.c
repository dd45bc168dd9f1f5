/* text.c — text in, vectors or scores out: tokenizing for callers, and the length-grouped batching of clenc_embed_text, clenc_score_pairs and clenc_classify. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "text/tokenizer.h"

/* Texts tokenized at a time: enough to group similar lengths into
 * batches, bounded so that any n runs in bounded memory. */
#define WINDOW_BATCHES 8

clenc_status clenc_tokenize_n(const clenc_model *model, const char *text,
                              size_t text_len, const char *text_pair,
                              size_t pair_len, size_t max_len, int32_t *ids,
                              int32_t *type_ids, size_t *n)
{
    if (n)
        *n = 0;
    if (!model || (!text && text_len) || (!text_pair && pair_len) || !ids ||
        !n)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_tokenize_n: %s",
                           !model  ? "model is NULL"
                           : !text && text_len ? "text is NULL, text_len not 0"
                           : !text_pair && pair_len
                               ? "text_pair is NULL, pair_len not 0"
                           : !ids ? "ids is NULL"
                                  : "n is NULL");
    if (!model->tokenizer)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "model '%s' has no tokenizer (no vocab.txt): give "
                           "it token ids",
                           model->name);
    /* max_len is the capacity of ids; the model's truncation length caps
     * it, so that no size here grows with what a caller passes. */
    if (max_len == 0 || max_len > model->max_text_tokens)
        max_len = model->max_text_tokens;
    return clenc__tokenize_n(model->tokenizer, text, text_len, text_pair,
                             pair_len, max_len, ids, type_ids, n);
}

clenc_status clenc_tokenize(const clenc_model *model, const char *text,
                            const char *text_pair, size_t max_len,
                            int32_t *ids, int32_t *type_ids, size_t *n)
{
    if (n)
        *n = 0;
    if (!model || !text || !ids || !n)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_tokenize: %s is NULL",
                           !model ? "model" : !text ? "text" : !ids ? "ids"
                                                                     : "n");
    return clenc_tokenize_n(model, text, strlen(text), text_pair,
                            text_pair ? strlen(text_pair) : 0, max_len, ids,
                            type_ids, n);
}

clenc_status clenc_session_set_pooling(clenc_session *s, clenc_pooling pooling)
{
    if (!s)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_set_pooling: session is NULL");
    unsigned mode = (unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE;
    if (mode > CLENC_POOL_POOLER ||
        (mode == CLENC_POOL_DEFAULT && pooling != CLENC_POOL_DEFAULT))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_set_pooling: 0x%x is not a pooling",
                           (unsigned)pooling);
    if (mode == CLENC_POOL_POOLER && !s->model->head.pooler_w)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "clenc_session_set_pooling: model '%s' has no "
                           "pooler (pooler.dense in its checkpoint) for "
                           "CLENC_POOL_POOLER",
                           s->model->name);
    s->pooling = pooling;
    return CLENC_OK;
}

/* Single texts have token type 0 throughout: type ids are kept for pairs
 * only. */
typedef struct window {
    size_t count, max_len;
    int32_t *ids;   /* [count][max_len] */
    int32_t *types; /* the same, for pairs; else NULL */
    size_t *lengths;
    struct ranked {
        size_t length, index;
    } *order; /* texts sorted by length */
    /* one batch, [max_batch][longest] */
    int32_t *batch_ids, *batch_types, *batch_lengths;
    float *batch_out;
} window;

static int by_length(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    return x->length < y->length ? -1 : x->length > y->length ? 1 : 0;
}

/* Encodes window texts order[from..to) as one batch and scatters the
 * results to their places in out. */
static clenc_status encode_batch(clenc_session *s, window *w,
                                 clenc_pooling pooling, size_t first,
                                 size_t from, size_t to, float *out)
{
    const size_t b = to - from, h = s->model->config.hidden;
    const size_t seq = w->order[to - 1].length; /* the longest */
    for (size_t i = 0; i < b; i++) {
        const size_t t = w->order[from + i].index;
        memcpy(w->batch_ids + i * seq, w->ids + t * w->max_len,
               w->lengths[t] * sizeof *w->ids);
        if (w->types)
            memcpy(w->batch_types + i * seq, w->types + t * w->max_len,
                   w->lengths[t] * sizeof *w->types);
        w->batch_lengths[i] = (int32_t)w->lengths[t];
    }
    clenc_status st =
        clenc_encode(s, w->batch_ids, w->types ? w->batch_types : NULL,
                     w->batch_lengths, (unsigned)b,
                     (unsigned)seq, pooling, w->batch_out);
    if (st != CLENC_OK)
        return st;
    const int tokens = ((unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE) ==
                       CLENC_POOL_NONE;
    for (size_t i = 0; i < b; i++) {
        const size_t t = first + w->order[from + i].index;
        if (!tokens) {
            memcpy(out + t * h, w->batch_out + i * h, h * sizeof *out);
            continue;
        }
        float *dst = out + t * s->max_seq * h;
        memcpy(dst, w->batch_out + i * seq * h, seq * h * sizeof *out);
        memset(dst + seq * h, 0, (s->max_seq - seq) * h * sizeof *out);
    }
    return CLENC_OK;
}

/* Sizes come from the session, whose batch x max_seq is at most 2^24
 * tokens: none of these products can wrap. */
static clenc_status window_alloc(window *w, size_t texts, size_t max_len,
                                 size_t max_batch, size_t out_floats,
                                 int pairs)
{
    memset(w, 0, sizeof *w);
    w->max_len = max_len;
    w->ids = clenc__malloc(texts * max_len * sizeof *w->ids);
    if (pairs &&
        (!(w->types = clenc__malloc(texts * max_len * sizeof *w->types)) ||
         !(w->batch_types =
               clenc__calloc(max_batch * max_len, sizeof *w->batch_types))))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    w->lengths = clenc__malloc(texts * sizeof *w->lengths);
    w->order = clenc__malloc(texts * sizeof *w->order);
    w->batch_ids = clenc__calloc(max_batch * max_len, sizeof *w->batch_ids);
    w->batch_lengths = clenc__malloc(max_batch * sizeof *w->batch_lengths);
    w->batch_out = clenc__malloc(out_floats * sizeof *w->batch_out);
    if (!w->ids || !w->lengths || !w->order || !w->batch_ids ||
        !w->batch_lengths || !w->batch_out)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    return CLENC_OK;
}

static void window_free(window *w)
{
    clenc__free(w->ids);
    clenc__free(w->types);
    clenc__free(w->batch_types);
    clenc__free(w->lengths);
    clenc__free(w->order);
    clenc__free(w->batch_ids);
    clenc__free(w->batch_lengths);
    clenc__free(w->batch_out);
}

/* n texts, each of `floats` floats in out: both arrays must fit in memory. */
static clenc_status check_count(size_t n, size_t floats, const char *fn)
{
    if (n > SIZE_MAX / sizeof(char *) || (floats && n > SIZE_MAX / sizeof(float) / floats))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: n %zu texts of %zu floats each is past "
                           "what memory can hold",
                           fn, n, floats);
    return CLENC_OK;
}

/* n texts (with pairs[i] beside each when pairs is not NULL) tokenized,
 * batched by length and encoded with `pooling` into out (the caller
 * checked the arguments). A text that fails is named as what[base + i]. */
static clenc_status run_texts(clenc_session *s, const char *what, size_t base,
                              const char *const *texts, const size_t *lengths,
                              const char *const *pairs, size_t n,
                              clenc_pooling pooling, float *out)
{
    clenc_status st = CLENC_OK;
    const clenc_model *m = s->model;
    const int tokens = ((unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE) ==
                       CLENC_POOL_NONE;
    const size_t h = m->config.hidden;
    const size_t max_len =
        m->max_text_tokens < s->max_seq ? m->max_text_tokens : s->max_seq;
    const size_t per_window = (size_t)s->max_batch * WINDOW_BATCHES;
    window w;
    TRY(window_alloc(&w, per_window, max_len, s->max_batch,
                     s->max_batch * (tokens ? max_len : 1) * h, pairs != NULL),
        out_free);
    for (size_t first = 0; first < n; first += per_window) {
        w.count = n - first < per_window ? n - first : per_window;
        for (size_t i = 0; i < w.count; i++) {
            const char *text = texts[first + i];
            const char *pair = pairs ? pairs[first + i] : NULL;
            st = clenc__tokenize_n(m->tokenizer, text,
                                   lengths ? lengths[first + i] : strlen(text),
                                   pair, pair ? strlen(pair) : 0, max_len,
                                   w.ids + i * max_len,
                                   w.types ? w.types + i * max_len : NULL,
                                   &w.lengths[i]);
            if (st != CLENC_OK) {
                clenc__fail_append(" (%s[%zu])", what, base + first + i);
                goto out_free;
            }
            w.order[i].length = w.lengths[i];
            w.order[i].index = i;
        }
        /* Similar lengths share a batch: little padding to skip. qsort is
         * not stable, but only grouping matters here. */
        qsort(w.order, w.count, sizeof *w.order, by_length);
        for (size_t from = 0; from < w.count; from += s->max_batch) {
            size_t to = from + s->max_batch < w.count ? from + s->max_batch
                                                      : w.count;
            TRY(encode_batch(s, &w, pooling, first, from, to, out), out_free);
        }
    }
out_free:
    window_free(&w);
    return st;
}

static clenc_status need_tokenizer(const clenc_model *m)
{
    if (!m->tokenizer)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "model '%s' has no tokenizer (no tokenizer.json "
                           "or vocab.txt): use clenc_encode with token ids",
                           m->name);
    return CLENC_OK;
}

clenc_status clenc_embed_text_n(clenc_session *s, const char *const *texts,
                                const size_t *lengths, size_t n, float *out)
{
    clenc_status st = CLENC_OK;
    const char *fn = lengths ? "clenc_embed_text_n" : "clenc_embed_text";
    if (!s || (n && (!texts || !out)))
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                           !s ? "session" : !texts ? "texts" : "out");
    const clenc_model *m = s->model;
    if ((st = need_tokenizer(m)) != CLENC_OK)
        return st;
    const clenc_pooling pooling =
        s->pooling == CLENC_POOL_DEFAULT ? m->config.pooling : s->pooling;
    const int tokens = ((unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE) ==
                       CLENC_POOL_NONE;
    const size_t h = m->config.hidden;
    if ((st = check_count(n, h * (tokens ? s->max_seq : 1), fn)) != CLENC_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (!texts[i] && (!lengths || lengths[i]))
            return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: texts[%zu] is NULL",
                               fn, i);
    return run_texts(s, "texts", 0, texts, lengths, NULL, n, pooling, out);
}

/* clenc_score_pairs and clenc_classify: the first token's state of each
 * text (or pair), a window at a time, through the head. */
static clenc_status score_texts(clenc_session *s, const char *fn,
                                const char *const *texts,
                                const char *const *pairs, int paired,
                                size_t n, unsigned flags, float *scores)
{
    clenc_status st;
    const char *first_name = paired ? "queries" : "texts";
    if (!s || (n && (!texts || (paired && !pairs) || !scores)))
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                           !s       ? "session"
                           : !texts ? first_name
                           : !scores ? "scores"
                                     : "passages");
    const clenc_model *m = s->model;
    if ((st = need_tokenizer(m)) != CLENC_OK)
        return st;
    if (m->head.kind == CLENC_HEAD_NONE)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "%s: model '%s' has no sequence-classification "
                           "head (config.json's architectures names no "
                           "*ForSequenceClassification)",
                           fn, m->name);
    if (flags & ~CLENC_SCORES_RAW)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: flags 0x%x", fn, flags);
    const unsigned labels = m->head.num_labels, h = m->config.hidden;
    if ((st = check_count(n, labels, fn)) != CLENC_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (!texts[i] || (pairs && !pairs[i]))
            return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: %s[%zu] is NULL", fn,
                               !texts[i] ? first_name : "passages", i);
    const size_t chunk = (size_t)s->max_batch * WINDOW_BATCHES;
    float *cls = clenc__malloc(chunk * h * sizeof *cls);
    if (!cls)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    for (size_t first = 0; first < n && st == CLENC_OK; first += chunk) {
        const size_t count = n - first < chunk ? n - first : chunk;
        st = run_texts(s, first_name, first, texts + first, NULL,
                       pairs ? pairs + first : NULL, count, CLENC_POOL_CLS,
                       cls);
        if (st == CLENC_OK)
            st = clenc__head_run(&m->head, h, cls, count,
                                 (flags & CLENC_SCORES_RAW) != 0,
                                 scores + first * labels);
    }
    clenc__free(cls);
    return st;
}

clenc_status clenc_score_pairs(clenc_session *s, const char *const *queries,
                               const char *const *passages, size_t n,
                               unsigned flags, float *scores)
{
    return score_texts(s, "clenc_score_pairs", queries, passages, 1, n, flags,
                       scores);
}

clenc_status clenc_classify(clenc_session *s, const char *const *texts,
                            size_t n, unsigned flags, float *scores)
{
    return score_texts(s, "clenc_classify", texts, NULL, 0, n, flags, scores);
}

clenc_status clenc_embed_text(clenc_session *s, const char *const *texts,
                              size_t n, float *out)
{
    return clenc_embed_text_n(s, texts, NULL, n, out);
}
