/* test_tokenizer.c — the WordPiece tokenizer: Hugging Face's reference ids case by case, special tokens, and strict rejection of bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "text/tokenizer.h"
#include "tj_helpers.h"

/* Written by tests/fixtures/make_tokenizer_fixtures.py; paths are relative
 * to the repository root, where `make check` runs the tests. */
#define MINILM_VOCAB "tests/fixtures/minilm_vocab.txt"
#define MINILM_CASES "tests/fixtures/tokenizer_minilm.json"
#define TINY_CASES "tests/fixtures/tokenizer_tiny.json"

/* The five special tokens and a few words, in a line order unlike BERT's. */
#define SPECIALS_VOCAB "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n"

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
    json_t *cases = tj_load_json(MINILM_CASES);
    CU_ASSERT(json_array_size(cases) >= 60);
    CU_ASSERT_EQUAL(check_cases(tok, cases, MINILM_CASES), 0);
    json_decref(cases);
    clenc__tokenizer_free(tok);
}

/* The tiny vocabulary puts [CLS] at 2 and [SEP] at 3, repeats "fox" and
 * "##s" (the later line wins), and runs under each option HF has. */
void test_tokenizer_tiny_vocab_matches_hf_under_each_option(void)
{
    json_t *root = tj_load_json(TINY_CASES);
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

/* ------------------------------------------- hash flooding of vocab.txt */

/* FNV-1a 64 from its definition: the fixed hash the table once used. */
static uint64_t fnv1a(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 0x100000001b3ull;
    return h;
}

#define FNV_OFFSET 0xcbf29ce484222325ull
#define COLLIDE_BITS 20 /* every table of up to 2^20 slots */
#define COLLIDE_STEPS 17 /* 2^17 tokens */
#define BLOCK 3

static const char letters[] =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static void block_text(size_t c, char *b)
{
    for (int i = 0; i < BLOCK; i++, c /= 62)
        b[i] = letters[c % 62];
}

/* Two blocks that take FNV-1a state h to the same low COLLIDE_BITS bits: a
 * birthday search, about 2^10 tries. The low bits of FNV-1a's state depend
 * only on the low bits before, so every continuation keeps the collision. */
static uint64_t collide_block(uint64_t h, char pair[2][BLOCK], int32_t *seen)
{
    const uint64_t mask = (1u << COLLIDE_BITS) - 1;
    memset(seen, 0xFF, ((size_t)1 << COLLIDE_BITS) * sizeof *seen);
    for (size_t c = 0; c < 62 * 62 * 62; c++) {
        char b[BLOCK];
        block_text(c, b);
        uint64_t s = fnv1a(h, b, BLOCK);
        int32_t *slot = &seen[s & mask];
        if (*slot >= 0) {
            block_text((size_t)*slot, pair[0]);
            memcpy(pair[1], b, BLOCK);
            return s;
        }
        *slot = (int32_t)c;
    }
    CU_FAIL_FATAL("no FNV-1a collision among 62^3 blocks");
    return 0;
}

/* 2^17 tokens whose FNV-1a hashes share their low 20 bits: all in one home
 * slot of the old fixed-seed table, whose loading then took 7-8 s. With a
 * keyed hash and a bound on probing, no lookup passes MAX_PROBES slots. */
void test_tokenizer_vocab_collisions_stay_bounded(void)
{
    const size_t tokens = (size_t)1 << COLLIDE_STEPS, width = COLLIDE_STEPS * BLOCK;
    char pairs[COLLIDE_STEPS][2][BLOCK];
    int32_t *seen = malloc(((size_t)1 << COLLIDE_BITS) * sizeof *seen);
    char *text = malloc(tokens * (width + 1));
    CU_ASSERT_FATAL(seen && text);
    uint64_t h = FNV_OFFSET;
    for (int step = 0; step < COLLIDE_STEPS; step++)
        h = collide_block(h, pairs[step], seen);
    for (size_t t = 0; t < tokens; t++) {
        char *line = text + t * (width + 1);
        for (int step = 0; step < COLLIDE_STEPS; step++)
            memcpy(line + step * BLOCK, pairs[step][(t >> step) & 1], BLOCK);
        line[width] = '\n';
    }
    const uint64_t mask = (1u << COLLIDE_BITS) - 1;
    size_t colliding = 0;
    for (size_t t = 0; t < tokens; t++)
        colliding += (fnv1a(FNV_OFFSET, text + t * (width + 1), width) & mask) ==
                     (h & mask);
    CU_ASSERT_EQUAL_FATAL(colliding, tokens);

    clenc__vocab v;
    ASSERT_STATUS(clenc__vocab_parse(text, tokens * (width + 1), "crafted", &v),
                  CLENC_OK);
    CU_ASSERT_EQUAL_FATAL(v.lines, tokens);
    const size_t probes = clenc__vocab_max_probes(&v);
    printf("\n    2^%d colliding tokens: at most %zu probes a lookup (bound %d)",
           COLLIDE_STEPS, probes, CLENC__VOCAB_MAX_PROBES);
    CU_ASSERT(probes >= 1 && probes <= CLENC__VOCAB_MAX_PROBES);
    size_t wrong = 0;
    for (size_t t = 0; t < tokens && probes <= CLENC__VOCAB_MAX_PROBES; t++)
        wrong += clenc__vocab_find(&v, "", 0, text + t * (width + 1), width) !=
                 (int32_t)t;
    CU_ASSERT_EQUAL(wrong, 0);
    /* Absent, yet colliding under FNV-1a: the last step's blocks swapped
     * for a third string of the same width. */
    char absent[COLLIDE_STEPS * BLOCK];
    memcpy(absent, text, width);
    memcpy(absent + width - BLOCK, "~~~", BLOCK);
    CU_ASSERT_EQUAL(clenc__vocab_find(&v, "", 0, absent, width), -1);
    clenc__vocab_free(&v);
    free(text);
    free(seen);
}

/* SipHash against outside values: SipHash-2-4 from the paper's reference
 * vectors (key 00..0f, message 00..len-1), SipHash-1-3 with key 0 from
 * CPython 3.11 (PYTHONHASHSEED=0 makes its bytes hash exactly that). Every
 * split of the message into two parts hashes the same. */
void test_tokenizer_siphash_matches_reference_vectors(void)
{
    unsigned char msg[64];
    for (int i = 0; i < 64; i++)
        msg[i] = (unsigned char)i;
    const uint64_t key[2] = {0x0706050403020100ull, 0x0f0e0d0c0b0a0908ull};
    const uint64_t zero[2] = {0, 0};
    const struct {
        const uint64_t *key;
        int c, d;
        const void *data;
        size_t len;
        uint64_t want;
    } v[] = {
        {key, 2, 4, msg, 0, 0x726fdb47dd0e0e31ull},
        {key, 2, 4, msg, 8, 0x93f5f5799a932462ull},
        {key, 2, 4, msg, 15, 0xa129ca6149be45e5ull},
        {key, 2, 4, msg, 63, 0x958a324ceb064572ull},
        {zero, 1, 3, "siphash", 7, 0x8264ceeccb16bcbeull},
        {zero, 1, 3, msg, 8, 0xead411e67ebe2eeaull},
        {zero, 1, 3, msg, 15, 0xf30eb725bb91c9eaull},
        {zero, 1, 3, msg, 63, 0x385d3e39e5f37359ull},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        size_t wrong = 0;
        for (size_t split = 0; split <= v[i].len; split++)
            wrong += clenc__siphash(v[i].key, v[i].c, v[i].d, v[i].data, split,
                                    (const char *)v[i].data + split,
                                    v[i].len - split) != v[i].want;
        if (wrong)
            fprintf(stderr, "\n    SipHash-%d-%d of %zu bytes: %016llx, want "
                            "%016llx",
                    v[i].c, v[i].d, v[i].len,
                    (unsigned long long)clenc__siphash(v[i].key, v[i].c, v[i].d,
                                                       v[i].data, v[i].len, "", 0),
                    (unsigned long long)v[i].want);
        CU_ASSERT_EQUAL(wrong, 0);
    }
}

/* ----------------------------------------- pairs: work bounded by max_len */

/* Hugging Face's LongestFirst for a pair, as tokenizers' truncate_encodings
 * writes it (utils/truncation.rs): the targets for lengths n1, n2 within
 * `room` tokens. */
static void hf_longest_first(size_t n1, size_t n2, size_t room, size_t *k1,
                             size_t *k2)
{
    *k1 = n1;
    *k2 = n2;
    if (n1 + n2 <= room)
        return;
    int swap = n1 > n2;
    size_t a = swap ? n2 : n1, b = swap ? n1 : n2; /* a <= b */
    size_t ta = a, tb;
    if (a > room)
        tb = a;
    else
        tb = a > room - a ? a : room - a;
    if (ta + tb > room) {
        ta = room / 2;
        tb = ta + room % 2;
    }
    if (ta > a)
        ta = a;
    if (tb > b)
        tb = b;
    *k1 = swap ? tb : ta;
    *k2 = swap ? ta : tb;
}

/* `bytes` bytes of `sentence` repeated, NUL-terminated. */
static char *repeat(const char *sentence, size_t bytes)
{
    size_t n = strlen(sentence);
    char *s = malloc(bytes + 1);
    CU_ASSERT_FATAL(s != NULL);
    for (size_t i = 0; i < bytes; i++)
        s[i] = sentence[i % n];
    s[bytes] = '\0';
    return s;
}

/* Pieces of text alone (no [CLS]/[SEP]), at most cap; returns the count. */
static size_t pieces(const clenc__tokenizer *tok, const char *text,
                     int32_t *out, size_t cap)
{
    int32_t *ids = malloc((cap + 2) * sizeof *ids);
    int32_t *types = malloc((cap + 2) * sizeof *types);
    size_t n = 0;
    CU_ASSERT_FATAL(ids && types);
    ASSERT_STATUS(clenc__tokenize(tok, text, NULL, cap + 2, ids, types, &n),
                  CLENC_OK);
    memcpy(out, ids + 1, (n - 2) * sizeof *out);
    free(ids);
    free(types);
    return n - 2;
}

#define PASSAGE_BYTES ((size_t)10 << 20)

/* A pair of a short query and a 10 MB passage reads about max_len pieces of
 * the passage, not all of it; two long texts with an odd room (where which
 * one is longer decides who gets the odd token) read as far as the shorter
 * one goes. The ids are HF's rule applied to each text's own pieces. */
void test_tokenizer_pair_reads_what_it_keeps(void)
{
    clenc__tokenizer *tok = NULL;
    ASSERT_STATUS(clenc__tokenizer_load(MINILM_VOCAB, NULL, &tok), CLENC_OK);
    CU_ASSERT_FATAL(tok != NULL);
    const int32_t cls = clenc__tokenizer_token_id(tok, "[CLS]");
    const int32_t sep = clenc__tokenizer_token_id(tok, "[SEP]");
    char *huge = repeat("The quick brown fox jumps over the lazy dog. ",
                        PASSAGE_BYTES);
    char *medium = repeat("Sentence embeddings map text to vectors; ", 20000);
    const char *query = "What does the fox jump over?";
    /* Each text's leading pieces, tokenized alone. */
    enum { LEAD = 4096 };
    int32_t *lead[3];
    size_t lead_n[3];
    const char *texts[3] = {query, huge, medium};
    for (int t = 0; t < 3; t++) {
        lead[t] = malloc(LEAD * sizeof *lead[t]);
        char *head = strndup(texts[t], 8 * LEAD);
        lead_n[t] = pieces(tok, head, lead[t], LEAD);
        free(head);
    }
    /* Full lengths for HF's rule: the medium text whole; the huge one is
     * longer than any other, and fewer pieces than bytes. */
    int32_t *all = malloc(20000 * sizeof *all);
    const size_t medium_n = pieces(tok, medium, all, 20000);
    free(all);
    CU_ASSERT_FATAL(medium_n > 2 * 256 && medium_n < 20000);
    const struct {
        int a, b;      /* indices into texts */
        size_t max_len;
        size_t bound;  /* bytes read at most */
    } cases[] = {
        {0, 1, 256, 16 * 256},  /* odd room, the query fits */
        {0, 1, 255, 16 * 256},  /* even room */
        {1, 0, 256, 16 * 256},  /* the passage first */
        {2, 1, 256, 10 * 20000}, /* both past an odd room: the shorter */
        {1, 2, 256, 10 * 20000}, /* ... decides, wherever it is */
        {2, 2, 256, 10 * 20000}, /* equal: the second gets the odd one */
        {1, 1, 255, 16 * 256},   /* both huge, even room: halves */
    };
    const size_t full[3] = {lead_n[0], PASSAGE_BYTES, medium_n};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const int a = cases[c].a, b = cases[c].b;
        const size_t max_len = cases[c].max_len;
        int32_t *ids = malloc(max_len * sizeof *ids);
        int32_t *types = malloc(max_len * sizeof *types);
        memset(ids, 0xFF, max_len * sizeof *ids);
        size_t n = 0, ka, kb;
        hf_longest_first(full[a], full[b], max_len - 3, &ka, &kb);
        const size_t before = clenc__tokenize_bytes_read();
        ASSERT_STATUS(clenc__tokenize(tok, texts[a], texts[b], max_len, ids,
                                      types, &n),
                      CLENC_OK);
        const size_t read = clenc__tokenize_bytes_read() - before;
        printf("\n    pair %zu (%zu + %zu bytes, max_len %zu): read %zu bytes",
               c, strlen(texts[a]), strlen(texts[b]), max_len, read);
        CU_ASSERT(read <= cases[c].bound);
        CU_ASSERT_FATAL(ka <= lead_n[a] && kb <= lead_n[b]);
        CU_ASSERT_EQUAL(n, ka + kb + 3);
        size_t wrong = n == ka + kb + 3 ? 0 : 1;
        for (size_t i = 0; !wrong && i < n; i++) {
            int32_t want = i == 0 || i == ka + 1 || i == n - 1 ? (i ? sep : cls)
                           : i <= ka ? lead[a][i - 1]
                                     : lead[b][i - ka - 2];
            wrong += ids[i] != want || types[i] != (i > ka + 1);
        }
        CU_ASSERT_EQUAL(wrong, 0);
        free(ids);
        free(types);
    }
    for (int t = 0; t < 3; t++)
        free(lead[t]);
    free(medium);
    free(huge);
    clenc__tokenizer_free(tok);
}

/* ------------------------------------------- explicit lengths, NUL bytes */

static size_t tokenize_len(const clenc__tokenizer *tok, const char *text,
                           size_t len, const char *pair, size_t pair_len,
                           int32_t *ids, int32_t *types)
{
    size_t n = 0;
    memset(ids, 0xFF, 64 * sizeof *ids);
    memset(types, 0xFF, 64 * sizeof *types);
    ASSERT_STATUS(clenc__tokenize_n(tok, text, len, pair, pair_len, 64, ids,
                                    types, &n),
                  CLENC_OK);
    return n;
}

/* BertNormalizer's clean_text drops U+0000 like every control character,
 * before words are split: "hello\0world" is the one word "helloworld". A
 * special token is matched in the raw text first, so "[MA\0SK]" is not
 * [MASK]. Lengths, not NULs, end a text given with its length. */
void test_tokenizer_nul_inside_text_is_dropped(void)
{
    clenc__tokenizer *tok = NULL;
    ASSERT_STATUS(clenc__tokenizer_load(MINILM_VOCAB, NULL, &tok), CLENC_OK);
    CU_ASSERT_FATAL(tok != NULL);
    static const struct {
        const char *with_nul;
        size_t len;
        const char *without;
    } cases[] = {
        {"hello\0world", 11, "helloworld"},
        {"\0\0hello world\0", 14, "hello world"},
        {"a [MA\0SK] b", 11, "a [ MASK ] b"}, /* punctuation, a word */
        {"caf\xC3\xA9\0!", 7, "caf\xC3\xA9!"},
    };
    int32_t ids[64], types[64], want[64], want_types[64];
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        size_t n = tokenize_len(tok, cases[c].with_nul, cases[c].len, NULL, 0,
                                ids, types);
        size_t want_n = tokenize_len(tok, cases[c].without,
                                     strlen(cases[c].without), NULL, 0, want,
                                     want_types);
        int same = n == want_n && memcmp(ids, want, n * sizeof *ids) == 0 &&
                   memcmp(types, want_types, n * sizeof *types) == 0;
        if (c == 2) /* not the special: three pieces, [ mask ] */
            same = same && n == 7 &&
                   ids[2] != clenc__tokenizer_token_id(tok, "[MASK]");
        if (!same)
            fprintf(stderr, "\n    case %zu: %zu ids, want %zu", c, n, want_n);
        CU_ASSERT(same);
    }
    /* In a pair, and a pair of length 0 that is still a pair. */
    size_t n = tokenize_len(tok, "a", 1, "hello\0world", 11, ids, types);
    size_t want_n = tokenize_len(tok, "a", 1, "helloworld", 10, want,
                                 want_types);
    CU_ASSERT(n == want_n && memcmp(ids, want, n * sizeof *ids) == 0);
    n = tokenize_len(tok, "a", 1, "", 0, ids, types);
    CU_ASSERT(n == 4 && types[3] == 1 && ids[2] == ids[3]); /* [SEP] [SEP] */
    n = tokenize_len(tok, NULL, 0, NULL, 0, ids, types); /* [CLS] [SEP] */
    CU_ASSERT(n == 2 && types[0] == 0 && types[1] == 0);
    /* The length ends the text: bytes after it are never read. */
    n = tokenize_len(tok, "hello world", 5, NULL, 0, ids, types);
    CU_ASSERT(n == 3 && ids[1] == clenc__tokenizer_token_id(tok, "hello"));
    /* A length past invalid UTF-8 still names its offset. */
    size_t bad_n = 99;
    ASSERT_STATUS(clenc__tokenize_n(tok, "ab\0\xFF", 4, NULL, 0, 64, ids,
                                    types, &bad_n),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("byte offset 3");
    CU_ASSERT_EQUAL(bad_n, 0);
    ASSERT_STATUS(clenc__tokenize_n(tok, NULL, 3, NULL, 0, 64, ids, types,
                                    &bad_n),
                  CLENC_ERR_INVALID_ARG);
    clenc__tokenizer_free(tok);
}
