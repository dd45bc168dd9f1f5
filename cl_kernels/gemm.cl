/* gemm.cl — clenc's own GEMM with a fused epilogue: out = act?(a · wᵀ + bias) + residual, over weights packed in panels.
 *
 * a:        [m][k] row-major (activations, packed tokens).
 * w:        the weight matrix [n][k] (PyTorch's Linear layout) packed at
 *           model load into panels of PANEL=16 output columns: element
 *           (col, kk) lives at w[(col / 16) * k * 16 + kk * 16 + col % 16];
 *           the last panel is zero-padded. A panel is one contiguous stream,
 *           read with one 16-wide load per kk.
 * bias:     [n] zero-padded to whole panels.  residual, out: [m][n].
 * flags:    1 add bias, 2 apply the model's activation, 4 add residual.
 *           `out` may be `residual` (each element is read, then written, by
 *           the same work-item); it must not be `a`.
 *
 * cpu family: one work-item computes a GEMM_TM x 16 tile in registers
 *   (float16 accumulators, fma), no barriers and no local memory: on PoCL
 *   this reached 190-224 GFLOP/s at encoder shapes (2 cores, AVX-512).
 *   global = (ceil(m / GEMM_TM), n_panels), local = (1, 1).
 * gpu family: classic local-memory tiling, a GEMM_TS x GEMM_TS block per
 *   work-group of 16 x 16, each work-item GEMM_TS/16 x GEMM_TS/16 outputs.
 *   global = (ceil(n / GEMM_TS) * 16, ceil(m / GEMM_TS) * 16), local = (16, 16).
 * Tunables: GEMM_TM (8), GEMM_TS (64), GEMM_TK (16), VARIANT_GPU, ACT.
 */
#include "common.h"

#define PANEL 16
#ifndef GEMM_TM
#define GEMM_TM 4
#endif
#ifndef GEMM_TS
#define GEMM_TS 64
#endif
#ifndef GEMM_TK
#define GEMM_TK 16
#endif

#if !VARIANT_GPU

/* Panels (16 output columns each) one work-item computes. */
#ifndef GEMM_TNP
#define GEMM_TNP 4
#endif

__kernel void gemm(__global const float *a, __global const float *w,
                   __global const float *bias, __global const float *residual,
                   __global float *out, const int m, const int n, const int k,
                   const int flags)
{
    const int row0 = get_global_id(0) * GEMM_TM;
    const int panel0 = get_global_id(1) * GEMM_TNP;
    if (row0 >= m || panel0 * PANEL >= n)
        return;
    const int panels = (n + PANEL - 1) / PANEL;
    /* Rows past m repeat the last row, panels past the last repeat it: the
     * loads stay in bounds and the loop branch-free; neither is stored. */
    size_t arow[GEMM_TM];
    __global const float *wp[GEMM_TNP];
    float16 acc[GEMM_TM][GEMM_TNP];
#pragma unroll
    for (int r = 0; r < GEMM_TM; r++)
        arow[r] = (size_t)min(row0 + r, m - 1) * k;
#pragma unroll
    for (int p = 0; p < GEMM_TNP; p++) {
        wp[p] = w + (size_t)min(panel0 + p, panels - 1) * k * PANEL;
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++)
            acc[r][p] = (float16)(0.0f);
    }
    for (int kk = 0; kk < k; kk++) {
        float16 b[GEMM_TNP];
#pragma unroll
        for (int p = 0; p < GEMM_TNP; p++)
            b[p] = vload16(kk, wp[p]);
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++) {
            const float16 av = (float16)(a[arow[r] + kk]);
#pragma unroll
            for (int p = 0; p < GEMM_TNP; p++)
                acc[r][p] = fma(av, b[p], acc[r][p]);
        }
    }
#pragma unroll
    for (int p = 0; p < GEMM_TNP; p++) {
        const int panel = panel0 + p;
        const int col0 = panel * PANEL;
        if (col0 >= n)
            break;
        const int full = col0 + PANEL <= n;
        const float16 bv = (flags & 1) ? vload16(panel, bias) : (float16)(0.0f);
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++) {
            const int row = row0 + r;
            if (row >= m)
                break;
            float16 v = acc[r][p] + bv;
            if (flags & 2)
                v = ACTIVATE(v);
            const size_t at = (size_t)row * n + col0;
            if (full) {
                if (flags & 4)
                    v += vload16(0, residual + at);
                vstore16(v, 0, out + at);
            } else {
                float vals[PANEL];
                vstore16(v, 0, vals);
                for (int c = 0; c < n - col0; c++)
                    out[at + c] =
                        vals[c] + ((flags & 4) ? residual[at + c] : 0.0f);
            }
        }
    }
}

#else /* VARIANT_GPU */

#define GEMM_WPT (GEMM_TS / 16)

__kernel __attribute__((reqd_work_group_size(16, 16, 1))) void
gemm(__global const float *a, __global const float *w,
     __global const float *bias, __global const float *residual,
     __global float *out, const int m, const int n, const int k,
     const int flags)
{
    __local float as[GEMM_TK][GEMM_TS];
    __local float bs[GEMM_TK][GEMM_TS];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int tid = ty * 16 + tx;
    const int col0 = get_group_id(0) * GEMM_TS, row0 = get_group_id(1) * GEMM_TS;
    const int npad = (n + PANEL - 1) / PANEL * PANEL;
    float acc[GEMM_WPT][GEMM_WPT];
    for (int i = 0; i < GEMM_WPT; i++)
        for (int j = 0; j < GEMM_WPT; j++)
            acc[i][j] = 0.0f;
    for (int kt = 0; kt < k; kt += GEMM_TK) {
        for (int e = tid; e < GEMM_TS * GEMM_TK; e += 256) {
            const int r = e / GEMM_TK, c = e % GEMM_TK;
            const int row = row0 + r, kk = kt + c;
            as[c][r] = (row < m && kk < k) ? a[(size_t)row * k + kk] : 0.0f;
            const int kb = e / GEMM_TS, cc = e % GEMM_TS;
            const int col = col0 + cc, kw = kt + kb;
            bs[kb][cc] = (col < npad && kw < k)
                             ? w[(size_t)(col / PANEL) * k * PANEL +
                                 (size_t)kw * PANEL + col % PANEL]
                             : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < GEMM_TK; kk++)
            for (int i = 0; i < GEMM_WPT; i++) {
                const float av = as[kk][ty + 16 * i];
                for (int j = 0; j < GEMM_WPT; j++)
                    acc[i][j] = fma(av, bs[kk][tx + 16 * j], acc[i][j]);
            }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < GEMM_WPT; i++) {
        const int row = row0 + ty + 16 * i;
        for (int j = 0; j < GEMM_WPT; j++) {
            const int col = col0 + tx + 16 * j;
            if (row >= m || col >= n)
                continue;
            float v = acc[i][j];
            if (flags & 1)
                v += bias[col];
            if (flags & 2)
                v = ACTIVATE(v);
            const size_t at = (size_t)row * n + col;
            if (flags & 4)
                v += residual[at];
            out[at] = v;
        }
    }
}

#endif
