/* Unit tests for the survey's assessor (assess.c) on botscope's curated fingerprints and the
 * shared KEV/NVD data: vulnerable and patched builds, identification keys per service, and
 * device defaults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "survey/assess.h"

static struct sv_assess *A;

static int setup(void **st)
{
    (void)st;
    struct ident_diag d;
    if (sv_assess_new(&A) ||
        sv_assess_load_fingerprints(A, BS_SOURCE_DIR "/data/fingerprints", &d) ||
        sv_assess_load_kev(A, BS_SHARED_DIR "/vulndb/kev/known_exploited_vulnerabilities.json",
                           &d) ||
        sv_assess_load_nvd(A, BS_SHARED_DIR "/vulndb/nvd", &d) ||
        sv_assess_load_curated(A, BS_SOURCE_DIR "/data/high-risk.txt", &d))
        return -1;
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    sv_assess_free(A);
    return 0;
}

static struct sv_obs http_obs(const char *server)
{
    struct sv_obs o = {.port = 80, .service = "http", .http_status = 200};
    snprintf(o.http_server, sizeof o.http_server, "%s", server);
    return o;
}

static void test_vulnerable_build_is_found_with_its_kev_cve(void **st)
{
    (void)st;
    struct sv_obs o = http_obs("GoAhead-Webs/2.5.0");
    struct sv_ident id = {0};
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_string_equal(id.version, "2.5.0");
    assert_true(id.vulnerable);
    assert_non_null(strstr(id.cves, "\"CVE-2017-17562\""));
    assert_int_equal(id.cves[0], '[');
}

static void test_patched_build_is_not_a_finding(void **st)
{
    (void)st;
    /* CVE-2017-17562 is fixed in 3.6.5 (versionEndExcluding): identified, not vulnerable. */
    struct sv_obs o = http_obs("GoAhead-Webs/3.6.5");
    struct sv_ident id = {0};
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_string_equal(id.version, "3.6.5");
    assert_false(id.vulnerable);
    assert_string_equal(id.cves, "[]");
    /* No version at all: never reported as vulnerable. */
    o = http_obs("GoAhead-Webs");
    memset(&id, 0, sizeof id);
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_false(id.vulnerable);
}

/* The SSH pre-login banner names the device; the identification string only the server. */
static void test_ssh_prelogin_banner_identifies_the_device(void **st)
{
    (void)st;
    struct sv_obs o = {.port = 22, .service = "ssh"};
    snprintf(o.banner, sizeof o.banner, "SSH-2.0-dropbear_2022.83");
    struct sv_ident id = {0};
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_string_equal(id.product, "Dropbear SSH");
    snprintf(o.ssh_banner, sizeof o.ssh_banner, "Welcome to EdgeOS\n");
    memset(&id, 0, sizeof id);
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_string_equal(id.vendor, "Ubiquiti");
    assert_string_equal(id.product, "EdgeOS");
    assert_string_equal(id.device_type, "Router");
    /* The banner alone is enough; a banner nobody fingerprinted adds nothing. */
    o.banner[0] = '\0';
    memset(&id, 0, sizeof id);
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_string_equal(id.product, "EdgeOS");
    snprintf(o.ssh_banner, sizeof o.ssh_banner, "Authorised users only");
    memset(&id, 0, sizeof id);
    assert_int_equal(sv_assess_identify(A, &o, &id), BS_ENOTFOUND);
}

static void test_unknown_device_is_not_identified(void **st)
{
    (void)st;
    struct sv_obs o = http_obs("SomethingNobodyFingerprinted/9");
    struct sv_ident id = {0};
    assert_int_equal(sv_assess_identify(A, &o, &id), BS_ENOTFOUND);
}

static void test_telnet_banner_and_vendor_defaults(void **st)
{
    (void)st;
    struct sv_obs o = {.port = 23, .service = "telnet"};
    snprintf(o.banner, sizeof o.banner,
             "Welcome Visiting Huawei Home Gateway\nCopyright by Huawei Technologies Co., "
             "Ltd.\n\nLogin:");
    struct sv_ident id = {0};
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_non_null(strcasestr(id.vendor, "huawei"));
    struct sv_cred c[8];
    size_t n = sv_assess_default_creds(A, &id, c, 8);
    assert_true(n >= 1);
    assert_string_equal(c[0].user, "root");
    assert_int_equal(c[0].index, 0);
    struct sv_ident none = {0};
    assert_int_equal(sv_assess_default_creds(A, &none, c, 8), 0);
}

static void test_ssh_and_ftp_prefixes_are_stripped(void **st)
{
    (void)st;
    struct sv_obs o = {.port = 22, .service = "ssh"};
    snprintf(o.banner, sizeof o.banner, "SSH-2.0-dropbear_2022.83");
    struct sv_ident id = {0};
    assert_int_equal(sv_assess_identify(A, &o, &id), 0);
    assert_string_equal(id.version, "2022.83");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vulnerable_build_is_found_with_its_kev_cve),
        cmocka_unit_test(test_patched_build_is_not_a_finding),
        cmocka_unit_test(test_ssh_prelogin_banner_identifies_the_device),
        cmocka_unit_test(test_unknown_device_is_not_identified),
        cmocka_unit_test(test_telnet_banner_and_vendor_defaults),
        cmocka_unit_test(test_ssh_and_ftp_prefixes_are_stripped),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
