/* ops.h — the launch layer: a launcher (queue, kernel objects, spec, launch records) and one launcher function per op. */
#ifndef CLENC_OPS_H
#define CLENC_OPS_H

#include "ops/kernels.h"

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
    cl_event event; /* with profiling on; released at the next reset */
} clenc__launch;

/* What a sequence of launches needs: a queue of its own, kernel objects of
 * its own (clSetKernelArg on a shared kernel would race), the spec the
 * programs were built for, and the records of what it enqueued. A session
 * has one; so have the tuner and the GEMM benchmark, without a model. Used
 * by one thread at a time. */
typedef struct clenc__launcher {
    clenc_context *ctx;
    cl_command_queue queue;
    clenc__spec spec;
    cl_kernel kernels[CLENC__KERNEL_COUNT]; /* NULL: its program not built */
    clenc__launch *launches;
    size_t launch_count, launch_capacity;
    /* INT8 GEMMs' scratch, the caller's (a session's workspace): the
     * activations quantised, clenc__q8_row_bytes(k) a row, and
     * CLENC__Q8_INFO floats a row (scale, outlier); NULL where no INT8
     * GEMM runs. */
    cl_mem quant_rows, quant_scales;
} clenc__launcher;

/* A queue (`queue`, retained, or a new one when NULL) and a kernel object
 * for each kernel of the table whose file's program is in `programs` (from
 * clenc__programs_get for the same spec). */
clenc_status clenc__launcher_open(clenc__launcher *L, clenc_context *ctx,
                                  const clenc__spec *spec,
                                  const cl_program programs[CLENC__FILE_COUNT],
                                  cl_command_queue queue);
/* Waits for the queue, then releases everything. Accepts a zeroed one. */
void clenc__launcher_close(clenc__launcher *L);
/* Forgets the records (and releases their events). */
void clenc__launches_reset(clenc__launcher *L);

/* Sets kernel arguments from a format: 'm' cl_mem (NULL allowed), 'i' int,
 * 'f' float. */
clenc_status clenc__kernel_args(cl_kernel kernel, const char *format, ...);
/* Enqueues and records one launch of a kernel of the table. */
clenc_status clenc__launch_kernel(clenc__launcher *L, clenc__kernel_id id,
                                  cl_uint dims, const size_t *global,
                                  const size_t *local, const clenc__work *work);
/* Appends a record for work a library (CLBlast) enqueued between the host
 * times given; takes the event. */
clenc_status clenc__launch_record(clenc__launcher *L, clenc__kernel_id id,
                                  int clblast, const clenc__work *work,
                                  uint64_t host_enqueue_ns, cl_event event);
/* Row kernels: a row per work-item (cpu) or per work-group (gpu); `flops`
 * and `bytes` are per row. */
clenc_status clenc__launch_rows(clenc__launcher *L, clenc__kernel_id id,
                                unsigned rows, double flops, double bytes);

/* ------------------------------------------------------------- the ops */

/* The embedding tables a model holds on the device; unused ones hold one
 * float (kernels take every table as an argument). */
typedef struct clenc__embed_tables {
    cl_mem word, position, type, norm_weight, norm_bias;
    cl_mem word_scales; /* INT8: a float a row of word; else one float */
} clenc__embed_tables;

/* out[t] = embedding of token t (embed.cl). */
clenc_status clenc__op_embed(clenc__launcher *L, const clenc__embed_tables *t,
                             cl_mem ids, cl_mem type_ids, cl_mem positions,
                             unsigned tokens, cl_mem out);
/* The caller's [batch][seq] ids (and types, or NULL: all 0) packed at
 * offsets with their positions, ids out of range read as 0 and the first
 * recorded in fault as b * fault_stride + t (embed.cl's pack). */
typedef struct clenc__pack_args {
    cl_mem ids, type_ids, offsets;
    cl_mem packed_ids, packed_types, positions, fault;
    unsigned batch, seq, tokens, vocab, position_offset, fault_stride;
} clenc__pack_args;
clenc_status clenc__op_pack(clenc__launcher *L, const clenc__pack_args *a);
/* Attention of every head over packed sequences (attention.cl). tokens:
 * Σ lengths; sum_sq: Σ length², which its work grows with; max_len: the
 * longest. */
clenc_status clenc__op_attention(clenc__launcher *L, cl_mem qkv,
                                 cl_mem offsets, unsigned batch,
                                 unsigned tokens, unsigned max_len,
                                 double sum_sq, cl_mem out);
/* out = LN(in) (layernorm.cl); out may be in. */
clenc_status clenc__op_layernorm(clenc__launcher *L, cl_mem in, cl_mem out,
                                 cl_mem gamma, cl_mem beta, unsigned rows);
/* One vector a sequence, mode CLENC__POOL_CLS or _MEAN (pool.cl). tokens:
 * Σ lengths. */
clenc_status clenc__op_pool(clenc__launcher *L, cl_mem x, cl_mem offsets,
                            unsigned batch, unsigned tokens, int mode,
                            cl_mem out);
/* Results as float into out (pool.cl's unpack): packed, [rows / seq][seq]
 * rows from x's packed tokens with zero rows for padding; else rows rows
 * of x as they are. */
clenc_status clenc__op_unpack(clenc__launcher *L, cl_mem x, cl_mem offsets,
                              unsigned rows, unsigned seq, int packed,
                              cl_mem out);
/* Each of rows vectors L2-normalised in place (pool.cl). */
clenc_status clenc__op_l2norm(clenc__launcher *L, cl_mem x, unsigned rows);
/* out[r][c] = act?(x[r][c] + bias[c]) + residual[r][c] (epilogue.cl); flags
 * CLENC__EPI_*; out may be x or residual. */
clenc_status clenc__op_epilogue(clenc__launcher *L, cl_mem x, cl_mem bias,
                                cl_mem residual, cl_mem out, unsigned rows,
                                unsigned cols, unsigned flags);

/* ----------------------------------------------------- GEMM (gemm.c) */

/* A weight matrix [n][k] (and its bias [n]) in the layout of a GEMM:
 * packed panels for the own kernel, plain rows for CLBlast. */
typedef struct clenc__matrix {
    cl_mem weight, bias;
    cl_mem scales; /* INT8: one float per output column (padded); else NULL */
    unsigned n, k;
    clenc_precision precision; /* of `weight`: FP32, FP16 (half) or INT8 */
} clenc__matrix;

/* Uploads host weights [n][k] (bias [n] or NULL: zeros) at `precision` in
 * the layout `gemm` wants, through the context's transfer queue; `what`
 * names them in messages (NaN or infinite weights are refused, and for
 * FP16 values beyond half's range). *bytes (may be NULL) grows by the
 * device memory taken. */
clenc_status clenc__matrix_upload(clenc_context *ctx, clenc_gemm gemm,
                                  clenc_precision precision,
                                  const float *weight, const float *bias,
                                  unsigned n, unsigned k, const char *what,
                                  clenc__matrix *out, uint64_t *bytes);
/* clenc__matrix_upload at FP16 from halves as an F16 checkpoint holds
 * them: no float copy, nothing rounded (a half infinity or NaN is
 * refused). */
clenc_status clenc__matrix_upload_halves(clenc_context *ctx, clenc_gemm gemm,
                                         const uint16_t *weight,
                                         const float *bias, unsigned n,
                                         unsigned k, const char *what,
                                         clenc__matrix *out, uint64_t *bytes);
void clenc__matrix_release(clenc_context *ctx, clenc__matrix *m);

/* out[m][w->n] = act?(a[m][w->k] · wᵀ + bias) + residual, through the
 * launcher's GEMM (flags CLENC__EPI_*). `residual` may be `out`; `a` must
 * not be. */
clenc_status clenc__op_gemm(clenc__launcher *L, const clenc__matrix *w,
                            cl_mem a, unsigned m, cl_mem out, cl_mem residual,
                            unsigned flags);

/* ------------------------------------------------ INT8 GEMM (qgemm.c) */

/* Symmetric per-row quantisation on the host: scale[r] = max|w[r][.]| /
 * 127 (0 for a row of zeros), q = w / scale rounded to nearest, ties to
 * even, in -127..127. The weights' output channels and the word
 * embeddings' rows both go through it. */
void clenc__q8_rows(const float *w, size_t rows, size_t cols, int8_t *q,
                    float *scale);
/* Bytes of one quantised activation row of k values (padded as qgemm.cl
 * reads them). */
size_t clenc__q8_row_bytes(unsigned k);
/* clenc__matrix_upload's INT8 case: quantised, packed for qgemm.cl, with
 * the scales and the bias. */
clenc_status clenc__q8_matrix_upload(clenc_context *ctx, const float *weight,
                                     const float *bias, unsigned n,
                                     unsigned k, const char *what,
                                     clenc__matrix *out, uint64_t *bytes);
/* clenc__op_gemm's INT8 case: a's rows quantised into the launcher's
 * scratch (quant.cl), then the integer GEMM with the dequantisation, bias,
 * activation and residual in its epilogue (qgemm.cl). */
clenc_status clenc__op_qgemm(clenc__launcher *L, const clenc__matrix *w,
                             cl_mem a, unsigned m, cl_mem out,
                             cl_mem residual, unsigned flags);

/* A read-only device buffer of `bytes` from host, through the context's
 * transfer queue; *total (may be NULL) grows by its size. */
clenc_status clenc__weights_upload(clenc_context *ctx, const void *host,
                                   size_t bytes, const char *what, cl_mem *out,
                                   uint64_t *total);

/* The launch geometry of the own GEMM kernels (gemm.cl, qgemm.cl) for
 * m x n outputs with the launcher's tiles and family. */
void clenc__gemm_geometry(const clenc__launcher *L, unsigned m, unsigned n,
                          size_t global[2], size_t local[2]);

/* A GEMM's work: 2·m·n·k, and a, the weights (at their size) and the
 * output once (and the residual). */
clenc__work clenc__gemm_work(unsigned m, const clenc__matrix *w,
                             unsigned flags);

/* Weights rounded to half (nearest even); one beyond half's range is
 * CLENC_ERR_MODEL_FORMAT naming `what` and the element. */
clenc_status clenc__to_half(const float *w, size_t count, const char *what,
                            uint16_t *out);

/* NaN or infinite weights are refused, naming the tensor. */
clenc_status clenc__check_finite(const float *p, size_t count,
                                 const char *what);
clenc_status clenc__check_finite_half(const uint16_t *p, size_t count,
                                      const char *what);

/* ------------------------------------------------------- tuning (tune.c) */

/* Chooses s->gemm (when the context left it AUTO) and s->tile for GEMMs of
 * a model with hidden size `hidden` and FFN size `ffn`: $CLENC_GEMM_TILE,
 * else the cache, else a measurement (CLENC_TUNE fast or thorough), else
 * the defaults (off). s->family must be set. */
clenc_status clenc__tune(clenc_context *ctx, unsigned hidden, unsigned ffn,
                         clenc__spec *s);
/* What tuning off gives: $CLENC_GEMM_TILE, else the default tiles; an AUTO
 * s->gemm becomes the own kernel. */
clenc_status clenc__tune_fixed(const clenc_context *ctx, clenc__spec *s);

#endif
