/* fuzz_tokenizer_json.c — libFuzzer target: arbitrary bytes as a tokenizer.json (structure), loaded and, when accepted, run over fixed texts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fault.h"
#include "text/tokenizer.h"

/* Texts that reach every stage: added tokens, normalisers (accents, case,
 * full-width, spaces), pre-tokenizers (punctuation, digits, bytes), the
 * models' unknown and byte-fallback paths, and a pair for truncation. */
static const char *const texts[] = {
    "", " ", "Hello, World! 123 ",  "naïve Ｃａｆé ﬁ ① [MASK] <s> ▁x",
    "ǅemo\t\n 你好 😀‍👍 \xC2\x85 ab'll", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};

static void check(const clenc__tokenizer *tok, const char *text,
                  const char *pair, size_t max_len, int faulted)
{
    int32_t *ids = malloc(max_len * sizeof *ids), *types = malloc(max_len * sizeof *types);
    if (!ids || !types)
        abort();
    size_t n = 0;
    clenc_status st = clenc__tokenize(tok, text, pair, max_len, ids, types, &n);
    /* Refusals allowed: a max_len below the template's specials, and out
     * of memory when an allocation was failed; and a model that can yield
     * no id for a piece (no unk) is a model error. Nothing else. */
    if (st == CLENC_OK) {
        const size_t top = clenc__tokenizer_vocab_size(tok);
        if (n > max_len)
            __builtin_trap();
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= top || types[i] < 0)
                __builtin_trap();
    } else if (st != CLENC_ERR_INVALID_ARG && st != CLENC_ERR_MODEL_FORMAT &&
               st != CLENC_ERR_UNSUPPORTED &&
               !(faulted && st == CLENC_ERR_OUT_OF_MEMORY)) {
        __builtin_trap();
    }
    free(ids);
    free(types);
}

static void body(const uint8_t *data, size_t size, int faulted)
{
    clenc__tokenizer *tok = NULL;
    if (clenc__tokenizer_load_json_mem((const char *)data, size, "fuzz", &tok) !=
        CLENC_OK)
        return;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        check(tok, texts[i], NULL, 64, faulted);
        check(tok, texts[i], texts[(i + 1) % 6], 9, faulted);
    }
    clenc__tokenizer_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run(body, data, size);
    return 0;
}
