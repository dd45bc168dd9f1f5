/* model.c — models: configuration checks, weights on the device in the GEMM's layout, programs specialised for the model. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* Private arrays of a head's query and accumulator live in registers. */
#define MAX_HEAD_DIM 256u

static clenc_status check_config(const clenc_config *c)
{
    const struct {
        const char *name;
        unsigned value;
    } sizes[] = {{"vocab_size", c->vocab_size}, {"hidden", c->hidden},
                 {"heads", c->heads},           {"layers", c->layers},
                 {"ffn", c->ffn},               {"max_positions", c->max_positions}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (sizes[i].value == 0)
            return clenc__fail(CLENC_ERR_INVALID_ARG, "config.%s is 0",
                               sizes[i].name);
    if (c->hidden % c->heads != 0)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "config.hidden %u is not divisible by config.heads "
                           "%u",
                           c->hidden, c->heads);
    if (c->hidden / c->heads > MAX_HEAD_DIM)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "head size %u (hidden %u / heads %u) is over %u",
                           c->hidden / c->heads, c->hidden, c->heads,
                           MAX_HEAD_DIM);
    if ((unsigned)c->activation > CLENC_ACT_RELU)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "config.activation is %d",
                           (int)c->activation);
    if ((unsigned)c->norm > CLENC_NORM_PRE)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "config.norm is %d",
                           (int)c->norm);
    if ((unsigned)c->precision > CLENC_PRECISION_INT8)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "config.precision is %d",
                           (int)c->precision);
    if (c->position_offset >= c->max_positions)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "config.position_offset %u leaves no position of "
                           "config.max_positions %u",
                           c->position_offset, c->max_positions);
    if ((unsigned)c->positions > CLENC_POS_NONE)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "config.positions is %d",
                           (int)c->positions);
    unsigned pool = (unsigned)c->pooling & ~(unsigned)CLENC_POOL_NORMALIZE;
    if (pool < CLENC_POOL_MEAN || pool > CLENC_POOL_NONE)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "config.pooling is %d: the model's default must be "
                           "MEAN, CLS or NONE",
                           (int)c->pooling);
    if (!(c->eps > 0.0f) || !isfinite(c->eps))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "config.eps is %g: it must be positive", c->eps);
    /* Sizes multiply into buffer sizes and int kernel arguments. */
    if (c->hidden > 65536 || c->ffn > 1u << 20 || c->vocab_size > 1u << 24 ||
        c->max_positions > 1u << 20 || c->layers > 1024 ||
        c->type_vocab_size > 1024)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "config sizes beyond what clenc supports (hidden "
                           "%u, ffn %u, vocab %u, positions %u, layers %u)",
                           c->hidden, c->ffn, c->vocab_size, c->max_positions,
                           c->layers);
    return CLENC_OK;
}

#define NEED(ptr, name)                                                        \
    do {                                                                       \
        if (!(ptr))                                                            \
            return clenc__fail(CLENC_ERR_INVALID_ARG, "weights.%s is NULL",    \
                               name);                                          \
    } while (0)

static clenc_status check_weights(const clenc_config *c, const clenc_weights *w,
                                  const clenc__half_weights *hw)
{
    static const clenc__half_layer no_halves;
    NEED(w->word_embeddings || hw->word_embeddings, "word_embeddings");
    if (c->positions == CLENC_POS_LEARNED)
        NEED(w->position_embeddings || hw->position_embeddings,
             "position_embeddings");
    if (c->type_vocab_size)
        NEED(w->type_embeddings || hw->type_embeddings, "type_embeddings");
    if (c->embedding_norm)
        NEED(w->embedding_norm_weight, "embedding_norm_weight");
    if (c->final_norm)
        NEED(w->final_norm_weight, "final_norm_weight");
    NEED(w->layers, "layers");
    for (unsigned i = 0; i < c->layers; i++) {
        const clenc_layer_weights *l = &w->layers[i];
        const clenc__half_layer *hl = hw->layers ? &hw->layers[i] : &no_halves;
        const struct {
            const void *p, *half;
            const char *name;
        } need[] = {{l->q_weight, hl->q_weight, "q_weight"},
                    {l->k_weight, hl->k_weight, "k_weight"},
                    {l->v_weight, hl->v_weight, "v_weight"},
                    {l->o_weight, hl->o_weight, "o_weight"},
                    {l->norm1_weight, NULL, "norm1_weight"},
                    {l->ffn_up_weight, hl->ffn_up_weight, "ffn_up_weight"},
                    {l->ffn_down_weight, hl->ffn_down_weight, "ffn_down_weight"},
                    {l->norm2_weight, NULL, "norm2_weight"}};
        for (size_t j = 0; j < sizeof need / sizeof need[0]; j++)
            if (!need[j].p && !need[j].half)
                return clenc__fail(CLENC_ERR_INVALID_ARG,
                                   "weights.layers[%u].%s is NULL", i,
                                   need[j].name);
    }
    return CLENC_OK;
}

/* A vector on the device; NULL host data uploads `fill`. */
static clenc_status vector_upload(clenc_model *m, const float *host,
                                  size_t count, float fill, const char *what,
                                  cl_mem *out)
{
    float *filled = NULL;
    if (!host) {
        if (!(filled = clenc__malloc(count * sizeof *filled)))
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        for (size_t i = 0; i < count; i++)
            filled[i] = fill;
        host = filled;
    }
    clenc_status st = clenc__check_finite(host, count, what);
    if (st == CLENC_OK)
        st = clenc__weights_upload(m->ctx, host, count * sizeof *host, what,
                                   out, &m->weight_bytes);
    clenc__free(filled);
    return st;
}

/* An embedding table at the model's precision: float at FP32, else half
 * (embed.cl says why the INT8 word table differs: word_table_upload); an
 * F16 checkpoint's own halves go as they are. */
static clenc_status table_upload(clenc_model *m, const float *host,
                                 const uint16_t *half, size_t count,
                                 const char *what, cl_mem *out)
{
    if (half) {
        clenc_status st = clenc__check_finite_half(half, count, what);
        return st != CLENC_OK ? st
                              : clenc__weights_upload(m->ctx, half,
                                                      count * sizeof *half,
                                                      what, out,
                                                      &m->weight_bytes);
    }
    if (!host || m->spec.precision == CLENC_PRECISION_FP32)
        return vector_upload(m, host, count, 0, what, out);
    clenc_status st;
    uint16_t *halves = clenc__malloc(count * sizeof *halves);
    if (!halves)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    TRY(clenc__check_finite(host, count, what), out);
    TRY(clenc__to_half(host, count, what, halves), out);
    st = clenc__weights_upload(m->ctx, halves, count * sizeof *halves, what,
                               out, &m->weight_bytes);
out:
    clenc__free(halves);
    return st;
}

/* The word embeddings: half of a small model's parameters. At INT8 one
 * signed byte an element and one float scale a row (clenc__q8_rows), as
 * the GEMMs' weights; word_scales is one float otherwise. */
static clenc_status word_table_upload(clenc_model *m, const float *host,
                                     const uint16_t *half)
{
    const size_t rows = m->config.vocab_size, h = m->config.hidden;
    clenc_status st;
    if (m->spec.precision != CLENC_PRECISION_INT8) {
        st = table_upload(m, host, half, rows * h, "word_embeddings",
                          &m->embed.word);
        return st != CLENC_OK ? st
                              : vector_upload(m, NULL, 1, 0, "word_embeddings",
                                              &m->embed.word_scales);
    }
    int8_t *q = clenc__malloc(rows * h);
    float *scales = clenc__malloc(rows * sizeof *scales);
    if (!q || !scales) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out;
    }
    TRY(clenc__check_finite(host, rows * h, "word_embeddings"), out);
    clenc__q8_rows(host, rows, h, q, scales);
    TRY(clenc__weights_upload(m->ctx, q, rows * h, "word_embeddings",
                              &m->embed.word, &m->weight_bytes),
        out);
    TRY(vector_upload(m, scales, rows, 0, "word_embeddings",
                      &m->embed.word_scales),
        out);
out:
    clenc__free(q);
    clenc__free(scales);
    return st;
}

/* Q, K and V side by side: one GEMM makes all three. At FP16 they are
 * joined as halves, each part rounded or, from an F16 checkpoint, as the
 * file holds it. */
static clenc_status upload_qkv(clenc_model *m, const clenc_layer_weights *l,
                               const clenc__half_layer *hl, unsigned layer,
                               clenc__matrix *out)
{
    const size_t h = m->config.hidden, hh = h * h;
    const int half = m->spec.precision == CLENC_PRECISION_FP16;
    const size_t size = half ? sizeof(uint16_t) : sizeof(float);
    void *w = clenc__malloc(3 * hh * size); /* floats, or halves at FP16 */
    float *b = clenc__calloc(3 * h, sizeof *b);
    clenc_status st = CLENC_OK;
    char what[64];
    snprintf(what, sizeof what, "layers[%u].qkv", layer);
    if (!w || !b) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out;
    }
    const float *parts[3] = {l->q_weight, l->k_weight, l->v_weight};
    const uint16_t *halves[3] = {hl->q_weight, hl->k_weight, hl->v_weight};
    const float *biases[3] = {l->q_bias, l->k_bias, l->v_bias};
    for (int i = 0; i < 3; i++) {
        unsigned char *at = (unsigned char *)w + i * hh * size;
        if (halves[i])
            memcpy(at, halves[i], hh * size);
        else if (!half)
            memcpy(at, parts[i], hh * size);
        else { /* named by its part: the element counts within it */
            char part[64];
            snprintf(part, sizeof part, "layers[%u].%c", layer, "qkv"[i]);
            TRY(clenc__check_finite(parts[i], hh, part), out);
            TRY(clenc__to_half(parts[i], hh, part, (void *)at), out);
        }
        if (biases[i])
            memcpy(b + i * h, biases[i], h * sizeof *b);
    }
    st = half ? clenc__matrix_upload_halves(m->ctx, m->spec.gemm, w, b,
                                            3 * (unsigned)h, (unsigned)h, what,
                                            out, &m->weight_bytes)
              : clenc__matrix_upload(m->ctx, m->spec.gemm, m->spec.precision,
                                     w, b, 3 * (unsigned)h,
                                     (unsigned)h, what, out, &m->weight_bytes);
out:
    clenc__free(w);
    clenc__free(b);
    return st;
}

/* One of a layer's matrices, from halves where the loader kept them. */
static clenc_status upload_matrix(clenc_model *m, const float *weight,
                                  const uint16_t *half, const float *bias,
                                  unsigned n, unsigned k, const char *what,
                                  clenc__matrix *out)
{
    if (half)
        return clenc__matrix_upload_halves(m->ctx, m->spec.gemm, half, bias,
                                           n, k, what, out, &m->weight_bytes);
    return clenc__matrix_upload(m->ctx, m->spec.gemm, m->spec.precision,
                                weight, bias, n, k, what, out,
                                &m->weight_bytes);
}

static clenc_status upload_layer(clenc_model *m, const clenc_layer_weights *l,
                                 const clenc__half_layer *hl, unsigned i,
                                 clenc__layer *out)
{
    clenc_status st;
    const unsigned h = m->config.hidden, f = m->config.ffn;
    char what[64];
    TRY(upload_qkv(m, l, hl, i, &out->qkv), out);
    snprintf(what, sizeof what, "layers[%u].o", i);
    TRY(upload_matrix(m, l->o_weight, hl->o_weight, l->o_bias, h, h, what,
                      &out->o),
        out);
    snprintf(what, sizeof what, "layers[%u].ffn_up", i);
    TRY(upload_matrix(m, l->ffn_up_weight, hl->ffn_up_weight, l->ffn_up_bias,
                      f, h, what, &out->ffn_up),
        out);
    snprintf(what, sizeof what, "layers[%u].ffn_down", i);
    TRY(upload_matrix(m, l->ffn_down_weight, hl->ffn_down_weight,
                      l->ffn_down_bias, h, f, what, &out->ffn_down),
        out);
    snprintf(what, sizeof what, "layers[%u].norm", i);
    TRY(vector_upload(m, l->norm1_weight, h, 1, what, &out->norm1_weight), out);
    TRY(vector_upload(m, l->norm1_bias, h, 0, what, &out->norm1_bias), out);
    TRY(vector_upload(m, l->norm2_weight, h, 1, what, &out->norm2_weight), out);
    TRY(vector_upload(m, l->norm2_bias, h, 0, what, &out->norm2_bias), out);
out:
    return st;
}

static clenc_status upload_weights(clenc_model *m, const clenc_weights *w,
                                   const clenc__half_weights *hw)
{
    static const clenc__half_layer no_halves;
    const clenc_config *c = &m->config;
    const size_t h = c->hidden;
    const int learned = c->positions == CLENC_POS_LEARNED;
    clenc_status st;
    TRY(word_table_upload(m, w->word_embeddings, hw->word_embeddings), out);
    /* Kernels take every table as an argument; unused ones get 1 float. */
    TRY(table_upload(m, learned ? w->position_embeddings : NULL,
                     learned ? hw->position_embeddings : NULL,
                     learned ? (size_t)c->max_positions * h : 1,
                     "position_embeddings", &m->embed.position),
        out);
    TRY(table_upload(m, c->type_vocab_size ? w->type_embeddings : NULL,
                     c->type_vocab_size ? hw->type_embeddings : NULL,
                     c->type_vocab_size ? c->type_vocab_size * h : 1,
                     "type_embeddings", &m->embed.type),
        out);
    TRY(vector_upload(m, w->embedding_norm_weight, h, 1, "embedding_norm",
                      &m->embed.norm_weight),
        out);
    TRY(vector_upload(m, w->embedding_norm_bias, h, 0, "embedding_norm",
                      &m->embed.norm_bias),
        out);
    TRY(vector_upload(m, w->final_norm_weight, h, 1, "final_norm",
                      &m->final_norm_weight),
        out);
    TRY(vector_upload(m, w->final_norm_bias, h, 0, "final_norm",
                      &m->final_norm_bias),
        out);
    if (!(m->layers = clenc__calloc(c->layers, sizeof *m->layers))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out;
    }
    for (unsigned i = 0; i < c->layers; i++)
        TRY(upload_layer(m, &w->layers[i],
                         hw->layers ? &hw->layers[i] : &no_halves, i,
                         &m->layers[i]),
            out);
out:
    return st;
}

/* The spec of the model's programs, from its configuration; the GEMM and
 * tiles come from the tuner. */
static void spec_from_config(const clenc_context *ctx, const clenc_config *c,
                             clenc__spec *s)
{
    memset(s, 0, sizeof *s);
    s->family = ctx->variant;
    s->hidden = c->hidden;
    s->heads = c->heads;
    s->type_vocab = c->type_vocab_size;
    s->act = c->activation;
    s->eps = c->eps;
    s->positions = c->positions;
    s->embed_scale = c->scale_embedding != 0;
    s->embed_norm = c->embedding_norm != 0;
    s->precision = c->precision ? c->precision : ctx->precision;
    /* Half activations pay where the device computes in half; elsewhere
     * converting them costs more than the bytes save (README.md,
     * "Precision"), so they are only forced there, to test the path. */
    s->half_compute = s->precision == CLENC_PRECISION_FP16 &&
                      (ctx->fp16_compute == CLENC_FP16_COMPUTE_FORCE ||
                       (ctx->fp16_compute == CLENC_FP16_COMPUTE_AUTO &&
                        ctx->device.info.fp16));
}

/* CLBlast multiplies floats only: fp16 and int8 run the own kernels, and
 * a CLBlast the user asked for is refused rather than quietly replaced
 * (its HGEMM waits for a device with cl_khr_fp16 to test it on). The
 * tuner's pick between the two is for fp32. */
static clenc_status precision_gemm(const clenc_context *ctx, clenc__spec *s)
{
    if (s->precision == CLENC_PRECISION_FP32 || s->gemm == CLENC_GEMM_OWN)
        return CLENC_OK;
    if (ctx->gemm == CLENC_GEMM_CLBLAST)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "precision %s with CLENC_GEMM=clblast: CLBlast "
                           "has no %s GEMM clenc can use; use the own GEMM",
                           clenc_precision_name(s->precision),
                           s->precision == CLENC_PRECISION_INT8 ? "int8"
                                                                : "tested fp16");
    s->gemm = CLENC_GEMM_OWN;
    return CLENC_OK;
}

/* Each GEMM needs only its own programs: the own kernel, or CLBlast plus
 * the epilogue kernel; the probes are not a model's. */
static clenc_status build_programs(clenc_model *m)
{
    unsigned files = (1u << CLENC__F_EMBED) | (1u << CLENC__F_ATTENTION) |
                     (1u << CLENC__F_LAYERNORM) | (1u << CLENC__F_POOL);
    if (m->spec.precision == CLENC_PRECISION_INT8)
        files |= (1u << CLENC__F_QUANT) | (1u << CLENC__F_QGEMM);
    else
        files |= m->spec.gemm == CLENC_GEMM_OWN ? 1u << CLENC__F_GEMM
                                                : 1u << CLENC__F_EPILOGUE;
    return clenc__programs_get(m->ctx, &m->spec, files, NULL, m->programs,
                               NULL);
}

clenc_status clenc__model_create(clenc_context *ctx, const clenc_config *config,
                                 const clenc_weights *weights,
                                 const clenc__half_weights *halves,
                                 clenc_model **out)
{
    static const clenc__half_weights no_halves;
    if (!halves)
        halves = &no_halves;
    clenc_status st;
    if ((st = check_config(config)) != CLENC_OK ||
        (st = check_weights(config, weights, halves)) != CLENC_OK)
        return st;
    clenc_model *m = clenc__calloc(1, sizeof *m);
    if (!m)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    m->ctx = ctx;
    m->config = *config;
    m->max_text_tokens = config->max_positions - config->position_offset;
    spec_from_config(ctx, config, &m->spec);
    /* Tiles are measured on the fp32 kernel (the tuner uploads float
     * weights); the fp16 kernel has the same loop and reuses them. */
    const clenc_precision precision = m->spec.precision;
    m->spec.precision = CLENC_PRECISION_FP32;
    st = clenc__tune(ctx, config->hidden, config->ffn, &m->spec);
    m->spec.precision = precision;
    if (st != CLENC_OK)
        goto out_destroy;
    TRY(precision_gemm(ctx, &m->spec), out_destroy);
    TRY(build_programs(m), out_destroy);
    TRY(upload_weights(m, weights, halves), out_destroy);
    *out = m;
    return CLENC_OK;
out_destroy:
    clenc_model_destroy(m);
    return st;
}

/* The caller's layers, each `layer_size` bytes apart, into an array of the
 * library's own (*out NULL when the caller has none). */
static clenc_status layers_in(const clenc_layer_weights *theirs,
                              size_t layer_size, unsigned count,
                              clenc_layer_weights **out)
{
    clenc_status st = CLENC_OK;
    *out = NULL;
    if (!theirs)
        return CLENC_OK;
    clenc_layer_weights *own = clenc__calloc(count, sizeof *own);
    if (!own)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    for (unsigned i = 0; i < count; i++) {
        char fn[64];
        snprintf(fn, sizeof fn, "clenc_model_create: weights.layers[%u]", i);
        TRY(CLENC__STRUCT_IN(fn, clenc_layer_weights, &own[i],
                             (const char *)theirs + (size_t)i * layer_size,
                             layer_size),
            out_free_own);
    }
    *out = own;
    return CLENC_OK;
out_free_own:
    clenc__free(own);
    return st;
}

clenc_status clenc_model_create_sized(clenc_context *ctx,
                                      const clenc_config *caller_config,
                                      size_t config_size,
                                      const clenc_weights *caller_weights,
                                      size_t weights_size, size_t layer_size,
                                      clenc_model **out)
{
    static const char fn[] = "clenc_model_create";
    clenc_status st;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!ctx || !caller_config || !caller_weights)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                           !ctx ? "ctx" : !caller_config ? "config" : "weights");
    clenc_config config;
    clenc_weights weights;
    clenc_layer_weights *layers = NULL;
    if ((st = CLENC__STRUCT_IN(fn, clenc_config, &config, caller_config,
                               config_size)) != CLENC_OK ||
        (st = CLENC__STRUCT_IN(fn, clenc_weights, &weights, caller_weights,
                               weights_size)) != CLENC_OK ||
        (st = CLENC__STRUCT_SIZE(fn, clenc_layer_weights, layer_size)) !=
            CLENC_OK ||
        (st = check_config(&config)) != CLENC_OK) /* before layers_in */
        return st;
    TRY(layers_in(weights.layers, layer_size, config.layers, &layers),
        out_free_layers);
    weights.layers = layers;
    TRY(clenc__model_create(ctx, &config, &weights, NULL, out),
        out_free_layers);
out_free_layers:
    clenc__free(layers);
    return st;
}

void clenc_model_destroy(clenc_model *m)
{
    if (!m)
        return;
    clenc_context *ctx = m->ctx;
    if (m->layers)
        for (unsigned i = 0; i < m->config.layers; i++) {
            clenc__layer *l = &m->layers[i];
            clenc__matrix_release(ctx, &l->qkv);
            clenc__matrix_release(ctx, &l->o);
            clenc__matrix_release(ctx, &l->ffn_up);
            clenc__matrix_release(ctx, &l->ffn_down);
            clenc__buffer_release(ctx, l->norm1_weight);
            clenc__buffer_release(ctx, l->norm1_bias);
            clenc__buffer_release(ctx, l->norm2_weight);
            clenc__buffer_release(ctx, l->norm2_bias);
        }
    clenc__free(m->layers);
    cl_mem tables[] = {m->embed.word,        m->embed.word_scales,
                       m->embed.position,
                       m->embed.type,        m->embed.norm_weight,
                       m->embed.norm_bias,   m->final_norm_weight,
                       m->final_norm_bias};
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        clenc__buffer_release(ctx, tables[i]);
    clenc__tokenizer_free(m->tokenizer);
    clenc__head_free(&m->head);
    clenc__free(m);
}

clenc_status clenc_model_info_get_sized(const clenc_model *m,
                                        clenc_model_info *caller_out,
                                        size_t out_size)
{
    if (!m || !caller_out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_model_info_get: %s is NULL",
                           m ? "out" : "model");
    clenc_status st = CLENC__STRUCT_SIZE("clenc_model_info_get",
                                         clenc_model_info, out_size);
    if (st != CLENC_OK)
        return st;
    clenc_model_info info, *out = &info;
    memset(out, 0, sizeof *out);
    out->hidden = m->config.hidden;
    out->max_sequence = m->config.max_positions;
    out->vocab_size = m->config.vocab_size;
    out->layers = m->config.layers;
    out->pooling = m->config.pooling;
    out->gemm = m->spec.gemm;
    out->variant = m->spec.family;
    out->weight_bytes = m->weight_bytes;
    out->has_tokenizer = m->tokenizer != NULL;
    out->max_text_tokens = m->max_text_tokens;
    memcpy(out->name, m->name, sizeof out->name);
    out->precision = m->spec.precision;
    out->fp16_compute = m->spec.half_compute;
    out->head = m->head.kind;
    out->num_labels = m->head.num_labels;
    out->score_activation = m->head.activation;
    out->has_pooler = m->head.pooler_w != NULL;
    CLENC__STRUCT_OUT(caller_out, out_size, &info);
    return CLENC_OK;
}

const char *clenc_model_label(const clenc_model *m, unsigned index)
{
    return m && index < m->head.num_labels ? m->head.labels[index] : NULL;
}
