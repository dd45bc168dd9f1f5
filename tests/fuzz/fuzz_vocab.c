/* fuzz_vocab.c — libFuzzer target: the vocabulary parser (clenc__tokenizer_load_mem, default options) over arbitrary vocab.txt bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fault.h"
#include "text/tokenizer.h"

/* Every line of an accepted vocabulary must be found again, with the id of
 * its last occurrence (HF's dict keeps the later line). */
static void check_lines(const clenc__vocab *v, const char *data, size_t size)
{
    size_t start = 0, line = 0;
    while (start < size) {
        const char *nl = memchr(data + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - data) : size;
        size_t len = end - start;
        if (len > 0 && data[start + len - 1] == '\r')
            len--;
        int32_t id = clenc__vocab_find(v, "", 0, data + start, len);
        if (id < (int32_t)line || (size_t)id >= v->lines ||
            len > v->max_token_len)
            __builtin_trap();
        start = end + 1;
        line++;
    }
    if (line != v->lines)
        __builtin_trap();
}

static void parse(const uint8_t *data, size_t size, int faulted)
{
    const char *text = (const char *)data;
    clenc__vocab v;
    if (clenc__vocab_parse(text, size, "fuzz-vocab.txt", &v) == CLENC_OK) {
        check_lines(&v, text, size);
        clenc__vocab_free(&v);
    } else if (v.text || v.slots) {
        __builtin_trap(); /* a failed parse leaves nothing to free */
    }

    clenc__tokenizer *tok = NULL;
    if (clenc__tokenizer_load_mem(text, size, "fuzz-vocab.txt", NULL, &tok) !=
        CLENC_OK) {
        if (tok)
            __builtin_trap();
        return;
    }
    /* The specials were found, so tokenizing must work: the vocabulary's
     * own bytes (valid UTF-8, no NUL) as text, and a fixed sentence. */
    char *copy = malloc(size + 1);
    int32_t ids[64], type_ids[64];
    size_t n;
    if (copy) {
        memcpy(copy, data, size);
        copy[size] = '\0';
        if (clenc__tokenize(tok, copy, "a [MASK] b", 64, ids, type_ids, &n) !=
                CLENC_OK &&
            !faulted)
            __builtin_trap();
        free(copy);
    }
    clenc_status st = clenc__tokenize(tok, "Hello, world! Ünïcödé 中文 ##ing [UNK]",
                                      NULL, 64, ids, type_ids, &n);
    if (st != CLENC_OK && !faulted)
        __builtin_trap();
    for (size_t i = 0; st == CLENC_OK && i < n; i++)
        if (ids[i] < 0 || (size_t)ids[i] >= clenc__tokenizer_vocab_size(tok))
            __builtin_trap();
    clenc__tokenizer_free(tok);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run(parse, data, size);
    return 0;
}
