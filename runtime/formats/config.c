/* config.c — a model's architecture in clenc's terms: the two families' defaults, HF config.json of BERT, RoBERTa, XLM-RoBERTa, CamemBERT and DistilBERT, torch TransformerEncoder config.json. */
#include <stdio.h>
#include <string.h>

#include "formats/config.h"
#include "formats/json.h"

clenc_status clenc_config_init_bert_sized(clenc_config *caller_config,
                                          size_t config_size)
{
    if (!caller_config)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_config_init_bert: config is NULL");
    clenc_status st = CLENC__STRUCT_SIZE("clenc_config_init_bert",
                                         clenc_config, config_size);
    if (st != CLENC_OK)
        return st;
    clenc_config config, *c = &config;
    memset(c, 0, sizeof *c);
    c->type_vocab_size = 2;
    c->activation = CLENC_ACT_GELU;
    c->norm = CLENC_NORM_POST;
    c->positions = CLENC_POS_LEARNED;
    c->embedding_norm = 1;
    c->eps = 1e-12f;
    c->pooling = CLENC_POOL_MEAN;
    CLENC__STRUCT_OUT(caller_config, config_size, c);
    return CLENC_OK;
}

clenc_status clenc_config_init_vanilla_sized(clenc_config *caller_config,
                                             size_t config_size)
{
    if (!caller_config)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_config_init_vanilla: config is NULL");
    clenc_status st = CLENC__STRUCT_SIZE("clenc_config_init_vanilla",
                                         clenc_config, config_size);
    if (st != CLENC_OK)
        return st;
    clenc_config config, *c = &config;
    memset(c, 0, sizeof *c);
    c->activation = CLENC_ACT_RELU;
    c->norm = CLENC_NORM_POST;
    c->positions = CLENC_POS_SINUSOIDAL;
    c->scale_embedding = 1;
    c->eps = 1e-5f;
    c->pooling = CLENC_POOL_MEAN;
    CLENC__STRUCT_OUT(caller_config, config_size, c);
    return CLENC_OK;
}

static int has_architecture(json_t *root, const char *prefix)
{
    json_t *arch = json_object_get(root, "architectures");
    size_t i;
    json_t *v;
    json_array_foreach(arch, i, v)
    {
        if (json_is_string(v) &&
            strncmp(json_string_value(v), prefix, strlen(prefix)) == 0)
            return 1;
    }
    return 0;
}

/* hidden_act (BERT's names) or activation (DistilBERT's). */
static clenc_status read_activation(json_t *root, const char *file,
                                    const char *key, clenc_config *c)
{
    const char *act = NULL;
    clenc_status st = clenc__json_string(root, file, key, "gelu", &act);
    if (st != CLENC_OK)
        return st;
    if (strcmp(act, "gelu") == 0)
        c->activation = CLENC_ACT_GELU;
    else if (strcmp(act, "gelu_new") == 0 ||
             strcmp(act, "gelu_pytorch_tanh") == 0)
        c->activation = CLENC_ACT_GELU_TANH;
    else if (strcmp(act, "relu") == 0)
        c->activation = CLENC_ACT_RELU;
    else
        return clenc__unsupported(file, key, act,
                                  "gelu, gelu_new, gelu_pytorch_tanh and "
                                  "relu");
    return CLENC_OK;
}

/* RoBERTa's family is BERT's layout with positions numbered from
 * padding_idx + 1 (transformers' create_position_ids_from_input_ids) and
 * one token type. */
static int roberta_family(const char *type)
{
    return strcmp(type, "roberta") == 0 || strcmp(type, "xlm-roberta") == 0 ||
           strcmp(type, "camembert") == 0;
}

static clenc_status read_bert(json_t *root, const char *file, clenc_config *c)
{
    clenc_status st;
    const char *type = NULL, *pos = NULL;
    clenc_config_init_bert(c);
    TRY(clenc__json_string(root, file, "model_type", "bert", &type), out);
    if (strcmp(type, "bert") != 0 && !roberta_family(type))
        return clenc__unsupported(file, "model_type", type,
                                  "bert, roberta, xlm-roberta, camembert, "
                                  "distilbert and TransformerEncoder");
    if (roberta_family(type)) {
        unsigned pad = 1;
        TRY(clenc__json_uint(root, file, "pad_token_id", 1, &pad), out);
        c->position_offset = pad + 1;
    }
    TRY(clenc__json_uint(root, file, "vocab_size", -1, &c->vocab_size), out);
    TRY(clenc__json_uint(root, file, "hidden_size", -1, &c->hidden), out);
    TRY(clenc__json_uint(root, file, "num_attention_heads", -1, &c->heads), out);
    TRY(clenc__json_uint(root, file, "num_hidden_layers", -1, &c->layers), out);
    TRY(clenc__json_uint(root, file, "intermediate_size", -1, &c->ffn), out);
    TRY(clenc__json_uint(root, file, "max_position_embeddings", -1,
                 &c->max_positions),
        out);
    TRY(clenc__json_uint(root, file, "type_vocab_size", 2, &c->type_vocab_size), out);
    TRY(clenc__json_float(root, file, "layer_norm_eps", 1e-12, &c->eps), out);
    TRY(read_activation(root, file, "hidden_act", c), out);
    /* A decoder attends causally: run as an encoder, it would answer
     * wrong without a word. */
    int decoder = 0;
    TRY(clenc__json_bool(root, file, "is_decoder", 0, &decoder), out);
    if (decoder)
        return clenc__unsupported(file, "is_decoder", "true",
                                  "encoders (is_decoder false)");
    TRY(clenc__json_string(root, file, "position_embedding_type", "absolute", &pos),
        out);
    if (strcmp(pos, "absolute") != 0)
        return clenc__unsupported(file, "position_embedding_type", pos, "absolute");
out:
    return st;
}

/* DistilBERT: BERT's post-LN layer under other names, no token types; its
 * sinusoidal table (sinusoidal_pos_embds) is written into the checkpoint
 * like a learned one, and read as one. */
static clenc_status read_distilbert(json_t *root, const char *file,
                                    clenc_config *c)
{
    clenc_status st;
    clenc_config_init_bert(c);
    c->type_vocab_size = 0;
    TRY(clenc__json_uint(root, file, "vocab_size", -1, &c->vocab_size), out);
    TRY(clenc__json_uint(root, file, "dim", -1, &c->hidden), out);
    TRY(clenc__json_uint(root, file, "n_heads", -1, &c->heads), out);
    TRY(clenc__json_uint(root, file, "n_layers", -1, &c->layers), out);
    TRY(clenc__json_uint(root, file, "hidden_dim", -1, &c->ffn), out);
    TRY(clenc__json_uint(root, file, "max_position_embeddings", -1,
                         &c->max_positions),
        out);
    TRY(read_activation(root, file, "activation", c), out);
out:
    return st;
}

static clenc_status read_torch_encoder(json_t *root, const char *file,
                                       clenc_config *c)
{
    clenc_status st;
    const char *act = NULL, *pe = NULL;
    int norm_first = 0, scale = 0;
    clenc_config_init_vanilla(c);
    TRY(clenc__json_uint(root, file, "vocab_size", -1, &c->vocab_size), out);
    TRY(clenc__json_uint(root, file, "d_model", -1, &c->hidden), out);
    TRY(clenc__json_uint(root, file, "nhead", -1, &c->heads), out);
    TRY(clenc__json_uint(root, file, "num_layers", -1, &c->layers), out);
    TRY(clenc__json_uint(root, file, "dim_feedforward", 2048, &c->ffn), out);
    TRY(clenc__json_uint(root, file, "max_len", -1, &c->max_positions), out);
    TRY(clenc__json_float(root, file, "layer_norm_eps", 1e-5, &c->eps), out);
    TRY(clenc__json_bool(root, file, "norm_first", 0, &norm_first), out);
    TRY(clenc__json_bool(root, file, "scale_embedding", 1, &scale), out);
    c->norm = norm_first ? CLENC_NORM_PRE : CLENC_NORM_POST;
    c->scale_embedding = scale;
    TRY(clenc__json_string(root, file, "activation", "relu", &act), out);
    if (strcmp(act, "relu") == 0)
        c->activation = CLENC_ACT_RELU;
    else if (strcmp(act, "gelu") == 0)
        c->activation = CLENC_ACT_GELU;
    else
        return clenc__unsupported(file, "activation", act, "relu and gelu");
    TRY(clenc__json_string(root, file, "positional_encoding", "sinusoidal", &pe), out);
    if (strcmp(pe, "sinusoidal") == 0)
        c->positions = CLENC_POS_SINUSOIDAL;
    else if (strcmp(pe, "none") == 0)
        c->positions = CLENC_POS_NONE;
    else
        return clenc__unsupported(file, "positional_encoding", pe,
                           "sinusoidal and none");
out:
    return st;
}

clenc_status clenc__config_read(json_t *root, const char *file,
                                clenc__arch *arch, clenc_config *config)
{
    if (has_architecture(root, "TransformerEncoder")) {
        *arch = CLENC__ARCH_TORCH_ENCODER;
        return read_torch_encoder(root, file, config);
    }
    const char *type = NULL;
    clenc_status st = clenc__json_string(root, file, "model_type", "bert",
                                         &type);
    if (st != CLENC_OK)
        return st;
    if (strcmp(type, "distilbert") == 0) {
        *arch = CLENC__ARCH_DISTILBERT;
        return read_distilbert(root, file, config);
    }
    *arch = CLENC__ARCH_BERT;
    return read_bert(root, file, config);
}

/* ------------------------------------------------ classification heads */

#define MAX_LABELS 4096u

static clenc_head_kind head_kind(json_t *root)
{
    static const struct {
        const char *name;
        clenc_head_kind kind;
    } heads[] = {
        {"BertForSequenceClassification", CLENC_HEAD_BERT},
        {"RobertaForSequenceClassification", CLENC_HEAD_ROBERTA},
        {"XLMRobertaForSequenceClassification", CLENC_HEAD_ROBERTA},
        {"CamembertForSequenceClassification", CLENC_HEAD_ROBERTA},
        {"DistilBertForSequenceClassification", CLENC_HEAD_DISTILBERT},
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++)
        if (has_architecture(root, heads[i].name))
            return heads[i].kind;
    return CLENC_HEAD_NONE;
}

/* sentence-transformers' CrossEncoder names its activation by class,
 * "torch.nn.modules.activation.Sigmoid": `fn` is that value (NULL or JSON
 * null: none named, *found 0), `key` where it was. */
static clenc_status activation_named(json_t *fn, const char *file,
                                     const char *key, int *found,
                                     clenc_score_activation *out)
{
    *found = fn && !json_is_null(fn);
    if (!*found)
        return CLENC_OK;
    if (!json_is_string(fn))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: %s is not a string", file, key);
    const char *name = json_string_value(fn);
    const char *dot = strrchr(name, '.');
    const char *cls = dot ? dot + 1 : name;
    if (strcmp(cls, "Sigmoid") == 0)
        *out = CLENC_SCORE_SIGMOID;
    else if (strcmp(cls, "Identity") == 0)
        *out = CLENC_SCORE_IDENTITY;
    else if (strcmp(cls, "Softmax") == 0)
        *out = CLENC_SCORE_SOFTMAX;
    else
        return clenc__unsupported(file, key, name,
                                  "Sigmoid, Identity and Softmax");
    return CLENC_OK;
}

void clenc__head_info_free(clenc__head_info *h)
{
    for (unsigned i = 0; h->labels && i < h->num_labels; i++)
        clenc__free(h->labels[i]);
    clenc__free(h->labels);
    memset(h, 0, sizeof *h);
}

clenc_status clenc__head_read(json_t *root, const char *file,
                              clenc__head_info *h)
{
    clenc_status st = CLENC_OK;
    memset(h, 0, sizeof *h);
    h->kind = head_kind(root);
    if (h->kind == CLENC_HEAD_NONE)
        return CLENC_OK;
    /* transformers writes id2label always; num_labels only in old files,
     * and 2 is its default. */
    json_t *id2label = json_object_get(root, "id2label");
    unsigned n = 2;
    if (id2label && !json_is_object(id2label))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: id2label is not an object", file);
    if (id2label)
        n = (unsigned)(json_object_size(id2label) < MAX_LABELS + 1
                           ? json_object_size(id2label)
                           : MAX_LABELS + 1);
    TRY(clenc__json_uint(root, file, "num_labels", n, &n), out);
    if (n == 0 || n > MAX_LABELS)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: %u labels (id2label, num_labels): a head has "
                           "1..%u",
                           file, n, MAX_LABELS);
    if (!(h->labels = clenc__calloc(n, sizeof *h->labels)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    h->num_labels = n;
    for (unsigned i = 0; i < n; i++) {
        char key[16];
        snprintf(key, sizeof key, "%u", i);
        json_t *v = json_object_get(id2label, key);
        h->labels[i] = json_is_string(v)
                           ? clenc__strdup(json_string_value(v))
                           : clenc__asprintf("LABEL_%u", i);
        if (!h->labels[i]) {
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            goto out;
        }
    }
    const char *problem = NULL;
    TRY(clenc__json_string(root, file, "problem_type", "", &problem), out);
    int regression = strcmp(problem, "regression") == 0;
    int multi = strcmp(problem, "multi_label_classification") == 0;
    if (problem[0] && !regression && !multi &&
        strcmp(problem, "single_label_classification") != 0) {
        st = clenc__unsupported(file, "problem_type", problem,
                                "regression, single_label_classification "
                                "and multi_label_classification");
        goto out;
    }
    h->activation = regression ? CLENC_SCORE_IDENTITY
                    : n == 1 || multi ? CLENC_SCORE_SIGMOID
                                      : CLENC_SCORE_SOFTMAX;
    /* sentence-transformers 4 and 5 write config.json's
     * sentence_transformers.activation_fn; older versions
     * sbert_ce_default_activation_function. */
    int found = 0;
    clenc_score_activation named = CLENC_SCORE_IDENTITY;
    json_t *section = json_object_get(root, "sentence_transformers");
    if (json_object_get(section, "activation_fn"))
        TRY(activation_named(json_object_get(section, "activation_fn"), file,
                             "sentence_transformers.activation_fn", &found,
                             &named),
            out);
    else
        TRY(activation_named(
                json_object_get(root, "sbert_ce_default_activation_function"),
                file, "sbert_ce_default_activation_function", &found, &named),
            out);
    if (found)
        h->activation = named;
out:
    if (st != CLENC_OK)
        clenc__head_info_free(h);
    return st;
}

clenc_status clenc__head_activation_file(json_t *st_config, const char *file,
                                         clenc__head_info *h)
{
    int found = 0;
    clenc_score_activation named = CLENC_SCORE_IDENTITY;
    if (h->kind == CLENC_HEAD_NONE || !st_config)
        return CLENC_OK;
    clenc_status st = activation_named(json_object_get(st_config,
                                                       "activation_fn"),
                                       file, "activation_fn", &found, &named);
    if (st == CLENC_OK && found)
        h->activation = named;
    return st;
}
