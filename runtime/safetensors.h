/* safetensors.h — the strict safetensors reader: validated tensor table over an mmap'd file. */
#ifndef CLENC_SAFETENSORS_H
#define CLENC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

typedef enum clenc__dtype {
    CLENC__F64, CLENC__F32, CLENC__F16, CLENC__BF16,
    CLENC__I64, CLENC__I32, CLENC__I16, CLENC__I8, CLENC__U8, CLENC__BOOL,
    CLENC__F8_E4M3, CLENC__F8_E5M2
} clenc__dtype;

#define CLENC__MAX_DIMS 8

typedef struct clenc__tensor {
    char *name;
    clenc__dtype dtype;
    unsigned ndim;
    uint64_t shape[CLENC__MAX_DIMS];
    uint64_t count;            /* product of shape (1 for a scalar) */
    const unsigned char *data; /* into the mapping; little-endian */
    size_t size;               /* bytes */
} clenc__tensor;

typedef struct clenc__safetensors {
    void *map; /* NULL when parsed from a caller's buffer */
    size_t map_size;
    size_t count;
    clenc__tensor *tensors; /* in file order of data_offsets */
} clenc__safetensors;

/* Header lengths above this are refused before any allocation. */
#define CLENC__ST_MAX_HEADER (100u << 20)

/* Maps `path` and validates it: header length bounded and inside the file,
 * the header a JSON object (duplicate names refused), every tensor's dtype
 * known, its shape and data_offsets consistent (end - begin = count × size),
 * offsets in bounds and not overlapping, the buffer ending at the file's
 * end. Failures are CLENC_ERR_MODEL_FORMAT (CLENC_ERR_IO for the file) and
 * the message names the file and the tensor or field. */
clenc_status clenc__st_open(const char *path, clenc__safetensors *out);
/* The same over bytes in memory (fuzzing, tests); `data` must outlive `out`. */
clenc_status clenc__st_parse(const unsigned char *data, size_t size,
                             const char *origin, clenc__safetensors *out);
void clenc__st_close(clenc__safetensors *st);

const clenc__tensor *clenc__st_find(const clenc__safetensors *st,
                                    const char *name);
const char *clenc__dtype_name(clenc__dtype dtype);
/* Converts F32, F16 or BF16 to float32 (t->count values into out); other
 * dtypes are CLENC_ERR_UNSUPPORTED naming the tensor and dtype. */
clenc_status clenc__st_to_f32(const clenc__tensor *t, float *out);

#endif
