/* layernorm.cl — LayerNorm of token rows, in place or out of place.
 *
 * out[r] = LN(in[r]) * gamma + beta for rows r < rows, each row HIDDEN
 * floats, contiguous (row stride HIDDEN). `out` may be `in`.
 * Launch (runtime/ops/layernorm.c): cpu family, one work-item per row,
 * global = rows rounded up to 8; gpu family, one work-group of ROW_WG per
 * row, global = rows * ROW_WG.
 * Constants: VARIANT_GPU, HIDDEN, ROW_WG (rows.h), LN_EPS (norm.h).
 */
#include "norm.h"

__kernel void layernorm(__global const act_t *in, __global act_t *out,
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
    __global const act_t *x = in + (size_t)r * HIDDEN;
    __global act_t *y = out + (size_t)r * HIDDEN;
    if (x != y) {
#if !VARIANT_GPU && HIDDEN % 16 == 0
        for (int i = 0; i < HIDDEN / 16; i++)
            ACT_STORE16(ACT_LOAD16(i, x), i, y);
#else
        for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
            ACT_STORE(ACT_LOAD(i, x), i, y);
#endif
    }
#if VARIANT_GPU
    row_layernorm(y, gamma, beta, scratch);
#else
    row_layernorm(y, gamma, beta);
#endif
}
