/* test_vec.c - the core growable array: pushes through many doublings keep every element,
 * the cap refuses and leaves the array unchanged (both sides of it), reserve, a wrong element
 * size, and a byte size that would overflow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/hugemem.h"
#include "core/vec.h"

struct item {
    uint64_t a;
    uint32_t b;
};

static void test_vec_push_keeps_elements_through_growth(void **state)
{
    (void)state;
    struct vec v;
    vec_init(&v, sizeof(struct item), 4, 1000000);
    int rc = 0;
    for (uint32_t i = 0; i < 100000; i++) {
        struct item *it = VEC_PUSH(&v, struct item, &rc);
        assert_non_null(it);
        it->a = (uint64_t)i * 3;
        it->b = i;
        assert_true(v.n <= v.cap);
    }
    assert_int_equal(v.n, 100000);
    assert_int_equal(v.cap, 131072); /* 4 doubled 15 times */
    for (uint32_t i = 0; i < 100000; i++) {
        assert_int_equal(VEC_AT(&v, struct item, i)->a, (uint64_t)i * 3);
        assert_int_equal(VEC_AT(&v, struct item, i)->b, i);
    }
    vec_release(&v);
    assert_null(v.data);
    assert_int_equal(v.n, 0);
    assert_non_null(VEC_PUSH(&v, struct item, &rc)); /* reusable after release */
    vec_release(&v);
}

static void test_vec_cap_refuses_and_keeps_array(void **state)
{
    (void)state;
    struct vec v;
    vec_init(&v, sizeof(uint32_t), 0, 100);
    int rc = 0;
    for (uint32_t i = 0; i < 100; i++) {
        uint32_t *x = VEC_PUSH(&v, uint32_t, &rc);
        assert_non_null(x); /* the 100th (at the cap) still fits */
        *x = i;
    }
    assert_int_equal(v.cap, 100); /* growth stops at the cap, not at 128 */
    assert_null(VEC_PUSH(&v, uint32_t, &rc));
    assert_int_equal(rc, BS_ELIMIT);
    assert_int_equal(v.n, 100);
    assert_int_equal(*VEC_AT(&v, uint32_t, 99), 99);
    assert_int_equal(vec_reserve(&v, 101), BS_ELIMIT);
    assert_int_equal(vec_reserve(&v, 100), 0);
    vec_release(&v);
}

static void test_vec_reserve_then_push_does_not_move(void **state)
{
    (void)state;
    struct vec v;
    vec_init(&v, 8, 16, 10000);
    assert_int_equal(vec_reserve(&v, 5000), 0);
    assert_true(v.cap >= 5000);
    int rc = 0;
    void *first = vec_push(&v, 8, &rc);
    for (int i = 1; i < 5000; i++)
        assert_non_null(vec_push(&v, 8, &rc));
    assert_ptr_equal(v.data, first);
    vec_release(&v);
}

static void test_vec_wrong_size_and_overflow(void **state)
{
    (void)state;
    struct vec v;
    vec_init(&v, sizeof(uint64_t), 0, 10);
    int rc = 0;
    assert_null(VEC_PUSH(&v, uint32_t, &rc)); /* the vec holds 8-byte elements */
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(v.n, 0);
    vec_release(&v);
    /* elements so large that the byte size of the first allocation overflows size_t */
    vec_init(&v, SIZE_MAX / 4, 8, SIZE_MAX);
    assert_int_equal(vec_reserve(&v, 5), BS_ENOMEM);
    assert_null(v.data);
    assert_int_equal(v.cap, 0);
    vec_release(&v);
}

/* A bare pointer and capacity grow the vec's way: doubling from `first`, capped, unchanged on
 * an error. */
static void test_vec_grow_raw(void **state)
{
    (void)state;
    uint32_t *a = NULL;
    size_t cap = 0;
    assert_int_equal(vec_grow_raw((void **)&a, &cap, 1, sizeof *a, 4, 100), 0);
    assert_int_equal(cap, 4);
    for (uint32_t i = 0; i < 4; i++)
        a[i] = i;
    assert_int_equal(vec_grow_raw((void **)&a, &cap, 4, sizeof *a, 4, 100), 0); /* fits */
    assert_int_equal(cap, 4);
    assert_int_equal(vec_grow_raw((void **)&a, &cap, 9, sizeof *a, 4, 100), 0);
    assert_int_equal(cap, 16);
    for (uint32_t i = 0; i < 4; i++)
        assert_int_equal(a[i], i); /* kept through the move */
    assert_int_equal(vec_grow_raw((void **)&a, &cap, 90, sizeof *a, 4, 100), 0);
    assert_int_equal(cap, 100); /* doubling stops at the cap */
    uint32_t *before = a;
    assert_int_equal(vec_grow_raw((void **)&a, &cap, 101, sizeof *a, 4, 100), BS_ELIMIT);
    assert_ptr_equal(a, before);
    assert_int_equal(cap, 100);
    free(a);
    void *big = NULL;
    cap = 0;
    assert_int_equal(vec_grow_raw(&big, &cap, 5, SIZE_MAX / 4, 8, SIZE_MAX), BS_ENOMEM);
    assert_null(big);
    assert_int_equal(cap, 0);
}

/* Small blocks are plain ones; big ones start on a 2 MiB boundary (huge pages); calloc's are
 * zero; an overflowing product is refused; free() releases both. */
static void test_hugemem(void **state)
{
    (void)state;
    unsigned char *small = hugemem_calloc(100, 3);
    assert_non_null(small);
    for (size_t i = 0; i < 300; i++)
        assert_int_equal(small[i], 0);
    free(small);
    size_t n = HUGEMEM_MIN + 12345;
    unsigned char *big = hugemem_calloc(n, 1);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % HUGEMEM_PAGE, 0);
    for (size_t i = 0; i < n; i += 4093)
        assert_int_equal(big[i], 0);
    assert_int_equal(big[n - 1], 0);
    big[n - 1] = 7; /* the whole size is usable */
    free(big);
    void *raw = hugemem_alloc(HUGEMEM_MIN);
    assert_non_null(raw);
    assert_int_equal((uintptr_t)raw % HUGEMEM_PAGE, 0);
    free(raw);
    assert_null(hugemem_calloc(SIZE_MAX / 2, 3));
    assert_null(hugemem_alloc(SIZE_MAX - 5));
}

/* An array that grows past HUGEMEM_MIN moves into a huge-page block with its elements. */
static void test_vec_grow_raw_into_huge_pages(void **state)
{
    (void)state;
    uint64_t *a = NULL;
    size_t cap = 0, n = HUGEMEM_MIN / sizeof *a + 1000;
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(vec_grow_raw((void **)&a, &cap, i + 1, sizeof *a, 16, SIZE_MAX), 0);
        a[i] = i * 2654435761u;
    }
    assert_true(cap >= n);
    assert_int_equal((uintptr_t)a % HUGEMEM_PAGE, 0);
    for (size_t i = 0; i < n; i++)
        assert_true(a[i] == i * 2654435761u);
    free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vec_push_keeps_elements_through_growth),
        cmocka_unit_test(test_vec_cap_refuses_and_keeps_array),
        cmocka_unit_test(test_vec_reserve_then_push_does_not_move),
        cmocka_unit_test(test_vec_wrong_size_and_overflow),
        cmocka_unit_test(test_vec_grow_raw),
        cmocka_unit_test(test_hugemem),
        cmocka_unit_test(test_vec_grow_raw_into_huge_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
