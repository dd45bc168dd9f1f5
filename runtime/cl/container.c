/* container.c — the program container: prebuilt binaries with what they were built for; strict parse, write. */
#include <stdlib.h>
#include <string.h>

#include "cl/cl.h"

/* Layout (README.md, "The program container"); integers little-endian:
 *   0  magic "CLENCPRG"      8  u32 format version   12  u32 program count
 *  16  u64 payload size     24  u64 FNV-1a 64 of the payload
 *  32  payload: str library version, str device name, str driver version,
 *      then per program: str name, str options, u64 source hash,
 *      u64 binary size, binary bytes.
 *  A str is a u32 length and that many bytes (no NUL), at most 64 KiB. */

typedef struct reader {
    const unsigned char *p;
    size_t left;
    const char *origin;
} reader;

static uint64_t le_get(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static void le_put(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

static clenc_status truncated(const reader *r, const char *field)
{
    return clenc__fail(CLENC_ERR_BINARY,
                       "program container %s is truncated: %s runs past the "
                       "end",
                       r->origin, field);
}

static clenc_status read_u64(reader *r, const char *field, uint64_t *v)
{
    if (r->left < 8)
        return truncated(r, field);
    *v = le_get(r->p, 8);
    r->p += 8;
    r->left -= 8;
    return CLENC_OK;
}

static clenc_status read_str(reader *r, const char *field, char **out)
{
    if (r->left < 4)
        return truncated(r, field);
    uint64_t n = le_get(r->p, 4);
    if (n > CLENC__CONTAINER_MAX_STRING)
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s: %s is %llu bytes long "
                           "(at most %u)",
                           r->origin, field, (unsigned long long)n,
                           CLENC__CONTAINER_MAX_STRING);
    if (r->left - 4 < n)
        return truncated(r, field);
    if (memchr(r->p + 4, '\0', (size_t)n))
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s: %s holds a NUL byte",
                           r->origin, field);
    char *s = clenc__malloc((size_t)n + 1);
    if (!s)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    memcpy(s, r->p + 4, (size_t)n);
    s[n] = '\0';
    r->p += 4 + n;
    r->left -= 4 + (size_t)n;
    *out = s;
    return CLENC_OK;
}

void clenc__container_free(clenc__container *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->count; i++) {
        clenc__free(c->programs[i].name);
        clenc__free(c->programs[i].options);
        clenc__free(c->programs[i].binary);
    }
    clenc__free(c->programs);
    clenc__free(c->library_version);
    clenc__free(c->device_name);
    clenc__free(c->driver_version);
    memset(c, 0, sizeof *c);
}

static clenc_status parse_program(reader *r, clenc__container_program *p)
{
    clenc_status st;
    uint64_t size = 0;
    if ((st = read_str(r, "program name", &p->name)) != CLENC_OK ||
        (st = read_str(r, "build options", &p->options)) != CLENC_OK ||
        (st = read_u64(r, "source hash", &p->source_hash)) != CLENC_OK ||
        (st = read_u64(r, "binary size", &size)) != CLENC_OK)
        return st;
    if (size == 0 || size > r->left)
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s: program '%s' claims a "
                           "binary of %llu bytes, %zu remain",
                           r->origin, p->name, (unsigned long long)size,
                           r->left);
    if (!(p->binary = clenc__malloc((size_t)size)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    memcpy(p->binary, r->p, (size_t)size);
    p->binary_size = (size_t)size;
    r->p += size;
    r->left -= (size_t)size;
    return CLENC_OK;
}

clenc_status clenc__container_parse(const unsigned char *data, size_t size,
                                    const char *origin, clenc__container *out)
{
    clenc_status st = CLENC_OK;
    memset(out, 0, sizeof *out);
    if (size < CLENC__CONTAINER_HEADER ||
        memcmp(data, CLENC__CONTAINER_MAGIC, 8) != 0)
        return clenc__fail(CLENC_ERR_BINARY,
                           "%s is not a clenc program container (no "
                           "'" CLENC__CONTAINER_MAGIC "' header)",
                           origin);
    uint64_t version = le_get(data + 8, 4);
    uint64_t count = le_get(data + 12, 4);
    uint64_t payload = le_get(data + 16, 8);
    uint64_t checksum = le_get(data + 24, 8);
    if (version != CLENC__CONTAINER_VERSION)
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s has format version %llu; "
                           "this library reads version %u",
                           origin, (unsigned long long)version,
                           CLENC__CONTAINER_VERSION);
    if (payload != size - CLENC__CONTAINER_HEADER)
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s is truncated or has trailing "
                           "bytes: header says %llu payload bytes, file has "
                           "%zu",
                           origin, (unsigned long long)payload,
                           size - CLENC__CONTAINER_HEADER);
    reader r = {data + CLENC__CONTAINER_HEADER, (size_t)payload, origin};
    if (clenc__fnv1a(CLENC__FNV_SEED, r.p, r.left) != checksum)
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s is corrupt: checksum "
                           "mismatch",
                           origin);
    /* Each program takes at least 28 bytes: a count beyond that is a lie. */
    if (count == 0 || count > payload / 28)
        return clenc__fail(CLENC_ERR_BINARY,
                           "program container %s claims %llu programs", origin,
                           (unsigned long long)count);
    if (!(out->programs = clenc__calloc((size_t)count, sizeof *out->programs)))
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    TRY(read_str(&r, "library version", &out->library_version), out_free);
    TRY(read_str(&r, "device name", &out->device_name), out_free);
    TRY(read_str(&r, "driver version", &out->driver_version), out_free);
    for (out->count = 0; out->count < count;) {
        /* Counted before parsing, so that clenc__free() sees partial fields. */
        clenc__container_program *p = &out->programs[out->count++];
        TRY(parse_program(&r, p), out_free);
    }
    if (r.left != 0) {
        st = clenc__fail(CLENC_ERR_BINARY,
                         "program container %s has %zu bytes after its last "
                         "program",
                         origin, r.left);
        goto out_free;
    }
    return CLENC_OK;
out_free:
    clenc__container_free(out);
    return st;
}

static unsigned char *put_str(unsigned char *p, const char *s)
{
    size_t n = strlen(s);
    le_put(p, n, 4);
    memcpy(p + 4, s, n);
    return p + 4 + n;
}

clenc_status clenc__container_serialize(const clenc__container *c,
                                        unsigned char **data, size_t *size)
{
    *data = NULL;
    *size = 0;
    const char *head[3] = {c->library_version, c->device_name,
                           c->driver_version};
    size_t payload = 0;
    for (int i = 0; i < 3; i++)
        payload += 4 + strlen(head[i]);
    for (size_t i = 0; i < c->count; i++) {
        const clenc__container_program *p = &c->programs[i];
        payload += 4 + strlen(p->name) + 4 + strlen(p->options) + 16 +
                   p->binary_size;
        if (strlen(p->options) > CLENC__CONTAINER_MAX_STRING ||
            strlen(p->name) > CLENC__CONTAINER_MAX_STRING)
            return clenc__fail(CLENC_ERR_INVALID_ARG,
                               "program '%.64s': name or options longer "
                               "than %u bytes",
                               p->name, CLENC__CONTAINER_MAX_STRING);
    }
    unsigned char *buf = clenc__malloc(CLENC__CONTAINER_HEADER + payload);
    if (!buf)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "no host memory for a %zu-byte container",
                           payload);
    unsigned char *p = buf + CLENC__CONTAINER_HEADER;
    for (int i = 0; i < 3; i++)
        p = put_str(p, head[i]);
    for (size_t i = 0; i < c->count; i++) {
        const clenc__container_program *pr = &c->programs[i];
        p = put_str(p, pr->name);
        p = put_str(p, pr->options);
        le_put(p, pr->source_hash, 8);
        le_put(p + 8, pr->binary_size, 8);
        memcpy(p + 16, pr->binary, pr->binary_size);
        p += 16 + pr->binary_size;
    }
    memcpy(buf, CLENC__CONTAINER_MAGIC, 8);
    le_put(buf + 8, CLENC__CONTAINER_VERSION, 4);
    le_put(buf + 12, c->count, 4);
    le_put(buf + 16, payload, 8);
    le_put(buf + 24,
           clenc__fnv1a(CLENC__FNV_SEED, buf + CLENC__CONTAINER_HEADER,
                        payload),
           8);
    *data = buf;
    *size = CLENC__CONTAINER_HEADER + payload;
    return CLENC_OK;
}

clenc_status clenc__container_add(clenc__container *c,
                                  const clenc__container_program *p)
{
    clenc__container_program *grown =
        clenc__realloc(c->programs, (c->count + 1) * sizeof *grown);
    if (!grown)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    c->programs = grown;
    clenc__container_program *q = &grown[c->count];
    memset(q, 0, sizeof *q);
    q->name = clenc__strdup(p->name);
    q->options = clenc__strdup(p->options);
    q->binary = clenc__malloc(p->binary_size ? p->binary_size : 1);
    if (!q->name || !q->options || !q->binary) {
        clenc__free(q->name);
        clenc__free(q->options);
        clenc__free(q->binary);
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    }
    memcpy(q->binary, p->binary, p->binary_size);
    q->binary_size = p->binary_size;
    q->source_hash = p->source_hash;
    c->count++;
    return CLENC_OK;
}

clenc_status clenc__container_check(const clenc__container *c,
                                    const char *origin,
                                    const clenc_device_info *device)
{
    const struct {
        const char *field, *have, *want;
    } fields[] = {
        {"device", c->device_name, device->name},
        {"driver version", c->driver_version, device->driver_version},
        {"library version", c->library_version, clenc_version()},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(fields[i].have, fields[i].want) != 0)
            return clenc__fail(CLENC_ERR_BINARY,
                               "program container %s was built for %s '%s', "
                               "but this is %s '%s'",
                               origin, fields[i].field, fields[i].have,
                               fields[i].field, fields[i].want);
    return CLENC_OK;
}
