/* top_producer.c -- the ready member with the highest won / closed ratio
 * over the rule's window (default 30 days). A member with fewer than
 * min_sample closed leads in the window has not proven a ratio yet and is
 * ranked at the segment's overall ratio, so newcomers neither starve nor
 * jump the queue. Ties in pool order. Ratios compare as exact fractions.
 * O(members * log k) per pick. */
#include "core/strategy_impl.h"
#include "leadrouter/config.h"

static uint32_t tp_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    lr_time since = ctx->now - ctx->rule->window_ms;
    uint64_t all_won = 0, all_closed = 0;
    for (uint32_t m = 0; m < s->n; m++) {
        uint32_t won;
        all_closed += lr_timelog_count_since(&lr_seg_agent(s, m)->outcomes, since, &won);
        all_won += won;
    }
    uint32_t best = LR_SEG_NONE;
    uint64_t bw = 0, bc = 1;                /* best ratio bw/bc */
    for (uint32_t m = lr_bitset_next(&s->ready, 0); m != LR_BITSET_NONE;
         m = lr_bitset_next(&s->ready, m + 1)) {
        uint32_t won;
        uint64_t closed = lr_timelog_count_since(&lr_seg_agent(s, m)->outcomes, since, &won);
        uint64_t w = won, c = closed;
        if (closed < ctx->rule->min_sample) { w = all_won; c = all_closed; }
        if (c == 0) { w = 0; c = 1; }
        if (best == LR_SEG_NONE || w * bc > bw * c) { best = m; bw = w; bc = c; }
    }
    return best;
}

const lr_strategy lr_strategy_top_producer = {
    .name = "top_producer", .mode = LR_MODE_ASSIGN, .needs = LR_NEEDS_OUTCOMES, .pick = tp_pick,
    .figs = 1u << LR_FIG_WON | 1u << LR_FIG_CLOSED | 1u << LR_FIG_BELOW_MIN_SAMPLE,
};
