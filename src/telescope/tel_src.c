/* tel_src.c - capped source profile table (see tel_src.h). */
#include "telescope/tel_src.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/hll.h"

#define HUGE_PAGE    ((size_t)2 << 20)
#define SKETCH_BYTES ((size_t)1 << TEL_SRC_DST_P)

_Static_assert(sizeof(struct tel_src) == 128, "a source profile is two cache lines");
_Static_assert(offsetof(struct tel_src, ports) == 64, "line 1 starts with the port list");
_Static_assert(sizeof(struct tel_src_ext) == 64, "an extension is one cache line");
_Static_assert(TEL_TAG_COUNT <= 16, "tag_union holds every tag");

/* The table reserves address space for max_sources profiles and their index up front
 * (mmap with MAP_NORESERVE: nothing is committed until touched), so it never reallocates or
 * copies; memory is committed page by page as sources arrive and returned at each day's
 * clear (MADV_DONTNEED). Large reservations are advised for transparent huge pages: random
 * access over hundreds of MB otherwise pays a TLB miss per packet. */
static void *reserve(size_t bytes, size_t *mapped)
{
    size_t size = (bytes + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE;
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    if (size >= 2 * HUGE_PAGE)
        (void)madvise(p, size, MADV_HUGEPAGE); /* advice only: failure changes nothing */
    *mapped = size;
    return p;
}

/* The index starts small and doubles (a rehash of the entry numbers, no profile moves) so
 * that a day with few sources keeps it in cache. */
#define INITIAL_INDEXED 4096u

static size_t index_for(size_t profiles)
{
    size_t c = 16;
    while (c < profiles * 2)
        c <<= 1;
    return c;
}

int tel_src_init(struct tel_src_table *t, size_t max_sources, uint64_t seed)
{
    memset(t, 0, sizeof *t);
    t->max = max_sources ? max_sources : 1;
    if (t->max > (1u << 31) - 1) /* the index (2 slots a profile) is placed by 32 hash bits */
        t->max = (1u << 31) - 1;
    t->seed = seed;
    t->ent_cap = t->max;
    t->index_cap = index_for(t->max < INITIAL_INDEXED ? t->max : INITIAL_INDEXED);
    t->max_sketch = t->max / 4 > 1024 ? t->max / 4 : 1024;
    t->ent = reserve(t->ent_cap * sizeof *t->ent, &t->ent_mapped);
    t->index = reserve(t->index_cap * sizeof *t->index, &t->index_mapped);
    t->ext = reserve(t->max * sizeof *t->ext, &t->ext_mapped);
    t->sketch = reserve(t->max_sketch * SKETCH_BYTES, &t->sketch_mapped);
    if (!t->ent || !t->index || !t->ext || !t->sketch) {
        tel_src_release(t);
        return BS_ENOMEM;
    }
    return 0;
}

void tel_src_release(struct tel_src_table *t)
{
    if (t->ent)
        munmap(t->ent, t->ent_mapped);
    if (t->index)
        munmap(t->index, t->index_mapped);
    if (t->ext)
        munmap(t->ext, t->ext_mapped);
    if (t->sketch)
        munmap(t->sketch, t->sketch_mapped);
    memset(t, 0, sizeof *t);
}

/* Doubles the index when it would pass half full. Returns 0 or BS_ENOMEM. */
static int grow_index(struct tel_src_table *t)
{
    size_t nc = t->index_cap * 2, mapped;
    uint64_t *ni = reserve(nc * sizeof *ni, &mapped);
    if (!ni)
        return BS_ENOMEM;
    for (size_t i = 0; i < t->index_cap; i++) { /* a sequential read of the old index */
        uint64_t e = t->index[i];
        if (!e)
            continue;
        size_t s = (size_t)((e >> 32) & (nc - 1));
        while (ni[s])
            s = (s + 1) & (nc - 1);
        ni[s] = e;
    }
    munmap(t->index, t->index_mapped);
    t->index = ni;
    t->index_mapped = mapped;
    t->index_cap = nc;
    return 0;
}

void tel_src_clear(struct tel_src_table *t)
{
    /* Dropping the pages zeroes them (private anonymous memory) and returns them to the
     * system; the next day commits only what it uses, its index starting small again (in
     * the same mapping: growing moves it to a new one). */
    if (madvise(t->index, t->index_mapped, MADV_DONTNEED))
        memset(t->index, 0, t->index_cap * sizeof *t->index);
    t->index_cap = index_for(t->max < INITIAL_INDEXED ? t->max : INITIAL_INDEXED);
    (void)madvise(t->ent, t->ent_mapped, MADV_DONTNEED);
    (void)madvise(t->ext, t->ext_mapped, MADV_DONTNEED);
    (void)madvise(t->sketch, t->sketch_mapped, MADV_DONTNEED);
    t->n = 0;
    t->next = 0;
    t->nsketch = 0;
}

struct tel_src *tel_src_get(struct tel_src_table *t, const struct ipaddr *addr, uint64_t addr_hash,
                            bool *created)
{
    *created = false;
    uint64_t mixed = tel_src_mix(t, addr_hash), tag = mixed & ~0xffffffffull;
    size_t s = tel_src_slot_of(t, mixed);
    for (;;) {
        uint64_t e = t->index[s];
        if (!e)
            break;
        if ((e & ~0xffffffffull) == tag) {
            struct tel_src *p = &t->ent[(uint32_t)e - 1];
            if (tel_src_holds(t, p, addr))
                return p;
        }
        s = (s + 1) & (t->index_cap - 1);
    }
    if (t->n >= t->max)
        return NULL;
    if ((t->n + 1) * 2 > t->index_cap) {
        if (grow_index(t))
            return NULL;
        s = tel_src_slot_of(t, mixed);
        while (t->index[s])
            s = (s + 1) & (t->index_cap - 1);
    }
    struct tel_src *p = &t->ent[t->n];
    memset(p, 0, sizeof *p);
    p->addr4 = ipaddr_v4(addr);
    if (!ipaddr_is_v4(addr)) { /* the extension holds the rest (one at most a profile) */
        struct tel_src_ext *x = &t->ext[t->next++];
        memset(x, 0, sizeof *x);
        x->addr6 = *addr;
        p->ext = (uint32_t)t->next;
        p->v6 = 1;
    }
    t->index[s] = tag | (uint64_t)(++t->n);
    *created = true;
    return p;
}

/* The sketch sees 64-bit hashes re-derived from the 32-bit ones kept in the small set, so
 * the destinations seen before the sketch existed can be replayed into it. */
static inline uint64_t sketch_hash(uint32_t h32)
{
    return tel_src_sketch_hash((uint64_t)h32 << 32);
}

typedef int32_t i32x4 __attribute__((vector_size(16)));

/* True when h is among the s->ndst (at most TEL_SRC_DST_SMALL) exact destination hashes:
 * all seven compared at once, without a loop that stops at a random place. */
static inline bool small_has(const struct tel_src *s, uint32_t h)
{
    _Static_assert(TEL_SRC_DST_SMALL == 7, "two 4-lane vectors hold the exact set");
    static const i32x4 lane0 = {0, 1, 2, 3}, lane4 = {4, 5, 6, 7};
    _Static_assert(offsetof(struct tel_src, fp_votes) == offsetof(struct tel_src, dst_small) + 28,
                   "the second vector's last lane (masked off) is fp_votes[0]");
    const char *base = (const char *)s + offsetof(struct tel_src, dst_small);
    i32x4 a, b, want = {0}, n = {0};
    memcpy(&a, base, sizeof a);
    memcpy(&b, base + 16, sizeof b);
    want += (int32_t)h;
    n += s->ndst;
    i32x4 hit = ((a == want) & (lane0 < n)) | ((b == want) & (lane4 < n));
    uint64_t w[2];
    memcpy(w, &hit, sizeof w);
    return (w[0] | w[1]) != 0;
}

void tel_src_add_dst(struct tel_src_table *t, struct tel_src *s, uint64_t dst_hash)
{
    uint32_t h = (uint32_t)(dst_hash >> 32);
    if (s->ndst == TEL_SRC_DST_SKETCH) {
        hll_add(tel_src_sketch_of(t, s), TEL_SRC_DST_P, sketch_hash(h));
        return;
    }
    if (s->ndst == TEL_SRC_DST_FULL)
        return;
    if (small_has(s, h))
        return;
    if (s->ndst < TEL_SRC_DST_SMALL) {
        s->dst_small[s->ndst++] = h;
        return;
    }
    if (t->nsketch >= t->max_sketch) {
        s->ndst = TEL_SRC_DST_FULL;
        t->sketch_exhausted++;
        return;
    }
    uint8_t *sk = t->sketch + t->nsketch * SKETCH_BYTES;
    memset(sk, 0, SKETCH_BYTES);
    for (unsigned i = 0; i < TEL_SRC_DST_SMALL; i++)
        hll_add(sk, TEL_SRC_DST_P, sketch_hash(s->dst_small[i]));
    hll_add(sk, TEL_SRC_DST_P, sketch_hash(h));
    s->dst_small[0] = (uint32_t)t->nsketch++; /* max_sketch <= max / 4 < 2^31 */
    s->ndst = TEL_SRC_DST_SKETCH;
}

uint64_t tel_src_dst_count(const struct tel_src_table *t, const struct tel_src *s)
{
    if (s->ndst == TEL_SRC_DST_SKETCH)
        return hll_estimate(tel_src_sketch_of(t, s), TEL_SRC_DST_P);
    if (s->ndst == TEL_SRC_DST_FULL)
        return TEL_SRC_DST_SMALL + 1;
    return s->ndst;
}

static struct tel_src_ext *ext_of(struct tel_src_table *t, struct tel_src *s)
{
    if (!s->ext) { /* at most one a profile, so the pool (one a profile) never runs out */
        struct tel_src_ext *x = &t->ext[t->next++];
        memset(x, 0, sizeof *x);
        s->ext = (uint32_t)t->next;
    }
    return &t->ext[s->ext - 1];
}

void tel_src_add_port_more(struct tel_src_table *t, struct tel_src *s, uint16_t port)
{
    struct tel_src_ext *x = ext_of(t, s);
    unsigned more = s->nports - TEL_SRC_PORTS_INLINE;
    if (tel_src_list_has(x->ports, more, port))
        return;
    if (s->nports < TEL_SRC_PORTS) {
        x->ports[more] = port;
        s->nports++;
    } else { /* past the list: the sketch counts the extra ports */
        hll_add(x->hll_port, TEL_SRC_PORT_P, hash_mix64(port + 0x1234567ull));
    }
}

bool tel_src_has_port(const struct tel_src_table *t, const struct tel_src *s, uint16_t port)
{
    if (tel_src_list_has(s->ports, s->nports, port))
        return true;
    return s->nports > TEL_SRC_PORTS_INLINE &&
           tel_src_list_has(t->ext[s->ext - 1].ports, s->nports - TEL_SRC_PORTS_INLINE, port);
}

void tel_src_addr(const struct tel_src_table *t, const struct tel_src *s, struct ipaddr *out)
{
    if (s->v6)
        *out = t->ext[s->ext - 1].addr6;
    else
        ipaddr_from_v4(out, s->addr4);
}

void tel_src_read(const struct tel_src_table *t, const struct tel_src *s, uint64_t day_ms,
                  struct tel_src_rec *r)
{
    memset(r, 0, sizeof *r);
    tel_src_addr(t, s, &r->addr);
    r->day_ms = day_ms;
    r->packets = s->packets;
    r->bytes = s->bytes;
    r->first_ms = day_ms + (uint64_t)(int64_t)s->first_off;
    r->last_ms = day_ms + (uint64_t)(int64_t)s->last_off;
    r->destinations = tel_src_dst_count(t, s);
    r->tag_union = s->tag_union;
    r->syn_packets = s->syn_packets;
    r->iot_packets = s->iot_packets;
    memcpy(r->fp_votes, s->fp_votes, sizeof r->fp_votes);
    r->asn = s->asn;
    r->cc = s->cc;
    r->flags = s->flags;
    r->nports = s->nports;
    unsigned in = s->nports < TEL_SRC_PORTS_INLINE ? s->nports : TEL_SRC_PORTS_INLINE;
    memcpy(r->ports, s->ports, in * sizeof *r->ports);
    r->port_count = s->nports;
    if (s->nports > TEL_SRC_PORTS_INLINE) {
        const struct tel_src_ext *x = &t->ext[s->ext - 1];
        memcpy(r->ports + in, x->ports, (s->nports - in) * sizeof *r->ports);
        if (s->nports == TEL_SRC_PORTS)
            r->port_count += hll_estimate(x->hll_port, TEL_SRC_PORT_P);
    }
}

size_t tel_src_memory(const struct tel_src_table *t)
{
    /* Committed memory: the profiles in use (rounded to pages) and the index pages touched,
     * bounded by the whole index. */
    size_t ent = (t->n * sizeof *t->ent + 4095) / 4096 * 4096;
    size_t idx = t->index_cap * sizeof *t->index;
    size_t idx_touched = t->n * 4096;
    return ent + (idx_touched < idx ? idx_touched : idx) + t->next * sizeof *t->ext +
           t->nsketch * SKETCH_BYTES;
}

struct order_key {
    uint64_t hi, lo; /* the address as a 128-bit big-endian number */
    uint32_t idx;
};

static int order_cmp(const void *pa, const void *pb)
{
    const struct order_key *a = pa, *b = pb;
    if (a->hi != b->hi)
        return a->hi < b->hi ? -1 : 1;
    if (a->lo != b->lo)
        return a->lo < b->lo ? -1 : 1;
    return 0;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* All-IPv4 days (the common case) sort (v4 address, entry) pairs with two 16-bit LSD
 * radix passes instead of qsort: stable, linear, no comparison calls. Returns false when
 * some address is not IPv4 (or out of memory): the caller falls back to the general sort. */
static bool order_v4(const struct tel_src_table *t, uint32_t *o)
{
    size_t n = t->n;
    uint64_t *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
    uint32_t *cnt = calloc(65536, sizeof *cnt);
    bool ok = a && b && cnt;
    for (size_t i = 0; ok && i < n; i++) {
        if (t->ent[i].v6)
            ok = false;
        else
            a[i] = (uint64_t)t->ent[i].addr4 << 32 | (uint32_t)i;
    }
    for (int pass = 0; ok && pass < 2; pass++) {
        unsigned shift = pass ? 48 : 32;
        memset(cnt, 0, 65536 * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            cnt[(a[i] >> shift) & 0xffff]++;
        uint32_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            uint32_t c = cnt[d];
            cnt[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            b[cnt[(a[i] >> shift) & 0xffff]++] = a[i];
        uint64_t *tmp = a;
        a = b;
        b = tmp;
    }
    for (size_t i = 0; ok && i < n; i++)
        o[i] = (uint32_t)a[i];
    free(a);
    free(b);
    free(cnt);
    return ok;
}

/* Below this many profiles the radix passes' two 65536-entry count tables cost more than
 * sorting the keys. */
#define RADIX_MIN 4096

uint32_t *tel_src_order(const struct tel_src_table *t)
{
    if (t->n >= RADIX_MIN) {
        uint32_t *v4 = malloc(t->n * sizeof *v4);
        if (v4 && order_v4(t, v4))
            return v4;
        free(v4);
    }
    /* Sort compact keys (one sequential pass over the profiles), not the profiles. */
    struct order_key *k = malloc((t->n ? t->n : 1) * sizeof *k);
    uint32_t *o = malloc((t->n ? t->n : 1) * sizeof *o);
    if (!k || !o) {
        free(k);
        free(o);
        return NULL;
    }
    for (size_t i = 0; i < t->n; i++) {
        struct ipaddr a;
        tel_src_addr(t, &t->ent[i], &a);
        k[i].hi = be64(a.b);
        k[i].lo = be64(a.b + 8);
        k[i].idx = (uint32_t)i;
    }
    qsort(k, t->n, sizeof *k, order_cmp);
    for (size_t i = 0; i < t->n; i++)
        o[i] = k[i].idx;
    free(k);
    return o;
}
