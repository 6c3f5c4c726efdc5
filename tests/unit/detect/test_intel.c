/* test_intel.c - threat-intelligence import from hand-written fixtures of each format,
 * idempotent re-import, lookup (earliest listing, endpoint or address), the intel object and
 * its lead time, and malformed files that must name their line and store nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/err.h"
#include "detect/intel.h"
#include "store/statedb.h"

static char *slurp(const char *name, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/tests/data/intel/%s", BS_SOURCE_DIR, name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *d = malloc(1 << 20);
    assert_non_null(d);
    *len = fread(d, 1, (1 << 20) - 1, f);
    d[*len] = '\0';
    fclose(f);
    return d;
}

struct fixture {
    char dir[64];
    struct statedb *db;
};

static int setup(void **state)
{
    struct fixture *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/bs_intel.XXXXXX");
    if (!mkdtemp(fx->dir))
        return -1;
    char err[256];
    if (statedb_open(fx->dir, &fx->db, err))
        return -1;
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fx = *state;
    statedb_close(fx->db);
    char path[128];
    const char *files[] = {"state.db", "state.db-wal", "state.db-shm"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", fx->dir, files[i]);
        unlink(path);
    }
    rmdir(fx->dir);
    free(fx);
    return 0;
}

static int count_cb(void *ctx, const struct statedb_rec *r)
{
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

static size_t count(struct statedb *db)
{
    size_t n = 0;
    struct statedb_rec_query q = {.kind = STATEDB_INTEL};
    assert_int_equal(statedb_rec_list(db, &q, count_cb, &n), 0);
    return n;
}

static void import_file(struct statedb *db, enum intel_format f, const char *name, uint64_t expect)
{
    size_t len;
    char *d = slurp(name, &len);
    struct intel_import_stats st;
    struct intel_error e;
    int rc = intel_import(db, f, d, len, NULL, 1545000000000ull, &st, &e);
    if (rc)
        fail_msg("%s: rc %d line %lu %s", name, rc, e.line, e.msg);
    assert_int_equal(st.indicators, expect);
    free(d);
}

static void test_intel_formats_parse(void **state)
{
    (void)state;
    static const struct {
        enum intel_format f;
        const char *file;
        uint64_t ind, skipped;
    } cases[] = {
        {INTEL_THREATFOX_CSV, "threatfox.csv", 3, 1},
        {INTEL_THREATFOX_JSON, "threatfox.json", 2, 1},
        {INTEL_FEODO_CSV, "feodo.csv", 2, 0},
        {INTEL_LIST, "list.txt", 3, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len;
        char *d = slurp(cases[i].file, &len);
        struct intel_import_stats st;
        struct intel_error e;
        assert_int_equal(intel_parse_only(cases[i].f, d, len, &st, &e), 0);
        assert_int_equal(st.indicators, cases[i].ind);
        assert_int_equal(st.skipped, cases[i].skipped);
        free(d);
    }
    assert_int_equal(intel_format_parse("threatfox-json"), INTEL_THREATFOX_JSON);
    assert_int_equal(intel_format_parse("stix"), -1);
}

static void test_intel_reimport_is_idempotent(void **state)
{
    struct fixture *fx = *state;
    import_file(fx->db, INTEL_THREATFOX_CSV, "threatfox.csv", 3);
    assert_int_equal(count(fx->db), 3);
    import_file(fx->db, INTEL_THREATFOX_CSV, "threatfox.csv", 3);
    assert_int_equal(count(fx->db), 3);
    /* The JSON export of the same source shares the CSV's key for the same indicator. */
    import_file(fx->db, INTEL_THREATFOX_JSON, "threatfox.json", 2);
    assert_int_equal(count(fx->db), 4);
    import_file(fx->db, INTEL_FEODO_CSV, "feodo.csv", 2);
    import_file(fx->db, INTEL_LIST, "list.txt", 3);
    assert_int_equal(count(fx->db), 9);
    import_file(fx->db, INTEL_LIST, "list.txt", 3);
    assert_int_equal(count(fx->db), 9);
}

static void test_intel_lookup_earliest_and_endpoint(void **state)
{
    struct fixture *fx = *state;
    import_file(fx->db, INTEL_THREATFOX_CSV, "threatfox.csv", 3);
    import_file(fx->db, INTEL_FEODO_CSV, "feodo.csv", 2);
    struct intel_hit h;
    struct ipaddr a;
    ipaddr_parse("185.244.25.235", &a);
    assert_int_equal(intel_lookup(fx->db, &a, 6667, 6, &h), 0);
    assert_true(h.listed);
    assert_true(h.endpoint);
    assert_int_equal(h.first_listed_ms, 1545408000000ull); /* 2018-12-21 16:00:00 UTC */
    assert_string_equal(h.source, "threatfox");
    assert_string_equal(h.indicator, "185.244.25.235:6667");
    assert_string_equal(h.malware, "Mirai");
    /* Another port of a listed address: listed, but not this endpoint. */
    assert_int_equal(intel_lookup(fx->db, &a, 80, 6, &h), 0);
    assert_true(h.listed);
    assert_false(h.endpoint);
    /* Listed by two sources: the earlier listing (Feodo, a day before ThreatFox) counts. */
    ipaddr_parse("198.51.100.23", &a);
    assert_int_equal(intel_lookup(fx->db, &a, 0, 0, &h), 0);
    assert_true(h.listed && h.endpoint);
    assert_string_equal(h.source, "feodo");
    assert_int_equal(h.first_listed_ms, 1545213600000ull); /* 2018-12-19 10:00:00 */
    ipaddr_parse("2001:db8::66", &a);
    assert_int_equal(intel_lookup(fx->db, &a, 443, 6, &h), 0);
    assert_true(h.listed && h.endpoint);
    assert_string_equal(h.indicator, "[2001:db8::66]:443");
    ipaddr_parse("192.0.2.99", &a);
    assert_int_equal(intel_lookup(fx->db, &a, 443, 6, &h), 0);
    assert_false(h.listed);

    struct buf b = BUF_INIT(4096);
    ipaddr_parse("185.244.25.235", &a);
    /* Detected 50 minutes before ThreatFox listed it: lead +3000000 ms. */
    assert_int_equal(intel_annotate(fx->db, &a, 6667, 6, 1545405000000ull, &b), 0);
    assert_non_null(strstr(b.data, "\"listed\":true"));
    assert_non_null(strstr(b.data, "\"source\":\"threatfox\""));
    assert_non_null(strstr(b.data, "\"first_listed_ms\":1545408000000"));
    assert_non_null(strstr(b.data, "\"lead_ms\":3000000"));
    buf_reset(&b);
    /* Detected a day after the listing: negative lead. */
    assert_int_equal(intel_annotate(fx->db, &a, 6667, 6, 1545494400000ull, &b), 0);
    assert_non_null(strstr(b.data, "\"lead_ms\":-86400000"));
    buf_reset(&b);
    ipaddr_parse("192.0.2.99", &a);
    assert_int_equal(intel_annotate(fx->db, &a, 1, 6, 1, &b), 0);
    assert_string_equal(b.data, "{\"listed\":false}");
    buf_release(&b);
}

static void test_intel_malformed_names_line_and_stores_nothing(void **state)
{
    struct fixture *fx = *state;
    static const struct {
        enum intel_format f;
        const char *in;
        unsigned long line;
        const char *words;
    } cases[] = {
        {INTEL_THREATFOX_CSV,
         "# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\"\n"
         "\"2018-12-21 16:00:00\",\"1\",\"192.0.2.1:80\",\"ip:port\"\n"
         "\"2018-12-21 16:00:00\",\"2\",\"192.0.2.999:80\",\"ip:port\"\n",
         3, "ioc_value"},
        {INTEL_THREATFOX_CSV,
         "\"2018-12-21 16:00:00\",\"1\",\"192.0.2.1:80\",\"ip:port\"\n"
         "\"yesterday\",\"2\",\"192.0.2.2:80\",\"ip:port\"\n",
         2, "first_seen_utc"},
        {INTEL_THREATFOX_CSV, "\"2018-12-21 16:00:00\",\"1\n", 1, "quote"},
        {INTEL_THREATFOX_CSV, "\"2018-12-21 16:00:00\",\"1\"\n", 1, "fields"},
        {INTEL_THREATFOX_CSV,
         "\"2018-12-21 16:00:00\",\"1\",\"192.0.2.1:80\",\"ip:port\",\"\",\"\",\"\",\"\",\"\","
         "\"high\"\n",
         1, "confidence"},
        {INTEL_FEODO_CSV,
         "\"2018-12-18 07:30:05\",\"192.0.2.200\",\"443\",\"online\",\"2018-12-22\",\"Emotet\"\n"
         "\"2018-12-18 07:30:05\",\"192.0.2.201\",\"99999\",\"online\",\"\",\"Emotet\"\n",
         2, "dst_port"},
        {INTEL_FEODO_CSV, "\"2018-12-18 07:30:05\",\"192.0.2.200:80\",\"443\"\n", 1, "dst_ip"},
        {INTEL_LIST, "192.0.2.1\n192.0.2.0/24\n", 2, "not an address"},
        {INTEL_THREATFOX_JSON, "{\"1\": [{\"ioc_value\": \"192.0.2.1:80\",", 1, "JSON"},
        {INTEL_THREATFOX_JSON, "[]", 1, "keyed by IOC id"},
        {INTEL_THREATFOX_JSON,
         "{\"7\":[{\"ioc_value\":\"192.0.2.1:80\",\"ioc_type\":\"ip:port\","
         "\"first_seen_utc\":\"2018-12-21 16:00:00\"}],"
         "\"8\":[{\"ioc_value\":\"192.0.2.2:80\",\"ioc_type\":\"ip:port\"}]}",
         0, "ioc 8"},
    };
    size_t before = count(fx->db);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct intel_import_stats st;
        struct intel_error e;
        int rc =
            intel_import(fx->db, cases[i].f, cases[i].in, strlen(cases[i].in), NULL, 1, &st, &e);
        if ((rc != BS_EMALFORMED && rc != BS_EPARSE) || e.line != cases[i].line ||
            !strstr(e.msg, cases[i].words))
            fail_msg("case %zu: rc %d line %lu msg '%s'", i, rc, e.line, e.msg);
        assert_int_equal(count(fx->db), before);
    }
    struct intel_import_stats st;
    struct intel_error e;
    assert_int_equal(intel_import(fx->db, INTEL_LIST, "192.0.2.1\n", 10, "a|b", 1, &st, &e),
                     BS_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intel_formats_parse),
        cmocka_unit_test_setup_teardown(test_intel_reimport_is_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intel_lookup_earliest_and_endpoint, setup, teardown),
        cmocka_unit_test_setup_teardown(test_intel_malformed_names_line_and_stores_nothing, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
