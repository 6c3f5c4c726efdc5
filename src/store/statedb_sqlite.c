/* statedb_sqlite.c - the state database in SQLite (WAL): the embedded backend's half of
 * statedb.h. Its handle embeds struct statedb first; statedb.c dispatches through it. */
#include "store/statedb.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/clock.h"
#include "core/err.h"
#include "store/store_backend.h"

enum { TEL_ST_SOURCE, TEL_ST_VICTIM, TEL_ST_INTERVAL, TEL_ST_COUNT };

struct sqdb {
    struct statedb base; /* first: statedb.c dispatches through base.be */
    sqlite3 *db;
    int version;
    sqlite3_stmt *tel_st[TEL_ST_COUNT]; /* prepared by statedb_tel_begin */
    int64_t tel_run;                    /* 0 outside statedb_tel_begin/_end */
};

/* Migration i brings the schema from version i to i+1. Append only; never edit a released
 * migration. */
static const char *const statedb_migrations[] = {
    "CREATE TABLE exporters ("
    "  addr TEXT PRIMARY KEY,"
    "  first_seen_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  flows INTEGER NOT NULL DEFAULT 0,"
    "  packets INTEGER NOT NULL DEFAULT 0,"
    "  bytes INTEGER NOT NULL DEFAULT 0,"
    "  sampling_rate INTEGER NOT NULL DEFAULT 1,"
    "  version INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE findings ("
    "  id INTEGER PRIMARY KEY,"
    "  addr TEXT NOT NULL, port INTEGER, service TEXT,"
    "  finding TEXT NOT NULL, vendor TEXT, product TEXT, version TEXT,"
    "  cves TEXT, evidence TEXT, tenant TEXT,"
    "  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL);"
    "CREATE INDEX findings_addr ON findings(addr);"
    "CREATE TABLE candidates ("
    "  id INTEGER PRIMARY KEY,"
    "  addr TEXT NOT NULL, port INTEGER NOT NULL, proto INTEGER NOT NULL,"
    "  score REAL NOT NULL, clients INTEGER NOT NULL DEFAULT 0, evidence TEXT,"
    "  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    "  UNIQUE(addr, port, proto));"
    "CREATE TABLE notifications ("
    "  id INTEGER PRIMARY KEY,"
    "  target TEXT NOT NULL, subject TEXT, body TEXT, status TEXT NOT NULL DEFAULT 'pending',"
    "  created_ms INTEGER NOT NULL, sent_ms INTEGER);",
    /* 1 -> 2: the telescope's results (statedb.h, statedb_tel_begin). */
    "CREATE TABLE telescope_runs ("
    "  id INTEGER PRIMARY KEY,"
    "  started_ms INTEGER NOT NULL, finished_ms INTEGER,"
    "  status TEXT NOT NULL DEFAULT 'running',"
    "  mode TEXT, version TEXT, command TEXT, darknet TEXT, inputs TEXT,"
    "  packets_read INTEGER, darknet_packets INTEGER, first_ms INTEGER, last_ms INTEGER,"
    "  sources INTEGER, victims INTEGER, intervals INTEGER);"
    "CREATE TABLE telescope_sources ("
    "  src TEXT NOT NULL, day_ms INTEGER NOT NULL,"
    "  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    "  packets INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    "  destinations INTEGER NOT NULL, port_count INTEGER NOT NULL,"
    "  ports TEXT NOT NULL, fingerprints TEXT NOT NULL, tags TEXT NOT NULL,"
    "  scan_class TEXT NOT NULL, syn_packets INTEGER NOT NULL, iot_packets INTEGER NOT NULL,"
    "  asn INTEGER, cc TEXT,"
    "  bogon INTEGER NOT NULL, research INTEGER NOT NULL, infected_iot INTEGER NOT NULL,"
    "  run_id INTEGER NOT NULL,"
    "  PRIMARY KEY (src, day_ms));"
    "CREATE INDEX telescope_sources_day ON telescope_sources(day_ms, infected_iot);"
    "CREATE TABLE telescope_victims ("
    "  victim TEXT NOT NULL, first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    "  packets INTEGER NOT NULL, bytes INTEGER NOT NULL, ports TEXT NOT NULL,"
    "  tcp_packets INTEGER NOT NULL, icmp_packets INTEGER NOT NULL,"
    "  peak_ppm INTEGER NOT NULL, darknet_addresses INTEGER NOT NULL,"
    "  observed_pps REAL NOT NULL, scaled_pps REAL,"
    "  run_id INTEGER NOT NULL,"
    "  PRIMARY KEY (victim, first_ms));"
    "CREATE TABLE telescope_intervals ("
    "  resolution_s INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    "  packets INTEGER NOT NULL, bytes INTEGER NOT NULL,"
    "  unique_sources INTEGER NOT NULL, unique_destinations INTEGER NOT NULL,"
    "  non_darknet_packets INTEGER NOT NULL, late_packets INTEGER NOT NULL,"
    "  dropped_source_packets INTEGER NOT NULL, research_packets INTEGER NOT NULL,"
    "  tags TEXT NOT NULL, fingerprints TEXT NOT NULL,"
    "  run_id INTEGER NOT NULL,"
    "  PRIMARY KEY (resolution_s, start_ms));",
    /* 2 -> 3: records by kind (statedb.h, statedb_rec_put). The version-1 findings and
     * candidates tables were never written; views of the same names show the new records. */
    "DROP TABLE findings;"
    "DROP TABLE candidates;"
    "CREATE TABLE records ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL, key TEXT NOT NULL, tenant TEXT, addr TEXT,"
    "  first_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
    "  score REAL NOT NULL DEFAULT 0, status TEXT, body TEXT NOT NULL DEFAULT '{}',"
    "  updated_ms INTEGER NOT NULL,"
    "  UNIQUE (kind, key));"
    "CREATE INDEX records_addr ON records(kind, addr);"
    "CREATE INDEX records_time ON records(kind, last_ms);"
    "CREATE VIEW findings AS SELECT * FROM records WHERE kind = 'finding';"
    "CREATE VIEW candidates AS SELECT * FROM records WHERE kind = 'candidate';",
};
#define STATEDB_N_MIGRATIONS (sizeof statedb_migrations / sizeof statedb_migrations[0])
_Static_assert(STATEDB_N_MIGRATIONS == STATEDB_SCHEMA_VERSION, "one migration per version");

static int fail(sqlite3 *db, char errbuf[256], const char *what)
{
    snprintf(errbuf, 256, "%.160s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return BS_EIO;
}

static int read_version(sqlite3 *db, int *v)
{
    sqlite3_stmt *st;
    *v = 0;
    if (sqlite3_prepare_v2(db, "SELECT max(version) FROM schema_version", -1, &st, NULL))
        return BS_EIO;
    if (sqlite3_step(st) == SQLITE_ROW)
        *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

/* A database written by a newer botscope is refused, whichever way it is opened. */
static int version_not_newer(int version, const char *path, char errbuf[256])
{
    if (version <= STATEDB_SCHEMA_VERSION)
        return 0;
    snprintf(errbuf, 256, "%.160s: schema version %d is newer than this botscope (%d)", path,
             version, STATEDB_SCHEMA_VERSION);
    return BS_EVERSION;
}

static int sq_tel_end(struct statedb *base, const struct statedb_tel_run_totals *t);

/* The database file url names: DIR/state.db for a data directory (as beside the embedded flow
 * store), else url itself. */
static int db_path(const char *url, char path[4096], char errbuf[256])
{
    struct stat sb;
    int rc;
    if (!stat(url, &sb) && S_ISDIR(sb.st_mode))
        rc = snprintf(path, 4096, "%s/state.db", url);
    else
        rc = snprintf(path, 4096, "%s", url);
    if (rc < 0 || (size_t)rc >= 4096) {
        snprintf(errbuf, 256, "state database path too long");
        return BS_EUSAGE;
    }
    return 0;
}

/* url is a data directory (the database is DIR/state.db, as beside the embedded flow store)
 * or the path of the database file itself. */
static int sq_open(const char *url, struct statedb **out, char errbuf[256])
{
    int rc;
    char path[4096];
    if ((rc = db_path(url, path, errbuf)))
        return rc;
    struct sqdb *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errbuf, 256, "out of memory");
        return BS_ENOMEM;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)) {
        rc = fail(s->db, errbuf, path);
        goto out_close;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(
            s->db,
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL,"
            " applied_ms INTEGER NOT NULL DEFAULT (CAST(strftime('%s','now') AS INTEGER)*1000));",
            NULL, NULL, NULL)) {
        rc = fail(s->db, errbuf, path);
        goto out_close;
    }
    if (read_version(s->db, &s->version)) {
        rc = fail(s->db, errbuf, path);
        goto out_close;
    }
    if ((rc = version_not_newer(s->version, path, errbuf)))
        goto out_close;
    for (int v = s->version; v < STATEDB_SCHEMA_VERSION; v++) {
        char ins[96];
        snprintf(ins, sizeof ins, "INSERT INTO schema_version(version) VALUES (%d);", v + 1);
        if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ||
            sqlite3_exec(s->db, statedb_migrations[v], NULL, NULL, NULL) ||
            sqlite3_exec(s->db, ins, NULL, NULL, NULL) ||
            sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL)) {
            rc = fail(s->db, errbuf, "schema migration");
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            goto out_close;
        }
        s->version = v + 1;
    }
    *out = &s->base;
    return 0;
out_close:
    sqlite3_close(s->db);
    free(s);
    return rc;
}

/* Read-only: the file must exist and carry botscope's schema_version; nothing is created or
 * migrated (an older file is read as it is, its missing tables answer BS_ENOTFOUND). */
static int sq_open_rdonly(const char *url, const struct config *cfg, struct statedb **out,
                          char errbuf[256])
{
    (void)cfg;
    int rc;
    char path[4096];
    struct stat sb;
    if ((rc = db_path(url, path, errbuf)))
        return rc;
    if (stat(path, &sb)) {
        snprintf(errbuf, 256, "%.200s: %s", path, strerror(errno));
        return BS_ENOTFOUND;
    }
    struct sqdb *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errbuf, 256, "out of memory");
        return BS_ENOMEM;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READONLY, NULL)) {
        rc = fail(s->db, errbuf, path);
        goto out_close;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (read_version(s->db, &s->version) || s->version < 1) {
        snprintf(errbuf, 256, "%s", sqlite3_errmsg(s->db));
        if (!s->version && !strcmp(errbuf, "not an error"))
            snprintf(errbuf, 256, "schema_version is empty");
        rc = BS_EPARSE;
        goto out_close;
    }
    if ((rc = version_not_newer(s->version, path, errbuf)))
        goto out_close;
    *out = &s->base;
    return 0;
out_close:
    sqlite3_close(s->db);
    free(s);
    return rc;
}

static void sq_close(struct statedb *base)
{
    struct sqdb *db = (struct sqdb *)base;
    if (db->tel_run)
        sq_tel_end(base, NULL);
    sqlite3_close(db->db);
    free(db);
}

static int sq_schema_version(struct statedb *base)
{
    struct sqdb *db = (struct sqdb *)base;
    return db->version;
}

static int sq_exporter_upsert(struct statedb *base, const struct statedb_exporter *e, size_t n)
{
    struct sqdb *db = (struct sqdb *)base;
    static const char sql[] =
        "INSERT INTO exporters(addr, first_seen_ms, last_seen_ms, flows, packets, bytes,"
        " sampling_rate, version) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
        " ON CONFLICT(addr) DO UPDATE SET"
        " first_seen_ms = min(first_seen_ms, excluded.first_seen_ms),"
        " last_seen_ms = max(last_seen_ms, excluded.last_seen_ms),"
        " flows = flows + excluded.flows, packets = packets + excluded.packets,"
        " bytes = bytes + excluded.bytes, sampling_rate = excluded.sampling_rate,"
        " version = excluded.version";
    sqlite3_stmt *st = NULL;
    int rc = BS_EIO;
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return BS_EIO;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL))
        goto out_rollback;
    for (size_t i = 0; i < n; i++) {
        char a[IPADDR_STRLEN];
        ipaddr_format(&e[i].addr, a, sizeof a);
        sqlite3_reset(st);
        sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)e[i].first_ms);
        sqlite3_bind_int64(st, 3, (sqlite3_int64)e[i].last_ms);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)e[i].flows);
        sqlite3_bind_int64(st, 5, (sqlite3_int64)e[i].packets);
        sqlite3_bind_int64(st, 6, (sqlite3_int64)e[i].bytes);
        sqlite3_bind_int64(st, 7, e[i].sampling_rate);
        sqlite3_bind_int64(st, 8, e[i].version);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto out_rollback;
    }
    sqlite3_finalize(st);
    return sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL) ? BS_EIO : 0;
out_rollback:
    sqlite3_finalize(st);
    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static int sq_exporter_list(struct statedb *base,
                            int (*cb)(void *ctx, const struct statedb_exporter *e), void *ctx)
{
    struct sqdb *db = (struct sqdb *)base;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db,
                           "SELECT addr, first_seen_ms, last_seen_ms, flows, packets, bytes,"
                           " sampling_rate, version FROM exporters ORDER BY addr",
                           -1, &st, NULL))
        return BS_EIO;
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct statedb_exporter e = {0};
        const char *a = (const char *)sqlite3_column_text(st, 0);
        if (!a || ipaddr_parse(a, &e.addr))
            continue;
        e.first_ms = (uint64_t)sqlite3_column_int64(st, 1);
        e.last_ms = (uint64_t)sqlite3_column_int64(st, 2);
        e.flows = (uint64_t)sqlite3_column_int64(st, 3);
        e.packets = (uint64_t)sqlite3_column_int64(st, 4);
        e.bytes = (uint64_t)sqlite3_column_int64(st, 5);
        e.sampling_rate = (uint32_t)sqlite3_column_int64(st, 6);
        e.version = (uint8_t)sqlite3_column_int(st, 7);
        if ((rc = cb(ctx, &e)))
            break;
    }
    if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
        rc = BS_EIO;
    sqlite3_finalize(st);
    return rc;
}

/* ---- telescope results ---- */

static sqlite3_int64 i64(uint64_t v)
{
    return v > (uint64_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)v;
}

static void tel_finalize(struct sqdb *db)
{
    for (int i = 0; i < TEL_ST_COUNT; i++) {
        sqlite3_finalize(db->tel_st[i]);
        db->tel_st[i] = NULL;
    }
}

static int sq_tel_begin(struct statedb *base, const struct statedb_tel_run *r, int64_t *run_id)
{
    struct sqdb *db = (struct sqdb *)base;
    static const char *const sql[TEL_ST_COUNT] = {
        "INSERT OR REPLACE INTO telescope_sources(src, day_ms, first_ms, last_ms, packets, bytes,"
        " destinations, port_count, ports, fingerprints, tags, scan_class, syn_packets,"
        " iot_packets, asn, cc, bogon, research, infected_iot, run_id) VALUES (?1, ?2, ?3, ?4,"
        " ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)",
        "INSERT OR REPLACE INTO telescope_victims(victim, first_ms, last_ms, packets, bytes,"
        " ports, tcp_packets, icmp_packets, peak_ppm, darknet_addresses, observed_pps,"
        " scaled_pps, run_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
        "INSERT OR REPLACE INTO telescope_intervals(resolution_s, start_ms, end_ms, packets,"
        " bytes, unique_sources, unique_destinations, non_darknet_packets, late_packets,"
        " dropped_source_packets, research_packets, tags, fingerprints, run_id) VALUES (?1,"
        " ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    };
    if (db->tel_run)
        return -EINVAL;
    sqlite3_stmt *st = NULL;
    for (int i = 0; i < TEL_ST_COUNT; i++)
        if (sqlite3_prepare_v2(db->db, sql[i], -1, &db->tel_st[i], NULL))
            goto fail;
    if (sqlite3_prepare_v2(db->db,
                           "INSERT INTO telescope_runs(started_ms, mode, version, command, darknet,"
                           " inputs) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                           -1, &st, NULL))
        goto fail;
    sqlite3_bind_int64(st, 1, i64(r->started_ms));
    sqlite3_bind_text(st, 2, r->mode, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 3, r->version, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 4, r->command, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, r->darknet, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, r->inputs, -1, SQLITE_TRANSIENT);
    /* The run row is committed on its own so a crashed run stays visible as 'running'. */
    if (sqlite3_step(st) != SQLITE_DONE)
        goto fail;
    sqlite3_finalize(st);
    db->tel_run = sqlite3_last_insert_rowid(db->db);
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL)) {
        db->tel_run = 0;
        tel_finalize(db);
        return BS_EIO;
    }
    if (run_id)
        *run_id = db->tel_run;
    return 0;
fail:
    sqlite3_finalize(st);
    tel_finalize(db);
    return BS_EIO;
}

static void bind_text_or_null(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static int tel_step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : BS_EIO;
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_tel_source_put(struct statedb *base, const struct statedb_tel_source *s)
{
    struct sqdb *db = (struct sqdb *)base;
    if (!db->tel_run)
        return -EINVAL;
    sqlite3_stmt *st = db->tel_st[TEL_ST_SOURCE];
    sqlite3_bind_text(st, 1, s->src, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, i64(s->day_ms));
    sqlite3_bind_int64(st, 3, i64(s->first_ms));
    sqlite3_bind_int64(st, 4, i64(s->last_ms));
    sqlite3_bind_int64(st, 5, i64(s->packets));
    sqlite3_bind_int64(st, 6, i64(s->bytes));
    sqlite3_bind_int64(st, 7, i64(s->destinations));
    sqlite3_bind_int64(st, 8, i64(s->port_count));
    bind_text_or_null(st, 9, s->ports ? s->ports : "[]");
    bind_text_or_null(st, 10, s->fingerprints ? s->fingerprints : "[]");
    bind_text_or_null(st, 11, s->tags ? s->tags : "[]");
    bind_text_or_null(st, 12, s->scan_class ? s->scan_class : "");
    sqlite3_bind_int64(st, 13, i64(s->syn_packets));
    sqlite3_bind_int64(st, 14, i64(s->iot_packets));
    if (s->asn >= 0)
        sqlite3_bind_int64(st, 15, s->asn);
    bind_text_or_null(st, 16, s->cc);
    sqlite3_bind_int(st, 17, s->bogon);
    sqlite3_bind_int(st, 18, s->research);
    sqlite3_bind_int(st, 19, s->infected_iot);
    sqlite3_bind_int64(st, 20, db->tel_run);
    return tel_step(st);
}

static int sq_tel_victim_put(struct statedb *base, const struct statedb_tel_victim *v)
{
    struct sqdb *db = (struct sqdb *)base;
    if (!db->tel_run)
        return -EINVAL;
    sqlite3_stmt *st = db->tel_st[TEL_ST_VICTIM];
    sqlite3_bind_text(st, 1, v->victim, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, i64(v->first_ms));
    sqlite3_bind_int64(st, 3, i64(v->last_ms));
    sqlite3_bind_int64(st, 4, i64(v->packets));
    sqlite3_bind_int64(st, 5, i64(v->bytes));
    bind_text_or_null(st, 6, v->ports ? v->ports : "[]");
    sqlite3_bind_int64(st, 7, i64(v->tcp_packets));
    sqlite3_bind_int64(st, 8, i64(v->icmp_packets));
    sqlite3_bind_int64(st, 9, i64(v->peak_ppm));
    sqlite3_bind_int64(st, 10, i64(v->darknet_addresses));
    sqlite3_bind_double(st, 11, v->observed_pps);
    if (v->scaled_pps >= 0)
        sqlite3_bind_double(st, 12, v->scaled_pps);
    sqlite3_bind_int64(st, 13, db->tel_run);
    return tel_step(st);
}

static int sq_tel_interval_put(struct statedb *base, const struct statedb_tel_interval *iv)
{
    struct sqdb *db = (struct sqdb *)base;
    if (!db->tel_run)
        return -EINVAL;
    sqlite3_stmt *st = db->tel_st[TEL_ST_INTERVAL];
    sqlite3_bind_int64(st, 1, iv->resolution_s);
    sqlite3_bind_int64(st, 2, i64(iv->start_ms));
    sqlite3_bind_int64(st, 3, i64(iv->end_ms));
    sqlite3_bind_int64(st, 4, i64(iv->packets));
    sqlite3_bind_int64(st, 5, i64(iv->bytes));
    sqlite3_bind_int64(st, 6, i64(iv->unique_sources));
    sqlite3_bind_int64(st, 7, i64(iv->unique_destinations));
    sqlite3_bind_int64(st, 8, i64(iv->non_darknet_packets));
    sqlite3_bind_int64(st, 9, i64(iv->late_packets));
    sqlite3_bind_int64(st, 10, i64(iv->dropped_source_packets));
    sqlite3_bind_int64(st, 11, i64(iv->research_packets));
    bind_text_or_null(st, 12, iv->tags ? iv->tags : "{}");
    bind_text_or_null(st, 13, iv->fingerprints ? iv->fingerprints : "{}");
    sqlite3_bind_int64(st, 14, db->tel_run);
    return tel_step(st);
}

static int sq_tel_commit(struct statedb *base)
{
    struct sqdb *db = (struct sqdb *)base;
    if (!db->tel_run)
        return -EINVAL;
    if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL))
        return BS_EIO;
    return sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) ? BS_EIO : 0;
}

static int sq_tel_end(struct statedb *base, const struct statedb_tel_run_totals *t)
{
    struct sqdb *db = (struct sqdb *)base;
    if (!db->tel_run)
        return -EINVAL;
    int rc = 0;
    sqlite3_stmt *st = NULL;
    tel_finalize(db);
    if (sqlite3_prepare_v2(db->db,
                           "UPDATE telescope_runs SET finished_ms = CAST((julianday('now') -"
                           " 2440587.5) * 86400000 AS INTEGER), status = ?2, packets_read = ?3,"
                           " darknet_packets = ?4, first_ms = ?5, last_ms = ?6, sources = ?7,"
                           " victims = ?8, intervals = ?9 WHERE id = ?1",
                           -1, &st, NULL)) {
        rc = BS_EIO;
    } else {
        sqlite3_bind_int64(st, 1, db->tel_run);
        sqlite3_bind_text(st, 2, t && t->ok ? "ok" : "failed", -1, SQLITE_STATIC);
        if (t) {
            sqlite3_bind_int64(st, 3, i64(t->packets_read));
            sqlite3_bind_int64(st, 4, i64(t->darknet_packets));
            sqlite3_bind_int64(st, 5, i64(t->first_ms));
            sqlite3_bind_int64(st, 6, i64(t->last_ms));
            sqlite3_bind_int64(st, 7, i64(t->sources));
            sqlite3_bind_int64(st, 8, i64(t->victims));
            sqlite3_bind_int64(st, 9, i64(t->intervals));
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = BS_EIO;
        sqlite3_finalize(st);
    }
    if (sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL)) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        rc = BS_EIO;
    }
    db->tel_run = 0;
    return rc;
}

static int sq_tel_source_list(struct statedb *base, const struct statedb_tel_source_query *q,
                              int (*cb)(void *ctx, const struct statedb_tel_source_sum *s),
                              void *ctx)
{
    struct sqdb *db = (struct sqdb *)base;
    if (db->version < 2)
        return BS_ENOTFOUND;
    /* A pseudonym is "h:" and hex; no address text starts with "h:", so the prefix decides. */
    static const char sql[] =
        "SELECT src, min(first_ms), max(last_ms), count(*) FROM telescope_sources"
        " WHERE (?1 = 0 OR infected_iot) AND (?2 = 0 OR substr(src, 1, 2) <> 'h:')"
        " AND last_ms >= ?3 AND (?4 IS NULL OR first_ms <= ?4)"
        " GROUP BY src ORDER BY src";
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL))
        return BS_EIO;
    sqlite3_bind_int(st, 1, q->infected_only);
    sqlite3_bind_int(st, 2, q->addresses_only);
    sqlite3_bind_int64(st, 3, i64(q->t_lo));
    if (q->t_hi)
        sqlite3_bind_int64(st, 4, i64(q->t_hi));
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct statedb_tel_source_sum r = {
            .src = (const char *)sqlite3_column_text(st, 0),
            .first_ms = (uint64_t)sqlite3_column_int64(st, 1),
            .last_ms = (uint64_t)sqlite3_column_int64(st, 2),
            .days = (uint64_t)sqlite3_column_int64(st, 3),
        };
        if (!r.src)
            continue;
        if ((rc = cb(ctx, &r)))
            break;
    }
    if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
        rc = BS_EIO;
    sqlite3_finalize(st);
    return rc;
}

/* ---- records by kind ---- */

static int sq_rec_put(struct statedb *base, const struct statedb_rec *recs, size_t n)
{
    struct sqdb *db = (struct sqdb *)base;
    /* An appended record (key NULL) gets "#<rowid>": inserted with a placeholder key that no
     * caller can use (a NUL-free text with a newline), then renamed by rowid in the same
     * transaction. */
    static const char upsert[] =
        "INSERT INTO records(kind, key, tenant, addr, first_ms, last_ms, score, status, body,"
        " updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
        " ON CONFLICT(kind, key) DO UPDATE SET tenant = excluded.tenant,"
        " addr = excluded.addr, first_ms = min(first_ms, excluded.first_ms),"
        " last_ms = max(last_ms, excluded.last_ms), score = excluded.score,"
        " status = excluded.status, body = excluded.body, updated_ms = excluded.updated_ms";
    sqlite3_stmt *st = NULL, *rename = NULL;
    bool own_tx = !db->tel_run && sqlite3_get_autocommit(db->db);
    if (own_tx && sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL))
        return BS_EIO;
    if (sqlite3_prepare_v2(db->db, upsert, -1, &st, NULL) ||
        sqlite3_prepare_v2(db->db, "UPDATE records SET key = '#' || id WHERE id = ?1", -1, &rename,
                           NULL))
        goto fail;
    sqlite3_int64 now = i64(clock_wall_ms());
    for (size_t i = 0; i < n; i++) {
        const struct statedb_rec *r = &recs[i];
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        sqlite3_bind_text(st, 1, statedb_kind_name(r->kind), -1, SQLITE_STATIC);
        bind_text_or_null(st, 2, r->key ? r->key : "\n#append");
        bind_text_or_null(st, 3, r->tenant);
        bind_text_or_null(st, 4, r->addr);
        sqlite3_bind_int64(st, 5, i64(r->first_ms));
        sqlite3_bind_int64(st, 6, i64(r->last_ms));
        sqlite3_bind_double(st, 7, r->score);
        bind_text_or_null(st, 8, r->status);
        bind_text_or_null(st, 9, r->body ? r->body : "{}");
        sqlite3_bind_int64(st, 10, now);
        if (sqlite3_step(st) != SQLITE_DONE)
            goto fail;
        if (!r->key) {
            sqlite3_reset(rename);
            sqlite3_bind_int64(rename, 1, sqlite3_last_insert_rowid(db->db));
            if (sqlite3_step(rename) != SQLITE_DONE)
                goto fail;
        }
    }
    sqlite3_finalize(st);
    sqlite3_finalize(rename);
    if (own_tx && sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL)) {
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
        return BS_EIO;
    }
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_finalize(rename);
    if (own_tx)
        sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
    return BS_EIO;
}

static int sq_rec_list(struct statedb *base, const struct statedb_rec_query *q,
                       int (*cb)(void *ctx, const struct statedb_rec *r), void *ctx)
{
    struct sqdb *db = (struct sqdb *)base;
    if (db->version < 3) /* an older file opened read-only */
        return BS_ENOTFOUND;
    /* One statement for every selection: an unset condition compares a NULL parameter. */
    char sql[768];
    snprintf(sql, sizeof sql,
             "SELECT key, tenant, addr, first_ms, last_ms, score, status, body FROM records"
             " WHERE kind = ?1 AND (?2 IS NULL OR key = ?2) AND (?3 IS NULL OR tenant = ?3)"
             " AND (?4 IS NULL OR addr = ?4) AND (?5 IS NULL OR status = ?5)"
             " AND last_ms >= ?6 AND (?7 IS NULL OR first_ms <= ?7)"
             " AND (?8 IS NULL OR score >= ?8) ORDER BY %s LIMIT ?9",
             q->by_score ? "score DESC, key" : "key");
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL))
        return BS_EIO;
    sqlite3_bind_text(st, 1, statedb_kind_name(q->kind), -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, q->key);
    bind_text_or_null(st, 3, q->tenant);
    bind_text_or_null(st, 4, q->addr);
    bind_text_or_null(st, 5, q->status);
    sqlite3_bind_int64(st, 6, i64(q->t_lo));
    if (q->t_hi)
        sqlite3_bind_int64(st, 7, i64(q->t_hi));
    if (q->has_min_score)
        sqlite3_bind_double(st, 8, q->min_score);
    sqlite3_bind_int64(st, 9, q->limit ? i64(q->limit) : -1);
    int rc = 0, s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        struct statedb_rec r = {
            .kind = q->kind,
            .key = (const char *)sqlite3_column_text(st, 0),
            .tenant = (const char *)sqlite3_column_text(st, 1),
            .addr = (const char *)sqlite3_column_text(st, 2),
            .first_ms = (uint64_t)sqlite3_column_int64(st, 3),
            .last_ms = (uint64_t)sqlite3_column_int64(st, 4),
            .score = sqlite3_column_double(st, 5),
            .status = (const char *)sqlite3_column_text(st, 6),
            .body = (const char *)sqlite3_column_text(st, 7),
        };
        if ((rc = cb(ctx, &r)))
            break;
    }
    if (!rc && s != SQLITE_DONE && s != SQLITE_ROW)
        rc = BS_EIO;
    sqlite3_finalize(st);
    return rc;
}

static int sq_rec_delete(struct statedb *base, enum statedb_kind kind, const char *key,
                         uint64_t *deleted)
{
    struct sqdb *db = (struct sqdb *)base;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db->db,
                           "DELETE FROM records WHERE kind = ?1 AND (?2 IS NULL OR key = ?2)", -1,
                           &st, NULL))
        return BS_EIO;
    sqlite3_bind_text(st, 1, statedb_kind_name(kind), -1, SQLITE_STATIC);
    bind_text_or_null(st, 2, key);
    int rc = sqlite3_step(st) == SQLITE_DONE ? 0 : BS_EIO;
    sqlite3_finalize(st);
    if (!rc && deleted)
        *deleted = (uint64_t)sqlite3_changes(db->db);
    return rc;
}

const struct statedb_backend statedb_backend_sqlite = {
    .open = sq_open,
    .open_rdonly = sq_open_rdonly,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .exporter_upsert = sq_exporter_upsert,
    .exporter_list = sq_exporter_list,
    .tel_begin = sq_tel_begin,
    .tel_source_put = sq_tel_source_put,
    .tel_victim_put = sq_tel_victim_put,
    .tel_interval_put = sq_tel_interval_put,
    .tel_commit = sq_tel_commit,
    .tel_end = sq_tel_end,
    .tel_source_list = sq_tel_source_list,
    .rec_put = sq_rec_put,
    .rec_list = sq_rec_list,
    .rec_delete = sq_rec_delete,
};
