/* attention.cl — multi-head self-attention over packed sequences, fused: scores, mask, streaming softmax, times V.
 *
 * qkv:     [tokens][3 * HIDDEN] from the fused projection: Q in columns
 *          [0, HIDDEN), K in [HIDDEN, 2 HIDDEN), V in [2 HIDDEN, 3 HIDDEN);
 *          head h is the HEAD_DIM columns at h * HEAD_DIM of each. Heads
 *          are read in place with strides: no transpose kernels.
 * offsets: [batch + 1] prefix sums of the lengths; sequence b is rows
 *          offsets[b] .. offsets[b+1]. A query attends to its own sequence's
 *          keys only: that is the padding mask, and no padding exists.
 * out:     [tokens][HIDDEN], head h written at columns h * HEAD_DIM: the
 *          concatenated layout the output projection reads.
 * softmax(q·kᵀ / sqrt(HEAD_DIM)) · v with the max subtracted, computed in
 * blocks of ATT_KB keys with a running max and sum (the "online" softmax):
 * no seq x seq buffer anywhere, one exp per score.
 * Launch: global = (max_len rounded up to ATT_WG, batch * HEADS),
 *   local = (ATT_WG, 1): a work-item per (query, sequence, head).
 * cpu family: each work-item streams keys from global memory.
 * gpu family: the work-group stages ATT_KB keys and values in local memory.
 * Tunables: HEADS, HEAD_DIM, ATT_KB (16), ATT_WG (8 cpu / 64 gpu), VARIANT_GPU.
 */
#include "common.h"

#ifndef HEADS
#define HEADS 12
#endif
#ifndef HEAD_DIM
#define HEAD_DIM (HIDDEN / HEADS)
#endif
#ifndef ATT_KB
#define ATT_KB 16
#endif
#define QKV_STRIDE (3 * HIDDEN)

__kernel void attention(__global const float *qkv,
                        __global const int *offsets, __global float *out)
{
    const int qi = get_global_id(0);
    const int b = get_global_id(1) / HEADS, h = get_global_id(1) % HEADS;
    const int start = offsets[b], len = offsets[b + 1] - start;
#if VARIANT_GPU
    __local float ks[ATT_KB][HEAD_DIM];
    __local float vs[ATT_KB][HEAD_DIM];
    if (get_group_id(0) * get_local_size(0) >= (size_t)len)
        return; /* the whole work-group is past this sequence */
    const int active = qi < len;
#else
    if (qi >= len)
        return;
    const int active = 1;
#endif
    const float scale = 1.0f / sqrt((float)HEAD_DIM);
    float q[HEAD_DIM], acc[HEAD_DIM];
    __global const float *qrow =
        qkv + (size_t)(start + (active ? qi : 0)) * QKV_STRIDE + h * HEAD_DIM;
    for (int d = 0; d < HEAD_DIM; d++) {
        q[d] = qrow[d] * scale;
        acc[d] = 0.0f;
    }
    __global const float *kbase =
        qkv + (size_t)start * QKV_STRIDE + HIDDEN + h * HEAD_DIM;
    __global const float *vbase = kbase + HIDDEN;
    float run_max = -INFINITY, run_sum = 0.0f;
    for (int j0 = 0; j0 < len; j0 += ATT_KB) {
        const int nb = min(ATT_KB, len - j0);
#if VARIANT_GPU
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = get_local_id(0); e < nb * HEAD_DIM;
             e += get_local_size(0)) {
            const size_t row = (size_t)(j0 + e / HEAD_DIM) * QKV_STRIDE;
            ks[e / HEAD_DIM][e % HEAD_DIM] = kbase[row + e % HEAD_DIM];
            vs[e / HEAD_DIM][e % HEAD_DIM] = vbase[row + e % HEAD_DIM];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
#define KEY(j, d) ks[j][d]
#define VAL(j, d) vs[j][d]
#else
#define KEY(j, d) kbase[(size_t)(j0 + (j)) * QKV_STRIDE + (d)]
#define VAL(j, d) vbase[(size_t)(j0 + (j)) * QKV_STRIDE + (d)]
#endif
        float s[ATT_KB];
        float block_max = run_max;
        for (int j = 0; j < nb; j++) {
            float dot = 0.0f;
            for (int d = 0; d < HEAD_DIM; d++)
                dot = fma(q[d], KEY(j, d), dot);
            s[j] = dot;
            block_max = fmax(block_max, dot);
        }
        /* exp(-inf) = 0 clears the empty start; afterwards it rescales what
         * was summed under the old maximum. */
        const float corr = exp(run_max - block_max);
        run_sum *= corr;
        for (int d = 0; d < HEAD_DIM; d++)
            acc[d] *= corr;
        for (int j = 0; j < nb; j++) {
            const float p = exp(s[j] - block_max);
            run_sum += p;
            for (int d = 0; d < HEAD_DIM; d++)
                acc[d] = fma(p, VAL(j, d), acc[d]);
        }
        run_max = block_max;
#undef KEY
#undef VAL
    }
    if (!active)
        return;
    __global float *o = out + (size_t)(start + qi) * HIDDEN + h * HEAD_DIM;
    const float inv = 1.0f / run_sum;
    for (int d = 0; d < HEAD_DIM; d++)
        o[d] = acc[d] * inv;
}
