/* test_op_qgemm.c — the INT8 GEMM (quant.cl, qgemm.cl, runtime/ops/qgemm.c) against tests/ref.c: activations quantised as the reference quantises them (outlier apart), int32 sums bit for bit, every epilogue flag, both families, every multiply path and tile. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "oprig.h"
#include "ref.h"

/* Output error relative to Σ|qa·qw|·sa·sw + |bias| + |residual|, with the
 * integer sums exact: only the float epilogue rounds (sa·sw, the product,
 * the bias; GELU's erf within 3.8e-7). Measured at most 1.4e-7 on PoCL,
 * both families, every flag and tile (built with -DQGEMM_RTOL=0, the test
 * prints every case's error). */
#ifndef QGEMM_RTOL
#define QGEMM_RTOL 1e-6
#endif

enum { DATA_RANDOM, DATA_POW2 };

typedef struct qcase {
    unsigned m, n, k, flags;
    int alias; /* residual is the output buffer */
    int data;  /* DATA_RANDOM (with rows of every special kind), DATA_POW2 */
} qcase;

/* Random rows whose magnitudes differ from row to row (so do the scales),
 * and, from row 1 on, one of each special kind: zeros, exact half-steps
 * (ties, which go to even), a row below Q8_TINY, one holding an infinity. */
static float *random_rows(uint64_t *rng, unsigned rows, unsigned cols,
                          double range, int special)
{
    float *x = malloc((size_t)rows * cols * sizeof *x);
    CU_ASSERT_FATAL(x != NULL);
    for (unsigned r = 0; r < rows; r++)
        for (unsigned c = 0; c < cols; c++)
            x[(size_t)r * cols + c] =
                (float)(test_uniform(rng, -range, range) * ldexp(1, (int)r % 5 - 2));
    if (!special)
        return x;
    for (unsigned c = 0; c < cols; c++) {
        if (rows > 1)
            x[cols + c] = 0.0f;
        if (rows > 2) /* amax 127: inv = 1 and q = rint(x), ties included */
            x[2 * cols + c] = c == 0 ? 127.0f : (float)((int)c % 9 - 4) + 0.5f;
        if (rows > 3)
            x[3 * cols + c] = 1e-25f * (float)(c % 3);
    }
    if (rows > 5)
        x[5 * cols + cols / 2] = INFINITY;
    return x;
}

/* Integers in -127..127 times 2^e(row), each row with two ±127 (the
 * activations' outlier is one, their scale the other's): every per-row
 * scale is a power of two, so quantisation is exact and so is the
 * dequantisation of the int32 sum. */
static float *pow2_rows(uint64_t *rng, unsigned rows, unsigned cols,
                        int e0, int e_span)
{
    float *x = malloc((size_t)rows * cols * sizeof *x);
    CU_ASSERT_FATAL(x != NULL);
    for (unsigned r = 0; r < rows; r++) {
        const int e = e0 - (int)(r % (unsigned)e_span);
        for (unsigned c = 0; c < cols; c++) {
            int v = (int)floor(test_uniform(rng, -127, 128));
            if (c == (r * 7) % cols || c == (r * 7 + 3) % cols)
                v = (r + c) % 2 ? -127 : 127;
            x[(size_t)r * cols + c] = (float)ldexp(v > 127 ? 127 : v, e);
        }
    }
    return x;
}

static int division_known_exact(const oprig *r)
{
    /* quant.cl: PoCL on x86 divides with vdivss, Oclgrind in host IEEE
     * arithmetic (both measured); elsewhere the division may be 2.5 ulp. */
    const char *p = r->ctx->device.info.platform;
    return strstr(p, "Portable Computing Language") || strstr(p, "Oclgrind");
}

/* The device's quantised activations against ref_q8_act_rows(a): each
 * row's info (scale, outlier value and column) bit for bit, q exactly
 * where the division is known to be correctly rounded, else within one
 * step; the padding zero. Returns them as int8 (qa) and the info (sa, 4
 * floats a row) for the GEMM reference. */
static void check_quantized(oprig *r, clenc__launcher *L, const float *a,
                            unsigned m, unsigned k, const char *what,
                            int8_t *qa, float *sa)
{
    const size_t stride = clenc__q8_row_bytes(k) / sizeof(int16_t);
    const size_t info = CLENC__Q8_INFO;
    int16_t *got = malloc(m * stride * sizeof *got);
    float *scales = malloc(m * info * sizeof *scales);
    int8_t *qref = malloc((size_t)m * k);
    float *sref = malloc(m * info * sizeof *sref);
    CU_ASSERT_FATAL(got && scales && qref && sref);
    ASSERT_STATUS(clenc__buffer_download(L->queue, L->quant_rows, 0,
                                         m * stride * sizeof *got, got),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_download(L->queue, L->quant_scales, 0,
                                         m * info * sizeof *scales, scales),
                  CLENC_OK);
    ref_q8_act_rows(a, m, k, qref, sref);
    size_t bad_scale = 0, one_step = 0, worse = 0, bad_pad = 0;
    for (unsigned i = 0; i < m; i++) {
        const float *gi = scales + i * info, *wi = sref + i * info;
        const int poisoned = isnan(wi[0]);
        if (poisoned ? !isnan(gi[0])
                     : memcmp(gi, wi, 3 * sizeof *gi) != 0) {
            int32_t gc, wc;
            memcpy(&gc, &gi[2], sizeof gc);
            memcpy(&wc, &wi[2], sizeof wc);
            if (!bad_scale++)
                fprintf(stderr, "\n    %s: row %u scale %.9g, outlier %.9g at "
                                "%d; want %.9g, %.9g at %d\n",
                        what, i, gi[0], gi[1], (int)gc, wi[0], wi[1], (int)wc);
        }
        /* ref_qgemm reads the weight at the outlier's column: a column out
         * of range (scratch quant.cl never wrote) takes the reference's
         * info instead, the mismatch already counted. */
        int32_t col;
        memcpy(&col, &gi[2], sizeof col);
        memcpy(sa + i * info, col >= 0 && (unsigned)col < k ? gi : wi,
               info * sizeof *gi);
        for (size_t c = 0; c < stride; c++) {
            const int v = got[i * stride + c];
            if (c >= k) {
                bad_pad += v != 0;
                continue;
            }
            qa[(size_t)i * k + c] = (int8_t)(v < -127 ? -127 : v > 127 ? 127 : v);
            if (poisoned) /* q is not defined for a row the scale poisons */
                continue;
            const int d = abs(v - qref[(size_t)i * k + c]);
            if (d > 1 && !worse++)
                fprintf(stderr, "\n    %s: q[%u][%zu] = %d, want %d\n", what,
                        i, c, v, qref[(size_t)i * k + c]);
            one_step += d == 1;
        }
    }
    const int exact = division_known_exact(r);
    if (one_step)
        fprintf(stderr, "\n    %s: %zu of %zu quantised values one step "
                        "from the reference%s\n",
                what, one_step, (size_t)m * k,
                exact ? " where the division is correctly rounded"
                      : " (this device's division is not correctly rounded)");
    CU_ASSERT_EQUAL(bad_scale, 0);
    CU_ASSERT_EQUAL(worse, 0);
    CU_ASSERT_EQUAL(bad_pad, 0);
    if (exact)
        CU_ASSERT_EQUAL(one_step, 0);
    free(got);
    free(scales);
    free(qref);
    free(sref);
}

/* Scratch of the check's own, garbage first: int16 0x5a5a (23130, far
 * outside -127..127) rows and NaN scales. The session's goes back after. */
static void scratch_swap(oprig *r, clenc__launcher *L, unsigned m, unsigned k,
                         cl_mem saved[2])
{
    const size_t bytes = m * clenc__q8_row_bytes(k);
    unsigned char *garbage = malloc(bytes);
    const size_t info = (size_t)m * CLENC__Q8_INFO;
    float *nans = malloc(info * sizeof *nans);
    CU_ASSERT_FATAL(garbage && nans);
    memset(garbage, 0x5a, bytes);
    test_nan_floats(nans, info);
    saved[0] = L->quant_rows;
    saved[1] = L->quant_scales;
    ASSERT_STATUS(clenc__buffer_create(r->ctx, bytes, CL_MEM_READ_WRITE,
                                       "test", &L->quant_rows),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_create(r->ctx, info * sizeof *nans,
                                       CL_MEM_READ_WRITE, "test",
                                       &L->quant_scales),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(L->queue, L->quant_rows, 0, bytes,
                                       garbage),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(L->queue, L->quant_scales, 0,
                                       info * sizeof *nans, nans),
                  CLENC_OK);
    free(garbage);
    free(nans);
}

static void scratch_restore(oprig *r, clenc__launcher *L, cl_mem saved[2])
{
    clenc__buffer_release(r->ctx, L->quant_rows);
    clenc__buffer_release(r->ctx, L->quant_scales);
    L->quant_rows = saved[0];
    L->quant_scales = saved[1];
}

/* Got against want at QGEMM_RTOL of scale; where want is NaN (a poisoned
 * row), got must be NaN too. With exact, got must equal want bit for bit. */
static void compare(const char *what, const double *got, const double *want,
                    const double *scale, size_t count, int exact)
{
    double worst = 0;
    size_t at = 0, missing_nan = 0;
    for (size_t i = 0; i < count; i++) {
        if (isnan(want[i])) {
            missing_nan += !isnan(got[i]);
            continue;
        }
        const double err = exact ? (got[i] == want[i] ? 0 : INFINITY)
                                 : fabs(got[i] - want[i]) /
                                       (scale[i] > 0 ? scale[i] : 1e-30);
        if (isnan(err) || err > worst) {
            worst = isnan(err) ? INFINITY : err;
            at = i;
        }
    }
    if (!(worst <= QGEMM_RTOL) || missing_nan)
        fprintf(stderr,
                "\n    %s: relative error %.3g at %zu (got %.9g, want %.9g);"
                " %zu poisoned outputs not NaN\n",
                what, worst, at, got[at], want[at], missing_nan);
    CU_ASSERT(worst <= QGEMM_RTOL);
    CU_ASSERT_EQUAL(missing_nan, 0);
}

/* One INT8 GEMM through clenc__op_gemm on launcher L, checked stage by
 * stage: the quantised activations, the output, the launch records. */
static void qcheck(oprig *r, clenc__launcher *L, const qcase *q,
                   const char *path)
{
    uint64_t rng = 1000003u * q->m + 1009u * q->n + q->k + q->flags;
    const unsigned m = q->m, n = q->n, k = q->k;
    const int pow2 = q->data == DATA_POW2;
    float *a = pow2 ? pow2_rows(&rng, m, k, 0, 7)
                    : random_rows(&rng, m, k, 2, 1);
    float *w = pow2 ? pow2_rows(&rng, n, k, -4, 5)
                    : random_rows(&rng, n, k, 0.5, 0);
    float *bias = malloc(n * sizeof *bias);
    double *res = oprig_random(&rng, (size_t)m * n, -1, 1);
    int8_t *qa = calloc((size_t)m * k, 1), *qw = malloc((size_t)n * k);
    float *sa = malloc(m * CLENC__Q8_INFO * sizeof *sa),
          *sw = malloc(n * sizeof *sw);
    int64_t *acc = malloc((size_t)m * n * sizeof *acc);
    double *want = malloc((size_t)m * n * sizeof *want);
    double *scale = malloc((size_t)m * n * sizeof *scale);
    CU_ASSERT_FATAL(bias && qa && qw && sa && sw && acc && want && scale);
    for (unsigned j = 0; j < n; j++)
        bias[j] = (float)test_uniform(&rng, -1, 1);

    clenc__matrix mat;
    ASSERT_STATUS(clenc__matrix_upload(r->ctx, CLENC_GEMM_OWN,
                                       CLENC_PRECISION_INT8, w, bias, n, k,
                                       "qgemm test", &mat, NULL),
                  CLENC_OK);
    CU_ASSERT_EQUAL(mat.precision, CLENC_PRECISION_INT8);
    CU_ASSERT(mat.scales != NULL);
    cl_mem saved[2];
    scratch_swap(r, L, m, k, saved);
    double *a64 = malloc((size_t)m * k * sizeof *a64);
    CU_ASSERT_FATAL(a64 != NULL);
    for (size_t i = 0; i < (size_t)m * k; i++)
        a64[i] = a[i];
    cl_mem da = oprig_put(r, a64, (size_t)m * k);
    cl_mem dres = oprig_put(r, res, (size_t)m * n);
    cl_mem dout = q->alias ? dres : oprig_put_nan(r, (size_t)m * n);
    clenc__launches_reset(L);
    ASSERT_STATUS(clenc__op_gemm(L, &mat, da, m, dout,
                                 (q->flags & CLENC__EPI_RESIDUAL) ? dres : NULL,
                                 q->flags),
                  CLENC_OK);
    clFinish(L->queue);

    char what[160];
    int len = snprintf(what, sizeof what, "qgemm m=%u n=%u k=%u flags=%u%s %s/%s",
                       m, n, k, q->flags, q->alias ? " in place" : "",
                       oprig_family(r), path);
    if (r->variant != CLENC_VARIANT_GPU && len > 0 && (size_t)len < sizeof what)
        snprintf(what + len, sizeof what - (size_t)len, " tile %ux%u/%ux%u",
                 L->spec.tile.gemm_tm, L->spec.tile.gemm_tnp,
                 L->spec.tile.gemm_wg[0], L->spec.tile.gemm_wg[1]);
    check_quantized(r, L, a, m, k, what, qa, sa);
    ref_q8_rows(w, n, k, qw, sw);
    ref_qgemm(qa, sa, qw, sw, bias, res, q->flags, r->tm.config.activation, m,
              n, k, acc, want, scale);
    double *got = oprig_get(r, dout, (size_t)m * n);
    compare(what, got, want, scale, (size_t)m * n, pow2);
    if (pow2) { /* the test's own premise: every sum is exact in float */
        int64_t largest = 0;
        for (size_t i = 0; i < (size_t)m * n; i++)
            largest = llabs(acc[i]) > largest ? llabs(acc[i]) : largest;
        CU_ASSERT(largest < (1 << 24));
        CU_ASSERT(largest > 0);
    }

    /* Two launches: the quantisation, then the GEMM, of the rig's family. */
    CU_ASSERT_FATAL(L->launch_count == 2);
    const clenc__launch *lq = &L->launches[0], *lg = &L->launches[1];
    CU_ASSERT_EQUAL(lq->kernel, CLENC__K_QUANTIZE);
    CU_ASSERT_EQUAL(lg->kernel, CLENC__K_QGEMM);
    CU_ASSERT_EQUAL(lq->work.m, m);
    CU_ASSERT_EQUAL(lg->work.m, m);
    CU_ASSERT_EQUAL(lg->work.n, n);
    CU_ASSERT_EQUAL(lg->work.flops, 2.0 * m * n * k);
    CU_ASSERT_EQUAL(lq->gpu, r->variant == CLENC_VARIANT_GPU);
    CU_ASSERT_EQUAL(lg->gpu, r->variant == CLENC_VARIANT_GPU);
    CU_ASSERT_EQUAL(lg->clblast, 0);

    scratch_restore(r, L, saved);
    clenc__matrix_release(r->ctx, &mat);
    clenc__buffer_release(r->ctx, da);
    clenc__buffer_release(r->ctx, dres);
    if (!q->alias)
        clenc__buffer_release(r->ctx, dout);
    free(got);
    free(a64);
    free(a);
    free(w);
    free(bias);
    free(res);
    free(qa);
    free(qw);
    free(sa);
    free(sw);
    free(acc);
    free(want);
    free(scale);
}

static void qrig_open(oprig *r, int minilm, clenc_variant v)
{
    clenc_config c;
    if (minilm)
        oprig_minilm_config(&c);
    else
        oprig_tiny_config(&c);
    c.precision = CLENC_PRECISION_INT8;
    oprig_open(r, &c, v, CLENC_GEMM_OWN);
    CU_ASSERT_FATAL(r->model->spec.precision == CLENC_PRECISION_INT8);
    CU_ASSERT_FATAL(r->s->launcher.kernels[CLENC__K_QUANTIZE] != NULL);
    CU_ASSERT_FATAL(r->s->launcher.kernels[CLENC__K_QGEMM] != NULL);
}

/* The model's shapes: hidden x hidden, 3 hidden x hidden (QKV), FFN x
 * hidden (up) and hidden x FFN (down). Tiny: FFN 37 is odd (k past the
 * last pair) and no multiple of a panel. */
static size_t model_shapes(const oprig *r, unsigned shapes[4][2])
{
    const unsigned h = r->tm.config.hidden, f = r->tm.config.ffn;
    const unsigned s[4][2] = {{h, h}, {3 * h, h}, {f, h}, {h, f}};
    memcpy(shapes, s, sizeof s);
    return 4;
}

static void sweep(oprig *r, clenc__launcher *L, const unsigned *ms, size_t nm,
                  const unsigned *flag_list, size_t nf, int data,
                  const char *path)
{
    unsigned shapes[4][2];
    const size_t ns = model_shapes(r, shapes);
    for (size_t i = 0; i < nm; i++)
        for (size_t s = 0; s < ns; s++)
            for (size_t f = 0; f < nf; f++)
                for (int alias = 0; alias < 2; alias++) {
                    if (alias && !(flag_list[f] & CLENC__EPI_RESIDUAL))
                        continue;
                    const qcase q = {ms[i], shapes[s][0], shapes[s][1],
                                     flag_list[f], alias, data};
                    qcheck(r, L, &q, path);
                }
}

static const unsigned every_flag[] = {0, 1, 2, 3, 4, 5, 6, 7};
static const unsigned layer_flags[] = {
    CLENC__EPI_BIAS, CLENC__EPI_BIAS | CLENC__EPI_ACT,
    CLENC__EPI_BIAS | CLENC__EPI_RESIDUAL};

/* The quantisation stage is checked inside every qcheck; this test gives
 * it the widest spread of row lengths: k from 32 to 1536 in both families,
 * with zero, tie, tiny and infinite rows. */
void test_qgemm_quantize_matches_reference(void)
{
    static const unsigned ms[] = {1, 7, 65, 300};
    for (int family = 0; family < 2; family++) {
        const clenc_variant v = family ? CLENC_VARIANT_GPU : CLENC_VARIANT_CPU;
        oprig r;
        qrig_open(&r, 1, v);
        const unsigned ks[] = {32, 37, 384, 1536};
        for (size_t i = 0; i < 4; i++)
            for (size_t j = 0; j < 4; j++) {
                const qcase q = {ms[j], 16, ks[i], 0, 0, DATA_RANDOM};
                qcheck(&r, &r.s->launcher, &q, "default");
            }
        oprig_close(&r);
    }
}

void test_qgemm_accumulators_are_exact(void)
{
    static const unsigned ms[] = {1, 7, 65, 300};
    static const unsigned no_flags[] = {0};
    for (int family = 0; family < 2; family++) {
        const clenc_variant v = family ? CLENC_VARIANT_GPU : CLENC_VARIANT_CPU;
        oprig r;
        qrig_open(&r, 0, v);
        sweep(&r, &r.s->launcher, ms, 4, no_flags, 1, DATA_POW2, "default");
        oprig_close(&r);
        qrig_open(&r, 1, v);
        sweep(&r, &r.s->launcher, ms + 1, family ? 1 : 3, no_flags, 1,
              DATA_POW2, "default");
        oprig_close(&r);
    }
}

void test_qgemm_every_flag_matches_reference(void)
{
    static const unsigned ms[] = {1, 7, 65, 300};
    for (int family = 0; family < 2; family++) {
        const clenc_variant v = family ? CLENC_VARIANT_GPU : CLENC_VARIANT_CPU;
        oprig r;
        qrig_open(&r, 0, v);
        sweep(&r, &r.s->launcher, ms, 4, every_flag, 8, DATA_RANDOM,
              "default");
        oprig_close(&r);
        qrig_open(&r, 1, v);
        sweep(&r, &r.s->launcher, ms + 1, 3, layer_flags, 3, DATA_RANDOM,
              "default");
        oprig_close(&r);
    }
}

/* A launcher of the rig's spec with other tiles and QGEMM_PATH: 1 if its
 * programs built. The x86 paths exist for clang on x86 CPUs: they are
 * forced on PoCL only (elsewhere the build would fail, and Oclgrind's API
 * check reports every failed build), and where PoCL's target lacks one,
 * qgemm.cl's #error says so: that path does not exist there (said, and
 * 0). Any other failure fails the test. */
static int open_variant(oprig *r, const char *extra, unsigned tm,
                        unsigned tnp, unsigned wg0, unsigned wg1,
                        clenc__launcher *L)
{
    if (extra && strcmp(extra, "-DQGEMM_PATH=0") != 0 &&
        !strstr(r->ctx->device.info.platform, "Portable Computing Language")) {
        fprintf(stderr, "\n    qgemm %s: not tried off PoCL (x86 only)\n",
                extra);
        return 0;
    }
    clenc__spec spec = r->model->spec;
    spec.tile.gemm_tm = tm;
    spec.tile.gemm_tnp = tnp;
    spec.tile.gemm_wg[0] = wg0;
    spec.tile.gemm_wg[1] = wg1;
    cl_program programs[CLENC__FILE_COUNT];
    const clenc_status st = clenc__programs_get(
        r->ctx, &spec, (1u << CLENC__F_QUANT) | (1u << CLENC__F_QGEMM), extra,
        programs, NULL);
    if (st != CLENC_OK && strstr(clenc_last_error(), "needs clang and an")) {
        fprintf(stderr, "\n    qgemm %s: not on this device's compiler "
                        "(qgemm.cl: needs clang and an x86 target)\n",
                extra);
        return 0;
    }
    ASSERT_STATUS(st, CLENC_OK);
    if (st != CLENC_OK)
        return 0;
    ASSERT_STATUS(clenc__launcher_open(L, r->ctx, &spec, programs, NULL), CLENC_OK);
    return 1;
}

/* Each multiply path of the cpu family (the target's default, and each
 * forced) under tiles the tuner may pick and odd ones, with work-groups
 * that divide nothing. */
void test_qgemm_every_path_and_tile_matches_reference(void)
{
    static const struct {
        unsigned tm, tnp, wg0, wg1;
    } tiles[] = {{4, 4, 1, 1}, {6, 1, 1, 4}, {1, 1, 1, 1}, {5, 3, 3, 5},
                 {8, 2, 1, 1}, {2, 8, 1, 1}, {6, 4, 1, 1}, {3, 2, 7, 1}};
    static const char *const paths[] = {NULL, "-DQGEMM_PATH=512",
                                        "-DQGEMM_PATH=256", "-DQGEMM_PATH=0"};
    static const unsigned ms[] = {1, 65, 300};
    static const unsigned flags[] = {
        CLENC__EPI_BIAS | CLENC__EPI_ACT, CLENC__EPI_BIAS | CLENC__EPI_RESIDUAL};
    oprig r;
    qrig_open(&r, 0, CLENC_VARIANT_CPU);
    for (size_t p = 0; p < sizeof paths / sizeof paths[0]; p++)
        for (size_t t = 0; t < sizeof tiles / sizeof tiles[0]; t++) {
            /* Every tile on the default path; three on the forced ones. */
            if (paths[p] && t >= 3)
                break;
            clenc__launcher L;
            if (!open_variant(&r, paths[p], tiles[t].tm, tiles[t].tnp,
                              tiles[t].wg0, tiles[t].wg1, &L))
                break;
            sweep(&r, &L, ms, 3, flags, 2, DATA_RANDOM,
                  paths[p] ? paths[p] + 2 : "default");
            const qcase exact = {65, 37, 37, 0, 0, DATA_POW2};
            qcheck(&r, &L, &exact, paths[p] ? paths[p] + 2 : "default");
            clenc__launcher_close(&L);
        }
    oprig_close(&r);
}

void test_qgemm_refuses_missing_scratch(void)
{
    oprig r;
    qrig_open(&r, 0, CLENC_VARIANT_CPU);
    clenc__launcher *L = &r.s->launcher;
    const clenc__matrix *w = &r.model->layers[0].o;
    CU_ASSERT_EQUAL(w->precision, CLENC_PRECISION_INT8);
    cl_mem a = oprig_put_nan(&r, 4 * w->k), out = oprig_put_nan(&r, 4 * w->n);
    const cl_mem rows = L->quant_rows, scales = L->quant_scales;
    const size_t launches = L->launch_count;
    L->quant_rows = NULL;
    ASSERT_STATUS(clenc__op_gemm(L, w, a, 4, out, NULL, 0),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("quant_rows");
    L->quant_rows = rows;
    L->quant_scales = NULL;
    ASSERT_STATUS(clenc__op_gemm(L, w, a, 4, out, NULL, 0),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("quant_scales");
    L->quant_scales = scales;
    CU_ASSERT_EQUAL(L->launch_count, launches); /* nothing was enqueued */
    clenc__buffer_release(r.ctx, a);
    clenc__buffer_release(r.ctx, out);
    oprig_close(&r);
}
