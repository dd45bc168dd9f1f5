/* run_mpi.c — clenc-run under an MPI launcher: initialisation from the launcher's environment, a device per local rank, collective steps, MPI-IO; without CLENC_RUN_MPI, one rank. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clenc.h"
#include "run_mpi.h"

#ifdef CLENC_RUN_MPI
#include <mpi.h>
#endif

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

#ifdef CLENC_RUN_MPI

static int active, rank, size;
/* Set when a collective call has told every rank that the run stops: a
 * failed rank then finalizes with the others instead of aborting them. */
static int stopped_together;
static char label[32];
static char device_spec[32];
static MPI_File file = MPI_FILE_NULL;

int run_mpi_built(void)
{
    return 1;
}

static void mpi_why(int err, char *why, size_t cap)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", err);
    snprintf(why, cap, "%s", text);
}

/* Device number `local` modulo the count of devices of the default
 * choice's type, as "P:D"; NULL (the default) when they cannot be
 * listed: context creation then says why. */
static const char *local_device(int local)
{
    clenc_device_info best, all[64];
    size_t n = 0;
    if (clenc_device_find(NULL, &best) != CLENC_OK ||
        clenc_device_list(all, sizeof all / sizeof all[0], &n) != CLENC_OK)
        return NULL;
    if (n > sizeof all / sizeof all[0])
        n = sizeof all / sizeof all[0];
    size_t same = 0;
    for (size_t i = 0; i < n; i++)
        same += all[i].type == best.type;
    size_t pick = (size_t)local % (same ? same : 1);
    for (size_t i = 0; i < n; i++)
        if (all[i].type == best.type && pick-- == 0) {
            snprintf(device_spec, sizeof device_spec, "%u:%u",
                     all[i].platform_index, all[i].device_index);
            return device_spec;
        }
    return NULL;
}

int run_mpi_start(const char *prog, int splittable, const char **device)
{
    if (!launched())
        return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
        fprintf(stderr, "%s: MPI_Init failed\n", prog);
        return 1;
    }
    active = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    snprintf(label, sizeof label, "rank %d: ", rank);
    if (size > 1 && !splittable) {
        if (rank == 0)
            fprintf(stderr, "%s: under MPI (%d ranks) clenc-run splits "
                            "--input FILE between the ranks and writes "
                            "--output FILE.npy; give both\n",
                    prog, size);
        stopped_together = 1;
        return 2;
    }
    const char *env = getenv("CLENC_DEVICE");
    if (!*device && !(env && *env)) {
        /* The ranks of one node share its memory: their order there is
         * the local rank (OMPI_COMM_WORLD_LOCAL_RANK under mpirun,
         * SLURM_LOCALID under srun), whatever the launcher. */
        MPI_Comm node;
        int local = 0;
        if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank,
                                MPI_INFO_NULL, &node) == MPI_SUCCESS) {
            MPI_Comm_rank(node, &local);
            MPI_Comm_free(&node);
        }
        *device = local_device(local);
    }
    return 0;
}

int run_mpi_active(void)
{
    return active;
}

int run_mpi_rank(void)
{
    return rank;
}

int run_mpi_size(void)
{
    return active ? size : 1;
}

const char *run_mpi_label(void)
{
    return label;
}

int run_mpi_agree(int rc)
{
    if (!active)
        return rc;
    int all = rc;
    MPI_Allreduce(&rc, &all, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (all != 0) {
        stopped_together = 1;
        if (rc == 0)
            all = 1; /* another rank's failure, which it has reported */
        else
            all = rc;
    }
    return all;
}

int run_mpi_step(int failed, uint64_t count, uint64_t *sum)
{
    if (!active) {
        if (sum)
            *sum = count;
        return failed ? 0 : -1;
    }
    unsigned long long mine = count, total = 0;
    MPI_Allreduce(&mine, &total, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
                  MPI_COMM_WORLD);
    if (sum)
        *sum = total;
    int me = failed ? rank : size, first = size;
    MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first < size)
        stopped_together = 1;
    return first < size ? first : -1;
}

uint64_t run_mpi_exscan(uint64_t count)
{
    if (!active)
        return 0;
    unsigned long long mine = count, below = 0;
    MPI_Exscan(&mine, &below, 1, MPI_UNSIGNED_LONG_LONG, MPI_SUM,
               MPI_COMM_WORLD);
    return rank == 0 ? 0 : below; /* MPI leaves rank 0's undefined */
}

uint64_t run_mpi_max(uint64_t value)
{
    if (!active)
        return value;
    unsigned long long mine = value, most = 0;
    MPI_Allreduce(&mine, &most, 1, MPI_UNSIGNED_LONG_LONG, MPI_MAX,
                  MPI_COMM_WORLD);
    return most;
}

void run_mpi_bcast_name(char *name, size_t cap)
{
    if (active)
        MPI_Bcast(name, (int)cap, MPI_CHAR, 0, MPI_COMM_WORLD);
}

int run_mpi_file_open(const char *path, char *why, size_t cap)
{
    int err = MPI_File_open(MPI_COMM_WORLD, path, MPI_MODE_WRONLY,
                            MPI_INFO_NULL, &file);
    if (err == MPI_SUCCESS)
        return 0;
    file = MPI_FILE_NULL;
    mpi_why(err, why, cap);
    return -1;
}

int run_mpi_file_write_at(uint64_t offset, const void *data, size_t bytes,
                          char *why, size_t cap)
{
    const char *p = data;
    while (bytes) {
        /* MPI counts in int. */
        const int part = bytes > (1u << 30) ? 1 << 30 : (int)bytes;
        MPI_Status status;
        int err = MPI_File_write_at(file, (MPI_Offset)offset, p, part,
                                    MPI_BYTE, &status);
        int written = 0;
        if (err == MPI_SUCCESS)
            MPI_Get_count(&status, MPI_BYTE, &written);
        if (err != MPI_SUCCESS || written != part) {
            if (err != MPI_SUCCESS)
                mpi_why(err, why, cap);
            else
                snprintf(why, cap, "%d of %d bytes written", written, part);
            return -1;
        }
        p += part;
        offset += (uint64_t)part;
        bytes -= (size_t)part;
    }
    return 0;
}

int run_mpi_file_close(char *why, size_t cap)
{
    int err = MPI_File_sync(file);
    int closed = MPI_File_close(&file);
    if (err == MPI_SUCCESS)
        err = closed;
    if (err == MPI_SUCCESS)
        return 0;
    mpi_why(err, why, cap);
    return -1;
}

int run_mpi_finish(int rc)
{
    if (!active)
        return rc;
    if (rc != 0 && !stopped_together) {
        /* The other ranks wait in a collective call for this one. */
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    MPI_Finalize();
    return rc;
}

#else /* one rank: nothing to share */

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

#endif
