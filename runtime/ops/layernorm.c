/* layernorm.c — the LayerNorm op over token rows, in place or out of place (layernorm.cl). */
#include "ops/ops.h"

clenc_status clenc__op_layernorm(clenc__launcher *L, cl_mem in, cl_mem out,
                                 cl_mem gamma, cl_mem beta, unsigned rows)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_LAYERNORM],
                                         "mmmmi", in, out, gamma, beta,
                                         (int)rows);
    const double h = L->spec.hidden;
    return st != CLENC_OK ? st
                          : clenc__launch_rows(L, CLENC__K_LAYERNORM, rows,
                                               8 * h, 2 * h * sizeof(float));
}
