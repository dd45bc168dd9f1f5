/* config.c — a model's architecture in clenc's terms: the two families' defaults, HF config.json of BERT, RoBERTa, XLM-RoBERTa, CamemBERT and DistilBERT, torch TransformerEncoder config.json. */
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
