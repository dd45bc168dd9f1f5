/* bench_pool.c — clenc-bench --pool: each device of a pool alone (one session, clenc_embed_text) and the pool together on the same texts of mixed lengths, medians of interleaved runs, the pool's ratio to the fastest device. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_pool.h"
#include "cli.h"

#define PROG "clenc-bench"

/* One thing timed: a device alone, or the pool (session NULL). */
typedef struct contender {
    char spec[32]; /* "P:D" */
    clenc_device_info device;
    clenc_context *ctx;
    clenc_model *model;
    clenc_session *session;
    double *times_ms;
    double median_ms;
} contender;

/* Words that WordPiece vocabularies hold whole: a word is about a token. */
static const char *const words[] = {
    "the",   "river", "stone", "quiet",  "engine", "lantern", "orbit",
    "green", "house", "runs",  "under",  "bright", "water",   "city",
    "small", "paper", "light", "before", "music",  "north",   "field",
    "train", "table", "open",  "winter", "number", "garden",  "road"};

/* n texts of 4 .. max_seq - 2 words, lengths spread evenly from a fixed
 * seed: the mix a pool's length grouping meets. One allocation, freed
 * with texts[0]'s block (returned in *storage). */
static const char **make_texts(unsigned n, unsigned max_seq, char **storage)
{
    const size_t per = (size_t)max_seq * 8 + 1; /* longest word 7, a space */
    const char **texts = malloc((n ? n : 1) * sizeof *texts);
    char *buf = malloc((size_t)(n ? n : 1) * per);
    if (!texts || !buf) {
        free(texts);
        free(buf);
        return NULL;
    }
    uint64_t state = 0x9e3779b97f4a7c15u;
    const unsigned most = max_seq > 6 ? max_seq - 2 : 4;
    for (unsigned i = 0; i < n; i++) {
        char *p = buf + (size_t)i * per;
        const unsigned count = 4 + (unsigned)((uint64_t)i * 7919 % (most - 3));
        size_t at = 0;
        for (unsigned w = 0; w < count; w++) {
            state = state * 6364136223846793005u + 1442695040888963407u;
            const char *word = words[(state >> 33) % (sizeof words /
                                                      sizeof *words)];
            at += (size_t)snprintf(p + at, per - at, "%s%s", w ? " " : "",
                                   word);
        }
        texts[i] = p;
    }
    *storage = buf;
    return texts;
}

static clenc_status open_device(const pool_bench *b, contender *c)
{
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = c->spec;
    clenc_status st = clenc_context_create(&opt, &c->ctx);
    if (st == CLENC_OK)
        st = clenc_model_load_as(c->ctx, b->model_path, b->precision,
                                 &c->model);
    if (st == CLENC_OK)
        st = clenc_session_create(c->model, b->max_batch, b->max_seq,
                                  &c->session);
    return st;
}

/* Tokens of the texts on the model's tokenizer: min, mean, max. */
static void token_range(const clenc_model *model, const char **texts,
                        unsigned n, unsigned max_seq, size_t range[3])
{
    range[0] = SIZE_MAX;
    range[1] = range[2] = 0;
    size_t sum = 0;
    int32_t *ids = malloc(max_seq * sizeof *ids);
    for (unsigned i = 0; ids && i < n; i++) {
        size_t k = 0;
        if (clenc_tokenize(model, texts[i], NULL, max_seq, ids, NULL, &k) !=
            CLENC_OK)
            continue;
        sum += k;
        range[0] = k < range[0] ? k : range[0];
        range[2] = k > range[2] ? k : range[2];
    }
    free(ids);
    range[1] = n ? sum / n : 0;
    if (range[0] == SIZE_MAX)
        range[0] = 0;
}

static double texts_per_s(const pool_bench *b, const contender *c)
{
    return c->median_ms > 0 ? b->texts / (c->median_ms / 1e3) : 0;
}

static void print_results(const pool_bench *b, const clenc_model_info *mi,
                          const contender *c, unsigned singles,
                          unsigned members, const size_t range[3])
{
    double fastest = 0;
    for (unsigned i = 0; i < singles; i++)
        if (texts_per_s(b, &c[i]) > fastest)
            fastest = texts_per_s(b, &c[i]);
    const double pool_rate = texts_per_s(b, &c[singles]);
    const double ratio = fastest > 0 ? pool_rate / fastest : 0;
    if (b->json) {
        printf("{\"model\": ");
        cli_json_string(stdout, mi->name);
        printf(", \"precision\": \"%s\", \"texts\": %u, \"tokens\": "
               "{\"min\": %zu, \"mean\": %zu, \"max\": %zu}, \"max_batch\": "
               "%u, \"max_seq\": %u, \"runs\": %u, \"devices\": [",
               clenc_precision_name(mi->precision), b->texts, range[0],
               range[1], range[2], b->max_batch, b->max_seq, b->runs);
        for (unsigned i = 0; i < singles; i++) {
            printf("%s{\"spec\": \"%s\", \"name\": ", i ? ", " : "",
                   c[i].spec);
            cli_json_string(stdout, c[i].device.name);
            printf(", \"median_ms\": %.3f, \"texts_per_s\": %.3f}",
                   c[i].median_ms, texts_per_s(b, &c[i]));
        }
        printf("], \"pool\": {\"spec\": ");
        cli_json_string(stdout, b->spec);
        printf(", \"sessions\": %u, \"median_ms\": %.3f, \"texts_per_s\": "
               "%.3f}, \"ratio\": %.4f}\n",
               members, c[singles].median_ms, pool_rate, ratio);
        return;
    }
    printf("%s, %s: %u texts of %zu..%zu tokens (mean %zu), max_batch %u, "
           "medians of %u interleaved runs\n\n",
           mi->name, cli_precision_text(mi), b->texts, range[0], range[2],
           range[1], b->max_batch, b->runs);
    printf("%-48s %11s %9s\n", "", "median ms", "texts/s");
    for (unsigned i = 0; i < singles; i++) {
        char label[64];
        snprintf(label, sizeof label, "%s %s", c[i].spec, c[i].device.name);
        printf("%-48.48s %11.1f %9.1f\n", label, c[i].median_ms,
               texts_per_s(b, &c[i]));
    }
    char label[96];
    snprintf(label, sizeof label, "pool %s (%u session%s)", b->spec, members,
             members == 1 ? "" : "s");
    printf("%-48.48s %11.1f %9.1f\n\npool / fastest device alone: %.2fx\n",
           label, c[singles].median_ms, pool_rate, ratio);
}

int bench_pool(const pool_bench *b)
{
    clenc_pool *pool = NULL;
    contender *c = NULL;
    char *storage = NULL;
    const char **texts = NULL;
    float *out = NULL;
    unsigned singles = 0, members = 0;
    int rc = 0;
    fprintf(stderr, "%s: loading the model on each device...", PROG);
    clenc_status st = clenc_pool_create(b->spec, b->model_path, b->precision,
                                        b->max_batch, b->max_seq, &pool);
    clenc_model_info mi;
    if (st == CLENC_OK)
        st = clenc_model_info_get(clenc_pool_model(pool, 0), &mi);
    if (st != CLENC_OK)
        goto out;
    if (!mi.has_tokenizer) {
        fprintf(stderr, "\n%s: model '%s' has no tokenizer: --pool embeds "
                        "texts\n",
                PROG, mi.name);
        rc = 1;
        goto out;
    }
    members = clenc_pool_device_count(pool);
    /* The pool's devices alone, each once ("0:0,0:0" is one device). */
    c = calloc(members + 1, sizeof *c);
    texts = make_texts(b->texts, b->max_seq, &storage);
    out = malloc((size_t)(b->texts ? b->texts : 1) * mi.hidden * sizeof *out);
    if (!c || !texts || !out)
        goto out_of_memory;
    for (unsigned i = 0; i < members && st == CLENC_OK; i++) {
        clenc_device_info d;
        if ((st = clenc_pool_device(pool, i, &d)) != CLENC_OK)
            break;
        char spec[32];
        snprintf(spec, sizeof spec, "%u:%u", d.platform_index,
                 d.device_index);
        unsigned seen = 0;
        while (seen < singles && strcmp(c[seen].spec, spec))
            seen++;
        if (seen < singles)
            continue;
        memcpy(c[singles].spec, spec, sizeof spec);
        c[singles].device = d;
        st = open_device(b, &c[singles++]);
    }
    if (st != CLENC_OK)
        goto out;
    snprintf(c[singles].spec, sizeof c[singles].spec, "pool");
    for (unsigned i = 0; i <= singles; i++)
        if (!(c[i].times_ms = calloc(b->runs, sizeof *c[i].times_ms)))
            goto out_of_memory;
    size_t range[3];
    token_range(clenc_pool_model(pool, 0), texts, b->texts, b->max_seq,
                range);
    /* Interleaved, the order rotating each round: a slow spell of the
     * machine falls on every contender alike. */
    const unsigned rounds = b->warmup + b->runs;
    for (unsigned r = 0; r < rounds && st == CLENC_OK; r++)
        for (unsigned j = 0; j <= singles && st == CLENC_OK; j++) {
            contender *x = &c[(j + r) % (singles + 1)];
            fprintf(stderr, "\r%s: run %u/%u%s: %-24s", PROG, r + 1, rounds,
                    r < b->warmup ? " (warm-up)" : "", x->spec);
            const double t0 = cli_now_ms();
            st = x->session ? clenc_embed_text(x->session, texts, b->texts,
                                               out)
                            : clenc_pool_embed_text(pool, texts, b->texts,
                                                    out);
            if (r >= b->warmup)
                x->times_ms[r - b->warmup] = cli_now_ms() - t0;
        }
    fprintf(stderr, "\n");
    if (st != CLENC_OK)
        goto out;
    for (unsigned i = 0; i <= singles; i++)
        c[i].median_ms = cli_median(c[i].times_ms, b->runs);
    print_results(b, &mi, c, singles, members, range);
    goto out;
out_of_memory:
    fprintf(stderr, "\n%s: out of host memory\n", PROG);
    rc = 1;
out:
    if (st != CLENC_OK) {
        fprintf(stderr, "\n");
        rc = cli_fail(PROG, st);
    }
    for (unsigned i = 0; c && i <= singles; i++) {
        free(c[i].times_ms);
        clenc_session_destroy(c[i].session);
        clenc_model_destroy(c[i].model);
        clenc_context_destroy(c[i].ctx);
    }
    free(c);
    free(out);
    free((void *)texts);
    free(storage);
    clenc_pool_destroy(pool);
    return rc;
}
