/* test_op_epilogue.c — the epilogue op (epilogue.cl, ops/epilogue.c) alone against the C reference: every flag, in place or not, in both families and every activation. */
#include "helpers.h"
#include "oprig.h"

/* Rows x columns that fill no work-group of 64 exactly; every activation,
 * since the epilogue applies the model's. */
void test_epilogue_matches_reference(void)
{
    static const clenc_activation acts[] = {CLENC_ACT_GELU,
                                            CLENC_ACT_GELU_TANH,
                                            CLENC_ACT_RELU};
    clenc_config c;
    oprig_tiny_config(&c);
    for (size_t a = 0; a < 3; a++)
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
            c.activation = acts[a];
            oprig r;
            oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_CLBLAST);
            oprig_check_epilogue(&r, 7, 37);
            oprig_check_epilogue(&r, 65, 384);
            oprig_close(&r);
        }
}
