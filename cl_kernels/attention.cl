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
 * cpu family: a work-item takes ATT_QB queries of one (sequence, head),
 *   one per lane of a float16 vector: each key row is read once for 16
 *   queries, every multiply-add is 16 wide, and no work-group loop needs
 *   vectorising (PoCL did not, for a work-item per query: 7 GFLOP/s).
 *   ATT_KB 128 keys a softmax block, ATT_KU 8 keys a step: 220-228 GFLOP/s
 *   on MiniLM at batch 32 x seq 128 (clenc-prof, 2 cores of an AMD EPYC,
 *   PoCL 3.1). global = (ceil(max_len / ATT_QB), batch * HEADS),
 *   local = (1, 1).
 * gpu family: a work-item per query; the work-group stages ATT_KB (16) keys
 *   and values in local memory. A correctness baseline: it has not been
 *   tuned on a GPU yet. global = (max_len rounded up to ATT_WG,
 *   batch * HEADS), local = (ATT_WG, 1).
 * Launch: runtime/ops/attention.c.
 * Constants: VARIANT_GPU, HIDDEN, HEADS, HEAD_DIM, ATT_KB, ATT_QB (cpu),
 *   ATT_KU (cpu), ATT_WG (gpu).
 */
#if !defined(VARIANT_GPU) || !defined(HIDDEN) || !defined(HEADS) ||         \
    !defined(HEAD_DIM) || !defined(ATT_KB) ||                                \
    !defined(ATT_QB) || !defined(ATT_KU) || !defined(ATT_WG)
#error "VARIANT_GPU, HIDDEN, HEADS, HEAD_DIM, ATT_KB, ATT_QB, ATT_KU and ATT_WG are set by the library: build with the options clenc-compile --list prints"
#endif
#if ATT_QB != 16
#error "ATT_QB: the cpu family keeps one query in each lane of a float16"
#endif

#define QKV_STRIDE (3 * HIDDEN)

#if !VARIANT_GPU

__kernel void attention(__global const float *qkv,
                        __global const int *offsets, __global float *out)
{
    const int q0 = get_global_id(0) * ATT_QB;
    const int b = get_global_id(1) / HEADS, h = get_global_id(1) % HEADS;
    const int start = offsets[b], len = offsets[b + 1] - start;
    if (q0 >= len)
        return;
    const float scale = 1.0f / sqrt((float)HEAD_DIM);
    /* Lane r holds query q0 + r; lanes past the sequence repeat its last
     * query (loads stay in bounds) and are not stored. */
    float16 q[HEAD_DIM], acc[HEAD_DIM];
    {
        float rows[ATT_QB][HEAD_DIM];
        for (int r = 0; r < ATT_QB; r++) {
            __global const float *qrow =
                qkv + (size_t)(start + min(q0 + r, len - 1)) * QKV_STRIDE +
                h * HEAD_DIM;
            for (int d = 0; d < HEAD_DIM; d++)
                rows[r][d] = qrow[d] * scale;
        }
        for (int d = 0; d < HEAD_DIM; d++) {
            float lanes[ATT_QB];
            for (int r = 0; r < ATT_QB; r++)
                lanes[r] = rows[r][d];
            q[d] = vload16(0, lanes);
            acc[d] = (float16)(0.0f);
        }
    }
    __global const float *kbase =
        qkv + (size_t)start * QKV_STRIDE + HIDDEN + h * HEAD_DIM;
    __global const float *vbase = kbase + HIDDEN;
    float16 run_max = (float16)(-INFINITY), run_sum = (float16)(0.0f);
    for (int j0 = 0; j0 < len; j0 += ATT_KB) {
        const int nb = min(ATT_KB, len - j0);
        float16 s[ATT_KB];
        float16 block_max = run_max;
        int j = 0;
        for (; j + ATT_KU <= nb; j += ATT_KU) {
            __global const float *k0 = kbase + (size_t)(j0 + j) * QKV_STRIDE;
            float16 dk[ATT_KU];
#pragma unroll
            for (int u = 0; u < ATT_KU; u++)
                dk[u] = (float16)(0.0f);
#pragma unroll
            for (int d = 0; d < HEAD_DIM; d++) {
                const float16 qd = q[d];
#pragma unroll
                for (int u = 0; u < ATT_KU; u++)
                    dk[u] = fma(qd, (float16)(k0[u * QKV_STRIDE + d]), dk[u]);
            }
#pragma unroll
            for (int u = 0; u < ATT_KU; u++) {
                s[j + u] = dk[u];
                block_max = fmax(block_max, dk[u]);
            }
        }
        for (; j < nb; j++) {
            __global const float *k = kbase + (size_t)(j0 + j) * QKV_STRIDE;
            float16 dot = (float16)(0.0f);
#pragma unroll
            for (int d = 0; d < HEAD_DIM; d++)
                dot = fma(q[d], (float16)(k[d]), dot);
            s[j] = dot;
            block_max = fmax(block_max, dot);
        }
        /* exp(-inf) = 0 clears the empty start; afterwards it rescales what
         * was summed under the old maximum. */
        const float16 corr = exp(run_max - block_max);
        run_sum *= corr;
#pragma unroll
        for (int d = 0; d < HEAD_DIM; d++)
            acc[d] *= corr;
        for (j = 0; j + ATT_KU <= nb; j += ATT_KU) {
            __global const float *v0 = vbase + (size_t)(j0 + j) * QKV_STRIDE;
            float16 p[ATT_KU];
#pragma unroll
            for (int u = 0; u < ATT_KU; u++) {
                p[u] = exp(s[j + u] - block_max);
                run_sum += p[u];
            }
#pragma unroll
            for (int d = 0; d < HEAD_DIM; d++) {
                float16 a = acc[d];
#pragma unroll
                for (int u = 0; u < ATT_KU; u++)
                    a = fma(p[u], (float16)(v0[u * QKV_STRIDE + d]), a);
                acc[d] = a;
            }
        }
        for (; j < nb; j++) {
            __global const float *v = vbase + (size_t)(j0 + j) * QKV_STRIDE;
            const float16 p = exp(s[j] - block_max);
            run_sum += p;
#pragma unroll
            for (int d = 0; d < HEAD_DIM; d++)
                acc[d] = fma(p, (float16)(v[d]), acc[d]);
        }
        run_max = block_max;
    }
    const float16 inv = 1.0f / run_sum;
    float rows[HEAD_DIM][ATT_QB];
    for (int d = 0; d < HEAD_DIM; d++)
        vstore16(acc[d] * inv, 0, rows[d]);
    const int n = min(ATT_QB, len - q0);
    for (int r = 0; r < n; r++) {
        __global float *o = out + (size_t)(start + q0 + r) * HIDDEN + h * HEAD_DIM;
        for (int d = 0; d < HEAD_DIM; d++)
            o[d] = rows[d][r];
    }
}

#else /* VARIANT_GPU */

__kernel void attention(__global const float *qkv,
                        __global const int *offsets, __global float *out)
{
    const int qi = get_global_id(0);
    const int b = get_global_id(1) / HEADS, h = get_global_id(1) % HEADS;
    const int start = offsets[b], len = offsets[b + 1] - start;
    __local float ks[ATT_KB][HEAD_DIM];
    __local float vs[ATT_KB][HEAD_DIM];
    if (get_group_id(0) * get_local_size(0) >= (size_t)len)
        return; /* the whole work-group is past this sequence */
    const int active = qi < len;
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
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int e = get_local_id(0); e < nb * HEAD_DIM;
             e += get_local_size(0)) {
            const size_t row = (size_t)(j0 + e / HEAD_DIM) * QKV_STRIDE;
            ks[e / HEAD_DIM][e % HEAD_DIM] = kbase[row + e % HEAD_DIM];
            vs[e / HEAD_DIM][e % HEAD_DIM] = vbase[row + e % HEAD_DIM];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float s[ATT_KB];
        float block_max = run_max;
        for (int j = 0; j < nb; j++) {
            float dot = 0.0f;
            for (int d = 0; d < HEAD_DIM; d++)
                dot = fma(q[d], ks[j][d], dot);
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
                acc[d] = fma(p, vs[j][d], acc[d]);
        }
        run_max = block_max;
    }
    if (!active)
        return;
    __global float *o = out + (size_t)(start + qi) * HIDDEN + h * HEAD_DIM;
    const float inv = 1.0f / run_sum;
    for (int d = 0; d < HEAD_DIM; d++)
        o[d] = acc[d] * inv;
}

#endif
