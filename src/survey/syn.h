/* syn.h - the survey's stateless SYN discovery (ZMap's way): one raw TCP SYN per port of a
 * device, answers recognised by a validation cookie, no socket or connection per probe.
 *
 * The SYN's sequence number is a keyed hash (SipHash-2-4 with a per-run random key) of the
 * 4-tuple, and its source port is derived from the device's address and port, so an answer is
 * accepted only when its acknowledgement number is cookie + 1, its ports are the ones the
 * probe used, and its source passes the scope gate; anything else (forged, stale, another
 * program's traffic) is ignored. A SYN-ACK marks the port open; the kernel answers it with a
 * reset because no socket owns the source port (61000..62023, above Linux's default ephemeral
 * range), so no connection is left half-open. A reset marks the port closed.
 *
 * IPv4 and IPv6. For IPv4 the sweep writes the whole packet (IP_HDRINCL) and the cookie
 * covers both addresses and ports; for IPv6 the kernel writes the IPv6 header and the TCP
 * checksum (IPV6_CHECKSUM) and picks the source address, so the cookie covers the device's
 * address and both ports. Needs CAP_NET_RAW; sv_syn_open returns -EPERM without it, and the
 * caller falls back to or insists on the connect() sweep.
 *
 * The packet builder and the reply parser are pure functions over caller buffers (unit tested
 * with hand-built bytes); struct sv_syn owns the raw socket and a small route-source cache.
 */
#ifndef BS_SURVEY_SYN_H
#define BS_SURVEY_SYN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "survey/scope.h"

#define SV_SYN_SPORT_BASE  61000u
#define SV_SYN_SPORT_RANGE 1024u
#define SV_SYN_PKT_LEN     44u /* IPv4 header 20 + TCP header 20 + MSS option 4 */
#define SV_SYN_TCP_LEN     24u /* TCP header 20 + MSS option 4: the IPv6 probe */

struct sv_syn_key {
    uint64_t k0, k1;
};

/* SipHash-2-4 of n bytes under k (the reference algorithm; exposed for its test vector). */
uint64_t sv_siphash(const struct sv_syn_key *k, const void *p, size_t n);

/* The probe's source port for a device's port. */
uint16_t sv_syn_sport(const struct sv_syn_key *k, uint32_t daddr, uint16_t dport);
/* The probe's sequence number for the 4-tuple (addresses in host order). */
uint32_t sv_syn_cookie(const struct sv_syn_key *k, uint32_t saddr, uint32_t daddr, uint16_t sport,
                       uint16_t dport);

/* Writes the SYN (IPv4 header, TCP header with an MSS option, TCP checksum) for saddr ->
 * daddr:dport into out (SV_SYN_PKT_LEN bytes). Addresses in host order. */
void sv_syn_build(const struct sv_syn_key *k, uint32_t saddr, uint32_t daddr, uint16_t dport,
                  uint8_t out[SV_SYN_PKT_LEN]);

/* IPv6: the source port, the cookie (device address and both ports), and the TCP segment of
 * the probe to daddr:dport (checksum left 0: the kernel fills it). */
uint16_t sv_syn_sport6(const struct sv_syn_key *k, const uint8_t daddr[16], uint16_t dport);
uint32_t sv_syn_cookie6(const struct sv_syn_key *k, const uint8_t daddr[16], uint16_t sport,
                        uint16_t dport);
void sv_syn_build6(const struct sv_syn_key *k, const uint8_t daddr[16], uint16_t dport,
                   uint8_t out[SV_SYN_TCP_LEN]);

enum sv_syn_answer {
    SV_SYN_IGNORE = 0, /* not an answer to one of our probes, or not allowed */
    SV_SYN_OPEN,       /* SYN-ACK */
    SV_SYN_CLOSED,     /* reset */
};

/* Reads one received IPv4 packet (from the IP header). Returns SV_SYN_OPEN or SV_SYN_CLOSED
 * with the device's address and port in *addr and *port when the packet is a valid answer
 * (well-formed, unfragmented, TCP, our source port for that device and port, the cookie in
 * its acknowledgement number) from an address the scope allows; SV_SYN_IGNORE otherwise. */
enum sv_syn_answer sv_syn_parse(const struct sv_syn_key *k, const struct sv_scope *sc,
                                const uint8_t *pkt, size_t n, struct ipaddr *addr, uint16_t *port);

/* IPv6: reads one received TCP segment (an IPv6 raw socket delivers no IPv6 header) from
 * src, with the same rules as sv_syn_parse. */
enum sv_syn_answer sv_syn_parse6(const struct sv_syn_key *k, const struct sv_scope *sc,
                                 const uint8_t src[16], const uint8_t *seg, size_t n,
                                 struct ipaddr *addr, uint16_t *port);

#define SV_SYN_SRC_CACHE 1024u
struct sv_syn {
    int fd;  /* raw IPv4 TCP socket, IP_HDRINCL, a BPF filter for answers to our ports */
    int fd6; /* raw IPv6 TCP socket (IPV6_CHECKSUM, a BPF filter); -1: IPv6 not available */
    int udp; /* for route lookups: connect() picks the source address, sends nothing */
    struct sv_syn_key key;
    struct sv_syn_src {
        uint32_t net, src;
        bool used;
    } cache[SV_SYN_SRC_CACHE]; /* /24 -> the source address the routing table picks */
};

/* Opens the raw sockets with a fresh random key (IPv6 is best effort: fd6 stays -1 where the
 * system has no IPv6). Returns 0, -EPERM/-EACCES without CAP_NET_RAW, or another -errno. */
int sv_syn_open(struct sv_syn *y);
void sv_syn_close(struct sv_syn *y);
/* The source address the kernel would use towards daddr (cached per /24). 0 or -errno. */
int sv_syn_source(struct sv_syn *y, uint32_t daddr, uint32_t *saddr);
/* Sends one SYN. Returns 0 or -errno (-EAGAIN/-ENOBUFS: the queue is full, try later). */
int sv_syn_send(struct sv_syn *y, uint32_t saddr, uint32_t daddr, uint16_t dport);
/* Sends one IPv6 SYN (fd6 must be open). Returns 0 or -errno as sv_syn_send. */
int sv_syn_send6(struct sv_syn *y, const uint8_t daddr[16], uint16_t dport);

#endif
