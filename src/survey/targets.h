/* targets.h - the order in which the scope is visited: a keyed pseudo-random permutation of
 * every address in the scope, computed on the fly (ZMap's idea; here a Feistel network with
 * cycle walking instead of a cyclic group).
 *
 * The scope's sorted ranges are numbered 0..total-1 (index space). Position p of a run maps
 * to index sv_perm_apply(p), then to an address by a binary search over the ranges' cumulative
 * sizes. Nothing proportional to the scope is held in memory beyond one offset per range, and
 * a run is resumed by starting again at a position with the same key: the same key always
 * gives the same order. Different keys spread consecutive positions over unrelated /24s,
 * which is what keeps a sweep from hammering one network.
 *
 * Cap: SV_TARGETS_MAX_SPACE addresses (an IPv6 /64 cannot be swept address by address; list
 * the device addresses or smaller prefixes instead).
 *
 * Ownership: sv_targets_init() borrows the range set (it must outlive the iterator) and
 * allocates the offsets; sv_targets_release() frees them.
 */
#ifndef BS_SURVEY_TARGETS_H
#define BS_SURVEY_TARGETS_H

#include <stdint.h>

#include "survey/scope.h"

#define SV_TARGETS_MAX_SPACE (1ull << 40)

/* A keyed bijection of [0, n). */
struct sv_perm {
    uint64_t n;
    unsigned half_bits; /* the Feistel halves; the domain is 2^(2*half_bits) >= n */
    uint64_t key[4];    /* round keys derived from the run key */
};

void sv_perm_init(struct sv_perm *p, uint64_t n, uint64_t key);
/* The image of x (x < n) under the permutation; also < n. */
uint64_t sv_perm_apply(const struct sv_perm *p, uint64_t x);

struct sv_targets {
    const struct sv_rangeset *ranges; /* borrowed */
    uint64_t *start;                  /* start[i]: index of ranges->r[i].lo */
    uint64_t total;
    struct sv_perm perm;
};

/* Returns 0, BS_ELIMIT (scope larger than the cap), BS_EUSAGE (empty) or BS_ENOMEM. */
int sv_targets_init(struct sv_targets *t, const struct sv_rangeset *ranges, uint64_t key);
void sv_targets_release(struct sv_targets *t);
/* The address visited at position pos (< total). */
void sv_targets_at(const struct sv_targets *t, uint64_t pos, struct ipaddr *out);

#endif
