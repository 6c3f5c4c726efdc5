/* sim_pcap.h - a plain libpcap-format file writer and a builder of real Ethernet/IPv4/IPv6/
 * TCP/UDP/ICMP frames with correct checksums, for the simulator's captures.
 *
 * File format: the classic pcap format (magic 0xa1b23c4d, nanosecond timestamps, version 2.4,
 * written little-endian), one record header per frame. Timestamps are in nanoseconds since the
 * epoch so that the simulator can order packets finer than a microsecond.
 *
 * Ownership: struct sim_pcap owns its FILE and its buffer; sim_pcap_close() releases both and
 * must be called once after a successful open. Frames passed to sim_pcap_write() are borrowed.
 */
#ifndef BS_SIM_SIM_PCAP_H
#define BS_SIM_SIM_PCAP_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/ipaddr.h"

#define SIM_PCAP_LINKTYPE_ETHERNET 1u
#define SIM_PCAP_SNAPLEN 65535u

struct sim_pcap {
    FILE *f;
    char *iobuf;
    uint64_t frames; /* records written */
    uint64_t bytes;  /* file size so far */
    int err;         /* first write error (sticky), 0 or -errno */
};

/* Creates path (truncating) and writes the file header. Returns 0 or -errno. */
int sim_pcap_open(struct sim_pcap *p, const char *path, uint32_t linktype);

/* Appends one frame (captured whole). Returns 0 or the sticky error. */
int sim_pcap_write(struct sim_pcap *p, uint64_t ts_ns, const uint8_t *frame, size_t len);

/* Flushes and closes. Returns 0 or the first error of the file's life. */
int sim_pcap_close(struct sim_pcap *p);

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
