/* Unit tests for the NetFlow v9 decoder (src/proto/nf9.c, tmpl.c) through flowdec_decode(). */
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
#define UP        500000u
#define EXPORT_MS ((uint64_t)SECS * 1000u)

/* A template flowset holding one template of n (type, length) pairs. */
static void v9_template(struct tb *t, unsigned tid, const uint16_t *tl, unsigned n)
{
    tb_set_begin(t, 0);
    tb_u16(t, tid);
    tb_u16(t, n);
    for (unsigned i = 0; i < 2 * n; i++)
        tb_u16(t, tl[i]);
    tb_set_end(t);
}

/* src addr, dst addr, src port, dst port, proto, in bytes, in pkts, first, last, tcp flags */
static const uint16_t basic_tl[] = {8, 4, 12, 4, 7, 2, 11, 2, 4, 1, 1, 4, 2, 4, 22, 4, 21, 4, 6, 1};
#define BASIC_N   10
#define BASIC_LEN 30

static void basic_rec(struct tb *t, uint32_t src, uint32_t pkts, uint32_t bytes)
{
    tb_u32(t, src);
    tb_u32(t, 0xc6336401u);
    tb_u16(t, 40000);
    tb_u16(t, 443);
    tb_u8(t, 6);
    tb_u32(t, bytes);
    tb_u32(t, pkts);
    tb_u32(t, UP - 5000); /* first: 5 s before export */
    tb_u32(t, UP - 1000);
    tb_u8(t, 0x1b);
}

static void basic_data(struct tb *t, unsigned tid, unsigned nrec, uint32_t first_src)
{
    tb_set_begin(t, tid);
    for (unsigned i = 0; i < nrec; i++)
        basic_rec(t, first_src + i, 2 + i, 100 + i);
    tb_set_end(t);
}

static void test_nf9_template_then_data(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_v9_hdr(&t, 3, UP, SECS, 1, 42);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 2, 0x0a000001u);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.version, 9);
    assert_int_equal(res.obs_domain, 42);
    assert_int_equal(res.templates, 1);
    assert_int_equal(res.flows, 2);
    assert_int_equal(s.n, 2);
    const struct flow_rec *r = &s.r[1];
    assert_int_equal(ipaddr_v4(&r->src), 0x0a000002u);
    assert_int_equal(ipaddr_v4(&r->dst), 0xc6336401u);
    assert_int_equal(r->src_port, 40000);
    assert_int_equal(r->dst_port, 443);
    assert_int_equal(r->proto, 6);
    assert_int_equal(r->packets, 3);
    assert_int_equal(r->bytes, 101);
    assert_int_equal(r->tcp_flags, 0x1b);
    assert_int_equal(r->obs_domain, 42);
    assert_int_equal(r->version, FLOW_V9);
    assert_int_equal(r->sampling_rate, 1);
    assert_int_equal(r->start_ms, EXPORT_MS - 5000);
    assert_int_equal(r->end_ms, EXPORT_MS - 1000);
    assert_true(r->has & FLOW_HAS_TIMES);
    flowdec_exporter_free(ex);
}

static void test_nf9_several_flowsets_and_padding(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_v9_hdr(&t, 4, UP, SECS, 1, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    tb_set_begin(&t, 300);
    basic_rec(&t, 1, 1, 1);
    tb_zero(&t, 2); /* padding to a 4-byte boundary */
    tb_set_end(&t);
    tb_set_begin(&t, 77); /* reserved flowset ID: skipped */
    tb_u32(&t, 0xdeadbeef);
    tb_set_end(&t);
    basic_data(&t, 300, 1, 5);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.flows, 2);
    assert_int_equal(res.errors, 0);
    flowdec_exporter_free(ex);
}

/* Options template: scope (system, 4 bytes), fields given as (type, len) pairs. */
static void v9_options_template(struct tb *t, unsigned tid, const uint16_t *tl, unsigned n)
{
    tb_set_begin(t, 1);
    tb_u16(t, tid);
    tb_u16(t, 4);
    tb_u16(t, 4 * n);
    tb_u16(t, 1);
    tb_u16(t, 4);
    for (unsigned i = 0; i < 2 * n; i++)
        tb_u16(t, tl[i]);
    tb_set_end(t);
}

static void test_nf9_options_sampling_rate_applied(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    static const uint16_t opt[] = {34, 4, 35, 1};
    tb_v9_hdr(&t, 4, UP, SECS, 1, 7);
    v9_options_template(&t, 400, opt, 2);
    tb_set_begin(&t, 400);
    tb_u32(&t, 0);    /* scope: system */
    tb_u32(&t, 1000); /* sampling interval */
    tb_u8(&t, 2);     /* random */
    tb_zero(&t, 3);
    tb_set_end(&t);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.options_records, 1);
    assert_int_equal(res.flows, 1);
    assert_int_equal(s.r[0].sampling_rate, 1000);
    assert_int_equal(s.r[0].packets, 2); /* raw */
    /* another source ID is another domain: not sampled */
    tb_v9_hdr(&t, 2, UP, SECS, 1, 8);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(s.r[1].sampling_rate, 1);
    flowdec_exporter_free(ex);
}

static void test_nf9_sampler_id_table(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    /* Cisco style: sampler ID (48), mode (49), random interval (50) */
    static const uint16_t opt[] = {48, 1, 49, 1, 50, 4};
    static const uint16_t dtl[] = {8, 4, 2, 4, 1, 4, 48, 1};
    tb_v9_hdr(&t, 6, UP, SECS, 1, 0);
    v9_options_template(&t, 400, opt, 3);
    tb_set_begin(&t, 400);
    tb_u32(&t, 0);
    tb_u8(&t, 1);
    tb_u8(&t, 2);
    tb_u32(&t, 100);
    tb_u32(&t, 0);
    tb_u8(&t, 2);
    tb_u8(&t, 2);
    tb_u32(&t, 4000);
    tb_zero(&t, 2);
    tb_set_end(&t);
    v9_template(&t, 301, dtl, 4);
    tb_set_begin(&t, 301);
    for (unsigned sid = 1; sid <= 3; sid++) {
        tb_u32(&t, sid);
        tb_u32(&t, 1);
        tb_u32(&t, 64);
        tb_u8(&t, sid);
    }
    tb_set_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.options_records, 2);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.r[0].sampling_rate, 100);
    assert_int_equal(s.r[1].sampling_rate, 4000);
    assert_int_equal(s.r[2].sampling_rate, 1); /* unknown sampler, no domain default */
    assert_int_equal(flowdec_exporter_stats(ex)->samplers_now, 2);
    flowdec_exporter_free(ex);
}

static void test_nf9_data_record_own_interval(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const uint16_t dtl[] = {8, 4, 2, 4, 34, 4};
    tb_v9_hdr(&t, 2, UP, SECS, 1, 0);
    v9_template(&t, 302, dtl, 3);
    tb_set_begin(&t, 302);
    tb_u32(&t, 1);
    tb_u32(&t, 1);
    tb_u32(&t, 64);
    tb_set_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.r[0].sampling_rate, 64);
    flowdec_exporter_free(ex);
}

static void test_nf9_icmp_vlan_direction_ifaces_as(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const uint16_t dtl[] = {27, 16, 28, 16, 4, 1,  139, 2,  58, 2,  61, 1,   10, 4, 14,
                                   4,  16, 4,  17, 4, 29, 1,   30, 1,  62, 16, 225, 4,  5, 1};
    tb_v9_hdr(&t, 2, UP, SECS, 1, 0);
    v9_template(&t, 303, dtl, 15);
    tb_set_begin(&t, 303);
    tb_u32(&t, 0x20010db8u), tb_zero(&t, 11), tb_u8(&t, 1);
    tb_u32(&t, 0x20010db8u), tb_zero(&t, 11), tb_u8(&t, 2);
    tb_u8(&t, 58);
    tb_u16(&t, 0x8000); /* echo request */
    tb_u16(&t, 42);
    tb_u8(&t, 1);
    tb_u32(&t, 7);
    tb_u32(&t, 9);
    tb_u32(&t, 65000);
    tb_u32(&t, 4200000000u);
    tb_u8(&t, 48);
    tb_u8(&t, 64);
    tb_u32(&t, 0x20010db8u), tb_zero(&t, 11), tb_u8(&t, 3);
    tb_u32(&t, 0xc0000201u); /* post-NAT source: ignored */
    tb_u8(&t, 0xb8);
    tb_set_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 1);
    const struct flow_rec *r = &s.r[0];
    assert_false(ipaddr_is_v4(&r->src));
    assert_int_equal(r->src.b[15], 1);
    assert_int_equal(r->dst.b[15], 2);
    assert_int_equal(r->nexthop.b[15], 3);
    assert_int_equal(r->proto, 58);
    assert_int_equal(r->dst_port, 0x8000);
    assert_int_equal(r->src_port, 0);
    assert_int_equal(r->vlan, 42);
    assert_int_equal(r->direction, FLOW_DIR_EGRESS);
    assert_int_equal(r->in_if, 7);
    assert_int_equal(r->out_if, 9);
    assert_int_equal(r->src_as, 65000);
    assert_int_equal(r->dst_as, 4200000000u);
    assert_int_equal(r->src_mask, 48);
    assert_int_equal(r->dst_mask, 64);
    assert_int_equal(r->tos, 0xb8);
    uint16_t want = FLOW_HAS_VLAN | FLOW_HAS_IFACES | FLOW_HAS_SRC_AS | FLOW_HAS_DST_AS |
                    FLOW_HAS_MASKS | FLOW_HAS_NEXTHOP | FLOW_HAS_TOS;
    assert_int_equal(r->has & want, want);
    /* no time fields: export time */
    assert_int_equal(r->start_ms, EXPORT_MS);
    assert_int_equal(r->end_ms, EXPORT_MS);
    flowdec_exporter_free(ex);
}

static void test_nf9_data_before_template_parked_then_decoded(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_v9_hdr(&t, 2, UP, SECS, 1, 0);
    basic_data(&t, 300, 2, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1000, &k, &res), 0);
    assert_int_equal(res.pending_sets, 1);
    assert_int_equal(s.n, 0);
    assert_true(flowdec_exporter_stats(ex)->pending_now > 0);
    tb_v9_hdr(&t, 1, UP + 1000, SECS + 1, 2, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 2000, &k, &res), 0);
    assert_int_equal(res.pending_decoded, 1);
    assert_int_equal(res.flows, 2);
    assert_int_equal(s.n, 2);
    /* the parked set keeps its own datagram's time base */
    assert_int_equal(s.r[0].start_ms, EXPORT_MS - 5000);
    assert_int_equal(flowdec_exporter_stats(ex)->pending_now, 0);
    assert_int_equal(flowdec_exporter_stats(ex)->no_template_sets, 0);
    flowdec_exporter_free(ex);
}

static void test_nf9_pending_overflow_counted_as_no_template(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_config cfg;
    flowdec_config_default(&cfg);
    cfg.pending_bytes = 2 * (BASIC_LEN + FLOWDEC_PENDING_OVERHEAD);
    struct flowdec_exporter *ex = test_exporter(&cfg);
    struct flowdec_result res;
    for (unsigned i = 0; i < 5; i++) {
        tb_v9_hdr(&t, 1, UP, SECS, i, 0);
        basic_data(&t, 300, 1, i);
        assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    }
    const struct flowdec_stats *st = flowdec_exporter_stats(ex);
    assert_int_equal(st->pending_sets, 5);
    assert_int_equal(st->no_template_sets, 3);
    assert_true(st->pending_now <= cfg.pending_bytes);
    /* a set larger than the whole area is dropped at once */
    tb_v9_hdr(&t, 1, UP, SECS, 9, 0);
    basic_data(&t, 300, 10, 0);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.dropped_sets, 1);
    assert_int_equal(st->no_template_sets, 4);
    /* the two newest survive and decode when the template comes */
    tb_v9_hdr(&t, 1, UP, SECS, 10, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(ipaddr_v4(&s.r[0].src), 3);
    assert_int_equal(ipaddr_v4(&s.r[1].src), 4);
    flowdec_exporter_free(ex);
}

static void test_nf9_pending_interleaved_templates(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_config cfg;
    flowdec_config_default(&cfg);
    cfg.pending_bytes = 3 * (BASIC_LEN + FLOWDEC_PENDING_OVERHEAD);
    struct flowdec_exporter *ex = test_exporter(&cfg);
    struct flowdec_result res;
    /* sets for 300, 301, 300, 301 (sources 1..4); room for three: the first is evicted */
    for (unsigned i = 0; i < 4; i++) {
        tb_v9_hdr(&t, 1, UP, SECS, i, 0);
        basic_data(&t, i % 2 ? 301 : 300, 1, i + 1);
        assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    }
    assert_int_equal(flowdec_exporter_stats(ex)->no_template_sets, 1);
    tb_v9_hdr(&t, 1, UP, SECS, 5, 0);
    v9_template(&t, 301, basic_tl, BASIC_N);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.pending_decoded, 2);
    assert_int_equal(s.n, 2);
    assert_int_equal(ipaddr_v4(&s.r[0].src), 2);
    assert_int_equal(ipaddr_v4(&s.r[1].src), 4);
    /* a set of another source ID with the same template ID is not this template's */
    tb_v9_hdr(&t, 1, UP, SECS, 6, 9);
    basic_data(&t, 300, 1, 9);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    tb_v9_hdr(&t, 1, UP, SECS, 7, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.pending_decoded, 1);
    assert_int_equal(s.n, 3);
    assert_int_equal(ipaddr_v4(&s.r[2].src), 3);
    assert_int_equal(flowdec_exporter_stats(ex)->pending_now, BASIC_LEN + FLOWDEC_PENDING_OVERHEAD);
    flowdec_exporter_free(ex);
}

static void test_nf9_pending_ages_out(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL); /* 60 s */
    struct flowdec_result res;
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    basic_data(&t, 300, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1000, &k, &res), 0);
    flowdec_exporter_expire(ex, 30000);
    assert_int_equal(flowdec_exporter_stats(ex)->no_template_sets, 0);
    tb_v9_hdr(&t, 1, UP, SECS, 2, 0);
    v9_template(&t, 999, basic_tl, BASIC_N); /* another template: no effect */
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 62000, &k, &res), 0);
    assert_int_equal(res.dropped_sets, 1);
    assert_int_equal(flowdec_exporter_stats(ex)->no_template_sets, 1);
    assert_int_equal(flowdec_exporter_stats(ex)->pending_now, 0);
    flowdec_exporter_free(ex);
}

static void test_nf9_template_redefinition_replaces(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const uint16_t a[] = {8, 4};
    static const uint16_t b[] = {8, 4, 2, 4};
    tb_v9_hdr(&t, 2, UP, SECS, 1, 0);
    v9_template(&t, 300, a, 1);
    v9_template(&t, 300, b, 2);
    tb_set_begin(&t, 300);
    tb_u32(&t, 0x01020304u);
    tb_u32(&t, 55);
    tb_set_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 1); /* 8-byte records: one, not two */
    assert_int_equal(s.r[0].packets, 55);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 1);
    flowdec_exporter_free(ex);
}

static void test_nf9_template_cap_evicts_least_recently_used(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_config cfg;
    flowdec_config_default(&cfg);
    cfg.max_templates = 8;
    struct flowdec_exporter *ex = test_exporter(&cfg);
    struct flowdec_result res;
    static const uint16_t a[] = {8, 4};
    const struct flowdec_stats *st = flowdec_exporter_stats(ex);
    /* the exporter's real template, used by data */
    tb_v9_hdr(&t, 2, UP, SECS, 1, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    /* a flood of 1000 template IDs: the cap holds, the oldest go, nothing is refused */
    tb_v9_hdr(&t, 1000, UP, SECS, 2, 0);
    for (unsigned i = 0; i < 1000; i++)
        v9_template(&t, 1000 + i, a, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.templates, 1000);
    assert_int_equal(st->templates_now, 8);
    assert_int_equal(st->templates_evicted, 1000 + 1 - 8);
    assert_int_equal(st->errors[FLOWDEC_ERR_LIMIT], 0);
    /* the real template was evicted with the oldest: its data is parked, not decoded */
    tb_v9_hdr(&t, 1, UP, SECS, 3, 0);
    basic_data(&t, 300, 1, 2);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.pending_sets, 1);
    /* its periodic refresh comes back and takes the place of the oldest flood template,
     * decoding the parked set at once */
    tb_v9_hdr(&t, 1, UP, SECS, 4, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.pending_decoded, 1);
    assert_int_equal(st->templates_evicted, 1000 + 2 - 8);
    /* recently used survives: 7 more flood templates evict the 7 other flood ones, not 300 */
    tb_v9_hdr(&t, 1, UP, SECS, 5, 0);
    basic_data(&t, 300, 1, 3);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.flows, 1);
    tb_v9_hdr(&t, 7, UP, SECS, 6, 0);
    for (unsigned i = 0; i < 7; i++)
        v9_template(&t, 5000 + i, a, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    tb_v9_hdr(&t, 1, UP, SECS, 7, 0);
    basic_data(&t, 300, 1, 4);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.flows, 1);
    assert_int_equal(res.pending_sets, 0);
    /* refreshing a known template at the cap evicts nothing */
    uint64_t ev = st->templates_evicted;
    tb_v9_hdr(&t, 1, UP, SECS, 8, 0);
    v9_template(&t, 5000, a, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(st->templates_evicted, ev);
    assert_int_equal(st->templates_now, 8);
    flowdec_exporter_free(ex);
}

static void test_nf9_sequence_counts_packets(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 2, UP, SECS, 10, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 4, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    tb_v9_hdr(&t, 1, UP, SECS, 11, 0);
    basic_data(&t, 300, 4, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->seq_gaps, 0);
    tb_v9_hdr(&t, 1, UP, SECS, 14, 0); /* 12 and 13 lost */
    basic_data(&t, 300, 4, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    const struct flowdec_stats *st = flowdec_exporter_stats(ex);
    assert_int_equal(st->seq_gaps, 1);
    assert_int_equal(st->lost_packets, 2);
    assert_int_equal(st->lost_flows, 8); /* 2 x 4 records per datagram on average */
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

/* After a malformed datagram, a good one decodes normally. */
static void expect_recovery(struct flowdec_exporter *ex)
{
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_result res;
    tb_v9_hdr(&t, 2, UP, SECS, 100, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.errors, 0);
    assert_int_equal(s.n, 1);
}

static void test_nf9_truncated_header(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    t.n = 19;
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_HEADER);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_flowset_length_below_4(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    tb_u16(&t, 300);
    tb_u16(&t, 2);
    tb_u32(&t, 0x11111111);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_SET);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_flowset_past_end(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    tb_u16(&t, 300);
    tb_u16(&t, 400);
    tb_u32(&t, 0x11111111);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_SET);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 1); /* earlier flowset stood */
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_template_zero_fields(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    tb_set_begin(&t, 0);
    tb_u16(&t, 300);
    tb_u16(&t, 0);
    tb_u32(&t, 0x00080004);
    tb_set_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_TEMPLATE);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 0);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_template_fields_past_end(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    tb_set_begin(&t, 0);
    tb_u16(&t, 300);
    tb_u16(&t, 5); /* 5 fields announced, 2 present */
    tb_u32(&t, 0x00080004);
    tb_u32(&t, 0x000c0004);
    tb_set_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_TEMPLATE);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_template_huge_field_count(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    tb_set_begin(&t, 0);
    tb_u16(&t, 300);
    tb_u16(&t, 0xffff);
    tb_u32(&t, 0x00080004);
    tb_set_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_TEMPLATE);
    /* present in full but over FLOWDEC_MAX_FIELDS: refused as a limit */
    tb_v9_hdr(&t, 1, UP, SECS, 2, 0);
    tb_set_begin(&t, 0);
    tb_u16(&t, 301);
    tb_u16(&t, FLOWDEC_MAX_FIELDS + 1);
    for (unsigned i = 0; i <= FLOWDEC_MAX_FIELDS; i++)
        tb_u32(&t, 0x00080004);
    tb_set_end(&t);
    expect_error(ex, &t, BS_ELIMIT, FLOWDEC_ERR_LIMIT);
    assert_int_equal(flowdec_exporter_stats(ex)->templates_now, 0);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_template_id_below_256(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    static const uint16_t a[] = {8, 4};
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    v9_template(&t, 255, a, 1);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_TEMPLATE);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_zero_length_fields(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    /* zero-length fields among real ones are accepted and take no bytes */
    static const uint16_t a[] = {8, 4, 1, 0, 2, 4, 12, 0};
    tb_v9_hdr(&t, 2, UP, SECS, 1, 0);
    v9_template(&t, 300, a, 4);
    tb_set_begin(&t, 300);
    tb_u32(&t, 1);
    tb_u32(&t, 9);
    tb_set_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.r[0].packets, 9);
    /* a template of zero-length fields only has no record: refused */
    static const uint16_t z[] = {8, 0, 1, 0};
    tb_v9_hdr(&t, 2, UP, SECS, 2, 0);
    v9_template(&t, 301, z, 2);
    tb_set_begin(&t, 301);
    tb_u32(&t, 1);
    tb_set_end(&t);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), BS_EMALFORMED);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_TEMPLATE);
    assert_int_equal(res.pending_sets, 1); /* its data waits, bounded, never loops */
    flowdec_exporter_free(ex);
}

static void test_nf9_zero_filled_tail_accepted(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_v9_hdr(&t, 2, UP, SECS, 1, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 1, 1);
    tb_zero(&t, 1000);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.errors, 0);
    assert_int_equal(s.n, 1);
    flowdec_exporter_free(ex);
}

static void test_nf9_absurd_count(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    tb_v9_hdr(&t, 1000, UP, SECS, 1, 0);
    v9_template(&t, 300, basic_tl, BASIC_N);
    basic_data(&t, 300, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), BS_EMALFORMED);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_HEADER);
    assert_int_equal(s.n, 1); /* the flowsets present are still decoded */
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

static void test_nf9_options_scope_length_inconsistent(void **state)
{
    (void)state;
    struct tb t;
    struct flowdec_exporter *ex = test_exporter(NULL);
    tb_v9_hdr(&t, 1, UP, SECS, 1, 0);
    tb_set_begin(&t, 1);
    tb_u16(&t, 400);
    tb_u16(&t, 6); /* not a multiple of 4 */
    tb_u16(&t, 4);
    tb_u32(&t, 0x00010004);
    tb_u32(&t, 0x00220004);
    tb_u16(&t, 0);
    tb_set_end(&t);
    expect_error(ex, &t, BS_EMALFORMED, FLOWDEC_ERR_TEMPLATE);
    tb_v9_hdr(&t, 1, UP, SECS, 2, 0);
    tb_set_begin(&t, 1);
    tb_u16(&t, 400);
    tb_u16(&t, 4);
    tb_u16(&t, 400); /* option fields past the flowset */
    tb_u32(&t, 0x00010004);
    tb_u32(&t, 0x00220004);
    tb_set_end(&t);
    expect_error(ex, &t, BS_ETRUNC, FLOWDEC_ERR_TEMPLATE);
    expect_recovery(ex);
    flowdec_exporter_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nf9_template_then_data),
        cmocka_unit_test(test_nf9_several_flowsets_and_padding),
        cmocka_unit_test(test_nf9_options_sampling_rate_applied),
        cmocka_unit_test(test_nf9_sampler_id_table),
        cmocka_unit_test(test_nf9_data_record_own_interval),
        cmocka_unit_test(test_nf9_icmp_vlan_direction_ifaces_as),
        cmocka_unit_test(test_nf9_data_before_template_parked_then_decoded),
        cmocka_unit_test(test_nf9_pending_overflow_counted_as_no_template),
        cmocka_unit_test(test_nf9_pending_interleaved_templates),
        cmocka_unit_test(test_nf9_pending_ages_out),
        cmocka_unit_test(test_nf9_template_redefinition_replaces),
        cmocka_unit_test(test_nf9_template_cap_evicts_least_recently_used),
        cmocka_unit_test(test_nf9_sequence_counts_packets),
        cmocka_unit_test(test_nf9_truncated_header),
        cmocka_unit_test(test_nf9_flowset_length_below_4),
        cmocka_unit_test(test_nf9_flowset_past_end),
        cmocka_unit_test(test_nf9_template_zero_fields),
        cmocka_unit_test(test_nf9_template_fields_past_end),
        cmocka_unit_test(test_nf9_template_huge_field_count),
        cmocka_unit_test(test_nf9_template_id_below_256),
        cmocka_unit_test(test_nf9_zero_length_fields),
        cmocka_unit_test(test_nf9_zero_filled_tail_accepted),
        cmocka_unit_test(test_nf9_absurd_count),
        cmocka_unit_test(test_nf9_options_scope_length_inconsistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
