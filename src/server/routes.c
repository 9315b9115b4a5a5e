/* routes.c -- one function per endpoint: validate what http.c let through
 * and build the lr_cmd for the writer (see http.h for what is already
 * checked: route, key, role, rate, content type, body size).
 *
 * What is decided here:
 *
 *   - JSON bodies: at most LR_HTTP_MAX_DEPTH levels of nesting (a scan
 *     before jansson, which would allow 2048), then json_loadb() with
 *     duplicate keys refused. Messages give the byte offset. An array
 *     body holds 1..LR_HTTP_MAX_ITEMS elements (more: 413).
 *   - A body that is one flat lead takes the short way: the plain-lead
 *     parser (core/event_impl.h) reads it straight into the item, with no
 *     jansson tree; it accepts only what the steps below would accept,
 *     with the same event, and declines the rest to them.
 *   - Each element becomes one lr_cmd_item: its event (lr_event_parse_json,
 *     the same checks as every other front door), its text as received
 *     (the array is sliced, so the journal and GET /v1/leads/{id} keep the
 *     client's bytes), and its hash: for a lead lr_lead_hash() (the
 *     content, however the JSON was spelled), which is what lead-id
 *     idempotency compares; for other events BLAKE2b-256 of the canonical
 *     JSON (compact, keys sorted). In an array a bad element is an
 *     item error (400) and the others still go; a single bad body is a 400
 *     without the writer.
 *   - Conveniences (progress, claim, next, status) build the event object
 *     from the path and the body and go through the same parser; the text
 *     journaled is that object's compact encoding.
 *   - Idempotency-Key: 1..200 visible ASCII characters; its hash covers the
 *     method, the path and the body, so the same key on another endpoint
 *     or with another body is a conflict (409, by the writer).
 *
 * Nothing here is shared between threads. A handler leaves its command in
 * the reply (call()); from then on it belongs to http.c and the service,
 * and lr_route_finish() frees it once it is done.
 */
#include "server/http.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/event_impl.h"
#include "core/json_load.h"
#include "core/lead_rt.h"
#include "leadrouter/error.h"
#include "server/form.h"

#define IDEM_KEY_MAX 200

typedef struct slice {
    const char *p;
    size_t n;
} slice;

/* ---- JSON bodies ------------------------------------------------------------------ */

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Scans JSON text S (N bytes): returns the deepest nesting, and when the
 * top level is an array and ELEMS is given, the text of each element (at
 * most MAX of them; *nelems counts them all). Strings are skipped with
 * their escapes. *deep_at is the offset where the depth first passed
 * LR_HTTP_MAX_DEPTH. Meaningful only for valid JSON, but never reads past
 * S + N on any input. */
static int scan_json(const char *s, size_t n, size_t *deep_at, slice *elems, size_t max,
                     size_t *nelems) {
    int depth = 0, maxd = 0;
    size_t count = 0;
    const char *start = NULL, *last = NULL;   /* the current element's first / last byte */
    *deep_at = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '"') {
            size_t j = i + 1;
            while (j < n && s[j] != '"') j += s[j] == '\\' ? 2 : 1;
            if (j >= n) j = n - 1;              /* unterminated: invalid anyway */
            if (depth == 1 && !start) start = s + i;
            last = s + j;
            i = j;
            continue;
        }
        if (is_ws(c)) continue;
        if (depth == 1 && (c == ',' || c == ']')) {
            if (start && elems && count < max) elems[count] = (slice){ start, (size_t)(last - start + 1) };
            if (start) count++;
            start = NULL;
        } else if (depth == 1 && !start) {
            start = s + i;
        }
        if (c == '[' || c == '{') {
            if (++depth > maxd) {
                maxd = depth;
                if (depth == LR_HTTP_MAX_DEPTH + 1) *deep_at = i;
            }
        } else if (c == ']' || c == '}') {
            depth--;
        }
        last = s + i;
    }
    if (nelems) *nelems = count;
    return maxd;
}

/* Decodes the request's JSON body. Returns the value (owned by the caller)
 * or NULL with REP set to the 400. */
static json_t *decode_body(const lr_req *req, lr_reply *rep) {
    size_t i = 0;
    while (i < req->len && is_ws(req->body[i])) i++;
    if (i == req->len) {
        lr_reply_error(rep, 400, "invalid_json", "the body is empty: a JSON value is required");
        return NULL;
    }
    if (req->len - i >= 3 && memcmp(req->body + i, "\xEF\xBB\xBF", 3) == 0) {
        /* jansson's "invalid token near '<invisible>'" at byte 2 */
        lr_reply_error(rep, 400, "invalid_json", "the body starts with a byte order mark (EF BB BF at "
                       "byte %zu): JSON is sent without one (RFC 8259, 8.1)", i);
        return NULL;
    }
    size_t deep_at;
    if (scan_json(req->body, req->len, &deep_at, NULL, 0, NULL) > LR_HTTP_MAX_DEPTH) {
        lr_reply_error(rep, 400, "invalid_json", "JSON nested deeper than %d levels at byte %zu",
                       LR_HTTP_MAX_DEPTH, deep_at);
        return NULL;
    }
    json_error_t je;
    json_t *v = lr_json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (v) return v;
    /* jansson's position counts the bytes it consumed: past the token it
     * choked on, but before a byte that is not UTF-8 and before a control
     * byte or line feed inside a string. We report the 0-based offset of
     * the offending byte (the token's last byte). */
    int at = je.position;
    switch (json_error_code(&je)) {
    case json_error_invalid_utf8:
        lr_reply_error(rep, 400, "invalid_json", "invalid UTF-8 at byte %d", at);
        break;
    case json_error_null_character:         /* its text names a jansson flag */
        lr_reply_error(rep, 400, "invalid_json", "invalid JSON at byte %d: a string may not hold \\u0000",
                       at > 0 ? at - 1 : 0);
        break;
    case json_error_duplicate_key:
        lr_reply_error(rep, 400, "invalid_json", "duplicate key at byte %d: %s", at > 0 ? at - 1 : 0,
                       je.text);
        break;
    case json_error_numeric_overflow:       /* 1e400: integers past 64 bits are read */
        lr_reply_error(rep, 400, "invalid_json", "the number ending at byte %d is beyond the range of "
                       "a double (about 1.8e308)", at > 0 ? at - 1 : 0);
        break;
    default:
        if (strncmp(je.text, "control character", 17) != 0 && strncmp(je.text, "unexpected newline", 18) != 0)
            at = at > 0 ? at - 1 : 0;
        if (strncmp(je.text, "invalid Unicode '\\u", 19) == 0) {
            /* a lone surrogate is found once the whole string is read: the
             * escape it quotes is the last one of its kind before there */
            const char *esc = je.text + 17;
            for (int k = at - 5; k >= 0; k--)
                if ((size_t)k + 6 <= req->len && strncasecmp(req->body + k, esc, 6) == 0) {
                    at = k;
                    break;
                }
        }
        lr_reply_error(rep, 400, "invalid_json", "invalid JSON at byte %d: %s", at, je.text);
        break;
    }
    return NULL;
}

/* BLAKE2b-256 of V's canonical text (compact, keys sorted). */
static int canonical_hash(const json_t *v, unsigned char out[32]) {
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!s) return LR_ENOMEM;
    crypto_generichash(out, 32, (const unsigned char *)s, strlen(s), NULL, 0);
    free(s);
    return LR_OK;
}

/* Fills IT from element V (text T): event, hash, or the item's error.
 * LEADS_ONLY refuses other event types. Returns LR_OK or LR_ENOMEM. */
static int make_item(lr_cmd_item *it, json_t *v, slice t, bool leads_only) {
    memset(it, 0, sizeof *it);
    it->body = t.p;
    it->len = t.n;
    int rc = lr_event_parse_json(v, &it->ev, it->err_msg, sizeof it->err_msg);
    if (rc == LR_ENOMEM) return rc;
    if (rc == LR_OK && leads_only && it->ev.type != LR_EV_LEAD) {
        snprintf(it->err_msg, sizeof it->err_msg,
                 "this endpoint takes leads; send '%s' events to POST /v1/events",
                 lr_event_type_names[it->ev.type]);
        lr_event_release(&it->ev);
        rc = LR_EINVAL;
    } else if (rc == LR_OK && it->ev.type == LR_EV_LEAD && !lr_lead_id_nameable(lr_lead_id(it->ev.lead))) {
        snprintf(it->err_msg, sizeof it->err_msg,
                 "'id' must not contain a control character (the lead could not be named in a path)");
        lr_event_release(&it->ev);
        rc = LR_EINVAL;
    }
    if (rc != LR_OK) {
        it->err_status = 400;
        it->err_code = "invalid_event";
        return LR_OK;
    }
    it->lead_body = t.p;
    it->lead_len = t.n;
    if (it->ev.type == LR_EV_LEAD && it->ev.wrapped)
        lr_event_lead_text(t.p, t.n, &it->lead_body, &it->lead_len);
    if (it->ev.type == LR_EV_LEAD) rc = lr_lead_hash(it->ev.lead, it->hash);
    else rc = canonical_hash(v, it->hash);
    if (rc != LR_OK) {
        lr_event_release(&it->ev);
        return rc;
    }
    return LR_OK;
}

/* Builds CMD's items from the decoded body ROOT: one object, or an array
 * of them. Returns true, or false with REP set (the caller releases CMD). */
static bool make_items(const lr_req *req, json_t *root, bool leads_only, lr_cmd *cmd,
                       lr_reply *rep) {
    if (json_is_object(root)) {
        if (!(cmd->items = calloc(1, sizeof *cmd->items))) goto oom;
        cmd->nitems = 1;
        if (make_item(&cmd->items[0], root, (slice){ req->body, req->len }, leads_only) != LR_OK)
            goto oom;
        if (cmd->items[0].err_status) {
            lr_reply_error(rep, 400, cmd->items[0].err_code, "%s", cmd->items[0].err_msg);
            return false;
        }
        return true;
    }
    if (!json_is_array(root)) {
        lr_reply_error(rep, 400, "invalid_json", "the body must be a JSON object or an array of objects");
        return false;
    }
    size_t n = json_array_size(root);
    if (n == 0) {
        lr_reply_error(rep, 400, "invalid_json", "the array is empty");
        return false;
    }
    if (n > LR_HTTP_MAX_ITEMS) {
        lr_reply_error(rep, 413, "payload_too_large", "an array holds at most %d items (this one %zu)",
                       LR_HTTP_MAX_ITEMS, n);
        return false;
    }
    slice *texts = calloc(n, sizeof *texts);
    if (!texts || !(cmd->items = calloc(n, sizeof *cmd->items))) {
        free(texts);
        goto oom;
    }
    size_t deep_at, found = 0;
    scan_json(req->body, req->len, &deep_at, texts, n, &found);
    if (found != n) {               /* jansson and the scanner disagree: never on valid JSON */
        free(texts);
        lr_reply_error(rep, 500, "internal", "the array could not be split into its elements");
        return false;
    }
    cmd->array = true;
    for (size_t i = 0; i < n; i++) {
        cmd->nitems = i + 1;
        if (make_item(&cmd->items[i], json_array_get(root, i), texts[i], leads_only) != LR_OK) {
            free(texts);
            goto oom;
        }
    }
    free(texts);
    return true;
oom:
    lr_reply_error(rep, 500, "internal", "out of memory");
    return false;
}

/* ---- handing over to the writer ---------------------------------------------------- */

/* The request hash of an Idempotency-Key: REQ's method and path, and BODY. */
static void idem_hash(const lr_req *req, const char *body, size_t len, unsigned char out[32]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    const char *m = req->method == LR_PUT ? "PUT " : req->method == LR_GET ? "GET " : "POST ";
    crypto_generichash_update(&st, (const unsigned char *)m, strlen(m));
    crypto_generichash_update(&st, (const unsigned char *)req->path, strlen(req->path));
    crypto_generichash_update(&st, (const unsigned char *)"\n", 1);
    crypto_generichash_update(&st, (const unsigned char *)body, len);
    crypto_generichash_final(&st, out, 32);
}

/* Sets the Idempotency-Key of CMD from REQ. Returns false with REP set when
 * the key is malformed. */
static bool set_idem(const lr_req *req, lr_cmd *cmd, lr_reply *rep) {
    const char *k = req->idem_key;
    if (!k) return true;
    if (req->idem_count > 1) {      /* which one would the retry send? */
        lr_reply_error(rep, 400, "invalid_request", "Idempotency-Key is given %d times: send it once",
                       req->idem_count);
        return false;
    }
    size_t n = strlen(k);
    bool ok = n >= 1 && n <= IDEM_KEY_MAX;
    for (size_t i = 0; ok && i < n; i++) ok = k[i] > 0x20 && k[i] < 0x7F;
    if (!ok) {
        lr_reply_error(rep, 400, "invalid_request",
                       "Idempotency-Key must be 1 to %d visible ASCII characters", IDEM_KEY_MAX);
        return false;
    }
    idem_hash(req, req->body, req->len, cmd->idem_hash);
    cmd->idem_key = k;
    cmd->idem_scope = req->who ? req->who->key_id : "";
    return true;
}

/* Leaves CMD for the service in REP (http.c submits it); CMD is left
 * empty. HOLD, when given, is text CMD borrows: REP keeps it (and *HOLD
 * becomes NULL) until the reply is sent. */
static void call(const lr_req *req, lr_cmd *cmd, lr_reply *rep, char **hold) {
    if (req->who && req->who->role == LR_ROLE_AGENT) cmd->scope_agent = req->who->agent;
    lr_cmd *c = malloc(sizeof *c);
    if (!c) {
        lr_cmd_release(cmd);
        lr_reply_error(rep, 500, "internal", "out of memory");
        return;
    }
    *c = *cmd;
    memset(cmd, 0, sizeof *cmd);
    rep->pending = c;
    if (hold) {
        rep->hold = *hold;
        *hold = NULL;
    }
}

void lr_route_finish(lr_reply *rep, lr_cmd *cmd) {
    lr_buf_release(&rep->body);
    rep->status = cmd->status;
    rep->content_type = cmd->content_type;
    rep->body = cmd->body;
    lr_buf_init(&cmd->body);
    lr_cmd_release(cmd);
    free(cmd);
    if (rep->redirect_2xx && rep->status >= 200 && rep->status < 300) {
        rep->status = 303;
        rep->location = rep->redirect_2xx;
    }
}

/* The command types without input. */
static void simple(const lr_req *req, lr_reply *rep, lr_cmd_type type) {
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = type;
    cmd.id = req->param;
    call(req, &cmd, rep, NULL);
}

/* Makes CMD's one item of a body that is a plain lead. Returns false,
 * with nothing allocated, when the body is anything else (or memory ran
 * out: the long way will say so). */
static bool plain_lead(const lr_req *req, lr_cmd *cmd) {
    lr_event ev;
    if (!lr_event_parse_plain(req->body, req->len, &ev)) return false;
    if (!lr_lead_id_nameable(lr_lead_id(ev.lead))) {       /* the long way says why */
        lr_event_release(&ev);
        return false;
    }
    lr_cmd_item *it = calloc(1, sizeof *it);
    if (!it || lr_lead_hash(ev.lead, it->hash) != LR_OK) {
        free(it);
        lr_event_release(&ev);
        return false;
    }
    it->ev = ev;
    it->body = it->lead_body = req->body;
    it->len = it->lead_len = req->len;
    cmd->items = it;
    cmd->nitems = 1;
    return true;
}

/* A body of leads or events: decode, itemize, hand over. */
static void batch(const lr_req *req, lr_reply *rep, lr_cmd_type type) {
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = type;
    if (plain_lead(req, &cmd)) {
        if (set_idem(req, &cmd, rep)) call(req, &cmd, rep, NULL);
        else lr_cmd_release(&cmd);
        return;
    }
    json_t *root = decode_body(req, rep);
    if (!root) return;
    bool ok = make_items(req, root, type == LR_CMD_LEADS, &cmd, rep) && set_idem(req, &cmd, rep);
    json_decref(root);
    if (ok) call(req, &cmd, rep, NULL);
    else lr_cmd_release(&cmd);
}

/* ---- conveniences: one event from the path and the body -------------------------------- */

typedef struct fixed {
    const char *key;
    const char *value;              /* NULL: the key may not be in the body */
} fixed;

/* Builds the event TYPE from the request body (an object, or nothing when
 * OPTIONAL) with the FIXED members from the path, parses it and hands it
 * over as an EVENTS command. DEFAULT_AGENT fills "agent" when absent. */
static void convenience(const lr_req *req, lr_reply *rep, const char *type, const fixed *fx,
                        size_t nfx, bool optional, const char *default_agent) {
    json_t *obj;
    if (optional && req->len == 0) {
        obj = json_object();
    } else {
        if (!(obj = decode_body(req, rep))) return;
        if (!json_is_object(obj)) {
            json_decref(obj);
            lr_reply_error(rep, 400, "invalid_event", "the body must be a JSON object");
            return;
        }
    }
    bool no_body = optional && (!obj || json_object_size(obj) == 0);  /* none, or {} */
    char *text = NULL;
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = LR_CMD_EVENTS;
    if (!obj) goto oom;
    if (json_object_get(obj, "type")) {
        lr_reply_error(rep, 400, "invalid_event", "'type' is implied by the path");
        goto out;
    }
    for (size_t i = 0; i < nfx; i++) {
        json_t *v = json_object_get(obj, fx[i].key);
        if (v && !json_is_null(v)) {
            lr_reply_error(rep, 400, "invalid_event", fx[i].value ? "'%s' comes from the path"
                           : "'%s' is not taken here", fx[i].key);
            goto out;
        }
        if (fx[i].value && json_object_set_new(obj, fx[i].key, json_string(fx[i].value)) != 0)
            goto oom;
    }
    if (default_agent && !json_is_string(json_object_get(obj, "agent")) &&
        json_object_set_new(obj, "agent", json_string(default_agent)) != 0)
        goto oom;
    if (json_object_set_new(obj, "type", json_string(type)) != 0) goto oom;
    if (!(text = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS))) goto oom;
    if (!(cmd.items = calloc(1, sizeof *cmd.items))) goto oom;
    cmd.nitems = 1;
    if (make_item(&cmd.items[0], obj, (slice){ text, strlen(text) }, false) != LR_OK) goto oom;
    if (cmd.items[0].err_status) {
        lr_reply_error(rep, 400, "invalid_event", "%s", cmd.items[0].err_msg);
        goto out;
    }
    if (set_idem(req, &cmd, rep)) {
        if (no_body && cmd.idem_key) {  /* "{}" in the hash; as sent, or empty, before */
            memcpy(cmd.idem_hash_alt[0], cmd.idem_hash, 32);
            idem_hash(req, "", 0, cmd.idem_hash_alt[1]);
            cmd.idem_nalt = 2;
            idem_hash(req, "{}", 2, cmd.idem_hash);
        }
        call(req, &cmd, rep, &text);
    }
    goto out;
oom:
    lr_reply_error(rep, 500, "internal", "out of memory");
out:
    lr_cmd_release(&cmd);
    free(text);
    json_decref(obj);
}

static const char *agent_of(const lr_req *req) {
    return req->who && req->who->role == LR_ROLE_AGENT ? req->who->agent : NULL;
}

void lr_route_lead_progress(const lr_req *req, lr_reply *rep) {
    fixed fx[] = { { "lead", req->param } };
    convenience(req, rep, "progress", fx, 1, false, NULL);
}

void lr_route_lead_claim(const lr_req *req, lr_reply *rep) {
    fixed fx[] = { { "lead", req->param } };
    convenience(req, rep, "claim", fx, 1, true, agent_of(req));
}

void lr_route_agent_next(const lr_req *req, lr_reply *rep) {
    fixed fx[] = { { "agent", req->param }, { "lead", NULL } };
    convenience(req, rep, "claim", fx, 2, true, NULL);
}

void lr_route_agent_status(const lr_req *req, lr_reply *rep) {
    fixed fx[] = { { "agent", req->param } };
    convenience(req, rep, "agent", fx, 1, false, NULL);
}

/* ---- the endpoints ------------------------------------------------------------------ */

void lr_route_healthz(const lr_req *req, lr_reply *rep) {
    (void)req;
    rep->status = 200;
    lr_buf_puts(&rep->body, "{\"status\":\"ok\"}");
}

void lr_route_leads_post(const lr_req *req, lr_reply *rep) { batch(req, rep, LR_CMD_LEADS); }
void lr_route_events_post(const lr_req *req, lr_reply *rep) { batch(req, rep, LR_CMD_EVENTS); }
void lr_route_lead_get(const lr_req *req, lr_reply *rep) { simple(req, rep, LR_CMD_GET_LEAD); }
void lr_route_agents_list(const lr_req *req, lr_reply *rep) { simple(req, rep, LR_CMD_GET_AGENTS); }
void lr_route_agent_get(const lr_req *req, lr_reply *rep) { simple(req, rep, LR_CMD_GET_AGENT); }
void lr_route_agent_claimable(const lr_req *req, lr_reply *rep) { simple(req, rep, LR_CMD_CLAIMABLE); }
void lr_route_config_get(const lr_req *req, lr_reply *rep) { simple(req, rep, LR_CMD_GET_CONFIG); }
/* Reads the query argument K=V, K "since" or "until", into *SINCE or
 * *UNTIL; false, with a 400 in REP, when V is not an RFC 3339 time. */
static bool time_arg(const char *k, const char *v, lr_time *since, lr_time *until, lr_reply *rep) {
    if (lr_time_parse(v, strlen(v), k[0] == 's' ? since : until) == LR_OK) return true;
    /* a '+' of an offset that was not written %2B arrives as a space */
    lr_reply_error(rep, 400, "invalid_request", "'%s' must be an RFC 3339 time, got '%.64s'%s", k, v,
                   strchr(v, ' ') ? " (a '+' in a query is a space: write it %2B)" : "");
    return false;
}

/* Whether [SINCE, UNTIL) is a window (LR_TIME_NONE: open); false, with a
 * 400 in REP, when UNTIL is not after SINCE. */
static bool window_ok(lr_time since, lr_time until, lr_reply *rep) {
    if (since == LR_TIME_NONE || until == LR_TIME_NONE || until > since) return true;
    lr_reply_error(rep, 400, "invalid_request", "'until' must be after 'since'");
    return false;
}

/* GET /v1/stats[?since=T][&until=T]: the window, RFC 3339 times. */
void lr_route_stats(const lr_req *req, lr_reply *rep) {
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = LR_CMD_STATS;
    cmd.since = cmd.until = LR_TIME_NONE;
    for (size_t i = 0; i < req->nargs; i++) {
        const char *k = req->args[i].name, *v = req->args[i].value;
        if (strcmp(k, "since") != 0 && strcmp(k, "until") != 0) {
            lr_reply_error(rep, 400, "invalid_request", "unknown query argument '%.64s' (since, until)",
                           k);
            return;
        }
        if (!time_arg(k, v, &cmd.since, &cmd.until, rep)) return;
    }
    if (window_ok(cmd.since, cmd.until, rep)) call(req, &cmd, rep, NULL);
}
void lr_route_metrics(const lr_req *req, lr_reply *rep) { simple(req, rep, LR_CMD_METRICS); }

/* Whether query value V is 1 to MAX bytes of UTF-8. */
static bool text_ok(const char *v, size_t max) {
    size_t n = strlen(v);
    return n > 0 && n <= max && lr_utf8_valid(v, n);
}

/* A query value that names something: non-empty, at most 256 bytes, UTF-8. */
static bool name_ok(const char *v) {
    return text_ok(v, 256);
}

/* Reads query value V of `limit` into *OUT: digits alone (no sign, no
 * space), 1 to 1000; false after a 400. */
static bool limit_arg(const char *v, int *out, lr_reply *rep) {
    size_t n = strlen(v);
    long x = n && n <= 4 && strspn(v, "0123456789") == n ? strtol(v, NULL, 10) : 0;
    if (x < 1 || x > 1000) {
        lr_reply_error(rep, 400, "invalid_request", "'limit' must be an integer from 1 to 1000");
        return false;
    }
    *out = (int)x;
    return true;
}

/* The 400 of query argument K whose value V is not 1 to MAX bytes of
 * UTF-8, saying which it is not. A %00 reaches here as a byte that is
 * never UTF-8 (http.c's unescape()). */
static void bad_text(lr_reply *rep, const char *k, const char *v, size_t max) {
    size_t n = strlen(v);
    if (n == 0)
        lr_reply_error(rep, 400, "invalid_request", "'%s' is empty", k);
    else if (n > max)
        lr_reply_error(rep, 400, "invalid_request", "'%s' is over %zu bytes", k, max);
    else if (memchr(v, 0xFF, n))
        lr_reply_error(rep, 400, "invalid_request", "'%s' has a %%00 or a byte that is never UTF-8", k);
    else
        lr_reply_error(rep, 400, "invalid_request", "'%s' is not valid UTF-8", k);
}

void lr_route_leads_list(const lr_req *req, lr_reply *rep) {
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = LR_CMD_LIST_LEADS;
    lr_lead_query *q = &cmd.query;
    q->since = q->until = LR_TIME_NONE;
    q->limit = 100;
    const char *me = agent_of(req);
    for (size_t i = 0; i < req->nargs; i++) {
        const char *k = req->args[i].name, *v = req->args[i].value;
        if (strcmp(k, "agent") == 0 || strcmp(k, "source") == 0 || strcmp(k, "cursor") == 0) {
            /* a lead's source is any string (64 KiB at most), not a name */
            size_t max = k[0] == 's' ? 65536 : 256;
            if (!text_ok(v, max)) {
                bad_text(rep, k, v, max);
                return;
            }
            if (k[0] == 'a' && me && strcmp(v, me) != 0) {      /* each one given */
                lr_reply_error(rep, 403, "forbidden", "this key sees only the leads of agent '%s'", me);
                return;
            }
            *(k[0] == 'a' ? &q->agent : k[0] == 's' ? &q->source : &q->cursor) = v;
        } else if (strcmp(k, "status") == 0) {
            if (lr_name_lookup(lr_lead_state_names, LR_LEAD__COUNT, v) < 0) {
                lr_reply_error(rep, 400, "invalid_request", "'status' must be one of new, assigned, "
                               "offered, waiting, held, unrouted, closed");
                return;
            }
            q->state = v;
        } else if (strcmp(k, "since") == 0 || strcmp(k, "until") == 0) {
            if (!time_arg(k, v, &q->since, &q->until, rep)) return;
        } else if (strcmp(k, "limit") == 0) {
            if (!limit_arg(v, &q->limit, rep)) return;
        } else {
            lr_reply_error(rep, 400, "invalid_request",
                           "unknown query argument '%.64s' (agent, status, source, since, until, "
                           "limit, cursor)", k);
            return;
        }
    }
    if (!window_ok(q->since, q->until, rep)) return;
    if (me) q->agent = me;
    call(req, &cmd, rep, NULL);
}

void lr_route_deliveries_list(const lr_req *req, lr_reply *rep) {
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = LR_CMD_LIST_DELIVERIES;
    cmd.deliveries.limit = 100;
    for (size_t i = 0; i < req->nargs; i++) {
        const char *k = req->args[i].name, *v = req->args[i].value;
        if (strcmp(k, "channel") == 0 || strcmp(k, "cursor") == 0) {
            if (!name_ok(v)) {
                bad_text(rep, k, v, 256);
                return;
            }
            *(k[0] == 'c' && k[1] == 'h' ? &cmd.deliveries.channel : &cmd.deliveries.cursor) = v;
        } else if (strcmp(k, "status") == 0) {
            if (lr_name_lookup(lr_delivery_status_names, LR_DLV__COUNT, v) < 0) {
                lr_reply_error(rep, 400, "invalid_request",
                               "'status' must be one of pending, retrying, delivered, dead, cancelled");
                return;
            }
            cmd.deliveries.status = v;
        } else if (strcmp(k, "limit") == 0) {
            if (!limit_arg(v, &cmd.deliveries.limit, rep)) return;
        } else {
            lr_reply_error(rep, 400, "invalid_request",
                           "unknown query argument '%.64s' (status, channel, limit, cursor)", k);
            return;
        }
    }
    call(req, &cmd, rep, NULL);
}

void lr_route_delivery_get(const lr_req *req, lr_reply *rep) {
    simple(req, rep, LR_CMD_GET_DELIVERY);
}

/* The body is optional and says nothing; when there is one it must be a
 * JSON object, as on every other POST. */
void lr_route_delivery_retry(const lr_req *req, lr_reply *rep) {
    if (req->len > 0) {
        json_t *root = decode_body(req, rep);
        if (!root) return;
        bool object = json_is_object(root);
        json_decref(root);
        if (!object) {
            lr_reply_error(rep, 400, "invalid_request", "the body, when given, must be a JSON object");
            return;
        }
    }
    simple(req, rep, LR_CMD_RETRY_DELIVERY);
}

void lr_route_preview(const lr_req *req, lr_reply *rep) {
    json_t *root = decode_body(req, rep);
    if (!root) return;
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = LR_CMD_PREVIEW;
    if (!json_is_object(root))
        lr_reply_error(rep, 400, "invalid_json", "the body must be one lead object");
    else if (make_items(req, root, true, &cmd, rep)) {
        json_decref(root);
        call(req, &cmd, rep, NULL);
        return;
    }
    json_decref(root);
    lr_cmd_release(&cmd);
}

/* lr_config_warnings' callback: appends MSG to the JSON array in UD,
 * named as the errors are ("config:LINE:COL: warning: ..."). */
static void put_warning(const char *msg, void *ud) {
    lr_buf *b = ud;
    const char *pfx = "<string>:";
    if (strncmp(msg, pfx, strlen(pfx)) == 0) msg += strlen(pfx);
    char line[1200];
    snprintf(line, sizeof line, "config:%s", msg);
    lr_buf_putc(b, b->len ? ',' : '[');
    lr_json_put_string(b, line);
}

void lr_route_config_put(const lr_req *req, lr_reply *rep) {
    lr_config *cfg = NULL;
    lr_config_errors errs = { NULL, 0 };
    int rc = lr_config_load_string(req->body, req->len, "config", &cfg, &errs);
    if (rc == LR_ENOMEM) {
        lr_config_errors_release(&errs);
        lr_reply_error(rep, 500, "internal", "out of memory");
        return;
    }
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    if (rc != LR_OK) {
        /* refused, unless it is the config in use byte for byte (one an
         * earlier version accepted): the writer compares */
        if (errs.n)
            lr_reply_error_details(rep, 422, "invalid_config", "the config does not validate",
                                   errs.msgs, errs.n);
        else
            lr_reply_error(rep, 422, "invalid_config", "the config does not validate: %s",
                           lr_strerror(rc));
        lr_config_errors_release(&errs);
        /* the writer judges the variables it names first: whether one an
         * admin may not name is set is not the admin's to learn */
        lr_config_errors none = { NULL, 0 };
        if (lr_config_load_journaled(req->body, req->len, "config", &cmd.unchecked, &none) != LR_OK)
            cmd.unchecked = NULL;
        lr_config_errors_release(&none);
        cmd.refusal = lr_buf_detach(&rep->body, NULL);
        rep->status = 0;            /* the writer's answer, not this one */
        rep->content_type = NULL;
        if (!cmd.refusal) {
            lr_reply_error(rep, 500, "internal", "out of memory");
            return;
        }
    }
    lr_config_errors_release(&errs);
    if (cfg) {                      /* what `leadrouter check` warns of, in the answer */
        lr_buf w = LR_BUF_INIT;
        lr_config_warnings(cfg, put_warning, &w);
        if (w.len == 0) lr_buf_putc(&w, '[');
        lr_buf_putc(&w, ']');
        cmd.warnings = lr_buf_detach(&w, NULL);     /* NULL (no memory): "[]" */
    }
    cmd.type = LR_CMD_PUT_CONFIG;
    cmd.from_api = true;
    cmd.if_changed = true;          /* the config in use, byte for byte: nothing to do */
    cmd.config = cfg;
    cmd.config_text = req->body;
    cmd.config_len = req->len;
    call(req, &cmd, rep, NULL);
}

/* The thank-you URL configured for SOURCE, or NULL. */
static const char *redirect_for(const lr_http_opts *o, const char *source) {
    for (size_t i = 0; i < o->nredirects; i++)
        if (strcmp(o->redirects[i].source, source) == 0) return o->redirects[i].url;
    return NULL;
}

void lr_route_form_post(const lr_req *req, lr_reply *rep) {
    lr_form form = { NULL, 0 };
    char err[256];
    json_t *lead = NULL;
    char *text = NULL;
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = LR_CMD_LEADS;

    int rc = lr_form_decode(req->body, req->len, &form, err, sizeof err);
    if (rc == LR_OK) {
        char id[LR_FORM_ID_LEN + 1];
        lr_form_new_id(id);
        rc = lr_form_to_lead(&form, req->param, id, &lead, err, sizeof err);
    }
    if (rc == LR_EINVAL) {
        lr_reply_error(rep, 400, "invalid_form", "%s", err);
        goto out;
    }
    if (rc != LR_OK || !(text = json_dumps(lead, JSON_COMPACT | JSON_SORT_KEYS)) ||
        !(cmd.items = calloc(1, sizeof *cmd.items)))
        goto oom;
    cmd.nitems = 1;
    if (make_item(&cmd.items[0], lead, (slice){ text, strlen(text) }, true) != LR_OK) goto oom;
    if (cmd.items[0].err_status) {
        lr_reply_error(rep, 400, "invalid_form", "%s", cmd.items[0].err_msg);
        goto out;
    }
    if (!set_idem(req, &cmd, rep)) goto out;
    rep->redirect_2xx = redirect_for(req->opts, req->param);
    call(req, &cmd, rep, &text);
    goto out;
oom:
    lr_reply_error(rep, 500, "internal", "out of memory");
out:
    lr_cmd_release(&cmd);
    free(text);
    json_decref(lead);
    lr_form_release(&form);
}
