/* store_clickhouse.c - the ClickHouse backend's registry entry (store_backend.h): the flow
 * store ("clickhouse://HOST:PORT/DB") and its state half. Pieces are in store_ch_*.c
 * (store_ch.h says which does what); docs/CLICKHOUSE.md has the schema and the deployment.
 *
 * Opening for writing migrates the schema (idempotent) and starts the writer; when the
 * server does not answer then, the store still opens (flows go to the spool until it does),
 * so a collector starts while ClickHouse is down. Reads go to the local tables, or with
 * [clickhouse] cluster set to the Distributed ones (flows_all) over every shard.
 *
 * scan: one SELECT of the requested columns in RowBinary with the time window in WHERE
 * (partition and primary key pruning happen on the server), ordered by start_ms, streamed and
 * cut into blocks of CH_SCAN_BLOCK records as it arrives (memory stays bounded whatever the
 * answer's size). The block skip metadata of the embedded store has no equivalent here, so
 * block_pred is not called; readers filter every record, as they do anyway.
 *
 * The state half: exporters here, records by kind in store_ch_records.c, the telescope's
 * tables in store_ch_tel.c; a handle opened read-only (statedb_open_rdonly) creates,
 * migrates and writes nothing.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/log.h"
#include "store/store_backend.h"
#include "store/store_ch.h"

#define CH_SCAN_BLOCK 65536
#define CH_DAY_MS     86400000ull

struct ch_store {
    struct store base; /* first: store.c dispatches through base.be */
    struct ch_target t;
    struct ch_conn conn;
    char cluster[CH_DB_MAX + 1];
    const char *flows_read; /* "flows" or "flows_all" */
    uint64_t retention_ms, max_size;
    bool pushdown;
    struct ch_writer *w;
    char last_qid[40];    /* query_id of the last successful ch_sql ("" when none) */
    char spool_dir[1024]; /* this host's spool for the target ("" when not configured) */
};

static bool ch_match(const char *url)
{
    return !strncmp(url, "clickhouse://", 13);
}

static bool ident_ok(const char *s)
{
    if (strlen(s) > CH_DB_MAX)
        return false;
    for (; *s; s++)
        if (!(*s == '_' || (*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

static int ch_close(struct store *s)
{
    struct ch_store *c = (struct ch_store *)s;
    int rc = ch_writer_close(c->w);
    ch_conn_release(&c->conn);
    free(c);
    return rc;
}

/* The server version the schema is written for: [clickhouse] assume_version when set (tests
 * generate a newer server's DDL with it), else the server's own. */
static int schema_server_version(struct ch_conn *conn, const struct config *cfg, uint32_t *v,
                                 char errbuf[256])
{
    const char *av = cfg ? config_str(cfg, "clickhouse", "assume_version") : "";
    if (av && *av) {
        if (!(*v = ch_version_parse(av))) {
            snprintf(errbuf, 256,
                     "[clickhouse] assume_version: '%.60s' is not a version "
                     "(MAJOR.MINOR.PATCH)",
                     av);
            return BS_EUSAGE;
        }
        return 0;
    }
    int rc = ch_server_version(conn, v);
    if (rc)
        snprintf(errbuf, 256, "version of the server: %.200s", conn->err);
    return rc;
}

static int writer_cfg(struct ch_store *c, const struct config *cfg, struct ch_writer_cfg *wc,
                      char errbuf[256])
{
    memset(wc, 0, sizeof *wc);
    wc->target = c->t;
    wc->cfg = cfg;
    int64_t unit = cfg ? config_int(cfg, "clickhouse", "unit_records") : 500000;
    int64_t q = cfg ? config_int(cfg, "clickhouse", "queue_units") : 4;
    int64_t smax = cfg ? config_size(cfg, "clickhouse", "spool_max") : (10ll << 30);
    int64_t cw = cfg ? config_duration_ms(cfg, "clickhouse", "close_wait") : 30000;
    if (unit < 1000 || unit > 1000000 || q < 1 || q > 64 || smax < 0 || cw < 0) {
        snprintf(errbuf, 256,
                 "[clickhouse] unit_records (1000..1000000), queue_units (1..64), spool_max and "
                 "close_wait (>= 0): value out of range");
        return BS_EUSAGE;
    }
    wc->unit_records = (size_t)unit;
    wc->queue_units = (size_t)q;
    wc->spool_max = (uint64_t)smax;
    wc->close_wait_ms = (uint64_t)cw;
    /* One spool per server and database: a spool file names neither, so two targets must
     * never share a directory. */
    const char *sd = cfg ? config_str(cfg, "clickhouse", "spool_dir") : "";
    const char *dd = cfg ? config_str(cfg, "general", "data_dir") : "/var/lib/botscope";
    char host[256];
    snprintf(host, sizeof host, "%s", c->t.host);
    for (char *p = host; *p; p++)
        if (*p == ':' || *p == '/')
            *p = '_';
    int n = sd && *sd ? snprintf(wc->spool_dir, sizeof wc->spool_dir, "%s/%s_%u_%s", sd, host,
                                 c->t.port, c->t.db)
                      : snprintf(wc->spool_dir, sizeof wc->spool_dir,
                                 "%s/clickhouse-spool/%s_%u_%s", dd, host, c->t.port, c->t.db);
    if (n < 0 || (size_t)n >= sizeof wc->spool_dir) {
        snprintf(errbuf, 256, "spool directory name too long");
        return BS_EUSAGE;
    }
    return 0;
}

static int ch_open(const char *url, const struct config *cfg, int flags, struct store **out,
                   char errbuf[256])
{
    struct ch_store *c = calloc(1, sizeof *c);
    if (!c)
        return BS_ENOMEM;
    int rc = ch_url_parse(url, &c->t, errbuf);
    if (rc)
        goto fail;
    const char *cl = cfg ? config_str(cfg, "clickhouse", "cluster") : "";
    if (!ident_ok(cl ? cl : "")) {
        snprintf(errbuf, 256, "[clickhouse] cluster: '%s' is not a cluster name", cl);
        rc = BS_EUSAGE;
        goto fail;
    }
    snprintf(c->cluster, sizeof c->cluster, "%s", cl ? cl : "");
    c->flows_read = *c->cluster ? "flows_all" : "flows";
    int64_t ret = cfg ? config_duration_ms(cfg, "store", "retention") : 30ll * 86400000;
    int64_t msz = cfg ? config_size(cfg, "store", "max_size") : 0;
    c->pushdown = cfg ? config_bool(cfg, "clickhouse", "pushdown") : true;
    c->retention_ms = ret > 0 ? (uint64_t)ret : 0;
    c->max_size = msz > 0 ? (uint64_t)msz : 0;
    if ((rc = ch_conn_init(&c->conn, &c->t, cfg)))
        goto fail;
    struct ch_writer_cfg wc;
    if (flags & STORE_WRITE) {
        int version = 0;
        if ((rc = writer_cfg(c, cfg, &wc, errbuf)))
            goto fail;
        memcpy(c->spool_dir, wc.spool_dir, sizeof c->spool_dir);
        uint32_t sv = 0;
        rc = schema_server_version(&c->conn, cfg, &sv, errbuf);
        if (!rc)
            rc = ch_schema_migrate(&c->conn, c->t.db, c->cluster, CH_SCHEMA_VERSION, sv, &version,
                                   errbuf);
        if (rc == -ECONNREFUSED || rc == -ETIMEDOUT) {
            log_warn("clickhouse", "%s: %s; flows wait in %s until it answers", url, errbuf,
                     wc.spool_dir);
        } else if (rc) {
            goto fail;
        }
        if ((rc = ch_writer_open(&wc, &c->w, errbuf)))
            goto fail;
    }
    if (!(flags & STORE_WRITE)) {
        /* Readers only look at the spool (store check); a bad [clickhouse] value is the
         * writers' error to report. */
        char eb[256];
        if (!writer_cfg(c, cfg, &wc, eb))
            memcpy(c->spool_dir, wc.spool_dir, sizeof c->spool_dir);
    }
    *out = &c->base;
    return 0;
fail:
    if (!*errbuf)
        snprintf(errbuf, 256, "%.100s: %.140s", url, *c->conn.err ? c->conn.err : bs_strerror(rc));
    ch_conn_release(&c->conn);
    free(c);
    return rc;
}

static int ch_append(struct store *s, const struct flow_rec *recs, size_t n)
{
    return ch_writer_append(((struct ch_store *)s)->w, recs, n);
}

static int ch_flush(struct store *s)
{
    return ch_writer_flush(((struct ch_store *)s)->w);
}

/* ---- scan --------------------------------------------------------------------------- */

static const struct {
    const char *name;
    unsigned width;
} col_def[STORE_COL_COUNT] = {
    [STORE_COL_START_MS] = {"start_ms", 8},
    [STORE_COL_END_MS] = {"end_ms", 8},
    [STORE_COL_PACKETS] = {"packets", 8},
    [STORE_COL_BYTES] = {"bytes", 8},
    [STORE_COL_SRC] = {"src", 16},
    [STORE_COL_DST] = {"dst", 16},
    [STORE_COL_EXPORTER] = {"exporter", 16},
    [STORE_COL_NEXTHOP] = {"nexthop", 16},
    [STORE_COL_SAMPLING] = {"sampling", 4},
    [STORE_COL_OBS_DOMAIN] = {"obs_domain", 4},
    [STORE_COL_IN_IF] = {"in_if", 4},
    [STORE_COL_OUT_IF] = {"out_if", 4},
    [STORE_COL_SRC_AS] = {"src_as", 4},
    [STORE_COL_DST_AS] = {"dst_as", 4},
    [STORE_COL_SRC_PORT] = {"src_port", 2},
    [STORE_COL_DST_PORT] = {"dst_port", 2},
    [STORE_COL_VLAN] = {"vlan", 2},
    [STORE_COL_HAS] = {"has", 2},
    [STORE_COL_PROTO] = {"proto", 1},
    [STORE_COL_TCP_FLAGS] = {"tcp_flags", 1},
    [STORE_COL_TOS] = {"tos", 1},
    [STORE_COL_VERSION] = {"version", 1},
    [STORE_COL_DIRECTION] = {"direction", 1},
    [STORE_COL_SRC_MASK] = {"src_mask", 1},
    [STORE_COL_DST_MASK] = {"dst_mask", 1},
};

struct scan_ctx {
    const struct store_scan *sc;
    struct store_scan_stats *st;
    uint64_t cols;
    unsigned row_bytes;
    void *arr[STORE_COL_COUNT]; /* column arrays of CH_SCAN_BLOCK entries */
    size_t n;                   /* records in the current block */
    uint8_t part[256];          /* a row split across two pieces of the answer */
    unsigned part_len;
    int stop; /* on_block's non-zero answer */
};

static uint64_t le(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = w; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static int emit(struct scan_ctx *x)
{
    if (!x->n)
        return 0;
    struct store_block b;
    memset(&b, 0, sizeof b);
    b.n = x->n;
#define U(col, f) b.f = x->arr[col]
    U(STORE_COL_START_MS, start_ms);
    U(STORE_COL_END_MS, end_ms);
    U(STORE_COL_PACKETS, packets);
    U(STORE_COL_BYTES, bytes);
    U(STORE_COL_SRC, src.full);
    U(STORE_COL_DST, dst.full);
    U(STORE_COL_EXPORTER, exporter.full);
    U(STORE_COL_NEXTHOP, nexthop.full);
    U(STORE_COL_SAMPLING, sampling);
    U(STORE_COL_OBS_DOMAIN, obs_domain);
    U(STORE_COL_IN_IF, in_if);
    U(STORE_COL_OUT_IF, out_if);
    U(STORE_COL_SRC_AS, src_as);
    U(STORE_COL_DST_AS, dst_as);
    U(STORE_COL_SRC_PORT, src_port);
    U(STORE_COL_DST_PORT, dst_port);
    U(STORE_COL_VLAN, vlan);
    U(STORE_COL_HAS, has);
    U(STORE_COL_PROTO, proto);
    U(STORE_COL_TCP_FLAGS, tcp_flags);
    U(STORE_COL_TOS, tos);
    U(STORE_COL_VERSION, version);
    U(STORE_COL_DIRECTION, direction);
    U(STORE_COL_SRC_MASK, src_mask);
    U(STORE_COL_DST_MASK, dst_mask);
#undef U
    x->st->blocks_total++;
    x->st->records_scanned += x->n;
    x->n = 0;
    return x->sc->on_block(x->sc->ctx, 0, &b);
}

static void decode_row(struct scan_ctx *x, const uint8_t *p)
{
    size_t i = x->n;
    for (int c = 0; c < STORE_COL_COUNT; c++) {
        if (!(x->cols & STORE_COLBIT(c)))
            continue;
        unsigned w = col_def[c].width;
        switch (w) {
        case 16:
            memcpy(((struct ipaddr *)x->arr[c])[i].b, p, 16);
            break;
        case 8:
            ((uint64_t *)x->arr[c])[i] = le(p, 8);
            break;
        case 4:
            ((uint32_t *)x->arr[c])[i] = (uint32_t)le(p, 4);
            break;
        case 2:
            ((uint16_t *)x->arr[c])[i] = (uint16_t)le(p, 2);
            break;
        default:
            ((uint8_t *)x->arr[c])[i] = *p;
            break;
        }
        p += w;
    }
    x->n++;
}

static int on_piece(void *ctx, const uint8_t *p, size_t n)
{
    struct scan_ctx *x = ctx;
    while (n) {
        const uint8_t *row = p;
        if (x->part_len || n < x->row_bytes) {
            size_t take = x->row_bytes - x->part_len;
            if (take > n)
                take = n;
            memcpy(x->part + x->part_len, p, take);
            x->part_len += (unsigned)take;
            p += take;
            n -= take;
            if (x->part_len < x->row_bytes)
                return 0;
            row = x->part;
            x->part_len = 0;
        } else {
            p += x->row_bytes;
            n -= x->row_bytes;
        }
        decode_row(x, row);
        if (x->n == CH_SCAN_BLOCK && (x->stop = emit(x)))
            return x->stop;
    }
    return 0;
}

static int ch_scan(struct store *s, const struct store_scan *sc, struct store_scan_stats *st)
{
    struct ch_store *c = (struct ch_store *)s;
    struct scan_ctx x = {.sc = sc, .st = st, .cols = sc->cols & STORE_COLS_ALL};
    if (!x.cols)
        x.cols = STORE_COLBIT(STORE_COL_START_MS); /* one column to count rows by */
    struct buf sql = BUF_INIT(4096);
    int rc = buf_puts(&sql, "SELECT ");
    bool first = true;
    for (int col = 0; col < STORE_COL_COUNT && !rc; col++) {
        if (!(x.cols & STORE_COLBIT(col)))
            continue;
        rc = buf_printf(&sql, "%s%s", first ? "" : ", ", col_def[col].name);
        first = false;
        x.row_bytes += col_def[col].width;
        size_t esz = col_def[col].width == 16 ? sizeof(struct ipaddr) : col_def[col].width;
        if (!(x.arr[col] = malloc(esz * CH_SCAN_BLOCK)))
            rc = BS_ENOMEM;
    }
    if (!rc)
        rc = buf_printf(&sql,
                        " FROM %s.%s WHERE start_ms >= %" PRIu64 " AND start_ms <= %" PRIu64
                        " ORDER BY start_ms FORMAT RowBinary",
                        c->t.db, c->flows_read, sc->t_lo, sc->t_hi);
    if (!rc)
        rc = ch_stream(&c->conn, sql.data, on_piece, &x);
    if (!rc && x.part_len) {
        snprintf(c->conn.err, sizeof c->conn.err, "answer ends inside a row");
        rc = BS_EIO;
    }
    if (!rc)
        rc = emit(&x);
    if (rc < 0)
        log_warn("clickhouse", "scan of %s.%s: %s", c->t.db, c->flows_read, c->conn.err);
    for (int col = 0; col < STORE_COL_COUNT; col++)
        free(x.arr[col]);
    buf_release(&sql);
    return rc;
}

/* ---- SQL pushdown (store_sql) -------------------------------------------------------- */

static int query_nums(struct ch_conn *conn, const char *sql, uint64_t *v, int n);

static int ch_sql(struct store *s, const char *sql,
                  int (*cb)(void *ctx, const uint8_t *p, size_t n), void *ctx, char errbuf[256])
{
    struct ch_store *c = (struct ch_store *)s;
    if (!c->pushdown) {
        snprintf(errbuf, 256, "[clickhouse] pushdown is off");
        return BS_EUNSUPPORTED;
    }
    if (!sql)
        return 0;
    struct buf q = BUF_INIT((size_t)1 << 27);
    int rc = 0;
    for (const char *p = sql; *p && !rc;) {
        if (!strncmp(p, "{flows}", 7)) {
            rc = buf_printf(&q, "%s.%s", c->t.db, c->flows_read);
            p += 7;
        } else {
            const char *nx = strstr(p, "{flows}");
            size_t l = nx ? (size_t)(nx - p) : strlen(p);
            rc = buf_append(&q, p, l);
            p += l;
        }
    }
    /* A query id of our own, to find the query in the server's log (ch_sql_stats). */
    char qid[40];
    uint64_t r = 0;
    if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r)
        r = clock_mono_ns() ^ (uint64_t)(uintptr_t)&r;
    snprintf(qid, sizeof qid, "bs-q-%016" PRIx64, r);
    c->last_qid[0] = '\0';
    if (!rc)
        rc = ch_stream_big(&c->conn, q.data, qid, cb, ctx);
    if (!rc)
        memcpy(c->last_qid, qid, sizeof qid);
    if (rc < 0)
        snprintf(errbuf, 256, "%.250s", *c->conn.err ? c->conn.err : bs_strerror(rc));
    buf_release(&q);
    return rc;
}

/* What the last ch_sql read, from the server's query log (the only place 18.16 gives it: its
 * HTTP interface sends no progress headers for these queries, and RowBinary carries no
 * statistics). The server queues the query's log row when the query ends, which can be just
 * after the answer's last byte reached us, and writes the queue to the table at a flush: so
 * flush (SYSTEM FLUSH LOGS) and look, and when the row is not there yet, wait and try again
 * (20 ms doubling, 2.5 s at most). On a cluster the initiating node's row counts every
 * shard's reads. A server without a <query_log> section has no such table: BS_EUNSUPPORTED. */
static int ch_sql_stats(struct store *s, uint64_t *rows, uint64_t *bytes)
{
    struct ch_store *c = (struct ch_store *)s;
    if (!c->last_qid[0])
        return BS_EUNSUPPORTED;
    char sql[512];
    uint64_t v[3];
    /* type 2 is QueryFinish in 18.16's UInt8 column; later servers made it an Enum8 with the
     * same value (not tried here: only 18.16 is installed). */
    snprintf(sql, sizeof sql,
             "SELECT count(), sum(read_rows), sum(read_bytes) FROM system.query_log WHERE "
             "query_id = '%s' AND type = 2 FORMAT TabSeparated",
             c->last_qid);
    int rc = 0;
    v[0] = 0;
    for (unsigned i = 0, wait_ms = 10; !rc && v[0] == 0 && i < 8; i++, wait_ms *= 2) {
        if (i) {
            struct timespec ts = {0, (long)wait_ms * 1000000L};
            while (nanosleep(&ts, &ts) && errno == EINTR)
                ;
        }
        rc = ch_exec(&c->conn, "SYSTEM FLUSH LOGS", NULL);
        if (!rc)
            rc = query_nums(&c->conn, sql, v, 3);
    }
    if (rc || v[0] == 0) {
        log_debug("clickhouse", "rows read by %s unknown: %s", c->last_qid,
                  rc ? c->conn.err : "not in system.query_log");
        return BS_EUNSUPPORTED;
    }
    *rows = v[1];
    *bytes = v[2];
    return 0;
}

/* ---- info and prune ----------------------------------------------------------------- */

/* Runs sql, expecting one TabSeparated row of n unsigned numbers. */
static int query_nums(struct ch_conn *conn, const char *sql, uint64_t *v, int n)
{
    struct buf b = BUF_INIT(1 << 16);
    int rc = ch_exec(conn, sql, &b);
    const char *p = b.data ? b.data : "";
    for (int i = 0; !rc && i < n; i++) {
        char *end;
        errno = 0;
        v[i] = strtoull(p, &end, 10);
        if (errno || end == p)
            rc = BS_EIO;
        p = end + (*end == '\t');
    }
    buf_release(&b);
    return rc;
}

static int ch_info(struct store *s, struct store_info *out)
{
    struct ch_store *c = (struct ch_store *)s;
    char sql[512];
    uint64_t v[3];
    snprintf(sql, sizeof sql,
             "SELECT count(), min(start_ms), max(start_ms) FROM %s.%s FORMAT TabSeparated", c->t.db,
             c->flows_read);
    int rc = query_nums(&c->conn, sql, v, 3);
    if (rc)
        return rc;
    out->records = v[0];
    out->t_min = v[0] ? v[1] : 0;
    out->t_max = v[0] ? v[2] : 0;
    /* Parts and bytes of this node's table (system.parts is per server). */
    snprintf(sql, sizeof sql,
             "SELECT count(), sum(bytes_on_disk), sum(marks) FROM system.parts WHERE database = "
             "'%s' AND table = 'flows' AND active FORMAT TabSeparated",
             c->t.db);
    if ((rc = query_nums(&c->conn, sql, v, 3)))
        return rc;
    out->segments = v[0];
    out->bytes = v[1];
    out->blocks = v[2];
    return 0;
}

/* store.h's retention rule on whole days: a day (partition) goes when it has ended and its
 * newest part was written more than retention before now_ms (wall clock), so data stays at
 * least retention after it was stored; then the oldest days while the table is above
 * max_size (never the newest day). The roll-up's partitions of the same days go too. */
static int ch_prune(struct store *s, uint64_t now_ms, uint64_t *segs, uint64_t *bytes)
{
    struct ch_store *c = (struct ch_store *)s;
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT toUInt64(partition) AS p, count(), sum(bytes_on_disk), "
             "toUInt64(max(modification_time)) FROM system.parts WHERE database = '%s' AND "
             "table = 'flows' AND active GROUP BY p ORDER BY p FORMAT TabSeparated",
             c->t.db);
    struct buf b = BUF_INIT(CH_RESP_MAX);
    int rc = ch_exec(&c->conn, sql, &b);
    uint64_t total = 0, ndays = 0;
    for (const char *p = b.data ? b.data : ""; !rc && *p;) {
        uint64_t v[4];
        int used = 0;
        if (sscanf(p, "%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\n%n", &v[0], &v[1], &v[2],
                   &v[3], &used) < 4 ||
            !used)
            break;
        total += v[2];
        ndays++;
        p += used;
    }
    const char *p = b.data ? b.data : "";
    for (uint64_t i = 0; i < ndays && !rc; i++) {
        uint64_t day, parts, by, written_s;
        int used = 0;
        sscanf(p, "%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\n%n", &day, &parts, &by,
               &written_s, &used);
        p += used;
        bool ended = (day + 1) * CH_DAY_MS <= now_ms;
        bool old = c->retention_ms && ended && written_s * 1000 + c->retention_ms <= now_ms;
        bool big = c->max_size && total > c->max_size && i + 1 < ndays;
        if (!old && !big)
            continue;
        static const char *const tables[] = {"flows", "flows_hourly"};
        for (int t = 0; t < 2 && !rc; t++) {
            snprintf(sql, sizeof sql, "ALTER TABLE %s.%s DROP PARTITION %" PRIu64, c->t.db,
                     tables[t], day);
            rc = ch_exec(&c->conn, sql, NULL);
        }
        if (!rc) {
            char d[40];
            log_warn("clickhouse",
                     "pruned %s.flows day %s (%" PRIu64 " parts, %" PRIu64 " bytes): %s", c->t.db,
                     clock_format_utc(day * CH_DAY_MS, d, sizeof d), parts, by,
                     old ? "older than retention" : "above max_size");
            *segs += parts;
            *bytes += by;
            total -= by;
        }
    }
    if (rc)
        log_warn("clickhouse", "prune: %s", c->conn.err);
    buf_release(&b);
    return rc;
}

static int ch_check(struct store *s, void (*report)(void *ctx, const char *path, const char *what),
                    void *ctx, struct store_check_stats *st)
{
    struct ch_store *c = (struct ch_store *)s;
    return ch_check_db(&c->conn, c->t.db, c->cluster, c->spool_dir, report, ctx, st);
}

/* ---- the state half ----------------------------------------------------------------- */

struct ch_state {
    struct statedb base;
    struct ch_target t;
    struct ch_conn conn;
    int version;
    const char *flows_read, *exporters_read;
    uint64_t last_version; /* of record and telescope rows written through this handle */
    bool rdonly;           /* statedb_open_rdonly: nothing is created or written */
    struct ch_tel tel;     /* the telescope run written through this handle */
};

static int ch_state_open_cfg(const char *url, const struct config *cfg, struct statedb **out,
                             char errbuf[256])
{
    struct ch_state *d = calloc(1, sizeof *d);
    if (!d)
        return BS_ENOMEM;
    int rc = ch_url_parse(url, &d->t, errbuf);
    if (!rc && (rc = ch_conn_init(&d->conn, &d->t, cfg)))
        snprintf(errbuf, 256, "out of memory");
    if (!rc) {
        const char *cl = cfg ? config_str(cfg, "clickhouse", "cluster") : "";
        uint32_t sv = 0;
        rc = ident_ok(cl ? cl : "") ? schema_server_version(&d->conn, cfg, &sv, errbuf) : BS_EUSAGE;
        if (!rc)
            rc = ch_schema_migrate(&d->conn, d->t.db, cl, CH_SCHEMA_VERSION, sv, &d->version,
                                   errbuf);
        d->flows_read = cl && *cl ? "flows_all" : "flows";
        d->exporters_read = cl && *cl ? "exporters_all" : "exporters";
    }
    if (rc) {
        if (!*errbuf)
            snprintf(errbuf, 256, "%s: %s", url, bs_strerror(rc));
        ch_conn_release(&d->conn);
        free(d);
        return rc;
    }
    ch_tel_init(&d->tel, &d->conn, d->t.db, &d->last_version);
    *out = &d->base;
    return 0;
}

static int ch_state_open(const char *url, struct statedb **out, char errbuf[256])
{
    return ch_state_open_cfg(url, NULL, out, errbuf);
}

/* Read-only: the database must exist and hold a schema_version; nothing is created or
 * migrated (an older schema is read as it is: its missing tables answer BS_ENOTFOUND). */
static int ch_state_open_rdonly(const char *url, const struct config *cfg, struct statedb **out,
                                char errbuf[256])
{
    struct ch_state *d = calloc(1, sizeof *d);
    if (!d)
        return BS_ENOMEM;
    d->rdonly = true;
    int rc = ch_url_parse(url, &d->t, errbuf);
    if (!rc && (rc = ch_conn_init(&d->conn, &d->t, cfg)))
        snprintf(errbuf, 256, "out of memory");
    const char *cl = cfg ? config_str(cfg, "clickhouse", "cluster") : "";
    if (!rc && !ident_ok(cl ? cl : "")) {
        snprintf(errbuf, 256, "[clickhouse] cluster: '%s' is not a cluster name", cl);
        rc = BS_EUSAGE;
    }
    char sql[256];
    uint64_t n = 0;
    snprintf(sql, sizeof sql, "SELECT count() FROM system.databases WHERE name = '%s'", d->t.db);
    if (!rc && (rc = ch_exec_u64(&d->conn, sql, &n)))
        snprintf(errbuf, 256, "%s: %.200s", url, d->conn.err);
    if (!rc && !n) {
        snprintf(errbuf, 256, "%s: the server has no database '%s' (botscope store init makes it)",
                 url, d->t.db);
        rc = BS_ENOTFOUND;
    }
    if (!rc && (rc = ch_schema_version(&d->conn, d->t.db, &d->version)))
        snprintf(errbuf, 256, "%s: %.200s", url, d->conn.err);
    if (!rc && d->version < 1) {
        snprintf(errbuf, 256, "no schema_version table in database '%s'", d->t.db);
        rc = BS_EPARSE;
    }
    if (!rc && d->version > CH_SCHEMA_VERSION) {
        snprintf(errbuf, 256, "%s: schema version %d is newer than this botscope (%d)", url,
                 d->version, CH_SCHEMA_VERSION);
        rc = BS_EVERSION;
    }
    if (rc) {
        ch_conn_release(&d->conn);
        free(d);
        return rc;
    }
    d->flows_read = cl && *cl ? "flows_all" : "flows";
    d->exporters_read = cl && *cl ? "exporters_all" : "exporters";
    ch_tel_init(&d->tel, &d->conn, d->t.db, &d->last_version);
    *out = &d->base;
    return 0;
}

static void ch_state_close(struct statedb *db)
{
    struct ch_state *d = (struct ch_state *)db;
    if (d->tel.run) /* as SQLite: a run left open ends as failed, its rows kept */
        ch_tel_end(&d->tel, NULL);
    ch_tel_release(&d->tel);
    ch_conn_release(&d->conn);
    free(d);
}

static int ch_state_version(struct statedb *db)
{
    return ((struct ch_state *)db)->version;
}

/* Exporters: what the flows themselves say (computed from the flows table, so it is exact by
 * construction, however often an insert was retried), plus rows given to
 * statedb_exporter_upsert, which are deltas summed when read (counts added, range widened,
 * the last written sampling rate and version kept: that function's meaning). */
static int ch_exporter_upsert(struct statedb *db, const struct statedb_exporter *e, size_t n)
{
    struct ch_state *d = (struct ch_state *)db;
    if (d->rdonly)
        return -EROFS;
    if (!n)
        return 0;
    struct buf sql = BUF_INIT(CH_RESP_MAX);
    uint64_t now = clock_wall_ms();
    int rc = buf_printf(&sql, "INSERT INTO %s.exporters VALUES ", d->t.db);
    for (size_t i = 0; i < n && !rc; i++) {
        rc = buf_printf(&sql, "%s(unhex('", i ? "," : "");
        for (int k = 0; k < 16 && !rc; k++)
            rc = buf_printf(&sql, "%02x", e[i].addr.b[k]);
        if (!rc)
            rc = buf_printf(&sql,
                            "'),%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                            ",%u,%u,%" PRIu64 ")",
                            e[i].first_ms, e[i].last_ms, e[i].flows, e[i].packets, e[i].bytes,
                            e[i].sampling_rate, e[i].version, now);
    }
    if (!rc && (rc = ch_exec(&d->conn, sql.data, NULL)))
        log_warn("clickhouse", "exporters: %s", d->conn.err);
    buf_release(&sql);
    return rc ? BS_EIO : 0;
}

static int ch_exporter_list(struct statedb *db,
                            int (*cb)(void *ctx, const struct statedb_exporter *e), void *ctx)
{
    struct ch_state *d = (struct ch_state *)db;
    char sql[1536];
    snprintf(sql, sizeof sql,
             "SELECT hex(addr), min(f), max(l), sum(n), sum(p), sum(b), argMax(sr, w), "
             "argMax(v, w) FROM (SELECT exporter AS addr, min(start_ms) AS f, "
             "max(greatest(end_ms, start_ms)) AS l, count() AS n, sum(packets) AS p, "
             "sum(bytes) AS b, argMax(sampling, start_ms) AS sr, argMax(version, start_ms) AS v, "
             "max(start_ms) AS w FROM %s.%s GROUP BY exporter UNION ALL SELECT addr, first_ms, "
             "last_ms, flows, packets, bytes, sampling_rate, version, written_ms FROM %s.%s) "
             "GROUP BY addr ORDER BY addr FORMAT TabSeparated",
             d->t.db, d->flows_read, d->t.db, d->exporters_read);
    struct buf b = BUF_INIT(CH_RESP_MAX);
    int rc = ch_exec(&d->conn, sql, &b);
    for (const char *p = b.data ? b.data : ""; !rc && *p;) {
        struct statedb_exporter e;
        char hex[33];
        unsigned sr, ver;
        int used = 0;
        memset(&e, 0, sizeof e);
        if (sscanf(p,
                   "%32[0-9A-F]\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64 "\t%" SCNu64
                   "\t%u\t%u\n%n",
                   hex, &e.first_ms, &e.last_ms, &e.flows, &e.packets, &e.bytes, &sr, &ver,
                   &used) < 8 ||
            !used) {
            rc = BS_EIO;
            break;
        }
        for (int k = 0; k < 16; k++) {
            unsigned byte;
            sscanf(hex + 2 * k, "%2x", &byte);
            e.addr.b[k] = (uint8_t)byte;
        }
        e.sampling_rate = sr;
        e.version = (uint8_t)ver;
        rc = cb(ctx, &e);
        p += used;
    }
    buf_release(&b);
    return rc;
}

/* The telescope's tables: store_ch_tel.c. */
static int ch_tel_begin_be(struct statedb *db, const struct statedb_tel_run *r, int64_t *run_id)
{
    struct ch_state *d = (struct ch_state *)db;
    return d->rdonly ? -EROFS : ch_tel_begin(&d->tel, r, run_id);
}
static int ch_tel_source_be(struct statedb *db, const struct statedb_tel_source *s)
{
    return ch_tel_source_put(&((struct ch_state *)db)->tel, s);
}
static int ch_tel_victim_be(struct statedb *db, const struct statedb_tel_victim *v)
{
    return ch_tel_victim_put(&((struct ch_state *)db)->tel, v);
}
static int ch_tel_interval_be(struct statedb *db, const struct statedb_tel_interval *iv)
{
    return ch_tel_interval_put(&((struct ch_state *)db)->tel, iv);
}
static int ch_tel_commit_be(struct statedb *db)
{
    return ch_tel_commit(&((struct ch_state *)db)->tel);
}
static int ch_tel_end_be(struct statedb *db, const struct statedb_tel_run_totals *t)
{
    return ch_tel_end(&((struct ch_state *)db)->tel, t);
}
static int ch_tel_source_list_be(struct statedb *db, const struct statedb_tel_source_query *q,
                                 int (*cb)(void *ctx, const struct statedb_tel_source_sum *s),
                                 void *ctx)
{
    struct ch_state *d = (struct ch_state *)db;
    if (d->version < 4) /* an older database opened read-only */
        return BS_ENOTFOUND;
    return ch_tel_source_list(&d->conn, d->t.db, q, cb, ctx);
}

static int ch_rec_put_be(struct statedb *db, const struct statedb_rec *recs, size_t n)
{
    struct ch_state *d = (struct ch_state *)db;
    if (d->rdonly)
        return -EROFS;
    return ch_rec_put(&d->conn, d->t.db, &d->last_version, recs, n);
}

static int ch_rec_list_be(struct statedb *db, const struct statedb_rec_query *q,
                          int (*cb)(void *ctx, const struct statedb_rec *r), void *ctx)
{
    struct ch_state *d = (struct ch_state *)db;
    if (d->version < 3) /* an older database opened read-only */
        return BS_ENOTFOUND;
    return ch_rec_list(&d->conn, d->t.db, q, cb, ctx);
}

static int ch_rec_delete_be(struct statedb *db, enum statedb_kind kind, const char *key,
                            uint64_t *deleted)
{
    struct ch_state *d = (struct ch_state *)db;
    if (d->rdonly)
        return -EROFS;
    return ch_rec_delete(&d->conn, d->t.db, &d->last_version, kind, key, deleted);
}

static const struct statedb_backend ch_state = {
    .open = ch_state_open,
    .open_cfg = ch_state_open_cfg,
    .open_rdonly = ch_state_open_rdonly,
    .close = ch_state_close,
    .schema_version = ch_state_version,
    .exporter_upsert = ch_exporter_upsert,
    .exporter_list = ch_exporter_list,
    .tel_begin = ch_tel_begin_be,
    .tel_source_put = ch_tel_source_be,
    .tel_victim_put = ch_tel_victim_be,
    .tel_interval_put = ch_tel_interval_be,
    .tel_commit = ch_tel_commit_be,
    .tel_end = ch_tel_end_be,
    .tel_source_list = ch_tel_source_list_be,
    .rec_put = ch_rec_put_be,
    .rec_list = ch_rec_list_be,
    .rec_delete = ch_rec_delete_be,
};

const struct store_backend store_backend_clickhouse = {
    .name = "clickhouse",
    .state = &ch_state,
    .match = ch_match,
    .open = ch_open,
    .append = ch_append,
    .flush = ch_flush,
    .close = ch_close,
    .scan = ch_scan,
    .info = ch_info,
    .prune = ch_prune,
    .sql = ch_sql,
    .sql_stats = ch_sql_stats,
    .check = ch_check,
};
