/* test_heap.c -- the indexed heap against a brute-force minimum. */
#include "core/heap.h"
#include "leadrouter/error.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Orders ids by key, then by id: a total order, so the top is unique. */
static int by_key_then_id(uint32_t a, uint32_t b, const void *ctx) {
    const int *key = ctx;
    if (key[a] != key[b]) return key[a] < key[b] ? -1 : 1;
    return (a > b) - (a < b);
}

/* Returns the id in[] holds with the smallest (key, id), or LR_HEAP_NONE. */
static uint32_t brute_min(const bool *in, const int *key, uint32_t nids) {
    uint32_t best = LR_HEAP_NONE;
    for (uint32_t i = 0; i < nids; i++)
        if (in[i] && (best == LR_HEAP_NONE || by_key_then_id(i, best, key) < 0)) best = i;
    return best;
}

/* Checks pos/items agreement, membership against IN, and heap order.
 * Returns false (after reporting) on the first violation. */
static bool check_heap(const lr_heap *h, const bool *in, const int *key) {
    uint32_t members = 0;
    for (uint32_t id = 0; id < h->nids; id++) {
        members += in[id];
        if (lr_heap_contains(h, id) != in[id]) {
            TEST_FAIL_("contains(%u) = %d, want %d", id, lr_heap_contains(h, id), in[id]);
            return false;
        }
        if (h->pos[id] && (h->pos[id] > h->n || h->items[h->pos[id] - 1] != id)) {
            TEST_FAIL_("pos[%u] = %u does not point back", id, h->pos[id]);
            return false;
        }
    }
    if (h->n != members) {
        TEST_FAIL_("n = %u, want %u", h->n, members);
        return false;
    }
    for (uint32_t i = 0; i < h->n; i++) {
        if (h->pos[h->items[i]] != i + 1) {
            TEST_FAIL_("pos[items[%u]] = %u", i, h->pos[h->items[i]]);
            return false;
        }
        if (i > 0 && by_key_then_id(h->items[(i - 1) / 2], h->items[i], key) > 0) {
            TEST_FAIL_("heap order broken at %u", i);
            return false;
        }
    }
    uint32_t want = brute_min(in, key, h->nids);
    if (lr_heap_top(h) != want) {
        TEST_FAIL_("top = %u, want %u", lr_heap_top(h), want);
        return false;
    }
    return true;
}

/* Random push/remove/update/pop over NIDS ids with keys in [0, KEYS):
 * a small key range makes ties (and so the id tie-break) common. */
static void random_run(uint32_t nids, uint32_t ops, int keys, uint64_t seed) {
    int *key = calloc(nids ? nids : 1, sizeof *key);
    bool *in = calloc(nids ? nids : 1, sizeof *in);
    uint64_t s = seed;
    for (uint32_t i = 0; i < nids; i++) key[i] = (int)(xorshift(&s) % (uint64_t)keys);
    lr_heap h;
    CHECK_EQ_INT(lr_heap_init(&h, nids, by_key_then_id, key), LR_OK);
    for (uint32_t op = 0; nids && op < ops; op++) {
        uint32_t id = (uint32_t)(xorshift(&s) % nids);
        switch (xorshift(&s) % 6) {
        case 0:
        case 1:
            lr_heap_push(&h, id);
            in[id] = true;
            break;
        case 2:
            lr_heap_remove(&h, id);
            in[id] = false;
            break;
        case 3:
        case 4:                     /* the key changes whether or not id is in */
            key[id] = (int)(xorshift(&s) % (uint64_t)keys);
            lr_heap_update(&h, id);
            break;
        default: {
            uint32_t want = brute_min(in, key, nids);
            uint32_t got = lr_heap_pop(&h);
            if (got != want) {
                TEST_FAIL_("op %u: pop = %u, want %u", op, got, want);
                op = ops;
            }
            if (want != LR_HEAP_NONE) in[want] = false;
        }
        }
        if (!check_heap(&h, in, key)) {
            printf("  after op %u (nids %u, seed %llu)\n", op, nids, (unsigned long long)seed);
            break;
        }
    }
    /* Drain: pops come out in (key, id) order and leave pos all zero. */
    uint32_t prev = LR_HEAP_NONE, id;
    while ((id = lr_heap_pop(&h)) != LR_HEAP_NONE) {
        if (prev != LR_HEAP_NONE) CHECK(by_key_then_id(prev, id, key) < 0);
        CHECK(in[id]);
        in[id] = false;
        prev = id;
    }
    check_heap(&h, in, key);
    lr_heap_release(&h);
    free(key);
    free(in);
}

TEST(heap_with_no_ids_is_empty) {
    lr_heap h;
    CHECK_EQ_INT(lr_heap_init(&h, 0, by_key_then_id, NULL), LR_OK);
    CHECK_EQ_INT(lr_heap_top(&h), LR_HEAP_NONE);
    CHECK_EQ_INT(lr_heap_pop(&h), LR_HEAP_NONE);
    CHECK(!lr_heap_contains(&h, 0));
    lr_heap_remove(&h, 0);          /* absent: no-op */
    lr_heap_update(&h, 0);
    lr_heap_release(&h);
    lr_heap_release(&h);            /* a zeroed heap is accepted */
}

TEST(heap_push_present_and_remove_absent_are_noops) {
    int key[4] = {5, 3, 9, 3};
    lr_heap h;
    CHECK_EQ_INT(lr_heap_init(&h, 4, by_key_then_id, key), LR_OK);
    lr_heap_push(&h, 0);
    lr_heap_push(&h, 0);
    CHECK_EQ_INT(h.n, 1);
    lr_heap_remove(&h, 2);
    CHECK_EQ_INT(h.n, 1);
    CHECK(!lr_heap_contains(&h, 4));    /* out of range */
    lr_heap_remove(&h, 0);
    CHECK_EQ_INT(h.n, 0);
    CHECK_EQ_INT(h.pos[0], 0);
    CHECK_EQ_INT(lr_heap_top(&h), LR_HEAP_NONE);
    lr_heap_release(&h);
}

TEST(heap_top_breaks_ties_with_comparator) {
    int key[4] = {5, 3, 9, 3};
    lr_heap h;
    CHECK_EQ_INT(lr_heap_init(&h, 4, by_key_then_id, key), LR_OK);
    for (uint32_t id = 4; id-- > 0;) lr_heap_push(&h, id);
    CHECK_EQ_INT(lr_heap_top(&h), 1);   /* key 3, and 1 < 3 */
    CHECK_EQ_INT(lr_heap_pop(&h), 1);
    CHECK_EQ_INT(lr_heap_pop(&h), 3);
    CHECK_EQ_INT(lr_heap_pop(&h), 0);
    CHECK_EQ_INT(lr_heap_pop(&h), 2);
    CHECK_EQ_INT(lr_heap_pop(&h), LR_HEAP_NONE);
    lr_heap_release(&h);
}

TEST(heap_update_moves_member_up_and_down) {
    int key[5] = {10, 20, 30, 40, 50};
    bool in[5] = {true, true, true, true, true};
    lr_heap h;
    CHECK_EQ_INT(lr_heap_init(&h, 5, by_key_then_id, key), LR_OK);
    for (uint32_t id = 0; id < 5; id++) lr_heap_push(&h, id);
    key[4] = 1;                     /* a leaf becomes the minimum */
    lr_heap_update(&h, 4);
    CHECK_EQ_INT(lr_heap_top(&h), 4);
    CHECK(check_heap(&h, in, key));
    key[4] = 99;                    /* the root becomes the maximum */
    lr_heap_update(&h, 4);
    CHECK_EQ_INT(lr_heap_top(&h), 0);
    CHECK(check_heap(&h, in, key));
    key[2] = 5;                     /* a middle member */
    lr_heap_update(&h, 2);
    CHECK_EQ_INT(lr_heap_top(&h), 2);
    CHECK(check_heap(&h, in, key));
    lr_heap_release(&h);
}

TEST(heap_remove_refills_slot_with_last_sifting_up) {
    /* Remove from one subtree a member whose replacement (the last item,
     * from the other subtree) is smaller than the removed one's parent. */
    int key[7] = {0, 10, 1, 11, 12, 2, 3};
    bool in[7] = {true, true, true, true, true, true, true};
    lr_heap h;
    CHECK_EQ_INT(lr_heap_init(&h, 7, by_key_then_id, key), LR_OK);
    for (uint32_t id = 0; id < 7; id++) lr_heap_push(&h, id);
    /* items: 0 | 1 2 | 3 4 5 6: removing 3 (child of 1) brings in 6 (key
     * 3), which must climb above 1 (key 10). */
    CHECK_EQ_INT(h.items[3], 3);
    CHECK_EQ_INT(h.items[6], 6);
    lr_heap_remove(&h, 3);
    in[3] = false;
    CHECK_EQ_INT(h.items[1], 6);
    CHECK(check_heap(&h, in, key));
    lr_heap_release(&h);
}

TEST(heap_random_ops_match_brute_force_min) {
    random_run(1, 500, 3, 1);
    random_run(2, 2000, 3, 2);
    random_run(17, 20000, 5, 3);
    random_run(300, 20000, 10, 4);
    random_run(300, 20000, 1000000, 5);
    random_run(2000, 5000, 50, 6);
}

int main(void) {
    RUN(heap_with_no_ids_is_empty);
    RUN(heap_push_present_and_remove_absent_are_noops);
    RUN(heap_top_breaks_ties_with_comparator);
    RUN(heap_update_moves_member_up_and_down);
    RUN(heap_remove_refills_slot_with_last_sifting_up);
    RUN(heap_random_ops_match_brute_force_min);
    return test_report();
}
