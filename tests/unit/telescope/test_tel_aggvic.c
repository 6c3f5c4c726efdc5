/* Unit tests for the cheaper interval-bucket and victim-table paths (tel_agg, tel_victim,
 * tel_hll): each fast path is compared with a straightforward reference computation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/ipaddr.h"
#include "telescope/tel_agg.h"
#include "core/hll.h"
#include "telescope/tel_src.h"
#include "telescope/tel_victim.h"

/* Deterministic generator for the random sequences (splitmix64). */
static uint64_t rnd(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return hash_mix64(*s);
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

/* The window's definition, computed the slow way: a packet is counted in the window unless
 * its second is 60 or more before the newest second seen so far; after each counted packet
 * the window holds the counted packets of the 60 seconds ending at the newest second; the
 * peak is the largest such count. */
struct brute_window {
    uint64_t *secs;
    size_t n;
    uint64_t last;
    bool any;
    uint32_t peak;
};

static void brute_add(struct brute_window *w, uint64_t sec)
{
    if (!w->any || sec > w->last)
        w->last = sec;
    w->any = true;
    if (w->last - sec >= TEL_VICTIM_WINDOW_S)
        return;
    w->secs[w->n++] = sec;
    uint32_t in = 0;
    for (size_t i = 0; i < w->n; i++)
        in += w->secs[i] + TEL_VICTIM_WINDOW_S > w->last;
    if (in > w->peak)
        w->peak = in;
}

/* Timestamps: bursts within a second, gaps of 0..200 s (across and beyond the window), and
 * packets up to 70 s older than the newest (inside the window and just beyond it). */
static void run_window_sequence(uint64_t seed, size_t npkts)
{
    struct tel_victim_table t;
    assert_int_equal(tel_victim_init(&t, 4, 7), 0);
    struct ipaddr v;
    ipaddr_from_v4(&v, 0x5db80001u);
    struct brute_window w = {calloc(npkts, sizeof(uint64_t)), 0, 0, false, 0};
    assert_non_null(w.secs);
    uint64_t s = seed, newest = 1700000000000ull + rnd_below(&s, 1000);
    for (size_t k = 0; k < npkts; k++) {
        uint64_t r = rnd_below(&s, 100), ts;
        if (r < 45)
            ts = newest + rnd_below(&s, 1500); /* same or next second */
        else if (r < 70)
            ts = newest + rnd_below(&s, 70000); /* within about a window */
        else if (r < 80)
            ts = newest + rnd_below(&s, 200001); /* up to 200 s */
        else if (r < 95)
            ts = newest - rnd_below(&s, 60000); /* late, mostly inside the window */
        else
            ts = newest - rnd_below(&s, 70000); /* late, possibly beyond it */
        if (ts > newest)
            newest = ts;
        struct tel_victim *e =
            tel_victim_add(&t, &v, tel_addr_hash(&v), ts, 40, 80, false, rnd(&s));
        assert_non_null(e);
        brute_add(&w, ts / 1000);
        assert_int_equal(e->peak_ppm, w.peak);
        uint32_t sum = 0;
        uint64_t nz = 0;
        for (unsigned i = 0; i < TEL_VICTIM_WINDOW_S; i++) {
            sum += e->win[i];
            nz |= (uint64_t)(e->win[i] != 0) << i;
        }
        assert_int_equal(e->window_sum, sum);
        assert_int_equal(e->win_nz, nz);
    }
    free(w.secs);
    tel_victim_release(&t);
}

static void test_victim_window_peak_matches_brute_force(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++)
        run_window_sequence(seed, 400);
}

/* Every gap length 0..130 s after a full window, and wrap-around of the ring at every start. */
static void test_victim_window_every_gap_and_ring_position(void **state)
{
    (void)state;
    for (unsigned start = 0; start < TEL_VICTIM_WINDOW_S; start++) {
        for (unsigned gap = 0; gap <= 130; gap += 1) {
            struct tel_victim_table t;
            assert_int_equal(tel_victim_init(&t, 4, 3), 0);
            struct ipaddr v;
            ipaddr_from_v4(&v, 0x5db80002u);
            uint64_t t0 = (1000000ull + start) * 1000;
            struct brute_window w = {calloc(200, sizeof(uint64_t)), 0, 0, false, 0};
            assert_non_null(w.secs);
            struct tel_victim *e = NULL;
            for (unsigned k = 0; k < 60; k++) { /* one packet a second, k + 1 in second k */
                for (unsigned j = 0; j <= k % 3; j++) {
                    e = tel_victim_add(&t, &v, tel_addr_hash(&v), t0 + k * 1000ull + j, 40, 80,
                                       false, k);
                    brute_add(&w, (t0 + k * 1000ull + j) / 1000);
                }
            }
            uint64_t after = t0 + 59000ull + gap * 1000ull;
            e = tel_victim_add(&t, &v, tel_addr_hash(&v), after, 40, 80, false, 1);
            brute_add(&w, after / 1000);
            e = tel_victim_add(&t, &v, tel_addr_hash(&v), after + 1, 40, 80, false, 2);
            brute_add(&w, (after + 1) / 1000);
            assert_int_equal(e->peak_ppm, w.peak);
            uint32_t in = 0;
            for (size_t i = 0; i < w.n; i++)
                in += w.secs[i] + TEL_VICTIM_WINDOW_S > w.last;
            assert_int_equal(e->window_sum, in);
            free(w.secs);
            tel_victim_release(&t);
        }
    }
}

/* ---- interval buckets: touched-only reset, merge and port lists ---- */

/* Packets over many ports (more than the slots, so some go untracked), random tags,
 * fingerprints, protocols, ICMP types, ASNs and countries; ref[udp][port] counts them. */
static void fill_bucket(struct tel_bucket *b, uint64_t seed, unsigned npkts, unsigned nports,
                        uint64_t (*ref)[65536])
{
    static const uint8_t protos[] = {6, 17, 1, 58, 47, 6, 17};
    uint64_t s = seed;
    for (unsigned k = 0; k < npkts; k++) {
        struct tel_agg_pkt p;
        memset(&p, 0, sizeof p);
        p.bytes = 40 + (uint32_t)rnd_below(&s, 1400);
        p.tags = (uint16_t)(rnd(&s) & ((1u << TEL_TAG_COUNT) - 1) & rnd(&s));
        p.fps = (uint8_t)(rnd(&s) & ((1u << TEL_FP_COUNT) - 1) & rnd(&s));
        p.proto = protos[rnd_below(&s, sizeof protos)];
        p.ip_version = p.proto == 58 ? 6 : 4;
        p.src_hash = hash_mix64(rnd_below(&s, 5000));
        p.dst_hash = hash_mix64(rnd_below(&s, 70000) + (1ull << 40));
        if (p.proto == 6 || p.proto == 17) {
            p.has_port = 1;
            p.is_udp = p.proto == 17;
            /* a few hot ports (ties at the top) and a long tail */
            p.dst_port = (uint16_t)(rnd_below(&s, 4) == 0 ? rnd_below(&s, 8) * 1000
                                    : nports <= 9362      ? rnd_below(&s, nports) * 7
                                                          : rnd_below(&s, nports));
            ref[p.is_udp][p.dst_port]++;
        } else if (p.proto == 1 || p.proto == 58) {
            p.has_icmp = 1;
            p.icmp_type = (uint8_t)rnd_below(&s, 20);
        }
        p.has_asn = rnd_below(&s, 3) != 0;
        p.asn = (uint32_t)rnd_below(&s, 1200) + 1; /* more than the table holds */
        p.has_cc = rnd_below(&s, 2) != 0;
        p.cc = (uint16_t)(('A' + rnd_below(&s, 26)) << 8 | ('A' + rnd_below(&s, 26)));
        tel_bucket_add(b, &p);
    }
}

static struct tel_bucket bk_a, bk_b, bk_c, bk_d, bk_e, bk_fresh;
static uint64_t ref_ports[2][65536];

static void test_bucket_reset_equals_fresh_bucket(void **state)
{
    (void)state;
    memset(ref_ports, 0, sizeof ref_ports);
    tel_bucket_init(&bk_a, 0, 60000);
    tel_bucket_init(&bk_b, 0, 60000);
    fill_bucket(&bk_a, 11, 30000, 9000, ref_ports); /* slots full, ports untracked, groups full */
    assert_true(bk_a.port_slots_full_packets > 0);
    tel_bucket_init(&bk_c, 0, 60000);
    fill_bucket(&bk_c, 14, 300000, 65536, ref_ports); /* untracked ports nearly everywhere */
    assert_true(bk_c.nuntracked > TEL_AGG_DENSE_SCAN);
    tel_bucket_init(&bk_fresh, 120000, 60000);
    tel_bucket_reset(&bk_c, 120000, 60000);
    assert_memory_equal(&bk_c, &bk_fresh, sizeof bk_c);
    assert_true(bk_a.group_overflow_packets > 0);
    fill_bucket(&bk_b, 12, 500, 100, ref_ports);
    tel_bucket_merge(&bk_b, &bk_a); /* a roll-up-like bucket */
    tel_bucket_init(&bk_fresh, 120000, 60000);
    tel_bucket_reset(&bk_a, 120000, 60000);
    assert_memory_equal(&bk_a, &bk_fresh, sizeof bk_a);
    tel_bucket_reset(&bk_b, 120000, 60000);
    assert_memory_equal(&bk_b, &bk_fresh, sizeof bk_b);
    /* a reset bucket is used again exactly like a fresh one */
    tel_bucket_init(&bk_c, 0, 60000);
    memset(ref_ports, 0, sizeof ref_ports);
    fill_bucket(&bk_a, 13, 20000, 5000, ref_ports);
    fill_bucket(&bk_c, 13, 20000, 5000, ref_ports);
    bk_c.start_ms = 120000;
    assert_memory_equal(&bk_a, &bk_c, sizeof bk_a);
}

static int row_cmp(const void *x, const void *y)
{
    const struct tel_port_row *a = x, *b = y;
    if (a->packets != b->packets)
        return a->packets > b->packets ? -1 : 1;
    if (a->is_udp != b->is_udp)
        return a->is_udp < b->is_udp ? -1 : 1;
    return a->port < b->port ? -1 : a->port > b->port;
}

/* Checks b's port arrays against ref in full: counts, the untracked marks (exactly the ports
 * with packets and no slot), the total, and the top lists against a sort of all 131072. */
static void check_ports_against_full_scan(const struct tel_bucket *b, uint64_t (*ref)[65536])
{
    static struct tel_port_row all[2 * 65536];
    uint64_t total = 0;
    for (unsigned u = 0; u < 2; u++) {
        size_t n = 0;
        for (uint32_t port = 0; port < 65536; port++) {
            assert_int_equal(b->port_packets[u][port], ref[u][port]);
            bool marked = (b->port_untracked[u][port >> 6] >> (port & 63)) & 1;
            bool slot = b->port_slot_of[u][port] != 0;
            assert_int_equal(marked, ref[u][port] && !slot);
            if (slot)
                assert_true(ref[u][port] > 0);
            total += ref[u][port];
            if (ref[u][port])
                all[n++] = (struct tel_port_row){
                    .is_udp = (uint8_t)u, .port = (uint16_t)port, .packets = ref[u][port]};
        }
        qsort(all, n, sizeof all[0], row_cmp);
        for (size_t max = 1; max <= 64; max *= 4) {
            struct tel_port_row rows[64];
            size_t got = tel_bucket_top_ports(b, (int)u, false, rows, max);
            assert_int_equal(got, n < max ? n : max);
            for (size_t i = 0; i < got; i++) {
                assert_int_equal(rows[i].is_udp, all[i].is_udp);
                assert_int_equal(rows[i].port, all[i].port);
                assert_int_equal(rows[i].packets, all[i].packets);
                assert_int_equal(rows[i].tracked, b->port_slot_of[u][rows[i].port] != 0);
            }
        }
    }
    assert_int_equal(tel_bucket_port_total(b), total);
    uint32_t marks = 0;
    for (unsigned u = 0; u < 2; u++)
        for (uint32_t w = 0; w < 65536 / 64; w++)
            marks += (uint32_t)__builtin_popcountll(b->port_untracked[u][w]);
    assert_int_equal(b->nuntracked, marks);
}

static void test_bucket_merge_and_port_lists_match_full_scan(void **state)
{
    (void)state;
    static uint64_t ref_a[2][65536], ref_b[2][65536], ref_c[2][65536];
    memset(ref_a, 0, sizeof ref_a);
    memset(ref_b, 0, sizeof ref_b);
    memset(ref_c, 0, sizeof ref_c);
    tel_bucket_init(&bk_a, 0, 60000);
    tel_bucket_init(&bk_b, 60000, 60000);
    tel_bucket_init(&bk_c, 120000, 60000);
    fill_bucket(&bk_a, 21, 12000, 9000, ref_a); /* untracked ports, below the dense mark */
    fill_bucket(&bk_b, 22, 300, 60, ref_b);     /* all tracked */
    fill_bucket(&bk_c, 23, 60000, 9300, ref_c); /* untracked past the dense mark */
    assert_true(bk_a.nuntracked > 0 && bk_a.nuntracked <= TEL_AGG_DENSE_MERGE);
    assert_int_equal(bk_b.nuntracked, 0);
    assert_true(bk_c.nuntracked > TEL_AGG_DENSE_MERGE && bk_c.nuntracked <= TEL_AGG_DENSE_SCAN);
    check_ports_against_full_scan(&bk_a, ref_a);
    check_ports_against_full_scan(&bk_b, ref_b);
    check_ports_against_full_scan(&bk_c, ref_c);
    /* roll-ups in both orders: tracked first, then untracked; and the other way round */
    memset(ref_ports, 0, sizeof ref_ports);
    tel_bucket_init(&bk_d, 0, 300000);
    tel_bucket_merge(&bk_d, &bk_b);
    for (unsigned u = 0; u < 2; u++)
        for (uint32_t p = 0; p < 65536; p++)
            ref_ports[u][p] = ref_b[u][p];
    check_ports_against_full_scan(&bk_d, ref_ports);
    tel_bucket_merge(&bk_d, &bk_a);
    tel_bucket_merge(&bk_d, &bk_c);
    for (unsigned u = 0; u < 2; u++)
        for (uint32_t p = 0; p < 65536; p++)
            ref_ports[u][p] = ref_a[u][p] + ref_b[u][p] + ref_c[u][p];
    check_ports_against_full_scan(&bk_d, ref_ports);
    assert_int_equal(bk_d.packets, bk_a.packets + bk_b.packets + bk_c.packets);
    tel_bucket_init(&bk_d, 0, 300000);
    tel_bucket_merge(&bk_d, &bk_c);
    tel_bucket_merge(&bk_d, &bk_b);
    tel_bucket_merge(&bk_d, &bk_a);
    check_ports_against_full_scan(&bk_d, ref_ports);
    /* a source with untracked ports nearly everywhere (lists by a full scan) */
    static uint64_t ref_e[2][65536];
    memset(ref_e, 0, sizeof ref_e);
    tel_bucket_init(&bk_e, 0, 60000);
    fill_bucket(&bk_e, 24, 300000, 65536, ref_e);
    assert_true(bk_e.nuntracked > TEL_AGG_DENSE_SCAN);
    check_ports_against_full_scan(&bk_e, ref_e);
    tel_bucket_merge(&bk_d, &bk_e);
    for (unsigned u = 0; u < 2; u++)
        for (uint32_t p = 0; p < 65536; p++)
            ref_ports[u][p] += ref_e[u][p];
    check_ports_against_full_scan(&bk_d, ref_ports);
    tel_bucket_reset(&bk_e, 0, 60000);
    tel_bucket_merge(&bk_e, &bk_d); /* a dense bucket into an empty one */
    check_ports_against_full_scan(&bk_e, ref_ports);
    /* a merge of an empty bucket changes nothing */
    memcpy(&bk_fresh, &bk_d, sizeof bk_d);
    tel_bucket_init(&bk_a, 0, 60000);
    tel_bucket_merge(&bk_d, &bk_a);
    assert_memory_equal(&bk_d, &bk_fresh, sizeof bk_d);
}

/* ---- HyperLogLog estimate and merge against a plain reference ---- */

static uint64_t ref_estimate(const uint8_t *reg, unsigned p)
{
    size_t m = (size_t)1 << p, zeros = 0;
    double md = (double)m;
    for (size_t i = 0; i < m; i++)
        zeros += reg[i] == 0;
    if (zeros > 0 && (double)zeros > md * 0.0820849986)
        return (uint64_t)llround(md * log(md / (double)zeros));
    double sum = 0.0;
    for (size_t i = 0; i < m; i++)
        sum += ldexp(1.0, -(int)(reg[i] < 66 ? reg[i] : 65));
    double alpha = m == 16   ? 0.673
                   : m == 32 ? 0.697
                   : m == 64 ? 0.709
                             : 0.7213 / (1.0 + 1.079 / md);
    return (uint64_t)llround(alpha * md * md / sum);
}

static void test_hll_estimate_every_zero_count_matches_formula(void **state)
{
    (void)state;
    static uint8_t reg[1u << 12];
    uint64_t s = 5;
    for (unsigned p = HLL_MIN_P; p <= 12; p++) {
        size_t m = (size_t)1 << p;
        size_t step = m > 512 ? 7 : 1;
        for (size_t z = 0; z <= m; z += step) {
            for (size_t i = 0; i < m; i++) /* z zeros at random places, ranks 1..62 elsewhere */
                reg[i] = (uint8_t)(1 + rnd_below(&s, 4) + (rnd_below(&s, 50) == 0 ? 57 : 0));
            for (size_t k = 0; k < z;) {
                size_t i = rnd_below(&s, m);
                if (reg[i]) {
                    reg[i] = 0;
                    k++;
                }
            }
            assert_int_equal(hll_estimate(reg, p), ref_estimate(reg, p));
        }
    }
}

static void test_hll_merge_is_registerwise_max(void **state)
{
    (void)state;
    static uint8_t a[(1u << 12) + 1], b[1u << 12], want[1u << 12];
    uint64_t s = 9;
    for (unsigned p = HLL_MIN_P; p <= 12; p++) {
        size_t m = (size_t)1 << p;
        for (size_t i = 0; i < m; i++) {
            a[i] = (uint8_t)rnd_below(&s, 62);
            b[i] = (uint8_t)rnd_below(&s, 62);
            want[i] = a[i] > b[i] ? a[i] : b[i];
        }
        a[m] = 0x55; /* past the sketch: untouched */
        hll_merge(a, b, p);
        assert_memory_equal(a, want, m);
        assert_int_equal(a[m], 0x55);
    }
}

/* The rank of a hash whose bits after the register index are all zero is the maximum,
 * 64 - p + 1; one more bit set anywhere below gives its position. */
static void test_hll_rank_of_zero_remainder_is_maximum(void **state)
{
    (void)state;
    static uint8_t reg[1u << HLL_MAX_P];
    for (unsigned p = HLL_MIN_P; p <= HLL_MAX_P; p++) {
        memset(reg, 0, (size_t)1 << p);
        uint64_t idx = 3;
        hll_add(reg, p, idx << (64 - p));
        assert_int_equal(reg[idx], 64 - p + 1);
        for (unsigned bit = 0; bit < 64 - p; bit++) { /* rank = 64 - p - bit */
            reg[idx] = 0;
            hll_add(reg, p, idx << (64 - p) | 1ull << bit);
            assert_int_equal(reg[idx], 64 - p - bit);
        }
    }
    /* the same through an interval bucket's per-protocol sketch (precision TEL_AGG_PORT_P) */
    tel_bucket_init(&bk_a, 0, 60000);
    struct tel_agg_pkt pk = {.bytes = 40,
                             .proto = 47,
                             .ip_version = 4,
                             .src_hash = 5ull << (64 - TEL_AGG_PORT_P),
                             .dst_hash = 6ull << (64 - TEL_AGG_PORT_P) | 1};
    tel_bucket_add(&bk_a, &pk);
    assert_int_equal(bk_a.proto_uniq[47].hll_src[5], 64 - TEL_AGG_PORT_P + 1);
    assert_int_equal(bk_a.proto_uniq[47].hll_dst[6], 64 - TEL_AGG_PORT_P);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_victim_window_peak_matches_brute_force),
        cmocka_unit_test(test_victim_window_every_gap_and_ring_position),
        cmocka_unit_test(test_bucket_reset_equals_fresh_bucket),
        cmocka_unit_test(test_bucket_merge_and_port_lists_match_full_scan),
        cmocka_unit_test(test_hll_estimate_every_zero_count_matches_formula),
        cmocka_unit_test(test_hll_merge_is_registerwise_max),
        cmocka_unit_test(test_hll_rank_of_zero_remainder_is_maximum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
