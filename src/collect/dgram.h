/* dgram.h - finding the UDP datagram inside a captured frame (offline collection).
 *
 * dgram_from_frame() decodes the link and IP layers with pkt_decode() (Ethernet, VLAN/QinQ,
 * MPLS, SLL, raw IP), accepts IPv4 and IPv6 UDP on any port, and hands back the UDP payload
 * exactly as a socket would deliver it (UDP-length bytes, Ethernet padding removed). IP
 * fragments go through the caller's frag_table (frag.h) and the datagram comes out with the
 * fragment that completes it; IPv6 fragments are reassembled when UDP follows the fragment
 * header directly.
 *
 * Ownership: out->data is borrowed from the frame or from the frag_table; valid until the next
 * call with the same table or the end of the frame's lifetime, whichever is first.
 */
#ifndef BS_COLLECT_DGRAM_H
#define BS_COLLECT_DGRAM_H

#include <stddef.h>
#include <stdint.h>

#include "collect/frag.h"
#include "core/ipaddr.h"
#include "proto/pkt.h"

/* What a frame turned out to be. Only DGRAM_OK yields a datagram. */
enum dgram_kind {
    DGRAM_OK = 0,    /* out holds a UDP datagram */
    DGRAM_NOT_IP,    /* not IPv4/IPv6 (ARP, unknown link layer, ...) */
    DGRAM_NOT_UDP,   /* IP, but TCP/ICMP/... */
    DGRAM_FRAG_HELD, /* a fragment kept for reassembly; the datagram is not whole yet */
    DGRAM_FRAG_BAD,  /* a fragment that cannot be reassembled (see frag_stats) */
    DGRAM_TRUNCATED, /* the capture cut the datagram (snaplen) or lengths disagree */
};
#define DGRAM_KINDS 6

/* Short name for the summary ("not_ip", "truncated", ...). Static string. */
const char *dgram_kind_name(enum dgram_kind k);

struct dgram {
    const uint8_t *data; /* UDP payload (borrowed) */
    size_t len;
    struct ipaddr src;
    struct ipaddr dst;
    uint16_t src_port;
    uint16_t dst_port;
};

/* Classifies one frame and, for DGRAM_OK, fills out. ft may be NULL (fragments are then
 * DGRAM_FRAG_BAD). ts_us is the capture time (fragment timeouts). */
enum dgram_kind dgram_from_frame(struct frag_table *ft, const uint8_t *frame, size_t caplen,
                                 enum pkt_link link, uint64_t ts_us, struct dgram *out);

#endif
