/* helpers.h — what every test shares: the one device helper, capability probes, temporary folders, files, child processes. */
#ifndef CLENC_TEST_HELPERS_H
#define CLENC_TEST_HELPERS_H

#include <stddef.h>

#include <CUnit/CUnit.h>

#include "clenc.h"

/* Options for the test device: CLENC_DEVICE if set, else the best device;
 * the suite's own cache folder. */
void test_options(clenc_options *opt);
/* A context on the test device, or a fatal test failure naming why. */
clenc_context *test_context(const clenc_options *opt);

/* A named skip: the current test could not exercise `what` on this device,
 * because `why`. Printed at once and listed after the run's summary
 * (main.c); the test counts as skipped unless it failed, and
 * `clenc-tests --strict` fails the run on any skip. A test that skips one
 * thing still checks everything that holds without it. */
void test_skip(const char *what, const char *why);

/* Capability probes of the test device, each run once per process with raw
 * OpenCL calls, so that they do not depend on the code under test. They
 * return 1 if the device has the capability; else 0, with *why (may be
 * NULL) saying what failed. */
/* The driver hands out a program's binary (CL_PROGRAM_BINARIES) and builds
 * and runs a program created from it (clCreateProgramWithBinary). The
 * program cache and the program container need both. */
int test_device_has_program_binaries(const char **why);
/* The same; without binaries it records a skip of `unchecked`. */
int test_program_binaries_or_report(const char *unchecked);
/* Profiled events carry device times (CL_PROFILING_COMMAND_START/END) that
 * advance; clenc-prof and clenc-bench report from them. */
int test_device_has_profiling_times(const char **why);

/* A fresh empty folder under the suite's temporary root (malloc'd). */
char *test_tmpdir(const char *tag);
char *test_path(const char *dir, const char *name);
/* The suite's temporary root folder, removed when the run ends. */
const char *test_root_dir(void);
int test_write_file(const char *path, const void *data, size_t size);
/* Whole file, NUL-terminated; NULL if unreadable. */
unsigned char *test_read_file(const char *path, size_t *size);
/* Files in `dir` whose names end in `suffix`; returns the count and the first
 * one's path in *first (malloc'd, may be NULL). */
size_t test_list_dir(const char *dir, const char *suffix, char **first);

/* Runs argv with extra environment "K=V" entries (NULL-terminated) and
 * returns the exit status, capturing stdout and stderr into *out and *err
 * (malloc'd) when those are not NULL. */
int test_run(char *const argv[], char *const env[], char **out, char **err);
/* Starts argv (stdout and stderr inherited) and returns its pid. */
int test_spawn(char *const argv[]);
/* clenc-run with argv[1..] (argv[0] is set here): as test_run. */
int test_run_clenc_run(char **argv, char **out, char **err);
/* Path of this test binary and of the tools beside it. */
const char *test_self(void);
char *test_tool(const char *name);

/* Loads `dir` on a context of its own and expects `status`, a NULL model
 * and needle1 (and needle2 unless NULL) in clenc_last_error(). */
void test_expect_load_error(const char *dir, clenc_status status,
                            const char *needle1, const char *needle2);

#define ASSERT_STATUS(call, expected)                                          \
    do {                                                                       \
        clenc_status st_ = (call);                                             \
        if (st_ != (expected))                                                 \
            fprintf(stderr, "\n    %s -> %s: %s\n", #call,                     \
                    clenc_status_name(st_), clenc_last_error());               \
        CU_ASSERT_EQUAL(st_, (expected));                                      \
    } while (0)

#define ASSERT_ERROR_MENTIONS(text)                                            \
    do {                                                                       \
        int found_ = strstr(clenc_last_error(), (text)) != NULL;               \
        if (!found_)                                                           \
            fprintf(stderr, "\n    last error lacks '%s': %s\n", (text),       \
                    clenc_last_error());                                       \
        CU_ASSERT(found_);                                                     \
    } while (0)

#endif
