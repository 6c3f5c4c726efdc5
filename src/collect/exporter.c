/* exporter.c - per-thread exporter table (see exporter.h). */
#include "collect/exporter.h"

#include <stdlib.h>

#include "core/err.h"

/* The first allocation holds 32 exporters (64 slots at half load): most collectors never
 * grow past it. */
#define INITIAL_EXPORTERS 32

int exporter_table_init(struct exporter_table *t, size_t max, const struct flowdec_config *fcfg,
                        uint64_t seed)
{
    htab_init(&t->h, sizeof(struct ipaddr), sizeof(struct exporter *), max ? max : SIZE_MAX, seed);
    if (fcfg)
        t->fcfg = *fcfg;
    else
        flowdec_config_default(&t->fcfg);
    size_t first = max && max < INITIAL_EXPORTERS ? max : INITIAL_EXPORTERS;
    return htab_reserve(&t->h, first);
}

void exporter_table_release(struct exporter_table *t)
{
    struct exporter *e;
    for (size_t i = 0; (i = exporter_table_next(t, i, &e));) {
        flowdec_exporter_free(e->dec);
        free(e);
    }
    htab_release(&t->h);
}

size_t exporter_table_next(const struct exporter_table *t, size_t i, struct exporter **e)
{
    void *v;
    i = htab_next(&t->h, i, NULL, &v);
    if (i)
        *e = *(struct exporter **)v;
    return i;
}

struct exporter *exporter_table_find(struct exporter_table *t, const struct ipaddr *addr)
{
    struct exporter **slot = htab_find(&t->h, addr);
    return slot ? *slot : NULL;
}

/* Adds an exporter for dec (absent from the table). On failure dec stays the caller's. */
static int insert(struct exporter_table *t, const struct ipaddr *addr, struct flowdec_exporter *dec,
                  struct exporter **out)
{
    if (t->h.n >= t->h.max)
        return BS_ELIMIT;
    struct exporter *e = calloc(1, sizeof *e);
    if (!e)
        return BS_ENOMEM;
    bool is_new;
    int rc = 0;
    struct exporter **slot = htab_put(&t->h, addr, &is_new, &rc);
    if (!slot) {
        free(e);
        return rc;
    }
    e->addr = *addr;
    e->dec = dec;
    *slot = e;
    *out = e;
    return 0;
}

int exporter_table_get(struct exporter_table *t, const struct ipaddr *addr, struct exporter **out)
{
    struct exporter *e = exporter_table_find(t, addr);
    if (e) {
        *out = e;
        return 0;
    }
    if (t->h.n >= t->h.max)
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
