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

/* A replay: the events' decisions go nowhere, so their explanations
 * (why.candidates, a walk through the pool) are not built. Everything
 * building one leaves behind is (the pool's part for the lead's match
 * values, looked up or made): the engine ends in the state it would
 * have with explanations. */
void lr_engine_set_replaying(lr_engine *eng, bool on);

/* Counters for summaries and tests. */
typedef struct lr_engine_stats {
    uint64_t leads;                 /* leads received */
    uint64_t decisions[LR_ACTION__COUNT];
    uint64_t open;                  /* leads assigned and not closed */
    uint64_t waiting;               /* queued, held or offered now (under a rule: as the
                                       server's queues count them) */
    uint64_t unrouted;              /* unrouted now (no rule took them) */
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

/* ---- for the server --------------------------------------------------- */

/* The state of lead ID ("assigned", "waiting", ... as in the lead life
 * cycle) and its agent (NULL when none); both static or owned by the
 * engine's config. Returns LR_ENOENT for an unknown id. */
int lr_engine_lead_info(const lr_engine *eng, const char *id, const char **state,
                        const char **agent);

/* Whether agent AGENT may see lead ID: it is assigned or offered to them,
 * or waits in a queue or open pool they belong to. */
bool lr_engine_lead_visible(const lr_engine *eng, const char *id, const char *agent);

/* Whether lead ID is assigned to agent AGENT now: the only leads an agent
 * may report progress on or release. */
bool lr_engine_lead_held(const lr_engine *eng, const char *id, const char *agent);

/* The time of the engine's next deadline (a cap window ending), or
 * LR_TIME_NONE. A `tick` at or after it fires it. */
lr_time lr_engine_next_deadline(const lr_engine *eng);

/* The decisions LEAD (borrowed) would get now, handed to CB, without
 * changing anything: no assignment, no rotation, no queue, no random draw
 * used up. Returns LR_OK or LR_ENOMEM. */
int lr_engine_preview(lr_engine *eng, const lr_lead *lead, lr_decision_cb cb, void *ud);

/* lr_engine_reconfigure's FLAGS. */
enum {
    /* Keep rotation positions and weighted round-robin credits: each
     * segment of the same pool (by name), strategy and match values goes
     * on from where it was, for the agents still in it. Without it they
     * start afresh, as config changes journaled before it existed did. */
    LR_RECONF_CARRY = 1u << 0,
    /* An agent whose time zone changes keeps the leads counted in its
     * hour, day, week and month windows: a count still current in the old
     * zone's window goes on in the new zone's window of the change's time
     * (lr_agent_rezone). Without it the old window's start was read in the
     * new zone, which could end it at once and forget the leads, as
     * config changes journaled before it existed did. */
    LR_RECONF_ZONE_WINDOWS = 1u << 1,
    /* A config that brings in the owner strategy (none had it before)
     * indexes the open leads by email and phone for it; without it the
     * index was empty or stale (kept only while an owner rule existed), as
     * config changes journaled before it existed left it. */
    LR_RECONF_OWNER_INDEX = 1u << 2,
    /* A lead waiting or held under a rule whose strategy now works another
     * way (a pull queue become round robin or broadcast, an open pool
     * become manual, manual become round robin) is routed again, with
     * why.reason rule_changed, and a held lead whose rule is gone with
     * rule_removed; without it such a lead stayed in a queue nothing took
     * it from (a held one with no rule, out of every count of waiting
     * leads), as config changes journaled before it existed left it. */
    LR_RECONF_MODE_CHANGE = 1u << 3,
    /* With LR_RECONF_ZONE_WINDOWS: an offer made before the change and
     * ended unaccepted after it is taken back from the count carried into
     * the new zone (it stayed counted when a window edge of the new zone
     * fell between the offer and the change), as config changes journaled
     * before it existed left it. */
    LR_RECONF_ZONE_OFFERS = 1u << 4,
    /* Leads routed again by the change go in the order they arrived,
     * with the leads that wait still: before each is routed, the waiting
     * leads that come before it in their pool's queue order (in a fifo
     * pool: that arrived before it) go out to agents who can take them (a
     * config that raises a capacity and turns a pull queue into round
     * robin gives the freed slot to the oldest lead of a fifo pool).
     * Without it every lead routed again went first, then the waiting
     * ones, as config changes journaled before it existed did. */
    LR_RECONF_REROUTE_ORDER = 1u << 5,
    /* An agent a config change removes is kept aside with its status,
     * counters, cap windows, histories and the leads it declined or let
     * expire; a later config that has it again (by id) gives it all back,
     * as if it had never left (its open leads went to others when it was
     * removed). Without it an agent added back started afresh, as config
     * changes journaled before it existed did. */
    LR_RECONF_KEEP_GONE = 1u << 6,
    /* what a config change does now */
    LR_RECONF_NOW = LR_RECONF_CARRY | LR_RECONF_ZONE_WINDOWS | LR_RECONF_OWNER_INDEX |
                    LR_RECONF_MODE_CHANGE | LR_RECONF_ZONE_OFFERS | LR_RECONF_REROUTE_ORDER |
                    LR_RECONF_KEEP_GONE
};

/* Behaviours of earlier versions, kept to replay journals written by them
 * as they were made (lr_engine_set_legacy; none by default). */
enum {
    /* A lead queued by a fallback while a ready member may take it (its
     * offers ran out before every member had one) waits for a member to
     * become ready, instead of going out after the event. */
    LR_LEGACY_QUEUE_WAITS = 1u << 0,
    /* escalate_after counts from each offer or queueing in the tier, not
     * from the lead's entry into the tier (a lead whose offers kept coming
     * widened late or never), and a broadcast that every agent declined
     * is routed again from the first rule (back to the first tier, a
     * fallback's decision saying no_eligible_agent) instead of going to
     * its rule's fallback as one that expired. */
    LR_LEGACY_TIER_CLOCK = 1u << 1,
    /* A claim without a lead id, by an agent in pull pools of different
     * orders, compared each pool's head with the best so far in that
     * pool's own order (so which pool's lead went out depended on the
     * order the agent's pools got their first leads), instead of taking,
     * of the best lead of each order, the one that arrived first. */
    LR_LEGACY_PULL_ORDER = 1u << 2,
    /* max_no_answer counted a broadcast that expired against every agent
     * it was still offered to, and only an accept started the counts
     * again; now only offers to one agent count, and a decline (of any
     * offer) starts them again as an accept does. */
    LR_LEGACY_NO_ANSWER = 1u << 3,
    /* Timers due at one instant fired in the order they were set, and
     * waiting leads went out after each: a lead's deadline (an offer's
     * timeout, an SLA, a recycling) could be routed before an agent's
     * shift end or cap window of the same instant (a lead given to an
     * agent just off shift), and the leads waiting for several agents
     * coming back at one instant all went to the first of them. Now the
     * agents' changes of an instant come first, all of them, then the
     * waiting leads go out, then the leads' deadlines. */
    LR_LEGACY_TIMER_ORDER = 1u << 4,
    /* A decline of a lead assigned to the agent (released, routed again)
     * did not start its max_no_answer counts again, as a decline of an
     * offer did: an agent who had just answered could be set away at the
     * next expiry. */
    LR_LEGACY_DECLINE_ANSWER = 1u << 5,
    /* A catch-up tick (a server's start after a stop) let the waiting
     * leads go out to the agents as they were at the tick before it fired
     * the leads' deadlines that had passed: a lead whose max_wait ran out
     * while its pool's agents were away or capped was assigned to one
     * back at the start instead of expiring. Now the deadlines fire
     * first. */
    LR_LEGACY_CATCH_UP_ORDER = 1u << 6,
    /* An offer that expired while the server was stopped (fired by a
     * catch-up tick) counted for its agent's max_no_answer: an outage set
     * away every agent who held an offer. Now it counts for no one (with
     * LR_LEGACY_CATCH_UP_ORDER never cleared before it: its mark is
     * older). */
    LR_LEGACY_CATCH_UP_ANSWER = 1u << 7
};
void lr_engine_set_legacy(lr_engine *e, unsigned flags);

/* Switches to CFG (borrowed; the old config may be freed once this returns
 * LR_OK). Agents are matched by id and keep their status, open leads and
 * counters; leads keep their state, their rule by name. Leads of agents
 * that are gone, and waiting leads whose rule is gone, are routed again
 * (decisions to CB). Rotation positions and credits as FLAGS say. Returns
 * LR_OK, or LR_ENOMEM with the engine still on the old config. */
int lr_engine_reconfigure(lr_engine *eng, const lr_config *cfg, unsigned flags, lr_decision_cb cb,
                          void *ud);

/* Agent AGENT's summary as a JSON object appended to OUT:
 * {"id","name","status","open","capacity","weight","assigned","won","closed",
 *  "window":{"hour":N,...}}. Returns LR_ENOENT for an unknown agent. */
int lr_engine_agent_json(const lr_engine *eng, const char *agent, lr_buf *out);

/* The leads agent AGENT may claim by id or accept now, oldest first: those
 * waiting in its open_pool pools (that it did not decline or release
 * before) and those offered to it (a broadcast, or an offer to it alone).
 * Whether the agent may take a lead now (status, capacity, caps) is not
 * asked. Calls CB with the first LIMIT ids (a non-zero return stops and is
 * returned) and sets *TOTAL to how many there are. Returns LR_OK,
 * LR_ENOENT for an unknown agent, or LR_ENOMEM. */
typedef int (*lr_lead_id_cb)(const char *lead, void *ud);
int lr_engine_claimable(const lr_engine *eng, const char *agent, size_t limit, lr_lead_id_cb cb,
                        void *ud, size_t *total);

/* The leads waiting now under a rule (queued, held, offered) per pool of
 * the config, in its order: WAITING[p] how many, AGE[p] the age in ms of
 * the oldest by its received_at (-1: none waits; 0 for a received_at
 * later than now). Both arrays hold the config's npools. */
void lr_engine_queue_depths(const lr_engine *eng, uint64_t *waiting, int64_t *age);

/* The same as JSON: appends {"POOL":{"waiting":N,"oldest_ms":N|null},...}
 * to OUT. */
int lr_engine_queues_json(const lr_engine *eng, lr_buf *out);

#endif
