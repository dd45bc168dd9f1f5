/* cli.c — helpers the command-line tools share: option matching, error reports, JSON strings. */
#include <stdarg.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *prog, clenc_status status)
{
    fprintf(stderr, "%s: %s: %s\n", prog, clenc_status_name(status),
            *clenc_last_error() ? clenc_last_error()
                                : clenc_status_string(status));
    return 1;
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

const char *cli_device_type(clenc_device_type t)
{
    switch (t) {
    case CLENC_DEVICE_GPU:
        return "GPU";
    case CLENC_DEVICE_ACCELERATOR:
        return "accelerator";
    case CLENC_DEVICE_CPU:
        return "CPU";
    default:
        return "other";
    }
}
