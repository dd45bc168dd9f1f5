/* clenc_cl.h — OpenCL interop: clenc on the caller's context and in-order queue, encoding from and into the caller's buffers behind its events, with no host synchronisation. */
#ifndef CLENC_CL_H
#define CLENC_CL_H

#include <CL/cl.h>

#include "clenc.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A clenc context on the caller's OpenCL context and one of its devices
 * (a device clenc_device_list gives; a sub-device is CLENC_ERR_NO_DEVICE).
 * The cl_context is retained, and released once by clenc_context_destroy:
 * clenc never releases what it did not retain. Options apply as for
 * clenc_context_create, except options.device, which must be NULL (the
 * device is the one given). Programs, model weights, workspaces and the
 * context's own transfer queue (used at model load) live in the caller's
 * context. */
CLENC_API clenc_status clenc_context_create_on_cl_sized(
    cl_context context, cl_device_id device, const clenc_options *opt,
    size_t opt_size, clenc_context **out);
#define clenc_context_create_on_cl(context, device, opt, out)                  \
    clenc_context_create_on_cl_sized((context), (device), (opt),               \
                                     sizeof(clenc_options), (out))

/* The OpenCL context and device a clenc context works on (either pointer
 * may be NULL): to build a pipeline around a context clenc created. Not
 * retained for the caller. */
CLENC_API clenc_status clenc_context_cl(const clenc_context *ctx,
                                        cl_context *context,
                                        cl_device_id *device);

/* A session (as clenc_session_create) whose work is enqueued on the
 * caller's command queue: in-order, on the model's context and device, or
 * CLENC_ERR_INVALID_ARG saying which; with profiling on (options.profiling)
 * it must have CL_QUEUE_PROFILING_ENABLE. The queue is retained and released
 * by clenc_session_destroy, which waits for it (clFinish) first. The
 * caller and clenc must not use the queue from two threads at once.
 * clenc_encode and the text functions work on such a session too (they
 * finish the queue, as always). */
CLENC_API clenc_status clenc_session_create_on_queue(clenc_model *model,
                                                     cl_command_queue queue,
                                                     unsigned max_batch,
                                                     unsigned max_seq,
                                                     clenc_session **out);

/* clenc_encode on device buffers, enqueued on the session's queue behind
 * the caller's events; returns without waiting for anything.
 *
 *   ids       cl_mem of int32 [batch][seq] token ids
 *   type_ids  cl_mem of int32 [batch][seq], or NULL: all 0
 *   lengths   HOST array of batch lengths in 1..seq (NULL: all seq)
 *   out       cl_mem receiving float [batch][hidden], or
 *             [batch][seq][hidden] for CLENC_POOL_NONE (rows past a
 *             sequence's length set to 0), whatever the compute precision
 *   wait_list the caller's events the encode waits for (may be empty)
 *   event     if not NULL, receives an event complete when `out` is
 *             written; the caller releases it
 *
 * Lengths come from the host because the pass is shaped by them at enqueue
 * time: the GEMMs run over the Σ lengths real tokens (no work on padding,
 * the same packed pass as clenc_encode) and attention's launch follows the
 * longest sequence. Reading them from a device buffer would be a host
 * synchronisation; running over batch x seq rows with guards would spend
 * the padding's work. lengths is copied before the call returns.
 *
 * Buffers smaller than the shape needs are CLENC_ERR_INVALID_ARG naming
 * the buffer and both sizes (CL_MEM_SIZE); so are the arguments
 * clenc_encode checks on the host. The ids are checked on the device, where
 * they are: an id or type outside the model's range is read as 0 (never
 * out of bounds) and recorded; clenc_session_cl_check() reports it. BERT's
 * pooler (CLENC_POOL_POOLER) runs on the host: CLENC_ERR_UNSUPPORTED here.
 * Profiling sums (clenc_profile_*) count clenc_encode's passes only. On
 * failure *event is NULL and `out` is unspecified: commands already
 * enqueued (none, when an argument was refused) run to their end on their
 * own, since waiting for them could wait forever on the caller's events. */
CLENC_API clenc_status clenc_encode_cl(clenc_session *session, cl_mem ids,
                                       cl_mem type_ids,
                                       const int32_t *lengths, unsigned batch,
                                       unsigned seq, clenc_pooling pooling,
                                       cl_mem out, cl_uint num_events,
                                       const cl_event *wait_list,
                                       cl_event *event);

/* Waits for the session's queue, then CLENC_ERR_INVALID_ARG naming the
 * first token ([b][t] of its encode) whose id or type was out of range in
 * any clenc_encode_cl since the last check, or CLENC_OK; clears the
 * record. */
CLENC_API clenc_status clenc_session_cl_check(clenc_session *session);

#ifdef __cplusplus
}
#endif

#endif /* CLENC_CL_H */
