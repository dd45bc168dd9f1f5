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

/* [n][k] rows -> panels of 16 columns: (col, kk) at
 * (col / 16) * k * 16 + kk * 16 + col % 16, the last panel zero-padded. */
static void pack_panels(const float *w, unsigned n, unsigned k, float *out)
{
    const size_t np = panels(n);
    memset(out, 0, np * k * CLENC__PANEL * sizeof *out);
    for (unsigned col = 0; col < n; col++)
        for (unsigned kk = 0; kk < k; kk++)
            out[((size_t)(col / CLENC__PANEL) * k + kk) * CLENC__PANEL +
                col % CLENC__PANEL] = w[(size_t)col * k + kk];
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

static clenc_status upload(clenc_context *ctx, const float *host, size_t count,
                           const char *what, cl_mem *out, uint64_t *bytes)
{
    clenc_status st = clenc__buffer_create(ctx, count * sizeof *host,
                                           CL_MEM_READ_ONLY, what, out);
    if (st == CLENC_OK)
        st = clenc__buffer_upload(ctx->transfer_queue, *out, 0,
                                  count * sizeof *host, host);
    if (st == CLENC_OK && bytes)
        *bytes += count * sizeof *host;
    return st;
}

clenc_status clenc__matrix_upload(clenc_context *ctx, clenc_gemm gemm,
                                  const float *weight, const float *bias,
                                  unsigned n, unsigned k, const char *what,
                                  clenc__matrix *out, uint64_t *bytes)
{
    clenc_status st = CLENC_OK;
    const int own = gemm == CLENC_GEMM_OWN;
    /* The own kernel reads whole panels, bias included. */
    const size_t rows = own ? panels(n) * CLENC__PANEL : n;
    memset(out, 0, sizeof *out);
    out->n = n;
    out->k = k;
    float *staging = NULL, *bias_staging = clenc__calloc(rows, sizeof *bias_staging);
    if (!bias_staging)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    if (bias)
        memcpy(bias_staging, bias, (size_t)n * sizeof *bias);
    TRY(clenc__check_finite(weight, (size_t)n * k, what), out_free);
    TRY(clenc__check_finite(bias_staging, n, what), out_free);
    if (own) {
        if (!(staging = clenc__malloc(rows * k * sizeof *staging))) {
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                             "no host memory to pack %s (%u x %u)", what, n, k);
            goto out_free;
        }
        pack_panels(weight, n, k, staging);
    }
    TRY(upload(ctx, own ? staging : weight, rows * k, what, &out->weight,
               bytes),
        out_release);
    TRY(upload(ctx, bias_staging, rows, what, &out->bias, bytes), out_release);
    goto out_free;
out_release:
    clenc__matrix_release(ctx, out);
out_free:
    clenc__free(staging);
    clenc__free(bias_staging);
    return st;
}

void clenc__matrix_release(clenc_context *ctx, clenc__matrix *m)
{
    clenc__buffer_release(ctx, m->weight);
    clenc__buffer_release(ctx, m->bias);
    m->weight = m->bias = NULL;
}

/* 2·m·n·k; traffic: a, the weights and the output once (and the residual). */
static clenc__work gemm_work(unsigned m, const clenc__matrix *w,
                             unsigned flags)
{
    const double mn = (double)m * w->n;
    clenc__work work = {m, w->n, w->k, 2 * mn * w->k,
                        ((double)m * w->k + (double)w->n * w->k + mn +
                         ((flags & CLENC__EPI_RESIDUAL) ? mn : 0)) *
                            sizeof(float)};
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
    /* The geometry follows the tile sizes the program was built with. */
    const clenc__tunables *t = &L->spec.tile;
    size_t global[2], local[2];
    if (L->spec.family == CLENC_VARIANT_GPU) {
        global[0] = ceil_div(w->n, t->gemm_ts) * 16;
        global[1] = ceil_div(m, t->gemm_ts) * 16;
        local[0] = local[1] = 16;
    } else {
        /* Work-items past the edge return at once (no barriers). */
        local[0] = t->gemm_wg[0];
        local[1] = t->gemm_wg[1];
        global[0] = ceil_div(ceil_div(m, t->gemm_tm), local[0]) * local[0];
        global[1] = ceil_div(ceil_div(panels(w->n), t->gemm_tnp), local[1]) *
                    local[1];
    }
    const clenc__work work = gemm_work(m, w, flags);
    return clenc__launch_kernel(L, CLENC__K_GEMM, 2, global, local, &work);
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
    const clenc__work work = gemm_work(m, w, 0);
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
    return L->spec.gemm == CLENC_GEMM_CLBLAST
               ? gemm_clblast(L, w, a, m, out, residual, flags)
               : gemm_own(L, w, a, m, out, residual, flags);
}
