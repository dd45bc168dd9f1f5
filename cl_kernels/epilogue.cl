/* epilogue.cl — a GEMM's epilogue as a kernel of its own, for GEMMs that cannot fuse one (CLBlast): bias, activation, residual.
 *
 * out[r][c] = act?(x[r][c] + bias[c]) + residual[r][c], over rows x cols,
 * row-major with row stride cols. flags: EPI_BIAS adds the bias, EPI_ACT
 * applies the model's activation, EPI_RESIDUAL adds the residual (the same
 * flags as gemm.cl's fused epilogue). `out` may be `x` or `residual`.
 * Launch (runtime/ops/epilogue.c): one work-item per element, global =
 * rows * cols rounded up to the work-group of 64. No barriers: both kernel
 * families share it.
 * Constants: VARIANT_GPU, ACT (activation.h), EPI_BIAS, EPI_ACT,
 * EPI_RESIDUAL.
 */
#include "activation.h"

#if !defined(VARIANT_GPU) || !defined(EPI_BIAS) || !defined(EPI_ACT) ||      \
    !defined(EPI_RESIDUAL)
#error "VARIANT_GPU, EPI_BIAS, EPI_ACT and EPI_RESIDUAL are set by the library: build with the options clenc-compile --list prints"
#endif

__kernel void epilogue(__global const float *x, __global const float *bias,
                       __global const float *residual, __global float *out,
                       const int rows, const int cols, const int flags)
{
    const size_t i = get_global_id(0);
    if (i >= (size_t)rows * cols)
        return;
    float v = x[i];
    if (flags & EPI_BIAS)
        v += bias[i % cols];
    if (flags & EPI_ACT)
        v = ACTIVATE(v);
    if (flags & EPI_RESIDUAL)
        v += residual[i];
    out[i] = v;
}
