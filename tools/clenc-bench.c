/* clenc-bench — latency and throughput over a grid of batch × sequence sizes, against the device's measured peak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench_pool.h"
#include "cli.h"

#define PROG "clenc-bench"
#define MAX_LIST 16

static const char usage[] =
    "usage: " PROG " --model DIR [--device SPEC] [--batch LIST] [--seq LIST]\n"
    "                   [--runs N] [--warmup N] [--precision P] [--json]\n"
    "       " PROG " --model DIR --pool SPEC [--texts N] [--batch N] [--seq N]\n"
    "                   [--runs N] [--warmup N] [--precision P] [--json]\n"
    "\n"
    "Encodes random token ids over a grid of batch x sequence sizes and\n"
    "reports per cell: median and p90 latency, sequences/s, tokens/s,\n"
    "achieved GFLOP/s and the share of the device's peak (measured by a short\n"
    "probe, cached per device with its time, measured again when a cell ran\n"
    "above it; never shown over 100%: n/a). Also: time to first result for\n"
    "batch 1 x seq 16 (context + model load + first batch), cold (empty\n"
    "clenc and PoCL caches) and warm, and the device memory the model and\n"
    "workspace hold.\n"
    "\n"
    "  --batch LIST    e.g. 1,8,32 (default)\n"
    "  --seq LIST      e.g. 16,128 (default)\n"
    "  --runs N        timed runs per cell (default 10)\n"
    "  --warmup N      untimed runs per cell (default 2)\n"
    "  --precision P   fp32 (default) | fp16 | int8 (as CLENC_PRECISION)\n"
    "  --json          one JSON object on stdout instead of the table\n"
    "  --help, --version\n"
    "\n"
    "Several devices (README: \"Several devices\"):\n"
    "  --pool SPEC     embeds the same texts of mixed lengths on each device of\n"
    "                  SPEC alone (one session) and on a pool of them all,\n"
    "                  interleaved, and prints texts/s (medians) and the pool's\n"
    "                  ratio to the fastest device alone. SPEC as clenc-run\n"
    "                  --device takes a list: 'all', '0:0,0:1', '0:0,0:0' (two\n"
    "                  sessions on one device). --batch N is the sessions'\n"
    "                  max_batch (default 32), --seq N the longest text in\n"
    "                  tokens (default 128); --runs 5, --warmup 1 by default\n"
    "  --texts N       texts a run embeds (default 512)\n";

typedef struct cell {
    unsigned batch, seq;
    double median_ms, p90_ms, gflops;
} cell;

typedef struct bench {
    const char *model_path, *device;
    const char *pool; /* --pool SPEC: bench_pool.c measures instead */
    unsigned texts;
    unsigned batches[MAX_LIST], seqs[MAX_LIST];
    size_t nb, ns;
    unsigned runs, warmup;
    int json;
    clenc_precision precision;
} bench;

static int parse(int argc, char **argv, bench *b)
{
    int missing = 0;
    const char *batch = NULL, *seq = NULL, *runs = NULL, *warm = NULL;
    const char *precision = NULL, *texts = "512";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        cli_help_or_version(a, PROG, usage);
        if (!strcmp(a, "--json")) {
            b->json = 1;
        } else if (cli_option(argc, argv, &i, "--model", &b->model_path,
                              &missing) ||
                   cli_option(argc, argv, &i, "--device", &b->device,
                              &missing) ||
                   cli_option(argc, argv, &i, "--batch", &batch, &missing) ||
                   cli_option(argc, argv, &i, "--seq", &seq, &missing) ||
                   cli_option(argc, argv, &i, "--runs", &runs, &missing) ||
                   cli_option(argc, argv, &i, "--warmup", &warm, &missing) ||
                   cli_option(argc, argv, &i, "--precision", &precision,
                              &missing) ||
                   cli_option(argc, argv, &i, "--pool", &b->pool, &missing) ||
                   cli_option(argc, argv, &i, "--texts", &texts, &missing)) {
            if (missing)
                return cli_usage_error(PROG, "%s needs a value", a);
        } else {
            return cli_usage_error(PROG, "unknown argument '%s'", a);
        }
    }
    if (!b->model_path)
        return cli_usage_error(PROG, "--model DIR is required");
    clenc_precision chosen;
    if (cli_precision(PROG, precision, &chosen))
        return 2;
    /* As the variable, so that the --first-result child gets it too. */
    if (precision)
        setenv("CLENC_PRECISION", precision, 1);
    b->precision = chosen;
    /* --pool times whole embedding calls of hundreds of texts: fewer
     * runs, and one batch size and text length. */
    b->nb = cli_parse_list(batch ? batch : b->pool ? "32" : "1,8,32",
                           b->batches, MAX_LIST, 4096);
    b->ns = cli_parse_list(seq ? seq : b->pool ? "128" : "16,128", b->seqs,
                           MAX_LIST, 1u << 16);
    if (!b->nb || !b->ns)
        return cli_usage_error(PROG, "--batch and --seq take lists of "
                                     "positive numbers, e.g. 1,8,32");
    if (b->pool && (b->nb > 1 || b->ns > 1))
        return cli_usage_error(PROG, "--pool takes one --batch and one --seq");
    if (!b->pool && (texts != NULL && strcmp(texts, "512")))
        return cli_usage_error(PROG, "--texts goes with --pool");
    if (cli_parse_list(runs ? runs : b->pool ? "5" : "10", &b->runs, 1,
                       100000) != 1 ||
        sscanf(warm ? warm : b->pool ? "1" : "2", "%u", &b->warmup) != 1)
        return cli_usage_error(PROG, "--runs and --warmup take a number");
    if (cli_parse_list(texts, &b->texts, 1, 1u << 24) != 1)
        return cli_usage_error(PROG, "--texts takes a number, not '%s'",
                               texts);
    if (b->pool && b->device)
        return cli_usage_error(PROG, "--pool SPEC names the devices: not "
                                     "with --device");
    return 0;
}

/* The child of --first-result: context, model, one batch 1 x 16. */
static int first_result(const char *model_path, const char *device)
{
    double t0 = cli_now_ms();
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = device;
    clenc_context *ctx = NULL;
    clenc_model *model = NULL;
    clenc_session *s = NULL;
    clenc_model_info mi;
    int32_t ids[16];
    float *out = NULL;
    clenc_status st;
    if ((st = clenc_context_create(&opt, &ctx)) != CLENC_OK ||
        (st = clenc_model_load(ctx, model_path, &model)) != CLENC_OK ||
        (st = clenc_model_info_get(model, &mi)) != CLENC_OK ||
        (st = clenc_session_create(model, 1, 16, &s)) != CLENC_OK)
        goto out;
    cli_random_ids(ids, 16, mi.vocab_size, 7);
    if (!(out = malloc(mi.hidden * sizeof *out)))
        goto out;
    st = clenc_encode(s, ids, NULL, NULL, 1, 16, CLENC_POOL_DEFAULT, out);
out:
    free(out);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    printf("%.3f\n", cli_now_ms() - t0);
    return 0;
}

/* Runs the first-result child with `env` ("K=V", NULL-terminated; before
 * any OpenCL call of this process, so the fork is safe) and returns its
 * time in ms, or -1. */
static double spawn_first_result(const bench *b, char *const env[])
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        for (size_t i = 0; env && env[i]; i++) {
            char *eq = strchr(env[i], '=');
            *eq = '\0';
            setenv(env[i], eq + 1, 1);
        }
        execl("/proc/self/exe", PROG, "--first-result", b->model_path,
              b->device ? b->device : "", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[64] = "";
    ssize_t n = pid > 0 ? read(fds[0], buf, sizeof buf - 1) : -1;
    close(fds[0]);
    int status = 0;
    if (pid > 0)
        waitpid(pid, &status, 0);
    if (n <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    buf[n] = '\0';
    return atof(buf);
}

static int remove_tree(const char *dir)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd);
}

/* Cold: empty clenc cache and empty PoCL kernel cache (other drivers keep
 * theirs); warm: the default caches, after one run that fills them. */
static void first_result_times(const bench *b, double *cold, double *warm)
{
    char dir[] = "/tmp/clenc-bench-XXXXXX";
    *cold = *warm = -1;
    if (mkdtemp(dir)) {
        char clenc[600], pocl[600];
        snprintf(clenc, sizeof clenc, "CLENC_CACHE_DIR=%s/clenc", dir);
        snprintf(pocl, sizeof pocl, "POCL_CACHE_DIR=%s/pocl", dir);
        char *env[] = {clenc, pocl, NULL};
        *cold = spawn_first_result(b, env);
        remove_tree(dir);
    }
    spawn_first_result(b, NULL);
    *warm = spawn_first_result(b, NULL);
}

static clenc_status run_cell(const bench *b, clenc_model *model,
                             const clenc_model_info *mi, cell *c,
                             uint64_t *workspace, unsigned index,
                             unsigned cells)
{
    clenc_session *s = NULL;
    clenc_session_info si;
    const size_t count = (size_t)c->batch * c->seq;
    int32_t *ids = malloc(count * sizeof *ids);
    float *out = malloc((size_t)c->batch * mi->hidden * sizeof *out);
    double *times = malloc(b->runs * sizeof *times);
    clenc_status st = CLENC_ERR_OUT_OF_MEMORY;
    if (!ids || !out || !times)
        goto out;
    if ((st = clenc_session_create(model, c->batch, c->seq, &s)) != CLENC_OK ||
        (st = clenc_session_info_get(s, &si)) != CLENC_OK)
        goto out;
    if (si.workspace_bytes + si.input_bytes > *workspace)
        *workspace = si.workspace_bytes + si.input_bytes;
    cli_random_ids(ids, count, mi->vocab_size, 42 + index);
    for (unsigned r = 0; r < b->warmup + b->runs && st == CLENC_OK; r++) {
        fprintf(stderr, "\r%s: cell %u/%u (batch %u x seq %u): run %u/%u   ",
                PROG, index + 1, cells, c->batch, c->seq, r + 1,
                b->warmup + b->runs);
        double t0 = cli_now_ms();
        st = clenc_encode(s, ids, NULL, NULL, c->batch, c->seq,
                          CLENC_POOL_DEFAULT, out);
        if (r >= b->warmup)
            times[r - b->warmup] = cli_now_ms() - t0;
    }
    if (st == CLENC_OK) {
        c->p90_ms = cli_percentile(times, b->runs, 0.9);
        c->median_ms = cli_median(times, b->runs);
        c->gflops = clenc_encoder_flops(model, NULL, c->batch, c->seq) /
                    (c->median_ms / 1e3) / 1e9;
    }
out:
    clenc_session_destroy(s);
    free(ids);
    free(out);
    free(times);
    return st;
}

static void print_results(const bench *b, const clenc_model_info *mi,
                          const clenc_device_info *di,
                          const clenc_device_peak *peak, int64_t peak_at,
                          const cell *cells,
                          size_t n, double cold, double warm,
                          uint64_t workspace)
{
    if (b->json) {
        printf("{\"model\": ");
        cli_json_string(stdout, mi->name);
        printf(", \"device\": ");
        cli_json_string(stdout, di->name);
        printf(", \"precision\": \"%s\", \"fp16_compute\": %s",
               clenc_precision_name(mi->precision),
               mi->fp16_compute ? "true" : "false");
        printf(", \"peak\": {\"gflops\": %.2f, \"gbps\": %.2f, "
               "\"measured_at\": %lld}, "
               "\"first_result_ms\": {\"cold\": %.2f, \"warm\": %.2f}, "
               "\"memory\": {\"weights_bytes\": %llu, \"workspace_bytes\": "
               "%llu}, \"cells\": [",
               peak->gflops, peak->gbps, (long long)peak_at, cold, warm,
               (unsigned long long)mi->weight_bytes,
               (unsigned long long)workspace);
        for (size_t i = 0; i < n; i++) {
            const cell *c = &cells[i];
            const double sps = c->batch / (c->median_ms / 1e3);
            printf("%s{\"batch\": %u, \"seq\": %u, \"median_ms\": %.4f, "
                   "\"p90_ms\": %.4f, \"sequences_per_s\": %.3f, "
                   "\"tokens_per_s\": %.1f, \"gflops\": %.4g, "
                   "\"peak_share\": ",
                   i ? ", " : "", c->batch, c->seq, c->median_ms, c->p90_ms,
                   sps, sps * c->seq, c->gflops);
            /* null where no share may be shown (clenc_peak_share_format). */
            if (clenc_peak_share_format(c->gflops, peak->gflops, NULL, 0))
                printf("%.4f}", c->gflops / peak->gflops);
            else
                printf("null}");
        }
        printf("]}\n");
        return;
    }
    char when[64], why[128] = "";
    const time_t at = (time_t)peak_at;
    struct tm tm;
    if (!gmtime_r(&at, &tm) ||
        !strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm))
        snprintf(when, sizeof when, "at an unknown time");
    printf("%s on %s, %s\npeak (probe, measured %s): %.1f GFLOP/s, %.1f "
           "GB/s\n\n",
           mi->name, di->name, cli_precision_text(mi), when, peak->gflops,
           peak->gbps);
    printf("%6s %6s %11s %11s %12s %12s %9s %7s\n", "batch", "seq",
           "median ms", "p90 ms", "sequences/s", "tokens/s", "GFLOP/s",
           "peak");
    for (size_t i = 0; i < n; i++) {
        const cell *c = &cells[i];
        const double sps = c->batch / (c->median_ms / 1e3);
        char share[128];
        const int shown = clenc_peak_share_format(c->gflops, peak->gflops,
                                                  share, sizeof share);
        if (!shown && !*why) /* the reason, once, under the table */
            snprintf(why, sizeof why, "%s", share);
        printf("%6u %6u %11.3f %11.3f %12.1f %12.0f %9.1f %7s\n", c->batch,
               c->seq, c->median_ms, c->p90_ms, sps, sps * c->seq, c->gflops,
               shown ? share : "n/a");
    }
    if (*why)
        printf("\nshare of peak: %s\n", why);
    printf("\ntime to first result (batch 1 x seq 16): cold %.1f ms, warm %.1f "
           "ms\ndevice memory: weights %.1f MiB, largest workspace %.1f MiB\n",
           cold, warm, mi->weight_bytes / 1048576.0, workspace / 1048576.0);
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--first-result"))
        return first_result(argv[2], *argv[3] ? argv[3] : NULL);
    bench b;
    memset(&b, 0, sizeof b);
    int rc = parse(argc, argv, &b);
    if (rc)
        return rc;
    if (b.pool) {
        const pool_bench pb = {.model_path = b.model_path, .spec = b.pool,
                               .precision = b.precision, .texts = b.texts,
                               .max_batch = b.batches[0],
                               .max_seq = b.seqs[0], .runs = b.runs,
                               .warmup = b.warmup, .json = b.json};
        return bench_pool(&pb);
    }
    double cold, warm;
    fprintf(stderr, "%s: time to first result (cold, then warm)...", PROG);
    first_result_times(&b, &cold, &warm);
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = b.device;
    clenc_context *ctx = NULL;
    clenc_model *model = NULL;
    clenc_model_info mi;
    clenc_device_info di;
    clenc_device_peak peak;
    int64_t peak_at = 0; /* when it was measured, UNIX time */
    cell cells[MAX_LIST * MAX_LIST];
    size_t n = 0;
    uint64_t workspace = 0;
    clenc_status st;
    fprintf(stderr, "\r%s: measuring the device's peak...                   ",
            PROG);
    if ((st = clenc_context_create(&opt, &ctx)) != CLENC_OK ||
        (st = cli_warn_cache(PROG, ctx)) != CLENC_OK ||
        (st = clenc_context_device(ctx, &di)) != CLENC_OK ||
        (st = clenc_device_peak_query(ctx, 0, &peak, &peak_at)) != CLENC_OK ||
        (st = clenc_model_load(ctx, b.model_path, &model)) != CLENC_OK ||
        (st = clenc_model_info_get(model, &mi)) != CLENC_OK)
        goto out;
    for (size_t i = 0; i < b.nb; i++)
        for (size_t j = 0; j < b.ns; j++, n++) {
            cells[n].batch = b.batches[i];
            cells[n].seq = b.seqs[j];
            if (cells[n].seq > mi.max_sequence) {
                fprintf(stderr, "\n%s: seq %u is over the model's %u "
                                "positions\n",
                        PROG, cells[n].seq, mi.max_sequence);
                rc = 2;
                goto out;
            }
        }
    for (size_t i = 0; i < n && st == CLENC_OK; i++)
        st = run_cell(&b, model, &mi, &cells[i], &workspace, (unsigned)i,
                      (unsigned)n);
    fprintf(stderr, "\n");
    /* A cell above the cached peak means the probe ran under load: it is
     * measured again, once; a share still over 100% is not printed. */
    double fastest = 0;
    for (size_t i = 0; i < n; i++)
        fastest = cells[i].gflops > fastest ? cells[i].gflops : fastest;
    if (st == CLENC_OK && fastest > peak.gflops) {
        fprintf(stderr, "%s: a cell ran at %.1f GFLOP/s, above the cached "
                        "peak of %.1f: measuring the peak again\n",
                PROG, fastest, peak.gflops);
        st = clenc_device_peak_query(ctx, 1, &peak, &peak_at);
    }
    if (st == CLENC_OK)
        print_results(&b, &mi, &di, &peak, peak_at, cells, n, cold, warm,
                      workspace);
out:
    if (st != CLENC_OK)
        rc = cli_fail(PROG, st);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    return rc;
}
