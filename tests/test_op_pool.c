/* test_op_pool.c — the pooling ops (pool.cl, ops/pool.c): CLS and mean pooling, then L2 normalisation, against the C reference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "oprig.h"

void test_pool_cls_mean_and_l2norm(void)
{
    /* A one-token sequence among longer ones. */
    static const int32_t offsets[6] = {0, 7, 8, 73, 201, 501};
    clenc_config c;
    oprig_minilm_config(&c);
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
        oprig r;
        oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_OWN);
        oprig_check_pool(&r, offsets, 5);
        oprig_close(&r);
    }
}
