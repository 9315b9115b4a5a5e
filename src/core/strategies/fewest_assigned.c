/* fewest_assigned.c -- the ready member who received the fewest leads in
 * the rule's window (default 24 h); ties in pool order. Count-based
 * fairness. O(ready * log k) per pick: it reads each ready member's log. */
#include "core/strategy_impl.h"
#include "leadrouter/config.h"

static uint32_t fa_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    lr_time since = ctx->now - ctx->rule->window_ms;
    uint32_t best = LR_SEG_NONE, best_n = UINT32_MAX;
    for (uint32_t m = lr_bitset_next(&s->ready, 0); m != LR_BITSET_NONE;
         m = lr_bitset_next(&s->ready, m + 1)) {
        uint32_t n = lr_timelog_count_since(&lr_seg_agent(s, m)->received, since, NULL);
        if (n < best_n) { best = m; best_n = n; }
    }
    return best;
}

const lr_strategy lr_strategy_fewest_assigned = {
    .name = "fewest_assigned", .mode = LR_MODE_ASSIGN, .needs = LR_NEEDS_RECEIVED, .pick = fa_pick,
    .figs = 1u << LR_FIG_RECEIVED,
};
