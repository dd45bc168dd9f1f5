/* activation.h — the model's activation (ACT: one of ACT_GELU, ACT_GELU_TANH, ACT_RELU) as a macro for float and floatN. */
#ifndef CLENC_ACTIVATION_H
#define CLENC_ACTIVATION_H

#if !defined(ACT) || !defined(ACT_GELU) || !defined(ACT_GELU_TANH) || !defined(ACT_RELU)
#error "ACT, ACT_GELU, ACT_GELU_TANH and ACT_RELU are set by the library: build with the options clenc-compile --list prints"
#endif

/* The model's activation, written as a macro so that it applies to float
 * and to floatN alike (OpenCL C 1.2 has no overloading of user functions). */
#if ACT == ACT_GELU
#define ACTIVATE(x) (0.5f * (x) * (1.0f + erf((x) * 0.70710678118654752f)))
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
