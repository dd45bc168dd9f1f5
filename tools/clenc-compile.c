/* clenc-compile — builds every kernel a model needs, specialised for it, into a program container for offline use (FPGA flow). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define PROG "clenc-compile"

static const char usage[] =
    "usage: " PROG " --model DIR [--device SPEC] [--precision P] [--list]\n"
    "                     -o FILE\n"
    "\n"
    "Builds every kernel the model needs, specialised for it, on the chosen\n"
    "device and writes them into a program container (README.md, \"The\n"
    "program container\"). 'clenc-run --binary FILE' and options.binary load\n"
    "it with no compiler at run time, on the same device, driver and clenc\n"
    "version, for models of the same shape and precision.\n"
    "\n"
    "  --model DIR     model folder\n"
    "  --device SPEC   gpu | accelerator | cpu | P:D | part of a name\n"
    "  --precision P   fp32 (default) | fp16 | int8: the programs differ, so a\n"
    "                  container (an FPGA image) holds one precision\n"
    "  -o FILE         the container to write (atomically)\n"
    "  --list          also print each program's kernel file and exact build\n"
    "                  options: what a vendor's offline compiler must be given\n"
    "  --help, --version\n";

int main(int argc, char **argv)
{
    const char *model_path = NULL, *device = NULL, *out = NULL,
               *precision = NULL;
    int missing = 0, list = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        cli_help_or_version(a, PROG, usage);
        if (!strcmp(a, "--list")) {
            list = 1;
        } else if (cli_option(argc, argv, &i, "--model", &model_path,
                              &missing) ||
                   cli_option(argc, argv, &i, "--device", &device, &missing) ||
                   cli_option(argc, argv, &i, "-o", &out, &missing) ||
                   cli_option(argc, argv, &i, "--output", &out, &missing) ||
                   cli_option(argc, argv, &i, "--precision", &precision,
                              &missing)) {
            if (missing)
                return cli_usage_error(PROG, "%s needs a value", a);
        } else {
            return cli_usage_error(PROG, "unknown argument '%s'", a);
        }
    }
    if (!model_path || !out)
        return cli_usage_error(PROG, "--model DIR and -o FILE are required");
    clenc_options opt;
    clenc_options_init(&opt);
    opt.device = device;
    if (cli_precision(PROG, precision, &opt.precision))
        return 2;
    clenc_context *ctx = NULL;
    clenc_model *model = NULL;
    clenc_device_info di;
    clenc_model_info mi;
    clenc_status st;
    if ((st = clenc_context_create(&opt, &ctx)) != CLENC_OK ||
        (st = cli_warn_cache(PROG, ctx)) != CLENC_OK ||
        (st = clenc_context_device(ctx, &di)) != CLENC_OK ||
        (st = clenc_model_load(ctx, model_path, &model)) != CLENC_OK ||
        (st = clenc_model_info_get(model, &mi)) != CLENC_OK ||
        (st = clenc_context_save_programs(ctx, out)) != CLENC_OK) {
        int rc = cli_fail(PROG, st);
        clenc_model_destroy(model);
        clenc_context_destroy(ctx);
        return rc;
    }
    printf("wrote %s: the kernels of %s at %s for '%s' (driver %s, clenc "
           "%s)\n",
           out, mi.name, clenc_precision_name(mi.precision), di.name,
           di.driver_version, clenc_version());
    clenc_program_info programs[32];
    size_t n = 0;
    if (list && clenc_context_programs(ctx, programs, 32, &n) == CLENC_OK)
        for (size_t i = 0; i < n && i < 32; i++)
            printf("%s.cl: %s\n", programs[i].name, programs[i].options);
    if (mi.gemm == CLENC_GEMM_CLBLAST)
        fprintf(stderr, "%s: note: CLBlast compiles its own GEMM kernels at run "
                        "time; a device without a compiler needs "
                        "CLENC_GEMM=own\n",
                PROG);
    clenc_model_destroy(model);
    clenc_context_destroy(ctx);
    return 0;
}
