/* Unit tests for src/collect/dgram.c, frag.c and allow.c: UDP payload extraction from frames
 * (IPv4, IPv6, VLAN, fragments in and out of order), bounded reassembly, the allow-list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "collect/allow.h"
#include "collect/dgram.h"
#include "collect/frag.h"
#include "core/err.h"

static size_t put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
    return 2;
}

static size_t eth(uint8_t *f, uint16_t vlan, uint16_t type)
{
    size_t n = 0;
    memset(f, 0x02, 12);
    n = 12;
    if (vlan) {
        n += put16(f + n, 0x8100);
        n += put16(f + n, vlan);
    }
    n += put16(f + n, type);
    return n;
}

/* IPv4 header 192.0.2.1 -> 192.0.2.2; returns 20. */
static size_t ipv4(uint8_t *p, uint16_t tot, uint16_t id, uint16_t flags_off, uint8_t proto)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, tot);
    put16(p + 4, id);
    put16(p + 6, flags_off);
    p[8] = 64;
    p[9] = proto;
    p[12] = 192, p[13] = 0, p[14] = 2, p[15] = 1;
    p[16] = 192, p[17] = 0, p[18] = 2, p[19] = 2;
    return 20;
}

static size_t udp(uint8_t *p, uint16_t sport, uint16_t dport, uint16_t payload_len)
{
    put16(p, sport);
    put16(p + 2, dport);
    put16(p + 4, (uint16_t)(payload_len + 8));
    put16(p + 6, 0);
    return 8;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i);
}

static void test_dgram_ipv4_udp_payload_without_padding(void **state)
{
    uint8_t f[128];
    size_t n = eth(f, 0, 0x0800);
    n += ipv4(f + n, 20 + 8 + 10, 1, 0, 17);
    n += udp(f + n, 1234, 2055, 10);
    fill(f + n, 10, 7);
    n += 10;
    memset(f + n, 0, 8); /* Ethernet padding must not reach the payload */
    n += 8;
    struct dgram d;
    assert_int_equal(dgram_from_frame(NULL, f, n, PKT_LINK_ETHERNET, 0, &d), DGRAM_OK);
    assert_int_equal(d.len, 10);
    assert_int_equal(d.data[0], 7);
    assert_int_equal(d.src_port, 1234);
    assert_int_equal(d.dst_port, 2055);
    assert_true(ipaddr_is_v4(&d.src));
    assert_int_equal(ipaddr_v4(&d.src), 0xc0000201);
}

static void test_dgram_vlan_tagged_frame(void **state)
{
    uint8_t f[128];
    size_t n = eth(f, 42, 0x0800);
    n += ipv4(f + n, 20 + 8 + 4, 1, 0, 17);
    n += udp(f + n, 9995, 6343, 4);
    fill(f + n, 4, 1);
    n += 4;
    struct dgram d;
    assert_int_equal(dgram_from_frame(NULL, f, n, PKT_LINK_ETHERNET, 0, &d), DGRAM_OK);
    assert_int_equal(d.len, 4);
    assert_int_equal(d.dst_port, 6343);
}

static void test_dgram_ipv6_udp(void **state)
{
    uint8_t f[128];
    size_t n = eth(f, 0, 0x86dd);
    uint8_t *ip = f + n;
    memset(ip, 0, 40);
    ip[0] = 0x60;
    put16(ip + 4, 8 + 6);
    ip[6] = 17;
    ip[7] = 64;
    ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 1;
    ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[39] = 2;
    n += 40;
    n += udp(f + n, 4739, 4739, 6);
    fill(f + n, 6, 3);
    n += 6;
    struct dgram d;
    assert_int_equal(dgram_from_frame(NULL, f, n, PKT_LINK_ETHERNET, 0, &d), DGRAM_OK);
    assert_int_equal(d.len, 6);
    assert_false(ipaddr_is_v4(&d.src));
    assert_int_equal(d.src.b[15], 1);
    assert_int_equal(d.dst.b[15], 2);
}

static void test_dgram_tcp_and_arp_are_skipped(void **state)
{
    uint8_t f[128];
    size_t n = eth(f, 0, 0x0800);
    n += ipv4(f + n, 40, 1, 0, 6);
    memset(f + n, 0, 20);
    f[n + 12] = 0x50;
    n += 20;
    struct dgram d;
    assert_int_equal(dgram_from_frame(NULL, f, n, PKT_LINK_ETHERNET, 0, &d), DGRAM_NOT_UDP);
    n = eth(f, 0, 0x0806);
    memset(f + n, 0, 28);
    n += 28;
    assert_int_equal(dgram_from_frame(NULL, f, n, PKT_LINK_ETHERNET, 0, &d), DGRAM_NOT_IP);
}

static void test_dgram_snaplen_cut_is_truncated(void **state)
{
    uint8_t f[128];
    size_t n = eth(f, 0, 0x0800);
    n += ipv4(f + n, 20 + 8 + 40, 1, 0, 17);
    n += udp(f + n, 1, 2, 40);
    fill(f + n, 10, 0); /* only 10 of 40 payload bytes captured */
    n += 10;
    struct dgram d;
    assert_int_equal(dgram_from_frame(NULL, f, n, PKT_LINK_ETHERNET, 0, &d), DGRAM_TRUNCATED);
}

/* Builds the two fragments of one 1600-byte UDP payload; frag 0 has the UDP header. */
static void two_fragments(uint8_t *f1, size_t *n1, uint8_t *f2, size_t *n2, uint8_t *payload,
                          uint16_t id)
{
    const size_t plen = 1600, first = 1480; /* IP payload bytes in fragment 1 */
    uint8_t whole[8 + 1600];
    udp(whole, 5000, 2055, (uint16_t)plen);
    fill(payload, plen, 9);
    memcpy(whole + 8, payload, plen);
    size_t n = eth(f1, 0, 0x0800);
    n += ipv4(f1 + n, (uint16_t)(20 + first), id, 0x2000, 17);
    memcpy(f1 + n, whole, first);
    *n1 = n + first;
    n = eth(f2, 0, 0x0800);
    size_t rest = sizeof whole - first;
    n += ipv4(f2 + n, (uint16_t)(20 + rest), id, (uint16_t)(first / 8), 17);
    memcpy(f2 + n, whole + first, rest);
    *n2 = n + rest;
}

static void test_dgram_two_ipv4_fragments_in_order(void **state)
{
    static uint8_t f1[1600], f2[1600], payload[1600];
    size_t n1, n2;
    two_fragments(f1, &n1, f2, &n2, payload, 77);
    struct frag_table *ft = calloc(1, sizeof *ft);
    frag_table_init(ft);
    struct dgram d;
    assert_int_equal(dgram_from_frame(ft, f1, n1, PKT_LINK_ETHERNET, 1, &d), DGRAM_FRAG_HELD);
    assert_int_equal(dgram_from_frame(ft, f2, n2, PKT_LINK_ETHERNET, 2, &d), DGRAM_OK);
    assert_int_equal(d.len, 1600);
    assert_memory_equal(d.data, payload, 1600);
    assert_int_equal(d.src_port, 5000);
    assert_int_equal(ft->st.completed, 1);
    /* without a table, a fragment cannot be used */
    assert_int_equal(dgram_from_frame(NULL, f1, n1, PKT_LINK_ETHERNET, 1, &d), DGRAM_FRAG_BAD);
    frag_table_release(ft);
    free(ft);
}

static void test_dgram_two_ipv4_fragments_out_of_order(void **state)
{
    static uint8_t f1[1600], f2[1600], payload[1600];
    size_t n1, n2;
    two_fragments(f1, &n1, f2, &n2, payload, 78);
    struct frag_table *ft = calloc(1, sizeof *ft);
    frag_table_init(ft);
    struct dgram d;
    assert_int_equal(dgram_from_frame(ft, f2, n2, PKT_LINK_ETHERNET, 1, &d), DGRAM_FRAG_HELD);
    assert_int_equal(dgram_from_frame(ft, f1, n1, PKT_LINK_ETHERNET, 2, &d), DGRAM_OK);
    assert_int_equal(d.len, 1600);
    assert_memory_equal(d.data, payload, 1600);
    frag_table_release(ft);
    free(ft);
}

static void test_dgram_ipv6_fragments(void **state)
{
    static uint8_t whole[8 + 100], f[2][256];
    size_t fl[2];
    udp(whole, 4739, 4739, 100);
    fill(whole + 8, 100, 5);
    const size_t cut = 56; /* multiple of 8 */
    for (int i = 0; i < 2; i++) {
        size_t n = eth(f[i], 0, 0x86dd);
        uint8_t *ip = f[i] + n;
        size_t part = i == 0 ? cut : sizeof whole - cut;
        memset(ip, 0, 48);
        ip[0] = 0x60;
        put16(ip + 4, (uint16_t)(8 + part));
        ip[6] = 44;
        ip[8] = 0x20, ip[23] = 1, ip[24] = 0x20, ip[39] = 2;
        uint8_t *fh = ip + 40;
        fh[0] = 17;
        put16(fh + 2, (uint16_t)((i == 0 ? 0 : cut) | (i == 0 ? 1 : 0)));
        fh[7] = 0x33; /* identification */
        memcpy(fh + 8, whole + (i == 0 ? 0 : cut), part);
        fl[i] = n + 48 + part;
    }
    struct frag_table *ft = calloc(1, sizeof *ft);
    frag_table_init(ft);
    struct dgram d;
    assert_int_equal(dgram_from_frame(ft, f[0], fl[0], PKT_LINK_ETHERNET, 1, &d), DGRAM_FRAG_HELD);
    assert_int_equal(dgram_from_frame(ft, f[1], fl[1], PKT_LINK_ETHERNET, 1, &d), DGRAM_OK);
    assert_int_equal(d.len, 100);
    assert_memory_equal(d.data, whole + 8, 100);
    frag_table_release(ft);
    free(ft);
}

static void test_frag_misaligned_and_oversized_fragments_are_bad(void **state)
{
    struct frag_table *ft = calloc(1, sizeof *ft);
    frag_table_init(ft);
    struct frag_key k = {.id = 1, .proto = 17};
    uint8_t p[64] = {0};
    const uint8_t *out;
    size_t out_len;
    /* a non-last fragment must carry a multiple of 8 bytes */
    assert_int_equal(frag_table_add(ft, &k, 0, true, p, 13, 0, &out, &out_len), BS_EMALFORMED);
    /* nothing may end past 64 KiB */
    assert_int_equal(frag_table_add(ft, &k, 65528, false, p, 16, 0, &out, &out_len), BS_EMALFORMED);
    assert_int_equal(ft->st.bad, 2);
    frag_table_release(ft);
    free(ft);
}

static void test_frag_timeout_and_eviction_are_bounded(void **state)
{
    struct frag_table *ft = calloc(1, sizeof *ft);
    frag_table_init(ft);
    uint8_t p[8] = {0};
    const uint8_t *out;
    size_t out_len;
    /* fill every slot with a first fragment that never completes */
    for (uint32_t i = 0; i < FRAG_MAX_PENDING; i++) {
        struct frag_key k = {.id = i, .proto = 17};
        assert_int_equal(frag_table_add(ft, &k, 0, true, p, 8, 100 + i, &out, &out_len), 0);
    }
    struct frag_key k = {.id = 9999, .proto = 17};
    assert_int_equal(frag_table_add(ft, &k, 0, true, p, 8, 500, &out, &out_len), 0);
    assert_int_equal(ft->st.evicted, 1);
    /* much later: every pending datagram times out */
    k.id = 10000;
    assert_int_equal(
        frag_table_add(ft, &k, 0, true, p, 8, 500 + FRAG_TIMEOUT_US + 1000, &out, &out_len), 0);
    assert_int_equal(ft->st.timed_out, FRAG_MAX_PENDING);
    frag_table_release(ft);
    free(ft);
}

static void test_frag_duplicate_fragment_counts_overlap(void **state)
{
    struct frag_table *ft = calloc(1, sizeof *ft);
    frag_table_init(ft);
    struct frag_key k = {.id = 5, .proto = 17};
    uint8_t a[16], b[4];
    fill(a, 16, 1);
    fill(b, 4, 100);
    const uint8_t *out;
    size_t out_len;
    assert_int_equal(frag_table_add(ft, &k, 0, true, a, 16, 0, &out, &out_len), 0);
    assert_int_equal(frag_table_add(ft, &k, 0, true, a, 16, 0, &out, &out_len), 0);
    assert_int_equal(ft->st.overlaps, 1);
    assert_int_equal(frag_table_add(ft, &k, 16, false, b, 4, 0, &out, &out_len), 1);
    assert_int_equal(out_len, 20);
    assert_int_equal(out[16], 100);
    frag_table_release(ft);
    free(ft);
}

static void test_allow_list_prefixes_both_families(void **state)
{
    struct allow_list a;
    char err[128];
    const char *items[] = {"192.0.2.0/24", "2001:db8::/32", "198.51.100.7"};
    assert_int_equal(allow_list_parse(&a, items, 3, err, sizeof err), 0);
    struct ipaddr x;
    assert_int_equal(ipaddr_parse("192.0.2.200", &x), 0);
    assert_true(allow_list_permits(&a, &x));
    assert_int_equal(ipaddr_parse("192.0.3.1", &x), 0);
    assert_false(allow_list_permits(&a, &x));
    assert_int_equal(ipaddr_parse("198.51.100.7", &x), 0);
    assert_true(allow_list_permits(&a, &x));
    assert_int_equal(ipaddr_parse("198.51.100.8", &x), 0);
    assert_false(allow_list_permits(&a, &x));
    assert_int_equal(ipaddr_parse("2001:db8:1::5", &x), 0);
    assert_true(allow_list_permits(&a, &x));
    assert_int_equal(ipaddr_parse("::ffff:192.0.2.9", &x), 0); /* dual-stack socket form */
    assert_true(allow_list_permits(&a, &x));
    allow_list_release(&a);
}

static void test_allow_list_empty_allows_all_and_bad_item_named(void **state)
{
    struct allow_list a;
    char err[128];
    assert_int_equal(allow_list_parse(&a, NULL, 0, err, sizeof err), 0);
    struct ipaddr x;
    assert_int_equal(ipaddr_parse("203.0.113.1", &x), 0);
    assert_true(allow_list_permits(&a, &x));
    const char *bad[] = {"192.0.2.0/24", "not-a-prefix"};
    assert_int_equal(allow_list_parse(&a, bad, 2, err, sizeof err), BS_EPARSE);
    assert_non_null(strstr(err, "not-a-prefix"));
    assert_null(a.pfx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dgram_ipv4_udp_payload_without_padding),
        cmocka_unit_test(test_dgram_vlan_tagged_frame),
        cmocka_unit_test(test_dgram_ipv6_udp),
        cmocka_unit_test(test_dgram_tcp_and_arp_are_skipped),
        cmocka_unit_test(test_dgram_snaplen_cut_is_truncated),
        cmocka_unit_test(test_dgram_two_ipv4_fragments_in_order),
        cmocka_unit_test(test_dgram_two_ipv4_fragments_out_of_order),
        cmocka_unit_test(test_dgram_ipv6_fragments),
        cmocka_unit_test(test_frag_misaligned_and_oversized_fragments_are_bad),
        cmocka_unit_test(test_frag_timeout_and_eviction_are_bounded),
        cmocka_unit_test(test_frag_duplicate_fragment_counts_overlap),
        cmocka_unit_test(test_allow_list_prefixes_both_families),
        cmocka_unit_test(test_allow_list_empty_allows_all_and_bad_item_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
