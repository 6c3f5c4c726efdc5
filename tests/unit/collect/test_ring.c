/* Unit tests for src/collect/ring.c: the SPSC datagram ring and its doorbell. The two-thread
 * stress test is the one to run under TSan (build with -DBS_TSAN=ON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "collect/ring.h"
#include "core/err.h"

static struct ring_meta meta_n(uint32_t n)
{
    struct ring_meta m;
    memset(&m, 0, sizeof m);
    ipaddr_from_v4(&m.src, 0x7f000001);
    m.recv_ms = n;
    m.src_port = (uint16_t)n;
    return m;
}

static void test_ring_push_peek_pop_in_order(void **state)
{
    struct ring r;
    assert_int_equal(ring_init(&r, 8, 256), 0);
    assert_null(ring_peek(&r));
    for (uint32_t i = 0; i < 5; i++) {
        struct ring_meta m = meta_n(i);
        uint8_t d[3] = {(uint8_t)i, 0xaa, 0xbb};
        assert_int_equal(ring_push(&r, &m, d, sizeof d), 0);
    }
    for (uint32_t i = 0; i < 5; i++) {
        const struct ring_entry *e = ring_peek(&r);
        assert_non_null(e);
        assert_int_equal(e->meta.recv_ms, i);
        assert_int_equal(e->len, 3);
        assert_int_equal(e->data[0], i);
        assert_int_equal(e->data[2], 0xbb);
        ring_pop(&r);
    }
    assert_null(ring_peek(&r));
    ring_release(&r);
}

static void test_ring_full_is_a_counted_drop(void **state)
{
    struct ring r;
    assert_int_equal(ring_init(&r, 4, 128), 0);
    struct ring_meta m = meta_n(1);
    uint8_t d[16] = {0};
    for (int i = 0; i < 4; i++)
        assert_int_equal(ring_push(&r, &m, d, sizeof d), 0);
    assert_int_equal(ring_push(&r, &m, d, sizeof d), BS_ELIMIT);
    assert_int_equal(atomic_load(&r.full_drops), 1);
    assert_int_equal(ring_used_slots(&r), 4);
    ring_pop(&r);
    assert_non_null(ring_peek(&r));
    assert_int_equal(ring_push(&r, &m, d, sizeof d), 0); /* room again after one pop */
    ring_release(&r);
}

static void test_ring_large_entry_spans_slots_and_wraps_with_padding(void **state)
{
    struct ring r;
    assert_int_equal(ring_init(&r, 8, 128), 0); /* 1 KiB slab */
    struct ring_meta m = meta_n(0);
    uint8_t small[10] = {1}, big[500];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    /* fill 6 slots, free them, so the big entry (5 slots) cannot fit before the end */
    for (int i = 0; i < 6; i++)
        assert_int_equal(ring_push(&r, &m, small, sizeof small), 0);
    for (int i = 0; i < 6; i++) {
        assert_non_null(ring_peek(&r));
        ring_pop(&r);
    }
    m.recv_ms = 42;
    assert_int_equal(ring_push(&r, &m, big, sizeof big), 0);
    const struct ring_entry *e = ring_peek(&r);
    assert_non_null(e);
    assert_int_equal(e->meta.recv_ms, 42);
    assert_int_equal(e->len, sizeof big);
    assert_memory_equal(e->data, big, sizeof big);
    assert_ptr_equal((const void *)e, (const void *)r.slab); /* wrapped to slot 0 */
    ring_pop(&r);
    assert_null(ring_peek(&r));
    ring_release(&r);
}

static void test_ring_entry_larger_than_slab_is_refused(void **state)
{
    struct ring r;
    assert_int_equal(ring_init(&r, 2, 64), 0);
    struct ring_meta m = meta_n(0);
    uint8_t big[200] = {0};
    assert_int_equal(ring_push(&r, &m, big, sizeof big), BS_EMALFORMED);
    assert_int_equal(atomic_load(&r.too_big), 1);
    ring_release(&r);
    assert_int_equal(ring_init(&r, 0, 64), BS_EUSAGE);
    assert_int_equal(ring_init(&r, 2, 64), 0);
    assert_int_equal(r.nslots, 2);
    ring_release(&r);
}

static void test_ring_done_only_after_close_and_drain(void **state)
{
    struct ring r;
    assert_int_equal(ring_init(&r, 4, 128), 0);
    struct ring_meta m = meta_n(0);
    assert_int_equal(ring_push(&r, &m, "x", 1), 0);
    assert_false(ring_done(&r));
    ring_close(&r);
    assert_false(ring_done(&r)); /* one entry still queued */
    assert_non_null(ring_peek(&r));
    ring_pop(&r);
    assert_true(ring_done(&r));
    ring_release(&r);
}

/* ---- two-thread stress: every item arrives exactly once, in order ------------------- */

#define STRESS_ITEMS 200000u

struct stress {
    struct ring ring;
    struct ring_bell bell;
    uint64_t dropped; /* producer-local: pushes refused (ring full) */
};

static void *stress_producer(void *arg)
{
    struct stress *s = arg;
    uint8_t buf[300];
    for (uint32_t i = 0; i < STRESS_ITEMS; i++) {
        struct ring_meta m = meta_n(i);
        size_t len = 4 + (i * 7919u) % 290; /* varied sizes exercise spans and wrap padding */
        memcpy(buf, &i, 4);
        memset(buf + 4, (int)(i & 0xff), len - 4);
        while (ring_push(&s->ring, &m, buf, len) == BS_ELIMIT) {
            s->dropped++;
            ring_bell_ring(&s->bell);
            sched_yield();
        }
        if (i % 64 == 0)
            ring_bell_ring(&s->bell);
    }
    ring_close(&s->ring);
    ring_bell_ring(&s->bell);
    return NULL;
}

static void test_ring_two_threads_every_item_exactly_once(void **state)
{
    struct stress *s = calloc(1, sizeof *s);
    assert_non_null(s);
    assert_int_equal(ring_init(&s->ring, 64, 128), 0);
    assert_int_equal(ring_bell_init(&s->bell), 0);
    uint8_t *seen = calloc(STRESS_ITEMS, 1);
    assert_non_null(seen);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stress_producer, s), 0);
    uint32_t expect = 0;
    int bad = 0;
    for (;;) {
        const struct ring_entry *e = ring_peek(&s->ring);
        if (!e) {
            if (ring_done(&s->ring))
                break;
            ring_bell_arm(&s->bell);
            if (ring_peek(&s->ring)) {
                ring_bell_disarm(&s->bell);
                continue;
            }
            ring_bell_wait(&s->bell, 50);
            continue;
        }
        uint32_t v;
        memcpy(&v, e->data, 4);
        size_t len = 4 + (v * 7919u) % 290;
        if (v != expect || e->len != len || e->meta.recv_ms != v ||
            (len > 4 && e->data[len - 1] != (uint8_t)(v & 0xff))) {
            if (bad < 5)
                print_message("bad item: v=%u expect=%u len=%u/%zu slot=%llu\n", v, expect, e->len,
                              len, (unsigned long long)atomic_load(&s->ring.tail));
            bad++;
        }
        if (v < STRESS_ITEMS)
            seen[v]++;
        expect = v + 1;
        ring_pop(&s->ring);
    }
    pthread_join(th, NULL);
    assert_int_equal(bad, 0);
    for (uint32_t i = 0; i < STRESS_ITEMS; i++)
        if (seen[i] != 1)
            fail_msg("item %u seen %u times", i, seen[i]);
    assert_int_equal(atomic_load(&s->ring.pushed), STRESS_ITEMS);
    assert_int_equal(atomic_load(&s->ring.full_drops), s->dropped);
    free(seen);
    ring_bell_release(&s->bell);
    ring_release(&s->ring);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_push_peek_pop_in_order),
        cmocka_unit_test(test_ring_full_is_a_counted_drop),
        cmocka_unit_test(test_ring_large_entry_spans_slots_and_wraps_with_padding),
        cmocka_unit_test(test_ring_entry_larger_than_slab_is_refused),
        cmocka_unit_test(test_ring_done_only_after_close_and_drain),
        cmocka_unit_test(test_ring_two_threads_every_item_exactly_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
