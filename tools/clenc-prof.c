/* clenc-prof — runs a model with queue profiling on and prints where the time goes: per kernel, gaps, and a Chrome trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define PROG "clenc-prof"
#define MAX_KERNELS 32

static const char usage[] =
    "usage: " PROG " --model DIR [--device SPEC] [--batch B] [--seq S]\n"
    "                  [--runs N] [--precision P] [--csv FILE] [--trace FILE]\n"
    "                  [--json]\n"
    "\n"
    "Encodes random token ids with queue profiling on and prints, per kernel:\n"
    "calls, total ms, share of the pass, mean us, achieved GFLOP/s and GB/s,\n"
    "largest first, then the time the device sat idle between kernels, and\n"
    "the GEMM kernels' rate as a share of the device's peak (the probe's,\n"
    "with the time it was measured; measured again when the GEMM ran above\n"
    "it, and never shown above 100%: \"n/a\" then).\n"
    "\n"
    "  --batch B, --seq S  batch shape (default 8 x 128)\n"
    "  --runs N            profiled passes after one warm-up (default 5)\n"
    "  --precision P       fp32 (default) | fp16 | int8 (as CLENC_PRECISION)\n"
    "  --csv FILE          the table as CSV\n"
    "  --trace FILE        Chrome trace-event JSON (Perfetto, chrome://tracing):\n"
    "                      one event per kernel launch on a queue track, the\n"
    "                      host's calls on a host track\n"
    "  --json              one JSON object on stdout instead of the table\n"
    "  --help, --version\n";

typedef struct prof {
    const char *model_path, *device, *csv, *trace;
    clenc_precision precision;
    unsigned batch, seq, runs;
    int json;
} prof;

/* The device's peak beside the GEMM kernels' rate. */
typedef struct peak_report {
    clenc_device_peak peak;
    int64_t measured_at; /* UNIX time */
    int have, remeasured;
    double gemm_gflops;
    double int8_gops; /* the int8 GEMM's rate, where it ran */
    char share[128]; /* clenc_peak_share_format's text */
    int share_shown;
} peak_report;

typedef struct run_log {
    size_t count;
    clenc_launch_profile *launches;
    double begin_ms, end_ms; /* host, around clenc_encode */
} run_log;

static int parse(int argc, char **argv, prof *p)
{
    int missing = 0;
    const char *batch = "8", *seq = "128", *runs = "5", *precision = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        cli_help_or_version(a, PROG, usage);
        if (!strcmp(a, "--json")) {
            p->json = 1;
        } else if (cli_option(argc, argv, &i, "--model", &p->model_path,
                              &missing) ||
                   cli_option(argc, argv, &i, "--device", &p->device,
                              &missing) ||
                   cli_option(argc, argv, &i, "--batch", &batch, &missing) ||
                   cli_option(argc, argv, &i, "--seq", &seq, &missing) ||
                   cli_option(argc, argv, &i, "--runs", &runs, &missing) ||
                   cli_option(argc, argv, &i, "--csv", &p->csv, &missing) ||
                   cli_option(argc, argv, &i, "--trace", &p->trace,
                              &missing) ||
                   cli_option(argc, argv, &i, "--precision", &precision,
                              &missing)) {
            if (missing)
                return cli_usage_error(PROG, "%s needs a value", a);
        } else {
            return cli_usage_error(PROG, "unknown argument '%s'", a);
        }
    }
    if (!p->model_path)
        return cli_usage_error(PROG, "--model DIR is required");
    if (cli_precision(PROG, precision, &p->precision))
        return 2;
    if (cli_parse_list(batch, &p->batch, 1, 4096) != 1 ||
        cli_parse_list(seq, &p->seq, 1, 1u << 16) != 1 ||
        cli_parse_list(runs, &p->runs, 1, 100000) != 1)
        return cli_usage_error(PROG, "--batch, --seq and --runs take one "
                                     "positive number each");
    return 0;
}

static void print_table(FILE *f, const clenc_kernel_profile *k, size_t n,
                        const clenc_profile_summary *sum, int csv)
{
    if (csv)
        fprintf(f, "kernel,calls,total_ms,share,mean_us,gflops,gbps\n");
    else
        fprintf(f, "%-22s %6s %10s %7s %10s %9s %8s\n", "kernel", "calls",
                "total ms", "share", "mean us", "GFLOP/s", "GB/s");
    for (size_t i = 0; i < n; i++) {
        const double s = k[i].total_ms / 1e3;
        const double share = sum->kernel_ms > 0 ? k[i].total_ms / sum->kernel_ms : 0;
        const double mean = k[i].calls ? k[i].total_ms * 1e3 / k[i].calls : 0;
        const double gf = s > 0 ? k[i].flops / s / 1e9 : 0;
        const double gb = s > 0 ? k[i].bytes / s / 1e9 : 0;
        if (csv)
            fprintf(f, "%s,%u,%.4f,%.4f,%.2f,%.2f,%.2f\n", k[i].kernel,
                    k[i].calls, k[i].total_ms, share, mean, gf, gb);
        else
            fprintf(f, "%-22s %6u %10.2f %6.1f%% %10.1f %9.1f %8.1f\n",
                    k[i].kernel, k[i].calls, k[i].total_ms, 100 * share, mean,
                    gf, gb);
    }
}

static void trace_event(FILE *f, int *first, const char *name, int tid,
                        double ts_us, double dur_us, const clenc_launch_profile *l)
{
    fprintf(f, "%s\n  {\"name\": ", *first ? "" : ",");
    cli_json_string(f, name);
    fprintf(f, ", \"ph\": \"X\", \"pid\": 1, \"tid\": %d, \"ts\": %.3f, "
               "\"dur\": %.3f",
            tid, ts_us, dur_us);
    if (l)
        fprintf(f, ", \"args\": {\"m\": %u, \"n\": %u, \"k\": %u, \"gflop\": "
                   "%.6f, \"mbytes\": %.6f}",
                l->m, l->n, l->k, l->flops / 1e9, l->bytes / 1e6);
    fputc('}', f);
    *first = 0;
}

/* Device times are the device's clock: each run is placed on the host's
 * clock by its first launch, queued (device) when enqueued (host). */
static int write_trace(const char *path, const run_log *runs, unsigned n)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "%s: cannot write '%s'\n", PROG, path);
        return 1;
    }
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [\n"
               "  {\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 1, "
               "\"args\": {\"name\": \"clenc\"}},\n"
               "  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, "
               "\"tid\": 1, \"args\": {\"name\": \"device queue\"}},\n"
               "  {\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 1, "
               "\"tid\": 2, \"args\": {\"name\": \"host\"}},");
    int first = 1;
    const double t0 = runs[0].begin_ms * 1e3;
    for (unsigned r = 0; r < n; r++) {
        const run_log *log = &runs[r];
        trace_event(f, &first, "clenc_encode", 2, log->begin_ms * 1e3 - t0,
                    (log->end_ms - log->begin_ms) * 1e3, NULL);
        if (!log->count)
            continue;
        const double offset = (double)log->launches[0].host_enqueue_ns -
                              (double)log->launches[0].queued_ns;
        for (size_t i = 0; i < log->count; i++) {
            const clenc_launch_profile *l = &log->launches[i];
            char name[96];
            snprintf(name, sizeof name, "enqueue %s", l->kernel);
            trace_event(f, &first, name, 2, l->host_enqueue_ns / 1e3 - t0,
                        (l->host_return_ns - l->host_enqueue_ns) / 1e3, NULL);
            trace_event(f, &first, l->kernel, 1,
                        (l->start_ns + offset) / 1e3 - t0,
                        (l->end_ns - l->start_ns) / 1e3, l);
        }
    }
    fprintf(f, "\n]}\n");
    return fclose(f) == 0 ? 0 : 1;
}

/* No kernel finishes in under 100 ns on any device we know: a mean below
 * that is a timer that does not tick with the work (Mesa 22.3's Rusticl
 * stamps 0, 1, 2, 3 ns), and every time, share and rate derived from it is
 * noise. */
static double mean_kernel_ns(const clenc_kernel_profile *k, size_t n,
                             const clenc_profile_summary *sum)
{
    unsigned calls = 0;
    for (size_t i = 0; i < n; i++)
        calls += k[i].calls;
    return calls ? sum->kernel_ms * 1e6 / calls : 0;
}

static int timer_plausible(const clenc_kernel_profile *k, size_t n,
                           const clenc_profile_summary *sum)
{
    return n == 0 || mean_kernel_ns(k, n, sum) >= 100;
}

/* The GEMM kernels' operations over their time: the own kernel ("gemm")
 * and CLBlast's ("gemm (CLBlast)") alike, or, with prefix "qgemm", the
 * int8 GEMM's integer multiply-adds. */
static double gemm_gflops(const clenc_kernel_profile *k, size_t n,
                          const char *prefix)
{
    double flops = 0, ms = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(k[i].kernel, prefix, strlen(prefix)) == 0) {
            flops += k[i].flops;
            ms += k[i].total_ms;
        }
    return ms > 0 ? flops / (ms / 1e3) / 1e9 : 0;
}

static void format_time(int64_t t, char *buf, size_t size)
{
    const time_t tt = (time_t)t;
    struct tm tm;
    if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(buf, size, "at an unknown time");
}

/* The peak from the cache, measured again once when the GEMM ran above
 * it: a probe taken under load reads low. A rate still above is refused a
 * share (clenc_peak_share_format). No peak is a warning, not a failure:
 * the profile stands without it. */
static void peak_for(clenc_context *ctx, double rate, int timer_ok,
                     peak_report *r)
{
    memset(r, 0, sizeof *r);
    r->gemm_gflops = rate;
    r->have = clenc_device_peak_query(ctx, 0, &r->peak, &r->measured_at) ==
              CLENC_OK;
    if (r->have && timer_ok && rate > r->peak.gflops) {
        fprintf(stderr, "%s: the GEMM ran at %.1f GFLOP/s, above the cached "
                        "peak of %.1f: measuring the peak again\n",
                PROG, rate, r->peak.gflops);
        r->remeasured = 1;
        r->have = clenc_device_peak_query(ctx, 1, &r->peak,
                                          &r->measured_at) == CLENC_OK;
    }
    if (!r->have)
        fprintf(stderr, "%s: warning: no peak to compare with: %s\n", PROG,
                clenc_last_error());
    if (!timer_ok)
        snprintf(r->share, sizeof r->share, "n/a (the device timer is "
                                            "implausible)");
    else
        r->share_shown = clenc_peak_share_format(
            rate, r->have ? r->peak.gflops : 0, r->share, sizeof r->share);
}

static void print_peak_text(const peak_report *r)
{
    char when[64];
    if (r->have) {
        format_time(r->measured_at, when, sizeof when);
        printf("peak (probe, %s %s): %.1f GFLOP/s, %.1f GB/s\n",
               r->remeasured ? "measured again" : "measured", when,
               r->peak.gflops, r->peak.gbps);
    }
    if (r->int8_gops > 0) /* no float GEMM ran */
        printf("GEMM (int8): %.1f GOP/s; the probe measures float FMAs, "
               "so no share of its peak\n",
               r->int8_gops);
    else
        printf("GEMM: %.1f GFLOP/s, share of peak: %s\n", r->gemm_gflops,
               r->share);
}

static void print_json(const prof *p, const peak_report *r, const clenc_model_info *mi,
                       const clenc_device_info *di,
                       const clenc_kernel_profile *k, size_t n,
                       const clenc_profile_summary *sum, double wall_ms,
                       double flops)
{
    printf("{\"model\": ");
    cli_json_string(stdout, mi->name);
    printf(", \"precision\": \"%s\", \"fp16_compute\": %s",
           clenc_precision_name(mi->precision),
           mi->fp16_compute ? "true" : "false");
    printf(", \"device\": ");
    cli_json_string(stdout, di->name);
    printf(", \"batch\": %u, \"seq\": %u, \"runs\": %u, \"kernels\": [",
           p->batch, p->seq, sum->passes);
    for (size_t i = 0; i < n; i++) {
        const double s = k[i].total_ms / 1e3;
        printf("%s{\"kernel\": \"%s\", \"calls\": %u, \"total_ms\": %.4f, "
               "\"share\": %.4f, \"mean_us\": %.2f, \"gflops\": %.2f, "
               "\"gbps\": %.2f}",
               i ? ", " : "", k[i].kernel, k[i].calls, k[i].total_ms,
               sum->kernel_ms > 0 ? k[i].total_ms / sum->kernel_ms : 0,
               k[i].total_ms * 1e3 / k[i].calls,
               s > 0 ? k[i].flops / s / 1e9 : 0,
               s > 0 ? k[i].bytes / s / 1e9 : 0);
    }
    printf("], \"timer_plausible\": %s, \"pass_ms\": %.4f, "
           "\"kernel_ms\": %.4f, \"gap_ms\": %.4f, \"wall_ms\": %.4f, "
           "\"gflops\": %.2f, \"gemm_gflops\": %.2f, \"peak\": ",
           timer_plausible(k, n, sum) ? "true" : "false",
           sum->pass_ms / sum->passes, sum->kernel_ms / sum->passes,
           sum->gap_ms / sum->passes, wall_ms / sum->passes,
           flops / (wall_ms / sum->passes / 1e3) / 1e9, r->gemm_gflops);
    if (r->have)
        printf("{\"gflops\": %.2f, \"gbps\": %.2f, \"measured_at\": %lld, "
               "\"remeasured\": %s}",
               r->peak.gflops, r->peak.gbps, (long long)r->measured_at,
               r->remeasured ? "true" : "false");
    else
        printf("null");
    /* The share is a number only where it may be shown; else null, and
     * the text says why. */
    if (r->share_shown)
        printf(", \"gemm_peak_share\": %.4f", r->gemm_gflops / r->peak.gflops);
    else
        printf(", \"gemm_peak_share\": null");
    printf(", \"gemm_peak_share_text\": ");
    cli_json_string(stdout, r->share);
    printf("}\n");
}

int main(int argc, char **argv)
{
    prof p;
    memset(&p, 0, sizeof p);
    int rc = parse(argc, argv, &p);
    if (rc)
        return rc;
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = p.device;
    opt.profiling = 1;
    opt.precision = p.precision;
    clenc_context *ctx = NULL;
    clenc_model *model = NULL;
    clenc_session *s = NULL;
    clenc_model_info mi;
    clenc_device_info di;
    run_log *runs = calloc(p.runs, sizeof *runs);
    int32_t *ids = malloc((size_t)p.batch * p.seq * sizeof *ids);
    clenc_status st = CLENC_OK;
    if (!runs || !ids) {
        fprintf(stderr, "%s: out of host memory\n", PROG);
        return 1;
    }
    if ((st = clenc_context_create(&opt, &ctx)) != CLENC_OK ||
        (st = cli_warn_cache(PROG, ctx)) != CLENC_OK ||
        (st = clenc_context_device(ctx, &di)) != CLENC_OK ||
        (st = clenc_model_load(ctx, p.model_path, &model)) != CLENC_OK ||
        (st = clenc_model_info_get(model, &mi)) != CLENC_OK ||
        (st = clenc_session_create(model, p.batch, p.seq, &s)) != CLENC_OK)
        goto out;
    cli_random_ids(ids, (size_t)p.batch * p.seq, mi.vocab_size, 42);
    float *out = malloc((size_t)p.batch * mi.hidden * sizeof *out);
    if (!out)
        goto out;
    /* One warm-up pass, unrecorded: first launches compile work-group code. */
    st = clenc_encode(s, ids, NULL, NULL, p.batch, p.seq, CLENC_POOL_MEAN, out);
    if (st == CLENC_OK)
        st = clenc_profile_reset(s);
    double wall = 0;
    for (unsigned r = 0; r < p.runs && st == CLENC_OK; r++) {
        runs[r].begin_ms = cli_now_ms();
        st = clenc_encode(s, ids, NULL, NULL, p.batch, p.seq, CLENC_POOL_MEAN,
                          out);
        runs[r].end_ms = cli_now_ms();
        wall += runs[r].end_ms - runs[r].begin_ms;
        if (st != CLENC_OK || !p.trace)
            continue;
        st = clenc_profile_launches(s, NULL, 0, &runs[r].count);
        runs[r].launches = calloc(runs[r].count, sizeof *runs[r].launches);
        if (st == CLENC_OK && runs[r].launches)
            st = clenc_profile_launches(s, runs[r].launches, runs[r].count,
                                        &runs[r].count);
        if (!runs[r].launches)
            runs[r].count = 0;
        fprintf(stderr, "\r%s: run %u/%u", PROG, r + 1, p.runs);
    }
    if (p.trace)
        fputc('\n', stderr);
    free(out);
    clenc_kernel_profile k[MAX_KERNELS];
    clenc_profile_summary sum;
    size_t n = 0;
    if (st == CLENC_OK)
        st = clenc_profile_kernels(s, k, MAX_KERNELS, &n, &sum);
    if (st != CLENC_OK)
        goto out;
    n = n < MAX_KERNELS ? n : MAX_KERNELS;
    const double flops = clenc_encoder_flops(model, NULL, p.batch, p.seq);
    if (!timer_plausible(k, n, &sum))
        fprintf(stderr,
                "%s: warning: %s's profiling timer gives kernels a mean of "
                "%.1f ns, too short to be real: the device times below, and "
                "the shares and rates from them, are not to be trusted (the "
                "wall time is)\n",
                PROG, di.name, mean_kernel_ns(k, n, &sum));
    peak_report peak;
    peak_for(ctx, gemm_gflops(k, n, "gemm"), timer_plausible(k, n, &sum),
             &peak);
    peak.int8_gops = gemm_gflops(k, n, "qgemm");
    if (p.json) {
        print_json(&p, &peak, &mi, &di, k, n, &sum, wall, flops);
    } else {
        printf("%s on %s, %s, batch %u x seq %u, %u passes\n\n", mi.name,
               di.name, cli_precision_text(&mi),
               p.batch, p.seq, sum.passes);
        print_table(stdout, k, n, &sum, 0);
        printf("\nper pass: %.2f ms on the device (kernels %.2f ms, idle "
               "between kernels %.2f ms), %.2f ms wall; %.1f GFLOP/s end to "
               "end\n",
               sum.pass_ms / sum.passes, sum.kernel_ms / sum.passes,
               sum.gap_ms / sum.passes, wall / sum.passes,
               flops / (wall / sum.passes / 1e3) / 1e9);
        print_peak_text(&peak);
    }
    if (p.csv) {
        FILE *f = fopen(p.csv, "w");
        if (!f) {
            fprintf(stderr, "%s: cannot write '%s'\n", PROG, p.csv);
            rc = 1;
        } else {
            print_table(f, k, n, &sum, 1);
            rc |= fclose(f) != 0;
        }
    }
    if (p.trace)
        rc |= write_trace(p.trace, runs, p.runs);
out:
    if (st != CLENC_OK)
        rc = cli_fail(PROG, st);
    for (unsigned r = 0; r < p.runs; r++)
        free(runs[r].launches);
    free(runs);
    free(ids);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    return rc;
}
