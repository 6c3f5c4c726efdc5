/* store_ch_check.c - `store check` on a ClickHouse database (store_ch.h's ch_check_db).
 *
 * The embedded store checks its own files; ClickHouse checks its parts' checksums itself (at
 * load and merge) and 18.16 has no CHECK TABLE for MergeTree ("not supported"), so what is
 * botscope's to verify is what botscope relies on:
 *   - the schema: the stored version is the one this build writes, and every table and view
 *     of that version (and the Distributed tables, with a cluster) exists;
 *   - exactly-once inserts (store_ch_write.c): an insert unit is one part when it lands, so a
 *     unit id found in two or more active parts was inserted more than once (its flows are
 *     counted twice). Once a merge has joined such parts the duplicate can no longer be told
 *     from the flows, so this catches what happened since the last merges, not all history;
 *   - the spool of this host's writer for the target: units set aside as *.bad (found partly
 *     in the table; see the writer's log) are damage; units waiting to be sent are not
 *     (they are in no answer yet, and are logged as a warning).
 * Counts: segments = active parts of this node's flows table, blocks = their marks
 * (granules), records = their rows. A cluster's nodes are checked one URL at a time (parts
 * and units are per node).
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store.h"
#include "store/store_ch.h"

/* Tables and views each schema version adds (cumulative); [0] is always there. */
static const char *const objects[CH_SCHEMA_VERSION + 1][4] = {
    {"schema_version"},
    {"flows"},
    {"flows_hourly", "flows_hourly_mv", "exporters"},
    {"records"},
    {"telescope_runs", "telescope_sources", "telescope_victims", "telescope_intervals"},
};

static int nums(struct ch_conn *c, const char *sql, uint64_t *v, int n)
{
    struct buf b = BUF_INIT(4096);
    int rc = ch_exec(c, sql, &b);
    const char *p = b.data ? b.data : "";
    for (int i = 0; !rc && i < n; i++) {
        char *end;
        v[i] = strtoull(p, &end, 10);
        if (end == p)
            rc = BS_EIO;
        p = end + (*end == '\t');
    }
    buf_release(&b);
    return rc;
}

static void damaged(struct store_check_stats *st,
                    void (*report)(void *ctx, const char *path, const char *what), void *ctx,
                    const char *path, const char *what)
{
    st->segments_damaged++;
    if (report)
        report(ctx, path, what);
    else
        log_warn("clickhouse", "%s: %s", path, what);
}

static int check_schema(struct ch_conn *c, const char *db, const char *cluster,
                        void (*report)(void *, const char *, const char *), void *ctx,
                        struct store_check_stats *st, int *version)
{
    char sql[512], what[256], path[160];
    int rc = ch_schema_version(c, db, version);
    if (rc)
        return rc;
    snprintf(path, sizeof path, "%s.schema_version", db);
    if (*version != CH_SCHEMA_VERSION) {
        snprintf(what, sizeof what, "schema version %d, this botscope writes %d (%s)", *version,
                 CH_SCHEMA_VERSION,
                 *version < CH_SCHEMA_VERSION ? "run botscope store init" : "upgrade botscope");
        damaged(st, report, ctx, path, what);
    }
    struct buf names = BUF_INIT(1 << 16);
    snprintf(sql, sizeof sql,
             "SELECT name FROM system.tables WHERE database = '%s' FORMAT TabSeparated", db);
    if ((rc = ch_exec(c, sql, &names))) {
        buf_release(&names);
        return rc;
    }
    int top = *version < CH_SCHEMA_VERSION ? *version : CH_SCHEMA_VERSION;
    for (int v = 0; v <= top; v++) {
        for (int i = 0; i < 4 && objects[v][i]; i++) {
            const char *want = objects[v][i];
            bool found = false;
            size_t wl = strlen(want);
            for (const char *p = names.data ? names.data : ""; *p && !found;) {
                size_t l = strcspn(p, "\n");
                found = l == wl && !strncmp(p, want, wl);
                p += l + (p[l] == '\n');
            }
            if (!found) {
                snprintf(path, sizeof path, "%s.%s", db, want);
                snprintf(what, sizeof what, "missing (schema version %d has it)", v);
                damaged(st, report, ctx, path, what);
            }
        }
    }
    if (cluster && *cluster && top >= 1) {
        static const char *const dist[] = {"flows_all", "exporters_all"};
        for (int i = 0; i < (top >= 2 ? 2 : 1); i++)
            if (!names.data || !strstr(names.data, dist[i])) {
                snprintf(path, sizeof path, "%s.%s", db, dist[i]);
                snprintf(what, sizeof what, "missing ([clickhouse] cluster = %s)", cluster);
                damaged(st, report, ctx, path, what);
            }
    }
    buf_release(&names);
    return 0;
}

static int check_units(struct ch_conn *c, const char *db,
                       void (*report)(void *, const char *, const char *), void *ctx,
                       struct store_check_stats *st)
{
    char sql[512], what[256], path[160];
    uint64_t v[3];
    snprintf(sql, sizeof sql,
             "SELECT count(), sum(rows), sum(marks) FROM system.parts WHERE database = '%s' AND "
             "table = 'flows' AND active FORMAT TabSeparated",
             db);
    int rc = nums(c, sql, v, 3);
    if (rc)
        return rc;
    st->segments = v[0];
    st->records = v[1];
    st->blocks = v[2];
    /* At most 1000 lines: past that the table is beyond repair by reading a list. */
    snprintf(sql, sizeof sql,
             "SELECT unit, uniqExact(_part) AS parts, count() FROM %s.flows GROUP BY unit "
             "HAVING parts > 1 ORDER BY unit LIMIT 1000 FORMAT TabSeparated",
             db);
    struct buf b = BUF_INIT(1 << 20);
    if ((rc = ch_exec(c, sql, &b))) {
        buf_release(&b);
        return rc;
    }
    snprintf(path, sizeof path, "%s.flows", db);
    for (const char *p = b.data ? b.data : ""; *p;) {
        uint64_t unit, parts, rows;
        int used = 0;
        if (sscanf(p, "%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\n%n", &unit, &parts, &rows, &used) <
                3 ||
            !used)
            break;
        snprintf(what, sizeof what,
                 "insert unit %016" PRIx64 " is in %" PRIu64 " parts (%" PRIu64
                 " flows): inserted more than once",
                 unit, parts, rows);
        damaged(st, report, ctx, path, what);
        p += used;
    }
    buf_release(&b);
    return 0;
}

static void check_spool(const char *dir, void (*report)(void *, const char *, const char *),
                        void *ctx, struct store_check_stats *st)
{
    DIR *d = dir && *dir ? opendir(dir) : NULL;
    if (!d)
        return; /* no spool on this host: nothing waits, nothing was set aside */
    uint64_t waiting = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t l = strlen(e->d_name);
        char path[1400];
        if (l > 4 && !strcmp(e->d_name + l - 4, ".bad")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            damaged(st, report, ctx, path,
                    "insert unit set aside: found partly in ClickHouse (the writer's log says "
                    "which rows)");
        } else if (l > 6 && !strcmp(e->d_name + l - 6, ".spool")) {
            waiting++;
        }
    }
    closedir(d);
    if (waiting)
        log_warn("clickhouse", "%" PRIu64 " insert units wait in %s (sent by the next writer)",
                 waiting, dir);
}

int ch_check_db(struct ch_conn *c, const char *db, const char *cluster, const char *spool_dir,
                void (*report)(void *ctx, const char *path, const char *what), void *ctx,
                struct store_check_stats *st)
{
    int version = 0;
    int rc = check_schema(c, db, cluster, report, ctx, st, &version);
    if (!rc && version >= 1)
        rc = check_units(c, db, report, ctx, st);
    if (!rc)
        check_spool(spool_dir, report, ctx, st);
    if (rc)
        log_warn("clickhouse", "check of %s: %s", db, c->err);
    return rc;
}
