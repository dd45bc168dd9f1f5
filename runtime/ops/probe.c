/* probe.c — the device's peak FMA rate and memory bandwidth: measured with cl_kernels/probe.cl (best of several runs), checked, and cached per device with the time it was measured. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/kernels.h"

#define KERNEL(id) (clenc__kernels[CLENC__K_##id].function)
#define COPY_KERNEL KERNEL(PROBE_COPY)
#define FMA_LOCAL 16
#define COPY_BYTES (64u << 20)
#define TRIES 7

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

/* The shortest of TRIES runs, timed on the host around enqueue and finish
 * (a launch costs microseconds against kernels of tens of milliseconds).
 * The best, not the median: a peak is an upper bound, and load only ever
 * slows a run down, so the fastest run is the nearest to what the device
 * can do. The median under load understates it: on a busy 2-core Xeon it
 * read 107 GFLOP/s where the quiet machine gives 320, and every pass then
 * showed 154% of "peak". A rate above even the best is still possible
 * (the whole probe ran under load): the tools re-measure then, and refuse
 * to print a share over 100% (clenc_peak_share_format). */
static clenc_status best_time(cl_command_queue q, cl_kernel k, size_t global,
                              size_t local, double *best)
{
    clenc_status st = CLENC_OK;
    *best = 0;
    double t;
    TRY(one_run(q, k, global, local, &t), out); /* warm-up */
    for (int i = 0; i < TRIES; i++) {
        TRY(one_run(q, k, global, local, &t), out);
        if (i == 0 || t < *best)
            *best = t;
    }
out:
    return st;
}

/* The probes' outputs are checked after the timed runs: a miscompiled or
 * broken probe must fail, not publish a bogus peak that every share of
 * peak is then measured against. Both outputs start as NaN, so a part a
 * probe never wrote cannot pass. */
static clenc_status probe_wrong(const char *probe, size_t element, float got,
                                float expected)
{
    return clenc__fail(CLENC_ERR_OPENCL,
                       "clenc_device_peak_get: %s returned wrong data at "
                       "element %zu: %g, expected %g (no peak is published)",
                       probe, element, got, expected);
}

static clenc_status fill_nan(cl_command_queue q, cl_mem buffer, size_t bytes)
{
    clenc_status st = CLENC_OK;
    const cl_uint nan_bits = 0xFFFFFFFFu;
    CL_CHECK(clEnqueueFillBuffer(q, buffer, &nan_bits, sizeof nan_bits, 0,
                                 bytes, 0, NULL, NULL),
             out);
out:
    return st;
}

/* With a = -1 and b = 1 each fma maps x to 1 - x: chain c of work-item g
 * holds g + c after an even number of steps and 1 - g - c after an odd
 * one. Its C chains x 16 lanes sum to 16 (C g + C (C - 1) / 2), or to
 * 16 (C - C g - C (C - 1) / 2): for C = 8, 128 g + 448 or -(128 g + 320),
 * integers that float holds exactly below 2^24 (global < 131068); the
 * tolerance covers the rounding of larger devices' sums. */
static clenc_status check_fma(cl_command_queue q, cl_mem sink, size_t global,
                              int iters, const char *kernel, double chains)
{
    clenc_status st = CLENC_OK;
    float *got = clenc__malloc(global * sizeof *got);
    if (!got)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    CL_CHECK(clEnqueueReadBuffer(q, sink, CL_TRUE, 0, global * sizeof *got,
                                 got, 0, NULL, NULL),
             out_free_got);
    for (size_t g = 0; g < global; g++) {
        const double tri = chains * (chains - 1) / 2;
        const double expected = iters % 2 == 0
                                    ? 16 * (chains * g + tri)
                                    : 16 * (chains - chains * g - tri);
        if (!(fabs(got[g] - expected) <= 1e-5 * fabs(expected))) {
            st = probe_wrong(kernel, g, got[g], (float)expected);
            break;
        }
    }
out_free_got:
    clenc__free(got);
    return st;
}

/* out == in, every element, read back a chunk at a time. */
static clenc_status check_copy(cl_command_queue q, cl_mem dst, size_t bytes,
                               const float *pattern, size_t pattern_len)
{
    clenc_status st = CLENC_OK;
    const size_t chunk = (size_t)1 << 20;
    float *got = clenc__malloc(chunk);
    if (!got)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    for (size_t at = 0; at < bytes && st == CLENC_OK; at += chunk) {
        const size_t n = bytes - at < chunk ? bytes - at : chunk;
        CL_CHECK(clEnqueueReadBuffer(q, dst, CL_TRUE, at, n, got, 0, NULL,
                                     NULL),
                 out_free_got);
        const size_t first = at / sizeof *got;
        for (size_t i = 0; i < n / sizeof *got; i++)
            if (memcmp(&got[i], &pattern[(first + i) % pattern_len],
                       sizeof *got) != 0) {
                st = probe_wrong(COPY_KERNEL, first + i, got[i],
                                 pattern[(first + i) % pattern_len]);
                break;
            }
    }
out_free_got:
    clenc__free(got);
    return st;
}

/* GB/s of probe_copy over up to 64 MiB, read and write counted. */
static clenc_status measure_copy(clenc_context *ctx, cl_command_queue q,
                                 cl_kernel copy, double *gbps)
{
    clenc_status st = CLENC_OK;
    cl_mem in = NULL, dst = NULL;
    size_t bytes = COPY_BYTES;
    if (bytes > ctx->device.info.max_alloc_bytes / 2)
        bytes = (size_t)(ctx->device.info.max_alloc_bytes / 2) & ~(size_t)63;
    TRY(clenc__buffer_create(ctx, bytes, CL_MEM_READ_ONLY, "probe", &in), out);
    TRY(clenc__buffer_create(ctx, bytes, CL_MEM_WRITE_ONLY, "probe", &dst), out);
    /* 16 distinct values (64 bytes divides `bytes`): a copy to the wrong
     * place within them shows. */
    float pattern[16];
    for (int i = 0; i < 16; i++)
        pattern[i] = (float)i + 0.5f;
    CL_CHECK(clEnqueueFillBuffer(q, in, pattern, sizeof pattern, 0, bytes, 0,
                                 NULL, NULL),
             out);
    TRY(fill_nan(q, dst, bytes), out);
    CL_CHECK(clSetKernelArg(copy, 0, sizeof in, &in), out);
    CL_CHECK(clSetKernelArg(copy, 1, sizeof dst, &dst), out);
    double t;
    TRY(best_time(q, copy, bytes / 16, 0, &t), out);
    clenc__tally_launch(COPY_KERNEL, CLENC__FAMILY_ANY);
    TRY(check_copy(q, dst, bytes, pattern, 16), out);
    *gbps = t > 0 ? 2.0 * bytes / t / 1e9 : 0;
out:
    clenc__buffer_release(ctx, in);
    clenc__buffer_release(ctx, dst);
    return st;
}

/* GFLOP/s of probe_fma, in runs of about 20 ms: long against a launch,
 * short on a slow device (Rusticl's llvmpipe does 2 GFLOP/s, where the
 * full 16384 iterations would take half a minute a run). */
static clenc_status measure_fma(clenc_context *ctx, cl_command_queue q,
                                cl_kernel fma, const char *name,
                                unsigned chains, double *gflops)
{
    clenc_status st = CLENC_OK;
    cl_mem sink = NULL;
    /* Enough work-items to fill every compute unit many times over. */
    const size_t global = (size_t)ctx->device.info.compute_units * 1024;
    int iters = 256;
    TRY(clenc__buffer_create(ctx, global * sizeof(float), CL_MEM_WRITE_ONLY,
                             "probe", &sink),
        out);
    /* Any operands keep the FMA units as busy; these make the result exact
     * (check_fma). */
    const float a = -1.0f, b = 1.0f;
    TRY(fill_nan(q, sink, global * sizeof(float)), out);
    CL_CHECK(clSetKernelArg(fma, 0, sizeof sink, &sink), out);
    CL_CHECK(clSetKernelArg(fma, 1, sizeof a, &a), out);
    CL_CHECK(clSetKernelArg(fma, 2, sizeof b, &b), out);
    CL_CHECK(clSetKernelArg(fma, 3, sizeof iters, &iters), out);
    double t;
    TRY(one_run(q, fma, global, FMA_LOCAL, &t), out);
    if (t > 0 && t < 0.02)
        iters = 0.02 / t * iters >= 16384 ? 16384 : (int)(0.02 / t * iters);
    CL_CHECK(clSetKernelArg(fma, 3, sizeof iters, &iters), out);
    TRY(best_time(q, fma, global, FMA_LOCAL, &t), out);
    clenc__tally_launch(name, CLENC__FAMILY_ANY);
    TRY(check_fma(q, sink, global, iters, name, chains), out);
    *gflops = t > 0 ? (double)global * iters * chains * 16 * 2 / t / 1e9 : 0;
out:
    clenc__buffer_release(ctx, sink);
    return st;
}

static clenc_status measure(clenc_context *ctx, clenc_device_peak *out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    cl_program programs[CLENC__FILE_COUNT];
    cl_command_queue q = NULL;
    cl_kernel fma = NULL, few = NULL, copy = NULL;
    double few_gflops = 0;
    /* The probes have no kernel family and no model: only their own
     * constants count. */
    const clenc__spec spec = {.family = ctx->variant};
    TRY(clenc__programs_get(ctx, &spec, 1u << CLENC__F_PROBE, NULL, programs,
                            NULL),
        out);
    const cl_program prog = programs[CLENC__F_PROBE];
    CL_CHECK((q = clCreateCommandQueue(ctx->cl, ctx->device.id, 0, &err), err),
             out);
    CL_CHECK((fma = clCreateKernel(prog, KERNEL(PROBE_FMA), &err), err), out);
    CL_CHECK((few = clCreateKernel(prog, KERNEL(PROBE_FMA_FEW), &err), err),
             out);
    CL_CHECK((copy = clCreateKernel(prog, COPY_KERNEL, &err), err), out);
    TRY(measure_fma(ctx, q, fma, KERNEL(PROBE_FMA), CLENC__PROBE_CHAINS,
                    &out->gflops),
        out);
    TRY(measure_fma(ctx, q, few, KERNEL(PROBE_FMA_FEW),
                    CLENC__PROBE_CHAINS_FEW, &few_gflops),
        out);
    if (few_gflops > out->gflops)
        out->gflops = few_gflops;
    TRY(measure_copy(ctx, q, copy, &out->gbps), out);
out:
    if (fma)
        clReleaseKernel(fma);
    if (few)
        clReleaseKernel(few);
    if (copy)
        clReleaseKernel(copy);
    if (q)
        clReleaseCommandQueue(q);
    return st;
}

/* Part of the cache key: a new way of measuring makes old figures stale. */
#define METHOD "best of 7, host-timed, FMA runs of 20 ms, 8 or 5 chains"

static char *peak_path(const clenc_context *ctx)
{
    uint64_t h = clenc__fnv1a_str(CLENC__FNV_SEED, METHOD);
    h = clenc__fnv1a_str(h, ctx->device.info.name);
    h = clenc__fnv1a_str(h, ctx->device.info.driver_version);
    h = clenc__fnv1a_str(h, clenc_version());
    return clenc__asprintf("%s/peak-%016" PRIx64 ".txt", ctx->cache_dir, h);
}

/* An entry is one line: GFLOP/s, GB/s and the UNIX time it was measured.
 * Anything else (the two figures of the earlier format, which said nothing
 * of when, a torn or edited line) is no peak: the caller measures again
 * rather than guess at what the line means. */
static int peak_parse(const unsigned char *text, size_t size,
                      clenc_device_peak *out, int64_t *at)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%.*s", (int)(size < 127 ? size : 127),
             (const char *)text);
    int end = 0;
    return size < 127 &&
           sscanf(buf, "%lf %lf %" SCNd64 "%n", &out->gflops, &out->gbps, at,
                  &end) == 3 &&
           strcmp(buf + end, "\n") == 0 && out->gflops > 0 &&
           out->gbps > 0 && isfinite(out->gflops) && isfinite(out->gbps) &&
           *at > 0;
}

static int peak_read(const char *path, clenc_device_peak *out, int64_t *at)
{
    unsigned char *text = NULL;
    size_t size;
    if (clenc__file_read_owned(path, "peak file", CLENC__CACHE_MAX_NOTE, &text,
                               &size) != CLENC_OK)
        return 0;
    const int ok = peak_parse(text, size, out, at);
    clenc__free(text);
    return ok;
}

/* The cached entry unless `remeasure`; else a measurement, which replaces
 * it. `fn` names the caller in messages. */
static clenc_status peak_query(const char *fn, clenc_context *ctx,
                               int remeasure, clenc_device_peak *caller_out,
                               size_t out_size, int64_t *measured_at)
{
    if (!ctx || !caller_out)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: %s is NULL", fn,
                           ctx ? "out" : "ctx");
    clenc_status st = CLENC__STRUCT_SIZE(fn, clenc_device_peak, out_size);
    if (st != CLENC_OK)
        return st;
    clenc_device_peak peak;
    memset(&peak, 0, sizeof peak);
    int64_t at = 0;
    char *path = ctx->cache_dir ? peak_path(ctx) : NULL;
    if (!path || remeasure || !peak_read(path, &peak, &at)) {
        memset(&peak, 0, sizeof peak);
        if ((st = measure(ctx, &peak)) != CLENC_OK)
            goto out_free_path;
        at = (int64_t)time(NULL);
        char line[96];
        int n = snprintf(line, sizeof line, "%.9g %.9g %" PRId64 "\n",
                         peak.gflops, peak.gbps, at);
        if (path && clenc__cache_folder_ready(ctx) == CLENC_OK)
            (void)clenc__file_write_atomic(path, line, (size_t)n);
    }
    CLENC__STRUCT_OUT(caller_out, out_size, &peak);
    if (measured_at)
        *measured_at = at;
out_free_path:
    clenc__free(path);
    return st;
}

clenc_status clenc_device_peak_get_sized(clenc_context *ctx,
                                         clenc_device_peak *out,
                                         size_t out_size)
{
    return peak_query("clenc_device_peak_get", ctx, 0, out, out_size, NULL);
}

clenc_status clenc_device_peak_query_sized(clenc_context *ctx, int remeasure,
                                           clenc_device_peak *out,
                                           size_t out_size,
                                           int64_t *measured_at)
{
    return peak_query("clenc_device_peak_query", ctx, remeasure, out,
                      out_size, measured_at);
}

int clenc_peak_share_format(double rate, double peak, char *buf, size_t size)
{
    const char *why = NULL;
    if (!(peak > 0) || !isfinite(peak))
        why = "n/a (no measured peak)";
    else if (!(rate >= 0) || !isfinite(rate))
        why = "n/a (no measured rate)";
    else if (rate > peak)
        why = "n/a (rate above the measured peak: peak probe unreliable on "
              "this machine)";
    if (buf && size && why)
        snprintf(buf, size, "%s", why);
    else if (buf && size)
        snprintf(buf, size, "%.1f%%", 100.0 * rate / peak);
    return why == NULL;
}
