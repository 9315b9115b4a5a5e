/* deadlines.c -- what happens when a lead's time is up: an offer nobody
 * accepted, an SLA with no contact, a queue waited too long, a lead that
 * stalled. Each deadline is a timer carrying the lead's generation (bumped
 * at every state change), so a timer whose lead has moved on since does
 * nothing: timers are never cancelled, only outlived.
 *
 * Decisions here: `expired` (offer timeout, max_wait), `agent_away` (an
 * agent let max_no_answer offers in a row expire), `reassigned` (SLA),
 * `sla_breached` (SLA with then: notify), `recycled` (recycle.after), each
 * followed by the decision that places the lead again.
 */
#include "core/engine_impl.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void rule_decision(const lr_engine *e, lr_decision *d, const lr_lead_rt *l,
                          lr_action action) {
    memset(d, 0, sizeof *d);
    d->at = e->now;
    d->lead = lr_lead_id(l->lead);
    d->action = action;
    if (l->rule != LR_NO_RULE) {
        const lr_rule_conf *r = &e->cfg->rules[l->rule];
        d->rule = r->name;
        d->pool = lr_lead_pool(e, l)->name;
        d->strategy = lr_strategy_name(r->strategy);
    }
}

/* One more offer from POOL agent A let expire; at the pool's max_no_answer
 * in a row (offers from other pools do not count) A is set away, with a
 * decision that says so. */
static void no_answer(lr_engine *e, lr_agent_rt *a, const lr_pool_conf *pool) {
    if (pool->max_no_answer == 0 || e->catching_up) return;     /* nobody could answer */
    uint32_t i = 0;
    while (i < a->nna && a->na[i].pool != pool) i++;
    if (i == a->nna) {
        if (a->nna == a->capna) {       /* ENOMEM: this expiry goes uncounted */
            uint32_t cap = a->capna ? a->capna * 2 : 2;
            lr_no_answer *v = realloc(a->na, cap * sizeof *v);
            if (!v) return;
            a->na = v;
            a->capna = cap;
        }
        a->na[a->nna++] = (lr_no_answer){ pool, 0 };
    }
    if (++a->na[i].n < pool->max_no_answer || a->status != LR_AGENT_AVAILABLE) return;
    a->na[i] = a->na[--a->nna];
    a->status = LR_AGENT_AWAY;
    a->status_reason = "max_no_answer";
    a->status_since = e->now;
    lr_engine_agent_changed(e, a);
    char detail[LR_DETAIL_SIZE];
    snprintf(detail, sizeof detail, "%u offers in a row expired (pool %s: max_no_answer)",
             pool->max_no_answer, pool->name);
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.action = LR_ACTION_AGENT_AWAY;
    d.agent = a->conf->id;
    d.pool = pool->name;
    d.reason = "max_no_answer";
    d.detail = detail;
    lr_engine_emit(e, &d);
}

/* The `expired` decision of L's offer, with the agent or agents it was
 * offered to, for REASON. An offer to one agent that ran out says which of
 * the rule's attempts it was: after the last, the fallback takes the lead
 * though other members may be ready. */
static int offer_expired(lr_engine *e, const lr_lead_rt *l, const char *reason) {
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    lr_decision d;
    rule_decision(e, &d, l, LR_ACTION_EXPIRED);
    const char **names = NULL;
    char detail[LR_DETAIL_SIZE];
    /* a broadcast names its agents as a list, even one left */
    if (l->noffer == 1 && r->strategy->mode != LR_MODE_BROADCAST) {
        d.agent = e->agents[l->offer[0]].conf->id;
        if (strcmp(reason, "offer_timeout") == 0 && r->strategy->mode == LR_MODE_ASSIGN) {
            /* a lead its fallback queued is offered again as agents free
             * up, past the rule's attempts: each such offer is the last */
            if (l->attempts > r->offer_attempts)
                snprintf(detail, sizeof detail, "an offer after the rule's %u attempt%s (rule %s: "
                         "offer.attempts): the rule's fallback takes the lead", r->offer_attempts,
                         r->offer_attempts == 1 ? "" : "s", r->name);
            else
                snprintf(detail, sizeof detail, "attempt %u of %u (rule %s: offer.attempts)%s",
                         l->attempts, r->offer_attempts, r->name,
                         l->attempts == r->offer_attempts ? ": the rule's fallback takes the lead" : "");
            d.detail = detail;
        }
    } else if (l->noffer > 0) {
        names = malloc(l->noffer * sizeof *names);
        if (!names) return LR_ENOMEM;
        for (uint32_t i = 0; i < l->noffer; i++) names[i] = e->agents[l->offer[i]].conf->id;
        d.agents = names;
        d.nagents = l->noffer;
    }
    d.reason = reason;
    lr_engine_emit(e, &d);
    free(names);
    return LR_OK;
}

/* The offer of L ran out (or, with DECLINED_BY, that agent declined it):
 * the next attempt, or the rule's fallback. */
int lr_offer_failed(lr_engine *e, lr_lead_rt *l, uint32_t declined_by) {
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    const lr_pool_conf *pool = lr_lead_pool(e, l);
    uint32_t ri = l->rule;
    int rc = LR_OK;
    if (declined_by == LR_NO_AGENT && (rc = offer_expired(e, l, "offer_timeout")) != LR_OK)
        return rc;
    /* everyone it was offered to is out of the running for this lead */
    uint32_t n = l->noffer;
    uint32_t *offered = l->offer;
    l->offer = NULL;
    l->noffer = 0;
    if (l->agent != LR_NO_AGENT) lr_engine_unassign(e, l);
    lr_skip had = declined_by == LR_NO_AGENT ? LR_SKIP_EXPIRED : LR_SKIP_DECLINED;
    for (uint32_t i = 0; rc == LR_OK && i < n; i++) rc = lr_lead_exclude(l, offered[i], had);
    /* an offer to one agent let expire counts against it; a broadcast's
     * against nobody (a shark tank's members need not claim every lead) */
    if (declined_by == LR_NO_AGENT &&
        (r->strategy->mode != LR_MODE_BROADCAST || (e->legacy & LR_LEGACY_NO_ANSWER)))
        for (uint32_t i = 0; i < n; i++) no_answer(e, &e->agents[offered[i]], pool);
    free(offered);
    if (rc != LR_OK) return rc;
    lr_engine_set_state(e, l, LR_LEAD_NEW);
    const char *why = declined_by == LR_NO_AGENT ? "offer_expired" : "declined";
    bool single = n == 1 && r->strategy->mode == LR_MODE_ASSIGN;
    if (single && l->attempts < r->offer_attempts) return lr_route_retry(e, l, ri, why);
    return lr_route_after_failure(e, l, ri, false, why);
}

static int sla_breach(lr_engine *e, lr_lead_rt *l) {
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    lr_agent_rt *a = &e->agents[l->agent];
    char detail[LR_DETAIL_SIZE];
    snprintf(detail, sizeof detail, "no contacted progress within %lld s of the assignment "
             "(rule %s: sla.contact_within)", (long long)(r->sla_contact_ms / 1000), r->name);
    lr_decision d;
    rule_decision(e, &d, l, r->sla_then == LR_SLA_NOTIFY ? LR_ACTION_SLA_BREACHED
                                                         : LR_ACTION_REASSIGNED);
    d.agent = a->conf->id;
    d.reason = "sla";
    d.detail = detail;
    lr_engine_emit(e, &d);
    if (r->sla_then == LR_SLA_NOTIFY) return LR_OK;
    int rc = lr_lead_exclude(l, a->idx, LR_SKIP_REASSIGNED);
    if (rc != LR_OK) return rc;
    lr_engine_unassign(e, l);
    lr_engine_set_state(e, l, LR_LEAD_NEW);
    if (r->sla_then == LR_SLA_ESCALATE && r->ntiers > 1) {
        /* to the next tier of the same rule; at the last one, in it again */
        if ((size_t)l->tier + 1 < r->ntiers) l->tier++;
        l->tier_at = e->now;
        return lr_route_by_rule(e, l, l->rule, "sla");
    }
    return lr_route(e, l, "sla");
}

static int waited_too_long(lr_engine *e, lr_lead_rt *l) {
    lr_segment_dequeue(l->seg, l);
    l->seg = NULL;
    lr_decision d;
    rule_decision(e, &d, l, LR_ACTION_EXPIRED);
    d.reason = "max_wait";
    lr_engine_emit(e, &d);
    lr_engine_set_state(e, l, LR_LEAD_NEW);
    return lr_route_after_failure(e, l, l->rule, true, "max_wait");
}

static int recycle(lr_engine *e, lr_lead_rt *l) {
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    if (l->last_progress >= 0 && (r->recycle_unless & (1u << l->last_progress))) return LR_OK;
    lr_agent_rt *a = &e->agents[l->agent];
    lr_decision d;
    rule_decision(e, &d, l, LR_ACTION_RECYCLED);
    d.agent = a->conf->id;
    d.reason = "recycle";
    char detail[LR_DETAIL_SIZE];
    if (r->recycle_unless)
        snprintf(detail, sizeof detail, "no progress of recycle.unless within %lld s of the "
                 "assignment (rule %s: recycle.after)", (long long)(r->recycle_after_ms / 1000), r->name);
    else
        snprintf(detail, sizeof detail, "still assigned %lld s after the assignment (rule %s: "
                 "recycle.after, no recycle.unless)", (long long)(r->recycle_after_ms / 1000), r->name);
    d.detail = detail;
    lr_engine_emit(e, &d);
    int rc = lr_lead_exclude(l, a->idx, LR_SKIP_RECYCLED);
    if (rc != LR_OK) return rc;
    lr_engine_unassign(e, l);
    lr_engine_set_state(e, l, LR_LEAD_NEW);
    l->tier_at = e->now;                /* a new routing: escalate_after counts from it */
    return lr_route_by_rule(e, l, r->recycle_to, "recycled");
}

/* Nobody in the lead's tier took it in time: widen to the next tier. An
 * offer to one agent still running there ends (`expired`, why.reason
 * `escalated`) and that agent is out of the running for the lead, as if it
 * had timed out: the wider tier goes to someone else first. (A broadcast
 * widens: its agents stay among those it is offered to.) */
static int escalate(lr_engine *e, lr_lead_rt *l) {
    if (l->state == LR_LEAD_WAITING && l->seg) lr_segment_dequeue(l->seg, l);
    if (l->state == LR_LEAD_OFFERED && l->noffer &&
        e->cfg->rules[l->rule].strategy->mode != LR_MODE_BROADCAST) {
        int rc = offer_expired(e, l, "escalated");
        for (uint32_t i = 0; rc == LR_OK && i < l->noffer; i++)
            rc = lr_lead_exclude(l, l->offer[i], LR_SKIP_EXPIRED);
        if (rc != LR_OK) return rc;
    }
    lr_engine_unassign(e, l);           /* a reserved offer slot, if any */
    lr_lead_unwait(l);
    l->tier++;
    l->tier_at = e->now;
    l->attempts = 0;
    lr_engine_set_state(e, l, LR_LEAD_NEW);
    return lr_route_widened(e, l);
}

/* A deadline set under an earlier config fires only if the lead's rule
 * (or pool) still has that option: a config change that takes an SLA,
 * recycling, max_wait or escalation away takes it from the leads already
 * routed too. An offer in flight expires as it was made. */
int lr_fire_lead_timer(lr_engine *e, const lr_timer *t) {
    if (t->a >= e->nall) return LR_OK;
    lr_lead_rt *l = e->all[t->a];
    if (l->gen != t->b || l->rule == LR_NO_RULE) return LR_OK;     /* moved on since */
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    switch (t->kind) {
    case LR_TIMER_OFFER:
        return l->state == LR_LEAD_OFFERED ? lr_offer_failed(e, l, LR_NO_AGENT) : LR_OK;
    case LR_TIMER_SLA:
        return l->state == LR_LEAD_ASSIGNED && !l->contacted && r->sla_contact_ms > 0
            ? sla_breach(e, l) : LR_OK;
    case LR_TIMER_MAX_WAIT:
        return l->state == LR_LEAD_WAITING && l->seg && lr_lead_pool(e, l)->max_wait_ms > 0
            ? waited_too_long(e, l) : LR_OK;
    case LR_TIMER_RECYCLE:
        return l->state == LR_LEAD_ASSIGNED && r->recycle_after_ms > 0 ? recycle(e, l) : LR_OK;
    case LR_TIMER_ESCALATE:
        return (l->state == LR_LEAD_OFFERED || l->state == LR_LEAD_WAITING) &&
               r->escalate_after_ms > 0 && (size_t)l->tier + 1 < r->ntiers
            ? escalate(e, l) : LR_OK;
    default:
        return LR_OK;
    }
}
