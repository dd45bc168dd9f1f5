/* ref.h — the plain C reference of every encoder op and of the whole forward pass, accumulating in double. */
#ifndef CLENC_TEST_REF_H
#define CLENC_TEST_REF_H

#include <stddef.h>
#include <stdint.h>

#include "clenc.h"

double ref_activate(clenc_activation act, double x);

/* out[m][n] = act?(a[m][k] · w[n][k]ᵀ + bias) + residual; flags as the
 * runtime's (1 bias, 2 activation, 4 residual). scale[m][n] (may be NULL)
 * receives Σ|a||w| + |bias| + |residual|: the size of what was summed, the
 * yardstick of a float result's rounding error. */
void ref_gemm(const double *a, const float *w, const float *bias,
              const double *residual, unsigned flags, clenc_activation act,
              size_t m, size_t n, size_t k, double *out, double *scale);
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
