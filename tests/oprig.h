/* oprig.h — the op rig: one session on a random model, device buffers from doubles, and each encoder op checked against tests/ref.c. */
#ifndef CLENC_TEST_OPRIG_H
#define CLENC_TEST_OPRIG_H

#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "testmodel.h"

/* Single ops are checked to a relative 1e-5 of the magnitude summed. */
#define OPRIG_RTOL 1e-5

/* A context of one kernel family and GEMM, a random model (seed 42) of one
 * configuration on it, and a session of 8 sequences of max_positions. */
typedef struct oprig {
    clenc_variant variant; /* the family asked for: launches must match it */
    clenc_context *ctx;
    test_model tm;
    clenc_model *model;
    clenc_session *s;
} oprig;

/* The op tests' two configurations: a tiny BERT (hidden 32, 4 heads, FFN
 * 37, a multiple of no tile, 320 positions) and MiniLM's sizes (hidden 384,
 * 12 heads, FFN 1536). */
void oprig_tiny_config(clenc_config *c);
void oprig_minilm_config(clenc_config *c);

void oprig_open(oprig *r, const clenc_config *c, clenc_variant variant,
                clenc_gemm gemm);
void oprig_close(oprig *r);
/* "cpu" or "gpu", for the names of checks. */
const char *oprig_family(const oprig *r);

/* Device buffers: doubles go up as floats and come back as doubles
 * (malloc'd); any failure is a test failure. Release with
 * clenc__buffer_release(r->ctx, m). */
cl_mem oprig_put(oprig *r, const double *host, size_t count);
cl_mem oprig_put_ints(oprig *r, const int32_t *host, size_t count);
double *oprig_get(oprig *r, cl_mem m, size_t count);
/* An output buffer of count floats, NaN until a kernel writes it: what a
 * kernel leaves unwritten fails the check. Every output of every check
 * starts so (in-place ones start as their input). */
cl_mem oprig_put_nan(oprig *r, size_t count);
/* count values U(lo, hi), rounded to float so that the reference sees what
 * the device sees (malloc'd). */
double *oprig_random(uint64_t *rng, size_t count, double lo, double hi);

/* Asserts max |got - ref| / max(scale, floor) <= OPRIG_RTOL, scale NULL
 * meaning |ref|; names `what` and the worst element when it fails. */
void oprig_check_close(const char *what, const double *got, const double *ref,
                       const double *scale, size_t count, double floor);
/* The session's last launch record (a fatal failure if there is none). */
const clenc__launch *oprig_last_launch(const oprig *r);
/* 1 if st is CLBlast failing with an OpenCL error, recorded as a skip: on
 * an implementation it was not tuned for, it may. */
int oprig_clblast_failed(clenc_status st);

/* The op checks. Each asserts the result against the reference and the
 * launch records against the rig's family (and GEMM). */

/* The layer's five GEMMs (QKV with bias; up with bias and activation; O
 * with bias and residual; down with bias and residual in place; O plain)
 * at each of the m rows. If clblast_may_fail and CLBlast fails on this
 * device, that is said and the rest is skipped: returns 0; else 1. */
int oprig_check_gemms(oprig *r, const unsigned *ms, size_t m_count,
                      int clblast_may_fail);
/* Attention over sequences of these lengths (batch <= 8), Q and K spread
 * so that softmax rows are peaky, on a rig of its own. */
void oprig_check_attention(const clenc_config *c, clenc_variant variant,
                           const int32_t *lengths, size_t batch);
/* LayerNorm of each row count, out of place and in place (bit-identical). */
void oprig_check_layernorm(oprig *r, const unsigned *rows, size_t row_count);
/* The embeddings of `tokens` tokens (<= max_positions) in every position
 * kind: base as it is, then sinusoidal, scaled, unnormalised and without
 * types, then with no positions and no types; a rig for each. */
void oprig_check_embed_kinds(const clenc_config *base, clenc_variant variant,
                             size_t tokens);
/* The epilogue kernel alone at rows x cols, under every flag combination,
 * out of place, in place over x and in place over the residual. */
void oprig_check_epilogue(oprig *r, unsigned rows, unsigned cols);
/* CLS and mean pooling over sequences at offsets (batch + 1 entries), each
 * then L2-normalised. */
void oprig_check_pool(oprig *r, const int32_t *offsets, size_t batch);

#endif
