/* store_ch.h - internals of the ClickHouse backend (store_clickhouse.c and store_ch_*.c).
 *
 * URL: clickhouse://HOST:PORT/DATABASE, the server's HTTP interface (PORT is its http_port).
 * User and password come from the [clickhouse] section of the configuration file only.
 *
 * Pieces:
 *   store_ch_http.c    one HTTP connection (libcurl easy handle): statements, gzip-compressed
 *                      inserts, streamed RowBinary answers; ClickHouse's error text kept
 *   store_ch_schema.c  the versioned schema and its migrations (ch_schema_migrate)
 *   store_ch_records.c the state half's records by kind (and helpers the state half shares)
 *   store_ch_tel.c     the state half's telescope tables: batched upserts, the sources reader
 *   store_ch_check.c   store check: schema, insert units in two parts, the spool's set-asides
 *   store_ch_write.c   the writer: per-day insert units, bounded queue, on-disk spool, writer
 *                      thread with retries and the exactly-once check (see there)
 *   store_clickhouse.c the registry entry: open/close, scan, info, prune, the state half
 *
 * Ownership: a struct ch_conn is owned by one thread at a time (a curl easy handle is not
 * shared); the writer thread has its own.
 */
#ifndef BS_STORE_STORE_CH_H
#define BS_STORE_STORE_CH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/flow.h"
#include "store/statedb.h"

struct config;

/* Cap on an answer read into memory (statements, counts, lists); row streams are not capped
 * here, their consumer handles them in blocks. */
#define CH_RESP_MAX (16u << 20)
/* Longest database name accepted in a URL (letters, digits, underscore only: it is put into
 * SQL text unquoted). */
#define CH_DB_MAX 64

struct ch_target {
    char host[256];
    unsigned port;
    char db[CH_DB_MAX + 1];
};

/* Parses "clickhouse://HOST:PORT/DB" (HOST may be [v6]). Returns 0 or BS_EUSAGE with errbuf. */
int ch_url_parse(const char *url, struct ch_target *t, char errbuf[256]);

struct ch_conn {
    void *curl; /* CURL * */
    char base[300];
    char user[128], password[256];
    long timeout_ms, connect_timeout_ms;
    char err[512]; /* last error: curl's or the server's first line */
};

/* Sets up c for target t with [clickhouse] user/password/timeout from cfg (NULL: defaults).
 * Returns 0 or BS_ENOMEM. */
int ch_conn_init(struct ch_conn *c, const struct ch_target *t, const struct config *cfg);
void ch_conn_release(struct ch_conn *c);

/* Runs one statement (sent as the request body). When resp is given, the answer is appended
 * to it (capped at CH_RESP_MAX). Returns 0, -ECONNREFUSED/-ETIMEDOUT (server unreachable or
 * too slow: worth retrying) or BS_EIO (the server refused: c->err holds its message). */
int ch_exec(struct ch_conn *c, const char *sql, struct buf *resp);
/* Like ch_exec for a query whose answer is a single unsigned number. */
int ch_exec_u64(struct ch_conn *c, const char *sql, uint64_t *out);
/* INSERT: sql ("INSERT INTO t FORMAT RowBinary") goes in the URL, body (gzip-compressed
 * RowBinary, Content-Encoding: gzip) in the request; query_id names the insert so that a
 * later retry can tell whether it still runs. Same returns as ch_exec. */
int ch_insert(struct ch_conn *c, const char *sql, const char *query_id, const void *body,
              size_t len);
/* Streams the answer of sql to cb in pieces as they arrive; cb returns 0 to go on or a
 * non-zero value that stops the transfer and is returned. */
int ch_stream(struct ch_conn *c, const char *sql, int (*cb)(void *ctx, const uint8_t *p, size_t n),
              void *ctx);
/* ch_stream for long statements (inlined address lists): the statement goes in the body
 * with max_query_size raised to its length. With query_id (may be NULL) the query is named
 * and logged in the server's query log whatever the user's profile says (log_queries=1), so
 * that what it read can be looked up afterwards (store_clickhouse.c's sql_stats). */
int ch_stream_big(struct ch_conn *c, const char *sql, const char *query_id,
                  int (*cb)(void *ctx, const uint8_t *p, size_t n), void *ctx);
/* True when GET /ping answers "Ok." within the connect timeout. */
bool ch_ping(struct ch_conn *c);

/* ---- schema (store_ch_schema.c) ------------------------------------------------------ */

/* The schema version this build creates. */
#define CH_SCHEMA_VERSION 4

/* Creates the database and brings the schema to version `target` (1..CH_SCHEMA_VERSION),
 * applying each missing migration in order, rendered for server_version (ch_schema_render);
 * a newer stored version is BS_EVERSION. When cluster is non-empty, also creates the
 * Distributed tables over that cluster (names from the server's remote_servers). Idempotent.
 * *version gets the version now stored. */
int ch_schema_migrate(struct ch_conn *c, const char *db, const char *cluster, int target,
                      uint32_t server_version, int *version, char errbuf[256]);
/* Reads the stored schema version (0: none). */
int ch_schema_version(struct ch_conn *c, const char *db, int *version);
/* The server's version as major*1000000 + minor*1000 + patch (18.16.1 -> 18016001). */
int ch_server_version(struct ch_conn *c, uint32_t *v);
/* "MAJOR.MINOR[.PATCH[.BUILD]]" in that form, or 0 when text is not a version. */
uint32_t ch_version_parse(const char *text);

/* Newer server features and the first version that has them (ClickHouse's changelog; see
 * docs/CLICKHOUSE.md, "Version checks"). The version is the server's (SELECT version()), or
 * [clickhouse] assume_version when set (for tests: the DDL of a newer server can be
 * generated and sent to an older one). */
#define CH_V_CODECS 19001006u /* 19.1.6: column CODEC(...) with Delta and ZSTD */

/* Statements of migration i (version i -> i + 1; NULL-terminated), NULL past the last. They
 * are templates: {db}, {cluster} and the feature placeholders of ch_schema_render. */
const char *const *ch_schema_statements(int i);
/* Appends tmpl to out with {db} and {cluster} replaced and each feature placeholder made
 * what a server of server_version takes (empty below the feature's version). Returns 0 or
 * BS_ENOMEM/BS_ELIMIT. */
int ch_schema_render(const char *tmpl, const char *db, const char *cluster, uint32_t server_version,
                     struct buf *out);

/* RowBinary layout of the flows table, in store_col order plus the unit id: bytes per row. */
#define CH_ROW_BYTES (4 * 8 + 4 * 16 + 6 * 4 + 4 * 2 + 7 * 1 + 8)
/* Appends r as one RowBinary row of the flows table to out (CH_ROW_BYTES bytes). */
void ch_row_encode(const struct flow_rec *r, uint64_t unit, uint8_t *out);

/* ---- check (store_ch_check.c) ------------------------------------------------------- */

struct store_check_stats;
/* store_check on database db of the server c talks to: schema version and objects, insert
 * units in more than one part (inserted twice), and spool_dir's units set aside (may be
 * empty: not checked). Damage goes to report (NULL: logged) and st; returns 0 or the
 * connection's error. */
int ch_check_db(struct ch_conn *c, const char *db, const char *cluster, const char *spool_dir,
                void (*report)(void *ctx, const char *path, const char *what), void *ctx,
                struct store_check_stats *st);

/* ---- records by kind (store_ch_records.c; statedb.h's statedb_rec_*) ------------------ */

/* Helpers the state half shares (store_ch_records.c). */
/* Appends s as a ClickHouse string literal (NULL: NULL). Returns 0 or BS_ELIMIT/BS_ENOMEM. */
int ch_sql_str(struct buf *o, const char *s);
/* Unescapes one TabSeparated field in place; NULL for "\N". */
char *ch_tsv_field(char *f);
/* Splits line (NUL-terminated, no newline) at tabs into at most max fields; returns how many. */
size_t ch_tsv_split(char *line, char **f, size_t max);
/* A row version for a ReplacingMergeTree: the wall clock in ns, made strictly greater than
 * *last (which it updates), so later writes through one handle replace earlier ones. */
uint64_t ch_next_version(uint64_t *last);

struct statedb_rec;
struct statedb_rec_query;
/* *last_version: the handle's last row version (updated_ns), kept strictly increasing. */
int ch_rec_put(struct ch_conn *c, const char *db, uint64_t *last_version,
               const struct statedb_rec *recs, size_t n);
int ch_rec_list(struct ch_conn *c, const char *db, const struct statedb_rec_query *q,
                int (*cb)(void *ctx, const struct statedb_rec *r), void *ctx);
int ch_rec_delete(struct ch_conn *c, const char *db, uint64_t *last_version, enum statedb_kind kind,
                  const char *key, uint64_t *deleted);

/* ---- the telescope's tables (store_ch_tel.c; statedb.h's statedb_tel_*) ------------- */

/* A batch is sent when a table's pending rows reach this many bytes of SQL text, and at every
 * commit: memory stays bounded whatever a commit interval brings. */
#define CH_TEL_BATCH_BYTES (4u << 20)

enum { CH_TEL_SOURCES, CH_TEL_VICTIMS, CH_TEL_INTERVALS, CH_TEL_TABLES };

/* One handle's telescope run: the connection and row-version clock are the state handle's. */
struct ch_tel {
    struct ch_conn *conn;
    const char *db;
    uint64_t *last_version;
    int64_t run;                    /* 0: no run open */
    uint64_t started_ms;            /* of the open run */
    struct buf run_text;            /* the run's mode..inputs as SQL literals, for its end row */
    struct buf rows[CH_TEL_TABLES]; /* VALUES text of the rows put since the last send */
};

void ch_tel_init(struct ch_tel *t, struct ch_conn *conn, const char *db, uint64_t *last_version);
/* Frees the batches (a run still open is not ended: call ch_tel_end first). */
void ch_tel_release(struct ch_tel *t);
int ch_tel_begin(struct ch_tel *t, const struct statedb_tel_run *r, int64_t *run_id);
int ch_tel_source_put(struct ch_tel *t, const struct statedb_tel_source *s);
int ch_tel_victim_put(struct ch_tel *t, const struct statedb_tel_victim *v);
int ch_tel_interval_put(struct ch_tel *t, const struct statedb_tel_interval *iv);
int ch_tel_commit(struct ch_tel *t);
int ch_tel_end(struct ch_tel *t, const struct statedb_tel_run_totals *tot);
int ch_tel_source_list(struct ch_conn *c, const char *db, const struct statedb_tel_source_query *q,
                       int (*cb)(void *ctx, const struct statedb_tel_source_sum *s), void *ctx);

/* ---- writer (store_ch_write.c) ------------------------------------------------------- */

struct ch_writer;
struct ch_writer_cfg {
    struct ch_target target;
    const struct config *cfg;
    char spool_dir[1024];
    size_t unit_records;    /* records per insert unit (<= 1000000) */
    size_t queue_units;     /* units waiting in memory before new ones go to the spool */
    uint64_t spool_max;     /* bytes */
    uint64_t close_wait_ms; /* how long close waits for the spool to drain */
};
int ch_writer_open(const struct ch_writer_cfg *wc, struct ch_writer **out, char errbuf[256]);
int ch_writer_append(struct ch_writer *w, const struct flow_rec *recs, size_t n);
int ch_writer_flush(struct ch_writer *w);
/* Flushes, waits up to close_wait_ms for the spool to drain, stops the thread, frees w.
 * Returns 0, or BS_EIO when batches were left in the spool (they are sent by the next
 * writer that opens it). */
int ch_writer_close(struct ch_writer *w);

#endif
