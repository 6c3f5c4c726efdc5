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
 * Result rows (struct query_sql_result) use query.c's byte-key layout: the keys back to back,
 * addresses 16 bytes, integers big-endian in their key width, so the same printer can print
 * both stores' rows.
 *
 * Ownership: the caller owns the buffers and the result (query_sql_result_release).
 */
#ifndef BS_QUERY_QUERY_SQL_H
#define BS_QUERY_QUERY_SQL_H

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

struct query_sql_result {
    size_t n;                                        /* rows */
    size_t klen;                                     /* bytes of one row's key */
    uint8_t *keys;                                   /* n * klen */
    uint64_t *counts;                                /* n * 4: flows, packets, bytes, distinct */
    uint64_t flows, packets, bytes, t_first, t_last; /* totals (query_sql_run_totals) */
};
void query_sql_result_release(struct query_sql_result *r);

/* Runs the aggregation of q on s (a store whose backend speaks SQL, else BS_EUNSUPPORTED)
 * into r; at most q->max_groups rows (BS_ELIMIT past them). */
int query_sql_run(struct store *s, const struct query_spec *q, struct query_sql_result *r,
                  struct query_error *err);
/* Runs the totals of q on s into r's totals. */
int query_sql_run_totals(struct store *s, const struct query_spec *q, struct query_sql_result *r,
                         struct query_error *err);

#endif
