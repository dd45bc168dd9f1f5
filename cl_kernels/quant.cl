/* quant.cl — dynamic INT8 quantisation of activation rows just before an INT8 GEMM (qgemm.cl): the row's largest value kept in float, the rest scaled by the next largest.
 *
 * a:      [m][k] float, row-major (the GEMM's input).
 * q:      [m][Q8_STRIDE(k)] int16 holding -127..127: row r is a[r]
 *         quantised, then zeros up to the stride (a multiple of
 *         Q8_ROW_ALIGN, so rows start on 128-byte lines). int16, not int8:
 *         the cpu family's qgemm broadcasts a k-pair of a row as one
 *         32-bit load straight into vpmaddwd (qgemm.cl says why).
 * info:   [m][Q8_INFO] float: {scale, outlier value, outlier column (as
 *         int bits), 0}.
 *
 * The rule (tests/ref.c's ref_q8_act_rows has it too):
 *   amax  = max |a[r][i]|, c the first column reaching it;
 *   outlier = a[r][c] (0 if amax < Q8_TINY), and q[c] = 0;
 *   amax2 = max |a[r][i]| over i != c (0 for k = 1);
 *   scale = amax2 * Q8_INV_QMAX          (Q8_INV_QMAX = 1/127 as a float)
 *   inv   = 127 / amax2                  (0 if amax2 < Q8_TINY, scale 0)
 *   q[i]  = rint(float(a[r][i] * inv)), clamped to -127..127, i != c;
 *   a row holding a NaN or an infinity: scale NaN (its largest |a| bit
 *   pattern is at least an infinity's), outlier 0, so the GEMM's row
 *   comes out NaN, as the fp32 GEMM's would. Magnitudes are compared as
 *   bit patterns (uint order is |float| order, NaN above infinity).
 * qgemm adds outlier · w[col][c] to the integer sum scaled back: the one
 * largest value of a token's row is exact. Why: the rows that feed
 * MiniLM's QKV, FFN-up and FFN-down GEMMs hold one value far above the
 * rest in some tokens ([CLS]'s channel 99 at 6-30 against <= 2 for the
 * others, max/rms ~ 19.5); scaled by it, the rest of the row kept a step
 * of 0.08-0.2, as large as the values. Simulated on the parity texts
 * (PyTorch, fake quantisation), min cosine to fp32: 0.9805 with one scale
 * a row, 0.9950 with the largest value apart (groups of 32 columns:
 * 0.9950 at k/32 extra scalings; asymmetric uint8: 0.9929). It costs the
 * top two and a column per lane here (cpu family: one pass for the
 * statistics, one to quantise), and per output one gathered weight and one
 * fma in qgemm's epilogue.
 * Why symmetric int8 and not ONNX Runtime's asymmetric uint8: no zero
 * point, so the integer GEMM needs no correction term (Σ_k w, per column,
 * times the zero point), and int8 x int8 pairs summed in int16 lanes are
 * exact (2 x 127² < 2^15), which vpmaddwd needs; x86's VNNI (u8 x s8)
 * would favour uint8, but PoCL targets skylake-avx512 here, without it.
 * Per row, not per tensor: finer, and no pass over the whole tensor first.
 *
 * Rounding: scale is a product, correctly rounded on every device; the
 * multiplications and rint are exact or correctly rounded too. The one
 * division, 127 / amax2, is correctly rounded only where the compiler makes
 * it so: OpenCL allows 2.5 ulp unless the program is built with
 * -cl-fp32-correctly-rounded-divide-sqrt, which the library does not ask
 * for. PoCL on x86 emits vdivss (IEEE, correctly rounded) and Oclgrind
 * divides in the host's IEEE arithmetic: there q matches ref_q8_rows
 * exactly (tests/test_op_qgemm.c checks it). Elsewhere an element whose
 * a·inv lies within an ulp of a half-integer may round one step the other
 * way; the test allows one step there, and says so.
 *
 * cpu family: one work-item per row, float16 loads, no barriers;
 *   global = m rounded up to 8 (runtime/ops/launch.c's row kernels).
 * gpu family: a work-group of QUANT_WG work-items per row, the maximum by
 *   a tree in local memory; global = m * QUANT_WG, local = QUANT_WG. The
 *   stores cover the whole padded row (a multiple of QUANT_WG), so no
 *   lane idles in that loop (PoCL 3.1's vectoriser wrote past rows that
 *   idle lanes skipped: kernels.h, clenc__row_wg).
 * Launch: runtime/ops/qgemm.c (clenc__op_qgemm).
 * Constants: VARIANT_GPU, Q8_ROW_ALIGN, QUANT_WG, Q8_TINY, Q8_INV_QMAX,
 * Q8_INFO.
 */
#if !defined(VARIANT_GPU) || !defined(Q8_ROW_ALIGN) || !defined(QUANT_WG) || \
    !defined(Q8_TINY) || !defined(Q8_INV_QMAX) || !defined(Q8_INFO)
#error "VARIANT_GPU, Q8_ROW_ALIGN, QUANT_WG, Q8_TINY, Q8_INV_QMAX and Q8_INFO are set by the library: build with the options clenc-compile --list prints"
#endif
#if Q8_INFO != 4
#error "Q8_INFO: a row's info is one float4"
#endif
#if Q8_ROW_ALIGN % QUANT_WG != 0
#error "QUANT_WG must divide Q8_ROW_ALIGN: the gpu family stores whole rows"
#endif

#define Q8_STRIDE(k) (((k) + Q8_ROW_ALIGN - 1) / Q8_ROW_ALIGN * Q8_ROW_ALIGN)

/* x * inv must round to float before the rounding to an integer, as the
 * reference has it: no fma may take the product in. */
#pragma OPENCL FP_CONTRACT OFF

/* t rounded to the nearest integer, ties to even, for |t| < 2^22 (here
 * |t| <= 127): adding 1.5 x 2^23 leaves no bits for the fraction, in the
 * round-to-nearest-even mode OpenCL kernels run in. PoCL 3.1 compiled rint
 * to 15 vector instructions a float16, this to 2. */
#define RINT_SMALL(t) (((t) + 0x1.8p23f) - 0x1.8p23f)
/* One element quantised with the row's multiplier, as an exact integer. */
#define Q8(x, inv) clamp(RINT_SMALL((x) * (inv)), -127.0f, 127.0f)

/* Bit patterns at or above this one are an infinity or a NaN. */
#define BITS_INF 0x7f800000u

/* The row's scale and multiplier from its largest |a| bit pattern. */
#define ROW_SCALE(bits)                                                        \
    ((bits) >= BITS_INF ? as_float(0x7fc00000u)                                \
     : as_float(bits) >= Q8_TINY ? as_float(bits) * Q8_INV_QMAX : 0.0f)
#define ROW_INV(bits)                                                          \
    ((bits) < BITS_INF && as_float(bits) >= Q8_TINY ? 127.0f / as_float(bits)  \
                                                    : 0.0f)

#if !VARIANT_GPU

/* The largest lane, lane by lane (Oclgrind misreads .lo/.hi: rows.h). */
inline uint max16(uint16 v)
{
    const uint a0 = max(v.s0, v.s8), a1 = max(v.s1, v.s9),
               a2 = max(v.s2, v.sa), a3 = max(v.s3, v.sb),
               a4 = max(v.s4, v.sc), a5 = max(v.s5, v.sd),
               a6 = max(v.s6, v.se), a7 = max(v.s7, v.sf);
    return max(max(max(a0, a4), max(a2, a6)), max(max(a1, a5), max(a3, a7)));
}

__kernel void quantize(__global const float *a, __global short *q,
                       __global float *info, const int m, const int k)
{
    const int r = get_global_id(0);
    if (r >= m)
        return;
    __global const float *x = a + (size_t)r * k;
    __global short *y = q + (size_t)r * Q8_STRIDE(k);
    const int full = k / 16 * 16;
    /* One pass: per lane the largest magnitude (bit patterns), its first
     * column and the next largest; then across the lanes. A first pass
     * for the maximum, a scan for its column and a pass for the next took
     * 1.5x the time of this whole kernel. */
    const int16 lane = (int16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
                               14, 15);
    uint16 top = (uint16)(0u), next = (uint16)(0u);
    int16 at = lane;
    for (int i = 0; i < full; i += 16) {
        const uint16 v = as_uint16(fabs(vload16(0, x + i)));
        const int16 up = v > top; /* strictly: a lane keeps its first */
        next = select(max(next, v), top, up);
        at = select(at, lane + i, up);
        top = max(top, v);
    }
    uint tops[16], nexts[16];
    int ats[16];
    vstore16(top, 0, tops);
    vstore16(next, 0, nexts);
    vstore16(at, 0, ats);
    uint bits = 0u, rest = 0u;
    int c = k;
    for (int l = 0; l < (full ? 16 : 0); l++) {
        if (tops[l] > bits || (tops[l] == bits && ats[l] < c)) {
            rest = max(rest, bits); /* the old largest is now a runner-up */
            bits = tops[l];
            c = ats[l];
        } else {
            rest = max(rest, tops[l]);
        }
    }
    /* The row's runner-up: the largest of the other lanes' tops (above)
     * and of every lane's runner-up (each at most its own lane's top). */
    for (int l = 0; l < (full ? 16 : 0); l++)
        rest = max(rest, nexts[l]);
    for (int i = full; i < k; i++) {
        const uint v = as_uint(fabs(x[i]));
        if (v > bits || c == k) {
            rest = c == k ? rest : max(rest, bits);
            bits = v;
            c = i;
        } else {
            rest = max(rest, v);
        }
    }
    const int live = bits < BITS_INF && as_float(bits) >= Q8_TINY;
    const float inv = ROW_INV(rest);
    vstore4((float4)(bits >= BITS_INF ? as_float(0x7fc00000u) : ROW_SCALE(rest),
                     live ? x[c] : 0.0f, as_float(c), 0.0f),
            r, info);
    /* Whole short16s of y are 32-byte aligned (the stride is a multiple of
     * 64, buffers are aligned to at least 128 bytes): stored as such.
     * PoCL 3.1 split a vstore16 of shorts into 16 stores of 2 bytes. */
    for (int i = 0; i < full; i += 16)
        *(__global short16 *)(y + i) =
            convert_short16(convert_int16(Q8(vload16(0, x + i), inv)));
    for (int i = full; i < k; i++)
        y[i] = convert_short(Q8(x[i], inv));
    y[c] = 0; /* the outlier goes through info, in float */
    const int stride = Q8_STRIDE(k);
    int i = k;
    for (; i < stride && i % 16 != 0; i++)
        y[i] = 0;
    for (; i < stride; i += 16)
        *(__global short16 *)(y + i) = (short16)(0);
}

#else /* VARIANT_GPU */

/* The largest of the work-group's magnitudes (bit patterns) and the first
 * column reaching it, by a tree in local memory; every work-item gets
 * both. */
inline uint group_argmax(uint v, int col, __local uint *vals,
                         __local int *cols, int *at)
{
    const int lid = get_local_id(0);
    vals[lid] = v;
    cols[lid] = col;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int span = QUANT_WG / 2; span > 0; span >>= 1) {
        if (lid < span) {
            const uint o = vals[lid + span];
            const int oc = cols[lid + span];
            if (o > vals[lid] || (o == vals[lid] && oc < cols[lid])) {
                vals[lid] = o;
                cols[lid] = oc;
            }
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const uint best = vals[0];
    *at = cols[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* vals and cols are used again */
    return best;
}

__kernel __attribute__((reqd_work_group_size(QUANT_WG, 1, 1))) void
quantize(__global const float *a, __global short *q, __global float *info,
         const int m, const int k)
{
    __local uint vals[QUANT_WG];
    __local int cols[QUANT_WG];
    const int r = get_group_id(0), lid = get_local_id(0);
    if (r >= m)
        return; /* uniform across the work-group */
    __global const float *x = a + (size_t)r * k;
    __global short *y = q + (size_t)r * Q8_STRIDE(k);
    uint bits = 0u;
    int col = k;
    for (int i = lid; i < k; i += QUANT_WG) {
        const uint v = as_uint(fabs(x[i]));
        if (v > bits || (col == k && v == bits)) { /* the first of equals */
            bits = v;
            col = i;
        }
    }
    int c;
    bits = group_argmax(bits, col, vals, cols, &c);
    uint rest = 0u;
    for (int i = lid; i < k; i += QUANT_WG)
        rest = i == c ? rest : max(rest, as_uint(fabs(x[i])));
    int unused;
    rest = group_argmax(rest, 0, vals, cols, &unused);
    const int live = bits < BITS_INF && as_float(bits) >= Q8_TINY;
    const float inv = ROW_INV(rest);
    if (lid == 0)
        vstore4((float4)(bits >= BITS_INF ? as_float(0x7fc00000u)
                                          : ROW_SCALE(rest),
                         live ? x[c] : 0.0f, as_float(c), 0.0f),
                r, info);
    for (int i = lid; i < Q8_STRIDE(k); i += QUANT_WG)
        y[i] = i < k && i != c ? convert_short(Q8(x[i], inv)) : (short)0;
}

#endif
