/* filter.h - the flow filter language (nfdump/tcpdump style), compiled once, evaluated per
 * block of columns.
 *
 * Grammar (keywords are case-insensitive; `and` binds tighter than `or`):
 *   expr   := term { ("or" | "||") term }
 *   term   := factor { ("and" | "&&") factor }
 *   factor := ("not" | "!") factor | "(" expr ")" | prim
 *   prim   := "any"
 *           | "proto" (tcp|udp|icmp|icmp6|gre|esp|ah|sctp|igmp|N) | tcp | udp | icmp | icmp6
 *           | "ipv4" | "inet" | "ipv6" | "inet6"
 *           | [dir] ("host" | "ip") ADDR
 *           | [dir] ("host" | "ip") "in" (@FILE | "[" ADDR|PREFIX ... "]")
 *           | [dir] "net" PREFIX
 *           | [dir] "port" [CMP] N   | [dir] "port" "in" "[" N ... "]"
 *           | [dir] "as" [CMP] N
 *           | ("in" | "out") "if" N  | "if" N
 *           | "exporter" (ADDR | PREFIX)
 *           | "flags" LETTERS               (all given TCP flags set: F S R P A U E C, X = all)
 *           | ("packets" | "bytes" | "duration" | "pps" | "bps" | "bpp" | "tos" | "sampling"
 *              | "vlan") [CMP] N
 *   dir    := "src" | "dst"          (without dir: either source or destination)
 *   CMP    := "=" | "==" | "eq" | "!=" | "ne" | "<" | "lt" | "<=" | "le" | ">" | "gt" | ">=" | "ge"
 *   N      := decimal, optional k/m/g suffix (x1000, x1000000, x1000000000); duration in ms
 * pps, bps and bpp are packets per second, bits per second and bytes per packet over the flow's
 * duration (0 when the duration is 0). @FILE holds one address or prefix per line (# comments);
 * at most FILTER_SET_MAX entries.
 *
 * The "having" mode (filter_compile_having) accepts the same operators over the aggregation
 * measures `flows`, `packets`, `bytes`, `distinct` only, for post-aggregation filtering.
 *
 * Ownership: filter_compile allocates the filter (and the address sets it loads); filter_free
 * releases it. A compiled filter is read-only: threads may evaluate it concurrently, each
 * with its own struct filter_scratch.
 */
#ifndef BS_QUERY_FILTER_H
#define BS_QUERY_FILTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/flow.h"
#include "store/store.h"

/* Cap on entries of one address list file. */
#define FILTER_SET_MAX 10000000
/* Cap on nodes of one compiled filter (bounds hostile filter text). */
#define FILTER_MAX_NODES 4096
/* Cap on nesting depth of parentheses and `not`. */
#define FILTER_MAX_DEPTH 64

struct filter;

struct filter_error {
    char msg[256];   /* "unexpected 'porrt'" */
    unsigned column; /* 1-based column in the filter text; 0 when not about a position */
};

/* Compiles text. Returns 0 and *out, or BS_EPARSE / BS_ELIMIT / -errno (address file) with err
 * filled. An empty or all-blank text compiles to "any". */
int filter_compile(const char *text, struct filter **out, struct filter_error *err);
int filter_compile_having(const char *text, struct filter **out, struct filter_error *err);
void filter_free(struct filter *f);

/* STORE_COLBIT mask of the columns the filter reads. */
uint64_t filter_columns(const struct filter *f);
/* True when the filter accepts everything (no per-record work needed). */
bool filter_is_any(const struct filter *f);

/* False only when no record of a block with this metadata can match (min/max and skip
 * index); true means "maybe". */
bool filter_block_may_match(const struct filter *f, const struct store_block_meta *m);

struct filter_scratch;
struct filter_scratch *filter_scratch_new(void);
void filter_scratch_free(struct filter_scratch *s);

/* Evaluates f over block b: sel[i] is cleared for every record i that does not match (records
 * already cleared stay cleared). The block must have the columns of filter_columns(f).
 * Returns the number of records still selected, or a negative error. */
long filter_eval_block(const struct filter *f, const struct store_block *b, uint8_t *sel,
                       struct filter_scratch *s);

/* Evaluates f on one record (slow path, for tests and single records). */
bool filter_match_rec(const struct filter *f, const struct flow_rec *r);

/* Having mode: evaluates f on one aggregated row. */
bool filter_match_row(const struct filter *f, uint64_t flows, uint64_t packets, uint64_t bytes,
                      uint64_t distinct);

/* ---- the compiled tree, read-only ----
 * For translating a compiled filter into another language (query_sql.c compiles it to SQL
 * for stores that evaluate filters themselves). Node i of the tree is described by
 * filter_node_get; children are node indexes. Semantics are those of filter_eval_block:
 *   FILTER_N_RANGE   field value in [lo, hi] (empty when lo > hi), result xor neg; the
 *                    derived fields: duration = end - start (0 when end <= start), pps =
 *                    packets * 1000 / duration, bps = bytes * 8000 / duration (0 for a zero
 *                    duration), bpp = bytes / packets (0 for no packets), all in unsigned
 *                    64-bit arithmetic
 *   FILTER_N_INSET   field value among vals[0..nvals)
 *   FILTER_N_FLAGS   (tcp_flags & flags) == flags
 *   FILTER_N_NET     address field inside pfx (on the 128-bit form)
 *   FILTER_N_ADDRSET address field equal to a listed address or inside a listed prefix
 *                    (filter_addrset_each lists them)
 *   FILTER_N_FAMILY  the source address is IPv4-mapped (lo = 1) or not (lo = 0) */
enum filter_node_kind {
    FILTER_N_ANY,
    FILTER_N_AND,
    FILTER_N_OR,
    FILTER_N_NOT,
    FILTER_N_RANGE,
    FILTER_N_INSET,
    FILTER_N_FLAGS,
    FILTER_N_NET,
    FILTER_N_ADDRSET,
    FILTER_N_FAMILY,
};
enum filter_field {
    FILTER_F_SRC_PORT,
    FILTER_F_DST_PORT,
    FILTER_F_PROTO,
    FILTER_F_PACKETS,
    FILTER_F_BYTES,
    FILTER_F_SRC_AS,
    FILTER_F_DST_AS,
    FILTER_F_IN_IF,
    FILTER_F_OUT_IF,
    FILTER_F_SAMPLING,
    FILTER_F_TOS,
    FILTER_F_VLAN,
    FILTER_F_DURATION,
    FILTER_F_PPS,
    FILTER_F_BPS,
    FILTER_F_BPP,
    FILTER_F_SRC,
    FILTER_F_DST,
    FILTER_F_EXPORTER,
    /* having mode: the measures of an aggregated row */
    FILTER_F_H_FLOWS,
    FILTER_F_H_PACKETS,
    FILTER_F_H_BYTES,
    FILTER_F_H_DISTINCT,
};
struct filter_node_view {
    enum filter_node_kind kind;
    enum filter_field field;
    bool neg;
    int a, b;             /* AND/OR: both children; NOT: child a */
    uint64_t lo, hi;      /* RANGE; FAMILY (lo) */
    uint8_t flags;        /* FLAGS */
    struct ipprefix pfx;  /* NET */
    const uint64_t *vals; /* INSET */
    size_t nvals;
};
/* Index of the root node. */
int filter_root(const struct filter *f);
/* Describes node i (0 <= i < node count; indexes come from filter_root and children). */
void filter_node_get(const struct filter *f, int i, struct filter_node_view *v);
/* FILTER_N_ADDRSET node i: calls cb with each member, addresses as /128 prefixes; a non-zero
 * return stops and is returned. */
int filter_addrset_each(const struct filter *f, int i,
                        int (*cb)(void *ctx, const struct ipprefix *p), void *ctx);

#endif
