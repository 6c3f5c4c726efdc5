/* sim_pkt.h - builds real Ethernet/IPv4/IPv6/TCP/UDP/ICMP packets with correct checksums for
 * the simulator's captures and sFlow samples.
 *
 * Ownership: struct sim_pkt is a plain description; its payload and option pointers are
 * borrowed for the call. Builders write into the caller's buffer and never allocate.
 */
#ifndef BS_SIM_SIM_PKT_H
#define BS_SIM_SIM_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

/* One packet to build. Addresses are IPv4 when both are IPv4-mapped, IPv6 otherwise. */
struct sim_pkt {
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    struct ipaddr src;
    struct ipaddr dst;
    uint8_t proto;        /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6 */
    uint8_t ttl;
    uint8_t tos;
    uint8_t df;
    uint16_t ip_id;
    uint16_t sport;       /* TCP/UDP ports */
    uint16_t dport;
    uint32_t seq;
    uint32_t ack;
    uint8_t tcp_flags;
    uint16_t window;
    const uint8_t *tcp_opts; /* borrowed; length a multiple of 4, at most 40 */
    uint8_t tcp_opts_len;
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint32_t icmp_rest;   /* the 4 bytes after the ICMP checksum (id/seq, unused, mtu) */
    const uint8_t *payload; /* borrowed; NULL means payload_len zero bytes */
    size_t payload_len;   /* transport payload (for ICMP errors: the quoted packet) */
};

/* Builds the IP packet (no link header) into out. Returns its length, or 0 when it does not
 * fit in cap or the description is invalid (unknown protocol, options too long). */
size_t sim_pkt_build_ip(uint8_t *out, size_t cap, const struct sim_pkt *p);

/* Builds the Ethernet frame (14-byte header, EtherType from the IP version) into out.
 * Returns its length or 0 as above. */
size_t sim_pkt_build_frame(uint8_t *out, size_t cap, const struct sim_pkt *p);

/* The Internet checksum (RFC 1071) of buf, folded and complemented, continuing from sum. */
uint16_t sim_pkt_csum(const uint8_t *buf, size_t len, uint32_t sum);

#endif
