/* normalizers.c — tokenizer.json's normalizers but Precompiled: BertNormalizer, NFC/NFD/NFKC/NFKD, Lowercase, StripAccents, Replace, Strip and Prepend, as tokenizers 0.23 runs them. */
#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

#include "text/pipeline.h"
#include "text/unicode.h"

/* Each one rewrites the whole (valid UTF-8) text, character by character
 * where tokenizers does (its NormalizedString maps, filters and lower-cases
 * one char at a time). Unicode tables are utf8proc 2.8's (Unicode 15);
 * tokenizers' are of other versions: Rust's std (Unicode 16 and later)
 * lower-cases, unicode_categories (Unicode 8) and
 * unicode-normalization-alignments (before Unicode 12) classify and
 * normalise. Run on every code point
 * alone against tokenizers 0.23.3, outputs differ on: Lowercase 55 (cased
 * letters utf8proc does not know yet: U+1C89, U+A7CB-A7DC, Garay, ...),
 * StripAccents 357 (marks added since Unicode 9, which HF keeps; U+1CF2-3
 * and U+111C9, recategorised), NFD 1 (U+11938, Unicode 13), NFC 0, NFKD
 * 135 and NFKC 134 (compatibility decompositions added in Unicode 12-14:
 * U+32FF, U+1F16C, U+1FBF0-9, U+10780-107BA), BertNormalizer 496 (the
 * same marks, and controls added since Unicode 8, U+0890 ...). Every one
 * of them is a character whose Unicode properties changed between the two
 * tables (added, or its category or decomposition changed); random texts
 * of all other characters matched (tests/test_tj_basic.c has the fixtures).
 *
 * Parsing follows tokenizers' serde: a field it requires is required here
 * (absent or null is CLENC_ERR_MODEL_FORMAT naming it), a field it ignores
 * is ignored. */

/* A required field: present and not null. */
static clenc_status need(json_t *obj, const clenc__jpath *p, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return clenc__jpath_bad(p, key, "is missing");
    if (json_is_null(v))
        return clenc__jpath_bad(p, key, "is null");
    return CLENC_OK;
}

static void plain_free(clenc__normalizer *self)
{
    clenc__free(self);
}

/* A zeroed component of `size` bytes with its vtable set. */
static clenc_status make(size_t size,
                         clenc_status (*run)(const clenc__normalizer *,
                                             const char *, size_t,
                                             clenc__str *),
                         void (*free_fn)(clenc__normalizer *),
                         clenc__normalizer **out)
{
    clenc__normalizer *c = clenc__calloc(1, size);
    *out = c;
    if (!c)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a normalizer");
    c->run = run;
    c->free = free_fn;
    return CLENC_OK;
}

static clenc_status put_lower(clenc__str *out, int32_t c)
{
    int32_t lower[2];
    size_t count = clenc__lowercase(c, lower);
    clenc_status st = CLENC_OK;
    for (size_t i = 0; i < count && st == CLENC_OK; i++)
        st = clenc__str_put_cp(out, lower[i]);
    return st;
}

/* ------------------------------------------------------- Unicode forms */

/* s[0..n) as code points in a normal form (UTF8PROC_DECOMPOSE or
 * UTF8PROC_COMPOSE, with UTF8PROC_COMPAT for the K forms): utf8proc's
 * decomposition and canonical ordering, then its composition, in a buffer
 * of ours (utf8proc_map would malloc). UTF8PROC_STABLE is what makes
 * utf8proc honour the composition exclusions (without it NFC turns
 * U+2ADD U+0338 back into U+2ADC), as its own utf8proc_NFC passes it.
 * *cps is the caller's to free. */
static clenc_status unicode_form(const char *s, size_t n,
                                 utf8proc_option_t options, int32_t **cps,
                                 size_t *count)
{
    *cps = NULL;
    *count = 0;
    /* Most texts do not grow: room for one code point per byte first; a
     * longer result (a decomposition grows a character to 18 at most)
     * says how much it needs, and the second try has it. */
    size_t room = n + 16;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (room > (size_t)PTRDIFF_MAX / sizeof(int32_t))
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "a text too long to normalise");
        int32_t *buf = clenc__malloc(room * sizeof *buf);
        if (!buf)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "no host memory to normalise %zu bytes", n);
        options |= UTF8PROC_STABLE;
        utf8proc_ssize_t k = utf8proc_decompose(
            (const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, buf,
            (utf8proc_ssize_t)room, options);
        if (k < 0) { /* never for valid UTF-8, which the pipeline checks */
            clenc__free(buf);
            return clenc__fail(CLENC_ERR_INVALID_ARG,
                               "normalising a text: %s",
                               utf8proc_errmsg(k));
        }
        if ((size_t)k <= room) {
            if (options & UTF8PROC_COMPOSE)
                k = utf8proc_normalize_utf32(buf, k, options);
            *cps = buf;
            *count = (size_t)k;
            return CLENC_OK;
        }
        clenc__free(buf);
        room = (size_t)k;
    }
    return clenc__fail(CLENC_ERR_INVALID_ARG,
                       "normalising a text: its length changed");
}

typedef struct norm_form {
    clenc__normalizer base;
    utf8proc_option_t options;
} norm_form;

static clenc_status form_run(const clenc__normalizer *self, const char *s,
                             size_t n, clenc__str *out)
{
    const norm_form *f = (const norm_form *)self;
    int32_t *cps;
    size_t count;
    out->n = 0;
    clenc_status st = unicode_form(s, n, f->options, &cps, &count);
    for (size_t i = 0; i < count && st == CLENC_OK; i++)
        st = clenc__str_put_cp(out, cps[i]);
    clenc__free(cps);
    return st;
}

static clenc_status form_parse(utf8proc_option_t options,
                               clenc__normalizer **out)
{
    clenc_status st = make(sizeof(norm_form), form_run, plain_free, out);
    if (st == CLENC_OK)
        ((norm_form *)*out)->options = options;
    return st;
}

clenc_status clenc__norm_nfc_parse(json_t *obj, const clenc__jpath *p,
                                   clenc__normalizer **out)
{
    (void)obj;
    (void)p;
    return form_parse(UTF8PROC_COMPOSE, out);
}

clenc_status clenc__norm_nfd_parse(json_t *obj, const clenc__jpath *p,
                                   clenc__normalizer **out)
{
    (void)obj;
    (void)p;
    return form_parse(UTF8PROC_DECOMPOSE, out);
}

clenc_status clenc__norm_nfkc_parse(json_t *obj, const clenc__jpath *p,
                                    clenc__normalizer **out)
{
    (void)obj;
    (void)p;
    return form_parse(UTF8PROC_COMPOSE | UTF8PROC_COMPAT, out);
}

clenc_status clenc__norm_nfkd_parse(json_t *obj, const clenc__jpath *p,
                                    clenc__normalizer **out)
{
    (void)obj;
    (void)p;
    return form_parse(UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT, out);
}

/* ------------------------------------------------------ BertNormalizer */

typedef struct norm_bert {
    clenc__normalizer base;
    int clean_text, chinese_chars, strip_accents, lowercase;
} norm_bert;

/* tokenizers' order: clean_text, handle_chinese_chars, strip_accents (NFD,
 * then Mn dropped), lowercase. The first two are char by char into one
 * copy; NFD needs the whole text (canonical ordering crosses characters). */
static clenc_status bert_run(const clenc__normalizer *self, const char *s,
                             size_t n, clenc__str *out)
{
    const norm_bert *b = (const norm_bert *)self;
    clenc__str cleaned = {0};
    clenc_status st = CLENC_OK;
    out->n = 0;
    if (b->clean_text || b->chinese_chars) {
        for (size_t i = 0; i < n && st == CLENC_OK;) {
            int32_t c = clenc__utf8_next(s, n, &i);
            if (b->clean_text) {
                enum clenc__bert_clean k = clenc__bert_clean(c);
                if (k == CLENC__CLEAN_DROP) {
                    out->moved |= cleaned.n == 0;
                    continue;
                }
                if (k == CLENC__CLEAN_SPACE)
                    c = ' ';
            }
            if (b->chinese_chars && clenc__is_bert_cjk(c)) {
                st = clenc__str_put(&cleaned, " ", 1);
                if (st == CLENC_OK)
                    st = clenc__str_put_cp(&cleaned, c);
                if (st == CLENC_OK)
                    st = clenc__str_put(&cleaned, " ", 1);
            } else {
                st = clenc__str_put_cp(&cleaned, c);
            }
        }
        s = cleaned.p ? cleaned.p : "";
        n = cleaned.n;
    }
    if (st == CLENC_OK && b->strip_accents) {
        int32_t *cps;
        size_t count;
        st = unicode_form(s, n, UTF8PROC_DECOMPOSE, &cps, &count);
        for (size_t i = 0; i < count && st == CLENC_OK; i++) {
            if (clenc__is_nonspacing_mark(cps[i])) {
                out->moved |= i == 0; /* a leading mark of its own */
                continue;
            }
            st = b->lowercase ? put_lower(out, cps[i])
                              : clenc__str_put_cp(out, cps[i]);
        }
        clenc__free(cps);
    } else if (st == CLENC_OK && b->lowercase) {
        for (size_t i = 0; i < n && st == CLENC_OK;)
            st = put_lower(out, clenc__utf8_next(s, n, &i));
    } else if (st == CLENC_OK) {
        st = clenc__str_put(out, s, n);
    }
    clenc__str_free(&cleaned);
    return st;
}

clenc_status clenc__norm_bert_parse(json_t *obj, const clenc__jpath *p,
                                    clenc__normalizer **out)
{
    int clean_text, chinese_chars, lowercase, strip_accents;
    clenc_status st;
    *out = NULL;
    if ((st = need(obj, p, "clean_text")) != CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "clean_text", 1, &clean_text)) !=
            CLENC_OK ||
        (st = need(obj, p, "handle_chinese_chars")) != CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "handle_chinese_chars", 1,
                               &chinese_chars)) != CLENC_OK ||
        (st = need(obj, p, "lowercase")) != CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "lowercase", 1, &lowercase)) !=
            CLENC_OK ||
        /* Option<bool>: absent or null follows lowercase. */
        (st = clenc__jget_bool(obj, p, "strip_accents", -1,
                               &strip_accents)) != CLENC_OK)
        return st;
    if ((st = make(sizeof(norm_bert), bert_run, plain_free, out)) != CLENC_OK)
        return st;
    norm_bert *b = (norm_bert *)*out;
    b->clean_text = clean_text;
    b->chinese_chars = chinese_chars;
    b->lowercase = lowercase;
    b->strip_accents = strip_accents < 0 ? lowercase : strip_accents;
    return CLENC_OK;
}

/* -------------------------------------------- Lowercase, StripAccents */

static clenc_status lowercase_run(const clenc__normalizer *self,
                                  const char *s, size_t n, clenc__str *out)
{
    (void)self;
    clenc_status st = CLENC_OK;
    out->n = 0;
    for (size_t i = 0; i < n && st == CLENC_OK;)
        st = put_lower(out, clenc__utf8_next(s, n, &i));
    return st;
}

clenc_status clenc__norm_lowercase_parse(json_t *obj, const clenc__jpath *p,
                                         clenc__normalizer **out)
{
    (void)obj;
    (void)p;
    return make(sizeof(clenc__normalizer), lowercase_run, plain_free, out);
}

/* tokenizers filters is_combining_mark (every M* category) from the text
 * as it is: no decomposition first, so "é" as one code point stays. */
static clenc_status strip_accents_run(const clenc__normalizer *self,
                                      const char *s, size_t n,
                                      clenc__str *out)
{
    (void)self;
    clenc_status st = CLENC_OK;
    out->n = 0;
    for (size_t i = 0; i < n && st == CLENC_OK;) {
        size_t at = i;
        int32_t c = clenc__utf8_next(s, n, &i);
        if (!clenc__is_mark(c))
            st = clenc__str_put(out, s + at, i - at);
        else
            out->moved |= at == 0;
    }
    return st;
}

clenc_status clenc__norm_strip_accents_parse(json_t *obj,
                                             const clenc__jpath *p,
                                             clenc__normalizer **out)
{
    (void)obj;
    (void)p;
    return make(sizeof(clenc__normalizer), strip_accents_run, plain_free,
                out);
}

/* ---------------------------------------------------- Strip, Prepend */

typedef struct norm_strip {
    clenc__normalizer base;
    int left, right;
} norm_strip;

/* Leading and trailing White_Space (Rust's char::is_whitespace). */
static clenc_status strip_run(const clenc__normalizer *self, const char *s,
                              size_t n, clenc__str *out)
{
    const norm_strip *t = (const norm_strip *)self;
    size_t start = 0, end = n;
    out->n = 0;
    if (t->left)
        while (start < n) {
            size_t i = start;
            if (!clenc__is_white_space(clenc__utf8_next(s, n, &i)))
                break;
            start = i;
        }
    if (t->right)
        while (end > start) {
            size_t at = end - 1; /* back to the character's first byte */
            while (at > start && ((unsigned char)s[at] & 0xC0) == 0x80)
                at--;
            size_t i = at;
            if (!clenc__is_white_space(clenc__utf8_next(s, n, &i)))
                break;
            end = at;
        }
    out->moved |= start > 0;
    return clenc__str_put(out, s + start, end - start);
}

clenc_status clenc__norm_strip_parse(json_t *obj, const clenc__jpath *p,
                                     clenc__normalizer **out)
{
    int left, right;
    clenc_status st;
    *out = NULL;
    if ((st = need(obj, p, "strip_left")) != CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "strip_left", 0, &left)) != CLENC_OK ||
        (st = need(obj, p, "strip_right")) != CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "strip_right", 0, &right)) != CLENC_OK)
        return st;
    if ((st = make(sizeof(norm_strip), strip_run, plain_free, out)) !=
        CLENC_OK)
        return st;
    ((norm_strip *)*out)->left = left;
    ((norm_strip *)*out)->right = right;
    return CLENC_OK;
}

typedef struct norm_prepend {
    clenc__normalizer base;
    char *prefix;
    size_t prefix_n;
} norm_prepend;

/* Only a text that is not empty gets the prefix (tokenizers' Prepend). */
static clenc_status prepend_run(const clenc__normalizer *self, const char *s,
                                size_t n, clenc__str *out)
{
    const norm_prepend *t = (const norm_prepend *)self;
    clenc_status st = CLENC_OK;
    out->n = 0;
    if (n > 0)
        st = clenc__str_put(out, t->prefix, t->prefix_n);
    if (st == CLENC_OK)
        st = clenc__str_put(out, s, n);
    return st;
}

static void prepend_free(clenc__normalizer *self)
{
    if (self)
        clenc__free(((norm_prepend *)self)->prefix);
    clenc__free(self);
}

clenc_status clenc__norm_prepend_parse(json_t *obj, const clenc__jpath *p,
                                       clenc__normalizer **out)
{
    const char *prefix;
    clenc_status st;
    *out = NULL;
    if ((st = need(obj, p, "prepend")) != CLENC_OK ||
        (st = clenc__jget_string(obj, p, "prepend", "", &prefix)) !=
            CLENC_OK)
        return st;
    if ((st = make(sizeof(norm_prepend), prepend_run, prepend_free, out)) !=
        CLENC_OK)
        return st;
    norm_prepend *t = (norm_prepend *)*out;
    t->prefix_n = strlen(prefix);
    if (!(t->prefix = clenc__strdup(prefix))) {
        prepend_free(*out);
        *out = NULL;
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a normalizer");
    }
    return CLENC_OK;
}

/* ------------------------------------------------------------- Replace */

/* A Replace's output is bounded: `content` (up to CLENC__TJ_MAX_PATTERN
 * bytes) at every match, and an empty pattern matches at every character,
 * so one Replace could grow a text four thousand times and a Sequence of
 * them without end. Real ones swap a character for a few ("▁" for " ");
 * past this growth clenc refuses rather than allocate what a crafted file
 * asks. */
#define REPLACE_GROWTH 16
#define REPLACE_SLACK 65536

typedef struct norm_replace {
    clenc__normalizer base;
    clenc__regex *regex;  /* {"Regex": r}; NULL for {"String": s} */
    char *literal;        /* {"String": s} */
    size_t literal_n;
    size_t *failure;      /* Knuth-Morris-Pratt's table of literal */
    char *content;
    size_t content_n;
} norm_replace;

typedef struct replacer {
    const norm_replace *r;
    const char *s;
    size_t n, copied, limit;
    clenc__str *out;
} replacer;

static size_t char_len_at(const char *s, size_t n, size_t i);

/* The text up to the match at [start, end), then content in its place.
 * tokenizers aligns the content with the match's last character: a match
 * of two characters or more at the start, or one replaced by nothing,
 * leaves the text's first character behind. */
static clenc_status replace_at(replacer *x, size_t start, size_t end)
{
    if (start == 0 && end > 0 &&
        (x->r->content_n == 0 || end > char_len_at(x->s, x->n, 0)))
        x->out->moved = 1;
    clenc_status st = clenc__str_put(x->out, x->s + x->copied,
                                     start - x->copied);
    if (st == CLENC_OK)
        st = clenc__str_put(x->out, x->r->content, x->r->content_n);
    x->copied = end;
    if (st == CLENC_OK && x->out->n > x->limit)
        st = clenc__fail(CLENC_ERR_UNSUPPORTED,
                         "normalizer Replace grows a text of %zu bytes past "
                         "%zu; clenc allows %dx and %d bytes more",
                         x->n, x->limit, REPLACE_GROWTH, REPLACE_SLACK);
    return st;
}

static size_t char_len_at(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return 1;
    size_t j = i;
    clenc__utf8_next(s, n, &j);
    return j - i;
}

/* Onig's find_iter as tokenizers uses it (rust-onig's FindMatches): each
 * search starts where the last match ended; an empty match right where
 * the previous match ended is skipped by one character, which also lets
 * the search run once at the very end of the text. */
static clenc_status replace_regex(replacer *x)
{
    size_t from = 0, last_end = 0;
    int any = 0;
    while (from <= x->n) {
        size_t start, end;
        int found = clenc__regex_search(x->r->regex, x->s, x->n, from, &start,
                                        &end);
        if (found < 0)
            return clenc__fail(CLENC_ERR_INVALID_ARG,
                               "normalizer Replace: the regex search failed "
                               "(Oniguruma's limits) at byte %zu", from);
        if (found == 0)
            break;
        if (start == end && any && end == last_end) {
            from += char_len_at(x->s, x->n, from);
            continue;
        }
        any = 1;
        from = last_end = end;
        clenc_status st = replace_at(x, start, end);
        if (st != CLENC_OK)
            return st;
    }
    return CLENC_OK;
}

/* Non-overlapping leftmost matches of the literal, in linear time
 * (Knuth-Morris-Pratt) whatever text and pattern a file brings. tokenizers
 * compiles the escaped string as a regex, which finds the same matches. An
 * empty string is an empty regex: it matches before every character and
 * at the end. */
static clenc_status replace_literal(replacer *x)
{
    const norm_replace *r = x->r;
    clenc_status st = CLENC_OK;
    if (r->literal_n == 0) {
        for (size_t i = 0; i <= x->n && st == CLENC_OK;
             i += char_len_at(x->s, x->n, i))
            st = replace_at(x, i, i);
        return st;
    }
    size_t matched = 0;
    for (size_t i = 0; i < x->n && st == CLENC_OK; i++) {
        while (matched > 0 && x->s[i] != r->literal[matched])
            matched = r->failure[matched - 1];
        if (x->s[i] == r->literal[matched])
            matched++;
        if (matched == r->literal_n) {
            st = replace_at(x, i + 1 - matched, i + 1);
            matched = 0;
        }
    }
    return st;
}

static clenc_status replace_run(const clenc__normalizer *self, const char *s,
                                size_t n, clenc__str *out)
{
    const norm_replace *r = (const norm_replace *)self;
    out->n = 0;
    if (n == 0) /* tokenizers finds no match in an empty text */
        return CLENC_OK;
    replacer x = {.r = r, .s = s, .n = n, .out = out};
    x.limit = n > (SIZE_MAX - REPLACE_SLACK) / REPLACE_GROWTH
                  ? SIZE_MAX
                  : n * REPLACE_GROWTH + REPLACE_SLACK;
    clenc_status st = r->regex ? replace_regex(&x) : replace_literal(&x);
    if (st == CLENC_OK)
        st = clenc__str_put(out, s + x.copied, n - x.copied);
    return st;
}

static void replace_free(clenc__normalizer *self)
{
    norm_replace *r = (norm_replace *)self;
    if (r) {
        clenc__regex_free(r->regex);
        clenc__free(r->literal);
        clenc__free(r->failure);
        clenc__free(r->content);
    }
    clenc__free(r);
}

static char *dup_bytes(const char *s, size_t n)
{
    char *d = clenc__malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = 0;
    }
    return d;
}

/* pattern is {"String": s} or {"Regex": r}, one key exactly. */
static clenc_status replace_pattern(norm_replace *r, json_t *obj,
                                    const clenc__jpath *p)
{
    json_t *pattern = json_object_get(obj, "pattern");
    clenc__jpath pp;
    clenc__jpath_sub(p, "pattern", -1, &pp);
    if (!json_is_object(pattern) || json_object_size(pattern) != 1)
        return clenc__jpath_bad(p, "pattern",
                                "is not an object with one key, String or "
                                "Regex");
    int is_regex = json_object_get(pattern, "Regex") != NULL;
    const char *key = is_regex ? "Regex" : "String";
    if (!is_regex && !json_object_get(pattern, "String"))
        return clenc__jpath_bad(p, "pattern",
                                "has key '%.80s', not String or Regex",
                                json_object_iter_key(
                                    json_object_iter(pattern)));
    const char *text;
    clenc_status st = need(pattern, &pp, key);
    if (st == CLENC_OK)
        st = clenc__jget_string(pattern, &pp, key, "", &text);
    if (st != CLENC_OK)
        return st;
    size_t len = strlen(text);
    if (is_regex)
        return clenc__regex_compile(text, len, &pp, key, &r->regex);
    if (!(r->literal = dup_bytes(text, len)) ||
        !(r->failure = clenc__calloc(len ? len : 1, sizeof *r->failure)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a normalizer");
    r->literal_n = len;
    /* failure[i]: the longest proper border of literal[0..i]. */
    for (size_t i = 1, k = 0; i < len; i++) {
        while (k > 0 && text[i] != text[k])
            k = r->failure[k - 1];
        if (text[i] == text[k])
            k++;
        r->failure[i] = k;
    }
    return CLENC_OK;
}

clenc_status clenc__norm_replace_parse(json_t *obj, const clenc__jpath *p,
                                       clenc__normalizer **out)
{
    const char *content;
    clenc_status st;
    *out = NULL;
    if ((st = need(obj, p, "pattern")) != CLENC_OK ||
        (st = need(obj, p, "content")) != CLENC_OK ||
        (st = clenc__jget_string(obj, p, "content", "", &content)) !=
            CLENC_OK)
        return st;
    if ((st = make(sizeof(norm_replace), replace_run, replace_free, out)) !=
        CLENC_OK)
        return st;
    norm_replace *r = (norm_replace *)*out;
    r->content_n = strlen(content);
    if (!(r->content = dup_bytes(content, r->content_n)))
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for a normalizer");
    if (st == CLENC_OK)
        st = replace_pattern(r, obj, p);
    if (st != CLENC_OK) {
        replace_free(*out);
        *out = NULL;
    }
    return st;
}
