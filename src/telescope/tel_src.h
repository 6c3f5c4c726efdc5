/* tel_src.h - the per-day source profile table, capped (bounded memory under floods).
 *
 * An open-addressing hash index (uint32 entry numbers, linear probing, load <= 1/2) over a
 * dense array of profiles. Capacity grows by doubling up to max_sources; once full, packets
 * from new sources are not profiled: tel_src_get() returns NULL and the engine counts the
 * source in dropped_sources (a first-come policy, so a flood of spoofed sources cannot evict
 * the sources already profiled that day). The table is cleared at each UTC day boundary after
 * the day's profiles are written (expiry per day). Memory: about 370 bytes per profile plus
 * 8 bytes of index per profile; the default cap of 1,000,000 sources is ~380 MB at worst.
 * Growth (a rare rehash) is the only allocation; the per-packet path is one hash probe.
 *
 * The table's hash seed is random per process (remote input picks the keys); the address
 * hash fed to HyperLogLog sketches uses a fixed seed so outputs are reproducible.
 *
 * Ownership: the table owns its arrays; pointers returned by tel_src_get() stay valid until
 * the next tel_src_get() that creates an entry, or tel_src_clear()/tel_src_release().
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
#define TEL_SRC_DST_BITS 1024 /* linear-counting bitmap of destinations (exact-ish to ~2000) */
#define TEL_SRC_DST_P 6     /* HLL of destinations past the bitmap (64 registers, ~13 %) */
#define TEL_SRC_PORT_P 5    /* HLL precision of the distinct port count (32 registers) */

enum tel_src_flag {
    TEL_SRC_BOGON = 1u << 0,
    TEL_SRC_RESEARCH = 1u << 1,
    TEL_SRC_HAS_ASN = 1u << 2,
    TEL_SRC_HAS_CC = 1u << 3,
};

struct tel_src {
    struct ipaddr addr;
    uint64_t packets;
    uint64_t bytes;
    uint64_t first_ms;
    uint64_t last_ms;
    uint32_t asn;
    uint16_t cc;                   /* two ASCII letters, cc >> 8 first */
    uint8_t flags;                 /* enum tel_src_flag */
    uint8_t nports;                /* entries used in ports[] */
    uint16_t ports[TEL_SRC_PORTS]; /* distinct destination ports, first seen first */
    uint32_t tag_union;            /* union of tags seen */
    uint32_t syn_packets;          /* TCP SYN scan packets */
    uint32_t iot_packets;          /* TCP SYN scan packets to IoT ports */
    uint32_t fp_votes[TEL_FP_COUNT];
    uint32_t uni_key;              /* last unicornscan key */
    uint32_t uni_last_dst;
    uint16_t uni_last_dport;
    uint8_t uni_have;
    uint8_t lc_dst[TEL_SRC_DST_BITS / 8];
    uint8_t hll_dst[1u << TEL_SRC_DST_P];
    uint8_t hll_port[1u << TEL_SRC_PORT_P];
};

struct tel_src_table {
    uint32_t *index;        /* entry number + 1, 0 = empty */
    struct tel_src *ent;
    size_t n;               /* profiles in use */
    size_t ent_cap;         /* profiles allocated */
    size_t index_cap;       /* power of two */
    size_t max;             /* cap on profiles */
    uint64_t seed;
};

int tel_src_init(struct tel_src_table *t, size_t max_sources, uint64_t seed);
void tel_src_release(struct tel_src_table *t);
void tel_src_clear(struct tel_src_table *t);

/* Finds the profile of addr (addr_hash = its fixed-seed hash), creating a zeroed one (with
 * addr set and *created = true) when absent. Returns NULL when the table is at its cap (or
 * growing failed): the caller counts a dropped source. */
struct tel_src *tel_src_get(struct tel_src_table *t, const struct ipaddr *addr, uint64_t addr_hash,
                            bool *created);

/* Bytes held by the table (index and profiles), for memory accounting. */
size_t tel_src_memory(const struct tel_src_table *t);

/* Sorts the profiles by address (the index is rebuilt). Used before writing a day. */
void tel_src_sort(struct tel_src_table *t);

#endif
