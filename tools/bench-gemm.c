/* bench-gemm.c — clenc's GEMM against OpenBLAS sgemm (on the CPU's newest kernels) and oneDNN sgemm at the encoder's shapes, interleaved in one run, results checked (make bench). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blas_peers.h"
#include "cli.h"

#define PROG "clenc-bench-gemm"
#define PEERS 3 /* clenc, OpenBLAS, oneDNN */
/* Largest difference from clenc's C, relative to max |C|, a peer may show:
 * fp32 sums of up to 3072 products differ by about 1e-6 between orders. */
#define TOLERANCE 1e-4

static const char usage[] =
    "usage: " PROG " [--threads T] [--runs N] [--m LIST] [--json]\n"
    "       (CLENC_GEMM, CLENC_GEMM_TILE and CLENC_DEVICE apply)\n"
    "\n"
    "Times clenc's GEMM (the model's dispatch: own kernel or CLBlast, as\n"
    "CLENC_GEMM says), OpenBLAS cblas_sgemm and oneDNN dnnl_sgemm, the\n"
    "peers with T threads (default: theirs, all cores), on C = A·Wᵀ at the\n"
    "encoders' shapes: (N, K) of all-MiniLM-L6-v2 and BERT-base, M in\n"
    "16,128,512,4096. Runs are interleaved (clenc, OpenBLAS, oneDNN in turn,\n"
    "each after a 0.1 s pause for the previous one's spinning threads to stop\n"
    "and one untimed call); medians reported. A run is a chain of calls\n"
    "(enough for about 20 ms): clenc's are enqueued back to back and waited\n"
    "for once, as in an encoder pass; the peers' are called in turn.\n"
    "\n"
    "OpenBLAS: when the core it detected (openblas_get_corename) is older\n"
    "than the newest this CPU runs (SkylakeX with AVX-512 F/BW/VL/DQ,\n"
    "Haswell with AVX2 and FMA; Zen counts as Haswell), or the environment\n"
    "pinned an older one, the program runs itself again with\n"
    "OPENBLAS_CORETYPE set to the newest, once, and says so on stderr.\n"
    "oneDNN runs on OpenMP; its thread count is set before its first call.\n"
    "\n"
    "Checked: each peer's C against clenc's (and clenc's against a double\n"
    "sum at sampled entries). A peer more than 1e-4 of max |C| off is\n"
    "reported wrong: its figure is marked '!', a warning names it, and it\n"
    "is left out of the best. The header names the CPU, OpenBLAS's build\n"
    "and core (and whether forced), oneDNN's version.\n"
    "\n"
    "--json prints one object: {\"cpu\", \"openblas\" (its config string),\n"
    "\"openblas_core\", \"openblas_core_forced\", \"onednn\", \"clenc_gemm\"\n"
    "(\"own\" or \"clblast\"), \"gemm\": [{\"m\", \"n\", \"k\", \"clenc_gflops\",\n"
    "\"openblas_gflops\", \"onednn_gflops\", \"openblas_ok\", \"onednn_ok\",\n"
    "\"ratio\" (clenc / OpenBLAS), \"ratio_best\" (clenc / the best peer\n"
    "whose result is right; null when none is)}]}.\n";

/* (N, K) of the QKV, output, FFN-up and FFN-down GEMMs. */
static const unsigned shapes[][2] = {{1152, 384}, {384, 384}, {1536, 384},
                                     {384, 1536}, {2304, 768}, {768, 768},
                                     {3072, 768}, {768, 3072}};

typedef struct result {
    unsigned m, n, k;
    double gflops[PEERS]; /* clenc, OpenBLAS, oneDNN */
    double diff[PEERS];   /* from clenc's C, relative to max |C| */
} result;

typedef struct shape_run {
    unsigned m, n, k;
    const float *a, *w;
    float *c[PEERS];
    clenc_gemm_bench *bench;
} shape_run;

static void pause_s(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&t, NULL);
}

/* One chain of `calls` of peer p; its wall time in ms. 0, or 1 when it
 * failed, said on stderr. */
static int chain(const shape_run *s, int p, int calls, double *ms)
{
    if (p == 0) {
        const clenc_status st =
            clenc_gemm_bench_run(s->bench, (unsigned)calls, ms);
        return st == CLENC_OK ? 0 : cli_fail(PROG, st);
    }
    const double t0 = cli_now_ms();
    for (int j = 0; j < calls; j++)
        if (p == 1) {
            peer_openblas(s->m, s->n, s->k, s->a, s->w, s->c[1]);
        } else if (peer_onednn(s->m, s->n, s->k, s->a, s->w, s->c[2]) != 0) {
            fprintf(stderr, "\n%s: oneDNN's dnnl_sgemm failed at m %u n %u "
                            "k %u\n",
                    PROG, s->m, s->n, s->k);
            return 1;
        }
    *ms = cli_now_ms() - t0;
    return 0;
}

/* clenc's C at 64 entries against sums in double: the peers are judged
 * against it, so it must be right itself. */
static int clenc_right(const shape_run *s)
{
    for (unsigned t = 0; t < 64; t++) {
        const size_t i = (size_t)t * 7919 % s->m, j = (size_t)t * 104729 % s->n;
        double want = 0, scale = 0;
        for (unsigned x = 0; x < s->k; x++) {
            want += (double)s->a[i * s->k + x] * s->w[j * s->k + x];
            scale += fabs((double)s->a[i * s->k + x] * s->w[j * s->k + x]);
        }
        if (!(fabs(s->c[0][i * s->n + j] - want) <= 1e-5 * scale + 1e-6))
            return 0;
    }
    return 1;
}

/* Medians of `runs` interleaved runs, each peer after a pause and an
 * untimed call; then every peer's C against clenc's. 0, or 1 (said). */
static int time_runs(const shape_run *s, unsigned runs, result *r)
{
    int rc = 0;
    double *t = malloc((size_t)PEERS * runs * sizeof *t);
    if (!t)
        return cli_fail(PROG, CLENC_ERR_OUT_OF_MEMORY);
    /* Chains long enough (about 20 ms at 200 GFLOP/s) that one wait costs
     * little; the same length for all. */
    const double flop = 2.0 * s->m * s->n * s->k;
    int calls = (int)(4e9 / flop);
    calls = calls < 1 ? 1 : calls > 256 ? 256 : calls;
    for (unsigned i = 0; i < runs && !rc; i++)
        for (int p = 0; p < PEERS && !rc; p++) {
            double ms = 0;
            pause_s(0.1);
            rc = chain(s, p, 1, &ms) || chain(s, p, calls, &ms);
            t[p * runs + i] = ms / calls;
        }
    clenc_status st;
    if (!rc && (st = clenc_gemm_bench_read(s->bench, s->c[0])) != CLENC_OK)
        rc = cli_fail(PROG, st);
    if (!rc && !clenc_right(s)) {
        fprintf(stderr, "\n%s: clenc's C is wrong at m %u n %u k %u: no "
                        "comparison is possible\n",
                PROG, s->m, s->n, s->k);
        rc = 1;
    }
    for (int p = 0; p < PEERS && !rc; p++) {
        r->gflops[p] = flop / (cli_median(&t[p * runs], runs) / 1e3) / 1e9;
        r->diff[p] = peer_rel_diff(s->c[p], s->c[0], (size_t)s->m * s->n);
    }
    free(t);
    return rc;
}

/* 0, or 1 when the shape could not be timed (said on stderr). */
static int time_shape(clenc_context *ctx, unsigned m, unsigned n, unsigned k,
                      unsigned runs, result *r, clenc_gemm *gemm)
{
    int rc = 0;
    float *a = malloc((size_t)m * k * sizeof *a);
    float *w = malloc((size_t)n * k * sizeof *w);
    shape_run s = {m, n, k, a, w, {NULL, NULL, NULL}, NULL};
    for (int p = 0; p < PEERS; p++)
        s.c[p] = malloc((size_t)m * n * sizeof(float));
    if (!a || !w || !s.c[0] || !s.c[1] || !s.c[2]) {
        rc = cli_fail(PROG, CLENC_ERR_OUT_OF_MEMORY);
        goto out;
    }
    for (size_t i = 0; i < (size_t)m * k; i++)
        a[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)n * k; i++)
        w[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    /* Every C starts as NaN: a peer that writes nothing cannot pass. */
    for (int p = 0; p < PEERS; p++)
        memset(s.c[p], 0xFF, (size_t)m * n * sizeof(float));
    const clenc_status st = clenc_gemm_bench_create(ctx, m, n, k, a, w,
                                                    &s.bench);
    if (st != CLENC_OK) {
        rc = cli_fail(PROG, st);
        goto out;
    }
    *gemm = clenc_gemm_bench_gemm(s.bench);
    r->m = m;
    r->n = n;
    r->k = k;
    rc = time_runs(&s, runs, r);
out:
    clenc_gemm_bench_destroy(s.bench);
    for (int p = 0; p < PEERS; p++)
        free(s.c[p]);
    free(a);
    free(w);
    return rc;
}

static int right(const result *r, int p) { return r->diff[p] <= TOLERANCE; }

/* clenc over the fastest peer whose result is right; 0 when none is. */
static double ratio_best(const result *r)
{
    double best = 0;
    for (int p = 1; p < PEERS; p++)
        if (right(r, p) && r->gflops[p] > best)
            best = r->gflops[p];
    return best > 0 ? r->gflops[0] / best : 0;
}

static void print_json(const blas_peers *bp, clenc_gemm gemm,
                       const result *res, size_t n)
{
    printf("{\"cpu\": ");
    cli_json_string(stdout, bp->cpu);
    printf(", \"openblas\": ");
    cli_json_string(stdout, bp->openblas);
    printf(", \"openblas_core\": ");
    cli_json_string(stdout, bp->core);
    printf(", \"openblas_core_forced\": %s, \"onednn\": \"%s\", "
           "\"clenc_gemm\": \"%s\", \"gemm\": [",
           bp->forced ? "true" : "false", bp->onednn,
           gemm == CLENC_GEMM_CLBLAST ? "clblast" : "own");
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        printf("%s{\"m\": %u, \"n\": %u, \"k\": %u, \"clenc_gflops\": %.2f, "
               "\"openblas_gflops\": %.2f, \"onednn_gflops\": %.2f, "
               "\"openblas_ok\": %s, \"onednn_ok\": %s, \"ratio\": %.4f, "
               "\"ratio_best\": ",
               i ? ", " : "", r->m, r->n, r->k, r->gflops[0], r->gflops[1],
               r->gflops[2], right(r, 1) ? "true" : "false",
               right(r, 2) ? "true" : "false", r->gflops[0] / r->gflops[1]);
        if (ratio_best(r) > 0)
            printf("%.4f}", ratio_best(r));
        else
            printf("null}");
    }
    printf("]}\n");
}

static void print_table(const blas_peers *bp, clenc_gemm gemm,
                        const result *res, size_t n)
{
    char core[96];
    if (bp->forced)
        snprintf(core, sizeof core, "%s (forced; it detected %s)", bp->core,
                 bp->detected);
    else
        snprintf(core, sizeof core, "%s (detected)", bp->core);
    printf("CPU: %s\nOpenBLAS: %s; core %s\noneDNN: %s\nclenc: %s GEMM\n\n",
           bp->cpu, bp->openblas, core, bp->onednn,
           gemm == CLENC_GEMM_CLBLAST ? "CLBlast" : "own");
    printf("%6s %6s %6s %10s %10s %10s %10s\n", "m", "n", "k", "clenc",
           "OpenBLAS", "oneDNN", "clenc/best");
    int wrong = 0;
    for (size_t i = 0; i < n; i++) {
        const result *r = &res[i];
        wrong |= !right(r, 1) || !right(r, 2);
        printf("%6u %6u %6u %10.1f %9.1f%c %9.1f%c %10.2f\n", r->m, r->n, r->k,
               r->gflops[0], r->gflops[1], right(r, 1) ? ' ' : '!',
               r->gflops[2], right(r, 2) ? ' ' : '!', ratio_best(r));
    }
    printf("\nGFLOP/s, medians%s\n",
           wrong ? "; '!': the peer's result was wrong (left out of the best)"
                 : "");
}

/* A peer off clenc's result: named on stderr, as older OpenBLAS builds
 * compute wrong results on some CPUs (why some machines pin a core). */
static void warn_wrong(const blas_peers *bp, const result *res, size_t n)
{
    static const char *const names[PEERS] = {"clenc", "OpenBLAS", "oneDNN"};
    for (size_t i = 0; i < n; i++)
        for (int p = 1; p < PEERS; p++)
            if (!right(&res[i], p))
                fprintf(stderr,
                        "%s: warning: %s%s%s%s's C differs from clenc's by "
                        "%.3g of max |C| at m %u n %u k %u: reported wrong\n",
                        PROG, names[p], p == 1 ? " (" : "",
                        p == 1 ? bp->core : "", p == 1 ? " kernels)" : "",
                        res[i].diff[p], res[i].m, res[i].n, res[i].k);
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
    unsigned ms[8], runs, nthreads;
    size_t nm = cli_parse_list(m_list, ms, 8, 1u << 20);
    if (!nm || cli_parse_list(runs_s, &runs, 1, 1000) != 1 ||
        (strcmp(threads, "0") && cli_parse_list(threads, &nthreads, 1, 4096) != 1))
        return cli_usage_error(PROG, "bad --m, --runs or --threads");
    nthreads = strcmp(threads, "0") ? nthreads : 0;
    blas_peers bp;
    blas_peers_init(argv, PROG, nthreads, &bp);
    clenc_context *ctx = NULL;
    clenc_gemm gemm = CLENC_GEMM_OWN;
    const clenc_status st = clenc_context_create(NULL, &ctx);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    const size_t ns = sizeof shapes / sizeof shapes[0];
    result *res = calloc(nm * ns, sizeof *res);
    int rc = res ? 0 : cli_fail(PROG, CLENC_ERR_OUT_OF_MEMORY);
    size_t n = 0;
    for (size_t s = 0; s < ns && !rc; s++)
        for (size_t i = 0; i < nm && !rc; i++, n++) {
            fprintf(stderr, "\r%s: %zu/%zu (m %u, n %u, k %u)      ", PROG,
                    n + 1, nm * ns, ms[i], shapes[s][0], shapes[s][1]);
            rc = time_shape(ctx, ms[i], shapes[s][0], shapes[s][1], runs,
                            &res[n], &gemm);
        }
    fprintf(stderr, "\n");
    if (rc) {
        clenc_context_destroy(ctx);
        free(res);
        return rc;
    }
    warn_wrong(&bp, res, n);
    if (json)
        print_json(&bp, gemm, res, n);
    else
        print_table(&bp, gemm, res, n);
    clenc_context_destroy(ctx);
    free(res);
    return 0;
}
