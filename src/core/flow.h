/* flow.h - the one normalised flow record that every decoder produces and every store keeps.
 *
 * A record describes one unidirectional flow as the exporter reported it. Invariants:
 *  - packets and bytes are exactly as exported (never scaled); sampling_rate says how many
 *    packets each sampled packet stands for (1 when unsampled or unknown). Renormalised
 *    counts are flow_packets_scaled()/flow_bytes_scaled().
 *  - times are milliseconds since the Unix epoch, start_ms <= end_ms when both are known.
 *  - addresses use the IPv4-mapped form of ipaddr.h; exporter is the datagram's source.
 *  - for ICMP, dst_port holds type << 8 | code (the NetFlow/nfdump convention) and src_port 0.
 *  - fields the exporter did not send are zero and their FLOW_HAS_* bit is clear.
 * The struct is plain data: copy it freely; it owns nothing.
 */
#ifndef BS_CORE_FLOW_H
#define BS_CORE_FLOW_H

#include <stdint.h>

#include "core/ipaddr.h"

enum flow_version {
    FLOW_V5 = 5,
    FLOW_V9 = 9,
    FLOW_IPFIX = 10,
    FLOW_SFLOW5 = 105, /* printed as "sflow5" */
};

enum flow_dir {
    FLOW_DIR_UNKNOWN = 0,
    FLOW_DIR_INGRESS = 1,
    FLOW_DIR_EGRESS = 2,
};

/* Presence bits for optional fields. */
enum flow_has {
    FLOW_HAS_SRC_AS = 1u << 0,
    FLOW_HAS_DST_AS = 1u << 1,
    FLOW_HAS_NEXTHOP = 1u << 2,
    FLOW_HAS_VLAN = 1u << 3,
    FLOW_HAS_TIMES = 1u << 4,
    FLOW_HAS_IFACES = 1u << 5,
    FLOW_HAS_MASKS = 1u << 6,
    FLOW_HAS_TOS = 1u << 7,
};

struct flow_rec {
    uint64_t start_ms;
    uint64_t end_ms;
    uint64_t packets; /* as exported */
    uint64_t bytes;   /* as exported */
    struct ipaddr src;
    struct ipaddr dst;
    struct ipaddr exporter;
    struct ipaddr nexthop;
    uint32_t sampling_rate; /* >= 1 */
    uint32_t obs_domain;    /* v9 source ID, IPFIX observation domain, sFlow agent sub-ID/source */
    uint32_t in_if;
    uint32_t out_if;
    uint32_t src_as;
    uint32_t dst_as;
    uint16_t src_port;
    uint16_t dst_port;
    uint16_t vlan;
    uint16_t has; /* FLOW_HAS_* */
    uint8_t proto;
    uint8_t tcp_flags;
    uint8_t tos;
    uint8_t version;   /* enum flow_version */
    uint8_t direction; /* enum flow_dir */
    uint8_t src_mask;
    uint8_t dst_mask;
    uint8_t reserved;
};

static inline uint64_t flow_packets_scaled(const struct flow_rec *f)
{
    return f->packets * (f->sampling_rate ? f->sampling_rate : 1);
}

static inline uint64_t flow_bytes_scaled(const struct flow_rec *f)
{
    return f->bytes * (f->sampling_rate ? f->sampling_rate : 1);
}

/* "5", "9", "10" or "sflow5". Returns a static string. */
const char *flow_version_name(unsigned version);

struct buf;
/* Appends r as one NDJSON line with the keys of CLI.md (collect output), the fields of
 * core/flow_field.h in their order. Returns 0 or
 * BS_ELIMIT when b is full. */
int flow_to_ndjson(const struct flow_rec *r, struct buf *b);
#endif
