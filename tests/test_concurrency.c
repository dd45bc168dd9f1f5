/* test_concurrency.c — threads sharing one context and model, each with its own session, get the single-threaded results. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "testmodel.h"

#define THREADS 4
#define BATCHES 50
#define KINDS 6 /* distinct batches */
#define SEQ 24
#define HIDDEN 32

typedef struct batch {
    int32_t ids[4 * SEQ], types[4 * SEQ], lengths[4];
    unsigned count;
    float want[4 * SEQ * HIDDEN];
} batch;

typedef struct worker {
    clenc_model *model;
    const batch *batches;
    int index;
    long mismatches, failures;
} worker;

static void make_batch(batch *b, int kind)
{
    b->count = 1 + (unsigned)kind % 4;
    for (unsigned i = 0; i < b->count; i++)
        b->lengths[i] = 1 + (kind * 7 + (int)i * 5) % SEQ;
    for (int i = 0; i < 4 * SEQ; i++) {
        b->ids[i] = (kind * 31 + i * 17) % 50;
        b->types[i] = (i / 3 + kind) % 2;
    }
}

static void *work(void *arg)
{
    worker *w = arg;
    clenc_session *s = NULL;
    if (clenc_session_create(w->model, 4, SEQ, &s) != CLENC_OK) {
        w->failures = BATCHES;
        return NULL;
    }
    float got[4 * SEQ * HIDDEN];
    for (int i = 0; i < BATCHES; i++) {
        const batch *b = &w->batches[(w->index * 7 + i) % KINDS];
        test_nan_floats(got, sizeof got / sizeof got[0]);
        if (clenc_encode(s, b->ids, b->types, b->lengths, b->count, SEQ,
                         CLENC_POOL_NONE, got) != CLENC_OK) {
            w->failures++;
            continue;
        }
        w->mismatches += memcmp(got, b->want,
                                b->count * SEQ * HIDDEN * sizeof(float)) != 0;
    }
    clenc_session_destroy(s);
    return NULL;
}

void test_threads_share_context_and_model(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = test_model_upload(ctx, &tm);
    static batch batches[KINDS];
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, 4, SEQ, &s), CLENC_OK);
    for (int k = 0; k < KINDS; k++) {
        make_batch(&batches[k], k);
        ASSERT_STATUS(clenc_encode(s, batches[k].ids, batches[k].types,
                                   batches[k].lengths, batches[k].count, SEQ,
                                   CLENC_POOL_NONE, batches[k].want),
                      CLENC_OK);
    }
    clenc_session_destroy(s);
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int t = 0; t < THREADS; t++) {
        workers[t] = (worker){model, batches, t, 0, 0};
        CU_ASSERT_FATAL(pthread_create(&threads[t], NULL, work, &workers[t]) ==
                        0);
    }
    long mismatches = 0, failures = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        mismatches += workers[t].mismatches;
        failures += workers[t].failures;
    }
    printf("\n    %d threads x %d batches: %ld failures, %ld results unlike "
           "the single-threaded ones",
           THREADS, BATCHES, failures, mismatches);
    CU_ASSERT_EQUAL(failures, 0);
    CU_ASSERT_EQUAL(mismatches, 0);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
}

typedef struct loader {
    clenc_context *ctx;
    clenc_status st;
} loader;

static void *load(void *arg)
{
    loader *l = arg;
    clenc_model *m = NULL;
    l->st = clenc_model_load(l->ctx, "tests/fixtures/torch_encoder", &m);
    clenc_model_destroy(m);
    return NULL;
}

/* Models loaded on one context by several threads at once (the context's
 * program list is shared). */
void test_threads_load_models_on_one_context(void)
{
    clenc_context *ctx = test_context(NULL);
    pthread_t threads[THREADS];
    loader loaders[THREADS];
    for (int t = 0; t < THREADS; t++) {
        loaders[t] = (loader){ctx, CLENC_ERR_OPENCL};
        CU_ASSERT_FATAL(pthread_create(&threads[t], NULL, load, &loaders[t]) ==
                        0);
    }
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        CU_ASSERT_EQUAL(loaders[t].st, CLENC_OK);
    }
    clenc_context_destroy(ctx);
}
