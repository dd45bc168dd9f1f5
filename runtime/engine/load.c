/* load.c — clenc_model_load: a model folder's safetensors read into the encoder's weights, every shape checked and every tensor accounted for. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "formats/config.h"
#include "engine/engine.h"
#include "formats/safetensors.h"
#include "text/tokenizer.h"

typedef struct loader {
    const clenc__model_files *files;
    clenc__safetensors st;
    const char *prefix; /* tensor names' common prefix ("bert.", "") */
    size_t prefix_len;
    unsigned char *used; /* per tensor of st: taken by the encoder */
    void **converted;    /* the host copies this load read */
    size_t converted_count;
    int keep_halves; /* the model is FP16: F16 matrices stay half */
    clenc__half_weights halves;
    unsigned char *scratch; /* one tensor's bytes before conversion */
    size_t scratch_size;
} loader;

static void shape_text(const clenc__tensor *t, char *out, size_t cap)
{
    size_t n = (size_t)snprintf(out, cap, "[");
    for (unsigned i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%llu", i ? ", " : "",
                              (unsigned long long)t->shape[i]);
    if (n < cap)
        snprintf(out + n, cap - n, "]");
}

/* A host copy of `bytes` this load owns until it ends. */
static void *keep(loader *L, size_t bytes, const char *full)
{
    void **grown =
        clenc__realloc(L->converted, (L->converted_count + 1) * sizeof *grown);
    void *copy = grown ? clenc__malloc(bytes) : NULL;
    if (grown)
        L->converted = grown;
    if (!copy) {
        clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                    "no host memory to read tensor '%s'", full);
        return NULL;
    }
    L->converted[L->converted_count++] = copy;
    return copy;
}

/* Tensor `name` (after the prefix) of shape [d0] or [d0, d1] (d1 = 0 for
 * vectors), as float32 in *out, or where `half` is given and an FP16 model
 * reads an F16 tensor, as the file's halves in *half (*out NULL): they
 * reach the device without a float copy. Absent: CLENC_ERR_MODEL_FORMAT,
 * or NULL when not required. */
static clenc_status tensor_as(loader *L, const char *name, unsigned d0,
                              unsigned d1, int required, const float **out,
                              const uint16_t **half)
{
    char full[512];
    snprintf(full, sizeof full, "%.*s%s", (int)L->prefix_len, L->prefix, name);
    *out = NULL;
    if (half)
        *half = NULL;
    const clenc__tensor *t = clenc__st_find(&L->st, full);
    if (!t)
        return required ? clenc__fail(CLENC_ERR_MODEL_FORMAT,
                                      "%s: tensor '%s' is missing",
                                      L->files->weights_path, full)
                        : CLENC_OK;
    const int matrix = d1 != 0;
    if (t->ndim != (matrix ? 2u : 1u) || t->shape[0] != d0 ||
        (matrix && t->shape[1] != d1)) {
        char have[96];
        shape_text(t, have, sizeof have);
        if (matrix)
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "%s: tensor '%s' has shape %s, but config.json "
                               "says [%u, %u]",
                               L->files->weights_path, full, have, d0, d1);
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: tensor '%s' has shape %s, but config.json "
                           "says [%u]",
                           L->files->weights_path, full, have, d0);
    }
    L->used[t - L->st.tensors] = 1;
    /* Read, not mapped (safetensors.h says why), one tensor at a time:
     * little-endian float32, or F16 kept as half, straight into its copy,
     * anything else through the scratch buffer, which grows to the
     * largest such tensor. */
    const uint16_t probe = 1;
    const int little = *(const uint8_t *)&probe == 1;
    if (half && L->keep_halves && t->dtype == CLENC__F16 && little) {
        uint16_t *halves = keep(L, t->size, full);
        if (!halves)
            return CLENC_ERR_OUT_OF_MEMORY;
        *half = halves;
        return clenc__st_read(&L->st, t, halves);
    }
    float *copy = keep(L, (size_t)t->count * sizeof *copy, full);
    if (!copy)
        return CLENC_ERR_OUT_OF_MEMORY;
    *out = copy;
    if (t->dtype == CLENC__F32 && little)
        return clenc__st_read(&L->st, t, copy);
    if (t->size > L->scratch_size) {
        unsigned char *bigger = clenc__realloc(L->scratch, t->size);
        if (!bigger)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "no host memory to convert tensor '%s'", full);
        L->scratch = bigger;
        L->scratch_size = t->size;
    }
    clenc_status st = clenc__st_read(&L->st, t, L->scratch);
    if (st != CLENC_OK)
        return st;
    clenc__tensor in_memory = *t;
    in_memory.data = L->scratch;
    return clenc__st_to_f32(&in_memory, copy);
}

/* A tensor that is float32 on the host whatever the precision. */
static clenc_status tensor(loader *L, const char *name, unsigned d0,
                           unsigned d1, int required, const float **out)
{
    return tensor_as(L, name, d0, d1, required, out, NULL);
}

/* "bert.embeddings.word_embeddings.weight" -> prefix "bert.": task heads
 * and wrappers name the same encoder under different prefixes. */
static int find_prefix(loader *L, const char *suffix)
{
    const size_t ns = strlen(suffix);
    for (size_t i = 0; i < L->st.count; i++) {
        const char *name = L->st.tensors[i].name;
        size_t n = strlen(name);
        if (n >= ns && strcmp(name + n - ns, suffix) == 0 &&
            (n == ns || name[n - ns - 1] == '.')) {
            L->prefix = name;
            L->prefix_len = n - ns;
            return 1;
        }
    }
    return 0;
}

/* BERT's LayerNorm is "weight"/"bias", or "gamma"/"beta" in checkpoints
 * converted from TensorFlow. */
static clenc_status layer_norm(loader *L, const char *base, unsigned h,
                               const float **w, const float **b)
{
    char name[256];
    clenc_status st;
    snprintf(name, sizeof name, "%s.gamma", base);
    if ((st = tensor(L, name, h, 0, 0, w)) != CLENC_OK || *w) {
        snprintf(name, sizeof name, "%s.beta", base);
        return st != CLENC_OK ? st : tensor(L, name, h, 0, 1, b);
    }
    snprintf(name, sizeof name, "%s.weight", base);
    TRY(tensor(L, name, h, 0, 1, w), out);
    snprintf(name, sizeof name, "%s.bias", base);
    st = tensor(L, name, h, 0, 1, b);
out:
    return st;
}

/* A BERT-layout checkpoint's names: its layers' prefix and each part's
 * (".weight" and ".bias" follow); DistilBERT renames BERT's parts. */
typedef struct bert_names {
    const char *example_prefix; /* for the message when nothing is found */
    const char *layer;          /* "encoder.layer" */
    const char *q, *k, *v, *o, *up, *down, *norm1, *norm2;
} bert_names;

static const bert_names bert_layout = {
    "bert.", "encoder.layer", "attention.self.query", "attention.self.key",
    "attention.self.value", "attention.output.dense", "intermediate.dense",
    "output.dense", "attention.output.LayerNorm", "output.LayerNorm"};
static const bert_names distilbert_layout = {
    "distilbert.", "transformer.layer", "attention.q_lin", "attention.k_lin",
    "attention.v_lin", "attention.out_lin", "ffn.lin1", "ffn.lin2",
    "sa_layer_norm", "output_layer_norm"};

/* One linear part of layer i: its weight (as halves where the loader keeps
 * them) and bias. */
static clenc_status linear(loader *L, const bert_names *nm, unsigned i,
                           const char *part, unsigned d0, unsigned d1,
                           const float **w, const uint16_t **half,
                           const float **b)
{
    char n[256];
    snprintf(n, sizeof n, "%s.%u.%s.weight", nm->layer, i, part);
    clenc_status st = tensor_as(L, n, d0, d1, 1, w, half);
    if (st != CLENC_OK)
        return st;
    snprintf(n, sizeof n, "%s.%u.%s.bias", nm->layer, i, part);
    return tensor(L, n, d0, 0, 1, b);
}

/* BERT's layout (RoBERTa's, XLM-R's, CamemBERT's) and DistilBERT's: the
 * embeddings under one set of names, the layers under `nm`'s. */
static clenc_status map_bert(loader *L, const clenc_config *c,
                             clenc_weights *w, clenc_layer_weights *layers,
                             clenc__half_layer *half_layers,
                             const bert_names *nm)
{
    clenc__half_weights *hw = &L->halves;
    clenc_status st;
    const unsigned h = c->hidden, f = c->ffn;
    if (!find_prefix(L, "embeddings.word_embeddings.weight"))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: no tensor 'embeddings.word_embeddings.weight' "
                           "(with or without a prefix such as '%s')",
                           L->files->weights_path, nm->example_prefix);
    TRY(tensor_as(L, "embeddings.word_embeddings.weight", c->vocab_size, h, 1,
                  &w->word_embeddings, &hw->word_embeddings),
        out);
    TRY(tensor_as(L, "embeddings.position_embeddings.weight",
                  c->max_positions, h, 1, &w->position_embeddings,
                  &hw->position_embeddings),
        out);
    if (c->type_vocab_size)
        TRY(tensor_as(L, "embeddings.token_type_embeddings.weight",
                      c->type_vocab_size, h, 1, &w->type_embeddings,
                      &hw->type_embeddings),
            out);
    TRY(layer_norm(L, "embeddings.LayerNorm", h, &w->embedding_norm_weight,
                   &w->embedding_norm_bias),
        out);
    for (unsigned i = 0; i < c->layers; i++) {
        clenc_layer_weights *l = &layers[i];
        clenc__half_layer *hl = &half_layers[i];
        char n[256];
        TRY(linear(L, nm, i, nm->q, h, h, &l->q_weight, &hl->q_weight,
                   &l->q_bias),
            out);
        TRY(linear(L, nm, i, nm->k, h, h, &l->k_weight, &hl->k_weight,
                   &l->k_bias),
            out);
        TRY(linear(L, nm, i, nm->v, h, h, &l->v_weight, &hl->v_weight,
                   &l->v_bias),
            out);
        TRY(linear(L, nm, i, nm->o, h, h, &l->o_weight, &hl->o_weight,
                   &l->o_bias),
            out);
        TRY(linear(L, nm, i, nm->up, f, h, &l->ffn_up_weight,
                   &hl->ffn_up_weight, &l->ffn_up_bias),
            out);
        TRY(linear(L, nm, i, nm->down, h, f, &l->ffn_down_weight,
                   &hl->ffn_down_weight, &l->ffn_down_bias),
            out);
        snprintf(n, sizeof n, "%s.%u.%s", nm->layer, i, nm->norm1);
        TRY(layer_norm(L, n, h, &l->norm1_weight, &l->norm1_bias), out);
        snprintf(n, sizeof n, "%s.%u.%s", nm->layer, i, nm->norm2);
        TRY(layer_norm(L, n, h, &l->norm2_weight, &l->norm2_bias), out);
    }
out:
    return st;
}

static clenc_status map_torch(loader *L, clenc_config *c, clenc_weights *w,
                              clenc_layer_weights *layers,
                              clenc__half_layer *half_layers)
{
    clenc_status st;
    const unsigned h = c->hidden, f = c->ffn;
    const size_t hh = (size_t)h * h;
    if (!find_prefix(L, "layers.0.self_attn.in_proj_weight"))
        L->prefix_len = 0; /* reported as missing below */
    TRY(tensor_as(L, "embedding.weight", c->vocab_size, h, 1,
                  &w->word_embeddings, &L->halves.word_embeddings),
        out);
    for (unsigned i = 0; i < c->layers; i++) {
        clenc_layer_weights *l = &layers[i];
        clenc__half_layer *hl = &half_layers[i];
        const float *in_w, *in_b;
        const uint16_t *in_half;
        char n[256];
#define GET_AS(ptr, half, suffix, d0, d1)                                      \
    snprintf(n, sizeof n, "layers.%u.%s", i, suffix);                          \
    TRY(tensor_as(L, n, d0, d1, 1, ptr, half), out)
#define GET(ptr, suffix, d0, d1) GET_AS(ptr, NULL, suffix, d0, d1)
        GET_AS(&in_w, &in_half, "self_attn.in_proj_weight", 3 * h, h);
        GET(&in_b, "self_attn.in_proj_bias", 3 * h, 0);
        GET_AS(&l->o_weight, &hl->o_weight, "self_attn.out_proj.weight", h, h);
        GET(&l->o_bias, "self_attn.out_proj.bias", h, 0);
        GET_AS(&l->ffn_up_weight, &hl->ffn_up_weight, "linear1.weight", f, h);
        GET(&l->ffn_up_bias, "linear1.bias", f, 0);
        GET_AS(&l->ffn_down_weight, &hl->ffn_down_weight, "linear2.weight", h,
               f);
        GET(&l->ffn_down_bias, "linear2.bias", h, 0);
        GET(&l->norm1_weight, "norm1.weight", h, 0);
        GET(&l->norm1_bias, "norm1.bias", h, 0);
        GET(&l->norm2_weight, "norm2.weight", h, 0);
        GET(&l->norm2_bias, "norm2.bias", h, 0);
#undef GET
#undef GET_AS
        /* in_proj stacks Q, K and V, as floats or as halves. */
        if (in_half) {
            hl->q_weight = in_half;
            hl->k_weight = in_half + hh;
            hl->v_weight = in_half + 2 * hh;
        } else {
            l->q_weight = in_w;
            l->k_weight = in_w + hh;
            l->v_weight = in_w + 2 * hh;
        }
        l->q_bias = in_b;
        l->k_bias = in_b + h;
        l->v_bias = in_b + 2 * h;
    }
    TRY(tensor(L, "norm.weight", h, 0, 0, &w->final_norm_weight), out);
    if (w->final_norm_weight)
        TRY(tensor(L, "norm.bias", h, 0, 1, &w->final_norm_bias), out);
    c->final_norm = w->final_norm_weight != NULL;
out:
    return st;
}

/* A head's tensor: under the encoder's prefix (BERT's pooler) or at the
 * top (the classifiers beside "bert.", "roberta.", "distilbert."), copied
 * into an array the model keeps. */
static clenc_status head_tensor(loader *L, const char *name, int prefixed,
                                unsigned d0, unsigned d1, int required,
                                float **out)
{
    const size_t keep = L->prefix_len;
    const float *data;
    if (!prefixed)
        L->prefix_len = 0;
    clenc_status st = tensor(L, name, d0, d1, required, &data);
    L->prefix_len = keep;
    *out = NULL;
    if (st != CLENC_OK || !data)
        return st;
    const size_t count = (size_t)d0 * (d1 ? d1 : 1);
    if (!(*out = clenc__malloc(count * sizeof **out)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    memcpy(*out, data, count * sizeof **out);
    return clenc__check_finite(*out, count, name);
}

/* BERT's pooler where the checkpoint has it, and the head config.json
 * names, by transformers' names for each class. */
static clenc_status map_head(loader *L, const clenc_config *c,
                             clenc__head_info *info, clenc__head *h)
{
    clenc_status st;
    const unsigned hd = c->hidden, n = info->num_labels;
    memset(h, 0, sizeof *h);
    const int bert = info->kind == CLENC_HEAD_BERT;
    if (L->files->arch == CLENC__ARCH_BERT)
        TRY(head_tensor(L, "pooler.dense.weight", 1, hd, hd, bert,
                        &h->pooler_w),
            out);
    if (h->pooler_w)
        TRY(head_tensor(L, "pooler.dense.bias", 1, hd, 0, 1, &h->pooler_b),
            out);
    if (info->kind == CLENC_HEAD_NONE)
        return CLENC_OK;
    static const char *const names[][4] = {
        [CLENC_HEAD_BERT] = {NULL, NULL, "classifier.weight",
                             "classifier.bias"},
        [CLENC_HEAD_ROBERTA] = {"classifier.dense.weight",
                                "classifier.dense.bias",
                                "classifier.out_proj.weight",
                                "classifier.out_proj.bias"},
        [CLENC_HEAD_DISTILBERT] = {"pre_classifier.weight",
                                   "pre_classifier.bias", "classifier.weight",
                                   "classifier.bias"},
    };
    const char *const *k = names[info->kind];
    if (k[0]) {
        TRY(head_tensor(L, k[0], 0, hd, hd, 1, &h->dense_w), out);
        TRY(head_tensor(L, k[1], 0, hd, 0, 1, &h->dense_b), out);
    }
    TRY(head_tensor(L, k[2], 0, n, hd, 1, &h->out_w), out);
    TRY(head_tensor(L, k[3], 0, n, 0, 1, &h->out_b), out);
    h->kind = info->kind;
    h->num_labels = n;
    h->activation = info->activation;
    h->labels = info->labels; /* the model keeps the names */
    info->labels = NULL;
    info->num_labels = 0;
out:
    return st;
}

/* Each layout's names: the encoder's parts (what lies elsewhere under the
 * prefix is a head or a pooler), its layers, and config.json's count of
 * them. */
static const struct layout {
    const char *parts[3];
    const char *layers, *layers_key;
    int bert_names; /* embeddings.* with HF's position_ids buffers */
} layouts[] = {
    [CLENC__ARCH_BERT] = {{"embeddings.", "encoder."}, "encoder.layer.",
                          "num_hidden_layers", 1},
    [CLENC__ARCH_DISTILBERT] = {{"embeddings.", "transformer."},
                                "transformer.layer.", "n_layers", 1},
    [CLENC__ARCH_TORCH_ENCODER] = {{"embedding.", "layers.", "norm."},
                                   "layers.", "num_layers", 0},
};

/* A tensor of the encoder that config.json leaves out: the checkpoint was
 * trained as a different network than the one clenc would run. */
static clenc_status unaccounted(const loader *L, const char *name,
                                const char *rest, clenc__arch arch,
                                const clenc_config *c)
{
    const int bert = layouts[arch].bert_names;
    const char *layer_names = layouts[arch].layers;
    const size_t k = strlen(layer_names);
    if (strncmp(rest, layer_names, k) == 0 && rest[k] >= '0' &&
        rest[k] <= '9' && strtoul(rest + k, NULL, 10) >= c->layers)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: tensor '%s' belongs to layer %lu, but "
                           "config.json's %s is %u: the checkpoint holds "
                           "more layers than config.json describes",
                           L->files->weights_path, name,
                           strtoul(rest + k, NULL, 10),
                           layouts[arch].layers_key, c->layers);
    if (bert && c->type_vocab_size == 0 &&
        strcmp(rest, "embeddings.token_type_embeddings.weight") == 0)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: tensor '%s' is present, but config.json's "
                           "type_vocab_size is 0: the encoder would run "
                           "without the token-type table it was trained with",
                           L->files->weights_path, name);
    return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                       "%s: tensor '%s' is not part of the encoder that "
                       "config.json describes: clenc does not know what it "
                       "computes, and would run without it",
                       L->files->weights_path, name);
}

/* Every tensor under the encoder's own names must have been taken. Task
 * heads and the pooler ("pooler.", "cls.", "classifier.", "qa_outputs.")
 * and whatever lies outside the prefix are not the encoder's; HF's
 * position_ids and token_type_ids buffers are what the encoder computes
 * itself. */
static clenc_status check_accounted(const loader *L, clenc__arch arch,
                                    const clenc_config *c)
{
    static const char *const buffers[] = {"embeddings.position_ids",
                                          "embeddings.token_type_ids"};
    const int bert = layouts[arch].bert_names;
    const char *const *parts = layouts[arch].parts;
    for (size_t i = 0; i < L->st.count; i++) {
        const char *name = L->st.tensors[i].name;
        if (L->used[i] ||
            (L->prefix_len && strncmp(name, L->prefix, L->prefix_len) != 0))
            continue;
        const char *rest = name + L->prefix_len;
        int encoder = 0;
        for (size_t p = 0; p < 3 && parts[p]; p++)
            encoder |= strncmp(rest, parts[p], strlen(parts[p])) == 0;
        for (size_t b = 0; bert && b < 2; b++)
            encoder &= strcmp(rest, buffers[b]) != 0;
        if (encoder)
            return unaccounted(L, name, rest, arch, c);
    }
    return CLENC_OK;
}

static void model_name(const char *folder, char *out, size_t cap)
{
    size_t n = strlen(folder);
    while (n > 1 && folder[n - 1] == '/')
        n--;
    size_t start = n;
    while (start > 0 && folder[start - 1] != '/')
        start--;
    snprintf(out, cap, "%.*s", (int)(n - start), folder + start);
}

clenc_status clenc_model_load(clenc_context *ctx, const char *path,
                              clenc_model **out)
{
    return clenc_model_load_as(ctx, path, CLENC_PRECISION_DEFAULT, out);
}

clenc_status clenc_model_load_as(clenc_context *ctx, const char *path,
                                 clenc_precision precision, clenc_model **out)
{
    clenc_status st;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_model_load: out is NULL");
    *out = NULL;
    if (!ctx || !path)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_model_load: %s is NULL", ctx ? "path" : "ctx");
    clenc__model_files files;
    loader L;
    memset(&L, 0, sizeof L);
    L.files = &files;
    clenc__tokenizer *tok = NULL;
    clenc_layer_weights *layers = NULL;
    clenc__half_layer *half_layers = NULL;
    clenc__head head;
    memset(&head, 0, sizeof head);
    TRY(clenc__model_files_read(path, &files), out);
    TRY(clenc__st_open_header(files.weights_path, &L.st), out_free_files);
    clenc_config config = files.config;
    config.precision = precision;
    L.keep_halves = (precision ? precision : ctx->precision) ==
                    CLENC_PRECISION_FP16;
    clenc_weights weights;
    memset(&weights, 0, sizeof weights);
    /* Checked here too: layers sizes the allocation below. */
    if (config.layers == 0 || config.layers > 1024) {
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                         "%s/config.json: %u layers", files.folder,
                         config.layers);
        goto out_close;
    }
    if (!(layers = clenc__calloc(config.layers, sizeof *layers)) ||
        !(half_layers = clenc__calloc(config.layers, sizeof *half_layers)) ||
        !(L.used = clenc__calloc(L.st.count ? L.st.count : 1, 1))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out_close;
    }
    weights.layers = layers;
    L.halves.layers = half_layers;
    TRY(files.arch == CLENC__ARCH_TORCH_ENCODER
            ? map_torch(&L, &config, &weights, layers, half_layers)
            : map_bert(&L, &config, &weights, layers, half_layers,
                       files.arch == CLENC__ARCH_BERT ? &bert_layout
                                                      : &distilbert_layout),
        out_close);
    TRY(check_accounted(&L, files.arch, &config), out_close);
    TRY(map_head(&L, &config, &files.head, &head), out_close);
    const char *tok_path = files.tokenizer_json_path ? files.tokenizer_json_path
                                                     : files.vocab_path;
    if (files.tokenizer_json_path)
        TRY(clenc__tokenizer_load_json(tok_path, &tok), out_close);
    else if (files.vocab_path)
        TRY(clenc__tokenizer_load(tok_path, &files.tokenizer, &tok),
            out_close);
    if (tok && clenc__tokenizer_vocab_size(tok) > config.vocab_size) {
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                         "%s has ids up to %zu, but config.json's vocab_size "
                         "is %u",
                         tok_path, clenc__tokenizer_vocab_size(tok) - 1,
                         config.vocab_size);
        goto out_close;
    }
    clenc_model *m;
    TRY(clenc__model_create(ctx, &config, &weights, &L.halves, &m), out_close);
    m->tokenizer = tok;
    tok = NULL;
    m->head = head;
    memset(&head, 0, sizeof head);
    m->max_text_tokens = files.max_text_tokens;
    model_name(files.folder, m->name, sizeof m->name);
    *out = m;
out_close:
    clenc__tokenizer_free(tok);
    clenc__head_free(&head);
    for (size_t i = 0; i < L.converted_count; i++)
        clenc__free(L.converted[i]);
    clenc__free(L.converted);
    clenc__free(L.scratch);
    clenc__free(L.used);
    clenc__free(layers);
    clenc__free(half_layers);
    clenc__st_close(&L.st);
out_free_files:
    clenc__model_files_free(&files);
out:
    return st;
}
