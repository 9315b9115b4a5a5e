/* lead_rt.h -- a lead's life inside the engine.
 *
 * States and the moves between them (every other move is refused with a
 * decision that says why):
 *
 *   NEW       -> ASSIGNED   a strategy chose an agent (assigned)
 *             -> OFFERED    broadcast to every eligible agent (offered)
 *             -> WAITING    pull queue, open pool, or fallback: queue (queued)
 *             -> HELD       manual, or fallback: hold (held)
 *             -> UNROUTED   no rule could route it (unrouted)
 *   OFFERED   -> ASSIGNED   the first claim or accept wins (claimed; an offer
 *                           to one agent is accepted: assigned)
 *             -> NEW        declined by all or expired (offer.timeout): the
 *                           next attempt, or the rule's fallback
 *   WAITING   -> ASSIGNED   a claim (claimed) or capacity freed (assigned)
 *   HELD, UNROUTED -> ASSIGNED  an admin's assign event (assigned)
 *   ASSIGNED  -> NEW        released or declined by its agent, or qualified
 *                           (warm-up hand-off): routed again
 *   any but CLOSED -> CLOSED    won, lost or disqualified (closed)
 *   any but CLOSED -> ASSIGNED  an admin's assign event (assigned)
 *
 * NEW is transient: a lead is never left in it after an event.
 *
 * Slots: l->agent is set exactly when the lead holds a slot of that agent
 * (counted in its open leads): ASSIGNED, or OFFERED to that one agent by a
 * rule with an offer stage (the slot is reserved while the offer runs).
 */
#ifndef LR_CORE_LEAD_RT_H
#define LR_CORE_LEAD_RT_H

#include "leadrouter/model.h"

#define LR_LEAD_STATE_MAP(X) \
    X(NEW, "new") X(ASSIGNED, "assigned") X(OFFERED, "offered") \
    X(WAITING, "waiting") X(HELD, "held") X(UNROUTED, "unrouted") X(CLOSED, "closed")
typedef enum lr_lead_state {
#define LR_LS_ENUM(e, s) LR_LEAD_##e,
    LR_LEAD_STATE_MAP(LR_LS_ENUM)
#undef LR_LS_ENUM
    LR_LEAD__COUNT
} lr_lead_state;
extern const char *const lr_lead_state_names[LR_LEAD__COUNT];

#define LR_NO_AGENT UINT32_MAX
#define LR_NO_RULE UINT32_MAX

/* An entry of lr_lead_rt.excl: the agent's number in the low 28 bits, why
 * it is out of the running for the lead (an lr_skip for which
 * lr_skip_is_history() holds) in the high 4. */
#define LR_EXCL_AGENT_BITS 28
#define LR_EXCL_AGENT_MAX ((1u << LR_EXCL_AGENT_BITS) - 1)
#define LR_EXCL(agent, why) ((uint32_t)(agent) | (uint32_t)(why) << LR_EXCL_AGENT_BITS)
#define LR_EXCL_AGENT(x) ((x) & LR_EXCL_AGENT_MAX)
#define LR_EXCL_WHY(x) ((lr_skip)((x) >> LR_EXCL_AGENT_BITS))
_Static_assert(LR_SKIP_DECLINED < 1u << (32 - LR_EXCL_AGENT_BITS) &&
                   LR_SKIP_EXPIRED < 1u << (32 - LR_EXCL_AGENT_BITS) &&
                   LR_SKIP_RELEASED < 1u << (32 - LR_EXCL_AGENT_BITS) &&
                   LR_SKIP_REASSIGNED < 1u << (32 - LR_EXCL_AGENT_BITS) &&
                   LR_SKIP_RECYCLED < 1u << (32 - LR_EXCL_AGENT_BITS),
               "every reason of lr_skip_is_history() fits LR_EXCL");

struct lr_segment;

typedef struct lr_lead_rt {
    lr_lead *lead;                  /* owned */
    lr_lead_state state;
    uint32_t agent;                 /* ASSIGNED: the agent; else LR_NO_AGENT */
    uint32_t rule;                  /* the rule that routed it last, or LR_NO_RULE */
    uint32_t qpos;                  /* WAITING: heap index + 1 in seg's queue */
    struct lr_segment *seg;         /* WAITING / OFFERED: where it waits */
    uint64_t seq;                   /* arrival order (queue order ties) */
    uint32_t nexcl;                 /* agents it is never given to again */
    uint32_t noffer;                /* OFFERED: agents it is offered to */
    uint32_t *excl;                 /* owned: LR_EXCL(agent, why) each */
    uint32_t *offer;                /* owned */
    uint32_t gen;                   /* bumped at every state change: timers carry it, a
                                       timer whose gen is old has nothing left to do */
    uint32_t attempts;              /* offers made in this routing (offer.attempts) */
    lr_time assigned_at;            /* ASSIGNED / OFFERED to one agent: since when */
    /* Open leads with the same email [0] / phone [1], newest first: the
     * engine's map points at the newest, so a returning lead finds its
     * owner as long as any of them is open. */
    struct lr_lead_rt *older[2], *newer[2];
    bool auto_dispatch;             /* WAITING by fallback: goes out when capacity frees */
    bool contacted;                 /* contacted progress since its assignment */
    int8_t last_progress;           /* lr_progress of the last report since its assignment,
                                       -1: none */
    uint8_t tier;                   /* tiered rules: how far the lead has widened */
    lr_time tier_at;                /* since when it is in this rule and tier:
                                       escalate_after counts from it */
} lr_lead_rt;

#endif
