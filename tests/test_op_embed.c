/* test_op_embed.c — the embedding op (embed.cl, ops/embed.c) against the C reference in every position kind, in both families, at every precision. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "oprig.h"

void test_embed_every_position_kind(void)
{
    clenc_config c;
    oprig_tiny_config(&c);
    /* fp16 tables hold halves, int8's word table bytes and row scales: the
     * reference reads what the device holds (oprig.c, tables_seen). */
    for (int p = CLENC_PRECISION_FP32; p <= CLENC_PRECISION_FP16; p++)
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
            c.precision = (clenc_precision)p;
            oprig_check_embed_kinds(&c, (clenc_variant)v, 300);
        }
}
