/* clenc-serve — an HTTP server for one model: OpenAI's /v1/embeddings, text-embeddings-inference's /embed and /rerank, with dynamic batching (tools/serve/). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "serve/serve.h"

#define PROG "clenc-serve"

static const char usage[] =
    "usage: " PROG " --model DIR [options]\n"
    "\n"
    "Serves one model over HTTP/1.1 (README: \"Serving\"):\n"
    "POST /v1/embeddings (OpenAI), POST /embed and /rerank (text-embeddings-\n"
    "inference), GET /health, /info, /v1/models, /metrics (Prometheus).\n"
    "\n"
    "  --model DIR             model folder (an embedder, or a reranker)\n"
    "  --host ADDR             address to bind (default 127.0.0.1; 0.0.0.0\n"
    "                          or :: for every interface)\n"
    "  --port N                port (default 8080; 0: any free one, printed)\n"
    "  --device SPEC           gpu | accelerator | cpu | P:D | part of a name;\n"
    "                          'all' or a list (0:0,1:0) splits each batch\n"
    "                          over several devices; a device's failure\n"
    "                          fails its batch, not retried (README:\n"
    "                          \"Several devices\")\n"
    "  --precision P           fp32 (default) | fp16 | int8\n"
    "  --api-key K             every endpoint but /health wants\n"
    "                          'Authorization: Bearer K' (also $CLENC_API_KEY)\n"
    "  --max-batch-tokens N    a batch's tokens, sequences x longest\n"
    "                          (default: max-batch x the model's length)\n"
    "  --max-batch N           sequences a batch (default 32)\n"
    "  --max-wait-ms N         how long a request waits for others to share\n"
    "                          its batch (default 5)\n"
    "  --max-queue N           requests admitted at once; more are 503\n"
    "                          (default 64)\n"
    "  --max-inputs N          texts or passages a request; more are 413\n"
    "                          (default 256)\n"
    "  --max-body-bytes N      a request body's size; more is 413 (default\n"
    "                          2097152)\n"
    "  --max-connections N     open connections; more are 503 (default 128)\n"
    "  --request-timeout-ms N  an answer's time; later is 504 (default 30000)\n"
    "  --no-truncate           over-long inputs are 413, not truncated\n"
    "  --help, --version\n"
    "\n"
    "SIGTERM or SIGINT: stop taking connections, answer what is under way,\n"
    "exit 0.\n";

typedef struct numeric_option {
    const char *name;
    const char *value;
    unsigned long min, max;
} numeric_option;

enum {
    OPT_MAX_BATCH_TOKENS,
    OPT_MAX_BATCH,
    OPT_MAX_WAIT,
    OPT_MAX_QUEUE,
    OPT_MAX_INPUTS,
    OPT_MAX_BODY,
    OPT_MAX_CONNECTIONS,
    OPT_TIMEOUT,
    OPT_PORT,
    OPT_COUNT
};

typedef struct args {
    const char *model, *host, *device, *precision, *api_key;
    numeric_option num[OPT_COUNT];
    unsigned long value[OPT_COUNT];
    int no_truncate;
} args;

static int parse_args(int argc, char **argv, args *a)
{
    static const numeric_option table[OPT_COUNT] = {
        [OPT_MAX_BATCH_TOKENS] = {"--max-batch-tokens", NULL, 1, 1u << 24},
        [OPT_MAX_BATCH] = {"--max-batch", NULL, 1, 4096},
        [OPT_MAX_WAIT] = {"--max-wait-ms", NULL, 0, 60000},
        [OPT_MAX_QUEUE] = {"--max-queue", NULL, 1, 65536},
        [OPT_MAX_INPUTS] = {"--max-inputs", NULL, 1, 65536},
        [OPT_MAX_BODY] = {"--max-body-bytes", NULL, 64, 1ul << 30},
        [OPT_MAX_CONNECTIONS] = {"--max-connections", NULL, 1, 16384},
        [OPT_TIMEOUT] = {"--request-timeout-ms", NULL, 1, 3600000},
        [OPT_PORT] = {"--port", NULL, 0, 65535},
    };
    memcpy(a->num, table, sizeof table);
    int missing = 0;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        cli_help_or_version(arg, PROG, usage);
        int matched = 0;
        if (!strcmp(arg, "--no-truncate")) {
            a->no_truncate = 1;
            continue;
        }
        matched =
            cli_option(argc, argv, &i, "--model", &a->model, &missing) ||
            cli_option(argc, argv, &i, "--host", &a->host, &missing) ||
            cli_option(argc, argv, &i, "--device", &a->device, &missing) ||
            cli_option(argc, argv, &i, "--precision", &a->precision,
                       &missing) ||
            cli_option(argc, argv, &i, "--api-key", &a->api_key, &missing);
        for (int k = 0; k < OPT_COUNT && !matched; k++)
            matched = cli_option(argc, argv, &i, a->num[k].name,
                                 &a->num[k].value, &missing);
        if (!matched)
            return cli_usage_error(PROG, "unknown argument '%s'", arg);
        if (missing)
            return cli_usage_error(PROG, "%s needs a value", arg);
    }
    if (!a->model)
        return cli_usage_error(PROG, "--model DIR is required");
    for (int k = 0; k < OPT_COUNT; k++) {
        const numeric_option *o = &a->num[k];
        if (!o->value)
            continue;
        char *end;
        errno = 0;
        unsigned long v = strtoul(o->value, &end, 10);
        if (errno || end == o->value || *end || o->value[0] == '-' ||
            v < o->min || v > o->max)
            return cli_usage_error(PROG, "%s is %lu..%lu, not '%s'", o->name,
                                   o->min, o->max, o->value);
        a->value[k] = v;
    }
    return 0;
}

static unsigned long option_or(const args *a, int k, unsigned long fallback)
{
    return a->num[k].value ? a->value[k] : fallback;
}

static void set_limits(const args *a, serve *s)
{
    serve_limits *l = &s->lim;
    l->max_batch = (unsigned)option_or(a, OPT_MAX_BATCH, 32);
    l->max_batch_tokens = (unsigned)option_or(
        a, OPT_MAX_BATCH_TOKENS, (unsigned long)l->max_batch * s->max_tokens);
    l->max_wait_ms = (unsigned)option_or(a, OPT_MAX_WAIT, 5);
    l->max_queue = (unsigned)option_or(a, OPT_MAX_QUEUE, 64);
    l->max_inputs = (unsigned)option_or(a, OPT_MAX_INPUTS, 256);
    l->max_body_bytes = option_or(a, OPT_MAX_BODY, 2u << 20);
    l->max_connections = (unsigned)option_or(a, OPT_MAX_CONNECTIONS, 128);
    l->request_timeout_ms = (unsigned)option_or(a, OPT_TIMEOUT, 30000);
    l->truncate = !a->no_truncate;
}

/* How many devices --device all or a list names, to size each device's
 * session so that a batch of --max-batch spreads over all of them. */
static unsigned devices_named(const char *spec)
{
    size_t n = 0;
    if (!strcmp(spec, "all"))
        return clenc_device_list(NULL, 0, &n) == CLENC_OK && n ? (unsigned)n
                                                                : 1;
    unsigned entries = 1;
    for (const char *p = spec; *p; p++)
        entries += *p == ',';
    return entries;
}

/* --device all or a list: a pool, its first device's model for tokenizing
 * and every device for /info. max_seq 0 is the model's truncation. */
static clenc_status open_pool(const args *a, clenc_precision precision,
                              serve *s, clenc_device_info **devices,
                              clenc_pool **out)
{
    const unsigned max_batch = (unsigned)option_or(a, OPT_MAX_BATCH, 32);
    const unsigned named = devices_named(a->device);
    clenc_status st =
        clenc_pool_create(a->device, a->model, precision,
                          (max_batch + named - 1) / named, 0, out);
    if (st != CLENC_OK)
        return st;
    s->device_count = clenc_pool_device_count(*out);
    *devices = calloc(s->device_count, sizeof **devices);
    if (!*devices)
        return CLENC_ERR_OUT_OF_MEMORY;
    for (unsigned i = 0; st == CLENC_OK && i < s->device_count; i++)
        st = clenc_pool_device(*out, i, &(*devices)[i]);
    s->devices = *devices;
    s->device = (*devices)[0];
    s->model = clenc_pool_model(*out, 0);
    return st;
}

/* Until every admitted request is answered, or the timeout has passed
 * (a request past it answers 504 anyway). */
static void wait_idle(serve *s)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += s->lim.request_timeout_ms / 1000 + 2;
    pthread_mutex_lock(&s->lock);
    while (s->active &&
           pthread_cond_timedwait(&s->idle, &s->lock, &deadline) == 0) {
    }
    pthread_mutex_unlock(&s->lock);
}

int main(int argc, char **argv)
{
    args a = {0};
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc;
    clenc_precision precision;
    if (cli_precision(PROG, a.precision, &precision))
        return 2;
    if (!a.api_key)
        a.api_key = getenv("CLENC_API_KEY");
    /* Signals go to sigwait below, never to a server thread: block them
     * before any thread starts. A client that goes away must not kill the
     * server with SIGPIPE. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    serve s = {0};
    s.api_key = a.api_key && *a.api_key ? a.api_key : NULL;
    pthread_mutex_init(&s.lock, NULL);
    pthread_cond_init(&s.idle, NULL);
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = a.device;
    opt.precision = precision;
    clenc_context *ctx = NULL;
    clenc_model *model = NULL;
    clenc_session *session = NULL;
    clenc_pool *pool = NULL;
    clenc_device_info *pool_devices = NULL;
    serve_http *http = NULL;
    rc = 1;
    clenc_status st = CLENC_OK;
    if (cli_several_devices(a.device)) {
        st = open_pool(&a, precision, &s, &pool_devices, &pool);
    } else {
        st = clenc_context_create(&opt, &ctx);
        if (st == CLENC_OK)
            st = cli_warn_cache(PROG, ctx);
        if (st == CLENC_OK)
            st = clenc_context_device(ctx, &s.device);
        if (st == CLENC_OK)
            st = clenc_model_load(ctx, a.model, &model);
        s.model = model;
        s.devices = &s.device;
        s.device_count = 1;
    }
    if (st == CLENC_OK)
        st = clenc_model_info_get(s.model, &s.info);
    if (st != CLENC_OK) {
        cli_fail(PROG, st);
        goto out_destroy;
    }
    s.hidden = s.info.hidden;
    s.max_tokens = s.info.max_text_tokens;
    if (s.info.head == CLENC_HEAD_NONE &&
        ((unsigned)s.info.pooling & ~(unsigned)CLENC_POOL_NORMALIZE) ==
            CLENC_POOL_NONE) {
        fprintf(stderr,
                "%s: model '%s' pools no vector (its pooling is "
                "none): it serves one vector a text\n",
                PROG, s.info.name);
        goto out_destroy;
    }
    set_limits(&a, &s);
    if (!pool)
        st = clenc_session_create(model, s.lim.max_batch, s.max_tokens,
                                  &session);
    if (st != CLENC_OK) {
        cli_fail(PROG, st);
        fprintf(stderr,
                "%s: a session of %u sequences of %u tokens: a lower "
                "--max-batch may fit\n",
                PROG, s.lim.max_batch, s.max_tokens);
        goto out_destroy;
    }
    if (!(s.metrics = serve_metrics_create()) ||
        serve_batcher_start(&s, session, pool, &s.batcher)) {
        fprintf(stderr, "%s: out of memory\n", PROG);
        goto out_destroy;
    }
    const char *host = a.host ? a.host : "127.0.0.1";
    unsigned port = 0;
    if (!(http = serve_http_start(
              &s, host, (unsigned)option_or(&a, OPT_PORT, 8080), &port)))
        goto out_destroy;
    fprintf(stderr, "%s: serving %s (%s, %s) on ", PROG, s.info.name,
            s.info.head == CLENC_HEAD_NONE ? "embedding" : "reranker",
            clenc_precision_name(s.info.precision));
    for (unsigned i = 0; i < s.device_count; i++)
        if (s.device_count == 1)
            fprintf(stderr, "%s", s.devices[i].name);
        else
            fprintf(stderr, "%s%s (%u:%u)", i ? ", " : "", s.devices[i].name,
                    s.devices[i].platform_index, s.devices[i].device_index);
    fprintf(stderr, " on http://%s%s%s:%u/\n", strchr(host, ':') ? "[" : "",
            host, strchr(host, ':') ? "]" : "", port);
    int sig = 0;
    sigwait(&stop, &sig);
    fprintf(stderr,
            "%s: %s: answering the requests under way, then "
            "exiting\n",
            PROG, sig == SIGINT ? "SIGINT" : "SIGTERM");
    pthread_mutex_lock(&s.lock);
    s.draining = 1;
    pthread_mutex_unlock(&s.lock);
    serve_http_quiesce(http);
    wait_idle(&s);
    rc = 0;
out_destroy:
    serve_http_stop(http);
    serve_batcher_stop(s.batcher);
    serve_metrics_destroy(s.metrics);
    clenc_session_destroy(session);
    clenc_pool_destroy(pool);
    free(pool_devices);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    pthread_mutex_destroy(&s.lock);
    pthread_cond_destroy(&s.idle);
    return rc;
}
