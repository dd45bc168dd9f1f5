/* ops.c — host launchers of the encoder's kernels, and the launch records every run keeps. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

const clenc__kernel_desc clenc__kernels[CLENC__KERNEL_COUNT] = {
#define K(id, file, function) {#id, file, function},
    CLENC__KERNEL_TABLE(K)
#undef K
};

/* Local sizes are fixed per kernel: PoCL compiles a work-group function for
 * every new local size (90-150 ms the first time). */
#define CPU_ROWS_WG 8
#define ELEMENTWISE_WG 64
#define ATT_QB_CPU 16 /* queries per work-item, cl_kernels/attention.cl */
#define ATT_WG_GPU 64

static size_t round_up(size_t v, size_t m)
{
    return (v + m - 1) / m * m;
}

clenc_status clenc__kernel_args(cl_kernel kernel, const char *format, ...)
{
    clenc_status st = CLENC_OK;
    va_list ap;
    va_start(ap, format);
    for (cl_uint i = 0; format[i]; i++) {
        cl_int iv;
        float fv;
        cl_mem mv;
        switch (format[i]) {
        case 'm':
            mv = va_arg(ap, cl_mem);
            CL_CHECK(clSetKernelArg(kernel, i, sizeof mv, &mv), out);
            break;
        case 'i':
            iv = va_arg(ap, int);
            CL_CHECK(clSetKernelArg(kernel, i, sizeof iv, &iv), out);
            break;
        case 'f':
            fv = (float)va_arg(ap, double);
            CL_CHECK(clSetKernelArg(kernel, i, sizeof fv, &fv), out);
            break;
        default:
            st = clenc__fail(CLENC_ERR_INVALID_ARG, "bad argument format '%c'",
                             format[i]);
            goto out;
        }
    }
out:
    va_end(ap);
    return st;
}

static clenc_status record(clenc_session *s, clenc__launch **out)
{
    if (s->launch_count == s->launch_capacity) {
        size_t cap = s->launch_capacity ? 2 * s->launch_capacity : 64;
        clenc__launch *grown = clenc__realloc(s->launches, cap * sizeof *grown);
        if (!grown)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        s->launches = grown;
        s->launch_capacity = cap;
    }
    *out = &s->launches[s->launch_count];
    memset(*out, 0, sizeof **out);
    return CLENC_OK;
}

clenc_status clenc__launch_record(clenc_session *s, clenc__kernel_id id,
                                  int clblast, const clenc__work *work,
                                  uint64_t host_enqueue_ns, cl_event event)
{
    clenc__launch *l;
    clenc_status st = record(s, &l);
    if (st != CLENC_OK) {
        if (event)
            clReleaseEvent(event);
        return st;
    }
    l->kernel = id;
    l->clblast = clblast;
    l->work = *work;
    l->host_enqueue_ns = host_enqueue_ns;
    l->host_return_ns = clenc__now_ns();
    l->event = event;
    s->launch_count++;
    return CLENC_OK;
}

clenc_status clenc__launch_kernel(clenc_session *s, clenc__kernel_id id,
                                  cl_uint dims, const size_t *global,
                                  const size_t *local, const clenc__work *work)
{
    clenc_status st = CLENC_OK;
    clenc__launch *l;
    TRY(record(s, &l), out);
    cl_event *event = s->model->ctx->profiling ? &l->event : NULL;
    l->host_enqueue_ns = clenc__now_ns();
    CL_CHECK(clEnqueueNDRangeKernel(s->queue, s->kernels[id], dims, NULL,
                                    global, local, 0, NULL, event),
             out_name);
    l->host_return_ns = clenc__now_ns();
    l->kernel = id;
    l->gpu = s->model->variant == CLENC_VARIANT_GPU;
    clenc__tally_launch(clenc__kernels[id].function, l->gpu);
    l->work = *work;
    for (cl_uint d = 0; d < dims && d < 2; d++) {
        l->global[d] = global[d];
        l->local[d] = local ? local[d] : 0;
    }
    s->launch_count++;
    return CLENC_OK;
out_name:
    clenc__fail_append(" (kernel %s, global %zu x %zu)",
                       clenc__kernels[id].function, global[0],
                       dims > 1 ? global[1] : (size_t)1);
out:
    return st;
}

void clenc__launches_reset(clenc_session *s)
{
    for (size_t i = 0; i < s->launch_count; i++)
        if (s->launches[i].event)
            clReleaseEvent(s->launches[i].event);
    s->launch_count = 0;
}

static int gpu(const clenc_session *s)
{
    return s->model->variant == CLENC_VARIANT_GPU;
}

/* Row kernels: a row per work-item (cpu) or per work-group (gpu). `flops`
 * and `bytes` are per row. */
static clenc_status launch_rows(clenc_session *s, clenc__kernel_id id,
                                unsigned rows, double flops, double bytes)
{
    const clenc__work work = {rows, 0, 0, rows * flops, rows * bytes};
    size_t global, local;
    if (gpu(s)) {
        local = clenc__row_wg(s->model->config.hidden);
        global = (size_t)rows * local;
    } else {
        local = CPU_ROWS_WG;
        global = round_up(rows, CPU_ROWS_WG);
    }
    return clenc__launch_kernel(s, id, 1, &global, &local, &work);
}

clenc_status clenc__op_embed(clenc_session *s, cl_mem ids, cl_mem type_ids,
                             cl_mem positions, unsigned tokens, cl_mem out)
{
    const clenc_model *m = s->model;
    clenc_status st = clenc__kernel_args(
        s->kernels[CLENC__K_EMBED], "mmmmmmmmmi", ids, type_ids, positions,
        m->word, m->position, m->type, m->embedding_norm_weight,
        m->embedding_norm_bias, out, (int)tokens);
    /* Reads a word row, a position row (or computes one), a type row;
     * writes the result: about 4 rows of traffic and 8 flops an element. */
    const double h = m->config.hidden;
    return st != CLENC_OK ? st
                          : launch_rows(s, CLENC__K_EMBED, tokens, 8 * h,
                                        4 * h * sizeof(float));
}

clenc_status clenc__op_layernorm(clenc_session *s, cl_mem in, cl_mem out,
                                 cl_mem gamma, cl_mem beta, unsigned rows)
{
    clenc_status st = clenc__kernel_args(s->kernels[CLENC__K_LAYERNORM],
                                         "mmmmi", in, out, gamma, beta,
                                         (int)rows);
    const double h = s->model->config.hidden;
    return st != CLENC_OK ? st
                          : launch_rows(s, CLENC__K_LAYERNORM, rows, 8 * h,
                                        2 * h * sizeof(float));
}

clenc_status clenc__op_l2norm(clenc_session *s, cl_mem x, unsigned rows)
{
    clenc_status st = clenc__kernel_args(s->kernels[CLENC__K_L2NORM], "mi", x,
                                         (int)rows);
    const double h = s->model->config.hidden;
    return st != CLENC_OK ? st
                          : launch_rows(s, CLENC__K_L2NORM, rows, 3 * h,
                                        2 * h * sizeof(float));
}

clenc_status clenc__op_attention(clenc_session *s, cl_mem qkv, cl_mem offsets,
                                 unsigned batch, unsigned tokens,
                                 unsigned max_len, double sum_sq, cl_mem out)
{
    clenc_status st = clenc__kernel_args(s->kernels[CLENC__K_ATTENTION], "mmm",
                                         qkv, offsets, out);
    if (st != CLENC_OK)
        return st;
    size_t global[2], local[2] = {1, 1};
    global[1] = (size_t)batch * s->model->config.heads;
    if (gpu(s)) {
        local[0] = ATT_WG_GPU;
        global[0] = round_up(max_len, ATT_WG_GPU);
    } else {
        global[0] = (max_len + ATT_QB_CPU - 1) / ATT_QB_CPU;
    }
    /* Q·Kᵀ and P·V: 2 · 2 · L² · HIDDEN a sequence. Traffic: Q, K and V read
     * and the result written once (what a cache-perfect run moves). */
    const double h = s->model->config.hidden;
    const clenc__work work = {tokens, batch, max_len, 4 * sum_sq * h,
                              4.0 * tokens * h * sizeof(float)};
    return clenc__launch_kernel(s, CLENC__K_ATTENTION, 2, global, local,
                                &work);
}

clenc_status clenc__op_pool(clenc_session *s, cl_mem x, cl_mem offsets,
                            unsigned batch, unsigned tokens, int mode,
                            cl_mem out)
{
    clenc_status st = clenc__kernel_args(s->kernels[CLENC__K_POOL], "mmmii", x,
                                         offsets, out, (int)batch, mode);
    if (st != CLENC_OK)
        return st;
    size_t local = ELEMENTWISE_WG;
    size_t global =
        round_up((size_t)batch * s->model->config.hidden, ELEMENTWISE_WG);
    const double h = s->model->config.hidden;
    const clenc__work work = {batch, tokens, 0, mode ? tokens * h : 0,
                              (mode ? tokens + batch : 2.0 * batch) * h *
                                  sizeof(float)};
    return clenc__launch_kernel(s, CLENC__K_POOL, 1, &global, &local, &work);
}
