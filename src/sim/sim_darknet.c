/* sim_darknet.c - packets that reach the darknet (bot and scanner probes, misconfiguration,
 * backscatter), built and written to darknet.pcap in time order (see sim_int.h). */
#include "sim/sim_int.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hash.h"
#include "core/pktbuild.h"

const char *const sim_dk_kind_name[SIM_DK_KINDS] = {
    "isp_bots", "external_mirai", "external_gafgyt",  "zmap",
    "masscan",  "other_scanners", "misconfiguration", "backscatter"};

/* ---------------------------------------------------------------------------------------- */
/* Darknet packets.                                                                          */

struct dpkt *sim__dk_add(struct sim *s, uint64_t t_ns, enum dk_kind kind)
{
    int rc;
    struct dpkt *d = VEC_PUSH(&s->dk, struct dpkt, &rc);
    if (!d) {
        s->err = rc;
        return NULL;
    }
    memset(d, 0, sizeof *d);
    d->t_ns = t_ns;
    d->ord = s->ord++;
    s->st->darknet_kind[kind]++;
    return d;
}

static int cmp_dpkt(const void *a, const void *b)
{
    const struct dpkt *x = a, *y = b;
    if (x->t_ns != y->t_ns)
        return x->t_ns < y->t_ns ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

static const uint8_t linux_syn_opts[20] = {2,    4,    0x05, 0xb4, 4, 2, 8, 10, 0x12, 0x34,
                                           0x56, 0x78, 0,    0,    0, 0, 1, 3,  3,    7};
static const uint8_t mss_opt[4] = {2, 4, 0x05, 0xb4};

/* A well-formed request of the protocol on dport (what misconfigured clients send): DNS query,
 * NTP client request, SSDP M-SEARCH, BitTorrent DHT ping, NetBIOS status query, SNMP get.
 * Returns the payload length (0 for an unknown port). */
static size_t misconf_payload(uint8_t *b, size_t cap, uint16_t dport, uint32_t salt)
{
    static const char ssdp[] = "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                               "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
    static const char dht[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    static const uint8_t snmp[] = {0x30, 0x29, 0x02, 0x01, 0x00, 0x04, 0x06, 'p',  'u',  'b',  'l',
                                   'i',  'c',  0xa0, 0x1c, 0x02, 0x04, 0,    0,    0,    0,    0x02,
                                   0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0e, 0x30, 0x0c, 0x06, 0x08,
                                   0x2b, 0x06, 0x01, 0x02, 0x01, 0x01, 0x01, 0x00, 0x05, 0x00};
    static const char *const names[] = {"\3www\7example\3com", "\4time\7example\3net",
                                        "\6update\7example\3org"};
    size_t n = 0;
    if (cap < 128)
        return 0;
    switch (dport) {
    case 53: {
        const char *q = names[salt % 3];
        size_t ql = strlen(q) + 1;
        b[0] = (uint8_t)(salt >> 8);
        b[1] = (uint8_t)salt;
        b[2] = 0x01; /* RD */
        b[3] = 0;
        b[4] = 0;
        b[5] = 1; /* one question */
        memset(b + 6, 0, 6);
        memcpy(b + 12, q, ql);
        n = 12 + ql;
        b[n++] = 0;
        b[n++] = 1; /* A */
        b[n++] = 0;
        b[n++] = 1; /* IN */
        return n;
    }
    case 123:
        memset(b, 0, 48);
        b[0] = 0x23; /* version 4, mode 3 (client) */
        for (int i = 0; i < 8; i++)
            b[40 + i] = (uint8_t)(salt >> (i % 4 * 8));
        return 48;
    case 1900:
        memcpy(b, ssdp, sizeof ssdp - 1);
        return sizeof ssdp - 1;
    case 6881:
        memcpy(b, dht, sizeof dht - 1);
        return sizeof dht - 1;
    case 137:
        b[0] = (uint8_t)(salt >> 8);
        b[1] = (uint8_t)salt;
        b[2] = 0x00;
        b[3] = 0x10;
        b[4] = 0;
        b[5] = 1;
        memset(b + 6, 0, 6);
        b[12] = 0x20;
        b[13] = 'C';
        b[14] = 'K';
        memset(b + 15, 'A', 30);
        b[45] = 0;
        b[46] = 0x00;
        b[47] = 0x21; /* NBSTAT */
        b[48] = 0x00;
        b[49] = 0x01;
        return 50;
    case 161:
        memcpy(b, snmp, sizeof snmp);
        b[17] = (uint8_t)(salt >> 24) & 0x7f;
        b[18] = (uint8_t)(salt >> 16);
        b[19] = (uint8_t)(salt >> 8);
        b[20] = (uint8_t)salt;
        return sizeof snmp;
    default:
        return 0;
    }
}

int sim__dk_write(struct sim *s)
{
    if (!s->dk.n)
        return 0;
    qsort(s->dk.data, s->dk.n, sizeof(struct dpkt), cmp_dpkt);
    static const uint8_t sensor_mac[6] = {0x02, 0x42, 0xdd, 0x00, 0x00, 0x01};
    static const uint8_t gw_mac[6] = {0x02, 0x42, 0xdd, 0x00, 0x00, 0xfe};
    for (size_t i = 0; i < s->dk.n; i++) {
        const struct dpkt *d = VEC_AT(&s->dk, struct dpkt, i);
        struct pktbuild pk;
        uint8_t quote[64];
        memset(&pk, 0, sizeof pk);
        memcpy(pk.src_mac, gw_mac, 6);
        memcpy(pk.dst_mac, sensor_mac, 6);
        sim__v4(&pk.src, d->src);
        sim__v4(&pk.dst, d->dst);
        pk.proto = d->proto;
        pk.ttl = d->ttl;
        pk.ip_id = d->ip_id;
        pk.sport = d->sport;
        pk.dport = d->dport;
        pk.seq = d->seq;
        pk.ack = d->ack;
        pk.tcp_flags = d->flags;
        pk.window = d->window;
        pk.payload_len = d->plen;
        uint8_t pay[256];
        if (d->proto == 17) {
            pk.payload = pay;
            pk.payload_len = misconf_payload(pay, sizeof pay, d->dport, d->seq);
        }
        if (d->proto == 6) {
            if (d->style == STY_STACK && (d->flags & F_SYN)) {
                pk.tcp_opts = linux_syn_opts;
                pk.tcp_opts_len = sizeof linux_syn_opts;
                pk.df = 1;
            } else if (d->style == STY_SYNACK) {
                pk.tcp_opts = mss_opt;
                pk.tcp_opts_len = sizeof mss_opt;
                pk.df = 1;
            }
        } else if (d->proto == 1 && d->icmp_type == 8) {
            /* echo request of a ping sweep: identifier and sequence number, zero payload */
            pk.icmp_type = 8;
            pk.icmp_rest = d->seq;
            pk.payload = NULL;
        } else if (d->proto == 1) {
            /* ICMP error: quote the IP header and first 8 bytes of the packet that caused it */
            struct pktbuild in;
            memset(&in, 0, sizeof in);
            sim__v4(&in.src, d->in_src);
            sim__v4(&in.dst, d->in_dst);
            in.proto = 17;
            in.ttl = d->in_ttl;
            in.ip_id = d->in_id;
            in.sport = d->in_sport;
            in.dport = d->in_dport;
            in.payload_len = 512;
            uint8_t full[600];
            size_t n = pktbuild_ip(full, sizeof full, &in);
            if (n < 28)
                return BS_EMALFORMED;
            memcpy(quote, full, 28);
            pk.icmp_type = d->icmp_type;
            pk.icmp_code = d->icmp_code;
            pk.payload = quote;
            pk.payload_len = 28;
        }
        size_t n = pktbuild_frame(s->frame, sizeof s->frame, &pk);
        if (!n)
            return BS_EMALFORMED;
        int rc = pcapw_write(&s->dk_pcap, d->t_ns, s->frame, n);
        if (rc)
            return rc;
    }
    s->st->darknet_packets += s->dk.n;
    s->dk.n = 0;
    return 0;
}

uint32_t sim__darknet_random(struct sim *s, struct sim_rng *r)
{
    return sim__darknet_base(s) + (uint32_t)sim_rng_below(r, sim__darknet_size(s));
}

/* A scan probe from an ISP bot: a flow at the bot's router and, when the target is in the
 * darknet, a packet in the darknet capture. */
int sim__bot_probe(struct sim *s, const struct sim_infection *in, uint64_t t, uint16_t dport,
                   int mirai_style, uint32_t target)
{
    struct sim_rng *r = &s->tr;
    const struct sim_device *dv = &s->w.devices[in->device];
    int64_t hi = dv->host;
    uint32_t src = s->w.hosts[hi].v4;
    uint32_t dst = target;
    if (!dst) {
        if (sim_rng_chance(r, s->p->darknet_share))
            dst = sim__darknet_random(s, r);
        else
            dst = (SIM_NET8 << 24) | (uint32_t)sim_rng_below(r, 1u << 24);
    }
    uint16_t sport = mirai_style ? in->scan_sport : sim__ephemeral(s);
    if (sim__in_darknet(s, dst)) {
        struct dpkt *d = sim__dk_add(s, t * 1000000ull + sim_rng_below(r, 1000000), DK_ISP_BOT);
        if (!d)
            return s->err;
        d->src = src;
        d->dst = dst;
        d->proto = 6;
        d->sport = sport;
        d->dport = dport;
        d->flags = F_SYN;
        d->ttl = (uint8_t)(64 - sim__hops_of(src));
        d->ip_id = (uint16_t)sim_rng_next(r);
        if (mirai_style) {
            d->style = STY_MIRAI;
            d->seq = dst;
            d->window = in->scan_window;
        } else {
            d->style = STY_STACK;
            d->seq = (uint32_t)sim_rng_next(r);
            d->window = 29200;
        }
    }
    struct conv c;
    struct ipaddr a, b;
    sim__v4(&a, src);
    sim__v4(&b, dst);
    sim__conv_init(&c, t, 0, &a, hi, &b, sim_world_host_of(&s->w, dst), 6, sport, dport);
    c.pkts_ab = 1;
    c.bytes_ab = mirai_style ? 40 : 60;
    c.flags_ab = F_SYN;
    c.style = mirai_style ? STY_MIRAI : STY_STACK;
    c.window = mirai_style ? in->scan_window : 29200;
    return sim__conv_emit(s, &c);
}

/* A short TCP exchange (telnet brute force, report, download, exploit). */
int sim__tcp_exchange(struct sim *s, uint64_t t, uint64_t dur, uint32_t src, uint32_t dst,
                      uint16_t dport, uint64_t pab, uint64_t bab, uint64_t pba, uint64_t bba)
{
    struct conv c;
    struct ipaddr a, b;
    sim__v4(&a, src);
    sim__v4(&b, dst);
    sim__conv_init(&c, t, dur, &a, sim_world_host_of(&s->w, src), &b, sim_world_host_of(&s->w, dst),
                   6, sim__ephemeral(s), dport);
    c.pkts_ab = pab;
    c.bytes_ab = bab;
    c.pkts_ba = pba;
    c.bytes_ba = bba;
    return sim__conv_emit(s, &c);
}

int sim__gen_darknet_bg(struct sim *s, uint64_t t0, uint64_t t1)
{
    struct sim_rng *r = &s->dr;
    double rate = (double)sim__darknet_size(s) / ((double)s->p->darknet_interval_ms / 1000.0);
    uint64_t n = sim_rng_poisson(r, rate * (double)(t1 - t0) / 1000.0);
    static const double cat_w[4] = {0.45, 0.30, 0.15, 0.10};
    double sw[64];
    unsigned nsc = s->w.nscanners < 64 ? s->w.nscanners : 64;
    double swsum = 0;
    for (unsigned i = 0; i < nsc; i++) {
        const struct sim_scanner *sc = &s->w.scanners[i];
        sw[i] = sc->start_ms < t1 && sc->end_ms > t0 ? sc->weight : 0;
        swsum += sw[i];
    }
    static const uint16_t other_ports[] = {22, 23, 80, 443, 445, 3389, 8080, 5900, 1433, 3306};
    static const uint16_t udp_ports[] = {53, 123, 1900, 6881, 137, 161};
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t_ns = t0 * 1000000ull + sim_rng_below(r, (t1 - t0) * 1000000ull);
        unsigned cat = sim_rng_weighted(r, cat_w, 4);
        if (cat == 1 && swsum <= 0)
            cat = 2;
        uint32_t dst = sim__darknet_random(s, r);
        struct dpkt *d;
        if (cat == 0 && s->w.nextbots) {
            const struct sim_extbot *eb = &s->w.extbots[sim_rng_below(r, s->w.nextbots)];
            d = sim__dk_add(s, t_ns, eb->family == FAM_MIRAI ? DK_EXT_MIRAI : DK_EXT_OTHER_BOT);
            if (!d)
                return s->err;
            d->src = eb->addr;
            d->dst = dst;
            d->proto = 6;
            d->flags = F_SYN;
            d->ttl = (uint8_t)(64 - sim__hops_of(eb->addr));
            d->ip_id = (uint16_t)sim_rng_next(r);
            if (eb->family == FAM_MIRAI) {
                d->style = STY_MIRAI;
                d->sport = eb->sport;
                d->dport = sim_rng_chance(r, 0.9) ? 23 : 2323;
                d->seq = dst;
                d->window = eb->window;
            } else {
                d->style = STY_STACK;
                d->sport = (uint16_t)sim_rng_range(r, 32768, 60999);
                d->dport = sim_rng_chance(r, 0.8) ? 23 : 22;
                d->seq = (uint32_t)sim_rng_next(r);
                d->window = 29200;
            }
        } else if (cat == 1) {
            const struct sim_scanner *sc = &s->w.scanners[sim_rng_weighted(r, sw, nsc)];
            d = sim__dk_add(s, t_ns, sc->tool == 0 ? DK_ZMAP : DK_MASSCAN);
            if (!d)
                return s->err;
            d->src = sc->addr;
            d->dst = dst;
            d->proto = 6;
            d->flags = F_SYN;
            d->ttl = (uint8_t)(255 - sim__hops_of(sc->addr));
            d->dport = sc->ports[sim_rng_below(r, sc->nports)];
            d->seq = (uint32_t)sim_rng_next(r);
            if (sc->tool == 0) {
                d->style = STY_ZMAP;
                d->ip_id = 54321;
                d->window = 65535;
                d->sport = (uint16_t)(sc->sport + sim_rng_below(r, 64));
            } else {
                d->style = STY_MASSCAN;
                d->sport = sc->sport;
                d->window = 1024;
                d->ip_id = (uint16_t)((dst ^ d->dport ^ d->seq) & 0xffff);
            }
        } else if (cat == 2 || cat == 0) {
            d = sim__dk_add(s, t_ns, DK_SCANNER);
            if (!d)
                return s->err;
            d->src = SIM_V4(4, 0, 0) + (uint32_t)sim_rng_below(r, 1u << 18);
            d->dst = dst;
            if (sim_rng_chance(r, 0.2)) {
                /* ping sweep: ICMP echo request */
                d->proto = 1;
                d->icmp_type = 8;
                d->ttl = (uint8_t)((sim_rng_chance(r, 0.7) ? 64 : 128) - sim__hops_of(d->src));
                d->ip_id = (uint16_t)sim_rng_next(r);
                d->seq = (uint32_t)sim_rng_next(r);
                d->plen = (uint16_t)(sim_rng_chance(r, 0.5) ? 56 : 0);
                continue;
            }
            d->proto = 6;
            d->flags = F_SYN;
            d->style = STY_STACK;
            d->ttl = (uint8_t)((sim_rng_chance(r, 0.7) ? 64 : 128) - sim__hops_of(d->src));
            d->ip_id = (uint16_t)sim_rng_next(r);
            d->sport = (uint16_t)sim_rng_range(r, 32768, 60999);
            d->dport = other_ports[sim_rng_below(r, 10)];
            d->seq = (uint32_t)sim_rng_next(r);
            d->window = 64240;
        } else {
            d = sim__dk_add(s, t_ns, DK_MISCONF);
            if (!d)
                return s->err;
            d->src = SIM_V4(4, 0, 0) + (uint32_t)sim_rng_below(r, 1u << 18);
            d->dst = dst;
            d->proto = 17;
            d->ttl = (uint8_t)((sim_rng_chance(r, 0.7) ? 64 : 128) - sim__hops_of(d->src));
            d->ip_id = (uint16_t)sim_rng_next(r);
            d->dport = udp_ports[sim_rng_below(r, 6)];
            d->sport = d->dport == 123 ? 123 : (uint16_t)sim_rng_range(r, 32768, 60999);
            d->seq = (uint32_t)sim_rng_next(r); /* salt of the payload */
        }
    }
    return 0;
}
