/* forward.c — the forward pass: pack a batch without padding, enqueue every layer's steps with no synchronisation, pool, read back. */
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "engine/engine.h"

/* The test hook's NaN goes up as uploads from this chunk. Written once,
 * before the hook is on. */
enum { NAN_CHUNK = 16384 };
/* Each token's position id. From 0, or from RoBERTa's padding_idx + 1
 * (position_offset), where transformers' create_position_ids_from_input_ids
 * gives the pad token itself (id padding_idx, as RoBERTa's files have it)
 * position padding_idx and counts only the other tokens. */
static void positions_of(const clenc_config *c, const int32_t *ids,
                         unsigned len, int32_t *out)
{
    const unsigned offset = c->position_offset;
    unsigned next = offset;
    for (unsigned p = 0; p < len; p++) {
        if (offset && ids[p] == (int32_t)offset - 1) {
            out[p] = (int32_t)offset - 1;
            continue;
        }
        out[p] = (int32_t)next++;
    }
}

static float nan_chunk[NAN_CHUNK];
static uint16_t nan_halves[NAN_CHUNK];
static atomic_int poison;

int clenc__poisoning(void)
{
    return atomic_load(&poison);
}

void clenc__poison_workspace(int on)
{
    for (size_t i = 0; on && !atomic_load(&poison) && i < NAN_CHUNK; i++) {
        nan_chunk[i] = NAN;
        nan_halves[i] = 0x7e00u; /* half's quiet NaN */
    }
    atomic_store(&poison, on != 0);
}

/* Under the test hook, the first `floats` of workspace buffer `b` (or of
 * the whole arena, for CLENC__B_NONE) become NaN. The arena is filled at
 * the start of a pass, and each buffer again before the step that writes
 * it: one sharing bytes with a buffer dead by then would hold that one's
 * values, and a kernel that skipped part of its output would pass them on
 * unseen (pooled: any row, normalised, looks like an embedding). Written
 * through the arena at the plan's offset, so a plan unlike the sub-buffers
 * shows as NaN too. Oclgrind (21.10) remakes its record of which bytes are
 * written for the whole arena at each host write and then reports every
 * read of what the kernels wrote before: there only the arena is filled,
 * at the start, and its own uninitialised-value check catches output a
 * kernel leaves out. */
static clenc_status poison_buffer(clenc_session *s, clenc__buffer_id b,
                                  size_t count)
{
    clenc_status st = CLENC_OK;
    const int whole = b == CLENC__B_NONE;
    if (!atomic_load(&poison) ||
        (!whole && strstr(s->model->ctx->device.info.platform, "Oclgrind")))
        return CLENC_OK;
    const size_t at = whole ? 0 : s->plan[b].offset; /* bytes into the arena */
    const size_t size = s->act_size;
    const void *chunk = size == sizeof(float) ? (const void *)nan_chunk
                                              : (const void *)nan_halves;
    for (size_t done = 0; done < count; done += NAN_CHUNK) {
        const size_t n = count - done < NAN_CHUNK ? count - done : NAN_CHUNK;
        CL_CHECK(clEnqueueWriteBuffer(s->launcher.queue, s->arena, CL_FALSE,
                                      at + done * size, n * size, chunk, 0,
                                      NULL, NULL),
                 out);
    }
out:
    return st;
}

/* Under the test hook, the INT8 scratch's row scales too: a GEMM that
 * read rows the quantisation skipped would show NaN. */
static clenc_status poison_scratch(clenc_session *s, size_t tokens)
{
    clenc_status st = CLENC_OK;
    tokens *= CLENC__Q8_INFO; /* floats a row */
    cl_mem scales = s->launcher.quant_scales;
    if (!atomic_load(&poison) || !scales ||
        strstr(s->model->ctx->device.info.platform, "Oclgrind"))
        return CLENC_OK;
    for (size_t done = 0; done < tokens; done += NAN_CHUNK) {
        const size_t n = tokens - done < NAN_CHUNK ? tokens - done : NAN_CHUNK;
        CL_CHECK(clEnqueueWriteBuffer(s->launcher.queue, scales, CL_FALSE,
                                      done * sizeof(float), n * sizeof(float),
                                      nan_chunk, 0, NULL, NULL),
                 out);
    }
out:
    return st;
}

clenc_status clenc__check_shape(const clenc_session *s, const char *fn,
                                const int32_t *lengths, unsigned batch,
                                unsigned seq, clenc_pooling pooling)
{
    if (batch == 0 || batch > s->max_batch)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: batch %u is outside the session's 1..%u", fn,
                           batch, s->max_batch);
    if (seq == 0 || seq > s->max_seq)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: seq %u is outside the session's 1..%u", fn,
                           seq, s->max_seq);
    unsigned mode = (unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE;
    if (mode > CLENC_POOL_POOLER ||
        (mode == CLENC_POOL_DEFAULT && pooling != CLENC_POOL_DEFAULT))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: pooling 0x%x is not a pooling", fn,
                           (unsigned)pooling);
    if (mode == CLENC_POOL_POOLER && !s->model->head.pooler_w)
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "%s: model '%s' has no pooler (pooler.dense in "
                           "its checkpoint) for CLENC_POOL_POOLER",
                           fn, s->model->name);
    for (unsigned b = 0; lengths && b < batch; b++)
        if (lengths[b] < 1 || (unsigned)lengths[b] > seq)
            return clenc__fail(CLENC_ERR_INVALID_ARG,
                               "%s: lengths[%u] is %d, outside 1..%u", fn, b,
                               (int)lengths[b], seq);
    return CLENC_OK;
}

static clenc_status check_batch(const clenc_session *s, const int32_t *ids,
                                const int32_t *type_ids,
                                const int32_t *lengths, unsigned batch,
                                unsigned seq, clenc_pooling pooling,
                                const float *out)
{
    const clenc_config *c = &s->model->config;
    if (!ids || !out)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "clenc_encode: %s is NULL",
                           ids ? "out" : "ids");
    clenc_status st = clenc__check_shape(s, "clenc_encode", lengths, batch,
                                         seq, pooling);
    if (st != CLENC_OK)
        return st;
    for (unsigned b = 0; b < batch; b++) {
        const unsigned len = lengths ? (unsigned)lengths[b] : seq;
        for (unsigned t = 0; t < len; t++) {
            const size_t i = (size_t)b * seq + t;
            if (ids[i] < 0 || (unsigned)ids[i] >= c->vocab_size)
                return clenc__fail(CLENC_ERR_INVALID_ARG,
                                   "clenc_encode: token id %d at [%u][%u] is "
                                   "outside the vocabulary 0..%u",
                                   (int)ids[i], b, t, c->vocab_size - 1);
            const unsigned types = c->type_vocab_size ? c->type_vocab_size : 1;
            if (type_ids && (type_ids[i] < 0 || (unsigned)type_ids[i] >= types))
                return clenc__fail(CLENC_ERR_INVALID_ARG,
                                   "clenc_encode: token type %d at [%u][%u] "
                                   "is outside 0..%u",
                                   (int)type_ids[i], b, t, types - 1);
        }
    }
    return CLENC_OK;
}

void clenc__batch_shape_of(const int32_t *lengths, unsigned batch,
                           unsigned seq, int32_t *offsets,
                           clenc__batch_shape *shape)
{
    size_t t = 0;
    *shape = (clenc__batch_shape){0, batch, 0, 0, NULL};
    for (unsigned b = 0; b < batch; b++) {
        const unsigned len = lengths ? (unsigned)lengths[b] : seq;
        offsets[b] = (int32_t)t;
        t += len;
        shape->sum_sq += (double)len * len;
        if (len > shape->max_len)
            shape->max_len = len;
    }
    offsets[batch] = (int32_t)t;
    shape->tokens = (unsigned)t;
}

/* Packs the real tokens of the batch back to back: GEMMs then run over
 * Σ lengths rows, and attention reads each sequence's span from offsets. */
static void pack(clenc_session *s, const int32_t *ids,
                 const int32_t *type_ids, const int32_t *lengths,
                 unsigned batch, unsigned seq, clenc__batch_shape *shape)
{
    clenc__batch_shape_of(lengths, batch, seq, s->host_offsets, shape);
    for (unsigned b = 0; b < batch; b++) {
        const size_t t = (size_t)s->host_offsets[b];
        const unsigned len = (unsigned)(s->host_offsets[b + 1] - t);
        memcpy(s->host_ids + t, ids + (size_t)b * seq, len * sizeof *ids);
        if (type_ids)
            memcpy(s->host_type_ids + t, type_ids + (size_t)b * seq,
                   len * sizeof *type_ids);
        else
            memset(s->host_type_ids + t, 0, len * sizeof *type_ids);
        positions_of(&s->model->config, ids + (size_t)b * seq, len,
                     s->host_positions + t);
    }
}

static clenc_status upload_batch(clenc_session *s, size_t tokens,
                                 unsigned batch)
{
    clenc_status st = CLENC_OK;
    const struct {
        cl_mem mem;
        const int32_t *host;
        size_t count;
    } in[] = {{s->ids, s->host_ids, tokens},
              {s->type_ids, s->host_type_ids, tokens},
              {s->positions, s->host_positions, tokens},
              {s->offsets, s->host_offsets, batch + 1}};
    /* Non-blocking: the staging arrays are the session's and stay put
     * until the read at the end of the pass has waited for everything. */
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++)
        CL_CHECK(clEnqueueWriteBuffer(s->launcher.queue, in[i].mem, CL_FALSE, 0,
                                      in[i].count * sizeof(int32_t),
                                      in[i].host, 0, NULL, NULL),
                 out);
out:
    return st;
}

const clenc__step clenc__layer_steps[2][CLENC__LAYER_STEPS] = {
    [CLENC_NORM_POST] =
        {
            {CLENC__STEP_QKV, CLENC__B_x, CLENC__B_NONE, CLENC__B_qkv},
            {CLENC__STEP_ATTENTION, CLENC__B_qkv, CLENC__B_NONE, CLENC__B_attn},
            {CLENC__STEP_O, CLENC__B_attn, CLENC__B_x, CLENC__B_norm1},
            {CLENC__STEP_NORM1, CLENC__B_norm1, CLENC__B_NONE, CLENC__B_x},
            {CLENC__STEP_UP, CLENC__B_x, CLENC__B_NONE, CLENC__B_ffn},
            {CLENC__STEP_DOWN, CLENC__B_ffn, CLENC__B_x, CLENC__B_norm2},
            {CLENC__STEP_NORM2, CLENC__B_norm2, CLENC__B_NONE, CLENC__B_x},
        },
    [CLENC_NORM_PRE] =
        {
            {CLENC__STEP_NORM1, CLENC__B_x, CLENC__B_NONE, CLENC__B_norm1},
            {CLENC__STEP_QKV, CLENC__B_norm1, CLENC__B_NONE, CLENC__B_qkv},
            {CLENC__STEP_ATTENTION, CLENC__B_qkv, CLENC__B_NONE, CLENC__B_attn},
            {CLENC__STEP_O, CLENC__B_attn, CLENC__B_x, CLENC__B_x},
            {CLENC__STEP_NORM2, CLENC__B_x, CLENC__B_NONE, CLENC__B_norm2},
            {CLENC__STEP_UP, CLENC__B_norm2, CLENC__B_NONE, CLENC__B_ffn},
            {CLENC__STEP_DOWN, CLENC__B_ffn, CLENC__B_x, CLENC__B_x},
        },
};

/* Floats a row of buffer b. */
static size_t row_floats(const clenc_session *s, clenc__buffer_id b)
{
    const size_t h = s->model->config.hidden, f = s->model->config.ffn;
    switch (b) {
#define W(name, row, what)                                                     \
    case CLENC__B_##name:                                                      \
        return row;
        CLENC__WORKSPACE(W)
#undef W
    default:
        return 0;
    }
}

static clenc_status run_step(clenc_session *s, const clenc__layer *l,
                             const clenc__step *step,
                             const clenc__batch_shape *b)
{
    clenc__launcher *L = &s->launcher;
    const unsigned t = b->tokens;
    cl_mem in = s->buffers[step->in], out = s->buffers[step->out];
    cl_mem residual = step->residual == CLENC__B_NONE
                          ? NULL
                          : s->buffers[step->residual];
    const unsigned add = CLENC__EPI_BIAS | CLENC__EPI_RESIDUAL;
    clenc_status st = CLENC_OK;
    if (step->out != CLENC__B_x)
        TRY(poison_buffer(s, step->out, t * row_floats(s, step->out)), out);
    switch (step->op) {
    case CLENC__STEP_QKV:
        return clenc__op_gemm(L, &l->qkv, in, t, out, NULL, CLENC__EPI_BIAS);
    case CLENC__STEP_ATTENTION:
        return clenc__op_attention(L, in, b->offsets, b->batch, t, b->max_len,
                                   b->sum_sq, out);
    case CLENC__STEP_O:
        return clenc__op_gemm(L, &l->o, in, t, out, residual, add);
    case CLENC__STEP_NORM1:
        return clenc__op_layernorm(L, in, out, l->norm1_weight, l->norm1_bias,
                                   t);
    case CLENC__STEP_UP:
        return clenc__op_gemm(L, &l->ffn_up, in, t, out, NULL,
                              CLENC__EPI_BIAS | CLENC__EPI_ACT);
    case CLENC__STEP_DOWN:
        return clenc__op_gemm(L, &l->ffn_down, in, t, out, residual, add);
    case CLENC__STEP_NORM2:
        return clenc__op_layernorm(L, in, out, l->norm2_weight, l->norm2_bias,
                                   t);
    }
out:
    return st;
}

static clenc_status forward(clenc_session *s, const clenc__batch_shape *b)
{
    const clenc_model *m = s->model;
    const clenc__step *steps = clenc__layer_steps[m->config.norm ==
                                                  CLENC_NORM_PRE];
    const unsigned t = b->tokens;
    clenc_status st;
    TRY(clenc__op_embed(&s->launcher, &m->embed, s->ids, s->type_ids,
                        s->positions, t, s->x),
        out);
    for (unsigned i = 0; i < m->config.layers; i++)
        for (unsigned k = 0; k < CLENC__LAYER_STEPS; k++)
            TRY(run_step(s, &m->layers[i], &steps[k], b), out);
    if (m->config.final_norm)
        TRY(clenc__op_layernorm(&s->launcher, s->x, s->x, m->final_norm_weight,
                                m->final_norm_bias, t),
            out);
out:
    return st;
}

/* Every token's state, scattered to [batch][seq][hidden] with zero rows
 * for padding: one read per sequence, straight into the caller's array. */
static clenc_status read_tokens(clenc_session *s, unsigned batch,
                                unsigned seq, float *out)
{
    clenc_status st = CLENC_OK;
    const size_t row = s->model->config.hidden;
    if (s->host_halves) { /* half: all rows, widened after the pass */
        CL_CHECK(clEnqueueReadBuffer(s->launcher.queue, s->x, CL_FALSE, 0,
                                     (size_t)s->host_offsets[batch] * row *
                                         sizeof *s->host_halves,
                                     s->host_halves, 0, NULL, NULL),
                 out);
        return CLENC_OK;
    }
    for (unsigned b = 0; b < batch; b++) {
        const size_t start = (size_t)s->host_offsets[b];
        const size_t len = (size_t)s->host_offsets[b + 1] - start;
        float *dst = out + (size_t)b * seq * row;
        CL_CHECK(clEnqueueReadBuffer(s->launcher.queue, s->x, CL_FALSE,
                                     start * row * sizeof *out,
                                     len * row * sizeof *out, dst, 0, NULL,
                                     NULL),
                 out);
        memset(dst + len * row, 0, (seq - len) * row * sizeof *out);
    }
out:
    return st;
}

/* Half results (host_halves, read by the pass) into the caller's floats:
 * every token scattered to [batch][seq][hidden] with zero rows for
 * padding, or `rows` pooled vectors. */
static void widen_results(const clenc_session *s, unsigned batch,
                          unsigned seq, int tokens, float *out)
{
    const size_t row = s->model->config.hidden;
    if (!tokens) {
        for (size_t i = 0; i < (size_t)batch * row; i++)
            out[i] = clenc__half_to_float(s->host_halves[i]);
        return;
    }
    for (unsigned b = 0; b < batch; b++) {
        const size_t start = (size_t)s->host_offsets[b];
        const size_t len = (size_t)s->host_offsets[b + 1] - start;
        float *dst = out + (size_t)b * seq * row;
        for (size_t i = 0; i < len * row; i++)
            dst[i] = clenc__half_to_float(s->host_halves[start * row + i]);
        memset(dst + len * row, 0, (seq - len) * row * sizeof *out);
    }
}

clenc_status clenc__pass(clenc_session *s, const clenc__batch_shape *b,
                         unsigned mode, int normalize, cl_mem pooled)
{
    clenc_status st;
    const unsigned t = b->tokens;
    TRY(poison_buffer(s, CLENC__B_NONE,
                      (size_t)s->workspace_bytes / s->act_size),
        out);
    TRY(poison_scratch(s, t), out);
    TRY(forward(s, b), out);
    if (mode == CLENC_POOL_NONE) {
        if (normalize)
            TRY(clenc__op_l2norm(&s->launcher, s->x, t), out);
        return CLENC_OK;
    }
    if (!pooled) {
        pooled = s->pooled;
        TRY(poison_buffer(s, CLENC__B_pooled,
                          (size_t)b->batch * s->model->config.hidden),
            out);
    }
    TRY(clenc__op_pool(&s->launcher, s->x, b->offsets, b->batch, t,
                       mode == CLENC_POOL_CLS ? CLENC__POOL_CLS
                                              : CLENC__POOL_MEAN,
                       pooled),
        out);
    if (normalize)
        TRY(clenc__op_l2norm(&s->launcher, pooled, b->batch), out);
out:
    return st;
}

unsigned clenc__pass_mode(const clenc_session *s, clenc_pooling *pooling,
                          int *normalize)
{
    if (*pooling == CLENC_POOL_DEFAULT)
        *pooling = s->model->config.pooling;
    unsigned mode = (unsigned)*pooling & ~(unsigned)CLENC_POOL_NORMALIZE;
    /* BERT's pooler runs on the host over the first token's state (head.c),
     * and normalisation after it. */
    const int pooler = mode == CLENC_POOL_POOLER;
    *normalize = (*pooling & CLENC_POOL_NORMALIZE) != 0 && !pooler;
    return pooler ? CLENC_POOL_CLS : mode;
}

clenc_status clenc_encode(clenc_session *s, const int32_t *ids,
                          const int32_t *type_ids, const int32_t *lengths,
                          unsigned batch, unsigned seq, clenc_pooling pooling,
                          float *out)
{
    clenc_status st;
    if (!s)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_encode: session is NULL");
    TRY(check_batch(s, ids, type_ids, lengths, batch, seq, pooling, out),
        out);
    int normalize;
    const unsigned mode = clenc__pass_mode(s, &pooling, &normalize);
    const int pooler = ((unsigned)pooling & ~(unsigned)CLENC_POOL_NORMALIZE) ==
                       CLENC_POOL_POOLER;

    s->encode_begin_ns = clenc__now_ns();
    clenc__launches_reset(&s->launcher);
    clenc__batch_shape shape;
    pack(s, ids, type_ids, lengths, batch, seq, &shape);
    shape.offsets = s->offsets;
    TRY(upload_batch(s, shape.tokens, batch), out_finish);
    TRY(clenc__pass(s, &shape, mode, normalize, NULL), out_finish);
    if (mode == CLENC_POOL_NONE)
        TRY(read_tokens(s, batch, seq, out), out_finish);
    else
        CL_CHECK(clEnqueueReadBuffer(
                     s->launcher.queue, s->pooled, CL_FALSE, 0,
                     (size_t)batch * s->model->config.hidden * s->act_size,
                     s->host_halves ? (void *)s->host_halves : (void *)out, 0,
                     NULL, NULL),
                 out_finish);
    /* The pass's one synchronisation. */
    CL_CHECK(clFinish(s->launcher.queue), out);
    if (s->host_halves)
        widen_results(s, batch, seq, mode == CLENC_POOL_NONE, out);
    if (pooler) {
        const unsigned h = s->model->config.hidden;
        TRY(clenc__pooler_run(&s->model->head, h, out, batch, out), out);
        if (pooling & CLENC_POOL_NORMALIZE)
            clenc__normalize_rows(out, batch, h);
    }
    s->encode_end_ns = clenc__now_ns();
    if (s->model->ctx->profiling)
        TRY(clenc__profile_add_pass(s), out);
    return CLENC_OK;
out_finish:
    clFinish(s->launcher.queue); /* nothing may still write into `out` */
out:
    return st;
}
