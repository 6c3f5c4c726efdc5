/* Unit tests for the telescope's NDJSON files (src/telescope/tel_out.c) against the JSON
 * writer: sources.ndjson lines come from a hand-tuned formatter (a day can hold a million of
 * them), the other files from core/jw. Each line of each file, read back and written again
 * through jw with the same keys in the same order, must give the same bytes, so the fast
 * formatter cannot drift from the one writer's escaping, number format and layout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/ipaddr.h"
#include "core/jw.h"
#include "proto/pkt.h"
#include "telescope/tel_engine.h"
#include "telescope/tel_out.h"
#include "telescope/tel_pmap.h"

#define DARK 0xc6120000u /* 198.18.0.0/16 */

static uint32_t v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
    return (uint32_t)a << 24 | (uint32_t)b << 16 | (uint32_t)c << 8 | d;
}

static struct pkt_info tcp(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                           uint8_t flags, uint32_t seq)
{
    struct pkt_info pi;
    memset(&pi, 0, sizeof pi);
    pi.ip_version = 4;
    pi.proto = 6;
    ipaddr_from_v4(&pi.src, src);
    ipaddr_from_v4(&pi.dst, dst);
    pi.ip_len = 40;
    pi.ip_id = (uint16_t)(seq * 7);
    pi.ttl = 64;
    pi.l4_ok = 1;
    pi.src_port = sport;
    pi.dst_port = dport;
    pi.tcp_flags = flags;
    pi.tcp_seq = seq;
    pi.tcp_window = 5840;
    pi.tcp_hdr_len = 20;
    return pi;
}

/* Writes v again through w (integers as unsigned, reals as jw_dbl). */
static void rewrite(struct jw *w, const char *key, json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        jw_obj(w, key);
        for (void *it = json_object_iter(v); it; it = json_object_iter_next(v, it))
            rewrite(w, json_object_iter_key(it), json_object_iter_value(it));
        jw_end(w);
        return;
    }
    case JSON_ARRAY:
        jw_arr(w, key);
        for (size_t i = 0; i < json_array_size(v); i++)
            rewrite(w, NULL, json_array_get(v, i));
        jw_end(w);
        return;
    case JSON_STRING:
        jw_strn(w, key, json_string_value(v), json_string_length(v));
        return;
    case JSON_INTEGER:
        assert_true(json_integer_value(v) >= 0);
        jw_u64(w, key, (uint64_t)json_integer_value(v));
        return;
    case JSON_REAL:
        jw_dbl(w, key, json_real_value(v));
        return;
    case JSON_TRUE:
        jw_bool(w, key, true);
        return;
    case JSON_FALSE:
        jw_bool(w, key, false);
        return;
    case JSON_NULL:
        jw_null(w, key);
        return;
    }
}

/* Every line of path equals its jw rewrite; returns the number of lines. */
static size_t check_file(const char *path)
{
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *line = NULL;
    size_t cap = 0, n = 0;
    ssize_t len;
    struct buf b = BUF_INIT(1 << 20);
    while ((len = getline(&line, &cap, f)) > 0) {
        json_error_t e;
        json_t *v = json_loadb(line, (size_t)len, 0, &e);
        if (!v)
            fail_msg("%s: not JSON: %s", path, e.text);
        buf_reset(&b);
        struct jw w;
        jw_init(&w, &b);
        rewrite(&w, NULL, v);
        assert_int_equal(jw_close(&w), 0);
        if (b.len != (size_t)len || memcmp(b.data, line, b.len))
            fail_msg("%s line %zu differs from the JSON writer's:\n%s%s", path, n + 1, line,
                     b.data);
        json_decref(v);
        n++;
    }
    free(line);
    fclose(f);
    buf_release(&b);
    return n;
}

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void test_tel_out_lines_equal_the_json_writer(void **state)
{
    char dir[] = "/tmp/bs_tel_out_test.XXXXXX";
    assert_non_null(mkdtemp(dir));
    bool levels[TEL_LEVELS] = {true, true, true, true};
    struct tel_out *out;
    char err[256];
    assert_int_equal(tel_out_open(dir, true, levels, &out, err, sizeof err), 0);

    static struct tel_pmap_entry dk[2];
    assert_int_equal(tel_pmap_parse_list("198.18.0.0/16", dk, 2), 1);
    struct tel_opts o;
    tel_opts_defaults(&o);
    o.darknet = dk;
    o.n_darknet = 1;
    o.sinks[0] = (struct tel_sink){&tel_out_sink_ops, out};
    o.n_sinks = 1;
    struct tel_engine *e;
    assert_int_equal(tel_engine_new(&o, &e, err, sizeof err), 0);

    uint64_t t0 = 1700000000000ull;
    /* Mirai-like scanners (seq = destination) on 23/2323, a multi-port scanner, and a
     * backscatter victim answering SYN-ACKs for three minutes, over two UTC days. */
    for (uint32_t i = 0; i < 400; i++) {
        uint32_t d = DARK + 7 * i;
        struct pkt_info pi = tcp(v4(45, 1, 1, 1 + i % 5), d, 40000, i % 3 ? 23 : 2323, 0x02, d);
        assert_int_equal(tel_engine_decoded(e, t0 + i * 100, &pi, NULL, 60), 0);
        pi = tcp(v4(60, 2, 3, 4), d, 51000, (uint16_t)(1 + i % 40), 0x02, i * 2654435761u);
        assert_int_equal(tel_engine_decoded(e, t0 + i * 100 + 1, &pi, NULL, 60), 0);
        pi = tcp(v4(203, 0, 113, 9), DARK + i % 50, 80, (uint16_t)(1024 + i), 0x12, i);
        assert_int_equal(tel_engine_decoded(e, t0 + i * 450, &pi, NULL, 60), 0);
    }
    struct pkt_info pi = tcp(v4(45, 1, 1, 9), DARK + 5, 40000, 23, 0x02, DARK + 5);
    assert_int_equal(tel_engine_decoded(e, t0 + 86400000ull, &pi, NULL, 60), 0);
    assert_int_equal(tel_engine_finish(e), 0);
    assert_int_equal(tel_out_provenance(dir, e, "offline", NULL, 0, NULL, 0, NULL, false), 0);
    tel_engine_free(e);
    assert_int_equal(tel_out_commit(out), 0);

    char path[512];
    snprintf(path, sizeof path, "%s/sources.ndjson", dir);
    assert_true(check_file(path) >= 8);
    snprintf(path, sizeof path, "%s/victims.ndjson", dir);
    assert_int_equal(check_file(path), 1);
    snprintf(path, sizeof path, "%s/intervals.ndjson", dir);
    assert_true(check_file(path) > 10);
    snprintf(path, sizeof path, "%s/intervals_1h.ndjson", dir);
    assert_true(check_file(path) >= 2);
    snprintf(path, sizeof path, "%s/provenance.json", dir);
    assert_int_equal(check_file(path), 1);
    nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tel_out_lines_equal_the_json_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
