/* embed.c — the embedding op: word, position and type rows summed (and normalised) for every packed token (embed.cl). */
#include "ops/ops.h"

clenc_status clenc__op_embed(clenc__launcher *L, const clenc__embed_tables *t,
                             cl_mem ids, cl_mem type_ids, cl_mem positions,
                             unsigned tokens, cl_mem out)
{
    clenc_status st = clenc__kernel_args(
        L->kernels[CLENC__K_EMBED], "mmmmmmmmmi", ids, type_ids, positions,
        t->word, t->position, t->type, t->norm_weight, t->norm_bias, out,
        (int)tokens);
    /* Reads a word row, a position row (or computes one), a type row;
     * writes the result: about 4 rows of traffic and 8 flops an element. */
    const double h = L->spec.hidden;
    return st != CLENC_OK ? st
                          : clenc__launch_rows(L, CLENC__K_EMBED, tokens,
                                               8 * h, 4 * h * sizeof(float));
}
