/* file.c — whole-file reads (trusting or checking the owner), atomic whole-file writes, and folder creation. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"

/* -1: geteuid(). A uid_t is 32 bits here, so a long long holds both. */
static atomic_llong owner_override = -1;

uid_t clenc__cache_owner(void)
{
    const long long o = atomic_load(&owner_override);
    return o < 0 ? geteuid() : (uid_t)o;
}

void clenc__cache_owner_set(uid_t uid)
{
    atomic_store(&owner_override,
                 uid == (uid_t)-1 ? -1 : (long long)uid);
}

/* 1 when the file or folder is ours and only we may write it; else 0,
 * and `why` says what is wrong: "cache entry 'X' is writable by its group
 * (mode 0660)". */
static int trusted(const struct stat *sb, const char *what, const char *path,
                   char *why, size_t cap)
{
    const uid_t owner = clenc__cache_owner();
    const mode_t mode = sb->st_mode & 07777;
    if (sb->st_uid != owner)
        snprintf(why, cap, "%s '%s' is owned by uid %u, not by this user "
                           "(uid %u)",
                 what, path, (unsigned)sb->st_uid, (unsigned)owner);
    else if (mode & (S_IWGRP | S_IWOTH))
        snprintf(why, cap, "%s '%s' is writable by %s (mode %04o)", what,
                 path, mode & S_IWOTH ? "others" : "its group",
                 (unsigned)mode);
    return sb->st_uid == owner && !(mode & (S_IWGRP | S_IWOTH));
}

int clenc__folder_owned(const char *path, char *why, size_t cap)
{
    struct stat sb;
    /* stat, not lstat: a link to a folder of ours (~/.cache on another
     * disk) is fine; what counts is the folder entries land in. */
    if (stat(path, &sb) != 0) {
        snprintf(why, cap, "cache folder '%s' cannot be read: %s", path,
                 strerror(errno));
        return 0;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(why, cap, "cache folder '%s' is not a folder", path);
        return 0;
    }
    return trusted(&sb, "cache folder", path, why, cap);
}

/* Refusals of clenc__file_read_owned: the file is not read. */
static clenc_status refuse(const char *what, const char *path,
                           const char *problem)
{
    return clenc__fail(CLENC_ERR_IO, "%s '%s' not used: %s", what, path,
                       problem);
}

static clenc_status check_opened(int fd, const char *what, const char *path,
                                 size_t max_size, size_t *size)
{
    struct stat sb;
    char why[512];
    if (fstat(fd, &sb) != 0)
        return clenc__fail(CLENC_ERR_IO, "cannot stat %s '%s': %s", what,
                           path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return refuse(what, path, "not a regular file");
    if (!trusted(&sb, what, path, why, sizeof why))
        return clenc__fail(CLENC_ERR_IO, "%s: not used", why);
    if (sb.st_size < 0 || (unsigned long long)sb.st_size > max_size)
        return clenc__fail(CLENC_ERR_IO,
                           "%s '%s' not used: %lld bytes, more than the "
                           "%zu a %s can be",
                           what, path, (long long)sb.st_size, max_size, what);
    *size = (size_t)sb.st_size;
    return CLENC_OK;
}

clenc_status clenc__file_read_owned(const char *path, const char *what,
                                    size_t max_size, unsigned char **data,
                                    size_t *size)
{
    clenc_status st;
    *data = NULL;
    *size = 0;
    /* O_NOFOLLOW: a planted link would hand us someone else's file under
     * our name; O_NONBLOCK: a planted FIFO would hang open() and read(). */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ELOOP
                   ? refuse(what, path, "a symbolic link")
                   : clenc__fail(CLENC_ERR_IO, "cannot open %s '%s': %s",
                                 what, path, strerror(errno));
    size_t n = 0;
    TRY(check_opened(fd, what, path, max_size, &n), out_close);
    unsigned char *buf = clenc__malloc(n ? n : 1);
    if (!buf) {
        st = clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                         "no host memory for %s '%s' (%zu bytes)", what, path,
                         n);
        goto out_close;
    }
    size_t got = 0;
    int read_errno = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            read_errno = r < 0 ? errno : 0;
            break;
        }
        got += (size_t)r;
    }
    if (got != n) {
        clenc__free(buf);
        st = clenc__fail(CLENC_ERR_IO, "cannot read %s '%s': %s", what, path,
                         read_errno ? strerror(read_errno) : "file shrank");
        goto out_close;
    }
    *data = buf;
    *size = n;
out_close:
    close(fd);
    return st;
}

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

clenc_status clenc__mkdirs_quiet(const char *path, char *why, size_t cap)
{
    char *p = clenc__strdup(path);
    if (!p) {
        snprintf(why, cap, "no host memory");
        return CLENC_ERR_OUT_OF_MEMORY;
    }
    clenc_status st = CLENC_OK;
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) != 0 && errno != EEXIST) {
            snprintf(why, cap, "cannot create folder '%s': %s", p,
                     strerror(errno));
            st = CLENC_ERR_IO;
            break;
        }
        *s = c;
        if (c == '\0')
            break;
    }
    struct stat sb;
    if (st == CLENC_OK && (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))) {
        snprintf(why, cap, "'%s' is not a folder", path);
        st = CLENC_ERR_IO;
    }
    clenc__free(p);
    return st;
}
