/* tel_src.c - capped source profile table (see tel_src.h). */
#include "telescope/tel_src.h"

#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"

#define INITIAL_PROFILES 1024u

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
    t->ent = malloc(t->ent_cap * sizeof *t->ent);
    t->index = calloc(t->index_cap, sizeof *t->index);
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

static inline size_t slot_of(const struct tel_src_table *t, uint64_t h)
{
    return (size_t)(hash_mix64(h ^ t->seed) & (t->index_cap - 1));
}

static void reindex(struct tel_src_table *t)
{
    memset(t->index, 0, t->index_cap * sizeof *t->index);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t h = tel_addr_hash(&t->ent[i].addr);
        size_t s = slot_of(t, h);
        while (t->index[s])
            s = (s + 1) & (t->index_cap - 1);
        t->index[s] = (uint32_t)(i + 1);
    }
}

static int grow(struct tel_src_table *t)
{
    size_t nc = t->ent_cap * 2;
    if (nc > t->max)
        nc = t->max;
    struct tel_src *ne = realloc(t->ent, nc * sizeof *ne);
    if (!ne)
        return BS_ENOMEM;
    t->ent = ne;
    t->ent_cap = nc;
    size_t ic = index_for(nc);
    if (ic != t->index_cap) {
        uint32_t *ni = calloc(ic, sizeof *ni);
        if (!ni)
            return BS_ENOMEM;
        free(t->index);
        t->index = ni;
        t->index_cap = ic;
        reindex(t);
    }
    return 0;
}

struct tel_src *tel_src_get(struct tel_src_table *t, const struct ipaddr *addr, uint64_t addr_hash,
                            bool *created)
{
    *created = false;
    size_t s = slot_of(t, addr_hash);
    for (;;) {
        uint32_t e = t->index[s];
        if (!e)
            break;
        struct tel_src *p = &t->ent[e - 1];
        if (memcmp(p->addr.b, addr->b, 16) == 0)
            return p;
        s = (s + 1) & (t->index_cap - 1);
    }
    if (t->n >= t->max)
        return NULL;
    if (t->n == t->ent_cap) {
        if (grow(t))
            return NULL;
        s = slot_of(t, addr_hash);
        while (t->index[s])
            s = (s + 1) & (t->index_cap - 1);
    }
    struct tel_src *p = &t->ent[t->n];
    memset(p, 0, sizeof *p);
    p->addr = *addr;
    t->index[s] = (uint32_t)(++t->n);
    *created = true;
    return p;
}

size_t tel_src_memory(const struct tel_src_table *t)
{
    return t->ent_cap * sizeof *t->ent + t->index_cap * sizeof *t->index;
}

static int src_cmp(const void *a, const void *b)
{
    return ipaddr_cmp(&((const struct tel_src *)a)->addr, &((const struct tel_src *)b)->addr);
}

void tel_src_sort(struct tel_src_table *t)
{
    qsort(t->ent, t->n, sizeof *t->ent, src_cmp);
    reindex(t);
}
