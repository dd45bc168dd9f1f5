/* test_buffer.c — device memory: the device's limits are checked first and named; transfers round-trip. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "cl/cl.h"

void test_buffer_over_max_alloc_is_out_of_memory(void)
{
    clenc_context *ctx = test_context(NULL);
    clenc_device_info d;
    clenc_context_device(ctx, &d);
    cl_mem mem = (cl_mem)ctx;
    ASSERT_STATUS(clenc__buffer_create(ctx, (size_t)d.max_alloc_bytes + 1,
                                       CL_MEM_READ_WRITE, "huge_weights", &mem),
                  CLENC_ERR_OUT_OF_MEMORY);
    CU_ASSERT_PTR_NULL(mem);
    char limit[32];
    snprintf(limit, sizeof limit, "%" PRIu64, d.max_alloc_bytes);
    ASSERT_ERROR_MENTIONS("huge_weights");
    ASSERT_ERROR_MENTIONS(limit);
    clenc_context_destroy(ctx);
}

void test_buffer_over_global_memory_is_out_of_memory(void)
{
    clenc_context *ctx = test_context(NULL);
    clenc_device_info d;
    clenc_context_device(ctx, &d);
    /* Pretend the context already holds all but 1 KiB of the device. */
    ctx->allocated_bytes = d.global_mem_bytes - 1024;
    cl_mem mem = NULL;
    ASSERT_STATUS(clenc__buffer_create(ctx, 4096, CL_MEM_READ_WRITE,
                                       "workspace", &mem),
                  CLENC_ERR_OUT_OF_MEMORY);
    char limit[32];
    snprintf(limit, sizeof limit, "%" PRIu64, d.global_mem_bytes);
    ASSERT_ERROR_MENTIONS("workspace");
    ASSERT_ERROR_MENTIONS(limit);
    ASSERT_STATUS(clenc__buffer_create(ctx, 1024, CL_MEM_READ_WRITE, "fits",
                                       &mem),
                  CLENC_OK);
    clenc__buffer_release(ctx, mem);
    CU_ASSERT_EQUAL(ctx->allocated_bytes, d.global_mem_bytes - 1024);
    ctx->allocated_bytes = 0;
    clenc_context_destroy(ctx);
}

void test_buffer_upload_download_round_trip(void)
{
    clenc_context *ctx = test_context(NULL);
    enum { N = 1 << 18 };
    float *in = malloc(N * sizeof *in), *out = calloc(N, sizeof *out);
    CU_ASSERT_FATAL(in && out);
    for (int i = 0; i < N; i++)
        in[i] = (float)i * 0.5f - 7.0f;
    cl_mem mem = NULL;
    ASSERT_STATUS(clenc__buffer_create(ctx, N * sizeof *in, CL_MEM_READ_WRITE,
                                       "round_trip", &mem),
                  CLENC_OK);
    CU_ASSERT_EQUAL(ctx->allocated_bytes, N * sizeof *in);
    ASSERT_STATUS(clenc__buffer_upload(ctx->transfer_queue, mem, 0,
                                       N * sizeof *in, in),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_download(ctx->transfer_queue, mem, 0,
                                         N * sizeof *out, out),
                  CLENC_OK);
    CU_ASSERT(memcmp(in, out, N * sizeof *in) == 0);
    ASSERT_STATUS(clenc__buffer_download(ctx->transfer_queue, mem, 0,
                                         (N + 1) * sizeof *out, out),
                  CLENC_ERR_OPENCL);
    ASSERT_ERROR_MENTIONS("CL_INVALID_VALUE");
    clenc__buffer_release(ctx, mem);
    CU_ASSERT_EQUAL(ctx->allocated_bytes, 0);
    ASSERT_STATUS(clenc__buffer_create(ctx, 0, CL_MEM_READ_WRITE, "empty", &mem),
                  CLENC_ERR_INVALID_ARG);
    free(in);
    free(out);
    clenc_context_destroy(ctx);
}
