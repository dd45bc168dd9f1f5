/* cli.h — what the command-line tools share: option matching, error reports, JSON strings. */
#ifndef CLENC_CLI_H
#define CLENC_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "clenc.h"

/* Prints "PROG: CLENC_ERR_X: detail" on stderr; returns the exit code 1. */
int cli_fail(const char *prog, clenc_status status);
/* One line on stderr when the context's program cache was refused (a
 * folder others can write, say): every build then starts from source, and
 * the user should know why. Nothing when the user turned the cache off.
 * Returns the query's status (CLENC_OK for a context), so that it chains. */
clenc_status cli_warn_cache(const char *prog, const clenc_context *ctx);
/* Prints "PROG: message" and a hint to --help on stderr; returns 2. */
int cli_usage_error(const char *prog, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past it. Sets
 * *missing when the value is absent. */
int cli_option(int argc, char **argv, int *i, const char *name,
               const char **value, int *missing);
void cli_print_version(const char *prog);
/* --help (or -h) prints `usage` and exits 0; --version prints the version
 * and exits 0; any other argument returns. */
void cli_help_or_version(const char *arg, const char *prog, const char *usage);
/* A JSON string literal, escaped. */
void cli_json_string(FILE *f, const char *s);
/* --device all, or a comma-separated list of specs (0:0,1:0): the tool
 * runs on a pool of devices (clenc_pool_create) rather than one. */
int cli_several_devices(const char *device);
/* --precision's value (fp32, fp16, int8) into *out; a usage error (2)
 * naming the value otherwise. NULL value: DEFAULT. */
int cli_precision(const char *prog, const char *value, clenc_precision *out);
/* The model's arithmetic as the tools print it, e.g. "fp16 (half weights,
 * float arithmetic)". */
const char *cli_precision_text(const clenc_model_info *mi);
/* "1,8,32" -> values in 1..max; returns the count, 0 on a bad list. */
size_t cli_parse_list(const char *s, unsigned *out, size_t cap, unsigned max);
/* Random token ids in [lo, vocab), [batch][seq], from a fixed seed. */
void cli_random_ids(int32_t *ids, size_t count, unsigned vocab,
                    unsigned long long seed);
double cli_now_ms(void);
/* Median and 90th percentile of n values (sorted in place). */
double cli_median(double *v, size_t n);
double cli_percentile(double *v, size_t n, double p);

#endif
