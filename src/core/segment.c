/* segment.c -- ready sets, strategy heaps and lead queues of a segment
 * (see segment.h for what a segment is and its invariants). */
#include "core/segment.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static bool member_ready(const lr_segment *s, uint32_t m) {
    const lr_agent_rt *a = lr_seg_agent(s, m);
    return s->ignore_capacity ? a->ready_nocap : a->ready;
}

int lr_segment_create(const lr_strategy *strat, uint32_t pool, bool ignore_capacity,
                      lr_queue_order order, const uint32_t *members, uint32_t n,
                      lr_agent_rt *rt, lr_segment **out) {
    lr_segment *s = calloc(1, sizeof *s);
    if (!s) return LR_ENOMEM;
    s->strat = strat;
    s->pool = pool;
    s->ignore_capacity = ignore_capacity;
    s->order = order;
    s->rt = rt;
    s->n = n;
    s->agents = malloc((n ? n : 1) * sizeof *s->agents);
    if (!s->agents || lr_bitset_init(&s->ready, n) != LR_OK) goto nomem;
    memcpy(s->agents, members, n * sizeof *members);
    if (strat->cmp && lr_heap_init(&s->heap, n, strat->cmp, s) != LR_OK) goto nomem;
    if (strat->init && strat->init(s) != LR_OK) goto nomem;
    for (uint32_t m = 0; m < n; m++)
        if (member_ready(s, m)) lr_segment_set_ready(s, m, true);
    *out = s;
    return LR_OK;
nomem:
    lr_segment_destroy(s);
    return LR_ENOMEM;
}

void lr_segment_destroy(lr_segment *s) {
    if (!s) return;
    if (s->state && s->strat->release) s->strat->release(s);
    lr_heap_release(&s->heap);
    lr_bitset_release(&s->ready);
    free(s->agents);
    free(s->q);
    free(s->key);
    free(s);
}

void lr_segment_set_ready(lr_segment *s, uint32_t m, bool on) {
    assert(m < s->n);
    if (lr_bitset_test(&s->ready, m) == on) return;
    if (on) {
        lr_bitset_set(&s->ready, m);
        if (s->strat->cmp) lr_heap_push(&s->heap, m);
        if (s->qn) s->dirty = true;
    } else {
        lr_bitset_clear(&s->ready, m);
        if (s->strat->cmp) lr_heap_remove(&s->heap, m);
    }
    if (s->strat->ready) s->strat->ready(s, m, on);
}

void lr_segment_touch(lr_segment *s, uint32_t m) {
    if (s->strat->cmp) lr_heap_update(&s->heap, m);
}

uint32_t lr_segment_member(const lr_segment *s, uint32_t a) {
    if (s->dry) {
        for (uint32_t m = 0; m < s->n; m++)
            if (s->agents[m] == a) return m;
        return LR_SEG_NONE;
    }
    const lr_agent_rt *rt = &s->rt[a];
    for (uint32_t i = 0; i < rt->nmem; i++)
        if (rt->mem[i].seg == s) return rt->mem[i].m;
    return LR_SEG_NONE;
}

uint32_t lr_segment_pick(lr_segment *s, const lr_pick_ctx *ctx) {
    if (s->ready.count == 0) return LR_SEG_NONE;
    if (s->strat->cmp) return lr_heap_top(&s->heap);     /* ranked: the best is on top */
    return s->strat->pick ? s->strat->pick(s, ctx) : LR_SEG_NONE;
}

void lr_segment_chosen(lr_segment *s, uint32_t m) {
    if (s->strat->chosen) s->strat->chosen(s, m);
}

/* ---- the queue of waiting leads: a binary heap in queue order ---------- */

bool lr_queue_before(lr_queue_order order, const lr_lead_rt *a, const lr_lead_rt *b) {
    switch (order) {
    case LR_QORDER_LIFO: return a->seq > b->seq;
    case LR_QORDER_PRIORITY: {
        /* Higher score first (no score counts as lowest), then oldest. */
        const lr_lead *x = a->lead, *y = b->lead;
        if (x->has_score != y->has_score) return x->has_score;
        if (x->has_score && x->score != y->score) return x->score > y->score;
        return a->seq < b->seq;
    }
    case LR_QORDER_FIFO:
    default: return a->seq < b->seq;
    }
}

static void q_place(lr_segment *s, uint32_t i, lr_lead_rt *l) {
    s->q[i] = l;
    l->qpos = i + 1;
}

static void q_sift_up(lr_segment *s, uint32_t i) {
    lr_lead_rt *l = s->q[i];
    while (i > 0) {
        uint32_t p = (i - 1) / 2;
        if (!lr_queue_before(s->order, l, s->q[p])) break;
        q_place(s, i, s->q[p]);
        i = p;
    }
    q_place(s, i, l);
}

static void q_sift_down(lr_segment *s, uint32_t i) {
    lr_lead_rt *l = s->q[i];
    for (;;) {
        uint32_t c = 2 * i + 1;
        if (c >= s->qn) break;
        if (c + 1 < s->qn && lr_queue_before(s->order, s->q[c + 1], s->q[c])) c++;
        if (!lr_queue_before(s->order, s->q[c], l)) break;
        q_place(s, i, s->q[c]);
        i = c;
    }
    q_place(s, i, l);
}

int lr_segment_enqueue(lr_segment *s, lr_lead_rt *l) {
    assert(l->qpos == 0);
    if (s->qn == s->qcap) {
        uint32_t cap = s->qcap ? s->qcap * 2 : 16;
        lr_lead_rt **q = realloc(s->q, cap * sizeof *q);
        if (!q) return LR_ENOMEM;
        s->q = q;
        s->qcap = cap;
    }
    q_place(s, s->qn++, l);
    q_sift_up(s, s->qn - 1);
    l->seg = s;
    return LR_OK;
}

void lr_segment_dequeue(lr_segment *s, lr_lead_rt *l) {
    if (l->qpos == 0 || l->seg != s) return;
    uint32_t i = l->qpos - 1;
    assert(s->q[i] == l);
    l->qpos = 0;
    s->qn--;
    if (i != s->qn) {
        q_place(s, i, s->q[s->qn]);
        q_sift_up(s, i);
        q_sift_down(s, s->q[i]->qpos - 1);
    }
}

lr_lead_rt *lr_segment_head(const lr_segment *s) {
    return s->qn ? s->q[0] : NULL;
}
