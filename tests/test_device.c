/* test_device.c — device enumeration and every selection path, black-box through the API and clenc-info. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "helpers.h"

#define MAX_DEV 64

static size_t all_devices(clenc_device_info *dev)
{
    size_t n = 0;
    ASSERT_STATUS(clenc_device_list(dev, MAX_DEV, &n), CLENC_OK);
    CU_ASSERT_FATAL(n > 0);
    return n < MAX_DEV ? n : MAX_DEV;
}

static int same_device(const clenc_device_info *a, const clenc_device_info *b)
{
    return a->platform_index == b->platform_index &&
           a->device_index == b->device_index;
}

void test_device_list_matches_platform_counts(void)
{
    clenc_platform_info pl[MAX_DEV];
    clenc_device_info dev[MAX_DEV];
    size_t np = 0, nd = all_devices(dev), counted = 0;
    ASSERT_STATUS(clenc_platform_list(pl, MAX_DEV, &np), CLENC_OK);
    for (size_t i = 0; i < np; i++)
        counted += pl[i].device_count;
    CU_ASSERT_EQUAL(counted, nd);
    for (size_t i = 0; i < nd; i++) {
        CU_ASSERT(dev[i].name[0] != '\0');
        CU_ASSERT(dev[i].compute_units > 0);
        CU_ASSERT(dev[i].global_mem_bytes >= dev[i].max_alloc_bytes);
        CU_ASSERT(strncmp(dev[i].opencl_c_version, "OpenCL C ", 9) == 0);
        CU_ASSERT_FATAL(dev[i].platform_index < np);
        CU_ASSERT(pl[dev[i].platform_index].device_count > 0);
    }
    /* Asking with no room still says how many there are. */
    size_t n0 = 0;
    ASSERT_STATUS(clenc_device_list(NULL, 0, &n0), CLENC_OK);
    CU_ASSERT_EQUAL(n0, nd);
    ASSERT_STATUS(clenc_device_list(NULL, 4, &n0), CLENC_ERR_INVALID_ARG);
}

void test_device_select_by_type_index_and_name(void)
{
    clenc_device_info test, got;
    ASSERT_STATUS(clenc_device_find(NULL, &test), CLENC_OK);

    char spec[64];
    snprintf(spec, sizeof spec, "%u:%u", test.platform_index,
             test.device_index);
    ASSERT_STATUS(clenc_device_find(spec, &got), CLENC_OK);
    CU_ASSERT(same_device(&got, &test));

    const char *word = test.type == CLENC_DEVICE_GPU           ? "GPU"
                       : test.type == CLENC_DEVICE_ACCELERATOR ? "Accelerator"
                                                               : "cpu";
    ASSERT_STATUS(clenc_device_find(word, &got), CLENC_OK);
    CU_ASSERT_EQUAL(got.type, test.type);

    /* Part of the name, in other case, matches case-insensitively. */
    char part[64];
    size_t len = strlen(test.name), from = len / 3, n = len - from;
    if (n > 8)
        n = 8;
    for (size_t i = 0; i < n; i++)
        part[i] = (char)toupper((unsigned char)test.name[from + i]);
    part[n] = '\0';
    ASSERT_STATUS(clenc_device_find(part, &got), CLENC_OK);
    char lower_name[sizeof got.name], lower_part[64];
    for (size_t i = 0; i <= strlen(got.name); i++)
        lower_name[i] = (char)tolower((unsigned char)got.name[i]);
    for (size_t i = 0; i <= n; i++)
        lower_part[i] = (char)tolower((unsigned char)part[i]);
    CU_ASSERT(strstr(lower_name, lower_part) != NULL);
}

void test_device_option_wins_over_environment(void)
{
    clenc_device_info test, got;
    ASSERT_STATUS(clenc_device_find(NULL, &test), CLENC_OK);
    char *saved = getenv("CLENC_DEVICE") ? strdup(getenv("CLENC_DEVICE"))
                                         : NULL;
    setenv("CLENC_DEVICE", "env-names-no-device", 1);
    ASSERT_STATUS(clenc_device_find(NULL, &got), CLENC_ERR_NO_DEVICE);
    ASSERT_ERROR_MENTIONS("CLENC_DEVICE 'env-names-no-device'");

    char spec[64];
    snprintf(spec, sizeof spec, "%u:%u", test.platform_index,
             test.device_index);
    ASSERT_STATUS(clenc_device_find(spec, &got), CLENC_OK);
    clenc_options opt;
    test_options(&opt);
    opt.device = spec;
    clenc_context *ctx = test_context(&opt);
    ASSERT_STATUS(clenc_context_device(ctx, &got), CLENC_OK);
    CU_ASSERT(same_device(&got, &test));
    clenc_context_destroy(ctx);

    if (saved)
        setenv("CLENC_DEVICE", saved, 1);
    else
        unsetenv("CLENC_DEVICE");
    free(saved);
}

void test_device_bad_spec_lists_devices(void)
{
    clenc_device_info test, got;
    ASSERT_STATUS(clenc_device_find(NULL, &test), CLENC_OK);
    const char *bad[] = {"no-such-device", "9999:0", "0:9999", "1:", ":1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ASSERT_STATUS(clenc_device_find(bad[i], &got), CLENC_ERR_NO_DEVICE);
        ASSERT_ERROR_MENTIONS(bad[i]);
        ASSERT_ERROR_MENTIONS(test.name); /* the devices that exist */
    }
    /* A type that no device has is the same error. */
    clenc_device_info dev[MAX_DEV];
    size_t nd = all_devices(dev);
    const char *types[] = {"cpu", "gpu", "accelerator"};
    const clenc_device_type kinds[] = {CLENC_DEVICE_CPU, CLENC_DEVICE_GPU,
                                       CLENC_DEVICE_ACCELERATOR};
    for (size_t t = 0; t < 3; t++) {
        int present = 0;
        for (size_t i = 0; i < nd; i++)
            present |= dev[i].type == kinds[t];
        ASSERT_STATUS(clenc_device_find(types[t], &got),
                      present ? CLENC_OK : CLENC_ERR_NO_DEVICE);
    }
    clenc_options opt;
    test_options(&opt);
    opt.device = "no-such-device";
    clenc_context *ctx = (clenc_context *)&opt;
    ASSERT_STATUS(clenc_context_create(&opt, &ctx), CLENC_ERR_NO_DEVICE);
    CU_ASSERT_PTR_NULL(ctx);
    ASSERT_STATUS(clenc_device_find(NULL, NULL), CLENC_ERR_INVALID_ARG);
}

/* Debian's Mesa ICD (installed by `make deps`) brings Clover and Rusticl
 * platforms that have no device on a machine without a GPU. */
void test_device_platform_without_devices_is_skipped(void)
{
    clenc_platform_info pl[MAX_DEV];
    clenc_device_info dev[MAX_DEV];
    size_t np = 0, nd = all_devices(dev), empty = 0;
    ASSERT_STATUS(clenc_platform_list(pl, MAX_DEV, &np), CLENC_OK);
    for (size_t p = 0; p < np; p++) {
        if (pl[p].device_count != 0)
            continue;
        empty++;
        for (size_t i = 0; i < nd; i++)
            CU_ASSERT_NOT_EQUAL(dev[i].platform_index, pl[p].index);
    }
    if (empty == 0)
        fprintf(stderr, "\n    no platform without devices here: install "
                        "mesa-opencl-icd (make deps)\n");
    CU_ASSERT(empty > 0);
    clenc_context_destroy(test_context(NULL)); /* and the device still opens */
}

void test_device_no_platform_is_clear_error(void)
{
    char *dir = test_tmpdir("no-icd");
    char env_buf[4200];
    snprintf(env_buf, sizeof env_buf, "OCL_ICD_VENDORS=%s", dir);
    char *env[] = {env_buf, NULL};
    char *tool = test_tool("clenc-info");
    char *argv[] = {tool, NULL};
    char *err = NULL;
    int rc = test_run(argv, env, NULL, &err);
    CU_ASSERT_EQUAL(rc, 1);
    CU_ASSERT(err && strstr(err, "CLENC_ERR_NO_DEVICE") &&
              strstr(err, "no OpenCL platform"));
    free(err);
    free(tool);
    free(dir);
}

void test_info_tool_json_lists_device(void)
{
    clenc_device_info test;
    ASSERT_STATUS(clenc_device_find(NULL, &test), CLENC_OK);
    char *tool = test_tool("clenc-info");
    char *argv[] = {tool, "--json", NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_run(argv, NULL, &out, &err), 0);
    json_error_t jerr;
    json_t *root = out ? json_loads(out, 0, &jerr) : NULL;
    CU_ASSERT_FATAL(root != NULL);
    json_t *devices = json_object_get(root, "devices");
    CU_ASSERT(json_is_array(devices) && json_array_size(devices) > 0);
    int found = 0, defaults = 0;
    for (size_t i = 0; i < json_array_size(devices); i++) {
        json_t *d = json_array_get(devices, i);
        const char *name = json_string_value(json_object_get(d, "name"));
        int is_default = json_is_true(json_object_get(d, "default"));
        defaults += is_default;
        if (name && strcmp(name, test.name) == 0 && is_default)
            found = 1;
        CU_ASSERT(json_is_integer(json_object_get(d, "global_mem_bytes")));
        CU_ASSERT(json_is_string(json_object_get(d, "type")));
    }
    CU_ASSERT(found);
    CU_ASSERT_EQUAL(defaults, 1);
    CU_ASSERT(json_is_array(json_object_get(root, "platforms")));
    /* The suite's cache folder (main.c sets CLENC_CACHE_DIR), in use. */
    json_t *cache = json_object_get(root, "cache");
    const char *cache_dir = json_string_value(json_object_get(cache, "dir"));
    CU_ASSERT(cache_dir && strcmp(cache_dir, getenv("CLENC_CACHE_DIR")) == 0);
    CU_ASSERT(json_is_null(json_object_get(cache, "off_reason")));
    CU_ASSERT(err && err[0] == '\0');
    json_decref(root);
    free(out);
    free(err);

    char *help[] = {tool, "--help", NULL};
    CU_ASSERT_EQUAL(test_run(help, NULL, &out, NULL), 0);
    CU_ASSERT(out && strstr(out, "usage: clenc-info"));
    free(out);
    char *version[] = {tool, "--version", NULL};
    CU_ASSERT_EQUAL(test_run(version, NULL, &out, NULL), 0);
    CU_ASSERT(out && strstr(out, clenc_version()));
    free(out);
    char *bad[] = {tool, "--frobnicate", NULL};
    CU_ASSERT_EQUAL(test_run(bad, NULL, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "--frobnicate"));
    free(err);
    free(tool);
}

/* A cache folder others can write is reported where a user looks: by
 * clenc-info's listing (table and JSON), and as one warning line by a tool
 * that builds; a cache the user turned off is no warning. */
void test_info_tool_shows_cache_folder_or_why_not(void)
{
    char *dir = test_tmpdir("info-shared-cache");
    CU_ASSERT_FATAL(chmod(dir, 01777) == 0);
    char env_buf[4200], reason[4300], line[4400];
    snprintf(env_buf, sizeof env_buf, "CLENC_CACHE_DIR=%s", dir);
    snprintf(reason, sizeof reason,
             "cache folder '%s' is writable by others (mode 1777)", dir);
    char *env[] = {env_buf, NULL};
    char *tool = test_tool("clenc-info");
    char *json_argv[] = {tool, "--json", NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL(test_run(json_argv, env, &out, &err), 0);
    json_error_t jerr;
    json_t *root = out ? json_loads(out, 0, &jerr) : NULL;
    CU_ASSERT_FATAL(root != NULL);
    json_t *cache = json_object_get(root, "cache");
    CU_ASSERT(json_is_object(cache));
    CU_ASSERT(json_is_null(json_object_get(cache, "dir")));
    const char *off = json_string_value(json_object_get(cache, "off_reason"));
    CU_ASSERT(off && strcmp(off, reason) == 0);
    CU_ASSERT(err && err[0] == '\0'); /* the listing says it: no warning */
    json_decref(root);
    free(out);
    free(err);

    char *table_argv[] = {tool, NULL};
    CU_ASSERT_EQUAL(test_run(table_argv, env, &out, NULL), 0);
    snprintf(line, sizeof line, "program cache: off: %s\n", reason);
    CU_ASSERT(out && strstr(out, line));
    free(out);

    char *off_env[] = {"CLENC_CACHE_DIR=off", NULL};
    CU_ASSERT_EQUAL(test_run(json_argv, off_env, &out, NULL), 0);
    CU_ASSERT(out && strstr(out, "\"cache\": {\"dir\": null, \"off_reason\": "
                                 "\"turned off (CLENC_CACHE_DIR=off)\"}"));
    free(out);

    /* A tool that makes a context warns once, on stderr, and still works. */
    char *build_argv[] = {tool, "--build", NULL};
    CU_ASSERT_EQUAL(test_run(build_argv, env, &out, &err), 0);
    snprintf(line, sizeof line,
             "clenc-info: warning: program cache not used: %s\n", reason);
    /* One line (a cold PoCL cache adds the compiler's own chatter). */
    const char *at = err ? strstr(err, line) : NULL;
    CU_ASSERT(at && !strstr(at + strlen(line), "program cache not used"));
    if (!at)
        fprintf(stderr, "\n    stderr: '%s'\n", err ? err : "");
    CU_ASSERT(out && strstr(out, "built clenc's kernels"));
    free(out);
    free(err);
    CU_ASSERT_EQUAL(test_run(build_argv, off_env, NULL, &err), 0);
    CU_ASSERT(err && !strstr(err, "warning"));
    free(err);
    chmod(dir, 0700);
    free(tool);
    free(dir);
}
