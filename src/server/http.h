/* http.h -- the HTTP front door of `leadrouter serve` (libmicrohttpd).
 *
 * http.c owns the daemon: a few event loops (MHD's thread pool over epoll)
 * whose handlers never block: a request that needs the service parks its
 * connection until the service is done with it. For each request it
 * matches the route table (404, 405 with Allow), authenticates the bearer
 * key (401), applies the key's rate limit (429) and role (403), checks the
 * content type (415) and accumulates the body up to LR_HTTP_MAX_BODY (413),
 * then hands an lr_req to the route's handler (routes.c), which answers
 * directly (validation errors) or leaves a command for the service
 * (everything else), answered when the service is done.
 *
 * Errors are always {"error":{"code":"...","message":"..."}}, application/json.
 *
 * Stopping: lr_http_stop() stops accepting (quiesce), waits for requests
 * already being handled to be answered (their commands commit, their
 * replies go out), then closes every connection.
 */
#ifndef LR_SERVER_HTTP_H
#define LR_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "leadrouter/buf.h"
#include "server/auth.h"
#include "server/service.h"

#define LR_HTTP_MAX_BODY (1024u * 1024u)    /* bytes of a request body */
#define LR_HTTP_MAX_ITEMS 1000              /* leads or events in an array body */
#define LR_HTTP_MAX_DEPTH 32                /* nesting of a JSON body */
#define LR_HTTP_MAX_ARGS 16                 /* query arguments kept */

/* A thank-you page: forms posted to SOURCE answer 303 to URL. */
typedef struct lr_form_redirect {
    const char *source;             /* borrowed */
    const char *url;                /* borrowed */
} lr_form_redirect;

typedef struct lr_http_opts {
    const char *host;               /* numeric address or name; NULL/""/"*": any */
    uint16_t port;                  /* 0: a free port (see lr_http_port()) */
    lr_service *svc;                /* borrowed; outlives the daemon */
    lr_auth *auth;                  /* borrowed; outlives the daemon */
    const lr_form_redirect *redirects;  /* borrowed */
    size_t nredirects;
    unsigned conn_limit;            /* 0: 1024 */
    unsigned timeout_s;             /* idle connection timeout; 0: 60 */
    unsigned threads;               /* HTTP threads (each serves its share of the
                                       connections); 0: LR_HTTP_THREADS */
    int fd;                         /* a socket of lr_http_bind() to serve (taken
                                       over), or -1: bind HOST:PORT now */
} lr_http_opts;

typedef struct lr_http lr_http;

/* Binds a socket to HOST:PORT and listens (connections wait in the
 * kernel's queue until lr_http_start serves them): a start that cannot
 * have its address fails before anything else is done. Returns LR_OK and
 * *fd, or LR_EIO/LR_EINVAL with a message. */
int lr_http_bind(const char *host, uint16_t port, int *fd, char *err, size_t errlen);

/* Binds (or takes OPTS->fd) and starts serving. OPTS is copied (what
 * it points to is borrowed). Returns LR_OK and *out, or LR_EIO/LR_EINVAL
 * with a message (OPTS->fd is closed then). */
int lr_http_start(const lr_http_opts *opts, lr_http **out, char *err, size_t errlen);

/* The port actually bound. */
uint16_t lr_http_port(const lr_http *h);

/* Stops accepting, waits up to DRAIN_MS for the requests in flight to be
 * answered, then stops the daemon and frees H. Accepts NULL. */
void lr_http_stop(lr_http *h, int drain_ms);

/* ---- between http.c and routes.c ------------------------------------------------ */

typedef enum lr_method { LR_GET = 0, LR_POST, LR_PUT, LR_METHOD_OTHER } lr_method;

typedef struct lr_http_arg {
    const char *name, *value;       /* borrowed from the connection */
} lr_http_arg;

/* A request that passed routing, authentication, rate limit, role and
 * content type checks. Everything is borrowed for the handler's call. */
typedef struct lr_req {
    lr_method method;
    const char *path;
    const char *param;              /* the {id} / {source} path segment, or NULL */
    const char *content_type;       /* media type, lower case, no parameters; "" if none */
    const char *body;               /* NUL-terminated; "" when none */
    size_t len;
    const char *idem_key;           /* Idempotency-Key, or NULL */
    int idem_count;                 /* how many Idempotency-Key headers came */
    lr_http_arg args[LR_HTTP_MAX_ARGS];
    size_t nargs;
    const lr_principal *who;        /* NULL on routes without a key */
    const lr_http_opts *opts;
} lr_req;

/* What goes back. The handler sets status and body (or calls
 * lr_reply_error()), or leaves a command for the service in `pending`:
 * http.c then parks the connection, submits the command, and when it is
 * done lr_route_finish() turns it into the reply. http.c sends the reply
 * and releases the body and `hold`. */
typedef struct lr_reply {
    int status;                     /* 0 until set */
    const char *content_type;       /* static; NULL: application/json */
    lr_buf body;
    const char *location;           /* 303: borrowed (a configured URL) */
    const char *allow;              /* 405: static */
    int retry_after;                /* 429: seconds */
    bool www_authenticate;          /* 401 */
    bool close;                     /* the connection closes after it (framing in doubt) */
    lr_cmd *pending;                /* owned: for the service, not yet submitted */
    const char *redirect_2xx;       /* borrowed: a 2xx answer becomes 303 to it */
    char *hold;                     /* owned: text the pending command borrows */
} lr_reply;

/* Moves the done command CMD's answer into REP and frees CMD (routes.c). */
void lr_route_finish(lr_reply *rep, lr_cmd *cmd);

/* Sets REP to STATUS with the error body {"error":{"code":CODE,
 * "message":MESSAGE}} (replacing any body). Invalid UTF-8 in the message
 * becomes U+FFFD. */
void lr_reply_error(lr_reply *rep, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As lr_reply_error(), with "details": the N strings of DETAILS. */
void lr_reply_error_details(lr_reply *rep, int status, const char *code, const char *message,
                            char *const *details, size_t n);

/* The route handlers (routes.c). Each fills REP. */
typedef void (*lr_route_fn)(const lr_req *req, lr_reply *rep);
void lr_route_healthz(const lr_req *req, lr_reply *rep);
void lr_route_leads_post(const lr_req *req, lr_reply *rep);
void lr_route_leads_list(const lr_req *req, lr_reply *rep);
void lr_route_lead_get(const lr_req *req, lr_reply *rep);
void lr_route_lead_progress(const lr_req *req, lr_reply *rep);
void lr_route_lead_claim(const lr_req *req, lr_reply *rep);
void lr_route_form_post(const lr_req *req, lr_reply *rep);
void lr_route_events_post(const lr_req *req, lr_reply *rep);
void lr_route_agents_list(const lr_req *req, lr_reply *rep);
void lr_route_agent_get(const lr_req *req, lr_reply *rep);
void lr_route_agent_claimable(const lr_req *req, lr_reply *rep);
void lr_route_agent_next(const lr_req *req, lr_reply *rep);
void lr_route_agent_status(const lr_req *req, lr_reply *rep);
void lr_route_config_get(const lr_req *req, lr_reply *rep);
void lr_route_config_put(const lr_req *req, lr_reply *rep);
void lr_route_preview(const lr_req *req, lr_reply *rep);
void lr_route_stats(const lr_req *req, lr_reply *rep);
void lr_route_metrics(const lr_req *req, lr_reply *rep);
void lr_route_deliveries_list(const lr_req *req, lr_reply *rep);
void lr_route_delivery_get(const lr_req *req, lr_reply *rep);
void lr_route_delivery_retry(const lr_req *req, lr_reply *rep);

#endif
