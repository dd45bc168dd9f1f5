/* test_interop.c — clenc_cl.h: clenc on the caller's context and queue, encodes from and into device buffers, bit for bit against clenc_encode. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clenc_cl.h"
#include "helpers.h"
#include "testmodel.h"

enum { BATCH = 3, SEQ = 20 };
static const int32_t lengths[BATCH] = {7, 1, 20};

/* The caller's side: its own OpenCL context and in-order queue on the test
 * device, a clenc context on them, and a model and session. */
typedef struct caller {
    cl_context cl;
    cl_device_id device;
    cl_command_queue queue;
    clenc_context *ctx;
    test_model tm;
    clenc_model *model;
    clenc_session *session; /* on the caller's queue */
} caller;

static void caller_open_with(caller *c, clenc_options *opt,
                             const clenc_config *config)
{
    memset(c, 0, sizeof *c);
    /* The test device as clenc chooses it, then a context of our own. */
    clenc_context *probe = test_context(opt);
    ASSERT_STATUS(clenc_context_cl(probe, NULL, &c->device), CLENC_OK);
    cl_platform_id platform;
    CU_ASSERT_FATAL(clGetDeviceInfo(c->device, CL_DEVICE_PLATFORM,
                                    sizeof platform, &platform,
                                    NULL) == CL_SUCCESS);
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM,
                                     (cl_context_properties)platform, 0};
    cl_int err;
    c->cl = clCreateContext(props, 1, &c->device, NULL, NULL, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    c->queue = clCreateCommandQueue(c->cl, c->device, 0, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    clenc_context_destroy(probe);
    opt->device = NULL; /* the device is the one given */
    ASSERT_STATUS(clenc_context_create_on_cl(c->cl, c->device, opt, &c->ctx),
                  CLENC_OK);
    CU_ASSERT_FATAL(c->ctx != NULL);
    cl_context got;
    ASSERT_STATUS(clenc_context_cl(c->ctx, &got, NULL), CLENC_OK);
    CU_ASSERT_EQUAL(got, c->cl);
    test_model_random(&c->tm, config, 11);
    c->model = test_model_upload(c->ctx, &c->tm);
    ASSERT_STATUS(clenc_session_create_on_queue(c->model, c->queue, BATCH,
                                                SEQ, &c->session),
                  CLENC_OK);
    CU_ASSERT_FATAL(c->session != NULL);
}

static void caller_open(caller *c, clenc_variant variant)
{
    clenc_options opt;
    test_options(&opt);
    opt.variant = variant;
    opt.gemm = CLENC_GEMM_OWN;
    clenc_config config;
    test_config_small(&config);
    caller_open_with(c, &opt, &config);
}

static void caller_close(caller *c)
{
    clenc_session_destroy(c->session);
    clenc_model_destroy(c->model);
    clenc_context_destroy(c->ctx);
    test_model_free(&c->tm);
    /* clenc released only what it retained: ours are still valid. */
    CU_ASSERT_EQUAL(clFinish(c->queue), CL_SUCCESS);
    CU_ASSERT_EQUAL(clReleaseCommandQueue(c->queue), CL_SUCCESS);
    CU_ASSERT_EQUAL(clReleaseContext(c->cl), CL_SUCCESS);
}

static cl_mem buffer_of(const caller *c, size_t size, const void *host)
{
    cl_int err;
    cl_mem m = clCreateBuffer(c->cl,
                              CL_MEM_READ_WRITE |
                                  (host ? CL_MEM_COPY_HOST_PTR : 0),
                              size, (void *)host, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    return m;
}

/* A NaN-filled output buffer of `floats`. */
static cl_mem nan_buffer(const caller *c, size_t floats)
{
    float *nan = malloc(floats * sizeof *nan);
    CU_ASSERT_FATAL(nan != NULL);
    test_nan_floats(nan, floats);
    cl_mem m = buffer_of(c, floats * sizeof *nan, nan);
    free(nan);
    return m;
}

static void fill_ids(const clenc_config *config, int32_t *ids,
                     int32_t *types)
{
    for (size_t i = 0; i < BATCH * SEQ; i++) {
        ids[i] = (int32_t)((i * 31 + 7) % config->vocab_size);
        types[i] = (int32_t)((i / 3) % 2);
    }
}

/* Bit-for-bit comparison; counts differing floats (NaN differs). */
static size_t differ(const float *a, const float *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += memcmp(&a[i], &b[i], sizeof a[i]) != 0;
    return d;
}

/* clenc_encode_cl through device buffers against clenc_encode on the same
 * session, for every pooling; `with_types` passes type ids or NULL. */
static void compare_with_host(caller *c, const int32_t *ids,
                              const int32_t *types, const char *what)
{
    const size_t h = c->tm.config.hidden, n = BATCH * SEQ * h;
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    CU_ASSERT_FATAL(want && got);
    cl_mem d_ids = buffer_of(c, sizeof(int32_t) * BATCH * SEQ, ids);
    cl_mem d_types =
        types ? buffer_of(c, sizeof(int32_t) * BATCH * SEQ, types) : NULL;
    const clenc_pooling poolings[] = {CLENC_POOL_NONE,
                                      CLENC_POOL_NONE | CLENC_POOL_NORMALIZE,
                                      CLENC_POOL_CLS,
                                      CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE,
                                      CLENC_POOL_DEFAULT};
    for (size_t p = 0; p < sizeof poolings / sizeof poolings[0]; p++) {
        const int tokens = (poolings[p] & ~CLENC_POOL_NORMALIZE) ==
                           CLENC_POOL_NONE;
        const size_t floats = tokens ? n : BATCH * h;
        test_nan_floats(want, n);
        ASSERT_STATUS(clenc_encode(c->session, ids, types, lengths, BATCH,
                                   SEQ, poolings[p], want),
                      CLENC_OK);
        cl_mem out = nan_buffer(c, floats);
        cl_event done = NULL;
        ASSERT_STATUS(clenc_encode_cl(c->session, d_ids, d_types, lengths,
                                      BATCH, SEQ, poolings[p], out, 0, NULL,
                                      &done),
                      CLENC_OK);
        CU_ASSERT_FATAL(done != NULL);
        CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
        clReleaseEvent(done);
        test_nan_floats(got, n);
        CU_ASSERT_EQUAL(clEnqueueReadBuffer(c->queue, out, CL_TRUE, 0,
                                            floats * sizeof *got, got, 0,
                                            NULL, NULL),
                        CL_SUCCESS);
        const size_t bad = differ(got, want, floats);
        if (bad)
            printf("\n    %s, pooling 0x%x: %zu of %zu floats differ", what,
                   (unsigned)poolings[p], bad, floats);
        CU_ASSERT_EQUAL(bad, 0);
        clReleaseMemObject(out);
    }
    ASSERT_STATUS(clenc_session_cl_check(c->session), CLENC_OK);
    clReleaseMemObject(d_ids);
    if (d_types)
        clReleaseMemObject(d_types);
    free(want);
    free(got);
}

/* Both families, every pooling, with and without type ids: the device
 * path packs, pools and unpacks as the host path does, to the bit. */
void test_interop_encode_cl_equals_encode_bit_for_bit(void)
{
    const clenc_variant families[] = {CLENC_VARIANT_CPU, CLENC_VARIANT_GPU};
    for (size_t v = 0; v < 2; v++) {
        caller c;
        caller_open(&c, families[v]);
        int32_t ids[BATCH * SEQ], types[BATCH * SEQ];
        fill_ids(&c.tm.config, ids, types);
        const char *name = v ? "gpu family" : "cpu family";
        compare_with_host(&c, ids, types, name);
        compare_with_host(&c, ids, NULL, name);
        caller_close(&c);
    }
}

/* RoBERTa's positions (from padding_idx + 1, the pad token keeping
 * padding_idx) and half activations widened on the device. */
void test_interop_positions_and_half_activations_match(void)
{
    clenc_config config;
    test_config_small(&config);
    config.position_offset = 2; /* pad token id 1 */
    config.type_vocab_size = 1;
    caller c;
    clenc_options opt;
    test_options(&opt);
    opt.gemm = CLENC_GEMM_OWN;
    caller_open_with(&c, &opt, &config);
    int32_t ids[BATCH * SEQ], types[BATCH * SEQ];
    fill_ids(&c.tm.config, ids, types);
    ids[0 * SEQ + 3] = 1; /* pad tokens inside sequences 0 and 2 */
    ids[2 * SEQ + 10] = 1;
    compare_with_host(&c, ids, NULL, "position_offset 2");
    caller_close(&c);

    test_config_small(&config);
    config.precision = CLENC_PRECISION_FP16;
    test_options(&opt);
    opt.gemm = CLENC_GEMM_OWN;
    opt.fp16_compute = CLENC_FP16_COMPUTE_FORCE;
    caller_open_with(&c, &opt, &config);
    fill_ids(&c.tm.config, ids, types);
    compare_with_host(&c, ids, types, "half activations");
    caller_close(&c);
}

/* What a watchdog thread does if the call under test has not returned
 * within its time: sets the user event itself, so that a call that waits
 * inside fails the test instead of hanging it. */
typedef struct watchdog {
    cl_event gate;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int returned, fired;
} watchdog;

static void *watchdog_run(void *arg)
{
    watchdog *w = arg;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 20;
    pthread_mutex_lock(&w->lock);
    while (!w->returned &&
           pthread_cond_timedwait(&w->cond, &w->lock, &until) == 0)
        ;
    if (!w->returned) {
        w->fired = 1;
        clSetUserEventStatus(w->gate, CL_COMPLETE);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* The encode is enqueued behind a user event that is not yet set and the
 * call returns: nothing inside waits. Its event is not complete until the
 * gate is set, and the result is then clenc_encode's. */
void test_interop_returns_before_the_user_event_is_set(void)
{
    caller c;
    caller_open(&c, CLENC_VARIANT_CPU);
    const size_t h = c.tm.config.hidden;
    int32_t ids[BATCH * SEQ], types[BATCH * SEQ];
    fill_ids(&c.tm.config, ids, types);
    float want[BATCH * 32], got[BATCH * 32];
    CU_ASSERT_FATAL(h <= 32);
    test_nan_floats(want, BATCH * h);
    ASSERT_STATUS(clenc_encode(c.session, ids, types, lengths, BATCH, SEQ,
                               CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE, want),
                  CLENC_OK);
    cl_mem d_ids = buffer_of(&c, sizeof ids, ids);
    cl_mem d_types = buffer_of(&c, sizeof types, types);
    cl_mem out = nan_buffer(&c, BATCH * h);
    cl_int err;
    watchdog w = {clCreateUserEvent(c.cl, &err), PTHREAD_MUTEX_INITIALIZER,
                  PTHREAD_COND_INITIALIZER, 0, 0};
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    pthread_t thread;
    CU_ASSERT_FATAL(pthread_create(&thread, NULL, watchdog_run, &w) == 0);

    cl_event done = NULL;
    ASSERT_STATUS(clenc_encode_cl(c.session, d_ids, d_types, lengths, BATCH,
                                  SEQ, CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE,
                                  out, 1, &w.gate, &done),
                  CLENC_OK);
    pthread_mutex_lock(&w.lock);
    w.returned = 1;
    const int fired = w.fired;
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
    pthread_join(thread, NULL);
    CU_ASSERT_EQUAL(fired, 0); /* returned with the gate still closed */
    CU_ASSERT_FATAL(done != NULL);
    cl_int status = CL_COMPLETE;
    CU_ASSERT_EQUAL(clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS,
                                   sizeof status, &status, NULL),
                    CL_SUCCESS);
    printf("\n    returned with the gate closed; the encode's event: %s",
           status == CL_COMPLETE ? "complete (wrong)" : "not complete");
    CU_ASSERT(status != CL_COMPLETE);
    /* Still not complete a moment later: it waits for the gate. */
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    clGetEventInfo(done, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof status,
                   &status, NULL);
    CU_ASSERT(status != CL_COMPLETE);

    CU_ASSERT_EQUAL(clSetUserEventStatus(w.gate, CL_COMPLETE), CL_SUCCESS);
    CU_ASSERT_EQUAL(clWaitForEvents(1, &done), CL_SUCCESS);
    test_nan_floats(got, BATCH * h);
    CU_ASSERT_EQUAL(clEnqueueReadBuffer(c.queue, out, CL_TRUE, 0,
                                        BATCH * h * sizeof *got, got, 0, NULL,
                                        NULL),
                    CL_SUCCESS);
    CU_ASSERT_EQUAL(differ(got, want, BATCH * h), 0);
    clReleaseEvent(done);
    clReleaseEvent(w.gate);
    clReleaseMemObject(d_ids);
    clReleaseMemObject(d_types);
    clReleaseMemObject(out);
    caller_close(&c);
}

/* The caller's kernels around clenc: one writes the ids, one takes the dot
 * products of the embeddings with K rows. */
static const char pipeline_source[] =
    "__kernel void make_ids(__global int *ids, const int vocab)\n"
    "{\n"
    "    const int i = get_global_id(0);\n"
    "    ids[i] = (i * 31 + 7) % vocab;\n"
    "}\n"
    "__kernel void scores(__global const float *e, __global const float *m,\n"
    "                     __global float *out, const int hidden, const int k)\n"
    "{\n"
    "    const int b = get_global_id(0) / k, j = get_global_id(0) % k;\n"
    "    float s = 0.0f;\n"
    "    for (int c = 0; c < hidden; c++)\n"
    "        s += e[b * hidden + c] * m[j * hidden + c];\n"
    "    out[b * k + j] = s;\n"
    "}\n";

enum { K = 5 };

/* A pipeline with one clFinish at its end: the caller's kernel writes the
 * ids into a buffer, clenc encodes them (own GEMM), the caller's kernel
 * scores the embeddings against a matrix. The embeddings equal
 * clenc_encode's on the host's copy of the ids bit for bit; the scores
 * equal the host's dot products of those within float rounding. */
void test_interop_pipeline_of_user_kernels_with_one_finish(void)
{
    caller c;
    caller_open(&c, CLENC_VARIANT_CPU);
    const unsigned h = c.tm.config.hidden, vocab = c.tm.config.vocab_size;
    cl_int err;
    const char *src = pipeline_source;
    cl_program prog = clCreateProgramWithSource(c.cl, 1, &src, NULL, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    CU_ASSERT_FATAL(clBuildProgram(prog, 1, &c.device, "", NULL, NULL) ==
                    CL_SUCCESS);
    cl_kernel make_ids = clCreateKernel(prog, "make_ids", &err);
    cl_kernel scores = clCreateKernel(prog, "scores", &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);

    uint64_t rng = 5;
    float *matrix = test_random_floats(&rng, (size_t)K * h, -1, 1);
    cl_mem d_ids = buffer_of(&c, sizeof(int32_t) * BATCH * SEQ, NULL);
    cl_mem d_matrix = buffer_of(&c, sizeof(float) * K * h, matrix);
    cl_mem d_emb = nan_buffer(&c, (size_t)BATCH * h);
    cl_mem d_scores = nan_buffer(&c, (size_t)BATCH * K);

    const cl_int v = (cl_int)vocab, hh = (cl_int)h, k = K;
    clSetKernelArg(make_ids, 0, sizeof d_ids, &d_ids);
    clSetKernelArg(make_ids, 1, sizeof v, &v);
    const size_t n_ids = BATCH * SEQ, n_scores = BATCH * K;
    cl_event made;
    CU_ASSERT_EQUAL(clEnqueueNDRangeKernel(c.queue, make_ids, 1, NULL, &n_ids,
                                           NULL, 0, NULL, &made),
                    CL_SUCCESS);
    ASSERT_STATUS(clenc_encode_cl(c.session, d_ids, NULL, lengths, BATCH, SEQ,
                                  CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE,
                                  d_emb, 1, &made, NULL),
                  CLENC_OK);
    clSetKernelArg(scores, 0, sizeof d_emb, &d_emb);
    clSetKernelArg(scores, 1, sizeof d_matrix, &d_matrix);
    clSetKernelArg(scores, 2, sizeof d_scores, &d_scores);
    clSetKernelArg(scores, 3, sizeof hh, &hh);
    clSetKernelArg(scores, 4, sizeof k, &k);
    CU_ASSERT_EQUAL(clEnqueueNDRangeKernel(c.queue, scores, 1, NULL,
                                           &n_scores, NULL, 0, NULL, NULL),
                    CL_SUCCESS);
    CU_ASSERT_EQUAL(clFinish(c.queue), CL_SUCCESS); /* the one wait */

    float emb[BATCH * 32], got[BATCH * K], want[BATCH * 32];
    CU_ASSERT_FATAL(h <= 32);
    test_nan_floats(emb, BATCH * h);
    test_nan_floats(got, BATCH * K);
    clEnqueueReadBuffer(c.queue, d_emb, CL_TRUE, 0, sizeof(float) * BATCH * h,
                        emb, 0, NULL, NULL);
    clEnqueueReadBuffer(c.queue, d_scores, CL_TRUE, 0,
                        sizeof(float) * BATCH * K, got, 0, NULL, NULL);
    int32_t ids[BATCH * SEQ], types[BATCH * SEQ];
    fill_ids(&c.tm.config, ids, types); /* the formula make_ids computes */
    test_nan_floats(want, BATCH * h);
    ASSERT_STATUS(clenc_encode(c.session, ids, NULL, lengths, BATCH, SEQ,
                               CLENC_POOL_MEAN | CLENC_POOL_NORMALIZE, want),
                  CLENC_OK);
    CU_ASSERT_EQUAL(differ(emb, want, BATCH * h), 0);
    double worst = 0;
    for (size_t b = 0; b < BATCH; b++)
        for (size_t j = 0; j < K; j++) {
            double s = 0;
            for (size_t i = 0; i < h; i++)
                s += (double)want[b * h + i] * matrix[j * h + i];
            worst = test_worst(worst, fabs(got[b * K + j] - s));
        }
    /* 32 products of magnitude < 1 summed in float: a few 1e-7. */
    printf("\n    scores against the host's dot products: max abs diff %.3g",
           worst);
    CU_ASSERT(worst <= 2e-6);
    clReleaseEvent(made);
    clReleaseMemObject(d_ids);
    clReleaseMemObject(d_matrix);
    clReleaseMemObject(d_emb);
    clReleaseMemObject(d_scores);
    clReleaseKernel(make_ids);
    clReleaseKernel(scores);
    clReleaseProgram(prog);
    free(matrix);
    caller_close(&c);
}

/* Buffers smaller than the shape needs are refused, naming the buffer;
 * so are the host checks' arguments and the pooler. */
void test_interop_bad_buffers_and_arguments_are_named(void)
{
    caller c;
    caller_open(&c, CLENC_VARIANT_CPU);
    const size_t h = c.tm.config.hidden, ids_bytes = 4 * BATCH * SEQ;
    cl_mem ids = buffer_of(&c, ids_bytes, NULL),
           small = buffer_of(&c, ids_bytes - 4, NULL),
           out = buffer_of(&c, sizeof(float) * BATCH * h, NULL);
    const struct {
        cl_mem ids, types, out;
        clenc_pooling pooling;
        const char *needle;
    } cases[] = {
        {small, NULL, out, CLENC_POOL_MEAN, "buffer 'ids' holds 236 bytes"},
        {ids, small, out, CLENC_POOL_MEAN, "buffer 'type_ids'"},
        {ids, NULL, small, CLENC_POOL_MEAN, "buffer 'out'"},
        /* Every token needs seq rows a sequence: `out` is for pooled. */
        {ids, NULL, out, CLENC_POOL_NONE, "buffer 'out' holds 384 bytes"},
        {ids, NULL, NULL, CLENC_POOL_MEAN, "out is NULL"},
        {ids, NULL, out, CLENC_POOL_POOLER, "CLENC_POOL_POOLER"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cl_event e = (cl_event)&c; /* must come back NULL */
        const clenc_status want = cases[i].pooling == CLENC_POOL_POOLER
                                      ? CLENC_ERR_UNSUPPORTED
                                      : CLENC_ERR_INVALID_ARG;
        ASSERT_STATUS(clenc_encode_cl(c.session, cases[i].ids, cases[i].types,
                                      lengths, BATCH, SEQ, cases[i].pooling,
                                      cases[i].out, 0, NULL, &e),
                      want);
        ASSERT_ERROR_MENTIONS(cases[i].needle);
        CU_ASSERT_PTR_NULL(e);
    }
    const int32_t bad_lengths[BATCH] = {7, 0, 20};
    ASSERT_STATUS(clenc_encode_cl(c.session, ids, NULL, bad_lengths, BATCH,
                                  SEQ, CLENC_POOL_MEAN, out, 0, NULL, NULL),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("lengths[1] is 0");
    ASSERT_STATUS(clenc_encode_cl(c.session, ids, NULL, lengths, BATCH + 1,
                                  SEQ, CLENC_POOL_MEAN, out, 0, NULL, NULL),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("batch 4 is outside");
    ASSERT_STATUS(clenc_encode_cl(c.session, ids, NULL, lengths, BATCH, SEQ,
                                  CLENC_POOL_MEAN, out, 1, NULL, NULL),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("num_events is 1 but wait_list is NULL");
    clReleaseMemObject(ids);
    clReleaseMemObject(small);
    clReleaseMemObject(out);
    caller_close(&c);
}

/* An id outside the vocabulary is read as 0 (no read out of bounds) and
 * reported by clenc_session_cl_check naming [b][t], once. */
void test_interop_ids_out_of_range_are_reported_by_the_check(void)
{
    caller c;
    caller_open(&c, CLENC_VARIANT_CPU);
    const size_t h = c.tm.config.hidden;
    int32_t ids[BATCH * SEQ], types[BATCH * SEQ];
    fill_ids(&c.tm.config, ids, types);
    float want[BATCH * 32], got[BATCH * 32];
    CU_ASSERT_FATAL(h <= 32);
    ids[2 * SEQ + 5] = 1000000; /* far past the 50 rows of the table */
    ids[2 * SEQ + 9] = -3;
    cl_mem d_ids = buffer_of(&c, sizeof ids, ids);
    ids[2 * SEQ + 9] = 0;
    types[1 * SEQ + 0] = 7; /* and a type past the table's 2 */
    cl_mem d_types = buffer_of(&c, sizeof types, types);
    cl_mem out = nan_buffer(&c, BATCH * h);
    ASSERT_STATUS(clenc_session_cl_check(c.session), CLENC_OK);
    ASSERT_STATUS(clenc_encode_cl(c.session, d_ids, d_types, lengths, BATCH,
                                  SEQ, CLENC_POOL_MEAN, out, 0, NULL, NULL),
                  CLENC_OK);
    ASSERT_STATUS(clenc_session_cl_check(c.session), CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("the token at [1][0] had an id outside the "
                          "vocabulary 0..49 or a type outside 0..1");
    ASSERT_STATUS(clenc_session_cl_check(c.session), CLENC_OK); /* cleared */
    test_nan_floats(got, BATCH * h);
    clEnqueueReadBuffer(c.queue, out, CL_TRUE, 0, sizeof(float) * BATCH * h,
                        got, 0, NULL, NULL);
    /* What the device computed: sequence 1's type 7 and sequence 2's two
     * ids read as 0. */
    ids[2 * SEQ + 5] = 0;
    types[1 * SEQ + 0] = 0;
    test_nan_floats(want, BATCH * h);
    ASSERT_STATUS(clenc_encode(c.session, ids, types, lengths, BATCH, SEQ,
                               CLENC_POOL_MEAN, want),
                  CLENC_OK);
    CU_ASSERT_EQUAL(differ(got, want, BATCH * h), 0);
    clReleaseMemObject(d_ids);
    clReleaseMemObject(d_types);
    clReleaseMemObject(out);
    caller_close(&c);
}

/* Queues and contexts that cannot carry clenc's work are refused, saying
 * why. */
void test_interop_wrong_queue_and_context_are_refused(void)
{
    caller c;
    caller_open(&c, CLENC_VARIANT_CPU);
    cl_int err;
    clenc_session *s = (clenc_session *)&c;
    cl_command_queue ooo = clCreateCommandQueue(
        c.cl, c.device, CL_QUEUE_OUT_OF_ORDER_EXEC_MODE_ENABLE, &err);
    if (err == CL_SUCCESS) {
        ASSERT_STATUS(clenc_session_create_on_queue(c.model, ooo, 1, 8, &s),
                      CLENC_ERR_INVALID_ARG);
        ASSERT_ERROR_MENTIONS("out of order");
        CU_ASSERT_PTR_NULL(s);
        clReleaseCommandQueue(ooo);
    } else {
        test_skip("the out-of-order queue check",
                  "the device has no out-of-order queues");
    }
    /* A queue of another context on the same device. */
    cl_context other = clCreateContext(NULL, 1, &c.device, NULL, NULL, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    cl_command_queue foreign = clCreateCommandQueue(other, c.device, 0, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    ASSERT_STATUS(clenc_session_create_on_queue(c.model, foreign, 1, 8, &s),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("another OpenCL context");
    ASSERT_STATUS(clenc_session_create_on_queue(c.model, NULL, 1, 8, &s),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("queue is NULL");
    clReleaseCommandQueue(foreign);
    /* A profiling context needs the queue's event times. */
    clenc_options popt;
    test_options(&popt);
    popt.profiling = 1;
    clenc_context *pctx = NULL;
    ASSERT_STATUS(clenc_context_create_on_cl(c.cl, c.device, &popt, &pctx),
                  CLENC_OK);
    clenc_model *pmodel = test_model_upload(pctx, &c.tm);
    ASSERT_STATUS(clenc_session_create_on_queue(pmodel, c.queue, 1, 8, &s),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("CL_QUEUE_PROFILING_ENABLE");
    cl_command_queue timed = clCreateCommandQueue(
        c.cl, c.device, CL_QUEUE_PROFILING_ENABLE, &err);
    CU_ASSERT_FATAL(err == CL_SUCCESS);
    ASSERT_STATUS(clenc_session_create_on_queue(pmodel, timed, 1, 8, &s),
                  CLENC_OK);
    clenc_session_destroy(s);
    clReleaseCommandQueue(timed);
    clenc_model_destroy(pmodel);
    clenc_context_destroy(pctx);

    clenc_context *ctx = (clenc_context *)&c;
    clenc_options opt;
    test_options(&opt);
    opt.device = "cpu";
    ASSERT_STATUS(clenc_context_create_on_cl(c.cl, c.device, &opt, &ctx),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("options.device is 'cpu'");
    CU_ASSERT_PTR_NULL(ctx);
    ASSERT_STATUS(clenc_context_create_on_cl(NULL, c.device, NULL, &ctx),
                  CLENC_ERR_INVALID_ARG);
    ASSERT_ERROR_MENTIONS("context is NULL");
    clReleaseContext(other);
    caller_close(&c);
}

/* examples/interop.c, as a user runs it: its table (its own kernel's dot
 * products of clenc_encode_cl's embeddings) against cosine similarities of
 * clenc_embed_text's vectors computed here in double. */
void test_interop_example_prints_the_similarities(void)
{
    static const char *const texts[] = {"A man is eating food.",
                                        "A man is eating a piece of bread.",
                                        "The new movie is awesome."};
    char *tool = test_tool("clenc-example-interop");
    char *argv[] = {tool, "--model", "models/all-MiniLM-L6-v2",
                    (char *)texts[0], (char *)texts[1], (char *)texts[2],
                    NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run(argv, NULL, &out, &err), 0);
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, "models/all-MiniLM-L6-v2", &model),
                  CLENC_OK);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, 3, 128, &s), CLENC_OK);
    float v[3 * 384];
    test_nan_floats(v, 3 * 384);
    ASSERT_STATUS(clenc_embed_text(s, (const char *const *)texts, 3, v),
                  CLENC_OK);
    /* Rows "  i TEXT (28 columns)  s1 s2 s3", after one title line. */
    const char *line = strchr(out, '\n');
    size_t rows = 0;
    double worst = 0;
    for (size_t i = 0; line && i < 3; i++, line = strchr(line + 1, '\n')) {
        double got[3];
        if (strlen(line + 1) < 32 ||
            sscanf(line + 1 + 32, "%lf %lf %lf", &got[0], &got[1],
                   &got[2]) != 3)
            break;
        rows++;
        for (size_t j = 0; j < 3; j++) {
            double dot = 0;
            for (size_t c = 0; c < 384; c++)
                dot += (double)v[i * 384 + c] * v[j * 384 + c];
            worst = test_worst(worst, fabs(got[j] - dot));
        }
    }
    printf("\n    the example's table against the library's vectors: %zu "
           "rows, max abs diff %.3g (printed to 3 decimals)",
           rows, worst);
    CU_ASSERT_EQUAL(rows, 3);
    CU_ASSERT(worst <= 6e-4);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    free(out);
    free(err);
    free(tool);
}
