/* timers.h -- deadlines on the engine's clock.
 *
 * A binary min-heap of (time, rank, seq, kind, a, b). The engine fires
 * every timer whose time has come before it applies an event, in time
 * order and, for equal times, agents' timers first (rank 0, when set with
 * agents_first), then in the order they were set (seq), so firing is
 * deterministic. A timer is never cancelled: when it fires the engine
 * checks whether it still matters (a cap reset for an agent whose window
 * already moved on does nothing). Push and pop cost O(log n).
 */
#ifndef LR_CORE_TIMERS_H
#define LR_CORE_TIMERS_H

#include "leadrouter/model.h"

typedef enum lr_timer_kind {
    LR_TIMER_CAP_RESET = 0,         /* a = agent index: a cap window ended */
    LR_TIMER_SCHEDULE,              /* a = agent index: a shift or absence edge */
    LR_TIMER_OFFER,                 /* a = lead (arrival index), b = its gen: an offer expires */
    LR_TIMER_SLA,                   /* a = lead, b = gen: no contact in time */
    LR_TIMER_MAX_WAIT,              /* a = lead, b = gen: waited too long in a queue */
    LR_TIMER_RECYCLE,               /* a = lead, b = gen: stalled, route it again */
    LR_TIMER_ESCALATE               /* a = lead, b = gen: nobody in the tier took it */
} lr_timer_kind;

typedef struct lr_timer {
    lr_time at;
    uint64_t seq;
    uint32_t kind;
    uint32_t a, b;
    uint32_t rank;                  /* at one instant, lower ranks first, then seq */
} lr_timer;

typedef struct lr_timers {
    lr_timer *heap;                 /* owned */
    size_t n, cap;
    uint64_t seq;
    bool agents_first;              /* timers pushed while it is set: an agent's
                                       (CAP_RESET, SCHEDULE) goes before a lead's
                                       of the same instant; else in push order */
} lr_timers;

void lr_timers_init(lr_timers *t);
void lr_timers_release(lr_timers *t);

/* Adds a timer. Returns LR_OK or LR_ENOMEM (T unchanged). */
int lr_timers_push(lr_timers *t, lr_time at, uint32_t kind, uint32_t a, uint32_t b);

/* Drops every timer of kind KIND_A or KIND_B (agent timers, when agents
 * are renumbered). */
void lr_timers_drop(lr_timers *t, uint32_t kind_a, uint32_t kind_b);

/* When the earliest timer is due at or before NOW, removes it into *out
 * and returns true; otherwise returns false. */
bool lr_timers_pop_due(lr_timers *t, lr_time now, lr_timer *out);

/* The earliest timer, or NULL when there is none (borrowed: valid until
 * the next change). */
const lr_timer *lr_timers_peek(const lr_timers *t);

/* Whether timer X is an agent's (a cap window or a schedule edge). */
static inline bool lr_timer_of_agent(const lr_timer *x) {
    return x->kind == LR_TIMER_CAP_RESET || x->kind == LR_TIMER_SCHEDULE;
}

#endif
