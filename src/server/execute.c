/* execute.c -- what the writer does with each command, and the reply it
 * gives. Runs on the writer thread only, inside the batch's transaction.
 *
 * Replies (docs/api.md has them all):
 *   leads      201 {"lead":ID,"decisions":[...]}   (200 for a repeat of the same lead)
 *              arrays: {"results":[{"status":201,"lead":..,"decisions":[..]},
 *                                  {"status":400,"error":{..}}, ...]}
 *   events     200 {"decisions":[...]}; a refusal by the engine becomes
 *              404 (unknown lead or agent) or 409 (a claim that lost, a
 *              closed lead, ...) {"error":{"code":REASON,"message":..},"decisions":[..]}
 *   reads      200 with the object asked for, 404 when there is none
 *
 * Every event is journaled with the server's clock as its time before the
 * engine applies it, and every decision is stored in the same transaction.
 */
#include "server/service_impl.h"
#include "leadrouter/decision.h"
#include "leadrouter/error.h"

#include <ctype.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define JSON "application/json"

/* Decisions of one event: stored, counted, and gathered into a JSON array. */
typedef struct exec {
    lr_service *svc;
    lr_buf *jsonl;                  /* the command's decisions_out, or NULL */
    int64_t seq;
    lr_buf *arr;                    /* decisions as JSON, comma separated (no brackets) */
    size_t n;
    lr_buf *one;                    /* scratch: one decision (the service's) */
    int64_t decision_id;            /* row id of the decision just stored */
    bool refused;                   /* first refusal seen: */
    lr_action refuse_action;
    char refuse_reason[48];
    char refuse_detail[200];
    /* a lead event's lead, stored with its first decision (one INSERT in
     * its final state instead of an INSERT and an UPDATE); the engine
     * takes the lead itself, so its id and source are copied */
    bool pending;
    char *pending_id, *pending_source;
    lr_time pending_received;
    const char *pending_body;       /* borrowed */
    size_t pending_len;
    const unsigned char *pending_hash;
} exec;

_Noreturn void lr_service_fatal(lr_service *svc, const char *what, int rc) {
    fprintf(stderr, "leadrouter: FATAL: %s: %s (%s)\n", what, lr_strerror(rc),
            svc->store ? lr_store_errmsg(svc->store) : "");
    abort();
}

#define STORE(svc, what, call) \
    do { int rc_ = (call); if (rc_ != LR_OK) lr_service_fatal((svc), (what), rc_); } while (0)

static void must(lr_service *svc, int rc) {
    if (rc != LR_OK) lr_service_fatal(svc, "out of memory", rc);
}

/* The lead state a decision leaves its lead in, or NULL when it does not
 * say (a refusal, or a release followed by the next decision). */
static const char *state_after(lr_action a) {
    switch (a) {
    case LR_ACTION_ASSIGNED: case LR_ACTION_CLAIMED: return "assigned";
    case LR_ACTION_OFFERED: return "offered";
    case LR_ACTION_QUEUED: return "waiting";
    case LR_ACTION_HELD: return "held";
    case LR_ACTION_UNROUTED: return "unrouted";
    case LR_ACTION_CLOSED: return "closed";
    default: return NULL;
    }
}

/* Stores X's pending lead in STATE (NULL: new) with AGENT. */
static void store_lead(exec *x, const char *state, const char *agent) {
    lr_service *svc = x->svc;
    STORE(svc, "storing a lead",
          lr_store_add_lead(svc->store, x->pending_id, x->pending_source, x->pending_received,
                            x->pending_body, x->pending_len, x->pending_hash, state, agent));
    x->pending = false;             /* the id and body stay until the event ends */
    svc->leads_in++;
}

static int on_decision(const lr_decision *d, void *ud) {
    exec *x = ud;
    lr_service *svc = x->svc;
    const char *state = state_after(d->action);
    /* a decision of the lead event's own lead: its body is at hand, and
     * the first one is stored with the lead */
    bool own = x->pending_id && d->lead && strcmp(d->lead, x->pending_id) == 0;
    bool stored = x->pending && own;
    if (x->pending) store_lead(x, own ? state : NULL, own && state ? d->agent : NULL);
    lr_buf_reset(x->one);
    must(svc, lr_decision_write_json(d, x->one));
    STORE(svc, "storing a decision",
          lr_store_add_decision(svc->store, x->seq, d->at, d->lead, lr_action_names[d->action],
                                d->agent, x->one->data, x->one->len, d, &x->decision_id));
    lr_outbox_bodies b = { x->one->data, x->one->len, own ? x->pending_body : NULL,
                           own ? x->pending_len : 0 };
    lr_outbox_decision(svc, d, x->decision_id, &b);
    if (state && d->lead && !stored)
        STORE(svc, "updating a lead",
              lr_store_set_lead_state(svc->store, d->lead, state, d->agent));
    svc->decisions[d->action]++;
    if (x->arr) {
        if (x->n) must(svc, lr_buf_putc(x->arr, ','));
        must(svc, lr_buf_append(x->arr, x->one->data, x->one->len));
    }
    x->n++;
    if (x->jsonl) {
        must(svc, lr_buf_append(x->jsonl, x->one->data, x->one->len));
        must(svc, lr_buf_putc(x->jsonl, '\n'));
    }
    if (!x->refused && (d->action == LR_ACTION_REJECTED || d->action == LR_ACTION_CLAIM_REFUSED)) {
        x->refused = true;
        x->refuse_action = d->action;
        snprintf(x->refuse_reason, sizeof x->refuse_reason, "%s", d->reason ? d->reason : "refused");
        snprintf(x->refuse_detail, sizeof x->refuse_detail, "%s", d->detail ? d->detail : "");
    }
    return 0;
}

static void exec_init(exec *x, lr_service *svc, lr_buf *arr) {
    memset(x, 0, sizeof *x);
    x->svc = svc;
    x->jsonl = svc->jsonl;
    /* a caller that takes the decisions as JSON lines reads no reply */
    x->arr = svc->jsonl ? NULL : arr;
    x->one = &svc->one;
}

/* Journals EV (its text BODY) at NOW and applies it; decisions go to X.
 * A lead is stored with LEAD_BODY (the lead's own text in BODY). */
static void run_event(lr_service *svc, exec *x, lr_event *ev, const char *body, size_t len,
                      const char *lead_body, size_t lead_len, const unsigned char *hash,
                      lr_time now) {
    int64_t seq = ++svc->seq;
    x->seq = seq;
    ev->at = now;                   /* the server's clock is the only clock */
    const char *lead_id = ev->type == LR_EV_LEAD ? lr_lead_id(ev->lead) : ev->lead_id;
    STORE(svc, "journaling an event",
          lr_store_append_event(svc->store, seq, now, lr_event_type_names[ev->type], lead_id,
                                body, len));
    if (ev->type == LR_EV_LEAD) {   /* stored with its first decision */
        const lr_lead *l = ev->lead;
        const char *src = l->str[LR_LF_SOURCE];
        x->pending = true;
        x->pending_id = strdup(lead_id);
        x->pending_source = src ? strdup(src) : NULL;
        if (!x->pending_id || (src && !x->pending_source)) must(svc, LR_ENOMEM);
        x->pending_received = l->received_at != LR_TIME_NONE ? l->received_at : now;
        x->pending_body = lead_body;
        x->pending_len = lead_len;
        x->pending_hash = hash;
    }
    int rc = lr_engine_apply(svc->eng, ev, on_decision, x);
    if (rc != LR_OK) lr_service_fatal(svc, "applying an event", rc);
    if (x->pending) store_lead(x, NULL, NULL);      /* no decision at all */
    free(x->pending_id);
    free(x->pending_source);
    x->pending_id = x->pending_source = NULL;
}

/* Appends {"code":CODE,"message":MSG} (no outer braces) to OUT. */
static void put_error(lr_service *svc, lr_buf *out, const char *code, const char *msg) {
    must(svc, lr_buf_puts(out, "\"error\":{\"code\":"));
    must(svc, lr_json_put_string(out, code));
    must(svc, lr_buf_puts(out, ",\"message\":"));
    must(svc, lr_json_put_string(out, msg));
    must(svc, lr_buf_putc(out, '}'));
}

void lr_service_reply_error(lr_service *svc, lr_cmd *cmd, int status, const char *code,
                            const char *msg) {
    cmd->status = status;
    lr_buf_reset(&cmd->body);
    must(svc, lr_buf_putc(&cmd->body, '{'));
    put_error(svc, &cmd->body, code, msg);
    must(svc, lr_buf_putc(&cmd->body, '}'));
}

/* ---- leads ----------------------------------------------------------------- */

/* One lead: appends "status"-less members ("lead":..,"decisions":[..] or
 * "error":{..}) to OUT and returns the item's status. */
static int lead_item(lr_service *svc, lr_cmd_item *it, lr_buf *out, lr_time now) {
    if (it->err_status) {
        put_error(svc, out, it->err_code ? it->err_code : "invalid_event", it->err_msg);
        return it->err_status;
    }
    const char *id = lr_lead_id(it->ev.lead);
    int64_t seq0;
    unsigned char hash0[32];
    /* The engine knows every lead in the store (it replayed them all): a
     * lead it does not know needs no lookup, which with deferred writes
     * would wait for them. */
    const char *st0, *agent0;
    int rc = lr_engine_lead_info(svc->eng, id, &st0, &agent0) == LR_ENOENT
                 ? LR_ENOENT : lr_store_find_lead(svc->store, id, &seq0, hash0);
    if (rc == LR_OK) {
        if (memcmp(hash0, it->hash, 32) != 0) {
            char msg[400];
            snprintf(msg, sizeof msg, "lead '%s' was received before with a different body", id);
            put_error(svc, out, "conflict", msg);
            return 409;
        }
        size_t mark = out->len;
        must(svc, lr_buf_puts(out, "\"lead\":"));
        must(svc, lr_json_put_string(out, id));
        must(svc, lr_buf_puts(out, ",\"decisions\":"));
        if (svc->jsonl) {           /* a caller that reads no reply (route --db) */
            must(svc, lr_buf_puts(out, "[]"));
            return 200;
        }
        rc = lr_store_decisions_of_event(svc->store, seq0, id, out);
        if (rc == LR_EDAMAGED) {    /* this answer is lost; the store and the rest go on */
            char msg[400];
            snprintf(msg, sizeof msg, "lead '%s' was received before, but its stored "
                     "decisions cannot be read: %s", id, lr_store_errmsg(svc->store));
            out->len = mark;
            put_error(svc, out, "internal", msg);
            return 500;
        }
        STORE(svc, "reading decisions", rc);
        return 200;
    }
    if (rc != LR_ENOENT) lr_service_fatal(svc, "looking a lead up", rc);
    must(svc, lr_buf_puts(out, "\"lead\":"));
    must(svc, lr_json_put_string(out, id));
    must(svc, lr_buf_puts(out, ",\"decisions\":["));
    exec x;
    exec_init(&x, svc, out);
    run_event(svc, &x, &it->ev, it->body, it->len, it->lead_body ? it->lead_body : it->body,
              it->lead_body ? it->lead_len : it->len, it->hash, now);
    must(svc, lr_buf_putc(out, ']'));
    return 201;
}

static void exec_leads(lr_service *svc, lr_cmd *cmd, lr_time now) {
    lr_buf *out = &cmd->body;
    if (!cmd->array) {
        must(svc, lr_buf_putc(out, '{'));
        cmd->status = lead_item(svc, &cmd->items[0], out, now);
        must(svc, lr_buf_putc(out, '}'));
        return;
    }
    int best = 0;
    must(svc, lr_buf_puts(out, "{\"results\":["));
    for (size_t i = 0; i < cmd->nitems; i++) {
        size_t mark = out->len;
        must(svc, lr_buf_printf(out, "%s{\"status\":000,", i ? "," : ""));
        int st = lead_item(svc, &cmd->items[i], out, now);
        char s[4];
        snprintf(s, sizeof s, "%03d", st);
        memcpy(out->data + mark + (i ? 1 : 0) + 10, s, 3);   /* fill in the status */
        must(svc, lr_buf_putc(out, '}'));
        if (st == 201) best = 201;
        else if (st == 200 && best != 201) best = 200;
        else if (!best) best = -st;
    }
    must(svc, lr_buf_puts(out, "]}"));
    cmd->status = best > 0 ? best : (cmd->nitems ? -best : 400);
}

/* ---- events ------------------------------------------------------------------ */

/* Whether an agent key may send EV: it acts for its own agent, on leads it
 * may see. Sets *status/code when not. */
static bool in_scope(lr_service *svc, const lr_cmd *cmd, const lr_event *ev, int *status,
                     const char **code, const char **msg) {
    const char *me = cmd->scope_agent;
    if (!me) return true;
    if (ev->type == LR_EV_ACCEPT && !ev->agent_id) {
        /* "whoever it is offered to" is an admin's (a replay's): the
         * journal keeps the event as sent, so the key's agent is not
         * filled in for it */
        *status = 400; *code = "invalid_event";
        *msg = "'agent' is required for an accept sent with an agent key: its own agent";
        return false;
    }
    if (ev->agent_id && strcmp(ev->agent_id, me) != 0) {
        *status = 403; *code = "forbidden"; *msg = "an agent key acts only for its own agent";
        return false;
    }
    switch (ev->type) {
    case LR_EV_AGENT:
        return true;                /* its own status (agent_id checked above) */
    case LR_EV_CLAIM:
        if (!ev->lead_id) return true;
        /* fall through */
    case LR_EV_ACCEPT: case LR_EV_DECLINE:
        if (lr_engine_lead_visible(svc->eng, ev->lead_id, me)) return true;
        /* the same answer whether the lead exists or not: nothing is told
         * of leads the agent may not see; the message says where it looked
         * (an offer that ran out, a lead it closed, are no longer there) */
        *status = 404; *code = "not_found";
        *msg = "no such lead among this agent's: assigned to it, offered to it now, or waiting "
               "in its pools";
        return false;
    case LR_EV_PROGRESS: case LR_EV_RELEASE:
        /* on its own leads only: a lead offered to it, or waiting in its
         * pool, is not its to close or hand back */
        if (lr_engine_lead_held(svc->eng, ev->lead_id, me)) return true;
        *status = 404; *code = "not_found";
        *msg = "no such lead assigned to this agent (one offered to it is its own once it "
               "accepts; one it closed is no longer)";
        return false;
    default:                        /* leads, manual assignment, ticks */
        break;
    }
    *status = 403; *code = "forbidden"; *msg = "this event needs an admin key";
    return false;
}

static int event_status(const exec *x, const char **code) {
    if (!x->refused) return 200;
    *code = x->refuse_reason;
    if (strcmp(x->refuse_reason, "unknown_lead") == 0 || strcmp(x->refuse_reason, "unknown_agent") == 0 ||
        strcmp(x->refuse_reason, "queue_empty") == 0)
        return 404;
    return 409;
}

/* One event: appends members to OUT and returns the item's status. */
static int event_item(lr_service *svc, lr_cmd *cmd, lr_cmd_item *it, lr_buf *out, lr_time now) {
    if (it->err_status) {
        put_error(svc, out, it->err_code ? it->err_code : "invalid_event", it->err_msg);
        return it->err_status;
    }
    int st;
    const char *code, *msg;
    if (!in_scope(svc, cmd, &it->ev, &st, &code, &msg)) {
        put_error(svc, out, code, msg);
        return st;
    }
    if (it->ev.type == LR_EV_LEAD) {       /* a lead sent as an event: as POST /v1/leads */
        return lead_item(svc, it, out, now);
    }
    lr_buf decisions = LR_BUF_INIT;
    exec x;
    exec_init(&x, svc, &decisions);
    run_event(svc, &x, &it->ev, it->body, it->len, it->lead_body ? it->lead_body : it->body,
              it->lead_body ? it->lead_len : it->len, it->hash, now);
    st = event_status(&x, &code);
    if (st != 200) {
        put_error(svc, out, code, x.refuse_detail[0] ? x.refuse_detail : code);
        must(svc, lr_buf_putc(out, ','));
    }
    must(svc, lr_buf_puts(out, "\"decisions\":["));
    if (decisions.len) must(svc, lr_buf_append(out, decisions.data, decisions.len));
    must(svc, lr_buf_putc(out, ']'));
    lr_buf_release(&decisions);
    return st;
}

static void exec_events(lr_service *svc, lr_cmd *cmd, lr_time now) {
    lr_buf *out = &cmd->body;
    if (!cmd->array) {
        must(svc, lr_buf_putc(out, '{'));
        cmd->status = event_item(svc, cmd, &cmd->items[0], out, now);
        must(svc, lr_buf_putc(out, '}'));
        return;
    }
    must(svc, lr_buf_puts(out, "{\"results\":["));
    for (size_t i = 0; i < cmd->nitems; i++) {
        size_t mark = out->len + (i ? 1 : 0);
        must(svc, lr_buf_printf(out, "%s{\"status\":000,", i ? "," : ""));
        int st = event_item(svc, cmd, &cmd->items[i], out, now);
        char s[4];
        snprintf(s, sizeof s, "%03d", st);
        memcpy(out->data + mark + 10, s, 3);
        must(svc, lr_buf_putc(out, '}'));
    }
    must(svc, lr_buf_puts(out, "]}"));
    cmd->status = 200;
}

/* ---- reads, config, preview ------------------------------------------------- */

static void exec_agents(lr_service *svc, lr_cmd *cmd) {
    lr_buf *out = &cmd->body;
    if (cmd->type == LR_CMD_GET_AGENT) {
        if (cmd->scope_agent && strcmp(cmd->scope_agent, cmd->id) != 0) {
            lr_service_reply_error(svc, cmd, 404, "not_found", "no such agent");
            return;
        }
        int rc = lr_engine_agent_json(svc->eng, cmd->id, out);
        if (rc == LR_ENOENT) { lr_service_reply_error(svc, cmd, 404, "not_found", "no such agent"); return; }
        must(svc, rc);
        cmd->status = 200;
        return;
    }
    must(svc, lr_buf_puts(out, "{\"agents\":["));
    for (size_t i = 0; i < svc->cfg->nagents; i++) {
        if (i) must(svc, lr_buf_putc(out, ','));
        must(svc, lr_engine_agent_json(svc->eng, svc->cfg->agents[i].id, out));
    }
    must(svc, lr_buf_puts(out, "]}"));
    cmd->status = 200;
}

#define CLAIMABLE_LIMIT 100

typedef struct claimable_ctx { lr_service *svc; lr_buf *out; size_t n; } claimable_ctx;

/* One lead of GET /v1/agents/{id}/claimable: as GET /v1/leads/{id} shows it. */
static int claimable_one(const char *lead, void *ud) {
    claimable_ctx *c = ud;
    if (c->n++ && lr_buf_putc(c->out, ',') != LR_OK) return LR_ENOMEM;
    int rc = lr_store_lead_json(c->svc->store, lead, NULL, c->out);
    if (rc == LR_EDAMAGED || rc == LR_ENOENT)   /* that one only: damaged, or not stored */
        rc = lr_buf_puts(c->out, "null");
    return rc;
}

/* {"leads":[<lead>...],"total":N}: the first CLAIMABLE_LIMIT leads the
 * agent may claim or accept now, oldest first (lr_engine_claimable). */
static void exec_claimable(lr_service *svc, lr_cmd *cmd) {
    lr_buf *out = &cmd->body;
    claimable_ctx c = { svc, out, 0 };
    size_t total = 0;
    must(svc, lr_buf_puts(out, "{\"leads\":["));
    int rc = lr_engine_claimable(svc->eng, cmd->id, CLAIMABLE_LIMIT, claimable_one, &c, &total);
    if (rc == LR_ENOENT) { lr_service_reply_error(svc, cmd, 404, "not_found", "no such agent"); return; }
    if (rc == LR_EIO) {             /* a read failed: this answer only, as other reads */
        lr_service_reply_error(svc, cmd, 503, "store_unavailable", "the store could not be read");
        return;
    }
    must(svc, rc);
    must(svc, lr_buf_printf(out, "],\"total\":%zu}", total));
    cmd->status = 200;
}

/* URL's scheme, host and port, in lower case, the port always given
 * ("smtp://relay.example.com:25"), into OUT (N bytes); an IPv6 address's
 * zone id kept as it is ("smtp://[fe80::1%25eth0]:25": fe80::1 on another
 * interface is another host, and interface names are case-sensitive); the
 * URL as it is when libcurl cannot take it apart (a loaded config's always
 * can). */
static void url_origin(const char *url, char *out, size_t n) {
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL, *port = NULL, *zone = NULL;
    if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
        for (char *p = scheme; *p; p++) *p = (char)tolower((unsigned char)*p);
        for (char *p = host; *p; p++) *p = (char)tolower((unsigned char)*p);
        size_t hl = strlen(host);
        if (curl_url_get(u, CURLUPART_ZONEID, &zone, 0) == CURLUE_OK && zone && zone[0] &&
            hl > 2 && host[0] == '[' && host[hl - 1] == ']')
            snprintf(out, n, "%s://%.*s%%25%s]:%s", scheme, (int)(hl - 1), host, zone, port);
        else
            snprintf(out, n, "%s://%s:%s", scheme, host, port);
    } else {
        snprintf(out, n, "%s", url);
        for (char *p = out; *p; p++) *p = (char)tolower((unsigned char)*p);
    }
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(zone);
    curl_url_cleanup(u);
}

/* The environment variables of channel C, each with the member that
 * names it ("secret_env=CRM_HOOK_SECRET"), into V[3] (empty where none).
 * A login's (username_env, password_env) goes with the mail server it is
 * sent to ("password_env=SMTP_PASS for smtp://relay.example.com:587"); a
 * signing secret never leaves the server, only signatures made with it. */
static void channel_envs(const lr_channel_conf *c, char v[3][600]) {
    const char *names[3] = { c->secret_env, c->username_env, c->password_env };
    static const char *const roles[3] = { "secret_env", "username_env", "password_env" };
    char origin[280];
    if (c->username_env || c->password_env) url_origin(c->url, origin, sizeof origin);
    for (int k = 0; k < 3; k++) {
        if (!names[k]) v[k][0] = '\0';
        else if (k == 0) snprintf(v[k], sizeof v[k], "%s=%s", roles[k], names[k]);
        else snprintf(v[k], sizeof v[k], "%s=%s for %s", roles[k], names[k], origin);
    }
}

static bool env_known(const lr_service *svc, const char *pair) {
    for (size_t i = 0; i < svc->nenv_names; i++)
        if (strcmp(svc->env_names[i], pair) == 0) return true;
    return false;
}

void lr_service_note_envs(lr_service *svc, const lr_config *cfg) {
    for (size_t i = 0; i < cfg->nchannels; i++) {
        char v[3][600];
        channel_envs(&cfg->channels[i], v);
        for (int k = 0; k < 3; k++) {
            if (!v[k][0] || env_known(svc, v[k])) continue;
            char **nv = realloc(svc->env_names, (svc->nenv_names + 1) * sizeof *nv);
            if (!nv || !(nv[svc->nenv_names] = strdup(v[k]))) {
                if (nv) svc->env_names = nv;
                lr_service_fatal(svc, "out of memory", LR_ENOMEM);
            }
            svc->env_names = nv;
            svc->nenv_names++;
        }
    }
}

/* A config sent over the API names, in its channels, only environment
 * variables that a config the server ran on named, each for the same
 * member (a webhook's secret_env is not an SMTP password_env), and a
 * login for the same mail server: the server's environment is the
 * operator's, and an admin key that could name any variable, or point a
 * channel that logs in at another server, could have a value sent to a
 * mail server of its choosing as an SMTP login. A new one comes with the
 * server's own config file (--config, SIGHUP). Writes the first one that
 * is not into NAME (N bytes); false then. */
static bool env_names_allowed(const lr_service *svc, const lr_config *cfg, char *name, size_t n) {
    for (size_t i = 0; i < cfg->nchannels; i++) {
        char v[3][600];
        channel_envs(&cfg->channels[i], v);
        for (int k = 0; k < 3; k++)
            if (v[k][0] && !env_known(svc, v[k])) {
                snprintf(name, n, "channel '%.200s': %.600s", cfg->channels[i].name, v[k]);
                return false;
            }
    }
    return true;
}

/* The 422 of a config naming ENV (env_names_allowed's words), in MSG (N
 * bytes). */
static void env_refusal(lr_service *svc, lr_cmd *cmd, const char *env, char *msg, size_t n) {
    snprintf(msg, n, "%s: a config sent over the API may name only the environment variables "
             "that a config the server ran on named, for the same member (a login for the same "
             "mail server); a new one comes with the server's config file (--config, or SIGHUP)",
             env);
    lr_service_reply_error(svc, cmd, 422, "invalid_config", msg);
}

static void exec_put_config(lr_service *svc, lr_cmd *cmd, lr_time now) {
    if (cmd->if_changed && svc->cfg_text && cmd->config_len == svc->cfg_len &&
        memcmp(cmd->config_text, svc->cfg_text, cmd->config_len) == 0) {
        must(svc, lr_buf_printf(&cmd->body, "{\"version\":%lld,\"unchanged\":true}",
                                (long long)svc->cfg_seq));
        cmd->status = 200;
        return;
    }
    char env[900], msg[1300];
    if (!cmd->config) {             /* a text that does not load, and not the one in use */
        if (cmd->from_api && cmd->unchecked &&
            !env_names_allowed(svc, cmd->unchecked, env, sizeof env)) {
            env_refusal(svc, cmd, env, msg, sizeof msg);
            return;
        }
        if (cmd->refusal) {         /* every error, as the route found them */
            must(svc, lr_buf_puts(&cmd->body, cmd->refusal));
            cmd->status = 422;
        } else {
            lr_service_reply_error(svc, cmd, 422, "invalid_config", "the config does not load");
        }
        return;
    }
    if (cmd->from_api && !env_names_allowed(svc, cmd->config, env, sizeof env)) {
        env_refusal(svc, cmd, env, msg, sizeof msg);
        return;
    }
    int64_t seq = ++svc->seq;
    STORE(svc, "journaling a config",
          lr_store_append_event(svc->store, seq, now, "config", NULL, cmd->config_text,
                                cmd->config_len));
    lr_buf *out = &cmd->body;
    must(svc, lr_buf_printf(out, "{\"version\":%lld,\"decisions\":[", (long long)seq));
    exec x;
    exec_init(&x, svc, out);
    x.seq = seq;
    lr_event tick = { .type = LR_EV_TICK, .at = now };   /* the clock moves to the change first */
    int rc = lr_engine_apply(svc->eng, &tick, on_decision, &x);
    svc->cfg_next = cmd->config;    /* its notify entries apply to the re-routing */
    svc->cfg_gen++;
    if (rc == LR_OK)
        rc = lr_engine_reconfigure(svc->eng, cmd->config, LR_RECONF_NOW,
                                   on_decision, &x);
    svc->cfg_next = NULL;
    if (rc != LR_OK) lr_service_fatal(svc, "switching config", rc);
    must(svc, lr_buf_puts(out, "],\"warnings\":"));
    must(svc, lr_buf_puts(out, cmd->warnings ? cmd->warnings : "[]"));
    must(svc, lr_buf_puts(out, "}"));
    char *text = malloc(cmd->config_len + 1);
    if (!text) lr_service_fatal(svc, "out of memory", LR_ENOMEM);
    memcpy(text, cmd->config_text, cmd->config_len);
    text[cmd->config_len] = '\0';
    lr_config_free(svc->cfg);
    free(svc->cfg_text);
    svc->cfg = cmd->config;
    cmd->config = NULL;             /* the service owns it now */
    lr_service_note_envs(svc, svc->cfg);
    svc->cfg_text = text;
    svc->cfg_len = cmd->config_len;
    svc->cfg_seq = seq;
    svc->cfg_gen++;
    if (svc->dispatch) must(svc, lr_dispatch_configure(svc->dispatch, svc->cfg));
    cmd->status = 200;
}

static int preview_cb(const lr_decision *d, void *ud) {
    lr_buf *out = ud;
    if (out->len && out->data[out->len - 1] != '[') lr_buf_putc(out, ',');
    return lr_decision_write_json(d, out);
}

/* Histogram NAME with HELP over BOUNDS (N of them; BUCKET has N + 1). */
static void put_histogram(lr_service *svc, lr_buf *out, const char *name, const char *help,
                          const double *bounds, int n, const uint64_t *bucket, double sum,
                          uint64_t count) {
    must(svc, lr_buf_printf(out, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name));
    uint64_t cum = 0;
    for (int i = 0; i < n; i++) {
        cum += bucket[i];
        must(svc, lr_buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name, bounds[i],
                                (unsigned long long)cum));
    }
    cum += bucket[n];
    must(svc, lr_buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n%s_count %llu\n",
                            name, (unsigned long long)cum, name, sum, name,
                            (unsigned long long)count));
}

static void put_histograms(lr_service *svc, lr_buf *out) {
    put_histogram(svc, out, "leadrouter_commit_seconds",
                  svc->flusher ? "Time of one group commit on the writer (its fsync is "
                                 "leadrouter_fsync_seconds)."
                               : "Time of one group commit (fsync included).",
                  lr_commit_bounds, LR_COMMIT_BUCKETS, svc->commit_bucket, svc->commit_sum,
                  svc->commits);
    if (!svc->flusher) return;
    lr_flush_stats fs;
    lr_flusher_stats(svc->flusher, &fs);
    put_histogram(svc, out, "leadrouter_fsync_seconds",
                  "Time of one fsync of the WAL by the flush thread (it covers every "
                  "commit before it).",
                  lr_flush_bounds, LR_FLUSH_BUCKETS, fs.bucket, fs.sum, fs.count);
}

/* Appends S as a label value of the Prometheus text format: a backslash,
 * a double quote and a line feed escaped (pool names may hold any of them). */
static int put_label_value(lr_buf *out, const char *s) {
    int rc = LR_OK;
    for (const char *p = s; rc == LR_OK && *p; p++) {
        size_t run = strcspn(p, "\\\"\n");
        rc = lr_buf_append(out, p, run);
        p += run;
        if (rc != LR_OK || !*p) break;
        rc = lr_buf_append(out, *p == '\n' ? "\\n" : *p == '"' ? "\\\"" : "\\\\", 2);
    }
    return rc;
}

static void exec_metrics(lr_service *svc, lr_cmd *cmd) {
    lr_buf *out = &cmd->body;
    lr_outbox_sync_counts(svc);     /* a replay by another process counted */
    cmd->content_type = "text/plain; version=0.0.4; charset=utf-8";
    must(svc, lr_buf_printf(out, "# HELP leadrouter_leads_total Leads received.\n"
                                 "# TYPE leadrouter_leads_total counter\n"
                                 "leadrouter_leads_total %llu\n"
                                 "# HELP leadrouter_decisions_total Decisions made, by action.\n"
                                 "# TYPE leadrouter_decisions_total counter\n",
                            (unsigned long long)svc->leads_in));
    for (int a = 0; a < LR_ACTION__COUNT; a++)
        must(svc, lr_buf_printf(out, "leadrouter_decisions_total{action=\"%s\"} %llu\n",
                                lr_action_names[a], (unsigned long long)svc->decisions[a]));
    put_histograms(svc, out);
    pthread_mutex_lock(&svc->mu);
    size_t queued = svc->queued;
    pthread_mutex_unlock(&svc->mu);
    pthread_mutex_lock(&svc->rmu);
    unsigned long long gone = (unsigned long long)svc->rgone;
    pthread_mutex_unlock(&svc->rmu);
    must(svc, lr_buf_printf(out, "# HELP leadrouter_writer_queue Requests waiting for the writer.\n"
                                 "# TYPE leadrouter_writer_queue gauge\n"
                                 "leadrouter_writer_queue %zu\n"
                                 "# HELP leadrouter_reads_dropped_total Reads not run: their client "
                                 "had hung up while they waited.\n"
                                 "# TYPE leadrouter_reads_dropped_total counter\n"
                                 "leadrouter_reads_dropped_total %llu\n", queued, gone));
    must(svc, lr_buf_puts(out, "# HELP leadrouter_deliveries Deliveries in the outbox by status.\n"
                               "# TYPE leadrouter_deliveries gauge\n"));
    for (int i = 0; i < LR_DLV__COUNT; i++)
        must(svc, lr_buf_printf(out, "leadrouter_deliveries{status=\"%s\"} %lld\n",
                                lr_delivery_status_names[i], (long long)svc->dlv.n[i]));
    /* queue depths per pool (the engine's, as /v1/stats has them) */
    size_t np = svc->cfg->npools;
    uint64_t *waiting = malloc((np ? np : 1) * sizeof *waiting);
    int64_t *age = malloc((np ? np : 1) * sizeof *age);
    if (!waiting || !age) must(svc, LR_ENOMEM);
    lr_engine_queue_depths(svc->eng, waiting, age);
    for (int m = 0; m < 2; m++) {
        must(svc, lr_buf_puts(out, m ? "# HELP leadrouter_queue_oldest_seconds Age of the oldest lead "
                                       "waiting per pool.\n# TYPE leadrouter_queue_oldest_seconds gauge\n"
                                     : "# HELP leadrouter_queue_depth Leads waiting per pool "
                                       "(queued, held, offered).\n# TYPE leadrouter_queue_depth gauge\n"));
        for (size_t p = 0; p < np; p++) {
            must(svc, lr_buf_puts(out, m ? "leadrouter_queue_oldest_seconds{pool=\""
                                         : "leadrouter_queue_depth{pool=\""));
            must(svc, put_label_value(out, svc->cfg->pools[p].name));
            must(svc, m ? lr_buf_printf(out, "\"} %.3f\n", age[p] < 0 ? 0.0 : (double)age[p] / 1000.0)
                        : lr_buf_printf(out, "\"} %llu\n", (unsigned long long)waiting[p]));
        }
    }
    free(waiting);
    free(age);
    cmd->status = 200;
}

/* Moves the engine's clock to NOW so ages (queue waits) read true. The
 * writer fired every deadline due by NOW at the start of the batch, so the
 * move decides nothing and needs no journal entry: a replay reaches the
 * same state with the next event. */
static void advance_clock(lr_service *svc, lr_time now) {
    lr_event tick = { .type = LR_EV_TICK, .at = now };
    if (lr_engine_next_deadline(svc->eng) == LR_TIME_NONE || lr_engine_next_deadline(svc->eng) > now)
        lr_engine_apply(svc->eng, &tick, NULL, NULL);
}

/* CMD's Idempotency-Key as stored, in BUF: the API key's id, a space and
 * the header's value. Another API key's requests never see it: neither
 * their answers (an agent's key would read another agent's) nor a 409
 * because two clients chose the same key. */
static const char *idem_stored_key(const lr_cmd *cmd, char *buf, size_t size) {
    snprintf(buf, size, "%s %s", cmd->idem_scope ? cmd->idem_scope : "", cmd->idem_key);
    return buf;
}

/* An answer given again for its Idempotency-Key: the leads it created are
 * 200 now, as the whole answer is. An array's results carry a status each,
 * written {"status":201,... by this file; the bytes "status":201 occur
 * nowhere else (a quote inside a JSON string is escaped). */
static void created_again(lr_buf *body) {
    static const char pat[] = "{\"status\":201,";
    for (char *p = body->data; p && (p = strstr(p, pat)) != NULL; p += sizeof pat - 1)
        p[sizeof pat - 3] = '0';    /* 201 -> 200 */
}

static void execute_cmd(lr_service *svc, lr_cmd *cmd, lr_time now) {
    cmd->content_type = JSON;
    cmd->status = 500;
    lr_buf_reset(&cmd->body);

    /* Idempotency-Key: the same key and body answers as the first time. */
    bool writes = cmd->type == LR_CMD_LEADS || cmd->type == LR_CMD_EVENTS;
    char ik[512];                   /* the header is at most 200 bytes (routes.c) */
    if (writes && cmd->idem_key) {
        unsigned char h[32];
        int st;
        int rc = lr_store_idem_get(svc->store, idem_stored_key(cmd, ik, sizeof ik), h, &st,
                                   &cmd->body);
        if (rc == LR_OK) {
            bool same = memcmp(h, cmd->idem_hash, 32) == 0;
            for (int i = 0; !same && i < cmd->idem_nalt; i++)
                same = memcmp(h, cmd->idem_hash_alt[i], 32) == 0;
            if (same) {
                cmd->status = st == 201 ? 200 : st;
                created_again(&cmd->body);     /* an array's items (of /v1/events too) */
            } else {
                lr_service_reply_error(svc, cmd, 409, "idempotency_key_reused",
                            "this Idempotency-Key was used with a different request (path or body)");
            }
            return;
        }
        if (rc != LR_ENOENT) lr_service_fatal(svc, "reading an idempotency key", rc);
    }

    switch (cmd->type) {
    case LR_CMD_LEADS: exec_leads(svc, cmd, now); break;
    case LR_CMD_EVENTS: exec_events(svc, cmd, now); break;
    case LR_CMD_GET_AGENTS:
    case LR_CMD_GET_AGENT:          /* the hour's and the day's counts are of now */
        advance_clock(svc, now);
        exec_agents(svc, cmd);
        break;
    case LR_CMD_CLAIMABLE: exec_claimable(svc, cmd); break;
    case LR_CMD_GET_CONFIG:
        must(svc, lr_buf_printf(&cmd->body, "{\"version\":%lld,\"config\":", (long long)svc->cfg_seq));
        must(svc, lr_json_put_string(&cmd->body, svc->cfg_text));
        must(svc, lr_buf_putc(&cmd->body, '}'));
        cmd->status = 200;
        break;
    case LR_CMD_PUT_CONFIG: exec_put_config(svc, cmd, now); break;
    case LR_CMD_PREVIEW: {          /* the decision a lead would get now */
        advance_clock(svc, now);
        const lr_lead *lead = cmd->items[0].ev.lead;
        const char *id = lr_lead_id(lead), *st, *ag;
        if (id && lr_engine_lead_info(svc->eng, id, &st, &ag) == LR_OK) {
            /* a lead received before would get nothing new: a POST of it
             * is a repeat (or a conflict) */
            must(svc, lr_buf_puts(&cmd->body, "{\"decisions\":[],\"received_before\":true}"));
        } else {
            must(svc, lr_buf_puts(&cmd->body, "{\"decisions\":["));
            must(svc, lr_engine_preview(svc->eng, lead, preview_cb, &cmd->body));
            must(svc, lr_buf_puts(&cmd->body, "]}"));
        }
        cmd->status = 200;
        break;
    }
    case LR_CMD_QUEUES:             /* the live part of GET /v1/stats (reads.c) */
        advance_clock(svc, now);
        must(svc, lr_engine_queues_json(svc->eng, &cmd->body));
        cmd->status = 200;
        break;
    case LR_CMD_METRICS: advance_clock(svc, now); exec_metrics(svc, cmd); break;
    case LR_CMD_RETRY_DELIVERY: lr_outbox_exec(svc, cmd, now); break;
    default:
        lr_service_reply_error(svc, cmd, 500, "internal", "unknown command");
        break;
    }

    if (writes && cmd->idem_key && cmd->status < 500)
        STORE(svc, "storing an idempotency key",
              lr_store_idem_put(svc->store, idem_stored_key(cmd, ik, sizeof ik), cmd->idem_hash,
                                cmd->status, cmd->body.data ? cmd->body.data : "",
                                cmd->body.len, now));
}

void lr_service_execute(lr_service *svc, lr_cmd *cmd, lr_time now) {
    svc->jsonl = cmd->decisions_out;
    execute_cmd(svc, cmd, now);
    svc->jsonl = NULL;
}

/* A journaled tick at NOW (a catch-up one: what is due fires all at NOW). */
static void journal_tick(lr_service *svc, lr_time now, bool catch_up) {
    lr_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = LR_EV_TICK;
    ev.catch_up = catch_up;
    exec x;
    exec_init(&x, svc, NULL);
    static const char plain[] = "{\"type\":\"tick\"}";
    static const char catching_up[] = "{\"type\":\"tick\",\"catch_up\":true}";
    const char *body = catch_up ? catching_up : plain;
    run_event(svc, &x, &ev, body, strlen(body), body, strlen(body), NULL, now);
}

/* Fires the deadlines due by NOW as a journaled tick, when there are any. */
static void fire_due(lr_service *svc, lr_time now, bool catch_up) {
    lr_time dl = lr_engine_next_deadline(svc->eng);
    if (dl != LR_TIME_NONE && dl <= now) journal_tick(svc, now, catch_up);
}

void lr_service_catch_up(lr_service *svc, lr_time now) {
    fire_due(svc, now, true);
}

void lr_service_tick(lr_service *svc, lr_time now) {
    fire_due(svc, now, false);
}

void lr_service_clock_to(lr_service *svc, lr_time at, lr_buf *decisions_out) {
    svc->jsonl = decisions_out;
    journal_tick(svc, at, false);
    svc->jsonl = NULL;
}

#define IDEM_SLICE 1000             /* keys forgotten in one go: a commit's worth */

/* Every minute (every half of a shorter keep), and again in the next
 * transaction while a whole slice went: a backlog (the first start after
 * the keep was shortened) goes a slice per commit, never in one long one.
 * The writer calls it once a transaction, and wakes for it when idle. */
void lr_service_prune_idem(lr_service *svc, lr_time now) {
    int64_t keep = svc->opts.idem_keep_ms;
    if (keep <= 0 || now < svc->idem_next) return;
    int n = 0;
    STORE(svc, "forgetting old idempotency keys",
          lr_store_idem_prune(svc->store, now - keep, IDEM_SLICE, &n));
    svc->idem_next = n == IDEM_SLICE ? now : now + lr_service_prune_every(svc);
}

int64_t lr_service_prune_every(const lr_service *svc) {
    int64_t keep = svc->opts.idem_keep_ms;
    return keep / 2 < 60000 ? keep / 2 : 60000;
}
