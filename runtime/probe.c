/* probe.c — the device's peak FMA rate and memory bandwidth, measured with cl_kernels/probe.cl and cached per device. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define PROBE_CHAINS 8
#define FMA_LOCAL 16
#define COPY_BYTES (64u << 20)
#define TRIES 7

const char *const clenc__probe_kernels[] = {"probe_fma", "probe_copy", NULL};

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* One run, timed on the host around enqueue and finish. */
static clenc_status one_run(cl_command_queue q, cl_kernel k, size_t global,
                            size_t local, double *seconds)
{
    clenc_status st = CLENC_OK;
    const uint64_t t0 = clenc__now_ns();
    CL_CHECK(clEnqueueNDRangeKernel(q, k, 1, NULL, &global,
                                    local ? &local : NULL, 0, NULL, NULL),
             out);
    CL_CHECK(clFinish(q), out);
    *seconds = (clenc__now_ns() - t0) / 1e9;
out:
    return st;
}

/* The median of TRIES runs, timed on the host around enqueue and finish
 * (a launch costs microseconds against kernels of tens of milliseconds).
 * The median, not the best: on this machine single runs read up to 1.5x
 * the sustained rate (clock boost, neighbours going idle), and a peak that
 * no pass can hold would understate every share of it. */
static clenc_status median_time(cl_command_queue q, cl_kernel k,
                                size_t global, size_t local, double *median)
{
    clenc_status st = CLENC_OK;
    double t[TRIES];
    *median = 0;
    double warm;
    TRY(one_run(q, k, global, local, &warm), out);
    for (int i = 0; i < TRIES; i++)
        TRY(one_run(q, k, global, local, &t[i]), out);
    qsort(t, TRIES, sizeof t[0], by_value);
    *median = t[TRIES / 2];
out:
    return st;
}

static clenc_status measure(clenc_context *ctx, clenc_device_peak *out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    cl_program prog;
    cl_command_queue q = NULL;
    cl_kernel fma = NULL, copy = NULL;
    cl_mem sink = NULL, in = NULL, dst = NULL;
    TRY(clenc__program_get(ctx, "probe", NULL, &prog, NULL), out);
    CL_CHECK((q = clCreateCommandQueue(ctx->cl, ctx->device.id, 0, &err), err),
             out);
    CL_CHECK((fma = clCreateKernel(prog, clenc__probe_kernels[0], &err), err),
             out);
    CL_CHECK((copy = clCreateKernel(prog, clenc__probe_kernels[1], &err), err),
             out);

    /* Enough work-items to fill every compute unit many times over. */
    const size_t global = (size_t)ctx->device.info.compute_units * 1024;
    /* Runs of about 20 ms: long against a launch, short on a slow device
     * (Rusticl's llvmpipe does 2 GFLOP/s, where the full 16384 iterations
     * would take half a minute a run). */
    int iters = 256;
    TRY(clenc__buffer_create(ctx, global * sizeof(float), CL_MEM_WRITE_ONLY,
                             "probe", &sink),
        out);
    const float a = 0.999999f, b = 1e-7f;
    CL_CHECK(clSetKernelArg(fma, 0, sizeof sink, &sink), out);
    CL_CHECK(clSetKernelArg(fma, 1, sizeof a, &a), out);
    CL_CHECK(clSetKernelArg(fma, 2, sizeof b, &b), out);
    CL_CHECK(clSetKernelArg(fma, 3, sizeof iters, &iters), out);
    double t;
    TRY(one_run(q, fma, global, FMA_LOCAL, &t), out);
    if (t > 0 && t < 0.02)
        iters = 0.02 / t * iters >= 16384 ? 16384 : (int)(0.02 / t * iters);
    CL_CHECK(clSetKernelArg(fma, 3, sizeof iters, &iters), out);
    TRY(median_time(q, fma, global, FMA_LOCAL, &t), out);
    clenc__tally_launch(clenc__probe_kernels[0], CLENC__FAMILY_ANY);
    out->gflops = t > 0 ? (double)global * iters * PROBE_CHAINS * 16 * 2 / t / 1e9
                        : 0;

    size_t bytes = COPY_BYTES;
    if (bytes > ctx->device.info.max_alloc_bytes / 2)
        bytes = (size_t)(ctx->device.info.max_alloc_bytes / 2) & ~(size_t)63;
    TRY(clenc__buffer_create(ctx, bytes, CL_MEM_READ_ONLY, "probe", &in), out);
    TRY(clenc__buffer_create(ctx, bytes, CL_MEM_WRITE_ONLY, "probe", &dst), out);
    CL_CHECK(clEnqueueFillBuffer(q, in, &a, sizeof a, 0, bytes, 0, NULL, NULL),
             out);
    CL_CHECK(clSetKernelArg(copy, 0, sizeof in, &in), out);
    CL_CHECK(clSetKernelArg(copy, 1, sizeof dst, &dst), out);
    TRY(median_time(q, copy, bytes / 16, 0, &t), out);
    clenc__tally_launch(clenc__probe_kernels[1], CLENC__FAMILY_ANY);
    out->gbps = t > 0 ? 2.0 * bytes / t / 1e9 : 0;
out:
    clenc__buffer_release(ctx, sink);
    clenc__buffer_release(ctx, in);
    clenc__buffer_release(ctx, dst);
    if (fma)
        clReleaseKernel(fma);
    if (copy)
        clReleaseKernel(copy);
    if (q)
        clReleaseCommandQueue(q);
    return st;
}

/* Part of the cache key: a new way of measuring makes old figures stale. */
#define METHOD "median of 7, host-timed, FMA runs of 20 ms"

static char *peak_path(const clenc_context *ctx)
{
    uint64_t h = clenc__fnv1a_str(CLENC__FNV_SEED, METHOD);
    h = clenc__fnv1a_str(h, ctx->device.info.name);
    h = clenc__fnv1a_str(h, ctx->device.info.driver_version);
    h = clenc__fnv1a_str(h, clenc_version());
    return clenc__asprintf("%s/peak-%016" PRIx64 ".txt", ctx->cache_dir, h);
}

clenc_status clenc_device_peak_get(clenc_context *ctx, clenc_device_peak *out)
{
    if (!ctx || !out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_device_peak_get: %s is NULL",
                           ctx ? "out" : "ctx");
    char *path = ctx->cache_dir ? peak_path(ctx) : NULL;
    unsigned char *text = NULL;
    size_t size;
    if (path && clenc__file_read_owned(path, "peak file", CLENC__CACHE_MAX_NOTE,
                                       &text, &size) == CLENC_OK) {
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s", (int)(size < 127 ? size : 127),
                 (const char *)text);
        clenc__free(text);
        if (sscanf(buf, "%lf %lf", &out->gflops, &out->gbps) == 2 &&
            out->gflops > 0 && out->gbps > 0) {
            clenc__free(path);
            return CLENC_OK;
        }
    }
    clenc_status st = measure(ctx, out);
    if (st == CLENC_OK && path) {
        char line[64];
        int n = snprintf(line, sizeof line, "%.3f %.3f\n", out->gflops,
                         out->gbps);
        if (clenc__cache_folder_ready(ctx) == CLENC_OK)
            (void)clenc__file_write_atomic(path, line, (size_t)n);
    }
    clenc__free(path);
    return st;
}
