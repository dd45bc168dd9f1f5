/* test_probe.c — the device peak probes: measured once per cache, and a probe that computes wrong data publishes no peak. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "ops/kernels.h"

static clenc_context *context_with(const char *cache_dir,
                                   const char *kernel_dir)
{
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = cache_dir;
    opt.kernel_dir = kernel_dir;
    return test_context(&opt);
}

/* Launches of the probe kernels this thread has made so far. */
static unsigned long probe_launches(void)
{
    clenc__tally_entry t[64];
    const size_t n = clenc__tally_read(t, 64);
    unsigned long sum = 0;
    for (size_t i = 0; i < n && i < 64; i++)
        for (int k = 0; k < CLENC__KERNEL_COUNT; k++)
            if (!clenc__kernel_has_families((clenc__kernel_id)k) &&
                strcmp(t[i].function, clenc__kernels[k].function) == 0)
                sum += t[i].count;
    return sum;
}

/* The embedded probes, measured in a fresh cache, pass their own checks
 * of what they computed (runtime/probe.c); the figures land in the cache
 * and the next call reads them instead of measuring again. */
void test_peak_probes_check_their_results(void)
{
    char *cache = test_tmpdir("peak-cache");
    clenc_context *ctx = context_with(cache, NULL);
    clenc_device_peak peak = {-1, -1};
    const unsigned long before = probe_launches();
    ASSERT_STATUS(clenc_device_peak_get(ctx, &peak), CLENC_OK);
    CU_ASSERT(peak.gflops > 0);
    CU_ASSERT(peak.gbps > 0);
    CU_ASSERT_EQUAL(probe_launches() - before, 2);
    CU_ASSERT_EQUAL(test_list_dir(cache, ".txt", NULL), 1);

    clenc_device_peak again = {-1, -1};
    ASSERT_STATUS(clenc_device_peak_get(ctx, &again), CLENC_OK);
    CU_ASSERT_EQUAL(probe_launches() - before, 2);
    CU_ASSERT(again.gflops > 0 && again.gbps > 0);
    clenc_context_destroy(ctx);
    free(cache);
}

/* probe.cl's two kernels with their real signatures; each broken case
 * swaps one body for a wrong one. */
#define FMA_RIGHT                                                              \
    "__kernel void probe_fma(__global float *out, const float a,\n"            \
    "                        const float b, const int iters)\n"                \
    "{\n"                                                                      \
    "    float x[8];\n"                                                        \
    "    for (int c = 0; c < 8; c++)\n"                                        \
    "        x[c] = (float)get_global_id(0) + (float)c;\n"                     \
    "    for (int i = 0; i < iters; i++)\n"                                    \
    "        for (int c = 0; c < 8; c++)\n"                                    \
    "            x[c] = fma(x[c], a, b);\n"                                    \
    "    float s = 0.0f;\n"                                                    \
    "    for (int c = 0; c < 8; c++)\n"                                        \
    "        s += 16.0f * x[c];\n"                                             \
    "    out[get_global_id(0)] = s;\n"                                         \
    "}\n"
#define FMA_WITHOUT_B                                                          \
    "__kernel void probe_fma(__global float *out, const float a,\n"            \
    "                        const float b, const int iters)\n"                \
    "{\n"                                                                      \
    "    float x = (float)get_global_id(0);\n"                                 \
    "    for (int i = 0; i < iters; i++)\n"                                    \
    "        x = fma(x, a, 0.0f);\n"                                           \
    "    out[get_global_id(0)] = x;\n"                                         \
    "}\n"
#define COPY_RIGHT                                                             \
    "__kernel void probe_copy(__global const float4 *in,\n"                    \
    "                         __global float4 *out)\n"                         \
    "{\n"                                                                      \
    "    out[get_global_id(0)] = in[get_global_id(0)];\n"                      \
    "}\n"
#define COPY_SKIPS_ITEM0                                                       \
    "__kernel void probe_copy(__global const float4 *in,\n"                    \
    "                         __global float4 *out)\n"                         \
    "{\n"                                                                      \
    "    if (get_global_id(0) == 0)\n"                                         \
    "        return;\n"                                                        \
    "    out[get_global_id(0)] = in[get_global_id(0)];\n"                      \
    "}\n"
#define COPY_SHIFTED                                                           \
    "__kernel void probe_copy(__global const float4 *in,\n"                    \
    "                         __global float4 *out)\n"                         \
    "{\n"                                                                      \
    "    out[get_global_id(0)] = in[get_global_id(0) ^ 1];\n"                  \
    "}\n"

/* A probe that leaves part of its output unwritten, or computes something
 * else at full speed, fails the call naming the probe and the element,
 * and leaves no figures in the cache for the next call to trust. */
void test_peak_wrong_probe_results_are_rejected(void)
{
    static const struct {
        const char *source, *message;
    } cases[] = {
        {FMA_RIGHT COPY_SKIPS_ITEM0,
         "probe_copy returned wrong data at element 0:"},
        {FMA_RIGHT COPY_SHIFTED, "probe_copy returned wrong data at element 0:"},
        {FMA_WITHOUT_B COPY_RIGHT, "probe_fma returned wrong data at element"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *dir = test_tmpdir("kernels-probe");
        char *cache = test_tmpdir("peak-cache");
        char *file = test_path(dir, "probe.cl");
        CU_ASSERT_FATAL(test_write_file(file, cases[i].source,
                                        strlen(cases[i].source)));
        clenc_context *ctx = context_with(cache, dir);
        clenc_device_peak peak = {-1, -1};
        ASSERT_STATUS(clenc_device_peak_get(ctx, &peak), CLENC_ERR_OPENCL);
        ASSERT_ERROR_MENTIONS(cases[i].message);
        CU_ASSERT_EQUAL(test_list_dir(cache, ".txt", NULL), 0);
        clenc_context_destroy(ctx);
        free(file);
        free(cache);
        free(dir);
    }
}
