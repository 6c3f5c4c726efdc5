/* Unit tests for the embedded store's write path: the writer thread (batches handed over,
 * flush waiting for them, appends and flushes from several threads), the key sort (arrival
 * order, wide time ranges, partitions), seg_write_ordered, and the skip index built by
 * hashing (list, Bloom filter, none by distinct count). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/err.h"
#include "core/flow.h"
#include "store/colenc.h"
#include "store/segment.h"
#include "store/statedb.h"
#include "store/store.h"
#include "store_testutil.h"

/* ---- helpers --------------------------------------------------------------------------- */

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* A record with start time t whose other fields derive from id (so records are distinct). */
static void make_rec(struct flow_rec *r, uint64_t t, uint32_t id)
{
    memset(r, 0, sizeof *r);
    r->start_ms = t;
    r->end_ms = t + id % 1000;
    r->packets = 1 + id % 7;
    r->bytes = 40 + id;
    ipaddr_from_v4(&r->src, 0x0a000000u | id);
    ipaddr_from_v4(&r->dst, 0xc6336400u | (id & 0xff));
    ipaddr_from_v4(&r->exporter, 0x7f000001u + id % 3);
    ipaddr_from_v4(&r->nexthop, 0);
    r->sampling_rate = 1;
    r->src_port = (uint16_t)id;
    r->dst_port = 23;
    r->proto = 6;
    r->version = 9;
}

struct collect {
    struct st_recs r;
    uint64_t blocks, unsorted_blocks, mixed_partition_blocks, partition_ms;
    pthread_mutex_t lock;
};

static bool collect_pred(void *ctx, unsigned thread, const struct store_block_meta *m)
{
    struct collect *c = ctx;
    (void)thread;
    pthread_mutex_lock(&c->lock);
    if (c->partition_ms && m->t_min / c->partition_ms != m->t_max / c->partition_ms)
        c->mixed_partition_blocks++;
    pthread_mutex_unlock(&c->lock);
    return true;
}

static int collect_block(void *ctx, unsigned thread, const struct store_block *b)
{
    struct collect *c = ctx;
    (void)thread;
    pthread_mutex_lock(&c->lock);
    c->blocks++;
    for (size_t i = 0; i < b->n; i++) {
        if (i && b->start_ms[i] < b->start_ms[i - 1])
            c->unsorted_blocks++;
        st_recs_push(&c->r, b, i);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static void scan_dir(const char *dir, struct collect *c)
{
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    struct store_scan sc = {.t_lo = 0,
                            .t_hi = UINT64_MAX,
                            .cols = STORE_COLS_ALL,
                            .threads = 2,
                            .block_pred = collect_pred,
                            .on_block = collect_block,
                            .ctx = c};
    assert_int_equal(store_scan(s, &sc, NULL), 0);
    store_close(s);
}

/* Asserts that the store at dir holds exactly want[0..n) (any order; want is sorted here). */
static void assert_store_holds(const char *dir, struct flow_rec *want, size_t n,
                               uint64_t partition_ms)
{
    struct collect c = {.lock = PTHREAD_MUTEX_INITIALIZER, .partition_ms = partition_ms};
    scan_dir(dir, &c);
    assert_int_equal(c.r.n, n);
    assert_int_equal(c.unsorted_blocks, 0);
    assert_int_equal(c.mixed_partition_blocks, 0);
    qsort(c.r.v, c.r.n, sizeof *c.r.v, st_cmp_rec);
    qsort(want, n, sizeof *want, st_cmp_rec);
    for (size_t i = 0; i < n; i++)
        assert_memory_equal(&c.r.v[i], &want[i], sizeof *want);
    free(c.r.v);
}

/* Writes one segment of recs[0..n) with options o (cctx: a ZSTD_CCtx for zstd) to a temp file
 * and parses it back (bytes in *mem). */
static void segment_roundtrip_opts(struct flow_rec *recs, const uint32_t *order, size_t n,
                                   const struct seg_writer_opts *o, void *cctx, struct seg *sg,
                                   uint8_t **mem)
{
    FILE *f = tmpfile();
    assert_non_null(f);
    uint64_t bytes = 0;
    if (order)
        assert_int_equal(seg_write_ordered(f, recs, order, n, o, cctx, NULL, &bytes), 0);
    else
        assert_int_equal(seg_write(f, recs, n, o, cctx, &bytes), 0);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    assert_int_equal((uint64_t)len, bytes);
    rewind(f);
    *mem = malloc((size_t)len);
    assert_non_null(*mem);
    assert_int_equal(fread(*mem, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    assert_int_equal(seg_parse(sg, *mem, (size_t)len, "mem"), 0);
}

/* The same without compression. */
static void segment_roundtrip(struct flow_rec *recs, const uint32_t *order, size_t n,
                              struct seg *sg, uint8_t **mem)
{
    struct seg_writer_opts o = {.codec = SEG_CODEC_NONE, .zstd_level = 1};
    segment_roundtrip_opts(recs, order, n, &o, NULL, sg, mem);
}

/* Asserts that segment sg holds exactly want[0..n), in order. */
static void assert_segment_holds(const struct seg *sg, const struct flow_rec *want, size_t n)
{
    struct seg_scratch *scr = seg_scratch_new();
    assert_non_null(scr);
    size_t k = 0;
    for (unsigned b = 0; b < sg->nblocks; b++) {
        struct store_block blk;
        assert_int_equal(seg_decode_block(sg, b, STORE_COLS_ALL, 0, scr, &blk, NULL), 0);
        for (size_t i = 0; i < blk.n; i++, k++) {
            struct flow_rec r;
            assert_true(k < n);
            store_block_record(&blk, i, &r);
            assert_memory_equal(&r, &want[k], sizeof r);
        }
    }
    assert_int_equal(k, n);
    seg_scratch_free(scr);
}

/* ---- segment writer -------------------------------------------------------------------- */

/* [store] compression = auto: lz4 for a column where it comes within a quarter of zstd's
 * bytes (destination ports in runs of random values: both find the runs, neither shrinks the
 * random bytes), zstd where it compresses far better (packet counts of two bits of entropy a
 * byte), not zstd where it does not shrink the column (random source ports); tried on the first
 * block and every eighth, kept between; every block reads back the same records. Plain zstd
 * stays zstd wherever it shrinks the column. */
static void test_segment_auto_codec_picks_per_column(void **state)
{
    (void)state;
    enum { N = 9 * SEGMENT_BLOCK_RECORDS + 100 }; /* blocks 0..9: 0 and 8 are tries */
    struct flow_rec *recs = malloc(N * sizeof *recs);
    assert_non_null(recs);
    uint64_t s = 99;
    uint16_t run = 0;
    for (uint32_t i = 0; i < N; i++) {
        make_rec(&recs[i], 1700000000000ull + i / 4, i);
        if (rnd(&s) % 4 == 0)
            run = (uint16_t)rnd(&s);
        recs[i].dst_port = run;
        recs[i].src_port = (uint16_t)rnd(&s);
        recs[i].packets = 1 + rnd(&s) % 4;
    }
    for (int a = 0; a < 2; a++) {
        ZSTD_CCtx *cctx = ZSTD_createCCtx();
        assert_non_null(cctx);
        struct seg_writer_opts o = {.codec = SEG_CODEC_ZSTD, .zstd_level = 1, .auto_lz4 = a};
        struct seg sg;
        uint8_t *mem;
        segment_roundtrip_opts(recs, NULL, N, &o, cctx, &sg, &mem);
        ZSTD_freeCCtx(cctx);
        assert_int_equal(sg.nblocks, 10);
        for (unsigned b = 0; b < sg.nblocks; b++) {
            const struct seg_colref *cr = sg.blocks[b].cols;
            assert_int_equal(cr[STORE_COL_DST_PORT].codec, a ? SEG_CODEC_LZ4 : SEG_CODEC_ZSTD);
            assert_int_equal(cr[STORE_COL_PACKETS].codec, SEG_CODEC_ZSTD);
            /* (lz4 may shrink random bytes by a few matches found by chance) */
            assert_int_not_equal(cr[STORE_COL_SRC_PORT].codec, a ? SEG_CODEC_ZSTD : SEG_CODEC_LZ4);
            /* Between the tries, a column keeps its try's pick: zstd, or the fast kind (lz4,
             * or the bytes as they are); either is stored as is when it does not shrink them. */
            for (unsigned c = 0; c < STORE_COL_COUNT && a && b % 8; c++) {
                bool tried_zstd = sg.blocks[b - b % 8].cols[c].codec == SEG_CODEC_ZSTD;
                if (cr[c].codec != SEG_CODEC_NONE)
                    assert_int_equal(cr[c].codec, tried_zstd ? SEG_CODEC_ZSTD : SEG_CODEC_LZ4);
            }
        }
        assert_segment_holds(&sg, recs, N);
        seg_release(&sg);
        free(mem);
    }
    free(recs);
}

static void test_segment_write_ordered_gathers_through_order_and_keeps_input(void **state)
{
    (void)state;
    enum { N = SEGMENT_BLOCK_RECORDS + 1000 }; /* two blocks */
    struct flow_rec *recs = malloc(N * sizeof *recs), *copy = malloc(N * sizeof *copy);
    uint32_t *order = malloc(N * sizeof *order);
    assert_true(recs && copy && order);
    uint64_t s = 7;
    for (uint32_t i = 0; i < N; i++)
        make_rec(&recs[i], 1700000000000ull + rnd(&s) % 60000, i);
    memcpy(copy, recs, N * sizeof *recs);
    /* The order a caller computes: indices sorted by start time (simple insertion by key). */
    for (uint32_t i = 0; i < N; i++)
        order[i] = i;
    struct flow_rec *sorted = malloc(N * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, recs, N * sizeof *recs);
    qsort(sorted, N, sizeof *sorted, st_cmp_rec);
    for (uint32_t i = 0; i < N; i++)
        order[i] = sorted[i].src.b[15] | (uint32_t)sorted[i].src.b[14] << 8 |
                   (uint32_t)sorted[i].src.b[13] << 16; /* id, from the source address */
    struct seg sg;
    uint8_t *mem;
    segment_roundtrip(recs, order, N, &sg, &mem);
    assert_memory_equal(recs, copy, N * sizeof *recs); /* input untouched */
    assert_int_equal(sg.nblocks, 2);
    assert_segment_holds(&sg, sorted, N);
    seg_release(&sg);
    free(mem);
    free(sorted);
    free(order);
    free(copy);
    free(recs);
}

static void test_segment_write_sorts_unsorted_input_in_place(void **state)
{
    (void)state;
    enum { N = 3000 };
    struct flow_rec *recs = malloc(N * sizeof *recs);
    assert_non_null(recs);
    for (uint32_t i = 0; i < N; i++) /* descending times */
        make_rec(&recs[i], 1700000000000ull + (N - i) * 10ull, i);
    struct seg sg;
    uint8_t *mem;
    segment_roundtrip(recs, NULL, N, &sg, &mem);
    for (uint32_t i = 1; i < N; i++) /* sorted in place, as documented */
        assert_true(recs[i - 1].start_ms <= recs[i].start_ms);
    assert_int_equal(sg.blocks[0].meta.t_min, 1700000000000ull + 10);
    assert_int_equal(sg.blocks[0].meta.t_max, 1700000000000ull + N * 10ull);
    seg_release(&sg);
    free(mem);
    free(recs);
}

/* Block of n records whose source addresses take `distinct` values, each value in a run of
 * records and the runs interleaved (so run detection alone cannot dedupe them). */
static void skip_block(size_t n, uint32_t distinct, struct seg *sg, uint8_t **mem)
{
    struct flow_rec *recs = malloc(n * sizeof *recs);
    assert_non_null(recs);
    for (uint32_t i = 0; i < n; i++) {
        make_rec(&recs[i], 1700000000000ull + i, i);
        ipaddr_from_v4(&recs[i].src, 0xc0000200u + (i / 3) % distinct * 7);
    }
    segment_roundtrip(recs, NULL, n, sg, mem);
    free(recs);
}

static void test_segment_skip_index_kind_follows_distinct_count(void **state)
{
    (void)state;
    struct seg sg;
    uint8_t *mem;
    struct ipaddr a;
    /* 32 distinct: the exact sorted list. */
    skip_block(5000, 32, &sg, &mem);
    const struct seg_skipref *k = &sg.blocks[0].skip[0];
    assert_int_equal(k->kind, STORE_SKIP_LIST);
    assert_int_equal(k->len, 32 * 16);
    for (uint32_t i = 1; i < 32; i++)
        assert_true(memcmp(k->data + (i - 1) * 16, k->data + i * 16, 16) < 0);
    for (uint32_t v = 0; v < 32; v++) {
        ipaddr_from_v4(&a, 0xc0000200u + v * 7);
        assert_true(store_block_may_contain_addr(&sg.blocks[0].meta, STORE_COL_SRC, &a));
    }
    ipaddr_from_v4(&a, 0xc0000200u + 1);
    assert_false(store_block_may_contain_addr(&sg.blocks[0].meta, STORE_COL_SRC, &a));
    seg_release(&sg);
    free(mem);
    /* 33 distinct: a Bloom filter sized for 33 values (10 bits each: 512 bits). */
    skip_block(5000, 33, &sg, &mem);
    k = &sg.blocks[0].skip[0];
    assert_int_equal(k->kind, STORE_SKIP_BLOOM);
    assert_int_equal(k->data[0], 9);
    for (uint32_t v = 0; v < 33; v++) {
        ipaddr_from_v4(&a, 0xc0000200u + v * 7);
        assert_true(store_block_may_contain_addr(&sg.blocks[0].meta, STORE_COL_SRC, &a));
    }
    seg_release(&sg);
    free(mem);
    /* The most a Bloom filter takes (3276 values in 32768 bits), then none. */
    skip_block(3 * 3276, 3276, &sg, &mem);
    k = &sg.blocks[0].skip[0];
    assert_int_equal(k->kind, STORE_SKIP_BLOOM);
    assert_int_equal(k->data[0], 15);
    for (uint32_t v = 0; v < 3276; v++) {
        ipaddr_from_v4(&a, 0xc0000200u + v * 7);
        assert_true(seg_skip_may_contain(k, &a, 16));
    }
    size_t fp = 0;
    for (uint32_t v = 0; v < 10000; v++) {
        ipaddr_from_v4(&a, 0x0b000000u + v);
        fp += seg_skip_may_contain(k, &a, 16);
    }
    assert_true(fp < 500); /* ~1.7 % expected at 10 bits and 3 probes */
    seg_release(&sg);
    free(mem);
    skip_block(3 * 3277, 3277, &sg, &mem);
    assert_int_equal(sg.blocks[0].skip[0].kind, STORE_SKIP_NONE);
    ipaddr_from_v4(&a, 0xc0000201u); /* absent, within min/max: only "maybe" is known */
    assert_true(store_block_may_contain_addr(&sg.blocks[0].meta, STORE_COL_SRC, &a));
    seg_release(&sg);
    free(mem);
}

/* The block summary (time range, port and address min/max) the writer takes from its column
 * extraction passes equals a brute-force pass over the records: an all-IPv4 block (addresses
 * from the u32 column statistics) and a block with IPv6 sources (the 16-byte comparison). */
static void check_block_summary(const struct flow_rec *r, size_t n, const struct seg_block *b)
{
    const struct store_block_meta *m = &b->meta;
    assert_int_equal(m->n, n);
    uint64_t tmin = UINT64_MAX, tmax = 0;
    unsigned spmin = 65535, spmax = 0, dpmin = 65535, dpmax = 0;
    struct ipaddr smin = r[0].src, smax = r[0].src, dmin = r[0].dst, dmax = r[0].dst;
    for (size_t i = 0; i < n; i++) {
        tmin = r[i].start_ms < tmin ? r[i].start_ms : tmin;
        tmax = r[i].start_ms > tmax ? r[i].start_ms : tmax;
        spmin = r[i].src_port < spmin ? r[i].src_port : spmin;
        spmax = r[i].src_port > spmax ? r[i].src_port : spmax;
        dpmin = r[i].dst_port < dpmin ? r[i].dst_port : dpmin;
        dpmax = r[i].dst_port > dpmax ? r[i].dst_port : dpmax;
        if (memcmp(&r[i].src, &smin, 16) < 0)
            smin = r[i].src;
        if (memcmp(&r[i].src, &smax, 16) > 0)
            smax = r[i].src;
        if (memcmp(&r[i].dst, &dmin, 16) < 0)
            dmin = r[i].dst;
        if (memcmp(&r[i].dst, &dmax, 16) > 0)
            dmax = r[i].dst;
    }
    assert_int_equal(m->t_min, tmin);
    assert_int_equal(m->t_max, tmax);
    assert_int_equal(m->src_port_min, spmin);
    assert_int_equal(m->src_port_max, spmax);
    assert_int_equal(m->dst_port_min, dpmin);
    assert_int_equal(m->dst_port_max, dpmax);
    assert_memory_equal(&m->src_min, &smin, 16);
    assert_memory_equal(&m->src_max, &smax, 16);
    assert_memory_equal(&m->dst_min, &dmin, 16);
    assert_memory_equal(&m->dst_max, &dmax, 16);
}

static void test_segment_block_summary_from_column_passes_ipv4_and_ipv6(void **state)
{
    (void)state;
    enum { N = 4000 };
    struct flow_rec *recs = malloc(N * sizeof *recs);
    assert_non_null(recs);
    uint64_t s = 99;
    for (int v6 = 0; v6 < 2; v6++) {
        for (uint32_t i = 0; i < N; i++) {
            make_rec(&recs[i], 1700000000000ull + i * 3ull, i);
            uint64_t x = rnd(&s);
            ipaddr_from_v4(&recs[i].src, (uint32_t)x);
            ipaddr_from_v4(&recs[i].dst, (uint32_t)(x >> 32));
            recs[i].src_port = (uint16_t)(1000 + x % 50000);
            recs[i].dst_port = (uint16_t)(x >> 20);
            if (v6 && i % 7 == 3) { /* some IPv6 sources among IPv4 ones */
                uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
                memcpy(b + 8, &x, 8);
                ipaddr_from_v6(&recs[i].src, b);
            }
        }
        struct seg sg;
        uint8_t *mem;
        segment_roundtrip(recs, NULL, N, &sg, &mem);
        assert_int_equal(sg.nblocks, 1);
        assert_int_equal(sg.blocks[0].cols[STORE_COL_SRC].form, v6 ? 2 : 1);
        assert_int_equal(sg.blocks[0].cols[STORE_COL_DST].form, 1);
        check_block_summary(recs, N, &sg.blocks[0]);
        seg_release(&sg);
        free(mem);
    }
    free(recs);
}

/* The port skip index lists exactly the distinct ports, ascending (read back from the
 * presence map 64 bits at a time), including ports 0 and 65535 at the map's ends, and turns
 * into a Bloom filter past SEG_LIST_MAX_PORT (64) distinct values. */
static void test_segment_port_skip_list_is_sorted_distinct_ports(void **state)
{
    (void)state;
    static const uint16_t ports[] = {65535, 0, 80, 63, 64, 443, 127, 128, 80, 65535, 8080, 1};
    enum { NP = sizeof ports / sizeof ports[0], N = 300 };
    struct flow_rec recs[N];
    for (uint32_t i = 0; i < N; i++) {
        make_rec(&recs[i], 1700000000000ull + i, i);
        recs[i].src_port = ports[i % NP];
        recs[i].dst_port = (uint16_t)(i % 65 * 1000); /* 65 distinct: a Bloom filter */
    }
    struct seg sg;
    uint8_t *mem;
    segment_roundtrip(recs, NULL, N, &sg, &mem);
    const struct seg_skipref *k = &sg.blocks[0].skip[2];
    assert_int_equal(k->kind, STORE_SKIP_LIST);
    static const uint8_t want[] = {0, 0,   0, 1,   0, 63,  0,    64,   0,    80,
                                   0, 127, 0, 128, 1, 187, 0x1f, 0x90, 0xff, 0xff};
    assert_int_equal(k->len, sizeof want);
    assert_memory_equal(k->data, want, sizeof want);
    assert_int_equal(sg.blocks[0].skip[3].kind, STORE_SKIP_BLOOM);
    for (uint32_t p = 0; p < 65; p++)
        assert_true(store_block_may_contain_port(&sg.blocks[0].meta, STORE_COL_DST_PORT,
                                                 (uint16_t)(p * 1000)));
    seg_release(&sg);
    free(mem);
}

/* colenc_put_u64_st with the statistics of colenc_stats_of writes the same bytes as
 * colenc_put_u64, for every encoding (constant, dictionary, delta, frame of reference). */
static void test_colenc_put_with_stats_equals_plain_put(void **state)
{
    (void)state;
    enum { N = 5000 };
    uint64_t *v = malloc(N * sizeof *v), s = 5;
    assert_non_null(v);
    for (int kind = 0; kind < 5; kind++) {
        for (size_t i = 0; i < N; i++) {
            uint64_t x = rnd(&s);
            v[i] = kind == 0   ? 7
                   : kind == 1 ? 1000 + x % 200                   /* dictionary */
                   : kind == 2 ? 1700000000000ull + i * 3 + x % 3 /* ascending: delta */
                   : kind == 3 ? x >> 20                          /* wide: planes */
                               : (i == N - 1 ? 0 : x);            /* full 64-bit range */
        }
        for (int sorted = 0; sorted < 2; sorted++) {
            struct buf a = BUF_INIT(colenc_bound(N)), b = BUF_INIT(colenc_bound(N));
            struct colenc_stats st;
            colenc_stats_of(v, N, &st);
            assert_int_equal(st.asc, kind == 0 || kind == 2);
            assert_int_equal(colenc_put_u64(&a, v, N, sorted), 0);
            assert_int_equal(colenc_put_u64_st(&b, v, N, sorted, &st), 0);
            assert_int_equal(a.len, b.len);
            assert_memory_equal(a.data, b.data, a.len);
            buf_release(&a);
            buf_release(&b);
        }
    }
    free(v);
}

/* ---- store write path ------------------------------------------------------------------ */

static void test_store_batches_over_years_are_sorted_and_split_by_partition(void **state)
{
    (void)state;
    char *dir = st_make_tmpdir("bs_store_write_test");
    const char *kv[][3] = {{"store", "batch_records", "1000"},
                           {"store", "retention", "0"},
                           {"store", "partition", "1h"}};
    struct config *cfg = st_test_config(kv, 3);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    enum { N = 12000 };
    struct flow_rec *recs = malloc(N * sizeof *recs);
    assert_non_null(recs);
    uint64_t rs = 99;
    for (uint32_t i = 0; i < N; i++) {
        /* Mostly a narrow window (two radix digits), some over three years (five), some
         * equal times: every pass of the sort and both partition edges are exercised. */
        uint64_t t = 1600000000000ull;
        if (i % 3 == 0)
            t += rnd(&rs) % (3ull * 365 * 86400000);
        else if (i % 3 == 1)
            t += 3600000 - 500 + rnd(&rs) % 1000;
        make_rec(&recs[i], t, i);
    }
    for (size_t i = 0; i < N; i += 333)
        assert_int_equal(store_append(s, recs + i, N - i < 333 ? N - i : 333), 0);
    assert_int_equal(store_flush(s), 0);
    /* Flush waited for every queued batch: all records are visible before close. */
    struct store_info info;
    assert_int_equal(store_get_info(s, &info), 0);
    assert_int_equal(info.records, N);
    assert_int_equal(store_close(s), 0);
    assert_store_holds(dir, recs, N, 3600000);
    free(recs);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

struct appender {
    struct store *s;
    struct flow_rec *recs;
    size_t n;
};

static void *append_main(void *p)
{
    struct appender *a = p;
    for (size_t i = 0; i < a->n; i += 64)
        if (store_append(a->s, a->recs + i, a->n - i < 64 ? a->n - i : 64))
            return (void *)1;
    return NULL;
}

struct exp_list {
    struct statedb_exporter v[8];
    size_t n;
};

static int exp_list_cb(void *ctx, const struct statedb_exporter *e)
{
    struct exp_list *l = ctx;
    if (l->n < 8)
        l->v[l->n] = *e;
    l->n++;
    return 0;
}

/* The exporter statistics the appenders summarise batch by batch (while each record is in
 * cache) reach the state database as a pass over all the records would give them: flows,
 * packets, bytes, first and last time, last sampling rate, over full batches, a partial
 * batch closed by a flush, and appends in chunks that straddle batches. */
static void test_store_exporter_summary_from_appends_matches_records(void **state)
{
    (void)state;
    char *dir = st_make_tmpdir("bs_store_write_test");
    const char *kv[][3] = {{"store", "batch_records", "1000"}, {"store", "retention", "0"}};
    struct config *cfg = st_test_config(kv, 2);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    enum { N = 2500, NE = 3 };
    struct flow_rec *recs = malloc(N * sizeof *recs);
    assert_non_null(recs);
    uint64_t rs = 3;
    struct statedb_exporter want[NE];
    memset(want, 0, sizeof want);
    for (uint32_t i = 0; i < N; i++) {
        make_rec(&recs[i], 1700000000000ull + rnd(&rs) % 100000, i);
        uint32_t x = (i / 7) % NE; /* runs of one exporter, interleaved */
        ipaddr_from_v4(&recs[i].exporter, 0x7f000001u + x);
        recs[i].sampling_rate = 1 + i % 5;
        struct statedb_exporter *w = &want[x];
        uint64_t last = recs[i].end_ms > recs[i].start_ms ? recs[i].end_ms : recs[i].start_ms;
        if (!w->flows || recs[i].start_ms < w->first_ms)
            w->first_ms = recs[i].start_ms;
        if (last > w->last_ms)
            w->last_ms = last;
        w->flows++;
        w->packets += recs[i].packets;
        w->bytes += recs[i].bytes;
        w->sampling_rate = recs[i].sampling_rate;
    }
    for (size_t i = 0; i < N; i += 333)
        assert_int_equal(store_append(s, recs + i, N - i < 333 ? N - i : 333), 0);
    assert_int_equal(store_close(s), 0);
    char path[600];
    snprintf(path, sizeof path, "%s/state.db", dir);
    struct statedb *db;
    assert_int_equal(statedb_open(path, &db, err), 0);
    struct exp_list got = {.n = 0};
    assert_int_equal(statedb_exporter_list(db, exp_list_cb, &got), 0);
    statedb_close(db);
    assert_int_equal(got.n, NE);
    for (size_t k = 0; k < NE; k++) { /* listed in address order: 127.0.0.1, .2, .3 */
        assert_int_equal(ipaddr_v4(&got.v[k].addr), 0x7f000001u + k);
        assert_int_equal(got.v[k].flows, want[k].flows);
        assert_int_equal(got.v[k].packets, want[k].packets);
        assert_int_equal(got.v[k].bytes, want[k].bytes);
        assert_int_equal(got.v[k].first_ms, want[k].first_ms);
        assert_int_equal(got.v[k].last_ms, want[k].last_ms);
        assert_int_equal(got.v[k].version, 9);
    }
    /* the last record appended (2499: exporter (2499 / 7) % 3 = 2) set its sampling rate */
    assert_int_equal(got.v[2].sampling_rate, want[2].sampling_rate);
    free(recs);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_appends_and_flushes_from_several_threads_lose_nothing(void **state)
{
    (void)state;
    char *dir = st_make_tmpdir("bs_store_write_test");
    const char *kv[][3] = {{"store", "batch_records", "500"}, {"store", "retention", "0"}};
    struct config *cfg = st_test_config(kv, 2);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    enum { N = 6000 };
    struct flow_rec *recs = malloc(2 * N * sizeof *recs);
    assert_non_null(recs);
    uint64_t rs = 5;
    for (uint32_t i = 0; i < 2 * N; i++)
        make_rec(&recs[i], 1700000000000ull + rnd(&rs) % 600000, i);
    struct appender a[2] = {{s, recs, N}, {s, recs + N, N}};
    pthread_t th[2];
    for (int t = 0; t < 2; t++)
        assert_int_equal(pthread_create(&th[t], NULL, append_main, &a[t]), 0);
    for (int k = 0; k < 20; k++) /* flushes racing the appends */
        assert_int_equal(store_flush(s), 0);
    for (int t = 0; t < 2; t++) {
        void *rv;
        pthread_join(th[t], &rv);
        assert_null(rv);
    }
    assert_int_equal(store_close(s), 0); /* the last flush happens here */
    assert_store_holds(dir, recs, 2 * N, 300000);
    free(recs);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_flush_with_nothing_appended_and_read_only_append(void **state)
{
    (void)state;
    char *dir = st_make_tmpdir("bs_store_write_test");
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_close(s), 0);
    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    struct flow_rec r;
    make_rec(&r, 1700000000000ull, 1);
    assert_int_equal(store_append(s, &r, 1), BS_EUSAGE);
    store_close(s);
    st_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segment_write_ordered_gathers_through_order_and_keeps_input),
        cmocka_unit_test(test_segment_auto_codec_picks_per_column),
        cmocka_unit_test(test_segment_write_sorts_unsorted_input_in_place),
        cmocka_unit_test(test_segment_skip_index_kind_follows_distinct_count),
        cmocka_unit_test(test_segment_block_summary_from_column_passes_ipv4_and_ipv6),
        cmocka_unit_test(test_segment_port_skip_list_is_sorted_distinct_ports),
        cmocka_unit_test(test_colenc_put_with_stats_equals_plain_put),
        cmocka_unit_test(test_store_exporter_summary_from_appends_matches_records),
        cmocka_unit_test(test_store_batches_over_years_are_sorted_and_split_by_partition),
        cmocka_unit_test(test_store_appends_and_flushes_from_several_threads_lose_nothing),
        cmocka_unit_test(test_store_flush_with_nothing_appended_and_read_only_append),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
