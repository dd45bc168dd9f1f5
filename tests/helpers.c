/* helpers.c — the one device helper every test uses, temporary folders, files and child processes. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

extern char **environ;
extern const char *test_root; /* main.c */
extern const char *test_cache; /* main.c */

void test_options(clenc_options *opt)
{
    clenc_options_init(opt);
    opt->device = NULL; /* CLENC_DEVICE, else the best device */
    opt->cache_dir = test_cache;
}

clenc_context *test_context(const clenc_options *opt)
{
    clenc_options defaults;
    if (!opt) {
        test_options(&defaults);
        opt = &defaults;
    }
    clenc_context *ctx = NULL;
    clenc_status st = clenc_context_create(opt, &ctx);
    if (st != CLENC_OK)
        fprintf(stderr, "\n    no test context: %s: %s\n",
                clenc_status_name(st), clenc_last_error());
    CU_ASSERT_FATAL(st == CLENC_OK && ctx != NULL);
    return ctx;
}

const char *test_root_dir(void)
{
    return test_root;
}

char *test_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    CU_ASSERT_FATAL(p != NULL);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

char *test_tmpdir(const char *tag)
{
    char *t = test_path(test_root, tag);
    size_t n = strlen(t) + 8;
    char *p = realloc(t, n);
    CU_ASSERT_FATAL(p != NULL);
    strcat(p, "-XXXXXX");
    CU_ASSERT_FATAL(mkdtemp(p) != NULL);
    return p;
}

int test_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    int ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

unsigned char *test_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *grown = realloc(buf, 2 * cap + 1);
            if (!grown) {
                free(buf);
                buf = NULL;
            }
            buf = grown;
            cap *= 2;
        }
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        if (size)
            *size = n;
    }
    return buf;
}

size_t test_list_dir(const char *dir, const char *suffix, char **first)
{
    size_t count = 0, ls = strlen(suffix);
    if (first)
        *first = NULL;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t n = strlen(e->d_name);
        if (n < ls || strcmp(e->d_name + n - ls, suffix) != 0)
            continue;
        if (count++ == 0 && first)
            *first = test_path(dir, e->d_name);
    }
    closedir(d);
    return count;
}

int test_run(char *const argv[], char *const env[], char **out, char **err)
{
    char *err_path = test_path(test_root, "stderr-XXXXXX");
    int err_fd = mkstemp(err_path);
    CU_ASSERT_FATAL(err_fd >= 0);
    size_t ne = 0, nx = 0;
    while (environ[ne])
        ne++;
    while (env && env[nx])
        nx++;
    char **envp = calloc(ne + nx + 1, sizeof *envp);
    CU_ASSERT_FATAL(envp != NULL);
    if (nx)
        memcpy(envp, env, nx * sizeof *envp);
    memcpy(envp + nx, environ, ne * sizeof *envp);
    int fds[2];
    CU_ASSERT_FATAL(pipe(fds) == 0);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(err_fd, 2);
        close(fds[0]);
        close(fds[1]);
        execve(argv[0], argv, envp);
        _exit(127);
    }
    close(fds[1]);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    ssize_t got;
    char chunk[4096];
    while ((got = read(fds[0], chunk, sizeof chunk)) > 0) {
        if (buf && n + (size_t)got + 1 > cap) {
            while (n + (size_t)got + 1 > cap)
                cap *= 2;
            char *grown = realloc(buf, cap);
            if (!grown)
                free(buf);
            buf = grown;
        }
        if (buf) {
            memcpy(buf + n, chunk, (size_t)got);
            n += (size_t)got;
        }
    }
    close(fds[0]);
    if (buf)
        buf[n] = '\0';
    int status = 0;
    waitpid(pid, &status, 0);
    free(envp);
    close(err_fd);
    if (err)
        *err = (char *)test_read_file(err_path, NULL);
    unlink(err_path);
    free(err_path);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

const char *test_self(void)
{
    static char self[4096];
    if (!self[0]) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        CU_ASSERT_FATAL(n > 0);
        self[n] = '\0';
    }
    return self;
}

char *test_tool(const char *name)
{
    char *dir = strdup(test_self());
    CU_ASSERT_FATAL(dir != NULL);
    char *slash = strrchr(dir, '/');
    *slash = '\0';
    char *p = test_path(dir, name);
    free(dir);
    return p;
}

int test_spawn(char *const argv[])
{
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        execv(argv[0], argv);
        _exit(127);
    }
    return (int)pid;
}
