/* heap.h -- an indexed binary heap of small integer ids [0, nids).
 *
 * The engine keeps, per pool segment, the ready members ordered by the
 * strategy's key (fewest open leads, longest idle, ...). Keys live outside
 * the heap; the comparator reads them through CTX. When a member's key
 * changes the caller says so with lr_heap_update(), which re-sifts it in
 * O(log n). All memory is allocated at init: push never fails.
 *
 * Invariant: pos[items[i]] == i + 1 for i < n; pos[id] == 0 for ids not in
 * the heap; cmp(items[parent], items[child]) <= 0.
 */
#ifndef LR_CORE_HEAP_H
#define LR_CORE_HEAP_H

#include <stdbool.h>
#include <stdint.h>

#define LR_HEAP_NONE UINT32_MAX

/* Returns < 0 when A must come out before B, > 0 after, 0 when equal.
 * For a deterministic top the comparator should break ties itself. */
typedef int (*lr_heap_cmp)(uint32_t a, uint32_t b, const void *ctx);

typedef struct lr_heap {
    uint32_t *items;                /* owned; heap order */
    uint32_t *pos;                  /* owned; index + 1, 0 when absent */
    uint32_t n;
    uint32_t nids;
    lr_heap_cmp cmp;
    const void *ctx;                /* borrowed */
} lr_heap;

/* Returns LR_OK or LR_ENOMEM (H zeroed). */
int lr_heap_init(lr_heap *h, uint32_t nids, lr_heap_cmp cmp, const void *ctx);
void lr_heap_release(lr_heap *h);           /* accepts a zeroed heap */

void lr_heap_push(lr_heap *h, uint32_t id);     /* no-op when present */
void lr_heap_remove(lr_heap *h, uint32_t id);   /* no-op when absent */
void lr_heap_update(lr_heap *h, uint32_t id);   /* key changed; no-op when absent */
bool lr_heap_contains(const lr_heap *h, uint32_t id);
uint32_t lr_heap_top(const lr_heap *h);         /* LR_HEAP_NONE when empty */
uint32_t lr_heap_pop(lr_heap *h);               /* LR_HEAP_NONE when empty */

#endif
