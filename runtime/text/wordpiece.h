/* wordpiece.h — inside the WordPiece tokenizer: its tables and one tokenization run, shared by tokenizer.c and wordpiece.c only. */
#ifndef CLENC_WORDPIECE_H
#define CLENC_WORDPIECE_H

#include "text/tokenizer.h"

/* HF's max_input_chars_per_word: a longer word is [UNK]. */
#define MAX_WORD_CHARS 100
#define CONT_PREFIX "##"
#define CONT_PREFIX_LEN 2
/* Room for one code point's canonical decomposition (Unicode needs 4). */
#define MAX_DECOMPOSITION 8

enum { SPECIAL_CLS, SPECIAL_SEP, SPECIAL_UNK, SPECIAL_PAD, SPECIAL_MASK,
       SPECIAL_COUNT };

struct clenc__tokenizer {
    struct clenc__tj *json; /* tokenizer.json's pipeline; NULL: vocab.txt's */
    clenc__vocab vocab;
    int lowercase, strip_accents, chinese_chars;
    char *special[SPECIAL_COUNT]; /* NULL: no such token (mask only) */
    size_t special_len[SPECIAL_COUNT];
    int32_t special_id[SPECIAL_COUNT];
    unsigned char special_start[256]; /* bytes a special token starts with */
};

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

/* Appends the pieces of s[0..n) to r->ids until r->limit pieces, special
 * tokens split out of the raw text first, then normalised, split and
 * WordPiece'd character by character (wordpiece.c). */
void clenc__wordpiece_run(run *r, const unsigned char *s, size_t n);

#endif
