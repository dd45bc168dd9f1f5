/* test_impl.c — the kernels on any OpenCL implementation: each op at small shapes against the reference (small enough for Oclgrind's simulator), and every kernel of the table launched by real encodes.
 *
 * `make test-oclgrind` runs this suite under Oclgrind, which fails on any
 * out-of-bounds access, data race or uninitialised read; `make test-rusticl`
 * runs it, with the rest, on Mesa's Rusticl. The shapes are the ops suite's
 * awkward cases shrunk: partial GEMM tiles and panels (m 1, 7, 65; n 37),
 * rows that are no multiple of 16 (hidden 24), softmax over several key
 * blocks in both families (a sequence of 130), work-groups past a
 * sequence's end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "helpers.h"
#include "ref.h"
#include "testmodel.h"

/* As the ops suite: relative to the magnitude summed. */
#define OP_RTOL 1e-5

/* hidden 32 (rows of whole float16s) and hidden 24 (the scalar row paths,
 * 8 work-items a row in the gpu family). */
static void config_for(clenc_config *c, unsigned hidden)
{
    clenc_config_init_bert(c);
    c->vocab_size = 50;
    c->hidden = hidden;
    c->heads = hidden / 8;
    c->layers = 1;
    c->ffn = hidden == 32 ? 37 : 20;
    c->max_positions = 160;
}

typedef struct rig {
    clenc_context *ctx;
    test_model tm;
    clenc_model *model;
    clenc_session *s;
} rig;

static void rig_open(rig *r, const clenc_config *c, clenc_variant v,
                     clenc_gemm g)
{
    memset(r, 0, sizeof *r);
    r->ctx = test_context_for(v, g);
    test_model_random(&r->tm, c, 42);
    r->model = test_model_upload(r->ctx, &r->tm);
    ASSERT_STATUS(clenc_session_create(r->model, 8, 160, &r->s), CLENC_OK);
    CU_ASSERT_FATAL(r->s != NULL);
}

static void rig_close(rig *r)
{
    clenc_session_destroy(r->s);
    clenc_model_destroy(r->model);
    clenc_context_destroy(r->ctx);
    test_model_free(&r->tm);
}

static const char *family(const rig *r)
{
    return r->model->variant == CLENC_VARIANT_GPU ? "gpu" : "cpu";
}

static cl_mem put(rig *r, const double *host, size_t count)
{
    float *f = malloc(count * sizeof *f);
    CU_ASSERT_FATAL(f != NULL);
    for (size_t i = 0; i < count; i++)
        f[i] = (float)host[i];
    cl_mem m = NULL;
    ASSERT_STATUS(clenc__buffer_create(r->ctx, count * sizeof *f,
                                       CL_MEM_READ_WRITE, "test", &m),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(r->s->queue, m, 0, count * sizeof *f, f),
                  CLENC_OK);
    free(f);
    return m;
}

static cl_mem put_ints(rig *r, const int32_t *host, size_t count)
{
    cl_mem m = NULL;
    ASSERT_STATUS(clenc__buffer_create(r->ctx, count * sizeof *host,
                                       CL_MEM_READ_WRITE, "test", &m),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(r->s->queue, m, 0, count * sizeof *host,
                                       host),
                  CLENC_OK);
    return m;
}

static double *get(rig *r, cl_mem m, size_t count)
{
    float *f = malloc(count * sizeof *f);
    double *d = malloc(count * sizeof *d);
    CU_ASSERT_FATAL(f && d);
    ASSERT_STATUS(clenc__buffer_download(r->s->queue, m, 0, count * sizeof *f,
                                         f),
                  CLENC_OK);
    for (size_t i = 0; i < count; i++)
        d[i] = f[i];
    free(f);
    return d;
}

static double *random_doubles(uint64_t *rng, size_t count, double lo,
                              double hi)
{
    double *p = malloc(count * sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    for (size_t i = 0; i < count; i++)
        p[i] = (float)test_uniform(rng, lo, hi); /* what the device sees */
    return p;
}

/* max |got - ref| / max(scale, floor) <= OP_RTOL; scale NULL: |ref|. */
static void check_close(const char *what, const double *got, const double *ref,
                        const double *scale, size_t count, double floor)
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
    if (!(worst <= OP_RTOL))
        fprintf(stderr,
                "\n    %s: relative error %.3g at %zu (got %.9g, want %.9g)\n",
                what, worst, at, got[at], ref[at]);
    CU_ASSERT(worst <= OP_RTOL);
}

/* CLBlast compiles and tunes itself for the devices it knows; on another
 * implementation it may fail with an OpenCL error. That is said, and the
 * rest is still checked; any other failure is a failure. */
static int clblast_failed(clenc_status st)
{
    if (st != CLENC_ERR_OPENCL || !strstr(clenc_last_error(), "CLBlast"))
        return 0;
    printf("\n    CLBlast fails on this device: %s", clenc_last_error());
    return 1;
}

/* ------------------------------------------------------------------ GEMM */

typedef struct gemm_case {
    const char *name;
    const float *w, *bias;
    const clenc__matrix *matrix;
    unsigned flags;
    int alias; /* residual is the output buffer */
} gemm_case;

/* Returns 0 if CLBlast failed on this device (said so), else 1. */
static int check_gemm(rig *r, const gemm_case *g, unsigned m)
{
    uint64_t rng = 11 + m;
    const unsigned n = g->matrix->n, k = g->matrix->k;
    double *a = random_doubles(&rng, (size_t)m * k, -2, 2);
    double *res = random_doubles(&rng, (size_t)m * n, -1, 1);
    double *ref = malloc(sizeof *ref * m * n);
    double *scale = malloc(sizeof *scale * m * n);
    CU_ASSERT_FATAL(ref && scale);
    ref_gemm(a, g->w, g->bias, res, g->flags, r->tm.config.activation, m, n, k,
             ref, scale);
    cl_mem da = put(r, a, (size_t)m * k), dres = put(r, res, (size_t)m * n);
    cl_mem dout = g->alias ? dres : put(r, res, (size_t)m * n);
    clenc__launches_reset(r->s);
    clenc_status st =
        clenc__op_gemm(r->s, g->matrix, da, m, dout,
                       (g->flags & CLENC__EPI_RESIDUAL) ? dres : NULL, g->flags);
    const int clblast = r->model->gemm == CLENC_GEMM_CLBLAST;
    const int ran = !(clblast && clblast_failed(st));
    if (ran) {
        ASSERT_STATUS(st, CLENC_OK);
        double *got = get(r, dout, (size_t)m * n);
        char what[96];
        snprintf(what, sizeof what, "gemm %s m=%u n=%u k=%u %s/%s", g->name,
                 m, n, k, clblast ? "clblast" : "own", family(r));
        check_close(what, got, ref, scale, (size_t)m * n, 1e-3);
        CU_ASSERT(r->s->launch_count >= 1 &&
                  r->s->launches[0].kernel == CLENC__K_GEMM &&
                  r->s->launches[0].clblast == clblast);
        free(got);
    }
    clenc__buffer_release(r->ctx, da);
    clenc__buffer_release(r->ctx, dres);
    if (!g->alias)
        clenc__buffer_release(r->ctx, dout);
    free(a);
    free(res);
    free(ref);
    free(scale);
    return ran;
}

static void gemm_cases(const clenc_config *c, clenc_variant v, clenc_gemm g,
                       const char *tile)
{
    /* The gpu family's 16 x 16 work-groups cost Oclgrind the most; for them
     * 1 row is one more partial tile like 7. */
    static const unsigned ms[] = {1, 7, 65};
    const size_t first = v == CLENC_VARIANT_GPU ? 1 : 0;
    if (tile)
        setenv("CLENC_GEMM_TILE", tile, 1);
    rig r;
    rig_open(&r, c, v, g);
    const clenc_layer_weights *l = &r.tm.layers[0];
    const size_t h = c->hidden;
    float *qkv_w = malloc(3 * h * h * sizeof *qkv_w);
    float *qkv_b = malloc(3 * h * sizeof *qkv_b);
    CU_ASSERT_FATAL(qkv_w && qkv_b);
    memcpy(qkv_w, l->q_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_w + h * h, l->k_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_w + 2 * h * h, l->v_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_b, l->q_bias, h * sizeof *qkv_b);
    memcpy(qkv_b + h, l->k_bias, h * sizeof *qkv_b);
    memcpy(qkv_b + 2 * h, l->v_bias, h * sizeof *qkv_b);
    const clenc__layer *dl = &r.model->layers[0];
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
    int ok = 1;
    for (size_t i = first; ok && i < sizeof ms / sizeof ms[0]; i++)
        for (size_t j = 0; ok && j < sizeof cases / sizeof cases[0]; j++)
            ok = check_gemm(&r, &cases[j], ms[i]);
    free(qkv_w);
    free(qkv_b);
    rig_close(&r);
    if (tile)
        unsetenv("CLENC_GEMM_TILE");
}

void test_impl_gemm_small_shapes_match_reference(void)
{
    clenc_config c;
    config_for(&c, 32);
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, NULL);
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, "5x3");
    gemm_cases(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, NULL);
    gemm_cases(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, "32");
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, NULL);
    config_for(&c, 24);
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, NULL);
    gemm_cases(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, NULL);
}

/* ------------------------------------------------------------- attention */

static void attention_case(const clenc_config *c, clenc_variant v)
{
    /* 130 keys: two softmax blocks in the cpu family (128 a block), nine in
     * the gpu family, and a third work-group of 64 queries mostly past the
     * end. */
    static const int32_t lengths[] = {7, 1, 20, 130};
    const size_t batch = 4, h = c->hidden;
    int32_t offsets[5] = {0};
    for (size_t b = 0; b < batch; b++)
        offsets[b + 1] = offsets[b] + lengths[b];
    const size_t t = (size_t)offsets[batch];
    rig r;
    rig_open(&r, c, v, CLENC_GEMM_OWN);
    uint64_t rng = 99;
    double *qkv = random_doubles(&rng, t * 3 * h, -1, 1);
    for (size_t i = 0; i < t; i++)
        for (size_t j = 0; j < 2 * h; j++)
            qkv[i * 3 * h + j] *= 4.0; /* peaky softmax rows; exact in float */
    double *ref = malloc(sizeof *ref * t * h);
    double *scale = malloc(sizeof *scale * t * h);
    CU_ASSERT_FATAL(ref && scale);
    ref_attention(qkv, offsets, batch, h, c->heads, ref);
    for (size_t i = 0; i < t * h; i++)
        scale[i] = 1.0; /* outputs are averages of values in ±1 */
    cl_mem dq = put(&r, qkv, t * 3 * h), doff = put_ints(&r, offsets, 5);
    cl_mem dout = put(&r, ref, t * h); /* overwritten */
    ASSERT_STATUS(clenc__op_attention(r.s, dq, doff, (unsigned)batch,
                                      (unsigned)t, 130, 0, dout),
                  CLENC_OK);
    double *got = get(&r, dout, t * h);
    char what[64];
    snprintf(what, sizeof what, "attention hidden=%zu heads=%u %s", h,
             c->heads, family(&r));
    check_close(what, got, ref, scale, t * h, 1.0);
    clenc__buffer_release(r.ctx, dq);
    clenc__buffer_release(r.ctx, doff);
    clenc__buffer_release(r.ctx, dout);
    free(got);
    free(scale);
    free(ref);
    free(qkv);
    rig_close(&r);
}

void test_impl_attention_small_shapes_match_reference(void)
{
    clenc_config c;
    for (unsigned hidden = 32; hidden >= 24; hidden -= 8) {
        config_for(&c, hidden);
        attention_case(&c, CLENC_VARIANT_CPU);
        attention_case(&c, CLENC_VARIANT_GPU);
    }
}

/* ------------------------------------------------------------ row kernels */

static void layernorm_cases(rig *r)
{
    static const unsigned rows[] = {1, 7, 65};
    const unsigned h = r->tm.config.hidden;
    const clenc_layer_weights *l = &r->tm.layers[0];
    const clenc__layer *dl = &r->model->layers[0];
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const size_t n = (size_t)rows[i] * h;
        uint64_t rng = rows[i];
        double *x = random_doubles(&rng, n, 99, 101); /* far from zero */
        double *ref = malloc(sizeof *ref * n);
        CU_ASSERT_FATAL(ref != NULL);
        ref_layernorm(x, l->norm1_weight, l->norm1_bias, rows[i], h,
                      r->tm.config.eps, ref);
        cl_mem dx = put(r, x, n), dy = put(r, x, n);
        ASSERT_STATUS(clenc__op_layernorm(r->s, dx, dy, dl->norm1_weight,
                                          dl->norm1_bias, rows[i]),
                      CLENC_OK);
        ASSERT_STATUS(clenc__op_layernorm(r->s, dx, dx, dl->norm1_weight,
                                          dl->norm1_bias, rows[i]),
                      CLENC_OK);
        double *out = get(r, dy, n), *in_place = get(r, dx, n);
        char what[64];
        snprintf(what, sizeof what, "layernorm hidden=%u rows=%u %s", h,
                 rows[i], family(r));
        check_close(what, out, ref, NULL, n, 1.0);
        CU_ASSERT(memcmp(out, in_place, n * sizeof *out) == 0);
        clenc__buffer_release(r->ctx, dx);
        clenc__buffer_release(r->ctx, dy);
        free(x);
        free(ref);
        free(out);
        free(in_place);
    }
}

static void embed_case(const clenc_config *c, clenc_variant v)
{
    enum { T = 40 };
    rig r;
    rig_open(&r, c, v, CLENC_GEMM_OWN);
    const size_t h = c->hidden;
    int32_t ids[T], types[T], pos[T];
    for (size_t i = 0; i < T; i++) {
        ids[i] = (int32_t)((i * 7 + 3) % c->vocab_size);
        types[i] = c->type_vocab_size ? (int32_t)(i % c->type_vocab_size) : 0;
        pos[i] = (int32_t)(i < 10 ? i : c->max_positions - 1 - i); /* ends */
    }
    double *ref = malloc(sizeof *ref * T * h);
    CU_ASSERT_FATAL(ref != NULL);
    ref_embed(c, &r.tm.weights, ids, types, pos, T, ref);
    cl_mem di = put_ints(&r, ids, T), dt = put_ints(&r, types, T);
    cl_mem dp = put_ints(&r, pos, T), dout = put(&r, ref, T * h);
    ASSERT_STATUS(clenc__op_embed(r.s, di, dt, dp, T, dout), CLENC_OK);
    double *got = get(&r, dout, T * h);
    char what[96];
    snprintf(what, sizeof what, "embed hidden=%zu positions=%d norm=%d %s", h,
             (int)c->positions, c->embedding_norm, family(&r));
    check_close(what, got, ref, NULL, T * h, 1.0);
    clenc__buffer_release(r.ctx, di);
    clenc__buffer_release(r.ctx, dt);
    clenc__buffer_release(r.ctx, dp);
    clenc__buffer_release(r.ctx, dout);
    free(got);
    free(ref);
    rig_close(&r);
}

static void pool_cases(rig *r)
{
    static const int32_t offsets[4] = {0, 7, 8, 40};
    const size_t batch = 3, t = 40, h = r->tm.config.hidden;
    uint64_t rng = 3;
    double *x = random_doubles(&rng, t * h, -3, 3);
    double *ref = malloc(sizeof *ref * batch * h);
    CU_ASSERT_FATAL(ref != NULL);
    cl_mem dx = put(r, x, t * h), doff = put_ints(r, offsets, 4);
    for (int mode = 0; mode <= 1; mode++) {
        ref_pool(x, offsets, batch, h, mode, ref);
        cl_mem dout = put(r, ref, batch * h);
        ASSERT_STATUS(clenc__op_pool(r->s, dx, doff, (unsigned)batch,
                                     (unsigned)t, mode, dout),
                      CLENC_OK);
        double *got = get(r, dout, batch * h);
        check_close(mode ? "mean pool" : "cls pool", got, ref, NULL, batch * h,
                    1e-1);
        free(got);
        ref_l2norm(ref, batch, h);
        ASSERT_STATUS(clenc__op_l2norm(r->s, dout, (unsigned)batch), CLENC_OK);
        got = get(r, dout, batch * h);
        check_close("l2norm", got, ref, NULL, batch * h, 1e-2);
        free(got);
        clenc__buffer_release(r->ctx, dout);
    }
    clenc__buffer_release(r->ctx, dx);
    clenc__buffer_release(r->ctx, doff);
    free(ref);
    free(x);
}

void test_impl_row_kernels_small_shapes_match_reference(void)
{
    for (unsigned hidden = 32; hidden >= 24; hidden -= 8)
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
            clenc_config bert, vanilla, bare;
            config_for(&bert, hidden);
            rig r;
            rig_open(&r, &bert, (clenc_variant)v, CLENC_GEMM_OWN);
            layernorm_cases(&r);
            pool_cases(&r);
            rig_close(&r);
            vanilla = bert;
            vanilla.positions = CLENC_POS_SINUSOIDAL;
            vanilla.scale_embedding = 1;
            vanilla.embedding_norm = 0;
            vanilla.type_vocab_size = 0;
            bare = bert;
            bare.positions = CLENC_POS_NONE;
            bare.type_vocab_size = 0;
            embed_case(&bert, (clenc_variant)v);
            embed_case(&vanilla, (clenc_variant)v);
            embed_case(&bare, (clenc_variant)v);
        }
}

/* ------------------------------------------------- every kernel launched */

static const struct {
    clenc_variant variant;
    clenc_gemm gemm;
    const char *name;
} paths[] = {{CLENC_VARIANT_CPU, CLENC_GEMM_OWN, "cpu/own"},
             {CLENC_VARIANT_GPU, CLENC_GEMM_OWN, "gpu/own"},
             {CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, "cpu/clblast"},
             {CLENC_VARIANT_GPU, CLENC_GEMM_CLBLAST, "gpu/clblast"}};
#define PATHS (sizeof paths / sizeof paths[0])

/* Launches of one path, from the sessions' records: per kernel of the
 * table (the own kernels), and CLBlast's GEMMs apart. */
typedef struct tally {
    unsigned kernel[CLENC__KERNEL_COUNT];
    unsigned clblast;
    int failed; /* CLBlast failed on this device */
} tally;

static void tally_add(tally *t, const clenc_session *s, clenc_variant v)
{
    for (size_t i = 0; i < s->launch_count; i++) {
        const clenc__launch *l = &s->launches[i];
        if (l->clblast) {
            t->clblast++;
            continue;
        }
        t->kernel[l->kernel]++;
        CU_ASSERT_EQUAL(l->gpu, v == CLENC_VARIANT_GPU);
    }
}

/* Two small encodes of one path: every token's state against the
 * reference, then mean pooling normalised, so that every kernel the path
 * has is launched (CLS pooling is the same kernel in another mode). */
static void encode_path(size_t p, const test_model *tm, const double *ref,
                        tally *t)
{
    static const int32_t lengths[] = {7, 1, 20};
    enum { BATCH = 3, SEQ = 20 };
    const size_t h = tm->config.hidden;
    int32_t ids[BATCH * SEQ], types[BATCH * SEQ];
    for (size_t i = 0; i < BATCH * SEQ; i++) {
        ids[i] = (int32_t)((i * 31 + 7) % tm->config.vocab_size);
        types[i] = (int32_t)((i / 3) % 2);
    }
    float *got = malloc(BATCH * SEQ * h * sizeof *got);
    CU_ASSERT_FATAL(got != NULL);
    clenc_context *ctx = test_context_for(paths[p].variant, paths[p].gemm);
    clenc_model *model = test_model_upload(ctx, tm);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, BATCH, SEQ, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    const clenc_pooling poolings[] = {CLENC_POOL_NONE,
                                      CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE};
    for (size_t i = 0; i < 2; i++) {
        clenc_status st = clenc_encode(s, ids, types, lengths, BATCH, SEQ,
                                       poolings[i], got);
        if (paths[p].gemm == CLENC_GEMM_CLBLAST && clblast_failed(st)) {
            printf("\n    %s: not checked", paths[p].name);
            t->failed = 1;
            break;
        }
        ASSERT_STATUS(st, CLENC_OK);
        tally_add(t, s, paths[p].variant);
        if (i > 0)
            continue;
        double worst = 0;
        for (size_t b = 0, row = 0; b < BATCH; b++)
            for (size_t q = 0; q < (size_t)lengths[b]; q++, row++)
                for (size_t c = 0; c < h; c++)
                    worst = fmax(worst, fabs(got[(b * SEQ + q) * h + c] -
                                             ref[row * h + c]));
        printf("\n    %-12s every token against the reference: max abs "
               "diff %.3g",
               paths[p].name, worst);
        CU_ASSERT(worst <= 1e-4);
    }
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    free(got);
}

/* Each kernel of the runtime's table ran, on this implementation, in the
 * launch records of real encodes: both families, both GEMMs. The
 * epilogue kernel runs only behind CLBlast; where CLBlast fails, that is
 * said and the other kernels are still checked. */
void test_every_kernel_of_the_table_ran(void)
{
    clenc_config c;
    config_for(&c, 32);
    test_model tm;
    test_model_random(&tm, &c, 7);
    static const int32_t lengths[] = {7, 1, 20};
    int32_t ids[3 * 20], types[3 * 20];
    for (size_t i = 0; i < 3 * 20; i++) {
        ids[i] = (int32_t)((i * 31 + 7) % c.vocab_size);
        types[i] = (int32_t)((i / 3) % 2);
    }
    double *ref = malloc(sizeof *ref * 28 * c.hidden);
    CU_ASSERT_FATAL(ref != NULL);
    ref_encoder(&c, &tm.weights, ids, types, lengths, 3, 20, ref);

    const char *binaries_why, *profiling_why;
    const int binaries = test_device_has_program_binaries(&binaries_why);
    const int profiling = test_device_has_profiling_times(&profiling_why);
    printf("\n    program binaries: %s%s%s; profiling times: %s%s%s",
           binaries ? "yes" : "no (", binaries_why, binaries ? "" : ")",
           profiling ? "yes" : "no (", profiling_why, profiling ? "" : ")");

    tally t[PATHS];
    memset(t, 0, sizeof t);
    for (size_t p = 0; p < PATHS; p++)
        encode_path(p, &tm, ref, &t[p]);

    printf("\n    %-11s %-33s", "kernel", "file: function");
    for (size_t p = 0; p < PATHS; p++)
        printf(" %11s", paths[p].name);
    const int clblast_ran = !t[2].failed || !t[3].failed;
    for (int k = 0; k < CLENC__KERNEL_COUNT; k++) {
        char where[64];
        snprintf(where, sizeof where, "%s.cl: %s", clenc__kernels[k].file,
                 clenc__kernels[k].function);
        printf("\n    %-11s %-33s", clenc__kernels[k].name, where);
        unsigned total = 0;
        for (size_t p = 0; p < PATHS; p++) {
            printf(" %11u", t[p].kernel[k]);
            total += t[p].kernel[k];
        }
        if (k == CLENC__K_EPILOGUE && !clblast_ran) {
            printf("  not checked: only CLBlast's GEMM uses it");
            continue;
        }
        if (total == 0)
            fprintf(stderr, "\n    kernel %s (%s) never ran\n",
                    clenc__kernels[k].name, where);
        CU_ASSERT(total > 0);
    }
    printf("\n    %-11s %-33s", "(CLBlast)", "sgemm");
    for (size_t p = 0; p < PATHS; p++)
        printf(" %11u", t[p].clblast);
    /* The own GEMM kernel ran in the own paths only, CLBlast in its own. */
    for (size_t p = 0; p < PATHS; p++) {
        const int own = paths[p].gemm == CLENC_GEMM_OWN;
        CU_ASSERT(own ? t[p].kernel[CLENC__K_GEMM] > 0 && t[p].clblast == 0
                      : t[p].kernel[CLENC__K_GEMM] == 0);
        CU_ASSERT(own ? t[p].kernel[CLENC__K_EPILOGUE] == 0 : 1);
    }
    free(ref);
    test_model_free(&tm);
}
