/* htab.h - an open-addressing hash table of fixed-size keys and values (linear probing).
 *
 * The one general-purpose table of src/core: keys of ksize bytes (compared with memcmp), values
 * of vsize bytes stored next to them, a one-byte control array (0 = empty, else 0x80 | 7 bits
 * of the hash, so most probes that miss compare one byte, not a key). The hash is
 * hash_bytes(key, ksize, seed): tables keyed by what a stranger sends take a random seed. A
 * table made by htab_init_prehashed is keyed by 64-bit hashes the caller already made (seeded
 * as it sees fit): a key is its own hash, and no lookup hashes it again.
 *
 * Invariants: n <= 1/2 of nslots (nslots a power of two: linear probing stays short, about
 * 2.5 probes for a miss, where 7/8 would take about 32); n <= max: an insert past max fails
 * with BS_ELIMIT and leaves the table unchanged, so hostile input cannot grow it without bound.
 * Removal (htab_del) shifts the later members of the probe run back into the hole (no
 * tombstones), so lookups stay as short after deletions as before; it never shrinks the arrays.
 *
 * Ownership: the table owns its arrays (htab_release frees them). Pointers returned by
 * htab_put/htab_find stay valid until the next htab_put (which may move every entry) or
 * htab_del (which may move the entries after the removed one).
 */
#ifndef BS_CORE_HTAB_H
#define BS_CORE_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/hash.h"

struct htab {
    uint8_t *ctrl; /* nslots control bytes */
    uint8_t *ent;  /* nslots entries: key (ksize bytes) then value (vsize bytes, aligned) */
    size_t ksize, vsize, voff, esize;
    size_t nslots, n, max;
    uint64_t seed;
    bool prehashed; /* 8-byte keys that are hashes: the key is the hash */
};

/* Prepares an empty table (no allocation until the first put). vsize may be 0 (a set). */
void htab_init(struct htab *t, size_t ksize, size_t vsize, size_t max, uint64_t seed);
/* A table keyed by 64-bit hashes (ksize 8), each its own hash in the table. */
void htab_init_prehashed(struct htab *t, size_t vsize, size_t max);
/* Frees the arrays; t is empty and reusable with the same sizes. */
void htab_release(struct htab *t);
/* Finds key, inserting it with a zeroed value when absent (*is_new tells which). Returns the
 * value (or, for vsize 0, the stored key), or NULL with *rc = BS_ELIMIT or BS_ENOMEM. */
void *htab_put(struct htab *t, const void *key, bool *is_new, int *rc);
/* The hash htab_put would compute for key, for htab_put_h and htab_prefetch: a caller that
 * walks many keys hashes a few ahead and prefetches their slots, so the probes that follow
 * find them in cache. */
/* A slot's control byte for hash h (0 marks an empty slot). */
static inline uint8_t htab_ctrl(uint64_t h)
{
    return (uint8_t)(0x80 | (h >> 57));
}
static inline uint64_t htab_hash(const struct htab *t, const void *key)
{
    if (t->prehashed) {
        uint64_t h;
        memcpy(&h, key, sizeof h);
        return h;
    }
    return hash_bytes(key, t->ksize, t->seed);
}
static inline void htab_prefetch(const struct htab *t, uint64_t h)
{
    if (t->nslots) {
        size_t i = (size_t)h & (t->nslots - 1);
        __builtin_prefetch(t->ctrl + i);
        __builtin_prefetch(t->ent + i * t->esize);
    }
}
/* htab_put with the key's hash already computed (htab_hash). */
void *htab_put_h(struct htab *t, const void *key, uint64_t h, bool *is_new, int *rc);

/* The value of key, or NULL. */
void *htab_find(const struct htab *t, const void *key);
/* htab_find with the key's hash already computed (htab_hash). */
void *htab_find_h(const struct htab *t, const void *key, uint64_t h);
/* htab_find in a table made by htab_init_prehashed, inline (a pass that looks up a few hundred
 * selected keys for every record spent more in the call and the general key compare than in
 * the probe). */
static inline void *htab_find_prehashed(const struct htab *t, uint64_t key)
{
    if (!t->n)
        return NULL;
    size_t mask = t->nslots - 1, i = (size_t)key & mask;
    uint8_t c = htab_ctrl(key);
    for (;; i = (i + 1) & mask) {
        uint8_t s = t->ctrl[i];
        if (!s)
            return NULL;
        uint64_t k;
        memcpy(&k, t->ent + i * t->esize, sizeof k);
        if (s == c && k == key)
            return t->ent + i * t->esize + (t->vsize ? t->voff : 0);
    }
}
/* Makes room for n entries in total without further growth. Returns 0, BS_ELIMIT, BS_ENOMEM. */
int htab_reserve(struct htab *t, size_t n);
/* Removes key. Returns true when it was there, its value copied to val first (val may be
 * NULL; vsize bytes). Never allocates, so it cannot fail. */
bool htab_del(struct htab *t, const void *key, void *val);
/* Iteration: i = 0; while ((i = htab_next(t, i, &key, &val))) { ... } visits every entry once
 * (in no particular order). key and val may be NULL. No htab_put or htab_del while iterating. */
size_t htab_next(const struct htab *t, size_t i, const void **key, void **val);

#endif
