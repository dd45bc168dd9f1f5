/* kernels.h — the one table of the runtime's kernels, and the contract they share with the host: every constant both sides need. */
#ifndef CLENC_KERNELS_H
#define CLENC_KERNELS_H

#include "cl/cl.h"

/* ------------------------------------------------------------ constants */

/* Fixed constants: the host uses these names, the kernels get the same
 * values as -D options (CLENC__CONSTANTS below); a kernel defines none of
 * them itself and stops with #error when one is missing. */

/* Output columns of a packed weight panel: the cpu family's float16. */
#define CLENC__PANEL 16u
/* Epilogue flags of gemm.cl and epilogue.cl. */
#define CLENC__EPI_BIAS 1u
#define CLENC__EPI_ACT 2u
#define CLENC__EPI_RESIDUAL 4u
/* Pooling modes of pool.cl. */
#define CLENC__POOL_CLS 0
#define CLENC__POOL_MEAN 1
/* Attention, cpu family: queries a work-item takes, one a lane of float16. */
#define CLENC__ATT_QB 16u
/* Rows of the cpu family's register tile: keys of Q·Kᵀ, value columns of
 * P·V, each times a float16 of queries: 6 take 12 of AVX2's 16 vector
 * registers (a float16 is two), as the GEMM's 6 x 1 tile; 8 would spill. */
#define CLENC__ATT_KU 6u
/* Keys a softmax block. cpu: a block's scores live in private memory, and
 * larger blocks rescale the accumulators less often (16 -> 128 took
 * MiniLM's attention from 124 to 205 GFLOP/s, same machine); gpu: staged
 * in local memory, which is small. */
#define CLENC__ATT_KB_CPU 128u
#define CLENC__ATT_KB_GPU 16u
/* Attention, gpu family: work-items (one a query) of a work-group. */
#define CLENC__ATT_WG 64u
/* GEMM, gpu family: k a step of the local-memory tiles. */
#define CLENC__GEMM_TK 16u
/* Independent float16 FMA chains a probe work-item keeps: 8 fill 32
 * vector registers of 16 floats (AVX-512) and hide their latency; with 16
 * registers of 8 (AVX2, a float16 is two) 8 chains spill, so a second
 * kernel keeps 5, and the peak is the faster of the two. */
#define CLENC__PROBE_CHAINS 8u
#define CLENC__PROBE_CHAINS_FEW 5u
/* INT8 (quant.cl, qgemm.c): a quantised activation row is int16 values
 * (-127..127) padded with zeros to a multiple of Q8_ROW_ALIGN: rows start
 * on 128-byte lines, and the gpu family's QUANT_WG work-items store whole
 * rows with no idle lane (the PoCL vectoriser fault of clenc__row_wg).
 * Q8_TINY: a row whose largest magnitude is below it quantises to zeros
 * with scale 0 (127 / max stays finite, far from denormals, whichever
 * device). Q8_INV_QMAX: 1/127 as a float; scale = max * Q8_INV_QMAX. */
#define CLENC__Q8_ROW_ALIGN 64u
#define CLENC__QUANT_WG 64u
#define CLENC__Q8_TINY 0x1p-64f
#define CLENC__Q8_INV_QMAX (1.0f / 127.0f)
/* Floats a quantised activation row carries beside its int16 values:
 * {scale, outlier value, outlier column (int bits), 0}. The row's largest
 * magnitude is taken out and kept in float, the rest scaled by the second
 * largest (quant.cl says why). */
#define CLENC__Q8_INFO 4u

/* Tile sizes of the GEMM kernels, chosen per device by a measured search
 * (tune.c) or the defaults (clenc__tile_default). */
typedef struct clenc__tunables {
    unsigned gemm_tm, gemm_tnp; /* cpu family: rows x PANEL-column panels */
    unsigned gemm_ts;           /* gpu family: the work-group's tile edge */
    unsigned gemm_wg[2];        /* cpu family: work-group, in work-items
                                 * along rows and panels (launch only) */
} clenc__tunables;

/* The tiles used untuned: by the device's float vector width, the cpu
 * family's that fit its registers (tune.c). */
clenc__tunables clenc__tile_default(const clenc_context *ctx);

/* What programs are specialised for: a kernel family, a GEMM, its tiles,
 * and the model's shape and arithmetic (zero where no model is involved:
 * the probes, a GEMM on its own). */
typedef struct clenc__spec {
    clenc_variant family; /* CLENC_VARIANT_CPU or _GPU, never AUTO */
    clenc_gemm gemm;      /* CLENC_GEMM_OWN or _CLBLAST, never AUTO */
    clenc__tunables tile;
    unsigned hidden, heads, type_vocab;
    clenc_activation act;
    float eps;
    clenc_position_kind positions;
    int embed_scale, embed_norm;
    /* FP32 where no model is involved; never DEFAULT. half_compute: FP16
     * with half arithmetic (cl_khr_fp16 or forced). */
    clenc_precision precision;
    int half_compute;
} clenc__spec;

/* Work-items sharing one row in the gpu family: a power of two (for the
 * tree reduction) that divides the row, so that no work-item idles in a row
 * loop. PoCL 3.1's work-group vectoriser turned the stores that idle lanes
 * skip into writes past the end of the row (valgrind showed them). */
unsigned clenc__row_wg(unsigned hidden);

/* Groups of constants; each kernel file is specialised for some. */
enum {
    CLENC__G_FAMILY = 1 << 0,    /* VARIANT_GPU */
    CLENC__G_HIDDEN = 1 << 1,    /* HIDDEN */
    CLENC__G_ROWS = 1 << 2,      /* ROW_WG */
    CLENC__G_NORM = 1 << 3,      /* LN_EPS */
    CLENC__G_ACT = 1 << 4,       /* ACT and its values */
    CLENC__G_EPI = 1 << 5,       /* the epilogue flags */
    CLENC__G_GEMM = 1 << 6,      /* panel, tiles */
    CLENC__G_ATTENTION = 1 << 7, /* heads, blocks */
    CLENC__G_EMBED = 1 << 8,     /* positions, scaling, types */
    CLENC__G_POOL = 1 << 9,      /* pooling modes */
    CLENC__G_PROBE = 1 << 10,    /* FMA chains */
    CLENC__G_PRECISION = 1 << 11, /* weights' type, half arithmetic */
    CLENC__G_QUANT = 1 << 12      /* INT8 activation rows */
};

/* Every constant host and kernels share: its name in the kernels, its
 * group, and its value for a spec `s` (an integer, or F for a float). */
#define CLENC__CONSTANTS(C, F)                                                 \
    C(VARIANT_GPU, CLENC__G_FAMILY, s->family == CLENC_VARIANT_GPU)            \
    C(HIDDEN, CLENC__G_HIDDEN, s->hidden)                                      \
    C(ROW_WG, CLENC__G_ROWS, clenc__row_wg(s->hidden))                         \
    F(LN_EPS, CLENC__G_NORM, s->eps)                                           \
    C(ACT, CLENC__G_ACT, s->act)                                               \
    C(ACT_GELU, CLENC__G_ACT, CLENC_ACT_GELU)                                  \
    C(ACT_GELU_TANH, CLENC__G_ACT, CLENC_ACT_GELU_TANH)                        \
    C(ACT_RELU, CLENC__G_ACT, CLENC_ACT_RELU)                                  \
    C(EPI_BIAS, CLENC__G_EPI, CLENC__EPI_BIAS)                                 \
    C(EPI_ACT, CLENC__G_EPI, CLENC__EPI_ACT)                                   \
    C(EPI_RESIDUAL, CLENC__G_EPI, CLENC__EPI_RESIDUAL)                         \
    C(PANEL, CLENC__G_GEMM, CLENC__PANEL)                                      \
    C(GEMM_TM, CLENC__G_GEMM, s->tile.gemm_tm)                                 \
    C(GEMM_TNP, CLENC__G_GEMM, s->tile.gemm_tnp)                               \
    C(GEMM_TS, CLENC__G_GEMM, s->tile.gemm_ts)                                 \
    C(GEMM_TK, CLENC__G_GEMM, CLENC__GEMM_TK)                                  \
    C(HEADS, CLENC__G_ATTENTION, s->heads)                                     \
    C(HEAD_DIM, CLENC__G_ATTENTION, s->heads ? s->hidden / s->heads : 0)       \
    C(ATT_QB, CLENC__G_ATTENTION, CLENC__ATT_QB)                               \
    C(ATT_KU, CLENC__G_ATTENTION, CLENC__ATT_KU)                               \
    C(ATT_KB, CLENC__G_ATTENTION,                                              \
      s->family == CLENC_VARIANT_GPU ? CLENC__ATT_KB_GPU : CLENC__ATT_KB_CPU)  \
    C(ATT_WG, CLENC__G_ATTENTION, CLENC__ATT_WG)                               \
    C(POSITIONS, CLENC__G_EMBED, s->positions)                                 \
    C(POS_LEARNED, CLENC__G_EMBED, CLENC_POS_LEARNED)                          \
    C(POS_SINUSOIDAL, CLENC__G_EMBED, CLENC_POS_SINUSOIDAL)                    \
    C(POS_NONE, CLENC__G_EMBED, CLENC_POS_NONE)                                \
    C(EMBED_SCALE, CLENC__G_EMBED, s->embed_scale != 0)                        \
    C(EMBED_NORM, CLENC__G_EMBED, s->embed_norm != 0)                          \
    C(TYPE_VOCAB, CLENC__G_EMBED, s->type_vocab)                               \
    C(POOL_CLS, CLENC__G_POOL, CLENC__POOL_CLS)                                \
    C(POOL_MEAN, CLENC__G_POOL, CLENC__POOL_MEAN)                              \
    C(PROBE_CHAINS, CLENC__G_PROBE, CLENC__PROBE_CHAINS)                       \
    C(PROBE_CHAINS_FEW, CLENC__G_PROBE, CLENC__PROBE_CHAINS_FEW)               \
    C(PRECISION, CLENC__G_PRECISION,                                           \
      s->precision ? s->precision : CLENC_PRECISION_FP32)                      \
    C(PREC_FP32, CLENC__G_PRECISION, CLENC_PRECISION_FP32)                     \
    C(PREC_FP16, CLENC__G_PRECISION, CLENC_PRECISION_FP16)                     \
    C(PREC_INT8, CLENC__G_PRECISION, CLENC_PRECISION_INT8)                     \
    C(HALF_COMPUTE, CLENC__G_PRECISION, s->half_compute != 0)                 \
    C(Q8_ROW_ALIGN, CLENC__G_QUANT, CLENC__Q8_ROW_ALIGN)                       \
    C(QUANT_WG, CLENC__G_QUANT, CLENC__QUANT_WG)                               \
    F(Q8_TINY, CLENC__G_QUANT, CLENC__Q8_TINY)                                 \
    F(Q8_INV_QMAX, CLENC__G_QUANT, CLENC__Q8_INV_QMAX)                         \
    C(Q8_INFO, CLENC__G_QUANT, CLENC__Q8_INFO)

/* -------------------------------------------------------------- kernels */

/* Every kernel file (cl_kernels/NAME.cl) and the groups of constants it is
 * specialised for. A file with CLENC__G_FAMILY has both kernel families;
 * one without has none (the probes). */
#define CLENC__FILES(F)                                                        \
    F(EMBED, "embed",                                                          \
      CLENC__G_FAMILY | CLENC__G_HIDDEN | CLENC__G_ROWS | CLENC__G_NORM |      \
          CLENC__G_EMBED | CLENC__G_PRECISION)                                 \
    F(GEMM, "gemm", CLENC__G_FAMILY | CLENC__G_ACT | CLENC__G_EPI |            \
                        CLENC__G_GEMM | CLENC__G_PRECISION)                    \
    F(EPILOGUE, "epilogue", CLENC__G_FAMILY | CLENC__G_ACT | CLENC__G_EPI)     \
    F(ATTENTION, "attention",                                                  \
      CLENC__G_FAMILY | CLENC__G_HIDDEN | CLENC__G_ATTENTION |                 \
          CLENC__G_PRECISION)                                                  \
    F(LAYERNORM, "layernorm",                                                  \
      CLENC__G_FAMILY | CLENC__G_HIDDEN | CLENC__G_ROWS | CLENC__G_NORM |      \
          CLENC__G_PRECISION)                                                  \
    F(POOL, "pool",                                                            \
      CLENC__G_FAMILY | CLENC__G_HIDDEN | CLENC__G_ROWS | CLENC__G_POOL |      \
          CLENC__G_PRECISION)                                                  \
    F(PROBE, "probe", CLENC__G_PROBE)                                          \
    F(QUANT, "quant", CLENC__G_FAMILY | CLENC__G_QUANT)                        \
    F(QGEMM, "qgemm",                                                          \
      CLENC__G_FAMILY | CLENC__G_ACT | CLENC__G_EPI | CLENC__G_GEMM |          \
          CLENC__G_QUANT | CLENC__G_PRECISION)

/* Every kernel of the runtime: its id, file and function. This is the one
 * place that says which kernels exist: programs, sessions, the profiler,
 * clenc-tests --list-kernels and make test-mutants all read it. */
#define CLENC__KERNEL_TABLE(K)                                                 \
    K(EMBED, EMBED, "embed")                                                   \
    K(PACK, EMBED, "pack")                                                     \
    K(GEMM, GEMM, "gemm")                                                      \
    K(EPILOGUE, EPILOGUE, "epilogue")                                          \
    K(ATTENTION, ATTENTION, "attention")                                       \
    K(LAYERNORM, LAYERNORM, "layernorm")                                       \
    K(POOL, POOL, "pool")                                                      \
    K(L2NORM, POOL, "l2norm")                                                  \
    K(UNPACK, POOL, "unpack")                                                  \
    K(PROBE_FMA, PROBE, "probe_fma")                                           \
    K(PROBE_FMA_FEW, PROBE, "probe_fma_few")                                   \
    K(PROBE_COPY, PROBE, "probe_copy")                                         \
    K(QUANTIZE, QUANT, "quantize")                                             \
    K(QGEMM, QGEMM, "qgemm")

typedef enum clenc__file_id {
#define F(id, name, groups) CLENC__F_##id,
    CLENC__FILES(F)
#undef F
        CLENC__FILE_COUNT
} clenc__file_id;

typedef enum clenc__kernel_id {
#define K(id, file, function) CLENC__K_##id,
    CLENC__KERNEL_TABLE(K)
#undef K
        CLENC__KERNEL_COUNT
} clenc__kernel_id;

typedef struct clenc__file_desc {
    const char *name; /* "gemm": cl_kernels/gemm.cl */
    unsigned groups;
} clenc__file_desc;
extern const clenc__file_desc clenc__files[CLENC__FILE_COUNT];

typedef struct clenc__kernel_desc {
    const char *name; /* "GEMM" */
    clenc__file_id file;
    const char *function;
} clenc__kernel_desc;
extern const clenc__kernel_desc clenc__kernels[CLENC__KERNEL_COUNT];

/* The kernel's file name without ".cl". */
const char *clenc__kernel_file_name(clenc__kernel_id id);
/* Whether the kernel comes in the two families (else it has none). */
int clenc__kernel_has_families(clenc__kernel_id id);

/* --------------------------------------------------- programs (spec.c) */

/* The -D options of file `file` for spec `s`: every constant of the file's
 * groups, in table order, then `extra` (may be NULL; a constant it names
 * replaces the table's). Into buf; CLENC_ERR_INVALID_ARG if it does not
 * fit. */
clenc_status clenc__defines(const clenc__spec *s, clenc__file_id file,
                            const char *extra, char *buf, size_t cap);
/* The programs of the files in `files` (a mask of 1 << clenc__file_id),
 * built for `s` through the context's programs, the container, the cache
 * or source. The context keeps them: do not release. */
clenc_status clenc__programs_get(clenc_context *ctx, const clenc__spec *s,
                                 unsigned files, const char *extra,
                                 cl_program out[CLENC__FILE_COUNT],
                                 unsigned *built_from_source);

#endif
