/* tmpl_map.c - see tmpl_map.h. */
#include "proto/tmpl_map.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/err.h"

void tmpl_map_init(struct tmpl_map *m, uint64_t seed)
{
    htab_init(&m->h, 2 * sizeof(uint64_t), sizeof(void *), SIZE_MAX, seed);
}

void tmpl_map_release(struct tmpl_map *m)
{
    htab_release(&m->h);
}

void *tmpl_map_get(const struct tmpl_map *m, uint64_t k1, uint64_t k2)
{
    const uint64_t key[2] = {k1, k2};
    void **slot = htab_find(&m->h, key);
    return slot ? *slot : NULL;
}

int tmpl_map_put(struct tmpl_map *m, uint64_t k1, uint64_t k2, void *v, void **old)
{
    const uint64_t key[2] = {k1, k2};
    /* A present key is replaced through find, which never grows the table (htab_put may grow
     * before it looks), so a replacement cannot fail. */
    void **slot = htab_find(&m->h, key);
    *old = NULL;
    if (slot) {
        *old = *slot;
        *slot = v;
        return 0;
    }
    bool is_new;
    int rc = 0;
    slot = htab_put(&m->h, key, &is_new, &rc);
    if (!slot)
        return rc == BS_ELIMIT ? BS_ENOMEM : rc;
    *slot = v;
    return 0;
}

void *tmpl_map_del(struct tmpl_map *m, uint64_t k1, uint64_t k2)
{
    const uint64_t key[2] = {k1, k2};
    void *v = NULL;
    return htab_del(&m->h, key, &v) ? v : NULL;
}

size_t tmpl_map_next(const struct tmpl_map *m, size_t i, uint64_t *k1, uint64_t *k2, void **v)
{
    const void *key;
    void *val;
    i = htab_next(&m->h, i, &key, &val);
    if (!i)
        return 0;
    uint64_t k[2];
    memcpy(k, key, sizeof k);
    if (k1)
        *k1 = k[0];
    if (k2)
        *k2 = k[1];
    memcpy(v, val, sizeof *v);
    return i;
}
