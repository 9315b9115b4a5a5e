/* config_warn.c -- what `leadrouter check` warns about: a config that
 * loads but cannot work as written (config.h lr_config_warnings).
 *
 * Errors stop a config; these do not, since each can be meant (an agent
 * kept out of every pool while on leave, a rule parked behind a catch-all
 * while the admin tries it). Each names where it was written: an agent
 * in no pool, a pool no rule uses, an account domain no email has, a
 * `when` that is a value, a rule no lead reaches, a notify entry's action
 * that it can never send.
 */
#include "core/config_impl.h"
#include "core/expr_impl.h"
#include "core/strategy_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct warner {
    const lr_config *cfg;
    void (*cb)(const char *msg, void *ud);
    void *ud;
    size_t n;
} warner;

static void warn(warner *w, int line, int column, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void warn(warner *w, int line, int column, const char *fmt, ...) {
    char msg[1024];
    int k = snprintf(msg, sizeof msg, "%s:%d:%d: warning: ", w->cfg->path ? w->cfg->path : "config",
                     line, column);
    if (k < 0 || (size_t)k >= sizeof msg) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + k, sizeof msg - (size_t)k, fmt, ap);
    va_end(ap);
    w->cb(msg, w->ud);
    w->n++;
}

/* Whether `when` holds for every lead: none, or the literal true. */
static bool always(const lr_expr *x) {
    if (!x) return true;
    const expr_node *n = x->root >= 0 ? &x->nodes[x->root] : NULL;
    return n && n->op == N_LIT && n->lit.type == LR_VBOOL && n->lit.u.b;
}

/* A rule that places every lead: its `when` always holds, and it holds
 * the leads nobody takes (manual, fallback: hold), or queues them with no
 * `max_wait` in any of its pools (a lead that waited that long goes on to
 * the rules after). The rules after it are never tried (but as a named
 * fallback or a recycle target). */
static bool takes_every_lead(const lr_config *cfg, const lr_rule_conf *r) {
    if (!always(r->when)) return false;
    lr_strategy_mode m = r->strategy->mode;
    if (m == LR_MODE_MANUAL || r->fallback == LR_FALLBACK_HOLD) return true;
    if (m != LR_MODE_QUEUE && m != LR_MODE_OPEN_POOL && r->fallback != LR_FALLBACK_QUEUE) return false;
    if (cfg->pools[r->pool].max_wait_ms >= 0) return false;
    for (size_t t = 0; t < r->ntiers; t++)
        if (cfg->pools[r->tiers[t]].max_wait_ms >= 0) return false;
    return true;
}

/* Whether some agent of pool P of CFG has attribute NAME. */
static bool pool_has_attr(const lr_config *cfg, size_t p, const char *name) {
    for (size_t i = 0; i < cfg->pools[p].nagents; i++) {
        const lr_agent_conf *a = &cfg->agents[cfg->pools[p].agents[i]];
        for (size_t k = 0; k < a->nattrs; k++)
            if (strcmp(a->attrs[k].name, name) == 0) return true;
    }
    return false;
}

/* Whether `when` is a value rather than a condition: a number or a string
 * (a literal, a named lead field, lower(), domain(), local_hour()...),
 * which no lead makes true. A custom field may hold a boolean: not one. */
static bool is_value(const lr_expr *x) {
    if (!x || x->root < 0) return false;
    const expr_node *n = &x->nodes[x->root];
    switch (n->op) {
    case N_LIT: return n->lit.type != LR_VBOOL;
    case N_FIELD: case N_LIST: case N_LOWER: case N_DOMAIN: case N_LHOUR: case N_LWDAY: return true;
    default: return false;
    }
}

/* How rule R keeps the leads it takes, after its strategy's name. */
static const char *keeps(const lr_rule_conf *r) {
    if (r->strategy->mode == LR_MODE_MANUAL) return "";
    if (r->fallback == LR_FALLBACK_HOLD) return ", fallback: hold";
    return r->fallback == LR_FALLBACK_QUEUE ? ", fallback: queue, no max_wait" : ", no max_wait";
}

/* Notify entries that name actions they can never send: in a rule, the
 * decisions that name no rule; to `recipient: agent`, the ones that name no
 * agent. WHERE is "rule 'R': " or "". */
static void warn_notify(warner *w, const lr_notify_conf *v, size_t n, const char *where, bool in_rule) {
    static const lr_action no_rule[] = { LR_ACTION_UNROUTED, LR_ACTION_REJECTED, LR_ACTION_AGENT_AWAY };
    static const lr_action no_agent[] = { LR_ACTION_QUEUED, LR_ACTION_HELD, LR_ACTION_UNROUTED };
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; in_rule && k < sizeof no_rule / sizeof no_rule[0]; k++)
            if (v[i].on & (1u << no_rule[k]))
                warn(w, v[i].line, v[i].column,
                     "%snotify #%zu: '%s' decisions name no rule, so a rule's entry never sends "
                     "them: put it in the top-level notify", where, i + 1, lr_action_names[no_rule[k]]);
        for (size_t k = 0; v[i].to_agent && k < sizeof no_agent / sizeof no_agent[0]; k++)
            if (v[i].on & (1u << no_agent[k]) && !(in_rule && no_agent[k] == LR_ACTION_UNROUTED))
                warn(w, v[i].line, v[i].column,
                     "%snotify #%zu: '%s' decisions name no agent, so 'recipient: agent' gets no "
                     "email for them: give an address", where, i + 1, lr_action_names[no_agent[k]]);
    }
}

size_t lr_config_warnings(const lr_config *cfg, void (*cb)(const char *msg, void *ud), void *ud) {
    warner w = { cfg, cb, ud, 0 };
    bool *in_pool = calloc(cfg->nagents ? cfg->nagents : 1, sizeof *in_pool);
    bool *pool_used = calloc(cfg->npools ? cfg->npools : 1, sizeof *pool_used);
    bool *targeted = calloc(cfg->nrules ? cfg->nrules : 1, sizeof *targeted);
    if (!in_pool || !pool_used || !targeted) goto done;
    for (size_t p = 0; p < cfg->npools; p++)
        for (size_t i = 0; i < cfg->pools[p].nagents; i++) in_pool[cfg->pools[p].agents[i]] = true;
    for (size_t r = 0; r < cfg->nrules; r++) {
        const lr_rule_conf *rc = &cfg->rules[r];
        pool_used[rc->pool] = true;
        for (size_t t = 0; t < rc->ntiers; t++) pool_used[rc->tiers[t]] = true;
        if (rc->fallback == LR_FALLBACK_RULE) targeted[rc->fallback_rule] = true;
        if (rc->recycle_after_ms > 0 && rc->recycle_to != (uint32_t)r) targeted[rc->recycle_to] = true;
    }
    for (size_t i = 0; i < cfg->nagents; i++)
        if (!in_pool[i])
            warn(&w, cfg->agents[i].line, cfg->agents[i].column,
                 "agent '%s' is in no pool: no rule gives it a lead", cfg->agents[i].id);
    for (size_t p = 0; p < cfg->npools; p++)
        if (!pool_used[p])
            warn(&w, cfg->pools[p].line, cfg->pools[p].column, "pool '%s' is used by no rule",
                 cfg->pools[p].name);
    for (size_t a = 0; a < cfg->naccounts; a++) {
        const lr_account_conf *ac = &cfg->accounts[a];
        for (size_t k = 0; k < ac->ndomains; k++)   /* the part of an email after its '@' */
            if (strchr(ac->domains[k], '@') || strchr(ac->domains[k], ' '))
                warn(&w, ac->line, ac->column,
                     "account '%s': domain '%s' can match no email (a domain is what follows "
                     "the '@': acme.com)", ac->id, ac->domains[k]);
    }
    const lr_rule_conf *catch_all = NULL;
    for (size_t r = 0; r < cfg->nrules; r++) {
        const lr_rule_conf *rc = &cfg->rules[r];
        if (is_value(rc->when))
            warn(&w, rc->line, rc->column,
                 "rule '%s': 'when' is a value, not a condition ('%s'): no lead makes it true%s; "
                 "compare it (score >= 50, state == \"CA\")", rc->name, rc->when_src ? rc->when_src : "",
                 targeted[r] ? " in rule order (as another rule's fallback it is tried without it)" : "");
        for (size_t m = 0; m < rc->nmatch; m++) {
            /* some agent has it (else an error), but none the rule routes to */
            bool has = pool_has_attr(cfg, rc->pool, rc->match[m].attr);
            for (size_t t = 0; !has && t < rc->ntiers; t++) has = pool_has_attr(cfg, rc->tiers[t], rc->match[m].attr);
            if (!has && rc->ntiers)
                warn(&w, rc->line, rc->column,
                     "rule '%s': match: no agent of its pools has the attribute '%s', so the rule "
                     "matches nobody", rc->name, rc->match[m].attr);
            else if (!has)
                warn(&w, rc->line, rc->column,
                     "rule '%s': match: no agent of pool '%s' has the attribute '%s', so the rule "
                     "matches nobody", rc->name, cfg->pools[rc->pool].name, rc->match[m].attr);
        }
        if (catch_all && !targeted[r])
            warn(&w, rc->line, rc->column,
                 "rule '%s' is never tried: rule '%s' (line %d) before it takes every lead "
                 "and keeps it (%s%s)", rc->name, catch_all->name, catch_all->line,
                 lr_strategy_name(catch_all->strategy), keeps(catch_all));
        if (!catch_all && takes_every_lead(cfg, rc)) catch_all = rc;
    }
    warn_notify(&w, cfg->notify, cfg->nnotify, "", false);
    for (size_t r = 0; r < cfg->nrules; r++) {
        char where[320];
        snprintf(where, sizeof where, "rule '%.256s': ", cfg->rules[r].name);
        warn_notify(&w, cfg->rules[r].notify, cfg->rules[r].nnotify, where, true);
    }
done:
    free(in_pool);
    free(pool_used);
    free(targeted);
    return w.n;
}
