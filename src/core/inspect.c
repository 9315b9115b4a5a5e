/* inspect.c -- what the server asks of the engine besides events: a lead's
 * state, who may see it, the next deadline, a dry-run preview, and JSON
 * summaries of agents and queues. Nothing here changes routing state. */
#include "core/engine_impl.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <stdlib.h>
#include <string.h>

int lr_engine_lead_info(const lr_engine *e, const char *id, const char **state,
                        const char **agent) {
    const lr_lead_rt *l = lr_map_get(&e->leads, id, strlen(id));
    if (!l) return LR_ENOENT;
    *state = lr_lead_state_names[l->state];
    *agent = l->agent != LR_NO_AGENT ? e->agents[l->agent].conf->id : NULL;
    return LR_OK;
}

bool lr_engine_lead_visible(const lr_engine *e, const char *id, const char *agent) {
    const lr_lead_rt *l = lr_map_get(&e->leads, id, strlen(id));
    const lr_agent_rt *a = lr_map_get(&e->agent_ids, agent, strlen(agent));
    if (!l || !a) return false;
    switch (l->state) {
    case LR_LEAD_ASSIGNED: return l->agent == a->idx;
    case LR_LEAD_OFFERED:
        for (uint32_t i = 0; i < l->noffer; i++)
            if (l->offer[i] == a->idx) return true;
        return false;
    case LR_LEAD_WAITING: return l->seg && lr_segment_member(l->seg, a->idx) != LR_SEG_NONE;
    default: return false;
    }
}

bool lr_engine_lead_held(const lr_engine *e, const char *id, const char *agent) {
    const lr_lead_rt *l = lr_map_get(&e->leads, id, strlen(id));
    const lr_agent_rt *a = lr_map_get(&e->agent_ids, agent, strlen(agent));
    return l && a && l->state == LR_LEAD_ASSIGNED && l->agent == a->idx;
}

lr_time lr_engine_next_deadline(const lr_engine *e) {
    return e->timers.n ? e->timers.heap[0].at : LR_TIME_NONE;
}

int lr_engine_preview(lr_engine *e, const lr_lead *lead, lr_decision_cb cb, void *ud) {
    lr_lead_rt l;
    memset(&l, 0, sizeof l);
    l.lead = (lr_lead *)lead;           /* read only in a dry run */
    l.state = LR_LEAD_NEW;
    l.agent = LR_NO_AGENT;
    l.rule = LR_NO_RULE;
    l.seq = e->seq;
    lr_rng saved = e->rng;
    e->cb = cb;
    e->ud = ud;
    e->dry = true;
    int rc = lr_route(e, &l, "preview");
    lr_drop_dry_segments(e);
    e->dry = false;
    e->rng = saved;
    e->cb = NULL;
    e->ud = NULL;
    free(l.offer);
    return rc;
}

int lr_engine_agent_json(const lr_engine *e, const char *id, lr_buf *out) {
    const lr_agent_rt *a = lr_map_get(&e->agent_ids, id, strlen(id));
    if (!a) return LR_ENOENT;
    const lr_agent_conf *c = a->conf;
    int rc = lr_buf_puts(out, "{\"id\":");
    if (rc == LR_OK) rc = lr_json_put_string(out, c->id);
    if (rc == LR_OK) rc = lr_buf_puts(out, ",\"name\":");
    if (rc == LR_OK) rc = lr_json_put_string(out, c->name);
    lr_skip why = lr_agent_unready(e, a->idx, false);
    char since[40];
    lr_time_format(a->status_since, since, sizeof since);
    if (rc == LR_OK)
        rc = lr_buf_printf(out, ",\"status\":\"%s\",\"status_reason\":\"%s\","
                           "\"status_since\":\"%s\",\"availability\":\"%s\",\"open\":%u,"
                           "\"capacity\":", lr_agent_status_names[a->status],
                           a->status_reason ? a->status_reason : "config", since,
                           why == LR_SKIP_NONE ? "ready" : lr_skip_names[why], a->open);
    if (rc == LR_OK)
        rc = c->capacity < 0 ? lr_buf_puts(out, "null")
                             : lr_buf_printf(out, "%lld", (long long)c->capacity);
    if (rc == LR_OK)
        rc = lr_buf_printf(out, ",\"weight\":%u,\"assigned\":%llu,\"won\":%llu,\"closed\":%llu,"
                           "\"window\":{", c->weight, (unsigned long long)a->assigned,
                           (unsigned long long)a->won, (unsigned long long)a->closed);
    for (int k = 0; rc == LR_OK && k < LR_CAP__COUNT; k++) {
        rc = lr_buf_printf(out, "%s\"%s\":{\"count\":%u,\"cap\":", k ? "," : "", lr_cap_names[k],
                           lr_agent_window_count(a, (lr_cap)k, e->now));
        if (rc == LR_OK)
            rc = c->caps[k] < 0 ? lr_buf_puts(out, "null}")
                                : lr_buf_printf(out, "%lld}", (long long)c->caps[k]);
    }
    if (rc == LR_OK) rc = lr_buf_puts(out, "}}");
    return rc;
}

static int by_seq(const void *x, const void *y) {
    const lr_lead_rt *a = *(const lr_lead_rt *const *)x, *b = *(const lr_lead_rt *const *)y;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* See engine.h. The open pools' leads come from the agent's segments, the
 * offers from the engine's map of offered leads (or, when that map missed
 * a lead for want of memory, from the newest leads back until every
 * offered lead was seen). */
int lr_engine_claimable(const lr_engine *e, const char *agent, size_t limit, lr_lead_id_cb cb,
                        void *ud, size_t *total) {
    const lr_agent_rt *a = lr_map_get(&e->agent_ids, agent, strlen(agent));
    if (!a) return LR_ENOENT;
    const lr_lead_rt **v = NULL;
    size_t n = 0, cap = 0;
    int rc = LR_OK;
#define PUSH(x)                                                                  \
    do {                                                                         \
        if (n == cap) {                                                          \
            size_t nc = cap ? 2 * cap : 64;                                      \
            const lr_lead_rt **nv = realloc(v, nc * sizeof *nv);                 \
            if (!nv) { rc = LR_ENOMEM; goto done; }                              \
            v = nv;                                                              \
            cap = nc;                                                            \
        }                                                                        \
        v[n++] = (x);                                                            \
    } while (0)
    for (uint32_t i = 0; i < a->nmem; i++) {
        const lr_segment *s = a->mem[i].seg;
        if (s->strat->mode != LR_MODE_OPEN_POOL) continue;
        for (uint32_t k = 0; k < s->qn; k++)
            if (!lr_lead_excludes(s->q[k], a->idx)) PUSH(s->q[k]);
    }
    if (!e->offered_partial) {
        size_t pos = 0;
        for (const lr_map_slot *sl; (sl = lr_map_next(&e->offered, &pos));) {
            const lr_lead_rt *l = sl->val;
            for (uint32_t k = 0; k < l->noffer; k++)
                if (l->offer[k] == a->idx) { PUSH(l); break; }
        }
    } else {
        uint64_t offered = e->nstate[LR_LEAD_OFFERED];
        for (size_t i = e->nall; offered > 0 && i-- > 0;) {
            const lr_lead_rt *l = e->all[i];
            if (l->state != LR_LEAD_OFFERED) continue;
            offered--;
            for (uint32_t k = 0; k < l->noffer; k++)
                if (l->offer[k] == a->idx) { PUSH(l); break; }
        }
    }
#undef PUSH
    if (n > 1) qsort(v, n, sizeof *v, by_seq);
    *total = n;
    for (size_t i = 0; rc == LR_OK && i < n && i < limit; i++) rc = cb(lr_lead_id(v[i]->lead), ud);
done:
    free(v);
    return rc;
}

void lr_engine_queue_depths(const lr_engine *e, uint64_t *waiting, int64_t *age) {
    const lr_config *cfg = e->cfg;
    for (size_t p = 0; p < cfg->npools; p++) {
        waiting[p] = 0;
        age[p] = -1;
    }
    for (size_t i = 0; i < e->nall; i++) {
        const lr_lead_rt *l = e->all[i];
        bool waits = l->state == LR_LEAD_WAITING || l->state == LR_LEAD_HELD ||
                     l->state == LR_LEAD_OFFERED;
        if (!waits || l->rule == LR_NO_RULE) continue;
        uint32_t p = cfg->rules[l->rule].pool;
        waiting[p]++;
        /* a client's received_at may lie ahead of the clock: age 0 */
        int64_t a = l->lead->received_at < e->now ? e->now - l->lead->received_at : 0;
        if (a > age[p]) age[p] = a;
    }
}

int lr_engine_queues_json(const lr_engine *e, lr_buf *out) {
    const lr_config *cfg = e->cfg;
    uint64_t *waiting = malloc((cfg->npools ? cfg->npools : 1) * sizeof *waiting);
    int64_t *age = malloc((cfg->npools ? cfg->npools : 1) * sizeof *age);
    if (!waiting || !age) { free(waiting); free(age); return LR_ENOMEM; }
    lr_engine_queue_depths(e, waiting, age);
    int rc = lr_buf_putc(out, '{');
    for (size_t p = 0; rc == LR_OK && p < cfg->npools; p++) {
        rc = lr_buf_printf(out, "%s", p ? "," : "");
        if (rc == LR_OK) rc = lr_json_put_string(out, cfg->pools[p].name);
        if (rc == LR_OK) rc = lr_buf_printf(out, ":{\"waiting\":%llu,\"oldest_ms\":",
                                            (unsigned long long)waiting[p]);
        if (rc == LR_OK)
            rc = age[p] < 0 ? lr_buf_puts(out, "null}") : lr_buf_printf(out, "%lld}", (long long)age[p]);
    }
    if (rc == LR_OK) rc = lr_buf_putc(out, '}');
    free(waiting);
    free(age);
    return rc;
}
