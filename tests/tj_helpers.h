/* tj_helpers.h — what the tokenizer.json suites share: fixtures loaded, components parsed, each component's run compared with Hugging Face tokenizers' answers and tallied, and the allocation-failure walk. */
#ifndef CLENC_TEST_TJ_HELPERS_H
#define CLENC_TEST_TJ_HELPERS_H

#include <stddef.h>

#include <jansson.h>

#include "text/pipeline.h"

/* make_tokenizer_json_fixtures.py's tokenizers, relative to the repository
 * root, where the tests run. */
#define TJ_FIXTURES "tests/fixtures/tokjson/"

/* ------------------------------------------------------------- loading */

/* A fixture file's JSON; one that does not parse fails the test, naming
 * the file and line. Strings may hold U+0000 (the normalizers' texts do). */
json_t *tj_load_json(const char *path);
/* TJ_FIXTURES NAME/tokenizer.json and NAME.cases.json. */
json_t *tj_load_tokenizer(const char *name);
json_t *tj_load_cases(const char *name);
/* A test's own JSON text; text that does not parse fails the test. */
json_t *tj_parse_text(const char *text);
/* n copies of byte, then a NUL (malloc'd): the long words and texts the
 * bounds tests feed. No memory fails the test. */
char *tj_filled(size_t n, char byte);

/* The component obj parsed by `parse` (a kind's dispatch such as
 * clenc__normalizer_parse, or one type's own) with its path "FILE: AT";
 * anything but a component fails the test. */
clenc__normalizer *tj_parse_normalizer(clenc__normalizer_parse_fn parse,
                                       json_t *obj, const char *file,
                                       const char *at);
clenc__pretok *tj_parse_pretok(clenc__pretok_parse_fn parse, json_t *obj,
                               const char *file, const char *at);
clenc__tmodel *tj_parse_model(clenc__tmodel_parse_fn parse, json_t *obj,
                              const char *file, const char *at);

/* ----------------------------------------------------------- comparing */

/* Cases run and how they went; the first few mismatches of a tally are
 * printed on stderr as they happen. */
typedef struct tj_tally {
    size_t count, mismatches;
    size_t explained; /* mismatches a tj_explain_fn accounted for */
    size_t refused;   /* words tokenizers refused (clenc must too) */
} tj_tally;

/* "WHAT: N cases, M mismatches" on stdout. */
void tj_report(const char *what, const tj_tally *t);

/* a[0..n) is the JSON string want, byte for byte. */
int tj_same_bytes(const char *a, size_t n, const json_t *want);
/* ids are the JSON array of integers want. */
int tj_same_ids(const clenc__ids *ids, const json_t *want);

/* 1 when ours differs from HF's answer hf for a reason the suite knows
 * (test_tj_basic.c: characters newer than tokenizers' Unicode tables). */
typedef int (*tj_explain_fn)(const clenc__normalizer *n, const char *hf,
                             size_t hn, const char *ours, size_t on);

/* n run on the JSON string text against HF's want; explain (may be NULL)
 * may account for a mismatch. */
void tj_check_normalized(const clenc__normalizer *n, const json_t *text,
                         const json_t *want, tj_explain_fn explain,
                         const char *label, tj_tally *t);

/* text as one word (at_start as given; pre_tokenize_str's is 1) through
 * pt into *out (the caller frees it): 1 when the words are want's. */
int tj_words_match(const clenc__pretok *pt, const json_t *text, int at_start,
                   const json_t *want, clenc__words *out);
void tj_check_words(const clenc__pretok *pt, const json_t *text, int at_start,
                    const json_t *want, const char *label, tj_tally *t);

/* What a model must do with a word tokenizers refused (a case with
 * "error" and no "ids"): fail with this status, the message mentioning
 * this. */
typedef struct tj_refusal {
    clenc_status status;
    const char *mentions;
} tj_refusal;
/* WordPiece's and BPE's: an unk_token missing from the vocabulary makes
 * the file wrong once a word needs it. */
#define TJ_MISSING_UNK ((tj_refusal){CLENC_ERR_MODEL_FORMAT, "unk_token"})

/* The case's {"word", "ids"} (or "error") through m. */
void tj_check_pieces(const clenc__tmodel *m, const json_t *c,
                     tj_refusal refusal, const char *label, tj_tally *t);

/* The sections of a cases file: {"text", "normalized"}, {"text", "words"}
 * (with "at_start", else 1) and {"word", "ids"}; a case without them
 * fails the test at once. */
void tj_check_normalizer_cases(const clenc__normalizer *n, const json_t *cases,
                               tj_explain_fn explain, const char *label,
                               tj_tally *t);
void tj_check_pretok_cases(const clenc__pretok *pt, const json_t *cases,
                           const char *label, tj_tally *t);
void tj_check_model_cases(const clenc__tmodel *m, const json_t *cases,
                          tj_refusal refusal, const char *label, tj_tally *t);

/* A components file's lists (make_tj_basic_fixtures.py,
 * make_tj_bpe_fixtures.py): "normalizers" and "pre_tokenizers" of
 * {"json": a component, "outputs": HF's answer for each of the file's
 * "texts"}, "models" of {"json", "cases"}. Each component is parsed as
 * "FILE: LIST[K].json" and run; a model is first given to each (may be
 * NULL) for checks of its own. */
void tj_check_normalizer_list(const json_t *root, const char *file,
                              tj_explain_fn explain, tj_tally *t);
void tj_check_pretok_list(const json_t *root, const char *file, tj_tally *t);
void tj_check_model_list(const json_t *root, const char *file,
                         tj_refusal refusal,
                         void (*each)(const clenc__tmodel *m), tj_tally *t);

/* A fixture's normalizer, pre-tokenizer and model, each parsed from its
 * tokenizer.json and run on its cases file's section, into these tallies;
 * a NULL tally skips the section. Its model refuses as TJ_MISSING_UNK. */
typedef struct tj_sections {
    tj_tally *normalizer, *pre_tokenizer, *model;
} tj_sections;
void tj_check_fixture(const char *name, tj_sections s, tj_explain_fn explain);

/* -------------------------------------------------------------- faults */

typedef enum tj_kind { TJ_NORMALIZER, TJ_PRETOK, TJ_MODEL } tj_kind;

/* obj parsed as a component of kind k ("faults.json: c") and run on input
 * (a pre-tokenizer's as one word at the start), what it gave appended to
 * the string in digest (room bytes, cut short when full): the text and
 * '|', each word and '|', or each id and ','. Returns the first failure;
 * nothing is left allocated. */
clenc_status tj_parse_and_run(tj_kind k, json_t *obj, const char *input,
                              char *digest, size_t room);

/* Parses and runs the components objs hold, writing what they gave into
 * digest (room bytes; from its start); returns the first failure. */
typedef clenc_status (*tj_scenario)(json_t *const *objs, char *digest,
                                    size_t room);

/* Every allocation of scenario made to fail in turn: each a clean
 * CLENC_ERR_OUT_OF_MEMORY with a message, nothing leaked, and the next run
 * gives want again (asserted here). Returns how many allocations failed. */
long tj_fail_each_allocation(tj_scenario scenario, json_t *const *objs,
                             const char *want);

#endif
