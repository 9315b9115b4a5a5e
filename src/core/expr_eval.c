/* expr_eval.c -- evaluates a compiled rule expression against a lead
 * (see expr.h for the language, expr_impl.h for the tree).
 *
 * Evaluation never allocates. Two devices make that possible:
 *   - lower() and domain() do not build new strings: a string value carries
 *     a `fold` flag meaning "this is the ASCII lower case of these bytes",
 *     and every string operation (==, <, substring, prefix, suffix) applies
 *     each side's flag byte by byte. So there is no scratch buffer and no
 *     length limit or truncation.
 *   - a list literal with non-literal items is never materialised: its value
 *     names the node of its first item, and `in`, contains() and list
 *     equality evaluate the items one by one as they walk them.
 *
 * Semantics (the issue's, made exact):
 *   - == and != compare same-typed values: numbers exactly, strings byte-wise
 *     (after folding), booleans, lists item by item; different types are not
 *     equal. A comparison with a null operand is false, except against the
 *     literal `null`: `x == null` is true iff x is null, `x != null` true iff
 *     x is not null (`null == null` is true). So `state != "CA"` is false for
 *     a lead without a state, and so is `fields.a == fields.b` when both are
 *     missing.
 *   - < <= > >= order two numbers or two strings (byte order); else false.
 *   - `x in L` is true iff x is not null and equals an item of the list L,
 *     or, when L is a string, x is a string occurring in it; `x not in L` is
 *     true iff x is not null, L is a list or a string, and `x in L` is false.
 *   - and, or, not: only the boolean true is true.
 *   - local_hour(zone) is the hour (0-23, a number) and local_weekday(zone)
 *     the day ("mon".."sun", a string) of the evaluation time in the zone;
 *     both are null without a time (LR_TIME_NONE) or for a time outside the
 *     zone's range (years 0000-9999).
 *
 * The zones belong to the expression, but asking one for a civil time
 * updates its cache: evaluating an expression that uses local_* mutates
 * it behind the const pointer, so such an expression must not be evaluated
 * from two threads at once (expr.h). The cache makes it cheap: ICU is
 * consulted only when the time leaves the zone's current offset span.
 */
#include "core/expr_impl.h"
#include "core/tz.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <string.h>

/* A value during evaluation: an lr_value plus the two devices above. */
typedef struct val {
    lr_value v;
    int32_t dyn;        /* LR_VLIST: first item node of an unfolded list literal, or -1 */
    bool fold;          /* LR_VSTR: the value is the ASCII lower case of v.u.s */
} val;

typedef struct ctx {
    const expr_node *nodes;
    const lr_lead *lead;
    lr_zone *const *zones;      /* the expression's zones (their caches change) */
    lr_time now;                /* LR_TIME_NONE: local_* give null */
} ctx;

static void eval(const ctx *c, int32_t i, val *out);
static bool test(const ctx *c, int32_t i);

static val of_value(const lr_value *v) {
    val r = { .v = *v, .dyn = -1, .fold = false };
    return r;
}

static val of_bool(bool b) {
    val r = { .v = { .type = LR_VBOOL, .u.b = b }, .dyn = -1, .fold = false };
    return r;
}

static val of_null(void) {
    val r = { .v = { .type = LR_VNULL }, .dyn = -1, .fold = false };
    return r;
}

static bool truthy(const val *v) { return v->v.type == LR_VBOOL && v->v.u.b; }

/* ---- strings -------------------------------------------------------------- */

static unsigned char lower_ascii(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Byte I of string value V, folded when V says so. */
static unsigned char at(const val *v, size_t i) {
    unsigned char c = (unsigned char)v->v.u.s.ptr[i];
    return v->fold ? lower_ascii(c) : c;
}

/* Whether N bytes of A from AOFF equal N bytes of B from BOFF. */
static bool region_eq(const val *a, size_t aoff, const val *b, size_t boff, size_t n) {
    if (n == 0) return true;
    if (!a->fold && !b->fold) return memcmp(a->v.u.s.ptr + aoff, b->v.u.s.ptr + boff, n) == 0;
    for (size_t i = 0; i < n; i++)
        if (at(a, aoff + i) != at(b, boff + i)) return false;
    return true;
}

static bool str_eq(const val *a, const val *b) {
    return a->v.u.s.len == b->v.u.s.len && region_eq(a, 0, b, 0, a->v.u.s.len);
}

/* <0, 0, >0 as A sorts before, with or after B (bytes unsigned). */
static int str_cmp(const val *a, const val *b) {
    size_t la = a->v.u.s.len, lb = b->v.u.s.len, n = la < lb ? la : lb;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = at(a, i), y = at(b, i);
        if (x != y) return x < y ? -1 : 1;
    }
    return la < lb ? -1 : la > lb;
}

/* Whether NEEDLE occurs in HAY (the empty string occurs everywhere). */
static bool str_find(const val *hay, const val *needle) {
    size_t hn = hay->v.u.s.len, nn = needle->v.u.s.len;
    if (nn == 0) return true;
    if (nn > hn) return false;
    if (!hay->fold && !needle->fold)
        return memmem(hay->v.u.s.ptr, hn, needle->v.u.s.ptr, nn) != NULL;
    for (size_t i = 0; i + nn <= hn; i++)
        if (region_eq(hay, i, needle, 0, nn)) return true;
    return false;
}

/* ---- lists and equality --------------------------------------------------- */

typedef struct list_it {
    const val *list;
    size_t i;           /* folded or lead list: next item */
    int32_t kid;        /* unfolded literal: next item node, -1 at the end */
} list_it;

static list_it list_begin(const val *l) {
    list_it it = { .list = l, .i = 0, .kid = l->dyn };
    return it;
}

/* Stores the next item of the list in *out; false at the end. */
static bool list_next(const ctx *c, list_it *it, val *out) {
    if (it->list->dyn >= 0) {
        if (it->kid < 0) return false;
        eval(c, it->kid, out);
        it->kid = c->nodes[it->kid].next;
        return true;
    }
    if (it->i >= it->list->v.u.list.n) return false;
    *out = of_value(&it->list->v.u.list.items[it->i++]);
    return true;
}

/* Same-typed equality; null equals null (only lists reach that case: the
 * comparison operators handle null operands before calling this). */
static bool equal(const ctx *c, const val *a, const val *b) {
    if (a->v.type != b->v.type) return false;
    switch (a->v.type) {
    case LR_VNULL: return true;
    case LR_VBOOL: return a->v.u.b == b->v.u.b;
    case LR_VNUM: return a->v.u.n == b->v.u.n;
    case LR_VSTR: return str_eq(a, b);
    case LR_VLIST: {
        if (a->v.u.list.n != b->v.u.list.n) return false;
        list_it ia = list_begin(a), ib = list_begin(b);
        val x, y;
        while (list_next(c, &ia, &x) && list_next(c, &ib, &y))
            if (!equal(c, &x, &y)) return false;
        return true;
    }
    }
    return false;
}

/* Whether X equals an item of the list L. */
static bool list_has(const ctx *c, const val *l, const val *x) {
    if (l->dyn < 0 && x->v.type == LR_VSTR && !x->fold) {
        /* the common case, `state in ["CA", "NV"]`: no per-item dispatch */
        const char *p = x->v.u.s.ptr;
        size_t n = x->v.u.s.len;
        for (size_t i = 0; i < l->v.u.list.n; i++) {
            const lr_value *it = &l->v.u.list.items[i];
            if (it->type == LR_VSTR && it->u.s.len == n && (n == 0 || memcmp(it->u.s.ptr, p, n) == 0))
                return true;
        }
        return false;
    }
    list_it it = list_begin(l);
    val item;
    while (list_next(c, &it, &item))
        if (equal(c, x, &item)) return true;
    return false;
}

/* ---- operators and functions ---------------------------------------------- */

static bool compare(const ctx *c, const expr_node *n) {
    val l, r;
    eval(c, n->a, &l);
    eval(c, n->b, &r);
    bool ln = l.v.type == LR_VNULL, rn = r.v.type == LR_VNULL;
    switch ((expr_op)n->op) {
    case N_EQ:
        if (ln || rn) {
            if (n->flags & EXPR_LNULL) return rn;
            if (n->flags & EXPR_RNULL) return ln;
            return false;
        }
        return equal(c, &l, &r);
    case N_NE:
        if (ln || rn) {
            if (n->flags & EXPR_LNULL) return !rn;
            if (n->flags & EXPR_RNULL) return !ln;
            return false;
        }
        return !equal(c, &l, &r);
    case N_IN:
    case N_NOTIN: {
        if (ln || rn) return false;
        bool in;
        if (r.v.type == LR_VLIST) in = list_has(c, &r, &l);
        else if (r.v.type == LR_VSTR) in = l.v.type == LR_VSTR && str_find(&r, &l);
        else return false;
        return n->op == N_IN ? in : !in;
    }
    default:
        break;
    }
    int d;
    if (l.v.type == LR_VNUM && r.v.type == LR_VNUM) {
        double x = l.v.u.n, y = r.v.u.n;
        switch ((expr_op)n->op) {
        case N_LT: return x < y;
        case N_LE: return x <= y;
        case N_GT: return x > y;
        case N_GE: return x >= y;
        default: return false;
        }
    }
    if (l.v.type != LR_VSTR || r.v.type != LR_VSTR) return false;
    d = str_cmp(&l, &r);
    switch ((expr_op)n->op) {
    case N_LT: return d < 0;
    case N_LE: return d <= 0;
    case N_GT: return d > 0;
    case N_GE: return d >= 0;
    default: return false;
    }
}

/* domain(email): the part after the last '@', folded; null without one. */
static void domain_of(val *s) {
    if (s->v.type != LR_VSTR) { *s = of_null(); return; }
    const char *p = s->v.u.s.ptr;
    size_t n = s->v.u.s.len;
    const char *atp = n ? memrchr(p, '@', n) : NULL;
    if (!atp) { *s = of_null(); return; }
    size_t off = (size_t)(atp - p) + 1;
    s->v.u.s.ptr = p + off;
    s->v.u.s.len = n - off;
    s->fold = true;
}

static bool affix(const ctx *c, const expr_node *n) {
    val s, x;
    eval(c, n->a, &s);
    eval(c, n->b, &x);
    if (s.v.type != LR_VSTR || x.v.type != LR_VSTR) return false;
    size_t sl = s.v.u.s.len, xl = x.v.u.s.len;
    if (xl > sl) return false;
    return region_eq(&s, n->op == N_STARTS ? 0 : sl - xl, &x, 0, xl);
}

static bool contains(const ctx *c, const expr_node *n) {
    val s, x;
    eval(c, n->a, &s);
    eval(c, n->b, &x);
    if (s.v.type == LR_VSTR) return x.v.type == LR_VSTR && str_find(&s, &x);
    if (s.v.type == LR_VLIST) return x.v.type != LR_VNULL && list_has(c, &s, &x);
    return false;
}

/* local_hour / local_weekday of node N at c->now into *out: a number or a
 * string, or null without a time or when the zone cannot place it. */
static void local_time(const ctx *c, const expr_node *n, val *out) {
    static const char wdays[7][4] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
    lr_civil cv;
    if (c->now == LR_TIME_NONE || lr_zone_civil(c->zones[n->n], c->now, &cv) != LR_OK) {
        *out = of_null();
        return;
    }
    if (n->op == N_LHOUR) {
        out->v.type = LR_VNUM;
        out->v.u.n = cv.hour;
    } else {
        assert(cv.weekday >= 0 && cv.weekday < 7);
        out->v.type = LR_VSTR;
        out->v.u.s.ptr = wdays[cv.weekday];
        out->v.u.s.len = 3;
    }
}

/* Whether node I evaluates to the boolean true. Boolean operators are
 * decided here without building values. */
static bool test(const ctx *c, int32_t i) {
    const expr_node *n = &c->nodes[i];
    switch ((expr_op)n->op) {
    case N_AND:
        for (int32_t k = n->a; k >= 0; k = c->nodes[k].next)
            if (!test(c, k)) return false;
        return true;
    case N_OR:
        for (int32_t k = n->a; k >= 0; k = c->nodes[k].next)
            if (test(c, k)) return true;
        return false;
    case N_NOT:
        return !test(c, n->a);
    case N_EQ: case N_NE: case N_LT: case N_LE: case N_GT: case N_GE:
    case N_IN: case N_NOTIN:
        return compare(c, n);
    case N_STARTS:
    case N_ENDS:
        return affix(c, n);
    case N_CONTAINS:
        return contains(c, n);
    case N_LIT: case N_FIELD: case N_CUSTOM: case N_LIST: case N_LOWER: case N_DOMAIN:
    case N_LHOUR: case N_LWDAY:
        break;
    }
    val v;
    eval(c, i, &v);
    return truthy(&v);
}

/* Stores the value of node I in *out. Recursion is bounded by the tree
 * depth (expr_impl.h). */
static void eval(const ctx *c, int32_t i, val *out) {
    const expr_node *n = &c->nodes[i];
    out->dyn = -1;
    out->fold = false;
    switch ((expr_op)n->op) {
    case N_LIT:
        out->v = n->lit;
        return;
    case N_FIELD:
        out->v = lr_lead_get(c->lead, (lr_lead_field)n->field);
        return;
    case N_CUSTOM:
        out->v = lr_lead_get_custom(c->lead, n->lit.u.s.ptr, n->lit.u.s.len);
        return;
    case N_LIST:
        out->v.type = LR_VLIST;
        out->v.u.list.items = NULL;
        out->v.u.list.n = n->n;
        out->dyn = n->a;
        return;
    case N_LOWER:
        eval(c, n->a, out);
        if (out->v.type != LR_VSTR) *out = of_null();
        else out->fold = true;
        return;
    case N_DOMAIN:
        eval(c, n->a, out);
        domain_of(out);
        return;
    case N_LHOUR:
    case N_LWDAY:
        local_time(c, n, out);
        return;
    case N_AND: case N_OR: case N_NOT:
    case N_EQ: case N_NE: case N_LT: case N_LE: case N_GT: case N_GE:
    case N_IN: case N_NOTIN:
    case N_STARTS: case N_ENDS: case N_CONTAINS:
        *out = of_bool(test(c, i));
        return;
    }
    *out = of_null();
}

bool lr_expr_eval_at(const lr_expr *expr, const lr_lead *lead, lr_time now) {
    assert(expr && lead);
    if (!expr || !lead) return false;
    ctx c = { expr->nodes, lead, expr->zones, now };
    return test(&c, expr->root);
}

bool lr_expr_eval(const lr_expr *expr, const lr_lead *lead) {
    return lr_expr_eval_at(expr, lead, LR_TIME_NONE);
}
