/* tel_out.c - the records of the telescope's outputs: interval, source and victim lines in
 * NDJSON and CSV, and provenance.json (the files themselves: tel_out_files.c). */
#include "telescope/tel_out_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/jw.h"
#include "core/hll.h"

#define MAX_TOP 1000

static int put_line(struct tel_out *o, FILE *f, int rc)
{
    if (rc) {
        if (!o->err)
            o->err = rc;
        return rc;
    }
    if (f && fwrite(o->line.data, 1, o->line.len, f) != o->line.len) {
        int err = errno ? -errno : -EIO;
        if (!o->err)
            o->err = err;
        return err;
    }
    return 0;
}

static int put_u64(struct buf *b, uint64_t v);

/* ---- intervals ---- */

static void tag_object(struct jw *w, const char *key, const uint64_t *v, const char *const *names,
                       int n)
{
    jw_obj(w, key);
    for (int i = 0; i < n; i++)
        jw_u64(w, names[i], v[i]);
    jw_end(w);
}

static void port_rows(struct jw *w, const char *key, const struct tel_port_row *r, size_t n,
                      bool with_proto)
{
    jw_arr(w, key);
    for (size_t i = 0; i < n; i++) {
        jw_obj(w, NULL);
        if (with_proto)
            jw_str(w, "proto", r[i].is_udp ? "udp" : "tcp");
        jw_u64(w, "port", r[i].port);
        jw_u64(w, "packets", r[i].packets);
        jw_u64(w, "bytes", r[i].bytes);
        jw_u64(w, "sources", r[i].sources);
        jw_u64(w, "destinations", r[i].destinations);
        jw_end(w);
    }
    jw_end(w);
}

struct group_row {
    uint32_t key;
    uint64_t packets, bytes, sources, destinations;
};

static size_t top_groups(const struct tel_group *g, struct group_row *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < TEL_AGG_GROUPS && max; i++) {
        if (!g[i].packets)
            continue;
        struct group_row r = {g[i].key, g[i].packets, g[i].bytes, 0, 0};
        if (n == max && (r.packets < out[max - 1].packets ||
                         (r.packets == out[max - 1].packets && r.key > out[max - 1].key)))
            continue;
        r.sources = hll_estimate(g[i].hll_src, TEL_AGG_PORT_P);
        r.destinations = hll_estimate(g[i].hll_dst, TEL_AGG_PORT_P);
        size_t k = n < max ? n++ : max - 1;
        while (k > 0 && (out[k - 1].packets < r.packets ||
                         (out[k - 1].packets == r.packets && out[k - 1].key > r.key))) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = r;
    }
    return n;
}

static void group_rows(struct jw *w, const char *key, const struct group_row *r, size_t n,
                       bool is_cc)
{
    jw_arr(w, key);
    for (size_t i = 0; i < n; i++) {
        jw_obj(w, NULL);
        if (is_cc) {
            char cc[3] = {(char)(r[i].key >> 8), (char)(r[i].key & 0xff), 0};
            jw_strn(w, "cc", cc, 2);
        } else {
            jw_u64(w, "asn", r[i].key);
        }
        jw_u64(w, "packets", r[i].packets);
        jw_u64(w, "bytes", r[i].bytes);
        jw_u64(w, "sources", r[i].sources);
        jw_u64(w, "destinations", r[i].destinations);
        jw_end(w);
    }
    jw_end(w);
}

static void uniq_keys(struct jw *w, const struct tel_uniq *u)
{
    jw_u64(w, "sources", hll_estimate(u->hll_src, TEL_AGG_PORT_P));
    jw_u64(w, "destinations", hll_estimate(u->hll_dst, TEL_AGG_PORT_P));
}

static void counts_by_number(struct jw *w, const char *name, const uint64_t *v,
                             const uint64_t *bytes, const struct tel_uniq *u, const char *key)
{
    jw_arr(w, name);
    for (int i = 0; i < 256; i++) {
        if (!v[i])
            continue;
        jw_obj(w, NULL);
        jw_u64(w, key, (uint64_t)i);
        jw_u64(w, "packets", v[i]);
        if (bytes)
            jw_u64(w, "bytes", bytes[i]);
        uniq_keys(w, &u[i]);
        jw_end(w);
    }
    jw_end(w);
}

/* Tags with packets: packets, bytes, unique sources and destinations. */
static void tag_rows(struct jw *w, const char *key, const struct tel_bucket *b)
{
    jw_arr(w, key);
    for (int i = 0; i < TEL_TAG_COUNT; i++) {
        if (!b->tag_packets[i])
            continue;
        jw_obj(w, NULL);
        jw_str(w, "tag", tel_tag_names[i]);
        jw_u64(w, "packets", b->tag_packets[i]);
        jw_u64(w, "bytes", b->tag_bytes[i]);
        uniq_keys(w, &b->tag_uniq[i]);
        jw_end(w);
    }
    jw_end(w);
}

static int out_interval(void *state, const struct tel_engine *e, const struct tel_bucket *b,
                        uint32_t resolution_s)
{
    struct tel_out *o = state;
    int level = 0;
    for (int i = 1; i < TEL_LEVELS; i++)
        if ((uint64_t)resolution_s * 1000 == (i == 1   ? 300000ull
                                              : i == 2 ? 3600000ull
                                                       : 86400000ull) &&
            resolution_s * 1000ull != tel_engine_opts(e)->interval_ms)
            level = i;
    FILE *nd = o->nd[F_IVL0 + level];
    FILE *csv = o->csv[F_IVL0 + level];
    unsigned top = tel_engine_opts(e)->top_n;
    if (top > MAX_TOP)
        top = MAX_TOP;
    struct tel_port_row rows[MAX_TOP];
    struct group_row grows[MAX_TOP];
    uint64_t usrc = b->packets ? hll_estimate(b->hll_src, TEL_AGG_HLL_P) : 0;
    uint64_t udst = b->packets ? hll_estimate(b->hll_dst, TEL_AGG_HLL_P) : 0;
    double share = b->packets ? (double)b->research_packets / (double)b->packets : 0.0;

    buf_reset(&o->line);
    struct jw w;
    jw_open(&w, &o->line);
    jw_u64(&w, "resolution_s", resolution_s);
    jw_u64(&w, "start_ms", b->start_ms);
    jw_u64(&w, "end_ms", b->start_ms + b->len_ms);
    jw_u64(&w, "packets", b->packets);
    jw_u64(&w, "bytes", b->bytes);
    jw_u64(&w, "unique_sources", usrc);
    jw_u64(&w, "unique_destinations", udst);
    jw_u64(&w, "non_darknet_packets", b->non_darknet_packets);
    jw_u64(&w, "non_darknet_bytes", b->non_darknet_bytes);
    jw_u64(&w, "undecoded_packets", b->undecoded_packets);
    jw_u64(&w, "late_packets", b->late_packets);
    if (tel_engine_has_capture_stats(e)) { /* live capture only */
        jw_u64(&w, "capture_received", b->capture_received);
        jw_u64(&w, "capture_dropped", b->capture_dropped);
        jw_u64(&w, "capture_if_dropped", b->capture_if_dropped);
    }
    jw_u64(&w, "dropped_source_packets", b->dropped_sources);
    jw_u64(&w, "research_packets", b->research_packets);
    jw_dbl(&w, "research_share", share);
    tag_object(&w, "tags", b->tag_packets, tel_tag_names, TEL_TAG_COUNT);
    tag_object(&w, "fingerprints", b->fp_packets, tel_fp_names, TEL_FP_COUNT);
    tag_rows(&w, "tag_details", b);
    counts_by_number(&w, "protocols", b->proto_packets, b->proto_bytes, b->proto_uniq, "proto");
    counts_by_number(&w, "icmp_types", b->icmp_types, NULL, b->icmp_uniq, "type");
    counts_by_number(&w, "icmp6_types", b->icmp6_types, NULL, b->icmp6_uniq, "type");
    size_t ntcp = tel_bucket_top_ports(b, 0, false, rows, top);
    uint64_t top_tcp = ntcp ? rows[0].port : 0, top_tcp_p = ntcp ? rows[0].packets : 0;
    uint64_t listed = 0;
    for (size_t i = 0; i < ntcp; i++)
        listed += rows[i].packets;
    port_rows(&w, "tcp_ports", rows, ntcp, false);
    size_t nudp = tel_bucket_top_ports(b, 1, false, rows, top);
    uint64_t top_udp = nudp ? rows[0].port : 0, top_udp_p = nudp ? rows[0].packets : 0;
    for (size_t i = 0; i < nudp; i++)
        listed += rows[i].packets;
    port_rows(&w, "udp_ports", rows, nudp, false);
    uint64_t port_total = b->packets ? tel_bucket_port_total(b) : 0;
    jw_u64(&w, "other_ports_packets", port_total - listed);
    size_t nsrc = tel_bucket_top_ports(b, -1, true, rows, top);
    port_rows(&w, "top_ports_by_sources", rows, nsrc, true);
    jw_u64(&w, "port_slots_full_packets", b->port_slots_full_packets);
    size_t nasn = top_groups(b->asn, grows, top);
    group_rows(&w, "asns", grows, nasn, false);
    size_t ncc = top_groups(b->cc, grows, top);
    group_rows(&w, "countries", grows, ncc, true);
    jw_u64(&w, "group_overflow_packets", b->group_overflow_packets);
    int rc = put_line(o, nd, jw_close(&w));
    if (rc || !csv)
        return rc;

    buf_reset(&o->line);
    rc = buf_printf(&o->line,
                    "%" PRIu32 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64
                    ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%.6g",
                    resolution_s, b->start_ms, b->start_ms + b->len_ms, b->packets, b->bytes, usrc,
                    udst, b->non_darknet_packets, b->non_darknet_bytes, b->undecoded_packets,
                    b->dropped_sources, share);
    for (int t = 0; t < TEL_TAG_COUNT && !rc; t++)
        rc = buf_printf(&o->line, ",%" PRIu64, b->tag_packets[t]);
    for (int f = 0; f < TEL_FP_COUNT && !rc; f++)
        rc = buf_printf(&o->line, ",%" PRIu64, b->fp_packets[f]);
    if (!rc)
        rc = buf_printf(&o->line, ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", top_tcp,
                        top_tcp_p, top_udp, top_udp_p);
    return put_line(o, csv, rc);
}

/* ---- sources ---- */

static int sorted_ports(const uint16_t *ports, unsigned n, uint16_t *out)
{
    memcpy(out, ports, n * sizeof *out);
    for (unsigned i = 1; i < n; i++) {
        uint16_t v = out[i];
        unsigned k = i;
        while (k > 0 && out[k - 1] > v) {
            out[k] = out[k - 1];
            k--;
        }
        out[k] = v;
    }
    return (int)n;
}

/* The ports sorted, sep-separated (a CSV cell). */
static int port_list(struct buf *t, const uint16_t *ports, unsigned n, char sep)
{
    uint16_t sp[TEL_SRC_PORTS > TEL_VICTIM_PORTS ? TEL_SRC_PORTS : TEL_VICTIM_PORTS];
    sorted_ports(ports, n, sp);
    int rc = 0;
    for (unsigned i = 0; i < n && !rc; i++) {
        if (i)
            rc = buf_putc(t, sep);
        if (!rc)
            rc = put_u64(t, sp[i]);
    }
    if (!rc && !t->data)
        rc = buf_puts(t, "");
    return rc;
}

/* The ports sorted, as a JSON array. */
static void port_array(struct jw *w, const char *key, const uint16_t *ports, unsigned n)
{
    uint16_t sp[TEL_SRC_PORTS > TEL_VICTIM_PORTS ? TEL_SRC_PORTS : TEL_VICTIM_PORTS];
    sorted_ports(ports, n, sp);
    jw_arr(w, key);
    for (unsigned i = 0; i < n; i++)
        jw_u64(w, NULL, sp[i]);
    jw_end(w);
}

static double rate_pps(uint64_t packets, uint64_t first_ms, uint64_t last_ms)
{
    uint64_t d = last_ms - first_ms;
    if (d < 1000)
        d = 1000;
    return (double)packets * 1000.0 / (double)d;
}

size_t tel_out_format_rate(char out[32], uint64_t packets, uint64_t first_ms, uint64_t last_ms)
{
    uint64_t d = last_ms - first_ms;
    if (d < 1000)
        d = 1000;
    /* The value is the rational N / d: scale it to six significant digits with integers. A
     * double's rounding error (relative 2^-53) cannot move a value across a rounding
     * boundary that the exact rational misses by at least 1 / (d * 10^s) (d < 2^40 here),
     * so only exact ties, exponent forms and huge inputs need printf. */
    if (packets && packets < (1ull << 40) && d < (1ull << 40)) {
        /* The scale s is the first with n * 10^s / d >= 10^5, i.e. n * 10^s >= 10^5 * d:
         * found with multiplications (64-bit divisions cost ~40 cycles each), then one
         * division. 64 bits are exact here: n < 2^50 and 10^5 * d < 2^57, and a scale is
         * tried only after the one below fell short of 10^5 * d, so n * p10 < 2^61. */
        uint64_t n = packets * 1000u;
        uint64_t m = 0, want = 100000u * d;
        int sc = 0;
        uint64_t p10 = 1;
        while (sc <= 9 && n * p10 < want) {
            sc++;
            p10 *= 10;
        }
        if (sc <= 9) {
            uint64_t q = n * p10 / d;
            if (q >= 1000000u)
                sc = 99; /* >= 1e6 at s = 0: exponent form */
            else {
                uint64_t r2 = n * p10 % d * 2;
                m = q;
                if (r2 == d)
                    sc = 99; /* exact tie: printf decides */
                else if (r2 > d)
                    m++;
            }
        }
        if (m == 1000000u) {
            m = 100000u;
            sc--;
        }
        if (sc >= 0 && sc <= 9 && m >= 100000u && m < 1000000u) {
            char dig[6];
            for (int i = 5; i >= 0; i--, m /= 10)
                dig[i] = (char)('0' + m % 10);
            int nd = 6;
            int intd = 6 - sc; /* digits before the point (<= 0: "0.000ddd") */
            while (nd > (intd > 0 ? intd : 0) && dig[nd - 1] == '0')
                nd--;
            size_t o = 0;
            if (intd <= 0) {
                out[o++] = '0';
                out[o++] = '.';
                for (int i = 0; i < -intd; i++)
                    out[o++] = '0';
                for (int i = 0; i < nd; i++)
                    out[o++] = dig[i];
            } else {
                for (int i = 0; i < nd; i++) {
                    if (i == intd)
                        out[o++] = '.';
                    out[o++] = dig[i];
                }
            }
            out[o] = '\0';
            return o;
        }
    }
    int w = snprintf(out, 32, "%.6g", (double)packets * 1000.0 / (double)d);
    return w < 0 ? 0 : (size_t)w;
}

/* Fast formatting for the per-source lines (a day can have a million of them): decimal
 * integers without printf. Keys and values here are trusted ASCII (addresses, names). */
static int put_u64(struct buf *b, uint64_t v)
{
    char tmp[24];
    return buf_append(b, tmp, (size_t)(tel_out_format_u64(tmp, v) - tmp));
}

static int put_kv(struct buf *b, const char *key, uint64_t v)
{
    int rc = buf_puts(b, key);
    return rc ? rc : put_u64(b, v);
}

static int put_names(struct buf *b, unsigned mask, const char *const *names, int n, char sep,
                     bool quoted)
{
    int rc = 0;
    bool first = true;
    for (int i = 0; i < n && !rc; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (!first)
            rc = buf_putc(b, sep);
        if (!rc && quoted)
            rc = buf_putc(b, '"');
        if (!rc)
            rc = buf_puts(b, names[i]);
        if (!rc && quoted)
            rc = buf_putc(b, '"');
        first = false;
    }
    return rc;
}

/* The NDJSON source line is formatted into a stack array with a cursor (no buffer calls, no
 * strlen per key): a day can have a million sources and this line is most of the output. It
 * is the one JSON text not written by core/jw; test_tel_out checks that every line equals
 * what jw writes for the same values (keys, escaping, number format, layout).
 * SRC_LINE_MAX bounds every line: keys and punctuation ~400 bytes, an address (<= 46) or
 * pseudonym, 10 numbers of <= 20 digits, 16 ports, 10 tags, 5 fingerprints and their votes. */
#define SRC_LINE_MAX 2048

#define PUT_LIT(p, lit) (memcpy((p), (lit), sizeof(lit) - 1), (p) += sizeof(lit) - 1)

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                  "31323334353637383940414243444546474849505152535455565758596061"
                                  "62636465666768697071727374757677787980818283848586878889909192"
                                  "93949596979899";

/* Exactly eight digits of v < 10^8 (leading zeros kept), in 32-bit arithmetic: two halves of
 * four digits, each two pairs ((x * 5243) >> 19 == x / 100 for every x < 10000). */
static char *fmt_8(char *p, uint32_t v)
{
    uint32_t hi = v / 10000, lo = v % 10000;
    uint32_t h1 = (hi * 5243) >> 19, l1 = (lo * 5243) >> 19;
    memcpy(p, digit_pairs + 2 * h1, 2);
    memcpy(p + 2, digit_pairs + 2 * (hi - 100 * h1), 2);
    memcpy(p + 4, digit_pairs + 2 * l1, 2);
    memcpy(p + 6, digit_pairs + 2 * (lo - 100 * l1), 2);
    return p + 8;
}

/* Decimal v < 10^8 without leading zeros. The length comes from the bit length (log10 2 ~
 * 1233 / 4096, then one comparison) and the digits are written backwards two at a time. */
static char *fmt_small(char *p, uint32_t v)
{
    static const uint32_t pow10[9] = {1,      10,      100,      1000,     10000,
                                      100000, 1000000, 10000000, 100000000};
    if (v < 10) {
        *p = (char)('0' + v);
        return p + 1;
    }
    if (v < 100) { /* most counts in a source line */
        memcpy(p, digit_pairs + 2 * v, 2);
        return p + 2;
    }
    if (v < 10000) { /* most ports */
        uint32_t hi = (v * 5243) >> 19, lo = v - 100 * hi;
        if (hi < 10)
            *p++ = (char)('0' + hi);
        else {
            memcpy(p, digit_pairs + 2 * hi, 2);
            p += 2;
        }
        memcpy(p, digit_pairs + 2 * lo, 2);
        return p + 2;
    }
    unsigned t = ((32u - (unsigned)__builtin_clz(v)) * 1233u) >> 12; /* <= 8 */
    size_t n = t + (v >= pow10[t]);
    char *q = p + n;
    while (v >= 100) {
        uint32_t r = v % 100;
        v /= 100;
        q -= 2;
        memcpy(q, digit_pairs + 2 * r, 2);
    }
    if (v >= 10)
        memcpy(q - 2, digit_pairs + 2 * v, 2);
    else
        q[-1] = (char)('0' + v);
    return p + n;
}

/* Decimal v at p, returns the end: numbers past eight digits (a million source lines hold
 * ~20 numbers each, several of them 13-digit millisecond times) are cut into 8-digit
 * chunks, one 64-bit division each, the chunks formatted in 32-bit arithmetic. */
char *tel_out_format_u64(char *p, uint64_t v)
{
    if (v < 100000000u)
        return fmt_small(p, (uint32_t)v);
    uint64_t hi = v / 100000000u;
    uint32_t lo = (uint32_t)(v % 100000000u);
    if (hi < 100000000u)
        p = fmt_small(p, (uint32_t)hi);
    else {
        p = fmt_small(p, (uint32_t)(hi / 100000000u)); /* v >= 10^16: at most 4 digits */
        p = fmt_8(p, (uint32_t)(hi % 100000000u));
    }
    return fmt_8(p, lo);
}

static inline char *fmt_u64(char *p, uint64_t v)
{
    return tel_out_format_u64(p, v);
}

static char *fmt_str(char *p, const char *s)
{
    size_t n = strlen(s);
    memcpy(p, s, n);
    return p + n;
}

static char *fmt_names(char *p, unsigned mask, const char *const *names, const uint8_t *len, int n)
{
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (!(mask & (1u << i)))
            continue;
        if (!first)
            *p++ = ',';
        *p++ = '"';
        memcpy(p, names[i], len[i]);
        p += len[i];
        *p++ = '"';
        first = false;
    }
    return p;
}

static int out_source(void *state, const struct tel_engine *e, const struct tel_src_rec *s)
{
    struct tel_out *o = state;
    const uint64_t day_ms = s->day_ms;
    char addr[IPADDR_STRLEN];
    tel_engine_addr_text(e, &s->addr, addr, sizeof addr);
    char rate[32];
    size_t rate_len = tel_out_format_rate(rate, s->packets, s->first_ms, s->last_ms);
    char cc[3] = {(char)(s->cc >> 8), (char)(s->cc & 0xff), 0};
    struct buf *b = &o->line;
    int rc = 0;

    if (SRC_CHUNK - o->sused < SRC_LINE_MAX && (rc = tel_out__flush_sources(o)))
        return rc;
    char *line = o->sbuf + o->sused;
    char *p = line;
    if (!o->day_len || o->day_ms != day_ms) { /* one day's lines share its text */
        o->day_len = (size_t)(fmt_u64(o->day_text, day_ms) - o->day_text);
        o->day_ms = day_ms;
    }
    PUT_LIT(p, "{\"day_ms\":");
    memcpy(p, o->day_text, o->day_len);
    p += o->day_len;
    PUT_LIT(p, ",\"src\":\"");
    p = fmt_str(p, addr);
    PUT_LIT(p, "\",\"packets\":");
    p = fmt_u64(p, s->packets);
    PUT_LIT(p, ",\"bytes\":");
    p = fmt_u64(p, s->bytes);
    PUT_LIT(p, ",\"first_ms\":");
    p = fmt_u64(p, s->first_ms);
    PUT_LIT(p, ",\"last_ms\":");
    p = fmt_u64(p, s->last_ms);
    PUT_LIT(p, ",\"rate_pps\":");
    memcpy(p, rate, rate_len);
    p += rate_len;
    PUT_LIT(p, ",\"destinations\":");
    p = fmt_u64(p, s->destinations);
    PUT_LIT(p, ",\"ports\":[");
    uint16_t sp[TEL_SRC_PORTS];
    sorted_ports(s->ports, s->nports, sp);
    for (unsigned i = 0; i < s->nports; i++) {
        if (i)
            *p++ = ',';
        p = fmt_u64(p, sp[i]);
    }
    PUT_LIT(p, "],\"port_count\":");
    p = fmt_u64(p, s->port_count);
    PUT_LIT(p, ",\"scan_class\":\"");
    p = fmt_str(p, s->scan_class);
    PUT_LIT(p, "\",\"tags\":[");
    p = fmt_names(p, s->tag_union, tel_tag_names, o->tag_len, TEL_TAG_COUNT);
    PUT_LIT(p, "],\"fingerprints\":[");
    p = fmt_names(p, s->fps_listed, tel_fp_names, o->fp_len, TEL_FP_COUNT);
    PUT_LIT(p, "],\"fingerprint_votes\":{");
    bool first = true;
    for (int i = 0; i < TEL_FP_COUNT; i++) {
        if (!s->fp_votes[i])
            continue;
        if (!first)
            *p++ = ',';
        *p++ = '"';
        memcpy(p, tel_fp_names[i], o->fp_len[i]);
        p += o->fp_len[i];
        PUT_LIT(p, "\":");
        p = fmt_u64(p, s->fp_votes[i]);
        first = false;
    }
    PUT_LIT(p, "},\"syn_packets\":");
    p = fmt_u64(p, s->syn_packets);
    PUT_LIT(p, ",\"iot_packets\":");
    p = fmt_u64(p, s->iot_packets);
    if (s->flags & TEL_SRC_HAS_ASN) {
        PUT_LIT(p, ",\"asn\":");
        p = fmt_u64(p, s->asn);
    }
    if (s->flags & TEL_SRC_HAS_CC) {
        PUT_LIT(p, ",\"cc\":\"");
        *p++ = cc[0];
        *p++ = cc[1];
        *p++ = '"';
    }
    if (s->flags & TEL_SRC_BOGON)
        PUT_LIT(p, ",\"bogon\":true");
    else
        PUT_LIT(p, ",\"bogon\":false");
    if (s->flags & TEL_SRC_RESEARCH)
        PUT_LIT(p, ",\"research\":true");
    else
        PUT_LIT(p, ",\"research\":false");
    if (s->infected_iot)
        PUT_LIT(p, ",\"infected_iot\":true}\n");
    else
        PUT_LIT(p, ",\"infected_iot\":false}\n");
    o->sused += (size_t)(p - line);
    if (!o->csv[F_SOURCES])
        return 0;

    buf_reset(b);
    rc = put_u64(b, day_ms);
    rc = rc ? rc : buf_putc(b, ',');
    rc = rc ? rc : buf_puts(b, addr);
    rc = rc ? rc : put_kv(b, ",", s->packets);
    rc = rc ? rc : put_kv(b, ",", s->bytes);
    rc = rc ? rc : put_kv(b, ",", s->first_ms);
    rc = rc ? rc : put_kv(b, ",", s->last_ms);
    rc = rc ? rc : buf_putc(b, ',');
    rc = rc ? rc : buf_append(b, rate, rate_len);
    rc = rc ? rc : put_kv(b, ",", s->destinations);
    rc = rc ? rc : put_kv(b, ",", s->port_count);
    rc = rc ? rc : buf_putc(b, ',');
    rc = rc ? rc : port_list(b, s->ports, s->nports, ';');
    rc = rc ? rc : buf_putc(b, ',');
    rc = rc ? rc : buf_puts(b, s->scan_class);
    rc = rc ? rc : buf_putc(b, ',');
    rc = rc ? rc : put_names(b, s->fps_listed, tel_fp_names, TEL_FP_COUNT, ';', false);
    rc = rc ? rc : buf_putc(b, ',');
    if (s->flags & TEL_SRC_HAS_ASN)
        rc = rc ? rc : put_u64(b, s->asn);
    rc = rc ? rc : buf_putc(b, ',');
    if (s->flags & TEL_SRC_HAS_CC)
        rc = rc ? rc : buf_puts(b, cc);
    rc = rc ? rc : buf_puts(b, (s->flags & TEL_SRC_BOGON) ? ",true" : ",false");
    rc = rc ? rc : buf_puts(b, (s->flags & TEL_SRC_RESEARCH) ? ",true" : ",false");
    rc = rc ? rc : buf_puts(b, s->infected_iot ? ",true\n" : ",false\n");
    return put_line(o, o->csv[F_SOURCES], rc);
}

/* ---- victims ---- */

static int out_victim(void *state, const struct tel_engine *e, const struct tel_victim *v)
{
    struct tel_out *o = state;
    char addr[IPADDR_STRLEN];
    tel_engine_addr_text(e, &v->addr, addr, sizeof addr);
    uint64_t dur = v->last_ms - v->first_ms;
    double observed = rate_pps(v->packets, v->first_ms, v->last_ms);
    uint64_t dsize = tel_engine_darknet_v4_size(e);
    bool v4 = ipaddr_is_v4(&v->addr);
    double scale = dsize && v4 ? 4294967296.0 / (double)dsize : 0.0;
    uint64_t dark = hll_estimate(v->hll_dark, TEL_VICTIM_HLL_P);

    buf_reset(&o->line);
    struct jw w;
    jw_open(&w, &o->line);
    jw_str(&w, "victim", addr);
    jw_u64(&w, "packets", v->packets);
    jw_u64(&w, "bytes", v->bytes);
    jw_u64(&w, "first_ms", v->first_ms);
    jw_u64(&w, "last_ms", v->last_ms);
    jw_u64(&w, "duration_ms", dur);
    buf_reset(&o->tmp);
    port_array(&w, "ports", v->ports, v->nports);
    jw_u64(&w, "tcp_packets", v->tcp_packets);
    jw_u64(&w, "icmp_packets", v->icmp_packets);
    jw_u64(&w, "peak_ppm", v->peak_ppm);
    jw_u64(&w, "darknet_addresses", dark);
    jw_dbl(&w, "observed_pps", observed);
    if (scale > 0) {
        jw_dbl(&w, "scaled_pps", observed * scale);
        jw_dbl(&w, "scaled_peak_pps", (double)v->peak_ppm / 60.0 * scale);
    } else {
        jw_null(&w, "scaled_pps");
        jw_null(&w, "scaled_peak_pps");
    }
    int rc = put_line(o, o->nd[F_VICTIMS], jw_close(&w));
    if (rc || !o->csv[F_VICTIMS])
        return rc;
    buf_reset(&o->line);
    rc = buf_printf(&o->line, "%s,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",",
                    addr, v->packets, v->bytes, v->first_ms, v->last_ms, dur);
    if (!rc)
        rc = port_list(&o->line, v->ports, v->nports, ';');
    if (!rc)
        rc = buf_printf(&o->line, ",%" PRIu64 ",%" PRIu64 ",%" PRIu32 ",%" PRIu64 ",%.6g,",
                        v->tcp_packets, v->icmp_packets, v->peak_ppm, dark, observed);
    if (!rc && scale > 0)
        rc = buf_printf(&o->line, "%.6g", observed * scale);
    if (!rc)
        rc = buf_putc(&o->line, '\n');
    return put_line(o, o->csv[F_VICTIMS], rc);
}

const struct tel_sink_ops tel_out_sink_ops = {
    .name = "files",
    .interval = out_interval,
    .source = out_source,
    .victim = out_victim,
};

/* ---- provenance ---- */

int tel_out_provenance(const char *dir, const struct tel_engine *e, const char *mode,
                       const struct tel_input_info *in, size_t n_in, const char *interface,
                       int argc, char **argv, bool csv)
{
    struct buf b = BUF_INIT(16u << 20);
    const struct tel_opts *o = tel_engine_opts(e);
    const struct tel_stats *st = tel_engine_stats_const(e);
    struct jw w;
    jw_open(&w, &b);
    jw_str(&w, "tool", "botscope telescope");
    jw_str(&w, "botscope_version", BS_VERSION);
    jw_u64(&w, "generated_ms", clock_wall_ms());
    jw_str(&w, "mode", mode);
    jw_arr(&w, "command_line");
    for (int i = 0; i < argc; i++) {
        /* The privacy key never goes into an output file. */
        const char *arg = argv[i];
        if (i > 0 && !strcmp(argv[i - 1], "--privacy-key"))
            arg = "(redacted)";
        else if (!strncmp(arg, "--privacy-key=", 14))
            arg = "--privacy-key=(redacted)";
        jw_str(&w, NULL, arg);
    }
    jw_end(&w);
    jw_obj(&w, "config");
    jw_arr(&w, "darknet");
    for (size_t i = 0; i < tel_engine_darknet_count(e); i++) {
        char p[IPPREFIX_STRLEN];
        jw_str(&w, NULL, ipprefix_format(tel_engine_darknet(e, i), p, sizeof p));
    }
    jw_end(&w);
    jw_u64(&w, "darknet_ipv4_addresses", tel_engine_darknet_v4_size(e));
    jw_u64(&w, "interval_ms", o->interval_ms);
    jw_arr(&w, "rollups");
    static const char *const names[TEL_LEVELS] = {"", "5m", "1h", "1d"};
    for (int i = 1; i < TEL_LEVELS; i++) {
        uint64_t len = i == 1 ? 300000ull : i == 2 ? 3600000ull : 86400000ull;
        if (len > o->interval_ms && len % o->interval_ms == 0)
            jw_str(&w, NULL, names[i]);
    }
    jw_end(&w);
    jw_str(&w, "bogons", tel_engine_bogon_source(e));
    const char *paths[3] = {o->research_path, o->pfx2as_path, o->geo_path};
    const char *pkeys[3] = {"research_scanners", "pfx2as", "geo"};
    for (int i = 0; i < 3; i++) {
        if (paths[i])
            jw_str(&w, pkeys[i], paths[i]);
        else
            jw_null(&w, pkeys[i]);
    }
    jw_arr(&w, "fingerprints");
    for (int f = 0; f < TEL_FP_COUNT; f++)
        if (o->fp_mask & (1u << f))
            jw_str(&w, NULL, tel_fp_names[f]);
    jw_end(&w);
    jw_u64(&w, "max_sources", o->max_sources);
    jw_u64(&w, "max_victims", o->max_victims);
    jw_u64(&w, "backscatter_min_packets", o->victim.min_packets);
    jw_u64(&w, "backscatter_min_duration_ms", o->victim.min_duration_ms);
    jw_u64(&w, "backscatter_min_peak_ppm", o->victim.min_peak_ppm);
    jw_u64(&w, "victim_timeout_ms", TEL_VICTIM_TIMEOUT_MS);
    jw_bool(&w, "privacy", o->privacy);
    jw_u64(&w, "top_n", o->top_n);
    jw_bool(&w, "csv", csv);
    jw_end(&w);
    jw_arr(&w, "inputs");
    for (size_t i = 0; i < n_in; i++) {
        jw_obj(&w, NULL);
        jw_str(&w, "path", in[i].path);
        jw_u64(&w, "packets", in[i].packets);
        jw_u64(&w, "first_ms", in[i].first_ms);
        if (in[i].error)
            jw_str(&w, "error", bs_strerror(in[i].error));
        else
            jw_null(&w, "error");
        jw_end(&w);
    }
    jw_end(&w);
    if (interface)
        jw_str(&w, "interface", interface);
    jw_obj(&w, "counters");
    jw_u64(&w, "packets_read", st->packets_read);
    jw_u64(&w, "bytes_read", st->bytes_read);
    jw_u64(&w, "darknet_packets", st->darknet_packets);
    jw_u64(&w, "darknet_bytes", st->darknet_bytes);
    jw_u64(&w, "non_darknet_packets", st->non_darknet_packets);
    jw_u64(&w, "non_darknet_bytes", st->non_darknet_bytes);
    jw_u64(&w, "undecoded_packets", st->undecoded_packets);
    jw_u64(&w, "late_packets", st->late_packets);
    jw_u64(&w, "time_jumps", st->time_jumps);
    jw_u64(&w, "dropped_source_packets", st->dropped_source_packets);
    jw_u64(&w, "dropped_sources", st->dropped_sources);
    jw_u64(&w, "dropped_victim_packets", st->dropped_victim_packets);
    jw_u64(&w, "dst_sketches_exhausted", st->dst_sketches_exhausted);
    jw_u64(&w, "intervals_written", st->intervals_written[0]);
    jw_u64(&w, "rollups_written",
           st->intervals_written[1] + st->intervals_written[2] + st->intervals_written[3]);
    jw_u64(&w, "sources_written", st->sources_written);
    jw_u64(&w, "victims_written", st->victims_written);
    jw_u64(&w, "attacks_below_threshold", st->attacks_below_threshold);
    jw_u64(&w, "first_ms", st->first_ms);
    jw_u64(&w, "last_ms", st->last_ms);
    jw_u64(&w, "peak_source_table_bytes", st->peak_source_memory);
    jw_u64(&w, "peak_victim_table_bytes", st->peak_victim_memory);
    jw_u64(&w, "pcap_received", st->pcap_received);
    jw_u64(&w, "pcap_dropped", st->pcap_dropped);
    jw_u64(&w, "pcap_if_dropped", st->pcap_if_dropped);
    jw_end(&w);
    jw_obj(&w, "files");
    jw_str(&w, "intervals.ndjson", "base interval");
    jw_str(&w, "intervals_5m.ndjson", "5 min roll-up");
    jw_str(&w, "intervals_1h.ndjson", "1 h roll-up");
    jw_str(&w, "intervals_1d.ndjson", "1 day roll-up");
    jw_str(&w, "sources.ndjson", "source per UTC day");
    jw_str(&w, "victims.ndjson", "backscatter attack");
    jw_end(&w);
    int rc = jw_close(&w);
    if (!rc) {
        char path[4096];
        tel_out__path(path, sizeof path, dir, "provenance", "", "json", true);
        FILE *f = fopen(path, "w");
        if (!f) {
            rc = -errno;
        } else {
            if (fwrite(b.data, 1, b.len, f) != b.len)
                rc = errno ? -errno : -EIO;
            if ((fflush(f) || fsync(fileno(f))) && !rc)
                rc = -errno;
            if (fclose(f) && !rc)
                rc = -errno;
            if (rc)
                unlink(path);
        }
    }
    buf_release(&b);
    return rc;
}
