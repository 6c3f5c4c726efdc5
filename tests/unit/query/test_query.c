/* Unit tests for src/query: filter parsing and errors, filter semantics, block skipping, and
 * the whole engine against a brute-force reference over random flows (seeded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/config.h"
#include "core/err.h"
#include "core/flow.h"
#include "core/jw.h"
#include "query/filter.h"
#include "query/query.h"
#include "store/store.h"

/* ---- helpers --------------------------------------------------------------------------- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static struct flow_rec mk(const char *src, const char *dst, unsigned sp, unsigned dp,
                          unsigned proto)
{
    struct flow_rec r;
    memset(&r, 0, sizeof r);
    assert_int_equal(ipaddr_parse(src, &r.src), 0);
    assert_int_equal(ipaddr_parse(dst, &r.dst), 0);
    ipaddr_from_v4(&r.exporter, 0x7f000001);
    r.src_port = (uint16_t)sp;
    r.dst_port = (uint16_t)dp;
    r.proto = (uint8_t)proto;
    r.packets = 10;
    r.bytes = 1000;
    r.start_ms = 1700000000000ull;
    r.end_ms = r.start_ms + 2000;
    r.sampling_rate = 1;
    return r;
}

static bool match(const char *text, const struct flow_rec *r)
{
    struct filter *f;
    struct filter_error e;
    int rc = filter_compile(text, &f, &e);
    if (rc)
        fail_msg("filter '%s' does not compile: %s at %u", text, e.msg, e.column);
    bool m = filter_match_rec(f, r);
    filter_free(f);
    return m;
}

/* ---- parser and errors ----------------------------------------------------------------- */

static void test_filter_error_points_at_offending_token(void **state)
{
    struct filter *f;
    struct filter_error e;
    assert_int_equal(filter_compile("proto tcp and porrt 23", &f, &e), BS_EPARSE);
    assert_string_equal(e.msg, "unexpected 'porrt'");
    assert_int_equal(e.column, 15);
    assert_int_equal(filter_compile("src port 99999", &f, &e), BS_EPARSE);
    assert_int_equal(e.column, 10);
    assert_int_equal(filter_compile("(proto tcp", &f, &e), BS_EPARSE);
    assert_string_equal(e.msg, "unexpected end of filter");
    assert_int_equal(e.column, 11);
    assert_int_equal(filter_compile("host 1.2.3", &f, &e), BS_EPARSE);
    assert_int_equal(e.column, 6);
    assert_int_equal(filter_compile("net 10.0.0.0/33", &f, &e), BS_EPARSE);
    assert_int_equal(filter_compile("flags SZ", &f, &e), BS_EPARSE);
    assert_int_equal(e.column, 8);
    assert_int_equal(filter_compile("packets > 1x", &f, &e), BS_EPARSE);
    assert_int_equal(filter_compile("port in []", &f, &e), BS_EPARSE);
    assert_int_equal(filter_compile("proto tcp )", &f, &e), BS_EPARSE);
    assert_int_equal(e.column, 11);
    assert_int_equal(filter_compile("src", &f, &e), BS_EPARSE);
    assert_int_equal(filter_compile("ip in @/nonexistent/file", &f, &e), -2);
    assert_int_equal(filter_compile("a & b", &f, &e), BS_EPARSE);
}

static void test_filter_deep_nesting_is_capped(void **state)
{
    char buf[2000];
    size_t n = 0;
    for (int i = 0; i < 200; i++)
        buf[n++] = '(';
    memcpy(buf + n, "any", 3);
    n += 3;
    for (int i = 0; i < 200; i++)
        buf[n++] = ')';
    buf[n] = '\0';
    struct filter *f;
    struct filter_error e;
    assert_int_equal(filter_compile(buf, &f, &e), BS_EPARSE);
    assert_non_null(strstr(e.msg, "nested"));
}

static void test_filter_empty_is_any(void **state)
{
    struct filter *f;
    assert_int_equal(filter_compile("  ", &f, NULL), 0);
    assert_true(filter_is_any(f));
    filter_free(f);
}

/* ---- semantics ------------------------------------------------------------------------- */

static void test_filter_primitives_match_nfdump_meaning(void **state)
{
    struct flow_rec r = mk("192.0.2.10", "198.51.100.7", 40000, 23, 6);
    r.tcp_flags = 0x12; /* SYN ACK */
    r.src_as = 64500;
    r.in_if = 3;
    r.out_if = 4;
    assert_true(match("proto tcp", &r));
    assert_false(match("proto udp", &r));
    assert_true(match("tcp and port 23", &r));
    assert_true(match("dst port 23 and src port 40000", &r));
    assert_false(match("src port 23", &r));
    assert_true(match("port in [22 23 2323]", &r));
    assert_true(match("dst port < 1024", &r));
    assert_true(match("port > 1024", &r)); /* either side */
    assert_false(match("dst port > 1024", &r));
    assert_true(match("host 198.51.100.7", &r));
    assert_true(match("src net 192.0.2.0/24 and not dst net 192.0.2.0/24", &r));
    assert_true(match("net 198.51.0.0/16", &r));
    assert_false(match("net 2001:db8::/32", &r));
    assert_true(match("net ::/0", &r)); /* covers the v4-mapped range */
    assert_true(match("flags S && flags SA", &r));
    assert_false(match("flags F", &r));
    assert_true(match("src as 64500 and in if 3 and out if 4", &r));
    assert_true(match("packets >= 10 and bytes = 1k and duration == 2000", &r));
    assert_true(match("pps = 5 and bps = 4000 and bpp = 100", &r));
    assert_true(match("exporter 127.0.0.1 and sampling = 1 and not sampling > 1", &r));
    assert_true(match("ipv4 and !ipv6", &r));
    assert_true(match("ip in [10.0.0.1 198.51.100.0/24]", &r));
    assert_true(match("src ip in [192.0.2.10] || proto 99", &r));
    assert_false(match("dst ip in [192.0.2.10]", &r));
    assert_true(match("not (proto udp or port 80)", &r));
    assert_true(match("proto udp or proto tcp and port 23", &r)); /* and binds tighter */
    assert_false(match("(proto udp or proto tcp) and port 24", &r));
    struct flow_rec v6 = mk("2001:db8::1", "2001:db8:1::2", 1, 2, 17);
    assert_true(match("ipv6 and src net 2001:db8::/32 and dst host 2001:db8:1::2", &v6));
    assert_false(match("net 10.0.0.0/8", &v6));
    struct flow_rec icmp = mk("192.0.2.1", "192.0.2.2", 0, 0x0800, 1);
    assert_true(match("icmp and dst port 2048", &icmp));
}

static void test_filter_address_list_file(void **state)
{
    char path[] = "/tmp/bs_filter_list.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "# botnet C&C\n198.51.100.7\n  2001:db8::1  # v6\n10.0.0.0/8\n\n");
    fclose(f);
    char text[100];
    snprintf(text, sizeof text, "dst ip in @%s", path);
    struct flow_rec a = mk("192.0.2.1", "198.51.100.7", 1, 2, 6);
    struct flow_rec b = mk("192.0.2.1", "10.9.8.7", 1, 2, 6);
    struct flow_rec c = mk("192.0.2.1", "2001:db8::1", 1, 2, 6);
    struct flow_rec d = mk("192.0.2.1", "192.0.2.99", 1, 2, 6);
    assert_true(match(text, &a));
    assert_true(match(text, &b));
    assert_true(match(text, &c));
    assert_false(match(text, &d));
    f = fopen(path, "w");
    fprintf(f, "198.51.100.7\nnot-an-address\n");
    fclose(f);
    struct filter *flt;
    struct filter_error e;
    assert_int_equal(filter_compile(text, &flt, &e), BS_EPARSE);
    assert_non_null(strstr(e.msg, ":2:"));
    unlink(path);
}

static void test_having_filters_rows(void **state)
{
    struct filter *f;
    struct filter_error e;
    assert_int_equal(filter_compile_having("flows > 10 and (bytes >= 1k or distinct > 2)", &f, &e),
                     0);
    assert_true(filter_match_row(f, 11, 0, 1000, 0));
    assert_true(filter_match_row(f, 11, 0, 0, 3));
    assert_false(filter_match_row(f, 10, 0, 5000, 5));
    filter_free(f);
    assert_int_equal(filter_compile_having("proto tcp", &f, &e), BS_EPARSE);
}

/* ---- the engine against a brute-force reference --------------------------------------- */

#define NREC 200000
static struct flow_rec *recs;
static char *store_dir;
static struct store *store;

static void gen_rec(struct flow_rec *r, size_t i)
{
    memset(r, 0, sizeof *r);
    uint64_t t0 = 1700000000000ull;
    r->start_ms = t0 + i * 36 + rnd() % 30; /* 2 hours, roughly in order */
    r->end_ms = r->start_ms + (rnd() % 4 ? rnd() % 30000 : 0);
    r->packets = 1 + rnd() % 50;
    r->bytes = r->packets * (40 + rnd() % 1460);
    /* Blocks of 120000..150000 are mixed IPv4/IPv6; 152000..162000 holds a partition (one
     * block) of IPv6 only; the rest is IPv4 only. */
    bool v6 = (i >= 152000 && i < 162000) || (i >= 120000 && i < 150000 && rnd() % 3 == 0);
    if (v6) {
        uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, 0, (uint8_t)(rnd() % 4)};
        b[15] = (uint8_t)(rnd() % 64);
        ipaddr_from_v6(&r->src, b);
        b[5] = 9;
        b[15] = (uint8_t)(rnd() % 8);
        ipaddr_from_v6(&r->dst, b);
    } else {
        ipaddr_from_v4(&r->src,
                       0x0a000000u | (uint32_t)(rnd() % 4096) << 4 | (uint32_t)(rnd() % 4));
        ipaddr_from_v4(&r->dst, 0xc6336400u + (uint32_t)(rnd() % 300));
    }
    ipaddr_from_v4(&r->exporter, 0x7f000001u + (uint32_t)(rnd() % 3));
    ipaddr_from_v4(&r->nexthop, 0);
    r->sampling_rate = rnd() % 5 ? 1 : 100;
    r->in_if = (uint32_t)(rnd() % 6);
    r->out_if = (uint32_t)(rnd() % 6);
    r->src_as = (uint32_t)(rnd() % 50);
    r->dst_as = (uint32_t)(64500 + rnd() % 3);
    static const uint16_t dports[] = {23, 2323, 80, 443, 53, 7547, 8080, 5555};
    r->dst_port = rnd() % 8 ? dports[rnd() % 8] : (uint16_t)rnd();
    r->src_port = (uint16_t)(1024 + rnd() % 64000);
    r->proto = (uint8_t)(rnd() % 10 < 7 ? 6 : rnd() % 3 ? 17 : 1);
    if (i >= 60000 && i < 66000) /* a block of its own protocol and port: skippable */
        r->dst_port = 9999;
    r->tcp_flags = r->proto == 6 ? (uint8_t)(rnd() & 0x3f) : 0;
    r->tos = (uint8_t)(rnd() % 3);
    r->version = 9;
}

static int group_setup(void **state)
{
    rng = 20240102;
    recs = calloc(NREC, sizeof *recs);
    for (size_t i = 0; i < NREC; i++)
        gen_rec(&recs[i], i);
    store_dir = strdup("/tmp/bs_query_test.XXXXXX");
    if (!mkdtemp(store_dir))
        return -1;
    char err[256];
    struct store *w;
    if (store_open(store_dir, NULL, STORE_WRITE, &w, err))
        return -1;
    /* Two flushes so that partitions have several segments. */
    if (store_append(w, recs, NREC / 3) || store_flush(w) ||
        store_append(w, recs + NREC / 3, NREC - NREC / 3) || store_close(w))
        return -1;
    return store_open(store_dir, NULL, STORE_RDONLY, &store, err);
}

static int group_teardown(void **state)
{
    store_close(store);
    nftw(store_dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    free(store_dir);
    free(recs);
    return 0;
}

/* Random filter: text and a reference predicate tree. */
enum tk {
    TK_AND,
    TK_OR,
    TK_NOT,
    TK_PROTO,
    TK_PORT,
    TK_PORTIN,
    TK_HOST,
    TK_NET,
    TK_PKTS,
    TK_BYTES,
    TK_DUR,
    TK_FLAGS,
    TK_SRCAS,
    TK_INIF,
    TK_EXP,
    TK_SAMP,
    TK_V4
};
enum tc { TC_EQ, TC_NE, TC_LT, TC_LE, TC_GT, TC_GE };

struct tnode {
    enum tk k;
    int dir; /* 0 either, 1 src, 2 dst */
    enum tc c;
    uint64_t v;
    uint64_t list[3];
    struct ipprefix pf;
    struct tnode *a, *b;
};

static const char *const cmp_text[] = {"=", "!=", "<", "<=", ">", ">="};
static const char *const dir_text[] = {"", "src ", "dst "};

static bool cmpv(enum tc c, uint64_t x, uint64_t v)
{
    switch (c) {
    case TC_EQ:
        return x == v;
    case TC_NE:
        return x != v;
    case TC_LT:
        return x < v;
    case TC_LE:
        return x <= v;
    case TC_GT:
        return x > v;
    default:
        return x >= v;
    }
}

static struct tnode *gen_filter(int depth, struct buf *out)
{
    struct tnode *n = calloc(1, sizeof *n);
    unsigned pick = (unsigned)(rnd() % (depth > 0 ? 17 : 14)) + (depth > 0 ? 0 : 3);
    if (pick < 3 && depth > 0) {
        n->k = pick == 0 ? TK_AND : pick == 1 ? TK_OR : TK_NOT;
        buf_puts(out, "(");
        if (n->k == TK_NOT) {
            buf_puts(out, rnd() % 2 ? "not " : "!");
            n->a = gen_filter(depth - 1, out);
        } else {
            n->a = gen_filter(depth - 1, out);
            buf_puts(out, n->k == TK_AND ? (rnd() % 2 ? " and " : " && ")
                                         : (rnd() % 2 ? " or " : " || "));
            n->b = gen_filter(depth - 1, out);
        }
        buf_puts(out, ")");
        return n;
    }
    const struct flow_rec *r = &recs[rnd() % NREC];
    n->k = (enum tk)(TK_PROTO + (pick - 3) % 14);
    n->dir = (int)(rnd() % 3);
    n->c = (enum tc)(rnd() % 6);
    switch (n->k) {
    case TK_PROTO:
        n->v = rnd() % 3 ? r->proto : 47;
        buf_printf(out, "proto %s",
                   n->v == 6    ? "tcp"
                   : n->v == 17 ? "udp"
                   : n->v == 1  ? "icmp"
                                : "47");
        break;
    case TK_PORT:
        n->v = rnd() % 2 ? r->dst_port : rnd() % 2 ? 1024 : r->src_port;
        buf_printf(out, "%sport %s %llu", dir_text[n->dir], cmp_text[n->c],
                   (unsigned long long)n->v);
        break;
    case TK_PORTIN:
        n->list[0] = r->dst_port;
        n->list[1] = 9999;
        n->list[2] = rnd() % 65536;
        buf_printf(out, "%sport in [%llu %llu, %llu]", dir_text[n->dir],
                   (unsigned long long)n->list[0], (unsigned long long)n->list[1],
                   (unsigned long long)n->list[2]);
        break;
    case TK_HOST: {
        n->pf.addr = rnd() % 2 ? r->src : r->dst;
        n->pf.len = 128;
        char a[IPADDR_STRLEN];
        buf_printf(out, "%shost %s", dir_text[n->dir], ipaddr_format(&n->pf.addr, a, sizeof a));
        break;
    }
    case TK_NET: {
        n->pf.addr = rnd() % 2 ? r->src : r->dst;
        bool v4 = ipaddr_is_v4(&n->pf.addr);
        unsigned fl = v4 ? 8 + (unsigned)(rnd() % 25) : 16 + (unsigned)(rnd() % 113);
        n->pf.len = (uint8_t)(v4 ? 96 + fl : fl);
        ipaddr_mask(&n->pf.addr, n->pf.len);
        char a[IPPREFIX_STRLEN];
        buf_printf(out, "%snet %s", dir_text[n->dir], ipprefix_format(&n->pf, a, sizeof a));
        break;
    }
    case TK_PKTS:
    case TK_BYTES:
    case TK_DUR:
        n->v = n->k == TK_PKTS ? r->packets : n->k == TK_BYTES ? r->bytes : r->end_ms - r->start_ms;
        buf_printf(out, "%s %s %llu",
                   n->k == TK_PKTS    ? "packets"
                   : n->k == TK_BYTES ? "bytes"
                                      : "duration",
                   cmp_text[n->c], (unsigned long long)n->v);
        break;
    case TK_FLAGS: {
        static const char *const fs[] = {"S", "SA", "F", "RA", "AP"};
        static const uint8_t fm[] = {0x02, 0x12, 0x01, 0x14, 0x18};
        unsigned k = (unsigned)(rnd() % 5);
        n->v = fm[k];
        buf_printf(out, "flags %s", fs[k]);
        break;
    }
    case TK_SRCAS:
        n->v = r->src_as;
        buf_printf(out, "src as %s %llu", cmp_text[n->c], (unsigned long long)n->v);
        break;
    case TK_INIF:
        n->v = r->in_if;
        n->dir = (int)(rnd() % 3);
        buf_printf(out, "%s %llu",
                   n->dir == 1   ? "in if"
                   : n->dir == 2 ? "out if"
                                 : "if",
                   (unsigned long long)n->v);
        break;
    case TK_EXP: {
        char a[IPADDR_STRLEN];
        n->pf.addr = r->exporter;
        buf_printf(out, "exporter %s", ipaddr_format(&r->exporter, a, sizeof a));
        break;
    }
    case TK_SAMP:
        buf_puts(out, "sampling > 1");
        break;
    case TK_V4:
        n->v = rnd() % 2;
        buf_puts(out, n->v ? "ipv4" : "ipv6");
        break;
    default:
        break;
    }
    return n;
}

static bool either(int dir, bool s, bool d)
{
    return dir == 1 ? s : dir == 2 ? d : (s || d);
}

static bool ref_eval(const struct tnode *n, const struct flow_rec *r)
{
    switch (n->k) {
    case TK_AND:
        return ref_eval(n->a, r) && ref_eval(n->b, r);
    case TK_OR:
        return ref_eval(n->a, r) || ref_eval(n->b, r);
    case TK_NOT:
        return !ref_eval(n->a, r);
    case TK_PROTO:
        return r->proto == n->v;
    case TK_PORT:
        return either(n->dir, cmpv(n->c, r->src_port, n->v), cmpv(n->c, r->dst_port, n->v));
    case TK_PORTIN: {
        bool s = false, d = false;
        for (int i = 0; i < 3; i++) {
            s |= r->src_port == n->list[i];
            d |= r->dst_port == n->list[i];
        }
        return either(n->dir, s, d);
    }
    case TK_HOST:
        return either(n->dir, !ipaddr_cmp(&r->src, &n->pf.addr), !ipaddr_cmp(&r->dst, &n->pf.addr));
    case TK_NET:
        return either(n->dir, ipprefix_contains(&n->pf, &r->src),
                      ipprefix_contains(&n->pf, &r->dst));
    case TK_PKTS:
        return cmpv(n->c, r->packets, n->v);
    case TK_BYTES:
        return cmpv(n->c, r->bytes, n->v);
    case TK_DUR:
        return cmpv(n->c, r->end_ms - r->start_ms, n->v);
    case TK_FLAGS:
        return (r->tcp_flags & n->v) == n->v;
    case TK_SRCAS:
        return cmpv(n->c, r->src_as, n->v);
    case TK_INIF:
        return either(n->dir, r->in_if == n->v, r->out_if == n->v);
    case TK_EXP:
        return !ipaddr_cmp(&r->exporter, &n->pf.addr);
    case TK_SAMP:
        return r->sampling_rate > 1;
    case TK_V4:
        return ipaddr_is_v4(&r->src) == (n->v != 0);
    }
    return false;
}

static void free_tree(struct tnode *n)
{
    if (!n)
        return;
    free_tree(n->a);
    free_tree(n->b);
    free(n);
}

/* Runs q with ndjson output into a memory buffer. */
static char *run_query(struct query_spec *q, struct query_stats *st)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    q->out = f;
    struct query_error e;
    int rc = query_run(store, q, st, &e);
    fclose(f);
    if (rc)
        fail_msg("query failed: %d %s (filter '%s')", rc, e.msg, q->filter ? q->filter : "");
    return text;
}

static void test_engine_filters_match_reference_counts(void **state)
{
    rng = 777;
    for (int iter = 0; iter < 120; iter++) {
        struct buf ft = BUF_INIT(4096);
        struct tnode *t = gen_filter((int)(rnd() % 4), &ft);
        struct query_spec q;
        query_spec_init(&q);
        q.filter = ft.data;
        q.count_only = true;
        q.format = QF_NDJSON;
        q.threads = 1 + (unsigned)(iter % 2);
        if (iter % 4 == 3) {
            q.t_lo = recs[rnd() % NREC].start_ms;
            q.t_hi = q.t_lo + rnd() % 3000000;
        }
        uint64_t n = 0, pk = 0, by = 0;
        for (size_t i = 0; i < NREC; i++) {
            const struct flow_rec *r = &recs[i];
            if (r->start_ms < q.t_lo || r->start_ms > q.t_hi || !ref_eval(t, r))
                continue;
            n++;
            pk += r->packets;
            by += r->bytes;
        }
        struct query_stats st;
        char *out = run_query(&q, &st);
        if (st.matched != n || st.packets != pk || st.bytes != by)
            fail_msg("filter '%s': engine %llu flows, reference %llu", ft.data,
                     (unsigned long long)st.matched, (unsigned long long)n);
        free(out);
        free_tree(t);
        buf_release(&ft);
    }
}

static void test_engine_skips_blocks_by_port_and_host(void **state)
{
    struct query_spec q;
    query_spec_init(&q);
    q.filter = "dst port 9999 and proto tcp";
    q.count_only = true;
    q.format = QF_NDJSON;
    struct query_stats st;
    free(run_query(&q, &st));
    uint64_t ref = 0;
    for (size_t i = 0; i < NREC; i++)
        ref += recs[i].dst_port == 9999 && recs[i].proto == 6;
    assert_int_equal(st.matched, ref);
    assert_true(st.scan.blocks_skipped > st.scan.blocks_total / 2);
    q.filter = "src host 2001:db8::1:0:0:3f"; /* absent from every IPv4-only block */
    free(run_query(&q, &st));
    assert_true(st.scan.blocks_skipped > 0);
}

struct refrow {
    char key[160];
    char dval[48];
    size_t idx;
};

static int cmp_refrow(const void *a, const void *b)
{
    const struct refrow *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->dval, y->dval);
}

static int cmp_line(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void key_json(struct jw *w, const struct query_key *k, const struct flow_rec *r, char *plain,
                     size_t plen)
{
    char t[IPPREFIX_STRLEN];
    const struct ipaddr *a = NULL;
    uint64_t v = 0;
    switch (k->id) {
    case QK_SRCIP:
        a = &r->src;
        break;
    case QK_DSTIP:
        a = &r->dst;
        break;
    case QK_EXPORTER:
        a = &r->exporter;
        break;
    case QK_SRCPORT:
        v = r->src_port;
        break;
    case QK_DSTPORT:
        v = r->dst_port;
        break;
    case QK_PROTO:
        v = r->proto;
        break;
    case QK_IN_IF:
        v = r->in_if;
        break;
    case QK_SRC_AS:
        v = r->src_as;
        break;
    default:
        fail();
    }
    if (a) {
        bool v4 = ipaddr_is_v4(a);
        if ((v4 && k->v4len < 32) || (!v4 && k->v6len < 128)) {
            struct ipprefix p = {*a, (uint8_t)(v4 ? 96 + k->v4len : k->v6len)};
            ipaddr_mask(&p.addr, p.len);
            ipprefix_format(&p, t, sizeof t);
        } else {
            ipaddr_format(a, t, sizeof t);
        }
        if (w)
            jw_str(w, query_key_name(k), t);
        snprintf(plain, plen, "%s", t);
    } else {
        if (w)
            jw_u64(w, query_key_name(k), v);
        snprintf(plain, plen, "%llu", (unsigned long long)v);
    }
}

/* Runs the aggregation q (filter tree t, NULL = any, q->filter its text) with q->threads up
 * to max_threads scan threads and compares every row with a brute-force reference over recs. */
static void check_aggregation(struct query_spec *q, const struct tnode *t, const char *label,
                              struct refrow *rows, unsigned max_threads)
{
    bool dk = q->has_distinct;
    q->format = QF_NDJSON;
    /* Reference: sort (group, distinct value) pairs, then walk groups. */
    size_t n = 0;
    for (size_t i = 0; i < NREC; i++) {
        if (t && !ref_eval(t, &recs[i]))
            continue;
        size_t off = 0;
        rows[n].key[0] = '\0';
        for (size_t k = 0; k < q->nkeys; k++) {
            char p[64];
            key_json(NULL, &q->keys[k], &recs[i], p, sizeof p);
            off += (size_t)snprintf(rows[n].key + off, sizeof rows[n].key - off, "%s|", p);
        }
        rows[n].dval[0] = '\0';
        if (dk)
            key_json(NULL, &q->distinct, &recs[i], rows[n].dval, sizeof rows[n].dval);
        rows[n].idx = i;
        n++;
    }
    qsort(rows, n, sizeof *rows, cmp_refrow);
    char **exp = malloc((n + 1) * sizeof *exp);
    size_t nexp = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        uint64_t fl = 0, pk = 0, by = 0, dist = 0;
        for (; j < n && !strcmp(rows[j].key, rows[i].key); j++) {
            fl++;
            pk += recs[rows[j].idx].packets;
            by += recs[rows[j].idx].bytes;
            if (j == i || strcmp(rows[j].dval, rows[j - 1].dval))
                dist++;
        }
        if (!q->having || fl > 2) {
            struct buf b = BUF_INIT(4096);
            struct jw w;
            jw_open(&w, &b);
            char p[64];
            for (size_t k = 0; k < q->nkeys; k++)
                key_json(&w, &q->keys[k], &recs[rows[i].idx], p, sizeof p);
            jw_u64(&w, "flows", fl);
            jw_u64(&w, "packets", pk);
            jw_u64(&w, "bytes", by);
            if (dk) {
                char dn[64];
                snprintf(dn, sizeof dn, "distinct_%s", query_key_name(&q->distinct));
                jw_u64(&w, dn, dist);
            }
            jw_close(&w);
            b.data[b.len - 1] = '\0'; /* drop newline */
            exp[nexp++] = b.data;
        }
        i = j;
    }
    qsort(exp, nexp, sizeof *exp, cmp_line);
    for (; q->threads <= max_threads; q->threads++) {
        struct query_stats st;
        char *out = run_query(q, &st);
        char **got = malloc((nexp + 16) * sizeof *got);
        size_t ngot = 0;
        char *save = NULL;
        for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
            if (ngot == nexp + 15)
                fail_msg("%s: engine printed more rows than the reference (%zu)", label, nexp);
            got[ngot++] = l;
        }
        if (ngot != nexp)
            fail_msg("%s filter '%s' threads %u: %zu rows, reference %zu", label,
                     q->filter ? q->filter : "", q->threads, ngot, nexp);
        qsort(got, ngot, sizeof *got, cmp_line);
        for (size_t i = 0; i < nexp; i++)
            if (strcmp(exp[i], got[i]))
                fail_msg("%s threads %u: row differs:\n  engine    %s\n  reference %s", label,
                         q->threads, got[i], exp[i]);
        free(got);
        free(out);
    }
    for (size_t i = 0; i < nexp; i++)
        free(exp[i]);
    free(exp);
}

static void test_engine_aggregations_match_reference(void **state)
{
    static const char *const keysets[] = {
        "srcip/24",       "dstip,dstport",     "proto,dstport", "srcip/20/64",
        "exporter,in_if", "dstip/16/48,proto", "srcport",       "src_as,dstport",
    };
    static const char *const dkeys[] = {NULL, "srcip", "dstport", "srcip/24"};
    rng = 4242;
    struct refrow *rows = malloc(NREC * sizeof *rows);
    for (int iter = 0; iter < 16; iter++) {
        struct query_spec q;
        query_spec_init(&q);
        struct query_error e;
        assert_int_equal(query_parse_keys(keysets[iter % 8], q.keys, QUERY_MAX_KEYS, &q.nkeys, &e),
                         0);
        const char *dk = dkeys[iter % 4];
        if (dk) {
            assert_int_equal(query_parse_key(dk, &q.distinct, &e), 0);
            q.has_distinct = true;
        }
        struct buf ft = BUF_INIT(4096);
        struct tnode *t = gen_filter(1, &ft);
        if (iter % 3 == 0) {
            free_tree(t);
            t = NULL;
            buf_reset(&ft);
        }
        q.filter = ft.data;
        q.threads = 1 + (unsigned)(iter % 2);
        q.having = iter % 5 == 4 ? "flows > 2" : NULL;
        check_aggregation(&q, t, keysets[iter % 8], rows, q.threads);
        free_tree(t);
        buf_release(&ft);
    }
    free(rows);
}

/* Each specialised aggregation path against the reference, over IPv4-only, mixed and
 * IPv6-only blocks, with one to three scan threads (a group merged across three thread
 * tables): packed 64-bit group keys (masked IPv4
 * addresses with ports and protocol; /0, /32 and a full 64 bits), keys too wide to pack,
 * packed (group, value) pairs, and pairs too wide to pack whose group is packed. */
static void test_engine_packed_key_paths_match_reference(void **state)
{
    static const struct {
        const char *keys, *distinct;
    } cases[] = {
        {"srcip/24", NULL},              /* 32-bit key, /24 */
        {"srcip/0", NULL},               /* every IPv4 source in one group */
        {"srcip/0/0", NULL},             /* and every IPv6 one in another */
        {"dstip/32", NULL},              /* explicit /32 = whole address */
        {"srcip/24/64", NULL},           /* IPv6 masked too */
        {"srcip,dstport,proto", NULL},   /* 56 bits: address, port, protocol */
        {"srcip/28,dstip", NULL},        /* exactly 64 bits */
        {"srcip,dstip,dstport", NULL},   /* 80 bits: generic table only */
        {"proto,srcport,dstport", NULL}, /* no address */
        {"dstport", "srcip"},            /* packed pairs; IPv6 values in generic pairs */
        {"srcip/24", "dstip"},           /* 64-bit pairs */
        {"srcip/24", "dstport"},
        {"exporter,in_if", "srcip"},      /* 96-bit pair of a packed group: generic pairs */
        {"srcip,dstip,dstport", "proto"}, /* nothing packs */
        {"proto", "srcip/0"},             /* pair value 0 */
    };
    struct refrow *rows = malloc(NREC * sizeof *rows);
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        {
            struct query_spec q;
            query_spec_init(&q);
            struct query_error e;
            assert_int_equal(query_parse_keys(cases[c].keys, q.keys, QUERY_MAX_KEYS, &q.nkeys, &e),
                             0);
            if (cases[c].distinct) {
                assert_int_equal(query_parse_key(cases[c].distinct, &q.distinct, &e), 0);
                q.has_distinct = true;
            }
            q.threads = 1;
            char label[96];
            snprintf(label, sizeof label, "keys %s distinct %s", cases[c].keys,
                     cases[c].distinct ? cases[c].distinct : "-");
            check_aggregation(&q, NULL, label, rows, 3);
        }
    }
    free(rows);
}

/* A top N (bounded selection) prints exactly the first N rows of the full sorted listing,
 * ties (equal measures) broken the same way, across packed and generic groups. */
static void test_engine_top_n_equals_head_of_full_sort(void **state)
{
    static const char *const stats[] = {"srcip/24/flows", "srcip,dstip,dstport/packets",
                                        "dstport/distinct:srcip"};
    for (size_t i = 0; i < sizeof stats / sizeof stats[0]; i++) {
        struct query_spec q;
        query_spec_init(&q);
        struct query_error e;
        assert_int_equal(query_parse_stat(stats[i], &q, &e), 0);
        q.format = QF_CSV;
        q.threads = 2;
        struct query_stats st;
        char *all = run_query(&q, &st);
        assert_true(st.groups > 40);
        for (size_t lim = 1; lim <= 40; lim += 18) {
            q.limit = lim;
            char *top = run_query(&q, &st);
            /* header + lim rows */
            size_t len = 0, lines = 0;
            while (all[len] && lines < lim + 1)
                lines += all[len++] == '\n';
            if (strlen(top) != len || memcmp(top, all, len))
                fail_msg("%s -n %zu: top rows differ from the full listing's head:\n%s", stats[i],
                         lim, top);
            free(top);
        }
        free(all);
    }
}

static int cmp_u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x > y ? -1 : x < y;
}

static void test_engine_top_n_by_bytes_matches_reference(void **state)
{
    struct query_spec q;
    query_spec_init(&q);
    struct query_error e;
    assert_int_equal(query_parse_stat("srcip/24/bytes", &q, &e), 0);
    assert_int_equal(q.order, QO_BYTES);
    q.limit = 10;
    q.format = QF_CSV;
    q.threads = 2;
    struct query_stats st;
    char *out = run_query(&q, &st);
    /* Reference: bytes per /24 (IPv6 sources whole). */
    struct refrow *rows = malloc(NREC * sizeof *rows);
    for (size_t i = 0; i < NREC; i++) {
        char p[64];
        key_json(NULL, &q.keys[0], &recs[i], p, sizeof p);
        snprintf(rows[i].key, sizeof rows[i].key, "%s", p);
        rows[i].dval[0] = '\0';
        rows[i].idx = i;
    }
    qsort(rows, NREC, sizeof *rows, cmp_refrow);
    uint64_t *sums = malloc(NREC * sizeof *sums);
    size_t ng = 0;
    for (size_t i = 0; i < NREC;) {
        size_t j = i;
        uint64_t by = 0;
        for (; j < NREC && !strcmp(rows[j].key, rows[i].key); j++)
            by += recs[rows[j].idx].bytes;
        sums[ng++] = by;
        i = j;
    }
    qsort(sums, ng, sizeof *sums, cmp_u64_desc);
    assert_int_equal(st.groups, ng);
    /* CSV: header, then 10 rows "key,flows,packets,bytes". */
    char *save = NULL;
    char *l = strtok_r(out, "\n", &save);
    assert_string_equal(l, "src_addr,flows,packets,bytes");
    for (int i = 0; i < 10; i++) {
        l = strtok_r(NULL, "\n", &save);
        assert_non_null(l);
        const char *last = strrchr(l, ',');
        assert_int_equal(strtoull(last + 1, NULL, 10), sums[i]);
    }
    assert_null(strtok_r(NULL, "\n", &save));
    free(sums);
    free(rows);
    free(out);
}

static void test_engine_plain_listing_ndjson_uses_collect_keys(void **state)
{
    struct query_spec q;
    query_spec_init(&q);
    q.filter = "dst port 9999";
    q.limit = 3;
    q.format = QF_NDJSON;
    struct query_stats st;
    char *out = run_query(&q, &st);
    int lines = 0;
    for (char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(out, "\"dst_port\":9999"));
    assert_non_null(strstr(out, "\"src_addr\":\"10."));
    assert_non_null(strstr(out, "\"start_ms\":"));
    free(out);
}

static int count_and_stop(void *ctx, const struct flow_rec *r)
{
    uint64_t *n = ctx;
    assert_int_equal(r->dst_port, 9999);
    return ++*n == 5; /* stop after the fifth record */
}

/* query_exec gives the rows as data in result order; rows pushed in any order into a fresh
 * result (what a backend answering the query itself does) come out of query_result_finish in
 * the same order; a listing goes through on_record and stops when it says so. */
static void test_engine_exec_result_order_and_record_callback(void **state)
{
    static const char *const stats[] = {"srcip/24,dstport/bytes", "dstport/flows",
                                        "proto,dstip/packets", "dstport/distinct:srcip"};
    for (size_t si = 0; si < sizeof stats / sizeof stats[0]; si++) {
        struct query_spec q;
        query_spec_init(&q);
        struct query_error e;
        assert_int_equal(query_parse_stat(stats[si], &q, &e), 0);
        q.threads = 2;
        struct query_result *res;
        assert_int_equal(query_exec(store, &q, &res, &e), 0);
        assert_true(res->nrows > 1);
        assert_int_equal(res->nrows, res->stats.groups);
        uint64_t flows = 0;
        for (size_t i = 0; i < res->nrows; i++) {
            flows += res->rows[i].flows;
            if (!i)
                continue;
            const struct query_row *a = &res->rows[i - 1], *b = &res->rows[i];
            uint64_t ma = q.order == QO_BYTES      ? a->bytes
                          : q.order == QO_PACKETS  ? a->packets
                          : q.order == QO_DISTINCT ? a->distinct
                                                   : a->flows;
            uint64_t mb = q.order == QO_BYTES      ? b->bytes
                          : q.order == QO_PACKETS  ? b->packets
                          : q.order == QO_DISTINCT ? b->distinct
                                                   : b->flows;
            assert_true(ma > mb || (ma == mb && (a->flows > b->flows ||
                                                 (a->flows == b->flows &&
                                                  memcmp(a->key, b->key, res->klen) < 0))));
        }
        assert_int_equal(flows, res->stats.matched);
        /* Push the rows reversed into a fresh result with a limit: same head. */
        q.limit = 7;
        struct query_result again;
        query_result_init(&again, &q);
        assert_int_equal(again.klen, res->klen);
        for (size_t i = res->nrows; i-- > 0;) {
            const struct query_row *r = &res->rows[i];
            assert_int_equal(
                query_result_push(&again, r->key, r->flows, r->packets, r->bytes, r->distinct), 0);
        }
        query_result_finish(&again);
        assert_int_equal(again.nrows, 7);
        for (size_t i = 0; i < again.nrows; i++) {
            assert_memory_equal(again.rows[i].key, res->rows[i].key, res->klen);
            assert_int_equal(again.rows[i].bytes, res->rows[i].bytes);
        }
        if (q.keys[0].id == QK_DSTPORT)
            assert_true(query_row_num(res, &res->rows[0], 0) <= 65535);
        query_result_release(&again);
        query_result_free(res);
    }
    struct query_spec q;
    query_spec_init(&q);
    q.filter = "dst port 9999";
    uint64_t n = 0;
    q.on_record = count_and_stop;
    q.record_ctx = &n;
    struct query_result *res;
    struct query_error e;
    assert_int_equal(query_exec(store, &q, &res, &e), 0);
    assert_int_equal(n, 5);
    assert_int_equal(res->nrows, 0);
    assert_int_equal(res->stats.matched, 5);
    query_result_free(res);
    q.filter = "dst port 9999 and";
    assert_int_equal(query_exec(store, &q, &res, &e), BS_EPARSE);
    assert_null(res);
    assert_true(e.in_filter);
}

static void test_query_key_and_stat_parsing(void **state)
{
    struct query_key k[QUERY_MAX_KEYS];
    size_t n;
    struct query_error e;
    assert_int_equal(query_parse_keys("srcip/24,dstport", k, QUERY_MAX_KEYS, &n, &e), 0);
    assert_int_equal(n, 2);
    assert_int_equal(k[0].v4len, 24);
    assert_int_equal(k[0].v6len, 128);
    assert_int_equal(query_parse_keys("srcip6/64", k, QUERY_MAX_KEYS, &n, &e), 0);
    assert_int_equal(k[0].v4len, 32);
    assert_int_equal(k[0].v6len, 64);
    assert_int_equal(query_parse_keys("dstip/16/48", k, QUERY_MAX_KEYS, &n, &e), 0);
    assert_int_equal(k[0].v6len, 48);
    assert_int_equal(query_parse_keys("dstport/24", k, QUERY_MAX_KEYS, &n, &e), BS_EPARSE);
    assert_int_equal(query_parse_keys("srcip/33/200", k, QUERY_MAX_KEYS, &n, &e), BS_EPARSE);
    assert_int_equal(query_parse_keys("bogus", k, QUERY_MAX_KEYS, &n, &e), BS_EPARSE);
    struct query_spec q;
    query_spec_init(&q);
    assert_int_equal(query_parse_stat("dstport/distinct:srcip", &q, &e), 0);
    assert_int_equal(q.order, QO_DISTINCT);
    assert_true(q.has_distinct);
    assert_int_equal(q.distinct.id, QK_SRCIP);
    assert_int_equal(q.keys[0].id, QK_DSTPORT);
    query_spec_init(&q);
    assert_int_equal(query_parse_stat("srcip", &q, &e), 0);
    assert_int_equal(q.order, QO_FLOWS);
}

static void test_engine_group_cap_is_reported(void **state)
{
    struct query_spec q;
    query_spec_init(&q);
    struct query_error e;
    assert_int_equal(query_parse_keys("srcport", q.keys, QUERY_MAX_KEYS, &q.nkeys, &e), 0);
    q.max_groups = 100;
    q.out = fopen("/dev/null", "w");
    assert_int_equal(query_run(store, &q, NULL, &e), BS_ELIMIT);
    assert_non_null(strstr(e.msg, "cap"));
    fclose(q.out);
}

int main(void)
{
    const struct CMUnitTest unit[] = {
        cmocka_unit_test(test_filter_error_points_at_offending_token),
        cmocka_unit_test(test_filter_deep_nesting_is_capped),
        cmocka_unit_test(test_filter_empty_is_any),
        cmocka_unit_test(test_filter_primitives_match_nfdump_meaning),
        cmocka_unit_test(test_filter_address_list_file),
        cmocka_unit_test(test_having_filters_rows),
        cmocka_unit_test(test_query_key_and_stat_parsing),
    };
    const struct CMUnitTest engine[] = {
        cmocka_unit_test(test_engine_filters_match_reference_counts),
        cmocka_unit_test(test_engine_skips_blocks_by_port_and_host),
        cmocka_unit_test(test_engine_aggregations_match_reference),
        cmocka_unit_test(test_engine_packed_key_paths_match_reference),
        cmocka_unit_test(test_engine_top_n_equals_head_of_full_sort),
        cmocka_unit_test(test_engine_top_n_by_bytes_matches_reference),
        cmocka_unit_test(test_engine_plain_listing_ndjson_uses_collect_keys),
        cmocka_unit_test(test_engine_group_cap_is_reported),
        cmocka_unit_test(test_engine_exec_result_order_and_record_callback),
    };
    int rc = cmocka_run_group_tests(unit, NULL, NULL);
    return rc | cmocka_run_group_tests(engine, group_setup, group_teardown);
}
