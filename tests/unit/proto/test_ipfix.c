/* Unit tests for the IPFIX decoder (src/proto/ipfix.c, tmpl.c) through flowdec_decode(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "nf_testbuf.h"

#define SECS      1700000000u
#define EXPORT_MS ((uint64_t)SECS * 1000u)
#define ENT       0x8000u

/* Field specifier: id (with ENT for enterprise), length, pen (used when ENT is set). */
struct fs {
    uint16_t id, len;
    uint32_t pen;
};

static void ipfix_template(struct tb *t, unsigned tid, const struct fs *f, unsigned n)
{
    tb_set_begin(t, 2);
    tb_u16(t, tid);
    tb_u16(t, n);
    for (unsigned i = 0; i < n; i++) {
        tb_u16(t, f[i].id);
        tb_u16(t, f[i].len);
        if (f[i].id & ENT)
            tb_u32(t, f[i].pen);
    }
    tb_set_end(t);
}

static void ipfix_options_template(struct tb *t, unsigned tid, const struct fs *f, unsigned n,
                                   unsigned scope)
{
    tb_set_begin(t, 3);
    tb_u16(t, tid);
    tb_u16(t, n);
    tb_u16(t, scope);
    for (unsigned i = 0; i < n; i++) {
        tb_u16(t, f[i].id);
        tb_u16(t, f[i].len);
        if (f[i].id & ENT)
            tb_u32(t, f[i].pen);
    }
    tb_set_end(t);
}

static const struct fs basic[] = {
    {8, 4, 0}, {12, 4, 0}, {7, 2, 0},   {11, 2, 0},  {4, 1, 0},
    {1, 8, 0}, {2, 8, 0},  {152, 8, 0}, {153, 8, 0},
};

static void basic_rec(struct tb *t, uint32_t src, uint64_t pkts, uint64_t bytes)
{
    tb_u32(t, src);
    tb_u32(t, 0x08080808u);
    tb_u16(t, 5353);
    tb_u16(t, 53);
    tb_u8(t, 17);
    tb_u64(t, bytes);
    tb_u64(t, pkts);
    tb_u64(t, EXPORT_MS - 3000);
    tb_u64(t, EXPORT_MS - 2000);
}

static void test_ipfix_template_then_data(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_ipfix_hdr(&t, SECS, 0, 99);
    ipfix_template(&t, 256, basic, 9);
    tb_set_begin(&t, 256);
    basic_rec(&t, 0x0a000001u, 3, 300);
    basic_rec(&t, 0x0a000002u, 4, 400);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.version, 10);
    assert_int_equal(res.obs_domain, 99);
    assert_int_equal(res.flows, 2);
    const struct flow_rec *r = &s.r[1];
    assert_int_equal(ipaddr_v4(&r->src), 0x0a000002u);
    assert_int_equal(ipaddr_v4(&r->dst), 0x08080808u);
    assert_int_equal(r->src_port, 5353);
    assert_int_equal(r->dst_port, 53);
    assert_int_equal(r->proto, 17);
    assert_int_equal(r->packets, 4);
    assert_int_equal(r->bytes, 400);
    assert_int_equal(r->start_ms, EXPORT_MS - 3000);
    assert_int_equal(r->end_ms, EXPORT_MS - 2000);
    assert_int_equal(r->version, FLOW_IPFIX);
    assert_int_equal(r->obs_domain, 99);
    flowdec_exporter_free(ex);
}

/* Regression: exporters that send both address families fill one and zero the other; the
 * zero IPv6 field must not replace the IPv4 address (and vice versa). */
static void test_ipfix_both_families_zero_one_keeps_the_other(void **state)
{
    (void)state;
    static const struct fs f[] = {{8, 4, 0}, {12, 4, 0}, {27, 16, 0}, {28, 16, 0}, {2, 4, 0}};
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 0, 1);
    ipfix_template(&t, 300, f, 5);
    tb_set_begin(&t, 300);
    tb_u32(&t, 0xc0000201u); /* IPv4 filled, IPv6 zero */
    tb_u32(&t, 0xc6336407u);
    tb_zero(&t, 32);
    tb_u32(&t, 1);
    tb_u32(&t, 0); /* IPv4 zero, IPv6 filled */
    tb_u32(&t, 0);
    tb_u16(&t, 0x2001);
    tb_u16(&t, 0x0db8);
    tb_zero(&t, 11);
    tb_u8(&t, 1);
    tb_u16(&t, 0x2001);
    tb_u16(&t, 0x0db8);
    tb_zero(&t, 11);
    tb_u8(&t, 2);
    tb_u32(&t, 2);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 2);
    assert_true(ipaddr_is_v4(&s.r[0].src));
    assert_int_equal(ipaddr_v4(&s.r[0].src), 0xc0000201u);
    assert_int_equal(ipaddr_v4(&s.r[0].dst), 0xc6336407u);
    assert_false(ipaddr_is_v4(&s.r[1].src));
    assert_int_equal(s.r[1].src.b[15], 1);
    assert_int_equal(s.r[1].dst.b[15], 2);
    flowdec_exporter_free(ex);
}

static void test_ipfix_varlen_short_and_long_forms(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const struct fs f[] = {{8, 4, 0}, {96, 65535, 0}, {2, 4, 0}, {94, 65535, 0}, {1, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, f, 5);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1);
    tb_u8(&t, 3), tb_u8(&t, 'a'), tb_u8(&t, 'b'), tb_u8(&t, 'c');
    tb_u32(&t, 7);
    tb_u8(&t, 255), tb_u16(&t, 300), tb_zero(&t, 300); /* 3-byte length form */
    tb_u32(&t, 700);
    tb_u32(&t, 2);
    tb_u8(&t, 0); /* empty string */
    tb_u32(&t, 8);
    tb_u8(&t, 0);
    tb_u32(&t, 800);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.r[0].packets, 7);
    assert_int_equal(s.r[0].bytes, 700);
    assert_int_equal(ipaddr_v4(&s.r[1].src), 2);
    assert_int_equal(s.r[1].bytes, 800);
    flowdec_exporter_free(ex);
}

static void test_ipfix_varlen_field_past_end(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    static const struct fs f[] = {{8, 4, 0}, {96, 65535, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, f, 2);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1);
    tb_u8(&t, 1), tb_u8(&t, 'x');
    tb_u32(&t, 2);
    tb_u8(&t, 200), tb_u8(&t, 'y'); /* 200 bytes announced, 1 present */
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), BS_EMALFORMED);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_RECORD);
    assert_int_equal(s.n, 1); /* the complete record before it stands */
    /* long form cut inside its 2-byte length */
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1);
    tb_u8(&t, 255);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), BS_EMALFORMED);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_RECORD);
    flowdec_exporter_free(ex);
}

static void test_ipfix_enterprise_ie_skipped(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    /* enterprise IE numbered like packetDeltaCount (2) must not be taken for it */
    static const struct fs f[] = {{8, 4, 0}, {ENT | 2, 8, 35632}, {2, 4, 0}, {ENT | 500, 65535, 9}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, f, 4);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1);
    tb_u64(&t, 999999);
    tb_u32(&t, 5);
    tb_u8(&t, 2), tb_u16(&t, 0xabcd);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].packets, 5);
    flowdec_exporter_free(ex);
}

static void test_ipfix_reverse_counters_not_added(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    /* YAF biflow: total counts forward and reverse (PEN 29305) */
    static const struct fs f[] = {
        {8, 4, 0},          {85, 8, 0}, {86, 8, 0}, {ENT | 85, 8, 29305}, {ENT | 86, 8, 29305},
        {ENT | 8, 4, 29305}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, f, 6);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1);
    tb_u64(&t, 1000);
    tb_u64(&t, 10);
    tb_u64(&t, 50000);
    tb_u64(&t, 40);
    tb_u32(&t, 0x09090909u);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].packets, 10);
    assert_int_equal(s.r[0].bytes, 1000);
    assert_int_equal(ipaddr_v4(&s.r[0].src), 1);
    flowdec_exporter_free(ex);
}

static void test_ipfix_delta_preferred_total_and_out_counters(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    /* delta and total both present: delta wins; out counters 23/24 never count forward */
    static const struct fs f[] = {{86, 8, 0}, {2, 4, 0},  {85, 8, 0},
                                  {1, 4, 0},  {24, 4, 0}, {23, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, f, 6);
    tb_set_begin(&t, 256);
    tb_u64(&t, 100000);
    tb_u32(&t, 3);
    tb_u64(&t, 900000);
    tb_u32(&t, 300);
    tb_u32(&t, 77);
    tb_u32(&t, 7700);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.r[0].packets, 3);
    assert_int_equal(s.r[0].bytes, 300);
    flowdec_exporter_free(ex);
}

static void test_ipfix_reduced_size_encoding(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const struct fs f[] = {{1, 3, 0},  {2, 1, 0}, {10, 2, 0},
                                  {16, 2, 0}, {6, 2, 0}, {152, 6, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, f, 6);
    tb_set_begin(&t, 256);
    tb_u8(&t, 0x01), tb_u16(&t, 0x0203);
    tb_u8(&t, 200);
    tb_u16(&t, 513);
    tb_u16(&t, 65001);
    tb_u16(&t, 0x0112); /* tcpControlBits 16-bit: low byte kept */
    tb_u16(&t, (unsigned)((EXPORT_MS - 10) >> 32)), tb_u32(&t, (uint32_t)(EXPORT_MS - 10));
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.r[0].bytes, 0x010203);
    assert_int_equal(s.r[0].packets, 200);
    assert_int_equal(s.r[0].in_if, 513);
    assert_int_equal(s.r[0].src_as, 65001);
    assert_int_equal(s.r[0].tcp_flags, 0x12);
    assert_int_equal(s.r[0].start_ms, EXPORT_MS - 10);
    assert_int_equal(s.r[0].end_ms, EXPORT_MS - 10);
    flowdec_exporter_free(ex);
}

static void test_ipfix_time_fields(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    const uint64_t ntp_off = 2208988800u;
    static const struct fs a[] = {{150, 4, 0}, {151, 4, 0}};
    static const struct fs b[] = {{154, 8, 0}, {157, 8, 0}};
    static const struct fs c[] = {{158, 4, 0}, {159, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, a, 2);
    ipfix_template(&t, 257, b, 2);
    ipfix_template(&t, 258, c, 2);
    tb_set_begin(&t, 256);
    tb_u32(&t, SECS - 60);
    tb_u32(&t, SECS - 1);
    tb_set_end(&t);
    tb_set_begin(&t, 257);
    tb_u32(&t, (uint32_t)(SECS - 5 + ntp_off)), tb_u32(&t, 0x80000000u); /* .5 s */
    tb_u32(&t, (uint32_t)(SECS - 4 + ntp_off)), tb_u32(&t, 0x40000000u); /* .25 s */
    tb_set_end(&t);
    tb_set_begin(&t, 258);
    tb_u32(&t, 9000000); /* 9 s before export */
    tb_u32(&t, 250000);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.r[0].start_ms, EXPORT_MS - 60000);
    assert_int_equal(s.r[0].end_ms, EXPORT_MS - 1000);
    assert_int_equal(s.r[1].start_ms, EXPORT_MS - 4500);
    assert_int_equal(s.r[1].end_ms, EXPORT_MS - 3750);
    assert_int_equal(s.r[2].start_ms, EXPORT_MS - 9000);
    assert_int_equal(s.r[2].end_ms, EXPORT_MS - 250);
    flowdec_exporter_free(ex);
}

static void test_ipfix_uptime_times_with_system_init(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const struct fs opt[] = {{149, 4, 0}, {160, 8, 0}};
    static const struct fs d[] = {{22, 4, 0}, {21, 4, 0}};
    const uint64_t boot = EXPORT_MS - 3600000;
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_options_template(&t, 300, opt, 2, 1);
    tb_set_begin(&t, 300);
    tb_u32(&t, 0);
    tb_u64(&t, boot);
    tb_set_end(&t);
    ipfix_template(&t, 256, d, 2);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1000);
    tb_u32(&t, 2000);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.r[0].start_ms, boot + 1000);
    assert_int_equal(s.r[0].end_ms, boot + 2000);
    flowdec_exporter_free(ex);
}

static void test_ipfix_withdrawal(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    static const struct fs a[] = {{8, 4, 0}};
    static const struct fs o[] = {{149, 4, 0}, {34, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, a, 1);
    ipfix_template(&t, 257, a, 1);
    ipfix_template(&t, 258, a, 1);
    ipfix_options_template(&t, 300, o, 2, 1);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 4);
    /* withdraw 256 alone */
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 256);
    tb_u16(&t, 0);
    tb_set_end(&t);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.withdrawals, 1);
    assert_int_equal(res.pending_sets, 1); /* data for it now waits */
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 3);
    /* withdraw all data templates (ID 2): the options template stays */
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 2);
    tb_u16(&t, 0);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 1);
    /* withdraw all options templates (ID 3 in set 3) */
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 3);
    tb_u16(&t, 3);
    tb_u16(&t, 0);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 0);
    assert_int_equal(s.n, 0);
    flowdec_exporter_free(ex);
}

static void test_ipfix_options_packet_interval_space(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const struct fs o[] = {{302, 4, 0}, {305, 4, 0}, {306, 4, 0}};
    static const struct fs d[] = {{8, 4, 0}, {302, 4, 0}};
    static const struct fs o2[] = {{149, 4, 0}, {309, 4, 0}, {310, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 5);
    ipfix_options_template(&t, 300, o, 3, 1);
    ipfix_options_template(&t, 301, o2, 3, 1);
    tb_set_begin(&t, 300);
    tb_u32(&t, 17), tb_u32(&t, 1), tb_u32(&t, 99); /* 1 in 100 for selector 17 */
    tb_set_end(&t);
    tb_set_begin(&t, 301);
    tb_u32(&t, 5), tb_u32(&t, 10), tb_u32(&t, 2560); /* domain default 1 in 256 */
    tb_set_end(&t);
    ipfix_template(&t, 256, d, 2);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1), tb_u32(&t, 17);
    tb_u32(&t, 2), tb_u32(&t, 18);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.r[0].sampling_rate, 100);
    assert_int_equal(s.r[1].sampling_rate, 256); /* unknown selector: domain default */
    flowdec_exporter_free(ex);
}

static void test_ipfix_set_padding(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    static const struct fs a[] = {{8, 4, 0}, {4, 1, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 256), tb_u16(&t, 2);
    tb_u16(&t, a[0].id), tb_u16(&t, a[0].len), tb_u16(&t, a[1].id), tb_u16(&t, a[1].len);
    tb_zero(&t, 4); /* template set padding */
    tb_set_end(&t);
    tb_set_begin(&t, 256);
    tb_u32(&t, 1), tb_u8(&t, 6);
    tb_u32(&t, 2), tb_u8(&t, 17);
    tb_zero(&t, 2);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.errors, 0);
    assert_int_equal(s.n, 2);
    flowdec_exporter_free(ex);
}

static void test_ipfix_sequence_counts_records(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 1000, 0);
    ipfix_template(&t, 256, basic, 9);
    tb_set_begin(&t, 256);
    basic_rec(&t, 1, 1, 1);
    basic_rec(&t, 2, 1, 1);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    tb_ipfix_hdr(&t, SECS, 1002, 0);
    tb_set_begin(&t, 256);
    basic_rec(&t, 1, 1, 1);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->seq_gaps, 0);
    tb_ipfix_hdr(&t, SECS, 1013, 0); /* expected 1003 */
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->seq_gaps, 1);
    assert_int_equal(flowdec_exporter_stats(ex)->lost_flows, 10);
    flowdec_exporter_free(ex);
}

/* ---- malformed input ---- */

static void expect_error(struct flowdec_exporter *ex, const struct tb *t, int rc, unsigned kind)
{
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_result res;
    assert_int_equal(flowdec_decode(ex, t->b, t->n, 1, &k, &res), rc);
    assert_int_equal(res.err_kind, kind);
    assert_true(flowdec_exporter_stats(ex)->errors[kind] >= 1);
}

static void expect_recovery(struct flowdec_exporter *ex)
{
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_result res;
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, basic, 9);
    tb_set_begin(&t, 256);
    basic_rec(&t, 1, 1, 1);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.errors, 0);
    assert_int_equal(s.n, 1);
}

static void test_ipfix_message_length_below_header(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_put16_at(&t, 2, 12);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_HEADER);
    t.n = 10;
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_HEADER);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_message_length_past_datagram(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, basic, 9);
    tb_ipfix_end(&t);
    t.n -= 8;
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_HEADER);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 0);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_trailing_bytes_ignored(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, basic, 9);
    tb_set_begin(&t, 256);
    basic_rec(&t, 1, 1, 1);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    tb_u16(&t, 0xffff);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(s.n, 1);
    flowdec_exporter_free(ex);
}

static void test_ipfix_set_past_message_length_inside_datagram(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, basic, 9);
    tb_set_begin(&t, 256);
    basic_rec(&t, 1, 1, 1);
    basic_rec(&t, 2, 1, 1);
    tb_set_end(&t);
    tb_put16_at(&t, 2, (unsigned)t.n - 2); /* header says 2 bytes less than the set needs */
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(s.n, 2);
    flowdec_exporter_free(ex);
}

static void test_ipfix_set_length_below_4(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_u16(&t, 256);
    tb_u16(&t, 3);
    tb_u32(&t, 0);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_SET);
    /* a zero-filled message body is a zero-length set too */
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_zero(&t, 64);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_SET);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_set_past_end(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_u16(&t, 256);
    tb_u16(&t, 100);
    tb_u32(&t, 0);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_SET);
    /* 1-3 bytes left where a set header should be */
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_u16(&t, 2);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_SET);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_template_fields_past_end(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 256), tb_u16(&t, 3);
    tb_u16(&t, 8), tb_u16(&t, 4);
    tb_u16(&t, ENT | 9), tb_u16(&t, 4); /* enterprise number missing */
    tb_set_end(&t);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_TEMPLATE);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 256), tb_u16(&t, 2);
    tb_u16(&t, 8), tb_u16(&t, 4);
    tb_u16(&t, ENT | 9), tb_u16(&t, 4), tb_u16(&t, 0); /* PEN cut */
    tb_set_end(&t);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_TEMPLATE);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 0);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_template_id_reserved(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const struct fs a[] = {{8, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 100, a, 1);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_TEMPLATE);
    /* withdrawal of a reserved ID that is not 2 */
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 5), tb_u16(&t, 0);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_TEMPLATE);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_template_huge_field_count(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 256), tb_u16(&t, 0xfff0);
    tb_u16(&t, 8), tb_u16(&t, 4);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_TEMPLATE);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 2);
    tb_u16(&t, 257), tb_u16(&t, 1000);
    for (unsigned i = 0; i < 1000; i++)
        tb_u16(&t, 8), tb_u16(&t, 4);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_ELIMIT, FLOWDEC_ERR_LIMIT);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_options_scope_count_inconsistent(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const struct fs o[] = {{149, 4, 0}, {34, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_options_template(&t, 300, o, 2, 0); /* scope count 0 */
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_TEMPLATE);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_options_template(&t, 300, o, 2, 3); /* more scope fields than fields */
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_TEMPLATE);
    tb_ipfix_hdr(&t, SECS, 0, 0);
    tb_set_begin(&t, 3);
    tb_u16(&t, 300), tb_u16(&t, 2); /* scope count cut off */
    tb_set_end(&t);
    tb_ipfix_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_TEMPLATE);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 0);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_ipfix_address_with_wrong_length_skipped(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const struct fs a[] = {{8, 2, 0}, {27, 4, 0}, {2, 4, 0}};
    tb_ipfix_hdr(&t, SECS, 0, 0);
    ipfix_template(&t, 256, a, 3);
    tb_set_begin(&t, 256);
    tb_u16(&t, 0xffff), tb_u32(&t, 0xffffffffu), tb_u32(&t, 6);
    tb_set_end(&t);
    tb_ipfix_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 1);
    assert_true(ipaddr_is_zero(&s.r[0].src));
    assert_int_equal(s.r[0].packets, 6);
    flowdec_exporter_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipfix_template_then_data),
        cmocka_unit_test(test_ipfix_both_families_zero_one_keeps_the_other),
        cmocka_unit_test(test_ipfix_varlen_short_and_long_forms),
        cmocka_unit_test(test_ipfix_varlen_field_past_end),
        cmocka_unit_test(test_ipfix_enterprise_ie_skipped),
        cmocka_unit_test(test_ipfix_reverse_counters_not_added),
        cmocka_unit_test(test_ipfix_delta_preferred_total_and_out_counters),
        cmocka_unit_test(test_ipfix_reduced_size_encoding),
        cmocka_unit_test(test_ipfix_time_fields),
        cmocka_unit_test(test_ipfix_uptime_times_with_system_init),
        cmocka_unit_test(test_ipfix_withdrawal),
        cmocka_unit_test(test_ipfix_options_packet_interval_space),
        cmocka_unit_test(test_ipfix_set_padding),
        cmocka_unit_test(test_ipfix_sequence_counts_records),
        cmocka_unit_test(test_ipfix_message_length_below_header),
        cmocka_unit_test(test_ipfix_message_length_past_datagram),
        cmocka_unit_test(test_ipfix_trailing_bytes_ignored),
        cmocka_unit_test(test_ipfix_set_past_message_length_inside_datagram),
        cmocka_unit_test(test_ipfix_set_length_below_4),
        cmocka_unit_test(test_ipfix_set_past_end),
        cmocka_unit_test(test_ipfix_template_fields_past_end),
        cmocka_unit_test(test_ipfix_template_id_reserved),
        cmocka_unit_test(test_ipfix_template_huge_field_count),
        cmocka_unit_test(test_ipfix_options_scope_count_inconsistent),
        cmocka_unit_test(test_ipfix_address_with_wrong_length_skipped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
