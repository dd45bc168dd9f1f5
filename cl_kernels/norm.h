/* norm.h — LayerNorm of one row in place, in either kernel family. */
#ifndef CLENC_NORM_H
#define CLENC_NORM_H

#include "rows.h"
#include "store.h"

#if !defined(LN_EPS)
#error "LN_EPS is set by the library: build with the options clenc-compile --list prints"
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

inline void row_layernorm(__global act_t *y, __global const float *gamma,
                          __global const float *beta, __local float *scratch)
{
    if (get_local_id(0) == 0)
        scratch[ROW_WG] = ACT_LOAD(0, y);
    barrier(CLK_LOCAL_MEM_FENCE);
    const float pivot = scratch[ROW_WG];
    float s = 0.0f;
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
        s += ACT_LOAD(i, y) - pivot;
    const float shift = ROW_SUM(s) / HIDDEN; /* mean - pivot */
    float v = 0.0f;
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP) {
        const float d = (ACT_LOAD(i, y) - pivot) - shift;
        v += d * d;
    }
    const float inv = 1.0f / sqrt(ROW_SUM(v) / HIDDEN + LN_EPS);
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
        ACT_STORE(((ACT_LOAD(i, y) - pivot) - shift) * inv * gamma[i] + beta[i],
                  i, y);
}
#else
/* A work-item owns the row: 16 floats at a time where the row allows
 * (PoCL left the scalar loops scalar: 8 GB/s). */
inline void row_layernorm(__global act_t *y, __global const float *gamma,
                          __global const float *beta)
{
    const float pivot = ACT_LOAD(0, y);
#if HIDDEN % 16 == 0
    float16 s16 = (float16)(0.0f);
    for (int i = 0; i < HIDDEN / 16; i++)
        s16 += ACT_LOAD16(i, y) - pivot;
    const float shift = sum16(s16) / HIDDEN;
    float16 v16 = (float16)(0.0f);
    for (int i = 0; i < HIDDEN / 16; i++) {
        const float16 d = (ACT_LOAD16(i, y) - pivot) - shift;
        v16 = fma(d, d, v16);
    }
    const float inv = 1.0f / sqrt(sum16(v16) / HIDDEN + LN_EPS);
    for (int i = 0; i < HIDDEN / 16; i++)
        ACT_STORE16(((ACT_LOAD16(i, y) - pivot) - shift) * inv *
                            vload16(i, gamma) +
                        vload16(i, beta),
                    i, y);
#else
    float s = 0.0f;
    for (int i = 0; i < HIDDEN; i++)
        s += ACT_LOAD(i, y) - pivot;
    const float shift = s / HIDDEN;
    float v = 0.0f;
    for (int i = 0; i < HIDDEN; i++) {
        const float d = (ACT_LOAD(i, y) - pivot) - shift;
        v += d * d;
    }
    const float inv = 1.0f / sqrt(v / HIDDEN + LN_EPS);
    for (int i = 0; i < HIDDEN; i++)
        ACT_STORE(((ACT_LOAD(i, y) - pivot) - shift) * inv * gamma[i] + beta[i],
                  i, y);
#endif
}
#endif

#endif
