/* pool.cl — pooling of packed token rows into one vector per sequence (CLS or mean), and L2 normalisation of vectors.
 *
 * pool: x is packed rows [tokens][HIDDEN]; offsets[b] .. offsets[b+1] are
 *   sequence b's rows (prefix sums of the lengths, so padding never exists
 *   here). out[b][c] = x[offsets[b]][c] (mode POOL_CLS: the raw hidden
 *   state, not BERT's pooler layer) or the mean of x[t][c] over b's rows
 *   (mode POOL_MEAN). One work-item per output element, global = batch *
 *   HIDDEN rounded up to 64 (runtime/ops/pool.c). No barriers: both kernel
 *   families share it.
 * l2norm: x[r] /= max(||x[r]||, 1e-12) in place (sentence-transformers'
 *   Normalize: torch.nn.functional.normalize's eps). Launched as layernorm:
 *   a row per work-item (cpu), a work-group of ROW_WG per row (gpu).
 * unpack (clenc_encode_cl): results into the caller's float buffer, the
 *   activations' type whatever it is. packed: out is [rows / seq][seq]
 *   [HIDDEN], sequence b's token p from x's row offsets[b] + p, zeros past
 *   its length; else out[r] = x[r] for `rows` rows. One work-item an
 *   element, as pool.
 * Constants: VARIANT_GPU, HIDDEN, ROW_WG (rows.h), POOL_CLS, POOL_MEAN.
 */
#include "rows.h"
#include "store.h"

#if !defined(POOL_CLS) || !defined(POOL_MEAN)
#error "POOL_CLS and POOL_MEAN are set by the library: build with the options clenc-compile --list prints"
#endif

__kernel void pool(__global const act_t *x, __global const int *offsets,
                   __global act_t *out, const int batch, const int mode)
{
    const int i = get_global_id(0);
    if (i >= batch * HIDDEN)
        return;
    const int b = i / HIDDEN, c = i % HIDDEN;
    const int start = offsets[b], end = offsets[b + 1];
    if (mode == POOL_CLS) {
        ACT_STORE(ACT_LOAD((size_t)start * HIDDEN + c, x), i, out);
        return;
    }
    float s = 0.0f;
    for (int t = start; t < end; t++)
        s += ACT_LOAD((size_t)t * HIDDEN + c, x);
    ACT_STORE(s / (float)(end - start), i, out);
}

__kernel void l2norm(__global act_t *x, const int rows)
{
#if VARIANT_GPU
    __local float scratch[ROW_WG];
    const int r = get_group_id(0);
#else
    const int r = get_global_id(0);
#endif
    if (r >= rows)
        return;
    __global act_t *y = x + (size_t)r * HIDDEN;
#if !VARIANT_GPU && HIDDEN % 16 == 0
    float16 s16 = (float16)(0.0f);
    for (int i = 0; i < HIDDEN / 16; i++) {
        const float16 v = ACT_LOAD16(i, y);
        s16 = fma(v, v, s16);
    }
    const float inv = 1.0f / fmax(sqrt(sum16(s16)), 1e-12f);
    for (int i = 0; i < HIDDEN / 16; i++)
        ACT_STORE16(ACT_LOAD16(i, y) * inv, i, y);
#else
    float s = 0.0f;
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP) {
        const float v = ACT_LOAD(i, y);
        s += v * v;
    }
    const float inv = 1.0f / fmax(sqrt(ROW_SUM(s)), 1e-12f);
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP)
        ACT_STORE(ACT_LOAD(i, y) * inv, i, y);
#endif
}

__kernel void unpack(__global const act_t *x, __global const int *offsets,
                     __global float *out, const int rows, const int seq,
                     const int packed)
{
    const size_t i = get_global_id(0);
    if (i >= (size_t)rows * HIDDEN)
        return;
    if (!packed) {
        out[i] = ACT_LOAD(i, x);
        return;
    }
    const int r = i / HIDDEN, c = i % HIDDEN;
    const int b = r / seq, p = r % seq;
    const int start = offsets[b];
    out[i] = p < offsets[b + 1] - start
                 ? ACT_LOAD((size_t)(start + p) * HIDDEN + c, x)
                 : 0.0f;
}
