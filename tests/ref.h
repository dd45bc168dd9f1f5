/* ref.h — the plain C reference of every encoder op and of the whole forward pass, accumulating in double. */
#ifndef CLENC_TEST_REF_H
#define CLENC_TEST_REF_H

#include <stddef.h>
#include <stdint.h>

#include "clenc.h"

double ref_activate(clenc_activation act, double x);

/* out[i] = in[i] rounded to IEEE half and back (the compiler's _Float16
 * conversion, not the runtime's): what a device holding fp16 weights
 * multiplies. in and out may be the same. */
void ref_round_half(const float *in, size_t count, float *out);
/* On: ref_encoder (and ref_embed) round every op's output to half, where
 * a device computing in fp16 stores it (cl_kernels/store.h). Off by
 * default; a test that turns it on turns it off again. */
void ref_set_half_activations(int on);

/* out[m][n] = act?(a[m][k] · w[n][k]ᵀ + bias) + residual; flags as the
 * runtime's (1 bias, 2 activation, 4 residual). scale[m][n] (may be NULL)
 * receives Σ|a||w| + |bias| + |residual|: the size of what was summed, the
 * yardstick of a float result's rounding error. */
void ref_gemm(const double *a, const float *w, const float *bias,
              const double *residual, unsigned flags, clenc_activation act,
              size_t m, size_t n, size_t k, double *out, double *scale);
/* INT8, written apart from runtime/ops/qgemm.c and quant.cl, from the rule
 * in quant.cl's header: per row, amax = max |x|; scale = amax times 1/127
 * rounded to float, rounded once to float; inv = 127 / amax rounded to
 * float; q = x * inv rounded to float, then to the nearest integer (ties
 * to even), clamped to -127..127. amax below 2^-64: scale 0, q 0. A row
 * holding a NaN or an infinity: scale NaN, q 0. */
void ref_q8_rows(const float *x, size_t rows, size_t cols, int8_t *q,
                 float *scale);
/* Activation rows as quant.cl quantises them: the largest magnitude's
 * first column c taken out (info {scale, x[c] (0 below 2^-64), c as int
 * bits, 0} a row), q[c] = 0, the rest by ref_q8_rows. A row holding a NaN
 * or an infinity: scale NaN. */
void ref_q8_act_rows(const float *x, size_t rows, size_t cols, int8_t *q,
                     float *info);
/* out[m][n] = act?((Σ_k qa·qw · info.scale + info.outlier · qw[j][info.
 * column]) · sw[j] + bias) + residual, sa being ref_q8_act_rows' info (4
 * floats a row); the integer sum exact (acc, may be NULL, receives it),
 * the rest in double; flags and scale as ref_gemm's (scale: the summed
 * magnitudes + |bias| + |residual|). */
void ref_qgemm(const int8_t *qa, const float *sa, const int8_t *qw,
               const float *sw, const float *bias, const double *residual,
               unsigned flags, clenc_activation act, size_t m, size_t n,
               size_t k, int64_t *acc, double *out, double *scale);
/* out[r][c] = act?(x[r][c] + bias[c]) + residual[r][c], flags as ref_gemm's:
 * the epilogue a GEMM that cannot fuse one leaves to a kernel of its own. */
void ref_epilogue(const double *x, const double *bias, const double *residual,
                  unsigned flags, clenc_activation act, size_t rows,
                  size_t cols, double *out);
void ref_layernorm(const double *x, const float *gamma, const float *beta,
                   size_t rows, size_t hidden, double eps, double *out);
/* qkv [tokens][3 hidden], sequences at offsets; out [tokens][hidden]. */
void ref_attention(const double *qkv, const int32_t *offsets, size_t batch,
                   size_t hidden, size_t heads, double *out);
/* PE(p, 2i) = sin(p / 10000^(2i/d)), PE(p, 2i+1) = cos(same angle). */
double ref_sinusoid(size_t pos, size_t i, size_t hidden);
void ref_embed(const clenc_config *c, const clenc_weights *w,
               const int32_t *ids, const int32_t *type_ids,
               const int32_t *positions, size_t tokens, double *out);
/* mode 0: CLS, 1: mean. */
void ref_pool(const double *x, const int32_t *offsets, size_t batch,
              size_t hidden, int mode, double *out);
void ref_l2norm(double *x, size_t rows, size_t hidden);

/* The whole encoder over packed tokens (offsets from lengths): out
 * [Σ lengths][hidden]. ids and type_ids (may be NULL) are [batch][seq]. */
void ref_encoder(const clenc_config *c, const clenc_weights *w,
                 const int32_t *ids, const int32_t *type_ids,
                 const int32_t *lengths, size_t batch, size_t seq,
                 double *out);

#endif
