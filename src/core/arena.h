/* arena.h -- memory for objects that live as long as their owner, handed
 * out by bumping a pointer.
 *
 * The engine keeps every lead it receives until it goes (lr_lead_rt, the
 * lead and its named strings). From malloc, each new lead lands on fresh
 * heap pages, faulted in 4 KiB at a time, and on this VM a fault costs more
 * than routing the lead (docs/benchmarks.md). An arena takes chunks that
 * double from 16 KiB up to 2 MiB, the big ones on huge pages
 * (lr_huge_alloc), and hands out their bytes in order. Nothing is freed on
 * its own: lr_arena_release() frees it all; only the newest allocation can
 * be taken back (lr_arena_undo), for a caller that finds it did not need
 * it after all.
 *
 * Under AddressSanitizer the bytes no allocation owns are poisoned,
 * including a red zone after each one (asan.h).
 */
#ifndef LR_CORE_ARENA_H
#define LR_CORE_ARENA_H

#include <stddef.h>

typedef struct lr_arena_chunk lr_arena_chunk;

typedef struct lr_arena {
    char *next, *end;               /* the unused part of the newest chunk */
    char *last;                     /* the newest allocation, for lr_arena_undo */
    lr_arena_chunk *chunks;         /* owned, newest first */
    size_t nextchunk;               /* bytes of the next chunk */
} lr_arena;

/* Makes an empty arena (nothing allocated yet). */
void lr_arena_init(lr_arena *a);

/* Returns N bytes on a 16-byte boundary, or NULL when memory runs out.
 * They are zero, unless lr_arena_undo gave them back before (then they hold
 * what was written there). */
void *lr_arena_alloc(lr_arena *a, size_t n);

/* Takes back P, the newest allocation of A, of N bytes; anything else is
 * left alone (and stays allocated until the arena goes). */
void lr_arena_undo(lr_arena *a, void *p, size_t n);

/* Frees every chunk. A is left empty, as after lr_arena_init. */
void lr_arena_release(lr_arena *a);

#endif
