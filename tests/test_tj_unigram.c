/* test_tj_unigram.c — tokenizer.json's SentencePiece side (Precompiled normalizer, Metaspace, Unigram model) component by component against Hugging Face tokenizers' outputs, and hostile files refused cleanly. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <utf8proc.h>

#include "helpers.h"
#include "text/pipeline.h"
#include "tj_helpers.h"

/* Written by tests/fixtures/make_tokenizer_json_fixtures.py (in
 * TJ_FIXTURES, unigram_spm: SentencePiece's nmt_nfkc map; unigram_hf: byte
 * fallback, Metaspace "first") and make_tj_unigram_fixtures.py (EDGE), from
 * tokenizers 0.23.3. Paths are relative to the repository root. */
#define EDGE "tests/fixtures/tj_unigram_edge.json"

static clenc__jpath path_at(const char *at)
{
    clenc__jpath p = {.file = "tokenizer.json"};
    snprintf(p.at, sizeof p.at, "%s", at);
    return p;
}

/* tokenizers refuses a character no piece covers when there is no unk_id:
 * bad input, whatever the message says. */
static const tj_refusal unknown_char = {CLENC_ERR_INVALID_ARG, ""};

static clenc__normalizer *parse_precompiled(json_t *obj)
{
    return tj_parse_normalizer(clenc__norm_precompiled_parse, obj,
                               "tokenizer.json", "normalizer");
}

static clenc__tmodel *parse_unigram(json_t *obj)
{
    return tj_parse_model(clenc__tmodel_unigram_parse, obj, "tokenizer.json",
                          "model");
}

static clenc__pretok *parse_metaspace(json_t *obj)
{
    return tj_parse_pretok(clenc__pretok_metaspace_parse, obj, "tokenizer.json",
                           "pre_tokenizer");
}

/* EDGE's sections under key ("precompiled", "metaspace", "unigram"):
 * each one component, parsed by its type's own parse, and its cases; no
 * mismatch, and at least `least` cases (reported as `what`). */
static void check_hand_made(const char *key, const char *what, size_t least)
{
    json_t *edge = tj_load_json(EDGE);
    tj_tally t = {0};
    size_t i;
    const json_t *section;
    json_array_foreach(json_object_get(edge, key), i, section) {
        const json_t *cases = json_object_get(section, "cases");
        const char *label = json_string_value(json_object_get(section, "what"));
        if (strcmp(key, "precompiled") == 0) {
            clenc__normalizer *n =
                parse_precompiled(json_object_get(section, "normalizer"));
            tj_check_normalizer_cases(n, cases, NULL, label, &t);
            n->free(n);
        } else if (strcmp(key, "metaspace") == 0) {
            clenc__pretok *pre =
                parse_metaspace(json_object_get(section, "pre_tokenizer"));
            tj_check_pretok_cases(pre, cases, label, &t);
            pre->free(pre);
        } else {
            clenc__tmodel *m = parse_unigram(json_object_get(section, "model"));
            tj_check_model_cases(m, cases, unknown_char, label, &t);
            m->free(m);
        }
    }
    tj_report(what, &t);
    CU_ASSERT_EQUAL(t.mismatches, 0);
    CU_ASSERT(t.count >= least);
    json_decref(edge);
}

/* ------------------------------------------------------ against HF */

void test_tj_unigram_precompiled_matches_hf(void)
{
    json_t *tj = tj_load_tokenizer("unigram_spm");
    json_t *cases = tj_load_cases("unigram_spm");
    json_t *norm = json_object_get(tj, "normalizer");
    CU_ASSERT_FATAL(strcmp(json_string_value(json_object_get(norm, "type")),
                           "Precompiled") == 0);
    clenc__normalizer *n = parse_precompiled(norm);
    const json_t *list = json_object_get(cases, "normalizer");
    CU_ASSERT_FATAL(json_array_size(list) >= 300);
    tj_tally spm = {0};
    tj_check_normalizer_cases(n, list, NULL, "unigram_spm", &spm);
    tj_report("unigram_spm Precompiled", &spm);
    CU_ASSERT_EQUAL(spm.mismatches, 0);

    /* Hand-made maps: a cluster under 6 bytes replaced whole by its first
     * (shortest) key, CR LF one cluster, the characters whose grapheme
     * class changed after utf8proc's Unicode 15. */
    check_hand_made("precompiled", "hand-made Precompiled maps", 50);
    n->free(n);
    json_decref(cases);
    json_decref(tj);
}

/* The check that Precompiled is not plain NFKC: on the fixture's
 * texts utf8proc's NFKC gives another string for many of them (spaces and
 * controls SentencePiece maps, its half-width katakana rules, a cluster cut
 * to its first key), and the normalizer gives tokenizers' string for each.
 * A Precompiled that ran NFKC would fail here. */
void test_tj_unigram_precompiled_is_not_nfkc(void)
{
    json_t *tj = tj_load_tokenizer("unigram_spm");
    json_t *cases = tj_load_cases("unigram_spm");
    clenc__normalizer *n = parse_precompiled(json_object_get(tj, "normalizer"));
    size_t differ = 0, matched = 0, i;
    const json_t *c;
    json_array_foreach(json_object_get(cases, "normalizer"), i, c) {
        const json_t *text = json_object_get(c, "text");
        const json_t *want = json_object_get(c, "normalized");
        utf8proc_uint8_t *nfkc = utf8proc_NFKC(
            (const utf8proc_uint8_t *)json_string_value(text));
        CU_ASSERT_FATAL(nfkc != NULL);
        if (!tj_same_bytes((const char *)nfkc, strlen((const char *)nfkc),
                           want)) {
            differ++;
            clenc__str out = {0};
            ASSERT_STATUS(n->run(n, json_string_value(text),
                                 json_string_length(text), &out),
                          CLENC_OK);
            matched += tj_same_bytes(out.p, out.n, want);
            clenc__str_free(&out);
        }
        free(nfkc);
    }
    /* 177 of 662 differ with tokenizers 0.23.3's fixture */
    CU_ASSERT(differ >= 100);
    CU_ASSERT_EQUAL(matched, differ);

    /* One by name: "ạ̈" is one cluster of 5 bytes whose first key is "ạ"
     * (U+1EA1 once composed): tokenizers drops the diaeresis; NFKC keeps it. */
    clenc__str out = {0};
    const char *text = "a\xcc\xa3\xcc\x88"; /* a, U+0323, U+0308 */
    ASSERT_STATUS(n->run(n, text, strlen(text), &out), CLENC_OK);
    utf8proc_uint8_t *nfkc = utf8proc_NFKC((const utf8proc_uint8_t *)text);
    CU_ASSERT(nfkc && strcmp((const char *)nfkc, "\xe1\xba\xa1\xcc\x88") == 0);
    CU_ASSERT(out.n == 3 && memcmp(out.p, "\xe1\xba\xa1", 3) == 0);
    free(nfkc);
    clenc__str_free(&out);
    n->free(n);
    json_decref(cases);
    json_decref(tj);
}

void test_tj_unigram_metaspace_matches_hf(void)
{
    /* unigram_spm: Sequence[WhitespaceSplit, Metaspace "always"];
     * unigram_hf: Metaspace "first" alone. */
    static const char *const names[] = {"unigram_spm", "unigram_hf"};
    tj_tally fixtures = {0};
    for (size_t t = 0; t < 2; t++) {
        const size_t before = fixtures.count;
        tj_check_fixture(names[t], (tj_sections){NULL, &fixtures, NULL}, NULL);
        CU_ASSERT(fixtures.count - before >= 300);
    }
    tj_report("unigram_spm and unigram_hf pre-tokenizers", &fixtures);
    CU_ASSERT_EQUAL(fixtures.mismatches, 0);
    /* Each scheme, split or not, another replacement, the legacy
     * add_prefix_space; each text also as the piece after an added token
     * (not at the start: "first" prepends nothing there). */
    check_hand_made("metaspace", "hand-made Metaspaces", 100);
}

void test_tj_unigram_model_matches_hf(void)
{
    static const char *const names[] = {"unigram_spm", "unigram_hf"};
    tj_tally t = {0};
    for (size_t k = 0; k < 2; k++) {
        json_t *tj = tj_load_tokenizer(names[k]);
        json_t *cases = tj_load_cases(names[k]);
        clenc__tmodel *m = parse_unigram(json_object_get(tj, "model"));
        CU_ASSERT_EQUAL(m->vocab_size,
                        json_array_size(json_object_get(
                            json_object_get(tj, "model"), "vocab")));
        const json_t *list = json_object_get(cases, "model");
        CU_ASSERT_FATAL(json_array_size(list) >= 300);
        tj_check_model_cases(m, list, unknown_char, names[k], &t);
        m->free(m);
        json_decref(cases);
        json_decref(tj);
    }
    tj_report("unigram_spm and unigram_hf Unigram words", &t);
    CU_ASSERT_EQUAL(t.mismatches, 0);
}

/* Vocabularies built to hit one rule each: scores that tie only as
 * serde_json reads them, unknown runs fused (and a fused run that is a
 * piece), byte fallback with a byte missing, a duplicated piece, no
 * unk_id, the unk piece's own text, equal-score paths. */
void test_tj_unigram_model_edge_cases_match_hf(void)
{
    check_hand_made("unigram", "hand-made Unigram words", 30);
}

/* The id of a piece both ways; "<0xXX>" pieces found for byte fallback. */
void test_tj_unigram_model_looks_up_pieces(void)
{
    json_t *obj = tj_parse_text(
        "{\"type\": \"Unigram\", \"unk_id\": 1, \"byte_fallback\": true,"
        " \"vocab\": [[\"\", -1], [\"<unk>\", 0], [\"ab\", -2.5],"
        " [\"a\", -1], [\"<0x41>\", -9], [\"a\", -3]]}");
    clenc__tmodel *m = parse_unigram(obj);
    CU_ASSERT_EQUAL(m->vocab_size, 6);
    CU_ASSERT_EQUAL(m->id(m, "ab", 2), 2);
    CU_ASSERT_EQUAL(m->id(m, "a", 1), 5); /* the last of a duplicate */
    CU_ASSERT_EQUAL(m->id(m, "", 0), 0);
    CU_ASSERT_EQUAL(m->id(m, "<0x41>", 6), 4);
    CU_ASSERT_EQUAL(m->id(m, "abc", 3), -1);
    CU_ASSERT_EQUAL(m->id(m, "b", 1), -1);
    /* "A" unknown, its byte 0x41 has a piece; "B" has none: unk. */
    clenc__ids ids = {0};
    ASSERT_STATUS(m->run(m, "AabB", 4, &ids), CLENC_OK);
    CU_ASSERT(ids.n == 3 && ids.v[0] == 4 && ids.v[1] == 2 && ids.v[2] == 1);
    ids.n = 0;
    ASSERT_STATUS(m->run(m, "a", 1, &ids), CLENC_OK);
    CU_ASSERT(ids.n == 1 && ids.v[0] == 5);
    clenc__ids_free(&ids);
    m->free(m);
    json_decref(obj);
}

/* ------------------------------------------------------- bad input */

static void expect_bad(clenc_status st, clenc_status want, const char *path)
{
    CU_ASSERT_EQUAL(st, want);
    if (st != want)
        fprintf(stderr, "\n    want %s naming %s, got %s: %s",
                clenc_status_name(want), path, clenc_status_name(st),
                clenc_last_error());
    else
        ASSERT_ERROR_MENTIONS(path);
}

static char *b64_encode(const unsigned char *b, size_t n)
{
    static const char a[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *s = malloc((n + 2) / 3 * 4 + 1), *o = s;
    CU_ASSERT_FATAL(s != NULL);
    for (size_t i = 0; i < n; i += 3) {
        uint32_t q = (uint32_t)b[i] << 16 |
                     (i + 1 < n ? (uint32_t)b[i + 1] << 8 : 0) |
                     (i + 2 < n ? b[i + 2] : 0);
        *o++ = a[q >> 18];
        *o++ = a[(q >> 12) & 63];
        *o++ = i + 1 < n ? a[(q >> 6) & 63] : '=';
        *o++ = i + 2 < n ? a[q & 63] : '=';
    }
    *o = '\0';
    return s;
}

static clenc_status parse_charsmap_text(const char *b64)
{
    json_t *obj = json_pack("{s:s, s:s}", "type", "Precompiled",
                            "precompiled_charsmap", b64);
    CU_ASSERT_FATAL(obj != NULL);
    clenc__jpath p = path_at("normalizer");
    clenc__normalizer *n = (clenc__normalizer *)&p; /* must become NULL */
    clenc_status st = clenc__norm_precompiled_parse(obj, &p, &n);
    CU_ASSERT_EQUAL(n == NULL, st != CLENC_OK);
    if (n) { /* accepted: it must normalize without reading astray */
        static const char *const texts[] = {"", "abc", "e\xcc\x81x",
                                            "\xef\xbd\xb6\xef\xbe\x9e",
                                            "\xe2\x91\xa0\xe3\x80\x80z"};
        for (size_t i = 0; i < 5; i++) {
            clenc__str out = {0};
            ASSERT_STATUS(n->run(n, texts[i], strlen(texts[i]), &out), CLENC_OK);
            clenc__str_free(&out);
        }
        n->free(n);
    }
    json_decref(obj);
    return st;
}

static clenc_status parse_charsmap(const unsigned char *b, size_t len)
{
    char *s = b64_encode(b, len);
    clenc_status st = parse_charsmap_text(s);
    free(s);
    return st;
}

static void put_le32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)v;
    b[1] = (unsigned char)(v >> 8);
    b[2] = (unsigned char)(v >> 16);
    b[3] = (unsigned char)(v >> 24);
}

/* A map of one key "a" -> "b": root unit 0 (offset 256), the node for 'a'
 * at 256 ^ 'a' (leaf flag, offset 1: the value at its index ^ 1), the
 * value unit, 512 units in all, then "b\0". */
static unsigned char *tiny_charsmap(size_t *len)
{
    const size_t units = 512, n = 4 + 4 * units + 2;
    unsigned char *b = calloc(1, n);
    CU_ASSERT_FATAL(b != NULL);
    put_le32(b, 4 * units);
    put_le32(b + 4, (256u >> 8) << 10 | 1u << 9); /* offset 256, scaled */
    const uint32_t node = 256 ^ 'a';
    put_le32(b + 4 + 4 * node, 1u << 10 | 1u << 8 | 'a');
    put_le32(b + 4 + 4 * (node ^ 1), 0x80000000u | 0); /* value: byte 0 */
    b[4 + 4 * units] = 'b';
    *len = n;
    return b;
}

void test_tj_unigram_bad_charsmap_is_model_format(void)
{
    const char *at = "normalizer.precompiled_charsmap";
    size_t len;
    unsigned char *b = tiny_charsmap(&len);
    ASSERT_STATUS(parse_charsmap(b, len), CLENC_OK);
    {   /* and it maps */
        json_t *obj = json_pack("{s:s}", "precompiled_charsmap", "");
        char *s = b64_encode(b, len);
        json_object_set_new(obj, "precompiled_charsmap", json_string(s));
        clenc__normalizer *n = parse_precompiled(obj);
        clenc__str out = {0};
        ASSERT_STATUS(n->run(n, "xay", 3, &out), CLENC_OK);
        CU_ASSERT(out.n == 3 && memcmp(out.p, "xby", 3) == 0);
        clenc__str_free(&out);
        n->free(n);
        free(s);
        json_decref(obj);
    }

    {   /* padding may be left out, as tokenizers reads it */
        char *s = b64_encode(b, len);
        CU_ASSERT_FATAL(s[strlen(s) - 1] == '=');
        s[strlen(s) - 1] = '\0';
        ASSERT_STATUS(parse_charsmap_text(s), CLENC_OK);
        free(s);
    }
    /* Not base64, or not canonically so. */
    expect_bad(parse_charsmap_text("AAA"), CLENC_ERR_MODEL_FORMAT, at);
    expect_bad(parse_charsmap_text("AA AAAAA"), CLENC_ERR_MODEL_FORMAT, at);
    expect_bad(parse_charsmap_text("AAA=AAAA"), CLENC_ERR_MODEL_FORMAT, at);
    expect_bad(parse_charsmap_text("AAB="), CLENC_ERR_MODEL_FORMAT, at);
    expect_bad(parse_charsmap_text("A==="), CLENC_ERR_MODEL_FORMAT, at);
    expect_bad(parse_charsmap_text("AA-_"), CLENC_ERR_MODEL_FORMAT, at);
    /* Empty (tokenizers' loader panics on it), too short for the size. */
    expect_bad(parse_charsmap_text(""), CLENC_ERR_MODEL_FORMAT, at);
    expect_bad(parse_charsmap_text("AAAA"), CLENC_ERR_MODEL_FORMAT, at);

    unsigned char *m = malloc(len);
    CU_ASSERT_FATAL(m != NULL);
#define MUTATE(stmt)                                                           \
    do {                                                                       \
        memcpy(m, b, len);                                                     \
        stmt;                                                                  \
    } while (0)
    /* Trie size: 0, not a multiple of 4, past the data, all of it. */
    MUTATE(put_le32(m, 0));
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    MUTATE(put_le32(m, 4 * 512 + 2));
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    MUTATE(put_le32(m, 0xFFFFFFF0u));
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    expect_bad(parse_charsmap(b, 4 + 4 * 511), CLENC_ERR_MODEL_FORMAT, at);
    /* A root or a node whose children would lie past the array. */
    MUTATE(put_le32(m + 4, (512u >> 8) << 10 | 1u << 9));
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    MUTATE(put_le32(m + 4, 0x7FFFFC00u));
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    MUTATE(put_le32(m + 4 + 4 * (256 ^ 'a'), 0x3FFu << 10 | 1u << 8 | 'a'));
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    /* A value past the strings, one without its NUL, one mid-character,
     * strings that are not UTF-8. */
    MUTATE(put_le32(m + 4 + 4 * ((256 ^ 'a') ^ 1), 0x80000000u | 7));
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    MUTATE(m[len - 1] = 'c');
    expect_bad(parse_charsmap(m, len), CLENC_ERR_MODEL_FORMAT, at);
    MUTATE(m[len - 1] = 'c');
    expect_bad(parse_charsmap(m, len - 1), CLENC_ERR_MODEL_FORMAT, at);
    {
        unsigned char *w = malloc(len + 2);
        CU_ASSERT_FATAL(w != NULL);
        memcpy(w, b, len - 2);
        memcpy(w + len - 2, "\xc3\xa9\0\0", 4); /* "é": value 1 is mid-é */
        put_le32(w + 4 + 4 * ((256 ^ 'a') ^ 1), 0x80000000u | 1);
        expect_bad(parse_charsmap(w, len + 2), CLENC_ERR_MODEL_FORMAT, at);
        memcpy(w + len - 2, "\xc3\0\0\0", 4); /* a lone lead byte */
        put_le32(w + 4 + 4 * ((256 ^ 'a') ^ 1), 0x80000000u | 2);
        expect_bad(parse_charsmap(w, len + 2), CLENC_ERR_MODEL_FORMAT, at);
        free(w);
    }
    /* Missing, null, not a string. */
    {
        clenc__jpath p = path_at("normalizer");
        clenc__normalizer *n = NULL;
        json_t *obj = json_pack("{s:s}", "type", "Precompiled");
        expect_bad(clenc__norm_precompiled_parse(obj, &p, &n),
                   CLENC_ERR_MODEL_FORMAT, at);
        json_object_set_new(obj, "precompiled_charsmap", json_null());
        expect_bad(clenc__norm_precompiled_parse(obj, &p, &n),
                   CLENC_ERR_MODEL_FORMAT, at);
        json_object_set_new(obj, "precompiled_charsmap", json_integer(3));
        expect_bad(clenc__norm_precompiled_parse(obj, &p, &n),
                   CLENC_ERR_MODEL_FORMAT, at);
        CU_ASSERT(n == NULL);
        json_decref(obj);
    }
#undef MUTATE
    free(m);
    free(b);
}

/* SentencePiece's real map with bytes flipped at random: each a clean
 * refusal, or a map that normalizes without reading astray (the sanitizer
 * build checks the reads). */
void test_tj_unigram_corrupt_charsmap_never_crashes(void)
{
    json_t *tj = tj_load_tokenizer("unigram_spm");
    const char *b64 = json_string_value(
        json_object_get(json_object_get(tj, "normalizer"), "precompiled_charsmap"));
    CU_ASSERT_FATAL(b64 != NULL);
    const size_t b64_n = strlen(b64);
    unsigned char *raw = malloc(b64_n), *m = malloc(b64_n);
    CU_ASSERT_FATAL(raw && m);
    /* decode with the test's own table */
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < b64_n && b64[i] != '='; i++) {
        const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        acc = acc << 6 | (uint32_t)(strchr(a, b64[i]) - a);
        if ((bits += 6) >= 8) {
            raw[n++] = (unsigned char)(acc >> (bits - 8));
            bits -= 8;
        }
    }
    ASSERT_STATUS(parse_charsmap(raw, n), CLENC_OK);
    uint32_t seed = 12345;
    size_t refused = 0, accepted = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(m, raw, n);
        for (int k = 0; k < 4; k++) {
            seed = seed * 1103515245u + 12345u;
            /* mostly the trie's first units (the ones texts reach) */
            size_t at = (seed >> 8) % (round % 2 ? n : 4096);
            m[at] ^= (unsigned char)(1u << ((seed >> 3) & 7));
        }
        clenc_status st = parse_charsmap(m, n);
        CU_ASSERT(st == CLENC_OK || st == CLENC_ERR_MODEL_FORMAT);
        if (st == CLENC_OK)
            accepted++;
        else
            refused++;
    }
    CU_ASSERT(refused > 0);
    free(raw);
    free(m);
    json_decref(tj);
}

static clenc_status parse_model_text(const char *text, clenc__tmodel **out)
{
    json_t *obj = tj_parse_text(text);
    clenc__jpath p = path_at("model");
    clenc_status st = clenc__tmodel_unigram_parse(obj, &p, out);
    json_decref(obj);
    return st;
}

void test_tj_unigram_bad_model_is_model_format(void)
{
    static const struct {
        const char *json, *path;
    } bad[] = {
        {"{\"type\": \"Unigram\"}", "model.vocab"},
        {"{\"vocab\": null}", "model.vocab"},
        {"{\"vocab\": {\"a\": 1}}", "model.vocab"},
        {"{\"vocab\": [\"a\"]}", "model.vocab[0]"},
        {"{\"vocab\": [[\"a\", 1], [\"b\"]]}", "model.vocab[1]"},
        {"{\"vocab\": [[\"a\", 1, 2]]}", "model.vocab[0]"},
        {"{\"vocab\": [[1, 1]]}", "model.vocab[0]"},
        {"{\"vocab\": [[\"a\", \"1\"]]}", "model.vocab[0]"},
        {"{\"vocab\": [[\"a\", null]]}", "model.vocab[0]"},
        {"{\"vocab\": [[\"a\", -1]], \"unk_id\": -1}", "model.unk_id"},
        {"{\"vocab\": [[\"a\", -1]], \"unk_id\": 1}", "model.unk_id"},
        {"{\"vocab\": [[\"a\", -1]], \"unk_id\": 9223372036854775807}", "model.unk_id"},
        {"{\"vocab\": [[\"a\", -1]], \"unk_id\": 0.0}", "model.unk_id"},
        {"{\"vocab\": [[\"a\", -1]], \"unk_id\": \"0\"}", "model.unk_id"},
        {"{\"vocab\": [], \"unk_id\": 0}", "model.vocab"},
        {"{\"vocab\": [[\"a\", -1]], \"byte_fallback\": 1}", "model.byte_fallback"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        clenc__tmodel *m = (clenc__tmodel *)&bad; /* must become NULL */
        expect_bad(parse_model_text(bad[i].json, &m), CLENC_ERR_MODEL_FORMAT,
                   bad[i].path);
        CU_ASSERT(m == NULL);
    }
    /* A piece longer than any tokenizer.json piece clenc takes. */
    char *big = malloc(CLENC__TJ_MAX_TOKEN + 64);
    CU_ASSERT_FATAL(big != NULL);
    int k = snprintf(big, 32, "{\"vocab\": [[\"");
    memset(big + k, 'x', CLENC__TJ_MAX_TOKEN + 1);
    strcpy(big + k + CLENC__TJ_MAX_TOKEN + 1, "\", 0]]}");
    clenc__tmodel *m = NULL;
    expect_bad(parse_model_text(big, &m), CLENC_ERR_MODEL_FORMAT, "model.vocab[0]");
    free(big);
    /* An empty vocabulary without unk_id loads (as in tokenizers); any
     * character is then an error, never a crash. */
    ASSERT_STATUS(parse_model_text("{\"vocab\": []}", &m), CLENC_OK);
    CU_ASSERT_FATAL(m != NULL);
    clenc__ids ids = {0};
    ASSERT_STATUS(m->run(m, "a", 1, &ids), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("U+0061");
    CU_ASSERT_EQUAL(ids.n, 0);
    ASSERT_STATUS(m->run(m, "", 0, &ids), CLENC_OK);
    CU_ASSERT_EQUAL(ids.n, 0);
    m->free(m);
}

void test_tj_unigram_bad_metaspace_refused(void)
{
    static const struct {
        const char *json, *path;
        clenc_status st;
    } bad[] = {
        {"{}", "pre_tokenizer.replacement", CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": null}", "pre_tokenizer.replacement", CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": \"\"}", "pre_tokenizer.replacement", CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": \"__\"}", "pre_tokenizer.replacement", CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": \"\\u2581\\u2581\"}", "pre_tokenizer.replacement",
         CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": 95}", "pre_tokenizer.replacement", CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": \"_\", \"prepend_scheme\": null}", "pre_tokenizer.prepend_scheme",
         CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": \"_\", \"prepend_scheme\": \"First\"}",
         "pre_tokenizer.prepend_scheme", CLENC_ERR_UNSUPPORTED},
        {"{\"replacement\": \"_\", \"split\": \"yes\"}", "pre_tokenizer.split",
         CLENC_ERR_MODEL_FORMAT},
        /* tokenizers 0.23.3 refuses both: false against "always" */
        {"{\"replacement\": \"_\", \"add_prefix_space\": false}",
         "pre_tokenizer.add_prefix_space", CLENC_ERR_MODEL_FORMAT},
        {"{\"replacement\": \"_\", \"add_prefix_space\": false, \"prepend_scheme\": \"first\"}",
         "pre_tokenizer.add_prefix_space", CLENC_ERR_MODEL_FORMAT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *obj = tj_parse_text(bad[i].json);
        clenc__jpath p = path_at("pre_tokenizer");
        clenc__pretok *pre = (clenc__pretok *)&p; /* must become NULL */
        expect_bad(clenc__pretok_metaspace_parse(obj, &p, &pre), bad[i].st,
                   bad[i].path);
        CU_ASSERT(pre == NULL);
        json_decref(obj);
    }
}

/* Every allocation of each parse and run fails in turn: a clean
 * CLENC_ERR_OUT_OF_MEMORY (or success), nothing left allocated. */
void test_tj_unigram_allocation_failures_are_clean(void)
{
    json_t *tj = tj_load_tokenizer("unigram_hf");
    json_t *spm = tj_load_tokenizer("unigram_spm");
    json_t *objs[3] = {json_object_get(spm, "normalizer"),
                       json_object_get(tj, "pre_tokenizer"),
                       json_object_get(tj, "model")};
    const char *text = "\xe2\x96\x81hello world \xe2\x91\xa0 \xef\xbd\xb6\xef\xbe\x9e "
                       "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
                       "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz"
                       "\xf0\x9f\x91\x8d";
    const size_t text_n = strlen(text);
    long points = 0, leaks = 0, wrong = 0;
    for (int kind = 0; kind < 3; kind++) {
        for (long n = 1;; n++) {
            const long blocks = clenc__live_blocks();
            clenc__jpath p = path_at("x");
            clenc__fault_arm(n);
            void *made = NULL;
            clenc_status st =
                kind == 0 ? clenc__norm_precompiled_parse(objs[0], &p,
                                                          (clenc__normalizer **)&made)
                : kind == 1 ? clenc__pretok_metaspace_parse(objs[1], &p,
                                                            (clenc__pretok **)&made)
                            : clenc__tmodel_unigram_parse(objs[2], &p,
                                                          (clenc__tmodel **)&made);
            if (st == CLENC_OK) {
                if (kind == 0) {
                    clenc__str out = {0};
                    st = ((clenc__normalizer *)made)->run(made, text, text_n, &out);
                    clenc__str_free(&out);
                } else if (kind == 1) {
                    clenc__words in = {0}, out = {0};
                    st = clenc__words_add(&in, text, text_n);
                    if (st == CLENC_OK)
                        st = ((clenc__pretok *)made)->run(made, &in, &out);
                    clenc__words_free(&in);
                    clenc__words_free(&out);
                } else {
                    clenc__ids ids = {0};
                    st = ((clenc__tmodel *)made)->run(made, text, text_n, &ids);
                    clenc__ids_free(&ids);
                }
            }
            const int injected = clenc__fault_passed() >= n;
            clenc__fault_arm(0);
            if (made) {
                if (kind == 0)
                    ((clenc__normalizer *)made)->free(made);
                else if (kind == 1)
                    ((clenc__pretok *)made)->free(made);
                else
                    ((clenc__tmodel *)made)->free(made);
            }
            leaks += clenc__live_blocks() != blocks;
            if (!injected) {
                ASSERT_STATUS(st, CLENC_OK);
                break;
            }
            points++;
            /* OK: a fault recovered from (a shrinking realloc) */
            if (st != CLENC_ERR_OUT_OF_MEMORY && st != CLENC_OK && wrong++ == 0)
                fprintf(stderr, "\n    part %d, fault %ld: %s: %s", kind, n,
                        clenc_status_name(st), clenc_last_error());
        }
    }
    CU_ASSERT(points >= 6);
    CU_ASSERT_EQUAL(leaks, 0);
    CU_ASSERT_EQUAL(wrong, 0);
    json_decref(tj);
    json_decref(spm);
}
