/* test_bad_input.c — the table of bad input: every public function's NULL and out-of-range arguments, every malformed file, each with its status, its message and a leak check. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "helpers.h"
#include "cl/cl.h"
#include "testmodel.h"
#include "text/tokenizer.h"

#define ENCODER "tests/fixtures/torch_encoder"

/* Objects the rows use, made once. */
typedef struct world {
    clenc_context *ctx;
    clenc_model *model;     /* torch_encoder: vocab 60, hidden 32, 128 positions */
    clenc_model *minilm;    /* has a tokenizer */
    clenc_session *session; /* 2 x 8 */
    clenc_context *profiling_ctx; /* options.profiling = 1 */
    clenc_model *profiling_model;
    clenc_session *profiled; /* of torch_encoder, 1 x 8 */
    test_model tiny;        /* host weights for clenc_model_create rows */
    char *dir;              /* scratch folder */
    char *other_device;     /* containers made wrong on purpose */
    char *other_shape;
} world;

static world W;

typedef struct row {
    const char *what;
    clenc_status expect;
    const char *mentions; /* in clenc_last_error(); NULL: anything */
    clenc_status (*run)(void);
} row;

/* ---------------------------------------------------------------- helpers */

static char *scratch(const char *name)
{
    return test_path(W.dir, name);
}

static void put(const char *dir, const char *name, const void *data,
                size_t size)
{
    char *p = test_path(dir, name);
    CU_ASSERT_FATAL(test_write_file(p, data, size));
    free(p);
}

static void copy(const char *from, const char *dir, const char *name)
{
    size_t n = 0;
    unsigned char *data = test_read_file(from, &n);
    CU_ASSERT_FATAL(data != NULL);
    put(dir, name, data, n);
    free(data);
}

/* A model folder: the fixture's config.json and, unless NULL, these bytes
 * as model.safetensors. */
static char *folder_with_weights(const char *name, const void *st, size_t n)
{
    char *dir = scratch(name);
    mkdir(dir, 0700);
    copy(ENCODER "/config.json", dir, "config.json");
    if (st)
        put(dir, "model.safetensors", st, n);
    return dir;
}

static clenc_status load_folder(const char *dir)
{
    clenc_model *m = NULL;
    clenc_status st = clenc_model_load(W.ctx, dir, &m);
    clenc_model_destroy(m);
    return st;
}

/* safetensors bytes: u64 length, header, data */
static clenc_status load_safetensors(const char *name, uint64_t length,
                                     const char *header, size_t data)
{
    size_t h = strlen(header), n = 8 + h + data;
    unsigned char *b = calloc(n, 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(length >> (8 * i));
    memcpy(b + 8, header, h);
    char *dir = folder_with_weights(name, b, n);
    clenc_status st = load_folder(dir);
    free(dir);
    free(b);
    return st;
}

static clenc_status load_config(const char *name, const char *config)
{
    char *dir = scratch(name);
    mkdir(dir, 0700);
    copy(ENCODER "/model.safetensors", dir, "model.safetensors");
    put(dir, "config.json", config, strlen(config));
    clenc_status st = load_folder(dir);
    free(dir);
    return st;
}

static clenc_status create(const clenc_config *c, const clenc_weights *w)
{
    clenc_model *m = NULL;
    clenc_status st = clenc_model_create(W.ctx, c, w, &m);
    clenc_model_destroy(m);
    return st;
}

static clenc_status encode(const int32_t *ids, const int32_t *lengths,
                           unsigned batch, unsigned seq, clenc_pooling pool)
{
    static float out[4 * 16 * 32];
    return clenc_encode(W.session, ids, NULL, lengths, batch, seq, pool, out);
}

static const int32_t ids8[16] = {1, 2, 3, 4, 5, 6, 7, 8,
                                 1, 2, 3, 4, 5, 6, 7, 8};

/* ------------------------------------------------------- devices, contexts */

static clenc_status r_platform_list_null(void)
{
    size_t n;
    return clenc_platform_list(NULL, 4, &n);
}
static clenc_status r_platform_list_no_count(void)
{
    clenc_platform_info p[2];
    return clenc_platform_list(p, 2, NULL);
}
static clenc_status r_device_list_null(void)
{
    size_t n;
    return clenc_device_list(NULL, 4, &n);
}
static clenc_status r_device_find_null(void)
{
    return clenc_device_find("cpu", NULL);
}
static clenc_status r_device_find_nothing(void)
{
    clenc_device_info d;
    return clenc_device_find("no-such-device", &d);
}
static clenc_status r_context_no_out(void)
{
    return clenc_context_create(NULL, NULL);
}
static clenc_status with_options(void (*spoil)(clenc_options *))
{
    clenc_options opt;
    test_options(&opt);
    spoil(&opt);
    clenc_context *c = NULL;
    clenc_status st = clenc_context_create(&opt, &c);
    clenc_context_destroy(c);
    return st;
}
static void bad_source(clenc_options *o) { o->source_build = (clenc_source_build)7; }
static void bad_gemm(clenc_options *o) { o->gemm = (clenc_gemm)9; }
static void bad_variant(clenc_options *o) { o->variant = (clenc_variant)9; }
static void bad_tune(clenc_options *o) { o->tune = (clenc_tune)9; }
static void bad_kernels(clenc_options *o) { o->kernel_dir = "/nonexistent/kernels"; }
static void bad_binary(clenc_options *o) { o->binary = "/nonexistent/x.clenc"; }
static clenc_status r_context_bad_source(void) { return with_options(bad_source); }
static clenc_status r_context_bad_gemm(void) { return with_options(bad_gemm); }
static clenc_status r_context_bad_variant(void) { return with_options(bad_variant); }
static clenc_status r_context_bad_tune(void) { return with_options(bad_tune); }
static clenc_status r_context_bad_kernel_dir(void) { return with_options(bad_kernels); }
static clenc_status r_context_missing_binary(void) { return with_options(bad_binary); }
static void nothing(clenc_options *o) { (void)o; }
static clenc_status r_env_gemm(void)
{
    setenv("CLENC_GEMM", "blas", 1);
    clenc_status st = with_options(nothing);
    unsetenv("CLENC_GEMM");
    return st;
}
static clenc_status r_context_device_null(void)
{
    clenc_device_info d;
    return clenc_context_device(NULL, &d);
}
static clenc_status r_context_device_no_out(void)
{
    return clenc_context_device(W.ctx, NULL);
}
static clenc_status r_build_kernels_null(void)
{
    return clenc_context_build_kernels(NULL, NULL, NULL);
}
static clenc_status r_save_null(void)
{
    return clenc_context_save_programs(NULL, "/tmp/x");
}
static clenc_status r_save_no_path(void)
{
    return clenc_context_save_programs(W.ctx, NULL);
}
static clenc_status r_save_unwritable(void)
{
    return clenc_context_save_programs(W.ctx, "/nonexistent/dir/x.clenc");
}
static clenc_status r_programs_null(void)
{
    size_t n;
    return clenc_context_programs(NULL, NULL, 0, &n);
}
static clenc_status r_peak_null(void)
{
    return clenc_device_peak_get(W.ctx, NULL);
}

/* ------------------------------------------------------------ containers */

static clenc_status with_binary(const char *path)
{
    clenc_options opt;
    test_options(&opt);
    opt.binary = path;
    clenc_context *c = NULL;
    clenc_status st = clenc_context_create(&opt, &c);
    if (st == CLENC_OK) { /* loads; the model it is used for decides */
        clenc_model *m = NULL;
        st = clenc_model_load(c, "tests/fixtures/torch_encoder", &m);
        clenc_model_destroy(m);
    }
    clenc_context_destroy(c);
    return st;
}
static clenc_status r_container_other_device(void)
{
    return with_binary(W.other_device);
}
static clenc_status r_container_other_shape(void)
{
    return with_binary(W.other_shape);
}
static clenc_status r_container_garbage(void)
{
    char *p = scratch("garbage.clenc");
    CU_ASSERT_FATAL(test_write_file(p, "CLENCPRG-not-really", 19));
    clenc_status st = with_binary(p);
    free(p);
    return st;
}

/* ------------------------------------------------------------ model files */

static clenc_status r_st_header_2_63(void)
{
    return load_safetensors("st-2-63", 1ull << 63, "{}", 0);
}
static clenc_status r_st_header_past_end(void)
{
    return load_safetensors("st-past", 4096, "{}", 0);
}
static clenc_status r_st_not_json(void)
{
    return load_safetensors("st-json", 8, "{nope!!}", 0);
}
static clenc_status r_st_duplicate(void)
{
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
    return load_safetensors("st-dup", strlen(h), h, 8);
}
static clenc_status r_st_overlap(void)
{
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
    return load_safetensors("st-overlap", strlen(h), h, 12);
}
static clenc_status r_st_out_of_bounds(void)
{
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
    return load_safetensors("st-oob", strlen(h), h, 8);
}
static clenc_status r_st_unknown_dtype(void)
{
    const char *h = "{\"a\":{\"dtype\":\"Q4\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    return load_safetensors("st-dtype", strlen(h), h, 4);
}
static clenc_status r_st_size_mismatch(void)
{
    const char *h = "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}";
    return load_safetensors("st-size", strlen(h), h, 8);
}
static clenc_status r_st_truncated(void)
{
    size_t n = 0;
    unsigned char *b = test_read_file(ENCODER "/model.safetensors", &n);
    char *dir = folder_with_weights("st-trunc", b, n / 2);
    clenc_status st = load_folder(dir);
    free(dir);
    free(b);
    return st;
}
static clenc_status r_missing_tensor(void)
{
    const char *h = "{\"embedding.weight\":{\"dtype\":\"F32\",\"shape\":[60,32],"
                    "\"data_offsets\":[0,7680]}}";
    return load_safetensors("st-missing", strlen(h), h, 7680);
}
static clenc_status r_config_missing(void)
{
    char *dir = scratch("no-config");
    mkdir(dir, 0700);
    clenc_status st = load_folder(dir);
    free(dir);
    return st;
}
static clenc_status r_config_broken(void)
{
    return load_config("cfg-broken", "{\"d_model\": 32,");
}
static clenc_status r_config_field(void)
{
    return load_config("cfg-field", "{\"architectures\": [\"TransformerEncoder\"], "
                                    "\"d_model\": 32}");
}
static clenc_status r_config_unsupported(void)
{
    return load_config("cfg-arch", "{\"model_type\": \"t5\"}");
}
static clenc_status r_config_activation(void)
{
    return load_config("cfg-act", "{\"architectures\": [\"TransformerEncoder\"], "
                                  "\"d_model\": 32, \"nhead\": 4, \"num_layers\": 2, "
                                  "\"vocab_size\": 60, \"max_len\": 128, "
                                  "\"activation\": \"swish\"}");
}
static clenc_status r_vocab_missing(void)
{
    return load_config("cfg-vocab", "{\"model_type\": \"bert\", \"vocab_size\": 60, "
                                    "\"hidden_size\": 32, \"num_attention_heads\": 4, "
                                    "\"num_hidden_layers\": 2, \"intermediate_size\": 37, "
                                    "\"max_position_embeddings\": 128}");
}
static clenc_status r_model_path_missing(void)
{
    return load_folder("/nonexistent/model");
}
static clenc_status r_model_load_null(void)
{
    clenc_model *m = NULL;
    return clenc_model_load(W.ctx, NULL, &m);
}
static clenc_status r_vocab_duplicates(void)
{
    const char vocab[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nfox\nfox\n";
    clenc__tokenizer_options opt;
    clenc__tokenizer_options_init(&opt);
    clenc__tokenizer *tok = NULL;
    clenc_status st = clenc__tokenizer_load_mem(vocab, sizeof vocab - 1,
                                                "vocab", &opt, &tok);
    if (st == CLENC_OK && clenc__tokenizer_token_id(tok, "fox") != 6)
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT, "fox is not the later line");
    clenc__tokenizer_free(tok);
    return st;
}

/* A BERT folder (MiniLM's config.json and vocabulary) whose
 * tokenizer_config.json leaves max_len 2: no room for one token of text.
 * Refused while reading the files, before the weights (here: none). */
static clenc_status r_model_max_length_2(void)
{
    char *dir = scratch("mml-2");
    mkdir(dir, 0700);
    copy("models/all-MiniLM-L6-v2/config.json", dir, "config.json");
    copy("tests/fixtures/minilm_vocab.txt", dir, "vocab.txt");
    const char *tc = "{\"do_lower_case\": true, \"model_max_length\": 2}";
    put(dir, "tokenizer_config.json", tc, strlen(tc));
    put(dir, "model.safetensors", "not read", 8);
    clenc_status st = load_folder(dir);
    free(dir);
    return st;
}

/* ---------------------------------------------------------------- models */

static clenc_status r_create_nulls(void)
{
    clenc_model *m = NULL;
    return clenc_model_create(W.ctx, NULL, &W.tiny.weights, &m);
}
static clenc_status r_create_no_out(void)
{
    return clenc_model_create(W.ctx, &W.tiny.config, &W.tiny.weights, NULL);
}
static clenc_status r_create_zero_heads(void)
{
    clenc_config c = W.tiny.config;
    c.heads = 0;
    return create(&c, &W.tiny.weights);
}
static clenc_status r_create_indivisible(void)
{
    clenc_config c = W.tiny.config;
    c.heads = 5;
    return create(&c, &W.tiny.weights);
}
static clenc_status r_create_eps_nan(void)
{
    clenc_config c = W.tiny.config;
    c.eps = NAN;
    return create(&c, &W.tiny.weights);
}
static clenc_status r_create_bad_pooling(void)
{
    clenc_config c = W.tiny.config;
    c.pooling = CLENC_POOL_DEFAULT;
    return create(&c, &W.tiny.weights);
}
static clenc_status r_create_huge_head(void)
{
    clenc_config c = W.tiny.config;
    c.hidden = 1024;
    c.heads = 2;
    return create(&c, &W.tiny.weights);
}
static clenc_status nonfinite(float value)
{
    clenc_layer_weights *l = &W.tiny.layers[1];
    float *spoiled = malloc(37 * 32 * sizeof *spoiled);
    memcpy(spoiled, l->ffn_up_weight, 37 * 32 * sizeof *spoiled);
    spoiled[100] = value;
    const float *saved = l->ffn_up_weight;
    l->ffn_up_weight = spoiled;
    clenc_status st = create(&W.tiny.config, &W.tiny.weights);
    l->ffn_up_weight = saved;
    free(spoiled);
    return st;
}
static clenc_status r_weights_nan(void) { return nonfinite(NAN); }
static clenc_status r_weights_inf(void) { return nonfinite(-INFINITY); }
static clenc_status r_info_null(void)
{
    clenc_model_info i;
    return clenc_model_info_get(NULL, &i);
}

/* ------------------------------------------------------ sessions, encode */

static clenc_status r_session_null_model(void)
{
    clenc_session *s = NULL;
    return clenc_session_create(NULL, 2, 8, &s);
}
static clenc_status r_session_zero_batch(void)
{
    clenc_session *s = NULL;
    return clenc_session_create(W.model, 0, 8, &s);
}
static clenc_status r_session_too_long(void)
{
    clenc_session *s = NULL;
    return clenc_session_create(W.model, 2, 129, &s);
}
static clenc_status r_session_huge(void)
{
    clenc_session *s = NULL;
    return clenc_session_create(W.model, 1u << 20, 128, &s);
}
static clenc_status r_encode_batch_over_session(void)
{
    const int32_t len[3] = {8, 8, 8};
    return encode(ids8, len, 3, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_empty_batch(void)
{
    return encode(ids8, NULL, 0, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_id_over_vocab(void)
{
    int32_t ids[16];
    memcpy(ids, ids8, sizeof ids);
    ids[3] = 60;
    return encode(ids, NULL, 2, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_negative_id(void)
{
    int32_t ids[16];
    memcpy(ids, ids8, sizeof ids);
    ids[9] = -1;
    return encode(ids, NULL, 2, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_zero_length(void)
{
    const int32_t len[2] = {8, 0};
    return encode(ids8, len, 2, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_length_over_seq(void)
{
    const int32_t len[2] = {8, 9};
    return encode(ids8, len, 2, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_seq_over_session(void)
{
    return encode(ids8, NULL, 1, 16, CLENC_POOL_MEAN);
}
static clenc_status r_encode_bad_pooling(void)
{
    return encode(ids8, NULL, 2, 8, (clenc_pooling)0x77);
}
static clenc_status r_encode_null_ids(void)
{
    return encode(NULL, NULL, 2, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_null_session(void)
{
    float out[64];
    return clenc_encode(NULL, ids8, NULL, NULL, 2, 8, CLENC_POOL_MEAN, out);
}
static clenc_status r_set_pooling_bad(void)
{
    return clenc_session_set_pooling(W.session, (clenc_pooling)0x100);
}
static clenc_status r_set_pooling_past(void)
{
    return clenc_session_set_pooling(W.session, (clenc_pooling)0x105);
}
static clenc_status r_set_pooling_no_pooler(void)
{
    return clenc_session_set_pooling(W.session, CLENC_POOL_POOLER);
}
static clenc_status r_session_info_null(void)
{
    clenc_session_info i;
    return clenc_session_info_get(NULL, &i);
}

/* ------------------------------------------------------------------ text */

static clenc_status r_tokenize_no_tokenizer(void)
{
    int32_t ids[8];
    size_t n;
    return clenc_tokenize(W.model, "hello", NULL, 8, ids, NULL, &n);
}
static clenc_status r_tokenize_null_text(void)
{
    int32_t ids[8];
    size_t n;
    return clenc_tokenize(W.minilm, NULL, NULL, 8, ids, NULL, &n);
}
static clenc_status r_tokenize_max_len_1(void)
{
    int32_t ids[8];
    size_t n;
    return clenc_tokenize(W.minilm, "hello", NULL, 1, ids, NULL, &n);
}
static clenc_status r_tokenize_invalid_utf8(void)
{
    int32_t ids[8];
    size_t n;
    return clenc_tokenize(W.minilm, "caf\xc3", NULL, 8, ids, NULL, &n);
}
static clenc_status r_embed_null_text(void)
{
    clenc_session *s = NULL;
    clenc_status st = clenc_session_create(W.minilm, 2, 16, &s);
    const char *texts[2] = {"fine", NULL};
    float out[2 * 384];
    if (st == CLENC_OK)
        st = clenc_embed_text(s, texts, 2, out);
    clenc_session_destroy(s);
    return st;
}
static clenc_status r_embed_no_tokenizer(void)
{
    const char *t = "hello";
    float out[32];
    return clenc_embed_text(W.session, &t, 1, out);
}

/* ------------------------------------------------- sizes from the caller */

/* Each public call that takes a size or a count, given the largest values
 * its type holds: a status naming the argument, never a product that wraps
 * into a small allocation. */
static clenc_status r_tokenize_huge_max_len(void)
{
    /* Clamped to the model's max_text_tokens (256): max_len * 4 would wrap
     * to 8 bytes for the type ids asked for with type_ids NULL. */
    static int32_t ids[256];
    size_t n = 0;
    clenc_status st = clenc_tokenize(W.minilm, "hello", NULL,
                                     SIZE_MAX / sizeof(int32_t) + 3, ids, NULL,
                                     &n);
    if (st == CLENC_OK && (n != 3 || ids[0] != 101 || ids[1] != 7592 ||
                           ids[2] != 102))
        st = clenc__fail(CLENC_ERR_INVALID_ARG, "wrong ids, n %zu", n);
    return st;
}
static clenc_status r_tokenize_max_len_clamped(void)
{
    /* max_len over max_text_tokens: texts stop at max_text_tokens. */
    clenc_model_info info;
    clenc_status st = clenc_model_info_get(W.minilm, &info);
    char *text = malloc(4 * 1024 + 1);
    int32_t *ids = malloc(1024 * sizeof *ids);
    for (size_t i = 0; i < 1024; i++)
        memcpy(text + 4 * i, "the ", 4);
    text[4 * 1024] = '\0';
    size_t n = 0;
    if (st == CLENC_OK)
        st = clenc_tokenize(W.minilm, text, NULL, 1024, ids, NULL, &n);
    if (st == CLENC_OK && n != info.max_text_tokens)
        st = clenc__fail(CLENC_ERR_INVALID_ARG, "%zu tokens, not %u", n,
                         info.max_text_tokens);
    free(ids);
    free(text);
    return st;
}
static clenc_status r_embed_huge_n(void)
{
    clenc_session *s = NULL;
    clenc_status st = clenc_session_create(W.minilm, 2, 16, &s);
    const char *texts[2] = {"one", "two"};
    static float out[2 * 384];
    if (st == CLENC_OK)
        st = clenc_embed_text(s, texts, SIZE_MAX / 2, out);
    clenc_session_destroy(s);
    return st;
}
static clenc_status r_tokenize_n_null_text(void)
{
    int32_t ids[8];
    size_t n;
    return clenc_tokenize_n(W.minilm, NULL, 3, NULL, 0, 8, ids, NULL, &n);
}
static clenc_status r_tokenize_n_null_pair(void)
{
    int32_t ids[8];
    size_t n;
    return clenc_tokenize_n(W.minilm, "ab", 2, NULL, 5, 8, ids, NULL, &n);
}
/* texts with lengths: a NUL inside is dropped ("hello\0world" embeds as
 * "helloworld"), a NULL text of length 0 is the empty text. */
static clenc_status r_embed_n_lengths(void)
{
    clenc_session *s = NULL;
    clenc_status st = clenc_session_create(W.minilm, 2, 16, &s);
    const char *with[3] = {"hello\0world", NULL, "x"};
    const size_t lengths[3] = {11, 0, 1};
    const char *without[3] = {"helloworld", "", "x"};
    static float got[3 * 384], want[3 * 384];
    memset(got, 0xFF, sizeof got);
    if (st == CLENC_OK)
        st = clenc_embed_text_n(s, with, lengths, 3, got);
    if (st == CLENC_OK)
        st = clenc_embed_text(s, without, 3, want);
    if (st == CLENC_OK && memcmp(got, want, sizeof got) != 0)
        st = clenc__fail(CLENC_ERR_INVALID_ARG, "vectors differ");
    clenc_session_destroy(s);
    return st;
}
static clenc_status r_embed_n_huge_n(void)
{
    clenc_session *s = NULL;
    clenc_status st = clenc_session_create(W.minilm, 2, 16, &s);
    const char *texts[2] = {"one", "two"};
    const size_t lengths[2] = {3, 3};
    static float out[2 * 384];
    if (st == CLENC_OK)
        st = clenc_embed_text_n(s, texts, lengths, SIZE_MAX / 2, out);
    clenc_session_destroy(s);
    return st;
}
static clenc_status r_session_huge_sizes(void)
{
    clenc_session *s = NULL;
    return clenc_session_create(W.model, UINT32_MAX, UINT32_MAX, &s);
}
static clenc_status r_encode_huge_batch(void)
{
    return encode(ids8, NULL, UINT32_MAX, 8, CLENC_POOL_MEAN);
}
static clenc_status r_encode_huge_seq(void)
{
    return encode(ids8, NULL, 2, UINT32_MAX, CLENC_POOL_MEAN);
}
static clenc_status r_platform_list_huge(void)
{
    size_t n;
    return clenc_platform_list(NULL, SIZE_MAX, &n);
}
static clenc_status r_device_list_huge(void)
{
    size_t n;
    return clenc_device_list(NULL, SIZE_MAX, &n);
}
static clenc_status r_programs_huge(void)
{
    size_t n;
    return clenc_context_programs(W.ctx, NULL, SIZE_MAX, &n);
}
static clenc_status r_profile_launches_huge(void)
{
    size_t n;
    return clenc_profile_launches(W.profiled, NULL, SIZE_MAX, &n);
}
static clenc_status r_profile_kernels_huge(void)
{
    size_t n;
    return clenc_profile_kernels(W.profiled, NULL, SIZE_MAX, &n, NULL);
}
static clenc_status r_flops_huge(void)
{
    /* torch_encoder: hidden 32, ffn 37, 2 layers; the formula of clenc.h
     * in long double, against the library's double. */
    const long double t = UINT32_MAX, h = 32, f = 37;
    const long double want = 2 * (2 * t * (4 * h * h + 2 * h * f) + 4 * t * t * h);
    const double got = clenc_encoder_flops(W.model, NULL, 1, UINT32_MAX);
    if (!(fabsl(got - want) <= 1e-9L * want))
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%g FLOPs, want %Lg", got,
                           want);
    return CLENC_OK;
}
enum { HUGE_VOCAB, HUGE_FFN, HUGE_LAYERS, HUGE_POSITIONS };
static clenc_status create_huge(int field)
{
    clenc_config c = W.tiny.config;
    unsigned *sizes[] = {&c.vocab_size, &c.ffn, &c.layers, &c.max_positions};
    *sizes[field] = UINT32_MAX;
    return create(&c, &W.tiny.weights);
}
static clenc_status r_create_huge_vocab(void) { return create_huge(HUGE_VOCAB); }
static clenc_status r_create_huge_ffn(void) { return create_huge(HUGE_FFN); }
static clenc_status r_create_huge_layers(void) { return create_huge(HUGE_LAYERS); }
static clenc_status r_create_huge_positions(void) { return create_huge(HUGE_POSITIONS); }

/* ------------------------------------- struct sizes (include/clenc.h) */

static clenc_status r_options_init_null(void)
{
    return clenc_options_init(NULL);
}
static clenc_status r_config_init_null(void)
{
    return clenc_config_init_vanilla(NULL);
}
static clenc_status r_device_find_size_4(void)
{
    clenc_device_info d;
    return clenc_device_find_sized("cpu", &d, 4);
}
static clenc_status r_context_options_size_max(void)
{
    clenc_options opt;
    test_options(&opt);
    clenc_context *c = NULL;
    clenc_status st = clenc_context_create_sized(&opt, SIZE_MAX, &c);
    clenc_context_destroy(c);
    return st;
}
static clenc_status r_context_options_newer(void)
{
    struct {
        clenc_options opt;
        int future; /* a later release's field, set */
    } newer;
    memset(&newer, 0, sizeof newer);
    test_options(&newer.opt);
    newer.future = 2;
    clenc_context *c = NULL;
    clenc_status st = clenc_context_create_sized(&newer.opt, sizeof newer, &c);
    clenc_context_destroy(c);
    return st;
}
static clenc_status r_create_layer_size_0(void)
{
    clenc_model *m = NULL;
    clenc_status st = clenc_model_create_sized(
        W.ctx, &W.tiny.config, sizeof W.tiny.config, &W.tiny.weights,
        sizeof W.tiny.weights, 0, &m);
    clenc_model_destroy(m);
    return st;
}
static clenc_status r_info_size_count(void)
{
    clenc_model_info i;
    return clenc_model_info_get_sized(W.model, &i, 100000);
}
static clenc_status r_programs_size_1(void)
{
    clenc_program_info p[2];
    size_t n;
    return clenc_context_programs_sized(W.ctx, p, 1, 2, &n);
}
static clenc_status r_summary_size_0(void)
{
    clenc_profile_summary sum;
    size_t n;
    return clenc_profile_kernels_sized(W.profiled, NULL, 0, 0, &n, &sum, 0);
}

/* ------------------------------------------------------------- profiling */

static clenc_status r_profile_off(void)
{
    size_t n;
    return clenc_profile_launches(W.session, NULL, 0, &n);
}
static clenc_status r_profile_null(void)
{
    return clenc_profile_reset(NULL);
}

static const row table[] = {
    {"clenc_platform_list: NULL array, capacity 4", CLENC_ERR_INVALID_ARG, "capacity 4", r_platform_list_null},
    {"clenc_platform_list: NULL count", CLENC_ERR_INVALID_ARG, "count is NULL", r_platform_list_no_count},
    {"clenc_device_list: NULL array, capacity 4", CLENC_ERR_INVALID_ARG, "capacity 4", r_device_list_null},
    {"clenc_device_find: NULL out", CLENC_ERR_INVALID_ARG, "out is NULL", r_device_find_null},
    {"clenc_device_find: a spec matching nothing", CLENC_ERR_NO_DEVICE, "no-such-device", r_device_find_nothing},
    {"clenc_context_create: NULL out", CLENC_ERR_INVALID_ARG, "out is NULL", r_context_no_out},
    {"options.source_build out of range", CLENC_ERR_INVALID_ARG, "source_build is 7", r_context_bad_source},
    {"options.gemm out of range", CLENC_ERR_INVALID_ARG, "CLENC_GEMM", r_context_bad_gemm},
    {"options.variant out of range", CLENC_ERR_INVALID_ARG, "CLENC_VARIANT", r_context_bad_variant},
    {"options.tune out of range", CLENC_ERR_INVALID_ARG, "CLENC_TUNE", r_context_bad_tune},
    {"options.kernel_dir not a folder", CLENC_ERR_IO, "/nonexistent/kernels", r_context_bad_kernel_dir},
    {"options.binary missing", CLENC_ERR_IO, "/nonexistent/x.clenc", r_context_missing_binary},
    {"CLENC_GEMM=blas", CLENC_ERR_INVALID_ARG, "CLENC_GEMM='blas'", r_env_gemm},
    {"clenc_context_device: NULL context", CLENC_ERR_INVALID_ARG, "ctx is NULL", r_context_device_null},
    {"clenc_context_device: NULL out", CLENC_ERR_INVALID_ARG, "out is NULL", r_context_device_no_out},
    {"clenc_context_build_kernels: NULL context", CLENC_ERR_INVALID_ARG, "ctx is NULL", r_build_kernels_null},
    {"clenc_context_save_programs: NULL context", CLENC_ERR_INVALID_ARG, "ctx is NULL", r_save_null},
    {"clenc_context_save_programs: NULL path", CLENC_ERR_INVALID_ARG, "path is NULL", r_save_no_path},
    {"clenc_context_save_programs: unwritable path", CLENC_ERR_IO, "/nonexistent/dir", r_save_unwritable},
    {"clenc_context_programs: NULL context", CLENC_ERR_INVALID_ARG, "ctx or count", r_programs_null},
    {"clenc_device_peak_get: NULL out", CLENC_ERR_INVALID_ARG, "out is NULL", r_peak_null},
    {"container built for another device", CLENC_ERR_BINARY, "built for device 'another-device'", r_container_other_device},
    {"container built for another model shape", CLENC_ERR_BINARY, "another set of constants", r_container_other_shape},
    {"container: garbage bytes", CLENC_ERR_BINARY, "not a clenc program container", r_container_garbage},
    {"safetensors: header length 2^63", CLENC_ERR_MODEL_FORMAT, "header", r_st_header_2_63},
    {"safetensors: header length past the end", CLENC_ERR_MODEL_FORMAT, "header", r_st_header_past_end},
    {"safetensors: header not JSON", CLENC_ERR_MODEL_FORMAT, "model.safetensors", r_st_not_json},
    {"safetensors: duplicate tensor names", CLENC_ERR_MODEL_FORMAT, "\"a\" twice", r_st_duplicate},
    {"safetensors: overlapping offsets", CLENC_ERR_MODEL_FORMAT, "overlap", r_st_overlap},
    {"safetensors: offsets out of bounds", CLENC_ERR_MODEL_FORMAT, "'a'", r_st_out_of_bounds},
    {"safetensors: unknown dtype", CLENC_ERR_MODEL_FORMAT, "Q4", r_st_unknown_dtype},
    {"safetensors: size mismatch", CLENC_ERR_MODEL_FORMAT, "'a'", r_st_size_mismatch},
    {"safetensors: truncated file", CLENC_ERR_MODEL_FORMAT, "model.safetensors", r_st_truncated},
    {"a required tensor missing", CLENC_ERR_MODEL_FORMAT, "layers.0.self_attn.in_proj_weight", r_missing_tensor},
    {"config.json missing", CLENC_ERR_MODEL_FORMAT, "no config.json", r_config_missing},
    {"config.json not JSON", CLENC_ERR_MODEL_FORMAT, "config.json", r_config_broken},
    {"config.json field missing", CLENC_ERR_MODEL_FORMAT, "'vocab_size' is missing", r_config_field},
    {"config.json: unsupported model_type", CLENC_ERR_UNSUPPORTED, "model_type 't5'", r_config_unsupported},
    {"config.json: unsupported activation", CLENC_ERR_UNSUPPORTED, "activation 'swish'", r_config_activation},
    {"BERT folder without vocab.txt or tokenizer.json", CLENC_ERR_MODEL_FORMAT, "neither tokenizer.json nor vocab.txt", r_vocab_missing},
    {"model path that does not exist", CLENC_ERR_IO, "/nonexistent/model", r_model_path_missing},
    {"clenc_model_load: NULL path", CLENC_ERR_INVALID_ARG, "path is NULL", r_model_load_null},
    {"vocab.txt with duplicate tokens (accepted: the later line wins, as in HF)", CLENC_OK, NULL, r_vocab_duplicates},
    {"tokenizer_config.json: model_max_length 2", CLENC_ERR_MODEL_FORMAT, "model_max_length 2", r_model_max_length_2},
    {"clenc_model_create: NULL config", CLENC_ERR_INVALID_ARG, "config is NULL", r_create_nulls},
    {"clenc_model_create: NULL out", CLENC_ERR_INVALID_ARG, "out is NULL", r_create_no_out},
    {"config: heads 0", CLENC_ERR_INVALID_ARG, "config.heads is 0", r_create_zero_heads},
    {"config: hidden not divisible by heads", CLENC_ERR_INVALID_ARG, "not divisible", r_create_indivisible},
    {"config: eps NaN", CLENC_ERR_INVALID_ARG, "config.eps", r_create_eps_nan},
    {"config: default pooling DEFAULT", CLENC_ERR_INVALID_ARG, "config.pooling", r_create_bad_pooling},
    {"config: head size 512", CLENC_ERR_UNSUPPORTED, "head size 512", r_create_huge_head},
    {"weights holding NaN (rejected)", CLENC_ERR_MODEL_FORMAT, "NaN at element", r_weights_nan},
    {"weights holding an infinity (rejected)", CLENC_ERR_MODEL_FORMAT, "an infinity", r_weights_inf},
    {"clenc_model_info_get: NULL model", CLENC_ERR_INVALID_ARG, "model is NULL", r_info_null},
    {"clenc_session_create: NULL model", CLENC_ERR_INVALID_ARG, "model is NULL", r_session_null_model},
    {"clenc_session_create: max_batch 0", CLENC_ERR_INVALID_ARG, "max_batch 0", r_session_zero_batch},
    {"clenc_session_create: max_seq over the positions", CLENC_ERR_INVALID_ARG, "129", r_session_too_long},
    {"clenc_session_create: 2^27 tokens", CLENC_ERR_INVALID_ARG, "2^24", r_session_huge},
    {"clenc_encode: batch larger than the session", CLENC_ERR_INVALID_ARG, "batch 3", r_encode_batch_over_session},
    {"clenc_encode: empty batch", CLENC_ERR_INVALID_ARG, "batch 0", r_encode_empty_batch},
    {"clenc_encode: token id = vocab size", CLENC_ERR_INVALID_ARG, "token id 60", r_encode_id_over_vocab},
    {"clenc_encode: negative token id", CLENC_ERR_INVALID_ARG, "token id -1", r_encode_negative_id},
    {"clenc_encode: a length of 0", CLENC_ERR_INVALID_ARG, "lengths[1] is 0", r_encode_zero_length},
    {"clenc_encode: a length over seq", CLENC_ERR_INVALID_ARG, "lengths[1] is 9", r_encode_length_over_seq},
    {"clenc_encode: seq over the session", CLENC_ERR_INVALID_ARG, "seq 16", r_encode_seq_over_session},
    {"clenc_encode: pooling 0x77", CLENC_ERR_INVALID_ARG, "not a pooling", r_encode_bad_pooling},
    {"clenc_encode: NULL ids", CLENC_ERR_INVALID_ARG, "ids is NULL", r_encode_null_ids},
    {"clenc_encode: NULL session", CLENC_ERR_INVALID_ARG, "session is NULL", r_encode_null_session},
    {"clenc_session_set_pooling: DEFAULT | NORMALIZE", CLENC_ERR_INVALID_ARG, "not a pooling", r_set_pooling_bad},
    {"clenc_session_set_pooling: 5 | NORMALIZE", CLENC_ERR_INVALID_ARG, "not a pooling", r_set_pooling_past},
    {"clenc_session_set_pooling: POOLER, model without one", CLENC_ERR_UNSUPPORTED, "has no pooler", r_set_pooling_no_pooler},
    {"clenc_session_info_get: NULL session", CLENC_ERR_INVALID_ARG, "session", r_session_info_null},
    {"clenc_tokenize: a model without tokenizer", CLENC_ERR_UNSUPPORTED, "no tokenizer", r_tokenize_no_tokenizer},
    {"clenc_tokenize: NULL text", CLENC_ERR_INVALID_ARG, "text is NULL", r_tokenize_null_text},
    {"clenc_tokenize: max_len 1", CLENC_ERR_INVALID_ARG, NULL, r_tokenize_max_len_1},
    {"clenc_tokenize: invalid UTF-8", CLENC_ERR_INVALID_ARG, "offset", r_tokenize_invalid_utf8},
    {"clenc_embed_text: a NULL text", CLENC_ERR_INVALID_ARG, "texts[1] is NULL", r_embed_null_text},
    {"clenc_embed_text: a model without tokenizer", CLENC_ERR_UNSUPPORTED, "no tokenizer", r_embed_no_tokenizer},
    {"clenc_tokenize: max_len 2^62 + 3, type_ids NULL (clamped)", CLENC_OK, NULL, r_tokenize_huge_max_len},
    {"clenc_tokenize: max_len over max_text_tokens (clamped)", CLENC_OK, NULL, r_tokenize_max_len_clamped},
    {"clenc_embed_text: n 2^63 - 1", CLENC_ERR_INVALID_ARG, "n 9223372036854775807", r_embed_huge_n},
    {"clenc_tokenize_n: NULL text of length 3", CLENC_ERR_INVALID_ARG, "text is NULL, text_len not 0", r_tokenize_n_null_text},
    {"clenc_tokenize_n: NULL pair of length 5", CLENC_ERR_INVALID_ARG, "text_pair is NULL", r_tokenize_n_null_pair},
    {"clenc_embed_text_n: a NUL inside, a NULL of length 0 (accepted)", CLENC_OK, NULL, r_embed_n_lengths},
    {"clenc_embed_text_n: n 2^63 - 1", CLENC_ERR_INVALID_ARG, "clenc_embed_text_n: n 9223372036854775807", r_embed_n_huge_n},
    {"clenc_session_create: 2^32 - 1 x 2^32 - 1", CLENC_ERR_INVALID_ARG, "max_seq 4294967295", r_session_huge_sizes},
    {"clenc_encode: batch 2^32 - 1", CLENC_ERR_INVALID_ARG, "batch 4294967295", r_encode_huge_batch},
    {"clenc_encode: seq 2^32 - 1", CLENC_ERR_INVALID_ARG, "seq 4294967295", r_encode_huge_seq},
    {"clenc_platform_list: NULL array, capacity 2^64 - 1", CLENC_ERR_INVALID_ARG, "capacity 18446744073709551615", r_platform_list_huge},
    {"clenc_device_list: NULL array, capacity 2^64 - 1", CLENC_ERR_INVALID_ARG, "capacity 18446744073709551615", r_device_list_huge},
    {"clenc_context_programs: NULL array, capacity 2^64 - 1", CLENC_ERR_INVALID_ARG, "capacity 18446744073709551615", r_programs_huge},
    {"clenc_profile_launches: NULL array, capacity 2^64 - 1", CLENC_ERR_INVALID_ARG, "capacity 18446744073709551615", r_profile_launches_huge},
    {"clenc_profile_kernels: NULL array, capacity 2^64 - 1", CLENC_ERR_INVALID_ARG, "capacity 18446744073709551615", r_profile_kernels_huge},
    {"clenc_encoder_flops: seq 2^32 - 1 (exact, no wrap)", CLENC_OK, NULL, r_flops_huge},
    {"config: vocab_size 2^32 - 1", CLENC_ERR_UNSUPPORTED, "vocab 4294967295", r_create_huge_vocab},
    {"config: ffn 2^32 - 1", CLENC_ERR_UNSUPPORTED, "ffn 4294967295", r_create_huge_ffn},
    {"config: layers 2^32 - 1", CLENC_ERR_UNSUPPORTED, "layers 4294967295", r_create_huge_layers},
    {"config: max_positions 2^32 - 1", CLENC_ERR_UNSUPPORTED, "positions 4294967295", r_create_huge_positions},
    {"clenc_profile_launches: profiling off", CLENC_ERR_UNSUPPORTED, "profiling is off", r_profile_off},
    {"clenc_profile_reset: NULL session", CLENC_ERR_INVALID_ARG, "session is NULL", r_profile_null},
    {"clenc_options_init: NULL", CLENC_ERR_INVALID_ARG, "opt is NULL", r_options_init_null},
    {"clenc_config_init_vanilla: NULL", CLENC_ERR_INVALID_ARG, "config is NULL", r_config_init_null},
    {"clenc_device_find_sized: a 4-byte clenc_device_info", CLENC_ERR_INVALID_ARG, "needs at least 768 (its size in clenc 0.2.0)", r_device_find_size_4},
    {"clenc_context_create_sized: options of 2^64 - 1 bytes", CLENC_ERR_INVALID_ARG, "clenc_options is 18446744073709551615 bytes", r_context_options_size_max},
    {"clenc_context_create_sized: a newer clenc_options, new field set", CLENC_ERR_UNSUPPORTED, "clenc_options: byte 64 of the caller's 72 is set", r_context_options_newer},
    {"clenc_model_create_sized: layer stride 0", CLENC_ERR_INVALID_ARG, "clenc_layer_weights is 0 bytes", r_create_layer_size_0},
    {"clenc_model_info_get_sized: size 100000 (a count?)", CLENC_ERR_INVALID_ARG, "a count or capacity passed as its size", r_info_size_count},
    {"clenc_context_programs_sized: element size 1", CLENC_ERR_INVALID_ARG, "clenc_program_info is 1 bytes", r_programs_size_1},
    {"clenc_profile_kernels_sized: summary size 0", CLENC_ERR_INVALID_ARG, "clenc_profile_summary is 0 bytes", r_summary_size_0},
};

static void world_open(void)
{
    memset(&W, 0, sizeof W);
    W.ctx = test_context(NULL);
    W.dir = test_tmpdir("bad-input");
    ASSERT_STATUS(clenc_model_load(W.ctx, ENCODER, &W.model), CLENC_OK);
    ASSERT_STATUS(clenc_model_load(W.ctx, "models/all-MiniLM-L6-v2", &W.minilm),
                  CLENC_OK);
    ASSERT_STATUS(clenc_session_create(W.model, 2, 8, &W.session), CLENC_OK);
    CU_ASSERT_FATAL(W.model && W.minilm && W.session);
    clenc_options prof;
    test_options(&prof);
    prof.profiling = 1;
    W.profiling_ctx = test_context(&prof);
    ASSERT_STATUS(clenc_model_load(W.profiling_ctx, ENCODER, &W.profiling_model),
                  CLENC_OK);
    ASSERT_STATUS(clenc_session_create(W.profiling_model, 1, 8, &W.profiled),
                  CLENC_OK);
    CU_ASSERT_FATAL(W.profiled != NULL);
    clenc_config c;
    clenc_config_init_bert(&c);
    c.vocab_size = 50;
    c.hidden = 32;
    c.heads = 4;
    c.layers = 2;
    c.ffn = 37;
    c.max_positions = 16;
    test_model_random(&W.tiny, &c, 5);
    /* Built once here, so that the rows' leak checks do not count the
     * programs the context keeps for this shape. */
    ASSERT_STATUS(create(&W.tiny.config, &W.tiny.weights), CLENC_OK);
    /* Containers: one of this context's programs relabelled for another
     * device, and one built for the tiny BERT's shape. */
    W.other_device = scratch("other-device.clenc");
    W.other_shape = scratch("other-shape.clenc");
    ASSERT_STATUS(clenc_context_save_programs(W.ctx, W.other_device), CLENC_OK);
    size_t n = 0;
    unsigned char *data = test_read_file(W.other_device, &n);
    clenc__container cont;
    ASSERT_STATUS(clenc__container_parse(data, n, "x", &cont), CLENC_OK);
    free(cont.device_name);
    cont.device_name = strdup("another-device");
    unsigned char *out = NULL;
    ASSERT_STATUS(clenc__container_serialize(&cont, &out, &n), CLENC_OK);
    CU_ASSERT_FATAL(test_write_file(W.other_device, out, n));
    free(out);
    free(data);
    clenc__container_free(&cont);
    clenc_options opt;
    test_options(&opt);
    clenc_context *c2 = test_context(&opt);
    clenc_model *m2 = test_model_upload(c2, &W.tiny);
    ASSERT_STATUS(clenc_context_save_programs(c2, W.other_shape), CLENC_OK);
    clenc_model_destroy(m2);
    clenc_context_destroy(c2);
}

static void world_close(void)
{
    clenc_session_destroy(W.session);
    clenc_session_destroy(W.profiled);
    clenc_model_destroy(W.profiling_model);
    clenc_context_destroy(W.profiling_ctx);
    clenc_model_destroy(W.model);
    clenc_model_destroy(W.minilm);
    clenc_context_destroy(W.ctx);
    test_model_free(&W.tiny);
    free(W.other_device);
    free(W.other_shape);
    free(W.dir);
}

void test_bad_input_table(void)
{
    world_open();
    size_t failed = 0;
    printf("\n    %-72s %s", "input", "status");
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        const row *r = &table[i];
        const long blocks = clenc__live_blocks(), buffers = clenc__live_buffers();
        clenc__fail(CLENC_OK, "%s", ""); /* a fresh slate for the message */
        clenc_status st = r->run();
        int ok = st == r->expect;
        if (r->mentions && !strstr(clenc_last_error(), r->mentions))
            ok = 0;
        if (clenc__live_blocks() != blocks || clenc__live_buffers() != buffers)
            ok = 0; /* leaked */
        printf("\n    %-72.72s %s%s", r->what, clenc_status_name(st),
               ok ? "" : "  <-- WRONG");
        if (!ok)
            fprintf(stderr, "\n      expected %s mentioning '%s'; got: %s; "
                            "blocks %+ld, buffers %+ld",
                    clenc_status_name(r->expect),
                    r->mentions ? r->mentions : "", clenc_last_error(),
                    clenc__live_blocks() - blocks,
                    clenc__live_buffers() - buffers);
        failed += !ok;
    }
    CU_ASSERT_EQUAL(failed, 0);
    world_close();
}
