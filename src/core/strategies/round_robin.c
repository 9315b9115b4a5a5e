/* round_robin.c -- in turn, in pool order, skipping members who are not
 * ready. The position is kept per segment (per pool and match values: CA
 * leads rotate among the CA agents). O(log64 n) per pick. A config change
 * carries the position over: the rotation goes on with the first agent,
 * from the one whose turn it was, who is still in the segment. */
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <stdlib.h>

typedef struct rr_state { uint32_t next; } rr_state;

static int rr_init(lr_segment *s) {
    s->state = calloc(1, sizeof(rr_state));
    return s->state ? LR_OK : LR_ENOMEM;
}

static void rr_release(lr_segment *s) { free(s->state); s->state = NULL; }

static uint32_t rr_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    (void)ctx;
    const rr_state *st = s->state;
    uint32_t m = lr_bitset_next(&s->ready, st->next);
    return m != LR_BITSET_NONE ? m : lr_bitset_next(&s->ready, 0);
}

static void rr_chosen(lr_segment *s, uint32_t m) {
    rr_state *st = s->state;
    st->next = m + 1;
}

/* Every member, by how many turns away it is (0: its turn now). */
static size_t rr_carry_out(const lr_segment *s, lr_carry *out) {
    const rr_state *st = s->state;
    for (uint32_t i = 0; i < s->n; i++) out[i] = (lr_carry){ (st->next + i) % s->n, i };
    return s->n;
}

static void rr_carry_in(lr_segment *s, const lr_carry *in, size_t n) {
    rr_state *st = s->state;
    int64_t best = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        if (in[i].value < best) {
            best = in[i].value;
            st->next = in[i].who;
        }
    }
}

const lr_strategy lr_strategy_round_robin = {
    .name = "round_robin", .mode = LR_MODE_ASSIGN,
    .init = rr_init, .release = rr_release, .pick = rr_pick, .chosen = rr_chosen,
    .carry_out = rr_carry_out, .carry_in = rr_carry_in,
};
