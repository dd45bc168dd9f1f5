/* json.c — JSON files of a model folder: strict reads and typed fields, every failure naming the file and the key. */
#include <string.h>
#include <sys/stat.h>

#include "formats/json.h"

int clenc__path_exists(const char *path, int want_dir)
{
    struct stat sb;
    return stat(path, &sb) == 0 && (want_dir ? S_ISDIR(sb.st_mode)
                                             : S_ISREG(sb.st_mode));
}

/* folder/name, or NULL when out of memory. */
char *clenc__path_join(const char *folder, const char *name)
{
    return clenc__asprintf("%s/%s", folder, name);
}

/* Parses a JSON file; a missing optional file gives *out = NULL and OK. */
clenc_status clenc__json_read(const char *folder, const char *name,
                              int required, size_t flags, json_t **out)
{
    *out = NULL;
    char *path = clenc__path_join(folder, name);
    if (!path)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    clenc_status st = CLENC_OK;
    if (!clenc__path_exists(path, 0)) {
        if (required)
            st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                             "'%s' is not a model folder: it has no %s",
                             folder, name);
        goto out;
    }
    json_error_t err;
    *out = json_load_file(path, JSON_REJECT_DUPLICATES | flags, &err);
    if (!*out)
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT, "%s: line %d: %s", path,
                         err.line, err.text);
    else if (!json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
        st = clenc__fail(CLENC_ERR_MODEL_FORMAT,
                         "%s: not a JSON object", path);
    }
out:
    clenc__free(path);
    return st;
}

/* An unsigned field; absent gives `dflt` unless dflt < 0 (required). */
clenc_status clenc__json_uint(json_t *o, const char *file, const char *key,
                             long long dflt, unsigned *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        if (dflt < 0)
            return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                               "%s: field '%s' is missing", file, key);
        *out = (unsigned)dflt;
        return CLENC_OK;
    }
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > 0x7fffffff)
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: field '%s' is not a non-negative integer",
                           file, key);
    *out = (unsigned)json_integer_value(v);
    return CLENC_OK;
}

clenc_status clenc__json_float(json_t *o, const char *file, const char *key,
                              double dflt, float *out)
{
    json_t *v = json_object_get(o, key);
    if (!v) {
        *out = (float)dflt;
        return CLENC_OK;
    }
    if (!json_is_number(v))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: field '%s' is not a number", file, key);
    *out = (float)json_number_value(v);
    return CLENC_OK;
}

clenc_status clenc__json_bool(json_t *o, const char *file, const char *key,
                             int dflt, int *out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return CLENC_OK;
    }
    if (!json_is_boolean(v))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: field '%s' is not true or false", file, key);
    *out = json_is_true(v);
    return CLENC_OK;
}

/* A string field; absent (or null) gives dflt. */
clenc_status clenc__json_string(json_t *o, const char *file, const char *key,
                               const char *dflt, const char **out)
{
    json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) {
        *out = dflt;
        return CLENC_OK;
    }
    if (!json_is_string(v))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "%s: field '%s' is not a string", file, key);
    *out = json_string_value(v);
    return CLENC_OK;
}

clenc_status clenc__unsupported(const char *file, const char *key,
                                const char *value, const char *supported)
{
    return clenc__fail(CLENC_ERR_UNSUPPORTED,
                       "%s: %s '%s' is not supported (clenc runs %s)", file,
                       key, value, supported);
}

