/* engine.h — models, sessions and the forward pass: weights on the device, the planned workspace, the layer's steps, profiling sums. */
#ifndef CLENC_ENGINE_H
#define CLENC_ENGINE_H

#include "text/tokenizer.h"
#include "ops/ops.h"

/* ----------------------------------------------------------------- model */

typedef struct clenc__layer {
    clenc__matrix qkv, o, ffn_up, ffn_down;
    cl_mem norm1_weight, norm1_bias, norm2_weight, norm2_bias;
} clenc__layer;

/* A sequence-classification head and BERT's pooler, on the host (head.c):
 * a few thousand multiply-adds a text, on the first token's state the
 * device computed. */
typedef struct clenc__head {
    clenc_head_kind kind;
    unsigned num_labels;
    clenc_score_activation activation;
    char **labels;              /* num_labels names */
    float *pooler_w, *pooler_b; /* BERT's pooler [h][h], [h]; NULL: none */
    float *dense_w, *dense_b;   /* RoBERTa's classifier.dense, DistilBERT's
                                   pre_classifier [h][h], [h] */
    float *out_w, *out_b;       /* [num_labels][h], [num_labels] */
} clenc__head;

/* BERT's pooler: out[i] = tanh(W·cls[i] + b), n rows of `hidden` (out may
 * be cls). */
clenc_status clenc__pooler_run(const clenc__head *h, unsigned hidden,
                               const float *cls, size_t n, float *out);
/* The head's scores [n][num_labels] for n first-token states; raw:
 * logits, else through the activation. */
clenc_status clenc__head_run(const clenc__head *h, unsigned hidden,
                             const float *cls, size_t n, int raw,
                             float *scores);
void clenc__head_free(clenc__head *h);
/* Each of n rows of `hidden` floats divided by max(its L2 norm, 1e-12),
 * as pool.cl's l2norm, in double. */
void clenc__normalize_rows(float *rows, size_t n, unsigned hidden);

struct clenc_model {
    clenc_context *ctx;
    clenc_config config;
    /* What the model's programs are built for: its family, GEMM, tiles,
     * shape and arithmetic; each session's launcher gets the same. */
    clenc__spec spec;
    cl_program programs[CLENC__FILE_COUNT]; /* NULL: not needed */
    clenc__embed_tables embed;
    cl_mem final_norm_weight, final_norm_bias;
    clenc__layer *layers;
    uint64_t weight_bytes;
    clenc__tokenizer *tokenizer; /* NULL: the model takes ids only */
    unsigned max_text_tokens;
    char name[256];
    clenc__head head; /* kind NONE and no pooler: an embedder */
};

/* The halves an F16 checkpoint loaded at FP16 keeps (load.c): each
 * non-NULL pointer stands in for the clenc_weights pointer of the same
 * name, which is then NULL, and reaches the device as the file holds it. */
typedef struct clenc__half_layer {
    const uint16_t *q_weight, *k_weight, *v_weight, *o_weight;
    const uint16_t *ffn_up_weight, *ffn_down_weight;
} clenc__half_layer;

typedef struct clenc__half_weights {
    const uint16_t *word_embeddings, *position_embeddings, *type_embeddings;
    const clenc__half_layer *layers; /* config.layers of them */
} clenc__half_weights;

/* clenc_model_create for structs of the library's own size, with the
 * loader's halves (NULL: none). */
clenc_status clenc__model_create(clenc_context *ctx, const clenc_config *config,
                                 const clenc_weights *weights,
                                 const clenc__half_weights *halves,
                                 clenc_model **out);

/* ------------------------------------------------------------- workspace */

/* The workspace's buffers, in one list: name, floats per row (h hidden,
 * f FFN), and what it holds. Rows are tokens, except for pooled (one a
 * sequence of the batch). */
#define CLENC__WORKSPACE(W)                                                    \
    W(x, h, "the residual stream: each layer's input and output")             \
    W(qkv, 3 * h, "queries, keys and values of every token, side by side")    \
    W(attn, h, "attention's output, heads concatenated")                      \
    W(norm1, h, "LayerNorm 1's other side: its input x + attention "          \
                "(post-LN) or its output (pre-LN)")                            \
    W(ffn, f, "the feed-forward block's inner activations")                   \
    W(norm2, h, "LayerNorm 2's other side: its input x + feed-forward "       \
                "(post-LN) or its output (pre-LN)")                            \
    W(pooled, h, "one vector a sequence")

typedef enum clenc__buffer_id {
#define W(name, row, what) CLENC__B_##name,
    CLENC__WORKSPACE(W)
#undef W
        CLENC__B_COUNT,
    CLENC__B_NONE = CLENC__B_COUNT
} clenc__buffer_id;

typedef struct clenc__plan_item {
    const char *name;
    size_t size;          /* bytes */
    unsigned first, last; /* steps during which it is alive, inclusive */
    size_t offset;        /* result */
} clenc__plan_item;

/* Places items in one arena so that items alive at the same step never
 * share bytes; offsets aligned to `align`. Returns the arena size. */
size_t clenc__plan(clenc__plan_item *items, size_t count, size_t align);

/* ---------------------------------------------------------- forward pass */

/* One step of a layer: an op and the workspace buffers it reads and
 * writes. The forward pass runs these tables, and the workspace plan takes
 * every buffer's lifetime from them: the two cannot disagree. */
typedef enum clenc__step_op {
    CLENC__STEP_QKV,       /* qkv = in · Wqkvᵀ + b */
    CLENC__STEP_ATTENTION, /* attn = attention(qkv) */
    CLENC__STEP_O,         /* out = in · Woᵀ + b + residual */
    CLENC__STEP_NORM1,     /* out = LN1(in) */
    CLENC__STEP_UP,        /* ffn = act(in · Wupᵀ + b) */
    CLENC__STEP_DOWN,      /* out = in · Wdownᵀ + b + residual */
    CLENC__STEP_NORM2      /* out = LN2(in) */
} clenc__step_op;

typedef struct clenc__step {
    clenc__step_op op;
    clenc__buffer_id in, residual, out; /* residual: CLENC__B_NONE if none */
} clenc__step;

#define CLENC__LAYER_STEPS 7
/* A layer's steps, by norm placement (clenc_config.norm). The pass's
 * steps are numbered 0..CLENC__LAYER_STEPS - 1 within each layer (every
 * layer's buffers are dead at its end), then pooling is step
 * CLENC__LAYER_STEPS. */
extern const clenc__step clenc__layer_steps[2][CLENC__LAYER_STEPS];

/* Test hook, tests only: while on, each clenc_encode first fills its
 * session's whole workspace with NaN, and each step's output buffer (other
 * than x, alive throughout) and the pooled output again just before the
 * step writes it, so that a kernel that leaves part of its output
 * unwritten shows as NaN in the result, not as an earlier pass's right
 * answer or another buffer's values. Process-wide and atomic, unlike the
 * fault hooks: the concurrency tests encode on threads of their own. Off
 * by default; the test runner turns it on before any test runs. */
void clenc__poison_workspace(int on);
/* Whether the hook is on. */
int clenc__poisoning(void);

/* Tests: the pool's next call arms fault injection (fault.c)
 * with `n` in device `index`'s worker thread, where the test's own arming
 * cannot reach (it is thread-local). */
void clenc__pool_fault_arm(clenc_pool *pool, unsigned index, long n);

/* The shape of one packed batch, and the device buffer of its offsets. */
typedef struct clenc__batch_shape {
    unsigned tokens, batch, max_len; /* Σ lengths, sequences, longest */
    double sum_sq;                   /* Σ length², attention's work */
    cl_mem offsets;                  /* batch + 1 prefix sums, on the device */
} clenc__batch_shape;

/* The host half of clenc_encode's checks (all but the ids'), messages
 * prefixed by `fn`. */
clenc_status clenc__check_shape(const clenc_session *s, const char *fn,
                                const int32_t *lengths, unsigned batch,
                                unsigned seq, clenc_pooling pooling);
/* offsets[0..batch] (prefix sums of the lengths; NULL: all seq) and the
 * rest of the shape; shape->offsets is left NULL. */
void clenc__batch_shape_of(const int32_t *lengths, unsigned batch,
                           unsigned seq, int32_t *offsets,
                           clenc__batch_shape *shape);
/* The pooling a call asked for (DEFAULT: the model's, written back) as the
 * pass's mode (CLENC_POOL_NONE, _CLS or _MEAN; the pooler's is CLS, its
 * layer runs on the host) and whether the pass normalises. */
unsigned clenc__pass_mode(const clenc_session *s, clenc_pooling *pooling,
                          int *normalize);
/* Enqueues the pass over the packed inputs already in (or enqueued into)
 * s->ids, s->type_ids and s->positions: embeddings, every layer, then
 * pooling into `pooled` (NULL: s->pooled; mode NONE: the states stay in
 * s->x), normalised if asked; under the test hook, the workspace poisoned
 * first. No synchronisation. */
clenc_status clenc__pass(clenc_session *s, const clenc__batch_shape *b,
                         unsigned mode, int normalize, cl_mem pooled);

/* --------------------------------------------------------------- session */

/* Per-kernel sums over the passes since the last reset (profiling on). */
typedef struct clenc__kernel_sum {
    unsigned calls;
    uint64_t device_ns;
    double flops, bytes;
} clenc__kernel_sum;

struct clenc_session {
    clenc_model *model;
    clenc__launcher launcher; /* its own queue and kernel objects */
    unsigned max_batch, max_seq;
    size_t max_tokens;
    /* Activations: sub-buffers of one planned arena, named or by id. */
    cl_mem arena;
    union {
        struct {
#define W(name, row, what) cl_mem name;
            CLENC__WORKSPACE(W)
#undef W
        };
        cl_mem buffers[CLENC__B_COUNT];
    };
    uint64_t workspace_bytes; /* the arena's */
    uint64_t scratch_bytes;   /* INT8: the launcher's quantised activations */
    /* Where each buffer lies in the arena (session.c): the tests check it
     * against the sub-buffers and the forward pass. */
    clenc__plan_item plan[CLENC__B_COUNT];
    size_t plan_align; /* bytes; every offset is a multiple */
    /* Per-batch inputs and their host staging. */
    cl_mem ids, type_ids, positions, offsets;
    cl_mem fault; /* clenc_encode_cl: the first bad token's [b][t], flat */
    int32_t *host_ids, *host_type_ids, *host_positions, *host_offsets;
    /* Bytes of one activation: 4, or 2 where the model computes in half;
     * then results come back through host_halves (max_tokens x hidden). */
    size_t act_size;
    uint16_t *host_halves;
    clenc_pooling pooling; /* clenc_embed_text's; DEFAULT: the model's */
    /* Profiling (profile.c): index 0..COUNT-1 by kernel, COUNT: CLBlast. */
    clenc__kernel_sum sums[CLENC__KERNEL_COUNT + 1];
    unsigned passes;
    uint64_t device_ns, gap_ns, pass_ns;
    uint64_t encode_begin_ns, encode_end_ns; /* host, the last encode */
};

/* Adds the last pass's launches to the session's sums (profile.c). */
clenc_status clenc__profile_add_pass(clenc_session *s);

#endif
