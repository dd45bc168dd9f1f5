/* safetensors.c — the strict safetensors reader: header validation, the tensor table, float32 conversion. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "formats/safetensors.h"

/* Layout (github.com/huggingface/safetensors): a u64 little-endian header
 * length N, N bytes of JSON, then the buffer. The JSON maps each tensor name
 * to {"dtype", "shape", "data_offsets": [begin, end]}, offsets relative to the
 * buffer; "__metadata__" maps strings to strings. The file is untrusted (it
 * is fuzzed): every number is checked before it becomes a pointer. */

static const struct {
    const char *name;
    unsigned size; /* bytes per element */
} dtypes[] = {
    [CLENC__F64] = {"F64", 8},         [CLENC__F32] = {"F32", 4},
    [CLENC__F16] = {"F16", 2},         [CLENC__BF16] = {"BF16", 2},
    [CLENC__I64] = {"I64", 8},         [CLENC__I32] = {"I32", 4},
    [CLENC__I16] = {"I16", 2},         [CLENC__I8] = {"I8", 1},
    [CLENC__U8] = {"U8", 1},           [CLENC__BOOL] = {"BOOL", 1},
    [CLENC__F8_E4M3] = {"F8_E4M3", 1}, [CLENC__F8_E5M2] = {"F8_E5M2", 1},
};
#define DTYPE_COUNT (sizeof dtypes / sizeof dtypes[0])

#define METADATA_KEY "__metadata__"

typedef struct reader {
    const char *origin;
    const char *name; /* the tensor being read, for messages */
    const unsigned char *buffer; /* NULL: not in memory (a header alone) */
    size_t buffer_size;
} reader;

const char *clenc__dtype_name(clenc__dtype dtype)
{
    return (unsigned)dtype < DTYPE_COUNT ? dtypes[dtype].name : "unknown";
}

static const char *json_kind(const json_t *v)
{
    static const char *const kinds[] = {"object", "list", "string", "integer",
                                        "real",   "true", "false",  "null"};
    unsigned k = (unsigned)json_typeof(v);
    return k < sizeof kinds / sizeof kinds[0] ? kinds[k] : "value";
}

/* A format error about the tensor being read: "origin: tensor 'name': ...". */
__attribute__((format(printf, 2, 3))) static clenc_status
bad_tensor(const reader *r, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return clenc__fail(CLENC_ERR_MODEL_FORMAT, "%s: tensor '%s': %s",
                       r->origin, r->name, detail);
}

/* shape [2, 3] as text; 8 dims of 20 digits fit in 200 bytes. */
static void format_shape(const clenc__tensor *t, char *text, size_t cap)
{
    size_t n = (size_t)snprintf(text, cap, "[");
    for (unsigned i = 0; i < t->ndim && n < cap; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s%llu", i ? ", " : "",
                              (unsigned long long)t->shape[i]);
    if (n < cap)
        snprintf(text + n, cap - n, "]");
}

static clenc_status get_size(const reader *r, const json_t *v,
                             const char *field, size_t index, uint64_t *out)
{
    if (!json_is_integer(v))
        return bad_tensor(r, "%s[%zu] is a JSON %s, not a non-negative integer",
                          field, index, json_kind(v));
    if (json_integer_value(v) < 0)
        return bad_tensor(r, "%s[%zu] is %lld, not a non-negative integer",
                          field, index, (long long)json_integer_value(v));
    *out = (uint64_t)json_integer_value(v);
    return CLENC_OK;
}

static clenc_status parse_shape(const reader *r, const json_t *shape,
                                clenc__tensor *t)
{
    if (!json_is_array(shape))
        return bad_tensor(r, "shape is a JSON %s, not a list",
                          json_kind(shape));
    if (json_array_size(shape) > CLENC__MAX_DIMS)
        return bad_tensor(r, "shape has %zu dimensions (at most %d)",
                          json_array_size(shape), CLENC__MAX_DIMS);
    t->ndim = (unsigned)json_array_size(shape);
    t->count = 1;
    for (unsigned i = 0; i < t->ndim; i++) {
        uint64_t dim;
        clenc_status st =
            get_size(r, json_array_get(shape, i), "shape", i, &dim);
        if (st != CLENC_OK)
            return st;
        if (dim != 0 && t->count > UINT64_MAX / dim)
            return bad_tensor(r, "shape overflows: more than 2^64 elements "
                                 "by dimension %u",
                              i);
        t->shape[i] = dim;
        t->count *= dim;
    }
    return CLENC_OK;
}

static clenc_status parse_tensor(const reader *r, json_t *entry,
                                 clenc__tensor *t)
{
    clenc_status st;
    if (!json_is_object(entry))
        return bad_tensor(r, "entry is a JSON %s, not an object",
                          json_kind(entry));
    const char *key;
    const json_t *value;
    json_object_foreach(entry, key, value) {
        if (strcmp(key, "dtype") != 0 && strcmp(key, "shape") != 0 &&
            strcmp(key, "data_offsets") != 0)
            return bad_tensor(r, "unknown field '%.64s'", key);
    }
    const char *required[] = {"dtype", "shape", "data_offsets"};
    for (size_t i = 0; i < 3; i++)
        if (!json_object_get(entry, required[i]))
            return bad_tensor(r, "no %s", required[i]);

    const json_t *dtype = json_object_get(entry, "dtype");
    if (!json_is_string(dtype))
        return bad_tensor(r, "dtype is a JSON %s, not a string",
                          json_kind(dtype));
    size_t d = 0;
    while (d < DTYPE_COUNT && strcmp(json_string_value(dtype), dtypes[d].name))
        d++;
    if (d == DTYPE_COUNT)
        return bad_tensor(r, "unknown dtype '%.64s'", json_string_value(dtype));
    t->dtype = (clenc__dtype)d;

    if ((st = parse_shape(r, json_object_get(entry, "shape"), t)) != CLENC_OK)
        return st;
    char shape[256];
    format_shape(t, shape, sizeof shape);
    uint64_t unit = dtypes[t->dtype].size;
    if (t->count > UINT64_MAX / unit)
        return bad_tensor(r, "shape %s of %s needs more than 2^64 bytes", shape,
                          dtypes[t->dtype].name);

    const json_t *offsets = json_object_get(entry, "data_offsets");
    uint64_t begin, end;
    if (!json_is_array(offsets) || json_array_size(offsets) != 2)
        return bad_tensor(r, "data_offsets is not a list of two integers");
    if ((st = get_size(r, json_array_get(offsets, 0), "data_offsets", 0,
                       &begin)) != CLENC_OK ||
        (st = get_size(r, json_array_get(offsets, 1), "data_offsets", 1,
                       &end)) != CLENC_OK)
        return st;
    if (begin > end)
        return bad_tensor(r, "data_offsets [%llu, %llu]: begin is after end",
                          (unsigned long long)begin, (unsigned long long)end);
    if (end > r->buffer_size)
        return bad_tensor(r, "data_offsets [%llu, %llu] run past the end of "
                             "the %zu-byte buffer",
                          (unsigned long long)begin, (unsigned long long)end,
                          r->buffer_size);
    if (end - begin != t->count * unit)
        return bad_tensor(r, "data_offsets [%llu, %llu] hold %llu bytes, but "
                             "shape %s of %s needs %llu",
                          (unsigned long long)begin, (unsigned long long)end,
                          (unsigned long long)(end - begin), shape,
                          dtypes[t->dtype].name,
                          (unsigned long long)(t->count * unit));
    t->offset = (size_t)begin;
    t->data = r->buffer ? r->buffer + begin : NULL;
    t->size = (size_t)(end - begin);
    return CLENC_OK;
}

static clenc_status check_metadata(const char *origin, json_t *meta)
{
    if (!json_is_object(meta))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: " METADATA_KEY " is a JSON %s, not an object",
                           origin, json_kind(meta));
    const char *key;
    const json_t *value;
    json_object_foreach(meta, key, value) {
        if (!json_is_string(value))
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "%s: " METADATA_KEY " field '%.64s' is a JSON "
                               "%s, not a string",
                               origin, key, json_kind(value));
    }
    return CLENC_OK;
}

/* Orders by (begin, end), then name, so that the checks and messages below
 * do not depend on qsort's handling of ties. */
static int by_offsets(const void *a, const void *b)
{
    const clenc__tensor *x = a, *y = b;
    if (x->offset != y->offset)
        return x->offset < y->offset ? -1 : 1;
    if (x->size != y->size)
        return x->size < y->size ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* As the reference reader does, the tensors must tile the buffer exactly: a
 * byte that belongs to no tensor (a gap, trailing bytes) is as suspect as a
 * byte that belongs to two. */
static clenc_status check_tiling(const reader *r, clenc__safetensors *st)
{
    qsort(st->tensors, st->count, sizeof *st->tensors, by_offsets);
    size_t at = 0;
    for (size_t i = 0; i < st->count; i++) {
        const clenc__tensor *t = &st->tensors[i];
        size_t begin = t->offset;
        if (begin < at)
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "%s: tensors '%s' and '%s' overlap: "
                               "data_offsets [%zu, %zu] and [%zu, %zu]",
                               r->origin, t[-1].name, t->name, t[-1].offset,
                               at, begin,
                               begin + t->size);
        if (begin > at)
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "%s: bytes [%zu, %zu) of the buffer, before "
                               "tensor '%s', belong to no tensor",
                               r->origin, at, begin, t->name);
        at = begin + t->size;
    }
    if (at != r->buffer_size && st->count == 0)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: the header lists no tensors, but the buffer "
                           "holds %zu bytes",
                           r->origin, r->buffer_size);
    if (at != r->buffer_size)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: %zu trailing bytes after the last tensor '%s' "
                           "(data_offsets end at %zu, the buffer at %zu)",
                           r->origin, r->buffer_size - at,
                           st->tensors[st->count - 1].name, at,
                           r->buffer_size);
    return CLENC_OK;
}

/* jansson's message for a duplicate key names it only when it is short; the
 * error position is just past the key's closing quote, so the key's text
 * can be found by walking back to its opening quote. */
static clenc_status json_failed(const char *origin, const char *json,
                                size_t size, const json_error_t *err)
{
    if (json_error_code(err) == json_error_out_of_memory)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "%s: no host memory for the header", origin);
    size_t end = err->position > 0 ? (size_t)err->position : 0;
    if (json_error_code(err) == json_error_duplicate_key && end >= 2 &&
        end <= size && json[end - 1] == '"') {
        size_t q = end - 1;
        while (q-- > 0) {
            /* Backslashes are counted only before quotes: linear time. */
            if (json[q] != '"')
                continue;
            size_t slashes = 0;
            while (slashes < q && json[q - 1 - slashes] == '\\')
                slashes++;
            if (slashes % 2 == 0)
                return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                                   "%s: header names %.*s twice (tensor "
                                   "names and fields must be unique)",
                                   origin, (int)(end - q), json + q);
        }
    }
    return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                       "%s: header is not valid JSON: %s (line %d, column %d)",
                       origin, err->text, err->line, err->column);
}

/* The u64 length at the front of `size` bytes (only min(size, 8) of them
 * need be at `data`), checked against the file before anything is
 * allocated for it. */
clenc_status clenc__st_header_length(const unsigned char *data, size_t size,
                                     const char *origin, size_t *out)
{
    if (size < 8)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s is truncated: %zu bytes, too short for the "
                           "8-byte header length",
                           origin, size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = (n << 8) | data[i];
    if (n > CLENC__ST_MAX_HEADER)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: header length %llu is above the limit of %u "
                           "bytes",
                           origin, (unsigned long long)n, CLENC__ST_MAX_HEADER);
    if (n > size - 8)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s is truncated: header length %llu runs past "
                           "the end of the %zu-byte file",
                           origin, (unsigned long long)n, size);
    *out = (size_t)n;
    return CLENC_OK;
}

clenc_status clenc__st_parse_header(const char *json, size_t n,
                                   const unsigned char *buffer,
                                   size_t buffer_size, const char *origin,
                                   clenc__safetensors *out)
{
    clenc_status st = CLENC_OK;
    reader reading = {origin, NULL, buffer, buffer_size}, *r = &reading;
    json_error_t err;
    /* JSON_DECODE_ANY: a header that is valid JSON but not an object gets
     * the plainer message below. */
    json_t *root =
        json_loadb(json, n, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (!root)
        return json_failed(origin, json, n, &err);
    if (!json_is_object(root)) {
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                         "%s: header is a JSON %s, not an object", origin,
                         json_kind(root));
        goto out_free_json;
    }
    json_t *meta = json_object_get(root, METADATA_KEY);
    if (meta)
        TRY(check_metadata(origin, meta), out_free_json);
    size_t count = json_object_size(root) - (meta != NULL);
    if (!(out->tensors = clenc__calloc(count ? count : 1, sizeof *out->tensors))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "%s: no host memory for %zu tensors", origin, count);
        goto out_free_json;
    }
    const char *name;
    json_t *entry;
    json_object_foreach(root, name, entry) {
        if (strcmp(name, METADATA_KEY) == 0)
            continue;
        /* Counted before parsing, so that the cleanup frees the name. */
        clenc__tensor *t = &out->tensors[out->count++];
        if (!(t->name = clenc__strdup(name))) {
            st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
            goto out_free_table;
        }
        r->name = t->name;
        TRY(parse_tensor(r, entry, t), out_free_table);
    }
    TRY(check_tiling(r, out), out_free_table);
    goto out_free_json;
out_free_table:
    clenc__st_close(out);
out_free_json:
    json_decref(root);
    return st;
}

clenc_status clenc__st_parse(const unsigned char *data, size_t size,
                             const char *origin, clenc__safetensors *out)
{
    memset(out, 0, sizeof *out);
    out->fd = -1;
    size_t n;
    clenc_status st = clenc__st_header_length(data, size, origin, &n);
    if (st != CLENC_OK)
        return st;
    return clenc__st_parse_header((const char *)data + 8, n, data + 8 + n,
                                  size - 8 - n, origin, out);
}

void clenc__st_close(clenc__safetensors *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->count; i++)
        clenc__free(st->tensors[i].name);
    clenc__free(st->tensors);
    clenc__free(st->bytes);
    if (st->path)
        close(st->fd);
    clenc__free(st->path);
    memset(st, 0, sizeof *st);
    st->fd = -1;
}

const clenc__tensor *clenc__st_find(const clenc__safetensors *st,
                                    const char *name)
{
    for (size_t i = 0; i < st->count; i++)
        if (strcmp(st->tensors[i].name, name) == 0)
            return &st->tensors[i];
    return NULL;
}

static float f32_from_bits(uint32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

clenc_status clenc__st_to_f32(const clenc__tensor *t, float *out)
{
    const unsigned char *p = t->data;
    /* Byte-wise little-endian loads: offsets need not be aligned, and the
     * host need not be little-endian. */
    switch (t->dtype) {
    case CLENC__F32:
        for (uint64_t i = 0; i < t->count; i++, p += 4)
            out[i] = f32_from_bits((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                                   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        return CLENC_OK;
    case CLENC__F16:
        for (uint64_t i = 0; i < t->count; i++, p += 2)
            out[i] = clenc__half_to_float((uint16_t)(p[0] | p[1] << 8));
        return CLENC_OK;
    case CLENC__BF16: /* the upper half of a float32 */
        for (uint64_t i = 0; i < t->count; i++, p += 2)
            out[i] = f32_from_bits((uint32_t)p[0] << 16 | (uint32_t)p[1] << 24);
        return CLENC_OK;
    default:
        return clenc__fail(CLENC_ERR_UNSUPPORTED,
                           "tensor '%s' has dtype %s; only F32, F16 and BF16 "
                           "convert to float32",
                           t->name, clenc__dtype_name(t->dtype));
    }
}
