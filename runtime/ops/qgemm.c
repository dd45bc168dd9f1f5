/* qgemm.c — the INT8 GEMM op: symmetric per-row quantisation on the host, weights packed in k-pair panels for qgemm.cl, and the two launches (quant.cl, then qgemm.cl). */
#include <math.h>
#include <string.h>

#include "ops/ops.h"

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

/* The rule of quant.cl's header, in float arithmetic as the kernel has it
 * (FLT_EVAL_METHOD 0 on the targets clenc builds for): amax = max |w|;
 * scale = amax * CLENC__Q8_INV_QMAX (one rounding); inv = 127.0f / amax
 * (a correctly rounded IEEE division); q = rintf(w * inv) (the product
 * rounded to float, then to the nearest integer, ties to even: the
 * default rounding mode) clamped to -127..127. A row with amax below
 * CLENC__Q8_TINY is all zeros with scale 0; one holding a NaN or an
 * infinity gets scale NaN and zeros (callers refuse such weights
 * earlier). */
void clenc__q8_rows(const float *w, size_t rows, size_t cols, int8_t *q,
                    float *scale)
{
    for (size_t r = 0; r < rows; r++) {
        const float *x = w + r * cols;
        int8_t *y = q + r * cols;
        float amax = 0.0f;
        int finite = 1;
        for (size_t c = 0; c < cols; c++) {
            finite &= isfinite(x[c]) != 0;
            amax = fmaxf(amax, fabsf(x[c]));
        }
        const int live = finite && amax >= CLENC__Q8_TINY;
        const float inv = live ? 127.0f / amax : 0.0f;
        scale[r] = !finite ? NAN : live ? amax * CLENC__Q8_INV_QMAX : 0.0f;
        for (size_t c = 0; c < cols; c++)
            y[c] = live ? (int8_t)fminf(fmaxf(rintf(x[c] * inv), -127.0f),
                                        127.0f)
                        : 0;
    }
}

size_t clenc__q8_row_bytes(unsigned k)
{
    return ceil_div(k, CLENC__Q8_ROW_ALIGN) * CLENC__Q8_ROW_ALIGN *
           sizeof(int16_t);
}

/* [n][k] int8 -> qgemm.cl's panels: (col, kk) at ((col / 16) * kp +
 * kk / 2) * 32 + (col % 16) * 2 + kk % 2, kp = ceil(k / 2), zeros past n
 * and past k. */
static void pack_pairs(const int8_t *q, unsigned n, unsigned k, int8_t *out)
{
    const size_t kp = ceil_div(k, 2), np = ceil_div(n, CLENC__PANEL);
    memset(out, 0, np * kp * 2 * CLENC__PANEL);
    for (unsigned col = 0; col < n; col++)
        for (unsigned kk = 0; kk < k; kk++)
            out[((col / CLENC__PANEL) * kp + kk / 2) * 2 * CLENC__PANEL +
                (col % CLENC__PANEL) * 2 + kk % 2] = q[(size_t)col * k + kk];
}

clenc_status clenc__q8_matrix_upload(clenc_context *ctx, const float *weight,
                                     const float *bias, unsigned n,
                                     unsigned k, const char *what,
                                     clenc__matrix *out, uint64_t *bytes)
{
    clenc_status st = CLENC_OK;
    /* Bias and scales are read a whole panel at a time, like the weights. */
    const size_t cols = ceil_div(n, CLENC__PANEL) * CLENC__PANEL;
    const size_t packed = cols * ceil_div(k, 2) * 2;
    memset(out, 0, sizeof *out);
    out->n = n;
    out->k = k;
    out->precision = CLENC_PRECISION_INT8;
    int8_t *q = clenc__malloc((size_t)n * k);
    int8_t *staging = clenc__malloc(packed);
    float *scales = clenc__calloc(cols, sizeof *scales);
    float *bias_staging = clenc__calloc(cols, sizeof *bias_staging);
    if (!q || !staging || !scales || !bias_staging) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory to quantise %s (%u x %u)", what, n,
                         k);
        goto out_free;
    }
    clenc__q8_rows(weight, n, k, q, scales);
    pack_pairs(q, n, k, staging);
    if (bias)
        memcpy(bias_staging, bias, (size_t)n * sizeof *bias);
    TRY(clenc__weights_upload(ctx, staging, packed, what, &out->weight, bytes), out_release);
    TRY(clenc__weights_upload(ctx, bias_staging, cols * sizeof *bias_staging, what,
               &out->bias, bytes),
        out_release);
    TRY(clenc__weights_upload(ctx, scales, cols * sizeof *scales, what, &out->scales, bytes),
        out_release);
    goto out_free;
out_release:
    clenc__matrix_release(ctx, out);
out_free:
    clenc__free(bias_staging);
    clenc__free(scales);
    clenc__free(staging);
    clenc__free(q);
    return st;
}

static clenc_status quantize(clenc__launcher *L, cl_mem a, unsigned m,
                             unsigned k)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_QUANTIZE],
                                         "mmmii", a, L->quant_rows,
                                         L->quant_scales, (int)m, (int)k);
    if (st != CLENC_OK)
        return st;
    /* Per row: |x|, the top two and the top's column, x·inv, rint,
     * clamp; k floats in (read twice: the statistics, then the values),
     * the padded int16 row and its info out. */
    const double flops = 8.0 * k,
                 bytes = 2.0 * k * sizeof(float) + clenc__q8_row_bytes(k) +
                         CLENC__Q8_INFO * sizeof(float);
    if (L->spec.family != CLENC_VARIANT_GPU)
        return clenc__launch_rows(L, CLENC__K_QUANTIZE, m, flops, bytes);
    const clenc__work work = {m, 0, 0, m * flops, m * bytes};
    const size_t local = CLENC__QUANT_WG, global = (size_t)m * local;
    return clenc__launch_kernel(L, CLENC__K_QUANTIZE, 1, &global, &local,
                                &work);
}

clenc_status clenc__op_qgemm(clenc__launcher *L, const clenc__matrix *w,
                             cl_mem a, unsigned m, cl_mem out,
                             cl_mem residual, unsigned flags)
{
    clenc_status st = CLENC_OK;
    if (m == 0)
        return CLENC_OK;
    if (!L->quant_rows || !L->quant_scales)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "INT8 GEMM (m=%u, n=%u, k=%u) without its scratch: "
                           "the launcher's %s is NULL",
                           m, w->n, w->k,
                           L->quant_rows ? "quant_scales" : "quant_rows");
    if (!L->kernels[CLENC__K_QUANTIZE] || !L->kernels[CLENC__K_QGEMM])
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "INT8 GEMM on a launcher without the quant and "
                           "qgemm programs (the model is not INT8)");
    TRY(quantize(L, a, m, w->k), out);
    TRY(clenc__kernel_args(L->kernels[CLENC__K_QGEMM], "mmmmmmmiiii",
                           L->quant_rows, L->quant_scales, w->weight,
                           w->scales, w->bias, residual, out, (int)m,
                           (int)w->n, (int)w->k, (int)flags),
        out);
    /* The geometry of gemm.c's own kernel, for the same tiles. */
    size_t global[2], local[2];
    clenc__gemm_geometry(L, m, w->n, global, local);
    const clenc__work work = clenc__gemm_work(m, w, flags);
    st = clenc__launch_kernel(L, CLENC__K_QGEMM, 2, global, local, &work);
out:
    return st;
}
