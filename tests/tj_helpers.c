/* tj_helpers.c — the tokenizer.json suites' shared loading, parsing, case-by-case comparison with Hugging Face tokenizers' answers, and allocation-failure walk (tj_helpers.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "tj_helpers.h"

/* Mismatches printed per tally: enough to see a pattern, not a flood. */
#define TJ_SHOWN 5

/* ------------------------------------------------------------- loading */

json_t *tj_load_json(const char *path)
{
    json_error_t err;
    json_t *root = json_load_file(path, JSON_ALLOW_NUL, &err);
    if (!root)
        fprintf(stderr, "\n    cannot read %s: line %d: %s\n", path, err.line,
                err.text);
    CU_ASSERT_FATAL(root != NULL);
    return root;
}

static json_t *load_fixture(const char *name, const char *suffix)
{
    char path[256];
    snprintf(path, sizeof path, TJ_FIXTURES "%s%s", name, suffix);
    return tj_load_json(path);
}

json_t *tj_load_tokenizer(const char *name)
{
    return load_fixture(name, "/tokenizer.json");
}

json_t *tj_load_cases(const char *name)
{
    return load_fixture(name, ".cases.json");
}

json_t *tj_parse_text(const char *text)
{
    json_error_t err;
    json_t *obj = json_loads(text, 0, &err);
    if (!obj)
        fprintf(stderr, "\n    bad test JSON: %s: %.200s\n", err.text, text);
    CU_ASSERT_FATAL(obj != NULL);
    return obj;
}

char *tj_filled(size_t n, char byte)
{
    char *s = malloc(n + 1);
    CU_ASSERT_FATAL(s != NULL);
    memset(s, byte, n);
    s[n] = '\0';
    return s;
}

/* One body for the three kinds: their parse functions differ in type only. */
#define PARSE_COMPONENT(parse, obj, file, at, made)                            \
    do {                                                                       \
        clenc__jpath p_ = {.file = (file)};                                    \
        snprintf(p_.at, sizeof p_.at, "%s", (at));                             \
        ASSERT_STATUS((parse)((obj), &p_, &(made)), CLENC_OK);                 \
        CU_ASSERT_FATAL((made) != NULL);                                       \
    } while (0)

clenc__normalizer *tj_parse_normalizer(clenc__normalizer_parse_fn parse,
                                       json_t *obj, const char *file,
                                       const char *at)
{
    clenc__normalizer *n = NULL;
    PARSE_COMPONENT(parse, obj, file, at, n);
    return n;
}

clenc__pretok *tj_parse_pretok(clenc__pretok_parse_fn parse, json_t *obj,
                               const char *file, const char *at)
{
    clenc__pretok *pt = NULL;
    PARSE_COMPONENT(parse, obj, file, at, pt);
    return pt;
}

clenc__tmodel *tj_parse_model(clenc__tmodel_parse_fn parse, json_t *obj,
                              const char *file, const char *at)
{
    clenc__tmodel *m = NULL;
    PARSE_COMPONENT(parse, obj, file, at, m);
    return m;
}

/* ----------------------------------------------------------- comparing */

void tj_report(const char *what, const tj_tally *t)
{
    printf("\n    %s: %zu cases, %zu mismatches", what, t->count,
           t->mismatches);
}

int tj_same_bytes(const char *a, size_t n, const json_t *want)
{
    return n == json_string_length(want) &&
           (n == 0 || memcmp(a, json_string_value(want), n) == 0);
}

int tj_same_ids(const clenc__ids *ids, const json_t *want)
{
    int same = ids->n == json_array_size(want);
    for (size_t i = 0; same && i < ids->n; i++)
        same = ids->v[i] == json_integer_value(json_array_get(want, i));
    return same;
}

void tj_check_normalized(const clenc__normalizer *n, const json_t *text,
                         const json_t *want, tj_explain_fn explain,
                         const char *label, tj_tally *t)
{
    clenc__str out = {0};
    const char *s = json_string_value(text), *w = json_string_value(want);
    const size_t wn = json_string_length(want);
    t->count++;
    clenc_status st = n->run(n, s, json_string_length(text), &out);
    if (st == CLENC_OK && tj_same_bytes(out.p, out.n, want)) {
        clenc__str_free(&out);
        return;
    }
    if (st == CLENC_OK && explain && explain(n, w, wn, out.p, out.n)) {
        t->explained++;
    } else if (t->mismatches++ < TJ_SHOWN) {
        fprintf(stderr,
                "\n    %s: '%.60s'\n      HF    '%.*s'\n      clenc "
                "'%.*s' (%s)",
                label, s, (int)(wn > 200 ? 200 : wn), w,
                (int)(out.n > 200 ? 200 : out.n), out.p ? out.p : "",
                st == CLENC_OK ? "ok" : clenc_last_error());
    }
    clenc__str_free(&out);
}

int tj_words_match(const clenc__pretok *pt, const json_t *text, int at_start,
                   const json_t *want, clenc__words *out)
{
    clenc__words in = {0};
    in.at_start = at_start;
    clenc_status st = clenc__words_add(&in, json_string_value(text),
                                       json_string_length(text));
    if (st == CLENC_OK)
        st = pt->run(pt, &in, out);
    clenc__words_free(&in);
    int same = st == CLENC_OK && out->n == json_array_size(want);
    for (size_t i = 0; same && i < out->n; i++)
        same = tj_same_bytes(out->text.p + out->w[i].start,
                             out->w[i].end - out->w[i].start,
                             json_array_get(want, i));
    return same;
}

void tj_check_words(const clenc__pretok *pt, const json_t *text, int at_start,
                    const json_t *want, const char *label, tj_tally *t)
{
    clenc__words out = {0};
    t->count++;
    if (!tj_words_match(pt, text, at_start, want, &out) &&
        t->mismatches++ < TJ_SHOWN) {
        fprintf(stderr, "\n    %s: '%.60s'%s: HF %zu words, clenc %zu:", label,
                json_string_value(text), at_start ? "" : " (not at start)",
                json_array_size(want), out.n);
        for (size_t i = 0; i < out.n && i < 12; i++)
            fprintf(stderr, " [%.*s]", (int)(out.w[i].end - out.w[i].start),
                    out.text.p + out.w[i].start);
        fprintf(stderr, " HF:");
        for (size_t i = 0; i < json_array_size(want) && i < 12; i++)
            fprintf(stderr, " [%s]",
                    json_string_value(json_array_get(want, i)));
    }
    clenc__words_free(&out);
}

void tj_check_pieces(const clenc__tmodel *m, const json_t *c,
                     tj_refusal refusal, const char *label, tj_tally *t)
{
    const json_t *word = json_object_get(c, "word");
    const json_t *want = json_object_get(c, "ids");
    clenc__ids ids = {0};
    t->count++;
    clenc_status st =
        m->run(m, json_string_value(word), json_string_length(word), &ids);
    int same;
    if (!want) {
        t->refused++;
        same = st == refusal.status && clenc_last_error()[0] &&
               strstr(clenc_last_error(), refusal.mentions) != NULL;
    } else {
        same = st == CLENC_OK && tj_same_ids(&ids, want);
    }
    if (!same && t->mismatches++ < TJ_SHOWN) {
        fprintf(stderr, "\n    %s: word '%.60s': clenc (%s)", label,
                json_string_value(word),
                st == CLENC_OK ? "ok" : clenc_last_error());
        for (size_t i = 0; i < ids.n && i < 16; i++)
            fprintf(stderr, " %d", ids.v[i]);
        fprintf(stderr, ", HF%s", want ? "" : " an error");
        for (size_t i = 0; i < json_array_size(want) && i < 16; i++)
            fprintf(stderr, " %lld",
                    (long long)json_integer_value(json_array_get(want, i)));
    }
    clenc__ids_free(&ids);
}

void tj_check_normalizer_cases(const clenc__normalizer *n, const json_t *cases,
                               tj_explain_fn explain, const char *label,
                               tj_tally *t)
{
    size_t i;
    const json_t *c;
    json_array_foreach (cases, i, c) {
        const json_t *text = json_object_get(c, "text");
        const json_t *want = json_object_get(c, "normalized");
        CU_ASSERT_FATAL(json_is_string(text) && json_is_string(want));
        tj_check_normalized(n, text, want, explain, label, t);
    }
}

void tj_check_pretok_cases(const clenc__pretok *pt, const json_t *cases,
                           const char *label, tj_tally *t)
{
    size_t i;
    const json_t *c;
    json_array_foreach (cases, i, c) {
        const json_t *text = json_object_get(c, "text");
        const json_t *want = json_object_get(c, "words");
        const json_t *at = json_object_get(c, "at_start");
        CU_ASSERT_FATAL(json_is_string(text) && json_is_array(want));
        tj_check_words(pt, text, at ? json_is_true(at) : 1, want, label, t);
    }
}

void tj_check_model_cases(const clenc__tmodel *m, const json_t *cases,
                          tj_refusal refusal, const char *label, tj_tally *t)
{
    size_t i;
    const json_t *c;
    json_array_foreach (cases, i, c) {
        CU_ASSERT_FATAL(json_is_string(json_object_get(c, "word")));
        tj_check_pieces(m, c, refusal, label, t);
    }
}

/* Entry k of a components file's list: its path "LIST[K].json" in at, a
 * label with its JSON for messages, its outputs (one per text). */
static json_t *list_entry(const json_t *entry, const char *list, size_t k,
                          const json_t *texts, char *at, size_t at_room,
                          char *label, size_t label_room)
{
    snprintf(at, at_room, "%s[%zu].json", list, k);
    char *spec = json_dumps(json_object_get(entry, "json"), JSON_COMPACT);
    snprintf(label, label_room, "%s %.120s", at, spec ? spec : "?");
    free(spec);
    if (texts)
        CU_ASSERT_FATAL(json_array_size(json_object_get(entry, "outputs")) ==
                        json_array_size(texts));
    return json_object_get(entry, "json");
}

void tj_check_normalizer_list(const json_t *root, const char *file,
                              tj_explain_fn explain, tj_tally *t)
{
    const json_t *texts = json_object_get(root, "texts"), *entry, *text;
    char at[64], label[200];
    size_t k, i;
    json_array_foreach (json_object_get(root, "normalizers"), k, entry) {
        json_t *obj = list_entry(entry, "normalizers", k, texts, at, sizeof at,
                                 label, sizeof label);
        clenc__normalizer *n =
            tj_parse_normalizer(clenc__normalizer_parse, obj, file, at);
        const json_t *outputs = json_object_get(entry, "outputs");
        json_array_foreach (texts, i, text) {
            tj_check_normalized(n, text, json_array_get(outputs, i), explain,
                                label, t);
        }
        n->free(n);
    }
}

void tj_check_pretok_list(const json_t *root, const char *file, tj_tally *t)
{
    const json_t *texts = json_object_get(root, "texts"), *entry, *text;
    char at[64], label[200];
    size_t k, i;
    json_array_foreach (json_object_get(root, "pre_tokenizers"), k, entry) {
        json_t *obj = list_entry(entry, "pre_tokenizers", k, texts, at,
                                 sizeof at, label, sizeof label);
        clenc__pretok *pt = tj_parse_pretok(clenc__pretok_parse, obj, file, at);
        const json_t *outputs = json_object_get(entry, "outputs");
        json_array_foreach (texts, i, text) {
            /* pre_tokenize_str: the text as one word at the start */
            tj_check_words(pt, text, 1, json_array_get(outputs, i), label, t);
        }
        pt->free(pt);
    }
}

void tj_check_model_list(const json_t *root, const char *file,
                         tj_refusal refusal,
                         void (*each)(const clenc__tmodel *m), tj_tally *t)
{
    const json_t *entry;
    char at[64], label[200];
    size_t k;
    json_array_foreach (json_object_get(root, "models"), k, entry) {
        json_t *obj = list_entry(entry, "models", k, NULL, at, sizeof at, label,
                                 sizeof label);
        clenc__tmodel *m = tj_parse_model(clenc__tmodel_parse, obj, file, at);
        if (each)
            each(m);
        tj_check_model_cases(m, json_object_get(entry, "cases"), refusal, label,
                             t);
        m->free(m);
    }
}

void tj_check_fixture(const char *name, tj_sections s, tj_explain_fn explain)
{
    char path[256];
    snprintf(path, sizeof path, TJ_FIXTURES "%s/tokenizer.json", name);
    json_t *tj = tj_load_json(path), *cases = tj_load_cases(name);
    if (s.normalizer) {
        clenc__normalizer *n = tj_parse_normalizer(
            clenc__normalizer_parse, json_object_get(tj, "normalizer"), path,
            "normalizer");
        tj_check_normalizer_cases(n, json_object_get(cases, "normalizer"),
                                  explain, name, s.normalizer);
        n->free(n);
    }
    if (s.pre_tokenizer) {
        clenc__pretok *pt = tj_parse_pretok(
            clenc__pretok_parse, json_object_get(tj, "pre_tokenizer"), path,
            "pre_tokenizer");
        tj_check_pretok_cases(pt, json_object_get(cases, "pre_tokenizer"), name,
                              s.pre_tokenizer);
        pt->free(pt);
    }
    if (s.model) {
        clenc__tmodel *m = tj_parse_model(
            clenc__tmodel_parse, json_object_get(tj, "model"), path, "model");
        tj_check_model_cases(m, json_object_get(cases, "model"), TJ_MISSING_UNK,
                             name, s.model);
        m->free(m);
    }
    json_decref(tj);
    json_decref(cases);
}

/* -------------------------------------------------------------- faults */

static void append(char *digest, size_t room, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void append(char *digest, size_t room, const char *fmt, ...)
{
    const size_t used = strlen(digest);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(digest + used, room - used, fmt, ap);
    va_end(ap);
}

clenc_status tj_parse_and_run(tj_kind k, json_t *obj, const char *input,
                              char *digest, size_t room)
{
    const clenc__jpath p = {.file = "faults.json", .at = "c"};
    const size_t n = strlen(input);
    clenc__normalizer *norm = NULL;
    clenc__pretok *pt = NULL;
    clenc__tmodel *m = NULL;
    clenc__str text = {0};
    clenc__words in = {0}, words = {0};
    clenc__ids ids = {0};
    clenc_status st;
    if (k == TJ_NORMALIZER) {
        st = clenc__normalizer_parse(obj, &p, &norm);
        if (st == CLENC_OK)
            st = norm->run(norm, input, n, &text);
        if (st == CLENC_OK)
            append(digest, room, "%.*s|", (int)text.n, text.p ? text.p : "");
    } else if (k == TJ_PRETOK) {
        in.at_start = 1;
        st = clenc__pretok_parse(obj, &p, &pt);
        if (st == CLENC_OK)
            st = clenc__words_add(&in, input, n);
        if (st == CLENC_OK)
            st = pt->run(pt, &in, &words);
        for (size_t w = 0; st == CLENC_OK && w < words.n; w++)
            append(digest, room, "%.*s|",
                   (int)(words.w[w].end - words.w[w].start),
                   words.text.p + words.w[w].start);
    } else {
        st = clenc__tmodel_parse(obj, &p, &m);
        if (st == CLENC_OK)
            st = m->run(m, input, n, &ids);
        for (size_t i = 0; st == CLENC_OK && i < ids.n; i++)
            append(digest, room, "%d,", ids.v[i]);
    }
    clenc__str_free(&text);
    clenc__words_free(&in);
    clenc__words_free(&words);
    clenc__ids_free(&ids);
    if (norm)
        norm->free(norm);
    if (pt)
        pt->free(pt);
    if (m)
        m->free(m);
    return st;
}

long tj_fail_each_allocation(tj_scenario scenario, json_t *const *objs,
                             const char *want)
{
    char got[4096];
    const long blocks = clenc__live_blocks();
    long n = 1, silent = 0, other = 0, leaks = 0, later = 0;
    for (;; n++) {
        clenc__fault_arm(n);
        clenc_status st = scenario(objs, got, sizeof got);
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
        later += scenario(objs, got, sizeof got) != CLENC_OK ||
                 strcmp(got, want) != 0;
    }
    printf("\n    %ld allocations failed in turn", n - 1);
    CU_ASSERT_EQUAL(other, 0);
    CU_ASSERT_EQUAL(silent, 0);
    CU_ASSERT_EQUAL(leaks, 0);
    CU_ASSERT_EQUAL(later, 0);
    return n - 1;
}
