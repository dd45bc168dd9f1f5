/* pipeline.h — inside tokenizer.json's tokenizer: strings, words and ids, messages that name a JSON path, and the components each file implements. */
#ifndef CLENC_PIPELINE_H
#define CLENC_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "base/base.h"

/* Hugging Face `tokenizers` runs a text as: added tokens split out, the
 * rest normalised (string -> string), pre-tokenized (string -> words),
 * each word cut into pieces by the model (word -> ids), then truncated and
 * wrapped by the post-processor (ids -> ids with specials and type ids).
 * clenc does the same with the same components; nothing here tracks
 * offsets, since clenc returns ids only. Each component is a struct whose
 * first member is its kind's vtable head (clenc__normalizer, ...), made by
 * a parse function of the kind's signature from its JSON object; the
 * table of types is components.c. */

/* ------------------------------------------------------------- strings */

/* A growable byte string (UTF-8 by construction where the pipeline makes
 * it). Zeroed is empty. */
typedef struct clenc__str {
    char *p;
    size_t n, cap;
    /* Set by a normalizer whose output's first character no longer comes
     * from the input's first one (a leading character dropped, or merged
     * into a replacement that tokenizers aligns with its last character):
     * Metaspace's prepend_scheme "first" then sees a piece that does not
     * start the text, as tokenizers' alignments say. Callers zero it. */
    int moved;
} clenc__str;

clenc_status clenc__str_put(clenc__str *s, const void *bytes, size_t n);
/* One code point (0..0x10FFFF, not a surrogate), UTF-8 encoded. */
clenc_status clenc__str_put_cp(clenc__str *s, int32_t cp);
void clenc__str_free(clenc__str *s);

/* Decodes the code point at s[*i] (valid UTF-8: the pipeline checks texts
 * first) and advances *i past it. */
int32_t clenc__utf8_next(const char *s, size_t n, size_t *i);

/* Words of a pre-tokenized text: spans of `text`. */
typedef struct clenc__span {
    size_t start, end;
} clenc__span;

typedef struct clenc__words {
    clenc__str text;
    clenc__span *w;
    size_t n, cap;
    /* The first word begins the original text (not a piece after an added
     * token): Metaspace's prepend_scheme "first" asks. Every pre-tokenizer
     * copies it from in to out; clear keeps it. */
    int at_start;
} clenc__words;

/* Appends bytes to text as one new word (n may be 0: an empty word, which
 * models skip). */
clenc_status clenc__words_add(clenc__words *w, const void *bytes, size_t n);
/* Appends bytes to the last word (a pre-tokenizer building a word in
 * parts); the first call of a word is clenc__words_add. */
clenc_status clenc__words_extend(clenc__words *w, const void *bytes, size_t n);
void clenc__words_clear(clenc__words *w); /* keeps the memory */
void clenc__words_free(clenc__words *w);

/* Token ids. */
typedef struct clenc__ids {
    int32_t *v;
    size_t n, cap;
} clenc__ids;

clenc_status clenc__ids_push(clenc__ids *ids, int32_t id);
void clenc__ids_free(clenc__ids *ids);

/* ------------------------------------------------ string -> id tables */

/* A keyed (SipHash), open-addressing table from byte strings to int32,
 * probe-bounded like vocab.txt's: tokenizer.json is untrusted input. */
typedef struct clenc__dict_slot clenc__dict_slot;
typedef struct clenc__dict {
    clenc__dict_slot *slots;
    size_t slot_mask, count;
    char *keys; /* the keys' bytes, back to back */
    size_t keys_n, keys_cap;
    uint64_t key[2];
} clenc__dict;

/* Room for `expected` entries. */
clenc_status clenc__dict_init(clenc__dict *d, size_t expected);
/* Adds key a followed by b (b may be NULL, nb 0) with `value`; an existing
 * key is replaced and *existed (may be NULL) set to 1. */
clenc_status clenc__dict_put(clenc__dict *d, const void *a, size_t na,
                             const void *b, size_t nb, int32_t value,
                             int *existed);
/* The value of key a followed by b, or -1. */
int32_t clenc__dict_get(const clenc__dict *d, const void *a, size_t na,
                        const void *b, size_t nb);
void clenc__dict_free(clenc__dict *d);

/* ------------------------------------------------------------ messages */

/* Where a component sits in tokenizer.json: "pre_tokenizer.pretokenizers[1]".
 * Failures name the file and the path: "FILE: PATH.KEY ...". */
typedef struct clenc__jpath {
    const char *file;
    char at[256];
} clenc__jpath;

/* p's path extended with ".key" or "[index]" (index >= 0). */
void clenc__jpath_sub(const clenc__jpath *p, const char *key, long index,
                      clenc__jpath *out);
/* CLENC_ERR_UNSUPPORTED: "FILE: PATH.KEY 'VALUE' is not supported by clenc". */
clenc_status clenc__jpath_unsupported(const clenc__jpath *p, const char *key,
                                      const char *value);
/* CLENC_ERR_MODEL_FORMAT: "FILE: PATH.KEY " followed by the message. */
clenc_status clenc__jpath_bad(const clenc__jpath *p, const char *key,
                              const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Typed fields of a component's object; absent or null gives the default.
 * A value of another type is CLENC_ERR_MODEL_FORMAT naming the path. */
clenc_status clenc__jget_string(json_t *o, const clenc__jpath *p,
                                const char *key, const char *dflt,
                                const char **out);
clenc_status clenc__jget_bool(json_t *o, const clenc__jpath *p,
                              const char *key, int dflt, int *out);
/* Integers within [lo, hi]. */
clenc_status clenc__jget_int(json_t *o, const clenc__jpath *p,
                             const char *key, long long dflt, long long lo,
                             long long hi, long long *out);
clenc_status clenc__jget_number(json_t *o, const clenc__jpath *p,
                                const char *key, double dflt, double *out);

/* obj's "vocab": {token: id} (WordPiece's and BPE's), ids in
 * 0..CLENC__TJ_MAX_VOCAB-1 (several tokens may share one, as tokenizers
 * allows), tokens of at most CLENC__TJ_MAX_TOKEN bytes; a key given twice
 * keeps its last id, as jansson and tokenizers do. Into *dict (initialised
 * here); *count the entries (tokenizers' get_vocab_size), *max_id the
 * largest id, *max_len the longest token's bytes. */
clenc_status clenc__jget_vocab(json_t *obj, const clenc__jpath *p,
                               clenc__dict *dict, size_t *count,
                               int32_t *max_id, size_t *max_len);

/* Bounds on what a tokenizer.json may ask for, checked at load. */
#define CLENC__TJ_MAX_VOCAB (1u << 22)     /* tokens of a model */
#define CLENC__TJ_MAX_TOKEN 1024u          /* bytes of one token or piece */
#define CLENC__TJ_MAX_COMPONENTS 64u       /* entries of one Sequence */
#define CLENC__TJ_MAX_PATTERN 4096u        /* bytes of a regex or string */
#define CLENC__TJ_MAX_WORD 4096u           /* bytes of a word the models cut;
                                              a longer one is cut in chunks */

/* ---------------------------------------------------------- components */

/* Normalizers: s[0..n) -> *out (out is emptied first). */
typedef struct clenc__normalizer clenc__normalizer;
struct clenc__normalizer {
    clenc_status (*run)(const clenc__normalizer *self, const char *s,
                        size_t n, clenc__str *out);
    void (*free)(clenc__normalizer *self);
};

/* Pre-tokenizers: each word of *in split further or rewritten, into *out
 * (out is cleared first; in and out are different). */
typedef struct clenc__pretok clenc__pretok;
struct clenc__pretok {
    clenc_status (*run)(const clenc__pretok *self, const clenc__words *in,
                        clenc__words *out);
    void (*free)(clenc__pretok *self);
};

/* Models: one word (its bytes as pre-tokenized) -> ids appended to *out.
 * id and token look tokens up both ways (token: NULL past the vocabulary;
 * *n its length). */
typedef struct clenc__tmodel clenc__tmodel;
struct clenc__tmodel {
    clenc_status (*run)(const clenc__tmodel *self, const char *s, size_t n,
                        clenc__ids *out);
    int32_t (*id)(const clenc__tmodel *self, const char *token, size_t n);
    size_t vocab_size; /* HF's get_vocab_size: entries of the vocabulary */
    int32_t max_id;    /* the largest id the model can produce */
    void (*free)(clenc__tmodel *self);
};

/* Every parse function: obj is the component's JSON object (its "type"
 * already matched), p its path. */
typedef clenc_status (*clenc__normalizer_parse_fn)(json_t *obj,
                                                  const clenc__jpath *p,
                                                  clenc__normalizer **out);
typedef clenc_status (*clenc__pretok_parse_fn)(json_t *obj,
                                              const clenc__jpath *p,
                                              clenc__pretok **out);
typedef clenc_status (*clenc__tmodel_parse_fn)(json_t *obj,
                                              const clenc__jpath *p,
                                              clenc__tmodel **out);

/* components.c: a normalizer, pre-tokenizer or model from its object, by
 * "type" (Sequence included); a JSON null or absent object gives NULL
 * (none). An unknown type is CLENC_ERR_UNSUPPORTED naming PATH.type. */
clenc_status clenc__normalizer_parse(json_t *obj, const clenc__jpath *p,
                                     clenc__normalizer **out);
clenc_status clenc__pretok_parse(json_t *obj, const clenc__jpath *p,
                                 clenc__pretok **out);
clenc_status clenc__tmodel_parse(json_t *obj, const clenc__jpath *p,
                                 clenc__tmodel **out);

/* normalizers.c */
clenc_status clenc__norm_bert_parse(json_t *, const clenc__jpath *,
                                    clenc__normalizer **);
clenc_status clenc__norm_nfc_parse(json_t *, const clenc__jpath *,
                                   clenc__normalizer **);
clenc_status clenc__norm_nfd_parse(json_t *, const clenc__jpath *,
                                   clenc__normalizer **);
clenc_status clenc__norm_nfkc_parse(json_t *, const clenc__jpath *,
                                    clenc__normalizer **);
clenc_status clenc__norm_nfkd_parse(json_t *, const clenc__jpath *,
                                    clenc__normalizer **);
clenc_status clenc__norm_lowercase_parse(json_t *, const clenc__jpath *,
                                         clenc__normalizer **);
clenc_status clenc__norm_strip_accents_parse(json_t *, const clenc__jpath *,
                                             clenc__normalizer **);
clenc_status clenc__norm_replace_parse(json_t *, const clenc__jpath *,
                                       clenc__normalizer **);
clenc_status clenc__norm_strip_parse(json_t *, const clenc__jpath *,
                                     clenc__normalizer **);
clenc_status clenc__norm_prepend_parse(json_t *, const clenc__jpath *,
                                       clenc__normalizer **);
/* precompiled.c */
clenc_status clenc__norm_precompiled_parse(json_t *, const clenc__jpath *,
                                           clenc__normalizer **);

/* pre_tokenizers.c */
clenc_status clenc__pretok_bert_parse(json_t *, const clenc__jpath *,
                                      clenc__pretok **);
clenc_status clenc__pretok_whitespace_parse(json_t *, const clenc__jpath *,
                                            clenc__pretok **);
clenc_status clenc__pretok_whitespace_split_parse(json_t *,
                                                  const clenc__jpath *,
                                                  clenc__pretok **);
clenc_status clenc__pretok_punctuation_parse(json_t *, const clenc__jpath *,
                                             clenc__pretok **);
clenc_status clenc__pretok_digits_parse(json_t *, const clenc__jpath *,
                                        clenc__pretok **);
/* metaspace.c */
clenc_status clenc__pretok_metaspace_parse(json_t *, const clenc__jpath *,
                                           clenc__pretok **);
/* byte_level.c (with regex.c) */
clenc_status clenc__pretok_byte_level_parse(json_t *, const clenc__jpath *,
                                            clenc__pretok **);
clenc_status clenc__pretok_split_parse(json_t *, const clenc__jpath *,
                                       clenc__pretok **);

/* model_wordpiece.c, model_bpe.c, model_unigram.c */
clenc_status clenc__tmodel_wordpiece_parse(json_t *, const clenc__jpath *,
                                           clenc__tmodel **);
clenc_status clenc__tmodel_bpe_parse(json_t *, const clenc__jpath *,
                                     clenc__tmodel **);
clenc_status clenc__tmodel_unigram_parse(json_t *, const clenc__jpath *,
                                         clenc__tmodel **);

/* ------------------------------------------------ regular expressions */

/* Oniguruma, its own syntax, UTF-8, as `tokenizers` compiles them (regex.c).
 * A compiled expression is read-only and shared by threads. */
typedef struct clenc__regex clenc__regex;
/* A pattern that does not compile is CLENC_ERR_MODEL_FORMAT naming p.key
 * and Oniguruma's message. */
clenc_status clenc__regex_compile(const char *pattern, size_t n,
                                  const clenc__jpath *p, const char *key,
                                  clenc__regex **out);
/* The first match in s[from..n) (s is the whole subject: anchors and look-
 * behind see it): 1 with [*start, *end), 0 if none, -1 on a search failure
 * (Oniguruma's limits). */
int clenc__regex_search(const clenc__regex *re, const char *s, size_t n,
                        size_t from, size_t *start, size_t *end);
void clenc__regex_free(clenc__regex *re);

/* The split behaviours of Split, Punctuation and others (tokenizers'
 * SplitDelimiterBehavior): what becomes of each matched delimiter. */
typedef enum clenc__split_behavior {
    CLENC__SPLIT_REMOVED,
    CLENC__SPLIT_ISOLATED,
    CLENC__SPLIT_MERGED_WITH_PREVIOUS,
    CLENC__SPLIT_MERGED_WITH_NEXT,
    CLENC__SPLIT_CONTIGUOUS
} clenc__split_behavior;

/* "Removed", "Isolated", ... from obj's `key`. */
clenc_status clenc__jget_behavior(json_t *o, const clenc__jpath *p,
                                  const char *key,
                                  clenc__split_behavior dflt,
                                  clenc__split_behavior *out);
/* Splits word s[0..n) at the delimiters [starts[i], ends[i]) (in order,
 * not overlapping) by `behavior`, appending the resulting words to *out
 * (empty pieces are not added, as in tokenizers). `invert`: the
 * delimiters are what is kept, the text between them the delimiters
 * (Split's invert). */
clenc_status clenc__split_word(const char *s, size_t n,
                               const size_t *starts, const size_t *ends,
                               size_t count, int invert,
                               clenc__split_behavior behavior,
                               clenc__words *out);

#endif
