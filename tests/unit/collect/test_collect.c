/* Unit tests for src/collect: exporter table, statistics formatting, listen addresses, the
 * state file, decoder save/load, flow-datagram recognition and the output batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collect/decoder.h"
#include "collect/exporter.h"
#include "collect/listen.h"
#include "collect/offline.h"
#include "collect/out.h"
#include "collect/statefile.h"
#include "collect/stats.h"
#include "core/err.h"

static struct ipaddr v4(uint32_t a)
{
    struct ipaddr x;
    ipaddr_from_v4(&x, a);
    return x;
}

static void test_exporter_table_get_find_and_grow(void **state)
{
    struct exporter_table t;
    assert_int_equal(exporter_table_init(&t, 0, NULL, 1234), 0);
    struct exporter *e, *first = NULL;
    for (uint32_t i = 0; i < 500; i++) { /* forces several doublings from 64 slots */
        struct ipaddr a = v4(0xc0000200u + i);
        assert_int_equal(exporter_table_get(&t, &a, &e), 0);
        assert_non_null(e->dec);
        assert_int_equal(ipaddr_cmp(&e->addr, &a), 0);
        if (i == 0)
            first = e;
    }
    assert_int_equal(exporter_table_count(&t), 500);
    assert_true(t.h.nslots >= 1000); /* load factor at most 1/2 */
    struct ipaddr a0 = v4(0xc0000200u);
    assert_ptr_equal(exporter_table_find(&t, &a0), first);
    assert_int_equal(exporter_table_get(&t, &a0, &e), 0);
    assert_ptr_equal(e, first); /* same state, not a new one */
    struct ipaddr none = v4(0x0a000001);
    assert_null(exporter_table_find(&t, &none));
    exporter_table_release(&t);
}

static void test_exporter_table_cap_refuses_new_addresses(void **state)
{
    struct exporter_table t;
    assert_int_equal(exporter_table_init(&t, 2, NULL, 1), 0);
    struct exporter *e;
    struct ipaddr a = v4(1), b = v4(2), c = v4(3);
    assert_int_equal(exporter_table_get(&t, &a, &e), 0);
    assert_int_equal(exporter_table_get(&t, &b, &e), 0);
    assert_int_equal(exporter_table_get(&t, &c, &e), BS_ELIMIT);
    assert_int_equal(exporter_table_get(&t, &a, &e), 0); /* known ones still work */
    assert_int_equal(exporter_table_count(&t), 2);
    exporter_table_release(&t);
}

static void test_exporter_table_adopt_keeps_live_state(void **state)
{
    struct exporter_table t;
    assert_int_equal(exporter_table_init(&t, 0, NULL, 7), 0);
    struct ipaddr a = v4(0x7f000002);
    struct exporter *e;
    assert_int_equal(exporter_table_get(&t, &a, &e), 0);
    struct flowdec_exporter *dup;
    assert_int_equal(flowdec_exporter_new(&a, NULL, &dup), 0);
    assert_int_equal(exporter_table_adopt(&t, dup), BS_EEXIST); /* dup freed by the table */
    struct ipaddr b = v4(0x7f000003);
    struct flowdec_exporter *nb;
    assert_int_equal(flowdec_exporter_new(&b, NULL, &nb), 0);
    assert_int_equal(exporter_table_adopt(&t, nb), 0);
    assert_non_null(exporter_table_find(&t, &b));
    exporter_table_release(&t);
}

/* One IPFIX message: template 300 {IE 8, IE 12, IE 2 (8 bytes)} and, when with_data, one data
 * record 10.0.0.1 -> 10.0.0.2 with 7 packets. */
static size_t ipfix_msg(uint8_t *m, int with_tpl, int with_data)
{
    size_t n = 16;
    if (with_tpl) {
        const uint8_t tpl[] = {0, 2, 0, 20, 1, 44, 0, 3, 0, 8, 0, 4, 0, 12, 0, 4, 0, 2, 0, 8};
        memcpy(m + n, tpl, sizeof tpl);
        n += sizeof tpl;
    }
    if (with_data) {
        const uint8_t data[] = {1, 44, 0, 20, 10, 0, 0, 1, 10, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 7};
        memcpy(m + n, data, sizeof data);
        n += sizeof data;
    }
    const uint8_t hdr[] = {0, 10, 0, (uint8_t)n, 0x60, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    memcpy(m, hdr, sizeof hdr);
    return n;
}

static void test_decoder_decodes_and_batches_into_output(void **state)
{
    struct collect_out out;
    assert_int_equal(collect_out_init(&out, COLLECT_OUT_NONE, NULL, NULL), 0);
    struct decoder *d = malloc(sizeof *d);
    assert_int_equal(decoder_init(d, &out, 0, NULL, 99), 0);
    uint8_t m[64];
    size_t n = ipfix_msg(m, 1, 1);
    struct ipaddr src = v4(0xc0000201);
    assert_int_equal(decoder_datagram(d, &src, m, n, 1000), 0);
    assert_int_equal(d->batch.n, 1); /* batched, not yet written */
    assert_int_equal(atomic_load(&out.records), 0);
    assert_int_equal(d->batch.recs[0].packets, 7);
    assert_int_equal(decoder_flush(d), 0);
    assert_int_equal(atomic_load(&out.records), 1);
    struct exporter_snap snap;
    assert_int_equal(decoder_snapshot(d, &snap, 1), 1);
    assert_int_equal(snap.st.flows, 1);
    assert_int_equal(snap.last_ms, 1000);
    decoder_release(d);
    free(d);
    collect_out_release(&out);
}

static void test_decoder_save_load_round_trip_keeps_templates(void **state)
{
    struct collect_out out;
    assert_int_equal(collect_out_init(&out, COLLECT_OUT_NONE, NULL, NULL), 0);
    struct decoder *d = malloc(sizeof *d), *d2 = malloc(sizeof *d2);
    assert_int_equal(decoder_init(d, &out, 0, NULL, 1), 0);
    assert_int_equal(decoder_init(d2, &out, 0, NULL, 2), 0);
    uint8_t m[64];
    size_t n = ipfix_msg(m, 1, 0);
    struct ipaddr a = v4(0xc0000201), b = v4(0xc0000202);
    assert_int_equal(decoder_datagram(d, &a, m, n, 1), 0);
    assert_int_equal(decoder_datagram(d, &b, m, n, 1), 0);
    struct buf blob = BUF_INIT(1 << 20);
    assert_int_equal(decoder_save(d, &blob), 0);
    assert_true(blob.len > 0);
    assert_int_equal(decoder_load(d2, (const uint8_t *)blob.data, blob.len), 2);
    /* data only, to the restored decoder: decodes with the saved template */
    n = ipfix_msg(m, 0, 1);
    assert_int_equal(decoder_datagram(d2, &b, m, n, 2), 0);
    assert_int_equal(d2->batch.n, 1);
    /* a damaged blob: states before the damage are kept, the error is reported otherwise */
    struct decoder *d3 = malloc(sizeof *d3);
    assert_int_equal(decoder_init(d3, &out, 0, NULL, 3), 0);
    blob.data[blob.len - 1] ^= 0x55;
    int rc = decoder_load(d3, (const uint8_t *)blob.data, blob.len);
    assert_int_equal(rc, 1);
    assert_true(decoder_load(d3, (const uint8_t *)"garbage!", 8) < 0);
    buf_release(&blob);
    decoder_release(d);
    decoder_release(d2);
    decoder_release(d3);
    free(d);
    free(d2);
    free(d3);
    collect_out_release(&out);
}

static void test_decoder_exporter_cap_counts_refusals(void **state)
{
    struct collect_out out;
    assert_int_equal(collect_out_init(&out, COLLECT_OUT_NONE, NULL, NULL), 0);
    struct decoder *d = malloc(sizeof *d);
    assert_int_equal(decoder_init(d, &out, 1, NULL, 1), 0);
    uint8_t m[64];
    size_t n = ipfix_msg(m, 1, 1);
    struct ipaddr a = v4(1), b = v4(2);
    assert_int_equal(decoder_datagram(d, &a, m, n, 1), 0);
    assert_int_equal(decoder_datagram(d, &b, m, n, 1), BS_ELIMIT);
    assert_int_equal(d->exporter_limit, 1);
    assert_int_equal(d->datagrams, 2);
    decoder_release(d);
    free(d);
    collect_out_release(&out);
}

static void test_stats_exporter_line_lists_error_kinds(void **state)
{
    struct exporter_snap s;
    memset(&s, 0, sizeof s);
    s.addr = v4(0xc0000201);
    s.st.datagrams = 7;
    s.st.datagrams_by_version[2] = 7;
    s.st.flows = 29;
    s.st.errors[FLOWDEC_ERR_TRUNC] = 2;
    s.st.errors[FLOWDEC_ERR_RECORD] = 1;
    s.st.no_template_sets = 3;
    s.st.seq_gaps = 1;
    s.st.lost_flows = 5;
    struct buf b = BUF_INIT(4096);
    assert_int_equal(stats_exporter_line(&s, &b), 0);
    assert_string_equal(b.data, "exporter 192.0.2.1: datagrams 7 (ipfix 7), flows 29, options 0, "
                                "templates 0, errors 3 (trunc 2, record 1), bad_datagrams 0, "
                                "no_template 3, seq_gaps 1, lost_flows 5\n");
    buf_release(&b);
}

static void test_stats_prometheus_families_and_labels(void **state)
{
    struct exporter_snap s[2];
    memset(s, 0, sizeof s);
    s[0].addr = v4(0x7f000002);
    s[0].st.flows = 1500;
    assert_int_equal(ipaddr_parse("::1", &s[1].addr), 0);
    s[1].st.flows = 600;
    s[1].st.templates_now = 4;
    struct buf b = BUF_INIT(1 << 20);
    assert_int_equal(stats_prometheus_exporters(s, 2, &b), 0);
    assert_non_null(strstr(b.data, "# TYPE botscope_collect_exporter_flows_total counter\n"));
    assert_non_null(
        strstr(b.data, "botscope_collect_exporter_flows_total{exporter=\"127.0.0.2\"} 1500\n"));
    assert_non_null(
        strstr(b.data, "botscope_collect_exporter_flows_total{exporter=\"::1\"} 600\n"));
    assert_non_null(strstr(b.data, "botscope_collect_exporter_templates{exporter=\"::1\"} 4\n"));
    assert_non_null(strstr(
        b.data,
        "botscope_collect_exporter_decode_errors_total{exporter=\"::1\",kind=\"trunc\"} 0\n"));
    /* one HELP per family, not one per exporter */
    const char *h = strstr(b.data, "# HELP botscope_collect_exporter_flows_total");
    assert_non_null(h);
    assert_null(strstr(h + 1, "# HELP botscope_collect_exporter_flows_total"));
    buf_release(&b);
}

/* The bound holds for exporters at their longest (IPv6 text of 39 characters, every counter
 * at UINT64_MAX), and is not wildly loose. */
static void test_stats_prometheus_exporters_max_bounds_worst_case(void **state)
{
    (void)state;
    size_t n = 3000;
    struct exporter_snap *s = calloc(n, sizeof *s);
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        char a[64];
        snprintf(a, sizeof a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:%zx", 0xf000 + i);
        assert_int_equal(ipaddr_parse(a, &s[i].addr), 0);
        memset(&s[i].st, 0xff, sizeof s[i].st);
    }
    size_t max = stats_prometheus_exporters_max(n);
    struct buf b = BUF_INIT(max);
    assert_int_equal(stats_prometheus_exporters(s, n, &b), 0);
    assert_true(b.len <= max);
    assert_true(max < 3 * b.len);
    buf_release(&b);
    free(s);
}

static void test_listen_addr_parse_v4_v6_and_errors(void **state)
{
    struct listen_addr a;
    assert_int_equal(listen_addr_parse("0.0.0.0:2055", &a), 0);
    assert_int_equal(a.family, AF_INET);
    assert_int_equal(a.port, 2055);
    assert_int_equal(listen_addr_parse("[::]:4739", &a), 0);
    assert_int_equal(a.family, AF_INET6);
    assert_int_equal(a.port, 4739);
    assert_int_equal(listen_addr_parse("[::1]:6343", &a), 0);
    assert_string_equal(a.text, "[::1]:6343");
    assert_int_equal(listen_addr_parse("127.0.0.1", &a), BS_EPARSE);   /* no port */
    assert_int_equal(listen_addr_parse("127.0.0.1:0", &a), BS_EPARSE); /* port 0 */
    assert_int_equal(listen_addr_parse("127.0.0.1:65536", &a), BS_EPARSE);
    assert_int_equal(listen_addr_parse("127.0.0.1:20x", &a), BS_EPARSE);
    assert_int_equal(listen_addr_parse("::1:2055", &a), BS_EPARSE); /* v6 needs [] */
    assert_int_equal(listen_addr_parse("[::1:2055", &a), BS_EPARSE);
    assert_int_equal(listen_addr_parse("[127.0.0.1]:2055", &a), BS_EPARSE);
    assert_int_equal(listen_addr_parse("localhost:2055", &a), BS_EPARSE); /* numeric only */
}

static void test_statefile_round_trip_missing_and_bad_magic(void **state)
{
    char dir[] = "/tmp/bs_col_sfXXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/collector.state", dir);
    struct buf out = BUF_INIT(1 << 20);
    assert_int_equal(statefile_read(path, &out), -ENOENT);
    struct buf a = BUF_INIT(64), b = BUF_INIT(64);
    buf_puts(&a, "first-");
    buf_puts(&b, "second");
    const struct buf *blobs[] = {&a, NULL, &b};
    assert_int_equal(statefile_write(path, blobs, 3), 0);
    assert_int_equal(statefile_read(path, &out), 0);
    assert_int_equal(out.len, 12);
    assert_memory_equal(out.data, "first-second", 12);
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1); /* renamed away */
    FILE *f = fopen(path, "wb");
    fputs("NOTSTATE", f);
    fclose(f);
    buf_reset(&out);
    assert_int_equal(statefile_read(path, &out), BS_ECORRUPT);
    unlink(path);
    rmdir(dir);
    buf_release(&out);
    buf_release(&a);
    buf_release(&b);
}

static void test_offline_recognises_export_datagrams(void **state)
{
    const uint8_t v5[] = {0, 5, 0, 1}, v9[] = {0, 9, 0, 1}, ipfix[] = {0, 10, 0, 16};
    const uint8_t sflow[] = {0, 0, 0, 5, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0,
                             0, 0, 0, 0, 0, 1, 0, 0, 0,   1, 0, 0, 0, 0};
    const uint8_t dns[] = {0x12, 0x34, 1, 0, 0, 1, 0, 0}, shortp[] = {0, 5};
    assert_true(offline_looks_like_flow(v5, sizeof v5));
    assert_true(offline_looks_like_flow(v9, sizeof v9));
    assert_true(offline_looks_like_flow(ipfix, sizeof ipfix));
    assert_true(offline_looks_like_flow(sflow, sizeof sflow));
    assert_false(offline_looks_like_flow(dns, sizeof dns));
    assert_false(offline_looks_like_flow(shortp, sizeof shortp));
}

static void test_out_ndjson_writes_one_line_per_record(void **state)
{
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    struct collect_out out;
    assert_int_equal(collect_out_init(&out, COLLECT_OUT_NDJSON, f, NULL), 0);
    struct out_batch *b = malloc(sizeof *b);
    out_batch_init(b, &out);
    struct flow_rec r;
    memset(&r, 0, sizeof r);
    r.version = FLOW_V5;
    r.packets = 3;
    for (int i = 0; i < OUT_BATCH + 3; i++) /* one implicit flush at OUT_BATCH */
        out_batch_add(b, &r);
    assert_int_equal(atomic_load(&out.records), OUT_BATCH);
    assert_int_equal(out_batch_flush(b), 0);
    assert_int_equal(collect_out_flush(&out), 0);
    assert_int_equal(atomic_load(&out.records), OUT_BATCH + 3);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += mem[i] == '\n';
    assert_int_equal(lines, OUT_BATCH + 3);
    assert_non_null(strstr(mem, "\"packets\":3"));
    collect_out_release(&out);
    fclose(f);
    free(mem);
    free(b);
}

/* The exporters a decode thread owns use all of its table's home slots: for 2, 3 and 4
 * threads and several seeds, the addresses picked for each thread (a /20 of consecutive
 * IPv4 exporters, as an ISP's routers are numbered) fall on every one of 64 low-bit residues
 * of that thread's table hash. When the pick reused the table's hash, thread k's hashes were
 * all k mod n: with 2 threads each table used 32 of the 64 (and 16 with 4). */
static void test_exporter_thread_pick_spreads_each_table(void **state)
{
    (void)state;
    static const uint64_t seeds[] = {1, 1234, 0x9e3779b97f4a7c15ull, 0xdeadbeefcafef00dull};
    for (size_t si = 0; si < sizeof seeds / sizeof seeds[0]; si++) {
        for (unsigned n = 2; n <= 4; n++) {
            struct exporter_table t;
            assert_int_equal(exporter_table_init(&t, 0, NULL, seeds[si]), 0);
            uint64_t used[4] = {0}; /* per thread: a bit per residue of the hash mod 64 */
            unsigned count[4] = {0};
            for (uint32_t i = 0; i < 4096; i++) {
                struct ipaddr a = v4(0x0a100000u + i);
                unsigned k = exporter_thread(&a, seeds[si], n);
                assert_true(k < n);
                assert_int_equal(exporter_thread(&a, seeds[si], n), k); /* sticky */
                used[k] |= 1ull << (htab_hash(&t.h, &a) & 63);
                count[k]++;
            }
            for (unsigned k = 0; k < n; k++) {
                /* and the threads share the exporters evenly (within 10 %) */
                assert_true(count[k] > 4096 / n * 9 / 10 && count[k] < 4096 / n * 11 / 10);
                if (__builtin_popcountll(used[k]) != 64)
                    fail_msg("seed %" PRIu64 ", %u threads: thread %u uses %d of 64 home residues",
                             seeds[si], n, k, __builtin_popcountll(used[k]));
            }
            assert_int_equal(exporter_thread(&(struct ipaddr){0}, seeds[si], 1), 0);
            exporter_table_release(&t);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exporter_thread_pick_spreads_each_table),
        cmocka_unit_test(test_exporter_table_get_find_and_grow),
        cmocka_unit_test(test_exporter_table_cap_refuses_new_addresses),
        cmocka_unit_test(test_exporter_table_adopt_keeps_live_state),
        cmocka_unit_test(test_decoder_decodes_and_batches_into_output),
        cmocka_unit_test(test_decoder_save_load_round_trip_keeps_templates),
        cmocka_unit_test(test_decoder_exporter_cap_counts_refusals),
        cmocka_unit_test(test_stats_exporter_line_lists_error_kinds),
        cmocka_unit_test(test_stats_prometheus_families_and_labels),
        cmocka_unit_test(test_stats_prometheus_exporters_max_bounds_worst_case),
        cmocka_unit_test(test_listen_addr_parse_v4_v6_and_errors),
        cmocka_unit_test(test_statefile_round_trip_missing_and_bad_magic),
        cmocka_unit_test(test_offline_recognises_export_datagrams),
        cmocka_unit_test(test_out_ndjson_writes_one_line_per_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
