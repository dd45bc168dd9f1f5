/* metrics.c — clenc-serve's counters and histograms, and their Prometheus text exposition for GET /metrics. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve.h"

#define MAX_BUCKETS 16

/* Requests are counted by endpoint and status; the endpoints are the
 * server's, anything else is "other", so that a scan of random paths
 * cannot grow the table. */
static const char *const endpoints[] = {
    "/v1/embeddings", "/embed",     "/rerank",  "/health",
    "/info",          "/v1/models", "/metrics", "other"};
#define ENDPOINTS (sizeof endpoints / sizeof endpoints[0])
#define STATUSES 600

typedef struct histogram_spec {
    const char *name, *help;
    double bounds[MAX_BUCKETS];
    size_t count;
} histogram_spec;

static const histogram_spec specs[SERVE_HIST_COUNT] = {
    [SERVE_HIST_BATCH_SEQUENCES] = {"clenc_batch_sequences",
                                    "Sequences (texts or pairs) a batch.",
                                    {1, 2, 4, 8, 16, 32, 64, 128, 256},
                                    9},
    [SERVE_HIST_BATCH_REQUESTS] = {"clenc_batch_requests",
                                   "Requests whose inputs share a batch.",
                                   {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64},
                                   11},
    [SERVE_HIST_BATCH_TOKENS] = {"clenc_batch_tokens",
                                 "Real tokens a batch.",
                                 {16, 64, 256, 1024, 2048, 4096, 8192, 16384,
                                  65536},
                                 9},
    [SERVE_HIST_QUEUE_WAIT] =
        {"clenc_queue_wait_seconds",
         "Time from a request's queueing to its input's batch starting.",
         {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
          10},
         13},
    [SERVE_HIST_COMPUTE] = {"clenc_compute_seconds",
                            "Time a batch takes on the device.",
                            {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                             0.5, 1, 2.5, 5, 10},
                            13},
};

typedef struct histogram {
    unsigned long long buckets[MAX_BUCKETS]; /* not cumulative */
    unsigned long long count;
    double sum;
} histogram;

struct serve_metrics {
    pthread_mutex_t lock;
    unsigned long long requests[ENDPOINTS][STATUSES];
    unsigned long long inputs, tokens;
    long long connections, queue;
    histogram hist[SERVE_HIST_COUNT];
};

serve_metrics *serve_metrics_create(void)
{
    serve_metrics *m = calloc(1, sizeof *m);
    if (m)
        pthread_mutex_init(&m->lock, NULL);
    return m;
}

void serve_metrics_destroy(serve_metrics *m)
{
    if (!m)
        return;
    pthread_mutex_destroy(&m->lock);
    free(m);
}

void serve_metrics_request(serve_metrics *m, const char *url, unsigned status)
{
    size_t e = ENDPOINTS - 1;
    for (size_t i = 0; i + 1 < ENDPOINTS; i++)
        if (!strcmp(url, endpoints[i]))
            e = i;
    if (status >= STATUSES)
        status = 0;
    pthread_mutex_lock(&m->lock);
    m->requests[e][status]++;
    pthread_mutex_unlock(&m->lock);
}

void serve_metrics_tokens(serve_metrics *m, size_t inputs, size_t tokens)
{
    pthread_mutex_lock(&m->lock);
    m->inputs += inputs;
    m->tokens += tokens;
    pthread_mutex_unlock(&m->lock);
}

void serve_metrics_observe(serve_metrics *m, serve_histogram h, double v)
{
    const histogram_spec *spec = &specs[h];
    size_t b = 0;
    while (b < spec->count && v > spec->bounds[b])
        b++;
    pthread_mutex_lock(&m->lock);
    if (b < spec->count)
        m->hist[h].buckets[b]++;
    m->hist[h].count++;
    m->hist[h].sum += v;
    pthread_mutex_unlock(&m->lock);
}

void serve_metrics_connections(serve_metrics *m, int delta)
{
    pthread_mutex_lock(&m->lock);
    m->connections += delta;
    pthread_mutex_unlock(&m->lock);
}

void serve_metrics_queue(serve_metrics *m, int delta)
{
    pthread_mutex_lock(&m->lock);
    m->queue += delta;
    pthread_mutex_unlock(&m->lock);
}

typedef struct text {
    char *data;
    size_t length, capacity;
    int failed;
} text;

static void add(text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add(text *t, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        const size_t room = t->capacity - t->length;
        int n = vsnprintf(t->data ? t->data + t->length : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0 || t->failed) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < room) {
            t->length += (size_t)n;
            return;
        }
        size_t cap = t->capacity ? t->capacity * 2 : 8192;
        while (cap < t->length + (size_t)n + 1)
            cap *= 2;
        char *grown = realloc(t->data, cap);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->data = grown;
        t->capacity = cap;
    }
}

char *serve_metrics_text(serve_metrics *m, size_t *length)
{
    text t = {0};
    pthread_mutex_lock(&m->lock);
    add(&t, "# HELP clenc_requests_total HTTP requests answered, by endpoint "
            "and status.\n# TYPE clenc_requests_total counter\n");
    for (size_t e = 0; e < ENDPOINTS; e++)
        for (unsigned st = 0; st < STATUSES; st++)
            if (m->requests[e][st])
                add(&t,
                    "clenc_requests_total{endpoint=\"%s\",status=\"%u\"} "
                    "%llu\n",
                    endpoints[e], st, m->requests[e][st]);
    add(&t,
        "# HELP clenc_inputs_total Texts, token arrays and pairs "
        "accepted.\n# TYPE clenc_inputs_total counter\nclenc_inputs_total "
        "%llu\n"
        "# HELP clenc_tokens_total Tokens of the inputs accepted, after "
        "truncation.\n# TYPE clenc_tokens_total counter\nclenc_tokens_total "
        "%llu\n"
        "# HELP clenc_connections Open HTTP connections.\n# TYPE "
        "clenc_connections gauge\nclenc_connections %lld\n"
        "# HELP clenc_queue_requests Requests admitted and not yet "
        "answered.\n# TYPE clenc_queue_requests gauge\nclenc_queue_requests "
        "%lld\n",
        m->inputs, m->tokens, m->connections, m->queue);
    for (int h = 0; h < SERVE_HIST_COUNT; h++) {
        const histogram_spec *spec = &specs[h];
        const histogram *hist = &m->hist[h];
        add(&t, "# HELP %s %s\n# TYPE %s histogram\n", spec->name, spec->help,
            spec->name);
        unsigned long long cumulative = 0;
        for (size_t b = 0; b < spec->count; b++) {
            cumulative += hist->buckets[b];
            add(&t, "%s_bucket{le=\"%g\"} %llu\n", spec->name, spec->bounds[b],
                cumulative);
        }
        add(&t, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.9g\n%s_count %llu\n",
            spec->name, hist->count, spec->name, hist->sum, spec->name,
            hist->count);
    }
    pthread_mutex_unlock(&m->lock);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    *length = t.length;
    return t.data;
}
