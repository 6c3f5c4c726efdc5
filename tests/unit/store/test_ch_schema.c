/* test_ch_schema.c - the ClickHouse schema is generated for the server's version: the DDL of
 * 18.16 (the oldest server, Debian 12's) is the released one, without any newer feature; from
 * CH_V_CODECS on, every column of `flows` carries its codec and nothing else changes. No
 * server needed: tests/integration/clickhouse/ch_version.sh sends both forms to a real 18.16
 * and checks it takes the one and refuses the other. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "store/store_ch.h"

static const uint32_t V18_16_1 = 18016001u;

static char *render_all(uint32_t v)
{
    struct buf b = BUF_INIT(1 << 20);
    for (int i = 0; ch_schema_statements(i); i++)
        for (const char *const *st = ch_schema_statements(i); *st; st++) {
            assert_int_equal(ch_schema_render(*st, "db1", "cl", v, &b), 0);
            assert_int_equal(buf_putc(&b, '\n'), 0);
        }
    assert_int_equal(buf_putc(&b, '\0'), 0);
    char *s = strdup(b.data);
    buf_release(&b);
    return s;
}

static size_t count(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
        n++;
    return n;
}

/* Removes every occurrence of what from s (in place). */
static void strip(char *s, const char *what)
{
    size_t l = strlen(what);
    for (char *p; (p = strstr(s, what));)
        memmove(p, p + l, strlen(p + l) + 1);
}

static void test_version_parse(void **state)
{
    (void)state;
    assert_int_equal(ch_version_parse("18.16.1"), V18_16_1);
    assert_int_equal(ch_version_parse("19.1.6"), CH_V_CODECS);
    assert_int_equal(ch_version_parse("23.8.2.7\n"), 23008002u);
    assert_int_equal(ch_version_parse("19.6"), 19006000u);
    assert_int_equal(ch_version_parse("19"), 0);
    assert_int_equal(ch_version_parse(""), 0);
    assert_int_equal(ch_version_parse("new"), 0);
    assert_int_equal(ch_version_parse("19.1.x"), 0);
    assert_int_equal(ch_version_parse("0.1.2"), 0);
    assert_int_equal(ch_version_parse("19.1000.1"), 0);
    assert_int_equal(ch_version_parse(NULL), 0);
}

/* 18.16 and anything below the gate: the released DDL, placeholders gone, no feature. */
static void test_old_server_ddl(void **state)
{
    (void)state;
    char *s = render_all(V18_16_1);
    assert_int_equal(count(s, "CODEC"), 0);
    assert_int_equal(count(s, "{"), 0);
    assert_non_null(strstr(s, "CREATE TABLE IF NOT EXISTS db1.flows ( start_ms UInt64, end_ms "
                              "UInt64, packets UInt64, bytes UInt64, src FixedString(16),"));
    assert_non_null(strstr(s,
                           " unit UInt64) ENGINE = MergeTree PARTITION BY intDiv(start_ms, "
                           "86400000) ORDER BY (intDiv(start_ms, 3600000), src, dst, start_ms)"));
    char *below = render_all(CH_V_CODECS - 1);
    assert_string_equal(below, s);
    free(below);
    free(s);
}

/* From the gate on: each of the 26 flows columns has one codec (Delta on the two times), the
 * other tables are unchanged, and without the codecs the text is the old DDL. */
static void test_new_server_ddl(void **state)
{
    (void)state;
    char *old = render_all(V18_16_1);
    char *s = render_all(CH_V_CODECS);
    assert_string_not_equal(s, old);
    assert_int_equal(count(s, " CODEC("), 26);
    assert_int_equal(count(s, " CODEC(Delta, ZSTD(1))"), 2);
    assert_non_null(strstr(s, "start_ms UInt64 CODEC(Delta, ZSTD(1)), end_ms UInt64 CODEC(Delta, "
                              "ZSTD(1)), packets UInt64 CODEC(ZSTD(1)),"));
    assert_non_null(strstr(s, "src FixedString(16) CODEC(ZSTD(1))"));
    assert_non_null(strstr(s, "unit UInt64 CODEC(ZSTD(1)))"));
    /* Only the flows table: the first statement holds every codec. */
    const char *second = strchr(s, '\n');
    assert_int_equal(count(second, "CODEC"), 0);
    strip(s, " CODEC(Delta, ZSTD(1))");
    strip(s, " CODEC(ZSTD(1))");
    assert_string_equal(s, old);
    char *later = render_all(23008002u);
    char *gate = render_all(CH_V_CODECS);
    assert_string_equal(later, gate);
    free(later);
    free(gate);
    free(s);
    free(old);
}

static void test_render_names(void **state)
{
    (void)state;
    struct buf b = BUF_INIT(4096);
    assert_int_equal(
        ch_schema_render("x {db}.t ON {cluster} {c}{c_time} {unknown}", "d", "k", CH_V_CODECS, &b),
        0);
    assert_int_equal(buf_putc(&b, '\0'), 0);
    assert_string_equal(b.data, "x d.t ON k  CODEC(ZSTD(1)) CODEC(Delta, ZSTD(1)) {unknown}");
    buf_release(&b);
    assert_null(ch_schema_statements(-1));
    assert_null(ch_schema_statements(CH_SCHEMA_VERSION));
    assert_non_null(ch_schema_statements(CH_SCHEMA_VERSION - 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_parse),
        cmocka_unit_test(test_old_server_ddl),
        cmocka_unit_test(test_new_server_ddl),
        cmocka_unit_test(test_render_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
