/* embed.cl — token embeddings: word + position + token type (+ LayerNorm), one row per packed token, fused in one kernel.
 *
 * out[t] = word[ids[t]] * (EMBED_SCALE ? sqrt(HIDDEN) : 1)
 *          + position(positions[t]) + (TYPE_VOCAB ? types[type_ids[t]] : 0)
 * then, if EMBED_NORM, LayerNorm with gamma/beta. Tables are row-major
 * [rows][HIDDEN]. positions[t] is the token's index within its sequence.
 * POSITIONS is POS_LEARNED (the table pos[positions[t]]), POS_SINUSOIDAL
 * (computed here, interleaved as in the paper: PE(p, 2i) =
 * sin(p / 10000^(2i/HIDDEN)), PE(p, 2i+1) = cos(same angle)) or POS_NONE.
 * Tables by PRECISION: float (PREC_FP32); half, read with vload_half
 * (PREC_FP16); at PREC_INT8 the word table is char with one float scale a
 * row (word_scales), the position and type tables half.
 * Launch (runtime/ops/embed.c): as layernorm.cl, a row per work-item (cpu)
 * or per work-group of ROW_WG (gpu).
 * pack (clenc_encode_cl): the caller's ids [batch][seq] (and types, if
 * has_types) packed back to back at offsets[b], with each token's position
 * as the host packs them (runtime/engine/forward.c, positions_of): from
 * position_offset, the pad token (id position_offset - 1) keeping that
 * position. An id outside 0..vocab-1 or a type outside the type table is
 * read as 0, never out of bounds, and the first such (b, t) is kept in
 * *fault as b * fault_stride + t (the session's max_seq: the host can
 * tell b and t apart after the encode's seq is gone). One work-item a sequence: a few hundred ids against a
 * pass of millions of multiply-adds a token.
 * Constants: VARIANT_GPU, HIDDEN, ROW_WG (rows.h), LN_EPS (norm.h),
 * PRECISION, PREC_FP32, PREC_INT8,
 * POSITIONS, POS_LEARNED, POS_SINUSOIDAL, POS_NONE, EMBED_SCALE, EMBED_NORM,
 * TYPE_VOCAB.
 */
#include "norm.h"

#if !defined(POSITIONS) || !defined(POS_LEARNED) ||                         \
    !defined(POS_SINUSOIDAL) || !defined(POS_NONE) ||                       \
    !defined(EMBED_SCALE) || !defined(EMBED_NORM) || !defined(TYPE_VOCAB)
#error "POSITIONS, POS_LEARNED, POS_SINUSOIDAL, POS_NONE, EMBED_SCALE, EMBED_NORM and TYPE_VOCAB are set by the library: build with the options clenc-compile --list prints"
#endif

#if !defined(PRECISION) || !defined(PREC_FP32) || !defined(PREC_INT8)
#error "PRECISION, PREC_FP32 and PREC_INT8 are set by the library"
#endif
#if PRECISION == PREC_FP32
typedef float table_t;
#define LOAD_T(i, p) ((p)[i])
#else
typedef half table_t;
#define LOAD_T(i, p) vload_half((i), (p))
#endif
#if PRECISION == PREC_INT8
typedef char word_t;
#define LOAD_WORD(i, p) ((float)(p)[i])
#else
typedef table_t word_t;
#define LOAD_WORD(i, p) LOAD_T(i, p)
#endif

#if POSITIONS == POS_SINUSOIDAL
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
                    __global const word_t *word,
                    __global const float *word_scales,
                    __global const table_t *pos,
                    __global const table_t *types, __global const float *gamma,
                    __global const float *beta, __global act_t *out,
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
    __global const word_t *w = word + (size_t)ids[t] * HIDDEN;
    __global act_t *y = out + (size_t)t * HIDDEN;
    const int p = positions[t];
#if PRECISION == PREC_INT8
    const float row_scale = word_scales[ids[t]];
#else
    const float row_scale = 1.0f;
#endif
    const float scale = EMBED_SCALE ? sqrt((float)HIDDEN) : 1.0f;
#if TYPE_VOCAB > 0
    __global const table_t *ty = types + (size_t)type_ids[t] * HIDDEN;
#endif
    for (int i = ROW_FIRST; i < HIDDEN; i += ROW_STEP) {
        float e = LOAD_WORD(i, w) * row_scale * scale;
#if POSITIONS == POS_LEARNED
        e += LOAD_T((size_t)p * HIDDEN + i, pos);
#elif POSITIONS == POS_SINUSOIDAL
        e += sinusoid(p, i);
#endif
#if TYPE_VOCAB > 0
        e += LOAD_T(i, ty);
#endif
        ACT_STORE(e, i, y);
    }
#if EMBED_NORM
#if VARIANT_GPU
    row_layernorm(y, gamma, beta, scratch);
#else
    row_layernorm(y, gamma, beta);
#endif
#endif
}

__kernel void pack(__global const int *ids, __global const int *type_ids,
                   __global const int *offsets, __global int *packed_ids,
                   __global int *packed_types, __global int *positions,
                   __global int *fault, const int batch, const int seq,
                   const int has_types, const int vocab,
                   const int position_offset, const int fault_stride)
{
    const int b = get_global_id(0);
    if (b >= batch)
        return;
    const int types = TYPE_VOCAB > 0 ? TYPE_VOCAB : 1;
    const int start = offsets[b], len = offsets[b + 1] - start;
    int next = position_offset;
    for (int p = 0; p < len; p++) {
        const int at = b * seq + p;
        int id = ids[at], type = has_types ? type_ids[at] : 0;
        const int pad = position_offset && id == position_offset - 1;
        const int bad_id = id < 0 || id >= vocab;
        const int bad_type = type < 0 || type >= types;
        if (bad_id || bad_type)
            atomic_min(fault, b * fault_stride + p);
        id = bad_id ? 0 : id;
        type = bad_type ? 0 : type;
        packed_ids[start + p] = id;
        packed_types[start + p] = type;
        positions[start + p] = pad ? position_offset - 1 : next++;
    }
}
