/* hugemem.h -- memory for the engine's big tables, on transparent huge pages.
 *
 * The engine keeps every lead it receives, so its lead index, its arrival
 * list and its lead records grow for as long as it runs, and each new page
 * of them is a page fault. On a virtual machine a fault costs 10 to 30 µs
 * (docs/benchmarks.md), more than a whole routing decision. A block of
 * LR_HUGE_MIN bytes or more is mapped on its own, aligned to 2 MiB and
 * marked MADV_HUGEPAGE, so the kernel can back it with 2 MiB pages: one
 * fault where there were 512. Smaller blocks come from malloc. Where the
 * kernel has no huge page to give, the block is ordinary memory: nothing
 * depends on getting them.
 *
 * The caller keeps each block's size and passes it back: the size says
 * which allocator the block came from.
 */
#ifndef LR_CORE_HUGEMEM_H
#define LR_CORE_HUGEMEM_H

#include <stddef.h>

#define LR_HUGE_MIN ((size_t)2 << 20)

/* Returns SIZE zeroed bytes, or NULL. SIZE 0 returns NULL. */
void *lr_huge_alloc(size_t size);

/* Grows or shrinks P (SIZE bytes, from lr_huge_alloc or this function) to
 * NSIZE bytes, keeping the first min(SIZE, NSIZE) and zeroing the rest.
 * Returns the block, or NULL with P untouched. */
void *lr_huge_realloc(void *p, size_t size, size_t nsize);

/* Frees P, of SIZE bytes. P NULL does nothing. */
void lr_huge_free(void *p, size_t size);

#endif
