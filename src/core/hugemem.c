/* hugemem.c -- big blocks on transparent huge pages (see hugemem.h).
 *
 * A big block is an anonymous private mapping whose start is 2 MiB
 * aligned (the kernel can only put a huge page on an aligned 2 MiB range)
 * and whose length is rounded up to 2 MiB. It is mapped with 2 MiB to
 * spare, and the unaligned head and tail are unmapped again. Fresh
 * anonymous memory reads as zero, so no memset.
 */
#include "core/hugemem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define ALIGN LR_HUGE_MIN

static int is_big(size_t size) {
    return size >= LR_HUGE_MIN;
}

static size_t round_up(size_t size) {
    return (size + ALIGN - 1) & ~(ALIGN - 1);
}

static void *map_big(size_t size) {
    size_t len = round_up(size);
    if (len < size || len > SIZE_MAX - ALIGN) return NULL;
    char *raw = mmap(NULL, len + ALIGN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return NULL;
    char *p = (char *)(((uintptr_t)raw + ALIGN - 1) & ~(uintptr_t)(ALIGN - 1));
    size_t head = (size_t)(p - raw), tail = ALIGN - head;
    if (head) munmap(raw, head);
    if (tail) munmap(p + len, tail);
#ifdef MADV_HUGEPAGE
    madvise(p, len, MADV_HUGEPAGE);     /* advice: without it, ordinary pages */
#endif
    return p;
}

void *lr_huge_alloc(size_t size) {
    if (!size) return NULL;
    return is_big(size) ? map_big(size) : calloc(1, size);
}

void lr_huge_free(void *p, size_t size) {
    if (!p) return;
    if (is_big(size)) munmap(p, round_up(size));
    else free(p);
}

void *lr_huge_realloc(void *p, size_t size, size_t nsize) {
    if (!p) return lr_huge_alloc(nsize);
    if (!nsize) { lr_huge_free(p, size); return NULL; }
    if (!is_big(size) && !is_big(nsize)) {
        char *q = realloc(p, nsize);
        if (q && nsize > size) memset(q + size, 0, nsize - size);
        return q;
    }
    if (is_big(size) && is_big(nsize) && round_up(size) == round_up(nsize)) {
        if (nsize < size) memset((char *)p + nsize, 0, size - nsize);
        return p;
    }
    char *q = lr_huge_alloc(nsize);
    if (!q) return NULL;
    memcpy(q, p, size < nsize ? size : nsize);
    lr_huge_free(p, size);
    return q;
}
