/* Unit tests for src/telescope: HyperLogLog, prefix maps, SipHash pseudonyms, per-packet
 * classification and fingerprints (both sides of each boundary), source profiles, victim
 * thresholds, interval aggregation, and bounded memory under a flood of spoofed sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/pcapmm.h"
#include "core/err.h"
#include "core/hash.h"
#include "core/ipaddr.h"
#include "proto/pkt.h"
#include "telescope/tel_agg.h"
#include "telescope/tel_classify.h"
#include "telescope/tel_engine.h"
#include "core/hll.h"
#include "telescope/tel_keyhash.h"
#include "telescope/tel_out.h"
#include "telescope/tel_pmap.h"
#include "telescope/tel_src.h"
#include "telescope/tel_synth.h"
#include "telescope/tel_victim.h"

#define DARK 0xc6120000u /* 198.18.0.0/16 */

static uint32_t a4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

/* A decoded IPv4 TCP packet as pkt_decode would give it. */
static struct pkt_info tcp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                            uint8_t flags, uint32_t seq, uint16_t ip_id)
{
    struct pkt_info pi;
    memset(&pi, 0, sizeof pi);
    pi.ip_version = 4;
    pi.proto = 6;
    ipaddr_from_v4(&pi.src, src);
    ipaddr_from_v4(&pi.dst, dst);
    pi.ip_len = 40;
    pi.ip_id = ip_id;
    pi.ttl = 64;
    pi.l4_ok = 1;
    pi.src_port = sport;
    pi.dst_port = dport;
    pi.tcp_flags = flags;
    pi.tcp_seq = seq;
    pi.tcp_window = 5840;
    pi.tcp_hdr_len = 20;
    return pi;
}

static struct pkt_info udp4(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport)
{
    struct pkt_info pi = tcp4(src, dst, sport, dport, 0, 0, 1);
    pi.proto = 17;
    pi.tcp_hdr_len = 0;
    return pi;
}

static struct pkt_info icmp4(uint32_t src, uint32_t dst, uint8_t type)
{
    struct pkt_info pi = tcp4(src, dst, 0, 0, 0, 0, 1);
    pi.proto = 1;
    pi.icmp_type = type;
    return pi;
}

static bool has_tag(const struct tel_class *c, enum tel_tag t)
{
    return (c->tags & (1u << t)) != 0;
}

/* ---- HyperLogLog ---- */

static void test_hll_estimates_within_error_bounds(void **state)
{
    static const uint64_t ns[] = {0, 1, 10, 100, 1000, 20000, 200000};
    uint8_t reg[1u << 12];
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
        memset(reg, 0, sizeof reg);
        for (uint64_t i = 0; i < ns[k]; i++)
            hll_add(reg, 12, hash_mix64(i * 7919 + 17));
        uint64_t e = hll_estimate(reg, 12);
        double err = ns[k] ? ((double)e - (double)ns[k]) / (double)ns[k] : (double)e;
        /* p=12: standard error 1.6 %; allow 5 % (3 sigma), exact for small sets. */
        if (ns[k] <= 100)
            assert_true(e >= ns[k] - ns[k] / 50 && e <= ns[k] + ns[k] / 50 + 0);
        else
            assert_true(err > -0.05 && err < 0.05);
    }
}

static void test_hll_duplicates_do_not_count_and_merge_is_union(void **state)
{
    uint8_t a[64] = {0}, b[64] = {0}, u[64] = {0}, once[64] = {0};
    for (int r = 0; r < 10; r++)
        for (uint64_t i = 1; i <= 20; i++)
            hll_add(a, 6, hash_mix64(i));
    for (uint64_t i = 1; i <= 20; i++)
        hll_add(once, 6, hash_mix64(i));
    assert_memory_equal(a, once, sizeof a); /* repeats change nothing */
    for (uint64_t i = 11; i <= 40; i++)
        hll_add(b, 6, hash_mix64(i));
    for (uint64_t i = 1; i <= 40; i++)
        hll_add(u, 6, hash_mix64(i));
    hll_merge(a, b, 6);
    assert_memory_equal(a, u, sizeof a); /* merge == sketch of the union */
    /* p=6 (13 % standard error): the mean over 200 independent sets of 40 is within 5 %. */
    double sum = 0;
    for (uint64_t t = 0; t < 200; t++) {
        uint8_t r[64] = {0};
        for (uint64_t i = 0; i < 40; i++)
            hll_add(r, 6, hash_mix64(t << 32 | (i + 1)));
        sum += (double)hll_estimate(r, 6);
    }
    assert_true(sum / 200 > 38.0 && sum / 200 < 42.0);
}

/* ---- prefix maps ---- */

static void test_pmap_longest_prefix_wins_and_edges(void **state)
{
    struct tel_pmap_entry e[4];
    assert_int_equal(ipprefix_parse("10.0.0.0/8", &e[0].pfx), 0);
    e[0].val = 1;
    assert_int_equal(ipprefix_parse("10.1.0.0/16", &e[1].pfx), 0);
    e[1].val = 2;
    assert_int_equal(ipprefix_parse("10.1.2.0/24", &e[2].pfx), 0);
    e[2].val = 3;
    assert_int_equal(ipprefix_parse("2001:db8::/32", &e[3].pfx), 0);
    e[3].val = 6;
    struct tel_pmap m;
    assert_int_equal(tel_pmap_build(&m, e, 4), 0);
    struct ipaddr a;
    uint32_t v = 0;
    ipaddr_from_v4(&a, a4(10, 1, 2, 255));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 3);
    ipaddr_from_v4(&a, a4(10, 1, 3, 0));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 2);
    ipaddr_from_v4(&a, a4(10, 255, 255, 255));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 1);
    ipaddr_from_v4(&a, a4(11, 0, 0, 0));
    assert_false(tel_pmap_lookup(&m, &a, &v));
    ipaddr_from_v4(&a, a4(9, 255, 255, 255));
    assert_false(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(ipaddr_parse("2001:db8:ffff::1", &a), 0);
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 6);
    assert_int_equal(ipaddr_parse("2001:db9::", &a), 0);
    assert_false(tel_pmap_lookup(&m, &a, &v));
    tel_pmap_release(&m);
}

/* The lookup's branch-free search against a brute-force longest-prefix match: random nested
 * and disjoint IPv4 prefixes (1 to 40 of them, so every table size and search depth occurs),
 * probed at each prefix's first and last address, one past each end, and at random
 * addresses. */
/* n random IPv4 prefixes /minlen../32 (values 1..n), a third nested in an earlier one. */
static void random_v4_prefixes(struct tel_pmap_entry *e, size_t n, unsigned minlen, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++) {
        *rng = hash_mix64(*rng + i);
        unsigned len = minlen + (unsigned)(*rng % (33 - minlen));
        uint32_t mask = (uint32_t)(0xffffffffull << (32 - len));
        uint32_t net = (uint32_t)(*rng >> 32);
        if (i && *rng % 3 == 0) /* nest inside an earlier prefix */
            net = ipaddr_v4(&e[*rng % i].pfx.addr) | (net & ~mask >> 1);
        ipaddr_from_v4(&e[i].pfx.addr, net & mask);
        e[i].pfx.len = (uint8_t)(96 + len);
        e[i].val = (uint32_t)i + 1;
    }
}

/* Lookup key k: for k < 4n the edges of prefix k/4 (first, last, one before, one after),
 * then random addresses. */
static uint32_t probe_v4(const struct tel_pmap_entry *e, size_t n, size_t k, uint64_t *rng)
{
    *rng = hash_mix64(*rng + k);
    if (k >= 4 * n)
        return (uint32_t)*rng;
    const struct ipprefix *p = &e[k / 4].pfx;
    uint32_t lo = ipaddr_v4(&p->addr), span = (uint32_t)(0xffffffffull >> (p->len - 96));
    uint32_t pick[4] = {lo, lo + span, lo - 1, lo + span + 1};
    return pick[k % 4];
}

/* A large table (a 16-bit IPv4 guide) answers every IPv4 key as the plain search of all its
 * ranges does: random nested prefixes /8../32, keys at every range edge and at random. */
static void test_pmap_guided_lookup_matches_full_search(void **state)
{
    (void)state;
    enum { N = 6000 };
    struct tel_pmap_entry *e = calloc(N, sizeof *e);
    assert_non_null(e);
    uint64_t rng = 0x5eed;
    random_v4_prefixes(e, N, 8, &rng);
    struct tel_pmap m;
    assert_int_equal(tel_pmap_build(&m, e, N), 0);
    assert_non_null(m.guide);
    assert_int_equal(m.guide_bits, 16);
    struct tel_pmap plain = m;
    plain.guide = NULL;
    for (size_t k = 0; k < 4 * (size_t)N + 200000; k++) {
        uint32_t v4 = probe_v4(e, N, k, &rng);
        struct ipaddr a;
        ipaddr_from_v4(&a, v4);
        uint32_t v1 = 0, v2 = 0;
        bool f1 = tel_pmap_lookup(&m, &a, &v1), f2 = tel_pmap_lookup(&plain, &a, &v2);
        if (f1 != f2 || v1 != v2)
            fail_msg("0x%08x: guided %d/%u, full %d/%u", v4, f1, v1, f2, v2);
    }
    tel_pmap_release(&m);
    free(e);
}

static void test_pmap_lookup_matches_brute_force_longest_prefix(void **state)
{
    (void)state;
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    for (size_t n = 1; n <= 40; n++) {
        struct tel_pmap_entry e[40];
        random_v4_prefixes(e, n, 4, &rng); /* /4 .. /32 */
        struct tel_pmap m;
        assert_int_equal(tel_pmap_build(&m, e, n), 0);
        for (size_t k = 0; k < 6 * n + 2000; k++) {
            uint32_t v4 = probe_v4(e, n, k, &rng);
            struct ipaddr a;
            ipaddr_from_v4(&a, v4);
            int best = -1;
            for (size_t i = 0; i < n; i++) /* longest prefix; a duplicate keeps the first */
                if (ipprefix_contains(&e[i].pfx, &a) &&
                    (best < 0 || e[i].pfx.len > e[best].pfx.len))
                    best = (int)i;
            uint32_t v = 0;
            bool found = tel_pmap_lookup(&m, &a, &v);
            assert_int_equal(found, best >= 0);
            if (found) {
                /* equal-length duplicates may resolve to either value: compare prefixes */
                size_t got = v - 1;
                assert_int_equal(e[got].pfx.len, e[best].pfx.len);
                assert_true(ipprefix_contains(&e[got].pfx, &a));
            }
        }
        tel_pmap_release(&m);
    }
}

static void test_iot_port_set_is_exactly_the_listed_ports(void **state)
{
    (void)state;
    static const uint16_t listed[] = {23,    2323, 37215, 52869, 7547, 5555,  8080, 81,
                                      37777, 5358, 60001, 8000,  8081, 49152, 5500, 9527};
    size_t hits = 0;
    for (uint32_t port = 0; port < 65536; port++) {
        bool want = false;
        for (size_t i = 0; i < sizeof listed / sizeof listed[0]; i++)
            want |= listed[i] == port;
        assert_int_equal(tel_is_iot_port((uint16_t)port), want);
        hits += want;
    }
    assert_int_equal(hits, 16);
}

static void test_pmap_default_route_and_duplicates(void **state)
{
    struct tel_pmap_entry e[3];
    assert_int_equal(ipprefix_parse("::/0", &e[0].pfx), 0);
    e[0].val = 7;
    assert_int_equal(ipprefix_parse("192.0.2.0/24", &e[1].pfx), 0);
    e[1].val = 8;
    assert_int_equal(ipprefix_parse("192.0.2.0/24", &e[2].pfx), 0);
    e[2].val = 9; /* later duplicate wins */
    struct tel_pmap m;
    assert_int_equal(tel_pmap_build(&m, e, 3), 0);
    struct ipaddr a;
    uint32_t v;
    assert_int_equal(ipaddr_parse("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", &a), 0);
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 7);
    ipaddr_from_v4(&a, a4(192, 0, 2, 7));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 9);
    ipaddr_from_v4(&a, a4(192, 0, 3, 0));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 7);
    tel_pmap_release(&m);
}

static void test_pmap_loaders_report_bad_line(void **state)
{
    char path[] = "/tmp/tel_pmap_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n1.0.0.0\t24\t13335\n2.0.0.0 16 64512_64513\n", f);
    fclose(f);
    struct tel_pmap m;
    char err[256];
    assert_int_equal(tel_pmap_load_pfx2as(&m, path, err, sizeof err), 0);
    struct ipaddr a;
    uint32_t v;
    ipaddr_from_v4(&a, a4(1, 0, 0, 9));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 13335);
    ipaddr_from_v4(&a, a4(2, 0, 200, 9));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, 64512);
    tel_pmap_release(&m);
    f = fopen(path, "w");
    fputs("prefix,cc\n1.0.0.0/24,jp\n1.0.0.0/8,XX9\n", f);
    fclose(f);
    assert_int_equal(tel_pmap_load_geo_csv(&m, path, err, sizeof err), BS_EPARSE);
    assert_non_null(strstr(err, ":3:"));
    f = fopen(path, "w");
    fputs("prefix,cc\n1.0.0.0/24,jp\n", f);
    fclose(f);
    assert_int_equal(tel_pmap_load_geo_csv(&m, path, err, sizeof err), 0);
    ipaddr_from_v4(&a, a4(1, 0, 0, 1));
    assert_true(tel_pmap_lookup(&m, &a, &v));
    assert_int_equal(v, ('J' << 8) | 'P');
    tel_pmap_release(&m);
    f = fopen(path, "w");
    fputs("10.0.0.0/8\nnot-a-prefix\n", f);
    fclose(f);
    assert_int_equal(tel_pmap_load_prefixes(&m, path, err, sizeof err), BS_EPARSE);
    assert_non_null(strstr(err, ":2:"));
    unlink(path);
    assert_true(tel_pmap_load_prefixes(&m, path, err, sizeof err) < 0);
}

static void test_pmap_parse_list(void **state)
{
    struct tel_pmap_entry e[4];
    assert_int_equal(tel_pmap_parse_list("198.18.0.0/16, 2001:db8::/48", e, 4), 2);
    assert_int_equal(ipprefix_family_len(&e[0].pfx), 16);
    assert_int_equal(tel_pmap_parse_list("198.18.0.0/33", e, 4), BS_EPARSE);
    assert_int_equal(tel_pmap_parse_list("1.0.0.0/8,2.0.0.0/8", e, 1), BS_ELIMIT);
}

/* ---- SipHash ---- */

static void test_siphash_reference_vector(void **state)
{
    /* The SipHash paper's test vector: key 00..0f, message 00..0e -> a129ca6149be45e5. */
    uint8_t msg[15];
    for (int i = 0; i < 15; i++)
        msg[i] = (uint8_t)i;
    uint64_t k0 = 0x0706050403020100ull, k1 = 0x0f0e0d0c0b0a0908ull;
    assert_true(tel_siphash24(k0, k1, msg, sizeof msg) == 0xa129ca6149be45e5ull);
}

static void test_keyhash_pseudonyms_depend_on_key_only(void **state)
{
    struct tel_keyhash k1, k2, k3;
    tel_keyhash_init(&k1, "secret");
    tel_keyhash_init(&k2, "secret");
    tel_keyhash_init(&k3, "other");
    struct ipaddr a, b;
    ipaddr_from_v4(&a, a4(45, 1, 1, 1));
    ipaddr_from_v4(&b, a4(45, 1, 1, 2));
    char s1[TEL_KEYHASH_STRLEN], s2[TEL_KEYHASH_STRLEN], s3[TEL_KEYHASH_STRLEN],
        s4[TEL_KEYHASH_STRLEN];
    tel_keyhash_format(&k1, &a, s1);
    tel_keyhash_format(&k2, &a, s2);
    tel_keyhash_format(&k3, &a, s3);
    tel_keyhash_format(&k1, &b, s4);
    assert_string_equal(s1, s2);
    assert_string_not_equal(s1, s3);
    assert_string_not_equal(s1, s4);
    assert_int_equal(strlen(s1), 18);
    assert_memory_equal(s1, "h:", 2);
}

/* ---- classification ---- */

static void test_classify_syn_is_scan_synack_rst_are_backscatter(void **state)
{
    struct tel_class c;
    struct pkt_info pi = tcp4(a4(1, 2, 3, 4), DARK + 5, 1000, 23, 0x02, 1, 1);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_TCP_SCAN));
    assert_false(has_tag(&c, TEL_TAG_BACKSCATTER));
    pi.tcp_flags = 0x02 | 0x40 | 0x80; /* ECN-setup SYN is still a scan */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_TCP_SCAN));
    pi.tcp_flags = 0x12;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_BACKSCATTER));
    assert_int_equal(c.victim_kind, TEL_VICTIM_SRC);
    assert_int_equal(c.victim_port, 1000);
    pi.tcp_flags = 0x04;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_BACKSCATTER));
    pi.tcp_flags = 0x14;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_BACKSCATTER));
    pi.tcp_flags = 0x10; /* bare ACK: neither */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_OTHER));
    assert_int_equal(c.victim_kind, TEL_VICTIM_NONE);
}

static void test_classify_abnormal_flag_combinations(void **state)
{
    static const uint8_t abnormal[] = {0x03, 0x00, 0x29, 0x01, 0x07, 0x06};
    static const uint8_t normal[] = {0x11, 0x19, 0x02};
    struct tel_class c;
    for (size_t i = 0; i < sizeof abnormal; i++) {
        struct pkt_info pi = tcp4(1, DARK + 1, 1, 80, abnormal[i], 0, 1);
        tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
        assert_true(has_tag(&c, TEL_TAG_ABNORMAL_FLAGS));
        assert_false(has_tag(&c, TEL_TAG_TCP_SCAN));
    }
    for (size_t i = 0; i < sizeof normal; i++) {
        struct pkt_info pi = tcp4(1, DARK + 1, 1, 80, normal[i], 0, 1);
        tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
        assert_false(has_tag(&c, TEL_TAG_ABNORMAL_FLAGS));
    }
}

static void test_fp_mirai_seq_equals_destination_boundary(void **state)
{
    uint32_t dst = DARK + 77;
    struct tel_class c;
    struct pkt_info pi = tcp4(a4(45, 1, 1, 1), dst, 4444, 23, 0x02, dst, 9);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(c.fps & (1u << TEL_FP_MIRAI));
    assert_false(c.uni_ok); /* no unicornscan key for mirai packets */
    pi.tcp_seq = dst + 1;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_MIRAI));
    pi.tcp_seq = dst;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL & ~(1u << TEL_FP_MIRAI), &c);
    assert_false(c.fps & (1u << TEL_FP_MIRAI)); /* switched off */
    pi.tcp_flags = 0x12;                        /* only SYN scans are fingerprinted */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_int_equal(c.fps, 0);
}

static void test_fp_masscan_ip_id_relation_boundary(void **state)
{
    uint32_t dst = DARK + 0x0703, seq = 0x56ad0d15;
    uint16_t dport = 23;
    uint16_t id = (uint16_t)((dst ^ dport ^ seq) & 0xffff);
    struct tel_class c;
    struct pkt_info pi = tcp4(a4(60, 1, 1, 1), dst, 44476, dport, 0x02, seq, id);
    pi.tcp_window = 1024;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(c.fps & (1u << TEL_FP_MASSCAN));
    pi.ip_id = (uint16_t)(id + 1);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_MASSCAN));
    /* A real masscan 1.3.2 probe captured in a test namespace: 198.18.7.3:23, seq
     * 0x56ad0d15, IP ID 0x0a01. */
    pi = tcp4(a4(192, 0, 2, 1), a4(198, 18, 7, 3), 44476, 23, 0x02, 0x56ad0d15, 0x0a01);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(c.fps & (1u << TEL_FP_MASSCAN));
}

static void test_fp_zmap_ip_id_54321_boundary(void **state)
{
    struct tel_class c;
    struct pkt_info pi = tcp4(a4(60, 1, 1, 2), DARK + 3, 39308, 80, 0x02, 2379691632u, 54321);
    pi.tcp_window = 65535;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(c.fps & (1u << TEL_FP_ZMAP));
    pi.ip_id = 54320;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_ZMAP));
    pi.ip_id = 54322;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_ZMAP));
}

static void test_fp_nmap_window_and_mss_only(void **state)
{
    static const uint8_t mss1460[4] = {2, 4, 0x05, 0xb4};
    static const uint8_t mss1400[4] = {2, 4, 0x05, 0x78};
    static const uint8_t mss_nop[8] = {2, 4, 0x05, 0xb4, 1, 1, 1, 0};
    struct tel_class c;
    struct pkt_info pi = tcp4(a4(60, 1, 1, 3), DARK + 9, 44013, 80, 0x02, 638590573u, 42581);
    pi.tcp_opts = mss1460;
    pi.tcp_opts_len = 4;
    static const uint16_t good[] = {1024, 2048, 3072, 4096};
    for (size_t i = 0; i < 4; i++) {
        pi.tcp_window = good[i];
        tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
        assert_true(c.fps & (1u << TEL_FP_NMAP));
    }
    pi.tcp_window = 1025;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_NMAP));
    pi.tcp_window = 1024;
    pi.tcp_opts = mss1400;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_NMAP));
    pi.tcp_opts = mss_nop;
    pi.tcp_opts_len = 8;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_NMAP));
    pi.tcp_opts = NULL;
    pi.tcp_opts_len = 0; /* masscan's layout: no options */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_NMAP));
    pi.tcp_opts = mss1460;
    pi.tcp_opts_len = 4;
    pi.tcp_ack = 1;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_false(c.fps & (1u << TEL_FP_NMAP));
}

static void test_fp_unicorn_key_constant_across_targets(void **state)
{
    uint32_t key = 0xdeadbeef;
    uint32_t d1 = DARK + 10, d2 = DARK + 999;
    uint32_t s1 = key ^ __builtin_bswap32(d1) ^ ((80u << 16) + 40000);
    uint32_t s2 = key ^ __builtin_bswap32(d2) ^ ((443u << 16) + 40000);
    struct pkt_info p1 = tcp4(a4(60, 1, 1, 4), d1, 40000, 80, 0x02, s1, 5);
    struct pkt_info p2 = tcp4(a4(60, 1, 1, 4), d2, 40000, 443, 0x02, s2, 6);
    assert_int_equal(tel_fp_unicorn_key(&p1), key);
    assert_int_equal(tel_fp_unicorn_key(&p2), key);
    p2.tcp_seq = s2 + 1;
    assert_int_not_equal(tel_fp_unicorn_key(&p2), key);
}

static void test_classify_udp_misconfig_rule(void **state)
{
    struct tel_class c;
    struct pkt_info pi = udp4(a4(8, 8, 4, 4), DARK + 1, 53, 33000);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_MISCONFIG));
    assert_false(has_tag(&c, TEL_TAG_UDP_PROBE));
    pi = udp4(a4(9, 9, 9, 9), DARK + 1, 33000, 53); /* a DNS query is a probe */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_UDP_PROBE));
    pi = udp4(a4(9, 9, 9, 9), DARK + 1, 33000, 6881);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_MISCONFIG));
    pi = udp4(a4(9, 9, 9, 9), DARK + 1, 33000, 6890);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_UDP_PROBE));
    /* DHT payload on other ports, read from the frame */
    uint8_t frame[TEL_SYNTH_MAX_FRAME];
    static const uint8_t dht[] = "d1:ad2:id20:";
    size_t n =
        tel_synth_udp4(frame, a4(7, 7, 7, 7), DARK + 2, 51413, 40001, dht, sizeof dht - 1, 1);
    assert_int_equal(pkt_decode(frame, n, PKT_LINK_ETHERNET, &pi), 0);
    tel_classify(&pi, frame + pi.payload_off, n - pi.payload_off, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_MISCONFIG));
    static const uint8_t notdht[] = "d2:xx";
    n = tel_synth_udp4(frame, a4(7, 7, 7, 7), DARK + 2, 51413, 40001, notdht, sizeof notdht - 1, 1);
    assert_int_equal(pkt_decode(frame, n, PKT_LINK_ETHERNET, &pi), 0);
    tel_classify(&pi, frame + pi.payload_off, n - pi.payload_off, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_UDP_PROBE));
}

static void test_classify_icmp_requests_replies_errors(void **state)
{
    struct tel_class c;
    struct pkt_info pi = icmp4(1, DARK + 1, 8);
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_ICMP_SCAN));
    pi.icmp_type = 0;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_BACKSCATTER));
    assert_int_equal(c.victim_kind, TEL_VICTIM_SRC);
    pi.icmp_type = 3;
    pi.has_inner = 1;
    pi.inner_dst_port = 53;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_BACKSCATTER));
    assert_int_equal(c.victim_kind, TEL_VICTIM_INNER);
    assert_int_equal(c.victim_port, 53);
    pi.has_inner = 0; /* an error without a quote: backscatter, no victim */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_BACKSCATTER));
    assert_int_equal(c.victim_kind, TEL_VICTIM_NONE);
    pi.icmp_type = 9; /* router advertisement */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_OTHER));
    pi.ip_version = 6;
    pi.proto = 58;
    pi.icmp_type = 128;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_ICMP_SCAN));
    pi.icmp_type = 129;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_BACKSCATTER));
}

static void test_classify_fragments_and_truncated(void **state)
{
    struct tel_class c;
    struct pkt_info pi = udp4(1, DARK + 1, 1, 2);
    pi.anomalies = PKT_FRAGMENT;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_true(has_tag(&c, TEL_TAG_FRAGMENT));
    assert_true(has_tag(&c, TEL_TAG_UDP_PROBE));
    pi.anomalies = PKT_FRAGMENT | PKT_NONFIRST_FRAG;
    pi.l4_ok = 0;
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_int_equal(c.tags, 1u << TEL_TAG_FRAGMENT);
    pi = tcp4(1, DARK + 1, 1, 2, 0x02, 0, 0);
    pi.l4_ok = 0; /* cut TCP header: not a scan we can judge */
    tel_classify(&pi, NULL, 0, TEL_FP_ALL, &c);
    assert_int_equal(c.tags, 1u << TEL_TAG_OTHER);
}

/* ---- victims ---- */

static void add_n(struct tel_victim_table *t, const struct ipaddr *v, int n, uint64_t t0,
                  uint64_t step)
{
    for (int i = 0; i < n; i++)
        assert_non_null(tel_victim_add(t, v, tel_addr_hash(v), t0 + (uint64_t)i * step, 40, 80,
                                       false, hash_mix64((uint64_t)i)));
}

static int count_emit(void *arg, const struct tel_victim *v)
{
    (*(int *)arg)++;
    return 0;
}

static void test_victim_packet_threshold_24_vs_25(void **state)
{
    struct tel_victim_thresholds th = {25, 60000, 0};
    struct tel_victim_table t;
    assert_int_equal(tel_victim_init(&t, 16, 1), 0);
    struct ipaddr v;
    ipaddr_from_v4(&v, a4(93, 184, 0, 10));
    add_n(&t, &v, 24, 1000000, 60000 / 23); /* 24 packets over 60 s */
    assert_int_equal(t.n, 1);
    assert_false(tel_victim_qualifies(&t.ent[0], &th));
    add_n(&t, &v, 1, 1000000 + 60000, 0);
    assert_true(tel_victim_qualifies(&t.ent[0], &th));
    tel_victim_release(&t);
}

static void test_victim_duration_threshold_59_vs_60_s(void **state)
{
    struct tel_victim_thresholds th = {25, 60000, 0};
    struct tel_victim_table t;
    assert_int_equal(tel_victim_init(&t, 16, 1), 0);
    struct ipaddr v;
    ipaddr_from_v4(&v, a4(93, 184, 0, 11));
    add_n(&t, &v, 30, 5000000, 0);
    add_n(&t, &v, 1, 5000000 + 59999, 0);
    assert_false(tel_victim_qualifies(&t.ent[0], &th));
    add_n(&t, &v, 1, 5000000 + 60000, 0);
    assert_true(tel_victim_qualifies(&t.ent[0], &th));
    tel_victim_release(&t);
}

static void test_victim_peak_sliding_window_29_vs_30(void **state)
{
    struct tel_victim_thresholds th = {1, 0, 30};
    struct tel_victim_table t;
    assert_int_equal(tel_victim_init(&t, 16, 1), 0);
    struct ipaddr v;
    ipaddr_from_v4(&v, a4(93, 184, 0, 12));
    /* 29 packets one per 2 s (58 s span, within a window), then a packet at +61 s which
     * pushes the first one out: peak stays 29. */
    add_n(&t, &v, 29, 10000000, 2000);
    assert_int_equal(t.ent[0].peak_ppm, 29);
    assert_false(tel_victim_qualifies(&t.ent[0], &th));
    add_n(&t, &v, 1, 10000000 + 60000, 0); /* second 60 falls out of first's window */
    assert_int_equal(t.ent[0].peak_ppm, 29);
    add_n(&t, &v, 1, 10000000 + 60500, 0);
    assert_int_equal(t.ent[0].peak_ppm, 30);
    assert_true(tel_victim_qualifies(&t.ent[0], &th));
    tel_victim_release(&t);
}

static void test_victim_expiry_and_cap(void **state)
{
    struct tel_victim_table t;
    assert_int_equal(tel_victim_init(&t, 2, 1), 0);
    struct ipaddr v1, v2, v3;
    ipaddr_from_v4(&v1, 1);
    ipaddr_from_v4(&v2, 2);
    ipaddr_from_v4(&v3, 3);
    add_n(&t, &v1, 1, 1000, 0);
    add_n(&t, &v2, 1, 200000, 0);
    assert_null(tel_victim_add(&t, &v3, tel_addr_hash(&v3), 1000, 40, 80, false, 1));
    assert_int_equal(t.dropped, 1);
    int n = 0;
    assert_int_equal(tel_victim_expire(&t, 1000 + TEL_VICTIM_TIMEOUT_MS, count_emit, &n), 0);
    assert_int_equal(n, 0); /* exactly at the timeout: still open */
    assert_int_equal(tel_victim_expire(&t, 1001 + TEL_VICTIM_TIMEOUT_MS, count_emit, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(t.n, 1);
    add_n(&t, &v2, 1, 200001, 0); /* still found after the compaction */
    assert_int_equal(t.ent[0].packets, 2);
    tel_victim_expire(&t, UINT64_MAX, count_emit, &n);
    assert_int_equal(n, 2);
    assert_int_equal(t.n, 0);
    tel_victim_release(&t);
}

/* ---- engine ---- */

struct capture {
    uint64_t cap_recv[TEL_LEVELS], cap_drop[TEL_LEVELS];
    int intervals[TEL_LEVELS];
    uint64_t packets[TEL_LEVELS];
    uint64_t last_start;
    int empty;
    int sources, infected, victims;
    char last_src[64];
    uint64_t last_src_packets;
    bool last_src_infected;
    unsigned fps_listed;
};

static int cap_interval(void *st, const struct tel_engine *e, const struct tel_bucket *b,
                        uint32_t res)
{
    struct capture *c = st;
    int lvl = res == 300 ? 1 : res == 3600 ? 2 : res == 86400 ? 3 : 0;
    if (res * 1000ull == tel_engine_opts(e)->interval_ms)
        lvl = 0;
    c->intervals[lvl]++;
    c->packets[lvl] += b->packets;
    c->cap_recv[lvl] += b->capture_received;
    c->cap_drop[lvl] += b->capture_dropped;
    if (lvl == 0) {
        c->last_start = b->start_ms;
        c->empty += b->packets == 0;
    }
    return 0;
}

static int cap_source(void *st, const struct tel_engine *e, const struct tel_src_rec *s)
{
    struct capture *c = st;
    c->sources++;
    c->infected += s->infected_iot;
    tel_engine_addr_text(e, &s->addr, c->last_src, sizeof c->last_src);
    c->last_src_packets = s->packets;
    c->last_src_infected = s->infected_iot;
    c->fps_listed = 0;
    for (int f = 0; f < TEL_FP_COUNT; f++)
        if (tel_src_fp_listed(s, (enum tel_fp)f))
            c->fps_listed |= 1u << f;
    assert_int_equal(c->fps_listed, s->fps_listed);
    return 0;
}

static int cap_victim(void *st, const struct tel_engine *e, const struct tel_victim *v)
{
    ((struct capture *)st)->victims++;
    return 0;
}

static const struct tel_sink_ops cap_ops = {"capture", cap_interval, cap_source, cap_victim};

/* An engine with default options but these, writing to one sink. */
static struct tel_engine *new_engine_to(const struct tel_sink_ops *ops, void *sink_state,
                                        size_t max_sources, size_t max_victims, const char *darknet)
{
    static struct tel_pmap_entry dk[4];
    int n = tel_pmap_parse_list(darknet, dk, 4);
    assert_true(n > 0);
    struct tel_opts o;
    tel_opts_defaults(&o);
    o.darknet = dk;
    o.n_darknet = (size_t)n;
    o.max_sources = max_sources;
    if (max_victims)
        o.max_victims = max_victims;
    o.sinks[0] = (struct tel_sink){ops, sink_state};
    o.n_sinks = 1;
    struct tel_engine *e;
    char err[256];
    assert_int_equal(tel_engine_new(&o, &e, err, sizeof err), 0);
    return e;
}

static struct tel_engine *new_engine(struct capture *cap, size_t max_sources, const char *darknet)
{
    return new_engine_to(&cap_ops, cap, max_sources, 0, darknet);
}

static void test_engine_capture_counters_per_interval(void **state)
{
    (void)state;
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 100, "198.18.0.0/16");
    uint64_t t0 = 1700000040000ull; /* an interval start */
    struct pkt_info pi = tcp4(a4(1, 1, 1, 1), DARK + 1, 1, 23, 0x02, 5, 1);
    assert_int_equal(tel_engine_decoded(e, t0 + 1, &pi, NULL, 60), 0);
    assert_false(tel_engine_has_capture_stats(e));
    tel_engine_set_capture_stats(e, 10, 1, 0); /* polled during the first interval */
    assert_true(tel_engine_has_capture_stats(e));
    assert_int_equal(tel_engine_tick(e, t0 + 60000), 0); /* closes it */
    assert_int_equal(cap.intervals[0], 1);
    assert_int_equal(cap.cap_recv[0], 10);
    assert_int_equal(cap.cap_drop[0], 1);
    tel_engine_set_capture_stats(e, 25, 4, 0); /* cumulative: +15 received, +3 dropped */
    assert_int_equal(tel_engine_tick(e, t0 + 120000), 0);
    assert_int_equal(cap.intervals[0], 2);
    assert_int_equal(cap.cap_recv[0], 25);
    assert_int_equal(cap.cap_drop[0], 4);
    tel_engine_set_capture_stats(e, 27, 4, 0);
    assert_int_equal(tel_engine_finish(e), 0); /* the last interval takes the rest */
    assert_int_equal(cap.cap_recv[0], 27);
    assert_int_equal(cap.cap_recv[1], 27); /* roll-ups sum their intervals */
    assert_int_equal(cap.cap_drop[3], 4);
    const struct tel_stats *st = tel_engine_stats_const(e);
    assert_int_equal(st->pcap_received, 27);
    tel_engine_free(e);
}

static void test_engine_counts_non_darknet_without_analysis(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 100, "198.18.0.0/16");
    struct pkt_info pi = tcp4(a4(1, 1, 1, 1), a4(8, 8, 8, 8), 1, 23, 0x02, a4(8, 8, 8, 8), 1);
    assert_int_equal(tel_engine_decoded(e, 1700000000000ull, &pi, NULL, 60), 0);
    pi = tcp4(a4(1, 1, 1, 1), DARK + 1, 1, 23, 0x02, 5, 1);
    assert_int_equal(tel_engine_decoded(e, 1700000000001ull, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_finish(e), 0);
    const struct tel_stats *st = tel_engine_stats_const(e);
    assert_int_equal(st->non_darknet_packets, 1);
    assert_int_equal(st->darknet_packets, 1);
    assert_int_equal(cap.sources, 1);          /* the non-darknet sender got no profile... */
    assert_int_equal(cap.last_src_packets, 1); /* ...and the darknet packet counted once */
    assert_int_equal(tel_engine_darknet_v4_size(e), 65536);
    tel_engine_free(e);
}

static void test_engine_emits_empty_intervals_and_rollups(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 100, "198.18.0.0/16");
    uint64_t t0 = 1700000040000ull; /* aligned to the minute */
    struct pkt_info pi = tcp4(a4(1, 1, 1, 1), DARK + 1, 1, 23, 0x02, 5, 1);
    assert_int_equal(tel_engine_decoded(e, t0 + 10, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_decoded(e, t0 + 5 * 60000 + 10, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_decoded(e, t0 + 2 * 60000, &pi, NULL, 60), 0); /* late */
    assert_int_equal(tel_engine_finish(e), 0);
    assert_int_equal(cap.intervals[0], 6);
    assert_int_equal(cap.empty, 4);
    assert_int_equal(cap.packets[0], 3);
    assert_int_equal(cap.last_start, t0 + 5 * 60000);
    assert_int_equal(tel_engine_stats_const(e)->late_packets, 1);
    /* every packet appears exactly once at each roll-up level */
    assert_int_equal(cap.packets[1], 3);
    assert_int_equal(cap.packets[2], 3);
    assert_int_equal(cap.packets[3], 3);
    tel_engine_free(e);
}

static void test_engine_time_jump_does_not_flood_empty_intervals(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 100, "198.18.0.0/16");
    struct pkt_info pi = tcp4(a4(1, 1, 1, 1), DARK + 1, 1, 23, 0x02, 5, 1);
    assert_int_equal(tel_engine_decoded(e, 1000000000000ull, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_decoded(e, 1700000000000ull, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_finish(e), 0);
    assert_int_equal(cap.intervals[0], 2);
    assert_int_equal(tel_engine_stats_const(e)->time_jumps, 1);
    assert_int_equal(cap.sources, 2); /* one profile per day */
    tel_engine_free(e);
}

static void test_engine_unicornscan_votes_and_mirai_infected(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 100, "198.18.0.0/16");
    uint64_t t = 1700000000000ull;
    uint32_t key = 0x1234abcd;
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t d = DARK + 100 + i;
        uint16_t dp = (uint16_t)(20 + i);
        struct pkt_info pi =
            tcp4(a4(60, 1, 1, 4), d, 40000, dp, 0x02,
                 key ^ __builtin_bswap32(d) ^ (((uint32_t)dp << 16) + 40000), (uint16_t)(i * 977));
        assert_int_equal(tel_engine_decoded(e, t + i, &pi, NULL, 40), 0);
    }
    assert_int_equal(tel_engine_finish(e), 0);
    assert_int_equal(cap.sources, 1);
    assert_int_equal(cap.fps_listed, 1u << TEL_FP_UNICORNSCAN);
    assert_false(cap.last_src_infected);
    tel_engine_free(e);

    memset(&cap, 0, sizeof cap);
    e = new_engine(&cap, 100, "198.18.0.0/16");
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t d = DARK + 100 + i;
        struct pkt_info pi = tcp4(a4(45, 1, 1, 1), d, 5555, 23, 0x02, d, (uint16_t)(i * 31));
        assert_int_equal(tel_engine_decoded(e, t + i, &pi, NULL, 40), 0);
    }
    assert_int_equal(tel_engine_finish(e), 0);
    assert_int_equal(cap.fps_listed, 1u << TEL_FP_MIRAI); /* fixed sport: no unicornscan */
    assert_true(cap.last_src_infected);
    tel_engine_free(e);
}

static void feed_iot(struct tel_engine *e, uint32_t src, int n, uint16_t port)
{
    for (int i = 0; i < n; i++) {
        struct pkt_info pi = tcp4(src, DARK + 1000 + (uint32_t)i * 17, 33000, port, 0x02,
                                  (uint32_t)hash_mix64((uint64_t)i), (uint16_t)(i * 7 + 3));
        assert_int_equal(tel_engine_decoded(e, 1700000000000ull + (uint64_t)i, &pi, NULL, 40), 0);
    }
}

static void test_engine_iot_rule_thresholds(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 100, "198.18.0.0/16");
    feed_iot(e, a4(60, 1, 1, 5), 3, 37215);
    assert_int_equal(tel_engine_finish(e), 0);
    assert_true(cap.last_src_infected);
    tel_engine_free(e);
    memset(&cap, 0, sizeof cap);
    e = new_engine(&cap, 100, "198.18.0.0/16");
    feed_iot(e, a4(60, 1, 1, 5), 2, 37215); /* one packet short */
    assert_int_equal(tel_engine_finish(e), 0);
    assert_false(cap.last_src_infected);
    tel_engine_free(e);
    memset(&cap, 0, sizeof cap);
    e = new_engine(&cap, 100, "198.18.0.0/16");
    feed_iot(e, a4(60, 1, 1, 5), 3, 443); /* not an IoT port */
    assert_int_equal(tel_engine_finish(e), 0);
    assert_false(cap.last_src_infected);
    tel_engine_free(e);
    memset(&cap, 0, sizeof cap);
    e = new_engine(&cap, 100, "198.18.0.0/16");
    feed_iot(e, a4(10, 1, 1, 5), 10, 23); /* bogon source: never infected */
    assert_int_equal(tel_engine_finish(e), 0);
    assert_false(cap.last_src_infected);
    tel_engine_free(e);
}

static void test_engine_icmp_error_victim_needs_darknet_inner_source(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 100, "198.18.0.0/16");
    for (int i = 0; i < 40; i++) {
        struct pkt_info pi = icmp4(a4(93, 184, 0, 1), DARK + (uint32_t)i, 3);
        pi.has_inner = 1;
        pi.inner_proto = 17;
        ipaddr_from_v4(&pi.inner_src, DARK + (uint32_t)i);
        ipaddr_from_v4(&pi.inner_dst, a4(93, 184, 0, 30));
        pi.inner_dst_port = 53;
        assert_int_equal(
            tel_engine_decoded(e, 1700000000000ull + (uint64_t)i * 2000, &pi, NULL, 56), 0);
        /* the same error quoting a packet not from the darknet: no victim */
        ipaddr_from_v4(&pi.inner_src, a4(5, 5, 5, 5));
        ipaddr_from_v4(&pi.inner_dst, a4(93, 184, 0, 31));
        assert_int_equal(
            tel_engine_decoded(e, 1700000000000ull + (uint64_t)i * 2000, &pi, NULL, 56), 0);
    }
    assert_int_equal(tel_engine_finish(e), 0);
    assert_int_equal(cap.victims, 1);
    tel_engine_free(e);
}

static void test_engine_privacy_mode_hashes_sources(void **state)
{
    struct capture cap = {0};
    struct tel_pmap_entry dk[1];
    assert_int_equal(tel_pmap_parse_list("198.18.0.0/16", dk, 1), 1);
    struct tel_opts o;
    tel_opts_defaults(&o);
    o.darknet = dk;
    o.n_darknet = 1;
    o.privacy = true;
    o.sinks[0] = (struct tel_sink){&cap_ops, &cap};
    o.n_sinks = 1;
    struct tel_engine *e;
    char err[256];
    assert_int_equal(tel_engine_new(&o, &e, err, sizeof err), BS_EUSAGE); /* no key */
    o.privacy_key = "k";
    assert_int_equal(tel_engine_new(&o, &e, err, sizeof err), 0);
    struct pkt_info pi = tcp4(a4(45, 1, 1, 1), DARK + 1, 1, 23, 0x02, 5, 1);
    assert_int_equal(tel_engine_decoded(e, 1700000000000ull, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_finish(e), 0);
    assert_memory_equal(cap.last_src, "h:", 2);
    assert_null(strstr(cap.last_src, "45.1"));
    tel_engine_free(e);
}

static void test_engine_rejects_bad_options(void **state)
{
    struct tel_pmap_entry dk[1];
    assert_int_equal(tel_pmap_parse_list("198.18.0.0/16", dk, 1), 1);
    struct tel_opts o;
    tel_opts_defaults(&o);
    struct tel_engine *e;
    char err[256];
    assert_int_equal(tel_engine_new(&o, &e, err, sizeof err), BS_EUSAGE); /* no darknet */
    o.darknet = dk;
    o.n_darknet = 1;
    o.interval_ms = 7000; /* does not divide a day */
    assert_int_equal(tel_engine_new(&o, &e, err, sizeof err), BS_EUSAGE);
    o.interval_ms = 60000;
    o.bogons_path = "/nonexistent/bogons.txt";
    assert_true(tel_engine_new(&o, &e, err, sizeof err) < 0);
    assert_non_null(strstr(err, "bogons.txt"));
}

static void test_engine_darknet_size_counts_nested_prefixes_once(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e =
        new_engine(&cap, 10, "198.18.0.0/16,198.18.5.0/24,10.0.0.0/24,2001:db8::/32");
    assert_int_equal(tel_engine_darknet_v4_size(e), 65536 + 256);
    struct pkt_info pi = tcp4(1, 1, 1, 23, 0x02, 5, 1);
    ipaddr_parse("2001:db8::77", &pi.dst);
    pi.ip_version = 6;
    assert_int_equal(tel_engine_decoded(e, 1700000000000ull, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_stats_const(e)->darknet_packets, 1);
    tel_engine_free(e);
}

/* ---- bounded memory under a flood ---- */

static long rss_pages(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return rss;
}

static void test_flood_of_spoofed_sources_keeps_memory_bounded(void **state)
{
    struct capture cap = {0};
    struct tel_engine *e = new_engine(&cap, 50000, "198.18.0.0/16");
    uint64_t t = 1700000000000ull;
    struct pkt_info pi = tcp4(0, DARK, 1, 80, 0x12, 0, 1);
    long before = 0;
    /* Two million random sources, in memory (no pcap): SYN-ACK backscatter style, so the
     * victim table is flooded too. */
    for (uint32_t i = 0; i < 2000000; i++) {
        uint64_t r = hash_mix64(i + 99);
        ipaddr_from_v4(&pi.src, (uint32_t)r);
        ipaddr_from_v4(&pi.dst, DARK + ((uint32_t)(r >> 32) & 0xffff));
        pi.dst_port = (uint16_t)(r >> 48);
        assert_int_equal(tel_engine_decoded(e, t + i / 1000, &pi, NULL, 40), 0);
        if (i == 200000)
            before = rss_pages();
    }
    long after = rss_pages();
    const struct tel_stats *st = tel_engine_stats_const(e);
    assert_true(st->dropped_source_packets > 1900000);
    /* 50000 profiles of 128 bytes and an index of 131072 slots of 8 bytes (single-packet
     * IPv4 sources need neither extensions nor sketches): under 8 MB */
    assert_true(st->peak_source_memory <= 8u * 1024 * 1024);
    assert_true(st->peak_victim_memory <=
                65536 * (sizeof(struct tel_victim) + 8 * sizeof(uint32_t)));
    assert_true(st->dropped_victim_packets > 0);
    /* After the tables filled (first 200k packets), RSS must not keep growing with input:
     * allow 48 MB of slack (the victim table may still double once). */
    long page = sysconf(_SC_PAGESIZE);
    assert_true((after - before) * page < 48l * 1024 * 1024);
    assert_int_equal(tel_engine_finish(e), 0);
    st = tel_engine_stats_const(e);
    assert_int_equal(cap.sources, 50000);
    assert_true(st->dropped_sources > 1800000 && st->dropped_sources < 2100000);
    tel_engine_free(e);
}

/* tel_src_order() lists every profile of t, strictly in address order. */
static void check_address_order(const struct tel_src_table *t)
{
    uint32_t *order = tel_src_order(t);
    assert_non_null(order);
    for (size_t i = 1; i < t->n; i++) {
        struct ipaddr x, y;
        tel_src_addr(t, &t->ent[order[i - 1]], &x);
        tel_src_addr(t, &t->ent[order[i]], &y);
        if (ipaddr_cmp(&x, &y) >= 0)
            fail_msg("%zu profiles: out of order at %zu", t->n, i);
    }
    free(order);
}

static void test_src_table_cap_and_lookup(void **state)
{
    struct tel_src_table t;
    assert_int_equal(tel_src_init(&t, 3000, 42), 0);
    bool created;
    for (uint32_t i = 0; i < 3000; i++) {
        struct ipaddr a;
        ipaddr_from_v4(&a, i * 2654435761u);
        struct tel_src *s = tel_src_get(&t, &a, tel_addr_hash(&a), &created);
        assert_non_null(s);
        assert_true(created);
        s->packets = i;
    }
    struct ipaddr a;
    ipaddr_from_v4(&a, 0xffffffffu);
    assert_null(tel_src_get(&t, &a, tel_addr_hash(&a), &created));
    for (uint32_t i = 0; i < 3000; i += 97) {
        ipaddr_from_v4(&a, i * 2654435761u);
        struct tel_src *s = tel_src_get(&t, &a, tel_addr_hash(&a), &created);
        assert_non_null(s);
        assert_false(created);
        assert_int_equal(s->packets, i);
    }
    check_address_order(&t);
    ipaddr_from_v4(&a, 7 * 2654435761u);
    struct tel_src *s = tel_src_get(&t, &a, tel_addr_hash(&a), &created);
    assert_non_null(s);
    assert_int_equal(s->packets, 7);
    tel_src_clear(&t);
    assert_int_equal(t.n, 0);
    tel_src_release(&t);
}

static void test_bucket_merge_adds_counts_and_top_ports(void **state)
{
    static struct tel_bucket a, b;
    tel_bucket_reset(&a, 0, 60000);
    tel_bucket_reset(&b, 60000, 60000);
    struct tel_agg_pkt p = {.bytes = 40,
                            .tags = 1u << TEL_TAG_TCP_SCAN,
                            .proto = 6,
                            .ip_version = 4,
                            .has_port = 1,
                            .dst_port = 23};
    for (int i = 0; i < 5; i++) {
        p.src_hash = hash_mix64((uint64_t)i);
        p.dst_hash = hash_mix64((uint64_t)i + 100);
        tel_bucket_add(&a, &p);
    }
    p.dst_port = 80;
    tel_bucket_add(&b, &p);
    tel_bucket_add(&b, &p);
    tel_bucket_merge(&a, &b);
    assert_int_equal(a.packets, 7);
    assert_int_equal(a.tag_packets[TEL_TAG_TCP_SCAN], 7);
    struct tel_port_row rows[4];
    size_t n = tel_bucket_top_ports(&a, 0, false, rows, 4);
    assert_int_equal(n, 2);
    assert_int_equal(rows[0].port, 23);
    assert_int_equal(rows[0].packets, 5);
    assert_int_equal(rows[0].sources, 5);
    assert_int_equal(rows[1].port, 80);
    n = tel_bucket_top_ports(&a, 1, false, rows, 4);
    assert_int_equal(n, 0);
}

static void test_bucket_unique_counts_per_tag_protocol_icmp_type(void **state)
{
    (void)state;
    static struct tel_bucket a, b;
    tel_bucket_init(&a, 0, 60000);
    tel_bucket_init(&b, 60000, 60000);
    struct tel_agg_pkt p = {.bytes = 28,
                            .tags = 1u << TEL_TAG_ICMP_SCAN | 1u << TEL_TAG_BOGON,
                            .proto = 1,
                            .ip_version = 4,
                            .has_icmp = 1,
                            .icmp_type = 8};
    for (int i = 0; i < 6; i++) { /* 3 sources, each to 2 destinations */
        p.src_hash = hash_mix64((uint64_t)(i / 2));
        p.dst_hash = hash_mix64((uint64_t)i + 1000);
        tel_bucket_add(&a, &p);
    }
    assert_int_equal(a.tag_bytes[TEL_TAG_ICMP_SCAN], 6 * 28);
    assert_int_equal(hll_estimate(a.tag_uniq[TEL_TAG_ICMP_SCAN].hll_src, TEL_AGG_PORT_P), 3);
    assert_int_equal(hll_estimate(a.tag_uniq[TEL_TAG_BOGON].hll_dst, TEL_AGG_PORT_P), 6);
    assert_int_equal(hll_estimate(a.proto_uniq[1].hll_src, TEL_AGG_PORT_P), 3);
    assert_int_equal(hll_estimate(a.icmp_uniq[8].hll_dst, TEL_AGG_PORT_P), 6);
    assert_int_equal(hll_estimate(a.icmp6_uniq[8].hll_dst, TEL_AGG_PORT_P), 0);
    /* another source in the next bucket, merged: 4 sources, 7 destinations */
    p.src_hash = hash_mix64(99);
    p.dst_hash = hash_mix64(1000); /* seen before */
    tel_bucket_add(&b, &p);
    p.dst_hash = hash_mix64(2000);
    tel_bucket_add(&b, &p);
    tel_bucket_merge(&a, &b);
    assert_int_equal(a.tag_packets[TEL_TAG_ICMP_SCAN], 8);
    assert_int_equal(hll_estimate(a.tag_uniq[TEL_TAG_ICMP_SCAN].hll_src, TEL_AGG_PORT_P), 4);
    assert_int_equal(hll_estimate(a.proto_uniq[1].hll_dst, TEL_AGG_PORT_P), 7);
    assert_int_equal(hll_estimate(a.icmp_uniq[8].hll_src, TEL_AGG_PORT_P), 4);
    /* a reset forgets them */
    tel_bucket_reset(&a, 120000, 60000);
    assert_int_equal(a.tag_packets[TEL_TAG_ICMP_SCAN], 0);
    assert_int_equal(hll_estimate(a.tag_uniq[TEL_TAG_ICMP_SCAN].hll_src, TEL_AGG_PORT_P), 0);
    assert_int_equal(hll_estimate(a.proto_uniq[1].hll_src, TEL_AGG_PORT_P), 0);
    assert_int_equal(hll_estimate(a.icmp_uniq[8].hll_src, TEL_AGG_PORT_P), 0);
}

/* ---- mapped pcap reader ---- */

static void put_le32(uint8_t *p, uint32_t v, bool be)
{
    for (int i = 0; i < 4; i++)
        p[be ? 3 - i : i] = (uint8_t)(v >> (8 * i));
}

/* Writes a classic pcap with two records (the second cut by `cut` bytes). */
static void write_pcap(const char *path, uint32_t magic, bool be, size_t cut)
{
    uint8_t buf[256];
    size_t n = 0;
    put_le32(buf, magic, be);
    put_le32(buf + 4, 0x00040002, be); /* version fields, not checked */
    memset(buf + 8, 0, 8);
    put_le32(buf + 16, 65535, be);
    put_le32(buf + 20, 1, be);
    n = 24;
    for (int r = 0; r < 2; r++) {
        put_le32(buf + n, 1700000000u + (uint32_t)r, be);
        put_le32(buf + n + 4, 123456789u, be);
        put_le32(buf + n + 8, 20, be);
        put_le32(buf + n + 12, 60, be);
        memset(buf + n + 16, 0xab, 20);
        n += 36;
    }
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n - cut, f), n - cut);
    fclose(f);
}

/* ---- tel_engine_reset: a reused engine gives what a fresh one gives ---- */

struct rec_sink {
    FILE *f;
};

static int rec_interval(void *st, const struct tel_engine *e, const struct tel_bucket *b,
                        uint32_t res)
{
    (void)e;
    FILE *f = ((struct rec_sink *)st)->f;
    fprintf(f,
            "I %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
            " %" PRIu64 "\n",
            res, b->start_ms, b->packets, b->bytes, b->non_darknet_packets, b->late_packets,
            b->packets ? hll_estimate(b->hll_src, TEL_AGG_HLL_P) : 0,
            b->packets ? hll_estimate(b->hll_dst, TEL_AGG_HLL_P) : 0, b->dropped_sources);
    for (int i = 0; i < TEL_TAG_COUNT; i++)
        fprintf(f, " t%" PRIu64, b->tag_packets[i]);
    struct tel_port_row rows[8];
    size_t n = tel_bucket_top_ports(b, -1, true, rows, 8);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " p%u/%u:%" PRIu64 ",%" PRIu64 ",%" PRIu64, rows[i].port, rows[i].is_udp,
                rows[i].packets, rows[i].sources, rows[i].destinations);
    fputc('\n', f);
    return 0;
}

static int rec_source(void *st, const struct tel_engine *e, const struct tel_src_rec *r)
{
    (void)e;
    FILE *f = ((struct rec_sink *)st)->f;
    char a[IPADDR_STRLEN];
    ipaddr_format(&r->addr, a, sizeof a);
    fprintf(f,
            "S %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
            " %x %u %u %s %d %x",
            a, r->day_ms, r->packets, r->bytes, r->first_ms, r->last_ms, r->destinations,
            r->port_count, r->tag_union, r->syn_packets, r->iot_packets, r->scan_class,
            r->infected_iot, r->fps_listed);
    for (unsigned i = 0; i < r->nports; i++)
        fprintf(f, " %u", r->ports[i]);
    fputc('\n', f);
    return 0;
}

static int rec_victim(void *st, const struct tel_engine *e, const struct tel_victim *v)
{
    (void)e;
    char a[IPADDR_STRLEN];
    ipaddr_format(&v->addr, a, sizeof a);
    fprintf(((struct rec_sink *)st)->f, "V %s %" PRIu64 " %" PRIu64 " %" PRIu64 " %u\n", a,
            v->packets, v->first_ms, v->last_ms, v->peak_ppm);
    return 0;
}

static const struct tel_sink_ops rec_ops = {"record", rec_interval, rec_source, rec_victim};

/* Feeds the capture at path (up to max packets) to e. */
static void feed_pcap(struct tel_engine *e, const char *path, size_t max)
{
    struct pcapmm *m;
    assert_int_equal(pcapmm_open(path, &m), 0);
    struct pcapin_pkt pk;
    for (size_t i = 0; i < max && pcapmm_next(m, &pk) == 1; i++)
        assert_int_equal(tel_engine_packet(e, pk.ts_us, pk.data, pk.caplen, pk.wirelen, pk.link),
                         0);
    pcapmm_close(m);
}

static char *run_recorded(struct tel_engine *e, struct rec_sink *rs, const char *path,
                          struct tel_stats *st)
{
    char *text = NULL;
    size_t len = 0;
    rs->f = open_memstream(&text, &len);
    assert_non_null(rs->f);
    feed_pcap(e, path, SIZE_MAX);
    assert_int_equal(tel_engine_finish(e), 0);
    *st = *tel_engine_stats_const(e);
    fclose(rs->f);
    rs->f = NULL;
    return text;
}

static struct tel_engine *new_rec_engine(struct rec_sink *rs)
{
    /* fewer sources than the inputs have: drops are counted too */
    return new_engine_to(&rec_ops, rs, 1500, 64, "198.18.0.0/16,2001:db8:dead::/48");
}

static void test_engine_reset_gives_what_a_fresh_engine_gives(void **state)
{
    (void)state;
    char a_path[] = "/tmp/tel_reset_a_XXXXXX", b_path[] = "/tmp/tel_reset_b_XXXXXX";
    close(mkstemp(a_path));
    close(mkstemp(b_path));
    struct tel_synth_opts so = {
        .scenario = "bench", .packets = 30000, .sources = 4000, .zipf = true, .seed = 11};
    assert_int_equal(ipprefix_parse("198.18.0.0/16", &so.dark4), 0);
    so.start_ms = 1700006400000ull - 1800000; /* half an hour before a UTC midnight */
    assert_int_equal(tel_synth_write(a_path, &so), 0);
    struct tel_synth_opts sg = {.scenario = "golden", .seed = 3, .start_ms = 1700000040000ull};
    sg.dark4 = so.dark4;
    assert_int_equal(ipprefix_parse("2001:db8:dead::/48", &sg.dark6), 0);
    assert_int_equal(tel_synth_write(b_path, &sg), 0);

    struct rec_sink rs1 = {0}, rs2 = {0};
    struct tel_stats st1, st2;
    struct tel_engine *fresh = new_rec_engine(&rs1);
    char *want = run_recorded(fresh, &rs1, b_path, &st1);
    tel_engine_free(fresh);
    assert_true(strstr(want, "\nS ") && strstr(want, "\nV ")); /* sources and victims */

    struct tel_engine *e = new_rec_engine(&rs2);
    char *first = run_recorded(e, &rs2, a_path, &st2); /* a whole other input, two days */
    assert_true(st2.dropped_source_packets > 0);
    free(first);
    for (int round = 0; round < 2; round++) {
        tel_engine_reset(e);
        char *got = run_recorded(e, &rs2, b_path, &st2);
        assert_string_equal(got, want);
        assert_memory_equal(&st2, &st1, sizeof st1);
        free(got);
        /* second round: reset in the middle of an input, before finishing it */
        tel_engine_reset(e);
        rs2.f = fopen("/dev/null", "w");
        feed_pcap(e, a_path, 20000);
        fclose(rs2.f);
        rs2.f = NULL;
    }
    tel_engine_free(e);
    free(want);
    unlink(a_path);
    unlink(b_path);
}

static void test_pcapmm_reads_both_byte_orders_and_nanoseconds(void **state)
{
    char path[] = "/tmp/tel_mm_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    static const struct {
        uint32_t magic;
        bool be;
        uint64_t frac_us;
    } cases[] = {
        {0xa1b2c3d4, false, 123456789},
        {0xa1b2c3d4, true, 123456789},
        {0xa1b23c4d, false, 123456},
        {0xa1b23c4d, true, 123456},
    };
    for (size_t i = 0; i < 4; i++) {
        write_pcap(path, cases[i].magic, cases[i].be, 0);
        struct pcapmm *m;
        assert_int_equal(pcapmm_open(path, &m), 0);
        struct pcapin_pkt pk;
        assert_int_equal(pcapmm_next(m, &pk), 1);
        assert_int_equal(pk.caplen, 20);
        assert_int_equal(pk.wirelen, 60);
        assert_int_equal(pk.link, PKT_LINK_ETHERNET);
        assert_true(pk.ts_us == 1700000000ull * 1000000 + cases[i].frac_us);
        assert_int_equal(pk.data[19], 0xab);
        assert_int_equal(pcapmm_next(m, &pk), 1);
        assert_int_equal(pcapmm_next(m, &pk), 0);
        pcapmm_close(m);
    }
    unlink(path);
}

static void test_pcapmm_truncated_record_and_fallbacks(void **state)
{
    char path[] = "/tmp/tel_mm_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    struct pcapmm *m;
    struct pcapin_pkt pk;
    write_pcap(path, 0xa1b2c3d4, false, 5); /* second record's data cut */
    assert_int_equal(pcapmm_open(path, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), 1);
    assert_int_equal(pcapmm_next(m, &pk), BS_ETRUNC);
    pcapmm_close(m);
    write_pcap(path, 0xa1b2c3d4, false, 30); /* second record header cut */
    assert_int_equal(pcapmm_open(path, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), 1);
    assert_int_equal(pcapmm_next(m, &pk), BS_ETRUNC);
    pcapmm_close(m);
    write_pcap(path, 0x0a0d0d0a, false, 0); /* pcapng: left to pcapin */
    assert_int_equal(pcapmm_open(path, &m), BS_EUNSUPPORTED);
    assert_int_equal(pcapmm_open("-", &m), BS_EUNSUPPORTED);
    FILE *f = fopen(path, "wb");
    fputs("short", f);
    fclose(f);
    assert_int_equal(pcapmm_open(path, &m), BS_EUNSUPPORTED);
    unlink(path);
    assert_true(pcapmm_open(path, &m) < 0);
}

/* A classic pcap in memory: little-endian microseconds, Ethernet, one record with the given
 * caplen/wirelen fields and have bytes of data actually present. */
static size_t mem_pcap(uint8_t *buf, uint32_t linktype, uint32_t caplen, uint32_t wirelen,
                       size_t have)
{
    static const uint8_t fh[20] = {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4,    0,    0, 0,
                                   0,    0,    0,    0,    0, 0, 0xff, 0xff, 0, 0};
    memcpy(buf, fh, sizeof fh);
    memcpy(buf + 20, &linktype, 4);
    uint32_t rec[4] = {1700000000u, 5u, caplen, wirelen};
    memcpy(buf + 24, rec, sizeof rec);
    memset(buf + 40, 0xab, have);
    return 40 + have;
}

static void test_pcapmm_mem_caplen_lies_and_huge_caplen(void **state)
{
    (void)state;
    static uint8_t buf[64 + PCAPMM_MAX_CAPLEN];
    struct pcapmm *m;
    struct pcapin_pkt pk;
    /* wirelen smaller than caplen: raised to caplen */
    size_t n = mem_pcap(buf, 1, 10, 4, 10);
    assert_int_equal(pcapmm_open_mem(buf, n, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), 1);
    assert_int_equal(pk.caplen, 10);
    assert_int_equal(pk.wirelen, 10);
    assert_ptr_equal(pk.data, buf + 40);
    assert_true(pk.ts_us == 1700000000ull * 1000000 + 5);
    assert_int_equal(pcapmm_next(m, &pk), 0);
    pcapmm_close(m);
    /* caplen above the snaplen (65535) but within the cap: read, as libpcap does */
    n = mem_pcap(buf, 1, 70000, 70000, 70000);
    assert_int_equal(pcapmm_open_mem(buf, n, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), 1);
    assert_int_equal(pk.caplen, 70000);
    pcapmm_close(m);
    /* caplen past the cap: malformed, and it stays so */
    n = mem_pcap(buf, 1, PCAPMM_MAX_CAPLEN + 1, 60, PCAPMM_MAX_CAPLEN + 1);
    assert_int_equal(pcapmm_open_mem(buf, n, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), BS_EMALFORMED);
    assert_int_equal(pcapmm_next(m, &pk), BS_EMALFORMED);
    pcapmm_close(m);
    /* caplen 0xffffffff with few bytes present */
    n = mem_pcap(buf, 1, 0xffffffffu, 60, 8);
    assert_int_equal(pcapmm_open_mem(buf, n, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), BS_EMALFORMED);
    pcapmm_close(m);
    /* caplen within the cap but past the end of the data */
    n = mem_pcap(buf, 1, 100, 100, 99);
    assert_int_equal(pcapmm_open_mem(buf, n, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), BS_ETRUNC);
    pcapmm_close(m);
    /* a link type pkt.h does not decode, and a header cut short: left to pcapin */
    n = mem_pcap(buf, 147, 10, 10, 10);
    assert_int_equal(pcapmm_open_mem(buf, n, &m), BS_EUNSUPPORTED);
    assert_int_equal(pcapmm_open_mem(buf, 23, &m), BS_EUNSUPPORTED);
    assert_null(m);
    /* the FCS bits of the link type field are ignored */
    n = mem_pcap(buf, 1u | 0x14000000u, 10, 10, 10);
    assert_int_equal(pcapmm_open_mem(buf, n, &m), 0);
    assert_int_equal(pcapmm_next(m, &pk), 1);
    assert_int_equal(pk.link, PKT_LINK_ETHERNET);
    pcapmm_close(m);
}

static void test_src_destinations_exact_then_sketch_then_pool_limit(void **state)
{
    struct tel_src_table t;
    assert_int_equal(tel_src_init(&t, 100, 1), 0); /* pool: 1024 sketches */
    struct ipaddr a;
    ipaddr_from_v4(&a, a4(45, 1, 1, 1));
    bool created;
    struct tel_src *s = tel_src_get(&t, &a, tel_addr_hash(&a), &created);
    assert_non_null(s);
    for (int rep = 0; rep < 3; rep++)
        for (uint32_t i = 0; i < 7; i++) {
            struct ipaddr d;
            ipaddr_from_v4(&d, DARK + i);
            tel_src_add_dst(&t, s, tel_addr_hash(&d));
        }
    assert_int_equal(tel_src_dst_count(&t, s), 7); /* exact, repeats ignored */
    assert_int_equal(t.nsketch, 0);
    for (uint32_t i = 7; i < 100; i++) {
        struct ipaddr d;
        ipaddr_from_v4(&d, DARK + i);
        tel_src_add_dst(&t, s, tel_addr_hash(&d));
    }
    assert_int_equal(t.nsketch, 1);
    uint64_t est = tel_src_dst_count(&t, s);
    assert_true(est >= 90 && est <= 110);
    /* exhaust the pool: the next source stops at "more than 7" */
    t.nsketch = t.max_sketch;
    ipaddr_from_v4(&a, a4(45, 1, 1, 2));
    s = tel_src_get(&t, &a, tel_addr_hash(&a), &created);
    for (uint32_t i = 0; i < 20; i++) {
        struct ipaddr d;
        ipaddr_from_v4(&d, DARK + i);
        tel_src_add_dst(&t, s, tel_addr_hash(&d));
    }
    assert_int_equal(tel_src_dst_count(&t, s), 8);
    assert_int_equal(t.sketch_exhausted, 1);
    tel_src_release(&t);
}

/* The index grows by doubling, re-placing entries from their stored hash bits alone: after
 * many doublings (and on IPv6 sources too) every source is still found, with its profile,
 * by lookup and by the pipeline's prefetch probe. */
static void test_src_table_index_growth_keeps_every_source(void **state)
{
    (void)state;
    struct tel_src_table t;
    assert_int_equal(tel_src_init(&t, 300000, 7), 0);
    size_t cap0 = t.index_cap;
    bool created;
    const uint32_t n = 200000;
    for (uint32_t i = 0; i < n; i++) {
        struct ipaddr a;
        ipaddr_from_v4(&a, i * 2654435761u + 12345u);
        if (i % 5 == 0) { /* some IPv6 sources */
            memset(a.b, 0, sizeof a.b);
            a.b[0] = 0x20;
            a.b[1] = 0x01;
            memcpy(a.b + 12, &i, sizeof i);
        }
        struct tel_src *s = tel_src_get(&t, &a, tel_addr_hash(&a), &created);
        assert_non_null(s);
        assert_true(created);
        s->packets = i + 1;
    }
    assert_true(t.index_cap >= 16 * cap0);
    for (uint32_t i = 0; i < n; i++) {
        struct ipaddr a;
        ipaddr_from_v4(&a, i * 2654435761u + 12345u);
        if (i % 5 == 0) {
            memset(a.b, 0, sizeof a.b);
            a.b[0] = 0x20;
            a.b[1] = 0x01;
            memcpy(a.b + 12, &i, sizeof i);
        }
        uint64_t h = tel_addr_hash(&a);
        struct tel_src *s = tel_src_get(&t, &a, h, &created);
        if (!s || created || s->packets != i + 1)
            fail_msg("source %u lost after the index grew", i);
        const struct tel_src *pf = tel_src_prefetch_entry(&t, tel_src_mix(&t, h));
        if (pf && pf != s && tel_src_holds(&t, pf, &a))
            fail_msg("source %u: the prefetch probe found another profile", i);
    }
    tel_src_release(&t);
}

/* A day's profiles are written in address order: the radix sort of all-IPv4 days (4096
 * sources and more) and the key sort (fewer, or any IPv6) agree with ipaddr_cmp. */
static void test_src_order_radix_and_key_sort(void **state)
{
    (void)state;
    const uint32_t sizes[] = {1, 100, 4095, 4096, 9000};
    uint64_t r = 99;
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        struct tel_src_table t;
        assert_int_equal(tel_src_init(&t, 10000, 9), 0);
        for (uint32_t i = 0; i < sizes[k]; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            struct ipaddr a;
            /* shared high halves, so the second radix pass decides many pairs */
            ipaddr_from_v4(&a, (uint32_t)(r >> 32) & 0xff00ffffu);
            bool created;
            assert_non_null(tel_src_get(&t, &a, tel_addr_hash(&a), &created));
        }
        check_address_order(&t);
        tel_src_release(&t);
    }
}

/* A profile keeps an address's last 32 bits and, for IPv6, the whole address in its
 * extension: IPv4 and IPv6 sources that share those bits stay distinct, each found again
 * (by lookup, hint and prefetch probe) and written with its own address. */
static void test_src_v4_and_v6_sharing_low_bits_stay_distinct(void **state)
{
    (void)state;
    struct tel_src_table t;
    assert_int_equal(tel_src_init(&t, 100, 5), 0);
    struct ipaddr a[4];
    ipaddr_from_v4(&a[0], a4(192, 0, 2, 1));
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [12] = 192, 0, 2, 1};
    ipaddr_from_v6(&a[1], b);
    b[3] = 0xb9;
    ipaddr_from_v6(&a[2], b);
    memset(b, 0, sizeof b); /* ::192.0.2.1 (IPv4-compatible, not IPv4-mapped) */
    b[12] = 192, b[13] = 0, b[14] = 2, b[15] = 1;
    ipaddr_from_v6(&a[3], b);
    struct tel_src *s[4];
    bool created;
    for (int i = 0; i < 4; i++) {
        s[i] = tel_src_get(&t, &a[i], tel_addr_hash(&a[i]), &created);
        assert_non_null(s[i]);
        assert_true(created);
        s[i]->packets = (uint64_t)i + 10;
    }
    for (int i = 0; i < 4; i++) {
        struct tel_src *again = tel_src_get(&t, &a[i], tel_addr_hash(&a[i]), &created);
        assert_ptr_equal(again, s[i]);
        assert_false(created);
        for (int j = 0; j < 4; j++) {
            assert_int_equal(tel_src_holds(&t, s[j], &a[i]), i == j);
            bool c2;
            assert_ptr_equal(tel_src_get_hinted(&t, &a[i], tel_addr_hash(&a[i]), s[j], &c2), s[i]);
        }
        struct tel_src_rec r;
        tel_src_read(&t, s[i], 0, &r);
        assert_int_equal(ipaddr_cmp(&r.addr, &a[i]), 0);
        assert_int_equal(r.packets, (uint64_t)i + 10);
    }
    check_address_order(&t); /* the general (not all-IPv4) sort */
    tel_src_release(&t);
}

/* Profile times are milliseconds from the day's start, signed (a late packet from the day
 * before), saturated far outside the day; tel_src_read() gives them back absolute. */
static void test_src_time_offsets(void **state)
{
    (void)state;
    const uint64_t day = 1700006400000ull; /* a UTC midnight */
    assert_int_equal(tel_src_time_off(day, day), 0);
    assert_int_equal(tel_src_time_off(day + 86399999, day), 86399999);
    assert_int_equal(tel_src_time_off(day - 1500, day), -1500);
    assert_int_equal(tel_src_time_off(day + (1ull << 40), day), INT32_MAX);
    assert_int_equal(tel_src_time_off(day - (1ull << 40), day), INT32_MIN);
    struct tel_src_table t;
    assert_int_equal(tel_src_init(&t, 10, 5), 0);
    struct ipaddr a;
    ipaddr_from_v4(&a, a4(45, 9, 9, 9));
    bool created;
    struct tel_src *s = tel_src_get(&t, &a, tel_addr_hash(&a), &created);
    s->first_off = tel_src_time_off(day - 1500, day);
    s->last_off = tel_src_time_off(day + 86399999, day);
    struct tel_src_rec r;
    tel_src_read(&t, s, day, &r);
    assert_int_equal(r.first_ms, day - 1500);
    assert_int_equal(r.last_ms, day + 86399999);
    tel_src_release(&t);
}

/* The vector membership tests (port list, exact destination set) agree with a linear search,
 * including value 0, which the unused (zeroed) lanes also hold; the port list runs from the
 * profile's eight into its extension and stops at sixteen, in first-seen order. */
/* A new profile for 45.b.(trial >> 8).trial in t. */
static struct tel_src *new_profile(struct tel_src_table *t, uint8_t b, int trial)
{
    struct ipaddr a;
    ipaddr_from_v4(&a, a4(45, b, (uint8_t)(trial >> 8), (uint8_t)trial));
    bool created;
    struct tel_src *s = tel_src_get(t, &a, tel_addr_hash(&a), &created);
    assert_non_null(s);
    assert_true(created);
    return s;
}

static void test_src_port_and_destination_sets_match_linear_search(void **state)
{
    (void)state;
    uint64_t r = 12345;
    struct tel_src_table pt;
    assert_int_equal(tel_src_init(&pt, 4000, 3), 0);
    for (int trial = 0; trial < 2000; trial++) {
        struct tel_src *s = new_profile(&pt, 3, trial);
        uint16_t want[TEL_SRC_PORTS];
        unsigned want_n = 0, adds = (unsigned)(trial % 40);
        for (unsigned i = 0; i < adds; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            uint16_t port = (uint16_t)((r >> 59) % 24); /* 0..23: many repeats and zeros */
            tel_src_add_port(&pt, s, port);
            bool listed = false;
            for (unsigned k = 0; k < want_n; k++)
                listed |= want[k] == port;
            if (!listed && want_n < TEL_SRC_PORTS)
                want[want_n++] = port;
            for (uint16_t q = 0; q < 26; q++) {
                bool linear = false;
                for (unsigned k = 0; k < want_n; k++)
                    linear |= want[k] == q;
                if (tel_src_has_port(&pt, s, q) != linear)
                    fail_msg("trial %d: port %u with %u listed", trial, q, want_n);
            }
        }
        struct tel_src_rec rec;
        tel_src_read(&pt, s, 0, &rec);
        assert_int_equal(rec.nports, want_n);
        assert_memory_equal(rec.ports, want, want_n * sizeof *want);
        if (want_n < TEL_SRC_PORTS)
            assert_int_equal(rec.port_count, want_n);
        else /* the 24 values less the 16 listed go to the sketch */
            assert_true(rec.port_count >= TEL_SRC_PORTS && rec.port_count <= TEL_SRC_PORTS + 8 + 2);
    }
    for (int trial = 0; trial < 500; trial++) {
        struct tel_src *s = new_profile(&pt, 2, trial);
        uint32_t seen[8];
        unsigned n = 0;
        for (int k = 0; k < 12 && n < TEL_SRC_DST_SMALL; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t h = (uint32_t)(r >> 61); /* 0..7 in the kept 32 bits */
            tel_src_add_dst(&pt, s, (uint64_t)h << 32 | (r & 0xffffffffu));
            bool dup = false;
            for (unsigned i = 0; i < n; i++)
                dup |= seen[i] == h;
            if (!dup)
                seen[n++] = h;
            assert_int_equal(tel_src_dst_count(&pt, s), n);
        }
    }
    tel_src_release(&pt);
}

/* The decimal writer of every number in the source lines agrees with printf at every length
 * boundary (powers of ten and two, +-1), the 8-digit chunk edges and random values. */
static void check_u64(uint64_t v)
{
    char got[32], want[32];
    char *end = tel_out_format_u64(got, v);
    *end = '\0';
    snprintf(want, sizeof want, "%" PRIu64, v);
    if (strcmp(got, want))
        fail_msg("%s written as '%s'", want, got);
}

static void test_format_u64_matches_printf(void **state)
{
    (void)state;
    uint64_t p10 = 1;
    for (int i = 0; i < 20; i++, p10 *= 10)
        for (int d = -2; d <= 2; d++)
            check_u64(p10 + (uint64_t)(int64_t)d);
    for (int i = 0; i < 64; i++)
        for (int d = -1; d <= 1; d++)
            check_u64((1ull << i) + (uint64_t)(int64_t)d);
    check_u64(0);
    check_u64(UINT64_MAX);
    check_u64(10000000099999999ull);
    check_u64(1700000065112ull);
    uint64_t r = 99;
    for (int i = 0; i < 100000; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        check_u64(r >> (r & 63));
    }
}

/* The integer rate formatter must write exactly what printf's %.6g writes: fixed and
 * exponent forms, rounding up to the next power of ten, exact ties, sub-second spans. */
static void check_rate(uint64_t packets, uint64_t first, uint64_t last)
{
    char got[32], want[32];
    uint64_t d = last - first < 1000 ? 1000 : last - first;
    snprintf(want, sizeof want, "%.6g", (double)packets * 1000.0 / (double)d);
    size_t n = tel_out_format_rate(got, packets, first, last);
    if (strcmp(got, want) || n != strlen(want))
        fail_msg("packets %llu span %llu: got '%s', want '%s'", (unsigned long long)packets,
                 (unsigned long long)d, got, want);
}

static void test_rate_format_matches_printf_g6(void **state)
{
    (void)state;
    static const uint64_t fixed[][2] = {
        {1, 0},           {8, 3600000},          {1, 86400000},
        {2, 86400000},    {999999, 1000},        {1000000, 1000},
        {9999995, 10000}, {1234565, 10000000},   {5, 4000},
        {3, 7},           {123, 456789},         {1, 3},
        {7, 9999},        {99999950, 100000000}, {1, 10001},
        {1, 9999999},     {40, 567158},          {1ull << 41, 5000},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
        check_rate(fixed[i][0], 1000000, 1000000 + fixed[i][1]);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t packets = 1 + (x & 0xffff) % (1u + (unsigned)((x >> 20) & 0xffff));
        uint64_t span = (x >> 36) % (i & 1 ? 86400001ull : 20000ull);
        check_rate(packets, 1700000000000ull, 1700000000000ull + span);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hll_estimates_within_error_bounds),
        cmocka_unit_test(test_hll_duplicates_do_not_count_and_merge_is_union),
        cmocka_unit_test(test_pmap_longest_prefix_wins_and_edges),
        cmocka_unit_test(test_pmap_lookup_matches_brute_force_longest_prefix),
        cmocka_unit_test(test_pmap_guided_lookup_matches_full_search),
        cmocka_unit_test(test_iot_port_set_is_exactly_the_listed_ports),
        cmocka_unit_test(test_pmap_default_route_and_duplicates),
        cmocka_unit_test(test_pmap_loaders_report_bad_line),
        cmocka_unit_test(test_pmap_parse_list),
        cmocka_unit_test(test_siphash_reference_vector),
        cmocka_unit_test(test_keyhash_pseudonyms_depend_on_key_only),
        cmocka_unit_test(test_classify_syn_is_scan_synack_rst_are_backscatter),
        cmocka_unit_test(test_classify_abnormal_flag_combinations),
        cmocka_unit_test(test_fp_mirai_seq_equals_destination_boundary),
        cmocka_unit_test(test_fp_masscan_ip_id_relation_boundary),
        cmocka_unit_test(test_fp_zmap_ip_id_54321_boundary),
        cmocka_unit_test(test_fp_nmap_window_and_mss_only),
        cmocka_unit_test(test_fp_unicorn_key_constant_across_targets),
        cmocka_unit_test(test_classify_udp_misconfig_rule),
        cmocka_unit_test(test_classify_icmp_requests_replies_errors),
        cmocka_unit_test(test_classify_fragments_and_truncated),
        cmocka_unit_test(test_victim_packet_threshold_24_vs_25),
        cmocka_unit_test(test_victim_duration_threshold_59_vs_60_s),
        cmocka_unit_test(test_victim_peak_sliding_window_29_vs_30),
        cmocka_unit_test(test_victim_expiry_and_cap),
        cmocka_unit_test(test_engine_counts_non_darknet_without_analysis),
        cmocka_unit_test(test_engine_capture_counters_per_interval),
        cmocka_unit_test(test_engine_emits_empty_intervals_and_rollups),
        cmocka_unit_test(test_engine_time_jump_does_not_flood_empty_intervals),
        cmocka_unit_test(test_engine_unicornscan_votes_and_mirai_infected),
        cmocka_unit_test(test_engine_iot_rule_thresholds),
        cmocka_unit_test(test_engine_icmp_error_victim_needs_darknet_inner_source),
        cmocka_unit_test(test_engine_privacy_mode_hashes_sources),
        cmocka_unit_test(test_engine_rejects_bad_options),
        cmocka_unit_test(test_engine_darknet_size_counts_nested_prefixes_once),
        cmocka_unit_test(test_src_table_cap_and_lookup),
        cmocka_unit_test(test_src_table_index_growth_keeps_every_source),
        cmocka_unit_test(test_src_port_and_destination_sets_match_linear_search),
        cmocka_unit_test(test_src_v4_and_v6_sharing_low_bits_stay_distinct),
        cmocka_unit_test(test_src_time_offsets),
        cmocka_unit_test(test_src_order_radix_and_key_sort),
        cmocka_unit_test(test_engine_reset_gives_what_a_fresh_engine_gives),
        cmocka_unit_test(test_bucket_merge_adds_counts_and_top_ports),
        cmocka_unit_test(test_bucket_unique_counts_per_tag_protocol_icmp_type),
        cmocka_unit_test(test_pcapmm_reads_both_byte_orders_and_nanoseconds),
        cmocka_unit_test(test_pcapmm_truncated_record_and_fallbacks),
        cmocka_unit_test(test_pcapmm_mem_caplen_lies_and_huge_caplen),
        cmocka_unit_test(test_src_destinations_exact_then_sketch_then_pool_limit),
        cmocka_unit_test(test_flood_of_spoofed_sources_keeps_memory_bounded),
        cmocka_unit_test(test_rate_format_matches_printf_g6),
        cmocka_unit_test(test_format_u64_matches_printf),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
