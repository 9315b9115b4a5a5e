/* outbox.c -- the writer's side of delivery: which deliveries a decision
 * makes (the config's notify entries), recording the dispatcher's
 * outcomes, and the /v1/deliveries commands.
 *
 * Deliveries are rows written in the decision's own transaction (the
 * transactional outbox): a committed decision has all of its deliveries, an
 * uncommitted one none. The dispatcher is poked only after the commit.
 * Everything here runs on the writer thread, except lr_outbox_report().
 */
#include "server/service_impl.h"
#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fatal_if(lr_service *svc, const char *what, int rc) {
    if (rc != LR_OK) lr_service_fatal(svc, what, rc);
}

/* The config whose notify entries apply: the one being switched to while
 * a config change re-routes leads, else the running one. */
static const lr_config *notify_config(const lr_service *svc) {
    return svc->cfg_next ? svc->cfg_next : svc->cfg;
}

static int by_id(const void *a, const void *b) {
    return strcmp(((const lr_agent_email *)a)->id, ((const lr_agent_email *)b)->id);
}

/* Refreshes the cached "does this config notify at all" flags, and the
 * agents' emails sorted by agent id when it notifies at all. */
static void notice_config(lr_service *svc) {
    const lr_config *cfg = notify_config(svc);
    svc->notify_gen = svc->cfg_gen;
    svc->notify_rules = false;
    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].nnotify) svc->notify_rules = true;
    svc->notify_any = cfg->nnotify || svc->notify_rules;
    free(svc->emails);
    svc->emails = NULL;
    svc->nemails = 0;
    if (!svc->notify_any || !cfg->nagents) return;
    if (!(svc->emails = malloc(cfg->nagents * sizeof *svc->emails)))
        lr_service_fatal(svc, "out of memory", LR_ENOMEM);
    for (size_t i = 0; i < cfg->nagents; i++)
        svc->emails[i] = (lr_agent_email){ cfg->agents[i].id, cfg->agents[i].email };
    svc->nemails = cfg->nagents;
    qsort(svc->emails, svc->nemails, sizeof *svc->emails, by_id);
}

/* The email of agent ID in the notify config, or NULL. */
static const char *email_of(const lr_service *svc, const char *id) {
    lr_agent_email key = { id, NULL };
    const lr_agent_email *e = svc->nemails ? bsearch(&key, svc->emails, svc->nemails,
                                                     sizeof key, by_id) : NULL;
    return e ? e->email : NULL;
}

/* The bodies of a delivery added in the open batch, for the dispatcher. */
typedef struct lr_outbox_hint {
    struct lr_outbox_hint *next;
    int64_t id;
    char *decision, *lead;
    size_t dlen, llen;
} lr_outbox_hint;

static char *copy(const char *p, size_t n) {
    char *c = malloc(n + 1);
    if (c) { memcpy(c, p, n); c[n] = '\0'; }
    return c;
}

/* Keeps a copy of the current decision D's bodies for delivery ID, the
 * decision in its brief form when BRIEF (none when they are not at hand,
 * when the dispatcher would drop them, or memory is short: the store has
 * them). */
static void hint(lr_service *svc, int64_t id, const lr_decision *d, bool brief) {
    const lr_outbox_bodies *b = svc->bodies;
    if (!b || !b->decision || !b->lead || !svc->dispatch || !lr_dispatch_hint_room(svc->dispatch))
        return;
    const char *dj = b->decision;
    size_t dlen = b->dlen;
    if (brief) {
        lr_buf_reset(&svc->brief);
        if (lr_decision_write_brief(d, &svc->brief) != LR_OK) return;
        dj = svc->brief.data;
        dlen = svc->brief.len;
    }
    lr_outbox_hint *h = malloc(sizeof *h);
    char *dec = copy(dj, dlen), *lead = copy(b->lead, b->llen);
    if (!h || !dec || !lead) {
        free(h);
        free(dec);
        free(lead);
        return;
    }
    *h = (lr_outbox_hint){ .next = svc->hints, .id = id, .decision = dec, .lead = lead,
                           .dlen = dlen, .llen = b->llen };
    svc->hints = h;
}

void lr_outbox_hand_over(lr_service *svc) {
    for (lr_outbox_hint *h = svc->hints, *next; h; h = next) {
        next = h->next;
        if (svc->dispatch) {
            lr_dispatch_hint(svc->dispatch, h->id, h->decision, h->dlen, h->lead, h->llen);
        } else {
            free(h->decision);
            free(h->lead);
        }
        free(h);
    }
    svc->hints = NULL;
}

/* One delivery of decision D on channel C to RECIPIENT (NULL: the channel's
 * own target) about AGENT. */
static void add(lr_service *svc, const lr_decision *d, int64_t decision_id,
                const lr_notify_conf *e, const char *agent, const char *recipient,
                lr_delivery_status status, const char *error) {
    const lr_channel_conf *c = &notify_config(svc)->channels[e->channel];
    bool brief = c->kind == LR_CHANNEL_WEBHOOK && !c->why_full;     /* for every attempt */
    int64_t id = 0;
    fatal_if(svc, "storing a delivery",
             lr_store_add_delivery(svc->store, decision_id, d->at, e->after_ms, d->lead,
                                   lr_action_names[d->action], agent, c->name, recipient,
                                   lr_delivery_status_names[status], error, brief, &id));
    if (id > svc->dlv.last_id) svc->dlv.last_id = id;
    if (status == LR_DLV_PENDING && e->after_ms == 0) hint(svc, id, d, brief);
    svc->dlv.n[status]++;
    svc->dlv_added++;
}

/* Email to AGENT: its address from the config, or a dead delivery that
 * says why there is none. */
static void add_to_agent(lr_service *svc, const lr_decision *d, int64_t decision_id,
                         const lr_notify_conf *e, const char *agent) {
    const char *email = email_of(svc, agent);
    if (email) {
        add(svc, d, decision_id, e, agent, email, LR_DLV_PENDING, NULL);
        return;
    }
    char msg[400];
    snprintf(msg, sizeof msg, "agent '%s' has no email in the config", agent);
    add(svc, d, decision_id, e, agent, NULL, LR_DLV_DEAD, msg);
}

static void apply_entries(lr_service *svc, const lr_decision *d, int64_t decision_id,
                          const lr_notify_conf *v, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const lr_notify_conf *e = &v[i];
        if (!(e->on & (1u << d->action))) continue;
        const lr_channel_conf *c = &notify_config(svc)->channels[e->channel];
        if (c->kind == LR_CHANNEL_WEBHOOK) {
            add(svc, d, decision_id, e, d->agent, NULL, LR_DLV_PENDING, NULL);
        } else if (!e->to_agent) {
            add(svc, d, decision_id, e, d->agent, e->recipient, LR_DLV_PENDING, NULL);
        } else if (d->agent) {
            add_to_agent(svc, d, decision_id, e, d->agent);
        } else {
            for (size_t k = 0; k < d->nagents; k++)     /* a broadcast offer: each agent */
                add_to_agent(svc, d, decision_id, e, d->agents[k]);
        }
    }
}

void lr_outbox_decision(lr_service *svc, const lr_decision *d, int64_t decision_id,
                        const lr_outbox_bodies *b) {
    const lr_config *cfg = notify_config(svc);
    if (svc->notify_gen != svc->cfg_gen) notice_config(svc);
    if (!svc->notify_any) return;
    svc->bodies = b;
    apply_entries(svc, d, decision_id, cfg->notify, cfg->nnotify);
    if (svc->notify_rules && d->rule) {
        int r = lr_config_rule_index(cfg, d->rule);
        if (r >= 0) apply_entries(svc, d, decision_id, cfg->rules[r].notify, cfg->rules[r].nnotify);
    }
    svc->bodies = NULL;
}

/* Outcomes wait until LR_RESULTS_BATCH of them wait, or the oldest has
 * waited LR_RESULTS_WAIT_MS: a transaction (and a flush) of their own for
 * each would cost the routing more than all of their UPDATEs, and each
 * commit that records some rewrites the pages of their rows (and of the
 * due index, for retries; writer_main). The first one wakes the writer only to set its
 * timer. */
void lr_outbox_report(lr_delivery_result *r, void *ud) {
    lr_service *svc = ud;
    pthread_mutex_lock(&svc->mu);
    bool first = !svc->results;
    r->next = svc->results;
    svc->results = r;
    if (first) svc->results_at = r->at;
    svc->nresults++;
    if (first || svc->nresults >= LR_RESULTS_BATCH) pthread_cond_signal(&svc->work);
    pthread_mutex_unlock(&svc->mu);
}

/* The counter of STATUS (a name of lr_delivery_status_names). */
static int64_t *counter(lr_service *svc, const char *status) {
    int i = lr_name_lookup(lr_delivery_status_names, LR_DLV__COUNT, status);
    return &svc->dlv.n[i >= 0 ? i : LR_DLV_DEAD];
}

static int store_mark(const char *channel, int64_t fresh_from, void *ud) {
    return lr_store_set_outbox_mark(ud, channel, fresh_from);
}

void lr_outbox_sync_counts(lr_service *svc) {
    int64_t v;
    if (lr_store_data_version(svc->store, &v) != LR_OK || v == svc->data_version) return;
    lr_delivery_counts c;
    if (lr_store_delivery_counts(svc->store, &c) != LR_OK) return;     /* again next time */
    if (c.last_id < svc->dlv.last_id) c.last_id = svc->dlv.last_id;
    svc->dlv = c;
    svc->data_version = v;
}

void lr_outbox_record(lr_service *svc, lr_delivery_result *list, int64_t **ids, size_t *n) {
    lr_outbox_sync_counts(svc);
    size_t count = 0;
    for (lr_delivery_result *r = list; r; r = r->next) count++;
    int64_t *v = realloc(*ids, (*n + count + 1) * sizeof *v);
    if (!v) lr_service_fatal(svc, "out of memory", LR_ENOMEM);
    size_t k = *n;
    for (lr_delivery_result *r = list, *next; r; r = next) {
        next = r->next;
        char prev[16];
        int rc = lr_store_delivery_result(svc->store, r->id, r->status, r->attempts, r->next_at,
                                          r->at, r->window_from, r->replays, r->http_status,
                                          r->error[0] ? r->error : NULL, prev);
        if (rc != LR_ENOENT) fatal_if(svc, "recording a delivery", rc);
        if (rc == LR_OK) {                  /* else: settled already, nothing to count */
            (*counter(svc, prev))--;
            (*counter(svc, r->status))++;
        }
        v[k++] = r->id;
        free(r);
    }
    /* the outcomes' ids are still busy in the dispatcher: the marks stay
     * at or below those of them that were fresh */
    if (svc->dispatch)
        fatal_if(svc, "storing the outbox's marks",
                 lr_dispatch_marks(svc->dispatch, store_mark, svc->store));
    *ids = v;
    *n = k;
}

void lr_outbox_exec(lr_service *svc, lr_cmd *cmd, lr_time now) {
    lr_outbox_sync_counts(svc);
    int64_t id = 0;
    char prev[16];
    int rc = lr_delivery_id_parse(cmd->id, &id);
    if (rc == LR_OK) rc = lr_store_delivery_retry(svc->store, id, now, prev);
    if (rc == LR_OK) {
        (*counter(svc, prev))--;
        svc->dlv.n[LR_DLV_PENDING]++;
        svc->dlv_added++;
        rc = lr_store_delivery_json(svc->store, id, &cmd->body);
    }
    if (rc == LR_ENOENT || rc == LR_EINVAL) {
        lr_service_reply_error(svc, cmd, 404, "not_found", "no such delivery");
        return;
    }
    fatal_if(svc, "replaying a delivery", rc);
    cmd->status = 200;
}
