/* ref.c — the plain, obviously correct C reference of every encoder op and of the whole encoder, accumulating in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

void ref_round_half(const float *in, size_t count, float *out)
{
    for (size_t i = 0; i < count; i++)
        out[i] = (float)(_Float16)in[i];
}

static int half_activations;

void ref_set_half_activations(int on)
{
    half_activations = on;
}

/* Where a device computing in fp16 stores an op's output (store.h). */
static void round_acts(double *x, size_t count)
{
    for (size_t i = 0; half_activations && i < count; i++)
        x[i] = (double)(_Float16)x[i];
}

double ref_activate(clenc_activation act, double x)
{
    switch (act) {
    case CLENC_ACT_GELU:
        return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case CLENC_ACT_GELU_TANH:
        return 0.5 * x *
               (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case CLENC_ACT_RELU:
        return x > 0 ? x : 0;
    }
    return NAN;
}

void ref_gemm(const double *a, const float *w, const float *bias,
              const double *residual, unsigned flags, clenc_activation act,
              size_t m, size_t n, size_t k, double *out, double *scale)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double sum = 0, size = 0;
            for (size_t kk = 0; kk < k; kk++) {
                sum += a[i * k + kk] * w[j * k + kk];
                size += fabs(a[i * k + kk] * w[j * k + kk]);
            }
            if ((flags & 1) && bias) {
                sum += bias[j];
                size += fabs(bias[j]);
            }
            if (flags & 2)
                sum = ref_activate(act, sum);
            if (flags & 4) {
                sum += residual[i * n + j];
                size += fabs(residual[i * n + j]);
            }
            out[i * n + j] = sum;
            if (scale)
                scale[i * n + j] = size;
        }
}

/* Each float rounding of the rule is a double operation rounded to float:
 * products of two floats are exact in double, and a quotient rounded to
 * double and then to float is the correctly rounded float quotient (53 >=
 * 2 x 24 + 2 bits). */
void ref_q8_rows(const float *x, size_t rows, size_t cols, int8_t *q,
                 float *scale)
{
    const float inv_qmax = (float)(1.0 / 127.0);
    for (size_t r = 0; r < rows; r++) {
        double amax = 0;
        int finite = 1;
        for (size_t c = 0; c < cols; c++) {
            const double v = x[r * cols + c];
            if (!isfinite(v))
                finite = 0;
            else if (fabs(v) > amax)
                amax = fabs(v);
        }
        memset(q + r * cols, 0, cols);
        if (!finite) {
            scale[r] = NAN;
            continue;
        }
        if (amax < ldexp(1.0, -64)) {
            scale[r] = 0.0f;
            continue;
        }
        scale[r] = (float)(amax * inv_qmax);
        const float inv = (float)(127.0 / amax);
        for (size_t c = 0; c < cols; c++) {
            const float t = (float)((double)x[r * cols + c] * inv);
            double n = nearbyint(t);
            n = n > 127 ? 127 : n < -127 ? -127 : n;
            q[r * cols + c] = (int8_t)n;
        }
    }
}

void ref_q8_act_rows(const float *x, size_t rows, size_t cols, int8_t *q,
                     float *info)
{
    float *rest = malloc(cols * sizeof *rest);
    for (size_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        double amax = 0;
        size_t c = 0;
        for (size_t i = 0; i < cols; i++)
            if (fabs((double)row[i]) > amax) {
                amax = fabs((double)row[i]);
                c = i;
            }
        /* The rest: the row with its outlier at 0, then the plain rule. */
        memcpy(rest, row, cols * sizeof *rest);
        rest[c] = 0.0f;
        ref_q8_rows(rest, 1, cols, q + r * cols, &info[4 * r]);
        int32_t bits = (int32_t)c;
        memcpy(&info[4 * r + 2], &bits, sizeof bits);
        info[4 * r + 1] =
            isfinite(amax) && amax >= ldexp(1.0, -64) ? row[c] : 0.0f;
        info[4 * r + 3] = 0.0f;
        if (isnan(info[4 * r]) || !isfinite(amax)) /* poisoned, as quant.cl */
            info[4 * r] = NAN;
    }
    free(rest);
}

void ref_qgemm(const int8_t *qa, const float *sa, const int8_t *qw,
               const float *sw, const float *bias, const double *residual,
               unsigned flags, clenc_activation act, size_t m, size_t n,
               size_t k, int64_t *acc, double *out, double *scale)
{
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            int64_t sum = 0, size = 0;
            for (size_t kk = 0; kk < k; kk++) {
                const int64_t p = (int64_t)qa[i * k + kk] * qw[j * k + kk];
                sum += p;
                size += p < 0 ? -p : p;
            }
            int32_t col;
            memcpy(&col, &sa[4 * i + 2], sizeof col);
            const double o = (double)sa[4 * i + 1] * qw[j * k + (size_t)col];
            const double s = (double)sa[4 * i] * sw[j];
            double v = (double)sum * s + o * sw[j],
                   mag = (double)size * s + fabs(o * sw[j]);
            if (flags & 1) {
                v += bias[j];
                mag += fabs(bias[j]);
            }
            if (flags & 2)
                v = ref_activate(act, v);
            if (flags & 4) {
                v += residual[i * n + j];
                mag += fabs(residual[i * n + j]);
            }
            if (acc)
                acc[i * n + j] = sum;
            out[i * n + j] = v;
            if (scale)
                scale[i * n + j] = mag;
        }
}

void ref_epilogue(const double *x, const double *bias, const double *residual,
                  unsigned flags, clenc_activation act, size_t rows,
                  size_t cols, double *out)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++) {
            double v = x[r * cols + c];
            if (flags & 1)
                v += bias[c];
            if (flags & 2)
                v = ref_activate(act, v);
            if (flags & 4)
                v += residual[r * cols + c];
            out[r * cols + c] = v;
        }
}

void ref_layernorm(const double *x, const float *gamma, const float *beta,
                   size_t rows, size_t hidden, double eps, double *out)
{
    for (size_t r = 0; r < rows; r++) {
        const double *row = x + r * hidden;
        double mean = 0, var = 0;
        for (size_t i = 0; i < hidden; i++)
            mean += row[i];
        mean /= hidden;
        for (size_t i = 0; i < hidden; i++)
            var += (row[i] - mean) * (row[i] - mean);
        var /= hidden;
        const double inv = 1.0 / sqrt(var + eps);
        for (size_t i = 0; i < hidden; i++)
            out[r * hidden + i] = (row[i] - mean) * inv * gamma[i] +
                                  (beta ? beta[i] : 0.0);
    }
}

void ref_attention(const double *qkv, const int32_t *offsets, size_t batch,
                   size_t hidden, size_t heads, double *out)
{
    const size_t d = hidden / heads, stride = 3 * hidden;
    double *p = malloc(sizeof *p * (size_t)(offsets[batch] + 1));
    for (size_t b = 0; b < batch; b++) {
        const size_t start = (size_t)offsets[b], end = (size_t)offsets[b + 1];
        for (size_t h = 0; h < heads; h++)
            for (size_t i = start; i < end; i++) {
                const double *q = qkv + i * stride + h * d;
                double max = -INFINITY, sum = 0;
                for (size_t j = start; j < end; j++) {
                    const double *key = qkv + j * stride + hidden + h * d;
                    double dot = 0;
                    for (size_t e = 0; e < d; e++)
                        dot += q[e] * key[e];
                    p[j] = dot / sqrt((double)d);
                    if (p[j] > max)
                        max = p[j];
                }
                for (size_t j = start; j < end; j++)
                    sum += p[j] = exp(p[j] - max);
                for (size_t e = 0; e < d; e++) {
                    double acc = 0;
                    for (size_t j = start; j < end; j++)
                        acc += p[j] * qkv[j * stride + 2 * hidden + h * d + e];
                    out[i * hidden + h * d + e] = acc / sum;
                }
            }
    }
    free(p);
}

double ref_sinusoid(size_t pos, size_t i, size_t hidden)
{
    const double angle = pos / pow(10000.0, (double)(i & ~(size_t)1) / hidden);
    return (i & 1) ? cos(angle) : sin(angle);
}

void ref_embed(const clenc_config *c, const clenc_weights *w,
               const int32_t *ids, const int32_t *type_ids,
               const int32_t *positions, size_t tokens, double *out)
{
    const size_t h = c->hidden;
    const double scale = c->scale_embedding ? sqrt((double)h) : 1.0;
    for (size_t t = 0; t < tokens; t++) {
        double *row = out + t * h;
        for (size_t i = 0; i < h; i++) {
            double e = w->word_embeddings[(size_t)ids[t] * h + i] * scale;
            if (c->positions == CLENC_POS_LEARNED)
                e += w->position_embeddings[(size_t)positions[t] * h + i];
            else if (c->positions == CLENC_POS_SINUSOIDAL)
                e += ref_sinusoid((size_t)positions[t], i, h);
            if (c->type_vocab_size)
                e += w->type_embeddings[(size_t)(type_ids ? type_ids[t] : 0) *
                                            h +
                                        i];
            row[i] = e;
        }
        round_acts(row, h);
        if (c->embedding_norm) {
            ref_layernorm(row, w->embedding_norm_weight,
                          w->embedding_norm_bias, 1, h, c->eps, row);
            round_acts(row, h);
        }
    }
}

void ref_pool(const double *x, const int32_t *offsets, size_t batch,
              size_t hidden, int mode, double *out)
{
    for (size_t b = 0; b < batch; b++)
        for (size_t i = 0; i < hidden; i++) {
            const size_t start = (size_t)offsets[b], end = (size_t)offsets[b + 1];
            double s = 0;
            if (mode == 0)
                s = x[start * hidden + i];
            else {
                for (size_t t = start; t < end; t++)
                    s += x[t * hidden + i];
                s /= (double)(end - start);
            }
            out[b * hidden + i] = s;
        }
}

void ref_l2norm(double *x, size_t rows, size_t hidden)
{
    for (size_t r = 0; r < rows; r++) {
        double s = 0;
        for (size_t i = 0; i < hidden; i++)
            s += x[r * hidden + i] * x[r * hidden + i];
        const double n = sqrt(s) > 1e-12 ? sqrt(s) : 1e-12;
        for (size_t i = 0; i < hidden; i++)
            x[r * hidden + i] /= n;
    }
}

/* A linear layer with the runtime's flags, into a fresh array. */
static double *linear(const double *x, const float *w, const float *b,
                      const double *residual, unsigned flags,
                      clenc_activation act, size_t m, size_t n, size_t k)
{
    double *out = malloc(sizeof *out * m * n);
    ref_gemm(x, w, b, residual, flags | (b ? 1u : 0u), act, m, n, k, out,
             NULL);
    return out;
}

static void block(const clenc_config *c, const clenc_layer_weights *l,
                  const int32_t *offsets, size_t batch, size_t t, double *x)
{
    const size_t h = c->hidden, f = c->ffn;
    const int pre = c->norm == CLENC_NORM_PRE;
    double *in = malloc(sizeof *in * t * h);
    double *qkv = malloc(sizeof *qkv * t * 3 * h);
    double *ctx = malloc(sizeof *ctx * t * h);

    /* Attention block. */
    if (pre) {
        ref_layernorm(x, l->norm1_weight, l->norm1_bias, t, h, c->eps, in);
        round_acts(in, t * h);
    } else
        memcpy(in, x, sizeof *in * t * h);
    const float *w[3] = {l->q_weight, l->k_weight, l->v_weight};
    const float *b[3] = {l->q_bias, l->k_bias, l->v_bias};
    for (int p = 0; p < 3; p++) {
        double *part = linear(in, w[p], b[p], NULL, 0, c->activation, t, h, h);
        round_acts(part, t * h);
        for (size_t r = 0; r < t; r++)
            memcpy(qkv + r * 3 * h + p * h, part + r * h, sizeof *part * h);
        free(part);
    }
    ref_attention(qkv, offsets, batch, h, c->heads, ctx);
    round_acts(ctx, t * h);
    double *sum = linear(ctx, l->o_weight, l->o_bias, x, 4, c->activation, t,
                         h, h);
    round_acts(sum, t * h);
    if (pre)
        memcpy(x, sum, sizeof *x * t * h);
    else {
        ref_layernorm(sum, l->norm1_weight, l->norm1_bias, t, h, c->eps, x);
        round_acts(x, t * h);
    }
    free(sum);

    /* Feed-forward block. */
    if (pre) {
        ref_layernorm(x, l->norm2_weight, l->norm2_bias, t, h, c->eps, in);
        round_acts(in, t * h);
    } else
        memcpy(in, x, sizeof *in * t * h);
    double *mid = linear(in, l->ffn_up_weight, l->ffn_up_bias, NULL, 2,
                         c->activation, t, f, h);
    round_acts(mid, t * f);
    sum = linear(mid, l->ffn_down_weight, l->ffn_down_bias, x, 4,
                 c->activation, t, h, f);
    round_acts(sum, t * h);
    if (pre)
        memcpy(x, sum, sizeof *x * t * h);
    else {
        ref_layernorm(sum, l->norm2_weight, l->norm2_bias, t, h, c->eps, x);
        round_acts(x, t * h);
    }
    free(sum);
    free(mid);
    free(ctx);
    free(qkv);
    free(in);
}

void ref_encoder(const clenc_config *c, const clenc_weights *w,
                 const int32_t *ids, const int32_t *type_ids,
                 const int32_t *lengths, size_t batch, size_t seq,
                 double *out)
{
    int32_t *offsets = malloc(sizeof *offsets * (batch + 1));
    size_t t = 0;
    for (size_t b = 0; b < batch; b++) {
        offsets[b] = (int32_t)t;
        t += lengths ? (size_t)lengths[b] : seq;
    }
    offsets[batch] = (int32_t)t;
    int32_t *pids = malloc(sizeof *pids * t), *ptypes = malloc(sizeof *ptypes * t);
    int32_t *pos = malloc(sizeof *pos * t);
    for (size_t b = 0; b < batch; b++)
        for (int32_t p = 0; p < offsets[b + 1] - offsets[b]; p++) {
            const size_t i = (size_t)offsets[b] + (size_t)p;
            pids[i] = ids[b * seq + (size_t)p];
            ptypes[i] = type_ids ? type_ids[b * seq + (size_t)p] : 0;
            pos[i] = p;
        }
    ref_embed(c, w, pids, ptypes, pos, t, out);
    for (unsigned l = 0; l < c->layers; l++)
        block(c, &w->layers[l], offsets, batch, t, out);
    if (c->final_norm) {
        ref_layernorm(out, w->final_norm_weight, w->final_norm_bias, t,
                      c->hidden, c->eps, out);
        round_acts(out, t * c->hidden);
    }
    free(pos);
    free(ptypes);
    free(pids);
    free(offsets);
}
