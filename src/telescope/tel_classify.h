/* tel_classify.h - per-packet classification of darknet traffic: tags and tool fingerprints.
 *
 * tel_classify() is a pure function of one decoded packet (pkt.h): it never allocates, never
 * logs and keeps no state. Everything that needs context (the darknet, the bogon and research
 * lists, per-source history) is added by the engine (tel_engine.c).
 *
 * Tags (a packet may carry several):
 *   tcp_scan        TCP with SYN and none of ACK, RST, FIN (ECE/CWR/PSH/URG ignored).
 *   udp_probe       UDP that is not misconfiguration noise (below).
 *   icmp_scan       ICMP echo/timestamp/address-mask/information request, ICMPv6 echo request.
 *   backscatter     replies a victim of spoofed traffic sends to the darknet: TCP SYN-ACK, any
 *                   TCP RST (with or without ACK), ICMP echo/timestamp/info/mask replies,
 *                   ICMPv6 echo reply, and ICMP(v6) errors (unreachable, source quench,
 *                   redirect, time exceeded, parameter problem, ICMPv6 packet too big).
 *   fragment        an IPv4/IPv6 fragment (non-first fragments carry no transport header and
 *                   get no other packet-level tag).
 *   bogon           source in the special-purpose list (set by the engine).
 *   abnormal_flags  TCP SYN+FIN, null (no flags), Xmas (FIN+PSH+URG) and FIN-only.
 *   misconfig       misconfiguration noise, our rule: UDP whose source port is a service that
 *                   only answers (DNS 53, NTP 123, NetBIOS 137/138, SNMP 161, SSDP 1900,
 *                   mDNS 5353, LLMNR 5355) - responses to queries the darknet never sent, i.e.
 *                   stale or wrong configuration pointing at the address (or reflection
 *                   backscatter) - or UDP to or from the BitTorrent range 6881-6889, or UDP
 *                   whose payload starts like a BitTorrent DHT/uTP message ("d1:" bencoding).
 *   research        source in the research-scanner list (set by the engine).
 *   other           anything else (TCP ACK/PSH-ACK, ICMP neighbour discovery, GRE, ...).
 *
 * Backscatter victims. A victim answering spoofed packets sends the answer to the spoofed
 * (darknet) source: for TCP replies and ICMP echo/..., replies the victim is the packet's own
 * source and the attacked port is its source port. For ICMP errors the sender is usually a
 * router near the victim that could not deliver the attack packet (or the victim's host
 * stack): the error quotes the attack packet, whose source is the spoofed darknet address and
 * whose destination is the victim, so the victim is the quoted (inner) destination and the
 * attacked port the inner destination port. The engine only accepts such an inner victim
 * when the inner source lies in the darknet (the quote really is of a spoofed packet).
 *
 * Fingerprints (TCP SYN scans over IPv4 unless noted; each switchable):
 *   mirai        TCP sequence number == destination IPv4 address (Mirai's scanner, and its
 *                many forks, put the target address in the sequence number).
 *   masscan      IP ID == (dst_ip ^ dst_port ^ seq) & 0xffff. Checked against masscan 1.3.2
 *                by running it: SYN without TCP options, window 1024, TTL 255, fixed source
 *                port per scan. Newer masscan adds TCP options (MSS and more); the IP ID
 *                relation is the same, so options are not required either way.
 *   zmap         IP ID == 54321. zmap 2.1.1 (run here) sends SYNs with IP ID 54321, TTL 255,
 *                window 65535 and no TCP options.
 *   nmap         SYN scan probe: ACK number 0, window 1024/2048/3072/4096 and exactly one TCP
 *                option, MSS 1460 (nmap 7.93 observed: window 1024, MSS 1460, random IP ID and
 *                TTL, one sequence number and source port for the whole scan). IPv4 and IPv6.
 *                Not counted when the masscan relation also holds.
 *   unicornscan  stateful (engine): unicornscan 0.4 derives the sequence number as
 *                seq = key ^ dst_ip ^ ((dst_port << 16) + src_port) with dst_ip taken as the
 *                in-memory s_addr (byte-swapped on little-endian senders) and a per-scan
 *                random key (source: unicornscan src/scan_progs/tcphash.h TCPHASHTRACK and
 *                send_packet.c). tel_classify() computes the key for little-endian senders
 *                (x86, where unicornscan runs); the engine votes when two SYNs of one source
 *                to different targets give the same key (chance 2^-32 otherwise). Not
 *                computed when the mirai rule matched. The big-endian variant is not used:
 *                with seq == dst (Mirai) it reduces to the port pair, which Mirai's fixed
 *                source port keeps constant, so it would mistake Mirai for unicornscan.
 */
#ifndef BS_TELESCOPE_TEL_CLASSIFY_H
#define BS_TELESCOPE_TEL_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/ipaddr.h"
#include "proto/pkt.h"

enum tel_tag {
    TEL_TAG_TCP_SCAN,
    TEL_TAG_UDP_PROBE,
    TEL_TAG_ICMP_SCAN,
    TEL_TAG_BACKSCATTER,
    TEL_TAG_FRAGMENT,
    TEL_TAG_BOGON,
    TEL_TAG_ABNORMAL_FLAGS,
    TEL_TAG_MISCONFIG,
    TEL_TAG_RESEARCH,
    TEL_TAG_OTHER,
    TEL_TAG_COUNT
};

enum tel_fp {
    TEL_FP_MIRAI,
    TEL_FP_MASSCAN,
    TEL_FP_ZMAP,
    TEL_FP_NMAP,
    TEL_FP_UNICORNSCAN,
    TEL_FP_COUNT
};

#define TEL_FP_ALL ((1u << TEL_FP_COUNT) - 1)

extern const char *const tel_tag_names[TEL_TAG_COUNT];
extern const char *const tel_fp_names[TEL_FP_COUNT];

/* TCP flag bits (as in pkt_info.tcp_flags). */
#define TEL_TCP_FIN 0x01
#define TEL_TCP_SYN 0x02
#define TEL_TCP_RST 0x04
#define TEL_TCP_PSH 0x08
#define TEL_TCP_ACK 0x10
#define TEL_TCP_URG 0x20

/* ZMap's historical fixed IP ID. */
#define TEL_ZMAP_IP_ID 54321

enum tel_victim_kind {
    TEL_VICTIM_NONE = 0,
    TEL_VICTIM_SRC = 1,   /* the packet's source is the victim */
    TEL_VICTIM_INNER = 2, /* the quoted inner destination is the victim (ICMP error) */
};

struct tel_class {
    uint16_t tags;        /* 1u << enum tel_tag */
    uint8_t fps;          /* 1u << enum tel_fp: stateless fingerprints that matched */
    uint8_t victim_kind;  /* enum tel_victim_kind */
    uint8_t uni_ok;       /* uni_key_* are valid (IPv4 TCP SYN scan) */
    uint16_t victim_port; /* attacked port (0 for ICMP echo) */
    uint32_t uni_key;     /* unicornscan key (little-endian sender) */
};

/* Classifies pi. payload points at the first payload_len bytes after the transport header
 * (only the first 3 are looked at; NULL/0 when not at hand, which disables only the payload
 * part of the misconfiguration rule). fp_mask selects the fingerprints to test
 * (1u << enum tel_fp). */
void tel_classify(const struct pkt_info *pi, const uint8_t *payload, size_t payload_len,
                  unsigned fp_mask, struct tel_class *out);

/* The individual rules, exposed for unit tests and documentation. */
bool tel_fp_mirai(const struct pkt_info *pi);
bool tel_fp_masscan(const struct pkt_info *pi);
bool tel_fp_zmap(const struct pkt_info *pi);
bool tel_fp_nmap(const struct pkt_info *pi);
uint32_t tel_fp_unicorn_key(const struct pkt_info *pi);

/* True for the ports IoT malware scans for (see tel_engine.h for the infected_iot rule). The
 * ports are placed by a multiplicative hash without collisions (multiplier found by search)
 * in 32 slots holding port + 1 (0 = empty): one load and one compare, inline on the
 * per-packet path, instead of a switch's tree of branches, which mispredicted about once a
 * call on scan traffic. */
#define TEL_IOT_HASH_MUL 0xfa8cfb85u
extern const uint32_t tel_iot_port_slot[32];
static inline bool tel_is_iot_port(uint16_t port)
{
    return tel_iot_port_slot[(uint32_t)(port * TEL_IOT_HASH_MUL) >> 27] == (uint32_t)port + 1;
}

#endif
