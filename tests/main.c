/* main.c — the test runner: registers TEST_LIST, runs it with CUnit on the test device, prints the summary. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "helpers.h"
#include "test_list.h"

const char *test_root;
const char *test_cache;

#define DECLARE(suite, name) void name(void);
TEST_LIST(DECLARE)
#undef DECLARE

static const struct {
    const char *suite, *name;
    void (*fn)(void);
} tests[] = {
#define ENTRY(suite, name) {#suite, #name, name},
    TEST_LIST(ENTRY)
#undef ENTRY
};

static int remove_entry(const char *path, const struct stat *sb, int flag,
                        struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Child modes, run by tests in fresh processes (fork + exec). */
static int child_main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--child-build") == 0) {
        clenc_options opt;
        clenc_options_init(&opt);
        opt.cache_dir = argv[2];
        clenc_context *ctx;
        clenc_status st = clenc_context_create(&opt, &ctx);
        if (st == CLENC_OK)
            st = clenc_context_build_kernels(ctx, NULL, NULL);
        clenc_context_destroy(ctx);
        if (st != CLENC_OK)
            fprintf(stderr, "child: %s\n", clenc_last_error());
        return st == CLENC_OK ? 0 : 1;
    }
    fprintf(stderr, "usage: clenc-tests [SUITE[/TEST]]... "
                    "[--skip SUITE[/TEST]]...\n");
    return 2;
}

/* SUITE or SUITE/TEST names the test? */
static int selects(const char *sel, size_t i)
{
    const size_t n = strlen(tests[i].suite);
    return strcmp(sel, tests[i].suite) == 0 ||
           (strncmp(sel, tests[i].suite, n) == 0 && sel[n] == '/' &&
            strcmp(sel + n + 1, tests[i].name) == 0);
}

/* Runs test i? Named by a selector (or none given), and by no --skip. A
 * skip is printed, so a shortened run says what it left out. */
static int wanted(int argc, char **argv, size_t i)
{
    int named = 0, hit = 0, skipped = 0;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--skip") == 0 && a + 1 < argc) {
            skipped |= selects(argv[++a], i);
        } else {
            named = 1;
            hit |= selects(argv[a], i);
        }
    }
    const int included = !named || hit;
    if (included && skipped)
        printf("skipped by --skip: %s/%s\n", tests[i].suite, tests[i].name);
    return included && !skipped;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "--child", 7) == 0)
        return child_main(argc, argv);

    /* A test that finds no device fails the run; it never skips. */
    clenc_device_info dev;
    clenc_status st = clenc_device_find(NULL, &dev);
    if (st != CLENC_OK) {
        fprintf(stderr, "clenc-tests: no test device: %s: %s\n",
                clenc_status_name(st), clenc_last_error());
        return 1;
    }
    printf("clenc %s tests on device %u:%u '%s' (%s, driver %s)\n",
           clenc_version(), dev.platform_index, dev.device_index, dev.name,
           dev.platform, dev.driver_version);

    char root[] = "/tmp/clenc-tests-XXXXXX";
    if (!mkdtemp(root)) {
        perror("clenc-tests: mkdtemp");
        return 1;
    }
    test_root = root;
    static char cache[sizeof root + 16];
    snprintf(cache, sizeof cache, "%s/cache", root);
    test_cache = cache;
    /* The tools the tests run share the suite's cache, not the user's, and
     * nothing is tuned: results stay deterministic (tests that tune say so
     * through their options). */
    setenv("CLENC_CACHE_DIR", cache, 1);
    setenv("CLENC_TUNE", "off", 1);

    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite suite = NULL;
    const char *current = "";
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!wanted(argc, argv, i))
            continue;
        if (strcmp(current, tests[i].suite) != 0) {
            suite = CU_add_suite(tests[i].suite, NULL, NULL);
            current = tests[i].suite;
        }
        CU_add_test(suite, tests[i].name, tests[i].fn);
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures();
    unsigned ran = CU_get_number_of_tests_run();
    CU_cleanup_registry();
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (ran == 0) {
        fprintf(stderr, "clenc-tests: no test matched; usage: clenc-tests "
                        "[SUITE[/TEST]]... [--skip SUITE[/TEST]]...\n");
        return 1;
    }
    return failed ? 1 : 0;
}
