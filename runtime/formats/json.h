/* json.h — JSON files of a model folder: strict reads and typed fields, every failure naming the file and the key. */
#ifndef CLENC_JSON_H
#define CLENC_JSON_H

#include <jansson.h>

#include "base/base.h"

/* A regular file (want_dir 0) or a folder (1) exists at path. */
int clenc__path_exists(const char *path, int want_dir);
/* folder/name (malloc'd), or NULL when out of memory. */
char *clenc__path_join(const char *folder, const char *name);
/* Parses folder/name, which must hold an object (duplicate keys refused);
 * a missing file that is not required gives *out = NULL and CLENC_OK. */
clenc_status clenc__json_read(const char *folder, const char *name,
                              int required, size_t flags, json_t **out);
/* Typed fields of object o of `file`; an absent field gives the default
 * (for json_uint, dflt < 0 means required). A field of another type is
 * CLENC_ERR_MODEL_FORMAT naming file and key. */
clenc_status clenc__json_uint(json_t *o, const char *file, const char *key,
                              long long dflt, unsigned *out);
clenc_status clenc__json_float(json_t *o, const char *file, const char *key,
                               double dflt, float *out);
clenc_status clenc__json_bool(json_t *o, const char *file, const char *key,
                              int dflt, int *out);
/* Absent or null gives dflt; the string lives as long as o. */
clenc_status clenc__json_string(json_t *o, const char *file, const char *key,
                                const char *dflt, const char **out);
/* CLENC_ERR_UNSUPPORTED: "FILE: KEY 'VALUE' is not supported (clenc runs
 * SUPPORTED)". */
clenc_status clenc__unsupported(const char *file, const char *key,
                                const char *value, const char *supported);

#endif
