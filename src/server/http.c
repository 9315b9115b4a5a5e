/* http.c -- the libmicrohttpd daemon, the route table, and everything a
 * request goes through before its handler (see http.h).
 *
 * A request, as MHD's access handler sees it:
 *
 *   first call (headers)  -> begin(): route (404/405), path segment, key
 *                            (401), rate (429), role (403), content type
 *                            (415), Content-Length (413). An error found
 *                            here is the request's reply from then on.
 *   body calls            -> accumulate up to LR_HTTP_MAX_BODY (413 past
 *                            it), or discard when the reply is decided
 *   last call             -> the handler runs; a reply it decides is
 *                            queued at once; a command it leaves for the
 *                            service parks the connection (suspended) and
 *                            is submitted
 *   call after the resume -> (on_done() resumed it when the service was
 *                            done, on whatever thread) the reply is queued
 *
 * Threads: LR_HTTP_THREADS event loops (MHD's thread pool over poll()), each
 * serving its share of the connections; none of them ever waits for the
 * writer, so one thread answers many requests per wake-up instead of a
 * thread per connection sleeping and waking for each (on this project's
 * 2-vCPU machine the context switches cost more than the requests).
 *
 * An error decided on the first call is sent at the next call when no
 * body is on its way (the connection stays open), at once when the client
 * waits for "100 Continue" or the announced body is over DISCARD_MAX (MHD
 * then closes the connection); otherwise the body is read and dropped first, so the client is not reset
 * while it is still sending, which could cost it the answer (MHD 0.9.75
 * cannot queue a reply in the middle of an upload). A body that keeps coming past DISCARD_MAX (a chunked upload
 * with no end in sight) is cut off: the connection closes without a reply.
 *
 * Invariants: `inflight` counts requests whose first call has happened and
 * whose completion MHD has not yet notified; it is what lr_http_stop()
 * waits for. `parked` counts suspended connections: MHD must not stop
 * while there is one, and every one is resumed (the service answers every
 * command it was given). A connection counts from its suspension until MHD
 * hands it back to this file after the resumption (the handler called
 * again, or on_completed): MHD_resume_connection() only asks the event
 * loop to resume it, and MHD_stop_daemon() before the loop has done so
 * aborts the process ("called while we have suspended connections").
 * When lr_http_stop() has seen `parked` at 0 it sets `closed` under the
 * same lock, so no request parks after that: a request still being read
 * then (the drain timed out) is answered 503 at once.
 * A parked request's conn_req is written by
 * on_done() before MHD_resume_connection() and read by the MHD thread only
 * after it. Nothing else is shared between threads except the service and
 * the auth lookup, both thread-safe.
 */
#include "server/http.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "leadrouter/error.h"
#include "server/form.h"

#define DISCARD_MAX (8u * LR_HTTP_MAX_BODY)
#define LR_HTTP_THREADS 2           /* default: this many event loops (MHD's thread pool) */
#define LR_HTTP_CONN_MEMORY 20480   /* MHD's memory a connection: its request line and headers
                                       (more than LR_HTTP_MAX_HEAD: 431), the reply's header
                                       and its read buffer. MHD clears what was used after
                                       each request: MHD's default, 32 KiB, cost 2-4% of the
                                       server's CPU in that memset at 64 connections (perf),
                                       16 KiB ~1%, but left no room for the reply's header
                                       after ~15.8 KB of request headers */
#define PARAM_MAX 256
/* The request line and headers a request may have: what MHD kept of a
 * longer one in LR_HTTP_CONN_MEMORY could leave no room for the reply's
 * header, and a request was carried out (a lead committed) that its
 * client never heard of. Above it: 431, before anything runs. Counted as
 * MHD holds them: the raw bytes of the head, and a record of about
 * LR_HTTP_HEAD_RECORD bytes for each header and query argument (273
 * headers of 9 bytes filled the pool as much as 15 KB of one). */
#define LR_HTTP_MAX_HEAD 15000
#define LR_HTTP_HEAD_RECORD 64

/* Time from a request's head to its answer sent, per route (the route
 * table's order; one more for requests no route took: 404, 405, 431 and
 * the like), for GET /metrics (put_latency). */
#define LAT_ROUTES 32               /* at least NROUTES + 1 (checked below) */
static const double lat_bounds[] = { 0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064,
                                     0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192 };
#define LAT_BUCKETS (int)(sizeof lat_bounds / sizeof lat_bounds[0])

typedef struct latency {
    atomic_uint_fast64_t bucket[LAT_BUCKETS + 1];   /* the last: above every bound */
    atomic_uint_fast64_t sum_ns, count;
} latency;

struct lr_http {
    struct MHD_Daemon *d;
    lr_http_opts opts;
    uint16_t port;
    atomic_bool stopping;
    pthread_mutex_t mu;             /* guards inflight, parked and closed */
    pthread_cond_t idle;            /* signalled when inflight drops to 0 */
    long inflight;
    long parked;                    /* suspended, waiting for the service */
    bool closed;                    /* lr_http_stop is past waiting: no new parking */
    atomic_bool up;                 /* MHD_start_daemon returned a daemon */
    pthread_mutex_t log_mu;         /* guards the three below (log_mhd) */
    time_t log_minute;              /* when the current minute of messages began */
    unsigned long log_said, log_unsaid;
    latency lat[LAT_ROUTES];
};

/* ---- the route table ------------------------------------------------------------ */

enum body_kind { BODY_NONE, BODY_JSON, BODY_JSON_OPT, BODY_FORM, BODY_CONFIG };

#define ADMIN (1u << LR_ROLE_ADMIN)
#define INGEST (1u << LR_ROLE_INGEST)
#define AGENT (1u << LR_ROLE_AGENT)
#define PUBLIC 0u

typedef struct route {
    lr_method method;
    const char *pattern;            /* '*' is one non-empty segment: the param */
    unsigned roles;                 /* who may call it; PUBLIC: no key */
    bool agent_self;                /* agent keys: the param must be their agent */
    enum body_kind body;
    lr_route_fn fn;
} route;

static const route routes[] = {
    { LR_GET,  "/healthz",               PUBLIC,         false, BODY_NONE,     lr_route_healthz },
    { LR_GET,  "/metrics",               ADMIN,          false, BODY_NONE,     lr_route_metrics },
    { LR_POST, "/v1/leads",              ADMIN | INGEST, false, BODY_JSON,     lr_route_leads_post },
    { LR_GET,  "/v1/leads",              ADMIN | AGENT,  false, BODY_NONE,     lr_route_leads_list },
    { LR_GET,  "/v1/leads/*",            ADMIN | AGENT,  false, BODY_NONE,     lr_route_lead_get },
    { LR_POST, "/v1/leads/*/progress",   ADMIN | AGENT,  false, BODY_JSON,     lr_route_lead_progress },
    { LR_POST, "/v1/leads/*/claim",      ADMIN | AGENT,  false, BODY_JSON_OPT, lr_route_lead_claim },
    { LR_POST, "/v1/forms/*",            ADMIN | INGEST, false, BODY_FORM,     lr_route_form_post },
    { LR_POST, "/v1/events",             ADMIN | AGENT,  false, BODY_JSON,     lr_route_events_post },
    { LR_GET,  "/v1/agents",             ADMIN,          false, BODY_NONE,     lr_route_agents_list },
    { LR_GET,  "/v1/agents/*",           ADMIN | AGENT,  true,  BODY_NONE,     lr_route_agent_get },
    { LR_GET,  "/v1/agents/*/claimable", ADMIN | AGENT,  true,  BODY_NONE,     lr_route_agent_claimable },
    { LR_POST, "/v1/agents/*/next",      ADMIN | AGENT,  true,  BODY_JSON_OPT, lr_route_agent_next },
    { LR_POST, "/v1/agents/*/status",    ADMIN | AGENT,  true,  BODY_JSON,     lr_route_agent_status },
    { LR_GET,  "/v1/config",             ADMIN,          false, BODY_NONE,     lr_route_config_get },
    { LR_PUT,  "/v1/config",             ADMIN,          false, BODY_CONFIG,   lr_route_config_put },
    { LR_POST, "/v1/route/preview",      ADMIN,          false, BODY_JSON,     lr_route_preview },
    { LR_GET,  "/v1/stats",              ADMIN,          false, BODY_NONE,     lr_route_stats },
    { LR_GET,  "/v1/deliveries",         ADMIN,          false, BODY_NONE,     lr_route_deliveries_list },
    { LR_GET,  "/v1/deliveries/*",       ADMIN,          false, BODY_NONE,     lr_route_delivery_get },
    { LR_POST, "/v1/deliveries/*/retry", ADMIN,          false, BODY_JSON_OPT, lr_route_delivery_retry },
};
#define NROUTES (sizeof routes / sizeof routes[0])
_Static_assert(NROUTES + 1 <= LAT_ROUTES, "LAT_ROUTES: one per route and one more");

static const char *const method_names[] = { "GET, HEAD", "POST", "PUT" };   /* for Allow */
static const char *const verbs[] = { "GET", "POST", "PUT" };

/* What unescape() makes of "%2F" (a byte that is never UTF-8). */
#define ESCAPED_SLASH '\xFE'

/* S (at most N bytes) for a message: an escaped slash shown as %2F. */
static const char *shown(const char *s, size_t n, char *out, size_t outlen) {
    size_t w = 0;
    for (size_t i = 0; i < n && s[i] && w + 4 < outlen; i++) {
        if (s[i] == ESCAPED_SLASH) {
            memcpy(out + w, "%2F", 3);
            w += 3;
        } else {
            out[w++] = s[i];
        }
    }
    out[w] = '\0';
    return out;
}

/* Matches PATH against PATTERN; on a match sets *param / *plen to the
 * segment '*' stood for (NULL / 0 when the pattern has none). */
static bool match(const char *pattern, const char *path, const char **param, size_t *plen) {
    *param = NULL;
    *plen = 0;
    while (*pattern && *path) {
        if (*pattern == '*') {
            size_t n = strcspn(path, "/");
            if (n == 0) return false;
            *param = path;
            *plen = n;
            path += n;
            pattern++;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* ---- per request --------------------------------------------------------------- */

typedef struct conn_req {
    lr_http *h;
    struct MHD_Connection *conn;
    bool submitted;                 /* rep.pending went to the service */
    bool parked;                    /* counted in h->parked (see the top) */
    const route *rt;                /* NULL when the reply is an early error */
    char *param;                    /* owned copy of the path segment */
    lr_method method;
    lr_principal who;
    bool authed;
    lr_buf body;
    size_t received;                /* body bytes seen, kept or not */
    lr_reply rep;                   /* rep.status != 0: the reply is decided */
    char allow[64];
    int64_t start_ns;               /* monotonic: the first call (the head read) */
} conn_req;

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Counts R's time, head to answer sent, under its route. */
static void count_latency(lr_http *h, const conn_req *r) {
    latency *l = &h->lat[r->rt ? (size_t)(r->rt - routes) : NROUTES];
    int64_t ns = now_ns() - r->start_ns;
    double s = (double)ns / 1e9;
    int b = 0;
    while (b < LAT_BUCKETS && s > lat_bounds[b]) b++;
    atomic_fetch_add_explicit(&l->bucket[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&l->sum_ns, (uint_fast64_t)(ns > 0 ? ns : 0), memory_order_relaxed);
    atomic_fetch_add_explicit(&l->count, 1, memory_order_relaxed);
}

/* Appends leadrouter_http_request_seconds (a histogram per route that has
 * answered at least once) to OUT, GET /metrics's text. */
static int put_latency(lr_http *h, lr_buf *out) {
    int rc = lr_buf_puts(out, "# HELP leadrouter_http_request_seconds Time from a request's "
                              "head read to its answer sent, by route.\n"
                              "# TYPE leadrouter_http_request_seconds histogram\n");
    for (size_t i = 0; rc == LR_OK && i <= NROUTES; i++) {
        latency *l = &h->lat[i];
        uint64_t count = atomic_load_explicit(&l->count, memory_order_relaxed);
        if (!count) continue;
        char label[96];
        if (i < NROUTES) {
            /* the route's pattern, its '*' shown as the docs name it: {source}
             * for a form, {id} elsewhere */
            const char *m = verbs[routes[i].method], *p = routes[i].pattern, *star = strchr(p, '*');
            if (star)
                snprintf(label, sizeof label, "method=\"%s\",route=\"%.*s{%s}%s\"", m,
                         (int)(star - p), p, routes[i].body == BODY_FORM ? "source" : "id", star + 1);
            else
                snprintf(label, sizeof label, "method=\"%s\",route=\"%s\"", m, p);
        } else {
            snprintf(label, sizeof label, "method=\"any\",route=\"unrouted\"");
        }
        uint64_t cum = 0;
        for (int b = 0; rc == LR_OK && b < LAT_BUCKETS; b++) {
            cum += atomic_load_explicit(&l->bucket[b], memory_order_relaxed);
            rc = lr_buf_printf(out, "leadrouter_http_request_seconds_bucket{%s,le=\"%g\"} %llu\n",
                               label, lat_bounds[b], (unsigned long long)cum);
        }
        cum += atomic_load_explicit(&l->bucket[LAT_BUCKETS], memory_order_relaxed);
        if (rc == LR_OK)
            rc = lr_buf_printf(out, "leadrouter_http_request_seconds_bucket{%s,le=\"+Inf\"} %llu\n"
                                    "leadrouter_http_request_seconds_sum{%s} %.6f\n"
                                    "leadrouter_http_request_seconds_count{%s} %llu\n",
                               label, (unsigned long long)cum, label,
                               (double)atomic_load_explicit(&l->sum_ns, memory_order_relaxed) / 1e9,
                               label, (unsigned long long)cum);
    }
    return rc;
}

static lr_method method_of(const char *m) {
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) return LR_GET;
    if (strcmp(m, "POST") == 0) return LR_POST;
    if (strcmp(m, "PUT") == 0) return LR_PUT;
    return LR_METHOD_OTHER;
}

/* Lower-cases the media type of header CT (without parameters) into OUT.
 * Returns false when a charset other than UTF-8 is named. */
static bool media_type(const char *ct, char *out, size_t outlen) {
    size_t w = 0;
    const char *p = ct;
    while (*p == ' ' || *p == '\t') p++;
    for (; *p && *p != ';' && *p != ' ' && *p != '\t'; p++)
        if (w + 1 < outlen) out[w++] = (char)tolower((unsigned char)*p);
    out[w] = '\0';
    while ((p = strchr(p, ';'))) {
        p++;
        while (*p == ' ' || *p == '\t') p++;
        if (strncasecmp(p, "charset=", 8) == 0) {
            const char *v = p + 8;
            bool q = *v == '"';
            v += q;
            size_t n = strcspn(v, q ? "\"" : "; \t");
            if (!((n == 5 && strncasecmp(v, "utf-8", 5) == 0) ||
                  (n == 4 && strncasecmp(v, "utf8", 4) == 0)))
                return false;
        }
    }
    return true;
}

/* Whether media type MT is right for BODY. */
static bool type_fits(enum body_kind body, const char *mt) {
    switch (body) {
    case BODY_JSON:
    case BODY_JSON_OPT: return strcmp(mt, "application/json") == 0;
    case BODY_FORM: return strcmp(mt, "application/x-www-form-urlencoded") == 0;
    case BODY_CONFIG:
        return strcmp(mt, "application/json") == 0 || strcmp(mt, "application/yaml") == 0 ||
               strcmp(mt, "application/x-yaml") == 0 || strcmp(mt, "text/yaml") == 0 ||
               strcmp(mt, "text/x-yaml") == 0;
    case BODY_NONE: return true;
    }
    return false;
}

static const char *expected_types(enum body_kind body) {
    switch (body) {
    case BODY_FORM: return "application/x-www-form-urlencoded";
    case BODY_CONFIG: return "application/yaml, application/x-yaml, text/yaml, text/x-yaml or application/json";
    default: return "application/json";
    }
}

/* Finds the route for METHOD and URL into r->rt and r->param, or decides
 * the 404 / 405 reply. */
static void find_route(conn_req *r, const char *url) {
    const char *param = NULL;
    size_t plen = 0;
    bool methods[3] = { false, false, false };
    bool any = false;
    for (size_t i = 0; i < NROUTES; i++) {
        const char *p;
        size_t n;
        if (!match(routes[i].pattern, url, &p, &n)) continue;
        any = true;
        methods[routes[i].method] = true;
        if (routes[i].method == r->method && !r->rt) {
            r->rt = &routes[i];
            param = p;
            plen = n;
        }
    }
    char show[256];
    if (!any) {
        lr_reply_error(&r->rep, 404, "not_found", "no route for %s",
                       shown(url, 200, show, sizeof show));
        return;
    }
    if (!r->rt) {
        size_t w = 0;
        for (int m = 0; m < 3; m++)
            if (methods[m])
                w += (size_t)snprintf(r->allow + w, sizeof r->allow - w, "%s%s", w ? ", " : "",
                                      method_names[m]);
        lr_reply_error(&r->rep, 405, "method_not_allowed", "%s does not take this method (allowed: %s)",
                       shown(url, 200, show, sizeof show), r->allow);
        r->rep.allow = r->allow;
        return;
    }
    if (!param) return;
    if (!(r->param = strndup(param, plen))) {
        lr_reply_error(&r->rep, 500, "internal", "out of memory");
        r->rt = NULL;
        return;
    }
    for (char *p = r->param; (p = strchr(p, ESCAPED_SLASH)) != NULL; p++) *p = '/';
    const char *what = r->rt->body == BODY_FORM ? "the source" : "the id";   /* as the docs name it */
    if (plen > PARAM_MAX || !lr_utf8_valid(r->param, plen)) {
        /* a %00 is here a byte that is never UTF-8 (unescape()) */
        if (plen > PARAM_MAX)
            lr_reply_error(&r->rep, 400, "invalid_request", "%s in the path is over %d bytes", what,
                           PARAM_MAX);
        else if (memchr(r->param, 0xFF, plen))
            lr_reply_error(&r->rep, 400, "invalid_request",
                           "%s in the path has a %%00 or a byte that is never UTF-8", what);
        else
            lr_reply_error(&r->rep, 400, "invalid_request", "%s in the path is not valid UTF-8", what);
        r->rt = NULL;
        return;
    }
    for (size_t i = 0; i < plen; i++) {
        if ((unsigned char)r->param[i] < 0x20 || r->param[i] == 0x7F) {
            lr_reply_error(&r->rep, 400, "invalid_request", "%s in the path has a control character", what);
            r->rt = NULL;
            return;
        }
    }
}

/* Authenticates, rate-limits and checks the role of the request; decides
 * the error reply when one fails. */
/* The 429 of an address that sent too many keys the server does not know
 * (lr_auth_check(), lr_auth_unknown()). */
static void refuse_address(conn_req *r, int retry) {
    lr_reply_error(&r->rep, 429, "rate_limited",
                   "too many requests with a missing or unknown API key; retry in %d s", retry);
    r->rep.retry_after = retry;
}

/* How many headers named NAME a request has (names compare without case). */
typedef struct header_count {
    const char *name;
    int n;
} header_count;

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value) {
    header_count *hc = cls;
    (void)kind;
    (void)value;
    if (strcasecmp(key, hc->name) == 0) hc->n++;
    return MHD_YES;
}

static void check_key(lr_http *h, struct MHD_Connection *c, conn_req *r, const char *url) {
    const route *rt = r->rt;
    if (rt->roles == PUBLIC) return;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *from = ci ? ci->client_addr : NULL;
    int retry = 0;
    const char *authz = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!authz) {
        if (lr_auth_unknown(h->opts.auth, from, now_ms(), &retry) == LR_ESTATE) {
            refuse_address(r, retry);
            return;
        }
        lr_reply_error(&r->rep, 401, "unauthorized",
                       "an API key is required: Authorization: Bearer KEY");
        r->rep.www_authenticate = true;
        return;
    }
    header_count hc = { MHD_HTTP_HEADER_AUTHORIZATION, 0 };     /* which one would be meant? */
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &hc);
    int nauthz = hc.n;
    while (*authz == ' ') authz++;
    const char *key = authz + 6;
    if (nauthz > 1 || strncasecmp(authz, "Bearer", 6) != 0 || (*key != ' ' && *key != '\t')) {
        if (lr_auth_unknown(h->opts.auth, from, now_ms(), &retry) == LR_ESTATE) {
            refuse_address(r, retry);
            return;
        }
        if (nauthz > 1)
            lr_reply_error(&r->rep, 401, "unauthorized",
                           "Authorization is given %d times: send one, Bearer KEY", nauthz);
        else
            lr_reply_error(&r->rep, 401, "unauthorized", "the Authorization header must be: Bearer KEY");
        r->rep.www_authenticate = true;
        return;
    }
    while (*key == ' ' || *key == '\t') key++;
    size_t klen = strlen(key);
    while (klen && (key[klen - 1] == ' ' || key[klen - 1] == '\t')) klen--;
    int rc = lr_auth_check(h->opts.auth, key, klen, from, now_ms(), &r->who, &retry);
    if (rc == LR_ESTATE) {
        refuse_address(r, retry);
        return;
    }
    if (rc == LR_ENOENT) {
        lr_reply_error(&r->rep, 401, "unauthorized", "the API key is not valid");
        r->rep.www_authenticate = true;
        return;
    }
    if (rc == LR_ERANGE) {
        lr_reply_error(&r->rep, 429, "rate_limited",
                       "key %s is over its rate limit; retry in %d s", r->who.key_id, retry);
        r->rep.retry_after = retry;
        return;
    }
    if (rc != LR_OK) {
        lr_reply_error(&r->rep, 500, "internal", "the key store failed: %s", lr_strerror(rc));
        return;
    }
    r->authed = true;
    if (!(rt->roles & (1u << r->who.role))) {
        char show[256];
        lr_reply_error(&r->rep, 403, "forbidden", "an %s key may not call %s %s",
                       lr_role_names[r->who.role], verbs[rt->method],
                       shown(url, 200, show, sizeof show));
        return;
    }
    if (r->who.role == LR_ROLE_AGENT && rt->agent_self && strcmp(r->param, r->who.agent) != 0)
        lr_reply_error(&r->rep, 403, "forbidden", "this key acts only for agent '%s'", r->who.agent);
}

/* MHD_KeyValueIterator: adds what MHD holds for a header or query
 * argument to *(size_t *)CLS: its record, and its name and value (counted
 * in the raw head too when MHD can say how long that is: an estimate of
 * it otherwise, as parsed). */
static enum MHD_Result count_head(void *cls, enum MHD_ValueKind kind, const char *key,
                                  const char *value) {
    (void)kind;
    size_t *c = cls;
    c[0] += LR_HTTP_HEAD_RECORD;
    c[1] += (key ? strlen(key) : 0) + (value ? strlen(value) : 0) + 4;
    return MHD_YES;
}

/* MHD_KeyValueIterator: stops at a Content-Encoding header (there may be
 * several) other than identity, into *(const char **)CLS. */
static enum MHD_Result find_encoding(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value) {
    (void)kind;
    if (!key || strcasecmp(key, MHD_HTTP_HEADER_CONTENT_ENCODING) != 0) return MHD_YES;
    const char *v = value ? value : "";
    while (*v == ' ' || *v == '\t') v++;
    size_t n = strlen(v);
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t')) n--;
    if (n == 8 && strncasecmp(v, "identity", 8) == 0) return MHD_YES;
    *(const char **)cls = value ? value : "";
    return MHD_NO;
}

/* What begin() reads of the headers' names in one walk: whether one is
 * not an HTTP token (a space before its colon, a folded line, which
 * libmicrohttpd 0.9.75 keeps under a name no check would match) and how
 * many Content-Lengths and Transfer-Encodings there are. */
typedef struct head_names {
    bool bad;
    int ncl, nte;
} head_names;

static enum MHD_Result scan_name(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value) {
    head_names *hn = cls;
    (void)kind;
    (void)value;                    /* read only with libmicrohttpd 0.9.75, below */
    if (!*key || key[strspn(key, "!#$%&'*+-.^_`|~0123456789"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")])
        hn->bad = true;
#if MHD_VERSION == 0x00097500
    /* 0.9.75 reads a header in place: its value follows its name, the
     * colon (now a NUL) and the blanks after it. A line folded onto the
     * one before (obsolete, RFC 9112 5.2) is joined to the name instead,
     * which may then spell any header at all (`Content-Lengt: 34` then
     * ` H` is a Content-Length of 34): a value anywhere else is refused.
     * Only the bytes between the name and its value are read, and only
     * when the value comes a few bytes after the name, in one buffer. */
    else if (value) {
        const char *p = key + strlen(key) + 1;
        if (value < p || value - p > 256) {
            hn->bad = true;
        } else {
            for (; p < value; p++)
                if (*p != ' ' && *p != '\t') hn->bad = true;
        }
    }
#endif
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        hn->ncl++;
    else if (strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0)
        hn->nte++;
    return MHD_YES;
}

/* A header's value V as a message may quote it in OUT (N bytes): its bytes
 * may be anything, so printable ASCII is shown and the rest as '?'. */
static const char *printable(const char *v, char *out, size_t n) {
    size_t i = 0;
    for (; v[i] && i < n - 1; i++) out[i] = v[i] >= 0x20 && v[i] < 0x7f ? v[i] : '?';
    out[i] = '\0';
    return out;
}

/* The first call: everything that the headers decide. Returns true when
 * the decided reply should go out now, before any body (MHD then closes
 * the connection). A request without a body has its reply sent at the
 * next call, when MHD has the whole request: the connection stays open. */
static bool begin(lr_http *h, struct MHD_Connection *c, const char *url, const char *method,
                  const char *version, conn_req *r) {
    r->method = method_of(method);
    size_t counts[2] = { 0, strlen(method) + strlen(url) + 16 };   /* records, parsed bytes */
    MHD_get_connection_values(c, MHD_HEADER_KIND | MHD_GET_ARGUMENT_KIND, count_head, counts);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    size_t raw = ci && ci->header_size > 0 ? ci->header_size : counts[1];
    size_t head = raw + counts[0];
    /* Two Content-Lengths leave where this request ends, and the next one
     * begins, to a guess (a proxy in front may have guessed otherwise:
     * request smuggling): refused, and the connection closed (RFC 9112,
     * 6.3), before a route or a key is looked at. A Content-Length beside a
     * Transfer-Encoding is read as the latter says, and the connection
     * closes after the answer (RFC 9112, 6.1). */
    head_names hn = { false, 0, 0 };
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_name, &hn);
    if (hn.ncl > 1 || hn.nte > 1 || hn.bad) {
        /* a name that is no token may be a length or a coding a proxy in
         * front read (RFC 9112, 5.1 and 5.2) */
        if (hn.bad)
            lr_reply_error(&r->rep, 400, "invalid_request",
                           "a header is folded onto a next line, or its name is not a token (a "
                           "space or tab before its colon): send each header on one line");
        else
            lr_reply_error(&r->rep, 400, "invalid_request", "%s is given %d times: send one",
                           hn.ncl > 1 ? "Content-Length" : "Transfer-Encoding",
                           hn.ncl > 1 ? hn.ncl : hn.nte);
        r->rep.close = true;
        return true;
    }
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    if (te && strcasecmp(te, "chunked") != 0) {
        /* no coding but chunked is read here (MHD would wait for a body
         * it cannot frame): 501, and the connection closed (RFC 9112, 6.1) */
        char show[41];
        lr_reply_error(&r->rep, 501, "not_implemented",
                       "Transfer-Encoding '%s' is not supported: send the body as it is, or chunked",
                       printable(te, show, sizeof show));
        r->rep.close = true;
        return true;
    }
    /* a length beside a coding, or a coding in HTTP/1.0: framing a proxy
     * may have read otherwise, so the connection ends with this answer */
    if (te && (hn.ncl || (version && strcmp(version, MHD_HTTP_VERSION_1_0) == 0)))
        r->rep.close = true;
    if (head > LR_HTTP_MAX_HEAD)
        lr_reply_error(&r->rep, 431, "headers_too_large",
                       "the request line and headers are about %zu bytes; at most %d", head,
                       LR_HTTP_MAX_HEAD);
    else
        find_route(r, url);
    if (!r->rep.status) check_key(h, c, r, url);
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *ex = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    /* beside a coding, the length says nothing: the chunks do */
    unsigned long long announced = cl && !te ? strtoull(cl, NULL, 10) : 0;
    bool body_coming = announced > 0 || te;
    /* an optional body that is not sent has no type to check */
    if (!r->rep.status && r->rt->body != BODY_NONE && (r->rt->body != BODY_JSON_OPT || body_coming)) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        char mt[96];
        bool utf8 = ct && media_type(ct, mt, sizeof mt);
        if (ct && (!utf8 || !type_fits(r->rt->body, mt)))
            lr_reply_error(&r->rep, 415, "unsupported_media_type", "Content-Type must be %s%s",
                           expected_types(r->rt->body), utf8 ? "" : ", with no charset but UTF-8");
    }
    const char *ce = NULL;
    if (!r->rep.status && r->rt->body != BODY_NONE)
        MHD_get_connection_values(c, MHD_HEADER_KIND, find_encoding, &ce);
    if (ce) {
        char show[41];
        lr_reply_error(&r->rep, 415, "unsupported_media_type",
                       "Content-Encoding '%s' is not supported: send the body as it is (identity)",
                       printable(ce, show, sizeof show));
    }
    if (!r->rep.status && announced > LR_HTTP_MAX_BODY)
        lr_reply_error(&r->rep, 413, "payload_too_large", "the body is %llu bytes; at most %u",
                       announced, LR_HTTP_MAX_BODY);
    if (!r->rep.status && r->rt->body != BODY_NONE && announced > 0 &&
        lr_buf_reserve(&r->body, (size_t)announced) != LR_OK)
        lr_reply_error(&r->rep, 500, "internal", "out of memory");
    if (!r->rep.status) return false;
    return body_coming && (announced > DISCARD_MAX || (ex && strcasecmp(ex, "100-continue") == 0));
}

/* Collects the query arguments into REQ (at most LR_HTTP_MAX_ARGS). An
 * escaped slash becomes '/' again, in the bytes unescape() rewrote in
 * place (MHD's own buffer, const to us only in this callback's type). */
static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value) {
    lr_req *req = cls;
    (void)kind;
    if (req->nargs == LR_HTTP_MAX_ARGS) {
        req->nargs++;               /* marks the overflow */
        return MHD_NO;
    }
    for (char *p = (char *)key; (p = strchr(p, ESCAPED_SLASH)) != NULL; p++) *p = '/';
    for (char *p = (char *)value; value && (p = strchr(p, ESCAPED_SLASH)) != NULL; p++) *p = '/';
    req->args[req->nargs].name = key;
    req->args[req->nargs].value = value ? value : "";
    req->nargs++;
    return MHD_YES;
}

/* The last call: runs the handler. */
static void dispatch(lr_http *h, struct MHD_Connection *c, const char *url, conn_req *r) {
    const route *rt = r->rt;
    lr_req req;
    memset(&req, 0, sizeof req);
    char mt[96] = "";
    if (rt->body != BODY_NONE && r->body.len > 0) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct) {
            lr_reply_error(&r->rep, 415, "unsupported_media_type", "Content-Type must be %s",
                           expected_types(rt->body));
            return;
        }
        media_type(ct, mt, sizeof mt);
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &req);
    if (req.nargs > LR_HTTP_MAX_ARGS) {
        lr_reply_error(&r->rep, 400, "invalid_request", "at most %d query arguments", LR_HTTP_MAX_ARGS);
        return;
    }
    req.method = r->method;
    req.path = url;
    req.param = r->param;
    req.content_type = mt;
    req.body = rt->body != BODY_NONE && r->body.data ? r->body.data : "";
    req.len = rt->body != BODY_NONE ? r->body.len : 0;
    req.idem_key = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Idempotency-Key");
    if (req.idem_key) {
        header_count hc = { "Idempotency-Key", 0 };
        MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &hc);
        req.idem_count = hc.n;
    }
    req.who = r->authed ? &r->who : NULL;
    req.opts = &h->opts;
    rt->fn(&req, &r->rep);
    /* a command handed to the service has its reply made by lr_route_finish */
    if (!r->rep.status && !r->rep.pending) lr_reply_error(&r->rep, 500, "internal", "no reply");
}

/* Queues R's reply on C. */
static enum MHD_Result send_reply(lr_http *h, struct MHD_Connection *c, conn_req *r) {
    lr_reply *rep = &r->rep;
    size_t len = 0;
    char *data = lr_buf_detach(&rep->body, &len);
    struct MHD_Response *resp = data
        ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE)
        : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!resp) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            rep->content_type ? rep->content_type : "application/json");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (rep->location) MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, rep->location);
    if (rep->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rep->allow);
    if (rep->www_authenticate)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"leadrouter\"");
    if (rep->retry_after > 0) {
        char s[16];
        snprintf(s, sizeof s, "%d", rep->retry_after);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, s);
    }
    if (rep->close || atomic_load(&h->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rep->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* Whether the client of a parked request has hung up (a reader's thread,
 * before the read runs): its socket, which MHD leaves alone while the
 * connection is suspended, reads an end or a reset. Bytes waiting (a
 * pipelined request) or nothing yet: still there. An end may be a
 * half-close by a client that still reads (`nc -N`); it is taken for a
 * hang-up all the same, as nginx takes it while a request waits on its
 * upstream: clients that give up (a timeout, a closed tab) send just
 * that, and curl, browsers and HTTP libraries do not half-close. */
static bool client_gone(void *ud) {
    conn_req *r = ud;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!ci) return false;
    char b;
    ssize_t n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The service is done with a parked request's command (any thread). */
static void on_done(lr_cmd *cmd, void *ud) {
    conn_req *r = ud;
    struct MHD_Connection *c = r->conn;
    lr_route_finish(&r->rep, cmd);
    if (!r->rep.status) lr_reply_error(&r->rep, 500, "internal", "no reply");
    MHD_resume_connection(c);       /* R may be freed from here on */
}

/* MHD has a resumed connection back (its thread): it no longer counts. */
static void unpark(lr_http *h, conn_req *r) {
    if (!r->parked) return;
    r->parked = false;
    pthread_mutex_lock(&h->mu);
    if (--h->parked == 0) pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->mu);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    lr_http *h = cls;
    conn_req *r = *con_cls;
    if (!r) {
        if (!(r = calloc(1, sizeof *r))) return MHD_NO;
        r->h = h;
        r->start_ns = now_ns();
        *con_cls = r;
        pthread_mutex_lock(&h->mu);
        h->inflight++;
        pthread_mutex_unlock(&h->mu);
        if (begin(h, c, url, method, version, r)) return send_reply(h, c, r);
        return MHD_YES;
    }
    unpark(h, r);
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        r->received += n;
        if (r->rep.status) return r->received > DISCARD_MAX ? MHD_NO : MHD_YES;
        if (r->rt->body == BODY_NONE) return MHD_YES;       /* a body nobody reads */
        if (r->body.len + n > LR_HTTP_MAX_BODY) {
            lr_buf_release(&r->body);
            lr_reply_error(&r->rep, 413, "payload_too_large", "the body is over %u bytes",
                           LR_HTTP_MAX_BODY);
        } else if (lr_buf_append(&r->body, upload_data, n) != LR_OK) {
            lr_buf_release(&r->body);
            lr_reply_error(&r->rep, 500, "internal", "out of memory");
        }
        return MHD_YES;
    }
    if (!r->rep.status && !r->submitted) {
        dispatch(h, c, url, r);
        if (r->rep.pending) {
            /* Parked until the service is done; then on_done() resumes it
             * and MHD calls this handler again, which sends the reply. */
            lr_cmd *cmd = r->rep.pending;
            r->rep.pending = NULL;
            r->submitted = true;
            pthread_mutex_lock(&h->mu);
            bool closed = h->closed;        /* lr_http_stop waits for no one more */
            if (!closed) h->parked++;
            pthread_mutex_unlock(&h->mu);
            if (closed) {
                lr_cmd_release(cmd);
                free(cmd);
                lr_reply_error(&r->rep, 503, "shutting_down", "the server is stopping");
                return send_reply(h, c, r);
            }
            r->parked = true;
            r->conn = c;
            cmd->gone_fn = client_gone;
            MHD_suspend_connection(c);
            lr_service_submit(h->opts.svc, cmd, on_done, r);
            return MHD_YES;
        }
    }
    /* GET /metrics: the service's text, then this file's own histograms
     * (written here, on an MHD thread, not on the writer's) */
    if (r->submitted && r->rep.status == 200 && r->rt && r->rt->fn == lr_route_metrics &&
        put_latency(h, &r->rep.body) != LR_OK)
        lr_reply_error(&r->rep, 500, "internal", "out of memory");
    return send_reply(h, c, r);
}

/* MHD: the request is over (answered, or the connection failed). */
static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    lr_http *h = cls;
    conn_req *r = *con_cls;
    (void)c;
    if (!r) return;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK) count_latency(h, r);
    unpark(h, r);
    lr_buf_release(&r->body);
    lr_buf_release(&r->rep.body);
    free(r->rep.hold);
    free(r->param);
    free(r);
    *con_cls = NULL;
    pthread_mutex_lock(&h->mu);
    if (--h->inflight == 0) pthread_cond_broadcast(&h->idle);
    pthread_mutex_unlock(&h->mu);
}

/* MHD's unescaping of the path and the query, except for two bytes that
 * are never UTF-8:
 *   - "%00" becomes 0xFF: a NUL would end the text there (the path and the
 *     arguments are read as C strings: /v1/leads/L1%00x would be L1), and
 *     every check of a path id or an argument refuses 0xFF;
 *   - "%2F" becomes ESCAPED_SLASH, so that a '/' inside an id (a lead
 *     "2026/11/0042" is /v1/leads/2026%2F11%2F0042) does not split the
 *     path: find_route() and collect_arg() make it '/' again. A raw
 *     or escaped ("%FE") ESCAPED_SLASH byte becomes 0xFF (refused, as
 *     before).
 * MHD calls this for the path and for each query argument alike. */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls;
    (void)c;
    for (char *p = s; (p = strchr(p, ESCAPED_SLASH)) != NULL; p++) *p = (char)0xFF;
    for (char *p = s; (p = strchr(p, '%')) != NULL; p++) {
        if ((p[1] == '0' && p[2] == '0') || ((p[1] == 'F' || p[1] == 'f') && (p[2] == 'E' || p[2] == 'e')))
            p[1] = p[2] = 'F';
        else if (p[1] == '2' && (p[2] == 'F' || p[2] == 'f'))
            p[1] = 'F', p[2] = 'E';
    }
    return MHD_http_unescape(s);
}

/* libmicrohttpd's own messages. Most say that a client went away before
 * its answer was sent, which any client can cause at will: LOG_PER_MINUTE
 * are written a minute, then how many were not (with the next one that
 * comes). None before the daemon is up: lr_http_start says why it could
 * not start (MHD would add "Failed to bind to port 0" for a port it was
 * given as an address). */
#define LOG_PER_MINUTE 20

static void log_mhd(void *cls, const char *fmt, va_list ap) {
    lr_http *h = cls;
    if (!atomic_load(&h->up)) return;
    time_t now = time(NULL);
    pthread_mutex_lock(&h->log_mu);
    if (now < h->log_minute || now >= h->log_minute + 60) {
        if (h->log_unsaid)
            fprintf(stderr, "leadrouter: http: %lu more messages of libmicrohttpd were not shown "
                    "(%d a minute at most)\n", h->log_unsaid, LOG_PER_MINUTE);
        h->log_minute = now;
        h->log_said = h->log_unsaid = 0;
    }
    if (h->log_said < LOG_PER_MINUTE) {
        h->log_said++;
        fputs("leadrouter: http: ", stderr);
        vfprintf(stderr, fmt, ap);
    } else {
        h->log_unsaid++;
    }
    pthread_mutex_unlock(&h->log_mu);
}

/* ---- errors --------------------------------------------------------------------- */

/* A JSON string of S, with invalid UTF-8 bytes replaced by U+FFFD. */
static json_t *lossy_string(const char *s) {
    size_t n = strlen(s);
    if (lr_utf8_valid(s, n)) return json_stringn(s, n);
    lr_buf b = LR_BUF_INIT;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !lr_utf8_valid(s + i, k)) k++;
        if (k <= 4 && i + k <= n) {
            lr_buf_append(&b, s + i, k);
            i += k;
        } else {
            lr_buf_puts(&b, "\xEF\xBF\xBD");
            i++;
        }
    }
    json_t *v = b.data && lr_utf8_valid(b.data, b.len) ? json_stringn(b.data, b.len) : json_string("");
    lr_buf_release(&b);
    return v;
}

/* Sets REP to the error object {"error":{"code","message"[,"details"]}}. */
static void set_error(lr_reply *rep, int status, const char *code, const char *msg,
                      char *const *details, size_t n) {
    lr_buf_release(&rep->body);
    rep->status = status;
    rep->content_type = "application/json";
    json_t *err = json_object();
    json_object_set_new(err, "code", json_string(code));
    json_object_set_new(err, "message", lossy_string(msg));
    if (details) {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++) json_array_append_new(arr, lossy_string(details[i]));
        json_object_set_new(err, "details", arr);
    }
    json_t *root = json_object();
    json_object_set_new(root, "error", err);
    char *s = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    if (s) {
        lr_buf_puts(&rep->body, s);
        free(s);
    }
    if (rep->body.len == 0) lr_buf_puts(&rep->body, "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}");
}

/* See http.h. */
void lr_reply_error(lr_reply *rep, int status, const char *code, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    set_error(rep, status, code, msg, NULL, 0);
}

/* See http.h. */
void lr_reply_error_details(lr_reply *rep, int status, const char *code, const char *message,
                            char *const *details, size_t n) {
    static char *const none[1] = { NULL };
    set_error(rep, status, code, message, details ? details : none, details ? n : 0);
}

/* ---- the daemon ------------------------------------------------------------------ */

/* Resolves HOST:PORT into ADDR. Returns LR_OK or LR_EINVAL with a message. */
static int resolve(const char *host, uint16_t port, struct sockaddr_storage *addr,
                   socklen_t *alen, char *err, size_t errlen) {
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    char ps[8];
    snprintf(ps, sizeof ps, "%u", (unsigned)port);
    bool any = !host || !*host || strcmp(host, "*") == 0;
    int g = getaddrinfo(any ? NULL : host, ps, &hints, &res);
    if (g != 0 || !res) {
        snprintf(err, errlen, "cannot resolve '%s': %s", any ? "*" : host, gai_strerror(g));
        return LR_EINVAL;
    }
    /* The wildcard resolves to IPv4 first on Linux: fine for "any". */
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *alen = res->ai_addrlen;
    freeaddrinfo(res);
    return LR_OK;
}

static void listen_error(const char *host, uint16_t port, int e, char *err, size_t errlen) {
    bool v6 = host && strchr(host, ':');     /* written as --listen takes it: [::1]:8080 */
    snprintf(err, errlen, "cannot listen on %s%s%s:%u: %s", v6 ? "[" : "", host && *host ? host : "*",
             v6 ? "]" : "", (unsigned)port, e ? strerror(e) : "libmicrohttpd refused to start");
}

/* See http.h. As libmicrohttpd binds: SO_REUSEADDR (a port left in
 * TIME_WAIT is taken again; one another socket listens on is refused),
 * an IPv6 address for IPv6 only. It listens at once: sockets that are
 * only bound may share a port under SO_REUSEADDR, so two starts could
 * both pass here and one fail later, its store changed. */
int lr_http_bind(const char *host, uint16_t port, int *fd, char *err, size_t errlen) {
    struct sockaddr_storage addr;
    socklen_t alen = 0;
    int rc = resolve(host, port, &addr, &alen, err, errlen);
    if (rc != LR_OK) return rc;
    int s = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int on = 1;
    if (s < 0 || setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
        (addr.ss_family == AF_INET6 && setsockopt(s, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof on) != 0) ||
        bind(s, (struct sockaddr *)&addr, alen) != 0 || listen(s, SOMAXCONN) != 0) {
        int e = errno;
        if (s >= 0) close(s);
        listen_error(host, port, e, err, errlen);
        return LR_EIO;
    }
    *fd = s;
    return LR_OK;
}

/* See http.h. */
int lr_http_start(const lr_http_opts *opts, lr_http **out, char *err, size_t errlen) {
    lr_http_opts o = *opts;
    if (o.fd < 0) {
        int rc = lr_http_bind(o.host, o.port, &o.fd, err, errlen);
        if (rc != LR_OK) return rc;
    }
    struct sockaddr_storage addr;
    socklen_t alen = sizeof addr;
    if (getsockname(o.fd, (struct sockaddr *)&addr, &alen) != 0) {
        listen_error(o.host, o.port, errno, err, errlen);
        close(o.fd);
        return LR_EIO;
    }
    lr_http *h = calloc(1, sizeof *h);
    if (!h) {
        close(o.fd);
        snprintf(err, errlen, "out of memory");
        return LR_ENOMEM;
    }
    h->opts = o;
    atomic_init(&h->stopping, false);
    atomic_init(&h->up, false);
    pthread_mutex_init(&h->mu, NULL);
    pthread_mutex_init(&h->log_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&h->idle, &ca);
    pthread_condattr_destroy(&ca);

    /* poll(), not epoll: MHD 0.9.75 watches epoll edge-triggered, and a
     * client whose last bytes and close came together (an unfinished
     * request, then gone) was seen only at the idle timeout, holding one
     * of the connection slots for 60 s; poll() sees the close at once, and
     * served 64 connections as fast (docs/benchmarks.md, "poll()") */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) flags |= MHD_USE_IPv6;
    h->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, h,
        MHD_OPTION_EXTERNAL_LOGGER, log_mhd, h,         /* first, or MHD warns */
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)o.fd,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)(opts->conn_limit ? opts->conn_limit : 1024),
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)(opts->timeout_s ? opts->timeout_s : 60),
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(opts->threads ? opts->threads : LR_HTTP_THREADS),
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)LR_HTTP_CONN_MEMORY,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_END);
    if (!h->d) {
        listen_error(o.host, o.port, errno, err, errlen);
        close(o.fd);
        pthread_cond_destroy(&h->idle);
        pthread_mutex_destroy(&h->mu);
        pthread_mutex_destroy(&h->log_mu);
        free(h);
        return LR_EIO;
    }
    atomic_store(&h->up, true);
    h->port = ntohs(addr.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&addr)->sin6_port
                                               : ((struct sockaddr_in *)&addr)->sin_port);
    *out = h;
    return LR_OK;
}

uint16_t lr_http_port(const lr_http *h) { return h->port; }

/* See http.h. */
void lr_http_stop(lr_http *h, int drain_ms) {
    if (!h) return;
    atomic_store(&h->stopping, true);
    MHD_socket lfd = MHD_quiesce_daemon(h->d);
    /* Connections that come now are refused rather than left waiting in
     * the kernel's queue for the whole drain. The socket stays open (an
     * MHD thread may still hold it) until MHD has stopped. */
    if (lfd != MHD_INVALID_SOCKET) shutdown(lfd, SHUT_RDWR);
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += drain_ms / 1000;
    deadline.tv_nsec += (long)(drain_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->mu);
    while (h->inflight > 0)
        if (pthread_cond_timedwait(&h->idle, &h->mu, &deadline) == ETIMEDOUT) break;
    /* MHD must not stop with a connection suspended: the service answers
     * every command it was given (503 once it stops), so wait for those;
     * reads still queued past the drain's time are answered 503 now. */
    if (h->parked > 0 && h->opts.svc) {
        pthread_mutex_unlock(&h->mu);
        lr_service_refuse_reads(h->opts.svc);
        pthread_mutex_lock(&h->mu);
    }
    while (h->parked > 0) {
        clock_gettime(CLOCK_MONOTONIC, &deadline);
        deadline.tv_sec += 1;
        pthread_cond_timedwait(&h->idle, &h->mu, &deadline);
    }
    /* A request still being read (the drain may have timed out) must not
     * park after this: it gets its 503 at once. */
    h->closed = true;
    pthread_mutex_unlock(&h->mu);
    MHD_stop_daemon(h->d);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    pthread_cond_destroy(&h->idle);
    pthread_mutex_destroy(&h->mu);
    pthread_mutex_destroy(&h->log_mu);
    free(h);
}
