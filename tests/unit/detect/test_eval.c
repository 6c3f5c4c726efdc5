/* test_eval.c - eval's numbers against a brute-force count over random hand-made truths and
 * candidate sets, the matching rules one by one, and malformed candidate input. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "detect/eval.h"
#include "detect/truth.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void mk_addr(struct ipaddr *a, uint32_t k)
{
    ipaddr_from_v4(a, 0x0a000000u + k);
}

/* The rules written out again, independently of eval.c. */
static int bf_match(const struct eval_cand *c, const struct truth_endpoint *e)
{
    if (memcmp(c->addr.b, e->addr.b, 16) != 0)
        return 0;
    int c_any = c->port == 0 && c->proto == 0, e_any = e->port == 0 && e->proto == 0;
    return c_any || e_any || (c->port == e->port && c->proto == e->proto);
}

static const uint16_t ports[] = {0, 23, 80, 6667};

static void random_world(struct truth *t, struct eval_cands *cs)
{
    memset(t, 0, sizeof *t);
    memset(cs, 0, sizeof *cs);
    size_t ne = rnd(12), nc = rnd(40);
    for (size_t i = 0; i < ne; i++) {
        struct ipaddr a;
        mk_addr(&a, rnd(8));
        uint16_t port = ports[rnd(4)];
        uint8_t proto = port ? (rnd(2) ? 6 : 17) : (rnd(3) ? 0 : 1);
        uint64_t first = 1700000000000ull + rnd(4) * EVAL_DAY_MS + rnd(86400000);
        uint64_t last = first + rnd(3) * EVAL_DAY_MS / 2;
        assert_int_equal(truth_add_endpoint(t, &a, port, proto, first, last, 1, 1), 0);
    }
    size_t nr = rnd(3);
    for (size_t i = 0; i < nr; i++) {
        struct ipaddr a;
        mk_addr(&a, 8 + rnd(2));
        assert_int_equal(truth_add_related(t, &a, 80, 6, 0, 0), 0);
    }
    truth_finish(t);
    for (size_t i = 0; i < nc; i++) {
        struct eval_cand c = {0};
        mk_addr(&c.addr, rnd(11));
        c.port = ports[rnd(4)];
        c.proto = c.port ? (rnd(2) ? 6 : 17) : (rnd(2) ? 0 : 1);
        c.score = rnd(100) / 10.0;
        c.detected_ms = 1700000000000ull + rnd(5) * EVAL_DAY_MS + rnd(86400000);
        c.line = i + 1;
        assert_int_equal(eval_cands_add(cs, &c), 0);
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void check_one(const struct truth *t, const struct eval_cands *cs, double min_score,
                      int strict)
{
    struct eval_opts o = {.min_score = min_score, .strict = strict};
    struct eval_result r;
    assert_int_equal(eval_run(t, cs, &o, &r), 0);
    /* Brute force: distinct keys over the filtered lines, each with its earliest time. */
    size_t nu = 0, tp = 0, fp = 0, rel = 0;
    struct eval_cand *u = calloc(cs->n + 1, sizeof *u);
    for (size_t i = 0; i < cs->n; i++) {
        const struct eval_cand *c = &cs->c[i];
        if (c->score < min_score)
            continue;
        size_t j;
        for (j = 0; j < nu; j++)
            if (!memcmp(u[j].addr.b, c->addr.b, 16) && u[j].port == c->port &&
                u[j].proto == c->proto)
                break;
        if (j == nu)
            u[nu++] = *c;
        else if (c->detected_ms < u[j].detected_ms)
            u[j].detected_ms = c->detected_ms;
    }
    int64_t delays[64];
    size_t nd = 0, found = 0;
    uint64_t det[64];
    for (size_t k = 0; k < t->n; k++) {
        int f = 0;
        for (size_t j = 0; j < nu; j++)
            if (bf_match(&u[j], &t->ep[k]) && (!f || u[j].detected_ms < det[k])) {
                det[k] = u[j].detected_ms;
                f = 1;
            }
        assert_int_equal(f, r.found[k]);
        if (f) {
            found++;
            assert_int_equal(det[k], r.detected_ms[k]);
            delays[nd++] = (int64_t)det[k] - (int64_t)t->ep[k].first_ms;
        }
    }
    for (size_t j = 0; j < nu; j++) {
        int hit = 0, related = 0;
        for (size_t k = 0; k < t->n; k++)
            hit |= bf_match(&u[j], &t->ep[k]);
        for (size_t k = 0; k < t->nrelated && !strict; k++)
            related |= bf_match(&u[j], &t->related[k]);
        if (hit)
            tp++;
        else if (related)
            rel++;
        else
            fp++;
    }
    assert_int_equal(r.nu, nu);
    assert_int_equal(r.tp, tp);
    assert_int_equal(r.fp, fp);
    assert_int_equal(r.related, rel);
    assert_int_equal(r.nfound, found);
    double p = tp + fp ? (double)tp / (double)(tp + fp) : 1.0;
    double rc = t->n ? (double)found / (double)t->n : 1.0;
    double f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0.0;
    assert_true(fabs(r.precision - p) < 1e-12);
    assert_true(fabs(r.recall - rc) < 1e-12);
    assert_true(fabs(r.f1 - f1) < 1e-12);
    assert_int_equal(r.ndelay, nd);
    if (nd) {
        qsort(delays, nd, sizeof *delays, cmp_i64);
        int64_t med = nd % 2 ? delays[nd / 2] : (delays[nd / 2 - 1] + delays[nd / 2]) / 2;
        assert_true(llabs(r.delay_median_ms - med) <= 1);
        assert_int_equal(r.delay_max_ms, delays[nd - 1]);
    }
    /* By address: a truth address is found when any candidate names it; a candidate address
     * is right when the truth has it, and left out when all its candidates are related. */
    size_t th = 0, thf = 0, ch = 0, chr = 0;
    for (size_t k = 0; k < t->n; k++) {
        int seen = 0, f = 0;
        for (size_t j = 0; j < k; j++)
            seen |= !memcmp(t->ep[j].addr.b, t->ep[k].addr.b, 16);
        if (seen)
            continue;
        th++;
        for (size_t j = 0; j < nu; j++)
            f |= !memcmp(u[j].addr.b, t->ep[k].addr.b, 16);
        thf += f;
    }
    for (size_t j = 0; j < nu; j++) {
        int seen = 0, right = 0, all_related = 1;
        for (size_t i = 0; i < j; i++)
            seen |= !memcmp(u[i].addr.b, u[j].addr.b, 16);
        if (seen)
            continue;
        for (size_t k = 0; k < t->n; k++)
            right |= !memcmp(t->ep[k].addr.b, u[j].addr.b, 16);
        for (size_t i = 0; i < nu; i++) {
            if (memcmp(u[i].addr.b, u[j].addr.b, 16))
                continue;
            int hit = 0, related = 0;
            for (size_t k = 0; k < t->n; k++)
                hit |= bf_match(&u[i], &t->ep[k]);
            for (size_t k = 0; k < t->nrelated && !strict; k++)
                related |= bf_match(&u[i], &t->related[k]);
            all_related &= !hit && related;
        }
        if (all_related && !right)
            continue;
        ch++;
        chr += right;
    }
    assert_int_equal(r.hosts, th);
    assert_int_equal(r.hosts_found, thf);
    assert_int_equal(r.cand_hosts, ch);
    assert_int_equal(r.cand_hosts_tp, chr);
    /* Per day: candidates reported that day; endpoints active that day, found by its end. */
    for (size_t d = 0; d < r.ndays; d++) {
        uint64_t day = r.days[d].day_ms;
        size_t dc = 0, dtp = 0, act = 0, fnd = 0;
        for (size_t j = 0; j < nu; j++) {
            if (u[j].detected_ms / EVAL_DAY_MS != day / EVAL_DAY_MS)
                continue;
            int hit = 0, related = 0;
            for (size_t k = 0; k < t->n; k++)
                hit |= bf_match(&u[j], &t->ep[k]);
            for (size_t k = 0; k < t->nrelated && !strict; k++)
                related |= bf_match(&u[j], &t->related[k]);
            if (!hit && related)
                continue;
            dc++;
            dtp += hit;
        }
        for (size_t k = 0; k < t->n; k++) {
            if (t->ep[k].first_ms >= day + EVAL_DAY_MS || t->ep[k].last_ms < day)
                continue;
            act++;
            fnd += r.found[k] && det[k] < day + EVAL_DAY_MS;
        }
        assert_int_equal(r.days[d].candidates, dc);
        assert_int_equal(r.days[d].tp, dtp);
        assert_int_equal(r.days[d].active, act);
        assert_int_equal(r.days[d].found, fnd);
    }
    free(u);
    eval_result_release(&r);
}

static void test_eval_matches_brute_force_on_random_sets(void **state)
{
    (void)state;
    for (int round = 0; round < 500; round++) {
        struct truth t;
        struct eval_cands cs;
        random_world(&t, &cs);
        check_one(&t, &cs, -INFINITY, 0);
        check_one(&t, &cs, rnd(100) / 10.0, 0);
        check_one(&t, &cs, rnd(100) / 10.0, 1);
        truth_release(&t);
        eval_cands_release(&cs);
    }
}

static void test_eval_rules_by_hand(void **state)
{
    (void)state;
    struct truth t = {0};
    struct ipaddr a, b;
    ipaddr_parse("192.0.2.1", &a);
    ipaddr_parse("192.0.2.2", &b);
    truth_add_endpoint(&t, &a, 6667, 6, 1000, 2000, 1, 1);
    truth_add_endpoint(&t, &a, 23, 6, 5000, 6000, 1, 1);
    truth_add_endpoint(&t, &b, 443, 6, 1000, 2000, 1, 1);
    truth_finish(&t);
    const char *in =
        "{\"addr\":\"192.0.2.1\",\"port\":0,\"proto\":0,\"score\":5,\"last_ms\":4000}\n"
        "\n"
        "{\"addr\":\"192.0.2.2\",\"port\":443,\"proto\":17,\"score\":9,\"last_ms\":9000,"
        "\"detected_ms\":3000}\n"
        "{\"addr\":\"192.0.2.2\",\"port\":443,\"proto\":17,\"score\":1,\"last_ms\":1500}\n";
    struct eval_cands cs = {0};
    struct eval_error e;
    assert_int_equal(eval_cands_read_mem(in, strlen(in), &cs, &e), 0);
    assert_int_equal(cs.n, 3);
    assert_int_equal(cs.c[1].detected_ms, 3000); /* detected_ms wins over last_ms */
    assert_int_equal(cs.c[2].detected_ms, 1500); /* no detected_ms: last_ms */
    struct eval_opts o = {.min_score = -INFINITY};
    struct eval_result r;
    assert_int_equal(eval_run(&t, &cs, &o, &r), 0);
    /* The address-level candidate finds both endpoints of 192.0.2.1; the UDP one is wrong
     * (the truth is TCP) and its two lines count once. */
    assert_int_equal(r.nu, 2);
    assert_int_equal(r.tp, 1);
    assert_int_equal(r.fp, 1);
    assert_int_equal(r.nfound, 2);
    assert_true(fabs(r.precision - 0.5) < 1e-12);
    assert_true(fabs(r.recall - 2.0 / 3.0) < 1e-12);
    /* Delays 4000-1000 and 4000-5000: the second was reported before its first flow. */
    assert_int_equal(r.delay_max_ms, 3000);
    assert_int_equal(r.delay_median_ms, 1000);
    /* By address: both truth addresses have a candidate on them; both candidates are right. */
    assert_int_equal(r.hosts_found, 2);
    assert_int_equal(r.cand_hosts_tp, 2);
    struct buf out = BUF_INIT(1 << 20);
    assert_int_equal(eval_json(&t, &r, &o, &out), 0);
    assert_non_null(strstr(out.data, "\"precision\":0.5,"));
    assert_non_null(strstr(out.data, "\"missed\":[{\"addr\":\"192.0.2.2\",\"port\":443"));
    buf_release(&out);
    eval_result_release(&r);
    /* The min-score filter removes the address-level line: nothing of 192.0.2.1 is found. */
    o.min_score = 6;
    assert_int_equal(eval_run(&t, &cs, &o, &r), 0);
    assert_int_equal(r.nfound, 0);
    assert_int_equal(r.nu, 1);
    eval_result_release(&r);
    /* Public listing of the right candidates: one listed 1000 ms after the merged detection
     * (given as first_listed_ms), one listed before it (given as lead_ms), a wrong one
     * listed (not counted). */
    const char *li =
        "{\"addr\":\"192.0.2.1\",\"port\":6667,\"proto\":6,\"score\":5,\"last_ms\":9000,"
        "\"detected_ms\":4000,\"intel\":{\"listed\":true,\"first_listed_ms\":5000}}\n"
        "{\"addr\":\"192.0.2.1\",\"port\":6667,\"proto\":6,\"score\":5,\"last_ms\":9000,"
        "\"detected_ms\":7000,\"intel\":{\"listed\":true,\"first_listed_ms\":8000}}\n"
        "{\"addr\":\"192.0.2.1\",\"port\":23,\"proto\":6,\"score\":5,\"last_ms\":9000,"
        "\"intel\":{\"listed\":true,\"lead_ms\":-2000}}\n"
        "{\"addr\":\"192.0.2.2\",\"port\":443,\"proto\":6,\"score\":5,\"last_ms\":9000,"
        "\"intel\":{\"listed\":false}}\n"
        "{\"addr\":\"192.0.2.3\",\"port\":443,\"proto\":6,\"score\":5,\"last_ms\":9000,"
        "\"intel\":{\"listed\":true,\"lead_ms\":100}}\n";
    struct eval_cands lc = {0};
    assert_int_equal(eval_cands_read_mem(li, strlen(li), &lc, &e), 0);
    o.min_score = -INFINITY;
    assert_int_equal(eval_run(&t, &lc, &o, &r), 0);
    assert_int_equal(r.tp, 3);
    assert_int_equal(r.tp_listed_after, 1);
    assert_int_equal(r.tp_listed_before, 1);
    assert_int_equal(r.tp_unlisted, 1);
    assert_int_equal(r.lead_median_ms, (1000 + -2000) / 2);
    eval_result_release(&r);
    eval_cands_release(&lc);
    /* No candidates at all: precision 1 (nothing claimed), recall 0. */
    struct eval_cands none = {0};
    assert_int_equal(eval_run(&t, &none, &o, &r), 0);
    assert_true(r.precision == 1.0 && r.recall == 0.0 && r.f1 == 0.0);
    eval_result_release(&r);
    eval_cands_release(&cs);
    truth_release(&t);
}

static void test_eval_malformed_candidates(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        unsigned long line;
        const char *words;
    } cases[] = {
        {"{\"addr\":\"192.0.2.1\",\"port\":1,\"proto\":6,\"score\":1,\"last_ms\":1}\nnot json\n", 2,
         "not JSON"},
        {"[1,2]\n", 1, "object"},
        {"{\"addr\":\"192.0.2.999\",\"port\":1,\"proto\":6,\"score\":1,\"last_ms\":1}", 1, "addr"},
        {"{\"addr\":\"192.0.2.1\",\"port\":70000,\"proto\":6,\"score\":1,\"last_ms\":1}", 1,
         "port"},
        {"{\"addr\":\"192.0.2.1\",\"port\":1,\"proto\":\"tcp\",\"score\":1,\"last_ms\":1}", 1,
         "proto"},
        {"{\"addr\":\"192.0.2.1\",\"port\":1,\"proto\":6,\"score\":\"high\",\"last_ms\":1}", 1,
         "score"},
        {"{\"addr\":\"192.0.2.1\",\"port\":1,\"proto\":6,\"score\":1}", 1, "detection time"},
        {"{\"addr\":\"192.0.2.1\",\"port\":1,\"proto\":6,\"score\":1,\"last_ms\":-5}", 1,
         "integers"},
        {"{\"addr\":\"192.0.2.1\",\"port\":1,\"proto\":6,\"score\":1,\"last_ms\":5,"
         "\"intel\":{\"listed\":true}}",
         1, "listed without"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct eval_cands cs = {0};
        struct eval_error e = {0};
        int rc = eval_cands_read_mem(cases[i].in, strlen(cases[i].in), &cs, &e);
        if (rc != BS_EMALFORMED || e.line != cases[i].line || !strstr(e.msg, cases[i].words))
            fail_msg("case %zu: rc %d line %lu msg '%s'", i, rc, e.line, e.msg);
        eval_cands_release(&cs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eval_matches_brute_force_on_random_sets),
        cmocka_unit_test(test_eval_rules_by_hand),
        cmocka_unit_test(test_eval_malformed_candidates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
