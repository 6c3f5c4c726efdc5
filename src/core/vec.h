/* vec.h - a growable array with overflow-checked growth and a cap.
 *
 * One implementation of the "double the array when full" pattern: elements of a fixed size
 * (esize bytes) in one heap block; growth doubles the capacity (from `first` elements), the
 * byte size is checked for overflow, and the element count never passes `max` (a push beyond
 * it fails with BS_ELIMIT and leaves the array as it was), so input cannot grow an array
 * without bound. Typed use goes through the macros: VEC_PUSH(&v, struct x, &rc) checks that
 * the type has the size the vec was made for, VEC_AT(&v, struct x, i) indexes.
 *
 * Invariants: n <= cap <= max; data is NULL exactly when cap is 0.
 *
 * Ownership: the vec owns data (vec_release frees it). Pointers into data stay valid until
 * the next push or reserve that grows it.
 */
#ifndef BS_CORE_VEC_H
#define BS_CORE_VEC_H

#include <stddef.h>

struct vec {
    void *data;
    size_t n;     /* elements in use */
    size_t cap;   /* elements allocated */
    size_t esize; /* bytes per element */
    size_t first; /* capacity of the first allocation */
    size_t max;   /* cap on n */
};

/* Prepares an empty vec (no allocation until the first push or reserve). first 0 means 16. */
void vec_init(struct vec *v, size_t esize, size_t first, size_t max);
/* Frees the elements; v is empty and reusable with the same sizes. */
void vec_release(struct vec *v);
/* Makes room for n elements in total (a push up to n cannot fail). Returns 0, BS_ELIMIT
 * (n > max) or BS_ENOMEM (allocation failed or the byte size overflows). */
int vec_reserve(struct vec *v, size_t n);
/* Appends one element and returns it (not initialised: the caller fills it), or NULL with
 * *rc = BS_ELIMIT, BS_ENOMEM or -EINVAL (esize is not the vec's element size). */
void *vec_push(struct vec *v, size_t esize, int *rc);

/* The same growth for an array kept as a bare pointer and capacity (hot tables indexed
 * directly, such as the detector's): room for n elements of esize bytes in *data (capacity
 * *cap, from `first` doubling, never past max). Returns 0, BS_ELIMIT or BS_ENOMEM; on an error
 * *data and *cap are unchanged. */
int vec_grow_raw(void **data, size_t *cap, size_t n, size_t esize, size_t first, size_t max);

#define VEC_PUSH(v, type, rc) ((type *)vec_push((v), sizeof(type), (rc)))
#define VEC_AT(v, type, i)    ((type *)(v)->data + (i))

#endif
