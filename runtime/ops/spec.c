/* spec.c — the kernel table, and programs specialised for a spec: the -D options every kernel file gets, generated from the contract table. */
#include <stdio.h>
#include <string.h>

#include "ops/kernels.h"

const clenc__file_desc clenc__files[CLENC__FILE_COUNT] = {
#define F(id, name, groups) {name, groups},
    CLENC__FILES(F)
#undef F
};

const clenc__kernel_desc clenc__kernels[CLENC__KERNEL_COUNT] = {
#define K(id, file, function) {#id, CLENC__F_##file, function},
    CLENC__KERNEL_TABLE(K)
#undef K
};

const char *clenc__kernel_file_name(clenc__kernel_id id)
{
    return clenc__files[clenc__kernels[id].file].name;
}

int clenc__kernel_has_families(clenc__kernel_id id)
{
    return (clenc__files[clenc__kernels[id].file].groups & CLENC__G_FAMILY) !=
           0;
}

unsigned clenc__row_wg(unsigned hidden)
{
    unsigned wg = 1;
    while (wg < 64 && hidden && hidden % (2 * wg) == 0)
        wg *= 2;
    return wg;
}

/* Does `extra` set -DNAME (as "-DNAME=..." or "-DNAME")? Then the table's
 * value gives way: one value per name reaches the compiler. */
static int overridden(const char *extra, const char *name)
{
    const size_t n = strlen(name);
    for (const char *p = extra; p && (p = strstr(p, "-D")); p += 2)
        if ((p == extra || p[-1] == ' ') && strncmp(p + 2, name, n) == 0 &&
            (p[2 + n] == '=' || p[2 + n] == ' ' || p[2 + n] == '\0'))
            return 1;
    return 0;
}

clenc_status clenc__defines(const clenc__spec *s, clenc__file_id file,
                            const char *extra, char *buf, size_t cap)
{
    const unsigned groups = clenc__files[file].groups;
    size_t n = 0;
    int w = 0;
    buf[0] = '\0';
    /* %.9e holds a float exactly; the f suffix keeps it single precision
     * in the kernels. */
#define C(name, group, value)                                                  \
    if ((groups & (group)) && !overridden(extra, #name) && w >= 0 &&          \
        n < cap)                                                               \
        n += (size_t)(w = snprintf(buf + n, cap - n, "%s-D" #name "=%lld",      \
                                   n ? " " : "", (long long)(value)));
#define F(name, group, value)                                                  \
    if ((groups & (group)) && !overridden(extra, #name) && w >= 0 &&          \
        n < cap)                                                               \
        n += (size_t)(w = snprintf(buf + n, cap - n, "%s-D" #name "=%.9ef",    \
                                   n ? " " : "", (double)(value)));
    CLENC__CONSTANTS(C, F)
#undef C
#undef F
    if (extra && *extra && w >= 0 && n < cap)
        n += (size_t)(w = snprintf(buf + n, cap - n, "%s%s", n ? " " : "",
                                   extra));
    if (w < 0 || n >= cap)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "the build options of %s.cl are over %zu bytes",
                           clenc__files[file].name, cap);
    return CLENC_OK;
}

clenc_status clenc__programs_get(clenc_context *ctx, const clenc__spec *s,
                                 unsigned files, const char *extra,
                                 cl_program out[CLENC__FILE_COUNT],
                                 unsigned *built_from_source)
{
    clenc_status st = CLENC_OK;
    unsigned built = 0;
    char defines[1024];
    for (int f = 0; f < CLENC__FILE_COUNT && st == CLENC_OK; f++) {
        out[f] = NULL;
        if (!(files & (1u << f)))
            continue;
        int fresh = 0;
        st = clenc__defines(s, (clenc__file_id)f, extra, defines,
                            sizeof defines);
        if (st == CLENC_OK)
            st = clenc__program_get(ctx, clenc__files[f].name, defines,
                                    &out[f], &fresh);
        built += (unsigned)fresh;
    }
    if (built_from_source)
        *built_from_source = built;
    return st;
}

/* all-MiniLM-L6-v2's shape: what clenc_context_build_kernels checks a
 * device's compiler with, when no model says otherwise. */
static clenc__spec reference_spec(const clenc_context *ctx)
{
    const clenc__spec s = {
        .family = ctx->variant,
        .gemm = CLENC_GEMM_OWN,
        .hidden = 384,
        .heads = 12,
        .type_vocab = 2,
        .act = CLENC_ACT_GELU,
        .eps = 1e-12f,
        .positions = CLENC_POS_LEARNED,
        .embed_norm = 1,
    };
    return s;
}

clenc_status clenc_context_build_kernels(clenc_context *ctx,
                                         const char *defines,
                                         unsigned *built_from_source)
{
    if (built_from_source)
        *built_from_source = 0;
    if (!ctx)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_build_kernels: ctx is NULL");
    clenc__spec s = reference_spec(ctx);
    s.tile = clenc__tile_default(ctx);
    cl_program programs[CLENC__FILE_COUNT];
    return clenc__programs_get(ctx, &s, (1u << CLENC__FILE_COUNT) - 1,
                               defines, programs, built_from_source);
}
