/* test_tools_output.c — clenc-run --input --output FILE.npy in one process: the header by the format's specification, rows bit for bit the library's, no file left behind on failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

/* Small (32 wide, 2 layers), with a tokenizer: many lines stay quick. */
#define SMALL_MODEL "tests/fixtures/models/distilbert"
#define LINES 1100 /* three of clenc-run's 512-line chunks, the last short */

/* Line i of the corpus, its line end apart: empty lines, lines far longer
 * than the model's 40 positions, and plain ones. */
static size_t corpus_line(size_t i, char *buf, size_t cap)
{
    if (i % 7 == 3)
        return 0;
    if (i % 50 == 11) {
        size_t n = 0;
        while (n + 16 < cap && n < 6000)
            n += (size_t)snprintf(buf + n, cap - n, "word%zu ", n);
        return n;
    }
    return (size_t)snprintf(buf, cap, "line %zu of the corpus, a text", i);
}

/* The .npy header as the format's specification has it, read without
 * clenc's writer: magic, version 1.0, header length, the dict, spaces and
 * a newline, the data at a multiple of 64. Returns the data's offset. */
static size_t check_npy_header(const unsigned char *f, size_t size,
                               size_t rows, size_t dim)
{
    CU_ASSERT_FATAL(size >= 10);
    CU_ASSERT(memcmp(f, "\x93NUMPY", 6) == 0);
    CU_ASSERT(f[6] == 1 && f[7] == 0);
    const size_t hlen = f[8] | (size_t)f[9] << 8, data = 10 + hlen;
    CU_ASSERT_EQUAL(data % 64, 0);
    CU_ASSERT_FATAL(size >= data);
    char want[128];
    int n = snprintf(want, sizeof want,
                     "{'descr': '<f4', 'fortran_order': False, "
                     "'shape': (%zu, %zu), }",
                     rows, dim);
    CU_ASSERT(memcmp(f + 10, want, (size_t)n) == 0);
    for (size_t i = 10 + (size_t)n; i + 1 < data; i++)
        CU_ASSERT_FATAL(f[i] == ' ');
    CU_ASSERT(f[data - 1] == '\n');
    CU_ASSERT_EQUAL(size, data + rows * dim * sizeof(float));
    return data;
}

void test_run_output_npy_rows_match_the_library(void)
{
    char *dir = test_tmpdir("output");
    char *corpus = test_path(dir, "corpus.txt");
    char *npy = test_path(dir, "corpus.npy");
    static char text[LINES * 48 + 64 * 6100];
    static char line[6200];
    char **lines = calloc(LINES, sizeof *lines);
    size_t *lens = calloc(LINES, sizeof *lens);
    CU_ASSERT_FATAL(lines && lens);
    size_t at = 0;
    for (size_t i = 0; i < LINES; i++) {
        lens[i] = corpus_line(i, line, sizeof line);
        lines[i] = text + at;
        memcpy(text + at, line, lens[i]);
        at += lens[i];
        /* CRLF on some lines; the last line has no line end */
        if (i % 5 == 1)
            text[at++] = '\r';
        if (i + 1 < LINES)
            text[at++] = '\n';
    }
    CU_ASSERT_FATAL(at < sizeof text);
    CU_ASSERT_FATAL(test_write_file(corpus, text, at));

    char *argv[] = {NULL, "--model", SMALL_MODEL, "--input", corpus,
                    "--output", npy, NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, &err), 0);
    CU_ASSERT(out && !*out); /* the rows go to the file only */
    size_t size = 0;
    unsigned char *file = test_read_file(npy, &size);
    CU_ASSERT_FATAL(file != NULL);

    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    clenc_session *s = NULL;
    clenc_model_info info;
    ASSERT_STATUS(clenc_model_load(ctx, SMALL_MODEL, &model), CLENC_OK);
    ASSERT_STATUS(clenc_model_info_get(model, &info), CLENC_OK);
    ASSERT_STATUS(clenc_session_create(model, 32, info.max_text_tokens, &s),
                  CLENC_OK);
    const size_t dim = info.hidden;
    const size_t data = check_npy_header(file, size, LINES, dim);
    float *want = malloc(LINES * dim * sizeof *want);
    CU_ASSERT_FATAL(want != NULL);
    for (size_t i = 0; i < LINES * dim; i++)
        want[i] = NAN;
    ASSERT_STATUS(clenc_embed_text_n(s, (const char *const *)lines, lens,
                                     LINES, want),
                  CLENC_OK);
    size_t differ = 0;
    for (size_t i = 0; i < LINES * dim && data + (i + 1) * 4 <= size; i++) {
        float got;
        memcpy(&got, file + data + i * 4, 4);
        differ += memcmp(&got, &want[i], 4) != 0;
    }
    CU_ASSERT_EQUAL(differ, 0);
    /* corpus.txt and corpus.npy, no temporary file ("." and ".." too) */
    CU_ASSERT_EQUAL(test_list_dir(dir, "", NULL), 4);

    /* --output writes rows of --input's lines, a vector each. */
    char *no_input[] = {NULL, "--model", SMALL_MODEL, "--output", npy, "x",
                        NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(no_input, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "--output"));
    free(err);
    char *json[] = {NULL, "--model", SMALL_MODEL, "--json", "--input", corpus,
                    "--output", npy, NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(json, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "--json"));

    free(want);
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    free(file);
    free(out);
    free(err);
    free(lines);
    free(lens);
    free(npy);
    free(corpus);
    free(dir);
}

/* With --output a bad line cannot be skipped, since rows must match
 * lines: the run fails naming it, the temporary file goes, and a FILE.npy
 * from before is left as it was. */
void test_run_output_failure_leaves_no_file(void)
{
    char *dir = test_tmpdir("output-bad");
    char *corpus = test_path(dir, "corpus.txt");
    char *npy = test_path(dir, "out.npy");
    const char lines[] = "first\nsecond\nbad \xff line\nfourth\n";
    CU_ASSERT_FATAL(test_write_file(corpus, lines, sizeof lines - 1));
    char *argv[] = {NULL, "--model", SMALL_MODEL, "--input", corpus,
                    "--output", npy, NULL};
    char *err = NULL;
    CU_ASSERT_EQUAL(test_run_clenc_run(argv, NULL, &err), 1);
    char where[600];
    snprintf(where, sizeof where, "%s:3: ", corpus);
    CU_ASSERT(err && strstr(err, where) && strstr(err, "UTF-8") &&
              strstr(err, "not written"));
    free(err);
    CU_ASSERT_EQUAL(test_list_dir(dir, "", NULL), 3); /* ., .., corpus.txt */

    const char before[] = "an older out.npy";
    CU_ASSERT_FATAL(test_write_file(npy, before, sizeof before - 1));
    CU_ASSERT_EQUAL(test_run_clenc_run(argv, NULL, NULL), 1);
    size_t size = 0;
    char *kept = (char *)test_read_file(npy, &size);
    CU_ASSERT(kept && size == sizeof before - 1 &&
              memcmp(kept, before, size) == 0);
    CU_ASSERT_EQUAL(test_list_dir(dir, "", NULL), 4);
    free(kept);

    /* A folder that does not exist: nothing to create the file in. */
    char *nowhere = test_path(dir, "missing/out.npy");
    char *argv2[] = {NULL, "--model", SMALL_MODEL, "--input", corpus,
                     "--output", nowhere, NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(argv2, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "cannot create") &&
              strstr(err, "missing/out.npy"));
    free(err);
    free(nowhere);
    free(npy);
    free(corpus);
    free(dir);
}
