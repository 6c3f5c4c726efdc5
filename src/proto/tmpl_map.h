/* tmpl_map.h - small open-addressing hash map from a two-word key to a pointer, used by the
 * flow decoders for templates, samplers and observation domains of one exporter.
 *
 * Linear probing with backward-shift deletion (no tombstones), load factor <= 1/2, seeded
 * hash (keys come from the network). The map stores borrowed pointers; it never frees values.
 * Capacity grows on demand up to what the caller's caps allow; a NULL value is not storable.
 */
#ifndef BS_PROTO_TMPL_MAP_H
#define BS_PROTO_TMPL_MAP_H

#include <stddef.h>
#include <stdint.h>

struct tmpl_map_ent {
    uint64_t k1, k2;
    void *v; /* NULL: empty slot */
};

struct tmpl_map {
    struct tmpl_map_ent *e;
    size_t cap; /* power of two, or 0 */
    size_t n;
    uint64_t seed;
};

void tmpl_map_init(struct tmpl_map *m, uint64_t seed);
/* Frees the slot array (not the values). */
void tmpl_map_release(struct tmpl_map *m);
void *tmpl_map_get(const struct tmpl_map *m, uint64_t k1, uint64_t k2);
/* Inserts or replaces; *old receives the replaced value (NULL when new). Returns 0 or
 * BS_ENOMEM (only when inserting a new key: a replacement never fails). */
int tmpl_map_put(struct tmpl_map *m, uint64_t k1, uint64_t k2, void *v, void **old);
/* Removes the key; returns its value or NULL. */
void *tmpl_map_del(struct tmpl_map *m, uint64_t k1, uint64_t k2);
/* Iteration: for (i = 0; i < m->cap; i++) if (m->e[i].v) ... (no insertion while iterating). */

#endif
