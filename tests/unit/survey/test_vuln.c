/* Unit tests for src/survey/vuln.c and vuln_match.c: real KEV and NVD records from
 * ../shared/vulndb at both sides of their version bounds, hand-made records for AND/OR
 * nodes, negate and the high-risk policy, a hand-made yearly feed, and malformed files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/err.h"
#include "survey/ident_device.h"
#include "survey/recog.h"
#include "survey/vuln.h"

#define NVD_DIR   BS_SHARED_DIR "/vulndb/nvd"
#define KEV_FILE  BS_SHARED_DIR "/vulndb/kev/known_exploited_vulnerabilities.json"
#define HIGH_RISK BS_SOURCE_DIR "/data/high-risk.txt"
#define RECOG_DIR BS_SHARED_DIR "/recog/xml"
#define CURATED   BS_SOURCE_DIR "/data/fingerprints"

static struct vuln_db *shared_db;

static int setup_shared(void **state)
{
    struct ident_diag d;
    if (vuln_db_new(&shared_db) != 0)
        return -1;
    if (vuln_db_load_nvd(shared_db, NVD_DIR, &d) != 0 ||
        vuln_db_load_kev(shared_db, KEV_FILE, &d) != 0 ||
        vuln_db_load_curated(shared_db, HIGH_RISK, &d) != 0) {
        print_error("load: %s:%d:%d %s\n", d.file, d.line, d.col, d.msg);
        return -1;
    }
    return 0;
}

static int teardown_shared(void **state)
{
    vuln_db_free(shared_db);
    return 0;
}

/* The findings for a device named by up to three CPEs (NULL ends the list). */
static size_t match(const struct vuln_db *db, struct vuln_finding *out, size_t max, const char *c1,
                    const char *c2, const char *c3)
{
    struct vuln_target t = {0};
    const char *c[] = {c1, c2, c3};
    for (size_t i = 0; i < 3 && c[i]; i++)
        t.cpe[t.ncpe++] = c[i];
    size_t n = 0;
    assert_int_equal(vuln_match(db, &t, out, max, &n), 0);
    return n;
}

static const struct vuln_finding *find(const struct vuln_finding *f, size_t n, const char *cve)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].cve, cve) == 0)
            return &f[i];
    return NULL;
}

static bool has(const struct vuln_db *db, const char *cve, const char *c1, const char *c2)
{
    struct vuln_finding f[64];
    size_t n = match(db, f, 64, c1, c2, NULL);
    assert_true(n <= 64);
    return find(f, n, cve) != NULL;
}

static void test_vuln_loads_shared_data(void **state)
{
    assert_int_equal(vuln_db_count_nvd(shared_db), 148);
    assert_int_equal(vuln_db_count_kev(shared_db), 1404);
    assert_int_equal(vuln_db_count_curated(shared_db), 7);
    const struct vuln_kev *k = vuln_db_kev(shared_db, "CVE-2020-10987");
    assert_non_null(k);
    assert_string_equal(k->vendor, "Tenda");
    assert_null(vuln_db_kev(shared_db, "CVE-1999-0001"));
    /* KEV vendorProject values are trimmed ("Array Networks " in the catalogue). */
    k = vuln_db_kev(shared_db, "CVE-2023-28461");
    assert_non_null(k);
    assert_string_equal(k->vendor, "Array Networks");
    assert_true(k->ransomware); /* "Known" in the catalogue */
}

/* Tenda AC15: one vulnerable firmware version, firmware AND hardware configuration. */
static void test_vuln_tenda_ac15_exact_version(void **state)
{
    struct vuln_finding f[16];
    size_t n = match(shared_db, f, 16, "cpe:2.3:o:tenda:ac15_firmware:15.03.05.19:*:*:*:*:*:*:*",
                     "cpe:2.3:h:tenda:ac15:-:*:*:*:*:*:*:*", NULL);
    const struct vuln_finding *x = find(f, n, "CVE-2020-10987");
    assert_non_null(x);
    assert_true(x->high_risk);
    assert_true(x->why & VULN_WHY_KEV);
    assert_true(x->why & VULN_WHY_CVSS);
    assert_true(x->cvss > 9.7 && x->cvss < 9.9);
    assert_string_equal(x->criteria, "cpe:2.3:o:tenda:ac15_firmware:15.03.05.19:*:*:*:*:*:*:*");
    /* Vendor spelling of the same version; 2.2 URIs as Recog writes them. */
    assert_true(
        has(shared_db, "CVE-2020-10987", "cpe:/o:tenda:ac15_firmware:V15.03.05.19_multi", NULL));
    /* Patched builds either side: not findings. */
    assert_false(
        has(shared_db, "CVE-2020-10987", "cpe:2.3:o:tenda:ac15_firmware:15.03.05.20", NULL));
    assert_false(
        has(shared_db, "CVE-2020-10987", "cpe:2.3:o:tenda:ac15_firmware:15.03.05.18", NULL));
    /* Unknown version: the fixed-version entry cannot be confirmed. */
    assert_false(has(shared_db, "CVE-2020-10987", "cpe:2.3:o:tenda:ac15_firmware:*", NULL));
    /* The firmware on other hardware: the AND configuration fails. */
    assert_false(has(shared_db, "CVE-2020-10987", "cpe:2.3:o:tenda:ac15_firmware:15.03.05.19",
                     "cpe:2.3:h:tenda:ac18:-"));
    /* Hardware alone never makes a finding. */
    assert_false(has(shared_db, "CVE-2020-10987", "cpe:2.3:h:tenda:ac15:-", NULL));
}

/* TP-Link Archer AX21: versionEndExcluding 1.1.4, vendor builds "1.1.3 Build 20221125". */
static void test_vuln_tplink_ax21_end_excluding(void **state)
{
    const char *hw = "cpe:2.3:h:tp-link:archer_ax21:-";
    assert_true(has(shared_db, "CVE-2023-1389",
                    "cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.3\\ build\\ 20221125", hw));
    assert_true(
        has(shared_db, "CVE-2023-1389", "cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.3", hw));
    assert_false(has(shared_db, "CVE-2023-1389",
                     "cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.4\\ build\\ 20230219", hw));
    assert_false(
        has(shared_db, "CVE-2023-1389", "cpe:2.3:o:tp-link:archer_ax21_firmware:1.1.4", hw));
    assert_false(has(shared_db, "CVE-2023-1389", "cpe:2.3:o:tp-link:archer_ax21_firmware:*", hw));
}

/* MikroTik RouterOS: versionEndIncluding 6.42 (CVE-2018-14847), EndExcluding 6.41.3
 * (CVE-2018-7445), dotted numerics. */
static void test_vuln_mikrotik_end_including_and_excluding(void **state)
{
    const char *c = "cpe:2.3:o:mikrotik:routeros:";
    char v[128];
    static const struct {
        const char *ver;
        bool winbox, smb;
    } cases[] = {
        {"6.42", true, false},   {"6.42.1", false, false}, {"6.41.9", true, false},
        {"6.41.3", true, false}, {"6.41.2", true, true},   {"6.49.10", false, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(v, sizeof(v), "%s%s", c, cases[i].ver);
        if (has(shared_db, "CVE-2018-14847", v, NULL) != cases[i].winbox ||
            has(shared_db, "CVE-2018-7445", v, NULL) != cases[i].smb)
            fail_msg("RouterOS %s: want 14847=%d 7445=%d", cases[i].ver, cases[i].winbox,
                     cases[i].smb);
    }
}

/* D-Link DIR-859: versionEndIncluding 1.05b03, and 1.06b01 only with update "beta1". */
static void test_vuln_dlink_dir859_b_builds(void **state)
{
    const char *hw = "cpe:2.3:h:dlink:dir-859:-";
    assert_true(has(shared_db, "CVE-2019-17621", "cpe:2.3:o:dlink:dir-859_firmware:1.05B03", hw));
    assert_true(has(shared_db, "CVE-2019-17621", "cpe:2.3:o:dlink:dir-859_firmware:1.04b02", hw));
    assert_false(has(shared_db, "CVE-2019-17621", "cpe:2.3:o:dlink:dir-859_firmware:1.05B04", hw));
    assert_false(has(shared_db, "CVE-2019-17621", "cpe:2.3:o:dlink:dir-859_firmware:1.06B01", hw));
    assert_true(
        has(shared_db, "CVE-2019-17621", "cpe:2.3:o:dlink:dir-859_firmware:1.06b01:beta1", hw));
}

/* FortiOS: versionStartIncluding with versionEndExcluding, several ranges. */
static void test_vuln_fortios_start_including_ranges(void **state)
{
    static const struct {
        const char *ver;
        bool want;
    } cases[] = {
        {"5.4.5", false}, {"5.4.6", true}, {"5.4.12", true}, {"5.4.13", false},
        {"5.6.2", false}, {"5.6.3", true}, {"5.6.7", true},  {"5.6.8", false},
        {"6.0.0", true},  {"6.0.4", true}, {"6.0.5", false}, {"6.2.0", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char v[96];
        snprintf(v, sizeof(v), "cpe:2.3:o:fortinet:fortios:%s", cases[i].ver);
        if (has(shared_db, "CVE-2018-13379", v, NULL) != cases[i].want)
            fail_msg("FortiOS %s: want %d", cases[i].ver, cases[i].want);
    }
}

/* NETGEAR R6250: versionEndIncluding "1.0.4.6_10.1.12" (underscore then digits counts). */
static void test_vuln_netgear_underscore_versions(void **state)
{
    const char *hw = "cpe:2.3:h:netgear:r6250:-";
    assert_true(
        has(shared_db, "CVE-2016-6277", "cpe:2.3:o:netgear:r6250_firmware:1.0.4.6_10.1.12", hw));
    assert_true(
        has(shared_db, "CVE-2016-6277", "cpe:2.3:o:netgear:r6250_firmware:1.0.4.2_10.1.10", hw));
    assert_false(
        has(shared_db, "CVE-2016-6277", "cpe:2.3:o:netgear:r6250_firmware:1.0.4.6_10.1.13", hw));
    assert_false(
        has(shared_db, "CVE-2016-6277", "cpe:2.3:o:netgear:r6250_firmware:1.0.4.8_10.1.10", hw));
}

/* TP-Link TL-WR940N (CVE-2023-33538): every firmware version, but only on hardware revisions
 * 2.0 and 4.0. A device whose revision is not known (hardware "-" as fingerprints name it) is
 * not reported; revision 4.0 is, 6.0 is not. */
static void test_vuln_tplink_hardware_revision_alternatives(void **state)
{
    const char *fw = "cpe:2.3:o:tp-link:tl-wr940n_firmware:*";
    assert_false(has(shared_db, "CVE-2023-33538", fw, "cpe:2.3:h:tp-link:tl-wr940n:-"));
    assert_true(has(shared_db, "CVE-2023-33538", fw, "cpe:2.3:h:tp-link:tl-wr940n:4.0"));
    assert_true(has(shared_db, "CVE-2023-33538", fw, "cpe:2.3:h:tp-link:tl-wr940n:2.0"));
    assert_false(has(shared_db, "CVE-2023-33538", fw, "cpe:2.3:h:tp-link:tl-wr940n:6.0"));
    /* Criteria quoting: the NVD name "tl-wr841n_\(9.0\)_firmware" for CVE-2015-3035. */
    assert_true(has(shared_db, "CVE-2015-3035", "cpe:/o:tp-link:tl-wr841n_%289.0%29_firmware:3.16",
                    "cpe:2.3:h:tp-link:tl-wr841n_\\(9.0\\):-"));
}

/* Criteria version "-" (Dasan GPON): every version, even unknown; v3.0 score fallback. */
static void test_vuln_na_version_and_cvss_fallback(void **state)
{
    struct vuln_finding f[16];
    size_t n = match(shared_db, f, 16, "cpe:2.3:o:dasannetworks:gpon_router_firmware:*",
                     "cpe:2.3:h:dasannetworks:gpon_router:-", NULL);
    const struct vuln_finding *x = find(f, n, "CVE-2018-10561");
    assert_non_null(x);
    assert_true(x->cvss > 9.7 && x->cvss < 9.9); /* cvssMetricV30, not the v2 7.5 */
    assert_non_null(strstr(x->cvss_vector, "CVSS:3.0/"));
    assert_non_null(find(f, n, "CVE-2018-10562"));
}

static void test_vuln_results_sorted_and_capped(void **state)
{
    struct vuln_finding f[64];
    size_t n = match(shared_db, f, 64, "cpe:2.3:o:mikrotik:routeros:6.41.2", NULL, NULL);
    assert_true(n >= 2);
    for (size_t i = 0; i + 1 < n && i + 1 < 64; i++)
        assert_true(f[i].high_risk >= f[i + 1].high_risk);
    struct vuln_finding one[1];
    size_t n1 = match(shared_db, one, 1, "cpe:2.3:o:mikrotik:routeros:6.41.2", NULL, NULL);
    assert_int_equal(n1, n); /* the count is the total, only max are written */
    /* Unrelated product, malformed target. */
    assert_int_equal(match(shared_db, f, 64, "cpe:2.3:a:acme:nothing:1.0", NULL, NULL), 0);
    struct vuln_target t = {.ncpe = 1, .cpe = {"not a cpe"}};
    size_t nn;
    assert_int_equal(vuln_match(shared_db, &t, f, 64, &nn), BS_EPARSE);
}

/* ---- hand-made records ----------------------------------------------------------------- */

static char tmpdir[64];

static void write_file(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void rm_tmpdir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
    assert_int_equal(system(cmd), 0);
}

static int setup_tmp(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/bs_vuln_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    rm_tmpdir();
    return 0;
}

#define METRIC(score, av, pr)                                                                      \
    "\"metrics\":{\"cvssMetricV31\":[{\"source\":\"x\",\"type\":\"Secondary\",\"cvssData\":{"      \
    "\"baseScore\":1.0,\"vectorString\":\"s\",\"attackVector\":\"LOCAL\","                         \
    "\"privilegesRequired\":\"HIGH\"}},{\"source\":\"nvd@nist.gov\",\"type\":\"Primary\","         \
    "\"cvssData\":{\"baseScore\":" score ",\"vectorString\":\"v\",\"attackVector\":\"" av          \
    "\",\"privilegesRequired\":\"" pr "\"}}]}"

/* A yearly feed with records for the policy boundaries, AND/OR and negate. */
static const char feed[] =
    "{\"resultsPerPage\":6,\"format\":\"NVD_CVE\",\"version\":\"2.0\",\"vulnerabilities\":[\n"
    /* 9.0, network, no privileges: high risk by CVSS. */
    "{\"cve\":{\"id\":\"CVE-2099-0001\"," METRIC(
        "9.0", "NETWORK",
        "NONE") ","
                "\"configurations\":[{\"nodes\":[{\"operator\":\"OR\",\"negate\":false,"
                "\"cpeMatch\":["
                "{\"vulnerable\":true,\"criteria\":\"cpe:2.3:o:acme:cam_firmware:*:*:*:*:*:*:*:*\","
                "\"versionStartExcluding\":\"1.0\",\"versionEndIncluding\":\"2.0\"}]}]}]}},\n"
                /* 8.9: not high risk. */
                "{\"cve\":{\"id\":\"CVE-2099-0002\"," METRIC(
                    "8.9", "NETWORK",
                    "NONE") ","
                            "\"configurations\":[{\"nodes\":[{\"operator\":\"OR\",\"cpeMatch\":["
                            "{\"vulnerable\":true,\"criteria\":\"cpe:2.3:o:acme:cam_firmware:1.5:*:"
                            "*:*:*:*:*:*\"}]}]}]}},\n"
                            /* 9.8 but privileges needed / adjacent network: not high risk. */
                            "{\"cve\":{\"id\":\"CVE-2099-0003\"," METRIC(
                                "9.8", "NETWORK",
                                "LOW") ","
                                       "\"configurations\":[{\"nodes\":[{\"operator\":\"OR\","
                                       "\"cpeMatch\":["
                                       "{\"vulnerable\":true,\"criteria\":\"cpe:2.3:o:acme:cam_"
                                       "firmware:1.5:*:*:*:*:*:*:*\"}]}]}]}},\n"
                                       "{\"cve\":{\"id\":\"CVE-2099-0004\"," METRIC(
                                           "9.8", "ADJACENT_NETWORK",
                                           "NONE") ","
                                                   "\"configurations\":[{\"nodes\":[{\"operator\":"
                                                   "\"OR\",\"cpeMatch\":["
                                                   "{\"vulnerable\":true,\"criteria\":\"cpe:2.3:o:"
                                                   "acme:cam_firmware:1.5:*:*:*:*:*:*:*\"}]}]}]}},"
                                                   "\n"
                                                   /* Node with operator AND: both the firmware and
                                                      the app must be present. */
                                                   "{\"cve\":{\"id\":\"CVE-2099-0005\","
                                                   "\"configurations\":[{\"nodes\":[{\"operator\":"
                                                   "\"AND\","
                                                   "\"cpeMatch\":[{\"vulnerable\":true,"
                                                   "\"criteria\":\"cpe:2.3:o:acme:cam_firmware:*\"}"
                                                   ","
                                                   "{\"vulnerable\":true,\"criteria\":\"cpe:2.3:a:"
                                                   "acme:webd:*\"}]}]}]}},\n"
                                                   /* Configuration AND with a negated node:
                                                      vulnerable unless the hardware is the v2
                                                      board. */
                                                   "{\"cve\":{\"id\":\"CVE-2099-0006\","
                                                   "\"configurations\":[{\"operator\":\"AND\","
                                                   "\"nodes\":["
                                                   "{\"operator\":\"OR\",\"negate\":false,"
                                                   "\"cpeMatch\":[{\"vulnerable\":true,"
                                                   "\"criteria\":\"cpe:2.3:o:acme:cam_firmware:*\","
                                                   "\"versionEndExcluding\":\"3.0\"}]},"
                                                   "{\"operator\":\"OR\",\"negate\":true,"
                                                   "\"cpeMatch\":[{\"vulnerable\":false,"
                                                   "\"criteria\":\"cpe:2.3:h:acme:cam_v2:-\"}]}]}]}"
                                                   "}\n"
                                                   "]}\n";

static void test_vuln_feed_policy_and_nodes(void **state)
{
    write_file("nvdcve-2.0-2099.json", feed);
    write_file("curated.txt", "# test list\n\nCVE-2099-0002  # reason\n");
    struct vuln_db *db;
    struct ident_diag d;
    assert_int_equal(vuln_db_new(&db), 0);
    if (vuln_db_load_nvd(db, tmpdir, &d) != 0)
        fail_msg("%s:%d:%d %s", d.file, d.line, d.col, d.msg);
    assert_int_equal(vuln_db_count_nvd(db), 6);
    char p[256];
    snprintf(p, sizeof(p), "%s/curated.txt", tmpdir);
    assert_int_equal(vuln_db_load_curated(db, p, &d), 0);

    struct vuln_finding f[16];
    size_t n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:1.5", NULL, NULL);
    /* 0001 (range), 0002, 0003, 0004 (exact 1.5) and 0006 (< 3.0; no hardware named, so the
     * negated "v2 board" node is not assumed present). */
    assert_int_equal(n, 5);
    assert_null(find(f, n, "CVE-2099-0005")); /* AND node: webd missing */
    const struct vuln_finding *x = find(f, n, "CVE-2099-0001");
    assert_int_equal(x->why, VULN_WHY_CVSS);
    assert_true(x->cvss == 9.0); /* the Primary metric, not the Secondary one */
    assert_string_equal(x->cvss_vector, "v");
    assert_int_equal(find(f, n, "CVE-2099-0002")->why, VULN_WHY_CURATED);
    assert_int_equal(find(f, n, "CVE-2099-0003")->why, 0);
    assert_false(find(f, n, "CVE-2099-0003")->high_risk);
    assert_int_equal(find(f, n, "CVE-2099-0004")->why, 0);
    /* High risk first, then by id. */
    assert_string_equal(f[0].cve, "CVE-2099-0001");
    assert_string_equal(f[1].cve, "CVE-2099-0002");
    assert_string_equal(f[2].cve, "CVE-2099-0003");

    /* Range boundaries of 0001: StartExcluding 1.0, EndIncluding 2.0. */
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:1.0", NULL, NULL);
    assert_null(find(f, n, "CVE-2099-0001"));
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:1.0.1", NULL, NULL);
    assert_non_null(find(f, n, "CVE-2099-0001"));
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:2.0", NULL, NULL);
    assert_non_null(find(f, n, "CVE-2099-0001"));
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:2.0.1", NULL, NULL);
    assert_null(find(f, n, "CVE-2099-0001"));

    /* AND node holds with both parts. */
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:1.5", "cpe:2.3:a:acme:webd:1", NULL);
    assert_non_null(find(f, n, "CVE-2099-0005"));
    /* Negate: on the v2 board, 0006 does not apply; on another board it does. */
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:2.9", "cpe:2.3:h:acme:cam_v2:-", NULL);
    assert_null(find(f, n, "CVE-2099-0006"));
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:2.9", "cpe:2.3:h:acme:cam_v1:-", NULL);
    assert_non_null(find(f, n, "CVE-2099-0006"));
    n = match(db, f, 16, "cpe:2.3:o:acme:cam_firmware:3.0", "cpe:2.3:h:acme:cam_v1:-", NULL);
    assert_null(find(f, n, "CVE-2099-0006"));
    vuln_db_free(db);
}

/* NVD ships yearly feeds gzipped: a .json.gz in a subdirectory loads like its text, and a
 * truncated one is refused with its name. */
static void test_vuln_gzipped_feed_in_subdirectory(void **state)
{
    char sub[128], p[256];
    snprintf(sub, sizeof(sub), "%s/feeds", tmpdir);
    assert_int_equal(mkdir(sub, 0755), 0);
    snprintf(p, sizeof(p), "%s/nvdcve-2.0-2099.json.gz", sub);
    gzFile gz = gzopen(p, "wb");
    assert_non_null(gz);
    assert_int_equal(gzwrite(gz, feed, (unsigned)strlen(feed)), (int)strlen(feed));
    assert_int_equal(gzclose(gz), Z_OK);
    struct vuln_db *db;
    struct ident_diag d;
    assert_int_equal(vuln_db_new(&db), 0);
    if (vuln_db_load_nvd(db, sub, &d) != 0)
        fail_msg("%s:%d:%d %s", d.file, d.line, d.col, d.msg);
    assert_int_equal(vuln_db_count_nvd(db), 6);
    struct vuln_finding f[8];
    assert_int_equal(match(db, f, 8, "cpe:2.3:o:acme:cam_firmware:1.5", NULL, NULL), 5);
    /* Cut the compressed file short. */
    struct stat st;
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(truncate(p, st.st_size / 2), 0);
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EPARSE);
    assert_string_equal(d.file, p);
    assert_non_null(strstr(d.msg, "gzip"));
    unlink(p);
    rmdir(sub);
    vuln_db_free(db);
}

static void test_vuln_later_record_replaces_earlier(void **state)
{
    struct vuln_db *db;
    struct ident_diag d;
    assert_int_equal(vuln_db_new(&db), 0);
    write_file("a.json", "{\"id\":\"CVE-2099-0100\",\"configurations\":[{\"nodes\":[{\"cpeMatch\":"
                         "[{\"vulnerable\":true,\"criteria\":\"cpe:2.3:o:acme:x:1.0\"}]}]}]}");
    write_file("b.json", "{\"id\":\"CVE-2099-0100\",\"configurations\":[{\"nodes\":[{\"cpeMatch\":"
                         "[{\"vulnerable\":true,\"criteria\":\"cpe:2.3:o:acme:x:2.0\"}]}]}]}");
    char p[256];
    snprintf(p, sizeof(p), "%s/a.json", tmpdir);
    assert_int_equal(vuln_db_load_nvd(db, p, &d), 0);
    snprintf(p, sizeof(p), "%s/b.json", tmpdir);
    assert_int_equal(vuln_db_load_nvd(db, p, &d), 0);
    assert_int_equal(vuln_db_count_nvd(db), 1);
    struct vuln_finding f[4];
    assert_int_equal(match(db, f, 4, "cpe:2.3:o:acme:x:1.0", NULL, NULL), 0);
    assert_int_equal(match(db, f, 4, "cpe:2.3:o:acme:x:2.0", NULL, NULL), 1);
    vuln_db_free(db);
}

static void test_vuln_bad_files_name_file_line_column(void **state)
{
    struct vuln_db *db;
    struct ident_diag d;
    char p[256];
    assert_int_equal(vuln_db_new(&db), 0);
    snprintf(p, sizeof(p), "%s/bad.json", tmpdir);

    write_file("bad.json", "{\"id\": \"CVE-2099-0001\",\n  \"configurations\": [,]\n}\n");
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EPARSE);
    assert_string_equal(d.file, p);
    assert_int_equal(d.line, 2);
    assert_true(d.col > 0);
    assert_non_null(strstr(d.msg, "JSON"));

    write_file("bad.json", "{\"id\":\"CVE-99\"}");
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EPARSE);
    assert_non_null(strstr(d.msg, "id"));

    write_file("bad.json", "{\"CVE_data_type\":\"CVE\",\"CVE_Items\":[]}");
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EUNSUPPORTED);

    write_file("bad.json", "[1,2]");
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EPARSE);

    write_file("bad.json", "{\"vulnerabilities\":[{\"cve\":{\"id\":\"CVE-2099-0001\"}},"
                           "{\"cve\":{\"id\":\"CVE-2099-0002\",\"configurations\":[{\"nodes\":"
                           "[{\"cpeMatch\":[{\"vulnerable\":true,\"criteria\":\"cpe:9\"}]}]}]}}]}");
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EPARSE);
    assert_non_null(strstr(d.msg, "vulnerabilities[1]"));
    assert_non_null(strstr(d.msg, "CVE-2099-0002"));
    assert_int_equal(vuln_db_count_nvd(db), 0); /* nothing of a bad feed is kept */

    write_file("bad.json", "{\"id\":\"CVE-2099-0001\",\"configurations\":[{\"nodes\":[{"
                           "\"cpeMatch\":[{\"criteria\":\"cpe:2.3:o:a:b\"}]}]}]}");
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EPARSE);
    assert_non_null(strstr(d.msg, "vulnerable"));

    write_file("bad.json", "{\"a\":1,\"a\":2}");
    assert_int_equal(vuln_db_load_nvd(db, p, &d), BS_EPARSE);

    /* KEV: not a catalogue, entry without cveID. */
    write_file("bad.json", "{\"title\":\"x\"}");
    assert_int_equal(vuln_db_load_kev(db, p, &d), BS_EPARSE);
    assert_non_null(strstr(d.msg, "vulnerabilities"));
    write_file("bad.json", "{\"vulnerabilities\":[{\"cveID\":\"CVE-2099-0001\"},{\"x\":1}]}");
    assert_int_equal(vuln_db_load_kev(db, p, &d), BS_EPARSE);
    assert_non_null(strstr(d.msg, "entry 1"));
    assert_int_equal(vuln_db_count_kev(db), 0);

    /* Curated list: the line of the bad entry. */
    write_file("bad.json", "CVE-2099-0001\n# c\nCVE-20x9-1\n");
    assert_int_equal(vuln_db_load_curated(db, p, &d), BS_EPARSE);
    assert_int_equal(d.line, 3);

    /* Missing files. */
    assert_int_equal(vuln_db_load_nvd(db, "/nonexistent", &d), -2);
    assert_int_equal(vuln_db_load_kev(db, "/nonexistent", &d), -2);
    assert_string_equal(d.file, "/nonexistent");
    unlink(p);
    vuln_db_free(db);
}

/* From identification to findings: a Recog-style result with 2.2 URIs. */
static void test_vuln_target_from_recog_result(void **state)
{
    struct recog_result r = {0};
    snprintf(r.params[0].name, sizeof(r.params[0].name), "os.cpe23");
    snprintf(r.params[0].value, sizeof(r.params[0].value), "cpe:/o:mikrotik:routeros:6.42");
    snprintf(r.params[1].name, sizeof(r.params[1].name), "service.vendor");
    snprintf(r.params[1].value, sizeof(r.params[1].value), "MikroTik");
    r.nparams = 2;
    struct vuln_target t;
    vuln_target_from_recog(&t, &r);
    assert_int_equal(t.ncpe, 1);
    struct vuln_finding f[16];
    size_t n = 0;
    assert_int_equal(vuln_match(shared_db, &t, f, 16, &n), 0);
    assert_non_null(find(f, n, "CVE-2018-14847"));
    assert_true(find(f, n, "CVE-2018-14847")->why & VULN_WHY_KEV);
}

/* From banners to findings: a RouterOS device seen over SSH (no version), HTTP (no version)
 * and Telnet (version) merges into one identity whose CPE carries the version. */
static void test_vuln_banners_to_findings_through_ident_device(void **state)
{
    struct ident_db *idb;
    struct ident_diag d;
    assert_int_equal(ident_db_new(&idb), 0);
    assert_int_equal(ident_db_load_dir(idb, CURATED, &d), 0);
    assert_int_equal(ident_db_load_dir(idb, RECOG_DIR, &d), 0);
    struct ident_device dev;
    ident_device_init(&dev);
    struct recog_result r;
    static const struct {
        const char *key, *text;
    } seen[] = {
        {"ssh.banner", "SSH-2.0-ROSSSH"},
        {"html_title", "RouterOS router configuration page"},
        {"telnet.banner", "MikroTik v6.41.2 (stable)\r\nLogin: "},
    };
    for (size_t i = 0; i < sizeof(seen) / sizeof(seen[0]); i++) {
        assert_int_equal(recog_match(idb, seen[i].key, seen[i].text, strlen(seen[i].text), &r), 1);
        ident_device_add(&dev, &r);
    }
    assert_int_equal(dev.nobs, 3);
    assert_string_equal(dev.vendor, "MikroTik");
    assert_string_equal(dev.version, "6.41.2");
    assert_int_equal(dev.ncpe, 1); /* the versionless routeros CPE was replaced */
    assert_string_equal(dev.cpe[0], "cpe:2.3:o:mikrotik:routeros:6.41.2:*:*:*:*:*:*:*");
    struct vuln_target t;
    ident_device_target(&dev, &t);
    struct vuln_finding f[32];
    size_t n = 0;
    assert_int_equal(vuln_match(shared_db, &t, f, 32, &n), 0);
    assert_non_null(find(f, n, "CVE-2018-14847"));
    assert_non_null(find(f, n, "CVE-2018-7445"));
    assert_true(f[0].high_risk);

    /* A patched RouterOS: identified, no finding from these two CVEs. */
    ident_device_init(&dev);
    const char *patched = "MikroTik v6.49.10 (long-term)\r\nLogin: ";
    assert_int_equal(recog_match(idb, "telnet.banner", patched, strlen(patched), &r), 1);
    ident_device_add(&dev, &r);
    ident_device_target(&dev, &t);
    assert_int_equal(vuln_match(shared_db, &t, f, 32, &n), 0);
    assert_null(find(f, n, "CVE-2018-14847"));
    assert_null(find(f, n, "CVE-2018-7445"));

    /* A service CPE: GoAhead before 3.6.5 (CVE-2017-17562, in KEV); a GoAhead that does not
     * say its version is not reported. */
    static const struct {
        const char *server;
        bool want;
    } ga[] = {{"GoAhead-Webs/2.5.0 PeerSec-MatrixSSL/3.4.2-OPEN", true},
              {"GoAhead-Webs/3.6.4", true},
              {"GoAhead-Webs/3.6.5", false},
              {"GoAhead-http", false}};
    for (size_t i = 0; i < sizeof(ga) / sizeof(ga[0]); i++) {
        ident_device_init(&dev);
        assert_int_equal(
            recog_match(idb, "http_header.server", ga[i].server, strlen(ga[i].server), &r), 1);
        ident_device_add(&dev, &r);
        ident_device_target(&dev, &t);
        assert_int_equal(vuln_match(shared_db, &t, f, 32, &n), 0);
        if ((find(f, n, "CVE-2017-17562") != NULL) != ga[i].want)
            fail_msg("%s: want CVE-2017-17562 %d", ga[i].server, ga[i].want);
    }

    /* D-Link's Server header names model and firmware: DIR-859 up to 1.05b03 (CVE-2019-17621,
     * firmware AND hardware from one header). */
    static const struct {
        const char *server;
        bool want;
    } dl[] = {{"Linux, HTTP/1.1, DIR-859 Ver 1.05", true},
              {"Linux, UPnP/1.0, DIR-859 Ver 1.04", true},
              {"Linux, HTTP/1.1, DIR-859 Ver 1.06", false},
              {"Linux, HTTP/1.1, DIR-860 Ver 1.05", false}};
    for (size_t i = 0; i < sizeof(dl) / sizeof(dl[0]); i++) {
        ident_device_init(&dev);
        assert_int_equal(
            recog_match(idb, "http_header.server", dl[i].server, strlen(dl[i].server), &r), 1);
        ident_device_add(&dev, &r);
        ident_device_target(&dev, &t);
        assert_int_equal(t.ncpe, 2);
        assert_int_equal(vuln_match(shared_db, &t, f, 32, &n), 0);
        if ((find(f, n, "CVE-2019-17621") != NULL) != dl[i].want)
            fail_msg("%s: want CVE-2019-17621 %d", dl[i].server, dl[i].want);
    }

    /* A Dasan GPON gateway by its page title: CVE-2018-10561/10562 name every firmware. */
    ident_device_init(&dev);
    assert_int_equal(recog_match(idb, "html_title", "GPON Home Gateway", 17, &r), 1);
    ident_device_add(&dev, &r);
    ident_device_target(&dev, &t);
    assert_int_equal(vuln_match(shared_db, &t, f, 32, &n), 0);
    assert_non_null(find(f, n, "CVE-2018-10561"));
    assert_non_null(find(f, n, "CVE-2018-10562"));

    /* The more certain observation wins a field; a less certain one does not overwrite it. */
    ident_device_init(&dev);
    struct recog_result a = {.certainty = 40}, b = {.certainty = 90};
    snprintf(a.vendor, sizeof(a.vendor), "Generic");
    snprintf(b.vendor, sizeof(b.vendor), "Hikvision");
    ident_device_add(&dev, &a);
    ident_device_add(&dev, &b);
    ident_device_add(&dev, &a);
    assert_string_equal(dev.vendor, "Hikvision");
    assert_int_equal(dev.certainty[0], 90);
    ident_db_free(idb);
}

int main(void)
{
    const struct CMUnitTest shared[] = {
        cmocka_unit_test(test_vuln_loads_shared_data),
        cmocka_unit_test(test_vuln_tenda_ac15_exact_version),
        cmocka_unit_test(test_vuln_tplink_ax21_end_excluding),
        cmocka_unit_test(test_vuln_mikrotik_end_including_and_excluding),
        cmocka_unit_test(test_vuln_dlink_dir859_b_builds),
        cmocka_unit_test(test_vuln_fortios_start_including_ranges),
        cmocka_unit_test(test_vuln_netgear_underscore_versions),
        cmocka_unit_test(test_vuln_tplink_hardware_revision_alternatives),
        cmocka_unit_test(test_vuln_na_version_and_cvss_fallback),
        cmocka_unit_test(test_vuln_results_sorted_and_capped),
        cmocka_unit_test(test_vuln_target_from_recog_result),
        cmocka_unit_test(test_vuln_banners_to_findings_through_ident_device),
    };
    const struct CMUnitTest handmade[] = {
        cmocka_unit_test(test_vuln_feed_policy_and_nodes),
        cmocka_unit_test(test_vuln_gzipped_feed_in_subdirectory),
        cmocka_unit_test(test_vuln_later_record_replaces_earlier),
        cmocka_unit_test(test_vuln_bad_files_name_file_line_column),
    };
    int rc = cmocka_run_group_tests_name("vuln_shared", shared, setup_shared, teardown_shared);
    rc |= cmocka_run_group_tests_name("vuln_handmade", handmade, setup_tmp, teardown_tmp);
    return rc;
}
