/* pre_tokenizers.c — tokenizer.json's pre-tokenizers that split by character classes: BertPreTokenizer, Whitespace, WhitespaceSplit, Punctuation and Digits. */
#include <string.h>

#include "text/pipeline.h"
#include "text/unicode.h"

/* Three of them split every word into runs of characters of one class
 * (text/unicode.h has the classes, as Rust sees them):
 * - WhitespaceSplit: runs of non-White_Space; White_Space removed.
 * - BertPreTokenizer: the same, then each punctuation character alone.
 * - Whitespace: tokenizers' regex \w+|[^\w\s]+, whose matches are the words
 *   and the rest (White_Space) removed; since no character is both \w and
 *   \s, its matches are exactly the maximal runs of \w and of [^\w\s].
 *   The classes are the regex crate's Unicode ones (Unicode 16), tested by
 *   utf8proc's categories (Unicode 15; see clenc__is_word_char) rather
 *   than by Oniguruma's \w (libonig 6.9.8: Unicode 14): over every code
 *   point alone, 5 055 differ from tokenizers this way (all of them
 *   characters added after Unicode 15), 9 473 that way.
 * BertPreTokenizer and Punctuation differ on 129 code points (punctuation
 * added or recategorised since unicode_categories' Unicode 8), Digits on
 * 93 (digits added after Unicode 15), WhitespaceSplit on none.
 * Punctuation and Digits take a split behaviour, so they hand each
 * delimiter character to clenc__split_word. */

enum { CLASS_REMOVED, CLASS_ALONE, CLASS_RUN_A, CLASS_RUN_B };

static int class_whitespace_split(int32_t c)
{
    return clenc__is_white_space(c) ? CLASS_REMOVED : CLASS_RUN_A;
}

static int class_bert(int32_t c)
{
    return clenc__is_white_space(c) ? CLASS_REMOVED
           : clenc__is_punct(c)     ? CLASS_ALONE
                                    : CLASS_RUN_A;
}

static int class_whitespace(int32_t c)
{
    return clenc__is_word_char(c)    ? CLASS_RUN_A
           : clenc__is_white_space(c) ? CLASS_REMOVED
                                      : CLASS_RUN_B;
}

typedef struct pretok_classes {
    clenc__pretok base;
    int (*class_of)(int32_t c);
} pretok_classes;

static clenc_status classes_run(const clenc__pretok *self,
                                const clenc__words *in, clenc__words *out)
{
    const pretok_classes *t = (const pretok_classes *)self;
    clenc_status st = CLENC_OK;
    clenc__words_clear(out);
    out->at_start = in->at_start;
    for (size_t w = 0; w < in->n && st == CLENC_OK; w++) {
        const char *s = (in->text.p ? in->text.p : "") + in->w[w].start;
        size_t n = in->w[w].end - in->w[w].start;
        size_t i = 0, run_start = 0;
        int run_class = CLASS_REMOVED;
        while (i < n && st == CLENC_OK) {
            size_t at = i;
            int k = t->class_of(clenc__utf8_next(s, n, &i));
            if (k == run_class && k != CLASS_ALONE)
                continue;
            if (run_class != CLASS_REMOVED)
                st = clenc__words_add(out, s + run_start, at - run_start);
            run_start = at;
            run_class = k;
        }
        if (st == CLENC_OK && run_class != CLASS_REMOVED)
            st = clenc__words_add(out, s + run_start, n - run_start);
    }
    return st;
}

static void plain_free(clenc__pretok *self)
{
    clenc__free(self);
}

static clenc_status classes_make(int (*class_of)(int32_t),
                                  clenc__pretok **out)
{
    pretok_classes *t = clenc__calloc(1, sizeof *t);
    *out = (clenc__pretok *)t;
    if (!t)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a pre-tokenizer");
    t->base.run = classes_run;
    t->base.free = plain_free;
    t->class_of = class_of;
    return CLENC_OK;
}

clenc_status clenc__pretok_bert_parse(json_t *obj, const clenc__jpath *p,
                                      clenc__pretok **out)
{
    (void)obj;
    (void)p;
    return classes_make(class_bert, out);
}

clenc_status clenc__pretok_whitespace_parse(json_t *obj, const clenc__jpath *p,
                                            clenc__pretok **out)
{
    (void)obj;
    (void)p;
    return classes_make(class_whitespace, out);
}

clenc_status clenc__pretok_whitespace_split_parse(json_t *obj,
                                                  const clenc__jpath *p,
                                                  clenc__pretok **out)
{
    (void)obj;
    (void)p;
    return classes_make(class_whitespace_split, out);
}

/* ------------------------------------------------- Punctuation, Digits */

typedef struct pretok_delim {
    clenc__pretok base;
    int (*is_delimiter)(int32_t c);
    clenc__split_behavior behavior;
} pretok_delim;

/* Every delimiter character is one match (tokenizers' char pattern), so
 * the behaviour sees each: Isolated makes "!!" two words, Contiguous one. */
static clenc_status delim_run(const clenc__pretok *self,
                              const clenc__words *in, clenc__words *out)
{
    const pretok_delim *t = (const pretok_delim *)self;
    clenc_status st = CLENC_OK;
    size_t *starts = NULL, *ends = NULL, cap = 0;
    clenc__words_clear(out);
    out->at_start = in->at_start;
    for (size_t w = 0; w < in->n && st == CLENC_OK; w++) {
        const char *s = (in->text.p ? in->text.p : "") + in->w[w].start;
        size_t n = in->w[w].end - in->w[w].start, count = 0;
        if (n > cap) { /* a word of n bytes has at most n delimiters */
            size_t cap2 = cap ? cap : 64;
            while (cap2 < n)
                cap2 *= 2;
            clenc__free(starts);
            clenc__free(ends);
            starts = clenc__malloc(cap2 * sizeof *starts);
            ends = clenc__malloc(cap2 * sizeof *ends);
            cap = cap2;
            if (!starts || !ends) {
                st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                                 "no host memory to split a word of %zu "
                                 "bytes",
                                 n);
                break;
            }
        }
        for (size_t i = 0; i < n;) {
            size_t at = i;
            if (t->is_delimiter(clenc__utf8_next(s, n, &i))) {
                starts[count] = at;
                ends[count++] = i;
            }
        }
        st = clenc__split_word(s, n, starts, ends, count, 0, t->behavior,
                               out);
    }
    clenc__free(starts);
    clenc__free(ends);
    return st;
}

static clenc_status delim_make(int (*is_delimiter)(int32_t),
                               clenc__split_behavior behavior,
                               clenc__pretok **out)
{
    pretok_delim *t = clenc__calloc(1, sizeof *t);
    *out = (clenc__pretok *)t;
    if (!t)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a pre-tokenizer");
    t->base.run = delim_run;
    t->base.free = plain_free;
    t->is_delimiter = is_delimiter;
    t->behavior = behavior;
    return CLENC_OK;
}

/* behavior defaults to Isolated (tokenizers' serde default). */
clenc_status clenc__pretok_punctuation_parse(json_t *obj,
                                             const clenc__jpath *p,
                                             clenc__pretok **out)
{
    clenc__split_behavior behavior;
    *out = NULL;
    json_t *v = json_object_get(obj, "behavior");
    if (v && json_is_null(v)) /* tokenizers refuses null too */
        return clenc__jpath_bad(p, "behavior", "is null");
    clenc_status st = clenc__jget_behavior(obj, p, "behavior",
                                           CLENC__SPLIT_ISOLATED, &behavior);
    if (st != CLENC_OK)
        return st;
    return delim_make(clenc__is_punct, behavior, out);
}

/* individual_digits (required): each digit alone, else runs of digits. */
clenc_status clenc__pretok_digits_parse(json_t *obj, const clenc__jpath *p,
                                        clenc__pretok **out)
{
    int individual;
    *out = NULL;
    json_t *v = json_object_get(obj, "individual_digits");
    if (!v || json_is_null(v))
        return clenc__jpath_bad(p, "individual_digits", "is %s",
                                v ? "null" : "missing");
    clenc_status st = clenc__jget_bool(obj, p, "individual_digits", 0,
                                       &individual);
    if (st != CLENC_OK)
        return st;
    return delim_make(clenc__is_numeric,
                      individual ? CLENC__SPLIT_ISOLATED
                                 : CLENC__SPLIT_CONTIGUOUS,
                      out);
}
