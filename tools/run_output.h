/* run_output.h — clenc-run --output FILE.npy: --input's rows, in input order, in a NumPy file, from one process or from the ranks of an MPI job (run_mpi.h). */
#ifndef CLENC_RUN_OUTPUT_H
#define CLENC_RUN_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

/* The header's length, whatever the row count: data starts at 128, a
 * multiple of 64 as NumPy aligns it, and the shape can be rewritten in
 * place once the count is known. */
#define NPY_HEADER_BYTES 128

/* The .npy version 1.0 header of a [rows][dim] float32 array in this
 * host's byte order ('<f4' on little-endian hosts): magic, header length,
 * the dict, spaces, '\n'. */
void npy_header(char out[NPY_HEADER_BYTES], uint64_t rows, size_t dim);

/* Embeds texts[0..n) (lens[i] bytes each), naming a text that fails
 * first_number + its index; returns 0 with *rows holding n rows of `dim`
 * floats, or the exit status with the cause printed. */
typedef int (*output_embed_fn)(void *arg, char **texts, const size_t *lens,
                               size_t n, size_t first_number,
                               const float **rows);

typedef struct output_job {
    const char *prog;
    const char *input;  /* FILE, or '-': standard input (one process) */
    const char *output; /* FILE.npy */
    size_t dim;
    output_embed_fn embed;
    void *arg;
} output_job;

/* Streams the lines of job->input (this rank's share under MPI: the lines
 * that start in its byte range) through job->embed, a row a line, into a
 * file beside job->output that takes its name only when every line has its
 * row; on a failure the file is removed and job->output left as it was.
 * Lines are read as clenc-run's --input reads them. Collective under MPI.
 * Returns the exit status. */
int output_run(const output_job *job);

#endif
