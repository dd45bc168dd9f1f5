/* probe.cl — device peak probes: FMA throughput and memory bandwidth, for clenc-bench's share-of-peak figures.
 *
 * probe_fma: each work-item keeps PROBE_CHAINS independent float16 chains of
 *   fma, so that the FMA units' latency is hidden by independent work (a
 *   single chain measures latency, not throughput). FLOPs per launch:
 *   global_size * iters * PROBE_CHAINS * 16 * 2. probe_fma_few: the same
 *   with PROBE_CHAINS_FEW chains, for devices with fewer vector registers
 *   (runtime/ops/kernels.h says which); the peak is the faster. The result is written so
 *   the compiler cannot drop the loop, and runtime/ops/probe.c checks it
 *   (its a = -1, b = 1 keep every chain an exact small integer).
 * probe_copy: out[i] = in[i] over float4; bytes moved: 2 * 16 * global_size.
 *   runtime/ops/probe.c checks every element.
 * No kernel family: the probes measure the device, not a model's kernels.
 * Constants: PROBE_CHAINS (8), PROBE_CHAINS_FEW (5).
 */
#if !defined(PROBE_CHAINS) || !defined(PROBE_CHAINS_FEW)
#error "PROBE_CHAINS and PROBE_CHAINS_FEW are set by the library: build with the options clenc-compile --list prints"
#endif

/* The body of both FMA probes, for `chains` chains: one macro, so that the
 * two kernels cannot drift apart. */
#define FMA_CHAINS(chains)                                                     \
    float16 acc[chains];                                                       \
    const float seed = (float)get_global_id(0);                                \
    for (int c = 0; c < chains; c++)                                           \
        acc[c] = (float16)(seed + (float)c);                                   \
    for (int i = 0; i < iters; i++) {                                          \
        _Pragma("unroll") for (int c = 0; c < chains; c++)                     \
            acc[c] = fma(acc[c], (float16)(a), (float16)(b));                  \
    }                                                                          \
    float16 sum = acc[0];                                                      \
    for (int c = 1; c < chains; c++)                                           \
        sum += acc[c];                                                         \
    out[get_global_id(0)] = sum.s0 + sum.s1 + sum.s2 + sum.s3 + sum.s4 +       \
                            sum.s5 + sum.s6 + sum.s7 + sum.s8 + sum.s9 +       \
                            sum.sa + sum.sb + sum.sc + sum.sd + sum.se +       \
                            sum.sf

__kernel void probe_fma(__global float *out, const float a, const float b,
                        const int iters)
{
    FMA_CHAINS(PROBE_CHAINS);
}

__kernel void probe_fma_few(__global float *out, const float a,
                            const float b, const int iters)
{
    FMA_CHAINS(PROBE_CHAINS_FEW);
}

__kernel void probe_copy(__global const float4 *in, __global float4 *out)
{
    const size_t i = get_global_id(0);
    out[i] = in[i];
}
