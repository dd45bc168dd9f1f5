/* clenc-run — embeds texts (or token ids) with a model folder and prints vectors, JSON or a similarity table; reranks and classifies (run_scores.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "run_mpi.h"
#include "run_output.h"
#include "run_scores.h"

#define PROG "clenc-run"
/* Lines of an --input file embedded at a time. */
#define CHUNK 512

static const char usage[] =
    "usage: " PROG " --model DIR [options] TEXT...\n"
    "       " PROG " --model DIR [options] --input FILE\n"
    "       " PROG " --model DIR [options] --rerank QUERY PASSAGE...\n"
    "       " PROG " --model DIR [options] --classify TEXT...\n"
    "\n"
    "Embeds each TEXT (or each line of FILE) and prints one vector a line.\n"
    "With --rerank or --classify, a reranker or classifier (a\n"
    "*ForSequenceClassification model) scores them instead.\n"
    "\n"
    "  --model DIR         model folder (config.json, model.safetensors, ...)\n"
    "  --device SPEC       gpu | accelerator | cpu | P:D | part of a name;\n"
    "                      'all' or a list (0:0,1:0) runs on several devices\n"
    "                      at once (README: \"Several devices\")\n"
    "  --binary FILE       take kernels from a program container, compile none\n"
    "  --precision P       fp32 (default) | fp16 | int8 (README: \"Precision\")\n"
    "  --pooling P         mean | cls | pooler (BERT's pooler, where loaded) |\n"
    "                      none (every token); default: the model's\n"
    "  --normalize, --no-normalize\n"
    "                      L2-normalise vectors or not; default: the model's\n"
    "  --json              one JSON object on stdout (README: \"clenc-run --json\")\n"
    "  --similarity        print the cosine-similarity matrix of the texts\n"
    "  --ids               arguments (or lines) are space-separated token ids\n"
    "  --input FILE        one text a line ('-': standard input), streamed;\n"
    "                      a bad line is named FILE:LINE, the lines before it\n"
    "                      are still written, and the status is 1\n"
    "  --output FILE.npy   with --input: the vectors, a float32 row a line,\n"
    "                      in a NumPy file, named so only once complete; a\n"
    "                      bad line fails the run. Under mpirun or srun the\n"
    "                      ranks share the lines (README: \"Scale-out\")\n"
    "  --batch N           sequences per batch (default 32)\n"
    "  --max-seq N         longest sequence in tokens (default: the model's\n"
    "                      truncation length)\n"
    "  --help, --version\n"
    "\n"
    "Rerankers and classifiers (--input, --batch, --max-seq and --json apply):\n"
    "  --rerank QUERY      score (QUERY, PASSAGE) for each PASSAGE (or line of\n"
    "                      FILE); print the passages best first: rank, score,\n"
    "                      passage number (from 1), passage. --json:\n"
    "                      {\"model\", \"query\", \"results\": [{\"index\",\n"
    "                      \"score\"}]}, best first, index from 0 (as text-\n"
    "                      embeddings-inference's /rerank). One label only\n"
    "  --classify          each TEXT's labels (config.json's id2label) and\n"
    "                      scores, best first, a line a text. --json:\n"
    "                      {\"model\", \"results\": [{\"text_index\", \"labels\":\n"
    "                      [{\"label\", \"score\"}]}]}, text_index from 0\n"
    "  --raw-scores        the head's logits, without the sigmoid or softmax\n"
    "                      that the model's files ask for\n"
    "\n"
    "Examples:\n"
    "  " PROG " --model models/ms-marco-MiniLM-L-6-v2 --rerank \\\n"
    "      'how big is a panda?' 'Pandas weigh 100 kg.' 'Paris is in France.'\n"
    "  " PROG " --model models/sst2-classifier --classify --json \\\n"
    "      'A delight from start to end.' 'Two hours I will not get back.'\n"
    "\n"
    "Environment: CLENC_DEVICE, CLENC_CACHE_DIR, CLENC_KERNEL_DIR, CLENC_GEMM,\n"
    "CLENC_VARIANT, CLENC_PRECISION.\n";

/* A text embedded: its token ids (for --json) and where its floats are in
 * `vectors`: one vector, or one per real token with --pooling none. */
typedef struct done_text {
    int32_t *tokens;
    size_t count, offset;
} done_text;

typedef struct run {
    const char *model_path, *device, *binary, *input;
    const char *output; /* --output FILE.npy */
    const char *rerank; /* --rerank's query */
    clenc_precision precision;
    int json, similarity, ids_mode, normalize; /* normalize: -1 default */
    int classify, raw_scores;
    int pool;                                  /* -1: default */
    unsigned batch;
    unsigned max_seq; /* 0 until set: --max-seq, else the model's */
    int max_seq_given;
    clenc_context *ctx;
    clenc_model *model;
    clenc_session *session;
    clenc_pool *devices; /* --device all or a list: no ctx, model or session */
    int32_t *rows;       /* --ids on devices: a group's ids, [group][max_seq] */
    int32_t *row_lengths;
    clenc_model_info info;
    clenc_device_info device_info;
    clenc_pooling pooling;
    /* everything embedded so far (for --json and --similarity) */
    done_text *done;
    size_t count, capacity;
    float *vectors;
    size_t floats, floats_capacity;
    /* scratch: one text's ids, and one group's output */
    int32_t *ids;
    size_t ids_capacity;
    float *group_out;
} run;

static int parse_args(int argc, char **argv, run *r, int *first_text)
{
    int missing = 0;
    const char *pool = NULL, *batch = NULL, *max_seq = NULL, *precision = NULL;
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
        } else if (!strcmp(a, "--classify")) {
            r->classify = 1;
        } else if (!strcmp(a, "--raw-scores")) {
            r->raw_scores = 1;
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
                   cli_option(argc, argv, &i, "--precision", &precision,
                              &missing) ||
                   cli_option(argc, argv, &i, "--input", &r->input,
                              &missing) ||
                   cli_option(argc, argv, &i, "--output", &r->output,
                              &missing) ||
                   cli_option(argc, argv, &i, "--rerank", &r->rerank,
                              &missing) ||
                   cli_option(argc, argv, &i, "--pooling", &pool, &missing) ||
                   cli_option(argc, argv, &i, "--batch", &batch, &missing) ||
                   cli_option(argc, argv, &i, "--max-seq", &max_seq,
                              &missing)) {
            if (missing)
                return cli_usage_error(PROG, "%s needs a value", a);
        } else if (a[0] == '-' && a[1] == '-') {
            return cli_usage_error(PROG, "unknown option '%s'", a);
        } else {
            break;
        }
    }
    *first_text = i;
    if (cli_precision(PROG, precision, &r->precision))
        return 2;
    if (!r->model_path)
        return cli_usage_error(PROG, "--model DIR is required");
    if (pool) {
        if (!strcmp(pool, "mean"))
            r->pool = CLENC_POOL_MEAN;
        else if (!strcmp(pool, "cls"))
            r->pool = CLENC_POOL_CLS;
        else if (!strcmp(pool, "pooler"))
            r->pool = CLENC_POOL_POOLER;
        else if (!strcmp(pool, "none"))
            r->pool = CLENC_POOL_NONE;
        else
            return cli_usage_error(PROG, "--pooling is mean, cls, pooler or "
                                         "none, not '%s'",
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
    if (max_seq) {
        char *end;
        long v = strtol(max_seq, &end, 10);
        if (*end || v < 1 || v > 1 << 24)
            return cli_usage_error(PROG, "--max-seq is 1..16777216, not '%s'",
                                   max_seq);
        r->max_seq = (unsigned)v;
        r->max_seq_given = 1;
    }
    const char *verb = r->rerank ? "rerank" : r->classify ? "classify"
                                                          : "embed";
    if (r->rerank && r->classify)
        return cli_usage_error(PROG, "--rerank or --classify, not both");
    if ((r->rerank || r->classify) &&
        (r->similarity || r->ids_mode || r->pool >= 0 || r->normalize >= 0))
        return cli_usage_error(PROG, "--%s scores texts: --similarity, --ids, "
                                     "--pooling and --normalize are for "
                                     "embedding",
                               verb);
    if (r->raw_scores && !r->rerank && !r->classify)
        return cli_usage_error(PROG, "--raw-scores goes with --rerank or "
                                     "--classify");
    if (r->input && *first_text < argc)
        return cli_usage_error(PROG, "give %s arguments or --input, not both",
                               r->rerank ? "PASSAGE" : "TEXT");
    if (!r->input && *first_text >= argc)
        return cli_usage_error(PROG, "nothing to %s: give %s... or --input "
                                     "FILE",
                               verb, r->rerank ? "PASSAGE" : "TEXT");
    if (cli_several_devices(r->device) && r->binary)
        return cli_usage_error(PROG, "--device %s runs on several devices: "
                                     "not with --binary (a program container "
                                     "holds one device's kernels)",
                               r->device);
    if (r->output && (!r->input || r->json || r->similarity || r->rerank ||
                      r->classify || r->pool == CLENC_POOL_NONE))
        return cli_usage_error(PROG, "--output writes a vector for each line "
                                     "of --input FILE: not with --json, "
                                     "--similarity, --rerank, --classify or "
                                     "--pooling none");
    if (r->similarity && r->pool == CLENC_POOL_NONE)
        return cli_usage_error(PROG, "--similarity needs one vector a text, "
                                     "not --pooling none");
    return 0;
}

/* The pooling asked for, else the model's. */
static void choose_pooling(run *r)
{
    int mode = r->pool >= 0 ? r->pool
                            : (int)(r->info.pooling & ~CLENC_POOL_NORMALIZE);
    int norm = r->normalize >= 0 ? r->normalize
                                 : (r->info.pooling & CLENC_POOL_NORMALIZE) != 0;
    r->pooling = (clenc_pooling)(mode | (norm ? CLENC_POOL_NORMALIZE : 0));
}

/* What the model must have for the mode: a head that fits --rerank or
 * --classify, a tokenizer unless --ids. 0, or the exit status. */
static int check_model(const run *r)
{
    const int scoring = r->rerank || r->classify;
    if (scoring && scores_check_model(&r->info, r->rerank != NULL))
        return 2;
    if (!r->ids_mode && !r->info.has_tokenizer) {
        fprintf(stderr, "%s: model '%s' has no tokenizer: %s\n", PROG,
                r->info.name, scoring ? "scores need texts"
                                      : "give token ids with --ids");
        return 1;
    }
    return 0;
}

/* --device all or a list: a pool of devices embeds or scores. */
static int setup_pool(run *r)
{
    clenc_status st = clenc_pool_create(r->device, r->model_path, r->precision,
                                        r->batch, r->max_seq, &r->devices);
    if (st == CLENC_OK)
        st = clenc_model_info_get(clenc_pool_model(r->devices, 0), &r->info);
    if (st == CLENC_OK)
        st = clenc_pool_device(r->devices, 0, &r->device_info);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    const unsigned more = clenc_pool_device_count(r->devices) - 1;
    if (more) {
        const size_t at = strlen(r->device_info.name);
        snprintf(r->device_info.name + at, sizeof r->device_info.name - at,
                 " (+%u more)", more);
    }
    const int rc = check_model(r);
    if (rc)
        return rc;
    if (!r->max_seq_given)
        r->max_seq = r->info.max_text_tokens;
    choose_pooling(r);
    if (r->rerank || r->classify)
        return 0;
    st = clenc_pool_set_pooling(r->devices, r->pooling);
    return st == CLENC_OK ? 0 : cli_fail(PROG, st);
}

static int setup(run *r)
{
    if (cli_several_devices(r->device))
        return setup_pool(r);
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = r->device;
    opt.binary = r->binary;
    opt.precision = r->precision;
    clenc_status st = clenc_context_create(&opt, &r->ctx);
    if (st == CLENC_OK)
        st = cli_warn_cache(PROG, r->ctx);
    if (st == CLENC_OK)
        st = clenc_context_device(r->ctx, &r->device_info);
    if (st == CLENC_OK)
        st = clenc_model_load(r->ctx, r->model_path, &r->model);
    if (st == CLENC_OK)
        st = clenc_model_info_get(r->model, &r->info);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    const int scoring = r->rerank || r->classify;
    const int rc = check_model(r);
    if (rc)
        return rc;
    /* Host buffers are sized by this, never by the positions a config.json
     * claims: the truncation length unless --max-seq says otherwise. */
    if (!r->max_seq_given)
        r->max_seq = r->info.max_text_tokens;
    choose_pooling(r);
    st = clenc_session_create(r->model, r->batch, r->max_seq, &r->session);
    if (st == CLENC_OK && !scoring)
        st = clenc_session_set_pooling(r->session, r->pooling);
    if (st != CLENC_OK) {
        cli_fail(PROG, st);
        if (!r->max_seq_given)
            fprintf(stderr, "%s: sequences of up to %u tokens (the model's "
                            "truncation length): a lower --max-seq or --batch "
                            "may fit\n",
                    PROG, r->max_seq);
        return 1;
    }
    return 0;
}

static int tokens_mode(const run *r)
{
    return (r->pooling & ~CLENC_POOL_NORMALIZE) == CLENC_POOL_NONE;
}

/* Texts one embedding call takes: a batch when every token's vector comes
 * back ([batch][max_seq][hidden] floats), else a chunk of pooled vectors. */
static size_t group_texts(const run *r)
{
    return tokens_mode(r) ? r->batch : CHUNK;
}

static size_t group_stride(const run *r)
{
    return (size_t)r->info.hidden * (tokens_mode(r) ? r->max_seq : 1);
}

static int out_of_memory(void)
{
    fprintf(stderr, "%s: out of host memory\n", PROG);
    return 1;
}

static size_t text_floats(const run *r, size_t t)
{
    return r->info.hidden * (tokens_mode(r) ? r->done[t].count : 1);
}

/* Room for one more text, and its token ids (copied). */
static int add_text(run *r, const int32_t *ids, size_t n)
{
    if (r->count == r->capacity) {
        size_t cap = r->capacity ? 2 * r->capacity : 64;
        done_text *grown = realloc(r->done, cap * sizeof *grown);
        if (!grown)
            return 0;
        r->done = grown;
        r->capacity = cap;
    }
    done_text *d = &r->done[r->count];
    if (!(d->tokens = malloc((n ? n : 1) * sizeof *d->tokens)))
        return 0;
    memcpy(d->tokens, ids, n * sizeof *ids);
    d->count = n;
    d->offset = r->floats;
    r->count++;
    return 1;
}

/* Appends the vectors of text t. */
static int add_vectors(run *r, size_t t, const float *v)
{
    const size_t n = text_floats(r, t);
    if (r->floats + n > r->floats_capacity) {
        size_t cap = r->floats_capacity ? r->floats_capacity : 4096;
        while (cap < r->floats + n)
            cap *= 2;
        float *grown = realloc(r->vectors, cap * sizeof *grown);
        if (!grown)
            return 0;
        r->vectors = grown;
        r->floats_capacity = cap;
    }
    r->done[t].offset = r->floats;
    memcpy(r->vectors + r->floats, v, n * sizeof *v);
    r->floats += n;
    return 1;
}

/* Keeps the first `count` texts, all with their vectors (0: what was
 * printed goes), and the buffers. */
static void keep_texts(run *r, size_t count)
{
    for (size_t t = count; t < r->count; t++)
        free(r->done[t].tokens);
    r->count = count;
    r->floats = count ? r->done[count - 1].offset + text_floats(r, count - 1)
                      : 0;
}

static int ids_room(run *r, size_t n)
{
    if (n <= r->ids_capacity)
        return 1;
    size_t cap = r->ids_capacity ? r->ids_capacity : 256;
    while (cap < n)
        cap *= 2;
    int32_t *grown = realloc(r->ids, cap * sizeof *grown);
    if (!grown)
        return 0;
    r->ids = grown;
    r->ids_capacity = cap;
    return 1;
}

/* "101 2023 102" (spaces, tabs or commas between) of len bytes into r->ids;
 * the count, or -1 for anything but ids in 0..2^31-1, a NUL byte included. */
static long parse_ids(run *r, const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == ' ' || s[i] == '\t' || s[i] == ',') {
            i++;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            return -1;
        long long v = 0;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++)
            if ((v = 10 * v + (s[i] - '0')) > 0x7fffffff)
                return -1;
        if (!ids_room(r, n + 1))
            return -1;
        r->ids[n++] = (int32_t)v;
    }
    return (long)n;
}

/* Where input i is: "FILE:LINE" for --input, "input N" for arguments. */
static void name_input(const run *r, size_t number, char *buf, size_t cap)
{
    if (r->input)
        snprintf(buf, cap, "%s%s:%zu", run_mpi_label(),
                 strcmp(r->input, "-") ? r->input : "(standard input)",
                 number);
    else
        snprintf(buf, cap, "input %zu", number);
}

static int input_failed(const run *r, size_t number, clenc_status st)
{
    char where[512];
    name_input(r, number, where, sizeof where);
    fprintf(stderr, "%s: %s: %s: %s\n", PROG, where, clenc_status_name(st),
            *clenc_last_error() ? clenc_last_error()
                                : clenc_status_string(st));
    return 1;
}

/* Input `number`'s token ids into r->ids: their count, or -1 after
 * naming the input (not 1..max_seq ids). */
static long ids_of(run *r, const char *text, size_t len, size_t number)
{
    char where[512];
    const long k = parse_ids(r, text, len);
    if (k > 0 && (size_t)k <= r->max_seq)
        return k;
    name_input(r, number, where, sizeof where);
    if (k > 0)
        fprintf(stderr, "%s: %s: %ld token ids, more than --max-seq %u\n",
                PROG, where, k, r->max_seq);
    else
        fprintf(stderr, "%s: %s: not 1..%u token ids separated by spaces: "
                        "'%.60s'\n",
                PROG, where, r->max_seq, text);
    return -1;
}

/* Appends a text, its ids and its vectors at v: 0, or the exit status. */
static int add_encoded(run *r, const int32_t *ids, size_t n, const float *v)
{
    if (!add_text(r, ids, n))
        return out_of_memory();
    if (!add_vectors(r, r->count - 1, v)) {
        keep_texts(r, r->count - 1);
        return out_of_memory();
    }
    return 0;
}

/* --ids on several devices: a group of inputs at a time in one
 * clenc_pool_encode, rows of max_seq (packing spends nothing on the
 * padding). The inputs before a bad one are still encoded and kept; a
 * device's failure names the group's inputs, and its message the
 * sequences, counted from the group's first. */
static int embed_ids_pool(run *r, char **texts, const size_t *lens, size_t n,
                          size_t first_number)
{
    const size_t group = group_texts(r), stride = group_stride(r);
    if ((!r->rows && !(r->rows = malloc(group * r->max_seq *
                                        sizeof *r->rows))) ||
        (!r->row_lengths &&
         !(r->row_lengths = malloc(group * sizeof *r->row_lengths))))
        return out_of_memory();
    for (size_t g = 0; g < n; g += group) {
        const size_t m = n - g < group ? n - g : group;
        size_t good = 0;
        for (long k; good < m; good++) {
            if ((k = ids_of(r, texts[g + good], lens[g + good],
                            first_number + g + good)) < 0)
                break;
            memcpy(r->rows + good * r->max_seq, r->ids,
                   (size_t)k * sizeof *r->ids);
            r->row_lengths[good] = (int32_t)k;
        }
        clenc_status st =
            good ? clenc_pool_encode(r->devices, r->rows, NULL,
                                     r->row_lengths, good, r->max_seq,
                                     r->pooling, r->group_out)
                 : CLENC_OK;
        if (st != CLENC_OK) {
            char from[512], to[512];
            name_input(r, first_number + g, from, sizeof from);
            name_input(r, first_number + g + good - 1, to, sizeof to);
            fprintf(stderr, "%s: %s to %s: %s: %s\n", PROG, from, to,
                    clenc_status_name(st), clenc_last_error());
            return 1;
        }
        for (size_t j = 0; j < good; j++) {
            const int rc = add_encoded(r, r->rows + j * r->max_seq,
                                       (size_t)r->row_lengths[j],
                                       r->group_out + j * stride);
            if (rc)
                return rc;
        }
        if (good < m)
            return 1;
    }
    return 0;
}

/* --ids: each text is encoded on its own, with exactly its tokens. */
static int embed_ids(run *r, char **texts, const size_t *lens, size_t n,
                     size_t first_number)
{
    if (r->devices)
        return embed_ids_pool(r, texts, lens, n, first_number);
    for (size_t i = 0; i < n; i++) {
        const long k = ids_of(r, texts[i], lens[i], first_number + i);
        if (k < 0)
            return 1;
        const int32_t len = (int32_t)k;
        clenc_status st = clenc_encode(r->session, r->ids, NULL, &len, 1,
                                       (unsigned)k, r->pooling, r->group_out);
        if (st != CLENC_OK)
            return input_failed(r, first_number + i, st);
        const int rc = add_encoded(r, r->ids, (size_t)k, r->group_out);
        if (rc)
            return rc;
    }
    return 0;
}

/* Embeds texts[0..n), the last n texts added (tokenized), a group at a
 * time. On failure, the texts without vectors go. */
static int embed_tokenized(run *r, char **texts, const size_t *lens, size_t n)
{
    const size_t group = group_texts(r), stride = group_stride(r);
    const size_t first = r->count - n;
    for (size_t g = 0; g < n; g += group) {
        const size_t m = n - g < group ? n - g : group;
        clenc_status st =
            r->devices ? clenc_pool_embed_text_n(r->devices,
                                              (const char *const *)texts + g,
                                              lens + g, m, r->group_out)
                    : clenc_embed_text_n(r->session,
                                         (const char *const *)texts + g,
                                         lens + g, m, r->group_out);
        if (st != CLENC_OK) {
            keep_texts(r, first + g);
            return cli_fail(PROG, st);
        }
        for (size_t j = 0; j < m; j++)
            if (!add_vectors(r, first + g + j, r->group_out + j * stride)) {
                keep_texts(r, first + g + j);
                return out_of_memory();
            }
    }
    return 0;
}

/* Embeds texts[0..n) (lens[i] bytes each) in order and appends the results.
 * A text that fails stops the run: the ones before it are embedded and kept,
 * so that the caller still writes them; it is named first_number + index. */
static int embed(run *r, char **texts, const size_t *lens, size_t n,
                 size_t first_number)
{
    if (r->ids_mode)
        return embed_ids(r, texts, lens, n, first_number);
    const size_t first = r->count;
    if (!ids_room(r, r->max_seq))
        return out_of_memory();
    size_t ok = 0;
    clenc_status st = CLENC_OK;
    for (; ok < n; ok++) {
        size_t k = 0;
        st = clenc_tokenize_n(r->devices ? clenc_pool_model(r->devices, 0)
                                      : r->model,
                              texts[ok], lens[ok], NULL, 0,
                              r->max_seq, r->ids, NULL, &k);
        if (st != CLENC_OK)
            break;
        if (!add_text(r, r->ids, k)) {
            keep_texts(r, first);
            return out_of_memory();
        }
    }
    /* The failure's message, before other calls replace it. */
    char *why = st != CLENC_OK ? strdup(clenc_last_error()) : NULL;
    int rc = embed_tokenized(r, texts, lens, ok);
    if (rc == 0 && st != CLENC_OK) {
        char where[512];
        name_input(r, first_number + ok, where, sizeof where);
        fprintf(stderr, "%s: %s: %s: %s\n", PROG, where, clenc_status_name(st),
                why ? why : clenc_status_string(st));
        rc = 1;
    }
    free(why);
    return rc;
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
    const size_t h = r->info.hidden;
    for (size_t t = from; t < r->count; t++) {
        const float *v = r->vectors + r->done[t].offset;
        if (!tokens_mode(r)) {
            print_vector(stdout, v, h, " ");
            putchar('\n');
            continue;
        }
        for (size_t k = 0; k < r->done[t].count; k++) {
            print_vector(stdout, v + k * h, h, " ");
            putchar('\n');
        }
        putchar('\n');
    }
    fflush(stdout);
}

static const char *pooling_name(clenc_pooling p)
{
    switch ((int)(p & ~CLENC_POOL_NORMALIZE)) {
    case CLENC_POOL_CLS:
        return "cls";
    case CLENC_POOL_POOLER:
        return "pooler";
    case CLENC_POOL_NONE:
        return "none";
    default:
        return "mean";
    }
}

static void print_json(const run *r)
{
    const size_t h = r->info.hidden;
    printf("{\"model\": ");
    cli_json_string(stdout, r->info.name);
    printf(", \"device\": ");
    cli_json_string(stdout, r->device_info.name);
    printf(", \"precision\": \"%s\", \"fp16_compute\": %s",
           clenc_precision_name(r->info.precision),
           r->info.fp16_compute ? "true" : "false");
    printf(", \"dim\": %zu, \"pooling\": \"%s\", \"normalized\": %s, "
           "\"tokens\": [",
           h, pooling_name(r->pooling),
           (r->pooling & CLENC_POOL_NORMALIZE) ? "true" : "false");
    for (size_t t = 0; t < r->count; t++) {
        printf("%s[", t ? ", " : "");
        for (size_t k = 0; k < r->done[t].count; k++)
            printf("%s%d", k ? ", " : "", (int)r->done[t].tokens[k]);
        printf("]");
    }
    printf("], \"embeddings\": [");
    for (size_t t = 0; t < r->count; t++) {
        const float *v = r->vectors + r->done[t].offset;
        printf("%s", t ? ", " : "");
        if (!tokens_mode(r)) {
            printf("[");
            print_vector(stdout, v, h, ", ");
            printf("]");
            continue;
        }
        printf("[");
        for (size_t k = 0; k < r->done[t].count; k++) {
            printf("%s[", k ? ", " : "");
            print_vector(stdout, v + k * h, h, ", ");
            printf("]");
        }
        printf("]");
    }
    printf("]}\n");
}

static void print_similarity(const run *r, char **texts)
{
    const size_t h = r->info.hidden, n = r->count;
    printf("%s on %s: %zu dimensions, %s pooling%s, %s\n\n", r->info.name,
           r->device_info.name, h, pooling_name(r->pooling),
           (r->pooling & CLENC_POOL_NORMALIZE) ? ", normalised" : "",
           cli_precision_text(&r->info));
    printf("%-34s", "cosine similarity");
    for (size_t j = 0; j < n; j++)
        printf(" %6zu", j + 1);
    putchar('\n');
    for (size_t i = 0; i < n; i++) {
        printf("%3zu %-30.30s", i + 1, texts ? texts[i] : "");
        for (size_t j = 0; j < n; j++) {
            const float *a = r->vectors + r->done[i].offset;
            const float *b = r->vectors + r->done[j].offset;
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

/* What is done, in the output format asked for: after the last text, or
 * before a bad one's error. */
static void print_all(const run *r, char **texts)
{
    if (r->json)
        print_json(r);
    else if (r->similarity)
        print_similarity(r, texts);
    else
        print_text(r, 0);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Streams FILE in chunks; text output is printed chunk by chunk, so memory
 * stays bounded unless --json or --similarity needs everything. Lines are
 * passed with their lengths: a NUL byte does not end one. */
static int run_input(run *r)
{
    FILE *f = strcmp(r->input, "-") ? fopen(r->input, "r") : stdin;
    if (!f) {
        fprintf(stderr, "%s: cannot open '%s'\n", PROG, r->input);
        return 1;
    }
    const int keep = r->json || r->similarity;
    char *lines[CHUNK] = {0};
    size_t caps[CHUNK] = {0}, lens[CHUNK], done = 0;
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
            lens[n++] = (size_t)len;
        }
        if (n == 0)
            break;
        rc = embed(r, lines, lens, n, done + 1);
        if (!keep) {
            print_text(r, 0);
            keep_texts(r, 0);
        }
        done += n;
        double t = now_s();
        if (rc == 0 && (t - last >= 1.0 || (eof && t - start >= 1.0))) {
            fprintf(stderr, "\r%s: %zu texts, %.0f texts/s", PROG, done,
                    done / (t - start));
            last = t;
        }
    }
    if (ferror(f) && rc == 0) {
        fprintf(stderr, "%s: reading '%s' failed\n", PROG, r->input);
        rc = 1;
    }
    if (now_s() - start >= 1.0)
        fputc('\n', stderr);
    for (size_t i = 0; i < CHUNK; i++)
        free(lines[i]);
    if (f != stdin)
        fclose(f);
    if (keep)
        print_all(r, NULL);
    return rc;
}

/* --output's embedding of a chunk of lines (run_output.c reads them). */
static int embed_rows(void *arg, char **texts, const size_t *lens, size_t n,
                      size_t first_number, const float **rows)
{
    run *r = arg;
    keep_texts(r, 0);
    int rc = embed(r, texts, lens, n, first_number);
    *rows = r->vectors;
    return rc;
}

static int run_arguments(run *r, char **texts, size_t n)
{
    size_t *lens = malloc((n ? n : 1) * sizeof *lens);
    if (!lens)
        return out_of_memory();
    for (size_t i = 0; i < n; i++)
        lens[i] = strlen(texts[i]);
    int rc = embed(r, texts, lens, n, 1);
    print_all(r, texts);
    free(lens);
    return rc;
}

int main(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    int first = 0, rc = parse_args(argc, argv, &r, &first);
    if (rc)
        return rc;
    if ((rc = run_mpi_start(PROG, r.input && r.output, &r.device)) == 0)
        rc = run_mpi_agree(setup(&r));
    if (rc == 0 && (r.rerank || r.classify)) {
        const scores_run s = {.model = r.devices
                                           ? clenc_pool_model(r.devices, 0)
                                           : r.model,
                              .session = r.session,
                              .pool = r.devices,
                              .info = &r.info,
                              .device_name = r.device_info.name,
                              .input = r.input,
                              .json = r.json,
                              .raw = r.raw_scores};
        rc = r.rerank ? scores_rerank(&s, r.rerank, argv + first,
                                      (size_t)(argc - first))
                      : scores_classify(&s, argv + first,
                                        (size_t)(argc - first));
    } else if (rc == 0) {
        r.group_out = malloc(group_texts(&r) * group_stride(&r) *
                             sizeof *r.group_out);
        if (!r.group_out)
            rc = out_of_memory();
        else if (r.output)
            rc = output_run(&(output_job){.prog = PROG,
                                          .input = r.input,
                                          .output = r.output,
                                          .dim = r.info.hidden,
                                          .embed = embed_rows,
                                          .arg = &r});
        else if (r.input)
            rc = run_input(&r);
        else
            rc = run_arguments(&r, argv + first, (size_t)(argc - first));
    }
    keep_texts(&r, 0);
    free(r.done);
    free(r.vectors);
    free(r.ids);
    free(r.group_out);
    free(r.rows);
    free(r.row_lengths);
    clenc_pool_destroy(r.devices);
    clenc_session_destroy(r.session);
    clenc_model_destroy(r.model);
    clenc_context_destroy(r.ctx);
    return run_mpi_finish(rc);
}
