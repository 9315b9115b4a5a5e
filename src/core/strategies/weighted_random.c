/* weighted_random.c -- a random ready member, each drawn with probability
 * weight / total weight of the ready members. O(ready) per pick. */
#include "core/strategy_impl.h"

static uint32_t wr_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    uint64_t total = 0;
    for (uint32_t m = lr_bitset_next(&s->ready, 0); m != LR_BITSET_NONE;
         m = lr_bitset_next(&s->ready, m + 1))
        total += lr_seg_agent(s, m)->conf->weight;
    uint64_t r = lr_rng_below(ctx->rng, total);
    for (uint32_t m = lr_bitset_next(&s->ready, 0); m != LR_BITSET_NONE;
         m = lr_bitset_next(&s->ready, m + 1)) {
        uint32_t w = lr_seg_agent(s, m)->conf->weight;
        if (r < w) return m;
        r -= w;
    }
    return LR_SEG_NONE;     /* not reached: r < total */
}

const lr_strategy lr_strategy_weighted_random = {
    .name = "weighted_random", .mode = LR_MODE_ASSIGN, .pick = wr_pick,
    .figs = 1u << LR_FIG_WEIGHT,
};
