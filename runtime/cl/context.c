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

clenc_status clenc_context_create_sized(const clenc_options *caller_opt,
                                        size_t opt_size, clenc_context **out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    clenc_options own;
    const clenc_options *opt = &own;
    if (!out)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_create: out is NULL");
    *out = NULL;
    if (!caller_opt)
        memset(&own, 0, sizeof own); /* the defaults */
    else if ((st = CLENC__STRUCT_IN("clenc_context_create", clenc_options,
                                    &own, caller_opt, opt_size)) != CLENC_OK)
        return st;
    if (opt->source_build != CLENC_SOURCE_ALLOW &&
        opt->source_build != CLENC_SOURCE_FORBID)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_create: source_build is %d",
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
    TRY(resolve_kernel_dir(opt, &ctx->kernel_dir), out_destroy);

    clenc__device *list;
    size_t count, chosen;
    TRY(clenc__device_enumerate(&list, &count), out_destroy);
    st = clenc__device_select(list, count, opt->device, &chosen);
    if (st == CLENC_OK)
        ctx->device = list[chosen];
    clenc__free(list);
    if (st != CLENC_OK)
        goto out_destroy;

    TRY(resolve_choices(opt, ctx), out_destroy);
    /* After the device: a context that cannot be made creates no folder. */
    TRY(clenc__cache_open(ctx, opt), out_destroy);

    cl_context_properties props[] = {
        CL_CONTEXT_PLATFORM, (cl_context_properties)ctx->device.platform, 0};
    CL_CHECK((ctx->cl = clCreateContext(props, 1, &ctx->device.id, NULL, NULL,
                                        &err),
              err),
             out_destroy);
    TRY(clenc__queue_create(ctx, &ctx->transfer_queue), out_destroy);
    if (opt->binary) {
        TRY(load_container(ctx, opt->binary), out_destroy);
        ctx->source_build = CLENC_SOURCE_FORBID;
    }
    *out = ctx;
    return CLENC_OK;
out_destroy:
    clenc_context_destroy(ctx);
    return st;
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
