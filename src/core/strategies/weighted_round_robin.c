/* weighted_round_robin.c -- smooth weighted round robin, as nginx's
 * upstreams: at every pick each ready member's credit grows by its weight,
 * the member with the most credit (first in pool order on a tie) is chosen
 * and its credit drops by the total weight of the ready members. Weights
 * 5, 1, 1 give a a b a c a a. A member that is not ready keeps its credit
 * untouched until it is ready again (nginx skips it the same way).
 *
 * Doing that literally costs O(n) per pick. Instead the segment counts
 * picks in T and a ready member stores an anchor A = credit - weight * T,
 * so its credit is A + weight * T without touching it on every pick. Among
 * members of equal weight the order of credits is the order of anchors, so
 * each distinct weight keeps a heap of its ready members by anchor; a pick
 * compares the tops of the weight classes: O(classes + log n), where the
 * number of classes is the number of distinct weights in the pool.
 *
 * Invariant: val[m] is the credit when m is not ready, the anchor when it
 * is; W is the sum of the weights of the ready members.
 *
 * A config change carries each agent's credit over (weights may change:
 * the credit stays what it was).
 */
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <stdlib.h>

typedef struct wrr_state wrr_state;

typedef struct wrr_class {
    wrr_state *st;
    int64_t weight;
    uint32_t n;
    uint32_t *members;              /* class-local id -> member */
    lr_heap heap;                   /* ready members of this weight, by credit */
} wrr_class;

struct wrr_state {
    int64_t T;                      /* picks so far */
    int64_t W;                      /* total weight of the ready members */
    int64_t *val;                   /* credit or anchor, per member */
    uint32_t *cls;                  /* member -> class */
    uint32_t *local;                /* member -> class-local id */
    wrr_class *classes;
    uint32_t ncls;
};

static int class_cmp(uint32_t x, uint32_t y, const void *ctx) {
    const wrr_class *c = ctx;
    uint32_t mx = c->members[x], my = c->members[y];
    int64_t vx = c->st->val[mx], vy = c->st->val[my];
    if (vx != vy) return vx > vy ? -1 : 1;
    return mx < my ? -1 : mx > my;
}

static void wrr_release(lr_segment *s) {
    wrr_state *st = s->state;
    if (!st) return;
    for (uint32_t i = 0; i < st->ncls; i++) {
        free(st->classes[i].members);
        lr_heap_release(&st->classes[i].heap);
    }
    free(st->classes);
    free(st->val);
    free(st->cls);
    free(st->local);
    free(st);
    s->state = NULL;
}

static int wrr_init(lr_segment *s) {
    wrr_state *st = calloc(1, sizeof *st);
    if (!st) return LR_ENOMEM;
    s->state = st;
    uint32_t n = s->n ? s->n : 1;
    st->val = calloc(n, sizeof *st->val);
    st->cls = calloc(n, sizeof *st->cls);
    st->local = calloc(n, sizeof *st->local);
    st->classes = calloc(n, sizeof *st->classes);
    if (!st->val || !st->cls || !st->local || !st->classes) goto nomem;
    /* Group members by weight: classes in order of first appearance. */
    for (uint32_t m = 0; m < s->n; m++) {
        int64_t w = lr_seg_agent(s, m)->conf->weight;
        uint32_t c = 0;
        while (c < st->ncls && st->classes[c].weight != w) c++;
        if (c == st->ncls) { st->classes[c].weight = w; st->classes[c].st = st; st->ncls++; }
        st->cls[m] = c;
        st->local[m] = st->classes[c].n++;
    }
    for (uint32_t c = 0; c < st->ncls; c++) {
        wrr_class *k = &st->classes[c];
        k->members = malloc(k->n * sizeof *k->members);
        if (!k->members || lr_heap_init(&k->heap, k->n, class_cmp, k) != LR_OK) goto nomem;
    }
    for (uint32_t m = 0; m < s->n; m++) st->classes[st->cls[m]].members[st->local[m]] = m;
    return LR_OK;
nomem:
    wrr_release(s);
    return LR_ENOMEM;
}

static void wrr_ready(lr_segment *s, uint32_t m, bool on) {
    wrr_state *st = s->state;
    wrr_class *k = &st->classes[st->cls[m]];
    if (on) {
        st->val[m] -= k->weight * st->T;    /* credit -> anchor */
        st->W += k->weight;
        lr_heap_push(&k->heap, st->local[m]);
    } else {
        lr_heap_remove(&k->heap, st->local[m]);
        st->val[m] += k->weight * st->T;    /* anchor -> credit */
        st->W -= k->weight;
    }
}

static uint32_t wrr_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    (void)ctx;
    const wrr_state *st = s->state;
    uint32_t best = LR_SEG_NONE;
    int64_t best_credit = 0;
    for (uint32_t c = 0; c < st->ncls; c++) {
        const wrr_class *k = &st->classes[c];
        uint32_t top = lr_heap_top(&k->heap);
        if (top == LR_HEAP_NONE) continue;
        uint32_t m = k->members[top];
        int64_t credit = st->val[m] + k->weight * (st->T + 1);
        if (best == LR_SEG_NONE || credit > best_credit || (credit == best_credit && m < best)) {
            best = m;
            best_credit = credit;
        }
    }
    return best;
}

static void wrr_chosen(lr_segment *s, uint32_t m) {
    wrr_state *st = s->state;
    st->T++;
    st->val[m] -= st->W;
    lr_heap_update(&st->classes[st->cls[m]].heap, st->local[m]);
}

static int64_t wrr_credit(const lr_segment *s, uint32_t m) {
    const wrr_state *st = s->state;
    int64_t v = st->val[m];
    if (lr_segment_is_ready(s, m)) v += st->classes[st->cls[m]].weight * st->T;
    return v;
}

/* Every member's credit. */
static size_t wrr_carry_out(const lr_segment *s, lr_carry *out) {
    for (uint32_t m = 0; m < s->n; m++) out[m] = (lr_carry){ m, wrr_credit(s, m) };
    return s->n;
}

static void wrr_carry_in(lr_segment *s, const lr_carry *in, size_t n) {
    wrr_state *st = s->state;
    for (size_t i = 0; i < n; i++) {
        uint32_t m = in[i].who;
        wrr_class *k = &st->classes[st->cls[m]];
        bool ready = lr_segment_is_ready(s, m);
        st->val[m] = in[i].value - (ready ? k->weight * st->T : 0);
        if (ready) lr_heap_update(&k->heap, st->local[m]);
    }
}

const lr_strategy lr_strategy_weighted_round_robin = {
    .name = "weighted_round_robin", .mode = LR_MODE_ASSIGN,
    .init = wrr_init, .release = wrr_release, .ready = wrr_ready,
    .pick = wrr_pick, .chosen = wrr_chosen, .credit = wrr_credit,
    .figs = 1u << LR_FIG_WEIGHT | 1u << LR_FIG_CREDIT,
    .carry_out = wrr_carry_out, .carry_in = wrr_carry_in,
};
