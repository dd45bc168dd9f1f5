/* test_tokenizer.c — the WordPiece tokenizer: Hugging Face's reference ids case by case, special tokens, and strict rejection of bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "tokenizer.h"

/* Written by tests/fixtures/make_tokenizer_fixtures.py; paths are relative
 * to the repository root, where `make check` runs the tests. */
#define MINILM_VOCAB "tests/fixtures/minilm_vocab.txt"
#define MINILM_CASES "tests/fixtures/tokenizer_minilm.json"
#define TINY_CASES "tests/fixtures/tokenizer_tiny.json"

/* The five special tokens and a few words, in a line order unlike BERT's. */
#define SPECIALS_VOCAB "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        fprintf(stderr, "\n    cannot read %s: line %d: %s\n", path, err.line,
                err.text);
    CU_ASSERT_FATAL(root != NULL);
    return root;
}

static clenc__tokenizer *load_mem(const char *vocab,
                                  const clenc__tokenizer_options *opt)
{
    clenc__tokenizer *tok = NULL;
    ASSERT_STATUS(clenc__tokenizer_load_mem(vocab, strlen(vocab), "test", opt,
                                            &tok),
                  CLENC_OK);
    CU_ASSERT_FATAL(tok != NULL);
    return tok;
}

/* Tokenizes each case into buffers of exactly max_len and compares ids and
 * type ids; prints the first mismatch. Returns the number of mismatches. */
static size_t check_cases(const clenc__tokenizer *tok, const json_t *cases,
                          const char *label)
{
    size_t mismatches = 0, i;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        const char *text = json_string_value(json_object_get(c, "text"));
        const json_t *pair = json_object_get(c, "pair");
        const char *text_pair = json_string_value(pair); /* NULL for null */
        size_t max_len = (size_t)json_integer_value(json_object_get(c, "max_len"));
        const json_t *want = json_object_get(c, "ids");
        const json_t *want_types = json_object_get(c, "type_ids");
        CU_ASSERT_FATAL(text && max_len > 0 && json_is_array(want) &&
                        json_is_array(want_types));
        int32_t *ids = malloc(max_len * sizeof *ids);
        int32_t *types = malloc(max_len * sizeof *types);
        CU_ASSERT_FATAL(ids && types);
        size_t n = 0;
        clenc_status st =
            clenc__tokenize(tok, text, text_pair, max_len, ids, types, &n);
        size_t want_n = json_array_size(want), at = 0;
        long long want_id = -1, want_type = -1;
        int got_id = -1, got_type = -1;
        if (st == CLENC_OK) {
            while (at < n && at < want_n &&
                   ids[at] == json_integer_value(json_array_get(want, at)) &&
                   types[at] ==
                       json_integer_value(json_array_get(want_types, at)))
                at++;
            if (at < want_n) {
                want_id = json_integer_value(json_array_get(want, at));
                want_type = json_integer_value(json_array_get(want_types, at));
            }
            if (at < n) {
                got_id = ids[at];
                got_type = types[at];
            }
        }
        if (st != CLENC_OK || at < n || at < want_n) {
            if (mismatches++ == 0)
                fprintf(stderr,
                        "\n    %s case %zu: text \"%s\" pair %s%s%s "
                        "max_len %zu: %s; first mismatch at position %zu of "
                        "%zu: expected id %lld (type %lld), got %d (type %d) "
                        "of %zu\n",
                        label, i, text, text_pair ? "\"" : "",
                        text_pair ? text_pair : "null", text_pair ? "\"" : "",
                        max_len,
                        st == CLENC_OK ? "ids differ" : clenc_last_error(), at,
                        want_n, want_id, want_type, got_id, got_type, n);
        }
        free(ids);
        free(types);
    }
    if (mismatches)
        fprintf(stderr, "    %s: %zu of %zu cases differ\n", label, mismatches,
                json_array_size(cases));
    return mismatches;
}

void test_tokenizer_matches_hf_minilm(void)
{
    clenc__tokenizer *tok = NULL;
    ASSERT_STATUS(clenc__tokenizer_load(MINILM_VOCAB, NULL, &tok), CLENC_OK);
    CU_ASSERT_FATAL(tok != NULL);
    CU_ASSERT_EQUAL(clenc__tokenizer_vocab_size(tok), 30522);
    json_t *cases = load_json(MINILM_CASES);
    CU_ASSERT(json_array_size(cases) >= 60);
    CU_ASSERT_EQUAL(check_cases(tok, cases, MINILM_CASES), 0);
    json_decref(cases);
    clenc__tokenizer_free(tok);
}

/* The tiny vocabulary puts [CLS] at 2 and [SEP] at 3, repeats "fox" and
 * "##s" (the later line wins), and runs under each option HF has. */
void test_tokenizer_tiny_vocab_matches_hf_under_each_option(void)
{
    json_t *root = load_json(TINY_CASES);
    const char *vocab = json_string_value(json_object_get(root, "vocab"));
    const json_t *groups = json_object_get(root, "groups"), *group;
    size_t g;
    CU_ASSERT_FATAL(vocab && json_array_size(groups) >= 4);
    json_array_foreach(groups, g, group) {
        const json_t *o = json_object_get(group, "options");
        const json_t *strip = json_object_get(o, "strip_accents");
        clenc__tokenizer_options opt;
        clenc__tokenizer_options_init(&opt);
        opt.lowercase = json_is_true(json_object_get(o, "lowercase"));
        opt.strip_accents = json_is_null(strip) ? -1 : json_is_true(strip);
        opt.chinese_chars = json_is_true(json_object_get(o, "chinese_chars"));
        clenc__tokenizer *tok = NULL;
        ASSERT_STATUS(clenc__tokenizer_load(vocab, &opt, &tok), CLENC_OK);
        CU_ASSERT_FATAL(tok != NULL);
        char label[64];
        snprintf(label, sizeof label, "tiny group %zu", g);
        CU_ASSERT_EQUAL(check_cases(tok, json_object_get(group, "cases"), label),
                        0);
        clenc__tokenizer_free(tok);
    }
    json_decref(root);
}

void test_tokenizer_special_ids_looked_up_by_string(void)
{
    clenc__tokenizer_options opt;
    clenc__tokenizer_options_init(&opt);
    opt.cls = "<s>";
    opt.sep = "</s>";
    opt.unk = "<unk>";
    opt.pad = "<pad>";
    opt.mask = NULL; /* none */
    clenc__tokenizer *tok =
        load_mem("hello\n<pad>\n</s>\n<unk>\n[CLS]\n<s>\n##s\n", &opt);
    CU_ASSERT_EQUAL(clenc__tokenizer_token_id(tok, "<s>"), 5);
    CU_ASSERT_EQUAL(clenc__tokenizer_token_id(tok, "absent"), -1);
    int32_t ids[16], types[16];
    size_t n = 0;
    /* "[CLS]" is only punctuation and a word here; "</s>" in the text is
     * the special token, as HF matches it before normalising. */
    ASSERT_STATUS(clenc__tokenize(tok, "hellos [CLS]x</s>", NULL, 16, ids,
                                  types, &n),
                  CLENC_OK);
    const int32_t want[] = {5, 0, 6, 3, 3, 3, 3, 2, 2};
    CU_ASSERT_EQUAL(n, 9);
    for (size_t i = 0; i < n && i < 9; i++)
        CU_ASSERT_EQUAL(ids[i], want[i]);
    clenc__tokenizer_free(tok);
}

void test_tokenizer_missing_special_token_is_model_format(void)
{
    clenc__tokenizer *tok = (clenc__tokenizer *)1;
    const char *no_sep = "[PAD]\n[UNK]\n[CLS]\n[MASK]\nhello\n";
    ASSERT_STATUS(clenc__tokenizer_load_mem(no_sep, strlen(no_sep), "no-sep",
                                            NULL, &tok),
                  CLENC_ERR_MODEL_FORMAT);
    CU_ASSERT_PTR_NULL(tok);
    ASSERT_ERROR_MENTIONS("'[SEP]'");
    ASSERT_ERROR_MENTIONS("no-sep");
    const char *no_mask = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n";
    ASSERT_STATUS(clenc__tokenizer_load_mem(no_mask, strlen(no_mask), "x",
                                            NULL, &tok),
                  CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("'[MASK]'");
    clenc__tokenizer_options opt;
    clenc__tokenizer_options_init(&opt);
    opt.mask = NULL;
    ASSERT_STATUS(clenc__tokenizer_load_mem(no_mask, strlen(no_mask), "x",
                                            &opt, &tok),
                  CLENC_OK);
    clenc__tokenizer_free(tok);
}

void test_tokenizer_invalid_utf8_names_offset(void)
{
    clenc__tokenizer *tok = load_mem(SPECIALS_VOCAB "ab\n", NULL);
    const struct {
        const char *text, *offset;
    } bad[] = {
        {"ab\x80" "c", "byte offset 2"},          /* lone continuation byte */
        {"abc\xE2\x82", "byte offset 3"},         /* truncated 3-byte form */
        {"a\xC0\xAF" "b", "byte offset 1"},       /* overlong '/' */
        {"a\xE0\x80\xAF", "byte offset 1"},       /* overlong, 3 bytes */
        {"xy\xED\xA0\x80", "byte offset 2"},      /* surrogate U+D800 */
        {"\xF4\x90\x80\x80", "byte offset 0"},    /* past U+10FFFF */
        {"ok \xC3\xA9 \xFF", "byte offset 6"},    /* after a valid 'é' */
    };
    int32_t ids[16], types[16];
    size_t n = 99;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_STATUS(clenc__tokenize(tok, bad[i].text, NULL, 16, ids, types,
                                      &n),
                      CLENC_ERR_INVALID_ARG);
        ASSERT_ERROR_MENTIONS(bad[i].offset);
        ASSERT_ERROR_MENTIONS("UTF-8");
        CU_ASSERT_EQUAL(n, 0);
    }
    ASSERT_STATUS(clenc__tokenize(tok, "ab", "a\x80", 16, ids, types, &n),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("text pair");
    ASSERT_ERROR_MENTIONS("byte offset 1");
    clenc__tokenizer_free(tok);
}

void test_tokenizer_max_len_too_small_is_invalid_arg(void)
{
    clenc__tokenizer *tok = load_mem(SPECIALS_VOCAB "ab\n", NULL);
    int32_t ids[4], types[4];
    size_t n;
    ASSERT_STATUS(clenc__tokenize(tok, "ab", NULL, 1, ids, types, &n),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("max_len 1");
    ASSERT_STATUS(clenc__tokenize(tok, "ab", NULL, 0, ids, types, &n),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_STATUS(clenc__tokenize(tok, "ab", "ab", 2, ids, types, &n),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("max_len 2");
    /* The smallest that fit keep no text, as HF does. */
    ASSERT_STATUS(clenc__tokenize(tok, "ab ab", NULL, 2, ids, types, &n),
                  CLENC_OK);
    CU_ASSERT(n == 2 && ids[0] == 2 && ids[1] == 3);
    ASSERT_STATUS(clenc__tokenize(tok, "ab", "ab", 3, ids, types, &n),
                  CLENC_OK);
    CU_ASSERT(n == 3 && ids[2] == 3 && types[1] == 0 && types[2] == 1);
    clenc__tokenizer_free(tok);
}

void test_tokenizer_missing_vocab_file_is_io_naming_path(void)
{
    char *dir = test_tmpdir("tokenizer");
    char *path = test_path(dir, "no-such-vocab.txt");
    clenc__tokenizer *tok = (clenc__tokenizer *)1;
    ASSERT_STATUS(clenc__tokenizer_load(path, NULL, &tok), CLENC_ERR_IO);
    CU_ASSERT_PTR_NULL(tok);
    ASSERT_ERROR_MENTIONS(path);
    /* An empty file is a malformed vocabulary, not an I/O error. */
    char *empty = test_path(dir, "empty.txt");
    CU_ASSERT_FATAL(test_write_file(empty, "", 0));
    ASSERT_STATUS(clenc__tokenizer_load(empty, NULL, &tok),
                  CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("empty");
    free(empty);
    free(path);
    free(dir);
}

/* CRLF endings, a last line without one, a repeated token (the later line
 * wins, as in HF's dict), and the size counting every line. */
void test_tokenizer_vocab_lines_crlf_and_duplicates(void)
{
    const char *text = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\n[MASK]\r\nword\r\n"
                       "\r\nword\r\nlast";
    clenc__tokenizer *tok = load_mem(text, NULL);
    CU_ASSERT_EQUAL(clenc__tokenizer_vocab_size(tok), 9);
    CU_ASSERT_EQUAL(clenc__tokenizer_token_id(tok, "word"), 7);
    CU_ASSERT_EQUAL(clenc__tokenizer_token_id(tok, "last"), 8);
    CU_ASSERT_EQUAL(clenc__tokenizer_token_id(tok, ""), 6);
    CU_ASSERT_EQUAL(clenc__tokenizer_token_id(tok, "word\r"), -1);
    int32_t ids[8], types[8];
    size_t n = 0;
    ASSERT_STATUS(clenc__tokenize(tok, "Word LAST", NULL, 8, ids, types, &n),
                  CLENC_OK);
    CU_ASSERT(n == 4 && ids[0] == 2 && ids[1] == 7 && ids[2] == 8 &&
              ids[3] == 3);
    clenc__tokenizer_free(tok);
}

void test_tokenizer_vocab_rejects_nul_and_bad_utf8(void)
{
    clenc__tokenizer *tok = (clenc__tokenizer *)1;
    const char nul[] = SPECIALS_VOCAB "a\0b\n";
    ASSERT_STATUS(clenc__tokenizer_load_mem(nul, sizeof nul - 1, "nul", NULL,
                                            &tok),
                  CLENC_ERR_MODEL_FORMAT);
    CU_ASSERT_PTR_NULL(tok);
    ASSERT_ERROR_MENTIONS("line 6");
    const char *utf8 = SPECIALS_VOCAB "ok\nb\xC3(\n";
    ASSERT_STATUS(clenc__tokenizer_load_mem(utf8, strlen(utf8), "utf8", NULL,
                                            &tok),
                  CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("line 7");
    ASSERT_ERROR_MENTIONS("UTF-8");
}
