/* safetensors_file.c — a safetensors file read with pread: the header validated first, then the tensors, whole or one at a time. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/safetensors.h"

/* Never mapped: a mapped file cut short under its reader (rewritten by a
 * download, copied onto a full disk) raises SIGBUS at the first touch of a
 * page past the new end, which kills the host process. pread sees the end of
 * the file instead, and the reader says so. */

/* `size` bytes at file offset `at` into dst. End of file before them means
 * the file shrank after its header was validated: it is named, with what
 * was being read and both sizes. */
static clenc_status read_at(int fd, const char *path, size_t file_size,
                            const char *what, void *dst, size_t size,
                            size_t at)
{
    unsigned char *p = dst;
    size_t done = 0;
    while (done < size) {
        ssize_t got = pread(fd, p + done, size - done, (off_t)(at + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return clenc__fail(CLENC_ERR_IO,
                               "cannot read %s from '%s' (bytes [%zu, %zu)): "
                               "%s",
                               what, path, at, at + size, strerror(errno));
        if (got == 0) {
            struct stat sb;
            long long now = fstat(fd, &sb) == 0 ? (long long)sb.st_size : -1;
            return clenc__fail(CLENC_ERR_IO,
                               "'%s' shrank while being read (truncated or "
                               "rewritten?): %s needs bytes [%zu, %zu), but "
                               "the file now ends at byte %lld; it had %zu "
                               "bytes when its header was validated",
                               path, what, at, at + size, now, file_size);
        }
        done += (size_t)got;
    }
    return CLENC_OK;
}

/* The header of the open file `fd`, validated into out; data stays NULL. */
static clenc_status read_header(int fd, const char *path, size_t size,
                                clenc__safetensors *out)
{
    unsigned char front[8];
    size_t n;
    clenc_status st;
    if ((st = read_at(fd, path, size, "the header length", front,
                      size < 8 ? size : 8, 0)) != CLENC_OK ||
        (st = clenc__st_header_length(front, size, path, &n)) != CLENC_OK)
        return st;
    char *json = clenc__malloc(n);
    if (!json)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                           "%s: no host memory for its %zu-byte header", path,
                           n);
    if ((st = read_at(fd, path, size, "the header", json, n, 8)) == CLENC_OK)
        st = clenc__st_parse_header(json, n, NULL, size - 8 - n, path, out);
    clenc__free(json);
    if (st == CLENC_OK) {
        out->buffer_at = 8 + n;
        out->file_size = size;
    }
    return st;
}

clenc_status clenc__st_open_header(const char *path, clenc__safetensors *out)
{
    clenc_status st = CLENC_OK;
    memset(out, 0, sizeof *out);
    out->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return clenc__fail(CLENC_ERR_IO, "cannot open model '%s': %s", path,
                           strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = clenc__fail(CLENC_ERR_IO, "model '%s' is not a regular file",
                         path);
        goto out_close;
    }
    TRY(read_header(fd, path, (size_t)sb.st_size, out), out_close);
    if (!(out->path = clenc__strdup(path))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
        clenc__st_close(out);
        goto out_close;
    }
    out->fd = fd;
    return CLENC_OK;
out_close:
    close(fd);
    return st;
}

clenc_status clenc__st_open(const char *path, clenc__safetensors *out)
{
    clenc_status st = clenc__st_open_header(path, out);
    if (st != CLENC_OK)
        return st;
    size_t buffer_size = out->file_size - out->buffer_at;
    if (!(out->bytes = clenc__malloc(buffer_size))) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "%s: no host memory for its %zu bytes of tensors",
                         path, buffer_size);
        goto out_close;
    }
    TRY(read_at(out->fd, path, out->file_size, "the tensor data", out->bytes,
                buffer_size, out->buffer_at),
        out_close);
    for (size_t i = 0; i < out->count; i++)
        out->tensors[i].data = out->bytes + out->tensors[i].offset;
    /* In memory now: the file is no longer needed. */
    close(out->fd);
    out->fd = -1;
    clenc__free(out->path);
    out->path = NULL;
    return CLENC_OK;
out_close:
    clenc__st_close(out);
    return st;
}

clenc_status clenc__st_read(const clenc__safetensors *st, const clenc__tensor *t,
                            void *dst)
{
    if (t->data) {
        if (t->size)
            memcpy(dst, t->data, t->size);
        return CLENC_OK;
    }
    if (!st->path)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "tensor '%s': neither in memory nor in an open "
                           "file",
                           t->name);
    char what[300];
    snprintf(what, sizeof what, "tensor '%.256s'", t->name);
    return read_at(st->fd, st->path, st->file_size, what, dst, t->size,
                   st->buffer_at + t->offset);
}
