/* session.c — sessions: a launcher (queue, kernel objects) and one planned workspace per session, sized once for its limits. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* Lifetimes come from the layer's steps (forward.c), the same table the
 * forward pass runs: a buffer lives from the first step that touches it to
 * the last. One layer's plan is every layer's, since its buffers are all
 * dead at its end; x lives throughout, pooled is written after the last
 * layer (step CLENC__LAYER_STEPS). Fills s->plan, in the workspace's
 * order. */
static size_t plan_workspace(clenc_session *s, size_t align)
{
    const clenc_config *c = &s->model->config;
    const size_t h = c->hidden, f = c->ffn, t = s->max_tokens;
    static const char *const names[CLENC__B_COUNT] = {
#define W(name, row, what) #name,
        CLENC__WORKSPACE(W)
#undef W
    };
    const size_t rows[CLENC__B_COUNT] = {
#define W(name, row, what) row,
        CLENC__WORKSPACE(W)
#undef W
    };
    for (int b = 0; b < CLENC__B_COUNT; b++) {
        const size_t count = b == CLENC__B_pooled ? s->max_batch : t;
        s->plan[b] = (clenc__plan_item){names[b], count * rows[b] * s->act_size,
                                        CLENC__LAYER_STEPS, 0, 0};
    }
    const clenc__step *steps = clenc__layer_steps[c->norm == CLENC_NORM_PRE];
    for (unsigned i = 0; i < CLENC__LAYER_STEPS; i++) {
        const clenc__buffer_id used[3] = {steps[i].in, steps[i].residual,
                                          steps[i].out};
        for (int u = 0; u < 3; u++) {
            if (used[u] == CLENC__B_NONE)
                continue;
            clenc__plan_item *p = &s->plan[used[u]];
            p->first = i < p->first ? i : p->first;
            p->last = i > p->last ? i : p->last;
        }
    }
    s->plan[CLENC__B_x].first = 0;
    s->plan[CLENC__B_x].last = CLENC__LAYER_STEPS;
    s->plan[CLENC__B_pooled].last = CLENC__LAYER_STEPS;
    s->plan_align = align;
    return clenc__plan(s->plan, CLENC__B_COUNT, align);
}

static clenc_status create_workspace(clenc_session *s)
{
    clenc_status st = CLENC_OK;
    clenc_context *ctx = s->model->ctx;
    cl_uint align_bits = 0;
    CL_CHECK(clGetDeviceInfo(ctx->device.id, CL_DEVICE_MEM_BASE_ADDR_ALIGN,
                             sizeof align_bits, &align_bits, NULL),
             out);
    size_t align = align_bits >= 8 ? align_bits / 8 : 128;
    if (align < 128)
        align = 128;
    size_t total = plan_workspace(s, align);
    TRY(clenc__buffer_create(ctx, total, CL_MEM_READ_WRITE, "workspace",
                             &s->arena),
        out);
    s->workspace_bytes = total;
    for (int i = 0; i < CLENC__B_COUNT; i++) {
        cl_buffer_region region = {s->plan[i].offset, s->plan[i].size};
        cl_int err;
        CL_CHECK((s->buffers[i] = clCreateSubBuffer(
                      s->arena, CL_MEM_READ_WRITE,
                      CL_BUFFER_CREATE_TYPE_REGION, &region, &err),
                  err),
                 out);
    }
out:
    return st;
}

/* INT8: the GEMMs' quantised activations, outside the arena (only INT8
 * sessions have them): a row of the widest GEMM input per token. */
static clenc_status create_quant_scratch(clenc_session *s)
{
    clenc_status st = CLENC_OK;
    const clenc_config *c = &s->model->config;
    if (s->model->spec.precision != CLENC_PRECISION_INT8)
        return CLENC_OK;
    const size_t row = clenc__q8_row_bytes(c->ffn > c->hidden ? c->ffn
                                                              : c->hidden);
    const size_t rows = s->max_tokens * row,
                 scales = s->max_tokens * CLENC__Q8_INFO * sizeof(float);
    TRY(clenc__buffer_create(s->model->ctx, rows, CL_MEM_READ_WRITE,
                             "quantised activations",
                             &s->launcher.quant_rows),
        out);
    TRY(clenc__buffer_create(s->model->ctx, scales, CL_MEM_READ_WRITE,
                             "quantised activations",
                             &s->launcher.quant_scales),
        out);
    s->scratch_bytes = rows + scales;
out:
    return st;
}

static clenc_status create_inputs(clenc_session *s)
{
    clenc_status st;
    clenc_context *ctx = s->model->ctx;
    const size_t t = s->max_tokens * sizeof(int32_t);
    /* Written by the host (clenc_encode) or by embed.cl's pack
     * (clenc_encode_cl): kernels write them too. */
    TRY(clenc__buffer_create(ctx, t, CL_MEM_READ_WRITE, "ids", &s->ids), out);
    TRY(clenc__buffer_create(ctx, t, CL_MEM_READ_WRITE, "type_ids",
                             &s->type_ids),
        out);
    TRY(clenc__buffer_create(ctx, t, CL_MEM_READ_WRITE, "positions",
                             &s->positions),
        out);
    TRY(clenc__buffer_create(ctx, (s->max_batch + 1) * sizeof(int32_t),
                             CL_MEM_READ_ONLY, "offsets", &s->offsets),
        out);
    /* clenc_encode_cl's record of the first id out of range: INT_MAX, none. */
    const cl_int none = INT32_MAX;
    TRY(clenc__buffer_create(ctx, sizeof none, CL_MEM_READ_WRITE, "fault",
                             &s->fault),
        out);
    TRY(clenc__buffer_upload(ctx->transfer_queue, s->fault, 0, sizeof none,
                             &none),
        out);
    s->host_ids = clenc__malloc(t);
    s->host_type_ids = clenc__malloc(t);
    s->host_positions = clenc__malloc(t);
    s->host_offsets = clenc__malloc((s->max_batch + 1) * sizeof(int32_t));
    if (s->act_size == sizeof(uint16_t))
        s->host_halves = clenc__malloc(s->max_tokens *
                                       s->model->config.hidden *
                                       sizeof *s->host_halves);
    if (!s->host_ids || !s->host_type_ids || !s->host_positions ||
        !s->host_offsets || (s->act_size == sizeof(uint16_t) && !s->host_halves))
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
out:
    return st;
}

/* Whether the caller's queue can carry a session of `ctx`: on its context
 * and device, in order (the pass's steps are ordered by the queue alone),
 * and with event times where the context profiles. */
static clenc_status check_queue(const clenc_context *ctx,
                                cl_command_queue queue)
{
    clenc_status st = CLENC_OK;
    cl_context context;
    cl_device_id device;
    cl_command_queue_properties props;
    CL_CHECK(clGetCommandQueueInfo(queue, CL_QUEUE_CONTEXT, sizeof context,
                                   &context, NULL),
             out);
    CL_CHECK(clGetCommandQueueInfo(queue, CL_QUEUE_DEVICE, sizeof device,
                                   &device, NULL),
             out);
    CL_CHECK(clGetCommandQueueInfo(queue, CL_QUEUE_PROPERTIES, sizeof props,
                                   &props, NULL),
             out);
    if (context != ctx->cl)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create_on_queue: the queue is on "
                           "another OpenCL context than the model's");
    if (device != ctx->device.id)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create_on_queue: the queue is on "
                           "another device than the model's '%s'",
                           ctx->device.info.name);
    if (props & CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create_on_queue: the queue executes "
                           "out of order; the pass needs an in-order queue");
    if (ctx->profiling && !(props & CL_QUEUE_PROFILING_ENABLE))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create_on_queue: the context "
                           "profiles (options.profiling) but the queue has no "
                           "CL_QUEUE_PROFILING_ENABLE");
out:
    return st;
}

static clenc_status session_create(clenc_model *model, cl_command_queue queue,
                                   unsigned max_batch, unsigned max_seq,
                                   const char *fn, clenc_session **out)
{
    clenc_status st = CLENC_OK;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: out is NULL", fn);
    *out = NULL;
    if (!model)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: model is NULL", fn);
    if (max_batch == 0 || max_seq == 0)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: max_batch %u and max_seq %u must be at least 1",
                           fn, max_batch, max_seq);
    const unsigned room =
        model->config.max_positions - model->config.position_offset;
    if (max_seq > room)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: max_seq %u is over the model's %u positions",
                           fn, max_seq, room);
    if ((uint64_t)max_batch * max_seq > (1u << 24))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: %u x %u tokens is over the limit of 2^24 "
                           "tokens a batch",
                           fn, max_batch, max_seq);
    if (queue)
        TRY(check_queue(model->ctx, queue), out);
    clenc_session *s = clenc__calloc(1, sizeof *s);
    if (!s)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    s->model = model;
    s->max_batch = max_batch;
    s->max_seq = max_seq;
    s->max_tokens = (size_t)max_batch * max_seq;
    s->act_size = model->spec.half_compute ? sizeof(uint16_t) : sizeof(float);
    TRY(clenc__launcher_open(&s->launcher, model->ctx, &model->spec,
                             model->programs, queue),
        out_destroy);
    TRY(create_workspace(s), out_destroy);
    TRY(create_quant_scratch(s), out_destroy);
    TRY(create_inputs(s), out_destroy);
    *out = s;
    return CLENC_OK;
out_destroy:
    clenc_session_destroy(s);
out:
    return st;
}

clenc_status clenc_session_create(clenc_model *model, unsigned max_batch,
                                  unsigned max_seq, clenc_session **out)
{
    return session_create(model, NULL, max_batch, max_seq,
                          "clenc_session_create", out);
}

clenc_status clenc_session_create_on_queue(clenc_model *model,
                                           cl_command_queue queue,
                                           unsigned max_batch,
                                           unsigned max_seq,
                                           clenc_session **out)
{
    if (!queue) {
        if (out)
            *out = NULL;
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create_on_queue: queue is NULL");
    }
    return session_create(model, queue, max_batch, max_seq,
                          "clenc_session_create_on_queue", out);
}

void clenc_session_destroy(clenc_session *s)
{
    if (!s)
        return;
    clenc_context *ctx = s->model->ctx;
    cl_mem quant_rows = s->launcher.quant_rows,
           quant_scales = s->launcher.quant_scales;
    clenc__launcher_close(&s->launcher); /* waits for the queue first */
    clenc__buffer_release(ctx, quant_rows);
    clenc__buffer_release(ctx, quant_scales);
    for (int i = 0; i < CLENC__B_COUNT; i++)
        if (s->buffers[i])
            clReleaseMemObject(s->buffers[i]); /* counted with the arena */
    clenc__buffer_release(ctx, s->arena);
    clenc__buffer_release(ctx, s->ids);
    clenc__buffer_release(ctx, s->type_ids);
    clenc__buffer_release(ctx, s->positions);
    clenc__buffer_release(ctx, s->offsets);
    clenc__buffer_release(ctx, s->fault);
    clenc__free(s->host_ids);
    clenc__free(s->host_type_ids);
    clenc__free(s->host_positions);
    clenc__free(s->host_offsets);
    clenc__free(s->host_halves);
    clenc__free(s);
}

clenc_status clenc_session_info_get_sized(const clenc_session *s,
                                          clenc_session_info *caller_out,
                                          size_t out_size)
{
    if (!s || !caller_out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_info_get: %s is NULL",
                           s ? "out" : "session");
    clenc_status st = CLENC__STRUCT_SIZE("clenc_session_info_get",
                                         clenc_session_info, out_size);
    if (st != CLENC_OK)
        return st;
    clenc_session_info info, *out = &info;
    memset(out, 0, sizeof *out);
    out->max_batch = s->max_batch;
    out->max_seq = s->max_seq;
    out->workspace_bytes = s->workspace_bytes + s->scratch_bytes;
    out->input_bytes = (3 * s->max_tokens + s->max_batch + 1) * sizeof(int32_t);
    CLENC__STRUCT_OUT(caller_out, out_size, &info);
    return CLENC_OK;
}
