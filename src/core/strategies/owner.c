/* owner.c -- account-based routing: the lead goes to the agent who owns
 * it. The engine finds the owner before the pick (an account matched by
 * the lead's `account` or email domain, or the agent of an open lead with
 * the same email or phone: a returning lead sticks to its owner); the
 * strategy takes the owner when the owner is a ready member here. */
#include "core/strategy_impl.h"

static uint32_t ow_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    if (ctx->owner == LR_NO_AGENT) return LR_SEG_NONE;
    uint32_t m = lr_segment_member(s, ctx->owner);     /* a preview's segment too */
    return m != LR_SEG_NONE && lr_segment_is_ready(s, m) ? m : LR_SEG_NONE;
}

const lr_strategy lr_strategy_owner = {
    .name = "owner", .mode = LR_MODE_ASSIGN, .needs = LR_NEEDS_OWNER, .pick = ow_pick,
};
