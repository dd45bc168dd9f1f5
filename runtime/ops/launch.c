/* launch.c — the launcher: a queue and kernel objects for a spec, kernel arguments, and the record of every launch. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* Rows a cpu-family work-group takes: PoCL compiles a work-group function
 * for every new local size (90-150 ms the first time), so it is fixed. */
#define CPU_ROWS_WG 8

clenc_status clenc__launcher_open(clenc__launcher *L, clenc_context *ctx,
                                  const clenc__spec *spec,
                                  const cl_program programs[CLENC__FILE_COUNT],
                                  cl_command_queue queue)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    memset(L, 0, sizeof *L);
    L->ctx = ctx;
    L->spec = *spec;
    if (queue) {
        CL_CHECK(clRetainCommandQueue(queue), out_close);
        L->queue = queue;
    } else {
        TRY(clenc__queue_create(ctx, &L->queue), out_close);
    }
    for (int k = 0; k < CLENC__KERNEL_COUNT; k++) {
        const cl_program p = programs[clenc__kernels[k].file];
        if (p)
            CL_CHECK((L->kernels[k] = clCreateKernel(
                          p, clenc__kernels[k].function, &err),
                      err),
                     out_close);
    }
    return CLENC_OK;
out_close:
    clenc__launcher_close(L);
    return st;
}

void clenc__launcher_close(clenc__launcher *L)
{
    if (L->queue)
        clFinish(L->queue); /* nothing may still run on what goes now */
    clenc__launches_reset(L);
    clenc__free(L->launches);
    for (int k = 0; k < CLENC__KERNEL_COUNT; k++)
        if (L->kernels[k])
            clReleaseKernel(L->kernels[k]);
    if (L->queue)
        clReleaseCommandQueue(L->queue);
    memset(L, 0, sizeof *L);
}

void clenc__launches_reset(clenc__launcher *L)
{
    for (size_t i = 0; i < L->launch_count; i++)
        if (L->launches[i].event)
            clReleaseEvent(L->launches[i].event);
    L->launch_count = 0;
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

static clenc_status record(clenc__launcher *L, clenc__launch **out)
{
    if (L->launch_count == L->launch_capacity) {
        size_t cap = L->launch_capacity ? 2 * L->launch_capacity : 64;
        clenc__launch *grown = clenc__realloc(L->launches, cap * sizeof *grown);
        if (!grown)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        L->launches = grown;
        L->launch_capacity = cap;
    }
    *out = &L->launches[L->launch_count];
    memset(*out, 0, sizeof **out);
    return CLENC_OK;
}

clenc_status clenc__launch_record(clenc__launcher *L, clenc__kernel_id id,
                                  int clblast, const clenc__work *work,
                                  uint64_t host_enqueue_ns, cl_event event)
{
    clenc__launch *l;
    clenc_status st = record(L, &l);
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
    L->launch_count++;
    return CLENC_OK;
}

clenc_status clenc__launch_kernel(clenc__launcher *L, clenc__kernel_id id,
                                  cl_uint dims, const size_t *global,
                                  const size_t *local, const clenc__work *work)
{
    clenc_status st = CLENC_OK;
    clenc__launch *l;
    TRY(record(L, &l), out);
    cl_event *event = L->ctx->profiling ? &l->event : NULL;
    l->host_enqueue_ns = clenc__now_ns();
    CL_CHECK(clEnqueueNDRangeKernel(L->queue, L->kernels[id], dims, NULL,
                                    global, local, 0, NULL, event),
             out_name);
    l->host_return_ns = clenc__now_ns();
    l->kernel = id;
    l->gpu = clenc__kernel_has_families(id) &&
             L->spec.family == CLENC_VARIANT_GPU;
    l->work = *work;
    for (cl_uint d = 0; d < dims && d < 2; d++) {
        l->global[d] = global[d];
        l->local[d] = local ? local[d] : 0;
    }
    clenc__tally_launch(clenc__kernels[id].function,
                        clenc__kernel_has_families(id) ? l->gpu
                                                       : CLENC__FAMILY_ANY);
    L->launch_count++;
    return CLENC_OK;
out_name:
    clenc__fail_append(" (kernel %s, global %zu x %zu)",
                       clenc__kernels[id].function, global[0],
                       dims > 1 ? global[1] : (size_t)1);
out:
    return st;
}

clenc_status clenc__launch_rows(clenc__launcher *L, clenc__kernel_id id,
                                unsigned rows, double flops, double bytes)
{
    const clenc__work work = {rows, 0, 0, rows * flops, rows * bytes};
    size_t global, local;
    if (L->spec.family == CLENC_VARIANT_GPU) {
        local = clenc__row_wg(L->spec.hidden);
        global = (size_t)rows * local;
    } else {
        local = CPU_ROWS_WG;
        global = (rows + CPU_ROWS_WG - 1) / CPU_ROWS_WG * CPU_ROWS_WG;
    }
    return clenc__launch_kernel(L, id, 1, &global, &local, &work);
}
