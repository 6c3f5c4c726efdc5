/* Unit tests for src/survey/cpe.c: CPE 2.3 formatted strings and 2.2 URIs, quoting,
 * ANY/NA, wildcards, malformed names, and NISTIR 7696 matching. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "core/err.h"
#include "survey/cpe.h"

static struct cpe parse_ok(const char *s)
{
    struct cpe c;
    int rc = cpe_parse(&c, s, strlen(s));
    if (rc != 0)
        fail_msg("cpe_parse(\"%s\") = %d", s, rc);
    return c;
}

static void assert_roundtrip(const char *in, const char *want)
{
    struct cpe c = parse_ok(in);
    char buf[CPE_STR_MAX];
    assert_true(cpe_format(&c, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, want);
}

static void test_cpe_parse_format_roundtrip(void **state)
{
    assert_roundtrip("cpe:2.3:o:tenda:ac15_firmware:15.03.05.19:*:*:*:*:*:*:*",
                     "cpe:2.3:o:tenda:ac15_firmware:15.03.05.19:*:*:*:*:*:*:*");
    /* Case-insensitive prefix, values folded to lower case, missing attributes ANY. */
    assert_roundtrip("CPE:2.3:O:Tenda:AC15_Firmware",
                     "cpe:2.3:o:tenda:ac15_firmware:*:*:*:*:*:*:*:*");
    assert_roundtrip("cpe:2.3:h:tenda:ac15:-:*:*:*:*:*:*:*",
                     "cpe:2.3:h:tenda:ac15:-:*:*:*:*:*:*:*");
    /* Quoting: NVD's escapes kept, needless ones dropped, bare punctuation quoted. */
    assert_roundtrip("cpe:2.3:h:tp-link:tl-wr841n_\\(9.0\\):-:*:*:*:*:*:*:*",
                     "cpe:2.3:h:tp-link:tl-wr841n_\\(9.0\\):-:*:*:*:*:*:*:*");
    assert_roundtrip("cpe:2.3:a:treck:tcp\\/ip:*:*:*:*:*:*:*:*",
                     "cpe:2.3:a:treck:tcp\\/ip:*:*:*:*:*:*:*:*");
    assert_roundtrip("cpe:2.3:o:zyxel:x\\_y\\.z:5.21\\(aazf.7\\)c0",
                     "cpe:2.3:o:zyxel:x_y.z:5.21\\(aazf.7\\)c0:*:*:*:*:*:*:*");
    assert_roundtrip("cpe:2.3:a:acme:a+b:1", "cpe:2.3:a:acme:a\\+b:1:*:*:*:*:*:*:*");
    /* A quoted colon does not split attributes. */
    assert_roundtrip("cpe:2.3:a:acme:x\\:y:1", "cpe:2.3:a:acme:x\\:y:1:*:*:*:*:*:*:*");
}

static void test_cpe_parse_uri_form(void **state)
{
    /* Recog's *.cpe23 params are CPE 2.2 URIs. */
    assert_roundtrip("cpe:/o:tenda:ac15_firmware:15.03.05.19",
                     "cpe:2.3:o:tenda:ac15_firmware:15.03.05.19:*:*:*:*:*:*:*");
    assert_roundtrip("cpe:/a:gitlab:gitlab:-", "cpe:2.3:a:gitlab:gitlab:-:*:*:*:*:*:*:*");
    assert_roundtrip("cpe:/h:tp-link:tl-wr841n_%289.0%29",
                     "cpe:2.3:h:tp-link:tl-wr841n_\\(9.0\\):*:*:*:*:*:*:*:*");
    assert_roundtrip("cpe:/a:acme:prod:1.0:u1:~ed~sw~tsw~thw~oth:en",
                     "cpe:2.3:a:acme:prod:1.0:u1:ed:en:sw:tsw:thw:oth");
    assert_roundtrip("cpe:/a:acme:prod:1.%02", "cpe:2.3:a:acme:prod:1.*:*:*:*:*:*:*:*");
    /* Interpolated Recog versions may hold blanks: quoted, not refused. */
    assert_roundtrip("cpe:/o:tp-link:archer_firmware:1.1.3 Build 20221125",
                     "cpe:2.3:o:tp-link:archer_firmware:1.1.3\\ build\\ 20221125:*:*:*:*:*:*:*");
}

static void test_cpe_parse_rejects_malformed(void **state)
{
    static const char *const bad[] = {
        "",
        "cpe:2.3",
        "cpe:2.2:o:a:b",
        "cpe:2.3:x:tenda:ac15",            /* bad part */
        "cpe:2.3:o:a:b:c:d:e:f:g:h:i:j:k", /* twelve attributes */
        "cpe:2.3:o:a:b:1\\",               /* trailing lone backslash */
        "cpe:2.3:o:a:b:1\x01",             /* control character */
        "cpe:2.3:o:a:b*c",                 /* embedded wildcard */
        "cpe:/x:a:b",                      /* bad part in a URI */
        "cpe:/o:a:b:%2",                   /* short percent escape */
        "cpe:/o:a:b:%zz",                  /* bad percent escape */
        "cpe:/o:a:b:1:2:3:4:5",            /* eight URI components */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct cpe c;
        int rc = cpe_parse(&c, bad[i], strlen(bad[i]));
        if (rc != BS_EPARSE)
            fail_msg("cpe_parse(\"%s\") = %d, want BS_EPARSE", bad[i], rc);
        assert_int_equal(c.kind[CPE_VENDOR], CPE_ANY); /* reset on error */
    }
    char longv[300] = "cpe:2.3:o:a:";
    memset(longv + 12, 'x', CPE_VALUE_MAX);
    longv[12 + CPE_VALUE_MAX] = '\0';
    struct cpe c;
    assert_int_equal(cpe_parse(&c, longv, strlen(longv)), BS_ELIMIT);
    longv[12 + CPE_VALUE_MAX - 1] = '\0'; /* CPE_VALUE_MAX - 1 bytes fit */
    assert_int_equal(cpe_parse(&c, longv, strlen(longv)), 0);
}

static void test_cpe_parse_does_not_read_past_len(void **state)
{
    const char s[] = "cpe:2.3:o:tenda:ac15_firmwareXYZ";
    struct cpe c;
    assert_int_equal(cpe_parse(&c, s, strlen(s) - 3), 0);
    assert_string_equal(c.val[CPE_PRODUCT], "ac15_firmware");
}

static void test_cpe_get_and_set(void **state)
{
    struct cpe c = parse_ok("cpe:2.3:h:tp-link:tl-wr841n_\\(9.0\\):-");
    char buf[CPE_VALUE_MAX];
    assert_int_equal(cpe_get(&c, CPE_PRODUCT, buf, sizeof(buf)), 15);
    assert_string_equal(buf, "tl-wr841n_(9.0)");
    cpe_get(&c, CPE_VERSION, buf, sizeof(buf));
    assert_string_equal(buf, "-");
    cpe_get(&c, CPE_UPDATE, buf, sizeof(buf));
    assert_string_equal(buf, "*");
    assert_int_equal(cpe_get(&c, CPE_PRODUCT, buf, 5), BS_ELIMIT);
    assert_int_equal(cpe_set(&c, CPE_VERSION, "V15.03.05.19(multi)"), 0);
    cpe_get(&c, CPE_VERSION, buf, sizeof(buf));
    assert_string_equal(buf, "v15.03.05.19(multi)");
    assert_string_equal(c.val[CPE_VERSION], "v15.03.05.19\\(multi\\)");
    /* In plain text a "*" inside a value is a literal, not a wildcard. */
    assert_int_equal(cpe_set(&c, CPE_VERSION, "1*2"), 0);
    assert_string_equal(c.val[CPE_VERSION], "1\\*2");
    assert_int_equal(cpe_set(&c, CPE_VERSION, "*"), 0);
    assert_int_equal(c.kind[CPE_VERSION], CPE_ANY);
    assert_int_equal(cpe_set(&c, CPE_VERSION, "-"), 0);
    assert_int_equal(c.kind[CPE_VERSION], CPE_NA);
    assert_int_equal(cpe_set(&c, CPE_VERSION, "a\nb"), BS_EPARSE);
}

static void test_cpe_compare_attr_table(void **state)
{
    struct cpe any = parse_ok("cpe:2.3:a:*"), na = parse_ok("cpe:2.3:a:-"),
               v = parse_ok("cpe:2.3:a:acme"), w = parse_ok("cpe:2.3:a:other");
    assert_int_equal(cpe_compare_attr(&any, &any, CPE_VENDOR), CPE_EQUAL);
    assert_int_equal(cpe_compare_attr(&any, &na, CPE_VENDOR), CPE_SUPERSET);
    assert_int_equal(cpe_compare_attr(&any, &v, CPE_VENDOR), CPE_SUPERSET);
    assert_int_equal(cpe_compare_attr(&na, &any, CPE_VENDOR), CPE_SUBSET);
    assert_int_equal(cpe_compare_attr(&na, &na, CPE_VENDOR), CPE_EQUAL);
    assert_int_equal(cpe_compare_attr(&na, &v, CPE_VENDOR), CPE_DISJOINT);
    assert_int_equal(cpe_compare_attr(&v, &any, CPE_VENDOR), CPE_SUBSET);
    assert_int_equal(cpe_compare_attr(&v, &na, CPE_VENDOR), CPE_DISJOINT);
    assert_int_equal(cpe_compare_attr(&v, &v, CPE_VENDOR), CPE_EQUAL);
    assert_int_equal(cpe_compare_attr(&v, &w, CPE_VENDOR), CPE_DISJOINT);
}

static void test_cpe_wildcards(void **state)
{
    struct cpe t = parse_ok("cpe:2.3:o:netgear:r7000_firmware:1.0.4.6");
    static const struct {
        const char *pat;
        bool match;
    } c[] = {
        {"cpe:2.3:o:netgear:r*_firmware", false}, /* embedded: refused at parse, see below */
        {"cpe:2.3:o:netgear:*_firmware", true},
        {"cpe:2.3:o:netgear:r7000*", true},
        {"cpe:2.3:o:netgear:r8000*", false},
        {"cpe:2.3:o:netgear:r7000_firmwar?", true},
        {"cpe:2.3:o:netgear:r7000_firmwa?", false}, /* ? is exactly one character */
        {"cpe:2.3:o:netgear:r7000_firmwa??", true},
        {"cpe:2.3:o:netgear:?7000_firmware", true},
        {"cpe:2.3:o:netgear:??7000_firmware", false},
        {"cpe:2.3:o:*:r7000_firmware:1.0.4.6", true},
        {"cpe:2.3:o:netgear:r7000_firmware:1.0.4.*", true},
        {"cpe:2.3:o:netgear:r7000_firmware:1.0.5.*", false},
    };
    for (size_t i = 1; i < sizeof(c) / sizeof(c[0]); i++) {
        struct cpe p = parse_ok(c[i].pat);
        if (cpe_match(&p, &t) != c[i].match)
            fail_msg("%s should %smatch", c[i].pat, c[i].match ? "" : "not ");
    }
    struct cpe p;
    assert_int_equal(cpe_parse(&p, c[0].pat, strlen(c[0].pat)), BS_EPARSE);
    /* A quoted "?" in the target is one character for a wildcard. */
    struct cpe q = parse_ok("cpe:2.3:a:acme:x\\?"), pq = parse_ok("cpe:2.3:a:acme:x?");
    assert_true(cpe_match(&pq, &q));
}

static void test_cpe_match_unknown_target_attribute(void **state)
{
    struct cpe pat = parse_ok("cpe:2.3:o:paloaltonetworks:pan-os:10.2.3:h4");
    struct cpe exact = parse_ok("cpe:2.3:o:paloaltonetworks:pan-os:10.2.3:h4");
    struct cpe unknown = parse_ok("cpe:2.3:o:paloaltonetworks:pan-os:10.2.3");
    struct cpe other = parse_ok("cpe:2.3:o:paloaltonetworks:pan-os:10.2.3:h5");
    assert_true(cpe_match(&pat, &exact));
    assert_false(cpe_match(&pat, &unknown)); /* an unknown update cannot be confirmed */
    assert_false(cpe_match(&pat, &other));
    struct cpe hw = parse_ok("cpe:2.3:h:tenda:ac15:-");
    struct cpe dev_hw = parse_ok("cpe:2.3:h:tenda:ac15:-");
    struct cpe dev_hw_v = parse_ok("cpe:2.3:h:tenda:ac15:1.0");
    assert_true(cpe_match(&hw, &dev_hw));
    assert_false(cpe_match(&hw, &dev_hw_v));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpe_parse_format_roundtrip),
        cmocka_unit_test(test_cpe_parse_uri_form),
        cmocka_unit_test(test_cpe_parse_rejects_malformed),
        cmocka_unit_test(test_cpe_parse_does_not_read_past_len),
        cmocka_unit_test(test_cpe_get_and_set),
        cmocka_unit_test(test_cpe_compare_attr_table),
        cmocka_unit_test(test_cpe_wildcards),
        cmocka_unit_test(test_cpe_match_unknown_target_attribute),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
