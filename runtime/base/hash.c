/* hash.c — hashing: FNV-1a for keys and checksums of our own data, SipHash under a random key for tables of untrusted input. */
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/base.h"

uint64_t clenc__fnv1a(uint64_t h, const void *data, size_t size)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

uint64_t clenc__fnv1a_str(uint64_t h, const char *s)
{
    uint64_t n = s ? strlen(s) : 0;
    h = clenc__fnv1a(h, &n, sizeof n);
    return clenc__fnv1a(h, s, (size_t)n);
}

/* ------------------------------------------------------ SipHash (spec) */

/* SipHash-c-d as specified by Aumasson and Bernstein ("SipHash: a fast
 * short-input PRF", 2012), over the concatenation of two byte strings so
 * that "##" + piece needs no copy. */
typedef struct sip {
    uint64_t v0, v1, v2, v3;
    uint64_t tail; /* bytes of an unfinished 8-byte word, little-endian */
    size_t len;
    int c_rounds;
} sip;

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sip_rounds(sip *s, int rounds)
{
    for (int r = 0; r < rounds; r++) {
        s->v0 += s->v1;
        s->v2 += s->v3;
        s->v1 = rotl(s->v1, 13);
        s->v3 = rotl(s->v3, 16);
        s->v1 ^= s->v0;
        s->v3 ^= s->v2;
        s->v0 = rotl(s->v0, 32);
        s->v2 += s->v1;
        s->v0 += s->v3;
        s->v1 = rotl(s->v1, 17);
        s->v3 = rotl(s->v3, 21);
        s->v1 ^= s->v2;
        s->v3 ^= s->v0;
        s->v2 = rotl(s->v2, 32);
    }
}

static void sip_word(sip *s, uint64_t m)
{
    s->v3 ^= m;
    sip_rounds(s, s->c_rounds);
    s->v0 ^= m;
}

static void sip_absorb(sip *s, const unsigned char *p, size_t n)
{
    while (n > 0) {
        if ((s->len & 7) == 0 && n >= 8) {
            uint64_t m = 0;
            for (int i = 7; i >= 0; i--)
                m = (m << 8) | p[i];
            sip_word(s, m);
            p += 8;
            n -= 8;
            s->len += 8;
            continue;
        }
        s->tail |= (uint64_t)*p++ << (8 * (s->len & 7));
        n--;
        if ((++s->len & 7) == 0) {
            sip_word(s, s->tail);
            s->tail = 0;
        }
    }
}

uint64_t clenc__siphash(const uint64_t key[2], int c_rounds, int d_rounds,
                        const void *a, size_t an, const void *b, size_t bn)
{
    sip s = {key[0] ^ 0x736f6d6570736575ull, key[1] ^ 0x646f72616e646f6dull,
             key[0] ^ 0x6c7967656e657261ull, key[1] ^ 0x7465646279746573ull,
             0, 0, c_rounds};
    sip_absorb(&s, a, an);
    sip_absorb(&s, b, bn);
    sip_word(&s, s.tail | (uint64_t)(s.len & 0xff) << 56);
    s.v2 ^= 0xff;
    sip_rounds(&s, d_rounds);
    return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

/* getrandom fails only on kernels older than 3.17 or before the entropy
 * pool is ready at boot. The fallback key, from the clock and addresses,
 * still differs by table and by run; and the probe bound holds whatever
 * the key. */
void clenc__random_key(uint64_t key[2])
{
    if (getrandom(key, 2 * sizeof *key, GRND_NONBLOCK) ==
        (ssize_t)(2 * sizeof *key))
        return;
    static const uint64_t mix[2] = {0x243f6a8885a308d3ull,
                                    0x13198a2e03707344ull};
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uintptr_t where[3] = {(uintptr_t)key, (uintptr_t)&ts, (uintptr_t)&mix};
    key[0] = clenc__siphash(mix, 2, 4, &ts, sizeof ts, where, sizeof where);
    key[1] = clenc__siphash(mix, 2, 4, key, sizeof *key, &ts, sizeof ts);
}

