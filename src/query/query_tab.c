/* query_tab.c - the query engine's aggregation tables (generic byte keys, packed groups and
 * pairs) and the packing of keys into 64 bits (see query_int.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/err.h"
#include "query/query_int.h"

void agg_tab_init(struct agg_tab *t, size_t klen, bool counters, size_t max)
{
    memset(t, 0, sizeof *t);
    t->klen = klen;
    t->counters = counters;
    t->stride = (AGG_HDR(counters) + klen + 7) & ~(size_t)7;
    t->max = max;
    t->seed = 0x9e3779b97f4a7c15ull;
}

void agg_tab_release(struct agg_tab *t)
{
    free(t->ent);
    free(t->slots);
    t->ent = NULL;
    t->slots = NULL;
}

static int agg_tab_rehash(struct agg_tab *t, size_t nslots)
{
    uint32_t *ns = calloc(nslots, sizeof *ns);
    if (!ns)
        return BS_ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t s = agg_tab_entry(t, i)[0] & (nslots - 1);
        while (ns[s])
            s = (s + 1) & (nslots - 1);
        ns[s] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = ns;
    t->nslots = nslots;
    return 0;
}

uint64_t *agg_tab_get(struct agg_tab *t, const uint8_t *key, uint64_t h, bool *is_new, int *rc)
{
    if (t->nslots) {
        size_t s = h & (t->nslots - 1);
        uint32_t ix;
        while ((ix = t->slots[s])) {
            uint64_t *e = agg_tab_entry(t, ix - 1);
            if (e[0] == h && !memcmp(agg_tab_key(t, e), key, t->klen)) {
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
        if ((*rc = agg_tab_rehash(t, t->nslots ? t->nslots * 2 : 1024)))
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
    uint64_t *e = agg_tab_entry(t, t->n);
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

/* Zeroed memory for a packed table, freed with free(). Tables from 2 MiB up are aligned and
 * advised for transparent huge pages (random probes into tens of MB otherwise miss the TLB on
 * nearly every row), and zeroed by writing: calloc's untouched pages would first map the zero
 * page on the probe's read and then fault again, with a TLB shootdown across the scan threads,
 * on the first write. */
void *query_tab_zalloc(size_t n, size_t size)
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

void ptab_init(struct ptab *t, unsigned words, size_t max, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->words = words;
    t->max = max;
    t->seed = seed;
}

void ptab_release(struct ptab *t)
{
    free(t->slot);
    t->slot = NULL;
    t->nslots = t->n = 0;
}

int ptab_resize(struct ptab *t, size_t nslots)
{
    uint64_t *ns = query_tab_zalloc(nslots, t->words * sizeof *ns);
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

size_t ptab_slots_for(size_t n)
{
    size_t ns = PTAB_MIN_SLOTS;
    while (n * 4 > ns * 3)
        ns *= 2;
    return ns;
}

void pset_release(struct pset *p)
{
    free(p->slot);
    p->slot = NULL;
    p->nslots = p->n = 0;
    p->has_zero = false;
}

int pset_resize(struct pset *p, size_t nslots)
{
    uint64_t *ns = query_tab_zalloc(nslots, sizeof *ns);
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

int pset_reserve(struct pset *p, size_t n)
{
    size_t ns = ptab_slots_for(n);
    return ns > p->nslots ? pset_resize(p, ns) : 0;
}

/* Shifts the packed value of key k in each of rows 0..n-1 into kb (kb[i] = kb[i] << bits |
 * value). A row whose address for k is IPv6 gets wide[i] = 1 (its packed key is then
 * meaningless). One loop per column kind: no per-row dispatch. */
void query_pack_column(const struct query_key *k, const struct store_block *b, size_t n,
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

/* Packed form of the byte key p (keys[0..nkeys) laid out as query_put_key writes them): false when
 * an address in it is IPv6. */
bool query_pack_bytes(const struct query_key *keys, size_t nkeys, const uint8_t *p, uint64_t *out)
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

/* Inverse of query_pack_bytes: writes the byte key of packed value v (total width `bits`). */
void query_unpack_key(const struct query_key *keys, size_t nkeys, unsigned bits, uint64_t v,
                      uint8_t *p)
{
    for (size_t k = 0; k < nkeys; k++) {
        unsigned kb = query_key_bits(keys[k].id);
        bits -= kb;
        uint64_t x = (v >> bits) & ((UINT64_C(1) << kb) - 1);
        if (query_key_is_addr(keys[k].id)) {
            struct ipaddr a;
            ipaddr_from_v4(&a, (uint32_t)x);
            memcpy(p, a.b, 16);
            p += 16;
        } else {
            size_t sz = query_key_size(keys[k].id);
            query_put_be(p, x, sz);
            p += sz;
        }
    }
}
