/* test_cache.c — the on-disk program cache: cold and warm, damaged entries, off, concurrent writers, files only we may have written. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/engine.h" /* the model's chosen tunables */
#include "helpers.h"
#include "cl/cl.h"
#include "testmodel.h"

static clenc_status build_with(const char *cache, clenc_source_build mode,
                               unsigned *fresh)
{
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = cache;
    opt.source_build = mode;
    clenc_context *ctx = test_context(&opt);
    clenc_status st = clenc_context_build_kernels(ctx, NULL, fresh);
    clenc_context_destroy(ctx);
    return st;
}

void test_cache_cold_forbidden_fails_then_warm_succeeds(void)
{
    char *cache = test_tmpdir("cache");
    unsigned fresh = 99;
    ASSERT_STATUS(build_with(cache, CLENC_SOURCE_FORBID, &fresh),
                  CLENC_ERR_BINARY);
    ASSERT_ERROR_MENTIONS("source builds are forbidden");
    ASSERT_STATUS(build_with(cache, CLENC_SOURCE_ALLOW, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, clenc__kernel_program_count());
    if (test_program_binaries_or_report("the cache holds no usable entry, so the warm build "
                     "from it is not checked")) {
        ASSERT_STATUS(build_with(cache, CLENC_SOURCE_FORBID, &fresh), CLENC_OK);
        CU_ASSERT_EQUAL(fresh, 0);
    } else {
        ASSERT_STATUS(build_with(cache, CLENC_SOURCE_FORBID, &fresh),
                      CLENC_ERR_BINARY);
    }
    free(cache);
}

/* Damages every entry of a warm cache with `damage`, then checks that the
 * damaged entries are not trusted and are rebuilt. */
static void check_damage_is_rebuilt(void (*damage)(const char *path))
{
    char *cache = test_tmpdir("cache");
    unsigned fresh = 0;
    ASSERT_STATUS(build_with(cache, CLENC_SOURCE_ALLOW, &fresh), CLENC_OK);
    if (!test_program_binaries_or_report("the cache holds no usable entry, so damaged entries "
                      "are not checked")) {
        free(cache);
        return;
    }
    char *entry = NULL;
    CU_ASSERT_FATAL(test_list_dir(cache, ".clbin", &entry) ==
                    clenc__kernel_program_count());
    damage(entry);
    /* Not trusted: with sources forbidden the damaged entry is a miss. */
    ASSERT_STATUS(build_with(cache, CLENC_SOURCE_FORBID, &fresh),
                  CLENC_ERR_BINARY);
    ASSERT_STATUS(build_with(cache, CLENC_SOURCE_ALLOW, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, 1);
    ASSERT_STATUS(build_with(cache, CLENC_SOURCE_FORBID, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, 0);
    free(entry);
    free(cache);
}

static void flip_middle_byte(const char *path)
{
    size_t n = 0;
    unsigned char *data = test_read_file(path, &n);
    CU_ASSERT_FATAL(data != NULL && n > 64);
    data[n / 2] ^= 0x5a;
    CU_ASSERT_FATAL(test_write_file(path, data, n));
    free(data);
}

static void cut_in_half(const char *path)
{
    size_t n = 0;
    unsigned char *data = test_read_file(path, &n);
    CU_ASSERT_FATAL(data != NULL && n > 64);
    CU_ASSERT_FATAL(test_write_file(path, data, n / 2));
    free(data);
}

void test_cache_corrupt_entry_is_rebuilt(void)
{
    check_damage_is_rebuilt(flip_middle_byte);
}

void test_cache_truncated_entry_is_rebuilt(void)
{
    check_damage_is_rebuilt(cut_in_half);
}

void test_cache_off_writes_nothing(void)
{
    unsigned fresh = 0;
    ASSERT_STATUS(build_with("off", CLENC_SOURCE_ALLOW, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, clenc__kernel_program_count());
    ASSERT_STATUS(build_with("OFF", CLENC_SOURCE_ALLOW, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, clenc__kernel_program_count());
    ASSERT_STATUS(build_with("off", CLENC_SOURCE_FORBID, &fresh),
                  CLENC_ERR_BINARY);
}

void test_cache_concurrent_writers_leave_valid_cache(void)
{
    enum { WRITERS = 6 };
    char *cache = test_tmpdir("cache-shared");
    int pids[WRITERS];
    for (int i = 0; i < WRITERS; i++) {
        char *argv[] = {(char *)test_self(), "--child-build", cache, NULL};
        pids[i] = test_spawn(argv);
    }
    for (int i = 0; i < WRITERS; i++) {
        int status = 0;
        CU_ASSERT(waitpid(pids[i], &status, 0) == pids[i]);
        CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    const int binaries = test_program_binaries_or_report(
        "the writers leave no usable entry, so only their success and whole "
        "entries are checked");
    /* A driver without binaries gives none (nothing is stored) or gives
     * bytes it cannot load back (stored, never usable). */
    const size_t entries = test_list_dir(cache, ".clbin", NULL);
    CU_ASSERT(entries == clenc__kernel_program_count() ||
              (!binaries && entries == 0));
    /* No temporary file left beside the entries ("." and ".." are counted). */
    CU_ASSERT_EQUAL(test_list_dir(cache, "", NULL), entries + 2);
    unsigned fresh = 99;
    ASSERT_STATUS(build_with(cache, CLENC_SOURCE_FORBID, &fresh),
                  binaries ? CLENC_OK : CLENC_ERR_BINARY);
    if (binaries)
        CU_ASSERT_EQUAL(fresh, 0);
    free(cache);
}

/* ------------------------------------------ files only we may have written */

/* A uid that is not ours, for the expected-owner hook: our own files then
 * read as another user's, without root. */
static uid_t other_user(void)
{
    return geteuid() == 4242 ? 4243 : 4242;
}

/* A context whose cache is `dir`, or NULL (no fatal assertion, so that a
 * test can restore the owner hook after it). */
static clenc_context *context_on(const char *dir)
{
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = dir;
    clenc_context *ctx = NULL;
    ASSERT_STATUS(clenc_context_create(&opt, &ctx), CLENC_OK);
    return ctx;
}

static const unsigned char planted_binary[] = "a program binary, as far as "
                                              "the cache can tell";

/* Writes an entry for `key` into ctx's cache, as this user would (0600):
 * the kind of entry clenc__cache_load accepts. Returns its path (free with
 * clenc__free). */
static char *plant_entry(const clenc_context *ctx, clenc__container_program *key)
{
    key->name = "pool";
    key->options = "-DPLANTED_BY_TEST=1";
    key->source_hash = 0x5eed5eed5eed5eedull;
    key->binary = (unsigned char *)planted_binary;
    key->binary_size = sizeof planted_binary;
    clenc__container c = {
        .library_version = (char *)clenc_version(),
        .device_name = (char *)ctx->device.info.name,
        .driver_version = (char *)ctx->device.info.driver_version,
        .count = 1,
        .programs = key,
    };
    unsigned char *data = NULL;
    size_t n = 0;
    ASSERT_STATUS(clenc__container_serialize(&c, &data, &n), CLENC_OK);
    char *path = clenc__cache_path(ctx, key);
    CU_ASSERT_FATAL(path != NULL && data != NULL);
    unlink(path);
    CU_ASSERT(test_write_file(path, data, n));
    CU_ASSERT(chmod(path, 0600) == 0);
    clenc__free(data);
    return path;
}

/* clenc__cache_load of `key`; a hit must give back the planted bytes. */
static clenc_status load_entry(const clenc_context *ctx,
                               const clenc__container_program *key)
{
    unsigned char *bin = NULL;
    size_t n = 0;
    clenc_status st = clenc__cache_load(ctx, key, &bin, &n);
    if (st == CLENC_OK) {
        CU_ASSERT(n == key->binary_size &&
                  memcmp(bin, key->binary, n) == 0);
        clenc__free(bin);
    }
    return st;
}

void test_cache_query_says_where_or_why_not(void)
{
    char *dir = test_tmpdir("cache-query");
    clenc_context *ctx = context_on(dir);
    const char *got = "garbage", *why = "garbage";
    ASSERT_STATUS(clenc_context_cache(ctx, &got, &why), CLENC_OK);
    CU_ASSERT(got && strcmp(got, dir) == 0);
    CU_ASSERT_PTR_NULL(why);
    clenc_context_destroy(ctx);

    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = "off";
    ctx = test_context(&opt);
    got = why = "garbage";
    ASSERT_STATUS(clenc_context_cache(ctx, &got, &why), CLENC_OK);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT(why && strcmp(why, "turned off (option cache_dir=off)") == 0);
    clenc_context_destroy(ctx);

    opt.cache_dir = NULL;
    static const char *const vars[] = {"CLENC_CACHE_DIR", "XDG_CACHE_HOME",
                                       "HOME"};
    char *saved[3];
    for (int i = 0; i < 3; i++)
        saved[i] = getenv(vars[i]) ? strdup(getenv(vars[i])) : NULL;
    setenv("CLENC_CACHE_DIR", "off", 1);
    ctx = test_context(&opt);
    got = why = "garbage";
    ASSERT_STATUS(clenc_context_cache(ctx, &got, &why), CLENC_OK);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT(why && strcmp(why, "turned off (CLENC_CACHE_DIR=off)") == 0);
    ASSERT_STATUS(clenc_context_cache(ctx, NULL, NULL), CLENC_OK);
    clenc_context_destroy(ctx);
    /* Nowhere to keep it: off, and said so. */
    for (int i = 0; i < 3; i++)
        unsetenv(vars[i]);
    ctx = test_context(&opt);
    got = why = "garbage";
    ASSERT_STATUS(clenc_context_cache(ctx, &got, &why), CLENC_OK);
    CU_ASSERT_PTR_NULL(got);
    CU_ASSERT(why && strncmp(why, "no folder for it", 16) == 0);
    clenc_context_destroy(ctx);
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        free(saved[i]);
    }
    ASSERT_STATUS(clenc_context_cache(NULL, &got, &why),
                  CLENC_ERR_INVALID_ARG);
    free(dir);
}

/* Empties a folder of files. */
static void remove_all(const char *dir)
{
    DIR *d = opendir(dir);
    CU_ASSERT_FATAL(d != NULL);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char *path = test_path(dir, e->d_name);
        CU_ASSERT(unlink(path) == 0);
        free(path);
    }
    closedir(d);
}

/* A folder others can write: not used at all, whatever it holds. */
void test_cache_shared_folder_is_skipped(void)
{
    static const struct {
        mode_t mode;
        const char *problem;
    } shared[] = {{01777, "writable by others (mode 1777)"},
                  {0777, "writable by others (mode 0777)"},
                  {0770, "writable by its group (mode 0770)"},
                  {0720, "writable by its group (mode 0720)"}};
    char *dir = test_tmpdir("cache-shared-folder");
    unsigned fresh = 0;
    /* Real entries of every program, and one planted entry, while the
     * folder is private: all of them would be used. */
    ASSERT_STATUS(build_with(dir, CLENC_SOURCE_ALLOW, &fresh), CLENC_OK);
    clenc_context *ctx = context_on(dir);
    CU_ASSERT_FATAL(ctx != NULL);
    clenc__container_program key;
    char *path = plant_entry(ctx, &key);
    ASSERT_STATUS(load_entry(ctx, &key), CLENC_OK);
    clenc_context_destroy(ctx);
    const size_t entries = test_list_dir(dir, ".clbin", NULL);
    const int binaries = test_program_binaries_or_report(
        "the shared folder holds no usable entry of the real programs, so "
        "only the planted one shows that nothing is read");
    CU_ASSERT(!binaries || entries == clenc__kernel_program_count() + 1);
    for (size_t i = 0; i < sizeof shared / sizeof shared[0]; i++) {
        CU_ASSERT_FATAL(chmod(dir, shared[i].mode) == 0);
        clenc_device_info d;
        ASSERT_STATUS(clenc_device_find("marker-no-such-device", &d),
                      CLENC_ERR_NO_DEVICE);
        ctx = context_on(dir);
        CU_ASSERT_FATAL(ctx != NULL);
        const char *got = "garbage", *why = NULL;
        ASSERT_STATUS(clenc_context_cache(ctx, &got, &why), CLENC_OK);
        /* Said by the query, not left in the last error. */
        CU_ASSERT(strstr(clenc_last_error(), "marker-no-such-device") != NULL);
        CU_ASSERT_PTR_NULL(got);
        char want[1024];
        snprintf(want, sizeof want, "cache folder '%s' is %s", dir,
                 shared[i].problem);
        CU_ASSERT(why && strcmp(why, want) == 0);
        if (why && strcmp(why, want) != 0)
            fprintf(stderr, "\n    reason '%s', expected '%s'\n", why, want);
        ASSERT_STATUS(load_entry(ctx, &key), CLENC_ERR_BINARY);
        ASSERT_ERROR_MENTIONS(want);
        clenc_context_destroy(ctx);
    }
    /* Nothing read: no program comes from the folder's valid entries... */
    CU_ASSERT_FATAL(chmod(dir, 01777) == 0);
    if (binaries)
        ASSERT_STATUS(build_with(dir, CLENC_SOURCE_FORBID, &fresh),
                      CLENC_ERR_BINARY);
    /* ...the context still works, from source, and writes nothing there,
     * not even the entries it would now be missing. */
    remove_all(dir);
    fresh = 0;
    ASSERT_STATUS(build_with(dir, CLENC_SOURCE_ALLOW, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, clenc__kernel_program_count());
    CU_ASSERT_EQUAL(test_list_dir(dir, "", NULL), 2); /* "." and ".." */
    chmod(dir, 0700);
    clenc__free(path);
    free(dir);
}

void test_cache_entry_of_another_user_is_refused(void)
{
    char *dir = test_tmpdir("cache-foreign");
    clenc_context *ctx = context_on(dir);
    CU_ASSERT_FATAL(ctx != NULL);
    clenc__container_program key;
    char *path = plant_entry(ctx, &key);
    ASSERT_STATUS(load_entry(ctx, &key), CLENC_OK); /* ours: used */
    clenc__cache_owner_set(other_user());
    const clenc_status st = load_entry(ctx, &key);
    clenc__cache_owner_set((uid_t)-1);
    ASSERT_STATUS(st, CLENC_ERR_BINARY);
    char want[1024];
    snprintf(want, sizeof want, "cache entry '%s' is owned by uid %u, not by "
                                "this user (uid %u)",
             path, (unsigned)geteuid(), (unsigned)other_user());
    ASSERT_ERROR_MENTIONS(want);
    clenc_context_destroy(ctx);

    /* A folder of another user is not used at all. */
    clenc__cache_owner_set(other_user());
    ctx = context_on(dir);
    const char *got = "garbage", *why = NULL;
    if (ctx)
        ASSERT_STATUS(clenc_context_cache(ctx, &got, &why), CLENC_OK);
    clenc__cache_owner_set((uid_t)-1);
    CU_ASSERT_PTR_NULL(got);
    snprintf(want, sizeof want, "cache folder '%s' is owned by uid %u, not "
                                "by this user (uid %u)",
             dir, (unsigned)geteuid(), (unsigned)other_user());
    CU_ASSERT(why && strcmp(why, want) == 0);
    clenc_context_destroy(ctx);
    clenc__free(path);
    free(dir);
}

void test_cache_group_writable_entry_is_refused(void)
{
    static const struct {
        mode_t mode;
        const char *problem; /* NULL: used */
    } modes[] = {{0600, NULL},
                 {0644, NULL}, /* others may read it: no harm */
                 {0620, "is writable by its group (mode 0620)"},
                 {0660, "is writable by its group (mode 0660)"},
                 {0602, "is writable by others (mode 0602)"},
                 {0666, "is writable by others (mode 0666)"}};
    char *dir = test_tmpdir("cache-writable-entry");
    clenc_context *ctx = context_on(dir);
    CU_ASSERT_FATAL(ctx != NULL);
    clenc__container_program key;
    char *path = plant_entry(ctx, &key);
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        CU_ASSERT_FATAL(chmod(path, modes[i].mode) == 0);
        ASSERT_STATUS(load_entry(ctx, &key),
                      modes[i].problem ? CLENC_ERR_BINARY : CLENC_OK);
        if (modes[i].problem) {
            ASSERT_ERROR_MENTIONS(path);
            ASSERT_ERROR_MENTIONS(modes[i].problem);
        }
    }
    clenc_context_destroy(ctx);
    clenc__free(path);
    free(dir);
}

void test_cache_symlink_entry_is_not_followed(void)
{
    char *dir = test_tmpdir("cache-symlink");
    clenc_context *ctx = context_on(dir);
    CU_ASSERT_FATAL(ctx != NULL);
    clenc__container_program key;
    char *path = plant_entry(ctx, &key);
    /* A valid entry of ours elsewhere, and a link to it under the entry's
     * name: what the link points to is not for a planter to choose. */
    char *target = test_path(dir, "elsewhere.bin");
    CU_ASSERT_FATAL(rename(path, target) == 0);
    CU_ASSERT_FATAL(symlink(target, path) == 0);
    ASSERT_STATUS(load_entry(ctx, &key), CLENC_ERR_BINARY);
    ASSERT_ERROR_MENTIONS(path);
    ASSERT_ERROR_MENTIONS("a symbolic link");
    /* The same bytes as a plain file are used. */
    CU_ASSERT_FATAL(unlink(path) == 0 && rename(target, path) == 0);
    ASSERT_STATUS(load_entry(ctx, &key), CLENC_OK);
    clenc_context_destroy(ctx);
    free(target);
    clenc__free(path);
    free(dir);
}

/* Opening a FIFO for reading blocks until a writer comes: the load runs in
 * a child, so that a regression fails this test instead of hanging the
 * suite. */
void test_cache_fifo_entry_does_not_hang(void)
{
    char *dir = test_tmpdir("cache-fifo");
    clenc_context *ctx = context_on(dir);
    CU_ASSERT_FATAL(ctx != NULL);
    clenc__container_program key;
    char *path = plant_entry(ctx, &key);
    CU_ASSERT_FATAL(unlink(path) == 0 && mkfifo(path, 0600) == 0);
    fflush(NULL);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0) {
        unsigned char *bin = NULL;
        size_t n = 0;
        clenc_status st = clenc__cache_load(ctx, &key, &bin, &n);
        _exit(st == CLENC_ERR_BINARY &&
                      strstr(clenc_last_error(), "not a regular file")
                  ? 0
                  : 1);
    }
    /* 5 s for a call that takes microseconds. */
    int status = 0, done = 0;
    for (int i = 0; i < 500 && !done; i++) {
        done = waitpid(pid, &status, WNOHANG) == pid;
        if (!done)
            nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    if (!done) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fprintf(stderr, "\n    clenc__cache_load blocked on a FIFO entry\n");
    }
    CU_ASSERT(done);
    CU_ASSERT(done && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    clenc_context_destroy(ctx);
    clenc__free(path);
    free(dir);
}

/* Bytes this process has read through read() and the like, or -1. */
static long long bytes_read_so_far(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    long long rchar = -1;
    if (f) {
        if (fscanf(f, "rchar: %lld", &rchar) != 1)
            rchar = -1;
        fclose(f);
    }
    return rchar;
}

void test_cache_oversized_entry_is_refused_unread(void)
{
    char *dir = test_tmpdir("cache-oversized");
    clenc_context *ctx = context_on(dir);
    CU_ASSERT_FATAL(ctx != NULL);
    clenc__container_program key;
    char *path = plant_entry(ctx, &key);
    /* A valid entry at the start, then a hole up to one byte over the cap:
     * sparse, so it costs the disk nothing. */
    int fd = open(path, O_WRONLY);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(ftruncate(fd, (off_t)CLENC__CACHE_MAX_ENTRY + 1) == 0);
    close(fd);
    const long long before = bytes_read_so_far();
    ASSERT_STATUS(load_entry(ctx, &key), CLENC_ERR_BINARY);
    const long long after = bytes_read_so_far();
    char want[64];
    snprintf(want, sizeof want, "%zu bytes, more than",
             (size_t)CLENC__CACHE_MAX_ENTRY + 1);
    ASSERT_ERROR_MENTIONS(path);
    ASSERT_ERROR_MENTIONS(want);
    if (before < 0 || after < 0)
        test_skip("the bytes the refusal read", "/proc/self/io is unreadable");
    else
        CU_ASSERT(after - before < (1 << 20));
    clenc_context_destroy(ctx);
    clenc__free(path);
    free(dir);
}

/* Writes `text` over `path` with `mode`. */
static void rewrite(const char *path, const char *text, mode_t mode)
{
    CU_ASSERT_FATAL(unlink(path) == 0);
    CU_ASSERT_FATAL(test_write_file(path, text, strlen(text)));
    CU_ASSERT_FATAL(chmod(path, mode) == 0);
}

/* The peak file: a planted figure is believed only from a file of ours. */
void test_cache_peak_file_of_others_is_ignored(void)
{
    char *dir = test_tmpdir("cache-peak");
    clenc_context *ctx = context_on(dir);
    CU_ASSERT_FATAL(ctx != NULL);
    clenc_device_peak peak = {-1, -1};
    ASSERT_STATUS(clenc_device_peak_get(ctx, &peak), CLENC_OK);
    char *file = NULL;
    CU_ASSERT_FATAL(test_list_dir(dir, ".txt", &file) == 1 && file);
    /* Far from anything this machine measures: 1 PFLOP/s, 1 PB/s. */
    static const char planted[] = "1000000.5 1000000.5 1700000000\n";
    rewrite(file, planted, 0600);
    ASSERT_STATUS(clenc_device_peak_get(ctx, &peak), CLENC_OK);
    CU_ASSERT(peak.gflops == 1000000.5); /* ours: believed */
    rewrite(file, planted, 0660);
    peak.gflops = -1;
    ASSERT_STATUS(clenc_device_peak_get(ctx, &peak), CLENC_OK);
    CU_ASSERT(peak.gflops > 0 && peak.gflops < 1000000);
    rewrite(file, planted, 0600);
    clenc__cache_owner_set(other_user());
    peak.gflops = -1;
    const clenc_status st = clenc_device_peak_get(ctx, &peak);
    clenc__cache_owner_set((uid_t)-1);
    ASSERT_STATUS(st, CLENC_OK);
    CU_ASSERT(peak.gflops > 0 && peak.gflops < 1000000);
    clenc_context_destroy(ctx);
    free(file);
    free(dir);
}

/* The tuning file: a planted tile is taken only from a file of ours. */
void test_cache_tuning_file_of_others_is_ignored(void)
{
    char *dir = test_tmpdir("cache-tune");
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = dir;
    opt.tune = CLENC_TUNE_FAST;
    opt.gemm = CLENC_GEMM_OWN; /* the tile only: CLBlast compiles for seconds */
    opt.variant = CLENC_VARIANT_GPU; /* two candidates, not four */
    clenc_config c;
    clenc_config_init_bert(&c);
    c.vocab_size = 50;
    c.hidden = 32;
    c.heads = 4;
    c.layers = 1;
    c.ffn = 37;
    c.max_positions = 16;
    test_model tm;
    test_model_random(&tm, &c, 5);
    clenc_context *ctx = test_context(&opt);
    clenc_model *model = test_model_upload(ctx, &tm);
    clenc_model_destroy(model);
    char *file = NULL;
    CU_ASSERT_FATAL(test_list_dir(dir, ".txt", &file) == 1 && file);
    /* 3x5 tiles: valid, and no candidate of the search (which keeps the
     * default cpu tile and varies the work-group tile), never measured. */
    static const char planted[] = "3 5 32 1 1 0.0\n";
    static const mode_t refused[] = {0620, 0602};
    rewrite(file, planted, 0600);
    model = test_model_upload(ctx, &tm);
    CU_ASSERT(model->spec.tile.gemm_tm == 3 && model->spec.tile.gemm_tnp == 5);
    clenc_model_destroy(model);
    for (size_t i = 0; i < 2; i++) {
        rewrite(file, planted, refused[i]);
        model = test_model_upload(ctx, &tm);
        CU_ASSERT(model->spec.tile.gemm_tm != 3 && model->spec.tile.gemm_tnp != 5);
        clenc_model_destroy(model);
    }
    rewrite(file, planted, 0600);
    clenc__cache_owner_set(other_user());
    model = NULL;
    const clenc_status st =
        clenc_model_create(ctx, &tm.config, &tm.weights, &model);
    clenc__cache_owner_set((uid_t)-1);
    ASSERT_STATUS(st, CLENC_OK);
    CU_ASSERT(model && model->spec.tile.gemm_tm != 3 && model->spec.tile.gemm_tnp != 5);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    test_model_free(&tm);
    free(file);
    free(dir);
}
