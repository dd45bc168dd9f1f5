/* tokenizer.c — the tokenizer: vocab.txt's BERT WordPiece (special tokens, [CLS]/[SEP], truncation, as BertTokenizerFast) or a tokenizer.json's pipeline, behind one call. */
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "text/tokenizer_json.h"
#include "text/wordpiece.h"

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

static const char *const special_roles[SPECIAL_COUNT] = {"cls", "sep", "unk",
                                                         "pad", "mask"};

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

clenc_status clenc__tokenizer_load_json_mem(const char *text, size_t size,
                                            const char *origin,
                                            clenc__tokenizer **out)
{
    if (!out || !text)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc__tokenizer_load_json: %s is NULL",
                           out ? "text" : "out");
    *out = NULL;
    clenc__tokenizer *tok = clenc__calloc(1, sizeof *tok);
    if (!tok)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    clenc_status st = clenc__tj_parse(text, size, origin ? origin : "(memory)",
                                      &tok->json);
    if (st != CLENC_OK)
        clenc__free(tok);
    else
        *out = tok;
    return st;
}

clenc_status clenc__tokenizer_load_json(const char *path,
                                        clenc__tokenizer **out)
{
    if (out)
        *out = NULL;
    if (!path)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc__tokenizer_load_json: path is NULL");
    unsigned char *data;
    size_t size;
    clenc_status st = clenc__file_read(path, "tokenizer", &data, &size);
    if (st != CLENC_OK)
        return st;
    st = clenc__tokenizer_load_json_mem((const char *)data, size, path, out);
    clenc__free(data);
    return st;
}

void clenc__tokenizer_free(clenc__tokenizer *tok)
{
    if (!tok)
        return;
    clenc__tj_free(tok->json);
    for (int k = 0; k < SPECIAL_COUNT; k++)
        clenc__free(tok->special[k]);
    clenc__vocab_free(&tok->vocab);
    clenc__free(tok);
}

size_t clenc__tokenizer_vocab_size(const clenc__tokenizer *tok)
{
    if (tok && tok->json)
        return (size_t)tok->json->max_id + 1;
    return tok ? tok->vocab.lines : 0;
}

int32_t clenc__tokenizer_token_id(const clenc__tokenizer *tok,
                                  const char *token)
{
    if (!tok || !token)
        return -1;
    if (tok->json)
        return clenc__tj_token_id(tok->json, token, strlen(token));
    return clenc__vocab_find(&tok->vocab, "", 0, token, strlen(token));
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
        clenc__wordpiece_run(r, (const unsigned char *)text, text_len);
        *na = r->n;
        *nb = 0;
        if (!pair)
            return;
        r->limit = *na + cap;
        clenc__wordpiece_run(r, (const unsigned char *)pair, pair_len);
        *nb = r->n - *na;
        if (r->st != CLENC_OK || room % 2 == 0 || *na < cap || *nb < cap ||
            cap > SIZE_MAX / 4)
            return;
        cap *= 2;
    }
}

/* tokenizer.json's texts into a and b, each read as far as truncation to
 * `room` needs, by run_texts' rule. */
static clenc_status json_texts(const clenc__tj *tj, const char *text,
                               size_t text_len, const char *pair,
                               size_t pair_len, size_t room, clenc__ids *a,
                               clenc__ids *b)
{
    size_t cap = pair ? room + 1 : room, bytes = 0;
    clenc_status st;
    for (;;) {
        a->n = b->n = 0;
        if ((st = clenc__tj_encode(tj, text, text_len, cap, a, &bytes)) !=
                CLENC_OK ||
            !pair ||
            (st = clenc__tj_encode(tj, pair, pair_len, cap, b, &bytes)) !=
                CLENC_OK ||
            room % 2 == 0 || a->n < cap || b->n < cap || cap > SIZE_MAX / 4)
            break;
        cap *= 2;
    }
    thread_bytes_read += bytes;
    return st;
}

static clenc_status tokenize_json(const clenc__tj *tj, const char *text,
                                  size_t text_len, const char *pair,
                                  size_t pair_len, size_t max_len,
                                  int32_t *ids, int32_t *type_ids, size_t *n)
{
    const size_t specials = clenc__post_added(&tj->post, pair != NULL);
    if (max_len < specials)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "max_len %zu leaves no room for the %zu special "
                           "tokens the tokenizer adds",
                           max_len, specials);
    clenc__ids a = {0}, b = {0};
    clenc_status st = json_texts(tj, text, text_len, pair, pair_len,
                                 max_len - specials, &a, &b);
    if (st == CLENC_OK) {
        size_t keep_a = a.n, keep_b = b.n;
        if (pair)
            truncate_pair(max_len - specials, &keep_a, &keep_b);
        else if (keep_a > max_len - specials)
            keep_a = max_len - specials;
        st = clenc__post_run(&tj->post, a.v, keep_a, b.v, keep_b, pair != NULL,
                             ids, type_ids, n);
    }
    clenc__ids_free(&a);
    clenc__ids_free(&b);
    return st;
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
    if ((st = check_utf8(text, text_len, "text")) != CLENC_OK ||
        (text_pair &&
         (st = check_utf8(text_pair, pair_len, "text pair")) != CLENC_OK))
        return st;
    if (tok->json)
        return tokenize_json(tok->json, text, text_len, text_pair, pair_len,
                             max_len, ids, type_ids, n);
    size_t specials = text_pair ? 3 : 2;
    if (max_len < specials)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "max_len %zu leaves no room for [CLS] and [SEP]"
                           "%s (at least %zu)",
                           max_len, text_pair ? " twice" : "", specials);
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
