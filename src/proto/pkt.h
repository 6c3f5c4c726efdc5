/* pkt.h - pure decoder of one captured or sampled packet: link layer to transport header.
 *
 * pkt_decode() walks Ethernet (with 802.1Q/802.1ad VLAN and QinQ tags), MPLS label stacks,
 * IPv4 (options, fragments), IPv6 (extension headers), and TCP/UDP/ICMP/ICMPv6, filling a
 * struct pkt_info. It never allocates, never logs and never reads outside [buf, buf+len): a
 * header cut short (as sFlow's sampled headers often are) yields what could be read, with
 * PKT_TRUNC in anomalies, and a status. For ICMP errors, the quoted inner IP and transport
 * header are decoded into inner_* (the victim/backscatter signal).
 *
 * Ownership: pkt_info is plain data; tcp_opts points into the caller's buffer (borrowed).
 */
#ifndef BS_PROTO_PKT_H
#define BS_PROTO_PKT_H

#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

enum pkt_link {
    PKT_LINK_ETHERNET = 1, /* DLT_EN10MB / sFlow header protocol 1 */
    PKT_LINK_RAW = 101,    /* DLT_RAW: starts at the IP header (v4 or v6 by nibble) */
    PKT_LINK_IPV4 = 228,   /* DLT_IPV4 / sFlow header protocol 11 */
    PKT_LINK_IPV6 = 229,   /* DLT_IPV6 / sFlow header protocol 12 */
    PKT_LINK_NULL = 0,     /* DLT_NULL (BSD loopback, 4-byte family) */
    PKT_LINK_LINUX_SLL = 113,
    PKT_LINK_LINUX_SLL2 = 276,
};

/* Anomaly bits: facts about the packet, recorded as data (the caller decides what to do). */
enum pkt_anomaly {
    PKT_TRUNC = 1u << 0,         /* header cut before its end */
    PKT_BAD_IPLEN = 1u << 1,     /* IP total length inconsistent with header/caplen */
    PKT_BAD_IHL = 1u << 2,       /* IPv4 header length < 20 */
    PKT_FRAGMENT = 1u << 3,      /* IPv4/IPv6 fragment (offset or MF set) */
    PKT_NONFIRST_FRAG = 1u << 4, /* fragment other than the first: no transport header */
    PKT_BAD_TCP_OFF = 1u << 5,   /* TCP data offset < 5 or past the packet */
    PKT_UNKNOWN_L3 = 1u << 6,    /* not IPv4/IPv6 */
    PKT_BAD_VERSION = 1u << 7,   /* IP version nibble does not match */
    PKT_TOO_DEEP = 1u << 8,      /* VLAN/MPLS/extension-header nesting beyond the limit */
};

struct pkt_info {
    uint16_t anomalies; /* PKT_* */
    uint8_t ip_version; /* 4, 6 or 0 when no IP header was found */
    uint8_t proto;      /* IP protocol / IPv6 final next header */
    struct ipaddr src;
    struct ipaddr dst;
    uint32_t ip_len;   /* IP total length as stated by the header (v6: payload + 40) */
    uint16_t ip_id;    /* IPv4 identification (0 for IPv6) */
    uint16_t frag_off; /* fragment offset in 8-byte units */
    uint8_t ttl;       /* TTL / hop limit */
    uint8_t tos;       /* TOS / traffic class */
    uint8_t ip_df;     /* IPv4 don't-fragment bit */
    uint8_t vlan_count;
    uint16_t vlan;       /* outermost VLAN ID (0 when untagged) */
    uint16_t inner_vlan; /* second VLAN ID (QinQ) */
    uint8_t mpls_labels; /* labels popped */
    uint8_t l4_ok;       /* the transport header below was read in full */
    uint16_t src_port;
    uint16_t dst_port;
    /* TCP */
    uint8_t tcp_flags; /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 */
    uint8_t tcp_hdr_len; /* bytes, including options */
    uint32_t tcp_seq;
    uint32_t tcp_ack;
    uint16_t tcp_window;
    uint16_t tcp_urgent;
    const uint8_t *tcp_opts; /* borrowed; tcp_opts_len bytes */
    uint8_t tcp_opts_len;
    /* ICMP / ICMPv6 */
    uint8_t icmp_type;
    uint8_t icmp_code;
    /* ICMP error quotation (inner header of the packet that caused the error) */
    uint8_t has_inner;
    uint8_t inner_proto;
    struct ipaddr inner_src;
    struct ipaddr inner_dst;
    uint16_t inner_src_port;
    uint16_t inner_dst_port;
    /* Offsets into the buffer, for callers that need the payload. */
    uint32_t l3_off;
    uint32_t l4_off;
    uint32_t payload_off; /* first byte after the transport header (== caplen when none) */
    uint32_t caplen;
};

/* Decodes buf (len captured bytes) starting at the given link layer. Returns 0 when an IP
 * header was decoded (possibly with anomalies), BS_EUNSUPPORTED for a non-IP frame (ARP, ...),
 * BS_ETRUNC when even the IP header is cut. out is always fully initialised. */
int pkt_decode(const uint8_t *buf, size_t len, enum pkt_link link, struct pkt_info *out);

/* The same decoder without pkt_decode's fast path for the common Ethernet/IPv4/IPv6 +
 * TCP/UDP/ICMP case: identical results for every input (the unit tests compare the two), for
 * tests and for checking the fast path. */
int pkt_decode_general(const uint8_t *buf, size_t len, enum pkt_link link, struct pkt_info *out);

/* Decodes from an IP header whose version is given by the first nibble. */
int pkt_decode_ip(const uint8_t *buf, size_t len, struct pkt_info *out);

#endif
