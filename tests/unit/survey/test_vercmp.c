/* Unit tests for src/survey/vercmp.c: every rule of vercmp.h on both sides of its boundary,
 * with the version schemes vendors really use (Tenda, TP-Link, D-Link, MikroTik, Hikvision,
 * Zyxel, Citrix, PAN-OS). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "survey/vercmp.h"

struct vc_case {
    const char *a, *b;
    int want; /* -1, 0, 1 */
};

static int sign(int v)
{
    return v < 0 ? -1 : v > 0 ? 1 : 0;
}

static void check_cases(const struct vc_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int got = sign(vercmp(c[i].a, c[i].b));
        int rev = sign(vercmp(c[i].b, c[i].a));
        if (got != c[i].want || rev != -c[i].want)
            fail_msg("vercmp(\"%s\", \"%s\") = %d (reverse %d), want %d", c[i].a, c[i].b, got, rev,
                     c[i].want);
    }
}

static void test_vercmp_tenda_region_tag_is_ignored(void **state)
{
    static const struct vc_case c[] = {
        {"V15.03.05.19_multi", "15.03.05.19", 0},
        {"V15.03.05.19_multi", "V15.03.05.19_EN", 0},
        {"V15.03.05.19_multi", "15.03.05.20", -1},
        {"V15.03.05.19_multi", "15.03.05.18", 1},
        {"V15.03.05.19_multi", "V15.03.05.19_multi_TD01", 0},
        {"US_AC15V1.0BR_V15.03.05.19_multi_TD01", "US_AC15V1.0BR_V15.03.05.19_multi_TD01", 0},
        {"1.0.4.6_10.1.12", "1.0.4.6_10.1.13", -1}, /* "_" then a digit is part of the order */
        {"1.0.4.6_10.1.12", "1.0.4.6", 1},
    };
    check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_vercmp_build_numbers(void **state)
{
    static const struct vc_case c[] = {
        {"1.1.3 Build 20221125", "1.1.3", 0},
        {"1.1.3 Build 20221125", "1.1.4", -1},
        {"1.1.3 Build 20221125", "1.1.2", 1},
        {"1.1.3 Build 20221125", "1.1.3 Build 20221126", -1},
        {"1.1.3 Build 20221125", "1.1.3 Build 20221124", 1},
        {"1.1.3 Build 20221125", "1.1.3 build 20221125", 0},
        {"1.1.3 Build 20221125 Rel. 100", "1.1.3 Build 20221125 Rel. 101", -1},
        {"5.4.0 build 12345", "5.4.0 build 12346", -1},
        {"5.4.0 build 12345", "5.4.0 build 12344", 1},
        {"5.4.0 build 12345", "5.4.0", 0},
        {"5.4.1", "5.4.0 build 99999", 1},
        {"V5.5.0build180511", "5.5.0", 0},
        {"V5.5.0build180511", "V5.5.0build180512", -1},
        {"V5.5.0build180511", "V5.5.0 build 180510", 1},
        {"V5.5.0build180511", "5.4.9", 1},
        {"V5.5.0build180511", "5.5.1", -1},
    };
    check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_vercmp_dlink_b_builds(void **state)
{
    static const struct vc_case c[] = {
        {"2.06B01", "2.06", 0},    {"2.06B01", "2.06B02", -1}, {"2.06B02", "2.06b01", 1},
        {"2.06B01", "2.07", -1},   {"2.05B10", "2.06B01", -1}, {"2.06B01", "2.05", 1},
        {"1.05B03", "1.05b03", 0}, {"2.06B01", "2.06B01", 0},
    };
    check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_vercmp_dotted_numerics(void **state)
{
    static const struct vc_case c[] = {
        {"6.49.10", "6.49.9", 1},
        {"6.49.10", "6.49.11", -1},
        {"6.49.10", "6.49", 1},
        {"6.49.10", "6.50", -1},
        {"6.49.10", "6.49.10", 0},
        {"15.03", "15.3", 0},
        {"10", "9", 1},
        {"1.0", "1.0.0", 0},
        {"1.0", "1.0.1", -1},
        {"1.0.0.0", "1", 0},
        {"", "0", 0},
        {"", "0.1", -1},
        {"123456789012345678901234567890", "99", 1},
        {"123456789012345678901234567890", "123456789012345678901234567891", -1},
        {"v1.2", "1.2", 0},
        {"V1.2", "v1.3", -1},
        {" 1.2", "1.2", 0},
    };
    check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_vercmp_letter_suffixes_and_prereleases(void **state)
{
    static const struct vc_case c[] = {
        {"1.0.2a", "1.0.2", 1},       {"1.0.2a", "1.0.2b", -1}, {"1.0.2z", "1.0.3", -1},
        {"1.2rc1", "1.2", -1},        {"1.2rc1", "1.2rc2", -1}, {"1.2alpha", "1.2beta", -1},
        {"1.2beta", "1.2rc1", -1},    {"1.2-dev", "1.2", -1},   {"1.2.3", "1.2.beta", 1},
        {"1.2.0", "1.2.snapshot", 1}, {"1.2A", "1.2a", 0},
    };
    check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_vercmp_vendor_separators(void **state)
{
    static const struct vc_case c[] = {
        {"10.2.3-h4", "10.2.3", 1},
        {"10.2.3-h4", "10.2.3-h5", -1},
        {"10.2.3-h4", "10.2.4", -1},
        {"13.1-49.13", "13.1-49.14", -1},
        {"13.1-49.13", "13.1-48.47", 1},
        {"5.21(aazf.7)c0", "5.21(aazf.8)c0", -1},
        {"5.21(abfw.1)c0", "5.21(aazf.7)c0", 1},
        {"V5.21(AAZF.7)C0", "5.21(aazf.7)c0", 0},
        {"7.0.12", "7.0.9", 1},
        {"1.0.03.24", "1.0.3.24", 0},
    };
    check_cases(c, sizeof(c) / sizeof(c[0]));
}

static void test_vercmp_null_and_long_inputs(void **state)
{
    assert_int_equal(vercmp(NULL, NULL), 0);
    assert_true(vercmp(NULL, "1") < 0);
    assert_true(vercmp("1", NULL) > 0);
    /* Only the first VERCMP_MAX_LEN bytes count: two versions that differ after them are equal. */
    char a[VERCMP_MAX_LEN + 8], b[VERCMP_MAX_LEN + 8];
    memset(a, '1', sizeof(a));
    memset(b, '1', sizeof(b));
    a[sizeof(a) - 1] = b[sizeof(b) - 1] = '\0';
    b[VERCMP_MAX_LEN + 2] = '2';
    assert_int_equal(vercmp(a, b), 0);
    b[VERCMP_MAX_LEN - 1] = '2';
    assert_true(vercmp(a, b) < 0);
}

/* Sorting needs a consistent order: check transitivity over a mixed set. */
static void test_vercmp_is_transitive_over_mixed_set(void **state)
{
    static const char *const v[] = {
        "1.0",  "1.0.1",   "1.0.2a", "1.2rc1",    "1.2",         "2.06B01",           "2.06B02",
        "2.07", "6.49.10", "10.2.3", "10.2.3-h4", "15.03.05.19", "V15.03.05.20_multi"};
    size_t n = sizeof(v) / sizeof(v[0]);
    for (size_t i = 0; i + 1 < n; i++)
        if (vercmp(v[i], v[i + 1]) >= 0)
            fail_msg("%s should be < %s", v[i], v[i + 1]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (vercmp(v[i], v[j]) >= 0)
                fail_msg("%s should be < %s", v[i], v[j]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vercmp_tenda_region_tag_is_ignored),
        cmocka_unit_test(test_vercmp_build_numbers),
        cmocka_unit_test(test_vercmp_dlink_b_builds),
        cmocka_unit_test(test_vercmp_dotted_numerics),
        cmocka_unit_test(test_vercmp_letter_suffixes_and_prereleases),
        cmocka_unit_test(test_vercmp_vendor_separators),
        cmocka_unit_test(test_vercmp_null_and_long_inputs),
        cmocka_unit_test(test_vercmp_is_transitive_over_mixed_set),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
