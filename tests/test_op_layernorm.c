/* test_op_layernorm.c — the LayerNorm op (layernorm.cl, ops/layernorm.c) against the C reference, in and out of place, in both families. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "oprig.h"

void test_layernorm_matches_reference_in_and_out_of_place(void)
{
    static const unsigned rows[] = {1, 7, 65, 300};
    clenc_config c;
    oprig_minilm_config(&c);
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        oprig r;
        oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        oprig_check_layernorm(&r, rows, 4);
        oprig_close(&r);
    }
}
