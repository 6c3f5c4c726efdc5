/* Unit tests for src/store: column encodings, segment files, the embedded store (write path,
 * scan, corruption, crash leftovers, retention, disk-full policy), the state DB. The importers
 * are tested in test_import.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/clock.h"
#include "core/config.h"
#include "core/err.h"
#include "core/rd.h"
#include "core/flow.h"
#include "store/colenc.h"
#include "store/segment.h"
#include "store/statedb.h"
#include "store/store.h"
#include "store_testutil.h"

/* ---- helpers --------------------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void random_rec(struct flow_rec *r, uint64_t t0, int v6)
{
    memset(r, 0, sizeof *r);
    r->start_ms = t0 + rnd() % 3600000;
    r->end_ms = r->start_ms + rnd() % 60000;
    r->packets = 1 + rnd() % 1000;
    r->bytes = r->packets * (40 + rnd() % 1400);
    if (v6) {
        uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
        b[15] = (uint8_t)rnd();
        b[14] = (uint8_t)rnd();
        ipaddr_from_v6(&r->src, b);
    } else {
        ipaddr_from_v4(&r->src, 0x0a000000u | (uint32_t)(rnd() & 0xffff));
    }
    ipaddr_from_v4(&r->dst, 0xc6336400u | (uint32_t)(rnd() & 0xff));
    ipaddr_from_v4(&r->exporter, 0x7f000001u + (uint32_t)(rnd() % 3));
    ipaddr_from_v4(&r->nexthop, 0);
    r->sampling_rate = 1 + (uint32_t)(rnd() % 2) * 99;
    r->obs_domain = (uint32_t)(rnd() % 4);
    r->in_if = (uint32_t)(rnd() % 8);
    r->out_if = (uint32_t)(rnd() % 8);
    r->src_as = (uint32_t)(rnd() % 70000);
    r->dst_as = 64500;
    r->src_port = (uint16_t)rnd();
    static const uint16_t ports[] = {23, 2323, 80, 443, 53, 7547};
    r->dst_port = ports[rnd() % 6];
    r->vlan = (uint16_t)(rnd() % 3);
    r->has = FLOW_HAS_TIMES;
    r->proto = rnd() % 4 ? 6 : 17;
    r->tcp_flags = (uint8_t)rnd();
    r->tos = (uint8_t)(rnd() % 4);
    r->version = 9;
    r->direction = 1;
    r->src_mask = 24;
    r->dst_mask = 16;
}

struct collect {
    struct st_recs r;
    uint64_t corrupt;
    char corrupt_path[512];
    unsigned corrupt_block;
    pthread_mutex_t lock; /* scans may run on several threads */
};

static int collect_block(void *ctx, unsigned thread, const struct store_block *b)
{
    struct collect *c = ctx;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < b->n; i++) {
        st_recs_push(&c->r, b, i);
    }
    pthread_mutex_unlock(&c->lock);
    return 0;
}

static void collect_corrupt(void *ctx, const char *path, unsigned block, int err)
{
    struct collect *c = ctx;
    pthread_mutex_lock(&c->lock);
    c->corrupt++;
    snprintf(c->corrupt_path, sizeof c->corrupt_path, "%s", path);
    c->corrupt_block = block;
    pthread_mutex_unlock(&c->lock);
}

static void scan_all(struct store *s, struct collect *c, unsigned threads)
{
    struct store_scan sc = {.t_lo = 0,
                            .t_hi = UINT64_MAX,
                            .cols = STORE_COLS_ALL,
                            .threads = threads,
                            .on_block = collect_block,
                            .on_corrupt = collect_corrupt,
                            .ctx = c};
    assert_int_equal(store_scan(s, &sc, NULL), 0);
}

static size_t count_files(const char *dir, const char *prefix)
{
    /* Counts files under dir/flows/<day>/ whose name starts with prefix. */
    char path[600];
    size_t n = 0;
    snprintf(path, sizeof path, "%s/flows", dir);
    DIR *top = opendir(path);
    if (!top)
        return 0;
    struct dirent *de;
    while ((de = readdir(top))) {
        if (de->d_name[0] == '.')
            continue;
        char day[900];
        snprintf(day, sizeof day, "%s/%s", path, de->d_name);
        DIR *d = opendir(day);
        struct dirent *fe;
        while (d && (fe = readdir(d)))
            if (!strncmp(fe->d_name, prefix, strlen(prefix)) && strcmp(fe->d_name, ".") &&
                strcmp(fe->d_name, ".."))
                n++;
        if (d)
            closedir(d);
    }
    closedir(top);
    return n;
}

/* Returns the path of the first segment file under dir. */
static void first_segment(const char *dir, char *out, size_t len)
{
    char path[600];
    snprintf(path, sizeof path, "%s/flows", dir);
    DIR *top = opendir(path);
    assert_non_null(top);
    struct dirent *de;
    out[0] = '\0';
    while (!out[0] && (de = readdir(top))) {
        if (de->d_name[0] == '.')
            continue;
        char day[900];
        snprintf(day, sizeof day, "%s/%s", path, de->d_name);
        DIR *d = opendir(day);
        struct dirent *fe;
        while (d && (fe = readdir(d)))
            if (strstr(fe->d_name, ".seg") && fe->d_name[0] != '.') {
                /* Paths here are short; a cut one would just fail the test's open. */
                int n = snprintf(out, len, "%s/%s", day, fe->d_name);
                assert_true(n > 0 && (size_t)n < len);
                break;
            }
        if (d)
            closedir(d);
    }
    closedir(top);
    assert_true(out[0] != '\0');
}

/* ---- colenc ---------------------------------------------------------------------------- */

static void roundtrip_u64(const uint64_t *v, size_t n, int sorted, int expect_kind)
{
    struct buf b = BUF_INIT(colenc_bound(n));
    assert_int_equal(colenc_put_u64(&b, v, n, sorted), 0);
    if (expect_kind >= 0)
        assert_int_equal((uint8_t)b.data[0], expect_kind);
    uint64_t *out = calloc(n + 1, sizeof *out);
    assert_int_equal(colenc_get_u64((const uint8_t *)b.data, b.len, n, out), 0);
    assert_memory_equal(out, v, n * sizeof *v);
    /* Any truncation is rejected, never read past. */
    for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 7)
        assert_int_equal(colenc_get_u64((const uint8_t *)b.data, cut, n, out), BS_ECORRUPT);
    free(out);
    buf_release(&b);
}

static void test_colenc_constant_column_takes_no_planes(void **state)
{
    uint64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 42;
    struct buf b = BUF_INIT(4096);
    assert_int_equal(colenc_put_u64(&b, v, 100, 0), 0);
    assert_int_equal(b.len, 10); /* kind + base + width 0 */
    buf_release(&b);
    roundtrip_u64(v, 100, 0, COLENC_FOR);
}

static void test_colenc_few_distinct_wide_values_use_dict(void **state)
{
    uint64_t v[1000];
    for (int i = 0; i < 1000; i++)
        v[i] = (i % 3) ? 0x123456789ull : 0xffffffffffull;
    roundtrip_u64(v, 1000, 0, COLENC_DICT);
}

static void test_colenc_sorted_times_use_delta(void **state)
{
    uint64_t v[5000];
    uint64_t t = 1700000000000ull;
    for (int i = 0; i < 5000; i++) {
        t += (uint64_t)(i % 7);
        v[i] = t;
    }
    roundtrip_u64(v, 5000, 1, COLENC_DELTA);
}

static void test_colenc_random_widths_roundtrip(void **state)
{
    rng_state = 99;
    uint64_t v[3000];
    for (int w = 1; w <= 8; w++) {
        for (int i = 0; i < 3000; i++)
            v[i] = w == 8 ? rnd() : rnd() & ((1ull << (8 * w)) - 1);
        roundtrip_u64(v, 3000, 0, COLENC_FOR);
    }
    roundtrip_u64(v, 1, 1, -1);
}

static void test_colenc_narrow_decoders_and_addresses(void **state)
{
    uint64_t v[300];
    for (int i = 0; i < 300; i++)
        v[i] = (uint64_t)(i * 211 % 65536);
    struct buf b = BUF_INIT(colenc_bound(300));
    assert_int_equal(colenc_put_u64(&b, v, 300, 0), 0);
    uint16_t o16[300];
    assert_int_equal(colenc_get_u16((const uint8_t *)b.data, b.len, 300, o16), 0);
    for (int i = 0; i < 300; i++)
        assert_int_equal(o16[i], v[i]);
    buf_reset(&b);
    struct ipaddr a[300];
    for (int i = 0; i < 300; i++) {
        uint8_t x[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)i, [14] = (uint8_t)(i >> 8)};
        ipaddr_from_v6(&a[i], x);
    }
    assert_int_equal(colenc_put_addr(&b, a, 300), 0);
    assert_int_equal((uint8_t)b.data[0], COLENC_PLANES16);
    struct ipaddr o[300];
    uint32_t tmp[300];
    assert_int_equal(colenc_get_addr((const uint8_t *)b.data, b.len, 300, o, tmp), 0);
    assert_memory_equal(o, a, sizeof a);
    buf_reset(&b);
    for (int i = 0; i < 300; i++)
        a[i] = a[i % 3];
    assert_int_equal(colenc_put_addr(&b, a, 300), 0);
    assert_int_equal((uint8_t)b.data[0], COLENC_DICT);
    assert_int_equal(colenc_get_addr((const uint8_t *)b.data, b.len, 300, o, tmp), 0);
    assert_memory_equal(o, a, sizeof a);
    /* A dictionary index past the dictionary is corrupt. */
    b.data[b.len - 1] = 9;
    assert_int_equal(colenc_get_addr((const uint8_t *)b.data, b.len, 300, o, tmp), BS_ECORRUPT);
    buf_release(&b);
}

/* Addresses with every byte different come back whole from their planes, for counts around
 * the decoder's groups of sixteen (up to sixteen distinct addresses are a dictionary). */
static void test_colenc_address_planes_every_byte(void **state)
{
    (void)state;
    static const size_t counts[] = {1, 16, 17, 31, 32, 33, 300, 4099};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++) {
        size_t n = counts[c];
        struct ipaddr *a = malloc(n * sizeof *a), *o = malloc(n * sizeof *o);
        uint32_t *tmp = malloc(n * sizeof *tmp);
        assert_non_null(a);
        assert_non_null(o);
        assert_non_null(tmp);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < 16; j++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                a[i].b[j] = (uint8_t)(x >> 56);
            }
        struct buf b = BUF_INIT(colenc_bound(n));
        assert_int_equal(colenc_put_addr(&b, a, n), 0);
        assert_int_equal((uint8_t)b.data[0], n > 16 ? COLENC_PLANES16 : COLENC_DICT);
        memset(o, 0, n * sizeof *o);
        assert_int_equal(colenc_get_addr((const uint8_t *)b.data, b.len, n, o, tmp), 0);
        assert_memory_equal(o, a, n * sizeof *a);
        buf_release(&b);
        free(a);
        free(o);
        free(tmp);
    }
}

/* Blocks of mostly IPv4 addresses with some IPv6 (an ISP's) are MIXED46: they come back whole
 * for counts around the bitmap's bytes and IPv6 shares either side of a quarter, and a bitmap
 * that disagrees with the IPv6 count, a bit past the last row or a short tail is corrupt. */
static void test_colenc_mixed_addresses(void **state)
{
    (void)state;
    static const size_t counts[] = {17, 23, 24, 25, 300, 4099, 32768};
    static const unsigned share[] = {0, 1, 8, 25, 26}; /* IPv6 rows per hundred */
    uint64_t x = 12345;
    for (size_t c = 0; c < sizeof counts / sizeof *counts; c++)
        for (size_t s6 = 0; s6 < sizeof share / sizeof *share; s6++) {
            size_t n = counts[c], n6 = 0;
            struct ipaddr *a = malloc(n * sizeof *a), *o = malloc(n * sizeof *o);
            uint32_t *tmp = malloc(n * sizeof *tmp);
            assert_non_null(a);
            assert_non_null(o);
            assert_non_null(tmp);
            for (size_t i = 0; i < n; i++) {
                x = x * 6364136223846793005ull + 1442695040888963407ull;
                if ((x >> 33) % 100 < share[s6] && (n6 + 1) * 4 <= n) { /* (a quarter at most) */
                    for (size_t j = 0; j < 16; j++)
                        a[i].b[j] = (uint8_t)(x >> (8 * (j % 8)));
                    a[i].b[0] = 0x20; /* never a mapped IPv4 address */
                    n6++;
                } else {
                    ipaddr_from_v4(&a[i], (uint32_t)(x >> 20));
                }
            }
            if (share[s6] == 26) { /* more than a quarter: sixteen planes */
                for (size_t i = 0; i < n; i += 3)
                    a[i].b[0] = 0x20;
            }
            struct buf b = BUF_INIT(colenc_bound(n));
            assert_int_equal(colenc_put_addr(&b, a, n), 0);
            assert_int_equal((uint8_t)b.data[0],
                             share[s6] == 26 ? COLENC_PLANES16 : COLENC_MIXED46);
            memset(o, 0, n * sizeof *o);
            assert_int_equal(colenc_get_addr((const uint8_t *)b.data, b.len, n, o, tmp), 0);
            assert_memory_equal(o, a, n * sizeof *a);
            /* The mixed form (IPv4 rows not widened) gives every row the same address. */
            uint8_t *is6 = malloc((n + 7) / 8);
            struct ipaddr *v6 = malloc(n * sizeof *v6);
            assert_non_null(is6);
            assert_non_null(v6);
            size_t m6 = SIZE_MAX;
            int mrc = colenc_get_mixed((const uint8_t *)b.data, b.len, n, tmp, is6, v6, &m6);
            assert_int_equal(colenc_is_mixed((const uint8_t *)b.data, b.len), share[s6] != 26);
            if (share[s6] == 26) {
                assert_int_equal(mrc, BS_ECORRUPT); /* not a mixed column */
            } else {
                assert_int_equal(mrc, 0);
                assert_int_equal(m6, n6);
                struct store_addr_col col = {.v4 = tmp, .is6 = is6, .v6 = v6, .n6 = m6};
                for (size_t i = 0; i < n; i++) {
                    struct ipaddr g;
                    store_addr_get(&col, i, &g);
                    assert_memory_equal(&g, &a[i], sizeof g);
                    assert_int_equal(store_addr_is6(&col, i), !ipaddr_is_v4(&a[i]));
                }
            }
            if (share[s6] != 26) {
                uint8_t *p = (uint8_t *)b.data;
                size_t nb = (n + 7) / 8, bm = b.len - 16 * n6 - nb;
                assert_int_equal(be32(p + 1), n6);
                p[bm] ^= 1; /* one row more or less IPv6 than counted */
                assert_int_equal(colenc_get_addr(p, b.len, n, o, tmp), BS_ECORRUPT);
                assert_int_equal(colenc_get_mixed(p, b.len, n, tmp, is6, v6, &m6), BS_ECORRUPT);
                p[bm] ^= 1;
                if (n % 8) { /* a row past the last */
                    p[bm + nb - 1] ^= (uint8_t)(0x80);
                    assert_int_equal(colenc_get_addr(p, b.len, n, o, tmp), BS_ECORRUPT);
                    p[bm + nb - 1] ^= (uint8_t)(0x80);
                }
                assert_int_equal(colenc_get_addr(p, b.len - 1, n, o, tmp), BS_ECORRUPT);
                assert_int_equal(colenc_get_mixed(p, b.len - 1, n, tmp, is6, v6, &m6), BS_ECORRUPT);
                assert_int_equal(colenc_get_addr(p, b.len, n, o, tmp), 0);
            }
            free(is6);
            free(v6);
            buf_release(&b);
            free(a);
            free(o);
            free(tmp);
        }
}

static void test_colenc_unknown_kind_is_corrupt(void **state)
{
    uint8_t junk[16] = {7};
    uint64_t o[2];
    assert_int_equal(colenc_get_u64(junk, sizeof junk, 2, o), BS_ECORRUPT);
    assert_int_equal(colenc_get_u64(junk, 0, 2, o), BS_ECORRUPT);
}

/* ---- store ----------------------------------------------------------------------------- */

static void test_store_roundtrip_all_columns_mixed_families(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    rng_state = 7;
    enum { N = 70000 };
    struct flow_rec *in = calloc(N, sizeof *in);
    uint64_t t0 = 1700000000000ull / 300000 * 300000;
    for (int i = 0; i < N; i++)
        random_rec(&in[i], t0, i >= 50000 && i % 5 == 0);
    assert_int_equal(store_append(s, in, 40000), 0);
    assert_int_equal(store_flush(s), 0);
    assert_int_equal(store_append(s, in + 40000, N - 40000), 0);
    assert_int_equal(store_close(s), 0);

    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    struct store_info info;
    assert_int_equal(store_get_info(s, &info), 0);
    assert_int_equal(info.records, N);
    assert_true(info.segments >= 12 * 2 - 1); /* 12 partitions of 5 min, two flushes */
    struct collect c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    scan_all(s, &c, 2);
    assert_int_equal(c.r.n, N);
    assert_int_equal(c.corrupt, 0);
    qsort(in, N, sizeof *in, st_cmp_rec);
    qsort(c.r.v, c.r.n, sizeof *c.r.v, st_cmp_rec);
    for (size_t i = 0; i < N; i++)
        assert_memory_equal(&c.r.v[i], &in[i], sizeof in[i]);
    store_close(s);
    free(c.r.v);
    free(in);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_lz4_and_block_split(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    const char *kv[][3] = {{"store", "compression", "lz4"}, {"store", "partition", "1h"}};
    struct config *cfg = st_test_config(kv, 2);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    rng_state = 11;
    enum { N = SEGMENT_BLOCK_RECORDS * 2 + 17 };
    struct flow_rec *in = calloc(N, sizeof *in);
    uint64_t t0 = 1700000000000ull / 3600000 * 3600000;
    for (int i = 0; i < N; i++)
        random_rec(&in[i], t0, 0);
    assert_int_equal(store_append(s, in, N), 0);
    assert_int_equal(store_close(s), 0);
    assert_int_equal(store_open(dir, cfg, STORE_RDONLY, &s, err), 0);
    struct store_info info;
    assert_int_equal(store_get_info(s, &info), 0);
    assert_int_equal(info.segments, 1);
    assert_int_equal(info.blocks, 3);
    struct collect c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    scan_all(s, &c, 1);
    assert_int_equal(c.r.n, N);
    store_close(s);
    config_release(cfg);
    free(c.r.v);
    free(in);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_corrupt_block_is_reported_and_skipped(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    const char *kv[][3] = {{"store", "partition", "1h"}};
    struct config *cfg = st_test_config(kv, 1);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    rng_state = 5;
    enum { N = SEGMENT_BLOCK_RECORDS + 1000 };
    struct flow_rec *in = calloc(N, sizeof *in);
    uint64_t t0 = 1700000000000ull / 3600000 * 3600000;
    for (int i = 0; i < N; i++)
        random_rec(&in[i], t0, 0);
    assert_int_equal(store_append(s, in, N), 0);
    assert_int_equal(store_close(s), 0);

    char seg[1024];
    first_segment(dir, seg, sizeof seg);
    /* Flip a byte early in the file: inside block 0's first column chunk. */
    int fd = open(seg, O_RDWR);
    assert_true(fd >= 0);
    uint8_t byte;
    assert_int_equal(pread(fd, &byte, 1, 40), 1);
    byte ^= 0x5a;
    assert_int_equal(pwrite(fd, &byte, 1, 40), 1);
    close(fd);

    assert_int_equal(store_open(dir, cfg, STORE_RDONLY, &s, err), 0);
    struct collect c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    scan_all(s, &c, 1);
    assert_int_equal(c.corrupt, 1);
    assert_int_equal(c.corrupt_block, 0);
    assert_string_equal(c.corrupt_path, seg);
    assert_int_equal(c.r.n, 1000); /* block 1 still read */
    store_close(s);

    /* A destroyed footer makes the whole segment unreadable, reported, not a crash. */
    fd = open(seg, O_RDWR);
    struct stat st;
    fstat(fd, &st);
    assert_int_equal(pwrite(fd, "XXXX", 4, st.st_size - 30), 4);
    close(fd);
    assert_int_equal(store_open(dir, cfg, STORE_RDONLY, &s, err), 0);
    struct collect c2 = {.lock = PTHREAD_MUTEX_INITIALIZER};
    scan_all(s, &c2, 1);
    assert_int_equal(c2.r.n, 0);
    assert_int_equal(c2.corrupt, 1);
    assert_int_equal(c2.corrupt_block, UINT32_MAX);
    store_close(s);
    config_release(cfg);
    free(c.r.v);
    free(c2.r.v);
    free(in);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_open_removes_leftover_temp_segments(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    char err[256], path[600];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    struct flow_rec r;
    rng_state = 3;
    random_rec(&r, 1700000000000ull, 0);
    assert_int_equal(store_append(s, &r, 1), 0);
    assert_int_equal(store_close(s), 0);
    snprintf(path, sizeof path, "%s/flows/2023-11-14/.tmp.20231114T222000Z_300_00000009.seg", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("half a segment", f);
    fclose(f);
    assert_int_equal(count_files(dir, ".tmp."), 1);
    /* Readers ignore it... */
    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    struct collect c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    scan_all(s, &c, 1);
    assert_int_equal(c.r.n, 1);
    assert_int_equal(c.corrupt, 0);
    store_close(s);
    /* ...and the next writer removes it. */
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    assert_int_equal(count_files(dir, ".tmp."), 0);
    store_close(s);
    free(c.r.v);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_second_writer_is_refused(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    char err[256];
    struct store *a, *b;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &a, err), 0);
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &b, err), BS_EEXIST);
    assert_non_null(strstr(err, "another writer"));
    store_close(a);
    st_rm_rf(dir);
    free(dir);
}

/* Sets the modification time of every segment under dir/flows to now - age_ms. */
static void age_segments(const char *dir, uint64_t age_ms)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "find '%s/flows' -name '*.seg' -exec touch -d '@%llu' {} +", dir,
             (unsigned long long)((clock_wall_ms() - age_ms) / 1000));
    assert_int_equal(system(cmd), 0);
}

static uint64_t stored_records(const char *dir, const struct config *cfg, uint64_t *t_min)
{
    char err[256];
    struct store *s;
    struct store_info info;
    assert_int_equal(store_open(dir, cfg, STORE_RDONLY, &s, err), 0);
    assert_int_equal(store_get_info(s, &info), 0);
    store_close(s);
    if (t_min)
        *t_min = info.t_min;
    return info.records;
}

/* Issue 21: flows older than retention, written by this run (an imported archive, a replay
 * beside live data), were pruned by the same run that reported them stored. */
static void test_store_retention_never_removes_what_this_run_wrote(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    const char *kv[][3] = {{"store", "retention", "90m"}, {"store", "partition", "10m"}};
    struct config *cfg = st_test_config(kv, 2);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    struct flow_rec r;
    rng_state = 1;
    uint64_t t0 = 1312969619000ull / 600000 * 600000; /* 2011 */
    for (int h = 0; h < 4; h++) { /* one flow per hour, 4 hours, flushed separately */
        random_rec(&r, 0, 0);
        r.start_ms = r.end_ms = t0 + (uint64_t)h * 3600000;
        assert_int_equal(store_append(s, &r, 1), 0);
        assert_int_equal(store_flush(s), 0);
    }
    /* One exporter on the wall clock beside the replay: the old ones stay all the same. */
    random_rec(&r, 0, 0);
    r.start_ms = r.end_ms = clock_wall_ms();
    assert_int_equal(store_append(s, &r, 1), 0);
    assert_int_equal(store_flush(s), 0);
    uint64_t segs = 9, bytes = 9;
    assert_int_equal(store_prune(s, clock_wall_ms(), &segs, &bytes), 0);
    assert_int_equal(segs, 0);
    store_close(s);
    uint64_t t_min;
    assert_int_equal(stored_records(dir, cfg, &t_min), 5);
    assert_int_equal(t_min, t0);

    /* Written more than retention ago and holding data older than retention: removed by the
     * next writer's pass, by wall-clock age (the live flow stays: its data is recent). */
    age_segments(dir, 2 * 3600000ull);
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    assert_int_equal(store_prune(s, clock_wall_ms(), &segs, &bytes), 0);
    assert_int_equal(segs, 4);
    assert_true(bytes > 0);
    store_close(s);
    assert_int_equal(stored_records(dir, cfg, &t_min), 1);
    assert_true(t_min > t0 + 86400000ull);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_retention_counts_age_from_wall_clock(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    const char *kv[][3] = {{"store", "retention", "90m"}, {"store", "partition", "10m"}};
    struct config *cfg = st_test_config(kv, 2);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    struct flow_rec r;
    rng_state = 3;
    uint64_t now = clock_wall_ms();
    for (int h = 0; h < 4; h++) { /* flows 0, 1, 2 and 3 hours old */
        random_rec(&r, 0, 0);
        r.start_ms = r.end_ms = now - (uint64_t)h * 3600000;
        assert_int_equal(store_append(s, &r, 1), 0);
        assert_int_equal(store_flush(s), 0);
    }
    store_close(s);
    age_segments(dir, 4 * 3600000ull);
    /* A flow from a future clock does not move the reference: 0 and 1 hour old flows stay. */
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    random_rec(&r, 0, 0);
    r.start_ms = r.end_ms = now + 30 * 86400000ull;
    assert_int_equal(store_append(s, &r, 1), 0);
    assert_int_equal(store_flush(s), 0);
    store_close(s);
    assert_int_equal(stored_records(dir, cfg, NULL), 3);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_max_size_drops_oldest_segments(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    const char *kv[][3] = {{"store", "retention", "0"}, {"store", "max_size", "20k"}};
    struct config *cfg = st_test_config(kv, 2);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    rng_state = 2;
    struct flow_rec r[500];
    uint64_t t0 = 1600000000000ull / 300000 * 300000;
    for (int k = 0; k < 10; k++) {
        for (int i = 0; i < 500; i++) {
            random_rec(&r[i], 0, 0);
            r[i].start_ms = t0 + (uint64_t)k * 300000 + (uint64_t)i;
        }
        assert_int_equal(store_append(s, r, 500), 0);
        assert_int_equal(store_flush(s), 0);
    }
    struct store_info info;
    assert_int_equal(store_get_info(s, &info), 0);
    assert_true(info.bytes <= 20 * 1024);
    assert_true(info.segments >= 1 && info.segments < 10);
    assert_int_equal(info.t_max, t0 + 9 * 300000ull + 499); /* newest kept */
    store_close(s);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_failed_flush_keeps_batch_then_drops_oldest_at_cap(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    const char *kv[][3] = {{"store", "batch_records", "100"}};
    struct config *cfg = st_test_config(kv, 1);
    char err[256], flows[700];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    /* Make writes fail: replace flows/ by a read-only directory (as a full disk would). */
    snprintf(flows, sizeof flows, "%s/flows", dir);
    assert_int_equal(chmod(flows, 0500), 0);
    if (access(flows, W_OK) == 0) { /* root ignores modes: use a file in its way instead */
        chmod(flows, 0755);
        st_rm_rf(flows);
        FILE *f = fopen(flows, "w");
        assert_non_null(f);
        fclose(f);
    }
    struct flow_rec r[150];
    rng_state = 4;
    for (int i = 0; i < 150; i++) {
        random_rec(&r[i], 1700000000000ull, 0);
        r[i].start_ms = 1700000000000ull + (uint64_t)i;
    }
    assert_int_equal(store_append(s, r, 60), 0);
    assert_true(store_flush(s) < 0);                  /* reported */
    assert_int_equal(store_append(s, r + 60, 90), 0); /* at the cap: oldest dropped */
    /* Repair the disk: the next flush writes what was kept, the newest records. */
    struct stat st;
    if (stat(flows, &st) == 0 && S_ISREG(st.st_mode))
        unlink(flows);
    else
        chmod(flows, 0755);
    mkdir(flows, 0755);
    assert_int_equal(store_flush(s), 0);
    store_close(s);
    assert_int_equal(store_open(dir, cfg, STORE_RDONLY, &s, err), 0);
    struct collect c = {.lock = PTHREAD_MUTEX_INITIALIZER};
    scan_all(s, &c, 1);
    assert_true(c.r.n >= 90 && c.r.n <= 100);
    qsort(c.r.v, c.r.n, sizeof *c.r.v, st_cmp_rec);
    assert_int_equal(c.r.v[c.r.n - 1].start_ms, 1700000000000ull + 149);
    store_close(s);
    free(c.r.v);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_bad_config_and_clickhouse_url_are_reported(void **state)
{
    char err[256];
    struct store *s;
    /* Refused when the configuration is loaded (config_keys.def), before any store opens. */
    struct config cfg;
    struct cfg_error ce;
    assert_int_equal(config_init(&cfg), 0);
    assert_int_equal(config_set(&cfg, "store", "compression", "brotli", &ce), BS_EPARSE);
    assert_non_null(strstr(ce.msg, "compression"));
    config_release(&cfg);
    /* A ClickHouse URL is parsed at open (reading contacts the server only when it queries). */
    assert_int_equal(store_open("clickhouse://127.0.0.1:8123/db", NULL, STORE_RDONLY, &s, err), 0);
    assert_string_equal(store_backend_name(s), "clickhouse");
    assert_int_equal(store_close(s), 0);
    assert_int_equal(store_open("clickhouse://127.0.0.1/db", NULL, STORE_RDONLY, &s, err),
                     BS_EUSAGE);
    assert_non_null(strstr(err, "clickhouse://HOST:PORT/DATABASE"));
    assert_int_equal(store_open("/nonexistent/store", NULL, STORE_RDONLY, &s, err), -2);
}

static void test_segment_parse_rejects_garbage(void **state)
{
    struct seg sg;
    uint8_t junk[200];
    memset(junk, 0xab, sizeof junk);
    assert_int_equal(seg_parse(&sg, junk, sizeof junk, "junk"), BS_ECORRUPT);
    assert_int_equal(seg_parse(&sg, junk, 3, "junk"), BS_ECORRUPT);
    memcpy(junk, "BSSEG\0\0\0\0\0\0\1", 12);
    memcpy(junk + sizeof junk - 8, "BSSEGEND", 8);
    assert_int_equal(seg_parse(&sg, junk, sizeof junk, "junk"), BS_ECORRUPT);
}

/* Version 2 segments are written, version 1 ones (the same bytes with 1 in the header, as
 * long as no column is MIXED46) still read, and a later version refused. */
static void test_segment_versions(void **state)
{
    (void)state;
    struct flow_rec r[40];
    memset(r, 0, sizeof r);
    for (int i = 0; i < 40; i++) {
        r[i].start_ms = 1700000000000ull + (uint64_t)i;
        r[i].packets = 1;
        uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = (uint8_t)i};
        ipaddr_from_v6(&r[i].src, b); /* all IPv6: sixteen planes, which version 1 has */
        ipaddr_from_v4(&r[i].dst, 0x0a000000u + (uint32_t)i);
    }
    char *p = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&p, &len);
    assert_non_null(f);
    struct seg_writer_opts o = {.codec = SEG_CODEC_NONE};
    assert_int_equal(seg_write(f, r, 40, &o, NULL, NULL), 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(be32((const uint8_t *)p + 8), 2);
    struct seg sg;
    struct seg_scratch *sc = seg_scratch_new();
    assert_non_null(sc);
    for (uint32_t v = 1; v <= 3; v++) {
        be32_put((uint8_t *)p + 8, v);
        int rc = seg_parse(&sg, (const uint8_t *)p, len, "mem");
        if (v == 3) {
            assert_int_equal(rc, BS_ECORRUPT);
            continue;
        }
        assert_int_equal(rc, 0);
        struct store_block blk;
        assert_int_equal(seg_decode_block(&sg, 0, STORE_COLS_ALL, 0, sc, &blk, NULL), 0);
        assert_int_equal(blk.n, 40);
        assert_memory_equal(&blk.src.full[39], &r[39].src, sizeof r[39].src);
        assert_int_equal(blk.dst.v4[39], 0x0a000000u + 39);
        /* Asked for mixed columns, the block gives every row the same addresses. */
        assert_int_equal(
            seg_decode_block(&sg, 0, STORE_COLS_ALL, STORE_SCAN_ADDR_MIXED, sc, &blk, NULL), 0);
        for (size_t i = 0; i < 40; i++) {
            struct ipaddr g;
            store_addr_get(&blk.src, i, &g);
            assert_memory_equal(&g, &r[i].src, sizeof g);
            store_addr_get(&blk.dst, i, &g);
            assert_memory_equal(&g, &r[i].dst, sizeof g);
        }
        seg_release(&sg);
    }
    seg_scratch_free(sc);
    free(p);
}

/* ---- statedb --------------------------------------------------------------------------- */

static int list_cb(void *ctx, const struct statedb_exporter *e)
{
    struct statedb_exporter *out = ctx;
    out[0] = *e;
    return 0;
}

/* One URL names both halves of a backend: a data directory opens the embedded store and the
 * SQLite state database inside it; a clickhouse:// URL is claimed by the same backend for both
 * (here with no server listening: a connection error naming it); nothing falls through to
 * being taken as a file name. */
static void test_statedb_same_url_same_backend_as_store(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    char err[256], path[600];
    struct store *s;
    struct statedb *db;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    assert_int_equal(statedb_open(dir, &db, err), 0);
    assert_string_equal(statedb_backend_name(db), store_backend_name(s));
    struct statedb_exporter e = {.first_ms = 1, .last_ms = 2, .flows = 3, .version = 5};
    assert_int_equal(statedb_exporter_upsert(db, &e, 1), 0);
    statedb_close(db);
    assert_int_equal(store_close(s), 0);
    snprintf(path, sizeof path, "%s/state.db", dir);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0); /* the directory's state.db, not the directory */
    assert_int_equal(statedb_open(path, &db, err), 0);
    struct statedb_exporter got[1];
    memset(got, 0, sizeof got);
    assert_int_equal(statedb_exporter_list(db, list_cb, got), 0);
    assert_int_equal(got[0].flows, 3);
    statedb_close(db);

    const char *ch = "clickhouse://127.0.0.1:9/botscope";
    assert_int_equal(store_open(ch, NULL, STORE_RDONLY, &s, err), 0);
    assert_string_equal(store_backend_name(s), "clickhouse");
    assert_int_equal(store_close(s), 0);
    assert_int_not_equal(statedb_open(ch, &db, err), 0);
    assert_null(db);
    assert_non_null(strstr(err, "127.0.0.1:9"));
    assert_int_equal(statedb_open("", &db, err), BS_EUSAGE);
    assert_int_equal(statedb_open(NULL, &db, err), BS_EUSAGE);
    st_rm_rf(dir);
    free(dir);
}

static void test_statedb_migrates_and_upserts_exporters(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/state.db", dir);
    struct statedb *db;
    assert_int_equal(statedb_open(path, &db, err), 0);
    assert_int_equal(statedb_schema_version(db), STATEDB_SCHEMA_VERSION);
    struct statedb_exporter e = {.first_ms = 2000,
                                 .last_ms = 3000,
                                 .flows = 5,
                                 .packets = 50,
                                 .bytes = 500,
                                 .sampling_rate = 1,
                                 .version = 9};
    ipaddr_from_v4(&e.addr, 0x7f000001);
    assert_int_equal(statedb_exporter_upsert(db, &e, 1), 0);
    e.first_ms = 1000;
    e.last_ms = 2500;
    assert_int_equal(statedb_exporter_upsert(db, &e, 1), 0);
    statedb_close(db);
    assert_int_equal(statedb_open(path, &db, err), 0); /* reopening is a no-op migration */
    struct statedb_exporter got[1];
    assert_int_equal(statedb_exporter_list(db, list_cb, got), 0);
    assert_int_equal(got[0].flows, 10);
    assert_int_equal(got[0].packets, 100);
    assert_int_equal(got[0].first_ms, 1000);
    assert_int_equal(got[0].last_ms, 3000);
    statedb_close(db);
    st_rm_rf(dir);
    free(dir);
}

static void test_statedb_refuses_newer_schema(void **state)
{
    char *dir = st_make_tmpdir("bs_store_test");
    char path[600], err[256];
    snprintf(path, sizeof path, "%s/state.db", dir);
    struct statedb *db;
    assert_int_equal(statedb_open(path, &db, err), 0);
    statedb_close(db);
    char cmd[800];
    snprintf(cmd, sizeof cmd,
             "sqlite3 '%s' 'INSERT INTO schema_version(version) VALUES (99)' "
             "2>/dev/null",
             path);
    if (system(cmd) != 0) {
        st_rm_rf(dir);
        free(dir);
        skip();
    }
    assert_int_equal(statedb_open(path, &db, err), BS_EVERSION);
    assert_non_null(strstr(err, "newer"));
    st_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_colenc_constant_column_takes_no_planes),
        cmocka_unit_test(test_colenc_few_distinct_wide_values_use_dict),
        cmocka_unit_test(test_colenc_sorted_times_use_delta),
        cmocka_unit_test(test_colenc_random_widths_roundtrip),
        cmocka_unit_test(test_colenc_narrow_decoders_and_addresses),
        cmocka_unit_test(test_colenc_address_planes_every_byte),
        cmocka_unit_test(test_colenc_mixed_addresses),
        cmocka_unit_test(test_segment_versions),
        cmocka_unit_test(test_colenc_unknown_kind_is_corrupt),
        cmocka_unit_test(test_store_roundtrip_all_columns_mixed_families),
        cmocka_unit_test(test_store_lz4_and_block_split),
        cmocka_unit_test(test_store_corrupt_block_is_reported_and_skipped),
        cmocka_unit_test(test_store_open_removes_leftover_temp_segments),
        cmocka_unit_test(test_store_second_writer_is_refused),
        cmocka_unit_test(test_store_retention_never_removes_what_this_run_wrote),
        cmocka_unit_test(test_store_retention_counts_age_from_wall_clock),
        cmocka_unit_test(test_store_max_size_drops_oldest_segments),
        cmocka_unit_test(test_store_failed_flush_keeps_batch_then_drops_oldest_at_cap),
        cmocka_unit_test(test_store_bad_config_and_clickhouse_url_are_reported),
        cmocka_unit_test(test_segment_parse_rejects_garbage),
        cmocka_unit_test(test_statedb_same_url_same_backend_as_store),
        cmocka_unit_test(test_statedb_migrates_and_upserts_exporters),
        cmocka_unit_test(test_statedb_refuses_newer_schema),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
