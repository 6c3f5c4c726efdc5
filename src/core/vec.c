/* vec.c - growable array with a cap (see vec.h). */
#include "core/vec.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/hugemem.h"

void vec_init(struct vec *v, size_t esize, size_t first, size_t max)
{
    v->data = NULL;
    v->n = v->cap = 0;
    v->esize = esize;
    v->first = first ? first : 16;
    v->max = max;
}

void vec_release(struct vec *v)
{
    free(v->data);
    v->data = NULL;
    v->n = v->cap = 0;
}

int vec_grow_raw(void **data, size_t *cap, size_t n, size_t esize, size_t first, size_t max)
{
    if (n <= *cap)
        return 0;
    if (n > max)
        return BS_ELIMIT;
    size_t want = *cap ? *cap : (first ? first : 16);
    while (want < n)
        want = want > SIZE_MAX / 2 ? SIZE_MAX : want * 2;
    if (want > max)
        want = max;
    size_t bytes;
    if (__builtin_mul_overflow(want, esize, &bytes))
        return BS_ENOMEM;
    void *d;
    if (bytes < HUGEMEM_MIN) {
        d = realloc(*data, bytes);
    } else {
        /* Big arrays (tables indexed at random) move into huge pages (hugemem.h); what was in
         * use moves with them. */
        if ((d = hugemem_alloc(bytes)) && *data)
            memcpy(d, *data, *cap * esize);
        if (d)
            free(*data);
    }
    if (!d)
        return BS_ENOMEM;
    *data = d;
    *cap = want;
    return 0;
}

int vec_reserve(struct vec *v, size_t n)
{
    return vec_grow_raw(&v->data, &v->cap, n, v->esize, v->first, v->max);
}

void *vec_push(struct vec *v, size_t esize, int *rc)
{
    if (esize != v->esize) {
        *rc = -EINVAL;
        return NULL;
    }
    if (v->n == v->cap && (*rc = vec_reserve(v, v->n + 1)))
        return NULL;
    return (char *)v->data + v->n++ * v->esize;
}
