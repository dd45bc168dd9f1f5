/* tokenizer_json.h — a tokenizer.json tokenizer: its added tokens, components and post-processor, shared by tokenizer_json.c, post_processors.c and tokenizer.c. */
#ifndef CLENC_TOKENIZER_JSON_H
#define CLENC_TOKENIZER_JSON_H

#include "text/pipeline.h"

/* ------------------------------------------------------ post-processor */

#define CLENC__TJ_MAX_PIECES 16
#define CLENC__TJ_MAX_SPECIAL_IDS 64

/* A sequence (seq 0: A, 1: B) or special ids (seq -1: ids[first..+n)),
 * with the type id its tokens get. */
typedef struct clenc__template_piece {
    int seq;
    int32_t type_id;
    size_t first, n;
} clenc__template_piece;

typedef struct clenc__template {
    clenc__template_piece pieces[CLENC__TJ_MAX_PIECES];
    size_t count;
    int32_t ids[CLENC__TJ_MAX_SPECIAL_IDS];
    size_t special_ids; /* how many the template adds */
} clenc__template;

typedef struct clenc__post {
    clenc__template single, pair;
} clenc__post;

/* post_processor (null: none) as templates; an unknown type is
 * CLENC_ERR_UNSUPPORTED naming its path. */
clenc_status clenc__post_parse(json_t *obj, const clenc__jpath *p,
                               clenc__post *out);
/* Special ids the template adds for one text or a pair. */
size_t clenc__post_added(const clenc__post *post, int pair);
/* a (and b when pair) wrapped into ids/type_ids (type_ids may be NULL),
 * which hold na + nb + clenc__post_added. */
clenc_status clenc__post_run(const clenc__post *post, const int32_t *a,
                             size_t na, const int32_t *b, size_t nb, int pair,
                             int32_t *ids, int32_t *type_ids, size_t *n);

/* ----------------------------------------------------------- tokenizer */

typedef struct clenc__added_token {
    char *content;
    size_t len;
    int32_t id;
    int single_word, lstrip, rstrip, normalized, special;
    char *normalized_content; /* content through the normalizer */
    size_t normalized_len;
} clenc__added_token;

typedef struct clenc__tj {
    char *file; /* for messages */
    clenc__normalizer *normalizer; /* NULL: none */
    clenc__pretok *pretok;         /* NULL: none */
    clenc__tmodel *model;
    clenc__post post;
    clenc__added_token *added; /* in the file's order */
    size_t added_count;
    size_t max_added_len; /* longest content, raw or normalized */
    /* [normalized][byte]: an added token matched in raw (0) or normalised
     * (1) text starts with the byte. */
    unsigned char starts[2][256];
    int32_t max_id;       /* the largest id the tokenizer produces */
} clenc__tj;

/* Parses tokenizer.json's text (`file` names it in messages). Every
 * component it names must be one clenc runs: else CLENC_ERR_UNSUPPORTED
 * naming the JSON path, e.g. "pre_tokenizer.pretokenizers[1].type
 * 'UnicodeScripts'". */
clenc_status clenc__tj_parse(const char *text, size_t n, const char *file,
                             clenc__tj **out);
void clenc__tj_free(clenc__tj *tj);

/* The id of a token: an added token's, else the model's; -1 if neither. */
int32_t clenc__tj_token_id(const clenc__tj *tj, const char *token, size_t n);

/* The ids of text s[0..n) (valid UTF-8), without specials, appended to
 * *out until it holds `limit` ids: added tokens split out of the raw text,
 * the rest normalised, added tokens matched again in the normalised text,
 * then pre-tokenized and cut by the model. A text stops being read at the
 * first word that reaches the limit. *bytes_read grows by the bytes of
 * text it consumed. */
clenc_status clenc__tj_encode(const clenc__tj *tj, const char *s, size_t n,
                              size_t limit, clenc__ids *out,
                              size_t *bytes_read);

#endif
