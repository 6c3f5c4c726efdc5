/* query_print.c - the query engine's output: result rows, records and the summary as a table,
 * CSV or NDJSON (see query.h). Everything here formats data the engine already computed. */
#include "query/query.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/flow.h"
#include "core/flow_field.h"
#include "core/jw.h"

static const char *proto_name(unsigned p, char *buf, size_t len)
{
    switch (p) {
    case 1:
        return "ICMP";
    case 2:
        return "IGMP";
    case 6:
        return "TCP";
    case 17:
        return "UDP";
    case 47:
        return "GRE";
    case 50:
        return "ESP";
    case 58:
        return "ICMP6";
    case 132:
        return "SCTP";
    }
    snprintf(buf, len, "%u", p);
    return buf;
}

static void flags_str(uint8_t f, char out[9])
{
    const char *l = "CEUAPRSF";
    for (int i = 0; i < 8; i++)
        out[i] = (f & (0x80 >> i)) ? l[i] : '.';
    out[8] = '\0';
}

static void addr_port(const struct ipaddr *a, unsigned port, char *out, size_t len)
{
    char s[IPADDR_STRLEN];
    ipaddr_format(a, s, sizeof s);
    snprintf(out, len, ipaddr_is_v4(a) ? "%s:%u" : "[%s]:%u", s, port);
}

void query_print_record(const struct flow_rec *r, enum query_format format, struct buf *line,
                        FILE *o)
{
    char a[IPADDR_STRLEN + 10], b[IPADDR_STRLEN + 10], ts[40], pb[8], fl[9];
    switch (format) {
    case QF_NDJSON:
        buf_reset(line);
        if (!flow_to_ndjson(r, line))
            fwrite(line->data, 1, line->len, o);
        return;
    case QF_CSV: {
        /* the FLOW_FU_CSV fields in table order, as flow_field_csv_header names them */
        buf_reset(line);
        int rc = 0;
        bool first = true;
        for (size_t i = 0; i < FLOW_F_COUNT && !rc; i++) {
            const struct flow_field *f = &flow_fields[i];
            if (!(f->use & FLOW_FU_CSV))
                continue;
            if (!first)
                rc = buf_putc(line, ',');
            if (!rc)
                rc = flow_field_put_csv(f, r, line);
            first = false;
        }
        if (!rc)
            rc = buf_putc(line, '\n');
        if (!rc)
            fwrite(line->data, 1, line->len, o);
        return;
    }
    case QF_TABLE:
        clock_format_utc(r->start_ms, ts, sizeof ts);
        addr_port(&r->src, r->src_port, a, sizeof a);
        addr_port(&r->dst, r->dst_port, b, sizeof b);
        flags_str(r->tcp_flags, fl);
        fprintf(o, "%-23s %9.3f %-5s %30s -> %-30s %s %8" PRIu64 " %10" PRIu64 "\n", ts,
                r->end_ms > r->start_ms ? (double)(r->end_ms - r->start_ms) / 1000.0 : 0.0,
                proto_name(r->proto, pb, sizeof pb), a, b, fl, r->packets, r->bytes);
        return;
    }
}

void query_print_record_header(enum query_format format, FILE *out)
{
    if (format == QF_CSV) {
        struct buf b = BUF_INIT(4096);
        if (!flow_field_csv_header(&b))
            fwrite(b.data, 1, b.len, out);
        buf_release(&b);
    } else if (format == QF_TABLE)
        fprintf(out, "%-23s %9s %-5s %30s    %-30s %-8s %8s %10s\n", "Date first seen", "Duration",
                "Proto", "Src IP Addr:Port", "Dst IP Addr:Port", "Flags", "Packets", "Bytes");
}

void query_key_text(const struct query_result *r, const struct query_row *row, size_t ki, char *out,
                    size_t len, bool *is_num, bool table)
{
    const struct query_key *k = &r->keys[ki];
    const uint8_t *p = row->key + r->koff[ki];
    *is_num = false;
    if (query_key_is_addr(k->id)) {
        struct ipaddr a;
        memcpy(a.b, p, 16);
        bool v4 = ipaddr_is_v4(&a);
        if ((v4 && k->v4len < 32) || (!v4 && k->v6len < 128)) {
            struct ipprefix pf = {a, (uint8_t)(v4 ? 96 + k->v4len : k->v6len)};
            ipprefix_format(&pf, out, len);
        } else {
            ipaddr_format(&a, out, len);
        }
        return;
    }
    uint64_t v = 0;
    size_t n = query_key_size(k->id);
    for (size_t j = 0; j < n; j++)
        v = v << 8 | p[j];
    if (table && k->id == QK_PROTO) {
        char b[8];
        snprintf(out, len, "%s", proto_name((unsigned)v, b, sizeof b));
        return;
    }
    if (table && k->id == QK_FLAGS) {
        char f[9];
        flags_str((uint8_t)v, f);
        snprintf(out, len, "%s", f);
        return;
    }
    if (k->id == QK_VERSION) {
        snprintf(out, len, "%s", flow_version_name((unsigned)v));
        *is_num = v != FLOW_SFLOW5;
        return;
    }
    snprintf(out, len, "%" PRIu64, v);
    *is_num = true;
}

void query_print_rows(const struct query_result *q, enum query_format format, FILE *o)
{
    char txt[IPPREFIX_STRLEN + 16];
    char dname[64] = "";
    if (q->has_distinct)
        snprintf(dname, sizeof dname, "distinct_%s", query_key_name(&q->distinct));
    if (format == QF_CSV) {
        for (size_t k = 0; k < q->nkeys; k++)
            fprintf(o, "%s,", query_key_name(&q->keys[k]));
        fprintf(o, "flows,packets,bytes%s%s\n", q->has_distinct ? "," : "", dname);
    } else if (format == QF_TABLE) {
        for (size_t k = 0; k < q->nkeys; k++)
            fprintf(o, "%-*s ", query_key_is_addr(q->keys[k].id) ? 39 : 10,
                    query_key_name(&q->keys[k]));
        fprintf(o, "%12s %14s %16s", "flows", "packets", "bytes");
        if (q->has_distinct)
            fprintf(o, " %20s", dname);
        fputc('\n', o);
    }
    struct buf line = BUF_INIT(1 << 20);
    for (size_t r = 0; r < q->nrows; r++) {
        const struct query_row *row = &q->rows[r];
        const uint64_t e[5] = {0, row->flows, row->packets, row->bytes, row->distinct};
        if (format == QF_NDJSON) {
            struct jw w;
            buf_reset(&line);
            jw_open(&w, &line);
            for (size_t k = 0; k < q->nkeys; k++) {
                bool num;
                query_key_text(q, row, k, txt, sizeof txt, &num, false);
                if (num)
                    jw_raw(&w, query_key_name(&q->keys[k]), txt);
                else
                    jw_str(&w, query_key_name(&q->keys[k]), txt);
            }
            jw_u64(&w, "flows", e[1]);
            jw_u64(&w, "packets", e[2]);
            jw_u64(&w, "bytes", e[3]);
            if (q->has_distinct)
                jw_u64(&w, dname, e[4]);
            if (!jw_close(&w))
                fwrite(line.data, 1, line.len, o);
            continue;
        }
        for (size_t k = 0; k < q->nkeys; k++) {
            bool num;
            query_key_text(q, row, k, txt, sizeof txt, &num, format == QF_TABLE);
            if (format == QF_CSV)
                fprintf(o, "%s,", txt);
            else
                fprintf(o, "%-*s ", query_key_is_addr(q->keys[k].id) ? 39 : 10, txt);
        }
        if (format == QF_CSV) {
            fprintf(o, "%" PRIu64 ",%" PRIu64 ",%" PRIu64, e[1], e[2], e[3]);
            if (q->has_distinct)
                fprintf(o, ",%" PRIu64, e[4]);
        } else {
            fprintf(o, "%12" PRIu64 " %14" PRIu64 " %16" PRIu64, e[1], e[2], e[3]);
            if (q->has_distinct)
                fprintf(o, " %20" PRIu64, e[4]);
        }
        fputc('\n', o);
    }
    buf_release(&line);
}

void query_print_summary(const struct query_stats *st, enum query_format format, FILE *o)
{
    if (format == QF_NDJSON) {
        struct buf line = BUF_INIT(4096);
        struct jw w;
        jw_open(&w, &line);
        jw_u64(&w, "flows", st->matched);
        jw_u64(&w, "packets", st->packets);
        jw_u64(&w, "bytes", st->bytes);
        jw_u64(&w, "first_ms", st->matched ? st->t_first : 0);
        jw_u64(&w, "last_ms", st->matched ? st->t_last : 0);
        jw_u64(&w, "records_scanned", st->scan.records_scanned);
        if (st->scan.segments_damaged || st->scan.blocks_corrupt) { /* issue 21: say it */
            jw_u64(&w, "blocks_corrupt", st->scan.blocks_corrupt);
            jw_u64(&w, "segments_damaged", st->scan.segments_damaged);
            jw_u64(&w, "records_missing", st->scan.records_missing);
        }
        if (!jw_close(&w))
            fwrite(line.data, 1, line.len, o);
        buf_release(&line);
        return;
    }
    if (format == QF_CSV) {
        fprintf(o,
                "flows,packets,bytes,first_ms,last_ms\n%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                ",%" PRIu64 "\n",
                st->matched, st->packets, st->bytes, st->matched ? st->t_first : 0,
                st->matched ? st->t_last : 0);
        return;
    }
    double secs =
        st->matched && st->t_last > st->t_first ? (double)(st->t_last - st->t_first) / 1000.0 : 0.0;
    fprintf(o,
            "Summary: total flows: %" PRIu64 ", total bytes: %" PRIu64 ", total packets: %" PRIu64
            ", avg bps: %.0f, avg pps: %.0f, avg bpp: %.0f\n",
            st->matched, st->bytes, st->packets, secs > 0 ? (double)st->bytes * 8 / secs : 0.0,
            secs > 0 ? (double)st->packets / secs : 0.0,
            st->packets ? (double)st->bytes / (double)st->packets : 0.0);
    char a[40], b[40];
    if (st->matched)
        fprintf(o, "Time window: %s - %s\n", clock_format_utc(st->t_first, a, sizeof a),
                clock_format_utc(st->t_last, b, sizeof b));
    double wall = (double)st->wall_ns / 1e9;
    fprintf(o,
            "Total records scanned: %" PRIu64 ", blocks: %" PRIu64 " (%" PRIu64 " skipped, %" PRIu64
            " corrupt), bytes read: %" PRIu64 ", time: %.3fs, %.0f records/s\n",
            st->scan.records_scanned, st->scan.blocks_total, st->scan.blocks_skipped,
            st->scan.blocks_corrupt, st->scan.bytes_read, wall,
            wall > 0 ? (double)st->scan.records_scanned / wall : 0.0);
    if (st->scan.segments_damaged)
        fprintf(o, "Damaged segments: %" PRIu64 ", %" PRIu64 " records missing from this answer\n",
                st->scan.segments_damaged, st->scan.records_missing);
}

/* ---- query_run: execute and print -------------------------------------------------------------
 */

struct printer {
    const struct query_spec *q;
    struct buf line;
    bool header_done;
};

static void printer_header(struct printer *p)
{
    if (!p->header_done)
        query_print_record_header(p->q->format, p->q->out);
    p->header_done = true;
}

static int print_one(void *ctx, const struct flow_rec *r)
{
    struct printer *p = ctx;
    printer_header(p);
    query_print_record(r, p->q->format, &p->line, p->q->out);
    return 0;
}

int query_run(struct store *s, const struct query_spec *q, struct query_stats *st,
              struct query_error *err)
{
    struct printer p = {.q = q, .line = BUF_INIT(1 << 20)};
    struct query_spec qq = *q;
    bool listing = !q->nkeys && !q->count_only;
    if (listing) {
        qq.on_record = print_one;
        qq.record_ctx = &p;
    }
    struct query_result *res;
    int rc = query_exec(s, &qq, &res, err);
    buf_release(&p.line);
    if (st)
        memset(st, 0, sizeof *st);
    if (rc)
        return rc;
    if (listing)
        printer_header(&p); /* the heading even when nothing matched */
    else if (q->nkeys && !q->count_only)
        query_print_rows(res, q->format, q->out);
    if (q->count_only || (q->summary && q->format == QF_TABLE)) {
        if (!q->count_only)
            fputc('\n', q->out);
        query_print_summary(&res->stats, q->format, q->out);
    }
    if (st)
        *st = res->stats;
    query_result_free(res);
    return 0;
}
