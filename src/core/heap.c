/* heap.c -- indexed binary min-heap of ids [0, nids) (see heap.h).
 *
 * items[0 .. n) is a binary heap under cmp; pos[id] is id's index in items
 * plus one, 0 when absent, so membership and "where is id" are O(1) and any
 * id can be re-sifted or removed in O(log n). Both arrays are sized nids at
 * init, so no operation after init allocates or fails.
 *
 * Sifts move a hole rather than swapping: each level costs one comparison
 * and one store to items and pos.
 */
#include "core/heap.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Returns LR_OK, or LR_ENOMEM with H zeroed. CTX is borrowed and must
 * outlive the heap. With nids == 0 nothing is allocated. */
int lr_heap_init(lr_heap *h, uint32_t nids, lr_heap_cmp cmp, const void *ctx) {
    memset(h, 0, sizeof *h);
    if (nids > 0) {
        h->items = calloc(nids, sizeof *h->items);
        h->pos = calloc(nids, sizeof *h->pos);
        if (!h->items || !h->pos) {
            free(h->items);
            free(h->pos);
            memset(h, 0, sizeof *h);
            return LR_ENOMEM;
        }
    }
    h->nids = nids;
    h->cmp = cmp;
    h->ctx = ctx;
    return LR_OK;
}

/* Frees both arrays; H is zeroed. */
void lr_heap_release(lr_heap *h) {
    free(h->items);
    free(h->pos);
    memset(h, 0, sizeof *h);
}

/* Moves ID, whose slot is index I, towards the root while it beats its
 * parent, and stores it where it stops. Returns the final index. */
static uint32_t sift_up(lr_heap *h, uint32_t i, uint32_t id) {
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        uint32_t p = h->items[parent];
        if (h->cmp(id, p, h->ctx) >= 0) break;
        h->items[i] = p;
        h->pos[p] = i + 1;
        i = parent;
    }
    h->items[i] = id;
    h->pos[id] = i + 1;
    return i;
}

/* Moves ID, whose slot is index I, towards the leaves while a child beats
 * it, and stores it where it stops. */
static void sift_down(lr_heap *h, uint32_t i, uint32_t id) {
    uint32_t n = h->n;
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= n) break;
        uint32_t cid = h->items[c];
        if (c + 1 < n) {
            uint32_t rid = h->items[c + 1];
            if (h->cmp(rid, cid, h->ctx) < 0) {
                c++;
                cid = rid;
            }
        }
        if (h->cmp(cid, id, h->ctx) >= 0) break;
        h->items[i] = cid;
        h->pos[cid] = i + 1;
        i = c;
    }
    h->items[i] = id;
    h->pos[id] = i + 1;
}

/* Re-sifts ID, which sits at index I: up if it beats its parent, else down. */
static void resift(lr_heap *h, uint32_t i, uint32_t id) {
    if (sift_up(h, i, id) == i) sift_down(h, i, id);
}

/* Inserts ID (< nids); no-op when present. Never fails. */
void lr_heap_push(lr_heap *h, uint32_t id) {
    assert(id < h->nids);
    if (h->pos[id]) return;
    sift_up(h, h->n++, id);
}

/* Removes ID: the last item fills its slot and is re-sifted either way. */
void lr_heap_remove(lr_heap *h, uint32_t id) {
    if (id >= h->nids || !h->pos[id]) return;
    uint32_t i = h->pos[id] - 1;
    h->pos[id] = 0;
    uint32_t last = h->items[--h->n];
    if (i < h->n) resift(h, i, last);
}

/* Restores order after ID's key changed; no-op when absent. */
void lr_heap_update(lr_heap *h, uint32_t id) {
    if (id >= h->nids || !h->pos[id]) return;
    resift(h, h->pos[id] - 1, id);
}

bool lr_heap_contains(const lr_heap *h, uint32_t id) {
    return id < h->nids && h->pos[id] != 0;
}

/* Returns the first id in cmp order, or LR_HEAP_NONE; the heap is unchanged. */
uint32_t lr_heap_top(const lr_heap *h) {
    return h->n ? h->items[0] : LR_HEAP_NONE;
}

/* Removes and returns the first id in cmp order, or LR_HEAP_NONE. */
uint32_t lr_heap_pop(lr_heap *h) {
    if (!h->n) return LR_HEAP_NONE;
    uint32_t top = h->items[0];
    h->pos[top] = 0;
    uint32_t last = h->items[--h->n];
    if (h->n) sift_down(h, 0, last);
    return top;
}
