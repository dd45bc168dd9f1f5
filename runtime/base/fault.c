/* fault.c — the runtime's allocator and the test-only fault injection: the N-th allocation or OpenCL call of a thread fails. */
#include <stdlib.h>

#include "base/base.h"

/* Thread-local, so that an armed test thread fails only its own calls:
 * one countdown, and how many fault points it passed. Unarmed, a point is
 * one thread-local load and a compare. */
static _Thread_local long countdown;
static _Thread_local long passed;
static _Thread_local long live_blocks;
static _Thread_local long live_buffers;
static _Thread_local size_t largest;

size_t clenc__largest_block(int reset)
{
    const size_t was = largest;
    if (reset)
        largest = 0;
    return was;
}

static void *counted(void *p, size_t size)
{
    if (p && size > largest)
        largest = size;
    return p;
}

void clenc__fault_arm(long n)
{
    countdown = n;
    passed = 0;
}

long clenc__fault_passed(void)
{
    return passed;
}

int clenc__fault_hit(void)
{
    if (countdown <= 0)
        return 0;
    passed++;
    return --countdown == 0;
}

long clenc__live_blocks(void)
{
    return live_blocks;
}

long clenc__live_buffers(void)
{
    return live_buffers;
}

void clenc__count_buffer(int delta)
{
    live_buffers += delta;
}

void *clenc__malloc(size_t size)
{
    if (clenc__fault_hit())
        return NULL;
    void *p = malloc(size ? size : 1);
    live_blocks += p != NULL;
    return counted(p, size);
}

void *clenc__calloc(size_t count, size_t size)
{
    if (clenc__fault_hit())
        return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    live_blocks += p != NULL;
    return counted(p, count * size); /* calloc refused an overflow */
}

void *clenc__realloc(void *p, size_t size)
{
    if (clenc__fault_hit())
        return NULL;
    void *q = realloc(p, size ? size : 1);
    live_blocks += q != NULL && p == NULL;
    return counted(q, size);
}

void clenc__free(void *p)
{
    live_blocks -= p != NULL;
    free(p);
}
