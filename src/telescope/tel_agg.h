/* tel_agg.h - one time bucket of darknet counters (an interval or a roll-up of intervals).
 *
 * A bucket counts darknet packets and bytes (IP length) in total and per tag, protocol, ICMP
 * type, fingerprint, TCP/UDP destination port, source ASN and country, plus unique sources
 * and destinations in total (HyperLogLog p=12, ~1.6 %) and per tag, protocol, ICMP type,
 * port, ASN and country (HLL p=6, ~13 %; a HyperLogLog of 64 registers uses linear
 * counting up to ~160, exact enough for the small sets most rows have). Per port: packets
 * for all 65536 ports of TCP and UDP exactly; bytes and the unique counts for the first
 * TEL_AGG_PORT_SLOTS distinct ports seen in the bucket (a bound on memory; packets of
 * ports past it are counted in port_slots_full_packets). ASN and country rows are capped at
 * TEL_AGG_GROUPS each (overflow counted). A bucket is ~1.5 MB, allocated once; adding a
 * packet never allocates. Buckets merge (counters add, sketches take register maxima), which
 * is how the 5 min / 1 h / 1 day roll-ups are built from the base intervals.
 *
 * Reset, merge and the port lists touch only what a bucket used, not its 1.5 MB: the ports
 * with packets are exactly the slots' ports plus the ports marked in port_untracked (ports
 * that found no free slot; a port is never in both), and a tag, protocol or ICMP type row's
 * sketches are non-zero only when its packet count is. Past TEL_AGG_DENSE_MERGE untracked
 * ports, a merge adds all 131072 counters (vectorised) instead of walking the marks (and
 * tel_bucket_port_total() sums them all), and past
 * TEL_AGG_DENSE_SCAN the port lists scan all counters (each mark visited costs about as much
 * as 2.5 counters scanned in order, by instruction counts).
 */
#ifndef BS_TELESCOPE_TEL_AGG_H
#define BS_TELESCOPE_TEL_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telescope/tel_classify.h"

#define TEL_AGG_HLL_P       12
#define TEL_AGG_PORT_P      6
#define TEL_AGG_PORT_SLOTS  2048
#define TEL_AGG_GROUPS      1024
#define TEL_AGG_DENSE_MERGE 8192
#define TEL_AGG_DENSE_SCAN  50000

struct tel_port_slot {
    uint16_t port;
    uint8_t is_udp;
    uint64_t bytes;
    uint8_t hll_src[1u << TEL_AGG_PORT_P];
    uint8_t hll_dst[1u << TEL_AGG_PORT_P];
};

struct tel_group {
    uint32_t key; /* ASN, or country code; 0 = empty */
    uint64_t packets;
    uint64_t bytes;
    uint8_t hll_src[1u << TEL_AGG_PORT_P];
    uint8_t hll_dst[1u << TEL_AGG_PORT_P];
};

/* Unique sources and destinations of one tag, protocol or ICMP type. */
struct tel_uniq {
    uint8_t hll_src[1u << TEL_AGG_PORT_P];
    uint8_t hll_dst[1u << TEL_AGG_PORT_P];
};

struct tel_bucket {
    uint64_t start_ms;
    uint64_t len_ms;
    uint64_t packets;
    uint64_t bytes;
    uint64_t non_darknet_packets;
    uint64_t non_darknet_bytes;
    uint64_t undecoded_packets;
    uint64_t research_packets;
    uint64_t dropped_sources; /* new sources not profiled (table at cap) */
    uint64_t port_slots_full_packets;
    uint64_t group_overflow_packets;
    uint64_t late_packets;     /* packets older than the bucket, counted in it */
    uint64_t capture_received; /* live capture: libpcap's receive/drop counters over the */
    uint64_t capture_dropped;  /* bucket (as polled between capture batches); 0 offline */
    uint64_t capture_if_dropped;
    uint64_t tag_packets[TEL_TAG_COUNT];
    uint64_t tag_bytes[TEL_TAG_COUNT];
    uint64_t fp_packets[TEL_FP_COUNT];
    uint64_t proto_packets[256];
    uint64_t proto_bytes[256];
    uint64_t icmp_types[256];
    uint64_t icmp6_types[256];
    struct tel_uniq tag_uniq[TEL_TAG_COUNT];
    struct tel_uniq proto_uniq[256];
    struct tel_uniq icmp_uniq[256];
    struct tel_uniq icmp6_uniq[256];
    uint32_t port_packets[2][65536]; /* [0] TCP, [1] UDP */
    uint16_t port_slot_of[2][65536]; /* slot + 1, 0 = none */
    uint32_t nslots;
    uint32_t nuntracked; /* ports marked in port_untracked */
    struct tel_port_slot slots[TEL_AGG_PORT_SLOTS];
    uint32_t nasn, ncc;
    struct tel_group asn[TEL_AGG_GROUPS];
    struct tel_group cc[TEL_AGG_GROUPS];
    uint8_t hll_src[1u << TEL_AGG_HLL_P];
    uint8_t hll_dst[1u << TEL_AGG_HLL_P];
    uint64_t port_untracked[2][65536 / 64]; /* bit set: port has packets but no slot */
};

/* One darknet packet, as the bucket sees it. */
struct tel_agg_pkt {
    uint32_t bytes;
    uint16_t tags;
    uint8_t fps;
    uint8_t proto;
    uint8_t ip_version;
    uint8_t has_port; /* TCP or UDP with a transport header */
    uint8_t is_udp;
    uint8_t has_icmp;
    uint8_t icmp_type;
    uint8_t has_asn, has_cc;
    uint16_t dst_port;
    uint32_t asn;
    uint16_t cc;
    uint64_t src_hash;
    uint64_t dst_hash;
};

/* init: clears everything (fresh memory). reset: reuses a bucket, clearing only what the
 * previous period used. */
void tel_bucket_init(struct tel_bucket *b, uint64_t start_ms, uint64_t len_ms);
void tel_bucket_reset(struct tel_bucket *b, uint64_t start_ms, uint64_t len_ms);
void tel_bucket_add(struct tel_bucket *b, const struct tel_agg_pkt *p);
/* dst += src (dst keeps its own start and length). */
void tel_bucket_merge(struct tel_bucket *dst, const struct tel_bucket *src);

/* Port rows for output: fills out with up to max (proto, port) rows ordered by packets (or
 * by unique sources when by_sources), ties by protocol then port. Returns the count. */
struct tel_port_row {
    uint8_t is_udp;
    uint16_t port;
    uint64_t packets;
    uint64_t bytes;   /* 0 when the port had no slot */
    uint64_t sources; /* estimates; 0 when the port had no slot */
    uint64_t destinations;
    bool tracked;
};
size_t tel_bucket_top_ports(const struct tel_bucket *b, int only_udp, bool by_sources,
                            struct tel_port_row *out, size_t max);

/* Sum of port_packets over both protocols and all ports (visits only the ports used). */
uint64_t tel_bucket_port_total(const struct tel_bucket *b);

#endif
