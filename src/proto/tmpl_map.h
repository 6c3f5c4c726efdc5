/* tmpl_map.h - a map from a two-word key to a pointer, used by the flow decoders for
 * templates, samplers, observation domains and parked data of one exporter.
 *
 * A thin typed layer over the core table (core/htab.h): 16-byte keys (k1, k2), pointer values,
 * a seeded hash (keys come from the network), growth at half load, removal by backward shift.
 * The map stores borrowed pointers; it never frees values. It has no cap of its own: the
 * callers cap templates, samplers, domains and parked sets before inserting. A NULL value is
 * not storable.
 */
#ifndef BS_PROTO_TMPL_MAP_H
#define BS_PROTO_TMPL_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "core/htab.h"

struct tmpl_map {
    struct htab h; /* key: uint64_t[2] {k1, k2}; value: void * */
};

void tmpl_map_init(struct tmpl_map *m, uint64_t seed);
/* Frees the slot array (not the values). */
void tmpl_map_release(struct tmpl_map *m);
void *tmpl_map_get(const struct tmpl_map *m, uint64_t k1, uint64_t k2);
/* Inserts or replaces; *old receives the replaced value (NULL when new). Returns 0 or
 * BS_ENOMEM (only when inserting a new key: a replacement never allocates, so never fails). */
int tmpl_map_put(struct tmpl_map *m, uint64_t k1, uint64_t k2, void *v, void **old);
/* Removes the key; returns its value or NULL. */
void *tmpl_map_del(struct tmpl_map *m, uint64_t k1, uint64_t k2);
/* Entries stored. */
static inline size_t tmpl_map_count(const struct tmpl_map *m)
{
    return m->h.n;
}
/* Iteration: i = 0; while ((i = tmpl_map_next(m, i, &k1, &k2, &v))) { ... } visits every entry
 * once, in no particular order (no insertion or removal while iterating). k1 and k2 may be
 * NULL. */
size_t tmpl_map_next(const struct tmpl_map *m, size_t i, uint64_t *k1, uint64_t *k2, void **v);

#endif
