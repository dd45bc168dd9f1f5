/* interop.c — example: clenc inside an application's own OpenCL pipeline (clenc_cl.h): token ids up, encoder, the application's kernel on the embeddings, one wait at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clenc_cl.h"

#define MAX_TEXTS 64
#define MAX_TOKENS 128

/* The application's own kernel: cosine similarity of every pair of
 * embeddings (clenc normalised them, so a dot product). */
static const char *similarity_source =
    "__kernel void similarity(__global const float *e, __global float *out,\n"
    "                         const int n, const int dim)\n"
    "{\n"
    "    const int i = get_global_id(0) / n, j = get_global_id(0) % n;\n"
    "    float s = 0.0f;\n"
    "    for (int c = 0; c < dim; c++)\n"
    "        s += e[i * dim + c] * e[j * dim + c];\n"
    "    out[i * n + j] = s;\n"
    "}\n";

static int fail(const char *what, clenc_status st)
{
    fprintf(stderr, "clenc-example-interop: %s: %s: %s\n", what,
            clenc_status_name(st), clenc_last_error());
    return 1;
}

static int cl_fail(const char *what, cl_int err)
{
    fprintf(stderr, "clenc-example-interop: %s: OpenCL error %d\n", what,
            (int)err);
    return 1;
}

/* The application's device: the one clenc_device_find names (its
 * platform:device indices), as plain OpenCL handles. */
static int open_device(const char *spec, cl_device_id *device)
{
    clenc_device_info info;
    clenc_status st = clenc_device_find(spec, &info);
    if (st != CLENC_OK)
        return fail("clenc_device_find", st);
    cl_platform_id platforms[64];
    cl_device_id devices[64];
    cl_uint np = 0, nd = 0;
    if (clGetPlatformIDs(64, platforms, &np) != CL_SUCCESS ||
        info.platform_index >= np ||
        clGetDeviceIDs(platforms[info.platform_index], CL_DEVICE_TYPE_ALL, 64,
                       devices, &nd) != CL_SUCCESS ||
        info.device_index >= nd)
        return cl_fail("clGetDeviceIDs", CL_DEVICE_NOT_FOUND);
    *device = devices[info.device_index];
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: clenc-example-interop --model DIR [--device SPEC] TEXT...\n"
            "Embeds the texts inside an OpenCL pipeline of its own and prints\n"
            "their cosine similarities, computed by its own kernel.\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *model_dir = NULL, *spec = NULL;
    const char *texts[MAX_TEXTS];
    int n = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help"))
            return usage() - 2;
        if (!strcmp(argv[i], "--model") && i + 1 < argc)
            model_dir = argv[++i];
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            spec = argv[++i];
        else if (argv[i][0] != '-' && n < MAX_TEXTS)
            texts[n++] = argv[i];
        else
            return usage();
    }
    if (!model_dir || n == 0)
        return usage();

    /* The application's context and in-order queue. */
    cl_device_id device;
    if (open_device(spec, &device))
        return 1;
    cl_int err;
    cl_context cl = clCreateContext(NULL, 1, &device, NULL, NULL, &err);
    if (err != CL_SUCCESS)
        return cl_fail("clCreateContext", err);
    cl_command_queue queue = clCreateCommandQueue(cl, device, 0, &err);
    if (err != CL_SUCCESS)
        return cl_fail("clCreateCommandQueue", err);

    /* clenc on them. */
    clenc_context *ctx;
    clenc_model *model;
    clenc_session *session;
    clenc_model_info info;
    clenc_status st;
    if ((st = clenc_context_create_on_cl(cl, device, NULL, &ctx)) != CLENC_OK)
        return fail("clenc_context_create_on_cl", st);
    if ((st = clenc_model_load(ctx, model_dir, &model)) != CLENC_OK ||
        (st = clenc_model_info_get(model, &info)) != CLENC_OK)
        return fail(model_dir, st);
    if ((st = clenc_session_create_on_queue(model, queue, (unsigned)n,
                                            MAX_TOKENS, &session)) != CLENC_OK)
        return fail("clenc_session_create_on_queue", st);

    /* Token ids on the host (the tokenizer runs there), padded to the
     * longest. */
    static int32_t ids[MAX_TEXTS][MAX_TOKENS];
    int32_t lengths[MAX_TEXTS];
    unsigned seq = 1;
    for (int i = 0; i < n; i++) {
        size_t len;
        st = clenc_tokenize(model, texts[i], NULL, MAX_TOKENS, ids[i], NULL,
                            &len);
        if (st != CLENC_OK)
            return fail(texts[i], st);
        lengths[i] = (int32_t)len;
        seq = len > seq ? (unsigned)len : seq;
    }
    static int32_t packed[MAX_TEXTS * MAX_TOKENS];
    for (int i = 0; i < n; i++)
        memcpy(packed + (size_t)i * seq, ids[i], sizeof(int32_t) * seq);

    const size_t dim = info.hidden;
    cl_mem d_ids = clCreateBuffer(cl, CL_MEM_READ_ONLY,
                                  sizeof(int32_t) * n * seq, NULL, &err);
    cl_mem d_emb = clCreateBuffer(cl, CL_MEM_READ_WRITE,
                                  sizeof(float) * n * dim, NULL, &err);
    cl_mem d_sim = clCreateBuffer(cl, CL_MEM_WRITE_ONLY,
                                  sizeof(float) * n * n, NULL, &err);
    cl_program prog = clCreateProgramWithSource(cl, 1, &similarity_source,
                                                NULL, &err);
    if (err != CL_SUCCESS ||
        (err = clBuildProgram(prog, 1, &device, "", NULL, NULL)) != CL_SUCCESS)
        return cl_fail("building the similarity kernel", err);
    cl_kernel kernel = clCreateKernel(prog, "similarity", &err);

    /* The pipeline: upload, encode, similarity; nothing waits until the
     * end. */
    cl_event uploaded, encoded;
    clEnqueueWriteBuffer(queue, d_ids, CL_FALSE, 0, sizeof(int32_t) * n * seq,
                         packed, 0, NULL, &uploaded);
    st = clenc_encode_cl(session, d_ids, NULL, lengths, (unsigned)n, seq,
                         CLENC_POOL_DEFAULT, d_emb, 1, &uploaded, &encoded);
    if (st != CLENC_OK)
        return fail("clenc_encode_cl", st);
    const cl_int nn = n, dd = (cl_int)dim;
    clSetKernelArg(kernel, 0, sizeof d_emb, &d_emb);
    clSetKernelArg(kernel, 1, sizeof d_sim, &d_sim);
    clSetKernelArg(kernel, 2, sizeof nn, &nn);
    clSetKernelArg(kernel, 3, sizeof dd, &dd);
    const size_t global = (size_t)n * n;
    clEnqueueNDRangeKernel(queue, kernel, 1, NULL, &global, NULL, 1, &encoded,
                           NULL);
    float sim[MAX_TEXTS * MAX_TEXTS];
    err = clEnqueueReadBuffer(queue, d_sim, CL_TRUE, 0,
                              sizeof(float) * n * n, sim, 0, NULL, NULL);
    if (err != CL_SUCCESS)
        return cl_fail("reading the similarities", err);
    if ((st = clenc_session_cl_check(session)) != CLENC_OK)
        return fail("clenc_session_cl_check", st);

    printf("cosine similarity (the application's kernel on clenc's "
           "embeddings)\n");
    for (int i = 0; i < n; i++) {
        printf("  %d %-28.28s", i + 1, texts[i]);
        for (int j = 0; j < n; j++)
            printf(" %6.3f", sim[i * n + j]);
        printf("\n");
    }

    clReleaseEvent(uploaded);
    clReleaseEvent(encoded);
    clReleaseKernel(kernel);
    clReleaseProgram(prog);
    clReleaseMemObject(d_ids);
    clReleaseMemObject(d_emb);
    clReleaseMemObject(d_sim);
    clenc_session_destroy(session);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    clReleaseCommandQueue(queue);
    clReleaseContext(cl);
    return 0;
}
