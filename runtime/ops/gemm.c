/* gemm.c — the GEMM op: weights packed for it, and the one dispatch point: clenc's own kernel (fused epilogue, packed panels) or CLBlast (epilogue as a kernel). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <clblast_c.h>

#include "ops/ops.h"

static size_t ceil_div(size_t a, size_t b)
{
    return (a + b - 1) / b;
}

static size_t panels(unsigned n)
{
    return ceil_div(n, CLENC__PANEL);
}

/* [n][k] rows of `size`-byte elements -> panels of 16 columns: (col, kk)
 * at (col / 16) * k * 16 + kk * 16 + col % 16, the last panel
 * zero-padded. */
static void pack_panels(const void *w, size_t size, unsigned n, unsigned k,
                        void *out)
{
    const size_t np = panels(n);
    const unsigned char *in = w;
    unsigned char *o = out;
    memset(out, 0, np * k * CLENC__PANEL * size);
    for (unsigned col = 0; col < n; col++)
        for (unsigned kk = 0; kk < k; kk++)
            memcpy(o + (((size_t)(col / CLENC__PANEL) * k + kk) * CLENC__PANEL +
                        col % CLENC__PANEL) * size,
                   in + ((size_t)col * k + kk) * size, size);
}

/* FP16 weights: each rounded to nearest even; one beyond half's range is
 * refused, naming the tensor and the element, rather than stored as
 * infinity (README.md, "Precision"). */
clenc_status clenc__to_half(const float *w, size_t count, const char *what,
                            uint16_t *out)
{
    for (size_t i = 0; i < count; i++)
        if (clenc__half_from_float(w[i], &out[i]) != 0)
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "weights '%s' hold %g at element %zu, beyond "
                               "half's range (|x| < 65520): this model "
                               "cannot run at fp16",
                               what, (double)w[i], i);
    return CLENC_OK;
}

clenc_status clenc__check_finite(const float *p, size_t count, const char *what)
{
    for (size_t i = 0; i < count; i++)
        if (!isfinite(p[i]))
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "weights '%s' hold %s at element %zu: a model "
                               "with NaN or infinite weights computes nothing "
                               "but NaN",
                               what, isnan(p[i]) ? "NaN" : "an infinity", i);
    return CLENC_OK;
}

clenc_status clenc__weights_upload(clenc_context *ctx, const void *host,
                                   size_t bytes, const char *what, cl_mem *out,
                                   uint64_t *total)
{
    clenc_status st =
        clenc__buffer_create(ctx, bytes, CL_MEM_READ_ONLY, what, out);
    if (st == CLENC_OK)
        st = clenc__buffer_upload(ctx->transfer_queue, *out, 0, bytes, host);
    if (st == CLENC_OK && total)
        *total += bytes;
    return st;
}

/* A half with every exponent bit set is an infinity or NaN. */
clenc_status clenc__check_finite_half(const uint16_t *p, size_t count,
                                      const char *what)
{
    for (size_t i = 0; i < count; i++)
        if ((p[i] & 0x7c00u) == 0x7c00u)
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "weights '%s' hold %s at element %zu: a model "
                               "with NaN or infinite weights computes nothing "
                               "but NaN",
                               what, p[i] & 0x3ffu ? "NaN" : "an infinity", i);
    return CLENC_OK;
}

/* FP32 or FP16 weights, `size`-byte elements already at their precision
 * and checked, in the GEMM's layout with the bias beside them. */
static clenc_status matrix_store(clenc_context *ctx, clenc_gemm gemm,
                                 const void *weight, size_t size,
                                 const float *bias, unsigned n, unsigned k,
                                 const char *what, clenc__matrix *out,
                                 uint64_t *bytes)
{
    clenc_status st = CLENC_OK;
    const int own = gemm == CLENC_GEMM_OWN;
    /* The own kernel reads whole panels, bias included. */
    const size_t rows = own ? panels(n) * CLENC__PANEL : n;
    memset(out, 0, sizeof *out);
    out->n = n;
    out->k = k;
    out->precision = size == sizeof(float) ? CLENC_PRECISION_FP32
                                           : CLENC_PRECISION_FP16;
    void *staging = NULL;
    float *bias_staging = clenc__calloc(rows, sizeof *bias_staging);
    if (!bias_staging || (own && !(staging = clenc__malloc(rows * k * size)))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory to pack %s (%u x %u)", what, n, k);
        goto out_free;
    }
    if (bias)
        memcpy(bias_staging, bias, (size_t)n * sizeof *bias);
    if (own)
        pack_panels(weight, size, n, k, staging);
    TRY(clenc__weights_upload(ctx, own ? staging : weight, rows * k * size,
                              what, &out->weight, bytes),
        out_release);
    TRY(clenc__weights_upload(ctx, bias_staging, rows * sizeof *bias_staging,
                              what, &out->bias, bytes),
        out_release);
    goto out_free;
out_release:
    clenc__matrix_release(ctx, out);
out_free:
    clenc__free(staging);
    clenc__free(bias_staging);
    return st;
}

clenc_status clenc__matrix_upload(clenc_context *ctx, clenc_gemm gemm,
                                  clenc_precision precision,
                                  const float *weight, const float *bias,
                                  unsigned n, unsigned k, const char *what,
                                  clenc__matrix *out, uint64_t *bytes)
{
    clenc_status st = CLENC_OK;
    TRY(clenc__check_finite(weight, (size_t)n * k, what), out);
    if (bias)
        TRY(clenc__check_finite(bias, n, what), out);
    if (precision == CLENC_PRECISION_INT8)
        return clenc__q8_matrix_upload(ctx, weight, bias, n, k, what, out,
                                       bytes);
    if (precision != CLENC_PRECISION_FP16)
        return matrix_store(ctx, gemm, weight, sizeof *weight, bias, n, k,
                            what, out, bytes);
    uint16_t *halves = clenc__malloc((size_t)n * k * sizeof *halves);
    if (!halves)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory to pack %s (%u x %u)", what, n, k);
    st = clenc__to_half(weight, (size_t)n * k, what, halves);
    if (st == CLENC_OK)
        st = matrix_store(ctx, gemm, halves, sizeof *halves, bias, n, k, what,
                          out, bytes);
    clenc__free(halves);
out:
    return st;
}

clenc_status clenc__matrix_upload_halves(clenc_context *ctx, clenc_gemm gemm,
                                         const uint16_t *weight,
                                         const float *bias, unsigned n,
                                         unsigned k, const char *what,
                                         clenc__matrix *out, uint64_t *bytes)
{
    clenc_status st = CLENC_OK;
    TRY(clenc__check_finite_half(weight, (size_t)n * k, what), out);
    if (bias)
        TRY(clenc__check_finite(bias, n, what), out);
    st = matrix_store(ctx, gemm, weight, sizeof *weight, bias, n, k, what, out,
                      bytes);
out:
    return st;
}

void clenc__matrix_release(clenc_context *ctx, clenc__matrix *m)
{
    clenc__buffer_release(ctx, m->weight);
    clenc__buffer_release(ctx, m->bias);
    clenc__buffer_release(ctx, m->scales);
    m->weight = m->bias = m->scales = NULL;
}

/* 2·m·n·k; traffic: a, the weights and the output once (and the residual). */
clenc__work clenc__gemm_work(unsigned m, const clenc__matrix *w,
                             unsigned flags)
{
    const double mn = (double)m * w->n;
    const double wsize = w->precision == CLENC_PRECISION_FP16 ? 2
                         : w->precision == CLENC_PRECISION_INT8 ? 1
                                                                : sizeof(float);
    clenc__work work = {m, w->n, w->k, 2 * mn * w->k,
                        ((double)m * w->k + mn +
                         ((flags & CLENC__EPI_RESIDUAL) ? mn : 0)) *
                                sizeof(float) +
                            (double)w->n * w->k * wsize};
    return work;
}

static clenc_status gemm_own(clenc__launcher *L, const clenc__matrix *w,
                             cl_mem a, unsigned m, cl_mem out, cl_mem residual,
                             unsigned flags)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_GEMM], "mmmmmiiii",
                                         a, w->weight, w->bias, residual, out,
                                         (int)m, (int)w->n, (int)w->k,
                                         (int)flags);
    if (st != CLENC_OK)
        return st;
    size_t global[2], local[2];
    clenc__gemm_geometry(L, m, w->n, global, local);
    const clenc__work work = clenc__gemm_work(m, w, flags);
    return clenc__launch_kernel(L, CLENC__K_GEMM, 2, global, local, &work);
}

void clenc__gemm_geometry(const clenc__launcher *L, unsigned m, unsigned n,
                          size_t global[2], size_t local[2])
{
    /* The geometry follows the tile sizes the program was built with. */
    const clenc__tunables *t = &L->spec.tile;
    if (L->spec.family == CLENC_VARIANT_GPU) {
        global[0] = ceil_div(n, t->gemm_ts) * 16;
        global[1] = ceil_div(m, t->gemm_ts) * 16;
        local[0] = local[1] = 16;
    } else {
        /* Work-items past the edge return at once (no barriers). */
        local[0] = t->gemm_wg[0];
        local[1] = t->gemm_wg[1];
        global[0] = ceil_div(ceil_div(m, t->gemm_tm), local[0]) * local[0];
        global[1] = ceil_div(ceil_div(panels(n), t->gemm_tnp), local[1]) *
                    local[1];
    }
}

static const char *clblast_error(CLBlastStatusCode code)
{
    /* CLBlast passes OpenCL's codes through and adds its own below -1000. */
    return code > -1000 ? clenc__cl_error_name(code) : "CLBlast error";
}

static clenc_status gemm_clblast(clenc__launcher *L, const clenc__matrix *w,
                                 cl_mem a, unsigned m, cl_mem out,
                                 cl_mem residual, unsigned flags)
{
    /* A residual that is the output itself comes for free as beta = 1. */
    const int accumulate = (flags & CLENC__EPI_RESIDUAL) && residual == out;
    if (accumulate)
        flags &= ~CLENC__EPI_RESIDUAL;
    cl_event event = NULL;
    const uint64_t enqueued = clenc__now_ns();
    CLBlastStatusCode code =
        clenc__fault_hit()
            ? CLBlastOpenCLOutOfResources
            : CLBlastSgemm(CLBlastLayoutRowMajor, CLBlastTransposeNo,
                           CLBlastTransposeYes, m, w->n, w->k, 1.0f, a, 0,
                           w->k, w->weight, 0, w->k, accumulate ? 1.0f : 0.0f,
                           out, 0, w->n, &L->queue,
                           L->ctx->profiling ? &event : NULL);
    if (code != CLBlastSuccess)
        return clenc__fail(CLENC_ERR_OPENCL,
                           "CLBlastSgemm(m=%u, n=%u, k=%u) failed: %s (%d)", m,
                           w->n, w->k, clblast_error(code), (int)code);
    const clenc__work work = clenc__gemm_work(m, w, 0);
    clenc_status st =
        clenc__launch_record(L, CLENC__K_GEMM, 1, &work, enqueued, event);
    if (st != CLENC_OK || flags == 0)
        return st;
    return clenc__op_epilogue(L, out, w->bias, residual, out, m, w->n, flags);
}

clenc_status clenc__op_gemm(clenc__launcher *L, const clenc__matrix *w,
                            cl_mem a, unsigned m, cl_mem out, cl_mem residual,
                            unsigned flags)
{
    if (m == 0)
        return CLENC_OK;
    if (w->precision == CLENC_PRECISION_INT8)
        return clenc__op_qgemm(L, w, a, m, out, residual, flags);
    return L->spec.gemm == CLENC_GEMM_CLBLAST
               ? gemm_clblast(L, w, a, m, out, residual, flags)
               : gemm_own(L, w, a, m, out, residual, flags);
}
