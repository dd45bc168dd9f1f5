/* test_container.c — the program container: round trip without a compiler, and each kind of mismatch or damage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"
#include "cl/cl.h"

#define DEFINES "-DPROBE_CHAINS=4"

/* Without binaries no container can be saved from a build. The header and
 * option checks never hand a binary to the device, so they run on a
 * container of this device, driver and library whose programs carry the
 * exact names and options of a build with DEFINES and placeholder bytes. */
static void write_placeholder_container(clenc_context *ctx, const char *path)
{
    static const unsigned char placeholder[64] =
        "placeholder: the device gives no program binaries";
    clenc_program_info info[32];
    size_t count = 0;
    ASSERT_STATUS(clenc_context_programs(ctx, info, 32, &count), CLENC_OK);
    CU_ASSERT_FATAL(count > 0 && count <= 32);
    clenc__container c = {
        .library_version = clenc__strdup(clenc_version()),
        .device_name = clenc__strdup(ctx->device.info.name),
        .driver_version = clenc__strdup(ctx->device.info.driver_version),
    };
    for (size_t i = 0; i < count; i++) {
        clenc__container_program p = {
            .name = info[i].name,
            .options = info[i].options,
            .binary = (unsigned char *)placeholder,
            .binary_size = sizeof placeholder,
        };
        ASSERT_STATUS(clenc__container_add(&c, &p), CLENC_OK);
    }
    unsigned char *data = NULL;
    size_t size = 0;
    ASSERT_STATUS(clenc__container_serialize(&c, &data, &size), CLENC_OK);
    CU_ASSERT_FATAL(test_write_file(path, data, size));
    clenc__free(data);
    clenc__container_free(&c);
}

/* Builds the kernels with DEFINES on a context without cache and saves them
 * (or, on a device without binaries, writes their placeholder). */
static char *make_container(void)
{
    char *dir = test_tmpdir("container");
    char *path = test_path(dir, "kernels.clenc");
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = "off";
    clenc_context *ctx = test_context(&opt);
    ASSERT_STATUS(clenc_context_save_programs(ctx, path),
                  CLENC_ERR_INVALID_ARG); /* nothing built yet */
    ASSERT_STATUS(clenc_context_build_kernels(ctx, DEFINES, NULL), CLENC_OK);
    if (test_program_binaries_or_report("the checks run on a container with placeholder "
                     "binaries"))
        ASSERT_STATUS(clenc_context_save_programs(ctx, path), CLENC_OK);
    else
        write_placeholder_container(ctx, path);
    clenc_context_destroy(ctx);
    free(dir);
    return path;
}

static clenc_status open_with(const char *path, clenc_context **out)
{
    clenc_options opt;
    test_options(&opt);
    opt.cache_dir = "off";
    opt.binary = path;
    return clenc_context_create(&opt, out);
}

void test_container_round_trip_without_compiler(void)
{
    if (!test_program_binaries_or_report("no container can be saved from a build, so the round "
                      "trip is not run"))
        return;
    char *path = make_container();
    clenc_context *ctx = NULL;
    ASSERT_STATUS(open_with(path, &ctx), CLENC_OK);
    CU_ASSERT_FATAL(ctx != NULL);
    unsigned fresh = 99;
    ASSERT_STATUS(clenc_context_build_kernels(ctx, DEFINES, &fresh), CLENC_OK);
    CU_ASSERT_EQUAL(fresh, 0);
    /* Saving again gives an equivalent container. */
    char *again = test_path(test_root_dir(), "again.clenc");
    ASSERT_STATUS(clenc_context_save_programs(ctx, again), CLENC_OK);
    size_t n1 = 0, n2 = 0;
    unsigned char *a = test_read_file(path, &n1), *b = test_read_file(again, &n2);
    clenc__container ca, cb;
    ASSERT_STATUS(clenc__container_parse(a, n1, path, &ca), CLENC_OK);
    ASSERT_STATUS(clenc__container_parse(b, n2, again, &cb), CLENC_OK);
    CU_ASSERT_EQUAL(ca.count, clenc__kernel_program_count());
    CU_ASSERT_EQUAL(cb.count, ca.count);
    for (size_t i = 0; i < ca.count && i < cb.count; i++) {
        CU_ASSERT_STRING_EQUAL(ca.programs[i].name, cb.programs[i].name);
        CU_ASSERT_STRING_EQUAL(ca.programs[i].options, cb.programs[i].options);
        CU_ASSERT(strstr(ca.programs[i].options, DEFINES) != NULL);
    }
    clenc__container_free(&ca);
    clenc__container_free(&cb);
    free(a);
    free(b);
    clenc_context_destroy(ctx);
    free(again);
    free(path);
}

/* Rewrites one header field of the container and expects a mismatch. */
static void check_field_mismatch(size_t field, const char *what)
{
    char *path = make_container();
    size_t n = 0;
    unsigned char *data = test_read_file(path, &n);
    clenc__container c;
    ASSERT_STATUS(clenc__container_parse(data, n, path, &c), CLENC_OK);
    char **slot = field == 0   ? &c.device_name
                  : field == 1 ? &c.driver_version
                               : &c.library_version;
    free(*slot);
    *slot = strdup("elsewhere-9.9.9");
    unsigned char *out = NULL;
    size_t size = 0;
    ASSERT_STATUS(clenc__container_serialize(&c, &out, &size), CLENC_OK);
    CU_ASSERT_FATAL(test_write_file(path, out, size));
    clenc_context *ctx = (clenc_context *)&c;
    ASSERT_STATUS(open_with(path, &ctx), CLENC_ERR_BINARY);
    CU_ASSERT_PTR_NULL(ctx);
    ASSERT_ERROR_MENTIONS(what);
    ASSERT_ERROR_MENTIONS("elsewhere-9.9.9");
    clenc__container_free(&c);
    free(out);
    free(data);
    free(path);
}

void test_container_other_device_is_mismatch(void)
{
    check_field_mismatch(0, "built for device");
}

void test_container_other_driver_is_mismatch(void)
{
    check_field_mismatch(1, "built for driver version");
}

void test_container_other_library_is_mismatch(void)
{
    check_field_mismatch(2, "built for library version");
}

void test_container_other_constants_is_mismatch(void)
{
    char *path = make_container();
    clenc_context *ctx = NULL;
    ASSERT_STATUS(open_with(path, &ctx), CLENC_OK);
    CU_ASSERT_FATAL(ctx != NULL);
    ASSERT_STATUS(clenc_context_build_kernels(ctx, "-DPROBE_CHAINS=2", NULL),
                  CLENC_ERR_BINARY);
    ASSERT_ERROR_MENTIONS("another set of constants");
    ASSERT_ERROR_MENTIONS("-DPROBE_CHAINS=2");
    ASSERT_ERROR_MENTIONS(DEFINES);
    clenc_context_destroy(ctx);
    free(path);
}

void test_container_corrupt_or_truncated_is_rejected(void)
{
    char *path = make_container();
    size_t n = 0;
    unsigned char *data = test_read_file(path, &n);
    CU_ASSERT_FATAL(data != NULL && n > 100);
    clenc_context *ctx = NULL;

    data[n - 10] ^= 1;
    CU_ASSERT_FATAL(test_write_file(path, data, n));
    ASSERT_STATUS(open_with(path, &ctx), CLENC_ERR_BINARY);
    ASSERT_ERROR_MENTIONS("checksum");
    data[n - 10] ^= 1;

    CU_ASSERT_FATAL(test_write_file(path, data, n - 1));
    ASSERT_STATUS(open_with(path, &ctx), CLENC_ERR_BINARY);
    ASSERT_ERROR_MENTIONS("truncated");

    CU_ASSERT_FATAL(test_write_file(path, "not a container at all", 22));
    ASSERT_STATUS(open_with(path, &ctx), CLENC_ERR_BINARY);
    ASSERT_ERROR_MENTIONS("not a clenc program container");

    memcpy(data + 8, "\x07\0\0\0", 4); /* format version 7 */
    CU_ASSERT_FATAL(test_write_file(path, data, n));
    ASSERT_STATUS(open_with(path, &ctx), CLENC_ERR_BINARY);
    ASSERT_ERROR_MENTIONS("format version 7");

    ASSERT_STATUS(open_with("/nonexistent/kernels.clenc", &ctx), CLENC_ERR_IO);
    ASSERT_ERROR_MENTIONS("/nonexistent/kernels.clenc");
    CU_ASSERT_PTR_NULL(ctx);
    free(data);
    free(path);
}
