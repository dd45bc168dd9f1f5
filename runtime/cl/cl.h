/* cl.h — the OpenCL layer: devices, contexts, kernel sources and programs with their cache and container, buffers, OpenCL errors. */
#ifndef CLENC_RUNTIME_CL_H
#define CLENC_RUNTIME_CL_H

#include <pthread.h>

#include <CL/cl.h>

#include "base/base.h"
#include "clenc_cl.h"

/* ----------------------------------------------- OpenCL errors (cl_error.c) */

/* "CL_INVALID_WORK_GROUP_SIZE" for -54; "CL_UNKNOWN_ERROR(-1234)" else. */
const char *clenc__cl_error_name(cl_int err);
/* Records a failed OpenCL call and returns the status it maps to. */
clenc_status clenc__cl_fail(cl_int err, const char *call, const char *file,
                            int line);

/* The one checking macro: `expr` yields a cl_int; on failure the call's text
 * and the error's name become the last error, `st` is set, and control
 * jumps to `label`. Creators are checked as CL_CHECK((x = clCreateX(..., &err),
 * err), label): when a fault is injected the call is not made, so what it
 * would create must start NULL. */
#define CL_CHECK(expr, label)                                                  \
    do {                                                                       \
        cl_int cl_check_err_ =                                                 \
            clenc__fault_hit() ? CL_OUT_OF_RESOURCES : (expr);                 \
        if (cl_check_err_ != CL_SUCCESS) {                                     \
            st = clenc__cl_fail(cl_check_err_, #expr, __FILE__, __LINE__);     \
            goto label;                                                        \
        }                                                                      \
    } while (0)

/* ----------------------------------------------------- devices (device.c) */

typedef struct clenc__device {
    cl_platform_id platform;
    cl_device_id id;
    clenc_device_info info;
} clenc__device;

/* Every device of every platform, in order; free() the list. */
clenc_status clenc__device_enumerate(clenc__device **list, size_t *count);
/* Index into `list` of the device `spec` selects (NULL: env, then best). */
clenc_status clenc__device_select(const clenc__device *list, size_t count,
                                  const char *spec, size_t *index);

/* ---------------------------------------------- program container (container.c) */

typedef struct clenc__container_program {
    char *name;    /* kernel file, without ".cl" */
    char *options; /* full build options, specialisation constants included */
    uint64_t source_hash;
    unsigned char *binary;
    size_t binary_size;
} clenc__container_program;

typedef struct clenc__container {
    char *library_version;
    char *device_name;
    char *driver_version;
    size_t count;
    clenc__container_program *programs;
} clenc__container;

#define CLENC__CONTAINER_MAGIC "CLENCPRG"
#define CLENC__CONTAINER_VERSION 1u
#define CLENC__CONTAINER_HEADER 32u
#define CLENC__CONTAINER_MAX_STRING 65536u

/* Strict parse of a whole file's bytes; `origin` names it in messages. */
clenc_status clenc__container_parse(const unsigned char *data, size_t size,
                                    const char *origin, clenc__container *out);
clenc_status clenc__container_serialize(const clenc__container *c,
                                        unsigned char **data, size_t *size);
/* A copy of `p` appended to `c` (strings and binary duplicated). */
clenc_status clenc__container_add(clenc__container *c,
                                  const clenc__container_program *p);
/* Mismatch with this device, driver or library version is CLENC_ERR_BINARY
 * naming the field and both values. */
clenc_status clenc__container_check(const clenc__container *c,
                                    const char *origin,
                                    const clenc_device_info *device);
void clenc__container_free(clenc__container *c);

/* -------------------------------------------------------- kernel sources */

typedef struct clenc__kernel_file {
    const char *name; /* file name: "attention.cl", "rows.h" */
    const unsigned char *source;
    size_t size;
} clenc__kernel_file;

/* Generated at build time from cl_kernels/ (build/kernels_embedded.c). */
extern const clenc__kernel_file clenc__kernel_files[];
extern const size_t clenc__kernel_file_count;
/* How many of them are programs (.cl), not included headers. */
size_t clenc__kernel_program_count(void);

/* ------------------------------------------------------------- context */

typedef struct clenc__program {
    char *name;
    char *options; /* full options the program was built with */
    uint64_t source_hash;
    cl_program program;
} clenc__program;

struct clenc_context {
    clenc__device device;
    cl_context cl;
    cl_command_queue transfer_queue; /* uploads at model load */
    char *kernel_dir;                /* NULL: embedded sources */
    char *cache_dir;                 /* NULL: cache off */
    char *cache_off_reason;          /* why it is off; NULL when on */
    clenc__container *container;     /* NULL: none loaded */
    char *container_path;
    clenc_source_build source_build;
    int profiling;
    clenc_gemm gemm;       /* AUTO: measured per device when tuning */
    clenc_variant variant; /* resolved: never AUTO */
    clenc_tune tune;       /* resolved: never DEFAULT */
    clenc_precision precision; /* models' default; resolved: never DEFAULT */
    clenc_fp16_compute fp16_compute; /* resolved: never AUTO from the
                                      * variable (AUTO: by the device) */

    pthread_mutex_t lock; /* guards the fields below */
    clenc__program *programs;
    size_t program_count, program_capacity;
    uint64_t allocated_bytes;
};

/* An in-order queue on the context's device (profiling as the options say). */
clenc_status clenc__queue_create(clenc_context *ctx, cl_command_queue *out);

/* ---------------------------------------------------- programs (program.c) */

/* The program for kernel file `name` (without ".cl") built with `defines` (may be NULL),
 * from the context's programs, the container, the cache or source, in that
 * order. The context keeps it; do not release. `*from_source` (may be NULL)
 * says whether it was compiled now. Thread-safe. */
clenc_status clenc__program_get(clenc_context *ctx, const char *name,
                                const char *defines, cl_program *out,
                                int *from_source);
void clenc__programs_release(clenc_context *ctx);

/* --------------------------------------------------------- cache (cache.c) */

/* A validated binary for this program on this device, or CLENC_ERR_BINARY
 * (miss, or an entry that is corrupt, truncated or for something else). */
clenc_status clenc__cache_load(const clenc_context *ctx,
                               const clenc__container_program *key,
                               unsigned char **binary, size_t *size);
clenc_status clenc__cache_store(const clenc_context *ctx,
                                const clenc__container_program *program);
/* The entry's path (malloc'd); for tests and messages. */
char *clenc__cache_path(const clenc_context *ctx,
                        const clenc__container_program *key);
/* Largest cache entry read: PoCL's entries of our kernels are 55-240 KiB,
 * GPU drivers' binaries a few MiB, FPGA images up to ~100 MiB; the cap keeps
 * a planted file from making us allocate and read gigabytes. */
#define CLENC__CACHE_MAX_ENTRY ((size_t)256 << 20)
/* Tuning and peak files hold one line of numbers. */
#define CLENC__CACHE_MAX_NOTE ((size_t)4096)
/* Checks the folder named by the options or the environment at context
 * creation: creates it (0700) if missing, then keeps it only if it is ours
 * (clenc__folder_owned); else the cache is off and `*off_reason` says why.
 * Leaves the last error alone; fails only when out of memory. */
clenc_status clenc__cache_open(clenc_context *ctx, const clenc_options *opt);
/* Before any write into the cache folder: creates it again if it went
 * missing and checks that it is still ours (CLENC_ERR_IO, naming why, if
 * not). */
clenc_status clenc__cache_folder_ready(const clenc_context *ctx);

/* --------------------------------------------------------- buffers (buffer.c) */

/* Device memory of `size` bytes; `what` names it in an out-of-memory message,
 * which is given before asking OpenCL when the device's limits say no. */
clenc_status clenc__buffer_create(clenc_context *ctx, size_t size,
                                  cl_mem_flags flags, const char *what,
                                  cl_mem *out);
void clenc__buffer_release(clenc_context *ctx, cl_mem mem);
clenc_status clenc__buffer_upload(cl_command_queue q, cl_mem mem,
                                  size_t offset, size_t size,
                                  const void *host);
clenc_status clenc__buffer_download(cl_command_queue q, cl_mem mem,
                                    size_t offset, size_t size, void *host);

#endif /* CLENC_RUNTIME_CL_H */
