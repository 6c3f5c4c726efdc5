/* hugemem.c - large blocks in transparent huge pages (see hugemem.h). */
#include "core/hugemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

void *hugemem_alloc(size_t size)
{
    if (size < HUGEMEM_MIN)
        return malloc(size ? size : 1);
    if (size > SIZE_MAX - HUGEMEM_PAGE)
        return NULL;
    size_t round = (size + HUGEMEM_PAGE - 1) & ~(HUGEMEM_PAGE - 1);
    void *p = aligned_alloc(HUGEMEM_PAGE, round);
    if (p)
        (void)madvise(p, round, MADV_HUGEPAGE); /* advice only: refused, it is still memory */
    return p;
}

void *hugemem_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (n * size < HUGEMEM_MIN)
        return calloc(n ? n : 1, size ? size : 1);
    void *p = hugemem_alloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}
