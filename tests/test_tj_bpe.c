/* test_tj_bpe.c — tokenizer.json's byte-level side (ByteLevel, Split, the BPE model, Oniguruma underneath) against Hugging Face tokenizers' outputs, and their refusal of bad files and evil patterns. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "text/pipeline.h"
#include "tj_helpers.h"

/* Paths relative to the repository root, where the tests run. */
#define EDGE "tests/fixtures/tj_bpe_edge.json" /* make_tj_bpe_fixtures.py */

/* ------------------------------------------------ one component each */

void test_tj_bpe_pre_tokenizers_match_hf(void)
{
    json_t *root = tj_load_json(EDGE);
    CU_ASSERT_FATAL(json_array_size(json_object_get(root, "texts")) > 100 &&
                    json_array_size(json_object_get(root, "pre_tokenizers")) >
                        300);
    tj_tally t = {0};
    tj_check_pretok_list(root, EDGE, &t);
    tj_report("ByteLevel and Split on edge texts", &t);
    CU_ASSERT(t.count > 30000);
    CU_ASSERT_EQUAL(t.mismatches, 0);
    json_decref(root);
}

void test_tj_bpe_models_match_hf(void)
{
    json_t *root = tj_load_json(EDGE);
    CU_ASSERT_FATAL(json_array_size(json_object_get(root, "models")) >= 20);
    tj_tally t = {0};
    tj_check_model_list(root, EDGE, TJ_MISSING_UNK, NULL, &t);
    tj_report("BPE words of hand-made and random models", &t);
    CU_ASSERT(t.count > 700);
    CU_ASSERT(t.refused > 0); /* the unk_token missing from the vocabulary */
    CU_ASSERT_EQUAL(t.mismatches, 0);
    json_decref(root);
}

/* The pre-tokenizer and model sections of make_tokenizer_json_fixtures.py's
 * tokenizers that use ByteLevel, Split or BPE (pre-tokenizers in Sequence
 * with others: Whitespace, Digits, Punctuation, Metaspace). */
void test_tj_bpe_fixture_tokenizers_match_hf(void)
{
    static const struct {
        const char *name;
        int pre, model;
    } fixtures[] = {{"bpe_bytelevel", 1, 1}, {"assorted_bpe", 1, 1},
                    {"assorted_bytefallback", 0, 1}, {"assorted_split", 1, 0},
                    {"assorted_gpt", 1, 1}};
    tj_tally pre = {0}, model = {0};
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++)
        tj_check_fixture(fixtures[f].name,
                         (tj_sections){NULL, fixtures[f].pre ? &pre : NULL,
                                       fixtures[f].model ? &model : NULL},
                         NULL);
    tj_report("fixture pre-tokenizers", &pre);
    tj_report("fixture BPE words", &model);
    CU_ASSERT(pre.count > 2000 && model.count > 1500);
    CU_ASSERT_EQUAL(pre.mismatches + model.mismatches, 0);
}

/* ------------------------------------------------------- bad input */

typedef struct bad_case {
    const char *json;
    clenc_status want;
    const char *mentions; /* in the message, after the file's name */
} bad_case;

#define BPE_HEAD "{\"type\": \"BPE\", "
#define VOCAB_AB "\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}"

static const bad_case bad_models[] = {
    {BPE_HEAD VOCAB_AB ", \"merges\": [\"a\"]}", CLENC_ERR_MODEL_FORMAT,
     "model.merges[0] 'a' is not two tokens"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [\"a b c\"]}", CLENC_ERR_MODEL_FORMAT,
     "model.merges[0]"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [\"a  b\"]}", CLENC_ERR_MODEL_FORMAT,
     "model.merges[0]"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [[\"a\"]]}", CLENC_ERR_MODEL_FORMAT,
     "model.merges[0] is not a pair"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [[\"a\", \"b\", \"c\"]]}",
     CLENC_ERR_MODEL_FORMAT, "model.merges[0] is not a pair"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [[\"a\", 1]]}", CLENC_ERR_MODEL_FORMAT,
     "model.merges[0] is not a pair"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [[\"a\", \"b\"], \"a b\"]}",
     CLENC_ERR_MODEL_FORMAT, "model.merges[1] is a string"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [\"a b\", [\"a\", \"b\"]]}",
     CLENC_ERR_MODEL_FORMAT, "model.merges[1] is not a string"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [\"a x\"]}", CLENC_ERR_MODEL_FORMAT,
     "model.merges[0] names 'x', which is not in the vocabulary"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [[\"y\", \"b\"]]}",
     CLENC_ERR_MODEL_FORMAT, "model.merges[0] names 'y'"},
    {BPE_HEAD VOCAB_AB ", \"merges\": [\"b a\"]}", CLENC_ERR_MODEL_FORMAT,
     "model.merges[0] makes 'ba', which is not in the vocabulary"},
    {BPE_HEAD "\"continuing_subword_prefix\": \"###\", " VOCAB_AB
              ", \"merges\": [\"a b\"]}",
     CLENC_ERR_MODEL_FORMAT, "model.merges[0] names 'b', shorter than"},
    {BPE_HEAD VOCAB_AB ", \"merges\": {\"a\": \"b\"}}", CLENC_ERR_MODEL_FORMAT,
     "model.merges is not an array"},
    {BPE_HEAD VOCAB_AB "}", CLENC_ERR_MODEL_FORMAT, "model.merges is missing"},
    {BPE_HEAD "\"merges\": []}", CLENC_ERR_MODEL_FORMAT,
     "model.vocab is missing"},
    {BPE_HEAD "\"vocab\": [[\"a\", 0]], \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.vocab is not an object"},
    {BPE_HEAD "\"vocab\": {\"a\": -1}, \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.vocab token 'a' has an id out of range"},
    {BPE_HEAD "\"vocab\": {\"a\": 4294967296}, \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.vocab token 'a' has an id out of range"},
    {BPE_HEAD "\"vocab\": {\"a\": 4194304}, \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.vocab token 'a' has an id out of range"},
    {BPE_HEAD "\"vocab\": {\"a\": 1.5}, \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.vocab token 'a' has an id of another"},
    {BPE_HEAD "\"vocab\": {\"a\": \"0\"}, \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.vocab token 'a' has an id of another"},
    {BPE_HEAD "\"dropout\": 0.1, " VOCAB_AB ", \"merges\": []}",
     CLENC_ERR_UNSUPPORTED, "model.dropout '0.1' is not supported"},
    {BPE_HEAD "\"dropout\": 1, " VOCAB_AB ", \"merges\": []}",
     CLENC_ERR_UNSUPPORTED, "model.dropout '1' is not supported"},
    {BPE_HEAD "\"dropout\": 1.5, " VOCAB_AB ", \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.dropout is 1.5, outside 0..1"},
    {BPE_HEAD "\"dropout\": -0.5, " VOCAB_AB ", \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.dropout is -0.5, outside 0..1"},
    {BPE_HEAD "\"dropout\": \"none\", " VOCAB_AB ", \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.dropout is a string"},
    {BPE_HEAD "\"fuse_unk\": 1, " VOCAB_AB ", \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.fuse_unk"},
    {BPE_HEAD "\"unk_token\": 5, " VOCAB_AB ", \"merges\": []}",
     CLENC_ERR_MODEL_FORMAT, "model.unk_token"},
};

static const bad_case bad_pretoks[] = {
    {"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"(a\"}, \"behavior\": "
     "\"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern.Regex does not compile: "},
    {"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"[b-a]\"}, \"behavior\": "
     "\"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern.Regex does not compile"},
    {"{\"type\": \"Split\", \"pattern\": {\"Regex\": \"\\\\p{NoSuchClass}\"}, "
     "\"behavior\": \"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern.Regex does not compile"},
    {"{\"type\": \"Split\", \"pattern\": {\"Regex\": 3}, \"behavior\": "
     "\"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern.Regex is a number"},
    {"{\"type\": \"Split\", \"pattern\": {\"String\": null}, \"behavior\": "
     "\"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern.String is null"},
    {"{\"type\": \"Split\", \"pattern\": {\"Glob\": \"*\"}, \"behavior\": "
     "\"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern is not"},
    {"{\"type\": \"Split\", \"pattern\": {\"String\": \"a\", \"Regex\": "
     "\"a\"}, \"behavior\": \"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern is not"},
    {"{\"type\": \"Split\", \"pattern\": \"a\", \"behavior\": \"Isolated\", "
     "\"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern is not"},
    {"{\"type\": \"Split\", \"behavior\": \"Isolated\", \"invert\": false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.pattern is not"},
    {"{\"type\": \"Split\", \"pattern\": {\"String\": \"a\"}, \"invert\": "
     "false}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.behavior is missing"},
    {"{\"type\": \"Split\", \"pattern\": {\"String\": \"a\"}, \"behavior\": "
     "\"Sideways\", \"invert\": false}",
     CLENC_ERR_UNSUPPORTED, "pre_tokenizer.behavior 'Sideways'"},
    {"{\"type\": \"Split\", \"pattern\": {\"String\": \"a\"}, \"behavior\": "
     "\"Isolated\", \"invert\": \"yes\"}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.invert"},
    {"{\"type\": \"ByteLevel\", \"add_prefix_space\": \"no\"}",
     CLENC_ERR_MODEL_FORMAT, "pre_tokenizer.add_prefix_space"},
    {"{\"type\": \"ByteLevel\", \"use_regex\": 0}", CLENC_ERR_MODEL_FORMAT,
     "pre_tokenizer.use_regex"},
};

static void check_bad(const bad_case *c, int model)
{
    json_t *obj = tj_parse_text(c->json);
    clenc__jpath p = {.file = "bad.json"};
    snprintf(p.at, sizeof p.at, model ? "model" : "pre_tokenizer");
    clenc_status st;
    if (model) {
        clenc__tmodel *m = NULL;
        st = clenc__tmodel_parse(obj, &p, &m);
        CU_ASSERT(m == NULL);
    } else {
        clenc__pretok *pt = NULL;
        st = clenc__pretok_parse(obj, &p, &pt);
        CU_ASSERT(pt == NULL);
    }
    const char *msg = clenc_last_error();
    int named = strncmp(msg, "bad.json: ", 10) == 0 &&
                strstr(msg, c->mentions) != NULL;
    if (st != c->want || !named)
        fprintf(stderr, "\n    %s\n      -> %s: %s (want %s, '%s')", c->json,
                clenc_status_name(st), msg, clenc_status_name(c->want),
                c->mentions);
    CU_ASSERT_EQUAL(st, c->want);
    CU_ASSERT(named);
    json_decref(obj);
}

void test_tj_bpe_bad_models_are_named(void)
{
    const long blocks = clenc__live_blocks();
    for (size_t i = 0; i < sizeof bad_models / sizeof *bad_models; i++)
        check_bad(&bad_models[i], 1);
    for (size_t i = 0; i < sizeof bad_pretoks / sizeof *bad_pretoks; i++)
        check_bad(&bad_pretoks[i], 0);
    CU_ASSERT_EQUAL(clenc__live_blocks(), blocks);

    /* A token or pattern past its bound is refused by its length. */
    char *big = malloc(8 * CLENC__TJ_MAX_PATTERN);
    CU_ASSERT_FATAL(big != NULL);
    char *run = malloc(2 * CLENC__TJ_MAX_PATTERN + 2);
    CU_ASSERT_FATAL(run != NULL);
    memset(run, 'a', CLENC__TJ_MAX_TOKEN + 1);
    run[CLENC__TJ_MAX_TOKEN + 1] = '\0';
    snprintf(big, 8 * CLENC__TJ_MAX_PATTERN,
             BPE_HEAD "\"vocab\": {\"%s\": 0}, \"merges\": []}", run);
    bad_case long_token = {big, CLENC_ERR_MODEL_FORMAT,
                           "model.vocab has a token of 1025 bytes"};
    check_bad(&long_token, 1);
    snprintf(big, 8 * CLENC__TJ_MAX_PATTERN,
             BPE_HEAD "\"continuing_subword_prefix\": \"%s\", " VOCAB_AB
                      ", \"merges\": []}",
             run);
    bad_case long_prefix = {big, CLENC_ERR_MODEL_FORMAT,
                            "model.continuing_subword_prefix is 1025 bytes"};
    check_bad(&long_prefix, 1);
    memset(run, 'a', CLENC__TJ_MAX_PATTERN + 1);
    run[CLENC__TJ_MAX_PATTERN + 1] = '\0';
    snprintf(big, 8 * CLENC__TJ_MAX_PATTERN,
             "{\"type\": \"Split\", \"pattern\": {\"Regex\": \"%s\"}, "
             "\"behavior\": \"Isolated\", \"invert\": false}",
             run);
    bad_case long_regex = {big, CLENC_ERR_MODEL_FORMAT,
                           "pre_tokenizer.pattern.Regex is 4097 bytes long"};
    check_bad(&long_regex, 0);
    free(run);
    free(big);
}

/* A model whose unk_token is not in its vocabulary loads (as in
 * tokenizers) and fails on the first word that needs it, naming it. */
void test_tj_bpe_missing_unk_fails_when_needed(void)
{
    json_t *obj = tj_parse_text(BPE_HEAD "\"unk_token\": \"<unk>\", " VOCAB_AB
                                         ", \"merges\": [\"a b\"]}");
    clenc__tmodel *m =
        tj_parse_model(clenc__tmodel_parse, obj, "unk.json", "model");
    clenc__ids ids = {0};
    ASSERT_STATUS(m->run(m, "abab", 4, &ids), CLENC_OK);
    CU_ASSERT(ids.n == 2 && ids.v[0] == 2 && ids.v[1] == 2);
    ASSERT_STATUS(m->run(m, "abx", 3, &ids), CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS(
        "unk.json: model.unk_token '<unk>' is not in the vocabulary");
    CU_ASSERT_EQUAL(m->vocab_size, 3);
    CU_ASSERT_EQUAL(m->id(m, "ab", 2), 2);
    CU_ASSERT_EQUAL(m->id(m, "ba", 2), -1);
    clenc__ids_free(&ids);
    m->free(m);
    json_decref(obj);
}

/* Exponential and polynomial backtracking from a file's pattern: the
 * search stops at Oniguruma's retry limits and the run fails, naming
 * where the pattern sits, within a fraction of a second. Without limits
 * the exponential ones run for longer than the universe has, and a*a*\d
 * (cubic) for 35 s on these 4 KB. */
void test_tj_bpe_evil_pattern_fails_quickly(void)
{
    static const char *const patterns[] = {
        "(a+)+\\\\d", "(a|a)*\\\\Z", "(\\\\w+\\\\s?)+$", "a*a*\\\\d"};
    const size_t n = 4096;
    char *text = tj_filled(n, 'a');
    text[n - 1] = '!';
    for (size_t k = 0; k < sizeof patterns / sizeof *patterns; k++) {
        char spec[256];
        snprintf(spec, sizeof spec,
                 "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
                 "\"WhitespaceSplit\"}, {\"type\": \"Split\", \"pattern\": "
                 "{\"Regex\": \"%s\"}, \"behavior\": \"Isolated\", \"invert\": "
                 "false}]}",
                 patterns[k]);
        json_t *obj = tj_parse_text(spec);
        clenc__pretok *pt = tj_parse_pretok(clenc__pretok_parse, obj,
                                            "evil.json", "pre_tokenizer");
        clenc__words in = {0}, out = {0};
        in.at_start = 1;
        ASSERT_STATUS(clenc__words_add(&in, text, n), CLENC_OK);
        const uint64_t t0 = clenc__now_ns();
        ASSERT_STATUS(pt->run(pt, &in, &out), CLENC_ERR_UNSUPPORTED);
        const double seconds = (double)(clenc__now_ns() - t0) * 1e-9;
        ASSERT_ERROR_MENTIONS("evil.json: pre_tokenizer.pretokenizers[1]");
        ASSERT_ERROR_MENTIONS("backtracking");
        printf("\n    Split '%s' on %zu bytes: refused in %.3f s",
               patterns[k], n, seconds);
        CU_ASSERT(seconds < 5.0); /* measured 0.001-0.005 s; a*a*\\d 0.4 s */
        clenc__words_free(&in);
        clenc__words_free(&out);
        pt->free(pt);
        json_decref(obj);
    }
    free(text);
}

/* 2000 nested groups: Oniguruma parses them recursively, 2 MB of stack,
 * more than a thread of 256 KB has; clenc compiles on a thread of its own
 * (regex.c), so any caller's thread can load such a file. */
static void *parse_deep(void *arg)
{
    const char *spec = arg;
    json_error_t err;
    json_t *obj = json_loads(spec, 0, &err);
    clenc__jpath p = {.file = "deep.json", .at = "pre_tokenizer"};
    clenc__pretok *pt = NULL;
    clenc_status st = obj ? clenc__pretok_parse(obj, &p, &pt)
                          : CLENC_ERR_INVALID_ARG;
    clenc__words in = {0}, out = {0};
    if (st == CLENC_OK)
        st = clenc__words_add(&in, "xaax", 4);
    if (st == CLENC_OK)
        st = pt->run(pt, &in, &out);
    if (st == CLENC_OK && out.n != 4) /* x, a, a, x: each a isolated */
        st = CLENC_ERR_MODEL_FORMAT;
    clenc__words_free(&in);
    clenc__words_free(&out);
    if (pt)
        pt->free(pt);
    json_decref(obj);
    return (void *)(intptr_t)st;
}

void test_tj_bpe_deep_pattern_compiles_on_a_small_stack(void)
{
    enum { DEPTH = 2000 };
    char *spec = malloc(2 * DEPTH + 256);
    CU_ASSERT_FATAL(spec != NULL);
    int k = sprintf(spec, "{\"type\": \"Split\", \"behavior\": \"Isolated\", "
                          "\"invert\": false, \"pattern\": {\"Regex\": \"");
    for (int i = 0; i < DEPTH; i++)
        spec[k++] = '(';
    spec[k++] = 'a';
    for (int i = 0; i < DEPTH; i++)
        spec[k++] = ')';
    strcpy(spec + k, "\"}}");
    pthread_attr_t attr;
    pthread_t thread;
    void *result = (void *)(intptr_t)CLENC_ERR_INVALID_ARG;
    CU_ASSERT_FATAL(pthread_attr_init(&attr) == 0);
    CU_ASSERT_FATAL(pthread_attr_setstacksize(&attr, 256 << 10) == 0);
    CU_ASSERT_FATAL(pthread_create(&thread, &attr, parse_deep, spec) == 0);
    pthread_join(thread, &result);
    pthread_attr_destroy(&attr);
    ASSERT_STATUS((clenc_status)(intptr_t)result, CLENC_OK);
    free(spec);
}

/* ------------------------------------------------------ long inputs */

/* A word longer than CLENC__TJ_MAX_WORD is merged in chunks of at most
 * that many bytes, cut at character boundaries (pipeline.h): the ids are
 * those of the chunks, and the time stays linear in the word. */
void test_tj_bpe_long_word_is_cut_in_chunks(void)
{
    json_t *obj = tj_parse_text(
        BPE_HEAD "\"vocab\": {\"a\": 0, \"aa\": 1, \"aaaa\": 2, \"\xc3\xa9\": 3,"
                 " \"a\xc3\xa9\": 4}, \"merges\": [\"a a\", \"aa aa\", "
                 "\"a \xc3\xa9\"]}");
    clenc__tmodel *m =
        tj_parse_model(clenc__tmodel_parse, obj, "long.json", "model");
    /* 4095 a, then é across the 4096 boundary: the first chunk ends before
     * it (4095 bytes: 1023 aaaa, aa, a), the second holds é and the rest. */
    const size_t n = 3 * CLENC__TJ_MAX_WORD;
    char *word = tj_filled(n, 'a');
    word[CLENC__TJ_MAX_WORD - 1] = '\xc3';
    word[CLENC__TJ_MAX_WORD] = '\xa9';
    clenc__ids ids = {0};
    ASSERT_STATUS(m->run(m, word, n, &ids), CLENC_OK);
    /* [0, 4095): 1023 aaaa, aa, a; [4095, 8191): é (no a before it to
     * merge with), 1023 aaaa, aa; [8191, 12287): 1024 aaaa; then one a. */
    const size_t want_n = 1025 + 1025 + 1024 + 1;
    CU_ASSERT_EQUAL(ids.n, want_n);
    if (ids.n == want_n) {
        CU_ASSERT(ids.v[1022] == 2 && ids.v[1023] == 1 && ids.v[1024] == 0);
        CU_ASSERT(ids.v[1025] == 3 && ids.v[1026] == 2);
        CU_ASSERT(ids.v[2049] == 1 && ids.v[2050] == 2);
        CU_ASSERT(ids.v[want_n - 2] == 2 && ids.v[want_n - 1] == 0);
    }
    clenc__ids_free(&ids);
    free(word);

    /* 4 MB of one letter: linear (chunks), where one O(n log n) word
     * would hold 4 M symbols at once. */
    const size_t big = (size_t)4 << 20;
    word = tj_filled(big, 'a');
    const uint64_t t0 = clenc__now_ns();
    ASSERT_STATUS(m->run(m, word, big, &ids), CLENC_OK);
    const double seconds = (double)(clenc__now_ns() - t0) * 1e-9;
    printf("\n    BPE on a 4 MB word: %.3f s", seconds);
    CU_ASSERT_EQUAL(ids.n, big / 4);
    CU_ASSERT(seconds < 30.0); /* measured 1.0 s, 3.0 s with the sanitizers */
    clenc__ids_free(&ids);
    free(word);
    m->free(m);
    json_decref(obj);
}

/* Byte fallback with a long prefix makes each character a thousand
 * symbols: a chunk ends at CLENC__TJ_MAX_WORD symbols too, so a word's
 * memory stays bounded (here the ids alone need 2 MB; 300 characters in
 * one chunk would hold 8 MB of symbols). Without merges the ids are
 * tokenizers' whatever the chunks. */
void test_tj_bpe_byte_fallback_symbols_stay_bounded(void)
{
    enum { PREFIX = 1000, CHARS = 300 };
    char *spec = malloc(PREFIX + 512);
    CU_ASSERT_FATAL(spec != NULL);
    int k = sprintf(spec, BPE_HEAD "\"byte_fallback\": true, "
                                   "\"continuing_subword_prefix\": \"");
    memset(spec + k, 'x', PREFIX);
    k += PREFIX;
    sprintf(spec + k, "\", \"vocab\": {\"a\": 0, \"<0x61>\": 1, "
                      "\"<0x78>\": 2}, \"merges\": []}");
    json_t *obj = tj_parse_text(spec);
    clenc__tmodel *m =
        tj_parse_model(clenc__tmodel_parse, obj, "fallback.json", "model");
    char word[CHARS];
    memset(word, 'a', sizeof word);
    clenc__ids ids = {0};
    clenc__largest_block(1);
    ASSERT_STATUS(m->run(m, word, sizeof word, &ids), CLENC_OK);
    const size_t largest = clenc__largest_block(1);
    printf("\n    %zu ids, largest block %zu KB", ids.n, largest >> 10);
    CU_ASSERT_EQUAL(ids.n, 1 + (CHARS - 1) * (PREFIX + 1));
    int right = ids.n > PREFIX && ids.v[0] == 0 && ids.v[PREFIX] == 2 &&
                ids.v[PREFIX + 1] == 1;
    CU_ASSERT(right);
    CU_ASSERT(largest <= ((size_t)2 << 20)); /* the ids' 2 MB */
    clenc__ids_free(&ids);
    m->free(m);
    json_decref(obj);
    free(spec);
}

/* GPT-2's pattern over a long text: one search per word, each from where
 * the last ended, so the time grows with the text, not its square. */
void test_tj_bpe_byte_level_long_text_is_linear(void)
{
    json_t *obj = tj_parse_text("{\"type\": \"ByteLevel\", "
                                "\"add_prefix_space\": true, \"trim_offsets\": "
                                "true, \"use_regex\": true}");
    clenc__pretok *pt =
        tj_parse_pretok(clenc__pretok_parse, obj, "long.json", "pre_tokenizer");
    static const char unit[] = "It's 12 o'clock;  caf\xc3\xa9 \xe4\xb8\xad\n";
    double seconds[2];
    size_t words[2];
    for (int k = 0; k < 2; k++) {
        const size_t reps = k ? 40000 : 4000;
        clenc__words in = {0}, out = {0};
        in.at_start = 1;
        ASSERT_STATUS(clenc__words_add(&in, NULL, 0), CLENC_OK);
        for (size_t r = 0; r < reps; r++)
            ASSERT_STATUS(clenc__words_extend(&in, unit, sizeof unit - 1),
                          CLENC_OK);
        const uint64_t t0 = clenc__now_ns();
        ASSERT_STATUS(pt->run(pt, &in, &out), CLENC_OK);
        seconds[k] = (double)(clenc__now_ns() - t0) * 1e-9;
        words[k] = out.n;
        clenc__words_free(&in);
        clenc__words_free(&out);
    }
    printf("\n    ByteLevel: %zu words in %.3f s, %zu in %.3f s", words[0],
           seconds[0], words[1], seconds[1]);
    CU_ASSERT_EQUAL(words[1], 10 * words[0]);
    /* Ten times the text: measured 10x the time; quadratic would be 100x. */
    CU_ASSERT(seconds[1] < 40.0 * seconds[0] + 0.05);
    pt->free(pt);
    json_decref(obj);
}

/* ---------------------------------------------------------- threads */

typedef struct shared_run {
    const clenc__pretok *pt;
    const clenc__tmodel *m;
    const json_t *pre_cases, *model_cases;
    size_t mismatches;
} shared_run;

static void *run_shared(void *arg)
{
    shared_run *r = arg;
    size_t i;
    const json_t *c;
    for (int round = 0; round < 3; round++) {
        json_array_foreach(r->pre_cases, i, c) {
            clenc__words out = {0};
            r->mismatches += !tj_words_match(r->pt, json_object_get(c, "text"),
                                             1, json_object_get(c, "words"),
                                             &out);
            clenc__words_free(&out);
        }
        json_array_foreach(r->model_cases, i, c) {
            const json_t *word = json_object_get(c, "word");
            clenc__ids ids = {0};
            r->mismatches += r->m->run(r->m, json_string_value(word),
                                       json_string_length(word),
                                       &ids) != CLENC_OK ||
                             !tj_same_ids(&ids, json_object_get(c, "ids"));
            clenc__ids_free(&ids);
        }
    }
    return NULL;
}

/* One parsed pre-tokenizer (its compiled regex) and model serve several
 * threads at once with the answers of one. */
void test_tj_bpe_threads_share_components(void)
{
    json_t *tj = tj_load_tokenizer("assorted_gpt");
    json_t *cases = tj_load_cases("assorted_gpt");
    clenc__pretok *pt = tj_parse_pretok(clenc__pretok_parse,
                                        json_object_get(tj, "pre_tokenizer"),
                                        "assorted_gpt", "pre_tokenizer");
    clenc__tmodel *m =
        tj_parse_model(clenc__tmodel_parse, json_object_get(tj, "model"),
                       "assorted_gpt", "model");
    enum { THREADS = 4 };
    shared_run runs[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        runs[t] = (shared_run){pt, m, json_object_get(cases, "pre_tokenizer"),
                               json_object_get(cases, "model"), 0};
        CU_ASSERT_FATAL(pthread_create(&threads[t], NULL, run_shared,
                                       &runs[t]) == 0);
    }
    size_t mismatches = 0;
    for (int t = 0; t < THREADS; t++) {
        pthread_join(threads[t], NULL);
        mismatches += runs[t].mismatches;
    }
    CU_ASSERT(json_array_size(json_object_get(cases, "model")) > 100);
    CU_ASSERT_EQUAL(mismatches, 0);
    pt->free(pt);
    m->free(m);
    json_decref(tj);
    json_decref(cases);
}

/* ---------------------------------------------------------- faults */

static const char *const fault_specs[] = {
    "{\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": "
    "false, \"use_regex\": true}",
    "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", "
    "\"pattern\": {\"String\": \"a.\"}, \"behavior\": \"MergedWithNext\", "
    "\"invert\": false}, {\"type\": \"Split\", \"pattern\": {\"Regex\": "
    "\"\\\\s+|(?=b)\"}, \"behavior\": \"Contiguous\", \"invert\": true}]}",
    BPE_HEAD "\"unk_token\": \"<unk>\", \"byte_fallback\": true, "
             "\"continuing_subword_prefix\": \"\", \"vocab\": {\"<unk>\": 0, "
             "\"a\": 1, \"b\": 2, \"ab\": 3, \"abab\": 4, \"<0x63>\": 5}, "
             "\"merges\": [[\"a\", \"b\"], [\"ab\", \"ab\"]]}",
};

/* Parses each component and runs it on a text; any failure is returned. */
static clenc_status fault_scenario(json_t *const *objs, char *digest,
                                   size_t room)
{
    static const char text[] = "  a.ba.b Héllo, 中文 abab abcab  ";
    clenc_status st = CLENC_OK;
    digest[0] = '\0';
    for (size_t i = 0; i < 3 && st == CLENC_OK; i++)
        st = i < 2 ? tj_parse_and_run(TJ_PRETOK, objs[i], text, digest, room)
                   : tj_parse_and_run(TJ_MODEL, objs[i], "ababcab", digest,
                                      room);
    return st;
}

/* Every allocation of parsing and running, failed in turn: each failure
 * is CLENC_ERR_OUT_OF_MEMORY with a message, leaves nothing allocated,
 * and the same work succeeds afterwards with the same answer. */
void test_tj_bpe_faults_leave_nothing(void)
{
    enum { COUNT = sizeof fault_specs / sizeof *fault_specs };
    json_t *objs[COUNT];
    for (size_t i = 0; i < COUNT; i++)
        objs[i] = tj_parse_text(fault_specs[i]);
    char want[4096] = "";
    ASSERT_STATUS(fault_scenario(objs, want, sizeof want), CLENC_OK);
    /* abab, then c by its byte, then ab. */
    CU_ASSERT(strstr(want, "|4,5,3,") != NULL);
    CU_ASSERT(tj_fail_each_allocation(fault_scenario, objs, want) >= 30);
    for (size_t i = 0; i < COUNT; i++)
        json_decref(objs[i]);
}
