/* Unit tests for src/core: reader, addresses, buffers, JSON writer, configuration, time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/crc32.h"
#include "core/err.h"
#include "core/flow.h"
#include "core/fsutil.h"
#include "core/ipaddr.h"
#include "core/jw.h"
#include "core/rd.h"

static void test_rd_reads_big_endian_and_sticks_on_truncation(void **state)
{
    const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07};
    struct rd r;
    rd_init(&r, b, sizeof b);
    assert_int_equal(rd_u16(&r), 0x0102);
    assert_int_equal(rd_u32(&r), 0x03040506);
    assert_int_equal(rd_err(&r), 0);
    assert_int_equal(rd_u16(&r), 0); /* only one byte left */
    assert_int_equal(rd_err(&r), BS_ETRUNC);
    assert_int_equal(rd_left(&r), 0);
    assert_int_equal(rd_u8(&r), 0); /* sticky */
    assert_int_equal(rd_err(&r), BS_ETRUNC);
}

static void test_rd_uint_reduced_size_and_bounds(void **state)
{
    const uint8_t b[] = {0xde, 0xad, 0xbe};
    struct rd r;
    rd_init(&r, b, sizeof b);
    assert_int_equal(rd_uint(&r, 3), 0xdeadbe);
    rd_init(&r, b, sizeof b);
    rd_uint(&r, 9);
    assert_int_equal(rd_err(&r), BS_EMALFORMED);
    rd_init(&r, b, sizeof b);
    struct rd s = rd_sub(&r, 2);
    assert_int_equal(rd_left(&s), 2);
    assert_int_equal(rd_left(&r), 1);
    s = rd_sub(&r, 2);
    assert_int_equal(rd_err(&s), BS_ETRUNC);
    assert_int_equal(rd_err(&r), BS_ETRUNC);
}

static void test_ipaddr_roundtrip_v4_v6(void **state)
{
    struct ipaddr a;
    char s[IPADDR_STRLEN];
    assert_int_equal(ipaddr_parse("192.0.2.1", &a), 0);
    assert_true(ipaddr_is_v4(&a));
    assert_int_equal(ipaddr_v4(&a), 0xc0000201);
    assert_string_equal(ipaddr_format(&a, s, sizeof s), "192.0.2.1");
    assert_int_equal(ipaddr_parse("2001:db8::1", &a), 0);
    assert_false(ipaddr_is_v4(&a));
    assert_string_equal(ipaddr_format(&a, s, sizeof s), "2001:db8::1");
    assert_int_equal(ipaddr_parse("300.1.1.1", &a), BS_EPARSE);
    assert_int_equal(ipaddr_parse("", &a), BS_EPARSE);
}

static void test_ipprefix_parse_contains_both_sides_of_boundary(void **state)
{
    struct ipprefix p;
    struct ipaddr a;
    char s[IPPREFIX_STRLEN];
    assert_int_equal(ipprefix_parse("192.0.2.77/24", &p), 0);
    assert_string_equal(ipprefix_format(&p, s, sizeof s), "192.0.2.0/24");
    ipaddr_parse("192.0.2.255", &a);
    assert_true(ipprefix_contains(&p, &a));
    ipaddr_parse("192.0.3.0", &a);
    assert_false(ipprefix_contains(&p, &a));
    assert_int_equal(ipprefix_parse("10.0.0.0/33", &p), BS_EPARSE);
    assert_int_equal(ipprefix_parse("10.0.0.0/", &p), BS_EPARSE);
    assert_int_equal(ipprefix_parse("2001:db8::/129", &p), BS_EPARSE);
    assert_int_equal(ipprefix_parse("2001:db8:ff00::/40", &p), 0);
    assert_string_equal(ipprefix_format(&p, s, sizeof s), "2001:db8:ff00::/40");
    ipaddr_parse("2001:db8:fe00::1", &a);
    assert_false(ipprefix_contains(&p, &a));
    ipaddr_parse("2001:db8:ff00::1", &a);
    assert_true(ipprefix_contains(&p, &a));
    assert_int_equal(ipprefix_parse("0.0.0.0/0", &p), 0);
    ipaddr_parse("2001:db8::1", &a);
    assert_false(ipprefix_contains(&p, &a)); /* IPv4 /0 does not cover IPv6 */
}

static void test_buf_cap_is_enforced(void **state)
{
    struct buf b = BUF_INIT(8);
    assert_int_equal(buf_puts(&b, "12345678"), 0);
    assert_int_equal(buf_putc(&b, 'x'), BS_ELIMIT);
    assert_int_equal(b.len, 8);
    assert_string_equal(b.data, "12345678");
    buf_reset(&b);
    assert_int_equal(buf_printf(&b, "%d", 1234567), 0);
    assert_int_equal(buf_printf(&b, "%d", 12), BS_ELIMIT);
    buf_release(&b);
}

static void test_jw_escapes_and_formats(void **state)
{
    struct buf b = BUF_INIT(1024);
    struct jw w;
    struct ipaddr a;
    ipaddr_parse("2001:db8::1", &a);
    jw_open(&w, &b);
    jw_str(&w, "s", "a\"b\\c\n\x01");
    jw_u64(&w, "n", 18446744073709551615ull);
    jw_ip(&w, "ip", &a);
    jw_bool(&w, "t", true);
    assert_int_equal(jw_close(&w), 0);
    assert_string_equal(b.data, "{\"s\":\"a\\\"b\\\\c\\n\\u0001\",\"n\":18446744073709551615,"
                                "\"ip\":\"2001:db8::1\",\"t\":true}\n");
    buf_release(&b);
}

static void test_flow_ndjson_has_contract_keys(void **state)
{
    struct flow_rec r = {0};
    struct buf b = BUF_INIT(4096);
    ipaddr_parse("192.0.2.1", &r.exporter);
    ipaddr_parse("198.51.100.7", &r.src);
    ipaddr_parse("203.0.113.9", &r.dst);
    r.version = FLOW_SFLOW5;
    r.packets = 3;
    r.bytes = 180;
    r.sampling_rate = 0;
    r.src_as = 64500;
    r.has = FLOW_HAS_SRC_AS;
    assert_int_equal(flow_to_ndjson(&r, &b), 0);
    const char *keys[] = {"\"exporter\":\"192.0.2.1\"",
                          "\"version\":\"sflow5\"",
                          "\"obs_domain\":0",
                          "\"src_addr\":\"198.51.100.7\"",
                          "\"dst_addr\":\"203.0.113.9\"",
                          "\"src_port\":",
                          "\"dst_port\":",
                          "\"proto\":",
                          "\"tcp_flags\":",
                          "\"packets\":3",
                          "\"bytes\":180",
                          "\"sampling_rate\":1",
                          "\"start_ms\":",
                          "\"end_ms\":",
                          "\"in_if\":",
                          "\"out_if\":",
                          "\"src_as\":64500"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_non_null(strstr(b.data, keys[i]));
    assert_null(strstr(b.data, "dst_as"));
    buf_release(&b);
}

static char *write_tmp(const char *text)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/bs_test_cfg_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    return path;
}

static void test_config_defaults_and_values(void **state)
{
    struct config c;
    struct cfg_error e;
    assert_int_equal(config_init(&c), 0);
    assert_int_equal(config_int(&c, "collect", "threads"), 2);
    assert_int_equal(config_size(&c, "collect", "rcvbuf"), 32 * 1024 * 1024);
    assert_int_equal(config_duration_ms(&c, "store", "partition"), 300000);
    const char *items[4];
    assert_int_equal(config_list(&c, "collect", "listen", items, 4), 3);
    assert_string_equal(items[1], "[::]:4739");
    char *p = write_tmp(
        "# test\n[collect]\nthreads = 4 # four\nallow = [\"192.0.2.0/24\", 2001:db8::/32]\n"
        "[telescope]\nprivacy = true\ninterval = 5m\n");
    assert_int_equal(config_load(&c, p, &e), 0);
    assert_int_equal(config_int(&c, "collect", "threads"), 4);
    assert_int_equal(config_list(&c, "collect", "allow", items, 4), 2);
    assert_string_equal(items[0], "192.0.2.0/24");
    assert_string_equal(items[1], "2001:db8::/32");
    assert_true(config_bool(&c, "telescope", "privacy"));
    assert_int_equal(config_duration_ms(&c, "telescope", "interval"), 300000);
    unlink(p);
    config_release(&c);
    /* Values whose milliseconds or bytes do not fit in 63 bits are refused, not converted
     * (found by fuzz_config: 1e84 made the conversion undefined). */
    int64_t v;
    assert_int_equal(config_parse_duration_ms("1e84", &v), BS_EPARSE);
    assert_int_equal(config_parse_duration_ms("1e20d", &v), BS_EPARSE);
    assert_int_equal(config_parse_duration_ms("365d", &v), 0);
    assert_int_equal(v, INT64_C(31536000000));
    assert_int_equal(config_parse_size("1e30T", &v), BS_EPARSE);
    assert_int_equal(config_parse_size("2G", &v), 0);
    assert_int_equal(v, INT64_C(2147483648));
}

/* Every default satisfies its own declared range and words (config --defaults is valid). */
static void test_config_defaults_meet_their_constraints(void **state)
{
    struct config c;
    struct cfg_error e;
    assert_int_equal(config_init(&c), 0);
    for (const struct cfg_key *k = cfg_schema; k->key; k++) {
        char def[512];
        snprintf(def, sizeof def, "%s", k->def);
        if (config_set(&c, k->section, k->key, def, &e))
            fail_msg("default of [%s] %s: %s", k->section, k->key, e.msg);
    }
    config_release(&c);
}

static void test_config_errors_name_file_line_key(void **state)
{
    struct config c;
    struct cfg_error e;
    char want[256];
    const struct {
        const char *text, *msg;
    } cases[] = {
        {"[collect]\n\nthreads = x\n", ":3: [collect] threads: expected an integer"},
        {"[collect]\nbogus = 1\n", ":2: [collect] bogus: unknown key"},
        {"[nosuch]\n", ":1: [nosuch]: unknown section"},
        {"[collect]\njust words\n", ":2: expected 'key = value'"},
        {"[collect]\nallow = 1.2.3.4\n", ":2: [collect] allow: expected a list [a, b, ...]"},
        {"[store]\nretention = 5 weeks\n",
         ":2: [store] retention: expected a duration such as 60s, 5m, 2h, 7d"},
        {"[general]\ndata_dir = \"/x\n", ":2: [general] data_dir: unterminated quoted string"},
        /* issue 21: ranges, words and duplicates are checked at load */
        {"[collect]\nthreads = -1\n", ":2: [collect] threads: -1 is out of range (1..1024)"},
        {"[collect]\nthreads = 0\n", ":2: [collect] threads: 0 is out of range (1..1024)"},
        {"[collect]\nthreads = 1025\n", ":2: [collect] threads: 1025 is out of range (1..1024)"},
        {"[store]\ncompression = \"gzip\"\n",
         ":2: [store] compression: 'gzip' is not one of auto|zstd|lz4|none"},
        {"log_level = \"loud\"\n",
         ":1: [general] log_level: 'loud' is not one of error|warning|info|debug"},
        {"[store]\npartition = 500ms\n",
         ":2: [store] partition: 500ms is out of range (1000..86400000 ms)"},
        {"[store]\nmax_size = 2048P\n",
         ":2: [store] max_size: expected a size such as 64k, 16M, 2G"},
        {"[telescope]\nfingerprints = [mirai, \"Mirai\"]\n",
         ":2: [telescope] fingerprints: 'Mirai' is not one of mirai|masscan|zmap|nmap|unicornscan"},
        {"[store]\nretention = 1d\n[collect]\nthreads = 2\n[store]\nretention = 2d\n",
         ":6: [store] retention: set twice (first on line 2)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(config_init(&c), 0);
        char *p = write_tmp(cases[i].text);
        assert_int_equal(config_load(&c, p, &e), BS_EPARSE);
        snprintf(want, sizeof want, "%s%s", p, cases[i].msg);
        assert_string_equal(e.msg, want);
        unlink(p);
        config_release(&c);
    }
    /* Both ends of a range are accepted. */
    assert_int_equal(config_init(&c), 0);
    char *p = write_tmp("[collect]\nthreads = 1024\n[store]\nzstd_level = 1\npartition = 1s\n"
                        "compression = none\n[general]\nlog_level = debug\n");
    assert_int_equal(config_load(&c, p, &e), 0);
    assert_int_equal(config_int(&c, "collect", "threads"), 1024);
    unlink(p);
    config_release(&c);
    /* A directory is not a configuration file. */
    assert_int_equal(config_init(&c), 0);
    assert_int_equal(config_load(&c, "/tmp", &e), BS_EPARSE);
    assert_string_equal(e.msg, "/tmp: not a regular file (a directory)");
    config_release(&c);
    /* The command line may override a file's value (not a duplicate). */
    assert_int_equal(config_init(&c), 0);
    p = write_tmp("[store]\nretention = 1d\n");
    assert_int_equal(config_load(&c, p, &e), 0);
    assert_int_equal(config_set(&c, "store", "retention", "2d", &e), 0);
    assert_int_equal(config_duration_ms(&c, "store", "retention"), 2 * 86400000LL);
    assert_int_equal(config_set(&c, "store", "scan_threads", "17", &e), BS_EPARSE);
    unlink(p);
    config_release(&c);
    assert_int_equal(config_init(&c), 0);
    assert_true(config_load(&c, "/nonexistent/botscope.conf", &e) < 0);
    assert_non_null(strstr(e.msg, "/nonexistent/botscope.conf"));
    config_release(&c);
}

static void test_clock_parse_forms(void **state)
{
    uint64_t ms;
    assert_int_equal(clock_parse_utc("2024-01-02 03:04:05", &ms), 0);
    assert_int_equal(ms, 1704164645000ull);
    assert_int_equal(clock_parse_utc("2024/01/02.03:04:05", &ms), 0);
    assert_int_equal(ms, 1704164645000ull);
    assert_int_equal(clock_parse_utc("2024-01-02", &ms), 0);
    assert_int_equal(ms, 1704153600000ull);
    assert_int_equal(clock_parse_utc("1704164645000", &ms), 0);
    assert_int_equal(ms, 1704164645000ull);
    assert_int_equal(clock_parse_utc("2024-13-02", &ms), BS_EPARSE);
    /* issue 21: days a month does not have were moved to the next month */
    assert_int_equal(clock_parse_utc("2026-02-30", &ms), BS_EPARSE);
    assert_int_equal(clock_parse_utc("2026-02-29 10:00", &ms), BS_EPARSE);
    assert_int_equal(clock_parse_utc("2024-02-29 10:00", &ms), 0);
    assert_int_equal(clock_parse_utc("2026-04-31", &ms), BS_EPARSE);
    assert_int_equal(clock_parse_utc("2026-04-30", &ms), 0);
    assert_int_equal(clock_parse_utc("2016-12-31 23:59:60", &ms), 0);
    assert_int_equal(ms, 1483228800000ull);
    assert_int_equal(clock_parse_utc("2026-02-30 23:59:60", &ms), BS_EPARSE);
    assert_int_equal(clock_parse_utc("yesterday", &ms), BS_EPARSE);
    char s[32];
    assert_string_equal(clock_format_utc(1704164645123ull, s, sizeof s), "2024-01-02 03:04:05.123");
}

/* A directory's entries by suffix, hidden ones left out, in byte order; errors as -errno. */
static void test_fsutil_list_dir_sorted_and_filtered(void **state)
{
    (void)state;
    char tmpl[] = "/tmp/bs_listdir.XXXXXX";
    assert_non_null(mkdtemp(tmpl));
    static const char *const files[] = {"c.xml", "a.xml", ".hidden.xml", "b.txt", "xml"};
    char path[128];
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpl, files[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fclose(f);
    }
    char **names;
    size_t n;
    assert_int_equal(fsutil_list_dir(tmpl, ".xml", &names, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(names[0], "a.xml");
    assert_string_equal(names[1], "c.xml");
    fsutil_names_free(names, n);
    assert_int_equal(fsutil_list_dir(tmpl, NULL, &names, &n), 0);
    assert_int_equal(n, 4);
    assert_string_equal(names[1], "b.txt");
    assert_string_equal(names[3], "xml");
    fsutil_names_free(names, n);
    snprintf(path, sizeof path, "%s/none", tmpl);
    assert_int_equal(fsutil_list_dir(path, NULL, &names, &n), -2 /* -ENOENT */);
    assert_null(names);
    assert_int_equal(n, 0);
    for (size_t i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpl, files[i]);
        unlink(path);
    }
    rmdir(tmpl);
}

/* The check value of CRC-32/ISO-HDLC, and zlib's crc32 as the oracle on every length from 0
 * to 300 at every alignment of a pseudo-random buffer (the folding paths take 16, 64 and 256
 * bytes at a time: their tails and heads are what can go wrong). */
static void test_crc32_matches_zlib(void **state)
{
    (void)state;
    assert_int_equal(crc32_ieee("123456789", 9), 0xcbf43926u);
    assert_int_equal(crc32_ieee("", 0), 0);
    uint8_t b[320];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof b; i++) {
        x = x * 1103515245u + 12345u;
        b[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n + off <= 300; n++)
            assert_int_equal(crc32_ieee(b + off, n), (uint32_t)crc32(0L, b + off, (uInt)n));
    uint32_t before = crc32_ieee(b, 300);
    b[100] ^= 1; /* one flipped bit changes it */
    assert_int_not_equal(crc32_ieee(b, 300), before);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rd_reads_big_endian_and_sticks_on_truncation),
        cmocka_unit_test(test_rd_uint_reduced_size_and_bounds),
        cmocka_unit_test(test_ipaddr_roundtrip_v4_v6),
        cmocka_unit_test(test_ipprefix_parse_contains_both_sides_of_boundary),
        cmocka_unit_test(test_buf_cap_is_enforced),
        cmocka_unit_test(test_jw_escapes_and_formats),
        cmocka_unit_test(test_flow_ndjson_has_contract_keys),
        cmocka_unit_test(test_config_defaults_and_values),
        cmocka_unit_test(test_fsutil_list_dir_sorted_and_filtered),
        cmocka_unit_test(test_config_errors_name_file_line_key),
        cmocka_unit_test(test_config_defaults_meet_their_constraints),
        cmocka_unit_test(test_clock_parse_forms),
        cmocka_unit_test(test_crc32_matches_zlib),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
