/* clenc-run — embeds texts (or token ids) with a model folder and prints vectors, JSON or a similarity table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define PROG "clenc-run"
/* Lines of an --input file embedded at a time. */
#define CHUNK 512

static const char usage[] =
    "usage: " PROG " --model DIR [options] TEXT...\n"
    "       " PROG " --model DIR [options] --input FILE\n"
    "\n"
    "Embeds each TEXT (or each line of FILE) and prints one vector a line.\n"
    "\n"
    "  --model DIR         model folder (config.json, model.safetensors, ...)\n"
    "  --device SPEC       gpu | accelerator | cpu | P:D | part of a name\n"
    "  --binary FILE       take kernels from a program container, compile none\n"
    "  --pooling P         mean | cls | none (every token); default: the model's\n"
    "  --normalize, --no-normalize\n"
    "                      L2-normalise vectors or not; default: the model's\n"
    "  --json              one JSON object on stdout (README: \"clenc-run --json\")\n"
    "  --similarity        print the cosine-similarity matrix of the texts\n"
    "  --ids               arguments (or lines) are space-separated token ids\n"
    "  --input FILE        one text a line ('-': standard input), streamed\n"
    "  --batch N           sequences per batch (default 32)\n"
    "  --help, --version\n"
    "\n"
    "Environment: CLENC_DEVICE, CLENC_CACHE_DIR, CLENC_KERNEL_DIR, CLENC_GEMM,\n"
    "CLENC_VARIANT.\n";

typedef struct run {
    const char *model_path, *device, *binary, *input;
    int json, similarity, ids_mode, normalize; /* normalize: -1 default */
    int pool;                                  /* -1: default */
    unsigned batch;
    clenc_context *ctx;
    clenc_model *model;
    clenc_session *session;
    clenc_model_info info;
    clenc_device_info device_info;
    clenc_pooling pooling;
    unsigned max_seq;
    /* everything embedded so far (for --json and --similarity) */
    size_t count, capacity;
    float *vectors;      /* [count][stride] */
    int32_t **tokens;    /* per text, for --json */
    size_t *token_count; /* per text */
} run;

static int parse_args(int argc, char **argv, run *r, int *first_text)
{
    int missing = 0;
    const char *pool = NULL, *batch = NULL;
    r->normalize = -1;
    r->pool = -1;
    r->batch = 32;
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        cli_help_or_version(a, PROG, usage);
        if (!strcmp(a, "--json")) {
            r->json = 1;
        } else if (!strcmp(a, "--similarity")) {
            r->similarity = 1;
        } else if (!strcmp(a, "--ids")) {
            r->ids_mode = 1;
        } else if (!strcmp(a, "--normalize")) {
            r->normalize = 1;
        } else if (!strcmp(a, "--no-normalize")) {
            r->normalize = 0;
        } else if (!strcmp(a, "--")) {
            i++;
            break;
        } else if (cli_option(argc, argv, &i, "--model", &r->model_path,
                              &missing) ||
                   cli_option(argc, argv, &i, "--device", &r->device,
                              &missing) ||
                   cli_option(argc, argv, &i, "--binary", &r->binary,
                              &missing) ||
                   cli_option(argc, argv, &i, "--input", &r->input,
                              &missing) ||
                   cli_option(argc, argv, &i, "--pooling", &pool, &missing) ||
                   cli_option(argc, argv, &i, "--batch", &batch, &missing)) {
            if (missing)
                return cli_usage_error(PROG, "%s needs a value", a);
        } else if (a[0] == '-' && a[1] == '-') {
            return cli_usage_error(PROG, "unknown option '%s'", a);
        } else {
            break;
        }
    }
    *first_text = i;
    if (!r->model_path)
        return cli_usage_error(PROG, "--model DIR is required");
    if (pool) {
        if (!strcmp(pool, "mean"))
            r->pool = CLENC_POOL_MEAN;
        else if (!strcmp(pool, "cls"))
            r->pool = CLENC_POOL_CLS;
        else if (!strcmp(pool, "none"))
            r->pool = CLENC_POOL_NONE;
        else
            return cli_usage_error(PROG, "--pooling is mean, cls or none, "
                                         "not '%s'",
                                   pool);
    }
    if (batch) {
        char *end;
        long v = strtol(batch, &end, 10);
        if (*end || v < 1 || v > 4096)
            return cli_usage_error(PROG, "--batch is 1..4096, not '%s'",
                                   batch);
        r->batch = (unsigned)v;
    }
    if (r->input && *first_text < argc)
        return cli_usage_error(PROG, "give TEXT arguments or --input, not both");
    if (!r->input && *first_text >= argc)
        return cli_usage_error(PROG, "nothing to embed: give TEXT... or "
                                     "--input FILE");
    if (r->similarity && r->pool == CLENC_POOL_NONE)
        return cli_usage_error(PROG, "--similarity needs one vector a text, "
                                     "not --pooling none");
    return 0;
}

static int setup(run *r)
{
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = r->device;
    opt.binary = r->binary;
    clenc_status st = clenc_context_create(&opt, &r->ctx);
    if (st == CLENC_OK)
        st = clenc_context_device(r->ctx, &r->device_info);
    if (st == CLENC_OK)
        st = clenc_model_load(r->ctx, r->model_path, &r->model);
    if (st == CLENC_OK)
        st = clenc_model_info_get(r->model, &r->info);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    if (!r->ids_mode && !r->info.has_tokenizer) {
        fprintf(stderr, "%s: model '%s' has no tokenizer: give token ids "
                        "with --ids\n",
                PROG, r->info.name);
        return 1;
    }
    r->max_seq = r->ids_mode ? r->info.max_sequence : r->info.max_text_tokens;
    int mode = r->pool >= 0 ? r->pool
                            : (int)(r->info.pooling & ~CLENC_POOL_NORMALIZE);
    int norm = r->normalize >= 0 ? r->normalize
                                 : (r->info.pooling & CLENC_POOL_NORMALIZE) != 0;
    r->pooling = (clenc_pooling)(mode | (norm ? CLENC_POOL_NORMALIZE : 0));
    st = clenc_session_create(r->model, r->batch, r->max_seq, &r->session);
    if (st == CLENC_OK)
        st = clenc_session_set_pooling(r->session, r->pooling);
    return st == CLENC_OK ? 0 : cli_fail(PROG, st);
}

static int tokens_mode(const run *r)
{
    return (r->pooling & ~CLENC_POOL_NORMALIZE) == CLENC_POOL_NONE;
}

/* Floats per text in `vectors`. */
static size_t stride(const run *r)
{
    return (size_t)r->info.hidden * (tokens_mode(r) ? r->max_seq : 1);
}

static int grow(run *r, size_t more)
{
    if (r->count + more <= r->capacity)
        return 1;
    size_t cap = r->capacity ? r->capacity : 64;
    while (cap < r->count + more)
        cap *= 2;
    float *v = realloc(r->vectors, cap * stride(r) * sizeof *v);
    int32_t **t = v ? realloc(r->tokens, cap * sizeof *t) : NULL;
    size_t *c = t ? realloc(r->token_count, cap * sizeof *c) : NULL;
    if (v)
        r->vectors = v;
    if (t)
        r->tokens = t;
    if (c)
        r->token_count = c;
    if (!v || !t || !c)
        return 0;
    r->capacity = cap;
    return 1;
}

/* "101 2023 102" -> ids; returns the count or -1. */
static long parse_ids(const char *s, int32_t *ids, size_t cap)
{
    size_t n = 0;
    while (*s) {
        char *end;
        long v = strtol(s, &end, 10);
        if (end == s) {
            if (*s == ' ' || *s == '\t' || *s == ',') {
                s++;
                continue;
            }
            return -1;
        }
        if (n == cap || v < 0 || v > 0x7fffffff)
            return -1;
        ids[n++] = (int32_t)v;
        s = end;
    }
    return (long)n;
}

/* Embeds texts[0..n) and appends results (vectors, tokens). */
static int embed(run *r, char **texts, size_t n)
{
    if (!grow(r, n)) {
        fprintf(stderr, "%s: out of host memory\n", PROG);
        return 1;
    }
    const size_t at = r->count, h = r->info.hidden, w = stride(r);
    clenc_status st = CLENC_OK;
    for (size_t i = 0; i < n; i++) {
        int32_t *ids = malloc(r->max_seq * sizeof *ids);
        if (!ids) {
            fprintf(stderr, "%s: out of host memory\n", PROG);
            return 1;
        }
        r->tokens[at + i] = ids;
        r->token_count[at + i] = 0;
        r->count = at + i + 1;
        if (r->ids_mode) {
            long k = parse_ids(texts[i], ids, r->max_seq);
            if (k <= 0) {
                fprintf(stderr, "%s: input %zu is not 1..%u space-separated "
                                "token ids: '%.60s'\n",
                        PROG, at + i + 1, r->max_seq, texts[i]);
                return 1;
            }
            r->token_count[at + i] = (size_t)k;
            const int32_t len = (int32_t)k;
            st = clenc_encode(r->session, ids, NULL, &len, 1, (unsigned)k,
                              r->pooling, r->vectors + (at + i) * w);
            if (st == CLENC_OK && tokens_mode(r))
                memset(r->vectors + (at + i) * w + (size_t)k * h, 0,
                       (w - (size_t)k * h) * sizeof(float));
        } else {
            st = clenc_tokenize(r->model, texts[i], NULL, r->max_seq, ids,
                                NULL, &r->token_count[at + i]);
        }
        if (st != CLENC_OK) {
            fprintf(stderr, "%s: input %zu: ", PROG, at + i + 1);
            return cli_fail(PROG, st);
        }
    }
    if (!r->ids_mode) {
        st = clenc_embed_text(r->session, (const char *const *)texts, n,
                              r->vectors + at * w);
        if (st != CLENC_OK)
            return cli_fail(PROG, st);
    }
    return 0;
}

static void print_vector(FILE *f, const float *v, size_t n, const char *sep)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%.9g", i ? sep : "", v[i]);
}

/* Text output: a vector a line; with --pooling none, a line per token and
 * an empty line after each text. */
static void print_text(const run *r, size_t from)
{
    const size_t h = r->info.hidden, w = stride(r);
    for (size_t t = from; t < r->count; t++) {
        if (!tokens_mode(r)) {
            print_vector(stdout, r->vectors + t * w, h, " ");
            putchar('\n');
            continue;
        }
        for (size_t k = 0; k < r->token_count[t]; k++) {
            print_vector(stdout, r->vectors + t * w + k * h, h, " ");
            putchar('\n');
        }
        putchar('\n');
    }
}

static const char *pooling_name(clenc_pooling p)
{
    switch ((int)(p & ~CLENC_POOL_NORMALIZE)) {
    case CLENC_POOL_CLS:
        return "cls";
    case CLENC_POOL_NONE:
        return "none";
    default:
        return "mean";
    }
}

static void print_json(const run *r)
{
    const size_t h = r->info.hidden, w = stride(r);
    printf("{\"model\": ");
    cli_json_string(stdout, r->info.name);
    printf(", \"device\": ");
    cli_json_string(stdout, r->device_info.name);
    printf(", \"dim\": %zu, \"pooling\": \"%s\", \"normalized\": %s, "
           "\"tokens\": [",
           h, pooling_name(r->pooling),
           (r->pooling & CLENC_POOL_NORMALIZE) ? "true" : "false");
    for (size_t t = 0; t < r->count; t++) {
        printf("%s[", t ? ", " : "");
        for (size_t k = 0; k < r->token_count[t]; k++)
            printf("%s%d", k ? ", " : "", (int)r->tokens[t][k]);
        printf("]");
    }
    printf("], \"embeddings\": [");
    for (size_t t = 0; t < r->count; t++) {
        printf("%s", t ? ", " : "");
        if (!tokens_mode(r)) {
            printf("[");
            print_vector(stdout, r->vectors + t * w, h, ", ");
            printf("]");
            continue;
        }
        printf("[");
        for (size_t k = 0; k < r->token_count[t]; k++) {
            printf("%s[", k ? ", " : "");
            print_vector(stdout, r->vectors + t * w + k * h, h, ", ");
            printf("]");
        }
        printf("]");
    }
    printf("]}\n");
}

static void print_similarity(const run *r, char **texts)
{
    const size_t h = r->info.hidden, n = r->count;
    printf("%s on %s: %zu dimensions, %s pooling%s\n\n", r->info.name,
           r->device_info.name, h, pooling_name(r->pooling),
           (r->pooling & CLENC_POOL_NORMALIZE) ? ", normalised" : "");
    printf("%-34s", "cosine similarity");
    for (size_t j = 0; j < n; j++)
        printf(" %6zu", j + 1);
    putchar('\n');
    for (size_t i = 0; i < n; i++) {
        printf("%3zu %-30.30s", i + 1, texts ? texts[i] : "");
        for (size_t j = 0; j < n; j++) {
            const float *a = r->vectors + i * h, *b = r->vectors + j * h;
            double ab = 0, aa = 0, bb = 0;
            for (size_t k = 0; k < h; k++) {
                ab += (double)a[k] * b[k];
                aa += (double)a[k] * a[k];
                bb += (double)b[k] * b[k];
            }
            printf(" %6.3f", aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0);
        }
        putchar('\n');
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Streams FILE in chunks; text output is printed chunk by chunk, so memory
 * stays bounded unless --json or --similarity needs everything. */
static int run_input(run *r)
{
    FILE *f = strcmp(r->input, "-") ? fopen(r->input, "r") : stdin;
    if (!f) {
        fprintf(stderr, "%s: cannot open '%s'\n", PROG, r->input);
        return 1;
    }
    const int keep = r->json || r->similarity;
    char *lines[CHUNK] = {0};
    size_t caps[CHUNK] = {0}, done = 0;
    double start = now_s(), last = start;
    int rc = 0, eof = 0;
    while (!eof && rc == 0) {
        size_t n = 0;
        while (n < CHUNK) {
            ssize_t len = getline(&lines[n], &caps[n], f);
            if (len < 0) {
                eof = 1;
                break;
            }
            while (len > 0 && (lines[n][len - 1] == '\n' ||
                               lines[n][len - 1] == '\r'))
                lines[n][--len] = '\0';
            n++;
        }
        if (n == 0)
            break;
        size_t from = r->count;
        rc = embed(r, lines, n);
        if (rc == 0 && !keep) {
            print_text(r, from);
            for (size_t t = 0; t < r->count; t++)
                free(r->tokens[t]);
            r->count = 0;
        }
        done += n;
        double t = now_s();
        if (t - last >= 1.0 || (eof && t - start >= 1.0)) {
            fprintf(stderr, "\r%s: %zu texts, %.0f texts/s", PROG, done,
                    done / (t - start));
            last = t;
        }
    }
    if (now_s() - start >= 1.0)
        fputc('\n', stderr);
    for (size_t i = 0; i < CHUNK; i++)
        free(lines[i]);
    if (f != stdin)
        fclose(f);
    if (rc == 0 && r->json)
        print_json(r);
    else if (rc == 0 && r->similarity)
        print_similarity(r, NULL);
    return rc;
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    int first = 0, rc = parse_args(argc, argv, &r, &first);
    if (rc)
        return rc;
    if ((rc = setup(&r)) == 0) {
        if (r.input) {
            rc = run_input(&r);
        } else {
            rc = embed(&r, argv + first, (size_t)(argc - first));
            if (rc == 0 && r.json)
                print_json(&r);
            else if (rc == 0 && r.similarity)
                print_similarity(&r, argv + first);
            else if (rc == 0)
                print_text(&r, 0);
        }
    }
    for (size_t t = 0; t < r.count; t++)
        free(r.tokens[t]);
    free(r.tokens);
    free(r.token_count);
    free(r.vectors);
    clenc_session_destroy(r.session);
    clenc_model_destroy(r.model);
    clenc_context_destroy(r.ctx);
    return rc;
}
