/* dict.c — byte strings to ids for tokenizer.json's tables: open addressing under a random SipHash key, no lookup longer than a fixed probe count. */
#include <string.h>

#include "text/pipeline.h"

/* The same defences as vocab.txt's table (tokenizer_vocab.c says why): a
 * keyed hash, so that no file can aim its keys at one slot, and a bound on
 * probing, answered by a new key and then by a bigger table. Entries are
 * added one by one here (vocab objects, merges), so the table grows as
 * it fills: never more than half full. */
#define MAX_PROBES 64
#define REKEYS 3

struct clenc__dict_slot {
    uint32_t offset; /* of the key in keys */
    uint32_t len;
    uint32_t hash_hi; /* most misses skip memcmp */
    int32_t value;    /* < 0: empty (values are ids, ranks: never negative) */
};

static clenc__dict_slot *slot_for(const clenc__dict_slot *slots, size_t mask,
                                  const uint64_t key[2], const char *keys,
                                  const void *a, size_t na, const void *b,
                                  size_t nb, uint32_t *hash_hi)
{
    uint64_t h = clenc__siphash(key, 1, 3, a, na, b, nb);
    *hash_hi = (uint32_t)(h >> 32);
    size_t i = (size_t)h & mask;
    for (int probe = 0; probe < MAX_PROBES; probe++, i = (i + 1) & mask) {
        const clenc__dict_slot *s = &slots[i];
        if (s->value < 0 ||
            (s->hash_hi == *hash_hi && s->len == na + nb &&
             memcmp(keys + s->offset, a, na) == 0 &&
             (nb == 0 || memcmp(keys + s->offset + na, b, nb) == 0)))
            return (clenc__dict_slot *)s;
    }
    return NULL;
}

static clenc__dict_slot *new_slots(size_t count)
{
    clenc__dict_slot *slots = clenc__malloc(count * sizeof *slots);
    for (size_t i = 0; slots && i < count; i++)
        slots[i].value = -1;
    return slots;
}

/* Every entry again into `count` slots under a fresh key: 0 when one would
 * sit past MAX_PROBES (the caller tries again). */
static int rebuild(clenc__dict *d, size_t count, clenc__dict_slot **out,
                   uint64_t key[2])
{
    clenc__dict_slot *slots = new_slots(count);
    if (!slots)
        return -1;
    clenc__random_key(key);
    for (size_t i = 0; d->slots && i <= d->slot_mask; i++) {
        const clenc__dict_slot *s = &d->slots[i];
        if (s->value < 0)
            continue;
        uint32_t hi;
        clenc__dict_slot *to = slot_for(slots, count - 1, key, d->keys,
                                        d->keys + s->offset, s->len, NULL, 0,
                                        &hi);
        if (!to) {
            clenc__free(slots);
            return 0;
        }
        *to = *s;
    }
    *out = slots;
    return 1;
}

/* A table of `count` slots (a power of two), rekeyed until every entry
 * fits its probe bound, or doubled after REKEYS tries. */
static clenc_status resize(clenc__dict *d, size_t count)
{
    for (;;) {
        for (int tries = 0; tries < REKEYS; tries++) {
            clenc__dict_slot *slots = NULL;
            uint64_t key[2];
            int ok = rebuild(d, count, &slots, key);
            if (ok < 0)
                return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                                   "no host memory for a token table");
            if (ok) {
                clenc__free(d->slots);
                d->slots = slots;
                d->slot_mask = count - 1;
                d->key[0] = key[0];
                d->key[1] = key[1];
                return CLENC_OK;
            }
        }
        if (count > (SIZE_MAX / sizeof(clenc__dict_slot)) / 2)
            return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                               "a token table cannot grow further");
        count *= 2;
    }
}

clenc_status clenc__dict_init(clenc__dict *d, size_t expected)
{
    memset(d, 0, sizeof *d);
    size_t count = 64;
    while (count < 2 * expected && count < ((size_t)1 << 40))
        count *= 2;
    return resize(d, count);
}

clenc_status clenc__dict_put(clenc__dict *d, const void *a, size_t na,
                             const void *b, size_t nb, int32_t value,
                             int *existed)
{
    if (existed)
        *existed = 0;
    if (value < 0 || na + nb > UINT32_MAX / 2 ||
        d->keys_n > UINT32_MAX - (na + nb))
        return clenc__fail(CLENC_ERR_MODEL_FORMAT,
                           "a token table entry is out of range");
    if (!b)
        nb = 0;
    for (int rekeyed = 0;; rekeyed++) {
        uint32_t hi;
        clenc__dict_slot *s = slot_for(d->slots, d->slot_mask, d->key, d->keys,
                                       a, na, b, nb, &hi);
        if (s && s->value >= 0) {
            s->value = value;
            if (existed)
                *existed = 1;
            return CLENC_OK;
        }
        if (s && 2 * (d->count + 1) <= d->slot_mask + 1) {
            /* keys exists once any key does, even "" (NULL + 0 is UB) */
            if (!d->keys || d->keys_n + na + nb > d->keys_cap) {
                size_t cap = d->keys_cap ? 2 * d->keys_cap : 4096;
                while (cap < d->keys_n + na + nb)
                    cap *= 2;
                char *grown = clenc__realloc(d->keys, cap);
                if (!grown)
                    return clenc__fail(CLENC_ERR_OUT_OF_MEMORY,
                                       "no host memory for a token table");
                d->keys = grown;
                d->keys_cap = cap;
            }
            memcpy(d->keys + d->keys_n, a, na);
            if (nb)
                memcpy(d->keys + d->keys_n + na, b, nb);
            *s = (clenc__dict_slot){.offset = (uint32_t)d->keys_n,
                                    .len = (uint32_t)(na + nb),
                                    .hash_hi = hi,
                                    .value = value};
            d->keys_n += na + nb;
            d->count++;
            return CLENC_OK;
        }
        /* Too full, or the key's home run is long: a new key (and room),
         * then look again. */
        const size_t size = d->slot_mask + 1;
        clenc_status st = resize(d, s || rekeyed >= REKEYS ? 2 * size : size);
        if (st != CLENC_OK)
            return st;
    }
}

int32_t clenc__dict_get(const clenc__dict *d, const void *a, size_t na,
                        const void *b, size_t nb)
{
    uint32_t hi;
    if (!d->slots)
        return -1;
    const clenc__dict_slot *s = slot_for(d->slots, d->slot_mask, d->key,
                                         d->keys, a, na, b, b ? nb : 0, &hi);
    return s ? s->value : -1;
}

void clenc__dict_free(clenc__dict *d)
{
    clenc__free(d->slots);
    clenc__free(d->keys);
    memset(d, 0, sizeof *d);
}
