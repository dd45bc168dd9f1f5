/* test_models.c — clenc_model_load: HF BERT folders built from the fixture, tensor-name variants, and each bad folder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "helpers.h"
#include "engine/engine.h"
#include "testmodel.h"

typedef struct named {
    char name[128];
    const float *data;
    size_t dims[2]; /* dims[1] = 0: a vector */
} named;

/* Writes a safetensors file of F32 tensors (the format's few bytes by
 * hand: the reader under test must not write its own inputs). */
static void write_safetensors(const char *path, const named *t, size_t n)
{
    size_t cap = 256 + n * 256, len = 0, offset = 0;
    char *header = malloc(cap);
    CU_ASSERT_FATAL(header != NULL);
    len += (size_t)snprintf(header + len, cap - len,
                            "{\"__metadata__\": {\"format\": \"pt\"}");
    for (size_t i = 0; i < n; i++) {
        size_t count = t[i].dims[0] * (t[i].dims[1] ? t[i].dims[1] : 1);
        if (t[i].dims[1])
            len += (size_t)snprintf(header + len, cap - len,
                                    ", \"%s\": {\"dtype\": \"F32\", \"shape\": "
                                    "[%zu, %zu], \"data_offsets\": [%zu, %zu]}",
                                    t[i].name, t[i].dims[0], t[i].dims[1],
                                    offset, offset + 4 * count);
        else
            len += (size_t)snprintf(header + len, cap - len,
                                    ", \"%s\": {\"dtype\": \"F32\", \"shape\": "
                                    "[%zu], \"data_offsets\": [%zu, %zu]}",
                                    t[i].name, t[i].dims[0], offset,
                                    offset + 4 * count);
        offset += 4 * count;
    }
    len += (size_t)snprintf(header + len, cap - len, "}");
    while (len % 8)
        header[len++] = ' ';
    FILE *f = fopen(path, "wb");
    CU_ASSERT_FATAL(f != NULL);
    unsigned char le[8];
    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)((unsigned long long)len >> (8 * i));
    fwrite(le, 1, 8, f);
    fwrite(header, 1, len, f);
    for (size_t i = 0; i < n; i++)
        fwrite(t[i].data, 4,
               t[i].dims[0] * (t[i].dims[1] ? t[i].dims[1] : 1), f);
    CU_ASSERT_FATAL(fclose(f) == 0);
    free(header);
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char *path = test_path(dir, name);
    CU_ASSERT_FATAL(test_write_file(path, text, strlen(text)));
    free(path);
}

static const char bert_config[] =
    "{\"architectures\": [\"BertModel\"], \"model_type\": \"bert\", "
    "\"vocab_size\": 50, \"hidden_size\": 32, \"num_attention_heads\": 4, "
    "\"num_hidden_layers\": 2, \"intermediate_size\": 37, "
    "\"max_position_embeddings\": 64, \"type_vocab_size\": 2, "
    "\"hidden_act\": \"gelu\", \"layer_norm_eps\": 1e-12}";

/* A Hugging Face BERT folder holding the bert_tiny fixture's weights under
 * HF's names, with `prefix` ("bert." for a task model's checkpoint) and the
 * old "gamma"/"beta" LayerNorm names if asked. `skip` leaves out one
 * tensor; `bad_shape` gives one a wrong shape; `extra` (a full name) adds a
 * vector of `hidden` floats. */
static char *bert_folder(test_model *tm, const char *prefix, int gamma_beta,
                         const char *skip, const char *bad_shape,
                         const char *extra)
{
    char *dir = test_tmpdir("bert");
    const clenc_weights *w = &tm->weights;
    named t[64];
    size_t n = 0;
    const char *g = gamma_beta ? "gamma" : "weight", *b = gamma_beta ? "beta" : "bias";
#define ADD(ptr, d0, d1, ...)                                                  \
    do {                                                                       \
        int k_ = snprintf(t[n].name, sizeof t[n].name, "%s", prefix);          \
        snprintf(t[n].name + k_, sizeof t[n].name - (size_t)k_, __VA_ARGS__);  \
        t[n].data = (ptr);                                                     \
        t[n].dims[0] = (d0);                                                   \
        t[n].dims[1] = (d1);                                                   \
        if (!(skip && strcmp(t[n].name, skip) == 0)) {                         \
            if (bad_shape && strcmp(t[n].name, bad_shape) == 0)                \
                t[n].dims[0] -= 1;                                             \
            n++;                                                               \
        }                                                                      \
    } while (0)
    ADD(w->word_embeddings, 50, 32, "embeddings.word_embeddings.weight");
    ADD(w->position_embeddings, 64, 32, "embeddings.position_embeddings.weight");
    ADD(w->type_embeddings, 2, 32, "embeddings.token_type_embeddings.weight");
    ADD(w->embedding_norm_weight, 32, 0, "embeddings.LayerNorm.%s", g);
    ADD(w->embedding_norm_bias, 32, 0, "embeddings.LayerNorm.%s", b);
    for (int i = 0; i < 2; i++) {
        const clenc_layer_weights *l = &w->layers[i];
        ADD(l->q_weight, 32, 32, "encoder.layer.%d.attention.self.query.weight", i);
        ADD(l->q_bias, 32, 0, "encoder.layer.%d.attention.self.query.bias", i);
        ADD(l->k_weight, 32, 32, "encoder.layer.%d.attention.self.key.weight", i);
        ADD(l->k_bias, 32, 0, "encoder.layer.%d.attention.self.key.bias", i);
        ADD(l->v_weight, 32, 32, "encoder.layer.%d.attention.self.value.weight", i);
        ADD(l->v_bias, 32, 0, "encoder.layer.%d.attention.self.value.bias", i);
        ADD(l->o_weight, 32, 32, "encoder.layer.%d.attention.output.dense.weight", i);
        ADD(l->o_bias, 32, 0, "encoder.layer.%d.attention.output.dense.bias", i);
        ADD(l->norm1_weight, 32, 0, "encoder.layer.%d.attention.output.LayerNorm.%s", i, g);
        ADD(l->norm1_bias, 32, 0, "encoder.layer.%d.attention.output.LayerNorm.%s", i, b);
        ADD(l->ffn_up_weight, 37, 32, "encoder.layer.%d.intermediate.dense.weight", i);
        ADD(l->ffn_up_bias, 37, 0, "encoder.layer.%d.intermediate.dense.bias", i);
        ADD(l->ffn_down_weight, 32, 37, "encoder.layer.%d.output.dense.weight", i);
        ADD(l->ffn_down_bias, 32, 0, "encoder.layer.%d.output.dense.bias", i);
        ADD(l->norm2_weight, 32, 0, "encoder.layer.%d.output.LayerNorm.%s", i, g);
        ADD(l->norm2_bias, 32, 0, "encoder.layer.%d.output.LayerNorm.%s", i, b);
    }
    /* Tensors the encoder does not use are ignored: task heads, HF's
     * position_ids buffer, and whatever lies outside the prefix. */
    ADD(w->word_embeddings, 32, 32, "pooler.dense.weight");
    ADD(w->embedding_norm_bias, 32, 0, "pooler.dense.bias");
    ADD(w->embedding_norm_bias, 32, 0, "cls.predictions.bias");
    ADD(w->embedding_norm_bias, 32, 0, "classifier.bias");
    ADD(w->embedding_norm_bias, 32, 0, "qa_outputs.bias");
    ADD(w->embedding_norm_bias, 32, 0, "embeddings.position_ids");
    if (*prefix) {
        snprintf(t[n].name, sizeof t[n].name, "cls.predictions.transform.dense.bias");
        t[n].data = w->embedding_norm_bias;
        t[n].dims[0] = 32;
        t[n].dims[1] = 0;
        n++;
    }
    if (extra) {
        snprintf(t[n].name, sizeof t[n].name, "%s", extra);
        t[n].data = w->embedding_norm_bias;
        t[n].dims[0] = 32;
        t[n].dims[1] = 0;
        n++;
    }
#undef ADD
    char *path = test_path(dir, "model.safetensors");
    write_safetensors(path, t, n);
    free(path);
    write_text(dir, "config.json", bert_config);
    char vocab[600] = "";
    for (int i = 0; i < 50; i++) {
        static const char *const special[] = {"[PAD]", "[UNK]", "[CLS]",
                                              "[SEP]", "[MASK]"};
        char line[32];
        if (i < 5)
            snprintf(line, sizeof line, "%s\n", special[i]);
        else
            snprintf(line, sizeof line, "w%d\n", i);
        strcat(vocab, line);
    }
    write_text(dir, "vocab.txt", vocab);
    return dir;
}

static double encode_against_fixture(clenc_model *model, test_model *tm)
{
    const size_t h = 32, b = tm->batch, seq = tm->seq;
    const float *want = test_fixture_tensor(tm, "expected.hidden", b * seq * h);
    float *got = malloc(b * seq * h * sizeof *got);
    CU_ASSERT_FATAL(got != NULL);
    test_nan_floats(got, b * seq * h);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, (unsigned)b, (unsigned)seq, &s),
                  CLENC_OK);
    ASSERT_STATUS(clenc_encode(s, tm->ids, tm->type_ids, tm->lengths,
                               (unsigned)b, (unsigned)seq, CLENC_POOL_NONE, got),
                  CLENC_OK);
    double worst = 0;
    for (size_t i = 0; i < b * seq * h; i++)
        worst = test_worst(worst, fabs((double)got[i] - want[i]));
    clenc_session_destroy(s);
    free(got);
    return worst;
}

static void load_and_check(const char *prefix, int gamma_beta)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    char *dir = bert_folder(&tm, prefix, gamma_beta, NULL, NULL, NULL);
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    CU_ASSERT_FATAL(model != NULL);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT(info.has_tokenizer);
    CU_ASSERT_EQUAL(info.max_text_tokens, 64);
    CU_ASSERT_EQUAL(info.pooling, CLENC_POOL_MEAN); /* no modules.json */
    CU_ASSERT(strncmp(info.name, "bert-", 5) == 0);
    double d = encode_against_fixture(model, &tm);
    printf("\n    HF folder%s%s: max abs diff %.3g", *prefix ? " with prefix " : "",
           prefix, d);
    CU_ASSERT(d <= 1e-5);
    clenc_model_destroy(model);
    /* The .safetensors file itself, config.json beside it. */
    char *file = test_path(dir, "model.safetensors");
    ASSERT_STATUS(clenc_model_load(ctx, file, &model), CLENC_OK);
    clenc_model_destroy(model);
    free(file);
    clenc_context_destroy(ctx);
    free(dir);
    test_model_free(&tm);
}

void test_load_hf_bert_folder_matches_fixture(void)
{
    load_and_check("", 0);
}

void test_load_accepts_prefix_and_gamma_beta_names(void)
{
    load_and_check("bert.", 1);
}

void test_load_missing_or_misshapen_tensor_named(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    char *dir = bert_folder(&tm, "", 0, "encoder.layer.1.output.dense.bias", NULL,
                            NULL);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT,
                           "tensor 'encoder.layer.1.output.dense.bias' is missing",
                           NULL);
    free(dir);
    dir = bert_folder(&tm, "", 0, NULL,
                      "encoder.layer.0.intermediate.dense.weight", NULL);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT,
                           "'encoder.layer.0.intermediate.dense.weight' has shape "
                           "[36, 32]",
                           "config.json says [37, 32]");
    free(dir);
    test_model_free(&tm);
}

void test_load_bad_config_json(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    char *dir = bert_folder(&tm, "", 0, NULL, NULL, NULL);
    char *config = test_path(dir, "config.json");
    write_text(dir, "config.json", "{\"hidden_size\": 32,, }");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, config, "line 1");
    write_text(dir, "config.json", "{\"model_type\": \"bert\", \"vocab_size\": 50}");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "field 'hidden_size' is missing",
                           NULL);
    write_text(dir, "config.json", "{\"model_type\": \"deberta-v2\"}");
    test_expect_load_error(dir, CLENC_ERR_UNSUPPORTED, "model_type 'deberta-v2'",
                           NULL);
    char text[1024];
    snprintf(text, sizeof text, "%s", bert_config);
    memcpy(strstr(text, "\"gelu\""), "\"relu\"", 6);
    write_text(dir, "config.json", text);
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK); /* relu runs */
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    memcpy(strstr(text, "\"relu\""), "\"silu\"", 6);
    write_text(dir, "config.json", text);
    test_expect_load_error(dir, CLENC_ERR_UNSUPPORTED, "hidden_act 'silu'", NULL);
    write_text(dir, "config.json", bert_config);
    write_text(dir, "config.json", "{\"model_type\": \"bert\", \"vocab_size\": 50, "
               "\"vocab_size\": 51}");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "duplicate", NULL);
    write_text(dir, "config.json", "[1, 2]");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "not a JSON object", NULL);
    CU_ASSERT(remove(config) == 0);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "has no config.json", NULL);
    free(config);
    free(dir);
    test_model_free(&tm);
}

/* A folder's tokenizer.json wins over its vocab.txt, and runs alone: here
 * the fixture's vocabulary written as a BERT tokenizer.json tokenizes
 * exactly as its vocab.txt. What clenc does not implement is refused
 * naming the JSON path. */
void test_load_tokenizer_json_wins_over_vocab(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    char *dir = bert_folder(&tm, "", 0, NULL, NULL, NULL);
    char *vocab = test_path(dir, "vocab.txt");
    size_t size = 0;
    char *vocab_text = (char *)test_read_file(vocab, &size);
    CU_ASSERT_FATAL(vocab_text != NULL);
    /* The same texts through vocab.txt, then through tokenizer.json. */
    static const char *const texts[] = {"w5 w17 w49", "W7,w8!", "[MASK] w12",
                                        "unknownword w6"};
    int32_t want[4][16], got[16];
    size_t want_n[4], n;
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    for (size_t i = 0; i < 4; i++)
        ASSERT_STATUS(clenc_tokenize(model, texts[i], NULL, 16, want[i], NULL,
                                     &want_n[i]),
                      CLENC_OK);
    clenc_model_destroy(model);

    CU_ASSERT(remove(vocab) == 0);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT,
                           "neither tokenizer.json nor vocab.txt", NULL);
    write_text(dir, "tokenizer.json", "{}");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "tokenizer.json: model",
                           "is missing");
    json_t *v = json_object();
    char *line = vocab_text;
    for (int id = 0; line && *line; id++) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        json_object_set_new(v, line, json_integer(id));
        line = end ? end + 1 : NULL;
    }
    json_t *tj = json_pack(
        "{s:[{s:i, s:s, s:b, s:b, s:b, s:b, s:b}], s:{s:s, s:b, s:b, s:n, "
        "s:b}, s:{s:s}, s:{s:s, s:[s,i], s:[s,i]}, s:{s:s, s:s, s:s, s:i, "
        "s:o}}",
        "added_tokens", "id", 4, "content", "[MASK]", "single_word", 0,
        "lstrip", 0, "rstrip", 0, "normalized", 0, "special", 1,
        "normalizer", "type", "BertNormalizer", "clean_text", 1,
        "handle_chinese_chars", 1, "strip_accents", "lowercase", 1,
        "pre_tokenizer", "type", "BertPreTokenizer", "post_processor", "type",
        "BertProcessing", "sep", "[SEP]", 3, "cls", "[CLS]", 2, "model",
        "type", "WordPiece", "unk_token", "[UNK]",
        "continuing_subword_prefix", "##", "max_input_chars_per_word", 100,
        "vocab", v);
    CU_ASSERT_FATAL(tj != NULL);
    char *path = test_path(dir, "tokenizer.json");
    CU_ASSERT_FATAL(json_dump_file(tj, path, 0) == 0);
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    for (size_t i = 0; model && i < 4; i++) {
        for (size_t k = 0; k < 16; k++)
            got[k] = -7;
        ASSERT_STATUS(clenc_tokenize(model, texts[i], NULL, 16, got, NULL, &n),
                      CLENC_OK);
        CU_ASSERT(n == want_n[i] &&
                  memcmp(got, want[i], n * sizeof *got) == 0);
    }
    clenc_model_destroy(model);
    /* A component clenc lacks, named by its path. */
    json_object_set_new(tj, "pre_tokenizer",
                        json_pack("{s:s, s:[{s:s}, {s:s}]}", "type", "Sequence",
                                  "pretokenizers", "type", "Whitespace", "type",
                                  "UnicodeScripts"));
    CU_ASSERT_FATAL(json_dump_file(tj, path, 0) == 0);
    test_expect_load_error(dir, CLENC_ERR_UNSUPPORTED,
                           "pre_tokenizer.pretokenizers[1].type 'UnicodeScripts'",
                           NULL);
    json_decref(tj);
    clenc_context_destroy(ctx);
    free(path);
    free(vocab_text);
    free(vocab);
    free(dir);
    test_model_free(&tm);
}

void test_load_not_a_model(void)
{
    char *dir = test_tmpdir("empty");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "is not a model folder",
                           "config.json");
    test_expect_load_error("/nonexistent/model", CLENC_ERR_IO, "/nonexistent/model",
                           NULL);
    write_text(dir, "config.json", bert_config);
    write_text(dir, "pytorch_model.bin", "not read");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "has no model.safetensors",
                           "pytorch_model.bin");
    free(dir);
}

void test_load_sentence_transformers_files_set_defaults(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    char *dir = bert_folder(&tm, "", 0, NULL, NULL, NULL);
    write_text(dir, "modules.json",
               "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
               "\"sentence_transformers.models.Transformer\"}, {\"idx\": 1, "
               "\"name\": \"1\", \"path\": \"1_Pooling\", \"type\": "
               "\"sentence_transformers.models.Pooling\"}, {\"idx\": 2, "
               "\"name\": \"2\", \"path\": \"2_Normalize\", \"type\": "
               "\"sentence_transformers.models.Normalize\"}]");
    char *pool = test_path(dir, "1_Pooling");
    CU_ASSERT_FATAL(mkdir(pool, 0700) == 0);
    write_text(pool, "config.json",
               "{\"pooling_mode_cls_token\": true, "
               "\"pooling_mode_mean_tokens\": false}");
    write_text(dir, "sentence_bert_config.json", "{\"max_seq_length\": 40}");
    write_text(dir, "tokenizer_config.json", "{\"model_max_length\": 50}");
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.pooling, CLENC_POOL_CLS | CLENC_POOL_NORMALIZE);
    CU_ASSERT_EQUAL(info.max_text_tokens, 40); /* sentence-transformers wins */
    clenc_model_destroy(model);
    /* Without it, the tokenizer's limit; both capped by the positions. */
    char *sb = test_path(dir, "sentence_bert_config.json");
    CU_ASSERT(remove(sb) == 0);
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.max_text_tokens, 50);
    clenc_model_destroy(model);
    write_text(dir, "tokenizer_config.json", "{\"model_max_length\": 1000000}");
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.max_text_tokens, 64);
    clenc_model_destroy(model);
    /* transformers' int(1e30) for "no limit", past any 64-bit integer (the
     * config fuzzer's seed found it refused). */
    write_text(dir, "tokenizer_config.json",
               "{\"model_max_length\": 1000000000000000019884624838656}");
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.max_text_tokens, 64);
    clenc_model_destroy(model);
    write_text(pool, "config.json",
               "{\"pooling_mode_max_tokens\": true, "
               "\"pooling_mode_mean_tokens\": false}");
    test_expect_load_error(dir, CLENC_ERR_UNSUPPORTED, "pooling", "max 1");
    clenc_context_destroy(ctx);
    free(sb);
    free(pool);
    free(dir);
    test_model_free(&tm);
}

/* A torch.nn.TransformerEncoder state dict, saved the way the README
 * shows, against PyTorch's own outputs. */
void test_load_torch_encoder_matches_pytorch(void)
{
    clenc__safetensors st;
    ASSERT_STATUS(clenc__st_open("tests/fixtures/torch_encoder_expected.safetensors",
                                 &st),
                  CLENC_OK);
    const clenc__tensor *ids_t = clenc__st_find(&st, "input.ids");
    const clenc__tensor *len_t = clenc__st_find(&st, "input.lengths");
    CU_ASSERT_FATAL(ids_t && len_t && ids_t->ndim == 2);
    const size_t b = ids_t->shape[0], seq = ids_t->shape[1], h = 32;
    int32_t *ids = malloc(b * seq * sizeof *ids), lengths[16];
    CU_ASSERT_FATAL(ids != NULL && b <= 16);
    memcpy(ids, ids_t->data, b * seq * sizeof *ids);
    memcpy(lengths, len_t->data, b * sizeof *lengths);
    float *got = malloc(b * seq * h * sizeof *got), *want = malloc(b * seq * h * sizeof *want);
    CU_ASSERT_FATAL(got && want);
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, "tests/fixtures/torch_encoder", &model),
                  CLENC_OK);
    CU_ASSERT_FATAL(model != NULL);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT(!info.has_tokenizer);
    CU_ASSERT_EQUAL(info.pooling, CLENC_POOL_MEAN);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, (unsigned)b, (unsigned)seq, &s),
                  CLENC_OK);
    const struct {
        const char *name;
        clenc_pooling pooling;
        size_t floats;
    } outputs[] = {{"expected.hidden", CLENC_POOL_NONE, b * seq * h},
                   {"expected.mean", CLENC_POOL_MEAN, b * h},
                   {"expected.cls", CLENC_POOL_CLS, b * h},
                   {"expected.mean_normalized",
                    CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE, b * h}};
    for (size_t i = 0; i < 4; i++) {
        test_nan_floats(got, b * seq * h);
        ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, (unsigned)b,
                                   (unsigned)seq, outputs[i].pooling, got),
                      CLENC_OK);
        const clenc__tensor *t = clenc__st_find(&st, outputs[i].name);
        CU_ASSERT_FATAL(t && t->count == outputs[i].floats);
        ASSERT_STATUS(clenc__st_to_f32(t, want), CLENC_OK);
        double worst = 0;
        for (size_t k = 0; k < outputs[i].floats; k++)
            worst = test_worst(worst, fabs((double)got[k] - want[k]));
        printf("\n    torch encoder %-26s max abs diff %.3g", outputs[i].name,
               worst);
        /* Measured 9.54e-7 at most (AMD EPYC, PoCL 3.1, both families). */
        CU_ASSERT(worst <= 4e-6);
    }
    /* It takes ids only. */
    int32_t tok[8];
    size_t n;
    ASSERT_STATUS(clenc_tokenize(model, "hello", NULL, 8, tok, NULL, &n),
                  CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("no tokenizer");
    const char *text = "hello";
    ASSERT_STATUS(clenc_embed_text(s, &text, 1, got), CLENC_ERR_UNSUPPORTED);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    clenc__st_close(&st);
    free(ids);
    free(got);
    free(want);
}

/* A matrix's weights as the device holds them (malloc'd, *size bytes). */
static unsigned char *device_matrix(clenc_model *m, const clenc__matrix *w,
                                    size_t *size)
{
    CU_ASSERT_FATAL(clGetMemObjectInfo(w->weight, CL_MEM_SIZE, sizeof *size,
                                       size, NULL) == CL_SUCCESS);
    unsigned char *bytes = malloc(*size);
    CU_ASSERT_FATAL(bytes != NULL);
    memset(bytes, 0xff, *size); /* NaN halves until read */
    CU_ASSERT_FATAL(clenc__buffer_download(m->ctx->transfer_queue, w->weight,
                                           0, *size, bytes) == CLENC_OK);
    return bytes;
}

/* The torch encoder as an F16 checkpoint loaded at fp16: in_proj's halves
 * reach the device split into Q, K and V, and every matrix equals, bit for
 * bit, what the F32 checkpoint's floats give rounded to half by clenc (the
 * rewrite rounded with the compiler's _Float16: the two must agree). An
 * infinite half in in_proj is refused, naming the layer and the element. */
void test_load_torch_encoder_f16_checkpoint(void)
{
    static const char from[] = "tests/fixtures/torch_encoder";
    static const char *const beside[] = {"config.json"};
    char *dir = test_f16_folder(from, beside, 1);
    clenc_context *ctx = test_context(NULL);
    clenc_model *halves = NULL, *rounded = NULL;
    ASSERT_STATUS(clenc_model_load_as(ctx, dir, CLENC_PRECISION_FP16, &halves),
                  CLENC_OK);
    ASSERT_STATUS(clenc_model_load_as(ctx, from, CLENC_PRECISION_FP16,
                                      &rounded),
                  CLENC_OK);
    CU_ASSERT_FATAL(halves && rounded);
    for (unsigned i = 0; i < 2; i++) {
        const clenc__matrix *a[] = {&halves->layers[i].qkv, &halves->layers[i].o,
                                    &halves->layers[i].ffn_up,
                                    &halves->layers[i].ffn_down};
        const clenc__matrix *b[] = {&rounded->layers[i].qkv,
                                    &rounded->layers[i].o,
                                    &rounded->layers[i].ffn_up,
                                    &rounded->layers[i].ffn_down};
        for (size_t j = 0; j < 4; j++) {
            size_t na = 0, nb = 0;
            unsigned char *x = device_matrix(halves, a[j], &na);
            unsigned char *y = device_matrix(rounded, b[j], &nb);
            CU_ASSERT(a[j]->precision == CLENC_PRECISION_FP16 && na == nb &&
                      memcmp(x, y, na) == 0);
            free(x);
            free(y);
        }
    }
    clenc_model_destroy(halves);
    clenc_model_destroy(rounded);
    test_poke_half(dir, "layers.1.self_attn.in_proj_weight", 32 * 32 + 3,
                   0xfc00);
    halves = NULL;
    ASSERT_STATUS(clenc_model_load_as(ctx, dir, CLENC_PRECISION_FP16, &halves),
                  CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("layers[1].qkv");
    ASSERT_ERROR_MENTIONS("an infinity at element 1027");
    CU_ASSERT_PTR_NULL(halves);
    clenc_context_destroy(ctx);
    free(dir);
}

/* bert_config with `from` replaced by `to` (same length), into dir. */
static void write_config_with(const char *dir, const char *from,
                              const char *to)
{
    char text[1024];
    snprintf(text, sizeof text, "%s", bert_config);
    char *at = strstr(text, from);
    CU_ASSERT_FATAL(at != NULL && strlen(from) == strlen(to));
    memcpy(at, to, strlen(to));
    write_text(dir, "config.json", text);
}

/* A checkpoint holding what config.json does not describe computes
 * something other than what it was trained for: more layers than
 * num_hidden_layers run, a token-type table that type_vocab_size 0 drops,
 * a tensor of the encoder clenc has no use for. Each is refused, named. */
void test_load_tensors_config_does_not_describe_named(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    char *dir = bert_folder(&tm, "", 0, NULL, NULL, NULL);
    write_config_with(dir, "\"num_hidden_layers\": 2", "\"num_hidden_layers\": 1");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT,
                           "tensor 'encoder.layer.1.attention.self.query.weight'",
                           "num_hidden_layers is 1");
    write_config_with(dir, "\"type_vocab_size\": 2", "\"type_vocab_size\": 0");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT,
                           "tensor 'embeddings.token_type_embeddings.weight'",
                           "type_vocab_size is 0");
    free(dir);
    const char *unknown[] = {"bert.embeddings.extra.weight",
                             "bert.encoder.layer.0.attention.self.rotary.bias",
                             "bert.encoder.rel_embeddings.weight"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        dir = bert_folder(&tm, "bert.", 1, NULL, NULL, unknown[i]);
        char needle[128];
        snprintf(needle, sizeof needle, "tensor '%s'", unknown[i]);
        test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, needle, "config.json");
        free(dir);
    }
    /* Both LayerNorm spellings at once: which one is meant is unknown. */
    dir = bert_folder(&tm, "", 1, NULL, NULL, "embeddings.LayerNorm.weight");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT,
                           "tensor 'embeddings.LayerNorm.weight'", NULL);
    free(dir);
    test_model_free(&tm);
}

/* The same for a torch TransformerEncoder: layers.N past num_layers. */
void test_load_torch_encoder_extra_layer_named(void)
{
    size_t size;
    unsigned char *weights =
        test_read_file("tests/fixtures/torch_encoder/model.safetensors", &size);
    CU_ASSERT_FATAL(weights != NULL);
    char *config = (char *)test_read_file("tests/fixtures/torch_encoder/config.json",
                                          NULL);
    CU_ASSERT_FATAL(config != NULL);
    char *dir = test_tmpdir("torch");
    char *path = test_path(dir, "model.safetensors");
    CU_ASSERT_FATAL(test_write_file(path, weights, size));
    char *layers = strstr(config, "\"num_layers\": 2");
    CU_ASSERT_FATAL(layers != NULL);
    layers[strlen("\"num_layers\": ")] = '1';
    write_text(dir, "config.json", config);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "tensor 'layers.1.",
                           "num_layers is 1");
    free(path);
    free(dir);
    free(config);
    free(weights);
}

/* modules.json with its Pooling module at `path`. */
static void write_modules(const char *dir, const char *path)
{
    char text[1024];
    snprintf(text, sizeof text,
             "[{\"idx\": 0, \"name\": \"0\", \"path\": \"\", \"type\": "
             "\"sentence_transformers.models.Transformer\"}, {\"idx\": 1, "
             "\"name\": \"1\", \"path\": \"%s\", \"type\": "
             "\"sentence_transformers.models.Pooling\"}]",
             path);
    write_text(dir, "modules.json", text);
}

/* A pooling config that differs from the default (mean), so that reading
 * it shows. */
static const char cls_pooling[] =
    "{\"pooling_mode_cls_token\": true, \"pooling_mode_mean_tokens\": false}";

/* modules.json names the Pooling module's folder; a path that leads out of
 * the model folder ("..", absolute, a symlink) would read files the model
 * does not own. */
void test_load_pooling_path_outside_folder_refused(void)
{
    test_model tm;
    test_model_fixture(&tm, "bert_tiny");
    char *dir = bert_folder(&tm, "", 0, NULL, NULL, NULL);
    char *outside = test_tmpdir("outside");
    write_text(outside, "config.json", cls_pooling);
    char rel[256], needle[300];
    snprintf(rel, sizeof rel, "../%s", strrchr(outside, '/') + 1);
    write_modules(dir, rel);
    snprintf(needle, sizeof needle, "'%s'", rel);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, needle,
                           "outside the model folder");
    write_modules(dir, outside);
    snprintf(needle, sizeof needle, "'%s'", outside);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, needle,
                           "outside the model folder");
    char *link = test_path(dir, "1_Pooling");
    CU_ASSERT_FATAL(symlink(outside, link) == 0);
    write_modules(dir, "1_Pooling");
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "'1_Pooling'",
                           "outside the model folder");
    /* A symlink that stays inside is a folder of the model like any other. */
    CU_ASSERT_FATAL(unlink(link) == 0);
    char *real = test_path(dir, "pooling");
    CU_ASSERT_FATAL(mkdir(real, 0700) == 0);
    write_text(real, "config.json", cls_pooling);
    CU_ASSERT_FATAL(symlink("pooling", link) == 0);
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.pooling, CLENC_POOL_CLS);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    free(real);
    free(link);
    free(outside);
    free(dir);
    test_model_free(&tm);
}
