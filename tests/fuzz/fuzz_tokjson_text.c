/* fuzz_tokjson_text.c — libFuzzer target: arbitrary bytes as text (and pair) through each committed tokenizer.json fixture: WordPiece, byte-level BPE, both Unigrams. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fault.h"
#include "text/tokenizer.h"

#ifndef CLENC_FUZZ_FIXTURES
#define CLENC_FUZZ_FIXTURES "tests/fixtures/tokjson"
#endif

static const char *const names[] = {"wordpiece", "bpe_bytelevel",
                                    "unigram_spm", "unigram_hf"};
#define COUNT (sizeof names / sizeof names[0])
static clenc__tokenizer *tokenizers[COUNT];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("CLENC_FUZZ_FIXTURES");
    if (!dir)
        dir = CLENC_FUZZ_FIXTURES;
    for (size_t k = 0; k < COUNT; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/tokenizer.json", dir, names[k]);
        if (clenc__tokenizer_load_json(path, &tokenizers[k]) != CLENC_OK) {
            fprintf(stderr, "fuzz_tokjson_text: %s\n", clenc_last_error());
            exit(1);
        }
    }
    return 0;
}

/* One text (and pair) at one max_len into arrays of exactly that size (so
 * ASan sees a write past it); invalid UTF-8 is the only refusal but for a
 * failed allocation. The result: within max_len, ids in the vocabulary,
 * type ids 0 to 2 (the fixtures' templates: BERT's 0 and 1, XLNet's 2). */
static void check(const clenc__tokenizer *tok, const char *text, size_t tn,
                  const char *pair, size_t pn, size_t max_len, int faulted)
{
    int32_t *ids = malloc(max_len * sizeof *ids), *types = malloc(max_len * sizeof *types);
    if (!ids || !types)
        abort();
    size_t n = 0;
    clenc_status st = clenc__tokenize_n(tok, text, tn, pair, pn, max_len, ids,
                                        types, &n);
    if (st == CLENC_OK) {
        if (n > max_len)
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 ||
                (size_t)ids[i] >= clenc__tokenizer_vocab_size(tok) ||
                types[i] < 0 || types[i] > 2)
                __builtin_trap();
    } else if (st != CLENC_ERR_INVALID_ARG &&
               !(faulted && st == CLENC_ERR_OUT_OF_MEMORY)) {
        __builtin_trap();
    }
    free(ids);
    free(types);
}

/* Input: the text, then optionally a NUL byte and the pair. */
static void body(const uint8_t *data, size_t size, int faulted)
{
    const char *s = (const char *)data;
    const char *nul = memchr(s, '\0', size);
    const size_t tn = nul ? (size_t)(nul - s) : size;
    const char *pair = nul ? nul + 1 : NULL;
    const size_t pn = nul ? size - tn - 1 : 0;
    for (size_t k = 0; k < COUNT; k++) {
        check(tokenizers[k], s, tn, NULL, 0, 4096, faulted);
        check(tokenizers[k], s, tn, pair, pn, 7, faulted);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run(body, data, size);
    return 0;
}
