/* test_ch_statedb.c - the state database's records by kind and exporters behave the same on
 * ClickHouse as on SQLite: every scenario runs on a SQLite database in a temporary directory
 * and, when BS_CH_URL (and BS_CH_CONFIG, the file with the password) name a running server,
 * on a fresh ClickHouse database too; each scenario checks its expected answers on each
 * backend, and the two backends' transcripts of every listing must be identical (appended
 * records' generated keys aside). tests/integration/clickhouse/ch_statedb.sh starts the
 * server and runs this; without the variables only the SQLite half runs. */
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_records_same_on_both_backends),
        cmocka_unit_test(test_exporters_same_on_both_backends),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
