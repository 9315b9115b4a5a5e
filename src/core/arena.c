/* arena.c -- bump allocation from big chunks (see arena.h).
 *
 * A chunk starts with its header (the link to the older chunk and its own
 * size), then the allocations, each on a 16-byte boundary and followed, under
 * AddressSanitizer, by a poisoned red zone. An allocation that does not fit
 * in the newest chunk's tail takes a new chunk, at least twice its size;
 * the old tail is left unused.
 */
#include "core/arena.h"
#include "core/asan.h"
#include "core/hugemem.h"

#include <string.h>

#define FIRST_CHUNK ((size_t)16 << 10)

struct lr_arena_chunk {
    lr_arena_chunk *older;
    size_t size;
    _Alignas(16) char data[];
};

void lr_arena_init(lr_arena *a) {
    memset(a, 0, sizeof *a);
    a->nextchunk = FIRST_CHUNK;
}

static size_t span(size_t n) {
    return ((n + 15) & ~(size_t)15) + REDZONE;
}

/* Takes a chunk with room for N bytes. Returns 1, or 0 out of memory. */
static int grow(lr_arena *a, size_t n) {
    size_t size = a->nextchunk;
    while (size < sizeof(lr_arena_chunk) + 2 * span(n)) size *= 2;
    lr_arena_chunk *c = lr_huge_alloc(size);
    if (!c) return 0;
    c->older = a->chunks;
    c->size = size;
    a->chunks = c;
    a->next = c->data;
    a->end = (char *)c + size;
    POISON(a->next, (size_t)(a->end - a->next));
    if (a->nextchunk < LR_HUGE_MIN) a->nextchunk *= 2;
    return 1;
}

void *lr_arena_alloc(lr_arena *a, size_t n) {
    if (n == 0) n = 1;
    if (n > ((size_t)-1) / 4) return NULL;
    if ((size_t)(a->end - a->next) < span(n) && !grow(a, n)) return NULL;
    char *p = a->next;
    a->next += span(n);
    a->last = p;
    UNPOISON(p, n);
    return p;
}

void lr_arena_undo(lr_arena *a, void *p, size_t n) {
    if (!p || p != a->last) return;
    if (n == 0) n = 1;
    a->next = a->last;
    a->last = NULL;
    POISON(p, span(n));
}

void lr_arena_release(lr_arena *a) {
    lr_arena_chunk *c = a->chunks;
    while (c) {
        lr_arena_chunk *older = c->older;
        size_t size = c->size;
        UNPOISON(c, size);
        lr_huge_free(c, size);
        c = older;
    }
    lr_arena_init(a);
}
