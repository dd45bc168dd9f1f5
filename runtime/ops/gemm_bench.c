/* gemm_bench.c — clenc_gemm_bench_*: the GEMM op alone on a launcher of its own, at one shape, for benchmarks. */
#include <string.h>

#include "ops/ops.h"

struct clenc_gemm_bench {
    clenc__launcher launcher;
    clenc__matrix w;
    cl_mem a, c;
    unsigned m;
};

void clenc_gemm_bench_destroy(clenc_gemm_bench *b)
{
    if (!b)
        return;
    clenc_context *ctx = b->launcher.ctx;
    clenc__launcher_close(&b->launcher); /* waits for the queue first */
    clenc__matrix_release(ctx, &b->w);
    clenc__buffer_release(ctx, b->a);
    clenc__buffer_release(ctx, b->c);
    clenc__free(b);
}

clenc_status clenc_gemm_bench_create(clenc_context *ctx, unsigned m,
                                     unsigned n, unsigned k, const float *a,
                                     const float *w, clenc_gemm_bench **out)
{
    clenc_status st;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_gemm_bench_create: out is NULL");
    *out = NULL;
    if (!ctx || !a || !w || !m || !n || !k || m > (1u << 24) ||
        n > (1u << 20) || k > (1u << 20))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_gemm_bench_create: a NULL argument, or m %u, "
                           "n %u, k %u outside 1..2^24, 1..2^20, 1..2^20",
                           m, n, k);
    clenc_gemm_bench *b = clenc__calloc(1, sizeof *b);
    if (!b)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    /* A benchmark measures a given choice: the tiles of $CLENC_GEMM_TILE
     * or the defaults, the GEMM the context names (own when AUTO). */
    clenc__spec s = {.family = ctx->variant, .gemm = ctx->gemm};
    TRY(clenc__tune_fixed(ctx, &s), out_destroy);
    cl_program programs[CLENC__FILE_COUNT];
    const unsigned file = s.gemm == CLENC_GEMM_OWN ? CLENC__F_GEMM
                                                   : CLENC__F_EPILOGUE;
    TRY(clenc__programs_get(ctx, &s, 1u << file, NULL, programs, NULL),
        out_destroy);
    TRY(clenc__launcher_open(&b->launcher, ctx, &s, programs, NULL),
        out_destroy);
    b->m = m;
    TRY(clenc__matrix_upload(ctx, s.gemm, CLENC_PRECISION_FP32, w, NULL, n, k, "benchmark weights",
                             &b->w, NULL),
        out_destroy);
    TRY(clenc__buffer_create(ctx, (size_t)m * k * sizeof *a,
                             CL_MEM_READ_ONLY, "benchmark A", &b->a),
        out_destroy);
    TRY(clenc__buffer_create(ctx, (size_t)m * n * sizeof *a,
                             CL_MEM_READ_WRITE, "benchmark C", &b->c),
        out_destroy);
    TRY(clenc__buffer_upload(b->launcher.queue, b->a, 0,
                             (size_t)m * k * sizeof *a, a),
        out_destroy);
    *out = b;
    return CLENC_OK;
out_destroy:
    clenc_gemm_bench_destroy(b);
    return st;
}

clenc_status clenc_gemm_bench_run(clenc_gemm_bench *b, unsigned calls,
                                  double *ms)
{
    clenc_status st = CLENC_OK;
    if (!b || !ms)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_gemm_bench_run: %s is NULL",
                           b ? "ms" : "bench");
    const uint64_t t0 = clenc__now_ns();
    for (unsigned i = 0; i < calls; i++) {
        clenc__launches_reset(&b->launcher);
        TRY(clenc__op_gemm(&b->launcher, &b->w, b->a, b->m, b->c, NULL, 0),
            out);
    }
    CL_CHECK(clFinish(b->launcher.queue), out);
    *ms = (clenc__now_ns() - t0) / 1e6;
out:
    return st;
}

clenc_gemm clenc_gemm_bench_gemm(const clenc_gemm_bench *b)
{
    return b ? b->launcher.spec.gemm : CLENC_GEMM_AUTO;
}

clenc_status clenc_gemm_bench_read(clenc_gemm_bench *b, float *c)
{
    if (!b || !c)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_gemm_bench_read: %s is NULL",
                           b ? "c" : "bench");
    return clenc__buffer_download(b->launcher.queue, b->c, 0,
                                  (size_t)b->m * b->w.n * sizeof *c, c);
}
