/* blas_peers.h — clenc-bench-gemm's peers: OpenBLAS on the newest kernels the CPU runs, and oneDNN. */
#ifndef CLENC_BLAS_PEERS_H
#define CLENC_BLAS_PEERS_H

#include <stddef.h>

typedef struct blas_peers {
    char cpu[128];          /* "model name" of /proc/cpuinfo */
    const char *openblas;   /* openblas_get_config() */
    const char *core;       /* openblas_get_corename(): the kernels it runs */
    char detected[32];      /* the core OpenBLAS chose itself */
    int forced;             /* core set through OPENBLAS_CORETYPE, and taken */
    char onednn[32];        /* dnnl_version(): "2.6.3" */
} blas_peers;

/* When OpenBLAS chose older kernels than the CPU runs (SkylakeX with
 * AVX-512, Haswell with AVX2 and FMA), runs this program again in its
 * place with OPENBLAS_CORETYPE set, once: the variable is read when the
 * library loads. Returns in the process that benchmarks, p filled, both
 * libraries' threads set to `threads` (0: their defaults), a line on
 * stderr saying which core was detected and which forced. */
void blas_peers_init(char **argv, const char *prog, unsigned threads,
                     blas_peers *p);

/* C[m][n] = A[m][k] · Wᵀ, W [n][k], row-major: cblas_sgemm, dnnl_sgemm
 * (0 when it ran). */
void peer_openblas(unsigned m, unsigned n, unsigned k, const float *a,
                   const float *w, float *c);
int peer_onednn(unsigned m, unsigned n, unsigned k, const float *a,
                const float *w, float *c);

/* max |got - want| / max |want| over n values; NaN counts as infinite. */
double peer_rel_diff(const float *got, const float *want, size_t n);

#endif
