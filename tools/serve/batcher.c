/* batcher.c — clenc-serve's dynamic batching: one thread owns the session (or the pool of devices) and merges the queued texts of concurrent requests into length-grouped batches under a token budget. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve.h"

/* A window holds up to this many batches' worth of queued items, sorted
 * by length before it is cut into batches: similar lengths share a batch
 * (as clenc_embed_text groups them), and the ids copied per batch stay
 * close to its real tokens. */
#define WINDOW_BATCHES 4

typedef struct pending {
    serve_job *job;
    size_t index;
} pending;

struct serve_batcher {
    serve *s;
    clenc_session *session; /* or, on several devices, the pool */
    clenc_pool *pool;
    unsigned labels; /* scores a pair */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    /* the queue, oldest first; room for max_queue full requests */
    pending *queue;
    size_t queued, capacity;
    unsigned admitted; /* requests between enter and leave */
    int stopping;
    clenc_pooling pooling;      /* the session's */
    unsigned long long batches; /* run so far; 0 is no batch's number */
    /* the thread's: a window and one batch's arrays */
    pending *window;
    int32_t *batch_ids, *batch_lengths;
    const char **queries, **passages;
    float *batch_out;
};

double serve_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct timespec deadline_in(double ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long ns = ts.tv_nsec + (long long)(ms * 1e6);
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    return ts;
}

static size_t item_tokens(const pending *p)
{
    return p->job->items[p->index].tokens;
}

static int by_tokens(const void *a, const void *b)
{
    size_t x = item_tokens(a), y = item_tokens(b);
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Moves up to a window of the oldest item's kind out of the queue; the
 * count. Under the lock. */
static size_t take_window(serve_batcher *b)
{
    const unsigned kind = b->queue[0].job->kind;
    const size_t max_items = (size_t)b->s->lim.max_batch * WINDOW_BATCHES;
    const size_t max_tokens =
        (size_t)b->s->lim.max_batch_tokens * WINDOW_BATCHES;
    size_t n = 0, tokens = 0, kept = 0;
    for (size_t i = 0; i < b->queued; i++) {
        pending p = b->queue[i];
        if (p.job->kind == kind && n < max_items && tokens < max_tokens) {
            b->window[n++] = p;
            tokens += item_tokens(&p);
            p.job->running++;
        } else {
            b->queue[kept++] = p;
        }
    }
    b->queued = kept;
    return n;
}

static void finish_items(serve_batcher *b, const pending *items, size_t n,
                         clenc_status st, const char *message)
{
    pthread_mutex_lock(&b->lock);
    for (size_t i = 0; i < n; i++) {
        serve_job *job = items[i].job;
        job->running--;
        job->done++;
        if (st != CLENC_OK && job->failed == CLENC_OK) {
            job->failed = st;
            snprintf(job->message, sizeof job->message, "%s: %s",
                     clenc_status_name(st), message);
        }
        pthread_cond_broadcast(&job->cond);
    }
    pthread_mutex_unlock(&b->lock);
}

/* Runs items[0..n), sorted by length, as one batch. Outside the lock:
 * the items' jobs wait for them (running > 0) and cannot go away. */
static void run_batch(serve_batcher *b, const pending *items, size_t n)
{
    const unsigned kind = items[0].job->kind;
    const size_t hidden = b->s->hidden;
    const double start = serve_now_ms();
    size_t tokens = 0, requests = 0;
    for (size_t i = 0; i < n; i++) {
        tokens += item_tokens(&items[i]);
        serve_metrics_observe(b->s->metrics, SERVE_HIST_QUEUE_WAIT,
                              (start - items[i].job->submitted_ms) / 1e3);
        /* each request once, wherever its items are in the batch */
        requests += items[i].job->last_batch != b->batches;
        items[i].job->last_batch = b->batches;
    }
    clenc_status st = CLENC_OK;
    if (kind & SERVE_KIND_SCORE) {
        for (size_t i = 0; i < n; i++) {
            const serve_item *it = &items[i].job->items[items[i].index];
            b->queries[i] = it->query;
            b->passages[i] = it->passage;
        }
        st = b->pool ? clenc_pool_score_pairs(b->pool, b->queries,
                                              b->passages, n,
                                              kind & CLENC_SCORES_RAW,
                                              b->batch_out)
                     : clenc_score_pairs(b->session, b->queries, b->passages,
                                         n, kind & CLENC_SCORES_RAW,
                                         b->batch_out);
        for (size_t i = 0; st == CLENC_OK && i < n; i++)
            memcpy(items[i].job->items[items[i].index].out,
                   b->batch_out + i * b->labels,
                   b->labels * sizeof *b->batch_out);
    } else {
        const size_t seq = item_tokens(&items[n - 1]);
        for (size_t i = 0; i < n; i++) {
            const serve_item *it = &items[i].job->items[items[i].index];
            memcpy(b->batch_ids + i * seq, it->ids,
                   it->tokens * sizeof *it->ids);
            /* padding is never read, but is the caller's memory */
            memset(b->batch_ids + i * seq + it->tokens, 0,
                   (seq - it->tokens) * sizeof *it->ids);
            b->batch_lengths[i] = (int32_t)it->tokens;
        }
        st = b->pool ? clenc_pool_encode(b->pool, b->batch_ids, NULL,
                                         b->batch_lengths, n, (unsigned)seq,
                                         (clenc_pooling)kind, b->batch_out)
                     : clenc_encode(b->session, b->batch_ids, NULL,
                                    b->batch_lengths, (unsigned)n,
                                    (unsigned)seq, (clenc_pooling)kind,
                                    b->batch_out);
        for (size_t i = 0; st == CLENC_OK && i < n; i++)
            memcpy(items[i].job->items[items[i].index].out,
                   b->batch_out + i * hidden, hidden * sizeof *b->batch_out);
    }
    b->batches++;
    const double end = serve_now_ms();
    serve_metrics_observe(b->s->metrics, SERVE_HIST_COMPUTE,
                          (end - start) / 1e3);
    serve_metrics_observe(b->s->metrics, SERVE_HIST_BATCH_SEQUENCES, (double)n);
    serve_metrics_observe(b->s->metrics, SERVE_HIST_BATCH_REQUESTS,
                          (double)requests);
    serve_metrics_observe(b->s->metrics, SERVE_HIST_BATCH_TOKENS,
                          (double)tokens);
    finish_items(b, items, n, st, st == CLENC_OK ? "" : clenc_last_error());
}

/* Cuts a sorted window into batches within the budget and runs them. */
static void run_window(serve_batcher *b, size_t n)
{
    qsort(b->window, n, sizeof *b->window, by_tokens);
    size_t from = 0;
    while (from < n) {
        size_t to = from + 1;
        while (to < n && to - from < b->s->lim.max_batch &&
               (to + 1 - from) * item_tokens(&b->window[to]) <=
                   b->s->lim.max_batch_tokens)
            to++;
        run_batch(b, b->window + from, to - from);
        from = to;
    }
}

/* Tokens queued of the oldest item's kind, up to the budget. */
static size_t ready_tokens(const serve_batcher *b)
{
    const unsigned kind = b->queue[0].job->kind;
    size_t tokens = 0, n = 0;
    for (size_t i = 0; i < b->queued && tokens < b->s->lim.max_batch_tokens &&
                       n < b->s->lim.max_batch;
         i++)
        if (b->queue[i].job->kind == kind) {
            tokens += item_tokens(&b->queue[i]);
            n++;
        }
    return n >= b->s->lim.max_batch ? b->s->lim.max_batch_tokens : tokens;
}

static void *batcher_main(void *arg)
{
    serve_batcher *b = arg;
    pthread_mutex_lock(&b->lock);
    for (;;) {
        while (!b->queued && !b->stopping)
            pthread_cond_wait(&b->wake, &b->lock);
        if (!b->queued)
            break;
        /* The first item waits up to max_wait_ms for company, unless a
         * batch is full already or the server is stopping. */
        const double due =
            b->queue[0].job->submitted_ms + b->s->lim.max_wait_ms;
        if (!b->stopping && ready_tokens(b) < b->s->lim.max_batch_tokens &&
            serve_now_ms() < due) {
            struct timespec ts = deadline_in(due - serve_now_ms());
            pthread_cond_timedwait(&b->wake, &b->lock, &ts);
            continue;
        }
        const size_t n = take_window(b);
        const unsigned kind = b->window[0].job->kind;
        pthread_mutex_unlock(&b->lock);
        if (!(kind & SERVE_KIND_SCORE) && kind != (unsigned)b->pooling) {
            clenc_status st =
                b->pool ? clenc_pool_set_pooling(b->pool, (clenc_pooling)kind)
                        : clenc_session_set_pooling(b->session,
                                                    (clenc_pooling)kind);
            if (st != CLENC_OK) {
                finish_items(b, b->window, n, st, clenc_last_error());
                pthread_mutex_lock(&b->lock);
                continue;
            }
            b->pooling = (clenc_pooling)kind;
        }
        run_window(b, n);
        pthread_mutex_lock(&b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* The batcher's memory (the thread, lock and condition are the caller's
 * to end first). */
static void free_batcher(serve_batcher *b)
{
    free(b->queue);
    free(b->window);
    free(b->batch_ids);
    free(b->batch_lengths);
    free(b->queries);
    free(b->passages);
    free(b->batch_out);
    free(b);
}

int serve_batcher_start(serve *s, clenc_session *session, clenc_pool *pool,
                        serve_batcher **out)
{
    *out = NULL;
    serve_batcher *b = calloc(1, sizeof *b);
    if (!b)
        return -1;
    b->s = s;
    b->session = session;
    b->pool = pool;
    b->batches = 1;
    b->labels = s->info.num_labels ? s->info.num_labels : 1;
    b->capacity = (size_t)s->lim.max_queue * s->lim.max_inputs;
    const size_t window = (size_t)s->lim.max_batch * WINDOW_BATCHES;
    const size_t per_row = s->hidden > b->labels ? s->hidden : b->labels;
    b->queue = malloc(b->capacity * sizeof *b->queue);
    b->window = malloc(window * sizeof *b->window);
    b->batch_ids =
        malloc((size_t)s->lim.max_batch * s->max_tokens * sizeof *b->batch_ids);
    b->batch_lengths = malloc(s->lim.max_batch * sizeof *b->batch_lengths);
    b->queries = malloc(s->lim.max_batch * sizeof *b->queries);
    b->passages = malloc(s->lim.max_batch * sizeof *b->passages);
    b->batch_out =
        malloc((size_t)s->lim.max_batch * per_row * sizeof *b->batch_out);
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->wake, NULL);
    if (!b->queue || !b->window || !b->batch_ids || !b->batch_lengths ||
        !b->queries || !b->passages || !b->batch_out ||
        pthread_create(&b->thread, NULL, batcher_main, b) != 0) {
        free_batcher(b);
        return -1;
    }
    *out = b;
    return 0;
}

unsigned serve_batcher_enter(serve_batcher *b)
{
    unsigned status = 0;
    pthread_mutex_lock(&b->lock);
    if (b->admitted >= b->s->lim.max_queue)
        status = 503;
    else
        b->admitted++;
    pthread_mutex_unlock(&b->lock);
    if (!status)
        serve_metrics_queue(b->s->metrics, 1);
    return status;
}

void serve_batcher_leave(serve_batcher *b)
{
    pthread_mutex_lock(&b->lock);
    b->admitted--;
    pthread_mutex_unlock(&b->lock);
    serve_metrics_queue(b->s->metrics, -1);
}

/* Withdraws the job's queued items. Under the lock. */
static void withdraw(serve_batcher *b, serve_job *job)
{
    size_t kept = 0;
    for (size_t i = 0; i < b->queued; i++)
        if (b->queue[i].job != job)
            b->queue[kept++] = b->queue[i];
    b->queued = kept;
}

unsigned serve_batcher_run(serve_batcher *b, serve_job *job,
                           unsigned timeout_ms)
{
    unsigned status = 0;
    job->done = job->running = 0;
    job->last_batch = 0;
    job->failed = CLENC_OK;
    job->message[0] = '\0';
    pthread_cond_init(&job->cond, NULL);
    pthread_mutex_lock(&b->lock);
    job->submitted_ms = serve_now_ms();
    /* enter() bounds the requests and the API the items of each: the
     * queue has room */
    for (size_t i = 0; i < job->count; i++)
        b->queue[b->queued++] = (pending){job, i};
    pthread_cond_signal(&b->wake);
    struct timespec deadline = deadline_in(timeout_ms);
    while (job->done < job->count && job->failed == CLENC_OK) {
        if (pthread_cond_timedwait(&job->cond, &b->lock, &deadline) != 0 &&
            job->done < job->count) {
            status = 504;
            break;
        }
    }
    if (job->failed != CLENC_OK)
        status = 500;
    if (status) {
        /* Nothing may write into the job once this returns. */
        withdraw(b, job);
        while (job->running)
            pthread_cond_wait(&job->cond, &b->lock);
    }
    pthread_mutex_unlock(&b->lock);
    pthread_cond_destroy(&job->cond);
    return status;
}

void serve_batcher_stop(serve_batcher *b)
{
    if (!b)
        return;
    pthread_mutex_lock(&b->lock);
    b->stopping = 1;
    pthread_cond_signal(&b->wake);
    pthread_mutex_unlock(&b->lock);
    pthread_join(b->thread, NULL);
    pthread_mutex_destroy(&b->lock);
    pthread_cond_destroy(&b->wake);
    free_batcher(b);
}
