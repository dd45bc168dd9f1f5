/* tune.c — per-device choice of the GEMM and its tile sizes: a short measured search on first use, persisted beside the programs. */
#define _GNU_SOURCE /* secure_getenv */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/tune.h"

/* The cpu family's tiles, by how many float16 accumulators a work-item
 * can keep in registers: a tile of TM x TNP panels holds TM * TNP of them
 * and TNP more for the panel row. AVX2's 16 ymm registers (a float16 is
 * two) hold 8: 6 x 1 (12 ymm) fits, 4 x 4 spilled and ran at half the
 * rate; AVX-512's 32 zmm hold 32. The default first. */
typedef struct tile {
    unsigned tm, tnp;
} tile;
static const tile narrow_fast[] = {{6, 1}, {4, 1}, {2, 2}};
static const tile narrow_thorough[] = {{6, 1}, {4, 1}, {2, 2}, {5, 1},
                                       {3, 1}, {8, 1}, {3, 2}};
static const tile wide_fast[] = {{4, 4}, {8, 2}, {6, 3}};
static const tile wide_thorough[] = {{4, 4}, {8, 2}, {6, 3}, {6, 4},
                                     {8, 3}, {4, 3}, {12, 2}, {8, 1}};
/* Work-groups (row blocks x panel blocks), searched for the chosen tile:
 * PoCL runs a work-group's work-items in one loop, so larger groups pay
 * its per-group overhead less often, and work-items along panels reuse
 * the same rows of `a` from L1. The default first. */
static const unsigned groups[][2] = {{1, 8}, {1, 1}, {1, 4},
                                     {4, 4}, {8, 1}, {1, 16}};
static const unsigned gpu_tiles[] = {64, 32};
/* A kept choice is measured again on load; this much faster than when it
 * was chosen means the search ran on a busy machine: it runs again. */
#define STALE 1.25

static int wide_vectors(const clenc_context *ctx)
{
    cl_uint width = 0;
    if (clGetDeviceInfo(ctx->device.id, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT,
                        sizeof width, &width, NULL) != CL_SUCCESS)
        width = 0;
    return width >= 16;
}

clenc__tunables clenc__tile_default(const clenc_context *ctx)
{
    const tile *t = wide_vectors(ctx) ? &wide_fast[0] : &narrow_fast[0];
    const clenc__tunables d = {t->tm, t->tnp, gpu_tiles[0],
                               {groups[0][0], groups[0][1]}};
    return d;
}


/* CLENC_GEMM_TILE=TMxTNP or TMxTNP/WG0xWG1 (cpu family), TS (gpu). */
static int tile_from_env(clenc_variant v, clenc__tunables *t)
{
    const char *e = secure_getenv("CLENC_GEMM_TILE");
    unsigned a, b, g0, g1;
    char extra;
    if (!e || !*e)
        return 0;
    if (v == CLENC_VARIANT_GPU && sscanf(e, "%u%c", &a, &extra) == 1 &&
        (a == 32 || a == 64)) {
        t->gemm_ts = a;
        return 1;
    }
    const int n = sscanf(e, "%ux%u%c%ux%u%c", &a, &b, &extra, &g0, &g1,
                         &extra);
    if ((n != 2 && (n != 5 || extra != '/')) || a < 1 || a > 16 || b < 1 ||
        b > 8)
        return -1;
    if (n == 5 && (g0 < 1 || g1 < 1 || g0 * g1 > 256))
        return -1;
    t->gemm_tm = a;
    t->gemm_tnp = b;
    if (n == 5) {
        t->gemm_wg[0] = g0;
        t->gemm_wg[1] = g1;
    }
    return 1;
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

/* A tuning file is one short line, read into buf (empty when there is
 * none, or it is not ours: see clenc__file_read_owned). */
static void state_read(const char *path, char buf[64])
{
    unsigned char *text;
    size_t size;
    buf[0] = 0;
    if (path && clenc__file_read_owned(path, "tuning file",
                                       CLENC__CACHE_MAX_NOTE, &text,
                                       &size) == CLENC_OK) {
        snprintf(buf, 64, "%.*s", (int)(size < 63 ? size : 63),
                 (const char *)text);
        clenc__free(text);
    }
}

static void state_write(const target *t, const char *path, const char *line)
{
    if (path && clenc__cache_folder_ready(t->ctx) == CLENC_OK)
        (void)clenc__file_write_atomic(path, line, strlen(line));
}

/* "TM TNP TS WG0 WG1 RATE": the tiles and the GFLOP/s they reached when
 * chosen (0: not measured, never checked again). Anything else, an older
 * clenc's three numbers among it, reads as no choice: measured again. */
static int tile_parse(const char *line, clenc__tunables *t, double *rate)
{
    unsigned v[5];
    char extra;
    if (sscanf(line, "%u %u %u %u %u %lf %c", &v[0], &v[1], &v[2], &v[3],
               &v[4], rate, &extra) != 6 ||
        v[0] < 1 || v[0] > 16 || v[1] < 1 || v[1] > 8 ||
        (v[2] != 32 && v[2] != 64) || v[3] < 1 || v[4] < 1 ||
        v[3] * v[4] > 256 || !(*rate >= 0 && *rate < 1e9))
        return 0;
    t->gemm_tm = v[0];
    t->gemm_tnp = v[1];
    t->gemm_ts = v[2];
    t->gemm_wg[0] = v[3];
    t->gemm_wg[1] = v[4];
    return 1;
}

/* Own kernel or CLBlast, at this model's shapes: once per device. */
static clenc_status choose_gemm(const target *t, const unsigned *ms, size_t nm)
{
    t->spec->gemm = CLENC_GEMM_AUTO;
    char *path = state_path(t, "gemm", 0);
    char line[64];
    unsigned v[3];
    state_read(path, line);
    if (sscanf(line, "%u %u %u", &v[0], &v[1], &v[2]) == 3 &&
        (v[0] == CLENC_GEMM_OWN || v[0] == CLENC_GEMM_CLBLAST)) {
        t->spec->gemm = (clenc_gemm)v[0];
        clenc__free(path);
        return CLENC_OK;
    }
    const clenc__tunables dflt = clenc__tile_default(t->ctx);
    candidate c[2];
    memset(c, 0, sizeof c);
    c[0].gemm = CLENC_GEMM_OWN;
    c[0].tune = dflt;
    c[1].gemm = CLENC_GEMM_CLBLAST;
    c[1].tune = dflt;
    size_t best = 0;
    double rate;
    /* A library that fails on this device is no candidate: the own kernel
     * then runs, and fails loudly itself if it must. */
    clenc_status st = clenc__tune_measure(t, c, 2, ms, nm, &best, &rate);
    t->spec->gemm = st == CLENC_OK ? c[best].gemm : CLENC_GEMM_OWN;
    snprintf(line, sizeof line, "%u 0 0\n", (unsigned)t->spec->gemm);
    if (st == CLENC_OK)
        state_write(t, path, line);
    clenc__free(path);
    return CLENC_OK;
}

/* The own kernel's candidates: tiles (at the default work-group), or the
 * work-groups of tile `at`; or the gpu family's tiles. */
static size_t candidates(const target *t, clenc_tune mode, int groups_of,
                         const clenc__tunables *at, candidate *c)
{
    const clenc__tunables dflt = clenc__tile_default(t->ctx);
    size_t n = 0;
    if (t->spec->family == CLENC_VARIANT_GPU) {
        for (size_t i = 0; !groups_of && i < 2; i++) {
            c[n].tune = dflt;
            c[n++].tune.gemm_ts = gpu_tiles[i];
        }
    } else if (groups_of) {
        for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
            c[n].tune = *at;
            c[n].tune.gemm_wg[0] = groups[i][0];
            c[n++].tune.gemm_wg[1] = groups[i][1];
        }
    } else {
        const int wide = wide_vectors(t->ctx);
        const int all = mode == CLENC_TUNE_THOROUGH;
        const tile *list = wide ? (all ? wide_thorough : wide_fast)
                                : (all ? narrow_thorough : narrow_fast);
        const size_t count =
            wide ? (all ? sizeof wide_thorough : sizeof wide_fast)
                 : (all ? sizeof narrow_thorough : sizeof narrow_fast);
        for (size_t i = 0; i < count / sizeof *list; i++) {
            c[n].tune = dflt;
            c[n].tune.gemm_tm = list[i].tm;
            c[n++].tune.gemm_tnp = list[i].tnp;
        }
    }
    for (size_t i = 0; i < n; i++)
        c[i].gemm = CLENC_GEMM_OWN;
    return n;
}

/* The tiles, then (cpu family) the work-group for the best of them. */
static clenc_status search_tiles(const target *t, clenc_tune mode,
                                 const unsigned *ms, size_t nm, double *rate)
{
    clenc_status st = CLENC_OK;
    for (int groups_of = 0; groups_of < 2 && st == CLENC_OK; groups_of++) {
        candidate c[8];
        size_t best = 0;
        memset(c, 0, sizeof c);
        const size_t n = candidates(t, mode, groups_of, &t->spec->tile, c);
        if (n == 0)
            break;
        st = clenc__tune_measure(t, c, n, ms, nm, &best, rate);
        if (st == CLENC_OK)
            t->spec->tile = c[best].tune;
    }
    return st;
}

/* A kept choice measured again: `*stale` when it runs clearly faster now
 * than when it was chosen, i.e. the search ran on a busy machine. */
static clenc_status recheck(const target *t, const unsigned *ms, size_t nm,
                            double kept_rate, int *stale)
{
    candidate c[1];
    size_t best;
    double rate;
    *stale = 0;
    if (kept_rate <= 0)
        return CLENC_OK;
    memset(c, 0, sizeof c);
    c[0].gemm = CLENC_GEMM_OWN;
    c[0].tune = t->spec->tile;
    clenc_status st = clenc__tune_measure(t, c, 1, ms, nm, &best, &rate);
    *stale = st == CLENC_OK && rate > kept_rate * STALE;
    return st;
}

static clenc_status bad_tile(void)
{
    return clenc__fail(CLENC_ERR_INVALID_ARG,
                       "CLENC_GEMM_TILE='%s': expected TMxTNP (e.g. 6x1, TM "
                       "1..16, TNP 1..8), optionally /WG0xWG1 (a work-group "
                       "of at most 256, e.g. 6x1/1x8), or, for the gpu "
                       "family, 32 or 64",
                       secure_getenv("CLENC_GEMM_TILE"));
}

clenc_status clenc__tune_fixed(const clenc_context *ctx, clenc__spec *s)
{
    s->tile = clenc__tile_default(ctx);
    if (s->gemm == CLENC_GEMM_AUTO)
        s->gemm = CLENC_GEMM_OWN;
    return tile_from_env(s->family, &s->tile) < 0 ? bad_tile() : CLENC_OK;
}

clenc_status clenc__tune(clenc_context *ctx, unsigned hidden, unsigned ffn,
                         clenc__spec *spec)
{
    const clenc_tune mode = ctx->tune;
    const target t = {ctx, spec, hidden, ffn};
    spec->tile = clenc__tile_default(ctx);
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
    char line[64];
    double rate = 0;
    int stale = 1;
    state_read(path, line);
    if (tile_parse(line, &spec->tile, &rate))
        st = recheck(&t, ms, nm, rate, &stale);
    if (st == CLENC_OK && stale) {
        spec->tile = clenc__tile_default(ctx);
        st = search_tiles(&t, mode, ms, nm, &rate);
        const clenc__tunables *c = &spec->tile;
        snprintf(line, sizeof line, "%u %u %u %u %u %.6g\n", c->gemm_tm,
                 c->gemm_tnp, c->gemm_ts, c->gemm_wg[0], c->gemm_wg[1], rate);
        if (st == CLENC_OK)
            state_write(&t, path, line);
    }
    clenc__free(path);
    return st;
}
