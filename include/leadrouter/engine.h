/* engine.h -- the routing engine: a deterministic state machine.
 *
 * One thread applies events in order. Given the same config, the same
 * events, the same start time and the same seed, the engine makes the same
 * decisions: it never reads the clock or a global random source, and does
 * no I/O. Each applied event yields zero or more decisions, handed to a
 * callback in order.
 */
#ifndef LEADROUTER_ENGINE_H
#define LEADROUTER_ENGINE_H

#include "leadrouter/config.h"
#include "leadrouter/decision.h"
#include "leadrouter/event.h"

typedef struct lr_engine lr_engine;

typedef struct lr_engine_opts {
    uint64_t seed;                  /* random strategies; default 0 */
    lr_time start;                  /* the clock until an event gives a time */
    bool explain;                   /* fill why.candidates; default true */
} lr_engine_opts;

/* Called once per decision, in order; D and all it points to are valid only
 * during the call. A non-zero return stops nothing (the engine's state has
 * already moved); it is passed back by lr_engine_apply(). */
typedef int (*lr_decision_cb)(const lr_decision *d, void *ud);

/* Creates an engine routing by CFG, which is borrowed and must outlive the
 * engine. Returns LR_OK and sets *out, or LR_ENOMEM. */
int lr_engine_create(const lr_config *cfg, const lr_engine_opts *opts,
                     lr_engine **out);

void lr_engine_destroy(lr_engine *eng);     /* accepts NULL */

/* Applies EV. For LR_EV_LEAD the engine takes ownership of ev->lead (and
 * sets it to NULL in EV), whatever the result. Returns LR_OK, LR_ENOMEM
 * (state unchanged), or the first non-zero value returned by CB. An event
 * the engine refuses (unknown lead or agent, duplicate lead id, a claim that
 * loses) is not an error: it yields a `rejected` or `claim_refused`
 * decision that says why. */
int lr_engine_apply(lr_engine *eng, lr_event *ev, lr_decision_cb cb, void *ud);

/* The engine's clock (the latest time it has seen). */
lr_time lr_engine_now(const lr_engine *eng);

void lr_engine_set_explain(lr_engine *eng, bool on);

/* Counters for summaries and tests. */
typedef struct lr_engine_stats {
    uint64_t leads;                 /* leads received */
    uint64_t decisions[LR_ACTION__COUNT];
    uint64_t open;                  /* leads assigned and not closed */
    uint64_t waiting;               /* queued, held, offered or unrouted now */
} lr_engine_stats;

void lr_engine_get_stats(const lr_engine *eng, lr_engine_stats *out);

/* An agent's live counters, for summaries and tests. Returns LR_ENOENT for
 * an unknown id. */
typedef struct lr_agent_stats {
    lr_agent_status status;
    uint32_t open;
    uint64_t assigned;              /* leads ever assigned */
    uint64_t won, closed;
    uint32_t window[LR_CAP__COUNT]; /* leads in the current cap windows */
} lr_agent_stats;

int lr_engine_agent_stats(const lr_engine *eng, const char *agent_id,
                          lr_agent_stats *out);

#endif
