/* Unit tests for the survey's persistence (state.c) in a real state database, and for its
 * output lines (out.c) and credentials file (creds.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "store/statedb.h"
#include "survey/out.h"
#include "survey/state.h"
#include "survey/survey.h"

static char dir[64];

static int setup(void **st)
{
    (void)st;
    snprintf(dir, sizeof dir, "/tmp/bs_sv_state_XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    (void)st;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static struct statedb *open_db(void)
{
    struct statedb *db = NULL;
    char err[256];
    assert_int_equal(statedb_open(dir, &db, err), 0);
    return db;
}

struct count {
    unsigned n;
    char status[32];
    char body[1024];
};

static int count_cb(void *ctx, const struct statedb_rec *r)
{
    struct count *c = ctx;
    c->n++;
    snprintf(c->status, sizeof c->status, "%s", r->status ? r->status : "");
    snprintf(c->body, sizeof c->body, "%s", r->body ? r->body : "");
    return 0;
}

static struct count list(struct statedb *db, enum statedb_kind k, const char *key)
{
    struct count c = {0};
    struct statedb_rec_query q = {.kind = k, .key = key};
    assert_int_equal(statedb_rec_list(db, &q, count_cb, &c), 0);
    return c;
}

static struct sv_finding weak(const char *addr, uint16_t port)
{
    struct sv_finding f = {
        .port = port, .service = "telnet", .kind = SV_WEAK_CREDENTIAL, .time_ms = 1000};
    assert_int_equal(ipaddr_parse(addr, &f.addr), 0);
    snprintf(f.evidence, sizeof f.evidence, "{\"user\":\"root\",\"pair\":3}");
    return f;
}

static void test_resume_skips_finished_positions(void **st)
{
    (void)st;
    struct statedb *db = open_db();
    struct sv_state *s;
    uint64_t key = 77;
    assert_int_equal(sv_state_open(db, "op", false, &key, &s), 0);
    struct ipaddr a;
    ipaddr_parse("198.18.0.1", &a);
    /* Finish 0, 1, 3 and pass over 5 (blocked); 2 and 4 stay in flight. */
    assert_int_equal(sv_state_host_done(s, 0, &a, NULL, 0), 0);
    assert_int_equal(sv_state_host_done(s, 1, &a, NULL, 0), 0);
    assert_int_equal(sv_state_host_done(s, 3, &a, NULL, 0), 0);
    assert_int_equal(sv_state_host_done(s, 5, NULL, NULL, 0), 0);
    assert_true(sv_state_is_done(s, 1));
    assert_false(sv_state_is_done(s, 2));
    /* A crash now: s is never closed properly. Each finished device flushed the state, so a
     * second handle resumes from it. */
    uint64_t key2 = 0;
    struct sv_state *r;
    assert_int_equal(sv_state_open(db, "op", true, &key2, &r), 0);
    assert_int_equal(key2, 77);
    assert_true(sv_state_is_done(r, 0));
    assert_true(sv_state_is_done(r, 1));
    assert_false(sv_state_is_done(r, 2));
    assert_true(sv_state_is_done(r, 3));
    assert_false(sv_state_is_done(r, 4));
    assert_int_equal(sv_state_close(r, true), 0);
    assert_int_equal(sv_state_close(s, false), 0); /* the old handle, closed late */
    /* The last close said "complete" (r closed first, s after overwrote it as running):
     * complete once more and then nothing is left to resume. */
    assert_int_equal(sv_state_open(db, "op", true, &key2, &r), 0);
    assert_int_equal(sv_state_close(r, true), 0);
    assert_int_equal(sv_state_open(db, "op", true, &key2, &r), BS_ENOTFOUND);
    statedb_close(db);
}

static void test_evidence_and_findings_are_stored(void **st)
{
    (void)st;
    struct statedb *db = open_db();
    struct sv_state *s;
    uint64_t key = 1;
    assert_int_equal(sv_state_open(db, "op", false, &key, &s), 0);
    struct sv_evidence e = {.operator_name = "op", .port = 23, .service = "telnet", .time_ms = 5};
    ipaddr_parse("198.18.0.7", &e.dst);
    ipaddr_parse("198.18.0.1", &e.src);
    snprintf(e.tried, sizeof e.tried, "login user=root pair=1");
    snprintf(e.outcome, sizeof e.outcome, "failed");
    struct count before = list(db, STATEDB_EVIDENCE, NULL);
    assert_int_equal(sv_state_evidence(s, &e), 0);
    struct sv_finding f = weak("198.18.0.7", 23);
    assert_int_equal(sv_state_finding(s, &f), 0);
    uint16_t open[] = {23};
    assert_int_equal(sv_state_host_done(s, 0, &e.dst, open, 1), 0);
    struct count ev = list(db, STATEDB_EVIDENCE, NULL);
    assert_int_equal(ev.n, before.n + 1);
    assert_non_null(strstr(ev.body, "\"operator\":\"op\""));
    assert_non_null(strstr(ev.body, "\"src\":\"198.18.0.1\""));
    assert_non_null(strstr(ev.body, "\"tried\":\"login user=root pair=1\""));
    struct count fd = list(db, STATEDB_FINDING, "198.18.0.7|23|weak_credential");
    assert_int_equal(fd.n, 1);
    assert_string_equal(fd.status, "open");
    assert_non_null(strstr(fd.body, "\"finding\":\"weak_credential\""));
    assert_int_equal(sv_state_close(s, true), 0);
    statedb_close(db);
}

static void test_resurvey_marks_fixed_findings_remediated(void **st)
{
    (void)st;
    struct statedb *db = open_db();
    struct sv_state *s;
    uint64_t key = 2;
    struct ipaddr a, b;
    ipaddr_parse("198.18.0.20", &a);
    ipaddr_parse("198.18.0.21", &b);
    assert_int_equal(sv_state_open(db, "op", false, &key, &s), 0);
    struct sv_finding fa = weak("198.18.0.20", 23), fb = weak("198.18.0.21", 23);
    assert_int_equal(sv_state_finding(s, &fa), 0);
    assert_int_equal(sv_state_finding(s, &fb), 0);
    uint16_t open[] = {23};
    assert_int_equal(sv_state_host_done(s, 0, &a, open, 1), 0);
    assert_int_equal(sv_state_host_done(s, 1, &b, open, 1), 0);
    assert_int_equal(sv_state_close(s, true), 0);

    /* A new run: a answers on 23 without the weakness (fixed); b does not answer (offline:
     * not evidence of a fix). */
    assert_int_equal(sv_state_open(db, "op", false, &key, &s), 0);
    assert_int_equal(sv_state_host_done(s, 0, &a, open, 1), 0);
    assert_int_equal(sv_state_host_done(s, 1, &b, NULL, 0), 0);
    assert_int_equal(sv_state_remediated(s), 1);
    assert_int_equal(sv_state_close(s, true), 0);
    assert_string_equal(list(db, STATEDB_FINDING, "198.18.0.20|23|weak_credential").status,
                        "remediated");
    assert_string_equal(list(db, STATEDB_FINDING, "198.18.0.21|23|weak_credential").status, "open");

    /* A third run that finds b again keeps it open and does not remediate it. */
    assert_int_equal(sv_state_open(db, "op", false, &key, &s), 0);
    assert_int_equal(sv_state_finding(s, &fb), 0);
    assert_int_equal(sv_state_host_done(s, 1, &b, open, 1), 0);
    assert_int_equal(sv_state_remediated(s), 0);
    assert_int_equal(sv_state_close(s, true), 0);
    assert_string_equal(list(db, STATEDB_FINDING, "198.18.0.21|23|weak_credential").status, "open");
    statedb_close(db);
}

static void test_resumed_run_also_remediates(void **st)
{
    (void)st;
    struct statedb *db = open_db();
    struct sv_state *s;
    uint64_t key = 3;
    struct ipaddr a;
    ipaddr_parse("198.18.0.30", &a);
    uint16_t open[] = {23};
    assert_int_equal(sv_state_open(db, "op", false, &key, &s), 0);
    struct sv_finding f = weak("198.18.0.30", 23);
    assert_int_equal(sv_state_finding(s, &f), 0);
    assert_int_equal(sv_state_host_done(s, 0, &a, open, 1), 0);
    assert_int_equal(sv_state_close(s, true), 0);
    /* A second run is interrupted before the device, then resumed: the resumed part finds
     * the device fixed. */
    assert_int_equal(sv_state_open(db, "op", false, &key, &s), 0);
    assert_int_equal(sv_state_close(s, false), 0);
    uint64_t key2 = 0;
    assert_int_equal(sv_state_open(db, "op", true, &key2, &s), 0);
    assert_int_equal(key2, 3);
    assert_int_equal(sv_state_host_done(s, 0, &a, open, 1), 0);
    assert_int_equal(sv_state_remediated(s), 1);
    assert_int_equal(sv_state_close(s, true), 0);
    assert_string_equal(list(db, STATEDB_FINDING, "198.18.0.30|23|weak_credential").status,
                        "remediated");
    statedb_close(db);
}

static void test_output_lines(void **st)
{
    (void)st;
    struct sv_ident id = {.vendor = "Hikvision",
                          .product = "DS-2CD2032",
                          .version = "5.4.0",
                          .cves = "[\"CVE-2017-7921\",\"CVE-2021-36260\"]"};
    struct sv_finding f = weak("198.18.0.9", 80);
    f.kind = SV_VULNERABLE_FIRMWARE;
    f.service = "http";
    f.id = &id;
    snprintf(f.evidence, sizeof f.evidence, "{\"seen\":\"a, \\\"b\\\"\"}");
    struct buf b = BUF_INIT(1 << 16);
    assert_int_equal(sv_out_ndjson(&b, &f), 0);
    assert_non_null(strstr(b.data, "{\"addr\":\"198.18.0.9\",\"port\":80,\"service\":\"http\","
                                   "\"finding\":\"vulnerable_firmware\",\"vendor\":\"Hikvision\""));
    assert_non_null(strstr(b.data, "\"cves\":[\"CVE-2017-7921\",\"CVE-2021-36260\"]"));
    assert_non_null(strstr(b.data, "\"evidence\":{\"seen\":"));
    assert_int_equal(b.data[b.len - 1], '\n');
    buf_reset(&b);
    assert_int_equal(sv_out_csv(&b, &f), 0);
    assert_string_equal(b.data, "198.18.0.9,80,http,vulnerable_firmware,Hikvision,DS-2CD2032,"
                                "5.4.0,CVE-2017-7921;CVE-2021-36260,"
                                "\"{\"\"seen\"\":\"\"a, \\\"\"b\\\"\"\"\"}\"\n");
    buf_release(&b);
}

static void test_credentials_file(void **st)
{
    (void)st;
    char path[64];
    snprintf(path, sizeof path, "/tmp/bs_sv_creds_XXXXXX");
    int fd = mkstemp(path);
    const char *text = "# defaults\nroot:xc3511\r\nadmin:\n\nsupport:pa:ss word\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    struct sv_creds c;
    char err[256];
    assert_int_equal(sv_creds_load(&c, path, err, sizeof err), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.v[0].user, "root");
    assert_string_equal(c.v[0].pass, "xc3511");
    assert_int_equal(c.v[0].index, 2);
    assert_string_equal(c.v[1].pass, "");
    assert_string_equal(c.v[2].pass, "pa:ss word");
    sv_creds_release(&c);
    FILE *f = fopen(path, "w");
    fputs("root:root\nnocolon\n", f);
    fclose(f);
    assert_int_equal(sv_creds_load(&c, path, err, sizeof err), BS_EPARSE);
    assert_non_null(strstr(err, ":2:"));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_resume_skips_finished_positions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_evidence_and_findings_are_stored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resurvey_marks_fixed_findings_remediated, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_resumed_run_also_remediates, setup, teardown),
        cmocka_unit_test(test_output_lines),
        cmocka_unit_test(test_credentials_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
