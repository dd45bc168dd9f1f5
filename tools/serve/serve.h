/* serve.h — what clenc-serve's parts share: its limits, the model it serves, and the calls between HTTP, API, batcher and metrics. */
#ifndef CLENC_SERVE_H
#define CLENC_SERVE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "clenc.h"

/* The limits, set by the command line; read-only once the server runs. */
typedef struct serve_limits {
    unsigned max_batch_tokens; /* padded tokens (sequences x longest) */
    unsigned max_batch;        /* sequences a batch (the session's) */
    unsigned max_wait_ms;      /* how long a first request waits for more */
    unsigned max_queue;        /* requests admitted and not yet answered */
    size_t max_body_bytes;
    unsigned max_inputs; /* texts (or passages) a request */
    unsigned max_connections;
    unsigned request_timeout_ms;
    int truncate; /* 0: --no-truncate, over-long input is 413 */
} serve_limits;

typedef struct serve_metrics serve_metrics;
typedef struct serve_batcher serve_batcher;

/* The process's server: set up by main, then shared read-only by every
 * thread but for the fields marked otherwise. */
typedef struct serve {
    serve_limits lim;
    const char *api_key;      /* NULL: none asked */
    const clenc_model *model; /* tokenizing only: HTTP threads never encode */
    clenc_model_info info;
    clenc_device_info device; /* the first device */
    /* every device: &device alone, or a pool's (--device all or a list) */
    const clenc_device_info *devices;
    unsigned device_count;
    unsigned hidden, max_tokens; /* max_tokens: the model's truncation */
    serve_batcher *batcher;
    serve_metrics *metrics;
    /* under `lock`: requests being answered, and whether SIGTERM came */
    pthread_mutex_t lock;
    pthread_cond_t idle;
    unsigned active;
    int draining;
} serve;

/* An answer: status, a malloc'd body (freed by the HTTP layer) and what
 * it is. retry_after: seconds for a Retry-After header, 0 for none. */
typedef struct serve_reply {
    unsigned status;
    char *body;
    size_t length;
    const char *content_type;
    unsigned retry_after;
} serve_reply;

/* ------------------------------------------------------------------ api.c */

/* Answers one request whose body has arrived (within the limits);
 * started_ms (serve_now_ms) starts its --request-timeout-ms. */
void serve_api_handle(serve *s, const char *method, const char *url,
                      const char *body, size_t length, double started_ms,
                      serve_reply *reply);
/* An error answer in OpenAI's shape: {"error": {"message", "type",
 * "param", "code"}}; param may be NULL. */
void serve_api_error(serve_reply *reply, unsigned status, const char *type,
                     const char *param, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* -------------------------------------------------------------- batcher.c */

/* One sequence to encode or one pair to score, with the place its result
 * goes. */
typedef struct serve_item {
    const int32_t *ids;          /* embedding: the tokens, `tokens` of them */
    const char *query, *passage; /* scoring: the pair, C strings */
    size_t tokens;               /* real tokens: what the budget counts */
    float *out;                  /* hidden floats, or num_labels scores */
} serve_item;

/* What a batch runs: how items of different jobs may share one. */
#define SERVE_KIND_SCORE 0x10000u /* or'ed with CLENC_SCORES_RAW or not */

typedef struct serve_job {
    unsigned kind; /* embedding: the clenc_pooling; else SERVE_KIND_SCORE */
    serve_item *items;
    size_t count;
    /* the batcher's, under its lock */
    size_t done, running;
    clenc_status failed;
    char message[512];
    double submitted_ms;
    pthread_cond_t cond;
    /* the batcher thread's alone: the last batch that held its items */
    unsigned long long last_batch;
} serve_job;

/* Starts the thread that owns the session, or the pool of devices (one of
 * them is NULL), and encodes every batch: a pool splits each batch over
 * its devices, and a device's failure fails the batch (no retry). */
int serve_batcher_start(serve *s, clenc_session *session, clenc_pool *pool,
                        serve_batcher **out);
/* Takes a place in the queue of requests (--max-queue): 0, or 503 when
 * the queue is full. serve_batcher_leave gives it back. */
unsigned serve_batcher_enter(serve_batcher *b);
void serve_batcher_leave(serve_batcher *b);
/* Queues the job's items and waits for them: 0 when every result is in
 * place, 504 after timeout_ms (the job's items are withdrawn), 500 when a
 * batch failed (job->message says why). */
unsigned serve_batcher_run(serve_batcher *b, serve_job *job,
                           unsigned timeout_ms);
/* Finishes what is queued, then stops the thread. */
void serve_batcher_stop(serve_batcher *b);

/* -------------------------------------------------------------- metrics.c */

typedef enum serve_histogram {
    SERVE_HIST_BATCH_SEQUENCES,
    SERVE_HIST_BATCH_REQUESTS,
    SERVE_HIST_BATCH_TOKENS,
    SERVE_HIST_QUEUE_WAIT,
    SERVE_HIST_COMPUTE,
    SERVE_HIST_COUNT
} serve_histogram;

serve_metrics *serve_metrics_create(void);
void serve_metrics_destroy(serve_metrics *m);
void serve_metrics_request(serve_metrics *m, const char *url, unsigned status);
void serve_metrics_tokens(serve_metrics *m, size_t inputs, size_t tokens);
void serve_metrics_observe(serve_metrics *m, serve_histogram h, double v);
void serve_metrics_connections(serve_metrics *m, int delta);
void serve_metrics_queue(serve_metrics *m, int delta);
/* The Prometheus text exposition, malloc'd. */
char *serve_metrics_text(serve_metrics *m, size_t *length);

/* ----------------------------------------------------------------- http.c */

typedef struct serve_http serve_http;

/* Listens on host:port (port 0: any free one) with a thread per
 * connection; *bound_port receives the port. NULL on failure (said on
 * stderr). */
serve_http *serve_http_start(serve *s, const char *host, unsigned port,
                             unsigned *bound_port);
/* Stops accepting connections; requests under way carry on. */
void serve_http_quiesce(serve_http *h);
void serve_http_stop(serve_http *h);

double serve_now_ms(void);

#endif
