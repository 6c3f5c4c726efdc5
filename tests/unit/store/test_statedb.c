/* test_statedb.c - the state database's records by kind (statedb_rec_*): upsert identity,
 * appended records, selections and their order, deletion, and the 2 -> 3 migration; the
 * telescope sources reader (statedb_tel_source_list) and read-only opening. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/err.h"
#include "store/statedb.h"
#include "store_testutil.h"

#define MAXGOT 16

struct got {
    size_t n;
    char key[MAXGOT][64], addr[MAXGOT][64], status[MAXGOT][16], body[MAXGOT][128];
    uint64_t first[MAXGOT], last[MAXGOT];
    double score[MAXGOT];
};

static int collect(void *ctx, const struct statedb_rec *r)
{
    struct got *g = ctx;
    assert_true(g->n < MAXGOT);
    snprintf(g->key[g->n], 64, "%s", r->key);
    snprintf(g->addr[g->n], 64, "%s", r->addr ? r->addr : "-");
    snprintf(g->status[g->n], 16, "%s", r->status ? r->status : "-");
    snprintf(g->body[g->n], 128, "%s", r->body);
    g->first[g->n] = r->first_ms;
    g->last[g->n] = r->last_ms;
    g->score[g->n] = r->score;
    g->n++;
    return 0;
}

static struct statedb *open_tmp(char **dir)
{
    char err[256];
    struct statedb *db;
    *dir = st_make_tmpdir("bs_statedb_test");
    assert_int_equal(statedb_open(*dir, &db, err), 0);
    return db;
}

static void close_tmp(struct statedb *db, char *dir)
{
    statedb_close(db);
    st_rm_rf(dir);
    free(dir);
}

/* (kind, key) is the identity: a second put widens the time range and replaces the rest; the
 * same key under another kind is another record. */
static void test_statedb_rec_upsert_widens_times_and_replaces_fields(void **state)
{
    (void)state;
    char *dir;
    struct statedb *db = open_tmp(&dir);
    struct statedb_rec r = {.kind = STATEDB_CANDIDATE,
                            .key = "192.0.2.1|6667|6",
                            .addr = "192.0.2.1",
                            .first_ms = 2000,
                            .last_ms = 3000,
                            .score = 4.5,
                            .status = "new",
                            .body = "{\"clients\":3}"};
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);
    r.first_ms = 2500; /* inside: the stored range stays [2000, 5000] after the next put */
    r.last_ms = 5000;
    r.score = 7.25;
    r.status = "confirmed";
    r.body = "{\"clients\":9}";
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);
    r.kind = STATEDB_FINDING; /* same key text, other kind */
    r.first_ms = 1;
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);

    struct got g = {0};
    struct statedb_rec_query q = {.kind = STATEDB_CANDIDATE};
    assert_int_equal(statedb_rec_list(db, &q, collect, &g), 0);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.first[0], 2000);
    assert_int_equal(g.last[0], 5000);
    assert_true(g.score[0] == 7.25);
    assert_string_equal(g.status[0], "confirmed");
    assert_string_equal(g.body[0], "{\"clients\":9}");
    r.first_ms = 1000; /* earlier: the minimum moves */
    r.kind = STATEDB_CANDIDATE;
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);
    memset(&g, 0, sizeof g);
    assert_int_equal(statedb_rec_list(db, &q, collect, &g), 0);
    assert_int_equal(g.first[0], 1000);
    close_tmp(db, dir);
}

/* Records put with key NULL are appended, each with its own "#<id>" key. */
static void test_statedb_rec_append_gives_unique_keys(void **state)
{
    (void)state;
    char *dir;
    struct statedb *db = open_tmp(&dir);
    struct statedb_rec ev[3] = {
        {.kind = STATEDB_EVIDENCE, .addr = "198.18.0.5", .first_ms = 1, .last_ms = 1},
        {.kind = STATEDB_EVIDENCE, .addr = "198.18.0.5", .first_ms = 2, .last_ms = 2},
        {.kind = STATEDB_EVIDENCE, .addr = "198.18.0.6", .first_ms = 3, .last_ms = 3},
    };
    assert_int_equal(statedb_rec_put(db, ev, 3), 0);
    assert_int_equal(statedb_rec_put(db, ev, 1), 0);
    struct got g = {0};
    struct statedb_rec_query q = {.kind = STATEDB_EVIDENCE, .addr = "198.18.0.5"};
    assert_int_equal(statedb_rec_list(db, &q, collect, &g), 0);
    assert_int_equal(g.n, 3);
    for (size_t i = 0; i < g.n; i++) {
        assert_int_equal(g.key[i][0], '#');
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(g.key[i], g.key[j]);
    }
    assert_string_equal(g.body[0], "{}"); /* a NULL body is stored as an empty object */
    close_tmp(db, dir);
}

/* Every condition of a selection, both sides of the time and score bounds, both orders. */
static void test_statedb_rec_list_selects_and_orders(void **state)
{
    (void)state;
    char *dir;
    struct statedb *db = open_tmp(&dir);
    struct statedb_rec r[4] = {
        {.kind = STATEDB_CANDIDATE,
         .key = "a",
         .tenant = "isp1",
         .addr = "192.0.2.1",
         .first_ms = 100,
         .last_ms = 200,
         .score = 1.0,
         .status = "new"},
        {.kind = STATEDB_CANDIDATE,
         .key = "b",
         .tenant = "isp2",
         .addr = "192.0.2.2",
         .first_ms = 300,
         .last_ms = 400,
         .score = 9.0},
        {.kind = STATEDB_CANDIDATE,
         .key = "c",
         .tenant = "isp1",
         .addr = "192.0.2.1",
         .first_ms = 500,
         .last_ms = 600,
         .score = 5.0,
         .status = "new"},
        {.kind = STATEDB_SEED, .key = "d", .addr = "192.0.2.1", .first_ms = 0, .last_ms = 1000},
    };
    assert_int_equal(statedb_rec_put(db, r, 4), 0);
    struct got g;
    struct statedb_rec_query q = {.kind = STATEDB_CANDIDATE};
#define LIST(...)                                                                                  \
    do {                                                                                           \
        memset(&g, 0, sizeof g);                                                                   \
        q = (struct statedb_rec_query){.kind = STATEDB_CANDIDATE, __VA_ARGS__};                    \
        assert_int_equal(statedb_rec_list(db, &q, collect, &g), 0);                                \
    } while (0)
    LIST(.limit = 0);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.key[0], "a");
    assert_string_equal(g.key[2], "c");
    LIST(.by_score = true);
    assert_string_equal(g.key[0], "b");
    assert_string_equal(g.key[1], "c");
    assert_string_equal(g.key[2], "a");
    LIST(.by_score = true, .limit = 2);
    assert_int_equal(g.n, 2);
    LIST(.tenant = "isp1");
    assert_int_equal(g.n, 2);
    LIST(.addr = "192.0.2.2");
    assert_int_equal(g.n, 1);
    assert_string_equal(g.key[0], "b");
    LIST(.status = "new");
    assert_int_equal(g.n, 2);
    LIST(.key = "c");
    assert_int_equal(g.n, 1);
    LIST(.has_min_score = true, .min_score = 5.0); /* inclusive bound */
    assert_int_equal(g.n, 2);
    LIST(.has_min_score = true, .min_score = 5.01);
    assert_int_equal(g.n, 1);
    LIST(.t_lo = 400, .t_hi = 500); /* b ends at 400, c starts at 500: both meet the range */
    assert_int_equal(g.n, 2);
    assert_string_equal(g.key[0], "b");
    LIST(.t_lo = 401, .t_hi = 499);
    assert_int_equal(g.n, 0);
    LIST(.t_lo = 601);
    assert_int_equal(g.n, 0);
#undef LIST
    close_tmp(db, dir);
}

static void test_statedb_rec_delete_and_bad_kind(void **state)
{
    (void)state;
    char *dir;
    struct statedb *db = open_tmp(&dir);
    struct statedb_rec r[3] = {{.kind = STATEDB_STATE, .key = "detect.cursor", .body = "{}"},
                               {.kind = STATEDB_STATE, .key = "survey.pos", .body = "{}"},
                               {.kind = STATEDB_INTEL, .key = "x", .body = "{}"}};
    assert_int_equal(statedb_rec_put(db, r, 3), 0);
    uint64_t n = 99;
    assert_int_equal(statedb_rec_delete(db, STATEDB_STATE, "survey.pos", &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(statedb_rec_delete(db, STATEDB_STATE, "survey.pos", &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(statedb_rec_delete(db, STATEDB_STATE, NULL, &n), 0);
    assert_int_equal(n, 1);
    struct got g = {0};
    struct statedb_rec_query q = {.kind = STATEDB_INTEL};
    assert_int_equal(statedb_rec_list(db, &q, collect, &g), 0);
    assert_int_equal(g.n, 1); /* other kinds untouched */

    struct statedb_rec bad = {.kind = STATEDB_KIND_COUNT, .key = "k"};
    assert_int_equal(statedb_rec_put(db, &bad, 1), BS_EUSAGE);
    q.kind = (enum statedb_kind) - 1;
    assert_int_equal(statedb_rec_list(db, &q, collect, &g), BS_EUSAGE);
    /* A batch with one bad record stores none of it. */
    struct statedb_rec mixed[2] = {{.kind = STATEDB_SEED, .key = "s"}, bad};
    assert_int_equal(statedb_rec_put(db, mixed, 2), BS_EUSAGE);
    memset(&g, 0, sizeof g);
    q.kind = STATEDB_SEED;
    assert_int_equal(statedb_rec_list(db, &q, collect, &g), 0);
    assert_int_equal(g.n, 0);
    for (int k = 0; k < STATEDB_KIND_COUNT; k++)
        assert_int_equal(statedb_kind_parse(statedb_kind_name((enum statedb_kind)k)), k);
    assert_int_equal(statedb_kind_parse("nonsense"), -1);
    assert_null(statedb_kind_name(STATEDB_KIND_COUNT));
    close_tmp(db, dir);
}

/* A version-2 file (what the previous release wrote) is migrated in place: its telescope rows
 * stay, the unused findings/candidates tables become views of the records table. */
static void test_statedb_migrates_version_2_file(void **state)
{
    (void)state;
    char *dir = st_make_tmpdir("bs_statedb_test");
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/state.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    const char *v2 =
        "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_ms INTEGER NOT NULL"
        " DEFAULT 0);"
        "INSERT INTO schema_version(version) VALUES (1), (2);"
        "CREATE TABLE exporters (addr TEXT PRIMARY KEY, first_seen_ms INTEGER NOT NULL,"
        " last_seen_ms INTEGER NOT NULL, flows INTEGER NOT NULL DEFAULT 0, packets INTEGER NOT"
        " NULL DEFAULT 0, bytes INTEGER NOT NULL DEFAULT 0, sampling_rate INTEGER NOT NULL"
        " DEFAULT 1, version INTEGER NOT NULL DEFAULT 0);"
        "CREATE TABLE findings (id INTEGER PRIMARY KEY, addr TEXT NOT NULL);"
        "CREATE TABLE candidates (id INTEGER PRIMARY KEY, addr TEXT NOT NULL);"
        "CREATE TABLE telescope_runs (id INTEGER PRIMARY KEY, started_ms INTEGER);"
        "INSERT INTO telescope_runs(started_ms) VALUES (42);";
    assert_int_equal(sqlite3_exec(raw, v2, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    struct statedb *db;
    assert_int_equal(statedb_open(path, &db, err), 0);
    assert_int_equal(statedb_schema_version(db), 3);
    struct statedb_rec r = {.kind = STATEDB_FINDING,
                            .key = "198.18.0.2|23|weak_credential",
                            .addr = "198.18.0.2",
                            .status = "open"};
    assert_int_equal(statedb_rec_put(db, &r, 1), 0);
    statedb_close(db);

    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(raw,
                                        "SELECT (SELECT count(*) FROM findings),"
                                        " (SELECT addr FROM findings),"
                                        " (SELECT started_ms FROM telescope_runs),"
                                        " (SELECT type FROM sqlite_master WHERE name='findings')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    assert_string_equal((const char *)sqlite3_column_text(st, 1), "198.18.0.2");
    assert_int_equal(sqlite3_column_int(st, 2), 42);
    assert_string_equal((const char *)sqlite3_column_text(st, 3), "view");
    sqlite3_finalize(st);
    sqlite3_close(raw);
    st_rm_rf(dir);
    free(dir);
}

/* ---- the telescope sources reader (statedb_tel_source_list) ---- */

#define DAY 86400000ull

struct srcgot {
    size_t n;
    char src[MAXGOT][64];
    uint64_t first[MAXGOT], last[MAXGOT], days[MAXGOT];
    int stop_after; /* > 0: return 7 after that many rows */
};

static int collect_src(void *ctx, const struct statedb_tel_source_sum *s)
{
    struct srcgot *g = ctx;
    assert_true(g->n < MAXGOT);
    snprintf(g->src[g->n], 64, "%s", s->src);
    g->first[g->n] = s->first_ms;
    g->last[g->n] = s->last_ms;
    g->days[g->n] = s->days;
    g->n++;
    return g->stop_after && (int)g->n == g->stop_after ? 7 : 0;
}

static void put_src(struct statedb *db, const char *src, uint64_t day, uint64_t first,
                    uint64_t last, bool infected)
{
    struct statedb_tel_source r = {.src = src,
                                   .day_ms = day,
                                   .first_ms = first,
                                   .last_ms = last,
                                   .packets = 3,
                                   .scan_class = "horizontal",
                                   .asn = -1,
                                   .infected_iot = infected};
    assert_int_equal(statedb_tel_source_put(db, &r), 0);
}

static void run_sources(struct statedb *db, void (*put)(struct statedb *db))
{
    struct statedb_tel_run run = {.started_ms = 1, .mode = "offline", .version = "t"};
    struct statedb_tel_run_totals t = {.ok = true};
    assert_int_equal(statedb_tel_begin(db, &run, NULL), 0);
    put(db);
    assert_int_equal(statedb_tel_end(db, &t), 0);
}

static void first_run(struct statedb *db)
{
    put_src(db, "192.0.2.1", 0, 100, 200, true);
    put_src(db, "192.0.2.1", DAY, DAY + 50, DAY + 60, true); /* a second day */
    put_src(db, "192.0.2.2", 0, 300, 400, true);             /* replaced by the next run */
    put_src(db, "192.0.2.3", 0, 10, 20, false);              /* not infected */
    put_src(db, "h:0123456789abcdef", 0, 5, 6, true);        /* a pseudonym */
    put_src(db, "2001:db8::1", DAY, DAY + 1, DAY + 2, true);
}

static void second_run(struct statedb *db)
{
    put_src(db, "192.0.2.2", 0, 300, 400, false); /* same key: the row is replaced */
}

/* One row per address: the minimum first_ms and maximum last_ms over its days, infected only
 * and addresses only when asked, a time range selecting days, rows replaced by key. */
static void test_statedb_tel_source_list(void **state)
{
    (void)state;
    char *dir;
    struct statedb *db = open_tmp(&dir);
    run_sources(db, first_run);

    struct statedb_tel_source_query q = {.infected_only = true, .addresses_only = true};
    struct srcgot g = {0};
    assert_int_equal(statedb_tel_source_list(db, &q, collect_src, &g), 0);
    assert_int_equal(g.n, 3);
    assert_string_equal(g.src[0], "192.0.2.1");
    assert_int_equal(g.first[0], 100);
    assert_int_equal(g.last[0], DAY + 60);
    assert_int_equal(g.days[0], 2);
    assert_string_equal(g.src[1], "192.0.2.2");
    assert_string_equal(g.src[2], "2001:db8::1");
    assert_int_equal(g.first[2], DAY + 1);

    /* the same key put again by a later run replaces the row: 192.0.2.2 is no longer infected */
    run_sources(db, second_run);
    memset(&g, 0, sizeof g);
    assert_int_equal(statedb_tel_source_list(db, &q, collect_src, &g), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.src[0], "192.0.2.1");
    assert_string_equal(g.src[1], "2001:db8::1");

    /* every source, pseudonyms too (byte order: 'h' after the digits) */
    struct statedb_tel_source_query all = {0};
    memset(&g, 0, sizeof g);
    assert_int_equal(statedb_tel_source_list(db, &all, collect_src, &g), 0);
    assert_int_equal(g.n, 5);
    assert_string_equal(g.src[2], "192.0.2.3");
    assert_string_equal(g.src[4], "h:0123456789abcdef");

    /* a time range: only the second day of 192.0.2.1 meets it */
    struct statedb_tel_source_query day1 = {
        .infected_only = true, .addresses_only = true, .t_lo = DAY, .t_hi = DAY + 55};
    memset(&g, 0, sizeof g);
    assert_int_equal(statedb_tel_source_list(db, &day1, collect_src, &g), 0);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.src[0], "192.0.2.1");
    assert_int_equal(g.first[0], DAY + 50);
    assert_int_equal(g.days[0], 1);

    /* a callback's non-zero value stops the listing and is returned */
    memset(&g, 0, sizeof g);
    g.stop_after = 1;
    assert_int_equal(statedb_tel_source_list(db, &all, collect_src, &g), 7);
    assert_int_equal(g.n, 1);
    close_tmp(db, dir);
}

static int count_schema_version_tables(const char *path)
{
    sqlite3 *raw;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw,
                                        "SELECT count(*) FROM sqlite_master WHERE"
                                        " name = 'schema_version'",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int n = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(raw);
    return n;
}

/* Read-only opening: a missing file is BS_ENOTFOUND (not created); an SQLite file that is not
 * a state database is BS_EPARSE and left as it was; a version-2 file is read as it is (its
 * telescope sources listed, records BS_ENOTFOUND) and not migrated; writes are refused. */
static void test_statedb_open_rdonly(void **state)
{
    (void)state;
    char *dir = st_make_tmpdir("bs_statedb_test");
    char path[600], err[256];
    struct statedb *db = NULL;
    snprintf(path, sizeof path, "%s/none.db", dir);
    assert_int_equal(statedb_open_rdonly(path, NULL, &db, err), BS_ENOTFOUND);
    assert_non_null(strstr(err, "none.db"));
    FILE *f = fopen(path, "r");
    assert_null(f);

    snprintf(path, sizeof path, "%s/other.db", dir);
    sqlite3 *raw;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE x (a INTEGER)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(statedb_open_rdonly(path, NULL, &db, err), BS_EPARSE);
    assert_non_null(strstr(err, "schema_version"));
    assert_int_equal(count_schema_version_tables(path), 0);

    snprintf(path, sizeof path, "%s/state.db", dir);
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    const char *v2 =
        "CREATE TABLE schema_version (version INTEGER NOT NULL, applied_ms INTEGER NOT NULL"
        " DEFAULT 0);"
        "INSERT INTO schema_version(version) VALUES (1), (2);"
        "CREATE TABLE telescope_sources (src TEXT NOT NULL, day_ms INTEGER NOT NULL,"
        " first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL, infected_iot INTEGER NOT NULL,"
        " PRIMARY KEY (src, day_ms));"
        "INSERT INTO telescope_sources VALUES ('198.51.100.7', 0, 9, 10, 1),"
        " ('198.51.100.7', 86400000, 86400009, 86400010, 1), ('198.51.100.8', 0, 1, 2, 0);";
    assert_int_equal(sqlite3_exec(raw, v2, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(statedb_open_rdonly(dir, NULL, &db, err), 0); /* the directory's state.db */
    assert_int_equal(statedb_schema_version(db), 2);
    struct statedb_tel_source_query q = {.infected_only = true};
    struct srcgot g = {0};
    assert_int_equal(statedb_tel_source_list(db, &q, collect_src, &g), 0);
    assert_int_equal(g.n, 1);
    assert_string_equal(g.src[0], "198.51.100.7");
    assert_int_equal(g.first[0], 9);
    assert_int_equal(g.days[0], 2);
    struct statedb_rec_query rq = {.kind = STATEDB_FINDING};
    struct got rg = {0};
    assert_int_equal(statedb_rec_list(db, &rq, collect, &rg), BS_ENOTFOUND);
    struct statedb_rec r = {.kind = STATEDB_STATE, .key = "k"};
    assert_true(statedb_rec_put(db, &r, 1) < 0);
    statedb_close(db);
    /* not migrated: still version 2, no records table */
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(raw,
                                        "SELECT (SELECT max(version) FROM schema_version),"
                                        " (SELECT count(*) FROM sqlite_master WHERE"
                                        " name = 'records')",
                                        -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 2);
    assert_int_equal(sqlite3_column_int(st, 1), 0);
    sqlite3_finalize(st);
    /* A schema newer than this botscope: refused both ways, and left as it is. */
    assert_int_equal(
        sqlite3_exec(raw, "INSERT INTO schema_version(version) VALUES (99)", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(statedb_open_rdonly(path, NULL, &db, err), BS_EVERSION);
    assert_non_null(strstr(err, "newer"));
    assert_int_equal(statedb_open(path, &db, err), BS_EVERSION);
    assert_non_null(strstr(err, "schema version 99"));
    st_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_statedb_rec_upsert_widens_times_and_replaces_fields),
        cmocka_unit_test(test_statedb_rec_append_gives_unique_keys),
        cmocka_unit_test(test_statedb_rec_list_selects_and_orders),
        cmocka_unit_test(test_statedb_rec_delete_and_bad_kind),
        cmocka_unit_test(test_statedb_migrates_version_2_file),
        cmocka_unit_test(test_statedb_tel_source_list),
        cmocka_unit_test(test_statedb_open_rdonly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
