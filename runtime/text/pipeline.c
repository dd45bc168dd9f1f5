/* pipeline.c — what tokenizer.json's components share: growable strings, words and ids, messages naming a JSON path, typed fields, and tokenizers' split behaviours. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "text/pipeline.h"

/* ------------------------------------------------------------- strings */

static clenc_status grow(void **p, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return CLENC_OK;
    size_t cap2 = *cap ? *cap : 16;
    while (cap2 < need) {
        if (cap2 > SIZE_MAX / 2 / unit)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "a tokenizer buffer cannot grow further");
        cap2 *= 2;
    }
    void *bigger = clenc__realloc(*p, cap2 * unit);
    if (!bigger)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for tokenizing");
    *p = bigger;
    *cap = cap2;
    return CLENC_OK;
}

clenc_status clenc__str_put(clenc__str *s, const void *bytes, size_t n)
{
    if (n == 0)
        return CLENC_OK;
    if (n > SIZE_MAX / 2 - s->n)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "a text too long");
    clenc_status st = grow((void **)&s->p, &s->cap, s->n + n, 1);
    if (st == CLENC_OK) {
        memcpy(s->p + s->n, bytes, n);
        s->n += n;
    }
    return st;
}

clenc_status clenc__str_put_cp(clenc__str *s, int32_t cp)
{
    unsigned char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char)(0xC0 | (cp >> 6));
        b[1] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char)(0xE0 | (cp >> 12));
        b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (unsigned char)(0xF0 | (cp >> 18));
        b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (unsigned char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return clenc__str_put(s, b, n);
}

void clenc__str_free(clenc__str *s)
{
    clenc__free(s->p);
    memset(s, 0, sizeof *s);
}

int32_t clenc__utf8_next(const char *str, size_t n, size_t *i)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[*i];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (*i + len > n) /* never for valid UTF-8; a byte, not an overrun */
        len = 1;
    int32_t cp = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    for (size_t k = 1; k < len; k++)
        cp = (cp << 6) | (s[*i + k] & 0x3F);
    *i += len;
    return cp;
}

/* ------------------------------------------------------- words and ids */

clenc_status clenc__words_add(clenc__words *w, const void *bytes, size_t n)
{
    clenc_status st = grow((void **)&w->w, &w->cap, w->n + 1, sizeof *w->w);
    if (st != CLENC_OK)
        return st;
    const size_t start = w->text.n;
    if ((st = clenc__str_put(&w->text, bytes, n)) != CLENC_OK)
        return st;
    w->w[w->n++] = (clenc__span){start, w->text.n};
    return CLENC_OK;
}

clenc_status clenc__words_extend(clenc__words *w, const void *bytes, size_t n)
{
    if (w->n == 0)
        return clenc__words_add(w, bytes, n);
    clenc_status st = clenc__str_put(&w->text, bytes, n);
    if (st == CLENC_OK)
        w->w[w->n - 1].end = w->text.n;
    return st;
}

void clenc__words_clear(clenc__words *w)
{
    w->text.n = 0;
    w->n = 0;
}

void clenc__words_free(clenc__words *w)
{
    clenc__str_free(&w->text);
    clenc__free(w->w);
    memset(w, 0, sizeof *w);
}

clenc_status clenc__ids_push(clenc__ids *ids, int32_t id)
{
    clenc_status st = grow((void **)&ids->v, &ids->cap, ids->n + 1,
                           sizeof *ids->v);
    if (st == CLENC_OK)
        ids->v[ids->n++] = id;
    return st;
}

void clenc__ids_free(clenc__ids *ids)
{
    clenc__free(ids->v);
    memset(ids, 0, sizeof *ids);
}

/* ------------------------------------------------------------ messages */

void clenc__jpath_sub(const clenc__jpath *p, const char *key, long index,
                      clenc__jpath *out)
{
    /* A path past the buffer is cut: a message, never a key. */
    char tail[96];
    if (index >= 0)
        snprintf(tail, sizeof tail, "[%ld]", index);
    else
        snprintf(tail, sizeof tail, "%s%.80s", p->at[0] ? "." : "", key);
    clenc__jpath sub = {.file = p->file};
    size_t n = strnlen(p->at, sizeof sub.at - 1);
    memcpy(sub.at, p->at, n);
    size_t t = strlen(tail);
    if (t > sizeof sub.at - 1 - n)
        t = sizeof sub.at - 1 - n;
    memcpy(sub.at + n, tail, t);
    sub.at[n + t] = '\0';
    *out = sub;
}

clenc_status clenc__jpath_unsupported(const clenc__jpath *p, const char *key,
                                      const char *value)
{
    return clenc__fail(CLENC_ERR_UNSUPPORTED,
                       "%s: %s%s%s '%.80s' is not supported by clenc", p->file,
                       p->at, p->at[0] ? "." : "", key, value);
}

clenc_status clenc__jpath_bad(const clenc__jpath *p, const char *key,
                              const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    return clenc__fail(CLENC_ERR_MODEL_FORMAT, "%s: %s%s%s %s", p->file,
                       p->at, p->at[0] && key[0] ? "." : "", key, what);
}

static const char *kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

clenc_status clenc__jget_string(json_t *o, const clenc__jpath *p,
                                const char *key, const char *dflt,
                                const char **out)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return CLENC_OK;
    if (!json_is_string(v))
        return clenc__jpath_bad(p, key, "is %s, not a string", kind(v));
    if (json_string_length(v) > CLENC__TJ_MAX_PATTERN)
        return clenc__jpath_bad(p, key, "is %zu bytes long (at most %u)",
                                json_string_length(v), CLENC__TJ_MAX_PATTERN);
    if (strlen(json_string_value(v)) != json_string_length(v))
        return clenc__jpath_bad(p, key, "holds a NUL character");
    *out = json_string_value(v);
    return CLENC_OK;
}

clenc_status clenc__jget_bool(json_t *o, const clenc__jpath *p,
                              const char *key, int dflt, int *out)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return CLENC_OK;
    if (!json_is_boolean(v))
        return clenc__jpath_bad(p, key, "is %s, not true or false", kind(v));
    *out = json_is_true(v);
    return CLENC_OK;
}

clenc_status clenc__jget_int(json_t *o, const clenc__jpath *p,
                             const char *key, long long dflt, long long lo,
                             long long hi, long long *out)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return CLENC_OK;
    if (!json_is_integer(v))
        return clenc__jpath_bad(p, key, "is %s, not an integer", kind(v));
    long long x = json_integer_value(v);
    if (x < lo || x > hi)
        return clenc__jpath_bad(p, key, "is %lld, outside %lld..%lld", x, lo,
                                hi);
    *out = x;
    return CLENC_OK;
}

clenc_status clenc__jget_number(json_t *o, const clenc__jpath *p,
                                const char *key, double dflt, double *out)
{
    json_t *v = json_object_get(o, key);
    *out = dflt;
    if (!v || json_is_null(v))
        return CLENC_OK;
    if (!json_is_number(v))
        return clenc__jpath_bad(p, key, "is %s, not a number", kind(v));
    *out = json_number_value(v);
    return CLENC_OK;
}

clenc_status clenc__jget_vocab(json_t *obj, const clenc__jpath *p,
                               clenc__dict *dict, size_t *count,
                               int32_t *max_id, size_t *max_len)
{
    json_t *vocab = json_object_get(obj, "vocab");
    *count = 0;
    *max_id = -1;
    *max_len = 0;
    if (!json_is_object(vocab))
        return clenc__jpath_bad(p, "vocab", "is %s",
                                vocab ? "not an object" : "missing");
    *count = json_object_size(vocab);
    if (*count > CLENC__TJ_MAX_VOCAB)
        return clenc__jpath_bad(p, "vocab", "has %zu tokens (at most %u)",
                                *count, CLENC__TJ_MAX_VOCAB);
    clenc_status st = clenc__dict_init(dict, *count);
    if (st != CLENC_OK)
        return st;
    const char *token;
    size_t len;
    json_t *v;
    json_object_keylen_foreach(vocab, token, len, v)
    {
        if (len > CLENC__TJ_MAX_TOKEN)
            return clenc__jpath_bad(p, "vocab",
                                    "has a token of %zu bytes (at most %u): "
                                    "'%.40s...'",
                                    len, CLENC__TJ_MAX_TOKEN, token);
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= (json_int_t)CLENC__TJ_MAX_VOCAB)
            return clenc__jpath_bad(p, "vocab",
                                    "token '%.80s' has an id %s, not an "
                                    "integer in 0..%u",
                                    token,
                                    json_is_integer(v) ? "out of range"
                                                       : "of another type",
                                    CLENC__TJ_MAX_VOCAB - 1);
        int32_t id = (int32_t)json_integer_value(v);
        if ((st = clenc__dict_put(dict, token, len, NULL, 0, id, NULL)) !=
            CLENC_OK)
            return st;
        if (id > *max_id)
            *max_id = id;
        if (len > *max_len)
            *max_len = len;
    }
    return CLENC_OK;
}

/* ------------------------------------------------------ split behaviours */

clenc_status clenc__jget_behavior(json_t *o, const clenc__jpath *p,
                                  const char *key,
                                  clenc__split_behavior dflt,
                                  clenc__split_behavior *out)
{
    static const char *const names[] = {"Removed", "Isolated",
                                        "MergedWithPrevious", "MergedWithNext",
                                        "Contiguous"};
    const char *name;
    clenc_status st = clenc__jget_string(o, p, key, NULL, &name);
    *out = dflt;
    if (st != CLENC_OK || !name)
        return st;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (clenc__split_behavior)i;
            return CLENC_OK;
        }
    return clenc__jpath_unsupported(p, key, name);
}

/* tokenizers' NormalizedString::split: the word as alternating pieces,
 * delimiters flagged, then folded by the behaviour (a delimiter joins the
 * piece before or after it, or runs of equal flags join); pieces left
 * empty are dropped. Pieces are kept as [start, end) pairs and emitted as
 * each one closes. */
typedef struct folder {
    const char *s;
    clenc__words *out;
    clenc__split_behavior behavior;
    size_t start, end; /* the open piece; start == SIZE_MAX: none */
    int prev_match;
    clenc_status st;
} folder;

static void emit(folder *f)
{
    if (f->start != SIZE_MAX && f->end > f->start && f->st == CLENC_OK)
        f->st = clenc__words_add(f->out, f->s + f->start, f->end - f->start);
    f->start = SIZE_MAX;
}

static void open_piece(folder *f, size_t start, size_t end)
{
    emit(f);
    f->start = start;
    f->end = end;
}

/* One piece, in order (MergedWithNext is folded over the reversed order in
 * tokenizers; here a delimiter opens a piece that the next one extends). */
static void fold(folder *f, size_t start, size_t end, int match)
{
    switch (f->behavior) {
    case CLENC__SPLIT_REMOVED:
        if (!match)
            open_piece(f, start, end);
        break;
    case CLENC__SPLIT_ISOLATED:
        open_piece(f, start, end);
        break;
    case CLENC__SPLIT_MERGED_WITH_PREVIOUS:
        if (match && !f->prev_match && f->start != SIZE_MAX)
            f->end = end;
        else
            open_piece(f, start, end);
        break;
    case CLENC__SPLIT_MERGED_WITH_NEXT:
        /* Reversed: a delimiter (not after a delimiter, in reverse order:
         * not before one here) merges into the piece that follows it. */
        if (f->start != SIZE_MAX && f->prev_match && !match)
            f->end = end;
        else
            open_piece(f, start, end);
        break;
    case CLENC__SPLIT_CONTIGUOUS:
        if (f->start != SIZE_MAX && match == f->prev_match)
            f->end = end;
        else
            open_piece(f, start, end);
        break;
    }
    f->prev_match = match;
}

clenc_status clenc__split_word(const char *s, size_t n,
                               const size_t *starts, const size_t *ends,
                               size_t count, int invert,
                               clenc__split_behavior behavior,
                               clenc__words *out)
{
    folder f = {.s = s, .out = out, .behavior = behavior, .start = SIZE_MAX};
    size_t prev = 0;
    for (size_t i = 0; i < count; i++) {
        if (starts[i] < prev || ends[i] < starts[i] || ends[i] > n)
            return clenc__fail(CLENC_ERR_INVALID_ARG,
                               "split: delimiter %zu out of order", i);
        if (prev != starts[i])
            fold(&f, prev, starts[i], invert);
        fold(&f, starts[i], ends[i], !invert);
        prev = ends[i];
    }
    if (prev != n || count == 0)
        fold(&f, prev, n, invert);
    emit(&f);
    return f.st;
}
