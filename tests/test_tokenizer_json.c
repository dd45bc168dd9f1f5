/* test_tokenizer_json.c — tokenizer.json end to end: every fixture tokenizer's cases id for id with Hugging Face tokenizers, MiniLM's two tokenizers against each other, and bad files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "text/tokenizer.h"

#define FIXTURES "tests/fixtures/tokjson/"

static int newer_unicode(const json_t *text)
{
    const char *s = json_string_value(text);
    return s && (strstr(s, "\xE3\x8B\xBF") || strstr(s, "\xF0\x9F\x85\xAC"));
}

/* Every case of cases_path (FIXTURES<name>.cases.json, written by
 * make_tokenizer_json_fixtures.py from tokenizers 0.23.3; or a plain list
 * of cases): text, optional pair and max_len, the ids and type ids
 * tokenizers gave, through the tokenizer.json at `path`. Returns the
 * mismatches; prints the first few. */
static size_t run_cases_of(const char *name, const char *path,
                           const char *cases_path, size_t *count)
{
    clenc__tokenizer *tok = NULL;
    clenc_status st = clenc__tokenizer_load_json(path, &tok);
    if (st != CLENC_OK)
        fprintf(stderr, "\n    %s: %s\n", path, clenc_last_error());
    CU_ASSERT_FATAL(st == CLENC_OK && tok != NULL);
    json_error_t err;
    json_t *root = json_load_file(cases_path, 0, &err);
    CU_ASSERT_FATAL(root != NULL);
    json_t *cases = json_is_array(root) ? root : json_object_get(root, "cases");
    CU_ASSERT_FATAL(json_is_array(cases) && json_array_size(cases) > 0);
    size_t bad = 0, refused = 0, unicode = 0, outside = 0, cap = 1 << 16;
    int32_t *ids = malloc(cap * sizeof *ids), *types = malloc(cap * sizeof *types);
    CU_ASSERT_FATAL(ids && types);
    *count = json_array_size(cases);
    for (size_t i = 0; i < *count; i++) {
        json_t *c = json_array_get(cases, i);
        json_t *text = json_object_get(c, "text"), *pair = json_object_get(c, "pair");
        json_t *max_len = json_object_get(c, "max_len");
        json_t *want = json_object_get(c, "ids"), *want_types = json_object_get(c, "type_ids");
        const size_t limit = json_is_integer(max_len)
                                 ? (size_t)json_integer_value(max_len)
                                 : cap;
        for (size_t k = 0; k < cap; k++)
            ids[k] = types[k] = -7; /* garbage, never an answer */
        size_t n = 0;
        st = clenc__tokenize_n(tok, json_string_value(text),
                               json_string_length(text),
                               json_is_string(pair) ? json_string_value(pair) : NULL,
                               json_is_string(pair) ? json_string_length(pair) : 0,
                               limit, ids, types, &n);
        /* A max_len below the specials the template adds: tokenizers
         * wraps that subtraction around and truncates nothing, handing
         * back more ids than max_len; clenc's max_len is the capacity of
         * ids, so it refuses (README.md, "Tokenizer"). */
        if (st == CLENC_ERR_INVALID_ARG &&
            strstr(clenc_last_error(), "leaves no room") &&
            json_array_size(want) > limit) {
            refused++;
            continue;
        }
        /* Every id tokenizers gives lies below the size clenc reports
         * (load.c checks the model's embedding table against it). */
        for (size_t k = 0; k < json_array_size(want); k++)
            if ((size_t)json_integer_value(json_array_get(want, k)) >=
                clenc__tokenizer_vocab_size(tok))
                outside++;
        int same = st == CLENC_OK && n == json_array_size(want);
        for (size_t k = 0; same && k < n; k++)
            same = ids[k] == json_integer_value(json_array_get(want, k)) &&
                   types[k] == json_integer_value(json_array_get(want_types, k));
        /* utf8proc (Unicode 15) decomposes U+32FF and U+1F16C, newer than
         * the normalization tables tokenizers was built with (README.md,
         * "Tokenizer": Unicode versions differ); those texts are counted
         * apart. */
        if (!same && (newer_unicode(text) || newer_unicode(pair))) {
            unicode++;
            continue;
        }
        if (!same && bad++ < 5) {
            fprintf(stderr, "\n    %s case %zu (%.60s%s): %s, %zu ids, want %zu:",
                    name, i, json_string_value(text),
                    json_is_string(pair) ? " + pair" : "",
                    st == CLENC_OK ? "ok" : clenc_last_error(), n,
                    json_array_size(want));
            for (size_t k = 0; k < n && k < 24; k++)
                fprintf(stderr, " %d", ids[k]);
            fprintf(stderr, "\n      want:");
            for (size_t k = 0; k < json_array_size(want) && k < 24; k++)
                fprintf(stderr, " %lld",
                        (long long)json_integer_value(json_array_get(want, k)));
        }
    }
    if (outside)
        printf("\n    %s: %zu ids at or past the vocabulary size %zu", name,
               outside, clenc__tokenizer_vocab_size(tok));
    CU_ASSERT_EQUAL(outside, 0);
    if (unicode)
        printf("\n    %s: %zu cases differ by a Unicode-version character",
               name, unicode);
    if (refused)
        printf("\n    %s: %zu cases with max_len below the specials refused",
               name, refused);
    free(ids);
    free(types);
    json_decref(root);
    clenc__tokenizer_free(tok);
    return bad;
}

static void expect_all_cases(const char *name)
{
    char path[512], cases_path[512];
    snprintf(path, sizeof path, FIXTURES "%s/tokenizer.json", name);
    snprintf(cases_path, sizeof cases_path, FIXTURES "%s.cases.json", name);
    size_t count = 0, bad = run_cases_of(name, path, cases_path, &count);
    printf("\n    %s: %zu cases, %zu mismatches", name, count, bad);
    CU_ASSERT_EQUAL(bad, 0);
}

void test_tokenizer_json_wordpiece(void)
{
    expect_all_cases("wordpiece");
}

void test_tokenizer_json_bpe_bytelevel(void)
{
    expect_all_cases("bpe_bytelevel");
}

void test_tokenizer_json_unigram_spm(void)
{
    expect_all_cases("unigram_spm");
}

void test_tokenizer_json_unigram_hf(void)
{
    expect_all_cases("unigram_hf");
}

/* The assorted_* tokenizers: every other component and option. */
void test_tokenizer_json_assorted(void)
{
    DIR *d = opendir(FIXTURES);
    CU_ASSERT_FATAL(d != NULL);
    size_t tokenizers = 0;
    const struct dirent *e;
    static const char suffix[] = ".cases.json";
    while ((e = readdir(d))) {
        const size_t n = strlen(e->d_name), k = sizeof suffix - 1;
        if (strncmp(e->d_name, "assorted", 8) != 0 || n <= k ||
            strcmp(e->d_name + n - k, suffix) != 0)
            continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - k), e->d_name);
        expect_all_cases(name);
        tokenizers++;
    }
    closedir(d);
    CU_ASSERT(tokenizers > 0);
}

/* all-MiniLM-L6-v2's tokenizer.json gives, on the cases BertTokenizerFast
 * tokenized for its vocab.txt (tests/test_tokenizer.c's), the same ids:
 * the model moved to tokenizer.json without a token changing. */
void test_tokenizer_json_minilm_equals_vocab_txt(void)
{
    size_t count = 0,
           bad = run_cases_of("MiniLM", "tests/fixtures/minilm_tokenizer.json",
                              "tests/fixtures/tokenizer_minilm.json", &count);
    printf("\n    MiniLM tokenizer.json: %zu cases, %zu mismatches", count, bad);
    CU_ASSERT(count >= 50);
    CU_ASSERT_EQUAL(bad, 0);
}

/* Each fixture's model alone (added tokens and post-processor taken out,
 * which otherwise raise the size): every id it gives on the fixture's
 * texts lies below the size the tokenizer reports. A model that left its
 * largest id unset (the fuzzer found Unigram's) fails here. */
void test_tokenizer_json_size_covers_the_model_alone(void)
{
    static const char *const names[] = {"wordpiece", "bpe_bytelevel",
                                        "unigram_spm", "unigram_hf"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        char path[512];
        snprintf(path, sizeof path, FIXTURES "%s/tokenizer.json", names[k]);
        json_error_t err;
        json_t *root = json_load_file(path, 0, &err);
        CU_ASSERT_FATAL(root != NULL);
        json_object_set_new(root, "added_tokens", json_array());
        json_object_set_new(root, "post_processor", json_null());
        char *text = json_dumps(root, JSON_COMPACT);
        CU_ASSERT_FATAL(text != NULL);
        clenc__tokenizer *tok = NULL;
        ASSERT_STATUS(clenc__tokenizer_load_json_mem(text, strlen(text), path,
                                                     &tok),
                      CLENC_OK);
        CU_ASSERT_FATAL(tok != NULL);
        static const char *const texts[] = {
            "Hello, world! The quick brown fox.", "naïve café 你好 Ωμέγα",
            "zzzz qqqq 12345 ~~~"};
        size_t outside = 0, total = 0;
        for (size_t t = 0; t < 3; t++) {
            int32_t ids[256];
            size_t n = 0;
            ASSERT_STATUS(clenc__tokenize(tok, texts[t], NULL, 256, ids, NULL,
                                          &n),
                          CLENC_OK);
            for (size_t i = 0; i < n; i++)
                outside += ids[i] < 0 ||
                           (size_t)ids[i] >= clenc__tokenizer_vocab_size(tok);
            total += n;
        }
        printf("\n    %s alone: %zu ids, %zu outside its size %zu", names[k],
               total, outside, clenc__tokenizer_vocab_size(tok));
        CU_ASSERT(total > 10);
        CU_ASSERT_EQUAL(outside, 0);
        clenc__tokenizer_free(tok);
        free(text);
        json_decref(root);
    }
}
