/* bench_pool.h — clenc-bench --pool: texts/s of each device alone and of a pool of them, and the ratio. */
#ifndef CLENC_BENCH_POOL_H
#define CLENC_BENCH_POOL_H

#include "clenc.h"

typedef struct pool_bench {
    const char *model_path, *spec; /* spec: as clenc_pool_create takes it */
    clenc_precision precision;
    unsigned texts, max_batch, max_seq, runs, warmup;
    int json;
} pool_bench;

/* Measures and prints; returns the exit status. */
int bench_pool(const pool_bench *b);

#endif
