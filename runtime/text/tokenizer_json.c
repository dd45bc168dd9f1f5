/* tokenizer_json.c — a tokenizer.json read into clenc's pipeline, and one text run through it: added tokens, normaliser, pre-tokenizer, model. */
#include <string.h>

#include "text/tokenizer_json.h"
#include "text/unicode.h"

/* Hugging Face's tokenizers (0.23) is the reference; where it decides
 * something not written in the file, clenc decides the same:
 * - added tokens take their ids as tokenizers' add_tokens gives them when
 *   it reads the file: the model's id of the same token if it has one,
 *   else the next id after the vocabulary, in the file's order; the
 *   file's "id" fields are not read (tokenizers only warns on them);
 * - "truncation" and "padding" are settings transformers replaces on
 *   every call; clenc truncates its own way (longest_first, from the
 *   right, to the model's length) and pads itself, so neither is read;
 * - "decoder" turns ids back into text, which clenc never does. */

#define MAX_ADDED 65536u

/* ------------------------------------------------------- added tokens */

static clenc_status parse_added(clenc__tj *tj, json_t *list,
                                const clenc__jpath *root)
{
    clenc__jpath lp;
    clenc__jpath_sub(root, "added_tokens", -1, &lp);
    if (!list || json_is_null(list))
        return CLENC_OK;
    if (!json_is_array(list) || json_array_size(list) > MAX_ADDED)
        return clenc__jpath_bad(root, "added_tokens", "is not a list of at "
                                                      "most %u tokens",
                                MAX_ADDED);
    const size_t count = json_array_size(list);
    if (!(tj->added = clenc__calloc(count ? count : 1, sizeof *tj->added)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    for (size_t i = 0; i < count; i++) {
        clenc__jpath ip;
        clenc__jpath_sub(&lp, NULL, (long)i, &ip);
        json_t *o = json_array_get(list, i);
        if (!json_is_object(o))
            return clenc__jpath_bad(&ip, "", "is not an object");
        clenc__added_token *t = &tj->added[tj->added_count];
        const char *content;
        clenc_status st;
        if ((st = clenc__jget_string(o, &ip, "content", NULL, &content)) !=
                CLENC_OK ||
            (st = clenc__jget_bool(o, &ip, "single_word", 0,
                                   &t->single_word)) != CLENC_OK ||
            (st = clenc__jget_bool(o, &ip, "lstrip", 0, &t->lstrip)) !=
                CLENC_OK ||
            (st = clenc__jget_bool(o, &ip, "rstrip", 0, &t->rstrip)) !=
                CLENC_OK ||
            (st = clenc__jget_bool(o, &ip, "special", 0, &t->special)) !=
                CLENC_OK ||
            (st = clenc__jget_bool(o, &ip, "normalized", !t->special,
                                   &t->normalized)) != CLENC_OK)
            return st;
        if (!content)
            return clenc__jpath_bad(&ip, "content", "is missing");
        if (strlen(content) > CLENC__TJ_MAX_TOKEN)
            return clenc__jpath_bad(&ip, "content", "is over %u bytes",
                                    CLENC__TJ_MAX_TOKEN);
        if (!content[0])
            continue; /* tokenizers ignores an empty one */
        if (!(t->content = clenc__strdup(content)))
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        t->len = strlen(content);
        tj->added_count++;
    }
    return CLENC_OK;
}

/* An added token's content already added: tokenizers keeps one id per
 * content (the later entry's flags). */
static const clenc__added_token *added_named(const clenc__tj *tj,
                                             const char *s, size_t n,
                                             size_t before)
{
    for (size_t i = before; i-- > 0;)
        if (tj->added[i].id >= 0 && tj->added[i].len == n &&
            memcmp(tj->added[i].content, s, n) == 0)
            return &tj->added[i];
    return NULL;
}

/* tokenizers' AddedVocabulary::add_tokens at load: ids, and each
 * normalized token's content through the normalizer (what it is matched
 * as in normalised text). A later entry with the same content takes the
 * earlier's id and replaces it (its id is set to -1 here: it never
 * matches, as the map tokenizers keeps holds one entry a content). */
static clenc_status assign_added(clenc__tj *tj)
{
    int32_t next = (int32_t)tj->model->vocab_size;
    for (size_t i = 0; i < tj->added_count; i++) {
        clenc__added_token *t = &tj->added[i];
        clenc__added_token *same =
            (clenc__added_token *)added_named(tj, t->content, t->len, i);
        if (same) {
            t->id = same->id;
            same->id = -1;
        } else {
            int32_t id = tj->model->id(tj->model, t->content, t->len);
            if (id < 0) {
                if (next >= (int32_t)CLENC__TJ_MAX_VOCAB)
                    return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                                       "%s: added_tokens take ids past %u",
                                       tj->file, CLENC__TJ_MAX_VOCAB);
                id = next++;
            }
            t->id = id;
        }
        if (t->id > tj->max_id)
            tj->max_id = t->id;
        if (t->len > tj->max_added_len)
            tj->max_added_len = t->len;
        if (!t->normalized || !tj->normalizer) {
            tj->starts[t->normalized][(unsigned char)t->content[0]] = 1;
            continue;
        }
        clenc__str s = {0};
        clenc_status st = tj->normalizer->run(tj->normalizer, t->content,
                                              t->len, &s);
        if (st == CLENC_OK && !(t->normalized_content = clenc__malloc(s.n + 1)))
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        if (st == CLENC_OK) {
            if (s.n)
                memcpy(t->normalized_content, s.p, s.n);
            t->normalized_content[s.n] = '\0';
            t->normalized_len = s.n;
            tj->starts[1][(unsigned char)t->normalized_content[0]] = 1;
            if (s.n > tj->max_added_len)
                tj->max_added_len = s.n;
        }
        clenc__str_free(&s);
        if (st != CLENC_OK)
            return st;
    }
    return CLENC_OK;
}

/* ---------------------------------------------------------------- load */

clenc_status clenc__tj_parse(const char *text, size_t n, const char *file,
                             clenc__tj **out)
{
    *out = NULL;
    json_error_t err;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: not valid JSON (line %d, column %d: %s)", file,
                           err.line, err.column, err.text);
    clenc_status st = CLENC_OK;
    clenc__tj *tj = clenc__calloc(1, sizeof *tj);
    if (!tj || !(tj->file = clenc__strdup(file))) {
        clenc__free(tj);
        json_decref(root);
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    }
    const clenc__jpath top = {.file = tj->file};
    clenc__jpath p;
    if (!json_is_object(root)) {
        st = clenc__jpath_bad(&top, "", "the file is not a JSON object");
        goto out;
    }
    clenc__jpath_sub(&top, "normalizer", -1, &p);
    TRY(clenc__normalizer_parse(json_object_get(root, "normalizer"), &p,
                                &tj->normalizer),
        out);
    clenc__jpath_sub(&top, "pre_tokenizer", -1, &p);
    TRY(clenc__pretok_parse(json_object_get(root, "pre_tokenizer"), &p,
                            &tj->pretok),
        out);
    clenc__jpath_sub(&top, "model", -1, &p);
    TRY(clenc__tmodel_parse(json_object_get(root, "model"), &p, &tj->model),
        out);
    clenc__jpath_sub(&top, "post_processor", -1, &p);
    TRY(clenc__post_parse(json_object_get(root, "post_processor"), &p,
                          &tj->post),
        out);
    TRY(parse_added(tj, json_object_get(root, "added_tokens"), &top), out);
    tj->max_id = tj->model->max_id;
    TRY(assign_added(tj), out);
    for (int pair = 0; pair < 2; pair++) {
        const clenc__template *t = pair ? &tj->post.pair : &tj->post.single;
        for (size_t i = 0; i < t->special_ids; i++)
            if (t->ids[i] > tj->max_id)
                tj->max_id = t->ids[i];
    }
out:
    json_decref(root);
    if (st != CLENC_OK)
        clenc__tj_free(tj);
    else
        *out = tj;
    return st;
}

void clenc__tj_free(clenc__tj *tj)
{
    if (!tj)
        return;
    if (tj->normalizer)
        tj->normalizer->free(tj->normalizer);
    if (tj->pretok)
        tj->pretok->free(tj->pretok);
    if (tj->model)
        tj->model->free(tj->model);
    for (size_t i = 0; i < tj->added_count; i++) {
        clenc__free(tj->added[i].content);
        clenc__free(tj->added[i].normalized_content);
    }
    clenc__free(tj->added);
    clenc__free(tj->file);
    clenc__free(tj);
}

int32_t clenc__tj_token_id(const clenc__tj *tj, const char *token, size_t n)
{
    const clenc__added_token *t = added_named(tj, token, n, tj->added_count);
    return t ? t->id : tj->model->id(tj->model, token, n);
}

/* ------------------------------------------------------- one text's run */

typedef struct encoder {
    const clenc__tj *tj;
    size_t limit;
    clenc__ids *out;
    clenc__words in, words;
    clenc_status st;
} encoder;

static int full(const encoder *e)
{
    return e->st != CLENC_OK || e->out->n >= e->limit;
}

/* The regex crate's \w$ and ^\w, and the spans of \s*$ and ^\s*. */
static int last_is_word(const char *s, size_t n)
{
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == n)
        return 0;
    size_t at = i;
    return clenc__is_word_char(clenc__utf8_next(s, n, &at));
}

static int first_is_word(const char *s, size_t n)
{
    size_t at = 0;
    return n > 0 && clenc__is_word_char(clenc__utf8_next(s, n, &at));
}

static size_t spaces_before(const char *s, size_t end, size_t floor)
{
    size_t i = end;
    while (i > floor) {
        size_t b = i - 1;
        while (b > floor && ((unsigned char)s[b] & 0xC0) == 0x80)
            b--;
        size_t at = b;
        if (!clenc__is_white_space(clenc__utf8_next(s, end, &at)))
            break;
        i = b;
    }
    return i;
}

static size_t spaces_after(const char *s, size_t n, size_t start)
{
    size_t i = start;
    while (i < n) {
        size_t at = i;
        if (!clenc__is_white_space(clenc__utf8_next(s, n, &at)))
            break;
        i = at;
    }
    return i;
}

/* The longest added token (of those matched in raw text, or in normalised
 * text) at s[i], or NULL. Contents are at most max_added_len bytes, so a
 * position costs one pass over the tokens that start with its byte. */
static const clenc__added_token *token_at(const clenc__tj *tj, int normalized,
                                          const char *s, size_t n, size_t i)
{
    const clenc__added_token *best = NULL;
    size_t best_len = 0;
    for (size_t k = 0; k < tj->added_count; k++) {
        const clenc__added_token *t = &tj->added[k];
        if (t->id < 0 || t->normalized != normalized)
            continue;
        const char *c = normalized && t->normalized_content
                            ? t->normalized_content
                            : t->content;
        size_t len = normalized && t->normalized_content ? t->normalized_len
                                                         : t->len;
        if (len > best_len && len <= n - i && c[0] == s[i] &&
            memcmp(c, s + i, len) == 0) {
            best = t;
            best_len = len;
        }
    }
    return best;
}

static void run_piece(encoder *e, const char *s, size_t n, int at_start);

/* tokenizers' find_matches: leftmost-longest matches, each checked for
 * single_word and widened by lstrip/rstrip; the text between them goes on
 * to `then` (the second pass, or the pre-tokenizer and model). Matches are
 * found as the text is consumed, so a text stops where the limit is met. */
static void split_added(encoder *e, int normalized, const char *s, size_t n,
                        int at_start,
                        void (*then)(encoder *, const char *, size_t, int))
{
    size_t done = 0; /* start_offset */
    for (size_t i = 0; i < n && !full(e);) {
        const clenc__added_token *t =
            e->tj->starts[normalized][(unsigned char)s[i]]
                ? token_at(e->tj, normalized, s, n, i)
                : NULL;
        if (!t) {
            i++;
            continue;
        }
        size_t start = i, stop = i + (normalized && t->normalized_content
                                          ? t->normalized_len
                                          : t->len);
        i = stop; /* a discarded match is consumed all the same */
        if (t->single_word && ((start > 0 && last_is_word(s, start)) ||
                               (stop < n && first_is_word(s + stop, n - stop))))
            continue;
        if (t->lstrip)
            start = spaces_before(s, start, done);
        if (t->rstrip)
            stop = spaces_after(s, n, stop);
        if (done < start)
            then(e, s + done, start - done, at_start && done == 0);
        if (!full(e))
            e->st = clenc__ids_push(e->out, t->id);
        done = i = stop;
    }
    if (done < n && !full(e))
        then(e, s + done, n - done, at_start && done == 0);
}

/* A piece between raw-text matches: normalised, then split on the added
 * tokens matched in normalised text. */
static void normalize_piece(encoder *e, const char *s, size_t n, int at_start)
{
    if (!e->tj->normalizer) {
        split_added(e, 1, s, n, at_start, run_piece);
        return;
    }
    clenc__str norm = {0};
    e->st = e->tj->normalizer->run(e->tj->normalizer, s, n, &norm);
    if (e->st == CLENC_OK)
        split_added(e, 1, norm.p ? norm.p : "", norm.n,
                    at_start && !norm.moved, run_piece);
    clenc__str_free(&norm);
}

/* Normalised text without added tokens: words, then the model's ids. */
static void run_piece(encoder *e, const char *s, size_t n, int at_start)
{
    clenc__words_clear(&e->in);
    e->in.at_start = at_start;
    if ((e->st = clenc__words_add(&e->in, s, n)) != CLENC_OK)
        return;
    const clenc__words *words = &e->in;
    if (e->tj->pretok) {
        clenc__words_clear(&e->words);
        e->words.at_start = at_start;
        if ((e->st = e->tj->pretok->run(e->tj->pretok, &e->in, &e->words)) !=
            CLENC_OK)
            return;
        words = &e->words;
    }
    for (size_t i = 0; i < words->n && !full(e); i++) {
        const clenc__span w = words->w[i];
        if (w.end > w.start)
            e->st = e->tj->model->run(e->tj->model, words->text.p + w.start,
                                      w.end - w.start, e->out);
    }
}

clenc_status clenc__tj_encode(const clenc__tj *tj, const char *s, size_t n,
                              size_t limit, clenc__ids *out,
                              size_t *bytes_read)
{
    encoder e = {.tj = tj, .limit = limit, .out = out};
    /* tokenizers splits the raw text on its non-normalized added tokens
     * first; an empty text is one empty piece (no ids). */
    split_added(&e, 0, s, n, 1, normalize_piece);
    if (bytes_read)
        *bytes_read += n;
    clenc__words_free(&e.in);
    clenc__words_free(&e.words);
    if (e.st == CLENC_OK && out->n > limit)
        out->n = limit;
    return e.st;
}
