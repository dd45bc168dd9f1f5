/* base.h — the runtime's bottom layer: errors, allocation and fault injection, public structs by size, hashing, strings, time, files. */
#ifndef CLENC_BASE_H
#define CLENC_BASE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "clenc.h"

/* Layers of runtime/, each a folder whose headers include only downwards
 * (make lint checks it): base <- cl <- ops <- engine, and base <- formats
 * <- engine. Nothing here knows OpenCL. */

/* ------------------------------------------------------ errors (status.c) */

/* Records the thread's last-error text (printf-style) and returns `status`. */
clenc_status clenc__fail(clenc_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Appends to the last-error text (a build log, a list of devices). */
void clenc__fail_append(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Status-returning internal calls: keep the status, jump on failure. */
#define TRY(expr, label)                                                       \
    do {                                                                       \
        st = (expr);                                                           \
        if (st != CLENC_OK)                                                    \
            goto label;                                                        \
    } while (0)

/* ------------------------------------------ allocation, faults (fault.c) */

/* The runtime allocates through these (never malloc directly), so that a
 * test can make the N-th allocation fail and count what is still live. */
void *clenc__malloc(size_t size);
void *clenc__calloc(size_t count, size_t size);
void *clenc__realloc(void *p, size_t size);
void clenc__free(void *p);
/* Blocks this thread allocated through clenc__* and has not freed, and
 * device buffers it created and has not released (leak checks in tests). */
long clenc__live_blocks(void);
long clenc__live_buffers(void);
void clenc__count_buffer(int delta);
/* The largest block this thread allocated through clenc__* since the last
 * reset (tests bound a load's host copies with it). */
size_t clenc__largest_block(int reset);

/* Test hook: the n-th fault point of this thread from now (an allocation,
 * a device buffer or an OpenCL call) fails; 0 disarms. */
void clenc__fault_arm(long n);
/* Fault points this thread passed since it was armed. */
long clenc__fault_passed(void);
/* True at the armed point: the caller must fail as if the resource were
 * missing. */
int clenc__fault_hit(void);

/* Test hook: launches this thread enqueued, by kernel function and family
 * (CLENC__FAMILY_ANY for kernels that have none, the probes). The test
 * runner maps which test uses which kernel from it (make test-mutants). */
#define CLENC__FAMILY_ANY (-1)
typedef struct clenc__tally_entry {
    const char *function; /* a kernel function's name, static storage */
    int family;           /* 0 cpu, 1 gpu, CLENC__FAMILY_ANY */
    unsigned long count;
} clenc__tally_entry;
void clenc__tally_launch(const char *function, int family);
/* Fills up to capacity entries; returns how many exist. */
size_t clenc__tally_read(clenc__tally_entry *out, size_t capacity);
/* -------------------------------------------- hashing, strings (util.c) */

/* FNV-1a 64: cache keys and container checksums (corruption, not attack). */
#define CLENC__FNV_SEED 0xcbf29ce484222325ull
uint64_t clenc__fnv1a(uint64_t h, const void *data, size_t size);
/* Hashes a string with its length, so that fields cannot run together. */
uint64_t clenc__fnv1a_str(uint64_t h, const char *s);

char *clenc__strdup(const char *s);
/* CLOCK_MONOTONIC in nanoseconds. */
uint64_t clenc__now_ns(void);

/* IEEE binary16 (half.c). Widening is exact. Narrowing rounds to nearest,
 * ties to even, and returns -1 for a value beyond half's range (|f| >=
 * 65520) or NaN, writing infinity or NaN; 0 otherwise. */
float clenc__half_to_float(uint16_t h);
int clenc__half_from_float(float f, uint16_t *out);
/* printf into a fresh malloc'd string; NULL when out of memory. */
char *clenc__asprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/* A key for clenc__siphash no input can aim at: getrandom, else the clock
 * and an address mixed (hash.c). */
void clenc__random_key(uint64_t key[2]);
/* SipHash-c-d of the bytes of a followed by those of b: keyed, so that
 * crafted inputs cannot collide on purpose (hash.c). */
uint64_t clenc__siphash(const uint64_t key[2], int c_rounds, int d_rounds,
                        const void *a, size_t na, const void *b, size_t nb);

/* ------------------------------------- public structs by size (abi.c) */

/* Every public struct of clenc.h: the smallest size of it a caller may
 * pass, which is its size in clenc 0.2.0, the first release that took
 * sizes (LP64: Linux on x86-64 and arm64), and its last field then. Later
 * releases grow the structs and keep accepting these sizes. A field added
 * later goes after the last one, at an offset of at least the minimum (an
 * explicit pad field first where the struct had trailing padding: an old
 * caller's padding bytes are indeterminate), and 0 in it must mean what the
 * release before did without it. abi.c checks the table at compile time;
 * tests/python/test_abi.py checks it against the header's structs. */
#define CLENC__STRUCTS(X)                                                      \
    X(clenc_device_info, 768, compiler_available)                              \
    X(clenc_platform_info, 392, device_count)                                  \
    X(clenc_options, 56, tune)                                                 \
    X(clenc_program_info, 1088, options)                                       \
    X(clenc_device_peak, 16, gbps)                                             \
    X(clenc_config, 60, pooling)                                               \
    X(clenc_layer_weights, 128, norm2_bias)                                    \
    X(clenc_weights, 64, layers)                                               \
    X(clenc_model_info, 304, name)                                             \
    X(clenc_session_info, 24, input_bytes)                                     \
    X(clenc_launch_profile, 80, end_ns)                                        \
    X(clenc_kernel_profile, 40, bytes)                                         \
    X(clenc_profile_summary, 48, last_encode_end_ns)
#define CLENC__MIN_SIZE_ENUM(type, min, last) CLENC__MIN_##type = (min),
enum { CLENC__STRUCTS(CLENC__MIN_SIZE_ENUM) };
#undef CLENC__MIN_SIZE_ENUM

/* A caller's size over this is an argument out of place (a count, a
 * capacity), not a struct: refused before anything is written up to it. */
#define CLENC__STRUCT_SIZE_MAX 65536

/* CLENC_ERR_INVALID_ARG, naming `fn`, the struct and both sizes, unless
 * `size` is in [min, CLENC__STRUCT_SIZE_MAX]. */
clenc_status clenc__struct_size(const char *fn, const char *name, size_t size,
                                size_t min);
/* Copies a caller's input struct of `their_size` bytes into the library's
 * own (`own_size` bytes): what the caller's version lacks reads 0, its
 * defaults. Bytes past the library's size must be 0 (a newer caller not
 * using its new fields); one that is set is CLENC_ERR_UNSUPPORTED naming
 * its offset. A bad size is checked as by clenc__struct_size. */
clenc_status clenc__struct_in(const char *fn, const char *name, size_t min,
                              void *own, size_t own_size, const void *theirs,
                              size_t their_size);
/* Writes the library's struct into the caller's of `their_size` bytes:
 * never past it, and 0 in the bytes past the library's size. The size is
 * checked beforehand (clenc__struct_size). */
void clenc__struct_out(void *theirs, size_t their_size, const void *own,
                       size_t own_size);
#define CLENC__STRUCT_SIZE(fn, type, size)                                     \
    clenc__struct_size((fn), #type, (size), CLENC__MIN_##type)
#define CLENC__STRUCT_IN(fn, type, own, theirs, size)                          \
    clenc__struct_in((fn), #type, CLENC__MIN_##type, (own), sizeof(type),      \
                     (theirs), (size))
#define CLENC__STRUCT_OUT(theirs, size, own)                                   \
    clenc__struct_out((theirs), (size), (own), sizeof *(own))

/* ----------------------------------------------------------- files (file.c) */

/* Reads a whole file the user named (a model, a container); `what` names it
 * in messages. Files in the cache folder go through clenc__file_read_owned. */
clenc_status clenc__file_read(const char *path, const char *what,
                              unsigned char **data, size_t *size);
/* Writes a whole file atomically: temp file in the same folder, rename. */
clenc_status clenc__file_write_atomic(const char *path, const void *data,
                                      size_t size);

/* Files in the cache folder (program binaries, tuning, peaks) are believed
 * only when this user wrote them: anyone who can plant one there runs code
 * in our process. This reads a whole file of ours: opened without following
 * a link or blocking (a FIFO), then checked on the open file: a regular
 * file, owned by the expected owner, not writable by group or others, at
 * most `max_size` bytes (checked before reading). Any refusal is
 * CLENC_ERR_IO naming `what`, the path and the reason. */
clenc_status clenc__file_read_owned(const char *path, const char *what,
                                    size_t max_size, unsigned char **data,
                                    size_t *size);
/* 1 when `path` is a folder owned by the expected owner and not writable by
 * group or others; else 0 and `why` says what is wrong ("cache folder 'X' is
 * writable by others (mode 1777)"). Leaves the last error alone. */
int clenc__folder_owned(const char *path, char *why, size_t cap);
/* mkdir -p with mode 0700 for fresh folders. A failure's status comes back
 * and `why` says what failed; the last error is left alone (a context that
 * cannot make its cache folder runs without one, and succeeds). */
clenc_status clenc__mkdirs_quiet(const char *path, char *why, size_t cap);
/* The owner files must have: geteuid(), unless a test set another. */
uid_t clenc__cache_owner(void);
/* Test hook, tests only: the owner the checks above expect from now on, so
 * that foreign-owned files can be tested without root (and as root, which CI
 * is); (uid_t)-1 restores geteuid(). Process-wide and atomic. A folder is
 * checked when a context is created, each file when it is opened: set it
 * only while no other thread uses a context. */
void clenc__cache_owner_set(uid_t uid);

#endif /* CLENC_BASE_H */
