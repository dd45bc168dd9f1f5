/* test_arch.c — RoBERTa, XLM-RoBERTa, CamemBERT and DistilBERT folders saved by transformers, against its float64 outputs (token ids, hidden states, mean pooling), and what each family cannot run refused by name. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "formats/safetensors.h"
#include "testmodel.h"
#include "tj_helpers.h"

/* tests/fixtures/make_arch_fixtures.py writes the folders and, beside each,
 * NAME.expected.json (texts, ids, HF's position rows) and
 * NAME.expected.safetensors (hidden.I [len][32], mean.I [32]). */
#define FIXTURES "tests/fixtures/models"
#define H 32
#define MAX_LEN 40 /* RoBERTa family: max_position_embeddings 42 - 2 */
/* The bound on hidden states and pooled vectors, about 4.5 times
 * the largest difference measured (AMD EPYC, PoCL, both kernel families):
 * hidden states 0.95e-6 to 2.15e-6, mean-pooled 3.6e-7 to 6.3e-7. torch's
 * own float32 model is 0.84e-6 to 1.6e-6 from the same float64 reference
 * (NAME.expected.json "checks"). */
#define STATE_ATOL 1e-5

static const char *const arch_models[] = {
    "roberta",    "roberta_prefixed", "xlm-roberta",
    "camembert",  "distilbert",       "distilbert_learned"};
#define ARCH_COUNT (sizeof arch_models / sizeof arch_models[0])

typedef struct arch_fixture {
    const char *name;
    char dir[256];
    json_t *root, *texts;
    size_t count;
    clenc__safetensors st;
} arch_fixture;

static void arch_open(arch_fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    snprintf(f->dir, sizeof f->dir, FIXTURES "/%s", name);
    char path[300];
    snprintf(path, sizeof path, FIXTURES "/%s.expected.json", name);
    f->root = tj_load_json(path);
    f->texts = json_object_get(f->root, "texts");
    f->count = json_array_size(f->texts);
    CU_ASSERT_FATAL(f->count >= 8);
    snprintf(path, sizeof path, FIXTURES "/%s.expected.safetensors", name);
    ASSERT_STATUS(clenc__st_open(path, &f->st), CLENC_OK);
}

static void arch_close(arch_fixture *f)
{
    clenc__st_close(&f->st);
    json_decref(f->root);
}

static const char *arch_text(const arch_fixture *f, size_t i, int *literal_pad)
{
    json_t *t = json_array_get(f->texts, i);
    *literal_pad = json_is_true(json_object_get(t, "literal_pad"));
    return json_string_value(json_object_get(t, "text"));
}

/* The ids transformers fed the model for text i (at most MAX_LEN). */
static size_t arch_ids(const arch_fixture *f, size_t i, int32_t *ids)
{
    json_t *want = json_object_get(json_array_get(f->texts, i), "ids");
    const size_t n = json_array_size(want);
    CU_ASSERT_FATAL(n >= 2 && n <= MAX_LEN);
    for (size_t k = 0; k < n; k++)
        ids[k] = (int32_t)json_integer_value(json_array_get(want, k));
    return n;
}

/* Tensor WHAT.I of the expected file, `count` floats, into want. */
static void arch_expected(const arch_fixture *f, const char *what, size_t i,
                          size_t count, float *want)
{
    char name[32];
    snprintf(name, sizeof name, "%s.%zu", what, i);
    const clenc__tensor *t = clenc__st_find(&f->st, name);
    CU_ASSERT_FATAL(t != NULL && t->count == count);
    ASSERT_STATUS(clenc__st_to_f32(t, want), CLENC_OK);
}

static clenc_model *arch_load(clenc_context *ctx, const arch_fixture *f)
{
    clenc_model *model = NULL;
    clenc_status st = clenc_model_load(ctx, f->dir, &model);
    if (st != CLENC_OK)
        fprintf(stderr, "\n    %s: %s: %s\n", f->dir, clenc_status_name(st),
                clenc_last_error());
    CU_ASSERT_FATAL(st == CLENC_OK && model != NULL);
    return model;
}

static double max_abs_diff(const float *got, const float *want, size_t n)
{
    double worst = 0;
    for (size_t k = 0; k < n; k++)
        worst = test_worst(worst, fabs((double)got[k] - want[k]));
    return worst;
}

/* clenc_tokenize with the model's own limit (max_len 0) gives the ids
 * tokenizers gave with truncation at max_position_embeddings - 2 (RoBERTa
 * family) or max_position_embeddings (DistilBERT), and one token type. */
void test_arch_token_ids_match_transformers(void)
{
    clenc_context *ctx = test_context(NULL);
    for (size_t m = 0; m < ARCH_COUNT; m++) {
        arch_fixture f;
        arch_open(&f, arch_models[m]);
        clenc_model *model = arch_load(ctx, &f);
        clenc_model_info info;
        ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
        CU_ASSERT(info.has_tokenizer);
        CU_ASSERT_EQUAL(info.max_text_tokens, MAX_LEN);
        size_t mismatches = 0;
        for (size_t i = 0; i < f.count; i++) {
            int32_t want[MAX_LEN], ids[2 * MAX_LEN], types[2 * MAX_LEN];
            const size_t want_n = arch_ids(&f, i, want);
            int literal_pad;
            const char *text = arch_text(&f, i, &literal_pad);
            size_t n = 0;
            for (size_t k = 0; k < 2 * MAX_LEN; k++)
                ids[k] = types[k] = -7;
            ASSERT_STATUS(clenc_tokenize(model, text, NULL, 0, ids, types, &n),
                          CLENC_OK);
            int same = n == want_n;
            for (size_t k = 0; same && k < n; k++)
                same = ids[k] == want[k] && types[k] == 0;
            if (!same) {
                mismatches++;
                fprintf(stderr, "\n    %s text %zu: %zu tokens, %zu wanted",
                        f.name, i, n, want_n);
                for (size_t k = 0; k < n && k < 2 * MAX_LEN; k++)
                    fprintf(stderr, "%s%d", k ? " " : ": ", ids[k]);
            }
        }
        printf("\n    %-19s %zu texts, %zu with other ids", f.name, f.count,
               mismatches);
        CU_ASSERT_EQUAL(mismatches, 0);
        clenc_model_destroy(model);
        arch_close(&f);
    }
    clenc_context_destroy(ctx);
}

/* The texts (but the one holding the pad token as text) in one packed
 * batch, from transformers' ids: every token's hidden state, rows past a
 * text zero; then mean pooling, and clenc_embed_text end to end (a folder
 * without modules.json pools by the mean). */
void test_arch_hidden_states_match_transformers(void)
{
    clenc_context *ctx = test_context(NULL);
    for (size_t m = 0; m < ARCH_COUNT; m++) {
        arch_fixture f;
        arch_open(&f, arch_models[m]);
        clenc_model *model = arch_load(ctx, &f);
        clenc_model_info info;
        ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
        CU_ASSERT_EQUAL(info.hidden, H);
        CU_ASSERT_EQUAL(info.pooling, CLENC_POOL_MEAN);
        const size_t cap = f.count;
        int32_t *ids = calloc(cap * MAX_LEN, sizeof *ids);
        int32_t *lengths = calloc(cap, sizeof *lengths);
        size_t *index = calloc(cap, sizeof *index);
        const char **texts = calloc(cap, sizeof *texts);
        float *got = malloc(cap * MAX_LEN * H * sizeof *got);
        float *want = malloc(MAX_LEN * H * sizeof *want);
        CU_ASSERT_FATAL(ids && lengths && index && texts && got && want);
        size_t b = 0;
        for (size_t i = 0; i < f.count; i++) {
            int literal_pad;
            const char *text = arch_text(&f, i, &literal_pad);
            if (literal_pad)
                continue;
            lengths[b] = (int32_t)arch_ids(&f, i, ids + b * MAX_LEN);
            texts[b] = text;
            index[b++] = i;
        }
        CU_ASSERT_FATAL(b >= 8);
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, (unsigned)b, MAX_LEN, &s),
                      CLENC_OK);
        CU_ASSERT_FATAL(s != NULL);

        test_nan_floats(got, cap * MAX_LEN * H);
        ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, (unsigned)b, MAX_LEN,
                                   CLENC_POOL_NONE, got),
                      CLENC_OK);
        double d_hidden = 0, d_mean = 0, d_text = 0;
        size_t nonzero_padding = 0;
        for (size_t k = 0; k < b; k++) {
            const size_t n = (size_t)lengths[k];
            const float *row = got + k * MAX_LEN * H;
            arch_expected(&f, "hidden", index[k], n * H, want);
            d_hidden = test_worst(d_hidden, max_abs_diff(row, want, n * H));
            for (size_t e = n * H; e < MAX_LEN * H; e++)
                nonzero_padding += row[e] != 0.0f;
        }
        CU_ASSERT_EQUAL(nonzero_padding, 0);

        test_nan_floats(got, cap * MAX_LEN * H);
        ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, (unsigned)b, MAX_LEN,
                                   CLENC_POOL_MEAN, got),
                      CLENC_OK);
        for (size_t k = 0; k < b; k++) {
            arch_expected(&f, "mean", index[k], H, want);
            d_mean = test_worst(d_mean, max_abs_diff(got + k * H, want, H));
        }

        test_nan_floats(got, cap * MAX_LEN * H);
        ASSERT_STATUS(clenc_embed_text(s, texts, b, got), CLENC_OK);
        for (size_t k = 0; k < b; k++) {
            arch_expected(&f, "mean", index[k], H, want);
            d_text = test_worst(d_text, max_abs_diff(got + k * H, want, H));
        }
        printf("\n    %-19s %zu texts in one batch: max abs diff hidden %.3g, "
               "mean %.3g, embed_text %.3g",
               f.name, b, d_hidden, d_mean, d_text);
        CU_ASSERT(d_hidden <= STATE_ATOL);
        CU_ASSERT(d_mean <= STATE_ATOL);
        CU_ASSERT(d_text <= STATE_ATOL);
        clenc_session_destroy(s);
        free(ids);
        free(lengths);
        free(index);
        free(texts);
        free(got);
        free(want);
        clenc_model_destroy(model);
        arch_close(&f);
    }
    clenc_context_destroy(ctx);
}

/* A pad token written in the text ("<pad>", "[PAD]") is a token like any
 * other to the attention, but RoBERTa's position ids count only the tokens
 * that are not the pad id: transformers gives it row padding_idx and the
 * tokens after it keep counting from where they were (2 3 4 1 5 6 ...).
 * DistilBERT numbers every token. */
void test_arch_pad_token_in_text_takes_hf_position(void)
{
    clenc_context *ctx = test_context(NULL);
    for (size_t m = 0; m < ARCH_COUNT; m++) {
        arch_fixture f;
        arch_open(&f, arch_models[m]);
        clenc_model *model = arch_load(ctx, &f);
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, 1, MAX_LEN, &s), CLENC_OK);
        CU_ASSERT_FATAL(s != NULL);
        float got[MAX_LEN * H], want[MAX_LEN * H];
        size_t texts = 0;
        for (size_t i = 0; i < f.count; i++) {
            int literal_pad;
            arch_text(&f, i, &literal_pad);
            if (!literal_pad)
                continue;
            int32_t ids[MAX_LEN];
            const int32_t n = (int32_t)arch_ids(&f, i, ids);
            test_nan_floats(got, MAX_LEN * H);
            ASSERT_STATUS(clenc_encode(s, ids, NULL, &n, 1, (unsigned)n,
                                       CLENC_POOL_NONE, got),
                          CLENC_OK);
            arch_expected(&f, "hidden", i, (size_t)n * H, want);
            const double d = max_abs_diff(got, want, (size_t)n * H);
            printf("\n    %-19s text %zu (%d tokens, the pad id among them): "
                   "max abs diff %.3g",
                   f.name, i, n, d);
            CU_ASSERT(d <= STATE_ATOL);
            texts++;
        }
        CU_ASSERT_EQUAL(texts, 1);
        clenc_session_destroy(s);
        clenc_model_destroy(model);
        arch_close(&f);
    }
    clenc_context_destroy(ctx);
}

/* A copy of fixture `name`'s folder whose config.json has `key` set to the
 * string `value`, or to JSON true where value is "true" (malloc'd path). */
static char *folder_with(const char *name, const char *key, const char *value)
{
    static const char *const files[] = {"model.safetensors", "tokenizer.json"};
    char from[256];
    snprintf(from, sizeof from, FIXTURES "/%s", name);
    char *dir = test_tmpdir(name);
    for (size_t i = 0; i < 2; i++) {
        char *src = test_path(from, files[i]), *dst = test_path(dir, files[i]);
        size_t size = 0;
        unsigned char *bytes = test_read_file(src, &size);
        CU_ASSERT_FATAL(bytes != NULL && test_write_file(dst, bytes, size));
        free(bytes);
        free(src);
        free(dst);
    }
    char *src = test_path(from, "config.json");
    char *dst = test_path(dir, "config.json");
    json_error_t err;
    json_t *config = json_load_file(src, 0, &err);
    CU_ASSERT_FATAL(config != NULL);
    json_t *v = strcmp(value, "true") == 0 ? json_true() : json_string(value);
    CU_ASSERT_FATAL(json_object_set_new(config, key, v) == 0);
    CU_ASSERT_FATAL(json_dump_file(config, dst, JSON_INDENT(2)) == 0);
    json_decref(config);
    free(src);
    free(dst);
    return dir;
}

/* What a family's config.json can ask for and clenc does not run is
 * refused, the field and its value named; what old transformers wrote
 * that clenc does run (position_embedding_type "absolute", which
 * transformers 5 no longer writes) loads. */
void test_arch_unsupported_settings_named(void)
{
    static const struct {
        const char *model, *key, *value;
        clenc_status status;
        const char *needle;
    } cases[] = {
        {"roberta", "position_embedding_type", "relative_key",
         CLENC_ERR_UNSUPPORTED, "position_embedding_type 'relative_key'"},
        {"camembert", "position_embedding_type", "relative_key_query",
         CLENC_ERR_UNSUPPORTED, "position_embedding_type 'relative_key_query'"},
        {"xlm-roberta", "hidden_act", "swish", CLENC_ERR_UNSUPPORTED,
         "hidden_act 'swish'"},
        {"distilbert", "activation", "silu", CLENC_ERR_UNSUPPORTED,
         "activation 'silu'"},
        {"roberta", "is_decoder", "true", CLENC_ERR_UNSUPPORTED,
         "is_decoder 'true'"},
        {"roberta", "position_embedding_type", "absolute", CLENC_OK, NULL},
        {"distilbert_learned", "activation", "relu", CLENC_OK, NULL},
    };
    clenc_context *ctx = test_context(NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = folder_with(cases[i].model, cases[i].key, cases[i].value);
        if (cases[i].needle) {
            test_expect_load_error(dir, cases[i].status, cases[i].needle,
                                   "config.json");
        } else {
            clenc_model *model = NULL;
            ASSERT_STATUS(clenc_model_load(ctx, dir, &model), CLENC_OK);
            CU_ASSERT_PTR_NOT_NULL(model);
            clenc_model_destroy(model);
        }
        free(dir);
    }
    clenc_context_destroy(ctx);
}
