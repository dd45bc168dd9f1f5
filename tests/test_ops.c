/* test_ops.c — every encoder kernel against the C reference, on awkward shapes, in both kernel families and both GEMMs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "helpers.h"
#include "ref.h"
#include "testmodel.h"

/* Single ops are checked to a relative 1e-5 of the magnitude summed. */
#define OP_RTOL 1e-5

typedef struct env {
    clenc_context *ctx;
    test_model tm;
    clenc_model *model;
    clenc_session *s;
} env;

static void tiny_config(clenc_config *c)
{
    clenc_config_init_bert(c);
    c->vocab_size = 50;
    c->hidden = 32;
    c->heads = 4;
    c->layers = 1;
    c->ffn = 37; /* a multiple of no tile */
    c->max_positions = 320;
}

static void minilm_config(clenc_config *c)
{
    tiny_config(c);
    c->hidden = 384;
    c->heads = 12;
    c->ffn = 1536;
}

static void env_open(env *e, const clenc_config *c, clenc_variant variant,
                     clenc_gemm gemm)
{
    memset(e, 0, sizeof *e);
    e->ctx = test_context_for(variant, gemm);
    test_model_random(&e->tm, c, 42);
    e->model = test_model_upload(e->ctx, &e->tm);
    ASSERT_STATUS(clenc_session_create(e->model, 8, 320, &e->s), CLENC_OK);
    CU_ASSERT_FATAL(e->s != NULL);
}

static void env_close(env *e)
{
    clenc_session_destroy(e->s);
    clenc_model_destroy(e->model);
    clenc_context_destroy(e->ctx);
    test_model_free(&e->tm);
}

static cl_mem dev_put(env *e, const double *host, size_t count)
{
    float *f = malloc(count * sizeof *f);
    CU_ASSERT_FATAL(f != NULL);
    for (size_t i = 0; i < count; i++)
        f[i] = (float)host[i];
    cl_mem m = NULL;
    ASSERT_STATUS(clenc__buffer_create(e->ctx, count * sizeof *f,
                                       CL_MEM_READ_WRITE, "test", &m),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(e->s->queue, m, 0, count * sizeof *f, f),
                  CLENC_OK);
    free(f);
    return m;
}

static cl_mem dev_put_ints(env *e, const int32_t *host, size_t count)
{
    cl_mem m = NULL;
    ASSERT_STATUS(clenc__buffer_create(e->ctx, count * sizeof *host,
                                       CL_MEM_READ_WRITE, "test", &m),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(e->s->queue, m, 0,
                                       count * sizeof *host, host),
                  CLENC_OK);
    return m;
}

static double *dev_get(env *e, cl_mem m, size_t count)
{
    float *f = malloc(count * sizeof *f);
    double *d = malloc(count * sizeof *d);
    CU_ASSERT_FATAL(f && d);
    ASSERT_STATUS(clenc__buffer_download(e->s->queue, m, 0, count * sizeof *f,
                                         f),
                  CLENC_OK);
    for (size_t i = 0; i < count; i++)
        d[i] = f[i];
    free(f);
    return d;
}

static double *rand_doubles(uint64_t *rng, size_t count, double lo, double hi)
{
    double *p = malloc(count * sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    /* Rounded to float: what the device sees is what the reference sees. */
    for (size_t i = 0; i < count; i++)
        p[i] = (float)test_uniform(rng, lo, hi);
    return p;
}

/* max |got - ref| / max(scale, floor), asserted <= rtol; scale may be NULL
 * (then |ref| is the scale). */
static void check_close(const char *what, const double *got, const double *ref,
                        const double *scale, size_t count, double floor,
                        double rtol)
{
    double worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < count; i++) {
        double s = scale ? scale[i] : fabs(ref[i]);
        double err = fabs(got[i] - ref[i]) / (s > floor ? s : floor);
        if (!(err <= worst)) { /* NaN counts as worst */
            worst = err;
            at = i;
        }
    }
    if (!(worst <= rtol))
        fprintf(stderr, "\n    %s: relative error %.3g at %zu (got %.9g, "
                        "want %.9g)\n",
                what, worst, at, got[at], ref[at]);
    CU_ASSERT(worst <= rtol);
}

static const clenc__launch *last_launch(const env *e)
{
    CU_ASSERT_FATAL(e->s->launch_count > 0);
    return &e->s->launches[e->s->launch_count - 1];
}

/* ------------------------------------------------------------------ GEMM */

typedef struct gemm_case {
    const char *name;
    const float *w, *bias;
    const clenc__matrix *matrix;
    unsigned flags;
    int alias; /* residual is the output buffer */
} gemm_case;

static void check_gemm(env *e, const gemm_case *g, unsigned m)
{
    uint64_t rng = 7 + m;
    const unsigned n = g->matrix->n, k = g->matrix->k;
    double *a = rand_doubles(&rng, (size_t)m * k, -2, 2);
    double *res = rand_doubles(&rng, (size_t)m * n, -1, 1);
    double *ref = malloc(sizeof *ref * m * n), *scale = malloc(sizeof *scale * m * n);
    ref_gemm(a, g->w, g->bias, res, g->flags, e->tm.config.activation, m, n, k,
             ref, scale);
    cl_mem da = dev_put(e, a, (size_t)m * k), dres = dev_put(e, res, (size_t)m * n);
    cl_mem dout = g->alias ? dres : dev_put(e, res, (size_t)m * n);
    clenc__launches_reset(e->s);
    ASSERT_STATUS(clenc__op_gemm(e->s, g->matrix, da, m, dout,
                                 (g->flags & CLENC__EPI_RESIDUAL) ? dres : NULL,
                                 g->flags),
                  CLENC_OK);
    double *got = dev_get(e, dout, (size_t)m * n);
    char what[96];
    snprintf(what, sizeof what, "gemm %s m=%u n=%u k=%u %s/%s", g->name, m, n,
             k, e->model->gemm == CLENC_GEMM_CLBLAST ? "clblast" : "own",
             e->model->variant == CLENC_VARIANT_GPU ? "gpu" : "cpu");
    check_close(what, got, ref, scale, (size_t)m * n, 1e-3, OP_RTOL);
    /* The records say which implementation actually ran, on what. */
    const clenc__launch *gl = &e->s->launches[0];
    CU_ASSERT_EQUAL(gl->kernel, CLENC__K_GEMM);
    CU_ASSERT_EQUAL(gl->clblast, e->model->gemm == CLENC_GEMM_CLBLAST);
    CU_ASSERT_EQUAL(gl->work.m, m);
    CU_ASSERT_EQUAL(gl->work.n, n);
    CU_ASSERT_EQUAL(gl->work.flops, 2.0 * m * n * k);
    if (!gl->clblast)
        CU_ASSERT_EQUAL(gl->gpu, e->model->variant == CLENC_VARIANT_GPU);
    int epilogue = gl->clblast && (g->flags & ~(unsigned)(g->alias ? 4 : 0));
    CU_ASSERT_EQUAL(e->s->launch_count, epilogue ? 2u : 1u);
    clenc__buffer_release(e->ctx, da);
    clenc__buffer_release(e->ctx, dres);
    if (!g->alias)
        clenc__buffer_release(e->ctx, dout);
    free(got);
    free(a);
    free(res);
    free(ref);
    free(scale);
}

static void gemm_suite(const clenc_config *c, clenc_variant v, clenc_gemm gm,
                       const unsigned *ms, size_t nm)
{
    env e;
    env_open(&e, c, v, gm);
    const clenc_layer_weights *l = &e.tm.layers[0];
    const size_t h = c->hidden;
    float *qkv_w = malloc(3 * h * h * sizeof *qkv_w), *qkv_b = malloc(3 * h * sizeof *qkv_b);
    CU_ASSERT_FATAL(qkv_w && qkv_b);
    memcpy(qkv_w, l->q_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_w + h * h, l->k_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_w + 2 * h * h, l->v_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_b, l->q_bias, h * sizeof *qkv_b);
    memcpy(qkv_b + h, l->k_bias, h * sizeof *qkv_b);
    memcpy(qkv_b + 2 * h, l->v_bias, h * sizeof *qkv_b);
    const clenc__layer *dl = &e.model->layers[0];
    const gemm_case cases[] = {
        {"qkv+bias", qkv_w, qkv_b, &dl->qkv, CLENC__EPI_BIAS, 0},
        {"up+bias+act", l->ffn_up_weight, l->ffn_up_bias, &dl->ffn_up,
         CLENC__EPI_BIAS | CLENC__EPI_ACT, 0},
        {"o+bias+residual", l->o_weight, l->o_bias, &dl->o,
         CLENC__EPI_BIAS | CLENC__EPI_RESIDUAL, 0},
        {"down+bias+residual(in place)", l->ffn_down_weight, l->ffn_down_bias,
         &dl->ffn_down, CLENC__EPI_BIAS | CLENC__EPI_RESIDUAL, 1},
        {"o plain", l->o_weight, NULL, &dl->o, 0, 0},
    };
    for (size_t i = 0; i < nm; i++)
        for (size_t j = 0; j < sizeof cases / sizeof cases[0]; j++)
            check_gemm(&e, &cases[j], ms[i]);
    free(qkv_w);
    free(qkv_b);
    env_close(&e);
}

void test_gemm_own_cpu_matches_reference(void)
{
    static const unsigned ms[] = {1, 7, 65, 128, 300};
    clenc_config c;
    tiny_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, ms, 5);
    minilm_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, ms + 1, 4);
}

void test_gemm_own_gpu_matches_reference(void)
{
    static const unsigned ms[] = {1, 7, 65, 128, 300};
    clenc_config c;
    tiny_config(&c);
    gemm_suite(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, ms, 5);
    minilm_config(&c);
    gemm_suite(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, ms + 2, 2);
}

/* Every tile shape the tuner may pick computes the same product. */
void test_gemm_every_tile_shape_matches_reference(void)
{
    static const char *const tiles[] = {"8x1", "6x2", "4x3", "3x4", "2x8",
                                        "16x1", "5x3"};
    static const unsigned ms[] = {1, 65, 300};
    clenc_config c;
    tiny_config(&c);
    for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
        setenv("CLENC_GEMM_TILE", tiles[i], 1);
        gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, ms, 3);
    }
    setenv("CLENC_GEMM_TILE", "32", 1);
    gemm_suite(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, ms, 3);
    unsetenv("CLENC_GEMM_TILE");
}

void test_gemm_clblast_matches_reference(void)
{
    static const unsigned ms[] = {1, 7, 65, 300};
    clenc_config c;
    tiny_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, ms, 4);
    minilm_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, ms + 2, 1);
}

/* ------------------------------------------------------------- attention */

static void attention_case(clenc_variant v, const clenc_config *c)
{
    static const int32_t lengths[] = {7, 1, 65, 128, 300};
    const size_t batch = 5, h = c->hidden;
    int32_t offsets[6] = {0};
    for (size_t b = 0; b < batch; b++)
        offsets[b + 1] = offsets[b] + lengths[b];
    const size_t t = (size_t)offsets[batch];
    env e;
    env_open(&e, c, v, CLENC_GEMM_OWN);
    uint64_t rng = 99;
    /* Q and K spread wide so that softmax rows are peaky, not uniform. */
    double *qkv = rand_doubles(&rng, t * 3 * h, -1, 1);
    for (size_t i = 0; i < t; i++)
        for (size_t j = 0; j < 2 * h; j++)
            qkv[i * 3 * h + j] *= 4.0; /* exact in float */
    double *ref = malloc(sizeof *ref * t * h);
    ref_attention(qkv, offsets, batch, h, c->heads, ref);
    cl_mem dq = dev_put(&e, qkv, t * 3 * h);
    cl_mem doff = dev_put_ints(&e, offsets, batch + 1);
    cl_mem dout = dev_put(&e, ref, t * h); /* overwritten */
    clenc__launches_reset(e.s);
    ASSERT_STATUS(clenc__op_attention(e.s, dq, doff, batch, (unsigned)t, 300, 0, dout),
                  CLENC_OK);
    double *got = dev_get(&e, dout, t * h);
    char what[64];
    snprintf(what, sizeof what, "attention hidden=%zu heads=%u %s", h, c->heads,
             v == CLENC_VARIANT_GPU ? "gpu" : "cpu");
    double *scale = malloc(sizeof *scale * t * h);
    for (size_t i = 0; i < t * h; i++)
        scale[i] = 1.0; /* values are U(±1): outputs are averages of them */
    check_close(what, got, ref, scale, t * h, 1.0, OP_RTOL);
    const clenc__launch *l = last_launch(&e);
    CU_ASSERT_EQUAL(l->kernel, CLENC__K_ATTENTION);
    CU_ASSERT_EQUAL(l->gpu, v == CLENC_VARIANT_GPU);
    CU_ASSERT_EQUAL(l->global[1], batch * c->heads);
    clenc__buffer_release(e.ctx, dq);
    clenc__buffer_release(e.ctx, doff);
    clenc__buffer_release(e.ctx, dout);
    free(scale);
    free(got);
    free(ref);
    free(qkv);
    env_close(&e);
}

void test_attention_matches_reference(void)
{
    clenc_config c;
    tiny_config(&c);
    attention_case(CLENC_VARIANT_CPU, &c);
    attention_case(CLENC_VARIANT_GPU, &c);
    minilm_config(&c);
    attention_case(CLENC_VARIANT_CPU, &c);
    attention_case(CLENC_VARIANT_GPU, &c);
}

/* Changing one sequence's keys and values leaves the others untouched: the
 * mask is each sequence's own span. */
void test_attention_mask_ignores_other_sequences(void)
{
    clenc_config c;
    tiny_config(&c);
    const int32_t offsets[4] = {0, 5, 17, 20};
    const size_t t = 20, h = c.hidden;
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        env e;
        env_open(&e, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        uint64_t rng = 5;
        double *qkv = rand_doubles(&rng, t * 3 * h, -2, 2);
        cl_mem doff = dev_put_ints(&e, offsets, 4);
        cl_mem dq = dev_put(&e, qkv, t * 3 * h);
        cl_mem dout = dev_put(&e, qkv, t * h);
        ASSERT_STATUS(clenc__op_attention(e.s, dq, doff, 3, 20, 12, 0, dout),
                      CLENC_OK);
        double *before = dev_get(&e, dout, t * h);
        for (size_t i = 5 * 3 * h; i < 17 * 3 * h; i++)
            qkv[i] = -qkv[i] * 3; /* sequence 1 only */
        clenc__buffer_release(e.ctx, dq);
        dq = dev_put(&e, qkv, t * 3 * h);
        ASSERT_STATUS(clenc__op_attention(e.s, dq, doff, 3, 20, 12, 0, dout),
                      CLENC_OK);
        double *after = dev_get(&e, dout, t * h);
        CU_ASSERT(memcmp(before, after, 5 * h * sizeof *before) == 0);
        CU_ASSERT(memcmp(before + 17 * h, after + 17 * h,
                         3 * h * sizeof *before) == 0);
        CU_ASSERT(memcmp(before + 5 * h, after + 5 * h,
                         12 * h * sizeof *before) != 0);
        clenc__buffer_release(e.ctx, dq);
        clenc__buffer_release(e.ctx, doff);
        clenc__buffer_release(e.ctx, dout);
        free(before);
        free(after);
        free(qkv);
        env_close(&e);
    }
}

/* ------------------------------------------------------------- layernorm */

void test_layernorm_matches_reference_in_and_out_of_place(void)
{
    static const unsigned rows[] = {1, 7, 65, 300};
    clenc_config c;
    minilm_config(&c);
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        env e;
        env_open(&e, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        const clenc_layer_weights *l = &e.tm.layers[0];
        const clenc__layer *dl = &e.model->layers[0];
        for (size_t i = 0; i < 4; i++) {
            const size_t n = rows[i] * (size_t)c.hidden;
            uint64_t rng = rows[i];
            /* Far from zero, as a residual stream can be. */
            double *x = rand_doubles(&rng, n, 99, 101);
            double *ref = malloc(sizeof *ref * n);
            ref_layernorm(x, l->norm1_weight, l->norm1_bias, rows[i],
                          c.hidden, c.eps, ref);
            cl_mem dx = dev_put(&e, x, n), dy = dev_put(&e, x, n);
            ASSERT_STATUS(clenc__op_layernorm(e.s, dx, dy, dl->norm1_weight,
                                              dl->norm1_bias, rows[i]),
                          CLENC_OK);
            ASSERT_STATUS(clenc__op_layernorm(e.s, dx, dx, dl->norm1_weight,
                                              dl->norm1_bias, rows[i]),
                          CLENC_OK);
            double *out = dev_get(&e, dy, n), *in_place = dev_get(&e, dx, n);
            check_close("layernorm", out, ref, NULL, n, 1.0, OP_RTOL);
            CU_ASSERT(memcmp(out, in_place, n * sizeof *out) == 0);
            CU_ASSERT_EQUAL(last_launch(&e)->gpu, v == CLENC_VARIANT_GPU);
            clenc__buffer_release(e.ctx, dx);
            clenc__buffer_release(e.ctx, dy);
            free(x);
            free(ref);
            free(out);
            free(in_place);
        }
        env_close(&e);
    }
}

/* ------------------------------------------------------------ embeddings */

static void embed_case(const clenc_config *c, clenc_variant v)
{
    env e;
    env_open(&e, c, v, CLENC_GEMM_OWN);
    const size_t t = 300, h = c->hidden;
    int32_t ids[300], types[300], pos[300];
    for (size_t i = 0; i < t; i++) {
        ids[i] = (int32_t)((i * 7 + 3) % c->vocab_size);
        types[i] = c->type_vocab_size ? (int32_t)(i % c->type_vocab_size) : 0;
        pos[i] = (int32_t)(i < 10 ? i : t - 1 - i % 200); /* up to 299 */
    }
    double *ref = malloc(sizeof *ref * t * h);
    ref_embed(c, &e.tm.weights, ids, types, pos, t, ref);
    cl_mem di = dev_put_ints(&e, ids, t), dt = dev_put_ints(&e, types, t);
    cl_mem dp = dev_put_ints(&e, pos, t);
    cl_mem dout = dev_put(&e, ref, t * h);
    ASSERT_STATUS(clenc__op_embed(e.s, di, dt, dp, (unsigned)t, dout),
                  CLENC_OK);
    double *got = dev_get(&e, dout, t * h);
    char what[96];
    snprintf(what, sizeof what, "embed positions=%d scale=%d norm=%d types=%u %s",
             (int)c->positions, c->scale_embedding, c->embedding_norm,
             c->type_vocab_size, v == CLENC_VARIANT_GPU ? "gpu" : "cpu");
    check_close(what, got, ref, NULL, t * h, 1.0, OP_RTOL);
    CU_ASSERT_EQUAL(last_launch(&e)->kernel, CLENC__K_EMBED);
    clenc__buffer_release(e.ctx, di);
    clenc__buffer_release(e.ctx, dt);
    clenc__buffer_release(e.ctx, dp);
    clenc__buffer_release(e.ctx, dout);
    free(got);
    free(ref);
    env_close(&e);
}

void test_embed_every_position_kind(void)
{
    clenc_config bert, vanilla, bare;
    tiny_config(&bert);
    tiny_config(&vanilla);
    vanilla.positions = CLENC_POS_SINUSOIDAL;
    vanilla.scale_embedding = 1;
    vanilla.embedding_norm = 0;
    vanilla.type_vocab_size = 0;
    tiny_config(&bare);
    bare.positions = CLENC_POS_NONE;
    bare.type_vocab_size = 0;
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        embed_case(&bert, (clenc_variant)v);
        embed_case(&vanilla, (clenc_variant)v);
        embed_case(&bare, (clenc_variant)v);
    }
}

/* ---------------------------------------------------------- pool, l2norm */

void test_pool_cls_mean_and_l2norm(void)
{
    static const int32_t offsets[6] = {0, 7, 8, 73, 201, 501};
    clenc_config c;
    minilm_config(&c);
    const size_t batch = 5, t = 501, h = c.hidden;
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        env e;
        env_open(&e, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        uint64_t rng = 3;
        double *x = rand_doubles(&rng, t * h, -3, 3);
        cl_mem dx = dev_put(&e, x, t * h), doff = dev_put_ints(&e, offsets, 6);
        double *ref = malloc(sizeof *ref * batch * h);
        for (int mode = 0; mode <= 1; mode++) {
            ref_pool(x, offsets, batch, h, mode, ref);
            cl_mem dout = dev_put(&e, ref, batch * h);
            ASSERT_STATUS(clenc__op_pool(e.s, dx, doff, batch, (unsigned)t, mode, dout),
                          CLENC_OK);
            double *got = dev_get(&e, dout, batch * h);
            check_close(mode ? "mean pool" : "cls pool", got, ref, NULL,
                        batch * h, 1e-1, OP_RTOL);
            ref_l2norm(ref, batch, h);
            ASSERT_STATUS(clenc__op_l2norm(e.s, dout, batch), CLENC_OK);
            free(got);
            got = dev_get(&e, dout, batch * h);
            check_close("l2norm", got, ref, NULL, batch * h, 1e-2, OP_RTOL);
            CU_ASSERT_EQUAL(last_launch(&e)->kernel, CLENC__K_L2NORM);
            clenc__buffer_release(e.ctx, dout);
            free(got);
        }
        clenc__buffer_release(e.ctx, dx);
        clenc__buffer_release(e.ctx, doff);
        free(ref);
        free(x);
        env_close(&e);
    }
}

/* ------------------------------------------------------------------ plan */

void test_plan_never_overlaps_live_buffers(void)
{
    clenc__plan_item items[] = {
        {"x", 1000, 0, 7, 0},  {"qkv", 3000, 0, 1, 0}, {"attn", 1000, 1, 2, 0},
        {"proj", 1000, 2, 3, 0}, {"ffn", 4000, 4, 5, 0}, {"proj2", 1000, 5, 6, 0},
        {"pooled", 100, 7, 7, 0},
    };
    const size_t n = sizeof items / sizeof items[0];
    size_t total = clenc__plan(items, n, 128), sum = 0;
    for (size_t i = 0; i < n; i++) {
        sum += items[i].size;
        CU_ASSERT(items[i].offset % 128 == 0);
        CU_ASSERT(items[i].offset + items[i].size <= total);
        for (size_t j = 0; j < i; j++) {
            int live = items[i].first <= items[j].last &&
                       items[j].first <= items[i].last;
            int overlap = items[i].offset < items[j].offset + items[j].size &&
                          items[j].offset < items[i].offset + items[i].size;
            CU_ASSERT(!(live && overlap));
        }
    }
    /* Sharing pays: x + the larger of qkv/ffn + one more row buffer. */
    CU_ASSERT(total < sum);
    CU_ASSERT(total <= 1024 + 4096 + 1024 + 128);
}
