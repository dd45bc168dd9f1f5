/* plan.c — the workspace plan: activation buffers placed in one arena, sharing bytes where their lifetimes do not overlap. */
#include <stdlib.h>

#include "engine/engine.h"

static size_t align_up(size_t v, size_t align)
{
    return (v + align - 1) / align * align;
}

static int larger_first(const void *a, const void *b)
{
    const clenc__plan_item *x = *(clenc__plan_item *const *)a;
    const clenc__plan_item *y = *(clenc__plan_item *const *)b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : 0;
}

static int alive_together(const clenc__plan_item *a, const clenc__plan_item *b)
{
    return a->first <= b->last && b->first <= a->last;
}

/* Greedy first fit, largest first: a handful of items, so the quadratic
 * search costs nothing and the result is easy to check. */
size_t clenc__plan(clenc__plan_item *items, size_t count, size_t align)
{
    clenc__plan_item *order[32];
    if (count > 32 || align == 0)
        return 0;
    for (size_t i = 0; i < count; i++)
        order[i] = &items[i];
    qsort(order, count, sizeof order[0], larger_first);
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        clenc__plan_item *it = order[i];
        size_t offset = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (size_t j = 0; j < i; j++) {
                const clenc__plan_item *o = order[j];
                if (alive_together(it, o) && offset < o->offset + o->size &&
                    o->offset < offset + it->size) {
                    offset = align_up(o->offset + o->size, align);
                    moved = 1;
                }
            }
        }
        it->offset = offset;
        if (offset + it->size > total)
            total = offset + it->size;
    }
    return align_up(total, align);
}
