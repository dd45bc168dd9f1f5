/* bench-interop.c — clenc-bench-interop: an application's OpenCL pipeline (ids kernel, encoder, scoring kernel) timed with clenc_encode_cl and with host round trips through clenc_encode, interleaved, medians. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clenc_cl.h"
#include "cli.h"

#define PROG "clenc-bench-interop"
#define K 16 /* rows the application scores each embedding against */

static const char usage[] =
    "usage: " PROG " --model DIR [--device SPEC] [--shapes BxS,...] "
    "[--runs N]\n"
    "Times one step of an application's OpenCL pipeline: its kernel writes\n"
    "token ids into a buffer, clenc encodes them, its kernel scores the\n"
    "embeddings against 16 rows; one wait at the end. Two ways, interleaved:\n"
    "  device   clenc_encode_cl from the ids buffer into a buffer, behind the\n"
    "           ids kernel's event (no host synchronisation inside)\n"
    "  host     ids read back to the host, clenc_encode, the embeddings\n"
    "           written back to the device (three host round trips)\n"
    "Prints the median milliseconds of each and host / device.\n"
    "  --shapes   batch x sequence length (default 1x16,32x128)\n"
    "  --runs N   timed runs of each way a shape (default 30)\n";

static const char *kernels =
    "__kernel void make_ids(__global int *ids, const int vocab, const int salt)\n"
    "{\n"
    "    const int i = get_global_id(0);\n"
    "    ids[i] = (i * 31 + salt) % vocab;\n"
    "}\n"
    "__kernel void scores(__global const float *e, __global const float *m,\n"
    "                     __global float *out, const int dim)\n"
    "{\n"
    "    const int b = get_global_id(0) / 16, j = get_global_id(0) % 16;\n"
    "    float s = 0.0f;\n"
    "    for (int c = 0; c < dim; c++)\n"
    "        s += e[b * dim + c] * m[j * dim + c];\n"
    "    out[b * 16 + j] = s;\n"
    "}\n";

typedef struct app {
    cl_context cl;
    cl_device_id device;
    cl_command_queue queue;
    cl_kernel make_ids, scores;
    cl_mem ids, emb, matrix, out;
    clenc_session *session;
    int32_t *host_ids, *lengths;
    float *host_emb;
    unsigned batch, seq, dim, vocab;
} app;

static int cl_check(cl_int err, const char *what)
{
    if (err == CL_SUCCESS)
        return 0;
    fprintf(stderr, PROG ": %s: OpenCL error %d\n", what, (int)err);
    return 1;
}

/* Enqueues the ids kernel (its event in *made). */
static cl_int enqueue_ids(app *a, int salt, cl_event *made)
{
    const cl_int vocab = (cl_int)a->vocab;
    clSetKernelArg(a->make_ids, 0, sizeof a->ids, &a->ids);
    clSetKernelArg(a->make_ids, 1, sizeof vocab, &vocab);
    clSetKernelArg(a->make_ids, 2, sizeof salt, &salt);
    const size_t n = (size_t)a->batch * a->seq;
    return clEnqueueNDRangeKernel(a->queue, a->make_ids, 1, NULL, &n, NULL, 0,
                                  NULL, made);
}

static cl_int enqueue_scores(app *a)
{
    const cl_int dim = (cl_int)a->dim;
    clSetKernelArg(a->scores, 0, sizeof a->emb, &a->emb);
    clSetKernelArg(a->scores, 1, sizeof a->matrix, &a->matrix);
    clSetKernelArg(a->scores, 2, sizeof a->out, &a->out);
    clSetKernelArg(a->scores, 3, sizeof dim, &dim);
    const size_t n = (size_t)a->batch * K;
    return clEnqueueNDRangeKernel(a->queue, a->scores, 1, NULL, &n, NULL, 0,
                                  NULL, NULL);
}

/* One step with clenc_encode_cl: nothing waits until the final clFinish. */
static int step_device(app *a, int salt)
{
    cl_event made;
    if (cl_check(enqueue_ids(a, salt, &made), "make_ids"))
        return 1;
    clenc_status st = clenc_encode_cl(a->session, a->ids, NULL, a->lengths,
                                      a->batch, a->seq, CLENC_POOL_DEFAULT,
                                      a->emb, 1, &made, NULL);
    clReleaseEvent(made);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    return cl_check(enqueue_scores(a), "scores") ||
           cl_check(clFinish(a->queue), "clFinish");
}

/* The same step through the host API: ids down, encode, embeddings up. */
static int step_host(app *a, int salt)
{
    const size_t n = (size_t)a->batch * a->seq;
    if (cl_check(enqueue_ids(a, salt, NULL), "make_ids") ||
        cl_check(clEnqueueReadBuffer(a->queue, a->ids, CL_TRUE, 0,
                                     n * sizeof(int32_t), a->host_ids, 0,
                                     NULL, NULL),
                 "reading the ids"))
        return 1;
    clenc_status st = clenc_encode(a->session, a->host_ids, NULL, a->lengths,
                                   a->batch, a->seq, CLENC_POOL_DEFAULT,
                                   a->host_emb);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    return cl_check(clEnqueueWriteBuffer(a->queue, a->emb, CL_FALSE, 0,
                                         sizeof(float) * a->batch * a->dim,
                                         a->host_emb, 0, NULL, NULL),
                    "writing the embeddings") ||
           cl_check(enqueue_scores(a), "scores") ||
           cl_check(clFinish(a->queue), "clFinish");
}

static int shape_buffers(app *a)
{
    cl_int err;
    const size_t n = (size_t)a->batch * a->seq;
    a->host_ids = malloc(n * sizeof *a->host_ids);
    a->lengths = malloc(a->batch * sizeof *a->lengths);
    a->host_emb = malloc((size_t)a->batch * a->dim * sizeof *a->host_emb);
    if (!a->host_ids || !a->lengths || !a->host_emb)
        return cl_check(CL_OUT_OF_HOST_MEMORY, "host memory");
    for (unsigned b = 0; b < a->batch; b++) /* every length, seq/2..seq */
        a->lengths[b] = (int32_t)(a->seq - (b * 7) % (a->seq / 2 + 1));
    a->ids = clCreateBuffer(a->cl, CL_MEM_READ_WRITE, n * sizeof(int32_t),
                            NULL, &err);
    if (!err)
        a->emb = clCreateBuffer(a->cl, CL_MEM_READ_WRITE,
                                sizeof(float) * a->batch * a->dim, NULL, &err);
    if (!err)
        a->out = clCreateBuffer(a->cl, CL_MEM_READ_WRITE,
                                sizeof(float) * a->batch * K, NULL, &err);
    return cl_check(err, "clCreateBuffer");
}

static void shape_free(app *a)
{
    clReleaseMemObject(a->ids);
    clReleaseMemObject(a->emb);
    clReleaseMemObject(a->out);
    free(a->host_ids);
    free(a->lengths);
    free(a->host_emb);
}

static int run_shape(app *a, clenc_model *model, unsigned runs)
{
    double *dev = calloc(runs, sizeof *dev), *host = calloc(runs, sizeof *host);
    clenc_status st = clenc_session_create_on_queue(model, a->queue, a->batch,
                                                    a->seq, &a->session);
    if (!dev || !host || st != CLENC_OK || shape_buffers(a)) {
        free(dev);
        free(host);
        return st != CLENC_OK ? cli_fail(PROG, st) : 1;
    }
    int bad = step_device(a, 0) || step_host(a, 0); /* warm up */
    for (unsigned r = 0; r < runs && !bad; r++) {
        /* Interleaved, and in turn first, so drift hits both alike. */
        for (int w = 0; w < 2 && !bad; w++) {
            const int device_way = (int)(r + w) % 2 == 0;
            const double t0 = cli_now_ms();
            bad = device_way ? step_device(a, (int)r) : step_host(a, (int)r);
            (device_way ? dev : host)[r] = cli_now_ms() - t0;
        }
    }
    if (!bad) {
        const double d = cli_median(dev, runs), h = cli_median(host, runs);
        printf("%5ux%-5u %12.3f %12.3f %13.2fx\n", a->batch, a->seq, d, h,
               h / d);
    }
    clenc_session_destroy(a->session);
    shape_free(a);
    free(dev);
    free(host);
    return bad;
}

static int open_app(app *a, const char *spec, const char *model_dir,
                    clenc_context **ctx, clenc_model **model)
{
    clenc_device_info info;
    clenc_status st = clenc_device_find(spec, &info);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    cl_platform_id platforms[64];
    cl_device_id devices[64];
    cl_uint np = 0, nd = 0;
    cl_int err = clGetPlatformIDs(64, platforms, &np);
    if (!err)
        err = clGetDeviceIDs(platforms[info.platform_index],
                             CL_DEVICE_TYPE_ALL, 64, devices, &nd);
    if (cl_check(err, "clGetDeviceIDs"))
        return 1;
    a->device = devices[info.device_index];
    a->cl = clCreateContext(NULL, 1, &a->device, NULL, NULL, &err);
    if (!err)
        a->queue = clCreateCommandQueue(a->cl, a->device, 0, &err);
    cl_program prog = NULL;
    if (!err)
        prog = clCreateProgramWithSource(a->cl, 1, &kernels, NULL, &err);
    if (!err)
        err = clBuildProgram(prog, 1, &a->device, "", NULL, NULL);
    if (!err)
        a->make_ids = clCreateKernel(prog, "make_ids", &err);
    if (!err)
        a->scores = clCreateKernel(prog, "scores", &err);
    if (prog)
        clReleaseProgram(prog);
    if (cl_check(err, "the application's context, queue and kernels"))
        return 1;
    clenc_model_info mi;
    if ((st = clenc_context_create_on_cl(a->cl, a->device, NULL, ctx)) !=
            CLENC_OK ||
        (st = clenc_model_load(*ctx, model_dir, model)) != CLENC_OK ||
        (st = clenc_model_info_get(*model, &mi)) != CLENC_OK)
        return cli_fail(PROG, st);
    a->dim = mi.hidden;
    a->vocab = mi.vocab_size;
    float *m = malloc(sizeof(float) * K * a->dim);
    if (!m)
        return cl_check(CL_OUT_OF_HOST_MEMORY, "host memory");
    for (size_t i = 0; i < (size_t)K * a->dim; i++)
        m[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    a->matrix = clCreateBuffer(a->cl, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR,
                               sizeof(float) * K * a->dim, m, &err);
    free(m);
    printf("%s on %s (%s)\n", mi.name, info.name, info.platform);
    return cl_check(err, "clCreateBuffer");
}

int main(int argc, char **argv)
{
    const char *model_dir = NULL, *spec = NULL, *shapes = "1x16,32x128";
    unsigned runs = 30;
    for (int i = 1; i < argc; i++) {
        const char *v;
        int missing = 0;
        cli_help_or_version(argv[i], PROG, usage);
        if (cli_option(argc, argv, &i, "--model", &model_dir, &missing) ||
            cli_option(argc, argv, &i, "--device", &spec, &missing) ||
            cli_option(argc, argv, &i, "--shapes", &shapes, &missing)) {
        } else if (cli_option(argc, argv, &i, "--runs", &v, &missing)) {
            if (!missing && (cli_parse_list(v, &runs, 1, 100000) != 1))
                return cli_usage_error(PROG, "--runs '%s': a count", v);
        } else {
            return cli_usage_error(PROG, "unknown argument '%s'", argv[i]);
        }
        if (missing)
            return cli_usage_error(PROG, "%s needs a value", argv[i]);
    }
    if (!model_dir)
        return cli_usage_error(PROG, "--model DIR is required");
    app a;
    memset(&a, 0, sizeof a);
    clenc_context *ctx = NULL;
    clenc_model *model = NULL;
    int bad = open_app(&a, spec, model_dir, &ctx, &model);
    if (!bad)
        printf("medians of %u runs a way, interleaved\n%11s %12s %12s %14s\n",
               runs, "shape", "device ms", "host ms", "host / device");
    for (const char *p = shapes; !bad && p && *p;) {
        unsigned b, s;
        if (sscanf(p, "%ux%u", &b, &s) != 2 || !b || !s || s > 512)
            return cli_usage_error(PROG, "--shapes: '%s' is not BxS", p);
        a.batch = b;
        a.seq = s;
        bad = run_shape(&a, model, runs);
        p = strchr(p, ',');
        p = p ? p + 1 : NULL;
    }
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    if (a.matrix)
        clReleaseMemObject(a.matrix);
    if (a.make_ids)
        clReleaseKernel(a.make_ids);
    if (a.scores)
        clReleaseKernel(a.scores);
    if (a.queue)
        clReleaseCommandQueue(a.queue);
    if (a.cl)
        clReleaseContext(a.cl);
    return bad;
}
