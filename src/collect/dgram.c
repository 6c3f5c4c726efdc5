/* dgram.c - UDP payload extraction from captured frames, with fragment reassembly. */
#include "collect/dgram.h"

#include <string.h>

#include "core/err.h"
#include "core/rd.h"

const char *dgram_kind_name(enum dgram_kind k)
{
    switch (k) {
    case DGRAM_OK:
        return "udp";
    case DGRAM_NOT_IP:
        return "not_ip";
    case DGRAM_NOT_UDP:
        return "not_udp";
    case DGRAM_FRAG_HELD:
        return "fragment_held";
    case DGRAM_FRAG_BAD:
        return "fragment_bad";
    case DGRAM_TRUNCATED:
        return "truncated";
    }
    return "unknown";
}

/* p/len is a whole UDP datagram (header included) as the IP layer carries it. */
static enum dgram_kind udp_payload(const uint8_t *p, size_t len, struct dgram *out)
{
    if (len < 8)
        return DGRAM_TRUNCATED;
    uint16_t ulen = be16(p + 4);
    if (ulen < 8 || ulen > len) /* ulen 0 is an IPv6 jumbogram: not an export datagram */
        return DGRAM_TRUNCATED;
    out->src_port = be16(p);
    out->dst_port = be16(p + 2);
    out->data = p + 8;
    out->len = (size_t)ulen - 8;
    return DGRAM_OK;
}

static enum dgram_kind add_fragment(struct frag_table *ft, const struct frag_key *k, uint32_t off,
                                    bool more, const uint8_t *p, size_t len, uint64_t ts_us,
                                    struct dgram *out)
{
    if (!ft)
        return DGRAM_FRAG_BAD;
    const uint8_t *whole;
    size_t whole_len;
    int rc = frag_table_add(ft, k, off, more, p, len, ts_us, &whole, &whole_len);
    if (rc < 0)
        return DGRAM_FRAG_BAD;
    if (rc == 0)
        return DGRAM_FRAG_HELD;
    return udp_payload(whole, whole_len, out);
}

static enum dgram_kind from_v4(struct frag_table *ft, const uint8_t *ip, size_t avail,
                               uint64_t ts_us, struct dgram *out)
{
    if (avail < 20)
        return DGRAM_TRUNCATED;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    size_t tot = be16(ip + 2);
    if (ihl < 20 || tot < ihl || tot > avail)
        return DGRAM_TRUNCATED;
    if (ip[9] != 17)
        return DGRAM_NOT_UDP;
    ipaddr_from_v4(&out->src, be32(ip + 12));
    ipaddr_from_v4(&out->dst, be32(ip + 16));
    uint16_t fo = be16(ip + 6);
    bool more = (fo & 0x2000) != 0;
    uint32_t off = (uint32_t)(fo & 0x1fff) * 8;
    if (more || off) {
        struct frag_key k = {.src = out->src, .dst = out->dst, .id = be16(ip + 4), .proto = 17};
        return add_fragment(ft, &k, off, more, ip + ihl, tot - ihl, ts_us, out);
    }
    return udp_payload(ip + ihl, tot - ihl, out);
}

static enum dgram_kind from_v6(struct frag_table *ft, const uint8_t *ip, size_t avail,
                               uint64_t ts_us, struct dgram *out)
{
    if (avail < 40)
        return DGRAM_TRUNCATED;
    size_t plen = be16(ip + 4);
    if (40 + plen > avail)
        return DGRAM_TRUNCATED;
    ipaddr_from_v6(&out->src, ip + 8);
    ipaddr_from_v6(&out->dst, ip + 24);
    const uint8_t *p = ip + 40, *end = ip + 40 + plen;
    uint8_t nh = ip[6];
    for (int depth = 0; depth < 8; depth++) { /* extension-header chain, bounded */
        size_t left = (size_t)(end - p), hl;
        switch (nh) {
        case 17:
            return udp_payload(p, left, out);
        case 0:  /* hop-by-hop */
        case 43: /* routing */
        case 60: /* destination options */
            if (left < 2)
                return DGRAM_TRUNCATED;
            hl = ((size_t)p[1] + 1) * 8;
            break;
        case 51: /* authentication header */
            if (left < 2)
                return DGRAM_TRUNCATED;
            hl = ((size_t)p[1] + 2) * 4;
            break;
        case 44: { /* fragment */
            if (left < 8)
                return DGRAM_TRUNCATED;
            if (p[0] != 17)
                return DGRAM_NOT_UDP;
            uint16_t ow = be16(p + 2);
            struct frag_key k = {.src = out->src, .dst = out->dst, .id = be32(p + 4), .proto = 17};
            return add_fragment(ft, &k, ow & 0xfff8u, (ow & 1u) != 0, p + 8, left - 8, ts_us, out);
        }
        default:
            return DGRAM_NOT_UDP;
        }
        if (hl > left)
            return DGRAM_TRUNCATED;
        nh = p[0];
        p += hl;
    }
    return DGRAM_NOT_UDP;
}

enum dgram_kind dgram_from_frame(struct frag_table *ft, const uint8_t *frame, size_t caplen,
                                 enum pkt_link link, uint64_t ts_us, struct dgram *out)
{
    memset(out, 0, sizeof *out);
    struct pkt_info pi;
    int rc = pkt_decode(frame, caplen, link, &pi);
    if (rc == BS_ETRUNC)
        return DGRAM_TRUNCATED;
    if (rc < 0 || pi.ip_version == 0 || pi.l3_off >= caplen)
        return DGRAM_NOT_IP;
    const uint8_t *ip = frame + pi.l3_off;
    size_t avail = caplen - pi.l3_off;
    if (pi.ip_version == 4)
        return from_v4(ft, ip, avail, ts_us, out);
    if (pi.ip_version == 6)
        return from_v6(ft, ip, avail, ts_us, out);
    return DGRAM_NOT_IP;
}
