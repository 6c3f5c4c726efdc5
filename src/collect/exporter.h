/* exporter.h - the table of exporters one decoder thread owns (address -> decoder state).
 *
 * Each exporter address gets one struct exporter holding its flowdec state (templates,
 * samplers, sequence tracking and per-exporter counters, flowdec.h). The table belongs to one
 * thread (the offline run, or one decode thread of the live collector: exporters are sticky to
 * a decode thread by exporter_thread()), so it has no lock.
 *
 * The core table (core/htab.h) from the 16-byte address to the exporter, with a seeded hash
 * of the address (the seed is per process, so remote senders cannot aim collisions). Entries
 * are never removed before exporter_table_release(); an exporter stays at one address in
 * memory for the table's life (the table holds pointers to them). Cap: max exporters
 * (collect.max_exporters);
 * beyond it, datagrams of new addresses are refused (counted by the caller), because every
 * spoofed source address would otherwise cost a state.
 *
 * Ownership: the table owns the exporters and their flowdec states.
 */
#ifndef BS_COLLECT_EXPORTER_H
#define BS_COLLECT_EXPORTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "core/htab.h"
#include "core/ipaddr.h"
#include "proto/flowdec.h"

struct exporter {
    struct ipaddr addr;
    struct flowdec_exporter *dec;
    uint64_t first_ms; /* first datagram (receive time) */
    uint64_t last_ms;  /* latest datagram */
    bool evict_logged; /* the first template eviction was logged */
};

struct exporter_table {
    struct htab h; /* key: struct ipaddr; value: struct exporter * (owned) */
    struct flowdec_config fcfg;
};

/* The decode thread (0 .. n-1) that owns the exporter at a, for tables seeded with seed. The
 * pick hashes with a seed derived from the tables' one: with the tables' own hash, every
 * address of thread k would hash to k modulo n, and since a table's home slot is its hash's
 * low bits, each table would use only one home slot in n (half of them with 2 threads). */
static inline unsigned exporter_thread(const struct ipaddr *a, uint64_t seed, unsigned n)
{
    if (n <= 1)
        return 0;
    uint64_t pick_seed = hash_mix64(seed ^ 0x7069636b2d746872ull); /* "pick-thr" */
    return (unsigned)(hash_bytes(a->b, sizeof a->b, pick_seed) % n);
}

/* fcfg NULL: flowdec defaults. max 0: no cap. Returns 0 or BS_ENOMEM. */
int exporter_table_init(struct exporter_table *t, size_t max, const struct flowdec_config *fcfg,
                        uint64_t seed);
void exporter_table_release(struct exporter_table *t);

/* The exporter of addr, or NULL. */
struct exporter *exporter_table_find(struct exporter_table *t, const struct ipaddr *addr);
/* The exporter of addr, created when new. Returns 0, BS_ELIMIT (cap reached) or BS_ENOMEM. */
int exporter_table_get(struct exporter_table *t, const struct ipaddr *addr, struct exporter **out);
/* Inserts a state restored with flowdec_exporter_load(); the table takes ownership of dec
 * (also on failure, when dec is freed). Returns 0, BS_EEXIST (address already present: the
 * live state wins), BS_ELIMIT or BS_ENOMEM. */
int exporter_table_adopt(struct exporter_table *t, struct flowdec_exporter *dec);

/* Exporters in the table. */
static inline size_t exporter_table_count(const struct exporter_table *t)
{
    return t->h.n;
}
/* Iteration: i = 0; while ((i = exporter_table_next(t, i, &e))) { ... } visits every exporter
 * once (no insertion while iterating). */
size_t exporter_table_next(const struct exporter_table *t, size_t i, struct exporter **e);

#endif
