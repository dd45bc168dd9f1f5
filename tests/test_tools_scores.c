/* test_tools_scores.c — clenc-run --rerank and --classify as a user runs them: JSON shape, ranking, values against the library's, text output, errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"

/* -D may point these elsewhere, to try the tests on other models. */
#ifndef RERANK_DIR
#define RERANK_DIR "tests/fixtures/models/bert_rerank"
#endif
#ifndef CLASSIFY_DIR
#define CLASSIFY_DIR "tests/fixtures/models/roberta_classify"
#endif
#define EMBED_DIR "models/all-MiniLM-L6-v2"
#define PASSAGES 6
#define TEXTS 3


/* The model as the tool opens it: the test device, a session of the tool's
 * default batch (32) and sequence length (the model's truncation length). */
typedef struct scorer {
    clenc_context *ctx;
    clenc_model *model;
    clenc_session *session;
    clenc_model_info info;
} scorer;

static void scorer_open(scorer *s, const char *dir)
{
    memset(s, 0, sizeof *s);
    s->ctx = test_context(NULL);
    ASSERT_STATUS(clenc_model_load(s->ctx, dir, &s->model), CLENC_OK);
    CU_ASSERT_FATAL(s->model != NULL);
    ASSERT_STATUS(clenc_model_info_get(s->model, &s->info), CLENC_OK);
    ASSERT_STATUS(clenc_session_create(s->model, 32, s->info.max_text_tokens,
                                       &s->session),
                  CLENC_OK);
    CU_ASSERT_FATAL(s->session != NULL);
}

static void scorer_close(scorer *s)
{
    clenc_session_destroy(s->session);
    clenc_model_destroy(s->model);
    clenc_context_destroy(s->ctx);
}

/* The order a ranking must have: best first, NaN never expected, equal
 * scores in the order given. */
static void expected_order(const float *scores, size_t stride, size_t n,
                           size_t *order)
{
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && scores[order[j] * stride] >
                                        scores[order[j - 1] * stride];
             j--) {
            size_t t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
}

/* The query and passages (quotes, a backslash, a tab, a newline: JSON
 * escaping), lengths from one character to a long sentence. */
static const char query[] = "what does \"clenc\" run on?\n(a \\ test)";
static const char *const passages[PASSAGES] = {
    "OpenCL devices: GPUs, CPUs and accelerators.",
    "a",
    "Pandas eat bamboo \"all day\".",
    "The tokenizer joins the query and the passage with separator tokens, "
    "and truncates the longer one first when the pair is too long.",
    "tab\there",
    "Paris is the capital of France."};

/* Library scores of (query, passage), in the order given. */
static void library_scores(const scorer *s, const char *const *given,
                           unsigned flags, float *out)
{
    const char *queries[PASSAGES];
    for (size_t i = 0; i < PASSAGES; i++)
        queries[i] = query;
    ASSERT_STATUS(clenc_score_pairs(s->session, queries, given, PASSAGES,
                                    flags, out),
                  CLENC_OK);
}

/* Checks a --rerank --json answer against the library's scores of the
 * passages as given: exactly one object of three keys, results best first,
 * indices a permutation, each score the library's float. */
static void check_rerank_json(const char *out, const float *want)
{
    json_error_t jerr;
    json_t *root = json_loads(out ? out : "", 0, &jerr); /* one value, all */
    if (!root)
        fprintf(stderr, "\n    not one JSON value: %s\n", jerr.text);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT(json_is_object(root) && json_object_size(root) == 3);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "model")),
                           "bert_rerank");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "query")),
                           query);
    json_t *results = json_object_get(root, "results");
    CU_ASSERT_FATAL(json_array_size(results) == PASSAGES);
    size_t order[PASSAGES];
    expected_order(want, 1, PASSAGES, order);
    int seen[PASSAGES] = {0};
    for (size_t r = 0; r < PASSAGES; r++) {
        json_t *item = json_array_get(results, r);
        CU_ASSERT(json_object_size(item) == 2);
        json_t *index = json_object_get(item, "index");
        json_t *score = json_object_get(item, "score");
        CU_ASSERT_FATAL(json_is_integer(index) && json_is_number(score));
        const json_int_t i = json_integer_value(index);
        CU_ASSERT_FATAL(i >= 0 && i < PASSAGES && !seen[i]);
        seen[i] = 1;
        CU_ASSERT_EQUAL((size_t)i, order[r]);
        CU_ASSERT((float)json_number_value(score) == want[i]);
        if (r)
            CU_ASSERT(json_number_value(score) <=
                      json_number_value(json_object_get(
                          json_array_get(results, r - 1), "score")));
    }
    json_decref(root);
}

void test_run_rerank_json_ranks_as_clenc_score_pairs(void)
{
    scorer s;
    scorer_open(&s, RERANK_DIR);
    CU_ASSERT_EQUAL_FATAL(s.info.num_labels, 1);
    /* The passages go to the tool worst first (by logit, which no
     * activation saturates), so that ranking them moves every one. */
    float raw[PASSAGES], by_logit[PASSAGES], want[PASSAGES];
    library_scores(&s, passages, CLENC_SCORES_RAW, raw);
    size_t best[PASSAGES];
    expected_order(raw, 1, PASSAGES, best);
    const char *given[PASSAGES];
    for (size_t i = 0; i < PASSAGES; i++) {
        given[i] = passages[best[PASSAGES - 1 - i]];
        by_logit[i] = raw[best[PASSAGES - 1 - i]];
    }
    printf("\n    logits, as given to the tool:");
    for (size_t i = 0; i < PASSAGES; i++) {
        printf(" %.6f", by_logit[i]);
        if (i)
            CU_ASSERT(by_logit[i] > by_logit[i - 1]); /* distinct */
    }
    library_scores(&s, given, 0, want);

    char *argv[4 + 3 + PASSAGES + 1] = {NULL, "--model", RERANK_DIR, "--json",
                                        "--rerank", (char *)query};
    for (size_t i = 0; i < PASSAGES; i++)
        argv[6 + i] = (char *)given[i];
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, &err), 0);
    check_rerank_json(out, want);
    CU_ASSERT(err && strstr(err, "clenc-run") == NULL); /* nothing to say */
    free(out);
    free(err);

    /* --input: the passages a line each, the same answer. */
    char *dir = test_tmpdir("rerank");
    char *file = test_path(dir, "passages.txt");
    FILE *f = fopen(file, "w");
    CU_ASSERT_FATAL(f != NULL);
    for (size_t i = 0; i < PASSAGES; i++)
        fprintf(f, "%s\n", given[i]);
    fclose(f);
    char *from_file[] = {NULL, "--model", RERANK_DIR, "--json", "--rerank",
                         (char *)query, "--input", file, NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(from_file, &out, NULL), 0);
    check_rerank_json(out, want);
    free(out);
    free(file);
    free(dir);
    scorer_close(&s);
}

/* The next line of *p (its end replaced by NUL), or NULL. */
static char *next_line(char **p)
{
    char *line = *p;
    if (!line || !*line)
        return NULL;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

void test_run_rerank_text_raw_scores_and_label_count(void)
{
    scorer s;
    scorer_open(&s, RERANK_DIR);
    float want[PASSAGES], raw[PASSAGES];
    library_scores(&s, passages, 0, want);
    library_scores(&s, passages, CLENC_SCORES_RAW, raw);
    size_t order[PASSAGES];
    expected_order(want, 1, PASSAGES, order);

    /* Text: a title, the query, a header, then rank, score, passage number
     * (from 1) and the passage, a line each, best first. */
    char *argv[4 + 2 + PASSAGES + 1] = {NULL, "--model", RERANK_DIR,
                                        "--rerank", (char *)query};
    for (size_t i = 0; i < PASSAGES; i++)
        argv[5 + i] = (char *)passages[i];
    char *out = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, NULL), 0);
    char *p = out, *line = next_line(&p);
    CU_ASSERT(line && strstr(line, "bert_rerank on ") &&
              strstr(line, "1 label,"));
    line = next_line(&p);
    /* The newline shown as a space. */
    CU_ASSERT(line && strcmp(line, "query: what does \"clenc\" run on? (a \\ "
                                   "test)") == 0);
    while ((line = next_line(&p)) && strncmp(line, "rank", 4) != 0)
        ;
    CU_ASSERT_FATAL(line != NULL);
    size_t rows = 0;
    while ((line = next_line(&p)) && rows < PASSAGES) {
        size_t rank = 0, number = 0;
        double score = NAN;
        int at = 0;
        CU_ASSERT_FATAL(sscanf(line, "%zu %lf %zu %n", &rank, &score, &number,
                               &at) == 3);
        CU_ASSERT_EQUAL(rank, rows + 1);
        CU_ASSERT_EQUAL(number, order[rows] + 1);
        /* Printed with 4 decimals: within half a unit of the 4th. */
        CU_ASSERT(fabs(score - want[order[rows]]) <= 5.1e-5);
        const char *shown = passages[order[rows]];
        if (strchr(shown, '\t')) /* control characters shown as spaces */
            shown = "tab here";
        /* Long passages are cut after 70 characters. */
        const size_t len = strlen(shown) < 60 ? strlen(shown) : 60;
        CU_ASSERT(strncmp(line + at, shown, len) == 0);
        rows++;
    }
    CU_ASSERT_EQUAL(rows, PASSAGES);
    CU_ASSERT(line == NULL); /* nothing after the last passage */
    free(out);

    /* --raw-scores: the logits, ranked the same way. */
    char *raw_argv[4 + 4 + PASSAGES + 1] = {NULL, "--model", RERANK_DIR,
                                            "--json", "--raw-scores",
                                            "--rerank", (char *)query};
    for (size_t i = 0; i < PASSAGES; i++)
        raw_argv[7 + i] = (char *)passages[i];
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(raw_argv, &out, NULL), 0);
    json_t *root = json_loads(out ? out : "", 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    json_t *results = json_object_get(root, "results");
    CU_ASSERT_FATAL(json_array_size(results) == PASSAGES);
    size_t raw_order[PASSAGES];
    expected_order(raw, 1, PASSAGES, raw_order);
    int differs = 0;
    for (size_t r = 0; r < PASSAGES; r++) {
        json_t *item = json_array_get(results, r);
        const json_int_t i = json_integer_value(json_object_get(item, "index"));
        const float v = (float)json_number_value(json_object_get(item, "score"));
        CU_ASSERT_FATAL(i >= 0 && i < PASSAGES);
        CU_ASSERT_EQUAL((size_t)i, raw_order[r]);
        CU_ASSERT(v == raw[i]);
        differs |= v != want[i];
    }
    CU_ASSERT(differs); /* the activation was left out */
    json_decref(root);
    free(out);
    scorer_close(&s);

    /* --rerank needs one score a pair: a classifier's labels, or a model
     * without a head, are a usage error naming the model and the count. */
    scorer c;
    scorer_open(&c, CLASSIFY_DIR);
    CU_ASSERT(c.info.num_labels > 1);
    char want_err[64];
    snprintf(want_err, sizeof want_err, "num_labels %u", c.info.num_labels);
    scorer_close(&c);
    char *err = NULL;
    char *classifier[] = {NULL, "--model", CLASSIFY_DIR, "--rerank", "q",
                          "p", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(classifier, &out, &err), 2);
    CU_ASSERT(err && strstr(err, "'roberta_classify'") &&
              strstr(err, want_err) && strstr(err, "--classify"));
    CU_ASSERT(out && *out == '\0');
    free(out);
    free(err);
    char *embedder[] = {NULL, "--model", EMBED_DIR, "--rerank", "q", "p",
                        NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(embedder, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "'all-MiniLM-L6-v2'") &&
              strstr(err, "num_labels 0"));
    free(err);
    char *pooling[] = {NULL, "--model", RERANK_DIR, "--pooling", "cls",
                       "--rerank", "q", "p", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(pooling, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "--pooling"));
    free(err);
    char *nothing[] = {NULL, "--model", RERANK_DIR, "--rerank", "q", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(nothing, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "nothing to rerank"));
    free(err);
}

static const char *const texts[TEXTS] = {"I loved every minute of it.",
                                         "Not my cup of \"tea\".", "short"};

/* The index of the label named `name`, or num_labels. */
static unsigned label_index(const scorer *s, const char *name)
{
    unsigned l = 0;
    while (l < s->info.num_labels && name &&
           strcmp(clenc_model_label(s->model, l), name) != 0)
        l++;
    return l;
}

/* Checks a --classify --json answer: one object of two keys, a result per
 * text in order, every label once, best first, the library's floats. */
static void check_classify_json(const scorer *s, const char *out,
                                const float *want, size_t n)
{
    const unsigned labels = s->info.num_labels;
    json_t *root = json_loads(out ? out : "", 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT(json_is_object(root) && json_object_size(root) == 2);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "model")),
                           "roberta_classify");
    json_t *results = json_object_get(root, "results");
    CU_ASSERT_FATAL(json_array_size(results) == n);
    for (size_t t = 0; t < n; t++) {
        json_t *r = json_array_get(results, t);
        CU_ASSERT(json_object_size(r) == 2);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "text_index")),
                        (json_int_t)t);
        json_t *list = json_object_get(r, "labels");
        CU_ASSERT_FATAL(json_array_size(list) == labels);
        size_t order[64];
        CU_ASSERT_FATAL(labels <= 64);
        expected_order(want + t * labels, 1, labels, order);
        for (unsigned k = 0; k < labels; k++) {
            json_t *item = json_array_get(list, k);
            CU_ASSERT(json_object_size(item) == 2);
            const unsigned l = label_index(
                s, json_string_value(json_object_get(item, "label")));
            CU_ASSERT_FATAL(l < labels);
            CU_ASSERT_EQUAL(l, order[k]); /* each label once, best first */
            CU_ASSERT((float)json_number_value(json_object_get(item, "score")) ==
                      want[t * labels + l]);
        }
    }
    json_decref(root);
}

void test_run_classify_json_text_and_input(void)
{
    scorer s;
    scorer_open(&s, CLASSIFY_DIR);
    const unsigned labels = s.info.num_labels;
    CU_ASSERT_FATAL(labels > 1 && labels <= 64);
    float *want = malloc(TEXTS * labels * sizeof *want);
    float *raw = malloc(TEXTS * labels * sizeof *raw);
    CU_ASSERT_FATAL(want && raw);
    ASSERT_STATUS(clenc_classify(s.session, texts, TEXTS, 0, want), CLENC_OK);
    ASSERT_STATUS(clenc_classify(s.session, texts, TEXTS, CLENC_SCORES_RAW,
                                 raw),
                  CLENC_OK);

    char *json[] = {NULL, "--model", CLASSIFY_DIR, "--classify", "--json",
                    (char *)texts[0], (char *)texts[1], (char *)texts[2],
                    NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(json, &out, &err), 0);
    check_classify_json(&s, out, want, TEXTS);
    CU_ASSERT(err && strstr(err, "clenc-run") == NULL);
    char *from_args = out;
    free(err);

    char *raw_argv[] = {NULL, "--model", CLASSIFY_DIR, "--classify", "--json",
                        "--raw-scores", (char *)texts[0], (char *)texts[1],
                        (char *)texts[2], NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(raw_argv, &out, NULL), 0);
    check_classify_json(&s, out, raw, TEXTS);
    free(out);

    /* Text: a title, a blank line, a header, then per text its number
     * (from 1), the best label and its score first, and the text. */
    char *plain[] = {NULL, "--model", CLASSIFY_DIR, "--classify",
                     (char *)texts[0], (char *)texts[1], (char *)texts[2],
                     NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(plain, &out, NULL), 0);
    char *p = out, *line = next_line(&p);
    char title[64];
    snprintf(title, sizeof title, "%u labels,", labels);
    CU_ASSERT(line && strstr(line, "roberta_classify on ") &&
              strstr(line, title));
    CU_ASSERT((line = next_line(&p)) && *line == '\0');
    CU_ASSERT((line = next_line(&p)) && strstr(line, "labels, best first"));
    size_t rows = 0;
    while ((line = next_line(&p)) && rows < TEXTS) {
        size_t order[64];
        expected_order(want + rows * labels, 1, labels, order);
        const char *top = clenc_model_label(s.model, (unsigned)order[0]);
        char number[8];
        snprintf(number, sizeof number, "%5zu ", rows + 1);
        CU_ASSERT_FATAL(strncmp(line, number, 6) == 0);
        const char *at = line + 6;
        while (*at == ' ')
            at++;
        CU_ASSERT_FATAL(strncmp(at, top, strlen(top)) == 0);
        char *end = NULL;
        const double score = strtod(at + strlen(top), &end);
        CU_ASSERT(end > at + strlen(top));
        CU_ASSERT(fabs(score - want[rows * labels + order[0]]) <= 5.1e-5);
        CU_ASSERT(strstr(line, texts[rows]) != NULL);
        rows++;
    }
    CU_ASSERT_EQUAL(rows, TEXTS);
    CU_ASSERT(line == NULL);
    free(out);

    /* --input: a text a line, the same answer; a line that is not UTF-8 is
     * named FILE:LINE, and the lines before it are still written. */
    char *dir = test_tmpdir("classify");
    char *file = test_path(dir, "texts.txt");
    char lines[256];
    snprintf(lines, sizeof lines, "%s\n%s\r\n%s\n", texts[0], texts[1],
             texts[2]);
    CU_ASSERT_FATAL(test_write_file(file, lines, strlen(lines)));
    char *input[] = {NULL, "--model", CLASSIFY_DIR, "--classify", "--json",
                     "--input", file, NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(input, &out, NULL), 0);
    CU_ASSERT(out && from_args && strcmp(out, from_args) == 0);
    free(out);
    snprintf(lines, sizeof lines, "%s\nbad \xff line\n%s\n", texts[0],
             texts[2]);
    CU_ASSERT_FATAL(test_write_file(file, lines, strlen(lines)));
    CU_ASSERT_EQUAL(test_run_clenc_run(input, &out, &err), 1);
    char where[600];
    snprintf(where, sizeof where, "%s:2: ", file);
    CU_ASSERT(err && strstr(err, where) && strstr(err, "UTF-8"));
    check_classify_json(&s, out, want, 1);
    free(out);
    free(err);

    /* A usage error: --classify on an embedder. */
    char *embedder[] = {NULL, "--model", EMBED_DIR, "--classify", "x", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(embedder, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "num_labels 0"));
    free(err);
    free(from_args);
    free(file);
    free(dir);
    free(want);
    free(raw);
    scorer_close(&s);
}

void test_run_help_documents_rerank_and_classify(void)
{
    char *out = NULL;
    char *help[] = {NULL, "--help", NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(help, &out, NULL), 0);
    CU_ASSERT(out && strstr(out, "--rerank QUERY PASSAGE...") &&
              strstr(out, "--classify TEXT...") &&
              strstr(out, "--raw-scores"));
    /* An example of each. */
    CU_ASSERT(out && strstr(out, "Examples:") &&
              strstr(strstr(out, "Examples:"), "--rerank") &&
              strstr(strstr(out, "Examples:"), "--classify"));
    free(out);
}

/* --pooling pooler: BERT's pooler output, as clenc_embed_text gives it. */
void test_run_pooling_pooler_matches_the_library(void)
{
    scorer s;
    scorer_open(&s, "tests/fixtures/models/bert_pooler");
    CU_ASSERT_FATAL(s.info.has_pooler);
    const unsigned h = s.info.hidden;
    float *want = malloc(2 * h * sizeof *want);
    CU_ASSERT_FATAL(want != NULL);
    ASSERT_STATUS(clenc_session_set_pooling(s.session, CLENC_POOL_POOLER),
                  CLENC_OK);
    ASSERT_STATUS(clenc_embed_text(s.session, texts, 2, want), CLENC_OK);
    char *argv[] = {NULL, "--model", "tests/fixtures/models/bert_pooler",
                    "--pooling", "pooler", "--no-normalize", "--json",
                    (char *)texts[0], (char *)texts[1], NULL};
    char *out = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, NULL), 0);
    json_t *root = json_loads(out ? out : "", 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "pooling")),
                           "pooler");
    json_t *emb = json_object_get(root, "embeddings");
    CU_ASSERT_FATAL(json_array_size(emb) == 2);
    int in_range = 1;
    for (size_t t = 0; t < 2; t++) {
        json_t *v = json_array_get(emb, t);
        CU_ASSERT_FATAL(json_array_size(v) == h);
        for (size_t i = 0; i < h; i++) {
            const double x = json_number_value(json_array_get(v, i));
            CU_ASSERT((float)x == want[t * h + i]);
            in_range &= fabs(x) <= 1; /* a tanh */
        }
    }
    CU_ASSERT(in_range);
    json_decref(root);
    free(out);
    free(want);
    scorer_close(&s);
}
