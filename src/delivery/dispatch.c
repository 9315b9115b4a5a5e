/* dispatch.c -- the dispatcher's thread (dispatch.h): picks due deliveries
 * from the store, sends them with libcurl's multi interface, classifies the
 * outcome and schedules retries.
 *
 * The loop: for each channel with a free slot, read its due deliveries
 * (skipping those in flight) -- retries and replays by due time, then the
 * fresh ones by id above the channel's cursor -- and start a transfer for
 * each; then
 * curl_multi_poll() until a transfer ends, the next retry is due, a poke
 * arrives (curl_multi_wakeup) or a second passes (so a replay made by
 * another process, `leadrouter deliveries retry`, is seen).
 *
 * Outcomes (docs/api.md, "Deliveries"):
 *   webhook 2xx                            delivered
 *   webhook 408, 429, 5xx; no answer,       retrying, after backoff * 2^(n-1)
 *   timeout, reset, refused connection      (at most backoff_max; jittered to
 *   SMTP 4xx or no answer                   50-100%; at least Retry-After)
 *   other 4xx, 3xx, past 599; SMTP 5xx;     dead at once, the answer kept
 *   a private target not allowed
 *   a retry that would fall after           dead
 *   window_from + retry_for
 */
#include "delivery/dispatch.h"
#include "delivery/message.h"
#include "delivery/target.h"
#include "leadrouter/error.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sched.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ANSWER_KEEP 200             /* bytes of a refusing answer kept in last_error */
#define REDIRECT_SHOWN 160          /* bytes of a 3xx's target in last_error */
#define ANSWER_READ_MAX (64 * 1024) /* bytes of an answer's body read at most: the
                                       transfer ends there (the status decides) */
#define POLL_MAX_MS 1000
#define TRIP_AFTER 5                /* failed attempts in a row that pause a channel */
#define DEFER_MS 5                  /* a free slot waits this long for others (start_due) */
#define SPARE_MAX 32                /* easy handles kept for the next transfers */
#define BATCH_BYTES_MAX ((size_t)1 << 20)   /* a batch's body, unless one delivery is more:
                                               as the 1 MiB bodies leadrouter itself takes,
                                               a receiver's usual limit */

/* A channel as the dispatcher keeps it: its own copies. */
typedef struct chan {
    char *name, *url, *secret, *from, *public_url, *username, *password;
    lr_channel_kind kind;
    int64_t timeout_ms, backoff_ms, backoff_max_ms, retry_for_ms;
    uint32_t concurrency;
    uint32_t batch;                 /* deliveries a request carries at most (webhook) */
    bool allow_private;
} chan;

typedef struct named {
    char *id, *name, *email;        /* an agent's, for emails: name and email may be NULL */
} named;

typedef struct chanset {
    chan *v;
    size_t n;
    named *names;                   /* agents with a display name, sorted by id */
    size_t nnames;
    atomic_int refs;                /* the dispatcher's + one per transfer using it
                                       (lr_dispatch_configure drops the dispatcher's
                                       on another thread) */
} chanset;

/* A delivery an attempt carries. */
typedef struct xfer_item {
    int64_t id;
    int attempts;                   /* before this one */
    lr_time window_from;
    int64_t replays;                /* the delivery's replays as read: a replay
                                       since makes its outcome stale */
} xfer_item;

typedef struct xfer {
    struct xfer *next;
    CURL *easy;
    chanset *set;                   /* holds a reference */
    const chan *ch;
    lr_buf payload;                 /* the body or the message (a batch: a JSON array
                                       of the bodies, its ']' added at launch) */
    size_t sent;                    /* SMTP upload position */
    struct curl_slist *headers;     /* or the SMTP recipients */
    lr_buf answer;                  /* the start of the answer */
    size_t answered;                /* bytes of the answer's body read */
    char refused[80];               /* a private target refused: its address */
    char errbuf[CURL_ERROR_SIZE];
    size_t n;                       /* deliveries it carries: 1, or up to ch->batch */
    xfer_item items[];              /* room for ch->batch of them */
} xfer;

/* A channel's state kept by name, so that a config change does not reset
 * it (a "breaker", after its first use).
 *
 * The circuit breaker: after TRIP_AFTER attempts in a row that got no
 * answer (or 408, 429, 5xx), the receiver is taken to be down and the
 * channel pauses (its backoff, doubling with each further failure, up to
 * backoff_max), then lets one attempt through; a success closes it. Every
 * other delivery of the channel would have failed the same way: pausing
 * spares them attempts, and spares the writer their outcomes.
 *
 * The fresh cursor: every fresh delivery of the channel (store.h) with an
 * id up to fresh_after has been picked; the next scan starts above it. It
 * starts at the channel's stored mark, and lr_dispatch_marks() gives the
 * writer the mark to store: the cursor, or lower, at the oldest picked
 * delivery whose outcome is not committed yet. */
typedef struct breaker {
    char name[260];                 /* a channel name: at most 256 bytes */
    int streak;                     /* failed attempts in a row */
    lr_time paused_until;
    lr_time room_since;             /* start_due: a free slot waits for others since
                                       then (0: none waits) */
    bool loaded;                    /* fresh_after read from the store */
    int64_t fresh_after;            /* written under mu (lr_dispatch_marks reads it) */
} breaker;

/* A delivery in flight or awaiting its outcome's commit. */
typedef struct busy_id {
    int64_t id;
    long fresh;                     /* picked as fresh: its channel's breaker; else -1 */
} busy_id;

/* A fresh delivery's bodies as the writer had them (lr_dispatch_hint). */
typedef struct hint {
    struct hint *next;
    int64_t id;
    char *decision, *lead;          /* owned */
    size_t dlen, llen;
} hint;

#define HINT_SLOTS 16384
#define HINTS_MAX 65536             /* more are dropped: the store has them */
#define HINT_BYTES_MAX ((size_t)16 << 20)   /* nor more bytes of bodies than this
                                               (a brief webhook decision is ~300 bytes,
                                               a full one several KB) */

static void hint_free(hint *h) {
    if (!h) return;
    free(h->decision);
    free(h->lead);
    free(h);
}

struct lr_dispatcher {
    lr_store *store;                /* the thread's own handle */
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu;
    lr_dispatch_report_fn report;
    void *ud;
    /* guarded by mu */
    chanset *chans;                 /* the current channels */
    busy_id *busy;                  /* in flight or awaiting their commit */
    size_t nbusy, busycap;
    breaker *breakers;              /* grown under mu; written by the thread only */
    size_t nbreakers, breakercap;
    bool poked, stopping;
    bool joined;                    /* lr_dispatch_stop has run */
    int64_t durable;                /* the newest delivery id known on disk */
    hint *hints[HINT_SLOTS];        /* the writer's bodies of fresh deliveries, by id */
    size_t nhints, hint_bytes;
    /* the thread's own */
    xfer *xfers;
    CURL *spare[SPARE_MAX];         /* easy handles of ended transfers, reset: a new
                                       one each time cost the thread its allocation,
                                       clearing and buffers */
    size_t nspare;
};

/* The array V of *CAP elements of SIZE bytes, holding N, with room for
 * one more (doubled, or FIRST the first time; *CAP updated), or NULL when
 * out of memory (V and *CAP unchanged). */
static void *room_for_one(void *v, size_t *cap, size_t n, size_t size, size_t first) {
    if (n < *cap) return v;
    size_t ncap = *cap ? 2 * *cap : first;
    void *nv = realloc(v, ncap * size);
    if (nv) *cap = ncap;
    return nv;
}

/* The breaker of channel NAME (created closed, its cursor not loaded);
 * NULL when out of memory. Valid until the next call. */
static breaker *breaker_of(lr_dispatcher *d, const char *name) {
    for (size_t i = 0; i < d->nbreakers; i++)
        if (strcmp(d->breakers[i].name, name) == 0) return &d->breakers[i];
    pthread_mutex_lock(&d->mu);
    breaker *nb = room_for_one(d->breakers, &d->breakercap, d->nbreakers, sizeof *nb, 8);
    if (!nb) {
        pthread_mutex_unlock(&d->mu);
        return NULL;
    }
    d->breakers = nb;
    breaker *b = &d->breakers[d->nbreakers];
    *b = (breaker){ 0 };
    snprintf(b->name, sizeof b->name, "%s", name);
    d->nbreakers++;
    pthread_mutex_unlock(&d->mu);
    return b;
}

/* Counts an attempt on CH that ended at AT in its breaker: ANSWERED when
 * the receiver took it or turned it down for good (a 2xx, a 4xx that is
 * not retried, an SMTP 5xx), which closes the breaker; anything else (a
 * failure retried, or one that ran out of retries) counts against it. */
static void breaker_count(lr_dispatcher *d, const chan *ch, bool answered, lr_time at) {
    breaker *b = breaker_of(d, ch->name);
    if (!b) return;
    if (answered) {
        b->streak = 0;
        b->paused_until = 0;
        return;
    }
    if (++b->streak < TRIP_AFTER) return;
    int64_t pause = ch->backoff_ms;
    for (int i = TRIP_AFTER; i < b->streak && pause < ch->backoff_max_ms; i++) pause *= 2;
    b->paused_until = at + (pause < ch->backoff_max_ms ? pause : ch->backoff_max_ms);
}

static lr_time wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (lr_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void chanset_unref(chanset *s) {
    if (!s || atomic_fetch_sub(&s->refs, 1) > 1) return;
    for (size_t i = 0; i < s->n; i++) {
        chan *c = &s->v[i];
        free(c->name);
        free(c->url);
        if (c->secret) sodium_memzero(c->secret, strlen(c->secret));
        free(c->secret);
        if (c->password) sodium_memzero(c->password, strlen(c->password));
        free(c->username);
        free(c->password);
        free(c->from);
        free(c->public_url);
    }
    free(s->v);
    for (size_t i = 0; i < s->nnames; i++) {
        free(s->names[i].id);
        free(s->names[i].name);
        free(s->names[i].email);
    }
    free(s->names);
    free(s);
}

static int named_cmp(const void *a, const void *b) {
    return strcmp(((const named *)a)->id, ((const named *)b)->id);
}

/* The display name of agent ID in SET, or NULL. */
static const named *named_of(const chanset *set, const char *id) {
    if (!id || !set->nnames) return NULL;
    named key = { (char *)id, NULL, NULL };
    return bsearch(&key, set->names, set->nnames, sizeof key, named_cmp);
}

static char *dup_or_null(const char *s, bool *oom) {
    if (!s) return NULL;
    char *d = strdup(s);
    if (!d) *oom = true;
    return d;
}

int lr_dispatch_configure(lr_dispatcher *d, const lr_config *cfg) {
    chanset *s = calloc(1, sizeof *s);
    if (!s) return LR_ENOMEM;
    atomic_init(&s->refs, 1);
    bool oom = cfg->nchannels && !(s->v = calloc(cfg->nchannels, sizeof *s->v));
    for (size_t i = 0; !oom && i < cfg->nchannels; i++) {
        const lr_channel_conf *cc = &cfg->channels[i];
        chan *c = &s->v[s->n++];
        c->name = dup_or_null(cc->name, &oom);
        c->url = dup_or_null(cc->url, &oom);
        c->secret = dup_or_null(cc->secret_env ? getenv(cc->secret_env) : NULL, &oom);
        c->username = dup_or_null(cc->username_env ? getenv(cc->username_env) : NULL, &oom);
        c->password = dup_or_null(cc->password_env ? getenv(cc->password_env) : NULL, &oom);
        c->from = dup_or_null(cc->from, &oom);
        c->public_url = dup_or_null(cc->public_url, &oom);
        c->kind = cc->kind;
        c->timeout_ms = cc->timeout_ms;
        c->backoff_ms = cc->backoff_ms;
        c->backoff_max_ms = cc->backoff_max_ms;
        c->retry_for_ms = cc->retry_for_ms;
        c->concurrency = cc->concurrency;
        c->batch = cc->kind == LR_CHANNEL_WEBHOOK && cc->batch > 1 ? cc->batch : 1;
        c->allow_private = cc->allow_private;
    }
    bool mail = false;
    for (size_t i = 0; i < s->n; i++) mail |= s->v[i].kind == LR_CHANNEL_SMTP;
    if (!oom && mail && cfg->nagents && !(s->names = calloc(cfg->nagents, sizeof *s->names)))
        oom = true;
    for (size_t i = 0; !oom && mail && i < cfg->nagents; i++) {
        if (!cfg->agents[i].name && !cfg->agents[i].email) continue;
        named *n = &s->names[s->nnames++];
        n->id = dup_or_null(cfg->agents[i].id, &oom);
        n->name = dup_or_null(cfg->agents[i].name, &oom);
        n->email = dup_or_null(cfg->agents[i].email, &oom);
    }
    if (!oom && s->nnames) qsort(s->names, s->nnames, sizeof *s->names, named_cmp);
    if (oom) {
        chanset_unref(s);
        return LR_ENOMEM;
    }
    pthread_mutex_lock(&d->mu);
    chanset *old = d->chans;
    d->chans = s;
    d->poked = true;
    pthread_mutex_unlock(&d->mu);
    chanset_unref(old);             /* transfers hold their own references */
    curl_multi_wakeup(d->multi);
    return LR_OK;
}

void lr_dispatch_poke(lr_dispatcher *d) {
    pthread_mutex_lock(&d->mu);
    d->poked = true;
    pthread_mutex_unlock(&d->mu);
    curl_multi_wakeup(d->multi);
}

/* Index of ID in the busy list, or -1. Called with mu held. */
static long busy_find(const lr_dispatcher *d, int64_t id) {
    for (size_t i = 0; i < d->nbusy; i++)
        if (d->busy[i].id == id) return (long)i;
    return -1;
}

bool lr_dispatch_hint_room(lr_dispatcher *d) {
    pthread_mutex_lock(&d->mu);
    bool room = d->nhints < HINTS_MAX && d->hint_bytes < HINT_BYTES_MAX;
    pthread_mutex_unlock(&d->mu);
    return room;
}

void lr_dispatch_hint(lr_dispatcher *d, int64_t id, char *decision, size_t dlen, char *lead,
                      size_t llen) {
    hint *h = malloc(sizeof *h);
    pthread_mutex_lock(&d->mu);
    if (!h || d->nhints >= HINTS_MAX || d->hint_bytes >= HINT_BYTES_MAX) {
        pthread_mutex_unlock(&d->mu);
        free(h);
        free(decision);
        free(lead);
        return;
    }
    *h = (hint){ .id = id, .decision = decision, .dlen = dlen, .lead = lead, .llen = llen };
    hint **slot = &d->hints[(uint64_t)id % HINT_SLOTS];
    h->next = *slot;
    *slot = h;
    d->nhints++;
    d->hint_bytes += dlen + llen;
    pthread_mutex_unlock(&d->mu);
}

/* Takes the hint of delivery ID out of the table (mu held), or NULL. */
static hint *hint_take(lr_dispatcher *d, int64_t id) {
    for (hint **pp = &d->hints[(uint64_t)id % HINT_SLOTS]; *pp; pp = &(*pp)->next) {
        if ((*pp)->id != id) continue;
        hint *h = *pp;
        *pp = h->next;
        d->nhints--;
        d->hint_bytes -= h->dlen + h->llen;
        return h;
    }
    return NULL;
}

void lr_dispatch_durable(lr_dispatcher *d, int64_t id) {
    pthread_mutex_lock(&d->mu);
    d->durable = id;
    pthread_mutex_unlock(&d->mu);
}

static int id_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The writer's thread, with its lock held: a batch channel keeps up to
 * concurrency x batch ids busy, so many ids are matched in one pass over
 * the busy list (sorted, then searched), not one pass each. */
void lr_dispatch_settled(lr_dispatcher *d, const int64_t *ids, size_t n) {
    int64_t *sorted = n > 16 ? malloc(n * sizeof *sorted) : NULL;
    if (sorted) {
        memcpy(sorted, ids, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, id_cmp);
    }
    pthread_mutex_lock(&d->mu);
    if (sorted) {
        for (size_t i = 0; i < d->nbusy;) {
            if (bsearch(&d->busy[i].id, sorted, n, sizeof *sorted, id_cmp))
                d->busy[i] = d->busy[--d->nbusy];
            else
                i++;
        }
    } else {
        for (size_t k = 0; k < n; k++) {
            long i = busy_find(d, ids[k]);
            if (i >= 0) d->busy[i] = d->busy[--d->nbusy];
        }
    }
    d->poked = true;
    pthread_mutex_unlock(&d->mu);
    free(sorted);
    curl_multi_wakeup(d->multi);
}

/* Frees delivery ID, picked but not reported (out of memory), to be picked
 * again: as a fresh one its cursor goes back below it. */
static void unpick(lr_dispatcher *d, int64_t id) {
    pthread_mutex_lock(&d->mu);
    long i = busy_find(d, id);
    if (i >= 0) {
        long f = d->busy[i].fresh;
        if (f >= 0 && d->breakers[f].fresh_after >= id) d->breakers[f].fresh_after = id - 1;
        d->busy[i] = d->busy[--d->nbusy];
    }
    d->poked = true;
    pthread_mutex_unlock(&d->mu);
    curl_multi_wakeup(d->multi);
}

int lr_dispatch_marks(lr_dispatcher *d, lr_dispatch_mark_fn fn, void *ud) {
    pthread_mutex_lock(&d->mu);
    size_t n = d->nbreakers;
    lr_dispatch_mark *v = n ? malloc(n * sizeof *v) : NULL;
    size_t k = 0;
    for (size_t i = 0; v && i < n; i++) {
        const breaker *b = &d->breakers[i];
        if (!b->loaded) continue;
        v[k] = (lr_dispatch_mark){ .fresh_from = b->fresh_after + 1 };
        memcpy(v[k].channel, b->name, sizeof v[k].channel);
        for (size_t j = 0; j < d->nbusy; j++)
            if (d->busy[j].fresh == (long)i && d->busy[j].id < v[k].fresh_from)
                v[k].fresh_from = d->busy[j].id;
        k++;
    }
    pthread_mutex_unlock(&d->mu);
    if (n && !v) return LR_ENOMEM;
    int rc = LR_OK;
    for (size_t i = 0; rc == LR_OK && i < k; i++) rc = fn(v[i].channel, v[i].fresh_from, ud);
    free(v);
    return rc;
}

/* ---- one transfer ---------------------------------------------------------- */

/* An answer's body: its first ANSWER_KEEP bytes are kept; past
 * ANSWER_READ_MAX the transfer is cut (a receiver sending without end
 * would hold the slot for the whole timeout). */
static size_t on_answer(char *p, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    size_t len = size * n;
    if (x->answer.len < ANSWER_KEEP) {
        size_t take = ANSWER_KEEP - x->answer.len < len ? ANSWER_KEEP - x->answer.len : len;
        lr_buf_append(&x->answer, p, take);     /* best effort */
    }
    x->answered += len;
    return x->answered > ANSWER_READ_MAX ? 0 : len;
}

/* An SMTP server's reply line (libcurl hands them over as headers): the
 * last refusal (4xx, 5xx: "550 no such user") is kept, not the "221 Bye"
 * that ends the session after it. */
static size_t on_smtp_line(char *p, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    size_t len = size * n, keep = len;
    while (keep && (p[keep - 1] == '\n' || p[keep - 1] == '\r')) keep--;
    if (keep && (p[0] == '4' || p[0] == '5')) {
        lr_buf_reset(&x->answer);
        lr_buf_append(&x->answer, p, keep < ANSWER_KEEP ? keep : ANSWER_KEEP);   /* best effort */
    }
    return len;
}

static size_t on_upload(char *p, size_t size, size_t n, void *ud) {
    xfer *x = ud;
    size_t room = size * n, left = x->payload.len - x->sent;
    size_t take = left < room ? left : room;
    memcpy(p, x->payload.data + x->sent, take);
    x->sent += take;
    return take;
}

/* Refuses a connection to a private address unless the channel allows it:
 * the check of a new connection, on the address it is about to connect
 * to (the one DNS gave, so a name cannot point elsewhere later). */
static curl_socket_t on_open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a) {
    xfer *x = ud;
    if (!x->ch->allow_private && lr_target_is_private(&a->addr)) {
        lr_target_format(&a->addr, x->refused, sizeof x->refused);
        return CURL_SOCKET_BAD;
    }
    x->refused[0] = '\0';          /* another address of the host is allowed */
    return socket(a->family, a->socktype, a->protocol);
}

/* The same check before every request, on the address the connection
 * goes to: a connection another channel opened (libcurl keeps them open
 * for the next transfer to the same host and port), or one opened before
 * a config change took the allowance away, is refused here. */
static int on_request_ready(void *ud, char *ip, char *local_ip, int port, int local_port) {
    xfer *x = ud;
    (void)local_ip;
    (void)port;
    (void)local_port;
    if (x->ch->allow_private || !lr_target_ip_is_private(ip)) return CURL_PREREQFUNC_OK;
    snprintf(x->refused, sizeof x->refused, "%s", ip ? ip : "?");
    return CURL_PREREQFUNC_ABORT;
}

/* Frees X; its easy handle (out of the multi handle) is kept in D's spares
 * with every option back to its default, or cleaned up when they are full. */
static void xfer_free(lr_dispatcher *d, xfer *x) {
    if (!x) return;
    if (x->easy && d->nspare < SPARE_MAX) {
        curl_easy_reset(x->easy);
        d->spare[d->nspare++] = x->easy;
    } else {
        curl_easy_cleanup(x->easy);
    }
    curl_slist_free_all(x->headers);
    lr_buf_release(&x->payload);
    lr_buf_release(&x->answer);
    chanset_unref(x->set);
    free(x);
}

/* The message of job J for channel CH (of SET). An email goes to the
 * agent when its recipient is the agent's address in the config (else to
 * a fixed address, an ops mailbox: not greeted as the agent). */
static lr_delivery_msg msg_of(const chan *ch, const chanset *set, const lr_delivery_job *j,
                              lr_time now) {
    const named *n = named_of(set, j->agent);
    bool to_agent = n && n->email && j->recipient && strcmp(n->email, j->recipient) == 0;
    return (lr_delivery_msg){
        .id = j->id, .channel = ch->name, .action = j->action, .created_at = j->created_at,
        .lead_json = j->lead_json, .lead_len = j->lead_json ? j->lead_len : 0,
        .decision_json = j->decision_json, .decision_len = j->decision_len,
        .from = ch->from, .to = j->recipient, .base_url = ch->public_url, .now = now,
        .agent = j->agent, .agent_name = to_agent ? n->name : NULL, .to_agent = to_agent,
    };
}

/* Adds the headers every webhook request has to X, then EXTRA (NULL:
 * none), then its signature over the payload when the channel has a
 * secret. */
static int webhook_headers(xfer *x, const char *extra, lr_time now) {
    const char *fixed[] = { "Content-Type: application/json", "User-Agent: leadrouter",
                            "Expect:", extra };
    for (size_t i = 0; i < 4 && fixed[i]; i++)
        if (!(x->headers = curl_slist_append(x->headers, fixed[i]))) return LR_ENOMEM;
    if (x->ch->secret) {
        char sig[LR_SIGNATURE_MAX], h[sizeof sig + 32];
        int rc = lr_delivery_sign(x->ch->secret, strlen(x->ch->secret), now / 1000,
                                  x->payload.data, x->payload.len, sig);
        if (rc != LR_OK) return rc;
        snprintf(h, sizeof h, "Leadrouter-Signature: %s", sig);
        if (!(x->headers = curl_slist_append(x->headers, h))) return LR_ENOMEM;
    }
    return LR_OK;
}

/* Builds the message of job J for channel CH into X. */
static int build(xfer *x, const lr_delivery_job *j, lr_time now) {
    const chan *ch = x->ch;
    lr_delivery_msg m = msg_of(ch, x->set, j, now);
    char h[600];
    if (ch->kind == LR_CHANNEL_SMTP) {
        if (!j->recipient) return LR_ENOENT;        /* no address (an agent without email) */
        int rc = lr_delivery_email(&m, &x->payload);
        if (rc != LR_OK) return rc;
        snprintf(h, sizeof h, "<%s>", j->recipient);
        if (!(x->headers = curl_slist_append(NULL, h))) return LR_ENOMEM;
        return LR_OK;
    }
    int rc = lr_delivery_webhook_body(&m, &x->payload);
    if (rc != LR_OK) return rc;
    snprintf(h, sizeof h, "Leadrouter-Delivery: dlv_%lld", (long long)j->id);
    if (!(x->headers = curl_slist_append(x->headers, h))) return LR_ENOMEM;
    snprintf(h, sizeof h, "Leadrouter-Attempt: %d", j->attempts + 1);
    if (!(x->headers = curl_slist_append(x->headers, h))) return LR_ENOMEM;
    return webhook_headers(x, NULL, now);
}

/* Sets an easy handle up for X and its channel: one of D's spares, or a
 * new one. */
static int setup(lr_dispatcher *d, xfer *x) {
    const chan *ch = x->ch;
    CURL *e = x->easy = d->nspare ? d->spare[--d->nspare] : curl_easy_init();
    if (!e) return LR_ENOMEM;
    curl_easy_setopt(e, CURLOPT_URL, ch->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)ch->timeout_ms);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, x);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_request_ready);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, x);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_answer);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROXY, "");         /* no *_proxy variables: the target
                                                       check is on the real address */
    if (ch->kind == LR_CHANNEL_SMTP) {
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
        /* STARTTLS when offered; with a login, TLS or nothing: the password
         * never goes out in clear (a relay, or someone between, that does
         * not offer STARTTLS fails the attempt, which is retried) */
        bool login = ch->username && ch->password;
        curl_easy_setopt(e, CURLOPT_USE_SSL, (long)(login ? CURLUSESSL_ALL : CURLUSESSL_TRY));
        curl_easy_setopt(e, CURLOPT_MAIL_FROM, ch->from);
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_smtp_line);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
        if (login) {                                /* AUTH, over TLS only */
            curl_easy_setopt(e, CURLOPT_USERNAME, ch->username);
            curl_easy_setopt(e, CURLOPT_PASSWORD, ch->password);
        }
        curl_easy_setopt(e, CURLOPT_MAIL_RCPT, x->headers);
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(e, CURLOPT_READDATA, x);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)x->payload.len);
    } else {
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->payload.data);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->payload.len);
    }
    return LR_OK;
}

/* The delay before retry number N (1 = the first retry): the channel's
 * backoff doubled each time, at most backoff_max, then 50-100% of it. */
static int64_t backoff(const chan *ch, int n) {
    int64_t delay = ch->backoff_ms;
    for (int i = 1; i < n && delay < ch->backoff_max_ms; i++) delay *= 2;
    if (delay > ch->backoff_max_ms) delay = ch->backoff_max_ms;
    return delay / 2 + (int64_t)randombytes_uniform((uint32_t)(delay / 2 + 1));
}

/* Copies the answer kept in X (printable ASCII) after PREFIX into R's error. */
static void keep_answer(lr_delivery_result *r, const char *prefix, const xfer *x) {
    size_t off = (size_t)snprintf(r->error, sizeof r->error, "%s", prefix);
    if (x->answer.len && off + 3 < sizeof r->error) {
        off += (size_t)snprintf(r->error + off, sizeof r->error - off, ": ");
        for (size_t i = 0; i < x->answer.len && off + 1 < sizeof r->error; i++) {
            unsigned char c = (unsigned char)x->answer.data[i];
            r->error[off++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
        }
        r->error[off] = '\0';
    }
}

/* Where a 3xx answer of X points, as libcurl resolves it against the
 * channel's URL, into TO (N bytes): printable ASCII, without a user name
 * or password (a relative Location keeps the channel's: they would be in
 * last_error for all to read), at most REDIRECT_SHOWN bytes then "...".
 * False when there is no Location. */
static bool redirect_target(const xfer *x, char *to, size_t n) {
    char *loc = NULL, *clean = NULL;
    if (curl_easy_getinfo(x->easy, CURLINFO_REDIRECT_URL, &loc) != CURLE_OK || !loc) return false;
    CURLU *u = curl_url();
    if (u && curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK) {
        curl_url_set(u, CURLUPART_USER, NULL, 0);
        curl_url_set(u, CURLUPART_PASSWORD, NULL, 0);
        if (curl_url_get(u, CURLUPART_URL, &clean, 0) != CURLUE_OK) clean = NULL;
    }
    curl_url_cleanup(u);
    const char *s = clean ? clean : "(a URL libcurl could not read)";
    size_t k = 0;
    for (; s[k] && k < REDIRECT_SHOWN && k + 4 < n; k++)
        to[k] = (unsigned char)s[k] > 0x20 && (unsigned char)s[k] < 0x7f ? s[k] : '?';
    if (s[k]) { memcpy(to + k, "...", 3); k += 3; }
    to[k] = '\0';
    curl_free(clean);
    return true;
}

/* Whether the answer of X has a Retry-After of more digits than libcurl
 * reads (it reports none for 99999999999999999999): a wait longer than
 * any backoff_max. */
static bool long_retry_after(const xfer *x) {
    struct curl_header *h = NULL;
    if (curl_easy_header(x->easy, "Retry-After", 0, CURLH_HEADER, -1, &h) != CURLHE_OK || !h || !h->value)
        return false;
    const char *v = h->value + strspn(h->value, " \t");
    size_t zeros = strspn(v, "0"), digits = strspn(v + zeros, "0123456789");
    return digits >= 19 && v[zeros + digits + strspn(v + zeros + digits, " \t")] == '\0';
}

/* Whether transfer X ended (curl code CODE) because the guard refused
 * its address: a refused address leaves its mark in X even when libcurl
 * went on to another address of the host that it then reached. */
static bool was_refused(const xfer *x, CURLcode code) {
    return x->refused[0] && (code == CURLE_COULDNT_CONNECT || code == CURLE_ABORTED_BY_CALLBACK);
}

/* Classifies the end of transfer X (curl code CODE) into R, one of its
 * deliveries (R's attempts and window_from set). Returns whether the
 * receiver answered for good (breaker_count).
 *
 * An HTTP answer is judged by its status alone, once one came: a body cut
 * short (the receiver closed, the timeout, ANSWER_READ_MAX) changes
 * nothing, since the receiver has said what it did with the delivery. */
static bool classify(const xfer *x, CURLcode code, lr_delivery_result *r, lr_time now) {
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    bool smtp = x->ch->kind == LR_CHANNEL_SMTP;
    if (!smtp && status < 200) status = 0;     /* a 100 Continue, then nothing: no answer */
    r->http_status = (int)status;
    bool http_answer = !smtp && status >= 200;
    bool retry = false;
    char what[CURL_ERROR_SIZE + 64];
    if (was_refused(x, code)) {
        snprintf(r->error, sizeof r->error, "refused: %s is a private or loopback address "
                 "(list channel '%s' in allow_private_targets to allow it)", x->refused,
                 x->ch->name);
    } else if (http_answer && status < 300) {
        r->status = "delivered";
        return true;
    } else if (code == CURLE_OK && smtp) {
        r->status = "delivered";
        return true;
    } else if (http_answer) {
        char to[REDIRECT_SHOWN + 4];
        if (status >= 300 && status < 400 && redirect_target(x, to, sizeof to))
            snprintf(what, sizeof what, "answered %ld, redirecting to %s (redirects are not followed: "
                     "give the channel its new URL)", status, to);
        else
            snprintf(what, sizeof what, "answered %ld", status);
        keep_answer(r, what, x);
        retry = status == 408 || status == 429 || (status >= 500 && status <= 599);
    } else if (smtp && status >= 400) {   /* a refusal, its text kept: 4xx retried, 5xx dead */
        snprintf(what, sizeof what, "SMTP %ld (%s)", status, x->errbuf[0] ? x->errbuf
                                                                           : curl_easy_strerror(code));
        keep_answer(r, what, x);
        retry = status < 500;
    } else {
        snprintf(r->error, sizeof r->error, "%s", x->errbuf[0] ? x->errbuf : curl_easy_strerror(code));
        retry = true;
        /* an SMTP attempt that failed before any refusal (STARTTLS not
         * offered, a lost connection): its last reply (250 to EHLO) is no
         * answer to the message */
        if (smtp) r->http_status = 0;
    }
    if (!retry) {
        r->status = "dead";
        return !was_refused(x, code);
    }
    int64_t delay = backoff(x->ch, r->attempts);
    curl_off_t after = 0;
    /* a Retry-After in seconds, as the receiver wrote it (libcurl does not
     * bound it): compared in seconds first, so no product overflows */
    if (curl_easy_getinfo(x->easy, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0) {
        if (after > x->ch->backoff_max_ms / 1000)
            delay = x->ch->backoff_max_ms;
        else if (after * 1000 > delay)
            delay = after * 1000 < x->ch->backoff_max_ms ? after * 1000 : x->ch->backoff_max_ms;
    } else if (!smtp && long_retry_after(x)) {
        delay = x->ch->backoff_max_ms;
    }
    if (now + delay > r->window_from + x->ch->retry_for_ms) {
        size_t off = strlen(r->error);
        snprintf(r->error + off, sizeof r->error - off, " (gave up after %d attempts)",
                 r->attempts);
        r->status = "dead";
        return false;
    }
    r->status = "retrying";
    r->next_at = now + delay;
    return false;
}

/* Ends transfer X with curl code CODE: reports the outcome of each of its
 * deliveries (a batch's answer is every one's; each is retried on its
 * own), counted once in the channel's breaker. */
static void finish(lr_dispatcher *d, xfer *x, CURLcode code) {
    lr_time now = wall_ms();
    bool counted = was_refused(x, code);
    for (size_t i = 0; i < x->n; i++) {
        const xfer_item *it = &x->items[i];
        lr_delivery_result *r = calloc(1, sizeof *r);
        if (!r) {                   /* not reported: free it to be picked again */
            unpick(d, it->id);
            continue;
        }
        r->id = it->id;
        r->attempts = it->attempts + 1;
        r->at = now;
        r->next_at = LR_TIME_NONE;
        r->window_from = it->window_from;
        r->replays = it->replays;
        bool answered = classify(x, code, r, now);
        if (!counted) breaker_count(d, x->ch, answered, now);
        counted = true;
        d->report(r, d->ud);
    }
}

/* ---- picking due deliveries ---------------------------------------------- */

typedef struct pick {
    lr_dispatcher *d;
    chanset *set;
    const chan *ch;
    lr_time now;
    size_t room;                    /* transfers this channel may still start */
    int64_t *busy;                  /* the busy ids as they were before the query: */
    size_t nbusy;                   /* an id settled since may come back stale */
    int64_t durable;                /* newer ids are not picked */
    long fresh;                     /* reading fresh ones: the channel's breaker; else -1 */
    int64_t first_left;             /* the lowest fresh one read and not picked (0: none) */
    xfer *open;                     /* a batch being filled (ch->batch > 1), not started */
    bool probe;                     /* the channel's breaker lets one attempt through: one
                                       delivery, not a batch, spends an attempt on it */
} pick;

/* Deliveries a request of P's channel carries at most now. */
static size_t per_request(const pick *p) {
    return p->probe ? 1 : p->ch->batch;
}

/* Deliveries P may still take: a transfer each, or a batch's worth each
 * plus what the batch being filled has room for. */
static size_t slots(const pick *p) {
    return p->room * per_request(p) + (p->open ? per_request(p) - p->open->n : 0);
}

/* Fresh delivery ID was read and is not picked: the cursor stays below it. */
static void leave(pick *p, int64_t id) {
    if (p->fresh >= 0 && (!p->first_left || id < p->first_left)) p->first_left = id;
}

/* lr_store_known_fn: is there a hint for ID? */
static bool hint_known(int64_t id, void *ud) {
    lr_dispatcher *d = ((pick *)ud)->d;
    pthread_mutex_lock(&d->mu);
    bool found = false;
    for (const hint *h = d->hints[(uint64_t)id % HINT_SLOTS]; h && !found; h = h->next)
        found = h->id == id;
    pthread_mutex_unlock(&d->mu);
    return found;
}

static int start_job(pick *p, const lr_delivery_job *j);

/* Starts a transfer for job J unless it is busy. */
static int pick_one(const lr_delivery_job *job, void *ud) {
    pick *p = ud;
    lr_dispatcher *d = p->d;
    if (slots(p) == 0 || job->id > p->durable) {    /* (its decision may not be on disk yet) */
        leave(p, job->id);
        return slots(p) == 0;
    }
    /* the bodies: the job's, or the writer's hint when the store left them out */
    pthread_mutex_lock(&d->mu);
    hint *hn = hint_take(d, job->id);
    pthread_mutex_unlock(&d->mu);
    lr_delivery_job jh = *job;
    if (!job->decision_json && !job->unreadable) {
        if (!hn) {                          /* gone meanwhile: read whole next pass */
            leave(p, job->id);
            return 0;
        }
        jh.decision_json = hn->decision;
        jh.decision_len = hn->dlen;
        jh.lead_json = hn->lead;
        jh.lead_len = hn->llen;
    }
    const lr_delivery_job *j = &jh;
    int rc = start_job(p, j);
    if (rc != LR_OK) leave(p, job->id);
    hint_free(hn);
    return rc;
}

/* A transfer for P's channel with room for its batch, or NULL. */
static xfer *xfer_new(pick *p) {
    xfer *x = calloc(1, sizeof *x + p->ch->batch * sizeof x->items[0]);
    if (!x) return NULL;
    x->set = p->set;
    atomic_fetch_add(&p->set->refs, 1);
    x->ch = p->ch;
    lr_buf_init(&x->payload);
    lr_buf_init(&x->answer);
    return x;
}

/* Job J as X's next delivery. */
static void add_item(const pick *p, xfer *x, const lr_delivery_job *j) {
    /* retries count from the first attempt (a delivery written by `route
     * --db` with old event times, or delayed by `after`, starts now) */
    x->items[x->n++] = (xfer_item){
        .id = j->id, .attempts = j->attempts,
        .window_from = j->attempts == 0 && j->window_from < p->now ? p->now : j->window_from,
        .replays = j->replays,
    };
}

/* Marks job J busy (picked as P->fresh); false when out of memory. */
static bool mark_busy(pick *p, const lr_delivery_job *j) {
    lr_dispatcher *d = p->d;
    pthread_mutex_lock(&d->mu);
    busy_id *nb = room_for_one(d->busy, &d->busycap, d->nbusy, sizeof *nb, 64);
    if (nb) {
        d->busy = nb;
        d->busy[d->nbusy++] = (busy_id){ j->id, p->fresh };
    }
    pthread_mutex_unlock(&d->mu);
    return nb != NULL;
}

/* The outcome of delivery IT, settled as STATUS without an attempt (its
 * error still to write), or NULL when out of memory. */
static lr_delivery_result *unsent(const pick *p, const xfer_item *it, const char *status) {
    lr_delivery_result *r = calloc(1, sizeof *r);
    if (r)
        *r = (lr_delivery_result){ .id = it->id, .attempts = it->attempts, .status = status,
                                   .at = p->now, .next_at = LR_TIME_NONE,
                                   .window_from = it->window_from, .replays = it->replays };
    return r;
}

/* Starts P's batch being filled, if any: its payload closed, signed and
 * handed to libcurl. Out of memory, its deliveries are left to be picked
 * again; a request that can never be built makes each of them dead. */
static void launch_batch(pick *p) {
    lr_dispatcher *d = p->d;
    xfer *x = p->open;
    if (!x) return;
    p->open = NULL;
    char h[64];
    snprintf(h, sizeof h, "Leadrouter-Batch: %zu", x->n);
    int rc = x->n ? lr_buf_putc(&x->payload, ']') : LR_ENOMEM;
    if (rc == LR_OK) rc = webhook_headers(x, h, p->now);
    if (rc == LR_OK) rc = setup(d, x);
    if (rc == LR_OK && curl_multi_add_handle(d->multi, x->easy) != CURLM_OK) rc = LR_ENOMEM;
    for (size_t i = 0; rc != LR_OK && i < x->n; i++) {
        const xfer_item *it = &x->items[i];
        lr_delivery_result *r = rc == LR_ENOMEM ? NULL : unsent(p, it, "dead");
        if (r) {                    /* it would fail each time (a secret that cannot sign) */
            snprintf(r->error, sizeof r->error, "cannot build the request: %s", lr_strerror(rc));
            d->report(r, d->ud);
        } else {                    /* out of memory: picked again later */
            unpick(d, it->id);
            leave(p, it->id);
        }
    }
    if (rc != LR_OK) {
        xfer_free(d, x);
        p->room++;
        return;
    }
    x->next = d->xfers;
    d->xfers = x;
}

/* Adds job J (its bodies at hand) to P's batch being filled, a new one
 * when there is none; a full batch (per_request() deliveries, or
 * BATCH_BYTES_MAX bytes) is started. LR_EINVAL when J's body
 * cannot be built (start_job() then reports it alone). */
static int batch_job(pick *p, const lr_delivery_job *j) {
    lr_buf one;
    lr_buf_init(&one);
    lr_delivery_msg m = msg_of(p->ch, p->set, j, p->now);
    int rc = lr_delivery_webhook_body(&m, &one);
    if (rc != LR_OK) {
        lr_buf_release(&one);
        return rc == LR_ENOMEM ? rc : LR_EINVAL;
    }
    if (p->open && p->open->n && p->open->payload.len + one.len + 2 > BATCH_BYTES_MAX)
        launch_batch(p);            /* full by its bytes: J starts the next one */
    xfer *x = p->open;
    if (!x && p->room && (x = xfer_new(p))) {
        p->open = x;
        p->room--;
    }
    size_t before = x ? x->payload.len : 0;     /* (no X: no room left, J waits) */
    rc = x ? lr_buf_putc(&x->payload, x->n ? ',' : '[') : LR_ENOMEM;
    if (rc == LR_OK) rc = lr_buf_append(&x->payload, one.data, one.len);
    lr_buf_release(&one);
    if (rc == LR_OK && !mark_busy(p, j)) rc = LR_ENOMEM;
    if (rc != LR_OK) {
        if (x) x->payload.len = before;     /* what it held before, if anything */
        return rc;
    }
    add_item(p, x, j);
    if (x->n == per_request(p)) launch_batch(p);
    return LR_OK;
}

/* Starts a transfer for job J (its bodies at hand), or adds it to a batch
 * (what is not sent, a cancelled or unsendable one, is reported alone). */
static int start_job(pick *p, const lr_delivery_job *j) {
    lr_dispatcher *d = p->d;
    if (p->ch->batch > 1 && !j->moved_on && !j->unreadable) {
        int rc = batch_job(p, j);
        if (rc != LR_EINVAL) return rc;
    }
    xfer *x = xfer_new(p);
    if (!x) return LR_ENOMEM;
    add_item(p, x, j);
    bool cancelled = j->moved_on;  /* a delayed notice whose lead moved on */
    int rc = cancelled ? LR_OK : j->unreadable ? LR_EDAMAGED : build(x, j, p->now);
    bool unsendable = rc != LR_OK && rc != LR_ENOMEM;
    if (rc == LR_OK && !cancelled) rc = setup(d, x);
    if (rc == LR_OK && !cancelled && curl_multi_add_handle(d->multi, x->easy) != CURLM_OK)
        rc = LR_ENOMEM;
    if (rc != LR_OK && !unsendable && !cancelled) {
        xfer_free(d, x);
        return rc;
    }
    if (!mark_busy(p, j)) {
        curl_multi_remove_handle(d->multi, x->easy);
        xfer_free(d, x);
        return LR_ENOMEM;
    }
    if (cancelled || unsendable) {  /* reported without sending */
        lr_delivery_result *r = unsent(p, &x->items[0], cancelled ? "cancelled" : "dead");
        if (r) {
            if (cancelled)
                snprintf(r->error, sizeof r->error, "lead %s had another decision before "
                         "this notice was due", j->lead ? j->lead : "?");
            else if (rc == LR_ENOENT)
                snprintf(r->error, sizeof r->error, "no recipient address (the agent had "
                         "no email when the decision was made)");
            else if (rc == LR_EDAMAGED)
                snprintf(r->error, sizeof r->error, "its decision in the store is damaged "
                         "and cannot be read");
            else
                snprintf(r->error, sizeof r->error, "cannot build the message: %s",
                         lr_strerror(rc));
            d->report(r, d->ud);
        } else {
            unpick(d, j->id);       /* not reported: picked again later */
            leave(p, j->id);
        }
        xfer_free(d, x);
        return 0;
    }
    x->next = d->xfers;
    d->xfers = x;
    p->room--;
    return 0;
}

/* Starts P's channel's fresh deliveries, as many as P has room for, from
 * its breaker B's cursor, and moves the cursor past what it picked. */
static void start_fresh(lr_dispatcher *d, pick *p, breaker *b) {
    if (!b->loaded) {               /* where the last run left off */
        int64_t mark = 0;
        if (lr_store_outbox_mark(d->store, p->ch->name, &mark) != LR_OK) mark = 0;
        pthread_mutex_lock(&d->mu);
        b->fresh_after = mark > 0 ? mark - 1 : 0;
        b->loaded = true;
        pthread_mutex_unlock(&d->mu);
    }
    /* the busy ones above the cursor come back from the query, skipped */
    size_t lim = slots(p);
    for (size_t i = 0; i < p->nbusy; i++) lim += p->busy[i] > b->fresh_after;
    p->fresh = b - d->breakers;
    p->first_left = 0;
    int64_t reached = b->fresh_after;
    int rc = lr_store_fresh_deliveries(d->store, p->ch->name, b->fresh_after, p->durable,
                                       lim < 100000 ? (int)lim : 100000, p->busy, p->nbusy,
                                       hint_known, pick_one, p, &reached);
    launch_batch(p);                /* (what it cannot start, it leaves) */
    if (rc < 0) return;             /* the cursor stays: read again next pass */
    int64_t cursor = p->first_left ? p->first_left - 1 : reached;
    pthread_mutex_lock(&d->mu);
    b->fresh_after = cursor;
    pthread_mutex_unlock(&d->mu);
}

/* Starts what is due on every channel; returns the earliest future due
 * time (or LR_TIME_NONE). */
static lr_time start_due(lr_dispatcher *d, chanset *set, lr_time now) {
    lr_time next = LR_TIME_NONE;
    for (size_t i = 0; i < set->n; i++) {
        const chan *ch = &set->v[i];
        if (!ch->name || !ch->url) continue;
        size_t inflight = 0;
        for (xfer *x = d->xfers; x; x = x->next)
            if (strcmp(x->ch->name, ch->name) == 0) inflight++;
        pick p = { .d = d, .set = set, .ch = ch, .now = now, .fresh = -1,
                   .room = ch->concurrency > inflight ? ch->concurrency - inflight : 0 };
        breaker *b = breaker_of(d, ch->name);
        if (b && b->streak >= TRIP_AFTER) {     /* open: nothing; then one probe at a time */
            if (now < b->paused_until) {
                p.room = 0;
                if (next == LR_TIME_NONE || b->paused_until < next) next = b->paused_until;
            } else {
                p.room = inflight ? 0 : 1;
                p.probe = true;
            }
        }
        /* Under load a pass waits until half of the channel's slots are
         * free, DEFER_MS at most (a slow receiver may hold the others for
         * its whole timeout): one query, in one read transaction, then
         * starts several transfers instead of one each time one ends. */
        if (p.room && inflight && 2 * p.room < ch->concurrency && b) {
            if (!b->room_since) b->room_since = now;
            lr_time until = b->room_since + DEFER_MS;
            if (now < until) {
                if (next == LR_TIME_NONE || until < next) next = until;
                continue;
            }
        }
        if (b) b->room_since = 0;
        if (p.room) {
            /* The busy ids are copied before the query reads: an id settled
             * after the copy may come from a snapshot older than its
             * committed outcome, so it still counts as busy in this pass;
             * one settled before the copy was committed before the read
             * (the read transaction takes its snapshot at the query). */
            pthread_mutex_lock(&d->mu);
            p.durable = d->durable;
            p.nbusy = d->nbusy;
            p.busy = p.nbusy ? malloc(p.nbusy * sizeof *p.busy) : NULL;
            for (size_t k = 0; p.busy && k < p.nbusy; k++) p.busy[k] = d->busy[k].id;
            pthread_mutex_unlock(&d->mu);
            if (p.nbusy && !p.busy) continue;           /* out of memory: next pass */
            size_t want = slots(&p) + p.nbusy;
            int lim = (int)(want < 100000 ? want : 100000);
            bool txn = lr_store_read_begin(d->store) == LR_OK;
            lr_store_due_deliveries(d->store, ch->name, now, lim, p.busy, p.nbusy, hint_known,
                                    pick_one, &p);
            launch_batch(&p);
            if (p.room && b) start_fresh(d, &p, b);
            free(p.busy);
            /* with every slot taken, more may be due: the end of a transfer
             * wakes the loop; else the next due time sets the wait */
            lr_time t;
            if (p.room && lr_store_next_delivery(d->store, ch->name, &t) == LR_OK &&
                t != LR_TIME_NONE && t > now && (next == LR_TIME_NONE || t < next))
                next = t;
            if (txn && lr_store_read_end(d->store) != LR_OK)
                lr_store_rollback(d->store);    /* never a snapshot left open */
        }
    }
    return next;
}

static void *dispatch_main(void *arg) {
    lr_dispatcher *d = arg;
    pthread_setname_np(pthread_self(), "lr-dispatch");
    /* Below every thread that routes: on a busy machine deliveries lag, not
     * routing (Linux SCHED_IDLE; where refused, the default policy stays). */
    struct sched_param idle = { 0 };
    pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
    for (;;) {
        pthread_mutex_lock(&d->mu);
        bool stop = d->stopping;
        d->poked = false;
        chanset *set = d->chans;
        if (set) atomic_fetch_add(&set->refs, 1);
        pthread_mutex_unlock(&d->mu);
        if (stop) { chanset_unref(set); break; }

        lr_time now = wall_ms();
        lr_time next = set ? start_due(d, set, now) : LR_TIME_NONE;
        chanset_unref(set);
        int running = 0;
        curl_multi_perform(d->multi, &running);
        CURLMsg *msg;
        int left;
        bool ended = false;         /* a slot is free: start what is due at once */
        while ((msg = curl_multi_info_read(d->multi, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            xfer *x = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            CURLcode code = msg->data.result;
            curl_multi_remove_handle(d->multi, msg->easy_handle);
            for (xfer **pp = &d->xfers; *pp; pp = &(*pp)->next)
                if (*pp == x) { *pp = x->next; break; }
            finish(d, x, code);
            xfer_free(d, x);
            ended = true;
        }
        pthread_mutex_lock(&d->mu);
        bool again = d->poked || d->stopping || ended;
        pthread_mutex_unlock(&d->mu);
        if (again) continue;
        int wait = POLL_MAX_MS;
        if (next != LR_TIME_NONE) {
            lr_time in = next - wall_ms();
            if (in < wait) wait = in < 1 ? 1 : (int)in;
        }
        curl_multi_poll(d->multi, NULL, 0, wait, NULL);
    }
    for (xfer *x = d->xfers, *nx; x; x = nx) {
        nx = x->next;
        curl_multi_remove_handle(d->multi, x->easy);
        xfer_free(d, x);
    }
    d->xfers = NULL;
    return NULL;
}

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

int lr_dispatch_start(const char *db_path, lr_store_sync sync, lr_dispatch_report_fn report,
                      void *ud, lr_dispatcher **out, char *err, size_t errlen) {
    pthread_once(&curl_once, curl_init);
    lr_dispatcher *d = calloc(1, sizeof *d);
    if (!d) return LR_ENOMEM;
    pthread_mutex_init(&d->mu, NULL);
    d->report = report;
    d->ud = ud;
    d->durable = INT64_MAX;
    int rc = lr_store_open_again(db_path, sync, &d->store, err, errlen);
    if (rc == LR_OK && !(d->multi = curl_multi_init())) {
        snprintf(err, errlen, "cannot start libcurl");
        rc = LR_ENOMEM;
    }
    if (rc == LR_OK && pthread_create(&d->thread, NULL, dispatch_main, d) != 0) {
        snprintf(err, errlen, "cannot start the dispatcher thread");
        rc = LR_ENOMEM;
    }
    if (rc != LR_OK) {
        if (d->multi) curl_multi_cleanup(d->multi);
        lr_store_close(d->store);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return rc;
    }
    *out = d;
    return LR_OK;
}

void lr_dispatch_stop(lr_dispatcher *d) {
    if (!d) return;
    pthread_mutex_lock(&d->mu);
    bool joined = d->joined;
    d->stopping = d->joined = true;
    pthread_mutex_unlock(&d->mu);
    if (joined) return;
    curl_multi_wakeup(d->multi);
    pthread_join(d->thread, NULL);
}

void lr_dispatch_free(lr_dispatcher *d) {
    if (!d) return;
    lr_dispatch_stop(d);
    curl_multi_cleanup(d->multi);
    lr_store_close(d->store);
    chanset_unref(d->chans);
    while (d->nspare) curl_easy_cleanup(d->spare[--d->nspare]);
    for (size_t i = 0; i < HINT_SLOTS; i++)
        for (hint *h = d->hints[i], *nx; h; h = nx) {
            nx = h->next;
            hint_free(h);
        }
    free(d->busy);
    free(d->breakers);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
