/* longest_idle.c -- the ready member whose last lead is the oldest (never
 * having had one counts as the oldest); ties in pool order. The classic
 * hunt group. Heap-ordered: O(log n). */
#include "core/strategy_impl.h"

static int li_cmp(uint32_t x, uint32_t y, const void *ctx) {
    const lr_segment *s = ctx;
    const lr_agent_rt *a = lr_seg_agent(s, x), *b = lr_seg_agent(s, y);
    if (a->last_assigned != b->last_assigned) return a->last_assigned < b->last_assigned ? -1 : 1;
    return x < y ? -1 : x > y;
}

const lr_strategy lr_strategy_longest_idle = {
    .name = "longest_idle", .mode = LR_MODE_ASSIGN, .cmp = li_cmp,
    .figs = 1u << LR_FIG_IDLE_MS,
};
