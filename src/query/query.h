/* query.h - the query engine behind `botscope flows`, `detect` and the API to come: filter,
 * aggregate, rank; printing is a separate step (query_print.c).
 *
 * A query scans the store once (store_scan, decoding only the columns it needs, several
 * threads), applies the time window and the compiled filter to each block as column masks, and
 * either prints the matching records (plain listing) or aggregates them by a set of keys into
 * an open-addressing hash table per thread (merged at the end), optionally counting the
 * distinct values of one more key per group, then filters groups (--having), sorts them by a
 * measure and keeps the top N (a bounded heap: no sort of every group).
 *
 * Aggregation paths, all giving the same result (tests/unit/query checks each against a
 * brute-force reference): keys of at most 2 bytes without a distinct count index an array
 * directly; keys that fit in 64 bits with addresses in their IPv4 form (a masked IPv4 address
 * counts 32 bits) are packed column by column into a uint64 per row and counted in an inline
 * table, rows with an IPv6 key address falling back to the generic 16-byte-per-address table;
 * (group, distinct value) pairs likewise when both fit in 64 bits together.
 *
 * Keys (-A / -s / -D): the fields of core/flow_field.h marked FLOW_FU_KEY, by their canonical
 * names or aliases: srcip, dstip (with /N masks: "srcip/24" masks IPv4 to /24,
 * "srcip/24/64" also masks IPv6 to /64, "srcip6/64" only IPv6; srcip4/N = srcip/N), srcport,
 * dstport, proto, exporter, nexthop, in_if (alias inif), out_if (outif), src_as (srcas),
 * dst_as (dstas), tos, flags, sampling, vlan, version. Output names are the record names of
 * the collect NDJSON (src_addr, dst_port, next_hop, ...).
 *
 * Caps: QUERY_MAX_KEYS keys per aggregation; spec->max_groups groups and spec->max_distinct
 * (group, value) pairs in total (BS_ELIMIT with a message past them).
 *
 * Two ways in: query_exec returns the result as data (aggregated rows in a query_result, plain
 * records through the spec's on_record callback) for callers that compute on it; query_run
 * runs query_exec and prints the result in the spec's format to spec->out (what `flows`
 * does). A backend that answers the query itself (ClickHouse, SQL pushdown) fills the same
 * query_result through query_result_init/push/finish, so one printer prints both.
 *
 * Ownership: query_exec and query_run borrow the store and spec. query_exec allocates
 * *result (free it with query_result_free); everything else is freed before they return.
 */
#ifndef BS_QUERY_QUERY_H
#define BS_QUERY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

#define QUERY_MAX_KEYS             8
#define QUERY_DEFAULT_MAX_GROUPS   50000000
#define QUERY_DEFAULT_MAX_DISTINCT 100000000

enum query_keyid {
    QK_SRCIP,
    QK_DSTIP,
    QK_SRCPORT,
    QK_DSTPORT,
    QK_PROTO,
    QK_EXPORTER,
    QK_NEXTHOP,
    QK_IN_IF,
    QK_OUT_IF,
    QK_SRC_AS,
    QK_DST_AS,
    QK_TOS,
    QK_FLAGS,
    QK_SAMPLING,
    QK_VLAN,
    QK_VERSION,
};

struct query_key {
    enum query_keyid id;
    uint8_t v4len, v6len; /* address masks (32 / 128 = unmasked) */
};

enum query_order { QO_FLOWS, QO_PACKETS, QO_BYTES, QO_DISTINCT };
enum query_format { QF_TABLE, QF_CSV, QF_NDJSON };

struct query_spec {
    const char *filter;  /* filter text (NULL or "" = any) */
    uint64_t t_lo, t_hi; /* start_ms window, inclusive */
    struct query_key keys[QUERY_MAX_KEYS];
    size_t nkeys; /* 0: plain record listing */
    bool has_distinct;
    struct query_key distinct; /* counted per group when has_distinct */
    enum query_order order;
    const char *having; /* post-aggregation filter (filter.h having mode) or NULL */
    size_t limit;       /* rows/records to print; 0 = all */
    enum query_format format;
    bool summary;    /* print the nfdump-like summary (table format) */
    bool count_only; /* print only the summary */
    unsigned threads;
    size_t max_groups, max_distinct;
    FILE *out; /* query_run's output */
    /* Plain listing (nkeys == 0, !count_only) through query_exec: called with each matching
     * record in scan order (one thread); a non-zero return stops the scan, and is not an
     * error. NULL: records are only counted. query_run sets its own printer. */
    int (*on_record)(void *ctx, const struct flow_rec *r);
    void *record_ctx;
};

struct query_stats {
    /* t_first/t_last: start_ms range of the matches, computed only when the query reads
     * start_ms (a time window, the summary, a listing); 0 otherwise. */
    uint64_t matched, packets, bytes, t_first, t_last, groups;
    struct store_scan_stats scan;
    uint64_t wall_ns;
};

struct query_error {
    char msg[512];
    unsigned column; /* filter column for filter errors (1-based), else 0 */
    bool in_filter, in_having;
};

/* Parses "srcip/24,dstport" into keys. Returns 0 or BS_EPARSE with err->msg. */
int query_parse_keys(const char *text, struct query_key *keys, size_t max, size_t *n,
                     struct query_error *err);
/* Parses "-s" argument "KEYS[/ORDER]" where ORDER is flows, packets, bytes or
 * distinct:KEY (which also sets the distinct key). */
int query_parse_stat(const char *text, struct query_spec *q, struct query_error *err);
/* Parses one key name (for -D). */
int query_parse_key(const char *text, struct query_key *k, struct query_error *err);

/* Record name of a key ("dst_port", its field's canonical name); static string. */
const char *query_key_name(const struct query_key *k);

struct flow_field;
/* The flow field (core/flow_field.h) a key reads. */
const struct flow_field *query_key_field(enum query_keyid id);
/* The key reading field f: 0, or BS_ENOTFOUND when f is not an aggregation key. */
int query_key_from_field(const struct flow_field *f, enum query_keyid *id);

/* Initialises spec with defaults (all time, table, summary, 1 thread, caps). */
void query_spec_init(struct query_spec *q);

/* ---- keys as data ----
 * A group key is the concatenation of its keys' bytes in spec order: an address key is the
 * 16-byte ipaddr (masked as the key says), a number key its query_key_size() bytes big-endian.
 * Byte order of two group keys is the row tie-break order. */
bool query_key_is_addr(enum query_keyid id);
size_t query_key_size(enum query_keyid id);
/* STORE_COLBIT mask of the column(s) key id reads. */
uint64_t query_key_cols(enum query_keyid id);

/* ---- results ---- */

struct query_row {
    const uint8_t *key; /* the group key (query_result.klen bytes) */
    uint64_t flows, packets, bytes;
    uint64_t distinct; /* distinct values of the distinct key in the group (has_distinct) */
};

/* An aggregation's answer: rows in result order (the ordering measure descending, then flows
 * descending, then the key bytes ascending), at most spec->limit of them (all when 0), after
 * --having; and the run's statistics. */
struct query_result {
    struct query_key keys[QUERY_MAX_KEYS];
    size_t nkeys, klen;
    size_t koff[QUERY_MAX_KEYS]; /* byte offset of key k in a group key */
    bool has_distinct;
    struct query_key distinct;
    enum query_order order;
    size_t limit;
    struct query_row *rows;
    size_t nrows, cap;
    struct query_stats stats;
    uint8_t *keymem; /* owned: the rows' key bytes, klen each, row i's at i * klen */
    bool sorted;     /* rows were pushed in result order (the engine's own top-N) */
};

/* Initialises r (allocated by the caller, or by query_exec) for q's keys, order and limit. */
void query_result_init(struct query_result *r, const struct query_spec *q);
/* Adds a row (key copied: r->klen bytes). Returns 0 or BS_ENOMEM. Row pointers are stable
 * only after query_result_finish. */
int query_result_push(struct query_result *r, const uint8_t *key, uint64_t flows, uint64_t packets,
                      uint64_t bytes, uint64_t distinct);
/* Puts the rows in result order and keeps the first `limit`. */
void query_result_finish(struct query_result *r);
/* Frees what r owns (and r itself when it came from query_exec: query_result_free). */
void query_result_release(struct query_result *r);
void query_result_free(struct query_result *r);

/* Key k of row as an address (query_key_is_addr) or a number. */
void query_row_addr(const struct query_result *r, const struct query_row *row, size_t k,
                    struct ipaddr *out);
uint64_t query_row_num(const struct query_result *r, const struct query_row *row, size_t k);

/* Runs q over s. An aggregation (q->nkeys > 0, !count_only) gives *result (caller frees with
 * query_result_free); a listing calls q->on_record and gives a result without rows; both give
 * the statistics in (*result)->stats. Returns 0, BS_EPARSE (filter/having, err says where),
 * BS_ELIMIT (a cap), or a store error; *result is NULL on error. */
int query_exec(struct store *s, const struct query_spec *q, struct query_result **result,
               struct query_error *err);

/* Runs q over s and prints the answer to q->out in q->format (query_print). Returns as
 * query_exec. st may be NULL. */
int query_run(struct store *s, const struct query_spec *q, struct query_stats *st,
              struct query_error *err);

/* ---- printing (query_print.c) ---- */

/* Writes key k of row as text: addresses (prefix form when masked), numbers; with table set,
 * protocol names and flag letters as the table shows them. *is_num says whether the text is
 * a JSON number. */
void query_key_text(const struct query_result *r, const struct query_row *row, size_t k, char *out,
                    size_t len, bool *is_num, bool table);
/* Prints r's rows to out in format (with the CSV header or table heading). */
void query_print_rows(const struct query_result *r, enum query_format format, FILE *out);
/* Listing output: the heading of format (CSV/table) and one record. */
void query_print_record_header(enum query_format format, FILE *out);
struct buf;
void query_print_record(const struct flow_rec *rec, enum query_format format, struct buf *line,
                        FILE *out);
/* The totals of a run (nfdump-like summary in a table, one object in NDJSON, CSV). */
void query_print_summary(const struct query_stats *st, enum query_format format, FILE *out);

#endif
