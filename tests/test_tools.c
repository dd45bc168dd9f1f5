/* test_tools.c — clenc-run as a user runs it: JSON shape and values, text output, similarity, ids, streaming, errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "helpers.h"

#define MODEL_DIR "models/all-MiniLM-L6-v2"


void test_run_json_holds_tokens_and_embeddings(void)
{
    char *argv[] = {NULL, "--model", MODEL_DIR, "--json", "Hello world",
                    "Embeddings on any OpenCL device.", NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, &err), 0);
    json_error_t jerr;
    json_t *root = json_loads(out, 0, &jerr); /* exactly one object */
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "model")),
                           "all-MiniLM-L6-v2");
    CU_ASSERT(json_is_string(json_object_get(root, "device")));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(root, "dim")), 384);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "pooling")),
                           "mean");
    CU_ASSERT(json_is_true(json_object_get(root, "normalized")));
    json_t *tokens = json_object_get(root, "tokens");
    json_t *emb = json_object_get(root, "embeddings");
    CU_ASSERT_FATAL(json_array_size(tokens) == 2 && json_array_size(emb) == 2);
    /* [CLS] hello world [SEP], as BertTokenizerFast gives them. */
    const int hello[] = {101, 7592, 2088, 102};
    json_t *t0 = json_array_get(tokens, 0);
    CU_ASSERT_FATAL(json_array_size(t0) == 4);
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(json_integer_value(json_array_get(t0, i)), hello[i]);
    /* The values are the library's, printed so that they read back exactly. */
    clenc_context *ctx = test_context(NULL);
    clenc_model *model = NULL;
    ASSERT_STATUS(clenc_model_load(ctx, MODEL_DIR, &model), CLENC_OK);
    clenc_session *s = NULL;
    ASSERT_STATUS(clenc_session_create(model, 2, 256, &s), CLENC_OK);
    const char *texts[] = {"Hello world", "Embeddings on any OpenCL device."};
    float want[2 * 384];
    ASSERT_STATUS(clenc_embed_text(s, texts, 2, want), CLENC_OK);
    double norm = 0;
    for (size_t t = 0; t < 2; t++) {
        json_t *v = json_array_get(emb, t);
        CU_ASSERT_FATAL(json_array_size(v) == 384);
        for (size_t i = 0; i < 384; i++) {
            double x = json_number_value(json_array_get(v, i));
            CU_ASSERT((float)x == want[t * 384 + i]);
            if (t == 0)
                norm += x * x;
        }
    }
    CU_ASSERT(fabs(norm - 1.0) < 1e-5);
    CU_ASSERT(err && strstr(err, "clenc-run") == NULL); /* nothing to say */
    clenc_session_destroy(s);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    json_decref(root);
    free(out);
    free(err);
}

void test_run_json_pooling_none_lists_every_token(void)
{
    char *argv[] = {NULL, "--model", MODEL_DIR, "--json", "--pooling", "none",
                    "--no-normalize", "one two three", NULL};
    char *out = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, NULL), 0);
    json_t *root = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(root, "pooling")),
                           "none");
    CU_ASSERT(json_is_false(json_object_get(root, "normalized")));
    json_t *tokens = json_array_get(json_object_get(root, "tokens"), 0);
    json_t *vectors = json_array_get(json_object_get(root, "embeddings"), 0);
    CU_ASSERT_EQUAL(json_array_size(tokens), 5); /* [CLS] one two three [SEP] */
    CU_ASSERT_EQUAL(json_array_size(vectors), 5);
    CU_ASSERT_EQUAL(json_array_size(json_array_get(vectors, 4)), 384);
    json_decref(root);
    free(out);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

void test_run_text_similarity_and_input_file(void)
{
    char *argv[] = {NULL, "--model", MODEL_DIR, "--similarity",
                    "A man is eating food.", "A man is eating a piece of bread.",
                    "The new movie is awesome.", NULL};
    char *out = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, NULL), 0);
    CU_ASSERT(out && strstr(out, "cosine similarity"));
    CU_ASSERT(out && strstr(out, " 1.000"));
    CU_ASSERT_EQUAL(count_lines(out), 2 + 1 + 3);
    /* The matrix: each row ends in its three cosines. The two meals are
     * related (sentence-transformers: 0.755), the film is not (-0.046,
     * -0.058): related above unrelated, by far. */
    double cos[3][3] = {{0}};
    const char *row = out ? strstr(out, "cosine similarity") : NULL;
    int parsed = row != NULL;
    for (int r = 0; r < 3 && parsed; r++) {
        const char *nl = strchr(row, '\n');
        const char *end = nl ? strchr(nl + 1, '\n') : NULL;
        parsed = end != NULL;
        if (!parsed)
            break;
        row = nl + 1;
        /* Back from the end of the line over three numbers. */
        const char *p = end;
        for (int c = 2; c >= 0; c--) {
            while (p > row && p[-1] == ' ')
                p--;
            while (p > row && p[-1] != ' ')
                p--;
            char *num_end = NULL;
            cos[r][c] = strtod(p, &num_end);
            CU_ASSERT(num_end > p && num_end <= end);
        }
        row = end;
    }
    CU_ASSERT_FATAL(parsed);
    printf("\n    meal-meal %.3f, meal-film %.3f and %.3f", cos[0][1], cos[0][2],
           cos[1][2]);
    for (int r = 0; r < 3; r++) {
        CU_ASSERT(fabs(cos[r][r] - 1) < 1e-3);
        for (int c = 0; c < 3; c++)
            CU_ASSERT(cos[r][c] == cos[c][r]);
    }
    CU_ASSERT(cos[0][1] > cos[0][2] + 0.5);
    CU_ASSERT(cos[0][1] > cos[1][2] + 0.5);
    free(out);

    char *dir = test_tmpdir("input");
    char *file = test_path(dir, "texts.txt");
    const char *lines = "first line\nsecond line\r\n\nfourth, after an empty one\n";
    CU_ASSERT_FATAL(test_write_file(file, lines, strlen(lines)));
    char *argv2[] = {NULL, "--model", MODEL_DIR, "--input", file, NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv2, &out, NULL), 0);
    CU_ASSERT_EQUAL(count_lines(out), 4); /* a vector a line */
    /* Each line has 384 numbers. */
    size_t fields = 0;
    for (const char *p = out; *p && *p != '\n'; p++)
        fields += *p == ' ';
    CU_ASSERT_EQUAL(fields + 1, 384);
    free(out);
    free(file);
    free(dir);
}

void test_run_ids_for_tokenizer_less_model(void)
{
    char *argv[] = {NULL, "--model", "tests/fixtures/torch_encoder", "--ids",
                    "--json", "5 17 42 3", "9", NULL};
    char *out = NULL;
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(argv, &out, NULL), 0);
    json_t *root = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(root, "dim")), 32);
    json_t *t0 = json_array_get(json_object_get(root, "tokens"), 0);
    CU_ASSERT_EQUAL(json_array_size(t0), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_array_get(t0, 2)), 42);
    json_decref(root);
    free(out);
    char *err = NULL;
    char *text[] = {NULL, "--model", "tests/fixtures/torch_encoder", "hello",
                    NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(text, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "no tokenizer") && strstr(err, "--ids"));
    free(err);
    char *bad[] = {NULL, "--model", "tests/fixtures/torch_encoder", "--ids",
                   "5 x 7", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(bad, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "token ids"));
    free(err);
    char *range[] = {NULL, "--model", "tests/fixtures/torch_encoder", "--ids",
                     "5 600", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(range, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "token id 600"));
    free(err);
}

void test_run_reports_bad_usage_and_input(void)
{
    char *err = NULL, *out = NULL;
    char *no_model[] = {NULL, "hello", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(no_model, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "--model"));
    free(err);
    char *bad_pool[] = {NULL, "--model", MODEL_DIR, "--pooling", "max", "x",
                        NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(bad_pool, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "'max'"));
    free(err);
    char *missing[] = {NULL, "--model", "/nonexistent/model", "x", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(missing, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "/nonexistent/model"));
    free(err);
    char *utf8[] = {NULL, "--model", MODEL_DIR, "ok", "bad \xff byte", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(utf8, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "UTF-8") && strstr(err, "input 2"));
    free(err);
    char *help[] = {NULL, "--help", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(help, &out, NULL), 0);
    CU_ASSERT(out && strstr(out, "usage: clenc-run"));
    free(out);
    char *version[] = {NULL, "--version", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(version, &out, NULL), 0);
    CU_ASSERT(out && strstr(out, clenc_version()));
    free(out);
}

static int run_named(const char *name, char **argv, char *const env[],
                     char **out, char **err)
{
    char *tool = test_tool(name);
    argv[0] = tool;
    int rc = test_run(argv, env, out, err);
    free(tool);
    return rc;
}

void test_prof_trace_has_one_event_per_counted_launch(void)
{
    char *dir = test_tmpdir("prof");
    char *trace = test_path(dir, "trace.json"), *csv = test_path(dir, "k.csv");
    char *argv[] = {NULL, "--model", "tests/fixtures/torch_encoder", "--batch",
                    "3", "--seq", "20", "--runs", "4", "--json", "--trace",
                    trace, "--csv", csv, NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(run_named("clenc-prof", argv, NULL, &out, &err), 0);
    json_t *prof = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(prof != NULL);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(prof, "runs")), 4);
    /* Where the device's timer does not tick with the work, the tool says
     * so rather than print its numbers as times. */
    const char *why;
    const int timed = test_device_has_profiling_times(&why);
    if (!timed)
        test_skip("clenc-prof's times (it is checked to warn instead)",
                  why);
    CU_ASSERT_EQUAL(json_is_true(json_object_get(prof, "timer_plausible")),
                    timed);
    CU_ASSERT_EQUAL(err && strstr(err, "profiling timer") != NULL, !timed);
    json_t *kernels = json_object_get(prof, "kernels");
    long long counted = 0;
    double share = 0;
    size_t i;
    json_t *k;
    json_array_foreach(kernels, i, k)
    {
        counted += json_integer_value(json_object_get(k, "calls"));
        share += json_number_value(json_object_get(k, "share"));
        if (timed)
            CU_ASSERT(json_number_value(json_object_get(k, "total_ms")) > 0);
    }
    CU_ASSERT(fabs(share - 1.0) < 1e-3);
    /* 2 layers: 4 GEMMs, attention and 2 LayerNorms each; embed, final
     * norm, pool: 17 launches a pass. */
    CU_ASSERT_EQUAL(counted, 4 * 17);
    json_error_t jerr;
    json_t *t = json_load_file(trace, 0, &jerr);
    CU_ASSERT_FATAL(t != NULL);
    json_t *events = json_object_get(t, "traceEvents");
    long long device = 0, host = 0;
    json_array_foreach(events, i, k)
    {
        const char *ph = json_string_value(json_object_get(k, "ph"));
        if (!ph || strcmp(ph, "X") != 0)
            continue;
        CU_ASSERT(json_number_value(json_object_get(k, "dur")) >= 0);
        if (json_integer_value(json_object_get(k, "tid")) == 1)
            device++;
        else
            host++;
    }
    CU_ASSERT_EQUAL(device, counted);
    CU_ASSERT_EQUAL(host, counted + 4); /* each enqueue, and each encode */
    char *table = (char *)test_read_file(csv, NULL);
    CU_ASSERT(table && strncmp(table, "kernel,calls,total_ms,share,mean_us,"
                                      "gflops,gbps\n", 44) == 0);
    free(table);
    json_decref(t);
    json_decref(prof);
    free(out);
    free(err);
    free(trace);
    free(csv);
    free(dir);
}

void test_bench_json_holds_every_cell(void)
{
    char *argv[] = {NULL, "--model", "tests/fixtures/torch_encoder", "--batch",
                    "1,3", "--seq", "4,16", "--runs", "3", "--warmup", "1",
                    "--json", NULL};
    char *out = NULL, *err = NULL;
    CU_ASSERT_EQUAL_FATAL(run_named("clenc-bench", argv, NULL, &out, &err), 0);
    json_t *b = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(b != NULL);
    json_t *cells = json_object_get(b, "cells");
    CU_ASSERT_EQUAL(json_array_size(cells), 4);
    const unsigned want[4][2] = {{1, 4}, {1, 16}, {3, 4}, {3, 16}};
    for (size_t i = 0; i < json_array_size(cells) && i < 4; i++) {
        json_t *c = json_array_get(cells, i);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "batch")),
                        want[i][0]);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(c, "seq")),
                        want[i][1]);
        double median = json_number_value(json_object_get(c, "median_ms"));
        double p90 = json_number_value(json_object_get(c, "p90_ms"));
        double sps = json_number_value(json_object_get(c, "sequences_per_s"));
        CU_ASSERT(median > 0 && p90 >= median);
        CU_ASSERT(fabs(sps - want[i][0] / (median / 1e3)) < 1e-3 * sps + 1e-3);
        CU_ASSERT(json_number_value(json_object_get(c, "gflops")) > 0);
        CU_ASSERT(json_number_value(json_object_get(c, "peak_share")) > 0);
    }
    json_t *peak = json_object_get(b, "peak");
    CU_ASSERT(json_number_value(json_object_get(peak, "gflops")) > 0);
    CU_ASSERT(json_number_value(json_object_get(peak, "gbps")) > 0);
    json_t *first = json_object_get(b, "first_result_ms");
    CU_ASSERT(json_number_value(json_object_get(first, "cold")) > 0);
    CU_ASSERT(json_number_value(json_object_get(first, "warm")) > 0);
    json_t *mem = json_object_get(b, "memory");
    CU_ASSERT(json_integer_value(json_object_get(mem, "weights_bytes")) > 60 * 32 * 4);
    CU_ASSERT(json_integer_value(json_object_get(mem, "workspace_bytes")) > 0);
    CU_ASSERT(err && strstr(err, "cell 4/4")); /* progress on stderr */
    json_decref(b);
    free(out);
    free(err);
}

void test_compile_container_runs_without_compiler(void)
{
    char *dir = test_tmpdir("compile");
    char *file = test_path(dir, "torch_encoder.clenc");
    char *compile[] = {NULL, "--model", "tests/fixtures/torch_encoder", "-o",
                       file, NULL};
    CU_ASSERT_EQUAL_FATAL(run_named("clenc-compile", compile, NULL, NULL, NULL),
                          0);
    char *plain[] = {NULL, "--model", "tests/fixtures/torch_encoder", "--ids",
                     "5 17 42 3", NULL};
    char *binary[] = {NULL, "--model", "tests/fixtures/torch_encoder", "--ids",
                      "--binary", file, "5 17 42 3", NULL};
    char *want = NULL, *got = NULL, *err = NULL;
    char *no_cache[] = {"CLENC_CACHE_DIR=off", NULL};
    CU_ASSERT_EQUAL(run_named("clenc-run", plain, NULL, &want, NULL), 0);
    /* No cache and a container: nothing can be compiled, yet it runs. */
    CU_ASSERT_EQUAL(run_named("clenc-run", binary, no_cache, &got, NULL), 0);
    CU_ASSERT(want && got && strcmp(want, got) == 0);
    free(want);
    free(got);
    /* Another model shape is a clear error. */
    char *other[] = {NULL, "--model", MODEL_DIR, "--binary", file, "hello",
                     NULL};
    CU_ASSERT_EQUAL(run_named("clenc-run", other, no_cache, NULL, &err), 1);
    CU_ASSERT(err && strstr(err, "CLENC_ERR_BINARY") &&
              strstr(err, "another set of constants"));
    free(err);
    char *usage[] = {NULL, "--model", "tests/fixtures/torch_encoder", NULL};
    CU_ASSERT_EQUAL(run_named("clenc-compile", usage, NULL, NULL, &err), 2);
    CU_ASSERT(err && strstr(err, "-o FILE"));
    free(err);
    free(file);
    free(dir);
}

void test_every_tool_has_help_and_version(void)
{
    static const char *const tools[] = {"clenc-info",  "clenc-run",
                                        "clenc-prof",  "clenc-bench",
                                        "clenc-compile", "clenc-serve"};
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        char *out = NULL;
        char *help[] = {NULL, "--help", NULL};
        CU_ASSERT_EQUAL(run_named(tools[i], help, NULL, &out, NULL), 0);
        CU_ASSERT(out && strstr(out, "usage: ") && strstr(out, tools[i]));
        free(out);
        char *version[] = {NULL, "--version", NULL};
        CU_ASSERT_EQUAL(run_named(tools[i], version, NULL, &out, NULL), 0);
        CU_ASSERT(out && strstr(out, clenc_version()));
        free(out);
    }
}

/* A NUL byte inside a line is dropped as the tokenizer drops control
 * characters, not an end of line; a line that is not UTF-8 is named
 * FILE:LINE, and the lines before it are still written, in each output
 * format, with exit status 1. */
void test_run_input_names_bad_line_and_keeps_the_rest(void)
{
    char *dir = test_tmpdir("bad-line");
    char *file = test_path(dir, "texts.txt");
    const char lines[] = "hello\0world\nsecond\nbad \xff line\nfourth\n";
    CU_ASSERT_FATAL(test_write_file(file, lines, sizeof lines - 1));
    char where[600];
    snprintf(where, sizeof where, "%s:3: ", file);

    char *out = NULL, *err = NULL;
    char *json[] = {NULL, "--model", MODEL_DIR, "--json", "--input", file, NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(json, &out, &err), 1);
    CU_ASSERT(err && strstr(err, where) && strstr(err, "UTF-8"));
    json_t *root = json_loads(out ? out : "", 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    json_t *tokens = json_object_get(root, "tokens");
    CU_ASSERT_EQUAL(json_array_size(tokens), 2);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(root, "embeddings")), 2);
    /* "hello\0world" is "helloworld": [CLS] hello ##world [SEP] */
    const int want[] = {101, 7592, 11108, 102};
    json_t *t0 = json_array_get(tokens, 0);
    CU_ASSERT_EQUAL(json_array_size(t0), 4);
    for (size_t i = 0; i < 4 && i < json_array_size(t0); i++)
        CU_ASSERT_EQUAL(json_integer_value(json_array_get(t0, i)), want[i]);
    json_decref(root);
    free(out);
    free(err);

    char *text[] = {NULL, "--model", MODEL_DIR, "--input", file, NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(text, &out, &err), 1);
    CU_ASSERT_EQUAL(count_lines(out), 2); /* a vector a line, flushed */
    CU_ASSERT(err && strstr(err, where));
    free(out);
    free(err);

    /* --ids: a word where a number belongs. */
    const char ids[] = "5 17 42 3\n9\n5 x 7\n8\n";
    CU_ASSERT_FATAL(test_write_file(file, ids, sizeof ids - 1));
    char *bad_ids[] = {NULL, "--model", "tests/fixtures/torch_encoder",
                       "--ids", "--input", file, NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(bad_ids, &out, &err), 1);
    CU_ASSERT_EQUAL(count_lines(out), 2);
    CU_ASSERT(err && strstr(err, where) && strstr(err, "token ids"));
    free(out);
    free(err);
    free(file);
    free(dir);
}

/* A model claiming 2^20 positions (no tokenizer, so that is also its
 * truncation length): the default --max-seq cannot be planned, and the
 * tool says which option to lower; with --max-seq, output vectors are
 * those of the real tokens. */
void test_run_max_seq_bounds_what_is_planned(void)
{
    char *dir = test_tmpdir("max-seq");
    char *config = test_path(dir, "config.json");
    char *weights = test_path(dir, "model.safetensors");
    size_t n = 0;
    char *text = (char *)test_read_file("tests/fixtures/torch_encoder/config.json",
                                        &n);
    unsigned char *st = test_read_file(
        "tests/fixtures/torch_encoder/model.safetensors", &n);
    CU_ASSERT_FATAL(text && st);
    char *at = strstr(text, "\"max_len\": 128");
    CU_ASSERT_FATAL(at != NULL);
    char edited[1024];
    snprintf(edited, sizeof edited, "%.*s\"max_len\": 1048576%s",
             (int)(at - text), text, at + strlen("\"max_len\": 128"));
    CU_ASSERT_FATAL(test_write_file(config, edited, strlen(edited)));
    CU_ASSERT_FATAL(test_write_file(weights, st, n));

    char *out = NULL, *err = NULL;
    char *plain[] = {NULL, "--model", dir, "--ids", "5 17 42 3", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(plain, &out, &err), 1);
    CU_ASSERT(err && strstr(err, "--max-seq") && strstr(err, "1048576"));
    free(out);
    free(err);
    char *bounded[] = {NULL, "--model", dir, "--ids", "--max-seq", "8",
                       "--pooling", "none", "--json", "5 17 42 3",
                       "1 2 3 4 5 6 7 8", NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(bounded, &out, &err), 0);
    json_t *root = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    json_t *emb = json_object_get(root, "embeddings");
    CU_ASSERT_EQUAL(json_array_size(json_array_get(emb, 0)), 4);
    CU_ASSERT_EQUAL(json_array_size(json_array_get(emb, 1)), 8);
    CU_ASSERT_EQUAL(json_array_size(json_array_get(json_array_get(emb, 0), 3)),
                    32);
    json_decref(root);
    free(out);
    free(err);
    char *too_long[] = {NULL, "--model", dir, "--ids", "--max-seq", "8",
                        "1 2 3 4 5 6 7 8 9", NULL};
    CU_ASSERT_EQUAL(test_run_clenc_run(too_long, &out, &err), 1);
    CU_ASSERT(err && strstr(err, "input 1") && strstr(err, "--max-seq 8"));
    free(out);
    free(err);
    /* Texts are cut to --max-seq tokens, [CLS] and [SEP] included. */
    char *texts[] = {NULL, "--model", MODEL_DIR, "--max-seq", "4", "--json",
                     "one two three four five", NULL};
    CU_ASSERT_EQUAL_FATAL(test_run_clenc_run(texts, &out, NULL), 0);
    root = json_loads(out, 0, NULL);
    CU_ASSERT_FATAL(root != NULL);
    CU_ASSERT_EQUAL(json_array_size(json_array_get(json_object_get(root, "tokens"), 0)), 4);
    json_decref(root);
    free(out);
    free(text);
    free(st);
    free(config);
    free(weights);
    free(dir);
}
