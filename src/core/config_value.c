/* config_value.c -- the small readers the config checkers share: typed
 * scalars (strings, integers, booleans, names) with the "must be X, got Y"
 * messages, mapping key splitting with the unknown-key message, quoting of
 * user text in messages, and sorted name indexes for uniqueness checks and
 * cross references.
 *
 * Every reader reports its own problem and returns false; none of them
 * allocates except cx_strdup and the name index. User text quoted in a
 * message is cut to CX_QUOTE_MAX bytes and its control bytes are masked.
 */
#include "core/config_impl.h"

#include "leadrouter/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scalar helpers ------------------------------------------------------ */

void cx_quote(const char *s, size_t len, char *buf, size_t size) {
    cx_quote_max(s, len, buf, size, CX_QUOTE_MAX);
}

void cx_quote_max(const char *s, size_t len, char *buf, size_t size, size_t max) {
    size_t lim = max;
    if (size < lim + 4) lim = size > 4 ? size - 4 : 0;
    size_t take = len;
    bool cut = false;
    if (take > lim) {
        take = lim;
        while (take > 0 && ((unsigned char)s[take] & 0xC0) == 0x80) take--;
        cut = true;
    }
    size_t o = 0;
    for (size_t i = 0; i < take; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[o++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (cut) { memcpy(buf + o, "...", 3); o += 3; }
    buf[o] = '\0';
}

bool yn_is_null(const yn *n) {
    if (!n) return true;
    if (n->kind != YN_SCALAR) return false;
    if (n->style == YS_EMPTY) return true;
    if (n->style != YS_PLAIN) return false;
    static const char *const nulls[] = { "~", "null", "Null", "NULL" };
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++)
        if (strlen(nulls[i]) == n->len && memcmp(nulls[i], n->text, n->len) == 0) return true;
    return false;
}

void cx_describe(const yn *n, char *buf, size_t size) {
    char q[CX_DESC_SIZE];
    if (yn_is_null(n)) { snprintf(buf, size, "null"); return; }
    switch (n->kind) {
    case YN_MAP: snprintf(buf, size, "a mapping"); return;
    case YN_SEQ: snprintf(buf, size, "a list"); return;
    case YN_ALIAS: snprintf(buf, size, "an alias"); return;
    case YN_SCALAR: break;
    }
    cx_quote(n->text, n->len, q, sizeof q);
    if (n->style == YS_QUOTED) snprintf(buf, size, "the string \"%s\"", q);
    else snprintf(buf, size, "'%s'", q);
}

const yn *yn_get(const yn *m, const char *key, const yn **keyp) {
    size_t klen = strlen(key);
    for (size_t i = 0; i < m->n; i++) {
        const yn *k = YN_KEY(m, i);
        if (k->kind == YN_SCALAR && k->len == klen && memcmp(k->text, key, klen) == 0) {
            if (keyp) *keyp = k;
            return YN_VAL(m, i);
        }
    }
    return NULL;
}

void cx_split(cfg_ctx *cx, const yn *m, const char *const *known, size_t nknown,
              const yn **vals, const char *where) {
    for (size_t k = 0; k < nknown; k++) vals[k] = NULL;
    for (size_t i = 0; i < m->n; i++) {
        const yn *key = YN_KEY(m, i);
        char d[CX_DESC_SIZE];
        if (key->kind == YN_ALIAS) continue;
        if (key->kind != YN_SCALAR) {
            cx_describe(key, d, sizeof d);
            cx_error(cx, key->line, key->col, "keys must be strings %s, got %s", where, d);
            continue;
        }
        size_t k = 0;
        while (k < nknown && !(strlen(known[k]) == key->len &&
                               memcmp(known[k], key->text, key->len) == 0))
            k++;
        if (k < nknown) {
            if (!vals[k]) vals[k] = YN_VAL(m, i);   /* a repeat was reported */
            continue;
        }
        lr_buf list = LR_BUF_INIT;
        for (size_t j = 0; j < nknown; j++)
            if (lr_buf_printf(&list, "%s%s", j ? ", " : "", known[j]) != 0) cx->oom = true;
        cx_quote(key->text, key->len, d, sizeof d);
        cx_error(cx, key->line, key->col, "unknown key '%s' %s (known: %s)", d, where,
                 list.data ? list.data : "");
        lr_buf_release(&list);
    }
}

void cx_mismatch(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
                     const char *what) {
    char d[CX_DESC_SIZE];
    cx_describe(n, d, sizeof d);
    if (key) cx_error(cx, n->line, n->col, "%s%s'%s' must be %s, got %s", CX_PFX(ctx), key, what, d);
    else cx_error(cx, n->line, n->col, "%s must be %s, got %s", ctx, what, d);
}

bool want_kind(cfg_ctx *cx, const yn *n, yn_kind kind, const char *ctx,
               const char *key, const char *what) {
    if (n->kind == YN_ALIAS) return false;
    if (n->kind == kind && !(kind == YN_SCALAR && yn_is_null(n))) return true;
    cx_mismatch(cx, n, ctx, key, what);
    return false;
}

bool want_str(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
              const char **out) {
    if (!want_kind(cx, n, YN_SCALAR, ctx, key, "a string")) return false;
    if (memchr(n->text, '\0', n->len)) {
        cx_error(cx, n->line, n->col, "%s%s'%s' must not contain NUL characters",
                 CX_PFX(ctx), key ? key : "value");
        return false;
    }
    *out = n->text;
    return true;
}

bool want_item_str(cfg_ctx *cx, const yn *n, const char *ctx, const char *items,
                   const char **out) {
    if (n->kind == YN_ALIAS) return false;
    char d[CX_DESC_SIZE];
    if (n->kind == YN_SCALAR && !yn_is_null(n) && memchr(n->text, '\0', n->len)) {
        cx_error(cx, n->line, n->col, "%s%s%s must not contain NUL characters", CX_PFX(ctx), items);
        return false;
    }
    if (n->kind != YN_SCALAR || yn_is_null(n)) {
        cx_describe(n, d, sizeof d);
        cx_error(cx, n->line, n->col, "%s%s%s must be strings, got %s", CX_PFX(ctx), items, d);
        return false;
    }
    *out = n->text;
    return true;
}

bool want_int(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
              int64_t lo, int64_t hi, const char *what, int64_t *out) {
    if (n->kind == YN_ALIAS) return false;
    bool ok = n->kind == YN_SCALAR && n->style == YS_PLAIN && n->len > 0;
    const char *s = n->text, *end = n->text + n->len;
    bool neg = false;
    if (ok && (*s == '-' || *s == '+')) { neg = *s == '-'; s++; }
    ok = ok && s < end;
    uint64_t v = 0;
    for (; ok && s < end; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) { ok = false; break; }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    int64_t x = 0;
    if (ok && !neg && v <= (uint64_t)INT64_MAX) x = (int64_t)v;
    else if (ok && neg && v <= (uint64_t)INT64_MAX + 1) x = v ? -(int64_t)(v - 1) - 1 : 0;
    else ok = false;
    if (!ok || x < lo || x > hi) {
        cx_mismatch(cx, n, ctx, key, what);
        return false;
    }
    *out = x;
    return true;
}

bool want_bool(cfg_ctx *cx, const yn *n, const char *ctx, const char *key, bool *out) {
    if (n->kind == YN_ALIAS) return false;
    static const char *const t[] = { "true", "True", "TRUE" }, *const f[] = { "false", "False", "FALSE" };
    if (n->kind == YN_SCALAR && n->style == YS_PLAIN) {
        for (size_t i = 0; i < 3; i++) {
            if (strcmp(n->text, t[i]) == 0) { *out = true; return true; }
            if (strcmp(n->text, f[i]) == 0) { *out = false; return true; }
        }
    }
    cx_mismatch(cx, n, ctx, key, "true or false");
    return false;
}

bool cx_parse_duration(const char *s, size_t len, int64_t *ms) {
    if (len < 2) return false;
    int64_t n = 0;
    for (size_t i = 0; i + 1 < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        n = n * 10 + (s[i] - '0');
        if (n > CX_DURATION_MAX_DAYS * 86400) return false;
    }
    int64_t unit;
    switch (s[len - 1]) {
    case 's': unit = 1000; break;
    case 'm': unit = 60 * 1000; break;
    case 'h': unit = 3600 * 1000; break;
    case 'd': unit = CX_MS_PER_DAY; break;
    default: return false;
    }
    if (n == 0 || n * unit > CX_DURATION_MAX_DAYS * CX_MS_PER_DAY) return false;
    *ms = n * unit;
    return true;
}

/* Writes MS as the largest unit that divides it: "90s", "15m", "7d". */
static void duration_text(int64_t ms, char *buf, size_t size) {
    static const struct { int64_t unit; char c; } u[] = {
        { CX_MS_PER_DAY, 'd' }, { 3600 * 1000, 'h' }, { 60 * 1000, 'm' }, { 1000, 's' },
    };
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (ms % u[i].unit == 0) {
            snprintf(buf, size, "%lld%c", (long long)(ms / u[i].unit), u[i].c);
            return;
        }
    snprintf(buf, size, "%lldms", (long long)ms);
}

bool want_duration(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
                   int64_t lo, int64_t hi, int64_t *out) {
    if (n->kind == YN_ALIAS) return false;
    int64_t x;
    if (n->kind == YN_SCALAR && !yn_is_null(n) && cx_parse_duration(n->text, n->len, &x) &&
        x >= lo && x <= hi) {
        *out = x;
        return true;
    }
    char a[32], b[32], what[128];
    duration_text(lo, a, sizeof a);
    duration_text(hi, b, sizeof b);
    snprintf(what, sizeof what, "a duration from %s to %s (a whole number and s, m, h or d)", a, b);
    cx_mismatch(cx, n, ctx, key, what);
    return false;
}

char *cx_strdup(cfg_ctx *cx, const char *s, size_t len) {
    char *p = malloc(len + 1);
    if (!p) { cx->oom = true; return NULL; }
    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

bool cx_has_control(const char *s, size_t len) {
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) return true;
    return false;
}

bool cx_name(cfg_ctx *cx, const yn *n, const char *ctx, const char *key, const char **out) {
    const char *s;
    if (!want_str(cx, n, ctx, key, &s)) return false;
    /* a name is printed in warnings, summaries and answers: no control
     * bytes (a journaled config loads as it was accepted) */
    if (n->len == 0 || n->len > LR_NAME_MAX || (!cx->replay && cx_has_control(s, n->len))) {
        cx_mismatch(cx, n, ctx, key, "a string of 1 to 256 bytes without a control character");
        return false;
    }
    *out = s;
    return true;
}

bool cx_ident(const char *s, size_t len) {
    if (len == 0 || len > LR_NAME_MAX || (s[0] >= '0' && s[0] <= '9')) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_'))
            return false;
    }
    return true;
}

/* ---- name indexes -------------------------------------------------------- */

static int ent_cmp(const void *pa, const void *pb) {
    const name_ent *a = pa, *b = pb;
    int r = strcmp(a->name, b->name);
    if (r) return r;
    return (a->idx > b->idx) - (a->idx < b->idx);
}

bool name_ix_build(cfg_ctx *cx, name_ix *ix, const char *const *names, size_t stride,
                   size_t n) {
    ix->v = NULL;
    ix->n = 0;
    if (n == 0) return true;
    ix->v = malloc(n * sizeof *ix->v);
    if (!ix->v) { cx->oom = true; return false; }
    for (size_t i = 0; i < n; i++) {
        const char *s = *(const char *const *)((const char *)names + i * stride);
        if (s) ix->v[ix->n++] = (name_ent){ s, (uint32_t)i };
    }
    qsort(ix->v, ix->n, sizeof *ix->v, ent_cmp);
    return true;
}

long name_ix_find(const name_ix *ix, const char *name) {
    size_t lo = 0, hi = ix->n;
    while (lo < hi) {           /* first entry >= name */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(ix->v[mid].name, name) < 0) lo = mid + 1;
        else hi = mid;
    }
    if (lo < ix->n && strcmp(ix->v[lo].name, name) == 0) return (long)ix->v[lo].idx;
    return -1;
}

void name_ix_release(name_ix *ix) {
    free(ix->v);
    ix->v = NULL;
    ix->n = 0;
}

/* Reports each entry of IX that repeats an earlier name:
 * "duplicate WHAT 'x' (first defined at L:C)" at AT[idx], with the first
 * definition at LINES/COLS (int fields at STRIDE within their structs). */
void cx_report_dups(cfg_ctx *cx, const name_ix *ix, const char *what,
                        const yn *const *at, const int *lines, const int *cols,
                        size_t stride) {
    for (size_t i = 1, first = 0; i < ix->n; i++) {
        if (strcmp(ix->v[i].name, ix->v[first].name) != 0) { first = i; continue; }
        const yn *n = at[ix->v[i].idx];
        uint32_t f = ix->v[first].idx;
        int fl = *(const int *)((const char *)lines + f * stride);
        int fc = *(const int *)((const char *)cols + f * stride);
        char q[CX_DESC_SIZE];
        cx_quote(ix->v[i].name, strlen(ix->v[i].name), q, sizeof q);
        cx_error(cx, n->line, n->col, "duplicate %s '%s' (first defined at %d:%d)", what, q, fl, fc);
    }
}
