/* test_cache.c — the on-disk program cache: cold and warm, damaged entries, off, concurrent writers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "helpers.h"
#include "internal.h"

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
