/* activation.cl — GEMM epilogue as its own kernel (for GEMMs that cannot fuse one, e.g. CLBlast): bias, activation, residual.
 *
 * out[r][c] = act?(x[r][c] + bias[c]) + residual[r][c], over rows x cols,
 * row-major with row stride cols. flags: 1 add bias, 2 apply the model's
 * activation (ACT), 4 add residual. `out` may be `x` or `residual`.
 * Launch: one work-item per element (global = rows * cols, rounded up).
 * Needs no barriers, so both kernel families share it.
 */
#include "common.h"

__kernel void bias_act_residual(__global const float *x,
                                __global const float *bias,
                                __global const float *residual,
                                __global float *out, const int rows,
                                const int cols, const int flags)
{
    const size_t i = get_global_id(0);
    if (i >= (size_t)rows * cols)
        return;
    float v = x[i];
    if (flags & 1)
        v += bias[i % cols];
    if (flags & 2)
        v = ACTIVATE(v);
    if (flags & 4)
        v += residual[i];
    out[i] = v;
}
