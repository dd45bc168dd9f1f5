/* unicode.h — character classes and case mapping as Hugging Face tokenizers' Rust code sees them, from utf8proc's tables (vocab.txt's WordPiece and tokenizer.json's components share them). */
#ifndef CLENC_UNICODE_H
#define CLENC_UNICODE_H

#include <stddef.h>
#include <stdint.h>

/* Every function takes a valid code point (0..0x10FFFF, no surrogate).
 * Where the Rust side reads a table of another Unicode version, the
 * answers differ for the characters that version changed; tokenizer.c's
 * opening comment counts them. */

/* BertNormalizer's clean_text, one character: NUL, U+FFFD and controls
 * (Cc, Cf, Co, Cs other than \t \n \r) are dropped; White_Space becomes a
 * space; the rest is kept. Control is tested first, so \v, \f and U+0085
 * go. Unassigned code points stay, as HF's tables keep them. */
enum clenc__bert_clean {
    CLENC__CLEAN_KEEP,
    CLENC__CLEAN_DROP,
    CLENC__CLEAN_SPACE
};
enum clenc__bert_clean clenc__bert_clean(int32_t c);

/* BertNormalizer's is_chinese_char: the CJK ideograph blocks it names. */
int clenc__is_bert_cjk(int32_t c);

/* BertPreTokenizer's and Punctuation's is_punc: ASCII punctuation (which
 * counts $ + < = > ^ ` | ~ too) or any P* category. */
int clenc__is_punct(int32_t c);

/* Rust's char::is_whitespace: the White_Space property (also regex's \s). */
int clenc__is_white_space(int32_t c);

/* Rust's char::is_numeric: categories Nd, Nl, No. */
int clenc__is_numeric(int32_t c);

/* The regex crate's Unicode \w: Alphabetic, Mark, Nd, Pc, Join_Control. */
int clenc__is_word_char(int32_t c);

/* Category Mn (BertNormalizer's strip_accents), or any M* (StripAccents). */
int clenc__is_nonspacing_mark(int32_t c);
int clenc__is_mark(int32_t c);

/* Rust's char::to_lowercase: the simple mapping, plus the one
 * unconditional multi-character mapping, U+0130 -> "i\u0307". No final
 * sigma context: tokenizers maps char by char. Returns the count (1, 2). */
size_t clenc__lowercase(int32_t c, int32_t out[2]);

#endif
