/* run_scores.c — clenc-run --rerank and --classify: scores pairs or texts with a model's classification head and prints them ranked, as text or JSON. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "cli.h"
#include "run_scores.h"

#define PROG "clenc-run"
/* Texts (or pairs) one scoring call takes; --classify reads --input this
 * many lines at a time, so its memory stays bounded. */
#define CHUNK 512
/* Characters of a passage or text that a line of the text table shows:
 * the index names the whole of it. */
#define SNIPPET 70

typedef struct ranked {
    float score;
    size_t index;
} ranked;

/* Best first, NaN last; equal scores keep their order. */
static int by_score(const void *a, const void *b)
{
    const ranked *x = a, *y = b;
    const int x_nan = isnan(x->score), y_nan = isnan(y->score);
    if (x_nan != y_nan)
        return x_nan - y_nan;
    if (!x_nan && x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* scores[i * stride] for i < n, best first. */
static void rank(const float *scores, size_t stride, size_t n, ranked *out)
{
    for (size_t i = 0; i < n; i++) {
        out[i].score = scores[i * stride];
        out[i].index = i;
    }
    qsort(out, n, sizeof *out, by_score);
}

/* Scores round-trip as floats; JSON has no NaN or infinity. */
static void json_score(float v)
{
    if (isfinite(v))
        printf("%.9g", (double)v);
    else
        fputs("null", stdout);
}

/* Up to max characters of s on one line: control characters as spaces, a
 * cut marked "...". s is UTF-8 (the tokenizer has accepted it). */
static void print_snippet(const char *s, size_t max)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p & 0xc0) != 0x80 && chars++ == max) {
            fputs("...", stdout);
            return;
        }
        putchar(*p < 0x20 || *p == 0x7f ? ' ' : *p);
    }
}

static int out_of_memory(void)
{
    fprintf(stderr, "%s: out of host memory\n", PROG);
    return 1;
}

static const char *head_name(clenc_head_kind head)
{
    switch (head) {
    case CLENC_HEAD_BERT:
        return "BERT";
    case CLENC_HEAD_ROBERTA:
        return "RoBERTa";
    case CLENC_HEAD_DISTILBERT:
        return "DistilBERT";
    default:
        return "no";
    }
}

static const char *scores_text(const scores_run *s)
{
    if (s->raw)
        return "raw logits";
    switch (s->info->score_activation) {
    case CLENC_SCORE_SIGMOID:
        return "sigmoid scores";
    case CLENC_SCORE_SOFTMAX:
        return "softmax scores";
    default:
        return "logits (the model applies no activation)";
    }
}

static void print_title(const scores_run *s)
{
    const clenc_model_info *mi = s->info;
    printf("%s on %s: %s classification head, %u label%s, %s, %s\n", mi->name,
           s->device_name, head_name(mi->head), mi->num_labels,
           mi->num_labels == 1 ? "" : "s", scores_text(s),
           cli_precision_text(mi));
}

int scores_check_model(const clenc_model_info *info, int rerank)
{
    const char *mode = rerank ? "--rerank" : "--classify";
    if (info->head == CLENC_HEAD_NONE || info->num_labels == 0)
        return cli_usage_error(PROG, "%s: model '%s' has no classification "
                                     "head (num_labels 0); it needs a "
                                     "*ForSequenceClassification model",
                               mode, info->name);
    if (rerank && info->num_labels != 1)
        return cli_usage_error(PROG, "--rerank needs one score a pair; model "
                                     "'%s' has num_labels %u (try "
                                     "--classify)",
                               info->name, info->num_labels);
    return 0;
}

/* Lines of --input, each its own allocation. */
typedef struct lines {
    char **text;
    size_t count, capacity;
} lines;

static void free_lines(lines *l)
{
    for (size_t i = 0; i < l->count; i++)
        free(l->text[i]);
    l->count = 0;
}

/* Replaces l's lines by the next (up to max) of f, without their line ends.
 * The scoring calls take C strings, so a NUL byte is dropped here, as the
 * tokenizers drop U+0000 where embedding takes lengths. Sets *eof at the
 * end; 0 on success, 1 out of memory (reported). */
static int read_lines(FILE *f, lines *l, size_t max, int *eof)
{
    free_lines(l);
    while (l->count < max) {
        if (l->count == l->capacity) {
            size_t cap = l->capacity ? 2 * l->capacity : 64;
            char **grown = realloc(l->text, cap * sizeof *grown);
            if (!grown)
                return out_of_memory();
            l->text = grown;
            l->capacity = cap;
        }
        char *line = NULL;
        size_t cap = 0;
        ssize_t len = getline(&line, &cap, f);
        if (len < 0) {
            free(line);
            *eof = 1;
            break;
        }
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            len--;
        size_t kept = 0;
        for (ssize_t i = 0; i < len; i++)
            if (line[i])
                line[kept++] = line[i];
        line[kept] = '\0';
        l->text[l->count++] = line;
    }
    return 0;
}

static FILE *open_input(const char *path)
{
    FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
    if (!f)
        fprintf(stderr, "%s: cannot open '%s'\n", PROG, path);
    return f;
}

/* 0, or 1 when reading f failed (reported); closes f. */
static int close_input(FILE *f, const char *path)
{
    int rc = 0;
    if (ferror(f)) {
        fprintf(stderr, "%s: reading '%s' failed\n", PROG, path);
        rc = 1;
    }
    if (f != stdin)
        fclose(f);
    return rc;
}

/* The head's scores on the one device, or spread over the pool's. */
static clenc_status score_pairs(const scores_run *s, const char *const *queries,
                                const char *const *passages, size_t n,
                                unsigned flags, float *scores)
{
    return s->pool ? clenc_pool_score_pairs(s->pool, queries, passages, n,
                                            flags, scores)
                   : clenc_score_pairs(s->session, queries, passages, n,
                                       flags, scores);
}

static clenc_status classify(const scores_run *s, const char *const *texts,
                             size_t n, unsigned flags, float *scores)
{
    return s->pool ? clenc_pool_classify(s->pool, texts, n, flags, scores)
                   : clenc_classify(s->session, texts, n, flags, scores);
}

static void report(const char *where, clenc_status st, const char *why)
{
    fprintf(stderr, "%s: %s: %s: %s\n", PROG, where, clenc_status_name(st),
            why && *why ? why : clenc_status_string(st));
}

/* A scoring call over texts[0..n) (with query, for pairs) failed with st.
 * The text at fault is the first the tokenizer refuses (not UTF-8): it is
 * named FILE:LINE, or `what` N (numbered from first_number), and *good is
 * the count of texts before it. Any other failure is reported as it came,
 * *good 0. Returns the exit status, 1. */
static int report_failure(const scores_run *s, clenc_status st,
                          const char *query, char *const *texts, size_t n,
                          size_t first_number, const char *what, size_t *good)
{
    char *why = strdup(clenc_last_error());
    const size_t cap = s->info->max_text_tokens ? s->info->max_text_tokens : 1;
    int32_t *ids = malloc(cap * sizeof *ids);
    size_t bad = n, k = 0;
    clenc_status refused = CLENC_OK;
    *good = 0;
    if (ids && query &&
        (refused = clenc_tokenize(s->model, query, NULL, cap, ids, NULL,
                                  &k)) != CLENC_OK) {
        report("the query", refused, clenc_last_error());
        goto out_free;
    }
    for (size_t i = 0; ids && i < n && bad == n; i++)
        if ((refused = clenc_tokenize(s->model, texts[i], NULL, cap, ids, NULL,
                                      &k)) != CLENC_OK)
            bad = i;
    if (bad < n) {
        char where[512];
        if (s->input)
            snprintf(where, sizeof where, "%s:%zu",
                     strcmp(s->input, "-") ? s->input : "(standard input)",
                     first_number + bad);
        else
            snprintf(where, sizeof where, "%s %zu", what, first_number + bad);
        report(where, refused, clenc_last_error());
        *good = bad;
    } else {
        report(s->info->name, st, why);
    }
out_free:
    free(ids);
    free(why);
    return 1;
}

static void print_rerank(const scores_run *s, const char *query,
                         char *const *passages, const ranked *order, size_t n)
{
    if (s->json) {
        printf("{\"model\": ");
        cli_json_string(stdout, s->info->name);
        printf(", \"query\": ");
        cli_json_string(stdout, query);
        printf(", \"results\": [");
        for (size_t r = 0; r < n; r++) {
            printf("%s{\"index\": %zu, \"score\": ", r ? ", " : "",
                   order[r].index);
            json_score(order[r].score);
            putchar('}');
        }
        printf("]}\n");
        return;
    }
    print_title(s);
    printf("query: ");
    print_snippet(query, SIZE_MAX);
    printf("\n\n%4s  %9s  %5s  %s\n", "rank", "score", "#", "passage");
    for (size_t r = 0; r < n; r++) {
        printf("%4zu  %9.4f  %5zu  ", r + 1, (double)order[r].score,
               order[r].index + 1);
        print_snippet(passages[order[r].index], SNIPPET);
        putchar('\n');
    }
}

int scores_rerank(const scores_run *s, const char *query, char **passages,
                  size_t n)
{
    lines input = {0};
    if (s->input) {
        FILE *f = open_input(s->input);
        int eof = 0;
        if (!f)
            return 1;
        int rc = read_lines(f, &input, SIZE_MAX, &eof);
        rc |= close_input(f, s->input);
        if (rc) {
            free_lines(&input);
            free(input.text);
            return 1;
        }
        passages = input.text;
        n = input.count;
    }
    const char **queries = malloc(CHUNK * sizeof *queries);
    float *scores = malloc((n ? n : 1) * sizeof *scores);
    ranked *order = malloc((n ? n : 1) * sizeof *order);
    int rc = 0;
    if (!queries || !scores || !order) {
        rc = out_of_memory();
        goto out_free;
    }
    for (size_t i = 0; i < CHUNK; i++)
        queries[i] = query;
    const unsigned flags = s->raw ? CLENC_SCORES_RAW : 0;
    for (size_t g = 0; g < n; g += CHUNK) {
        const size_t m = n - g < CHUNK ? n - g : CHUNK;
        clenc_status st = score_pairs(s, queries,
                                      (const char *const *)passages + g, m,
                                      flags, scores + g);
        if (st != CLENC_OK) {
            size_t good;
            rc = report_failure(s, st, query, passages + g, m, g + 1,
                                "passage", &good);
            goto out_free;
        }
    }
    rank(scores, 1, n, order);
    print_rerank(s, query, passages, order, n);
out_free:
    free(order);
    free(scores);
    free(queries);
    free_lines(&input);
    free(input.text);
    return rc;
}

/* Texts [0..n) of a group, the first numbered `first` (from 0), each with
 * its labels' scores at scores[i * labels]. */
static void print_classified(const scores_run *s, char *const *texts,
                             const float *scores, size_t n, size_t first,
                             ranked *order, int width)
{
    const unsigned labels = s->info->num_labels;
    char fallback[32];
    for (size_t i = 0; i < n; i++) {
        rank(scores + i * labels, 1, labels, order);
        if (s->json)
            printf("%s{\"text_index\": %zu, \"labels\": [",
                   first + i ? ", " : "", first + i);
        else
            printf("%5zu ", first + i + 1);
        for (unsigned l = 0; l < labels; l++) {
            const unsigned at = (unsigned)order[l].index;
            const char *name = clenc_model_label(s->model, at);
            if (!name) {
                snprintf(fallback, sizeof fallback, "LABEL_%u", at);
                name = fallback;
            }
            if (s->json) {
                printf("%s{\"label\": ", l ? ", " : "");
                cli_json_string(stdout, name);
                printf(", \"score\": ");
                json_score(order[l].score);
                putchar('}');
            } else {
                printf(" %-*s %7.4f ", width, name, (double)order[l].score);
            }
        }
        if (s->json) {
            printf("]}");
        } else {
            putchar(' ');
            print_snippet(texts[i], SNIPPET);
            putchar('\n');
        }
    }
    fflush(stdout);
}

int scores_classify(const scores_run *s, char **texts, size_t n)
{
    const unsigned labels = s->info->num_labels;
    float *scores = malloc((size_t)CHUNK * labels * sizeof *scores);
    ranked *order = malloc(labels * sizeof *order);
    if (!scores || !order) {
        free(scores);
        free(order);
        return out_of_memory();
    }
    /* Label names padded to the longest, so that columns line up. */
    int width = 0;
    for (unsigned l = 0; l < labels; l++) {
        const char *name = clenc_model_label(s->model, l);
        const int len = name ? (int)strlen(name) : 0;
        width = len > width && len < 64 ? len : width;
    }
    FILE *f = NULL;
    if (s->input && !(f = open_input(s->input))) {
        free(scores);
        free(order);
        return 1;
    }
    if (s->json) {
        printf("{\"model\": ");
        cli_json_string(stdout, s->info->name);
        printf(", \"results\": [");
    } else {
        print_title(s);
        printf("\n%5s  %-*s  %s\n", "#",
               (int)(labels * (width + 10u)) - 2, "labels, best first",
               "text");
    }
    lines input = {0};
    const unsigned flags = s->raw ? CLENC_SCORES_RAW : 0;
    size_t done = 0;
    int rc = 0, eof = 0;
    while (rc == 0) {
        char **group;
        size_t m;
        if (f) {
            if (eof || (rc = read_lines(f, &input, CHUNK, &eof)) != 0)
                break;
            group = input.text;
            m = input.count;
        } else {
            group = texts + done;
            m = n - done < CHUNK ? n - done : CHUNK;
        }
        if (m == 0)
            break;
        size_t good = m;
        clenc_status st =
            classify(s, (const char *const *)group, m, flags, scores);
        if (st != CLENC_OK) {
            /* The texts before a bad one are still written, as embedding
             * writes the lines before a bad line. */
            rc = report_failure(s, st, NULL, group, m, done + 1, "input",
                                &good);
            if (good && classify(s, (const char *const *)group, good, flags,
                                 scores) != CLENC_OK)
                good = 0;
        }
        print_classified(s, group, scores, good, done, order, width);
        done += m;
    }
    if (f)
        rc |= close_input(f, s->input);
    if (s->json)
        printf("]}\n");
    free_lines(&input);
    free(input.text);
    free(scores);
    free(order);
    return rc;
}
