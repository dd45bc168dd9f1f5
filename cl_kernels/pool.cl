/* pool.cl — pooling of packed token rows into one vector per sequence: CLS (first token) or mean over real tokens.
 *
 * x: packed rows [tokens][HIDDEN]; offsets[b] .. offsets[b+1] are sequence
 * b's rows (prefix sums of the lengths, so padding never exists here).
 * out[b][c] = x[offsets[b]][c] (mode 0, CLS: the raw hidden state, not
 * BERT's pooler layer) or the mean of x[t][c] over b's rows (mode 1).
 * Launch: one work-item per output element (global = batch * HIDDEN).
 * Needs no barriers, so both kernel families share it.
 */
#include "common.h"

__kernel void pool(__global const float *x, __global const int *offsets,
                   __global float *out, const int batch, const int mode)
{
    const int i = get_global_id(0);
    if (i >= batch * HIDDEN)
        return;
    const int b = i / HIDDEN, c = i % HIDDEN;
    const int start = offsets[b], end = offsets[b + 1];
    if (mode == 0) {
        out[i] = x[(size_t)start * HIDDEN + c];
        return;
    }
    float s = 0.0f;
    for (int t = start; t < end; t++)
        s += x[(size_t)t * HIDDEN + c];
    out[i] = s / (float)(end - start);
}
