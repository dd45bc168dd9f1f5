/* layernorm.cl — row normalisations: LayerNorm (in place or out of place) and L2 normalisation of pooled vectors.
 *
 * layernorm: out[r] = LN(in[r]) * gamma + beta for rows r < rows, each row
 *   HIDDEN floats, contiguous (row stride HIDDEN). `out` may be `in`.
 * l2norm: x[r] /= max(||x[r]||, 1e-12) in place (sentence-transformers'
 *   Normalize: torch.nn.functional.normalize's eps).
 * Launch: cpu family, one work-item per row (global = rows rounded up);
 *   gpu family, one work-group of ROW_WG per row (global = rows * ROW_WG).
 * Tunables: VARIANT_GPU, ROW_WG (common.h).
 */
#include "common.h"

__kernel void layernorm(__global const float *in, __global float *out,
                        __global const float *gamma,
                        __global const float *beta, const int rows)
{
#if VARIANT_GPU
    __local float scratch[ROW_SCRATCH];
    const int r = get_group_id(0);
#else
    const int r = get_global_id(0);
#endif
    if (r >= rows)
        return; /* uniform across a gpu work-group: whole groups leave */
    __global const float *x = in + (size_t)r * HIDDEN;
    __global float *y = out + (size_t)r * HIDDEN;
    if (x != y) {
#if !VARIANT_GPU && HIDDEN % 16 == 0
        for (int i = 0; i < HIDDEN / 16; i++)
            vstore16(vload16(i, x), i, y);
#else
        for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
            y[i] = x[i];
#endif
    }
#if VARIANT_GPU
    row_layernorm(y, gamma, beta, scratch);
#else
    row_layernorm(y, gamma, beta);
#endif
}

__kernel void l2norm(__global float *x, const int rows)
{
#if VARIANT_GPU
    __local float scratch[ROW_WG];
    const int r = get_group_id(0);
#else
    const int r = get_global_id(0);
#endif
    if (r >= rows)
        return;
    __global float *y = x + (size_t)r * HIDDEN;
#if !VARIANT_GPU && HIDDEN % 16 == 0
    float16 s16 = (float16)(0.0f);
    for (int i = 0; i < HIDDEN / 16; i++) {
        const float16 v = vload16(i, y);
        s16 = fma(v, v, s16);
    }
    const float inv = 1.0f / fmax(sqrt(sum16(s16)), 1e-12f);
    for (int i = 0; i < HIDDEN / 16; i++)
        vstore16(vload16(i, y) * inv, i, y);
#else
    float s = 0.0f;
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
        s += y[i] * y[i];
    const float inv = 1.0f / fmax(sqrt(ROW_SUM(s)), 1e-12f);
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
        y[i] *= inv;
#endif
}
