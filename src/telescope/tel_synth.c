/* tel_synth.c - synthetic darknet captures (see tel_synth.h). */
#include "telescope/tel_synth.h"
#include "core/rd.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/pcapw.h"
#include "core/pktbuild.h"
#include "core/vec.h"

struct rng {
    uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint32_t rnd_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(rnd(r) % n) : 0;
}

/* Every frame goes from 02:00:00:00:00:01 to 02:00:00:00:00:02 (locally administered). */
static void frame_base(struct pktbuild *p, uint32_t src, uint32_t dst, uint8_t proto, uint16_t id,
                       uint8_t ttl)
{
    static const uint8_t dst_mac[6] = {0x02, 0, 0, 0, 0, 0x02},
                         src_mac[6] = {0x02, 0, 0, 0, 0, 0x01};
    memset(p, 0, sizeof *p);
    memcpy(p->dst_mac, dst_mac, 6);
    memcpy(p->src_mac, src_mac, 6);
    ipaddr_from_v4(&p->src, src);
    ipaddr_from_v4(&p->dst, dst);
    p->proto = proto;
    p->ip_id = id;
    p->ttl = ttl;
}

size_t tel_synth_tcp4(uint8_t *out, const struct tel_synth_tcp *t)
{
    struct pktbuild p;
    frame_base(&p, t->src, t->dst, 6, t->ip_id, t->ttl);
    p.sport = t->sport;
    p.dport = t->dport;
    p.seq = t->seq;
    p.ack = t->ack;
    p.tcp_flags = t->flags;
    p.window = t->window;
    p.tcp_opts = t->opts;
    p.tcp_opts_len = (uint8_t)(t->opts_len > 40 ? 40 : t->opts_len & ~3u);
    return pktbuild_frame(out, TEL_SYNTH_MAX_FRAME, &p);
}

size_t tel_synth_udp4(uint8_t *out, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                      const uint8_t *payload, size_t plen, uint16_t ip_id)
{
    if (plen > TEL_SYNTH_MAX_FRAME - 14 - 28)
        plen = TEL_SYNTH_MAX_FRAME - 14 - 28;
    struct pktbuild p;
    frame_base(&p, src, dst, 17, ip_id, 57);
    p.sport = sport;
    p.dport = dport;
    p.payload = payload;
    p.payload_len = plen;
    return pktbuild_frame(out, TEL_SYNTH_MAX_FRAME, &p);
}

size_t tel_synth_icmp4(uint8_t *out, uint32_t src, uint32_t dst, uint8_t type, uint8_t code,
                       uint32_t inner_src, uint32_t inner_dst, uint8_t inner_proto,
                       uint16_t inner_sport, uint16_t inner_dport)
{
    struct pktbuild p;
    frame_base(&p, src, dst, 1, 0x4321, 60);
    p.icmp_type = type;
    p.icmp_code = code;
    bool error = type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
    uint8_t quoted[28];
    if (error) {
        /* the quoted packet: its IPv4 header and the first 8 bytes of its transport header
         * (ports, length 8, no checksum), as a router quotes it */
        uint8_t l4[8] = {0};
        be16_put(l4, inner_sport);
        be16_put(l4 + 2, inner_dport);
        be16_put(l4 + 4, 8);
        struct pktbuild in;
        frame_base(&in, inner_src, inner_dst, inner_proto, 0x1234, 50);
        in.raw = true;
        in.payload = l4;
        in.payload_len = sizeof l4;
        p.payload = quoted;
        p.payload_len = pktbuild_ip(quoted, sizeof quoted, &in);
    }
    return pktbuild_frame(out, TEL_SYNTH_MAX_FRAME, &p);
}

size_t tel_synth_frag4(uint8_t *out, uint32_t src, uint32_t dst, uint16_t ip_id, int more,
                       uint16_t offset, size_t plen)
{
    if (plen > 64)
        plen = 64;
    uint8_t body[64] = {0};
    if (offset == 0 && plen >= 8) { /* first fragment carries the UDP header */
        be16_put(body, 5353 + 1);
        be16_put(body + 2, 9999);
        be16_put(body + 4, (uint16_t)(plen + 100));
    }
    struct pktbuild p;
    frame_base(&p, src, dst, 17, ip_id, 60);
    p.raw = true;
    p.mf = more != 0;
    p.frag_off = offset & 0x1fff;
    p.payload = body;
    p.payload_len = plen;
    return pktbuild_frame(out, TEL_SYNTH_MAX_FRAME, &p);
}

size_t tel_synth_icmp6_echo(uint8_t *out, const struct ipaddr *src, const struct ipaddr *dst)
{
    struct pktbuild p;
    frame_base(&p, 0, 0, 58, 0, 64);
    p.src = *src;
    p.dst = *dst;
    p.icmp_type = 128;
    p.icmp_rest = 0x00770001; /* identifier 0x77, sequence 1 */
    p.payload_len = 8;        /* eight zero bytes of data */
    return pktbuild_frame(out, TEL_SYNTH_MAX_FRAME, &p);
}

/* ---- frames kept for sorting (the golden scenario is written in time order) ---- */

struct frame {
    uint64_t ts_us;
    uint16_t len;
    uint8_t data[TEL_SYNTH_MAX_FRAME];
};

/* ---- golden scenario ---- */

struct golden {
    struct rng r;
    const struct tel_synth_opts *o;
    struct vec fr; /* struct frame, sorted by time before writing */
    uint32_t dnet, dsize;
};

/* The scenario writes about 530 frames; the cap only guards against a scenario edit gone
 * wrong. */
#define GOLDEN_MAX_FRAMES 4096

#define GOLDEN_SPAN_S     600
#define GOLDEN_QUIET_FROM 360 /* no packets in [360 s, 420 s): an empty interval */
#define GOLDEN_QUIET_TO   420

static struct frame *gnew(struct golden *g, uint64_t t_ms)
{
    int rc;
    struct frame *f = VEC_PUSH(&g->fr, struct frame, &rc);
    if (!f)
        return NULL;
    f->ts_us = (g->o->start_ms + t_ms) * 1000;
    return f;
}

/* A random time in the span outside the quiet minute, in ms. */
static uint64_t gtime(struct golden *g)
{
    for (;;) {
        uint64_t t = rnd_below(&g->r, GOLDEN_SPAN_S * 1000);
        if (t < GOLDEN_QUIET_FROM * 1000 || t >= GOLDEN_QUIET_TO * 1000)
            return t;
    }
}

static uint32_t gdark(struct golden *g)
{
    return g->dnet + rnd_below(&g->r, g->dsize);
}

static uint32_t a4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static int gsyn(struct golden *g, uint64_t t, const struct tel_synth_tcp *t4)
{
    struct frame *f = gnew(g, t);
    if (!f)
        return BS_ENOMEM;
    f->len = (uint16_t)tel_synth_tcp4(f->data, t4);
    return 0;
}

static int frame_cmp(const void *a, const void *b)
{
    const struct frame *x = a, *y = b;
    return x->ts_us < y->ts_us ? -1 : x->ts_us > y->ts_us;
}

static int golden_build(struct golden *g)
{
    static const uint8_t mss1460[4] = {2, 4, 0x05, 0xb4};
    int rc = 0;
    /* 1. Mirai bots: telnet scans with seq == destination. */
    for (unsigned bot = 1; bot <= 3 && !rc; bot++)
        for (int i = 0; i < 40 && !rc; i++) {
            uint32_t d = gdark(g);
            struct tel_synth_tcp t = {a4(45, 1, 1, bot),
                                      d,
                                      (uint16_t)(1024 + rnd_below(&g->r, 60000)),
                                      rnd_below(&g->r, 10) ? 23 : 2323,
                                      d,
                                      0,
                                      0x02,
                                      (uint16_t)rnd(&g->r),
                                      (uint16_t)rnd(&g->r),
                                      64,
                                      NULL,
                                      0};
            rc = gsyn(g, gtime(g), &t);
        }
    /* 2. masscan-like: IP ID = dst ^ dport ^ seq, window 1024, fixed source port. */
    for (int i = 0; i < 50 && !rc; i++) {
        static const uint16_t ports[3] = {80, 443, 8080};
        uint32_t d = gdark(g), seq = (uint32_t)rnd(&g->r);
        uint16_t dp = ports[rnd_below(&g->r, 3)];
        struct tel_synth_tcp t = {a4(60, 1, 1, 1),
                                  d,
                                  61000,
                                  dp,
                                  seq,
                                  0,
                                  0x02,
                                  1024,
                                  (uint16_t)((d ^ dp ^ seq) & 0xffff),
                                  255,
                                  NULL,
                                  0};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 3. zmap-like: IP ID 54321, window 65535. */
    for (int i = 0; i < 50 && !rc; i++) {
        struct tel_synth_tcp t = {a4(60, 1, 1, 2),
                                  gdark(g),
                                  (uint16_t)(32768 + rnd_below(&g->r, 28000)),
                                  443,
                                  (uint32_t)rnd(&g->r),
                                  0,
                                  0x02,
                                  65535,
                                  54321,
                                  255,
                                  NULL,
                                  0};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 4. nmap-like: one target, many ports, window 1024, MSS 1460, one seq. */
    uint32_t nmap_dst = gdark(g), nmap_seq = (uint32_t)rnd(&g->r);
    for (int i = 0; i < 50 && !rc; i++) {
        struct tel_synth_tcp t = {a4(60, 1, 1, 3),
                                  nmap_dst,
                                  44013,
                                  (uint16_t)(1 + i * 7),
                                  nmap_seq,
                                  0,
                                  0x02,
                                  1024,
                                  (uint16_t)rnd(&g->r),
                                  (uint8_t)(37 + rnd_below(&g->r, 20)),
                                  mss1460,
                                  4};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 5. unicornscan-like: seq = key ^ bswap(dst) ^ ((dport << 16) + sport). */
    uint32_t key = (uint32_t)rnd(&g->r);
    for (int i = 0; i < 30 && !rc; i++) {
        uint32_t d = gdark(g);
        uint16_t dp = (uint16_t)(20 + rnd_below(&g->r, 100)), sp = 40000;
        uint32_t seq = key ^ __builtin_bswap32(d) ^ (((uint32_t)dp << 16) + sp);
        struct tel_synth_tcp t = {a4(60, 1, 1, 4),      d,  sp,   dp, seq, 0, 0x02, 4096 + 1,
                                  (uint16_t)rnd(&g->r), 64, NULL, 0};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 6. IoT-port scanner without a tool fingerprint. */
    for (int i = 0; i < 20 && !rc; i++) {
        static const uint16_t ports[3] = {37215, 52869, 7547};
        struct tel_synth_tcp t = {a4(60, 1, 1, 5),
                                  gdark(g),
                                  (uint16_t)(1024 + rnd_below(&g->r, 60000)),
                                  ports[rnd_below(&g->r, 3)],
                                  (uint32_t)rnd(&g->r),
                                  0,
                                  0x02,
                                  5840,
                                  (uint16_t)rnd(&g->r),
                                  50,
                                  NULL,
                                  0};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 7. research scanner (listed in the test's research file): telnet SYNs. */
    for (int i = 0; i < 40 && !rc; i++) {
        struct tel_synth_tcp t = {a4(71, 6, 0, 1),
                                  gdark(g),
                                  (uint16_t)(1024 + rnd_below(&g->r, 60000)),
                                  23,
                                  (uint32_t)rnd(&g->r),
                                  0,
                                  0x02,
                                  29200,
                                  (uint16_t)rnd(&g->r),
                                  54,
                                  NULL,
                                  0};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 8. victim 93.184.0.10 answering spoofed SYNs on port 80: 40 SYN-ACKs, 32 within the
     * first 30 s (peak >= 30/min), the rest until 100 s (duration >= 60 s). */
    for (int i = 0; i < 40 && !rc; i++) {
        uint64_t t = 30000 + (i < 32 ? (uint64_t)i * 900 : 30000 + (uint64_t)(i - 32) * 10000);
        struct tel_synth_tcp s = {a4(93, 184, 0, 10),
                                  gdark(g),
                                  80,
                                  (uint16_t)(1024 + rnd_below(&g->r, 60000)),
                                  (uint32_t)rnd(&g->r),
                                  (uint32_t)rnd(&g->r),
                                  0x12,
                                  65535,
                                  (uint16_t)rnd(&g->r),
                                  52,
                                  NULL,
                                  0};
        rc = gsyn(g, t, &s);
    }
    /* 9. 93.184.0.20: 24 RST-ACKs over 70 s, one packet short of the threshold. */
    for (int i = 0; i < 24 && !rc; i++) {
        uint64_t t = 150000 + (uint64_t)i * 3000;
        struct tel_synth_tcp s = {a4(93, 184, 0, 20),
                                  gdark(g),
                                  443,
                                  (uint16_t)(1024 + rnd_below(&g->r, 60000)),
                                  0,
                                  (uint32_t)rnd(&g->r),
                                  0x14,
                                  0,
                                  (uint16_t)rnd(&g->r),
                                  52,
                                  NULL,
                                  0};
        rc = gsyn(g, t, &s);
    }
    /* 10. ICMP port unreachable from a router near 93.184.0.30 quoting spoofed UDP to 53. */
    for (int i = 0; i < 40 && !rc; i++) {
        uint64_t t = 430000 + (i < 35 ? (uint64_t)i * 1000 : 35000 + (uint64_t)(i - 35) * 9000);
        uint32_t d = gdark(g);
        struct frame *f = gnew(g, t);
        if (!f)
            return BS_ENOMEM;
        f->len =
            (uint16_t)tel_synth_icmp4(f->data, a4(93, 184, 0, 1), d, 3, 3, d, a4(93, 184, 0, 30),
                                      17, (uint16_t)(1024 + rnd_below(&g->r, 60000)), 53);
    }
    /* 11. misconfiguration noise and UDP probes. */
    static const uint8_t dns[12] = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0};
    static const uint8_t dht[] = "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe";
    for (int i = 0; i < 5 && !rc; i++) {
        struct frame *f = gnew(g, gtime(g));
        if (!f)
            return BS_ENOMEM;
        f->len = (uint16_t)tel_synth_udp4(f->data, a4(8, 8, 4, 4), gdark(g), 53, 33000, dns,
                                          sizeof dns, (uint16_t)i);
    }
    for (int i = 0; i < 3 && !rc; i++) {
        struct frame *f = gnew(g, gtime(g));
        if (!f)
            return BS_ENOMEM;
        uint8_t ntp[48] = {0x24};
        f->len = (uint16_t)tel_synth_udp4(f->data, a4(5, 5, 5, 5), gdark(g), 123, 123, ntp,
                                          sizeof ntp, (uint16_t)i);
    }
    for (int i = 0; i < 3 && !rc; i++) {
        struct frame *f = gnew(g, gtime(g));
        if (!f)
            return BS_ENOMEM;
        f->len = (uint16_t)tel_synth_udp4(f->data, a4(7, 7, 7, 7), gdark(g), 51413, 40001, dht,
                                          sizeof dht - 1, (uint16_t)i);
    }
    for (int i = 0; i < 5 && !rc; i++) {
        struct frame *f = gnew(g, gtime(g));
        if (!f)
            return BS_ENOMEM;
        static const uint8_t probe[4] = {2, 0, 0, 0};
        f->len = (uint16_t)tel_synth_udp4(f->data, a4(9, 9, 9, 1), gdark(g), 40000, 1434, probe,
                                          sizeof probe, (uint16_t)i);
    }
    /* 12. abnormal flag combinations: null, Xmas, FIN, SYN+FIN (2 each). */
    static const uint8_t abn[4] = {0x00, 0x29, 0x01, 0x03};
    for (int i = 0; i < 8 && !rc; i++) {
        struct tel_synth_tcp t = {a4(61, 1, 1, 1),      gdark(g), 50000,      (uint16_t)(21 + i),
                                  (uint32_t)rnd(&g->r), 0,        abn[i / 2], 1024,
                                  (uint16_t)rnd(&g->r), 48,       NULL,       0};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 13. a fragmented UDP datagram: first and second fragment. */
    if (!rc) {
        uint64_t t = gtime(g);
        uint32_t d = gdark(g);
        struct frame *f = gnew(g, t);
        if (!f)
            return BS_ENOMEM;
        f->len = (uint16_t)tel_synth_frag4(f->data, a4(62, 1, 1, 1), d, 777, 1, 0, 48);
        f = gnew(g, t + 1);
        if (!f)
            return BS_ENOMEM;
        f->len = (uint16_t)tel_synth_frag4(f->data, a4(62, 1, 1, 1), d, 777, 0, 6, 40);
    }
    /* 14. bogon (RFC 1918) source with a Mirai-looking SYN: spoofed, never infected. */
    for (int i = 0; i < 5 && !rc; i++) {
        uint32_t d = gdark(g);
        struct tel_synth_tcp t = {a4(10, 1, 2, 3),      d,  5555, 23, d, 0, 0x02, 14600,
                                  (uint16_t)rnd(&g->r), 64, NULL, 0};
        rc = gsyn(g, gtime(g), &t);
    }
    /* 15. ICMP echo scans, IPv4 and (when a v6 darknet is given) IPv6. */
    for (int i = 0; i < 10 && !rc; i++) {
        struct frame *f = gnew(g, gtime(g));
        if (!f)
            return BS_ENOMEM;
        f->len = (uint16_t)tel_synth_icmp4(f->data, a4(63, 1, 1, 1), gdark(g), 8, 0, 0, 0, 0, 0, 0);
    }
    if (g->o->dark6.len && g->o->dark6.len < 128) {
        struct ipaddr src;
        ipaddr_parse("2a00:1450:4001::5", &src);
        for (int i = 0; i < 5 && !rc; i++) {
            struct ipaddr d = g->o->dark6.addr;
            d.b[15] = (uint8_t)(1 + i);
            struct frame *f = gnew(g, gtime(g));
            if (!f)
                return BS_ENOMEM;
            f->len = (uint16_t)tel_synth_icmp6_echo(f->data, &src, &d);
        }
    }
    /* 16. traffic outside the darknet: counted, not analysed. */
    for (int i = 0; i < 20 && !rc; i++) {
        struct tel_synth_tcp t = {a4(1, 1, 1, 1),
                                  a4(8, 8, 8, 8),
                                  40000,
                                  443,
                                  (uint32_t)rnd(&g->r),
                                  1,
                                  0x10,
                                  500,
                                  (uint16_t)i,
                                  60,
                                  NULL,
                                  0};
        rc = gsyn(g, gtime(g), &t);
    }
    return rc;
}

static int write_golden(struct pcapw *f, const struct tel_synth_opts *o)
{
    struct golden g = {.r = {o->seed}, .o = o};
    g.dnet = ipaddr_v4(&o->dark4.addr);
    unsigned len = o->dark4.len - 96u;
    g.dsize = len == 0 ? 0xffffffffu : (uint32_t)(1ull << (32 - len));
    vec_init(&g.fr, sizeof(struct frame), 1024, GOLDEN_MAX_FRAMES);
    int rc = golden_build(&g);
    if (!rc) {
        qsort(g.fr.data, g.fr.n, sizeof(struct frame), frame_cmp);
        for (size_t i = 0; i < g.fr.n && !rc; i++) {
            const struct frame *fr = VEC_AT(&g.fr, struct frame, i);
            rc = pcapw_write(f, fr->ts_us * 1000, fr->data, fr->len);
        }
    }
    vec_release(&g.fr);
    return rc;
}

/* ---- bench scenario: streamed in time order ---- */

/* One of nsrc pseudo-random source addresses (a fixed pool, so sources repeat). With zipf,
 * pool member k is drawn with probability ~ 1/(k+1): k = floor(nsrc^u) - 1 for uniform u. */
static uint32_t pick_src(struct rng *r, uint64_t nsrc, bool zipf)
{
    uint64_t k;
    if (zipf) {
        double u = (double)(rnd(r) >> 11) / 9007199254740992.0;
        k = (uint64_t)pow((double)nsrc, u) - 1;
        if (k >= nsrc)
            k = nsrc - 1;
    } else {
        k = rnd(r) % nsrc;
    }
    uint64_t z = (k + 0x5bd1e995ull) * 0x9e3779b97f4a7c15ull;
    z ^= z >> 29;
    return (uint32_t)(z * 0xbf58476d1ce4e5b9ull >> 32);
}

static int write_bench(struct pcapw *f, const struct tel_synth_opts *o)
{
    struct rng r = {o->seed};
    uint32_t dnet = ipaddr_v4(&o->dark4.addr);
    unsigned len = o->dark4.len - 96u;
    uint32_t dsize = len == 0 ? 0xffffffffu : (uint32_t)(1ull << (32 - len));
    uint64_t n = o->packets ? o->packets : 1000000;
    uint64_t nsrc = o->sources ? o->sources : n / 8 + 1;
    uint64_t span_us = 3600ull * 1000000;
    uint8_t fr[TEL_SYNTH_MAX_FRAME];
    int rc = 0;
    static const uint16_t ports[8] = {23, 2323, 80, 8080, 22, 445, 37215, 5555};
    for (uint64_t i = 0; i < n && !rc; i++) {
        uint64_t ts = o->start_ms * 1000 + i * span_us / n;
        uint32_t src = pick_src(&r, nsrc, o->zipf);
        uint32_t d = dnet + rnd_below(&r, dsize);
        uint32_t k = rnd_below(&r, 100);
        size_t flen;
        if (k < 40) { /* Mirai-style */
            struct tel_synth_tcp t = {src,  d,     (uint16_t)rnd(&r), ports[k & 7], d,    0,
                                      0x02, 14600, (uint16_t)rnd(&r), 64,           NULL, 0};
            flen = tel_synth_tcp4(fr, &t);
        } else if (k < 60) { /* other SYN scans */
            uint32_t seq = (uint32_t)rnd(&r);
            struct tel_synth_tcp t = {src,          d,    61000,
                                      ports[k & 7], seq,  0,
                                      0x02,         1024, (uint16_t)(d ^ ports[k & 7] ^ seq),
                                      255,          NULL, 0};
            flen = tel_synth_tcp4(fr, &t);
        } else if (k < 75) { /* backscatter from a few victims */
            struct tel_synth_tcp t = {a4(93, 184, (uint8_t)(k & 3), (uint8_t)rnd_below(&r, 200)),
                                      d,
                                      80,
                                      (uint16_t)rnd(&r),
                                      (uint32_t)rnd(&r),
                                      (uint32_t)rnd(&r),
                                      0x12,
                                      65535,
                                      (uint16_t)rnd(&r),
                                      52,
                                      NULL,
                                      0};
            flen = tel_synth_tcp4(fr, &t);
        } else if (k < 85) {
            static const uint8_t p[8] = {1, 2, 3, 4, 5, 6, 7, 8};
            flen = tel_synth_udp4(fr, src, d, (uint16_t)rnd(&r),
                                  (uint16_t)(1024 + rnd_below(&r, 60000)), p, sizeof p,
                                  (uint16_t)rnd(&r));
        } else if (k < 90) {
            flen = tel_synth_icmp4(fr, src, d, 8, 0, 0, 0, 0, 0, 0);
        } else { /* not to the darknet */
            struct tel_synth_tcp t = {src,
                                      a4(8, 8, 8, 8),
                                      (uint16_t)rnd(&r),
                                      443,
                                      (uint32_t)rnd(&r),
                                      1,
                                      0x10,
                                      500,
                                      (uint16_t)rnd(&r),
                                      60,
                                      NULL,
                                      0};
            flen = tel_synth_tcp4(fr, &t);
        }
        rc = pcapw_write(f, ts * 1000, fr, flen);
    }
    return rc;
}

int tel_synth_write(const char *path, const struct tel_synth_opts *o)
{
    if (!ipaddr_is_v4(&o->dark4.addr) || o->dark4.len < 96 || !o->scenario)
        return BS_EUSAGE;
    bool golden = !strcmp(o->scenario, "golden");
    if (!golden && strcmp(o->scenario, "bench"))
        return BS_EUSAGE;
    /* a file is written under a temporary name and renamed when complete */
    struct pcapw f;
    struct pcapw_opts po = {.linktype = PCAPW_LINKTYPE_ETHERNET, .atomic = true};
    int rc = pcapw_open(&f, path, &po);
    if (!rc)
        rc = golden ? write_golden(&f, o) : write_bench(&f, o);
    if (rc) {
        pcapw_abort(&f);
        return rc;
    }
    return pcapw_close(&f);
}
