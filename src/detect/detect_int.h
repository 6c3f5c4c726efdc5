/* detect_int.h - the detection engine's tables, shared by the passes (detect.c, detect_rec.c,
 * detect_pass.c, detect_parts.c), detect_score.c (features, scores, expansion), detect_graph.c
 * and their tests. Internal to bs_detect. */
#ifndef BS_DETECT_DETECT_INT_H
#define BS_DETECT_DETECT_INT_H

#include "detect/detect.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/vec.h"
#include "store/store.h"

enum { DCLI_SEED = 1, DCLI_EXPANDED = 2 };

/* client_ix values: the index into cli, with this bit set for seeds of round 0. */
#define DCLI_IX_PAIR 0x80000000u

/* A client that sent this many SYN-only records to telnet ports scans like an IoT bot. */
#define DETECT_SCANNER_TELNET_SYN 10

/* Persistence is counted in slots of four widths (1 min, 10 min, 1 h, 1 day), each a 64-bit
 * set of slot numbers modulo 64: exact while the activity spans at most 64 slots, folded past
 * that. The scorer picks, per server, the finest width in which its seed clients' activity
 * fits, so a one-hour world and a month of flows are both measured in ~64 slots. */
#define DSCALES 4
extern const uint64_t detect_scale_ms[DSCALES];

/* A server endpoint (address, port, protocol) selected for scoring (see "passes" below). */
struct dsrv {
    struct ipaddr addr;
    uint16_t port;
    uint8_t proto;
    uint64_t flows_fwd, flows_rev, packets, bytes;
    uint64_t first_ms, last_ms;
    uint32_t clients; /* edges */
    uint32_t svc;     /* its service: the /24 (IPv4) or /48 (IPv6) with the same port */
    uint32_t round;   /* expansion round that selected it (its records are collected then) */
};

/* A client address. */
struct dcli {
    struct ipaddr addr;
    uint32_t flags;        /* DCLI_* */
    uint32_t telnet_syn;   /* SYN-only records to telnet ports: scanning like an IoT bot */
    uint32_t udp_peers;    /* UDP peers on high ports on both sides (seeds only): P2P overlay */
    uint64_t win[DSCALES]; /* (seeds only) slots in which it sent or received anything */
    uint64_t first_ms, last_ms; /* (seeds only) */
    uint64_t hc;                /* its address's hash (client_ix's seed: the same in every part) */
    uint32_t seed_round;        /* expansion round that made it a seed */
};

/* A client-server edge of the graph (servers selected for scoring only). */
struct dedge {
    uint32_t client, server;
    uint32_t flows, rev_flows, syn_only, rst_rev, tiny, port_runs, sampled, ntimes;
    uint32_t pieces; /* the client's records as one-minute pieces (rec_pieces) */
    uint64_t packets;
    uint64_t first_ms, last_ms, last_t;
    uint64_t win[DSCALES]; /* slots with a record */
    uint16_t last_cport;
};

/* One connection time of a seed pair (for the beacon score). */
struct dtime {
    uint32_t edge;
    uint64_t t;
};

/* A service (/24 or /48, port, protocol) of a selected server. */
struct dsvc {
    uint32_t no, round;
};

/* A record as the passes see it: oriented, its client resolved, its server key and service
 * hashed. The client pass builds these from the store's blocks and keeps them, packed in
 * struct dchunk (the stash), while they fit detect.stash, so later passes read memory instead
 * of decompressing the store again. */
struct drec {
    struct ipaddr sa; /* server address */
    uint64_t t, packets, bytes;
    uint64_t hs, hsvc; /* server key and service hashes */
    uint64_t hc;       /* the client's address hash (pair passes) */
    uint32_t cl, rate; /* client index, sampling rate (>= 1) */
    uint32_t dur;      /* end - start in ms (0 when the end is missing or before the start) */
    uint16_t cport, sport;
    uint8_t proto, flags;
    bool fwd;  /* the record goes from the client to the server */
    bool seed; /* the client is an initial seed (pass 1 with the client table) */
    bool v6;   /* the server address is IPv6 (tested once, where the record is built) */
};

/* A column of kept records whose values take up to 64 bits but mostly far fewer (times from
 * the chunk's first, durations, packets, bytes, sampling rates): w bytes a value, as many as
 * the block's largest needs (0: every value is 0; 3 bytes hold a block's times over 4.6 hours,
 * or its packet counts, where the next power of two took 4). No record is too big to keep.
 * A value is read and written as 8 bytes at its offset (little-endian: the narrow value comes
 * first), masked on reading: no branch on the width, which a switch took for every value. A
 * write spills into the slots after its own, written in their turn (records are written in
 * order), and past the last one into 8 bytes of slack that every column has (DCOL_SLACK). */
struct dcol {
    void *v;
    uint64_t mask; /* the low w bytes */
    uint8_t w;     /* 0 to 8 */
};
#define DCOL_SLACK 8
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "struct dcol: little-endian slots");

static inline uint8_t dcol_width(uint64_t max)
{
    return max ? (uint8_t)((64 - __builtin_clzll(max) + 7) / 8) : 0;
}

static inline void dcol_init(struct dcol *c, uint64_t max)
{
    c->w = dcol_width(max);
    c->mask = c->w == 8 ? UINT64_MAX : (UINT64_C(1) << (8 * c->w)) - 1;
}

static inline uint64_t dcol_get(const struct dcol *c, size_t i)
{
    uint64_t x;
    memcpy(&x, (const char *)c->v + i * c->w, sizeof x);
    return x & c->mask;
}

/* (x must fit c's width; records in increasing order.) */
static inline void dcol_put(struct dcol *c, size_t i, uint64_t x)
{
    memcpy((char *)c->v + i * c->w, &x, sizeof x);
}

/* One store block's kept records (the stash): struct drec without what can be computed again
 * (the hashes, an IPv4 address's 12 fixed bytes), column by column. The passes after the
 * client pass test every record on a few narrow columns (its client, its service's filter
 * bit, its protocol and ports) and read the rest only for the records they take; the wide
 * columns take the width the block needs (about 30 bytes a record where the rows took 40:
 * the stash is most of detection's memory, and fresh memory is slow to fault in). */
struct dchunk {
    uint64_t seq, arrival; /* the block's position in the scan, then arrival order */
    uint64_t t0;           /* the earliest start of the block's records */
    size_t n;
    uint32_t n6;
    struct ipaddr *v6; /* the IPv6 server addresses (NULL when none) */
    uint32_t *cl;      /* client index */
    uint32_t *sa;      /* IPv4 server address, or (DK_V6) index into v6 */
    uint16_t *svcb;    /* the service hash's top 16 bits (the services filter's bit) */
    uint16_t *cport, *sport;
    uint8_t *proto;
    uint8_t *bits;   /* TCP flags (the five the passes read) | DK_FWD | DK_SEED | DK_V6 */
    struct dcol t;   /* start - t0 */
    struct dcol dur; /* as struct drec's */
    struct dcol packets, bytes;
    struct dcol rate; /* the sampling rate - 1 (0: unsampled) */
};
#define DK_FLAGS 0x1fu
#define DK_FWD   0x20u
#define DK_SEED  0x40u
#define DK_V6    0x80u

/* One record of a seed pair, logged by a pair pass (each part of the client pass logs its
 * own). After the pass the logs are read together and grouped by pair (detect_pairs_judge): a
 * pair recurs, and selects its server, with three records or more from the client (a long
 * record counts its pieces) in two minutes or more (a long record spans two by itself). The
 * grouping is by sorting, so the parts need no pair table each and no merge, and the result
 * does not depend on which part logged what. */
struct dplog {
    uint64_t hp;     /* the pair's hash */
    uint32_t sa;     /* IPv4 server address, or (DPL_V6) index into its log's IPv6 addresses */
    uint32_t minute; /* of the record's start */
    uint16_t sport;
    uint8_t proto;
    uint8_t bits; /* DPL_FWD: pieces from the client (at most 3) | DPL_LONG | DPL_V6 */
    uint8_t log;  /* which log (part) it came from */
};
#define DPL_FWD  0x03u
#define DPL_LONG 0x04u
#define DPL_V6   0x08u

/* One pair pass's log (one per part of the client pass), partitioned as it is written by the
 * top DPL_PART_BITS bits of the pair hash: each partition a chain of chunks of DPL_CHUNK
 * records, never moved, carved from huge-page slabs. The judge takes one partition at a time
 * from every log into a buffer small enough to stay in L2 (a partition is 1/256 of the
 * records), where one log of everything was copied whole into fresh memory to be bucketed. */
#define DPL_PART_BITS 8
#define DPL_PARTS     (1u << DPL_PART_BITS)
#define DPL_CHUNK     1023 /* (with its header, 24 KiB) */
struct dplchunk {
    struct dplchunk *next; /* the partition's previous chunk */
    uint64_t n;
    struct dplog e[DPL_CHUNK];
};
struct dpairlog {
    struct dplchunk *part[DPL_PARTS]; /* each partition's newest chunk */
    void **slabs;
    size_t nslabs, slabs_cap, slab_used;
    size_t n; /* records in every partition */
    struct ipaddr *v6;
    size_t n6, cap6;
};
#define DPL_SLAB ((size_t)4 << 20)

/* One distinct client-server pair of a tracked service (key of svc_pairs). */
struct dsvc_pair {
    uint32_t client, svc;
    uint64_t server_hash;
};

/* The client table: IPv4 clients in a table of their own, 8 bytes a slot (the address and its
 * client_ix value), IPv6 ones in client_ix. Every record of the client pass looks its client
 * up; a slot of the general table took two cache lines (control byte and a 24-byte entry) in a
 * table of 6 MB per scan thread, this one line in a table of 2 MB. Linear probing at most half
 * full, like core/htab; an empty slot has the value UINT32_MAX (no client index reaches it). */
struct dcmap_slot {
    uint32_t key, val;
};
struct dcmap {
    struct dcmap_slot *slot;
    size_t nslots, n;
};

/* Passes. Most servers can never be candidates: a candidate needs a seed pair that recurs
 * (three records, or pieces of long records, or more in two slots or more), or, sampled, three
 * seed clients. So detection does not keep every server and edge:
 *   client pass (the store's scan threads, each with its own part merged afterwards in store
 *     order): the client table (all clients) and the oriented records, kept (the stash);
 *     with seeds given, the pair pass of round 0 too (each part logs the seed pairs' records it
 *     reads; the logs are judged together);
 *   pair pass (the kept records): the records of seed clients are logged, then grouped by pair
 *     (detect_pairs_judge): the servers with a recurring seed pair are selected, in key order;
 *     sampled, the server of every distinct seed pair is listed (the sampled rule); the seeds'
 *     UDP peers;
 *   server pass (the kept records, tables small): full server and edge features of the
 *     selected servers, and the distinct client-server pairs of their services (popularity);
 *   after scoring, each expansion round repeats the pair and server passes for its new seeds.
 * Without seeds, the seeds are the client pass's telnet scanners. */
struct dctx {
    const struct detect_config *cfg;
    const struct detect_seeds *seeds;
    const struct detect_allow *allow;
    struct store *store;
    uint64_t hseed;        /* seed of server-key and pair hashes */
    uint64_t hc_v4;        /* client_hash_v4's constant */
    struct htab server_ix; /* selected servers: key hash -> index into srv (as svc_ix, keyed by
                            * hashes: htab_init_prehashed) */
    struct htab client_ix, edge_ix;               /* key -> index into the vectors below */
    struct dcmap client_v4;                       /* (client_ix holds the IPv6 clients) */
    struct htab svc_ix;                           /* service hash -> struct dsvc */
    struct htab svc_pairs;                        /* struct dsvc_pair (a set) */
    struct dpairlog plog[STORE_SCAN_MAX_THREADS]; /* pair pass: the seed pairs' records */
    unsigned nplog;                               /* (the client pass: one per part) */
    size_t npairs;                                /* distinct seed pairs of the last judge */
    uint8_t *pair_bits;       /* pair pass after the client pass: the round's seeds */
    uint8_t seed_v4[8192];    /* the round's seeds' IPv4 addresses, one bit each (seed_v4_bit;
                               * round 0's from the seed list) */
    struct htab udp_seen;     /* pair pass: seed-peer hash -> client index (high UDP) */
    struct htab udp_seen_srv; /* pair pass: seed-as-server peer hash -> its address */
    struct htab udp_srv;      /* pair pass: seed address as the server side -> peers */
    uint8_t svc_filter[8192]; /* services tracked in the current round (svc_bit) */
    uint8_t hll_srv[1 << 14], hll_edge[1 << 14]; /* population estimates */
    struct dsrv *srv;
    struct dcli *cli;
    struct dedge *edge;
    struct dtime *times;
    uint8_t (*newpair)[24]; /* server key of each distinct seed pair (sampled rule) */
    uint8_t (*sel)[24];     /* server keys of the round's recurring seed pairs (to select) */
    size_t nsel, sel_cap;
    /* The stash: the records the client pass kept, as chunks (one per store block) in store
     * order; the passes after it read them instead of the store while they fit stash_max. */
    struct dchunk *chunks;
    size_t nchunks, chunks_cap, stash_max; /* (stash_max in bytes) */
    void **slabs;                          /* the chunks' memory */
    size_t nslabs, slabs_cap, slab_used, slab_size;
    bool stash_full;  /* the stash overflowed: later passes read the store */
    struct drec *buf; /* one block's records when they are not kept */
    size_t buf_cap;
    struct dctx *owner;       /* a client-pass thread's part: the context it merges into */
    _Atomic size_t stashed;   /* owner: bytes of records kept by every part */
    _Atomic uint64_t arrival; /* owner: chunk arrival order (ties of seq) */
    size_t nsvc, nsrv, srv_cap, ncli, cli_cap, nedge, edge_cap, ntimes, times_cap, max_times;
    size_t nnew, new_cap;
    uint64_t t_first, t_last, flows;
    uint64_t sampling_hist[4]; /* flows at 1:1, < 1:100, < 1:1000, coarser */
    uint32_t sampling_max;
    bool timing;          /* most records unsampled: per-pair timing is meaningful */
    bool fused;           /* round 0's pair pass runs inside the client pass (seeds were given) */
    uint64_t features_ns; /* time in passes over the records and in judging seed pairs */
    int rc;
};

/* The bit of an IPv4 address in dctx.seed_v4, a filter with false positives: a pair pass
 * looks a high-port UDP record's server up among the seeds only when the filter lets it
 * through, and after the client pass does not even unpack the record otherwise. */
static inline uint32_t seed_v4_bit(uint32_t a)
{
    return (a * 0x9e3779b1u) >> 16;
}

/* Sets seed a's bit in d->seed_v4 (an IPv6 seed has none: its records always go through). */
static inline void seed_v4_add(struct dctx *d, const struct ipaddr *a)
{
    if (ipaddr_is_v4(a)) {
        uint32_t b = seed_v4_bit(ipaddr_v4(a));
        d->seed_v4[b >> 3] |= (uint8_t)(1u << (b & 7));
    }
}

/* Runs passes 1 and 2 for the clients that expansion round `round` made seeds. Returns 0, a
 * store error or BS_ENOMEM/BS_ELIMIT with errbuf set. */
int detect_scan_round(struct dctx *d, uint32_t round, char errbuf[512]);

/* Orientation of a record (detect.h): true when src is the client. In order: a SYN without ACK,
 * RST, FIN or PSH comes from the opening side; a protocol without ports from its sender; else
 * a port below 1024 against one above serves, then a non-ephemeral port (below 32768) against
 * an ephemeral one, then the lower port. Written without branches: the two directions of a
 * flow arrive mixed, so a branch on any of these tests was a coin toss in the client pass. */
static inline bool detect_forward(uint8_t proto, uint16_t sp, uint16_t dp, uint8_t flags)
{
    unsigned syn = (proto == 6) & ((flags & 0x17) == 0x02);
    unsigned noports = (proto != 6) & (proto != 17) & (proto != 132);
    /* A port's class: 0 below 1024, 1 below 32768, 2 ephemeral. The client's is the higher;
     * in the same class, the lower port serves. */
    unsigned cs = (sp >= 1024) + (sp >= 32768), cd = (dp >= 1024) + (dp >= 32768);
    return syn | noports | (cs > cd) | ((cs == cd) & (dp <= sp));
}

/* Computes features and scores from the tables, runs the rules and seed expansion, links moved
 * servers and collects the graph edges into out. Returns 0 or BS_ENOMEM. */
int detect_score(struct dctx *d, struct detect_result *out, char errbuf[512]);

/* RITA-style regularity of sorted connection times t[0..n): the mean of a skew score
 * (1 - |Bowley skew| of the intervals), a dispersion score (1 - MAD/median) and a count
 * score (min(1, n/10)); 0 when n < 6. */
double detect_beacon_score(const uint64_t *t, size_t n);

/* P(X >= k) for X ~ Binomial(n, p), as -log10 (capped at 30). */
double detect_binom_tail_log10(uint64_t k, uint64_t n, double p);

/* ---- inside the engine ---------------------------------------------------------------------
 * The passes are spread over four files: detect.c (configuration, orientation, the selected
 * servers and edges, running the passes and rounds), detect_rec.c (records from the store and
 * the stash of kept records), detect_pass.c (what the pair and server passes do with each
 * record, and judging the seed pairs) and detect_parts.c (the client pass and the server pass
 * on several threads, and merging their parts). Scoring is in detect_score.c, what follows it
 * (moved servers, graph edges) in detect_graph.c. What they share is below. */

#define HLL_P 14 /* precision of the population estimates (servers, edges) */
#define AHEAD 8  /* records whose table slots the passes prefetch */

/* One pass over the records. */
struct pass {
    struct dctx *d;
    uint32_t round;  /* seeds and servers of this round */
    bool clients;    /* the client pass: fill the client table and keep the records */
    bool pairs;      /* track seed pairs (the client pass does when d->fused); else pass 2 */
    unsigned part;   /* pass 2 on several threads: this thread's share of the clients */
    unsigned nparts; /* (0 or 1: every client) */
};

/* Is the record's client in this thread's share (pass 2 on several threads)? A multiplicative
 * hash of the client index spreads the clients evenly whatever their numbering. */
static inline bool my_client(const struct pass *p, uint32_t cl)
{
    return p->nparts <= 1 ||
           (uint32_t)(((uint64_t)(uint32_t)(cl * 2654435761u) * p->nparts) >> 32) == p->part;
}

/* Hashes of a server key (address, port, protocol; 19 bytes) under seed: one multiply-mix for
 * IPv4, the byte hash for IPv6. Servers are known by their key's hash in the tables (a 64-bit
 * hash: the chance of two servers of one run sharing it is negligible, and pass 2 compares the
 * key anyway). The IPv4 paths of skey_hash and svc_hash are computed from the address directly
 * in detect_rec.c (rec_hashes): change them together (every test that finds a C&C checks they
 * agree). */
static inline uint64_t skey_hash_seeded(const uint8_t skey[19], uint64_t seed)
{
    static const uint8_t v4map[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (!memcmp(skey, v4map, 12)) {
        uint64_t x = (uint64_t)skey[12] << 56 | (uint64_t)skey[13] << 48 |
                     (uint64_t)skey[14] << 40 | (uint64_t)skey[15] << 32 |
                     (uint64_t)skey[16] << 16 | (uint64_t)skey[17] << 8 | skey[18];
        return hash_mix64(x ^ seed);
    }
    return hash_bytes(skey, 19, seed);
}

/* The seed of service hashes: the server key hash's, changed, so that a service (a /24 with a
 * port) and the server key of its network address hash apart. */
#define DSVC_SEED 0x9e3779b97f4a7c15ull

static inline uint64_t skey_hash(const struct dctx *d, const uint8_t skey[19])
{
    return skey_hash_seeded(skey, d->hseed);
}

/* Hash of a server key's service: its /24 (IPv4) or /48 (IPv6), port and protocol. */
static inline uint64_t svc_hash(const struct dctx *d, const uint8_t skey[19])
{
    uint8_t key[19];
    memcpy(key, skey, 19);
    struct ipaddr a;
    memcpy(a.b, key, 16);
    ipaddr_mask(&a, ipaddr_is_v4(&a) ? 120 : 48);
    memcpy(key, a.b, 16);
    return skey_hash_seeded(key, d->hseed ^ DSVC_SEED);
}

/* The client table's hash of address a: an IPv4 client's is one mix of its number with
 * d->hc_v4 (the IPv4 table is detect's own: nothing else hashes its keys), an IPv6 client's
 * htab_hash of client_ix. Every part of the client pass has the same seeds, so a client has
 * one hash in every part (the merge and the pair hashes rely on it). */
static inline uint64_t client_hash_v4(const struct dctx *d, uint32_t v4)
{
    return hash_mix64(d->hc_v4 ^ v4);
}
static inline uint64_t client_hash(const struct dctx *d, const struct ipaddr *a)
{
    return ipaddr_is_v4(a) ? client_hash_v4(d, ipaddr_v4(a)) : htab_hash(&d->client_ix, a->b);
}
/* d->hc_v4 for the client table's seed. */
static inline uint64_t client_hash_v4_prefix(uint64_t seed)
{
    return hash_mix64(seed ^ (16 * 0x9e3779b97f4a7c15ull));
}

static inline void dcmap_prefetch(const struct dcmap *m, uint64_t h)
{
    if (m->nslots)
        __builtin_prefetch(&m->slot[h & (m->nslots - 1)]);
}

/* The slot of IPv4 client v4 (hash h) in m, or the empty slot where it would go (m has
 * slots). */
static inline struct dcmap_slot *dcmap_slot_of(const struct dcmap *m, uint32_t v4, uint64_t h)
{
    size_t i = h & (m->nslots - 1);
    while (m->slot[i].val != UINT32_MAX && m->slot[i].key != v4)
        i = (i + 1) & (m->nslots - 1);
    return &m->slot[i];
}

/* The client_ix value of IPv4 client v4 (hash h = client_hash_v4), or NULL. */
static inline uint32_t *dcmap_find(const struct dcmap *m, uint32_t v4, uint64_t h)
{
    if (!m->nslots)
        return NULL;
    struct dcmap_slot *s = dcmap_slot_of(m, v4, h);
    return s->val == UINT32_MAX ? NULL : &s->val;
}

/* The services filter: one bit per service hash's top 16 bits. */
static inline bool svc_maybe(const struct dctx *d, uint64_t hsvc)
{
    uint32_t bit = (uint32_t)(hsvc >> 48);
    return d->svc_filter[bit >> 3] & (1u << (bit & 7));
}

/* The slot bits of time t at each width (constant divisors: multiplications, not divisions). */
static inline void slot_bits(uint64_t t, uint64_t bits[DSCALES])
{
    _Static_assert(DSCALES == 4, "one line per width");
    bits[0] = UINT64_C(1) << ((t / 60000) & 63);
    bits[1] = UINT64_C(1) << ((t / 600000) & 63);
    bits[2] = UINT64_C(1) << ((t / 3600000) & 63);
    bits[3] = UINT64_C(1) << ((t / 86400000) & 63);
}

static inline void mark_slots(uint64_t win[DSCALES], const uint64_t bits[DSCALES])
{
    for (int k = 0; k < DSCALES; k++)
        win[k] |= bits[k];
}

/* Long records. A router exports a long connection once per active timeout (one minute on
 * many exporters); Zeek and Argus logs, and exporters with a long timeout, give it as one
 * record. The passes count a record as the one-minute pieces a router would have exported, so
 * a C&C session held open for hours persists, recurs and is a long session whatever cut it:
 * ceil(duration / 1 min), at least 1 (records up to a minute long are one piece, unchanged). */
#define DETECT_PIECE_MS 60000u
static inline uint32_t rec_pieces(uint32_t dur)
{
    return dur <= DETECT_PIECE_MS ? 1 : (dur + DETECT_PIECE_MS - 1) / DETECT_PIECE_MS;
}

/* Marks the slots of every width that [t, t + dur] touches (the slot of t alone for a record of
 * one piece, as slot_bits). */
static inline void mark_span(uint64_t win[DSCALES], uint64_t t, uint32_t dur)
{
    uint64_t bits[DSCALES];
    slot_bits(t, bits);
    mark_slots(win, bits);
    if (dur <= DETECT_PIECE_MS)
        return;
    for (int k = 0; k < DSCALES; k++) {
        uint64_t s0 = t / detect_scale_ms[k], s1 = (t + dur) / detect_scale_ms[k];
        if (s1 - s0 >= 63) {
            win[k] = ~UINT64_C(0);
            continue;
        }
        for (uint64_t s = s0 + 1; s <= s1; s++)
            win[k] |= UINT64_C(1) << (s & 63);
    }
}

static inline bool is_telnet(uint16_t p)
{
    return p == 23 || p == 2323;
}

/* An empty table with src's sizes, cap and seed. */
static inline void detect_htab_empty(struct htab *dst, const struct htab *src)
{
    *dst = *src;
    dst->ctrl = NULL;
    dst->ent = NULL;
    dst->nslots = dst->n = 0;
}

/* Room for element n in *v (core/vec's growth, from 1024 elements; the tables' caps are the
 * detect.max_* settings). Returns 0 or BS_ENOMEM. */
static inline int dgrow(void **v, size_t *cap, size_t n, size_t size)
{
    return vec_grow_raw(v, cap, n + 1, size, 1024, SIZE_MAX);
}

/* Room for want elements in *v. */
static inline int dgrow_to(void **v, size_t *cap, size_t want, size_t size)
{
    return vec_grow_raw(v, cap, want, size, 1024, SIZE_MAX);
}

/* detect.c */
/* The client table (client_v4 and client_ix): the value of client a (hash h = client_hash), or
 * NULL; detect_client_put inserts it (value 0, *is_new) when absent, or fails with BS_ELIMIT
 * (detect.max_servers clients) or BS_ENOMEM in *rc. The pointers stay valid until the next
 * put. */
uint32_t *detect_client_find(const struct dctx *d, const struct ipaddr *a, uint64_t h);
uint32_t *detect_client_put(struct dctx *d, const struct ipaddr *a, uint64_t h, bool *is_new,
                            int *rc);
void detect_client_table_release(struct dctx *d);
/* Selects the server of key skey for collection in `round` (no-op when already selected). */
int detect_select_server(struct dctx *d, const uint8_t skey[19], uint32_t round);
/* The edge of client cl and selected server sv (made when new: *is_new) into *out; h is its
 * key, detect_edge_key. edge_ix is keyed by that hash (htab_init_prehashed): hash_mix64 is a
 * bijection (xor-shifts and odd multipliers), so no two edges share it. */
static inline uint64_t detect_edge_key(const struct dctx *d, uint32_t cl, uint32_t sv)
{
    return hash_mix64(((uint64_t)cl << 32 | sv) ^ d->hseed);
}
int detect_edge_of(struct dctx *d, uint32_t cl, uint32_t sv, uint64_t h, uint32_t *out,
                   bool *is_new);

/* detect_rec.c */
/* The scan callbacks' context: the parts (one per scan thread) of the client pass, or the one
 * context of a later pass that reads the store. */
struct detect_scan_ctx {
    struct dctx **parts;
    const struct pass *pass;
};
/* store_scan's on_block: the block's records through the pass (the client pass keeps them). */
int detect_on_block(void *ctx, unsigned thread, const struct store_block *b);
/* A pass after the client pass over one chunk of kept records. */
int detect_chunk_pass(struct dctx *d, const struct pass *p, const struct dchunk *ch);
void detect_free_chunks(struct dctx *d);

/* detect_pass.c */
int detect_pass_records(const struct pass *p, const struct drec *v, size_t n);
/* Groups the pair logs by pair: the server keys of the recurring pairs into d->sel and, when
 * per-pair timing is unusable (sampled), every distinct pair's into d->newpair. Frees the
 * logs. Returns 0 or BS_ENOMEM. */
int detect_pairs_judge(struct dctx *d);
/* Room for one more record at the end of l (its n not counted yet), or NULL (BS_ENOMEM). */
/* Room for the next record of pair hash hp in log l (the caller fills it, hp included, and
 * counts it in l->n), or NULL when out of memory. */
struct dplog *detect_pairlog_next(struct dpairlog *l, uint64_t hp);
void detect_pairlog_free(struct dpairlog *l);
/* Selects the servers of the round's recurring seed pairs, in server-key order. */
int detect_select_pairs(struct dctx *d, uint32_t round);
/* Orders 24-byte server keys (19 significant bytes). */
int detect_cmp_skey(const void *a, const void *b);

/* detect_graph.c */
/* Names, in each candidate's evidence, the earlier candidate it moved from (shared seeds). */
int detect_link_moves(struct dctx *d, struct detect_result *out);
/* The candidates' graph edges into out (at most detect.graph_edges each). */
int detect_collect_edges(struct dctx *d, struct detect_result *out);
/* Counts each candidate's seed clients by the seeds' source. */
void detect_count_seed_sources(const struct dctx *d, struct detect_result *out);

/* detect_parts.c */
/* The client pass on the scan threads, its parts merged into d in store order. */
int detect_client_pass(struct dctx *d, char errbuf[512]);
/* Pass 2 over the kept records on nth threads, each with its share of the clients. */
int detect_server_pass_parts(struct dctx *d, const struct pass *p, unsigned nth);
/* Puts this round's edges (from e0 on) in a canonical order. */
int detect_order_edges(struct dctx *d, size_t e0);

#endif
