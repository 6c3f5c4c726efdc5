/* exporter.c - per-thread exporter table (see exporter.h). */
#include "collect/exporter.h"

#include <stdlib.h>

#include "core/err.h"

int exporter_table_init(struct exporter_table *t, size_t max, const struct flowdec_config *fcfg,
                        uint64_t seed)
{
    t->cap = 64;
    t->n = 0;
    t->max = max;
    t->seed = seed;
    if (fcfg)
        t->fcfg = *fcfg;
    else
        flowdec_config_default(&t->fcfg);
    t->slots = calloc(t->cap, sizeof *t->slots);
    return t->slots ? 0 : BS_ENOMEM;
}

void exporter_table_release(struct exporter_table *t)
{
    for (size_t i = 0; i < t->cap && t->slots; i++) {
        if (t->slots[i]) {
            flowdec_exporter_free(t->slots[i]->dec);
            free(t->slots[i]);
        }
    }
    free(t->slots);
    t->slots = NULL;
    t->cap = t->n = 0;
}

static size_t probe(const struct exporter_table *t, const struct ipaddr *a)
{
    size_t mask = t->cap - 1, i = (size_t)exporter_hash(a, t->seed) & mask;
    while (t->slots[i] && ipaddr_cmp(&t->slots[i]->addr, a))
        i = (i + 1) & mask;
    return i;
}

struct exporter *exporter_table_find(struct exporter_table *t, const struct ipaddr *addr)
{
    return t->slots[probe(t, addr)];
}

/* Keeps the load factor at most 1/2. */
static int grow(struct exporter_table *t)
{
    if ((t->n + 1) * 2 <= t->cap)
        return 0;
    struct exporter **old = t->slots;
    size_t old_cap = t->cap;
    struct exporter **slots = calloc(old_cap * 2, sizeof *slots);
    if (!slots)
        return BS_ENOMEM;
    t->slots = slots;
    t->cap = old_cap * 2;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i])
            t->slots[probe(t, &old[i]->addr)] = old[i];
    free(old);
    return 0;
}

static int insert(struct exporter_table *t, const struct ipaddr *addr,
                  struct flowdec_exporter *dec, struct exporter **out)
{
    if (t->max && t->n >= t->max)
        return BS_ELIMIT;
    int rc = grow(t);
    if (rc)
        return rc;
    struct exporter *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    e->addr = *addr;
    e->dec = dec;
    t->slots[probe(t, addr)] = e;
    t->n++;
    *out = e;
    return 0;
}

int exporter_table_get(struct exporter_table *t, const struct ipaddr *addr, struct exporter **out)
{
    size_t i = probe(t, addr);
    if (t->slots[i]) {
        *out = t->slots[i];
        return 0;
    }
    if (t->max && t->n >= t->max)
        return BS_ELIMIT;
    struct flowdec_exporter *dec;
    int rc = flowdec_exporter_new(addr, &t->fcfg, &dec);
    if (rc)
        return rc;
    rc = insert(t, addr, dec, out);
    if (rc)
        flowdec_exporter_free(dec);
    return rc;
}

int exporter_table_adopt(struct exporter_table *t, struct flowdec_exporter *dec)
{
    const struct ipaddr *addr = flowdec_exporter_addr(dec);
    if (exporter_table_find(t, addr)) {
        flowdec_exporter_free(dec);
        return BS_EEXIST;
    }
    struct exporter *e;
    int rc = insert(t, addr, dec, &e);
    if (rc)
        flowdec_exporter_free(dec);
    return rc;
}
