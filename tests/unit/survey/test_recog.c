/* Unit tests for src/survey/recog.c: the Recog conformance run over every file of
 * ../shared/recog/xml and botscope's data/fingerprints, and hand-written XML for flags,
 * params, interpolation, base64 examples, load errors and the load-order rule. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "survey/recog.h"

#define RECOG_XML_DIR BS_SHARED_DIR "/recog/xml"
#define CURATED_DIR   BS_SOURCE_DIR "/data/fingerprints"

/* Writes text to a new temporary file and returns its path (static buffer per slot). */
static const char *write_tmp(const char *text, int slot)
{
    static char paths[4][64];
    char *p = paths[slot];
    snprintf(p, sizeof(paths[0]), "/tmp/bs_recog_XXXXXX");
    int fd = mkstemp(p);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return p;
}

static struct ident_db *load_text(const char *xml, int want_rc, struct ident_diag *diag)
{
    struct ident_db *db;
    assert_int_equal(ident_db_new(&db), 0);
    const char *path = write_tmp(xml, 0);
    int rc = ident_db_load_file(db, path, diag);
    unlink(path);
    if (rc != want_rc)
        fail_msg("load rc %d want %d (%s:%d:%d %s)", rc, want_rc, diag->file, diag->line, diag->col,
                 diag->msg);
    return db;
}

struct fail_log {
    size_t n;
    char first[8][512];
};

static void log_fail(void *arg, const char *source, const char *desc, int line, const char *why)
{
    struct fail_log *l = arg;
    if (l->n < 8)
        snprintf(l->first[l->n], sizeof(l->first[0]), "%s:%d [%s] %s", source, line, desc, why);
    l->n++;
    print_message("example failed: %s:%d [%s] %s\n", source, line, desc, why);
}

/* Every example of every Recog file matches its fingerprint and yields its asserted params,
 * with one exception PCRE2 cannot express in time: smtp_banners.xml's NAVIEG pattern
 * "(.+)* http" backtracks exponentially (PCRE2 stops at its match limit; Ruby's Onigmo
 * optimises the nested quantifier away). */
static void test_recog_conformance_all_shared_files(void **state)
{
    struct ident_db *db;
    struct ident_diag d;
    assert_int_equal(ident_db_new(&db), 0);
    int rc = ident_db_load_dir(db, RECOG_XML_DIR, &d);
    if (rc)
        fail_msg("%s:%d:%d %s", d.file, d.line, d.col, d.msg);
    assert_int_equal(ident_db_count(db), 4657);
    size_t pass, nfail;
    struct fail_log log = {0};
    assert_int_equal(ident_db_check_examples(db, NULL, &pass, &nfail, log_fail, &log), 0);
    print_message("recog conformance: %zu examples pass, %zu fail\n", pass, nfail);
    assert_int_equal(pass, 7524);
    assert_int_equal(nfail, 1);
    assert_non_null(strstr(log.first[0], "smtp_banners.xml"));
    assert_non_null(strstr(log.first[0], "Norton Antivirus for Internet Email Gateways"));
    /* Per file: the check can be limited to one source. */
    assert_int_equal(ident_db_check_examples(db, "http_servers.xml", &pass, &nfail, NULL, NULL), 0);
    assert_true(pass > 400);
    assert_int_equal(nfail, 0);
    ident_db_free(db);
}

static void test_recog_conformance_curated_files(void **state)
{
    struct ident_db *db;
    struct ident_diag d;
    assert_int_equal(ident_db_new(&db), 0);
    int rc = ident_db_load_dir(db, CURATED_DIR, &d);
    if (rc)
        fail_msg("%s:%d:%d %s", d.file, d.line, d.col, d.msg);
    assert_true(ident_db_count(db) >= 40);
    size_t pass, nfail;
    struct fail_log log = {0};
    assert_int_equal(ident_db_check_examples(db, NULL, &pass, &nfail, log_fail, &log), 0);
    print_message("curated conformance: %zu examples pass, %zu fail\n", pass, nfail);
    assert_true(pass >= 80);
    assert_int_equal(nfail, 0);
    ident_db_free(db);
}

static const char xml_basic[] =
    "<?xml version=\"1.0\"?>\n"
    "<fingerprints matches=\"test.banner\" certainty=\"0.7\">\n"
    "  <fingerprint pattern=\"^Acme-(\\w+)/(\\d+(?:\\.\\d+)*)(?: \\((\\w+)\\))?$\">\n"
    "    <description>Acme router</description>\n"
    "    <example hw.product=\"R1\" os.version=\"2.1\">Acme-R1/2.1</example>\n"
    "    <param pos=\"0\" name=\"hw.vendor\" value=\"Acme\"/>\n"
    "    <param pos=\"1\" name=\"hw.product\"/>\n"
    "    <param pos=\"2\" name=\"os.version\"/>\n"
    "    <param pos=\"3\" name=\"os.build\"/>\n"
    "    <param pos=\"0\" name=\"hw.device\" value=\"Router\"/>\n"
    "    <param pos=\"0\" name=\"os.cpe23\" "
    "value=\"cpe:/o:acme:{hw.product}_firmware:{os.version}\"/>\n"
    "  </fingerprint>\n"
    "  <fingerprint pattern=\"^hello world$\" flags=\"REG_ICASE\" certainty=\"0.5\">\n"
    "    <description>Greeting</description>\n"
    "    <example>HeLLo WoRLD</example>\n"
    "    <param pos=\"0\" name=\"service.product\" value=\"Greeter {missing} x\"/>\n"
    "  </fingerprint>\n"
    "  <fingerprint pattern=\"^a.b$\" flags=\"REG_DOT_NEWLINE\">\n"
    "    <description>dot newline</description>\n"
    "    <example _encoding=\"base64\">YQpi</example>\n"
    "  </fingerprint>\n"
    "  <fingerprint pattern=\"^x\\h+$\">\n"
    "    <description>ruby hex</description>\n"
    "    <example>xBEEF09</example>\n"
    "  </fingerprint>\n"
    "  <fingerprint pattern=\"^line2$\">\n"
    "    <description>line anchors</description>\n"
    "    <example>line1\nline2\nline3</example>\n"
    "  </fingerprint>\n"
    "</fingerprints>\n";

static void test_recog_match_params_interpolation_and_summary(void **state)
{
    struct ident_diag d;
    struct ident_db *db = load_text(xml_basic, 0, &d);
    assert_int_equal(ident_db_count(db), 5);
    struct recog_result r;
    const char *t = "Acme-R1/2.1 (b42)";
    assert_int_equal(recog_match(db, "test.banner", t, strlen(t), &r), 1);
    assert_string_equal(recog_result_get(&r, "hw.product"), "R1");
    assert_string_equal(recog_result_get(&r, "os.build"), "b42");
    assert_string_equal(recog_result_get(&r, "os.cpe23"), "cpe:/o:acme:R1_firmware:2.1");
    assert_string_equal(r.vendor, "Acme");
    assert_string_equal(r.product, "R1");
    assert_string_equal(r.device, "Router");
    assert_string_equal(r.version, "2.1");
    assert_string_equal(r.cpe, "cpe:2.3:o:acme:r1_firmware:2.1:*:*:*:*:*:*:*");
    assert_int_equal(r.certainty, 70); /* the file's certainty */
    assert_string_equal(r.description, "Acme router");
    assert_string_equal(r.key, "test.banner");
    /* An optional group that did not take part yields no param. */
    t = "Acme-R1/2.1";
    assert_int_equal(recog_match(db, "test.banner", t, strlen(t), &r), 1);
    assert_null(recog_result_get(&r, "os.build"));
    /* REG_ICASE, the fingerprint's own certainty, and an unknown placeholder. */
    t = "HELLO WORLD";
    assert_int_equal(recog_match(db, "test.banner", t, strlen(t), &r), 1);
    assert_int_equal(r.certainty, 50);
    assert_string_equal(recog_result_get(&r, "service.product"), "Greeter  x");
    /* Ruby semantics: "." crosses a newline only with REG_DOT_NEWLINE; ^ $ are line anchors. */
    assert_int_equal(recog_match(db, "test.banner", "a\nb", 3, &r), 1);
    assert_string_equal(r.description, "dot newline");
    assert_int_equal(recog_match(db, "test.banner", "l\nline2\nz", 9, &r), 1);
    assert_string_equal(r.description, "line anchors");
    assert_int_equal(recog_match(db, "test.banner", "x0aF", 4, &r), 1);
    assert_int_equal(recog_match(db, "test.banner", "x0aG", 4, &r), 0);
    assert_int_equal(r.nparams, 0);
    assert_string_equal(r.vendor, "");
    /* Unknown key: no match. Text is bounded by len, not by a NUL. */
    assert_int_equal(recog_match(db, "nope", "hello world", 11, &r), 0);
    assert_int_equal(recog_match(db, "test.banner", "hello worldXX", 11, &r), 1);
    size_t pass, nfail;
    assert_int_equal(ident_db_check_examples(db, NULL, &pass, &nfail, NULL, NULL), 0);
    assert_int_equal(pass, 5);
    assert_int_equal(nfail, 0);
    ident_db_free(db);
}

static void test_recog_example_assertion_failure_is_reported(void **state)
{
    static const char xml[] = "<fingerprints matches=\"k\">\n"
                              "  <fingerprint pattern=\"^v(\\d+)$\">\n"
                              "    <description>d</description>\n"
                              "    <example service.version=\"2\">v1</example>\n"
                              "    <example>w1</example>\n"
                              "    <example service.version=\"3\">v3</example>\n"
                              "    <param pos=\"1\" name=\"service.version\"/>\n"
                              "  </fingerprint>\n"
                              "</fingerprints>\n";
    struct ident_diag d;
    struct ident_db *db = load_text(xml, 0, &d);
    size_t pass, nfail;
    struct fail_log log = {0};
    assert_int_equal(ident_db_check_examples(db, NULL, &pass, &nfail, log_fail, &log), 0);
    assert_int_equal(pass, 1);
    assert_int_equal(nfail, 2);
    assert_non_null(strstr(log.first[0], ":4 [d] service.version is \"1\", expected \"2\""));
    assert_non_null(strstr(log.first[1], ":5 [d] the example does not match"));
    ident_db_free(db);
}

static void test_recog_binary_input_matches_bytes_and_utf8_matches_characters(void **state)
{
    static const char xml[] =
        "<fingerprints matches=\"k\">\n"
        "  <fingerprint pattern=\"^Sign in . X$\"><description>utf</description></fingerprint>\n"
        "  <fingerprint pattern=\"^B..Z$\"><description>bytes</description></fingerprint>\n"
        "</fingerprints>\n";
    struct ident_diag d;
    struct ident_db *db = load_text(xml, 0, &d);
    struct recog_result r;
    const char *u = "Sign in \xc2\xb7 X"; /* U+00B7 is two bytes, one character */
    assert_int_equal(recog_match(db, "k", u, strlen(u), &r), 1);
    assert_string_equal(r.description, "utf");
    const char bin[] = "B\xff\x00Z"; /* not UTF-8: two bytes for two dots */
    assert_int_equal(recog_match(db, "k", bin, 4, &r), 1);
    assert_string_equal(r.description, "bytes");
    ident_db_free(db);
}

static void test_recog_load_errors_name_file_line_column(void **state)
{
    struct ident_diag d;
    struct ident_db *db;
    /* Broken XML: line of the error. */
    db = load_text("<fingerprints matches=\"k\">\n<fingerprint pattern=\"x\">\n</fingerprints>\n",
                   BS_EPARSE, &d);
    assert_true(d.line >= 3); /* libxml2 may report the end of input */
    assert_non_null(strstr(d.msg, "XML"));
    assert_non_null(strstr(d.file, "/tmp/bs_recog_"));
    ident_db_free(db);
    /* Pattern that does not compile: fingerprint line and column in the pattern. */
    db = load_text(
        "<fingerprints matches=\"k\">\n\n<fingerprint pattern=\"ab(c\"/>\n</fingerprints>\n",
        BS_EPARSE, &d);
    assert_int_equal(d.line, 3);
    assert_int_equal(d.col, 5);
    assert_non_null(strstr(d.msg, "pattern does not compile"));
    ident_db_free(db);
    /* A param that takes a group the pattern lacks. */
    db = load_text("<fingerprints matches=\"k\"><fingerprint pattern=\"(a)\">"
                   "<param pos=\"2\" name=\"x\"/></fingerprint></fingerprints>",
                   BS_EPARSE, &d);
    assert_non_null(strstr(d.msg, "group 2"));
    ident_db_free(db);
    /* Param without a name, fixed param without a value, bad pos, bad base64, wrong root. */
    static const char *const bad[] = {
        "<fingerprints><fingerprint pattern=\"a\"><param pos=\"0\" "
        "value=\"v\"/></fingerprint></fingerprints>",
        "<fingerprints><fingerprint pattern=\"a\"><param pos=\"0\" "
        "name=\"n\"/></fingerprint></fingerprints>",
        "<fingerprints><fingerprint pattern=\"a\"><param pos=\"x\" "
        "name=\"n\"/></fingerprint></fingerprints>",
        "<fingerprints><fingerprint pattern=\"a\"><example "
        "_encoding=\"base64\">!!</example></fingerprint></fingerprints>",
        "<fingerprints><fingerprint pattern=\"a\"><example "
        "_encoding=\"rot13\">a</example></fingerprint></fingerprints>",
        "<fingerprints><fingerprint><description>no "
        "pattern</description></fingerprint></fingerprints>",
        "<other/>",
        /* Entities could expand exponentially: no DTD at all. */
        "<?xml version=\"1.0\"?><!DOCTYPE f [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>"
        "<fingerprints><fingerprint "
        "pattern=\"a\"><example>&b;</example></fingerprint></fingerprints>",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        db = load_text(bad[i], BS_EPARSE, &d);
        assert_true(d.line >= 1);
        ident_db_free(db);
    }
    /* A missing file: -ENOENT and its name. */
    assert_int_equal(ident_db_new(&db), 0);
    assert_int_equal(ident_db_load_file(db, "/nonexistent/x.xml", &d), -2);
    assert_string_equal(d.file, "/nonexistent/x.xml");
    assert_int_equal(ident_db_load_dir(db, "/nonexistent", &d), -2);
    ident_db_free(db);
}

static void test_recog_failed_load_leaves_db_unchanged(void **state)
{
    struct ident_diag d;
    struct ident_db *db = load_text(xml_basic, 0, &d);
    const char *bad = write_tmp("<fingerprints matches=\"test.banner\">"
                                "<fingerprint pattern=\"^zzz$\"/>"
                                "<fingerprint pattern=\"(\"/></fingerprints>",
                                1);
    assert_int_equal(ident_db_load_file(db, bad, &d), BS_EPARSE);
    unlink(bad);
    assert_int_equal(ident_db_count(db), 5);
    struct recog_result r;
    assert_int_equal(recog_match(db, "test.banner", "zzz", 3, &r), 0);
    ident_db_free(db);
}

static void test_recog_first_loaded_file_wins_and_telnet_alias(void **state)
{
    struct ident_db *db;
    struct ident_diag d;
    assert_int_equal(ident_db_new(&db), 0);
    const char *a = write_tmp("<fingerprints matches=\"http_header.server\">"
                              "<fingerprint pattern=\"^lighttpd/1\\.4\\.\\d+$\">"
                              "<description>specific</description></fingerprint></fingerprints>",
                              0);
    const char *b = write_tmp("<fingerprints matches=\"http_header.server\">"
                              "<fingerprint pattern=\"^lighttpd\">"
                              "<description>generic</description></fingerprint></fingerprints>",
                              1);
    assert_int_equal(ident_db_load_file(db, a, &d), 0);
    assert_int_equal(ident_db_load_file(db, b, &d), 0);
    struct recog_result r;
    assert_int_equal(recog_match(db, "http_header.server", "lighttpd/1.4.59", 15, &r), 1);
    assert_string_equal(r.description, "specific");
    assert_int_equal(recog_match(db, "http_header.server", "lighttpd/2.0", 12, &r), 1);
    assert_string_equal(r.description, "generic");
    unlink(a);
    unlink(b);
    /* telnet_banners.xml has no matches attribute; it answers to "telnet.banner". */
    char path[512];
    snprintf(path, sizeof(path), "%s/telnet_banners.xml", RECOG_XML_DIR);
    assert_int_equal(ident_db_load_file(db, path, &d), 0);
    const char *mt = "MikroTik v6.49.10 (long-term)\r\nLogin: ";
    assert_int_equal(recog_match(db, "telnet.banner", mt, strlen(mt), &r), 1);
    assert_string_equal(r.source, "telnet_banners.xml");
    ident_db_free(db);
}

/* Caps: the match-step limit turns exponential backtracking into an error, and only the first
 * RECOG_TEXT_MAX bytes of the text are matched. */
static void test_recog_match_limit_and_text_cap(void **state)
{
    static const char xml[] = "<fingerprints matches=\"k\">"
                              "<fingerprint pattern=\"^(.+)* http\"><description>slow</description>"
                              "</fingerprint>"
                              "<fingerprint pattern=\"b$\"><description>tail</description>"
                              "</fingerprint></fingerprints>";
    struct ident_diag d;
    struct ident_db *db = load_text(xml, 0, &d);
    struct recog_result r;
    const char *slow = "foo.bar SMTP NAVIEG 2.0.1; Sun, 29 Jul 2001 22:02:16 -0500 "
                       "http://www.symantec.com";
    assert_int_equal(recog_match(db, "k", slow, strlen(slow), &r), BS_EIO);
    assert_int_equal(r.nparams, 0);
    /* The slow pattern fails on the long text too, but the one after it still runs. */
    char *big = malloc(RECOG_TEXT_MAX + 2);
    assert_non_null(big);
    memset(big, 'a', RECOG_TEXT_MAX + 1);
    big[RECOG_TEXT_MAX - 1] = 'b'; /* last byte inside the cap */
    assert_int_equal(recog_match(db, "k", big, RECOG_TEXT_MAX + 1, &r), 1);
    assert_string_equal(r.description, "tail");
    big[RECOG_TEXT_MAX - 1] = 'a';
    big[RECOG_TEXT_MAX] = 'b'; /* first byte past it */
    assert_int_equal(recog_match(db, "k", big, RECOG_TEXT_MAX + 1, &r), 0);
    free(big);
    ident_db_free(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recog_conformance_all_shared_files),
        cmocka_unit_test(test_recog_conformance_curated_files),
        cmocka_unit_test(test_recog_match_params_interpolation_and_summary),
        cmocka_unit_test(test_recog_example_assertion_failure_is_reported),
        cmocka_unit_test(test_recog_binary_input_matches_bytes_and_utf8_matches_characters),
        cmocka_unit_test(test_recog_load_errors_name_file_line_column),
        cmocka_unit_test(test_recog_failed_load_leaves_db_unchanged),
        cmocka_unit_test(test_recog_first_loaded_file_wins_and_telnet_alias),
        cmocka_unit_test(test_recog_match_limit_and_text_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
