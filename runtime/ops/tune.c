/* tune.c — per-device choice of the GEMM and its tile sizes: a short measured search on first use, persisted beside the programs. */
#define _GNU_SOURCE /* secure_getenv */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"

/* Candidates for the cpu family (rows x panels), the default first. */
static const unsigned cpu_fast[][2] = {{4, 4}, {6, 2}, {4, 3}, {8, 2}};
static const unsigned cpu_thorough[][2] = {{4, 4}, {6, 2}, {4, 3}, {8, 2},
                                           {3, 4}, {6, 3}, {8, 1}, {2, 8}};
static const unsigned gpu_tiles[] = {64, 32};
#define RUNS 3
/* A candidate replaces the default only when clearly faster: measurements
 * here drift by a few percent, and a tie must keep the default. */
#define MARGIN 0.97

/* What is tuned: a context's device, a family and GEMM, and (for tiles)
 * the model's hidden and FFN sizes, which give the GEMMs' shapes. */
typedef struct target {
    clenc_context *ctx;
    clenc__spec *spec;
    unsigned hidden, ffn;
} target;

/* CLENC_GEMM_TILE=TMxTNP (cpu family) or TS (gpu family). */
static int tile_from_env(clenc_variant v, clenc__tunables *t)
{
    const char *e = secure_getenv("CLENC_GEMM_TILE");
    unsigned a, b;
    char extra;
    if (!e || !*e)
        return 0;
    if (v == CLENC_VARIANT_GPU && sscanf(e, "%u%c", &a, &extra) == 1 &&
        (a == 32 || a == 64)) {
        t->gemm_ts = a;
        return 1;
    }
    if (sscanf(e, "%ux%u%c", &a, &b, &extra) == 2 && a >= 1 && a <= 16 &&
        b >= 1 && b <= 8) {
        t->gemm_tm = a;
        t->gemm_tnp = b;
        return 1;
    }
    return -1;
}

static char *state_path(const target *t, const char *what, int shape)
{
    const clenc_context *ctx = t->ctx;
    uint64_t h = clenc__fnv1a_str(CLENC__FNV_SEED, ctx->device.info.name);
    h = clenc__fnv1a_str(h, ctx->device.info.driver_version);
    h = clenc__fnv1a_str(h, clenc_version());
    unsigned key[4] = {(unsigned)t->spec->family, (unsigned)t->spec->gemm,
                       shape ? t->hidden : 0, shape ? t->ffn : 0};
    h = clenc__fnv1a(h, key, sizeof key);
    return clenc__asprintf("%s/%s-%016" PRIx64 ".txt", ctx->cache_dir, what, h);
}

static int state_read(char *path, unsigned v[3])
{
    unsigned char *text;
    size_t size;
    int ok = 0;
    if (path && clenc__file_read_owned(path, "tuning file",
                                       CLENC__CACHE_MAX_NOTE, &text,
                                       &size) == CLENC_OK) {
        char buf[64];
        snprintf(buf, sizeof buf, "%.*s", (int)(size < 63 ? size : 63),
                 (const char *)text);
        ok = sscanf(buf, "%u %u %u", &v[0], &v[1], &v[2]) == 3;
        clenc__free(text);
    }
    return ok;
}

static void state_write(const target *t, const char *path,
                        const unsigned v[3])
{
    char line[64];
    int n = snprintf(line, sizeof line, "%u %u %u\n", v[0], v[1], v[2]);
    if (path && clenc__cache_folder_ready(t->ctx) == CLENC_OK)
        (void)clenc__file_write_atomic(path, line, (size_t)n);
}

/* The model's four GEMM shapes (n, k), uploaded with synthetic weights. */
typedef struct shapes {
    clenc__matrix mat[4];
    cl_mem a, c;
} shapes;

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
        st = clenc__matrix_upload(L->ctx, L->spec.gemm, w, NULL, nk[i][0],
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

typedef struct candidate {
    clenc_gemm gemm;
    clenc__tunables tune;
    clenc__launcher launcher;
    shapes sh;
    double times[RUNS];
    int open;
} candidate;

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* Times the candidates round-robin (so that drift hits all alike) and
 * returns the index of the fastest by median; 0 (the default) unless
 * another beats it by the margin. */
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
    TRY(clenc__launcher_open(&c->launcher, t->ctx, &s, programs), out);
    TRY(shapes_open(t, &c->launcher, m_max, &c->sh), out);
out:
    return st;
}

/* Times the candidates round-robin (so that drift hits all alike) and
 * returns the index of the fastest by median; 0 (the default) unless
 * another beats it by the margin. */
static clenc_status measure(const target *t, candidate *c, size_t n,
                            const unsigned *ms, size_t nm, size_t *best)
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
    for (size_t i = 0; i < n; i++)
        if (c[i].open) {
            shapes_close(t->ctx, &c[i].sh);
            clenc__launcher_close(&c[i].launcher);
        }
    return st;
}

/* Own kernel or CLBlast, at this model's shapes: once per device. */
static clenc_status choose_gemm(const target *t, const unsigned *ms, size_t nm)
{
    t->spec->gemm = CLENC_GEMM_AUTO;
    char *path = state_path(t, "gemm", 0);
    unsigned v[3];
    if (state_read(path, v) && (v[0] == CLENC_GEMM_OWN || v[0] == CLENC_GEMM_CLBLAST)) {
        t->spec->gemm = (clenc_gemm)v[0];
        clenc__free(path);
        return CLENC_OK;
    }
    const clenc__tunables dflt = CLENC__TUNABLES_DEFAULT;
    candidate c[2];
    memset(c, 0, sizeof c);
    c[0].gemm = CLENC_GEMM_OWN;
    c[0].tune = dflt;
    c[1].gemm = CLENC_GEMM_CLBLAST;
    c[1].tune = dflt;
    size_t best = 0;
    /* A library that fails on this device is no candidate: the own kernel
     * then runs, and fails loudly itself if it must. */
    clenc_status st = measure(t, c, 2, ms, nm, &best);
    t->spec->gemm = st == CLENC_OK ? c[best].gemm : CLENC_GEMM_OWN;
    v[0] = (unsigned)t->spec->gemm;
    v[1] = v[2] = 0;
    if (st == CLENC_OK)
        state_write(t, path, v);
    clenc__free(path);
    return CLENC_OK;
}

static clenc_status bad_tile(void)
{
    return clenc__fail(CLENC_ERR_INVALID_ARG,
                       "CLENC_GEMM_TILE='%s': expected TMxTNP (e.g. 4x4, TM "
                       "1..16, TNP 1..8) or, for the gpu family, 32 or 64",
                       secure_getenv("CLENC_GEMM_TILE"));
}

clenc_status clenc__tune_fixed(clenc__spec *s)
{
    const clenc__tunables dflt = CLENC__TUNABLES_DEFAULT;
    s->tile = dflt;
    if (s->gemm == CLENC_GEMM_AUTO)
        s->gemm = CLENC_GEMM_OWN;
    return tile_from_env(s->family, &s->tile) < 0 ? bad_tile() : CLENC_OK;
}

clenc_status clenc__tune(clenc_context *ctx, unsigned hidden, unsigned ffn,
                         clenc__spec *spec)
{
    const clenc__tunables dflt = CLENC__TUNABLES_DEFAULT;
    const clenc_tune mode = ctx->tune;
    const target t = {ctx, spec, hidden, ffn};
    spec->tile = dflt;
    spec->gemm = ctx->gemm;
    const int env = tile_from_env(spec->family, &spec->tile);
    if (env < 0)
        return bad_tile();
    static const unsigned fast_m[] = {256};
    static const unsigned thorough_m[] = {32, 512};
    const unsigned *ms = mode == CLENC_TUNE_THOROUGH ? thorough_m : fast_m;
    const size_t nm = mode == CLENC_TUNE_THOROUGH ? 2 : 1;
    clenc_status st = CLENC_OK;
    if (spec->gemm == CLENC_GEMM_AUTO) {
        /* Without measurement (tuning off, or no cache to keep the answer
         * in) the own kernel: CLBlast's first call compiles for seconds. */
        if (mode == CLENC_TUNE_OFF || !ctx->cache_dir)
            spec->gemm = CLENC_GEMM_OWN;
        else if ((st = choose_gemm(&t, ms, nm)) != CLENC_OK)
            return st;
    }
    if (env || mode == CLENC_TUNE_OFF || spec->gemm != CLENC_GEMM_OWN ||
        !ctx->cache_dir)
        return CLENC_OK;
    char *path = state_path(&t, "tile", 1);
    unsigned v[3];
    if (state_read(path, v) && v[0] >= 1 && v[0] <= 16 && v[1] >= 1 &&
        v[1] <= 8 && (v[2] == 32 || v[2] == 64)) {
        spec->tile.gemm_tm = v[0];
        spec->tile.gemm_tnp = v[1];
        spec->tile.gemm_ts = v[2];
        clenc__free(path);
        return CLENC_OK;
    }
    candidate c[8];
    size_t n = 0;
    memset(c, 0, sizeof c);
    if (spec->family == CLENC_VARIANT_GPU) {
        for (size_t i = 0; i < sizeof gpu_tiles / sizeof gpu_tiles[0]; i++) {
            c[n].tune = dflt;
            c[n++].tune.gemm_ts = gpu_tiles[i];
        }
    } else {
        const unsigned(*list)[2] = mode == CLENC_TUNE_THOROUGH ? cpu_thorough
                                                               : cpu_fast;
        const size_t count = mode == CLENC_TUNE_THOROUGH
                                 ? sizeof cpu_thorough / sizeof cpu_thorough[0]
                                 : sizeof cpu_fast / sizeof cpu_fast[0];
        for (size_t i = 0; i < count; i++) {
            c[n].tune = dflt;
            c[n].tune.gemm_tm = list[i][0];
            c[n++].tune.gemm_tnp = list[i][1];
        }
    }
    for (size_t i = 0; i < n; i++)
        c[i].gemm = CLENC_GEMM_OWN;
    size_t best = 0;
    st = measure(&t, c, n, ms, nm, &best);
    if (st == CLENC_OK) {
        spec->tile = c[best].tune;
        v[0] = spec->tile.gemm_tm;
        v[1] = spec->tile.gemm_tnp;
        v[2] = spec->tile.gemm_ts;
        state_write(&t, path, v);
    }
    clenc__free(path);
    return st;
}
