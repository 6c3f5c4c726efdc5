/* query.c - query engine: scan, filter, aggregate, rank into a query_result (see query.h).
 * Keys are in query_keys.c, the result set in query_result.c, printing in query_print.c. */
#include "query/query.h"

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/flow.h"
#include "core/hash.h"
#include "query/filter.h"
#include "query/query_sql.h"
#include "store/segment.h"

/* ---- hash table ------------------------------------------------------------------------ */

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

static void tab_init(struct agg_tab *t, size_t klen, bool counters, size_t max)
{
    memset(t, 0, sizeof *t);
    t->klen = klen;
    t->counters = counters;
    t->stride = (AGG_HDR(counters) + klen + 7) & ~(size_t)7;
    t->max = max;
    t->seed = 0x9e3779b97f4a7c15ull;
}

static void tab_release(struct agg_tab *t)
{
    free(t->ent);
    free(t->slots);
    t->ent = NULL;
    t->slots = NULL;
}

static inline uint64_t *tab_entry(const struct agg_tab *t, size_t i)
{
    return (uint64_t *)(void *)(t->ent + i * t->stride);
}

static inline const uint8_t *tab_key(const struct agg_tab *t, const uint64_t *e)
{
    return (const uint8_t *)e + AGG_HDR(t->counters);
}

static int tab_rehash(struct agg_tab *t, size_t nslots)
{
    uint32_t *ns = calloc(nslots, sizeof *ns);
    if (!ns)
        return BS_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t s = tab_entry(t, i)[0] & (nslots - 1);
        while (ns[s])
            s = (s + 1) & (nslots - 1);
        ns[s] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = ns;
    t->nslots = nslots;
    return 0;
}

/* Finds or inserts key; returns the entry or NULL with *rc set (BS_ELIMIT / BS_ENOMEM).
 * *is_new tells whether it was inserted. */
static uint64_t *tab_get(struct agg_tab *t, const uint8_t *key, uint64_t h, bool *is_new, int *rc)
{
    if (t->nslots) {
        size_t s = h & (t->nslots - 1);
        uint32_t ix;
        while ((ix = t->slots[s])) {
            uint64_t *e = tab_entry(t, ix - 1);
            if (e[0] == h && !memcmp(tab_key(t, e), key, t->klen)) {
                *is_new = false;
                return e;
            }
            s = (s + 1) & (t->nslots - 1);
        }
    }
    if (t->n >= t->max || t->n >= UINT32_MAX - 1) {
        *rc = BS_ELIMIT;
        return NULL;
    }
    if ((t->n + 1) * 2 > t->nslots) {
        if ((*rc = tab_rehash(t, t->nslots ? t->nslots * 2 : 1024)))
            return NULL;
    }
    if (t->n == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 512;
        uint8_t *ne = realloc(t->ent, nc * t->stride);
        if (!ne) {
            *rc = BS_ENOMEM;
            return NULL;
        }
        t->ent = ne;
        t->cap = nc;
    }
    uint64_t *e = tab_entry(t, t->n);
    memset(e, 0, t->stride);
    e[0] = h;
    memcpy((uint8_t *)e + AGG_HDR(t->counters), key, t->klen);
    size_t s = h & (t->nslots - 1);
    while (t->slots[s])
        s = (s + 1) & (t->nslots - 1);
    t->slots[s] = (uint32_t)(t->n + 1);
    t->n++;
    *is_new = true;
    return e;
}

static inline void put_be(uint8_t *d, uint64_t v, size_t n)
{
    for (size_t j = 0; j < n; j++)
        d[j] = (uint8_t)(v >> (8 * (n - 1 - j)));
}

/* ---- packed keys ----------------------------------------------------------------------- */

/* When the group key fits in 64 bits with every address in its IPv4 form (32 bits), rows whose
 * key addresses are all IPv4 are aggregated under a uint64 key: key 0 in the highest bits,
 * each key's value in its own width (address 32, ports and VLAN 16, one-byte keys 8, the rest
 * 32). The packed tables below hold their entries inline (no indirection, no key compare
 * beyond one word); rows with an IPv6 address in a key take the generic byte-key table. A
 * group therefore lives in exactly one of the two tables: packed iff its addresses are IPv4.
 * The same holds for (group, distinct value) pairs when both fit together in 64 bits. */

static unsigned key_bits(enum query_keyid id)
{
    return query_key_is_addr(id) ? 32u : 8u * (unsigned)query_key_size(id);
}

#define PTAB_MIN_SLOTS 4096u
#define QUERY_PREFETCH 12         /* rows ahead whose table slot is prefetched */
#define TAB_HUGE       (2u << 20) /* transparent huge page size (x86-64, arm64 with 4 KiB pages) */

/* Zeroed memory for a packed table, freed with free(). Tables from 2 MiB up are aligned and
 * advised for transparent huge pages (random probes into tens of MB otherwise miss the TLB on
 * nearly every row), and zeroed by writing: calloc's untouched pages would first map the zero
 * page on the probe's read and then fault again, with a TLB shootdown across the scan threads,
 * on the first write. */
static void *tab_zalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    size_t len = n * size;
    void *p;
    if (len < TAB_HUGE) {
        p = malloc(len ? len : 1);
    } else {
        len = (len + TAB_HUGE - 1) & ~(size_t)(TAB_HUGE - 1);
        p = aligned_alloc(TAB_HUGE, len);
        if (p)
            (void)madvise(p, len, MADV_HUGEPAGE); /* advice only: failure changes nothing */
    }
    if (p)
        memset(p, 0, len);
    return p;
}

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
 * flows == 0 marks an empty slot: every caller of ptab_get adds at least one flow to the
 * entry it gets. Load factor at most 3/4 (linear probing on 32- or 40-byte slots). */
struct ptab {
    uint64_t *slot;
    size_t nslots, n, max;
    unsigned words;
    uint64_t seed;
};

static void ptab_init(struct ptab *t, unsigned words, size_t max, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->words = words;
    t->max = max;
    t->seed = seed;
}

static void ptab_release(struct ptab *t)
{
    free(t->slot);
    t->slot = NULL;
    t->nslots = t->n = 0;
}

static int ptab_resize(struct ptab *t, size_t nslots)
{
    uint64_t *ns = tab_zalloc(nslots, t->words * sizeof *ns);
    if (!ns)
        return BS_ENOMEM;
    size_t mask = nslots - 1;
    for (size_t i = 0; i < t->nslots; i++) {
        const uint64_t *e = t->slot + i * t->words;
        if (!e[1])
            continue;
        size_t s = ptab_slot(e[0], t->seed, mask);
        while (ns[s * t->words + 1])
            s = (s + 1) & mask;
        for (unsigned w = 0; w < t->words; w++)
            ns[s * t->words + w] = e[w];
    }
    free(t->slot);
    t->slot = ns;
    t->nslots = nslots;
    return 0;
}

/* Slots for n entries at a load factor of at most 3/4. */
static size_t slots_for(size_t n)
{
    size_t ns = PTAB_MIN_SLOTS;
    while (n * 4 > ns * 3)
        ns *= 2;
    return ns;
}

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

/* ptab_get_h with h = ptab_hash(key, t->seed). */
static inline uint64_t *ptab_get(struct ptab *t, uint64_t key, int *rc)
{
    return ptab_get_h(t, key, ptab_hash(key, t->seed), rc);
}

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

static void pset_release(struct pset *p)
{
    free(p->slot);
    p->slot = NULL;
    p->nslots = p->n = 0;
    p->has_zero = false;
}

static int pset_resize(struct pset *p, size_t nslots)
{
    uint64_t *ns = tab_zalloc(nslots, sizeof *ns);
    if (!ns)
        return BS_ENOMEM;
    size_t mask = nslots - 1;
    for (size_t i = 0; i < p->nslots; i++) {
        uint64_t v = p->slot[i];
        if (!v)
            continue;
        size_t s = ptab_slot(v, p->seed, mask);
        while (ns[s])
            s = (s + 1) & mask;
        ns[s] = v;
    }
    free(p->slot);
    p->slot = ns;
    p->nslots = nslots;
    return 0;
}

static int pset_reserve(struct pset *p, size_t n)
{
    size_t ns = slots_for(n);
    return ns > p->nslots ? pset_resize(p, ns) : 0;
}

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
 * meaningless). One loop per column kind: no per-row dispatch. */
static void pack_column(const struct query_key *k, const struct store_block *b, size_t n,
                        uint64_t *kb, uint8_t *wide)
{
    const struct store_addr_col *ac = NULL;
    switch (k->id) {
    case QK_SRCIP:
        ac = &b->src;
        break;
    case QK_DSTIP:
        ac = &b->dst;
        break;
    case QK_EXPORTER:
        ac = &b->exporter;
        break;
    case QK_NEXTHOP:
        ac = &b->nexthop;
        break;
    default:
        break;
    }
    if (ac) {
        uint32_t m = k->v4len >= 32 ? 0xffffffffu
                     : k->v4len     ? (uint32_t)(0xffffffffu << (32 - k->v4len))
                                    : 0;
        if (ac->v4) {
            const uint32_t *v = ac->v4;
            for (size_t i = 0; i < n; i++)
                kb[i] = kb[i] << 32 | (v[i] & m);
        } else {
            const struct ipaddr *a = ac->full;
            for (size_t i = 0; i < n; i++) {
                if (ipaddr_is_v4(&a[i])) {
                    kb[i] = kb[i] << 32 | (ipaddr_v4(&a[i]) & m);
                } else {
                    kb[i] <<= 32;
                    wide[i] = 1;
                }
            }
        }
        return;
    }
#define PACK_LOOP(col, bits)                                                                       \
    do {                                                                                           \
        for (size_t i = 0; i < n; i++)                                                             \
            kb[i] = kb[i] << (bits) | (col)[i];                                                    \
    } while (0)
    switch (k->id) {
    case QK_SRCPORT:
        PACK_LOOP(b->src_port, 16);
        return;
    case QK_DSTPORT:
        PACK_LOOP(b->dst_port, 16);
        return;
    case QK_VLAN:
        PACK_LOOP(b->vlan, 16);
        return;
    case QK_PROTO:
        PACK_LOOP(b->proto, 8);
        return;
    case QK_TOS:
        PACK_LOOP(b->tos, 8);
        return;
    case QK_FLAGS:
        PACK_LOOP(b->tcp_flags, 8);
        return;
    case QK_VERSION:
        PACK_LOOP(b->version, 8);
        return;
    case QK_IN_IF:
        PACK_LOOP(b->in_if, 32);
        return;
    case QK_OUT_IF:
        PACK_LOOP(b->out_if, 32);
        return;
    case QK_SRC_AS:
        PACK_LOOP(b->src_as, 32);
        return;
    case QK_DST_AS:
        PACK_LOOP(b->dst_as, 32);
        return;
    case QK_SAMPLING:
        PACK_LOOP(b->sampling, 32);
        return;
    default:
        return;
    }
#undef PACK_LOOP
}

/* Packed form of the byte key p (keys[0..nkeys) laid out as put_key writes them): false when
 * an address in it is IPv6. */
static bool pack_bytes(const struct query_key *keys, size_t nkeys, const uint8_t *p, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t k = 0; k < nkeys; k++) {
        size_t sz = query_key_size(keys[k].id);
        if (query_key_is_addr(keys[k].id)) {
            struct ipaddr a;
            memcpy(a.b, p, 16);
            if (!ipaddr_is_v4(&a))
                return false;
            v = v << 32 | ipaddr_v4(&a);
        } else {
            uint64_t x = 0;
            for (size_t j = 0; j < sz; j++)
                x = x << 8 | p[j];
            v = v << (8 * sz) | x;
        }
        p += sz;
    }
    *out = v;
    return true;
}

/* Inverse of pack_bytes: writes the byte key of packed value v (total width `bits`). */
static void unpack_key(const struct query_key *keys, size_t nkeys, unsigned bits, uint64_t v,
                       uint8_t *p)
{
    for (size_t k = 0; k < nkeys; k++) {
        unsigned kb = key_bits(keys[k].id);
        bits -= kb;
        uint64_t x = (v >> bits) & ((UINT64_C(1) << kb) - 1);
        if (query_key_is_addr(keys[k].id)) {
            struct ipaddr a;
            ipaddr_from_v4(&a, (uint32_t)x);
            memcpy(p, a.b, 16);
            p += 16;
        } else {
            size_t sz = query_key_size(keys[k].id);
            put_be(p, x, sz);
            p += sz;
        }
    }
}

/* ---- per-thread scan state ------------------------------------------------------------- */

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

static inline void put_addr_key(uint8_t *dst, const struct store_addr_col *c, size_t i,
                                const struct query_key *k)
{
    struct ipaddr a;
    if (c->v4) {
        uint32_t v = c->v4[i];
        if (k->v4len < 32)
            v &= k->v4len ? (uint32_t)(0xffffffffu << (32 - k->v4len)) : 0;
        ipaddr_from_v4(&a, v);
    } else {
        a = c->full[i];
        if (ipaddr_is_v4(&a)) {
            if (k->v4len < 32)
                ipaddr_mask(&a, 96u + k->v4len);
        } else if (k->v6len < 128) {
            ipaddr_mask(&a, k->v6len);
        }
    }
    memcpy(dst, a.b, 16);
}

static void put_key(uint8_t *dst, const struct store_block *b, size_t i, const struct query_key *k)
{
    switch (k->id) {
    case QK_SRCIP:
        put_addr_key(dst, &b->src, i, k);
        return;
    case QK_DSTIP:
        put_addr_key(dst, &b->dst, i, k);
        return;
    case QK_EXPORTER:
        put_addr_key(dst, &b->exporter, i, k);
        return;
    case QK_NEXTHOP:
        put_addr_key(dst, &b->nexthop, i, k);
        return;
    case QK_SRCPORT:
        put_be(dst, b->src_port[i], 2);
        return;
    case QK_DSTPORT:
        put_be(dst, b->dst_port[i], 2);
        return;
    case QK_VLAN:
        put_be(dst, b->vlan[i], 2);
        return;
    case QK_PROTO:
        dst[0] = b->proto[i];
        return;
    case QK_TOS:
        dst[0] = b->tos[i];
        return;
    case QK_FLAGS:
        dst[0] = b->tcp_flags[i];
        return;
    case QK_VERSION:
        dst[0] = b->version[i];
        return;
    case QK_IN_IF:
        put_be(dst, b->in_if[i], 4);
        return;
    case QK_OUT_IF:
        put_be(dst, b->out_if[i], 4);
        return;
    case QK_SRC_AS:
        put_be(dst, b->src_as[i], 4);
        return;
    case QK_DST_AS:
        put_be(dst, b->dst_as[i], 4);
        return;
    case QK_SAMPLING:
        put_be(dst, b->sampling[i], 4);
        return;
    }
}

/* Aggregates row i through the generic byte-key tables. */
static int agg_row_generic(struct qctx *c, struct qthread *t, const struct store_block *b, size_t i)
{
    const struct query_spec *q = c->q;
    uint8_t *kb = t->keybuf;
    for (size_t k = 0; k < q->nkeys; k++)
        put_key(kb + c->koff[k], b, i, &q->keys[k]);
    uint64_t h = hash_bytes(kb, c->klen, t->tab.seed);
    bool is_new;
    int rc = 0;
    uint64_t *e = tab_get(&t->tab, kb, h, &is_new, &rc);
    if (!e)
        return rc;
    e[1]++;
    e[2] += b->packets[i];
    e[3] += b->bytes[i];
    if (q->has_distinct) {
        put_key(kb + c->klen, b, i, &q->distinct);
        uint64_t h2 = hash_bytes(kb, c->klen + c->dklen, t->dset.seed);
        if (!tab_get(&t->dset, kb, h2, &is_new, &rc))
            return rc;
    }
    return 0;
}

/* Aggregates the selected rows of b with packed keys: the keys of the whole block are packed
 * column by column first, then each row costs one probe of the inline table (rows with an
 * IPv6 key address go to the generic table). */
static int agg_block_packed(struct qctx *c, struct qthread *t, const struct store_block *b,
                            const uint8_t *sel)
{
    const struct query_spec *q = c->q;
    size_t n = b->n;
    uint64_t *kb = t->kb;
    uint8_t *wide = t->wide;
    memset(kb, 0, n * sizeof *kb);
    memset(wide, 0, n);
    for (size_t k = 0; k < q->nkeys; k++)
        pack_column(&q->keys[k], b, n, kb, wide);
    /* Hashes first, so that the probe of row i + QUERY_PREFETCH can be prefetched while row
     * i is counted (the tables are far larger than the caches). */
    uint64_t *hv = t->hv, *dv = t->dv, *dh = t->dh;
    uint64_t seed = t->ptab.seed;
    for (size_t i = 0; i < n; i++)
        hv[i] = ptab_hash(kb[i], seed);
    if (c->pair_packed) {
        memset(dv, 0, n * sizeof *dv);
        memset(t->dwide, 0, n);
        pack_column(&q->distinct, b, n, dv, t->dwide);
        uint64_t dseed = t->pset.seed;
        for (size_t i = 0; i < n; i++) {
            dv[i] |= kb[i] << c->dbits; /* the pair */
            dh[i] = ptab_hash(dv[i], dseed);
        }
    }
    const uint64_t *pk = b->packets, *by = b->bytes;
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (i + QUERY_PREFETCH < n) {
            ptab_prefetch(&t->ptab, hv[i + QUERY_PREFETCH]);
            if (c->pair_packed)
                pset_prefetch(&t->pset, dh[i + QUERY_PREFETCH]);
        }
        if (!sel[i])
            continue;
        if (wide[i]) {
            if ((rc = agg_row_generic(c, t, b, i)))
                return rc;
            continue;
        }
        uint64_t *e = ptab_get_h(&t->ptab, kb[i], hv[i], &rc);
        if (!e)
            return rc;
        e[1]++;
        e[2] += pk[i];
        e[3] += by[i];
        if (!q->has_distinct)
            continue;
        if (c->pair_packed && !t->dwide[i]) {
            if ((rc = pset_add_h(&t->pset, dv[i], dh[i])))
                return rc;
        } else {
            /* The value (or the pair) does not pack: the pair goes to the generic set with
             * the group's byte key; merge() finds the group in the packed table again. */
            uint8_t *kbuf = t->keybuf;
            bool is_new;
            for (size_t k = 0; k < q->nkeys; k++)
                put_key(kbuf + c->koff[k], b, i, &q->keys[k]);
            put_key(kbuf + c->klen, b, i, &q->distinct);
            uint64_t h2 = hash_bytes(kbuf, c->klen + c->dklen, t->dset.seed);
            if (!tab_get(&t->dset, kbuf, h2, &is_new, &rc))
                return rc;
        }
    }
    return 0;
}

static bool q_block_pred(void *ctx, unsigned thread, const struct store_block_meta *m)
{
    struct qctx *c = ctx;
    return filter_block_may_match(c->filter, m);
}

static int q_on_block(void *ctx, unsigned thread, const struct store_block *b)
{
    struct qctx *c = ctx;
    const struct query_spec *q = c->q;
    struct qthread *t = &c->th[thread];
    size_t n = b->n;
    uint8_t *sel = t->sel;
    if (c->time_bounded) {
        for (size_t i = 0; i < n; i++)
            sel[i] = b->start_ms[i] >= q->t_lo && b->start_ms[i] <= q->t_hi;
    } else {
        memset(sel, 1, n);
    }
    long cnt = filter_eval_block(c->filter, b, sel, t->fs);
    if (cnt < 0)
        return t->rc = (int)cnt;
    if (cnt == 0)
        return 0;
    if (!q->nkeys && !q->count_only) { /* plain listing: single thread, in scan order */
        for (size_t i = 0; i < n; i++) {
            if (!sel[i])
                continue;
            struct flow_rec r;
            store_block_record(b, i, &r);
            t->matched++;
            t->packets += r.packets;
            t->bytes += r.bytes;
            if (r.start_ms < t->t_first)
                t->t_first = r.start_ms;
            if (r.start_ms > t->t_last)
                t->t_last = r.start_ms;
            if (q->on_record && q->on_record(q->record_ctx, &r))
                return 1;
            if (q->limit && ++c->listed >= q->limit)
                return 1;
        }
        return 0;
    }
    uint64_t pk = 0, by = 0, tf = t->t_first, tl = t->t_last;
    for (size_t i = 0; i < n; i++) {
        if (!sel[i])
            continue;
        pk += b->packets[i];
        by += b->bytes[i];
    }
    if (c->need_times) {
        for (size_t i = 0; i < n; i++) {
            if (!sel[i])
                continue;
            if (b->start_ms[i] < tf)
                tf = b->start_ms[i];
            if (b->start_ms[i] > tl)
                tl = b->start_ms[i];
        }
    }
    t->matched += (uint64_t)cnt;
    t->packets += pk;
    t->bytes += by;
    t->t_first = tf;
    t->t_last = tl;
    if (q->count_only)
        return 0;
    uint8_t *kb = t->keybuf;
    if (c->direct) {
        uint64_t *d = t->direct;
        const uint16_t *p16 = NULL;
        if (q->nkeys == 1 && q->keys[0].id == QK_DSTPORT)
            p16 = b->dst_port;
        else if (q->nkeys == 1 && q->keys[0].id == QK_SRCPORT)
            p16 = b->src_port;
        for (size_t i = 0; i < n; i++) {
            if (!sel[i])
                continue;
            size_t ix;
            if (p16) {
                ix = p16[i];
            } else {
                for (size_t k = 0; k < q->nkeys; k++)
                    put_key(kb + c->koff[k], b, i, &q->keys[k]);
                ix = c->klen == 2 ? (size_t)kb[0] << 8 | kb[1] : c->klen == 1 ? kb[0] : 0;
            }
            d[3 * ix]++;
            d[3 * ix + 1] += b->packets[i];
            d[3 * ix + 2] += b->bytes[i];
        }
        return 0;
    }
    if (c->packed)
        return t->rc = agg_block_packed(c, t, b, sel);
    for (size_t i = 0; i < n; i++) {
        if (!sel[i])
            continue;
        int rc = agg_row_generic(c, t, b, i);
        if (rc)
            return t->rc = rc;
    }
    return 0;
}

/* One result row: a group entry (counters at e[1..4]) of the packed table (key == NULL: the
 * key is e[0] packed) or of the generic table (key = its bytes). */
struct qrow {
    const uint64_t *e;
    const uint8_t *key;
};

/* Byte key of row r (unpacked into buf when packed). */
static const uint8_t *row_key(const struct qctx *c, const struct qrow *r,
                              uint8_t buf[QUERY_MAX_KEYS * 16])
{
    if (r->key)
        return r->key;
    unpack_key(c->q->keys, c->q->nkeys, c->gbits, r->e[0], buf);
    return buf;
}

/* Row order: the measure descending, then flows descending, then the byte key ascending (a
 * total order: keys are unique). */
static int row_cmp(const struct qctx *c, const struct qrow *ra, const struct qrow *rb)
{
    const uint64_t *x = ra->e, *y = rb->e;
    enum query_order o = c->q->order;
    unsigned f = o == QO_FLOWS ? 1 : o == QO_PACKETS ? 2 : o == QO_BYTES ? 3 : 4;
    if (x[f] != y[f])
        return x[f] > y[f] ? -1 : 1;
    if (f != 1 && x[1] != y[1])
        return x[1] > y[1] ? -1 : 1;
    if (!ra->key && !rb->key) /* packed keys order as their bytes do (big-endian fields) */
        return x[0] < y[0] ? -1 : x[0] > y[0];
    uint8_t ka[QUERY_MAX_KEYS * 16], kb[QUERY_MAX_KEYS * 16];
    return memcmp(row_key(c, ra, ka), row_key(c, rb, kb), c->klen);
}

static int cmp_rows(const void *a, const void *b, void *arg)
{
    return row_cmp(arg, a, b);
}

/* Bounded selection of the best `cap` rows: a heap whose root is the worst row kept. */
struct topn {
    struct qrow *h;
    size_t n, cap;
};

static void topn_sift_down(const struct qctx *c, struct topn *t, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < t->n && row_cmp(c, &t->h[l], &t->h[w]) > 0)
            w = l;
        if (r < t->n && row_cmp(c, &t->h[r], &t->h[w]) > 0)
            w = r;
        if (w == i)
            return;
        struct qrow tmp = t->h[i];
        t->h[i] = t->h[w];
        t->h[w] = tmp;
        i = w;
    }
}

static void topn_offer(const struct qctx *c, struct topn *t, const struct qrow *r)
{
    if (t->n < t->cap) {
        size_t i = t->n++;
        t->h[i] = *r;
        while (i) {
            size_t p = (i - 1) / 2;
            if (row_cmp(c, &t->h[p], &t->h[i]) >= 0)
                break;
            struct qrow tmp = t->h[i];
            t->h[i] = t->h[p];
            t->h[p] = tmp;
            i = p;
        }
        return;
    }
    if (row_cmp(c, r, &t->h[0]) >= 0)
        return; /* not better than the worst kept */
    t->h[0] = *r;
    topn_sift_down(c, t, 0);
}

/* ---- run ------------------------------------------------------------------------------- */

/* The owner entry of packed group key after merge() (threads 0..nth-1), or NULL. */
static uint64_t *ptab_owner(struct qctx *c, unsigned nth, uint64_t key)
{
    for (unsigned u = 0; u < nth; u++) {
        uint64_t *x = ptab_find(&c->th[u].ptab, key);
        if (x)
            return x;
    }
    return NULL;
}

static int merge(struct qctx *c, unsigned nth)
{
    struct agg_tab *t0 = &c->th[0].tab, *d0 = &c->th[0].dset;
    int rc = 0;
    if (c->direct) {
        size_t slots = (size_t)1 << (8 * c->klen);
        for (size_t ix = 0; ix < slots; ix++) {
            uint64_t fl = 0, pk = 0, by = 0;
            for (unsigned th = 0; th < nth; th++) {
                fl += c->th[th].direct[3 * ix];
                pk += c->th[th].direct[3 * ix + 1];
                by += c->th[th].direct[3 * ix + 2];
            }
            if (!fl)
                continue;
            uint8_t key[2] = {(uint8_t)(c->klen == 2 ? ix >> 8 : ix), (uint8_t)ix};
            bool is_new;
            uint64_t *x = tab_get(t0, key, hash_bytes(key, c->klen, t0->seed), &is_new, &rc);
            if (!x)
                return rc;
            x[1] = fl;
            x[2] = pk;
            x[3] = by;
        }
        return 0;
    }
    /* Packed groups are merged in place, without a table of the union: each entry of thread
     * th's table is added into the first lower table that holds its key, if any, and then
     * marked PTAB_MERGED; otherwise it stays where it is, as the group's owner. */
    struct ptab *p0 = &c->th[0].ptab;
    struct pset *s0 = &c->th[0].pset;
    for (unsigned th = 1; th < nth; th++) {
        struct ptab *p = &c->th[th].ptab;
        for (size_t i = 0; i < p->nslots; i++) {
            uint64_t *e = p->slot + i * p->words;
            if (i + QUERY_PREFETCH < p->nslots) {
                const uint64_t *f = e + QUERY_PREFETCH * p->words;
                if (f[1])
                    ptab_prefetch(p0, ptab_hash(f[0], p0->seed));
            }
            if (!e[1])
                continue;
            for (unsigned u = 0; u < th; u++) {
                uint64_t *x = ptab_find(&c->th[u].ptab, e[0]);
                if (x) { /* the first hit is the owner: lower tables lack the key */
                    x[1] += e[1];
                    x[2] += e[2];
                    x[3] += e[3];
                    e[1] |= PTAB_MERGED;
                    c->pmerged++;
                    break;
                }
            }
        }
        struct pset *ps = &c->th[th].pset;
        if ((rc = pset_reserve(s0, s0->n + ps->n)))
            return rc;
        for (size_t i = 0; i < ps->nslots; i++) {
            if (i + QUERY_PREFETCH < ps->nslots && ps->slot[i + QUERY_PREFETCH])
                pset_prefetch(s0, ptab_hash(ps->slot[i + QUERY_PREFETCH], s0->seed));
            if (ps->slot[i] && (rc = pset_add(s0, ps->slot[i])))
                return rc;
        }
        if (ps->has_zero && (rc = pset_add(s0, 0)))
            return rc;
        pset_release(ps);
    }
    for (unsigned th = 1; th < nth; th++) {
        struct agg_tab *t = &c->th[th].tab, *d = &c->th[th].dset;
        for (size_t i = 0; i < t->n; i++) {
            const uint64_t *e = tab_entry(t, i);
            bool is_new;
            uint64_t *x = tab_get(t0, tab_key(t, e), e[0], &is_new, &rc);
            if (!x)
                return rc;
            x[1] += e[1];
            x[2] += e[2];
            x[3] += e[3];
        }
        tab_release(t);
        for (size_t i = 0; i < d->n; i++) {
            const uint64_t *e = tab_entry(d, i);
            bool is_new;
            if (!tab_get(d0, tab_key(d, e), e[0], &is_new, &rc))
                return rc;
        }
        tab_release(d);
    }
    if (c->q->has_distinct) {
        /* Count each (group, value) pair into its group: packed pairs belong to packed
         * groups; a generic pair's group is packed when its addresses are IPv4. Every group
         * exists already (it counted the flow that made the pair). */
        for (size_t i = 0; i < s0->nslots + 1; i++) {
            uint64_t v;
            if (i < s0->nslots) {
                if (!(v = s0->slot[i]))
                    continue;
            } else if (s0->has_zero) {
                v = 0;
            } else {
                break;
            }
            uint64_t *x = ptab_owner(c, nth, v >> c->dbits);
            if (!x)
                return BS_ENOTFOUND; /* cannot happen: a pair's group counted its flow */
            x[4]++;
        }
        for (size_t i = 0; i < d0->n; i++) {
            const uint8_t *gk = tab_key(d0, tab_entry(d0, i));
            uint64_t g;
            uint64_t *x;
            if (c->packed && pack_bytes(c->q->keys, c->q->nkeys, gk, &g)) {
                if (!(x = ptab_owner(c, nth, g)))
                    return BS_ENOTFOUND; /* cannot happen: a pair's group counted its flow */
            } else {
                bool is_new;
                x = tab_get(t0, gk, hash_bytes(gk, c->klen, t0->seed), &is_new, &rc);
            }
            if (!x)
                return rc;
            x[4]++;
        }
    }
    return 0;
}

int query_exec(struct store *s, const struct query_spec *q, struct query_result **result,
               struct query_error *err)
{
    struct query_error edummy;
    if (!err)
        err = &edummy;
    memset(err, 0, sizeof *err);
    *result = NULL;
    /* A store that evaluates SQL (ClickHouse) answers the whole query itself. */
    if (query_sql_wanted(s))
        return query_sql_exec(s, q, result, err);
    uint64_t t0 = clock_mono_ns();
    int rc;
    struct query_result *res = calloc(1, sizeof *res);
    struct qctx *c = calloc(1, sizeof *c);
    if (!c || !res) {
        free(c);
        free(res);
        return BS_ENOMEM;
    }
    query_result_init(res, q);
    struct query_stats *st = &res->stats;
    c->q = q;
    struct filter_error fe;
    if ((rc = filter_compile(q->filter, &c->filter, &fe))) {
        snprintf(err->msg, sizeof err->msg, "%s", fe.msg);
        err->column = fe.column;
        err->in_filter = true;
        goto out;
    }
    struct filter *having = NULL;
    if (q->having && (rc = filter_compile_having(q->having, &having, &fe))) {
        snprintf(err->msg, sizeof err->msg, "%s", fe.msg);
        err->column = fe.column;
        err->in_having = true;
        goto out;
    }
    if (q->order == QO_DISTINCT && !q->has_distinct) {
        snprintf(err->msg, sizeof err->msg, "ordering by distinct needs a distinct key (-D KEY)");
        rc = BS_EUSAGE;
        goto out_having;
    }
    c->time_bounded = q->t_lo > 0 || q->t_hi != UINT64_MAX;
    for (size_t k = 0; k < q->nkeys; k++) {
        c->koff[k] = c->klen;
        c->klen += query_key_size(q->keys[k].id);
    }
    c->dklen = q->has_distinct ? query_key_size(q->distinct.id) : 0;
    c->direct = q->nkeys && c->klen <= 2 && !q->has_distinct;
    for (size_t k = 0; k < q->nkeys; k++)
        c->gbits += key_bits(q->keys[k].id);
    c->dbits = q->has_distinct ? key_bits(q->distinct.id) : 0;
    c->packed = q->nkeys && !c->direct && c->gbits <= 64;
    c->pair_packed = c->packed && q->has_distinct && c->gbits + c->dbits <= 64;

    /* Columns: the filter's, the keys', packets and bytes; start_ms only when a time window,
     * the summary or the listing needs it. */
    c->need_times =
        c->time_bounded || q->count_only || !q->nkeys || (q->summary && q->format == QF_TABLE);
    uint64_t cols =
        filter_columns(c->filter) | STORE_COLBIT(STORE_COL_PACKETS) | STORE_COLBIT(STORE_COL_BYTES);
    if (c->need_times)
        cols |= STORE_COLBIT(STORE_COL_START_MS);
    for (size_t k = 0; k < q->nkeys; k++)
        cols |= query_key_cols(q->keys[k].id);
    if (q->has_distinct)
        cols |= query_key_cols(q->distinct.id);
    if (!q->nkeys && !q->count_only)
        cols = STORE_COLS_ALL;
    /* Unpredictable enough for a table seed: the clock and where the context lives. */
    uint64_t seed = hash_mix64(clock_mono_ns() ^ (uint64_t)(uintptr_t)c);
    unsigned nth = q->threads ? q->threads : 1;
    if (nth > STORE_SCAN_MAX_THREADS)
        nth = STORE_SCAN_MAX_THREADS;
    if (!q->nkeys && !q->count_only)
        nth = 1; /* records are printed in scan order */
    for (unsigned t = 0; t < nth; t++) {
        struct qthread *th = &c->th[t];
        th->fs = filter_scratch_new();
        th->sel = malloc(SEGMENT_BLOCK_MAX);
        th->keybuf = malloc(QUERY_MAX_KEYS * 16 + 16 + 16);
        th->t_first = UINT64_MAX;
        tab_init(&th->tab, c->klen, true, q->max_groups);
        tab_init(&th->dset, c->klen + c->dklen, false, q->max_distinct);
        if (c->direct)
            th->direct = calloc((size_t)3 << (8 * c->klen), sizeof *th->direct);
        ptab_init(&th->ptab, q->has_distinct ? 5 : 4, q->max_groups, ptab_seed(seed, t));
        th->pset.max = q->max_distinct;
        th->pset.seed = ptab_seed(seed, t);
        if (c->packed) {
            th->kb = malloc(SEGMENT_BLOCK_MAX * sizeof *th->kb);
            th->hv = malloc(SEGMENT_BLOCK_MAX * sizeof *th->hv);
            th->wide = malloc(SEGMENT_BLOCK_MAX);
        }
        if (c->pair_packed) {
            th->dv = malloc(SEGMENT_BLOCK_MAX * sizeof *th->dv);
            th->dh = malloc(SEGMENT_BLOCK_MAX * sizeof *th->dh);
            th->dwide = malloc(SEGMENT_BLOCK_MAX);
        }
        if (!th->fs || !th->sel || !th->keybuf || (c->direct && !th->direct) ||
            (c->packed && (!th->kb || !th->hv || !th->wide)) ||
            (c->pair_packed && (!th->dv || !th->dh || !th->dwide))) {
            rc = BS_ENOMEM;
            goto out_threads;
        }
    }
    struct store_scan sc = {
        .t_lo = q->t_lo,
        .t_hi = q->t_hi,
        .cols = cols,
        .threads = nth,
        .block_pred = q_block_pred,
        .on_block = q_on_block,
        .ctx = c,
    };
    rc = store_scan(s, &sc, &st->scan);
    if (rc == 1)
        rc = 0; /* listing limit reached */
    for (unsigned t = 0; t < nth && !rc; t++)
        rc = c->th[t].rc;
    if (rc) {
        if (rc == BS_ELIMIT)
            snprintf(err->msg, sizeof err->msg,
                     "aggregation exceeds its cap (%zu groups, %zu distinct pairs); narrow the "
                     "filter or time window",
                     q->max_groups, q->max_distinct);
        goto out_threads;
    }
    st->t_first = UINT64_MAX;
    for (unsigned t = 0; t < nth; t++) {
        st->matched += c->th[t].matched;
        st->packets += c->th[t].packets;
        st->bytes += c->th[t].bytes;
        if (c->th[t].t_first < st->t_first)
            st->t_first = c->th[t].t_first;
        if (c->th[t].t_last > st->t_last)
            st->t_last = c->th[t].t_last;
    }
    if (!c->need_times)
        st->t_first = st->t_last = 0;
    if (q->nkeys && !q->count_only) {
        if ((rc = merge(c, nth))) {
            if (rc == BS_ELIMIT)
                snprintf(err->msg, sizeof err->msg, "aggregation exceeds its cap");
            goto out_threads;
        }
        struct agg_tab *t = &c->th[0].tab;
        st->groups = t->n;
        for (unsigned th = 0; th < nth; th++)
            st->groups += c->th[th].ptab.n;
        st->groups -= c->pmerged;
        if (st->groups > q->max_groups) {
            rc = BS_ELIMIT;
            snprintf(err->msg, sizeof err->msg, "aggregation exceeds its cap");
            goto out_threads;
        }
        /* Rows passing --having: all of them sorted, or the best `limit` by a bounded heap
         * (no sort of every group for a top N). Packed groups are those of every thread's
         * table not merged into a lower one. */
        bool top = q->limit && q->limit < st->groups;
        size_t cap = top ? q->limit : (size_t)st->groups;
        struct topn sel = {.h = malloc((cap ? cap : 1) * sizeof *sel.h), .cap = cap};
        if (!sel.h) {
            rc = BS_ENOMEM;
            goto out_threads;
        }
        for (unsigned th = 0; th <= nth; th++) {
            const struct ptab *p = th < nth ? &c->th[th].ptab : NULL;
            size_t end = p ? p->nslots : t->n;
            for (size_t i = 0; i < end; i++) {
                struct qrow r;
                if (p) {
                    r.e = p->slot + i * p->words;
                    r.key = NULL;
                    if (!r.e[1] || (r.e[1] & PTAB_MERGED))
                        continue;
                } else {
                    r.e = tab_entry(t, i);
                    r.key = tab_key(t, r.e);
                }
                if (having &&
                    !filter_match_row(having, r.e[1], r.e[2], r.e[3], q->has_distinct ? r.e[4] : 0))
                    continue;
                if (top)
                    topn_offer(c, &sel, &r);
                else if (sel.n < sel.cap) /* always: cap counts every group */
                    sel.h[sel.n++] = r;
            }
        }
        qsort_r(sel.h, sel.n, sizeof *sel.h, cmp_rows, c);
        size_t nr = sel.n;
        if (q->limit && nr > q->limit)
            nr = q->limit;
        /* The rows are in result order already: pushed as they are, no second sort. */
        uint8_t kbuf[QUERY_MAX_KEYS * 16];
        for (size_t i = 0; i < nr && !rc; i++) {
            const uint64_t *e = sel.h[i].e;
            rc = query_result_push(res, row_key(c, &sel.h[i], kbuf), e[1], e[2], e[3],
                                   q->has_distinct ? e[4] : 0);
        }
        free(sel.h);
        if (rc)
            goto out_threads;
        res->sorted = true; /* in result order: finish only resolves the key pointers */
        query_result_finish(res);
    }
    st->wall_ns = clock_mono_ns() - t0;
out_threads:
    for (unsigned t = 0; t < STORE_SCAN_MAX_THREADS; t++) {
        filter_scratch_free(c->th[t].fs);
        free(c->th[t].sel);
        free(c->th[t].keybuf);
        free(c->th[t].direct);
        tab_release(&c->th[t].tab);
        tab_release(&c->th[t].dset);
        ptab_release(&c->th[t].ptab);
        pset_release(&c->th[t].pset);
        free(c->th[t].kb);
        free(c->th[t].hv);
        free(c->th[t].dh);
        free(c->th[t].wide);
        free(c->th[t].dv);
        free(c->th[t].dwide);
    }
out_having:
    filter_free(having);
out:
    filter_free(c->filter);
    free(c);
    if (rc)
        query_result_free(res);
    else
        *result = res;
    return rc;
}

/* ---- query_run: execute and print ------------------------------------------------------- */

struct printer {
    const struct query_spec *q;
    struct buf line;
    bool header_done;
};

static void printer_header(struct printer *p)
{
    if (!p->header_done)
        query_print_record_header(p->q->format, p->q->out);
    p->header_done = true;
}

static int print_one(void *ctx, const struct flow_rec *r)
{
    struct printer *p = ctx;
    printer_header(p);
    query_print_record(r, p->q->format, &p->line, p->q->out);
    return 0;
}

int query_run(struct store *s, const struct query_spec *q, struct query_stats *st,
              struct query_error *err)
{
    struct printer p = {.q = q, .line = BUF_INIT(1 << 20)};
    struct query_spec qq = *q;
    bool listing = !q->nkeys && !q->count_only;
    if (listing) {
        qq.on_record = print_one;
        qq.record_ctx = &p;
    }
    struct query_result *res;
    int rc = query_exec(s, &qq, &res, err);
    buf_release(&p.line);
    if (st)
        memset(st, 0, sizeof *st);
    if (rc)
        return rc;
    if (listing)
        printer_header(&p); /* the heading even when nothing matched */
    else if (q->nkeys && !q->count_only)
        query_print_rows(res, q->format, q->out);
    if (q->count_only || (q->summary && q->format == QF_TABLE)) {
        if (!q->count_only)
            fputc('\n', q->out);
        query_print_summary(&res->stats, q->format, q->out);
    }
    if (st)
        *st = res->stats;
    query_result_free(res);
    return 0;
}
