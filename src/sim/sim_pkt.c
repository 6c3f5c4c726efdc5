/* sim_pkt.c - packet builder with RFC 1071 checksums. */
#include "sim/sim_pkt.h"
#include "core/rd.h"

#include <string.h>

static uint32_t csum_add(const uint8_t *buf, size_t len, uint32_t sum)
{
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        sum += (uint32_t)buf[i] << 8 | buf[i + 1];
    if (i < len)
        sum += (uint32_t)buf[i] << 8;
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

uint16_t sim_pkt_csum(const uint8_t *buf, size_t len, uint32_t sum)
{
    return csum_fold(csum_add(buf, len, sum));
}

/* Sum of the transport pseudo-header (RFC 793/768 for IPv4, RFC 8200 section 8.1 for IPv6). */
static uint32_t pseudo_sum(const struct sim_pkt *p, int v6, uint32_t l4len)
{
    uint32_t sum = 0;
    if (v6) {
        sum = csum_add(p->src.b, 16, sum);
        sum = csum_add(p->dst.b, 16, sum);
        sum += l4len >> 16;
        sum += l4len & 0xffff;
        sum += p->proto;
    } else {
        sum = csum_add(p->src.b + 12, 4, sum);
        sum = csum_add(p->dst.b + 12, 4, sum);
        sum += p->proto;
        sum += l4len;
    }
    return sum;
}

size_t sim_pkt_build_ip(uint8_t *out, size_t cap, const struct sim_pkt *p)
{
    int v6 = !(ipaddr_is_v4(&p->src) && ipaddr_is_v4(&p->dst));
    size_t iph = v6 ? 40 : 20;
    size_t l4h;
    switch (p->proto) {
    case 6:
        if (p->tcp_opts_len > 40 || p->tcp_opts_len % 4)
            return 0;
        l4h = 20u + p->tcp_opts_len;
        break;
    case 17: l4h = 8; break;
    case 1:
    case 58: l4h = 8; break;
    default: return 0;
    }
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
    /* Transport header. */
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
    default:
        l4[0] = p->icmp_type;
        l4[1] = p->icmp_code;
        be32_put(l4 + 4, p->icmp_rest);
        break;
    }
    /* IP header. */
    if (v6) {
        out[0] = (uint8_t)(0x60 | (p->tos >> 4));
        out[1] = (uint8_t)(p->tos << 4);
        be16_put(out + 4, (uint16_t)l4len);
        out[6] = p->proto;
        out[7] = p->ttl;
        memcpy(out + 8, p->src.b, 16);
        memcpy(out + 24, p->dst.b, 16);
    } else {
        out[0] = 0x45;
        out[1] = p->tos;
        be16_put(out + 2, (uint16_t)total);
        be16_put(out + 4, p->ip_id);
        be16_put(out + 6, p->df ? 0x4000 : 0);
        out[8] = p->ttl;
        out[9] = p->proto;
        memcpy(out + 12, p->src.b + 12, 4);
        memcpy(out + 16, p->dst.b + 12, 4);
        be16_put(out + 10, sim_pkt_csum(out, 20, 0));
    }
    /* Transport checksum: ICMPv4 has no pseudo-header; the others do. */
    uint16_t c;
    if (p->proto == 1)
        c = sim_pkt_csum(l4, l4len, 0);
    else
        c = sim_pkt_csum(l4, l4len, pseudo_sum(p, v6, (uint32_t)l4len));
    size_t coff = p->proto == 6 ? 16 : p->proto == 17 ? 6 : 2;
    if (p->proto == 17 && c == 0)
        c = 0xffff; /* RFC 768: a computed zero is sent as all ones */
    be16_put(l4 + coff, c);
    return total;
}

size_t sim_pkt_build_frame(uint8_t *out, size_t cap, const struct sim_pkt *p)
{
    if (cap < 14)
        return 0;
    size_t n = sim_pkt_build_ip(out + 14, cap - 14, p);
    if (!n)
        return 0;
    memcpy(out, p->dst_mac, 6);
    memcpy(out + 6, p->src_mac, 6);
    be16_put(out + 12, (out[14] >> 4) == 6 ? 0x86dd : 0x0800);
    return n + 14;
}
