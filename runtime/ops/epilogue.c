/* epilogue.c — the epilogue op: bias, activation and residual as a kernel of their own, behind a GEMM that cannot fuse them (epilogue.cl). */
#include "ops/ops.h"

/* One work-item an element: a fixed local size, as for every kernel. */
#define ELEMENTWISE_WG 64

clenc_status clenc__op_epilogue(clenc__launcher *L, cl_mem x, cl_mem bias,
                                cl_mem residual, cl_mem out, unsigned rows,
                                unsigned cols, unsigned flags)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_EPILOGUE],
                                         "mmmmiii", x, bias, residual, out,
                                         (int)rows, (int)cols, (int)flags);
    if (st != CLENC_OK)
        return st;
    const size_t local = ELEMENTWISE_WG;
    const size_t global = ((size_t)rows * cols + ELEMENTWISE_WG - 1) /
                          ELEMENTWISE_WG * ELEMENTWISE_WG;
    /* An erf or tanh GELU is about ten flops an element; bias and residual
     * one each. Reads x (and the residual), writes out. */
    const double n = (double)rows * cols;
    const clenc__work work = {rows, cols, 0,
                              n * ((flags & CLENC__EPI_ACT) ? 10 : 2),
                              n * ((flags & CLENC__EPI_RESIDUAL) ? 3 : 2) *
                                  sizeof(float)};
    return clenc__launch_kernel(L, CLENC__K_EPILOGUE, 1, &global, &local,
                                &work);
}
