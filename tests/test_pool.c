/* test_pool.c — several devices: a pool's results equal one device's bit for bit and keep input order, bad device lists, a failing device named, clenc-run --device all. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "helpers.h"

#define MODEL_DIR "models/all-MiniLM-L6-v2"
/* PoCL exposes two identical CPU devices with this; the test process's
 * OpenCL is already initialised with its own list, so the tests that need
 * two devices run again in a child with it. */
#define TWO_DEVICES "POCL_DEVICES=pthread pthread"
#define CHILD_MARK "CLENC_TEST_POOL_CHILD=1"
#define MAX_BATCH 4 /* chunks of 16 texts */
#define MAX_SEQ 64
#define TEXTS 37 /* not a multiple of the chunk: the last one is short */

/* In the parent: runs pool/<test> in a child that sees two devices, expects
 * it to pass and returns 0. In that child: fills spec (the two identical
 * devices as "P:D,P:D") and returns 1, or fails the test. */
static int in_two_device_child(const char *test, char *spec, size_t cap)
{
    if (!getenv("CLENC_TEST_POOL_CHILD")) {
        char name[128];
        snprintf(name, sizeof name, "pool/%s", test);
        char *argv[] = {(char *)test_self(), name, NULL};
        char *env[] = {TWO_DEVICES, CHILD_MARK, NULL};
        char *out = NULL, *err = NULL;
        const int rc = test_run(argv, env, &out, &err);
        if (rc != 0 || !out || !strstr(out, "1 passed, 0 failed"))
            fprintf(stderr, "\n    child %s (%s) exit %d:\n%s\n%s\n", name,
                    TWO_DEVICES, rc, out ? out : "", err ? err : "");
        CU_ASSERT_EQUAL(rc, 0);
        CU_ASSERT(out && strstr(out, "1 passed, 0 failed"));
        free(out);
        free(err);
        return 0;
    }
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

/* The texts embedded by one session on the device `spec` selects: the
 * reference each pooled result must equal. */
static float *embed_alone(const char *spec, const char *const *texts,
                          size_t n, unsigned *hidden)
{
    clenc_options opt;
    test_options(&opt);
    opt.device = spec;
    clenc_context *ctx = test_context(&opt);
    clenc_model *model = NULL;
    clenc_session *session = NULL;
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_load(ctx, MODEL_DIR, &model), CLENC_OK);
    CU_ASSERT_FATAL(model != NULL);
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    ASSERT_STATUS(clenc_session_create(model, MAX_BATCH, MAX_SEQ, &session),
                  CLENC_OK);
    float *want = nan_floats(n * info.hidden);
    ASSERT_STATUS(clenc_embed_text(session, texts, n, want), CLENC_OK);
    *hidden = info.hidden;
    clenc_session_destroy(session);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    return want;
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
    size_t differ = 0;
    for (size_t i = 0; i < (size_t)TEXTS * hidden; i++)
        differ += memcmp(&got[i], &want[i], sizeof got[i]) != 0;
    if (differ)
        fprintf(stderr, "\n    %zu of %zu floats differ\n", differ,
                (size_t)TEXTS * hidden);
    CU_ASSERT_EQUAL(differ, 0);
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
