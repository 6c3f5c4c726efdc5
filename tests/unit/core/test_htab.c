/* test_htab.c - the core hash table against a sorted reference: inserts, finds, iteration,
 * growth across many doublings, the cap, and keys that differ only in their last byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/htab.h"

struct key19 {
    uint8_t b[19]; /* an odd size: an address, a port and a protocol */
};

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void mkkey(struct key19 *k, uint64_t i)
{
    memset(k, 0, sizeof *k);
    memcpy(k->b + 11, &i, 8); /* differ only at the end: the prefix is all zero */
}

static void test_htab_insert_find_iterate_through_growth(void **state)
{
    (void)state;
    struct htab t;
    htab_init(&t, sizeof(struct key19), sizeof(uint64_t), 1000000, 42);
    const size_t n = 200000;
    struct key19 k;
    int rc = 0;
    bool is_new;
    for (uint64_t i = 0; i < n; i++) {
        mkkey(&k, i * 7919);
        uint64_t *v = htab_put(&t, &k, &is_new, &rc);
        assert_non_null(v);
        assert_true(is_new);
        assert_int_equal(*v, 0); /* new values start zeroed */
        *v = i + 1;
    }
    assert_int_equal(t.n, n);
    for (uint64_t i = 0; i < n; i++) { /* a second put finds, does not insert */
        mkkey(&k, i * 7919);
        uint64_t *v = htab_put(&t, &k, &is_new, &rc);
        assert_false(is_new);
        assert_int_equal(*v, i + 1);
    }
    for (uint64_t i = 0; i < 1000; i++) { /* absent keys */
        mkkey(&k, (rnd() % n) * 7919 + 1);
        assert_null(htab_find(&t, &k));
        assert_null(htab_find_h(&t, &k, htab_hash(&t, &k)));
    }
    for (uint64_t i = 0; i < n; i += 97) { /* a find with the hash computed ahead */
        mkkey(&k, i * 7919);
        uint64_t *v = htab_find_h(&t, &k, htab_hash(&t, &k));
        assert_non_null(v);
        assert_int_equal(*v, i + 1);
        assert_ptr_equal(v, htab_find(&t, &k));
    }
    uint8_t *seen = calloc(n, 1);
    size_t it = 0, visits = 0;
    const void *key;
    void *val;
    while ((it = htab_next(&t, it, &key, &val))) {
        uint64_t v = *(uint64_t *)val;
        assert_true(v >= 1 && v <= n);
        assert_int_equal(seen[v - 1], 0);
        seen[v - 1] = 1;
        mkkey(&k, (v - 1) * 7919);
        assert_memory_equal(key, &k, sizeof k);
        visits++;
    }
    assert_int_equal(visits, n);
    free(seen);
    htab_release(&t);
    assert_null(htab_find(&t, &k));
}

static void test_htab_cap_refuses_and_keeps_table(void **state)
{
    (void)state;
    struct htab t;
    htab_init(&t, 8, 0, 100, 7);
    int rc = 0;
    bool is_new;
    for (uint64_t i = 1; i <= 100; i++)
        assert_non_null(htab_put(&t, &i, &is_new, &rc));
    uint64_t extra = 101;
    assert_null(htab_put(&t, &extra, &is_new, &rc));
    assert_int_equal(rc, BS_ELIMIT);
    assert_int_equal(t.n, 100);
    uint64_t old = 50; /* present keys are still found at the cap */
    assert_non_null(htab_put(&t, &old, &is_new, &rc));
    assert_false(is_new);
    assert_null(htab_find(&t, &extra));
    assert_int_equal(htab_reserve(&t, 101), BS_ELIMIT);
    htab_release(&t);
}

/* Random puts and deletes against a reference array, in a small key space so that runs wrap
 * around the end of the slot array and deletions meet long runs. */
static void test_htab_delete_keeps_every_other_key_findable(void **state)
{
    (void)state;
    enum { SPACE = 3000, OPS = 200000 };
    struct htab t;
    htab_init(&t, sizeof(struct key19), sizeof(uint64_t), SPACE, 99);
    uint64_t *ref = calloc(SPACE, sizeof *ref); /* 0: absent, else the value */
    size_t n = 0;
    struct key19 k;
    int rc = 0;
    bool is_new;
    for (int op = 0; op < OPS; op++) {
        uint64_t i = rnd() % SPACE;
        mkkey(&k, i);
        if (rnd() % 3) {
            uint64_t *v = htab_put(&t, &k, &is_new, &rc);
            assert_non_null(v);
            assert_int_equal(is_new, ref[i] == 0);
            if (is_new)
                n++;
            *v = ref[i] = (uint64_t)op + 1;
        } else {
            uint64_t got = 0;
            assert_int_equal(htab_del(&t, &k, &got), ref[i] != 0);
            assert_int_equal(got, ref[i]);
            if (ref[i])
                n--;
            ref[i] = 0;
        }
        assert_int_equal(t.n, n);
        if (op % 997 == 0) /* every key where the reference says */
            for (uint64_t x = 0; x < SPACE; x++) {
                mkkey(&k, x);
                uint64_t *v = htab_find(&t, &k);
                if (ref[x]) {
                    assert_non_null(v);
                    assert_int_equal(*v, ref[x]);
                } else {
                    assert_null(v);
                }
            }
    }
    for (uint64_t x = 0; x < SPACE; x++) { /* delete all: the table is empty again */
        mkkey(&k, x);
        assert_int_equal(htab_del(&t, &k, NULL), ref[x] != 0);
    }
    assert_int_equal(t.n, 0);
    assert_int_equal(htab_next(&t, 0, NULL, NULL), 0);
    assert_false(htab_del(&t, &k, NULL));
    free(ref);
    htab_release(&t);
}

/* 4-byte keys (IPv4 addresses) compare as one word: keys differing in any one byte are
 * distinct. */
static void test_htab_four_byte_keys(void **state)
{
    (void)state;
    struct htab t;
    htab_init(&t, 4, 4, 1000, 5);
    int rc = 0;
    bool is_new;
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t k = 0x0a000001u ^ (0x80u << (8 * i)), *v = htab_put(&t, &k, &is_new, &rc);
        assert_true(is_new);
        *v = i + 1;
    }
    uint32_t base = 0x0a000001u;
    assert_null(htab_find(&t, &base));
    for (uint32_t i = 0; i < 4; i++) {
        uint32_t k = 0x0a000001u ^ (0x80u << (8 * i)), *v = htab_find(&t, &k);
        assert_non_null(v);
        assert_int_equal(*v, i + 1);
    }
    htab_release(&t);
}

/* A table keyed by hashes: each key sits where its own value says (its low bits), through
 * growth and deletion; keys that share their low bits (one probe run) stay apart. */
static void test_htab_prehashed(void **state)
{
    (void)state;
    struct htab t;
    htab_init_prehashed(&t, sizeof(uint32_t), 100000);
    assert_int_equal(t.ksize, 8);
    int rc = 0;
    bool is_new;
    enum { N = 5000 };
    for (uint32_t i = 0; i < N; i++) {
        /* Half of them in one run: the same low 16 bits, top bits apart. */
        uint64_t k = i % 2 ? hash_mix64(i) : (uint64_t)i << 40 | 0x1234;
        assert_int_equal(htab_hash(&t, &k), k);
        uint32_t *v = htab_put(&t, &k, &is_new, &rc);
        assert_non_null(v);
        assert_true(is_new);
        *v = i;
    }
    assert_int_equal(t.n, N);
    for (uint32_t i = 0; i < N; i++) {
        uint64_t k = i % 2 ? hash_mix64(i) : (uint64_t)i << 40 | 0x1234;
        uint32_t *v = htab_find(&t, &k);
        assert_non_null(v);
        assert_int_equal(*v, i);
        if (i % 3 == 0)
            assert_true(htab_del(&t, &k, NULL));
    }
    for (uint32_t i = 0; i < N; i++) {
        uint64_t k = i % 2 ? hash_mix64(i) : (uint64_t)i << 40 | 0x1234;
        uint32_t *v = htab_find(&t, &k);
        assert_ptr_equal(htab_find_prehashed(&t, k), v);
        if (i % 3 == 0) {
            assert_null(v);
        } else {
            assert_non_null(v);
            assert_int_equal(*v, i);
        }
    }
    uint64_t absent = (uint64_t)(N + 1) << 40 | 0x1234;
    assert_null(htab_find(&t, &absent));
    assert_null(htab_find_prehashed(&t, absent));
    htab_release(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_htab_insert_find_iterate_through_growth),
        cmocka_unit_test(test_htab_cap_refuses_and_keeps_table),
        cmocka_unit_test(test_htab_delete_keeps_every_other_key_findable),
        cmocka_unit_test(test_htab_four_byte_keys),
        cmocka_unit_test(test_htab_prehashed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
