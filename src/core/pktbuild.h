/* pktbuild.h - builds real Ethernet/IPv4/IPv6/TCP/UDP/ICMP/ICMPv6 packets with correct
 * checksums: the one packet builder behind the simulator's captures and sFlow samples and the
 * telescope's synthetic darknet captures.
 *
 * Checksums follow RFC 1071 (one's-complement sum of 16-bit words, an odd byte padded with
 * zero). The IPv4 header carries its own; TCP and UDP cover a pseudo-header (RFC 793/768 for
 * IPv4, RFC 8200 section 8.1 for IPv6), as does ICMPv6 (RFC 4443); ICMPv4 has none (RFC 792).
 * A UDP checksum that computes to zero is sent as 0xffff (RFC 768: zero means "none").
 *
 * Ownership: struct pktbuild is a plain description; its payload and option pointers are
 * borrowed for the call. Builders write into the caller's buffer and never allocate.
 */
#ifndef BS_CORE_PKTBUILD_H
#define BS_CORE_PKTBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

#define PKTBUILD_ETH_LEN        14u
#define PKTBUILD_ETHERTYPE_IPV4 0x0800u
#define PKTBUILD_ETHERTYPE_IPV6 0x86ddu

/* One packet to build. Addresses are IPv4 when both are IPv4-mapped, IPv6 otherwise. */
struct pktbuild {
    uint8_t src_mac[6];
    uint8_t dst_mac[6];
    struct ipaddr src;
    struct ipaddr dst;
    uint8_t proto;     /* 6 TCP, 17 UDP, 1 ICMP, 58 ICMPv6; any value when raw */
    uint8_t ttl;       /* hop limit for IPv6 */
    uint8_t tos;       /* traffic class for IPv6 */
    uint8_t df;        /* IPv4: don't-fragment flag */
    uint8_t mf;        /* IPv4: more-fragments flag */
    uint16_t frag_off; /* IPv4: fragment offset in 8-byte units (13 bits) */
    uint16_t ip_id;
    /* raw: the payload is the whole transport part, written as given (no transport header,
     * no transport checksum): for fragments after the first and for quoted headers. */
    bool raw;
    uint16_t sport; /* TCP/UDP ports */
    uint16_t dport;
    uint32_t seq;
    uint32_t ack;
    uint8_t tcp_flags;
    uint16_t window;
    const uint8_t *tcp_opts; /* borrowed; length a multiple of 4, at most 40 */
    uint8_t tcp_opts_len;
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint32_t icmp_rest;     /* the 4 bytes after the ICMP checksum (id/seq, unused, mtu) */
    const uint8_t *payload; /* borrowed; NULL means payload_len zero bytes */
    size_t payload_len;     /* transport payload (for ICMP errors: the quoted packet) */
};

/* Builds the IP packet (no link header) into out. Returns its length, or 0 when it does not
 * fit in cap or 65535 bytes, or the description is invalid (unknown protocol when not raw,
 * TCP options too long or not a multiple of 4). */
size_t pktbuild_ip(uint8_t *out, size_t cap, const struct pktbuild *p);

/* Builds the Ethernet frame (14-byte header, EtherType from the IP version) into out.
 * Returns its length or 0 as above. */
size_t pktbuild_frame(uint8_t *out, size_t cap, const struct pktbuild *p);

/* The running one's-complement sum of buf as big-endian 16-bit words, added to sum (not
 * folded): chain calls to sum a header in pieces. */
uint32_t pktbuild_sum(const uint8_t *buf, size_t len, uint32_t sum);

/* The Internet checksum of buf continuing from sum (from pktbuild_sum or a pseudo-header
 * sum), folded and complemented. A region whose checksum field is right gives 0. */
uint16_t pktbuild_csum(const uint8_t *buf, size_t len, uint32_t sum);

/* The pseudo-header sum for a transport part of l4len bytes of protocol proto between src and
 * dst (IPv4 when both are IPv4-mapped). */
uint32_t pktbuild_pseudo_sum(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
                             uint32_t l4len);

#endif
