/* targets.c - the keyed permutation of the scope (targets.h). */
#include "survey/targets.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

void sv_perm_init(struct sv_perm *p, uint64_t n, uint64_t key)
{
    memset(p, 0, sizeof *p);
    p->n = n;
    unsigned bits = 2;
    while (bits < 64 && (1ull << bits) < n)
        bits++;
    p->half_bits = (bits + 1) / 2;
    /* Independent-looking round keys from one run key. */
    uint64_t k = key ^ 0x6a09e667f3bcc908ull;
    for (int i = 0; i < 4; i++) {
        k = hash_mix64(k + 0x9e3779b97f4a7c15ull);
        p->key[i] = k;
    }
}

/* One pass of a 4-round balanced Feistel network over 2*half_bits bits: a bijection of the
 * power-of-two domain. */
static uint64_t feistel(const struct sv_perm *p, uint64_t x)
{
    uint64_t mask = (1ull << p->half_bits) - 1;
    uint64_t l = x >> p->half_bits, r = x & mask;
    for (int i = 0; i < 4; i++) {
        uint64_t f = hash_mix64(r ^ p->key[i]) & mask;
        uint64_t nl = r;
        r = l ^ f;
        l = nl;
    }
    return l << p->half_bits | r;
}

uint64_t sv_perm_apply(const struct sv_perm *p, uint64_t x)
{
    /* Cycle walking: re-apply until the value falls back into [0, n). The domain is less
     * than 4n, so this takes fewer than four passes on average, and it terminates because
     * the cycle containing x also contains x itself. */
    do
        x = feistel(p, x);
    while (x >= p->n);
    return x;
}

/* hi - lo + 1 when it fits under the cap, else 0. */
static uint64_t range_size(const struct sv_range *r)
{
    for (int i = 0; i < 8; i++)
        if (r->lo.b[i] != r->hi.b[i])
            return 0;
    uint64_t lo = 0, hi = 0;
    for (int i = 8; i < 16; i++) {
        lo = lo << 8 | r->lo.b[i];
        hi = hi << 8 | r->hi.b[i];
    }
    uint64_t d = hi - lo;
    return d >= SV_TARGETS_MAX_SPACE ? 0 : d + 1;
}

int sv_targets_init(struct sv_targets *t, const struct sv_rangeset *ranges, uint64_t key)
{
    memset(t, 0, sizeof *t);
    if (!sv_rangeset_count(ranges))
        return BS_EUSAGE;
    t->start = malloc(sv_rangeset_count(ranges) * sizeof *t->start);
    if (!t->start)
        return BS_ENOMEM;
    t->ranges = ranges;
    for (size_t i = 0; i < sv_rangeset_count(ranges); i++) {
        uint64_t sz = range_size(sv_rangeset_at(ranges, i));
        if (!sz || t->total + sz > SV_TARGETS_MAX_SPACE) {
            sv_targets_release(t);
            return BS_ELIMIT;
        }
        t->start[i] = t->total;
        t->total += sz;
    }
    sv_perm_init(&t->perm, t->total, key);
    return 0;
}

void sv_targets_release(struct sv_targets *t)
{
    free(t->start);
    t->start = NULL;
    t->total = 0;
}

void sv_targets_at(const struct sv_targets *t, uint64_t pos, struct ipaddr *out)
{
    uint64_t idx = sv_perm_apply(&t->perm, pos);
    size_t lo = 0, hi = sv_rangeset_count(t->ranges) - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo + 1) / 2;
        if (t->start[mid] <= idx)
            lo = mid;
        else
            hi = mid - 1;
    }
    uint64_t off = idx - t->start[lo];
    *out = sv_rangeset_at(t->ranges, lo)->lo;
    /* Add off to the low 64 bits; range_size() guaranteed no carry into the high half. */
    uint64_t low = 0;
    for (int i = 8; i < 16; i++)
        low = low << 8 | out->b[i];
    low += off;
    for (int i = 15; i >= 8; i--) {
        out->b[i] = (uint8_t)low;
        low >>= 8;
    }
}
