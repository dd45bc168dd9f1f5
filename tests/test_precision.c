/* test_precision.c — models at fp16 and int8: choosing the precision, half conversion, weight bytes, whole passes against the reference and the PyTorch fixtures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "helpers.h"
#include "ref.h"
#include "testmodel.h"

/* ---------------------------------------------------------- half (host) */

static uint16_t compiler_half(float f)
{
    const _Float16 h = (_Float16)f;
    uint16_t bits;
    memcpy(&bits, &h, sizeof bits);
    return bits;
}

/* The runtime's conversion (base/half.c) against the compiler's, bit for
 * bit: every half widened, and floats narrowed around every boundary —
 * ties, subnormals, the top of the range — and at random. */
void test_half_conversion_matches_the_compiler(void)
{
    size_t bad = 0;
    for (uint32_t bits = 0; bits < 0x10000u; bits++) {
        _Float16 h;
        const uint16_t b16 = (uint16_t)bits;
        memcpy(&h, &b16, sizeof h);
        const float want = (float)h, got = clenc__half_to_float(b16);
        if (isnan(want) ? !isnan(got) : memcmp(&want, &got, sizeof got) != 0)
            bad++;
        /* The midpoint above each finite half is a tie; it and its
         * neighbours must round as the compiler rounds them. */
        if (isnan(want) || isinf(want))
            continue;
        const float next = nextafterf(want, INFINITY);
        const float probes[] = {want, next, nextafterf(want, -INFINITY)};
        for (size_t i = 0; i < 3; i++) {
            uint16_t mine;
            const int st = clenc__half_from_float(probes[i], &mine);
            const int over = fabsf(probes[i]) >= 65520.0f;
            if (st != (over ? -1 : 0) || (!over && mine != compiler_half(probes[i])))
                bad++;
        }
    }
    uint64_t rng = 5;
    for (int i = 0; i < 1000000; i++) {
        /* Magnitudes from 2^-30 to 2^17: subnormals, normals, overflow. */
        const float f = (float)(test_uniform(&rng, -1, 1) *
                                ldexp(1.0, (int)test_uniform(&rng, -30, 17)));
        uint16_t mine;
        const int st = clenc__half_from_float(f, &mine);
        const int over = fabsf(f) >= 65520.0f;
        if (st != (over ? -1 : 0) || (!over && mine != compiler_half(f)))
            bad++;
    }
    uint16_t h;
    CU_ASSERT_EQUAL(clenc__half_from_float(65504.0f, &h), 0);
    CU_ASSERT_EQUAL(h, 0x7bffu);
    CU_ASSERT_EQUAL(clenc__half_from_float(65519.99f, &h), 0);
    CU_ASSERT_EQUAL(clenc__half_from_float(65520.0f, &h), -1);
    CU_ASSERT_EQUAL(clenc__half_from_float(NAN, &h), -1);
    CU_ASSERT_EQUAL(clenc__half_from_float(0x1p-25f, &h), 0);
    CU_ASSERT_EQUAL(h, 0); /* a tie between 0 and the least subnormal */
    CU_ASSERT_EQUAL(bad, 0);
}

/* ------------------------------------------------------- the precision */

static clenc_precision loaded_precision(const clenc_options *opt,
                                        const test_model *tm)
{
    clenc_context *ctx = test_context(opt);
    clenc_model *m = test_model_upload(ctx, tm);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(m, &info), CLENC_OK);
    clenc_model_destroy(m);
    clenc_context_destroy(ctx);
    return info.precision;
}

/* The model's own choice wins over the context's option, which wins over
 * $CLENC_PRECISION; nothing set is fp32; a bad value names the choices. */
void test_precision_chosen_by_config_option_and_environment(void)
{
    clenc_config c;
    test_config_small(&c);
    test_model tm;
    test_model_random(&tm, &c, 3);
    clenc_options opt;
    test_options(&opt);
    unsetenv("CLENC_PRECISION");
    CU_ASSERT_EQUAL(loaded_precision(&opt, &tm), CLENC_PRECISION_FP32);
    setenv("CLENC_PRECISION", "fp16", 1);
    CU_ASSERT_EQUAL(loaded_precision(&opt, &tm), CLENC_PRECISION_FP16);
    opt.precision = CLENC_PRECISION_FP32;
    CU_ASSERT_EQUAL(loaded_precision(&opt, &tm), CLENC_PRECISION_FP32);
    tm.config.precision = CLENC_PRECISION_FP16;
    CU_ASSERT_EQUAL(loaded_precision(&opt, &tm), CLENC_PRECISION_FP16);
    setenv("CLENC_PRECISION", "fp8", 1);
    opt.precision = CLENC_PRECISION_DEFAULT;
    clenc_context *ctx = NULL;
    ASSERT_STATUS(clenc_context_create(&opt, &ctx), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("CLENC_PRECISION='fp8'");
    ASSERT_ERROR_MENTIONS("fp32, fp16 or int8");
    unsetenv("CLENC_PRECISION");
    CU_ASSERT_STRING_EQUAL(clenc_precision_name(CLENC_PRECISION_INT8), "int8");
    CU_ASSERT_PTR_NULL(clenc_precision_name((clenc_precision)7));
    test_model_free(&tm);
}

/* A weight beyond half's range is refused at load, naming the tensor and
 * the element, rather than stored as infinity. */
void test_precision_fp16_refuses_a_weight_beyond_half(void)
{
    clenc_config c;
    test_config_small(&c);
    c.precision = CLENC_PRECISION_FP16;
    test_model tm;
    test_model_random(&tm, &c, 3);
    ((float *)tm.layers[1].ffn_up_weight)[5] = 70000.0f;
    clenc_options opt;
    test_options(&opt);
    clenc_context *ctx = test_context(&opt);
    clenc_model *m = NULL;
    ASSERT_STATUS(clenc_model_create(ctx, &tm.config, &tm.weights, &m),
                  CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("layers[1].ffn_up");
    ASSERT_ERROR_MENTIONS("element 5");
    ASSERT_ERROR_MENTIONS("fp16");
    CU_ASSERT_PTR_NULL(m);
    /* The same weights load at fp32. */
    tm.config.precision = CLENC_PRECISION_FP32;
    ASSERT_STATUS(clenc_model_create(ctx, &tm.config, &tm.weights, &m),
                  CLENC_OK);
    clenc_model_destroy(m);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
}

/* CLBlast multiplies floats: a reduced precision with CLENC_GEMM=clblast
 * is refused, never quietly run with the own GEMM. */
void test_precision_reduced_with_clblast_is_unsupported(void)
{
    clenc_config c;
    test_config_small(&c);
    test_model tm;
    test_model_random(&tm, &c, 3);
    clenc_context *ctx =
        test_context_for(CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST);
    const clenc_precision reduced[] = {CLENC_PRECISION_FP16,
                                       CLENC_PRECISION_INT8};
    for (size_t i = 0; i < 2; i++) {
        clenc_model *m = NULL;
        tm.config.precision = reduced[i];
        ASSERT_STATUS(clenc_model_create(ctx, &tm.config, &tm.weights, &m),
                      CLENC_ERR_UNSUPPORTED);
        ASSERT_ERROR_MENTIONS("clblast");
        ASSERT_ERROR_MENTIONS(clenc_precision_name(reduced[i]));
        CU_ASSERT_PTR_NULL(m);
    }
    clenc_context_destroy(ctx);
    test_model_free(&tm);
}

/* Weight bytes at MiniLM's shape: the bounds, the embedding
 * tables included (fp16 <= 0.51 x fp32, int8 <= 0.27 x). */
void test_precision_weight_bytes_shrink(void)
{
    clenc_config c;
    clenc_config_init_bert(&c);
    c.vocab_size = 30522;
    c.hidden = 384;
    c.heads = 12;
    c.layers = 6;
    c.ffn = 1536;
    c.max_positions = 512;
    test_model tm;
    test_model_random(&tm, &c, 3);
    clenc_context *ctx = test_context_for(CLENC_VARIANT_CPU, CLENC_GEMM_OWN);
    const clenc_precision all[] = {CLENC_PRECISION_FP32, CLENC_PRECISION_FP16,
                                   CLENC_PRECISION_INT8};
    uint64_t bytes[3] = {0, 0, 0};
    for (size_t i = 0; i < 3; i++) {
        tm.config.precision = all[i];
        clenc_model *m = test_model_upload(ctx, &tm);
        clenc_model_info info;
        ASSERT_STATUS(clenc_model_info_get(m, &info), CLENC_OK);
        CU_ASSERT_EQUAL(info.precision, all[i]);
        CU_ASSERT_EQUAL(info.fp16_compute, 0);
        bytes[i] = info.weight_bytes;
        clenc_model_destroy(m);
    }
    printf("\n    weight bytes: fp32 %llu, fp16 %llu (%.3fx), int8 %llu (%.3fx)",
           (unsigned long long)bytes[0], (unsigned long long)bytes[1],
           (double)bytes[1] / (double)bytes[0], (unsigned long long)bytes[2],
           (double)bytes[2] / (double)bytes[0]);
    CU_ASSERT(bytes[1] <= 0.51 * (double)bytes[0]);
    CU_ASSERT(bytes[2] <= 0.27 * (double)bytes[0]);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
}

/* ------------------------------------------------------- whole passes */

/* Every matrix and table of tm rounded to half in place: an fp16 model of
 * these weights holds exactly them, so its pass must match ref.c's as
 * closely as fp32's does. Biases and LayerNorm stay float on the device
 * and are left alone. */
static void round_weights_to_half(test_model *tm)
{
    const clenc_config *c = &tm->config;
    const size_t h = c->hidden, f = c->ffn;
    struct {
        const float *p;
        size_t count;
    } all[4] = {{tm->weights.word_embeddings, (size_t)c->vocab_size * h},
                {tm->weights.position_embeddings,
                 c->positions == CLENC_POS_LEARNED ? c->max_positions * h : 0},
                {tm->weights.type_embeddings, c->type_vocab_size * h},
                {NULL, 0}};
    for (size_t i = 0; i < 3; i++)
        if (all[i].p)
            ref_round_half(all[i].p, all[i].count, (float *)all[i].p);
    for (unsigned i = 0; i < c->layers; i++) {
        const clenc_layer_weights *l = &tm->layers[i];
        const float *square[] = {l->q_weight, l->k_weight, l->v_weight,
                                 l->o_weight};
        for (size_t j = 0; j < 4; j++)
            ref_round_half(square[j], h * h, (float *)square[j]);
        ref_round_half(l->ffn_up_weight, f * h, (float *)l->ffn_up_weight);
        ref_round_half(l->ffn_down_weight, h * f, (float *)l->ffn_down_weight);
    }
}

static double pass_diff(clenc_context *ctx, const test_model *tm,
                        const int32_t *ids, const int32_t *types,
                        const int32_t *lengths, unsigned batch, unsigned seq,
                        const float *want)
{
    const size_t h = tm->config.hidden, n = (size_t)batch * seq * h;
    clenc_model *model = test_model_upload(ctx, tm);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.fp16_compute, ctx->fp16_compute ==
                                           CLENC_FP16_COMPUTE_FORCE &&
                                       info.precision == CLENC_PRECISION_FP16);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, batch, seq, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    float *got = malloc(n * sizeof *got);
    CU_ASSERT_FATAL(got != NULL);
    test_nan_floats(got, n);
    ASSERT_STATUS(clenc_encode(s, ids, types, lengths, batch, seq,
                               CLENC_POOL_NONE, got),
                  CLENC_OK);
    double worst = 0;
    for (size_t b = 0; b < batch; b++) {
        for (size_t i = 0; i < (size_t)lengths[b] * h; i++) {
            const size_t at = b * seq * h + i;
            worst = test_worst(worst, fabs((double)got[at] - want[at]));
        }
        for (size_t i = (size_t)lengths[b] * h; i < seq * h; i++)
            worst = test_worst(worst, fabs((double)got[b * seq * h + i]));
    }
    free(got);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    return worst;
}

/* The whole-pass case of the fp16 tests: a small model of half-exact
 * weights at fp16 and a batch of four sequences of awkward lengths. */
enum { HC_BATCH = 4, HC_SEQ = 65, HC_TOKENS = 7 + 1 + 65 + 13 };
static const int32_t hc_lengths[HC_BATCH] = {7, 1, 65, 13};
typedef struct half_case {
    clenc_config c;
    test_model tm;
    int32_t ids[HC_BATCH * HC_SEQ], types[HC_BATCH * HC_SEQ];
} half_case;

static void half_case_open(half_case *hc)
{
    test_config_small(&hc->c);
    hc->c.precision = CLENC_PRECISION_FP16;
    test_model_random(&hc->tm, &hc->c, 1234);
    round_weights_to_half(&hc->tm);
    for (size_t i = 0; i < HC_BATCH * HC_SEQ; i++) {
        hc->ids[i] = (int32_t)((i * 31 + 7) % hc->c.vocab_size);
        hc->types[i] = (int32_t)((i / 3) % 2);
    }
}

/* ref.c's pass over the case, [batch][seq][hidden] with zero padding,
 * its activations rounded to half or not (malloc'd). */
static float *half_case_reference(const half_case *hc, int rounded)
{
    const size_t h = hc->c.hidden;
    double *ref = malloc(sizeof *ref * HC_TOKENS * h);
    float *want = calloc((size_t)HC_BATCH * HC_SEQ * h, sizeof *want);
    CU_ASSERT_FATAL(ref && want);
    ref_set_half_activations(rounded);
    ref_encoder(&hc->c, &hc->tm.weights, hc->ids, hc->types, hc_lengths,
                HC_BATCH, HC_SEQ, ref);
    ref_set_half_activations(0);
    for (size_t b = 0, row = 0; b < HC_BATCH; b++)
        for (size_t p = 0; p < (size_t)hc_lengths[b]; p++, row++)
            for (size_t i = 0; i < h; i++)
                want[(b * HC_SEQ + p) * h + i] = (float)ref[row * h + i];
    free(ref);
    return want;
}

/* An fp16 model of half-exact weights against ref.c's pass over the same
 * weights, both kernel families: the halves are read as what they are.
 * Measured 1.19e-6 in both (AMD EPYC, PoCL 3.1); bound about four times. */
void test_precision_fp16_pass_matches_reference(void)
{
    half_case hc;
    half_case_open(&hc);
    float *want = half_case_reference(&hc, 0);
    const clenc_variant families[] = {CLENC_VARIANT_CPU, CLENC_VARIANT_GPU};
    for (size_t v = 0; v < 2; v++) {
        clenc_context *ctx = test_context_for(families[v], CLENC_GEMM_OWN);
        const double d = pass_diff(ctx, &hc.tm, hc.ids, hc.types, hc_lengths,
                                   HC_BATCH, HC_SEQ, want);
        printf("\n    fp16 %s vs ref.c on half weights: max abs diff %.3g",
               families[v] == CLENC_VARIANT_GPU ? "gpu" : "cpu", d);
        CU_ASSERT(d <= 5e-6);
        clenc_context_destroy(ctx);
    }
    free(want);
    test_model_free(&hc.tm);
}

/* The PyTorch fixtures (float64 references of the fp32 weights) at fp16
 * and int8: what each costs, every token. Measured (AMD EPYC, PoCL 3.1):
 * fp16 bert_tiny 2.01e-3, vanilla_post 2.30e-3, vanilla_pre_tanh 1.08e-3;
 * int8 2.45e-2, 6.01e-2, 3.13e-2 (random weights: no outlier channels for
 * the split to catch). Bounds about four times the worst. */
#define FIXTURE_FP16_ATOL 1e-2
#define FIXTURE_INT8_ATOL 0.25
void test_precision_fixtures_at_each_precision(void)
{
    static const char *const names[] = {"bert_tiny", "vanilla_post",
                                        "vanilla_pre_tanh"};
    static const struct {
        clenc_precision precision;
        double atol;
    } precisions[] = {{CLENC_PRECISION_FP16, FIXTURE_FP16_ATOL},
                      {CLENC_PRECISION_INT8, FIXTURE_INT8_ATOL}};
    for (size_t p = 0; p < 2; p++)
        for (size_t i = 0; i < 3; i++) {
            test_model tm;
            test_model_fixture(&tm, names[i]);
            tm.config.precision = precisions[p].precision;
            const size_t n = (size_t)tm.batch * tm.seq * tm.config.hidden;
            const float *want = test_fixture_tensor(&tm, "expected.hidden", n);
            clenc_context *ctx =
                test_context_for(CLENC_VARIANT_CPU, CLENC_GEMM_OWN);
            const double d = pass_diff(ctx, &tm, tm.ids,
                                       tm.config.type_vocab_size ? tm.type_ids
                                                                 : NULL,
                                       tm.lengths, tm.batch, tm.seq, want);
            printf("\n    %s at %s vs PyTorch fp32: max abs diff %.3g",
                   names[i], clenc_precision_name(precisions[p].precision), d);
            CU_ASSERT(d <= precisions[p].atol);
            clenc_context_destroy(ctx);
            test_model_free(&tm);
        }
}

/* A context whose FP16 models compute in half on any device. */
static clenc_context *half_context(clenc_variant variant)
{
    clenc_options opt;
    test_options(&opt);
    opt.variant = variant;
    opt.gemm = CLENC_GEMM_OWN;
    opt.fp16_compute = CLENC_FP16_COMPUTE_FORCE;
    return test_context(&opt);
}

/* Half activations (CLENC_FP16_COMPUTE=force): against ref.c's pass with
 * every op's output rounded to half where the kernels store it, both
 * families, every token and pooled, normalised vectors. Measured (AMD
 * EPYC, PoCL 3.1): every token 3.91e-3 (the unrounded reference 4.64e-3),
 * pooled 1.68e-4. 3.91e-3 is one step of half between 4 and 8, where
 * LayerNorm's outputs reach: the device's float sums and the reference's
 * double sums now and then round to neighbouring halves, and the step
 * travels on. Bounds: two such steps; pooled vectors about four times. */
void test_precision_fp16_compute_matches_rounded_reference(void)
{
    half_case hc;
    half_case_open(&hc);
    const size_t h = hc.c.hidden;
    const unsigned batch = HC_BATCH, seq = HC_SEQ;
    const int32_t *lengths = hc_lengths;
    float *want[2] = {half_case_reference(&hc, 0), half_case_reference(&hc, 1)};
    const clenc_variant families[] = {CLENC_VARIANT_CPU, CLENC_VARIANT_GPU};
    for (size_t v = 0; v < 2; v++) {
        clenc_context *ctx = half_context(families[v]);
        const double d[2] = {
            pass_diff(ctx, &hc.tm, hc.ids, hc.types, lengths, batch, seq, want[0]),
            pass_diff(ctx, &hc.tm, hc.ids, hc.types, lengths, batch, seq, want[1])};
        printf("\n    fp16 compute %s: max abs diff %.3g to ref.c rounding "
               "as the device, %.3g to ref.c in double",
               families[v] == CLENC_VARIANT_GPU ? "gpu" : "cpu", d[1], d[0]);
        CU_ASSERT(d[1] <= 8e-3);
        /* Pooled, normalised: pool and l2norm on halves, widened. */
        clenc_model *model = test_model_upload(ctx, &hc.tm);
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, batch, seq, &s), CLENC_OK);
        float got[4 * 32];
        test_nan_floats(got, batch * h);
        ASSERT_STATUS(clenc_encode(s, hc.ids, hc.types, lengths, batch, seq,
                                   CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE, got),
                      CLENC_OK);
        double worst = 0;
        for (size_t b = 0; b < batch; b++) {
            double mean[32] = {0}, norm = 0;
            for (size_t p = 0; p < (size_t)lengths[b]; p++)
                for (size_t i = 0; i < h; i++)
                    mean[i] += want[1][(b * seq + p) * h + i] / lengths[b];
            for (size_t i = 0; i < h; i++)
                norm += mean[i] * mean[i];
            for (size_t i = 0; i < h; i++)
                worst = test_worst(worst, fabs(got[b * h + i] -
                                                mean[i] / sqrt(norm)));
        }
        printf(", pooled %.3g", worst);
        CU_ASSERT(worst <= 7e-4);
        clenc_session_destroy(s);
        clenc_model_destroy(model);
        clenc_context_destroy(ctx);
    }
    free(want[0]);
    free(want[1]);
    test_model_free(&hc.tm);
}

/* The PyTorch fixtures computed in half: what half weights and
 * activations cost against fp32 weights and float64 arithmetic. Measured
 * (AMD EPYC, PoCL 3.1), every token: bert_tiny 4.56e-3, vanilla_post
 * 3.82e-3, vanilla_pre_tanh 3.80e-3; the bound about four times. */
#define FIXTURE_HALF_ATOL 2e-2
void test_precision_fixtures_with_fp16_compute(void)
{
    static const char *const names[] = {"bert_tiny", "vanilla_post",
                                        "vanilla_pre_tanh"};
    for (size_t i = 0; i < 3; i++) {
        test_model tm;
        test_model_fixture(&tm, names[i]);
        tm.config.precision = CLENC_PRECISION_FP16;
        const size_t n = (size_t)tm.batch * tm.seq * tm.config.hidden;
        const float *want = test_fixture_tensor(&tm, "expected.hidden", n);
        clenc_context *ctx = half_context(CLENC_VARIANT_CPU);
        const double d = pass_diff(ctx, &tm, tm.ids,
                                   tm.config.type_vocab_size ? tm.type_ids
                                                             : NULL,
                                   tm.lengths, tm.batch, tm.seq, want);
        printf("\n    %s, fp16 compute vs PyTorch fp32: max abs diff %.3g",
               names[i], d);
        CU_ASSERT(d <= FIXTURE_HALF_ATOL);
        clenc_context_destroy(ctx);
        test_model_free(&tm);
    }
}
