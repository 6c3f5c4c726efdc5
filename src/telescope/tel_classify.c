/* tel_classify.c - per-packet tags and stateless fingerprints (see tel_classify.h). */
#include "telescope/tel_classify.h"

#include <string.h>

const char *const tel_tag_names[TEL_TAG_COUNT] = {
    "tcp_scan", "udp_probe",      "icmp_scan", "backscatter", "fragment",
    "bogon",    "abnormal_flags", "misconfig", "research",    "other",
};

const char *const tel_fp_names[TEL_FP_COUNT] = {"mirai", "masscan", "zmap", "nmap", "unicornscan"};

#define PROTO_ICMP  1
#define PROTO_TCP   6
#define PROTO_UDP   17
#define PROTO_ICMP6 58

/* The IoT port table (see tel_is_iot_port in tel_classify.h): the list is
 * 23 2323 37215 52869 7547 5555 8080 81 37777 5358 60001 8000 8081 49152 5500 9527 (the unit
 * test checks every port of the 65536 against it). */
const uint32_t tel_iot_port_slot[32] = {
    8081, 0,    0, 0,     0, 0, 9528, 0,     82,   0,     0,     7548,  0, 0,    0,    0,
    24,   2324, 0, 52870, 0, 0, 8001, 49153, 5556, 60002, 37216, 37778, 0, 5501, 5359, 8082,
};

static uint32_t bswap32(uint32_t x)
{
    return __builtin_bswap32(x);
}

bool tel_fp_mirai(const struct pkt_info *pi)
{
    return (pi->ip_version == 4) & (pi->tcp_seq == ipaddr_v4(&pi->dst)); /* no branch */
}

bool tel_fp_masscan(const struct pkt_info *pi)
{
    if (pi->ip_version != 4)
        return false;
    uint32_t v = ipaddr_v4(&pi->dst) ^ pi->dst_port ^ pi->tcp_seq;
    return pi->ip_id == (uint16_t)(v & 0xffff);
}

bool tel_fp_zmap(const struct pkt_info *pi)
{
    return pi->ip_version == 4 && pi->ip_id == TEL_ZMAP_IP_ID;
}

bool tel_fp_nmap(const struct pkt_info *pi)
{
    if (pi->tcp_ack != 0)
        return false;
    switch (pi->tcp_window) {
    case 1024:
    case 2048:
    case 3072:
    case 4096:
        break;
    default:
        return false;
    }
    const uint8_t *o = pi->tcp_opts;
    return o && pi->tcp_opts_len == 4 && o[0] == 2 && o[1] == 4 && o[2] == 0x05 && o[3] == 0xb4;
}

uint32_t tel_fp_unicorn_key(const struct pkt_info *pi)
{
    uint32_t ports = ((uint32_t)pi->dst_port << 16) + pi->src_port;
    return pi->tcp_seq ^ bswap32(ipaddr_v4(&pi->dst)) ^ ports;
}

static bool udp_answer_port(uint16_t p)
{
    switch (p) {
    case 53:
    case 123:
    case 137:
    case 138:
    case 161:
    case 1900:
    case 5353:
    case 5355:
        return true;
    default:
        return false;
    }
}

static bool is_misconfig_udp(const struct pkt_info *pi, const uint8_t *p, size_t plen)
{
    if (udp_answer_port(pi->src_port))
        return true;
    if ((pi->dst_port >= 6881 && pi->dst_port <= 6889) ||
        (pi->src_port >= 6881 && pi->src_port <= 6889))
        return true;
    if (p && plen >= 3 && p[0] == 'd' && p[1] == '1' && p[2] == ':')
        return true;
    return false;
}

static void classify_tcp(const struct pkt_info *pi, unsigned fp_mask, struct tel_class *c)
{
    uint8_t f = pi->tcp_flags;
    uint8_t core = f & (TEL_TCP_SYN | TEL_TCP_ACK | TEL_TCP_RST | TEL_TCP_FIN);
    if ((f & (TEL_TCP_SYN | TEL_TCP_FIN)) == (TEL_TCP_SYN | TEL_TCP_FIN) || f == 0 ||
        (f & (TEL_TCP_FIN | TEL_TCP_PSH | TEL_TCP_URG)) ==
            (TEL_TCP_FIN | TEL_TCP_PSH | TEL_TCP_URG) ||
        core == TEL_TCP_FIN) {
        c->tags |= 1u << TEL_TAG_ABNORMAL_FLAGS;
        return;
    }
    if (core == TEL_TCP_SYN) {
        c->tags |= 1u << TEL_TAG_TCP_SCAN;
        if (pi->ip_version == 4) {
            bool mirai = tel_fp_mirai(pi);
            if ((fp_mask & (1u << TEL_FP_MIRAI)) && mirai)
                c->fps |= 1u << TEL_FP_MIRAI;
            bool masscan = tel_fp_masscan(pi);
            if ((fp_mask & (1u << TEL_FP_MASSCAN)) && masscan)
                c->fps |= 1u << TEL_FP_MASSCAN;
            if ((fp_mask & (1u << TEL_FP_ZMAP)) && tel_fp_zmap(pi))
                c->fps |= 1u << TEL_FP_ZMAP;
            if ((fp_mask & (1u << TEL_FP_NMAP)) && !masscan && tel_fp_nmap(pi))
                c->fps |= 1u << TEL_FP_NMAP;
            if ((fp_mask & (1u << TEL_FP_UNICORNSCAN)) && !mirai) {
                c->uni_key = tel_fp_unicorn_key(pi);
                c->uni_ok = 1;
            }
        } else if ((fp_mask & (1u << TEL_FP_NMAP)) && tel_fp_nmap(pi)) {
            c->fps |= 1u << TEL_FP_NMAP;
        }
        return;
    }
    if ((core & (TEL_TCP_SYN | TEL_TCP_ACK)) == (TEL_TCP_SYN | TEL_TCP_ACK) &&
        !(core & TEL_TCP_RST)) {
        c->tags |= 1u << TEL_TAG_BACKSCATTER;
        c->victim_kind = TEL_VICTIM_SRC;
        c->victim_port = pi->src_port;
        return;
    }
    if (core & TEL_TCP_RST) {
        if (core & TEL_TCP_SYN) {
            c->tags |= 1u << TEL_TAG_ABNORMAL_FLAGS; /* SYN+RST never answers anything */
            return;
        }
        c->tags |= 1u << TEL_TAG_BACKSCATTER;
        c->victim_kind = TEL_VICTIM_SRC;
        c->victim_port = pi->src_port;
        return;
    }
    c->tags |= 1u << TEL_TAG_OTHER;
}

static void icmp_error(const struct pkt_info *pi, struct tel_class *c)
{
    c->tags |= 1u << TEL_TAG_BACKSCATTER;
    if (pi->has_inner) {
        c->victim_kind = TEL_VICTIM_INNER;
        c->victim_port = pi->inner_dst_port;
    }
}

static void classify_icmp4(const struct pkt_info *pi, struct tel_class *c)
{
    switch (pi->icmp_type) {
    case 8:
    case 13:
    case 15:
    case 17:
        c->tags |= 1u << TEL_TAG_ICMP_SCAN;
        break;
    case 0:
    case 14:
    case 16:
    case 18:
        c->tags |= 1u << TEL_TAG_BACKSCATTER;
        c->victim_kind = TEL_VICTIM_SRC;
        break;
    case 3:
    case 4:
    case 5:
    case 11:
    case 12:
        icmp_error(pi, c);
        break;
    default:
        c->tags |= 1u << TEL_TAG_OTHER;
    }
}

static void classify_icmp6(const struct pkt_info *pi, struct tel_class *c)
{
    switch (pi->icmp_type) {
    case 128:
        c->tags |= 1u << TEL_TAG_ICMP_SCAN;
        break;
    case 129:
        c->tags |= 1u << TEL_TAG_BACKSCATTER;
        c->victim_kind = TEL_VICTIM_SRC;
        break;
    case 1:
    case 2:
    case 3:
    case 4:
        icmp_error(pi, c);
        break;
    default:
        c->tags |= 1u << TEL_TAG_OTHER;
    }
}

void tel_classify(const struct pkt_info *pi, const uint8_t *payload, size_t payload_len,
                  unsigned fp_mask, struct tel_class *out)
{
    memset(out, 0, sizeof *out);
    if (pi->anomalies & PKT_FRAGMENT)
        out->tags |= 1u << TEL_TAG_FRAGMENT;
    if (!pi->l4_ok || (pi->anomalies & PKT_NONFIRST_FRAG)) {
        if (!out->tags)
            out->tags |= 1u << TEL_TAG_OTHER;
        return;
    }
    switch (pi->proto) {
    case PROTO_TCP:
        classify_tcp(pi, fp_mask, out);
        break;
    case PROTO_UDP:
        out->tags |= 1u << (is_misconfig_udp(pi, payload, payload_len) ? TEL_TAG_MISCONFIG
                                                                       : TEL_TAG_UDP_PROBE);
        break;
    case PROTO_ICMP:
        if (pi->ip_version == 4)
            classify_icmp4(pi, out);
        else
            out->tags |= 1u << TEL_TAG_OTHER;
        break;
    case PROTO_ICMP6:
        classify_icmp6(pi, out);
        break;
    default:
        out->tags |= 1u << TEL_TAG_OTHER;
    }
}
