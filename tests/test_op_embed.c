/* test_op_embed.c — the embedding op (embed.cl, ops/embed.c) against the C reference in every position kind, in both families. */
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
    for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++)
        oprig_check_embed_kinds(&c, (clenc_variant)v, 300);
}
