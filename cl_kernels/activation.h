/* activation.h — the model's activation (ACT: one of ACT_GELU, ACT_GELU_TANH, ACT_RELU) as a macro for float and floatN. */
#ifndef CLENC_ACTIVATION_H
#define CLENC_ACTIVATION_H

#if !defined(ACT) || !defined(ACT_GELU) || !defined(ACT_GELU_TANH) || !defined(ACT_RELU)
#error "ACT, ACT_GELU, ACT_GELU_TANH and ACT_RELU are set by the library: build with the options clenc-compile --list prints"
#endif

/* The model's activation, written as a macro so that it applies to float
 * and to floatN alike (OpenCL C 1.2 has no overloading of user functions). */
#if ACT == ACT_GELU
/* erf(t) as t P(t^2) / Q(t^2) on |t| <= 3.92, where erf reaches 1 in float
 * (fitted by build-aux/fit_erf.py; within 3.8e-7 of erf, about 6 ulp, where
 * OpenCL allows its erf 16). Built from fma and one division it vectorises:
 * PoCL 3.1's erf did not, and a GEMM with the GELU epilogue ran at 85
 * GFLOP/s against 175 with ReLU (2 Zen 2 cores). */
#define ERF_P(u)                                                               \
    fma(fma(fma(fma(fma(2.034566705e-06f, (u), 2.874237834e-04f), (u),         \
                    3.867127700e-03f),                                         \
                (u), 5.305681005e-02f),                                        \
            (u), 1.927400231e-01f),                                            \
        (u), 1.128378987e+00f)
#define ERF_Q(u)                                                               \
    fma(fma(fma(fma(fma(3.806594032e-05f, (u), 1.187768066e-03f), (u),         \
                    1.516996324e-02f),                                         \
                (u), 1.150742173e-01f),                                        \
            (u), 5.041430593e-01f),                                            \
        (u), 1.0f)
#define ERF_CLAMPED(t) ((t) * ERF_P((t) * (t)) / ERF_Q((t) * (t)))
#define ERF(x) ERF_CLAMPED(clamp((x), -3.92f, 3.92f))
#define ACTIVATE(x) (0.5f * (x) * (1.0f + ERF((x) * 0.70710678118654752f)))
#elif ACT == ACT_GELU_TANH
#define ACTIVATE(x)                                                            \
    (0.5f * (x) *                                                              \
     (1.0f + tanh(0.79788456080286536f * ((x) + 0.044715f * (x) * (x) * (x)))))
#elif ACT == ACT_RELU
#define ACTIVATE(x) fmax((x), 0.0f)
#else
#error "ACT is none of ACT_GELU, ACT_GELU_TANH, ACT_RELU"
#endif


#endif
