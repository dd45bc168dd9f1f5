/* text.c — text in, vectors out: tokenizing for callers, and clenc_embed_text's length-grouped batching. */
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "tokenizer.h"

/* Texts tokenized at a time: enough to group similar lengths into
 * batches, bounded so that any n runs in bounded memory. */
#define WINDOW_BATCHES 8

clenc_status clenc_tokenize(const clenc_model *model, const char *text,
                            const char *text_pair, size_t max_len,
                            int32_t *ids, int32_t *type_ids, size_t *n)
{
    if (!model || !text || !ids || !n)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_tokenize: %s is NULL",
                           !model ? "model" : !text ? "text" : !ids ? "ids"
                                                                     : "n");
    *n = 0;
    if (!model->tokenizer)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "model '%s' has no tokenizer (no vocab.txt): give "
                           "it token ids",
                           model->name);
    if (max_len == 0)
        max_len = model->max_text_tokens;
    int32_t *types = type_ids;
    if (!types && !(types = clenc__malloc(max_len * sizeof *types)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    clenc_status st =
        clenc__tokenize(model->tokenizer, text, text_pair, max_len, ids, types, n);
    if (types != type_ids)
        clenc__free(types);
    return st;
}

clenc_status clenc_session_set_pooling(clenc_session *s, clenc_pooling pooling)
{
    if (!s)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_set_pooling: session is NULL");
    unsigned mode = (unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE;
    if (mode > CLENC_POOL_NONE ||
        (mode == CLENC_POOL_DEFAULT && pooling != CLENC_POOL_DEFAULT))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_set_pooling: 0x%x is not a pooling",
                           (unsigned)pooling);
    s->pooling = pooling;
    return CLENC_OK;
}

typedef struct window {
    size_t count, max_len;
    int32_t *ids, *types; /* [count][max_len] */
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
        memcpy(w->batch_types + i * seq, w->types + t * w->max_len,
               w->lengths[t] * sizeof *w->types);
        w->batch_lengths[i] = (int32_t)w->lengths[t];
    }
    clenc_status st =
        clenc_encode(s, w->batch_ids, w->batch_types, w->batch_lengths,
                     (unsigned)b, (unsigned)seq, pooling, w->batch_out);
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

static clenc_status window_alloc(window *w, size_t texts, size_t max_len,
                                 size_t max_batch, size_t out_floats)
{
    memset(w, 0, sizeof *w);
    w->max_len = max_len;
    w->ids = clenc__malloc(texts * max_len * sizeof *w->ids);
    w->types = clenc__malloc(texts * max_len * sizeof *w->types);
    w->lengths = clenc__malloc(texts * sizeof *w->lengths);
    w->order = clenc__malloc(texts * sizeof *w->order);
    w->batch_ids = clenc__calloc(max_batch * max_len, sizeof *w->batch_ids);
    w->batch_types = clenc__calloc(max_batch * max_len, sizeof *w->batch_types);
    w->batch_lengths = clenc__malloc(max_batch * sizeof *w->batch_lengths);
    w->batch_out = clenc__malloc(out_floats * sizeof *w->batch_out);
    if (!w->ids || !w->types || !w->lengths || !w->order || !w->batch_ids ||
        !w->batch_types || !w->batch_lengths || !w->batch_out)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    return CLENC_OK;
}

static void window_free(window *w)
{
    clenc__free(w->ids);
    clenc__free(w->types);
    clenc__free(w->lengths);
    clenc__free(w->order);
    clenc__free(w->batch_ids);
    clenc__free(w->batch_types);
    clenc__free(w->batch_lengths);
    clenc__free(w->batch_out);
}

clenc_status clenc_embed_text(clenc_session *s, const char *const *texts,
                              size_t n, float *out)
{
    clenc_status st = CLENC_OK;
    if (!s || (n && (!texts || !out)))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_embed_text: %s is NULL",
                           !s ? "session" : !texts ? "texts" : "out");
    const clenc_model *m = s->model;
    if (!m->tokenizer)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "model '%s' has no tokenizer (no vocab.txt): use "
                           "clenc_encode with token ids",
                           m->name);
    for (size_t i = 0; i < n; i++)
        if (!texts[i])
            return clenc__fail(CLENC_ERR_INVALID_ARG,
                               "clenc_embed_text: texts[%zu] is NULL", i);
    const clenc_pooling pooling =
        s->pooling == CLENC_POOL_DEFAULT ? m->config.pooling : s->pooling;
    const int tokens = ((unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE) ==
                       CLENC_POOL_NONE;
    const size_t max_len =
        m->max_text_tokens < s->max_seq ? m->max_text_tokens : s->max_seq;
    const size_t per_window = (size_t)s->max_batch * WINDOW_BATCHES;
    const size_t h = m->config.hidden;
    window w;
    TRY(window_alloc(&w, per_window, max_len, s->max_batch,
                     s->max_batch * (tokens ? max_len : 1) * h),
        out_free);
    for (size_t first = 0; first < n; first += per_window) {
        w.count = n - first < per_window ? n - first : per_window;
        for (size_t i = 0; i < w.count; i++) {
            st = clenc__tokenize(m->tokenizer, texts[first + i], NULL, max_len,
                                 w.ids + i * max_len, w.types + i * max_len,
                                 &w.lengths[i]);
            if (st != CLENC_OK) {
                clenc__fail_append(" (texts[%zu])", first + i);
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
