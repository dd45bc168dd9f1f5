/* testmodel.c — models for tests: seeded random weights, or a committed PyTorch fixture with its inputs and expected outputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"
#include "testmodel.h"

double test_uniform(uint64_t *state, double lo, double hi)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) / 9007199254740992.0;
}

float *test_random_floats(uint64_t *state, size_t count, double lo, double hi)
{
    float *p = malloc(count * sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    for (size_t i = 0; i < count; i++)
        p[i] = (float)test_uniform(state, lo, hi);
    return p;
}

void test_nan_floats(float *p, size_t count)
{
    for (size_t i = 0; i < count; i++)
        p[i] = NAN;
}

double test_worst(double worst, double d)
{
    return isnan(worst) || isnan(d) ? NAN : d > worst ? d : worst;
}

static float *own(test_model *m, float *p)
{
    float **grown = realloc(m->arrays, (m->array_count + 1) * sizeof *grown);
    CU_ASSERT_FATAL(grown != NULL);
    m->arrays = grown;
    m->arrays[m->array_count++] = p;
    return p;
}

static const float *rand_array(test_model *m, uint64_t *rng, size_t count,
                               double lo, double hi)
{
    return own(m, test_random_floats(rng, count, lo, hi));
}

static const float *rand_linear(test_model *m, uint64_t *rng, size_t out,
                                size_t in, double gain)
{
    const double r = gain / sqrt((double)in);
    return rand_array(m, rng, out * in, -r, r);
}

void test_model_random(test_model *m, const clenc_config *c, uint64_t seed)
{
    memset(m, 0, sizeof *m);
    m->config = *c;
    uint64_t rng = seed;
    const size_t h = c->hidden, f = c->ffn;
    clenc_weights *w = &m->weights;
    w->word_embeddings = rand_array(m, &rng, c->vocab_size * h, -1.7, 1.7);
    w->position_embeddings =
        rand_array(m, &rng, c->max_positions * h, -1.0, 1.0);
    if (c->type_vocab_size)
        w->type_embeddings =
            rand_array(m, &rng, c->type_vocab_size * h, -1.0, 1.0);
    w->embedding_norm_weight = rand_array(m, &rng, h, 0.5, 1.5);
    w->embedding_norm_bias = rand_array(m, &rng, h, -0.5, 0.5);
    w->final_norm_weight = rand_array(m, &rng, h, 0.5, 1.5);
    w->final_norm_bias = rand_array(m, &rng, h, -0.5, 0.5);
    m->layers = calloc(c->layers, sizeof *m->layers);
    CU_ASSERT_FATAL(m->layers != NULL);
    for (unsigned i = 0; i < c->layers; i++) {
        clenc_layer_weights *l = &m->layers[i];
        const double bh = 0.5 / sqrt((double)h), bf = 0.5 / sqrt((double)f);
        l->q_weight = rand_linear(m, &rng, h, h, 3.0);
        l->k_weight = rand_linear(m, &rng, h, h, 3.0);
        l->v_weight = rand_linear(m, &rng, h, h, 1.0);
        l->o_weight = rand_linear(m, &rng, h, h, 1.0);
        l->q_bias = rand_array(m, &rng, h, -bh, bh);
        l->k_bias = rand_array(m, &rng, h, -bh, bh);
        l->v_bias = rand_array(m, &rng, h, -bh, bh);
        l->o_bias = rand_array(m, &rng, h, -bh, bh);
        l->norm1_weight = rand_array(m, &rng, h, 0.5, 1.5);
        l->norm1_bias = rand_array(m, &rng, h, -0.5, 0.5);
        l->ffn_up_weight = rand_linear(m, &rng, f, h, 1.0);
        l->ffn_up_bias = rand_array(m, &rng, f, -bh, bh);
        l->ffn_down_weight = rand_linear(m, &rng, h, f, 1.0);
        l->ffn_down_bias = rand_array(m, &rng, h, -bf, bf);
        l->norm2_weight = rand_array(m, &rng, h, 0.5, 1.5);
        l->norm2_bias = rand_array(m, &rng, h, -0.5, 0.5);
    }
    w->layers = m->layers;
}

const float *test_fixture_tensor(test_model *m, const char *name, size_t count)
{
    const clenc__tensor *t = clenc__st_find(&m->st, name);
    if (!t) {
        fprintf(stderr, "\n    fixture lacks tensor '%s'\n", name);
        CU_FAIL_FATAL("fixture tensor missing");
        return NULL;
    }
    CU_ASSERT_FATAL(t->count == count);
    float *p = malloc(count * sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    CU_ASSERT_FATAL(clenc__st_to_f32(t, p) == CLENC_OK);
    return own(m, p);
}

static int32_t *fixture_ints(test_model *m, const char *name, size_t count)
{
    const clenc__tensor *t = clenc__st_find(&m->st, name);
    CU_ASSERT_FATAL(t != NULL && t->dtype == CLENC__I32 && t->count == count);
    int32_t *p = malloc(count * sizeof *p);
    CU_ASSERT_FATAL(p != NULL);
    memcpy(p, t->data, count * sizeof *p); /* little-endian host */
    return p;
}

static unsigned json_uint(json_t *root, const char *key)
{
    json_t *v = json_object_get(root, key);
    CU_ASSERT_FATAL(json_is_integer(v));
    return (unsigned)json_integer_value(v);
}

static int json_choice(json_t *root, const char *key, const char *const *names,
                       int count)
{
    const char *v = json_string_value(json_object_get(root, key));
    CU_ASSERT_FATAL(v != NULL);
    for (int i = 0; i < count; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    CU_FAIL_FATAL("unknown choice in fixture");
    return 0;
}

static void read_config(const char *path, test_model *m)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root)
        fprintf(stderr, "\n    %s: %s\n", path, err.text);
    CU_ASSERT_FATAL(root != NULL);
    clenc_config *c = &m->config;
    clenc_config_init_bert(c);
    c->vocab_size = json_uint(root, "vocab_size");
    c->hidden = json_uint(root, "hidden");
    c->heads = json_uint(root, "heads");
    c->layers = json_uint(root, "layers");
    c->ffn = json_uint(root, "ffn");
    c->max_positions = json_uint(root, "max_positions");
    c->type_vocab_size = json_uint(root, "type_vocab_size");
    static const char *const acts[] = {"gelu", "gelu_tanh", "relu"};
    static const char *const norms[] = {"post", "pre"};
    static const char *const positions[] = {"learned", "sinusoidal", "none"};
    c->activation = (clenc_activation)json_choice(root, "activation", acts, 3);
    c->norm = (clenc_norm_placement)json_choice(root, "norm", norms, 2);
    c->positions =
        (clenc_position_kind)json_choice(root, "positions", positions, 3);
    c->scale_embedding = json_is_true(json_object_get(root, "scale_embedding"));
    c->embedding_norm = json_is_true(json_object_get(root, "embedding_norm"));
    c->final_norm = json_is_true(json_object_get(root, "final_norm"));
    c->eps = (float)json_number_value(json_object_get(root, "eps"));
    m->batch = json_uint(root, "batch");
    m->seq = json_uint(root, "seq");
    json_decref(root);
}

static const float *optional(test_model *m, const char *name, size_t count)
{
    return clenc__st_find(&m->st, name) ? test_fixture_tensor(m, name, count)
                                        : NULL;
}

void test_model_fixture(test_model *m, const char *name)
{
    memset(m, 0, sizeof *m);
    char path[512];
    snprintf(path, sizeof path, "tests/fixtures/%s.json", name);
    read_config(path, m);
    snprintf(path, sizeof path, "tests/fixtures/%s.safetensors", name);
    clenc_status st = clenc__st_open(path, &m->st);
    if (st != CLENC_OK)
        fprintf(stderr, "\n    %s\n", clenc_last_error());
    CU_ASSERT_FATAL(st == CLENC_OK);
    m->has_st = 1;
    const clenc_config *c = &m->config;
    const size_t h = c->hidden, f = c->ffn;
    clenc_weights *w = &m->weights;
    w->word_embeddings =
        test_fixture_tensor(m, "word_embeddings", c->vocab_size * h);
    w->position_embeddings =
        optional(m, "position_embeddings", c->max_positions * h);
    w->type_embeddings =
        optional(m, "type_embeddings", c->type_vocab_size * h);
    w->embedding_norm_weight = optional(m, "embedding_norm.weight", h);
    w->embedding_norm_bias = optional(m, "embedding_norm.bias", h);
    w->final_norm_weight = optional(m, "final_norm.weight", h);
    w->final_norm_bias = optional(m, "final_norm.bias", h);
    m->layers = calloc(c->layers, sizeof *m->layers);
    CU_ASSERT_FATAL(m->layers != NULL);
    for (unsigned i = 0; i < c->layers; i++) {
        clenc_layer_weights *l = &m->layers[i];
        char n[96];
#define T(field, suffix, count)                                                \
    (snprintf(n, sizeof n, "layers.%u.%s", i, suffix),                         \
     l->field = test_fixture_tensor(m, n, count))
        T(q_weight, "q.weight", h * h);
        T(q_bias, "q.bias", h);
        T(k_weight, "k.weight", h * h);
        T(k_bias, "k.bias", h);
        T(v_weight, "v.weight", h * h);
        T(v_bias, "v.bias", h);
        T(o_weight, "o.weight", h * h);
        T(o_bias, "o.bias", h);
        T(norm1_weight, "norm1.weight", h);
        T(norm1_bias, "norm1.bias", h);
        T(ffn_up_weight, "ffn_up.weight", f * h);
        T(ffn_up_bias, "ffn_up.bias", f);
        T(ffn_down_weight, "ffn_down.weight", h * f);
        T(ffn_down_bias, "ffn_down.bias", h);
        T(norm2_weight, "norm2.weight", h);
        T(norm2_bias, "norm2.bias", h);
#undef T
    }
    w->layers = m->layers;
    m->ids = fixture_ints(m, "input.ids", (size_t)m->batch * m->seq);
    m->type_ids = fixture_ints(m, "input.type_ids", (size_t)m->batch * m->seq);
    m->lengths = fixture_ints(m, "input.lengths", m->batch);
}

void test_model_free(test_model *m)
{
    for (size_t i = 0; i < m->array_count; i++)
        free(m->arrays[i]);
    free(m->arrays);
    free(m->layers);
    free(m->ids);
    free(m->type_ids);
    free(m->lengths);
    if (m->has_st)
        clenc__st_close(&m->st);
    memset(m, 0, sizeof *m);
}

void test_config_small(clenc_config *c)
{
    clenc_config_init_bert(c);
    c->vocab_size = 50;
    c->hidden = 32;
    c->heads = 4;
    c->layers = 2;
    c->ffn = 37;
    c->max_positions = 80;
}

clenc_context *test_context_for(clenc_variant variant, clenc_gemm gemm)
{
    clenc_options opt;
    test_options(&opt);
    opt.variant = variant;
    opt.gemm = gemm;
    return test_context(&opt);
}

clenc_model *test_model_upload(clenc_context *ctx, const test_model *m)
{
    clenc_model *model = NULL;
    clenc_status st = clenc_model_create(ctx, &m->config, &m->weights, &model);
    if (st != CLENC_OK)
        fprintf(stderr, "\n    clenc_model_create: %s: %s\n",
                clenc_status_name(st), clenc_last_error());
    CU_ASSERT_FATAL(st == CLENC_OK && model != NULL);
    return model;
}

char *test_f16_folder(const char *from, const char *const *beside, size_t n)
{
    char *source = test_path(from, "model.safetensors");
    clenc__safetensors st;
    CU_ASSERT_FATAL(clenc__st_open(source, &st) == CLENC_OK);
    json_t *header = json_object();
    size_t total = 0;
    for (size_t i = 0; i < st.count; i++)
        total += st.tensors[i].dtype == CLENC__F32
                     ? (size_t)st.tensors[i].count * 2
                     : 0;
    unsigned char *data = malloc(total ? total : 1);
    CU_ASSERT_FATAL(header && data);
    size_t at = 0;
    for (size_t i = 0; i < st.count; i++) {
        const clenc__tensor *t = &st.tensors[i];
        if (t->dtype != CLENC__F32)
            continue; /* buffers such as position_ids: the encoder's own */
        float *f = malloc((size_t)t->count * sizeof *f + 1);
        CU_ASSERT_FATAL(f != NULL);
        CU_ASSERT_FATAL(clenc__st_to_f32(t, f) == CLENC_OK);
        for (uint64_t j = 0; j < t->count; j++) {
            const _Float16 h = (_Float16)f[j];
            memcpy(data + at + 2 * j, &h, 2); /* little-endian host */
        }
        free(f);
        json_t *shape = json_array();
        for (unsigned d = 0; d < t->ndim; d++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[d]));
        json_object_set_new(header, t->name,
                            json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F16",
                                      "shape", shape, "data_offsets",
                                      (json_int_t)at,
                                      (json_int_t)(at + 2 * t->count)));
        at += 2 * (size_t)t->count;
    }
    CU_ASSERT_FATAL(at == total);
    char *text = json_dumps(header, JSON_COMPACT);
    CU_ASSERT_FATAL(text != NULL);
    const uint64_t len = strlen(text);
    unsigned char *bytes = malloc(8 + len + total);
    CU_ASSERT_FATAL(bytes != NULL);
    for (int b = 0; b < 8; b++)
        bytes[b] = (unsigned char)(len >> (8 * b));
    memcpy(bytes + 8, text, len);
    memcpy(bytes + 8 + len, data, total);
    char *dir = test_tmpdir("f16-model");
    char *file = test_path(dir, "model.safetensors");
    CU_ASSERT_FATAL(test_write_file(file, bytes, 8 + len + total));
    for (size_t i = 0; i < n; i++) {
        char *src = test_path(from, beside[i]), *dst = test_path(dir, beside[i]);
        size_t size = 0;
        unsigned char *copy = test_read_file(src, &size);
        CU_ASSERT_FATAL(copy && test_write_file(dst, copy, size));
        free(copy);
        free(src);
        free(dst);
    }
    free(bytes);
    free(file);
    free(text);
    free(data);
    free(source);
    json_decref(header);
    clenc__st_close(&st);
    return dir;
}

void test_poke_half(const char *dir, const char *name, size_t at,
                    uint16_t bits)
{
    char *path = test_path(dir, "model.safetensors");
    clenc__safetensors st;
    CU_ASSERT_FATAL(clenc__st_open_header(path, &st) == CLENC_OK);
    const clenc__tensor *t = clenc__st_find(&st, name);
    CU_ASSERT_FATAL(t && t->dtype == CLENC__F16 && at < t->count);
    const long where = (long)(st.buffer_at + t->offset + 2 * at);
    clenc__st_close(&st);
    FILE *f = fopen(path, "r+b");
    CU_ASSERT_FATAL(f != NULL);
    const unsigned char le[2] = {(unsigned char)bits,
                                 (unsigned char)(bits >> 8)};
    CU_ASSERT_FATAL(fseek(f, where, SEEK_SET) == 0 && fwrite(le, 1, 2, f) == 2);
    CU_ASSERT_FATAL(fclose(f) == 0);
    free(path);
}
