/* test_op_gemm.c — the GEMM op (gemm.cl, ops/gemm.c) against the C reference: both families, every tile shape, the own kernel and CLBlast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "oprig.h"

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
    oprig_tiny_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, ms, 5);
    oprig_minilm_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, ms + 1, 4);
}

void test_gemm_own_gpu_matches_reference(void)
{
    static const unsigned ms[] = {1, 7, 65, 128, 300};
    clenc_config c;
    oprig_tiny_config(&c);
    gemm_suite(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, ms, 5);
    oprig_minilm_config(&c);
    gemm_suite(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, ms + 2, 2);
}

/* fp16 weights, read as halves into float: against the reference over
 * the same weights rounded to half (ref_round_half), both families, at
 * the fp32 tolerance: the product itself is float. */
void test_gemm_fp16_weights_match_reference(void)
{
    static const unsigned ms[] = {1, 7, 65, 300};
    clenc_config c;
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        oprig_tiny_config(&c);
        c.precision = CLENC_PRECISION_FP16;
        gemm_suite(&c, (clenc_variant)v, CLENC_GEMM_OWN, ms, 4);
        oprig_minilm_config(&c);
        c.precision = CLENC_PRECISION_FP16;
        gemm_suite(&c, (clenc_variant)v, CLENC_GEMM_OWN, ms + 1, 2);
    }
}

/* Every tile shape the tuner may pick computes the same product: the
 * tiles of tune.c's lists (narrow and wide vectors, fast and thorough),
 * odd ones the override allows, and each work-group it searches, with a
 * few that divide nothing. */
void test_gemm_every_tile_shape_matches_reference(void)
{
    static const char *const tiles[] = {
        "6x1",  "4x1",      "2x2",      "5x1",      "3x1",     "8x1",
        "3x2",  "4x4",      "8x2",      "6x3",      "6x4",     "8x3",
        "4x3",  "12x2",     "16x1",     "5x3",      "2x8",     "6x1/1x1",
        "6x1/1x4", "6x1/4x4", "6x1/8x1", "6x1/1x16", "5x3/3x5", "4x4/7x1"};
    static const unsigned ms[] = {1, 65, 300};
    clenc_config c;
    oprig_tiny_config(&c);
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
    oprig_tiny_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, ms, 4);
    oprig_minilm_config(&c);
    gemm_suite(&c, CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, ms + 2, 1);
}
