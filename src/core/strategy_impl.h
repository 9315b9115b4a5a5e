/* strategy_impl.h -- the interface every strategy implements.
 *
 * A strategy is one file under src/core/strategies/ that fills one
 * lr_strategy and is listed in the table of strategy.c. The engine keeps,
 * for each (pool, strategy, match values, ignore_capacity), a segment: the
 * pool members that satisfy the match, in pool order, with the set of those
 * ready to take a lead (available, under capacity, under every cap). A
 * strategy only chooses among ready members; the engine commits the choice,
 * updates the counters and tells the segments.
 *
 * Strategies that rank members by a key (least_busy, ...) give a comparator:
 * the segment then keeps a heap of its ready members in that order, updated
 * when a counter changes, and the pick is the top: O(log n), not O(n).
 *
 * A strategy never reads the clock or a global random source: both are in
 * the pick context.
 */
#ifndef LR_CORE_STRATEGY_IMPL_H
#define LR_CORE_STRATEGY_IMPL_H

#include "core/segment.h"
#include "leadrouter/decision.h"
#include "leadrouter/strategy.h"

/* What the engine does with a rule's lead, by strategy. */
typedef enum lr_strategy_mode {
    LR_MODE_ASSIGN = 0,             /* pick one ready member; assign */
    LR_MODE_BROADCAST,              /* offer to every ready member; first claim wins */
    LR_MODE_QUEUE,                  /* pull: wait in the pool queue for a claim without id */
    LR_MODE_OPEN_POOL,              /* wait; any member claims it by id */
    LR_MODE_MANUAL                  /* held until an assign event */
} lr_strategy_mode;

/* What a strategy needs the engine to keep for it. */
enum {
    LR_NEEDS_RECEIVED = 1 << 0,     /* each agent's log of leads received (window) */
    LR_NEEDS_OUTCOMES = 1 << 1,     /* each agent's log of won / closed leads (window) */
    LR_NEEDS_OWNER = 1 << 2         /* the lead's owner in the pick context */
};

/* A piece of a strategy's state carried over a config change (carry.c):
 * WHO is a member of the segment, VALUE is the strategy's own. */
typedef struct lr_carry {
    uint32_t who;
    int64_t value;
} lr_carry;

struct lr_strategy {
    const char *name;
    lr_strategy_mode mode;
    unsigned needs;                 /* LR_NEEDS_* */

    /* The figures (1 << LR_FIG_*, decision.h) it ranks members by, shown
     * on the candidates of its decisions. */
    unsigned figs;

    /* Optional: rank of ready members; the segment keeps them in a heap. */
    lr_heap_cmp cmp;

    /* Optional: allocate / free per-segment state (seg->state). */
    int (*init)(lr_segment *seg);
    void (*release)(lr_segment *seg);

    /* Optional: member M joined (on) or left (!on) the ready set. */
    void (*ready)(lr_segment *seg, uint32_t m, bool on);

    /* LR_MODE_ASSIGN: returns the chosen ready member, or LR_SEG_NONE. */
    uint32_t (*pick)(lr_segment *seg, const lr_pick_ctx *ctx);

    /* Optional: member M was given the lead (rotation positions, credits). */
    void (*chosen)(lr_segment *seg, uint32_t m);

    /* Optional, with LR_FIG_CREDIT in figs: ready member M's running
     * credit as it stands (before the next pick adds its weight). */
    int64_t (*credit)(const lr_segment *seg, uint32_t m);

    /* Optional, both or neither: state worth keeping across a config
     * change. carry_out writes at most seg->n pieces to OUT and returns how
     * many; carry_in takes them back into a new segment of the same pool
     * and match (only the members it still has; it may have new ones). */
    size_t (*carry_out)(const lr_segment *seg, lr_carry *out);
    void (*carry_in)(lr_segment *seg, const lr_carry *in, size_t n);
};

#endif
