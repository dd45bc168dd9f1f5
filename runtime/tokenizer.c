/* tokenizer.c — BERT WordPiece tokenization: normalisation, splitting, WordPiece, [CLS]/[SEP] and truncation, as Hugging Face's BertTokenizerFast. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "tokenizer.h"

/* The reference is the Rust `tokenizers` library behind BertTokenizerFast:
 * added (special) tokens split out of the raw text first, then
 * BertNormalizer, BertPreTokenizer, WordPiece and the [CLS]/[SEP] template.
 * We do the same in one pass over each text, without building the
 * normalised string: characters are cleaned, decomposed, filtered and
 * lower-cased one at a time and collected into words.
 *
 * Decisions where HF gives no answer or two:
 * - Invalid UTF-8 (stray or missing continuation bytes, overlong forms,
 *   surrogates, code points past U+10FFFF) is CLENC_ERR_INVALID_ARG naming
 *   the byte offset; Python cannot even hold such a string.
 * - vocab.txt: see tokenizer_vocab.c (a repeated token: the later line).
 * - Lower-casing: utf8proc's simple mapping plus Rust's one unconditional
 *   multi-character mapping, U+0130 -> "i\u0307"; final sigma is not
 *   context-sensitive in HF either (it maps char by char).
 * - text_pair "" is an empty second segment, [CLS] a [SEP] [SEP], as in
 *   `tokenizers` and BertTokenizerFast's batch call; its single call
 *   tok(a, "") drops the pair (Python truthiness). NULL means no pair.
 * - A NUL byte inside a text given with its length is U+0000, a control
 *   character, dropped as BertNormalizer's clean_text drops it: "a\0b" is
 *   "ab". (A NUL-terminated text simply ends there.)
 * - Truncation reads no more of a text than it can keep (see
 *   clenc__tokenize_n); the whole text is still checked to be UTF-8, so
 *   whether a text is accepted does not depend on max_len.
 *
 * Residual differences come from Unicode versions alone. Compared over every
 * code point (tokenizers 0.23.3, utf8proc 2.8 = Unicode 15), 624 differ:
 * HF's control/punctuation/Mn tests use the unicode_categories crate, frozen
 * at Unicode 8.0, and its NFD predates Unicode 13, so characters added or
 * re-categorised since (U+061D, U+2E43-2E5D, U+166D, new marks of Brahmic
 * scripts, ...) are kept, joined or stripped differently; HF lower-cases
 * with Rust's std (Unicode 16), which knows U+1C89 and U+A7CB-A7DC and
 * utf8proc 2.8 does not. Everything else matched, over single code points
 * and 60 000 random texts. */

/* HF's max_input_chars_per_word: a longer word is [UNK]. */
#define MAX_WORD_CHARS 100
#define CONT_PREFIX "##"
#define CONT_PREFIX_LEN 2
/* Room for one code point's canonical decomposition (Unicode needs 4). */
#define MAX_DECOMPOSITION 8

enum { SPECIAL_CLS, SPECIAL_SEP, SPECIAL_UNK, SPECIAL_PAD, SPECIAL_MASK,
       SPECIAL_COUNT };
static const char *const special_roles[SPECIAL_COUNT] = {"cls", "sep", "unk",
                                                         "pad", "mask"};

struct clenc__tokenizer {
    clenc__vocab vocab;
    int lowercase, strip_accents, chinese_chars;
    char *special[SPECIAL_COUNT]; /* NULL: no such token (mask only) */
    size_t special_len[SPECIAL_COUNT];
    int32_t special_id[SPECIAL_COUNT];
    unsigned char special_start[256]; /* bytes a special token starts with */
};

void clenc__tokenizer_options_init(clenc__tokenizer_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->lowercase = 1;
    opt->strip_accents = -1;
    opt->chinese_chars = 1;
    opt->cls = "[CLS]";
    opt->sep = "[SEP]";
    opt->unk = "[UNK]";
    opt->pad = "[PAD]";
    opt->mask = "[MASK]";
}

static clenc_status find_specials(clenc__tokenizer *tok,
                                  const clenc__tokenizer_options *opt,
                                  const char *origin)
{
    const char *strings[SPECIAL_COUNT] = {opt->cls, opt->sep, opt->unk,
                                          opt->pad, opt->mask};
    for (int k = 0; k < SPECIAL_COUNT; k++) {
        if (!strings[k] && k == SPECIAL_MASK)
            continue;
        /* An empty one would match everywhere when splitting the text. */
        if (!strings[k] || !strings[k][0])
            return clenc__fail(CLENC_ERR_INVALID_ARG,
                               "tokenizer option '%s' (special token) is "
                               "%s",
                               special_roles[k],
                               strings[k] ? "empty" : "NULL");
        if (!(tok->special[k] = clenc__strdup(strings[k])))
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        tok->special_len[k] = strlen(strings[k]);
        tok->special_start[(unsigned char)strings[k][0]] = 1;
        tok->special_id[k] = clenc__tokenizer_token_id(tok, strings[k]);
        if (tok->special_id[k] < 0)
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "vocabulary %s has no %s token '%s'", origin,
                               special_roles[k], strings[k]);
    }
    return CLENC_OK;
}

clenc_status clenc__tokenizer_load_mem(const char *vocab, size_t size,
                                       const char *origin,
                                       const clenc__tokenizer_options *opt,
                                       clenc__tokenizer **out)
{
    clenc_status st = CLENC_OK;
    clenc__tokenizer_options defaults;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc__tokenizer_load: out is NULL");
    *out = NULL;
    if (!origin)
        origin = "(memory)";
    if (!opt) {
        clenc__tokenizer_options_init(&defaults);
        opt = &defaults;
    }
    clenc__tokenizer *tok = clenc__calloc(1, sizeof *tok);
    if (!tok)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    tok->lowercase = opt->lowercase != 0;
    tok->strip_accents =
        opt->strip_accents < 0 ? tok->lowercase : opt->strip_accents != 0;
    tok->chinese_chars = opt->chinese_chars != 0;
    TRY(clenc__vocab_parse(vocab, size, origin, &tok->vocab),
        out_free_tokenizer);
    TRY(find_specials(tok, opt, origin), out_free_tokenizer);
    *out = tok;
    return CLENC_OK;
out_free_tokenizer:
    clenc__tokenizer_free(tok);
    return st;
}

clenc_status clenc__tokenizer_load(const char *vocab_path,
                                   const clenc__tokenizer_options *opt,
                                   clenc__tokenizer **out)
{
    if (out)
        *out = NULL;
    if (!vocab_path)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc__tokenizer_load: vocab_path is NULL");
    unsigned char *data;
    size_t size;
    clenc_status st = clenc__file_read(vocab_path, "vocabulary", &data, &size);
    if (st != CLENC_OK)
        return st;
    st = clenc__tokenizer_load_mem((const char *)data, size, vocab_path, opt,
                                   out);
    clenc__free(data);
    return st;
}

void clenc__tokenizer_free(clenc__tokenizer *tok)
{
    if (!tok)
        return;
    for (int k = 0; k < SPECIAL_COUNT; k++)
        clenc__free(tok->special[k]);
    clenc__vocab_free(&tok->vocab);
    clenc__free(tok);
}

size_t clenc__tokenizer_vocab_size(const clenc__tokenizer *tok)
{
    return tok ? tok->vocab.lines : 0;
}

int32_t clenc__tokenizer_token_id(const clenc__tokenizer *tok,
                                  const char *token)
{
    if (!tok || !token)
        return -1;
    return clenc__vocab_find(&tok->vocab, "", 0, token, strlen(token));
}

/* --------------------------------------------------- characters (HF's) */

static int is_cjk(int32_t c) /* BertNormalizer's is_chinese_char, exactly */
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* BertPreTokenizer's is_bert_punc: ASCII punctuation or any P* category. */
static int is_punct(int32_t c)
{
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
               (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    utf8proc_category_t cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

enum char_kind { KIND_DROP, KIND_SPACE, KIND_CJK, KIND_OTHER };

/* clean_text and handle_chinese_chars. Control means Cc, Cf, Co or Cs
 * except \t \n \r (unassigned code points stay, as HF's tables keep them);
 * space means Rust's char::is_whitespace, i.e. White_Space = Zs, Zl, Zp and
 * the C0/C1 ones. Control is tested first, so \v, \f and U+0085 go. */
static enum char_kind classify(const clenc__tokenizer *tok, int32_t c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return KIND_SPACE;
    if (c < 0x80)
        return c < 0x20 || c == 0x7F ? KIND_DROP : KIND_OTHER;
    if (c == 0xFFFD)
        return KIND_DROP;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
        return KIND_DROP;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return KIND_SPACE;
    default:
        return tok->chinese_chars && is_cjk(c) ? KIND_CJK : KIND_OTHER;
    }
}

/* ------------------------------------------------- one tokenization run */

typedef struct combining {
    int32_t cp;
    uint32_t ccc, order;
} combining;

typedef struct run {
    const clenc__tokenizer *tok;
    clenc_status st; /* sticky: the first failure stops the run */
    int32_t *ids;    /* pieces of the text, then of the pair */
    size_t n, cap;
    size_t limit; /* a text stops once the run has this many pieces */
    size_t bytes_read; /* of the texts, by run_text */
    unsigned char word[MAX_WORD_CHARS * 4];
    size_t word_bytes, word_chars; /* chars counts past the ones stored */
    combining *pending; /* a run of combining marks awaiting canonical order */
    size_t pending_n, pending_cap;
} run;

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
    if (r->tok->lowercase) {
        if (c == 0x130) { /* Rust's to_lowercase: 'İ' -> "i\u0307" */
            word_push(r, 'i');
            word_push(r, 0x307);
            return;
        }
        c = c < 0x80 ? (c >= 'A' && c <= 'Z' ? c + 32 : c)
                     : utf8proc_tolower(c);
    }
    if (is_punct(c)) {
        word_end(r);
        word_push(r, c);
        word_end(r);
    } else {
        word_push(r, c);
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
static void run_text(run *r, const unsigned char *s, size_t n)
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

/* HF's longest_first for a pair (tokenizers' truncate_encodings), which is
 * not "one token at a time": when the shorter fits in half the room, the
 * longer gets the rest; otherwise the shorter gets room / 2 and the longer
 * the other half, rounded up. Equal lengths count the first as shorter. */
static void truncate_pair(size_t room, size_t *na, size_t *nb)
{
    if (*na + *nb <= room)
        return;
    size_t *shorter = *na <= *nb ? na : nb;
    size_t *longer = shorter == na ? nb : na;
    if (2 * *shorter > room) {
        *shorter = room / 2;
        *longer = room - room / 2;
    } else {
        *longer = room - *shorter;
    }
}

static clenc_status check_utf8(const char *s, size_t n, const char *what)
{
    size_t bad = clenc__utf8_invalid_at((const unsigned char *)s, n);
    if (bad < n)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s is not valid UTF-8: byte 0x%02X at byte "
                           "offset %zu starts no valid sequence",
                           what, (unsigned char)s[bad], bad);
    return CLENC_OK;
}

static _Thread_local size_t thread_bytes_read;

size_t clenc__tokenize_bytes_read(void)
{
    return thread_bytes_read;
}

/* Pieces of text (then of pair) into r->ids, each text read only as far as
 * truncation to `room` needs. HF's rule keeps at most `room` pieces of a
 * text, and a text cut at room + 1 pieces is known to be longer than room:
 * that is enough, except when both texts are longer and room is odd, where
 * the longer one gets the odd piece. Then both are read again with doubled
 * caps until the shorter one ends: the work is bounded by the shorter text,
 * not by the longer. Sets *na, *nb to the pieces read (a text cut at its
 * cap counts as that many). */
static void run_texts(run *r, const char *text, size_t text_len,
                      const char *pair, size_t pair_len, size_t room,
                      size_t *na, size_t *nb)
{
    size_t cap = pair ? room + 1 : room;
    for (;;) {
        r->n = 0;
        r->limit = cap;
        run_text(r, (const unsigned char *)text, text_len);
        *na = r->n;
        *nb = 0;
        if (!pair)
            return;
        r->limit = *na + cap;
        run_text(r, (const unsigned char *)pair, pair_len);
        *nb = r->n - *na;
        if (r->st != CLENC_OK || room % 2 == 0 || *na < cap || *nb < cap ||
            cap > SIZE_MAX / 4)
            return;
        cap *= 2;
    }
}

/* Thread-safe: the tokenizer is read-only once loaded. */
clenc_status clenc__tokenize_n(const clenc__tokenizer *tok, const char *text,
                               size_t text_len, const char *text_pair,
                               size_t pair_len, size_t max_len, int32_t *ids,
                               int32_t *type_ids, size_t *n)
{
    clenc_status st = CLENC_OK;
    if (n)
        *n = 0;
    if (!tok || (!text && text_len) || (!text_pair && pair_len) || !ids || !n)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc__tokenize: tok, ids or n is NULL, or a "
                           "text is NULL with a length");
    if (!text)
        text = "";
    size_t specials = text_pair ? 3 : 2;
    if (max_len < specials)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "max_len %zu leaves no room for [CLS] and [SEP]"
                           "%s (at least %zu)",
                           max_len, text_pair ? " twice" : "", specials);
    if ((st = check_utf8(text, text_len, "text")) != CLENC_OK ||
        (text_pair &&
         (st = check_utf8(text_pair, pair_len, "text pair")) != CLENC_OK))
        return st;
    run r = {.tok = tok};
    size_t na, nb;
    run_texts(&r, text, text_len, text_pair, pair_len, max_len - specials,
              &na, &nb);
    thread_bytes_read += r.bytes_read;
    if ((st = r.st) != CLENC_OK)
        goto out_free_run;
    size_t keep_a = na, keep_b = nb;
    if (text_pair)
        truncate_pair(max_len - 3, &keep_a, &keep_b);
    else if (keep_a > max_len - 2)
        keep_a = max_len - 2;
    size_t k = 0;
    ids[k++] = tok->special_id[SPECIAL_CLS];
    if (keep_a)
        memcpy(ids + k, r.ids, keep_a * sizeof *ids);
    k += keep_a;
    ids[k++] = tok->special_id[SPECIAL_SEP];
    const size_t first_segment = k;
    if (text_pair) {
        if (keep_b)
            memcpy(ids + k, r.ids + na, keep_b * sizeof *ids);
        k += keep_b;
        ids[k++] = tok->special_id[SPECIAL_SEP];
    }
    for (size_t i = 0; type_ids && i < k; i++)
        type_ids[i] = i >= first_segment;
    *n = k;
out_free_run:
    clenc__free(r.pending);
    clenc__free(r.ids);
    return st;
}

clenc_status clenc__tokenize(const clenc__tokenizer *tok, const char *text,
                             const char *text_pair, size_t max_len,
                             int32_t *ids, int32_t *type_ids, size_t *n)
{
    if (n)
        *n = 0;
    if (!text)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc__tokenize: text is NULL");
    return clenc__tokenize_n(tok, text, strlen(text), text_pair,
                             text_pair ? strlen(text_pair) : 0, max_len, ids,
                             type_ids, n);
}
