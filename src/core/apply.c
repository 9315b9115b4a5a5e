/* apply.c -- one event in, its decisions out: the handler of each event
 * type of event.h, moving leads along the life cycle drawn in lead_rt.h.
 *
 * An event the engine cannot honour (an unknown lead or agent, a second
 * lead with the same id, a claim that loses) changes nothing and yields a
 * `rejected` or `claim_refused` decision whose why.reason says why, so the
 * caller always learns what became of each event.
 */
#include "core/engine_impl.h"
#include "core/hugemem.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void reject(lr_engine *e, const char *lead, const char *agent, const char *reason,
                   const char *detail) {
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.lead = lead;
    d.agent = agent;
    d.action = LR_ACTION_REJECTED;
    d.reason = reason;
    d.detail = detail;
    lr_engine_emit(e, &d);
}

static void refuse_claim(lr_engine *e, const lr_lead_rt *l, const char *lead_id,
                         const lr_agent_rt *a, const char *reason, const char *detail) {
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.lead = l ? lr_lead_id(l->lead) : lead_id;
    d.agent = a->conf->id;
    d.action = LR_ACTION_CLAIM_REFUSED;
    if (l && l->rule != LR_NO_RULE) {
        const lr_rule_conf *r = &e->cfg->rules[l->rule];
        d.rule = r->name;
        d.pool = lr_lead_pool(e, l)->name;
        d.strategy = lr_strategy_name(r->strategy);
    }
    d.reason = reason;
    d.detail = detail;
    lr_engine_emit(e, &d);
}

static lr_agent_rt *find_agent(lr_engine *e, const char *id) {
    return id ? lr_map_get(&e->agent_ids, id, strlen(id)) : NULL;
}

static lr_lead_rt *find_lead(lr_engine *e, const char *id) {
    return id ? lr_map_get(&e->leads, id, strlen(id)) : NULL;
}

/* ---- lead ------------------------------------------------------------------ */

/* Records L (its id not seen before): LR_OK, LR_EEXIST (a lead with that
 * id exists; nothing recorded) or LR_ENOMEM. */
static int add_lead(lr_engine *e, lr_lead_rt *l) {
    if (e->nall == e->capall) {
        size_t cap = e->capall ? e->capall * 2 : 1024;
        lr_lead_rt **v = lr_huge_realloc(e->all, e->capall * sizeof *v, cap * sizeof *v);
        if (!v) return LR_ENOMEM;
        e->all = v;
        e->capall = cap;
    }
    const char *id = lr_lead_id(l->lead);
    int rc = lr_map_add(&e->leads, id, strlen(id), l, NULL);
    if (rc != LR_OK) return rc;
    e->all[e->nall++] = l;
    return LR_OK;
}

static int on_lead(lr_engine *e, lr_event *ev) {
    lr_lead *lead = ev->lead;
    ev->lead = NULL;
    lr_lead_rt *l = lr_slab_alloc(&e->lead_slab);
    if (!l) { lr_lead_free(lead); return LR_ENOMEM; }
    l->lead = lead;
    l->state = LR_LEAD_NEW;
    l->last_progress = -1;
    l->agent = LR_NO_AGENT;
    l->rule = LR_NO_RULE;
    l->seq = e->nall;               /* its index in e->all: timers name leads by it */
    int rc = add_lead(e, l);        /* one probe: the duplicate check and the insert */
    if (rc == LR_EEXIST) {
        reject(e, lr_lead_id(lead), NULL, "duplicate_lead", "a lead with this id was received before");
        lr_lead_free(lead);
        lr_slab_free(&e->lead_slab, l);
        return LR_OK;
    }
    if (rc != LR_OK) { lr_lead_free(lead); lr_slab_free(&e->lead_slab, l); return rc; }
    e->seq++;
    if (lead->received_at == LR_TIME_NONE) lead->received_at = e->now;
    e->nstate[LR_LEAD_NEW]++;
    e->stats.leads++;
    return lr_route(e, l, NULL);
}

/* ---- agent status -------------------------------------------------------- */

static int on_agent(lr_engine *e, const lr_event *ev) {
    lr_agent_rt *a = find_agent(e, ev->agent_id);
    if (!a) { reject(e, NULL, ev->agent_id, "unknown_agent", "no agent has this id"); return LR_OK; }
    if (a->status != ev->status) {
        a->status_reason = "set";
        a->status_since = e->now;
    }
    a->status = ev->status;
    lr_engine_agent_changed(e, a);
    return LR_OK;
}

/* ---- progress ------------------------------------------------------------ */

static int close_lead(lr_engine *e, lr_lead_rt *l, lr_progress p) {
    const char *agent = NULL;
    if (l->state == LR_LEAD_OFFERED) lr_engine_unassign(e, l);     /* a reserved slot */
    if (l->state == LR_LEAD_ASSIGNED) {
        lr_agent_rt *a = &e->agents[l->agent];
        agent = a->conf->id;
        a->closed++;
        if (p == LR_PROGRESS_WON) a->won++;
        if (e->outcome_window) {
            lr_timelog_trim(&a->outcomes, e->now - e->outcome_window);
            if (lr_timelog_add(&a->outcomes, e->now, p == LR_PROGRESS_WON) != LR_OK)
                return LR_ENOMEM;
        }
        lr_engine_unassign(e, l);
    } else {
        lr_lead_unwait(l);
    }
    lr_engine_set_state(e, l, LR_LEAD_CLOSED);
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.lead = lr_lead_id(l->lead);
    d.action = LR_ACTION_CLOSED;
    d.agent = agent;
    d.status = lr_progress_names[p];
    if (l->rule != LR_NO_RULE) {
        const lr_rule_conf *r = &e->cfg->rules[l->rule];
        d.rule = r->name;
        d.pool = lr_lead_pool(e, l)->name;
        d.strategy = lr_strategy_name(r->strategy);
    }
    lr_engine_emit(e, &d);
    lr_engine_shed(e, l);           /* after the decision, which names it by its id */
    return LR_OK;
}

static int on_progress(lr_engine *e, const lr_event *ev) {
    lr_lead_rt *l = find_lead(e, ev->lead_id);
    if (!l) { reject(e, ev->lead_id, NULL, "unknown_lead", "no lead has this id"); return LR_OK; }
    if (l->state == LR_LEAD_CLOSED) {
        reject(e, ev->lead_id, NULL, "lead_closed", "the lead was closed before");
        return LR_OK;
    }
    if (ev->has_value) { l->lead->value = ev->value; l->lead->has_value = true; }
    l->last_progress = (int8_t)ev->progress;
    switch (ev->progress) {
    case LR_PROGRESS_CONTACTED:
        l->contacted = true;
        return LR_OK;
    case LR_PROGRESS_QUALIFIED: {
        /* Warm-up hand-off: the lead is routed again with stage qualified;
         * the qualifier's slot is freed. */
        if (lr_lead_set_str(l->lead, LR_LF_STAGE, "qualified") != LR_OK) return LR_ENOMEM;
        lr_engine_unassign(e, l);
        lr_lead_unwait(l);
        lr_engine_set_state(e, l, LR_LEAD_NEW);
        return lr_route(e, l, "qualified");
    }
    default:
        return close_lead(e, l, ev->progress);
    }
}

/* ---- release, manual assign --------------------------------------------- */

/* A's lead L goes back: `released`, then routed again, never to A. WHY,
 * LR_SKIP_RELEASED or LR_SKIP_DECLINED, names the reason ("released",
 * "declined") in both decisions and in A's skips for L from now on. */
static int release(lr_engine *e, lr_lead_rt *l, lr_agent_rt *a, lr_skip why) {
    const char *reason = lr_skip_names[why];
    int rc = lr_lead_exclude(l, a->idx, why);
    if (rc != LR_OK) return rc;
    lr_engine_unassign(e, l);
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.lead = lr_lead_id(l->lead);
    d.action = LR_ACTION_RELEASED;
    d.agent = a->conf->id;
    if (l->rule != LR_NO_RULE) {
        const lr_rule_conf *r = &e->cfg->rules[l->rule];
        d.rule = r->name;
        d.pool = lr_lead_pool(e, l)->name;
        d.strategy = lr_strategy_name(r->strategy);
    }
    d.reason = reason;
    lr_engine_emit(e, &d);
    lr_engine_set_state(e, l, LR_LEAD_NEW);
    return lr_route(e, l, reason);
}

static int on_release(lr_engine *e, const lr_event *ev) {
    lr_lead_rt *l = find_lead(e, ev->lead_id);
    if (!l) { reject(e, ev->lead_id, ev->agent_id, "unknown_lead", "no lead has this id"); return LR_OK; }
    if (l->state != LR_LEAD_ASSIGNED) {
        reject(e, ev->lead_id, ev->agent_id, "not_assigned", "only an assigned lead can be released");
        return LR_OK;
    }
    lr_agent_rt *a = &e->agents[l->agent];
    if (ev->agent_id && strcmp(ev->agent_id, a->conf->id) != 0) {
        reject(e, ev->lead_id, ev->agent_id, "not_your_lead", "the lead is assigned to another agent");
        return LR_OK;
    }
    return release(e, l, a, LR_SKIP_RELEASED);
}

/* An admin's decision: any open lead to any known agent, whatever the
 * agent's load (the admin overrides eligibility). */
static int on_assign(lr_engine *e, const lr_event *ev) {
    lr_agent_rt *a = find_agent(e, ev->agent_id);
    lr_lead_rt *l = find_lead(e, ev->lead_id);
    if (!a) { reject(e, ev->lead_id, ev->agent_id, "unknown_agent", "no agent has this id"); return LR_OK; }
    if (!l) { reject(e, ev->lead_id, ev->agent_id, "unknown_lead", "no lead has this id"); return LR_OK; }
    if (l->state == LR_LEAD_CLOSED) {
        reject(e, ev->lead_id, ev->agent_id, "lead_closed", "the lead was closed before");
        return LR_OK;
    }
    if (l->state == LR_LEAD_ASSIGNED) {
        if (l->agent == a->idx) {
            reject(e, ev->lead_id, ev->agent_id, "already_assigned", "the lead is already this agent's");
            return LR_OK;
        }
    }
    lr_engine_unassign(e, l);
    lr_lead_unwait(l);
    int rc = lr_engine_assign(e, l, a->idx);
    if (rc != LR_OK) return rc;
    lr_arm_assigned(e, l);
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.lead = lr_lead_id(l->lead);
    d.action = LR_ACTION_ASSIGNED;
    d.agent = a->conf->id;
    if (l->rule != LR_NO_RULE) {
        const lr_rule_conf *r = &e->cfg->rules[l->rule];
        d.rule = r->name;
        d.pool = lr_lead_pool(e, l)->name;
    }
    d.strategy = "manual";
    d.reason = "manual";
    lr_engine_emit(e, &d);
    return LR_OK;
}

/* ---- claims ---------------------------------------------------------------- */

/* Whether agent A may take L under L's rule now; on no, *why names it. */
static bool may_take(lr_engine *e, const lr_lead_rt *l, const lr_agent_rt *a, const char **why) {
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    lr_skip s = lr_skip_reason(e, l, r, a->idx);
    *why = lr_skip_names[s];
    return s == LR_SKIP_NONE;
}

static int claimed(lr_engine *e, lr_lead_rt *l, lr_agent_rt *a) {
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    /* an offer to A alone: A holds the slot already, the accept settles it */
    bool accepted = l->state == LR_LEAD_OFFERED && l->agent == a->idx;
    lr_lead_unwait(l);
    if (accepted) {
        lr_engine_set_state(e, l, LR_LEAD_ASSIGNED);
    } else {
        int rc = lr_engine_assign(e, l, a->idx);
        if (rc != LR_OK) return rc;
    }
    a->nna = 0;                     /* present: every count of offers let expire restarts */
    lr_arm_assigned(e, l);
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.lead = lr_lead_id(l->lead);
    d.action = accepted ? LR_ACTION_ASSIGNED : LR_ACTION_CLAIMED;
    d.reason = accepted ? "accepted" : NULL;
    d.agent = a->conf->id;
    d.rule = r->name;
    d.pool = lr_lead_pool(e, l)->name;
    d.strategy = lr_strategy_name(r->strategy);
    lr_engine_emit(e, &d);
    return LR_OK;
}

static bool is_offered(const lr_lead_rt *l, uint32_t a) {
    for (uint32_t i = 0; i < l->noffer; i++)
        if (l->offer[i] == a) return true;
    return false;
}

/* The detail of a refusal to A (not_offered, or a claim's skip reason):
 * how A lost the lead, when the lead is never given to A again, rather
 * than that A never had it or cannot take it now; NEVER otherwise. */
static const char *how_lost(const lr_lead_rt *l, const lr_agent_rt *a, const char *never) {
    switch (lr_lead_excluded(l, a->idx)) {
    case LR_SKIP_DECLINED:
        return "this agent declined the lead before: it is not given to this agent again";
    case LR_SKIP_EXPIRED:
        return "this agent's offer of the lead expired before: it is not given to this agent again";
    case LR_SKIP_RELEASED:
        return "this agent released the lead before: it is not given to this agent again";
    case LR_SKIP_REASSIGNED:
        return "an SLA took the lead from this agent before: it is not given to this agent again";
    case LR_SKIP_RECYCLED:
        return "a recycling took the lead from this agent before: it is not given to this agent "
               "again";
    default:
        return never;
    }
}

static int claim_by_id(lr_engine *e, lr_lead_rt *l, lr_agent_rt *a) {
    char detail[LR_DETAIL_SIZE];
    const char *why;
    switch (l->state) {
    case LR_LEAD_OFFERED:
        if (!is_offered(l, a->idx)) {
            refuse_claim(e, l, NULL, a, "not_offered",
                         how_lost(l, a, "the lead was not offered to this agent"));
            return LR_OK;
        }
        if (l->agent != a->idx && !may_take(e, l, a, &why)) {
            refuse_claim(e, l, NULL, a, why,
                         how_lost(l, a, "the agent cannot take a lead now"));
            return LR_OK;
        }
        return claimed(e, l, a);
    case LR_LEAD_WAITING: {
        lr_strategy_mode mode = l->seg->strat->mode;
        if (mode == LR_MODE_QUEUE) {
            refuse_claim(e, l, NULL, a, "take_next",
                         "leads in a pull queue are taken in order: claim without a lead id");
            return LR_OK;
        }
        if (lr_segment_member(l->seg, a->idx) == LR_SEG_NONE) {
            const lr_pool_conf *pool = lr_lead_pool(e, l);
            bool in_pool = false;
            for (size_t i = 0; i < pool->nagents && !in_pool; i++)
                in_pool = pool->agents[i] == a->idx;
            refuse_claim(e, l, NULL, a, in_pool ? "no_match" : "not_in_pool",
                         "the agent is not one the lead waits for");
            return LR_OK;
        }
        if (!may_take(e, l, a, &why)) {
            refuse_claim(e, l, NULL, a, why,
                         how_lost(l, a, "the agent cannot take a lead now"));
            return LR_OK;
        }
        return claimed(e, l, a);
    }
    case LR_LEAD_ASSIGNED:
        /* already this agent's: nothing to do, as an accept (a claim sent
         * again after its answer was lost is not a lost race) */
        if (l->agent == a->idx) return LR_OK;
        snprintf(detail, sizeof detail, "the lead is assigned to %s",
                 e->agents[l->agent].conf->id);
        refuse_claim(e, l, NULL, a, "already_claimed", detail);
        return LR_OK;
    case LR_LEAD_CLOSED:
        refuse_claim(e, l, NULL, a, "lead_closed", "the lead was closed");
        return LR_OK;
    default:
        refuse_claim(e, l, NULL, a, "not_claimable",
                     "the lead is held or unrouted: an admin assigns it");
        return LR_OK;
    }
}

/* The next lead for A: the best head among the pull queues and open pools
 * A belongs to, in the pool's queue order (a pool split by match values
 * has one queue per value; their heads compare in the pool's order). */
/* A claim without a lead id: of the agent's queue and open_pool pools that
 * it may take from, the next lead. Pools of one order are one queue in
 * that order; of the best lead of each order, the one that arrived first
 * (a FIFO pool and a LIFO pool have no order in common). */
static int claim_next(lr_engine *e, lr_agent_rt *a) {
    lr_lead_rt *best = NULL, *by_order[LR_QORDER__COUNT] = { NULL };
    bool legacy = e->legacy & LR_LEGACY_PULL_ORDER;
    const char *why = NULL;
    for (uint32_t i = 0; i < a->nmem; i++) {
        lr_segment *s = a->mem[i].seg;
        lr_strategy_mode mode = s->strat->mode;
        if ((mode != LR_MODE_QUEUE && mode != LR_MODE_OPEN_POOL) || s->qn == 0) continue;
        if (!lr_segment_is_ready(s, a->mem[i].m)) {
            /* A itself cannot take a lead now: its own reason (at
             * capacity, away, ...), whichever lead is first (one A
             * declined would say so) */
            const lr_lead_rt *head = lr_segment_head(s);
            const lr_rule_conf *r = &e->cfg->rules[head->rule];
            lr_skip sk = lr_agent_unready(e, a->idx, r->ignore_capacity);
            if (sk == LR_SKIP_NONE) sk = lr_skip_reason(e, head, r, a->idx);
            if (!why) why = lr_skip_names[sk];
            continue;
        }
        /* The head, unless A declined or released it: then the first in
         * queue order that A has not (a scan, on that rare path only). */
        lr_lead_rt *cand = NULL;
        for (uint32_t k = 0; k < s->qn; k++) {
            lr_lead_rt *x = s->q[k];
            if (lr_lead_excludes(x, a->idx)) continue;
            if (!cand || lr_queue_before(s->order, x, cand)) cand = x;
            if (k == 0) break;              /* the heap's root is the head */
        }
        if (!cand) continue;
        if (legacy) {                       /* the best so far in this pool's order */
            if (!best || lr_queue_before(s->order, cand, best)) best = cand;
            continue;
        }
        lr_lead_rt **b = &by_order[s->order];
        if (!*b || lr_queue_before(s->order, cand, *b)) *b = cand;
    }
    for (size_t k = 0; !legacy && k < sizeof by_order / sizeof by_order[0]; k++)
        if (by_order[k] && (!best || by_order[k]->seq < best->seq)) best = by_order[k];
    if (!best) {
        if (why && why[0]) refuse_claim(e, NULL, NULL, a, why, "the agent cannot take a lead now");
        else refuse_claim(e, NULL, NULL, a, "queue_empty", "no lead is waiting for this agent");
        return LR_OK;
    }
    return claimed(e, best, a);
}

static int on_claim(lr_engine *e, const lr_event *ev) {
    lr_agent_rt *a = find_agent(e, ev->agent_id);
    if (!a) { reject(e, ev->lead_id, ev->agent_id, "unknown_agent", "no agent has this id"); return LR_OK; }
    if (!ev->lead_id) return claim_next(e, a);
    lr_lead_rt *l = find_lead(e, ev->lead_id);
    if (!l) {
        refuse_claim(e, NULL, ev->lead_id, a, "unknown_lead", "no lead has this id");
        return LR_OK;
    }
    return claim_by_id(e, l, a);
}

/* An accept that names no agent (a replay of history, which cannot know
 * who a lead will be offered to) is that of the agent L is offered to
 * alone: its index, or LR_NO_AGENT with the refusal's detail in DETAIL. */
static uint32_t offered_alone(const lr_lead_rt *l, char *detail, size_t n) {
    if (l->state == LR_LEAD_OFFERED && l->agent != LR_NO_AGENT) return l->agent;
    if (l->state == LR_LEAD_OFFERED && l->noffer == 1) return l->offer[0];
    if (l->state == LR_LEAD_OFFERED)
        snprintf(detail, n, "the lead is offered to %u agents at once: an accept names which one",
                 l->noffer);
    else
        snprintf(detail, n, "the lead is not on offer (an accept without an agent is that of the "
                 "agent it is offered to)");
    return LR_NO_AGENT;
}

static int on_accept(lr_engine *e, const lr_event *ev) {
    lr_lead_rt *l = find_lead(e, ev->lead_id);
    if (!ev->agent_id) {
        char detail[LR_DETAIL_SIZE];
        if (!l) { reject(e, ev->lead_id, NULL, "unknown_lead", "no lead has this id"); return LR_OK; }
        uint32_t who = offered_alone(l, detail, sizeof detail);
        if (who == LR_NO_AGENT) { reject(e, ev->lead_id, NULL, "not_offered", detail); return LR_OK; }
        return claim_by_id(e, l, &e->agents[who]);
    }
    lr_agent_rt *a = find_agent(e, ev->agent_id);
    if (!a) { reject(e, ev->lead_id, ev->agent_id, "unknown_agent", "no agent has this id"); return LR_OK; }
    if (!l) { reject(e, ev->lead_id, ev->agent_id, "unknown_lead", "no lead has this id"); return LR_OK; }
    if (l->state == LR_LEAD_ASSIGNED && l->agent == a->idx) return LR_OK;   /* already theirs */
    if (l->state != LR_LEAD_OFFERED) {
        reject(e, ev->lead_id, ev->agent_id, "not_offered", how_lost(l, a, "the lead is not on offer"));
        return LR_OK;
    }
    return claim_by_id(e, l, a);
}

static int on_decline(lr_engine *e, const lr_event *ev) {
    lr_agent_rt *a = find_agent(e, ev->agent_id);
    lr_lead_rt *l = find_lead(e, ev->lead_id);
    if (!a) { reject(e, ev->lead_id, ev->agent_id, "unknown_agent", "no agent has this id"); return LR_OK; }
    if (!l) { reject(e, ev->lead_id, ev->agent_id, "unknown_lead", "no lead has this id"); return LR_OK; }
    /* an answer: A is present, every count of offers let expire restarts */
    if (!(e->legacy & LR_LEGACY_NO_ANSWER) && l->state == LR_LEAD_OFFERED &&
        (l->agent == a->idx || is_offered(l, a->idx)))
        a->nna = 0;
    if (!(e->legacy & LR_LEGACY_DECLINE_ANSWER) && l->state == LR_LEAD_ASSIGNED &&
        l->agent == a->idx)
        a->nna = 0;
    if (l->state == LR_LEAD_OFFERED && l->agent == a->idx)
        return lr_offer_failed(e, l, a->idx);       /* an offer to A alone */
    if (l->state == LR_LEAD_OFFERED && is_offered(l, a->idx)) {
        int rc = lr_lead_exclude(l, a->idx, LR_SKIP_DECLINED);
        if (rc != LR_OK) return rc;
        uint32_t k = 0;
        for (uint32_t i = 0; i < l->noffer; i++)
            if (l->offer[i] != a->idx) l->offer[k++] = l->offer[i];
        l->noffer = k;
        if (k > 0) return LR_OK;            /* the others may still claim it */
        lr_lead_unwait(l);
        lr_engine_set_state(e, l, LR_LEAD_NEW);
        if (e->legacy & LR_LEGACY_TIER_CLOCK) return lr_route(e, l, "declined");
        /* as a broadcast that expired: its rule's fallback, in its tier */
        return lr_route_after_failure(e, l, l->rule, false, "declined");
    }
    if (l->state == LR_LEAD_ASSIGNED && l->agent == a->idx)
        return release(e, l, a, LR_SKIP_DECLINED);
    reject(e, ev->lead_id, ev->agent_id, "not_offered",
           how_lost(l, a, "the lead is not offered to this agent"));
    return LR_OK;
}

/* ---- the entry point ------------------------------------------------------ */

int lr_engine_apply(lr_engine *e, lr_event *ev, lr_decision_cb cb, void *ud) {
    lr_time at = ev->at;
    if (at == LR_TIME_NONE && ev->type == LR_EV_LEAD && ev->lead)
        at = ev->lead->received_at;
    e->cb = cb;
    e->ud = ud;
    e->cb_rc = 0;
    e->pick_seg = NULL;
    /* a catch-up tick: what fell due while nobody could act fires now, with
     * the agents as they are now (shifts, caps), so that an offer it makes
     * goes to someone present and runs its whole timeout from now */
    if (ev->type == LR_EV_TICK && ev->catch_up && at != LR_TIME_NONE && at > e->now && e->nall)
        lr_engine_catch_up(e, at);
    if (at != LR_TIME_NONE) lr_engine_advance(e, at);
    int rc;
    switch (ev->type) {
    case LR_EV_LEAD: rc = on_lead(e, ev); break;
    case LR_EV_AGENT: rc = on_agent(e, ev); break;
    case LR_EV_PROGRESS: rc = on_progress(e, ev); break;
    case LR_EV_CLAIM: rc = on_claim(e, ev); break;
    case LR_EV_ACCEPT: rc = on_accept(e, ev); break;
    case LR_EV_DECLINE: rc = on_decline(e, ev); break;
    case LR_EV_ASSIGN: rc = on_assign(e, ev); break;
    case LR_EV_RELEASE: rc = on_release(e, ev); break;
    case LR_EV_TICK: rc = LR_OK; break;
    default: rc = LR_EINVAL; break;
    }
    if (rc == LR_OK) rc = lr_dispatch_dirty(e);
    e->cb = NULL;
    e->ud = NULL;
    return rc != LR_OK ? rc : e->cb_rc;
}
