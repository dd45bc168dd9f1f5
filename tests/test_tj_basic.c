/* test_tj_basic.c — tokenizer.json's normalizers, character-class pre-tokenizers and WordPiece model against Hugging Face tokenizers' outputs, one component at a time, and their refusal of bad JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "text/pipeline.h"
#include "tj_helpers.h"

/* Paths relative to the repository root, where the tests run. */
#define BASIC "tests/fixtures/tj_basic_components.json" /* make_tj_basic_fixtures.py */
#define MINILM_TOKENIZER "tests/fixtures/minilm_tokenizer.json"
#define MINILM_CASES "tests/fixtures/tokenizer_minilm.json" /* vocab.txt's */

/* Where clenc's answers may differ from tokenizers': code points whose
 * Unicode tables differ. tokenizers normalises with the crate
 * unicode-normalization-alignments, whose tables predate Unicode 12;
 * clenc with utf8proc 2.8 (Unicode 15). The fixtures' texts hold two
 * characters added since that have compatibility decompositions:
 *   U+32FF SQUARE ERA NAME REIWA (Unicode 12.1): NFKC/NFKD "令和";
 *   U+1F16C RAISED MR SIGN (Unicode 12.0): NFKC/NFKD "MR";
 * tokenizers leaves both as they are. A mismatch counts as this
 * difference only when everything else agrees (see explained()). The
 * other code points where the tables differ (normalizers.c and
 * pre_tokenizers.c count them) are not in the fixtures' texts. */
static const int32_t newer_in_utf8proc[] = {0x32FF, 0x1F16C};

static int is_cont(char b)
{
    return ((unsigned char)b & 0xC0) == 0x80;
}

static int32_t next_cp(const char *s, size_t n, size_t *i)
{
    return clenc__utf8_next(s, n, i);
}

static int is_newer(int32_t c)
{
    for (size_t k = 0; k < sizeof newer_in_utf8proc / sizeof *newer_in_utf8proc;
         k++)
        if (newer_in_utf8proc[k] == c)
            return 1;
    return 0;
}

/* A normaliser's output that differs from HF's only where HF kept a
 * character of newer_in_utf8proc unchanged: past the common prefix and
 * suffix, HF's middle is made of such characters alone, and the same
 * normaliser turns that middle into ours. */
static int explained(const clenc__normalizer *n, const char *hf, size_t hn,
                     const char *ours, size_t on)
{
    size_t pre = 0, suf = 0;
    while (pre < hn && pre < on && hf[pre] == ours[pre])
        pre++;
    while (pre > 0 && pre < hn && is_cont(hf[pre]))
        pre--;
    while (suf < hn - pre && suf < on - pre &&
           hf[hn - 1 - suf] == ours[on - 1 - suf])
        suf++;
    while (suf > 0 && is_cont(hf[hn - suf]))
        suf--;
    if (hn - suf <= pre)
        return 0;
    for (size_t i = pre; i < hn - suf;)
        if (!is_newer(next_cp(hf, hn - suf, &i)))
            return 0;
    clenc__str again = {0};
    int same = n->run(n, hf + pre, hn - suf - pre, &again) == CLENC_OK &&
               again.n == on - suf - pre &&
               (again.n == 0 || memcmp(again.p, ours + pre, again.n) == 0);
    clenc__str_free(&again);
    return same;
}

/* tj_report, and the mismatches explained() accounted for. */
static void report(const char *what, const tj_tally *t)
{
    tj_report(what, t);
    if (t->explained)
        printf(" (%zu more from Unicode versions: U+32FF, U+1F16C)",
               t->explained);
}

/* ------------------------------------------------ one component each */

void test_tj_basic_normalizers_match_hf(void)
{
    json_t *root = tj_load_json(BASIC);
    CU_ASSERT_FATAL(json_array_size(json_object_get(root, "texts")) > 100 &&
                    json_array_size(json_object_get(root, "normalizers")) > 30);
    tj_tally t = {0};
    tj_check_normalizer_list(root, BASIC, explained, &t);
    report("normalizers", &t);
    CU_ASSERT_EQUAL(t.mismatches, 0);
    json_decref(root);
}

void test_tj_basic_pre_tokenizers_match_hf(void)
{
    json_t *root = tj_load_json(BASIC);
    CU_ASSERT_FATAL(json_array_size(json_object_get(root, "pre_tokenizers")) >=
                    10);
    tj_tally t = {0};
    tj_check_pretok_list(root, BASIC, &t);
    report("pre-tokenizers", &t);
    CU_ASSERT_EQUAL(t.mismatches, 0);
    json_decref(root);
}

/* BASIC's WordPiece models share one vocabulary: its size, its largest id,
 * a lookup each way. */
static void check_wordpiece_vocab(const clenc__tmodel *m)
{
    CU_ASSERT_EQUAL(m->vocab_size, 25); /* entries; two share id 20 */
    CU_ASSERT_EQUAL(m->max_id, 30);
    CU_ASSERT_EQUAL(m->id(m, "##ab", 4), 20);
    CU_ASSERT_EQUAL(m->id(m, "##abc", 5), -1);
}

void test_tj_basic_wordpiece_matches_hf(void)
{
    json_t *root = tj_load_json(BASIC);
    CU_ASSERT_FATAL(json_array_size(json_object_get(root, "models")) >= 5);
    tj_tally t = {0};
    tj_check_model_list(root, BASIC, TJ_MISSING_UNK, check_wordpiece_vocab, &t);
    report("WordPiece words", &t);
    CU_ASSERT(t.refused > 0); /* the vocabulary without its unk_token */
    CU_ASSERT_EQUAL(t.mismatches, 0);
    json_decref(root);
}

/* The sections of make_tokenizer_json_fixtures.py's tokenizers that only
 * these components run: every normalizer but Precompiled (unigram_spm's),
 * the pre-tokenizers and models of the WordPiece ones. */
void test_tj_basic_fixture_tokenizers_match_hf(void)
{
    static const struct {
        const char *name;
        int pre_and_model;
    } fixtures[] = {{"wordpiece", 1}, {"assorted_wp", 1},
                    {"assorted_bpe", 0}, {"assorted_bytefallback", 0},
                    {"assorted_split", 0}, {"assorted_gpt", 0},
                    {"unigram_hf", 0}};
    tj_tally norm = {0}, pre = {0}, model = {0};
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++) {
        const int more = fixtures[f].pre_and_model;
        tj_check_fixture(fixtures[f].name,
                         (tj_sections){&norm, more ? &pre : NULL,
                                       more ? &model : NULL},
                         explained);
    }
    report("fixture normalizers", &norm);
    report("fixture pre-tokenizers", &pre);
    report("fixture WordPiece words", &model);
    /* Not vacuous: hundreds of cases each (the fixtures' sizes may vary). */
    CU_ASSERT(norm.count > 2000 && pre.count > 600 && model.count > 400);
    CU_ASSERT_EQUAL(norm.mismatches + pre.mismatches + model.mismatches, 0);
}

/* all-MiniLM-L6-v2's tokenizer.json: its BertNormalizer, BertPreTokenizer
 * and WordPiece, chained by hand, give the ids BertTokenizerFast gave for
 * its vocab.txt on the texts without special tokens or truncation. */
void test_tj_basic_minilm_components_match_vocab_txt(void)
{
    json_t *tj = tj_load_json(MINILM_TOKENIZER);
    json_t *cases = tj_load_json(MINILM_CASES);
    clenc__normalizer *n = tj_parse_normalizer(
        clenc__normalizer_parse, json_object_get(tj, "normalizer"),
        MINILM_TOKENIZER, "normalizer");
    clenc__pretok *pt = tj_parse_pretok(clenc__pretok_parse,
                                        json_object_get(tj, "pre_tokenizer"),
                                        MINILM_TOKENIZER, "pre_tokenizer");
    clenc__tmodel *m =
        tj_parse_model(clenc__tmodel_parse, json_object_get(tj, "model"),
                       MINILM_TOKENIZER, "model");
    CU_ASSERT_EQUAL(m->vocab_size, 30522);
    CU_ASSERT_EQUAL(m->max_id, 30521);
    CU_ASSERT_EQUAL(m->id(m, "[CLS]", 5), 101);
    CU_ASSERT_EQUAL(m->id(m, "##ing", 5), 2075);
    size_t i, used = 0, bad = 0;
    const json_t *c;
    json_array_foreach(cases, i, c) {
        const char *text = json_string_value(json_object_get(c, "text"));
        const json_t *want = json_object_get(c, "ids");
        const size_t want_n = json_array_size(want);
        if (!json_is_null(json_object_get(c, "pair")) ||
            want_n >= (size_t)json_integer_value(json_object_get(c,
                                                                 "max_len")) ||
            strstr(text, "[CLS]") || strstr(text, "[SEP]") ||
            strstr(text, "[UNK]") || strstr(text, "[PAD]") ||
            strstr(text, "[MASK]"))
            continue;
        used++;
        clenc__str norm = {0};
        clenc__words in = {0}, words = {0};
        clenc__ids ids = {0};
        clenc_status st = n->run(n, text, strlen(text), &norm);
        if (st == CLENC_OK)
            st = clenc__words_add(&in, norm.p ? norm.p : "", norm.n);
        if (st == CLENC_OK)
            st = pt->run(pt, &in, &words);
        for (size_t w = 0; st == CLENC_OK && w < words.n; w++)
            st = m->run(m, words.text.p + words.w[w].start,
                        words.w[w].end - words.w[w].start, &ids);
        int same = st == CLENC_OK && ids.n + 2 == want_n;
        for (size_t k = 0; same && k < ids.n; k++)
            same = ids.v[k] == json_integer_value(json_array_get(want, k + 1));
        if (!same && bad++ < 3)
            fprintf(stderr, "\n    MiniLM: '%.60s': %zu ids, want %zu",
                    text, ids.n, want_n - 2);
        clenc__str_free(&norm);
        clenc__words_free(&in);
        clenc__words_free(&words);
        clenc__ids_free(&ids);
    }
    printf("\n    MiniLM tokenizer.json components: %zu texts, %zu mismatches",
           used, bad);
    CU_ASSERT(used >= 40);
    CU_ASSERT_EQUAL(bad, 0);
    n->free(n);
    pt->free(pt);
    m->free(m);
    json_decref(tj);
    json_decref(cases);
}

/* ------------------------------------------------------------ bad JSON */

typedef enum kind { NORMALIZER, PRETOK, MODEL } kind;

static clenc_status parse_as(kind k, const char *json_text)
{
    json_t *obj = tj_parse_text(json_text);
    clenc__jpath p = {.file = "bad.json"};
    snprintf(p.at, sizeof p.at, "%s",
             k == NORMALIZER ? "normalizer"
             : k == PRETOK   ? "pre_tokenizer"
                             : "model");
    clenc_status st;
    if (k == NORMALIZER) {
        clenc__normalizer *n = NULL;
        st = clenc__normalizer_parse(obj, &p, &n);
        CU_ASSERT((st == CLENC_OK) == (n != NULL));
        if (n)
            n->free(n);
    } else if (k == PRETOK) {
        clenc__pretok *pt = NULL;
        st = clenc__pretok_parse(obj, &p, &pt);
        CU_ASSERT((st == CLENC_OK) == (pt != NULL));
        if (pt)
            pt->free(pt);
    } else {
        clenc__tmodel *m = NULL;
        st = clenc__tmodel_parse(obj, &p, &m);
        CU_ASSERT((st == CLENC_OK) == (m != NULL));
        if (m)
            m->free(m);
    }
    json_decref(obj);
    return st;
}

#define WP_HEAD                                                                \
    "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "                     \
    "\"continuing_subword_prefix\": \"##\", "

/* Each refused with its status and a message naming file and path; what
 * tokenizers requires (a field, its type) is required here. */
void test_tj_basic_bad_json_is_named(void)
{
    static const struct {
        kind k;
        const char *json, *status_name, *mentions;
    } bad[] = {
        {NORMALIZER, "{\"type\": \"BertNormalizer\"}", "MODEL_FORMAT",
         "bad.json: normalizer.clean_text is missing"},
        {NORMALIZER,
         "{\"type\": \"BertNormalizer\", \"clean_text\": \"yes\", "
         "\"handle_chinese_chars\": true, \"lowercase\": true}",
         "MODEL_FORMAT", "normalizer.clean_text is a string"},
        {NORMALIZER,
         "{\"type\": \"BertNormalizer\", \"clean_text\": true, "
         "\"handle_chinese_chars\": null, \"lowercase\": true}",
         "MODEL_FORMAT", "normalizer.handle_chinese_chars is null"},
        {NORMALIZER,
         "{\"type\": \"BertNormalizer\", \"clean_text\": true, "
         "\"handle_chinese_chars\": true, \"lowercase\": true, "
         "\"strip_accents\": 1}",
         "MODEL_FORMAT", "normalizer.strip_accents is a number"},
        {NORMALIZER, "{\"type\": \"Strip\", \"strip_left\": true}",
         "MODEL_FORMAT", "normalizer.strip_right is missing"},
        {NORMALIZER, "{\"type\": \"Prepend\", \"prepend\": 3}", "MODEL_FORMAT",
         "normalizer.prepend is a number"},
        {NORMALIZER, "{\"type\": \"Replace\", \"pattern\": {\"String\": \"a\"}}",
         "MODEL_FORMAT", "normalizer.content is missing"},
        {NORMALIZER,
         "{\"type\": \"Replace\", \"pattern\": \"a\", \"content\": \"\"}",
         "MODEL_FORMAT", "normalizer.pattern is not an object"},
        {NORMALIZER,
         "{\"type\": \"Replace\", \"pattern\": {\"String\": \"a\", \"Regex\": "
         "\"b\"}, \"content\": \"\"}",
         "MODEL_FORMAT", "normalizer.pattern is not an object with one key"},
        {NORMALIZER,
         "{\"type\": \"Replace\", \"pattern\": {\"Glob\": \"a*\"}, "
         "\"content\": \"\"}",
         "MODEL_FORMAT", "normalizer.pattern has key 'Glob'"},
        {NORMALIZER,
         "{\"type\": \"Replace\", \"pattern\": {\"Regex\": 7}, \"content\": "
         "\"\"}",
         "MODEL_FORMAT", "normalizer.pattern.Regex is a number"},
        {NORMALIZER,
         "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"(\"}, "
         "\"content\": \"\"}",
         "MODEL_FORMAT", "normalizer.pattern.Regex does not compile"},
        {NORMALIZER,
         "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFC\"}, "
         "{\"type\": \"Lowercase\"}, {\"type\": \"Strip\", \"strip_left\": "
         "[], \"strip_right\": true}]}",
         "MODEL_FORMAT", "normalizer.normalizers[2].strip_left is an array"},
        {PRETOK, "{\"type\": \"Punctuation\", \"behavior\": \"isolated\"}",
         "UNSUPPORTED", "pre_tokenizer.behavior 'isolated'"},
        {PRETOK, "{\"type\": \"Punctuation\", \"behavior\": null}",
         "MODEL_FORMAT", "pre_tokenizer.behavior is null"},
        {PRETOK, "{\"type\": \"Punctuation\", \"behavior\": 1}", "MODEL_FORMAT",
         "pre_tokenizer.behavior is a number"},
        {PRETOK, "{\"type\": \"Digits\"}", "MODEL_FORMAT",
         "pre_tokenizer.individual_digits is missing"},
        {PRETOK, "{\"type\": \"Digits\", \"individual_digits\": \"no\"}",
         "MODEL_FORMAT", "pre_tokenizer.individual_digits is a string"},
        {MODEL, "{\"type\": \"WordPiece\", \"vocab\": {}}", "MODEL_FORMAT",
         "model.unk_token is missing"},
        {MODEL, WP_HEAD "\"vocab\": {\"a\": 0}}", "MODEL_FORMAT",
         "model.max_input_chars_per_word is missing"},
        {MODEL, WP_HEAD "\"max_input_chars_per_word\": -1, \"vocab\": {}}",
         "MODEL_FORMAT", "model.max_input_chars_per_word is -1"},
        {MODEL, WP_HEAD "\"max_input_chars_per_word\": 1.5, \"vocab\": {}}",
         "MODEL_FORMAT", "model.max_input_chars_per_word is a number"},
        {MODEL, WP_HEAD "\"max_input_chars_per_word\": 100}", "MODEL_FORMAT",
         "model.vocab is missing"},
        {MODEL, WP_HEAD "\"max_input_chars_per_word\": 100, \"vocab\": []}",
         "MODEL_FORMAT", "model.vocab is not an object"},
        {MODEL,
         WP_HEAD "\"max_input_chars_per_word\": 100, \"vocab\": {\"a\": -1}}",
         "MODEL_FORMAT", "model.vocab token 'a' has an id out of range"},
        {MODEL,
         WP_HEAD "\"max_input_chars_per_word\": 100, \"vocab\": {\"a\": "
                 "4294967296}}",
         "MODEL_FORMAT", "model.vocab token 'a' has an id out of range"},
        {MODEL,
         WP_HEAD "\"max_input_chars_per_word\": 100, \"vocab\": {\"a\": "
                 "\"0\"}}",
         "MODEL_FORMAT", "model.vocab token 'a' has an id of another type"},
        {MODEL,
         "{\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\", "
         "\"continuing_subword_prefix\": null, "
         "\"max_input_chars_per_word\": 100, \"vocab\": {}}",
         "MODEL_FORMAT", "model.continuing_subword_prefix is null"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        clenc_status st = parse_as(bad[i].k, bad[i].json);
        int named = strstr(clenc_last_error(), bad[i].mentions) != NULL;
        int right = strcmp(clenc_status_name(st) + strlen("CLENC_ERR_"),
                           bad[i].status_name) == 0;
        if (!named || !right)
            fprintf(stderr, "\n    %s\n      -> %s: %s (want %s: '%s')",
                    bad[i].json, clenc_status_name(st), clenc_last_error(),
                    bad[i].status_name, bad[i].mentions);
        CU_ASSERT(named && right);
    }
    /* What tokenizers ignores is ignored; a complete object parses. */
    ASSERT_STATUS(parse_as(NORMALIZER,
                           "{\"type\": \"BertNormalizer\", \"clean_text\": "
                           "true, \"handle_chinese_chars\": true, "
                           "\"lowercase\": true, \"future\": 1}"),
                  CLENC_OK);
    ASSERT_STATUS(parse_as(MODEL, WP_HEAD "\"max_input_chars_per_word\": 100, "
                                          "\"vocab\": {}}"),
                  CLENC_OK);
}

/* Strings past pipeline.h's bounds are refused at load, naming the field;
 * a Replace that would grow a text past its bound fails cleanly. */
void test_tj_basic_huge_strings_are_refused(void)
{
    const size_t big = 2 * CLENC__TJ_MAX_PATTERN;
    char *s = malloc(big + 1), *json_text = malloc(big + 4096);
    CU_ASSERT_FATAL(s && json_text);
    memset(s, 'x', big);
    s[big] = 0;
    snprintf(json_text, big + 4096, "{\"type\": \"Prepend\", \"prepend\": \"%s\"}",
             s);
    ASSERT_STATUS(parse_as(NORMALIZER, json_text), CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("normalizer.prepend is 8192 bytes long");
    snprintf(json_text, big + 4096,
             "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"%s\"}, "
             "\"content\": \"\"}",
             s);
    ASSERT_STATUS(parse_as(NORMALIZER, json_text), CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("normalizer.pattern.Regex is 8192 bytes long");
    s[CLENC__TJ_MAX_TOKEN + 1] = 0; /* one byte past a token's bound */
    snprintf(json_text, big + 4096,
             WP_HEAD "\"max_input_chars_per_word\": 100, \"vocab\": "
                     "{\"%s\": 0}}",
             s);
    ASSERT_STATUS(parse_as(MODEL, json_text), CLENC_ERR_MODEL_FORMAT);
    ASSERT_ERROR_MENTIONS("model.vocab has a token of 1025 bytes");

    /* An empty pattern matches at every character: 4 KB of content for
     * each of 100 000 characters would be 400 MB. */
    memset(s, 'x', CLENC__TJ_MAX_PATTERN);
    s[CLENC__TJ_MAX_PATTERN] = 0;
    snprintf(json_text, big + 4096,
             "{\"type\": \"Replace\", \"pattern\": {\"String\": \"\"}, "
             "\"content\": \"%s\"}",
             s);
    json_error_t err;
    json_t *obj = json_loads(json_text, 0, &err);
    clenc__normalizer *n = tj_parse_normalizer(clenc__normalizer_parse, obj,
                                               "big.json", "normalizer");
    const size_t text_n = 100000;
    char *text = tj_filled(text_n, 'a');
    clenc__str out = {0};
    ASSERT_STATUS(n->run(n, text, text_n, &out), CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("normalizer Replace grows a text of 100000 bytes");
    /* It stopped at its bound (16 times the text and 64 KB, doubled at
     * most by the string's growth), not at 400 MB. */
    CU_ASSERT(out.cap <= 2 * (16 * text_n + 65536 + CLENC__TJ_MAX_PATTERN + 1));
    /* A short text is still replaced. */
    ASSERT_STATUS(n->run(n, "ab", 2, &out), CLENC_OK);
    CU_ASSERT_EQUAL(out.n, 3 * CLENC__TJ_MAX_PATTERN + 2);
    clenc__str_free(&out);
    n->free(n);
    json_decref(obj);
    free(text);
    free(s);
    free(json_text);
}

/* tokenizers tries every end of a word from its last character: quadratic
 * in a long word. clenc starts at the longest token, which gives the same
 * pieces; a word of 1 MB with max_input_chars_per_word past it is cut
 * into a million pieces without that cost (HF's way: 5e11 lookups). */
void test_tj_basic_wordpiece_long_word_is_linear(void)
{
    json_error_t err;
    json_t *obj = json_loads(WP_HEAD "\"max_input_chars_per_word\": 10000000, "
                                     "\"vocab\": {\"[UNK]\": 0, \"x\": 1, "
                                     "\"##x\": 2, \"xx\": 3}}",
                             0, &err);
    clenc__tmodel *m =
        tj_parse_model(clenc__tmodel_parse, obj, "long.json", "model");
    const size_t n = 1000000;
    char *word = tj_filled(n, 'x');
    clenc__ids ids = {0};
    const uint64_t t0 = clenc__now_ns();
    ASSERT_STATUS(m->run(m, word, n, &ids), CLENC_OK);
    const double seconds = (double)(clenc__now_ns() - t0) * 1e-9;
    printf("\n    WordPiece on a 1 MB word: %.3f s", seconds);
    /* "xx", then "##x" for each x left. */
    CU_ASSERT_EQUAL(ids.n, n - 1);
    CU_ASSERT(ids.n > 1 && ids.v[0] == 3 && ids.v[1] == 2 &&
              ids.v[ids.n - 1] == 2);
    CU_ASSERT(seconds < 10.0); /* measured 0.05 s; HF's loop: hours */
    clenc__ids_free(&ids);
    m->free(m);
    json_decref(obj);
    free(word);
}

/* ---------------------------------------------------------- faults */

static const char *const fault_specs[] = {
    "{\"type\": \"BertNormalizer\", \"clean_text\": true, "
    "\"handle_chinese_chars\": true, \"lowercase\": true}",
    "{\"type\": \"Sequence\", \"normalizers\": [{\"type\": \"NFKC\"}, "
    "{\"type\": \"Lowercase\"}, {\"type\": \"StripAccents\"}, {\"type\": "
    "\"Strip\", \"strip_left\": true, \"strip_right\": true}, {\"type\": "
    "\"Prepend\", \"prepend\": \"_\"}]}",
    "{\"type\": \"Replace\", \"pattern\": {\"String\": \"aab\"}, "
    "\"content\": \"<>\"}",
    "{\"type\": \"Replace\", \"pattern\": {\"Regex\": \"\\\\s+\"}, "
    "\"content\": \" \"}",
    "{\"type\": \"BertPreTokenizer\"}",
    "{\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": "
    "\"Whitespace\"}, {\"type\": \"Punctuation\", \"behavior\": "
    "\"MergedWithNext\"}, {\"type\": \"Digits\", \"individual_digits\": "
    "true}]}",
    WP_HEAD "\"max_input_chars_per_word\": 100, \"vocab\": {\"[UNK]\": 0, "
            "\"abc\": 1, \"##b\": 2}}",
};
static const tj_kind fault_kinds[] = {
    TJ_NORMALIZER, TJ_NORMALIZER, TJ_NORMALIZER, TJ_NORMALIZER,
    TJ_PRETOK,     TJ_PRETOK,     TJ_MODEL};
enum { FAULT_COUNT = sizeof fault_specs / sizeof *fault_specs };

/* Parses each component and runs it on a text; any failure is returned. */
static clenc_status fault_scenario(json_t *const *objs, char *digest,
                                   size_t room)
{
    static const char text[] =
        "  Héllo, WÖRLD!! 中文 e\u0301 ΣΑΣ 123 ½ aab\u00a0x  ";
    clenc_status st = CLENC_OK;
    digest[0] = '\0';
    for (size_t i = 0; i < FAULT_COUNT && st == CLENC_OK; i++)
        st = tj_parse_and_run(fault_kinds[i], objs[i],
                              fault_kinds[i] == TJ_MODEL ? "abcb" : text,
                              digest, room);
    return st;
}

/* Every allocation of parsing and running each component, made to fail
 * in turn: a clean CLENC_ERR_OUT_OF_MEMORY with a message, nothing
 * leaked, and the next run right. */
void test_tj_basic_faults_leave_nothing(void)
{
    json_t *objs[FAULT_COUNT];
    for (size_t i = 0; i < FAULT_COUNT; i++)
        objs[i] = tj_parse_text(fault_specs[i]);
    char want[4096] = "";
    ASSERT_STATUS(fault_scenario(objs, want, sizeof want), CLENC_OK);
    CU_ASSERT(tj_fail_each_allocation(fault_scenario, objs, want) >= 40);
    for (size_t i = 0; i < FAULT_COUNT; i++)
        json_decref(objs[i]);
}
