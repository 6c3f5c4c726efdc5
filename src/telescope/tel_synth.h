/* tel_synth.h - a small writer of synthetic darknet captures, for golden tests, the fuzz
 * corpus and the benchmark (`botscope telescope --synth FILE`).
 *
 * Writes a classic pcap (microsecond, LINKTYPE_ETHERNET) of IPv4/IPv6 packets with correct
 * checksums. Scenarios (deterministic for a seed):
 *   "golden"  525 packets (530 with an IPv6 darknet) over 10 minutes into the darknet: 3 Mirai bots
 * scanning telnet (seq == dst), a masscan/zmap/nmap/unicornscan-like scanner each, an IoT port
 * scanner without fingerprint, a research scanner (71.6.0.1; the test lists 71.6.0.0/24 in its
 * research file), a DDoS victim answering spoofed SYNs with SYN-ACKs (30 packets over 90 s, above
 * the default thresholds), a victim just below (24 packets), ICMP port-unreachable backscatter
 *             quoting spoofed UDP, DNS/NTP answers and BitTorrent DHT noise, abnormal TCP
 *             flags, fragments, a bogon source, IPv6 echo scans, and traffic to addresses
 *             outside the darknet.
 *   "bench"   n packets of a scan/backscatter mix over one hour, from a pool of random source
 *             addresses (default n/8), picked uniformly or, with zipf, with a heavy tail
 *             (source k of the pool with probability ~ 1/k, as darknet sources are: a few
 *             scanners send most packets).
 * The darknet must hold an IPv4 prefix (the first one is used for destinations); IPv6
 * packets go to 2001:db8:dead::/48-style addresses derived from the IPv6 prefix when one is
 * given.
 *
 * Ownership: none kept; the file is written and closed.
 */
#ifndef BS_TELESCOPE_TEL_SYNTH_H
#define BS_TELESCOPE_TEL_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"

struct tel_synth_opts {
    const char *scenario; /* "golden" or "bench" */
    uint64_t packets;     /* bench: packet count */
    uint64_t sources;     /* bench: size of the source pool (0: packets / 8) */
    bool zipf;            /* bench: heavy-tailed source popularity instead of uniform */
    uint64_t seed;
    uint64_t start_ms;     /* capture start time */
    struct ipprefix dark4; /* IPv4 darknet prefix (required) */
    struct ipprefix dark6; /* IPv6 darknet prefix (len 0: no IPv6 traffic) */
};

/* Writes the capture to path. Returns 0, -errno or BS_EUSAGE (unknown scenario, no IPv4
 * darknet). */
int tel_synth_write(const char *path, const struct tel_synth_opts *o);

/* Low-level frame builders (Ethernet + IPv4/IPv6 + TCP/UDP/ICMP with checksums), used by the
 * scenarios and by unit tests. Each writes at most TEL_SYNTH_MAX_FRAME bytes into out and
 * returns the frame length. */
#define TEL_SYNTH_MAX_FRAME 256

struct tel_synth_tcp {
    uint32_t src, dst; /* IPv4, host order */
    uint16_t sport, dport;
    uint32_t seq, ack;
    uint8_t flags;
    uint16_t window;
    uint16_t ip_id;
    uint8_t ttl;
    const uint8_t *opts; /* multiple of 4 bytes, at most 40 */
    uint8_t opts_len;
};
size_t tel_synth_tcp4(uint8_t *out, const struct tel_synth_tcp *t);
size_t tel_synth_udp4(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                      const uint8_t *payload, size_t plen, uint16_t ip_id);
/* ICMP (v4) with type/code; for errors (type 3/11), quotes an inner IPv4+8 bytes header
 * from inner_src to inner_dst with protocol inner_proto and ports. For echo, id/seq = 0. */
size_t tel_synth_icmp4(uint8_t *out, uint32_t src, uint32_t dst, uint8_t type, uint8_t code,
                       uint32_t inner_src, uint32_t inner_dst, uint8_t inner_proto,
                       uint16_t inner_sport, uint16_t inner_dport);
/* IPv4 fragment: more-fragments flag and offset (8-byte units) as given, UDP proto, payload
 * of plen zero bytes. */
size_t tel_synth_frag4(uint8_t *out, uint32_t src, uint32_t dst, uint16_t ip_id, int more,
                       uint16_t offset, size_t plen);
size_t tel_synth_icmp6_echo(uint8_t *out, const struct ipaddr *src, const struct ipaddr *dst);

#endif
