/* test_impl.c — the kernels on any OpenCL implementation: each op at small shapes against the reference (small enough for Oclgrind's simulator), and every kernel of the table launched by real encodes.
 *
 * `make test-oclgrind` runs this suite under Oclgrind, which fails on any
 * out-of-bounds access, data race or uninitialised read; `make test-rusticl`
 * runs it, with the rest, on Mesa's Rusticl. The shapes are the ops suite's
 * awkward cases shrunk: partial GEMM tiles and panels (m 1, 7, 65; n 37),
 * rows that are no multiple of 16 (hidden 24), softmax over several key
 * blocks in both families (a sequence of 130), work-groups past a
 * sequence's end.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clenc_cl.h"
#include "engine/engine.h"
#include "helpers.h"
#include "oprig.h"
#include "ref.h"
#include "testmodel.h"

/* hidden 32 (rows of whole float16s) and hidden 24 (the scalar row paths,
 * 8 work-items a row in the gpu family). */
static void config_for(clenc_config *c, unsigned hidden)
{
    clenc_config_init_bert(c);
    c->vocab_size = 50;
    c->hidden = hidden;
    c->heads = hidden / 8;
    c->layers = 1;
    c->ffn = hidden == 32 ? 37 : 20;
    c->max_positions = 160;
}

/* ------------------------------------------------------------------ GEMM */

static void gemm_cases(const clenc_config *c, clenc_variant v, clenc_gemm g,
                       const char *tile)
{
    /* The gpu family's 16 x 16 work-groups cost Oclgrind the most; for them
     * 1 row is one more partial tile like 7. */
    static const unsigned ms[] = {1, 7, 65};
    const size_t first = v == CLENC_VARIANT_GPU ? 1 : 0;
    if (tile)
        setenv("CLENC_GEMM_TILE", tile, 1);
    oprig r;
    oprig_open(&r, c, v, g);
    /* CLBlast may fail on an implementation it does not know: said, and
     * the rest is still checked; any other failure is a failure. */
    oprig_check_gemms(&r, ms + first, 3 - first, 1);
    oprig_close(&r);
    if (tile)
        unsetenv("CLENC_GEMM_TILE");
}

void test_impl_gemm_small_shapes_match_reference(void)
{
    clenc_config c;
    config_for(&c, 32);
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, NULL);
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, "5x3");
    gemm_cases(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, NULL);
    gemm_cases(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, "32");
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, NULL);
    config_for(&c, 24);
    gemm_cases(&c, CLENC_VARIANT_CPU, CLENC_GEMM_OWN, NULL);
    gemm_cases(&c, CLENC_VARIANT_GPU, CLENC_GEMM_OWN, NULL);
}

/* ------------------------------------------------------------- attention */

void test_impl_attention_small_shapes_match_reference(void)
{
    /* 130 keys: two softmax blocks in the cpu family (128 a block), nine in
     * the gpu family, and a third work-group of 64 queries mostly past the
     * end. */
    static const int32_t lengths[] = {7, 1, 20, 130};
    clenc_config c;
    for (unsigned hidden = 32; hidden >= 24; hidden -= 8) {
        config_for(&c, hidden);
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++)
            oprig_check_attention(&c, (clenc_variant)v, lengths, 4);
    }
}

/* ------------------------------------------------------------ row kernels */

void test_impl_row_kernels_small_shapes_match_reference(void)
{
    static const unsigned rows[] = {1, 7, 65};
    static const int32_t offsets[4] = {0, 7, 8, 40};
    for (unsigned hidden = 32; hidden >= 24; hidden -= 8)
        for (int v = CLENC_VARIANT_CPU; v <= CLENC_VARIANT_GPU; v++) {
            clenc_config c;
            config_for(&c, hidden);
            oprig r;
            oprig_open(&r, &c, (clenc_variant)v, CLENC_GEMM_OWN);
            oprig_check_layernorm(&r, rows, 3);
            oprig_check_pool(&r, offsets, 3);
            oprig_close(&r);
            oprig_check_embed_kinds(&c, (clenc_variant)v, 40);
        }
}

/* ------------------------------------------------- every kernel launched */

static const struct {
    clenc_variant variant;
    clenc_gemm gemm;
    const char *name;
    clenc_precision precision;
} paths[] = {{CLENC_VARIANT_CPU, CLENC_GEMM_OWN, "cpu/own", CLENC_PRECISION_FP32},
             {CLENC_VARIANT_GPU, CLENC_GEMM_OWN, "gpu/own", CLENC_PRECISION_FP32},
             {CLENC_VARIANT_CPU, CLENC_GEMM_CLBLAST, "cpu/clblast",
              CLENC_PRECISION_FP32},
             {CLENC_VARIANT_GPU, CLENC_GEMM_CLBLAST, "gpu/clblast",
              CLENC_PRECISION_FP32},
             {CLENC_VARIANT_CPU, CLENC_GEMM_OWN, "cpu/int8", CLENC_PRECISION_INT8},
             {CLENC_VARIANT_GPU, CLENC_GEMM_OWN, "gpu/int8", CLENC_PRECISION_INT8}};
#define PATHS (sizeof paths / sizeof paths[0])

/* Launches of one path, from the sessions' records: per kernel of the
 * table (the own kernels), and CLBlast's GEMMs apart. */
typedef struct tally {
    unsigned kernel[CLENC__KERNEL_COUNT];
    unsigned clblast;
    int failed; /* CLBlast failed on this device */
} tally;

static void tally_add(tally *t, const clenc_session *s, clenc_variant v)
{
    for (size_t i = 0; i < s->launcher.launch_count; i++) {
        const clenc__launch *l = &s->launcher.launches[i];
        if (l->clblast) {
            t->clblast++;
            continue;
        }
        t->kernel[l->kernel]++;
        CU_ASSERT_EQUAL(l->gpu, v == CLENC_VARIANT_GPU);
    }
}

/* Every token's state of a pass against ref.c's double-precision pass:
 * measured 7.7e-7 (cpu family) and 8.57e-7 (gpu), own GEMM and CLBlast
 * alike, on an AMD EPYC with PoCL 3.1 (Rusticl 1.01e-6, Oclgrind 7.7e-7);
 * about four times that. */
#define ENCODE_ATOL 4e-6
/* The int8 paths against the same fp32 reference: what quantising the
 * weights and activations costs at this size, measured 2.0e-2 in both
 * families (same machine); about four times that. */
#define ENCODE_INT8_ATOL 8e-2

/* The same encode through clenc_encode_cl (clenc_cl.h), from and into
 * device buffers: equal to the host path's `want` bit for bit. */
static void encode_on_device(clenc_context *ctx, clenc_session *s,
                             const int32_t *ids, const int32_t *types,
                             const int32_t *lengths, unsigned batch,
                             unsigned seq, clenc_pooling pooling,
                             const float *want, size_t floats, tally *t,
                             clenc_variant v)
{
    cl_context cl;
    ASSERT_STATUS(clenc_context_cl(ctx, &cl, NULL), CLENC_OK);
    cl_int err;
    const size_t id_bytes = sizeof(int32_t) * batch * seq;
    cl_mem d_ids = clCreateBuffer(cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                                  id_bytes, (void *)ids, &err);
    cl_mem d_types = clCreateBuffer(
        cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, id_bytes, (void *)types,
        &err);
    float *got = malloc(floats * sizeof *got);
    CU_ASSERT_FATAL(got != NULL);
    test_nan_floats(got, floats);
    cl_mem out = clCreateBuffer(cl, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR,
                                floats * sizeof *got, got, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    cl_event done = NULL;
    ASSERT_STATUS(clenc_encode_cl(s, d_ids, d_types, lengths, batch, seq,
                                  pooling, out, 0, NULL, &done),
                  CLENC_OK);
    tally_add(t, s, v);
    CU_ASSERT_FATAL(done != NULL);
    CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
    CU_ASSERT_EQUAL(clEnqueueReadBuffer(s->launcher.queue, out, CL_TRUE, 0,
                                        floats * sizeof *got, got, 0, NULL,
                                        NULL),
                    CL_SUCCESS);
    size_t differ = 0;
    for (size_t i = 0; i < floats; i++)
        differ += memcmp(&got[i], &want[i], sizeof *got) != 0;
    CU_ASSERT_EQUAL(differ, 0);
    clReleaseEvent(done);
    clReleaseMemObject(d_ids);
    clReleaseMemObject(d_types);
    clReleaseMemObject(out);
    free(got);
}

/* Two small encodes of one path: every token's state against the
 * reference, then mean pooling normalised, so that every kernel the path
 * has is launched (CLS pooling is the same kernel in another mode); each
 * again through clenc_encode_cl, equal to the bit. */
static void encode_path(size_t p, const test_model *tm, const double *ref,
                        tally *t)
{
    static const int32_t lengths[] = {7, 1, 20};
    enum { BATCH = 3, SEQ = 20 };
    const size_t h = tm->config.hidden;
    int32_t ids[BATCH * SEQ], types[BATCH * SEQ];
    for (size_t i = 0; i < BATCH * SEQ; i++) {
        ids[i] = (int32_t)((i * 31 + 7) % tm->config.vocab_size);
        types[i] = (int32_t)((i / 3) % 2);
    }
    float *got = malloc(BATCH * SEQ * h * sizeof *got);
    CU_ASSERT_FATAL(got != NULL);
    clenc_context *ctx = test_context_for(paths[p].variant, paths[p].gemm);
    test_model at = *tm; /* the path's precision, the same weights */
    at.config.precision = paths[p].precision;
    clenc_model *model = test_model_upload(ctx, &at);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, BATCH, SEQ, &s), CLENC_OK);
    CU_ASSERT_FATAL(s != NULL);
    const clenc_pooling poolings[] = {CLENC_POOL_NONE,
                                      CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE};
    for (size_t i = 0; i < 2; i++) {
        test_nan_floats(got, BATCH * SEQ * h);
        clenc_status st = clenc_encode(s, ids, types, lengths, BATCH, SEQ,
                                       poolings[i], got);
        if (paths[p].gemm == CLENC_GEMM_CLBLAST && oprig_clblast_failed(st)) {
            t->failed = 1;
            break;
        }
        ASSERT_STATUS(st, CLENC_OK);
        tally_add(t, s, paths[p].variant);
        encode_on_device(ctx, s, ids, types, lengths, BATCH, SEQ, poolings[i],
                         got, i ? BATCH * h : BATCH * SEQ * h, t,
                         paths[p].variant);
        if (i > 0) {
            /* Mean pooling normalised: unit rows, the rest untouched. */
            double norm_err = 0;
            for (size_t b = 0; b < BATCH; b++) {
                double sq = 0;
                for (size_t c = 0; c < h; c++)
                    sq += (double)got[b * h + c] * got[b * h + c];
                norm_err = test_worst(norm_err, fabs(sqrt(sq) - 1));
            }
            CU_ASSERT(norm_err <= 1e-6);
            CU_ASSERT(isnan(got[BATCH * h]));
            continue;
        }
        double worst = 0;
        size_t padding_not_zero = 0;
        for (size_t b = 0, row = 0; b < BATCH; b++) {
            for (size_t q = 0; q < (size_t)lengths[b]; q++, row++)
                for (size_t c = 0; c < h; c++)
                    worst = test_worst(worst,
                                       fabs(got[(b * SEQ + q) * h + c] -
                                            ref[row * h + c]));
            /* Rows past a sequence's length: 0, as clenc.h promises. */
            for (size_t c = (size_t)lengths[b] * h; c < SEQ * h; c++)
                padding_not_zero += got[b * SEQ * h + c] != 0.0f;
        }
        printf("\n    %-12s every token against the reference: max abs "
               "diff %.3g",
               paths[p].name, worst);
        CU_ASSERT(worst <= (paths[p].precision == CLENC_PRECISION_INT8
                                ? ENCODE_INT8_ATOL
                                : ENCODE_ATOL));
        CU_ASSERT_EQUAL(padding_not_zero, 0);
    }
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    free(got);
}

/* Each kernel of the runtime's table ran, on this implementation, in the
 * launch records of real encodes: both families, both GEMMs, fp32 and
 * int8 (quant.cl and qgemm.cl run only there). The
 * epilogue kernel runs only behind CLBlast; where CLBlast fails, that is
 * said and the other kernels are still checked. */
void test_every_kernel_of_the_table_ran(void)
{
    clenc_config c;
    config_for(&c, 32);
    test_model tm;
    test_model_random(&tm, &c, 7);
    static const int32_t lengths[] = {7, 1, 20};
    int32_t ids[3 * 20], types[3 * 20];
    for (size_t i = 0; i < 3 * 20; i++) {
        ids[i] = (int32_t)((i * 31 + 7) % c.vocab_size);
        types[i] = (int32_t)((i / 3) % 2);
    }
    double *ref = malloc(sizeof *ref * 28 * c.hidden);
    CU_ASSERT_FATAL(ref != NULL);
    ref_encoder(&c, &tm.weights, ids, types, lengths, 3, 20, ref);

    const char *binaries_why, *profiling_why;
    const int binaries = test_device_has_program_binaries(&binaries_why);
    const int profiling = test_device_has_profiling_times(&profiling_why);
    printf("\n    program binaries: %s%s%s; profiling times: %s%s%s",
           binaries ? "yes" : "no (", binaries_why, binaries ? "" : ")",
           profiling ? "yes" : "no (", profiling_why, profiling ? "" : ")");

    tally t[PATHS];
    memset(t, 0, sizeof t);
    for (size_t p = 0; p < PATHS; p++)
        encode_path(p, &tm, ref, &t[p]);

    printf("\n    %-11s %-33s", "kernel", "file: function");
    for (size_t p = 0; p < PATHS; p++)
        printf(" %11s", paths[p].name);
    const int clblast_ran = !t[2].failed || !t[3].failed;
    for (int k = 0; k < CLENC__KERNEL_COUNT; k++) {
        /* The probes are kernels of the table but no model's: probe/ runs
         * them. */
        if (!clenc__kernel_has_families((clenc__kernel_id)k))
            continue;
        char where[64];
        snprintf(where, sizeof where, "%s.cl: %s",
                 clenc__kernel_file_name((clenc__kernel_id)k),
                 clenc__kernels[k].function);
        printf("\n    %-11s %-33s", clenc__kernels[k].name, where);
        unsigned total = 0;
        for (size_t p = 0; p < PATHS; p++) {
            printf(" %11u", t[p].kernel[k]);
            total += t[p].kernel[k];
        }
        if (k == CLENC__K_EPILOGUE && !clblast_ran) {
            test_skip("the epilogue kernel (only CLBlast's GEMM uses it)",
                      "CLBlast fails on this device");
            continue;
        }
        if (total == 0)
            fprintf(stderr, "\n    kernel %s (%s) never ran\n",
                    clenc__kernels[k].name, where);
        CU_ASSERT(total > 0);
    }
    printf("\n    %-11s %-33s", "(CLBlast)", "sgemm");
    for (size_t p = 0; p < PATHS; p++)
        printf(" %11u", t[p].clblast);
    /* The own GEMM kernel ran in the own paths only, CLBlast in its own. */
    for (size_t p = 0; p < PATHS; p++) {
        const int own = paths[p].gemm == CLENC_GEMM_OWN;
        if (paths[p].precision == CLENC_PRECISION_INT8) {
            /* Every GEMM quantised its input, then multiplied in integers. */
            CU_ASSERT_EQUAL(t[p].kernel[CLENC__K_GEMM], 0);
            CU_ASSERT(t[p].kernel[CLENC__K_QGEMM] > 0);
            CU_ASSERT_EQUAL(t[p].kernel[CLENC__K_QUANTIZE],
                            t[p].kernel[CLENC__K_QGEMM]);
        } else if (own) {
            CU_ASSERT(t[p].kernel[CLENC__K_GEMM] > 0);
            CU_ASSERT_EQUAL(t[p].clblast, 0);
            CU_ASSERT_EQUAL(t[p].kernel[CLENC__K_EPILOGUE], 0);
        } else if (!t[p].failed) { /* failed: encode_path said so */
            /* CLBlast ran every GEMM; the epilogue added what it lacks. */
            CU_ASSERT_EQUAL(t[p].kernel[CLENC__K_GEMM], 0);
            CU_ASSERT(t[p].clblast > 0);
            CU_ASSERT(t[p].kernel[CLENC__K_EPILOGUE] > 0);
        }
    }
    free(ref);
    test_model_free(&tm);
}
