/* test_program.c — building the library's kernels: embedded sources, override folders, build failures. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "cl/cl.h"

static clenc_context *context_with(const char *cache_dir,
                                   const char *kernel_dir)
{
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = cache_dir;
    opt.kernel_dir = kernel_dir;
    return test_context(&opt);
}

void test_program_builds_all_kernels(void)
{
    char *cache = test_tmpdir("cache");
    clenc_context *ctx = context_with(cache, NULL);
    unsigned fresh = 0;
    ASSERT_STATUS(clenc_context_build_kernels(ctx, NULL, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, clenc__kernel_program_count());
    /* The context keeps what it built. */
    ASSERT_STATUS(clenc_context_build_kernels(ctx, NULL, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, 0);
    clenc_context_destroy(ctx);
    const int binaries = test_program_binaries_or_report(
        "the cache holds no usable entry, so the next context is checked to "
        "build every program again");
    if (binaries)
        CU_ASSERT_EQUAL(test_list_dir(cache, ".clbin", NULL),
                        clenc__kernel_program_count());
    /* A new context finds them in the cache. */
    ctx = context_with(cache, NULL);
    ASSERT_STATUS(clenc_context_build_kernels(ctx, NULL, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, binaries ? 0 : clenc__kernel_program_count());
    clenc_context_destroy(ctx);
    free(cache);
}

void test_program_build_error_has_log(void)
{
    char *dir = test_tmpdir("kernels-broken");
    char *file = test_path(dir, "probe.cl");
    const char *broken = "__kernel void probe_fma(__global float *out)\n"
                         "{\n    out[0] = undeclared_identifier_xyz;\n}\n";
    CU_ASSERT_FATAL(test_write_file(file, broken, strlen(broken)));
    clenc_context *ctx = context_with("off", dir);
    ASSERT_STATUS(clenc_context_build_kernels(ctx, NULL, NULL),
                  CLENC_ERR_BUILD);
    ASSERT_ERROR_MENTIONS("CL_BUILD_PROGRAM_FAILURE");
    ASSERT_ERROR_MENTIONS(file);                        /* which source */
    ASSERT_ERROR_MENTIONS("build log:");
    ASSERT_ERROR_MENTIONS("undeclared_identifier_xyz"); /* the log itself */
    clenc_context_destroy(ctx);
    free(file);
    free(dir);
}

void test_program_override_replaces_embedded(void)
{
    char *dir = test_tmpdir("kernels-override");
    char *file = test_path(dir, "probe.cl");
    const char *mine = "__kernel void override_marker(__global float *out)\n"
                       "{\n    out[get_global_id(0)] = 42.0f;\n}\n";
    CU_ASSERT_FATAL(test_write_file(file, mine, strlen(mine)));
    clenc_context *ctx = context_with("off", dir);
    cl_program prog = NULL;
    int fresh = 0;
    ASSERT_STATUS(clenc__program_get(ctx, "probe", NULL, &prog, &fresh),
                  CLENC_OK);
    CU_ASSERT_EQUAL(fresh, 1);
    cl_int err;
    cl_kernel k = clCreateKernel(prog, "override_marker", &err);
    CU_ASSERT_EQUAL(err, CL_SUCCESS);
    if (k)
        clReleaseKernel(k);
    clenc_context_destroy(ctx);
    free(file);
    free(dir);
}

void test_program_missing_override_dir(void)
{
    clenc_options opt;
    test_options(&opt);
    opt.kernel_dir = "/nonexistent/clenc-kernels";
    clenc_context *ctx = NULL;
    ASSERT_STATUS(clenc_context_create(&opt, &ctx), CLENC_ERR_IO);
    ASSERT_ERROR_MENTIONS("/nonexistent/clenc-kernels");
    CU_ASSERT_PTR_NULL(ctx);
}
