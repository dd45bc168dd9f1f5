/* tally.c — test hook: the kernel launches this thread enqueued, by kernel function and family. */
#include <string.h>

#include "base/base.h"

/* The runtime has a dozen kernel functions; each family counts apart. */
#define TALLY_CAP 64

static _Thread_local clenc__tally_entry tally[TALLY_CAP];
static _Thread_local size_t tally_count;

/* Functions are the kernel table's string literals, but a pointer match is
 * not relied on: a name compare costs nothing beside a kernel launch. */
void clenc__tally_launch(const char *function, int family)
{
    for (size_t i = 0; i < tally_count; i++)
        if (tally[i].family == family &&
            strcmp(tally[i].function, function) == 0) {
            tally[i].count++;
            return;
        }
    if (tally_count < TALLY_CAP)
        tally[tally_count++] =
            (clenc__tally_entry){.function = function, .family = family,
                                 .count = 1};
}

size_t clenc__tally_read(clenc__tally_entry *out, size_t capacity)
{
    for (size_t i = 0; i < tally_count && i < capacity; i++)
        out[i] = tally[i];
    return tally_count;
}
