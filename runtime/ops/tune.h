/* tune.h — the tuner's two halves' contract (private: tune.c and tune_measure.c only): what is tuned, a candidate, its measurement. */
#ifndef CLENC_OPS_TUNE_H
#define CLENC_OPS_TUNE_H

#include "ops/ops.h"

/* What is tuned: a context's device, a family and GEMM, and (for tiles)
 * the model's hidden and FFN sizes, which give the GEMMs' shapes. */
typedef struct target {
    clenc_context *ctx;
    clenc__spec *spec;
    unsigned hidden, ffn;
} target;

/* The model's four GEMM shapes (n, k), uploaded with synthetic weights. */
typedef struct shapes {
    clenc__matrix mat[4];
    cl_mem a, c;
} shapes;

#define RUNS 3
/* A candidate replaces the default only when clearly faster: measurements
 * here drift by a few percent, and a tie must keep the default. */
#define MARGIN 0.97

typedef struct candidate {
    clenc_gemm gemm;
    clenc__tunables tune;
    clenc__launcher launcher;
    shapes sh;
    double times[RUNS];
    int open;
} candidate;

/* Times the candidates round-robin (so that drift hits all alike) and
 * returns the index of the fastest by median, and its GFLOP/s at the
 * model's four GEMM shapes for each m of `ms`; 0 (the default) unless
 * another beats it by the margin. */
clenc_status clenc__tune_measure(const target *t, candidate *c, size_t n,
                                 const unsigned *ms, size_t nm, size_t *best,
                                 double *rate);

#endif
