/* fuzz_fault.h — shared by the fuzz targets: each input runs once clean, then again with one runtime allocation failing, so out-of-memory paths are fuzzed for leaks too. */
#ifndef CLENC_FUZZ_FAULT_H
#define CLENC_FUZZ_FAULT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

/* A target's work on one input; `faulted` says an allocation may have been
 * made to fail, so a success it would otherwise insist on may be
 * CLENC_ERR_OUT_OF_MEMORY instead. */
typedef void (*fuzz_body)(const uint8_t *data, size_t size, int faulted);

/* The clean run counts the fault points (clenc__malloc and friends) it
 * passes; the second run fails one of them, picked by the input's hash, so
 * the fuzzer reaches other failure points by mutating the input. Only the
 * runtime's allocations count: jansson, utf8proc and the target's own
 * malloc calls never fail. */
static inline void fuzz_run(fuzz_body body, const uint8_t *data, size_t size)
{
    clenc__fault_arm(LONG_MAX);
    body(data, size, 0);
    long points = clenc__fault_passed();
    clenc__fault_arm(0);
    if (points <= 0)
        return;
    uint64_t h = clenc__fnv1a(CLENC__FNV_SEED, data, size);
    clenc__fault_arm(1 + (long)(h % (uint64_t)points));
    body(data, size, 1);
    clenc__fault_arm(0);
}

#endif
