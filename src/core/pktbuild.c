/* pktbuild.c - packet builder with RFC 1071 checksums (see pktbuild.h). */
#include "core/pktbuild.h"

#include <string.h>

#include "core/rd.h"

/* Inlined into the builders below; the exported pktbuild_sum is the same loop. */
static inline uint32_t sum16(const uint8_t *buf, size_t len, uint32_t sum)
{
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)buf[i] << 8 | buf[i + 1];
    if (i < len)
        sum += (uint32_t)buf[i] << 8;
    return sum;
}

uint32_t pktbuild_sum(const uint8_t *buf, size_t len, uint32_t sum)
{
    return sum16(buf, len, sum);
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t pktbuild_csum(const uint8_t *buf, size_t len, uint32_t sum)
{
    return fold(sum16(buf, len, sum));
}

uint32_t pktbuild_pseudo_sum(const struct ipaddr *src, const struct ipaddr *dst, uint8_t proto,
                             uint32_t l4len)
{
    bool v4 = ipaddr_is_v4(src) && ipaddr_is_v4(dst);
    /* IPv4: addresses, zero, protocol, 16-bit length; IPv6: addresses, 32-bit length, three
     * zero bytes, next header. Both sum to the same words as below. */
    uint32_t sum = v4 ? sum16(src->b + 12, 4, sum16(dst->b + 12, 4, 0))
                      : sum16(src->b, 16, sum16(dst->b, 16, 0));
    return sum + (l4len >> 16) + (l4len & 0xffff) + proto;
}

/* Length of the transport header built for p, or 0 when p cannot be built. */
static size_t l4_header_len(const struct pktbuild *p)
{
    if (p->raw)
        return 0;
    switch (p->proto) {
    case 6:
        if (p->tcp_opts_len > 40 || p->tcp_opts_len % 4)
            return 0;
        return 20u + p->tcp_opts_len;
    case 17:
    case 1:
    case 58:
        return 8;
    default:
        return 0;
    }
}

static void put_l4_header(uint8_t *l4, size_t l4h, size_t l4len, const struct pktbuild *p)
{
    switch (p->proto) {
    case 6:
        be16_put(l4, p->sport);
        be16_put(l4 + 2, p->dport);
        be32_put(l4 + 4, p->seq);
        be32_put(l4 + 8, p->ack);
        l4[12] = (uint8_t)((l4h / 4) << 4);
        l4[13] = p->tcp_flags;
        be16_put(l4 + 14, p->window);
        if (p->tcp_opts_len)
            memcpy(l4 + 20, p->tcp_opts, p->tcp_opts_len);
        break;
    case 17:
        be16_put(l4, p->sport);
        be16_put(l4 + 2, p->dport);
        be16_put(l4 + 4, (uint16_t)l4len);
        break;
    default: /* ICMP, ICMPv6 */
        l4[0] = p->icmp_type;
        l4[1] = p->icmp_code;
        be32_put(l4 + 4, p->icmp_rest);
        break;
    }
}

static void put_ip_header(uint8_t *out, bool v6, size_t total, size_t l4len,
                          const struct pktbuild *p)
{
    if (v6) {
        out[0] = (uint8_t)(0x60 | (p->tos >> 4));
        out[1] = (uint8_t)(p->tos << 4);
        be16_put(out + 4, (uint16_t)l4len);
        out[6] = p->proto;
        out[7] = p->ttl;
        memcpy(out + 8, p->src.b, 16);
        memcpy(out + 24, p->dst.b, 16);
        return;
    }
    out[0] = 0x45;
    out[1] = p->tos;
    be16_put(out + 2, (uint16_t)total);
    be16_put(out + 4, p->ip_id);
    be16_put(out + 6,
             (uint16_t)((p->df ? 0x4000 : 0) | (p->mf ? 0x2000 : 0) | (p->frag_off & 0x1fff)));
    out[8] = p->ttl;
    out[9] = p->proto;
    memcpy(out + 12, p->src.b + 12, 4);
    memcpy(out + 16, p->dst.b + 12, 4);
    be16_put(out + 10, fold(sum16(out, 20, 0)));
}

size_t pktbuild_ip(uint8_t *out, size_t cap, const struct pktbuild *p)
{
    bool v6 = !(ipaddr_is_v4(&p->src) && ipaddr_is_v4(&p->dst));
    size_t iph = v6 ? 40 : 20;
    size_t l4h = l4_header_len(p);
    if (!l4h && !p->raw)
        return 0;
    size_t l4len = l4h + p->payload_len;
    size_t total = iph + l4len;
    if (total > cap || total > 65535)
        return 0;
    memset(out, 0, iph + l4h);
    uint8_t *l4 = out + iph;
    if (p->payload_len) {
        if (p->payload)
            memcpy(l4 + l4h, p->payload, p->payload_len);
        else
            memset(l4 + l4h, 0, p->payload_len);
    }
    if (!p->raw)
        put_l4_header(l4, l4h, l4len, p);
    put_ip_header(out, v6, total, l4len, p);
    if (p->raw)
        return total;
    /* Transport checksum: ICMPv4 has no pseudo-header; the others do. */
    uint32_t start =
        p->proto == 1 ? 0 : pktbuild_pseudo_sum(&p->src, &p->dst, p->proto, (uint32_t)l4len);
    uint16_t c = fold(sum16(l4, l4len, start));
    size_t coff = p->proto == 6 ? 16 : p->proto == 17 ? 6 : 2;
    if (p->proto == 17 && c == 0)
        c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
    be16_put(l4 + coff, c);
    return total;
}

size_t pktbuild_frame(uint8_t *out, size_t cap, const struct pktbuild *p)
{
    if (cap < PKTBUILD_ETH_LEN)
        return 0;
    size_t n = pktbuild_ip(out + PKTBUILD_ETH_LEN, cap - PKTBUILD_ETH_LEN, p);
    if (!n)
        return 0;
    memcpy(out, p->dst_mac, 6);
    memcpy(out + 6, p->src_mac, 6);
    be16_put(out + 12, (out[14] >> 4) == 6 ? PKTBUILD_ETHERTYPE_IPV6 : PKTBUILD_ETHERTYPE_IPV4);
    return n + PKTBUILD_ETH_LEN;
}
