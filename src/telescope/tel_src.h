/* tel_src.h - the per-day source profile table, capped (bounded memory under floods).
 *
 * An open-addressing hash index (linear probing, load <= 1/2 at the cap) over a dense array of
 * 128-byte profiles, both reserved for max_sources up front and committed as used (see
 * tel_src.c); each index slot holds the entry number and 32 bits of the seeded address hash,
 * so probing past other sources never touches their profiles. Once max_sources profiles
 * exist, packets from new sources are not profiled: tel_src_get() returns NULL and the engine
 * counts the source in dropped_sources (a first-come policy, so a flood of spoofed sources
 * cannot evict the sources already profiled that day). The table is cleared at each UTC day
 * boundary after the day's profiles are written (expiry per day).
 *
 * A profile is two cache lines, all that a packet from an IPv4 source with at most eight
 * ports touches. Rarer sources take more, from pools reserved with the table: a 64-byte
 * extension holds an IPv6 source's address and the ports past the eighth (with a sketch of
 * those past the sixteenth), and the eighth distinct destination attaches a 256-byte
 * destination sketch (at most max_sources / 4 of them). Memory at the default cap of
 * 1,000,000 sources: 128 MB of profiles, 16 MB of index, at most 64 MB of extensions and 64
 * MB of sketches, committed only as a day's sources use them. The per-packet path never
 * allocates: it is one hash probe.
 * tel_src_prefetch_entry() and tel_src_prefetch_more() let a caller hide the memory latency
 * of a large table: prefetch the index slot, later the profile's lines, then its sketch
 * register and extension, then tel_src_get() finds them in cache.
 *
 * The table's hash seed is random per process (remote input picks the keys); the address
 * hash fed to HyperLogLog sketches uses a fixed seed so outputs are reproducible.
 *
 * Ownership: the table owns its mappings; pointers returned by tel_src_get() stay valid until
 * tel_src_clear()/tel_src_release() (profiles never move). The layout of a profile is the
 * table's business: readers outside it take a tel_src_rec (tel_src_read()).
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

#define TEL_SRC_PORTS        16 /* distinct destination ports listed per source (cap) */
#define TEL_SRC_PORTS_INLINE 8  /* of which the profile holds the first 8, an extension the rest */
#define TEL_SRC_DST_SMALL    7  /* destinations counted exactly before a sketch is attached */
#define TEL_SRC_DST_P                                                                              \
    8                           /* the attached HLL: 256 registers, linear counting below 640      \
                                 * (~3 % at 64), ~6.5 % beyond */
#define TEL_SRC_DST_SKETCH 0xff /* ndst: dst_small[0] holds the sketch's number */
#define TEL_SRC_DST_FULL   0xfe /* ndst: more than 7, sketch pool exhausted (count >= 8) */
#define TEL_SRC_PORT_P     5    /* HLL of the distinct port count past the list (32 registers) */

enum tel_src_flag {
    TEL_SRC_BOGON = 1u << 0,
    TEL_SRC_RESEARCH = 1u << 1,
    TEL_SRC_HAS_ASN = 1u << 2,
    TEL_SRC_HAS_CC = 1u << 3,
};

/* Two cache lines, prefetched by the engine in batches (see tel_engine.c): line 0 holds the
 * key and the counters every packet updates, line 1 the port list, the destination set and
 * the fingerprint votes. Destinations are counted exactly (32-bit hashes) up to
 * TEL_SRC_DST_SMALL; the eighth distinct one attaches a HyperLogLog from the sketch pool
 * (most sources never need one: a darknet sees many sources that send a handful of
 * packets). Times are kept as signed milliseconds from the start of the table's day (the
 * engine clears the table at each UTC day): tel_src_time_off(). */
struct tel_src {
    /* line 0 */
    _Alignas(64) uint32_t addr4; /* ipaddr_v4() of the address: all of IPv4, the last 32 bits
                                  * of IPv6 (whose whole address is in the extension) */
    uint8_t flags;               /* enum tel_src_flag, set by the engine */
    uint8_t v6;                  /* an IPv6 source (ext is set) */
    uint8_t nports;              /* distinct ports listed: ports[], then the extension's */
    uint8_t ndst;                /* exact destinations, or TEL_SRC_DST_SKETCH/_FULL */
    uint64_t packets;
    uint64_t bytes;
    int32_t first_off, last_off; /* first/last packet, ms from the day's start */
    uint32_t syn_packets;        /* TCP SYN scan packets */
    uint32_t iot_packets;        /* TCP SYN scan packets to IoT ports */
    uint32_t asn;                /* TEL_SRC_HAS_ASN */
    uint16_t tag_union;          /* union of tags seen (1u << enum tel_tag) */
    uint16_t cc;                 /* two ASCII letters, cc >> 8 first (TEL_SRC_HAS_CC) */
    uint32_t ext;                /* 1 + number of the extension; 0 = none */
    uint32_t uni_key;            /* last unicornscan key */
    uint32_t uni_last_dst;
    uint16_t uni_last_dport;
    uint8_t uni_have;
    uint8_t reserved;
    /* line 1 */
    uint16_t ports[TEL_SRC_PORTS_INLINE];  /* distinct destination ports, first seen first */
    uint32_t dst_small[TEL_SRC_DST_SMALL]; /* destination hashes, or [0] = sketch number */
    uint32_t fp_votes[TEL_FP_COUNT];
};

/* What a profile needs only sometimes: an IPv6 source's address, the ports past the eighth
 * and a sketch of those past the sixteenth (vertical scans). One cache line. */
struct tel_src_ext {
    struct ipaddr addr6;
    uint16_t ports[TEL_SRC_PORTS - TEL_SRC_PORTS_INLINE];
    uint8_t hll_port[1u << TEL_SRC_PORT_P];
};

/* Not core/htab on purpose: profiles live in one reserved mapping (mmap, MAP_NORESERVE) that
 * never moves, so the pointers the engine's prefetch pipeline holds across packets stay valid
 * while the table grows; only the 8-byte index (32 bits of hash as a tag, the entry number)
 * doubles, without reading a profile. htab stores entries inline and moves them all when it
 * grows, and would store the 16-byte address a second time. Day boundaries return the pages
 * to the system (MADV_DONTNEED) instead of freeing and reallocating. */
struct tel_src_table {
    uint64_t *index; /* (tag << 32) | (entry number + 1); 0 = empty (tel_src_mix) */
    struct tel_src *ent;
    size_t n;         /* profiles in use */
    size_t ent_cap;   /* profiles reserved (== max) */
    size_t index_cap; /* power of two */
    size_t max;       /* cap on profiles */
    uint64_t seed;
    size_t ent_mapped, index_mapped; /* reserved bytes */
    struct tel_src_ext *ext;         /* pool of extensions, one per profile at most */
    size_t next, ext_mapped;
    uint8_t *sketch; /* pool of destination sketches, 256 bytes each */
    size_t nsketch, max_sketch, sketch_mapped;
    uint64_t sketch_exhausted; /* sources that needed a sketch when the pool was empty */
};

/* A profile as its readers (the output sinks, tests) see it, with absolute times, the whole
 * port list and the counts estimated (tel_src_read()). The last three fields are derived by
 * the engine's rules (tel_engine.h: tel_src_derive()). */
struct tel_src_rec {
    struct ipaddr addr;
    uint64_t day_ms; /* the UTC day the profile covers */
    uint64_t packets;
    uint64_t bytes;
    uint64_t first_ms, last_ms;
    uint64_t destinations; /* exact up to 7, then estimated (8: "more than 7") */
    uint64_t port_count;   /* exact up to 16, then 16 + estimated */
    uint32_t tag_union;
    uint32_t syn_packets, iot_packets;
    uint32_t fp_votes[TEL_FP_COUNT];
    uint32_t asn;  /* TEL_SRC_HAS_ASN */
    uint16_t cc;   /* TEL_SRC_HAS_CC */
    uint8_t flags; /* enum tel_src_flag */
    uint8_t nports;
    uint16_t ports[TEL_SRC_PORTS]; /* first seen first */
    unsigned fps_listed;           /* 1u << enum tel_fp */
    const char *scan_class;
    bool infected_iot;
};

int tel_src_init(struct tel_src_table *t, size_t max_sources, uint64_t seed);
void tel_src_release(struct tel_src_table *t);
void tel_src_clear(struct tel_src_table *t);

/* Fills r from s (the derived fields are left zero). day_ms: the table's day. */
void tel_src_read(const struct tel_src_table *t, const struct tel_src *s, uint64_t day_ms,
                  struct tel_src_rec *r);
/* The address of s. */
void tel_src_addr(const struct tel_src_table *t, const struct tel_src *s, struct ipaddr *out);

/* ts_ms as a profile time: milliseconds from day_ms, saturated to 32 bits (exact within 24
 * days of the day, which bounds how late a packet can be). */
static inline int32_t tel_src_time_off(uint64_t ts_ms, uint64_t day_ms)
{
    int64_t d = (int64_t)(ts_ms - day_ms);
    if (d < INT32_MIN)
        return INT32_MIN;
    if (d > INT32_MAX)
        return INT32_MAX;
    return (int32_t)d;
}

/* Sixteen lanes compared at once (GCC/Clang vector extensions: SSE2 on x86-64, NEON on
 * arm64, plain words elsewhere). */
typedef uint16_t tel_u16x8 __attribute__((vector_size(16)));

/* True when port is among the first n entries of the 8 at list (a data-independent test of
 * all 8 slots: the loop it replaces stopped at a random place). */
static inline bool tel_src_list_has(const uint16_t list[8], unsigned n, uint16_t port)
{
    static const tel_u16x8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    tel_u16x8 a, want = {0}, nv = {0};
    memcpy(&a, list, sizeof a);
    want += port;
    nv += (uint16_t)n;
    tel_u16x8 hit = (tel_u16x8)(a == want) & (tel_u16x8)(lane < nv);
    uint64_t w[2];
    memcpy(w, &hit, sizeof w);
    return (w[0] | w[1]) != 0;
}

/* Port lists past the profile's eight (the extension's; attaches one). */
void tel_src_add_port_more(struct tel_src_table *t, struct tel_src *s, uint16_t port);

/* Adds a destination port to s's list (or to the sketch of those past it). */
static inline void tel_src_add_port(struct tel_src_table *t, struct tel_src *s, uint16_t port)
{
    _Static_assert(TEL_SRC_PORTS_INLINE == 8, "one 8-lane vector holds the inline ports");
    if (tel_src_list_has(s->ports, s->nports, port))
        return;
    if (s->nports < TEL_SRC_PORTS_INLINE) {
        s->ports[s->nports++] = port;
        return;
    }
    tel_src_add_port_more(t, s, port);
}

/* True when port is in s's list (inline or in the extension). */
bool tel_src_has_port(const struct tel_src_table *t, const struct tel_src *s, uint16_t port);

/* Adds a destination (its address hash) to s. Never allocates: sketches come from the pool
 * reserved with the table (max_sources / 4 of them, at least 1024). */
void tel_src_add_dst(struct tel_src_table *t, struct tel_src *s, uint64_t dst_hash);
/* Distinct destinations of s (exact up to 7, then estimated; 8 = "more than 7" when no
 * sketch was available). */
uint64_t tel_src_dst_count(const struct tel_src_table *t, const struct tel_src *s);

/* Finds the profile of addr (addr_hash = its fixed-seed hash), creating a zeroed one (with
 * its address set and *created = true) when absent. Returns NULL when the table is at its
 * cap: the caller counts a dropped source. */
struct tel_src *tel_src_get(struct tel_src_table *t, const struct ipaddr *addr, uint64_t addr_hash,
                            bool *created);

static inline bool tel_src_same_addr(const struct ipaddr *a, const struct ipaddr *b)
{
    uint64_t a0, a1, b0, b1; /* two word compares (memcmp is a library call here) */
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    memcpy(&b0, b->b, 8);
    memcpy(&b1, b->b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* True when profile s is addr's (an IPv4 address is compared in the profile alone). */
static inline bool tel_src_holds(const struct tel_src_table *t, const struct tel_src *s,
                                 const struct ipaddr *addr)
{
    uint8_t v6 = !ipaddr_is_v4(addr);
    if (s->addr4 != ipaddr_v4(addr) || s->v6 != v6)
        return false;
    return !v6 || tel_src_same_addr(&t->ext[s->ext - 1].addr6, addr);
}

/* tel_src_get() with a hint: the profile tel_src_prefetch_entry() returned for the same
 * address earlier (or NULL). When the hint is a live profile holding addr it is returned
 * without probing the index (the pipeline's common case); otherwise as tel_src_get(). */
static inline struct tel_src *tel_src_get_hinted(struct tel_src_table *t, const struct ipaddr *addr,
                                                 uint64_t addr_hash, const struct tel_src *hint,
                                                 bool *created)
{
    /* Profiles never move and addresses are unique among the live ones (entries below n),
     * so a live hint holding addr is addr's profile. */
    if (hint && (size_t)(hint - t->ent) < t->n && tel_src_holds(t, hint, addr)) {
        *created = false;
        return t->ent + (hint - t->ent);
    }
    return tel_src_get(t, addr, addr_hash, created);
}

/* Prefetch helpers (no effect on the table's state). They take the key tel_src_mix() gives
 * for the address hash, computed once for both stages. An index entry is the key's high 32
 * bits (the tag) and the entry number; the slot is the tag's low bits, so growing the index
 * re-places entries from the entries alone (no profile is read). */
static inline uint64_t tel_src_mix(const struct tel_src_table *t, uint64_t addr_hash)
{
    return hash_mix64(addr_hash ^ t->seed);
}

static inline size_t tel_src_slot_of(const struct tel_src_table *t, uint64_t mixed)
{
    return (size_t)((mixed >> 32) & (t->index_cap - 1));
}

static inline void tel_src_prefetch_slot(const struct tel_src_table *t, uint64_t mixed)
{
    __builtin_prefetch(&t->index[tel_src_slot_of(t, mixed)]);
}
#define TEL_SRC_PREFETCH_PROBES 4 /* index slots looked at by tel_src_prefetch_entry() */

/* Prefetches the two lines of the profile the index's probe sequence points at (the first
 * slot whose tag matches, among the first TEL_SRC_PREFETCH_PROBES). Returns that profile (or
 * NULL): the caller must use the result, or GCC may delete the call as pure. */
static inline const struct tel_src *tel_src_prefetch_entry(const struct tel_src_table *t,
                                                           uint64_t mixed)
{
    /* Follow the probe sequence a few slots (mostly the same index line): at load 1/4 to
     * 1/2, a third of the sources are not in their first slot. */
    uint64_t tag = mixed & ~0xffffffffull, e;
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
    return p;
}

/* The 64-bit hash a destination sketch sees for a destination (derived from the 32 bits kept
 * in the exact set, so those can be replayed into a new sketch). */
static inline uint64_t tel_src_sketch_hash(uint64_t dst_hash)
{
    return hash_mix64((dst_hash >> 32) | 0x5a5a5a5a00000000ull);
}

static inline uint8_t *tel_src_sketch_of(const struct tel_src_table *t, const struct tel_src *s)
{
    return t->sketch + ((size_t)s->dst_small[0] << TEL_SRC_DST_P);
}

/* Third prefetch stage: once s's lines are in cache, prefetch its extension and the sketch
 * register dst_hash will update, when it has them. Returns the last address prefetched (or
 * NULL); use it, as above. */
static inline const void *tel_src_prefetch_more(const struct tel_src_table *t,
                                                const struct tel_src *s, uint64_t dst_hash)
{
    if (!s)
        return NULL;
    const void *r = NULL;
    if (s->ext) {
        r = &t->ext[s->ext - 1];
        __builtin_prefetch(r);
    }
    if (s->ndst == TEL_SRC_DST_SKETCH) {
        r = tel_src_sketch_of(t, s) + (tel_src_sketch_hash(dst_hash) >> (64 - TEL_SRC_DST_P));
        __builtin_prefetch(r);
    }
    return r;
}

/* For a reader of many profiles (tel_src_read() of a day's, in address order): once s's
 * lines are in cache, prefetch the extension and sketch lines reading it will touch. */
static inline void tel_src_prefetch_read(const struct tel_src_table *t, const struct tel_src *s)
{
    if (s->ext)
        __builtin_prefetch(&t->ext[s->ext - 1]);
    if (s->ndst == TEL_SRC_DST_SKETCH) {
        const uint8_t *sk = tel_src_sketch_of(t, s);
        for (size_t off = 0; off < ((size_t)1 << TEL_SRC_DST_P); off += 64)
            __builtin_prefetch(sk + off);
    }
}

/* Bytes committed by the table (profiles in use, index pages touched), for accounting. */
size_t tel_src_memory(const struct tel_src_table *t);

/* Returns a malloc'ed array of the t->n entry numbers in address order (the caller frees
 * it), or NULL when out of memory. Used before writing a day. */
uint32_t *tel_src_order(const struct tel_src_table *t);

#endif
