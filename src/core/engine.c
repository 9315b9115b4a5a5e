/* engine.c -- the engine's state machine: events in, lead life cycle,
 * agent counters and readiness, timers. Routing itself is in route.c.
 *
 * One thread calls lr_engine_apply() with events in order. Before an event
 * the clock moves to the event's time (never backwards) and every timer due
 * by then fires in order; after it, segments that gained a ready agent give
 * out their waiting leads. The lead life cycle is drawn in lead_rt.h.
 */
#include "core/engine_impl.h"
#include "core/hugemem.h"
#include "core/schedule.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const lr_lead_state_names[LR_LEAD__COUNT] = {
#define LR_LS_NAME(e, s) s,
    LR_LEAD_STATE_MAP(LR_LS_NAME)
#undef LR_LS_NAME
};

/* ---- small helpers -------------------------------------------------------- */

/* D's detail in BUF, with what a deadline that a catch-up fires late
 * (the server was stopped when it fell due) adds to it: a lead's history
 * would otherwise show an offer of 3 s that expired after 75. */
static const char *say_late(const lr_engine *e, const lr_decision *d, char *buf, size_t len) {
    char due[40];
    lr_time_format(e->late_due, due, sizeof due);
    snprintf(buf, len, "%s%sdeadline %s passed while the server was stopped: acted on at its start",
             d->detail ? d->detail : "", d->detail ? "; " : "", due);
    return buf;
}

void lr_engine_emit(lr_engine *e, lr_decision *d) {
    if (!e->dry) e->stats.decisions[d->action]++;
    lr_decision late;
    char detail[2 * LR_DETAIL_SIZE];
    if (e->late_due != LR_TIME_NONE && e->late_due < d->at) {
        late = *d;
        late.detail = say_late(e, d, detail, sizeof detail);
        d = &late;
    }
    int rc = e->cb ? e->cb(d, e->ud) : 0;
    if (rc && !e->cb_rc) e->cb_rc = rc;
    e->pick_seg = NULL;             /* a pick's credits are for its own decision */
}

void lr_engine_set_state(lr_engine *e, lr_lead_rt *l, lr_lead_state s) {
    if ((l->state == LR_LEAD_OFFERED) != (s == LR_LEAD_OFFERED)) {
        const char *id = lr_lead_id(l->lead);
        if (s != LR_LEAD_OFFERED) lr_map_del(&e->offered, id, strlen(id));
        else if (lr_map_put(&e->offered, id, strlen(id), l) != LR_OK) e->offered_partial = true;
    }
    e->nstate[l->state]--;
    e->nstate[s]++;
    l->state = s;
    l->gen++;
}

void lr_engine_scan_needs(lr_engine *e) {
    const lr_config *cfg = e->cfg;
    e->use_owner = false;
    e->received_window = e->outcome_window = 0;
    for (size_t i = 0; i < cfg->nrules; i++) {
        const lr_rule_conf *r = &cfg->rules[i];
        unsigned needs = r->strategy->needs;
        if (needs & LR_NEEDS_OWNER) e->use_owner = true;
        if ((needs & LR_NEEDS_RECEIVED) && r->window_ms > e->received_window)
            e->received_window = r->window_ms;
        if ((needs & LR_NEEDS_OUTCOMES) && r->window_ms > e->outcome_window)
            e->outcome_window = r->window_ms;
    }
}

int lr_lead_exclude(lr_lead_rt *l, uint32_t agent, lr_skip why) {
    assert(agent <= LR_EXCL_AGENT_MAX && lr_skip_is_history(why));
    for (uint32_t i = 0; i < l->nexcl; i++) {
        if (LR_EXCL_AGENT(l->excl[i]) == agent) {
            l->excl[i] = LR_EXCL(agent, why);
            return LR_OK;
        }
    }
    uint32_t *p = realloc(l->excl, (l->nexcl + 1) * sizeof *p);
    if (!p) return LR_ENOMEM;
    l->excl = p;
    l->excl[l->nexcl++] = LR_EXCL(agent, why);
    return LR_OK;
}

lr_skip lr_lead_excluded(const lr_lead_rt *l, uint32_t agent) {
    for (uint32_t i = 0; i < l->nexcl; i++)
        if (LR_EXCL_AGENT(l->excl[i]) == agent) return LR_EXCL_WHY(l->excl[i]);
    return LR_SKIP_NONE;
}

/* ---- agents ---------------------------------------------------------------- */

static void schedule_cap_reset(lr_engine *e, lr_agent_rt *a, int cap) {
    lr_time end = lr_agent_window_end(a, (lr_cap)cap, e->now);
    if (a->cap_timer_at == end) return;
    /* On ENOMEM the agent stays capped until its next lead event touches
     * it; nothing is lost or corrupted. */
    if (lr_timers_push(&e->timers, end, LR_TIMER_CAP_RESET, a->idx, 0) == LR_OK)
        a->cap_timer_at = end;
}

/* Whether the agent's schedule lets them work now; sets a timer for the
 * next edge of their schedule. */
static bool on_shift(lr_engine *e, lr_agent_rt *a) {
    struct lr_schedule *s = a->conf->schedule;
    if (!s) return true;
    lr_time next = lr_schedule_next_change(s, e->now);
    if (next != LR_TIME_NONE && a->sched_timer_at != next &&
        lr_timers_push(&e->timers, next, LR_TIMER_SCHEDULE, a->idx, 0) == LR_OK)
        a->sched_timer_at = next;
    return lr_schedule_at(s, e->now) == LR_AVAIL_ON;
}

/* Fairness after absence: an agent back from away, offline, off shift or
 * out of office is not flooded by count-based strategies to "catch up".
 * For each fewest_assigned rule whose pool holds A, A's count in the
 * rule's window is lifted to what the pool's catch_up says (average: the
 * pool's average; none: the pool's highest; full: left as is), by adding
 * leads-received entries dated now, which leave the window as real ones do. */
static void catch_up(lr_engine *e, lr_agent_rt *a) {
    if (!e->received_window) return;
    uint32_t credit = 0;
    for (size_t ri = 0; ri < e->cfg->nrules; ri++) {
        const lr_rule_conf *r = &e->cfg->rules[ri];
        if (!(r->strategy->needs & LR_NEEDS_RECEIVED)) continue;
        const lr_pool_conf *p = &e->cfg->pools[r->pool];
        if (p->catch_up == LR_CATCHUP_FULL) continue;
        lr_time since = e->now - r->window_ms;
        uint64_t sum = 0, max = 0, mine = 0;
        bool member = false;
        for (size_t i = 0; i < p->nagents; i++) {
            const lr_agent_rt *b = &e->agents[p->agents[i]];
            uint64_t n = lr_timelog_count_since(&b->received, since, NULL);
            sum += n;
            if (n > max) max = n;
            if (b == a) { member = true; mine = n; }
        }
        if (!member) continue;
        uint64_t target = p->catch_up == LR_CATCHUP_NONE ? max : sum / p->nagents;
        if (target > mine && target - mine > credit) credit = (uint32_t)(target - mine);
    }
    for (uint32_t i = 0; i < credit; i++)
        if (lr_timelog_add(&a->received, e->now, false) != LR_OK) break;
}

void lr_engine_agent_changed(lr_engine *e, lr_agent_rt *a) {
    int capped = lr_agent_capped(a, e->now);
    if (capped >= 0) schedule_cap_reset(e, a, capped);
    bool present = a->status == LR_AGENT_AVAILABLE && on_shift(e, a);
    if (present && !a->present && e->nall) catch_up(e, a);
    a->present = present;
    bool base = present && capped < 0;
    a->ready_nocap = base;
    a->ready = base && (a->conf->capacity < 0 || a->open < a->conf->capacity);
    for (uint32_t i = 0; i < a->nmem; i++) {
        lr_segment *s = a->mem[i].seg;
        uint32_t m = a->mem[i].m;
        lr_segment_set_ready(s, m, s->ignore_capacity ? a->ready_nocap : a->ready);
        lr_segment_touch(s, m);
        if (s->dirty) lr_engine_want_dispatch(e, s);
    }
}

void lr_engine_set_legacy(lr_engine *e, unsigned flags) {
    e->legacy = flags;
    e->timers.agents_first = !(flags & LR_LEGACY_TIMER_ORDER);
}

void lr_engine_want_dispatch(lr_engine *e, lr_segment *s) {
    s->dirty = true;
    if (s->listed) return;
    s->listed = true;
    s->next_dirty = e->dirty;
    e->dirty = s;
}

/* The returning-lead indexes: by email [0] and by phone [1]. */
static lr_map *contact_map(lr_engine *e, int k) { return k ? &e->by_phone : &e->by_email; }
static const char *contact_of(const lr_lead_rt *l, int k) {
    return l->lead->str[k ? LR_LF_PHONE : LR_LF_EMAIL];
}

static int index_open(lr_engine *e, lr_lead_rt *l) {
    if (!e->use_owner) return LR_OK;
    for (int k = 0; k < 2; k++) {
        const char *v = contact_of(l, k);
        if (!v) continue;
        lr_lead_rt *head = lr_map_get(contact_map(e, k), v, strlen(v));
        if (head == l) continue;
        /* the key points into the newest lead's own string */
        int rc = lr_map_put(contact_map(e, k), v, strlen(v), l);
        if (rc != LR_OK) return rc;
        l->older[k] = head;
        l->newer[k] = NULL;
        if (head) head->newer[k] = l;
    }
    return LR_OK;
}

static void unindex_open(lr_engine *e, lr_lead_rt *l) {
    if (!e->use_owner) return;
    for (int k = 0; k < 2; k++) {
        const char *v = contact_of(l, k);
        if (!v) continue;
        lr_map *m = contact_map(e, k);
        if (l->newer[k]) {
            l->newer[k]->older[k] = l->older[k];
        } else if (lr_map_get(m, v, strlen(v)) == l) {
            lr_lead_rt *next = l->older[k];
            if (next) lr_map_put(m, contact_of(next, k), strlen(v), next);  /* replaces: LR_OK */
            else lr_map_del(m, v, strlen(v));
        }
        if (l->older[k]) l->older[k]->newer[k] = l->newer[k];
        l->older[k] = l->newer[k] = NULL;
    }
}

/* See engine_impl.h. */
void lr_engine_unindex(lr_engine *e, lr_lead_rt *l) {
    unindex_open(e, l);
}

/* Whether the returning-lead index holds L: a closed lead normally left
 * it with its agent, but not while no owner rule was in the config (the
 * index then stays as it was) -- and a journal replays as it was made. */
static bool indexed(lr_engine *e, const lr_lead_rt *l) {
    for (int k = 0; k < 2; k++) {
        const char *v = contact_of(l, k);
        if (l->older[k] || l->newer[k]) return true;
        if (v && contact_map(e, k)->n && lr_map_get(contact_map(e, k), v, strlen(v)) == l) return true;
    }
    return false;
}

/* See engine_impl.h. A lead the index still holds stays whole: the index
 * points into its email and phone. */
void lr_engine_shed(lr_engine *e, lr_lead_rt *l) {
    if (indexed(e, l)) return;
    lr_lead *small = lr_lead_id_only(l->lead);
    if (!small) return;
    const char *id = lr_lead_id(small);
    if (id) lr_map_put(&e->leads, id, strlen(id), l);  /* the entry borrows the new id: no alloc */
    lr_lead_free(l->lead);
    l->lead = small;
    free(l->excl);                  /* whom it is never given to again: it is not given */
    l->excl = NULL;
    l->nexcl = 0;
}

/* Held leads in the order they were given to their agents (then arrival). */
static int by_assignment(const void *x, const void *y) {
    const lr_lead_rt *a = *(const lr_lead_rt *const *)x, *b = *(const lr_lead_rt *const *)y;
    if (a->assigned_at != b->assigned_at) return a->assigned_at < b->assigned_at ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* See engine_impl.h. In the order the live index would have: as the leads
 * were given to their agents. */
void lr_engine_reindex(lr_engine *e) {
    for (int k = 0; k < 2; k++) {
        lr_map_release(contact_map(e, k));
        lr_map_init(contact_map(e, k), 64);     /* a failure: it grows later */
    }
    size_t n = 0;
    for (size_t i = 0; i < e->nall; i++) {
        lr_lead_rt *l = e->all[i];
        for (int k = 0; k < 2; k++) l->older[k] = l->newer[k] = NULL;
        n += l->state != LR_LEAD_CLOSED && l->agent != LR_NO_AGENT;
    }
    lr_lead_rt **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) { e->cb_rc = LR_ENOMEM; return; }
    n = 0;
    for (size_t i = 0; i < e->nall; i++) {
        lr_lead_rt *l = e->all[i];
        if (l->state != LR_LEAD_CLOSED && l->agent != LR_NO_AGENT) v[n++] = l;
    }
    qsort(v, n, sizeof *v, by_assignment);
    for (size_t i = 0; i < n; i++) {
        if (index_open(e, v[i]) != LR_OK) { e->cb_rc = LR_ENOMEM; break; }
    }
    free(v);
}

int lr_engine_assign(lr_engine *e, lr_lead_rt *l, uint32_t agent) {
    lr_agent_rt *a = &e->agents[agent];
    if (e->received_window) {
        lr_timelog_trim(&a->received, e->now - e->received_window);
        if (lr_timelog_add(&a->received, e->now, false) != LR_OK) return LR_ENOMEM;
    }
    if (index_open(e, l) != LR_OK) return LR_ENOMEM;
    l->agent = agent;
    l->assigned_at = e->now;
    l->contacted = false;           /* the SLA and recycle judge this agent's progress */
    l->last_progress = -1;
    l->seg = NULL;
    free(l->offer);
    l->offer = NULL;
    l->noffer = 0;
    lr_engine_set_state(e, l, LR_LEAD_ASSIGNED);
    a->open++;
    a->assigned++;
    a->last_assigned = e->now;
    lr_agent_count_lead(a, e->now);
    lr_engine_agent_changed(e, a);
    return LR_OK;
}

/* See engine_impl.h. An offer that ends unaccepted (declined, expired,
 * escalated, the lead closed or assigned by an admin, its agent removed)
 * is no lead received: caps and fewest_assigned do not count it
 * (longest_idle does: the agent was offered a lead then). */
void lr_agent_offer_ended(const lr_engine *e, lr_agent_rt *a, lr_time at) {
    lr_agent_uncount_lead(a, at);
    if (e->received_window) lr_timelog_remove(&a->received, at);
    if (a->assigned) a->assigned--;
}

/* Ends L's assignment (release, hand-off, close): frees the agent's slot. */
void lr_engine_unassign(lr_engine *e, lr_lead_rt *l) {
    if (l->agent == LR_NO_AGENT) return;
    lr_agent_rt *a = &e->agents[l->agent];
    unindex_open(e, l);
    a->open--;
    if (l->state == LR_LEAD_OFFERED) lr_agent_offer_ended(e, a, l->assigned_at);
    l->agent = LR_NO_AGENT;
    lr_engine_agent_changed(e, a);
}

/* Takes L out of wherever it waits (queue, offer). */
void lr_lead_unwait(lr_lead_rt *l) {
    if (l->state == LR_LEAD_WAITING && l->seg) lr_segment_dequeue(l->seg, l);
    l->seg = NULL;
    free(l->offer);
    l->offer = NULL;
    l->noffer = 0;
}

/* ---- timers ----------------------------------------------------------------- */

/* The clock jumps to UNTIL: every agent's shift and cap windows are
 * judged anew there (their timers start afresh), none stepped through. */
static void jump_agents_to(lr_engine *e, lr_time until) {
    lr_timers_drop(&e->timers, LR_TIMER_CAP_RESET, LR_TIMER_SCHEDULE);
    e->now = until;
    for (size_t i = 0; i < e->cfg->nagents; i++) {
        e->agents[i].cap_timer_at = e->agents[i].sched_timer_at = LR_TIME_NONE;
        lr_engine_agent_changed(e, &e->agents[i]);
    }
}

/* Fires timer T (popped): an agent's change, or a lead's deadline. */
static void fire(lr_engine *e, const lr_timer *t) {
    if (t->kind == LR_TIMER_CAP_RESET) {
        lr_agent_rt *a = &e->agents[t->a];
        if (a->cap_timer_at == t->at) a->cap_timer_at = LR_TIME_NONE;
        lr_engine_agent_changed(e, a);
    } else if (t->kind == LR_TIMER_SCHEDULE) {
        lr_agent_rt *a = &e->agents[t->a];
        if (a->sched_timer_at == t->at) a->sched_timer_at = LR_TIME_NONE;
        lr_engine_agent_changed(e, a);
    } else {
        lr_fire_lead_timer(e, t);       /* ENOMEM: that lead stays as it was */
    }
}

/* Everything due by UNTIL happens at UNTIL, with the agents as they are
 * then: first every lead's deadline that passed (an offer that ran out, an
 * SLA, a queue's max_wait: a lead that waited past its max_wait expires,
 * as it did while the agents who come back at UNTIL were still away),
 * then the waiting leads go out. An offer that ran out meanwhile counts
 * for no agent's max_no_answer: nobody could answer it. Before
 * LR_LEGACY_CATCH_UP_ORDER's end the waiting leads went out first (a lead
 * whose max_wait had passed could be assigned instead); before
 * LR_LEGACY_CATCH_UP_ANSWER's, such an offer counted. */
void lr_engine_catch_up(lr_engine *e, lr_time until) {
    if (until <= e->now) return;
    jump_agents_to(e, until);           /* who is on shift and under caps at UNTIL */
    if (!(e->legacy & LR_LEGACY_CATCH_UP_ORDER)) {
        lr_timer t;
        e->catching_up = !(e->legacy & LR_LEGACY_CATCH_UP_ANSWER);
        while (lr_timers_pop_due(&e->timers, until, &t)) {
            e->late_due = t.at;
            fire(e, &t);
        }
        e->late_due = LR_TIME_NONE;
        e->catching_up = false;
    }
    lr_dispatch_dirty(e);               /* waiting leads that may go out now */
}

void lr_engine_advance(lr_engine *e, lr_time until) {
    lr_timer t;
    if (e->nall == 0 && until > e->now) {
        /* No lead yet: nothing can observe the shifts and windows passed
         * between the start and the first event (a file run starts in
         * 1970), so jump there instead of stepping through every edge. */
        jump_agents_to(e, until);
        return;
    }
    while (lr_timers_pop_due(&e->timers, until, &t)) {
        if (t.at > e->now) e->now = t.at;
        fire(e, &t);
        /* Agents whose shift, absence or cap window changes at one instant
         * change together before waiting leads go out: the leads then go
         * round among all of them, not all to the first one back. */
        const lr_timer *next = lr_timers_peek(&e->timers);
        if (!(e->legacy & LR_LEGACY_TIMER_ORDER) && lr_timer_of_agent(&t) && next &&
            next->at == t.at && lr_timer_of_agent(next))
            continue;
        lr_dispatch_dirty(e);
    }
    if (until > e->now) e->now = until;
}

/* ---- create / destroy ------------------------------------------------------- */

static void lead_rt_free(lr_engine *e, lr_lead_rt *l) {
    if (!l) return;
    lr_lead_free(l->lead);
    free(l->excl);
    free(l->offer);
    lr_slab_free(&e->lead_slab, l);
}

void lr_engine_destroy(lr_engine *e) {
    if (!e) return;
    for (size_t i = 0; i < e->nall; i++) lead_rt_free(e, e->all[i]);
    lr_huge_free(e->all, e->capall * sizeof *e->all);
    lr_slab_release(&e->lead_slab);
    for (size_t i = 0; i < e->nsegs; i++) lr_segment_destroy(e->segs[i]);
    free(e->segs);
    free(e->dry_segs);
    free(e->aside);
    if (e->agents) {
        for (size_t i = 0; i < e->cfg->nagents; i++) {
            lr_timelog_release(&e->agents[i].received);
            lr_timelog_release(&e->agents[i].outcomes);
            free(e->agents[i].mem);
            free(e->agents[i].na);
        }
        free(e->agents);
    }
    lr_map_release(&e->agent_ids);
    size_t pos = 0;
    for (const lr_map_slot *sl; (sl = lr_map_next(&e->gone, &pos));) lr_gone_agent_free(sl->val);
    lr_map_release(&e->gone);
    lr_map_release(&e->leads);
    lr_map_release(&e->segments);
    lr_map_release(&e->by_email);
    lr_map_release(&e->by_phone);
    lr_map_release(&e->offered);
    lr_map_release(&e->account_ids);
    lr_map_release(&e->account_domains);
    lr_timers_release(&e->timers);
    lr_buf_release(&e->key);
    lr_carry_release(&e->carried);
    free(e->cands);
    free(e->names);
    free(e->scratch);
    free(e->visited);
    free(e->rule_seg);
    lr_free_tiers(e);
    free(e);
}

int lr_engine_create(const lr_config *cfg, const lr_engine_opts *opts, lr_engine **out) {
    lr_engine *e = calloc(1, sizeof *e);
    if (!e) return LR_ENOMEM;
    e->cfg = cfg;
    e->explain = opts ? opts->explain : true;
    e->now = opts ? opts->start : 0;
    e->late_due = LR_TIME_NONE;
    lr_rng_seed(&e->rng, opts ? opts->seed : 0);
    lr_timers_init(&e->timers);
    lr_buf_init(&e->key);
    lr_slab_init(&e->lead_slab, sizeof(lr_lead_rt));
    int rc = LR_ENOMEM;
    e->agents = calloc(cfg->nagents ? cfg->nagents : 1, sizeof *e->agents);
    e->visited = calloc(cfg->nrules ? cfg->nrules : 1, 1);
    e->rule_seg = calloc(cfg->nrules ? cfg->nrules : 1, sizeof *e->rule_seg);
    if (!e->agents || !e->visited || !e->rule_seg) goto fail;
    if ((rc = lr_build_tiers(e)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->agent_ids, cfg->nagents)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->gone, 0)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->leads, 1024)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->segments, 64)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->by_email, 0)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->by_phone, 0)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->offered, 0)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->account_ids, cfg->naccounts)) != LR_OK) goto fail;
    if ((rc = lr_map_init(&e->account_domains, cfg->naccounts)) != LR_OK) goto fail;
    for (uint32_t i = 0; i < cfg->nagents; i++) {
        lr_agent_rt *a = &e->agents[i];
        a->conf = &cfg->agents[i];
        a->idx = i;
        a->status = a->conf->status;
        a->status_reason = "config";
        a->status_since = e->now;
        a->last_assigned = LR_TIME_NONE;
        a->cap_timer_at = LR_TIME_NONE;
        a->sched_timer_at = LR_TIME_NONE;
        a->zone = a->conf->schedule ? lr_schedule_zone(a->conf->schedule) : NULL;
        lr_agent_windows_clear(a);
        lr_engine_agent_changed(e, a);     /* no segments yet: sets ready flags */
        if ((rc = lr_map_put(&e->agent_ids, a->conf->id, strlen(a->conf->id), a)) != LR_OK)
            goto fail;
    }
    for (size_t i = 0; i < cfg->naccounts; i++) {
        lr_account_conf *ac = &cfg->accounts[i];
        if ((rc = lr_map_put(&e->account_ids, ac->id, strlen(ac->id), ac)) != LR_OK) goto fail;
        for (size_t k = 0; k < ac->ndomains; k++)
            if ((rc = lr_map_put(&e->account_domains, ac->domains[k], strlen(ac->domains[k]),
                                 ac)) != LR_OK)
                goto fail;
    }
    lr_engine_scan_needs(e);
    *out = e;
    return LR_OK;
fail:
    lr_engine_destroy(e);
    return rc;
}

void lr_engine_set_explain(lr_engine *e, bool on) { e->explain = on; }
void lr_engine_set_replaying(lr_engine *e, bool on) { e->replaying = on; }

lr_time lr_engine_now(const lr_engine *e) { return e->now; }

void lr_engine_get_stats(const lr_engine *e, lr_engine_stats *out) {
    *out = e->stats;
    out->open = e->nstate[LR_LEAD_ASSIGNED];
    out->waiting = e->nstate[LR_LEAD_WAITING] + e->nstate[LR_LEAD_HELD] + e->nstate[LR_LEAD_OFFERED];
    out->unrouted = e->nstate[LR_LEAD_UNROUTED];
}

int lr_engine_agent_stats(const lr_engine *e, const char *id, lr_agent_stats *out) {
    const lr_agent_rt *a = lr_map_get(&e->agent_ids, id, strlen(id));
    if (!a) return LR_ENOENT;
    memset(out, 0, sizeof *out);
    out->status = a->status;
    out->open = a->open;
    out->assigned = a->assigned;
    out->won = a->won;
    out->closed = a->closed;
    for (int c = 0; c < LR_CAP__COUNT; c++)
        out->window[c] = lr_agent_window_count(a, (lr_cap)c, e->now);
    return LR_OK;
}

/* ---- pools and tiers ---------------------------------------------------- */

const lr_pool_conf *lr_pool(const lr_engine *e, uint32_t id) {
    return id < e->cfg->npools ? &e->cfg->pools[id] : &e->xpools[id - e->cfg->npools];
}

uint32_t lr_rule_pool(const lr_engine *e, uint32_t ri, uint32_t tier) {
    const lr_rule_conf *r = &e->cfg->rules[ri];
    if (tier == 0 || e->tier_first[ri] == UINT32_MAX) return r->pool;
    if (tier >= r->ntiers) tier = (uint32_t)r->ntiers - 1;
    return (uint32_t)e->cfg->npools + e->tier_first[ri] + tier - 1;
}

const lr_pool_conf *lr_lead_pool(const lr_engine *e, const lr_lead_rt *l) {
    return lr_pool(e, lr_rule_pool(e, l->rule, l->tier));
}

void lr_tiers_free(lr_pool_conf *xp, size_t nx, uint32_t *tf) {
    for (size_t i = 0; i < nx; i++) {
        free(xp[i].name);
        free(xp[i].agents);
    }
    free(xp);
    free(tf);
}

void lr_free_tiers(lr_engine *e) {
    lr_tiers_free(e->xpools, e->nxpools, e->tier_first);
    e->xpools = NULL;
    e->nxpools = 0;
    e->tier_first = NULL;
}

int lr_tiers_build(const lr_config *cfg, lr_pool_conf **xpools, size_t *nxpools,
                   uint32_t **tier_first) {
    size_t n = 0, nx = 0;
    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].ntiers > 1) n += cfg->rules[i].ntiers - 1;
    uint32_t *tf = malloc((cfg->nrules ? cfg->nrules : 1) * sizeof *tf);
    lr_pool_conf *xp = calloc(n ? n : 1, sizeof *xp);
    uint8_t *seen = calloc(cfg->nagents ? cfg->nagents : 1, 1);
    lr_buf name = LR_BUF_INIT;
    if (!tf || !xp || !seen) goto nomem;
    for (size_t ri = 0; ri < cfg->nrules; ri++) {
        const lr_rule_conf *r = &cfg->rules[ri];
        tf[ri] = UINT32_MAX;
        if (r->ntiers < 2) continue;
        tf[ri] = (uint32_t)nx;
        for (size_t k = 1; k < r->ntiers; k++) {
            lr_pool_conf *x = &xp[nx++];
            *x = cfg->pools[r->tiers[0]];   /* order, max_wait, ... of the first tier */
            x->name = NULL;
            x->nagents = 0;
            size_t total = 0;
            for (size_t j = 0; j <= k; j++) total += cfg->pools[r->tiers[j]].nagents;
            if (!(x->agents = malloc((total ? total : 1) * sizeof *x->agents))) goto nomem;
            lr_buf_reset(&name);
            memset(seen, 0, cfg->nagents);
            for (size_t j = 0; j <= k; j++) {
                const lr_pool_conf *p = &cfg->pools[r->tiers[j]];
                if (lr_buf_printf(&name, "%s%s", j ? "+" : "", p->name) != LR_OK) goto nomem;
                for (size_t a = 0; a < p->nagents; a++)
                    if (!seen[p->agents[a]]) { seen[p->agents[a]] = 1; x->agents[x->nagents++] = p->agents[a]; }
            }
            if (!(x->name = lr_buf_detach(&name, NULL))) goto nomem;
        }
    }
    free(seen);
    lr_buf_release(&name);
    *xpools = xp;
    *nxpools = nx;
    *tier_first = tf;
    return LR_OK;
nomem:
    free(seen);
    lr_buf_release(&name);
    lr_tiers_free(xp, xp ? nx : 0, tf);
    return LR_ENOMEM;
}

int lr_build_tiers(lr_engine *e) {
    return lr_tiers_build(e->cfg, &e->xpools, &e->nxpools, &e->tier_first);
}
