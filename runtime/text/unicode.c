/* unicode.c — character classes and case mapping as Hugging Face tokenizers' Rust code sees them, from utf8proc's tables. */
#include <utf8proc.h>

#include "text/unicode.h"

enum clenc__bert_clean clenc__bert_clean(int32_t c)
{
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        return CLENC__CLEAN_SPACE;
    if (c < 0x80)
        return c < 0x20 || c == 0x7F ? CLENC__CLEAN_DROP : CLENC__CLEAN_KEEP;
    if (c == 0xFFFD)
        return CLENC__CLEAN_DROP;
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO:
        return CLENC__CLEAN_DROP;
    default:
        /* The White_Space characters left once controls are gone: Zs, Zl
         * and Zp are exactly those. */
        return clenc__is_white_space(c) ? CLENC__CLEAN_SPACE
                                        : CLENC__CLEAN_KEEP;
    }
}

int clenc__is_bert_cjk(int32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

int clenc__is_punct(int32_t c)
{
    if (c < 0x80)
        return (c >= 33 && c <= 47) || (c >= 58 && c <= 64) ||
               (c >= 91 && c <= 96) || (c >= 123 && c <= 126);
    utf8proc_category_t cat = utf8proc_category(c);
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

/* The property's list, fixed since Unicode 6.3 (U+180E left it then). */
int clenc__is_white_space(int32_t c)
{
    if (c < 0x80)
        return c == ' ' || (c >= 0x09 && c <= 0x0D);
    return c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

int clenc__is_numeric(int32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_ND || cat == UTF8PROC_CATEGORY_NL ||
           cat == UTF8PROC_CATEGORY_NO;
}

/* Alphabetic is L*, Nl and Other_Alphabetic; Other_Alphabetic is marks
 * (in \w anyway) but for the circled and squared Latin letters, category
 * So, listed here (PropList.txt, unchanged since Unicode 6.1). */
int clenc__is_word_char(int32_t c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '_';
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_PC:
        return 1;
    default:
        return c == 0x200C || c == 0x200D || (c >= 0x24B6 && c <= 0x24E9) ||
               (c >= 0x1F130 && c <= 0x1F149) ||
               (c >= 0x1F150 && c <= 0x1F169) ||
               (c >= 0x1F170 && c <= 0x1F189);
    }
}

int clenc__is_nonspacing_mark(int32_t c)
{
    return c >= 0x300 && utf8proc_category(c) == UTF8PROC_CATEGORY_MN;
}

int clenc__is_mark(int32_t c)
{
    if (c < 0x300)
        return 0;
    utf8proc_category_t cat = utf8proc_category(c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
           cat == UTF8PROC_CATEGORY_ME;
}

size_t clenc__lowercase(int32_t c, int32_t out[2])
{
    if (c < 0x80) {
        out[0] = c >= 'A' && c <= 'Z' ? c + 32 : c;
        return 1;
    }
    if (c == 0x130) {
        out[0] = 'i';
        out[1] = 0x307;
        return 2;
    }
    out[0] = utf8proc_tolower(c);
    return 1;
}
