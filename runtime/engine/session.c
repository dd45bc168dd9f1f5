/* session.c — sessions: a queue, kernel objects and one planned workspace per session, sized once for its limits. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* Steps of one layer, for lifetimes; the layer's buffers are all dead at
 * its end, so one layer's plan is every layer's plan. X lives throughout. */
enum { STEP_FIRST = 0, STEP_LAST = 7 };

/* The steps are encoder.c's layer_post and layer_pre, op by op: a buffer
 * that an op there reads or writes must be alive at that op's step here,
 * or it may share bytes with another op's output. Reorder one, reorder
 * both; ops/test_plan_never_overlaps_live_buffers checks each op's buffers
 * against these lifetimes.
 * Post-LN: qkv=W·x(0) attn(1) proj=W·attn+x(2) x=LN(proj)(3)
 *          ffn=act(W·x)(4) proj2=W·ffn+x(5) x=LN(proj2)(6)
 * Pre-LN:  proj=LN(x)(0) qkv=W·proj(1) attn(2) x+=W·attn(3)
 *          proj2=LN(x)(4) ffn=act(W·proj2)(5) x+=W·ffn(6)
 * pooled is written after the last layer (7). Fills s->plan, in the order
 * of the session's fields x .. pooled. */
static size_t plan_workspace(clenc_session *s, size_t align)
{
    const clenc_config *c = &s->model->config;
    const size_t row = (size_t)c->hidden * sizeof(float), t = s->max_tokens;
    const unsigned pre = c->norm == CLENC_NORM_PRE;
    const clenc__plan_item plan[CLENC__PLAN_ITEMS] = {
        {"x", t * row, STEP_FIRST, STEP_LAST, 0},
        {"qkv", 3 * t * row, pre, pre + 1, 0},
        {"attn", t * row, pre + 1, pre + 2, 0},
        {"proj", t * row, pre ? 0 : 2, pre ? 1 : 3, 0},
        {"ffn", t * c->ffn * sizeof(float), 4 + pre, 5 + pre, 0},
        {"proj2", t * row, pre ? 4 : 5, pre ? 5 : 6, 0},
        {"pooled", (size_t)s->max_batch * row, STEP_LAST, STEP_LAST, 0},
    };
    memcpy(s->plan, plan, sizeof plan);
    s->plan_align = align;
    return clenc__plan(s->plan, CLENC__PLAN_ITEMS, align);
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
    cl_mem *slots[CLENC__PLAN_ITEMS] = {&s->x,   &s->qkv,   &s->attn,
                                        &s->proj, &s->ffn,  &s->proj2,
                                        &s->pooled};
    for (int i = 0; i < CLENC__PLAN_ITEMS; i++) {
        cl_buffer_region region = {s->plan[i].offset, s->plan[i].size};
        cl_int err;
        CL_CHECK((*slots[i] = clCreateSubBuffer(s->arena, CL_MEM_READ_WRITE,
                                                CL_BUFFER_CREATE_TYPE_REGION,
                                                &region, &err),
                  err),
                 out);
    }
out:
    return st;
}

static clenc_status create_inputs(clenc_session *s)
{
    clenc_status st;
    clenc_context *ctx = s->model->ctx;
    const size_t t = s->max_tokens * sizeof(int32_t);
    TRY(clenc__buffer_create(ctx, t, CL_MEM_READ_ONLY, "ids", &s->ids), out);
    TRY(clenc__buffer_create(ctx, t, CL_MEM_READ_ONLY, "type_ids",
                             &s->type_ids),
        out);
    TRY(clenc__buffer_create(ctx, t, CL_MEM_READ_ONLY, "positions",
                             &s->positions),
        out);
    TRY(clenc__buffer_create(ctx, (s->max_batch + 1) * sizeof(int32_t),
                             CL_MEM_READ_ONLY, "offsets", &s->offsets),
        out);
    s->host_ids = clenc__malloc(t);
    s->host_type_ids = clenc__malloc(t);
    s->host_positions = clenc__malloc(t);
    s->host_offsets = clenc__malloc((s->max_batch + 1) * sizeof(int32_t));
    if (!s->host_ids || !s->host_type_ids || !s->host_positions ||
        !s->host_offsets)
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
out:
    return st;
}

clenc_status clenc_session_create(clenc_model *model, unsigned max_batch,
                                  unsigned max_seq, clenc_session **out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create: out is NULL");
    *out = NULL;
    if (!model)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create: model is NULL");
    if (max_batch == 0 || max_seq == 0)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create: max_batch %u and max_seq %u "
                           "must be at least 1",
                           max_batch, max_seq);
    if (max_seq > model->config.max_positions)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create: max_seq %u is over the "
                           "model's %u positions",
                           max_seq, model->config.max_positions);
    if ((uint64_t)max_batch * max_seq > (1u << 24))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_create: %u x %u tokens is over the "
                           "limit of 2^24 tokens a batch",
                           max_batch, max_seq);
    clenc_session *s = clenc__calloc(1, sizeof *s);
    if (!s)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    s->model = model;
    s->max_batch = max_batch;
    s->max_seq = max_seq;
    s->max_tokens = (size_t)max_batch * max_seq;
    TRY(clenc__queue_create(model->ctx, &s->queue), out_destroy);
    /* Own kernel objects: clSetKernelArg on a shared kernel would race. */
    for (int k = 0; k < CLENC__KERNEL_COUNT; k++)
        if (model->programs[k])
            CL_CHECK((s->kernels[k] = clCreateKernel(
                          model->programs[k], clenc__kernels[k].function, &err),
                      err),
                     out_destroy);
    TRY(create_workspace(s), out_destroy);
    TRY(create_inputs(s), out_destroy);
    *out = s;
    return CLENC_OK;
out_destroy:
    clenc_session_destroy(s);
    return st;
}

void clenc_session_destroy(clenc_session *s)
{
    if (!s)
        return;
    clenc_context *ctx = s->model->ctx;
    if (s->queue)
        clFinish(s->queue);
    clenc__launches_reset(s);
    clenc__free(s->launches);
    cl_mem subs[] = {s->x, s->qkv, s->attn, s->proj, s->ffn, s->proj2,
                     s->pooled};
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
        if (subs[i])
            clReleaseMemObject(subs[i]); /* counted with the arena */
    clenc__buffer_release(ctx, s->arena);
    clenc__buffer_release(ctx, s->ids);
    clenc__buffer_release(ctx, s->type_ids);
    clenc__buffer_release(ctx, s->positions);
    clenc__buffer_release(ctx, s->offsets);
    clenc__free(s->host_ids);
    clenc__free(s->host_type_ids);
    clenc__free(s->host_positions);
    clenc__free(s->host_offsets);
    for (int k = 0; k < CLENC__KERNEL_COUNT; k++)
        if (s->kernels[k])
            clReleaseKernel(s->kernels[k]);
    if (s->queue)
        clReleaseCommandQueue(s->queue);
    clenc__free(s);
}

clenc_status clenc_session_info_get(const clenc_session *s,
                                    clenc_session_info *out)
{
    if (!s || !out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_session_info_get: %s is NULL",
                           s ? "out" : "session");
    out->max_batch = s->max_batch;
    out->max_seq = s->max_seq;
    out->workspace_bytes = s->workspace_bytes;
    out->input_bytes = (3 * s->max_tokens + s->max_batch + 1) * sizeof(int32_t);
    return CLENC_OK;
}
