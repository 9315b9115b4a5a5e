/* bitset.c -- hierarchical bitset with fast successor queries (see bitset.h).
 *
 * Layout: level 0 holds one bit per member of [0, n); level k+1 holds one
 * bit per word of level k. The top level is a single word, so a successor
 * query climbs at most nlevels-1 words and descends the same number: with
 * n < 2^32 that is at most 6 levels (64^6 = 2^36).
 *
 * All levels live in one calloc'd block (better locality, one failure
 * point); words[0] is the owning pointer, words[k>0] point into it.
 *
 * Invariants (checked by the unit tests):
 *   - count == popcount of level 0;
 *   - bit i of words[k+1] is set iff words[k][i] != 0;
 *   - no bit at or beyond n (or beyond nwords[k] at level k+1) is ever set,
 *     because set() only accepts i < n.
 * With n == 0 there are no levels and no memory; every query says NONE.
 */
#include "core/bitset.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Makes an empty set over [0, n). Returns LR_OK, or LR_ENOMEM with B zeroed. */
int lr_bitset_init(lr_bitset *b, uint32_t n) {
    memset(b, 0, sizeof *b);
    if (n == 0) return LR_OK;

    uint32_t nlevels = 0;
    size_t total = 0;
    uint64_t words = ((uint64_t)n + 63) / 64;
    for (;;) {
        assert(nlevels < LR_BITSET_MAXLEVELS);
        b->nwords[nlevels++] = (uint32_t)words;
        total += (size_t)words;
        if (words == 1) break;
        words = (words + 63) / 64;
    }

    uint64_t *block = calloc(total, sizeof *block);
    if (!block) {
        memset(b, 0, sizeof *b);
        return LR_ENOMEM;
    }
    size_t off = 0;
    for (uint32_t k = 0; k < nlevels; k++) {
        b->words[k] = block + off;
        off += b->nwords[k];
    }
    b->nlevels = nlevels;
    b->n = n;
    return LR_OK;
}

/* Frees the levels; B is zeroed and may be initialised again. */
void lr_bitset_release(lr_bitset *b) {
    free(b->words[0]);
    memset(b, 0, sizeof *b);
}

/* Adds I. A word that turns non-zero sets its summary bit, recursively. */
void lr_bitset_set(lr_bitset *b, uint32_t i) {
    assert(i < b->n);
    uint64_t *w = &b->words[0][i >> 6];
    uint64_t bit = 1ULL << (i & 63);
    if (*w & bit) return;
    uint64_t was = *w;
    *w = was | bit;
    b->count++;
    for (uint32_t k = 1; was == 0 && k < b->nlevels; k++) {
        i >>= 6;
        w = &b->words[k][i >> 6];
        was = *w;
        *w = was | (1ULL << (i & 63));
    }
}

/* Removes I. Only a word that turns zero clears its summary bit, recursively. */
void lr_bitset_clear(lr_bitset *b, uint32_t i) {
    assert(i < b->n);
    uint64_t *w = &b->words[0][i >> 6];
    uint64_t bit = 1ULL << (i & 63);
    if (!(*w & bit)) return;
    *w &= ~bit;
    b->count--;
    for (uint32_t k = 1; *w == 0 && k < b->nlevels; k++) {
        i >>= 6;
        w = &b->words[k][i >> 6];
        *w &= ~(1ULL << (i & 63));
    }
}

/* Returns whether I is a member; false for I >= n. */
bool lr_bitset_test(const lr_bitset *b, uint32_t i) {
    if (i >= b->n) return false;
    return (b->words[0][i >> 6] >> (i & 63)) & 1;
}

/* Climbs until some level has a set bit after the current word, then
 * descends along the lowest set bits: at most 2 * nlevels word reads. */
uint32_t lr_bitset_next(const lr_bitset *b, uint32_t from) {
    if (from >= b->n) return LR_BITSET_NONE;
    uint32_t idx = from >> 6;
    uint64_t bits = b->words[0][idx] & (~0ULL << (from & 63));
    if (bits) return (idx << 6) | (uint32_t)__builtin_ctzll(bits);

    uint32_t k = 0;
    for (;;) {
        if (++k >= b->nlevels) return LR_BITSET_NONE;
        /* At level k, look for a bit at or after idx + 1 (the words of
         * level k-1 after the one just found empty). */
        uint32_t next = idx + 1;
        idx = next >> 6;
        if (idx >= b->nwords[k]) return LR_BITSET_NONE;
        bits = b->words[k][idx] & (~0ULL << (next & 63));
        if (bits) {
            idx = (idx << 6) | (uint32_t)__builtin_ctzll(bits);
            break;
        }
    }
    while (k-- > 0)
        idx = (idx << 6) | (uint32_t)__builtin_ctzll(b->words[k][idx]);
    return idx;
}

/* Scans level-0 words with popcount, from whichever end is nearer to K:
 * O(n/128) word reads on average. */
uint32_t lr_bitset_select(const lr_bitset *b, uint32_t k) {
    if (k >= b->count) return LR_BITSET_NONE;
    const uint64_t *w = b->words[0];
    uint32_t nw = b->nwords[0];
    uint32_t i, rank;                   /* rank: k's rank within word i */
    if (k < b->count / 2) {
        rank = k;
        for (i = 0;; i++) {
            uint32_t c = (uint32_t)__builtin_popcountll(w[i]);
            if (rank < c) break;
            rank -= c;
        }
    } else {
        uint32_t from_top = b->count - 1 - k;   /* members above k */
        for (i = nw - 1;; i--) {
            uint32_t c = (uint32_t)__builtin_popcountll(w[i]);
            if (from_top < c) {
                rank = c - 1 - from_top;
                break;
            }
            from_top -= c;
        }
    }
    /* Drop the RANK lowest set bits of word i; the answer is the next. */
    uint64_t x = w[i];
    while (rank--) x &= x - 1;
    return (i << 6) | (uint32_t)__builtin_ctzll(x);
}
