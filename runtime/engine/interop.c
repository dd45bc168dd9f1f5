/* interop.c — clenc_encode_cl: the packed pass from the caller's device buffers into its buffer, enqueued behind its events, never waiting on the host. */
#include <string.h>

#include "engine/engine.h"

/* CLENC_ERR_INVALID_ARG naming `what` unless `mem` holds `need` bytes. */
static clenc_status check_size(cl_mem mem, const char *what, size_t need)
{
    clenc_status st = CLENC_OK;
    size_t size = 0;
    CL_CHECK(clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL),
             out);
    if (size < need)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_encode_cl: buffer '%s' holds %zu bytes; the "
                           "shape needs %zu",
                           what, size, need);
out:
    return st;
}

static clenc_status check_buffers(const clenc_session *s, cl_mem ids,
                                  cl_mem type_ids, unsigned batch,
                                  unsigned seq, unsigned mode, cl_mem out)
{
    clenc_status st;
    const size_t tokens = (size_t)batch * seq;
    const size_t rows = mode == CLENC_POOL_NONE ? tokens : batch;
    if (!ids || !out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_encode_cl: %s is NULL", ids ? "out" : "ids");
    TRY(check_size(ids, "ids", tokens * sizeof(int32_t)), fail);
    if (type_ids)
        TRY(check_size(type_ids, "type_ids", tokens * sizeof(int32_t)), fail);
    TRY(check_size(out, "out",
                   rows * s->model->config.hidden * sizeof(float)),
        fail);
fail:
    return st;
}

/* Under the test hook, the packed inputs start as zeros, a valid but wrong
 * batch: a pack that skipped a sequence would leave an earlier pass's
 * right ids there and go unseen. Copied from a buffer made from zeros
 * rather than filled: Oclgrind 21.10 takes what a kernel writes after
 * clEnqueueFillBuffer for uninitialised. */
static clenc_status poison_inputs(clenc_session *s, size_t tokens)
{
    clenc_status st = CLENC_OK;
    if (!clenc__poisoning())
        return CLENC_OK;
    const size_t bytes = tokens * sizeof(cl_int);
    cl_int err;
    cl_mem zeros = NULL;
    void *host = clenc__calloc(tokens, sizeof(cl_int));
    if (!host)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "clenc_encode_cl: %zu bytes of zeros", bytes);
    CL_CHECK((zeros = clCreateBuffer(s->model->ctx->cl,
                                     CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                     bytes, host, &err),
              err),
             out);
    const cl_mem in[] = {s->ids, s->type_ids, s->positions};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        CL_CHECK(clEnqueueCopyBuffer(s->launcher.queue, zeros, in[i], 0, 0,
                                     bytes, 0, NULL, NULL),
                 out);
out:
    if (zeros)
        clReleaseMemObject(zeros);
    clenc__free(host);
    return st;
}

/* The offsets as a buffer of their own, filled from the host at creation:
 * an enqueued write from the session's staging array could still be
 * waiting behind the caller's events when the next call overwrites it. */
static clenc_status offsets_buffer(clenc_session *s, unsigned batch,
                                   cl_mem *out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    CL_CHECK((*out = clCreateBuffer(s->model->ctx->cl,
                                    CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                    (batch + 1) * sizeof(int32_t),
                                    s->host_offsets, &err),
              err),
             fail);
    return CLENC_OK;
fail:
    *out = NULL;
    return st;
}

clenc_status clenc_encode_cl(clenc_session *s, cl_mem ids, cl_mem type_ids,
                             const int32_t *lengths, unsigned batch,
                             unsigned seq, clenc_pooling pooling, cl_mem out,
                             cl_uint num_events, const cl_event *wait_list,
                             cl_event *event)
{
    clenc_status st;
    cl_mem offsets = NULL;
    if (event)
        *event = NULL;
    if (!s)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_encode_cl: session is NULL");
    if ((num_events == 0) != (wait_list == NULL))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_encode_cl: num_events is %u but wait_list "
                           "is %s",
                           (unsigned)num_events, wait_list ? "given" : "NULL");
    TRY(clenc__check_shape(s, "clenc_encode_cl", lengths, batch, seq,
                           pooling),
        fail);
    if (((unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE) ==
        CLENC_POOL_POOLER)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "clenc_encode_cl: CLENC_POOL_POOLER runs on the "
                           "host; use clenc_encode");
    int normalize;
    const unsigned mode = clenc__pass_mode(s, &pooling, &normalize);
    TRY(check_buffers(s, ids, type_ids, batch, seq, mode, out), fail);

    clenc__launches_reset(&s->launcher);
    clenc__launcher *L = &s->launcher;
    clenc__batch_shape shape;
    clenc__batch_shape_of(lengths, batch, seq, s->host_offsets, &shape);
    TRY(offsets_buffer(s, batch, &offsets), fail);
    shape.offsets = offsets;
    /* On an in-order queue, what follows a marker waits for its events. */
    if (num_events)
        CL_CHECK(clEnqueueMarkerWithWaitList(L->queue, num_events, wait_list,
                                             NULL),
                 fail);
    TRY(poison_inputs(s, shape.tokens), fail);
    const clenc_config *c = &s->model->config;
    const clenc__pack_args pack = {ids,
                                   type_ids,
                                   offsets,
                                   s->ids,
                                   s->type_ids,
                                   s->positions,
                                   s->fault,
                                   batch,
                                   seq,
                                   shape.tokens,
                                   c->vocab_size,
                                   c->position_offset,
                                   s->max_seq};
    TRY(clenc__op_pack(L, &pack), fail);
    /* Float vectors are pooled straight into `out`; every token's state,
     * or halves, go through unpack. */
    const int direct = mode != CLENC_POOL_NONE && s->act_size == sizeof(float);
    TRY(clenc__pass(s, &shape, mode, normalize, direct ? out : NULL), fail);
    if (mode == CLENC_POOL_NONE)
        TRY(clenc__op_unpack(L, s->x, offsets, batch * seq, seq, 1, out),
            fail);
    else if (!direct)
        TRY(clenc__op_unpack(L, s->pooled, offsets, batch, 1, 0, out), fail);
    if (event)
        CL_CHECK(clEnqueueMarkerWithWaitList(L->queue, 0, NULL, event), fail);
    /* Released now, freed by OpenCL when the commands using it are done. */
    clReleaseMemObject(offsets);
    return CLENC_OK;
fail:
    /* Commands already enqueued may wait on the caller's events: waiting
     * here could wait forever, so they run to their end on their own, on
     * the session's buffers (and `out`, which is then unspecified). */
    if (offsets)
        clReleaseMemObject(offsets);
    return st;
}

clenc_status clenc_session_cl_check(clenc_session *s)
{
    clenc_status st = CLENC_OK;
    if (!s)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_cl_check: session is NULL");
    cl_int first = INT32_MAX;
    const cl_int none = INT32_MAX;
    TRY(clenc__buffer_download(s->launcher.queue, s->fault, 0, sizeof first,
                               &first),
        out);
    if (first == none)
        return CLENC_OK;
    TRY(clenc__buffer_upload(s->launcher.queue, s->fault, 0, sizeof none,
                             &none),
        out);
    const clenc_config *c = &s->model->config;
    const unsigned types = c->type_vocab_size ? c->type_vocab_size : 1;
    st = clenc__fail(CLENC_ERR_INVALID_ARG,
                     "clenc_encode_cl: the token at [%u][%u] had an id "
                     "outside the vocabulary 0..%u or a type outside 0..%u; "
                     "it was encoded as id 0, type 0",
                     (unsigned)first / s->max_seq, (unsigned)first % s->max_seq,
                     c->vocab_size - 1, types - 1);
out:
    return st;
}
