/* Unit tests for the NetFlow v5 decoder (src/proto/nf5.c) through flowdec_decode(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "nf_testbuf.h"

#define SECS 1700000000u

static void v5_hdr(struct tb *t, unsigned count, uint32_t up, uint32_t seq, unsigned etype,
                   unsigned eid, unsigned sampling)
{
    tb_reset(t);
    tb_u16(t, 5);
    tb_u16(t, count);
    tb_u32(t, up);
    tb_u32(t, SECS);
    tb_u32(t, 250000000u); /* 250 ms */
    tb_u32(t, seq);
    tb_u8(t, etype);
    tb_u8(t, eid);
    tb_u16(t, sampling);
}

static void v5_rec(struct tb *t, uint32_t src, uint32_t dst, uint32_t first, uint32_t last,
                   uint32_t pkts, uint32_t bytes)
{
    tb_u32(t, src);
    tb_u32(t, dst);
    tb_u32(t, 0x0a000001u); /* nexthop */
    tb_u16(t, 3);           /* input */
    tb_u16(t, 4);           /* output */
    tb_u32(t, pkts);
    tb_u32(t, bytes);
    tb_u32(t, first);
    tb_u32(t, last);
    tb_u16(t, 1234);
    tb_u16(t, 80);
    tb_u8(t, 0);
    tb_u8(t, 0x12); /* SYN|ACK */
    tb_u8(t, 6);
    tb_u8(t, 0x20);
    tb_u16(t, 64500);
    tb_u16(t, 64501);
    tb_u8(t, 24);
    tb_u8(t, 16);
    tb_u16(t, 0);
}

static void test_nf5_decodes_every_field(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    v5_hdr(&t, 2, 100000, 77, 1, 2, 0);
    v5_rec(&t, 0xc0000201u, 0xc6336401u, 90000, 99000, 10, 1500);
    v5_rec(&t, 0xc0000202u, 0xc6336402u, 95000, 95000, 1, 40);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.version, 5);
    assert_int_equal(res.flows, 2);
    assert_int_equal(res.obs_domain, 1u << 8 | 2);
    assert_int_equal(res.sequence, 77);
    assert_int_equal(s.n, 2);
    const struct flow_rec *r = &s.r[0];
    assert_int_equal(ipaddr_v4(&r->src), 0xc0000201u);
    assert_int_equal(ipaddr_v4(&r->dst), 0xc6336401u);
    assert_int_equal(ipaddr_v4(&r->nexthop), 0x0a000001u);
    assert_int_equal(r->in_if, 3);
    assert_int_equal(r->out_if, 4);
    assert_int_equal(r->packets, 10);
    assert_int_equal(r->bytes, 1500);
    assert_int_equal(r->src_port, 1234);
    assert_int_equal(r->dst_port, 80);
    assert_int_equal(r->tcp_flags, 0x12);
    assert_int_equal(r->proto, 6);
    assert_int_equal(r->tos, 0x20);
    assert_int_equal(r->src_as, 64500);
    assert_int_equal(r->dst_as, 64501);
    assert_int_equal(r->src_mask, 24);
    assert_int_equal(r->dst_mask, 16);
    assert_int_equal(r->sampling_rate, 1);
    assert_int_equal(r->obs_domain, 0x102);
    assert_int_equal(r->version, FLOW_V5);
    /* export time SECS.250; first is 10 s before sysuptime, last 1 s before */
    uint64_t export_ms = (uint64_t)SECS * 1000 + 250;
    assert_int_equal(r->start_ms, export_ms - 10000);
    assert_int_equal(r->end_ms, export_ms - 1000);
    flowdec_exporter_free(ex);
}

static void test_nf5_sampling_interval_from_header(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    v5_hdr(&t, 1, 100000, 0, 0, 0, 0x4000 | 512); /* mode 1, interval 512 */
    v5_rec(&t, 1, 2, 99000, 99000, 3, 300);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.r[0].sampling_rate, 512);
    assert_int_equal(s.r[0].packets, 3);    /* raw counts kept */
    v5_hdr(&t, 1, 100000, 1, 0, 0, 0x8000); /* mode set, interval 0 -> 1 */
    v5_rec(&t, 1, 2, 99000, 99000, 3, 300);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.r[1].sampling_rate, 1);
    flowdec_exporter_free(ex);
}

static void test_nf5_uptime_wrap_keeps_start_before_export(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    /* sysuptime just wrapped to 1000; flow began 2000 ms before the wrap */
    v5_hdr(&t, 1, 1000, 0, 0, 0, 0);
    v5_rec(&t, 1, 2, 0xffffffffu - 1999, 500, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    uint64_t export_ms = (uint64_t)SECS * 1000 + 250;
    assert_int_equal(s.r[0].start_ms, export_ms - 3000);
    assert_int_equal(s.r[0].end_ms, export_ms - 500);
    flowdec_exporter_free(ex);
}

static void test_nf5_truncated_header(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    v5_hdr(&t, 1, 0, 0, 0, 0, 0);
    assert_int_equal(flowdec_decode(ex, t.b, 20, 1, &k, &res), BS_ETRUNC);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_HEADER);
    assert_int_equal(s.n, 0);
    assert_int_equal(flowdec_exporter_stats(ex)->errors[FLOWDEC_ERR_HEADER], 1);
    flowdec_exporter_free(ex);
}

/* A header whose count the datagram cannot hold is not believed: nothing is emitted. */
static void test_nf5_count_past_datagram_refused_whole(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    v5_hdr(&t, 3, 100000, 0, 0, 0, 0);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    tb_zero(&t, 47); /* one byte short of the third record */
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), BS_ETRUNC);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_HEADER);
    assert_int_equal(res.flows, 0);
    assert_int_equal(s.n, 0);
    assert_int_equal(flowdec_exporter_stats(ex)->bad_datagrams, 1);
    /* one more byte and all three decode */
    tb_zero(&t, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.flows, 3);
    assert_int_equal(s.n, 3);
    flowdec_exporter_free(ex);
}

/* count 0 and count 31 (above Cisco's 30) are refused, 30 is accepted. */
static void test_nf5_count_bounds(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    v5_hdr(&t, 0, 100000, 0, 0, 0, 0);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), BS_EMALFORMED);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_HEADER);
    for (unsigned count = 30; count <= 31; count++) {
        v5_hdr(&t, count, 100000, 0, 0, 0, 0);
        for (unsigned i = 0; i < count; i++)
            v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
        int rc = flowdec_decode(ex, t.b, t.n, 1, &k, &res);
        assert_int_equal(rc, count == 30 ? 0 : BS_EMALFORMED);
        assert_int_equal(res.flows, count == 30 ? 30 : 0);
    }
    assert_int_equal(s.n, 30);
    flowdec_exporter_free(ex);
}

/* Random bytes after a valid header: every impossible record is refused and counted, the
 * possible ones stand. Each check on both sides of its boundary. */
static void test_nf5_impossible_records_refused(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    v5_hdr(&t, 9, 100000, 0, 0, 0, 0);
    v5_rec(&t, 1, 2, 99000, 99000, 5, 5);    /* ok: packets == bytes */
    v5_rec(&t, 1, 2, 99000, 99000, 6, 5);    /* packets > bytes */
    v5_rec(&t, 1, 2, 90000, 100000, 1, 40);  /* ok: Last == sysUpTime */
    v5_rec(&t, 1, 2, 90000, 100001, 1, 40);  /* Last after sysUpTime */
    v5_rec(&t, 1, 2, 99001, 99000, 1, 40);   /* First after Last */
    v5_rec(&t, 1, 2, 100001, 100001, 1, 40); /* both in the future */
    v5_rec(&t, 1, 2, 99000, 99000, 1, 40);   /* masks patched below: 32/32 ok */
    v5_rec(&t, 1, 2, 99000, 99000, 1, 40);   /* src mask 33 */
    v5_rec(&t, 1, 2, 99000, 99000, 1, 40);   /* dst mask 223 */
    size_t rec7 = 24 + 6 * 48, rec8 = rec7 + 48, rec9 = rec8 + 48;
    t.b[rec7 + 44] = 32, t.b[rec7 + 45] = 32;
    t.b[rec8 + 44] = 33;
    t.b[rec9 + 45] = 223;
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), BS_EMALFORMED);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_VALUE);
    assert_int_equal(res.flows, 3);
    assert_int_equal(s.n, 3);
    assert_int_equal(s.r[0].packets, 5);
    assert_int_equal(s.r[2].src_mask, 32);
    const struct flowdec_stats *st = flowdec_exporter_stats(ex);
    assert_int_equal(st->flows, 3);
    assert_int_equal(st->errors[FLOWDEC_ERR_VALUE], 6);
    assert_int_equal(st->bad_datagrams, 1);
    /* the refused records were still sent by the exporter: no sequence gap next time */
    v5_hdr(&t, 1, 100000, 9, 0, 0, 0);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(st->seq_gaps, 0);
    /* the uptime wrap is not a time in the future */
    v5_hdr(&t, 1, 1000, 10, 0, 0, 0);
    v5_rec(&t, 1, 2, 0xffffffffu - 1999, 500, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, &res), 0);
    assert_int_equal(res.flows, 1);
    flowdec_exporter_free(ex);
}

/* The export-time skew limit, against the receive time given to flowdec_decode(). */
static void test_nf5_time_skew_limit(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_config cfg;
    flowdec_config_default(&cfg);
    cfg.max_skew_ms = 3600 * 1000;
    struct flowdec_exporter *ex = test_exporter(&cfg);
    struct flowdec_result res;
    /* flow [export-10 s, export-1 s]; export time SECS.250 */
    uint64_t export_ms = (uint64_t)SECS * 1000 + 250;
    v5_hdr(&t, 1, 100000, 0, 0, 0, 0);
    v5_rec(&t, 1, 2, 90000, 99000, 1, 1);
    uint64_t start = export_ms - 10000, end = export_ms - 1000;
    /* received exactly at the limit on either side: kept */
    assert_int_equal(flowdec_decode(ex, t.b, t.n, start + cfg.max_skew_ms, &k, &res), 0);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, end - cfg.max_skew_ms, &k, &res), 0);
    assert_int_equal(s.n, 2);
    /* one ms further: refused and counted */
    assert_int_equal(flowdec_decode(ex, t.b, t.n, start + cfg.max_skew_ms + 1, &k, &res),
                     BS_ELIMIT);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_SKEW);
    assert_int_equal(res.flows, 0);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, end - cfg.max_skew_ms - 1, &k, &res), BS_ELIMIT);
    assert_int_equal(s.n, 2);
    assert_int_equal(flowdec_exporter_stats(ex)->errors[FLOWDEC_ERR_SKEW], 2);
    assert_int_equal(flowdec_exporter_stats(ex)->flows, 2);
    flowdec_exporter_free(ex);
}

static void test_nf5_trailing_bytes_ignored(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    v5_hdr(&t, 1, 100000, 0, 0, 0, 0);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    tb_zero(&t, 6);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(s.n, 1);
    flowdec_exporter_free(ex);
}

static void test_nf5_zero_filled_packet_is_version_error(void **state)
{
    (void)state;
    uint8_t z[1400] = {0};
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    struct flowdec_result res;
    assert_int_equal(flowdec_decode(ex, z, sizeof z, 1, &k, &res), BS_EVERSION);
    assert_int_equal(res.err_kind, FLOWDEC_ERR_VERSION);
    assert_int_equal(s.n, 0);
    assert_int_equal(flowdec_exporter_stats(ex)->errors[FLOWDEC_ERR_VERSION], 1);
    flowdec_exporter_free(ex);
}

static void test_nf5_sequence_gap_counts_lost_flows(void **state)
{
    (void)state;
    struct tb t;
    struct tsink s;
    struct flow_sink k = tsink_sink(&s);
    struct flowdec_exporter *ex = test_exporter(NULL);
    v5_hdr(&t, 2, 100000, 100, 0, 0, 0);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    v5_hdr(&t, 1, 100000, 102, 0, 0, 0); /* expected 102: no gap */
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->seq_gaps, 0);
    v5_hdr(&t, 1, 100000, 110, 0, 0, 0); /* expected 103: 7 flows lost */
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->seq_gaps, 1);
    assert_int_equal(flowdec_exporter_stats(ex)->lost_flows, 7);
    v5_hdr(&t, 1, 100000, 5, 0, 0, 0); /* backwards: a reset, not a loss */
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->seq_resets, 1);
    assert_int_equal(flowdec_exporter_stats(ex)->lost_flows, 7);
    /* another engine is another domain with its own sequence */
    v5_hdr(&t, 1, 100000, 9999, 0, 1, 0);
    v5_rec(&t, 1, 2, 99000, 99000, 1, 1);
    assert_int_equal(flowdec_decode(ex, t.b, t.n, 1, &k, NULL), 0);
    assert_int_equal(flowdec_exporter_stats(ex)->seq_gaps, 1);
    flowdec_exporter_free(ex);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nf5_decodes_every_field),
        cmocka_unit_test(test_nf5_sampling_interval_from_header),
        cmocka_unit_test(test_nf5_uptime_wrap_keeps_start_before_export),
        cmocka_unit_test(test_nf5_truncated_header),
        cmocka_unit_test(test_nf5_count_past_datagram_refused_whole),
        cmocka_unit_test(test_nf5_count_bounds),
        cmocka_unit_test(test_nf5_impossible_records_refused),
        cmocka_unit_test(test_nf5_time_skew_limit),
        cmocka_unit_test(test_nf5_trailing_bytes_ignored),
        cmocka_unit_test(test_nf5_zero_filled_packet_is_version_error),
        cmocka_unit_test(test_nf5_sequence_gap_counts_lost_flows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
