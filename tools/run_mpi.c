/* run_mpi.c — clenc-run under an MPI launcher; one rank until MPI is built in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clenc.h"
#include "run_mpi.h"


/* What the launchers set in each rank's environment: Open MPI's mpirun,
 * PMIx (srun --mpi=pmix, prterun), PMI-1/2 (srun --mpi=pmi2, MPICH's
 * hydra). */
static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE",
                                            "PMIX_RANK", "PMI_SIZE"};

static int launched(void)
{
    for (size_t i = 0; i < sizeof launcher_vars / sizeof launcher_vars[0];
         i++)
        if (getenv(launcher_vars[i]))
            return 1;
    return 0;
}


/* The launch's rank count as the environment says, where it does. */
static long launched_size(void)
{
    const char *s = getenv("OMPI_COMM_WORLD_SIZE");
    if (!s)
        s = getenv("PMI_SIZE");
    if (!s)
        s = getenv("SLURM_NTASKS");
    return s ? strtol(s, NULL, 10) : 0;
}

int run_mpi_built(void)
{
    return 0;
}

int run_mpi_start(const char *prog, int splittable, const char **device)
{
    (void)splittable;
    (void)device;
    if (launched() && launched_size() > 1) {
        fprintf(stderr, "%s: started by an MPI launcher with %ld ranks, but "
                        "built without MPI: each rank would embed everything. "
                        "Install Open MPI's development files (libopenmpi-dev) "
                        "and rebuild\n",
                prog, launched_size());
        return 2;
    }
    return 0;
}

int run_mpi_active(void)
{
    return 0;
}

int run_mpi_rank(void)
{
    return 0;
}

int run_mpi_size(void)
{
    return 1;
}

const char *run_mpi_label(void)
{
    return "";
}

int run_mpi_agree(int rc)
{
    return rc;
}

int run_mpi_step(int failed, uint64_t count, uint64_t *sum)
{
    if (sum)
        *sum = count;
    return failed ? 0 : -1;
}

uint64_t run_mpi_exscan(uint64_t count)
{
    (void)count;
    return 0;
}

uint64_t run_mpi_max(uint64_t value)
{
    return value;
}

void run_mpi_bcast_name(char *name, size_t cap)
{
    (void)name;
    (void)cap;
}

int run_mpi_file_open(const char *path, char *why, size_t cap)
{
    (void)path;
    snprintf(why, cap, "built without MPI");
    return -1;
}

int run_mpi_file_write_at(uint64_t offset, const void *data, size_t bytes,
                          char *why, size_t cap)
{
    (void)offset;
    (void)data;
    (void)bytes;
    snprintf(why, cap, "built without MPI");
    return -1;
}

int run_mpi_file_close(char *why, size_t cap)
{
    snprintf(why, cap, "built without MPI");
    return -1;
}

int run_mpi_finish(int rc)
{
    return rc;
}
