/* byte_level.c — the ByteLevel pre-tokenizer (GPT-2's split, then every byte as a printable character) and the Split pre-tokenizer (a string or regex's matches, folded by a split behaviour). */
#include <stdio.h>
#include <string.h>

#include "text/pipeline.h"

/* GPT-2's pattern, as `tokenizers` hard-codes it for ByteLevel. */
static const char gpt2_pattern[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+"
    "|\\s+(?!\\S)|\\s+";

/* ------------------------------------------------------------- matches */

/* The matches of a regex in a word, in order, as the onig crate's
 * find_iter gives them to `tokenizers`: an empty match right where the
 * previous match ended is skipped by one character (so the loop ends),
 * any other empty match counts. */
typedef struct match_iter {
    const clenc__regex *re;
    const char *s;
    size_t n, next;
    size_t last_match_end; /* SIZE_MAX before the first match */
} match_iter;

static size_t utf8_len(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return 1;
    unsigned char c = (unsigned char)s[i];
    size_t len = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    return len <= n - i ? len : 1;
}

/* 1 with the next match, 0 at the end, -1 when the search failed. A
 * search either returns a match that moves `next` on, or an empty one
 * there (once: the next one like it moves `next` a character on), so a
 * word of n bytes takes at most 2n + 2 searches. Each starts where the
 * last match ended; what a pattern scans past that (a lookahead to the
 * end) is the pattern's cost, as in tokenizers, within regex.c's limits. */
static int next_match(match_iter *it, size_t *start, size_t *end)
{
    for (;;) {
        if (it->next > it->n)
            return 0;
        int r = clenc__regex_search(it->re, it->s, it->n, it->next, start,
                                    end);
        if (r <= 0)
            return r;
        if (*start == *end && it->last_match_end == *end) {
            it->next += utf8_len(it->s, it->n, it->next);
            continue;
        }
        it->next = *end;
        it->last_match_end = *end;
        return 1;
    }
}

/* "FILE: PATH" of a component, kept for messages at run time (the
 * loader's strings may be gone by then). */
typedef char where_t[512];

static void keep_where(where_t where, const clenc__jpath *p)
{
    snprintf(where, sizeof(where_t), "%s: %s", p->file ? p->file : "?",
             p->at);
}

/* The text is what made the search fail, but the pattern is the file's:
 * the message names where it sits. */
static clenc_status search_failed(const char *where, const char *what)
{
    return clenc__fail(CLENC_ERR_UNSUPPORTED,
                       "%s: %s's search ran past Oniguruma's backtracking or "
                       "memory limits on this text",
                       where, what);
}

/* ----------------------------------------------------------- ByteLevel */

typedef struct byte_level {
    clenc__pretok base;
    int add_prefix_space, use_regex;
    clenc__regex *re;
    where_t where;
} byte_level;

/* GPT-2's bytes_to_unicode: the printable bytes ('!'..'~', 0xA1..0xAC,
 * 0xAE..0xFF) stand for themselves, the other 68 for 256 + their rank
 * among those, in byte order (0x00..0x20, 0x7F..0xA0, 0xAD). Every code
 * point is below 0x800: one or two bytes of UTF-8. */
static size_t byte_char(unsigned char b, unsigned char out[2])
{
    unsigned cp;
    if (b <= 0x20)
        cp = 256u + b;
    else if (b >= 0x7F && b <= 0xA0)
        cp = 256u + 33u + (b - 0x7Fu);
    else if (b == 0xAD)
        cp = 256u + 33u + 34u;
    else
        cp = b;
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    out[0] = (unsigned char)(0xC0 | (cp >> 6));
    out[1] = (unsigned char)(0x80 | (cp & 0x3F));
    return 2;
}

/* One word: bytes s[0..n) mapped, byte by byte. */
static clenc_status add_mapped(clenc__words *out, const char *s, size_t n)
{
    unsigned char buf[512];
    size_t used = 0;
    clenc_status st = clenc__words_add(out, NULL, 0);
    for (size_t i = 0; i < n && st == CLENC_OK; i++) {
        used += byte_char((unsigned char)s[i], buf + used);
        if (used > sizeof buf - 2 || i + 1 == n) {
            st = clenc__words_extend(out, buf, used);
            used = 0;
        }
    }
    return st;
}

static clenc_status byte_level_run(const clenc__pretok *self,
                                   const clenc__words *in, clenc__words *out)
{
    const byte_level *bl = (const byte_level *)self;
    clenc__str prefixed = {0};
    clenc_status st = CLENC_OK;
    clenc__words_clear(out);
    out->at_start = in->at_start;
    for (size_t w = 0; w < in->n && st == CLENC_OK; w++) {
        const char *s = in->text.p + in->w[w].start;
        size_t n = in->w[w].end - in->w[w].start;
        if (n == 0) /* tokenizers drops empty words; a prefix needs a char */
            continue;
        if (bl->add_prefix_space && s[0] != ' ') {
            prefixed.n = 0;
            if ((st = clenc__str_put(&prefixed, " ", 1)) != CLENC_OK ||
                (st = clenc__str_put(&prefixed, s, n)) != CLENC_OK)
                break;
            s = prefixed.p;
            n = prefixed.n;
        }
        if (!bl->use_regex) {
            st = add_mapped(out, s, n);
            continue;
        }
        /* Isolated: every match and every stretch between two is a word. */
        match_iter it = {.re = bl->re, .s = s, .n = n,
                         .last_match_end = SIZE_MAX};
        size_t prev = 0, start, end;
        int r;
        while (st == CLENC_OK && (r = next_match(&it, &start, &end)) != 0) {
            if (r < 0) {
                st = search_failed(bl->where, "ByteLevel");
                break;
            }
            if (start > prev)
                st = add_mapped(out, s + prev, start - prev);
            if (st == CLENC_OK && end > start)
                st = add_mapped(out, s + start, end - start);
            prev = end;
        }
        if (st == CLENC_OK && prev < n)
            st = add_mapped(out, s + prev, n - prev);
    }
    clenc__str_free(&prefixed);
    return st;
}

static void byte_level_free(clenc__pretok *self)
{
    byte_level *bl = (byte_level *)self;
    if (!bl)
        return;
    clenc__regex_free(bl->re);
    clenc__free(bl);
}

clenc_status clenc__pretok_byte_level_parse(json_t *obj, const clenc__jpath *p,
                                            clenc__pretok **out)
{
    *out = NULL;
    byte_level *bl = clenc__calloc(1, sizeof *bl);
    if (!bl)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a ByteLevel pre-tokenizer");
    bl->base.run = byte_level_run;
    bl->base.free = byte_level_free;
    keep_where(bl->where, p);
    int trim_offsets;
    /* trim_offsets moves offsets only, which clenc does not return. The
     * defaults are ByteLevel::default()'s. */
    clenc_status st;
    TRY(clenc__jget_bool(obj, p, "add_prefix_space", 1, &bl->add_prefix_space),
        out_free);
    TRY(clenc__jget_bool(obj, p, "trim_offsets", 1, &trim_offsets), out_free);
    TRY(clenc__jget_bool(obj, p, "use_regex", 1, &bl->use_regex), out_free);
    if (bl->use_regex)
        TRY(clenc__regex_compile(gpt2_pattern, sizeof gpt2_pattern - 1, p,
                                 "use_regex", &bl->re),
            out_free);
    *out = &bl->base;
    return CLENC_OK;

out_free:
    byte_level_free(&bl->base);
    return st;
}

/* --------------------------------------------------------------- Split */

typedef struct split {
    clenc__pretok base;
    clenc__regex *re;
    clenc__split_behavior behavior;
    int invert;
    where_t where;
} split;

/* regex::escape's metacharacters: `tokenizers` compiles a String pattern
 * escaped so, with Oniguruma (where each escaped one is itself). */
static int is_meta(char c)
{
    return strchr("\\.+*?()|[]{}^$#&-~", c) != NULL && c != '\0';
}

static clenc_status split_run(const clenc__pretok *self,
                              const clenc__words *in, clenc__words *out)
{
    const split *sp = (const split *)self;
    size_t *starts = NULL, *ends = NULL, cap = 0;
    clenc_status st = CLENC_OK;
    clenc__words_clear(out);
    out->at_start = in->at_start;
    for (size_t w = 0; w < in->n && st == CLENC_OK; w++) {
        const char *s = in->text.p + in->w[w].start;
        size_t n = in->w[w].end - in->w[w].start;
        if (n == 0)
            continue;
        match_iter it = {.re = sp->re, .s = s, .n = n,
                         .last_match_end = SIZE_MAX};
        size_t count = 0, start, end;
        int r;
        while ((r = next_match(&it, &start, &end)) > 0) {
            if (count == cap) {
                /* At most 2n + 2 matches (next_match): the arrays stay
                 * linear in the word. */
                size_t cap2 = cap ? 2 * cap : 64;
                size_t *s2 = clenc__realloc(starts, cap2 * sizeof *s2);
                if (s2)
                    starts = s2;
                size_t *e2 = s2 ? clenc__realloc(ends, cap2 * sizeof *e2)
                                : NULL;
                if (!e2) {
                    st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                                     "no host memory for %zu matches", cap2);
                    break;
                }
                ends = e2;
                cap = cap2;
            }
            starts[count] = start;
            ends[count] = end;
            count++;
        }
        if (st != CLENC_OK)
            break;
        if (r < 0) {
            st = search_failed(sp->where, "the pattern");
            break;
        }
        st = clenc__split_word(s, n, starts, ends, count, sp->invert,
                               sp->behavior, out);
    }
    clenc__free(starts);
    clenc__free(ends);
    return st;
}

static void split_free(clenc__pretok *self)
{
    split *sp = (split *)self;
    if (!sp)
        return;
    clenc__regex_free(sp->re);
    clenc__free(sp);
}

/* pattern: {"String": s} (a literal) or {"Regex": r}. */
static clenc_status split_pattern(json_t *obj, const clenc__jpath *p,
                                  clenc__regex **re)
{
    json_t *pat = json_object_get(obj, "pattern");
    clenc__jpath pp;
    clenc__jpath_sub(p, "pattern", -1, &pp);
    if (!json_is_object(pat) || json_object_size(pat) != 1)
        return clenc__jpath_bad(p, "pattern",
                                "is not {\"String\": ...} or {\"Regex\": ...}");
    const char *text;
    clenc_status st;
    if (json_object_get(pat, "Regex")) {
        if ((st = clenc__jget_string(pat, &pp, "Regex", NULL, &text)) !=
            CLENC_OK)
            return st;
        if (!text)
            return clenc__jpath_bad(&pp, "Regex", "is null");
        return clenc__regex_compile(text, strlen(text), &pp, "Regex", re);
    }
    if (!json_object_get(pat, "String"))
        return clenc__jpath_bad(p, "pattern",
                                "is not {\"String\": ...} or {\"Regex\": ...}");
    if ((st = clenc__jget_string(pat, &pp, "String", NULL, &text)) != CLENC_OK)
        return st;
    if (!text)
        return clenc__jpath_bad(&pp, "String", "is null");
    /* jget_string bounds text by CLENC__TJ_MAX_PATTERN; escaped, twice. */
    size_t n = strlen(text);
    char *escaped = clenc__malloc(2 * n + 1);
    if (!escaped)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a Split pattern");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_meta(text[i]))
            escaped[k++] = '\\';
        escaped[k++] = text[i];
    }
    st = clenc__regex_compile(escaped, k, &pp, "String", re);
    clenc__free(escaped);
    return st;
}

clenc_status clenc__pretok_split_parse(json_t *obj, const clenc__jpath *p,
                                       clenc__pretok **out)
{
    *out = NULL;
    split *sp = clenc__calloc(1, sizeof *sp);
    if (!sp)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a Split pre-tokenizer");
    sp->base.run = split_run;
    sp->base.free = split_free;
    keep_where(sp->where, p);
    clenc_status st;
    /* `tokenizers` requires behavior (it has no default); invert is false
     * when absent. */
    if (!json_object_get(obj, "behavior")) {
        st = clenc__jpath_bad(p, "behavior", "is missing");
        goto out_free;
    }
    TRY(clenc__jget_behavior(obj, p, "behavior", CLENC__SPLIT_REMOVED,
                             &sp->behavior),
        out_free);
    TRY(clenc__jget_bool(obj, p, "invert", 0, &sp->invert), out_free);
    TRY(split_pattern(obj, p, &sp->re), out_free);
    *out = &sp->base;
    return CLENC_OK;

out_free:
    split_free(&sp->base);
    return st;
}
