/* slab.h -- many records of one size, carved from big chunks.
 *
 * The engine makes one lr_lead_rt per lead and keeps it until the engine
 * goes: a malloc each would spread them over the heap and fault a fresh
 * page in every thirty. A slab hands them out in order from chunks that
 * double from 16 KiB up to 2 MiB (lr_huge_alloc: the 2 MiB ones are on
 * huge pages where the kernel has them). A freed record goes on a free
 * list and is handed out again first.
 *
 * Under AddressSanitizer the bytes between and around the records are
 * poisoned (slab.c), so overflows and uses after free are still caught.
 */
#ifndef LR_CORE_SLAB_H
#define LR_CORE_SLAB_H

#include <stddef.h>

typedef struct lr_slab_chunk lr_slab_chunk;

typedef struct lr_slab {
    size_t size;                /* of a record, rounded up to 16 bytes */
    char *next, *end;           /* the unused part of the newest chunk */
    void *free;                 /* freed records, linked through their first bytes */
    lr_slab_chunk *chunks;      /* owned, newest first */
    size_t nextchunk;           /* bytes of the next chunk */
} lr_slab;

/* Makes an empty slab of records of SIZE bytes (nothing allocated yet). */
void lr_slab_init(lr_slab *s, size_t size);

/* Returns a zeroed record, or NULL when memory runs out. */
void *lr_slab_alloc(lr_slab *s);

/* Gives back P, a record of S (NULL does nothing). */
void lr_slab_free(lr_slab *s, void *p);

/* Frees every chunk: every record of S is gone. S is left empty, as after
 * lr_slab_init. */
void lr_slab_release(lr_slab *s);

#endif
