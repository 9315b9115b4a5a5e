/* route.c -- from a lead to a decision: rules in order, the segment of the
 * matching rule, the strategy's pick, the fallback chain, and the
 * explanation of who was passed over and why.
 *
 * A rule whose strategy finds nobody falls back as it says: `next` tries
 * the next rule whose `when` holds, `queue` waits in the segment (and goes
 * out as soon as an agent there is ready again), `hold` waits for an admin,
 * and a rule name routes by that rule (whatever its `when`). A lead that no
 * rule could route is `unrouted`, never dropped.
 */
#include "core/engine_impl.h"
#include "core/schedule.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"
#include "leadrouter/expr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- segments ------------------------------------------------------------ */

/* The lead's value for a match constraint, as bytes; false when the lead
 * has no usable value (then no agent matches). */
static bool match_value(const lr_match *mt, const lr_lead *lead, char *num, size_t numlen,
                        const char **p, size_t *len) {
    lr_value v = mt->field >= 0 ? lr_lead_get(lead, (lr_lead_field)mt->field)
                                : lr_lead_get_custom(lead, mt->custom, strlen(mt->custom));
    if (v.type == LR_VSTR) { *p = v.u.s.ptr; *len = v.u.s.len; return true; }
    if (v.type == LR_VNUM) {
        int n = snprintf(num, numlen, "%.17g", v.u.n);
        *p = num; *len = (size_t)n;
        return true;
    }
    return false;
}

/* The lead's values for a rule's match constraints, read once for all the
 * agents a decision looks at (a new segment's pool, an explanation's
 * candidates) instead of once per agent: the first MATCH_VALUES_MAX of
 * them, p NULL where the lead has no value. */
#define MATCH_VALUES_MAX 8
#define IN_CHAIN 1                  /* e->visited: in the chain being followed */
#define TRIED 2                     /* e->visited: tried in this routing, found nobody */

typedef struct match_values {
    size_t n;                       /* values read: min(r->nmatch, MATCH_VALUES_MAX) */
    struct { const char *p; size_t len; char num[32]; } v[MATCH_VALUES_MAX];
} match_values;

static void read_match_values(const lr_rule_conf *r, const lr_lead *lead, match_values *mv) {
    mv->n = r->nmatch < MATCH_VALUES_MAX ? r->nmatch : MATCH_VALUES_MAX;
    for (size_t i = 0; i < mv->n; i++)
        if (!match_value(&r->match[i], lead, mv->v[i].num, sizeof mv->v[i].num, &mv->v[i].p,
                         &mv->v[i].len))
            mv->v[i].p = NULL;
}

/* Whether agent A's attributes hold the lead's value for every match
 * constraint of R (the values beyond MV's are read from LEAD here). */
static bool agent_matches(const lr_agent_conf *a, const lr_rule_conf *r, const lr_lead *lead,
                          const match_values *mv) {
    for (size_t i = 0; i < r->nmatch; i++) {
        char num[32];
        const char *v = NULL;
        size_t len = 0;
        if (i < mv->n) { v = mv->v[i].p; len = mv->v[i].len; }
        else if (!match_value(&r->match[i], lead, num, sizeof num, &v, &len)) v = NULL;
        if (!v) return false;
        const lr_attr *attr = lr_agent_attr(a, r->match[i].attr);
        if (!attr || !lr_attr_contains(attr, v, len)) return false;
    }
    return true;
}

static int add_membership(lr_agent_rt *a, lr_segment *s, uint32_t m) {
    if (a->nmem == a->capmem) {
        uint32_t cap = a->capmem ? a->capmem * 2 : 4;
        lr_membership *mem = realloc(a->mem, cap * sizeof *mem);
        if (!mem) return LR_ENOMEM;
        a->mem = mem;
        a->capmem = cap;
    }
    a->mem[a->nmem++] = (lr_membership){ s, m };
    return LR_OK;
}

/* Appends LEN, then the bytes: keys stay unambiguous whatever the bytes. */
static int key_part(lr_buf *k, const void *p, size_t len) {
    uint32_t n = (uint32_t)len;
    int rc = lr_buf_append(k, &n, sizeof n);
    return rc == LR_OK ? lr_buf_append(k, p, len) : rc;
}

int lr_segment_for(lr_engine *e, const lr_rule_conf *r, uint32_t pool_id, const lr_lead *lead,
                   lr_segment **out) {
    /* A rule without match constraints has one segment per pool: the one of
     * its first pool is cached on the rule. */
    size_t ri = (size_t)(r - e->cfg->rules);
    bool cacheable = r->nmatch == 0 && pool_id == r->pool;
    if (cacheable && e->rule_seg[ri]) { *out = e->rule_seg[ri]; return LR_OK; }

    /* key: pool, strategy, ignore_capacity, then each match's value */
    lr_buf *k = &e->key;
    lr_buf_reset(k);
    const char *sname = lr_strategy_name(r->strategy);
    int rc = key_part(k, &pool_id, sizeof pool_id);
    if (rc == LR_OK) rc = key_part(k, sname, strlen(sname));
    if (rc == LR_OK) rc = lr_buf_putc(k, r->ignore_capacity ? 'i' : 'c');
    bool has_value = true;
    for (size_t i = 0; rc == LR_OK && i < r->nmatch; i++) {
        char num[32];
        const char *v; size_t len;
        rc = key_part(k, r->match[i].attr, strlen(r->match[i].attr));
        if (rc != LR_OK) break;
        if (match_value(&r->match[i], lead, num, sizeof num, &v, &len)) {
            rc = lr_buf_putc(k, 's');
            if (rc == LR_OK) rc = key_part(k, v, len);
        } else {
            has_value = false;
            rc = lr_buf_putc(k, 'n');   /* no value: the segment has no members */
        }
    }
    if (rc != LR_OK) return rc;
    lr_segment *s = lr_map_get(&e->segments, k->data, k->len);
    if (s) {
        if (cacheable) e->rule_seg[ri] = s;
        *out = s;
        return LR_OK;
    }

    const lr_pool_conf *pool = lr_pool(e, pool_id);
    uint32_t *members = malloc((pool->nagents ? pool->nagents : 1) * sizeof *members);
    if (!members) return LR_ENOMEM;
    uint32_t n = 0;
    match_values mv;
    read_match_values(r, lead, &mv);
    for (size_t i = 0; has_value && i < pool->nagents; i++)
        if (agent_matches(&e->cfg->agents[pool->agents[i]], r, lead, &mv))
            members[n++] = pool->agents[i];
    rc = lr_segment_create(r->strategy, pool_id, r->ignore_capacity, pool->order, members, n,
                           e->agents, &s);
    free(members);
    if (rc != LR_OK) return rc;
    if (e->dry) {                       /* a preview's: kept aside, freed when it ends */
        s->dry = true;
        lr_segment **v = e->ndry == e->capdry
            ? realloc(e->dry_segs, (e->capdry ? e->capdry * 2 : 4) * sizeof *v) : e->dry_segs;
        if (!v) {
            lr_segment_destroy(s);
            return LR_ENOMEM;
        }
        if (e->ndry == e->capdry) e->capdry = e->capdry ? e->capdry * 2 : 4;
        e->dry_segs = v;
        e->dry_segs[e->ndry++] = s;
        *out = s;
        return lr_carry_apply(e, s, k->data, k->len);
    }
    if (!(s->key = malloc(k->len + 1))) rc = LR_ENOMEM;
    if (rc == LR_OK && e->nsegs == e->capsegs) {
        size_t cap = e->capsegs ? e->capsegs * 2 : 16;
        lr_segment **v = realloc(e->segs, cap * sizeof *v);
        if (!v) rc = LR_ENOMEM;
        else { e->segs = v; e->capsegs = cap; }
    }
    uint32_t added = 0;
    while (rc == LR_OK && added < n && (rc = add_membership(&e->agents[s->agents[added]], s,
                                                            added)) == LR_OK)
        added++;
    if (rc == LR_OK) {
        memcpy(s->key, k->data, k->len + 1);
        s->keylen = k->len;
        rc = lr_map_put(&e->segments, s->key, s->keylen, s);
    }
    if (rc != LR_OK) {
        while (added-- > 0) e->agents[s->agents[added]].nmem--;
        lr_segment_destroy(s);
        return rc;
    }
    e->segs[e->nsegs++] = s;
    if (cacheable) e->rule_seg[ri] = s;
    *out = s;
    return lr_carry_apply(e, s, s->key, s->keylen);
}

void lr_drop_dry_segments(lr_engine *e) {
    e->pick_seg = NULL;                 /* (a preview that ended early may have left it on one) */
    for (size_t i = 0; i < e->ndry; i++) lr_segment_destroy(e->dry_segs[i]);
    e->ndry = 0;
}


/* ---- explanations -------------------------------------------------------- */

/* See engine_impl.h. */
lr_skip lr_agent_unready(const lr_engine *e, uint32_t a, bool ignore_capacity) {
    const lr_agent_rt *rt = &e->agents[a];
    if (rt->status == LR_AGENT_AWAY) return LR_SKIP_AWAY;
    if (rt->status == LR_AGENT_OFFLINE) return LR_SKIP_OFFLINE;
    if (rt->conf->schedule) {
        lr_avail av = lr_schedule_at(rt->conf->schedule, e->now);
        if (av == LR_AVAIL_OFF_SHIFT) return LR_SKIP_OFF_SHIFT;
        if (av == LR_AVAIL_OUT_OF_OFFICE) return LR_SKIP_OUT_OF_OFFICE;
    }
    if (!ignore_capacity && rt->conf->capacity >= 0 && rt->open >= rt->conf->capacity)
        return LR_SKIP_AT_CAPACITY;
    int c = lr_agent_capped(rt, e->now);
    if (c >= 0) return (lr_skip)(LR_SKIP_CAP_HOUR + c);
    return LR_SKIP_NONE;
}

/* Why agent A, whose attributes satisfy R's match, cannot take L now:
 * LR_SKIP_NONE when it can. */
static lr_skip skip_reason_matched(const lr_engine *e, const lr_lead_rt *l,
                                   const lr_rule_conf *r, uint32_t a) {
    lr_skip had = lr_lead_excluded(l, a);
    return had != LR_SKIP_NONE ? had : lr_agent_unready(e, a, r->ignore_capacity);
}

static lr_skip skip_reason(const lr_engine *e, const lr_lead_rt *l, const lr_rule_conf *r,
                           uint32_t a, const match_values *mv) {
    if (!agent_matches(e->agents[a].conf, r, l->lead, mv)) return LR_SKIP_NO_MATCH;
    return skip_reason_matched(e, l, r, a);
}

lr_skip lr_skip_reason(const lr_engine *e, const lr_lead_rt *l, const lr_rule_conf *r,
                       uint32_t a) {
    match_values mv;
    read_match_values(r, l->lead, &mv);
    return skip_reason(e, l, r, a, &mv);
}

/* Sets C's figures: those R's strategy ranks agent A by, as they stand
 * now (decision.h). M: A's member number in the segment of the pick being
 * explained, when the caller knows it (checked), else LR_SEG_NONE. */
void lr_rank_figures(const lr_engine *e, const lr_rule_conf *r, uint32_t a, uint32_t m,
                     lr_candidate *c) {
    unsigned want = r->strategy->figs;
    c->figs = 0;
    if (!want) return;
    const lr_agent_rt *rt = &e->agents[a];
    unsigned got = want & (1u << LR_FIG_OPEN | 1u << LR_FIG_WEIGHT);
    c->fig[LR_FIG_OPEN] = rt->open;
    c->fig[LR_FIG_WEIGHT] = rt->conf->weight;
    if ((want & 1u << LR_FIG_CAPACITY) && rt->conf->capacity >= 0) {
        c->fig[LR_FIG_CAPACITY] = rt->conf->capacity;
        got |= 1u << LR_FIG_CAPACITY;
    }
    if ((want & 1u << LR_FIG_IDLE_MS) && rt->last_assigned != LR_TIME_NONE) {
        c->fig[LR_FIG_IDLE_MS] = e->now - rt->last_assigned;
        got |= 1u << LR_FIG_IDLE_MS;
    }
    lr_time since = e->now - r->window_ms;
    if (want & 1u << LR_FIG_RECEIVED) {
        c->fig[LR_FIG_RECEIVED] = lr_timelog_count_since(&rt->received, since, NULL);
        got |= 1u << LR_FIG_RECEIVED;
    }
    if (want & 1u << LR_FIG_CLOSED) {
        uint32_t won;
        uint32_t closed = lr_timelog_count_since(&rt->outcomes, since, &won);
        c->fig[LR_FIG_WON] = won;
        c->fig[LR_FIG_CLOSED] = closed;
        got |= 1u << LR_FIG_WON | 1u << LR_FIG_CLOSED;
        if (closed < r->min_sample) got |= 1u << LR_FIG_BELOW_MIN_SAMPLE;
    }
    /* a credit at the pick: the chosen's as taken before the pick counted;
     * another ready member's has had its weight added by a counted pick,
     * not yet by a preview's */
    const lr_segment *s = e->pick_seg;
    if ((want & 1u << LR_FIG_CREDIT) && s && s->strat == r->strategy) {
        if (a == e->pick_agent) {
            c->fig[LR_FIG_CREDIT] = e->pick_credit;
            got |= 1u << LR_FIG_CREDIT;
        } else {
            if (m >= s->n || s->agents[m] != a) m = lr_segment_member(s, a);
            if (m != LR_SEG_NONE && lr_segment_is_ready(s, m)) {
                c->fig[LR_FIG_CREDIT] = s->strat->credit(s, m) + (e->pick_counted ? 0 : rt->conf->weight);
                got |= 1u << LR_FIG_CREDIT;
            }
        }
    }
    c->figs = got;
}

/* The candidates are the pool's first `limit` members, plus the chosen
 * one wherever it stands (named directly: never a walk through the rest
 * of a large pool). Whether a member matches the rule is read from the
 * segment of (rule, pool, the lead's match values): its members are the
 * pool's matching agents in pool order, so one walk along both lists
 * answers for every candidate, without comparing attributes again. */
int lr_explain(lr_engine *e, lr_decision *d, const lr_lead_rt *l, const lr_rule_conf *r,
               uint32_t chosen, bool offer) {
    if (!e->explain) return LR_OK;
    uint32_t pool_id = lr_rule_pool(e, l->rule, l->tier);
    const lr_pool_conf *pool = lr_pool(e, pool_id);
    size_t limit = e->cfg->explain_limit;
    size_t want = (pool->nagents < limit ? pool->nagents : limit) + 1;
    if (want > e->capcands) {
        lr_candidate *c = realloc(e->cands, want * sizeof *c);
        if (!c) return LR_ENOMEM;
        e->cands = c;
        e->capcands = want;
    }
    const lr_segment *seg = NULL;           /* NULL: every member matches */
    if (r->nmatch > 0) {
        lr_segment *s;
        int rc = lr_segment_for(e, r, pool_id, l->lead, &s);
        if (rc != LR_OK) return rc;
        seg = s;
    }
    if (e->replaying) return LR_OK;         /* the segment made, as live; nobody reads the rest */
    size_t n = 0, upto = pool->nagents < limit ? pool->nagents : limit;
    uint32_t m = 0;                         /* the next member of seg */
    bool chosen_seen = chosen == LR_NO_AGENT;
    for (size_t i = 0; i <= upto; i++) {
        uint32_t a;
        if (i < upto) a = pool->agents[i];
        else if (!chosen_seen && pool->nagents > limit) a = chosen;
        else break;
        bool matches = true;
        uint32_t member = i < upto && !seg ? (uint32_t)i : LR_SEG_NONE;   /* a guess */
        if (seg && i < upto) {
            matches = m < seg->n && seg->agents[m] == a;
            if (matches) member = m++;
        }
        const lr_agent_conf *ac = e->agents[a].conf;
        lr_candidate *c = &e->cands[n++];
        c->agent = ac->id;
        c->agent_len = ac->id_len;
        c->figs = 0;
        if (a == chosen) {
            c->reason = LR_SKIP_NONE;
            chosen_seen = true;
            c->figs = e->chosen_figs.figs;
            memcpy(c->fig, e->chosen_figs.fig, sizeof c->fig);
        } else {
            c->reason = !matches ? LR_SKIP_NO_MATCH : skip_reason_matched(e, l, r, a);
        }
        if (c->reason != LR_SKIP_NONE) {
            c->state = LR_CAND_SKIPPED;
        } else {
            c->state = (a == chosen || offer) ? LR_CAND_CHOSEN : LR_CAND_ELIGIBLE;
            if (a != chosen) lr_rank_figures(e, r, a, member, c);
        }
    }
    d->cands = e->cands;
    d->ncands = n;
    d->pool_size = pool->nagents;
    return LR_OK;
}

/* ---- one rule ------------------------------------------------------------ */

static void decision_for_rule(const lr_engine *e, lr_decision *d, const lr_lead_rt *l,
                              const lr_rule_conf *r, lr_action action) {
    memset(d, 0, sizeof *d);
    d->at = e->now;
    d->lead = lr_lead_id(l->lead);
    d->action = action;
    d->rule = r->name;
    d->pool = lr_lead_pool(e, l)->name;
    d->strategy = lr_strategy_name(r->strategy);
}

static int ensure_scratch(lr_engine *e, size_t n) {
    if (n <= e->capscratch) return LR_OK;
    uint32_t *p = realloc(e->scratch, n * sizeof *p);
    if (!p) return LR_ENOMEM;
    e->scratch = p;
    e->capscratch = n;
    return LR_OK;
}

/* The owner of a lead: the account it names or its email domain belongs
 * to, else the agent of an open lead with the same email or phone. */
static uint32_t find_owner(const lr_engine *e, const lr_lead *lead) {
    const lr_account_conf *acct = NULL;
    const char *s = lead->str[LR_LF_ACCOUNT];
    if (s) acct = lr_map_get(&e->account_ids, s, strlen(s));
    const char *email = lead->str[LR_LF_EMAIL];
    if (!acct && email) {
        const char *at = strrchr(email, '@');
        if (at && at[1]) {
            char dom[256];
            size_t n = strlen(at + 1);
            if (n < sizeof dom) {
                for (size_t i = 0; i < n; i++) {
                    char c = at[1 + i];
                    dom[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
                }
                acct = lr_map_get(&e->account_domains, dom, n);
            }
        }
    }
    if (acct) return acct->owner;
    const lr_lead_rt *prev = NULL;
    if (email) prev = lr_map_get(&e->by_email, email, strlen(email));
    const char *phone = lead->str[LR_LF_PHONE];
    if (!prev && phone) prev = lr_map_get(&e->by_phone, phone, strlen(phone));
    /* (an agent number out of range: a config change journaled before
     * LR_RECONF_OWNER_INDEX replaying, which renumbered leads as it routed) */
    return prev && prev->state == LR_LEAD_ASSIGNED && prev->agent < e->cfg->nagents ? prev->agent
                                                                                   : LR_NO_AGENT;
}

/* Picks a ready member of S for L with the lead's excluded agents taken
 * out for the pick (as nginx skips the peers a request already tried). */
static int pick_member(lr_engine *e, lr_segment *s, lr_lead_rt *l, const lr_rule_conf *r,
                       uint32_t *out) {
    int rc = ensure_scratch(e, l->nexcl);
    if (rc != LR_OK) return rc;
    uint32_t nout = 0;
    for (uint32_t i = 0; i < l->nexcl; i++) {
        uint32_t m = lr_segment_member(s, LR_EXCL_AGENT(l->excl[i]));
        if (m != LR_SEG_NONE && lr_segment_is_ready(s, m)) {
            lr_segment_set_ready(s, m, false);
            e->scratch[nout++] = m;
        }
    }
    lr_pick_ctx ctx = { l->lead, r, e->now, &e->rng,
                        (r->strategy->needs & LR_NEEDS_OWNER) ? find_owner(e, l->lead) : LR_NO_AGENT };
    uint32_t m = lr_segment_pick(s, &ctx);
    e->pick_seg = NULL;
    if (m != LR_SEG_NONE && s->strat->credit && e->explain && !e->replaying) {
        e->pick_seg = s;                /* its credits, for lr_rank_figures */
        e->pick_agent = s->agents[m];
        e->pick_credit = s->strat->credit(s, m) + e->agents[s->agents[m]].conf->weight;
        e->pick_counted = !e->dry;
    }
    if (m != LR_SEG_NONE && !e->dry) lr_segment_chosen(s, m);
    for (uint32_t i = 0; i < nout; i++) lr_segment_set_ready(s, e->scratch[i], true);
    *out = m;
    return LR_OK;
}

/* Offers L to every ready, not excluded member of S. Returns LR_OK with
 * *offered false when there is nobody. */
static int offer_all(lr_segment *s, lr_lead_rt *l, bool *offered) {
    *offered = false;
    uint32_t *list = malloc((s->ready.count ? s->ready.count : 1) * sizeof *list);
    if (!list) return LR_ENOMEM;
    uint32_t n = 0;
    for (uint32_t m = lr_bitset_next(&s->ready, 0); m != LR_BITSET_NONE;
         m = lr_bitset_next(&s->ready, m + 1))
        if (!lr_lead_excludes(l, s->agents[m])) list[n++] = s->agents[m];
    if (n == 0) { free(list); return LR_OK; }
    free(l->offer);
    l->offer = list;
    l->noffer = n;
    l->seg = s;
    *offered = true;
    return LR_OK;
}

static void arm_at(lr_engine *e, lr_lead_rt *l, lr_timer_kind kind, lr_time at) {
    /* On ENOMEM the deadline is lost, never the lead: it stays as it is. */
    if (!e->dry) lr_timers_push(&e->timers, at, kind, (uint32_t)l->seq, l->gen);
}

static void arm(lr_engine *e, lr_lead_rt *l, lr_timer_kind kind, int64_t after) {
    if (after > 0) arm_at(e, l, kind, e->now + after);
}

/* A lead offered or queued in a tier that is not the last widens to the
 * next tier escalate_after after it entered the tier, however many offers
 * and queueings it had there (each one re-arms the same deadline: a timer
 * of an earlier state is dropped by its gen). One already past fires at
 * once. When L's next escalation falls (LR_TIME_NONE: it has none). */
static lr_time escalation_at(const lr_engine *e, const lr_lead_rt *l, const lr_rule_conf *r) {
    if (r->ntiers <= 1 || (size_t)l->tier + 1 >= r->ntiers || r->escalate_after_ms <= 0)
        return LR_TIME_NONE;
    lr_time at = (e->legacy & LR_LEGACY_TIER_CLOCK) ? e->now + r->escalate_after_ms
                                                     : l->tier_at + r->escalate_after_ms;
    return at > e->now ? at : e->now;
}

static void arm_escalation(lr_engine *e, lr_lead_rt *l, const lr_rule_conf *r) {
    lr_time at = escalation_at(e, l, r);
    if (at != LR_TIME_NONE) arm_at(e, l, LR_TIMER_ESCALATE, at);
}

/* When an offer of L made now lapses unanswered (its decision's
 * expires_at): after the rule's offer.timeout, or sooner when the lead's
 * tier escalates first (escalation_at; that ends one agent's offer, not
 * a broadcast's). */
static lr_time offer_deadline(const lr_engine *e, const lr_lead_rt *l, const lr_rule_conf *r) {
    lr_time t = e->now + r->offer_timeout_ms;
    lr_time esc = r->strategy->mode == LR_MODE_BROADCAST ? LR_TIME_NONE : escalation_at(e, l, r);
    return esc != LR_TIME_NONE && esc < t ? esc : t;
}

void lr_arm_assigned(lr_engine *e, lr_lead_rt *l) {
    if (l->rule == LR_NO_RULE) return;
    const lr_rule_conf *r = &e->cfg->rules[l->rule];
    arm(e, l, LR_TIMER_SLA, r->sla_contact_ms);
    arm(e, l, LR_TIMER_RECYCLE, r->recycle_after_ms);
}

static int emit_offer(lr_engine *e, lr_lead_rt *l, const lr_rule_conf *r, const char *reason) {
    if (l->noffer > e->capnames) {
        const char **p = realloc(e->names, l->noffer * sizeof *p);
        if (!p) return LR_ENOMEM;
        e->names = p;
        e->capnames = l->noffer;
    }
    for (uint32_t i = 0; i < l->noffer; i++) e->names[i] = e->agents[l->offer[i]].conf->id;
    if (!e->dry) lr_engine_set_state(e, l, LR_LEAD_OFFERED);
    arm(e, l, LR_TIMER_OFFER, r->offer_timeout_ms);
    arm_escalation(e, l, r);
    lr_decision d;
    decision_for_rule(e, &d, l, r, LR_ACTION_OFFERED);
    d.agents = e->names;
    d.nagents = l->noffer;
    if (r->offer_timeout_ms > 0) d.expires_at = offer_deadline(e, l, r);
    d.reason = reason;
    int rc = lr_explain(e, &d, l, r, LR_NO_AGENT, true);
    if (rc != LR_OK) return rc;
    lr_engine_emit(e, &d);
    return LR_OK;
}

/* Gives L to AGENT, or, when the rule has an offer stage, offers it to
 * AGENT alone: the slot is reserved, the agent must accept before
 * offer.timeout (lead_rt.h: slots). */
static int emit_assigned(lr_engine *e, lr_lead_rt *l, const lr_rule_conf *r, uint32_t agent,
                         lr_action action, const char *reason) {
    bool offer = r->offer_timeout_ms > 0 && action == LR_ACTION_ASSIGNED;
    if (e->explain && !e->replaying) lr_rank_figures(e, r, agent, LR_SEG_NONE, &e->chosen_figs);
    int rc = e->dry ? LR_OK : lr_engine_assign(e, l, agent);
    if (rc != LR_OK) return rc;
    if (offer) {
        uint32_t *o = e->dry ? NULL : malloc(sizeof *o);
        if (!e->dry) {
            if (!o) return LR_ENOMEM;
            o[0] = agent;
            free(l->offer);
            l->offer = o;
            l->noffer = 1;
            l->attempts++;
            lr_engine_set_state(e, l, LR_LEAD_OFFERED);
        }
        arm(e, l, LR_TIMER_OFFER, r->offer_timeout_ms);
        arm_escalation(e, l, r);
        action = LR_ACTION_OFFERED;
    } else {
        lr_arm_assigned(e, l);
    }
    lr_decision d;
    decision_for_rule(e, &d, l, r, action);
    d.agent = e->agents[agent].conf->id;
    d.reason = reason;
    if (offer) d.expires_at = offer_deadline(e, l, r);
    rc = lr_explain(e, &d, l, r, agent, false);
    if (rc != LR_OK) return rc;
    lr_engine_emit(e, &d);
    return LR_OK;
}

static int emit_waiting(lr_engine *e, lr_lead_rt *l, const lr_rule_conf *r, lr_segment *s,
                        lr_action action, const char *reason) {
    if (e->dry) {
        /* preview: say what would happen, change nothing */
    } else if (action == LR_ACTION_QUEUED) {
        int rc = lr_segment_enqueue(s, l);
        if (rc != LR_OK) return rc;
        lr_engine_set_state(e, l, LR_LEAD_WAITING);
        l->auto_dispatch = s->strat->mode == LR_MODE_ASSIGN || s->strat->mode == LR_MODE_BROADCAST;
        /* queued with a member ready (its offers ran out, and a member it
         * was not offered to is free): it goes out after this event */
        if (l->auto_dispatch && s->ready.count && !(e->legacy & LR_LEGACY_QUEUE_WAITS))
            lr_engine_want_dispatch(e, s);
        arm(e, l, LR_TIMER_MAX_WAIT, lr_lead_pool(e, l)->max_wait_ms);
        arm_escalation(e, l, r);
    } else {
        lr_engine_set_state(e, l, LR_LEAD_HELD);
    }
    lr_decision d;
    decision_for_rule(e, &d, l, r, action);
    d.reason = reason;
    int rc = lr_explain(e, &d, l, r, LR_NO_AGENT, false);
    if (rc != LR_OK) return rc;
    lr_engine_emit(e, &d);
    return LR_OK;
}

/* Why an owner rule found nobody: the lead has no owner, its owner is not
 * in the rule's pool (in the tier the lead is in), or is there but cannot
 * take it now (the candidates say why: no_match too, when a `match` left
 * it out of the lead's part of the pool). The other members may be
 * eligible: they are not the owner. */
static const char *owner_missing(lr_engine *e, const lr_lead_rt *l) {
    uint32_t owner = find_owner(e, l->lead);
    if (owner == LR_NO_AGENT) return "no_owner";
    const lr_pool_conf *pool = lr_lead_pool(e, l);
    for (size_t i = 0; i < pool->nagents; i++)
        if (pool->agents[i] == owner) return "owner_unavailable";
    return "owner_not_in_pool";
}

/* Tries rule RI alone. *done is false when nobody could take the lead;
 * *seg then names the segment that was tried, and *why the cause when it
 * is more than "no eligible agent" (else NULL). */
static int try_rule(lr_engine *e, lr_lead_rt *l, uint32_t ri, const char *reason, bool *done,
                    lr_segment **seg, const char **why) {
    const lr_rule_conf *r = &e->cfg->rules[ri];
    if (l->rule != ri) {                /* tiers are per rule */
        l->tier = 0;
        l->tier_at = e->now;
    }
    l->rule = ri;
    lr_segment *s;
    int rc = lr_segment_for(e, r, lr_rule_pool(e, ri, l->tier), l->lead, &s);
    if (rc != LR_OK) return rc;
    *seg = s;
    *done = true;
    *why = NULL;
    switch (r->strategy->mode) {
    case LR_MODE_ASSIGN: {
        uint32_t m;
        rc = pick_member(e, s, l, r, &m);
        if (rc != LR_OK) return rc;
        if (m == LR_SEG_NONE) {
            *done = false;
            if (r->strategy->needs & LR_NEEDS_OWNER) *why = owner_missing(e, l);
            return LR_OK;
        }
        return emit_assigned(e, l, r, s->agents[m], LR_ACTION_ASSIGNED, reason);
    }
    case LR_MODE_BROADCAST: {
        bool offered;
        rc = offer_all(s, l, &offered);
        if (rc != LR_OK || !offered) { *done = false; return rc; }
        return emit_offer(e, l, r, reason);
    }
    case LR_MODE_QUEUE:
    case LR_MODE_OPEN_POOL:
        return emit_waiting(e, l, r, s, LR_ACTION_QUEUED, reason);
    case LR_MODE_MANUAL:
    default:
        return emit_waiting(e, l, r, s, LR_ACTION_HELD, reason);
    }
}

/* What rule RI's fallback does once RI found nobody (S: its segment, or
 * NULL), or its offers or its queue's max_wait ran out. Returns with *next
 * set to the next rule of the chain to try, or LR_NO_RULE with *done
 * saying whether the lead was placed (queued, held: why.reason REASON) or
 * falls through to the rules after (`next`). QUEUE_AS_NEXT: a lead that
 * has waited its max_wait does not queue again. */
static int fall_back(lr_engine *e, lr_lead_rt *l, uint32_t ri, lr_segment *s, bool queue_as_next,
                     const char *reason, uint32_t *next, bool *done) {
    const lr_rule_conf *r = &e->cfg->rules[ri];
    *next = LR_NO_RULE;
    *done = false;
    e->visited[ri] |= IN_CHAIN;
    switch (r->fallback) {
    case LR_FALLBACK_QUEUE:
        if (queue_as_next) return LR_OK;
        if (!s) {
            int rc = lr_segment_for(e, r, lr_rule_pool(e, ri, l->tier), l->lead, &s);
            if (rc != LR_OK) return rc;
        }
        *done = true;
        return emit_waiting(e, l, r, s, LR_ACTION_QUEUED, reason);
    case LR_FALLBACK_HOLD:
        *done = true;
        return emit_waiting(e, l, r, s, LR_ACTION_HELD, reason);
    case LR_FALLBACK_RULE:
        if (!(e->visited[r->fallback_rule] & IN_CHAIN)) *next = r->fallback_rule;
        return LR_OK;
    case LR_FALLBACK_NEXT:
    default:
        return LR_OK;
    }
}

/* Tries rule RI and follows its fallback chain; a fallback's decision
 * says WHY_NONE. *done is false when the chain ends in `next`.
 *
 * e->visited: IN_CHAIN marks the rules of this chain (no rule twice in
 * one); TRIED the rules tried since the routing began (the entry points
 * clear it), each of which found nobody and followed its own chain to
 * its end without placing the lead. Trying one again would do the same
 * (nothing changed since): a chain that comes to one ends there, and the
 * rules in order skip it (a chain of N fallbacks, each rule also tried in
 * order, was N^2 tries a lead). A rule that let the lead go (its offers
 * or its wait ran out) was not tried in this routing: a later rule's
 * fallback to it tries it again, as ever. */
static int follow(lr_engine *e, lr_lead_rt *l, uint32_t ri, const char *reason,
                  const char *why_none, bool *done) {
    for (uint32_t i = 0; i < e->cfg->nrules; i++) e->visited[i] &= (uint8_t)~IN_CHAIN;
    *done = false;
    while (ri != LR_NO_RULE && !(e->visited[ri] & TRIED)) {
        lr_segment *s = NULL;
        const char *why = NULL;
        int rc = try_rule(e, l, ri, reason, done, &s, &why);
        if (rc != LR_OK || *done) return rc;
        e->visited[ri] |= TRIED;
        /* an owner rule says what kept its owner from the lead, unless
         * the lead is here for a cause of its own (an expired offer...) */
        if (!why || strcmp(why_none, "no_eligible_agent") != 0) why = why_none;
        rc = fall_back(e, l, ri, s, false, why, &ri, done);
        if (rc != LR_OK || *done) return rc;
    }
    return LR_OK;
}

/* DETAIL followed by how many agents had L before and may not have it
 * again, by the way they lost it: "; 2 agents had this lead before and
 * may not have it again (1 declined it, 1 let its offer expire)". */
static void lost_detail(const lr_lead_rt *l, const char *detail, char *out, size_t size) {
    static const struct { lr_skip why; const char *one, *many; } ways[] = {
        { LR_SKIP_DECLINED, "declined it", "declined it" },
        { LR_SKIP_EXPIRED, "let its offer expire", "let their offers expire" },
        { LR_SKIP_RELEASED, "released it", "released it" },
        { LR_SKIP_REASSIGNED, "lost it to an SLA", "lost it to an SLA" },
        { LR_SKIP_RECYCLED, "lost it to a recycling", "lost it to a recycling" },
    };
    int n = snprintf(out, size, "%s; %u agent%s had this lead before and may not have it again (",
                     detail, l->nexcl, l->nexcl == 1 ? "" : "s");
    const char *sep = "";
    for (size_t w = 0; w < sizeof ways / sizeof ways[0]; w++) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < l->nexcl; i++) k += LR_EXCL_WHY(l->excl[i]) == ways[w].why;
        if (!k || n < 0 || (size_t)n >= size) continue;
        n += snprintf(out + n, size - (size_t)n, "%s%u %s", sep, k, k == 1 ? ways[w].one : ways[w].many);
        sep = ", ";
    }
    if (n >= 0 && (size_t)n < size) snprintf(out + n, size - (size_t)n, ")");
}

/* Unrouted: no rule matched, or every rule that did found nobody; with
 * LET_GO, the lead's own rule had it and let it go (a queue's max_wait,
 * offers run out, declined by all), and the rules after it found nobody
 * (its agents may be ready again by now: the rule is done with it). */
static int unrouted(lr_engine *e, lr_lead_rt *l, bool any_rule, bool let_go) {
    if (!e->dry) lr_engine_set_state(e, l, LR_LEAD_UNROUTED);
    l->rule = LR_NO_RULE;
    lr_decision d;
    memset(&d, 0, sizeof d);
    d.at = e->now;
    d.lead = lr_lead_id(l->lead);
    d.action = LR_ACTION_UNROUTED;
    d.reason = any_rule ? "no_eligible_agent" : "no_rule_matched";
    d.detail = let_go     ? "its rule let it go (its wait or its offers ran out, or it was declined) "
                            "and no rule after it found anyone eligible"
               : any_rule ? "every rule that matched found nobody eligible and fell through"
                          : "no rule's `when` holds for this lead";
    /* agents ready but kept from this lead would read as nobody there */
    char detail[LR_DETAIL_SIZE];
    if (any_rule && l->nexcl) {
        lost_detail(l, d.detail, detail, sizeof detail);
        d.detail = detail;
    }
    lr_engine_emit(e, &d);
    return LR_OK;
}

/* The rules from FROM on, in order, as lr_route(); a fallback's decision
 * says WHY_NONE. */
static int route_from(lr_engine *e, lr_lead_rt *l, uint32_t from, bool any_rule, bool let_go,
                      const char *reason, const char *why_none) {
    l->attempts = 0;
    l->tier = 0;
    l->tier_at = e->now;
    for (uint32_t ri = from; ri < e->cfg->nrules; ri++) {
        const lr_rule_conf *r = &e->cfg->rules[ri];
        if (e->visited[ri] & TRIED) continue;   /* tried in a chain: found nobody */
        if (r->when && !lr_expr_eval_at(r->when, l->lead, e->now)) continue;
        any_rule = true;
        bool done;
        int rc = follow(e, l, ri, reason, why_none, &done);
        if (rc != LR_OK || done) return rc;
    }
    return unrouted(e, l, any_rule, let_go);
}

int lr_route(lr_engine *e, lr_lead_rt *l, const char *reason) {
    memset(e->visited, 0, e->cfg->nrules);
    return route_from(e, l, 0, false, false, reason, "no_eligible_agent");
}

/* Rule RI, then (it placed nothing) the rules after it, which route the
 * lead as their own: what they cannot place says no_eligible_agent
 * whatever WHY_NONE said of RI. */
static int route_by_rule(lr_engine *e, lr_lead_rt *l, uint32_t ri, const char *reason,
                         const char *why_none) {
    uint32_t attempts = l->attempts;
    bool done;
    memset(e->visited, 0, e->cfg->nrules);
    int rc = follow(e, l, ri, reason, why_none, &done);
    l->attempts = done ? l->attempts : attempts;
    if (rc != LR_OK || done) return rc;
    return route_from(e, l, ri + 1, true, false, reason, "no_eligible_agent");
}

int lr_route_by_rule(lr_engine *e, lr_lead_rt *l, uint32_t ri, const char *reason) {
    return route_by_rule(e, l, ri, reason, "no_eligible_agent");
}

int lr_route_widened(lr_engine *e, lr_lead_rt *l) {
    /* an escalation that finds nobody in the wider tier still says so */
    return route_by_rule(e, l, l->rule, "escalated", "escalated");
}

int lr_route_retry(lr_engine *e, lr_lead_rt *l, uint32_t ri, const char *reason) {
    uint32_t attempts = l->attempts;
    lr_segment *s = NULL;
    const char *why;
    bool done;
    int rc = try_rule(e, l, ri, reason, &done, &s, &why);
    if (rc != LR_OK || done) return rc;
    l->attempts = attempts;
    return lr_route_after_failure(e, l, ri, false, reason);
}

int lr_route_after_failure(lr_engine *e, lr_lead_rt *l, uint32_t ri, bool queue_as_next,
                           const char *reason) {
    memset(e->visited, 0, e->cfg->nrules);
    uint32_t next;
    bool done;
    int rc = fall_back(e, l, ri, NULL, queue_as_next, reason, &next, &done);
    if (rc != LR_OK || done) return rc;
    if (next != LR_NO_RULE) {
        /* the chain goes on from rule NEXT, the fallback: a fallback there
         * that places the lead still says the cause (offer_expired,
         * declined, ...); the rules after RI (`next`) place it as their own */
        rc = follow(e, l, next, reason, reason, &done);
        if (rc != LR_OK || done) return rc;
    }
    return route_from(e, l, ri + 1, true, true, reason, "no_eligible_agent");
}

/* ---- leads waiting for capacity ------------------------------------------ */

/* Whether S's next lead may go now: any, or one that comes before lead
 * BEFORE in S's queue order. */
static bool may_go(const lr_segment *s, const lr_lead_rt *before) {
    return s->qn && s->ready.count && (!before || lr_queue_before(s->order, lr_segment_head(s), before));
}

/* Gives one of S's waiting leads, the first in queue order that a ready
 * member may take, to that member (one that comes before BEFORE, when
 * given). Leads nobody ready may take (they all declined it or let it
 * expire) are skipped, however many there are: a lead behind them must
 * not wait for ever (each skipped lead costs a dequeue and an enqueue).
 * *gave says whether a lead went out. */
static int dispatch_one(lr_engine *e, lr_segment *s, const lr_lead_rt *before, bool *gave) {
    size_t naside = 0;
    int rc = LR_OK;
    *gave = false;
    while (rc == LR_OK && !*gave && may_go(s, before)) {
        if (naside == e->capaside) {
            size_t cap = e->capaside ? e->capaside * 2 : 64;
            lr_lead_rt **v = realloc(e->aside, cap * sizeof *v);
            if (!v) { rc = LR_ENOMEM; break; }
            e->aside = v;
            e->capaside = cap;
        }
        lr_lead_rt *l = lr_segment_head(s);
        lr_segment_dequeue(s, l);
        const lr_rule_conf *r = &e->cfg->rules[l->rule];
        if (s->strat->mode == LR_MODE_BROADCAST) {
            bool offered;
            rc = offer_all(s, l, &offered);
            if (rc == LR_OK && offered) { rc = emit_offer(e, l, r, "capacity_freed"); *gave = true; }
            else e->aside[naside++] = l;
            continue;
        }
        uint32_t m;
        rc = pick_member(e, s, l, r, &m);
        if (rc == LR_OK && m != LR_SEG_NONE) {
            rc = emit_assigned(e, l, r, s->agents[m], LR_ACTION_ASSIGNED, "capacity_freed");
            *gave = true;
        } else {
            e->aside[naside++] = l;         /* nobody ready may take it (or ENOMEM) */
        }
    }
    for (size_t i = 0; i < naside; i++) {  /* (room: they were just taken out) */
        int rc2 = lr_segment_enqueue(s, e->aside[i]);
        if (rc2 != LR_OK && rc == LR_OK) rc = rc2;
    }
    return rc;
}

/* Segments that gained a ready member give out their waiting leads. When
 * several of them hold leads (one pool split by match values), the lead
 * first in the pool's queue order goes first, one lead at a time, so the
 * order holds across the split. Only leads that come before lead BEFORE in
 * their segment's order go (NULL: all); a segment whose next lead is not
 * one of them is listed again for later. */
static int dispatch_dirty(lr_engine *e, const lr_lead_rt *before) {
    size_t n = 0;
    for (lr_segment *s = e->dirty; s; s = s->next_dirty) n++;
    if (n == 0) return LR_OK;
    lr_segment **v = malloc(2 * n * sizeof *v);   /* the segments; then those left for later */
    if (!v) return LR_ENOMEM;
    size_t n0 = n, nlater = 0;
    n = 0;
    while (e->dirty) {
        lr_segment *s = e->dirty;
        e->dirty = s->next_dirty;
        s->listed = false;
        s->dirty = false;
        if (s->strat->mode == LR_MODE_ASSIGN || s->strat->mode == LR_MODE_BROADCAST)
            v[n++] = s;
    }
    int rc = LR_OK;
    while (rc == LR_OK) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            lr_segment *s = v[i];
            if (!may_go(s, before)) continue;
            if (best == n || lr_queue_before(s->order, lr_segment_head(s), lr_segment_head(v[best])))
                best = i;
        }
        if (best == n) break;
        bool gave;
        rc = dispatch_one(e, v[best], before, &gave);
        if (rc == LR_OK && !gave) {     /* nothing it can give now */
            lr_segment *s = v[best];
            v[best] = v[--n];
            /* it stopped at a lead that must wait for BEFORE (past leads
             * nobody may take): that one may go later */
            if (before && s->qn && s->ready.count) v[n0 + nlater++] = s;
        }
    }
    /* A pick that set excluded members aside and back may have marked
     * segments again; they are looked at once more (each pass gives a lead
     * out or drops a segment, so this ends). */
    if (rc == LR_OK && e->dirty) rc = dispatch_dirty(e, before);
    for (size_t i = 0; i < n && before; i++)           /* what waits for later */
        if (v[i]->qn && v[i]->ready.count) lr_engine_want_dispatch(e, v[i]);
    for (size_t i = 0; i < nlater; i++) lr_engine_want_dispatch(e, v[n0 + i]);
    free(v);
    return rc;
}

int lr_dispatch_dirty(lr_engine *e) {
    return dispatch_dirty(e, NULL);
}

int lr_dispatch_dirty_before(lr_engine *e, const lr_lead_rt *l) {
    return dispatch_dirty(e, l);
}
