/* query.h - the query engine behind `botscope flows`: filter, aggregate, rank, print.
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
 * Keys (-A / -s / -D): srcip, dstip (with /N masks: "srcip/24" masks IPv4 to /24,
 * "srcip/24/64" also masks IPv6 to /64, "srcip6/64" only IPv6; srcip4/N = srcip/N), srcport,
 * dstport, proto, exporter, nexthop, in_if (alias inif), out_if (outif), src_as (srcas),
 * dst_as (dstas), tos, flags, sampling, vlan, version. Output names are the record names of
 * the collect NDJSON (src_addr, dst_port, ...).
 *
 * Caps: QUERY_MAX_KEYS keys per aggregation; spec->max_groups groups and spec->max_distinct
 * (group, value) pairs in total (BS_ELIMIT with a message past them).
 *
 * Ownership: query_run borrows the store and spec; everything it allocates is freed before it
 * returns. Output goes to the FILE given in the spec.
 */
#ifndef BS_QUERY_QUERY_H
#define BS_QUERY_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store/store.h"

#define QUERY_MAX_KEYS 8
#define QUERY_DEFAULT_MAX_GROUPS 50000000
#define QUERY_DEFAULT_MAX_DISTINCT 100000000

enum query_keyid {
    QK_SRCIP, QK_DSTIP, QK_SRCPORT, QK_DSTPORT, QK_PROTO, QK_EXPORTER, QK_NEXTHOP, QK_IN_IF,
    QK_OUT_IF, QK_SRC_AS, QK_DST_AS, QK_TOS, QK_FLAGS, QK_SAMPLING, QK_VLAN, QK_VERSION,
};

struct query_key {
    enum query_keyid id;
    uint8_t v4len, v6len; /* address masks (32 / 128 = unmasked) */
};

enum query_order { QO_FLOWS, QO_PACKETS, QO_BYTES, QO_DISTINCT };
enum query_format { QF_TABLE, QF_CSV, QF_NDJSON };

struct query_spec {
    const char *filter;          /* filter text (NULL or "" = any) */
    uint64_t t_lo, t_hi;         /* start_ms window, inclusive */
    struct query_key keys[QUERY_MAX_KEYS];
    size_t nkeys;                /* 0: plain record listing */
    bool has_distinct;
    struct query_key distinct;   /* counted per group when has_distinct */
    enum query_order order;
    const char *having;          /* post-aggregation filter (filter.h having mode) or NULL */
    size_t limit;                /* rows/records to print; 0 = all */
    enum query_format format;
    bool summary;                /* print the nfdump-like summary (table format) */
    bool count_only;             /* print only the summary */
    unsigned threads;
    size_t max_groups, max_distinct;
    FILE *out;
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

/* Record name of a key ("dst_port"); static string. */
const char *query_key_name(const struct query_key *k);

/* Initialises spec with defaults (all time, table, summary, 1 thread, caps). */
void query_spec_init(struct query_spec *q);

/* Runs q over s, printing to q->out. Returns 0, BS_EPARSE (filter/having, err says where),
 * BS_ELIMIT (a cap), or a store error. st may be NULL. */
int query_run(struct store *s, const struct query_spec *q, struct query_stats *st,
              struct query_error *err);

#endif
