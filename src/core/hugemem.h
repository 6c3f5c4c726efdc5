/* hugemem.h - large blocks in transparent huge pages where the kernel allows them.
 *
 * A table probed at random (a hash table of millions of entries, an array indexed by client)
 * takes a TLB miss on nearly every probe when it lives in 4 KiB pages, and in a virtual machine
 * each miss walks two levels of page tables. Debian's kernels give huge pages only to memory
 * that asks (transparent_hugepage=madvise), so blocks of HUGEMEM_MIN bytes or more are aligned
 * to 2 MiB and marked MADV_HUGEPAGE: one TLB entry then covers 512 times as much. Smaller blocks
 * are plain malloc. Where the kernel refuses, the block is ordinary memory: same behaviour.
 *
 * Ownership: every block, huge or not, is released with free().
 */
#ifndef BS_CORE_HUGEMEM_H
#define BS_CORE_HUGEMEM_H

#include <stddef.h>

#define HUGEMEM_PAGE ((size_t)2 << 20)
/* (One huge page: a table probed at random is worth one as soon as it fills one, as detect's
 * IPv4 client table of 2 MiB does; a block just past it wastes at most one page's rounding.) */
#define HUGEMEM_MIN ((size_t)2 << 20)

/* size bytes (not initialised), or NULL. */
void *hugemem_alloc(size_t size);
/* n * size bytes set to zero, or NULL (also when the product overflows). */
void *hugemem_calloc(size_t n, size_t size);

#endif
