/* Unit tests for src/proto/pkt.c: every layer and every anomaly on both sides of its boundary,
 * built as byte arrays, plus the outer headers of real captures checked against tshark. */
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
#include "core/ipaddr.h"
#include "proto/pkt.h"

/* ---- packet builders ---- */

static size_t put16(uint8_t *b, unsigned v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
    return 2;
}

static size_t put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
    return 4;
}

static size_t eth(uint8_t *b, unsigned ethertype)
{
    memset(b, 0, 12);
    b[0] = 0x02;
    b[6] = 0x02;
    b[11] = 1;
    put16(b + 12, ethertype);
    return 14;
}

/* IPv4 header with ihl 32-bit words (options zero-filled). */
static size_t ipv4(uint8_t *b, unsigned ihl, unsigned tot, unsigned fo, unsigned proto,
                   uint32_t src, uint32_t dst)
{
    size_t n = ihl < 5 ? 20 : ihl * 4;
    memset(b, 0, n);
    b[0] = (uint8_t)(0x40 | ihl);
    b[1] = 0xb8; /* DSCP EF */
    put16(b + 2, tot);
    put16(b + 4, 0x1234);
    put16(b + 6, fo);
    b[8] = 64;
    b[9] = (uint8_t)proto;
    put32(b + 12, src);
    put32(b + 16, dst);
    return n;
}

static const uint8_t v6a[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t v6b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static size_t ipv6(uint8_t *b, unsigned plen, unsigned nh, const uint8_t *src, const uint8_t *dst)
{
    put32(b, 6u << 28 | 0x2eu << 20 | 0x12345);
    put16(b + 4, plen);
    b[6] = (uint8_t)nh;
    b[7] = 55;
    memcpy(b + 8, src, 16);
    memcpy(b + 24, dst, 16);
    return 40;
}

static size_t tcp(uint8_t *b, unsigned sport, unsigned dport, unsigned doff, unsigned flags)
{
    size_t n = doff < 5 ? 20 : doff * 4;
    memset(b, 0, n);
    put16(b, sport);
    put16(b + 2, dport);
    put32(b + 4, 0x11223344);
    put32(b + 8, 0x55667788);
    b[12] = (uint8_t)(doff << 4);
    b[13] = (uint8_t)flags;
    put16(b + 14, 29200);
    put16(b + 18, 7);
    for (size_t i = 20; i < n; i++)
        b[i] = 1; /* NOP options */
    return n;
}

static size_t udp(uint8_t *b, unsigned sport, unsigned dport, unsigned len)
{
    put16(b, sport);
    put16(b + 2, dport);
    put16(b + 4, len);
    put16(b + 6, 0);
    return 8;
}

/* Decodes a heap copy of exactly len bytes, so ASan catches any read past the capture. */
static int decode_exact(const uint8_t *b, size_t len, enum pkt_link link, struct pkt_info *pi)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, b, len);
    int rc = pkt_decode(copy, len, link, pi);
    /* Borrowed pointers must not outlive the copy in the test. */
    pi->tcp_opts = pi->tcp_opts ? (const uint8_t *)b + (pi->tcp_opts - copy) : NULL;
    free(copy);
    return rc;
}

/* Ethernet / IPv4 / TCP with doff words of TCP header; returns the frame length. */
static size_t eth_v4_tcp(uint8_t *b, unsigned doff, unsigned flags)
{
    size_t n = eth(b, 0x0800);
    size_t th = doff < 5 ? 20 : doff * 4;
    n += ipv4(b + n, 5, (unsigned)(20 + th + 4), 0x4000, 6, 0xc0000201, 0xc6336402);
    n += tcp(b + n, 40000, 23, doff, flags);
    memcpy(b + n, "abcd", 4);
    return n + 4;
}

static void assert_v4(const struct ipaddr *a, uint32_t v)
{
    assert_true(ipaddr_is_v4(a));
    assert_int_equal(ipaddr_v4(a), v);
}

/* ---- Ethernet / IPv4 / TCP ---- */

static void test_pkt_eth_ipv4_tcp_all_fields(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 5, 0xc2); /* SYN + ECE + CWR */
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.ip_version, 4);
    assert_int_equal(pi.proto, 6);
    assert_v4(&pi.src, 0xc0000201);
    assert_v4(&pi.dst, 0xc6336402);
    assert_int_equal(pi.ip_len, 44);
    assert_int_equal(pi.ip_id, 0x1234);
    assert_int_equal(pi.ip_df, 1);
    assert_int_equal(pi.frag_off, 0);
    assert_int_equal(pi.ttl, 64);
    assert_int_equal(pi.tos, 0xb8);
    assert_int_equal(pi.vlan_count, 0);
    assert_int_equal(pi.l4_ok, 1);
    assert_int_equal(pi.src_port, 40000);
    assert_int_equal(pi.dst_port, 23);
    assert_int_equal(pi.tcp_flags, 0xc2);
    assert_int_equal(pi.tcp_hdr_len, 20);
    assert_int_equal(pi.tcp_seq, 0x11223344);
    assert_int_equal(pi.tcp_ack, 0x55667788);
    assert_int_equal(pi.tcp_window, 29200);
    assert_int_equal(pi.tcp_urgent, 7);
    assert_int_equal(pi.tcp_opts_len, 0);
    assert_int_equal(pi.l3_off, 14);
    assert_int_equal(pi.l4_off, 34);
    assert_int_equal(pi.payload_off, 54);
    assert_int_equal(pi.caplen, n);
    assert_memory_equal(b + pi.payload_off, "abcd", 4);
}

static void test_pkt_tcp_options_are_borrowed(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 7, 0x02);
    struct pkt_info pi;
    assert_int_equal(pkt_decode(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.tcp_hdr_len, 28);
    assert_ptr_equal(pi.tcp_opts, b + 54);
    assert_int_equal(pi.tcp_opts_len, 8);
    assert_int_equal(pi.payload_off, 62);
}

static void test_pkt_ipv4_ihl_4_is_bad_ihl_5_is_fine(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 5, 0x10);
    b[14] = 0x44;
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_BAD_IHL);
    assert_int_equal(pi.l4_ok, 0);
    assert_int_equal(pi.src_port, 0);
    assert_v4(&pi.src, 0xc0000201); /* the fixed header is still reported */
    b[14] = 0x45;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_false(pi.anomalies & PKT_BAD_IHL);
    assert_int_equal(pi.l4_ok, 1);
}

static void test_pkt_ipv4_options_skipped_and_cut_options_truncate(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth(b, 0x0800);
    n += ipv4(b + n, 6, 24 + 8, 0, 17, 0x0a000001, 0x0a000002);
    n += udp(b + n, 53, 5353, 8);
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.l4_off, 38);
    assert_int_equal(pi.src_port, 53);
    assert_int_equal(pi.dst_port, 5353);
    assert_int_equal(pi.l4_ok, 1);
    /* Options cut: the IP header itself is incomplete. */
    assert_int_equal(decode_exact(b, 14 + 23, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
    assert_true(pi.anomalies & PKT_TRUNC);
    assert_int_equal(decode_exact(b, 14 + 24, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_TRUNC); /* the UDP header is now missing */
    assert_int_equal(pi.l4_ok, 0);
}

static void test_pkt_tcp_offset_4_is_bad_5_is_fine(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 5, 0x18);
    b[34 + 12] = 4 << 4;
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_BAD_TCP_OFF);
    assert_int_equal(pi.tcp_opts_len, 0);
    b[34 + 12] = 5 << 4;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
}

static void test_pkt_tcp_offset_past_ip_packet_is_bad(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 5, 0x18); /* IP length 44: 20 IP + 20 TCP + 4 payload */
    struct pkt_info pi;
    b[34 + 12] = 6 << 4; /* 24 bytes: still inside the 24 bytes after the IP header */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_false(pi.anomalies & PKT_BAD_TCP_OFF);
    assert_int_equal(pi.tcp_opts_len, 4);
    b[34 + 12] = 7 << 4; /* 28 bytes: past the packet */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_BAD_TCP_OFF);
}

static void test_pkt_tcp_options_cut_by_capture_is_trunc_not_bad(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 8, 0x02); /* 32-byte TCP header, IP length covers it */
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n - 4 - 6, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_TRUNC);
    assert_false(pi.anomalies & PKT_BAD_TCP_OFF);
    assert_int_equal(pi.l4_ok, 1);
    assert_int_equal(pi.tcp_opts_len, 6);
}

static void test_pkt_caplen_one_byte_short_of_tcp_header(void **state)
{
    (void)state;
    uint8_t b[128];
    eth_v4_tcp(b, 5, 0x02);
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, 34 + 19, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_TRUNC);
    assert_int_equal(pi.l4_ok, 0);
    assert_int_equal(pi.src_port, 40000); /* ports were captured */
    assert_int_equal(pi.dst_port, 23);
    assert_int_equal(pi.tcp_flags, 0);
    assert_int_equal(pi.payload_off, 34 + 19);
    assert_int_equal(decode_exact(b, 34 + 20, PKT_LINK_ETHERNET, &pi), 0);
    assert_false(pi.anomalies & PKT_TRUNC);
    assert_int_equal(pi.l4_ok, 1);
    assert_int_equal(pi.tcp_flags, 0x02);
    assert_int_equal(pi.payload_off, 54);
}

static void test_pkt_ip_header_cut_is_etrunc(void **state)
{
    (void)state;
    uint8_t b[128];
    eth_v4_tcp(b, 5, 0x02);
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, 14 + 19, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
    assert_true(pi.anomalies & PKT_TRUNC);
    assert_int_equal(pi.ip_version, 0);
    assert_int_equal(decode_exact(b, 14 + 20, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.ip_version, 4);
    assert_int_equal(decode_exact(b, 13, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
    assert_int_equal(decode_exact(b, 14, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
    assert_int_equal(decode_exact(b, 0, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
}

static void test_pkt_ip_total_length_checks(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth_v4_tcp(b, 5, 0x02);
    struct pkt_info pi;
    /* Captured less than stated: normal for sampled headers, no anomaly. */
    put16(b + 16, 1500);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.ip_len, 1500);
    /* Total length equal to the header length is consistent; one less is not. */
    put16(b + 16, 20);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_false(pi.anomalies & PKT_BAD_IPLEN);
    assert_true(pi.anomalies & PKT_TRUNC); /* no room for TCP inside 20 bytes */
    put16(b + 16, 19);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_BAD_IPLEN);
    assert_int_equal(pi.l4_ok, 1); /* decoding goes on with what was captured */
}

static void test_pkt_ethernet_padding_not_taken_as_transport(void **state)
{
    (void)state;
    uint8_t b[60];
    memset(b, 0xee, sizeof b);
    size_t n = eth(b, 0x0800);
    n += ipv4(b + n, 5, 28, 0, 17, 1, 2);
    udp(b + n, 1, 2, 8);
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, sizeof b, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.payload_off, 42);
    /* A TCP header whose offset points into the padding is past the IP packet. */
    n = eth(b, 0x0800);
    n += ipv4(b + n, 5, 40, 0, 6, 1, 2);
    tcp(b + n, 1, 2, 6, 0x02);
    assert_int_equal(decode_exact(b, sizeof b, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_BAD_TCP_OFF);
}

static void test_pkt_ipv4_fragments(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth(b, 0x0800);
    n += ipv4(b + n, 5, 1500, 0x2000, 17, 1, 2); /* first fragment: MF, offset 0 */
    n += udp(b + n, 500, 4500, 1480);
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, PKT_FRAGMENT);
    assert_int_equal(pi.l4_ok, 1);
    assert_int_equal(pi.dst_port, 4500);
    put16(b + 20, 0x2000 | 185); /* middle fragment */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, PKT_FRAGMENT | PKT_NONFIRST_FRAG);
    assert_int_equal(pi.frag_off, 185);
    assert_int_equal(pi.l4_ok, 0);
    assert_int_equal(pi.src_port, 0);
    assert_int_equal(pi.payload_off, n);
    put16(b + 20, 1); /* last fragment: offset 1, no MF */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, PKT_FRAGMENT | PKT_NONFIRST_FRAG);
    put16(b + 20, 0x4000); /* DF only: not a fragment */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.ip_df, 1);
}

/* ---- VLAN, MPLS, PPPoE ---- */

static void test_pkt_vlan_single_and_qinq(void **state)
{
    (void)state;
    uint8_t b[128];
    size_t n = eth(b, 0x8100);
    n += put16(b + n, 0x2000 | 100); /* PCP 1, VID 100 */
    n += put16(b + n, 0x0800);
    n += ipv4(b + n, 5, 28, 0, 17, 1, 2);
    n += udp(b + n, 1, 2, 8);
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.vlan_count, 1);
    assert_int_equal(pi.vlan, 100);
    assert_int_equal(pi.inner_vlan, 0);
    assert_int_equal(pi.l3_off, 18);
    assert_int_equal(pi.l4_ok, 1);

    n = eth(b, 0x88a8);
    n += put16(b + n, 300);
    n += put16(b + n, 0x8100);
    n += put16(b + n, 42);
    n += put16(b + n, 0x86dd);
    n += ipv6(b + n, 8, 17, v6a, v6b);
    n += udp(b + n, 3, 4, 8);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.vlan_count, 2);
    assert_int_equal(pi.vlan, 300);
    assert_int_equal(pi.inner_vlan, 42);
    assert_int_equal(pi.ip_version, 6);
    assert_int_equal(pi.l3_off, 22);
    assert_int_equal(pi.dst_port, 4);
    /* A tag cut in the middle. */
    assert_int_equal(decode_exact(b, 17, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
    assert_true(pi.anomalies & PKT_TRUNC);
}

static size_t stacked_vlans(uint8_t *b, unsigned tags)
{
    size_t n = eth(b, 0x9100);
    for (unsigned i = 0; i < tags; i++) {
        n += put16(b + n, i + 1);
        n += put16(b + n, i + 1 < tags ? 0x8100 : 0x0800);
    }
    n += ipv4(b + n, 5, 20, 0, 253, 1, 2);
    return n;
}

static void test_pkt_vlan_depth_8_ok_9_too_deep(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = stacked_vlans(b, 8);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.vlan_count, 8);
    assert_int_equal(pi.proto, 253);
    n = stacked_vlans(b, 9);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), BS_EUNSUPPORTED);
    assert_true(pi.anomalies & PKT_TOO_DEEP);
    assert_int_equal(pi.ip_version, 0);
}

static size_t mpls_stack(uint8_t *b, unsigned labels, int v6)
{
    size_t n = eth(b, 0x8847);
    for (unsigned i = 0; i < labels; i++)
        n += put32(b + n, (16 + i) << 12 | (i + 1 == labels ? 0x100u : 0) | 64);
    if (v6) {
        n += ipv6(b + n, 8, 17, v6a, v6b);
        n += udp(b + n, 9, 10, 8);
    } else {
        n += ipv4(b + n, 5, 28, 0, 17, 0x0a1f0001, 0x0a220001);
        n += udp(b + n, 9, 10, 8);
    }
    return n;
}

static void test_pkt_mpls_two_labels_then_ip(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = mpls_stack(b, 2, 0);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.mpls_labels, 2);
    assert_int_equal(pi.l3_off, 22);
    assert_v4(&pi.src, 0x0a1f0001);
    assert_int_equal(pi.dst_port, 10);
    n = mpls_stack(b, 1, 1);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.mpls_labels, 1);
    assert_int_equal(pi.ip_version, 6);
    assert_memory_equal(pi.dst.b, v6b, 16);
}

static void test_pkt_mpls_depth_8_ok_9_too_deep(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = mpls_stack(b, 8, 0);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.mpls_labels, 8);
    n = mpls_stack(b, 9, 0);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), BS_EUNSUPPORTED);
    assert_true(pi.anomalies & PKT_TOO_DEEP);
}

static void test_pkt_mpls_non_ip_payload_and_cut_stack(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = mpls_stack(b, 1, 0);
    b[18] = 0x00; /* pseudowire control word instead of an IP header */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), BS_EUNSUPPORTED);
    assert_true(pi.anomalies & PKT_UNKNOWN_L3);
    assert_int_equal(decode_exact(b, 16, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
    assert_int_equal(decode_exact(b, 18, PKT_LINK_ETHERNET, &pi), BS_ETRUNC);
}

static void test_pkt_pppoe_session_ipv4_and_ipv6(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = eth(b, 0x8864);
    b[n++] = 0x11;
    b[n++] = 0;
    n += put16(b + n, 0x0042);
    n += put16(b + n, 30);
    n += put16(b + n, 0x0021);
    n += ipv4(b + n, 5, 28, 0, 17, 5, 6);
    n += udp(b + n, 67, 68, 8);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.l3_off, 22);
    assert_v4(&pi.dst, 6);
    assert_int_equal(pi.dst_port, 68);
    put16(b + 20, 0x0057);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_BAD_VERSION); /* PPP said IPv6, the nibble says 4 */
    put16(b + 20, 0xc021);                       /* LCP */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), BS_EUNSUPPORTED);
}

static void test_pkt_arp_is_unsupported(void **state)
{
    (void)state;
    uint8_t b[64] = {0};
    size_t n = eth(b, 0x0806);
    struct pkt_info pi;
    memset(&pi, 0xa5, sizeof pi);
    assert_int_equal(decode_exact(b, n + 28, PKT_LINK_ETHERNET, &pi), BS_EUNSUPPORTED);
    assert_int_equal(pi.anomalies, PKT_UNKNOWN_L3);
    assert_int_equal(pi.ip_version, 0);
    assert_true(ipaddr_is_zero(&pi.src));
    assert_null(pi.tcp_opts);
    assert_int_equal(pi.caplen, n + 28);
}

/* ---- IPv6 ---- */

static void test_pkt_ipv6_hop_by_hop_and_fragment(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = eth(b, 0x86dd);
    n += ipv6(b + n, 8 + 8 + 8 + 4, 0, v6a, v6b);
    /* hop-by-hop, 8 bytes, next = fragment */
    memset(b + n, 0, 8);
    b[n] = 44;
    n += 8;
    /* fragment header: next UDP, offset 0, M=1, id */
    b[n] = 17;
    b[n + 1] = 0;
    put16(b + n + 2, 0x0001);
    put32(b + n + 4, 0xabcdef);
    n += 8;
    size_t frag_hdr = n - 8;
    n += udp(b + n, 1000, 2000, 1200);
    memcpy(b + n, "data", 4);
    n += 4;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.ip_version, 6);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.anomalies, PKT_FRAGMENT);
    assert_int_equal(pi.l4_off, 14 + 40 + 16);
    assert_int_equal(pi.l4_ok, 1);
    assert_int_equal(pi.src_port, 1000);
    assert_int_equal(pi.dst_port, 2000);
    assert_int_equal(pi.tos, 0x2e);
    assert_int_equal(pi.ttl, 55);
    assert_int_equal(pi.ip_len, 40 + 28);
    assert_int_equal(pi.ip_id, 0);
    assert_memory_equal(pi.src.b, v6a, 16);
    /* Non-first fragment: offset 10, no transport header. */
    put16(b + frag_hdr + 2, 10 << 3);
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, PKT_FRAGMENT | PKT_NONFIRST_FRAG);
    assert_int_equal(pi.frag_off, 10);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.l4_ok, 0);
    assert_int_equal(pi.src_port, 0);
    /* Extension header cut by the capture. */
    assert_int_equal(decode_exact(b, 14 + 40 + 8 + 7, PKT_LINK_ETHERNET, &pi), 0);
    assert_true(pi.anomalies & PKT_TRUNC);
    assert_int_equal(pi.l4_ok, 0);
}

static size_t v6_ext_chain(uint8_t *b, unsigned count)
{
    size_t n = ipv6(b, count * 8 + 8, count ? 60 : 17, v6a, v6b);
    for (unsigned i = 0; i < count; i++) {
        memset(b + n, 0, 8);
        b[n] = i + 1 < count ? 60 : 17;
        n += 8;
    }
    return n + udp(b + n, 11, 12, 8);
}

static void test_pkt_ipv6_ext_depth_8_ok_9_too_deep(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = v6_ext_chain(b, 8);
    assert_int_equal(decode_exact(b, n, PKT_LINK_IPV6, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.dst_port, 12);
    n = v6_ext_chain(b, 9);
    assert_int_equal(decode_exact(b, n, PKT_LINK_IPV6, &pi), 0);
    assert_true(pi.anomalies & PKT_TOO_DEEP);
    assert_int_equal(pi.l4_ok, 0);
    assert_int_equal(pi.dst_port, 0);
}

static void test_pkt_ipv6_routing_ah_and_esp(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = ipv6(b, 24 + 16 + 20, 43, v6a, v6b);
    memset(b + n, 0, 24); /* routing header, 24 bytes */
    b[n] = 51;
    b[n + 1] = 2;
    n += 24;
    memset(b + n, 0, 16); /* AH: length in 4-byte units minus 2 */
    b[n] = 6;
    b[n + 1] = 2;
    n += 16;
    n += tcp(b + n, 80, 81, 5, 0x11);
    assert_int_equal(decode_exact(b, n, PKT_LINK_IPV6, &pi), 0);
    assert_int_equal(pi.proto, 6);
    assert_int_equal(pi.l4_off, 80);
    assert_int_equal(pi.tcp_flags, 0x11);
    b[6] = 50; /* ESP: stop, payload is encrypted */
    assert_int_equal(decode_exact(b, n, PKT_LINK_IPV6, &pi), 0);
    assert_int_equal(pi.proto, 50);
    assert_int_equal(pi.l4_off, 40);
    assert_int_equal(pi.l4_ok, 0);
    assert_int_equal(pi.payload_off, n);
    assert_int_equal(decode_exact(b, 39, PKT_LINK_IPV6, &pi), BS_ETRUNC);
}

/* ---- ICMP ---- */

static void test_pkt_icmp_port_unreachable_quotes_tcp(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = eth(b, 0x0800);
    n += ipv4(b + n, 5, 20 + 8 + 20 + 8, 0, 1, 0xcb007101, 0xc0000299);
    b[n++] = 3; /* destination unreachable */
    b[n++] = 3; /* port unreachable */
    memset(b + n, 0, 6);
    n += 6;
    n += ipv4(b + n, 5, 60, 0x4000, 6, 0xc0000299, 0xcb007101);
    n += put16(b + n, 51000);
    n += put16(b + n, 443);
    n += put32(b + n, 1); /* sequence: the first 8 bytes end here */
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.proto, 1);
    assert_int_equal(pi.icmp_type, 3);
    assert_int_equal(pi.icmp_code, 3);
    assert_int_equal(pi.l4_ok, 1);
    assert_int_equal(pi.has_inner, 1);
    assert_int_equal(pi.inner_proto, 6);
    assert_v4(&pi.inner_src, 0xc0000299);
    assert_v4(&pi.inner_dst, 0xcb007101);
    assert_int_equal(pi.inner_src_port, 51000);
    assert_int_equal(pi.inner_dst_port, 443);
    /* Quotation without its transport ports: addresses only. */
    assert_int_equal(decode_exact(b, n - 6, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.has_inner, 1);
    assert_int_equal(pi.inner_src_port, 0);
    /* Quoted IP header cut: no inner. */
    assert_int_equal(decode_exact(b, 14 + 28 + 19, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.has_inner, 0);
    /* Echo request is not an error: no inner even with bytes after it. */
    b[34] = 8;
    b[35] = 0;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.icmp_type, 8);
    assert_int_equal(pi.has_inner, 0);
    /* Time exceeded (11) is an error type. */
    b[34] = 11;
    assert_int_equal(decode_exact(b, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.has_inner, 1);
}

static void test_pkt_icmpv6_dest_unreachable_quotes_udp(void **state)
{
    (void)state;
    uint8_t b[256];
    struct pkt_info pi;
    size_t n = ipv6(b, 8 + 40 + 8, 58, v6b, v6a);
    b[n++] = 1; /* destination unreachable */
    b[n++] = 4; /* port unreachable */
    memset(b + n, 0, 6);
    n += 6;
    n += ipv6(b + n, 100, 17, v6a, v6b);
    n += udp(b + n, 5353, 53, 100);
    assert_int_equal(decode_exact(b, n, PKT_LINK_RAW, &pi), 0);
    assert_int_equal(pi.proto, 58);
    assert_int_equal(pi.icmp_type, 1);
    assert_int_equal(pi.icmp_code, 4);
    assert_int_equal(pi.has_inner, 1);
    assert_int_equal(pi.inner_proto, 17);
    assert_memory_equal(pi.inner_src.b, v6a, 16);
    assert_memory_equal(pi.inner_dst.b, v6b, 16);
    assert_int_equal(pi.inner_src_port, 5353);
    assert_int_equal(pi.inner_dst_port, 53);
    b[40] = 128; /* echo request */
    assert_int_equal(decode_exact(b, n, PKT_LINK_RAW, &pi), 0);
    assert_int_equal(pi.has_inner, 0);
    b[40] = 4; /* parameter problem: last v6 error type */
    assert_int_equal(decode_exact(b, n, PKT_LINK_RAW, &pi), 0);
    assert_int_equal(pi.has_inner, 1);
    b[40] = 5;
    assert_int_equal(decode_exact(b, n, PKT_LINK_RAW, &pi), 0);
    assert_int_equal(pi.has_inner, 0);
}

static void test_pkt_icmp_cut_header(void **state)
{
    (void)state;
    uint8_t b[64];
    size_t n = ipv4(b, 5, 28, 0, 1, 1, 2);
    b[n++] = 0;
    b[n++] = 0;
    memset(b + n, 0, 6);
    n += 6;
    struct pkt_info pi;
    assert_int_equal(decode_exact(b, n - 1, PKT_LINK_IPV4, &pi), 0);
    assert_true(pi.anomalies & PKT_TRUNC);
    assert_int_equal(pi.l4_ok, 0);
    assert_int_equal(decode_exact(b, n, PKT_LINK_IPV4, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.l4_ok, 1);
}

/* ---- other link types ---- */

static void test_pkt_linux_sll_and_sll2(void **state)
{
    (void)state;
    uint8_t b[128] = {0};
    struct pkt_info pi;
    size_t n = 16;
    put16(b + 14, 0x0800);
    n += ipv4(b + n, 5, 28, 0, 17, 7, 8);
    n += udp(b + n, 1, 2, 8);
    assert_int_equal(decode_exact(b, n, PKT_LINK_LINUX_SLL, &pi), 0);
    assert_int_equal(pi.l3_off, 16);
    assert_v4(&pi.src, 7);
    assert_int_equal(decode_exact(b, 15, PKT_LINK_LINUX_SLL, &pi), BS_ETRUNC);

    memset(b, 0, sizeof b);
    put16(b, 0x86dd);
    n = 20;
    n += ipv6(b + n, 8, 17, v6a, v6b);
    n += udp(b + n, 1, 2, 8);
    assert_int_equal(decode_exact(b, n, PKT_LINK_LINUX_SLL2, &pi), 0);
    assert_int_equal(pi.l3_off, 20);
    assert_int_equal(pi.ip_version, 6);
    assert_int_equal(decode_exact(b, 19, PKT_LINK_LINUX_SLL2, &pi), BS_ETRUNC);
}

static void test_pkt_null_loopback_both_byte_orders(void **state)
{
    (void)state;
    uint8_t b[128] = {0};
    struct pkt_info pi;
    b[0] = 2; /* AF_INET, little-endian host */
    size_t n = 4 + ipv4(b + 4, 5, 20, 0, 6, 1, 2);
    assert_int_equal(decode_exact(b, n, PKT_LINK_NULL, &pi), 0);
    assert_int_equal(pi.ip_version, 4);
    assert_int_equal(pi.l3_off, 4);
    memset(b, 0, 4);
    b[3] = 2; /* big-endian host */
    assert_int_equal(decode_exact(b, n, PKT_LINK_NULL, &pi), 0);
    assert_int_equal(pi.ip_version, 4);

    static const uint8_t afs[] = {24, 28, 30};
    for (size_t i = 0; i < sizeof afs; i++) {
        memset(b, 0, 4);
        b[0] = afs[i];
        n = 4 + ipv6(b + 4, 0, 59, v6a, v6b);
        assert_int_equal(decode_exact(b, n, PKT_LINK_NULL, &pi), 0);
        assert_int_equal(pi.ip_version, 6);
        assert_int_equal(pi.proto, 59);
        memset(b, 0, 4);
        b[3] = afs[i];
        assert_int_equal(decode_exact(b, n, PKT_LINK_NULL, &pi), 0);
        assert_int_equal(pi.ip_version, 6);
    }
    memset(b, 0, 4);
    b[0] = 7;
    assert_int_equal(decode_exact(b, n, PKT_LINK_NULL, &pi), BS_EUNSUPPORTED);
    assert_int_equal(decode_exact(b, 3, PKT_LINK_NULL, &pi), BS_ETRUNC);
}

static void test_pkt_raw_and_version_mismatch(void **state)
{
    (void)state;
    uint8_t b[128];
    struct pkt_info pi;
    size_t n = ipv4(b, 5, 28, 0, 17, 1, 2);
    n += udp(b + n, 1, 2, 8);
    assert_int_equal(decode_exact(b, n, PKT_LINK_RAW, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pkt_decode_ip(b, n, &pi), 0);
    assert_int_equal(pi.dst_port, 2);
    assert_int_equal(decode_exact(b, n, PKT_LINK_IPV4, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(decode_exact(b, n, PKT_LINK_IPV6, &pi), 0);
    assert_true(pi.anomalies & PKT_BAD_VERSION);
    b[0] = 0x55;
    assert_int_equal(decode_exact(b, n, PKT_LINK_RAW, &pi), BS_EUNSUPPORTED);
    assert_true(pi.anomalies & PKT_BAD_VERSION);
    assert_int_equal(decode_exact(b, 0, PKT_LINK_RAW, &pi), BS_ETRUNC);
    assert_int_equal(decode_exact(b, n, (enum pkt_link)999, &pi), BS_EUNSUPPORTED);
}

static void test_pkt_every_truncation_stays_in_bounds(void **state)
{
    (void)state;
    uint8_t b[256];
    size_t n = eth(b, 0x8100);
    n += put16(b + n, 5);
    n += put16(b + n, 0x0800);
    n += ipv4(b + n, 5, 20 + 8 + 40 + 8 + 4, 0, 1, 1, 2);
    b[n++] = 3;
    b[n++] = 1;
    memset(b + n, 0, 6);
    n += 6;
    n += ipv6(b + n, 16, 0, v6a, v6b);
    memset(b + n, 0, 8);
    b[n] = 6;
    n += 8;
    n += put16(b + n, 1);
    n += put16(b + n, 2);
    struct pkt_info pi;
    for (size_t len = 0; len <= n; len++) {
        int rc = decode_exact(b, len, PKT_LINK_ETHERNET, &pi);
        assert_true(rc == 0 || rc == BS_ETRUNC);
        assert_true(pi.payload_off <= len);
        assert_int_equal(pi.caplen, len);
    }
    assert_int_equal(pi.has_inner, 1);
    assert_int_equal(pi.inner_proto, 6);
    assert_int_equal(pi.inner_dst_port, 2);
}

/* ---- real captures ---- */

struct frame_expect {
    const char *file;
    int rc;
    const char *src; /* outermost IP source (NULL when none) */
    const char *dst;
    int proto; /* outermost protocol: ip.proto, or the final IPv6 next header */
};

/* Expected values from, for each file F:
 *   tshark -r F -T fields -E occurrence=f -e ip.src -e ip.dst -e ipv6.src -e ipv6.dst \
 *          -e ip.proto -e ipv6.nxt
 * (tshark 4.0.17). The first frame of each file is checked. Where tshark shows both an IPv4
 * and an IPv6 layer, the outer one is the first in frame.protocols. For srv6-end-dt6,
 * ipv6.nxt is 43 (routing header): the final header after it is 41 (IPv6-in-IPv6), which is
 * what pkt.h reports. For EoMPLS and the invalid-nibble MPLS frames tshark finds no IP. */
static const struct frame_expect frame_expect[] = {
    {"frames_gre-v4-key.pcap", 0, "192.168.12.1", "192.168.12.2", 47},
    {"frames_gre-v4-plain.pcap", 0, "172.27.1.66", "66.59.109.137", 47},
    {"frames_gre-v6-plain.pcap", 0, "172.16.23.2", "192.168.47.1", 47},
    {"frames_ipv4-ipv4.pcap", 0, "10.1.2.1", "10.1.2.2", 4},
    {"frames_ipv4-ipv6.pcap", 0, "216.66.80.30", "192.168.2.2", 41},
    {"frames_mpls-eompls-cw.pcap", BS_EUNSUPPORTED, NULL, NULL, 0},
    {"frames_mpls-eompls-invalid-cw.pcap", BS_EUNSUPPORTED, NULL, NULL, 0},
    {"frames_mpls-explicit-null-ipv4.pcap", 0, "10.31.0.1", "10.34.0.1", 6},
    {"frames_mpls-explicit-null-ipv6.pcap", 0, "2001:db8::1", "2001:db8::2", 6},
    {"frames_mpls-invalid-nibble.pcap", BS_EUNSUPPORTED, NULL, NULL, 0},
    {"frames_mpls-ipv4.pcap", 0, "10.31.0.1", "10.34.0.1", 6},
    {"frames_mpls-ipv6.pcap", 0, "2001:db8::1", "2001:db8::2", 6},
    {"frames_srv6-end-dt6.pcap", 0, "1:2:1::1", "f2::", 41},
    {"frames_vlan-ipv6.pcap", 0, "2402:f000:1:8e01::5555", "2607:fcd0:100:2300::b108:2a6b", 4},
};

static void test_pkt_akvorado_frames_match_tshark(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof frame_expect / sizeof frame_expect[0]; i++) {
        const struct frame_expect *e = &frame_expect[i];
        char path[512], err[PCAP_ERRBUF_SIZE];
        snprintf(path, sizeof path, "%s/akvorado/%s", BS_CORPUS_DIR, e->file);
        pcap_t *p = pcap_open_offline(path, err);
        if (!p)
            fail_msg("%s: %s", path, err);
        assert_int_equal(pcap_datalink(p), DLT_EN10MB);
        struct pcap_pkthdr *h;
        const u_char *data;
        assert_int_equal(pcap_next_ex(p, &h, &data), 1);
        struct pkt_info pi;
        int rc = decode_exact(data, h->caplen, PKT_LINK_ETHERNET, &pi);
        if (rc != e->rc)
            fail_msg("%s: rc %d, expected %d", e->file, rc, e->rc);
        if (e->src) {
            struct ipaddr s, d;
            assert_int_equal(ipaddr_parse(e->src, &s), 0);
            assert_int_equal(ipaddr_parse(e->dst, &d), 0);
            if (ipaddr_cmp(&s, &pi.src) || ipaddr_cmp(&d, &pi.dst) || pi.proto != e->proto)
                fail_msg("%s: addresses or protocol differ (proto %u)", e->file, pi.proto);
        }
        /* Every other frame of the file decodes without going out of bounds. */
        while (pcap_next_ex(p, &h, &data) == 1)
            (void)decode_exact(data, h->caplen, PKT_LINK_ETHERNET, &pi);
        pcap_close(p);
    }
}

/* ---- fast path against the general path ---- */

struct cmp_stats {
    size_t frames, decodes, fast_shaped; /* fast_shaped: results the fast path can produce */
};

/* Decodes a heap copy of b with pkt_decode (fast path first) and pkt_decode_general and
 * fails unless return codes and every byte of the results (padding included: both clear the
 * struct) agree. */
static void cmp_one(const uint8_t *b, size_t len, enum pkt_link link, struct cmp_stats *st)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, b, len);
    struct pkt_info a, g;
    memset(&a, 0xa5, sizeof a); /* garbage in: both must initialise every byte */
    memset(&g, 0x5a, sizeof g);
    int ra = pkt_decode(copy, len, link, &a);
    int rg = pkt_decode_general(copy, len, link, &g);
    if (ra != rg || memcmp(&a, &g, sizeof a) != 0)
        fail_msg("fast and general paths differ (len %zu, link %d, rc %d/%d, proto %u/%u, "
                 "anomalies %#x/%#x)",
                 len, (int)link, ra, rg, a.proto, g.proto, a.anomalies, g.anomalies);
    if (rg == 0 && g.l4_ok && g.anomalies == 0 && !g.has_inner && g.mpls_labels == 0)
        st->fast_shaped++;
    st->decodes++;
    free(copy);
}

/* The frame, every truncation of it, and every byte of its first 96 mutated to values that
 * sit on the fast path's boundaries (version/IHL, lengths, data offset, flags, types). */
static void cmp_mutations(const uint8_t *b, size_t len, enum pkt_link link, struct cmp_stats *st)
{
    static const uint8_t vals[] = {0x00, 0x01, 0x03, 0x05, 0x06, 0x11, 0x3a, 0x40,
                                   0x45, 0x46, 0x50, 0x60, 0x81, 0x86, 0xdd, 0xff};
    st->frames++;
    cmp_one(b, len, link, st);
    for (size_t n = 0; n < len; n++)
        cmp_one(b, n, link, st);
    uint8_t m[2048];
    size_t mlen = len < sizeof m ? len : sizeof m;
    memcpy(m, b, mlen);
    for (size_t i = 0; i < mlen && i < 96; i++) {
        uint8_t orig = m[i];
        for (size_t v = 0; v < sizeof vals; v++) {
            m[i] = vals[v];
            cmp_one(m, mlen, link, st);
        }
        m[i] = orig;
    }
}

static void cmp_pcap(const char *path, size_t max_frames, struct cmp_stats *st)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p)
        fail_msg("%s: %s", path, err);
    int dlt = pcap_datalink(p);
    enum pkt_link link = dlt == DLT_EN10MB ? PKT_LINK_ETHERNET
                         : dlt == DLT_RAW  ? PKT_LINK_RAW
                                           : (enum pkt_link)dlt;
    struct pcap_pkthdr *h;
    const u_char *data;
    for (size_t i = 0; i < max_frames && pcap_next_ex(p, &h, &data) == 1; i++)
        cmp_mutations(data, h->caplen, link, st);
    pcap_close(p);
}

static void test_pkt_fast_path_matches_general_on_captures(void **state)
{
    (void)state;
    static const char *const tel[] = {"synth_golden", "zmap", "masscan", "nmap"};
    struct cmp_stats st = {0};
    char path[512];
    for (size_t i = 0; i < sizeof tel / sizeof tel[0]; i++) {
        snprintf(path, sizeof path, "%s/tests/data/telescope/%s.pcap", BS_SOURCE_DIR, tel[i]);
        cmp_pcap(path, 200, &st);
    }
    for (size_t i = 0; i < sizeof frame_expect / sizeof frame_expect[0]; i++) {
        snprintf(path, sizeof path, "%s/akvorado/%s", BS_CORPUS_DIR, frame_expect[i].file);
        cmp_pcap(path, 20, &st);
    }
    /* The comparison saw plenty of packets the fast path takes. */
    assert_true(st.frames > 300);
    assert_true(st.fast_shaped > 10000);
}

static void test_pkt_fast_path_matches_general_on_fuzz_corpus(void **state)
{
    (void)state;
    static const char *const seeds[] = {
        "eth_mpls2_v4",  "eth_pppoe_v4",   "eth_qinq_v6_udp", "eth_v4_tcp", "ipv4_frag",
        "ipv6_hbh_frag", "null_v6_icmpv6", "raw_v4_icmp_err", "sll2_v6",    "sll_v4",
    };
    struct cmp_stats st = {0};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/fuzz/corpus/pkt/%s", BS_SOURCE_DIR, seeds[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            fail_msg("%s: cannot open", path);
        uint8_t b[2048];
        size_t n = fread(b, 1, sizeof b, f);
        fclose(f);
        assert_true(n > 1);
        /* As fuzz_pkt reads it, and as an Ethernet frame whatever the first byte says. */
        static const enum pkt_link links[] = {
            PKT_LINK_ETHERNET, PKT_LINK_RAW,       PKT_LINK_IPV4,       PKT_LINK_IPV6,
            PKT_LINK_NULL,     PKT_LINK_LINUX_SLL, PKT_LINK_LINUX_SLL2,
        };
        enum pkt_link link = links[b[0] % (sizeof links / sizeof links[0])];
        cmp_mutations(b + 1, n - 1, link, &st);
        cmp_mutations(b + 1, n - 1, PKT_LINK_ETHERNET, &st);
    }
    assert_true(st.fast_shaped > 0);
}

/* Frames built here for each shape the fast path takes (one VLAN tag, IPv6, UDP, ICMP echo
 * and error, TCP with options, Ethernet padding), mutated the same way. */
static void test_pkt_fast_path_matches_general_on_built_frames(void **state)
{
    (void)state;
    struct cmp_stats st = {0};
    uint8_t b[256];
    size_t n;
    /* TCP with options, padded to 80 bytes. */
    n = eth_v4_tcp(b, 8, 0x12);
    memset(b + n, 0, 80 - n);
    cmp_mutations(b, 80, PKT_LINK_ETHERNET, &st);
    /* One VLAN tag, IPv4 UDP. */
    n = eth(b, 0x8100);
    n += put16(b + n, 0x2064);
    n += put16(b + n, 0x0800);
    n += ipv4(b + n, 5, 20 + 8 + 4, 0, 17, 0x0a000001, 0xc6120001);
    n += udp(b + n, 53, 40000, 12);
    memcpy(b + n, "wxyz", 4);
    cmp_mutations(b, n + 4, PKT_LINK_ETHERNET, &st);
    /* ICMP echo, then ICMP port unreachable quoting UDP. */
    n = eth(b, 0x0800);
    n += ipv4(b + n, 5, 20 + 8 + 28, 0, 1, 0x0a000001, 0xc6120001);
    b[n] = 8;
    b[n + 1] = 0;
    memset(b + n + 2, 0, 6);
    size_t icmp_at = n;
    n += 8;
    n += ipv4(b + n, 5, 28, 0, 17, 0xc6120001, 0x0a000001);
    n += udp(b + n, 1234, 53, 8);
    cmp_mutations(b, n, PKT_LINK_ETHERNET, &st);
    b[icmp_at] = 3;
    b[icmp_at + 1] = 3;
    cmp_mutations(b, n, PKT_LINK_ETHERNET, &st);
    /* IPv6 TCP and ICMPv6 echo. */
    n = eth(b, 0x86dd);
    n += ipv6(b + n, 20, 6, v6a, v6b);
    n += tcp(b + n, 443, 51000, 5, 0x14);
    cmp_mutations(b, n, PKT_LINK_ETHERNET, &st);
    n = eth(b, 0x86dd);
    n += ipv6(b + n, 8, 58, v6a, v6b);
    b[n] = 128;
    memset(b + n + 1, 0, 7);
    cmp_mutations(b, n + 8, PKT_LINK_ETHERNET, &st);
    assert_true(st.fast_shaped > 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pkt_eth_ipv4_tcp_all_fields),
        cmocka_unit_test(test_pkt_tcp_options_are_borrowed),
        cmocka_unit_test(test_pkt_ipv4_ihl_4_is_bad_ihl_5_is_fine),
        cmocka_unit_test(test_pkt_ipv4_options_skipped_and_cut_options_truncate),
        cmocka_unit_test(test_pkt_tcp_offset_4_is_bad_5_is_fine),
        cmocka_unit_test(test_pkt_tcp_offset_past_ip_packet_is_bad),
        cmocka_unit_test(test_pkt_tcp_options_cut_by_capture_is_trunc_not_bad),
        cmocka_unit_test(test_pkt_caplen_one_byte_short_of_tcp_header),
        cmocka_unit_test(test_pkt_ip_header_cut_is_etrunc),
        cmocka_unit_test(test_pkt_ip_total_length_checks),
        cmocka_unit_test(test_pkt_ethernet_padding_not_taken_as_transport),
        cmocka_unit_test(test_pkt_ipv4_fragments),
        cmocka_unit_test(test_pkt_vlan_single_and_qinq),
        cmocka_unit_test(test_pkt_vlan_depth_8_ok_9_too_deep),
        cmocka_unit_test(test_pkt_mpls_two_labels_then_ip),
        cmocka_unit_test(test_pkt_mpls_depth_8_ok_9_too_deep),
        cmocka_unit_test(test_pkt_mpls_non_ip_payload_and_cut_stack),
        cmocka_unit_test(test_pkt_pppoe_session_ipv4_and_ipv6),
        cmocka_unit_test(test_pkt_arp_is_unsupported),
        cmocka_unit_test(test_pkt_ipv6_hop_by_hop_and_fragment),
        cmocka_unit_test(test_pkt_ipv6_ext_depth_8_ok_9_too_deep),
        cmocka_unit_test(test_pkt_ipv6_routing_ah_and_esp),
        cmocka_unit_test(test_pkt_icmp_port_unreachable_quotes_tcp),
        cmocka_unit_test(test_pkt_icmpv6_dest_unreachable_quotes_udp),
        cmocka_unit_test(test_pkt_icmp_cut_header),
        cmocka_unit_test(test_pkt_linux_sll_and_sll2),
        cmocka_unit_test(test_pkt_null_loopback_both_byte_orders),
        cmocka_unit_test(test_pkt_raw_and_version_mismatch),
        cmocka_unit_test(test_pkt_every_truncation_stays_in_bounds),
        cmocka_unit_test(test_pkt_akvorado_frames_match_tshark),
        cmocka_unit_test(test_pkt_fast_path_matches_general_on_captures),
        cmocka_unit_test(test_pkt_fast_path_matches_general_on_fuzz_corpus),
        cmocka_unit_test(test_pkt_fast_path_matches_general_on_built_frames),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
