/* tokenizer.h — tokenization equal id for id to Hugging Face's: vocab.txt's BERT WordPiece, or any tokenizer.json clenc has the components of. */
#ifndef CLENC_TOKENIZER_H
#define CLENC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

typedef struct clenc__tokenizer clenc__tokenizer;

typedef struct clenc__tokenizer_options {
    int lowercase;     /* do_lower_case */
    int strip_accents; /* -1: follow lowercase (HF's None), 0: no, 1: yes */
    int chinese_chars; /* tokenize_chinese_chars: CJK ideographs split out */
    /* Special-token strings; their ids are looked up in the vocabulary.
     * Like HF's added tokens, each is also matched as-is in the raw text
     * ("a [MASK] b"). mask may be NULL (none); the others may not. */
    const char *cls, *sep, *unk, *pad, *mask;
} clenc__tokenizer_options;

/* HF defaults: lower-case, accents follow lower-case, CJK split,
 * [CLS] [SEP] [UNK] [PAD] [MASK]. */
void clenc__tokenizer_options_init(clenc__tokenizer_options *opt);

/* Reads a vocab.txt (one token a line, id = line number). A special token
 * missing from the vocabulary is CLENC_ERR_MODEL_FORMAT naming it. */
clenc_status clenc__tokenizer_load(const char *vocab_path,
                                   const clenc__tokenizer_options *opt,
                                   clenc__tokenizer **out);
/* The same from bytes in memory (fuzzing, tests). */
clenc_status clenc__tokenizer_load_mem(const char *vocab, size_t size,
                                       const char *origin,
                                       const clenc__tokenizer_options *opt,
                                       clenc__tokenizer **out);
/* Reads a Hugging Face tokenizer.json (tokenizer_json.h says what it
 * runs); the same from its text in memory. */
clenc_status clenc__tokenizer_load_json(const char *path,
                                        clenc__tokenizer **out);
clenc_status clenc__tokenizer_load_json_mem(const char *text, size_t size,
                                            const char *origin,
                                            clenc__tokenizer **out);
void clenc__tokenizer_free(clenc__tokenizer *tok);

size_t clenc__tokenizer_vocab_size(const clenc__tokenizer *tok);
int32_t clenc__tokenizer_token_id(const clenc__tokenizer *tok,
                                  const char *token); /* -1 if absent */

/* [CLS] text [SEP] (text_pair [SEP]) — or what tokenizer.json's
 * post-processor adds — truncated to max_len tokens the way HF's
 * longest_first strategy does, into ids/type_ids (capacity max_len;
 * type_ids may be NULL). text_pair NULL: no pair; "": an empty second
 * segment. Any thread. Invalid UTF-8 is CLENC_ERR_INVALID_ARG naming the
 * byte offset. */
clenc_status clenc__tokenize(const clenc__tokenizer *tok, const char *text,
                             const char *text_pair, size_t max_len,
                             int32_t *ids, int32_t *type_ids, size_t *n);
/* The same with lengths: text is text_len bytes (NULL if 0), NUL bytes
 * inside dropped as control characters; text_pair NULL means no pair. A
 * text is read no further than truncation needs. */
clenc_status clenc__tokenize_n(const clenc__tokenizer *tok, const char *text,
                               size_t text_len, const char *text_pair,
                               size_t pair_len, size_t max_len, int32_t *ids,
                               int32_t *type_ids, size_t *n);

/* Bytes of text the calling thread's tokenize calls have read to tokenize
 * (validation aside): tests bound the work with it. */
size_t clenc__tokenize_bytes_read(void);

/* ------------------------------------ vocabulary table (tokenizer_vocab.c) */

typedef struct clenc__vocab_slot clenc__vocab_slot;

/* vocab.txt in an open-addressing hash table; token id = line index. */
typedef struct clenc__vocab {
    char *text; /* the file's bytes; tokens are slices of it */
    clenc__vocab_slot *slots;
    size_t slot_mask;
    size_t lines;         /* ids run 0 .. lines - 1 */
    size_t max_token_len; /* in bytes */
    uint64_t key[2];      /* SipHash key, random per table */
} clenc__vocab;

/* Strict parse (no NUL bytes, valid UTF-8, not empty); `origin` names the
 * file in messages. A token on two lines keeps the later line's id. */
clenc_status clenc__vocab_parse(const char *data, size_t size,
                                const char *origin, clenc__vocab *out);
/* Id of prefix followed by s (no copy is made), or -1. */
int32_t clenc__vocab_find(const clenc__vocab *v, const char *prefix,
                          size_t plen, const char *s, size_t n);
void clenc__vocab_free(clenc__vocab *v);
/* No lookup visits more slots than this, whatever the vocabulary holds. */
#define CLENC__VOCAB_MAX_PROBES 64
/* The most slots any stored token's lookup visits (tests). */
size_t clenc__vocab_max_probes(const clenc__vocab *v);
/* Offset of the first byte that starts no valid UTF-8 sequence, or n. */
size_t clenc__utf8_invalid_at(const unsigned char *s, size_t n);

#endif
