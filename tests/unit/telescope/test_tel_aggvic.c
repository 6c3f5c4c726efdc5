/* Unit tests for the cheaper interval-bucket and victim-table paths (tel_agg, tel_victim,
 * tel_hll): each fast path is compared with a straightforward reference computation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/ipaddr.h"
#include "telescope/tel_src.h"
#include "telescope/tel_victim.h"

/* Deterministic generator for the random sequences (splitmix64). */
static uint64_t rnd(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return hash_mix64(*s);
}

static uint64_t rnd_below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

/* The window's definition, computed the slow way: a packet is counted in the window unless
 * its second is 60 or more before the newest second seen so far; after each counted packet
 * the window holds the counted packets of the 60 seconds ending at the newest second; the
 * peak is the largest such count. */
struct brute_window {
    uint64_t *secs;
    size_t n;
    uint64_t last;
    bool any;
    uint32_t peak;
};

static void brute_add(struct brute_window *w, uint64_t sec)
{
    if (!w->any || sec > w->last)
        w->last = sec;
    w->any = true;
    if (w->last - sec >= TEL_VICTIM_WINDOW_S)
        return;
    w->secs[w->n++] = sec;
    uint32_t in = 0;
    for (size_t i = 0; i < w->n; i++)
        in += w->secs[i] + TEL_VICTIM_WINDOW_S > w->last;
    if (in > w->peak)
        w->peak = in;
}

/* Timestamps: bursts within a second, gaps of 0..200 s (across and beyond the window), and
 * packets up to 70 s older than the newest (inside the window and just beyond it). */
static void run_window_sequence(uint64_t seed, size_t npkts)
{
    struct tel_victim_table t;
    assert_int_equal(tel_victim_init(&t, 4, 7), 0);
    struct ipaddr v;
    ipaddr_from_v4(&v, 0x5db80001u);
    struct brute_window w = {calloc(npkts, sizeof(uint64_t)), 0, 0, false, 0};
    assert_non_null(w.secs);
    uint64_t s = seed, newest = 1700000000000ull + rnd_below(&s, 1000);
    for (size_t k = 0; k < npkts; k++) {
        uint64_t r = rnd_below(&s, 100), ts;
        if (r < 45)
            ts = newest + rnd_below(&s, 1500); /* same or next second */
        else if (r < 70)
            ts = newest + rnd_below(&s, 70000); /* within about a window */
        else if (r < 80)
            ts = newest + rnd_below(&s, 200001); /* up to 200 s */
        else if (r < 95)
            ts = newest - rnd_below(&s, 60000); /* late, mostly inside the window */
        else
            ts = newest - rnd_below(&s, 70000); /* late, possibly beyond it */
        if (ts > newest)
            newest = ts;
        struct tel_victim *e = tel_victim_add(&t, &v, tel_addr_hash(&v), ts, 40, 80, false, rnd(&s));
        assert_non_null(e);
        brute_add(&w, ts / 1000);
        assert_int_equal(e->peak_ppm, w.peak);
        uint32_t sum = 0;
        uint64_t nz = 0;
        for (unsigned i = 0; i < TEL_VICTIM_WINDOW_S; i++) {
            sum += e->win[i];
            nz |= (uint64_t)(e->win[i] != 0) << i;
        }
        assert_int_equal(e->window_sum, sum);
        assert_int_equal(e->win_nz, nz);
    }
    free(w.secs);
    tel_victim_release(&t);
}

static void test_victim_window_peak_matches_brute_force(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 40; seed++)
        run_window_sequence(seed, 400);
}

/* Every gap length 0..130 s after a full window, and wrap-around of the ring at every start. */
static void test_victim_window_every_gap_and_ring_position(void **state)
{
    (void)state;
    for (unsigned start = 0; start < TEL_VICTIM_WINDOW_S; start++) {
        for (unsigned gap = 0; gap <= 130; gap += 1) {
            struct tel_victim_table t;
            assert_int_equal(tel_victim_init(&t, 4, 3), 0);
            struct ipaddr v;
            ipaddr_from_v4(&v, 0x5db80002u);
            uint64_t t0 = (1000000ull + start) * 1000;
            struct brute_window w = {calloc(200, sizeof(uint64_t)), 0, 0, false, 0};
            assert_non_null(w.secs);
            struct tel_victim *e = NULL;
            for (unsigned k = 0; k < 60; k++) { /* one packet a second, k + 1 in second k */
                for (unsigned j = 0; j <= k % 3; j++) {
                    e = tel_victim_add(&t, &v, tel_addr_hash(&v), t0 + k * 1000ull + j, 40, 80,
                                       false, k);
                    brute_add(&w, (t0 + k * 1000ull + j) / 1000);
                }
            }
            uint64_t after = t0 + 59000ull + gap * 1000ull;
            e = tel_victim_add(&t, &v, tel_addr_hash(&v), after, 40, 80, false, 1);
            brute_add(&w, after / 1000);
            e = tel_victim_add(&t, &v, tel_addr_hash(&v), after + 1, 40, 80, false, 2);
            brute_add(&w, (after + 1) / 1000);
            assert_int_equal(e->peak_ppm, w.peak);
            uint32_t in = 0;
            for (size_t i = 0; i < w.n; i++)
                in += w.secs[i] + TEL_VICTIM_WINDOW_S > w.last;
            assert_int_equal(e->window_sum, in);
            free(w.secs);
            tel_victim_release(&t);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_victim_window_peak_matches_brute_force),
        cmocka_unit_test(test_victim_window_every_gap_and_ring_position),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
