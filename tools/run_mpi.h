/* run_mpi.h — clenc-run under an MPI launcher (mpirun, srun): ranks, a device per local rank, the collective steps and MPI-IO of --output; a lone rank 0 when not launched so or built without MPI. */
#ifndef CLENC_RUN_MPI_H
#define CLENC_RUN_MPI_H

#include <stddef.h>
#include <stdint.h>

/* Whether MPI is compiled in: make builds it so when Open MPI's
 * development files are installed. */
int run_mpi_built(void);
/* Initialises MPI when an MPI launcher started this process (its
 * environment has OMPI_COMM_WORLD_SIZE, PMIX_RANK or PMI_SIZE), else does
 * nothing. Several ranks embed --input FILE --output only: anything else is
 * a usage error (status 2, printed by rank 0), as is a launch with several
 * ranks of a build without MPI, whose every rank would do the whole job.
 * Where *device is NULL and CLENC_DEVICE is unset, *device becomes the
 * local rank's device: that number modulo the count of devices of the type
 * the default choice takes (GPUs where there are any). Returns 0 or the
 * exit status. */
int run_mpi_start(const char *prog, int splittable, const char **device);
/* Whether MPI was initialised; then every rank must reach the same
 * collective calls below, in the same order, and run_mpi_finish. */
int run_mpi_active(void);
int run_mpi_rank(void);
int run_mpi_size(void);
/* "rank R: " under MPI, else "": the prefix of a rank's messages. */
const char *run_mpi_label(void);
/* Every rank's exit status so far; returns the largest, so that all ranks
 * go on, or stop, together. Collective. */
int run_mpi_agree(int rc);
/* Collective: *sum (may be NULL) gets the sum of every rank's `count`;
 * returns the lowest rank whose `failed` is set, or -1. */
int run_mpi_step(int failed, uint64_t count, uint64_t *sum);
/* Collective: the sum of `count` over the ranks below this one. */
uint64_t run_mpi_exscan(uint64_t count);
/* Collective: the largest `value`. */
uint64_t run_mpi_max(uint64_t value);
/* Collective: rank 0's name[0..cap) to every rank. */
void run_mpi_bcast_name(char *name, size_t cap);
/* Collective: every rank opens the file that rank 0 created, to write. */
int run_mpi_file_open(const char *path, char *why, size_t cap);
/* `bytes` of data at `offset` of the open file; 0, or -1 with *why. */
int run_mpi_file_write_at(uint64_t offset, const void *data, size_t bytes,
                          char *why, size_t cap);
/* Collective: flushes and closes the file; 0, or -1 with *why. */
int run_mpi_file_close(char *why, size_t cap);
/* The end of main: finalizes MPI, or aborts the job when this rank failed
 * outside the agreed steps (the others would wait for it). Returns rc. */
int run_mpi_finish(int rc);

#endif
