/* config_rules.c -- validates the `rules` list of a config: names, pools,
 * strategies, `when` expressions (compiled here, once), match constraints,
 * fallbacks and the per-strategy options.
 *
 * Fallbacks are resolved after every rule is read, so a rule may fall back
 * to a later one; a chain of fallbacks that comes back to where it started
 * is an error (the engine would loop).
 */
#include "core/config_impl.h"

#include "leadrouter/buf.h"
#include "leadrouter/error.h"
#include "leadrouter/expr.h"
#include "leadrouter/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_keys[] = {
    "name", "when", "pool", "strategy", "match", "fallback", "ignore_capacity",
    "window", "min_sample",
};
enum { RK_NAME, RK_WHEN, RK_POOL, RK_STRATEGY, RK_MATCH, RK_FALLBACK, RK_IGNORE,
       RK_WINDOW, RK_MIN_SAMPLE, RK__N };

#define MS_PER_DAY INT64_C(86400000)
#define WINDOW_MAX_DAYS 3650

/* Parses a duration "Ns", "Nm", "Nh" or "Nd" (1 s to WINDOW_MAX_DAYS) into
 * milliseconds; false when S is not one. */
static bool parse_duration(const char *s, size_t len, int64_t *ms) {
    if (len < 2) return false;
    int64_t n = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        n = n * 10 + (s[i] - '0');
        if (n > WINDOW_MAX_DAYS * 86400) return false;
    }
    int64_t unit;
    switch (s[len - 1]) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = MS_PER_DAY; break;
    default: return false;
    }
    if (n == 0 || n * unit > WINDOW_MAX_DAYS * MS_PER_DAY) return false;
    *ms = n * unit;
    return true;
}

/* Compiles the `when` expression N into R; a compile error is reported at
 * the error's column within the scalar when the scalar is on one line. */
static void check_when(cfg_ctx *cx, const yn *n, const char *ctx, lr_rule_conf *r) {
    const char *s;
    if (!want_str(cx, n, ctx, "when", &s)) return;
    if (!(r->when_src = cx_strdup(cx, s, n->len))) return;
    int col = 0;
    char msg[256] = "";
    int rc = lr_expr_compile(s, n->len, &r->when, &col, msg, sizeof msg);
    if (rc == LR_ENOMEM) { cx->oom = true; return; }
    if (rc == LR_OK) return;
    r->when = NULL;
    /* The column maps onto the file only when the scalar's text is its
     * source: one line, no escapes (the span is then the text's length). */
    int at = n->col;
    if (col >= 1 && (size_t)col <= n->len + 1 && n->end_line == n->line &&
        (n->style == YS_PLAIN || n->style == YS_QUOTED) &&
        (size_t)(n->end_col - n->col) == n->len)
        at = n->col + col - 1;
    char clean[256];
    cx_quote(msg, strnlen(msg, sizeof msg), clean, sizeof clean);
    cx_error(cx, n->line, at, "%s: when: column %d: %s", ctx, col, clean);
}

static void lead_field_names(lr_buf *b) {
    for (int f = 0; f < LR_LF__COUNT; f++)
        lr_buf_printf(b, "%s%s", f ? ", " : "", lr_lead_field_names[f]);
}

/* Checks `match` (mapping M: attribute -> lead field) into R. */
static void check_match(cfg_ctx *cx, const yn *m, const char *ctx, lr_rule_conf *r) {
    if (!want_kind(cx, m, YN_MAP, ctx, "match", "a mapping of agent attribute to lead field"))
        return;
    if (m->n == 0) return;
    r->match = calloc(m->n, sizeof *r->match);
    if (!r->match) { cx->oom = true; return; }
    for (size_t i = 0; i < m->n && !cx->oom; i++) {
        const yn *key = YN_KEY(m, i), *val = YN_VAL(m, i);
        char q[CX_DESC_SIZE], item[CX_DESC_SIZE + 16];
        const char *s;
        if (key->kind == YN_ALIAS) continue;
        if (key->kind != YN_SCALAR || !cx_ident(key->text, key->len)) {
            cx_describe(key, q, sizeof q);
            cx_error(cx, key->line, key->col,
                     "%s: match: invalid attribute name %s (letters, digits and _, "
                     "not starting with a digit)", ctx, q);
            continue;
        }
        cx_quote(key->text, key->len, q, sizeof q);
        snprintf(item, sizeof item, "match.%s", q);
        if (!want_str(cx, val, ctx, item, &s)) continue;
        int f = lr_lead_field_lookup(s, val->len);
        bool custom = f < 0 && val->len > 7 && memcmp(s, "fields.", 7) == 0;
        if (f < 0 && !custom) {
            lr_buf known = LR_BUF_INIT;
            lead_field_names(&known);
            cx_quote(s, val->len, q, sizeof q);
            cx_error(cx, val->line, val->col,
                     "%s: '%s': unknown lead field '%s' (known: %s, or fields.NAME)", ctx,
                     item, q, known.data ? known.data : "");
            lr_buf_release(&known);
            continue;
        }
        lr_match *mt = &r->match[r->nmatch];
        if (!(mt->attr = cx_strdup(cx, key->text, key->len))) return;
        r->nmatch++;
        mt->field = f;
        if (custom && !(mt->custom = cx_strdup(cx, s + 7, val->len - 7))) return;
    }
}

/* Checks the name of rule #I (node N): unique is checked later. */
static bool check_rule_name(cfg_ctx *cx, const yn *n, const char *ctx, const char **out) {
    const char *s;
    if (!cx_name(cx, n, ctx, "name", &s)) return false;
    if (strcmp(s, "next") == 0 || strcmp(s, "queue") == 0 || strcmp(s, "hold") == 0) {
        cx_error(cx, n->line, n->col,
                 "%s: the rule name '%s' is reserved (it is a fallback keyword)", ctx, s);
        return false;
    }
    *out = s;
    return true;
}

static void check_strategy(cfg_ctx *cx, const yn *n, const char *ctx, lr_rule_conf *r) {
    const char *s;
    if (!want_str(cx, n, ctx, "strategy", &s)) return;
    if ((r->strategy = lr_strategy_find(s))) return;
    size_t cnt;
    const char *const *names = lr_strategy_names(&cnt);
    lr_buf known = LR_BUF_INIT;
    for (size_t i = 0; i < cnt; i++) lr_buf_printf(&known, "%s%s", i ? ", " : "", names[i]);
    char q[CX_DESC_SIZE];
    cx_quote(s, n->len, q, sizeof q);
    cx_error(cx, n->line, n->col, "%s: unknown strategy '%s' (known: %s)", ctx, q,
             known.data ? known.data : "");
    lr_buf_release(&known);
}

/* Checks the options that belong to one strategy (window, min_sample) and
 * sets their defaults. */
static void check_options(cfg_ctx *cx, const yn *const *v, const char *ctx, lr_rule_conf *r) {
    const char *sname = r->strategy ? lr_strategy_name(r->strategy) : NULL;
    bool fewest = sname && strcmp(sname, "fewest_assigned") == 0;
    bool top = sname && strcmp(sname, "top_producer") == 0;
    r->min_sample = 10;
    r->window_ms = fewest ? 24 * 3600 * 1000 : top ? 30 * MS_PER_DAY : 0;
    const yn *w = v[RK_WINDOW], *ms = v[RK_MIN_SAMPLE];
    if (w && sname && !fewest && !top) {
        cx_error(cx, w->line, w->col,
                 "%s: 'window' applies only to strategies fewest_assigned and top_producer", ctx);
    } else if (w && w->kind != YN_ALIAS) {
        int64_t x;
        if (w->kind == YN_SCALAR && !yn_is_null(w) && parse_duration(w->text, w->len, &x))
            r->window_ms = x;
        else
            cx_mismatch(cx, w, ctx, "window",
                        "a duration such as 90s, 15m, 24h or 30d (at most 3650d)");
    }
    if (ms && sname && !top) {
        cx_error(cx, ms->line, ms->col, "%s: 'min_sample' applies only to strategy top_producer",
                 ctx);
    } else if (ms) {
        int64_t x;
        if (want_int(cx, ms, ctx, "min_sample", 1, UINT32_MAX, "a positive integer", &x))
            r->min_sample = (uint32_t)x;
    }
}

/* Checks rule #I (mapping M) into R; *namen gets the name node (or M) and
 * *fb the fallback node (or NULL). */
static void check_rule(cfg_ctx *cx, const yn *m, size_t i, const name_ix *pools,
                       lr_rule_conf *r, const yn **namen, const yn **fb) {
    r->line = m->line;
    r->column = m->col;
    r->fallback = LR_FALLBACK_NEXT;
    r->min_sample = 10;
    *namen = m;
    *fb = NULL;
    char ctx[CX_DESC_SIZE + 16], q[CX_DESC_SIZE];
    snprintf(ctx, sizeof ctx, "rule #%zu", i + 1);
    if (!want_kind(cx, m, YN_MAP, ctx, NULL, "a mapping")) return;
    const char *s;
    const yn *v[RK__N];
    const yn *name = yn_get(m, "name", NULL);
    if (!name) {
        cx_error(cx, m->line, m->col, "%s: missing required key 'name'", ctx);
    } else if (check_rule_name(cx, name, ctx, &s)) {
        if (!(r->name = cx_strdup(cx, s, name->len))) return;
        *namen = name;
        cx_quote(s, name->len, q, sizeof q);
        snprintf(ctx, sizeof ctx, "rule '%s'", q);
    }
    char where[sizeof ctx + 8];
    snprintf(where, sizeof where, "in %s", ctx);
    cx_split(cx, m, rule_keys, RK__N, v, where);

    if (!v[RK_POOL]) {
        cx_error(cx, m->line, m->col, "%s: missing required key 'pool'", ctx);
    } else if (want_str(cx, v[RK_POOL], ctx, "pool", &s)) {
        long p = name_ix_find(pools, s);
        if (p >= 0) {
            r->pool = (uint32_t)p;
        } else {
            cx_quote(s, v[RK_POOL]->len, q, sizeof q);
            cx_error(cx, v[RK_POOL]->line, v[RK_POOL]->col, "%s: unknown pool '%s'", ctx, q);
        }
    }
    if (!v[RK_STRATEGY]) cx_error(cx, m->line, m->col, "%s: missing required key 'strategy'", ctx);
    else check_strategy(cx, v[RK_STRATEGY], ctx, r);
    if (v[RK_WHEN]) check_when(cx, v[RK_WHEN], ctx, r);
    if (v[RK_MATCH]) check_match(cx, v[RK_MATCH], ctx, r);
    if (v[RK_FALLBACK] && want_str(cx, v[RK_FALLBACK], ctx, "fallback", &s)) *fb = v[RK_FALLBACK];
    if (v[RK_IGNORE]) want_bool(cx, v[RK_IGNORE], ctx, "ignore_capacity", &r->ignore_capacity);
    check_options(cx, v, ctx, r);
}

/* Resolves rule I's fallback (node N) against the rule names in IX. */
static void resolve_fallback(cfg_ctx *cx, const yn *n, size_t i, const name_ix *ix,
                             lr_rule_conf *r) {
    static const char *const kw[] = { "next", "queue", "hold" };
    static const lr_fallback_kind kinds[] = { LR_FALLBACK_NEXT, LR_FALLBACK_QUEUE,
                                              LR_FALLBACK_HOLD };
    for (size_t k = 0; k < 3; k++)
        if (strcmp(n->text, kw[k]) == 0) { r->fallback = kinds[k]; return; }
    char ctx[CX_DESC_SIZE + 16], q[CX_DESC_SIZE];
    if (r->name) {
        cx_quote(r->name, strlen(r->name), q, sizeof q);
        snprintf(ctx, sizeof ctx, "rule '%s'", q);
    } else {
        snprintf(ctx, sizeof ctx, "rule #%zu", i + 1);
    }
    long t = name_ix_find(ix, n->text);
    if (t == (long)i) {
        cx_error(cx, n->line, n->col, "%s: a rule cannot fall back to itself", ctx);
    } else if (t < 0) {
        cx_quote(n->text, n->len, q, sizeof q);
        cx_error(cx, n->line, n->col,
                 "%s: unknown fallback '%s' (next, queue, hold or the name of another rule)",
                 ctx, q);
    } else {
        r->fallback = LR_FALLBACK_RULE;
        r->fallback_rule = (uint32_t)t;
    }
}

/* Reports every loop of rule fallbacks once, at the fallback of the rule
 * where the walk first came back. The fallbacks form a graph where each
 * rule has at most one edge, so one walk per rule with a stamp is O(n). */
static void report_loops(cfg_ctx *cx, const lr_config *cfg, const yn *const *fb) {
    size_t n = cfg->nrules;
    uint32_t *stamp = calloc(n, sizeof *stamp);
    if (!stamp) { cx->oom = true; return; }
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (!stamp[j]) {
            stamp[j] = (uint32_t)i + 1;
            if (cfg->rules[j].fallback != LR_FALLBACK_RULE) break;
            j = cfg->rules[j].fallback_rule;
        }
        if (stamp[j] != (uint32_t)i + 1 || cfg->rules[j].fallback != LR_FALLBACK_RULE)
            continue;
        /* j is on a loop first seen now: name it, a -> b -> a */
        lr_buf path = LR_BUF_INIT;
        size_t k = j, hops = 0;
        do {
            char q[CX_DESC_SIZE];
            const char *name = cfg->rules[k].name;
            cx_quote(name, strlen(name), q, sizeof q);
            lr_buf_printf(&path, "%s -> ", q);
            k = cfg->rules[k].fallback_rule;
        } while (k != j && ++hops < 8);
        if (k != j) lr_buf_puts(&path, "... -> ");
        char q[CX_DESC_SIZE];
        cx_quote(cfg->rules[j].name, strlen(cfg->rules[j].name), q, sizeof q);
        lr_buf_puts(&path, q);
        cx_error(cx, fb[j]->line, fb[j]->col, "rule '%s': fallbacks form a loop (%s)", q,
                 path.data ? path.data : "");
        lr_buf_release(&path);
    }
    free(stamp);
}

void cx_check_rules(cfg_ctx *cx, const yn *n, const name_ix *pools, lr_config *cfg) {
    if (!want_kind(cx, n, YN_SEQ, "", "rules", "a list of rules")) return;
    if (n->n == 0) {
        cx_error(cx, n->line, n->col, "'rules' must not be empty");
        return;
    }
    const yn **namen = calloc(n->n, sizeof *namen), **fb = calloc(n->n, sizeof *fb);
    cfg->rules = calloc(n->n, sizeof *cfg->rules);
    if (!namen || !fb || !cfg->rules) goto oom;
    cfg->nrules = n->n;
    for (size_t i = 0; i < n->n && !cx->oom; i++)
        check_rule(cx, n->items[i], i, pools, &cfg->rules[i], &namen[i], &fb[i]);
    name_ix ix;
    if (cx->oom || !name_ix_build(cx, &ix, (const char *const *)&cfg->rules[0].name,
                                  sizeof *cfg->rules, cfg->nrules))
        goto done;
    cx_report_dups(cx, &ix, "rule name", namen, &cfg->rules[0].line, &cfg->rules[0].column,
                   sizeof *cfg->rules);
    for (size_t i = 0; i < n->n; i++)
        if (fb[i]) resolve_fallback(cx, fb[i], i, &ix, &cfg->rules[i]);
    name_ix_release(&ix);
    report_loops(cx, cfg, fb);
    goto done;
oom:
    cx->oom = true;
done:
    free(namen);
    free(fb);
}
