/* query_sql.h - `botscope flows` pushed down to a store that evaluates SQL (ClickHouse): the
 * filter language, the time window, aggregation keys with /N masks, distinct counts, --having,
 * top-N order and limit compiled to one SELECT, so only result rows come back.
 *
 * The answer is exactly what query_run computes on the same flows (tested both ways over the
 * whole filter language and every key in tests/integration/clickhouse/ch_pushdown.sh):
 *   - packets and bytes are summed as exported (not scaled by sampling), like query.c;
 *   - addresses are FixedString(16) in botscope's IPv4-mapped form; a /N mask applies the
 *     IPv4 length to IPv4-mapped addresses and the IPv6 length to the others (query.h);
 *   - rows are ordered by the measure (descending), then flows (descending), then the key
 *     bytes (ascending), which is query.c's row order, before the limit.
 *
 * Ownership: the caller owns the buffers; query_sql_exec's result is freed with
 * query_result_free.
 */
#ifndef BS_QUERY_QUERY_SQL_H
#define BS_QUERY_QUERY_SQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "query/filter.h"
#include "query/query.h"

/* Cap on the SQL text of one query (address lists are inlined). */
#define QUERY_SQL_MAX (64u << 20)

/* Appends f as a boolean SQL expression over the flows table's columns (a having filter:
 * over the aliases m_flows, m_packets, m_bytes, m_distinct). Returns 0, BS_ELIMIT (past
 * QUERY_SQL_MAX) or BS_ENOMEM. */
int query_sql_filter(const struct filter *f, struct buf *out);

/* Appends the SELECT of an aggregation (q->nkeys > 0) over `table` in RowBinary: per key an
 * integer column, or two UInt64 (the address's big-endian halves, masked) per address key; then
 * m_flows, m_packets, m_bytes and, with a distinct key, m_distinct (UInt64 each). Compiles
 * q->filter and q->having itself (errors as query_run reports them). */
int query_sql_aggregate(const struct query_spec *q, const char *table, struct buf *sql,
                        struct query_error *err);
/* Appends the SELECT of the totals of q (no keys): count, packets, bytes, first and last
 * start_ms of the matches (UInt64 each, RowBinary). */
int query_sql_totals(const struct query_spec *q, const char *table, struct buf *sql,
                     struct query_error *err);

/* Appends the SELECT of a plain listing: every column of the flows table in store_col order
 * (RowBinary), matches ordered by start_ms, at most q->limit (0: all). */
int query_sql_listing(const struct query_spec *q, const char *table, struct buf *sql,
                      struct query_error *err);

/* True when s evaluates SQL itself (store_sql): query_exec then hands the query to
 * query_sql_exec instead of scanning. */
bool query_sql_wanted(struct store *s);
/* query_exec's contract (query.h) answered by the store's SQL: an aggregation's rows go into
 * the same struct query_result through query_result_init/push/finish (so query_print prints
 * them as it prints the embedded store's), a listing's records go to q->on_record, and the
 * totals (one more SELECT, only when the count or the table summary needs them) into
 * result->stats. stats.scan.records_scanned and bytes_read are what the server read for the
 * query's SELECTs (store_sql_stats, summed) when the output prints them (NDJSON totals, the
 * table's summary: asking costs the server a log flush); the other scan counters stay zero.
 * When not asked or the store cannot tell, they are 0 (a listing: the records that came
 * back). */
int query_sql_exec(struct store *s, const struct query_spec *q, struct query_result **result,
                   struct query_error *err);

#endif
