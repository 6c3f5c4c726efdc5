/* pkt.c - packet decoder: link layer, VLAN/MPLS/PPPoE, IPv4/IPv6, TCP/UDP/ICMP.
 *
 * Written for speed (the telescope classifies millions of packets per second per core): one
 * pass over the buffer, straight-line code, explicit length checks followed by be16/be32 loads,
 * no function pointers and no allocation. Every load is preceded by a check against the
 * captured length, so nothing outside [buf, buf+len) is ever read.
 *
 * Conventions chosen here (the header leaves them open):
 *  - A header cut by the capture sets PKT_TRUNC. Cutting the link layer, a tag or the fixed IP
 *    header returns BS_ETRUNC; cutting anything after the fixed IP header (IPv4 options still
 *    return BS_ETRUNC, as they belong to the IP header) returns 0 with what could be read.
 *  - A version nibble that disagrees with the link layer or EtherType sets PKT_BAD_VERSION;
 *    the header is then decoded by its nibble when that is 4 or 6.
 *  - The end of the IP packet is min(caplen, l3_off + total length) when the total length is
 *    sane, so Ethernet padding is never taken for transport bytes. A capture shorter than the
 *    stated length is normal (sFlow headers, snaplen) and is not an anomaly by itself.
 *  - Ports are filled whenever their 4 bytes were captured, even when the rest of the fixed
 *    transport header is cut (l4_ok then stays 0).
 */
#include "proto/pkt.h"

#include <string.h>

#include "core/err.h"
#include "core/rd.h"

/* Caps on nesting, so hostile input cannot make the walk long: VLAN tags, MPLS labels and
 * IPv6 extension headers each stop at PKT_MAX_DEPTH with PKT_TOO_DEEP. */
#define PKT_MAX_DEPTH 8

#define ETH_IPV4       0x0800
#define ETH_IPV6       0x86DD
#define ETH_VLAN       0x8100
#define ETH_QINQ       0x88A8
#define ETH_QINQ_OLD   0x9100
#define ETH_MPLS_UC    0x8847
#define ETH_MPLS_MC    0x8848
#define ETH_PPPOE_SESS 0x8864

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

/* Protocol numbers used below. */
#define IPP_HOPOPT   0
#define IPP_ICMP     1
#define IPP_TCP      6
#define IPP_UDP      17
#define IPP_ROUTING  43
#define IPP_FRAGMENT 44
#define IPP_ESP      50
#define IPP_AH       51
#define IPP_ICMPV6   58
#define IPP_NONE     59
#define IPP_DSTOPTS  60
#define IPP_SCTP     132
#define IPP_UDPLITE  136

/* Clears *out. Two halves because gcc turns one 144-byte memset into `rep stos` (slow to
 * start, ~30 cycles) and two 72-byte ones into nine 16-byte stores. */
static inline void pkt_clear(struct pkt_info *out)
{
    _Static_assert(sizeof *out > 72, "pkt_info is cleared in two halves");
    memset(out, 0, 72);
    memset((unsigned char *)out + 72, 0, sizeof *out - 72);
}

/* Walks IPv6 extension headers starting at off with next header *nh, within [0, end).
 * On return *nh is the first header that is not an extension header we pass (or the one that
 * could not be passed), *off its offset. Sets *frag_off / *more for a fragment header. Returns
 * 0, or a PKT_* bit (PKT_TRUNC or PKT_TOO_DEEP) when the walk stopped early. */
static unsigned ipv6_walk_ext(const uint8_t *buf, size_t end, size_t *off, uint8_t *nh,
                              uint16_t *frag_off, int *more)
{
    size_t o = *off;
    uint8_t n = *nh;
    unsigned depth = 0;
    unsigned err = 0;
    for (;;) {
        size_t hlen;
        if (n != IPP_HOPOPT && n != IPP_ROUTING && n != IPP_DSTOPTS && n != IPP_FRAGMENT &&
            n != IPP_AH)
            break;
        if (depth == PKT_MAX_DEPTH) {
            err = PKT_TOO_DEEP;
            break;
        }
        depth++;
        if (end - o < 8) { /* every extension header is at least 8 bytes */
            err = PKT_TRUNC;
            break;
        }
        const uint8_t *h = buf + o;
        if (n == IPP_FRAGMENT) {
            uint16_t fo = be16(h + 2);
            *frag_off = (uint16_t)(fo >> 3);
            *more = fo & 1;
            hlen = 8;
        } else if (n == IPP_AH) {
            hlen = ((size_t)h[1] + 2) * 4;
        } else {
            hlen = ((size_t)h[1] + 1) * 8;
        }
        if (end - o < hlen) {
            err = PKT_TRUNC;
            break;
        }
        n = h[0];
        o += hlen;
        if (*frag_off != 0) /* non-first fragment: what follows is not a header */
            break;
    }
    *off = o;
    *nh = n;
    return err;
}

/* Decodes the quotation of an ICMP/ICMPv6 error at off (an IP header and at least 8 bytes of
 * its transport header, RFC 792/1812/4443). Fills inner_* and has_inner when the inner fixed
 * IP header was captured. */
static void decode_inner(const uint8_t *buf, size_t end, size_t off, struct pkt_info *out)
{
    if (off >= end)
        return;
    const uint8_t *h = buf + off;
    size_t avail = end - off;
    size_t l4;
    uint8_t nh;
    if (h[0] >> 4 == 4) {
        if (avail < 20)
            return;
        size_t ihl = (size_t)(h[0] & 0x0f) * 4;
        nh = h[9];
        ipaddr_from_v4(&out->inner_src, be32(h + 12));
        ipaddr_from_v4(&out->inner_dst, be32(h + 16));
        out->inner_proto = nh;
        out->has_inner = 1;
        if (ihl < 20 || (be16(h + 6) & 0x1fff) != 0) /* bad header or non-first fragment */
            return;
        l4 = off + ihl;
    } else if (h[0] >> 4 == 6) {
        if (avail < 40)
            return;
        ipaddr_from_v6(&out->inner_src, h + 8);
        ipaddr_from_v6(&out->inner_dst, h + 24);
        nh = h[6];
        l4 = off + 40;
        uint16_t fo = 0;
        int more = 0;
        (void)ipv6_walk_ext(buf, end, &l4, &nh, &fo, &more);
        out->inner_proto = nh;
        out->has_inner = 1;
        if (fo != 0)
            return;
    } else {
        return;
    }
    if (nh != IPP_TCP && nh != IPP_UDP && nh != IPP_SCTP && nh != IPP_UDPLITE)
        return;
    if (l4 > end || end - l4 < 4)
        return;
    out->inner_src_port = be16(buf + l4);
    out->inner_dst_port = be16(buf + l4 + 2);
}

/* Decodes the transport header at off; end is the end of the IP packet as captured and
 * stated_end the end the IP header states (>= end when the capture is cut). */
static void decode_l4(const uint8_t *buf, size_t off, size_t end, size_t stated_end,
                      struct pkt_info *out)
{
    out->l4_off = (uint32_t)off;
    size_t avail = off <= end ? end - off : 0;
    const uint8_t *h = buf + off;
    switch (out->proto) {
    case IPP_TCP: {
        if (avail >= 4) {
            out->src_port = be16(h);
            out->dst_port = be16(h + 2);
        }
        if (avail < 20) {
            out->anomalies |= PKT_TRUNC;
            return;
        }
        out->tcp_seq = be32(h + 4);
        out->tcp_ack = be32(h + 8);
        size_t doff = (size_t)(h[12] >> 4) * 4;
        out->tcp_flags = h[13];
        out->tcp_window = be16(h + 14);
        out->tcp_urgent = be16(h + 18);
        out->l4_ok = 1;
        out->tcp_hdr_len = (uint8_t)doff;
        size_t stated = stated_end > off ? stated_end - off : 0;
        if (doff < 20 || doff > stated) {
            out->anomalies |= PKT_BAD_TCP_OFF;
            out->payload_off = (uint32_t)(off + 20);
            return;
        }
        size_t have = doff <= avail ? doff : avail;
        if (doff > avail)
            out->anomalies |= PKT_TRUNC;
        out->tcp_opts = h + 20;
        out->tcp_opts_len = (uint8_t)(have - 20);
        out->payload_off = (uint32_t)(off + have);
        return;
    }
    case IPP_UDP:
    case IPP_UDPLITE:
        if (avail >= 4) {
            out->src_port = be16(h);
            out->dst_port = be16(h + 2);
        }
        if (avail < 8) {
            out->anomalies |= PKT_TRUNC;
            return;
        }
        out->l4_ok = 1;
        out->payload_off = (uint32_t)(off + 8);
        return;
    case IPP_SCTP:
        if (avail >= 4) {
            out->src_port = be16(h);
            out->dst_port = be16(h + 2);
        }
        if (avail < 12) {
            out->anomalies |= PKT_TRUNC;
            return;
        }
        out->l4_ok = 1;
        out->payload_off = (uint32_t)(off + 12);
        return;
    case IPP_ICMP:
    case IPP_ICMPV6:
        if (avail >= 2) {
            out->icmp_type = h[0];
            out->icmp_code = h[1];
        }
        if (avail < 8) {
            out->anomalies |= PKT_TRUNC;
            return;
        }
        out->l4_ok = 1;
        out->payload_off = (uint32_t)(off + 8);
        {
            uint8_t t = h[0];
            int is_err = out->proto == IPP_ICMP ? (t == 3 || t == 4 || t == 5 || t == 11 || t == 12)
                                                : (t >= 1 && t <= 4);
            if (is_err)
                decode_inner(buf, end, off + 8, out);
        }
        return;
    default:
        return;
    }
}

static int decode_ipv4(const uint8_t *buf, size_t len, size_t off, struct pkt_info *out)
{
    out->l3_off = (uint32_t)off;
    if (len - off < 20) {
        out->anomalies |= PKT_TRUNC;
        return BS_ETRUNC;
    }
    const uint8_t *h = buf + off;
    size_t ihl = (size_t)(h[0] & 0x0f) * 4;
    size_t tot = be16(h + 2);
    uint16_t fo = be16(h + 6);
    out->ip_version = 4;
    out->tos = h[1];
    out->ip_len = (uint32_t)tot;
    out->ip_id = be16(h + 4);
    out->ip_df = (uint8_t)(fo >> 14 & 1);
    out->frag_off = fo & 0x1fff;
    out->ttl = h[8];
    out->proto = h[9];
    ipaddr_from_v4(&out->src, be32(h + 12));
    ipaddr_from_v4(&out->dst, be32(h + 16));
    if (ihl < 20) {
        out->anomalies |= PKT_BAD_IHL;
        return 0; /* the transport header cannot be located */
    }
    if (len - off < ihl) {
        out->anomalies |= PKT_TRUNC;
        return BS_ETRUNC;
    }
    size_t end = len, stated_end;
    if (tot < ihl) {
        out->anomalies |= PKT_BAD_IPLEN;
        stated_end = len; /* trust the capture (TSO and friends write 0 here) */
    } else {
        stated_end = off + tot;
        if (stated_end < end)
            end = stated_end; /* link padding after the packet */
    }
    if (fo & 0x3fff) { /* MF or a fragment offset (0x4000 is DF) */
        out->anomalies |= PKT_FRAGMENT;
        if (out->frag_off != 0) {
            out->anomalies |= PKT_NONFIRST_FRAG;
            out->l4_off = (uint32_t)(off + ihl);
            return 0;
        }
    }
    decode_l4(buf, off + ihl, end, stated_end, out);
    return 0;
}

static int decode_ipv6(const uint8_t *buf, size_t len, size_t off, struct pkt_info *out)
{
    out->l3_off = (uint32_t)off;
    if (len - off < 40) {
        out->anomalies |= PKT_TRUNC;
        return BS_ETRUNC;
    }
    const uint8_t *h = buf + off;
    uint32_t w0 = be32(h);
    size_t plen = be16(h + 4);
    out->ip_version = 6;
    out->tos = (uint8_t)(w0 >> 20);
    out->ip_len = (uint32_t)plen + 40;
    out->ttl = h[7];
    ipaddr_from_v6(&out->src, h + 8);
    ipaddr_from_v6(&out->dst, h + 24);
    size_t end = len, stated_end;
    if (plen == 0) {
        stated_end = len; /* jumbogram (RFC 2675) or unset: trust the capture */
    } else {
        stated_end = off + 40 + plen;
        if (stated_end < end)
            end = stated_end;
    }
    size_t l4 = off + 40;
    uint8_t nh = h[6];
    uint16_t fo = 0;
    int more = 0;
    out->anomalies |= (uint16_t)ipv6_walk_ext(buf, end, &l4, &nh, &fo, &more);
    out->proto = nh;
    out->frag_off = fo;
    if (fo != 0 || more) {
        out->anomalies |= PKT_FRAGMENT;
        if (fo != 0) {
            out->anomalies |= PKT_NONFIRST_FRAG;
            out->l4_off = (uint32_t)l4;
            return 0;
        }
    }
    if (out->anomalies & (PKT_TRUNC | PKT_TOO_DEEP)) {
        out->l4_off = (uint32_t)l4;
        return 0;
    }
    decode_l4(buf, l4, end, stated_end, out);
    return 0;
}

/* Dispatches on the version nibble; want is the version the outer layer announced (0: any). */
static int decode_ip_at(const uint8_t *buf, size_t len, size_t off, unsigned want,
                        struct pkt_info *out)
{
    out->l3_off = (uint32_t)off;
    if (off >= len) {
        out->anomalies |= PKT_TRUNC;
        return BS_ETRUNC;
    }
    unsigned v = buf[off] >> 4;
    if (want != 0 && v != want)
        out->anomalies |= PKT_BAD_VERSION;
    if (v == 4)
        return decode_ipv4(buf, len, off, out);
    if (v == 6)
        return decode_ipv6(buf, len, off, out);
    out->anomalies |= PKT_BAD_VERSION | PKT_UNKNOWN_L3;
    return BS_EUNSUPPORTED;
}

static void finish(struct pkt_info *out)
{
    if (!out->l4_ok)
        out->payload_off = out->caplen;
}

int pkt_decode_ip(const uint8_t *buf, size_t len, struct pkt_info *out)
{
    pkt_clear(out);
    if (len > UINT32_MAX)
        len = UINT32_MAX; /* offsets are 32-bit; no packet comes close */
    out->caplen = (uint32_t)len;
    int rc = decode_ip_at(buf, len, 0, 0, out);
    finish(out);
    return rc;
}

int pkt_decode_general(const uint8_t *buf, size_t len, enum pkt_link link, struct pkt_info *out)
{
    pkt_clear(out);
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    out->caplen = (uint32_t)len;
    size_t off;
    unsigned et;
    int rc;

    switch (link) {
    case PKT_LINK_RAW:
        rc = decode_ip_at(buf, len, 0, 0, out);
        goto done;
    case PKT_LINK_IPV4:
        rc = decode_ip_at(buf, len, 0, 4, out);
        goto done;
    case PKT_LINK_IPV6:
        rc = decode_ip_at(buf, len, 0, 6, out);
        goto done;
    case PKT_LINK_ETHERNET:
        if (len < 14)
            goto trunc;
        et = be16(buf + 12);
        off = 14;
        break;
    case PKT_LINK_NULL: {
        if (len < 4)
            goto trunc;
        /* The family is in the capturing host's byte order: accept both. */
        uint32_t le = (uint32_t)buf[0] | (uint32_t)buf[1] << 8 | (uint32_t)buf[2] << 16 |
                      (uint32_t)buf[3] << 24;
        uint32_t af = le <= 0xff ? le : be32(buf);
        if (af == 2)
            rc = decode_ip_at(buf, len, 4, 4, out);
        else if (af == 24 || af == 28 || af == 30)
            rc = decode_ip_at(buf, len, 4, 6, out);
        else {
            out->anomalies |= PKT_UNKNOWN_L3;
            rc = BS_EUNSUPPORTED;
        }
        goto done;
    }
    case PKT_LINK_LINUX_SLL:
        if (len < 16)
            goto trunc;
        et = be16(buf + 14);
        off = 16;
        break;
    case PKT_LINK_LINUX_SLL2:
        if (len < 20)
            goto trunc;
        et = be16(buf);
        off = 20;
        break;
    default:
        out->anomalies |= PKT_UNKNOWN_L3;
        rc = BS_EUNSUPPORTED;
        goto done;
    }

    /* EtherType chain: tags, label stacks and PPPoE until an IP header. */
    for (;;) {
        switch (et) {
        case ETH_IPV4:
            rc = decode_ip_at(buf, len, off, 4, out);
            goto done;
        case ETH_IPV6:
            rc = decode_ip_at(buf, len, off, 6, out);
            goto done;
        case ETH_VLAN:
        case ETH_QINQ:
        case ETH_QINQ_OLD: {
            if (out->vlan_count == PKT_MAX_DEPTH) {
                out->anomalies |= PKT_TOO_DEEP;
                rc = BS_EUNSUPPORTED;
                goto done;
            }
            if (len - off < 4)
                goto trunc;
            uint16_t vid = be16(buf + off) & 0x0fff;
            if (out->vlan_count == 0)
                out->vlan = vid;
            else if (out->vlan_count == 1)
                out->inner_vlan = vid;
            out->vlan_count++;
            et = be16(buf + off + 2);
            off += 4;
            continue;
        }
        case ETH_MPLS_UC:
        case ETH_MPLS_MC:
            for (;;) {
                if (out->mpls_labels == PKT_MAX_DEPTH) {
                    out->anomalies |= PKT_TOO_DEEP;
                    rc = BS_EUNSUPPORTED;
                    goto done;
                }
                if (len - off < 4)
                    goto trunc;
                uint32_t lse = be32(buf + off);
                off += 4;
                out->mpls_labels++;
                if (lse & 0x100)
                    break; /* bottom of stack */
            }
            /* No protocol field after MPLS: guess by the first nibble as routers do. Anything
             * else (pseudowires, control words) is not decoded. */
            if (off >= len)
                goto trunc;
            if (buf[off] >> 4 == 4 || buf[off] >> 4 == 6) {
                rc = decode_ip_at(buf, len, off, 0, out);
                goto done;
            }
            out->anomalies |= PKT_UNKNOWN_L3;
            rc = BS_EUNSUPPORTED;
            goto done;
        case ETH_PPPOE_SESS: {
            if (len - off < 8)
                goto trunc;
            unsigned ppp = be16(buf + off + 6);
            off += 8;
            if (ppp == PPP_IPV4) {
                rc = decode_ip_at(buf, len, off, 4, out);
                goto done;
            }
            if (ppp == PPP_IPV6) {
                rc = decode_ip_at(buf, len, off, 6, out);
                goto done;
            }
            out->anomalies |= PKT_UNKNOWN_L3;
            rc = BS_EUNSUPPORTED;
            goto done;
        }
        default:
            out->anomalies |= PKT_UNKNOWN_L3;
            rc = BS_EUNSUPPORTED;
            goto done;
        }
    }

trunc:
    out->anomalies |= PKT_TRUNC;
    rc = BS_ETRUNC;
done:
    finish(out);
    return rc;
}

/* ---- fast path ----
 *
 * The common case of a telescope or an sFlow sample, straight-line: Ethernet with at most one
 * 802.1Q tag, then IPv4 without options and not a fragment, or IPv6 whose next header is the
 * transport, then a TCP header captured in full (data offset sane), UDP, or ICMP/ICMPv6 that
 * is not an error, all with a sane IP length. It fills exactly what the general path fills for
 * such a packet (test_pkt compares both, byte for byte, over captures, the fuzz corpus and
 * every truncation and byte mutation of them); anything else returns -1 before writing and
 * the general path decodes it. Why: the general path costs ~280 instructions a packet
 * (per-layer calls, a dispatch per EtherType, byte-wise address stores), this ~70. */

/* Address bytes are already in network order: copy them behind the v4-mapped prefix. */
static inline void fast_v4(struct ipaddr *a, const uint8_t *p)
{
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    memcpy(a->b, mapped, 12);
    memcpy(a->b + 12, p, 4);
}

/* Transport part of the fast path; l4 is its offset, end the end of the IP packet as captured
 * (<= stated_end), stated_end the end the IP header states. Returns -1 when the general path
 * must decide (nothing written then besides what the caller rewrites). */
static inline int fast_l4(const uint8_t *buf, size_t l4, size_t end, size_t stated_end,
                          unsigned proto, struct pkt_info *out)
{
    if (end < l4)
        return -1;
    size_t avail = end - l4;
    const uint8_t *h = buf + l4;
    if (proto == IPP_TCP) {
        if (avail < 20)
            return -1;
        size_t doff = (size_t)(h[12] >> 4) * 4;
        if (doff < 20 || doff > avail || doff > stated_end - l4)
            return -1;
        out->src_port = be16(h);
        out->dst_port = be16(h + 2);
        out->tcp_seq = be32(h + 4);
        out->tcp_ack = be32(h + 8);
        out->tcp_flags = h[13];
        out->tcp_window = be16(h + 14);
        out->tcp_urgent = be16(h + 18);
        out->tcp_hdr_len = (uint8_t)doff;
        out->tcp_opts = h + 20;
        out->tcp_opts_len = (uint8_t)(doff - 20);
        out->payload_off = (uint32_t)(l4 + doff);
    } else if (proto == IPP_UDP) {
        if (avail < 8)
            return -1;
        out->src_port = be16(h);
        out->dst_port = be16(h + 2);
        out->payload_off = (uint32_t)(l4 + 8);
    } else if (proto == IPP_ICMP || proto == IPP_ICMPV6) {
        if (avail < 8)
            return -1;
        uint8_t t = h[0];
        int is_err = proto == IPP_ICMP ? (t == 3 || t == 4 || t == 5 || t == 11 || t == 12)
                                       : (t >= 1 && t <= 4);
        if (is_err)
            return -1; /* the quotation is the general path's */
        out->icmp_type = t;
        out->icmp_code = h[1];
        out->payload_off = (uint32_t)(l4 + 8);
    } else {
        return -1;
    }
    out->l4_off = (uint32_t)l4;
    out->l4_ok = 1;
    return 0;
}

static inline int fast_decode(const uint8_t *buf, size_t len, struct pkt_info *out)
{
    if (len < 14 + 20 || len > UINT32_MAX)
        return -1;
    unsigned et = be16(buf + 12);
    size_t off = 14;
    unsigned vlan = 0, nvlan = 0;
    if (et == ETH_VLAN) {
        vlan = be16(buf + 14) & 0x0fff;
        et = be16(buf + 16);
        off = 18;
        nvlan = 1;
    }
    const uint8_t *h = buf + off;
    if (et == ETH_IPV4) {
        if (len - off < 20 || h[0] != 0x45)
            return -1;
        size_t tot = be16(h + 2);
        unsigned fo = be16(h + 6);
        if (tot < 20 || (fo & 0x3fff) != 0)
            return -1;
        size_t stated_end = off + tot;
        size_t end = stated_end < len ? stated_end : len;
        pkt_clear(out);
        if (fast_l4(buf, off + 20, end, stated_end, h[9], out) != 0)
            return -1;
        out->ip_version = 4;
        out->proto = h[9];
        out->tos = h[1];
        out->ip_len = (uint32_t)tot;
        out->ip_id = be16(h + 4);
        out->ip_df = (uint8_t)(fo >> 14 & 1);
        out->ttl = h[8];
        fast_v4(&out->src, h + 12);
        fast_v4(&out->dst, h + 16);
    } else if (et == ETH_IPV6) {
        if (len - off < 40 || h[0] >> 4 != 6)
            return -1;
        size_t plen = be16(h + 4);
        if (plen == 0)
            return -1;
        size_t stated_end = off + 40 + plen;
        size_t end = stated_end < len ? stated_end : len;
        pkt_clear(out);
        if (fast_l4(buf, off + 40, end, stated_end, h[6], out) != 0)
            return -1;
        out->ip_version = 6;
        out->proto = h[6];
        out->tos = (uint8_t)(be32(h) >> 20);
        out->ip_len = (uint32_t)plen + 40;
        out->ttl = h[7];
        memcpy(out->src.b, h + 8, 16);
        memcpy(out->dst.b, h + 24, 16);
    } else {
        return -1;
    }
    out->vlan = (uint16_t)vlan;
    out->vlan_count = (uint8_t)nvlan;
    out->l3_off = (uint32_t)off;
    out->caplen = (uint32_t)len;
    return 0;
}

int pkt_decode(const uint8_t *buf, size_t len, enum pkt_link link, struct pkt_info *out)
{
    if (link == PKT_LINK_ETHERNET && fast_decode(buf, len, out) == 0)
        return 0;
    return pkt_decode_general(buf, len, link, out);
}
