/* store.h — how activations are held in memory: float, or half when the model computes in fp16 (HALF_COMPUTE); loads give float, stores round to nearest even.
 *
 * Included with #include "store.h" (see rows.h). With HALF_COMPUTE every
 * workspace buffer — the residual stream, Q/K/V, attention's output, the
 * feed-forward activations, pooled vectors — holds half, and every GEMM
 * multiplies halves: a product of two halves is exact in float, so summing
 * them in float is what fp16 units with fp32 accumulation compute.
 * Softmax's running max and sum, LayerNorm's mean and variance and every
 * other sum stay float. vload_half and vstore_half_rte are core OpenCL
 * (no cl_khr_fp16 needed), so the path runs and is tested on any device;
 * the library chooses it by itself only where the device has cl_khr_fp16
 * (runtime/engine/model.c says why).
 */
#ifndef CLENC_STORE_H
#define CLENC_STORE_H

#if !defined(HALF_COMPUTE)
#error "HALF_COMPUTE is set by the library: build with the options clenc-compile --list prints"
#endif

#if HALF_COMPUTE
typedef half act_t;
#define ACT_LOAD(i, p) vload_half((i), (p))
#define ACT_STORE(v, i, p) vstore_half_rte((v), (i), (p))
#define ACT_LOAD8(i, p) vload_half8((i), (p))
#define ACT_STORE8(v, i, p) vstore_half8_rte((v), (i), (p))
#define ACT_LOAD16(i, p) vload_half16((i), (p))
#define ACT_STORE16(v, i, p) vstore_half16_rte((v), (i), (p))
#else
typedef float act_t;
#define ACT_LOAD(i, p) ((p)[i])
#define ACT_STORE(v, i, p) ((p)[i] = (v))
#define ACT_LOAD8(i, p) vload8((i), (p))
#define ACT_STORE8(v, i, p) vstore8((v), (i), (p))
#define ACT_LOAD16(i, p) vload16((i), (p))
#define ACT_STORE16(v, i, p) vstore16((v), (i), (p))
#endif

#endif
