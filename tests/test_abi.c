/* test_abi.c — structs by the caller's size: too small refused, larger read and written up to the caller's size only, a newer caller's set field refused, an older caller's missing fields defaulted. */
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "helpers.h"
#include "testmodel.h"

#define FILL 0xAA
#define EXTRA 24  /* bytes of a "newer" caller past the library's struct */
#define CANARY 32 /* bytes after a caller's buffer that nothing may write */

static int all_bytes(const void *p, size_t n, unsigned char value)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != value)
            return 0;
    return 1;
}

/* ------------------------------------------------------ the helpers alone */

/* A struct as release 1 had it, and as release 2 grew it. */
typedef struct fake_v1 {
    int a, b;
} fake_v1;
typedef struct fake_v2 {
    int a, b;
    int added;    /* 0: as release 1 behaved */
    double later; /* 0: as release 1 behaved */
} fake_v2;

void test_abi_old_caller_gets_defaults_and_no_overrun(void)
{
    /* An old caller's v1, followed by bytes that are not part of it. */
    unsigned char theirs[sizeof(fake_v1) + CANARY];
    memset(theirs, FILL, sizeof theirs);
    const fake_v1 old = {7, 9};
    memcpy(theirs, &old, sizeof old);

    /* In: the library (v2) reads only v1's bytes; the rest are defaults. */
    fake_v2 own;
    memset(&own, FILL, sizeof own);
    ASSERT_STATUS(clenc__struct_in("test", "fake", sizeof(fake_v1), &own,
                                   sizeof own, theirs, sizeof(fake_v1)),
                  CLENC_OK);
    CU_ASSERT_EQUAL(own.a, 7);
    CU_ASSERT_EQUAL(own.b, 9);
    CU_ASSERT_EQUAL(own.added, 0);
    CU_ASSERT(own.later == 0.0);

    /* Out: the library's v2 goes into the old caller's v1, never past it. */
    const fake_v2 result = {1, 2, 3, 4.0};
    memset(theirs, FILL, sizeof theirs);
    clenc__struct_out(theirs, sizeof(fake_v1), &result, sizeof result);
    fake_v1 got;
    memcpy(&got, theirs, sizeof got);
    CU_ASSERT_EQUAL(got.a, 1);
    CU_ASSERT_EQUAL(got.b, 2);
    CU_ASSERT(all_bytes(theirs + sizeof(fake_v1), CANARY, FILL));

    /* Below the minimum: refused, naming the struct and both sizes, and the
     * library's struct untouched. */
    memset(&own, FILL, sizeof own);
    ASSERT_STATUS(clenc__struct_in("test_fn", "fake", sizeof(fake_v1), &own,
                                   sizeof own, theirs, sizeof(fake_v1) - 1),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("test_fn: the caller's fake is 7 bytes");
    ASSERT_ERROR_MENTIONS("at least 8");
    CU_ASSERT(all_bytes(&own, sizeof own, FILL));
    ASSERT_STATUS(clenc__struct_size("test_fn", "fake", 65537, 8),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("65537 bytes");
}

void test_abi_new_caller_zero_tail_accepted_set_tail_refused(void)
{
    /* The library knows v1; the caller was built with v2. */
    fake_v2 newer;
    memset(&newer, 0, sizeof newer);
    newer.a = 5;
    newer.b = 6;
    fake_v1 own;
    memset(&own, FILL, sizeof own);
    ASSERT_STATUS(clenc__struct_in("test", "fake", sizeof(fake_v1), &own,
                                   sizeof own, &newer, sizeof newer),
                  CLENC_OK);
    CU_ASSERT_EQUAL(own.a, 5);
    CU_ASSERT_EQUAL(own.b, 6);

    /* A new field set: the library cannot honour it, and says where. */
    newer.added = 1;
    memset(&own, FILL, sizeof own);
    ASSERT_STATUS(clenc__struct_in("test_fn", "fake", sizeof(fake_v1), &own,
                                   sizeof own, &newer, sizeof newer),
                  CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("test_fn: fake: byte 8 of the caller's 24 is set");
    ASSERT_ERROR_MENTIONS("knows only the first 8 bytes");
    CU_ASSERT(all_bytes(&own, sizeof own, FILL));

    /* Out into the newer caller: what the library lacks reads 0. */
    unsigned char theirs[sizeof(fake_v2) + CANARY];
    memset(theirs, FILL, sizeof theirs);
    const fake_v1 result = {3, 4};
    clenc__struct_out(theirs, sizeof(fake_v2), &result, sizeof result);
    fake_v2 got;
    memcpy(&got, theirs, sizeof got);
    CU_ASSERT_EQUAL(got.a, 3);
    CU_ASSERT_EQUAL(got.b, 4);
    CU_ASSERT(all_bytes(theirs + sizeof(fake_v1),
                        sizeof(fake_v2) - sizeof(fake_v1), 0));
    CU_ASSERT(all_bytes(theirs + sizeof(fake_v2), CANARY, FILL));
}

/* ------------------------------------------------- an input: the options */

/* A context from options of `size` bytes; one that is made must use the
 * cache folder the options name, which shows that they were read. */
static clenc_status create_with(const void *opt, size_t size,
                                const char *cache_dir)
{
    static char not_a_context;
    clenc_context *made = (clenc_context *)(void *)&not_a_context;
    clenc_status st = clenc_context_create_sized(opt, size, &made);
    if (st == CLENC_OK) {
        const char *dir = NULL;
        CU_ASSERT_EQUAL(clenc_context_cache(made, &dir, NULL), CLENC_OK);
        CU_ASSERT(dir && strcmp(dir, cache_dir) == 0);
        clenc_context_destroy(made);
    } else {
        CU_ASSERT_PTR_NULL(made); /* a failed create sets *out to NULL */
    }
    return st;
}

void test_abi_options_by_size(void)
{
    /* The options in a buffer with room for a newer caller's fields. */
    unsigned char buf[sizeof(clenc_options) + EXTRA];
    memset(buf, 0, sizeof buf);
    clenc_options opt;
    test_options(&opt);
    char *cache = test_tmpdir("abi-cache");
    opt.cache_dir = cache;
    memcpy(buf, &opt, sizeof opt);
    const size_t min = CLENC__MIN_clenc_options;

    ASSERT_STATUS(create_with(buf, min - 1, cache), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("clenc_context_create: the caller's clenc_options "
                          "is 55 bytes");
    ASSERT_ERROR_MENTIONS("at least 56");

    /* The exact size and a larger one with a zero tail: the options are
     * read (the cache folder is the one they name). */
    ASSERT_STATUS(create_with(buf, sizeof opt, cache), CLENC_OK);
    ASSERT_STATUS(create_with(buf, sizeof buf, cache), CLENC_OK);

    /* A newer caller's field set: refused, naming the byte. */
    buf[sizeof opt + 5] = 1;
    ASSERT_STATUS(create_with(buf, sizeof buf, cache), CLENC_ERR_UNSUPPORTED);
    char want[96];
    snprintf(want, sizeof want, "clenc_options: byte %zu of the caller's %zu is set",
             sizeof opt + 5, sizeof buf);
    ASSERT_ERROR_MENTIONS(want);
    snprintf(want, sizeof want, "knows only the first %zu bytes", sizeof opt);
    ASSERT_ERROR_MENTIONS(want);

    /* Filling a newer caller's options zeroes its fields too. */
    memset(buf, FILL, sizeof buf);
    ASSERT_STATUS(clenc_options_init_sized((clenc_options *)buf, sizeof buf),
                  CLENC_OK);
    CU_ASSERT(all_bytes(buf, sizeof buf, 0));
    memset(buf, FILL, sizeof buf);
    ASSERT_STATUS(clenc_options_init_sized((clenc_options *)buf, min - 1),
                  CLENC_ERR_INVALID_ARG);
    CU_ASSERT(all_bytes(buf, sizeof buf, FILL));
    free(cache);
}

/* ------------------------------------------------------------- outputs */

/* The objects the getters below read (set by each test). */
static clenc_context *the_ctx;
static clenc_model *the_model;
static clenc_session *the_session;

typedef clenc_status (*get_fn)(void *out, size_t size);
static clenc_status get_found_device(void *out, size_t size)
{
    return clenc_device_find_sized(NULL, out, size);
}
static clenc_status get_context_device(void *out, size_t size)
{
    return clenc_context_device_sized(the_ctx, out, size);
}
static clenc_status get_model_info(void *out, size_t size)
{
    return clenc_model_info_get_sized(the_model, out, size);
}
static clenc_status get_session_info(void *out, size_t size)
{
    return clenc_session_info_get_sized(the_session, out, size);
}
static clenc_status get_profile_summary(void *out, size_t size)
{
    size_t count;
    return clenc_profile_kernels_sized(the_session, NULL, 0, 0, &count, out,
                                       size);
}
static clenc_status get_bert_config(void *out, size_t size)
{
    return clenc_config_init_bert_sized(out, size);
}

/* An output struct of `own` bytes at three sizes: below the minimum,
 * refused, nothing written; exact, the struct and nothing past it; a newer
 * caller's, the same bytes, zeros to its size, nothing past it. `what` is
 * the message of the refusal. */
static void check_out(get_fn get, size_t own, size_t min, const char *what)
{
    const size_t total = own + EXTRA + CANARY;
    unsigned char *want = malloc(own), *buf = malloc(total);
    CU_ASSERT_FATAL(want && buf);
    memset(want, FILL, own);
    ASSERT_STATUS(get(want, own), CLENC_OK);
    CU_ASSERT(!all_bytes(want, own, FILL));

    memset(buf, FILL, total);
    ASSERT_STATUS(get(buf, min - 1), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS(what);
    CU_ASSERT(all_bytes(buf, total, FILL));

    ASSERT_STATUS(get(buf, own), CLENC_OK);
    CU_ASSERT(memcmp(buf, want, own) == 0);
    CU_ASSERT(all_bytes(buf + own, EXTRA + CANARY, FILL));

    memset(buf, FILL, total);
    ASSERT_STATUS(get(buf, own + EXTRA), CLENC_OK);
    CU_ASSERT(memcmp(buf, want, own) == 0);
    CU_ASSERT(all_bytes(buf + own, EXTRA, 0));
    CU_ASSERT(all_bytes(buf + own + EXTRA, CANARY, FILL));
    free(buf);
    free(want);
}

void test_abi_device_info_by_size(void)
{
    check_out(get_found_device, sizeof(clenc_device_info),
              CLENC__MIN_clenc_device_info,
              "clenc_device_find: the caller's clenc_device_info is 767 bytes");
    the_ctx = test_context(NULL);
    check_out(get_context_device, sizeof(clenc_device_info),
              CLENC__MIN_clenc_device_info,
              "clenc_context_device: the caller's clenc_device_info is 767 "
              "bytes");
    clenc_context_destroy(the_ctx);
    the_ctx = NULL;
    check_out(get_bert_config, sizeof(clenc_config), CLENC__MIN_clenc_config,
              "clenc_config_init_bert: the caller's clenc_config is 59 bytes");
}

/* -------------------------------------------------------------- arrays */

typedef clenc_status (*list_fn)(void *out, size_t size, size_t capacity,
                                size_t *count);
static clenc_status list_devices(void *out, size_t size, size_t capacity,
                                 size_t *count)
{
    return clenc_device_list_sized(out, size, capacity, count);
}
static clenc_status list_platforms(void *out, size_t size, size_t capacity,
                                   size_t *count)
{
    return clenc_platform_list_sized(out, size, capacity, count);
}
static clenc_status list_programs(void *out, size_t size, size_t capacity,
                                  size_t *count)
{
    return clenc_context_programs_sized(the_ctx, out, size, capacity, count);
}
static clenc_status list_launches(void *out, size_t size, size_t capacity,
                                  size_t *count)
{
    return clenc_profile_launches_sized(the_session, out, size, capacity,
                                        count);
}
static clenc_status list_kernels(void *out, size_t size, size_t capacity,
                                 size_t *count)
{
    return clenc_profile_kernels_sized(the_session, out, size, capacity, count,
                                       NULL, 0);
}

/* Lists into elements `stride` bytes apart: each equal to `want`'s (own
 * bytes each), zeros to the stride, nothing past the last. */
static void check_stride(list_fn list, const unsigned char *want, size_t own,
                         size_t n, size_t stride)
{
    const size_t total = n * stride + CANARY;
    unsigned char *buf = malloc(total);
    CU_ASSERT_FATAL(buf != NULL);
    memset(buf, FILL, total);
    size_t count = 0;
    ASSERT_STATUS(list(buf, stride, n, &count), CLENC_OK);
    CU_ASSERT_EQUAL(count, n);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(memcmp(buf + i * stride, want + i * own, own) == 0);
        CU_ASSERT(all_bytes(buf + i * stride + own, stride - own, 0));
    }
    CU_ASSERT(all_bytes(buf + n * stride, CANARY, FILL));
    free(buf);
}

/* An array of `own`-byte structs: a count query with any size, an element
 * below the minimum refused before anything is written (`what` is the
 * message), then the caller's own stride and a newer caller's. Returns how
 * many elements there are. */
static size_t check_list(list_fn list, size_t own, size_t min,
                         const char *what)
{
    size_t n = 0;
    ASSERT_STATUS(list(NULL, 0, 0, &n), CLENC_OK);
    CU_ASSERT_FATAL(n > 0 && n < 4096);
    unsigned char *want = malloc(n * own);
    CU_ASSERT_FATAL(want != NULL);
    memset(want, FILL, n * own);
    size_t count = 0;
    ASSERT_STATUS(list(want, own, n, &count), CLENC_OK);
    CU_ASSERT_EQUAL(count, n);
    CU_ASSERT(!all_bytes(want + (n - 1) * own, own, FILL));

    unsigned char *buf = malloc(own + CANARY);
    CU_ASSERT_FATAL(buf != NULL);
    memset(buf, FILL, own + CANARY);
    count = 12345;
    ASSERT_STATUS(list(buf, min - 1, 1, &count), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS(what);
    CU_ASSERT(all_bytes(buf, own + CANARY, FILL));
    CU_ASSERT_EQUAL(count, 12345);
    free(buf);

    check_stride(list, want, own, n, own);
    check_stride(list, want, own, n, own + EXTRA);
    free(want);
    return n;
}

void test_abi_list_strides(void)
{
    /* One device here: its stride shows only from the second element, which
     * the platforms (PoCL, and Mesa's two) and the model test's arrays
     * have. */
    check_list(list_devices, sizeof(clenc_device_info),
               CLENC__MIN_clenc_device_info,
               "clenc_device_list: the caller's clenc_device_info is 767 "
               "bytes");
    size_t platforms = check_list(
        list_platforms, sizeof(clenc_platform_info),
        CLENC__MIN_clenc_platform_info,
        "clenc_platform_list: the caller's clenc_platform_info is 391 bytes");
    if (platforms < 2)
        test_skip("a second platform at the caller's stride",
                  "one OpenCL platform (mesa-opencl-icd adds two)");
}

/* ------------------------------------- inputs with an array: a model */

/* Two layers, so that layers[1] sits at the caller's stride. */
static void tiny_model(test_model *m)
{
    clenc_config c;
    clenc_config_init_bert(&c);
    c.vocab_size = 50;
    c.hidden = 32;
    c.heads = 4;
    c.layers = 2;
    c.ffn = 37;
    c.max_positions = 16;
    test_model_random(m, &c, 11);
}

/* Encodes 8 tokens into out[32]; the session stays open in *s. */
static void encode8(clenc_model *model, clenc_session **s, float *out)
{
    static const int32_t ids[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ASSERT_STATUS(clenc_session_create(model, 1, 8, s), CLENC_OK);
    CU_ASSERT_FATAL(*s != NULL);
    test_nan_floats(out, 32);
    ASSERT_STATUS(
        clenc_encode(*s, ids, NULL, NULL, 1, 8, CLENC_POOL_MEAN, out),
        CLENC_OK);
    for (int i = 0; i < 32; i++)
        CU_ASSERT(isfinite(out[i])); /* written: not the NaN it started as */
}

/* The model's, the session's and the profile's outputs by size. */
static void check_model_outputs(void)
{
    check_out(get_model_info, sizeof(clenc_model_info),
              CLENC__MIN_clenc_model_info,
              "clenc_model_info_get: the caller's clenc_model_info is 303 "
              "bytes");
    check_out(get_session_info, sizeof(clenc_session_info),
              CLENC__MIN_clenc_session_info,
              "clenc_session_info_get: the caller's clenc_session_info is 23 "
              "bytes");
    check_out(get_profile_summary, sizeof(clenc_profile_summary),
              CLENC__MIN_clenc_profile_summary,
              "clenc_profile_kernels: the caller's clenc_profile_summary is "
              "47 bytes");
    CU_ASSERT(check_list(list_programs, sizeof(clenc_program_info),
                         CLENC__MIN_clenc_program_info,
                         "clenc_context_programs: the caller's "
                         "clenc_program_info is 1087 bytes") >= 2);
    CU_ASSERT(check_list(list_launches, sizeof(clenc_launch_profile),
                         CLENC__MIN_clenc_launch_profile,
                         "clenc_profile_launches: the caller's "
                         "clenc_launch_profile is 79 bytes") >= 2);
    CU_ASSERT(check_list(list_kernels, sizeof(clenc_kernel_profile),
                         CLENC__MIN_clenc_kernel_profile,
                         "clenc_profile_kernels: the caller's "
                         "clenc_kernel_profile is 39 bytes") >= 2);
}

void test_abi_model_create_by_size(void)
{
    test_model tiny;
    tiny_model(&tiny);
    clenc_options opt;
    test_options(&opt);
    opt.tune = CLENC_TUNE_OFF; /* the same tiles for both models */
    opt.profiling = 1;
    clenc_context *ctx = test_context(&opt);

    /* Config, weights and layers as a newer caller has them: zero tails. */
    const size_t stride = sizeof(clenc_layer_weights) + EXTRA;
    struct {
        clenc_config config;
        unsigned char tail[EXTRA];
    } config = {tiny.config, {0}};
    struct {
        clenc_weights weights;
        unsigned char tail[EXTRA];
    } weights = {tiny.weights, {0}};
    unsigned char *layers = calloc(2, stride);
    CU_ASSERT_FATAL(layers != NULL);
    for (int i = 0; i < 2; i++)
        memcpy(layers + i * stride, &tiny.layers[i], sizeof tiny.layers[i]);
    weights.weights.layers = (const clenc_layer_weights *)layers;

    /* Read at the caller's stride, it is the same model. */
    clenc_model *want = test_model_upload(ctx, &tiny), *got = NULL;
    ASSERT_STATUS(clenc_model_create_sized(ctx, &config.config, sizeof config,
                                           &weights.weights, sizeof weights,
                                           stride, &got),
                  CLENC_OK);
    CU_ASSERT_FATAL(got != NULL);
    float a[32], b[32];
    clenc_session *s = NULL;
    encode8(want, &s, a);
    clenc_session_destroy(s);
    encode8(got, &s, b);
    CU_ASSERT(memcmp(a, b, sizeof a) == 0);
    the_ctx = ctx;
    the_model = got;
    the_session = s;
    check_model_outputs();
    the_ctx = NULL;
    the_model = NULL;
    the_session = NULL;
    clenc_session_destroy(s);
    clenc_model_destroy(got);
    clenc_model_destroy(want);

    /* A field of a newer clenc_layer_weights set in layers[1]. */
    static char not_a_model;
    got = (clenc_model *)(void *)&not_a_model;
    layers[stride + sizeof(clenc_layer_weights) + 3] = 1;
    ASSERT_STATUS(clenc_model_create_sized(ctx, &config.config, sizeof config,
                                           &weights.weights, sizeof weights,
                                           stride, &got),
                  CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("weights.layers[1]: clenc_layer_weights: byte 131");
    CU_ASSERT_PTR_NULL(got);
    /* One of a newer clenc_config. */
    config.tail[0] = 1;
    ASSERT_STATUS(clenc_model_create_sized(ctx, &config.config, sizeof config,
                                           &weights.weights, sizeof weights,
                                           stride, &got),
                  CLENC_ERR_UNSUPPORTED);
    char newer[96];
    snprintf(newer, sizeof newer,
             "clenc_config: byte %zu of the caller's %zu is set",
             sizeof(clenc_config), sizeof config);
    ASSERT_ERROR_MENTIONS(newer);
    /* A stride below clenc 0.2.0's layer. */
    ASSERT_STATUS(clenc_model_create_sized(ctx, &tiny.config,
                                           sizeof tiny.config, &tiny.weights,
                                           sizeof tiny.weights,
                                           sizeof(clenc_layer_weights) - 8,
                                           &got),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("clenc_layer_weights is 120 bytes");
    free(layers);
    clenc_context_destroy(ctx);
    test_model_free(&tiny);
}
