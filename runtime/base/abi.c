/* abi.c — public structs by the caller's size: older and newer callers' structs copied in and out without reading or writing past them. */
#include <stddef.h>
#include <string.h>

#include "base/base.h"

/* The minimum of each struct is a size it had; the fields it had then all
 * lie inside it. A build where neither holds (not LP64) stops here. */
#define CHECK_MINIMUM(type, min, last)                                         \
    _Static_assert(sizeof(type) >= (min), #type " is smaller than its minimum"); \
    _Static_assert(offsetof(type, last) + sizeof(((type *)0)->last) <= (min),  \
                   #type "." #last " ends past the minimum");
CLENC__STRUCTS(CHECK_MINIMUM)
#undef CHECK_MINIMUM

clenc_status clenc__struct_size(const char *fn, const char *name, size_t size,
                                size_t min)
{
    if (size < min)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: the caller's %s is %zu bytes, but this "
                           "library (%s) needs at least %zu (its size in "
                           "clenc 0.2.0)",
                           fn, name, size, clenc_version(), min);
    if (size > CLENC__STRUCT_SIZE_MAX)
        return clenc__fail(CLENC_ERR_INVALID_ARG,
                           "%s: the caller's %s is %zu bytes: no struct of "
                           "clenc is over %d (a count or capacity passed as "
                           "its size?)",
                           fn, name, size, CLENC__STRUCT_SIZE_MAX);
    return CLENC_OK;
}

clenc_status clenc__struct_in(const char *fn, const char *name, size_t min,
                              void *own, size_t own_size, const void *theirs,
                              size_t their_size)
{
    clenc_status st = clenc__struct_size(fn, name, their_size, min);
    if (st != CLENC_OK)
        return st;
    /* A newer caller that sets a field this library lacks asks for
     * something it cannot do: refused, never silently ignored. */
    const unsigned char *bytes = theirs;
    for (size_t i = own_size; i < their_size; i++)
        if (bytes[i])
            return clenc__fail(CLENC_ERR_UNSUPPORTED,
                               "%s: %s: byte %zu of the caller's %zu is set, "
                               "but this library (%s) knows only the first "
                               "%zu bytes of it (a field of a newer clenc.h)",
                               fn, name, i, their_size, clenc_version(),
                               own_size);
    /* An older caller's missing fields stay 0: their defaults. */
    memset(own, 0, own_size);
    memcpy(own, theirs, their_size < own_size ? their_size : own_size);
    return CLENC_OK;
}

void clenc__struct_out(void *theirs, size_t their_size, const void *own,
                       size_t own_size)
{
    if (their_size <= own_size) {
        memcpy(theirs, own, their_size);
        return;
    }
    memcpy(theirs, own, own_size);
    /* A newer caller's fields this library does not know read as 0. */
    memset((unsigned char *)theirs + own_size, 0, their_size - own_size);
}
