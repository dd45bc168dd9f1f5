/* cache.c — the on-disk program-binary cache: one container file per program, keyed by everything it depends on. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

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
        return clenc__fail(CLENC_ERR_BINARY, "the program cache is off");
    char *path = clenc__cache_path(ctx, key);
    if (!path)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    unsigned char *data;
    size_t n;
    clenc__container c;
    clenc_status st = clenc__file_read(path, "cache entry", &data, &n);
    if (st != CLENC_OK) {
        st = CLENC_ERR_BINARY; /* a miss */
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
    TRY(clenc__mkdirs(ctx->cache_dir), out_free_data);
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
