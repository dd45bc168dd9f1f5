/* run_output.c — clenc-run --output FILE.npy: streams --input (a rank's byte range of it under MPI) through the embedder into a temporary file at each row's offset, then gives it its name. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "run_mpi.h"
#include "run_output.h"

/* Lines embedded, written and reported at a time. */
#define CHUNK 512
#define WHY 8192

void npy_header(char out[NPY_HEADER_BYTES], uint64_t rows, size_t dim)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    const char order = '>';
#else
    const char order = '<';
#endif
    memset(out, ' ', NPY_HEADER_BYTES);
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    out[8] = (char)((NPY_HEADER_BYTES - 10) & 0xff); /* little-endian */
    out[9] = (char)((NPY_HEADER_BYTES - 10) >> 8);
    char dict[NPY_HEADER_BYTES];
    int n = snprintf(dict, sizeof dict,
                     "{'descr': '%cf4', 'fortran_order': False, "
                     "'shape': (%llu, %zu), }",
                     order, (unsigned long long)rows, dim);
    /* At most 97 bytes with the header's 10, whatever the counts. */
    memcpy(out + 10, dict, (size_t)n);
    out[NPY_HEADER_BYTES - 1] = '\n';
}

/* The lines a process reads: those that start in [pos, end). */
typedef struct share {
    FILE *f;
    uint64_t pos, end;
    int eof;
} share;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Under MPI, rank r of n takes the bytes [S*r/n, S*(r+1)/n) of a file of S
 * bytes and the lines that start there: its first line starts after the
 * first newline at or after byte S*r/n - 1. */
static int open_share(const output_job *job, share *sh, char *why, size_t cap)
{
    const int mpi = run_mpi_active(), stdin_input = !strcmp(job->input, "-");
    sh->end = UINT64_MAX;
    if (mpi && stdin_input) {
        snprintf(why, cap, "under MPI --input is a file that each rank reads "
                           "its share of, not standard input");
        return -1;
    }
    sh->f = stdin_input ? stdin : fopen(job->input, "r");
    if (!sh->f) {
        snprintf(why, cap, "cannot open '%s': %s", job->input,
                 strerror(errno));
        return -1;
    }
    if (!mpi)
        return 0;
    struct stat st;
    if (fstat(fileno(sh->f), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, cap, "under MPI --input is a regular file, which '%s' "
                           "is not",
                 job->input);
        return -1;
    }
    const uint64_t bytes = (uint64_t)st.st_size;
    const uint64_t r = (uint64_t)run_mpi_rank(), n = (uint64_t)run_mpi_size();
    /* floor(bytes * r / n) without overflow */
    const uint64_t from = bytes / n * r + bytes % n * r / n;
    sh->end = bytes / n * (r + 1) + bytes % n * (r + 1) / n;
    sh->pos = from;
    if (from > 0) {
        if (fseeko(sh->f, (off_t)(from - 1), SEEK_SET) != 0)
            goto out_read_error;
        int c;
        sh->pos = from - 1;
        while ((c = getc(sh->f)) != EOF) {
            sh->pos++;
            if (c == '\n')
                break;
        }
        if (ferror(sh->f))
            goto out_read_error;
    }
    return 0;
out_read_error:
    snprintf(why, cap, "reading '%s' failed: %s", job->input, strerror(errno));
    return -1;
}

/* The lines of the share, counted before any is read: every rank's row
 * offset follows from the counts of the ranks before it. */
static int count_lines(const output_job *job, share *sh, uint64_t *count,
                       char *why, size_t cap)
{
    *count = 0;
    if (fseeko(sh->f, (off_t)sh->pos, SEEK_SET) != 0)
        goto out_read_error;
    char buf[1 << 16];
    uint64_t at = sh->pos;
    while (at < sh->end) {
        size_t want = sizeof buf;
        if (sh->end - at < want)
            want = (size_t)(sh->end - at);
        size_t got = fread(buf, 1, want, sh->f);
        if (got == 0)
            break;
        if (at == sh->pos)
            *count = 1; /* a byte at pos: a line starts there */
        /* A newline before the last byte of the range starts a line in it. */
        for (size_t i = 0; i < got; i++)
            *count += buf[i] == '\n' && at + i + 1 < sh->end;
        at += got;
    }
    if (ferror(sh->f) || fseeko(sh->f, (off_t)sh->pos, SEEK_SET) != 0)
        goto out_read_error;
    return 0;
out_read_error:
    snprintf(why, cap, "reading '%s' failed: %s", job->input, strerror(errno));
    return -1;
}

/* Up to CHUNK lines of the share, stripped of their line ends exactly as
 * clenc-run's --input strips them. */
static int read_chunk(share *sh, char **lines, size_t *caps, size_t *lens,
                      size_t *n)
{
    *n = 0;
    while (*n < CHUNK && sh->pos < sh->end) {
        ssize_t len = getline(&lines[*n], &caps[*n], sh->f);
        if (len < 0) {
            sh->eof = 1;
            break;
        }
        sh->pos += (uint64_t)len;
        while (len > 0 &&
               (lines[*n][len - 1] == '\n' || lines[*n][len - 1] == '\r'))
            lines[*n][--len] = '\0';
        lens[(*n)++] = (size_t)len;
    }
    if (sh->pos >= sh->end)
        sh->eof = 1;
    return ferror(sh->f) ? -1 : 0;
}

/* OUTPUT.tmp-PID-K beside OUTPUT, created here: a name that no reader
 * takes for the finished file. */
static int create_temp(const char *output, char *tmp, size_t cap, char *why,
                       size_t wcap)
{
    for (unsigned k = 0; k < 1000; k++) {
        if ((size_t)snprintf(tmp, cap, "%s.tmp-%ld-%u", output,
                             (long)getpid(), k) >= cap) {
            snprintf(why, wcap, "'%s': name too long", output);
            break;
        }
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0)
            return fd;
        if (errno != EEXIST) {
            snprintf(why, wcap, "cannot create '%s': %s", tmp,
                     strerror(errno));
            break;
        }
    }
    tmp[0] = '\0';
    return -1;
}

static int pwrite_all(int fd, const void *data, size_t bytes, uint64_t at,
                      char *why, size_t cap)
{
    const char *p = data;
    while (bytes) {
        ssize_t w = pwrite(fd, p, bytes, (off_t)at);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            snprintf(why, cap, "%s", w < 0 ? strerror(errno) : "no progress");
            return -1;
        }
        p += w;
        at += (uint64_t)w;
        bytes -= (size_t)w;
    }
    return 0;
}

/* The output: a descriptor in one process, MPI-IO's file under MPI. */
typedef struct sink {
    char tmp[4160];
    int fd, mpi_open;
} sink;

static int put(sink *s, uint64_t at, const void *data, size_t bytes,
               char *why, size_t cap)
{
    if (s->mpi_open)
        return run_mpi_file_write_at(at, data, bytes, why, cap);
    return pwrite_all(s->fd, data, bytes, at, why, cap);
}

/* Rank 0 creates the file; under MPI every rank then opens it. */
static int open_sink(const output_job *job, sink *s, char *why, size_t cap)
{
    s->fd = -1;
    int failed = 0;
    if (run_mpi_rank() == 0)
        failed = (s->fd = create_temp(job->output, s->tmp, sizeof s->tmp, why,
                                      cap)) < 0;
    if (!run_mpi_active())
        return failed ? -1 : 0;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    run_mpi_bcast_name(s->tmp, sizeof s->tmp);
    if (!s->tmp[0])
        return failed ? -1 : 0; /* rank 0 says why */
    if (run_mpi_file_open(s->tmp, why, cap) != 0)
        return -1;
    s->mpi_open = 1;
    return 0;
}

static int close_sink(sink *s, char *why, size_t cap)
{
    if (s->mpi_open) {
        s->mpi_open = 0;
        return run_mpi_file_close(why, cap);
    }
    if (s->fd < 0)
        return 0;
    int rc = fsync(s->fd);
    if (close(s->fd) != 0)
        rc = -1;
    s->fd = -1;
    if (rc != 0)
        snprintf(why, cap, "%s", strerror(errno));
    return rc;
}

static void progress(const output_job *job, uint64_t done, double start,
                     double *last, int final)
{
    const double t = now_s();
    if (run_mpi_rank() != 0 || !(t - *last >= 1.0 || (final && t - start >= 1.0)))
        return;
    fprintf(stderr, "\r%s: %llu texts, %.0f texts/s", job->prog,
            (unsigned long long)done, done / (t - start));
    if (run_mpi_size() > 1)
        fprintf(stderr, " (%d ranks)", run_mpi_size());
    *last = t;
}

int output_run(const output_job *job)
{
    const int mpi = run_mpi_active(), rank = run_mpi_rank();
    const char *label = run_mpi_label();
    const size_t row_bytes = job->dim * sizeof(float);
    char why[WHY] = "";
    share sh = {0};
    sink s = {.fd = -1};
    char *lines[CHUNK] = {0};
    size_t caps[CHUNK] = {0}, lens[CHUNK];
    uint64_t mine = 0, below = 0, rounds = 0, done = 0, all_done = 0;
    const double start = now_s();
    double last = start;

    int failed = open_share(job, &sh, why, sizeof why) != 0;
    if (!failed && mpi)
        failed = count_lines(job, &sh, &mine, why, sizeof why) != 0;
    if (failed)
        fprintf(stderr, "%s: %s%s\n", job->prog, label, why);
    int bad = run_mpi_step(failed, mine, NULL);
    if (bad < 0) {
        below = run_mpi_exscan(mine);
        rounds = run_mpi_max((mine + CHUNK - 1) / CHUNK);
        if ((failed = open_sink(job, &s, why, sizeof why) != 0))
            fprintf(stderr, "%s: %s%s\n", job->prog, label, why);
        bad = run_mpi_step(failed || !s.tmp[0], 0, NULL);
    }
    /* Every rank takes the same number of steps, its lines done or not. */
    for (uint64_t round = 0; bad < 0 && (mpi ? round < rounds : !sh.eof);
         round++) {
        size_t n = 0;
        const float *rows = NULL;
        failed = read_chunk(&sh, lines, caps, lens, &n) != 0;
        if (failed)
            fprintf(stderr, "%s: %sreading '%s' failed: %s\n", job->prog,
                    label, job->input, strerror(errno));
        else if (n && job->embed(job->arg, lines, lens, n, below + done + 1,
                                 &rows) != 0)
            failed = 1;
        else if (n && put(&s, NPY_HEADER_BYTES + (below + done) * row_bytes,
                          rows, n * row_bytes, why, sizeof why) != 0) {
            fprintf(stderr, "%s: %swriting '%s' failed: %s\n", job->prog,
                    label, s.tmp, why);
            failed = 1;
        }
        if (!failed)
            done += n;
        bad = run_mpi_step(failed, done, &all_done);
        progress(job, all_done, start, &last, 0);
    }
    if (bad < 0) {
        /* The counts said how many rows each rank writes. */
        failed = mpi && done != mine;
        if (failed)
            fprintf(stderr, "%s: %s'%s' changed while it was read\n",
                    job->prog, label, job->input);
        bad = run_mpi_step(failed, done, &all_done);
    }
    progress(job, all_done, start, &last, 1);
    if (now_s() - start >= 1.0 && rank == 0)
        fputc('\n', stderr);
    /* Rank 0 writes the header last, with the count the ranks agreed on:
     * the same bytes as one process writes for the same lines. */
    failed = 0;
    if (bad < 0 && rank == 0) {
        char header[NPY_HEADER_BYTES];
        npy_header(header, all_done, job->dim);
        if ((failed = put(&s, 0, header, sizeof header, why, sizeof why) != 0))
            fprintf(stderr, "%s: %swriting '%s' failed: %s\n", job->prog,
                    label, s.tmp, why);
    }
    if (s.tmp[0]) {
        /* Collective under MPI: every rank reaches it with the same bad. */
        if (close_sink(&s, why, sizeof why) != 0) {
            fprintf(stderr, "%s: %swriting '%s' failed: %s\n", job->prog,
                    label, s.tmp, why);
            failed = 1;
        }
        const int closed_bad = run_mpi_step(failed, 0, NULL);
        if (bad < 0)
            bad = closed_bad;
        if (rank == 0) {
            if (bad < 0 && rename(s.tmp, job->output) != 0) {
                fprintf(stderr, "%s: cannot rename '%s' to '%s': %s\n",
                        job->prog, s.tmp, job->output, strerror(errno));
                bad = 0;
            }
            if (bad >= 0)
                unlink(s.tmp);
        }
        bad = run_mpi_agree(bad >= 0) ? (bad >= 0 ? bad : 0) : -1;
    }
    if (bad >= 0 && rank == 0) {
        if (mpi)
            fprintf(stderr, "%s: rank %d failed: '%s' not written\n",
                    job->prog, bad, job->output);
        else
            fprintf(stderr, "%s: '%s' not written\n", job->prog, job->output);
    }
    for (size_t i = 0; i < CHUNK; i++)
        free(lines[i]);
    if (sh.f && sh.f != stdin)
        fclose(sh.f);
    return bad >= 0;
}
