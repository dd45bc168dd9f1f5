/* test_encoder.c — whole forward passes: against PyTorch fixtures and the C reference, batching, packing, bad input. */
#include <dirent.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "helpers.h"
#include "ref.h"
#include "testmodel.h"

/* Bounds about four times the worst difference measured on an AMD EPYC
 * with PoCL 3.1, in both kernel families and with both GEMMs:
 * against the PyTorch fixtures (float64), every token: bert_tiny 1.28e-6,
 * vanilla_post 1.19e-6, vanilla_pre_tanh 7.15e-7 (pooled outputs less);
 * against ref.c's double-precision pass: 7.27e-6 (relu/post/sinusoidal,
 * whose embeddings are scaled by sqrt(hidden)), the others below 3e-6. */
#define E2E_ATOL 5e-6
#define REF_ATOL 3e-5

static const struct {
    clenc_variant variant;
    clenc_gemm gemm;
    const char *name;
} paths[] = {{CLENC_VARIANT_CPU, CLENC_GEMM_OWN, "cpu/own"},
             {CLENC_VARIANT_GPU, CLENC_GEMM_OWN, "gpu/own"},
             {CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, "cpu/clblast"}};
#define PATHS (sizeof paths / sizeof paths[0])

static double max_abs_diff(const float *got, const float *want, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        worst = test_worst(worst, fabs((double)got[i] - (double)want[i]));
    return worst;
}

/* clenc.h: with CLENC_POOL_NONE, rows past a sequence's length are 0 (the
 * output started as NaN). */
static void expect_zero_padding(const float *got, const int32_t *lengths,
                                size_t batch, size_t seq, size_t h)
{
    size_t not_zero = 0;
    for (size_t b = 0; b < batch; b++)
        for (size_t i = (size_t)lengths[b] * h; i < seq * h; i++)
            not_zero += got[b * seq * h + i] != 0.0f;
    CU_ASSERT_EQUAL(not_zero, 0);
}

static void expect_close(const char *what, const float *got, const float *want,
                         size_t n, double atol)
{
    double d = max_abs_diff(got, want, n);
    printf("\n    %-44s max abs diff %.3g", what, d);
    CU_ASSERT(d <= atol);
}

/* Every layer of the pass ran in the family and GEMM asked for, and every
 * GEMM ran over exactly the real tokens. */
static void check_launches(const clenc_session *s, unsigned tokens,
                           clenc_variant v, clenc_gemm g)
{
    unsigned gemms = 0;
    for (size_t i = 0; i < s->launcher.launch_count; i++) {
        const clenc__launch *l = &s->launcher.launches[i];
        if (l->kernel == CLENC__K_GEMM) {
            gemms++;
            CU_ASSERT_EQUAL(l->work.m, tokens);
            CU_ASSERT_EQUAL(l->clblast, g == CLENC_GEMM_CLBLAST);
        } else {
            CU_ASSERT_EQUAL(l->gpu, v == CLENC_VARIANT_GPU);
        }
    }
    CU_ASSERT_EQUAL(gemms, 4 * s->model->config.layers);
}

static void fixture_case(const char *name)
{
    test_model tm;
    test_model_fixture(&tm, name);
    const clenc_config *c = &tm.config;
    const size_t h = c->hidden, b = tm.batch, seq = tm.seq;
    const float *hidden = test_fixture_tensor(&tm, "expected.hidden", b * seq * h);
    const float *cls = test_fixture_tensor(&tm, "expected.cls", b * h);
    const float *mean = test_fixture_tensor(&tm, "expected.mean", b * h);
    const float *unit =
        test_fixture_tensor(&tm, "expected.mean_normalized", b * h);
    unsigned tokens = 0;
    for (size_t i = 0; i < b; i++)
        tokens += (unsigned)tm.lengths[i];
    float *got = malloc(b * seq * h * sizeof *got);
    CU_ASSERT_FATAL(got != NULL);
    for (size_t p = 0; p < PATHS; p++) {
        clenc_context *ctx = test_context_for(paths[p].variant, paths[p].gemm);
        clenc_model *model = test_model_upload(ctx, &tm);
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, (unsigned)b, (unsigned)seq, &s),
                      CLENC_OK);
        CU_ASSERT_FATAL(s != NULL);
        char what[96];
        const int32_t *types = c->type_vocab_size ? tm.type_ids : NULL;
        test_nan_floats(got, b * seq * h);
        ASSERT_STATUS(clenc_encode(s, tm.ids, types, tm.lengths, (unsigned)b,
                                   (unsigned)seq, CLENC_POOL_NONE, got),
                      CLENC_OK);
        check_launches(s, tokens, paths[p].variant, paths[p].gemm);
        snprintf(what, sizeof what, "%s %s all tokens", name, paths[p].name);
        expect_close(what, got, hidden, b * seq * h, E2E_ATOL);
        expect_zero_padding(got, tm.lengths, b, seq, h);
        test_nan_floats(got, b * seq * h);
        ASSERT_STATUS(clenc_encode(s, tm.ids, types, tm.lengths, (unsigned)b,
                                   (unsigned)seq, CLENC_POOL_CLS, got),
                      CLENC_OK);
        snprintf(what, sizeof what, "%s %s cls", name, paths[p].name);
        expect_close(what, got, cls, b * h, E2E_ATOL);
        test_nan_floats(got, b * seq * h);
        ASSERT_STATUS(clenc_encode(s, tm.ids, types, tm.lengths, (unsigned)b,
                                   (unsigned)seq, CLENC_POOL_MEAN, got),
                      CLENC_OK);
        snprintf(what, sizeof what, "%s %s mean", name, paths[p].name);
        expect_close(what, got, mean, b * h, E2E_ATOL);
        test_nan_floats(got, b * seq * h);
        ASSERT_STATUS(clenc_encode(s, tm.ids, types, tm.lengths, (unsigned)b,
                                   (unsigned)seq,
                                   CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE, got),
                      CLENC_OK);
        snprintf(what, sizeof what, "%s %s mean, normalised", name,
                 paths[p].name);
        expect_close(what, got, unit, b * h, E2E_ATOL);
        clenc_session_destroy(s);
        clenc_model_destroy(model);
        clenc_context_destroy(ctx);
    }
    free(got);
    test_model_free(&tm);
}

void test_encoder_bert_matches_pytorch(void)
{
    fixture_case("bert_tiny");
}

void test_encoder_vanilla_post_ln_matches_pytorch(void)
{
    fixture_case("vanilla_post");
}

void test_encoder_vanilla_pre_ln_tanh_matches_pytorch(void)
{
    fixture_case("vanilla_pre_tanh");
}

/* ------------------------------------------- every configuration vs ref.c */

static void ref_case(const clenc_config *c, const char *name)
{
    static const int32_t lengths[] = {7, 1, 65, 13};
    const size_t batch = 4, seq = 65, h = c->hidden;
    int32_t ids[4 * 65], types[4 * 65];
    for (size_t i = 0; i < batch * seq; i++) {
        ids[i] = (int32_t)((i * 31 + 7) % c->vocab_size);
        types[i] = c->type_vocab_size ? (int32_t)((i / 3) % 2) : 0;
    }
    test_model tm;
    test_model_random(&tm, c, 1234);
    const size_t t = 86;
    double *ref = malloc(sizeof *ref * t * h);
    ref_encoder(c, &tm.weights, ids, types, lengths, batch, seq, ref);
    float *want = calloc(batch * seq * h, sizeof *want);
    float *got = malloc(batch * seq * h * sizeof *got);
    CU_ASSERT_FATAL(ref && want && got);
    for (size_t b = 0, row = 0; b < batch; b++)
        for (size_t p = 0; p < (size_t)lengths[b]; p++, row++)
            for (size_t i = 0; i < h; i++)
                want[(b * seq + p) * h + i] = (float)ref[row * h + i];
    for (size_t p = 0; p < PATHS; p++) {
        clenc_context *ctx = test_context_for(paths[p].variant, paths[p].gemm);
        clenc_model *model = test_model_upload(ctx, &tm);
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, 4, 65, &s), CLENC_OK);
        CU_ASSERT_FATAL(s != NULL);
        test_nan_floats(got, batch * seq * h);
        ASSERT_STATUS(clenc_encode(s, ids, types, lengths, 4, 65,
                                   CLENC_POOL_NONE, got),
                      CLENC_OK);
        char what[96];
        snprintf(what, sizeof what, "%s %s", name, paths[p].name);
        expect_close(what, got, want, batch * seq * h, REF_ATOL);
        expect_zero_padding(got, lengths, batch, seq, h);
        clenc_session_destroy(s);
        clenc_model_destroy(model);
        clenc_context_destroy(ctx);
    }
    free(got);
    free(want);
    free(ref);
    test_model_free(&tm);
}

void test_encoder_every_activation_norm_and_position_matches_reference(void)
{
    clenc_config c;
    test_config_small(&c);
    ref_case(&c, "gelu/post/learned");
    c.activation = CLENC_ACT_GELU_TANH;
    c.norm = CLENC_NORM_PRE;
    c.final_norm = 1;
    ref_case(&c, "gelu_tanh/pre/learned+final");
    c.activation = CLENC_ACT_RELU;
    c.positions = CLENC_POS_SINUSOIDAL;
    c.scale_embedding = 1;
    c.embedding_norm = 0;
    c.type_vocab_size = 0;
    c.norm = CLENC_NORM_POST;
    c.final_norm = 0;
    ref_case(&c, "relu/post/sinusoidal");
    c.positions = CLENC_POS_NONE;
    c.norm = CLENC_NORM_PRE;
    c.heads = 8;
    ref_case(&c, "relu/pre/none, 8 heads");
}

/* ------------------------------------------------------ batching, packing */

void test_encoder_sequence_alone_equals_sequence_in_batch(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    const size_t h = tm.config.hidden, b = tm.batch, seq = tm.seq;
    float *batched = malloc(b * seq * h * sizeof *batched);
    float *alone = malloc(seq * h * sizeof *alone);
    CU_ASSERT_FATAL(batched && alone);
    for (size_t p = 0; p < PATHS; p++) {
        clenc_context *ctx = test_context_for(paths[p].variant, paths[p].gemm);
        clenc_model *model = test_model_upload(ctx, &tm);
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, (unsigned)b, (unsigned)seq, &s),
                      CLENC_OK);
        CU_ASSERT_FATAL(s != NULL);
        test_nan_floats(batched, b * seq * h);
        ASSERT_STATUS(clenc_encode(s, tm.ids, tm.type_ids, tm.lengths,
                                   (unsigned)b, (unsigned)seq, CLENC_POOL_NONE,
                                   batched),
                      CLENC_OK);
        double worst = 0;
        for (size_t i = 0; i < b; i++) {
            const int32_t len = tm.lengths[i];
            test_nan_floats(alone, seq * h);
            ASSERT_STATUS(clenc_encode(s, tm.ids + i * seq,
                                       tm.type_ids + i * seq, &len, 1,
                                       (unsigned)len, CLENC_POOL_NONE, alone),
                          CLENC_OK);
            worst = test_worst(worst, max_abs_diff(alone, batched + i * seq * h,
                                                   (size_t)len * h));
        }
        printf("\n    %-44s max abs diff %.3g", paths[p].name, worst);
        CU_ASSERT(worst <= 1e-6);
        clenc_session_destroy(s);
        clenc_model_destroy(model);
        clenc_context_destroy(ctx);
    }
    free(batched);
    free(alone);
    test_model_free(&tm);
}

/* Padding rows of the input are never read: garbage there changes nothing. */
void test_encoder_padding_is_never_read(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    const size_t h = tm.config.hidden, b = tm.batch, seq = tm.seq;
    int32_t *ids = malloc(b * seq * sizeof *ids);
    float *clean = malloc(b * seq * h * sizeof *clean);
    float *dirty = malloc(b * seq * h * sizeof *dirty);
    CU_ASSERT_FATAL(ids && clean && dirty);
    memcpy(ids, tm.ids, b * seq * sizeof *ids);
    for (size_t i = 0; i < b; i++)
        for (size_t p = (size_t)tm.lengths[i]; p < seq; p++)
            ids[i * seq + p] = -12345; /* would be rejected if read */
    clenc_context *ctx = test_context_for(CLENC_VARIANT_CPU, CLENC_GEMM_OWN);
    clenc_model *model = test_model_upload(ctx, &tm);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, (unsigned)b, (unsigned)seq, &s),
                  CLENC_OK);
    test_nan_floats(clean, b * seq * h);
    ASSERT_STATUS(clenc_encode(s, tm.ids, tm.type_ids, tm.lengths, (unsigned)b,
                               (unsigned)seq, CLENC_POOL_NONE, clean),
                  CLENC_OK);
    memset(dirty, 0x7f, b * seq * h * sizeof *dirty);
    ASSERT_STATUS(clenc_encode(s, ids, tm.type_ids, tm.lengths, (unsigned)b,
                               (unsigned)seq, CLENC_POOL_NONE, dirty),
                  CLENC_OK);
    CU_ASSERT(memcmp(clean, dirty, b * seq * h * sizeof *clean) == 0);
    expect_zero_padding(clean, tm.lengths, b, seq, h);
    size_t unwritten = 0;
    for (size_t i = 0; i < b * seq * h; i++)
        unwritten += !isfinite(clean[i]);
    CU_ASSERT_EQUAL(unwritten, 0);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    free(ids);
    free(clean);
    free(dirty);
    test_model_free(&tm);
}

/* ------------------------------------------------------------ bad input */

void test_encoder_rejects_bad_config(void)
{
    clenc_context *ctx = test_context(NULL);
    clenc_config c;
    test_config_small(&c);
    test_model tm;
    test_model_random(&tm, &c, 1);
    clenc_model *model = (clenc_model *)&c;
    c.hidden = 30; /* 4 heads */
    ASSERT_STATUS(clenc_model_create(ctx, &c, &tm.weights, &model),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("not divisible by config.heads");
    CU_ASSERT_PTR_NULL(model);
    test_config_small(&c);
    c.layers = 0;
    ASSERT_STATUS(clenc_model_create(ctx, &c, &tm.weights, &model),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("config.layers is 0");
    test_config_small(&c);
    c.ffn = 0;
    ASSERT_STATUS(clenc_model_create(ctx, &c, &tm.weights, &model),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("config.ffn is 0");
    test_config_small(&c);
    c.eps = -1;
    ASSERT_STATUS(clenc_model_create(ctx, &c, &tm.weights, &model),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("config.eps");
    test_config_small(&c);
    c.activation = (clenc_activation)7;
    ASSERT_STATUS(clenc_model_create(ctx, &c, &tm.weights, &model),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("config.activation");
    test_config_small(&c);
    clenc_layer_weights saved = tm.layers[1];
    tm.layers[1].ffn_up_weight = NULL;
    ASSERT_STATUS(clenc_model_create(ctx, &c, &tm.weights, &model),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("weights.layers[1].ffn_up_weight");
    tm.layers[1] = saved;
    ASSERT_STATUS(clenc_model_create(ctx, &c, NULL, &model),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc_model_create(NULL, &c, &tm.weights, &model),
                  CLENC_ERR_INVALID_ARG);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
}

void test_encoder_rejects_bad_batches(void)
{
    clenc_context *ctx = test_context(NULL);
    clenc_config c;
    test_config_small(&c);
    test_model tm;
    test_model_random(&tm, &c, 1);
    clenc_model *model = test_model_upload(ctx, &tm);
    clenc_session *s = (clenc_session *)&c;
    ASSERT_STATUS(clenc_session_create(model, 2, 81, &s), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("max_seq 81 is over the model's 80 positions");
    CU_ASSERT_PTR_NULL(s);
    ASSERT_STATUS(clenc_session_create(model, 0, 8, &s), CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc_session_create(model, 2, 8, &s), CLENC_OK);
    int32_t ids[3 * 9] = {0}, lengths[3] = {8, 8, 8};
    float out[3 * 9 * 32];
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 3, 8, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("batch 3 is outside the session's 1..2");
    ASSERT_STATUS(clenc_encode(s, ids, NULL, NULL, 2, 9, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("seq 9");
    ASSERT_STATUS(clenc_encode(s, ids, NULL, NULL, 0, 8, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    lengths[1] = 0;
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("lengths[1] is 0");
    lengths[1] = 8;
    ids[8 + 3] = 50;
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("token id 50 at [1][3]");
    ids[8 + 3] = -1;
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    ids[8 + 3] = 0;
    int32_t types[2 * 8] = {0};
    types[5] = 2;
    ASSERT_STATUS(clenc_encode(s, ids, types, lengths, 2, 8, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("token type 2 at [0][5]");
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 8,
                               (clenc_pooling)0x55, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc_encode(s, NULL, NULL, lengths, 2, 8, CLENC_POOL_MEAN, out),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc_encode(NULL, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN,
                               out),
                  CLENC_ERR_INVALID_ARG);
    /* And the session still works: two pooled rows, nothing past them. */
    test_nan_floats(out, sizeof out / sizeof out[0]);
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 8, CLENC_POOL_MEAN, out),
                  CLENC_OK);
    size_t written = 0;
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++)
        written += isfinite(out[i]) != 0;
    CU_ASSERT_EQUAL(written, 2 * 32);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.hidden, 32);
    CU_ASSERT_EQUAL(info.max_sequence, 80);
    CU_ASSERT_EQUAL(info.pooling, CLENC_POOL_MEAN);
    CU_ASSERT(info.weight_bytes > 50 * 32 * sizeof(float));
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
}

/* The persisted tuning file "PREFIX<key>.txt" (prefix "gemm-", "tile-";
 * program binaries "gemm-<key>.clbin" lie beside it): its path (malloc'd),
 * or NULL. */
static char *tuning_file(const char *dir, const char *prefix)
{
    char *path = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return NULL;
    struct dirent *e;
    while (!path && (e = readdir(d)) != NULL) {
        const size_t n = strlen(e->d_name);
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0 && n > 4 &&
            strcmp(e->d_name + n - 4, ".txt") == 0)
            path = test_path(dir, e->d_name);
    }
    closedir(d);
    return path;
}

/* Replaces a tuning file's line, as this user with mode 0600: a file that
 * the cache's owner and permission checks accept. */
static void plant(const char *path, const char *line)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_EQUAL(fchmod(fd, 0600), 0);
    CU_ASSERT_EQUAL(write(fd, line, strlen(line)), (ssize_t)strlen(line));
    close(fd);
}

/* The file still holds `line`: nothing measured and wrote over it. */
static void expect_file_holds(const char *path, const char *line)
{
    unsigned char *text = test_read_file(path, NULL);
    CU_ASSERT(text && strcmp((const char *)text, line) == 0);
    free(text);
}

/* A model loaded on a fresh context of `opt` (the caller destroys both). */
static clenc_model *load_tuned(const clenc_options *opt, const test_model *tm,
                               clenc_context **ctx, clenc_model_info *info)
{
    *ctx = test_context(opt);
    clenc_model *model = test_model_upload(*ctx, tm);
    ASSERT_STATUS(clenc_model_info_get(model, info), CLENC_OK);
    return model;
}

/* Loads after the first, tuning on: what is planted in the persisted
 * files is what a load takes, and nothing is measured over it. */
static void plant_and_reload(const clenc_options *opt, const test_model *tm,
                             const char *cache, clenc_gemm measured)
{
    clenc_context *ctx;
    clenc_model_info info;
    /* The other GEMM, planted in the file, is taken. (Planting the own
     * kernel where CLBlast was measured leaves no tile kept: that one is
     * measured now.) */
    char *gemm_file = tuning_file(cache, "gemm-");
    CU_ASSERT_FATAL(gemm_file != NULL);
    const clenc_gemm other =
        measured == CLENC_GEMM_OWN ? CLENC_GEMM_CLBLAST : CLENC_GEMM_OWN;
    char line[64];
    snprintf(line, sizeof line, "%u 0 0\n", (unsigned)other);
    plant(gemm_file, line);
    clenc_model *model = load_tuned(opt, tm, &ctx, &info);
    CU_ASSERT_EQUAL(info.gemm, other);
    expect_file_holds(gemm_file, line);
    CU_ASSERT_EQUAL(test_list_dir(cache, ".txt", NULL), 2);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);

    /* The own kernel and a tile planted in the files, one no search tries
     * (the cpu family's candidates lack 5x3 and a 2x3 work-group; the gpu
     * family's search leaves TM x TNP at the default), with no measured
     * rate (0: never checked again): read back, nothing measured. */
    snprintf(line, sizeof line, "%u 0 0\n", (unsigned)CLENC_GEMM_OWN);
    plant(gemm_file, line);
    char *tile_file = tuning_file(cache, "tile-");
    CU_ASSERT_FATAL(tile_file != NULL);
    plant(tile_file, "5 3 32 2 3 0.0\n");
    model = load_tuned(opt, tm, &ctx, &info);
    CU_ASSERT_EQUAL(info.gemm, CLENC_GEMM_OWN);
    CU_ASSERT_EQUAL(model->spec.tile.gemm_tm, 5);
    CU_ASSERT_EQUAL(model->spec.tile.gemm_tnp, 3);
    CU_ASSERT_EQUAL(model->spec.tile.gemm_ts, 32);
    CU_ASSERT(model->spec.tile.gemm_wg[0] == 2 &&
              model->spec.tile.gemm_wg[1] == 3);
    expect_file_holds(gemm_file, line);
    expect_file_holds(tile_file, "5 3 32 2 3 0.0\n");
    CU_ASSERT_EQUAL(test_list_dir(cache, ".txt", NULL), 2);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);

    /* A rate no machine reaches: measured again on load, slower than
     * that, so kept. */
    plant(tile_file, "5 3 32 2 3 99999999.0\n");
    model = load_tuned(opt, tm, &ctx, &info);
    CU_ASSERT(model->spec.tile.gemm_tm == 5 && model->spec.tile.gemm_tnp == 3);
    expect_file_holds(tile_file, "5 3 32 2 3 99999999.0\n");
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);

    /* A rate far below what it reaches now (the search ran on a busy
     * machine), and an older clenc's three numbers: both searched again,
     * and the file rewritten with a candidate and its rate. */
    static const char *const redo[] = {"5 3 32 2 3 0.001\n", "5 3 32\n"};
    for (size_t i = 0; i < 2; i++) {
        plant(tile_file, redo[i]);
        model = load_tuned(opt, tm, &ctx, &info);
        CU_ASSERT(model->spec.tile.gemm_tm != 5 ||
                  model->spec.tile.gemm_tnp != 3);
        unsigned char *text = test_read_file(tile_file, NULL);
        unsigned v[5];
        double rate = 0;
        CU_ASSERT(text && sscanf((const char *)text, "%u %u %u %u %u %lf",
                                 &v[0], &v[1], &v[2], &v[3], &v[4],
                                 &rate) == 6);
        CU_ASSERT(rate > 0.01);
        free(text);
        clenc_model_destroy(model);
        clenc_context_destroy(ctx);
    }
    free(tile_file);
    free(gemm_file);
}

/* CLENC_TUNE=fast measures on first use, persists, and the next load reads
 * the choice back instead of measuring: a choice planted in the files is
 * the one the next load takes. The tuned model computes the same. */
void test_tuning_measures_once_and_keeps_the_choice(void)
{
    /* The GEMM choice is under test: no override from outside. */
    char *gemm_env = getenv("CLENC_GEMM") ? strdup(getenv("CLENC_GEMM")) : NULL;
    unsetenv("CLENC_GEMM");
    char *cache = test_tmpdir("tune-cache");
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = cache;
    opt.tune = CLENC_TUNE_FAST;
    clenc_config c;
    test_config_small(&c);
    test_model tm;
    test_model_random(&tm, &c, 3);
    clenc_context *ctx;
    clenc_model_info info;
    clenc_model *model = load_tuned(&opt, &tm, &ctx, &info);
    CU_ASSERT(info.gemm == CLENC_GEMM_OWN || info.gemm == CLENC_GEMM_CLBLAST);
    /* The GEMM choice; and the tile, tuned only for the own kernel. */
    const size_t files = info.gemm == CLENC_GEMM_OWN ? 2 : 1;
    CU_ASSERT_EQUAL(test_list_dir(cache, ".txt", NULL), files);
    const clenc__tunables chosen = model->spec.tile;
    const clenc_gemm measured = info.gemm;
    printf("\n    chose %s, tile %ux%u, work-group %ux%u",
           info.gemm == CLENC_GEMM_OWN ? "own" : "clblast", chosen.gemm_tm,
           chosen.gemm_tnp, chosen.gemm_wg[0], chosen.gemm_wg[1]);
    /* Same answers as with tuning off. */
    int32_t ids[2 * 16], lengths[2] = {16, 9};
    for (size_t i = 0; i < 32; i++)
        ids[i] = (int32_t)(i * 7 % 50);
    float a[2 * 32], b[2 * 32];
    test_nan_floats(a, 64);
    test_nan_floats(b, 64);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, 2, 16, &s), CLENC_OK);
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 16, CLENC_POOL_MEAN, a),
                  CLENC_OK);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);

    plant_and_reload(&opt, &tm, cache, measured);

    opt.tune = CLENC_TUNE_OFF;
    ctx = test_context(&opt);
    model = test_model_upload(ctx, &tm);
    const clenc__tunables dflt = clenc__tile_default(ctx);
    CU_ASSERT_EQUAL(model->spec.tile.gemm_tm, dflt.gemm_tm);
    CU_ASSERT_EQUAL(model->spec.tile.gemm_tnp, dflt.gemm_tnp);
    CU_ASSERT(model->spec.tile.gemm_wg[0] == dflt.gemm_wg[0] &&
              model->spec.tile.gemm_wg[1] == dflt.gemm_wg[1]);
    ASSERT_STATUS(clenc_session_create(model, 2, 16, &s), CLENC_OK);
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, 2, 16, CLENC_POOL_MEAN, b),
                  CLENC_OK);
    double worst = 0;
    for (size_t i = 0; i < 64; i++)
        worst = test_worst(worst, fabs((double)a[i] - b[i]));
    printf("\n    tuned against untuned: max abs diff %.3g", worst);
    CU_ASSERT(worst <= 1e-5);
    /* A bad override is a clear error. */
    setenv("CLENC_GEMM_TILE", "banana", 1);
    clenc_model *bad = NULL;
    ASSERT_STATUS(clenc_model_create(ctx, &tm.config, &tm.weights, &bad),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("CLENC_GEMM_TILE='banana'");
    setenv("CLENC_GEMM_TILE", "6x1/0x8", 1);
    ASSERT_STATUS(clenc_model_create(ctx, &tm.config, &tm.weights, &bad),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("CLENC_GEMM_TILE='6x1/0x8'");
    setenv("CLENC_GEMM_TILE", "3x1/2x4", 1);
    ASSERT_STATUS(clenc_model_create(ctx, &tm.config, &tm.weights, &bad),
                  CLENC_OK);
    CU_ASSERT(bad && bad->spec.tile.gemm_tm == 3 &&
              bad->spec.tile.gemm_tnp == 1 && bad->spec.tile.gemm_wg[0] == 2 &&
              bad->spec.tile.gemm_wg[1] == 4);
    clenc_model_destroy(bad);
    unsetenv("CLENC_GEMM_TILE");
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
    if (gemm_env)
        setenv("CLENC_GEMM", gemm_env, 1);
    free(gemm_env);
    free(cache);
}

/* The workspace is linear in the tokens: attention streams its softmax, so
 * no seq x seq buffer exists (at 8 x 512 one would need 100 MB). */
void test_workspace_has_no_seq_by_seq_buffer(void)
{
    clenc_config c;
    test_config_small(&c);
    c.max_positions = 512;
    test_model tm;
    test_model_random(&tm, &c, 9);
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = test_model_upload(ctx, &tm);
    const unsigned seqs[] = {64, 512};
    uint64_t bytes[2];
    for (int i = 0; i < 2; i++) {
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, 8, seqs[i], &s), CLENC_OK);
        clenc_session_info info;
        ASSERT_STATUS(clenc_session_info_get(s, &info), CLENC_OK);
        bytes[i] = info.workspace_bytes;
        /* x, max(qkv, ffn), one more: 6 rows a token, plus alignment. */
        const uint64_t tokens = 8ull * seqs[i], row = c.hidden * 4ull;
        CU_ASSERT(info.workspace_bytes <= tokens * row * 6 + 8 * row + 4096);
        clenc_session_destroy(s);
    }
    CU_ASSERT(bytes[1] <= 8 * bytes[0] + 8192); /* 8x tokens, not 64x */
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
}
