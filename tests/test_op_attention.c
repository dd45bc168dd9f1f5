/* test_op_attention.c — the attention op (attention.cl, ops/attention.c) against the C reference, and its mask, in both families. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "oprig.h"

void test_attention_matches_reference(void)
{
    /* Sequences of one token, of partial and whole blocks, and 300 long. */
    static const int32_t lengths[] = {7, 1, 65, 128, 300};
    clenc_config configs[2];
    oprig_tiny_config(&configs[0]);
    oprig_minilm_config(&configs[1]);
    for (size_t i = 0; i < 2; i++)
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++)
            oprig_check_attention(&configs[i], (clenc_variant)v, lengths, 5);
}

/* The edges of the cpu family's tiles: 16 queries a work-item (17: one
 * past; 127: one short), 6 keys or value columns a register tile (key
 * tails of 1 and 5, a 129th key alone in its softmax block of 128), 8 x 8
 * transposes of the queries (head sizes 20 and 12: value-column tails of 2
 * and none, and columns past the last 8 moved one by one), and 512 keys,
 * four whole blocks. */
void test_attention_tile_edges_match_reference(void)
{
    static const int32_t lengths[] = {17, 127, 129, 512};
    static const unsigned shapes[][2] = {{384, 12}, {40, 2}, {36, 3}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        clenc_config c;
        oprig_tiny_config(&c);
        c.hidden = shapes[i][0];
        c.heads = shapes[i][1];
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++)
            oprig_check_attention(&c, (clenc_variant)v, lengths, 4);
    }
}

/* Changing one sequence's keys and values leaves the others untouched: the
 * mask is each sequence's own span. */
void test_attention_mask_ignores_other_sequences(void)
{
    clenc_config c;
    oprig_tiny_config(&c);
    const int32_t offsets[4] = {0, 5, 17, 20};
    const size_t t = 20, h = c.hidden;
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        oprig r;
        oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        uint64_t rng = 5;
        double *qkv = oprig_random(&rng, t * 3 * h, -2, 2);
        cl_mem doff = oprig_put_ints(&r, offsets, 4);
        cl_mem dq = oprig_put(&r, qkv, t * 3 * h);
        cl_mem dout = oprig_put_nan(&r, t * h);
        ASSERT_STATUS(clenc__op_attention(&r.s->launcher, dq, doff, 3, 20, 12, 0, dout),
                      CLENC_OK);
        double *before = oprig_get(&r, dout, t * h);
        size_t unwritten = 0;
        for (size_t i = 0; i < t * h; i++)
            unwritten += !isfinite(before[i]);
        CU_ASSERT_EQUAL(unwritten, 0);
        for (size_t i = 5 * 3 * h; i < 17 * 3 * h; i++)
            qkv[i] = -qkv[i] * 3; /* sequence 1 only */
        clenc__buffer_release(r.ctx, dq);
        dq = oprig_put(&r, qkv, t * 3 * h);
        ASSERT_STATUS(clenc__op_attention(&r.s->launcher, dq, doff, 3, 20, 12, 0, dout),
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
