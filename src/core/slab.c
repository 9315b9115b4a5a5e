/* slab.c -- fixed-size records from an arena (see slab.h).
 *
 * New records come from the arena, on 16-byte boundaries; the arena's
 * memory is zero until handed out, so a new record is zero, and a reused
 * one is zeroed here. Under AddressSanitizer the arena poisons what no
 * record owns (its unused tail, a red zone after each record) and the slab
 * poisons the records on its free list, so the sanitizer still reports an
 * overflow into the next record and a use after free, as it would for
 * records from malloc.
 */
#include "core/slab.h"
#include "core/asan.h"

#include <string.h>

void lr_slab_init(lr_slab *s, size_t size) {
    memset(s, 0, sizeof *s);
    if (size < sizeof(void *)) size = sizeof(void *);
    s->size = (size + 15) & ~(size_t)15;
    lr_arena_init(&s->mem);
}

void *lr_slab_alloc(lr_slab *s) {
    void *p = s->free;
    if (p) {
        UNPOISON(p, s->size);
        s->free = *(void **)p;
        memset(p, 0, s->size);
        return p;
    }
    return lr_arena_alloc(&s->mem, s->size);    /* never handed out: still zero */
}

void lr_slab_free(lr_slab *s, void *p) {
    if (!p) return;
    *(void **)p = s->free;
    s->free = p;
    POISON(p, s->size);
}

void lr_slab_release(lr_slab *s) {
    lr_arena_release(&s->mem);
    lr_slab_init(s, s->size);
}
