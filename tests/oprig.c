/* oprig.c — the op rig: one session on a random model, device buffers from doubles, and each encoder op checked against tests/ref.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "oprig.h"
#include "ref.h"

void oprig_tiny_config(clenc_config *c)
{
    clenc_config_init_bert(c);
    c->vocab_size = 50;
    c->hidden = 32;
    c->heads = 4;
    c->layers = 1;
    c->ffn = 37; /* a multiple of no tile */
    c->max_positions = 320;
}

void oprig_minilm_config(clenc_config *c)
{
    oprig_tiny_config(c);
    c->hidden = 384;
    c->heads = 12;
    c->ffn = 1536;
}

void oprig_open(oprig *r, const clenc_config *c, clenc_variant variant,
                clenc_gemm gemm)
{
    memset(r, 0, sizeof *r);
    r->variant = variant;
    r->ctx = test_context_for(variant, gemm);
    test_model_random(&r->tm, c, 42);
    r->model = test_model_upload(r->ctx, &r->tm);
    ASSERT_STATUS(clenc_session_create(r->model, 8, c->max_positions, &r->s),
                  CLENC_OK);
    CU_ASSERT_FATAL(r->s != NULL);
}

void oprig_close(oprig *r)
{
    clenc_session_destroy(r->s);
    clenc_model_destroy(r->model);
    clenc_context_destroy(r->ctx);
    test_model_free(&r->tm);
}

const char *oprig_family(const oprig *r)
{
    return r->variant == CLENC_VARIANT_GPU ? "gpu" : "cpu";
}

/* ----------------------------------------------------------- buffers */

cl_mem oprig_put(oprig *r, const double *host, size_t count)
{
    float *f = malloc(count * sizeof *f);
    CU_ASSERT_FATAL(f != NULL);
    for (size_t i = 0; i < count; i++)
        f[i] = (float)host[i];
    cl_mem m = NULL;
    ASSERT_STATUS(clenc__buffer_create(r->ctx, count * sizeof *f,
                                       CL_MEM_READ_WRITE, "test", &m),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(r->s->launcher.queue, m, 0, count * sizeof *f, f),
                  CLENC_OK);
    free(f);
    return m;
}

cl_mem oprig_put_ints(oprig *r, const int32_t *host, size_t count)
{
    cl_mem m = NULL;
    ASSERT_STATUS(clenc__buffer_create(r->ctx, count * sizeof *host,
                                       CL_MEM_READ_WRITE, "test", &m),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(r->s->launcher.queue, m, 0, count * sizeof *host,
                                       host),
                  CLENC_OK);
    return m;
}

/* An upload, not clEnqueueFillBuffer: Oclgrind 21.10 takes filled memory
 * for uninitialised and reports every read of it. */
cl_mem oprig_put_nan(oprig *r, size_t count)
{
    float *f = malloc(count * sizeof *f);
    CU_ASSERT_FATAL(f != NULL);
    test_nan_floats(f, count);
    cl_mem m = NULL;
    ASSERT_STATUS(clenc__buffer_create(r->ctx, count * sizeof *f,
                                       CL_MEM_READ_WRITE, "test", &m),
                  CLENC_OK);
    ASSERT_STATUS(clenc__buffer_upload(r->s->launcher.queue, m, 0, count * sizeof *f, f),
                  CLENC_OK);
    free(f);
    return m;
}

double *oprig_get(oprig *r, cl_mem m, size_t count)
{
    float *f = malloc(count * sizeof *f);
    double *d = malloc(count * sizeof *d);
    CU_ASSERT_FATAL(f && d);
    ASSERT_STATUS(clenc__buffer_download(r->s->launcher.queue, m, 0, count * sizeof *f,
                                         f),
                  CLENC_OK);
    for (size_t i = 0; i < count; i++)
        d[i] = f[i];
    free(f);
    return d;
}

double *oprig_random(uint64_t *rng, size_t count, double lo, double hi)
{
    double *p = malloc(count * sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    for (size_t i = 0; i < count; i++)
        p[i] = (float)test_uniform(rng, lo, hi);
    return p;
}

/* ------------------------------------------------------------ checks */

void oprig_check_close(const char *what, const double *got, const double *ref,
                       const double *scale, size_t count, double floor)
{
    double worst = 0;
    size_t at = 0, nans = 0;
    for (size_t i = 0; i < count; i++) {
        double s = scale ? scale[i] : fabs(ref[i]);
        double err = fabs(got[i] - ref[i]) / (s > floor ? s : floor);
        nans += isnan(err) != 0;
        /* The first NaN is worst and stays so. */
        if (isnan(err) ? !isnan(worst) : err > worst) {
            worst = err;
            at = i;
        }
    }
    if (!(worst <= OPRIG_RTOL))
        fprintf(stderr,
                "\n    %s: relative error %.3g at %zu (got %.9g, want %.9g);"
                " %zu of %zu NaN\n",
                what, worst, at, got[at], ref[at], nans, count);
    CU_ASSERT(worst <= OPRIG_RTOL);
}

const clenc__launch *oprig_last_launch(const oprig *r)
{
    CU_ASSERT_FATAL(r->s->launcher.launch_count > 0);
    return &r->s->launcher.launches[r->s->launcher.launch_count - 1];
}

int oprig_clblast_failed(clenc_status st)
{
    if (st != CLENC_ERR_OPENCL || !strstr(clenc_last_error(), "CLBlast"))
        return 0;
    test_skip("CLBlast's GEMM", clenc_last_error());
    return 1;
}

/* -------------------------------------------------------------- GEMM */

typedef struct gemm_case {
    const char *name;
    const float *w, *bias;
    const clenc__matrix *matrix;
    unsigned flags;
    int alias; /* residual is the output buffer */
} gemm_case;

/* Returns 0 if CLBlast failed on this device and may (said so), else 1. */
static int check_gemm(oprig *r, const gemm_case *g, unsigned m,
                      int clblast_may_fail)
{
    uint64_t rng = 7 + m;
    const unsigned n = g->matrix->n, k = g->matrix->k;
    const int clblast = r->model->spec.gemm == CLENC_GEMM_CLBLAST;
    double *a = oprig_random(&rng, (size_t)m * k, -2, 2);
    double *res = oprig_random(&rng, (size_t)m * n, -1, 1);
    double *ref = malloc(sizeof *ref * m * n);
    double *scale = malloc(sizeof *scale * m * n);
    /* fp16 weights: the reference multiplies what the device holds. */
    const int half = r->model->spec.precision == CLENC_PRECISION_FP16;
    float *w = malloc(sizeof *w * n * k);
    CU_ASSERT_FATAL(ref && scale && w);
    if (half)
        ref_round_half(g->w, (size_t)n * k, w);
    else
        memcpy(w, g->w, sizeof *w * n * k);
    ref_gemm(a, w, g->bias, res, g->flags, r->tm.config.activation, m, n, k,
             ref, scale);
    free(w);
    cl_mem da = oprig_put(r, a, (size_t)m * k);
    cl_mem dres = oprig_put(r, res, (size_t)m * n);
    cl_mem dout = g->alias ? dres : oprig_put_nan(r, (size_t)m * n);
    clenc__launches_reset(&r->s->launcher);
    clenc_status st =
        clenc__op_gemm(&r->s->launcher, g->matrix, da, m, dout,
                       (g->flags & CLENC__EPI_RESIDUAL) ? dres : NULL, g->flags);
    const int ran = !(clblast && clblast_may_fail && oprig_clblast_failed(st));
    if (ran) {
        ASSERT_STATUS(st, CLENC_OK);
        double *got = oprig_get(r, dout, (size_t)m * n);
        char what[96];
        snprintf(what, sizeof what, "gemm %s m=%u n=%u k=%u %s/%s%s",
                 g->name, m, n, k, clblast ? "clblast" : "own",
                 oprig_family(r), half ? " fp16" : "");
        oprig_check_close(what, got, ref, scale, (size_t)m * n, 1e-3);
        free(got);
        /* The records say which implementation actually ran, on what. */
        CU_ASSERT_FATAL(r->s->launcher.launch_count >= 1);
        const clenc__launch *gl = &r->s->launcher.launches[0];
        CU_ASSERT_EQUAL(gl->kernel, CLENC__K_GEMM);
        CU_ASSERT_EQUAL(gl->clblast, clblast);
        CU_ASSERT_EQUAL(gl->work.m, m);
        CU_ASSERT_EQUAL(gl->work.n, n);
        CU_ASSERT_EQUAL(gl->work.flops, 2.0 * m * n * k);
        if (!gl->clblast)
            CU_ASSERT_EQUAL(gl->gpu, r->variant == CLENC_VARIANT_GPU);
        /* Behind CLBlast the epilogue is a kernel of its own, except for a
         * residual that is the output itself: CLBlast adds it as beta = 1. */
        const unsigned in_kernel =
            g->flags & ~(g->alias ? CLENC__EPI_RESIDUAL : 0u);
        CU_ASSERT_EQUAL(r->s->launcher.launch_count, clblast && in_kernel ? 2u : 1u);
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

int oprig_check_gemms(oprig *r, const unsigned *ms, size_t m_count,
                      int clblast_may_fail)
{
    /* The model keeps Q, K and V as one matrix; the reference wants it so. */
    const clenc_layer_weights *l = &r->tm.layers[0];
    const size_t h = r->tm.config.hidden;
    float *qkv_w = malloc(3 * h * h * sizeof *qkv_w);
    float *qkv_b = malloc(3 * h * sizeof *qkv_b);
    CU_ASSERT_FATAL(qkv_w && qkv_b);
    memcpy(qkv_w, l->q_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_w + h * h, l->k_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_w + 2 * h * h, l->v_weight, h * h * sizeof *qkv_w);
    memcpy(qkv_b, l->q_bias, h * sizeof *qkv_b);
    memcpy(qkv_b + h, l->k_bias, h * sizeof *qkv_b);
    memcpy(qkv_b + 2 * h, l->v_bias, h * sizeof *qkv_b);
    const clenc__layer *dl = &r->model->layers[0];
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
    for (size_t i = 0; ok && i < m_count; i++)
        for (size_t j = 0; ok && j < sizeof cases / sizeof cases[0]; j++)
            ok = check_gemm(r, &cases[j], ms[i], clblast_may_fail);
    free(qkv_w);
    free(qkv_b);
    return ok;
}

/* --------------------------------------------------------- attention */

static void check_attention(oprig *r, const int32_t *lengths, size_t batch)
{
    const size_t h = r->tm.config.hidden;
    const unsigned heads = r->tm.config.heads;
    int32_t offsets[9] = {0};
    int32_t longest = 0;
    CU_ASSERT_FATAL(batch < sizeof offsets / sizeof offsets[0]);
    for (size_t b = 0; b < batch; b++) {
        offsets[b + 1] = offsets[b] + lengths[b];
        longest = lengths[b] > longest ? lengths[b] : longest;
    }
    const size_t t = (size_t)offsets[batch];
    uint64_t rng = 99;
    double *qkv = oprig_random(&rng, t * 3 * h, -1, 1);
    for (size_t i = 0; i < t; i++)
        for (size_t j = 0; j < 2 * h; j++)
            qkv[i * 3 * h + j] *= 4.0; /* peaky softmax rows; exact in float */
    double *ref = malloc(sizeof *ref * t * h);
    double *scale = malloc(sizeof *scale * t * h);
    CU_ASSERT_FATAL(ref && scale);
    ref_attention(qkv, offsets, batch, h, heads, ref);
    for (size_t i = 0; i < t * h; i++)
        scale[i] = 1.0; /* outputs are averages of values in ±1 */
    cl_mem dq = oprig_put(r, qkv, t * 3 * h);
    cl_mem doff = oprig_put_ints(r, offsets, batch + 1);
    cl_mem dout = oprig_put_nan(r, t * h);
    clenc__launches_reset(&r->s->launcher);
    ASSERT_STATUS(clenc__op_attention(&r->s->launcher, dq, doff, (unsigned)batch,
                                      (unsigned)t, (unsigned)longest, 0, dout),
                  CLENC_OK);
    double *got = oprig_get(r, dout, t * h);
    char what[64];
    snprintf(what, sizeof what, "attention hidden=%zu heads=%u %s", h, heads,
             oprig_family(r));
    oprig_check_close(what, got, ref, scale, t * h, 1.0);
    const clenc__launch *l = oprig_last_launch(r);
    CU_ASSERT_EQUAL(l->kernel, CLENC__K_ATTENTION);
    CU_ASSERT_EQUAL(l->gpu, r->variant == CLENC_VARIANT_GPU);
    CU_ASSERT_EQUAL(l->global[1], batch * heads);
    clenc__buffer_release(r->ctx, dq);
    clenc__buffer_release(r->ctx, doff);
    clenc__buffer_release(r->ctx, dout);
    free(got);
    free(scale);
    free(ref);
    free(qkv);
}

void oprig_check_attention(const clenc_config *c, clenc_variant variant,
                           const int32_t *lengths, size_t batch)
{
    oprig r;
    oprig_open(&r, c, variant, CLENC_GEMM_OWN);
    check_attention(&r, lengths, batch);
    oprig_close(&r);
}

/* ----------------------------------------------------------- row ops */

void oprig_check_layernorm(oprig *r, const unsigned *rows, size_t row_count)
{
    const unsigned h = r->tm.config.hidden;
    const clenc_layer_weights *l = &r->tm.layers[0];
    const clenc__layer *dl = &r->model->layers[0];
    for (size_t i = 0; i < row_count; i++) {
        const size_t n = (size_t)rows[i] * h;
        uint64_t rng = rows[i];
        /* Far from zero, as a residual stream can be. */
        double *x = oprig_random(&rng, n, 99, 101);
        double *ref = malloc(sizeof *ref * n);
        CU_ASSERT_FATAL(ref != NULL);
        ref_layernorm(x, l->norm1_weight, l->norm1_bias, rows[i], h,
                      r->tm.config.eps, ref);
        cl_mem dx = oprig_put(r, x, n), dy = oprig_put_nan(r, n);
        ASSERT_STATUS(clenc__op_layernorm(&r->s->launcher, dx, dy, dl->norm1_weight,
                                          dl->norm1_bias, rows[i]),
                      CLENC_OK);
        ASSERT_STATUS(clenc__op_layernorm(&r->s->launcher, dx, dx, dl->norm1_weight,
                                          dl->norm1_bias, rows[i]),
                      CLENC_OK);
        double *out = oprig_get(r, dy, n), *in_place = oprig_get(r, dx, n);
        char what[64];
        snprintf(what, sizeof what, "layernorm hidden=%u rows=%u %s", h,
                 rows[i], oprig_family(r));
        oprig_check_close(what, out, ref, NULL, n, 1.0);
        CU_ASSERT(memcmp(out, in_place, n * sizeof *out) == 0);
        CU_ASSERT_EQUAL(oprig_last_launch(r)->gpu,
                        r->variant == CLENC_VARIANT_GPU);
        clenc__buffer_release(r->ctx, dx);
        clenc__buffer_release(r->ctx, dy);
        free(x);
        free(ref);
        free(out);
        free(in_place);
    }
}

/* The embedding tables as the device holds them at the model's precision:
 * fp16 tables rounded to half; the rest as they are. owned[] receives the
 * copies (free them). */
static clenc_weights tables_seen(const oprig *r, float *owned[3])
{
    const clenc_config *c = &r->tm.config;
    clenc_weights w = r->tm.weights;
    if (r->model->spec.precision != CLENC_PRECISION_FP16)
        return w;
    const float **tables[3] = {&w.word_embeddings, &w.position_embeddings,
                               &w.type_embeddings};
    const size_t rows[3] = {c->vocab_size, c->max_positions,
                            c->type_vocab_size};
    for (int i = 0; i < 3; i++) {
        if (!*tables[i])
            continue;
        const size_t count = rows[i] * c->hidden;
        owned[i] = malloc(count * sizeof *owned[i]);
        CU_ASSERT_FATAL(owned[i] != NULL);
        ref_round_half(*tables[i], count, owned[i]);
        *tables[i] = owned[i];
    }
    return w;
}

static void check_embed(oprig *r, size_t tokens)
{
    const clenc_config *c = &r->tm.config;
    const size_t h = c->hidden;
    CU_ASSERT_FATAL(tokens <= c->max_positions);
    int32_t *ids = malloc(3 * tokens * sizeof *ids);
    CU_ASSERT_FATAL(ids != NULL);
    int32_t *types = ids + tokens, *pos = ids + 2 * tokens;
    for (size_t i = 0; i < tokens; i++) {
        ids[i] = (int32_t)((i * 7 + 3) % c->vocab_size);
        types[i] = c->type_vocab_size ? (int32_t)(i % c->type_vocab_size) : 0;
        /* Both ends of the position table. */
        pos[i] = (int32_t)(i < 10 ? i : c->max_positions - 1 - i);
    }
    double *ref = malloc(sizeof *ref * tokens * h);
    CU_ASSERT_FATAL(ref != NULL);
    float *owned[3] = {NULL, NULL, NULL};
    const clenc_weights seen = tables_seen(r, owned);
    ref_embed(c, &seen, ids, types, pos, tokens, ref);
    for (int i = 0; i < 3; i++)
        free(owned[i]);
    cl_mem di = oprig_put_ints(r, ids, tokens);
    cl_mem dt = oprig_put_ints(r, types, tokens);
    cl_mem dp = oprig_put_ints(r, pos, tokens);
    cl_mem dout = oprig_put_nan(r, tokens * h);
    ASSERT_STATUS(clenc__op_embed(&r->s->launcher, &r->model->embed, di, dt, dp, (unsigned)tokens, dout),
                  CLENC_OK);
    double *got = oprig_get(r, dout, tokens * h);
    char what[96];
    snprintf(what, sizeof what,
             "embed hidden=%zu positions=%d scale=%d norm=%d types=%u %s %s",
             h, (int)c->positions, c->scale_embedding, c->embedding_norm,
             c->type_vocab_size, oprig_family(r),
             clenc_precision_name(r->model->spec.precision));
    oprig_check_close(what, got, ref, NULL, tokens * h, 1.0);
    CU_ASSERT_EQUAL(oprig_last_launch(r)->kernel, CLENC__K_EMBED);
    clenc__buffer_release(r->ctx, di);
    clenc__buffer_release(r->ctx, dt);
    clenc__buffer_release(r->ctx, dp);
    clenc__buffer_release(r->ctx, dout);
    free(got);
    free(ref);
    free(ids);
}

void oprig_check_embed_kinds(const clenc_config *base, clenc_variant variant,
                             size_t tokens)
{
    clenc_config kinds[3];
    kinds[0] = *base;
    kinds[1] = *base;
    kinds[1].positions = CLENC_POS_SINUSOIDAL;
    kinds[1].scale_embedding = 1;
    kinds[1].embedding_norm = 0;
    kinds[1].type_vocab_size = 0;
    kinds[2] = *base;
    kinds[2].positions = CLENC_POS_NONE;
    kinds[2].type_vocab_size = 0;
    for (size_t i = 0; i < 3; i++) {
        oprig r;
        oprig_open(&r, &kinds[i], variant, CLENC_GEMM_OWN);
        check_embed(&r, tokens);
        oprig_close(&r);
    }
}

void oprig_check_pool(oprig *r, const int32_t *offsets, size_t batch)
{
    const size_t t = (size_t)offsets[batch], h = r->tm.config.hidden;
    uint64_t rng = 3;
    double *x = oprig_random(&rng, t * h, -3, 3);
    double *ref = malloc(sizeof *ref * batch * h);
    CU_ASSERT_FATAL(ref != NULL);
    cl_mem dx = oprig_put(r, x, t * h);
    cl_mem doff = oprig_put_ints(r, offsets, batch + 1);
    for (int mode = 0; mode <= 1; mode++) {
        char what[64];
        ref_pool(x, offsets, batch, h, mode, ref);
        cl_mem dout = oprig_put_nan(r, batch * h);
        ASSERT_STATUS(clenc__op_pool(&r->s->launcher, dx, doff, (unsigned)batch,
                                     (unsigned)t, mode, dout),
                      CLENC_OK);
        double *got = oprig_get(r, dout, batch * h);
        snprintf(what, sizeof what, "%s pool hidden=%zu tokens=%zu %s",
                 mode ? "mean" : "cls", h, t, oprig_family(r));
        oprig_check_close(what, got, ref, NULL, batch * h, 1e-1);
        free(got);
        ref_l2norm(ref, batch, h);
        ASSERT_STATUS(clenc__op_l2norm(&r->s->launcher, dout, (unsigned)batch), CLENC_OK);
        got = oprig_get(r, dout, batch * h);
        snprintf(what, sizeof what, "l2norm of %s pool hidden=%zu %s",
                 mode ? "mean" : "cls", h, oprig_family(r));
        oprig_check_close(what, got, ref, NULL, batch * h, 1e-2);
        CU_ASSERT_EQUAL(oprig_last_launch(r)->kernel, CLENC__K_L2NORM);
        free(got);
        clenc__buffer_release(r->ctx, dout);
    }
    clenc__buffer_release(r->ctx, dx);
    clenc__buffer_release(r->ctx, doff);
    free(ref);
    free(x);
}

/* ---------------------------------------------------------- epilogue */

/* One flag combination: x and the residual random, out from NaN (or x or
 * the residual itself when in place), against ref_epilogue. */
static void check_epilogue_case(oprig *r, unsigned rows, unsigned cols,
                                unsigned flags, int in_place)
{
    const size_t n = (size_t)rows * cols;
    uint64_t rng = 17 + flags * 3 + (unsigned)in_place;
    double *x = oprig_random(&rng, n, -3, 3);
    double *res = oprig_random(&rng, n, -1, 1);
    double *bias = oprig_random(&rng, cols, -1, 1);
    double *ref = malloc(sizeof *ref * n);
    CU_ASSERT_FATAL(ref != NULL);
    ref_epilogue(x, bias, res, flags, r->tm.config.activation, rows, cols,
                 ref);
    cl_mem dx = oprig_put(r, x, n), dres = oprig_put(r, res, n);
    cl_mem dbias = oprig_put(r, bias, cols);
    cl_mem dout = in_place == 1 ? dx : in_place == 2 ? dres
                                                      : oprig_put_nan(r, n);
    clenc__launches_reset(&r->s->launcher);
    ASSERT_STATUS(clenc__op_epilogue(&r->s->launcher, dx, dbias, dres, dout,
                                     rows, cols, flags),
                  CLENC_OK);
    double *got = oprig_get(r, dout, n);
    char what[96];
    snprintf(what, sizeof what, "epilogue %ux%u flags %u %s %s", rows, cols,
             flags, in_place == 1 ? "over x" : in_place == 2 ? "over residual"
                                                            : "out of place",
             oprig_family(r));
    oprig_check_close(what, got, ref, NULL, n, 1.0);
    const clenc__launch *l = oprig_last_launch(r);
    CU_ASSERT_EQUAL(l->kernel, CLENC__K_EPILOGUE);
    CU_ASSERT_EQUAL(l->gpu, r->variant == CLENC_VARIANT_GPU);
    CU_ASSERT_EQUAL(l->work.m, rows);
    CU_ASSERT_EQUAL(l->work.n, cols);
    clenc__buffer_release(r->ctx, dx);
    clenc__buffer_release(r->ctx, dres);
    clenc__buffer_release(r->ctx, dbias);
    if (!in_place)
        clenc__buffer_release(r->ctx, dout);
    free(got);
    free(ref);
    free(bias);
    free(res);
    free(x);
}

void oprig_check_epilogue(oprig *r, unsigned rows, unsigned cols)
{
    for (unsigned flags = 0; flags < 8; flags++)
        for (int in_place = 0; in_place <= 2; in_place++)
            check_epilogue_case(r, rows, cols, flags, in_place);
}
