/* config.c — a model's architecture in clenc's terms: the two families' defaults, HF BERT config.json, torch TransformerEncoder config.json. */
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

static clenc_status read_bert(json_t *root, const char *file, clenc_config *c)
{
    clenc_status st;
    const char *type = NULL, *act = NULL, *pos = NULL;
    clenc_config_init_bert(c);
    TRY(clenc__json_string(root, file, "model_type", "bert", &type), out);
    if (strcmp(type, "bert") != 0)
        return clenc__unsupported(file, "model_type", type,
                           "\"bert\" models and TransformerEncoder");
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
    TRY(clenc__json_string(root, file, "hidden_act", "gelu", &act), out);
    if (strcmp(act, "gelu") == 0)
        c->activation = CLENC_ACT_GELU;
    else if (strcmp(act, "gelu_new") == 0 ||
             strcmp(act, "gelu_pytorch_tanh") == 0)
        c->activation = CLENC_ACT_GELU_TANH;
    else if (strcmp(act, "relu") == 0)
        c->activation = CLENC_ACT_RELU;
    else
        return clenc__unsupported(file, "hidden_act", act,
                           "gelu, gelu_new, gelu_pytorch_tanh and relu");
    TRY(clenc__json_string(root, file, "position_embedding_type", "absolute", &pos),
        out);
    if (strcmp(pos, "absolute") != 0)
        return clenc__unsupported(file, "position_embedding_type", pos, "absolute");
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
    *arch = CLENC__ARCH_BERT;
    return read_bert(root, file, config);
}
