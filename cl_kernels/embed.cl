/* embed.cl — token embeddings: word + position + token type (+ LayerNorm), one row per packed token, fused in one kernel.
 *
 * out[t] = word[ids[t]] * (EMBED_SCALE ? sqrt(HIDDEN) : 1)
 *          + position(positions[t]) + (TYPE_VOCAB ? types[types_ids[t]] : 0)
 * then, if EMBED_NORM, LayerNorm with gamma/beta. Tables are row-major
 * [rows][HIDDEN]. positions[t] is the token's index within its sequence.
 * POSITIONS 0: learned table pos[positions[t]]; 1: sinusoidal, computed
 * here, interleaved as in the paper: PE(p, 2i) = sin(p / 10000^(2i/HIDDEN)),
 * PE(p, 2i+1) = cos(same angle); 2: none.
 * Launch: as layernorm.cl (a row per work-item, or per gpu work-group).
 * Tunables: POSITIONS, EMBED_SCALE, EMBED_NORM, TYPE_VOCAB, VARIANT_GPU.
 */
#include "common.h"

#ifndef POSITIONS
#define POSITIONS 0
#endif
#ifndef EMBED_SCALE
#define EMBED_SCALE 0
#endif
#ifndef EMBED_NORM
#define EMBED_NORM 1
#endif
#ifndef TYPE_VOCAB
#define TYPE_VOCAB 2
#endif

#if POSITIONS == 1
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
/* The angle reaches max_positions radians: in float its rounding alone
 * would cost ~1e-5 at position 500. Double where the device has it. */
inline float sinusoid(int p, int i)
{
    const double angle =
        p * exp(-(double)(i & ~1) / HIDDEN * 9.2103403719761836); /* ln 1e4 */
    return (float)((i & 1) ? cos(angle) : sin(angle));
}
#else
inline float sinusoid(int p, int i)
{
    const float angle = p * exp(-(float)(i & ~1) / HIDDEN * 9.2103403719761836f);
    return (i & 1) ? cos(angle) : sin(angle);
}
#endif
#endif

__kernel void embed(__global const int *ids, __global const int *type_ids,
                    __global const int *positions,
                    __global const float *word, __global const float *pos,
                    __global const float *types, __global const float *gamma,
                    __global const float *beta, __global float *out,
                    const int tokens)
{
#if VARIANT_GPU && EMBED_NORM
    __local float scratch[ROW_SCRATCH];
#endif
#if VARIANT_GPU
    const int t = get_group_id(0);
#else
    const int t = get_global_id(0);
#endif
    if (t >= tokens)
        return;
    __global const float *w = word + (size_t)ids[t] * HIDDEN;
    __global float *y = out + (size_t)t * HIDDEN;
    const int p = positions[t];
    const float scale = EMBED_SCALE ? sqrt((float)HIDDEN) : 1.0f;
#if TYPE_VOCAB > 0
    __global const float *ty = types + (size_t)type_ids[t] * HIDDEN;
#endif
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP) {
        float e = w[i] * scale;
#if POSITIONS == 0
        e += pos[(size_t)p * HIDDEN + i];
#elif POSITIONS == 1
        e += sinusoid(p, i);
#endif
#if TYPE_VOCAB > 0
        e += ty[i];
#endif
        y[i] = e;
    }
#if EMBED_NORM
#if VARIANT_GPU
    row_layernorm(y, gamma, beta, scratch);
#else
    row_layernorm(y, gamma, beta);
#endif
#endif
}
