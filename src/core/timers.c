/* timers.c -- binary min-heap of deadlines (see timers.h). */
#include "core/timers.h"
#include "leadrouter/error.h"

#include <stdlib.h>

static bool before(const lr_timer *x, const lr_timer *y) {
    if (x->at != y->at) return x->at < y->at;
    if (x->rank != y->rank) return x->rank < y->rank;
    return x->seq < y->seq;
}

void lr_timers_init(lr_timers *t) {
    t->heap = NULL;
    t->n = t->cap = 0;
    t->seq = 0;
    t->agents_first = true;
}

const lr_timer *lr_timers_peek(const lr_timers *t) {
    return t->n ? &t->heap[0] : NULL;
}

void lr_timers_release(lr_timers *t) { free(t->heap); lr_timers_init(t); }

int lr_timers_push(lr_timers *t, lr_time at, uint32_t kind, uint32_t a, uint32_t b) {
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        lr_timer *h = realloc(t->heap, cap * sizeof *h);
        if (!h) return LR_ENOMEM;
        t->heap = h;
        t->cap = cap;
    }
    lr_timer x = { at, t->seq++, kind, a, b, 1 };
    if (t->agents_first && lr_timer_of_agent(&x)) x.rank = 0;
    size_t i = t->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&x, &t->heap[p])) break;
        t->heap[i] = t->heap[p];
        i = p;
    }
    t->heap[i] = x;
    return LR_OK;
}

bool lr_timers_pop_due(lr_timers *t, lr_time now, lr_timer *out) {
    if (t->n == 0 || t->heap[0].at > now) return false;
    *out = t->heap[0];
    lr_timer last = t->heap[--t->n];
    size_t i = 0, n = t->n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && before(&t->heap[c + 1], &t->heap[c])) c++;
        if (!before(&t->heap[c], &last)) break;
        t->heap[i] = t->heap[c];
        i = c;
    }
    if (n) t->heap[i] = last;
    return true;
}

void lr_timers_drop(lr_timers *t, uint32_t kind_a, uint32_t kind_b) {
    size_t k = 0;
    for (size_t i = 0; i < t->n; i++)
        if (t->heap[i].kind != kind_a && t->heap[i].kind != kind_b) t->heap[k++] = t->heap[i];
    t->n = k;
    /* restore heap order (Floyd): sift down from the last parent */
    for (size_t s = k / 2; s-- > 0;) {
        lr_timer x = t->heap[s];
        size_t i = s;
        for (;;) {
            size_t c = 2 * i + 1;
            if (c >= k) break;
            if (c + 1 < k && before(&t->heap[c + 1], &t->heap[c])) c++;
            if (!before(&t->heap[c], &x)) break;
            t->heap[i] = t->heap[c];
            i = c;
        }
        t->heap[i] = x;
    }
}
