/* test_plan.c — the workspace plan: a real session's buffers placed where the plan says, alive at every step that uses them, never sharing bytes while alive. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "helpers.h"
#include "oprig.h"

/* The workspace's buffers, in the session's order (x .. pooled). */
enum { X, QKV, ATTN, NORM1, FFN, NORM2, POOLED };
#define USES(a, b, c) (1u << (a) | 1u << (b) | 1u << (c))

/* What each op of the forward pass reads and writes, at its step, written
 * out here by hand against runtime/engine/forward.c's step tables (which
 * the session's plan is derived from), then pooling after the last layer
 * (step 7). Embedding and
 * the final norm touch x alone, which lives throughout. */
typedef struct step_use {
    unsigned step, buffers;
} step_use;
static const step_use post_ln_uses[] = {
    {0, USES(X, QKV, X)},      {1, USES(QKV, ATTN, ATTN)},
    {2, USES(ATTN, NORM1, X)},  {3, USES(NORM1, X, X)},
    {4, USES(X, FFN, FFN)},    {5, USES(FFN, NORM2, X)},
    {6, USES(NORM2, X, X)},    {7, USES(X, POOLED, POOLED)},
};
static const step_use pre_ln_uses[] = {
    {0, USES(X, NORM1, NORM1)},  {1, USES(NORM1, QKV, QKV)},
    {2, USES(QKV, ATTN, ATTN)}, {3, USES(ATTN, X, X)},
    {4, USES(X, NORM2, NORM2)}, {5, USES(NORM2, FFN, FFN)},
    {6, USES(FFN, X, X)},      {7, USES(X, POOLED, POOLED)},
};

/* Any plan: aligned, inside the arena, and no two items alive at one step
 * share a byte. */
static void check_plan(const clenc__plan_item *items, size_t n, size_t align,
                       size_t total)
{
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT(items[i].offset % align == 0);
        CU_ASSERT(items[i].offset + items[i].size <= total);
        for (size_t j = 0; j < i; j++) {
            const int live = items[i].first <= items[j].last &&
                             items[j].first <= items[i].last;
            const int overlap =
                items[i].offset < items[j].offset + items[j].size &&
                items[j].offset < items[i].offset + items[i].size;
            if (live && overlap)
                fprintf(stderr, "\n    %s and %s are alive together and "
                                "share bytes\n",
                        items[i].name, items[j].name);
            CU_ASSERT(!(live && overlap));
        }
    }
}

static size_t mem_info(cl_mem m, cl_mem_info what)
{
    size_t v = 0;
    CU_ASSERT_EQUAL(clGetMemObjectInfo(m, what, sizeof v, &v, NULL),
                    CL_SUCCESS);
    return v;
}

/* A real session's plan: its lifetimes cover every op's buffers, its
 * sizes are the configuration's, and each sub-buffer sits where the plan
 * says. */
static void check_session_plan(const clenc_config *c, unsigned batch,
                               unsigned seq)
{
    oprig r;
    oprig_open(&r, c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(r.model, batch, seq, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    const clenc__plan_item *plan = s->plan;
    const size_t t = (size_t)batch * seq, row = c->hidden * sizeof(float);
    static const char *const names[] = {"x",   "qkv",   "attn",  "norm1",
                                        "ffn", "norm2", "pooled"};
    const size_t sizes[] = {t * row, 3 * t * row, t * row, t * row,
                            t * c->ffn * sizeof(float), t * row, batch * row};
    const cl_mem subs[] = {s->x,   s->qkv,   s->attn,  s->norm1,
                           s->ffn, s->norm2, s->pooled};
    CU_ASSERT_EQUAL_FATAL(CLENC__B_COUNT, 7);
    /* The alignment the device asks of a sub-buffer, 128 at least. */
    cl_uint bits = 0;
    CU_ASSERT_EQUAL(clGetDeviceInfo(r.ctx->device.id,
                                    CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof bits,
                                    &bits, NULL),
                    CL_SUCCESS);
    const size_t align = bits / 8 > 128 ? bits / 8 : 128;
    CU_ASSERT_EQUAL(s->plan_align, align);
    CU_ASSERT_EQUAL(mem_info(s->arena, CL_MEM_SIZE), s->workspace_bytes);
    size_t sum = 0;
    for (size_t i = 0; i < 7; i++) {
        CU_ASSERT_STRING_EQUAL(plan[i].name, names[i]);
        CU_ASSERT_EQUAL(plan[i].size, sizes[i]);
        CU_ASSERT_EQUAL(mem_info(subs[i], CL_MEM_OFFSET), plan[i].offset);
        CU_ASSERT_EQUAL(mem_info(subs[i], CL_MEM_SIZE), plan[i].size);
        cl_mem parent = NULL;
        CU_ASSERT_EQUAL(clGetMemObjectInfo(subs[i], CL_MEM_ASSOCIATED_MEMOBJECT,
                                           sizeof parent, &parent, NULL),
                        CL_SUCCESS);
        CU_ASSERT(parent == s->arena);
        sum += plan[i].size;
    }
    check_plan(plan, 7, align, (size_t)s->workspace_bytes);
    const int pre = c->norm == CLENC_NORM_PRE;
    const step_use *uses = pre ? pre_ln_uses : post_ln_uses;
    for (size_t u = 0; u < 8; u++)
        for (size_t i = 0; i < 7; i++)
            if (uses[u].buffers >> i & 1u) {
                const int alive = plan[i].first <= uses[u].step &&
                                  uses[u].step <= plan[i].last;
                if (!alive)
                    fprintf(stderr, "\n    %s-LN: %s is used at step %u but "
                                    "alive only in %u..%u\n",
                            pre ? "pre" : "post", names[i], uses[u].step,
                            plan[i].first, plan[i].last);
                CU_ASSERT(alive);
            }
    /* Sharing pays: qkv and ffn, never alive together, share bytes. */
    CU_ASSERT(s->workspace_bytes < sum);
    printf("\n    %s-LN %u x %u: an arena of %zu bytes for %zu of buffers",
           pre ? "pre" : "post", batch, seq, (size_t)s->workspace_bytes, sum);
    clenc_session_destroy(s);
    oprig_close(&r);
}

void test_plan_never_overlaps_live_buffers(void)
{
    clenc_config c;
    oprig_tiny_config(&c);
    for (int pre = 0; pre <= 1; pre++) {
        c.norm = pre ? CLENC_NORM_PRE : CLENC_NORM_POST;
        check_session_plan(&c, 8, 320);
        check_session_plan(&c, 3, 7); /* rows of 32 floats: below the align */
    }
    /* The planner itself, on random lifetimes and sizes. */
    uint64_t rng = 11;
    for (int round = 0; round < 200; round++) {
        clenc__plan_item items[12];
        const size_t n = 1 + (size_t)test_uniform(&rng, 0, 12);
        for (size_t i = 0; i < n; i++) {
            const unsigned a = (unsigned)test_uniform(&rng, 0, 8);
            const unsigned b = (unsigned)test_uniform(&rng, 0, 8);
            items[i] = (clenc__plan_item){"random",
                                          1 + (size_t)test_uniform(&rng, 0, 5000),
                                          a < b ? a : b, a < b ? b : a, 0};
        }
        check_plan(items, n, 128, clenc__plan(items, n, 128));
    }
}
