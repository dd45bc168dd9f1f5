/* safetensors.h — the strict safetensors reader: a validated tensor table, its bytes read with pread. */
#ifndef CLENC_SAFETENSORS_H
#define CLENC_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "base/base.h"

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
    const unsigned char *data; /* in memory, little-endian; NULL when the
                                  table came from clenc__st_open_header */
    size_t offset;             /* from the start of the buffer */
    size_t size;               /* bytes */
} clenc__tensor;

typedef struct clenc__safetensors {
    unsigned char *bytes; /* the buffer read by clenc__st_open; else NULL */
    char *path;           /* set while a file is open for clenc__st_read */
    int fd;               /* open when path is set */
    size_t buffer_at;     /* file offset of the buffer: 8 + header length */
    size_t file_size;     /* as validated */
    size_t count;
    clenc__tensor *tensors; /* in file order of data_offsets */
} clenc__safetensors;

/* Header lengths above this are refused before any allocation. */
#define CLENC__ST_MAX_HEADER (100u << 20)

/* Reads `path`'s header and validates it: header length bounded and inside
 * the file, the header a JSON object (duplicate names refused), every
 * tensor's dtype known, its shape and data_offsets consistent (end - begin =
 * count × size), offsets in bounds and not overlapping, the buffer ending at
 * the file's end. Failures are CLENC_ERR_MODEL_FORMAT (CLENC_ERR_IO for the
 * file) and the message names the file and the tensor or field. The file is
 * read with pread, never mapped: a file cut short under a mapping kills the
 * process with SIGBUS, under pread it is a CLENC_ERR_IO.
 *
 * clenc__st_open then reads the whole buffer into memory and closes the
 * file: every tensor's data is set. clenc__st_open_header leaves the file
 * open and the data NULL: clenc__st_read reads one tensor at a time, so that
 * host memory holds only what the caller keeps. */
clenc_status clenc__st_open(const char *path, clenc__safetensors *out);
clenc_status clenc__st_open_header(const char *path, clenc__safetensors *out);
/* Copies tensor t's bytes into dst (t->size bytes): from memory, or read
 * from the file. A file that has shrunk since its header was read is
 * CLENC_ERR_IO naming the file, the tensor and both sizes. */
clenc_status clenc__st_read(const clenc__safetensors *st, const clenc__tensor *t,
                            void *dst);
/* The same over bytes in memory (fuzzing, tests); `data` must outlive `out`. */
clenc_status clenc__st_parse(const unsigned char *data, size_t size,
                             const char *origin, clenc__safetensors *out);
/* clenc__st_parse's two steps, for safetensors_file.c: the header length
 * checked against a `size`-byte file (only its first min(size, 8) bytes are
 * at `data`), then the header `json` of n bytes validated over a buffer of
 * buffer_size bytes, in memory at `buffer` or not (NULL). */
clenc_status clenc__st_header_length(const unsigned char *data, size_t size,
                                     const char *origin, size_t *n);
clenc_status clenc__st_parse_header(const char *json, size_t n,
                                   const unsigned char *buffer,
                                   size_t buffer_size, const char *origin,
                                   clenc__safetensors *out);
void clenc__st_close(clenc__safetensors *st);

const clenc__tensor *clenc__st_find(const clenc__safetensors *st,
                                    const char *name);
const char *clenc__dtype_name(clenc__dtype dtype);
/* Converts t->data, F32, F16 or BF16, to float32 (t->count values into
 * out); other dtypes are CLENC_ERR_UNSUPPORTED naming the tensor and dtype. */
clenc_status clenc__st_to_f32(const clenc__tensor *t, float *out);

#endif
