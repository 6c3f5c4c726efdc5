/* Unit tests for src/proto/sflow.c: hand-built datagrams for every sample and record type and
 * every malformed case, plus conformance against real captures (counts from MANIFEST.tsv and
 * reference-details.tsv, field values from tshark). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/flow.h"
#include "core/ipaddr.h"
#include "proto/pkt.h"
#include "proto/sflow.h"

/* ---- a sink that keeps what it is given ---- */

#define MAX_RECS 64

struct collected {
    struct flow_rec recs[MAX_RECS];
    size_t n;
    size_t total;
    uint64_t packets;
    uint64_t bytes;
};

static void collect_emit(void *arg, const struct flow_rec *rec)
{
    struct collected *c = arg;
    if (c->n < MAX_RECS)
        c->recs[c->n++] = *rec;
    c->total++;
    c->packets += rec->packets;
    c->bytes += rec->bytes;
}

/* ---- datagram builder ---- */

struct wr {
    uint8_t b[2048];
    size_t n;
};

static void w32(struct wr *w, uint32_t v)
{
    assert_true(w->n + 4 <= sizeof w->b);
    w->b[w->n++] = (uint8_t)(v >> 24);
    w->b[w->n++] = (uint8_t)(v >> 16);
    w->b[w->n++] = (uint8_t)(v >> 8);
    w->b[w->n++] = (uint8_t)v;
}

static void wbytes(struct wr *w, const void *p, size_t len)
{
    assert_true(w->n + len + 3 <= sizeof w->b);
    memcpy(w->b + w->n, p, len);
    w->n += len;
    while (w->n % 4) /* XDR padding */
        w->b[w->n++] = 0;
}

/* Opens a (format, length) framed block; returns where its length goes. */
static size_t wopen(struct wr *w, uint32_t format)
{
    w32(w, format);
    w32(w, 0);
    return w->n;
}

static void wclose(struct wr *w, size_t at)
{
    uint32_t len = (uint32_t)(w->n - at);
    w->b[at - 4] = (uint8_t)(len >> 24);
    w->b[at - 3] = (uint8_t)(len >> 16);
    w->b[at - 2] = (uint8_t)(len >> 8);
    w->b[at - 1] = (uint8_t)len;
}

static void dgram_header(struct wr *w, uint32_t nsamples)
{
    w->n = 0;
    w32(w, 5);
    w32(w, 1);
    w32(w, 0xc0000201); /* agent 192.0.2.1 */
    w32(w, 7);          /* sub-agent */
    w32(w, 1000);       /* sequence */
    w32(w, 123456);     /* uptime */
    w32(w, nsamples);
}

/* Compact flow sample header; returns the sample's length position. Records follow. */
static size_t flow_sample_open(struct wr *w, uint32_t rate, uint32_t in, uint32_t out,
                               uint32_t drops, uint32_t nrec)
{
    size_t at = wopen(w, 1);
    w32(w, 42);          /* sequence */
    w32(w, 0 << 24 | 3); /* source ID: ifIndex 3 */
    w32(w, rate);
    w32(w, 99999); /* pool */
    w32(w, drops);
    w32(w, in);
    w32(w, out);
    w32(w, nrec);
    return at;
}

static const uint8_t frame_v4_tcp[] = {
    /* Ethernet, 802.1Q VLAN 55 */
    0x00,
    0x11,
    0x22,
    0x33,
    0x44,
    0x55,
    0x00,
    0x66,
    0x77,
    0x88,
    0x99,
    0xaa,
    0x81,
    0x00,
    0x00,
    0x37,
    0x08,
    0x00,
    /* IPv4: tos 0x10, len 1000, TTL 64, TCP, 10.0.0.1 -> 10.0.0.2 */
    0x45,
    0x10,
    0x03,
    0xe8,
    0x00,
    0x01,
    0x40,
    0x00,
    0x40,
    0x06,
    0x00,
    0x00,
    10,
    0,
    0,
    1,
    10,
    0,
    0,
    2,
    /* TCP 1234 -> 80, flags SYN|ACK */
    0x04,
    0xd2,
    0x00,
    0x50,
    0,
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0x50,
    0x12,
    0x10,
    0x00,
    0,
    0,
    0,
    0,
};

static void raw_header_record(struct wr *w, uint32_t proto, uint32_t frame_len, const uint8_t *h,
                              uint32_t hlen)
{
    size_t at = wopen(w, 1);
    w32(w, proto);
    w32(w, frame_len);
    w32(w, 4); /* stripped */
    w32(w, hlen);
    wbytes(w, h, hlen);
    wclose(w, at);
}

static void sampled_ipv4_record(struct wr *w, uint32_t len, uint32_t proto, uint32_t src,
                                uint32_t dst, uint32_t sport, uint32_t dport)
{
    size_t at = wopen(w, 3);
    w32(w, len);
    w32(w, proto);
    w32(w, src);
    w32(w, dst);
    w32(w, sport);
    w32(w, dport);
    w32(w, 0x18); /* PSH|ACK */
    w32(w, 0x20);
    wclose(w, at);
}

static int decode(const struct wr *w, size_t len, struct collected *c, struct sflow_result *res)
{
    struct flow_sink sink = {collect_emit, c};
    struct ipaddr exporter;
    ipaddr_from_v4(&exporter, 0x7f000001);
    memset(c, 0, sizeof *c);
    /* An exact-size heap copy, so ASan catches any read past the datagram. */
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, w->b, len);
    int rc = sflow_decode(copy, len, &exporter, 1700000000000ull, &sink, res);
    free(copy);
    return rc;
}

static void assert_v4(const struct ipaddr *a, uint32_t v)
{
    assert_true(ipaddr_is_v4(a));
    assert_int_equal(ipaddr_v4(a), v);
}

/* ---- well-formed datagrams ---- */

static void test_sflow_flow_sample_raw_ethernet_header(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 512, 5, 6, 3, 1);
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_v4(&res.agent, 0xc0000201);
    assert_int_equal(res.sub_agent, 7);
    assert_int_equal(res.seq, 1000);
    assert_int_equal(res.uptime_ms, 123456);
    assert_int_equal(res.samples, 1);
    assert_int_equal(res.flow_samples, 1);
    assert_int_equal(res.sample_drops, 3);
    assert_int_equal(res.bad_records, 0);
    assert_int_equal(c.n, 1);
    const struct flow_rec *r = &c.recs[0];
    assert_int_equal(r->version, FLOW_SFLOW5);
    assert_v4(&r->exporter, 0x7f000001);
    assert_int_equal(r->obs_domain, 7);
    assert_int_equal(r->packets, 1);
    assert_int_equal(r->bytes, 1018);
    assert_int_equal(r->sampling_rate, 512);
    assert_int_equal(r->in_if, 5);
    assert_int_equal(r->out_if, 6);
    assert_int_equal(r->start_ms, 1700000000000ull);
    assert_int_equal(r->end_ms, 1700000000000ull);
    assert_int_equal(r->direction, FLOW_DIR_UNKNOWN);
    assert_v4(&r->src, 0x0a000001);
    assert_v4(&r->dst, 0x0a000002);
    assert_int_equal(r->proto, 6);
    assert_int_equal(r->src_port, 1234);
    assert_int_equal(r->dst_port, 80);
    assert_int_equal(r->tcp_flags, 0x12);
    assert_int_equal(r->tos, 0x10);
    assert_int_equal(r->vlan, 55);
    assert_true(r->has & FLOW_HAS_VLAN);
    assert_true(r->has & FLOW_HAS_IFACES);
    assert_true(r->has & FLOW_HAS_TOS);
    assert_false(r->has & (FLOW_HAS_SRC_AS | FLOW_HAS_NEXTHOP));
}

static void test_sflow_raw_ipv4_and_ipv6_header_protocols(void **state)
{
    (void)state;
    static const uint8_t v6udp[48] = {
        0x60, 0,    0,    0,    0, 8, 17, 64,                         /* IPv6, UDP, plen 8 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 0, 1, /* 2001:db8::1 */
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,  0,  0, 0, 0, 0, 0, 0, 0, 2, /* 2001:db8::2 */
        0,    53,   0x13, 0x88, 0, 8, 0,  0};                         /* UDP 53 -> 5000 */
    struct wr w;
    dgram_header(&w, 2);
    size_t s = flow_sample_open(&w, 10, 1, 2, 0, 1);
    raw_header_record(&w, 11, 1000, frame_v4_tcp + 18, 40);
    wclose(&w, s);
    s = flow_sample_open(&w, 10, 1, 2, 0, 1);
    raw_header_record(&w, 12, 48, v6udp, sizeof v6udp);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.n, 2);
    assert_v4(&c.recs[0].src, 0x0a000001);
    assert_int_equal(c.recs[0].dst_port, 80);
    assert_int_equal(c.recs[0].vlan, 0);
    assert_false(c.recs[0].has & FLOW_HAS_VLAN);
    assert_false(ipaddr_is_v4(&c.recs[1].src));
    assert_int_equal(c.recs[1].dst.b[15], 2);
    assert_int_equal(c.recs[1].proto, 17);
    assert_int_equal(c.recs[1].dst_port, 5000);
    assert_int_equal(c.recs[1].bytes, 48);
}

static void test_sflow_sampled_ipv4_used_without_raw_header(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 0, 1, 2, 0, 2);
    size_t e = wopen(&w, 2); /* sampled Ethernet: length 1518 */
    w32(&w, 1518);
    wbytes(&w, "\x00\x01\x02\x03\x04\x05", 6);
    wbytes(&w, "\x00\x01\x02\x03\x04\x06", 6);
    w32(&w, 0x0800);
    wclose(&w, e);
    sampled_ipv4_record(&w, 1500, 17, 0x01020304, 0x05060708, 53, 4444);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.n, 1);
    const struct flow_rec *r = &c.recs[0];
    assert_int_equal(r->bytes, 1500);      /* the IP length wins over the Ethernet length */
    assert_int_equal(r->sampling_rate, 1); /* rate 0 becomes 1 */
    assert_v4(&r->src, 0x01020304);
    assert_v4(&r->dst, 0x05060708);
    assert_int_equal(r->proto, 17);
    assert_int_equal(r->src_port, 53);
    assert_int_equal(r->dst_port, 4444);
    assert_int_equal(r->tos, 0x20);
}

static void test_sflow_ethernet_record_alone_gives_bytes(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 1);
    size_t e = wopen(&w, 2);
    w32(&w, 64);
    wbytes(&w, "\x00\x01\x02\x03\x04\x05", 6);
    wbytes(&w, "\x00\x01\x02\x03\x04\x06", 6);
    w32(&w, 0x0806);
    wclose(&w, e);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.recs[0].bytes, 64);
    assert_true(ipaddr_is_zero(&c.recs[0].src));
}

static void test_sflow_raw_header_wins_over_sampled_ip_in_any_order(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 2);
    sampled_ipv4_record(&w, 1500, 17, 0x01020304, 0x05060708, 53, 4444);
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.recs[0].bytes, 1018);
    assert_v4(&c.recs[0].src, 0x0a000001);
    assert_int_equal(c.recs[0].proto, 6);
}

static void test_sflow_extended_switch_router_gateway(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 100, 1, 2, 0, 4);
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    size_t x = wopen(&w, 1001); /* switch: src VLAN 300 overrides the tag (55) */
    w32(&w, 300);
    w32(&w, 0);
    w32(&w, 301);
    w32(&w, 0);
    wclose(&w, x);
    x = wopen(&w, 1002); /* router */
    w32(&w, 1);
    w32(&w, 0xc0000263);
    w32(&w, 24);
    w32(&w, 16);
    wclose(&w, x);
    x = wopen(&w, 1003); /* gateway */
    w32(&w, 1);
    w32(&w, 0xc0000264); /* BGP next hop: ignored, the router's is kept */
    w32(&w, 65000);      /* router AS */
    w32(&w, 64512);      /* src AS */
    w32(&w, 64513);      /* src peer AS */
    w32(&w, 2);          /* two path segments */
    w32(&w, 2);          /* AS_SEQUENCE */
    w32(&w, 2);
    w32(&w, 3356);
    w32(&w, 174);
    w32(&w, 1); /* AS_SET */
    w32(&w, 1);
    w32(&w, 13335);
    w32(&w, 1); /* one community */
    w32(&w, 0xfde80001);
    w32(&w, 100); /* local pref */
    wclose(&w, x);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.bad_records, 0);
    const struct flow_rec *r = &c.recs[0];
    assert_int_equal(r->vlan, 300);
    assert_v4(&r->nexthop, 0xc0000263);
    assert_int_equal(r->src_mask, 24);
    assert_int_equal(r->dst_mask, 16);
    assert_int_equal(r->src_as, 64512);
    assert_int_equal(r->dst_as, 13335);
    assert_true(r->has & FLOW_HAS_NEXTHOP);
    assert_true(r->has & FLOW_HAS_MASKS);
    assert_true(r->has & FLOW_HAS_SRC_AS);
    assert_true(r->has & FLOW_HAS_DST_AS);
}

static void test_sflow_gateway_empty_path_and_ipv6_next_hop(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 100, 1, 2, 0, 1);
    size_t x = wopen(&w, 1003);
    w32(&w, 2);
    wbytes(&w, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x09", 16);
    w32(&w, 65000);
    w32(&w, 0);
    w32(&w, 0);
    w32(&w, 0); /* empty AS path */
    w32(&w, 0);
    w32(&w, 0);
    wclose(&w, x);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.recs[0].dst_as, 0);
    assert_false(ipaddr_is_v4(&c.recs[0].nexthop));
    assert_int_equal(c.recs[0].nexthop.b[15], 9);
}

static void test_sflow_compact_interface_formats(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 3);
    size_t s = flow_sample_open(&w, 1, 0x3fffffff, 1u << 30 | 2, 0, 0); /* discarded */
    wclose(&w, s);
    s = flow_sample_open(&w, 1, 17, 2u << 30 | 3, 0, 0); /* to 3 interfaces */
    wclose(&w, s);
    s = flow_sample_open(&w, 1, 0x3ffffffe, 0x3fffffff, 0, 0); /* max ifIndex, unknown */
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.recs[0].in_if, 0);
    assert_int_equal(c.recs[0].out_if, 0);
    assert_int_equal(c.recs[1].in_if, 17);
    assert_int_equal(c.recs[1].out_if, 0);
    assert_int_equal(c.recs[2].in_if, 0x3ffffffe);
    assert_int_equal(c.recs[2].out_if, 0);
}

static void test_sflow_expanded_flow_sample(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = wopen(&w, 3);
    w32(&w, 1);       /* sequence */
    w32(&w, 0);       /* source ID type */
    w32(&w, 100000);  /* source ID index: beyond 24 bits */
    w32(&w, 2048);    /* rate */
    w32(&w, 1);       /* pool */
    w32(&w, 10);      /* drops */
    w32(&w, 0);       /* input format */
    w32(&w, 5000000); /* input value: beyond 30 bits is fine here */
    w32(&w, 1);       /* output format 1: discarded */
    w32(&w, 258);
    w32(&w, 1);
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.flow_samples, 1);
    assert_int_equal(res.sample_drops, 10);
    assert_int_equal(c.recs[0].sampling_rate, 2048);
    assert_int_equal(c.recs[0].in_if, 5000000);
    assert_int_equal(c.recs[0].out_if, 0);
    assert_int_equal(c.recs[0].dst_port, 80);
}

static void test_sflow_counts_counter_discard_and_other_samples(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 6);
    size_t s = wopen(&w, 2);
    w32(&w, 1);
    wclose(&w, s);
    s = wopen(&w, 4);
    wclose(&w, s);
    s = wopen(&w, 5);
    w32(&w, 9);
    w32(&w, 9);
    wclose(&w, s);
    s = wopen(&w, 6); /* unknown standard format */
    wclose(&w, s);
    s = wopen(&w, 4300u << 12 | 1); /* other enterprise, format 1: not a flow sample */
    w32(&w, 1);
    wclose(&w, s);
    s = flow_sample_open(&w, 1, 1, 2, 0, 0);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.counter_samples, 2);
    assert_int_equal(res.discard_samples, 1);
    assert_int_equal(res.other_samples, 2);
    assert_int_equal(res.flow_samples, 1);
    assert_int_equal(c.n, 1);
}

static void test_sflow_unknown_records_skipped_by_length(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 3);
    size_t x = wopen(&w, 1004); /* extended user */
    w32(&w, 0);
    w32(&w, 3);
    wbytes(&w, "bob", 3);
    wclose(&w, x);
    x = wopen(&w, 8800u << 12 | 3); /* vendor record with a standard-looking format */
    w32(&w, 0xdeadbeef);
    wclose(&w, x);
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.bad_records, 0);
    assert_int_equal(c.recs[0].dst_port, 80);
    assert_int_equal(c.recs[0].bytes, 1018);
}

static void test_sflow_raw_header_non_ip_and_other_protocol(void **state)
{
    (void)state;
    static const uint8_t arp[20] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
                                    1,    2,    3,    4,    5,    0x08, 0x06};
    struct wr w;
    dgram_header(&w, 2);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 1);
    raw_header_record(&w, 1, 60, arp, sizeof arp);
    wclose(&w, s);
    s = flow_sample_open(&w, 1, 1, 2, 0, 1);
    raw_header_record(&w, 13, 200, frame_v4_tcp, 8); /* MPLS header protocol: not decoded */
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.recs[0].bytes, 60);
    assert_true(ipaddr_is_zero(&c.recs[0].src));
    assert_int_equal(c.recs[1].bytes, 200);
    assert_int_equal(res.bad_records, 0);
}

static void test_sflow_icmp_ports_follow_flow_convention(void **state)
{
    (void)state;
    static const uint8_t icmp[28] = {0x45, 0, 0, 28, 0, 0, 0, 0, 64, 1, 0, 0, 1, 1,
                                     1,    1, 2, 2,  2, 2, 3, 1, 0,  0, 0, 0, 0, 0};
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 1);
    raw_header_record(&w, 11, 28, icmp, sizeof icmp);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.recs[0].proto, 1);
    assert_int_equal(c.recs[0].src_port, 0);
    assert_int_equal(c.recs[0].dst_port, 3 << 8 | 1);
}

static void test_sflow_agent_ipv6_and_trailing_bytes(void **state)
{
    (void)state;
    struct wr w;
    w.n = 0;
    w32(&w, 5);
    w32(&w, 2);
    wbytes(&w, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x05", 16);
    w32(&w, 1);
    w32(&w, 2);
    w32(&w, 3);
    w32(&w, 0);
    w32(&w, 0xabcdef01); /* bytes after the announced samples */
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_false(ipaddr_is_v4(&res.agent));
    assert_int_equal(res.agent.b[15], 5);
    assert_int_equal(res.seq, 2);
    assert_int_equal(c.n, 0);
}

static void test_sflow_null_sink_only_counts(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 0);
    wclose(&w, s);
    struct sflow_result res;
    assert_int_equal(sflow_decode(w.b, w.n, NULL, 0, NULL, &res), 0);
    assert_int_equal(res.flow_samples, 1);
}

/* This test also makes the linker take sflow.o from libbs_proto.a: src/proto/flowdec.c
 * holds a weak stand-in for sflow_decode, and without a reference to another sflow.c symbol
 * the static archive would resolve sflow_decode to that stand-in. */
static void test_sflow_probe_tells_sflow_from_netflow(void **state)
{
    (void)state;
    static const uint8_t sf[8] = {0, 0, 0, 5, 0, 0, 0, 1};
    static const uint8_t sf_bad_type[8] = {0, 0, 0, 5, 0, 0, 0, 3};
    static const uint8_t nf5[8] = {0, 5, 0, 1, 0, 0, 0, 1};
    assert_true(sflow_probe(sf, sizeof sf));
    assert_false(sflow_probe(sf, 7));
    assert_false(sflow_probe(sf_bad_type, sizeof sf_bad_type));
    assert_false(sflow_probe(nf5, sizeof nf5));
}

/* ---- malformed datagrams ---- */

static void test_sflow_zero_length_datagram(void **state)
{
    (void)state;
    struct wr w;
    struct collected c;
    struct sflow_result res;
    w.n = 0;
    assert_int_equal(decode(&w, 0, &c, &res), BS_ETRUNC);
    assert_int_equal(res.samples, 0);
}

static void test_sflow_version_4_rejected(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 0);
    w.b[3] = 4;
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), BS_EVERSION);
    w.b[3] = 5;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
}

static void test_sflow_truncated_header_each_length(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 0);
    struct collected c;
    struct sflow_result res;
    for (size_t len = 0; len < w.n; len++)
        assert_int_equal(decode(&w, len, &c, &res), BS_ETRUNC);
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
}

static void test_sflow_agent_address_type_3(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 0);
    w.b[7] = 3;
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), BS_EMALFORMED);
    /* Type 0 (UNKNOWN) is valid and carries no address bytes. */
    w.n = 0;
    w32(&w, 5);
    w32(&w, 0);
    w32(&w, 9);
    w32(&w, 10);
    w32(&w, 11);
    w32(&w, 0);
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_true(ipaddr_is_zero(&res.agent));
    assert_int_equal(res.sub_agent, 9);
    assert_int_equal(res.seq, 10);
}

static void test_sflow_sample_length_past_end(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 2);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 0);
    wclose(&w, s);
    s = flow_sample_open(&w, 1, 1, 2, 0, 0);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    /* One byte short of the second sample: the first stands, the second is not decoded. */
    assert_int_equal(decode(&w, w.n - 1, &c, &res), BS_ETRUNC);
    assert_int_equal(res.flow_samples, 1);
    assert_int_equal(c.n, 1);
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.n, 2);
    /* A sample header cut in its length field. */
    assert_int_equal(decode(&w, 28 + 6, &c, &res), BS_ETRUNC);
    assert_int_equal(c.n, 0);
}

static void test_sflow_record_length_past_sample(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 2);
    size_t s = flow_sample_open(&w, 64, 1, 2, 0, 2);
    sampled_ipv4_record(&w, 1500, 17, 0x01020304, 0x05060708, 53, 4444);
    size_t rec = w.n;
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    wclose(&w, s);
    s = flow_sample_open(&w, 1, 1, 2, 0, 0); /* a good sample after it */
    wclose(&w, s);
    /* Make the raw header record 4 bytes longer than what is left of its sample. */
    uint32_t rlen = (uint32_t)(s - 8 - rec - 8) + 4;
    w.b[rec + 4] = (uint8_t)(rlen >> 24);
    w.b[rec + 5] = (uint8_t)(rlen >> 16);
    w.b[rec + 6] = (uint8_t)(rlen >> 8);
    w.b[rec + 7] = (uint8_t)rlen;
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.bad_records, 1);
    assert_int_equal(res.flow_samples, 2);
    assert_int_equal(c.n, 2);
    /* The sample stands with the records before the bad one. */
    assert_int_equal(c.recs[0].bytes, 1500);
    assert_v4(&c.recs[0].src, 0x01020304);
    assert_int_equal(c.recs[0].sampling_rate, 64);
}

static void test_sflow_raw_header_length_past_record(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 1);
    size_t rec = w.n;
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    wclose(&w, s);
    w.b[rec + 8 + 15] = sizeof frame_v4_tcp + 4; /* header length beyond the record */
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.bad_records, 1);
    assert_int_equal(c.n, 1);
    assert_true(ipaddr_is_zero(&c.recs[0].src));
}

static void test_sflow_sample_shorter_than_fixed_fields(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 2);
    size_t s = wopen(&w, 1);
    w32(&w, 1);
    w32(&w, 2);
    wclose(&w, s);
    s = wopen(&w, 3);
    w32(&w, 1);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.bad_records, 2);
    assert_int_equal(res.flow_samples, 0);
    assert_int_equal(c.n, 0);
}

static void test_sflow_short_fixed_records_are_bad(void **state)
{
    (void)state;
    static const uint32_t formats[] = {2, 3, 4, 1001, 1002, 1003, 1};
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        struct wr w;
        dgram_header(&w, 1);
        size_t s = flow_sample_open(&w, 1, 1, 2, 0, 1);
        size_t x = wopen(&w, formats[i]);
        w32(&w, 1); /* 4 bytes: shorter than any of these records */
        wclose(&w, x);
        wclose(&w, s);
        struct collected c;
        struct sflow_result res;
        assert_int_equal(decode(&w, w.n, &c, &res), 0);
        if (res.bad_records != 1)
            fail_msg("format %u: bad_records %u", formats[i], res.bad_records);
        assert_int_equal(c.n, 1);
    }
}

static void test_sflow_gateway_path_count_past_record(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 1);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 1);
    size_t x = wopen(&w, 1003);
    w32(&w, 1);
    w32(&w, 0x01020304);
    w32(&w, 1);
    w32(&w, 2);
    w32(&w, 3);
    w32(&w, 1);          /* one segment */
    w32(&w, 2);          /* sequence */
    w32(&w, 0x40000000); /* with a billion ASes */
    w32(&w, 1);
    wclose(&w, x);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(res.bad_records, 1);
    assert_false(c.recs[0].has & FLOW_HAS_SRC_AS);
}

static void test_sflow_huge_sample_count_few_bytes(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 0xffffffffu);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 0xffffffffu); /* huge record count too */
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    assert_int_equal(decode(&w, w.n, &c, &res), BS_ETRUNC);
    assert_int_equal(res.samples, 0xffffffffu);
    assert_int_equal(res.flow_samples, 1);
    assert_int_equal(res.bad_records, 1); /* the records it announced are missing */
    assert_int_equal(c.n, 1);
}

static void test_sflow_every_truncation_stays_in_bounds(void **state)
{
    (void)state;
    struct wr w;
    dgram_header(&w, 2);
    size_t s = flow_sample_open(&w, 1, 1, 2, 0, 3);
    raw_header_record(&w, 1, 1018, frame_v4_tcp, sizeof frame_v4_tcp);
    sampled_ipv4_record(&w, 1500, 17, 0x01020304, 0x05060708, 53, 4444);
    size_t x = wopen(&w, 1003);
    w32(&w, 1);
    w32(&w, 0x01020304);
    w32(&w, 1);
    w32(&w, 2);
    w32(&w, 3);
    w32(&w, 1);
    w32(&w, 2);
    w32(&w, 1);
    w32(&w, 65001);
    w32(&w, 0);
    w32(&w, 0);
    wclose(&w, x);
    wclose(&w, s);
    s = wopen(&w, 2);
    w32(&w, 0);
    wclose(&w, s);
    struct collected c;
    struct sflow_result res;
    for (size_t len = 0; len < w.n; len++) {
        int rc = decode(&w, len, &c, &res);
        assert_true(rc == BS_ETRUNC);
    }
    assert_int_equal(decode(&w, w.n, &c, &res), 0);
    assert_int_equal(c.recs[0].dst_as, 65001);
    assert_int_equal(res.counter_samples, 1);
}

/* ---- conformance with real captures ---- */

/* Finds the UDP payload of an Ethernet/IP/UDP frame with pkt_decode. */
static int udp_payload(const uint8_t *frame, uint32_t caplen, const uint8_t **p, size_t *len,
                       struct ipaddr *src)
{
    struct pkt_info pi;
    if (pkt_decode(frame, caplen, PKT_LINK_ETHERNET, &pi) != 0 || pi.proto != 17 || !pi.l4_ok)
        return -1;
    size_t ulen = (size_t)frame[pi.l4_off + 4] << 8 | frame[pi.l4_off + 5];
    if (ulen < 8)
        return -1;
    size_t have = caplen - pi.payload_off;
    *p = frame + pi.payload_off;
    *len = ulen - 8 < have ? ulen - 8 : have;
    *src = pi.src;
    return 0;
}

struct file_totals {
    uint64_t flows, packets, bytes;
    uint32_t counters, others, bad, errors;
    struct collected first; /* the records of the first datagram with flow samples */
};

static void decode_file(const char *path, struct file_totals *t)
{
    char err[PCAP_ERRBUF_SIZE];
    memset(t, 0, sizeof *t);
    pcap_t *p = pcap_open_offline(path, err);
    if (!p)
        fail_msg("%s: %s", path, err);
    struct pcap_pkthdr *h;
    const u_char *data;
    struct collected c;
    int got_first = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        const uint8_t *pl = NULL;
        size_t plen = 0;
        struct ipaddr src;
        if (udp_payload(data, h->caplen, &pl, &plen, &src) != 0)
            fail_msg("%s: frame is not Ethernet/IP/UDP", path);
        struct pkt_info pi;
        (void)pkt_decode(data, h->caplen, PKT_LINK_ETHERNET, &pi);
        if (pi.dst_port != 6343)
            continue; /* the VXLAN capture also holds a decoded copy of the sampled frame */
        memset(&c, 0, sizeof c);
        struct flow_sink sink = {collect_emit, &c};
        uint8_t *copy = malloc(plen ? plen : 1);
        assert_non_null(copy);
        memcpy(copy, pl, plen);
        struct sflow_result res;
        int rc = sflow_decode(copy, plen, &src, 1, &sink, &res);
        free(copy);
        if (rc != 0)
            t->errors++;
        t->flows += c.total;
        t->packets += c.packets;
        t->bytes += c.bytes;
        t->counters += res.counter_samples;
        t->others += res.other_samples + res.discard_samples;
        t->bad += res.bad_records;
        assert_int_equal(c.total, res.flow_samples);
        if (!got_first && c.n > 0) {
            t->first = c;
            got_first = 1;
        }
    }
    pcap_close(p);
}

struct mv_expect {
    const char *file;
    uint64_t flows, packets, bytes;
    uint32_t counters, others;
};

/* From /work/shared/corpus/more-vendors/MANIFEST.tsv (flow_records, packets_sum, bytes_sum)
 * and reference-details.tsv (counter_samples, other_samples; tshark counts the discarded-packet
 * samples, format 5, as other samples, so they are compared with discard + other here). */
static const struct mv_expect mv_expect[] = {
    {"telegraf-sflow_v5_example.pcap", 0, 0, 0, 1, 0},
    {"telegraf-sflow_issue_15375-drop.pcap", 0, 0, 0, 0, 1},
    {"telegraf-sflow_issue_15918.pcap", 6, 6, 2852, 1, 0},
    {"telegraf-sflow_issue_18876.pcap", 0, 0, 0, 1, 0},
    {"logstash-codec-sflow-sflow_1_counters_sample.pcap", 0, 0, 0, 1, 0},
    {"logstash-codec-sflow-sflow_counters_sample.pcap", 0, 0, 0, 12, 0},
    {"logstash-codec-sflow-sflow_flow_sample.pcap", 1, 1, 490, 0, 0},
    {"logstash-codec-sflow-sflow_flow_sample_eth_vlan.pcap", 1, 1, 62, 0, 0},
    {"logstash-codec-sflow-sflow_with_lag_counters.pcap", 5, 5, 3297, 2, 0},
    {"goflow2-TestSFlowDecode.pcap", 1, 1, 82, 0, 0},
    {"goflow2-TestExpandedSFlowDecode.pcap", 5, 5, 7562, 0, 0},
    {"goflow2-TestSFlowDecodeDropExtendedACL.pcap", 0, 0, 0, 0, 1},
    {"goflow2-TestSFlowDecodeDropExtendedFunction.pcap", 0, 0, 0, 0, 1},
    {"vflow-sflow-decoder-test.pcap", 5, 5, 5902, 0, 0},
};

static void test_sflow_more_vendors_match_manifest(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof mv_expect / sizeof mv_expect[0]; i++) {
        const struct mv_expect *e = &mv_expect[i];
        char path[512];
        snprintf(path, sizeof path, "%s/more-vendors/sflow5/%s", BS_CORPUS_DIR, e->file);
        struct file_totals t;
        decode_file(path, &t);
        if (t.errors || t.bad || t.flows != e->flows || t.packets != e->packets ||
            t.bytes != e->bytes || t.counters != e->counters || t.others != e->others)
            fail_msg("%s: errors %u bad %u flows %llu packets %llu bytes %llu counters %u "
                     "others %u",
                     e->file, t.errors, t.bad, (unsigned long long)t.flows,
                     (unsigned long long)t.packets, (unsigned long long)t.bytes, t.counters,
                     t.others);
    }
}

struct akv_expect {
    const char *file;
    uint64_t flows;
    const char *src, *dst;
    unsigned proto, sport, dport, in_if, out_if, rate, bytes, vlan;
};

/* Flow-sample counts and first-sample fields computed once with
 *   tshark -r F -d udp.port==6343,sflow -T pdml
 * (tshark 4.0.17): flow samples = "Flow sample"/"Expanded flow sample" items; fields of the
 * first one: sampling_rate, input/output interface value, header.frame_length (or sampled IP
 * length), the first ip/ipv6 src/dst, ip.proto / ipv6.nxt, tcp/udp ports (ICMP: type << 8 |
 * code in dst_port, as flow.h says), vlan.id of the header or the extended switch vlan.in.
 * Interface values tshark shows as 1073741823 (0x3FFFFFFF, unknown) and output formats 1
 * (discarded: value 1) and 2 (multiple: value 7) are 0 in flow_rec, by sflow.c's rules. */
static const struct akv_expect akv_expect[] = {
    {"sflow_data-1140.pcap", 5, "2a0c:8880:2:0:185:21:130:38", "2a0c:8880:2:0:185:21:130:39", 6,
     46026, 22, 27, 28, 1024, 1518, 100},
    {"sflow_data-discard-interface.pcap", 1, "2a0c:8880:2:0:185:21:130:38",
     "2a0c:8880:2:0:185:21:130:39", 6, 46026, 22, 27, 0, 1024, 1518, 100},
    {"sflow_data-encap-vxlan.pcap", 1, "192.168.108.40", "192.168.15.14", 17, 45833, 4789, 0, 0, 1,
     172, 0},
    {"sflow_data-icmpv4.pcap", 1, "203.0.113.4", "203.0.113.5", 1, 0, 8 << 8 | 0, 0, 0, 1, 102, 0},
    {"sflow_data-icmpv6.pcap", 1, "fe80::d05b:45ff:feee:5ecf", "2001:db8::", 58, 0, 135 << 8 | 0, 0,
     0, 1, 90, 0},
    {"sflow_data-local-interface.pcap", 1, "2a0c:8880:2:0:185:21:130:38",
     "2a0c:8880:2:0:185:21:130:39", 6, 46026, 22, 27, 0, 1024, 1518, 100},
    {"sflow_data-multiple-interfaces.pcap", 1, "2a0c:8880:2:0:185:21:130:38",
     "2a0c:8880:2:0:185:21:130:39", 6, 46026, 22, 27, 0, 1024, 1518, 100},
    {"sflow_data-qinq.pcap", 1, "49.49.49.2", "49.49.49.109", 6, 32017, 443, 369098852, 369098851,
     4096, 106, 1062},
    {"sflow_data-sflow-expanded-sample.pcap", 1, "52.52.52.52", "53.53.53.53", 6, 22, 52237, 29001,
     1285816721, 1000, 126, 809},
    {"sflow_data-sflow-ipv4-data.pcap", 1, "50.50.50.50", "51.51.51.51", 17, 46622, 58631, 0, 182,
     256, 1390, 0},
    {"sflow_data-sflow-raw-ipv4.pcap", 2, "69.58.92.107", "92.222.186.1", 1, 0, 0, 0, 2, 1, 50, 0},
};

static void test_sflow_akvorado_captures_match_tshark(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof akv_expect / sizeof akv_expect[0]; i++) {
        const struct akv_expect *e = &akv_expect[i];
        char path[512];
        snprintf(path, sizeof path, "%s/akvorado/%s", BS_CORPUS_DIR, e->file);
        struct file_totals t;
        decode_file(path, &t);
        if (t.errors || t.bad || t.flows != e->flows)
            fail_msg("%s: errors %u bad %u flows %llu", e->file, t.errors, t.bad,
                     (unsigned long long)t.flows);
        const struct flow_rec *r = &t.first.recs[0];
        struct ipaddr s, d;
        assert_int_equal(ipaddr_parse(e->src, &s), 0);
        assert_int_equal(ipaddr_parse(e->dst, &d), 0);
        if (ipaddr_cmp(&s, &r->src) || ipaddr_cmp(&d, &r->dst) || r->proto != e->proto ||
            r->src_port != e->sport || r->dst_port != e->dport || r->in_if != e->in_if ||
            r->out_if != e->out_if || r->sampling_rate != e->rate || r->bytes != e->bytes ||
            r->vlan != e->vlan)
            fail_msg("%s: proto %u ports %u/%u if %u/%u rate %u bytes %llu vlan %u", e->file,
                     r->proto, r->src_port, r->dst_port, r->in_if, r->out_if, r->sampling_rate,
                     (unsigned long long)r->bytes, r->vlan);
        assert_int_equal(r->version, FLOW_SFLOW5);
        assert_int_equal(r->packets, 1);
    }
}

static void test_sflow_akvorado_expanded_sample_extended_records(void **state)
{
    (void)state;
    /* tshark: nexthop 54.54.54.54 (router and gateway), masks 32/22, srcAS 203476,
     * AS path sequence 8218 29605 203361, TCP flags 0x018. */
    char path[512];
    snprintf(path, sizeof path, "%s/akvorado/sflow_data-sflow-expanded-sample.pcap", BS_CORPUS_DIR);
    struct file_totals t;
    decode_file(path, &t);
    const struct flow_rec *r = &t.first.recs[0];
    assert_v4(&r->nexthop, 0x36363636);
    assert_int_equal(r->src_mask, 32);
    assert_int_equal(r->dst_mask, 22);
    assert_int_equal(r->src_as, 203476);
    assert_int_equal(r->dst_as, 203361);
    assert_int_equal(r->tcp_flags, 0x18);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sflow_flow_sample_raw_ethernet_header),
        cmocka_unit_test(test_sflow_raw_ipv4_and_ipv6_header_protocols),
        cmocka_unit_test(test_sflow_sampled_ipv4_used_without_raw_header),
        cmocka_unit_test(test_sflow_ethernet_record_alone_gives_bytes),
        cmocka_unit_test(test_sflow_raw_header_wins_over_sampled_ip_in_any_order),
        cmocka_unit_test(test_sflow_extended_switch_router_gateway),
        cmocka_unit_test(test_sflow_gateway_empty_path_and_ipv6_next_hop),
        cmocka_unit_test(test_sflow_compact_interface_formats),
        cmocka_unit_test(test_sflow_expanded_flow_sample),
        cmocka_unit_test(test_sflow_counts_counter_discard_and_other_samples),
        cmocka_unit_test(test_sflow_unknown_records_skipped_by_length),
        cmocka_unit_test(test_sflow_raw_header_non_ip_and_other_protocol),
        cmocka_unit_test(test_sflow_icmp_ports_follow_flow_convention),
        cmocka_unit_test(test_sflow_agent_ipv6_and_trailing_bytes),
        cmocka_unit_test(test_sflow_null_sink_only_counts),
        cmocka_unit_test(test_sflow_probe_tells_sflow_from_netflow),
        cmocka_unit_test(test_sflow_zero_length_datagram),
        cmocka_unit_test(test_sflow_version_4_rejected),
        cmocka_unit_test(test_sflow_truncated_header_each_length),
        cmocka_unit_test(test_sflow_agent_address_type_3),
        cmocka_unit_test(test_sflow_sample_length_past_end),
        cmocka_unit_test(test_sflow_record_length_past_sample),
        cmocka_unit_test(test_sflow_raw_header_length_past_record),
        cmocka_unit_test(test_sflow_sample_shorter_than_fixed_fields),
        cmocka_unit_test(test_sflow_short_fixed_records_are_bad),
        cmocka_unit_test(test_sflow_gateway_path_count_past_record),
        cmocka_unit_test(test_sflow_huge_sample_count_few_bytes),
        cmocka_unit_test(test_sflow_every_truncation_stays_in_bounds),
        cmocka_unit_test(test_sflow_more_vendors_match_manifest),
        cmocka_unit_test(test_sflow_akvorado_captures_match_tshark),
        cmocka_unit_test(test_sflow_akvorado_expanded_sample_extended_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
