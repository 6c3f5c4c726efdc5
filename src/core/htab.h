/* htab.h - an open-addressing hash table of fixed-size keys and values (linear probing).
 *
 * The one general-purpose table of src/core: keys of ksize bytes (compared with memcmp), values
 * of vsize bytes stored next to them, a one-byte control array (0 = empty, else 0x80 | 7 bits
 * of the hash, so most probes that miss compare one byte, not a key). The hash is
 * hash_bytes(key, ksize, seed): tables keyed by what a stranger sends take a random seed.
 *
 * Invariants: n <= 7/8 of nslots (nslots a power of two); n <= max: an insert past max fails
 * with BS_ELIMIT and leaves the table unchanged, so hostile input cannot grow it without bound.
 * There is no removal (the tables this serves only grow, then are dropped whole).
 *
 * Ownership: the table owns its arrays (htab_release frees them). Pointers returned by
 * htab_put/htab_find stay valid until the next htab_put (which may move every entry).
 */
#ifndef BS_CORE_HTAB_H
#define BS_CORE_HTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct htab {
    uint8_t *ctrl; /* nslots control bytes */
    uint8_t *ent;  /* nslots entries: key (ksize bytes) then value (vsize bytes, aligned) */
    size_t ksize, vsize, voff, esize;
    size_t nslots, n, max;
    uint64_t seed;
};

/* Prepares an empty table (no allocation until the first put). vsize may be 0 (a set). */
void htab_init(struct htab *t, size_t ksize, size_t vsize, size_t max, uint64_t seed);
/* Frees the arrays; t is empty and reusable with the same sizes. */
void htab_release(struct htab *t);
/* Finds key, inserting it with a zeroed value when absent (*is_new tells which). Returns the
 * value (or, for vsize 0, the stored key), or NULL with *rc = BS_ELIMIT or BS_ENOMEM. */
void *htab_put(struct htab *t, const void *key, bool *is_new, int *rc);
/* The value of key, or NULL. */
void *htab_find(const struct htab *t, const void *key);
/* Makes room for n entries in total without further growth. Returns 0, BS_ELIMIT, BS_ENOMEM. */
int htab_reserve(struct htab *t, size_t n);
/* Iteration: i = 0; while ((i = htab_next(t, i, &key, &val))) { ... } visits every entry once
 * (in no particular order). key and val may be NULL. */
size_t htab_next(const struct htab *t, size_t i, const void **key, void **val);

#endif
