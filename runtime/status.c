/* status.c — status codes to names and messages, OpenCL error names, and the thread's last-error text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define STR_(x) #x
#define STR(x) STR_(x)

const char *clenc_version(void)
{
    return STR(CLENC_VERSION_MAJOR) "." STR(CLENC_VERSION_MINOR) "." STR(
        CLENC_VERSION_PATCH);
}

const char *clenc_status_string(clenc_status status)
{
    switch (status) {
#define X(name, value, text)                                                   \
    case CLENC_##name:                                                         \
        return text;
        CLENC_STATUS_MAP(X)
#undef X
    }
    return "unknown status";
}

const char *clenc_status_name(clenc_status status)
{
    switch (status) {
#define X(name, value, text)                                                   \
    case CLENC_##name:                                                         \
        return "CLENC_" #name;
        CLENC_STATUS_MAP(X)
#undef X
    }
    return "CLENC_UNKNOWN_STATUS";
}

/* The last-error text grows to fit build logs; one buffer per thread, freed
 * by the key's destructor when the thread ends. */
static _Thread_local char *last_error;
static _Thread_local size_t last_error_cap;
static pthread_key_t last_error_key;
static pthread_once_t last_error_once = PTHREAD_ONCE_INIT;

static void last_error_key_create(void)
{
    (void)pthread_key_create(&last_error_key, free);
}

/* Makes room for `need` bytes (NUL included); false when memory ran out, in
 * which case the old text stays. */
static int last_error_reserve(size_t need)
{
    if (need <= last_error_cap)
        return 1;
    size_t cap = last_error_cap ? last_error_cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(last_error, cap);
    if (!p)
        return 0;
    if (!last_error) {
        p[0] = '\0';
        pthread_once(&last_error_once, last_error_key_create);
    }
    last_error = p;
    last_error_cap = cap;
    (void)pthread_setspecific(last_error_key, p);
    return 1;
}

static void last_error_vappend(size_t at, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || !last_error_reserve(at + (size_t)n + 1))
        return;
    vsnprintf(last_error + at, (size_t)n + 1, fmt, ap);
}

clenc_status clenc__fail(clenc_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    last_error_vappend(0, fmt, ap);
    va_end(ap);
    return status;
}

void clenc__fail_append(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    last_error_vappend(last_error ? strlen(last_error) : 0, fmt, ap);
    va_end(ap);
}

const char *clenc_last_error(void)
{
    return last_error ? last_error : "";
}

#define CL_ERROR_MAP(X)                                                        \
    X(CL_SUCCESS) X(CL_DEVICE_NOT_FOUND) X(CL_DEVICE_NOT_AVAILABLE)           \
    X(CL_COMPILER_NOT_AVAILABLE) X(CL_MEM_OBJECT_ALLOCATION_FAILURE)          \
    X(CL_OUT_OF_RESOURCES) X(CL_OUT_OF_HOST_MEMORY)                           \
    X(CL_PROFILING_INFO_NOT_AVAILABLE) X(CL_MEM_COPY_OVERLAP)                 \
    X(CL_IMAGE_FORMAT_MISMATCH) X(CL_IMAGE_FORMAT_NOT_SUPPORTED)              \
    X(CL_BUILD_PROGRAM_FAILURE) X(CL_MAP_FAILURE)                             \
    X(CL_MISALIGNED_SUB_BUFFER_OFFSET)                                        \
    X(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST)                           \
    X(CL_COMPILE_PROGRAM_FAILURE) X(CL_LINKER_NOT_AVAILABLE)                  \
    X(CL_LINK_PROGRAM_FAILURE) X(CL_DEVICE_PARTITION_FAILED)                  \
    X(CL_KERNEL_ARG_INFO_NOT_AVAILABLE) X(CL_INVALID_VALUE)                   \
    X(CL_INVALID_DEVICE_TYPE) X(CL_INVALID_PLATFORM) X(CL_INVALID_DEVICE)     \
    X(CL_INVALID_CONTEXT) X(CL_INVALID_QUEUE_PROPERTIES)                      \
    X(CL_INVALID_COMMAND_QUEUE) X(CL_INVALID_HOST_PTR)                        \
    X(CL_INVALID_MEM_OBJECT) X(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR)            \
    X(CL_INVALID_IMAGE_SIZE) X(CL_INVALID_SAMPLER) X(CL_INVALID_BINARY)       \
    X(CL_INVALID_BUILD_OPTIONS) X(CL_INVALID_PROGRAM)                         \
    X(CL_INVALID_PROGRAM_EXECUTABLE) X(CL_INVALID_KERNEL_NAME)                \
    X(CL_INVALID_KERNEL_DEFINITION) X(CL_INVALID_KERNEL)                      \
    X(CL_INVALID_ARG_INDEX) X(CL_INVALID_ARG_VALUE) X(CL_INVALID_ARG_SIZE)    \
    X(CL_INVALID_KERNEL_ARGS) X(CL_INVALID_WORK_DIMENSION)                    \
    X(CL_INVALID_WORK_GROUP_SIZE) X(CL_INVALID_WORK_ITEM_SIZE)                \
    X(CL_INVALID_GLOBAL_OFFSET) X(CL_INVALID_EVENT_WAIT_LIST)                 \
    X(CL_INVALID_EVENT) X(CL_INVALID_OPERATION) X(CL_INVALID_GL_OBJECT)       \
    X(CL_INVALID_BUFFER_SIZE) X(CL_INVALID_MIP_LEVEL)                         \
    X(CL_INVALID_GLOBAL_WORK_SIZE) X(CL_INVALID_PROPERTY)                     \
    X(CL_INVALID_IMAGE_DESCRIPTOR) X(CL_INVALID_COMPILER_OPTIONS)             \
    X(CL_INVALID_LINKER_OPTIONS) X(CL_INVALID_DEVICE_PARTITION_COUNT)

const char *clenc__cl_error_name(cl_int err)
{
    switch (err) {
#define X(name)                                                                \
    case name:                                                                 \
        return #name;
        CL_ERROR_MAP(X)
#undef X
    case -1001:
        return "CL_PLATFORM_NOT_FOUND_KHR";
    }
    static _Thread_local char unknown[40];
    snprintf(unknown, sizeof unknown, "CL_UNKNOWN_ERROR(%d)", (int)err);
    return unknown;
}

clenc_status clenc__cl_fail(cl_int err, const char *call, const char *file,
                            int line)
{
    clenc_status st = CLENC_ERR_OPENCL;
    if (err == CL_OUT_OF_HOST_MEMORY || err == CL_OUT_OF_RESOURCES ||
        err == CL_MEM_OBJECT_ALLOCATION_FAILURE)
        st = CLENC_ERR_OUT_OF_MEMORY;
    const char *base = strrchr(file, '/');
    return clenc__fail(st, "%s from %s (%s:%d)", clenc__cl_error_name(err),
                       call, base ? base + 1 : file, line);
}
