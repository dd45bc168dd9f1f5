/* test_tj_basic.c — tokenizer.json's normalizers, character-class pre-tokenizers and WordPiece model against Hugging Face tokenizers' outputs, one component at a time, and their refusal of bad JSON. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "text/pipeline.h"

/* Paths relative to the repository root, where the tests run. */
#define BASIC "tests/fixtures/tj_basic_components.json" /* make_tj_basic_fixtures.py */
#define TOKJSON "tests/fixtures/tokjson/" /* make_tokenizer_json_fixtures.py */
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

static json_t *load_json(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!root)
        fprintf(stderr, "\n    cannot read %s: line %d: %s\n", path, err.line,
                err.text);
    CU_ASSERT_FATAL(root != NULL);
    return root;
}

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

typedef struct tally {
    size_t count, mismatches, explained;
} tally;

static void report(const char *what, const tally *t)
{
    printf("\n    %s: %zu cases, %zu mismatches", what, t->count,
           t->mismatches);
    if (t->explained)
        printf(" (%zu more from Unicode versions: U+32FF, U+1F16C)",
               t->explained);
}

static void check_normalized(const clenc__normalizer *n, const json_t *text,
                             const json_t *want, const char *label, tally *t)
{
    clenc__str out = {0};
    const char *s = json_string_value(text), *w = json_string_value(want);
    const size_t sn = json_string_length(text), wn = json_string_length(want);
    t->count++;
    clenc_status st = n->run(n, s, sn, &out);
    if (st == CLENC_OK && out.n == wn && (wn == 0 || memcmp(out.p, w, wn) == 0)) {
        clenc__str_free(&out);
        return;
    }
    if (st == CLENC_OK && explained(n, w, wn, out.p, out.n)) {
        t->explained++;
    } else if (t->mismatches++ < 3) {
        fprintf(stderr, "\n    %s: '%.60s'\n      HF    '%.*s'\n      clenc "
                        "'%.*s' (%s)",
                label, s, (int)(wn > 200 ? 200 : wn), w,
                (int)(out.n > 200 ? 200 : out.n), out.p ? out.p : "",
                st == CLENC_OK ? "ok" : clenc_last_error());
    }
    clenc__str_free(&out);
}

/* The words of pre-tokenizing text as one word (pre_tokenize_str). */
static void check_words(const clenc__pretok *pt, const json_t *text,
                        const json_t *want, const char *label, tally *t)
{
    clenc__words in = {0}, out = {0};
    in.at_start = 1;
    t->count++;
    clenc_status st = clenc__words_add(&in, json_string_value(text),
                                       json_string_length(text));
    if (st == CLENC_OK)
        st = pt->run(pt, &in, &out);
    int same = st == CLENC_OK && out.n == json_array_size(want);
    for (size_t i = 0; same && i < out.n; i++) {
        const json_t *w = json_array_get(want, i);
        const size_t len = out.w[i].end - out.w[i].start;
        same = json_string_length(w) == len &&
               (len == 0 || memcmp(json_string_value(w),
                                   out.text.p + out.w[i].start, len) == 0);
    }
    if (!same && t->mismatches++ < 3) {
        fprintf(stderr, "\n    %s: '%.60s': HF %zu words, clenc %zu:", label,
                json_string_value(text), json_array_size(want), out.n);
        for (size_t i = 0; i < out.n && i < 12; i++)
            fprintf(stderr, " [%.*s]", (int)(out.w[i].end - out.w[i].start),
                    out.text.p + out.w[i].start);
    }
    clenc__words_free(&in);
    clenc__words_free(&out);
}

/* ids of the model's run on word, against HF's; a case HF failed
 * ("error": the missing unk_token) must fail too, naming the token. */
static void check_pieces(const clenc__tmodel *m, const json_t *c,
                         const char *label, tally *t)
{
    const json_t *word = json_object_get(c, "word");
    const json_t *want = json_object_get(c, "ids");
    clenc__ids ids = {0};
    t->count++;
    clenc_status st = m->run(m, json_string_value(word),
                             json_string_length(word), &ids);
    int same;
    if (!want) {
        same = st == CLENC_ERR_MODEL_FORMAT &&
               strstr(clenc_last_error(), "unk_token") != NULL;
    } else {
        same = st == CLENC_OK && ids.n == json_array_size(want);
        for (size_t i = 0; same && i < ids.n; i++)
            same = ids.v[i] == json_integer_value(json_array_get(want, i));
    }
    if (!same && t->mismatches++ < 3)
        fprintf(stderr, "\n    %s: word '%.60s': %zu ids (%s), HF %zu",
                label, json_string_value(word), ids.n,
                st == CLENC_OK ? "ok" : clenc_last_error(),
                json_array_size(want));
    clenc__ids_free(&ids);
}

/* ------------------------------------------------ one component each */

void test_tj_basic_normalizers_match_hf(void)
{
    json_t *root = load_json(BASIC);
    const json_t *texts = json_object_get(root, "texts"), *entry;
    const json_t *list = json_object_get(root, "normalizers");
    CU_ASSERT_FATAL(json_array_size(texts) > 100 && json_array_size(list) > 30);
    tally t = {0};
    size_t k, i;
    json_array_foreach(list, k, entry) {
        clenc__jpath p = {.file = BASIC};
        snprintf(p.at, sizeof p.at, "normalizers[%zu].json", k);
        clenc__normalizer *n = NULL;
        ASSERT_STATUS(clenc__normalizer_parse(json_object_get(entry, "json"),
                                              &p, &n),
                      CLENC_OK);
        CU_ASSERT_FATAL(n != NULL);
        const json_t *outputs = json_object_get(entry, "outputs"), *text;
        CU_ASSERT_FATAL(json_array_size(outputs) == json_array_size(texts));
        json_array_foreach(texts, i, text) {
            check_normalized(n, text, json_array_get(outputs, i), p.at, &t);
        }
        n->free(n);
    }
    report("normalizers", &t);
    CU_ASSERT_EQUAL(t.mismatches, 0);
    json_decref(root);
}

void test_tj_basic_pre_tokenizers_match_hf(void)
{
    json_t *root = load_json(BASIC);
    const json_t *texts = json_object_get(root, "texts"), *entry;
    const json_t *list = json_object_get(root, "pre_tokenizers");
    CU_ASSERT_FATAL(json_array_size(list) >= 10);
    tally t = {0};
    size_t k, i;
    json_array_foreach(list, k, entry) {
        clenc__jpath p = {.file = BASIC};
        snprintf(p.at, sizeof p.at, "pre_tokenizers[%zu].json", k);
        clenc__pretok *pt = NULL;
        ASSERT_STATUS(clenc__pretok_parse(json_object_get(entry, "json"), &p,
                                          &pt),
                      CLENC_OK);
        CU_ASSERT_FATAL(pt != NULL);
        const json_t *outputs = json_object_get(entry, "outputs"), *text;
        json_array_foreach(texts, i, text) {
            check_words(pt, text, json_array_get(outputs, i), p.at, &t);
        }
        pt->free(pt);
    }
    report("pre-tokenizers", &t);
    CU_ASSERT_EQUAL(t.mismatches, 0);
    json_decref(root);
}

void test_tj_basic_wordpiece_matches_hf(void)
{
    json_t *root = load_json(BASIC);
    const json_t *list = json_object_get(root, "models"), *entry;
    CU_ASSERT_FATAL(json_array_size(list) >= 5);
    tally t = {0};
    size_t k, i, errors = 0;
    json_array_foreach(list, k, entry) {
        clenc__jpath p = {.file = BASIC};
        snprintf(p.at, sizeof p.at, "models[%zu].json", k);
        clenc__tmodel *m = NULL;
        ASSERT_STATUS(clenc__tmodel_parse(json_object_get(entry, "json"), &p,
                                          &m),
                      CLENC_OK);
        CU_ASSERT_FATAL(m != NULL);
        CU_ASSERT_EQUAL(m->vocab_size, 25); /* entries; two share id 20 */
        CU_ASSERT_EQUAL(m->max_id, 30);
        CU_ASSERT_EQUAL(m->id(m, "##ab", 4), 20);
        CU_ASSERT_EQUAL(m->id(m, "##abc", 5), -1);
        const json_t *c;
        json_array_foreach(json_object_get(entry, "cases"), i, c) {
            errors += json_object_get(c, "error") != NULL;
            check_pieces(m, c, p.at, &t);
        }
        m->free(m);
    }
    report("WordPiece words", &t);
    CU_ASSERT(errors > 0); /* the vocabulary without its unk_token */
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
    tally norm = {0}, pre = {0}, model = {0};
    for (size_t f = 0; f < sizeof fixtures / sizeof *fixtures; f++) {
        char path[256], cases_path[256];
        snprintf(path, sizeof path, TOKJSON "%s/tokenizer.json",
                 fixtures[f].name);
        snprintf(cases_path, sizeof cases_path, TOKJSON "%s.cases.json",
                 fixtures[f].name);
        json_t *tj = load_json(path), *cases = load_json(cases_path);
        clenc__jpath p = {.file = path, .at = "normalizer"};
        clenc__normalizer *n = NULL;
        size_t i;
        const json_t *c;
        ASSERT_STATUS(clenc__normalizer_parse(json_object_get(tj, "normalizer"),
                                              &p, &n),
                      CLENC_OK);
        CU_ASSERT_FATAL(n != NULL);
        json_array_foreach(json_object_get(cases, "normalizer"), i, c) {
            check_normalized(n, json_object_get(c, "text"),
                             json_object_get(c, "normalized"),
                             fixtures[f].name, &norm);
        }
        n->free(n);
        if (fixtures[f].pre_and_model) {
            clenc__pretok *pt = NULL;
            clenc__tmodel *m = NULL;
            snprintf(p.at, sizeof p.at, "pre_tokenizer");
            ASSERT_STATUS(clenc__pretok_parse(json_object_get(tj,
                                                              "pre_tokenizer"),
                                              &p, &pt),
                          CLENC_OK);
            snprintf(p.at, sizeof p.at, "model");
            ASSERT_STATUS(clenc__tmodel_parse(json_object_get(tj, "model"), &p,
                                              &m),
                          CLENC_OK);
            CU_ASSERT_FATAL(pt != NULL && m != NULL);
            json_array_foreach(json_object_get(cases, "pre_tokenizer"), i, c) {
                check_words(pt, json_object_get(c, "text"),
                            json_object_get(c, "words"), fixtures[f].name,
                            &pre);
            }
            json_array_foreach(json_object_get(cases, "model"), i, c) {
                check_pieces(m, c, fixtures[f].name, &model);
            }
            pt->free(pt);
            m->free(m);
        }
        json_decref(tj);
        json_decref(cases);
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
    json_t *tj = load_json(MINILM_TOKENIZER), *cases = load_json(MINILM_CASES);
    clenc__jpath p = {.file = MINILM_TOKENIZER, .at = "normalizer"};
    clenc__normalizer *n = NULL;
    clenc__pretok *pt = NULL;
    clenc__tmodel *m = NULL;
    ASSERT_STATUS(clenc__normalizer_parse(json_object_get(tj, "normalizer"), &p,
                                          &n),
                  CLENC_OK);
    snprintf(p.at, sizeof p.at, "pre_tokenizer");
    ASSERT_STATUS(clenc__pretok_parse(json_object_get(tj, "pre_tokenizer"), &p,
                                      &pt),
                  CLENC_OK);
    snprintf(p.at, sizeof p.at, "model");
    ASSERT_STATUS(clenc__tmodel_parse(json_object_get(tj, "model"), &p, &m),
                  CLENC_OK);
    CU_ASSERT_FATAL(n && pt && m);
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
    json_error_t err;
    json_t *obj = json_loads(json_text, 0, &err);
    CU_ASSERT_FATAL(obj != NULL);
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
    clenc__jpath p = {.file = "big.json", .at = "normalizer"};
    clenc__normalizer *n = NULL;
    ASSERT_STATUS(clenc__normalizer_parse(obj, &p, &n), CLENC_OK);
    CU_ASSERT_FATAL(n != NULL);
    const size_t text_n = 100000;
    char *text = malloc(text_n);
    CU_ASSERT_FATAL(text != NULL);
    memset(text, 'a', text_n);
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
    clenc__jpath p = {.file = "long.json", .at = "model"};
    clenc__tmodel *m = NULL;
    ASSERT_STATUS(clenc__tmodel_parse(obj, &p, &m), CLENC_OK);
    CU_ASSERT_FATAL(m != NULL);
    const size_t n = 1000000;
    char *word = malloc(n);
    CU_ASSERT_FATAL(word != NULL);
    memset(word, 'x', n);
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

/* Parses each component and runs it on a text; any failure is returned. */
static clenc_status fault_scenario(json_t *const *objs, const kind *kinds,
                                   size_t count, char *digest, size_t room)
{
    static const char text[] =
        "  Héllo, WÖRLD!! 中文 e\u0301 ΣΑΣ 123 ½ aab\u00a0x  ";
    clenc_status st = CLENC_OK;
    size_t used = 0;
    for (size_t i = 0; i < count && st == CLENC_OK; i++) {
        clenc__jpath p = {.file = "faults.json", .at = "c"};
        if (kinds[i] == NORMALIZER) {
            clenc__normalizer *n = NULL;
            clenc__str out = {0};
            st = clenc__normalizer_parse(objs[i], &p, &n);
            if (st == CLENC_OK)
                st = n->run(n, text, sizeof text - 1, &out);
            if (st == CLENC_OK)
                used += (size_t)snprintf(digest + used, room - used, "%.*s|",
                                         (int)out.n, out.p ? out.p : "");
            clenc__str_free(&out);
            if (n)
                n->free(n);
        } else if (kinds[i] == PRETOK) {
            clenc__pretok *pt = NULL;
            clenc__words in = {0}, out = {0};
            st = clenc__pretok_parse(objs[i], &p, &pt);
            if (st == CLENC_OK)
                st = clenc__words_add(&in, text, sizeof text - 1);
            if (st == CLENC_OK)
                st = pt->run(pt, &in, &out);
            if (st == CLENC_OK)
                used += (size_t)snprintf(digest + used, room - used, "%zu|",
                                         out.n);
            clenc__words_free(&in);
            clenc__words_free(&out);
            if (pt)
                pt->free(pt);
        } else {
            clenc__tmodel *m = NULL;
            clenc__ids ids = {0};
            st = clenc__tmodel_parse(objs[i], &p, &m);
            if (st == CLENC_OK)
                st = m->run(m, "abcb", 4, &ids);
            if (st == CLENC_OK)
                used += (size_t)snprintf(digest + used, room - used, "%zu|",
                                         ids.n);
            clenc__ids_free(&ids);
            if (m)
                m->free(m);
        }
        if (used >= room)
            used = room - 1;
    }
    return st;
}

/* Every allocation of parsing and running each component, made to fail
 * in turn: a clean CLENC_ERR_OUT_OF_MEMORY with a message, nothing
 * leaked, and the next run right. */
void test_tj_basic_faults_leave_nothing(void)
{
    static const char *const texts[] = {
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
    static const kind kinds[] = {NORMALIZER, NORMALIZER, NORMALIZER,
                                 NORMALIZER, PRETOK, PRETOK, MODEL};
    enum { COUNT = sizeof texts / sizeof *texts };
    json_t *objs[COUNT];
    for (size_t i = 0; i < COUNT; i++) {
        json_error_t err;
        objs[i] = json_loads(texts[i], 0, &err);
        CU_ASSERT_FATAL(objs[i] != NULL);
    }
    char want[4096] = "", got[4096];
    ASSERT_STATUS(fault_scenario(objs, kinds, COUNT, want, sizeof want),
                  CLENC_OK);
    const long blocks = clenc__live_blocks();
    long n = 1, silent = 0, other = 0, leaks = 0, later = 0;
    for (;; n++) {
        clenc__fault_arm(n);
        clenc_status st = fault_scenario(objs, kinds, COUNT, got, sizeof got);
        const int injected = clenc__fault_passed() >= n;
        clenc__fault_arm(0);
        if (!injected) {
            ASSERT_STATUS(st, CLENC_OK);
            break;
        }
        other += st != CLENC_ERR_OUT_OF_MEMORY;
        silent += clenc_last_error()[0] == '\0';
        leaks += clenc__live_blocks() != blocks;
        got[0] = 0;
        later += fault_scenario(objs, kinds, COUNT, got, sizeof got) !=
                     CLENC_OK ||
                 strcmp(got, want) != 0;
    }
    printf("\n    %ld allocations failed in turn", n - 1);
    CU_ASSERT(n > 40);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT_EQUAL(silent, 0);
    CU_ASSERT_EQUAL(leaks, 0);
    CU_ASSERT_EQUAL(later, 0);
    for (size_t i = 0; i < COUNT; i++)
        json_decref(objs[i]);
}
