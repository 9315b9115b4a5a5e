/* top_down.c -- the first ready member in pool order: priority tiers
 * written as the pool's order. O(log64 n) per pick. */
#include "core/strategy_impl.h"

static uint32_t td_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    (void)ctx;
    return lr_bitset_next(&s->ready, 0);
}

const lr_strategy lr_strategy_top_down = {
    .name = "top_down", .mode = LR_MODE_ASSIGN, .pick = td_pick,
};
