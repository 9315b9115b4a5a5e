/* reconfig.c -- switching the engine to a new config without losing a
 * lead (PUT /v1/config, a changed config file at start).
 *
 * The new agent array is built beside the old one, agents matched by id
 * keeping their live state; leads keep their state with their rule found
 * by name; segments (built from the old pools) are dropped and rebuilt on
 * demand. Only when every allocation has succeeded does the engine switch,
 * so a failure leaves it on the old config. Then every lead's agent and
 * rule are renumbered for the new config, waiting leads re-enter the
 * queues of the new segments in their old order, and only then are the
 * leads that lost their agent or their rule routed again (routing one
 * reads others: the owner strategy their agents).
 */
#include "core/engine_impl.h"
#include "core/schedule.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <stdlib.h>
#include <string.h>

static uint32_t remap(const uint32_t *map, uint32_t old) {
    return old == LR_NO_AGENT ? LR_NO_AGENT : map[old];
}

/* Keeps the ids of EXCL / OFFER that still exist, in place. */
static void remap_list(const uint32_t *map, uint32_t *list, uint32_t *n) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < *n; i++) {
        uint32_t a = map[list[i]];
        if (a != LR_NO_AGENT) list[k++] = a;
    }
    *n = k;
}

/* The same for a lead's exclusions, each keeping its reason. (An agent
 * takes two bytes of a config at the least, and a change numbers the old
 * config's agents, then the new one's: every number fits LR_EXCL.) */
_Static_assert(LR_CONFIG_MAX_BYTES <= LR_EXCL_AGENT_MAX, "agent numbers fit LR_EXCL");
static void remap_excl(const uint32_t *map, uint32_t *list, uint32_t *n) {
    uint32_t k = 0;
    for (uint32_t i = 0; i < *n; i++) {
        uint32_t a = map[LR_EXCL_AGENT(list[i])];
        if (a != LR_NO_AGENT) list[k++] = LR_EXCL(a, LR_EXCL_WHY(list[i]));
    }
    *n = k;
}

/* Whether two agents' zones (NULL: UTC) are the same one. */
static bool same_zone(const lr_zone *x, const lr_zone *y) {
    if (!x || !y) return x == y;
    return strcmp(lr_zone_canonical(x), lr_zone_canonical(y)) == 0;
}

void lr_gone_agent_free(lr_gone_agent *g) {
    if (!g) return;
    lr_timelog_release(&g->rt.received);
    lr_timelog_release(&g->rt.outcomes);
    lr_zone_close(g->zone);
    free(g->excl);
    free(g->exwhy);
    free(g->id);
    free(g);
}

/* A record for agent A, about to be removed, in E's gone agents: its id
 * and its zone (the leads that exclude it are added by gone_exclude, its
 * state once the change cannot fail: gone_fill). Returns LR_OK or
 * LR_ENOMEM. */
static int gone_make(lr_engine *e, const lr_agent_rt *a, lr_gone_agent **out) {
    lr_gone_agent *g = calloc(1, sizeof *g);
    if (!g || !(g->id = strdup(a->conf->id))) goto fail;
    if (a->zone && lr_zone_open(lr_zone_name(a->zone), &g->zone) != LR_OK) goto fail;
    if (lr_map_put(&e->gone, g->id, strlen(g->id), g) != LR_OK) goto fail;
    *out = g;
    return LR_OK;
fail:
    lr_gone_agent_free(g);
    return LR_ENOMEM;
}

/* Each lead not closed that excludes an agent about to go (GONE, by old
 * number; NULL: it stays) is remembered by its record. Returns LR_OK or
 * LR_ENOMEM. */
static int gone_exclude(lr_engine *e, lr_gone_agent **gone, size_t nold) {
    for (size_t i = 0; i < e->nall; i++) {
        lr_lead_rt *l = e->all[i];
        if (l->state == LR_LEAD_CLOSED) continue;
        for (uint32_t k = 0; k < l->nexcl; k++) {
            uint32_t a = LR_EXCL_AGENT(l->excl[k]);
            lr_gone_agent *g = a < nold ? gone[a] : NULL;
            if (!g) continue;
            if ((g->nexcl & (g->nexcl - 1)) == 0) {     /* 0, 1, 2, 4...: full */
                size_t cap = g->nexcl ? 2 * (size_t)g->nexcl : 1;
                lr_lead_rt **p = realloc(g->excl, cap * sizeof *p);
                if (!p) return LR_ENOMEM;
                g->excl = p;
                uint8_t *w = realloc(g->exwhy, cap);
                if (!w) return LR_ENOMEM;
                g->exwhy = w;
            }
            g->exwhy[g->nexcl] = (uint8_t)LR_EXCL_WHY(l->excl[k]);
            g->excl[g->nexcl++] = l;
        }
    }
    return LR_OK;
}

/* G takes A's state as it is removed (the change can no longer fail):
 * the offer it still had counts for nothing (as one that ends
 * unaccepted), and its open leads go to others. */
static void gone_fill(lr_engine *e, lr_gone_agent *g, lr_agent_rt *a) {
    g->rt = *a;
    for (size_t i = 0; i < e->nall; i++) {
        const lr_lead_rt *l = e->all[i];
        if (l->state == LR_LEAD_OFFERED && l->agent == a->idx)
            lr_agent_offer_ended(e, &g->rt, l->assigned_at);
    }
    free(a->na);
    g->rt.na = NULL;
    g->rt.nna = g->rt.capna = 0;
    g->rt.conf = NULL;
    g->rt.mem = NULL;
    g->rt.nmem = g->rt.capmem = 0;
    g->rt.open = 0;
    g->rt.zone = g->zone;
    g->rt.present = g->rt.ready = g->rt.ready_nocap = false;
}

/* L (not closed) in the new config (the engine's now): its agents and
 * rule renumbered by MAP and RULE_MAP; waiting, back in its queue. With
 * LR_RECONF_MODE_CHANGE in FLAGS, a lead waiting or held under a rule
 * whose strategy now works another way (a pull queue become round robin,
 * an open pool become manual, manual become round robin) is left NEW
 * instead, to be routed again. OLD is the config L's rule number is of. */
static int renumber(lr_engine *e, const lr_config *old, unsigned flags, const uint32_t *map,
                    const uint32_t *rule_map, lr_lead_rt *l) {
    const lr_strategy *was = l->rule == LR_NO_RULE ? NULL : old->rules[l->rule].strategy;
    remap_excl(map, l->excl, &l->nexcl);
    remap_list(map, l->offer, &l->noffer);
    l->agent = remap(map, l->agent);
    l->rule = l->rule == LR_NO_RULE ? LR_NO_RULE : rule_map[l->rule];
    l->seg = NULL;
    l->qpos = 0;
    bool waits = l->state == LR_LEAD_WAITING || l->state == LR_LEAD_HELD;
    if (!waits || l->rule == LR_NO_RULE) return LR_OK;
    if ((flags & LR_RECONF_MODE_CHANGE) && was->mode != e->cfg->rules[l->rule].strategy->mode) {
        lr_engine_set_state(e, l, LR_LEAD_NEW);
        return LR_OK;
    }
    if (l->state == LR_LEAD_HELD) return LR_OK;
    lr_segment *s;
    int rc = lr_segment_for(e, &e->cfg->rules[l->rule], lr_rule_pool(e, l->rule, l->tier), l->lead, &s);
    if (rc == LR_OK) rc = lr_segment_enqueue(s, l);
    if (rc == LR_OK && l->auto_dispatch && s->ready.count) lr_engine_want_dispatch(e, s);
    return rc;
}

/* Whether reroute() routes L again. */
static bool lost_its_place(const lr_lead_rt *l, unsigned flags) {
    switch (l->state) {
    case LR_LEAD_NEW: return true;
    case LR_LEAD_HELD: return l->rule == LR_NO_RULE && (flags & LR_RECONF_MODE_CHANGE);
    case LR_LEAD_ASSIGNED: return l->agent == LR_NO_AGENT;
    case LR_LEAD_WAITING: return l->rule == LR_NO_RULE;
    case LR_LEAD_OFFERED: return !(l->noffer > 0 && l->rule != LR_NO_RULE);
    default: return false;
    }
}

/* Routes L again if it lost its agent or its rule (a held one too, with
 * LR_RECONF_MODE_CHANGE in FLAGS), or its rule's strategy works another
 * way now (renumbered before). */
static int reroute(lr_engine *e, lr_lead_rt *l, unsigned flags) {
    switch (l->state) {
    case LR_LEAD_NEW:
        return lr_route(e, l, "rule_changed");
    case LR_LEAD_HELD:
        if (l->rule != LR_NO_RULE || !(flags & LR_RECONF_MODE_CHANGE)) return LR_OK;
        lr_engine_set_state(e, l, LR_LEAD_NEW);
        return lr_route(e, l, "rule_removed");
    case LR_LEAD_ASSIGNED:
        if (l->agent != LR_NO_AGENT) return LR_OK;
        lr_engine_set_state(e, l, LR_LEAD_NEW);
        return lr_route(e, l, "agent_removed");
    case LR_LEAD_WAITING:
        if (l->rule != LR_NO_RULE) return LR_OK;
        lr_engine_set_state(e, l, LR_LEAD_NEW);
        return lr_route(e, l, "rule_removed");
    case LR_LEAD_OFFERED:
        if (l->noffer > 0 && l->rule != LR_NO_RULE) return LR_OK;
        /* an offer to one agent still here gives its slot back */
        lr_engine_unassign(e, l);
        free(l->offer);
        l->offer = NULL;
        l->noffer = 0;
        lr_engine_set_state(e, l, LR_LEAD_NEW);
        return lr_route(e, l, l->rule == LR_NO_RULE ? "rule_removed" : "agent_removed");
    default:
        return LR_OK;
    }
}

int lr_engine_reconfigure(lr_engine *e, const lr_config *cfg, unsigned flags, lr_decision_cb cb,
                          void *ud) {
    const lr_config *old = e->cfg;
    size_t nold = old->nagents;
    int rc = LR_ENOMEM;
    bool keep = flags & LR_RECONF_KEEP_GONE;
    lr_agent_rt *agents = calloc(cfg->nagents ? cfg->nagents : 1, sizeof *agents);
    /* old numbers, then one for each agent that comes back (nold + its
     * new number): the leads it excluded name it so until renumbered */
    uint32_t *map = malloc((nold + cfg->nagents + 1) * sizeof *map);
    lr_gone_agent **gone = keep ? calloc(nold + 1, sizeof *gone) : NULL;   /* by old number */
    lr_gone_agent **back = keep ? calloc(cfg->nagents + 1, sizeof *back) : NULL;  /* by new */
    uint32_t nback = 0;
    uint32_t *rule_map = malloc((old->nrules ? old->nrules : 1) * sizeof *rule_map);
    uint8_t *visited = calloc(cfg->nrules ? cfg->nrules : 1, 1);
    lr_segment **rule_seg = calloc(cfg->nrules ? cfg->nrules : 1, sizeof *rule_seg);
    lr_map ids = { 0 }, acct_ids = { 0 }, acct_domains = { 0 };
    lr_pool_conf *xpools = NULL;
    size_t nxpools = 0;
    lr_carry_set carried = { 0 };
    uint32_t *tier_first = NULL;
    if (!agents || !map || !rule_map || !visited || !rule_seg || (keep && (!gone || !back))) goto fail;
    if (lr_map_init(&ids, cfg->nagents) != LR_OK) goto fail;
    if (lr_map_init(&acct_ids, cfg->naccounts) != LR_OK) goto fail;
    if (lr_map_init(&acct_domains, cfg->naccounts) != LR_OK) goto fail;

    for (size_t i = 0; i < nold + cfg->nagents; i++) map[i] = LR_NO_AGENT;
    for (uint32_t i = 0; i < cfg->nagents; i++) {
        lr_agent_rt *a = &agents[i];
        const lr_agent_conf *c = &cfg->agents[i];
        const lr_agent_rt *was = lr_map_get(&e->agent_ids, c->id, strlen(c->id));
        lr_gone_agent *g = keep && !was ? lr_map_get(&e->gone, c->id, strlen(c->id)) : NULL;
        if (was) {
            *a = *was;                  /* status, counters, logs (moved below) */
            map[was->idx] = i;
        } else if (g) {                 /* back: as it left (its logs moved below) */
            *a = g->rt;
            was = &g->rt;
            back[i] = g;
            map[nold + i] = i;
            nback++;
        } else {
            a->status = c->status;
            a->status_reason = "config";
            a->status_since = e->now;
            a->last_assigned = LR_TIME_NONE;
            lr_agent_windows_clear(a);
        }
        a->conf = c;
        a->idx = i;
        a->nna = 0;                     /* its pools were the old config's */
        a->mem = NULL;
        a->nmem = a->capmem = 0;
        a->cap_timer_at = LR_TIME_NONE;
        a->sched_timer_at = LR_TIME_NONE;
        a->zone = c->schedule ? lr_schedule_zone(c->schedule) : NULL;
        if (was && (flags & LR_RECONF_ZONE_WINDOWS) && !same_zone(was->zone, a->zone))
            lr_agent_rezone(a, was, e->now, flags & LR_RECONF_ZONE_OFFERS);
        if ((rc = lr_map_put(&ids, c->id, strlen(c->id), a)) != LR_OK) goto fail;
    }
    for (size_t i = 0; i < cfg->naccounts; i++) {
        lr_account_conf *ac = &cfg->accounts[i];
        if ((rc = lr_map_put(&acct_ids, ac->id, strlen(ac->id), ac)) != LR_OK) goto fail;
        for (size_t k = 0; k < ac->ndomains; k++)
            if ((rc = lr_map_put(&acct_domains, ac->domains[k], strlen(ac->domains[k]), ac)) != LR_OK)
                goto fail;
    }
    if ((rc = lr_tiers_build(cfg, &xpools, &nxpools, &tier_first)) != LR_OK) goto fail;
    for (size_t r = 0; r < old->nrules; r++) {
        int ni = lr_config_rule_index(cfg, old->rules[r].name);
        rule_map[r] = ni < 0 ? LR_NO_RULE : (uint32_t)ni;
    }
    if ((flags & LR_RECONF_CARRY) && (rc = lr_carry_collect(e, map, &carried)) != LR_OK) goto fail;
    /* Agents that go are kept for their return; the leads that excluded
     * one that comes back get room to exclude it again. */
    for (size_t i = 0; keep && i < nold; i++)
        if (map[i] == LR_NO_AGENT && (rc = gone_make(e, &e->agents[i], &gone[i])) != LR_OK) goto fail;
    if (keep && (rc = gone_exclude(e, gone, nold)) != LR_OK) goto fail;
    for (uint32_t i = 0; nback && i < cfg->nagents; i++) {
        for (uint32_t k = 0; back[i] && k < back[i]->nexcl; k++) {
            lr_lead_rt *l = back[i]->excl[k];
            if (l->state == LR_LEAD_CLOSED) continue;
            uint32_t *p = realloc(l->excl, (l->nexcl + nback) * sizeof *p);
            if (!p) { rc = LR_ENOMEM; goto fail; }
            l->excl = p;                /* larger: harmless if the change fails */
        }
    }

    /* ---- no failure past this point: switch ---- */
    /* Leads whose agent goes leave the returning-lead index while its links
     * are still the old config's (lr_engine_unindex: only with an owner
     * rule, the old config's) */
    bool had_owner = e->use_owner;
    for (size_t i = 0; i < e->nall && (flags & LR_RECONF_OWNER_INDEX); i++) {
        lr_lead_rt *l = e->all[i];
        if (l->state != LR_LEAD_CLOSED && l->agent != LR_NO_AGENT && map[l->agent] == LR_NO_AGENT)
            lr_engine_unindex(e, l);
    }
    for (size_t i = 0; i < nold; i++) {
        lr_agent_rt *a = &e->agents[i];
        free(a->mem);
        if (map[i] == LR_NO_AGENT && gone) {
            gone_fill(e, gone[i], a);   /* kept aside, its logs with it */
        } else if (map[i] == LR_NO_AGENT) { /* gone: its logs go with it */
            lr_timelog_release(&a->received);
            lr_timelog_release(&a->outcomes);
            free(a->na);
        }
    }
    /* Agents back: out of the gone ones (their logs are the new agents'
     * now); the leads that excluded one exclude it again, by the number
     * renumber() maps to its new one. */
    for (uint32_t i = 0; nback && i < cfg->nagents; i++) {
        lr_gone_agent *g = back[i];
        if (!g) continue;
        for (uint32_t k = 0; k < g->nexcl; k++) {
            lr_lead_rt *l = g->excl[k];
            if (l->state != LR_LEAD_CLOSED)
                l->excl[l->nexcl++] = LR_EXCL((uint32_t)nold + i, (lr_skip)g->exwhy[k]);
        }
        lr_map_del(&e->gone, g->id, strlen(g->id));
        g->rt.received = g->rt.outcomes = (lr_timelog){ 0 };
        lr_gone_agent_free(g);
    }
    for (size_t i = 0; i < e->nsegs; i++) {
        lr_segment *s = e->segs[i];
        s->qn = 0;                      /* waiting leads are re-queued below */
        lr_segment_destroy(s);
    }
    e->nsegs = 0;
    e->dirty = NULL;
    lr_carry_release(&e->carried);
    e->carried = carried;
    lr_map_release(&e->segments);
    lr_map_init(&e->segments, 64);      /* 64 slots: a failure only means it grows later */
    free(e->agents);
    e->agents = agents;
    lr_map_release(&e->agent_ids);
    e->agent_ids = ids;
    lr_map_release(&e->account_ids);
    e->account_ids = acct_ids;
    lr_map_release(&e->account_domains);
    e->account_domains = acct_domains;
    free(e->visited);
    e->visited = visited;
    free(e->rule_seg);
    e->rule_seg = rule_seg;
    lr_free_tiers(e);
    e->xpools = xpools;
    e->nxpools = nxpools;
    e->tier_first = tier_first;
    e->cfg = cfg;
    lr_engine_scan_needs(e);
    /* Agent timers name agents by their old index: start them afresh (lead
     * deadlines stay: leads keep their index). */
    lr_timers_drop(&e->timers, LR_TIMER_CAP_RESET, LR_TIMER_SCHEDULE);
    for (uint32_t i = 0; i < cfg->nagents; i++) lr_engine_agent_changed(e, &e->agents[i]);

    /* Leads: renumber them all and re-queue the waiting ones, index them
     * for an owner rule that comes in (the index was not kept without
     * one), then route again those that lost their place. Config changes
     * journaled before LR_RECONF_OWNER_INDEX did it all in one pass, each
     * lead routed before the later ones were renumbered, and replay so:
     * with an owner rule, the owner found then could be a later lead's
     * agent by its old number (find_owner takes one out of range for no
     * owner, where the old code read past the agents). */
    bool one_pass = !(flags & LR_RECONF_OWNER_INDEX);
    e->pick_seg = NULL;                 /* the old segments are gone */
    e->cb = cb;
    e->ud = ud;
    e->cb_rc = 0;
    rc = LR_OK;
    for (size_t i = 0; i < e->nall && rc == LR_OK; i++) {
        lr_lead_rt *l = e->all[i];
        if (l->state == LR_LEAD_CLOSED) {
            /* its rule still names it in a refused claim's decision (an old
             * number read past a shorter rule list) */
            l->rule = l->rule == LR_NO_RULE ? LR_NO_RULE : rule_map[l->rule];
            continue;
        }
        rc = renumber(e, old, flags, map, rule_map, l);
        if (rc == LR_OK && one_pass) rc = reroute(e, l, flags);
    }
    if (rc == LR_OK && (flags & LR_RECONF_OWNER_INDEX) && e->use_owner && !had_owner) {
        lr_engine_reindex(e);
        rc = e->cb_rc;
    }
    /* in arrival order; with LR_RECONF_REROUTE_ORDER the leads still
     * waiting that come before one in their queue's order go out first,
     * if they can */
    for (size_t i = 0; i < e->nall && rc == LR_OK && !one_pass; i++) {
        lr_lead_rt *l = e->all[i];
        if ((flags & LR_RECONF_REROUTE_ORDER) && lost_its_place(l, flags))
            rc = lr_dispatch_dirty_before(e, l);
        if (rc == LR_OK) rc = reroute(e, l, flags);
    }
    if (rc == LR_OK) rc = lr_dispatch_dirty(e);
    e->cb = NULL;
    e->ud = NULL;
    free(map);
    free(rule_map);
    free(gone);
    free(back);
    return rc != LR_OK ? rc : e->cb_rc;
fail:
    for (size_t i = 0; gone && i < nold; i++) {
        if (!gone[i]) continue;         /* made here: nothing of the agent's yet */
        lr_map_del(&e->gone, gone[i]->id, strlen(gone[i]->id));
        lr_gone_agent_free(gone[i]);
    }
    free(gone);
    free(back);
    lr_carry_release(&carried);
    lr_tiers_free(xpools, nxpools, tier_first);
    if (agents) free(agents);
    free(map);
    free(rule_map);
    free(visited);
    free(rule_seg);
    lr_map_release(&ids);
    lr_map_release(&acct_ids);
    lr_map_release(&acct_domains);
    return rc == LR_OK ? LR_ENOMEM : rc;
}
