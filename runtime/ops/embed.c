/* embed.c — the embedding op: word, position and type rows summed (and normalised) for every packed token (embed.cl). */
#include "ops/ops.h"

clenc_status clenc__op_embed(clenc__launcher *L, const clenc__embed_tables *t,
                             cl_mem ids, cl_mem type_ids, cl_mem positions,
                             unsigned tokens, cl_mem out)
{
    clenc_status st = clenc__kernel_args(
        L->kernels[CLENC__K_EMBED], "mmmmmmmmmmi", ids, type_ids, positions,
        t->word, t->word_scales, t->position, t->type, t->norm_weight,
        t->norm_bias, out, (int)tokens);
    /* Reads a word row, a position row (or computes one), a type row;
     * writes the result: about 4 rows of traffic and 8 flops an element
     * (the tables' rows at their precision's size). */
    const double h = L->spec.hidden;
    const double table = L->spec.precision == CLENC_PRECISION_FP16   ? 2
                         : L->spec.precision == CLENC_PRECISION_INT8 ? 1
                                                                     : 4;
    return st != CLENC_OK
               ? st
               : clenc__launch_rows(L, CLENC__K_EMBED, tokens, 8 * h,
                                    h * (3 * table + 1 * sizeof(float)));
}

clenc_status clenc__op_pack(clenc__launcher *L, const clenc__pack_args *a)
{
    clenc_status st = clenc__kernel_args(
        L->kernels[CLENC__K_PACK], "mmmmmmmiiiiii", a->ids, a->type_ids,
        a->offsets, a->packed_ids, a->packed_types, a->positions, a->fault,
        (int)a->batch, (int)a->seq, a->type_ids != NULL, (int)a->vocab,
        (int)a->position_offset, (int)a->fault_stride);
    if (st != CLENC_OK)
        return st;
    const size_t local = 64;
    const size_t global = ((size_t)a->batch + local - 1) / local * local;
    /* Reads ids and types, writes three ints a token. */
    const clenc__work work = {a->batch, a->tokens, 0, 0,
                              5.0 * a->tokens * sizeof(int32_t)};
    return clenc__launch_kernel(L, CLENC__K_PACK, 1, &global, &local, &work);
}
