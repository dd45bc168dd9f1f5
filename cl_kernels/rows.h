/* rows.h — the two kernel families, and sums over a row of HIDDEN floats in each.
 *
 * Included with #include "rows.h": offline compilers take -I cl_kernels;
 * the runtime pastes the file in itself (embedded sources have no folder).
 * Every constant comes from the library's build options (its table in
 * runtime/ops/kernels.h; clenc-compile --list prints them): none has a
 * default here, so a missing one stops the build instead of computing
 * something else.
 *
 * Kernel families (VARIANT_GPU):
 *   0 (cpu): no barriers, no local memory. One work-item owns a whole row.
 *     PoCL runs a work-group's work-items in a loop and must split that loop
 *     at every barrier; a textbook tiled GEMM ran at 3 GFLOP/s here.
 *   1 (gpu): a work-group of ROW_WG work-items shares a row and reduces
 *     through local memory. Every gpu-family kernel is a correctness
 *     baseline, checked on PoCL, Rusticl and Oclgrind: none has been tuned
 *     on a GPU yet.
 */
#ifndef CLENC_ROWS_H
#define CLENC_ROWS_H

#if !defined(VARIANT_GPU) || !defined(HIDDEN) || !defined(ROW_WG)
#error "VARIANT_GPU, HIDDEN and ROW_WG are set by the library: build with the options clenc-compile --list prints"
#endif

#if VARIANT_GPU
/* Sum of v over the work-group; every work-item gets the result. */
inline float group_sum(float v, __local float *scratch)
{
    const int lid = get_local_id(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = ROW_WG / 2; span > 0; span >>= 1) {
        if (lid < span)
            scratch[lid] += scratch[lid + span];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float sum = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch is reused by the next call */
    return sum;
}
#define ROW_FIRST get_local_id(0)
#define ROW_STEP ROW_WG
#define ROW_SUM(v) group_sum((v), scratch)
#else
#define ROW_FIRST 0
#define ROW_STEP 1
#define ROW_SUM(v) (v)
#endif

/* The tree v.lo + v.hi, then halves again, written out lane by lane: the
 * same sums in the same order. Oclgrind 21.10 took the halves' sums for
 * uninitialised values (a false report that --uninitialized turns into a
 * failure); it follows single lanes exactly. */
#if !VARIANT_GPU
inline float sum16(float16 v)
{
    const float a0 = v.s0 + v.s8, a1 = v.s1 + v.s9, a2 = v.s2 + v.sa,
                a3 = v.s3 + v.sb, a4 = v.s4 + v.sc, a5 = v.s5 + v.sd,
                a6 = v.s6 + v.se, a7 = v.s7 + v.sf;
    const float b0 = a0 + a4, b1 = a1 + a5, b2 = a2 + a6, b3 = a3 + a7;
    return (b0 + b2) + (b1 + b3);
}

#endif

#endif
