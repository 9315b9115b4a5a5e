/* least_busy.c -- the ready member with the fewest open leads; ties go to
 * the longest idle, then pool order. The segment keeps its ready members
 * in a heap in this order: O(log n) per decision. */
#include "core/strategy_impl.h"

static int lb_cmp(uint32_t x, uint32_t y, const void *ctx) {
    const lr_segment *s = ctx;
    const lr_agent_rt *a = lr_seg_agent(s, x), *b = lr_seg_agent(s, y);
    if (a->open != b->open) return a->open < b->open ? -1 : 1;
    if (a->last_assigned != b->last_assigned) return a->last_assigned < b->last_assigned ? -1 : 1;
    return x < y ? -1 : x > y;
}

const lr_strategy lr_strategy_least_busy = {
    .name = "least_busy", .mode = LR_MODE_ASSIGN, .cmp = lb_cmp,
    .figs = 1u << LR_FIG_OPEN | 1u << LR_FIG_IDLE_MS,
};
