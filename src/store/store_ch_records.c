/* store_ch_records.c - the state database's records by kind (statedb.h, statedb_rec_*) on
 * ClickHouse (schema version 3, table `records`).
 *
 * ClickHouse has no UPDATE or transactions, so a record is a stream of row versions:
 * ReplacingMergeTree(updated_ns) ORDER BY (kind, key) keeps the newest version of a key after
 * merges, and reads ask for it explicitly (FINAL) before filtering. Filters other than
 * kind and key are applied outside the FINAL subquery: a condition moved before the
 * collapsing (PREWHERE) would see old versions, e.g. find a finding under its old status.
 *   put     reads the stored time range of the keys being put (one SELECT), then inserts the
 *           new versions with first_ms = min, last_ms = max, in one INSERT (one part: all or
 *           none). An appended record (key NULL) gets "#<time in ns><random>" in hex.
 *   delete  inserts a newer version with deleted = 1 for each live key (INSERT ... SELECT on
 *           the server) and counts them first.
 * updated_ns is the writer's clock, made strictly increasing per handle; two processes
 * writing the same key at the same time are ordered by their clocks (the last writer wins,
 * as with SQLite, but without its lock: documented in docs/CLICKHOUSE.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "store/store_ch.h"

int ch_sql_str(struct buf *o, const char *s)
{
    if (!s)
        return buf_puts(o, "NULL");
    int rc = buf_putc(o, '\'');
    for (; *s && !rc; s++) {
        switch (*s) {
        case '\\':
            rc = buf_puts(o, "\\\\");
            break;
        case '\'':
            rc = buf_puts(o, "\\'");
            break;
        case '\n':
            rc = buf_puts(o, "\\n");
            break;
        case '\r':
            rc = buf_puts(o, "\\r");
            break;
        case '\t':
            rc = buf_puts(o, "\\t");
            break;
        default:
            rc = buf_putc(o, *s);
            break;
        }
    }
    return rc ? rc : buf_putc(o, '\'');
}

char *ch_tsv_field(char *f)
{
    if (!strcmp(f, "\\N"))
        return NULL;
    char *w = f;
    for (char *r = f; *r; r++) {
        if (*r != '\\' || !r[1]) {
            *w++ = *r;
            continue;
        }
        r++;
        switch (*r) {
        case 'n':
            *w++ = '\n';
            break;
        case 't':
            *w++ = '\t';
            break;
        case 'r':
            *w++ = '\r';
            break;
        case '0':
            *w++ = '\0';
            break;
        case 'b':
            *w++ = '\b';
            break;
        case 'f':
            *w++ = '\f';
            break;
        default:
            *w++ = *r;
            break;
        }
    }
    *w = '\0';
    return f;
}

size_t ch_tsv_split(char *line, char **f, size_t max)
{
    size_t n = 0;
    while (n < max) {
        f[n++] = line;
        char *t = strchr(line, '\t');
        if (!t)
            break;
        *t = '\0';
        line = t + 1;
    }
    return n;
}

uint64_t ch_next_version(uint64_t *last)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t v = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    if (v <= *last)
        v = *last + 1;
    *last = v;
    return v;
}

/* The live (newest, not deleted) versions of kind [and key]: a subquery text. */
static int put_live(struct buf *o, const char *db, const char *kind, const char *key)
{
    int rc =
        buf_printf(o, "(SELECT * FROM (SELECT * FROM %s.records FINAL WHERE kind = '%s'", db, kind);
    if (!rc && key && !(rc = buf_puts(o, " AND key = ")))
        rc = ch_sql_str(o, key);
    return rc ? rc : buf_puts(o, ") WHERE deleted = 0)");
}

/* Stored time range of (kind, key), merged into *first / *last, from the answer of
 * load_times ("kind\tkey\tfirst\tlast" lines). */
static void merge_times(const struct buf *ans, const char *kind, const char *key, uint64_t *first,
                        uint64_t *last)
{
    for (const char *p = ans->data; p && *p;) {
        const char *nl = strchr(p, '\n');
        size_t ll = nl ? (size_t)(nl - p) : strlen(p);
        char line[2048], *f[4];
        if (ll < sizeof line) {
            memcpy(line, p, ll);
            line[ll] = '\0';
            if (ch_tsv_split(line, f, 4) == 4 && !strcmp(f[0], kind)) {
                const char *k = ch_tsv_field(f[1]);
                if (k && !strcmp(k, key)) {
                    uint64_t sf = strtoull(f[2], NULL, 10), sl = strtoull(f[3], NULL, 10);
                    *first = sf < *first ? sf : *first;
                    *last = sl > *last ? sl : *last;
                }
            }
        }
        p = nl ? nl + 1 : NULL;
    }
}

int ch_rec_put(struct ch_conn *c, const char *db, uint64_t *last_version,
               const struct statedb_rec *recs, size_t n)
{
    struct buf sql = BUF_INIT(CH_RESP_MAX), ans = BUF_INIT(CH_RESP_MAX);
    int rc = 0;
    bool any = false;
    /* The stored time ranges of the keys being put, in one query. */
    rc = buf_printf(&sql,
                    "SELECT kind, key, first_ms, last_ms FROM (SELECT * FROM %s.records FINAL "
                    "WHERE (kind, key) IN (",
                    db);
    for (size_t i = 0; i < n && !rc; i++) {
        if (!recs[i].key)
            continue;
        rc = buf_printf(&sql, "%s('%s', ", any ? ", " : "", statedb_kind_name(recs[i].kind));
        if (!rc)
            rc = ch_sql_str(&sql, recs[i].key);
        if (!rc)
            rc = buf_putc(&sql, ')');
        any = true;
    }
    if (!rc)
        rc = buf_puts(&sql, ")) WHERE deleted = 0 FORMAT TabSeparated");
    if (!rc && any)
        rc = ch_exec(c, sql.data, &ans);
    buf_reset(&sql);
    if (!rc)
        rc = buf_printf(&sql,
                        "INSERT INTO %s.records (kind, key, tenant, addr, first_ms, last_ms, "
                        "score, status, body, updated_ns, deleted) VALUES ",
                        db);
    for (size_t i = 0; i < n && !rc; i++) {
        const struct statedb_rec *r = &recs[i];
        char key[40];
        const char *kname = statedb_kind_name(r->kind);
        uint64_t first = r->first_ms, last = r->last_ms;
        if (!r->key) {
            /* Time first, so appended records list in the order they were put (as SQLite's
             * "#<rowid>" do), then 16 random bits against another writer's same instant. */
            uint16_t rnd = 0;
            if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
                rnd = 0;
            snprintf(key, sizeof key, "#%016" PRIx64 "%04x", ch_next_version(last_version),
                     (unsigned)rnd);
        } else {
            merge_times(&ans, kname, r->key, &first, &last);
            /* An earlier record of this same put with the key counts as stored too. */
            for (size_t j = 0; j < i; j++)
                if (recs[j].key && recs[j].kind == r->kind && !strcmp(recs[j].key, r->key)) {
                    first = recs[j].first_ms < first ? recs[j].first_ms : first;
                    last = recs[j].last_ms > last ? recs[j].last_ms : last;
                }
        }
        rc = buf_printf(&sql, "%s('%s', ", i ? ", " : "", kname);
        if (!rc)
            rc = ch_sql_str(&sql, r->key ? r->key : key);
        if (!rc && !(rc = buf_puts(&sql, ", ")))
            rc = ch_sql_str(&sql, r->tenant);
        if (!rc && !(rc = buf_puts(&sql, ", ")))
            rc = ch_sql_str(&sql, r->addr);
        if (!rc)
            rc = buf_printf(&sql, ", %" PRIu64 ", %" PRIu64 ", %.17g, ", first, last, r->score);
        if (!rc)
            rc = ch_sql_str(&sql, r->status);
        if (!rc && !(rc = buf_puts(&sql, ", ")))
            rc = ch_sql_str(&sql, r->body ? r->body : "{}");
        if (!rc)
            rc = buf_printf(&sql, ", %" PRIu64 ", 0)", ch_next_version(last_version));
    }
    /* Later versions of one key within this put replace earlier ones (as SQLite's upsert
     * does row by row): their versions increase in order. */
    if (!rc && n)
        rc = ch_exec(c, sql.data, NULL);
    if (rc)
        log_warn("clickhouse", "records: %s", c->err);
    buf_release(&sql);
    buf_release(&ans);
    return rc ? BS_EIO : 0;
}

int ch_rec_list(struct ch_conn *c, const char *db, const struct statedb_rec_query *q,
                int (*cb)(void *ctx, const struct statedb_rec *r), void *ctx)
{
    struct buf sql = BUF_INIT(1 << 16), ans = BUF_INIT(CH_RESP_MAX);
    int rc = buf_puts(&sql, "SELECT key, tenant, addr, first_ms, last_ms, score, status, body "
                            "FROM ");
    if (!rc)
        rc = put_live(&sql, db, statedb_kind_name(q->kind), q->key);
    if (!rc)
        rc = buf_printf(&sql, " WHERE last_ms >= %" PRIu64, q->t_lo);
    if (!rc && q->t_hi)
        rc = buf_printf(&sql, " AND first_ms <= %" PRIu64, q->t_hi);
    if (!rc && q->has_min_score)
        rc = buf_printf(&sql, " AND score >= %.17g", q->min_score);
    const char *col[] = {"tenant", "addr", "status"}, *val[] = {q->tenant, q->addr, q->status};
    for (int i = 0; i < 3 && !rc; i++)
        if (val[i] && !(rc = buf_printf(&sql, " AND %s = ", col[i])))
            rc = ch_sql_str(&sql, val[i]);
    if (!rc)
        rc = buf_puts(&sql, q->by_score ? " ORDER BY score DESC, key" : " ORDER BY key");
    if (!rc && q->limit)
        rc = buf_printf(&sql, " LIMIT %" PRIu64, q->limit);
    if (!rc)
        rc = buf_puts(&sql, " FORMAT TabSeparated");
    if (!rc)
        rc = ch_exec(c, sql.data, &ans);
    for (char *p = ans.data; !rc && p && *p;) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        char *f[8];
        if (ch_tsv_split(p, f, 8) != 8) {
            rc = BS_EIO;
            break;
        }
        struct statedb_rec r = {
            .kind = q->kind,
            .key = ch_tsv_field(f[0]),
            .tenant = ch_tsv_field(f[1]),
            .addr = ch_tsv_field(f[2]),
            .first_ms = strtoull(f[3], NULL, 10),
            .last_ms = strtoull(f[4], NULL, 10),
            .score = strtod(f[5], NULL),
            .status = ch_tsv_field(f[6]),
            .body = ch_tsv_field(f[7]),
        };
        rc = cb(ctx, &r);
        p = nl ? nl + 1 : NULL;
    }
    if (rc < 0)
        log_warn("clickhouse", "records: %s", c->err);
    buf_release(&sql);
    buf_release(&ans);
    return rc;
}

int ch_rec_delete(struct ch_conn *c, const char *db, uint64_t *last_version, enum statedb_kind kind,
                  const char *key, uint64_t *deleted)
{
    struct buf sql = BUF_INIT(1 << 16);
    const char *kname = statedb_kind_name(kind);
    uint64_t n = 0;
    int rc = buf_puts(&sql, "SELECT count() FROM ");
    if (!rc)
        rc = put_live(&sql, db, kname, key);
    if (!rc)
        rc = ch_exec_u64(c, sql.data, &n);
    if (!rc && n) {
        buf_reset(&sql);
        rc = buf_printf(&sql,
                        "INSERT INTO %s.records (kind, key, tenant, addr, first_ms, last_ms, "
                        "score, status, body, updated_ns, deleted) SELECT kind, key, tenant, "
                        "addr, first_ms, last_ms, score, status, body, toUInt64(%" PRIu64
                        "), 1 FROM ",
                        db, ch_next_version(last_version));
        if (!rc)
            rc = put_live(&sql, db, kname, key);
        if (!rc)
            rc = ch_exec(c, sql.data, NULL);
    }
    if (!rc && deleted)
        *deleted = n;
    if (rc)
        log_warn("clickhouse", "records: %s", c->err);
    buf_release(&sql);
    return rc ? BS_EIO : 0;
}
