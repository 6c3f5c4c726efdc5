/* Unit tests for the survey's safety rules: scope, blocklist and opt-outs, special-purpose
 * ranges (scope.c), rates and health (rate.c), and the keyed target permutation (targets.c). */
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

#include "core/err.h"
#include "core/ipaddr.h"
#include "survey/rate.h"
#include "survey/scope.h"
#include "survey/targets.h"

static struct ipaddr A(const char *s) {
    struct ipaddr a;
    assert_int_equal(ipaddr_parse(s, &a), 0);
    return a;
}

static enum sv_verdict
check(const struct sv_scope *sc, const char *s)
{
    struct ipaddr a = A(s);
    return sv_scope_check(sc, &a);
}

/* Writes text to a temporary file; returns its path in path. */
static void tmpfile_with(char path[64], const char *text)
{
    snprintf(path, 64, "/tmp/bs_sv_scope_XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
}

static void test_scope_edges_inside_and_outside(void **st)
{
    (void)st;
    struct sv_scope sc;
    assert_int_equal(sv_scope_init(&sc, false), 0);
    assert_int_equal(sv_scope_add(&sc, false, "20.1.2.0/24"), 0);
    assert_int_equal(sv_scope_add(&sc, false, "2a00:1::/120"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    assert_int_equal(check(&sc, "20.1.2.0"), SV_ALLOW);
    assert_int_equal(check(&sc, "20.1.2.255"), SV_ALLOW);
    assert_int_equal(check(&sc, "20.1.1.255"), SV_OUT_OF_SCOPE);
    assert_int_equal(check(&sc, "20.1.3.0"), SV_OUT_OF_SCOPE);
    assert_int_equal(check(&sc, "2a00:1::ff"), SV_ALLOW);
    assert_int_equal(check(&sc, "2a00:1::100"), SV_OUT_OF_SCOPE);
    sv_scope_release(&sc);
}

static void test_blocklist_wins_over_scope(void **st)
{
    (void)st;
    struct sv_scope sc;
    assert_int_equal(sv_scope_init(&sc, false), 0);
    assert_int_equal(sv_scope_add(&sc, false, "20.1.0.0/16"), 0);
    assert_int_equal(sv_scope_add(&sc, true, "20.1.2.3"), 0);
    assert_int_equal(sv_scope_add(&sc, true, "20.1.9.0/24"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    assert_int_equal(check(&sc, "20.1.2.3"), SV_BLOCKED);
    assert_int_equal(check(&sc, "20.1.2.2"), SV_ALLOW);
    assert_int_equal(check(&sc, "20.1.2.4"), SV_ALLOW);
    assert_int_equal(check(&sc, "20.1.9.0"), SV_BLOCKED);
    assert_int_equal(check(&sc, "20.1.9.255"), SV_BLOCKED);
    assert_int_equal(check(&sc, "20.1.10.0"), SV_ALLOW);
    sv_scope_release(&sc);

    /* Even with --lab, and even when the scope lists the very address. */
    assert_int_equal(sv_scope_init(&sc, true), 0);
    assert_int_equal(sv_scope_add(&sc, false, "198.18.0.5"), 0);
    assert_int_equal(sv_scope_add(&sc, true, "198.18.0.0/30"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    assert_int_equal(check(&sc, "198.18.0.5"), SV_ALLOW);
    sv_scope_release(&sc);
    assert_int_equal(sv_scope_init(&sc, true), 0);
    assert_int_equal(sv_scope_add(&sc, false, "198.18.0.5"), 0);
    assert_int_equal(sv_scope_add(&sc, true, "198.18.0.4/30"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    assert_int_equal(check(&sc, "198.18.0.5"), SV_BLOCKED);
    sv_scope_release(&sc);
}

static void test_special_ranges_refused_without_lab(void **st)
{
    (void)st;
    struct sv_scope sc;
    assert_int_equal(sv_scope_init(&sc, false), 0);
    /* Wholly special: refused when loading. */
    assert_int_equal(sv_scope_add(&sc, false, "198.18.0.0/24"), BS_EUSAGE);
    assert_int_equal(sv_scope_add(&sc, false, "127.0.0.1"), BS_EUSAGE);
    assert_int_equal(sv_scope_add(&sc, false, "fe80::1"), BS_EUSAGE);
    assert_int_equal(sv_scope_add(&sc, false, "2001:db8::/48"), BS_EUSAGE);
    /* Partly special: accepted, and the special part refused at the gate. */
    assert_int_equal(sv_scope_add(&sc, false, "198.0.0.0/8"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    assert_int_equal(check(&sc, "198.17.255.255"), SV_ALLOW);
    assert_int_equal(check(&sc, "198.18.0.0"), SV_SPECIAL);
    assert_int_equal(check(&sc, "198.19.255.255"), SV_SPECIAL);
    assert_int_equal(check(&sc, "198.20.0.0"), SV_ALLOW);
    assert_int_equal(check(&sc, "198.51.100.7"), SV_SPECIAL);
    sv_scope_release(&sc);

    assert_int_equal(sv_scope_init(&sc, true), 0);
    assert_int_equal(sv_scope_add(&sc, false, "198.18.0.0/24"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    assert_int_equal(check(&sc, "198.18.0.9"), SV_ALLOW);
    sv_scope_release(&sc);
}

static void test_scope_file_errors_name_line(void **st)
{
    (void)st;
    char path[64], err[256] = "";
    struct sv_scope sc;
    tmpfile_with(path, "# comment\n20.0.0.0/24\n\n  20.0.1.1  # a host\nnot-an-address\n");
    assert_int_equal(sv_scope_init(&sc, false), 0);
    assert_int_equal(sv_scope_load_scope(&sc, path, err, sizeof err), BS_EPARSE);
    assert_non_null(strstr(err, ":5:"));
    sv_scope_release(&sc);
    unlink(path);

    tmpfile_with(path, "20.0.0.0/24\n10.1.0.0/16\n");
    assert_int_equal(sv_scope_init(&sc, false), 0);
    assert_int_equal(sv_scope_load_scope(&sc, path, err, sizeof err), BS_EUSAGE);
    assert_non_null(strstr(err, ":2:"));
    assert_non_null(strstr(err, "--lab"));
    sv_scope_release(&sc);
    unlink(path);

    assert_int_equal(sv_scope_init(&sc, false), 0);
    assert_true(sv_scope_load_scope(&sc, "/nonexistent/scope", err, sizeof err) < 0);
    assert_int_equal(sv_scope_finish(&sc), BS_EUSAGE); /* empty scope */
    sv_scope_release(&sc);
}

static void test_optouts_need_who_and_when(void **st)
{
    (void)st;
    char path[64], err[256] = "";
    struct sv_scope sc;
    tmpfile_with(path, "20.0.0.7, abuse@isp.example, 2026-11-02\n20.0.0.9,someone\n");
    assert_int_equal(sv_scope_init(&sc, false), 0);
    assert_int_equal(sv_scope_load_optouts(&sc, path, err, sizeof err), BS_EPARSE);
    assert_non_null(strstr(err, ":2:"));
    assert_int_equal(sc.optouts.n, 1);
    const struct sv_optout *o = VEC_AT(&sc.optouts, struct sv_optout, 0);
    assert_string_equal(o->requested_by, "abuse@isp.example");
    assert_string_equal(o->requested_at, "2026-11-02");
    assert_int_equal(sv_scope_add(&sc, false, "20.0.0.0/24"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    assert_int_equal(check(&sc, "20.0.0.7"), SV_BLOCKED);
    assert_int_equal(check(&sc, "20.0.0.9"), SV_ALLOW);
    sv_scope_release(&sc);
    unlink(path);
}

static void test_rangeset_merges_adjacent_and_overlapping(void **st)
{
    (void)st;
    struct sv_rangeset s;
    sv_rangeset_init(&s);
    const char *p[] = {"20.0.1.0/24", "20.0.0.0/24", "20.0.0.128/25", "20.0.3.0/24"};
    for (size_t i = 0; i < 4; i++) {
        struct ipprefix x;
        assert_int_equal(ipprefix_parse(p[i], &x), 0);
        assert_int_equal(sv_rangeset_add(&s, &x), 0);
    }
    sv_rangeset_finish(&s);
    assert_int_equal(sv_rangeset_count(&s), 2);
    struct ipaddr lo = A("20.0.0.0"), hi = A("20.0.1.255"), hi2 = A("20.0.2.0");
    assert_true(sv_rangeset_covers(&s, &lo, &hi));
    assert_false(sv_rangeset_covers(&s, &lo, &hi2));
    sv_rangeset_release(&s);
}

static void test_bucket_rate_and_burst(void **st)
{
    (void)st;
    struct sv_bucket b;
    sv_bucket_init(&b, 10, 2, 1000);
    /* The burst is available at once, then one token per 100 ms. */
    assert_int_equal(sv_bucket_wait(&b, 1000), 0);
    sv_bucket_take(&b);
    assert_int_equal(sv_bucket_wait(&b, 1000), 0);
    sv_bucket_take(&b);
    assert_int_equal(sv_bucket_wait(&b, 1000), 100);
    assert_int_equal(sv_bucket_wait(&b, 1099), 1);
    assert_int_equal(sv_bucket_wait(&b, 1100), 0);
    sv_bucket_take(&b);
    /* A long idle time refills only up to the burst. */
    assert_int_equal(sv_bucket_wait(&b, 100000), 0);
    sv_bucket_take(&b);
    sv_bucket_take(&b);
    assert_true(sv_bucket_wait(&b, 100000) > 0);

    /* Over a simulated second, no more than rate + burst connections. */
    sv_bucket_init(&b, 20, 1, 0);
    unsigned taken = 0;
    for (uint64_t t = 0; t <= 1000; t++)
        while (sv_bucket_wait(&b, t) == 0) {
            sv_bucket_take(&b);
            taken++;
        }
    assert_int_equal(taken, 21);
}

static void test_netrate_is_per_slash24(void **st)
{
    (void)st;
    struct sv_netrate t;
    assert_int_equal(sv_netrate_init(&t, 1, 1, 42), 0);
    struct ipaddr a = A("20.0.0.1"), b = A("20.0.0.200"), c = A("20.0.1.1");
    assert_int_equal(sv_netrate_wait(&t, &a, 0), 0);
    sv_netrate_take(&t, &a, 0);
    assert_true(sv_netrate_wait(&t, &b, 0) > 0); /* same /24 */
    assert_int_equal(sv_netrate_wait(&t, &c, 0), 0);
    assert_int_equal(sv_netrate_wait(&t, &b, 1000), 0);
    sv_netrate_release(&t);
}

static void test_policy_defaults_are_valid_and_checked(void **st)
{
    (void)st;
    struct sv_policy p = SV_RATE_DEFAULTS;
    const char *field = NULL;
    assert_int_equal(sv_policy_check(&p, &field), 0);
    p.rate_host = p.rate_net + 1;
    assert_int_equal(sv_policy_check(&p, &field), BS_EUSAGE);
    assert_string_equal(field, "rate-host");
}

static void test_health_aborts_on_errors_and_resets(void **st)
{
    (void)st;
    struct sv_policy p = SV_RATE_DEFAULTS;
    p.health_window = 10;
    struct sv_health h;
    sv_health_init(&h, &p);
    for (int i = 0; i < 10; i++)
        sv_health_note(&h, i < 5 ? SV_OUT_LOCAL_ERR : SV_OUT_OK); /* 50 %: at the limit */
    assert_false(sv_health_bad(&h));
    for (int i = 0; i < 10; i++)
        sv_health_note(&h, i < 6 ? SV_OUT_LOCAL_ERR : SV_OUT_OK);
    assert_true(sv_health_bad(&h));

    sv_health_init(&h, &p);
    for (int i = 0; i < 10; i++)
        sv_health_note(&h, i < 6 ? SV_OUT_RESET : SV_OUT_SESSION);
    assert_true(sv_health_bad(&h));
    assert_non_null(strstr(h.why, "reset"));
}

static void test_perm_is_a_bijection(void **st)
{
    (void)st;
    const uint64_t sizes[] = {1, 2, 3, 255, 256, 257, 1000, 65536, 70001};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        uint64_t n = sizes[k];
        uint8_t *seen = calloc(n, 1);
        assert_non_null(seen);
        struct sv_perm p;
        sv_perm_init(&p, n, 0x1234 + k);
        for (uint64_t i = 0; i < n; i++) {
            uint64_t v = sv_perm_apply(&p, i);
            assert_true(v < n);
            assert_int_equal(seen[v], 0);
            seen[v] = 1;
        }
        free(seen);
    }
}

static void test_perm_depends_on_key_and_scatters(void **st)
{
    (void)st;
    struct sv_perm a, b;
    sv_perm_init(&a, 65536, 1);
    sv_perm_init(&b, 65536, 2);
    unsigned same = 0, same_net = 0;
    for (uint64_t i = 0; i < 1000; i++) {
        same += sv_perm_apply(&a, i) == sv_perm_apply(&b, i);
        same_net += (sv_perm_apply(&a, i) >> 8) == (sv_perm_apply(&a, i + 1) >> 8);
    }
    assert_true(same < 10);
    /* Consecutive positions rarely land in the same /24 of a /16. */
    assert_true(same_net < 30);
}

static void test_targets_cover_scope_exactly_and_resume(void **st)
{
    (void)st;
    struct sv_scope sc;
    assert_int_equal(sv_scope_init(&sc, true), 0);
    assert_int_equal(sv_scope_add(&sc, false, "198.18.0.0/26"), 0);
    assert_int_equal(sv_scope_add(&sc, false, "198.18.1.5"), 0);
    assert_int_equal(sv_scope_add(&sc, false, "2001:db8::/126"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    struct sv_targets t;
    assert_int_equal(sv_targets_init(&t, &sc.allow, 99), 0);
    assert_int_equal(t.total, 64 + 1 + 4);
    unsigned in_first = 0, host = 0, v6 = 0;
    struct ipaddr seen[69];
    for (uint64_t pos = 0; pos < t.total; pos++) {
        struct ipaddr a;
        sv_targets_at(&t, pos, &a);
        assert_int_equal(sv_scope_check(&sc, &a), SV_ALLOW);
        for (uint64_t j = 0; j < pos; j++)
            assert_int_not_equal(ipaddr_cmp(&seen[j], &a), 0);
        seen[pos] = a;
        struct ipaddr h = A("198.18.1.5");
        host += !ipaddr_cmp(&a, &h);
        in_first += ipaddr_is_v4(&a) && (ipaddr_v4(&a) >> 6) == (ipaddr_v4(&h) & ~0x1ffu) >> 6;
        v6 += !ipaddr_is_v4(&a);
    }
    assert_int_equal(host, 1);
    assert_int_equal(in_first, 64);
    assert_int_equal(v6, 4);
    /* Resuming: a second iterator with the same key gives the same address at a position. */
    struct sv_targets t2;
    assert_int_equal(sv_targets_init(&t2, &sc.allow, 99), 0);
    struct ipaddr x;
    sv_targets_at(&t2, 40, &x);
    assert_int_equal(ipaddr_cmp(&x, &seen[40]), 0);
    sv_targets_release(&t2);
    sv_targets_release(&t);
    sv_scope_release(&sc);
}

static void test_targets_refuse_huge_scope(void **st)
{
    (void)st;
    struct sv_scope sc;
    assert_int_equal(sv_scope_init(&sc, false), 0);
    assert_int_equal(sv_scope_add(&sc, false, "2a00:1::/64"), 0);
    assert_int_equal(sv_scope_finish(&sc), 0);
    struct sv_targets t;
    assert_int_equal(sv_targets_init(&t, &sc.allow, 1), BS_ELIMIT);
    sv_scope_release(&sc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scope_edges_inside_and_outside),
        cmocka_unit_test(test_blocklist_wins_over_scope),
        cmocka_unit_test(test_special_ranges_refused_without_lab),
        cmocka_unit_test(test_scope_file_errors_name_line),
        cmocka_unit_test(test_optouts_need_who_and_when),
        cmocka_unit_test(test_rangeset_merges_adjacent_and_overlapping),
        cmocka_unit_test(test_bucket_rate_and_burst),
        cmocka_unit_test(test_netrate_is_per_slash24),
        cmocka_unit_test(test_policy_defaults_are_valid_and_checked),
        cmocka_unit_test(test_health_aborts_on_errors_and_resets),
        cmocka_unit_test(test_perm_is_a_bijection),
        cmocka_unit_test(test_perm_depends_on_key_and_scatters),
        cmocka_unit_test(test_targets_cover_scope_exactly_and_resume),
        cmocka_unit_test(test_targets_refuse_huge_scope),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
