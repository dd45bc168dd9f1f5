/* wordpiece.c — one WordPiece tokenization run: HF's BertNormalizer and BertPreTokenizer character by character, then greedy longest-match pieces. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/unicode.h"
#include "text/wordpiece.h"

/* --------------------------------------------------- characters (HF's) */

enum char_kind { KIND_DROP, KIND_SPACE, KIND_CJK, KIND_OTHER };

/* clean_text and handle_chinese_chars (text/unicode.h says which is
 * which). */
static enum char_kind classify(const clenc__tokenizer *tok, int32_t c)
{
    switch (clenc__bert_clean(c)) {
    case CLENC__CLEAN_DROP:
        return KIND_DROP;
    case CLENC__CLEAN_SPACE:
        return KIND_SPACE;
    default:
        return tok->chinese_chars && clenc__is_bert_cjk(c) ? KIND_CJK
                                                           : KIND_OTHER;
    }
}

static void push_id(run *r, int32_t id)
{
    if (r->n == r->cap && r->st == CLENC_OK) {
        size_t cap = r->cap ? 2 * r->cap : 256;
        int32_t *grown = clenc__realloc(r->ids, cap * sizeof *grown);
        if (!grown) {
            r->st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                                "no host memory for %zu token ids", cap);
            return;
        }
        r->ids = grown;
        r->cap = cap;
    }
    if (r->st == CLENC_OK)
        r->ids[r->n++] = id;
}

static int is_cont_byte(unsigned char b)
{
    return (b & 0xC0) == 0x80;
}

/* Greedy longest match from the left; one piece without a match makes the
 * whole word [UNK], as in HF's WordPiece. */
static void wordpiece(run *r)
{
    const clenc__tokenizer *tok = r->tok;
    const char *w = (const char *)r->word;
    size_t n = r->word_bytes, first = r->n;
    for (size_t start = 0; start < n;) {
        size_t plen = start ? CONT_PREFIX_LEN : 0;
        size_t end = tok->vocab.max_token_len > plen
                         ? start + tok->vocab.max_token_len - plen
                         : start;
        if (end >= n)
            end = n;
        else
            while (end > start && is_cont_byte((unsigned char)w[end]))
                end--;
        int32_t id = -1;
        while (end > start &&
               (id = clenc__vocab_find(&tok->vocab, CONT_PREFIX, plen,
                                       w + start, end - start)) < 0)
            do
                end--;
            while (end > start && is_cont_byte((unsigned char)w[end]));
        if (id < 0) {
            r->n = first;
            push_id(r, tok->special_id[SPECIAL_UNK]);
            return;
        }
        push_id(r, id);
        start = end;
    }
}

static void word_end(run *r)
{
    if (r->word_chars > MAX_WORD_CHARS)
        push_id(r, r->tok->special_id[SPECIAL_UNK]);
    else if (r->word_chars > 0)
        wordpiece(r);
    r->word_chars = r->word_bytes = 0;
}

static void word_push(run *r, int32_t c)
{
    if (++r->word_chars <= MAX_WORD_CHARS)
        r->word_bytes += (size_t)utf8proc_encode_char(c, r->word +
                                                             r->word_bytes);
}

/* A normalised character: lower-case it, then split on punctuation. */
static void emit(run *r, int32_t c)
{
    int32_t lower[2] = {c};
    size_t count = r->tok->lowercase ? clenc__lowercase(c, lower) : 1;
    for (size_t i = 0; i < count; i++) {
        if (clenc__is_punct(lower[i])) {
            word_end(r);
            word_push(r, lower[i]);
            word_end(r);
        } else {
            word_push(r, lower[i]);
        }
    }
}

static int combining_cmp(const void *a, const void *b)
{
    const combining *x = a, *y = b;
    if (x->ccc != y->ccc)
        return x->ccc < y->ccc ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

/* NFD's canonical ordering: a stable sort by combining class. Only marks
 * that survive accent stripping wait here (Mn ones are dropped as they
 * come); the order of the survivors is the same either way. */
static void flush_pending(run *r)
{
    if (r->pending_n > 1)
        qsort(r->pending, r->pending_n, sizeof *r->pending, combining_cmp);
    size_t count = r->pending_n;
    r->pending_n = 0;
    for (size_t i = 0; i < count; i++)
        emit(r, r->pending[i].cp);
}

static void pending_push(run *r, int32_t cp, uint32_t ccc)
{
    if (r->pending_n == r->pending_cap) {
        size_t cap = r->pending_cap ? 2 * r->pending_cap : 16;
        combining *grown = clenc__realloc(r->pending, cap * sizeof *grown);
        if (!grown) {
            if (r->st == CLENC_OK)
                r->st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                                    "no host memory for combining marks");
            return;
        }
        r->pending = grown;
        r->pending_cap = cap;
    }
    r->pending[r->pending_n] =
        (combining){cp, ccc, (uint32_t)r->pending_n};
    r->pending_n++;
}

/* A cleaned character: with strip_accents, NFD and drop category Mn. A mark
 * of class 0 ends a run of combining marks even when it is dropped. */
static void put_char(run *r, int32_t c)
{
    if (c < 0x80 || !r->tok->strip_accents) {
        flush_pending(r);
        emit(r, c);
        return;
    }
    utf8proc_int32_t d[MAX_DECOMPOSITION];
    utf8proc_ssize_t k = utf8proc_decompose_char(c, d, MAX_DECOMPOSITION,
                                                 UTF8PROC_DECOMPOSE, NULL);
    if (k < 1 || k > MAX_DECOMPOSITION) { /* not for valid code points */
        d[0] = c;
        k = 1;
    }
    for (utf8proc_ssize_t i = 0; i < k; i++) {
        const utf8proc_property_t *p = utf8proc_get_property(d[i]);
        int mn = p->category == UTF8PROC_CATEGORY_MN;
        if (p->combining_class == 0) {
            flush_pending(r);
            if (!mn)
                emit(r, d[i]);
        } else if (!mn) {
            pending_push(r, d[i], p->combining_class);
        }
    }
}

/* Index of the longest special token at the start of s, or -1: HF matches
 * its added tokens leftmost-longest in the raw text, before normalising. */
static int special_at(const clenc__tokenizer *tok, const unsigned char *s,
                      size_t n)
{
    int best = -1;
    for (int k = 0; k < SPECIAL_COUNT; k++) {
        size_t len = tok->special_len[k];
        if (tok->special[k] && len <= n &&
            (unsigned char)tok->special[k][0] == s[0] &&
            memcmp(tok->special[k], s, len) == 0 &&
            (best < 0 || len > tok->special_len[best]))
            best = k;
    }
    return best;
}

/* One text, read only until the run has `limit` pieces. Special tokens are
 * matched in the raw bytes at each character boundary (they are valid
 * UTF-8, so no match starts inside a character), and the text around them
 * is normalised part by part, as HF normalises each part on its own. The
 * text was validated before: utf8proc_iterate never fails here. */
void clenc__wordpiece_run(run *r, const unsigned char *s, size_t n)
{
    const clenc__tokenizer *tok = r->tok;
    size_t i = 0;
    while (i < n && r->n < r->limit && r->st == CLENC_OK) {
        int k = tok->special_start[s[i]] ? special_at(tok, s + i, n - i) : -1;
        if (k >= 0) {
            flush_pending(r);
            word_end(r);
            push_id(r, tok->special_id[k]);
            i += tok->special_len[k];
            continue;
        }
        utf8proc_int32_t c = s[i];
        if (c < 0x80)
            i++;
        else
            i += (size_t)utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i),
                                          &c);
        switch (classify(tok, c)) {
        case KIND_DROP:
            break;
        case KIND_SPACE:
            flush_pending(r);
            word_end(r);
            break;
        case KIND_CJK:
            flush_pending(r);
            word_end(r);
            put_char(r, c);
            flush_pending(r);
            word_end(r);
            break;
        case KIND_OTHER:
            put_char(r, c);
            break;
        }
    }
    flush_pending(r);
    word_end(r);
    r->bytes_read += i;
}

