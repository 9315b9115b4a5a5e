/* random.c -- a uniformly random ready member (grab bag, lottery), drawn
 * from the engine's seeded generator. */
#include "core/strategy_impl.h"

static uint32_t rnd_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    uint64_t k = lr_rng_below(ctx->rng, s->ready.count);
    return lr_bitset_select(&s->ready, (uint32_t)k);
}

const lr_strategy lr_strategy_random = {
    .name = "random", .mode = LR_MODE_ASSIGN, .pick = rnd_pick,
};
