/* tel_src.c - capped source profile table (see tel_src.h). */
#include "telescope/tel_src.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core/err.h"
#include "core/hash.h"

#define INITIAL_PROFILES 1024u
#define HUGE_PAGE (2u << 20)

/* Allocation for the table's arrays: cache-line aligned, and for large arrays aligned to and
 * advised for transparent huge pages (random access over hundreds of MB otherwise pays a TLB
 * miss per packet). zero: clear the memory. */
static void *table_alloc(size_t n, bool zero)
{
    size_t align = n >= 2 * (size_t)HUGE_PAGE ? HUGE_PAGE : 64;
    size_t size = (n + align - 1) / align * align;
    void *p = aligned_alloc(align, size ? size : align);
    if (!p)
        return NULL;
    if (align == HUGE_PAGE)
        (void)madvise(p, size, MADV_HUGEPAGE); /* advice only: failure changes nothing */
    if (zero)
        memset(p, 0, size);
    return p;
}

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
    t->seed = seed;
    t->ent_cap = t->max < INITIAL_PROFILES ? t->max : INITIAL_PROFILES;
    t->index_cap = index_for(t->ent_cap);
    t->ent = table_alloc(t->ent_cap * sizeof *t->ent, false);
    t->index = table_alloc(t->index_cap * sizeof *t->index, true);
    if (!t->ent || !t->index) {
        tel_src_release(t);
        return BS_ENOMEM;
    }
    return 0;
}

void tel_src_release(struct tel_src_table *t)
{
    free(t->ent);
    free(t->index);
    memset(t, 0, sizeof *t);
}

void tel_src_clear(struct tel_src_table *t)
{
    t->n = 0;
    memset(t->index, 0, t->index_cap * sizeof *t->index);
}


static void reindex(struct tel_src_table *t)
{
    memset(t->index, 0, t->index_cap * sizeof *t->index);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t h = tel_addr_hash(&t->ent[i].addr);
        size_t s = tel_src_slot(t, h);
        while (t->index[s])
            s = (s + 1) & (t->index_cap - 1);
        t->index[s] = tel_src_tag(h) | (uint64_t)(i + 1);
    }
}

static int grow(struct tel_src_table *t)
{
    size_t nc = t->ent_cap * 2;
    if (nc > t->max)
        nc = t->max;
    struct tel_src *ne = table_alloc(nc * sizeof *ne, false);
    if (!ne)
        return BS_ENOMEM;
    memcpy(ne, t->ent, t->n * sizeof *ne);
    free(t->ent);
    t->ent = ne;
    t->ent_cap = nc;
    size_t ic = index_for(nc);
    if (ic != t->index_cap) {
        uint64_t *ni = table_alloc(ic * sizeof *ni, true);
        if (!ni)
            return BS_ENOMEM;
        free(t->index);
        t->index = ni;
        t->index_cap = ic;
        reindex(t);
    }
    return 0;
}

/* 16-byte equality as two word compares (memcmp is a library call here). */
static inline bool same_addr(const struct ipaddr *a, const struct ipaddr *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    memcpy(&b0, b->b, 8);
    memcpy(&b1, b->b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

struct tel_src *tel_src_get(struct tel_src_table *t, const struct ipaddr *addr, uint64_t addr_hash,
                            bool *created)
{
    *created = false;
    uint64_t tag = tel_src_tag(addr_hash);
    size_t s = tel_src_slot(t, addr_hash);
    for (;;) {
        uint64_t e = t->index[s];
        if (!e)
            break;
        if ((e & ~0xffffffffull) == tag) {
            struct tel_src *p = &t->ent[(uint32_t)e - 1];
            if (same_addr(&p->addr, addr))
                return p;
        }
        s = (s + 1) & (t->index_cap - 1);
    }
    if (t->n >= t->max)
        return NULL;
    if (t->n == t->ent_cap) {
        if (grow(t))
            return NULL;
        s = tel_src_slot(t, addr_hash);
        while (t->index[s])
            s = (s + 1) & (t->index_cap - 1);
    }
    struct tel_src *p = &t->ent[t->n];
    memset(p, 0, sizeof *p);
    p->addr = *addr;
    t->index[s] = tag | (uint64_t)(++t->n);
    *created = true;
    return p;
}

size_t tel_src_memory(const struct tel_src_table *t)
{
    return t->ent_cap * sizeof *t->ent + t->index_cap * sizeof *t->index;
}


static int order_cmp_r(const void *a, const void *b, void *arg)
{
    const struct tel_src *ent = arg;
    return ipaddr_cmp(&ent[*(const uint32_t *)a].addr, &ent[*(const uint32_t *)b].addr);
}

uint32_t *tel_src_order(const struct tel_src_table *t)
{
    uint32_t *o = malloc((t->n ? t->n : 1) * sizeof *o);
    if (!o)
        return NULL;
    for (size_t i = 0; i < t->n; i++)
        o[i] = (uint32_t)i;
    qsort_r(o, t->n, sizeof *o, order_cmp_r, t->ent);
    return o;
}
