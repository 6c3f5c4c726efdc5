/* tmpl_map.c - see tmpl_map.h. */
#include "proto/tmpl_map.h"

#include <stdlib.h>

#include "core/err.h"
#include "core/hash.h"

void tmpl_map_init(struct tmpl_map *m, uint64_t seed)
{
    m->e = NULL;
    m->cap = 0;
    m->n = 0;
    m->seed = seed;
}

void tmpl_map_release(struct tmpl_map *m)
{
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}

static size_t slot_of(const struct tmpl_map *m, uint64_t k1, uint64_t k2)
{
    return (size_t)(hash_mix64(hash_mix64(k1 ^ m->seed) ^ k2) & (m->cap - 1));
}

void *tmpl_map_get(const struct tmpl_map *m, uint64_t k1, uint64_t k2)
{
    if (!m->cap)
        return NULL;
    for (size_t i = slot_of(m, k1, k2);; i = (i + 1) & (m->cap - 1)) {
        const struct tmpl_map_ent *e = &m->e[i];
        if (!e->v)
            return NULL;
        if (e->k1 == k1 && e->k2 == k2)
            return e->v;
    }
}

static int grow(struct tmpl_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 16;
    struct tmpl_map_ent *ne = calloc(ncap, sizeof(*ne));
    if (!ne)
        return BS_ENOMEM;
    struct tmpl_map_ent *old = m->e;
    size_t ocap = m->cap;
    m->e = ne;
    m->cap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        if (!old[i].v)
            continue;
        size_t j = slot_of(m, old[i].k1, old[i].k2);
        while (m->e[j].v)
            j = (j + 1) & (ncap - 1);
        m->e[j] = old[i];
    }
    free(old);
    return 0;
}

int tmpl_map_put(struct tmpl_map *m, uint64_t k1, uint64_t k2, void *v, void **old)
{
    *old = NULL;
    /* Replacing never allocates, so it cannot fail. */
    for (size_t i = m->cap ? slot_of(m, k1, k2) : 0; m->cap && m->e[i].v;
         i = (i + 1) & (m->cap - 1)) {
        if (m->e[i].k1 == k1 && m->e[i].k2 == k2) {
            *old = m->e[i].v;
            m->e[i].v = v;
            return 0;
        }
    }
    if ((m->n + 1) * 2 > m->cap) {
        int rc = grow(m);
        if (rc)
            return rc;
    }
    size_t i = slot_of(m, k1, k2);
    for (;; i = (i + 1) & (m->cap - 1)) {
        struct tmpl_map_ent *e = &m->e[i];
        if (!e->v)
            break;
        if (e->k1 == k1 && e->k2 == k2) {
            *old = e->v;
            e->v = v;
            return 0;
        }
    }
    m->e[i] = (struct tmpl_map_ent){k1, k2, v};
    m->n++;
    return 0;
}

void *tmpl_map_del(struct tmpl_map *m, uint64_t k1, uint64_t k2)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    size_t i = slot_of(m, k1, k2);
    for (;; i = (i + 1) & mask) {
        if (!m->e[i].v)
            return NULL;
        if (m->e[i].k1 == k1 && m->e[i].k2 == k2)
            break;
    }
    void *v = m->e[i].v;
    m->e[i].v = NULL;
    m->n--;
    /* Backward shift: move later members of the probe run into the hole when allowed. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->e[j].v; j = (j + 1) & mask) {
        size_t home = slot_of(m, m->e[j].k1, m->e[j].k2);
        /* j may move to hole when home is not in (hole, j] cyclically. */
        int in_range = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!in_range) {
            m->e[hole] = m->e[j];
            m->e[j].v = NULL;
            hole = j;
        }
    }
    return v;
}
