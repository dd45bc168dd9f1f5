/* clenc-info — lists OpenCL platforms and devices (the default marked) and checks that a device builds clenc's kernels. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define PROG "clenc-info"
#define MAX_ENTRIES 256

static const char usage[] =
    "usage: " PROG " [--json] [--device SPEC] [--build [--defines OPTS]]\n"
    "\n"
    "Lists every OpenCL platform and device; '*' marks the device clenc\n"
    "chooses by default (or the one --device / CLENC_DEVICE selects), and\n"
    "the program cache folder that device's context uses, or why it uses\n"
    "none (off: REASON; a folder others can write is never used).\n"
    "\n"
    "  --json          one JSON object on stdout instead of the table\n"
    "  --device SPEC   gpu | accelerator | cpu | P:D | part of a name\n"
    "  --build         build every clenc kernel on the chosen device (from\n"
    "                  the program cache when it can) and report the time\n"
    "  --defines OPTS  extra -D options for --build\n"
    "  --help, --version\n"
    "\n"
    "Environment: CLENC_DEVICE, CLENC_KERNEL_DIR, CLENC_CACHE_DIR.\n";

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void human_bytes(uint64_t b, char *out, size_t cap)
{
    const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    double v = (double)b;
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    snprintf(out, cap, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
}

static int is_chosen(const clenc_device_info *d, const clenc_device_info *c)
{
    return c && d->platform_index == c->platform_index &&
           d->device_index == c->device_index;
}

/* The chosen device's context: where its program cache is, or why there
 * is none. */
typedef struct cache_line {
    int known; /* 0: no context could be made on the device */
    const char *dir, *off_reason;
} cache_line;

static void print_table(const clenc_platform_info *pl, size_t np,
                        const clenc_device_info *dev, size_t nd,
                        const clenc_device_info *chosen, const cache_line *cl)
{
    printf("  %-5s %-11s %-40s %4s %8s %10s %9s %10s %4s %4s %8s  %s\n", "P:D",
           "type", "name", "CUs", "clock", "global", "local", "max alloc",
           "fp16", "fp64", "compiler", "OpenCL C / platform / driver");
    for (size_t i = 0; i < nd; i++) {
        const clenc_device_info *d = &dev[i];
        char g[32], l[32], a[32], pd[16];
        human_bytes(d->global_mem_bytes, g, sizeof g);
        human_bytes(d->local_mem_bytes, l, sizeof l);
        human_bytes(d->max_alloc_bytes, a, sizeof a);
        snprintf(pd, sizeof pd, "%u:%u", d->platform_index, d->device_index);
        printf("%c %-5s %-11s %-40.40s %4u %5uMHz %10s %9s %10s %4s %4s %8s  "
               "%s / %s / %s\n",
               is_chosen(d, chosen) ? '*' : ' ', pd, clenc_device_type_name(d->type),
               d->name, d->compute_units, d->clock_mhz, g, l, a,
               d->fp16 ? "yes" : "no", d->fp64 ? "yes" : "no",
               d->compiler_available ? "yes" : "no", d->opencl_c_version,
               d->platform, d->driver_version);
    }
    for (size_t i = 0; i < np; i++)
        if (pl[i].device_count == 0)
            printf("  platform %u '%s' (%s) has no devices: skipped\n",
                   pl[i].index, pl[i].name, pl[i].version);
    if (!chosen)
        printf("  (no device matches the spec: %s)\n", clenc_last_error());
    else if (!cl->known)
        printf("program cache: unknown (no context on the device: %s)\n",
               clenc_last_error());
    else if (cl->dir)
        printf("program cache: %s\n", cl->dir);
    else
        printf("program cache: off: %s\n", cl->off_reason);
}

/* {"dir": "...", "off_reason": null} when in use, {"dir": null,
 * "off_reason": "..."} when off, null when no context could be made. */
static void print_json_cache(const cache_line *cl)
{
    if (!cl->known) {
        printf("null");
        return;
    }
    printf("{\"dir\": ");
    if (cl->dir)
        cli_json_string(stdout, cl->dir);
    else
        printf("null");
    printf(", \"off_reason\": ");
    if (cl->off_reason)
        cli_json_string(stdout, cl->off_reason);
    else
        printf("null");
    printf("}");
}

static void print_json(const clenc_platform_info *pl, size_t np,
                       const clenc_device_info *dev, size_t nd,
                       const clenc_device_info *chosen, const cache_line *cl)
{
    printf("{\"clenc_version\": ");
    cli_json_string(stdout, clenc_version());
    printf(", \"platforms\": [");
    for (size_t i = 0; i < np; i++) {
        printf("%s{\"index\": %u, \"name\": ", i ? ", " : "", pl[i].index);
        cli_json_string(stdout, pl[i].name);
        printf(", \"vendor\": ");
        cli_json_string(stdout, pl[i].vendor);
        printf(", \"version\": ");
        cli_json_string(stdout, pl[i].version);
        printf(", \"devices\": %u}", pl[i].device_count);
    }
    printf("], \"devices\": [");
    for (size_t i = 0; i < nd; i++) {
        const clenc_device_info *d = &dev[i];
        printf("%s{\"platform_index\": %u, \"device_index\": %u, \"name\": ",
               i ? ", " : "", d->platform_index, d->device_index);
        cli_json_string(stdout, d->name);
        printf(", \"vendor\": ");
        cli_json_string(stdout, d->vendor);
        printf(", \"platform\": ");
        cli_json_string(stdout, d->platform);
        printf(", \"driver_version\": ");
        cli_json_string(stdout, d->driver_version);
        printf(", \"opencl_c_version\": ");
        cli_json_string(stdout, d->opencl_c_version);
        printf(", \"type\": \"%s\", \"compute_units\": %u, \"clock_mhz\": %u, "
               "\"global_mem_bytes\": %llu, \"local_mem_bytes\": %llu, "
               "\"max_alloc_bytes\": %llu, \"fp16\": %s, \"fp64\": %s, "
               "\"compiler_available\": %s, \"default\": %s}",
               clenc_device_type_name(d->type), d->compute_units, d->clock_mhz,
               (unsigned long long)d->global_mem_bytes,
               (unsigned long long)d->local_mem_bytes,
               (unsigned long long)d->max_alloc_bytes,
               d->fp16 ? "true" : "false", d->fp64 ? "true" : "false",
               d->compiler_available ? "true" : "false",
               is_chosen(d, chosen) ? "true" : "false");
    }
    printf("]");
    if (chosen)
        printf(", \"default\": \"%u:%u\"", chosen->platform_index,
               chosen->device_index);
    else
        printf(", \"default\": null");
    printf(", \"cache\": ");
    print_json_cache(cl);
    printf("}\n");
}

static int build(const char *spec, const char *defines, int json)
{
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = spec;
    clenc_context *ctx;
    double t0 = now_ms();
    clenc_status st = clenc_context_create(&opt, &ctx);
    if (st == CLENC_OK)
        st = cli_warn_cache(PROG, ctx);
    if (st != CLENC_OK) {
        clenc_context_destroy(ctx);
        return cli_fail(PROG, st);
    }
    double t1 = now_ms();
    unsigned fresh = 0;
    st = clenc_context_build_kernels(ctx, defines, &fresh);
    double t2 = now_ms();
    clenc_device_info d;
    clenc_context_device(ctx, &d);
    clenc_context_destroy(ctx);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    if (json) {
        printf("{\"device\": ");
        cli_json_string(stdout, d.name);
        printf(", \"context_ms\": %.3f, \"build_ms\": %.3f, "
               "\"compiled_from_source\": %u}\n",
               t1 - t0, t2 - t1, fresh);
    } else {
        printf("built clenc's kernels on '%s' in %.1f ms (%u compiled from "
               "source, the rest from the cache); context %.1f ms\n",
               d.name, t2 - t1, fresh, t1 - t0);
    }
    return 0;
}

int main(int argc, char **argv)
{
    int json = 0, do_build = 0, missing = 0;
    const char *spec = NULL, *defines = NULL;
    for (int i = 1; i < argc; i++) {
        cli_help_or_version(argv[i], PROG, usage);
        if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--build")) {
            do_build = 1;
        } else if (cli_option(argc, argv, &i, "--device", &spec, &missing) ||
                   cli_option(argc, argv, &i, "--defines", &defines,
                              &missing)) {
            if (missing)
                return cli_usage_error(PROG, "%s needs a value", argv[i]);
        } else {
            return cli_usage_error(PROG, "unknown argument '%s'", argv[i]);
        }
    }
    if (do_build)
        return build(spec, defines, json);

    static clenc_platform_info pl[MAX_ENTRIES];
    static clenc_device_info dev[MAX_ENTRIES];
    size_t np = 0, nd = 0;
    clenc_status st = clenc_platform_list(pl, MAX_ENTRIES, &np);
    if (st != CLENC_OK)
        return cli_fail(PROG, st);
    st = clenc_device_list(dev, MAX_ENTRIES, &nd);
    if (st != CLENC_OK && st != CLENC_ERR_NO_DEVICE)
        return cli_fail(PROG, st);
    np = np < MAX_ENTRIES ? np : MAX_ENTRIES;
    nd = nd < MAX_ENTRIES ? nd : MAX_ENTRIES;
    clenc_device_info chosen;
    int have = nd > 0 && clenc_device_find(spec, &chosen) == CLENC_OK;
    /* The cache is decided when a context is made (its folder checked). */
    clenc_context *ctx = NULL;
    cache_line cl = {0, NULL, NULL};
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = spec;
    if (have && clenc_context_create(&opt, &ctx) == CLENC_OK)
        cl.known = clenc_context_cache(ctx, &cl.dir, &cl.off_reason) ==
                   CLENC_OK;
    if (json)
        print_json(pl, np, dev, nd, have ? &chosen : NULL, &cl);
    else
        print_table(pl, np, dev, nd, have ? &chosen : NULL, &cl);
    clenc_context_destroy(ctx);
    if (nd == 0) {
        fprintf(stderr, "%s: no OpenCL device on any platform\n", PROG);
        return 1;
    }
    return have ? 0 : 1;
}
