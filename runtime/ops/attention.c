/* attention.c — the attention op: every head of every packed sequence in one launch (attention.cl). */
#include "ops/ops.h"

clenc_status clenc__op_attention(clenc__launcher *L, cl_mem qkv,
                                 cl_mem offsets, unsigned batch,
                                 unsigned tokens, unsigned max_len,
                                 double sum_sq, cl_mem out)
{
    clenc_status st = clenc__kernel_args(L->kernels[CLENC__K_ATTENTION], "mmm",
                                         qkv, offsets, out);
    if (st != CLENC_OK)
        return st;
    size_t global[2], local[2] = {1, 1};
    global[1] = (size_t)batch * L->spec.heads;
    if (L->spec.family == CLENC_VARIANT_GPU) {
        local[0] = CLENC__ATT_WG;
        global[0] = (max_len + CLENC__ATT_WG - 1) / CLENC__ATT_WG * CLENC__ATT_WG;
    } else {
        global[0] = (max_len + CLENC__ATT_QB - 1) / CLENC__ATT_QB;
    }
    /* Q·Kᵀ and P·V: 2 · 2 · L² · HIDDEN a sequence. Traffic: Q, K and V read
     * and the result written once (what a cache-perfect run moves). */
    const double h = L->spec.hidden;
    const clenc__work work = {tokens, batch, max_len, 4 * sum_sq * h,
                              4.0 * tokens * h * sizeof(float)};
    return clenc__launch_kernel(L, CLENC__K_ATTENTION, 2, global, local,
                                &work);
}
