/* attention.cl — multi-head self-attention over packed sequences, fused: scores, mask, streaming softmax, times V.
 *
 * qkv:     [tokens][3 * HIDDEN] from the fused projection: Q in columns
 *          [0, HIDDEN), K in [HIDDEN, 2 HIDDEN), V in [2 HIDDEN, 3 HIDDEN);
 *          head h is the HEAD_DIM columns at h * HEAD_DIM of each. Heads
 *          are read in place with strides: no transpose kernels.
 * offsets: [batch + 1] prefix sums of the lengths; sequence b is rows
 *          offsets[b] .. offsets[b+1]. A query attends to its own sequence's
 *          keys only: that is the padding mask, and no padding exists.
 * out:     [tokens][HIDDEN], head h written at columns h * HEAD_DIM: the
 *          concatenated layout the output projection reads.
 * softmax(q·kᵀ / sqrt(HEAD_DIM)) · v with the max subtracted, computed in
 * blocks of ATT_KB keys with a running max and sum (the "online" softmax):
 * no seq x seq buffer anywhere, one exp per score.
 * cpu family: a work-item takes ATT_QB (16) queries of one (sequence,
 *   head), one per lane of a float16 vector (PoCL vectorised no work-group
 *   loop of a work-item per query: 7 GFLOP/s). Q·Kᵀ and P·V are small
 *   GEMMs with gemm.cl's register tile: ATT_KU (6) keys, or value columns,
 *   broadcast times one float16 of queries, 12 accumulators of the 16 ymm
 *   registers of AVX2 (a float16 is two). The queries are transposed into
 *   lanes, and the result back, 8 x 8 in registers. The exp is a
 *   polynomial exp2 on scores in log2 units. ATT_KB 128 keys a softmax
 *   block. clenc-prof, MiniLM, 2 shared cores of an AMD EPYC (Zen 2),
 *   PoCL 3.1, medians of runs interleaved with the kernel before (queries
 *   and accumulators, 2 x HEAD_DIM float16, all live and spilled; PoCL's
 *   exp): batch 32 x seq 128 46.8 GFLOP/s against 30.6, 56% of the GEMM's
 *   rate in the same runs (85, on a busy machine); batch 8 x seq 512 54.9
 *   against 36.0, 64%; batch 1 x seq 128 61.1 against 39.3, 70%.
 *   Prefetches with clang's __builtin_prefetch on PoCL, else with OpenCL's
 *   prefetch.
 *   global = (ceil(max_len / ATT_QB), batch * HEADS), local = (1, 1).
 * gpu family: a work-item per query; the work-group stages ATT_KB (16) keys
 *   and values in local memory. A correctness baseline: it has not been
 *   tuned on a GPU yet. global = (max_len rounded up to ATT_WG,
 *   batch * HEADS), local = (ATT_WG, 1).
 * Launch: runtime/ops/attention.c.
 * qkv and out hold float, or half with HALF_COMPUTE (store.h); every sum
 * is float.
 * Constants: VARIANT_GPU, HIDDEN, HEADS, HEAD_DIM, ATT_KB, ATT_QB (cpu),
 *   ATT_KU (cpu), ATT_WG (gpu), HALF_COMPUTE.
 */
#if !defined(VARIANT_GPU) || !defined(HIDDEN) || !defined(HEADS) ||         \
    !defined(HEAD_DIM) || !defined(ATT_KB) ||                                \
    !defined(ATT_QB) || !defined(ATT_KU) || !defined(ATT_WG)
#error "VARIANT_GPU, HIDDEN, HEADS, HEAD_DIM, ATT_KB, ATT_QB, ATT_KU and ATT_WG are set by the library: build with the options clenc-compile --list prints"
#endif
#if ATT_QB != 16
#error "ATT_QB: the cpu family keeps one query in each lane of a float16"
#endif
/* A prefetch: on PoCL (which defines POCL_DEVICE_ADDRESS_BITS for every
 * build) clang's, which its LLVM backend turns into the CPU's prefetch
 * instruction: 10% of attention's time here. Elsewhere OpenCL's own, which a
 * driver may ignore: Oclgrind 21.10 and Rusticl's SPIR-V writer reject the
 * llvm.prefetch intrinsic that clang's builtin becomes. */
#if defined(__clang__) && defined(POCL_DEVICE_ADDRESS_BITS)
#define ATT_PREFETCH(p, write) __builtin_prefetch((p), (write))
#else
/* Through a char pointer: OpenCL declares no prefetch of half without
 * cl_khr_fp16 (Rusticl's clang calls it ambiguous). */
#define ATT_PREFETCH(p, write) prefetch((__global const char *)(p), 1)
#endif

#define QKV_STRIDE (3 * HIDDEN)

#include "store.h"

#if !VARIANT_GPU

/* The two products are small GEMMs with the register tile of gemm.cl's cpu
 * path: ATT_KU broadcast rows times one float16 of 16 queries, 2 * ATT_KU
 * ymm accumulators on AVX2 (a float16 is two), the others for the
 * operands. Keeping all HEAD_DIM accumulators live instead (2 * HEAD_DIM
 * vectors) spilled every one of them: ~300 stack accesses per 512 FMAs,
 * 55-65 GFLOP/s. Rows are constant offsets from one walking pointer (see
 * gemm.cl: per-row indices became lane-by-lane extracts). n < ATT_KU
 * (the tails) repeats the last row, which keeps loads in bounds, and
 * stores only the first n. */

/* s[u] = q · k_u for keys u < n at kp + u rows; qt: the queries
 * transposed, one float16 per dimension. */
__attribute__((always_inline)) inline void
att_scores(const float16 *qt, __global const act_t *kp, const int n,
           float16 *s, float16 *block_max)
{
    float16 t[ATT_KU];
#pragma unroll
    for (int u = 0; u < ATT_KU; u++)
        t[u] = (float16)(0.0f);
#pragma unroll
    for (int d = 0; d < HEAD_DIM; d++, kp++) {
        const float16 qd = qt[d];
#pragma unroll
        for (int u = 0; u < ATT_KU; u++)
            t[u] = fma((float16)(ACT_LOAD(min(u, n - 1) * QKV_STRIDE, kp)), qd,
                       t[u]);
    }
    float16 m = *block_max;
#pragma unroll
    for (int u = 0; u < ATT_KU; u++)
        if (u < n) {
            s[u] = t[u];
            m = fmax(m, t[u]);
        }
    *block_max = m;
}

/* acc[u] += Σ_j p[j] · v_j[u] over nb keys, for value columns u < n at
 * vp + u; acc: one float16 of queries per column. */
__attribute__((always_inline)) inline void
att_values(float16 *acc, const float16 *p, __global const act_t *vp,
           const int nb, const int n)
{
    float16 a[ATT_KU];
#pragma unroll
    for (int u = 0; u < ATT_KU; u++)
        a[u] = acc[min(u, n - 1)];
    for (int j = 0; j < nb; j++, vp += QKV_STRIDE) {
        const float16 pj = p[j];
#pragma unroll
        for (int u = 0; u < ATT_KU; u++)
            a[u] = fma((float16)(ACT_LOAD(min(u, n - 1), vp)), pj, a[u]);
    }
#pragma unroll
    for (int u = 0; u < ATT_KU; u++)
        if (u < n)
            acc[u] = a[u];
}

/* 2^x for x <= 0 (scores minus their maximum), within 2e-7 relative: a
 * polynomial in f = x - n, n the nearest integer (fitted by
 * build-aux/fit_exp2.py; P(0) = 1, so a block's maximum gives exactly 1),
 * times 2^n built in the exponent's bits; below -126 it returns 2^-126,
 * nothing beside a maximum's 1. Adding 1.5 * 2^23 rounds to an integer (and
 * leaves it in the low bits): PoCL's rint and exp took 50 instructions a
 * vector between them (checks for overflow, denormals, each rounding
 * mode), 25% of this kernel's time. NaN stays NaN (x < -126 is false). */
__attribute__((always_inline)) inline float16 att_exp2(float16 x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    x = x < -126.0f ? (float16)(-126.0f) : x;
    const float16 t = x + magic;
    const float16 f = x - (t - magic);
    float16 p = fma(f, 1.535335905e-04f, 1.339887502e-03f);
    p = fma(p, f, 9.618436918e-03f);
    p = fma(p, f, 5.550332367e-02f);
    p = fma(p, f, 2.402264774e-01f);
    p = fma(p, f, 6.931471825e-01f);
    p = fma(p, f, 1.0f);
    return p * as_float16((as_int16(t) - (as_int(magic) - 127)) << 23);
}

/* m[i][k] becomes m[k][i]: the queries' rows into lanes and back, in
 * registers (unpack, shuffle and 128-bit lane moves, as on AVX); element
 * by element it was 512 single-float stores a work-item, 5% of the time. */
__attribute__((always_inline)) inline void att_transpose8(float8 *m)
{
    float8 a[8], b[8];
#pragma unroll
    for (int i = 0; i < 8; i += 2) {
        a[i] = shuffle2(m[i], m[i + 1], (uint8)(0, 8, 1, 9, 4, 12, 5, 13));
        a[i + 1] = shuffle2(m[i], m[i + 1], (uint8)(2, 10, 3, 11, 6, 14, 7, 15));
    }
#pragma unroll
    for (int i = 0; i < 8; i += 4) {
        b[i] = shuffle2(a[i], a[i + 2], (uint8)(0, 1, 8, 9, 4, 5, 12, 13));
        b[i + 1] = shuffle2(a[i], a[i + 2], (uint8)(2, 3, 10, 11, 6, 7, 14, 15));
        b[i + 2] = shuffle2(a[i + 1], a[i + 3], (uint8)(0, 1, 8, 9, 4, 5, 12, 13));
        b[i + 3] = shuffle2(a[i + 1], a[i + 3], (uint8)(2, 3, 10, 11, 6, 7, 14, 15));
    }
#pragma unroll
    for (int k = 0; k < 4; k++) {
        m[k] = shuffle2(b[k], b[k + 4], (uint8)(0, 1, 2, 3, 8, 9, 10, 11));
        m[k + 4] = shuffle2(b[k], b[k + 4], (uint8)(4, 5, 6, 7, 12, 13, 14, 15));
    }
}

/* qt[d]: dimension d of queries q0 .. q0 + ATT_QB - 1 of the sequence at
 * row start, head h, one a lane, in log2 units: exp(x) = exp2(x · log2 e),
 * folded into the scale. Lanes past the sequence repeat its last query
 * (loads stay in bounds) and are never stored. */
__attribute__((always_inline)) inline void
att_load_queries(__global const act_t *qkv, __global act_t *out,
                 const int start, const int len, const int h, const int q0,
                 float16 *qt)
{
    const float scale = M_LOG2E_F / sqrt((float)HEAD_DIM);
    float *qf = (float *)qt;
    /* The block's query and output rows are touched once each, by this
     * work-item only, and came from memory one after the other: 11% and
     * 8% of the time (perf), against 4% and 4% asking for all of them
     * first. */
    for (int r = 0; r < ATT_QB; r++) {
        const size_t row = start + min(q0 + r, len - 1);
        for (int d = 0; d < HEAD_DIM; d += 16) {
            ATT_PREFETCH(qkv + row * QKV_STRIDE + h * HEAD_DIM + d, 0);
            ATT_PREFETCH(out + row * HIDDEN + h * HEAD_DIM + d, 1);
        }
    }
    for (int g = 0; g < ATT_QB; g += 8) {
        __global const act_t *qrow[8];
#pragma unroll
        for (int i = 0; i < 8; i++)
            qrow[i] = qkv + (size_t)(start + min(q0 + g + i, len - 1)) *
                                QKV_STRIDE + h * HEAD_DIM;
        int d = 0;
        for (; d + 8 <= HEAD_DIM; d += 8) {
            float8 m[8];
#pragma unroll
            for (int i = 0; i < 8; i++)
                m[i] = ACT_LOAD8(0, qrow[i] + d) * scale;
            att_transpose8(m);
#pragma unroll
            for (int k = 0; k < 8; k++)
                vstore8(m[k], 0, qf + (d + k) * ATT_QB + g);
        }
        for (; d < HEAD_DIM; d++)
#pragma unroll
            for (int i = 0; i < 8; i++)
                qf[d * ATT_QB + g + i] = ACT_LOAD(d, qrow[i]) * scale;
    }
}

/* The first n (<= ATT_QB) queries' results, acc[d] one a lane, into rows
 * start + q0 ... of out, head h. */
__attribute__((always_inline)) inline void
att_store(const float16 *acc, __global act_t *out, const int start,
          const int h, const int q0, const int n)
{
    for (int g = 0; g < n; g += 8) {
        __global act_t *o =
            out + (size_t)(start + q0 + g) * HIDDEN + h * HEAD_DIM;
        int d = 0;
        for (; d + 8 <= HEAD_DIM; d += 8) {
            float8 m[8];
#pragma unroll
            for (int k = 0; k < 8; k++)
                m[k] = vload8(0, (const float *)&acc[d + k] + g);
            att_transpose8(m);
            for (int i = 0; i < min(8, n - g); i++)
                ACT_STORE8(m[i], 0, o + (size_t)i * HIDDEN + d);
        }
        for (; d < HEAD_DIM; d++) {
            float lanes[ATT_QB];
            vstore16(acc[d], 0, lanes);
            for (int i = 0; i < min(8, n - g); i++)
                ACT_STORE(lanes[g + i], (size_t)i * HIDDEN + d, o);
        }
    }
}

/* Queries q0 .. q0 + ATT_QB - 1 (those below len) of the sequence at row
 * start, head h. */
__attribute__((always_inline)) inline void
att_queries(__global const act_t *qkv, __global act_t *out, const int start,
            const int len, const int h, const int q0)
{
    float16 qt[HEAD_DIM], acc[HEAD_DIM];
    att_load_queries(qkv, out, start, len, h, q0, qt);
    for (int d = 0; d < HEAD_DIM; d++)
        acc[d] = (float16)(0.0f);
    __global const act_t *kbase =
        qkv + (size_t)start * QKV_STRIDE + HIDDEN + h * HEAD_DIM;
    __global const act_t *vbase = kbase + HIDDEN;
    float16 run_max = (float16)(-INFINITY), run_sum = (float16)(0.0f);
    for (int j0 = 0; j0 < len; j0 += ATT_KB) {
        const int nb = min(ATT_KB, len - j0);
        __global const act_t *kp = kbase + (size_t)j0 * QKV_STRIDE;
        float16 s[ATT_KB];
        float16 block_max = run_max;
        int j = 0;
        for (; j + ATT_KU <= nb; j += ATT_KU) {
            /* The next tile's keys: the first query block of a head finds
             * them in no cache. Rows past the sequence are only prefetched
             * (a prefetch never faults), never read. */
#pragma unroll
            for (int u = ATT_KU; u < 2 * ATT_KU; u++)
#pragma unroll
                for (int d = 0; d < HEAD_DIM; d += 16)
                    ATT_PREFETCH(kp + (size_t)(j + u) * QKV_STRIDE + d, 0);
            att_scores(qt, kp + (size_t)j * QKV_STRIDE, ATT_KU, s + j,
                       &block_max);
        }
        if (j < nb)
            att_scores(qt, kp + (size_t)j * QKV_STRIDE, nb - j, s + j,
                       &block_max);
        /* At the start it multiplies zeros (2^-126 for exp(-inf)); afterwards
         * it rescales what was summed under the old maximum. */
        const float16 corr = att_exp2(run_max - block_max);
        run_sum *= corr;
        for (int d = 0; d < HEAD_DIM; d++)
            acc[d] *= corr;
        for (j = 0; j < nb; j++) {
            s[j] = att_exp2(s[j] - block_max);
            run_sum += s[j];
        }
        __global const act_t *vp = vbase + (size_t)j0 * QKV_STRIDE;
        int d0 = 0;
        for (; d0 + ATT_KU <= HEAD_DIM; d0 += ATT_KU)
            att_values(acc + d0, s, vp + d0, nb, ATT_KU);
        if (d0 < HEAD_DIM)
            att_values(acc + d0, s, vp + d0, nb, HEAD_DIM - d0);
        run_max = block_max;
    }
    const float16 inv = 1.0f / run_sum;
    for (int d = 0; d < HEAD_DIM; d++)
        acc[d] *= inv;
    att_store(acc, out, start, h, q0, min(ATT_QB, len - q0));
}

__kernel void attention(__global const act_t *qkv,
                        __global const int *offsets, __global act_t *out)
{
    const int q0 = get_global_id(0) * ATT_QB;
    const int b = get_global_id(1) / HEADS, h = get_global_id(1) % HEADS;
    const int start = offsets[b], len = offsets[b + 1] - start;
    if (q0 < len)
        att_queries(qkv, out, start, len, h, q0);
}

#else /* VARIANT_GPU */

__kernel void attention(__global const act_t *qkv,
                        __global const int *offsets, __global act_t *out)
{
    const int qi = get_global_id(0);
    const int b = get_global_id(1) / HEADS, h = get_global_id(1) % HEADS;
    const int start = offsets[b], len = offsets[b + 1] - start;
    __local float ks[ATT_KB][HEAD_DIM];
    __local float vs[ATT_KB][HEAD_DIM];
    if (get_group_id(0) * get_local_size(0) >= (size_t)len)
        return; /* the whole work-group is past this sequence */
    const int active = qi < len;
    const float scale = 1.0f / sqrt((float)HEAD_DIM);
    float q[HEAD_DIM], acc[HEAD_DIM];
    __global const act_t *qrow =
        qkv + (size_t)(start + (active ? qi : 0)) * QKV_STRIDE + h * HEAD_DIM;
    for (int d = 0; d < HEAD_DIM; d++) {
        q[d] = ACT_LOAD(d, qrow) * scale;
        acc[d] = 0.0f;
    }
    __global const act_t *kbase =
        qkv + (size_t)start * QKV_STRIDE + HIDDEN + h * HEAD_DIM;
    __global const act_t *vbase = kbase + HIDDEN;
    float run_max = -INFINITY, run_sum = 0.0f;
    for (int j0 = 0; j0 < len; j0 += ATT_KB) {
        const int nb = min(ATT_KB, len - j0);
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = get_local_id(0); e < nb * HEAD_DIM;
             e += get_local_size(0)) {
            const size_t row = (size_t)(j0 + e / HEAD_DIM) * QKV_STRIDE;
            ks[e / HEAD_DIM][e % HEAD_DIM] = ACT_LOAD(row + e % HEAD_DIM, kbase);
            vs[e / HEAD_DIM][e % HEAD_DIM] = ACT_LOAD(row + e % HEAD_DIM, vbase);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float s[ATT_KB];
        float block_max = run_max;
        for (int j = 0; j < nb; j++) {
            float dot = 0.0f;
            for (int d = 0; d < HEAD_DIM; d++)
                dot = fma(q[d], ks[j][d], dot);
            s[j] = dot;
            block_max = fmax(block_max, dot);
        }
        /* exp(-inf) = 0 clears the empty start; afterwards it rescales what
         * was summed under the old maximum. */
        const float corr = exp(run_max - block_max);
        run_sum *= corr;
        for (int d = 0; d < HEAD_DIM; d++)
            acc[d] *= corr;
        for (int j = 0; j < nb; j++) {
            const float p = exp(s[j] - block_max);
            run_sum += p;
            for (int d = 0; d < HEAD_DIM; d++)
                acc[d] = fma(p, vs[j][d], acc[d]);
        }
        run_max = block_max;
    }
    if (!active)
        return;
    __global act_t *o = out + (size_t)(start + qi) * HIDDEN + h * HEAD_DIM;
    const float inv = 1.0f / run_sum;
    for (int d = 0; d < HEAD_DIM; d++)
        ACT_STORE(acc[d] * inv, d, o);
}

#endif
