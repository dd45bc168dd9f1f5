/* gemm.cl — clenc's own GEMM with a fused epilogue: out = act?(a · wᵀ + bias) + residual, over weights packed in panels.
 *
 * a:        [m][k] row-major (activations, packed tokens).
 * w:        the weight matrix [n][k] (PyTorch's Linear layout), float, or
 *           half when PRECISION is PREC_FP16 (read into float with
 *           vload_half, core OpenCL: half the bytes, float arithmetic), packed at
 *           model load into panels of PANEL output columns: element
 *           (col, kk) lives at w[(col / PANEL) * k * PANEL + kk * PANEL +
 *           col % PANEL]; the last panel is zero-padded. A panel is one
 *           contiguous stream, read with one PANEL-wide load per kk.
 * bias:     [n] zero-padded to whole panels.  residual, out: [m][n].
 * flags:    EPI_BIAS adds the bias, EPI_ACT applies the model's activation,
 *           EPI_RESIDUAL adds the residual. `out` may be `residual` (each
 *           element is read, then written, by the same work-item); it must
 *           not be `a`.
 *
 * cpu family: one work-item computes a GEMM_TM x (GEMM_TNP * PANEL) tile in
 *   registers (float16 accumulators, fma), no barriers and no local memory.
 *   The tile is chosen per device to fit its vector registers (6 x 1 on
 *   AVX2, 4 x 4 on AVX-512; runtime/ops/tune.c), and so is the work-group,
 *   which only groups work-items: PoCL pays its per-group overhead once per
 *   group, and work-items along panels reuse the same rows of a from L1.
 *   global = (ceil(m / GEMM_TM), ceil(n_panels / GEMM_TNP)), each rounded
 *   up to the work-group; work-items past the edge return at once.
 * gpu family: classic local-memory tiling, a GEMM_TS x GEMM_TS block per
 *   work-group of 16 x 16, each work-item GEMM_TS/16 x GEMM_TS/16 outputs,
 *   GEMM_TK of k a step. A correctness baseline: it has not been tuned on a
 *   GPU yet. global = (ceil(n / GEMM_TS) * 16, ceil(m / GEMM_TS) * 16),
 *   local = (16, 16).
 * Launch: runtime/ops/gemm.c, which also packs the panels.
 * a, residual and out hold float, or half with HALF_COMPUTE (store.h).
 * Constants: VARIANT_GPU, PRECISION, PREC_FP16, HALF_COMPUTE, ACT
 *   (activation.h), EPI_BIAS, EPI_ACT,
 *   EPI_RESIDUAL, PANEL (16: the cpu family's float16), GEMM_TM, GEMM_TNP
 *   (cpu), GEMM_TS, GEMM_TK (gpu).
 */
#include "activation.h"
#include "store.h"
#include "panel.h"

#if !defined(VARIANT_GPU) || !defined(EPI_BIAS) || !defined(EPI_ACT) ||      \
    !defined(EPI_RESIDUAL) || !defined(PANEL) || !defined(GEMM_TM) ||       \
    !defined(GEMM_TNP) || !defined(GEMM_TS) || !defined(GEMM_TK)
#error "VARIANT_GPU, EPI_BIAS, EPI_ACT, EPI_RESIDUAL, PANEL, GEMM_TM, GEMM_TNP, GEMM_TS and GEMM_TK are set by the library: build with the options clenc-compile --list prints"
#endif
#if !defined(PRECISION) || !defined(PREC_FP16)
#error "PRECISION and PREC_FP16 are set by the library"
#endif
#if PRECISION == PREC_FP16
typedef half weight_t;
#define LOAD_PANEL(i, p) vload_half16((i), (p))
#define LOAD_W(i, p) vload_half((i), (p))
#else
typedef float weight_t;
#define LOAD_PANEL(i, p) vload16((i), (p))
#define LOAD_W(i, p) ((p)[i])
#endif

#if PANEL != 16
#error "PANEL: the cpu family loads a panel row as one float16"
#endif

#if !VARIANT_GPU

__kernel void gemm(__global const act_t *a, __global const weight_t *w,
                   __global const float *bias, __global const act_t *residual,
                   __global act_t *out, const int m, const int n, const int k,
                   const int flags)
{
    const int row0 = get_global_id(0) * GEMM_TM;
    const int panel0 = get_global_id(1) * GEMM_TNP;
    if (row0 >= m || panel0 * PANEL >= n)
        return;
    const int panels = (n + PANEL - 1) / PANEL;
    /* Rows past m repeat the last row, panels past the last repeat it: the
     * loads stay in bounds and the loop branch-free; neither is stored.
     * The rows are offsets from one pointer that walks along k: indices
     * (row * k + kk) per row were turned into vectors of 64-bit indices by
     * LLVM's SLP vectorizer and extracted lane by lane, 34 instructions a
     * step for 12 FMAs at 6 x 1 against 24 this way (PoCL 3.1, AVX2). */
    const int first = min(row0, m - 1);
    __global const act_t *ap = a + (size_t)first * k;
    int off[GEMM_TM];
    __global const weight_t *wp[GEMM_TNP];
    float16 acc[GEMM_TM][GEMM_TNP];
#pragma unroll
    for (int r = 0; r < GEMM_TM; r++)
        off[r] = (min(row0 + r, m - 1) - first) * k;
#pragma unroll
    for (int p = 0; p < GEMM_TNP; p++) {
        wp[p] = w + (size_t)min(panel0 + p, panels - 1) * k * PANEL;
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++)
            acc[r][p] = (float16)(0.0f);
    }
    for (int kk = 0; kk < k; kk++, ap++) {
        float16 b[GEMM_TNP];
#pragma unroll
        for (int p = 0; p < GEMM_TNP; p++)
            b[p] = LOAD_PANEL(kk, wp[p]);
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++) {
            const float16 av = (float16)(ACT_LOAD(off[r], ap));
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
        const float16 bv = (flags & EPI_BIAS) ? vload16(panel, bias) : (float16)(0.0f);
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++) {
            const int row = row0 + r;
            if (row >= m)
                break;
            epilogue_store16(acc[r][p] + bv, n - col0, (size_t)row * n + col0,
                             residual, out, flags);
        }
    }
}

#else /* VARIANT_GPU */

#define GEMM_WPT (GEMM_TS / 16)

__kernel __attribute__((reqd_work_group_size(16, 16, 1))) void
gemm(__global const act_t *a, __global const weight_t *w,
     __global const float *bias, __global const act_t *residual,
     __global act_t *out, const int m, const int n, const int k,
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
            as[c][r] = (row < m && kk < k) ? ACT_LOAD((size_t)row * k + kk, a)
                                           : 0.0f;
            const int kb = e / GEMM_TS, cc = e % GEMM_TS;
            const int col = col0 + cc, kw = kt + kb;
            bs[kb][cc] = (col < npad && kw < k)
                             ? LOAD_W((size_t)(col / PANEL) * k * PANEL +
                                          (size_t)kw * PANEL + col % PANEL,
                                      w)
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
            epilogue_store(acc[i][j] + ((flags & EPI_BIAS) ? bias[col] : 0.0f),
                           (size_t)row * n + col, residual, out, flags);
        }
    }
}

#endif
