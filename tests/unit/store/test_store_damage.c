/* Unit tests for the day manifests of the embedded store (src/store/manifest.c, seglist.c):
 * the manifest format with hand-made malformed lines, and damage found on every read of a
 * store whose segments were truncated, deleted, duplicated or left mid-commit (issue 21). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"
#include "core/flow.h"
#include "store/manifest.h"
#include "store/store.h"
#include "store_testutil.h"

/* ---- the manifest format ----------------------------------------------------------------- */

/* Appends "TEXT CRC\n" to b. */
static void add_line(char *b, size_t cap, const char *text)
{
    size_t l = strlen(b);
    snprintf(b + l, cap - l, "%s %08x\n", text,
             (unsigned)crc32(0L, (const Bytef *)text, (uInt)strlen(text)));
}

static void test_manifest_parses_lines_and_counts_bad_ones(void **state)
{
    (void)state;
    char b[2048] = "botscope-manifest 1\n";
    add_line(b, sizeof b, "+ b.seg 100 7");
    add_line(b, sizeof b, "+ a.seg 200 9");
    add_line(b, sizeof b, "+ c.seg 5 1");
    add_line(b, sizeof b, "- c.seg");
    add_line(b, sizeof b, "+ a.seg 200 9");                  /* listed twice */
    strcat(b, "+ d.seg 1 1 00000000\n");                     /* wrong CRC */
    add_line(b, sizeof b, "+ e.seg 1");                      /* no record count */
    add_line(b, sizeof b, "* f.seg 1 1");                    /* unknown op */
    add_line(b, sizeof b, "+ x/y.seg 1 1");                  /* a path, not a name */
    add_line(b, sizeof b, "+ g.seg 18446744073709551616 1"); /* above u64 */
    strcat(b, "+ h.seg 1 1"); /* cut by a crash: ignored, not counted */
    struct manifest m;
    assert_int_equal(manifest_parse(b, strlen(b), &m), 0);
    assert_int_equal(m.n, 3);
    assert_int_equal(m.bad_lines, 5);
    assert_int_equal(m.first_bad_line, 7);
    const struct manifest_entry *e = manifest_find(&m, "a.seg");
    assert_non_null(e);
    assert_int_equal(e->size, 200);
    assert_int_equal(e->records, 9);
    assert_true(e->twice);
    e = manifest_find(&m, "b.seg");
    assert_non_null(e);
    assert_false(e->twice || e->removed);
    e = manifest_find(&m, "c.seg");
    assert_non_null(e);
    assert_true(e->removed);
    assert_null(manifest_find(&m, "d.seg"));
    assert_null(manifest_find(&m, "h.seg"));
    manifest_release(&m);

    /* Not a manifest at all. */
    assert_int_equal(manifest_parse("botscope-manifest 2\n", 20, &m), BS_ECORRUPT);
    assert_int_equal(manifest_parse("", 0, &m), BS_ECORRUPT);
    assert_int_equal(manifest_parse("botscope-manifest 1", 19, &m), BS_ECORRUPT);
    assert_int_equal(manifest_parse("botscope-manifest 1\n", 20, &m), 0);
    assert_int_equal(m.n, 0);
    manifest_release(&m);
}

static void test_manifest_append_then_rewrite_round_trips(void **state)
{
    (void)state;
    char *dir = st_make_tmpdir("bs_manifest_test");
    struct manifest_op ops[] = {{"s1.seg", 10, 1, 0}, {"s2.seg", 20, 2, 0}, {"s1.seg", 0, 0, 1}};
    assert_int_equal(manifest_append(dir, ops, 2), 0);
    assert_int_equal(manifest_append(dir, ops + 2, 1), 0);
    struct manifest m;
    assert_int_equal(manifest_load(dir, &m), 0);
    assert_int_equal(m.n, 2);
    assert_true(manifest_find(&m, "s1.seg")->removed);
    assert_int_equal(manifest_rewrite(dir, &m), 0);
    manifest_release(&m);
    assert_int_equal(manifest_load(dir, &m), 0);
    assert_int_equal(m.n, 1);
    assert_int_equal(manifest_find(&m, "s2.seg")->records, 2);
    assert_int_equal(m.bad_lines, 0);
    manifest_release(&m);
    char sub[512];
    snprintf(sub, sizeof sub, "%s/none", dir);
    assert_int_equal(manifest_load(sub, &m), -ENOENT);
    st_rm_rf(dir);
    free(dir);
}

/* ---- damage seen by readers -------------------------------------------------------------- */

#define T0 1700000000000ull /* 2023-11-14 22:13:20 UTC, a partition start (5 min) */

/* A store with three segments of `per` records each (three flushes, three partitions). */
static char *make_store(size_t per)
{
    char *dir = st_make_tmpdir("bs_damage_test");
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    struct flow_rec *r = calloc(per, sizeof *r);
    assert_non_null(r);
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < per; i++) {
            r[i].start_ms = r[i].end_ms = T0 + (uint64_t)k * 300000 + i;
            r[i].packets = 1;
            r[i].bytes = 40;
            r[i].sampling_rate = 1;
            ipaddr_from_v4(&r[i].src, 0x0a000001u + (uint32_t)i);
            ipaddr_from_v4(&r[i].dst, 0xc0000201u);
        }
        assert_int_equal(store_append(s, r, per), 0);
        assert_int_equal(store_flush(s), 0);
    }
    free(r);
    assert_int_equal(store_close(s), 0);
    return dir;
}

/* Path of the k-th segment (time order) of the one day under dir. */
static void seg_path(const char *dir, int k, char *out, size_t cap)
{
    char day[512];
    snprintf(day, sizeof day, "%s/flows/2023-11-14", dir);
    struct dirent **names;
    int n = scandir(day, &names, NULL, alphasort);
    assert_true(n > 0);
    int seen = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        size_t l = strlen(nm);
        if (nm[0] != '.' && l > 4 && !strcmp(nm + l - 4, ".seg") && seen++ == k)
            snprintf(out, cap, "%s/%s", day, nm);
        free(names[i]);
    }
    free(names);
    assert_true(out[0]);
}

static int count_block(void *ctx, unsigned th, const struct store_block *b)
{
    (void)th;
    *(uint64_t *)ctx += b->n;
    return 0;
}

/* Scans dir whole: records read, and the scan's damage counts. */
static uint64_t scan_all(const char *dir, struct store_scan_stats *st)
{
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    uint64_t n = 0;
    struct store_scan sc = {
        .t_lo = 0, .t_hi = UINT64_MAX, .cols = STORE_COLS_ALL, .on_block = count_block, .ctx = &n};
    assert_int_equal(store_scan(s, &sc, st), 0);
    store_close(s);
    return n;
}

static void check_all(const char *dir, struct store_check_stats *cs, struct store_info *in)
{
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_RDONLY, &s, err), 0);
    assert_int_equal(store_check(s, NULL, NULL, cs), 0);
    assert_int_equal(store_get_info(s, in), 0);
    store_close(s);
}

static void test_store_truncated_segment_is_reported_on_every_read(void **state)
{
    (void)state;
    char *dir = make_store(1000);
    struct store_scan_stats st;
    assert_int_equal(scan_all(dir, &st), 3000);
    assert_int_equal(st.segments_damaged, 0);
    char p[1024];
    seg_path(dir, 1, p, sizeof p);
    assert_int_equal(truncate(p, 0), 0);
    assert_int_equal(scan_all(dir, &st), 2000);
    assert_int_equal(st.segments_damaged, 1);
    assert_int_equal(st.records_missing, 1000);
    struct store_check_stats cs;
    struct store_info in;
    check_all(dir, &cs, &in);
    assert_int_equal(cs.segments_damaged, 1);
    assert_int_equal(cs.records_missing, 1000);
    assert_int_equal(cs.records, 2000);
    assert_int_equal(in.segments_damaged, 1);
    assert_int_equal(in.records_missing, 1000);
    assert_int_equal(in.records, 2000);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_deleted_and_duplicated_segments_are_reported(void **state)
{
    (void)state;
    char *dir = make_store(500);
    char p[1024], q[1100];
    struct store_scan_stats st;
    /* A copy under a new valid name (a duplicate) is left out and reported. */
    seg_path(dir, 0, p, sizeof p);
    snprintf(q, sizeof q, "%.*s99999999.seg", (int)(strlen(p) - 12), p);
    char cmd[2400];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", p, q);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(scan_all(dir, &st), 1500);
    assert_int_equal(st.segments_damaged, 1);
    assert_int_equal(unlink(q), 0);
    /* A deleted segment is missing, with its records. */
    seg_path(dir, 2, p, sizeof p);
    assert_int_equal(unlink(p), 0);
    assert_int_equal(scan_all(dir, &st), 1000);
    assert_int_equal(st.segments_damaged, 1);
    assert_int_equal(st.records_missing, 500);
    struct store_check_stats cs;
    struct store_info in;
    check_all(dir, &cs, &in);
    assert_int_equal(cs.segments_damaged, 1);
    assert_int_equal(cs.records_missing, 500);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_check_finds_corrupt_blocks(void **state)
{
    (void)state;
    char *dir = make_store(1000);
    char p[1024];
    seg_path(dir, 0, p, sizeof p);
    /* Flip a byte in the first column chunk (just after the 16-byte header): the size stays,
     * so only decoding finds it. */
    FILE *f = fopen(p, "r+b");
    assert_non_null(f);
    assert_int_equal(fseek(f, 40, SEEK_SET), 0);
    int ch = fgetc(f);
    assert_int_equal(fseek(f, 40, SEEK_SET), 0);
    fputc(ch ^ 0xff, f);
    fclose(f);
    struct store_check_stats cs;
    struct store_info in;
    check_all(dir, &cs, &in);
    assert_int_equal(cs.blocks_corrupt, 1);
    assert_int_equal(cs.records_missing, 1000);
    assert_int_equal(cs.segments, 3);
    assert_int_equal(in.segments_damaged, 0); /* info reads footers only */
    st_rm_rf(dir);
    free(dir);
}

static void test_store_writer_rolls_forward_a_commit_cut_before_its_renames(void **state)
{
    (void)state;
    char *dir = make_store(100);
    char p[1024], tmp[1100];
    seg_path(dir, 1, p, sizeof p);
    const char *slash = strrchr(p, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.tmp.%s", (int)(slash - p), p, slash + 1);
    assert_int_equal(rename(p, tmp), 0);
    /* A reader meanwhile: in flight, not damage (nor read). */
    struct store_scan_stats st;
    assert_int_equal(scan_all(dir, &st), 200);
    assert_int_equal(st.segments_damaged, 0);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    assert_int_equal(store_close(s), 0);
    assert_int_equal(scan_all(dir, &st), 300);
    assert_int_equal(st.segments_damaged, 0);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_day_without_manifest_is_reported_until_a_writer_writes_one(void **state)
{
    (void)state;
    char *dir = make_store(100);
    char m[1024];
    snprintf(m, sizeof m, "%s/flows/2023-11-14/MANIFEST", dir);
    assert_int_equal(unlink(m), 0);
    struct store_scan_stats st;
    assert_int_equal(scan_all(dir, &st), 300);
    assert_int_equal(st.segments_damaged, 1);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, NULL, STORE_WRITE, &s, err), 0);
    assert_int_equal(store_close(s), 0);
    assert_int_equal(scan_all(dir, &st), 300);
    assert_int_equal(st.segments_damaged, 0);
    struct manifest man;
    snprintf(m, sizeof m, "%s/flows/2023-11-14", dir);
    assert_int_equal(manifest_load(m, &man), 0);
    assert_int_equal(man.n, 3);
    assert_int_equal(man.v[0].records, 100);
    manifest_release(&man);
    st_rm_rf(dir);
    free(dir);
}

static void test_store_retention_removal_is_recorded_in_the_manifest(void **state)
{
    (void)state;
    char *dir = make_store(100);
    const char *kv[][3] = {{"store", "retention", "1h"}};
    struct config *cfg = st_test_config(kv, 1);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "find '%s/flows' -name '*.seg' -exec touch -d '2 hours ago' {} +",
             dir);
    assert_int_equal(system(cmd), 0);
    char err[256];
    struct store *s;
    assert_int_equal(store_open(dir, cfg, STORE_WRITE, &s, err), 0);
    uint64_t segs, bytes;
    assert_int_equal(store_prune(s, (uint64_t)time(NULL) * 1000, &segs, &bytes), 0);
    assert_int_equal(segs, 3);
    store_close(s);
    struct store_scan_stats st;
    assert_int_equal(scan_all(dir, &st), 0);
    assert_int_equal(st.segments_damaged, 0);
    config_release(cfg);
    st_rm_rf(dir);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_manifest_parses_lines_and_counts_bad_ones),
        cmocka_unit_test(test_manifest_append_then_rewrite_round_trips),
        cmocka_unit_test(test_store_truncated_segment_is_reported_on_every_read),
        cmocka_unit_test(test_store_deleted_and_duplicated_segments_are_reported),
        cmocka_unit_test(test_store_check_finds_corrupt_blocks),
        cmocka_unit_test(test_store_writer_rolls_forward_a_commit_cut_before_its_renames),
        cmocka_unit_test(test_store_day_without_manifest_is_reported_until_a_writer_writes_one),
        cmocka_unit_test(test_store_retention_removal_is_recorded_in_the_manifest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
