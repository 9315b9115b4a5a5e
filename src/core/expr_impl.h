/* expr_impl.h -- the compiled form of a rule expression, shared by the
 * compiler (expr_parse.c) and the evaluator (expr_eval.c). Private.
 *
 * A compiled expression is a tree of nodes in one array, children named by
 * index. Nodes with a variable number of children (and, or, list literals)
 * point at their first child; siblings chain through `next` (each node has
 * at most one parent, so one `next` per node suffices).
 *
 * Invariants after a successful compile:
 *   - every index (a, b, next, root) is -1 or < nnodes;
 *   - the tree is at most ~5 * LR_EXPR_MAX_DEPTH nodes deep (each nesting
 *     level adds at most or/and/not/comparison/call), so evaluation recurses
 *     a bounded number of times;
 *   - a list literal whose items are all literals has been folded into an
 *     N_LIT node holding an LR_VLIST value whose items live in `items`;
 *   - every string (literals, custom field names) lives in `pool`, which is
 *     sized once and never moves;
 *   - every N_LHOUR / N_LWDAY node's `n` is < nzones, and zones[n] is an
 *     open zone owned by the expression; each distinct zone name is opened
 *     once, so calls naming the same zone share its caches.
 */
#ifndef LEADROUTER_EXPR_IMPL_H
#define LEADROUTER_EXPR_IMPL_H

#include "leadrouter/expr.h"
#include "core/tz.h"

#include <stdint.h>

#define LR_EXPR_MAX_LEN   4096      /* bytes of source */
#define LR_EXPR_MAX_DEPTH 64        /* nested (, [, calls and `not`s */

typedef enum expr_op {
    N_LIT,          /* lit */
    N_FIELD,        /* field: a named lead field */
    N_CUSTOM,       /* lit.u.s: the NAME of fields.NAME */
    N_LIST,         /* list literal with a non-literal item: a = first, n items */
    N_AND,          /* a = first operand, siblings via next */
    N_OR,
    N_NOT,          /* a */
    N_EQ, N_NE, N_LT, N_LE, N_GT, N_GE, N_IN, N_NOTIN,     /* a op b */
    N_LOWER,        /* lower(a) */
    N_DOMAIN,       /* domain(a) */
    N_STARTS,       /* starts_with(a, b) */
    N_ENDS,         /* ends_with(a, b) */
    N_CONTAINS,     /* contains(a, b) */
    N_LHOUR,        /* local_hour(zone): n = index into zones; no children */
    N_LWDAY         /* local_weekday(zone): n = index into zones; no children */
} expr_op;

/* N_EQ / N_NE flags: which operand is the literal `null`. */
#define EXPR_LNULL 1u
#define EXPR_RNULL 2u

typedef struct expr_node {
    uint8_t op;             /* expr_op */
    uint8_t flags;          /* EXPR_LNULL | EXPR_RNULL */
    uint16_t field;         /* N_FIELD: lr_lead_field */
    uint32_t n;             /* N_LIST: number of items; N_LHOUR/N_LWDAY: zone index */
    int32_t a, b;           /* children, -1 when absent */
    int32_t next;           /* next sibling, -1 at the end */
    lr_value lit;           /* N_LIT value; N_CUSTOM name (as a string) */
} expr_node;

struct lr_expr {
    expr_node *nodes;       /* owned */
    size_t nnodes;
    int32_t root;
    char *pool;             /* owned: bytes of every string in the tree */
    lr_value *items;        /* owned: items of every folded list literal */
    lr_zone **zones;        /* owned, with each zone: those named by local_* calls */
    size_t nzones;
};

#endif
