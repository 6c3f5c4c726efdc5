/* Unit tests for the packet builder (core/pktbuild.h) and the pcap writer (core/pcapw.h):
 * checksum vectors checked by hand, frames decoded by the real decoder (proto/pkt.h), files
 * read back by libpcap at microsecond and nanosecond precision, atomic publication. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/pcapw.h"
#include "core/pktbuild.h"
#include "proto/pkt.h"

/* ---- checksum vectors ------------------------------------------------------------------- */

static void test_csum_rfc1071_example(void **state)
{
    /* RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to 0x2ddf0, folded 0xddf2, so
     * the checksum is its complement 0x220d. */
    static const uint8_t b[8] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
    assert_int_equal(pktbuild_sum(b, sizeof b, 0), 0x2ddf0);
    assert_int_equal(pktbuild_csum(b, sizeof b, 0), 0x220d);
    /* an odd trailing byte counts as the high half of a word: f7 -> 0xf700 */
    assert_int_equal(pktbuild_sum(b, 7, 0), 0x0001 + 0xf203 + 0xf4f5 + 0xf600);
}

static void test_csum_ipv4_header_known_value(void **state)
{
    /* 192.168.0.1 -> 192.168.0.199, UDP, total length 115, DF, TTL 64: by hand the words
     * 4500+0073+0000+4000+4011+c0a8+0001+c0a8+00c7 = 0x2479c, folded 0x479e, checksum 0xb861. */
    struct pktbuild p = {0};
    ipaddr_from_v4(&p.src, 0xc0a80001);
    ipaddr_from_v4(&p.dst, 0xc0a800c7);
    p.proto = 17;
    p.ttl = 64;
    p.df = 1;
    p.sport = 1;
    p.dport = 2;
    p.payload_len = 115 - 28;
    uint8_t out[256];
    assert_int_equal(pktbuild_ip(out, sizeof out, &p), 115);
    static const uint8_t want[20] = {0x45, 0,    0,    0x73, 0, 0, 0x40, 0,    0x40, 0x11,
                                     0xb8, 0x61, 0xc0, 0xa8, 0, 1, 0xc0, 0xa8, 0,    0xc7};
    assert_memory_equal(out, want, 20);
}

static void test_udp_computed_zero_is_sent_as_all_ones(void **state)
{
    /* With a two-byte payload of zero the checksum is c; a payload word equal to c makes the
     * sum 0xffff, whose checksum computes to 0 and must go out as 0xffff (RFC 768). */
    struct pktbuild p = {0};
    ipaddr_from_v4(&p.src, 0x0a000001);
    ipaddr_from_v4(&p.dst, 0x0a000002);
    p.proto = 17;
    p.sport = 1000;
    p.dport = 2000;
    uint8_t pay[2] = {0, 0}, out[64];
    p.payload = pay;
    p.payload_len = 2;
    assert_int_equal(pktbuild_ip(out, sizeof out, &p), 30);
    pay[0] = out[26];
    pay[1] = out[27];
    assert_int_equal(pktbuild_ip(out, sizeof out, &p), 30);
    assert_int_equal(out[26], 0xff);
    assert_int_equal(out[27], 0xff);
}

static void test_pseudo_sum_v4_and_v6(void **state)
{
    struct ipaddr a, b;
    ipaddr_parse("10.0.0.1", &a);
    ipaddr_parse("10.0.0.2", &b);
    /* 0a00+0001+0a00+0002 + proto 6 + length 20 */
    assert_int_equal(pktbuild_pseudo_sum(&a, &b, 6, 20), 0x0a00 + 1 + 0x0a00 + 2 + 6 + 20);
    ipaddr_parse("2001:db8::1", &a);
    ipaddr_parse("2001:db8::2", &b);
    /* 2001+0db8+1 twice + the 32-bit length's two halves + next header */
    assert_int_equal(pktbuild_pseudo_sum(&a, &b, 58, 0x10010),
                     2 * (0x2001 + 0x0db8) + 1 + 2 + 1 + 0x10 + 58);
}

/* ---- frames ----------------------------------------------------------------------------- */

static void fill_tcp(struct pktbuild *p)
{
    memset(p, 0, sizeof *p);
    ipaddr_parse("25.16.1.2", &p->src);
    ipaddr_parse("25.240.3.4", &p->dst);
    p->proto = 6;
    p->ttl = 52;
    p->ip_id = 0x1234;
    p->sport = 40000;
    p->dport = 23;
    p->seq = ipaddr_v4(&p->dst);
    p->tcp_flags = 0x02;
    p->window = 5840;
}

static void test_frame_tcp_decodes_with_valid_checksums(void **state)
{
    struct pktbuild p;
    fill_tcp(&p);
    uint8_t f[128];
    size_t n = pktbuild_frame(f, sizeof f, &p);
    assert_int_equal(n, 14 + 20 + 20);
    /* a header whose checksum is right sums to zero (RFC 1071) */
    assert_int_equal(pktbuild_csum(f + 14, 20, 0), 0);
    uint32_t ph = 0;
    ph += (uint32_t)f[26] << 8 | f[27];
    ph += (uint32_t)f[28] << 8 | f[29];
    ph += (uint32_t)f[30] << 8 | f[31];
    ph += (uint32_t)f[32] << 8 | f[33];
    ph += 6 + 20;
    assert_int_equal(pktbuild_csum(f + 34, 20, ph), 0);
    struct pkt_info pi;
    assert_int_equal(pkt_decode(f, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.anomalies, 0);
    assert_int_equal(pi.proto, 6);
    assert_int_equal(pi.dst_port, 23);
    assert_int_equal(pi.tcp_seq, ipaddr_v4(&p.dst));
    assert_int_equal(pi.tcp_flags, 0x02);
    assert_int_equal(pi.ip_id, 0x1234);
    assert_int_equal(pi.ttl, 52);
}

static void test_frame_udp_v6_checksum_and_decode(void **state)
{
    struct pktbuild p;
    memset(&p, 0, sizeof p);
    ipaddr_parse("2001:db8:100::1", &p.src);
    ipaddr_parse("2001:db8:f001::2", &p.dst);
    p.proto = 17;
    p.ttl = 64;
    p.sport = 5353;
    p.dport = 53;
    p.payload_len = 33;
    uint8_t f[256];
    size_t n = pktbuild_frame(f, sizeof f, &p);
    assert_int_equal(n, 14 + 40 + 8 + 33);
    assert_int_equal(f[12], 0x86);
    assert_int_equal(f[13], 0xdd);
    /* verify the UDP checksum over the IPv6 pseudo-header */
    uint32_t sum = 0;
    for (int i = 0; i < 32; i += 2)
        sum += (uint32_t)f[22 + i] << 8 | f[23 + i];
    sum += 8 + 33;
    sum += 17;
    assert_int_equal(pktbuild_csum(f + 54, 8 + 33, sum), 0);
    struct pkt_info pi;
    assert_int_equal(pkt_decode(f, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.ip_version, 6);
    assert_int_equal(pi.src_port, 5353);
    assert_int_equal(pi.dst_port, 53);
}

static void test_frame_icmpv6_echo_checksum(void **state)
{
    struct pktbuild p = {0};
    ipaddr_parse("2a00:1450:4001::5", &p.src);
    ipaddr_parse("2001:db8:dead::1", &p.dst);
    p.proto = 58;
    p.ttl = 64;
    p.icmp_type = 128;
    p.icmp_rest = 0x00770001;
    p.payload_len = 8;
    uint8_t f[128];
    size_t n = pktbuild_frame(f, sizeof f, &p);
    assert_int_equal(n, 14 + 40 + 16);
    assert_int_equal(pktbuild_csum(f + 54, 16, pktbuild_pseudo_sum(&p.src, &p.dst, 58, 16)), 0);
    struct pkt_info pi;
    assert_int_equal(pkt_decode(f, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.proto, 58);
    assert_int_equal(pi.icmp_type, 128);
}

static void test_frame_icmp_error_quotes_the_cause(void **state)
{
    struct pktbuild in;
    memset(&in, 0, sizeof in);
    ipaddr_parse("25.240.0.9", &in.src);
    ipaddr_parse("25.2.3.4", &in.dst);
    in.proto = 17;
    in.ttl = 50;
    in.sport = 4444;
    in.dport = 27015;
    in.payload_len = 512;
    uint8_t inner[600];
    size_t ni = pktbuild_ip(inner, sizeof inner, &in);
    assert_int_equal(ni, 540);
    struct pktbuild p;
    memset(&p, 0, sizeof p);
    p.src = in.dst;
    p.dst = in.src;
    p.proto = 1;
    p.ttl = 60;
    p.icmp_type = 3;
    p.icmp_code = 3;
    p.payload = inner;
    p.payload_len = 28;
    uint8_t f[128];
    size_t n = pktbuild_frame(f, sizeof f, &p);
    assert_int_equal(n, 14 + 20 + 8 + 28);
    assert_int_equal(pktbuild_csum(f + 34, 36, 0), 0);
    struct pkt_info pi;
    assert_int_equal(pkt_decode(f, n, PKT_LINK_ETHERNET, &pi), 0);
    assert_int_equal(pi.icmp_type, 3);
    assert_true(pi.has_inner);
    assert_int_equal(pi.inner_proto, 17);
    assert_int_equal(pi.inner_dst_port, 27015);
    assert_int_equal(ipaddr_cmp(&pi.inner_src, &in.src), 0);
}

static void test_frame_raw_fragment_keeps_payload_and_flags(void **state)
{
    struct pktbuild p = {0};
    ipaddr_parse("62.1.1.1", &p.src);
    ipaddr_parse("44.0.0.9", &p.dst);
    p.proto = 17;
    p.ttl = 60;
    p.ip_id = 777;
    p.raw = true;
    p.mf = 1;
    p.frag_off = 6;
    static const uint8_t body[5] = {1, 2, 3, 4, 5};
    p.payload = body;
    p.payload_len = sizeof body;
    uint8_t out[64];
    assert_int_equal(pktbuild_ip(out, sizeof out, &p), 25);
    assert_int_equal(out[6], 0x20); /* MF, offset 6 */
    assert_int_equal(out[7], 6);
    assert_memory_equal(out + 20, body, sizeof body); /* no transport header, no checksum */
    assert_int_equal(pktbuild_csum(out, 20, 0), 0);
    struct pkt_info pi;
    assert_int_equal(pkt_decode(out, 25, PKT_LINK_RAW, &pi), 0);
    assert_true(pi.anomalies & PKT_NONFIRST_FRAG);
    assert_int_equal(pi.frag_off, 6);
}

static void test_frame_rejects_small_buffer_and_bad_options(void **state)
{
    struct pktbuild p;
    fill_tcp(&p);
    uint8_t f[64];
    assert_int_equal(pktbuild_frame(f, 53, &p), 0);
    assert_int_equal(pktbuild_frame(f, 54, &p), 54); /* exactly enough */
    assert_int_equal(pktbuild_frame(f, 13, &p), 0);
    static const uint8_t opts[44] = {1, 1, 1};
    p.tcp_opts = opts;
    p.tcp_opts_len = 3; /* not a multiple of 4 */
    assert_int_equal(pktbuild_frame(f, sizeof f, &p), 0);
    p.tcp_opts_len = 44; /* more than 40 */
    assert_int_equal(pktbuild_ip(f, sizeof f, &p), 0);
    fill_tcp(&p);
    p.proto = 47; /* GRE is not built */
    assert_int_equal(pktbuild_frame(f, sizeof f, &p), 0);
    p.raw = true; /* ... unless raw */
    assert_int_equal(pktbuild_frame(f, sizeof f, &p), 34);
}

/* ---- pcap writer ------------------------------------------------------------------------ */

static void temp_path(char *path, size_t len)
{
    snprintf(path, len, "/tmp/bs_pcapw_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
}

/* Reads path with libpcap at the given precision; returns the packet count and checks the
 * first record's timestamp and bytes. */
static int read_back(const char *path, int precision, int linktype, uint64_t ts_sec,
                     uint64_t ts_frac, const uint8_t *f, size_t n, size_t caplen)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline_with_tstamp_precision(path, (u_int)precision, err);
    assert_non_null(p);
    assert_int_equal(pcap_datalink(p), linktype);
    struct pcap_pkthdr *h;
    const u_char *d;
    int count = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        if (!count++) {
            assert_int_equal(h->ts.tv_sec, ts_sec);
            assert_int_equal(h->ts.tv_usec, ts_frac);
            assert_int_equal(h->caplen, caplen);
            assert_int_equal(h->len, n);
            assert_memory_equal(d, f, caplen);
        }
    }
    pcap_close(p);
    return count;
}

static void test_pcap_writer_output_reads_back(void **state)
{
    char path[64];
    temp_path(path, sizeof path);
    struct pcapw pc;
    assert_int_equal(pcapw_open(&pc, path, NULL), 0);
    struct pktbuild p;
    fill_tcp(&p);
    uint8_t f[128];
    size_t n = pktbuild_frame(f, sizeof f, &p);
    assert_int_equal(pcapw_write(&pc, 1767225600123456789ull, f, n), 0);
    assert_int_equal(pcapw_write(&pc, 1767225601000000000ull, f, n), 0);
    assert_int_equal(pc.frames, 2);
    assert_int_equal(pc.bytes, 24 + 2 * (16 + n));
    assert_int_equal(pcapw_close(&pc), 0);
    assert_int_equal(read_back(path, PCAP_TSTAMP_PRECISION_MICRO, 1, 1767225600, 123456, f, n, n),
                     2);
    /* the file header as the format defines it, byte by byte */
    FILE *fp = fopen(path, "rb");
    uint8_t h[24];
    assert_int_equal(fread(h, 1, 24, fp), 24);
    fclose(fp);
    static const uint8_t want[24] = {0xd4, 0xc3, 0xb2, 0xa1, 2,    0,    4, 0, 0, 0, 0, 0,
                                     0,    0,    0,    0,    0xff, 0xff, 0, 0, 1, 0, 0, 0};
    assert_memory_equal(h, want, 24);
    unlink(path);
}

static void test_pcap_writer_nanoseconds_raw_link_and_snaplen(void **state)
{
    char path[64];
    temp_path(path, sizeof path);
    struct pcapw pc;
    struct pcapw_opts o = {.linktype = PCAPW_LINKTYPE_RAW, .snaplen = 40, .nanosec = true};
    assert_int_equal(pcapw_open(&pc, path, &o), 0);
    struct pktbuild p;
    fill_tcp(&p);
    uint8_t f[128];
    size_t n = pktbuild_ip(f, sizeof f, &p);
    assert_int_equal(n, 40);
    uint8_t first[40];
    memcpy(first, f, sizeof first);
    assert_int_equal(pcapw_write(&pc, 1767225600123456789ull, f, n), 0);
    assert_int_equal(pcapw_write(&pc, 1767225600123456790ull, f, n), 0);
    p.payload_len = 10; /* 50 bytes: cut to the snaplen, original length kept */
    n = pktbuild_ip(f, sizeof f, &p);
    assert_int_equal(n, 50);
    assert_int_equal(pcapw_write(&pc, 1767225601ull * 1000000000u, f, n), 0);
    assert_int_equal(pc.bytes, 24 + 3 * 16 + 3 * 40);
    assert_int_equal(pcapw_close(&pc), 0);
    assert_int_equal(
        read_back(path, PCAP_TSTAMP_PRECISION_NANO, DLT_RAW, 1767225600, 123456789, first, 40, 40),
        3);
    /* the cut record: caplen 40, len 50 */
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pp = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_NANO, err);
    struct pcap_pkthdr *h;
    const u_char *d;
    for (int i = 0; i < 3; i++)
        assert_int_equal(pcap_next_ex(pp, &h, &d), 1);
    assert_int_equal(h->caplen, 40);
    assert_int_equal(h->len, 50);
    assert_int_equal(h->ts.tv_usec, 0);
    pcap_close(pp);
    unlink(path);
    o.snaplen = PCAPW_SNAPLEN_MAX + 1;
    assert_int_equal(pcapw_open(&pc, path, &o), BS_EUSAGE);
    pcapw_abort(&pc);
}

static void test_pcap_writer_atomic_publishes_only_on_close(void **state)
{
    char dir[] = "/tmp/bs_pcapw_dir_XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128], tmp[128];
    snprintf(path, sizeof path, "%s/cap.pcap", dir);
    snprintf(tmp, sizeof tmp, "%s/.cap.pcap.tmp", dir);
    struct pcapw_opts o = {.atomic = true};
    struct pcapw pc;
    struct stat sb;
    uint8_t f[60] = {0};
    /* aborted: nothing under either name */
    assert_int_equal(pcapw_open(&pc, path, &o), 0);
    assert_int_equal(stat(tmp, &sb), 0);
    assert_int_equal(pcapw_write(&pc, 0, f, sizeof f), 0);
    pcapw_abort(&pc);
    assert_true(stat(tmp, &sb) < 0 && stat(path, &sb) < 0);
    /* closed: the final name only, complete */
    assert_int_equal(pcapw_open(&pc, path, &o), 0);
    assert_true(stat(path, &sb) < 0);
    assert_int_equal(pcapw_write(&pc, 0, f, sizeof f), 0);
    assert_int_equal(pcapw_close(&pc), 0);
    assert_true(stat(tmp, &sb) < 0);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_size, 24 + 16 + 60);
    unlink(path);
    rmdir(dir);
}

static void test_pcap_writer_reports_write_error_at_close(void **state)
{
    /* /dev/full fails every write with ENOSPC: the buffered data fails at the flush in
     * pcapw_close, which must report it. (Atomic mode needs a directory; plain mode here.) */
    struct pcapw pc;
    assert_int_equal(pcapw_open(&pc, "/dev/full", NULL), 0);
    uint8_t f[60] = {0};
    assert_int_equal(pcapw_write(&pc, 0, f, sizeof f), 0);
    assert_int_equal(pcapw_close(&pc), -28 /* -ENOSPC */);
}

static void test_pcap_writer_bad_path(void **state)
{
    struct pcapw pc;
    assert_true(pcapw_open(&pc, "/nonexistent-dir/x.pcap", NULL) < 0);
    pcapw_abort(&pc);
    struct pcapw_opts o = {.atomic = true};
    assert_true(pcapw_open(&pc, "/nonexistent-dir/x.pcap", &o) < 0);
    pcapw_abort(&pc); /* releases the paths: ASan's leak check sees it */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csum_rfc1071_example),
        cmocka_unit_test(test_csum_ipv4_header_known_value),
        cmocka_unit_test(test_udp_computed_zero_is_sent_as_all_ones),
        cmocka_unit_test(test_pseudo_sum_v4_and_v6),
        cmocka_unit_test(test_frame_tcp_decodes_with_valid_checksums),
        cmocka_unit_test(test_frame_udp_v6_checksum_and_decode),
        cmocka_unit_test(test_frame_icmpv6_echo_checksum),
        cmocka_unit_test(test_frame_icmp_error_quotes_the_cause),
        cmocka_unit_test(test_frame_raw_fragment_keeps_payload_and_flags),
        cmocka_unit_test(test_frame_rejects_small_buffer_and_bad_options),
        cmocka_unit_test(test_pcap_writer_output_reads_back),
        cmocka_unit_test(test_pcap_writer_nanoseconds_raw_link_and_snaplen),
        cmocka_unit_test(test_pcap_writer_atomic_publishes_only_on_close),
        cmocka_unit_test(test_pcap_writer_reports_write_error_at_close),
        cmocka_unit_test(test_pcap_writer_bad_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
