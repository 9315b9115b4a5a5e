/* config_notify.c -- the delivery part of the config: `channels` (where
 * decisions are sent: webhooks and SMTP relays), `allow_private_targets`
 * (channels allowed to reach loopback and private addresses) and `notify`
 * (which decision actions go to which channel, at the top level for every
 * decision and per rule for that rule's decisions).
 *
 *   channels:
 *     crm:   {webhook: "https://crm.example.com/hooks/leads", secret_env: CRM_HOOK_SECRET}
 *     email: {smtp: "smtp://127.0.0.1:2525", from: "leads@example.com"}
 *   allow_private_targets: [email]
 *   notify:
 *     - {on: [assigned, reassigned], to: crm}
 *     - {on: [assigned, offered], to: email, recipient: agent}
 *
 * URLs are parsed with libcurl's URL API (the same parser that will send
 * to them). A secret_env variable must be set when the config is loaded,
 * except for configs replayed from the journal (cx->replay).
 */
#include "config_impl.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_SEC INT64_C(1000)
#define ADDRESS_MAX 254

static const char *const channel_keys[] = {
    "webhook", "smtp", "secret_env", "from", "public_url", "username_env", "password_env",
    "timeout", "concurrency", "backoff", "backoff_max", "retry_for", "why", "batch",
};
enum { CK_WEBHOOK, CK_SMTP, CK_SECRET, CK_FROM, CK_PUBLIC_URL, CK_USER, CK_PASS, CK_TIMEOUT,
       CK_CONCURRENCY, CK_BACKOFF, CK_BACKOFF_MAX, CK_RETRY_FOR, CK_WHY, CK_BATCH, CK__N };

/* Checks N, the name of an environment variable for KEY of channel CTX:
 * an identifier, set and not empty (unless the config is replayed from
 * the journal). Returns a copy of the name, or NULL after an error. */
static char *want_env(cfg_ctx *cx, const yn *n, const char *ctx, const char *key) {
    const char *s;
    char q[CX_DESC_SIZE];
    if (!want_str(cx, n, ctx, key, &s)) return NULL;
    cx_quote(s, n->len, q, sizeof q);
    if (!cx_ident(s, n->len))
        cx_error(cx, n->line, n->col, "%s: '%s' must name an environment variable, got '%s'",
                 ctx, key, q);
    else if (!cx->replay && (!getenv(s) || !getenv(s)[0]))
        cx_error(cx, n->line, n->col, "%s: the environment variable %s (%s) is not set or empty",
                 ctx, q, key);
    else
        return cx_strdup(cx, s, n->len);
    return NULL;
}

/* See config_impl.h: none of the characters that would let it escape an
 * SMTP command or a header (space, <, >, comma, quotes). */
bool cx_plain_address(const char *s, size_t len) {
    const char *at = memchr(s, '@', len);
    if (len > ADDRESS_MAX || !at || at == s || at == s + len - 1) return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || strchr("<>,;\"'()[]\\", c)) return false;
    }
    return memchr(at + 1, '@', (size_t)(s + len - at - 1)) == NULL;
}

/* Checks URL node N of channel CTX: parses with curl and wants one of the
 * two schemes A or B and a host. Returns the text (borrowed) or NULL. */
static const char *want_url(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
                            const char *a, const char *b) {
    const char *s;
    if (!want_str(cx, n, ctx, key, &s)) return NULL;
    char q[CX_DESC_SIZE];
    cx_quote(s, n->len, q, sizeof q);
    CURLU *u = curl_url();
    if (!u) { cx->oom = true; return NULL; }
    char *scheme = NULL, *host = NULL, *port = NULL;
    bool ok = strlen(s) == n->len && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host && host[0];
    bool scheme_ok = ok && (strcmp(scheme, a) == 0 || strcmp(scheme, b) == 0);
    /* libcurl reads "https:///h" as the host h, and takes port 0: typos
     * (a journaled config loads as it was accepted) */
    const char *sep = strstr(s, "://");
    bool host_ok = scheme_ok && (cx->replay || (sep && sep[3] != '/'));
    bool port_ok = !host_ok || cx->replay ||
                   curl_url_get(u, CURLUPART_PORT, &port, 0) != CURLUE_OK || strcmp(port, "0") != 0;
    if (!ok)
        cx_error(cx, n->line, n->col, "%s: '%s' is not a valid URL: '%s'", ctx, key, q);
    else if (!scheme_ok)
        cx_error(cx, n->line, n->col, "%s: '%s' must be a %s:// or %s:// URL, got '%s'", ctx,
                 key, a, b, q);
    else if (!host_ok)
        cx_error(cx, n->line, n->col, "%s: '%s' has no host after '//': '%s'", ctx, key, q);
    else if (!port_ok)
        cx_error(cx, n->line, n->col, "%s: '%s' has port 0, which nothing listens on: '%s'", ctx,
                 key, q);
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_url_cleanup(u);
    return ok && scheme_ok && host_ok && port_ok ? s : NULL;
}

/* Checks channel NAME (key node K, mapping M) into C. */
static void check_channel(cfg_ctx *cx, const yn *k, const yn *m, lr_channel_conf *c) {
    c->line = k->line;
    c->column = k->col;
    c->timeout_ms = 10 * MS_SEC;
    c->concurrency = 4;
    c->batch = 1;
    c->backoff_ms = 10 * MS_SEC;
    c->backoff_max_ms = 3600 * MS_SEC;
    c->retry_for_ms = CX_MS_PER_DAY;
    char q[CX_DESC_SIZE], ctx[CX_DESC_SIZE + 16];
    cx_quote(k->text, k->len, q, sizeof q);
    snprintf(ctx, sizeof ctx, "channel '%s'", q);
    if (!cx_ident(k->text, k->len))
        cx_error(cx, k->line, k->col, "%s: a channel name must be an identifier"
                 " (letters, digits, _; not starting with a digit)", ctx);
    else if (!(c->name = cx_strdup(cx, k->text, k->len)))
        return;
    if (!want_kind(cx, m, YN_MAP, ctx, NULL, "a mapping with webhook or smtp")) return;
    const yn *v[CK__N];
    char where[sizeof ctx + 8];
    snprintf(where, sizeof where, "in %s", ctx);
    cx_split(cx, m, channel_keys, CK__N, v, where);

    const char *s;
    if (v[CK_WEBHOOK] && v[CK_SMTP]) {
        cx_error(cx, v[CK_SMTP]->line, v[CK_SMTP]->col,
                 "%s: give either 'webhook' or 'smtp', not both", ctx);
        return;
    }
    if (!v[CK_WEBHOOK] && !v[CK_SMTP]) {
        cx_error(cx, m->line, m->col, "%s: missing 'webhook: URL' or 'smtp: URL'", ctx);
        return;
    }
    if (v[CK_WEBHOOK]) {
        c->kind = LR_CHANNEL_WEBHOOK;
        if ((s = want_url(cx, v[CK_WEBHOOK], ctx, "webhook", "https", "http")))
            c->url = cx_strdup(cx, s, v[CK_WEBHOOK]->len);
        for (int i = CK_FROM; i <= CK_PASS; i++)
            if (v[i]) cx_error(cx, v[i]->line, v[i]->col, "%s: '%s' applies only to smtp channels",
                               ctx, channel_keys[i]);
    } else {
        c->kind = LR_CHANNEL_SMTP;
        if ((s = want_url(cx, v[CK_SMTP], ctx, "smtp", "smtp", "smtps")))
            c->url = cx_strdup(cx, s, v[CK_SMTP]->len);
        if (v[CK_SECRET])
            cx_error(cx, v[CK_SECRET]->line, v[CK_SECRET]->col,
                     "%s: 'secret_env' applies only to webhook channels", ctx);
        if (!v[CK_FROM]) {
            cx_error(cx, m->line, m->col, "%s: missing required key 'from' (the sender address)",
                     ctx);
        } else if (want_str(cx, v[CK_FROM], ctx, "from", &s)) {
            if (cx_plain_address(s, v[CK_FROM]->len))
                c->from = cx_strdup(cx, s, v[CK_FROM]->len);
            else
                cx_mismatch(cx, v[CK_FROM], ctx, "from", "an address such as leads@example.com");
        }
        if (v[CK_PUBLIC_URL] && (s = want_url(cx, v[CK_PUBLIC_URL], ctx, "public_url", "https",
                                              "http")))
            c->public_url = cx_strdup(cx, s, v[CK_PUBLIC_URL]->len);
        if (v[CK_USER]) c->username_env = want_env(cx, v[CK_USER], ctx, "username_env");
        if (v[CK_PASS]) c->password_env = want_env(cx, v[CK_PASS], ctx, "password_env");
        if (!v[CK_USER] != !v[CK_PASS])
            cx_error(cx, m->line, m->col, "%s: give both 'username_env' and 'password_env', "
                     "or neither", ctx);
    }
    if (v[CK_SECRET] && c->kind == LR_CHANNEL_WEBHOOK)
        c->secret_env = want_env(cx, v[CK_SECRET], ctx, "secret_env");
    if (v[CK_WHY] && c->kind != LR_CHANNEL_WEBHOOK) {
        cx_error(cx, v[CK_WHY]->line, v[CK_WHY]->col,
                 "%s: 'why' applies only to webhook channels (an email explains in words)", ctx);
    } else if (v[CK_WHY] && want_str(cx, v[CK_WHY], ctx, "why", &s)) {
        if (v[CK_WHY]->len == 4 && memcmp(s, "full", 4) == 0)
            c->why_full = true;
        else if (v[CK_WHY]->len != 5 || memcmp(s, "brief", 5) != 0)
            cx_mismatch(cx, v[CK_WHY], ctx, "why", "brief or full");
    }
    if (v[CK_TIMEOUT])
        want_duration(cx, v[CK_TIMEOUT], ctx, "timeout", MS_SEC, 600 * MS_SEC, &c->timeout_ms);
    int64_t x;
    if (v[CK_CONCURRENCY] && want_int(cx, v[CK_CONCURRENCY], ctx, "concurrency", 1, 256,
                                      "an integer between 1 and 256", &x))
        c->concurrency = (uint32_t)x;
    if (v[CK_BATCH] && c->kind != LR_CHANNEL_WEBHOOK)
        cx_error(cx, v[CK_BATCH]->line, v[CK_BATCH]->col,
                 "%s: 'batch' applies only to webhook channels (an email is one message)", ctx);
    else if (v[CK_BATCH] && want_int(cx, v[CK_BATCH], ctx, "batch", 1, 1000,
                                     "an integer between 1 and 1000", &x))
        c->batch = (uint32_t)x;
    if (v[CK_BACKOFF])
        want_duration(cx, v[CK_BACKOFF], ctx, "backoff", MS_SEC, CX_MS_PER_DAY, &c->backoff_ms);
    if (v[CK_BACKOFF_MAX])
        want_duration(cx, v[CK_BACKOFF_MAX], ctx, "backoff_max", MS_SEC, CX_MS_PER_DAY,
                      &c->backoff_max_ms);
    if (v[CK_RETRY_FOR])
        want_duration(cx, v[CK_RETRY_FOR], ctx, "retry_for", MS_SEC, 30 * CX_MS_PER_DAY,
                      &c->retry_for_ms);
    if (c->backoff_max_ms < c->backoff_ms) c->backoff_max_ms = c->backoff_ms;
}

void cx_check_channels(cfg_ctx *cx, const yn *n, const yn *allow, lr_config *cfg,
                       name_ix *ix) {
    if (n && want_kind(cx, n, YN_MAP, "", "channels", "a mapping of channel names")) {
        if (n->n && !(cfg->channels = calloc(n->n, sizeof *cfg->channels))) {
            cx->oom = true;
            return;
        }
        cfg->nchannels = n->n;
        for (size_t i = 0; i < n->n && !cx->oom; i++)
            check_channel(cx, YN_KEY(n, i), YN_VAL(n, i), &cfg->channels[i]);
        if (!cx->oom)
            name_ix_build(cx, ix, (const char *const *)&cfg->channels[0].name,
                          sizeof *cfg->channels, cfg->nchannels);
    }
    if (!allow || cx->oom) return;
    if (!want_kind(cx, allow, YN_SEQ, "", "allow_private_targets", "a list of channel names"))
        return;
    for (size_t i = 0; i < allow->n; i++) {
        const yn *it = allow->items[i];
        const char *s;
        if (!want_item_str(cx, it, "'allow_private_targets'", "items", &s)) continue;
        long c = name_ix_find(ix, s);
        if (c >= 0) {
            cfg->channels[c].allow_private = true;
        } else {
            char q[CX_DESC_SIZE];
            cx_quote(s, it->len, q, sizeof q);
            cx_error(cx, it->line, it->col, "'allow_private_targets': unknown channel '%s'", q);
        }
    }
}

static const char *const notify_keys[] = { "on", "to", "recipient", "after" };

/* Actions that leave a lead waiting for something: the only ones a
 * delayed notice (`after`) makes sense for. */
#define WAITING_ACTIONS ((1u << LR_ACTION_QUEUED) | (1u << LR_ACTION_OFFERED) | \
                         (1u << LR_ACTION_HELD))

/* Checks the `on` list N of entry CTX into *bits. */
static void check_on(cfg_ctx *cx, const yn *n, const char *ctx, uint32_t *bits) {
    if (!want_kind(cx, n, YN_SEQ, ctx, "on", "a list of decision actions such as [assigned]"))
        return;
    if (n->n == 0) cx_error(cx, n->line, n->col, "%s: 'on' must not be empty", ctx);
    for (size_t i = 0; i < n->n; i++) {
        const yn *it = n->items[i];
        const char *s;
        if (!want_item_str(cx, it, ctx, "'on' items", &s)) continue;
        int a = lr_name_lookup(lr_action_names, LR_ACTION__COUNT, s);
        if (a >= 0) {
            *bits |= 1u << a;
            continue;
        }
        char q[CX_DESC_SIZE], known[512];
        size_t off = 0;
        for (int k = 0; k < LR_ACTION__COUNT && off < sizeof known; k++)
            off += (size_t)snprintf(known + off, sizeof known - off, "%s%s", k ? ", " : "",
                                    lr_action_names[k]);
        cx_quote(s, it->len, q, sizeof q);
        cx_error(cx, it->line, it->col, "%s: unknown action '%s' in 'on' (known: %s)", ctx, q,
                 known);
    }
}

/* Checks notify entry #I (mapping M) of the list in OWNER into E. */
static void check_notify_entry(cfg_ctx *cx, const yn *m, size_t i, const char *owner,
                               const name_ix *channels, const lr_config *cfg,
                               lr_notify_conf *e) {
    e->line = m->line;
    e->column = m->col;
    char ctx[CX_DESC_SIZE + 64];
    snprintf(ctx, sizeof ctx, "%s%snotify #%zu", owner, owner[0] ? ": " : "", i + 1);
    if (!want_kind(cx, m, YN_MAP, ctx, NULL, "a mapping with on and to")) return;
    const yn *v[4];
    char where[sizeof ctx + 8];
    snprintf(where, sizeof where, "in %s", ctx);
    cx_split(cx, m, notify_keys, 4, v, where);
    if (!v[0]) cx_error(cx, m->line, m->col, "%s: missing required key 'on'", ctx);
    else check_on(cx, v[0], ctx, &e->on);
    const char *s;
    char q[CX_DESC_SIZE];
    long c = -1;
    if (!v[1]) {
        cx_error(cx, m->line, m->col, "%s: missing required key 'to' (a channel name)", ctx);
    } else if (want_str(cx, v[1], ctx, "to", &s)) {
        c = name_ix_find(channels, s);
        cx_quote(s, v[1]->len, q, sizeof q);
        if (c < 0) cx_error(cx, v[1]->line, v[1]->col, "%s: unknown channel '%s'", ctx, q);
        else e->channel = (uint32_t)c;
    }
    bool smtp = c >= 0 && cfg->channels[c].kind == LR_CHANNEL_SMTP;
    if (v[2] && c >= 0 && !smtp) {
        cx_error(cx, v[2]->line, v[2]->col,
                 "%s: 'recipient' applies only to smtp channels (a webhook has its URL)", ctx);
    } else if (v[2] && want_str(cx, v[2], ctx, "recipient", &s)) {
        if (strcmp(s, "agent") == 0)
            e->to_agent = true;
        else if (cx_plain_address(s, v[2]->len))
            e->recipient = cx_strdup(cx, s, v[2]->len);
        else
            cx_mismatch(cx, v[2], ctx, "recipient",
                        "'agent' (the agent's email) or an address such as ops@example.com");
    } else if (!v[2] && smtp) {
        cx_error(cx, m->line, m->col, "%s: missing 'recipient' for an smtp channel"
                 " ('agent' or an address)", ctx);
    }
    if (v[3] && want_duration(cx, v[3], ctx, "after", MS_SEC, 30 * CX_MS_PER_DAY, &e->after_ms) &&
        (e->on & ~WAITING_ACTIONS))
        cx_error(cx, v[3]->line, v[3]->col, "%s: 'after' applies only to queued, offered and held"
                 " (a lead still waiting after that long)", ctx);
}

void cx_check_notify(cfg_ctx *cx, const yn *n, const char *ctx, const name_ix *channels,
                     const lr_config *cfg, lr_notify_conf **out, size_t *nout) {
    if (!want_kind(cx, n, YN_SEQ, ctx, "notify", "a list of {on, to} entries")) return;
    if (n->n == 0) return;
    lr_notify_conf *v = calloc(n->n, sizeof *v);
    if (!v) { cx->oom = true; return; }
    *out = v;
    *nout = n->n;
    for (size_t i = 0; i < n->n && !cx->oom; i++)
        check_notify_entry(cx, n->items[i], i, ctx, channels, cfg, &v[i]);
}

static void free_notify(lr_notify_conf *v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i].recipient);
    free(v);
}

void cx_free_notify(lr_config *cfg) {
    for (size_t i = 0; i < cfg->nchannels; i++) {
        lr_channel_conf *c = &cfg->channels[i];
        free(c->name);
        free(c->url);
        free(c->secret_env);
        free(c->username_env);
        free(c->password_env);
        free(c->from);
        free(c->public_url);
    }
    free(cfg->channels);
    free_notify(cfg->notify, cfg->nnotify);
    for (size_t i = 0; i < cfg->nrules; i++) free_notify(cfg->rules[i].notify, cfg->rules[i].nnotify);
}
