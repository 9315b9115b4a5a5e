/* config_check.c -- validates the config tree against the schema: the top
 * level, agents, pools and accounts (rules are in config_rules.c, agents'
 * schedules and the top-level holidays in config_schedule.c).
 *
 * Every check reports and goes on, so one load lists every problem. A
 * value that fails its check leaves the field at its default; the config
 * is then thrown away by the loader, so partial fields never escape.
 * Cross references (pool members, account owners) resolve through sorted
 * name indexes, so a big config checks in O(n log n).
 */
#include "core/config_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- agents --------------------------------------------------------------- */

static const char *const agent_keys[] = {
    "id", "name", "status", "weight", "capacity", "caps", "attributes", "email",
    "schedule", "out_of_office",
};
enum { AK_ID, AK_NAME, AK_STATUS, AK_WEIGHT, AK_CAPACITY, AK_CAPS, AK_ATTRS, AK_EMAIL,
       AK_SCHEDULE, AK_OOO, AK__N };

#define EMAIL_MAX 320

/* Checks an email address N into *out (a malloc'd copy): an address an
 * email channel can send to, as `from` and `recipient` (cx_plain_address).
 * A config from the journal, stored when the rule was looser (1 to
 * EMAIL_MAX bytes, an '@' with text on both sides, no blanks or control
 * bytes), loads as it did. */
static void check_email(cfg_ctx *cx, const yn *n, const char *ctx, char **out) {
    const char *s;
    if (!want_str(cx, n, ctx, "email", &s)) return;
    const char *at = memchr(s, '@', n->len);
    bool ok = n->len <= EMAIL_MAX && at && at > s && at < s + n->len - 1;
    for (size_t i = 0; ok && i < n->len; i++) ok = (unsigned char)s[i] > 0x20 && s[i] != 0x7f;
    if (ok && !cx->replay) ok = cx_plain_address(s, n->len);
    if (!ok) {
        cx_mismatch(cx, n, ctx, "email", "an email address such as ann@example.com");
        return;
    }
    *out = cx_strdup(cx, s, n->len);
}

static bool id_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '.' || c == '@' || c == '-';
}

/* Validates an agent id: 1 to LR_NAME_MAX bytes of [A-Za-z0-9_.@-]. */
static bool want_agent_id(cfg_ctx *cx, const yn *n, const char *ctx, const char **out) {
    const char *s;
    if (!want_str(cx, n, ctx, "id", &s)) return false;
    bool ok = n->len > 0 && n->len <= LR_NAME_MAX;
    for (size_t i = 0; ok && i < n->len; i++) ok = id_char(s[i]);
    if (!ok) {
        char q[CX_DESC_SIZE];
        cx_quote(s, n->len, q, sizeof q);
        cx_error(cx, n->line, n->col,
                 "%s: invalid id '%s' (1 to 256 characters of A-Z a-z 0-9 _ . @ -)", ctx, q);
        return false;
    }
    *out = s;
    return true;
}

static int value_cmp(const void *pa, const void *pb) {
    return strcmp(*(char *const *)pa, *(char *const *)pb);
}

static int attr_cmp(const void *pa, const void *pb) {
    return strcmp(((const lr_attr *)pa)->name, ((const lr_attr *)pb)->name);
}

/* Fills AT from the value N of attribute KEY: a list of strings or one
 * string; the values end up sorted and unique. */
static void check_attr(cfg_ctx *cx, const yn *key, const yn *n, const char *ctx, lr_attr *at) {
    char items[CX_DESC_SIZE + 32], q[CX_DESC_SIZE];
    cx_quote(key->text, key->len, q, sizeof q);
    snprintf(items, sizeof items, "values of attribute '%s'", q);
    const yn *const *src = &n;
    size_t cnt = 1;
    if (n->kind == YN_SEQ) { src = (const yn *const *)n->items; cnt = n->n; }
    if (cnt == 0) return;
    at->values = calloc(cnt, sizeof *at->values);
    if (!at->values) { cx->oom = true; return; }
    for (size_t i = 0; i < cnt; i++) {
        const char *s;
        if (!want_item_str(cx, src[i], ctx, items, &s)) continue;
        if (!(at->values[at->nvalues] = cx_strdup(cx, s, src[i]->len))) return;
        at->nvalues++;
    }
    qsort(at->values, at->nvalues, sizeof *at->values, value_cmp);
    size_t o = 0;
    for (size_t i = 0; i < at->nvalues; i++) {
        if (o && strcmp(at->values[o - 1], at->values[i]) == 0) free(at->values[i]);
        else at->values[o++] = at->values[i];
    }
    at->nvalues = o;
}

static void check_attrs(cfg_ctx *cx, const yn *m, const char *ctx, lr_agent_conf *a) {
    if (!want_kind(cx, m, YN_MAP, ctx, "attributes", "a mapping of attribute name to values"))
        return;
    if (m->n == 0) return;
    a->attrs = calloc(m->n, sizeof *a->attrs);
    if (!a->attrs) { cx->oom = true; return; }
    for (size_t i = 0; i < m->n && !cx->oom; i++) {
        const yn *key = YN_KEY(m, i);
        char q[CX_DESC_SIZE];
        if (key->kind == YN_ALIAS) continue;
        if (key->kind != YN_SCALAR || !cx_ident(key->text, key->len)) {
            cx_describe(key, q, sizeof q);
            cx_error(cx, key->line, key->col,
                     "%s: invalid attribute name %s (letters, digits and _, not starting with a digit)",
                     ctx, q);
            continue;
        }
        lr_attr *at = &a->attrs[a->nattrs];
        if (!(at->name = cx_strdup(cx, key->text, key->len))) return;
        a->nattrs++;
        check_attr(cx, key, YN_VAL(m, i), ctx, at);
    }
    qsort(a->attrs, a->nattrs, sizeof *a->attrs, attr_cmp);
}

static void check_caps(cfg_ctx *cx, const yn *m, const char *ctx, lr_agent_conf *a) {
    if (!want_kind(cx, m, YN_MAP, ctx, "caps", "a mapping of hour, day, week and month"))
        return;
    char where[CX_DESC_SIZE + 32];
    snprintf(where, sizeof where, "in caps of %s", ctx);
    const yn *v[LR_CAP__COUNT];
    cx_split(cx, m, lr_cap_names, LR_CAP__COUNT, v, where);
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        char key[32];
        snprintf(key, sizeof key, "caps.%s", lr_cap_names[c]);
        int64_t x;
        if (v[c] && want_int(cx, v[c], ctx, key, 0, INT64_MAX, "an integer from 0 to 9223372036854775807", &x))
            a->caps[c] = x;
    }
}

/* Checks agent #I (mapping M) into A; *idn gets the id node (or M). */
static void check_agent(cfg_ctx *cx, const yn *m, size_t i, lr_agent_conf *a, const yn **idn) {
    a->status = LR_AGENT_AVAILABLE;
    a->weight = 1;
    a->capacity = -1;
    for (int c = 0; c < LR_CAP__COUNT; c++) a->caps[c] = -1;
    a->line = m->line;
    a->column = m->col;
    *idn = m;
    char ctx[CX_DESC_SIZE + 16], q[CX_DESC_SIZE];
    snprintf(ctx, sizeof ctx, "agent #%zu", i + 1);
    if (!want_kind(cx, m, YN_MAP, ctx, NULL, "a mapping")) return;

    const yn *v[AK__N];
    const char *s;
    const yn *id = yn_get(m, "id", NULL);
    if (!id) {
        cx_error(cx, m->line, m->col, "%s: missing required key 'id'", ctx);
    } else if (want_agent_id(cx, id, ctx, &s)) {
        if (!(a->id = cx_strdup(cx, s, id->len))) return;
        a->id_len = id->len;            /* id_char(): nothing to escape */
        *idn = id;
        cx_quote(s, id->len, q, sizeof q);
        snprintf(ctx, sizeof ctx, "agent '%s'", q);
    }
    char where[sizeof ctx + 8];
    snprintf(where, sizeof where, "in %s", ctx);
    cx_split(cx, m, agent_keys, AK__N, v, where);

    if (v[AK_NAME] && want_str(cx, v[AK_NAME], ctx, "name", &s))
        a->name = cx_strdup(cx, s, v[AK_NAME]->len);
    if (v[AK_STATUS] && want_str(cx, v[AK_STATUS], ctx, "status", &s)) {
        int st = lr_name_lookup(lr_agent_status_names, LR_AGENT__COUNT, s);
        if (st >= 0) {
            a->status = (lr_agent_status)st;
        } else {
            cx_quote(s, v[AK_STATUS]->len, q, sizeof q);
            cx_error(cx, v[AK_STATUS]->line, v[AK_STATUS]->col,
                     "%s: unknown status '%s' (known: available, away, offline)", ctx, q);
        }
    }
    int64_t x;
    if (v[AK_WEIGHT] && want_int(cx, v[AK_WEIGHT], ctx, "weight", 1, 1000000,
                                 "an integer between 1 and 1000000", &x))
        a->weight = (uint32_t)x;
    if (v[AK_CAPACITY] && want_int(cx, v[AK_CAPACITY], ctx, "capacity", 0, INT64_MAX,
                                   "an integer from 0 to 9223372036854775807", &x))
        a->capacity = x;
    if (v[AK_CAPS]) check_caps(cx, v[AK_CAPS], ctx, a);
    if (v[AK_ATTRS]) check_attrs(cx, v[AK_ATTRS], ctx, a);
    if (v[AK_EMAIL]) check_email(cx, v[AK_EMAIL], ctx, &a->email);
    if (!cx->oom) cx_check_agent_time(cx, v[AK_SCHEDULE], v[AK_OOO], ctx, a);
}

/* Checks the `agents` list N into cfg->agents and builds IX over the ids. */
static void check_agents(cfg_ctx *cx, const yn *n, lr_config *cfg, name_ix *ix) {
    if (!want_kind(cx, n, YN_SEQ, "", "agents", "a list of agents")) return;
    if (n->n == 0) {
        cx_error(cx, n->line, n->col, "'agents' must not be empty");
        return;
    }
    const yn **idn = calloc(n->n, sizeof *idn);
    cfg->agents = calloc(n->n, sizeof *cfg->agents);
    if (!idn || !cfg->agents) { free(idn); cx->oom = true; return; }
    cfg->nagents = n->n;
    for (size_t i = 0; i < n->n && !cx->oom; i++)
        check_agent(cx, n->items[i], i, &cfg->agents[i], &idn[i]);
    if (!cx->oom && name_ix_build(cx, ix, (const char *const *)&cfg->agents[0].id,
                                  sizeof *cfg->agents, cfg->nagents))
        cx_report_dups(cx, ix, "agent id", idn, &cfg->agents[0].line, &cfg->agents[0].column,
                    sizeof *cfg->agents);
    free(idn);
}

/* ---- pools ------------------------------------------------------------------ */

static const char *const pool_keys[] = {
    "agents", "order", "max_wait", "max_no_answer", "catch_up",
};
enum { PK_AGENTS, PK_ORDER, PK_MAX_WAIT, PK_MAX_NO_ANSWER, PK_CATCH_UP, PK__N };

/* Checks the long form's options (order, max_wait, max_no_answer,
 * catch_up) in V into P. */
static void pool_options(cfg_ctx *cx, const yn *const *v, const char *ctx, lr_pool_conf *p) {
    const char *s;
    char q[CX_DESC_SIZE];
    if (v[PK_ORDER] && want_str(cx, v[PK_ORDER], ctx, "order", &s)) {
        int o = lr_name_lookup(lr_queue_order_names, LR_QORDER__COUNT, s);
        if (o >= 0) {
            p->order = (lr_queue_order)o;
        } else {
            cx_quote(s, v[PK_ORDER]->len, q, sizeof q);
            cx_error(cx, v[PK_ORDER]->line, v[PK_ORDER]->col,
                     "%s: unknown order '%s' (known: fifo, lifo, priority)", ctx, q);
        }
    }
    if (v[PK_MAX_WAIT])
        want_duration(cx, v[PK_MAX_WAIT], ctx, "max_wait", 1000, 30 * CX_MS_PER_DAY,
                      &p->max_wait_ms);
    int64_t x;
    if (v[PK_MAX_NO_ANSWER] && want_int(cx, v[PK_MAX_NO_ANSWER], ctx, "max_no_answer", 1, 1000,
                                        "an integer between 1 and 1000", &x))
        p->max_no_answer = (uint32_t)x;
    if (v[PK_CATCH_UP] && want_str(cx, v[PK_CATCH_UP], ctx, "catch_up", &s)) {
        int c = lr_name_lookup(lr_catch_up_names, LR_CATCHUP__COUNT, s);
        if (c >= 0) {
            p->catch_up = (lr_catch_up)c;
        } else {
            cx_quote(s, v[PK_CATCH_UP]->len, q, sizeof q);
            cx_error(cx, v[PK_CATCH_UP]->line, v[PK_CATCH_UP]->col,
                     "%s: unknown catch_up '%s' (known: none, average, full)", ctx, q);
        }
    }
}

/* Where each agent was first listed in the pool being checked. */
typedef struct seen {
    uint32_t *pool;                 /* pool number + 1 that listed the agent */
    int *line, *col;
} seen;

/* Resolves the agent ids of list L into P->agents. */
static void pool_members(cfg_ctx *cx, const yn *l, const char *ctx, const name_ix *agents,
                         seen *sn, uint32_t stamp, lr_pool_conf *p) {
    if (l->n == 0) {
        cx_error(cx, l->line, l->col, "%s has no agents", ctx);
        return;
    }
    p->agents = malloc(l->n * sizeof *p->agents);
    if (!p->agents) { cx->oom = true; return; }
    for (size_t i = 0; i < l->n; i++) {
        const yn *it = l->items[i];
        const char *s;
        char q[CX_DESC_SIZE];
        if (!want_item_str(cx, it, ctx, "agent ids", &s)) continue;
        long a = name_ix_find(agents, s);
        cx_quote(s, it->len, q, sizeof q);
        if (a < 0) {
            cx_error(cx, it->line, it->col, "%s: unknown agent '%s'", ctx, q);
        } else if (sn->pool[a] == stamp) {
            cx_error(cx, it->line, it->col, "%s: agent '%s' is listed twice (first at %d:%d)",
                     ctx, q, sn->line[a], sn->col[a]);
        } else {
            sn->pool[a] = stamp;
            sn->line[a] = it->line;
            sn->col[a] = it->col;
            p->agents[p->nagents++] = (uint32_t)a;
        }
    }
}

/* Checks pool KEY: VAL into P (the pool numbered I). */
static void check_pool(cfg_ctx *cx, const yn *key, const yn *val, size_t i,
                       const name_ix *agents, seen *sn, lr_pool_conf *p) {
    char ctx[CX_DESC_SIZE + 16], q[CX_DESC_SIZE];
    p->line = key->line;
    p->column = key->col;
    p->order = LR_QORDER_FIFO;
    p->max_wait_ms = -1;
    p->max_no_answer = 0;
    p->catch_up = LR_CATCHUP_AVERAGE;
    snprintf(ctx, sizeof ctx, "pool #%zu", i + 1);
    if (key->kind != YN_ALIAS) {
        if (key->kind == YN_SCALAR && !yn_is_null(key) && key->len > 0 &&
            key->len <= LR_NAME_MAX && !memchr(key->text, '\0', key->len) &&
            (cx->replay || !cx_has_control(key->text, key->len))) {
            if (!(p->name = cx_strdup(cx, key->text, key->len))) return;
            cx_quote(key->text, key->len, q, sizeof q);
            snprintf(ctx, sizeof ctx, "pool '%s'", q);
        } else {
            cx_describe(key, q, sizeof q);
            cx_error(cx, key->line, key->col,
                     "pool names must be strings of 1 to 256 bytes without a control character, "
                     "got %s", q);
        }
    }
    const yn *list = NULL;
    if (val->kind == YN_SEQ) {
        list = val;
    } else if (val->kind == YN_MAP) {
        const yn *v[PK__N];
        char where[sizeof ctx + 8];
        snprintf(where, sizeof where, "in %s", ctx);
        cx_split(cx, val, pool_keys, PK__N, v, where);
        if (!v[PK_AGENTS])
            cx_error(cx, val->line, val->col, "%s: missing required key 'agents'", ctx);
        else if (want_kind(cx, v[PK_AGENTS], YN_SEQ, ctx, "agents", "a list of agent ids"))
            list = v[PK_AGENTS];
        pool_options(cx, v, ctx, p);
    } else {
        want_kind(cx, val, YN_SEQ, ctx, NULL,
                  "a list of agent ids or a mapping with agents and order");
    }
    if (list) pool_members(cx, list, ctx, agents, sn, (uint32_t)i + 1, p);
}

/* Checks the `pools` mapping N into cfg->pools and builds IX over the names. */
static void check_pools(cfg_ctx *cx, const yn *n, const name_ix *agents, lr_config *cfg,
                        name_ix *ix) {
    if (!want_kind(cx, n, YN_MAP, "", "pools", "a mapping of pool name to agents")) return;
    if (n->n == 0) return;
    seen sn = { 0 };
    size_t na = cfg->nagents ? cfg->nagents : 1;
    sn.pool = calloc(na, sizeof *sn.pool);
    sn.line = calloc(na, sizeof *sn.line);
    sn.col = calloc(na, sizeof *sn.col);
    cfg->pools = calloc(n->n, sizeof *cfg->pools);
    if (sn.pool && sn.line && sn.col && cfg->pools) {
        cfg->npools = n->n;
        for (size_t i = 0; i < n->n && !cx->oom; i++)
            check_pool(cx, YN_KEY(n, i), YN_VAL(n, i), i, agents, &sn, &cfg->pools[i]);
        if (!cx->oom)
            name_ix_build(cx, ix, (const char *const *)&cfg->pools[0].name,
                          sizeof *cfg->pools, cfg->npools);
    } else {
        cx->oom = true;
    }
    free(sn.pool);
    free(sn.line);
    free(sn.col);
}

/* ---- accounts ------------------------------------------------------------- */

static const char *const account_keys[] = { "id", "domains", "owner" };

/* A domain with where it was written, for the uniqueness check. */
typedef struct dom_ent {
    const char *dom;
    uint32_t account;
    const yn *at;
} dom_ent;

typedef struct doms {
    dom_ent *v;
    size_t n, cap;
} doms;

static int dom_cmp(const void *pa, const void *pb) {
    const dom_ent *a = pa, *b = pb;
    int r = strcmp(a->dom, b->dom);
    if (r) return r;
    if (a->at->line != b->at->line) return a->at->line < b->at->line ? -1 : 1;
    return (a->at->col > b->at->col) - (a->at->col < b->at->col);
}

static void check_domains(cfg_ctx *cx, const yn *n, const char *ctx, uint32_t acc,
                          lr_account_conf *a, doms *all) {
    const yn *const *src = &n;
    size_t cnt = 1;
    if (n->kind == YN_SEQ) { src = (const yn *const *)n->items; cnt = n->n; }
    if (cnt == 0) return;
    a->domains = calloc(cnt, sizeof *a->domains);
    if (all->n + cnt > all->cap) {
        size_t cap = (all->n + cnt) * 2;
        dom_ent *v = realloc(all->v, cap * sizeof *v);
        if (v) { all->v = v; all->cap = cap; }
        else cx->oom = true;
    }
    if (!a->domains || cx->oom) { cx->oom = true; return; }
    for (size_t i = 0; i < cnt; i++) {
        const char *s;
        if (!want_item_str(cx, src[i], ctx, "domains", &s)) continue;
        if (src[i]->len == 0) {
            cx_error(cx, src[i]->line, src[i]->col, "%s: domains must not be empty", ctx);
            continue;
        }
        char *d = cx_strdup(cx, s, src[i]->len);
        if (!d) return;
        for (char *c = d; *c; c++)
            if (*c >= 'A' && *c <= 'Z') *c = (char)(*c - 'A' + 'a');
        a->domains[a->ndomains++] = d;
        all->v[all->n++] = (dom_ent){ d, acc, src[i] };
    }
}

static void check_account(cfg_ctx *cx, const yn *m, size_t i, const name_ix *agents,
                          lr_account_conf *a, const yn **idn, doms *all) {
    a->line = m->line;
    a->column = m->col;
    *idn = m;
    char ctx[CX_DESC_SIZE + 16], q[CX_DESC_SIZE];
    snprintf(ctx, sizeof ctx, "account #%zu", i + 1);
    if (!want_kind(cx, m, YN_MAP, ctx, NULL, "a mapping")) return;
    const char *s;
    const yn *v[3];
    const yn *id = yn_get(m, "id", NULL);
    if (!id) {
        cx_error(cx, m->line, m->col, "%s: missing required key 'id'", ctx);
    } else if (cx_name(cx, id, ctx, "id", &s)) {
        if (!(a->id = cx_strdup(cx, s, id->len))) return;
        *idn = id;
        cx_quote(s, id->len, q, sizeof q);
        snprintf(ctx, sizeof ctx, "account '%s'", q);
    }
    char where[sizeof ctx + 8];
    snprintf(where, sizeof where, "in %s", ctx);
    cx_split(cx, m, account_keys, 3, v, where);
    if (v[1]) check_domains(cx, v[1], ctx, (uint32_t)i, a, all);
    if (!v[2]) {
        cx_error(cx, m->line, m->col, "%s: missing required key 'owner'", ctx);
    } else if (want_str(cx, v[2], ctx, "owner", &s)) {
        long o = name_ix_find(agents, s);
        if (o >= 0) {
            a->owner = (uint32_t)o;
        } else {
            cx_quote(s, v[2]->len, q, sizeof q);
            cx_error(cx, v[2]->line, v[2]->col, "%s: unknown owner '%s'", ctx, q);
        }
    }
}

/* Reports a domain given twice, in one account or in two. */
static void report_dup_domains(cfg_ctx *cx, doms *all, const lr_config *cfg) {
    if (all->n) qsort(all->v, all->n, sizeof *all->v, dom_cmp);
    for (size_t i = 1, first = 0; i < all->n; i++) {
        const dom_ent *f = &all->v[first], *e = &all->v[i];
        if (strcmp(f->dom, e->dom) != 0) { first = i; continue; }
        char q[CX_DESC_SIZE], o[CX_DESC_SIZE];
        cx_quote(e->dom, strlen(e->dom), q, sizeof q);
        const char *owner = cfg->accounts[f->account].id;
        cx_quote(owner ? owner : "?", strlen(owner ? owner : "?"), o, sizeof o);
        cx_error(cx, e->at->line, e->at->col,
                 "domain '%s' is listed twice (first for account '%s' at %d:%d)",
                 q, o, f->at->line, f->at->col);
    }
}

static void check_accounts(cfg_ctx *cx, const yn *n, const name_ix *agents, lr_config *cfg) {
    if (!want_kind(cx, n, YN_SEQ, "", "accounts", "a list of accounts")) return;
    if (n->n == 0) return;
    const yn **idn = calloc(n->n, sizeof *idn);
    cfg->accounts = calloc(n->n, sizeof *cfg->accounts);
    if (!idn || !cfg->accounts) { free(idn); cx->oom = true; return; }
    cfg->naccounts = n->n;
    doms all = { 0 };
    for (size_t i = 0; i < n->n && !cx->oom; i++)
        check_account(cx, n->items[i], i, agents, &cfg->accounts[i], &idn[i], &all);
    name_ix ix;
    if (!cx->oom && name_ix_build(cx, &ix, (const char *const *)&cfg->accounts[0].id,
                                  sizeof *cfg->accounts, cfg->naccounts)) {
        cx_report_dups(cx, &ix, "account id", idn, &cfg->accounts[0].line,
                    &cfg->accounts[0].column, sizeof *cfg->accounts);
        name_ix_release(&ix);
    }
    if (!cx->oom) report_dup_domains(cx, &all, cfg);
    free(all.v);
    free(idn);
}

/* ---- top level ---------------------------------------------------------- */

static const char *const top_keys[] = {
    "agents", "pools", "accounts", "rules", "explain_limit", "holidays",
    "channels", "notify", "allow_private_targets",
};
enum { TK_AGENTS, TK_POOLS, TK_ACCOUNTS, TK_RULES, TK_EXPLAIN, TK_HOLIDAYS,
       TK_CHANNELS, TK_NOTIFY, TK_ALLOW_PRIVATE, TK__N };

void cx_check(cfg_ctx *cx, const yn *root, lr_config *cfg) {
    cfg->explain_limit = 100;
    if (!root || yn_is_null(root)) {
        cx_error(cx, root ? root->line : 1, root ? root->col : 1,
                 "the config is empty (expected a mapping with agents, pools and rules)");
        return;
    }
    if (!want_kind(cx, root, YN_MAP, "the top level", NULL,
                   "a mapping with agents, pools and rules"))
        return;
    const yn *v[TK__N];
    cx_split(cx, root, top_keys, TK__N, v, "at top level");
    int64_t x;
    if (v[TK_EXPLAIN] && want_int(cx, v[TK_EXPLAIN], "", "explain_limit", 1, 100000,
                                  "an integer between 1 and 100000", &x))
        cfg->explain_limit = (uint32_t)x;
    for (int k = 0; k < TK__N; k++)
        if (!v[k] && (k == TK_AGENTS || k == TK_POOLS || k == TK_RULES))
            cx_error(cx, root->line, root->col, "missing required key '%s'", top_keys[k]);

    name_ix agents = { 0 }, pools = { 0 }, channels = { 0 };
    if (v[TK_AGENTS]) check_agents(cx, v[TK_AGENTS], cfg, &agents);
    if (v[TK_HOLIDAYS] && !cx->oom) cx_check_holidays(cx, v[TK_HOLIDAYS], cfg);
    if (v[TK_POOLS] && !cx->oom) check_pools(cx, v[TK_POOLS], &agents, cfg, &pools);
    if (v[TK_ACCOUNTS] && !cx->oom) check_accounts(cx, v[TK_ACCOUNTS], &agents, cfg);
    if (!cx->oom && (v[TK_CHANNELS] || v[TK_ALLOW_PRIVATE]))
        cx_check_channels(cx, v[TK_CHANNELS], v[TK_ALLOW_PRIVATE], cfg, &channels);
    if (v[TK_NOTIFY] && !cx->oom)
        cx_check_notify(cx, v[TK_NOTIFY], "", &channels, cfg, &cfg->notify, &cfg->nnotify);
    if (v[TK_RULES] && !cx->oom) cx_check_rules(cx, v[TK_RULES], &pools, &channels, cfg);
    name_ix_release(&agents);
    name_ix_release(&pools);
    name_ix_release(&channels);
}
