/* Unit tests for src/core/jw: nesting and keys, misuse and depth as sticky errors, the string
 * escaper on hand-built bytes (control characters, UTF-8 kept, malformed UTF-8 replaced),
 * numbers, the indented layout and streaming through a sink. Every document written is also
 * read back with jansson: whatever the input, the output must be valid JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/jw.h"

static void assert_valid_json(const char *text)
{
    json_error_t e;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!v)
        fail_msg("not JSON (%s): %s", e.text, text);
    json_decref(v);
}

/* The quoted JSON form of s[0..n). */
static const char *esc(struct buf *b, const char *s, size_t n)
{
    buf_reset(b);
    assert_int_equal(jw_escape(b, s, n), 0);
    return b->data;
}

static void test_jw_nested_objects_and_arrays(void **state)
{
    struct buf b = BUF_INIT(1024);
    struct jw w;
    jw_open(&w, &b);
    jw_str(&w, "name", "x");
    jw_arr(&w, "list");
    jw_u64(&w, NULL, 1);
    jw_obj(&w, NULL);
    jw_bool(&w, "ok", true);
    jw_null(&w, "none");
    jw_end(&w);
    jw_arr(&w, NULL);
    jw_end(&w);
    jw_end(&w);
    jw_obj(&w, "empty");
    jw_end(&w);
    jw_raw(&w, "raw", "[1,2]");
    assert_int_equal(jw_close(&w), 0);
    assert_string_equal(b.data, "{\"name\":\"x\",\"list\":[1,{\"ok\":true,\"none\":null},[]],"
                                "\"empty\":{},\"raw\":[1,2]}\n");
    assert_valid_json(b.data);
    /* jw_close closes what is still open; jw_finish adds no newline */
    buf_reset(&b);
    jw_init(&w, &b);
    jw_arr(&w, NULL);
    jw_obj(&w, NULL);
    jw_u64(&w, "a", 1);
    assert_int_equal(jw_finish(&w), 0);
    assert_string_equal(b.data, "[{\"a\":1}]");
    /* a top-level scalar is a JSON text too */
    buf_reset(&b);
    jw_init(&w, &b);
    jw_str(&w, NULL, "only");
    assert_int_equal(jw_finish(&w), 0);
    assert_string_equal(b.data, "\"only\"");
    buf_release(&b);
}

static void test_jw_misuse_is_a_sticky_error(void **state)
{
    struct buf b = BUF_INIT(1024);
    struct jw w;
    /* a value without a key inside an object */
    jw_open(&w, &b);
    jw_u64(&w, NULL, 1);
    jw_u64(&w, "later", 2); /* ignored: the error is sticky */
    assert_int_equal(jw_close(&w), BS_EUSAGE);
    assert_null(strstr(b.data, "later"));
    /* a key inside an array */
    buf_reset(&b);
    jw_init(&w, &b);
    jw_arr(&w, NULL);
    jw_u64(&w, "k", 1);
    assert_int_equal(jw_finish(&w), BS_EUSAGE);
    /* closing with nothing open */
    buf_reset(&b);
    jw_open(&w, &b);
    jw_end(&w);
    jw_end(&w);
    assert_int_equal(jw_close(&w), BS_EUSAGE);
    /* a second top-level value */
    buf_reset(&b);
    jw_init(&w, &b);
    jw_u64(&w, NULL, 1);
    jw_u64(&w, NULL, 2);
    assert_int_equal(jw_finish(&w), BS_EUSAGE);
    /* nothing written at all */
    buf_reset(&b);
    jw_init(&w, &b);
    assert_int_equal(jw_close(&w), BS_EUSAGE);
    buf_release(&b);
}

static void test_jw_depth_limit_both_sides(void **state)
{
    struct buf b = BUF_INIT(4096);
    struct jw w;
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH; i++)
        jw_arr(&w, NULL);
    assert_int_equal(w.err, 0);
    assert_int_equal(jw_finish(&w), 0);
    assert_valid_json(b.data);
    assert_int_equal(b.len, 2 * JW_MAX_DEPTH);
    buf_reset(&b);
    jw_init(&w, &b);
    for (int i = 0; i < JW_MAX_DEPTH + 1; i++)
        jw_arr(&w, NULL);
    assert_int_equal(w.err, BS_ELIMIT);
    jw_u64(&w, NULL, 1);
    assert_int_equal(jw_finish(&w), BS_ELIMIT);
    buf_release(&b);
}

static void test_jw_buffer_cap_is_a_sticky_error(void **state)
{
    struct buf b = BUF_INIT(16);
    struct jw w;
    jw_open(&w, &b);
    jw_str(&w, "k", "0123456789abcdef");
    jw_u64(&w, "n", 1);
    assert_int_equal(jw_close(&w), BS_ELIMIT);
    buf_release(&b);
}

static void test_jw_escape_control_and_quotes(void **state)
{
    struct buf b = BUF_INIT(1024);
    assert_string_equal(esc(&b, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
    assert_string_equal(esc(&b, "\n\r\t", 3), "\"\\n\\r\\t\"");
    const char ctl[] = {0x00, 0x01, 0x08, 0x0c, 0x1f, 0x20, 0x7f};
    assert_string_equal(esc(&b, ctl, sizeof ctl), "\"\\u0000\\u0001\\u0008\\u000c\\u001f \x7f\"");
    assert_valid_json(b.data);
    assert_string_equal(esc(&b, "", 0), "\"\"");
    /* a key is escaped the same way */
    struct jw w;
    buf_reset(&b);
    jw_open(&w, &b);
    jw_u64(&w, "a\"b", 1);
    assert_int_equal(jw_close(&w), 0);
    assert_string_equal(b.data, "{\"a\\\"b\":1}\n");
    buf_release(&b);
}

static void test_jw_escape_keeps_well_formed_utf8(void **state)
{
    struct buf b = BUF_INIT(1024);
    /* U+00E9, U+20AC, U+FFFD itself, U+1F600, U+10FFFF: the shortest forms, copied as is */
    const char ok[] = "\xc3\xa9\xe2\x82\xac\xef\xbf\xbd\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf";
    char want[64];
    snprintf(want, sizeof want, "\"%s\"", ok);
    assert_string_equal(esc(&b, ok, sizeof ok - 1), want);
    /* boundaries of the 3-byte range: U+0800 and U+D7FF are fine, U+E000 too */
    assert_string_equal(esc(&b, "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80", 9),
                        "\"\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\"");
    assert_valid_json(b.data);
    buf_release(&b);
}

static void test_jw_escape_replaces_malformed_utf8(void **state)
{
    struct buf b = BUF_INIT(1024);
#define FFFD "\xef\xbf\xbd"
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"\x80", 1, "\"" FFFD "\""},                            /* lone continuation byte */
        {"a\xbfz", 3, "\"a" FFFD "z\""},                        /* recovers at the next byte */
        {"\xc0\xaf", 2, "\"" FFFD FFFD "\""},                   /* overlong '/' */
        {"\xc1\xbf", 2, "\"" FFFD FFFD "\""},                   /* overlong */
        {"\xe0\x9f\xbf", 3, "\"" FFFD FFFD FFFD "\""},          /* overlong 3-byte (U+07FF) */
        {"\xed\xa0\x80", 3, "\"" FFFD FFFD FFFD "\""},          /* surrogate U+D800 */
        {"\xf0\x8f\xbf\xbf", 4, "\"" FFFD FFFD FFFD FFFD "\""}, /* overlong 4-byte */
        {"\xf4\x90\x80\x80", 4, "\"" FFFD FFFD FFFD FFFD "\""}, /* past U+10FFFF */
        {"\xf5\x80", 2, "\"" FFFD FFFD "\""},                   /* never a lead byte */
        {"\xff", 1, "\"" FFFD "\""},
        {"\xc3", 1, "\"" FFFD "\""},                /* truncated at the end */
        {"\xe2\x82", 2, "\"" FFFD FFFD "\""},       /* truncated 3-byte */
        {"\xc3(", 2, "\"" FFFD "(\""},              /* bad continuation */
        {"\xe2\x82\"", 3, "\"" FFFD FFFD "\\\"\""}, /* a quote ends a sequence */
    };
#undef FFFD
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        esc(&b, cases[i].in, cases[i].n);
        if (strcmp(b.data, cases[i].out))
            fail_msg("case %zu: got %s", i, b.data);
        assert_valid_json(b.data);
    }
    /* any bytes at all come out as valid JSON: every 2-byte string */
    char s[2];
    for (unsigned x = 0; x < 256; x++)
        for (unsigned y = 0; y < 256; y += 7) {
            s[0] = (char)x;
            s[1] = (char)y;
            assert_valid_json(esc(&b, s, 2));
        }
    buf_release(&b);
}

/* jw_fit against a brute-force answer: on strings mixing ASCII, escapes, control bytes,
 * well-formed UTF-8 of every length and malformed bytes, for every room, the prefix it
 * returns ends on a character boundary (its escaped form is a prefix of the whole string's),
 * fits, and is the longest such prefix that fits. */
static void test_jw_fit_is_the_longest_whole_prefix_that_fits(void **state)
{
    (void)state;
    static const char *const parts[] = {"a",        "\"",           "\\",
                                        "\n",       "\x01",         "\x7f",
                                        "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80",
                                        "\xff",     "\xc3",         "\xed\xa0\x80"};
    const size_t np = sizeof parts / sizeof parts[0];
    struct buf whole = BUF_INIT(1024), pre = BUF_INIT(1024);
    uint32_t x = 12345;
    for (int round = 0; round < 300; round++) {
        char s[64];
        size_t n = 0;
        for (int k = 0; k < 8; k++) {
            x = x * 1103515245u + 12345u;
            const char *p = parts[(x >> 16) % np];
            memcpy(s + n, p, strlen(p));
            n += strlen(p);
        }
        esc(&whole, s, n);
        size_t wl = whole.len - 1; /* without the closing quote */
        for (size_t room = 0; room < whole.len + 3; room++) {
            size_t k = jw_fit(s, n, room);
            assert_true(k <= n);
            esc(&pre, s, k);
            if (room < 2) {
                assert_int_equal(k, 0);
                continue;
            }
            assert_true(pre.len <= room);
            assert_true(pre.len - 1 <= wl && !memcmp(pre.data, whole.data, pre.len - 1));
            for (size_t j = k + 1; j <= n; j++) {
                esc(&pre, s, j);
                bool boundary = pre.len - 1 <= wl && !memcmp(pre.data, whole.data, pre.len - 1);
                if (boundary && pre.len <= room)
                    fail_msg("round %d room %zu: %zu fits, jw_fit said %zu", round, room, j, k);
            }
        }
    }
    /* the whole string when it fits; nothing of it when only the quotes do */
    assert_int_equal(jw_fit("abc", 3, 5), 3);
    assert_int_equal(jw_fit("abc", 3, 4), 2);
    assert_int_equal(jw_fit("\x01", 1, 7), 0);
    assert_int_equal(jw_fit("\x01", 1, 8), 1);
    assert_int_equal(jw_fit("\xe2\x82\xac", 3, 4), 0); /* a 3-byte character is not split */
    assert_int_equal(jw_fit("\xe2\x82\xac", 3, 5), 3);
    buf_release(&whole);
    buf_release(&pre);
}

static void test_jw_numbers(void **state)
{
    struct buf b = BUF_INIT(1024);
    struct jw w;
    jw_init(&w, &b);
    jw_arr(&w, NULL);
    jw_u64(&w, NULL, 0);
    jw_u64(&w, NULL, UINT64_MAX);
    jw_i64(&w, NULL, INT64_MIN);
    jw_i64(&w, NULL, -1);
    jw_dbl(&w, NULL, 0.5);
    jw_dbl(&w, NULL, 1.0 / 3.0);
    jw_dbl(&w, NULL, 1234567.0);
    jw_dbl(&w, NULL, -2.5e-9);
    jw_dbl(&w, NULL, NAN);
    jw_dbl(&w, NULL, INFINITY);
    jw_dbl(&w, NULL, -INFINITY);
    assert_int_equal(jw_finish(&w), 0);
    assert_string_equal(b.data, "[0,18446744073709551615,-9223372036854775808,-1,0.5,0.333333,"
                                "1.23457e+06,-2.5e-09,null,null,null]");
    /* (not read back: jansson's integers stop at INT64_MAX) */
    buf_release(&b);
}

static void test_jw_indent_layout(void **state)
{
    struct buf b = BUF_INIT(1024);
    struct jw w;
    jw_init(&w, &b);
    jw_set_indent(&w, 2);
    jw_obj(&w, NULL);
    jw_u64(&w, "a", 1);
    jw_arr(&w, "l");
    jw_obj(&w, NULL);
    jw_arr(&w, "deep");
    jw_u64(&w, NULL, 2);
    jw_end(&w);
    jw_end(&w);
    jw_end(&w);
    jw_arr(&w, "e");
    jw_end(&w);
    assert_int_equal(jw_close(&w), 0);
    assert_string_equal(b.data,
                        "{\n  \"a\":1,\n  \"l\":[\n    {\"deep\":[2]}\n  ],\n  \"e\":[]\n}\n");
    assert_valid_json(b.data);
    buf_release(&b);
}

struct sink {
    char *text;
    size_t len, calls, max_chunk;
    int fail_at; /* call number that fails (0 = none) */
};

static int sink_write(void *ctx, const char *p, size_t n)
{
    struct sink *s = ctx;
    s->calls++;
    if (s->fail_at && (int)s->calls == s->fail_at)
        return BS_EIO;
    char *t = realloc(s->text, s->len + n + 1);
    assert_non_null(t);
    memcpy(t + s->len, p, n);
    s->text = t;
    s->len += n;
    s->text[s->len] = '\0';
    if (n > s->max_chunk)
        s->max_chunk = n;
    return 0;
}

static void test_jw_streams_documents_larger_than_its_buffer(void **state)
{
    struct buf b = BUF_INIT(64 * 1024);
    struct sink s = {0};
    struct jw w;
    jw_init(&w, &b);
    jw_set_indent(&w, 2);
    jw_set_sink(&w, sink_write, &s, 16 * 1024);
    jw_obj(&w, NULL);
    jw_arr(&w, "items");
    const unsigned n = 100000; /* about 3 MB through a 64 KiB buffer */
    for (unsigned i = 0; i < n; i++) {
        jw_obj(&w, NULL);
        jw_u64(&w, "i", i);
        jw_str(&w, "s", "xxxxxxxxxx");
        jw_end(&w);
    }
    assert_int_equal(jw_close(&w), 0);
    assert_true(s.len > 40 * 64 * 1024);
    assert_true(s.max_chunk <= 64 * 1024);
    assert_non_null(strstr(s.text, "    {\"i\":99999,\"s\":\"xxxxxxxxxx\"}\n  ]\n}\n"));
    assert_valid_json(s.text);
    free(s.text);
    /* a failing sink is the document's error */
    struct sink f = {.fail_at = 2};
    buf_reset(&b);
    jw_init(&w, &b);
    jw_set_sink(&w, sink_write, &f, 1024);
    jw_arr(&w, NULL);
    for (unsigned i = 0; i < 10000; i++)
        jw_u64(&w, NULL, i);
    assert_int_equal(jw_close(&w), BS_EIO);
    assert_int_equal(f.calls, 2);
    free(f.text);
    buf_release(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jw_nested_objects_and_arrays),
        cmocka_unit_test(test_jw_misuse_is_a_sticky_error),
        cmocka_unit_test(test_jw_depth_limit_both_sides),
        cmocka_unit_test(test_jw_buffer_cap_is_a_sticky_error),
        cmocka_unit_test(test_jw_escape_control_and_quotes),
        cmocka_unit_test(test_jw_escape_keeps_well_formed_utf8),
        cmocka_unit_test(test_jw_escape_replaces_malformed_utf8),
        cmocka_unit_test(test_jw_fit_is_the_longest_whole_prefix_that_fits),
        cmocka_unit_test(test_jw_numbers),
        cmocka_unit_test(test_jw_indent_layout),
        cmocka_unit_test(test_jw_streams_documents_larger_than_its_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
