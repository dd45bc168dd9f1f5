/* testmodel.h — models for tests: random weights for any configuration, or a committed PyTorch fixture with its inputs. */
#ifndef CLENC_TEST_MODEL_H
#define CLENC_TEST_MODEL_H

#include <stdint.h>

#include "clenc.h"
#include "formats/safetensors.h"

typedef struct test_model {
    clenc_config config;
    clenc_weights weights;
    clenc_layer_weights *layers;
    float **arrays; /* every float array the model owns */
    size_t array_count;
    /* From a fixture: the tensors and the batch the script encoded. */
    clenc__safetensors st;
    int has_st;
    unsigned batch, seq;
    int32_t *ids, *type_ids, *lengths;
} test_model;

/* Seeded random weights that make errors show: U(±1/sqrt(fan_in)) linear
 * weights (Q and K ×3, so that attention is far from uniform), non-zero
 * biases, LayerNorm gains in 0.5..1.5 and biases in ±0.5. */
void test_model_random(test_model *m, const clenc_config *c, uint64_t seed);
/* tests/fixtures/NAME.{json,safetensors}; a fatal test failure if absent. */
void test_model_fixture(test_model *m, const char *name);
void test_model_free(test_model *m);
/* A tensor of the fixture as float32 (owned by m); checks its count. */
const float *test_fixture_tensor(test_model *m, const char *name,
                                 size_t count);

/* A small BERT for whole passes: vocabulary 50, hidden 32, 4 heads, 2
 * layers, FFN 37 (a multiple of no tile), 80 positions. */
void test_config_small(clenc_config *c);

/* A context on the test device with this kernel family and GEMM. */
clenc_context *test_context_for(clenc_variant variant, clenc_gemm gemm);
clenc_model *test_model_upload(clenc_context *ctx, const test_model *m);

/* A copy of model folder `from` whose model.safetensors is rewritten as
 * F16 (each F32 tensor rounded by the compiler's _Float16, not by clenc;
 * other dtypes, HF's integer buffers, left out), with the `n` files named
 * in `beside` copied. Returns the new folder (malloc'd). */
char *test_f16_folder(const char *from, const char *const *beside, size_t n);
/* Element `at` of F16 tensor `name` in dir/model.safetensors set to bits. */
void test_poke_half(const char *dir, const char *name, size_t at,
                    uint16_t bits);

/* Uniform in [lo, hi) from a splitmix64 state. */
double test_uniform(uint64_t *state, double lo, double hi);
float *test_random_floats(uint64_t *state, size_t count, double lo, double hi);

/* Outputs start as NaN, never as the answer: what a pass leaves unwritten
 * stays NaN and fails its comparison. */
void test_nan_floats(float *p, size_t count);
/* The larger of the worst difference so far and d, where NaN is worse than
 * anything and stays (fmax drops a NaN; `!(d <= worst)` forgets one at the
 * next number). */
double test_worst(double worst, double d);

#endif
