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
#define CLENC_VERSION_MINOR 5
#define CLENC_VERSION_PATCH 0
#define CLENC_VERSION_HEX                                                      \
    ((CLENC_VERSION_MAJOR << 16) | (CLENC_VERSION_MINOR << 8) |               \
     CLENC_VERSION_PATCH)

/* The library's version, "MAJOR.MINOR.PATCH"; compare with the macros above
 * to tell that header and library match. Any thread. */
CLENC_API const char *clenc_version(void);

/* Structs that grow. Later releases add fields to the public structs, so
 * every function that takes one (or an array of them) also takes the
 * caller's size of it: a program built against an older or a newer clenc.h
 * than the library's keeps working, and the library never reads or writes
 * past the caller's struct. The familiar name (clenc_model_info_get) is a
 * macro that passes sizeof of the struct type as the caller's clenc.h has
 * it (a type, not *(ptr): an optional pointer may be NULL, in C++ too) and
 * calls the exported symbol with the suffix _sized
 * (clenc_model_info_get_sized), where each struct pointer is followed by
 * its size (for an array: one element's, the stride). The library
 *  - refuses a size below the struct's size in clenc 0.2.0, the first
 *    release that took sizes: CLENC_ERR_INVALID_ARG naming the struct and
 *    both sizes;
 *  - reads an input struct (clenc_options, clenc_config, clenc_weights,
 *    clenc_layer_weights) as far as the caller's size reaches; a field the
 *    caller's version lacks reads as 0, which means "as before that field
 *    existed" (the rule for every field a release adds);
 *  - accepts an input struct larger than its own (a newer clenc.h) only if
 *    every byte past the fields it knows is 0; a set one is a setting it
 *    cannot honour: CLENC_ERR_UNSUPPORTED naming the offset, never ignored;
 *  - writes an output struct up to the caller's size, never past it, and 0
 *    into the bytes past the fields it knows.
 * What 0 means today: clenc_options all 0 is the defaults (what
 * clenc_options_init writes). In clenc_config, 0 is BERT's activation,
 * norm placement and learned positions, and off for the flags and token
 * types, while the sizes, eps and pooling have no default and 0 is refused
 * naming the field: start from clenc_config_init_bert/_vanilla. In the
 * weights, NULL is an absent tensor (a bias: zeros; a needed weight:
 * refused naming it).
 * A binding from another language calls the _sized symbols with its
 * mirrors' sizes (ctypes.sizeof), and its mirrors must have the C layout
 * exactly (tests/python/test_abi.py checks the project's bindings). A
 * function pointer must take the _sized symbol: the familiar names are
 * macros. */

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
 * shared object both have a place for it. Read it right after a call
 * failed: a call that succeeds may have set it on the way (a cache miss).
 * "" before the first failure. Valid until the thread's next clenc call. */
CLENC_API const char *clenc_last_error(void);

/* --------------------------------------------------------------- devices */

typedef enum clenc_device_type {
    CLENC_DEVICE_CPU = 1,
    CLENC_DEVICE_GPU = 2,
    CLENC_DEVICE_ACCELERATOR = 4,
    CLENC_DEVICE_OTHER = 8
} clenc_device_type;

/* "GPU", "accelerator", "CPU" or "other". */
CLENC_API const char *clenc_device_type_name(clenc_device_type type);

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
CLENC_API clenc_status clenc_platform_list_sized(clenc_platform_info *platforms,
                                                 size_t platform_size,
                                                 size_t capacity,
                                                 size_t *count);
#define clenc_platform_list(platforms, capacity, count)                        \
    clenc_platform_list_sized((platforms), sizeof(clenc_platform_info),        \
                              (capacity), (count))

/* Every device of every platform (platforms with none are skipped), in
 * platform order. Fills up to `capacity` entries, sets *count to how many
 * exist. No device at all is CLENC_ERR_NO_DEVICE. Any thread. */
CLENC_API clenc_status clenc_device_list_sized(clenc_device_info *devices,
                                               size_t device_size,
                                               size_t capacity, size_t *count);
#define clenc_device_list(devices, capacity, count)                            \
    clenc_device_list_sized((devices), sizeof(clenc_device_info), (capacity),  \
                            (count))

/* The device a spec selects: "gpu", "accelerator", "cpu", "P:D", or else a
 * case-insensitive substring of the device name. NULL or "" means
 * $CLENC_DEVICE, and if that is unset too, the best device: GPU, then
 * accelerator, then CPU, ties by platform order. A spec matching nothing is
 * CLENC_ERR_NO_DEVICE and clenc_last_error() lists the devices that exist.
 * Any thread. */
CLENC_API clenc_status clenc_device_find_sized(const char *spec,
                                               clenc_device_info *out,
                                               size_t out_size);
#define clenc_device_find(spec, out)                                           \
    clenc_device_find_sized((spec), (out), sizeof(clenc_device_info))

/* --------------------------------------------------------------- context */

typedef enum clenc_source_build {
    CLENC_SOURCE_ALLOW = 0, /* build from source when no cached binary fits */
    CLENC_SOURCE_FORBID = 1 /* binaries only (cache or container): FPGA flow */
} clenc_source_build;

typedef enum clenc_gemm {
    CLENC_GEMM_AUTO = 0,   /* $CLENC_GEMM, else measured per device */
    CLENC_GEMM_OWN = 1,    /* clenc's kernel, weights packed in panels */
    CLENC_GEMM_CLBLAST = 2 /* CLBlast, epilogues as separate kernels */
} clenc_gemm;

typedef enum clenc_tune {
    CLENC_TUNE_DEFAULT = 0, /* $CLENC_TUNE, else fast */
    CLENC_TUNE_OFF = 1,     /* the default tile sizes: deterministic (tests) */
    CLENC_TUNE_FAST = 2,    /* a short measured search on first use */
    CLENC_TUNE_THOROUGH = 3 /* more candidates and sizes */
} clenc_tune;

typedef enum clenc_variant {
    CLENC_VARIANT_AUTO = 0, /* $CLENC_VARIANT, else by device type */
    CLENC_VARIANT_CPU = 1,  /* no barriers, no local memory */
    CLENC_VARIANT_GPU = 2   /* work-group tiling in local memory */
} clenc_variant;

/* The arithmetic of a model's weights and kernels (README.md, "Precision").
 * FP16 stores the weights as half; where the device has cl_khr_fp16 (or
 * $CLENC_FP16_COMPUTE=force) it also computes in half, else it reads the
 * halves into float. INT8 quantises the weights at load (one scale per
 * output channel; the word embeddings one per row) and the activations on
 * the device before each GEMM (one scale per token row), multiplies in
 * integers and accumulates in 32 bits; attention, softmax and LayerNorm
 * stay float. */
typedef enum clenc_precision {
    CLENC_PRECISION_DEFAULT = 0, /* the context's: option, $CLENC_PRECISION,
                                  * else fp32 */
    CLENC_PRECISION_FP32 = 1,
    CLENC_PRECISION_FP16 = 2,
    CLENC_PRECISION_INT8 = 3
} clenc_precision;

/* Whether an FP16 model also holds its activations in half (README.md,
 * "Precision"): GEMM inputs half, products summed in float. */
typedef enum clenc_fp16_compute {
    CLENC_FP16_COMPUTE_AUTO = 0,  /* $CLENC_FP16_COMPUTE, else where the
                                   * device has cl_khr_fp16 */
    CLENC_FP16_COMPUTE_FORCE = 1, /* on any device (Oclgrind, tests) */
    CLENC_FP16_COMPUTE_OFF = 2    /* half weights, float activations */
} clenc_fp16_compute;

/* "fp32", "fp16", "int8" ("default" for DEFAULT, NULL for others). */
CLENC_API const char *clenc_precision_name(clenc_precision precision);

typedef struct clenc_options {
    /* A device spec as for clenc_device_find(); NULL: $CLENC_DEVICE, then the
     * best device. */
    const char *device;
    /* Read kernel sources from this folder instead of the embedded ones.
     * NULL: $CLENC_KERNEL_DIR, then embedded. */
    const char *kernel_dir;
    /* Program-binary cache folder, or "off". NULL: $CLENC_CACHE_DIR, then
     * $XDG_CACHE_HOME/clenc, then ~/.cache/clenc. Made (0700) if missing;
     * used only if it is this user's and not writable by group or others
     * (clenc_context_cache says which folder is used, or why none). */
    const char *cache_dir;
    /* A program container (see clenc_context_save_programs) to take
     * binaries from. Loading one forbids source builds. NULL: none. */
    const char *binary;
    clenc_source_build source_build;
    /* Non-zero: command queues record kernel times. */
    int profiling;
    /* GEMM implementation of models loaded on this context. */
    clenc_gemm gemm;
    /* Kernel family of models loaded on this context. */
    clenc_variant variant;
    /* Tile sizes (and the GEMM when not set) of models loaded on this
     * context: chosen by a short measurement on first use, persisted in the
     * cache folder; $CLENC_GEMM_TILE ("TMxTNP", e.g. 4x4) fixes them. */
    clenc_tune tune;
    /* clenc 0.2's trailing padding: a 0.2 caller's bytes here are
     * indeterminate, so the library never reads this field. */
    int pad_0_2;
    /* Precision of models loaded on this context that do not choose their
     * own (clenc_config.precision, clenc_model_load_as). DEFAULT:
     * $CLENC_PRECISION ("fp32", "fp16", "int8"), else fp32. */
    clenc_precision precision;
    /* FP16 models' activations: see clenc_fp16_compute. */
    clenc_fp16_compute fp16_compute;
} clenc_options;

/* Defaults: best device, embedded kernels, cache on, sources allowed,
 * GEMM and kernel family from the environment or the device. All zeros.
 * CLENC_ERR_INVALID_ARG only for a NULL opt or a bad size. */
CLENC_API clenc_status clenc_options_init_sized(clenc_options *opt,
                                                size_t opt_size);
#define clenc_options_init(opt)                                                \
    clenc_options_init_sized((opt), sizeof(clenc_options))

/* A device and an OpenCL context on it. A context may be shared by threads:
 * every call taking a `const clenc_context *` or a model built on it is safe
 * from any thread. opt NULL means the defaults. *out is NULL on failure. */
typedef struct clenc_context clenc_context;

CLENC_API clenc_status clenc_context_create_sized(const clenc_options *opt,
                                                  size_t opt_size,
                                                  clenc_context **out);
#define clenc_context_create(opt, out)                                         \
    clenc_context_create_sized((opt), sizeof(clenc_options), (out))
/* Accepts NULL. No model or session of the context may outlive it. */
CLENC_API void clenc_context_destroy(clenc_context *ctx);

/* The context's device. Any thread. */
CLENC_API clenc_status clenc_context_device_sized(const clenc_context *ctx,
                                                  clenc_device_info *out,
                                                  size_t out_size);
#define clenc_context_device(ctx, out)                                         \
    clenc_context_device_sized((ctx), (out), sizeof(clenc_device_info))

/* The context's program cache. *dir is the folder in use, or NULL when the
 * cache is off; *off_reason is NULL when the cache is in use, else why not:
 * "turned off (CLENC_CACHE_DIR=off)" or "turned off (option cache_dir=off)"
 * when the user chose so, "no folder for it (...)" without $HOME, else a
 * text starting "cache folder '" that names the folder and what is wrong
 * with it ("... is writable by others (mode 1777)"): the folder must be
 * owned by this user and not writable by group or others, or the cache is
 * not used at all. Either pointer may be NULL; both strings live as long as
 * the context. A NULL ctx is CLENC_ERR_INVALID_ARG; a call that succeeds
 * leaves clenc_last_error() as it was. Any thread. */
CLENC_API clenc_status clenc_context_cache(const clenc_context *ctx,
                                           const char **dir,
                                           const char **off_reason);

/* Builds every kernel file of the library (cl_kernels/) with its default
 * tunables plus `defines` (extra "-D..." options, may be NULL), from cache,
 * container or source; a way to check that a device compiles clenc's kernels
 * and to warm the cache. `*built_from_source` (may be NULL) counts programs
 * compiled now. Any thread. */
CLENC_API clenc_status clenc_context_build_kernels(clenc_context *ctx,
                                         const char *defines,
                                         unsigned *built_from_source);

/* A program the context has built: its kernel file and the exact build
 * options (the specialisation constants an offline compiler must get). */
typedef struct clenc_program_info {
    char name[64];
    char options[1024];
} clenc_program_info;

/* Fills up to capacity entries, sets *count to how many exist. Any thread. */
CLENC_API clenc_status clenc_context_programs_sized(clenc_context *ctx,
                                                    clenc_program_info *out,
                                                    size_t out_size,
                                                    size_t capacity,
                                                    size_t *count);
#define clenc_context_programs(ctx, out, capacity, count)                      \
    clenc_context_programs_sized((ctx), (out), sizeof(clenc_program_info),     \
                                 (capacity), (count))

/* Writes every program the context has built into one container file
 * (format in README.md, "The program container"), atomically. A context
 * created with options.binary set to it runs without compiling anything, on
 * the same device, driver and library version. Any thread. */
CLENC_API clenc_status clenc_context_save_programs(clenc_context *ctx, const char *path);

/* The device's measured peaks: a short FMA kernel with many independent
 * accumulators (GFLOP/s) and a copy kernel (GB/s, read + write), each the
 * best of several runs. Measured once per device and driver, then read from
 * the cache folder. Any thread. */
typedef struct clenc_device_peak {
    double gflops;
    double gbps;
} clenc_device_peak;

CLENC_API clenc_status clenc_device_peak_get_sized(clenc_context *ctx,
                                                   clenc_device_peak *out,
                                                   size_t out_size);
#define clenc_device_peak_get(ctx, out)                                        \
    clenc_device_peak_get_sized((ctx), (out), sizeof(clenc_device_peak))
/* As clenc_device_peak_get, and *measured_at (may be NULL) gets when the
 * figures were measured (UNIX time, seconds; the cache entry records it).
 * With `remeasure` set it measures now, whatever the cache holds, and
 * replaces the entry: for a tool that measured a rate above the cached peak
 * (the probe ran while the machine was busy). Any thread. */
CLENC_API clenc_status clenc_device_peak_query_sized(clenc_context *ctx,
                                                     int remeasure,
                                                     clenc_device_peak *out,
                                                     size_t out_size,
                                                     int64_t *measured_at);
#define clenc_device_peak_query(ctx, remeasure, out, measured_at)              \
    clenc_device_peak_query_sized((ctx), (remeasure), (out),                   \
                                  sizeof(clenc_device_peak), (measured_at))
/* Writes rate / peak (both GFLOP/s, or both GB/s) into buf as "42.1%" and
 * returns 1. A rate above the peak means the peak was measured too low,
 * never a share over 100%: then "n/a (rate above the measured peak: peak
 * probe unreliable on this machine)" and 0; no peak or no rate (0, negative,
 * not a number): "n/a (...)" and 0. Truncates to size; any thread. */
CLENC_API int clenc_peak_share_format(double rate, double peak, char *buf,
                                      size_t size);

/* The context's GEMM on its own, for benchmarks (clenc-bench-gemm, make
 * bench): C[m][n] = A[m][k] · Wᵀ with W [n][k] in PyTorch's Linear layout,
 * through the same dispatch a model uses (the context's GEMM option, own
 * kernel when AUTO; tiles from $CLENC_GEMM_TILE, else the defaults: it does
 * not tune). A and W are copied to the device at create; W as a model's
 * weights are (packed for the own kernel). */
typedef struct clenc_gemm_bench clenc_gemm_bench;

CLENC_API clenc_status clenc_gemm_bench_create(clenc_context *ctx, unsigned m,
                                               unsigned n, unsigned k,
                                               const float *a, const float *w,
                                               clenc_gemm_bench **out);
/* Enqueues `calls` GEMMs back to back, as an encoder pass does, waits once,
 * and gives the wall time in milliseconds. The result stays on the device.
 * One thread at a time. */
CLENC_API clenc_status clenc_gemm_bench_run(clenc_gemm_bench *bench,
                                            unsigned calls, double *ms);
/* Copies the last run's C [m][n] into c (m * n floats), for checking a
 * benchmark's peers against it. One thread at a time. */
CLENC_API clenc_status clenc_gemm_bench_read(clenc_gemm_bench *bench, float *c);
/* The GEMM it runs (OWN or CLBLAST). */
CLENC_API clenc_gemm clenc_gemm_bench_gemm(const clenc_gemm_bench *bench);
/* Accepts NULL. */
CLENC_API void clenc_gemm_bench_destroy(clenc_gemm_bench *bench);

/* ---------------------------------------------------------------- models */

typedef enum clenc_activation {
    CLENC_ACT_GELU = 0,      /* exact: x/2 (1 + erf(x / sqrt 2)) */
    CLENC_ACT_GELU_TANH = 1, /* the tanh approximation */
    CLENC_ACT_RELU = 2
} clenc_activation;

typedef enum clenc_norm_placement {
    CLENC_NORM_POST = 0, /* x = LN(x + f(x)): BERT, the paper */
    CLENC_NORM_PRE = 1   /* x = x + f(LN(x)) */
} clenc_norm_placement;

typedef enum clenc_position_kind {
    CLENC_POS_LEARNED = 0,    /* a trained table (BERT) */
    CLENC_POS_SINUSOIDAL = 1, /* the paper's, interleaved sin/cos */
    CLENC_POS_NONE = 2
} clenc_position_kind;

/* Pooling of an encoded batch; CLENC_POOL_NORMALIZE may be or'ed in. */
typedef enum clenc_pooling {
    CLENC_POOL_DEFAULT = 0, /* the model's default, normalisation included */
    CLENC_POOL_MEAN = 1,    /* mean over the real tokens of each sequence */
    CLENC_POOL_CLS = 2,     /* the first token's hidden state (no pooler) */
    CLENC_POOL_NONE = 3,    /* every token's hidden state */
    CLENC_POOL_POOLER = 4,  /* BERT's pooler: dense + tanh on the first
                               token (models whose checkpoint has it) */
    CLENC_POOL_NORMALIZE = 0x100 /* L2-normalise each returned vector */
} clenc_pooling;

/* One forward pass serves both families; these fields configure it. */
typedef struct clenc_config {
    unsigned vocab_size;
    unsigned hidden;          /* d_model */
    unsigned heads;           /* hidden must be a multiple */
    unsigned layers;
    unsigned ffn;             /* inner size of the feed-forward block */
    unsigned max_positions;   /* longest sequence */
    unsigned type_vocab_size; /* token types; 0: none */
    clenc_activation activation;
    clenc_norm_placement norm;
    clenc_position_kind positions;
    int scale_embedding; /* token embeddings times sqrt(hidden) (the paper) */
    int embedding_norm;  /* LayerNorm after the embedding sum (BERT) */
    int final_norm;      /* LayerNorm after the last layer (pre-LN models) */
    float eps;           /* LayerNorm epsilon */
    clenc_pooling pooling; /* default pooling, NORMALIZE or'ed in or not */
    clenc_precision precision; /* DEFAULT: the context's */
    /* The first token's position id: RoBERTa and XLM-R number positions
     * from padding_idx + 1 (2), so a sequence holds at most max_positions
     * - position_offset tokens; a token of id padding_idx (the pad token)
     * takes position padding_idx and is not counted, as transformers
     * does. 0 for BERT and the paper's encoder. */
    unsigned position_offset;
} clenc_config;

/* BERT family defaults: learned positions, token types (2), erf GELU,
 * post-LN, embedding LayerNorm, eps 1e-12, mean pooling. Sizes are left 0:
 * set them. CLENC_ERR_INVALID_ARG only for a NULL config or a bad size. */
CLENC_API clenc_status clenc_config_init_bert_sized(clenc_config *config,
                                                    size_t config_size);
#define clenc_config_init_bert(config)                                         \
    clenc_config_init_bert_sized((config), sizeof(clenc_config))
/* The paper's encoder: sinusoidal positions, embeddings scaled by
 * sqrt(hidden), no token types, ReLU, post-LN, no embedding LayerNorm,
 * eps 1e-5, mean pooling. Sizes are left 0. */
CLENC_API clenc_status clenc_config_init_vanilla_sized(clenc_config *config,
                                                       size_t config_size);
#define clenc_config_init_vanilla(config)                                      \
    clenc_config_init_vanilla_sized((config), sizeof(clenc_config))

/* Host weights, float32, row-major; matrices in PyTorch's Linear layout
 * [out_features][in_features]. A NULL bias means zeros. Read only during
 * clenc_model_create; the caller keeps ownership. */
typedef struct clenc_layer_weights {
    const float *q_weight, *q_bias; /* [hidden][hidden], [hidden] */
    const float *k_weight, *k_bias;
    const float *v_weight, *v_bias;
    const float *o_weight, *o_bias;
    const float *norm1_weight, *norm1_bias; /* attention block's LayerNorm */
    const float *ffn_up_weight, *ffn_up_bias;     /* [ffn][hidden], [ffn] */
    const float *ffn_down_weight, *ffn_down_bias; /* [hidden][ffn], [hidden] */
    const float *norm2_weight, *norm2_bias; /* feed-forward block's LayerNorm */
} clenc_layer_weights;

typedef struct clenc_weights {
    const float *word_embeddings;     /* [vocab_size][hidden] */
    const float *position_embeddings; /* [max_positions][hidden], learned */
    const float *type_embeddings;     /* [type_vocab_size][hidden] */
    const float *embedding_norm_weight, *embedding_norm_bias;
    const float *final_norm_weight, *final_norm_bias;
    const clenc_layer_weights *layers; /* config.layers of them */
} clenc_weights;

/* Weights on the device and kernels built for this model. A model may be
 * shared by threads; it must outlive its sessions. */
typedef struct clenc_model clenc_model;

/* A sequence-classification head on the first token, as transformers'
 * *ForSequenceClassification models have them (rerankers, classifiers). */
typedef enum clenc_head_kind {
    CLENC_HEAD_NONE = 0,
    CLENC_HEAD_BERT = 1,      /* pooler (dense + tanh), then classifier */
    CLENC_HEAD_ROBERTA = 2,   /* classifier.dense + tanh, then out_proj */
    CLENC_HEAD_DISTILBERT = 3 /* pre_classifier + ReLU, then classifier */
} clenc_head_kind;

/* What turns a head's logits into scores, from the model's files:
 * sentence-transformers' CrossEncoder activation_fn where config.json
 * names one; else transformers' problem_type: one label (a reranker) gets
 * a sigmoid, "regression" none; several labels a softmax,
 * "multi_label_classification" a sigmoid each. */
typedef enum clenc_score_activation {
    CLENC_SCORE_IDENTITY = 0, /* raw logits */
    CLENC_SCORE_SIGMOID = 1,
    CLENC_SCORE_SOFTMAX = 2
} clenc_score_activation;

typedef struct clenc_model_info {
    unsigned hidden;        /* floats per output vector */
    unsigned max_sequence;  /* longest sequence, in tokens */
    unsigned vocab_size;
    unsigned layers;
    clenc_pooling pooling;  /* default pooling, NORMALIZE or'ed in or not */
    clenc_gemm gemm;        /* the GEMM chosen at load */
    clenc_variant variant;  /* the kernel family chosen at load */
    uint64_t weight_bytes;  /* device memory held by the weights */
    int has_tokenizer;      /* 0: the model takes token ids only */
    unsigned max_text_tokens; /* texts are truncated to this many tokens */
    char name[256];         /* the model folder's name */
    clenc_precision precision; /* never DEFAULT */
    /* FP16 only: 1 when activations and GEMM inputs are half (the device
     * has cl_khr_fp16, or fp16_compute FORCE); 0 when the weights' halves
     * are read into float activations. */
    int fp16_compute;
    clenc_head_kind head;   /* NONE: an embedder */
    unsigned num_labels;    /* the head's outputs; 0 without a head */
    clenc_score_activation score_activation;
    int has_pooler;         /* BERT's pooler is loaded: CLENC_POOL_POOLER */
} clenc_model_info;

/* Validates the configuration (CLENC_ERR_INVALID_ARG naming the field),
 * uploads the weights in the layout the chosen GEMM wants and builds the
 * kernels specialised for this model (through the program cache). Any
 * thread; *out is NULL on failure. layer_size is the stride of
 * weights->layers. */
CLENC_API clenc_status clenc_model_create_sized(clenc_context *ctx,
                                                const clenc_config *config,
                                                size_t config_size,
                                                const clenc_weights *weights,
                                                size_t weights_size,
                                                size_t layer_size,
                                                clenc_model **out);
#define clenc_model_create(ctx, config, weights, out)                          \
    clenc_model_create_sized((ctx), (config), sizeof(clenc_config),            \
                             (weights), sizeof(clenc_weights),                 \
                             sizeof(clenc_layer_weights), (out))
/* Accepts NULL. Destroy the model's sessions first. */
CLENC_API void clenc_model_destroy(clenc_model *model);
CLENC_API clenc_status clenc_model_info_get_sized(const clenc_model *model,
                                                  clenc_model_info *out,
                                                  size_t out_size);
#define clenc_model_info_get(model, out)                                       \
    clenc_model_info_get_sized((model), (out), sizeof(clenc_model_info))

/* Loads a model folder (or a .safetensors file with config.json beside
 * it): a BERT-family checkpoint (model_type bert, roberta, xlm-roberta,
 * camembert or distilbert; MiniLM, BGE, E5, multilingual-e5; tensor names
 * with or without a prefix such as "bert."; a *ForSequenceClassification
 * head with it), or a PyTorch torch.nn.TransformerEncoder state dict with
 * a config.json of "architectures": ["TransformerEncoder"] (README.md,
 * "Models"). The sentence-transformers files beside it (modules.json,
 * 1_Pooling/, sentence_bert_config.json) set the default pooling,
 * normalisation and truncation; tokenizer.json (else vocab.txt and
 * tokenizer_config.json) the tokenizer. A missing
 * or mis-shaped tensor is CLENC_ERR_MODEL_FORMAT naming it and both shapes;
 * an architecture or setting clenc does not run is CLENC_ERR_UNSUPPORTED
 * naming the field and value. The weights are on the device and the file
 * is unmapped when this returns. Any thread. */
CLENC_API clenc_status clenc_model_load(clenc_context *ctx, const char *path,
                                        clenc_model **out);
/* The same at a precision of the caller's choosing (DEFAULT: the
 * context's), so one context may hold an fp32 and an int8 model. */
CLENC_API clenc_status clenc_model_load_as(clenc_context *ctx,
                                           const char *path,
                                           clenc_precision precision,
                                           clenc_model **out);

/* WordPiece-tokenizes text (and text_pair, may be NULL) exactly as Hugging
 * Face's BertTokenizerFast: [CLS] text [SEP] (pair [SEP]), truncated to
 * max_len tokens. max_len is the capacity of ids and type_ids (may be
 * NULL); 0, or more than the model's max_text_tokens, means max_text_tokens
 * (clamped, never refused). *n receives the count. A pair is truncated by
 * HF's longest_first rule, reading each text only as far as that needs.
 * Text must be UTF-8: invalid bytes are CLENC_ERR_INVALID_ARG naming their
 * offset, wherever they are. A model without a tokenizer is
 * CLENC_ERR_UNSUPPORTED. Any thread. */
CLENC_API clenc_status clenc_tokenize(const clenc_model *model,
                                      const char *text, const char *text_pair,
                                      size_t max_len, int32_t *ids,
                                      int32_t *type_ids, size_t *n);
/* The same with explicit lengths in bytes, for texts that are not
 * NUL-terminated or hold NUL bytes: a NUL inside a text is U+0000, a
 * control character, dropped like every other (as BertNormalizer does), so
 * "a\0b" tokenizes as "ab". text may be NULL when text_len is 0; text_pair
 * NULL means no pair (pair_len then 0), a pair_len of 0 an empty pair. */
CLENC_API clenc_status clenc_tokenize_n(const clenc_model *model,
                                        const char *text, size_t text_len,
                                        const char *text_pair,
                                        size_t pair_len, size_t max_len,
                                        int32_t *ids, int32_t *type_ids,
                                        size_t *n);

/* -------------------------------------------------------------- sessions */

/* A command queue, kernel objects and one planned workspace for batches of
 * up to max_batch sequences of up to max_seq tokens. A session is used by
 * one thread at a time; sessions of one model run concurrently. */
typedef struct clenc_session clenc_session;

CLENC_API clenc_status clenc_session_create(clenc_model *model,
                                            unsigned max_batch,
                                            unsigned max_seq,
                                            clenc_session **out);
/* Accepts NULL. */
CLENC_API void clenc_session_destroy(clenc_session *session);

/* The pooling clenc_embed_text() uses: CLENC_POOL_DEFAULT (the model's,
 * normalisation included) or another, CLENC_POOL_NORMALIZE or'ed in or not. */
CLENC_API clenc_status clenc_session_set_pooling(clenc_session *session,
                                                 clenc_pooling pooling);

/* Tokenizes, batches, encodes and pools n texts: out receives
 * [n][hidden] floats in the order of the texts, or [n][max_seq][hidden]
 * for CLENC_POOL_NONE (rows past a text's tokens set to 0). Any n: texts
 * are grouped by length into batches of the session's max_batch, and
 * truncated to the session's max_seq and the model's max_text_tokens. An n
 * whose out could not fit in memory is CLENC_ERR_INVALID_ARG naming n. On
 * failure (a text that is not UTF-8: its index is named) out is
 * unspecified. */
CLENC_API clenc_status clenc_embed_text(clenc_session *session,
                                        const char *const *texts, size_t n,
                                        float *out);
/* The same with each text's length in bytes (lengths NULL: NUL-terminated
 * texts): NUL bytes inside are dropped as in clenc_tokenize_n, and
 * texts[i] may be NULL when lengths[i] is 0. */
CLENC_API clenc_status clenc_embed_text_n(clenc_session *session,
                                          const char *const *texts,
                                          const size_t *lengths, size_t n,
                                          float *out);

/* Rerankers and classifiers: models with a sequence-classification head
 * (clenc_model_info.head not NONE). Scores are [n][num_labels] floats,
 * the head's logits through the model's score_activation, or raw logits
 * with CLENC_SCORES_RAW in flags. Pairs are (queries[i], passages[i]),
 * tokenized as the model's tokenizer joins a pair and truncated as it
 * does (longest first); texts and pairs are batched by length like
 * clenc_embed_text. A model without a head is CLENC_ERR_UNSUPPORTED. */
#define CLENC_SCORES_RAW 1u
CLENC_API clenc_status clenc_score_pairs(clenc_session *session,
                                         const char *const *queries,
                                         const char *const *passages,
                                         size_t n, unsigned flags,
                                         float *scores);
CLENC_API clenc_status clenc_classify(clenc_session *session,
                                      const char *const *texts, size_t n,
                                      unsigned flags, float *scores);
/* The name of label `index` (config.json's id2label; "LABEL_<i>" where it
 * names none), or NULL past num_labels. Valid while the model lives. */
CLENC_API const char *clenc_model_label(const clenc_model *model,
                                        unsigned index);

/* Encodes `batch` sequences. ids and type_ids are [batch][seq] (type_ids
 * may be NULL: all 0); lengths[b] in 1..seq gives each sequence's real
 * tokens (NULL: all seq), the rest of a row is padding and never read.
 * Sequences are packed: no work is spent on padding, and a sequence's
 * result does not depend on the others in the batch. out receives
 * [batch][hidden] floats, or [batch][seq][hidden] for CLENC_POOL_NONE
 * (rows past a sequence's length set to 0). On failure out is not
 * written to as if it held a result: its contents are unspecified. */
CLENC_API clenc_status clenc_encode(clenc_session *session,
                                    const int32_t *ids,
                                    const int32_t *type_ids,
                                    const int32_t *lengths, unsigned batch,
                                    unsigned seq, clenc_pooling pooling,
                                    float *out);

typedef struct clenc_session_info {
    unsigned max_batch, max_seq;
    uint64_t workspace_bytes; /* the planned activation arena */
    uint64_t input_bytes;     /* token ids, types, positions, offsets */
} clenc_session_info;

CLENC_API clenc_status clenc_session_info_get_sized(const clenc_session *session,
                                                    clenc_session_info *out,
                                                    size_t out_size);
#define clenc_session_info_get(session, out)                                   \
    clenc_session_info_get_sized((session), (out), sizeof(clenc_session_info))

/* --------------------------------------------------------- several devices */

/* A pool spreads clenc_embed_text, clenc_encode, clenc_score_pairs and
 * clenc_classify over several devices: a context, model and session
 * (max_batch, max_seq) per device and a worker thread each. Inputs are
 * handed out in chunks from a shared counter (4 x max_batch texts or
 * pairs, max_batch token-id sequences), so a faster device takes more
 * chunks; each input's result is the one its device's session gives alone
 * (sequences are packed, README.md, "Several devices"). devices is "all"
 * (every device clenc_device_list gives) or a comma-separated list of
 * device specs as for clenc_device_find ("0:0,1:0"; a device named twice
 * gets two sessions); max_seq 0 is the model's max_text_tokens. An entry
 * that selects no device is CLENC_ERR_NO_DEVICE naming the entry; a device
 * that cannot load the model fails the create, naming the device. The pool
 * is used by one thread at a time; *out is NULL on failure. */
typedef struct clenc_pool clenc_pool;

CLENC_API clenc_status clenc_pool_create(const char *devices,
                                         const char *model_path,
                                         clenc_precision precision,
                                         unsigned max_batch, unsigned max_seq,
                                         clenc_pool **out);
/* Accepts NULL. */
CLENC_API void clenc_pool_destroy(clenc_pool *pool);
/* How many devices (workers) the pool holds; 0 for NULL. */
CLENC_API unsigned clenc_pool_device_count(const clenc_pool *pool);
/* Device `index` (0 .. count - 1), in the order of the list. */
CLENC_API clenc_status clenc_pool_device_sized(const clenc_pool *pool,
                                               unsigned index,
                                               clenc_device_info *out,
                                               size_t out_size);
#define clenc_pool_device(pool, index, out)                                    \
    clenc_pool_device_sized((pool), (index), (out), sizeof(clenc_device_info))
/* Device `index`'s model, owned by the pool (for clenc_model_info_get and
 * clenc_tokenize); NULL past the count. */
CLENC_API const clenc_model *clenc_pool_model(const clenc_pool *pool,
                                              unsigned index);
/* As clenc_session_set_pooling, on every device's session. */
CLENC_API clenc_status clenc_pool_set_pooling(clenc_pool *pool,
                                              clenc_pooling pooling);
/* As clenc_embed_text / clenc_embed_text_n: out receives the results in the
 * order of the texts. A failure on any device fails the call (the other
 * workers take no more chunks; nothing is retried elsewhere, which would
 * hide a broken device): clenc_last_error() is that device's error,
 * prefixed "device 'NAME' (P:D), texts A..B: ", the chunk it was on (an
 * index in the message after it counts from A). out is then unspecified.
 * n = 0 is CLENC_OK and writes nothing; so for the calls below. */
CLENC_API clenc_status clenc_pool_embed_text(clenc_pool *pool,
                                             const char *const *texts,
                                             size_t n, float *out);
CLENC_API clenc_status clenc_pool_embed_text_n(clenc_pool *pool,
                                               const char *const *texts,
                                               const size_t *lengths,
                                               size_t n, float *out);
/* As clenc_encode over any n sequences ([n][seq] ids and type_ids, n
 * lengths; type_ids and lengths may be NULL), split into batches of the
 * pool's max_batch: out receives [n][hidden] floats in input order, or
 * [n][seq][hidden] for CLENC_POOL_NONE. A batch clenc_encode refuses (seq
 * over max_seq, an id outside the vocabulary) fails the call as above,
 * "device 'NAME' (P:D), sequences A..B: ". */
CLENC_API clenc_status clenc_pool_encode(clenc_pool *pool, const int32_t *ids,
                                         const int32_t *type_ids,
                                         const int32_t *lengths, size_t n,
                                         unsigned seq, clenc_pooling pooling,
                                         float *out);
/* As clenc_score_pairs and clenc_classify: scores [n][num_labels] in input
 * order; a failure names "pairs A..B" or "texts A..B". A model without a
 * head is CLENC_ERR_UNSUPPORTED before any device runs. */
CLENC_API clenc_status clenc_pool_score_pairs(clenc_pool *pool,
                                              const char *const *queries,
                                              const char *const *passages,
                                              size_t n, unsigned flags,
                                              float *scores);
CLENC_API clenc_status clenc_pool_classify(clenc_pool *pool,
                                           const char *const *texts,
                                           size_t n, unsigned flags,
                                           float *scores);

/* ------------------------------------------------------------- profiling */

/* FLOPs of one encoder pass over sequences of the given lengths (NULL: all
 * seq), counted the same way by every tool: with hidden H, FFN F, L layers,
 * L · Σᵢ [2·Tᵢ·(4H² + 2H·F) + 4·Tᵢ²·H]. 0 for bad arguments. Any thread. */
CLENC_API double clenc_encoder_flops(const clenc_model *model,
                                     const int32_t *lengths, unsigned batch,
                                     unsigned seq);

/* One launch of the last clenc_encode, with profiling on (options.profiling):
 * device times are OpenCL's event times (the device's clock); host times are
 * CLOCK_MONOTONIC around the enqueue call, so a trace can align the two. */
typedef struct clenc_launch_profile {
    const char *kernel; /* "gemm", "attention", ...; "gemm (CLBlast)" */
    unsigned m, n, k;   /* GEMM sizes; rows (m) for row kernels */
    double flops, bytes;
    uint64_t host_enqueue_ns, host_return_ns;
    uint64_t queued_ns, start_ns, end_ns;
} clenc_launch_profile;

/* Per-kernel sums over the passes since clenc_profile_reset. */
typedef struct clenc_kernel_profile {
    const char *kernel;
    unsigned calls;
    double total_ms, flops, bytes;
} clenc_kernel_profile;

typedef struct clenc_profile_summary {
    unsigned passes;
    double kernel_ms; /* device time inside kernels */
    double gap_ms;    /* device idle between consecutive kernels of a pass */
    double pass_ms;   /* first kernel's start to last kernel's end, summed */
    uint64_t last_encode_begin_ns, last_encode_end_ns; /* host, the last */
} clenc_profile_summary;

/* The last encode's launches, in order: fills up to capacity, *count says
 * how many there were. Profiling off is CLENC_ERR_UNSUPPORTED. The session's
 * thread. */
CLENC_API clenc_status clenc_profile_launches_sized(const clenc_session *session,
                                                    clenc_launch_profile *out,
                                                    size_t out_size,
                                                    size_t capacity,
                                                    size_t *count);
#define clenc_profile_launches(session, out, capacity, count)                  \
    clenc_profile_launches_sized((session), (out),                             \
                                 sizeof(clenc_launch_profile), (capacity),     \
                                 (count))
/* Kernels by total time, largest first; summary may be NULL. */
CLENC_API clenc_status clenc_profile_kernels_sized(
    const clenc_session *session, clenc_kernel_profile *out, size_t out_size,
    size_t capacity, size_t *count, clenc_profile_summary *summary,
    size_t summary_size);
#define clenc_profile_kernels(session, out, capacity, count, summary)          \
    clenc_profile_kernels_sized((session), (out),                              \
                                sizeof(clenc_kernel_profile), (capacity),      \
                                (count), (summary),                            \
                                sizeof(clenc_profile_summary))
CLENC_API clenc_status clenc_profile_reset(clenc_session *session);

#ifdef __cplusplus
}
#endif
#endif /* CLENC_H */
