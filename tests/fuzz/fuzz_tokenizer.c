/* fuzz_tokenizer.c — libFuzzer target: clenc__tokenize over arbitrary bytes as text (and text pair), and as one text with its length, with the MiniLM vocabulary. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fault.h"
#include "text/tokenizer.h"

/* The vocabulary is the committed fixture; the Makefile passes its absolute
 * path, and CLENC_FUZZ_VOCAB overrides it (a binary run from elsewhere). */
#ifndef CLENC_FUZZ_VOCAB
#define CLENC_FUZZ_VOCAB "tests/fixtures/minilm_vocab.txt"
#endif

/* Every combination of lower-casing and accent stripping (the first is HF's
 * default), the last with CJK not split. Loaded once; never freed. */
#define SETTINGS 4
static clenc__tokenizer *tokenizers[SETTINGS];
static int32_t cls_id[SETTINGS], sep_id[SETTINGS];
static size_t vocab_size[SETTINGS];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("CLENC_FUZZ_VOCAB");
    if (!path)
        path = CLENC_FUZZ_VOCAB;
    for (int k = 0; k < SETTINGS; k++) {
        clenc__tokenizer_options opt;
        clenc__tokenizer_options_init(&opt);
        if (k == 1) { /* lower-cased, accents kept: 'İ' -> "i\u0307" */
            opt.strip_accents = 0;
        } else if (k == 2) { /* cased, accents kept */
            opt.lowercase = 0;
            opt.strip_accents = 0;
        } else if (k == 3) { /* cased but accents stripped, CJK unsplit */
            opt.lowercase = 0;
            opt.strip_accents = 1;
            opt.chinese_chars = 0;
        }
        if (clenc__tokenizer_load(path, &opt, &tokenizers[k]) != CLENC_OK) {
            fprintf(stderr, "fuzz_tokenizer: %s\n", clenc_last_error());
            exit(1);
        }
        cls_id[k] = clenc__tokenizer_token_id(tokenizers[k], "[CLS]");
        sep_id[k] = clenc__tokenizer_token_id(tokenizers[k], "[SEP]");
        vocab_size[k] = clenc__tokenizer_vocab_size(tokenizers[k]);
    }
    return 0;
}

static int valid_utf8(const char *s)
{
    size_t n = strlen(s);
    return clenc__utf8_invalid_at((const unsigned char *)s, n) == n;
}

/* Tokenizes with capacity max_len into fresh arrays of exactly that size (so
 * ASan sees a write past it) and checks the shape of the result: [CLS] first,
 * [SEP] last, ids in the vocabulary, type ids 0 then 1. Returns n, or 0 when
 * the text was refused as invalid UTF-8 (the only refusal allowed, but for
 * running out of memory when `faulted`). */
static size_t tokenize_checked(int k, const char *text, const char *pair,
                               size_t max_len, int faulted, int32_t **ids_out)
{
    int32_t *ids = malloc(max_len * sizeof *ids);
    int32_t *type_ids = malloc(max_len * sizeof *type_ids);
    size_t n = 0;
    if (!ids || !type_ids)
        abort();
    clenc_status st = clenc__tokenize(tokenizers[k], text, pair, max_len, ids,
                                      type_ids, &n);
    if (st == CLENC_ERR_INVALID_ARG) {
        if (valid_utf8(text) && (!pair || valid_utf8(pair)))
            __builtin_trap(); /* refused valid text */
        n = 0;
        goto out;
    }
    if (faulted && st == CLENC_ERR_OUT_OF_MEMORY) {
        n = SIZE_MAX;
        goto out;
    }
    if (st != CLENC_OK || n < (pair ? 3u : 2u) || n > max_len ||
        ids[0] != cls_id[k] || ids[n - 1] != sep_id[k] || type_ids[0] != 0 ||
        type_ids[n - 1] != (pair ? 1 : 0))
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || (size_t)ids[i] >= vocab_size[k] ||
            (type_ids[i] != 0 && type_ids[i] != 1) ||
            (i > 0 && type_ids[i] < type_ids[i - 1]))
            __builtin_trap();
    }
out:
    free(type_ids);
    *ids_out = ids;
    return n;
}

/* The whole input as one text with its length: a NUL byte in it is a
 * control character like U+0001, dropped while normalising (and, like it,
 * never part of a special token), so the ids must be those of the input
 * with each NUL made U+0001, as a C string. */
static void nul_is_a_control_character(const uint8_t *data, size_t size,
                                       int faulted)
{
    char *swapped = malloc(size + 1);
    size_t cap = 4 * size + 8, n_len = 0, n_str = 0;
    int32_t *with = malloc(cap * sizeof *with);
    int32_t *without = malloc(cap * sizeof *without);
    if (!swapped || !with || !without)
        abort();
    for (size_t i = 0; i < size; i++)
        swapped[i] = data[i] ? (char)data[i] : '\x01';
    swapped[size] = '\0';
    clenc_status a = clenc__tokenize_n(tokenizers[0], (const char *)data, size,
                                       NULL, 0, cap, with, NULL, &n_len);
    clenc_status b = clenc__tokenize(tokenizers[0], swapped, NULL, cap,
                                     without, NULL, &n_str);
    if (a == CLENC_OK && b == CLENC_OK &&
        (n_len != n_str || memcmp(with, without, n_len * sizeof *with) != 0))
        __builtin_trap();
    if ((a == CLENC_OK) != (b == CLENC_OK) && !faulted)
        __builtin_trap();
    free(without);
    free(with);
    free(swapped);
}

/* Input: the text, then optionally a NUL byte and the pair (up to the next
 * NUL). Each text is tokenized with room to spare and again with a small
 * max_len; a single text truncated must be a prefix of the untruncated one. */
static void tokenize_all(const uint8_t *data, size_t size, int faulted)
{
    char *text = malloc(size + 1);
    if (!text)
        return;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *nul = memchr(text, '\0', size);
    const char *pair = nul ? nul + 1 : NULL;
    /* A code point becomes at most a few pieces: 4 per byte is room. */
    size_t roomy = 4 * size + 8, small = (pair ? 3 : 2) + size % 8;
    for (int k = 0; k < SETTINGS; k++) {
        int32_t *full = NULL, *cut = NULL;
        size_t n_full = tokenize_checked(k, text, pair, roomy, faulted, &full);
        size_t n_cut = tokenize_checked(k, text, pair, small, faulted, &cut);
        int out_of_memory = n_full == SIZE_MAX || n_cut == SIZE_MAX;
        if (!out_of_memory && (n_full == 0) != (n_cut == 0))
            __builtin_trap();
        if (!out_of_memory && !pair && n_full) {
            /* [CLS] a.. [SEP]: the kept pieces are the first ones. */
            size_t pieces_full = n_full - 2, pieces_cut = n_cut - 2;
            size_t want = pieces_full < small - 2 ? pieces_full : small - 2;
            if (n_full == roomy || pieces_cut != want ||
                memcmp(full + 1, cut + 1, pieces_cut * sizeof *cut) != 0)
                __builtin_trap();
        }
        free(full);
        free(cut);
    }
    free(text);
    nul_is_a_control_character(data, size, faulted);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run(tokenize_all, data, size);
    return 0;
}
