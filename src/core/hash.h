/* hash.h - fast non-cryptographic hashing for in-memory tables (not for anything an attacker
 * can exploit without a per-process random seed: tables keyed by remote input take a seed). */
#ifndef BS_CORE_HASH_H
#define BS_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static inline uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = (const uint8_t *)p;
    uint64_t h = seed ^ (n * 0x9e3779b97f4a7c15ull);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, b, 8);
        h = hash_mix64(h ^ w);
        b += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, b, n);
    return hash_mix64(h ^ w ^ ((uint64_t)n << 56));
}

#endif
