/* fuzz_container.c — libFuzzer target: clenc__container_parse (the parser only, no OpenCL) over arbitrary bytes, and the serializer's round trip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fault.h"
#include "cl/cl.h"

/* A container the parser accepts must serialize back to the same bytes. */
static void parse_one(const uint8_t *data, size_t size, int faulted)
{
    clenc__container c;
    if (clenc__container_parse(data, size, "fuzz.clbin", &c) != CLENC_OK) {
        if (c.programs || c.count || c.library_version || c.device_name ||
            c.driver_version)
            __builtin_trap(); /* a failed parse leaves nothing to free */
        return;
    }
    if (c.count == 0 || !c.library_version || !c.device_name ||
        !c.driver_version)
        __builtin_trap();
    unsigned char *out = NULL;
    size_t out_size = 0;
    if (clenc__container_serialize(&c, &out, &out_size) == CLENC_OK) {
        if (out_size != size || memcmp(out, data, size) != 0)
            __builtin_trap();
        clenc__free(out);
    } else if (!faulted || out) {
        __builtin_trap();
    }
    clenc__container_free(&c);
}

static void le_put(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        p[i] = (uint8_t)v;
}

/* A fuzzer cannot guess a 64-bit checksum, so each input is parsed twice:
 * as it is (the header checks), and with the header's payload size and
 * FNV-1a checksum set to match its bytes (everything past the checksum). */
static void parse(const uint8_t *data, size_t size, int faulted)
{
    parse_one(data, size, faulted);
    if (size < CLENC__CONTAINER_HEADER)
        return;
    uint8_t *fixed = malloc(size);
    if (!fixed)
        return;
    memcpy(fixed, data, size);
    size_t payload = size - CLENC__CONTAINER_HEADER;
    le_put(fixed + 16, payload, 8);
    le_put(fixed + 24,
           clenc__fnv1a(CLENC__FNV_SEED, fixed + CLENC__CONTAINER_HEADER,
                        payload),
           8);
    parse_one(fixed, size, faulted);
    free(fixed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_run(parse, data, size);
    return 0;
}
