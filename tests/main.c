/* main.c — the test runner: registers TEST_LIST, runs it with CUnit on the test device, counts skips, prints the summary. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/Basic.h>

#include "engine/engine.h" /* the kernel table, the workspace hook */
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
#define TEST_COUNT (sizeof tests / sizeof tests[0])

static const char usage[] =
    "usage: clenc-tests [SUITE[/TEST]]... [--skip SUITE[/TEST]]... [--strict]\n"
    "                   [--kernel-usage FILE]\n"
    "       clenc-tests --list | --list-kernels\n"
    "\n"
    "  --strict             a test that skips something fails the run\n"
    "  --kernel-usage FILE  write, per test, the kernels it launched\n"
    "                       (SUITE/TEST, function, family, launches)\n"
    "  --list               every SUITE/TEST, one a line\n"
    "  --list-kernels       every kernel function: file, function, families\n";

/* ------------------------------------------------------------------ skips */

/* CUnit 2.1-3 has no skipped state: the runner keeps its own. */
#define SKIP_CAP 256
static struct {
    char test[160];
    char what[256];
    char why[320];
} skips[SKIP_CAP];
static size_t skip_count, skips_lost;

void test_skip(const char *what, const char *why)
{
    const CU_pTest t = CU_get_current_test();
    const CU_pSuite s = CU_get_current_suite();
    printf("\n    SKIP %s: %s", what, why);
    fflush(stdout);
    if (skip_count == SKIP_CAP) {
        skips_lost++;
        return;
    }
    snprintf(skips[skip_count].test, sizeof skips[0].test, "%s/%s",
             s ? s->pName : "?", t ? t->pName : "?");
    snprintf(skips[skip_count].what, sizeof skips[0].what, "%s", what);
    snprintf(skips[skip_count].why, sizeof skips[0].why, "%s", why);
    skip_count++;
}

/* ------------------------------------------------------------ selection */

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
    fputs(usage, stderr);
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

typedef struct args {
    int strict, list, list_kernels;
    const char *usage_path;
    int selectors; /* SUITE[/TEST] arguments given */
} args;

/* Flags into *a; 0 on a bad argument. */
static int parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--strict") == 0)
            a->strict = 1;
        else if (strcmp(argv[i], "--list") == 0)
            a->list = 1;
        else if (strcmp(argv[i], "--list-kernels") == 0)
            a->list_kernels = 1;
        else if (strcmp(argv[i], "--kernel-usage") == 0 && i + 1 < argc)
            a->usage_path = argv[++i];
        else if (strcmp(argv[i], "--skip") == 0 && i + 1 < argc)
            i++;
        else if (argv[i][0] == '-')
            return 0;
        else
            a->selectors++;
    }
    return 1;
}

/* Runs test i? Named by a selector (or none given), and by no --skip. A
 * test left out by --skip is a skip of the run, listed with the others. */
static int wanted(int argc, char **argv, const args *a, size_t i)
{
    int hit = 0, skipped = 0;
    for (int k = 1; k < argc; k++) {
        if (strcmp(argv[k], "--skip") == 0 && k + 1 < argc)
            skipped |= selects(argv[++k], i);
        else if (strcmp(argv[k], "--kernel-usage") == 0)
            k++;
        else if (argv[k][0] != '-')
            hit |= selects(argv[k], i);
    }
    const int included = !a->selectors || hit;
    if (included && skipped && skip_count < SKIP_CAP) {
        snprintf(skips[skip_count].test, sizeof skips[0].test, "%s/%s",
                 tests[i].suite, tests[i].name);
        snprintf(skips[skip_count].what, sizeof skips[0].what,
                 "the whole test");
        snprintf(skips[skip_count].why, sizeof skips[0].why,
                 "left out by --skip");
        skip_count++;
    }
    return included && !skipped;
}

/* ------------------------------------------------------- kernel usage */

static FILE *usage_file;

/* Every test runs through here: with --kernel-usage the launches it made
 * are written out, as differences of the runtime's per-thread tally. */
static void run_one(void)
{
    const CU_pTest t = CU_get_current_test();
    const CU_pSuite s = CU_get_current_suite();
    size_t i = 0;
    while (i < TEST_COUNT && !(strcmp(tests[i].name, t->pName) == 0 &&
                               strcmp(tests[i].suite, s->pName) == 0))
        i++;
    CU_ASSERT_FATAL(i < TEST_COUNT);
    if (i >= TEST_COUNT) /* unreachable: the fatal assert jumps out */
        return;
    clenc__tally_entry before[64], after[64];
    const size_t nb = clenc__tally_read(before, 64);
    tests[i].fn();
    if (!usage_file)
        return;
    const size_t na = clenc__tally_read(after, 64);
    for (size_t k = 0; k < na && k < 64; k++) {
        unsigned long was = 0;
        for (size_t j = 0; j < nb && j < 64; j++)
            if (before[j].family == after[k].family &&
                strcmp(before[j].function, after[k].function) == 0)
                was = before[j].count;
        if (after[k].count > was)
            fprintf(usage_file, "%s/%s\t%s\t%s\t%lu\n", tests[i].suite,
                    tests[i].name, after[k].function,
                    after[k].family == CLENC__FAMILY_ANY ? "any"
                    : after[k].family                    ? "gpu"
                                                         : "cpu",
                    after[k].count - was);
    }
    fflush(usage_file);
}

static void list_kernels(void)
{
    for (int k = 0; k < CLENC__KERNEL_COUNT; k++)
        printf("%s.cl\t%s\t%s\n", clenc__kernel_file_name((clenc__kernel_id)k),
               clenc__kernels[k].function,
               clenc__kernel_has_families((clenc__kernel_id)k) ? "cpu gpu"
                                                               : "any");
}

/* ---------------------------------------------------------------- summary */

/* Was the test (SUITE/TEST) one with a failed assertion? */
static int test_failed(const char *name)
{
    for (CU_pFailureRecord f = CU_get_failure_list(); f; f = f->pNext) {
        char failed[160];
        snprintf(failed, sizeof failed, "%s/%s", f->pSuite->pName,
                 f->pTest->pName);
        if (strcmp(failed, name) == 0)
            return 1;
    }
    return 0;
}

/* After CUnit's summary, the runner's own: a test that recorded a skip and
 * did not fail counts as skipped, not passed; so does one left out by
 * --skip (it never ran). */
static int summary(int strict)
{
    const unsigned failed = CU_get_number_of_tests_failed();
    unsigned skipped = 0, skipped_ran = 0;
    for (size_t i = 0; i < skip_count; i++) {
        int first = 1;
        for (size_t j = 0; j < i; j++)
            first &= strcmp(skips[j].test, skips[i].test) != 0;
        if (!first || test_failed(skips[i].test))
            continue;
        skipped++;
        skipped_ran += strcmp(skips[i].why, "left out by --skip") != 0;
    }
    const unsigned passed =
        CU_get_number_of_tests_run() - failed - skipped_ran;
    printf("\nclenc-tests: %u passed, %u failed, %u skipped%s\n", passed,
           failed, skipped, strict ? " (--strict: a skip fails the run)" : "");
    for (size_t i = 0; i < skip_count; i++)
        printf("  skipped: %s: %s (%s)\n", skips[i].test, skips[i].what,
               skips[i].why);
    if (skips_lost)
        printf("  ... and %zu more skips\n", skips_lost);
    return failed || (strict && skip_count) ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc > 1 && strncmp(argv[1], "--child", 7) == 0)
        return child_main(argc, argv);
    args a;
    if (!parse_args(argc, argv, &a)) {
        fputs(usage, stderr);
        return 2;
    }
    if (a.list) {
        for (size_t i = 0; i < TEST_COUNT; i++)
            printf("%s/%s\n", tests[i].suite, tests[i].name);
        return 0;
    }
    if (a.list_kernels) {
        list_kernels();
        return 0;
    }

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
    if (a.usage_path && !(usage_file = fopen(a.usage_path, "w"))) {
        perror(a.usage_path);
        return 1;
    }

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
    for (size_t i = 0; i < TEST_COUNT; i++) {
        if (!wanted(argc, argv, &a, i))
            continue;
        if (strcmp(current, tests[i].suite) != 0) {
            suite = CU_add_suite(tests[i].suite, NULL, NULL);
            current = tests[i].suite;
        }
        CU_add_test(suite, tests[i].name, run_one);
    }
    CU_basic_set_mode(CU_BRM_VERBOSE);
    clenc__poison_workspace(1); /* passes start from NaN: skipped work shows */
    CU_basic_run_tests();
    const unsigned ran = CU_get_number_of_tests_run();
    const int rc = summary(a.strict);
    CU_cleanup_registry();
    if (usage_file)
        fclose(usage_file);
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (ran == 0) {
        fprintf(stderr, "clenc-tests: no test matched\n%s", usage);
        return 1;
    }
    return rc;
}
