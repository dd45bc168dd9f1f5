/* panel.h — the GEMMs' last step, shared by gemm.cl and qgemm.cl: a result (one element, or a row's 16 columns of a panel) through the activation, plus the residual, stored as the workspace holds activations.
 *
 * Included after activation.h and store.h. v arrives with its bias (and,
 * in the int8 GEMM, its dequantisation) applied; flags are the launch's
 * EPI_* bits. `cols` < 16 is a last panel cut by n: only its first cols
 * columns exist in out and residual.
 */
#ifndef CLENC_PANEL_H
#define CLENC_PANEL_H

inline void epilogue_store(float v, const size_t at,
                           __global const act_t *residual,
                           __global act_t *out, const int flags)
{
    if (flags & EPI_ACT)
        v = ACTIVATE(v);
    if (flags & EPI_RESIDUAL)
        v += ACT_LOAD(at, residual);
    ACT_STORE(v, at, out);
}

inline void epilogue_store16(float16 v, const int cols, const size_t at,
                             __global const act_t *residual,
                             __global act_t *out, const int flags)
{
    if (flags & EPI_ACT)
        v = ACTIVATE(v);
    if (cols >= 16) {
        if (flags & EPI_RESIDUAL)
            v += ACT_LOAD16(0, residual + at);
        ACT_STORE16(v, 0, out + at);
        return;
    }
    float vals[16];
    vstore16(v, 0, vals);
    for (int c = 0; c < cols; c++)
        ACT_STORE(vals[c] + ((flags & EPI_RESIDUAL) ? ACT_LOAD(at + c, residual)
                                                    : 0.0f),
                  at + c, out);
}

#endif
