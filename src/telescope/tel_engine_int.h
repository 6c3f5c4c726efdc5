/* tel_engine_int.h - the telescope engine's state, shared by tel_engine.c (time, the
 * per-packet pipeline, output dispatch, accessors) and tel_engine_setup.c (options, darknet,
 * bogon/research/ASN/geo tables, buckets: construction and teardown). Internal to
 * bs_telescope; the contract is tel_engine.h. */
#ifndef BS_TELESCOPE_TEL_ENGINE_INT_H
#define BS_TELESCOPE_TEL_ENGINE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telescope/tel_engine.h"
#include "telescope/tel_keyhash.h"

#define DAY_MS        86400000ull
#define FAST_V4_MAX   16
#define DROPPED_HLL_P 12

/* A darknet packet waiting in the batch: decoded and classified when it is queued (the
 * classification reads only the packet, so the bytes pkt_info borrows - TCP options, the
 * start of the payload - are not copied: tcp_opts is cleared in the queued copy), with its
 * address hashes and, for backscatter, its attack's hash. */
#define TEL_BATCH    16 /* ring of queued darknet packets (power of two) */
#define PREFETCH_LAG 4  /* prefetch a profile 4 packets after its index slot */
#define SKETCH_LAG   7  /* prefetch its destination sketch 3 packets after the profile */
#define PROCESS_LAG  10 /* process a packet 10 packets after it was queued */

struct pending {
    struct pkt_info pi;
    const struct tel_src *hint;     /* profile prefetched for it (kept so the prefetch stays) */
    const void *hint2;              /* extension or sketch register prefetched for it */
    const struct tel_victim *vhint; /* attack prefetched for it */
    uint64_t ts;
    uint64_t victim_hash; /* when c.victim_kind: the attack it updates */
    uint64_t src_hash, dst_hash;
    uint64_t src_key; /* tel_src_mix() of src_hash, for the prefetch stages */
    uint32_t wirelen;
    struct tel_class c;
};

struct tel_engine {
    struct tel_opts o;
    char *bogons_path, *research_path, *pfx2as_path, *geo_path, *privacy_key;
    struct ipprefix darknet_list[TEL_MAX_DARKNET];
    size_t n_darknet;
    struct tel_pmap darknet, bogons, research, asn, geo;
    uint32_t fast_net[FAST_V4_MAX], fast_mask[FAST_V4_MAX];
    size_t n_fast;
    bool fast_only_v4; /* darknet is IPv4 only and short: test with the fast list */
    uint64_t darknet_v4_size;
    struct tel_keyhash kh;
    char octet[256][4]; /* "0".."255", for writing IPv4 addresses (a million a day) */
    uint8_t octet_len[256];
    struct tel_src_table src;
    struct tel_victim_table vic;
    struct tel_bucket *lvl[TEL_LEVELS];
    bool lvl_on[TEL_LEVELS];
    bool started, finished;
    uint64_t day_ms;
    uint8_t dropped_hll[1u << DROPPED_HLL_P];
    bool dropped_any;
    int sink_err;
    struct tel_stats st;
    bool capture_stats; /* live: capture counters are set (tel_engine_set_capture_stats) */
    uint64_t cap_recv0, cap_drop0, cap_ifdrop0; /* their values when the open interval began */
    struct pending batch[TEL_BATCH];
    uint64_t q_in; /* packets queued since the ring was last drained */
};

#endif
