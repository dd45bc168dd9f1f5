/* clenc.h — the public API of clenc: Transformer encoders on any OpenCL device. */
#ifndef CLENC_H
#define CLENC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Only these names leave libclenc.so; everything else is hidden. */
#if defined(__GNUC__)
#define CLENC_API __attribute__((visibility("default")))
#else
#define CLENC_API
#endif

#define CLENC_VERSION_MAJOR 0
#define CLENC_VERSION_MINOR 1
#define CLENC_VERSION_PATCH 0
#define CLENC_VERSION_HEX                                                      \
    ((CLENC_VERSION_MAJOR << 16) | (CLENC_VERSION_MINOR << 8) |               \
     CLENC_VERSION_PATCH)

/* The library's version, "MAJOR.MINOR.PATCH"; compare with the macros above
 * to tell that header and library match. Any thread. */
CLENC_API const char *clenc_version(void);

/* ---------------------------------------------------------------- status */

/* One list gives the enum, clenc_status_name() and clenc_status_string(). */
#define CLENC_STATUS_MAP(X)                                                    \
    X(OK, 0, "success")                                                       \
    X(ERR_INVALID_ARG, -1, "invalid argument")                                \
    X(ERR_NO_DEVICE, -2, "no matching OpenCL device")                         \
    X(ERR_OPENCL, -3, "OpenCL call failed")                                   \
    X(ERR_BUILD, -4, "kernel program failed to build")                        \
    X(ERR_BINARY, -5, "no usable program binary")                             \
    X(ERR_OUT_OF_MEMORY, -6, "out of memory")                                 \
    X(ERR_IO, -7, "file input/output failed")                                 \
    X(ERR_MODEL_FORMAT, -8, "malformed model file")                           \
    X(ERR_UNSUPPORTED, -9, "unsupported model, setting or feature")

#define CLENC__STATUS_ENUM(name, value, text) CLENC_##name = value,
typedef enum clenc_status { CLENC_STATUS_MAP(CLENC__STATUS_ENUM) } clenc_status;
#undef CLENC__STATUS_ENUM

/* What a status code means ("out of memory"); "unknown status" for others. */
CLENC_API const char *clenc_status_string(clenc_status status);
/* The code's name ("CLENC_ERR_OUT_OF_MEMORY"). */
CLENC_API const char *clenc_status_name(clenc_status status);

/* What went wrong in the calling thread's most recent failed call: the
 * OpenCL error's name, the build log, the tensor and both shapes, the devices
 * that exist. Thread-local (like dlerror): a failed create and a call on a
 * shared object both have a place for it. Successful calls leave it as it
 * was. "" before the first failure. Valid until the thread's next clenc call. */
CLENC_API const char *clenc_last_error(void);

/* --------------------------------------------------------------- devices */

typedef enum clenc_device_type {
    CLENC_DEVICE_CPU = 1,
    CLENC_DEVICE_GPU = 2,
    CLENC_DEVICE_ACCELERATOR = 4,
    CLENC_DEVICE_OTHER = 8
} clenc_device_type;

typedef struct clenc_device_info {
    unsigned platform_index; /* OpenCL's platform order, as clinfo counts */
    unsigned device_index;   /* within the platform */
    char name[256];
    char vendor[128];
    char platform[128];
    char driver_version[128];
    char opencl_c_version[64]; /* "OpenCL C 1.2 ..." */
    clenc_device_type type;
    unsigned compute_units;
    unsigned clock_mhz;
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    int fp16;               /* cl_khr_fp16 */
    int fp64;               /* cl_khr_fp64 */
    int compiler_available; /* 0: only prebuilt binaries (FPGA boards) */
} clenc_device_info;

typedef struct clenc_platform_info {
    unsigned index;
    char name[128];
    char vendor[128];
    char version[128];
    unsigned device_count; /* 0: listed, but never chosen */
} clenc_platform_info;

/* Every OpenCL platform, devices or not. Fills up to `capacity` entries and
 * sets *count to how many exist. No platform at all is CLENC_ERR_NO_DEVICE.
 * Any thread. */
CLENC_API clenc_status clenc_platform_list(clenc_platform_info *platforms,
                                 size_t capacity, size_t *count);

/* Every device of every platform (platforms with none are skipped), in
 * platform order. Fills up to `capacity` entries, sets *count to how many
 * exist. No device at all is CLENC_ERR_NO_DEVICE. Any thread. */
CLENC_API clenc_status clenc_device_list(clenc_device_info *devices, size_t capacity,
                               size_t *count);

/* The device a spec selects: "gpu", "accelerator", "cpu", "P:D", or else a
 * case-insensitive substring of the device name. NULL or "" means
 * $CLENC_DEVICE, and if that is unset too, the best device: GPU, then
 * accelerator, then CPU, ties by platform order. A spec matching nothing is
 * CLENC_ERR_NO_DEVICE and clenc_last_error() lists the devices that exist.
 * Any thread. */
CLENC_API clenc_status clenc_device_find(const char *spec, clenc_device_info *out);

/* --------------------------------------------------------------- context */

typedef enum clenc_source_build {
    CLENC_SOURCE_ALLOW = 0, /* build from source when no cached binary fits */
    CLENC_SOURCE_FORBID = 1 /* binaries only (cache or container): FPGA flow */
} clenc_source_build;

typedef struct clenc_options {
    /* A device spec as for clenc_device_find(); NULL: $CLENC_DEVICE, then the
     * best device. */
    const char *device;
    /* Read kernel sources from this folder instead of the embedded ones.
     * NULL: $CLENC_KERNEL_DIR, then embedded. */
    const char *kernel_dir;
    /* Program-binary cache folder, or "off". NULL: $CLENC_CACHE_DIR, then
     * $XDG_CACHE_HOME/clenc, then ~/.cache/clenc. */
    const char *cache_dir;
    /* A program container (see clenc_context_save_programs) to take
     * binaries from. Loading one forbids source builds. NULL: none. */
    const char *binary;
    clenc_source_build source_build;
    /* Non-zero: command queues record kernel times. */
    int profiling;
} clenc_options;

/* Defaults: best device, embedded kernels, cache on, sources allowed. */
CLENC_API void clenc_options_init(clenc_options *opt);

/* A device and an OpenCL context on it. A context may be shared by threads:
 * every call taking a `const clenc_context *` or a model built on it is safe
 * from any thread. *out is NULL on failure. */
typedef struct clenc_context clenc_context;

CLENC_API clenc_status clenc_context_create(const clenc_options *opt,
                                  clenc_context **out);
/* Accepts NULL. No model or session of the context may outlive it. */
CLENC_API void clenc_context_destroy(clenc_context *ctx);

/* The context's device. Any thread. */
CLENC_API clenc_status clenc_context_device(const clenc_context *ctx,
                                  clenc_device_info *out);

/* Builds every kernel file of the library (cl_kernels/) with its default
 * tunables plus `defines` (extra "-D..." options, may be NULL), from cache,
 * container or source; a way to check that a device compiles clenc's kernels
 * and to warm the cache. `*built_from_source` (may be NULL) counts programs
 * compiled now. Any thread. */
CLENC_API clenc_status clenc_context_build_kernels(clenc_context *ctx,
                                         const char *defines,
                                         unsigned *built_from_source);

/* Writes every program the context has built into one container file
 * (format in README.md, "The program container"), atomically. A context
 * created with options.binary set to it runs without compiling anything, on
 * the same device, driver and library version. Any thread. */
CLENC_API clenc_status clenc_context_save_programs(clenc_context *ctx, const char *path);

#ifdef __cplusplus
}
#endif
#endif /* CLENC_H */
