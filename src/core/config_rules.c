/* config_rules.c -- validates the `rules` list of a config: names, pools
 * or tiers, strategies, `when` expressions (compiled here, once), match
 * constraints, fallbacks, the per-strategy options, and what happens to a
 * lead over time (offer, escalate_after, sla, recycle).
 *
 * Fallbacks and recycle targets are resolved after every rule is read, so
 * a rule may name a later one; a chain of fallbacks that comes back to
 * where it started is an error (the engine would loop). A recycle may go
 * back to its own rule: it happens days later, not in a loop.
 *
 * With `tiers`, the rule's pool is tiers[0]; `escalate_after` and
 * `sla.then: escalate` need tiers (there is nowhere to escalate to without).
 */
#include "core/config_impl.h"
#include "core/expr_impl.h"
#include "core/tz.h"
#include "core/tzdata.h"

#include "leadrouter/buf.h"
#include "leadrouter/error.h"
#include "leadrouter/expr.h"
#include "leadrouter/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const rule_keys[] = {
    "name", "when", "pool", "strategy", "match", "fallback", "ignore_capacity",
    "window", "min_sample", "offer", "tiers", "escalate_after", "sla", "recycle",
    "notify",
};
enum { RK_NAME, RK_WHEN, RK_POOL, RK_STRATEGY, RK_MATCH, RK_FALLBACK, RK_IGNORE,
       RK_WINDOW, RK_MIN_SAMPLE, RK_OFFER, RK_TIERS, RK_ESCALATE, RK_SLA, RK_RECYCLE,
       RK_NOTIFY, RK__N };

/* recycle.unless when it is not given: the statuses that close a lead. */
#define RECYCLE_UNLESS_DEFAULT                                              \
    ((1u << LR_PROGRESS_WON) | (1u << LR_PROGRESS_LOST) | (1u << LR_PROGRESS_DISQUALIFIED))

#define MS_SEC INT64_C(1000)
#define MS_MIN INT64_C(60000)

/* The characters in the first LEN bytes of UTF-8 text S. */
static size_t utf8_chars(const char *s, size_t len) {
    size_t n = 0;
    for (size_t i = 0; i < len; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* The line of CX's source that starts at *P (advanced past it): its
 * bytes without the line break; false at the end of the source. */
static bool next_line(const cfg_ctx *cx, const char **p, const char **line, size_t *len) {
    const char *end = cx->src + cx->srclen;
    if (*p >= end) return false;
    const char *eol = memchr(*p, '\n', (size_t)(end - *p));
    if (!eol) eol = end;
    *line = *p;
    *len = (size_t)(eol - *p);
    if (*len && (*p)[*len - 1] == '\r') --*len;
    *p = eol < end ? eol + 1 : end;
    return true;
}

/* Where byte BEFORE of block scalar N's text S (`when: |` or `>`) is in
 * the file: *LINE and *COL (in characters), found by laying the block's
 * lines, their indentation taken off, end to end (each line's text and
 * one byte for its break). True only when the line found holds, at that
 * place of S, the same text: a folded block whose blank lines were folded
 * away, or an explicit indentation, leave the error at the block's start. */
static bool block_position(const cfg_ctx *cx, const yn *n, const char *s, size_t before,
                           int *line, int *col) {
    if (!cx->src || n->line < 1) return false;
    /* past the text's last line ("unexpected end"): the end of that line */
    size_t trimmed = n->len;
    while (trimmed > 0 && (s[trimmed - 1] == '\n' || s[trimmed - 1] == '\r')) trimmed--;
    if (before > trimmed) before = trimmed;
    const char *p = cx->src, *text;
    size_t len;
    int ln = 1;
    while (ln < n->line && next_line(cx, &p, &text, &len)) ln++;
    if (ln != n->line) return false;
    const char *first = p;          /* the indicator's line, when the mark is on it */
    if (next_line(cx, &first, &text, &len)) {
        size_t i = n->col >= 1 ? (size_t)n->col - 1 : 0;
        while (i < len && text[i] == ' ') i++;
        if (i < len && (text[i] == '|' || text[i] == '>')) { p = first; ln++; }
    }
    size_t off = 0, indent = SIZE_MAX;
    while (off <= n->len && next_line(cx, &p, &text, &len)) {
        size_t sp = 0;
        while (sp < len && text[sp] == ' ') sp++;
        if (indent == SIZE_MAX && sp < len) {
            /* the text's line at OFF (blank lines before it are empty in
             * the text too) ends this one: what comes before it is the
             * indentation, with an indicator (`|2`) too */
            const char *at = s + (off < n->len ? off : n->len);
            const char *nl = memchr(at, '\n', n->len - (size_t)(at - s));
            size_t flen = nl ? (size_t)(nl - at) : n->len - (size_t)(at - s);
            indent = flen > 0 && flen <= len && memcmp(text + len - flen, at, flen) == 0 ? len - flen : sp;
        }
        size_t clen = indent != SIZE_MAX && len > indent ? len - indent : 0;
        if (before <= off + clen) {
            /* the byte there ends this line (its break, or the text's
             * end) unless the lines do not lay out as the text: a blank
             * line folded away */
            if (indent == SIZE_MAX || off + clen > n->len ||
                memcmp(s + off, text + indent, clen) != 0 ||
                (before == off + clen && before < trimmed && s[before] != '\n'))
                return false;
            *line = ln;
            *col = (int)(indent + utf8_chars(text + indent, before - off)) + 1;
            return true;
        }
        off += clen + 1;
        ln++;
    }
    return false;
}

/* Compiles the `when` expression N into R; a compile error is reported at
 * the error's column within the scalar when the scalar is on one line, or
 * at its line and column within a block scalar (`|`, `>`). */
static void check_when(cfg_ctx *cx, const yn *n, const char *ctx, lr_rule_conf *r) {
    const char *s;
    if (!want_str(cx, n, ctx, "when", &s)) return;
    if (!(r->when_src = cx_strdup(cx, s, n->len))) return;
    int col = 0;
    char msg[256] = "";
    int rc = lr_expr_compile(s, n->len, &r->when, &col, msg, sizeof msg);
    if (rc == LR_ENOMEM) { cx->oom = true; return; }
    if (rc == LR_OK) {
        /* local_hour("BST"): a zone ICU knows by a name IANA does not have */
        for (size_t k = 0; !cx->replay && k < r->when->nzones; k++) {
            const lr_zone *z = r->when->zones[k];
            if (lr_tzdata_not_iana(lr_zone_name(z), lr_zone_canonical(z), msg, sizeof msg))
                cx_error(cx, n->line, n->col, "%s: when: %s", ctx, msg);
        }
        return;
    }
    r->when = NULL;
    /* The compiler counts bytes, the file's columns count characters: the
     * column said is in characters. It maps onto the file only when the
     * scalar's text is its source: one line, no escapes (the span is then
     * the text's length). */
    size_t before = col >= 1 ? ((size_t)col - 1 < n->len ? (size_t)col - 1 : n->len) : 0;
    if (col >= 1) col = (int)utf8_chars(s, before) + 1;
    int line = n->line, at = n->col;
    if (col >= 1 && (size_t)col <= utf8_chars(s, n->len) + 1 && n->end_line == n->line &&
        (n->style == YS_PLAIN || n->style == YS_QUOTED) &&
        (size_t)(n->end_col - n->col) == utf8_chars(s, n->len))
        at = n->col + col - 1;
    else if (col >= 1 && n->style == YS_BLOCK && !block_position(cx, n, s, before, &line, &at))
        block_position(cx, n, s, 0, &line, &at);     /* then the expression's start */
    char clean[256];
    cx_quote_max(msg, strnlen(msg, sizeof msg), clean, sizeof clean, sizeof clean - 4);
    cx_error(cx, line, at, "%s: when: column %d: %s", ctx, col, clean);
}

static void lead_field_names(lr_buf *b) {
    for (int f = 0; f < LR_LF__COUNT; f++)
        lr_buf_printf(b, "%s%s", f ? ", " : "", lr_lead_field_names[f]);
}

static int str_cmp(const void *x, const void *y) {
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Whether some agent of CFG has attribute NAME (LEN bytes); else KNOWN
 * gets the attribute names the agents have, sorted, for the message. */
static bool some_agent_has(const lr_config *cfg, const char *name, size_t len, lr_buf *known) {
    size_t total = 0;
    for (size_t i = 0; i < cfg->nagents; i++)
        for (size_t k = 0; k < cfg->agents[i].nattrs; k++) {
            const char *a = cfg->agents[i].attrs[k].name;
            if (strlen(a) == len && memcmp(a, name, len) == 0) return true;
            total++;
        }
    const char **v = malloc((total ? total : 1) * sizeof *v);
    if (!v) return true;            /* out of memory: no verdict */
    size_t n = 0, listed = 0;
    for (size_t i = 0; i < cfg->nagents; i++)
        for (size_t k = 0; k < cfg->agents[i].nattrs; k++) v[n++] = cfg->agents[i].attrs[k].name;
    qsort(v, n, sizeof *v, str_cmp);
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(v[i], v[i - 1]) == 0) continue;
        if (++listed > 12) {
            lr_buf_puts(known, ", ...");
            break;
        }
        lr_buf_printf(known, "%s%s", known->len ? ", " : "", v[i]);
    }
    free(v);
    return false;
}

/* Checks `match` (mapping M: attribute -> lead field) into R; CFG's agents
 * are checked already. */
static void check_match(cfg_ctx *cx, const yn *m, const char *ctx, const lr_config *cfg,
                        lr_rule_conf *r) {
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
        lr_buf have = LR_BUF_INIT;
        if (!cx->replay && cfg->nagents && !some_agent_has(cfg, key->text, key->len, &have)) {
            /* agents' attributes come only from the config: no agent with
             * it, and the rule can never match (a typo, most often) */
            cx_error(cx, key->line, key->col,
                     "%s: match: no agent has the attribute '%s', so the rule matches nobody "
                     "(the agents' attributes: %s)", ctx, q, have.len ? have.data : "none");
            lr_buf_release(&have);
            continue;
        }
        lr_buf_release(&have);
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
    r->window_ms = fewest ? 24 * 3600 * 1000 : top ? 30 * CX_MS_PER_DAY : 0;
    const yn *w = v[RK_WINDOW], *ms = v[RK_MIN_SAMPLE];
    if (w && sname && !fewest && !top) {
        cx_error(cx, w->line, w->col,
                 "%s: 'window' applies only to strategies fewest_assigned and top_producer", ctx);
    } else if (w && w->kind != YN_ALIAS) {
        int64_t x;
        if (w->kind == YN_SCALAR && !yn_is_null(w) && cx_parse_duration(w->text, w->len, &x))
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
        if (want_int(cx, ms, ctx, "min_sample", 1, UINT32_MAX, "an integer from 1 to 4294967295", &x))
            r->min_sample = (uint32_t)x;
    }
}

/* ---- tiers and the options of a lead's time ------------------------------ */

/* Checks `tiers` (list N of at least two distinct pool names) into R and
 * sets r->pool to tiers[0]. *first gets tiers[0]'s node when it is a
 * string (known pool or not), for the comparison with `pool`. */
static void check_tiers(cfg_ctx *cx, const yn *n, const char *ctx, const name_ix *pools,
                        lr_rule_conf *r, const yn **first) {
    *first = NULL;
    if (!want_kind(cx, n, YN_SEQ, ctx, "tiers", "a list of at least two pool names")) return;
    if (n->n < 2)
        cx_error(cx, n->line, n->col, "%s: 'tiers' must list at least two pools, got %zu", ctx,
                 n->n);
    if (n->n == 0) return;
    r->tiers = malloc(n->n * sizeof *r->tiers);
    if (!r->tiers) { cx->oom = true; return; }
    for (size_t i = 0; i < n->n; i++) {
        const yn *it = n->items[i];
        const char *s;
        char q[CX_DESC_SIZE];
        if (!want_item_str(cx, it, ctx, "pool names in 'tiers'", &s)) continue;
        if (i == 0) *first = it;
        cx_quote(s, it->len, q, sizeof q);
        long p = name_ix_find(pools, s);
        if (p < 0) {
            cx_error(cx, it->line, it->col, "%s: 'tiers': unknown pool '%s'", ctx, q);
            continue;
        }
        /* quadratic, but a tier list is a handful of pools */
        size_t k = 0;
        while (k < i && !(n->items[k]->kind == YN_SCALAR && n->items[k]->len == it->len &&
                          memcmp(n->items[k]->text, s, it->len) == 0))
            k++;
        if (k < i) {
            cx_error(cx, it->line, it->col, "%s: 'tiers': pool '%s' is listed twice (first at %d:%d)",
                     ctx, q, n->items[k]->line, n->items[k]->col);
            continue;
        }
        if (i == 0) r->pool = (uint32_t)p;
        r->tiers[r->ntiers++] = (uint32_t)p;
    }
}

static const char *const offer_keys[] = { "timeout", "attempts" };

/* Checks `offer: {timeout, attempts}` (mapping M) into R; BROADCAST says
 * whether the rule's strategy offers to every member at once (one attempt). */
static void check_offer(cfg_ctx *cx, const yn *m, const char *ctx, bool broadcast,
                        lr_rule_conf *r) {
    if (!want_kind(cx, m, YN_MAP, ctx, "offer", "a mapping with timeout and attempts")) return;
    const yn *v[2];
    char where[CX_DESC_SIZE + 32];
    snprintf(where, sizeof where, "in offer of %s", ctx);
    cx_split(cx, m, offer_keys, 2, v, where);
    if (!v[0])
        cx_error(cx, m->line, m->col, "%s: missing required key 'timeout' in offer", ctx);
    else
        want_duration(cx, v[0], ctx, "offer.timeout", MS_SEC, 7 * CX_MS_PER_DAY,
                      &r->offer_timeout_ms);
    int64_t x;
    if (v[1] && broadcast && !cx->replay)     /* (a journaled one: ignored, as it was) */
        cx_error(cx, v[1]->line, v[1]->col,
                 "%s: 'offer.attempts' does not apply to strategy broadcast (it offers the lead "
                 "to every eligible member at once, then the rule's fallback)", ctx);
    else if (v[1] && want_int(cx, v[1], ctx, "offer.attempts", 1, 100,
                              "an integer between 1 and 100", &x))
        r->offer_attempts = (uint32_t)x;
}

static const char *const sla_keys[] = { "contact_within", "then" };

/* Checks `sla: {contact_within, then}` (mapping M) into R; TIERS says
 * whether the rule has tiers to escalate to. */
static void check_sla(cfg_ctx *cx, const yn *m, const char *ctx, bool tiers, lr_rule_conf *r) {
    if (!want_kind(cx, m, YN_MAP, ctx, "sla", "a mapping with contact_within and then")) return;
    const yn *v[2];
    char where[CX_DESC_SIZE + 32], q[CX_DESC_SIZE];
    snprintf(where, sizeof where, "in sla of %s", ctx);
    cx_split(cx, m, sla_keys, 2, v, where);
    if (!v[0])
        cx_error(cx, m->line, m->col, "%s: missing required key 'contact_within' in sla", ctx);
    else
        want_duration(cx, v[0], ctx, "sla.contact_within", MS_MIN, 30 * CX_MS_PER_DAY,
                      &r->sla_contact_ms);
    const char *s;
    if (!v[1] || !want_str(cx, v[1], ctx, "sla.then", &s)) return;
    int t = lr_name_lookup(lr_sla_names, LR_SLA__COUNT, s);
    if (t < 0) {
        cx_quote(s, v[1]->len, q, sizeof q);
        cx_error(cx, v[1]->line, v[1]->col,
                 "%s: 'sla.then': unknown action '%s' (known: reassign, escalate, notify)", ctx, q);
    } else if (t == LR_SLA_ESCALATE && !tiers) {
        cx_error(cx, v[1]->line, v[1]->col, "%s: 'sla.then': escalate applies only with tiers",
                 ctx);
    } else {
        r->sla_then = (lr_sla_then)t;
    }
}

static const char *const recycle_keys[] = { "after", "unless", "to" };

/* Checks `recycle.unless` (list L of progress statuses) into R's mask. */
static void check_unless(cfg_ctx *cx, const yn *l, const char *ctx, lr_rule_conf *r) {
    if (!want_kind(cx, l, YN_SEQ, ctx, "recycle.unless", "a list of progress statuses")) return;
    uint32_t mask = 0;
    for (size_t i = 0; i < l->n; i++) {
        const yn *it = l->items[i];
        const char *s;
        if (!want_item_str(cx, it, ctx, "statuses in 'recycle.unless'", &s)) continue;
        int p = lr_name_lookup(lr_progress_names, LR_PROGRESS__COUNT, s);
        if (p >= 0) {
            mask |= 1u << p;
            continue;
        }
        lr_buf known = LR_BUF_INIT;
        for (int k = 0; k < LR_PROGRESS__COUNT; k++)
            lr_buf_printf(&known, "%s%s", k ? ", " : "", lr_progress_names[k]);
        char q[CX_DESC_SIZE];
        cx_quote(s, it->len, q, sizeof q);
        cx_error(cx, it->line, it->col, "%s: 'recycle.unless': unknown status '%s' (known: %s)",
                 ctx, q, known.data ? known.data : "");
        lr_buf_release(&known);
    }
    r->recycle_unless = mask;
}

/* Checks `recycle: {after, unless, to}` (mapping M) into R; *to gets the
 * `to` node, resolved once every rule is known. */
static void check_recycle(cfg_ctx *cx, const yn *m, const char *ctx, lr_rule_conf *r,
                          const yn **to) {
    if (!want_kind(cx, m, YN_MAP, ctx, "recycle", "a mapping with after, unless and to")) return;
    const yn *v[3];
    char where[CX_DESC_SIZE + 32];
    snprintf(where, sizeof where, "in recycle of %s", ctx);
    cx_split(cx, m, recycle_keys, 3, v, where);
    if (!v[0])
        cx_error(cx, m->line, m->col, "%s: missing required key 'after' in recycle", ctx);
    else
        want_duration(cx, v[0], ctx, "recycle.after", MS_MIN,
                      CX_DURATION_MAX_DAYS * CX_MS_PER_DAY, &r->recycle_after_ms);
    if (v[1]) check_unless(cx, v[1], ctx, r);
    const char *s;
    if (v[2] && want_str(cx, v[2], ctx, "recycle.to", &s)) *to = v[2];
}

/* Checks rule #I's pool or tiers (V) into R. */
static void check_pool_or_tiers(cfg_ctx *cx, const yn *m, const yn *const *v, const char *ctx,
                                const name_ix *pools, lr_rule_conf *r) {
    const yn *first = NULL, *pn = v[RK_POOL];
    const char *s;
    char q[CX_DESC_SIZE];
    if (v[RK_TIERS]) check_tiers(cx, v[RK_TIERS], ctx, pools, r, &first);
    if (!pn) {
        if (!v[RK_TIERS]) cx_error(cx, m->line, m->col, "%s: missing required key 'pool'", ctx);
        return;
    }
    if (!want_str(cx, pn, ctx, "pool", &s)) return;
    long p = name_ix_find(pools, s);
    cx_quote(s, pn->len, q, sizeof q);
    if (p < 0) {
        cx_error(cx, pn->line, pn->col, "%s: unknown pool '%s'", ctx, q);
    } else if (first && !(first->len == pn->len && memcmp(first->text, s, pn->len) == 0)) {
        char t[CX_DESC_SIZE];
        cx_quote(first->text, first->len, t, sizeof t);
        cx_error(cx, pn->line, pn->col, "%s: pool and tiers[0] differ (pool '%s', tiers[0] '%s')",
                 ctx, q, t);
    } else if (!v[RK_TIERS]) {
        r->pool = (uint32_t)p;
    }
}

/* Checks rule #I (mapping M) into R; *namen gets the name node (or M),
 * *fb the fallback node and *rto the recycle.to node (or NULL). */
static void check_rule(cfg_ctx *cx, const yn *m, size_t i, const name_ix *pools,
                       const name_ix *channels, lr_config *cfg, const yn **namen,
                       const yn **fb, const yn **rto) {
    lr_rule_conf *r = &cfg->rules[i];
    r->line = m->line;
    r->column = m->col;
    r->fallback = LR_FALLBACK_NEXT;
    r->min_sample = 10;
    r->offer_attempts = 3;
    r->sla_then = LR_SLA_REASSIGN;
    r->recycle_unless = RECYCLE_UNLESS_DEFAULT;
    r->recycle_to = (uint32_t)i;
    *namen = m;
    *fb = NULL;
    *rto = NULL;
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

    check_pool_or_tiers(cx, m, v, ctx, pools, r);
    if (!v[RK_STRATEGY]) cx_error(cx, m->line, m->col, "%s: missing required key 'strategy'", ctx);
    else check_strategy(cx, v[RK_STRATEGY], ctx, r);
    if (v[RK_WHEN]) check_when(cx, v[RK_WHEN], ctx, r);
    if (v[RK_MATCH]) check_match(cx, v[RK_MATCH], ctx, cfg, r);
    if (v[RK_FALLBACK] && want_str(cx, v[RK_FALLBACK], ctx, "fallback", &s)) *fb = v[RK_FALLBACK];
    if (v[RK_IGNORE]) want_bool(cx, v[RK_IGNORE], ctx, "ignore_capacity", &r->ignore_capacity);
    check_options(cx, v, ctx, r);
    const char *sname = r->strategy ? lr_strategy_name(r->strategy) : "";
    bool waits = strcmp(sname, "queue") == 0 || strcmp(sname, "open_pool") == 0 ||
                 strcmp(sname, "manual") == 0;
    if (v[RK_OFFER] && waits && !cx->replay)    /* (a journaled one: ignored, as it was) */
        cx_error(cx, v[RK_OFFER]->line, v[RK_OFFER]->col,
                 "%s: 'offer' does not apply to strategy %s (its leads wait to be claimed or "
                 "assigned; an offer is made by the strategies that pick an agent, and broadcast)",
                 ctx, sname);
    else if (v[RK_OFFER])
        check_offer(cx, v[RK_OFFER], ctx, strcmp(sname, "broadcast") == 0, r);
    const yn *esc = v[RK_ESCALATE];
    if (esc && !v[RK_TIERS])
        cx_error(cx, esc->line, esc->col, "%s: 'escalate_after' applies only with tiers", ctx);
    else if (esc && strcmp(sname, "manual") == 0 && !cx->replay)
        cx_error(cx, esc->line, esc->col, "%s: 'escalate_after' does not apply to strategy manual "
                 "(its leads are held for an admin's assign, never offered or queued)", ctx);
    else if (esc)
        want_duration(cx, esc, ctx, "escalate_after", MS_SEC, 30 * CX_MS_PER_DAY,
                      &r->escalate_after_ms);
    if (v[RK_SLA]) check_sla(cx, v[RK_SLA], ctx, v[RK_TIERS] != NULL, r);
    if (v[RK_RECYCLE]) check_recycle(cx, v[RK_RECYCLE], ctx, r, rto);
    if (v[RK_NOTIFY]) cx_check_notify(cx, v[RK_NOTIFY], ctx, channels, cfg, &r->notify, &r->nnotify);
}

/* Writes how messages name rule #I (R): "rule 'name'" or "rule #I". */
static void rule_ctx(const lr_rule_conf *r, size_t i, char *ctx, size_t size) {
    char q[CX_DESC_SIZE];
    if (r->name) {
        cx_quote(r->name, strlen(r->name), q, sizeof q);
        snprintf(ctx, size, "rule '%s'", q);
    } else {
        snprintf(ctx, size, "rule #%zu", i + 1);
    }
}

/* Resolves rule I's recycle.to (node N) against the rule names in IX. */
static void resolve_recycle_to(cfg_ctx *cx, const yn *n, size_t i, const name_ix *ix,
                               lr_rule_conf *r) {
    long t = name_ix_find(ix, n->text);
    if (t >= 0) {
        r->recycle_to = (uint32_t)t;
        return;
    }
    char ctx[CX_DESC_SIZE + 16], q[CX_DESC_SIZE];
    rule_ctx(r, i, ctx, sizeof ctx);
    cx_quote(n->text, n->len, q, sizeof q);
    cx_error(cx, n->line, n->col, "%s: 'recycle.to': unknown rule '%s'", ctx, q);
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
    rule_ctx(r, i, ctx, sizeof ctx);
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

void cx_check_rules(cfg_ctx *cx, const yn *n, const name_ix *pools, const name_ix *channels,
                    lr_config *cfg) {
    if (!want_kind(cx, n, YN_SEQ, "", "rules", "a list of rules")) return;
    if (n->n == 0) {
        cx_error(cx, n->line, n->col, "'rules' must not be empty");
        return;
    }
    const yn **namen = calloc(n->n, sizeof *namen), **fb = calloc(n->n, sizeof *fb);
    const yn **rto = calloc(n->n, sizeof *rto);
    cfg->rules = calloc(n->n, sizeof *cfg->rules);
    if (!namen || !fb || !rto || !cfg->rules) goto oom;
    cfg->nrules = n->n;
    for (size_t i = 0; i < n->n && !cx->oom; i++)
        check_rule(cx, n->items[i], i, pools, channels, cfg, &namen[i], &fb[i], &rto[i]);
    name_ix ix;
    if (cx->oom || !name_ix_build(cx, &ix, (const char *const *)&cfg->rules[0].name,
                                  sizeof *cfg->rules, cfg->nrules))
        goto done;
    cx_report_dups(cx, &ix, "rule name", namen, &cfg->rules[0].line, &cfg->rules[0].column,
                   sizeof *cfg->rules);
    for (size_t i = 0; i < n->n; i++)
        if (fb[i]) resolve_fallback(cx, fb[i], i, &ix, &cfg->rules[i]);
    for (size_t i = 0; i < n->n; i++)
        if (rto[i]) resolve_recycle_to(cx, rto[i], i, &ix, &cfg->rules[i]);
    name_ix_release(&ix);
    report_loops(cx, cfg, fb);
    goto done;
oom:
    cx->oom = true;
done:
    free(namen);
    free(fb);
    free(rto);
}
