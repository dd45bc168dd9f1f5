/* program.c — kernel programs: sources (embedded or overridden), build from cache, container or source, build logs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cl/cl.h"

/* Every program is compiled as OpenCL C 1.2, the floor we promise (FPGA
 * SDKs, ARM Mali and older drivers stop there). */
#define BASE_OPTIONS "-cl-std=CL1.2"

typedef struct source {
    const unsigned char *text;
    size_t size;
    unsigned char *owned; /* read from the override folder */
    char *origin;         /* for messages */
} source;

/* A file from the override folder if it is there, else the embedded one. */
static clenc_status file_get(const clenc_context *ctx, const char *file,
                             source *out)
{
    memset(out, 0, sizeof *out);
    if (ctx->kernel_dir) {
        char *path = clenc__asprintf("%s/%s", ctx->kernel_dir, file);
        if (!path)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        struct stat sb;
        if (stat(path, &sb) == 0) {
            clenc_status st = clenc__file_read(path, "kernel source",
                                               &out->owned, &out->size);
            if (st != CLENC_OK) {
                clenc__free(path);
                return st;
            }
            out->text = out->owned;
            out->origin = path;
            return CLENC_OK;
        }
        clenc__free(path);
    }
    for (size_t i = 0; i < clenc__kernel_file_count; i++)
        if (strcmp(clenc__kernel_files[i].name, file) == 0) {
            out->text = clenc__kernel_files[i].source;
            out->size = clenc__kernel_files[i].size;
            out->origin = clenc__asprintf("embedded %s", file);
            return out->origin ? CLENC_OK
                               : clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                                             "no host memory");
        }
    return clenc__fail(CLENC_ERR_INVALID_ARG, "no kernel file '%s'%s%s", file,
                       ctx->kernel_dir ? " in " : "",
                       ctx->kernel_dir ? ctx->kernel_dir : "");
}

static void source_free(source *s);

/* Pastes `#include "X"` lines in place, as a preprocessor would with
 * -I cl_kernels: embedded sources have no folder for the compiler to
 * search, and an override folder's version of X must win. */
static clenc_status expand_includes(const clenc_context *ctx, source *src,
                                    int depth)
{
    static const char directive[] = "#include \"";
    const char *text = (const char *)src->text, *end = text + src->size;
    const char *hit = NULL;
    for (const char *p = text; p + sizeof directive - 1 <= end; p++)
        if ((p == text || p[-1] == '\n') &&
            memcmp(p, directive, sizeof directive - 1) == 0) {
            hit = p;
            break;
        }
    if (!hit)
        return CLENC_OK;
    if (depth > 4)
        return clenc__fail(CLENC_ERR_BUILD, "%s: #include nested too deeply",
                           src->origin);
    const char *name = hit + sizeof directive - 1;
    const char *quote = memchr(name, '"', (size_t)(end - name));
    const char *eol = memchr(name, '\n', (size_t)(end - name));
    if (!quote || (eol && eol < quote) || quote - name > 200)
        return clenc__fail(CLENC_ERR_BUILD, "%s: malformed #include",
                           src->origin);
    char file[256];
    memcpy(file, name, (size_t)(quote - name));
    file[quote - name] = '\0';
    source inc;
    clenc_status st = file_get(ctx, file, &inc);
    if (st != CLENC_OK)
        return st;
    const char *rest = eol ? eol : end;
    size_t head = (size_t)(hit - text), tail = (size_t)(end - rest);
    size_t total = head + inc.size + tail;
    unsigned char *joined = clenc__malloc(total + 1);
    if (!joined) {
        source_free(&inc);
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    }
    memcpy(joined, text, head);
    memcpy(joined + head, inc.text, inc.size);
    memcpy(joined + head + inc.size, rest, tail);
    source_free(&inc);
    clenc__free(src->owned);
    src->owned = joined;
    src->text = joined;
    src->size = total;
    return expand_includes(ctx, src, depth + 1);
}

static clenc_status source_get(const clenc_context *ctx, const char *name,
                               source *out)
{
    char file[256];
    snprintf(file, sizeof file, "%s.cl", name);
    clenc_status st = file_get(ctx, file, out);
    if (st == CLENC_OK && (st = expand_includes(ctx, out, 0)) != CLENC_OK)
        source_free(out);
    return st;
}

static void source_free(source *s)
{
    clenc__free(s->owned);
    clenc__free(s->origin);
}

static clenc_status build_failed(cl_program prog, cl_device_id dev,
                                 cl_int err, const char *origin,
                                 const char *options)
{
    clenc__fail(CLENC_ERR_BUILD, "building %s with '%s' failed: %s\n", origin,
                options, clenc__cl_error_name(err));
    size_t n = 0;
    char *log;
    if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) ==
            CL_SUCCESS &&
        (log = clenc__malloc(n + 1)) != NULL) {
        if (clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, n, log,
                                  NULL) == CL_SUCCESS) {
            log[n] = '\0';
            clenc__fail_append("build log:\n%s", log);
        }
        clenc__free(log);
    }
    return CLENC_ERR_BUILD;
}

static clenc_status build_from_binary(clenc_context *ctx, const char *what,
                                      const unsigned char *bin, size_t size,
                                      const char *options, cl_program *out)
{
    cl_int err, bin_status = CL_SUCCESS;
    cl_program prog = NULL;
    if (clenc__fault_hit())
        err = CL_OUT_OF_RESOURCES;
    else
        prog = clCreateProgramWithBinary(ctx->cl, 1, &ctx->device.id, &size,
                                         &bin, &bin_status, &err);
    if (err == CL_SUCCESS && bin_status != CL_SUCCESS)
        err = bin_status;
    if (err != CL_SUCCESS)
        return clenc__fail(CLENC_ERR_BINARY,
                           "the device rejected the binary of %s: %s", what,
                           clenc__cl_error_name(err));
    err = clBuildProgram(prog, 1, &ctx->device.id, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        clReleaseProgram(prog);
        return clenc__fail(CLENC_ERR_BINARY,
                           "the binary of %s does not build: %s", what,
                           clenc__cl_error_name(err));
    }
    *out = prog;
    return CLENC_OK;
}

static clenc_status program_binary(cl_program prog, unsigned char **bin,
                                   size_t *size)
{
    clenc_status st = CLENC_OK;
    *bin = NULL;
    CL_CHECK(clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof *size, size,
                              NULL),
             out);
    if (*size == 0) {
        st = clenc__fail(CLENC_ERR_BINARY, "the driver gave an empty binary");
        goto out;
    }
    if (!(*bin = clenc__malloc(*size))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out;
    }
    CL_CHECK(clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof *bin, bin, NULL),
             out_free);
    return CLENC_OK;
out_free:
    clenc__free(*bin);
    *bin = NULL;
out:
    return st;
}

static clenc_status build_from_source(clenc_context *ctx, const source *src,
                                      const clenc__container_program *key,
                                      cl_program *out)
{
    clenc_status st = CLENC_OK;
    cl_int err;
    const char *text = (const char *)src->text;
    cl_program prog;
    CL_CHECK((prog = clCreateProgramWithSource(ctx->cl, 1, &text, &src->size,
                                               &err),
              err),
             out);
    err = clenc__fault_hit()
              ? CL_OUT_OF_RESOURCES
              : clBuildProgram(prog, 1, &ctx->device.id, key->options, NULL, NULL);
    if (err != CL_SUCCESS) {
        st = build_failed(prog, ctx->device.id, err, src->origin, key->options);
        clReleaseProgram(prog);
        goto out;
    }
    /* A cache that cannot be written costs the next run a build; it is no
     * reason to fail this one. */
    clenc__container_program entry = *key;
    if (ctx->cache_dir &&
        program_binary(prog, &entry.binary, &entry.binary_size) == CLENC_OK) {
        (void)clenc__cache_store(ctx, &entry);
        clenc__free(entry.binary);
    }
    *out = prog;
out:
    return st;
}

static clenc_status from_container(clenc_context *ctx,
                                   const clenc__container_program *key,
                                   cl_program *out)
{
    const clenc__container *c = ctx->container;
    const clenc__container_program *other = NULL;
    for (size_t i = 0; i < c->count; i++) {
        const clenc__container_program *p = &c->programs[i];
        if (strcmp(p->name, key->name) != 0)
            continue;
        if (strcmp(p->options, key->options) == 0) {
            char *what = clenc__asprintf("program '%s' of %s", p->name,
                                         ctx->container_path);
            clenc_status st =
                what ? build_from_binary(ctx, what, p->binary, p->binary_size,
                                         p->options, out)
                     : clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            clenc__free(what);
            return st;
        }
        other = p;
    }
    if (other)
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s holds '%s' built with "
                           "'%s', but '%s' is needed: it was built for "
                           "another set of constants",
                           ctx->container_path, key->name, other->options,
                           key->options);
    return clenc__fail(CLENC_ERR_BINARY,
                       "program container %s holds no program '%s'",
                       ctx->container_path, key->name);
}

/* Compiles or loads one program; the context lock is held. */
static clenc_status program_make(clenc_context *ctx,
                                 const clenc__container_program *key,
                                 const source *src, cl_program *out,
                                 int *from_source)
{
    *from_source = 0;
    if (ctx->container)
        return from_container(ctx, key, out);

    unsigned char *bin;
    size_t size;
    if (clenc__cache_load(ctx, key, &bin, &size) == CLENC_OK) {
        clenc_status st =
            build_from_binary(ctx, "a cached program", bin, size, key->options,
                              out);
        clenc__free(bin);
        if (st == CLENC_OK)
            return CLENC_OK;
    }
    if (ctx->source_build == CLENC_SOURCE_FORBID)
        return clenc__fail(CLENC_ERR_BINARY,
                           "no cached binary of '%s' with '%s' for this "
                           "device, and source builds are forbidden",
                           key->name, key->options);
    if (!ctx->device.info.compiler_available)
        return clenc__fail(CLENC_ERR_BINARY,
                           "device '%s' has no online compiler and no binary "
                           "of '%s' is cached: give a program container "
                           "(clenc-compile, or a vendor's offline compiler)",
                           ctx->device.info.name, key->name);
    *from_source = 1;
    return build_from_source(ctx, src, key, out);
}

clenc_status clenc__program_get(clenc_context *ctx, const char *name,
                                const char *defines, cl_program *out,
                                int *from_source)
{
    clenc_status st = CLENC_OK;
    int built = 0;
    source src;
    *out = NULL;
    char *options = clenc__asprintf("%s%s%s", BASE_OPTIONS,
                                    defines && *defines ? " " : "",
                                    defines ? defines : "");
    if (!options)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    TRY(source_get(ctx, name, &src), out_free_options);

    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->program_count; i++) {
        clenc__program *p = &ctx->programs[i];
        if (strcmp(p->name, name) == 0 && strcmp(p->options, options) == 0) {
            *out = p->program;
            goto out_unlock;
        }
    }
    if (ctx->program_count == ctx->program_capacity) {
        size_t cap = ctx->program_capacity ? 2 * ctx->program_capacity : 8;
        clenc__program *grown = clenc__realloc(ctx->programs, cap * sizeof *grown);
        if (!grown) {
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            goto out_unlock;
        }
        ctx->programs = grown;
        ctx->program_capacity = cap;
    }
    clenc__container_program key = {
        .name = (char *)name,
        .options = options,
        .source_hash = clenc__fnv1a(CLENC__FNV_SEED, src.text, src.size),
    };
    cl_program prog;
    TRY(program_make(ctx, &key, &src, &prog, &built), out_unlock);
    clenc__program *p = &ctx->programs[ctx->program_count];
    if (!(p->name = clenc__strdup(name))) {
        clReleaseProgram(prog);
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out_unlock;
    }
    p->options = options;
    options = NULL;
    p->source_hash = key.source_hash;
    p->program = prog;
    ctx->program_count++;
    *out = prog;
out_unlock:
    pthread_mutex_unlock(&ctx->lock);
    source_free(&src);
out_free_options:
    clenc__free(options);
    if (from_source)
        *from_source = built;
    return st;
}

void clenc__programs_release(clenc_context *ctx)
{
    for (size_t i = 0; i < ctx->program_count; i++) {
        clReleaseProgram(ctx->programs[i].program);
        clenc__free(ctx->programs[i].name);
        clenc__free(ctx->programs[i].options);
    }
    clenc__free(ctx->programs);
    ctx->programs = NULL;
    ctx->program_count = ctx->program_capacity = 0;
}

/* "gemm.cl" is a program named "gemm"; "rows.h" is not a program. */
static int is_program(const char *file, char *name, size_t cap)
{
    size_t n = strlen(file);
    if (n < 4 || n - 3 >= cap || strcmp(file + n - 3, ".cl") != 0)
        return 0;
    memcpy(name, file, n - 3);
    name[n - 3] = '\0';
    return 1;
}

size_t clenc__kernel_program_count(void)
{
    size_t count = 0;
    char name[256];
    for (size_t i = 0; i < clenc__kernel_file_count; i++)
        count += is_program(clenc__kernel_files[i].name, name, sizeof name);
    return count;
}

clenc_status clenc_context_save_programs(clenc_context *ctx, const char *path)
{
    if (!ctx || !path)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_save_programs: %s is NULL",
                           ctx ? "path" : "ctx");
    clenc_status st = CLENC_OK;
    clenc__container c = {0};
    unsigned char *data = NULL;
    size_t size;
    pthread_mutex_lock(&ctx->lock);
    if (ctx->program_count == 0) {
        st = clenc__fail(CLENC_ERR_INVALID_ARG,
                         "the context has built no programs to save yet");
        goto out_unlock;
    }
    c.library_version = clenc__strdup(clenc_version());
    c.device_name = clenc__strdup(ctx->device.info.name);
    c.driver_version = clenc__strdup(ctx->device.info.driver_version);
    if (!c.library_version || !c.device_name || !c.driver_version) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out_unlock;
    }
    for (size_t i = 0; i < ctx->program_count; i++) {
        const clenc__program *p = &ctx->programs[i];
        clenc__container_program entry = {.name = p->name,
                                          .options = p->options,
                                          .source_hash = p->source_hash};
        TRY(program_binary(p->program, &entry.binary, &entry.binary_size),
            out_unlock);
        st = clenc__container_add(&c, &entry);
        clenc__free(entry.binary);
        if (st != CLENC_OK)
            goto out_unlock;
    }
    TRY(clenc__container_serialize(&c, &data, &size), out_unlock);
out_unlock:
    pthread_mutex_unlock(&ctx->lock);
    if (st == CLENC_OK)
        st = clenc__file_write_atomic(path, data, size);
    clenc__free(data);
    clenc__container_free(&c);
    return st;
}

clenc_status clenc_context_programs_sized(clenc_context *ctx,
                                          clenc_program_info *out,
                                          size_t out_size, size_t capacity,
                                          size_t *count)
{
    if (!ctx || !count || (capacity && !out))
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "clenc_context_programs: ctx or count is NULL, or "
                           "out is NULL with capacity %zu",
                           capacity);
    /* A count query (NULL, 0) is answered whatever size comes with it. */
    clenc_status st;
    if (capacity && (st = CLENC__STRUCT_SIZE("clenc_context_programs",
                                             clenc_program_info,
                                             out_size)) != CLENC_OK)
        return st;
    pthread_mutex_lock(&ctx->lock);
    *count = ctx->program_count;
    for (size_t i = 0; i < ctx->program_count && i < capacity; i++) {
        clenc_program_info p;
        memset(&p, 0, sizeof p);
        snprintf(p.name, sizeof p.name, "%s", ctx->programs[i].name);
        snprintf(p.options, sizeof p.options, "%s", ctx->programs[i].options);
        CLENC__STRUCT_OUT((char *)out + i * out_size, out_size, &p);
    }
    pthread_mutex_unlock(&ctx->lock);
    return CLENC_OK;
}
