/* encoder.h — private structs of models and sessions, the kernel table, launch records and op launchers. */
#ifndef CLENC_ENGINE_H
#define CLENC_ENGINE_H

#include "cl/cl.h"

/* Every kernel of the runtime: id, source file, function. Sessions create
 * one cl_kernel per entry whose program the model built. */
#define CLENC__KERNEL_TABLE(K)                                                 \
    K(EMBED, "embed", "embed")                                                 \
    K(GEMM, "gemm", "gemm")                                                    \
    K(EPILOGUE, "activation", "bias_act_residual")                             \
    K(ATTENTION, "attention", "attention")                                     \
    K(LAYERNORM, "layernorm", "layernorm")                                     \
    K(L2NORM, "layernorm", "l2norm")                                           \
    K(POOL, "pool", "pool")

typedef enum clenc__kernel_id {
#define K(id, file, function) CLENC__K_##id,
    CLENC__KERNEL_TABLE(K)
#undef K
        CLENC__KERNEL_COUNT
} clenc__kernel_id;

typedef struct clenc__kernel_desc {
    const char *name, *file, *function;
} clenc__kernel_desc;
extern const clenc__kernel_desc clenc__kernels[CLENC__KERNEL_COUNT];

/* Panel width of the own GEMM's packed weights (gemm.cl's PANEL). */
#define CLENC__PANEL 16u

/* A weight matrix [n][k] (and its bias [n]) in the layout of the model's
 * GEMM: packed panels for the own kernel, plain rows for CLBlast. */
typedef struct clenc__matrix {
    cl_mem weight, bias;
    unsigned n, k;
} clenc__matrix;

/* Tile sizes of the GEMM kernels, chosen per device by a measured search
 * (tune.c) or the defaults; they reach the kernels as -D constants. */
typedef struct clenc__tunables {
    unsigned gemm_tm, gemm_tnp; /* cpu family: rows x 16-column panels */
    unsigned gemm_ts;           /* gpu family: the work-group's tile edge */
} clenc__tunables;

/* 4 x 4 panels: 16 float16 accumulators, the best of the shapes measured
 * here (about 400 GFLOP/s at MiniLM's shapes against 290 for 8 x 1). */
#define CLENC__TUNABLES_DEFAULT {4, 4, 64}

typedef struct clenc__layer {
    clenc__matrix qkv, o, ffn_up, ffn_down;
    cl_mem norm1_weight, norm1_bias, norm2_weight, norm2_bias;
} clenc__layer;

struct clenc_model {
    clenc_context *ctx;
    clenc_config config;
    clenc_gemm gemm;
    clenc_variant variant;
    clenc__tunables tune;
    char *defines; /* the -D constants every program of the model gets */
    cl_program programs[CLENC__KERNEL_COUNT]; /* NULL: not needed */
    cl_mem word, position, type;
    cl_mem embedding_norm_weight, embedding_norm_bias;
    cl_mem final_norm_weight, final_norm_bias;
    clenc__layer *layers;
    uint64_t weight_bytes;
    struct clenc__tokenizer *tokenizer; /* NULL: the model takes ids only */
    unsigned max_text_tokens;
    char name[256];
};

/* The work of one launch: sizes, and the arithmetic and memory traffic
 * they imply (README.md, "Work counted the same way everywhere"). */
typedef struct clenc__work {
    unsigned m, n, k; /* GEMM sizes; rows (m) for row kernels */
    double flops, bytes;
} clenc__work;

/* One enqueued kernel (or CLBlast call): what ran, on what sizes, when. The
 * profiler reads the same records, with their events. */
typedef struct clenc__launch {
    clenc__kernel_id kernel;
    int clblast; /* a GEMM that CLBlast ran */
    int gpu;     /* the gpu kernel family ran */
    clenc__work work;
    size_t global[2], local[2];
    uint64_t host_enqueue_ns, host_return_ns; /* around the enqueue call */
    cl_event event; /* with profiling on; released at the next encode */
} clenc__launch;

/* Per-kernel sums over the passes since the last reset (profiling on). */
typedef struct clenc__kernel_sum {
    unsigned calls;
    uint64_t device_ns;
    double flops, bytes;
} clenc__kernel_sum;

/* The workspace's buffers: x, qkv, attn, proj, ffn, proj2, pooled. */
#define CLENC__PLAN_ITEMS 7

typedef struct clenc__plan_item {
    const char *name;
    size_t size;          /* bytes */
    unsigned first, last; /* steps during which it is alive, inclusive */
    size_t offset;        /* result */
} clenc__plan_item;

struct clenc_session {
    clenc_model *model;
    cl_command_queue queue;
    cl_kernel kernels[CLENC__KERNEL_COUNT];
    unsigned max_batch, max_seq;
    size_t max_tokens;
    /* Activations: sub-buffers of one planned arena (plan.c), placed by
     * `plan` (session.c; the same order as these fields), which the tests
     * check against the sub-buffers and the forward pass. */
    cl_mem arena;
    cl_mem x, qkv, attn, proj, ffn, proj2, pooled;
    uint64_t workspace_bytes;
    clenc__plan_item plan[CLENC__PLAN_ITEMS];
    size_t plan_align; /* bytes; every offset is a multiple */
    /* Per-batch inputs and their host staging. */
    cl_mem ids, type_ids, positions, offsets;
    int32_t *host_ids, *host_type_ids, *host_positions, *host_offsets;
    clenc__launch *launches;
    size_t launch_count, launch_capacity;
    clenc_pooling pooling; /* clenc_embed_text's; DEFAULT: the model's */
    /* Profiling (profile.c): index 0..COUNT-1 by kernel, COUNT: CLBlast. */
    clenc__kernel_sum sums[CLENC__KERNEL_COUNT + 1];
    unsigned passes;
    uint64_t device_ns, gap_ns, pass_ns;
    uint64_t encode_begin_ns, encode_end_ns; /* host, the last encode */
};

/* NaN or infinite weights are refused at load, naming the tensor. */
clenc_status clenc__check_finite(const float *p, size_t count,
                                 const char *what);

/* Work-items per row in the gpu family for rows of `hidden` floats. */
unsigned clenc__row_wg(unsigned hidden);

/* ------------------------------------------------------------ ops (ops.c) */

/* Sets kernel arguments from a format: 'm' cl_mem (NULL allowed), 'i' int,
 * 'f' float. */
clenc_status clenc__kernel_args(cl_kernel kernel, const char *format, ...);
/* Enqueues and records one launch of a kernel of the table. */
clenc_status clenc__launch_kernel(clenc_session *s, clenc__kernel_id id,
                                  cl_uint dims, const size_t *global,
                                  const size_t *local, const clenc__work *work);
/* Appends a record for work a library (CLBlast) enqueued between the host
 * times given; takes the event. */
clenc_status clenc__launch_record(clenc_session *s, clenc__kernel_id id,
                                  int clblast, const clenc__work *work,
                                  uint64_t host_enqueue_ns, cl_event event);
void clenc__launches_reset(clenc_session *s);
/* Adds the last pass's launches to the session's sums (profile.c). */
clenc_status clenc__profile_add_pass(clenc_session *s);

clenc_status clenc__op_embed(clenc_session *s, cl_mem ids, cl_mem type_ids,
                             cl_mem positions, unsigned tokens, cl_mem out);
/* tokens: Σ lengths; sum_sq: Σ length², which the attention's work grows
 * with; max_len: the longest. */
clenc_status clenc__op_attention(clenc_session *s, cl_mem qkv, cl_mem offsets,
                                 unsigned batch, unsigned tokens,
                                 unsigned max_len, double sum_sq, cl_mem out);
clenc_status clenc__op_layernorm(clenc_session *s, cl_mem in, cl_mem out,
                                 cl_mem gamma, cl_mem beta, unsigned rows);
/* mode 0: CLS, 1: mean. tokens: Σ lengths. */
clenc_status clenc__op_pool(clenc_session *s, cl_mem x, cl_mem offsets,
                            unsigned batch, unsigned tokens, int mode,
                            cl_mem out);
clenc_status clenc__op_l2norm(clenc_session *s, cl_mem x, unsigned rows);

/* Test hook, tests only: while on, each clenc_encode first fills its
 * session's whole workspace with NaN, and each activation buffer and the
 * pooled output again just before the op that first writes it (encoder.c,
 * fresh), so that a kernel that leaves part of its output unwritten shows
 * as NaN in the result, not as an earlier pass's right answer or another
 * buffer's values. Process-wide and atomic, unlike the fault hooks: the
 * concurrency tests encode on threads of their own. Off by default; the
 * test runner turns it on before any test runs. */
void clenc__poison_workspace(int on);

/* ---------------------------------------------------------- gemm (gemm.c) */

#define CLENC__EPI_BIAS 1u
#define CLENC__EPI_ACT 2u
#define CLENC__EPI_RESIDUAL 4u

/* out[m][w->n] = act?(a[m][w->k] · wᵀ + bias) + residual, through the
 * model's GEMM. `residual` may be `out`; `a` must not be. */
clenc_status clenc__op_gemm(clenc_session *s, const clenc__matrix *w,
                            cl_mem a, unsigned m, cl_mem out, cl_mem residual,
                            unsigned flags);
/* Uploads host weights [n][k] (bias [n] or NULL: zeros) in the layout the
 * model's GEMM wants. */
clenc_status clenc__matrix_upload(clenc_model *model, const float *weight,
                                  const float *bias, unsigned n, unsigned k,
                                  const char *what, clenc__matrix *out);
void clenc__matrix_release(clenc_context *ctx, clenc__matrix *m);

/* A model and session with only a GEMM: what the tuner measures and the
 * GEMM benchmark runs. */
typedef struct clenc__gemm_rig {
    clenc_model model;
    clenc_session session;
} clenc__gemm_rig;

clenc_status clenc__gemm_rig_open(clenc_context *ctx, clenc_gemm gemm,
                                  clenc_variant variant,
                                  const clenc__tunables *tune,
                                  clenc__gemm_rig *rig);
void clenc__gemm_rig_close(clenc__gemm_rig *rig);

/* ------------------------------------------------------- tuning (tune.c) */

/* Chooses m->gemm (when the context left it AUTO) and m->tune for the
 * model's shapes: $CLENC_GEMM_TILE, else the cache, else a measurement
 * (CLENC_TUNE fast or thorough), else the defaults (off). */
clenc_status clenc__tune(clenc_model *m);
/* "-DGEMM_TM=4 -DGEMM_TNP=4 -DGEMM_TS=64" into buf. */
void clenc__tune_defines(const clenc__tunables *t, char *buf, size_t cap);

/* ---------------------------------------------------- workspace (plan.c) */

/* Places items in one arena so that items alive at the same step never
 * share bytes; offsets aligned to `align`. Returns the arena size. */
size_t clenc__plan(clenc__plan_item *items, size_t count, size_t align);

#endif
