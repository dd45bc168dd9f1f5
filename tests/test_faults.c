/* test_faults.c — fault injection: every allocation and OpenCL call of context creation, model load and a pass fails in turn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "cl/cl.h"

#define MODEL "tests/fixtures/torch_encoder"

static const int32_t ids[2 * 8] = {5, 17, 42, 3, 9, 11, 2, 8,
                                   7, 1, 30, 59, 4, 0, 0, 0};
static const int32_t lengths[2] = {8, 5};

/* Context, model, session, one pass, and everything destroyed again. */
static clenc_status scenario(float *out)
{
    clenc_options opt;
    test_options(&opt);
    clenc_context *ctx = NULL;
    clenc_model *model = NULL;
    clenc_session *s = NULL;
    clenc_status st = clenc_context_create(&opt, &ctx);
    if (st == CLENC_OK)
        st = clenc_model_load(ctx, MODEL, &model);
    if (st == CLENC_OK)
        st = clenc_session_create(model, 2, 8, &s);
    if (st == CLENC_OK)
        st = clenc_encode(s, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN, out);
    /* A failed create leaves its out pointer NULL, so this is always safe. */
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    return st;
}

void test_fault_injection_walks_every_point(void)
{
    float want[2 * 32], got[2 * 32];
    ASSERT_STATUS(scenario(want), CLENC_OK); /* warm caches, no faults */
    const long blocks = clenc__live_blocks(), buffers = clenc__live_buffers();
    long n = 1, wrong = 0, recovered = 0, silent = 0, leaks = 0, later = 0;
    for (;; n++) {
        clenc__fault_arm(n);
        memset(got, 0, sizeof got);
        clenc_status st = scenario(got);
        const int injected = clenc__fault_passed() >= n;
        clenc__fault_arm(0);
        if (!injected) {
            ASSERT_STATUS(st, CLENC_OK);
            break;
        }
        /* Some faults are recovered from (a cache entry that cannot be
         * read is rebuilt): then the result must be right. Otherwise a
         * clean error: a status, a message, nothing left behind... */
        if (st == CLENC_OK) {
            recovered++;
            wrong += memcmp(got, want, sizeof got) != 0;
        } else {
            silent += clenc_last_error()[0] == '\0';
        }
        leaks += clenc__live_blocks() != blocks ||
                 clenc__live_buffers() != buffers;
        if (clenc__live_blocks() != blocks && leaks == 1)
            fprintf(stderr, "\n    fault point %ld leaked %ld blocks (%s)", n,
                    clenc__live_blocks() - blocks, clenc_last_error());
        /* ...and the next call works. */
        later += scenario(got) != CLENC_OK || memcmp(got, want, sizeof got);
    }
    printf("\n    %ld fault points walked (allocations, device buffers, "
           "OpenCL calls): %ld clean errors, %ld recovered",
           n - 1, n - 1 - recovered, recovered);
    CU_ASSERT(n > 50);
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT_EQUAL(silent, 0);
    CU_ASSERT_EQUAL(leaks, 0);
    CU_ASSERT_EQUAL(later, 0);
}

/* A device call failing mid-pass: the pass reports it, returns no result
 * as success, and a new session on the same model works. */
void test_device_failure_mid_pass_is_reported_and_recoverable(void)
{
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, MODEL, &model), CLENC_OK);
    CU_ASSERT_FATAL(model != NULL);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, 2, 8, &s), CLENC_OK);
    float want[2 * 32], got[2 * 32];
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN,
                               want),
                  CLENC_OK);
    long n = 1, failures = 0;
    for (;; n++) {
        clenc__fault_arm(n);
        clenc_status st =
            clenc_encode(s, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN, got);
        const int injected = clenc__fault_passed() >= n;
        clenc__fault_arm(0);
        if (!injected)
            break;
        failures += st == CLENC_OK;
        /* The session is recreated, as a caller would after a lost device. */
        clenc_session_destroy(s);
        s = NULL;
        ASSERT_STATUS(clenc_session_create(model, 2, 8, &s), CLENC_OK);
        CU_ASSERT_FATAL(s != NULL);
        ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 8,
                                   CLENC_POOL_MEAN, got),
                      CLENC_OK);
        CU_ASSERT(memcmp(got, want, sizeof got) == 0);
    }
    printf("\n    %ld failure points inside one pass, each reported", n - 1);
    CU_ASSERT(n > 20);
    CU_ASSERT_EQUAL(failures, 0);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
}
