/* test_ops.c — every encoder kernel against the C reference, on awkward shapes, in both kernel families and both GEMMs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "encoder.h"
#include "helpers.h"
#include "oprig.h"

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

/* ------------------------------------------------------------------ GEMM */

static void gemm_suite(const clenc_config *c, clenc_variant v, clenc_gemm gm,
                       const unsigned *ms, size_t nm)
{
    oprig r;
    oprig_open(&r, c, v, gm);
    oprig_check_gemms(&r, ms, nm, 0); /* CLBlast must work here */
    oprig_close(&r);
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

void test_attention_matches_reference(void)
{
    /* Sequences of one token, of partial and whole blocks, and 300 long. */
    static const int32_t lengths[] = {7, 1, 65, 128, 300};
    clenc_config configs[2];
    tiny_config(&configs[0]);
    minilm_config(&configs[1]);
    for (size_t i = 0; i < 2; i++)
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++)
            oprig_check_attention(&configs[i], (clenc_variant)v, lengths, 5);
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
        oprig r;
        oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        uint64_t rng = 5;
        double *qkv = oprig_random(&rng, t * 3 * h, -2, 2);
        cl_mem doff = oprig_put_ints(&r, offsets, 4);
        cl_mem dq = oprig_put(&r, qkv, t * 3 * h);
        cl_mem dout = oprig_put(&r, qkv, t * h);
        ASSERT_STATUS(clenc__op_attention(r.s, dq, doff, 3, 20, 12, 0, dout),
                      CLENC_OK);
        double *before = oprig_get(&r, dout, t * h);
        for (size_t i = 5 * 3 * h; i < 17 * 3 * h; i++)
            qkv[i] = -qkv[i] * 3; /* sequence 1 only */
        clenc__buffer_release(r.ctx, dq);
        dq = oprig_put(&r, qkv, t * 3 * h);
        ASSERT_STATUS(clenc__op_attention(r.s, dq, doff, 3, 20, 12, 0, dout),
                      CLENC_OK);
        double *after = oprig_get(&r, dout, t * h);
        CU_ASSERT(memcmp(before, after, 5 * h * sizeof *before) == 0);
        CU_ASSERT(memcmp(before + 17 * h, after + 17 * h,
                         3 * h * sizeof *before) == 0);
        CU_ASSERT(memcmp(before + 5 * h, after + 5 * h,
                         12 * h * sizeof *before) != 0);
        clenc__buffer_release(r.ctx, dq);
        clenc__buffer_release(r.ctx, doff);
        clenc__buffer_release(r.ctx, dout);
        free(before);
        free(after);
        free(qkv);
        oprig_close(&r);
    }
}

/* ------------------------------------------------- layernorm, pool, l2norm */

void test_layernorm_matches_reference_in_and_out_of_place(void)
{
    static const unsigned rows[] = {1, 7, 65, 300};
    clenc_config c;
    minilm_config(&c);
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        oprig r;
        oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        oprig_check_layernorm(&r, rows, 4);
        oprig_close(&r);
    }
}

void test_embed_every_position_kind(void)
{
    clenc_config c;
    tiny_config(&c);
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++)
        oprig_check_embed_kinds(&c, (clenc_variant)v, 300);
}

void test_pool_cls_mean_and_l2norm(void)
{
    /* A one-token sequence among longer ones. */
    static const int32_t offsets[6] = {0, 7, 8, 73, 201, 501};
    clenc_config c;
    minilm_config(&c);
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        oprig r;
        oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        oprig_check_pool(&r, offsets, 5);
        oprig_close(&r);
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
