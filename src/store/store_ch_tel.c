/* store_ch_tel.c - the telescope's tables (statedb.h, statedb_tel_*) on ClickHouse (schema
 * version 4; the DDL and why each engine and key: store_ch_schema.c, docs/CLICKHOUSE.md).
 *
 * SQLite upserts row by row inside a transaction; ClickHouse has neither UPDATE nor
 * transactions, so:
 *   put     renders the row as VALUES text into its table's batch, with a new row version
 *           (ch_next_version: later puts of a key replace earlier ones, within a run and
 *           across runs); nothing is sent;
 *   commit  sends each non-empty batch as one INSERT (one per table: an INSERT names one
 *           table), so a commit costs at most three requests however many rows it holds. A
 *           batch that reaches CH_TEL_BATCH_BYTES is sent at once (memory stays bounded).
 *           Each INSERT is atomic on its own (one block, one part); the three are not one
 *           transaction as in SQLite. A failed INSERT drops its batch and returns BS_EIO:
 *           the run then ends as failed, and running it again puts the same rows;
 *   begin   inserts the run's row with status 'running' (visible at once, so a crashed run
 *           stays 'running' as with SQLite); end sends the batches, then the run's row again
 *           with its status and totals and a newer version.
 * Run ids: ClickHouse has no autoincrement; an id is the start time in microseconds (two
 * runs would need to start within the same microsecond to collide).
 * Reads take the newest version of every row (FINAL) before filtering: a condition applied
 * before the collapse could see an older version (e.g. a source once infected, not now).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store_ch.h"

/* Cap of one batch buffer: a send happens from CH_TEL_BATCH_BYTES, so this only has to hold
 * that plus one row (list columns are at most a few KiB each). */
#define CH_TEL_BUF_MAX (CH_TEL_BATCH_BYTES + (1u << 20))
/* Cap of the run's texts as SQL literals: the telescope's command line (1 MiB) and inputs
 * (16 MiB) with room for escaping. */
#define CH_TEL_RUN_TEXT_MAX (40u << 20)
/* Longest answer line of the sources reader (an address or pseudonym and three numbers). */
#define CH_TEL_LINE_MAX 1024

static const char *const tel_insert[CH_TEL_TABLES] = {
    [CH_TEL_SOURCES] = "telescope_sources (src, day_ms, first_ms, last_ms, packets, bytes,"
                       " destinations, port_count, ports, fingerprints, tags, scan_class,"
                       " syn_packets, iot_packets, asn, cc, bogon, research, infected_iot,"
                       " run_id, ver)",
    [CH_TEL_VICTIMS] = "telescope_victims (victim, first_ms, last_ms, packets, bytes, ports,"
                       " tcp_packets, icmp_packets, peak_ppm, darknet_addresses, observed_pps,"
                       " scaled_pps, run_id, ver)",
    [CH_TEL_INTERVALS] = "telescope_intervals (resolution_s, start_ms, end_ms, packets, bytes,"
                         " unique_sources, unique_destinations, non_darknet_packets,"
                         " late_packets, dropped_source_packets, research_packets, tags,"
                         " fingerprints, run_id, ver)",
};

void ch_tel_init(struct ch_tel *t, struct ch_conn *conn, const char *db, uint64_t *last_version)
{
    memset(t, 0, sizeof *t);
    t->conn = conn;
    t->db = db;
    t->last_version = last_version;
    buf_init(&t->run_text, CH_TEL_RUN_TEXT_MAX);
    for (int i = 0; i < CH_TEL_TABLES; i++)
        buf_init(&t->rows[i], CH_TEL_BUF_MAX);
}

void ch_tel_release(struct ch_tel *t)
{
    buf_release(&t->run_text);
    for (int i = 0; i < CH_TEL_TABLES; i++)
        buf_release(&t->rows[i]);
}

/* Sends batch i (when it holds rows) as one INSERT and empties it, whether or not the server
 * took it. */
static int send_batch(struct ch_tel *t, int i)
{
    if (!t->rows[i].len)
        return 0;
    struct buf sql = BUF_INIT(CH_TEL_BUF_MAX + 1024);
    int rc = buf_printf(&sql, "INSERT INTO %s.%s VALUES ", t->db, tel_insert[i]);
    if (!rc)
        rc = buf_append(&sql, t->rows[i].data, t->rows[i].len);
    if (!rc && (rc = ch_exec(t->conn, sql.data, NULL)))
        log_warn("clickhouse", "%.*s: %s", (int)strcspn(tel_insert[i], " "), tel_insert[i],
                 t->conn->err);
    buf_release(&sql);
    buf_reset(&t->rows[i]);
    return rc ? BS_EIO : 0;
}

/* Appends ", " and a number or NULL. */
static int put_opt_u64(struct buf *o, bool has, uint64_t v)
{
    return has ? buf_printf(o, ", %" PRIu64, v) : buf_puts(o, ", NULL");
}

/* The run's row: id, started_ms, finished_ms, status, the texts kept at begin, the totals. */
static int put_run_row(struct ch_tel *t, const struct statedb_tel_run_totals *tot, bool ended)
{
    struct buf sql = BUF_INIT(CH_TEL_RUN_TEXT_MAX + 4096);
    int rc = buf_printf(&sql,
                        "INSERT INTO %s.telescope_runs (id, started_ms, finished_ms, status, mode,"
                        " version, command, darknet, inputs, packets_read, darknet_packets,"
                        " first_ms, last_ms, sources, victims, intervals, ver) VALUES (%" PRId64
                        ", %" PRIu64,
                        t->db, t->run, t->started_ms);
    if (!rc)
        rc = put_opt_u64(&sql, ended, clock_wall_ms());
    if (!rc)
        rc = buf_printf(&sql, ", '%s', ", !ended ? "running" : tot && tot->ok ? "ok" : "failed");
    if (!rc)
        rc = buf_append(&sql, t->run_text.data, t->run_text.len);
    const uint64_t v[] = {tot ? tot->packets_read : 0, tot ? tot->darknet_packets : 0,
                          tot ? tot->first_ms : 0,     tot ? tot->last_ms : 0,
                          tot ? tot->sources : 0,      tot ? tot->victims : 0,
                          tot ? tot->intervals : 0};
    for (size_t i = 0; i < sizeof v / sizeof v[0] && !rc; i++)
        rc = put_opt_u64(&sql, tot != NULL, v[i]);
    if (!rc)
        rc = buf_printf(&sql, ", %" PRIu64 ")", ch_next_version(t->last_version));
    if (!rc && (rc = ch_exec(t->conn, sql.data, NULL)))
        log_warn("clickhouse", "telescope_runs: %s", t->conn->err);
    buf_release(&sql);
    return rc ? BS_EIO : 0;
}

int ch_tel_begin(struct ch_tel *t, const struct statedb_tel_run *r, int64_t *run_id)
{
    if (t->run)
        return -EINVAL;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t id = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    buf_reset(&t->run_text);
    const char *texts[] = {r->mode, r->version, r->command, r->darknet, r->inputs};
    int rc = 0;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0] && !rc; i++) {
        if (i)
            rc = buf_puts(&t->run_text, ", ");
        if (!rc)
            rc = ch_sql_str(&t->run_text, texts[i]);
    }
    if (rc)
        return rc;
    t->run = id;
    t->started_ms = r->started_ms;
    if ((rc = put_run_row(t, NULL, false))) {
        t->run = 0;
        return rc;
    }
    for (int i = 0; i < CH_TEL_TABLES; i++)
        buf_reset(&t->rows[i]);
    if (run_id)
        *run_id = id;
    return 0;
}

/* Starts the next row of batch i ("(" or ", ("). */
static int row_open(struct ch_tel *t, int i)
{
    return buf_puts(&t->rows[i], t->rows[i].len ? ", (" : "(");
}

/* Ends the row of batch i with run_id and a new version, or takes the partial row back when
 * rendering failed; sends the batch once it is big enough. */
static int row_close(struct ch_tel *t, int i, size_t start, int rc)
{
    if (!rc)
        rc = buf_printf(&t->rows[i], ", %" PRId64 ", %" PRIu64 ")", t->run,
                        ch_next_version(t->last_version));
    if (rc) {
        t->rows[i].len = start;
        if (t->rows[i].data)
            t->rows[i].data[start] = '\0';
        return rc;
    }
    return t->rows[i].len >= CH_TEL_BATCH_BYTES ? send_batch(t, i) : 0;
}

/* Appends ", " and s as a literal (def when s is NULL). */
static int put_text(struct buf *o, const char *s, const char *def)
{
    int rc = buf_puts(o, ", ");
    return rc ? rc : ch_sql_str(o, s ? s : def);
}

int ch_tel_source_put(struct ch_tel *t, const struct statedb_tel_source *s)
{
    if (!t->run)
        return -EINVAL;
    struct buf *o = &t->rows[CH_TEL_SOURCES];
    size_t start = o->len;
    int rc = row_open(t, CH_TEL_SOURCES);
    if (!rc)
        rc = ch_sql_str(o, s->src ? s->src : "");
    if (!rc)
        rc = buf_printf(o,
                        ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
                        ", %" PRIu64 ", %" PRIu64,
                        s->day_ms, s->first_ms, s->last_ms, s->packets, s->bytes, s->destinations,
                        s->port_count);
    if (!rc)
        rc = put_text(o, s->ports, "[]");
    if (!rc)
        rc = put_text(o, s->fingerprints, "[]");
    if (!rc)
        rc = put_text(o, s->tags, "[]");
    if (!rc)
        rc = put_text(o, s->scan_class, "");
    if (!rc)
        rc = buf_printf(o, ", %" PRIu64 ", %" PRIu64, s->syn_packets, s->iot_packets);
    if (!rc)
        rc = s->asn >= 0 ? buf_printf(o, ", %" PRId64, s->asn) : buf_puts(o, ", NULL");
    if (!rc && !(rc = buf_puts(o, ", ")))
        rc = ch_sql_str(o, s->cc);
    if (!rc)
        rc = buf_printf(o, ", %d, %d, %d", s->bogon, s->research, s->infected_iot);
    return row_close(t, CH_TEL_SOURCES, start, rc);
}

int ch_tel_victim_put(struct ch_tel *t, const struct statedb_tel_victim *v)
{
    if (!t->run)
        return -EINVAL;
    struct buf *o = &t->rows[CH_TEL_VICTIMS];
    size_t start = o->len;
    int rc = row_open(t, CH_TEL_VICTIMS);
    if (!rc)
        rc = ch_sql_str(o, v->victim ? v->victim : "");
    if (!rc)
        rc = buf_printf(o, ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64, v->first_ms,
                        v->last_ms, v->packets, v->bytes);
    if (!rc)
        rc = put_text(o, v->ports, "[]");
    if (!rc)
        rc = buf_printf(o, ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %.17g",
                        v->tcp_packets, v->icmp_packets, v->peak_ppm, v->darknet_addresses,
                        v->observed_pps);
    if (!rc)
        rc = v->scaled_pps >= 0 ? buf_printf(o, ", %.17g", v->scaled_pps) : buf_puts(o, ", NULL");
    return row_close(t, CH_TEL_VICTIMS, start, rc);
}

int ch_tel_interval_put(struct ch_tel *t, const struct statedb_tel_interval *iv)
{
    if (!t->run)
        return -EINVAL;
    struct buf *o = &t->rows[CH_TEL_INTERVALS];
    size_t start = o->len;
    int rc = row_open(t, CH_TEL_INTERVALS);
    if (!rc)
        rc = buf_printf(o,
                        "%" PRIu32 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
                        ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64,
                        iv->resolution_s, iv->start_ms, iv->end_ms, iv->packets, iv->bytes,
                        iv->unique_sources, iv->unique_destinations, iv->non_darknet_packets,
                        iv->late_packets, iv->dropped_source_packets, iv->research_packets);
    if (!rc)
        rc = put_text(o, iv->tags, "{}");
    if (!rc)
        rc = put_text(o, iv->fingerprints, "{}");
    return row_close(t, CH_TEL_INTERVALS, start, rc);
}

int ch_tel_commit(struct ch_tel *t)
{
    if (!t->run)
        return -EINVAL;
    int first = 0;
    for (int i = 0; i < CH_TEL_TABLES; i++) {
        int rc = send_batch(t, i);
        if (rc && !first)
            first = rc;
    }
    return first;
}

int ch_tel_end(struct ch_tel *t, const struct statedb_tel_run_totals *tot)
{
    if (!t->run)
        return -EINVAL;
    int rc = ch_tel_commit(t);
    struct statedb_tel_run_totals failed;
    if (rc && tot && tot->ok) { /* rows were lost: the run did not succeed */
        failed = *tot;
        failed.ok = false;
        tot = &failed;
    }
    int erc = put_run_row(t, tot, true);
    t->run = 0;
    return rc ? rc : erc;
}

/* ---- the sources reader ---- */

struct list_ctx {
    int (*cb)(void *ctx, const struct statedb_tel_source_sum *s);
    void *ctx;
    char line[CH_TEL_LINE_MAX];
    size_t len;
    int err; /* a malformed answer */
};

static int list_line(struct list_ctx *l)
{
    char *f[4];
    l->line[l->len] = '\0';
    l->len = 0;
    if (ch_tsv_split(l->line, f, 4) != 4) {
        l->err = BS_EIO;
        return BS_EIO;
    }
    struct statedb_tel_source_sum s = {
        .src = ch_tsv_field(f[0]),
        .first_ms = strtoull(f[1], NULL, 10),
        .last_ms = strtoull(f[2], NULL, 10),
        .days = strtoull(f[3], NULL, 10),
    };
    return s.src ? l->cb(l->ctx, &s) : 0;
}

static int list_data(void *ctx, const uint8_t *p, size_t n)
{
    struct list_ctx *l = ctx;
    for (size_t i = 0; i < n; i++) {
        if (p[i] == '\n') {
            int rc = list_line(l);
            if (rc)
                return rc;
        } else if (l->len + 1 >= sizeof l->line) {
            l->err = BS_EIO;
            return BS_EIO;
        } else {
            l->line[l->len++] = (char)p[i];
        }
    }
    return 0;
}

int ch_tel_source_list(struct ch_conn *c, const char *db, const struct statedb_tel_source_query *q,
                       int (*cb)(void *ctx, const struct statedb_tel_source_sum *s), void *ctx)
{
    char sql[1024];
    char hi[48] = "";
    if (q->t_hi)
        snprintf(hi, sizeof hi, " AND first_ms <= %" PRIu64, q->t_hi);
    snprintf(sql, sizeof sql,
             "SELECT src, min(first_ms), max(last_ms), count() FROM (SELECT src, first_ms,"
             " last_ms, infected_iot FROM %s.telescope_sources FINAL) WHERE last_ms >= %" PRIu64
             "%s%s%s GROUP BY src ORDER BY src FORMAT TabSeparated",
             db, q->t_lo, hi, q->infected_only ? " AND infected_iot = 1" : "",
             q->addresses_only ? " AND substring(src, 1, 2) != 'h:'" : "");
    struct list_ctx l = {.cb = cb, .ctx = ctx};
    int rc = ch_stream(c, sql, list_data, &l);
    if (!rc && l.len)
        rc = list_line(&l);
    if (l.err) {
        snprintf(c->err, sizeof c->err, "telescope_sources: malformed answer line");
        rc = l.err;
    }
    if (rc < 0)
        log_warn("clickhouse", "telescope_sources: %s", c->err);
    return rc;
}
