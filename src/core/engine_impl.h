/* engine_impl.h -- the engine's private state, shared by engine.c (events,
 * lead life cycle) and route.c (rules, strategies, explanations).
 *
 * Invariants:
 * - every lead ever received is in `leads` (by id) and `all` (by arrival);
 * - an ASSIGNED lead counts once in its agent's `open`;
 * - a WAITING lead is in exactly one segment's queue (l->seg), an OFFERED
 *   lead names its segment in l->seg and its agents in l->offer;
 * - agents[i].ready / ready_nocap are current for the clock `now` after
 *   every event (cap windows that ended have fired their timers);
 * - nstate[s] counts the leads in state s.
 */
#ifndef LR_CORE_ENGINE_IMPL_H
#define LR_CORE_ENGINE_IMPL_H

#include "core/agent.h"
#include "core/lead_rt.h"
#include "core/map.h"
#include "core/rng.h"
#include "core/segment.h"
#include "core/slab.h"
#include "core/timers.h"
#include "leadrouter/buf.h"
#include "leadrouter/engine.h"

/* Strategy state filed by a config change for the segments made after it
 * (carry.c). */
typedef struct lr_carried lr_carried;
typedef struct lr_carry_set {
    lr_map by_key;                  /* carry key -> lr_carried* */
    lr_carried **v;                 /* owned: every record */
    size_t n, cap;
    size_t live;                    /* records no segment took yet */
} lr_carry_set;

/* An agent a config change removed, as it was then (reconfig.c): given
 * back whole if a later config has it again. */
typedef struct lr_gone_agent {
    char *id;                       /* owned: its key in lr_engine.gone */
    lr_agent_rt rt;                 /* its logs owned; no config, memberships, open
                                       leads or max_no_answer counts */
    lr_zone *zone;                  /* owned: its time zone then; NULL: UTC */
    struct lr_lead_rt **excl;       /* owned: the leads not closed then that it
                                       is never given again */
    uint8_t *exwhy;                 /* owned: why, for each (an lr_skip) */
    uint32_t nexcl;
} lr_gone_agent;

/* Frees G and what it owns. Accepts NULL. */
void lr_gone_agent_free(lr_gone_agent *g);

/* A decision's why.detail made here: its text and a rule's, pool's or
 * agent's name (at most 256 bytes, config_value.c), never cut; a catch-up
 * adds its own sentence to one (engine.c). */
#define LR_DETAIL_SIZE 512

struct lr_engine {
    const lr_config *cfg;           /* borrowed */
    bool explain;
    bool replaying;                 /* lr_engine_set_replaying */
    unsigned legacy;                /* LR_LEGACY_* flags (engine.h) */
    bool catching_up;               /* firing what fell due while nobody could act */
    lr_time late_due;               /* the deadline a catch-up is firing late, whose
                                       decisions say so; LR_TIME_NONE otherwise */
    lr_time now;
    lr_rng rng;

    lr_agent_rt *agents;            /* owned, cfg->nagents */
    lr_map agent_ids;               /* id -> lr_agent_rt* */
    lr_map gone;                    /* id -> lr_gone_agent* (owned): agents a config
                                       change removed, kept for their return
                                       (LR_RECONF_KEEP_GONE) */

    lr_map leads;                   /* id -> lr_lead_rt* */
    lr_slab lead_slab;              /* owns every lr_lead_rt */
    lr_lead_rt **all;               /* owned (lr_huge_alloc, capall entries): every
                                       lead, arrival order */
    size_t nall, capall;
    uint64_t seq;
    uint64_t nstate[LR_LEAD__COUNT];

    /* Tiers: a rule with tiers [t0, t1, t2] routes at tier k in the union
     * of t0..tk, in that order. Those unions are pools of the engine's own,
     * numbered after the config's: pool id npools + tier_first[rule] + k-1. */
    lr_pool_conf *xpools;           /* owned, with their agent arrays */
    size_t nxpools;
    uint32_t *tier_first;           /* owned, per rule; UINT32_MAX: no tiers */

    lr_map segments;                /* key -> lr_segment* */
    lr_segment **rule_seg;          /* owned array: the segment of each rule without match */
    lr_segment **segs;              /* owned: every segment */
    size_t nsegs, capsegs;
    lr_segment **dry_segs;          /* owned: the segments a preview made (it changes
                                       nothing: neither which segments exist nor their
                                       order, which decides who gets a freed slot first) */
    size_t ndry, capdry;
    lr_segment *dirty;              /* segments that may dispatch waiting leads */
    lr_buf key;                     /* scratch for segment keys */
    lr_carry_set carried;           /* rotations the last config change kept */

    bool use_owner;                 /* some rule routes by owner */
    lr_map by_email, by_phone;      /* open leads, for returning leads */
    lr_map offered;                 /* id -> the leads in state OFFERED (claimable) */
    bool offered_partial;           /* a put into it failed: it misses some */
    lr_map account_ids, account_domains;   /* -> lr_account_conf* */

    lr_time received_window;        /* longest fewest_assigned window; 0: no log */
    lr_time outcome_window;         /* longest top_producer window; 0: no log */

    lr_timers timers;

    /* the decision being emitted */
    lr_decision_cb cb;
    void *ud;
    int cb_rc;
    lr_candidate *cands;
    size_t capcands;
    lr_candidate chosen_figs;       /* the chosen agent's figures before it took the lead */
    /* the pick being explained, when its strategy shows credits (route.c,
     * pick_member): its segment (NULL: none), the agent it chose and that
     * agent's credit at the pick, and whether the pick was counted (not a
     * preview's) */
    const lr_segment *pick_seg;
    uint32_t pick_agent;
    int64_t pick_credit;
    bool pick_counted;
    const char **names;             /* broadcast agent ids */
    size_t capnames;
    uint32_t *scratch;              /* exclusions taken out of a segment */
    size_t capscratch;
    lr_lead_rt **aside;             /* waiting leads a dispatch skipped */
    size_t capaside;
    uint8_t *visited;               /* per rule, while routing a lead: in the fallback chain
                                       followed, tried (route.c, follow()) */

    bool dry;                       /* preview: decide, emit, change nothing */
    lr_engine_stats stats;
};

/* engine.c */

/* The pool with id ID (a config pool, or a tier union). */
const lr_pool_conf *lr_pool(const lr_engine *e, uint32_t id);
/* The pool id rule RI routes in at tier TIER. */
uint32_t lr_rule_pool(const lr_engine *e, uint32_t ri, uint32_t tier);
/* The pool lead L is being routed in now (its rule's, at its tier). */
const lr_pool_conf *lr_lead_pool(const lr_engine *e, const lr_lead_rt *l);
/* Builds the tier unions of E's config (create, reconfigure). */
int lr_build_tiers(lr_engine *e);
void lr_free_tiers(lr_engine *e);
int lr_tiers_build(const lr_config *cfg, lr_pool_conf **xpools, size_t *nxpools,
                   uint32_t **tier_first);
void lr_tiers_free(lr_pool_conf *xpools, size_t nxpools, uint32_t *tier_first);
void lr_engine_emit(lr_engine *e, lr_decision *d);
void lr_engine_set_state(lr_engine *e, lr_lead_rt *l, lr_lead_state s);
int lr_engine_assign(lr_engine *e, lr_lead_rt *l, uint32_t agent);
void lr_engine_agent_changed(lr_engine *e, lr_agent_rt *a);
/* Lists segment S for lr_dispatch_dirty(): its waiting leads are looked
 * at after the event (a member became ready, or a lead waits there that
 * a ready member may take). */
void lr_engine_want_dispatch(lr_engine *e, lr_segment *s);
/* Why L is never given to AGENT again (LR_SKIP_DECLINED, ...), or
 * LR_SKIP_NONE. */
lr_skip lr_lead_excluded(const lr_lead_rt *l, uint32_t agent);
static inline bool lr_lead_excludes(const lr_lead_rt *l, uint32_t agent) {
    return lr_lead_excluded(l, agent) != LR_SKIP_NONE;
}
/* Adds AGENT to the agents L is never given to again, for WHY (an lr_skip
 * of lr_skip_is_history(); an agent there already takes the new one).
 * LR_OK or LR_ENOMEM. */
int lr_lead_exclude(lr_lead_rt *l, uint32_t agent, lr_skip why);
/* Reads from the rules what the engine must keep for its strategies
 * (owner index, windows of the received and outcome logs). */
void lr_engine_scan_needs(lr_engine *e);
/* Ends L's assignment (release, hand-off, close): frees the agent's slot. */
void lr_engine_unassign(lr_engine *e, lr_lead_rt *l);
/* Takes back from A what its offer of AT counted: the offer ended
 * unaccepted. */
void lr_agent_offer_ended(const lr_engine *e, lr_agent_rt *a, lr_time at);
/* Takes L out of wherever it waits (queue, offer). */
void lr_lead_unwait(lr_lead_rt *l);
/* Moves the clock to UNTIL (never back), firing due timers in order. */
void lr_engine_advance(lr_engine *e, lr_time until);
/* A catch-up tick's first step: the clock to UNTIL with every agent judged
 * there (shifts, cap windows); lr_engine_advance() then fires the leads'
 * deadlines already due, all at UNTIL. */
void lr_engine_catch_up(lr_engine *e, lr_time until);

/* route.c */

/* Routes L (state NEW) through the rules: assigns, offers, queues, holds
 * or leaves it unrouted, and emits the decision. REASON, when not NULL, is
 * written as why.reason ("released", "qualified", ...). Returns LR_OK or
 * LR_ENOMEM. */
int lr_route(lr_engine *e, lr_lead_rt *l, const char *reason);

/* Routes L (state NEW) by rule RI first, whatever its `when`, following
 * its fallback chain, then on through the rules after RI. Used for a
 * lead's next offer attempt (RI its rule) and for recycle.to. */
int lr_route_by_rule(lr_engine *e, lr_lead_rt *l, uint32_t ri, const char *reason);
/* As lr_route_by_rule() on L's own rule at its (just widened) tier: every
 * decision says `escalated`, a fallback's too. */
int lr_route_widened(lr_engine *e, lr_lead_rt *l);
/* L's next offer attempt in rule RI after its offer failed (REASON
 * `declined` or `offer_expired`): when RI finds nobody (every member
 * declined or let it expire, say), its fallback's decision carries
 * REASON, as when the attempts ran out (lr_route_after_failure). */
int lr_route_retry(lr_engine *e, lr_lead_rt *l, uint32_t ri, const char *reason);

/* Applies rule RI's fallback to L (state NEW) as if RI had found nobody:
 * offers expired or attempts used up, max_wait passed (QUEUE_AS_NEXT: a
 * queue fallback counts as `next` then). */
int lr_route_after_failure(lr_engine *e, lr_lead_rt *l, uint32_t ri, bool queue_as_next,
                           const char *reason);

/* deadlines.c: a lead timer came due (stale ones do nothing). */
int lr_fire_lead_timer(lr_engine *e, const lr_timer *t);

/* L's offer failed: expired (DECLINED_BY LR_NO_AGENT) or declined by that
 * agent. Frees the slot, rules the offered agents out, and makes the next
 * attempt or applies the rule's fallback. */
int lr_offer_failed(lr_engine *e, lr_lead_rt *l, uint32_t declined_by);

/* Sets the deadlines of a lead just assigned under its rule (SLA, recycle). */
void lr_arm_assigned(lr_engine *e, lr_lead_rt *l);

/* Gives waiting leads of the dirty segments to agents who became ready;
 * _before gives only the leads that come before lead L in their
 * segment's queue order (the segments it could not finish stay dirty). */
int lr_dispatch_dirty(lr_engine *e);
int lr_dispatch_dirty_before(lr_engine *e, const lr_lead_rt *l);

/* A segment's key starts with its pool's id: a length, then the id. */
#define LR_SEG_KEY_POOL_BYTES (2 * sizeof(uint32_t))

/* carry.c: the strategies' state of E's segments (and of the records no
 * segment took yet), agents renamed by MAP (old index -> new, or
 * LR_NO_AGENT), into OUT; before E switches config. LR_OK or LR_ENOMEM
 * (OUT empty). */
int lr_carry_collect(const lr_engine *e, const uint32_t *map, lr_carry_set *out);
void lr_carry_release(lr_carry_set *set);
/* Gives new segment S, whose segment key is KEY, the state filed for it. */
int lr_carry_apply(lr_engine *e, lr_segment *s, const char *key, size_t keylen);

/* The segment of rule R for lead L (created on first need). */
int lr_segment_for(lr_engine *e, const lr_rule_conf *r, uint32_t pool, const lr_lead *lead,
                   lr_segment **out);
/* Frees the segments a preview made (E->dry). */
void lr_drop_dry_segments(lr_engine *e);

/* Why agent A cannot take lead L under rule R now (LR_SKIP_NONE: it can). */
lr_skip lr_skip_reason(const lr_engine *e, const lr_lead_rt *l, const lr_rule_conf *r,
                       uint32_t a);

/* Fills why.candidates of D for rule R's pool: CHOSEN (or LR_NO_AGENT) is
 * chosen; with OFFER every member who could take the lead is (they were
 * all offered it). The first explain_limit members are listed, plus the
 * chosen one. */
void lr_rank_figures(const lr_engine *e, const lr_rule_conf *r, uint32_t a, uint32_t m,
                     lr_candidate *c);
int lr_explain(lr_engine *e, lr_decision *d, const lr_lead_rt *l, const lr_rule_conf *r,
               uint32_t chosen, bool offer);


/* The returning-lead index (by email and phone, for the owner strategy):
 * takes L out of it (while its links are valid); or builds it afresh from
 * the leads that hold an agent, in arrival order (cb_rc LR_ENOMEM when
 * memory ran out). Both do nothing unless an owner rule exists. */
void lr_engine_unindex(lr_engine *e, lr_lead_rt *l);
void lr_engine_reindex(lr_engine *e);

/* Closed lead L keeps only its id (lr_lead_id_only): its other fields
 * are never read again (a closed lead is never routed, indexed or offered
 * again; events about it are refused by its id), and they were most of
 * what a lead kept in memory. Out of memory, or while the returning-lead
 * index holds it, L stays whole. */
void lr_engine_shed(lr_engine *e, lr_lead_rt *l);

/* Why agent A cannot take any lead now, whatever the lead (its status,
 * schedule, capacity unless IGNORE_CAPACITY, caps, in that order), or
 * LR_SKIP_NONE. */
lr_skip lr_agent_unready(const lr_engine *e, uint32_t a, bool ignore_capacity);

#endif
