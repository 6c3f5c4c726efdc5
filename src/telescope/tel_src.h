/* tel_src.h - the per-day source profile table, capped (bounded memory under floods).
 *
 * An open-addressing hash index (linear probing, load <= 1/2 at the cap) over a dense array of
 * profiles, both reserved for max_sources up front and committed as used (see tel_src.c);
 * each index slot holds the entry number and 32 bits of the seeded address hash, so probing
 * past other sources never touches their profiles. Once max_sources profiles exist, packets
 * from new sources are not profiled: tel_src_get() returns NULL and the engine counts the
 * source in dropped_sources (a first-come policy, so a flood of spoofed sources cannot evict
 * the sources already profiled that day). The table is cleared at each UTC day boundary after
 * the day's profiles are written (expiry per day). Memory: 192 bytes per profile, 16 bytes
 * of index per profile, and 256 bytes per destination sketch (at most max_sources / 4); the
 * default cap of 1,000,000 sources commits ~290 MB at worst (only what a day's sources use).
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
#include <string.h>

#include "core/hash.h"
#include "core/ipaddr.h"
#include "telescope/tel_classify.h"

/* The fixed-seed address hash used for table placement (mixed with the table seed) and for
 * every HyperLogLog sketch of addresses. IPv4 (the common case) takes one mixing round over
 * the 32-bit address; other addresses hash all 16 bytes (the 2^32 marker keeps the two
 * domains apart). */
static inline uint64_t tel_addr_hash(const struct ipaddr *a)
{
    if (ipaddr_is_v4(a))
        return hash_mix64(((uint64_t)ipaddr_v4(a) | 1ull << 32) ^ 0x74656c6573636f70ull);
    return hash_bytes(a->b, sizeof a->b, 0x74656c6573636f70ull);
}

#define TEL_SRC_PORTS 16    /* distinct destination ports listed per source (cap) */
#define TEL_SRC_DST_SMALL 7 /* destinations counted exactly before a sketch is attached */
#define TEL_SRC_DST_P 8     /* the attached HLL: 256 registers, linear counting below 640
                             * (~3 % at 64), ~6.5 % beyond */
#define TEL_SRC_DST_SKETCH 0xff /* ndst: dst_small holds a pointer to the sketch */
#define TEL_SRC_DST_FULL 0xfe   /* ndst: more than 7, sketch pool exhausted (count >= 8) */
#define TEL_SRC_PORT_P 5    /* HLL of the distinct port count past the list (32 registers) */

enum tel_src_flag {
    TEL_SRC_BOGON = 1u << 0,
    TEL_SRC_RESEARCH = 1u << 1,
    TEL_SRC_HAS_ASN = 1u << 2,
    TEL_SRC_HAS_CC = 1u << 3,
};

/* Three cache lines, prefetched by the engine in batches (see tel_engine.c): line 0 is touched
 * by every packet, line 1 by TCP/UDP and fingerprinted packets, line 2 by every packet (the
 * destination set). Destinations are counted exactly (32-bit hashes) up to
 * TEL_SRC_DST_SMALL; the eighth distinct one attaches a 256-byte HyperLogLog from the
 * table's sketch pool (most sources never need one: a darknet sees many sources that send
 * a handful of packets). */
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
    uint8_t ndst;                  /* exact destinations, or TEL_SRC_DST_SKETCH/_FULL */
    /* line 1 */
    uint16_t ports[TEL_SRC_PORTS]; /* distinct destination ports, first seen first */
    uint32_t fp_votes[TEL_FP_COUNT];
    uint32_t uni_key;              /* last unicornscan key */
    uint32_t uni_last_dst;
    uint16_t uni_last_dport;
    uint16_t cc;                   /* two ASCII letters, cc >> 8 first (TEL_SRC_HAS_CC) */
    /* line 2 */
    uint32_t dst_small[TEL_SRC_DST_SMALL]; /* destination hashes; the sketch pointer after */
    uint32_t asn;                  /* TEL_SRC_HAS_ASN */
    uint8_t hll_port[1u << TEL_SRC_PORT_P]; /* ports beyond the list (vertical scans) */
};

struct tel_src_table {
    uint64_t *index;        /* (tag << 32) | (entry number + 1); 0 = empty (tel_src_mix) */
    struct tel_src *ent;
    size_t n;               /* profiles in use */
    size_t ent_cap;         /* profiles reserved (== max) */
    size_t index_cap;       /* power of two */
    size_t max;             /* cap on profiles */
    uint64_t seed;
    size_t ent_mapped, index_mapped; /* reserved bytes */
    uint8_t *sketch;        /* pool of destination sketches, 256 bytes each */
    size_t nsketch, max_sketch, sketch_mapped;
    uint64_t sketch_exhausted; /* sources that needed a sketch when the pool was empty */
};

/* Sixteen lanes compared at once (GCC/Clang vector extensions: SSE2 on x86-64, NEON on
 * arm64, plain words elsewhere). */
typedef uint16_t tel_u16x8 __attribute__((vector_size(16)));

/* True when port is among the first s->nports entries of s->ports (a data-independent test of
 * all 16 slots: the loop it replaces stopped at a random place). */
static inline bool tel_src_has_port(const struct tel_src *s, uint16_t port)
{
    static const tel_u16x8 lane0 = {0, 1, 2, 3, 4, 5, 6, 7};
    static const tel_u16x8 lane8 = {8, 9, 10, 11, 12, 13, 14, 15};
    tel_u16x8 a, b, want = {0}, n = {0};
    memcpy(&a, s->ports, sizeof a);
    memcpy(&b, s->ports + 8, sizeof b);
    want += port;
    n += s->nports;
    tel_u16x8 hit = ((tel_u16x8)(a == want) & (tel_u16x8)(lane0 < n)) |
                    ((tel_u16x8)(b == want) & (tel_u16x8)(lane8 < n));
    uint64_t w[2];
    memcpy(w, &hit, sizeof w);
    return (w[0] | w[1]) != 0;
}

/* Adds a destination (its address hash) to s. Never allocates: sketches come from the pool
 * reserved with the table (max_sources / 4 of them, at least 1024). */
void tel_src_add_dst(struct tel_src_table *t, struct tel_src *s, uint64_t dst_hash);
/* Distinct destinations of s (exact up to 7, then estimated; 8 = "more than 7" when no
 * sketch was available). */
uint64_t tel_src_dst_count(const struct tel_src *s);

int tel_src_init(struct tel_src_table *t, size_t max_sources, uint64_t seed);
void tel_src_release(struct tel_src_table *t);
void tel_src_clear(struct tel_src_table *t);

/* Finds the profile of addr (addr_hash = its fixed-seed hash), creating a zeroed one (with
 * addr set and *created = true) when absent. Returns NULL when the table is at its cap: the
 * caller counts a dropped source. */
struct tel_src *tel_src_get(struct tel_src_table *t, const struct ipaddr *addr, uint64_t addr_hash,
                            bool *created);

/* tel_src_get() with a hint: the profile tel_src_prefetch_entry() returned for the same
 * address earlier (or NULL). When the hint is a live profile holding addr it is returned
 * without probing the index (the pipeline's common case); otherwise as tel_src_get(). */
static inline bool tel_src_same_addr(const struct ipaddr *a, const struct ipaddr *b)
{
    uint64_t a0, a1, b0, b1; /* two word compares (memcmp is a library call here) */
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    memcpy(&b0, b->b, 8);
    memcpy(&b1, b->b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

static inline struct tel_src *tel_src_get_hinted(struct tel_src_table *t, const struct ipaddr *addr,
                                                 uint64_t addr_hash, const struct tel_src *hint,
                                                 bool *created)
{
    /* Profiles never move and addresses are unique among the live ones (entries below n),
     * so a live hint holding addr is addr's profile. */
    if (hint && (size_t)(hint - t->ent) < t->n && tel_src_same_addr(&hint->addr, addr)) {
        *created = false;
        return t->ent + (hint - t->ent);
    }
    return tel_src_get(t, addr, addr_hash, created);
}

/* Prefetch helpers (no effect on the table's state). An index entry is the high 32 bits of
 * the seeded hash (the tag) and the entry number; the slot is the tag's low bits, so growing
 * the index re-places entries from the entries alone (no profile is read). */
static inline uint64_t tel_src_mix(const struct tel_src_table *t, uint64_t addr_hash)
{
    return hash_mix64(addr_hash ^ t->seed);
}

static inline size_t tel_src_slot_of(const struct tel_src_table *t, uint64_t mixed)
{
    return (size_t)((mixed >> 32) & (t->index_cap - 1));
}

static inline size_t tel_src_slot(const struct tel_src_table *t, uint64_t addr_hash)
{
    return tel_src_slot_of(t, tel_src_mix(t, addr_hash));
}

static inline void tel_src_prefetch_slot(const struct tel_src_table *t, uint64_t addr_hash)
{
    __builtin_prefetch(&t->index[tel_src_slot(t, addr_hash)]);
}
#define TEL_SRC_PREFETCH_PROBES 4 /* index slots looked at by tel_src_prefetch_entry() */

/* Prefetches the lines of the profile the index's probe sequence points at (the first slot
 * whose tag matches, among the first TEL_SRC_PREFETCH_PROBES; dst_hash is reserved for finer
 * prefetching). Returns that profile (or NULL): the caller must use the result, or GCC may
 * delete the call as pure. */
static inline const struct tel_src *tel_src_prefetch_entry(const struct tel_src_table *t,
                                                           uint64_t addr_hash, uint64_t dst_hash)
{
    /* Follow the probe sequence a few slots (mostly the same index line): at load 1/4 to
     * 1/2, a third of the sources are not in their first slot. */
    uint64_t mixed = tel_src_mix(t, addr_hash), tag = mixed & ~0xffffffffull, e;
    size_t s = tel_src_slot_of(t, mixed);
    for (int i = 0;; i++) {
        e = t->index[s];
        if (!e || i == TEL_SRC_PREFETCH_PROBES)
            return NULL;
        if ((e & ~0xffffffffull) == tag)
            break;
        s = (s + 1) & (t->index_cap - 1);
    }
    const struct tel_src *p = &t->ent[(uint32_t)e - 1];
    __builtin_prefetch(p);
    __builtin_prefetch((const char *)p + 64);
    __builtin_prefetch((const char *)p + 128);
    (void)dst_hash;
    return p;
}

/* The 64-bit hash a destination sketch sees for a destination (derived from the 32 bits kept
 * in the exact set, so those can be replayed into a new sketch). */
static inline uint64_t tel_src_sketch_hash(uint64_t dst_hash)
{
    return hash_mix64((dst_hash >> 32) | 0x5a5a5a5a00000000ull);
}

/* Third prefetch stage: once s's lines are in cache, prefetch the sketch register dst_hash
 * will update. Returns the register's address (or NULL); use it, as above. */
static inline const uint8_t *tel_src_prefetch_sketch(const struct tel_src *s, uint64_t dst_hash)
{
    if (!s || s->ndst != TEL_SRC_DST_SKETCH)
        return NULL;
    const uint8_t *sk;
    memcpy(&sk, s->dst_small, sizeof sk);
    const uint8_t *r = sk + (tel_src_sketch_hash(dst_hash) >> (64 - TEL_SRC_DST_P));
    __builtin_prefetch(r);
    return r;
}

/* Bytes committed by the table (profiles in use, index pages touched), for accounting. */
size_t tel_src_memory(const struct tel_src_table *t);

/* Returns a malloc'ed array of the t->n entry numbers in address order (the caller frees
 * it), or NULL when out of memory. Used before writing a day. */
uint32_t *tel_src_order(const struct tel_src_table *t);

#endif
