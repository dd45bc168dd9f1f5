/* cli.c — helpers the command-line tools share: option matching, error reports, JSON strings. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

int cli_fail(const char *prog, clenc_status status)
{
    fprintf(stderr, "%s: %s: %s\n", prog, clenc_status_name(status),
            *clenc_last_error() ? clenc_last_error()
                                : clenc_status_string(status));
    return 1;
}

clenc_status cli_warn_cache(const char *prog, const clenc_context *ctx)
{
    const char *dir = NULL, *why = NULL;
    clenc_status st = clenc_context_cache(ctx, &dir, &why);
    /* Refusals name the folder (clenc.h); "turned off" and "no folder"
     * are the user's choice or setup, not a hazard. */
    if (st == CLENC_OK && !dir && why &&
        strncmp(why, "cache folder '", 14) == 0)
        fprintf(stderr, "%s: warning: program cache not used: %s\n", prog,
                why);
    return st;
}

int cli_usage_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", prog);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", prog);
    va_end(ap);
    return 2;
}

int cli_option(int argc, char **argv, int *i, const char *name,
               const char **value, int *missing)
{
    const char *arg = argv[*i];
    size_t n = strlen(name);
    if (strncmp(arg, name, n) != 0)
        return 0;
    if (arg[n] == '=') {
        *value = arg + n + 1;
        return 1;
    }
    if (arg[n] != '\0')
        return 0;
    if (*i + 1 >= argc) {
        *missing = 1;
        return 1;
    }
    *value = argv[++*i];
    return 1;
}

void cli_print_version(const char *prog)
{
    printf("%s (clenc %s)\n", prog, clenc_version());
}

void cli_help_or_version(const char *arg, const char *prog, const char *usage)
{
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        fputs(usage, stdout);
        exit(0);
    }
    if (!strcmp(arg, "--version")) {
        cli_print_version(prog);
        exit(0);
    }
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        default:
            if (*p < 0x20)
                fprintf(f, "\\u%04x", *p);
            else
                fputc(*p, f);
        }
    }
    fputc('"', f);
}

int cli_several_devices(const char *device)
{
    return device && (!strcmp(device, "all") || strchr(device, ','));
}

int cli_precision(const char *prog, const char *value, clenc_precision *out)
{
    static const clenc_precision all[] = {CLENC_PRECISION_FP32,
                                          CLENC_PRECISION_FP16,
                                          CLENC_PRECISION_INT8};
    *out = CLENC_PRECISION_DEFAULT;
    if (!value)
        return 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(value, clenc_precision_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    return cli_usage_error(prog, "--precision is fp32, fp16 or int8, not '%s'",
                           value);
}

const char *cli_precision_text(const clenc_model_info *mi)
{
    switch (mi->precision) {
    case CLENC_PRECISION_FP16:
        return mi->fp16_compute ? "fp16 (half weights and arithmetic)"
                                : "fp16 (half weights, float arithmetic)";
    case CLENC_PRECISION_INT8:
        return "int8 (weights per channel, activations per token, int32 "
               "sums)";
    default:
        return "fp32";
    }
}

size_t cli_parse_list(const char *s, unsigned *out, size_t cap, unsigned max)
{
    size_t n = 0;
    while (*s) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v < 1 || v > max || n == cap ||
            (*end != ',' && *end != '\0'))
            return 0;
        out[n++] = (unsigned)v;
        s = *end ? end + 1 : end;
    }
    return n;
}

void cli_random_ids(int32_t *ids, size_t count, unsigned vocab,
                    unsigned long long seed)
{
    /* Ids from the upper part of the vocabulary: ordinary word pieces, not
     * the special tokens at the start of BERT vocabularies. */
    const unsigned lo = vocab > 2000 ? 1000 : 0;
    for (size_t i = 0; i < count; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        ids[i] = (int32_t)(lo + (unsigned)((seed >> 33) % (vocab - lo)));
    }
}

double cli_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

double cli_percentile(double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, by_value);
    double at = p * (double)(n - 1);
    size_t i = (size_t)at;
    double frac = at - (double)i;
    return i + 1 < n ? v[i] * (1 - frac) + v[i + 1] * frac : v[i];
}

double cli_median(double *v, size_t n)
{
    return cli_percentile(v, n, 0.5);
}
