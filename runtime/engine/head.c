/* head.c — rerankers' and classifiers' heads and BERT's pooler, on the host: the first token's state through dense + tanh (or ReLU) and a linear layer, in double, then the model's activation. */
#include <math.h>
#include <string.h>

#include "engine/engine.h"

/* y = W·x + b for W [rows][cols], in double. */
static void affine(const float *w, const float *b, const double *x,
                   unsigned rows, unsigned cols, double *y)
{
    for (unsigned r = 0; r < rows; r++) {
        const float *row = w + (size_t)r * cols;
        double acc = b ? b[r] : 0;
        for (unsigned c = 0; c < cols; c++)
            acc += (double)row[c] * x[c];
        y[r] = acc;
    }
}

/* Two rows of doubles, each of the larger of hidden and labels. */
static double *work(unsigned hidden, unsigned labels)
{
    const size_t row = hidden > labels ? hidden : labels;
    double *w = clenc__malloc(2 * row * sizeof *w);
    if (!w)
        clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory for a head");
    return w;
}

clenc_status clenc__pooler_run(const clenc__head *h, unsigned hidden,
                               const float *cls, size_t n, float *out)
{
    double *x = work(hidden, 0);
    if (!x)
        return CLENC_ERR_OUT_OF_MEMORY;
    double *y = x + hidden;
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < hidden; k++)
            x[k] = cls[i * hidden + k];
        affine(h->pooler_w, h->pooler_b, x, hidden, hidden, y);
        for (unsigned k = 0; k < hidden; k++)
            out[i * hidden + k] = (float)tanh(y[k]);
    }
    clenc__free(x);
    return CLENC_OK;
}

clenc_status clenc__head_run(const clenc__head *h, unsigned hidden,
                             const float *cls, size_t n, int raw,
                             float *scores)
{
    const unsigned labels = h->num_labels;
    const size_t row = hidden > labels ? hidden : labels;
    double *x = work(hidden, labels);
    if (!x)
        return CLENC_ERR_OUT_OF_MEMORY;
    double *y = x + row;
    for (size_t i = 0; i < n; i++) {
        for (unsigned k = 0; k < hidden; k++)
            x[k] = cls[i * hidden + k];
        /* BERT: the pooler, dense + tanh; RoBERTa: classifier.dense +
         * tanh; DistilBERT: pre_classifier + ReLU. */
        const int bert = h->kind == CLENC_HEAD_BERT;
        affine(bert ? h->pooler_w : h->dense_w, bert ? h->pooler_b : h->dense_b,
               x, hidden, hidden, y);
        for (unsigned k = 0; k < hidden; k++)
            y[k] = h->kind == CLENC_HEAD_DISTILBERT ? (y[k] > 0 ? y[k] : 0)
                                                    : tanh(y[k]);
        affine(h->out_w, h->out_b, y, labels, hidden, x);
        float *s = scores + i * labels;
        if (raw || h->activation == CLENC_SCORE_IDENTITY) {
            for (unsigned k = 0; k < labels; k++)
                s[k] = (float)x[k];
        } else if (h->activation == CLENC_SCORE_SIGMOID) {
            for (unsigned k = 0; k < labels; k++)
                s[k] = (float)(1 / (1 + exp(-x[k])));
        } else { /* softmax, shifted by the largest logit */
            double top = x[0], sum = 0;
            for (unsigned k = 1; k < labels; k++)
                top = x[k] > top ? x[k] : top;
            for (unsigned k = 0; k < labels; k++)
                sum += exp(x[k] - top);
            for (unsigned k = 0; k < labels; k++)
                s[k] = (float)(exp(x[k] - top) / sum);
        }
    }
    clenc__free(x);
    return CLENC_OK;
}

void clenc__head_free(clenc__head *h)
{
    for (unsigned i = 0; h->labels && i < h->num_labels; i++)
        clenc__free(h->labels[i]);
    clenc__free(h->labels);
    clenc__free(h->pooler_w);
    clenc__free(h->pooler_b);
    clenc__free(h->dense_w);
    clenc__free(h->dense_b);
    clenc__free(h->out_w);
    clenc__free(h->out_b);
    memset(h, 0, sizeof *h);
}

void clenc__normalize_rows(float *rows, size_t n, unsigned hidden)
{
    for (size_t i = 0; i < n; i++) {
        float *r = rows + i * hidden;
        double sum = 0;
        for (unsigned k = 0; k < hidden; k++)
            sum += (double)r[k] * r[k];
        /* torch.nn.functional.normalize's eps, as pool.cl's l2norm */
        const double norm = sqrt(sum);
        const double scale = 1 / (norm > 1e-12 ? norm : 1e-12);
        for (unsigned k = 0; k < hidden; k++)
            r[k] = (float)(r[k] * scale);
    }
}
