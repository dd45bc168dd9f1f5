/* profile.c — per-launch and per-kernel statistics from the OpenCL events of a session's passes. */
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

/* Where CLBlast's GEMMs are summed, after the table's kernels. */
#define CLBLAST_SLOT CLENC__KERNEL_COUNT

static const char *kernel_name(int slot)
{
    return slot == CLBLAST_SLOT ? "gemm (CLBlast)" : clenc__kernels[slot].function;
}

static int slot_of(const clenc__launch *l)
{
    return l->clblast ? CLBLAST_SLOT : (int)l->kernel;
}

static clenc_status event_times(cl_event e, cl_ulong t[3])
{
    clenc_status st = CLENC_OK;
    static const cl_profiling_info what[3] = {CL_PROFILING_COMMAND_QUEUED,
                                              CL_PROFILING_COMMAND_START,
                                              CL_PROFILING_COMMAND_END};
    for (int i = 0; i < 3; i++)
        CL_CHECK(clGetEventProfilingInfo(e, what[i], sizeof t[i], &t[i], NULL),
                 out);
out:
    return st;
}

clenc_status clenc__profile_add_pass(clenc_session *s)
{
    clenc_status st = CLENC_OK;
    cl_ulong first = 0, last = 0, prev_end = 0;
    for (size_t i = 0; i < s->launcher.launch_count; i++) {
        const clenc__launch *l = &s->launcher.launches[i];
        if (!l->event)
            continue;
        cl_ulong t[3];
        TRY(event_times(l->event, t), out);
        clenc__kernel_sum *sum = &s->sums[slot_of(l)];
        sum->calls++;
        sum->device_ns += t[2] - t[1];
        sum->flops += l->work.flops;
        sum->bytes += l->work.bytes;
        s->device_ns += t[2] - t[1];
        if (prev_end && t[1] > prev_end)
            s->gap_ns += t[1] - prev_end;
        prev_end = t[2] > prev_end ? t[2] : prev_end;
        first = first && first < t[1] ? first : t[1];
        last = t[2] > last ? t[2] : last;
    }
    s->pass_ns += last - first;
    s->passes++;
out:
    return st;
}

static clenc_status need_profiling(const clenc_session *s, const char *fn)
{
    if (!s)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: session is NULL", fn);
    if (!s->model->ctx->profiling)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "%s: profiling is off: create the context with "
                           "options.profiling = 1",
                           fn);
    return CLENC_OK;
}

/* A count query (NULL, 0) is answered whatever element size comes with it. */
static clenc_status array_args(const char *fn, const void *out,
                               size_t capacity, const size_t *count)
{
    if (!count || (capacity && !out))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: count is NULL, or out is NULL with capacity "
                           "%zu",
                           fn, capacity);
    return CLENC_OK;
}

clenc_status clenc_profile_launches_sized(const clenc_session *s,
                                          clenc_launch_profile *out,
                                          size_t out_size, size_t capacity,
                                          size_t *count)
{
    static const char fn[] = "clenc_profile_launches";
    clenc_status st = need_profiling(s, fn);
    if (st == CLENC_OK)
        st = array_args(fn, out, capacity, count);
    if (st == CLENC_OK && capacity)
        st = CLENC__STRUCT_SIZE(fn, clenc_launch_profile, out_size);
    if (st != CLENC_OK)
        return st;
    *count = s->launcher.launch_count;
    for (size_t i = 0; i < s->launcher.launch_count && i < capacity; i++) {
        const clenc__launch *l = &s->launcher.launches[i];
        clenc_launch_profile launch, *p = &launch;
        memset(p, 0, sizeof *p);
        p->kernel = kernel_name(slot_of(l));
        p->m = l->work.m;
        p->n = l->work.n;
        p->k = l->work.k;
        p->flops = l->work.flops;
        p->bytes = l->work.bytes;
        p->host_enqueue_ns = l->host_enqueue_ns;
        p->host_return_ns = l->host_return_ns;
        cl_ulong t[3] = {0, 0, 0};
        if (l->event)
            TRY(event_times(l->event, t), out);
        p->queued_ns = t[0];
        p->start_ns = t[1];
        p->end_ns = t[2];
        CLENC__STRUCT_OUT((char *)out + i * out_size, out_size, &launch);
    }
out:
    return st;
}

clenc_status clenc_profile_kernels_sized(const clenc_session *s,
                                         clenc_kernel_profile *out,
                                         size_t out_size, size_t capacity,
                                         size_t *count,
                                         clenc_profile_summary *summary,
                                         size_t summary_size)
{
    static const char fn[] = "clenc_profile_kernels";
    clenc_status st = need_profiling(s, fn);
    if (st == CLENC_OK)
        st = array_args(fn, out, capacity, count);
    if (st == CLENC_OK && capacity)
        st = CLENC__STRUCT_SIZE(fn, clenc_kernel_profile, out_size);
    if (st == CLENC_OK && summary)
        st = CLENC__STRUCT_SIZE(fn, clenc_profile_summary, summary_size);
    if (st != CLENC_OK)
        return st;
    /* Slots in order of time, largest first (a dozen: insertion sort). */
    int order[CLENC__KERNEL_COUNT + 1] = {0}, n = 0;
    for (int i = 0; i <= CLBLAST_SLOT; i++) {
        if (!s->sums[i].calls)
            continue;
        int j = n++;
        while (j > 0 && s->sums[order[j - 1]].device_ns < s->sums[i].device_ns) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = i;
    }
    *count = (size_t)n;
    for (int i = 0; i < n && (size_t)i < capacity; i++) {
        const clenc__kernel_sum *sum = &s->sums[order[i]];
        clenc_kernel_profile k;
        memset(&k, 0, sizeof k);
        k.kernel = kernel_name(order[i]);
        k.calls = sum->calls;
        k.total_ms = sum->device_ns / 1e6;
        k.flops = sum->flops;
        k.bytes = sum->bytes;
        CLENC__STRUCT_OUT((char *)out + (size_t)i * out_size, out_size, &k);
    }
    if (summary) {
        clenc_profile_summary sums;
        memset(&sums, 0, sizeof sums);
        sums.passes = s->passes;
        sums.kernel_ms = s->device_ns / 1e6;
        sums.gap_ms = s->gap_ns / 1e6;
        sums.pass_ms = s->pass_ns / 1e6;
        sums.last_encode_begin_ns = s->encode_begin_ns;
        sums.last_encode_end_ns = s->encode_end_ns;
        CLENC__STRUCT_OUT(summary, summary_size, &sums);
    }
    return CLENC_OK;
}

clenc_status clenc_profile_reset(clenc_session *s)
{
    if (!s)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_profile_reset: session is NULL");
    memset(s->sums, 0, sizeof s->sums);
    s->passes = 0;
    s->device_ns = s->gap_ns = s->pass_ns = 0;
    return CLENC_OK;
}

double clenc_encoder_flops(const clenc_model *m, const int32_t *lengths,
                           unsigned batch, unsigned seq)
{
    if (!m)
        return 0;
    const double h = m->config.hidden, f = m->config.ffn;
    double sum = 0;
    for (unsigned b = 0; b < batch; b++) {
        const double t = lengths ? (double)lengths[b] : (double)seq;
        sum += 2 * t * (4 * h * h + 2 * h * f) + 4 * t * t * h;
    }
    return m->config.layers * sum;
}
