/* pool.c — several devices at once: a context, model and session per device, a worker thread each, inputs (texts, token ids, pairs) handed out in chunks, results in input order. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* Built on the public API only: a pool is what a caller could write with
 * one context per device, and it keeps no state the engine has to know. */

typedef struct pool_member {
    clenc_device_info device;
    clenc_context *ctx;
    clenc_model *model;
    clenc_session *session;
    long fault_countdown; /* tests: armed in the worker's thread (fault.c) */
} pool_member;

struct clenc_pool {
    pool_member *members;
    unsigned count;
    unsigned max_batch;
    size_t row_floats; /* floats of one text's result */
};

/* What one call computes, a chunk at a time: run() does items
 * [first, end) on one session and writes their results at out, which is
 * the call's out + first * row_floats. embed_text, encode and the head
 * calls differ only here; handing out chunks and failing is shared. */
typedef struct pool_job pool_job;
struct pool_job {
    const char *fn;   /* the public call, for its own messages */
    const char *what; /* "texts", "sequences", "pairs": the chunk's range */
    clenc_status (*run)(const pool_job *job, clenc_session *session,
                        size_t first, size_t end, float *out);
    size_t n, chunk, row_floats;
    float *out;
    /* The inputs; each run() reads its own. */
    const char *const *texts;    /* embed_text, classify; queries */
    const char *const *passages; /* score_pairs */
    const size_t *text_lengths;  /* embed_text_n; NULL: NUL-terminated */
    const int32_t *ids, *type_ids, *seq_lengths; /* encode, [n][seq] */
    unsigned seq, flags;
    clenc_pooling pooling;
};

/* One call's shared state: the next item to hand out, and the first
 * failure (which stops the other workers taking chunks). */
typedef struct pool_call {
    const pool_job *job;
    size_t next;
    pthread_mutex_t lock;
    int failed;
    clenc_status status;
    char *error; /* "device 'NAME' (P:D), texts A..B: message" */
} pool_call;

typedef struct pool_worker {
    pool_call *call;
    pool_member *member;
} pool_worker;

/* Records the worker's failure unless another came first; the message is
 * the worker's thread-local last error, copied so the caller's thread can
 * raise it. Plain malloc: the block is freed on another thread, and
 * clenc__malloc counts live blocks per thread. */
static void record_failure(pool_call *call, const pool_member *m,
                           clenc_status st, size_t first, size_t end)
{
    const char *fmt = "device '%s' (%u:%u), %s %zu..%zu: %s";
    const char *why = clenc_last_error();
    const char *what = call->job->what;
    const int len = snprintf(NULL, 0, fmt, m->device.name,
                             m->device.platform_index,
                             m->device.device_index, what, first, end - 1,
                             why);
    char *msg = len < 0 ? NULL : malloc((size_t)len + 1);
    if (msg)
        snprintf(msg, (size_t)len + 1, fmt, m->device.name,
                 m->device.platform_index, m->device.device_index, what,
                 first, end - 1, why);
    pthread_mutex_lock(&call->lock);
    if (call->status == CLENC_OK) {
        call->failed = 1;
        call->status = st;
        call->error = msg;
        msg = NULL;
    }
    pthread_mutex_unlock(&call->lock);
    free(msg);
}

static void *worker_main(void *arg)
{
    pool_worker *w = arg;
    pool_call *call = w->call;
    const pool_job *job = call->job;
    pool_member *m = w->member;
    if (m->fault_countdown) {
        clenc__fault_arm(m->fault_countdown);
        m->fault_countdown = 0;
    }
    for (;;) {
        pthread_mutex_lock(&call->lock);
        const size_t first = call->next;
        const int stop = call->failed || first >= job->n;
        if (!stop)
            call->next += job->chunk < job->n - first ? job->chunk
                                                      : job->n - first;
        const size_t end = call->next;
        pthread_mutex_unlock(&call->lock);
        if (stop)
            break;
        clenc_status st = job->run(job, m->session, first, end,
                                   job->out + first * job->row_floats);
        if (st != CLENC_OK) {
            record_failure(call, m, st, first, end);
            break;
        }
    }
    clenc__fault_arm(0);
    return NULL;
}

/* Splits "all" or a comma-separated list of device specs into the devices
 * they select; an entry that selects none is named. */
static clenc_status parse_devices(const char *devices,
                                  clenc_device_info **out, unsigned *count)
{
    *out = NULL;
    *count = 0;
    if (!devices || !*devices)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_create: no devices (\"all\" or a "
                           "list such as \"0:0,1:0\")");
    if (!strcmp(devices, "all")) {
        size_t n = 0;
        clenc_status st = clenc_device_list(NULL, 0, &n);
        if (st != CLENC_OK)
            return st;
        clenc_device_info *list = clenc__calloc(n, sizeof *list);
        if (!list)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "clenc_pool_create: %zu devices", n);
        size_t got = 0;
        st = clenc_device_list(list, n, &got);
        if (st != CLENC_OK) {
            clenc__free(list);
            return st;
        }
        *out = list;
        *count = (unsigned)(got < n ? got : n);
        return CLENC_OK;
    }
    unsigned entries = 1;
    for (const char *p = devices; *p; p++)
        entries += *p == ',';
    clenc_device_info *list = clenc__calloc(entries, sizeof *list);
    if (!list)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "clenc_pool_create: %u devices", entries);
    const char *entry = devices;
    for (unsigned i = 0; i < entries; i++) {
        const size_t len = strcspn(entry, ",");
        char spec[128];
        clenc_status st = CLENC_OK;
        if (len == 0 || len >= sizeof spec)
            st = clenc__fail(CLENC_ERR_INVALID_ARG,
                             "clenc_pool_create: device list '%s': entry "
                             "%u is %s",
                             devices, i, len ? "too long" : "empty");
        if (st == CLENC_OK) {
            memcpy(spec, entry, len);
            spec[len] = '\0';
            st = clenc_device_find(spec, &list[i]);
            if (st != CLENC_OK) {
                char *why = clenc__strdup(clenc_last_error());
                st = clenc__fail(st,
                                 "clenc_pool_create: device list '%s': "
                                 "entry '%s': %s",
                                 devices, spec, why ? why : "");
                clenc__free(why);
            }
        }
        if (st != CLENC_OK) {
            clenc__free(list);
            return st;
        }
        entry += len + 1;
    }
    *out = list;
    *count = entries;
    return CLENC_OK;
}

/* The member's context, model and session; a failure names the device. */
static clenc_status member_open(pool_member *m, const char *model_path,
                                clenc_precision precision, unsigned max_batch,
                                unsigned max_seq)
{
    char spec[32];
    snprintf(spec, sizeof spec, "%u:%u", m->device.platform_index,
             m->device.device_index);
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = spec;
    clenc_status st = clenc_context_create(&opt, &m->ctx);
    if (st == CLENC_OK)
        st = clenc_model_load_as(m->ctx, model_path, precision, &m->model);
    clenc_model_info info;
    if (st == CLENC_OK && max_seq == 0) {
        st = clenc_model_info_get(m->model, &info);
        max_seq = info.max_text_tokens;
    }
    if (st == CLENC_OK)
        st = clenc_session_create(m->model, max_batch, max_seq, &m->session);
    if (st != CLENC_OK) {
        char *why = clenc__strdup(clenc_last_error());
        st = clenc__fail(st, "device '%s' (%s): %s", m->device.name, spec,
                         why ? why : "");
        clenc__free(why);
    }
    return st;
}

void clenc_pool_destroy(clenc_pool *pool)
{
    if (!pool)
        return;
    for (unsigned i = 0; i < pool->count; i++) {
        clenc_session_destroy(pool->members[i].session);
        clenc_model_destroy(pool->members[i].model);
        clenc_context_destroy(pool->members[i].ctx);
    }
    clenc__free(pool->members);
    clenc__free(pool);
}

/* The model's hidden size and the pooling mode `pooling` means for it
 * (CLENC_POOL_DEFAULT resolved, NORMALIZE dropped): what sizes a row. */
static clenc_status pool_mode(const clenc_pool *pool, clenc_pooling pooling,
                              unsigned *hidden, unsigned *mode)
{
    clenc_model_info info;
    clenc_status st = clenc_model_info_get(pool->members[0].model, &info);
    if (st != CLENC_OK)
        return st;
    *hidden = info.hidden;
    *mode = (unsigned)(pooling == CLENC_POOL_DEFAULT ? info.pooling
                                                    : pooling) &
            ~(unsigned)CLENC_POOL_NORMALIZE;
    return CLENC_OK;
}

/* The floats of one text's result under `pooling`, as clenc_embed_text
 * writes them. */
static clenc_status set_row_floats(clenc_pool *pool, clenc_pooling pooling)
{
    unsigned hidden, mode;
    clenc_session_info sinfo;
    clenc_status st = pool_mode(pool, pooling, &hidden, &mode);
    if (st == CLENC_OK)
        st = clenc_session_info_get(pool->members[0].session, &sinfo);
    if (st != CLENC_OK)
        return st;
    pool->row_floats =
        (size_t)hidden * (mode == CLENC_POOL_NONE ? sinfo.max_seq : 1);
    return CLENC_OK;
}

clenc_status clenc_pool_create(const char *devices, const char *model_path,
                               clenc_precision precision, unsigned max_batch,
                               unsigned max_seq, clenc_pool **out)
{
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_create: out is NULL");
    *out = NULL;
    if (!model_path)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_create: model_path is NULL");
    clenc_pool *pool = clenc__calloc(1, sizeof *pool);
    if (!pool)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "clenc_pool_create");
    clenc_device_info *found = NULL;
    unsigned count = 0;
    clenc_status st = parse_devices(devices, &found, &count);
    if (st != CLENC_OK)
        goto out_free_pool;
    pool->members = clenc__calloc(count, sizeof *pool->members);
    if (!pool->members) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "clenc_pool_create");
        goto out_free_found;
    }
    pool->max_batch = max_batch;
    for (unsigned i = 0; i < count && st == CLENC_OK; i++) {
        pool->members[i].device = found[i];
        pool->count = i + 1;
        st = member_open(&pool->members[i], model_path, precision, max_batch,
                         max_seq);
    }
    if (st == CLENC_OK)
        st = set_row_floats(pool, CLENC_POOL_DEFAULT);
    if (st == CLENC_OK) {
        *out = pool;
        pool = NULL;
    }
out_free_found:
    clenc__free(found);
out_free_pool:
    clenc_pool_destroy(pool);
    return st;
}

unsigned clenc_pool_device_count(const clenc_pool *pool)
{
    return pool ? pool->count : 0;
}

clenc_status clenc_pool_device_sized(const clenc_pool *pool, unsigned index,
                                     clenc_device_info *out, size_t out_size)
{
    clenc_status st = CLENC__STRUCT_SIZE("clenc_pool_device",
                                         clenc_device_info, out_size);
    if (st != CLENC_OK)
        return st;
    if (!pool || !out || index >= pool->count)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_device: no device %u (the pool has "
                           "%u)",
                           index, pool ? pool->count : 0);
    CLENC__STRUCT_OUT(out, out_size, &pool->members[index].device);
    return CLENC_OK;
}

const clenc_model *clenc_pool_model(const clenc_pool *pool, unsigned index)
{
    return pool && index < pool->count ? pool->members[index].model : NULL;
}

clenc_status clenc_pool_set_pooling(clenc_pool *pool, clenc_pooling pooling)
{
    if (!pool)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_set_pooling: pool is NULL");
    for (unsigned i = 0; i < pool->count; i++) {
        clenc_status st =
            clenc_session_set_pooling(pool->members[i].session, pooling);
        if (st != CLENC_OK)
            return st;
    }
    return set_row_floats(pool, pooling);
}

void clenc__pool_fault_arm(clenc_pool *pool, unsigned index, long n)
{
    if (pool && index < pool->count)
        pool->members[index].fault_countdown = n;
}

/* Runs the job on every member at once, a worker thread each, and
 * returns the first failure, named by its device and chunk. */
static clenc_status run_job(clenc_pool *pool, const pool_job *job)
{
    if (job->n == 0)
        return CLENC_OK;
    if (job->row_floats && job->n > SIZE_MAX / sizeof(float) / job->row_floats)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: n = %zu results cannot fit in memory",
                           job->fn, job->n);
    pool_call call = {.job = job, .status = CLENC_OK};
    if (pthread_mutex_init(&call.lock, NULL) != 0)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "%s: pthread_mutex_init", job->fn);
    pool_worker *workers = clenc__calloc(pool->count, sizeof *workers);
    pthread_t *threads = clenc__calloc(pool->count, sizeof *threads);
    clenc_status st = CLENC_OK;
    unsigned started = 0;
    if (!workers || !threads) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "%s", job->fn);
        goto out_free_workers;
    }
    for (; started < pool->count; started++) {
        workers[started] = (pool_worker){&call, &pool->members[started]};
        if (pthread_create(&threads[started], NULL, worker_main,
                           &workers[started]) != 0)
            break;
    }
    if (started < pool->count) {
        /* Those started stop at their next chunk; the call fails whole. */
        pthread_mutex_lock(&call.lock);
        call.failed = 1;
        pthread_mutex_unlock(&call.lock);
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    if (call.error)
        st = clenc__fail(call.status, "%s", call.error);
    else if (call.status != CLENC_OK)
        st = clenc__fail(call.status, "%s: a device failed (no memory for "
                                      "its message)",
                         job->fn);
    else if (call.failed)
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "%s: could not start a thread for device %u of %u",
                         job->fn, started, pool->count);
out_free_workers:
    free(call.error);
    clenc__free(threads);
    clenc__free(workers);
    pthread_mutex_destroy(&call.lock);
    return st;
}

/* Chunks of a few batches for the calls that tokenize: large enough that
 * each session batches by length well, small enough that a faster device
 * takes more of them. */
static size_t text_chunk(const clenc_pool *pool)
{
    return 4 * (size_t)(pool->max_batch ? pool->max_batch : 1);
}

static clenc_status run_embed_text(const pool_job *job, clenc_session *s,
                                   size_t first, size_t end, float *out)
{
    return clenc_embed_text_n(s, job->texts + first,
                              job->text_lengths ? job->text_lengths + first
                                                : NULL,
                              end - first, out);
}

clenc_status clenc_pool_embed_text_n(clenc_pool *pool,
                                     const char *const *texts,
                                     const size_t *lengths, size_t n,
                                     float *out)
{
    if (!pool || (n && (!texts || !out)))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_embed_text: %s is NULL",
                           !pool ? "pool" : !texts ? "texts" : "out");
    const pool_job job = {.fn = "clenc_pool_embed_text", .what = "texts",
                          .run = run_embed_text, .n = n,
                          .chunk = text_chunk(pool),
                          .row_floats = pool->row_floats, .out = out,
                          .texts = texts, .text_lengths = lengths};
    return run_job(pool, &job);
}

clenc_status clenc_pool_embed_text(clenc_pool *pool, const char *const *texts,
                                   size_t n, float *out)
{
    return clenc_pool_embed_text_n(pool, texts, NULL, n, out);
}

static clenc_status run_encode(const pool_job *job, clenc_session *s,
                               size_t first, size_t end, float *out)
{
    const size_t at = first * job->seq;
    return clenc_encode(s, job->ids + at,
                        job->type_ids ? job->type_ids + at : NULL,
                        job->seq_lengths ? job->seq_lengths + first : NULL,
                        (unsigned)(end - first), job->seq, job->pooling, out);
}

clenc_status clenc_pool_encode(clenc_pool *pool, const int32_t *ids,
                               const int32_t *type_ids,
                               const int32_t *lengths, size_t n, unsigned seq,
                               clenc_pooling pooling, float *out)
{
    if (!pool || (n && (!ids || !out)))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_encode: %s is NULL",
                           !pool ? "pool" : !ids ? "ids" : "out");
    if (seq == 0)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_encode: seq is 0");
    /* Rows as clenc_encode writes them; a value that is no pooling is
     * refused by each chunk's clenc_encode, which names the device. */
    unsigned hidden, mode;
    clenc_status st = pool_mode(pool, pooling, &hidden, &mode);
    if (st != CLENC_OK)
        return st;
    const pool_job job = {
        .fn = "clenc_pool_encode", .what = "sequences", .run = run_encode,
        .n = n, .chunk = pool->max_batch ? pool->max_batch : 1,
        .row_floats = (size_t)hidden * (mode == CLENC_POOL_NONE ? seq : 1),
        .out = out, .ids = ids, .type_ids = type_ids, .seq_lengths = lengths,
        .seq = seq, .pooling = pooling};
    return run_job(pool, &job);
}

/* The head's labels per input; a model without a head is refused once,
 * not by every device. */
static clenc_status head_labels(const clenc_pool *pool, const char *fn,
                                size_t *labels)
{
    clenc_model_info info;
    clenc_status st = clenc_model_info_get(pool->members[0].model, &info);
    if (st != CLENC_OK)
        return st;
    if (info.num_labels == 0)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "%s: model '%s' has no sequence-classification "
                           "head (config.json's architectures names no "
                           "*ForSequenceClassification)",
                           fn, info.name);
    *labels = info.num_labels;
    return CLENC_OK;
}

static clenc_status run_score_pairs(const pool_job *job, clenc_session *s,
                                    size_t first, size_t end, float *out)
{
    return clenc_score_pairs(s, job->texts + first, job->passages + first,
                             end - first, job->flags, out);
}

clenc_status clenc_pool_score_pairs(clenc_pool *pool,
                                    const char *const *queries,
                                    const char *const *passages, size_t n,
                                    unsigned flags, float *scores)
{
    if (!pool || (n && (!queries || !passages || !scores)))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_score_pairs: %s is NULL",
                           !pool      ? "pool"
                           : !queries ? "queries"
                           : !passages ? "passages"
                                       : "scores");
    size_t labels = 0;
    clenc_status st = head_labels(pool, "clenc_pool_score_pairs", &labels);
    if (st != CLENC_OK)
        return st;
    const pool_job job = {.fn = "clenc_pool_score_pairs", .what = "pairs",
                          .run = run_score_pairs, .n = n,
                          .chunk = text_chunk(pool), .row_floats = labels,
                          .out = scores, .texts = queries,
                          .passages = passages, .flags = flags};
    return run_job(pool, &job);
}

static clenc_status run_classify(const pool_job *job, clenc_session *s,
                                 size_t first, size_t end, float *out)
{
    return clenc_classify(s, job->texts + first, end - first, job->flags,
                          out);
}

clenc_status clenc_pool_classify(clenc_pool *pool, const char *const *texts,
                                 size_t n, unsigned flags, float *scores)
{
    if (!pool || (n && (!texts || !scores)))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_classify: %s is NULL",
                           !pool ? "pool" : !texts ? "texts" : "scores");
    size_t labels = 0;
    clenc_status st = head_labels(pool, "clenc_pool_classify", &labels);
    if (st != CLENC_OK)
        return st;
    const pool_job job = {.fn = "clenc_pool_classify", .what = "texts",
                          .run = run_classify, .n = n,
                          .chunk = text_chunk(pool), .row_floats = labels,
                          .out = scores, .texts = texts, .flags = flags};
    return run_job(pool, &job);
}
