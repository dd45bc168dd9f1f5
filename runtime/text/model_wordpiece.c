/* model_wordpiece.c — tokenizer.json's WordPiece model: a {token: id} vocabulary and tokenizers' greedy longest-match-first pieces. */
#include <limits.h>
#include <string.h>

#include "text/pipeline.h"

typedef struct tmodel_wordpiece {
    clenc__tmodel base;
    clenc__dict vocab;
    char *unk;
    int32_t unk_id; /* -1: unk_token is not in the vocabulary */
    char *prefix;   /* continuing_subword_prefix */
    size_t prefix_n;
    long long max_chars; /* max_input_chars_per_word */
    size_t max_token;    /* bytes of the longest token */
} tmodel_wordpiece;

/* tokenizers loads a vocabulary without its unk_token and fails only when
 * a word needs it; so does clenc. */
static clenc_status push_unk(const tmodel_wordpiece *m, clenc__ids *out)
{
    if (m->unk_id < 0)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "WordPiece: a word needs unk_token '%.80s', which "
                           "the vocabulary lacks",
                           m->unk);
    return clenc__ids_push(out, m->unk_id);
}

static int is_cont_byte(char b)
{
    return ((unsigned char)b & 0xC0) == 0x80;
}

/* tokenizers' WordPiece::tokenize: a word of more than max_chars
 * characters is unk; else from the left, the longest piece in the
 * vocabulary (with the prefix after the first), and a position without
 * one makes the whole word unk. tokenizers tries every end from the
 * word's; an end past the longest token cannot match, so the search
 * starts at that length: the same pieces in time linear in the word. */
static clenc_status wordpiece_run(const clenc__tmodel *self, const char *s,
                                  size_t n, clenc__ids *out)
{
    const tmodel_wordpiece *m = (const tmodel_wordpiece *)self;
    long long chars = 0;
    for (size_t i = 0; i < n && chars <= m->max_chars; i++)
        chars += !is_cont_byte(s[i]);
    if (chars > m->max_chars)
        return push_unk(m, out);
    const size_t first = out->n;
    for (size_t start = 0; start < n;) {
        size_t plen = start ? m->prefix_n : 0;
        size_t room = m->max_token > plen ? m->max_token - plen : 0;
        size_t end = n - start <= room ? n : start + room;
        while (end > start && end < n && is_cont_byte(s[end]))
            end--;
        int32_t id = -1;
        while (end > start &&
               (id = clenc__dict_get(&m->vocab, m->prefix, plen, s + start,
                                     end - start)) < 0)
            do
                end--;
            while (end > start && is_cont_byte(s[end]));
        if (id < 0) {
            out->n = first;
            return push_unk(m, out);
        }
        clenc_status st = clenc__ids_push(out, id);
        if (st != CLENC_OK)
            return st;
        start = end;
    }
    return CLENC_OK;
}

static int32_t wordpiece_id(const clenc__tmodel *self, const char *token,
                            size_t n)
{
    const tmodel_wordpiece *m = (const tmodel_wordpiece *)self;
    return clenc__dict_get(&m->vocab, token, n, NULL, 0);
}

static void wordpiece_free(clenc__tmodel *self)
{
    tmodel_wordpiece *m = (tmodel_wordpiece *)self;
    if (m) {
        clenc__dict_free(&m->vocab);
        clenc__free(m->unk);
        clenc__free(m->prefix);
    }
    clenc__free(m);
}

/* A required field: present and not null (tokenizers' serde). */
static clenc_status need(json_t *obj, const clenc__jpath *p, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return clenc__jpath_bad(p, key, "is missing");
    if (json_is_null(v))
        return clenc__jpath_bad(p, key, "is null");
    return CLENC_OK;
}

/* vocab: {token: id} (pipeline.h, clenc__jget_vocab). */
static clenc_status parse_vocab(tmodel_wordpiece *m, json_t *obj,
                                const clenc__jpath *p)
{
    return clenc__jget_vocab(obj, p, &m->vocab, &m->base.vocab_size,
                             &m->base.max_id, &m->max_token);
}

clenc_status clenc__tmodel_wordpiece_parse(json_t *obj, const clenc__jpath *p,
                                           clenc__tmodel **out)
{
    const char *unk, *prefix;
    long long max_chars;
    clenc_status st;
    *out = NULL;
    if ((st = need(obj, p, "unk_token")) != CLENC_OK ||
        (st = clenc__jget_string(obj, p, "unk_token", "", &unk)) !=
            CLENC_OK ||
        (st = need(obj, p, "continuing_subword_prefix")) != CLENC_OK ||
        (st = clenc__jget_string(obj, p, "continuing_subword_prefix", "",
                                 &prefix)) != CLENC_OK ||
        (st = need(obj, p, "max_input_chars_per_word")) != CLENC_OK ||
        (st = clenc__jget_int(obj, p, "max_input_chars_per_word", 0, 0,
                              LLONG_MAX, &max_chars)) != CLENC_OK ||
        (st = need(obj, p, "vocab")) != CLENC_OK)
        return st;
    if (strlen(prefix) > CLENC__TJ_MAX_TOKEN)
        return clenc__jpath_bad(p, "continuing_subword_prefix",
                                "is %zu bytes long (at most %u)",
                                strlen(prefix), CLENC__TJ_MAX_TOKEN);
    tmodel_wordpiece *m = clenc__calloc(1, sizeof *m);
    if (!m)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a WordPiece model");
    m->base.run = wordpiece_run;
    m->base.id = wordpiece_id;
    m->base.free = wordpiece_free;
    m->max_chars = max_chars;
    m->prefix_n = strlen(prefix);
    if (!(m->unk = clenc__strdup(unk)) ||
        !(m->prefix = clenc__strdup(prefix))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for a WordPiece model");
        goto out_free_model;
    }
    TRY(parse_vocab(m, obj, p), out_free_model);
    m->unk_id = clenc__dict_get(&m->vocab, unk, strlen(unk), NULL, 0);
    *out = &m->base;
    return CLENC_OK;
out_free_model:
    wordpiece_free(&m->base);
    return st;
}
