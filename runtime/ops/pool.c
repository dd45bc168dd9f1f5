/* pool.c — the pooling ops: one vector a sequence (CLS or mean), and L2 normalisation of vectors (pool.cl). */
#include "ops/ops.h"

/* One work-item an element: a fixed local size, as for every kernel. */
#define ELEMENTWISE_WG 64

clenc_status clenc__op_pool(clenc__launcher *L, cl_mem x, cl_mem offsets,
                            unsigned batch, unsigned tokens, int mode,
                            cl_mem out)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_POOL], "mmmii", x,
                                         offsets, out, (int)batch, mode);
    if (st != CLENC_OK)
        return st;
    const double h = L->spec.hidden;
    const size_t local = ELEMENTWISE_WG;
    const size_t global = ((size_t)batch * L->spec.hidden + ELEMENTWISE_WG - 1) /
                          ELEMENTWISE_WG * ELEMENTWISE_WG;
    const int mean = mode == CLENC__POOL_MEAN;
    const clenc__work work = {batch, tokens, 0, mean ? tokens * h : 0,
                              (mean ? tokens + batch : 2.0 * batch) * h *
                                  sizeof(float)};
    return clenc__launch_kernel(L, CLENC__K_POOL, 1, &global, &local, &work);
}

clenc_status clenc__op_l2norm(clenc__launcher *L, cl_mem x, unsigned rows)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_L2NORM], "mi", x,
                                         (int)rows);
    const double h = L->spec.hidden;
    return st != CLENC_OK ? st
                          : clenc__launch_rows(L, CLENC__K_L2NORM, rows, 3 * h,
                                               2 * h * sizeof(float));
}

clenc_status clenc__op_unpack(clenc__launcher *L, cl_mem x, cl_mem offsets,
                              unsigned rows, unsigned seq, int packed,
                              cl_mem out)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_UNPACK], "mmmiii",
                                         x, offsets, out, (int)rows, (int)seq,
                                         packed);
    if (st != CLENC_OK)
        return st;
    const size_t local = ELEMENTWISE_WG;
    const size_t elements = (size_t)rows * L->spec.hidden;
    const size_t global =
        (elements + ELEMENTWISE_WG - 1) / ELEMENTWISE_WG * ELEMENTWISE_WG;
    const clenc__work work = {rows, 0, 0, 0, 2.0 * elements * sizeof(float)};
    return clenc__launch_kernel(L, CLENC__K_UNPACK, 1, &global, &local, &work);
}
