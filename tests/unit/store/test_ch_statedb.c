/* test_ch_statedb.c - the state database's records by kind and exporters behave the same on
 * ClickHouse as on SQLite: every scenario runs on a SQLite database in a temporary directory
 * and, when BS_CH_URL (and BS_CH_CONFIG, the file with the password) name a running server,
 * on a fresh ClickHouse database too; each scenario checks its expected answers on each
 * backend, and the two backends' transcripts of every listing must be identical (appended
 * records' generated keys aside). tests/integration/clickhouse/ch_statedb.sh starts the
 * server and runs this; without the variables only the SQLite half runs. */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "store/statedb.h"
#include "store_testutil.h"

struct backend {
    struct statedb *db;
    char *dir;
    char url[512]; /* ClickHouse: the scenario's database */
    struct config cfg;
    bool have_cfg;
};

/* Opens SQLite (which = 0) or a new ClickHouse database (which = 1; false when not set up). */
static bool open_backend(int which, struct backend *b, const char *name)
{
    char err[256];
    memset(b, 0, sizeof *b);
    if (which == 0) {
        b->dir = st_make_tmpdir("bs_ch_statedb");
        assert_int_equal(statedb_open(b->dir, &b->db, err), 0);
        return true;
    }
    const char *url = getenv("BS_CH_URL"), *cfgpath = getenv("BS_CH_CONFIG");
    if (!url || !*url)
        return false;
    config_init(&b->cfg);
    b->have_cfg = true;
    struct cfg_error ce;
    if (cfgpath)
        assert_int_equal(config_load(&b->cfg, cfgpath, &ce), 0);
    char u[512];
    /* URL of the server's root with a database of this scenario's own. */
    const char *slash = strrchr(url, '/');
    snprintf(u, sizeof u, "%.*s/%s_%ld", (int)(slash - url), url, name, (long)time(NULL) % 100000);
    snprintf(b->url, sizeof b->url, "%s", u);
    int rc = statedb_open_cfg(u, &b->cfg, &b->db, err);
    if (rc)
        fail_msg("%s: %s", u, err);
    assert_string_equal(statedb_backend_name(b->db), "clickhouse");
    return true;
}

static void close_backend(struct backend *b)
{
    statedb_close(b->db);
    if (b->dir) {
        st_rm_rf(b->dir);
        free(b->dir);
    }
    if (b->have_cfg)
        config_release(&b->cfg);
}

static int dump_cb(void *ctx, const struct statedb_rec *r)
{
    struct buf *o = ctx;
    /* Generated keys ("#...") differ by backend: only their shape is kept. */
    buf_printf(o, "%s|%s|%s|%" PRIu64 "|%" PRIu64 "|%.6g|%s|%s\n", r->key[0] == '#' ? "#" : r->key,
               r->tenant ? r->tenant : "NULL", r->addr ? r->addr : "NULL", r->first_ms, r->last_ms,
               r->score, r->status ? r->status : "NULL", r->body);
    return 0;
}

static void list(struct statedb *db, const struct statedb_rec_query *q, struct buf *o)
{
    buf_printf(o,
               "-- kind %d key %s tenant %s addr %s status %s t %" PRIu64 "-%" PRIu64
               " min %d/%.2f by_score %d limit %" PRIu64 "\n",
               q->kind, q->key ? q->key : "-", q->tenant ? q->tenant : "-", q->addr ? q->addr : "-",
               q->status ? q->status : "-", q->t_lo, q->t_hi, q->has_min_score, q->min_score,
               q->by_score, q->limit);
    assert_int_equal(statedb_rec_list(db, q, dump_cb, o), 0);
}

/* The scenario: upserts (time range widened, fields replaced, same key in two kinds),
 * appends, awkward text, every selection, both orders, limits, deletes. */
static void scenario(struct statedb *db, struct buf *o)
{
    struct statedb_rec r = {.kind = STATEDB_CANDIDATE,
                            .key = "192.0.2.1|6667|6",
                            .addr = "192.0.2.1",
                            .first_ms = 2000,
                            .last_ms = 3000,
                            .score = 4.5,
                            .status = "new",
                            .body = "{\"clients\":3}"};
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);
    r.first_ms = 2500;
    r.last_ms = 5000;
    r.score = 7.25;
    r.status = "confirmed";
    r.body = "{\"clients\":9}";
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);
    r.kind = STATEDB_FINDING;
    r.first_ms = 1;
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);
    struct statedb_rec many[] = {
        {.kind = STATEDB_CANDIDATE,
         .key = "198.51.100.9|23|6",
         .tenant = "isp-a",
         .addr = "198.51.100.9",
         .first_ms = 100,
         .last_ms = 200,
         .score = 9.5,
         .status = "new"},
        {.kind = STATEDB_CANDIDATE,
         .key = "2001:db8::7|443|6",
         .tenant = "isp-b",
         .addr = "2001:db8::7",
         .first_ms = 6000,
         .last_ms = 7000,
         .score = 1.0,
         .body = "{\"note\":\"it's \\\"quoted\\\"\\ttab\\\\slash\",\"utf8\":\"\xc3\xa9\"}"},
        {.kind = STATEDB_CANDIDATE,
         .key = "odd 'key'\twith\ttabs\nand newline",
         .tenant = "isp-a",
         .first_ms = 50,
         .last_ms = 60,
         .score = 4.5,
         .status = "new"},
        /* the same key twice in one put: the second is an update of the first */
        {.kind = STATEDB_SEED, .key = "203.0.113.5|telescope", .first_ms = 10, .last_ms = 20},
        {.kind = STATEDB_SEED,
         .key = "203.0.113.5|telescope",
         .first_ms = 5,
         .last_ms = 15,
         .status = "second"},
        {.kind = STATEDB_EVIDENCE, .addr = "198.18.0.5", .first_ms = 1, .last_ms = 1},
        {.kind = STATEDB_EVIDENCE, .addr = "198.18.0.5", .first_ms = 2, .last_ms = 2},
    };
    assert_int_equal(statedb_rec_put(db, many, sizeof many / sizeof many[0]), 0);
    r.kind = STATEDB_CANDIDATE;
    r.first_ms = 1000; /* earlier: the minimum moves */
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);

    struct statedb_rec_query qs[] = {
        {.kind = STATEDB_CANDIDATE},
        {.kind = STATEDB_CANDIDATE, .by_score = true},
        {.kind = STATEDB_CANDIDATE, .by_score = true, .limit = 2},
        {.kind = STATEDB_CANDIDATE, .tenant = "isp-a"},
        {.kind = STATEDB_CANDIDATE, .status = "new"},
        {.kind = STATEDB_CANDIDATE, .addr = "2001:db8::7"},
        {.kind = STATEDB_CANDIDATE, .key = "odd 'key'\twith\ttabs\nand newline"},
        {.kind = STATEDB_CANDIDATE, .t_lo = 150, .t_hi = 2000},
        {.kind = STATEDB_CANDIDATE, .t_lo = 5001},
        {.kind = STATEDB_CANDIDATE, .has_min_score = true, .min_score = 4.5},
        {.kind = STATEDB_FINDING},
        {.kind = STATEDB_SEED},
        {.kind = STATEDB_EVIDENCE},
        {.kind = STATEDB_INTEL},
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++)
        list(db, &qs[i], o);
    uint64_t del = 99;
    assert_int_equal(statedb_rec_delete(db, STATEDB_CANDIDATE, "198.51.100.9|23|6", &del), 0);
    buf_printf(o, "deleted %" PRIu64 "\n", del);
    assert_int_equal(statedb_rec_delete(db, STATEDB_CANDIDATE, "no such key", &del), 0);
    buf_printf(o, "deleted %" PRIu64 "\n", del);
    list(db, &qs[0], o);
    assert_int_equal(statedb_rec_delete(db, STATEDB_EVIDENCE, NULL, &del), 0);
    buf_printf(o, "deleted %" PRIu64 "\n", del);
    list(db, &qs[12], o);
    /* A deleted key put again lives again, with only the new times. */
    many[0].first_ms = 300;
    many[0].last_ms = 400;
    assert_int_equal(statedb_rec_put(db, many, 1), 0);
    list(db, &qs[0], o);
}

/* What the scenario must give on any backend (checked on each, not only compared). */
static void expect_answers(const char *t)
{
    /* widened and replaced */
    assert_non_null(
        strstr(t, "192.0.2.1|6667|6|NULL|192.0.2.1|1000|5000|7.25|confirmed|{\"clients\":9}"));
    /* same key text, other kind: its own record */
    assert_non_null(strstr(t, "192.0.2.1|6667|6|NULL|192.0.2.1|1|5000|7.25|confirmed"));
    /* two puts of one key in one call: range of both, fields of the second */
    assert_non_null(strstr(t, "203.0.113.5|telescope|NULL|NULL|5|20|0|second|{}"));
    /* text with quotes, tabs, backslashes and UTF-8 comes back as given */
    assert_non_null(strstr(t, "it's \\\"quoted\\\"\\ttab\\\\slash\",\"utf8\":\"\xc3\xa9\"}"));
    assert_non_null(strstr(t, "odd 'key'\twith\ttabs\nand newline|isp-a|NULL|50|60|4.5|new|{}"));
    assert_non_null(strstr(t, "deleted 1\ndeleted 0\n"));
    assert_non_null(strstr(t, "deleted 2\n"));
    assert_non_null(strstr(t, "198.51.100.9|23|6|isp-a|198.51.100.9|300|400|9.5|new"));
}

static void test_records_same_on_both_backends(void **state)
{
    (void)state;
    struct buf out[2] = {BUF_INIT(1 << 20), BUF_INIT(1 << 20)};
    int ran = 0;
    for (int which = 0; which < 2; which++) {
        struct backend b;
        if (!open_backend(which, &b, "records"))
            continue;
        scenario(b.db, &out[which]);
        expect_answers(out[which].data);
        close_backend(&b);
        ran++;
    }
    if (ran == 2 && strcmp(out[0].data, out[1].data)) {
        fprintf(stderr, "--- SQLite\n%s--- ClickHouse\n%s", out[0].data, out[1].data);
        fail_msg("the backends' answers differ");
    }
    buf_release(&out[0]);
    buf_release(&out[1]);
}

static int exp_cb(void *ctx, const struct statedb_exporter *e)
{
    struct buf *o = ctx;
    char a[IPADDR_STRLEN];
    ipaddr_format(&e->addr, a, sizeof a);
    buf_printf(o, "%s %" PRIu64 "-%" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %u %u\n", a,
               e->first_ms, e->last_ms, e->flows, e->packets, e->bytes, e->sampling_rate,
               e->version);
    return 0;
}

/* Exporter upserts add counts, widen the range, keep the last sampling rate and version. */
static void test_exporters_same_on_both_backends(void **state)
{
    (void)state;
    struct buf out[2] = {BUF_INIT(1 << 16), BUF_INIT(1 << 16)};
    int ran = 0;
    for (int which = 0; which < 2; which++) {
        struct backend b;
        if (!open_backend(which, &b, "exporters"))
            continue;
        struct statedb_exporter e[2];
        memset(e, 0, sizeof e);
        ipaddr_parse("192.0.2.9", &e[0].addr);
        ipaddr_parse("2001:db8::1", &e[1].addr);
        e[0] = (struct statedb_exporter){e[0].addr, 100, 200, 3, 30, 3000, 1, 9};
        e[1] = (struct statedb_exporter){e[1].addr, 500, 600, 1, 1, 64, 1024, 10};
        assert_int_equal(statedb_exporter_upsert(b.db, e, 2), 0);
        struct timespec ts = {0, 2000000}; /* the next upsert is written later */
        nanosleep(&ts, NULL);
        e[0].first_ms = 50;
        e[0].last_ms = 150;
        e[0].sampling_rate = 100;
        assert_int_equal(statedb_exporter_upsert(b.db, e, 1), 0);
        assert_int_equal(statedb_exporter_list(b.db, exp_cb, &out[which]), 0);
        assert_non_null(strstr(out[which].data, "192.0.2.9 50-200 6 60 6000 100 9\n"));
        close_backend(&b);
        ran++;
    }
    if (ran == 2)
        assert_string_equal(out[0].data, out[1].data);
    buf_release(&out[0]);
    buf_release(&out[1]);
}

/* ---- the telescope's tables ---- */

static int src_cb(void *ctx, const struct statedb_tel_source_sum *s)
{
    struct buf *o = ctx;
    buf_printf(o, "%s %" PRIu64 "-%" PRIu64 " %" PRIu64 "\n", s->src, s->first_ms, s->last_ms,
               s->days);
    return 0;
}

static void src(struct statedb *db, const char *addr, uint64_t day, uint64_t first, bool inf,
                const char *tags)
{
    struct statedb_tel_source r = {.src = addr,
                                   .day_ms = day,
                                   .first_ms = first,
                                   .last_ms = first + 10,
                                   .packets = 4,
                                   .ports = "[23,2323]",
                                   .fingerprints = "[\"mirai\"]",
                                   .tags = tags,
                                   .scan_class = "horizontal",
                                   .asn = inf ? 64500 : -1,
                                   .cc = inf ? "NL" : NULL,
                                   .infected_iot = inf};
    assert_int_equal(statedb_tel_source_put(db, &r), 0);
}

static void tel_lists(struct statedb *db, struct buf *o)
{
    const struct statedb_tel_source_query qs[] = {
        {.infected_only = true, .addresses_only = true},
        {0},
        {.infected_only = true, .t_lo = 86400000, .t_hi = 86400005},
    };
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        buf_printf(o, "query %zu\n", i);
        assert_int_equal(statedb_tel_source_list(db, &qs[i], src_cb, o), 0);
    }
}

/* Two runs: the second replaces one source row by key and adds many rows (more than one
 * ClickHouse batch), then the reader's answers, through the writing handle and through a
 * read-only one, must be the same on both backends. */
static void tel_scenario(struct backend *b, struct buf *o)
{
    struct statedb *db = b->db;
    struct statedb_tel_run run = {.started_ms = 5,
                                  .mode = "offline",
                                  .version = "test",
                                  .command = "botscope telescope 'quoted'",
                                  .darknet = "198.18.0.0/15",
                                  .inputs = "[\"a.pcap\"]"};
    struct statedb_tel_run_totals t = {.sources = 5, .ok = true};
    int64_t id1 = 0, id2 = 0;
    assert_int_equal(statedb_tel_begin(db, &run, &id1), 0);
    src(db, "192.0.2.1", 0, 100, true, "[\"tcp_scan\"]");
    src(db, "192.0.2.1", 86400000, 86400001, true, "[]");
    src(db, "192.0.2.2", 0, 300, true, "[]");
    src(db, "192.0.2.3", 0, 7, false, "[]");
    src(db, "h:00112233aabbccdd", 0, 8, true, "[]");
    struct statedb_tel_victim v = {.victim = "203.0.113.9",
                                   .first_ms = 1,
                                   .last_ms = 90000,
                                   .packets = 50,
                                   .ports = "[80]",
                                   .observed_pps = 0.5,
                                   .scaled_pps = -1};
    assert_int_equal(statedb_tel_victim_put(db, &v), 0);
    struct statedb_tel_interval iv = {.resolution_s = 60,
                                      .start_ms = 0,
                                      .end_ms = 60000,
                                      .packets = 9,
                                      .tags = "{\"tcp_scan\":9}"};
    assert_int_equal(statedb_tel_interval_put(db, &iv), 0);
    assert_int_equal(statedb_tel_commit(db), 0);
    assert_int_equal(statedb_tel_end(db, &t), 0);
    assert_int_equal(statedb_tel_commit(db), -EINVAL); /* outside a run */
    tel_lists(db, o);

    assert_int_equal(statedb_tel_begin(db, &run, &id2), 0);
    assert_true(id2 > id1);
    src(db, "192.0.2.2", 0, 300, false, "[]"); /* same key: replaced, no longer infected */
    /* 20,000 rows with long tags: several MiB of SQL text, more than one batch */
    char tags[300], addr[64];
    memset(tags, 0, sizeof tags);
    tags[0] = '[';
    for (int i = 1; i < 250; i++)
        tags[i] = i % 2 ? '1' : ',';
    tags[250] = '1';
    tags[251] = ']';
    for (int i = 0; i < 20000; i++) {
        snprintf(addr, sizeof addr, "10.%d.%d.%d", i / 65536, (i / 256) % 256, i % 256);
        src(db, addr, 2 * 86400000ull, 2 * 86400000ull + (uint64_t)i, i % 2 == 0, tags);
    }
    assert_int_equal(statedb_tel_end(db, &t), 0);
    tel_lists(db, o);

    /* read-only: the same answers */
    struct statedb *ro = NULL;
    char err[256];
    int rc = statedb_open_rdonly(b->dir ? b->dir : b->url, &b->cfg, &ro, err);
    if (rc)
        fail_msg("read-only open: %s", err);
    tel_lists(ro, o);
    struct statedb_rec r = {.kind = STATEDB_STATE, .key = "k"};
    assert_true(statedb_rec_put(ro, &r, 1) < 0); /* and no writing through it */
    statedb_close(ro);
}

static void test_telescope_same_on_both_backends(void **state)
{
    (void)state;
    struct buf out[2] = {BUF_INIT(16 << 20), BUF_INIT(16 << 20)};
    int ran = 0;
    for (int which = 0; which < 2; which++) {
        struct backend b;
        if (!open_backend(which, &b, "telescope"))
            continue;
        tel_scenario(&b, &out[which]);
        const char *t = out[which].data;
        /* two days of one address: the minimum first_ms, both days; pseudonym left out */
        assert_non_null(
            strstr(t, "query 0\n192.0.2.1 100-86400011 2\n192.0.2.2 300-310 1\nquery 1\n"));
        assert_non_null(strstr(t, "query 1\n192.0.2.1 100-86400011 2\n192.0.2.2 300-310 1\n"
                                  "192.0.2.3 7-17 1\nh:00112233aabbccdd 8-18 1\nquery 2\n"
                                  "192.0.2.1 86400001-86400011 1\nquery 0\n"));
        /* after the second run: 192.0.2.2 replaced (not infected), 10,000 infected more */
        const char *second = strstr(t, "query 0\n10.0.0.0 172800000-172800010 1\n");
        assert_non_null(second);
        assert_null(strstr(second, "192.0.2.2 300-310 1\nquery 1"));
        assert_non_null(strstr(second, "10.0.78.30 172819998-172820008 1\n"));
        close_backend(&b);
        ran++;
    }
    /* a database that does not exist is not created by a reader */
    struct backend nb;
    if (open_backend(1, &nb, "unused")) {
        struct statedb *ro = NULL;
        char err[256], u[600];
        snprintf(u, sizeof u, "%s_none", nb.url);
        assert_int_equal(statedb_open_rdonly(u, &nb.cfg, &ro, err), BS_ENOTFOUND);
        assert_non_null(strstr(err, "_none"));
        close_backend(&nb);
    }
    if (ran == 2 && strcmp(out[0].data, out[1].data)) {
        fprintf(stderr, "--- SQLite\n%.2000s--- ClickHouse\n%.2000s", out[0].data, out[1].data);
        fail_msg("the backends' answers differ");
    }
    buf_release(&out[0]);
    buf_release(&out[1]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_same_on_both_backends),
        cmocka_unit_test(test_exporters_same_on_both_backends),
        cmocka_unit_test(test_telescope_same_on_both_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
