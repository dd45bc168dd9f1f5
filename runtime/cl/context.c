/* context.c — options, and the context: chosen device, OpenCL context, transfer queue, loaded container. */
#define _GNU_SOURCE /* secure_getenv */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cl/cl.h"

clenc_status clenc_options_init_sized(clenc_options *opt, size_t opt_size)
{
    if (!opt)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_options_init: opt is NULL");
    clenc_status st = CLENC__STRUCT_SIZE("clenc_options_init", clenc_options,
                                         opt_size);
    if (st != CLENC_OK)
        return st;
    clenc_options defaults;
    memset(&defaults, 0, sizeof defaults); /* every default is 0 */
    CLENC__STRUCT_OUT(opt, opt_size, &defaults);
    return CLENC_OK;
}

/* An option set by the caller wins over the variable. secure_getenv: in a
 * setuid program the caller's environment must not choose what runs. */
static const char *option_or_env(const char *option, const char *var)
{
    if (option && *option)
        return option;
    const char *v = secure_getenv(var);
    return v && *v ? v : NULL;
}

static clenc_status resolve_kernel_dir(const clenc_options *opt, char **out)
{
    *out = NULL;
    const char *dir = option_or_env(opt->kernel_dir, "CLENC_KERNEL_DIR");
    if (!dir)
        return CLENC_OK;
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return clenc__fail(CLENC_ERR_IO,
                           "kernel folder '%s' (%s) is not a folder", dir,
                           opt->kernel_dir ? "option kernel_dir"
                                           : "CLENC_KERNEL_DIR");
    if (!(*out = clenc__strdup(dir)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    return CLENC_OK;
}

/* An enum option, else its variable ("own" / "clblast"...), else `dflt`. */
static clenc_status resolve_choice(int option, const char *var,
                                   const char *const names[], int count,
                                   int dflt, int *out)
{
    *out = option ? option : dflt;
    if (option)
        return option > 0 && option < count
                   ? CLENC_OK
                   : clenc__fail(CLENC_ERR_INVALID_ARG,
                                 "option for %s is %d", var, option);
    const char *v = secure_getenv(var);
    if (!v || !*v)
        return CLENC_OK;
    for (int i = 0; i < count; i++)
        if (strcasecmp(v, names[i]) == 0) {
            *out = i ? i : dflt;
            return CLENC_OK;
        }
    char expected[128] = "";
    for (int i = 1; i < count; i++)
        snprintf(expected + strlen(expected), sizeof expected - strlen(expected),
                 "%s%s", i == 1 ? "" : i == count - 1 ? " or " : ", ",
                 names[i]);
    return clenc__fail(CLENC_ERR_INVALID_ARG, "%s='%s': expected %s", var, v,
                       expected);
}

static clenc_status load_container(clenc_context *ctx, const char *path)
{
    clenc_status st;
    unsigned char *data;
    size_t size;
    clenc__container *c = clenc__calloc(1, sizeof *c);
    if (!c || !(ctx->container_path = clenc__strdup(path))) {
        clenc__free(c);
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    }
    TRY(clenc__file_read(path, "program container", &data, &size), out_free);
    st = clenc__container_parse(data, size, path, c);
    clenc__free(data);
    if (st != CLENC_OK)
        goto out_free;
    TRY(clenc__container_check(c, path, &ctx->device.info), out_free_contents);
    ctx->container = c;
    return CLENC_OK;
out_free_contents:
    clenc__container_free(c);
out_free:
    clenc__free(c);
    return st;
}

clenc_status clenc__queue_create(clenc_context *ctx, cl_command_queue *out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    cl_command_queue_properties props =
        ctx->profiling ? CL_QUEUE_PROFILING_ENABLE : 0;
    CL_CHECK((*out = clCreateCommandQueue(ctx->cl, ctx->device.id, props,
                                          &err),
              err),
             fail);
    return CLENC_OK;
fail:
    *out = NULL;
    return st;
}

const char *clenc_precision_name(clenc_precision precision)
{
    static const char *const names[] = {"default", "fp32", "fp16", "int8"};
    return (unsigned)precision < 4 ? names[precision] : NULL;
}

/* The GEMM, tuning and kernel family: each option, else its variable,
 * else the default (the family by device type). */
static clenc_status resolve_choices(const clenc_options *opt,
                                    clenc_context *ctx)
{
    clenc_status st;
    static const char *const gemms[] = {"auto", "own", "clblast"};
    static const char *const variants[] = {"auto", "cpu", "gpu"};
    static const char *const tunes[] = {"default", "off", "fast", "thorough"};
    static const char *const precisions[] = {"default", "fp32", "fp16",
                                             "int8"};
    static const char *const fp16_modes[] = {"auto", "force", "off"};
    int gemm, variant, tune, precision, fp16;
    TRY(resolve_choice(opt->gemm, "CLENC_GEMM", gemms, 3, CLENC_GEMM_AUTO,
                       &gemm),
        out);
    TRY(resolve_choice(opt->tune, "CLENC_TUNE", tunes, 4, CLENC_TUNE_FAST,
                       &tune),
        out);
    TRY(resolve_choice(opt->variant, "CLENC_VARIANT", variants, 3,
                       ctx->device.info.type == CLENC_DEVICE_CPU
                           ? CLENC_VARIANT_CPU
                           : CLENC_VARIANT_GPU,
                       &variant),
        out);
    TRY(resolve_choice(opt->precision, "CLENC_PRECISION", precisions, 4,
                       CLENC_PRECISION_FP32, &precision),
        out);
    TRY(resolve_choice(opt->fp16_compute, "CLENC_FP16_COMPUTE", fp16_modes, 3,
                       CLENC_FP16_COMPUTE_AUTO, &fp16),
        out);
    ctx->gemm = (clenc_gemm)gemm;
    ctx->precision = (clenc_precision)precision;
    ctx->fp16_compute = (clenc_fp16_compute)fp16;
    ctx->variant = (clenc_variant)variant;
    ctx->tune = (clenc_tune)tune;
out:
    return st;
}

/* The options as the caller gave them (NULL: the defaults), checked, and
 * a context holding what needs no device yet. */
static clenc_status context_begin(const clenc_options *caller_opt,
                                  size_t opt_size, const char *fn,
                                  clenc_options *opt, clenc_context **out)
{
    clenc_status st = CLENC_OK;
    *out = NULL;
    if (!caller_opt)
        memset(opt, 0, sizeof *opt); /* the defaults */
    else if ((st = CLENC__STRUCT_IN(fn, clenc_options, opt, caller_opt,
                                    opt_size)) != CLENC_OK)
        return st;
    if (opt->source_build != CLENC_SOURCE_ALLOW &&
        opt->source_build != CLENC_SOURCE_FORBID)
        return clenc__fail(CLENC_ERR_INVALID_ARG, "%s: source_build is %d", fn,
                           (int)opt->source_build);
    clenc_context *ctx = clenc__calloc(1, sizeof *ctx);
    if (!ctx)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    if (pthread_mutex_init(&ctx->lock, NULL) != 0) {
        clenc__free(ctx);
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no mutex");
    }
    ctx->source_build = opt->source_build;
    ctx->profiling = opt->profiling != 0;
    st = resolve_kernel_dir(opt, &ctx->kernel_dir);
    if (st != CLENC_OK) {
        clenc_context_destroy(ctx);
        return st;
    }
    *out = ctx;
    return CLENC_OK;
}

/* What needs the device: the choices it decides, the cache folder (after
 * the device: a context that cannot be made creates no folder), the OpenCL
 * context when ctx->cl is not the caller's, the transfer queue and the
 * container. */
static clenc_status context_finish(clenc_context *ctx,
                                   const clenc_options *opt)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    TRY(resolve_choices(opt, ctx), out);
    TRY(clenc__cache_open(ctx, opt), out);
    cl_context_properties props[] = {
        CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->device.platform, 0};
    if (!ctx->cl)
        CL_CHECK((ctx->cl = clCreateContext(props, 1, &ctx->device.id, NULL,
                                            NULL, &err),
                  err),
                 out);
    TRY(clenc__queue_create(ctx, &ctx->transfer_queue), out);
    if (opt->binary) {
        TRY(load_container(ctx, opt->binary), out);
        ctx->source_build = CLENC_SOURCE_FORBID;
    }
out:
    return st;
}

clenc_status clenc_context_create_sized(const clenc_options *caller_opt,
                                        size_t opt_size, clenc_context **out)
{
    clenc_status st;
    clenc_options opt;
    clenc_context *ctx;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_create: out is NULL");
    *out = NULL;
    TRY(context_begin(caller_opt, opt_size, "clenc_context_create", &opt,
                      &ctx),
        out);
    clenc__device *list;
    size_t count, chosen;
    TRY(clenc__device_enumerate(&list, &count), out_destroy);
    st = clenc__device_select(list, count, opt.device, &chosen);
    if (st == CLENC_OK)
        ctx->device = list[chosen];
    clenc__free(list);
    if (st != CLENC_OK)
        goto out_destroy;
    TRY(context_finish(ctx, &opt), out_destroy);
    *out = ctx;
    return CLENC_OK;
out_destroy:
    clenc_context_destroy(ctx);
out:
    return st;
}

/* The caller's device as clenc_device_list describes it, with its indices:
 * clenc's choices by device type and name, its cache keys and its messages
 * then treat it as any other. */
static clenc_status find_device(cl_device_id id, clenc__device *out)
{
    clenc__device *list;
    size_t count;
    clenc_status st = clenc__device_enumerate(&list, &count);
    if (st != CLENC_OK)
        return st;
    st = clenc__fail(CLENC_ERR_NO_DEVICE,
                     "clenc_context_create_on_cl: the device is not one of "
                     "the %zu devices the platforms list (a sub-device?)",
                     count);
    for (size_t i = 0; i < count; i++)
        if (list[i].id == id) {
            *out = list[i];
            st = CLENC_OK;
            break;
        }
    clenc__free(list);
    return st;
}

/* Whether `device` is one of `cl`'s devices. */
static clenc_status check_context_device(cl_context cl, cl_device_id device)
{
    clenc_status st = CLENC_OK;
    size_t size = 0;
    cl_device_id devices[64];
    CL_CHECK(clGetContextInfo(cl, CL_CONTEXT_DEVICES, sizeof devices,
                              devices, &size),
             out);
    for (size_t i = 0; i < size / sizeof devices[0]; i++)
        if (devices[i] == device)
            return CLENC_OK;
    st = clenc__fail(CLENC_ERR_INVALID_ARG,
                     "clenc_context_create_on_cl: the device is not one of "
                     "the context's %zu devices",
                     size / sizeof devices[0]);
out:
    return st;
}

clenc_status clenc_context_create_on_cl_sized(cl_context cl,
                                              cl_device_id device,
                                              const clenc_options *caller_opt,
                                              size_t opt_size,
                                              clenc_context **out)
{
    clenc_status st;
    clenc_options opt;
    clenc_context *ctx;
    if (!out || !cl || !device)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_create_on_cl: %s is NULL",
                           !out ? "out" : !cl ? "context" : "device");
    *out = NULL;
    TRY(check_context_device(cl, device), out);
    TRY(context_begin(caller_opt, opt_size, "clenc_context_create_on_cl",
                      &opt, &ctx),
        out);
    if (opt.device && *opt.device) {
        st = clenc__fail(CLENC_ERR_INVALID_ARG,
                         "clenc_context_create_on_cl: options.device is '%s', "
                         "but the device is the one given",
                         opt.device);
        goto out_destroy;
    }
    TRY(find_device(device, &ctx->device), out_destroy);
    CL_CHECK(clRetainContext(cl), out_destroy);
    ctx->cl = cl; /* released once by clenc_context_destroy */
    TRY(context_finish(ctx, &opt), out_destroy);
    *out = ctx;
    return CLENC_OK;
out_destroy:
    clenc_context_destroy(ctx);
out:
    return st;
}

clenc_status clenc_context_cl(const clenc_context *ctx, cl_context *context,
                              cl_device_id *device)
{
    if (!ctx)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_cl: ctx is NULL");
    if (context)
        *context = ctx->cl;
    if (device)
        *device = ctx->device.id;
    return CLENC_OK;
}

void clenc_context_destroy(clenc_context *ctx)
{
    if (!ctx)
        return;
    clenc__programs_release(ctx);
    if (ctx->transfer_queue)
        clReleaseCommandQueue(ctx->transfer_queue);
    if (ctx->cl)
        clReleaseContext(ctx->cl);
    if (ctx->container) {
        clenc__container_free(ctx->container);
        clenc__free(ctx->container);
    }
    clenc__free(ctx->container_path);
    clenc__free(ctx->kernel_dir);
    clenc__free(ctx->cache_dir);
    clenc__free(ctx->cache_off_reason);
    pthread_mutex_destroy(&ctx->lock);
    clenc__free(ctx);
}

clenc_status clenc_context_device_sized(const clenc_context *ctx,
                                        clenc_device_info *out,
                                        size_t out_size)
{
    if (!ctx || !out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_device: %s is NULL",
                           ctx ? "out" : "ctx");
    clenc_status st = CLENC__STRUCT_SIZE("clenc_context_device",
                                         clenc_device_info, out_size);
    if (st == CLENC_OK)
        CLENC__STRUCT_OUT(out, out_size, &ctx->device.info);
    return st;
}

clenc_status clenc_context_cache(const clenc_context *ctx, const char **dir,
                                 const char **off_reason)
{
    if (!ctx)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_cache: ctx is NULL");
    if (dir)
        *dir = ctx->cache_dir;
    if (off_reason)
        *off_reason = ctx->cache_off_reason;
    return CLENC_OK;
}
