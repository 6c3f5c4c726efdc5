/* query_int.h - internals of the query engine shared by its files (not for other libraries):
 * the aggregation tables and key packing (query_tab.c), the per-thread scan state and the block
 * callback (query_scan.c), and the merge and ranking (query.c). Hot probes stay inline here.
 *
 * Ownership: every table owns its arrays (freed by its _release); a qctx owns its threads'
 * tables and buffers and borrows the spec. */
#ifndef BS_QUERY_QUERY_INT_H
#define BS_QUERY_QUERY_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "query/filter.h"
#include "query/query.h"
#include "store/store.h"

/* ---- generic byte-key table (query_tab.c) ---------------------------------------------- */

/* Entry layout: u64 hash, then (when counting) u64 flows, packets, bytes, distinct, then the
 * key bytes; stride rounded to 8. */
struct agg_tab {
    size_t klen, stride, n, cap, max;
    uint8_t *ent;
    uint32_t *slots; /* entry index + 1; 0 = empty */
    size_t nslots;
    bool counters;
    uint64_t seed;
};

#define AGG_HDR(counters) ((counters) ? 40u : 8u)

static inline uint64_t *agg_tab_entry(const struct agg_tab *t, size_t i)
{
    return (uint64_t *)(void *)(t->ent + i * t->stride);
}

static inline const uint8_t *agg_tab_key(const struct agg_tab *t, const uint64_t *e)
{
    return (const uint8_t *)e + AGG_HDR(t->counters);
}

void agg_tab_init(struct agg_tab *t, size_t klen, bool counters, size_t max);
void agg_tab_release(struct agg_tab *t);
/* Finds or inserts key; returns the entry or NULL with *rc set (BS_ELIMIT / BS_ENOMEM).
 * *is_new tells whether it was inserted. */
uint64_t *agg_tab_get(struct agg_tab *t, const uint8_t *key, uint64_t h, bool *is_new, int *rc);

static inline void query_put_be(uint8_t *d, uint64_t v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        d[j] = (uint8_t)(v >> (8 * (n - 1 - j)));
}

/* ---- packed keys (query_tab.c) --------------------------------------------------------- */

/* When the group key fits in 64 bits with every address in its IPv4 form (32 bits), rows whose
 * key addresses are all IPv4 are aggregated under a uint64 key: key 0 in the highest bits,
 * each key's value in its own width (address 32, ports and VLAN 16, one-byte keys 8, the rest
 * 32). The packed tables below hold their entries inline (no indirection, no key compare
 * beyond one word); rows with an IPv6 address in a key take the generic byte-key table. A
 * group therefore lives in exactly one of the two tables: packed iff its addresses are IPv4.
 * The same holds for (group, distinct value) pairs when both fit together in 64 bits. */

static inline unsigned query_key_bits(enum query_keyid id)
{
    return query_key_is_addr(id) ? 32u : 8u * (unsigned)query_key_size(id);
}

#define PTAB_MIN_SLOTS 4096u
#define QUERY_PREFETCH 12         /* rows ahead whose table slot is prefetched */
#define TAB_HUGE       (2u << 20) /* transparent huge page size (x86-64, arm64 with 4 KiB pages) */

/* Zeroed memory for a packed table (huge-page aligned from 2 MiB up), freed with free(). */
void *query_tab_zalloc(size_t n, size_t size);

/* Seed of thread `thread`'s packed tables in a query whose base seed is `base`. The keys come
 * from the network, so the base is drawn per query (a flood of colliding keys cannot be
 * prepared), and each thread has its own: merge() walks one table in slot order while
 * inserting into another, which under the same hash function would pile the keys into long
 * probe runs. */
static inline uint64_t ptab_seed(uint64_t base, unsigned thread)
{
    return hash_mix64(base + 0x2545f4914f6cdd1dull * (2u * thread + 1u));
}

static inline uint64_t ptab_hash(uint64_t key, uint64_t seed)
{
    return hash_mix64(key ^ seed);
}

static inline size_t ptab_slot(uint64_t key, uint64_t seed, size_t mask)
{
    return (size_t)ptab_hash(key, seed) & mask;
}

/* Group table of packed keys: `words` uint64 per slot: key, flows, packets, bytes[, distinct].
 * flows == 0 marks an empty slot: every caller of ptab_get_h adds at least one flow to the
 * entry it gets. Load factor at most 3/4 (linear probing on 32- or 40-byte slots). */
struct ptab {
    uint64_t *slot;
    size_t nslots, n, max;
    unsigned words;
    uint64_t seed;
};

void ptab_init(struct ptab *t, unsigned words, size_t max, uint64_t seed);
void ptab_release(struct ptab *t);
int ptab_resize(struct ptab *t, size_t nslots);
/* Slots for n entries at a load factor of at most 3/4. */
size_t ptab_slots_for(size_t n);

/* Finds or inserts key; returns its entry (counters zero when new) or NULL with *rc set
 * (BS_ELIMIT past t->max entries, BS_ENOMEM). */
static inline uint64_t *ptab_get_h(struct ptab *t, uint64_t key, uint64_t h, int *rc)
{
    if (t->nslots) {
        size_t mask = t->nslots - 1, s = (size_t)h & mask;
        for (;;) {
            uint64_t *e = t->slot + s * t->words;
            if (!e[1]) {
                if (t->n >= t->max) {
                    *rc = BS_ELIMIT;
                    return NULL;
                }
                if ((t->n + 1) * 4 <= t->nslots * 3) {
                    e[0] = key;
                    t->n++;
                    return e;
                }
                break; /* grow, then insert below */
            }
            if (e[0] == key)
                return e;
            s = (s + 1) & mask;
        }
    } else if (t->max == 0) {
        *rc = BS_ELIMIT;
        return NULL;
    }
    if ((*rc = ptab_resize(t, t->nslots ? t->nslots * 2 : PTAB_MIN_SLOTS)))
        return NULL;
    size_t mask = t->nslots - 1, s = ptab_slot(key, t->seed, mask);
    while (t->slot[s * t->words + 1])
        s = (s + 1) & mask;
    uint64_t *e = t->slot + s * t->words;
    e[0] = key;
    t->n++;
    return e;
}

/* The entry of key, or NULL. */
static inline uint64_t *ptab_find(const struct ptab *t, uint64_t key)
{
    if (!t->nslots)
        return NULL;
    size_t mask = t->nslots - 1, s = ptab_slot(key, t->seed, mask);
    for (;;) {
        uint64_t *e = t->slot + s * t->words;
        if (!e[1])
            return NULL;
        if (e[0] == key)
            return e;
        s = (s + 1) & mask;
    }
}

/* After merge(), a group of several threads' packed tables is counted in the lowest one (its
 * owner); its entries in the others keep this bit set in flows (still occupied for probing). */
#define PTAB_MERGED (UINT64_C(1) << 63)

/* Hints the cache about the slot of hash h (no effect on the table). */
static inline void ptab_prefetch(const struct ptab *t, uint64_t h)
{
    if (t->nslots)
        __builtin_prefetch(t->slot + ((size_t)h & (t->nslots - 1)) * t->words, 1);
}

/* Set of packed (group, value) pairs: one uint64 per slot, 0 = empty; the pair 0 itself is
 * kept in has_zero. Load factor at most 3/4. */
struct pset {
    uint64_t *slot;
    size_t nslots, n, max;
    uint64_t seed;
    bool has_zero;
};

void pset_release(struct pset *p);
int pset_resize(struct pset *p, size_t nslots);
int pset_reserve(struct pset *p, size_t n);

/* Adds v (h = ptab_hash(v, p->seed)); returns 0, BS_ELIMIT past p->max pairs or
 * BS_ENOMEM. */
static inline int pset_add_h(struct pset *p, uint64_t v, uint64_t h)
{
    if (!v) {
        if (!p->has_zero) {
            if (p->n >= p->max)
                return BS_ELIMIT;
            p->has_zero = true;
            p->n++;
        }
        return 0;
    }
    if (p->nslots) {
        size_t mask = p->nslots - 1, s = (size_t)h & mask;
        uint64_t x;
        while ((x = p->slot[s])) {
            if (x == v)
                return 0;
            s = (s + 1) & mask;
        }
    }
    if (p->n >= p->max)
        return BS_ELIMIT;
    if ((p->n + 1) * 4 > p->nslots * 3) {
        int rc = pset_resize(p, p->nslots ? p->nslots * 2 : PTAB_MIN_SLOTS);
        if (rc)
            return rc;
    }
    size_t mask = p->nslots - 1, s = ptab_slot(v, p->seed, mask);
    while (p->slot[s])
        s = (s + 1) & mask;
    p->slot[s] = v;
    p->n++;
    return 0;
}

static inline int pset_add(struct pset *p, uint64_t v)
{
    return pset_add_h(p, v, ptab_hash(v, p->seed));
}

static inline void pset_prefetch(const struct pset *p, uint64_t h)
{
    if (p->nslots)
        __builtin_prefetch(p->slot + ((size_t)h & (p->nslots - 1)), 1);
}

/* Shifts the packed value of key k in each of rows 0..n-1 into kb (kb[i] = kb[i] << bits |
 * value). A row whose address for k is IPv6 gets wide[i] = 1 (its packed key is then
 * meaningless). */
void query_pack_column(const struct query_key *k, const struct store_block *b, size_t n,
                       uint64_t *kb, uint8_t *wide);
/* Packed form of the byte key p (keys[0..nkeys) laid out as query_put_key writes them): false
 * when an address in it is IPv6. */
bool query_pack_bytes(const struct query_key *keys, size_t nkeys, const uint8_t *p, uint64_t *out);
/* Inverse of query_pack_bytes: writes the byte key of packed value v (total width `bits`). */
void query_unpack_key(const struct query_key *keys, size_t nkeys, unsigned bits, uint64_t v,
                      uint8_t *p);

/* ---- per-thread scan state (query_scan.c) --------------------------------------------- */

struct qthread {
    struct filter_scratch *fs;
    uint8_t *sel;
    uint8_t *keybuf;
    struct agg_tab tab, dset; /* generic byte keys (all groups/pairs when !qctx.packed) */
    struct ptab ptab;         /* packed groups (qctx.packed) */
    struct pset pset;         /* packed (group, value) pairs (qctx.pair_packed) */
    uint64_t *kb, *dv;        /* per block: packed group key and (group, value) pair of a row */
    uint64_t *hv, *dh;        /* per block: their hashes */
    uint8_t *wide, *dwide;    /* per block: row's group key / distinct value has IPv6 */
    uint64_t *direct; /* small keys: flows, packets, bytes per key value (see qctx.direct) */
    uint64_t matched, packets, bytes, t_first, t_last;
    int rc;
};

struct qctx {
    const struct query_spec *q;
    struct filter *filter;
    bool time_bounded;
    bool need_times;    /* start_ms is read: time window, summary or listing */
    size_t klen, dklen; /* group key bytes, distinct value bytes */
    size_t koff[QUERY_MAX_KEYS];
    /* Keys of at most 2 bytes without a distinct count are aggregated in a directly indexed
     * array (no hashing): 1 << (8 * klen) slots of three counters per thread. */
    bool direct;
    /* Packed keys (see pack_column): groups when gbits <= 64, pairs when gbits + dbits <= 64
     * too. */
    bool packed, pair_packed;
    unsigned gbits, dbits;
    size_t pmerged; /* packed entries merged into a lower thread's table (merge()) */
    struct qthread th[STORE_SCAN_MAX_THREADS];
    uint64_t listed;
};

/* Writes key k of row i of b as its byte key at dst (addresses 16 bytes, masked). */
void query_put_key(uint8_t *dst, const struct store_block *b, size_t i, const struct query_key *k);
/* store_scan callbacks; ctx is the struct qctx. */
bool query_scan_pred(void *ctx, unsigned thread, const struct store_block_meta *m);
int query_scan_block(void *ctx, unsigned thread, const struct store_block *b);

#endif
