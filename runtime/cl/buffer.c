/* buffer.c — device memory: allocation within the device's limits, uploads and downloads. */
#include <inttypes.h>

#include "cl/cl.h"

clenc_status clenc__buffer_create(clenc_context *ctx, size_t size,
                                  cl_mem_flags flags, const char *what,
                                  cl_mem *out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    const clenc_device_info *d = &ctx->device.info;
    *out = NULL;
    if (size == 0)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "device buffer '%s' of 0 bytes", what);
    /* Drivers may accept an allocation past the limits and fail at first
     * use, far from the cause (or never allocate lazily at all): say no
     * here, naming the request and the limit. */
    if ((uint64_t)size > d->max_alloc_bytes)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "device buffer '%s' needs %zu bytes; '%s' allows "
                           "at most %" PRIu64 " bytes in one allocation",
                           what, size, d->name, d->max_alloc_bytes);
    if (clenc__fault_hit())
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "device buffer '%s' (%zu bytes): injected fault",
                           what, size);
    pthread_mutex_lock(&ctx->lock);
    uint64_t in_use = ctx->allocated_bytes;
    int fits = (uint64_t)size <= d->global_mem_bytes - in_use;
    if (fits)
        ctx->allocated_bytes += size;
    pthread_mutex_unlock(&ctx->lock);
    if (!fits)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "device buffer '%s' needs %zu bytes; '%s' has "
                           "%" PRIu64 " bytes of global memory and this "
                           "context already holds %" PRIu64,
                           what, size, d->name, d->global_mem_bytes, in_use);
    CL_CHECK((*out = clCreateBuffer(ctx->cl, flags, size, NULL, &err), err),
             out_uncount);
    clenc__count_buffer(1);
    return CLENC_OK;
out_uncount:
    *out = NULL;
    pthread_mutex_lock(&ctx->lock);
    ctx->allocated_bytes -= size;
    pthread_mutex_unlock(&ctx->lock);
    clenc__fail_append(" (allocating device buffer '%s', %zu bytes)", what,
                       size);
    return st;
}

void clenc__buffer_release(clenc_context *ctx, cl_mem mem)
{
    if (!mem)
        return;
    clenc__count_buffer(-1);
    size_t size = 0;
    if (clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof size, &size, NULL) ==
        CL_SUCCESS) {
        pthread_mutex_lock(&ctx->lock);
        ctx->allocated_bytes -= size;
        pthread_mutex_unlock(&ctx->lock);
    }
    clReleaseMemObject(mem);
}

clenc_status clenc__buffer_upload(cl_command_queue q, cl_mem mem,
                                  size_t offset, size_t size, const void *host)
{
    clenc_status st = CLENC_OK;
    CL_CHECK(clEnqueueWriteBuffer(q, mem, CL_TRUE, offset, size, host, 0, NULL,
                                  NULL),
             out);
out:
    return st;
}

clenc_status clenc__buffer_download(cl_command_queue q, cl_mem mem,
                                    size_t offset, size_t size, void *host)
{
    clenc_status st = CLENC_OK;
    CL_CHECK(clEnqueueReadBuffer(q, mem, CL_TRUE, offset, size, host, 0, NULL,
                                 NULL),
             out);
out:
    return st;
}
