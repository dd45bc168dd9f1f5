/* fuzz_safetensors.c — libFuzzer target: clenc__st_parse over arbitrary bytes, then every accessor over what it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fault.h"
#include "formats/safetensors.h"

/* The input is the whole file. A table the parser accepts must keep its
 * promises: every tensor inside the buffer, names found by clenc__st_find,
 * float dtypes converted and others refused; anything else traps, so the
 * fuzzer reports it. */
static void parse(const uint8_t *data, size_t size, int faulted)
{
    (void)faulted; /* nothing here must succeed */
    clenc__safetensors st;
    if (clenc__st_parse(data, size, "fuzz.safetensors", &st) != CLENC_OK) {
        if (st.tensors || st.count)
            __builtin_trap(); /* a failed parse leaves nothing to free */
        return;
    }
    for (size_t i = 0; i < st.count; i++) {
        const clenc__tensor *t = &st.tensors[i];
        if (t->data < data || t->size > size ||
            (size_t)(t->data - data) > size - t->size)
            __builtin_trap();
        if (clenc__st_find(&st, t->name) == NULL)
            __builtin_trap();
        if (t->dtype == CLENC__F32 || t->dtype == CLENC__F16 ||
            t->dtype == CLENC__BF16) {
            /* count <= size: every element takes at least one byte. */
            float *values = malloc((t->count ? t->count : 1) * sizeof *values);
            if (!values)
                continue;
            if (clenc__st_to_f32(t, values) != CLENC_OK)
                __builtin_trap();
            free(values);
        } else if (clenc__st_to_f32(t, NULL) == CLENC_OK) {
            __builtin_trap(); /* other dtypes must be refused */
        }
        (void)clenc__dtype_name(t->dtype);
    }
    clenc__st_close(&st);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run(parse, data, size);
    return 0;
}
