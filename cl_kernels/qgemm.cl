/* qgemm.cl — the INT8 GEMM: int8 weights times int16-held int8 activations, int32 accumulators, then out = act?((acc · scale + outlier · w) · w_scale + bias) + residual.
 *
 * aq:       [m][Q8_STRIDE(k)] int16 in -127..127, zero-padded: the
 *           activations as quant.cl leaves them; a_info: [m][Q8_INFO]
 *           float, {scale, outlier value, outlier column, 0} (quant.cl).
 * w:        the weights [n][k] as int8 in -127..127 (runtime/ops/qgemm.c
 *           quantises them per output column), packed in panels of PANEL
 *           columns and pairs of k: element (col, kk) lives at
 *           w[(col / PANEL) * KP * 2 * PANEL + (kk / 2) * 2 * PANEL +
 *             (col % PANEL) * 2 + kk % 2],  KP = ceil(k / 2),
 *           zero-padded past n and past k. One k-pair of a panel is 32
 *           contiguous bytes: column c's two weights side by side, the
 *           order vpmaddwd multiplies in.
 * w_scale, bias: [n] float, zero-padded to whole panels.
 * residual, out: [m][n] float.
 * flags:    EPI_BIAS, EPI_ACT, EPI_RESIDUAL as gemm.cl; `out` may be
 *           `residual` (each element is read, then written, by the same
 *           work-item).
 * Result:   out[r][c] = act?((float(Σ_kk aq[r][kk] w[c][kk]) * scale[r] +
 *           outlier[r] * w[c][column[r]]) * w_scale[c] + bias[c]) +
 *           residual[r][c]; the integer sum is exact (|Σ| <= 127² k <
 *           2^31 for k < 133000).
 *
 * cpu family: one work-item computes a GEMM_TM x (GEMM_TNP * PANEL) tile
 *   in registers as gemm.cl does (same tiles, work-group, geometry and
 *   pointer walk; its header says why), with int16 x 16 accumulators. A
 *   step takes one k-pair: each panel's 32 weights widened to int16 (one
 *   vpmovsxbw from memory), each row's pair broadcast as one 32-bit value
 *   (vpbroadcastd from memory), and per row x panel one vpmaddwd (32
 *   int16 products summed pairwise into 16 int32 lanes) and one vpaddd.
 *   A float16 fma does 16 multiply-adds, vpmaddwd 32. PoCL 3.1's code
 *   for a 4 x 4 tile (objdump of its kernel cache): a k-pair is 43
 *   instructions, 16 vpmaddwd + 16 vpaddd + 4 vpmovsxbw + 4 vpbroadcastd
 *   + 3 scalar, for 512 multiply-adds; gemm.cl's k step is 28, 16
 *   vfmadd231ps + 4 vmovups + 4 vbroadcastss + 3, for 256. fp32 is bound
 *   by its FMAs on the two FMA pipes (16 cycles per 512); int8 by 36
 *   vector operations over four pipes (9 cycles) where vpaddd and
 *   vpmovsxbw issue beside vpmaddwd, as on Zen 4/5: a peak 1.8x fp32's.
 *   Measured at MiniLM's shapes, m = 4096 (Zen 5, 2 shared cores, best
 *   of 3): this kernel 1.6x (QKV, FFN up) to 2.1x (FFN down, where the
 *   fp32 kernel falls further from its peak) the fp32 GEMM; with
 *   quant.cl's pass 1.2x (O: 384 x 384) to 1.8x (FFN down). VNNI's
 *   vpdpwssd would fold each vpaddd in, but PoCL targets skylake-avx512
 *   whatever the CPU, and a target("avx512vnni") kernel fails to compile
 *   in its work-group wrapper.
 *   The register budget is the fp32 kernel's (a 16-column int32
 *   accumulator and a widened k-pair panel are one zmm each, as a float16
 *   is, plus one for vpmaddwd's result), so the fp32 tuner's tiles fit:
 *   4 x 4 on AVX-512 takes 16 accumulators + 4 panels + 2 of 32 zmm, 6 x 1
 *   on AVX2 12 + 2 + 2 of 16. Tiles of its own did not pay here: 6x4,
 *   8x3 and 4x6 beat 4x4 by up to 10% on two of MiniLM's three shapes and
 *   lost on the third, within this machine's noise.
 *   QGEMM_PATH says how the pairs are multiplied:
 *     512  clang's __builtin_ia32_pmaddwd512 (AVX-512BW targets);
 *     256  __builtin_ia32_pmaddwd256 on the two halves (AVX2 targets);
 *     0    portable OpenCL C: the two products of a pair in int16 (exact:
 *          2 x 127² < 2^15), widened once (Oclgrind, Rusticl, other
 *          CPUs; tests/test_op_qgemm.c runs it on PoCL too).
 *   Why builtins: LLVM 15 does form vpmaddwd from (even * even + odd * odd)
 *   (matchPMADDWD) — but only from two full vectors, and here one operand
 *   is a broadcast pair, which InstCombine splits into two splats; and the
 *   Reassociate pass rewrites acc + (e + o) as (acc + o) + e, which no
 *   longer matches. PoCL (LLVM 15, skylake-avx512) then emitted vpmulld
 *   (two uops, 10 cycles) for every product. Default: the widest the
 *   compiler's target has (clang defines __AVX512BW__, __AVX2__); a
 *   compiler without them (Oclgrind, Rusticl's SPIR-V, GPUs) gets 0.
 *   global = (ceil(m / GEMM_TM), ceil(n_panels / GEMM_TNP)), each rounded
 *   up to the work-group; work-items past the edge return at once.
 * gpu family: gemm.cl's local-memory tiles with int arithmetic (a
 *   correctness baseline, untuned): a GEMM_TS x GEMM_TS block per
 *   work-group of 16 x 16, GEMM_TK of k a step. No integer dot-product
 *   extension is used: none of this project's devices has one to test it.
 *   global = (ceil(n / GEMM_TS) * 16, ceil(m / GEMM_TS) * 16),
 *   local = (16, 16).
 * Launch and packing: runtime/ops/qgemm.c.
 * Constants: VARIANT_GPU, HALF_COMPUTE (store.h; 0 at int8), ACT
 *   (activation.h), EPI_BIAS, EPI_ACT,
 *   EPI_RESIDUAL, PANEL, GEMM_TM, GEMM_TNP (cpu), GEMM_TS, GEMM_TK (gpu),
 *   Q8_ROW_ALIGN, Q8_INFO; tunable: QGEMM_PATH.
 */
#include "activation.h"
#include "store.h" /* act_t is float: int8 models never compute in half */
#include "panel.h"

#if !defined(VARIANT_GPU) || !defined(EPI_BIAS) || !defined(EPI_ACT) ||      \
    !defined(EPI_RESIDUAL) || !defined(PANEL) || !defined(GEMM_TM) ||       \
    !defined(GEMM_TNP) || !defined(GEMM_TS) || !defined(GEMM_TK) ||         \
    !defined(Q8_ROW_ALIGN)
#error "VARIANT_GPU, EPI_BIAS, EPI_ACT, EPI_RESIDUAL, PANEL, GEMM_TM, GEMM_TNP, GEMM_TS, GEMM_TK and Q8_ROW_ALIGN are set by the library: build with the options clenc-compile --list prints"
#endif
#if PANEL != 16
#error "PANEL: a k-pair of a panel is 32 bytes, one vpmaddwd's operand"
#endif
#if !defined(Q8_INFO) || Q8_INFO != 4
#error "Q8_INFO: a row's info is one float4 (set by the library)"
#endif
#if GEMM_TK % 2 != 0
#error "GEMM_TK: the gpu family's tiles hold whole k-pairs"
#endif

#define Q8_STRIDE(k) (((k) + Q8_ROW_ALIGN - 1) / Q8_ROW_ALIGN * Q8_ROW_ALIGN)

#if !VARIANT_GPU

#ifndef QGEMM_PATH
#if defined(__clang__) && defined(__AVX512BW__)
#define QGEMM_PATH 512
#elif defined(__clang__) && defined(__AVX2__)
#define QGEMM_PATH 256
#else
#define QGEMM_PATH 0
#endif
#endif

#if QGEMM_PATH == 512 && !(defined(__clang__) && defined(__AVX512BW__))
#error "QGEMM_PATH 512 needs clang and an AVX-512BW target"
#endif
#if QGEMM_PATH == 256 && !(defined(__clang__) && defined(__AVX2__))
#error "QGEMM_PATH 256 needs clang and an AVX2 target"
#endif

#if QGEMM_PATH == 512 || QGEMM_PATH == 256
/* A panel's k-pair widened: 16 columns x 2, interleaved; and a row's pair
 * broadcast to the same shape. clang's vector extension: OpenCL C stops at
 * 16 elements, one vpmaddwd takes 32. */
typedef short qpanel __attribute__((ext_vector_type(32)));
typedef qpanel qpair;
#define IDX16(o)                                                               \
    (o) + 0, (o) + 1, (o) + 2, (o) + 3, (o) + 4, (o) + 5, (o) + 6, (o) + 7,    \
        (o) + 8, (o) + 9, (o) + 10, (o) + 11, (o) + 12, (o) + 13, (o) + 14,    \
        (o) + 15
#define LOAD_PANEL(j, p)                                                       \
    __builtin_convertvector(                                                   \
        __builtin_shufflevector(vload16(2 * (j), (p)),                         \
                                vload16(2 * (j) + 1, (p)), IDX16(0),           \
                                IDX16(16)),                                    \
        qpanel)
/* The pair as one 32-bit load: little-endian, kk even in the low half,
 * as vpmaddwd pairs it with the even weight. */
#define LOAD_PAIR(ap) __builtin_astype((int16)(*(__global const int *)(ap)), qpair)
#if QGEMM_PATH == 512
#define MADD(b, av) __builtin_astype(__builtin_ia32_pmaddwd512((b), (av)), int16)
#else
#define MADD(b, av)                                                            \
    __builtin_astype(                                                          \
        __builtin_shufflevector(__builtin_ia32_pmaddwd256((b).lo, (av).lo),    \
                                __builtin_ia32_pmaddwd256((b).hi, (av).hi),    \
                                IDX16(0)),                                     \
        int16)
#endif

#elif QGEMM_PATH == 0
#ifndef __ENDIAN_LITTLE__
#error "QGEMM_PATH 0 reads a column's two weights as one little-endian short"
#endif
/* A panel's k-pair as 16 shorts, column c's even weight in the low byte
 * of short c, its odd one in the high byte; the sign extensions are two
 * shifts. (Splitting a char16 with .even and .odd crashed Oclgrind
 * 21.10's uninitialised-value check.) */
typedef short16 qpanel;
typedef short2 qpair;
#define LOAD_PANEL(j, p) vload16((j), (__global const short *)(p))
#define LOAD_PAIR(ap) vload2(0, (ap))
#define MADD(b, av)                                                            \
    convert_int16((((b) << 8) >> 8) * (av).s0 + ((b) >> 8) * (av).s1)

#else
#error "QGEMM_PATH is 512, 256 or 0"
#endif

__kernel void qgemm(__global const short *aq, __global const float *a_info,
                    __global const char *w, __global const float *w_scale,
                    __global const float *bias,
                    __global const act_t *residual, __global act_t *out,
                    const int m, const int n, const int k, const int flags)
{
    const int row0 = get_global_id(0) * GEMM_TM;
    const int panel0 = get_global_id(1) * GEMM_TNP;
    if (row0 >= m || panel0 * PANEL >= n)
        return;
    const int panels = (n + PANEL - 1) / PANEL;
    const int kp = (k + 1) / 2, stride = Q8_STRIDE(k);
    /* Rows past m repeat the last row, panels past the last repeat it
     * (loads in bounds, no branch; neither is stored); the rows are
     * offsets from one pointer that walks along k (gemm.cl says why). */
    const int first = min(row0, m - 1);
    __global const short *ap = aq + (size_t)first * stride;
    int off[GEMM_TM];
    __global const char *wp[GEMM_TNP];
    int16 acc[GEMM_TM][GEMM_TNP];
#pragma unroll
    for (int r = 0; r < GEMM_TM; r++)
        off[r] = (min(row0 + r, m - 1) - first) * stride;
#pragma unroll
    for (int p = 0; p < GEMM_TNP; p++) {
        wp[p] = w + (size_t)min(panel0 + p, panels - 1) * kp * 2 * PANEL;
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++)
            acc[r][p] = (int16)(0);
    }
    for (int j = 0; j < kp; j++, ap += 2) {
        qpanel b[GEMM_TNP];
#pragma unroll
        for (int p = 0; p < GEMM_TNP; p++)
            b[p] = LOAD_PANEL(j, wp[p]);
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++) {
            const qpair av = LOAD_PAIR(ap + off[r]);
#pragma unroll
            for (int p = 0; p < GEMM_TNP; p++)
                acc[r][p] += MADD(b[p], av);
        }
    }
#pragma unroll
    for (int p = 0; p < GEMM_TNP; p++) {
        const int panel = panel0 + p;
        const int col0 = panel * PANEL;
        if (col0 >= n)
            break;
        const float16 ws = vload16(panel, w_scale);
        const float16 bv = (flags & EPI_BIAS) ? vload16(panel, bias) : (float16)(0.0f);
#pragma unroll
        for (int r = 0; r < GEMM_TM; r++) {
            const int row = row0 + r;
            if (row >= m)
                break;
            /* The row's outlier times this panel's weights at its
             * column: a short holds a column's k-pair, little-endian. */
            const float4 ai = vload4(row, a_info);
            /* Clamped: a column read from memory must not take a read
             * out of bounds (scratch that quant.cl did not write). */
            const int oc = clamp(as_int(ai.z), 0, k - 1);
            const short16 pair = vload16(
                0, (__global const short *)(wp[p] + (size_t)(oc / 2) * 2 * PANEL));
            const short16 wo = (oc & 1) ? pair >> 8 : (pair << 8) >> 8;
            const float16 v = (convert_float16(acc[r][p]) * ai.x +
                               convert_float16(wo) * ai.y) *
                                  ws +
                              bv;
            epilogue_store16(v, n - col0, (size_t)row * n + col0, residual,
                             out, flags);
        }
    }
}

#else /* VARIANT_GPU */

#define GEMM_WPT (GEMM_TS / 16)

__kernel __attribute__((reqd_work_group_size(16, 16, 1))) void
qgemm(__global const short *aq, __global const float *a_info,
      __global const char *w, __global const float *w_scale,
      __global const float *bias, __global const act_t *residual,
      __global act_t *out, const int m, const int n, const int k,
      const int flags)
{
    __local int as[GEMM_TK][GEMM_TS];
    __local int bs[GEMM_TK][GEMM_TS];
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int tid = ty * 16 + tx;
    const int col0 = get_group_id(0) * GEMM_TS, row0 = get_group_id(1) * GEMM_TS;
    const int npad = (n + PANEL - 1) / PANEL * PANEL;
    const int kp = (k + 1) / 2, stride = Q8_STRIDE(k);
    int acc[GEMM_WPT][GEMM_WPT];
    for (int i = 0; i < GEMM_WPT; i++)
        for (int j = 0; j < GEMM_WPT; j++)
            acc[i][j] = 0;
    for (int kt = 0; kt < k; kt += GEMM_TK) {
        for (int e = tid; e < GEMM_TS * GEMM_TK; e += 256) {
            const int r = e / GEMM_TK, c = e % GEMM_TK;
            const int row = row0 + r, kk = kt + c;
            as[c][r] = (row < m && kk < k) ? aq[(size_t)row * stride + kk] : 0;
            const int kb = e / GEMM_TS, cc = e % GEMM_TS;
            const int col = col0 + cc, kw = kt + kb;
            bs[kb][cc] = (col < npad && kw < k)
                             ? w[((size_t)(col / PANEL) * kp + kw / 2) * 2 * PANEL +
                                 (col % PANEL) * 2 + kw % 2]
                             : 0;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int kk = 0; kk < GEMM_TK; kk++)
            for (int i = 0; i < GEMM_WPT; i++) {
                const int av = as[kk][ty + 16 * i];
                for (int j = 0; j < GEMM_WPT; j++)
                    acc[i][j] += av * bs[kk][tx + 16 * j];
            }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < GEMM_WPT; i++) {
        const int row = row0 + ty + 16 * i;
        for (int j = 0; j < GEMM_WPT; j++) {
            const int col = col0 + tx + 16 * j;
            if (row >= m || col >= n)
                continue;
            const float4 ai = vload4(row, a_info);
            const int oc = clamp(as_int(ai.z), 0, k - 1); /* as the cpu's */
            const float wo = (float)w[((size_t)(col / PANEL) * kp + oc / 2) * 2 *
                                          PANEL +
                                      (col % PANEL) * 2 + oc % 2];
            const float v = ((float)acc[i][j] * ai.x + wo * ai.y) * w_scale[col] +
                             ((flags & EPI_BIAS) ? bias[col] : 0.0f);
            epilogue_store(v, (size_t)row * n + col, residual, out, flags);
        }
    }
}

#endif
