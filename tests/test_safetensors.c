/* test_safetensors.c — the strict safetensors reader: valid files read back exactly, each kind of damage refused naming where. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "formats/safetensors.h"

static void put_le(unsigned char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++, v >>= 8)
        p[i] = (unsigned char)v;
}

static void put_f32(unsigned char *p, float f)
{
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    put_le(p, bits, 4);
}

/* "u64 header length, header, buffer" in memory; `length` is the length
 * field as written, so that a test can make it lie. */
static unsigned char *st_bytes(uint64_t length, const char *header,
                               const void *buffer, size_t buffer_size,
                               size_t *size)
{
    size_t n = strlen(header);
    unsigned char *bytes = malloc(8 + n + buffer_size);
    CU_ASSERT_FATAL(bytes != NULL);
    put_le(bytes, length, 8);
    memcpy(bytes + 8, header, n);
    if (buffer_size)
        memcpy(bytes + 8 + n, buffer, buffer_size);
    *size = 8 + n + buffer_size;
    return bytes;
}

/* The same as a file in a fresh folder; returns its path. */
static char *st_file(uint64_t length, const char *header, const void *buffer,
                     size_t buffer_size)
{
    size_t size;
    unsigned char *bytes = st_bytes(length, header, buffer, buffer_size, &size);
    char *dir = test_tmpdir("safetensors");
    char *path = test_path(dir, "model.safetensors");
    CU_ASSERT_FATAL(test_write_file(path, bytes, size));
    free(bytes);
    free(dir);
    return path;
}

/* Opens `path`, expects `status`, an empty table and a message naming the
 * file and `mention`. */
static void expect_open_fails(const char *path, clenc_status status,
                              const char *mention)
{
    clenc__safetensors st;
    ASSERT_STATUS(clenc__st_open(path, &st), status);
    CU_ASSERT_PTR_NULL(st.tensors);
    CU_ASSERT_PTR_NULL(st.bytes);
    CU_ASSERT_PTR_NULL(st.path);
    CU_ASSERT_EQUAL(st.count, 0);
    ASSERT_ERROR_MENTIONS(path);
    ASSERT_ERROR_MENTIONS(mention);
    clenc__st_close(&st);
}

/* A file of `header` and `buffer_size` zero bytes must be refused as
 * CLENC_ERR_MODEL_FORMAT naming `mention`; callers check more text after. */
static void expect_refused_len(uint64_t length, const char *header,
                               size_t buffer_size, const char *mention)
{
    static const unsigned char zeros[64];
    CU_ASSERT_FATAL(buffer_size <= sizeof zeros);
    char *path = st_file(length, header, zeros, buffer_size);
    expect_open_fails(path, CLENC_ERR_MODEL_FORMAT, mention);
    free(path);
}

static void expect_refused(const char *header, size_t buffer_size,
                           const char *mention)
{
    expect_refused_len(strlen(header), header, buffer_size, mention);
}

/* Listed out of offset order, to check that the table comes back sorted. */
#define VALID_HEADER                                                           \
    "{\"ids\":{\"dtype\":\"I64\",\"shape\":[1,2],\"data_offsets\":[46,62]},"   \
    "\"__metadata__\":{\"format\":\"pt\"},"                                    \
    "\"f32\":{\"shape\":[2,3],\"dtype\":\"F32\",\"data_offsets\":[0,24]},"     \
    "\"f16\":{\"dtype\":\"F16\",\"shape\":[9],\"data_offsets\":[24,42]},"      \
    "\"bf16\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[42,46]}}"

static const float f32_values[6] = {1.5f, -2.25f, 0.0f, 3e-8f, 1e30f, -7.0f};
/* 1, -2, the smallest and largest subnormals, the largest finite, inf, -0,
 * -inf, nan. */
static const uint16_t f16_bits[9] = {0x3c00, 0xc000, 0x0001, 0x03ff, 0x7bff,
                                     0x7c00, 0x8000, 0xfc00, 0x7e00};

static void valid_buffer(unsigned char buffer[62])
{
    for (int i = 0; i < 6; i++)
        put_f32(buffer + 4 * i, f32_values[i]);
    for (int i = 0; i < 9; i++)
        put_le(buffer + 24 + 2 * i, f16_bits[i], 2);
    put_le(buffer + 42, 0x3fc0, 2); /* 1.5 */
    put_le(buffer + 44, 0xc049, 2); /* -3.140625 */
    put_le(buffer + 46, 7, 8);
    put_le(buffer + 54, (uint64_t)-1, 8);
}

void test_safetensors_valid_file_reads_back(void)
{
    unsigned char buffer[62];
    valid_buffer(buffer);
    char *path = st_file(strlen(VALID_HEADER), VALID_HEADER, buffer, 62);
    clenc__safetensors st;
    ASSERT_STATUS(clenc__st_open(path, &st), CLENC_OK);
    CU_ASSERT_FATAL(st.bytes != NULL && st.count == 4);
    CU_ASSERT_PTR_NULL(st.path); /* read whole: the file is closed */
    const char *order[4] = {"f32", "f16", "bf16", "ids"};
    for (int i = 0; i < 4; i++)
        CU_ASSERT_STRING_EQUAL(st.tensors[i].name, order[i]);
    const unsigned char *base = st.bytes;

    const clenc__tensor *t = clenc__st_find(&st, "f32");
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(t->dtype, CLENC__F32);
    CU_ASSERT_EQUAL(t->ndim, 2);
    CU_ASSERT_EQUAL(t->shape[0], 2);
    CU_ASSERT_EQUAL(t->shape[1], 3);
    CU_ASSERT_EQUAL(t->count, 6);
    CU_ASSERT_EQUAL(t->size, 24);
    CU_ASSERT_PTR_EQUAL(t->data, base);
    float out[9];
    ASSERT_STATUS(clenc__st_to_f32(t, out), CLENC_OK);
    for (int i = 0; i < 6; i++)
        CU_ASSERT_EQUAL(out[i], f32_values[i]);

    t = clenc__st_find(&st, "f16");
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(t->dtype, CLENC__F16);
    CU_ASSERT_EQUAL(t->count, 9);
    CU_ASSERT_PTR_EQUAL(t->data, base + 24);
    ASSERT_STATUS(clenc__st_to_f32(t, out), CLENC_OK);
    CU_ASSERT_EQUAL(out[0], 1.0f);
    CU_ASSERT_EQUAL(out[1], -2.0f);
    CU_ASSERT_EQUAL(out[2], 0x1p-24f);
    CU_ASSERT_EQUAL(out[3], 1023 * 0x1p-24f);
    CU_ASSERT_EQUAL(out[4], 65504.0f);
    CU_ASSERT(isinf(out[5]) && out[5] > 0);
    CU_ASSERT(out[6] == 0.0f && signbit(out[6]));
    CU_ASSERT(isinf(out[7]) && out[7] < 0);
    CU_ASSERT(isnan(out[8]));

    t = clenc__st_find(&st, "bf16");
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(t->dtype, CLENC__BF16);
    ASSERT_STATUS(clenc__st_to_f32(t, out), CLENC_OK);
    CU_ASSERT_EQUAL(out[0], 1.5f);
    CU_ASSERT_EQUAL(out[1], -3.140625f);

    t = clenc__st_find(&st, "ids");
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL(t->dtype, CLENC__I64);
    CU_ASSERT_STRING_EQUAL(clenc__dtype_name(t->dtype), "I64");
    CU_ASSERT_EQUAL(t->size, 16);
    CU_ASSERT_EQUAL(memcmp(t->data, buffer + 46, 16), 0);

    CU_ASSERT_PTR_NULL(clenc__st_find(&st, "__metadata__"));
    CU_ASSERT_PTR_NULL(clenc__st_find(&st, "f3"));
    clenc__st_close(&st);
    CU_ASSERT_PTR_NULL(st.bytes);
    CU_ASSERT_PTR_NULL(st.tensors);
    free(path);
}

void test_safetensors_scalar_and_empty_tensors_accepted(void)
{
    /* Trailing spaces: the format allows padding the header with them. */
    const char *header =
        "{\"s\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
        "\"e\":{\"dtype\":\"F16\",\"shape\":[0],\"data_offsets\":[4,4]},"
        "\"z\":{\"dtype\":\"BF16\",\"shape\":[3,0],\"data_offsets\":[0,0]}}   ";
    unsigned char buffer[4];
    put_f32(buffer, 2.5f);
    char *path = st_file(strlen(header), header, buffer, 4);
    clenc__safetensors st;
    ASSERT_STATUS(clenc__st_open(path, &st), CLENC_OK);
    CU_ASSERT_EQUAL_FATAL(st.count, 3);
    const clenc__tensor *s = clenc__st_find(&st, "s");
    const clenc__tensor *e = clenc__st_find(&st, "e");
    const clenc__tensor *z = clenc__st_find(&st, "z");
    CU_ASSERT_FATAL(s && e && z);
    CU_ASSERT_EQUAL(s->ndim, 0);
    CU_ASSERT_EQUAL(s->count, 1);
    float value = 0;
    ASSERT_STATUS(clenc__st_to_f32(s, &value), CLENC_OK);
    CU_ASSERT_EQUAL(value, 2.5f);
    CU_ASSERT_EQUAL(e->ndim, 1);
    CU_ASSERT_EQUAL(e->count, 0);
    CU_ASSERT_EQUAL(e->size, 0);
    CU_ASSERT_EQUAL(z->count, 0);
    CU_ASSERT_EQUAL(z->shape[0], 3);
    ASSERT_STATUS(clenc__st_to_f32(e, &value), CLENC_OK);
    clenc__st_close(&st);
    free(path);

    /* No tensors at all is a valid (if useless) file. */
    path = st_file(2, "{}", NULL, 0);
    ASSERT_STATUS(clenc__st_open(path, &st), CLENC_OK);
    CU_ASSERT_EQUAL(st.count, 0);
    clenc__st_close(&st);
    free(path);
}

void test_safetensors_parse_reads_caller_buffer(void)
{
    unsigned char buffer[62];
    valid_buffer(buffer);
    size_t size;
    unsigned char *bytes =
        st_bytes(strlen(VALID_HEADER), VALID_HEADER, buffer, 62, &size);
    clenc__safetensors st;
    ASSERT_STATUS(clenc__st_parse(bytes, size, "memory", &st), CLENC_OK);
    CU_ASSERT_PTR_NULL(st.bytes);
    CU_ASSERT_EQUAL_FATAL(st.count, 4);
    CU_ASSERT_PTR_EQUAL(clenc__st_find(&st, "ids")->data, bytes + size - 16);
    clenc__st_close(&st);
    /* Every shorter prefix is refused, never read past. */
    for (size_t n = 0; n < size; n++) {
        ASSERT_STATUS(clenc__st_parse(bytes, n, "memory", &st),
                      CLENC_ERR_MODEL_FORMAT);
        CU_ASSERT_PTR_NULL(st.tensors);
    }
    ASSERT_ERROR_MENTIONS("memory");
    free(bytes);
}

void test_safetensors_truncated_data_rejected(void)
{
    unsigned char buffer[62];
    valid_buffer(buffer);
    char *path = st_file(strlen(VALID_HEADER), VALID_HEADER, buffer, 59);
    expect_open_fails(path, CLENC_ERR_MODEL_FORMAT, "tensor 'ids'");
    ASSERT_ERROR_MENTIONS("data_offsets [46, 62] run past the end of the "
                          "59-byte buffer");
    free(path);
}

void test_safetensors_shorter_than_length_field_rejected(void)
{
    char *dir = test_tmpdir("safetensors");
    char *path = test_path(dir, "short.safetensors");
    CU_ASSERT_FATAL(test_write_file(path, "", 0));
    expect_open_fails(path, CLENC_ERR_MODEL_FORMAT, "truncated");
    ASSERT_ERROR_MENTIONS("0 bytes");
    CU_ASSERT_FATAL(test_write_file(path, "\x02\0\0\0\0", 5));
    expect_open_fails(path, CLENC_ERR_MODEL_FORMAT, "truncated");
    ASSERT_ERROR_MENTIONS("5 bytes");
    free(path);
    free(dir);
}

void test_safetensors_header_past_end_rejected(void)
{
    expect_refused_len(100, "{}", 0, "truncated");
    ASSERT_ERROR_MENTIONS("header length 100");
    expect_refused_len(3, "{}", 0, "truncated");
}

void test_safetensors_absurd_header_length_rejected(void)
{
    expect_refused_len(1ull << 63, "{}", 0,
                       "header length 9223372036854775808");
    ASSERT_ERROR_MENTIONS("limit");
    expect_refused_len(1ull << 40, "{}", 0, "header length 1099511627776");
    expect_refused_len(UINT64_MAX, "{}", 0, "header length 1844674407370955");
}

void test_safetensors_header_not_json_rejected(void)
{
    expect_refused("{\"a\": ", 0, "header is not valid JSON");
    expect_refused("hello", 0, "header is not valid JSON");
    expect_refused("{} trailing", 0, "header is not valid JSON");
    /* Deep nesting stops at jansson's depth limit, not at the stack's end. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 1);
    CU_ASSERT_FATAL(deep != NULL);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[2 * depth] = '\0';
    expect_refused(deep, 0, "header is not valid JSON");
    free(deep);
}

void test_safetensors_header_not_object_rejected(void)
{
    expect_refused("[1, 2]", 0, "header is a JSON list, not an object");
    expect_refused("\"F32\"", 0, "header is a JSON string, not an object");
}

void test_safetensors_duplicate_names_rejected(void)
{
    /* Longer than the 20 bytes jansson quotes in its own message. */
    expect_refused(
        "{\"encoder.layer.0.q.weight\":{\"dtype\":\"F32\",\"shape\":[1],"
        "\"data_offsets\":[0,4]},\"encoder.layer.0.q.weight\" :{\"dtype\":"
        "\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
        8, "\"encoder.layer.0.q.weight\" twice");
    expect_refused("{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F16\",\"shape\":[],"
                   "\"data_offsets\":[0,4]}}",
                   4, "\"dtype\" twice");
    expect_refused("{\"a\\\\\\\"b\":1,\"a\\\\\\\"b\":2}", 0,
                   "\"a\\\\\\\"b\" twice");
}

void test_safetensors_overlapping_offsets_rejected(void)
{
    expect_refused(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        12, "tensors 'a' and 'b' overlap");
    expect_refused(
        "{\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
        "\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
        4, "tensors 'a' and 'b' overlap");
}

void test_safetensors_out_of_bounds_offsets_rejected(void)
{
    expect_refused(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 8,
        "tensor 'w': data_offsets [8, 16] run past the end of the 8-byte "
        "buffer");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
                   "[9223372036854775799,9223372036854775807]}}",
                   8, "tensor 'w': data_offsets [9223372036854775799");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":"
                   "[0,18446744073709551616]}}",
                   8, "header is not valid JSON");
}

void test_safetensors_begin_after_end_rejected(void)
{
    expect_refused(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8,
        "tensor 'w': data_offsets [8, 0]: begin is after end");
}

void test_safetensors_unknown_dtype_rejected(void)
{
    expect_refused(
        "{\"w\":{\"dtype\":\"Q4_K\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "tensor 'w': unknown dtype 'Q4_K'");
    expect_refused(
        "{\"w\":{\"dtype\":\"f32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "tensor 'w': unknown dtype 'f32'");
    expect_refused(
        "{\"w\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
        "tensor 'w': dtype is a JSON integer, not a string");
}

void test_safetensors_size_mismatch_rejected(void)
{
    expect_refused("{\"encoder.layer.0.q.weight\":{\"dtype\":\"F32\",\"shape\":"
                   "[2,3],\"data_offsets\":[0,12]}}",
                   12,
                   "model.safetensors: tensor 'encoder.layer.0.q.weight': "
                   "data_offsets [0, 12] hold 12 bytes, but shape [2, 3] of "
                   "F32 needs 24");
    expect_refused(
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,12]}}",
        12, "tensor 'h': data_offsets [0, 12] hold 12 bytes, but shape [3] "
            "of F16 needs 6");
}

void test_safetensors_trailing_bytes_rejected(void)
{
    expect_refused(
        "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 12,
        "4 trailing bytes after the last tensor 'w'");
    expect_refused("{\"__metadata__\":{}}", 3,
                   "the header lists no tensors, but the buffer holds 3 bytes");
}

void test_safetensors_gap_between_tensors_rejected(void)
{
    expect_refused(
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
        "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
        12, "bytes [4, 8) of the buffer, before tensor 'b', belong to no "
            "tensor");
    expect_refused(
        "{\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
        "bytes [0, 4) of the buffer, before tensor 'b'");
}

void test_safetensors_bad_shape_rejected(void)
{
#define SHAPED(shape, offsets)                                                 \
    "{\"w\":{\"dtype\":\"F64\",\"shape\":" shape ",\"data_offsets\":" offsets  \
    "}}"
    expect_refused(SHAPED("[-1]", "[0,0]"), 0,
                   "tensor 'w': shape[0] is -1, not a non-negative integer");
    expect_refused(SHAPED("[1,2.0]", "[0,16]"), 16,
                   "tensor 'w': shape[1] is a JSON real, not a non-negative "
                   "integer");
    expect_refused(SHAPED("[\"2\"]", "[0,16]"), 16,
                   "tensor 'w': shape[0] is a JSON string");
    expect_refused(SHAPED("[null]", "[0,0]"), 0,
                   "tensor 'w': shape[0] is a JSON null");
    expect_refused(SHAPED("2", "[0,16]"), 16,
                   "tensor 'w': shape is a JSON integer, not a list");
    expect_refused(SHAPED("[1,1,1,1,1,1,1,1,1]", "[0,8]"), 8,
                   "tensor 'w': shape has 9 dimensions (at most 8)");
    expect_refused(SHAPED("[4294967296,4294967296]", "[0,8]"), 8,
                   "tensor 'w': shape overflows");
    expect_refused(SHAPED("[2305843009213693952]", "[0,8]"), 8,
                   "tensor 'w': shape [2305843009213693952] of F64 needs more "
                   "than 2^64 bytes");
#undef SHAPED
}

void test_safetensors_missing_or_unknown_fields_rejected(void)
{
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4,
                   "tensor 'w': no data_offsets");
    expect_refused("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
                   "tensor 'w': no dtype");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                   "[0,4],\"offset\":0}}",
                   4, "tensor 'w': unknown field 'offset'");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                   "[0]}}",
                   4, "tensor 'w': data_offsets is not a list of two");
    expect_refused("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":"
                   "[0,\"4\"]}}",
                   4, "tensor 'w': data_offsets[1] is a JSON string");
    expect_refused("{\"w\":[0,4]}", 4,
                   "tensor 'w': entry is a JSON list, not an object");
    expect_refused("{\"__metadata__\":[]}", 0,
                   "__metadata__ is a JSON list, not an object");
    expect_refused("{\"__metadata__\":{\"epochs\":3}}", 0,
                   "__metadata__ field 'epochs' is a JSON integer");
}

void test_safetensors_to_f32_rejects_integer_dtypes(void)
{
    unsigned char buffer[62];
    valid_buffer(buffer);
    size_t size;
    unsigned char *bytes =
        st_bytes(strlen(VALID_HEADER), VALID_HEADER, buffer, 62, &size);
    clenc__safetensors st;
    ASSERT_STATUS(clenc__st_parse(bytes, size, "memory", &st), CLENC_OK);
    const clenc__tensor *t = clenc__st_find(&st, "ids");
    CU_ASSERT_FATAL(t != NULL);
    float out[2] = {42, 42};
    ASSERT_STATUS(clenc__st_to_f32(t, out), CLENC_ERR_UNSUPPORTED);
    ASSERT_ERROR_MENTIONS("tensor 'ids' has dtype I64");
    CU_ASSERT_EQUAL(out[0], 42);
    clenc__st_close(&st);
    free(bytes);
}

void test_safetensors_missing_file_is_io_error(void)
{
    expect_open_fails("/nonexistent/model.safetensors", CLENC_ERR_IO,
                      "cannot open");
    char *dir = test_tmpdir("safetensors");
    expect_open_fails(dir, CLENC_ERR_IO, "not a regular file");
    free(dir);
}

/* Pages of float32 after a one-tensor header: big enough that a mapping of
 * the file has whole pages past the end of the file cut after the header. */
#define SHRINK_FLOATS 16384

static char *shrink_file(size_t *header_end)
{
    char header[128];
    snprintf(header, sizeof header,
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[%d],"
             "\"data_offsets\":[0,%d]}}",
             SHRINK_FLOATS, 4 * SHRINK_FLOATS);
    unsigned char *buffer = malloc(4 * SHRINK_FLOATS);
    CU_ASSERT_FATAL(buffer != NULL);
    for (int i = 0; i < SHRINK_FLOATS; i++)
        put_f32(buffer + 4 * i, (float)i + 0.5f);
    char *path = st_file(strlen(header), header, buffer, 4 * SHRINK_FLOATS);
    free(buffer);
    *header_end = 8 + strlen(header);
    return path;
}

/* The child's side: 0 when the values read back, else the step that
 * failed. Everything is freed, for valgrind's leak check of the child. */
static int read_after_shrink(const char *path, size_t header_end)
{
    clenc__safetensors st;
    if (clenc__st_open(path, &st) != CLENC_OK)
        return 2;
    int failed = truncate(path, (off_t)header_end) != 0 ? 3 : 0;
    const clenc__tensor *t = clenc__st_find(&st, "w");
    float *out = malloc(SHRINK_FLOATS * sizeof *out);
    if (!failed && (!t || !out))
        failed = 4;
    for (int i = 0; !failed && i < SHRINK_FLOATS; i++)
        out[i] = NAN;
    if (!failed && clenc__st_to_f32(t, out) != CLENC_OK)
        failed = 5;
    for (int i = 0; !failed && i < SHRINK_FLOATS; i++)
        if (out[i] != (float)i + 0.5f)
            failed = 6;
    free(out);
    clenc__st_close(&st);
    return failed;
}

/* Takes `path`: the child frees its copy before it exits. */
static _Noreturn void shrink_child(char *path, size_t header_end)
{
    int code = read_after_shrink(path, header_end);
    free(path);
    _exit(code);
}

/* A weights file cut short while it is open (rewritten by a download, a
 * copy on a full disk) must not kill the process: through a mapping, the
 * first touch of a page past the new end raised SIGBUS. The scenario runs in
 * a child, so that a signal is reported, not suffered. */
void test_safetensors_file_shrinking_after_open_is_not_a_signal(void)
{
    size_t header_end;
    char *path = shrink_file(&header_end);
    fflush(stdout);
    pid_t pid = fork();
    CU_ASSERT_FATAL(pid >= 0);
    if (pid == 0)
        shrink_child(path, header_end);
    int status = 0;
    CU_ASSERT_FATAL(waitpid(pid, &status, 0) == pid);
    if (WIFSIGNALED(status))
        printf("\n    child reading a file that shrank: killed by signal %d "
               "(%s)",
               WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        printf("\n    child reading a file that shrank: exit %d",
               WEXITSTATUS(status));
    CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    free(path);
}

/* The loader's way: the header validated first, each tensor read when it is
 * needed; the file cut short in between is a CLENC_ERR_IO naming the file,
 * the tensor and where the file now ends. */
void test_safetensors_file_shrinking_under_reader_is_io_error(void)
{
    size_t header_end;
    char *path = shrink_file(&header_end);
    clenc__safetensors st;
    ASSERT_STATUS(clenc__st_open_header(path, &st), CLENC_OK);
    CU_ASSERT_PTR_NULL(st.bytes);
    const clenc__tensor *t = clenc__st_find(&st, "w");
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_PTR_NULL(t->data);
    unsigned char *bytes = malloc(4 * SHRINK_FLOATS);
    float *values = malloc(SHRINK_FLOATS * sizeof *values);
    CU_ASSERT_FATAL(bytes && values);
    memset(bytes, 0xff, 4 * SHRINK_FLOATS);
    ASSERT_STATUS(clenc__st_read(&st, t, bytes), CLENC_OK);
    clenc__tensor in_memory = *t;
    in_memory.data = bytes;
    ASSERT_STATUS(clenc__st_to_f32(&in_memory, values), CLENC_OK);
    int wrong = 0;
    for (int i = 0; i < SHRINK_FLOATS; i++)
        wrong += values[i] != (float)i + 0.5f;
    CU_ASSERT_EQUAL(wrong, 0);

    /* Cut inside the tensor, then right after the header. */
    const size_t cuts[2] = {header_end + 4 * SHRINK_FLOATS / 2, header_end};
    for (int c = 0; c < 2; c++) {
        CU_ASSERT_FATAL(truncate(path, (off_t)cuts[c]) == 0);
        ASSERT_STATUS(clenc__st_read(&st, t, bytes), CLENC_ERR_IO);
        ASSERT_ERROR_MENTIONS(path);
        ASSERT_ERROR_MENTIONS("shrank");
        ASSERT_ERROR_MENTIONS("tensor 'w'");
        char now[64];
        snprintf(now, sizeof now, "now ends at byte %zu", cuts[c]);
        ASSERT_ERROR_MENTIONS(now);
    }
    printf("\n    %s", clenc_last_error());
    clenc__st_close(&st);
    CU_ASSERT_PTR_NULL(st.path);
    free(values);
    free(bytes);
    free(path);
}
