/* bench-gemm.c — clenc's GEMM against OpenBLAS sgemm at the encoder's shapes, interleaved in one run (make bench). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "cli.h"

#define PROG "clenc-bench-gemm"

static const char usage[] =
    "usage: " PROG " [--threads T] [--runs N] [--m LIST] [--json]\n"
    "       (CLENC_GEMM, CLENC_GEMM_TILE and CLENC_DEVICE apply)\n"
    "\n"
    "Times clenc's GEMM (the model's dispatch: own kernel or CLBlast, as\n"
    "CLENC_GEMM says) and OpenBLAS cblas_sgemm with T threads on C = A·Wᵀ\n"
    "at the encoders' shapes: (N, K) of all-MiniLM-L6-v2 and BERT-base, M in\n"
    "16,128,512,4096; runs interleaved, medians reported. A run is a chain of\n"
    "calls (enough for about 20 ms): clenc's are enqueued back to back and\n"
    "waited for once, as in an encoder pass; OpenBLAS's are called in turn.\n";

/* (N, K) of the QKV, output, FFN-up and FFN-down GEMMs. */
static const unsigned shapes[][2] = {{1152, 384}, {384, 384}, {1536, 384},
                                     {384, 1536}, {2304, 768}, {768, 768},
                                     {3072, 768}, {768, 3072}};

typedef struct result {
    unsigned m, n, k;
    double clenc_gflops, blas_gflops;
} result;

static clenc_status time_shape(clenc_context *ctx, unsigned m, unsigned n,
                               unsigned k, unsigned runs, result *r,
                               clenc_gemm *gemm)
{
    clenc_status st = CLENC_OK;
    float *a = malloc((size_t)m * k * sizeof *a), *w = malloc((size_t)n * k * sizeof *w);
    float *c = malloc((size_t)m * n * sizeof *c);
    double *tc = malloc(runs * sizeof *tc), *tb = malloc(runs * sizeof *tb);
    clenc_gemm_bench *bench = NULL;
    if (!a || !w || !c || !tc || !tb) {
        st = CLENC_ERR_OUT_OF_MEMORY;
        goto out;
    }
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)n * k; i++)
        w[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    if ((st = clenc_gemm_bench_create(ctx, m, n, k, a, w, &bench)) != CLENC_OK)
        goto out;
    *gemm = clenc_gemm_bench_gemm(bench);
    /* Chains long enough (about 20 ms at 200 GFLOP/s) that one wait costs
     * little; the same length for both. */
    const double flop = 2.0 * m * n * k;
    int chain = (int)(4e9 / flop);
    chain = chain < 1 ? 1 : chain > 256 ? 256 : chain;
    /* Interleaved, after one untimed run of each. */
    for (int i = -1; i < (int)runs; i++) {
        double clenc_ms;
        if ((st = clenc_gemm_bench_run(bench, (unsigned)chain, &clenc_ms)) !=
            CLENC_OK)
            goto out;
        double t1 = cli_now_ms();
        for (int j = 0; j < chain; j++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m,
                        (int)n, (int)k, 1.0f, a, (int)k, w, (int)k, 0.0f, c,
                        (int)n);
        double t2 = cli_now_ms();
        if (i >= 0) {
            tc[i] = clenc_ms / chain;
            tb[i] = (t2 - t1) / chain;
        }
    }
    r->m = m;
    r->n = n;
    r->k = k;
    r->clenc_gflops = flop / (cli_median(tc, runs) / 1e3) / 1e9;
    r->blas_gflops = flop / (cli_median(tb, runs) / 1e3) / 1e9;
out:
    clenc_gemm_bench_destroy(bench);
    free(a);
    free(w);
    free(c);
    free(tc);
    free(tb);
    return st;
}

int main(int argc, char **argv)
{
    const char *threads = "0", *runs_s = "5", *m_list = "16,128,512,4096";
    int json = 0, missing = 0;
    for (int i = 1; i < argc; i++) {
        cli_help_or_version(argv[i], PROG, usage);
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (cli_option(argc, argv, &i, "--threads", &threads,
                              &missing) ||
                   cli_option(argc, argv, &i, "--runs", &runs_s, &missing) ||
                   cli_option(argc, argv, &i, "--m", &m_list, &missing)) {
            if (missing)
                return cli_usage_error(PROG, "%s needs a value", argv[i]);
        } else {
            return cli_usage_error(PROG, "unknown argument '%s'", argv[i]);
        }
    }
    unsigned ms[8], runs, nthreads = (unsigned)atoi(threads);
    size_t nm = cli_parse_list(m_list, ms, 8, 1u << 20);
    if (!nm || cli_parse_list(runs_s, &runs, 1, 1000) != 1)
        return cli_usage_error(PROG, "bad --m or --runs");
    if (nthreads > 0)
        openblas_set_num_threads((int)nthreads);
    clenc_context *ctx = NULL;
    clenc_gemm gemm = CLENC_GEMM_OWN;
    clenc_status st = clenc_context_create(NULL, &ctx);
    const size_t ns = sizeof shapes / sizeof shapes[0];
    result *res = calloc(nm * ns, sizeof *res);
    size_t n = 0;
    for (size_t s = 0; s < ns && st == CLENC_OK && res; s++)
        for (size_t i = 0; i < nm && st == CLENC_OK; i++, n++) {
            fprintf(stderr, "\r%s: %zu/%zu (m %u, n %u, k %u)      ", PROG,
                    n + 1, nm * ns, ms[i], shapes[s][0], shapes[s][1]);
            st = time_shape(ctx, ms[i], shapes[s][0], shapes[s][1], runs,
                            &res[n], &gemm);
        }
    fprintf(stderr, "\n");
    if (st != CLENC_OK || !res) {
        clenc_context_destroy(ctx);
        free(res);
        return cli_fail(PROG, st);
    }
    if (json)
        printf("{\"openblas\": \"%s\", \"clenc_gemm\": \"%s\", \"gemm\": [",
               openblas_get_config(),
               gemm == CLENC_GEMM_CLBLAST ? "clblast" : "own");
    else
        printf("%6s %6s %6s %14s %16s %7s\n", "m", "n", "k", "clenc GFLOP/s",
               "OpenBLAS GFLOP/s", "ratio");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        const double ratio = r->clenc_gflops / r->blas_gflops;
        if (json)
            printf("%s{\"m\": %u, \"n\": %u, \"k\": %u, \"clenc_gflops\": "
                   "%.2f, \"openblas_gflops\": %.2f, \"ratio\": %.4f}",
                   i ? ", " : "", r->m, r->n, r->k, r->clenc_gflops,
                   r->blas_gflops, ratio);
        else
            printf("%6u %6u %6u %14.1f %16.1f %7.2f\n", r->m, r->n, r->k,
                   r->clenc_gflops, r->blas_gflops, ratio);
    }
    if (json)
        printf("]}\n");
    clenc_context_destroy(ctx);
    free(res);
    return 0;
}
