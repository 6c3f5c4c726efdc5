/* Unit tests for src/sim: the PRNG and the v9/IPFIX/sFlow encoders
 * round-tripped through the real decoders in src/proto (flowdec.h). The frame builder and the
 * pcap writer are core primitives now (tests/unit/core/test_pktbuild.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/flow.h"
#include "core/pktbuild.h"
#include "proto/flowdec.h"
#include "proto/pkt.h"
#include "sim/sim.h"
#include "sim/sim_export.h"
#include "sim/sim_rng.h"

/* ---- PRNG ---------------------------------------------------------------------------- */

static void test_rng_same_seed_same_sequence(void **state)
{
    struct sim_rng a, b;
    sim_rng_init(&a, 42, 1);
    sim_rng_init(&b, 42, 1);
    for (int i = 0; i < 1000; i++)
        assert_true(sim_rng_next(&a) == sim_rng_next(&b));
}

static void test_rng_seeds_and_streams_differ(void **state)
{
    struct sim_rng a, b, c;
    sim_rng_init(&a, 42, 1);
    sim_rng_init(&b, 43, 1);
    sim_rng_init(&c, 42, 2);
    int same_ab = 0, same_ac = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t x = sim_rng_next(&a);
        same_ab += x == sim_rng_next(&b);
        same_ac += x == sim_rng_next(&c);
    }
    assert_int_equal(same_ab, 0);
    assert_int_equal(same_ac, 0);
}

static void test_rng_known_first_output(void **state)
{
    /* splitmix64 from 0: the published first output of the reference implementation */
    uint64_t st = 0;
    assert_true(sim_rng_splitmix64(&st) == 0xe220a8397b1dcdafull);
}

static void test_rng_below_stays_in_range_and_covers_it(void **state)
{
    struct sim_rng r;
    sim_rng_init(&r, 7, 0);
    unsigned hist[10] = {0};
    for (int i = 0; i < 100000; i++) {
        uint64_t v = sim_rng_below(&r, 10);
        assert_true(v < 10);
        hist[v]++;
    }
    for (int i = 0; i < 10; i++)
        assert_true(hist[i] > 9500 && hist[i] < 10500);
    assert_true(sim_rng_below(&r, 0) == 0);
    assert_true(sim_rng_range(&r, 5, 5) == 5);
    assert_true(sim_rng_range(&r, 9, 3) == 9);
}

static void test_rng_distribution_means(void **state)
{
    struct sim_rng r;
    sim_rng_init(&r, 11, 0);
    double se = 0, sp = 0, sg = 0, sb = 0, sbl = 0;
    const int n = 20000;
    for (int i = 0; i < n; i++) {
        se += sim_rng_exp(&r, 5.0);
        sp += (double)sim_rng_poisson(&r, 3.0);
        sg += (double)sim_rng_geometric(&r, 0.01);
        sb += (double)sim_rng_binomial(&r, 40, 0.25);
        sbl += (double)sim_rng_binomial(&r, 100000, 0.001);
    }
    assert_true(fabs(se / n - 5.0) < 0.2);
    assert_true(fabs(sp / n - 3.0) < 0.1);
    assert_true(fabs(sg / n - 100.0) < 4.0);
    assert_true(fabs(sb / n - 10.0) < 0.2);
    assert_true(fabs(sbl / n - 100.0) < 1.0);
    assert_true(sim_rng_geometric(&r, 1.0) == 1);
    assert_true(sim_rng_binomial(&r, 17, 1.0) == 17);
    assert_true(sim_rng_binomial(&r, 17, 0.0) == 0);
    assert_true(sim_rng_poisson(&r, 0.0) == 0);
}

/* ---- encoders through the real decoders -------------------------------------------------- */

struct capture {
    uint8_t dg[64][SIM_EXPORT_MTU + 64];
    size_t len[64];
    uint64_t t[64];
    unsigned n;
};

static void cap_emit(void *arg, const struct sim_exporter *ex, uint64_t t_ms, const uint8_t *d,
                     size_t len)
{
    struct capture *c = arg;
    (void)ex;
    assert_true(len <= SIM_EXPORT_MTU);
    assert_true(c->n < 64);
    memcpy(c->dg[c->n], d, len);
    c->len[c->n] = len;
    c->t[c->n] = t_ms;
    c->n++;
}

struct got {
    struct flow_rec r[512];
    unsigned n;
};

static void got_emit(void *arg, const struct flow_rec *rec)
{
    struct got *g = arg;
    if (g->n < 512)
        g->r[g->n++] = *rec;
}

static const uint64_t T0 = 1767225600000ull;

static void make_exporter(struct sim_exporter *ex, enum sim_fmt fmt, uint32_t sampling,
                          struct capture *cap)
{
    memset(ex, 0, sizeof *ex);
    ex->fmt = fmt;
    ipaddr_parse("25.16.0.1", &ex->addr);
    ex->source_id = 257;
    ex->sampling = sampling;
    ex->boot_ms = T0 - 5 * 86400000ull;
    ex->template_every = 3;
    ex->uplink_if = 1000;
    ex->emit = cap_emit;
    ex->emit_arg = cap;
    sim_export_start(ex, T0);
}

static void make_rec(struct sim_export_rec *r, int v6, unsigned i)
{
    memset(r, 0, sizeof *r);
    r->start_ms = T0 + 1000 * i;
    r->end_ms = r->start_ms + 4321;
    r->packets = 10 + i;
    r->bytes = 1000 + 7 * i;
    ipaddr_parse(v6 ? "2001:db8:100:1::5" : "25.16.1.2", &r->src);
    ipaddr_parse(v6 ? "2001:db8:f001::9" : "25.2.3.4", &r->dst);
    ipaddr_parse("25.16.0.254", &r->nexthop);
    if (v6)
        memset(&r->nexthop, 0, sizeof r->nexthop);
    r->in_if = 7;
    r->out_if = 1000;
    r->src_as = 64500;
    r->dst_as = 64511;
    r->sport = (uint16_t)(40000 + i);
    r->dport = 23;
    r->proto = 6;
    r->tcp_flags = 0x1b;
    r->src_mask = v6 ? 40 : 12;
    r->dst_mask = 16;
}

static unsigned decode_all(struct capture *cap, struct got *g, const struct sim_exporter *ex,
                           uint64_t *templates)
{
    struct flowdec_exporter *fe;
    assert_int_equal(flowdec_exporter_new(&ex->addr, NULL, &fe), 0);
    struct flow_sink sink = {got_emit, g};
    unsigned errors = 0;
    for (unsigned i = 0; i < cap->n; i++) {
        struct flowdec_result res;
        int rc = flowdec_decode(fe, cap->dg[i], cap->len[i], cap->t[i], &sink, &res);
        errors += rc != 0 || res.errors;
    }
    const struct flowdec_stats *st = flowdec_exporter_stats(fe);
    if (templates)
        *templates = st->templates_learnt;
    errors += (unsigned)(st->seq_gaps + st->bad_datagrams + st->no_template_sets);
    flowdec_exporter_free(fe);
    return errors;
}

static void check_rec(const struct flow_rec *got, const struct sim_export_rec *want,
                      unsigned version, uint64_t time_tolerance)
{
    assert_int_equal(got->version, version);
    assert_int_equal(ipaddr_cmp(&got->src, &want->src), 0);
    assert_int_equal(ipaddr_cmp(&got->dst, &want->dst), 0);
    assert_int_equal(got->src_port, want->sport);
    assert_int_equal(got->dst_port, want->dport);
    assert_int_equal(got->proto, want->proto);
    assert_int_equal(got->tcp_flags, want->tcp_flags);
    assert_true(got->packets == want->packets);
    assert_true(got->bytes == want->bytes);
    assert_int_equal(got->in_if, want->in_if);
    assert_int_equal(got->out_if, want->out_if);
    assert_int_equal(got->src_as, want->src_as);
    assert_int_equal(got->dst_as, want->dst_as);
    assert_true(got->end_ms - got->start_ms == want->end_ms - want->start_ms);
    uint64_t d = got->start_ms > want->start_ms ? got->start_ms - want->start_ms
                                                : want->start_ms - got->start_ms;
    assert_true(d <= time_tolerance);
}

static void roundtrip_flows(enum sim_fmt fmt, uint32_t sampling)
{
    struct capture *cap = calloc(1, sizeof *cap);
    struct got *g = calloc(1, sizeof *g);
    struct sim_exporter *ex = calloc(1, sizeof *ex);
    make_exporter(ex, fmt, sampling, cap);
    struct sim_export_rec recs[100];
    for (unsigned i = 0; i < 100; i++) {
        make_rec(&recs[i], i % 3 == 0, i);
        sim_export_add_flow(ex, T0 + 10 * i, &recs[i]);
    }
    sim_export_flush(ex, T0 + 2000);
    assert_true(cap->n >= 6); /* 100 records do not fit in a few datagrams */
    assert_int_equal(ex->data_records, 100);
    uint64_t templates = 0;
    assert_int_equal(decode_all(cap, g, ex, &templates), 0);
    assert_int_equal(g->n, 100);
    /* templates (2 data + 1 options when sampled) in every 3rd datagram */
    uint64_t per = sampling > 1 ? 3 : 2;
    assert_true(templates == per * ((cap->n + 2) / 3));
    for (unsigned i = 0; i < 100; i++) {
        /* each datagram carries its IPv4 set before its IPv6 set: match by source port */
        unsigned k = (unsigned)(g->r[i].src_port - 40000u);
        assert_true(k < 100);
        /* v9 carries whole seconds of wall time: up to 1 s of skew, as with real exporters */
        check_rec(&g->r[i], &recs[k], fmt, fmt == SIM_FMT_V9 ? 1000 : 0);
        assert_int_equal(g->r[i].sampling_rate, sampling);
        assert_int_equal(g->r[i].obs_domain, 257);
    }
    free(cap);
    free(g);
    free(ex);
}

static void test_v9_roundtrip_through_flowdec(void **state)
{
    roundtrip_flows(SIM_FMT_V9, 1);
}

static void test_v9_sampled_options_announce_interval(void **state)
{
    roundtrip_flows(SIM_FMT_V9, 1000);
}

static void test_ipfix_roundtrip_through_flowdec(void **state)
{
    roundtrip_flows(SIM_FMT_IPFIX, 1);
}

static void test_ipfix_sampled_options_announce_interval(void **state)
{
    roundtrip_flows(SIM_FMT_IPFIX, 4096);
}

static void test_ipfix_sequence_counts_data_records(void **state)
{
    struct capture *cap = calloc(1, sizeof *cap);
    struct sim_exporter *ex = calloc(1, sizeof *ex);
    make_exporter(ex, SIM_FMT_IPFIX, 1, cap);
    struct sim_export_rec r;
    uint32_t expect = 0;
    for (unsigned i = 0; i < 60; i++) {
        make_rec(&r, 0, i);
        sim_export_add_flow(ex, T0, &r);
    }
    sim_export_flush(ex, T0);
    for (unsigned i = 0; i < cap->n; i++) {
        const uint8_t *d = cap->dg[i];
        uint32_t seq = (uint32_t)d[8] << 24 | (uint32_t)d[9] << 16 | (uint32_t)d[10] << 8 | d[11];
        assert_int_equal(seq, expect);
        /* IPFIX header length equals the datagram length */
        assert_int_equal((size_t)(d[2] << 8 | d[3]), cap->len[i]);
        /* count data records of template 256 in this message */
        size_t off = 16;
        while (off + 4 <= cap->len[i]) {
            unsigned id = (unsigned)(d[off] << 8 | d[off + 1]);
            size_t sl = (size_t)(d[off + 2] << 8 | d[off + 3]);
            if (id == SIM_TMPL_V4)
                expect += (uint32_t)((sl - 4) / 71);
            off += sl;
        }
        assert_int_equal(off, cap->len[i]);
    }
    assert_int_equal(expect, 60);
    free(cap);
    free(ex);
}

static void test_exporter_holds_records_at_most_one_second(void **state)
{
    struct capture *cap = calloc(1, sizeof *cap);
    struct sim_exporter *ex = calloc(1, sizeof *ex);
    make_exporter(ex, SIM_FMT_V9, 1, cap);
    assert_true(sim_export_deadline(ex) == UINT64_MAX);
    struct sim_export_rec r;
    make_rec(&r, 0, 0);
    sim_export_add_flow(ex, T0 + 500, &r);
    assert_true(sim_export_deadline(ex) == T0 + 500 + SIM_EXPORT_HOLD_MS);
    sim_export_tick(ex, T0 + 1499);
    assert_int_equal(cap->n, 0);
    sim_export_tick(ex, T0 + 1500);
    assert_int_equal(cap->n, 1);
    assert_true(cap->t[0] == T0 + 1500);
    assert_true(sim_export_deadline(ex) == UINT64_MAX);
    free(cap);
    free(ex);
}

static void test_templates_resent_after_timeout_when_datagrams_are_few(void **state)
{
    struct capture *cap = calloc(1, sizeof *cap);
    struct got *g = calloc(1, sizeof *g);
    struct sim_exporter *ex = calloc(1, sizeof *ex);
    make_exporter(ex, SIM_FMT_V9, 1, cap);
    ex->template_every = 1000;
    struct sim_export_rec r;
    for (unsigned i = 0; i < 4; i++) {
        /* one datagram every 4 minutes: templates at 0 and after 10 minutes (at 12) */
        uint64_t t = T0 + i * 240000ull;
        make_rec(&r, 0, i);
        r.start_ms = t - 5000;
        r.end_ms = t - 1000;
        sim_export_add_flow(ex, t, &r);
        sim_export_flush(ex, t);
    }
    assert_int_equal(cap->n, 4);
    uint64_t templates = 0;
    assert_int_equal(decode_all(cap, g, ex, &templates), 0);
    assert_true(templates == 4);
    /* the first flowset ID after the 20-byte header: 256 (data) or 0 (templates) */
    assert_int_equal(cap->dg[0][20] << 8 | cap->dg[0][21], 0);
    assert_int_equal(cap->dg[1][20] << 8 | cap->dg[1][21], SIM_TMPL_V4);
    assert_int_equal(cap->dg[2][20] << 8 | cap->dg[2][21], SIM_TMPL_V4);
    assert_int_equal(cap->dg[3][20] << 8 | cap->dg[3][21], 0);
    free(cap);
    free(g);
    free(ex);
}

static void test_sflow_sample_roundtrip_through_flowdec(void **state)
{
    struct capture *cap = calloc(1, sizeof *cap);
    struct got *g = calloc(1, sizeof *g);
    struct sim_exporter *ex = calloc(1, sizeof *ex);
    make_exporter(ex, SIM_FMT_SFLOW, 1024, cap);
    struct pktbuild p;
    memset(&p, 0, sizeof p);
    ipaddr_parse("25.16.1.2", &p.src);
    ipaddr_parse("25.240.3.4", &p.dst);
    p.proto = 6;
    p.ttl = 52;
    p.sport = 40000;
    p.dport = 23;
    p.tcp_flags = 0x02;
    p.payload_len = 300; /* frame longer than the 128 header bytes kept */
    uint8_t f[512];
    size_t n = pktbuild_frame(f, sizeof f, &p);
    struct sim_sflow_sample s;
    memset(&s, 0, sizeof s);
    memcpy(s.header, f, SIM_SFLOW_HEADER_BYTES);
    s.header_len = SIM_SFLOW_HEADER_BYTES;
    s.frame_len = (uint32_t)n;
    s.in_if = 7;
    s.out_if = 1000;
    ipaddr_parse("25.16.0.254", &s.nexthop);
    s.src_mask = 12;
    s.dst_mask = 20;
    for (unsigned i = 0; i < 20; i++) {
        sim_export_account(ex, 1024, 1024 * n);
        sim_export_add_sample(ex, T0 + 100 * i, &s);
    }
    sim_export_tick(ex, T0 + SIM_SFLOW_COUNTER_MS); /* counters + flush */
    assert_true(cap->n >= 4);
    assert_int_equal(ex->data_records, 20);
    assert_int_equal(decode_all(cap, g, ex, NULL), 0);
    assert_int_equal(g->n, 20);
    for (unsigned i = 0; i < 20; i++) {
        assert_int_equal(g->r[i].version, FLOW_SFLOW5);
        assert_int_equal(g->r[i].sampling_rate, 1024);
        assert_int_equal(ipaddr_cmp(&g->r[i].src, &p.src), 0);
        assert_int_equal(ipaddr_cmp(&g->r[i].dst, &p.dst), 0);
        assert_int_equal(g->r[i].dst_port, 23);
        assert_int_equal(g->r[i].packets, 1);
        assert_int_equal(g->r[i].in_if, 7);
    }
    free(cap);
    free(g);
    free(ex);
}

static void test_params_check_names_bad_values(void **state)
{
    struct sim_params p;
    char msg[128];
    sim_params_default(&p);
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), 0);
    p.sampling = 0;
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), BS_EUSAGE);
    assert_non_null(strstr(msg, "sampling"));
    sim_params_default(&p);
    ipprefix_parse("2001:db8::/64", &p.darknet);
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), BS_EUSAGE);
    assert_non_null(strstr(msg, "darknet"));
    sim_params_default(&p);
    ipprefix_parse("25.32.0.0/20", &p.darknet); /* inside ISP 1's /12 */
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), BS_EUSAGE);
    ipprefix_parse("25.0.0.0/8", &p.darknet); /* covers everything */
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), BS_EUSAGE);
    ipprefix_parse("25.64.0.0/16", &p.darknet); /* free with 3 ISPs (they end at 25.63) */
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), 0);
    p.isps = 4;
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), BS_EUSAGE);
    sim_params_default(&p);
    p.isps = 14;
    assert_int_equal(sim_params_check(&p, msg, sizeof msg), BS_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rng_same_seed_same_sequence),
        cmocka_unit_test(test_rng_seeds_and_streams_differ),
        cmocka_unit_test(test_rng_known_first_output),
        cmocka_unit_test(test_rng_below_stays_in_range_and_covers_it),
        cmocka_unit_test(test_rng_distribution_means),
        cmocka_unit_test(test_v9_roundtrip_through_flowdec),
        cmocka_unit_test(test_v9_sampled_options_announce_interval),
        cmocka_unit_test(test_ipfix_roundtrip_through_flowdec),
        cmocka_unit_test(test_ipfix_sampled_options_announce_interval),
        cmocka_unit_test(test_ipfix_sequence_counts_data_records),
        cmocka_unit_test(test_exporter_holds_records_at_most_one_second),
        cmocka_unit_test(test_templates_resent_after_timeout_when_datagrams_are_few),
        cmocka_unit_test(test_sflow_sample_roundtrip_through_flowdec),
        cmocka_unit_test(test_params_check_names_bad_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
