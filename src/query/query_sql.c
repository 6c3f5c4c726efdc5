/* query_sql.c - filters and aggregations of `botscope flows` as ClickHouse SQL (query_sql.h).
 *
 * Every construct keeps query.c's and filter.c's arithmetic: unsigned 64-bit values that wrap
 * the same way, derived rates through intDivOrZero (ClickHouse evaluates both branches of
 * if(), so a plain division by a zero duration would throw), address prefixes as ranges of
 * the 16-byte column (bytewise order = address order, and a range on `src` or `dst` lets the
 * primary key prune), masks on the two big-endian 64-bit halves of an address.
 */
#include "query/query_sql.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/err.h"
#include "core/flow_field.h"
#include "store/store.h"

static const char v4map_hex[] = "00000000000000000000FFFF";

/* RowBinary bytes of one listed record (the flows table's columns without `unit`). */
#define CH_LISTING_ROW (4 * 8 + 4 * 16 + 6 * 4 + 4 * 2 + 7)

static const char *field_sql(enum filter_field f)
{
    switch (f) {
    case FILTER_F_SRC_PORT:
        return "src_port";
    case FILTER_F_DST_PORT:
        return "dst_port";
    case FILTER_F_PROTO:
        return "proto";
    case FILTER_F_PACKETS:
        return "packets";
    case FILTER_F_BYTES:
        return "bytes";
    case FILTER_F_SRC_AS:
        return "src_as";
    case FILTER_F_DST_AS:
        return "dst_as";
    case FILTER_F_IN_IF:
        return "in_if";
    case FILTER_F_OUT_IF:
        return "out_if";
    case FILTER_F_SAMPLING:
        return "sampling";
    case FILTER_F_TOS:
        return "tos";
    case FILTER_F_VLAN:
        return "vlan";
    case FILTER_F_DURATION:
        return "if(end_ms > start_ms, end_ms - start_ms, 0)";
    case FILTER_F_PPS:
        return "intDivOrZero(packets * 1000, if(end_ms > start_ms, end_ms - start_ms, 0))";
    case FILTER_F_BPS:
        return "intDivOrZero(bytes * 8000, if(end_ms > start_ms, end_ms - start_ms, 0))";
    case FILTER_F_BPP:
        return "intDivOrZero(bytes, packets)";
    case FILTER_F_SRC:
        return "src";
    case FILTER_F_DST:
        return "dst";
    case FILTER_F_EXPORTER:
        return "exporter";
    case FILTER_F_H_FLOWS:
        return "m_flows";
    case FILTER_F_H_PACKETS:
        return "m_packets";
    case FILTER_F_H_BYTES:
        return "m_bytes";
    case FILTER_F_H_DISTINCT:
        return "m_distinct";
    }
    return "0";
}

static int put_addr(struct buf *o, const struct ipaddr *a)
{
    int rc = buf_puts(o, "toFixedString(unhex('");
    for (int i = 0; i < 16 && !rc; i++)
        rc = buf_printf(o, "%02X", a->b[i]);
    return rc ? rc : buf_puts(o, "'), 16)");
}

/* col inside prefix p: the range [first, last] of the 16-byte column. */
static int put_prefix(struct buf *o, const char *col, const struct ipprefix *p)
{
    struct ipaddr lo = p->addr, hi = p->addr;
    ipaddr_mask(&lo, p->len);
    for (unsigned bit = p->len; bit < 128; bit++)
        hi.b[bit / 8] |= (uint8_t)(0x80u >> (bit % 8));
    if (p->len == 128) {
        int rc = buf_printf(o, "%s = ", col);
        return rc ? rc : put_addr(o, &lo);
    }
    int rc = buf_printf(o, "(%s >= ", col);
    if (!rc)
        rc = put_addr(o, &lo);
    if (!rc)
        rc = buf_printf(o, " AND %s <= ", col);
    if (!rc)
        rc = put_addr(o, &hi);
    return rc ? rc : buf_putc(o, ')');
}

struct set_ctx {
    struct buf *o;
    const char *col;
    bool first;
};

static int set_member(void *ctx, const struct ipprefix *p)
{
    struct set_ctx *x = ctx;
    int rc = x->first ? 0 : buf_puts(x->o, " OR ");
    x->first = false;
    return rc ? rc : put_prefix(x->o, x->col, p);
}

static int node_sql(const struct filter *f, int i, struct buf *o, bool has_distinct)
{
    struct filter_node_view v;
    filter_node_get(f, i, &v);
    /* Without a distinct key a group's distinct count is 0 (as query.c's having sees it). */
    const char *col =
        v.field == FILTER_F_H_DISTINCT && !has_distinct ? "toUInt64(0)" : field_sql(v.field);
    int rc = 0;
    switch (v.kind) {
    case FILTER_N_ANY:
        return buf_puts(o, "1");
    case FILTER_N_AND:
    case FILTER_N_OR:
        if ((rc = buf_putc(o, '(')) || (rc = node_sql(f, v.a, o, has_distinct)) ||
            (rc = buf_puts(o, v.kind == FILTER_N_AND ? " AND " : " OR ")) ||
            (rc = node_sql(f, v.b, o, has_distinct)))
            return rc;
        return buf_putc(o, ')');
    case FILTER_N_NOT:
        if ((rc = buf_puts(o, "NOT (")) || (rc = node_sql(f, v.a, o, has_distinct)))
            return rc;
        return buf_putc(o, ')');
    case FILTER_N_RANGE:
        if (v.lo > v.hi)
            return buf_puts(o, v.neg ? "1" : "0");
        if (v.lo == v.hi)
            return buf_printf(o, "(%s %s %" PRIu64 ")", col, v.neg ? "!=" : "=", v.lo);
        return buf_printf(o, "(%s(%s BETWEEN %" PRIu64 " AND %" PRIu64 "))", v.neg ? "NOT " : "",
                          col, v.lo, v.hi);
    case FILTER_N_INSET:
        if (!v.nvals)
            return buf_puts(o, "0");
        rc = buf_printf(o, "(%s IN (", col);
        for (size_t k = 0; k < v.nvals && !rc; k++)
            rc = buf_printf(o, "%s%" PRIu64, k ? ", " : "", v.vals[k]);
        return rc ? rc : buf_puts(o, "))");
    case FILTER_N_FLAGS:
        return buf_printf(o, "(bitAnd(tcp_flags, %u) = %u)", v.flags, v.flags);
    case FILTER_N_NET:
        return put_prefix(o, col, &v.pfx);
    case FILTER_N_ADDRSET: {
        struct set_ctx x = {o, col, true};
        if ((rc = buf_putc(o, '(')) || (rc = filter_addrset_each(f, i, set_member, &x)))
            return rc;
        return buf_puts(o, x.first ? "0)" : ")");
    }
    case FILTER_N_FAMILY:
        return buf_printf(o, "(substring(src, 1, 12) %s unhex('%s'))",
                          v.lo ? "=" : "!=", v4map_hex);
    }
    return BS_EMALFORMED;
}

int query_sql_filter(const struct filter *f, struct buf *out)
{
    return node_sql(f, filter_root(f), out, true);
}

/* ---- keys ------------------------------------------------------------------------------ */

/* Kinds, widths and column names of the keys come from the flow field table
 * (core/flow_field.h: col_name is the flows table's column). */
static bool key_addr(enum query_keyid id)
{
    return query_key_is_addr(id);
}

static unsigned key_width(enum query_keyid id)
{
    return (unsigned)query_key_size(id);
}

static const char *key_col(enum query_keyid id)
{
    return query_key_field(id)->col_name;
}

/* Mask of the first len bits of a 64-bit half starting at bit `from` of the address. */
static uint64_t half_mask(unsigned len, unsigned from)
{
    if (len <= from)
        return 0;
    unsigned l = len - from;
    return l >= 64 ? UINT64_MAX : ~(UINT64_MAX >> l);
}

/* Appends the SQL of half h (0: bytes 0-7, 1: bytes 8-15) of address key k, masked. */
static int put_addr_half(struct buf *o, const struct query_key *k, int h)
{
    const char *col = key_col(k->id);
    unsigned l4 = 96u + k->v4len, l6 = k->v6len;
    uint64_t m4 = half_mask(l4, h ? 64 : 0), m6 = half_mask(l6, h ? 64 : 0);
    char v[160];
    snprintf(v, sizeof v, "reinterpretAsUInt64(reverse(substring(%s, %d, 8)))", col, h ? 9 : 1);
    if (m4 == UINT64_MAX && m6 == UINT64_MAX)
        return buf_puts(o, v);
    return buf_printf(o,
                      "bitAnd(%s, if(substring(%s, 1, 12) = unhex('%s'), toUInt64(%" PRIu64
                      "), toUInt64(%" PRIu64 ")))",
                      v, col, v4map_hex, m4, m6);
}

static int put_key(struct buf *o, const struct query_key *k, const char *alias_pfx, size_t n)
{
    if (!key_addr(k->id))
        return buf_printf(o, "%s AS %s%zu", key_col(k->id), alias_pfx, n);
    int rc = put_addr_half(o, k, 0);
    if (!rc)
        rc = buf_printf(o, " AS %s%zu_h, ", alias_pfx, n);
    if (!rc)
        rc = put_addr_half(o, k, 1);
    return rc ? rc : buf_printf(o, " AS %s%zu_l", alias_pfx, n);
}

static int compile_filters(const struct query_spec *q, struct filter **f, struct filter **h,
                           struct query_error *err)
{
    struct filter_error fe;
    memset(&fe, 0, sizeof fe);
    *f = *h = NULL;
    int rc = filter_compile(q->filter ? q->filter : "", f, &fe);
    if (rc) {
        snprintf(err->msg, sizeof err->msg, "%s", fe.msg);
        err->column = fe.column;
        err->in_filter = true;
        return rc;
    }
    if (q->having && *q->having && (rc = filter_compile_having(q->having, h, &fe))) {
        snprintf(err->msg, sizeof err->msg, "%s", fe.msg);
        err->column = fe.column;
        err->in_having = true;
        filter_free(*f);
        *f = NULL;
    }
    return rc;
}

static int put_where(struct buf *sql, const struct query_spec *q, const struct filter *f)
{
    int rc = buf_printf(sql, " WHERE start_ms >= %" PRIu64 " AND start_ms <= %" PRIu64, q->t_lo,
                        q->t_hi);
    if (!rc && !filter_is_any(f) && !(rc = buf_puts(sql, " AND ")))
        rc = query_sql_filter(f, sql);
    return rc;
}

int query_sql_aggregate(const struct query_spec *q, const char *table, struct buf *sql,
                        struct query_error *err)
{
    struct filter *f, *h;
    int rc = compile_filters(q, &f, &h, err);
    if (rc)
        return rc;
    rc = buf_puts(sql, "SELECT ");
    for (size_t k = 0; k < q->nkeys && !rc; k++)
        if (!(rc = put_key(sql, &q->keys[k], "k", k)))
            rc = buf_puts(sql, ", ");
    if (!rc)
        rc = buf_puts(sql, "count() AS m_flows, sum(packets) AS m_packets, sum(bytes) AS m_bytes");
    if (!rc && q->has_distinct) {
        const struct query_key *d = &q->distinct;
        if (!key_addr(d->id)) {
            rc = buf_printf(sql, ", uniqExact(%s) AS m_distinct", key_col(d->id));
        } else if (!(rc = buf_puts(sql, ", uniqExact(")) && !(rc = put_addr_half(sql, d, 0)) &&
                   !(rc = buf_puts(sql, ", ")) && !(rc = put_addr_half(sql, d, 1))) {
            rc = buf_puts(sql, ") AS m_distinct");
        }
    }
    if (!rc)
        rc = buf_printf(sql, " FROM %s", table);
    if (!rc)
        rc = put_where(sql, q, f);
    if (!rc)
        rc = buf_puts(sql, " GROUP BY ");
    for (size_t k = 0; k < q->nkeys && !rc; k++)
        rc = key_addr(q->keys[k].id) ? buf_printf(sql, "%sk%zu_h, k%zu_l", k ? ", " : "", k, k)
                                     : buf_printf(sql, "%sk%zu", k ? ", " : "", k);
    if (!rc && h && !(rc = buf_puts(sql, " HAVING ")))
        rc = node_sql(h, filter_root(h), sql, q->has_distinct);
    static const char *const order[] = {"m_flows", "m_packets", "m_bytes", "m_distinct"};
    if (!rc)
        rc = buf_printf(sql, " ORDER BY %s DESC", order[q->order]);
    if (!rc && q->order != QO_FLOWS)
        rc = buf_puts(sql, ", m_flows DESC");
    for (size_t k = 0; k < q->nkeys && !rc; k++)
        rc = key_addr(q->keys[k].id) ? buf_printf(sql, ", k%zu_h, k%zu_l", k, k)
                                     : buf_printf(sql, ", k%zu", k);
    if (!rc && q->limit)
        rc = buf_printf(sql, " LIMIT %zu", q->limit);
    if (!rc)
        rc = buf_puts(sql, " FORMAT RowBinary");
    filter_free(f);
    filter_free(h);
    if (rc == BS_ELIMIT)
        snprintf(err->msg, sizeof err->msg, "the query is longer than %u bytes of SQL",
                 QUERY_SQL_MAX);
    return rc;
}

int query_sql_totals(const struct query_spec *q, const char *table, struct buf *sql,
                     struct query_error *err)
{
    struct filter *f, *h;
    int rc = compile_filters(q, &f, &h, err);
    if (rc)
        return rc;
    rc = buf_printf(sql,
                    "SELECT count(), sum(packets), sum(bytes), min(start_ms), max(start_ms) "
                    "FROM %s",
                    table);
    if (!rc)
        rc = put_where(sql, q, f);
    if (!rc)
        rc = buf_puts(sql, " FORMAT RowBinary");
    filter_free(f);
    filter_free(h);
    return rc;
}

int query_sql_listing(const struct query_spec *q, const char *table, struct buf *sql,
                      struct query_error *err)
{
    struct filter *f, *h;
    int rc = compile_filters(q, &f, &h, err);
    if (rc)
        return rc;
    rc = buf_puts(sql, "SELECT start_ms, end_ms, packets, bytes, src, dst, exporter, nexthop, "
                       "sampling, obs_domain, in_if, out_if, src_as, dst_as, src_port, "
                       "dst_port, vlan, has, proto, tcp_flags, tos, version, direction, "
                       "src_mask, dst_mask");
    if (!rc)
        rc = buf_printf(sql, " FROM %s", table);
    if (!rc)
        rc = put_where(sql, q, f);
    if (!rc)
        rc = buf_puts(sql, " ORDER BY start_ms");
    if (!rc && q->limit)
        rc = buf_printf(sql, " LIMIT %zu", q->limit);
    if (!rc)
        rc = buf_puts(sql, " FORMAT RowBinary");
    filter_free(f);
    filter_free(h);
    return rc;
}

/* ---- running --------------------------------------------------------------------------- */

/* Fixed-width RowBinary rows cut out of the answer's pieces. */
struct rows_ctx {
    unsigned row_bytes;
    uint8_t part[QUERY_MAX_KEYS * 16 + 160];
    unsigned part_len;
    int (*row)(struct rows_ctx *x, const uint8_t *p);
    const struct query_spec *q;
    struct query_result *res;
    uint8_t key[QUERY_MAX_KEYS * 16];
    int stop; /* on_record's non-zero answer: ends the listing, not an error */
};

static uint64_t le64(const uint8_t *p, unsigned w)
{
    uint64_t v = 0;
    for (unsigned i = w; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static int on_rows(void *ctx, const uint8_t *p, size_t n)
{
    struct rows_ctx *x = ctx;
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
        int rc = x->row(x, row);
        if (rc)
            return rc;
    }
    return 0;
}

/* One aggregated row: keys (address halves or integers, little-endian), then the measures. */
static int agg_row(struct rows_ctx *x, const uint8_t *p)
{
    const struct query_spec *q = x->q;
    if (x->res->nrows >= q->max_groups)
        return BS_ELIMIT;
    uint8_t *key = x->key;
    for (size_t k = 0; k < q->nkeys; k++) {
        enum query_keyid id = q->keys[k].id;
        unsigned w = key_width(id);
        if (key_addr(id)) {
            /* Each half is the big-endian reading of 8 address bytes. */
            for (int half = 0; half < 2; half++, p += 8) {
                uint64_t v = le64(p, 8);
                for (int b = 0; b < 8; b++)
                    key[half * 8 + b] = (uint8_t)(v >> (56 - 8 * b));
            }
        } else {
            uint64_t v = le64(p, w);
            for (unsigned b = 0; b < w; b++)
                key[b] = (uint8_t)(v >> (8 * (w - 1 - b)));
            p += w;
        }
        key += w;
    }
    uint64_t fl = le64(p, 8), pk = le64(p + 8, 8), by = le64(p + 16, 8);
    uint64_t d = q->has_distinct ? le64(p + 24, 8) : 0;
    return query_result_push(x->res, x->key, fl, pk, by, d);
}

static void get_addr(struct ipaddr *a, const uint8_t **p)
{
    memcpy(a->b, *p, 16);
    *p += 16;
}

/* One listed record: every column in store_col order. */
static int rec_row(struct rows_ctx *x, const uint8_t *p)
{
    struct flow_rec r;
    memset(&r, 0, sizeof r);
    r.start_ms = le64(p, 8);
    r.end_ms = le64(p + 8, 8);
    r.packets = le64(p + 16, 8);
    r.bytes = le64(p + 24, 8);
    p += 32;
    get_addr(&r.src, &p);
    get_addr(&r.dst, &p);
    get_addr(&r.exporter, &p);
    get_addr(&r.nexthop, &p);
    uint32_t *u32[] = {&r.sampling_rate, &r.obs_domain, &r.in_if, &r.out_if, &r.src_as, &r.dst_as};
    for (size_t i = 0; i < 6; i++, p += 4)
        *u32[i] = (uint32_t)le64(p, 4);
    uint16_t *u16[] = {&r.src_port, &r.dst_port, &r.vlan, &r.has};
    for (size_t i = 0; i < 4; i++, p += 2)
        *u16[i] = (uint16_t)le64(p, 2);
    uint8_t *u8[] = {&r.proto,     &r.tcp_flags, &r.tos,     &r.version,
                     &r.direction, &r.src_mask,  &r.dst_mask};
    for (size_t i = 0; i < 7; i++)
        *u8[i] = *p++;
    struct query_stats *st = &x->res->stats;
    if (!st->matched || r.start_ms < st->t_first)
        st->t_first = r.start_ms;
    if (r.start_ms > st->t_last)
        st->t_last = r.start_ms;
    st->matched++;
    st->packets += r.packets;
    st->bytes += r.bytes;
    st->scan.records_scanned++;
    if (x->q->on_record && (x->stop = x->q->on_record(x->q->record_ctx, &r)))
        return x->stop;
    return 0;
}

struct tot_ctx {
    uint8_t row[40];
    size_t len;
};

static int on_totals(void *ctx, const uint8_t *p, size_t n)
{
    struct tot_ctx *t = ctx;
    if (t->len + n > sizeof t->row)
        return BS_EMALFORMED; /* one row of five UInt64 expected */
    memcpy(t->row + t->len, p, n);
    t->len += n;
    return 0;
}

bool query_sql_wanted(struct store *s)
{
    char eb[256];
    return store_sql(s, NULL, NULL, NULL, eb) != BS_EUNSUPPORTED;
}

static int run(struct store *s, const char *sql, int (*cb)(void *, const uint8_t *, size_t),
               void *ctx, struct query_error *err)
{
    char eb[256];
    int rc = store_sql(s, sql, cb, ctx, eb);
    if (rc == BS_ELIMIT)
        snprintf(err->msg, sizeof err->msg, "more groups than max_groups");
    else if (rc < 0)
        snprintf(err->msg, sizeof err->msg, "%s", eb);
    return rc;
}

int query_sql_exec(struct store *s, const struct query_spec *q, struct query_result **result,
                   struct query_error *err)
{
    struct query_error edummy;
    if (!err)
        err = &edummy;
    memset(err, 0, sizeof *err);
    *result = NULL;
    if (q->order == QO_DISTINCT && !q->has_distinct) {
        snprintf(err->msg, sizeof err->msg, "ordering by distinct needs a distinct key (-D KEY)");
        return BS_EUSAGE;
    }
    uint64_t t0 = clock_mono_ns();
    struct query_result *res = calloc(1, sizeof *res);
    if (!res)
        return BS_ENOMEM;
    query_result_init(res, q);
    struct buf sql = BUF_INIT(QUERY_SQL_MAX);
    struct rows_ctx x = {.q = q, .res = res};
    bool listing = !q->nkeys && !q->count_only;
    bool aggregate = q->nkeys && !q->count_only;
    int rc = 0;
    if (listing) {
        x.row = rec_row;
        x.row_bytes = CH_LISTING_ROW;
        if (!(rc = query_sql_listing(q, "{flows}", &sql, err)))
            rc = run(s, sql.data, on_rows, &x, err);
        if (rc && rc == x.stop)
            rc = 0; /* the record callback ended the listing */
    } else if (aggregate) {
        x.row = agg_row;
        x.row_bytes = 8 * (q->has_distinct ? 4 : 3);
        for (size_t k = 0; k < q->nkeys; k++)
            x.row_bytes += key_width(q->keys[k].id);
        if (!(rc = query_sql_aggregate(q, "{flows}", &sql, err)))
            rc = run(s, sql.data, on_rows, &x, err);
        if (!rc)
            res->stats.groups = res->nrows;
    }
    if (!rc && x.part_len) {
        snprintf(err->msg, sizeof err->msg, "the store's answer ends inside a row");
        rc = BS_EIO;
    }
    if (!rc && !listing && (q->count_only || (q->summary && q->format == QF_TABLE))) {
        struct tot_ctx t = {.len = 0};
        buf_reset(&sql);
        if (!(rc = query_sql_totals(q, "{flows}", &sql, err)))
            rc = run(s, sql.data, on_totals, &t, err);
        if (!rc && t.len != sizeof t.row) {
            snprintf(err->msg, sizeof err->msg, "unexpected totals answer (%zu bytes)", t.len);
            rc = BS_EIO;
        }
        if (!rc) {
            struct query_stats *st = &res->stats;
            st->matched = le64(t.row, 8);
            st->packets = le64(t.row + 8, 8);
            st->bytes = le64(t.row + 16, 8);
            st->t_first = st->matched ? le64(t.row + 24, 8) : 0;
            st->t_last = st->matched ? le64(t.row + 32, 8) : 0;
        }
    }
    buf_release(&sql);
    if (rc) {
        query_result_free(res);
        return rc;
    }
    if (!res->nrows)
        res->sorted = true; /* nothing to order (and no row array to hand to qsort_r) */
    query_result_finish(res);
    res->stats.wall_ns = clock_mono_ns() - t0;
    *result = res;
    return 0;
}
