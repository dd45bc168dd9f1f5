/* cache.c — the on-disk program-binary cache: its folder (only if ours), one container file per program, keyed by everything it depends on. */
#define _GNU_SOURCE /* secure_getenv */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cl/cl.h"

/* The folder the options or the environment name; NULL with the reason in
 * `why` when there is none. */
static clenc_status folder_named(const clenc_options *opt, char **dir,
                                 char *why, size_t cap)
{
    *dir = NULL;
    /* secure_getenv: in a setuid program the caller's environment must not
     * choose where we read code from. */
    const char *env = secure_getenv("CLENC_CACHE_DIR");
    const int by_option = opt->cache_dir && *opt->cache_dir;
    const char *named = by_option ? opt->cache_dir : env && *env ? env : NULL;
    const char *xdg = secure_getenv("XDG_CACHE_HOME");
    const char *home = secure_getenv("HOME");
    if (named && strcasecmp(named, "off") == 0) {
        snprintf(why, cap, "turned off (%s=%s)",
                 by_option ? "option cache_dir" : "CLENC_CACHE_DIR", named);
        return CLENC_OK;
    }
    if (named)
        *dir = clenc__strdup(named);
    else if (xdg && *xdg == '/')
        *dir = clenc__asprintf("%s/clenc", xdg);
    else if (home && *home)
        *dir = clenc__asprintf("%s/.cache/clenc", home);
    else {
        snprintf(why, cap, "no folder for it (CLENC_CACHE_DIR, "
                           "XDG_CACHE_HOME and HOME are unset)");
        return CLENC_OK;
    }
    return *dir ? CLENC_OK
                : clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
}

clenc_status clenc__cache_open(clenc_context *ctx, const clenc_options *opt)
{
    char why[1024], made[512];
    char *dir;
    clenc_status st = folder_named(opt, &dir, why, sizeof why);
    if (st != CLENC_OK)
        return st;
    if (dir) {
        /* Made here, not at the first store, so that the check below sees
         * the folder entries will land in. */
        st = clenc__mkdirs_quiet(dir, made, sizeof made);
        if (st == CLENC_ERR_OUT_OF_MEMORY) {
            clenc__free(dir);
            return clenc__fail(st, "no host memory");
        }
        if (st != CLENC_OK)
            snprintf(why, sizeof why, "cache folder '%s': %s", dir, made);
        if (st == CLENC_OK && clenc__folder_owned(dir, why, sizeof why)) {
            ctx->cache_dir = dir;
            return CLENC_OK;
        }
        clenc__free(dir);
    }
    if (!(ctx->cache_off_reason = clenc__strdup(why)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    return CLENC_OK;
}

clenc_status clenc__cache_folder_ready(const clenc_context *ctx)
{
    char why[1024];
    if (!ctx->cache_dir)
        return clenc__fail(CLENC_ERR_IO, "the program cache is off");
    clenc_status st = clenc__mkdirs_quiet(ctx->cache_dir, why, sizeof why);
    if (st == CLENC_OK && !clenc__folder_owned(ctx->cache_dir, why, sizeof why))
        st = CLENC_ERR_IO;
    return st == CLENC_OK ? st : clenc__fail(st, "%s: nothing written", why);
}

static uint64_t entry_key(const clenc_context *ctx,
                          const clenc__container_program *key)
{
    uint64_t h = CLENC__FNV_SEED;
    h = clenc__fnv1a_str(h, clenc_version());
    h = clenc__fnv1a_str(h, ctx->device.info.name);
    h = clenc__fnv1a_str(h, ctx->device.info.driver_version);
    h = clenc__fnv1a_str(h, key->name);
    h = clenc__fnv1a_str(h, key->options);
    return clenc__fnv1a(h, &key->source_hash, sizeof key->source_hash);
}

char *clenc__cache_path(const clenc_context *ctx,
                        const clenc__container_program *key)
{
    return clenc__asprintf("%s/%s-%016" PRIx64 ".clbin", ctx->cache_dir,
                           key->name, entry_key(ctx, key));
}

clenc_status clenc__cache_load(const clenc_context *ctx,
                               const clenc__container_program *key,
                               unsigned char **binary, size_t *size)
{
    *binary = NULL;
    *size = 0;
    if (!ctx->cache_dir)
        return clenc__fail(CLENC_ERR_BINARY, "the program cache is off: %s",
                           ctx->cache_off_reason ? ctx->cache_off_reason
                                                 : "no folder");
    char *path = clenc__cache_path(ctx, key);
    if (!path)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    unsigned char *data;
    size_t n;
    clenc__container c;
    /* A miss, whatever the reason; the last error keeps the reason. */
    clenc_status st = clenc__file_read_owned(path, "cache entry",
                                             CLENC__CACHE_MAX_ENTRY, &data, &n);
    if (st != CLENC_OK) {
        st = CLENC_ERR_BINARY;
        goto out_free_path;
    }
    /* The key hashes the fields, but a hash can collide and a file can be
     * damaged: every field is compared before the binary is believed. */
    st = clenc__container_parse(data, n, path, &c);
    clenc__free(data);
    if (st != CLENC_OK)
        goto out_free_path;
    st = clenc__container_check(&c, path, &ctx->device.info);
    if (st == CLENC_OK &&
        (c.count != 1 || strcmp(c.programs[0].name, key->name) != 0 ||
         strcmp(c.programs[0].options, key->options) != 0 ||
         c.programs[0].source_hash != key->source_hash))
        st = clenc__fail(CLENC_ERR_BINARY,
                         "cache entry %s holds another program", path);
    if (st == CLENC_OK) {
        *binary = c.programs[0].binary;
        *size = c.programs[0].binary_size;
        c.programs[0].binary = NULL;
    }
    clenc__container_free(&c);
out_free_path:
    clenc__free(path);
    return st;
}

clenc_status clenc__cache_store(const clenc_context *ctx,
                                const clenc__container_program *program)
{
    if (!ctx->cache_dir)
        return CLENC_OK;
    clenc_status st;
    clenc__container c = {
        .library_version = (char *)clenc_version(),
        .device_name = (char *)ctx->device.info.name,
        .driver_version = (char *)ctx->device.info.driver_version,
        .count = 1,
        .programs = (clenc__container_program *)program,
    };
    unsigned char *data;
    size_t n;
    char *path = NULL;
    TRY(clenc__container_serialize(&c, &data, &n), out);
    TRY(clenc__cache_folder_ready(ctx), out_free_data);
    if (!(path = clenc__cache_path(ctx, program))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        goto out_free_data;
    }
    st = clenc__file_write_atomic(path, data, n);
    clenc__free(path);
out_free_data:
    clenc__free(data);
out:
    return st;
}
