/* helpers.c — the one device helper every test uses, capability probes, temporary folders, files and child processes. */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "cl/cl.h" /* the probes use the context's cl_context and device */

extern char **environ;
extern const char *test_root; /* main.c */
extern const char *test_cache; /* main.c */

void test_options(clenc_options *opt)
{
    clenc_options_init(opt);
    opt->device = NULL; /* CLENC_DEVICE, else the best device */
    opt->cache_dir = test_cache;
}

clenc_context *test_context(const clenc_options *opt)
{
    clenc_options defaults;
    if (!opt) {
        test_options(&defaults);
        opt = &defaults;
    }
    clenc_context *ctx = NULL;
    clenc_status st = clenc_context_create(opt, &ctx);
    if (st != CLENC_OK)
        fprintf(stderr, "\n    no test context: %s: %s\n",
                clenc_status_name(st), clenc_last_error());
    CU_ASSERT_FATAL(st == CLENC_OK && ctx != NULL);
    return ctx;
}

void test_expect_load_error(const char *dir, clenc_status status,
                            const char *needle1, const char *needle2)
{
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = (clenc_model *)ctx; /* load must set it to NULL */
    ASSERT_STATUS(clenc_model_load(ctx, dir, &model), status);
    CU_ASSERT_PTR_NULL(model);
    ASSERT_ERROR_MENTIONS(needle1);
    if (needle2)
        ASSERT_ERROR_MENTIONS(needle2);
    clenc_context_destroy(ctx);
}

/* ------------------------------------------------------ capability probes */

typedef struct probe_result {
    int done, has;
    char why[320];
} probe_result;

#define PROBE_ITEMS 65536

/* probe_chain: CHAIN dependent FMAs per work-item take thousands of cycles
 * on any device, however wide. */
#define CHAIN 4096
#define CHAIN_ITEMS 64
static const char probe_source[] =
    "__kernel void probe_capability(__global int *out)\n"
    "{\n"
    "    out[get_global_id(0)] = (int)get_global_id(0) * 3 + 7;\n"
    "}\n"
    "__kernel void probe_chain(__global float *out, const int n)\n"
    "{\n"
    "    float x = (float)get_global_id(0);\n"
    "    for (int i = 0; i < n; i++)\n"
    "        x = fma(x, 0.999f, 1.0f);\n"
    "    out[get_global_id(0)] = x;\n"
    "}\n";

static int probe_fail(probe_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int probe_fail(probe_result *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return 0;
}

/* `what` names the call in the probe's answer. */
#define PROBE_CALL(what, call, r)                                              \
    do {                                                                       \
        cl_int probe_err_ = (call);                                            \
        if (probe_err_ != CL_SUCCESS) {                                        \
            probe_fail((r), "%s: %s", (what),                                  \
                       clenc__cl_error_name(probe_err_));                      \
            goto out;                                                          \
        }                                                                      \
    } while (0)

/* Runs probe_capability from `prog` over PROBE_ITEMS work-items on a queue
 * with `props` and checks every result; with `event`, keeps the launch's
 * event. Returns 1 if it ran right. */
static int probe_launch(clenc_context *ctx, cl_program prog,
                        cl_command_queue_properties props, cl_event *event,
                        probe_result *r)
{
    int ok = 0;
    cl_int err = CL_SUCCESS;
    cl_command_queue q = NULL;
    cl_kernel k = NULL;
    cl_mem buf = NULL;
    int *host = malloc(PROBE_ITEMS * sizeof *host);
    const size_t global = PROBE_ITEMS;
    if (!host)
        return probe_fail(r, "no host memory");
    PROBE_CALL(
        "clCreateCommandQueue",
        (q = clCreateCommandQueue(ctx->cl, ctx->device.id, props, &err), err),
        r);
    PROBE_CALL("clCreateKernel",
               (k = clCreateKernel(prog, "probe_capability", &err), err), r);
    PROBE_CALL("clCreateBuffer",
               (buf = clCreateBuffer(ctx->cl, CL_MEM_WRITE_ONLY,
                                     PROBE_ITEMS * sizeof *host, NULL, &err),
                err),
               r);
    PROBE_CALL("clSetKernelArg", clSetKernelArg(k, 0, sizeof buf, &buf), r);
    PROBE_CALL(
        "clEnqueueNDRangeKernel",
        clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, event),
        r);
    PROBE_CALL("clEnqueueReadBuffer",
               clEnqueueReadBuffer(q, buf, CL_TRUE, 0,
                                   PROBE_ITEMS * sizeof *host, host, 0, NULL,
                                   NULL),
               r);
    for (int i = 0; i < PROBE_ITEMS; i++)
        if (host[i] != i * 3 + 7) {
            probe_fail(r, "the probe kernel wrote %d at %d, not %d", host[i], i,
                       i * 3 + 7);
            goto out;
        }
    ok = 1;
out:
    if (buf)
        clReleaseMemObject(buf);
    if (k)
        clReleaseKernel(k);
    if (q)
        clReleaseCommandQueue(q);
    free(host);
    return ok;
}

static cl_program probe_build(clenc_context *ctx, probe_result *r)
{
    cl_int err = CL_SUCCESS;
    const char *text = probe_source;
    cl_program prog = NULL;
    PROBE_CALL(
        "clCreateProgramWithSource",
        (prog = clCreateProgramWithSource(ctx->cl, 1, &text, NULL, &err), err),
        r);
    PROBE_CALL("clBuildProgram",
               clBuildProgram(prog, 1, &ctx->device.id, "", NULL, NULL), r);
    return prog;
out:
    if (prog)
        clReleaseProgram(prog);
    return NULL;
}

static clenc_context *probe_context(probe_result *r)
{
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = "off";
    clenc_context *ctx = NULL;
    clenc_status st = clenc_context_create(&opt, &ctx);
    if (st != CLENC_OK)
        probe_fail(r, "no context on the test device: %s: %s",
                   clenc_status_name(st), clenc_last_error());
    return ctx;
}

static int probe_binaries(probe_result *r)
{
    int ok = 0;
    cl_int err = CL_SUCCESS, bin_status = CL_SUCCESS;
    size_t size = 0;
    unsigned char *bin = NULL;
    const unsigned char *bins[1] = {NULL};
    cl_program from_binary = NULL, prog = NULL;
    clenc_context *ctx = probe_context(r);
    if (!ctx || !(prog = probe_build(ctx, r)))
        goto out;
    PROBE_CALL("clGetProgramInfo(CL_PROGRAM_BINARY_SIZES)",
               clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size,
                                &size, NULL),
               r);
    if (size == 0) {
        probe_fail(r, "clGetProgramInfo(CL_PROGRAM_BINARY_SIZES) gave 0 bytes");
        goto out;
    }
    if (!(bin = malloc(size))) {
        probe_fail(r, "no host memory");
        goto out;
    }
    PROBE_CALL(
        "clGetProgramInfo(CL_PROGRAM_BINARIES)",
        clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL), r);
    bins[0] = bin;
    PROBE_CALL("clCreateProgramWithBinary",
               (from_binary =
                    clCreateProgramWithBinary(ctx->cl, 1, &ctx->device.id,
                                              &size, bins, &bin_status, &err),
                err != CL_SUCCESS ? err : bin_status),
               r);
    PROBE_CALL("clBuildProgram of the binary",
               clBuildProgram(from_binary, 1, &ctx->device.id, "", NULL, NULL),
               r);
    ok = probe_launch(ctx, from_binary, 0, NULL, r);
out:
    if (from_binary)
        clReleaseProgram(from_binary);
    if (prog)
        clReleaseProgram(prog);
    free(bin);
    clenc_context_destroy(ctx);
    return ok;
}

static int probe_profiling(probe_result *r)
{
    int ok = 0;
    cl_int err = CL_SUCCESS;
    cl_event event = NULL;
    cl_ulong t[4] = {0}; /* queued, submitted, started, ended */
    cl_program prog = NULL;
    cl_command_queue q = NULL;
    cl_kernel k = NULL;
    cl_mem buf = NULL;
    const size_t global = CHAIN_ITEMS;
    const cl_int n = CHAIN;
    clenc_context *ctx = probe_context(r);
    if (!ctx || !(prog = probe_build(ctx, r)))
        goto out;
    PROBE_CALL("clCreateCommandQueue",
               (q = clCreateCommandQueue(ctx->cl, ctx->device.id,
                                         CL_QUEUE_PROFILING_ENABLE, &err),
                err),
               r);
    PROBE_CALL("clCreateKernel",
               (k = clCreateKernel(prog, "probe_chain", &err), err), r);
    PROBE_CALL("clCreateBuffer",
               (buf = clCreateBuffer(ctx->cl, CL_MEM_WRITE_ONLY,
                                     CHAIN_ITEMS * sizeof(float), NULL, &err),
                err),
               r);
    PROBE_CALL("clSetKernelArg", clSetKernelArg(k, 0, sizeof buf, &buf), r);
    PROBE_CALL("clSetKernelArg", clSetKernelArg(k, 1, sizeof n, &n), r);
    PROBE_CALL(
        "clEnqueueNDRangeKernel",
        clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, &event),
        r);
    PROBE_CALL("clFinish", clFinish(q), r);
    for (int i = 0; i < 4; i++)
        PROBE_CALL("clGetEventProfilingInfo",
                   clGetEventProfilingInfo(event,
                                           CL_PROFILING_COMMAND_QUEUED + i,
                                           sizeof t[i], &t[i], NULL),
                   r);
    /* Mesa 22.3's Rusticl answers 0, 1, 2 and 3 ns. */
    if (t[0] > t[1] || t[1] > t[2] || t[2] > t[3] || t[3] - t[2] < 1000) {
        probe_fail(r,
                   "a kernel of %d dependent FMAs a work-item was profiled as "
                   "queued %llu, submitted %llu, started %llu, ended %llu ns",
                   CHAIN, (unsigned long long)t[0], (unsigned long long)t[1],
                   (unsigned long long)t[2], (unsigned long long)t[3]);
        goto out;
    }
    ok = 1;
out:
    if (event)
        clReleaseEvent(event);
    if (buf)
        clReleaseMemObject(buf);
    if (k)
        clReleaseKernel(k);
    if (q)
        clReleaseCommandQueue(q);
    if (prog)
        clReleaseProgram(prog);
    clenc_context_destroy(ctx);
    return ok;
}

static int probe_once(probe_result *r, int (*run)(probe_result *),
                      const char **why)
{
    if (!r->done) {
        r->has = run(r);
        r->done = 1;
    }
    if (why)
        *why = r->has ? "" : r->why;
    return r->has;
}

int test_device_has_program_binaries(const char **why)
{
    static probe_result r;
    return probe_once(&r, probe_binaries, why);
}

int test_device_has_profiling_times(const char **why)
{
    static probe_result r;
    return probe_once(&r, probe_profiling, why);
}

int test_program_binaries_or_report(const char *unchecked)
{
    const char *why;
    if (test_device_has_program_binaries(&why))
        return 1;
    char because[400];
    snprintf(because, sizeof because, "device lacks program binaries: %s",
             why);
    test_skip(unchecked, because);
    return 0;
}

const char *test_root_dir(void)
{
    return test_root;
}

char *test_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    CU_ASSERT_FATAL(p != NULL);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *test_tmpdir(const char *tag)
{
    char *t = test_path(test_root, tag);
    size_t n = strlen(t) + 8;
    char *p = realloc(t, n);
    CU_ASSERT_FATAL(p != NULL);
    strcat(p, "-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(p) != NULL);
    return p;
}

int test_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

unsigned char *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *grown = realloc(buf, 2 * cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (size)
            *size = n;
    }
    return buf;
}

size_t test_list_dir(const char *dir, const char *suffix, char **first)
{
    size_t count = 0, ls = strlen(suffix);
    if (first)
        *first = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < ls || strcmp(e->d_name + n - ls, suffix) != 0)
            continue;
        if (count++ == 0 && first)
            *first = test_path(dir, e->d_name);
    }
    closedir(d);
    return count;
}

int test_run(char *const argv[], char *const env[], char **out, char **err)
{
    char *err_path = test_path(test_root, "stderr-XXXXXX");
    int err_fd = mkstemp(err_path);
    CU_ASSERT_FATAL(err_fd >= 0);
    size_t ne = 0, nx = 0;
    while (environ[ne])
        ne++;
    while (env && env[nx])
        nx++;
    char **envp = calloc(ne + nx + 1, sizeof *envp);
    CU_ASSERT_FATAL(envp != NULL);
    if (nx)
        memcpy(envp, env, nx * sizeof *envp);
    memcpy(envp + nx, environ, ne * sizeof *envp);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(err_fd, 2);
        close(fds[0]);
        close(fds[1]);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    char chunk[4096];
    while ((got = read(fds[0], chunk, sizeof chunk)) > 0) {
        if (buf && n + (size_t)got + 1 > cap) {
            while (n + (size_t)got + 1 > cap)
                cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown)
                free(buf);
            buf = grown;
        }
        if (buf) {
            memcpy(buf + n, chunk, (size_t)got);
            n += (size_t)got;
        }
    }
    close(fds[0]);
    if (buf)
        buf[n] = '\0';
    int status = 0;
    waitpid(pid, &status, 0);
    free(envp);
    close(err_fd);
    if (err)
        *err = (char *)test_read_file(err_path, NULL);
    unlink(err_path);
    free(err_path);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const char *test_self(void)
{
    static char self[4096];
    if (!self[0]) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        CU_ASSERT_FATAL(n > 0);
        self[n] = '\0';
    }
    return self;
}

char *test_tool(const char *name)
{
    char *dir = strdup(test_self());
    CU_ASSERT_FATAL(dir != NULL);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    char *p = test_path(dir, name);
    free(dir);
    return p;
}

int test_spawn(char *const argv[])
{
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    return (int)pid;
}

int test_run_clenc_run(char **argv, char **out, char **err)
{
    char *tool = test_tool("clenc-run");
    argv[0] = tool;
    int rc = test_run(argv, NULL, out, err);
    free(tool);
    return rc;
}
