/* file.c — whole-file reads, atomic whole-file writes, and folder creation. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

clenc_status clenc__file_read(const char *path, const char *what,
                              unsigned char **data, size_t *size)
{
    clenc_status st = CLENC_OK;
    *data = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return clenc__fail(CLENC_ERR_IO, "cannot open %s '%s': %s", what, path,
                           strerror(errno));
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = clenc__fail(CLENC_ERR_IO, "%s '%s' is not a regular file", what,
                         path);
        goto out_close;
    }
    size_t n = (size_t)sb.st_size;
    unsigned char *buf = clenc__malloc(n ? n : 1);
    if (!buf) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for %s '%s' (%zu bytes)", what, path,
                         n);
        goto out_close;
    }
    if (fread(buf, 1, n, f) != n) {
        clenc__free(buf);
        st = clenc__fail(CLENC_ERR_IO, "cannot read %s '%s': %s", what, path,
                         ferror(f) ? strerror(errno) : "file shrank");
        goto out_close;
    }
    *data = buf;
    *size = n;
out_close:
    fclose(f);
    return st;
}

clenc_status clenc__file_write_atomic(const char *path, const void *data,
                                      size_t size)
{
    clenc_status st = CLENC_OK;
    char *tmp = clenc__asprintf("%s.tmp.XXXXXX", path);
    if (!tmp)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    /* mkstemp gives every writer its own file; rename() then replaces the
     * entry in one step, so readers see the old file or the new, never a mix. */
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = clenc__fail(CLENC_ERR_IO, "cannot create '%s': %s", tmp,
                         strerror(errno));
        goto out_free_name;
    }
    const unsigned char *p = data;
    size_t left = size;
    while (left > 0) {
        ssize_t n = write(fd, p, left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            st = clenc__fail(CLENC_ERR_IO, "cannot write '%s': %s", tmp,
                             strerror(errno));
            goto out_remove_tmp;
        }
        p += n;
        left -= (size_t)n;
    }
    if (close(fd) != 0) {
        fd = -1;
        st = clenc__fail(CLENC_ERR_IO, "cannot write '%s': %s", tmp,
                         strerror(errno));
        goto out_remove_tmp;
    }
    fd = -1;
    if (rename(tmp, path) != 0) {
        st = clenc__fail(CLENC_ERR_IO, "cannot rename '%s' to '%s': %s", tmp,
                         path, strerror(errno));
        goto out_remove_tmp;
    }
    goto out_free_name;
out_remove_tmp:
    if (fd >= 0)
        close(fd);
    unlink(tmp);
out_free_name:
    clenc__free(tmp);
    return st;
}

clenc_status clenc__mkdirs(const char *path)
{
    char *p = clenc__strdup(path);
    if (!p)
        return clenc__fail(CLENC_ERR_OUT_OF_MEMORY, "no host memory");
    clenc_status st = CLENC_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            st = clenc__fail(CLENC_ERR_IO, "cannot create folder '%s': %s", p,
                             strerror(errno));
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    if (st == CLENC_OK) {
        struct stat sb;
        if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
            st = clenc__fail(CLENC_ERR_IO, "'%s' is not a folder", path);
    }
    clenc__free(p);
    return st;
}
