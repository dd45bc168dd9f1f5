/* pool.c — several devices at once: a context, model and session per device, a worker thread each, texts handed out in chunks, results in input order. */
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

/* One embedding call's shared state: the next text to hand out, and the
 * first failure (which stops the other workers taking chunks). */
typedef struct pool_call {
    clenc_pool *pool;
    const char *const *texts;
    const size_t *lengths;
    size_t n, chunk, next;
    float *out;
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
    const char *fmt = "device '%s' (%u:%u), texts %zu..%zu: %s";
    const char *why = clenc_last_error();
    const int len = snprintf(NULL, 0, fmt, m->device.name,
                             m->device.platform_index,
                             m->device.device_index, first, end - 1, why);
    char *msg = len < 0 ? NULL : malloc((size_t)len + 1);
    if (msg)
        snprintf(msg, (size_t)len + 1, fmt, m->device.name,
                 m->device.platform_index, m->device.device_index, first,
                 end - 1, why);
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
    pool_member *m = w->member;
    if (m->fault_countdown) {
        clenc__fault_arm(m->fault_countdown);
        m->fault_countdown = 0;
    }
    for (;;) {
        pthread_mutex_lock(&call->lock);
        const size_t first = call->next;
        const int stop = call->failed || first >= call->n;
        if (!stop)
            call->next += call->chunk < call->n - first ? call->chunk
                                                        : call->n - first;
        const size_t end = call->next;
        pthread_mutex_unlock(&call->lock);
        if (stop)
            break;
        clenc_status st = clenc_embed_text_n(
            m->session, call->texts + first,
            call->lengths ? call->lengths + first : NULL, end - first,
            call->out + first * call->pool->row_floats);
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

/* The floats of one text's result under `pooling`, as clenc_embed_text
 * writes them. */
static clenc_status set_row_floats(clenc_pool *pool, clenc_pooling pooling)
{
    clenc_model_info info;
    clenc_session_info sinfo;
    clenc_status st = clenc_model_info_get(pool->members[0].model, &info);
    if (st == CLENC_OK)
        st = clenc_session_info_get(pool->members[0].session, &sinfo);
    if (st != CLENC_OK)
        return st;
    const unsigned mode = (unsigned)(pooling == CLENC_POOL_DEFAULT
                                         ? info.pooling
                                         : pooling) &
                          ~(unsigned)CLENC_POOL_NORMALIZE;
    pool->row_floats = (size_t)info.hidden *
                       (mode == CLENC_POOL_NONE ? sinfo.max_seq : 1);
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

clenc_status clenc_pool_embed_text_n(clenc_pool *pool,
                                     const char *const *texts,
                                     const size_t *lengths, size_t n,
                                     float *out)
{
    if (!pool || (n && (!texts || !out)))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_embed_text: %s is NULL",
                           !pool ? "pool" : !texts ? "texts" : "out");
    if (n == 0)
        return CLENC_OK;
    if (n > SIZE_MAX / sizeof(float) / pool->row_floats)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_pool_embed_text: n = %zu results cannot "
                           "fit in memory",
                           n);
    pool_call call = {.pool = pool, .texts = texts, .lengths = lengths,
                      .n = n, .out = out, .status = CLENC_OK};
    /* Chunks of a few batches: large enough that each session batches by
     * length well, small enough that a faster device takes more of them. */
    call.chunk = 4 * (size_t)(pool->max_batch ? pool->max_batch : 1);
    if (pthread_mutex_init(&call.lock, NULL) != 0)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "clenc_pool_embed_text: pthread_mutex_init");
    pool_worker *workers = clenc__calloc(pool->count, sizeof *workers);
    pthread_t *threads = clenc__calloc(pool->count, sizeof *threads);
    clenc_status st = CLENC_OK;
    unsigned started = 0;
    if (!workers || !threads) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "clenc_pool_embed_text");
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
        st = clenc__fail(call.status, "clenc_pool_embed_text: a device "
                                      "failed (no memory for its message)");
    else if (call.failed)
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "clenc_pool_embed_text: could not start a thread "
                         "for device %u of %u",
                         started, pool->count);
out_free_workers:
    free(call.error);
    clenc__free(threads);
    clenc__free(workers);
    pthread_mutex_destroy(&call.lock);
    return st;
}

clenc_status clenc_pool_embed_text(clenc_pool *pool, const char *const *texts,
                                   size_t n, float *out)
{
    return clenc_pool_embed_text_n(pool, texts, NULL, n, out);
}
