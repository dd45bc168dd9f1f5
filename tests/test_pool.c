/* test_pool.c — several devices: a pool's results (texts, token ids, scores) equal one device's bit for bit and keep input order, PoCL beside Rusticl, bad device lists and input, a failing device named; clenc-run on a device list, clenc-bench --pool. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/engine.h"
#include "helpers.h"
#include "testmodel.h"

#define MODEL_DIR "models/all-MiniLM-L6-v2"
/* PoCL exposes two identical CPU devices with this; the test process's
 * OpenCL is already initialised with its own list, so the tests that need
 * two devices run again in a child with it. */
#define TWO_DEVICES "POCL_DEVICES=pthread pthread"
#define CHILD_MARK "CLENC_TEST_POOL_CHILD=1"
#define MAX_BATCH 4 /* chunks of 16 texts */
#define MAX_SEQ 64
#define TEXTS 37 /* not a multiple of the chunk: the last one is short */
/* Small models (hidden 32, 2 layers, 40 positions), where MiniLM is not
 * what a test is about: tests/fixtures/make_arch_fixtures.py. */
#define SMALL_DIR "tests/fixtures/models/bert_pooler"
#define RERANK_DIR "tests/fixtures/models/bert_rerank"
#define CLASSIFY_DIR "tests/fixtures/models/roberta_classify"
#define SEQ 24 /* token-id sequences: [TEXTS][SEQ] */

/* In the parent: runs pool/<test> in a child with `env` added and returns
 * 0, after checking that the child passed; a child that skipped is a skip
 * here too, so that --strict fails it. In that child: returns 1. */
static int in_child(const char *test, char *const env[])
{
    if (getenv("CLENC_TEST_POOL_CHILD"))
        return 1;
    char name[128];
    snprintf(name, sizeof name, "pool/%s", test);
    char *argv[] = {(char *)test_self(), name, NULL};
    char *out = NULL, *err = NULL;
    const int rc = test_run(argv, env, &out, &err);
    /* The child's summary: "  skipped: pool/TEST: WHAT (WHY)". */
    char listed[160];
    snprintf(listed, sizeof listed, "  skipped: %s: ", name);
    const char *skip = out ? strstr(out, listed) : NULL;
    const int passed = out && strstr(out, "1 passed, 0 failed");
    if (skip && strstr(out, "0 passed, 0 failed, 1 skipped")) {
        char what[600];
        skip += strlen(listed);
        snprintf(what, sizeof what, "%.*s", (int)strcspn(skip, "\n"), skip);
        test_skip(what, "in the child");
    } else if (rc != 0 || !passed) {
        fprintf(stderr, "\n    child %s exit %d:\n%s\n%s\n", name, rc,
                out ? out : "", err ? err : "");
        CU_FAIL("the child failed");
    }
    free(out);
    free(err);
    return 0;
}

/* in_child with two identical PoCL devices; in the child, fills spec (them
 * as "P:D,P:D") and returns 1, or fails the test. */
static int in_two_device_child(const char *test, char *spec, size_t cap)
{
    char *env[] = {TWO_DEVICES, CHILD_MARK, NULL};
    if (!in_child(test, env))
        return 0;
    clenc_device_info devices[16];
    size_t count = 0;
    ASSERT_STATUS(clenc_device_list(devices, 16, &count), CLENC_OK);
    for (size_t a = 0; a < count && a < 16; a++)
        for (size_t b = a + 1; b < count && b < 16; b++)
            if (devices[a].platform_index == devices[b].platform_index &&
                !strcmp(devices[a].name, devices[b].name)) {
                snprintf(spec, cap, "%u:%u,%u:%u", devices[a].platform_index,
                         devices[a].device_index, devices[b].platform_index,
                         devices[b].device_index);
                return 1;
            }
    CU_FAIL_FATAL("the child (" TWO_DEVICES ") sees no two identical devices");
    return 0;
}

/* The test device as a pool spec, "P:D". */
static void test_device_spec(char *spec, size_t cap)
{
    clenc_device_info dev;
    ASSERT_STATUS(clenc_device_find(NULL, &dev), CLENC_OK);
    snprintf(spec, cap, "%u:%u", dev.platform_index, dev.device_index);
}

/* Distinct texts of different lengths, so that a result in the wrong row
 * or from the wrong text shows. */
static const char *const *texts_of(size_t n)
{
    static char storage[TEXTS][96];
    static const char *texts[TEXTS];
    static const char *words[] = {"river", "stone", "quiet", "engine",
                                  "lantern", "orbit", "meadow"};
    for (size_t i = 0; i < n && i < TEXTS; i++) {
        int at = snprintf(storage[i], sizeof storage[i], "text %zu:", i);
        for (size_t w = 0; w <= i % 7 && at < 80; w++)
            at += snprintf(storage[i] + at, sizeof storage[i] - (size_t)at,
                           " %s", words[(i + w) % 7]);
        texts[i] = storage[i];
    }
    return texts;
}

static float *nan_floats(size_t n)
{
    float *v = malloc(n * sizeof *v);
    CU_ASSERT_FATAL(v != NULL);
    for (size_t i = 0; i < n; i++)
        v[i] = NAN;
    return v;
}

/* One device's model and session alone: the reference a pooled result
 * must equal. */
typedef struct alone {
    clenc_context *ctx;
    clenc_model *model;
    clenc_session *session;
    clenc_model_info info;
} alone;

static void alone_open(alone *a, const char *spec, const char *dir,
                       unsigned max_batch, unsigned max_seq)
{
    memset(a, 0, sizeof *a);
    clenc_options opt;
    test_options(&opt);
    opt.device = spec;
    a->ctx = test_context(&opt);
    ASSERT_STATUS(clenc_model_load(a->ctx, dir, &a->model), CLENC_OK);
    CU_ASSERT_FATAL(a->model != NULL);
    ASSERT_STATUS(clenc_model_info_get(a->model, &a->info), CLENC_OK);
    ASSERT_STATUS(clenc_session_create(a->model, max_batch,
                                       max_seq ? max_seq
                                               : a->info.max_text_tokens,
                                       &a->session),
                  CLENC_OK);
    CU_ASSERT_FATAL(a->session != NULL);
}

static void alone_close(alone *a)
{
    clenc_session_destroy(a->session);
    clenc_model_destroy(a->model);
    clenc_context_destroy(a->ctx);
}

/* The texts embedded by one session of model `dir` on the device `spec`
 * selects. */
static float *embed_alone_with(const char *spec, const char *dir,
                               unsigned max_batch, unsigned max_seq,
                               const char *const *texts, size_t n,
                               unsigned *hidden)
{
    alone a;
    alone_open(&a, spec, dir, max_batch, max_seq);
    float *want = nan_floats(n * a.info.hidden);
    ASSERT_STATUS(clenc_embed_text(a.session, texts, n, want), CLENC_OK);
    *hidden = a.info.hidden;
    alone_close(&a);
    return want;
}

static float *embed_alone(const char *spec, const char *const *texts,
                          size_t n, unsigned *hidden)
{
    return embed_alone_with(spec, MODEL_DIR, MAX_BATCH, MAX_SEQ, texts, n,
                            hidden);
}

/* Member `index` of the pool as a device spec, "P:D". */
static void member_spec(const clenc_pool *pool, unsigned index, char *spec,
                        size_t cap)
{
    clenc_device_info d;
    ASSERT_STATUS(clenc_pool_device(pool, index, &d), CLENC_OK);
    snprintf(spec, cap, "%u:%u", d.platform_index, d.device_index);
}

/* Floats of got that differ in any bit from want, or are NaN (a row both
 * left unwritten is NaN in both, and equal). */
static size_t differing(const float *got, const float *want, size_t n)
{
    size_t differ = 0;
    for (size_t i = 0; i < n; i++)
        differ += isnan(got[i]) || memcmp(&got[i], &want[i], sizeof *got);
    if (differ)
        fprintf(stderr, "\n    %zu of %zu floats differ\n", differ, n);
    return differ;
}

void test_pool_two_devices_equal_one_bit_for_bit_in_order(void)
{
    char spec[64];
    if (!in_two_device_child(__func__, spec, sizeof spec))
        return;
    const char *const *texts = texts_of(TEXTS);
    clenc_pool *pool = NULL;
    ASSERT_STATUS(clenc_pool_create(spec, MODEL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, MAX_SEQ, &pool),
                  CLENC_OK);
    CU_ASSERT_FATAL(pool != NULL);
    CU_ASSERT_EQUAL(clenc_pool_device_count(pool), 2);
    clenc_device_info d0, d1;
    ASSERT_STATUS(clenc_pool_device(pool, 0, &d0), CLENC_OK);
    ASSERT_STATUS(clenc_pool_device(pool, 1, &d1), CLENC_OK);
    CU_ASSERT(d0.device_index != d1.device_index);
    CU_ASSERT_STRING_EQUAL(d0.name, d1.name);
    ASSERT_STATUS(clenc_pool_device(pool, 2, &d1), CLENC_ERR_INVALID_ARG);
    CU_ASSERT(clenc_pool_model(pool, 1) != NULL);
    CU_ASSERT(clenc_pool_model(pool, 2) == NULL);

    char first[16];
    snprintf(first, sizeof first, "%u:%u", d0.platform_index, d0.device_index);
    unsigned hidden = 0;
    float *want = embed_alone(first, texts, TEXTS, &hidden);
    float *got = nan_floats((size_t)TEXTS * hidden);
    ASSERT_STATUS(clenc_pool_embed_text(pool, texts, TEXTS, got), CLENC_OK);
    /* Identical devices, the same kernels, and a sequence's result does not
     * depend on its batch: every bit equal, each text in its row. */
    CU_ASSERT_EQUAL(differing(got, want, (size_t)TEXTS * hidden), 0);
    /* Rows are not all one text's (a pool writing one row everywhere). */
    CU_ASSERT(memcmp(got, got + hidden, hidden * sizeof *got) != 0);
    free(got);
    free(want);
    clenc_pool_destroy(pool);
}

void test_pool_failing_device_fails_the_call_naming_it(void)
{
    char spec[64];
    if (!in_two_device_child(__func__, spec, sizeof spec))
        return;
    const char *const *texts = texts_of(TEXTS);
    clenc_pool *pool = NULL;
    ASSERT_STATUS(clenc_pool_create(spec, MODEL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, MAX_SEQ, &pool),
                  CLENC_OK);
    CU_ASSERT_FATAL(pool != NULL);
    clenc_device_info d1;
    ASSERT_STATUS(clenc_pool_device(pool, 1, &d1), CLENC_OK);
    unsigned hidden = 0;
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(clenc_pool_model(pool, 0), &info),
                  CLENC_OK);
    hidden = info.hidden;
    float *got = nan_floats((size_t)TEXTS * hidden);
    /* The second device's first fault point (an allocation or an OpenCL
     * call) fails; the first device may finish its own chunks, but the
     * call as a whole fails and says which device. */
    clenc__pool_fault_arm(pool, 1, 1);
    clenc_status st = clenc_pool_embed_text(pool, texts, TEXTS, got);
    CU_ASSERT(st != CLENC_OK);
    char where[64];
    snprintf(where, sizeof where, "(%u:%u), texts ", d1.platform_index,
             d1.device_index);
    ASSERT_ERROR_MENTIONS(where);
    ASSERT_ERROR_MENTIONS(d1.name);
    /* Nothing is broken for good: the next call succeeds. */
    ASSERT_STATUS(clenc_pool_embed_text(pool, texts, TEXTS, got), CLENC_OK);
    free(got);
    clenc_pool_destroy(pool);
}

void test_pool_zero_texts_write_nothing(void)
{
    char spec[32];
    test_device_spec(spec, sizeof spec);
    clenc_pool *pool = NULL;
    ASSERT_STATUS(clenc_pool_create(spec, MODEL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, MAX_SEQ, &pool),
                  CLENC_OK);
    CU_ASSERT_FATAL(pool != NULL);
    CU_ASSERT_EQUAL(clenc_pool_device_count(pool), 1);
    float *out = nan_floats(4);
    ASSERT_STATUS(clenc_pool_embed_text(pool, texts_of(1), 0, out), CLENC_OK);
    for (int i = 0; i < 4; i++)
        CU_ASSERT(isnan(out[i]));
    ASSERT_STATUS(clenc_pool_embed_text(pool, NULL, 3, out),
                  CLENC_ERR_INVALID_ARG);
    free(out);
    clenc_pool_destroy(pool);
}

void test_pool_bad_device_list_is_refused_naming_the_entry(void)
{
    char spec[32], list[96];
    test_device_spec(spec, sizeof spec);
    clenc_pool *pool = (clenc_pool *)1;
    snprintf(list, sizeof list, "%s,no-such-device", spec);
    ASSERT_STATUS(clenc_pool_create(list, MODEL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, MAX_SEQ, &pool),
                  CLENC_ERR_NO_DEVICE);
    ASSERT_ERROR_MENTIONS("entry 'no-such-device'");
    CU_ASSERT(pool == NULL);
    snprintf(list, sizeof list, "%s,,%s", spec, spec);
    ASSERT_STATUS(clenc_pool_create(list, MODEL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, MAX_SEQ, &pool),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("entry 1 is empty");
    ASSERT_STATUS(clenc_pool_create("", MODEL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, MAX_SEQ, &pool),
                  CLENC_ERR_INVALID_ARG);
    /* A device that cannot load the model is named. */
    ASSERT_STATUS(clenc_pool_create(spec, "no/such/model", CLENC_PRECISION_FP32,
                                    MAX_BATCH, MAX_SEQ, &pool),
                  CLENC_ERR_IO);
    char where[48];
    snprintf(where, sizeof where, "(%s): ", spec);
    ASSERT_ERROR_MENTIONS(where);
    CU_ASSERT(pool == NULL);
}

void test_pool_run_device_all_prints_what_one_device_does(void)
{
    /* --batch 1: chunks of 4 texts, so both devices take some of the 9. */
    char *tool = test_tool("clenc-run");
#define RUN_TEXTS "one", "The pool keeps order.", "third text",               \
                  "Second text, longer than the first one is.", "fifth",     \
                  "sixth of nine", "seven", "eight is here", "and nine"
    char *one_argv[] = {tool, "--model", MODEL_DIR, "--device", "0:0",
                        "--batch", "1", RUN_TEXTS, NULL};
    char *all_argv[] = {tool, "--model", MODEL_DIR, "--device", "all",
                        "--batch", "1", RUN_TEXTS, NULL};
    char *list_argv[] = {tool, "--model", MODEL_DIR, "--device", "0:1,0:0",
                         "--batch", "1", RUN_TEXTS, NULL};
#undef RUN_TEXTS
    /* "all" must mean PoCL's two devices, also where the suite itself
     * runs on Rusticl (make test-rusticl enables it in the environment). */
    char *env[] = {TWO_DEVICES, "RUSTICL_ENABLE=", NULL};
    char *one = NULL, *all = NULL, *list = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_run(one_argv, env, &one, NULL), 0);
    CU_ASSERT_EQUAL(test_run(all_argv, env, &all, &err), 0);
    if (err && *err)
        fprintf(stderr, "\n    clenc-run --device all: %s\n", err);
    CU_ASSERT_EQUAL(test_run(list_argv, env, &list, NULL), 0);
    CU_ASSERT_FATAL(one && all && list);
    /* Nine lines, one vector each, the same digits. */
    size_t lines = 0;
    for (const char *p = one; *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 9);
    CU_ASSERT_STRING_EQUAL(all, one);
    CU_ASSERT_STRING_EQUAL(list, one);
    char *bad_argv[] = {tool, "--model", MODEL_DIR, "--device", "0:0,0:7",
                        "x", NULL};
    free(err);
    err = NULL;
    CU_ASSERT_EQUAL(test_run(bad_argv, env, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "entry '0:7'"));
    free(err);
    free(one);
    free(all);
    free(list);
    free(tool);
}

/* Token ids of TEXTS sequences of lengths 1..SEQ (row i: 1 + 7i mod SEQ),
 * ids from a fixed seed, type 1 over each sequence's second half. */
static void random_sequences(unsigned vocab, int32_t *ids, int32_t *types,
                             int32_t *lengths)
{
    uint64_t rng = 11;
    for (size_t i = 0; i < TEXTS; i++) {
        lengths[i] = (int32_t)(1 + (7 * i) % SEQ);
        for (size_t t = 0; t < SEQ; t++) {
            ids[i * SEQ + t] = (int32_t)test_uniform(&rng, 1, vocab - 1);
            types[i * SEQ + t] = 2 * (int32_t)t >= lengths[i];
        }
    }
}

void test_pool_encode_equals_one_device_bit_for_bit_in_order(void)
{
    char spec[64];
    if (!in_two_device_child(__func__, spec, sizeof spec))
        return;
    clenc_pool *pool = NULL;
    ASSERT_STATUS(clenc_pool_create(spec, SMALL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, SEQ, &pool),
                  CLENC_OK);
    CU_ASSERT_FATAL(pool != NULL);
    char first[16];
    member_spec(pool, 0, first, sizeof first);
    /* The reference: each sequence encoded alone, a batch of one. */
    alone a;
    alone_open(&a, first, SMALL_DIR, 1, SEQ);
    static int32_t ids[TEXTS * SEQ], types[TEXTS * SEQ], lengths[TEXTS];
    random_sequences(a.info.vocab_size, ids, types, lengths);
    static const clenc_pooling modes[] = {CLENC_POOL_DEFAULT,
                                          CLENC_POOL_NONE};
    for (size_t k = 0; k < 2; k++) {
        const size_t row =
            (size_t)a.info.hidden * (modes[k] == CLENC_POOL_NONE ? SEQ : 1);
        float *want = nan_floats(TEXTS * row), *got = nan_floats(TEXTS * row);
        for (size_t i = 0; i < TEXTS; i++)
            ASSERT_STATUS(clenc_encode(a.session, ids + i * SEQ,
                                       types + i * SEQ, &lengths[i], 1, SEQ,
                                       modes[k], want + i * row),
                          CLENC_OK);
        /* Chunks of MAX_BATCH sequences, the last one short. */
        ASSERT_STATUS(clenc_pool_encode(pool, ids, types, lengths, TEXTS,
                                        SEQ, modes[k], got),
                      CLENC_OK);
        CU_ASSERT_EQUAL(differing(got, want, TEXTS * row), 0);
        CU_ASSERT(memcmp(got, got + row, row * sizeof *got) != 0);
        free(got);
        free(want);
    }
    float *out = nan_floats(4);
    ASSERT_STATUS(clenc_pool_encode(pool, ids, NULL, NULL, 0, SEQ,
                                    CLENC_POOL_DEFAULT, out),
                  CLENC_OK);
    CU_ASSERT(isnan(out[0]));
    ASSERT_STATUS(clenc_pool_encode(pool, NULL, NULL, NULL, 2, SEQ,
                                    CLENC_POOL_DEFAULT, out),
                  CLENC_ERR_INVALID_ARG);
    free(out);
    alone_close(&a);
    clenc_pool_destroy(pool);
}

void test_pool_encode_bad_input_fails_naming_device_and_chunk(void)
{
    char spec[64];
    if (!in_two_device_child(__func__, spec, sizeof spec))
        return;
    clenc_pool *pool = NULL;
    ASSERT_STATUS(clenc_pool_create(spec, SMALL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, SEQ, &pool),
                  CLENC_OK);
    CU_ASSERT_FATAL(pool != NULL);
    clenc_model_info info;
    clenc_device_info d0;
    ASSERT_STATUS(clenc_model_info_get(clenc_pool_model(pool, 0), &info),
                  CLENC_OK);
    ASSERT_STATUS(clenc_pool_device(pool, 0, &d0), CLENC_OK);
    char device[300];
    snprintf(device, sizeof device, "device '%s' (", d0.name);
    /* Room for seq SEQ + 1; lengths NULL: every token is real. */
    static int32_t ids[TEXTS * (SEQ + 1)], types[TEXTS * (SEQ + 1)];
    static int32_t lengths[TEXTS];
    random_sequences(info.vocab_size, ids, types, lengths);
    float *out = nan_floats((size_t)TEXTS * info.hidden);
    /* Over the sessions' max_seq: every chunk is refused; the first to be
     * is named. */
    ASSERT_STATUS(clenc_pool_encode(pool, ids, NULL, NULL, TEXTS, SEQ + 1,
                                    CLENC_POOL_DEFAULT, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS(device);
    ASSERT_ERROR_MENTIONS("), sequences ");
    ASSERT_ERROR_MENTIONS("seq 25 is outside the session's 1..24");
    /* One id outside the vocabulary, in sequence 9: the chunk 8..11 fails,
     * and the index after it counts from 8. */
    ids[9 * SEQ + 2] = (int32_t)info.vocab_size;
    ASSERT_STATUS(clenc_pool_encode(pool, ids, NULL, NULL, TEXTS, SEQ,
                                    CLENC_POOL_DEFAULT, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS(device);
    ASSERT_ERROR_MENTIONS("), sequences 8..11: ");
    ASSERT_ERROR_MENTIONS("at [1][2] is outside the vocabulary");
    /* The pool is not broken: with the id back, every row is written. */
    ids[9 * SEQ + 2] = 1;
    test_nan_floats(out, (size_t)TEXTS * info.hidden);
    ASSERT_STATUS(clenc_pool_encode(pool, ids, NULL, NULL, TEXTS, SEQ,
                                    CLENC_POOL_DEFAULT, out),
                  CLENC_OK);
    size_t nans = 0;
    for (size_t i = 0; i < (size_t)TEXTS * info.hidden; i++)
        nans += isnan(out[i]) != 0;
    CU_ASSERT_EQUAL(nans, 0);
    free(out);
    clenc_pool_destroy(pool);
}

void test_pool_scores_equal_one_device_bit_for_bit_in_order(void)
{
    char spec[64];
    if (!in_two_device_child(__func__, spec, sizeof spec))
        return;
    const char *const *texts = texts_of(TEXTS);
    const char *queries[TEXTS];
    for (size_t i = 0; i < TEXTS; i++)
        queries[i] = i % 3 ? "which stone is quiet?" : "an orbit";
    static const char *const dirs[] = {RERANK_DIR, CLASSIFY_DIR};
    for (size_t k = 0; k < 2; k++) {
        clenc_pool *pool = NULL;
        ASSERT_STATUS(clenc_pool_create(spec, dirs[k], CLENC_PRECISION_FP32,
                                        MAX_BATCH, 0, &pool),
                      CLENC_OK);
        CU_ASSERT_FATAL(pool != NULL);
        char first[16];
        member_spec(pool, 0, first, sizeof first);
        alone a;
        alone_open(&a, first, dirs[k], MAX_BATCH, 0);
        const size_t count = (size_t)TEXTS * a.info.num_labels;
        float *want = nan_floats(count), *got = nan_floats(count);
        if (k == 0) {
            ASSERT_STATUS(clenc_score_pairs(a.session, queries, texts, TEXTS,
                                            0, want),
                          CLENC_OK);
            ASSERT_STATUS(clenc_pool_score_pairs(pool, queries, texts, TEXTS,
                                                 0, got),
                          CLENC_OK);
        } else {
            ASSERT_STATUS(clenc_classify(a.session, texts, TEXTS,
                                         CLENC_SCORES_RAW, want),
                          CLENC_OK);
            ASSERT_STATUS(clenc_pool_classify(pool, texts, TEXTS,
                                              CLENC_SCORES_RAW, got),
                          CLENC_OK);
        }
        CU_ASSERT_EQUAL(differing(got, want, count), 0);
        size_t distinct = 0; /* not one text's scores in every row */
        for (size_t i = 1; i < TEXTS; i++)
            distinct += memcmp(got, got + i * a.info.num_labels,
                               a.info.num_labels * sizeof *got) != 0;
        CU_ASSERT(distinct > TEXTS / 2);
        free(got);
        free(want);
        alone_close(&a);
        clenc_pool_destroy(pool);
    }
    /* A model without a head is refused before any device runs. */
    clenc_pool *pool = NULL;
    ASSERT_STATUS(clenc_pool_create(spec, SMALL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, 0, &pool),
                  CLENC_OK);
    float scores[TEXTS];
    ASSERT_STATUS(clenc_pool_classify(pool, texts, TEXTS, 0, scores),
                  CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("has no sequence-classification head");
    clenc_pool_destroy(pool);
}

/* Each text within this of what the device that computed it gives alone:
 * a few times above the 7.2e-7 by which PoCL's and llvmpipe's results
 * differ (AMD EPYC, PoCL 3.1, Mesa 22.3), the scale of the heads suite's
 * cross-device tolerances. Measured against its own device: 0, as the
 * pool runs that device's own session. */
#define IMPL_ATOL 2e-6

void test_pool_pocl_and_rusticl_give_each_text_its_device_result(void)
{
    /* The gpu kernel family on both: llvmpipe runs the cpu family's
     * one-work-item groups in one SIMD lane of eight, and took 27 s here
     * for what the gpu family does in 2 (Makefile, test-rusticl). */
    char *env[] = {"POCL_DEVICES=pthread", "RUSTICL_ENABLE=llvmpipe",
                   "CLENC_VARIANT=gpu", CHILD_MARK, NULL};
    if (!in_child(__func__, env))
        return;
    clenc_device_info devices[16];
    size_t count = 0;
    ASSERT_STATUS(clenc_device_list(devices, 16, &count), CLENC_OK);
    const clenc_device_info *pocl = NULL, *rusticl = NULL;
    for (size_t i = 0; i < count && i < 16; i++) {
        if (!pocl && strstr(devices[i].platform, "Portable Computing"))
            pocl = &devices[i];
        if (!rusticl && strstr(devices[i].name, "llvmpipe"))
            rusticl = &devices[i];
    }
    CU_ASSERT_FATAL(pocl != NULL);
    if (!rusticl) {
        test_skip("a pool over PoCL and Rusticl",
                  "no llvmpipe device with RUSTICL_ENABLE=llvmpipe (make "
                  "deps installs mesa-opencl-icd)");
        return;
    }
    char specs[2][16], spec[40];
    snprintf(specs[0], sizeof specs[0], "%u:%u", pocl->platform_index,
             pocl->device_index);
    snprintf(specs[1], sizeof specs[1], "%u:%u", rusticl->platform_index,
             rusticl->device_index);
    snprintf(spec, sizeof spec, "%s,%s", specs[0], specs[1]);
    const char *const *texts = texts_of(TEXTS);
    clenc_pool *pool = NULL;
    ASSERT_STATUS(clenc_pool_create(spec, SMALL_DIR, CLENC_PRECISION_FP32,
                                    MAX_BATCH, 0, &pool),
                  CLENC_OK);
    CU_ASSERT_FATAL(pool != NULL);
    unsigned hidden = 0;
    float *want[2];
    /* Alone, one batch: a pass costs llvmpipe about 150 ms, whatever its
     * size, and a text's result does not depend on its batch. */
    for (size_t d = 0; d < 2; d++)
        want[d] = embed_alone_with(specs[d], SMALL_DIR, TEXTS, 0, texts,
                                   TEXTS, &hidden);
    float *got = nan_floats((size_t)TEXTS * hidden);
    ASSERT_STATUS(clenc_pool_embed_text(pool, texts, TEXTS, got), CLENC_OK);
    /* Which device took a chunk is the scheduler's choice: each text must
     * be as one of them gives it alone. */
    double worst = 0, between = 0;
    size_t by[2] = {0, 0};
    for (size_t i = 0; i < TEXTS; i++) {
        double d[2] = {0, 0};
        for (size_t k = 0; k < 2; k++)
            for (size_t j = i * hidden; j < (i + 1) * hidden; j++)
                d[k] = test_worst(d[k], fabs((double)got[j] - want[k][j]));
        for (size_t j = i * hidden; j < (i + 1) * hidden; j++)
            between = test_worst(between,
                                 fabs((double)want[0][j] - want[1][j]));
        const size_t nearest = d[1] < d[0];
        worst = test_worst(worst, d[nearest]);
        by[nearest] += d[nearest] == 0;
    }
    fprintf(stderr, "\n    PoCL %s, llvmpipe %s: %zu and %zu texts exactly "
                    "as alone, worst %.3g; the devices differ by %.3g\n",
            specs[0], specs[1], by[0], by[1], worst, between);
    CU_ASSERT(worst <= IMPL_ATOL);
    free(got);
    free(want[0]);
    free(want[1]);
    clenc_pool_destroy(pool);
}

/* Runs clenc-run with args on "0:0" and on "0:1,0:0" (two PoCL devices;
 * --batch 1, so both take chunks) and expects the same output. */
static void run_alone_and_on_two(char **args, size_t count)
{
    char *tool = test_tool("clenc-run");
    char *argv[2][24];
    static const char *const devices[2] = {"0:0", "0:1,0:0"};
    char *out[2] = {NULL, NULL};
    char *env[] = {TWO_DEVICES, "RUSTICL_ENABLE=", NULL};
    for (size_t d = 0; d < 2; d++) {
        char **v = argv[d];
        size_t k = 0;
        v[k++] = tool;
        v[k++] = "--device";
        v[k++] = (char *)devices[d];
        v[k++] = "--batch";
        v[k++] = "1";
        for (size_t i = 0; i < count && k < 23; i++)
            v[k++] = args[i];
        v[k] = NULL;
        char *err = NULL;
        CU_ASSERT_EQUAL(test_run(v, env, &out[d], &err), 0);
        if (err && *err)
            fprintf(stderr, "\n    clenc-run --device %s: %s\n", devices[d],
                    err);
        free(err);
    }
    CU_ASSERT_FATAL(out[0] && out[1]);
    CU_ASSERT(strlen(out[0]) > 20);
    CU_ASSERT_STRING_EQUAL(out[1], out[0]);
    free(out[0]);
    free(out[1]);
    free(tool);
}

void test_pool_run_ids_and_scores_on_a_device_list(void)
{
    char *ids[] = {"--model", SMALL_DIR, "--ids", "2 45 17 3", "2 5 3",
                   "2 100 200 300 400 3", "2 7 3", "2 8 9 3", "2 11 3"};
    run_alone_and_on_two(ids, sizeof ids / sizeof *ids);
    char *tokens[] = {"--model", SMALL_DIR, "--pooling", "none", "--ids",
                      "2 45 17 3", "2 5 3", "2 100 200 300 400 3", "2 7 3",
                      "2 8 9 3"};
    run_alone_and_on_two(tokens, sizeof tokens / sizeof *tokens);
    /* --json: the text output names the device(s). */
    char *rerank[] = {"--model", RERANK_DIR, "--json", "--rerank",
                      "which stone is quiet?", "a river", "quiet stone",
                      "the orbit of the moon", "meadow", "lantern and engine",
                      "stone"};
    run_alone_and_on_two(rerank, sizeof rerank / sizeof *rerank);
    char *classify[] = {"--model", CLASSIFY_DIR, "--json", "--classify",
                        "a river", "quiet stone", "the orbit of the moon",
                        "meadow", "lantern and engine"};
    run_alone_and_on_two(classify, sizeof classify / sizeof *classify);

    /* A device's failure names the inputs of the call and the device. */
    char *tool = test_tool("clenc-run");
    char *bad[] = {tool, "--model", SMALL_DIR, "--device", "0:1,0:0",
                   "--batch", "1", "--ids", "2 45 3", "2 99999 3", NULL};
    char *env[] = {TWO_DEVICES, "RUSTICL_ENABLE=", NULL};
    char *err = NULL;
    CU_ASSERT_EQUAL(test_run(bad, env, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "input 1 to input 2: CLENC_ERR_INVALID_ARG: "
                                 "device '") &&
              strstr(err, "sequences 1..1: clenc_encode: token id 99999"));
    if (err && !strstr(err, "sequences 1..1"))
        fprintf(stderr, "\n    %s\n", err);
    free(err);
    free(tool);
}

/* clenc-bench --pool on SPEC, --json: the parsed object (NULL: failed). */
static json_t *bench_pool_json(const char *spec)
{
    char *tool = test_tool("clenc-bench");
    char *argv[] = {tool, "--model", SMALL_DIR, "--pool", (char *)spec,
                    "--texts", "24", "--seq", "16", "--batch", "4",
                    "--runs", "3", "--warmup", "0", "--json", NULL};
    char *env[] = {TWO_DEVICES, "RUSTICL_ENABLE=", NULL};
    char *out = NULL, *err = NULL;
    const int rc = test_run(argv, env, &out, &err);
    if (rc != 0)
        fprintf(stderr, "\n    clenc-bench --pool %s: exit %d: %s\n", spec,
                rc, err ? err : "");
    CU_ASSERT_EQUAL(rc, 0);
    json_t *root = out ? json_loads(out, 0, NULL) : NULL;
    CU_ASSERT(root != NULL);
    free(out);
    free(err);
    free(tool);
    return root;
}

static double number_at(json_t *object, const char *key)
{
    return json_number_value(json_object_get(object, key));
}

void test_pool_bench_reports_each_device_and_the_ratio(void)
{
    json_t *root = bench_pool_json("0:0,0:1");
    CU_ASSERT_FATAL(root != NULL);
    json_t *devices = json_object_get(root, "devices");
    json_t *pool = json_object_get(root, "pool");
    CU_ASSERT_EQUAL_FATAL(json_array_size(devices), 2);
    CU_ASSERT_EQUAL(number_at(root, "texts"), 24);
    CU_ASSERT_EQUAL(number_at(pool, "sessions"), 2);
    double fastest = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *d = json_array_get(devices, i);
        const char *spec = json_string_value(json_object_get(d, "spec"));
        CU_ASSERT(spec && !strcmp(spec, i ? "0:1" : "0:0"));
        const double rate = number_at(d, "texts_per_s");
        CU_ASSERT(rate > 0);
        CU_ASSERT(fabs(rate - 24 / (number_at(d, "median_ms") / 1e3)) <=
                  1e-3 * rate);
        fastest = rate > fastest ? rate : fastest;
    }
    const double rate = number_at(pool, "texts_per_s");
    CU_ASSERT(rate > 0);
    CU_ASSERT(fabs(rate - 24 / (number_at(pool, "median_ms") / 1e3)) <=
              1e-3 * rate);
    CU_ASSERT(fabs(number_at(root, "ratio") - rate / fastest) <=
              1e-3 * rate / fastest);
    json_t *tokens = json_object_get(root, "tokens");
    CU_ASSERT(number_at(tokens, "min") >= 3 &&
              number_at(tokens, "min") < number_at(tokens, "max") &&
              number_at(tokens, "max") <= 16);
    json_decref(root);
    /* One device twice: one device alone, a pool of two sessions. */
    root = bench_pool_json("0:0,0:0");
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(root, "devices")), 1);
    CU_ASSERT_EQUAL(number_at(json_object_get(root, "pool"), "sessions"), 2);
    json_decref(root);
}
