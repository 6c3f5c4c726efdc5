/* statedb.c - SQLite state database (see statedb.h). */
#include "store/statedb.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

struct statedb {
    sqlite3 *db;
    int version;
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
};
#define STATEDB_N_MIGRATIONS (sizeof statedb_migrations / sizeof statedb_migrations[0])
_Static_assert(STATEDB_N_MIGRATIONS == STATEDB_SCHEMA_VERSION, "one migration per version");

static int fail(sqlite3 *db, char errbuf[256], const char *what)
{
    snprintf(errbuf, 256, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
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

int statedb_open(const char *path, struct statedb **out, char errbuf[256])
{
    int rc;
    errbuf[0] = '\0';
    struct statedb *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errbuf, 256, "out of memory");
        return BS_ENOMEM;
    }
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL)) {
        rc = fail(s->db, errbuf, path);
        goto out_close;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if (sqlite3_exec(s->db,
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
    if (s->version > STATEDB_SCHEMA_VERSION) {
        snprintf(errbuf, 256, "%s: schema version %d is newer than this botscope (%d)", path,
                 s->version, STATEDB_SCHEMA_VERSION);
        rc = BS_EVERSION;
        goto out_close;
    }
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
    *out = s;
    return 0;
out_close:
    sqlite3_close(s->db);
    free(s);
    return rc;
}

void statedb_close(struct statedb *db)
{
    if (!db)
        return;
    sqlite3_close(db->db);
    free(db);
}

int statedb_schema_version(struct statedb *db)
{
    return db->version;
}

int statedb_exporter_upsert(struct statedb *db, const struct statedb_exporter *e, size_t n)
{
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

int statedb_exporter_list(struct statedb *db,
                          int (*cb)(void *ctx, const struct statedb_exporter *e), void *ctx)
{
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
