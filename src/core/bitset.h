/* bitset.h -- a set of small integers [0, n) with fast successor queries.
 *
 * The engine keeps, per pool segment, the members that are ready to take a
 * lead. Round robin needs "the first ready member at or after position p",
 * top_down "the first ready member", random "the k-th ready member". A flat
 * bitset makes the successor O(n/64); this one stacks summary levels (bit
 * i of a word at level k+1 says whether word i at level k is non-zero), so
 * a successor costs O(log64 n) word operations whatever the density.
 *
 * Invariant: count == number of set bits at level 0; a summary bit is set
 * iff the word below it is non-zero.
 */
#ifndef LR_CORE_BITSET_H
#define LR_CORE_BITSET_H

#include <stdbool.h>
#include <stdint.h>

#define LR_BITSET_NONE UINT32_MAX
#define LR_BITSET_MAXLEVELS 6

typedef struct lr_bitset {
    uint64_t *words[LR_BITSET_MAXLEVELS];   /* owned; level 0 is the set itself */
    uint32_t nwords[LR_BITSET_MAXLEVELS];
    uint32_t nlevels;
    uint32_t n;                             /* universe size */
    uint32_t count;                         /* members in the set */
} lr_bitset;

/* Makes an empty set over [0, n). Returns LR_OK or LR_ENOMEM (B zeroed). */
int lr_bitset_init(lr_bitset *b, uint32_t n);
void lr_bitset_release(lr_bitset *b);       /* accepts a zeroed set */

void lr_bitset_set(lr_bitset *b, uint32_t i);      /* i < n; idempotent */
void lr_bitset_clear(lr_bitset *b, uint32_t i);    /* i < n; idempotent */
bool lr_bitset_test(const lr_bitset *b, uint32_t i);

/* Returns the smallest member >= from, or LR_BITSET_NONE. FROM may be >= n. */
uint32_t lr_bitset_next(const lr_bitset *b, uint32_t from);

/* Returns the k-th smallest member (k < count), or LR_BITSET_NONE. */
uint32_t lr_bitset_select(const lr_bitset *b, uint32_t k);

#endif
