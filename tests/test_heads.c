/* test_heads.c — rerankers, classifiers and BERT's pooler: folders saved by transformers against its float64 ids, logits, scores, label names and pooler outputs, the activation each file layout names, and what the head calls refuse. */
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
 * NAME.expected.json: "pairs" (query, passage) or "texts", each with the
 * ids and type_ids tokenizers gave, and "logits" and "scores" [num_labels]
 * (float64), or "pooler_output" [32]. */
#define FIXTURES "tests/fixtures/models"
#define H 32
#define MAX_LEN 40 /* BERT and DistilBERT: max_position_embeddings 40; the
                      RoBERTa family: 42 - 2 */
#define MAX_LABELS 3
/* Scores, logits and pooled vectors, about 4 times the largest difference
 * measured (AMD EPYC: PoCL with both kernel families and CLBlast, Rusticl
 * llvmpipe): logits 1.4e-7 to 9.4e-7, scores 5e-8 to 2.4e-7, pooler
 * outputs 2.2e-7 to 3.1e-7; inside the 1e-5. torch's own float32
 * model is 2.5e-7 to 8.9e-7 from the same float64 logits, 2.1e-7 from the
 * pooler outputs (NAME.expected.json "checks"). */
#define SCORE_ATOL 4e-6
/* A session's batch below the number of inputs: several batches, grouped
 * by length, each row still has to land at its input's index. */
#define HEAD_BATCH 4

static const char *const ST_SIGMOID = "torch.nn.modules.activation.Sigmoid";
static const char *const ST_IDENTITY = "torch.nn.modules.linear.Identity";

typedef struct head_case {
    const char *name;
    clenc_head_kind head;
    unsigned num_labels;
    clenc_score_activation activation;
    int has_pooler; /* BERT's head holds the pooler; the others none */
    int pairs;
    const char *labels[MAX_LABELS];
} head_case;

/* What each folder's config.json says (the script records the same in
 * NAME.expected.json; test_heads_info_matches_config checks both). */
static const head_case head_cases[] = {
    /* sentence-transformers' section names Sigmoid */
    {"bert_rerank", CLENC_HEAD_BERT, 1, CLENC_SCORE_SIGMOID, 1, 1,
     {"LABEL_0"}},
    /* id2label names three labels; several labels: softmax */
    {"roberta_classify", CLENC_HEAD_ROBERTA, 3, CLENC_SCORE_SOFTMAX, 0, 0,
     {"negative", "neutral", "positive"}},
    /* one label, no section: sigmoid */
    {"xlm-roberta_rerank", CLENC_HEAD_ROBERTA, 1, CLENC_SCORE_SIGMOID, 0, 1,
     {"LABEL_0"}},
    /* multi_label_classification: a sigmoid per label; transformers writes
     * no id2label for its default of two labels */
    {"distilbert_classify", CLENC_HEAD_DISTILBERT, 2, CLENC_SCORE_SIGMOID, 0,
     0, {"LABEL_0", "LABEL_1"}},
};
#define HEAD_COUNT (sizeof head_cases / sizeof head_cases[0])

typedef struct head_fixture {
    const char *name;
    char dir[256];
    json_t *root, *items; /* "pairs" or "texts" */
    size_t count;
    int pairs;
} head_fixture;

static void head_open(head_fixture *f, const char *name)
{
    memset(f, 0, sizeof *f);
    f->name = name;
    snprintf(f->dir, sizeof f->dir, FIXTURES "/%s", name);
    char path[300];
    snprintf(path, sizeof path, FIXTURES "/%s.expected.json", name);
    f->root = tj_load_json(path);
    f->items = json_object_get(f->root, "pairs");
    f->pairs = f->items != NULL;
    if (!f->pairs)
        f->items = json_object_get(f->root, "texts");
    f->count = json_array_size(f->items);
    CU_ASSERT_FATAL(f->count >= 6);
}

static void head_close(head_fixture *f) { json_decref(f->root); }

static const char *item_string(const head_fixture *f, size_t i,
                               const char *key)
{
    const char *s =
        json_string_value(json_object_get(json_array_get(f->items, i), key));
    CU_ASSERT_FATAL(s != NULL);
    return s;
}

/* Integer array `key` of item i (ids, type_ids): its length. */
static size_t item_ints(const head_fixture *f, size_t i, const char *key,
                        int32_t *out)
{
    json_t *a = json_object_get(json_array_get(f->items, i), key);
    const size_t n = json_array_size(a);
    CU_ASSERT_FATAL(n >= 2 && n <= MAX_LEN);
    for (size_t k = 0; k < n; k++)
        out[k] = (int32_t)json_integer_value(json_array_get(a, k));
    return n;
}

/* Number array `key` of item i (logits, scores, pooler_output), exactly
 * `count` long. */
static void item_numbers(const head_fixture *f, size_t i, const char *key,
                         size_t count, double *out)
{
    json_t *a = json_object_get(json_array_get(f->items, i), key);
    CU_ASSERT_FATAL(json_array_size(a) == count);
    for (size_t k = 0; k < count; k++) {
        json_t *v = json_array_get(a, k);
        CU_ASSERT_FATAL(json_is_number(v));
        out[k] = json_number_value(v);
    }
}

static clenc_model *head_load(clenc_context *ctx, const char *dir)
{
    clenc_model *model = NULL;
    clenc_status st = clenc_model_load(ctx, dir, &model);
    if (st != CLENC_OK)
        fprintf(stderr, "\n    %s: %s: %s\n", dir, clenc_status_name(st),
                clenc_last_error());
    CU_ASSERT_FATAL(st == CLENC_OK && model != NULL);
    return model;
}

/* The fixture's first and second strings of each item, for the calls. */
static void item_texts(const head_fixture *f, const char **first,
                       const char **second)
{
    for (size_t i = 0; i < f->count; i++) {
        first[i] = item_string(f, i, f->pairs ? "query" : "text");
        if (second)
            second[i] = f->pairs ? item_string(f, i, "passage") : NULL;
    }
}

/* clenc_score_pairs for a reranker's pairs, clenc_classify for texts. */
static clenc_status head_run(clenc_session *s, const head_fixture *f,
                             const char *const *first,
                             const char *const *second, size_t n,
                             unsigned flags, float *scores)
{
    return f->pairs ? clenc_score_pairs(s, first, second, n, flags, scores)
                    : clenc_classify(s, first, n, flags, scores);
}

/* ---------------------------------------------------------- model info */

/* clenc_model_info_get and clenc_model_label give what config.json says:
 * the head's class, id2label's count and names ("LABEL_<i>" where it names
 * none), the activation, and whether BERT's pooler was loaded. */
void test_heads_info_matches_config(void)
{
    clenc_context *ctx = test_context(NULL);
    for (size_t m = 0; m < HEAD_COUNT; m++) {
        const head_case *c = &head_cases[m];
        head_fixture f;
        head_open(&f, c->name);
        CU_ASSERT_EQUAL(f.pairs, c->pairs);
        /* The script's record agrees with the table above. */
        json_t *labels = json_object_get(f.root, "labels");
        CU_ASSERT_EQUAL(json_array_size(labels), c->num_labels);
        for (unsigned i = 0; i < c->num_labels; i++)
            CU_ASSERT_STRING_EQUAL(
                json_string_value(json_array_get(labels, i)), c->labels[i]);
        clenc_model *model = head_load(ctx, f.dir);
        clenc_model_info info;
        memset(&info, 0xA5, sizeof info);
        ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
        CU_ASSERT_EQUAL(info.hidden, H);
        CU_ASSERT_EQUAL(info.max_text_tokens, MAX_LEN);
        CU_ASSERT_EQUAL(info.head, c->head);
        CU_ASSERT_EQUAL(info.num_labels, c->num_labels);
        CU_ASSERT_EQUAL(info.score_activation, c->activation);
        CU_ASSERT_EQUAL(info.has_pooler, c->has_pooler);
        for (unsigned i = 0; i < c->num_labels; i++) {
            const char *name = clenc_model_label(model, i);
            CU_ASSERT_PTR_NOT_NULL(name);
            if (name && strcmp(name, c->labels[i]) != 0) {
                fprintf(stderr, "\n    %s label %u: '%s', want '%s'",
                        c->name, i, name, c->labels[i]);
                CU_FAIL("label name");
            }
        }
        CU_ASSERT_PTR_NULL(clenc_model_label(model, c->num_labels));
        CU_ASSERT_PTR_NULL(clenc_model_label(model, 1000000u));
        printf("\n    %-19s head %d, %u labels, activation %d, pooler %d",
               c->name, (int)info.head, info.num_labels,
               (int)info.score_activation, info.has_pooler);
        clenc_model_destroy(model);
        head_close(&f);
    }

    /* An embedder: BertModel with its pooler, no head. */
    clenc_model *model = head_load(ctx, FIXTURES "/bert_pooler");
    clenc_model_info info;
    memset(&info, 0xA5, sizeof info);
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.head, CLENC_HEAD_NONE);
    CU_ASSERT_EQUAL(info.num_labels, 0);
    CU_ASSERT_EQUAL(info.has_pooler, 1);
    CU_ASSERT_PTR_NULL(clenc_model_label(model, 0));
    clenc_model_destroy(model);
    /* DistilBERT has no pooler. */
    model = head_load(ctx, FIXTURES "/distilbert");
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.head, CLENC_HEAD_NONE);
    CU_ASSERT_EQUAL(info.has_pooler, 0);
    clenc_model_destroy(model);
    CU_ASSERT_PTR_NULL(clenc_model_label(NULL, 0));
    clenc_context_destroy(ctx);
}

/* ---------------------------------------------------------- tokenizing */

/* clenc_tokenize(model, query, passage) gives the ids and token types
 * tokenizers gave for the pair (BERT: 0 then 1; the RoBERTa family: all
 * 0, "</s></s>" between), truncated longest first at the model's limit,
 * an empty passage still a pair; texts alone likewise. */
void test_heads_pair_and_text_ids_match_transformers(void)
{
    static const char *const names[] = {"bert_rerank", "roberta_classify",
                                        "xlm-roberta_rerank",
                                        "distilbert_classify", "bert_pooler"};
    clenc_context *ctx = test_context(NULL);
    for (size_t m = 0; m < sizeof names / sizeof names[0]; m++) {
        head_fixture f;
        head_open(&f, names[m]);
        clenc_model *model = head_load(ctx, f.dir);
        size_t mismatches = 0, truncated = 0, type1 = 0;
        for (size_t i = 0; i < f.count; i++) {
            int32_t want[MAX_LEN], want_types[MAX_LEN];
            int32_t ids[2 * MAX_LEN], types[2 * MAX_LEN];
            const size_t want_n = item_ints(&f, i, "ids", want);
            CU_ASSERT_EQUAL(item_ints(&f, i, "type_ids", want_types), want_n);
            for (size_t k = 0; k < 2 * MAX_LEN; k++)
                ids[k] = types[k] = -7;
            size_t n = 0;
            const char *first = item_string(&f, i, f.pairs ? "query" : "text");
            const char *second = f.pairs ? item_string(&f, i, "passage") : NULL;
            ASSERT_STATUS(
                clenc_tokenize(model, first, second, 0, ids, types, &n),
                CLENC_OK);
            int same = n == want_n;
            for (size_t k = 0; same && k < n; k++)
                same = ids[k] == want[k] && types[k] == want_types[k];
            truncated += want_n == MAX_LEN;
            for (size_t k = 0; k < want_n; k++)
                type1 += want_types[k] == 1;
            if (!same) {
                mismatches++;
                fprintf(stderr, "\n    %s item %zu: %zu tokens, %zu wanted",
                        f.name, i, n, want_n);
                for (size_t k = 0; k < n && k < 2 * MAX_LEN; k++)
                    fprintf(stderr, "%s%d/%d", k ? " " : ": ", ids[k],
                            types[k]);
            }
        }
        printf("\n    %-19s %zu %s, %zu at %d tokens, %zu with other ids",
               f.name, f.count, f.pairs ? "pairs" : "texts", truncated,
               MAX_LEN, mismatches);
        CU_ASSERT_EQUAL(mismatches, 0);
        CU_ASSERT(truncated >= 1);
        /* BERT's second segment is type 1; no other family has types. */
        CU_ASSERT_EQUAL(type1 > 0, strcmp(names[m], "bert_rerank") == 0);
        clenc_model_destroy(model);
        head_close(&f);
    }
    clenc_context_destroy(ctx);
}

/* ------------------------------------------------------------- scoring */

/* clenc_score_pairs (rerankers) and clenc_classify (classifiers): every
 * input at once through sessions of HEAD_BATCH, against transformers'
 * float64 scores (logits through the model's activation) and, with
 * CLENC_SCORES_RAW, its logits. The fixture's scores differ from its
 * logits by 0.045 at least, so a missing or wrong activation fails. */
void test_heads_scores_and_logits_match_transformers(void)
{
    clenc_context *ctx = test_context(NULL);
    for (size_t m = 0; m < HEAD_COUNT; m++) {
        const head_case *c = &head_cases[m];
        head_fixture f;
        head_open(&f, c->name);
        clenc_model *model = head_load(ctx, f.dir);
        clenc_session *s = NULL;
        ASSERT_STATUS(clenc_session_create(model, HEAD_BATCH, MAX_LEN, &s),
                      CLENC_OK);
        CU_ASSERT_FATAL(s != NULL);
        CU_ASSERT_FATAL(f.count > HEAD_BATCH);
        const size_t L = c->num_labels;
        const char **first = calloc(f.count, sizeof *first);
        const char **second = calloc(f.count, sizeof *second);
        float *got = malloc(f.count * L * sizeof *got);
        CU_ASSERT_FATAL(first && second && got);
        item_texts(&f, first, second);
        double worst[2] = {0, 0};
        static const char *const keys[2] = {"scores", "logits"};
        for (int raw = 0; raw < 2; raw++) {
            test_nan_floats(got, f.count * L);
            ASSERT_STATUS(head_run(s, &f, first, second, f.count,
                                   raw ? CLENC_SCORES_RAW : 0, got),
                          CLENC_OK);
            for (size_t i = 0; i < f.count; i++) {
                double want[MAX_LABELS];
                item_numbers(&f, i, keys[raw], L, want);
                for (size_t k = 0; k < L; k++)
                    worst[raw] = test_worst(
                        worst[raw], fabs((double)got[i * L + k] - want[k]));
            }
        }
        printf("\n    %-19s %zu %s, %zu label%s: max abs diff scores %.3g, "
               "logits %.3g",
               c->name, f.count, f.pairs ? "pairs" : "texts", L,
               L > 1 ? "s" : "", worst[0], worst[1]);
        CU_ASSERT(worst[0] <= SCORE_ATOL);
        CU_ASSERT(worst[1] <= SCORE_ATOL);

        /* One input alone gives its row of the batch. */
        const size_t last = f.count - 1;
        test_nan_floats(got, L);
        ASSERT_STATUS(head_run(s, &f, first + last, second + last, 1, 0, got),
                      CLENC_OK);
        double want[MAX_LABELS];
        item_numbers(&f, last, "scores", L, want);
        for (size_t k = 0; k < L; k++)
            CU_ASSERT(fabs((double)got[k] - want[k]) <= SCORE_ATOL);

        clenc_session_destroy(s);
        free(first);
        free(second);
        free(got);
        clenc_model_destroy(model);
        head_close(&f);
    }
    clenc_context_destroy(ctx);
}

/* ------------------------------------------------------------- pooler */

/* CLENC_POOL_POOLER: BERT's pooler (dense + tanh on the first token) as a
 * pooling, through clenc_embed_text (the session's pooling), with
 * normalisation, and through clenc_encode from transformers' ids; a model
 * without a pooler refuses it by name. */
void test_heads_pooler_output_matches_transformers(void)
{
    clenc_context *ctx = test_context(NULL);
    head_fixture f;
    head_open(&f, "bert_pooler");
    clenc_model *model = head_load(ctx, f.dir);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, (unsigned)f.count, MAX_LEN, &s),
                  CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    const char **texts = calloc(f.count, sizeof *texts);
    double *want = malloc(f.count * H * sizeof *want);
    float *got = malloc(f.count * H * sizeof *got);
    int32_t *ids = calloc(f.count * MAX_LEN, sizeof *ids);
    int32_t *lengths = calloc(f.count, sizeof *lengths);
    CU_ASSERT_FATAL(texts && want && got && ids && lengths);
    item_texts(&f, texts, NULL);
    for (size_t i = 0; i < f.count; i++) {
        item_numbers(&f, i, "pooler_output", H, want + i * H);
        lengths[i] = (int32_t)item_ints(&f, i, "ids", ids + i * MAX_LEN);
    }

    double d_text = 0, d_norm = 0, d_encode = 0, norm_error = 0;
    ASSERT_STATUS(clenc_session_set_pooling(s, CLENC_POOL_POOLER), CLENC_OK);
    test_nan_floats(got, f.count * H);
    ASSERT_STATUS(clenc_embed_text(s, texts, f.count, got), CLENC_OK);
    for (size_t k = 0; k < f.count * H; k++)
        d_text = test_worst(d_text, fabs((double)got[k] - want[k]));

    ASSERT_STATUS(clenc_session_set_pooling(
                      s, (clenc_pooling)(CLENC_POOL_POOLER |
                                         CLENC_POOL_NORMALIZE)),
                  CLENC_OK);
    test_nan_floats(got, f.count * H);
    ASSERT_STATUS(clenc_embed_text(s, texts, f.count, got), CLENC_OK);
    for (size_t i = 0; i < f.count; i++) {
        double sq = 0, got_sq = 0;
        for (size_t k = 0; k < H; k++) {
            sq += want[i * H + k] * want[i * H + k];
            got_sq += (double)got[i * H + k] * got[i * H + k];
        }
        norm_error = test_worst(norm_error, fabs(sqrt(got_sq) - 1.0));
        for (size_t k = 0; k < H; k++)
            d_norm = test_worst(d_norm, fabs((double)got[i * H + k] -
                                             want[i * H + k] / sqrt(sq)));
    }

    test_nan_floats(got, f.count * H);
    ASSERT_STATUS(clenc_encode(s, ids, NULL, lengths, (unsigned)f.count,
                               MAX_LEN, CLENC_POOL_POOLER, got),
                  CLENC_OK);
    for (size_t k = 0; k < f.count * H; k++)
        d_encode = test_worst(d_encode, fabs((double)got[k] - want[k]));
    printf("\n    bert_pooler %zu texts: max abs diff embed_text %.3g, "
           "normalised %.3g (norm off by %.3g), encode %.3g",
           f.count, d_text, d_norm, norm_error, d_encode);
    CU_ASSERT(d_text <= SCORE_ATOL);
    CU_ASSERT(d_norm <= SCORE_ATOL);
    CU_ASSERT(norm_error <= SCORE_ATOL);
    CU_ASSERT(d_encode <= SCORE_ATOL);
    clenc_session_destroy(s);
    clenc_model_destroy(model);

    /* XLM-R's classification head is no pooler, and RoBERTa's checkpoint
     * for it has none: refused at the latest when embedding. */
    model = head_load(ctx, FIXTURES "/xlm-roberta_rerank");
    ASSERT_STATUS(clenc_session_create(model, 2, MAX_LEN, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    clenc_status st = clenc_session_set_pooling(s, CLENC_POOL_POOLER);
    if (st == CLENC_OK) {
        test_nan_floats(got, H);
        st = clenc_embed_text(s, texts, 1, got);
    }
    CU_ASSERT_EQUAL(st, CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("xlm-roberta_rerank");
    ASSERT_ERROR_MENTIONS("pooler");
    const int32_t xlmr_ids[3] = {0, 5, 2}, xlmr_len = 3;
    test_nan_floats(got, H);
    ASSERT_STATUS(clenc_encode(s, xlmr_ids, NULL, &xlmr_len, 1, 3,
                               CLENC_POOL_POOLER, got),
                  CLENC_ERR_UNSUPPORTED);
    clenc_session_destroy(s);
    clenc_model_destroy(model);

    free(texts);
    free(want);
    free(got);
    free(ids);
    free(lengths);
    head_close(&f);
    clenc_context_destroy(ctx);
}

/* ------------------------------------------------------ folder variants */

typedef struct config_edit {
    const char *key;
    const char *json; /* the new value as JSON; NULL deletes the key */
} config_edit;

typedef struct extra_file {
    const char *name, *text;
} extra_file;

static void copy_file(const char *from, const char *to, const char *name)
{
    char *src = test_path(from, name), *dst = test_path(to, name);
    size_t size = 0;
    unsigned char *bytes = test_read_file(src, &size);
    CU_ASSERT_FATAL(bytes != NULL && test_write_file(dst, bytes, size));
    free(bytes);
    free(src);
    free(dst);
}

/* from/model.safetensors rewritten into dir without tensor `drop`, the
 * others' bytes as they were, packed again (a gap is malformed). */
static void write_without(const char *from, const char *dir, const char *drop)
{
    char *source = test_path(from, "model.safetensors");
    clenc__safetensors st;
    CU_ASSERT_FATAL(clenc__st_open(source, &st) == CLENC_OK);
    CU_ASSERT_FATAL(clenc__st_find(&st, drop) != NULL);
    json_t *header = json_object();
    size_t total = 0, at = 0;
    for (size_t i = 0; i < st.count; i++)
        total += st.tensors[i].size;
    unsigned char *data = malloc(total ? total : 1);
    CU_ASSERT_FATAL(header && data);
    for (size_t i = 0; i < st.count; i++) {
        const clenc__tensor *t = &st.tensors[i];
        if (strcmp(t->name, drop) == 0)
            continue;
        CU_ASSERT_FATAL(t->dtype == CLENC__F32);
        memcpy(data + at, t->data, t->size);
        json_t *shape = json_array();
        for (unsigned d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
        json_object_set_new(header, t->name,
                            json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32",
                                      "shape", shape, "data_offsets",
                                      (json_int_t)at,
                                      (json_int_t)(at + t->size)));
        at += t->size;
    }
    char *text = json_dumps(header, JSON_COMPACT);
    CU_ASSERT_FATAL(text != NULL);
    const size_t len = strlen(text);
    unsigned char *bytes = malloc(8 + len + at);
    CU_ASSERT_FATAL(bytes != NULL);
    for (int b = 0; b < 8; b++)
        bytes[b] = (unsigned char)((unsigned long long)len >> (8 * b));
    memcpy(bytes + 8, text, len);
    memcpy(bytes + 8 + len, data, at);
    char *file = test_path(dir, "model.safetensors");
    CU_ASSERT_FATAL(test_write_file(file, bytes, 8 + len + at));
    free(file);
    free(bytes);
    free(text);
    free(data);
    json_decref(header);
    clenc__st_close(&st);
    free(source);
}

/* A copy of fixture `name`'s folder with config.json edited, tensor `drop`
 * (may be NULL) left out of the checkpoint and `extras` written beside
 * (malloc'd path). */
static char *head_variant(const char *name, const config_edit *edits,
                          size_t n_edits, const char *drop,
                          const extra_file *extras, size_t n_extras)
{
    char from[256];
    snprintf(from, sizeof from, FIXTURES "/%s", name);
    char *dir = test_tmpdir(name);
    copy_file(from, dir, "tokenizer.json");
    if (drop)
        write_without(from, dir, drop);
    else
        copy_file(from, dir, "model.safetensors");
    char *src = test_path(from, "config.json");
    char *dst = test_path(dir, "config.json");
    json_error_t err;
    json_t *config = json_load_file(src, 0, &err);
    CU_ASSERT_FATAL(config != NULL);
    for (size_t i = 0; i < n_edits; i++) {
        if (!edits[i].json) {
            json_object_del(config, edits[i].key);
            continue;
        }
        json_t *v = json_loads(edits[i].json, JSON_DECODE_ANY, &err);
        CU_ASSERT_FATAL(v != NULL);
        CU_ASSERT_FATAL(json_object_set_new(config, edits[i].key, v) == 0);
    }
    CU_ASSERT_FATAL(json_dump_file(config, dst, JSON_INDENT(2)) == 0);
    json_decref(config);
    for (size_t i = 0; i < n_extras; i++) {
        char *path = test_path(dir, extras[i].name);
        CU_ASSERT_FATAL(
            test_write_file(path, extras[i].text, strlen(extras[i].text)));
        free(path);
    }
    free(src);
    free(dst);
    return dir;
}

/* The first three items of fixture f scored by the model in dir: against
 * the fixture's "scores", "logits", or "sigmoid" (of its logits, here in
 * double). Returns the worst difference. */
static double score_variant(clenc_context *ctx, const char *dir,
                            const head_fixture *f, unsigned labels,
                            const char *compare)
{
    const int sigmoid = strcmp(compare, "sigmoid") == 0;
    const char *key = sigmoid ? "logits" : compare;
    clenc_model *model = head_load(ctx, dir);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, 3, MAX_LEN, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    const char *first[3], *second[3];
    float got[3 * MAX_LABELS];
    for (size_t i = 0; i < 3; i++) {
        first[i] = item_string(f, i, f->pairs ? "query" : "text");
        second[i] = f->pairs ? item_string(f, i, "passage") : NULL;
    }
    test_nan_floats(got, 3 * MAX_LABELS);
    ASSERT_STATUS(head_run(s, f, first, second, 3, 0, got), CLENC_OK);
    double worst = 0;
    for (size_t i = 0; i < 3; i++) {
        double want[MAX_LABELS];
        item_numbers(f, i, key, labels, want);
        for (size_t k = 0; k < labels; k++) {
            const double w = sigmoid ? 1.0 / (1.0 + exp(-want[k])) : want[k];
            worst = test_worst(worst, fabs((double)got[i * labels + k] - w));
        }
    }
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    return worst;
}

/* The activation as the files name it: sentence-transformers 4 and 5's
 * config.json section and older versions' sbert_ce_default_activation_function
 * (a reranker saved with Identity, as fine-tuned cross-encoders are, scores
 * with its logits), else problem_type and the label count; and the label
 * names where id2label is absent but num_labels is given (older files). */
void test_heads_activation_follows_the_files(void)
{
    char st_identity[160], st_sigmoid[160], legacy_identity[160];
    snprintf(st_identity, sizeof st_identity,
             "{\"activation_fn\": \"%s\", \"version\": \"5.1.1\"}", ST_IDENTITY);
    snprintf(st_sigmoid, sizeof st_sigmoid,
             "{\"activation_fn\": \"%s\", \"version\": \"5.1.1\"}", ST_SIGMOID);
    snprintf(legacy_identity, sizeof legacy_identity, "\"%s\"", ST_IDENTITY);
    const config_edit bert_identity[] = {{"sentence_transformers", st_identity}};
    const config_edit bert_plain[] = {{"sentence_transformers", NULL}};
    const config_edit bert_legacy[] = {
        {"sentence_transformers", NULL},
        {"sbert_ce_default_activation_function", legacy_identity}};
    const config_edit xlmr_regression[] = {{"problem_type", "\"regression\""}};
    const config_edit xlmr_section_wins[] = {
        {"problem_type", "\"regression\""},
        {"sentence_transformers", st_sigmoid}};
    const config_edit roberta_regression[] = {{"problem_type", "\"regression\""}};
    const config_edit roberta_multi[] = {
        {"problem_type", "\"multi_label_classification\""}};
    const config_edit roberta_single[] = {
        {"problem_type", "\"single_label_classification\""}};
    const config_edit roberta_unnamed[] = {
        {"id2label", NULL}, {"label2id", NULL}, {"num_labels", "3"}};
    static const char *const unnamed[] = {"LABEL_0", "LABEL_1", "LABEL_2"};
    const struct {
        const char *model;
        const config_edit *edits;
        size_t n;
        clenc_score_activation activation;
        const char *compare; /* see score_variant */
        const char *const *labels;
    } cases[] = {
        {"bert_rerank", bert_identity, 1, CLENC_SCORE_IDENTITY, "logits", NULL},
        {"bert_rerank", bert_plain, 1, CLENC_SCORE_SIGMOID, "scores", NULL},
        {"bert_rerank", bert_legacy, 2, CLENC_SCORE_IDENTITY, "logits", NULL},
        {"xlm-roberta_rerank", xlmr_regression, 1, CLENC_SCORE_IDENTITY,
         "logits", NULL},
        /* CrossEncoder's section wins over problem_type */
        {"xlm-roberta_rerank", xlmr_section_wins, 2, CLENC_SCORE_SIGMOID,
         "scores", NULL},
        {"roberta_classify", roberta_regression, 1, CLENC_SCORE_IDENTITY,
         "logits", NULL},
        {"roberta_classify", roberta_multi, 1, CLENC_SCORE_SIGMOID, "sigmoid",
         NULL},
        {"roberta_classify", roberta_single, 1, CLENC_SCORE_SOFTMAX, "scores",
         NULL},
        {"roberta_classify", roberta_unnamed, 3, CLENC_SCORE_SOFTMAX, "scores",
         unnamed},
    };
    clenc_context *ctx = test_context(NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        head_fixture f;
        head_open(&f, cases[i].model);
        char *dir = head_variant(cases[i].model, cases[i].edits, cases[i].n,
                                 NULL, NULL, 0);
        clenc_model *model = head_load(ctx, dir);
        clenc_model_info info;
        ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
        if (info.score_activation != cases[i].activation)
            fprintf(stderr, "\n    case %zu (%s, %s): activation %d, want %d",
                    i, cases[i].model, cases[i].edits[0].key,
                    (int)info.score_activation, (int)cases[i].activation);
        CU_ASSERT_EQUAL(info.score_activation, cases[i].activation);
        const unsigned labels = info.num_labels;
        CU_ASSERT_FATAL(labels >= 1 && labels <= MAX_LABELS);
        for (unsigned k = 0; cases[i].labels && k < labels; k++) {
            const char *name = clenc_model_label(model, k);
            CU_ASSERT(name && strcmp(name, cases[i].labels[k]) == 0);
        }
        clenc_model_destroy(model);
        {
            const double d =
                score_variant(ctx, dir, &f, labels, cases[i].compare);
            printf("\n    %s, %s edited: activation %d, max abs diff vs %s "
                   "%.3g",
                   cases[i].model, cases[i].edits[0].key,
                   (int)info.score_activation, cases[i].compare, d);
            CU_ASSERT(d <= SCORE_ATOL);
        }
        free(dir);
        head_close(&f);
    }
    clenc_context_destroy(ctx);
}

/* sentence-transformers 6 saves a CrossEncoder's activation in
 * config_sentence_transformers.json, beside a modules.json of one
 * Transformer module, and config.json without the section: these files as
 * CrossEncoder("bert_rerank").save() writes them (6.2.0), Identity named. */
void test_heads_sentence_transformers_6_files_name_the_activation(void)
{
    char st_config[512];
    snprintf(st_config, sizeof st_config,
             "{\n  \"__version__\": {\n    \"pytorch\": \"2.15.0+cu132\",\n"
             "    \"sentence_transformers\": \"6.2.0\",\n"
             "    \"transformers\": \"5.24.0\"\n  },\n"
             "  \"activation_fn\": \"%s\",\n"
             "  \"default_prompt_name\": null,\n"
             "  \"model_type\": \"CrossEncoder\",\n  \"prompts\": {}\n}",
             ST_IDENTITY);
    const extra_file files[] = {
        {"config_sentence_transformers.json", st_config},
        {"modules.json",
         "[\n  {\n    \"idx\": 0,\n    \"name\": \"0\",\n    \"path\": \"\",\n"
         "    \"type\": \"sentence_transformers.base.modules.transformer."
         "Transformer\"\n  }\n]"},
        {"sentence_bert_config.json",
         "{\n    \"transformer_task\": \"sequence-classification\",\n"
         "    \"modality_config\": {\n        \"text\": {\n"
         "            \"method\": \"forward\",\n"
         "            \"method_output_name\": \"logits\"\n        }\n    },\n"
         "    \"module_output_name\": \"scores\"\n}"},
    };
    const config_edit no_section[] = {{"sentence_transformers", NULL}};
    clenc_context *ctx = test_context(NULL);
    head_fixture f;
    head_open(&f, "bert_rerank");
    char *dir = head_variant("bert_rerank", no_section, 1, NULL, files, 3);
    clenc_model *model = head_load(ctx, dir);
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    CU_ASSERT_EQUAL(info.head, CLENC_HEAD_BERT);
    CU_ASSERT_EQUAL(info.score_activation, CLENC_SCORE_IDENTITY);
    clenc_model_destroy(model);
    const double d = score_variant(ctx, dir, &f, 1, "logits");
    printf("\n    bert_rerank as sentence-transformers 6 saves it, Identity: "
           "activation %d, max abs diff vs logits %.3g",
           (int)info.score_activation, d);
    CU_ASSERT(d <= SCORE_ATOL);
    free(dir);
    head_close(&f);
    clenc_context_destroy(ctx);
}

/* ------------------------------------------------------------ refusals */

/* What the head calls refuse, each named, and nothing written: a model
 * without a head (UNSUPPORTED, the model named), NULL arguments and
 * unknown flags (INVALID_ARG); a checkpoint missing a head tensor, or one
 * of another shape than id2label says (MODEL_FORMAT, the tensor named);
 * an activation clenc does not run (UNSUPPORTED, its name). */
void test_heads_refusals_are_named(void)
{
    clenc_context *ctx = test_context(NULL);
    const char *q[2] = {"capital of France", "Hello"};
    const char *p[2] = {"Paris is in France.", ""};
    const char *holes[2] = {"capital of France", NULL};
    float scores[2 * MAX_LABELS];

    /* An embedder has no head. */
    clenc_model *model = head_load(ctx, FIXTURES "/bert_pooler");
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, 2, MAX_LEN, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    test_nan_floats(scores, 2 * MAX_LABELS);
    ASSERT_STATUS(clenc_score_pairs(s, q, p, 2, 0, scores),
                  CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("bert_pooler");
    ASSERT_STATUS(clenc_classify(s, q, 2, CLENC_SCORES_RAW, scores),
                  CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("bert_pooler");
    for (size_t k = 0; k < 2 * MAX_LABELS; k++)
        CU_ASSERT(isnan(scores[k]));
    clenc_session_destroy(s);
    clenc_model_destroy(model);

    /* NULL arguments and unknown flags, on a reranker. */
    model = head_load(ctx, FIXTURES "/bert_rerank");
    ASSERT_STATUS(clenc_session_create(model, 2, MAX_LEN, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    test_nan_floats(scores, 2 * MAX_LABELS);
    ASSERT_STATUS(clenc_score_pairs(NULL, q, p, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc_score_pairs(s, NULL, p, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("queries");
    ASSERT_STATUS(clenc_score_pairs(s, q, NULL, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("passages");
    ASSERT_STATUS(clenc_score_pairs(s, q, p, 2, 0, NULL),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("scores");
    ASSERT_STATUS(clenc_score_pairs(s, holes, p, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("queries[1]");
    ASSERT_STATUS(clenc_score_pairs(s, q, holes, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("passages[1]");
    ASSERT_STATUS(clenc_score_pairs(s, q, p, 2, 0x80u, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("flags");
    ASSERT_STATUS(clenc_classify(NULL, q, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc_classify(s, NULL, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("texts");
    ASSERT_STATUS(clenc_classify(s, q, 2, 0, NULL), CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc_classify(s, holes, 2, 0, scores),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("texts[1]");
    for (size_t k = 0; k < 2 * MAX_LABELS; k++)
        CU_ASSERT(isnan(scores[k]));
    /* Nothing to score is no error, whatever the pointers. */
    ASSERT_STATUS(clenc_score_pairs(s, NULL, NULL, 0, 0, NULL), CLENC_OK);
    ASSERT_STATUS(clenc_classify(s, NULL, 0, 0, NULL), CLENC_OK);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);

    /* Each class's head tensors, and BERT's pooler, which its head needs. */
    static const struct {
        const char *model, *tensor;
    } missing[] = {
        {"bert_rerank", "classifier.weight"},
        {"bert_rerank", "bert.pooler.dense.weight"},
        {"roberta_classify", "classifier.out_proj.weight"},
        {"roberta_classify", "classifier.dense.bias"},
        {"xlm-roberta_rerank", "classifier.dense.weight"},
        {"distilbert_classify", "pre_classifier.weight"},
        {"distilbert_classify", "classifier.bias"},
    };
    for (size_t i = 0; i < sizeof missing / sizeof missing[0]; i++) {
        char *dir = head_variant(missing[i].model, NULL, 0, missing[i].tensor,
                                 NULL, 0);
        /* The name as clenc knows it: past the "bert." prefix. */
        const char *bare = strncmp(missing[i].tensor, "bert.", 5) == 0
                               ? missing[i].tensor + 5
                               : missing[i].tensor;
        test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, bare, NULL);
        free(dir);
    }

    /* id2label names two labels; the checkpoint's classifier has one row. */
    const config_edit two_labels[] = {
        {"id2label", "{\"0\": \"no\", \"1\": \"yes\"}"},
        {"label2id", "{\"no\": 0, \"yes\": 1}"}};
    char *dir = head_variant("bert_rerank", two_labels, 2, NULL, NULL, 0);
    test_expect_load_error(dir, CLENC_ERR_MODEL_FORMAT, "classifier.weight",
                           NULL);
    free(dir);

    /* An activation clenc does not run is named, not replaced. */
    const config_edit tanh[] = {
        {"sentence_transformers",
         "{\"activation_fn\": \"torch.nn.modules.activation.Tanh\"}"}};
    dir = head_variant("bert_rerank", tanh, 1, NULL, NULL, 0);
    test_expect_load_error(dir, CLENC_ERR_UNSUPPORTED,
                           "torch.nn.modules.activation.Tanh", "config.json");
    free(dir);
    const config_edit problem[] = {{"problem_type", "\"ranking\""}};
    dir = head_variant("roberta_classify", problem, 1, NULL, NULL, 0);
    test_expect_load_error(dir, CLENC_ERR_UNSUPPORTED, "problem_type",
                           "ranking");
    free(dir);
}
