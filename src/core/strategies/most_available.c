/* most_available.c -- the ready member with the most free capacity
 * (capacity - open leads; unlimited capacity counts as the most); ties go
 * to the longest idle, then pool order. Heap-ordered: O(log n). */
#include "core/strategy_impl.h"

static int64_t free_capacity(const lr_agent_rt *a) {
    return a->conf->capacity < 0 ? INT64_MAX : a->conf->capacity - (int64_t)a->open;
}

static int ma_cmp(uint32_t x, uint32_t y, const void *ctx) {
    const lr_segment *s = ctx;
    const lr_agent_rt *a = lr_seg_agent(s, x), *b = lr_seg_agent(s, y);
    int64_t fa = free_capacity(a), fb = free_capacity(b);
    if (fa != fb) return fa > fb ? -1 : 1;
    if (a->last_assigned != b->last_assigned) return a->last_assigned < b->last_assigned ? -1 : 1;
    return x < y ? -1 : x > y;
}

const lr_strategy lr_strategy_most_available = {
    .name = "most_available", .mode = LR_MODE_ASSIGN, .cmp = ma_cmp,
    .figs = 1u << LR_FIG_OPEN | 1u << LR_FIG_CAPACITY | 1u << LR_FIG_IDLE_MS,
};
