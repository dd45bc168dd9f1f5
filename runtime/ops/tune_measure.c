/* tune_measure.c — the tuner's stopwatch: each candidate GEMM built, run at the model's shapes round-robin, and timed. */
#include <stdlib.h>
#include <string.h>

#include "ops/tune.h"

static clenc_status shapes_open(const target *t, clenc__launcher *L,
                                unsigned m_max, shapes *sh)
{
    clenc_status st = CLENC_OK;
    const unsigned h = t->hidden, f = t->ffn;
    const unsigned nk[4][2] = {{3 * h, h}, {h, h}, {f, h}, {h, f}};
    const unsigned widest = f > 3 * h ? f : 3 * h;
    memset(sh, 0, sizeof *sh);
    float *w = clenc__malloc((size_t)widest * (f > h ? f : h) * sizeof *w);
    if (!w)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    for (size_t i = 0; i < (size_t)widest * (f > h ? f : h); i++)
        w[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (int i = 0; i < 4 && st == CLENC_OK; i++)
        st = clenc__matrix_upload(L->ctx, L->spec.gemm, CLENC_PRECISION_FP32, w, NULL, nk[i][0],
                                  nk[i][1], "tuning", &sh->mat[i], NULL);
    clenc__free(w);
    const size_t wide = (size_t)m_max * widest * sizeof(float);
    if (st == CLENC_OK)
        st = clenc__buffer_create(L->ctx, wide, CL_MEM_READ_WRITE, "tuning",
                                  &sh->a);
    if (st == CLENC_OK)
        st = clenc__buffer_create(L->ctx, wide, CL_MEM_READ_WRITE, "tuning",
                                  &sh->c);
    if (st == CLENC_OK) {
        const float zero = 0;
        CL_CHECK(clEnqueueFillBuffer(L->queue, sh->a, &zero,
                                     sizeof zero, 0, wide, 0, NULL, NULL),
                 out);
    }
out:
    return st;
}

static void shapes_close(clenc_context *ctx, shapes *sh)
{
    for (int i = 0; i < 4; i++)
        clenc__matrix_release(ctx, &sh->mat[i]);
    clenc__buffer_release(ctx, sh->a);
    clenc__buffer_release(ctx, sh->c);
}

/* Milliseconds for the four GEMMs at each m, one pass. */
static clenc_status pass_ms(clenc__launcher *L, shapes *sh,
                            const unsigned *ms, size_t nm, double *out)
{
    clenc_status st = CLENC_OK;
    const uint64_t t0 = clenc__now_ns();
    for (size_t i = 0; i < nm && st == CLENC_OK; i++)
        for (int g = 0; g < 4 && st == CLENC_OK; g++) {
            clenc__launches_reset(L);
            st = clenc__op_gemm(L, &sh->mat[g], sh->a, ms[i], sh->c, NULL,
                                0);
        }
    if (st == CLENC_OK)
        CL_CHECK(clFinish(L->queue), out);
    *out = (clenc__now_ns() - t0) / 1e6;
out:
    return st;
}


static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* A launcher with only the candidate's GEMM: the own kernel, or CLBlast
 * and the epilogue kernel. */
static clenc_status candidate_open(const target *t, candidate *c,
                                   unsigned m_max)
{
    clenc_status st;
    clenc__spec s = *t->spec;
    s.gemm = c->gemm;
    s.tile = c->tune;
    cl_program programs[CLENC__FILE_COUNT];
    const unsigned file = c->gemm == CLENC_GEMM_OWN ? CLENC__F_GEMM
                                                    : CLENC__F_EPILOGUE;
    c->open = 1;
    TRY(clenc__programs_get(t->ctx, &s, 1u << file, NULL, programs, NULL),
        out);
    TRY(clenc__launcher_open(&c->launcher, t->ctx, &s, programs, NULL), out);
    TRY(shapes_open(t, &c->launcher, m_max, &c->sh), out);
out:
    return st;
}

/* GFLOP/s of one pass (pass_ms) that took `ms` milliseconds. */
static double pass_rate(const target *t, const unsigned *ms, size_t nm,
                        double millis)
{
    const double h = t->hidden, f = t->ffn;
    double flop = 0;
    for (size_t i = 0; i < nm; i++)
        flop += 2.0 * ms[i] * (3 * h * h + h * h + 2 * f * h);
    return millis > 0 ? flop / millis / 1e6 : 0;
}

/* Times the candidates round-robin (so that drift hits all alike) and
 * returns the index of the fastest by median, and its GFLOP/s; 0 (the
 * default) unless another beats it by the margin. */
clenc_status clenc__tune_measure(const target *t, candidate *c, size_t n,
                            const unsigned *ms, size_t nm, size_t *best,
                            double *rate)
{
    clenc_status st = CLENC_OK;
    unsigned m_max = 0;
    for (size_t i = 0; i < nm; i++)
        m_max = ms[i] > m_max ? ms[i] : m_max;
    for (size_t i = 0; i < n && st == CLENC_OK; i++) {
        double warm;
        st = candidate_open(t, &c[i], m_max);
        if (st == CLENC_OK)
            st = pass_ms(&c[i].launcher, &c[i].sh, ms, nm, &warm);
    }
    for (int r = 0; r < RUNS && st == CLENC_OK; r++)
        for (size_t i = 0; i < n && st == CLENC_OK; i++)
            st = pass_ms(&c[i].launcher, &c[i].sh, ms, nm, &c[i].times[r]);
    *best = 0;
    double best_ms = 0, default_ms = 0;
    for (size_t i = 0; i < n && st == CLENC_OK; i++) {
        qsort(c[i].times, RUNS, sizeof c[i].times[0], by_value);
        const double ms_i = c[i].times[RUNS / 2];
        if (i == 0)
            default_ms = ms_i;
        if (i == 0 || ms_i < best_ms) {
            *best = i;
            best_ms = ms_i;
        }
    }
    if (best_ms > default_ms * MARGIN)
        *best = 0;
    *rate = st == CLENC_OK ? pass_rate(t, ms, nm, c[*best].times[RUNS / 2])
                           : 0;
    for (size_t i = 0; i < n; i++)
        if (c[i].open) {
            shapes_close(t->ctx, &c[i].sh);
            clenc__launcher_close(&c[i].launcher);
        }
    return st;
}

