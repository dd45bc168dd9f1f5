/* blas_peers.c — clenc-bench-gemm's peers: OpenBLAS on the newest kernels the CPU runs (re-run with OPENBLAS_CORETYPE when it fell back), and oneDNN. */
#include "blas_peers.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

/* Set in the re-run child to the core OpenBLAS chose in its parent: it
 * marks the run as forced and keeps it from running itself again. */
#define GUARD "CLENC_BENCH_GEMM_DETECTED_CORE"

static void cpu_model(char *out, size_t size)
{
    snprintf(out, size, "unknown CPU");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) != 0 || !colon)
            continue;
        colon += strspn(colon + 1, " \t") + 1;
        snprintf(out, size, "%.*s", (int)strcspn(colon, "\n"), colon);
        break;
    }
    fclose(f);
}

/* The newest OpenBLAS core whose instructions this CPU and OS run (cpuid,
 * and the OS's saved vector state): NULL where there is nothing better
 * to ask for than what OpenBLAS picks (no AVX2, not x86). */
static const char *newest_core(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return "Haswell";
#endif
    return NULL;
}

/* Whether `core` runs the kernels of `newest`: OpenBLAS 0.3.21 gives Zen
 * Haswell's kernels (with Zen's blocking), and Cooperlake and
 * SapphireRapids SkylakeX's and more. Any other name is a fallback
 * (Prescott, Nehalem, Sandybridge...) or a pinned older core. */
static int runs_kernels_of(const char *core, const char *newest)
{
    static const char *const avx512[] = {"SkylakeX", "Cooperlake",
                                         "SapphireRapids", NULL};
    static const char *const avx2[] = {"Haswell", "Zen", "SkylakeX",
                                       "Cooperlake", "SapphireRapids", NULL};
    const char *const *ok = strcmp(newest, "SkylakeX") == 0 ? avx512 : avx2;
    for (; *ok; ok++)
        if (strcasecmp(core, *ok) == 0)
            return 1;
    return 0;
}

/* In the parent: runs itself again with OPENBLAS_CORETYPE=newest, and
 * returns only when it cannot. */
static void rerun_forced(char **argv, const char *prog, const char *core,
                         const char *newest)
{
    const char *pinned = getenv("OPENBLAS_CORETYPE");
    fprintf(stderr,
            "%s: OpenBLAS detected core %s%s%s%s, older than this CPU runs: "
            "forcing %s (running again with OPENBLAS_CORETYPE=%s)\n",
            prog, core, pinned ? " (OPENBLAS_CORETYPE=" : "",
            pinned ? pinned : "", pinned ? " in the environment)" : "",
            newest, newest);
    if (setenv(GUARD, core, 1) == 0 &&
        setenv("OPENBLAS_CORETYPE", newest, 1) == 0) {
        fflush(NULL);
        execv("/proc/self/exe", argv);
    }
    fprintf(stderr, "%s: warning: cannot run again (%s): OpenBLAS stays on "
                    "%s\n",
            prog, strerror(errno), core);
    unsetenv(GUARD);
}

void blas_peers_init(char **argv, const char *prog, unsigned threads,
                     blas_peers *p)
{
    memset(p, 0, sizeof *p);
    cpu_model(p->cpu, sizeof p->cpu);
    p->openblas = openblas_get_config();
    p->core = openblas_get_corename();
    const char *newest = newest_core(), *from = getenv(GUARD);
    snprintf(p->detected, sizeof p->detected, "%s", from ? from : p->core);
    if (!from && newest && !runs_kernels_of(p->core, newest)) {
        rerun_forced(argv, prog, p->core, newest);
    } else if (from) {
        p->forced = newest && strcasecmp(p->core, newest) == 0;
        fprintf(stderr, "%s: OpenBLAS detected core %s; forced %s: %s\n",
                prog, from, newest ? newest : "?",
                p->forced ? "now running it" : "not taken (no DYNAMIC_ARCH?)");
    } else {
        fprintf(stderr, "%s: OpenBLAS detected core %s (this CPU's newest: "
                        "%s)\n",
                prog, p->core, newest ? newest : "none known");
    }
    /* oneDNN runs on OpenMP (Debian's build links libgomp): the count
     * must be set before its first call creates the threads. */
    if (threads > 0) {
        openblas_set_num_threads((int)threads);
        omp_set_num_threads((int)threads);
    }
    const dnnl_version_t *v = dnnl_version();
    snprintf(p->onednn, sizeof p->onednn, "%d.%d.%d", v->major, v->minor,
             v->patch);
}

void peer_openblas(unsigned m, unsigned n, unsigned k, const float *a,
                   const float *w, float *c)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n,
                (int)k, 1.0f, a, (int)k, w, (int)k, 0.0f, c, (int)n);
}

int peer_onednn(unsigned m, unsigned n, unsigned k, const float *a,
                const float *w, float *c)
{
    return dnnl_sgemm('N', 'T', m, n, k, 1.0f, a, k, w, k, 0.0f, c, n) !=
           dnnl_success;
}

double peer_rel_diff(const float *got, const float *want, size_t n)
{
    double diff = 0, scale = 0;
    for (size_t i = 0; i < n; i++) {
        const double d = fabs((double)got[i] - want[i]);
        if (!(d <= diff)) /* NaN too */
            diff = isnan(d) ? INFINITY : d;
        scale = fabs(want[i]) > scale ? fabs(want[i]) : scale;
    }
    return scale > 0 ? diff / scale : diff > 0 ? INFINITY : 0;
}
