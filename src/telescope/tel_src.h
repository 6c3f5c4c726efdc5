/* tel_src.h - the per-day source profile table, capped (bounded memory under floods).
 *
 * An open-addressing hash index (linear probing, load <= 1/2 at the cap) over a dense array of
 * profiles, both reserved for max_sources up front and committed as used (see tel_src.c);
 * each index slot holds the entry number and 32 bits of the address hash, so probing past
 * other sources never touches their profiles. Once max_sources profiles exist, packets
 * from new sources are not profiled: tel_src_get() returns NULL and the engine counts the
 * source in dropped_sources (a first-come policy, so a flood of spoofed sources cannot evict
 * the sources already profiled that day). The table is cleared at each UTC day boundary after
 * the day's profiles are written (expiry per day). Memory: 448 bytes per profile plus
 * 16 bytes of index per profile; the default cap of 1,000,000 sources commits ~470 MB at
 * worst (only what a day's sources use).
 * The per-packet path never allocates: it is one hash probe.
 * tel_src_prefetch() lets a caller hide the memory latency of a large table: prefetch the
 * index slot, later the profile's lines, then tel_src_get() finds them in cache.
 *
 * The table's hash seed is random per process (remote input picks the keys); the address
 * hash fed to HyperLogLog sketches uses a fixed seed so outputs are reproducible.
 *
 * Ownership: the table owns its mappings; pointers returned by tel_src_get() stay valid until
 * tel_src_clear()/tel_src_release() (profiles never move).
 */
#ifndef BS_TELESCOPE_TEL_SRC_H
#define BS_TELESCOPE_TEL_SRC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/hash.h"
#include "core/ipaddr.h"
#include "telescope/tel_classify.h"

/* The fixed-seed address hash used for table placement (mixed with the table seed) and for
 * every HyperLogLog sketch of addresses. */
static inline uint64_t tel_addr_hash(const struct ipaddr *a)
{
    return hash_bytes(a->b, sizeof a->b, 0x74656c6573636f70ull);
}

#define TEL_SRC_PORTS 16    /* distinct destination ports listed per source (cap) */
#define TEL_SRC_DST_P 8     /* HLL of destinations reached: 256 registers, linear counting
                             * below 640 (~3 % at 64), ~6.5 % beyond */
#define TEL_SRC_PORT_P 5    /* HLL of the distinct port count past the list (32 registers) */

enum tel_src_flag {
    TEL_SRC_BOGON = 1u << 0,
    TEL_SRC_RESEARCH = 1u << 1,
    TEL_SRC_HAS_ASN = 1u << 2,
    TEL_SRC_HAS_CC = 1u << 3,
};

/* Laid out in cache lines by how often they are touched: line 0 by every packet, line 1 by
 * TCP/UDP and fingerprinted packets, line 2 only by sources with more than TEL_SRC_PORTS
 * ports or an ASN, and one line of hll_dst per packet.
 * The engine prefetches those lines in batches (see tel_engine.c). */
struct tel_src {
    /* line 0 */
    _Alignas(64) struct ipaddr addr;
    uint64_t packets;
    uint64_t bytes;
    uint64_t first_ms;
    uint64_t last_ms;
    uint32_t tag_union;            /* union of tags seen */
    uint32_t syn_packets;          /* TCP SYN scan packets */
    uint32_t iot_packets;          /* TCP SYN scan packets to IoT ports */
    uint8_t flags;                 /* enum tel_src_flag */
    uint8_t nports;                /* entries used in ports[] */
    uint8_t uni_have;
    uint8_t reserved;
    /* line 1 */
    uint16_t ports[TEL_SRC_PORTS]; /* distinct destination ports, first seen first */
    uint32_t fp_votes[TEL_FP_COUNT];
    uint32_t uni_key;              /* last unicornscan key */
    uint32_t uni_last_dst;
    uint16_t uni_last_dport;
    uint16_t cc;                   /* two ASCII letters, cc >> 8 first (TEL_SRC_HAS_CC) */
    /* line 2: rarely touched */
    uint8_t hll_port[1u << TEL_SRC_PORT_P]; /* ports beyond the list (vertical scans) */
    uint32_t asn;                  /* TEL_SRC_HAS_ASN */
    /* lines 3-6 */
    _Alignas(64) uint8_t hll_dst[1u << TEL_SRC_DST_P];
};

struct tel_src_table {
    uint64_t *index;        /* (hash tag << 32) | (entry number + 1); 0 = empty */
    struct tel_src *ent;
    size_t n;               /* profiles in use */
    size_t ent_cap;         /* profiles reserved (== max) */
    size_t index_cap;       /* power of two */
    size_t max;             /* cap on profiles */
    uint64_t seed;
    size_t ent_mapped, index_mapped; /* reserved bytes */
};

int tel_src_init(struct tel_src_table *t, size_t max_sources, uint64_t seed);
void tel_src_release(struct tel_src_table *t);
void tel_src_clear(struct tel_src_table *t);

/* Finds the profile of addr (addr_hash = its fixed-seed hash), creating a zeroed one (with
 * addr set and *created = true) when absent. Returns NULL when the table is at its cap: the
 * caller counts a dropped source. */
struct tel_src *tel_src_get(struct tel_src_table *t, const struct ipaddr *addr, uint64_t addr_hash,
                            bool *created);

/* Prefetch helpers (no effect on the table's state). */
static inline size_t tel_src_slot(const struct tel_src_table *t, uint64_t addr_hash)
{
    return (size_t)(hash_mix64(addr_hash ^ t->seed) & (t->index_cap - 1));
}

static inline uint64_t tel_src_tag(uint64_t addr_hash)
{
    return (addr_hash >> 32) << 32;
}

static inline void tel_src_prefetch_slot(const struct tel_src_table *t, uint64_t addr_hash)
{
    __builtin_prefetch(&t->index[tel_src_slot(t, addr_hash)]);
}
/* Prefetches the profile the index's first probe points at (usually the one sought), its
 * per-packet lines and the hll_dst line that dst_hash will update. Returns that profile
 * (or NULL): the caller must use the result, or GCC may delete the call as pure. */
static inline const struct tel_src *tel_src_prefetch_entry(const struct tel_src_table *t,
                                                           uint64_t addr_hash, uint64_t dst_hash)
{
    uint64_t e = t->index[tel_src_slot(t, addr_hash)];
    if (!e || (e & ~0xffffffffull) != tel_src_tag(addr_hash))
        return NULL;
    const struct tel_src *p = &t->ent[(uint32_t)e - 1];
    __builtin_prefetch(p);
    __builtin_prefetch((const char *)p + 64);
    __builtin_prefetch(&p->hll_dst[dst_hash >> (64 - TEL_SRC_DST_P)]);
    return p;
}

/* Bytes committed by the table (profiles in use, index pages touched), for accounting. */
size_t tel_src_memory(const struct tel_src_table *t);

/* Returns a malloc'ed array of the t->n entry numbers in address order (the caller frees
 * it), or NULL when out of memory. Used before writing a day. */
uint32_t *tel_src_order(const struct tel_src_table *t);

#endif
