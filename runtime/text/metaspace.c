/* metaspace.c — tokenizer.json's Metaspace pre-tokenizer: spaces become the replacement character ("▁"), one is prepended by the prepend scheme, and words are split before each replacement, as tokenizers' Metaspace does. */
#include <string.h>

#include "text/pipeline.h"

typedef enum prepend_scheme {
    PREPEND_ALWAYS,
    PREPEND_NEVER,
    PREPEND_FIRST
} prepend_scheme;

typedef struct metaspace {
    clenc__pretok base;
    char rep[4]; /* the replacement character, UTF-8 */
    size_t rep_n;
    prepend_scheme scheme;
    int split;
} metaspace;

/* Where the next space or replacement is in s[from..n), or n. Bytes are
 * compared: in valid UTF-8 a whole character never matches mid-character. */
static size_t next_delimiter(const metaspace *m, const char *s, size_t n,
                             size_t from, size_t *len)
{
    for (size_t i = from; i < n; i++) {
        if (s[i] == ' ') {
            *len = 1;
            return i;
        }
        if (s[i] == m->rep[0] && n - i >= m->rep_n &&
            memcmp(s + i, m->rep, m->rep_n) == 0) {
            *len = m->rep_n;
            return i;
        }
    }
    *len = 0;
    return n;
}

/* One word: tokenizers replaces ' ' (U+0020 only) by the replacement, then
 * prepends one unless the result already starts with it, then (split)
 * cuts before every replacement (MergedWithNext), so "a▁▁b" gives "a",
 * "▁", "▁b". An empty word stays empty (its prepend does nothing). */
static clenc_status word(const metaspace *m, const char *s, size_t n,
                         int prepend, clenc__words *out)
{
    if (s[0] == ' ' || (n >= m->rep_n && memcmp(s, m->rep, m->rep_n) == 0))
        prepend = 0; /* starts with the replacement once spaces are replaced */
    clenc_status st = CLENC_OK;
    int open = 0; /* a word of out is being built */
    if (prepend) {
        st = clenc__words_add(out, m->rep, m->rep_n);
        open = 1;
    }
    for (size_t i = 0; i < n && st == CLENC_OK;) {
        size_t dl;
        const size_t d = next_delimiter(m, s, n, i, &dl);
        if (d > i) { /* the characters up to the delimiter */
            st = open ? clenc__words_extend(out, s + i, d - i)
                      : clenc__words_add(out, s + i, d - i);
            open = 1;
        }
        if (d == n || st != CLENC_OK)
            break;
        st = m->split || !open ? clenc__words_add(out, m->rep, m->rep_n)
                               : clenc__words_extend(out, m->rep, m->rep_n);
        open = 1;
        i = d + dl;
    }
    return st;
}

static clenc_status metaspace_run(const clenc__pretok *self,
                                  const clenc__words *in, clenc__words *out)
{
    const metaspace *m = (const metaspace *)self;
    clenc_status st = CLENC_OK;
    clenc__words_clear(out);
    out->at_start = in->at_start;
    for (size_t w = 0; w < in->n && st == CLENC_OK; w++) {
        const size_t n = in->w[w].end - in->w[w].start;
        if (n == 0)
            continue;
        /* "first": only the split whose original offset is 0 (tokenizers
         * asks offsets_original().0 == 0): the first word of the text
         * itself, not of a piece after an added token. */
        int prepend = m->scheme == PREPEND_ALWAYS ||
                      (m->scheme == PREPEND_FIRST && w == 0 && in->at_start);
        st = word(m, in->text.p + in->w[w].start, n, prepend, out);
    }
    return st;
}

static void metaspace_free(clenc__pretok *self)
{
    clenc__free(self);
}

clenc_status clenc__pretok_metaspace_parse(json_t *obj, const clenc__jpath *p,
                                           clenc__pretok **out)
{
    *out = NULL;
    const char *rep, *scheme_name;
    int split, add_prefix_space;
    clenc_status st;
    /* tokenizers requires both as strings when present: null is refused. */
    if (json_is_null(json_object_get(obj, "replacement")))
        return clenc__jpath_bad(p, "replacement", "is null, not a character");
    if (json_is_null(json_object_get(obj, "prepend_scheme")))
        return clenc__jpath_bad(p, "prepend_scheme", "is null, not a string");
    if ((st = clenc__jget_string(obj, p, "replacement", NULL, &rep)) !=
            CLENC_OK ||
        (st = clenc__jget_string(obj, p, "prepend_scheme", "always",
                                 &scheme_name)) != CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "split", 1, &split)) != CLENC_OK ||
        (st = clenc__jget_bool(obj, p, "add_prefix_space", -1,
                               &add_prefix_space)) != CLENC_OK)
        return st;
    if (!rep)
        return clenc__jpath_bad(p, "replacement", "is missing");
    size_t rep_n = strlen(rep), one = 0;
    if (rep_n > 0)
        clenc__utf8_next(rep, rep_n, &one);
    if (rep_n == 0 || one != rep_n)
        return clenc__jpath_bad(p, "replacement",
                                "'%.40s' is not one character", rep);
    prepend_scheme scheme;
    if (strcmp(scheme_name, "always") == 0)
        scheme = PREPEND_ALWAYS;
    else if (strcmp(scheme_name, "never") == 0)
        scheme = PREPEND_NEVER;
    else if (strcmp(scheme_name, "first") == 0)
        scheme = PREPEND_FIRST;
    else
        return clenc__jpath_unsupported(p, "prepend_scheme", scheme_name);
    /* Files from before prepend_scheme say add_prefix_space; tokenizers
     * 0.23.3 keeps only a false that agrees with "never" (a false beside
     * the default "always" is an error there too). */
    if (add_prefix_space == 0 && scheme != PREPEND_NEVER)
        return clenc__jpath_bad(p, "add_prefix_space",
                                "false contradicts prepend_scheme '%s'",
                                scheme_name);

    metaspace *m = clenc__calloc(1, sizeof *m);
    if (!m)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a pre-tokenizer");
    m->base = (clenc__pretok){.run = metaspace_run, .free = metaspace_free};
    memcpy(m->rep, rep, rep_n);
    m->rep_n = rep_n;
    m->scheme = scheme;
    m->split = split;
    *out = &m->base;
    return CLENC_OK;
}
