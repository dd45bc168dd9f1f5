/* common.h — helpers every kernel file includes: model constants, activations, per-row reductions for both kernel families.
 *
 * Included with #include "common.h": offline compilers take -I cl_kernels;
 * the runtime pastes the file in itself (embedded sources have no folder).
 *
 * Kernel families (VARIANT_GPU):
 *   0 (cpu): no barriers, no local memory. One work-item owns a whole row.
 *     PoCL runs a work-group's work-items in a loop and must split that loop
 *     at every barrier; a textbook tiled GEMM ran at 3 GFLOP/s here.
 *   1 (gpu): a work-group of ROW_WG work-items shares a row and reduces
 *     through local memory.
 */
#ifndef CLENC_COMMON_H
#define CLENC_COMMON_H

#ifndef VARIANT_GPU
#define VARIANT_GPU 0
#endif
#ifndef HIDDEN
#define HIDDEN 384
#endif
#ifndef LN_EPS
#define LN_EPS 1e-12f
#endif
/* 0: GELU (erf), 1: GELU (tanh approximation), 2: ReLU */
#ifndef ACT
#define ACT 0
#endif
/* Work-items sharing one row in the gpu family. */
#ifndef ROW_WG
#define ROW_WG 64
#endif

/* The model's activation, written as a macro so that it applies to float
 * and to floatN alike (OpenCL C 1.2 has no overloading of user functions). */
#if ACT == 0
#define ACTIVATE(x) (0.5f * (x) * (1.0f + erf((x) * 0.70710678118654752f)))
#elif ACT == 1
#define ACTIVATE(x)                                                            \
    (0.5f * (x) *                                                              \
     (1.0f + tanh(0.79788456080286536f * ((x) + 0.044715f * (x) * (x) * (x)))))
#else
#define ACTIVATE(x) fmax((x), 0.0f)
#endif

#if VARIANT_GPU
/* Sum of v over the work-group; every work-item gets the result. */
inline float group_sum(float v, __local float *scratch)
{
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = ROW_WG / 2; span > 0; span >>= 1) {
        if (lid < span)
            scratch[lid] += scratch[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float sum = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch is reused by the next call */
    return sum;
}
#define ROW_FIRST get_local_id(0)
#define ROW_STEP ROW_WG
#define ROW_SUM(v) group_sum((v), scratch)
#else
#define ROW_FIRST 0
#define ROW_STEP 1
#define ROW_SUM(v) (v)
#endif

/* LayerNorm of y[0..HIDDEN) in place. Everything is computed on deviations
 * from the row's first element: a residual stream can sit far from 0, and
 * at 100 a float cannot even hold the mean to better than 4e-6, while
 * y - pivot is exact and small. The variance is a second pass over the
 * deviations from the mean, stable where E[y²] - E[y]² cancels.
 * In the gpu family each work-item reads and writes only its own elements
 * of y; the pivot y[0] reaches the others through local memory. When every
 * work-item read y[0] itself, the barriers between those reads and work-item
 * 0's final write of y[0] fenced local memory only, so the OpenCL memory
 * model left them unordered: a data race (Oclgrind --data-races). */
#if VARIANT_GPU
/* Local floats a kernel calling row_layernorm declares: ROW_WG for the
 * sums, one for the pivot. */
#define ROW_SCRATCH (ROW_WG + 1)

inline void row_layernorm(__global float *y, __global const float *gamma,
                          __global const float *beta, __local float *scratch)
{
    if (get_local_id(0) == 0)
        scratch[ROW_WG] = y[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    const float pivot = scratch[ROW_WG];
    float s = 0.0f;
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
        s += y[i] - pivot;
    const float shift = ROW_SUM(s) / HIDDEN; /* mean - pivot */
    float v = 0.0f;
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP) {
        const float d = (y[i] - pivot) - shift;
        v += d * d;
    }
    const float inv = 1.0f / sqrt(ROW_SUM(v) / HIDDEN + LN_EPS);
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
        y[i] = ((y[i] - pivot) - shift) * inv * gamma[i] + beta[i];
}
#else
/* The tree v.lo + v.hi, then halves again, written out lane by lane: the
 * same sums in the same order. Oclgrind 21.10 took the halves' sums for
 * uninitialised values (a false report that --uninitialized turns into a
 * failure); it follows single lanes exactly. */
inline float sum16(float16 v)
{
    const float a0 = v.s0 + v.s8, a1 = v.s1 + v.s9, a2 = v.s2 + v.sa,
                a3 = v.s3 + v.sb, a4 = v.s4 + v.sc, a5 = v.s5 + v.sd,
                a6 = v.s6 + v.se, a7 = v.s7 + v.sf;
    const float b0 = a0 + a4, b1 = a1 + a5, b2 = a2 + a6, b3 = a3 + a7;
    return (b0 + b2) + (b1 + b3);
}

/* A work-item owns the row: 16 floats at a time where the row allows
 * (PoCL left the scalar loops scalar: 8 GB/s). */
inline void row_layernorm(__global float *y, __global const float *gamma,
                          __global const float *beta)
{
    const float pivot = y[0];
#if HIDDEN % 16 == 0
    float16 s16 = (float16)(0.0f);
    for (int i = 0; i < HIDDEN / 16; i++)
        s16 += vload16(i, y) - pivot;
    const float shift = sum16(s16) / HIDDEN;
    float16 v16 = (float16)(0.0f);
    for (int i = 0; i < HIDDEN / 16; i++) {
        const float16 d = (vload16(i, y) - pivot) - shift;
        v16 = fma(d, d, v16);
    }
    const float inv = 1.0f / sqrt(sum16(v16) / HIDDEN + LN_EPS);
    for (int i = 0; i < HIDDEN / 16; i++)
        vstore16(((vload16(i, y) - pivot) - shift) * inv * vload16(i, gamma) +
                     vload16(i, beta),
                 i, y);
#else
    float s = 0.0f;
    for (int i = 0; i < HIDDEN; i++)
        s += y[i] - pivot;
    const float shift = s / HIDDEN;
    float v = 0.0f;
    for (int i = 0; i < HIDDEN; i++) {
        const float d = (y[i] - pivot) - shift;
        v += d * d;
    }
    const float inv = 1.0f / sqrt(v / HIDDEN + LN_EPS);
    for (int i = 0; i < HIDDEN; i++)
        y[i] = ((y[i] - pivot) - shift) * inv * gamma[i] + beta[i];
#endif
}
#endif

#endif
