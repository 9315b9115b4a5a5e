/* slab.c -- fixed-size records from big chunks (see slab.h).
 *
 * A chunk starts with its header (the link to the older chunk and its own
 * size), then records, each on a 16-byte boundary. Records are handed out
 * from the newest chunk's unused tail; a new chunk is taken when the tail
 * cannot hold one more.
 *
 * Under AddressSanitizer the memory no record owns is poisoned: the unused
 * tail, the free list's records, and a 16-byte red zone after each record,
 * so the sanitizer still reports an overflow into the next record and a
 * use after free, as it would for records from malloc.
 */
#include "core/slab.h"
#include "core/hugemem.h"

#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define LR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LR_ASAN 1
#endif
#endif

#ifdef LR_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE 16
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define REDZONE 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define FIRST_CHUNK ((size_t)16 << 10)

struct lr_slab_chunk {
    lr_slab_chunk *older;
    size_t size;
    _Alignas(16) char data[];
};

void lr_slab_init(lr_slab *s, size_t size) {
    memset(s, 0, sizeof *s);
    if (size < sizeof(void *)) size = sizeof(void *);
    s->size = (size + 15) & ~(size_t)15;
    s->nextchunk = FIRST_CHUNK;
}

/* Takes a new chunk (its records zero, as lr_huge_alloc gives them).
 * Returns 1, or 0 when memory runs out. */
static int grow(lr_slab *s) {
    size_t size = s->nextchunk;
    while (size < sizeof(lr_slab_chunk) + s->size + REDZONE) size *= 2;
    lr_slab_chunk *c = lr_huge_alloc(size);
    if (!c) return 0;
    c->older = s->chunks;
    c->size = size;
    s->chunks = c;
    s->next = c->data;
    s->end = (char *)c + size;
    POISON(s->next, (size_t)(s->end - s->next));
    if (s->nextchunk < LR_HUGE_MIN) s->nextchunk *= 2;
    return 1;
}

void *lr_slab_alloc(lr_slab *s) {
    void *p = s->free;
    if (p) {
        UNPOISON(p, s->size);
        s->free = *(void **)p;
        memset(p, 0, s->size);
        return p;
    }
    if ((size_t)(s->end - s->next) < s->size + REDZONE && !grow(s)) return NULL;
    p = s->next;
    s->next += s->size + REDZONE;
    UNPOISON(p, s->size);
    return p;                       /* a fresh chunk's memory is zero */
}

void lr_slab_free(lr_slab *s, void *p) {
    if (!p) return;
    *(void **)p = s->free;
    s->free = p;
    POISON(p, s->size);
}

void lr_slab_release(lr_slab *s) {
    lr_slab_chunk *c = s->chunks;
    while (c) {
        lr_slab_chunk *older = c->older;
        size_t size = c->size;
        UNPOISON(c, size);
        lr_huge_free(c, size);
        c = older;
    }
    lr_slab_init(s, s->size);
}
