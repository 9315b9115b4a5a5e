/* service.h -- the server's single writer: HTTP threads hand it commands,
 * it applies them to the engine in order, commits what came in while the
 * last flush ran in one transaction (group commit), and only then lets
 * their replies go. A 2xx therefore means the lead and its decisions are
 * on disk.
 *
 *   HTTP thread:  parse, validate, authenticate -> lr_cmd -> lr_service_submit()
 *                 (the connection waits, the thread goes on with others)
 *   writer:       take the commands waiting -> apply -> ... -> one COMMIT
 *                 once the running flush returns
 *   flush thread: fdatasync the WAL -> each command's done callback -> reply
 *
 * Commands that read only the store (a lead, lists, stats, deliveries) run
 * on reader threads with store handles of their own (reads.c): they see
 * what was committed when they began and never hold up the writer.
 * Other reads (agents, config, metrics) go through the writer, which owns
 * the engine; they need no fsync of their own.
 */
#ifndef LR_SERVER_SERVICE_H
#define LR_SERVER_SERVICE_H

#include "leadrouter/buf.h"
#include "leadrouter/config.h"
#include "leadrouter/event.h"
#include "leadrouter/store.h"

#include <pthread.h>

typedef struct lr_service lr_service;

typedef enum lr_cmd_type {
    LR_CMD_LEADS = 0,       /* POST /v1/leads, /v1/forms/{source}: events[] are leads */
    LR_CMD_EVENTS,          /* POST /v1/events and the conveniences built on it */
    LR_CMD_GET_LEAD,        /* GET /v1/leads/{id}: id */
    LR_CMD_LIST_LEADS,      /* GET /v1/leads?...: query */
    LR_CMD_GET_AGENTS,      /* GET /v1/agents */
    LR_CMD_GET_AGENT,       /* GET /v1/agents/{id}: id */
    LR_CMD_CLAIMABLE,       /* GET /v1/agents/{id}/claimable: id */
    LR_CMD_GET_CONFIG,      /* GET /v1/config */
    LR_CMD_PUT_CONFIG,      /* PUT /v1/config: config + config_text */
    LR_CMD_PREVIEW,         /* POST /v1/route/preview: events[0] is a lead */
    LR_CMD_STATS,           /* GET /v1/stats */
    LR_CMD_METRICS,         /* GET /metrics (Prometheus text) */
    LR_CMD_LIST_DELIVERIES, /* GET /v1/deliveries?status=&channel=&limit=&cursor=: query */
    LR_CMD_GET_DELIVERY,    /* GET /v1/deliveries/{id}: id */
    LR_CMD_RETRY_DELIVERY,  /* POST /v1/deliveries/{id}/retry: id */
    LR_CMD_QUEUES           /* internal: the engine's queues as JSON (for GET /v1/stats) */
} lr_cmd_type;

/* One item of a batch command: an event parsed by the HTTP thread, or the
 * error that stopped it from parsing (then the writer only reports it). */
typedef struct lr_cmd_item {
    lr_event ev;                    /* owned; zeroed when err_status != 0 */
    const char *body;               /* borrowed: this item's JSON text as received */
    size_t len;
    const char *lead_body;          /* a lead's own text: BODY, or the "lead" member's of
                                       a {"type":"lead","lead":{...}} (borrowed; NULL: BODY) */
    size_t lead_len;
    unsigned char hash[32];         /* hash of body (leads: idempotency) */
    int err_status;                 /* 0, or the HTTP status of a parse error */
    const char *err_code;           /* with err_status: "invalid_json", ... */
    char err_msg[256];
} lr_cmd_item;

typedef struct lr_cmd {
    lr_cmd_type type;
    /* input (set by the HTTP thread; borrowed by the writer) */
    lr_cmd_item *items;             /* LEADS, EVENTS, PREVIEW */
    size_t nitems;
    bool array;                     /* the body was an array: reply with "results" */
    const char *idem_key;           /* Idempotency-Key header, or NULL */
    const char *idem_scope;         /* with it: the API key's id (a key is remembered
                                       per API key) */
    unsigned char idem_hash[32];    /* hash of the whole body, with idem_key */
    int idem_nalt;                  /* idem_hash_alt[0..n) match too: an optional body */
    unsigned char idem_hash_alt[2][32]; /* that is empty or {} is "{}" in idem_hash; keys
                                       stored before hashed it as sent (and an empty one
                                       matches a retry with {}) */
    const char *id;                 /* GET_LEAD, GET_AGENT */
    const char *scope_agent;        /* agent keys: the agent they are bound to, else NULL */
    lr_lead_query query;            /* LIST_LEADS */
    lr_time since, until;           /* STATS: the window (LR_TIME_NONE: open) */
    struct {                        /* LIST_DELIVERIES (NULL: any) */
        const char *status, *channel, *cursor;
        int limit;
    } deliveries;
    lr_config *config;              /* PUT_CONFIG: owned by the writer once called */
    const char *config_text;        /* PUT_CONFIG: the text, as stored */
    size_t config_len;
    char *refusal;                  /* PUT_CONFIG with config NULL: the 422 body (owned)
                                       when the text is not the config in use */
    lr_config *unchecked;           /* PUT_CONFIG with config NULL: the text loaded without
                                       checking that its environment variables are set,
                                       when it loads so (owned); NULL otherwise */
    char *warnings;                 /* PUT_CONFIG with a config: its warnings, a JSON
                                       array (owned), as `leadrouter check` prints them */
    bool from_api;                  /* PUT_CONFIG over HTTP: it may name no environment
                                       variable the config in use does not */
    bool if_changed;                /* PUT_CONFIG: nothing happens when the text is the
                                       config's in use (body {"version":N,"unchanged":true});
                                       with it, config NULL (a text that does not load)
                                       only asks whether it is: 422 when it is not */
    lr_buf *decisions_out;          /* when set, each new decision is appended as a
                                       JSON line (leadrouter route --db) */
    bool (*gone_fn)(void *ud);      /* reads: whether the client has hung up (called
                                       with done_ud before the read runs; NULL: never) */
    /* output (set by the writer) */
    int status;                     /* HTTP status */
    const char *content_type;       /* static; "application/json" unless said */
    lr_buf body;                    /* the reply body */
    /* private to service.c */
    struct lr_cmd *next;
    void (*done_fn)(struct lr_cmd *cmd, void *ud);
    void *done_ud;
    uint64_t gen;                   /* its commit's flusher generation */
} lr_cmd;

/* Called once a submitted command is done (see lr_service_submit). */
typedef void (*lr_cmd_done_fn)(lr_cmd *cmd, void *ud);

typedef struct lr_service_opts {
    const char *db_path;
    lr_store_sync sync;
    const char *config_path;        /* used when the store has no config yet, or to
                                       replace the stored one (a config change) */
    uint64_t seed;
    size_t max_batch;               /* commands per commit; default 256 */
    bool no_explain;                /* decisions without why.candidates */
    bool event_clock;               /* never read the wall clock: a new config is
                                       journaled at `start` (leadrouter route --db) */
    lr_time start;
    lr_buf *startup_out;            /* when set, the decisions of a config change made
                                       at the start (a changed config_path) are
                                       appended as JSON lines (leadrouter route --db) */
    bool inline_fsync;              /* lr_service_start at LR_SYNC_FULL: fsync inside
                                       each COMMIT instead of on the flush thread */
    int checkpoint_ms;              /* lr_service_start: background WAL checkpoints
                                       this often; 0: every 100 ms; < 0: none */
    int64_t idem_keep_ms;           /* Idempotency-Keys are forgotten this long after
                                       they were stored; 0: never */
} lr_service_opts;

/* Opens the store, loads the config (the stored one, or CONFIG_PATH, which
 * wins when it differs and is then journaled as a config change), replays
 * the journal into a fresh engine and starts the writer thread. Returns
 * LR_OK and *out, or an error with a message in ERR. */
int lr_service_start(const lr_service_opts *opts, lr_service **out, char *err, size_t errlen);

/* Whether the start applied opts.config_path as a config change (it
 * differed from the stored config, which a PUT /v1/config may have set). */
bool lr_service_config_file_applied(const lr_service *svc);

/* The config the engine runs on now (the service's: valid until its next
 * config change; for a caller that changes none, until lr_service_stop). */
const lr_config *lr_service_config(const lr_service *svc);

/* The seed the random strategies use: the store's (the --seed of its
 * first start), whatever opts.seed said. */
uint64_t lr_service_seed(const lr_service *svc);
/* Whether this start recorded its seed in a store whose journal was made
 * before stores kept their seed (the caller says so: if the journal was
 * made with another --seed, its random choices now replay otherwise). */
bool lr_service_seed_recorded(const lr_service *svc);

/* As lr_service_start() without the writer thread: the caller then drives
 * the service itself from one thread with lr_service_begin(),
 * lr_service_run() and lr_service_commit() (leadrouter route --db). */
int lr_service_open(const lr_service_opts *opts, lr_service **out, char *err, size_t errlen);

/* After lr_service_open() at LR_SYNC_FULL: each lr_service_commit() then
 * writes the WAL and a flush thread fsyncs it while the caller goes on
 * (flusher.c); lr_service_stop() waits for the last flush. What the caller
 * writes out before then may run ahead of the disk by the flushes in
 * progress, as it runs ahead of the commits by a batch, unless it waits
 * (lr_service_wait_stored). LR_OK (also when
 * the sync mode is not full: nothing to do), or an error with ERR. */
int lr_service_flush_behind(lr_service *svc, char *err, size_t errlen);

/* After lr_service_open(): the store's writes run on a thread of their
 * own (store.h, "deferred writes") while the caller routes the next
 * events; a lead's repeat is still recognised (a read waits for the
 * writes before it). lr_service_stop() waits for the last of them.
 * LR_OK, or an error with ERR. */
int lr_service_defer_writes(lr_service *svc, char *err, size_t errlen);

/* After lr_service_open() on a file: the WAL is copied into the database
 * by a checkpoint thread of its own (checkpointer.h) every INTERVAL_MS
 * (0: 100), not inside the caller's commits; lr_service_stop() stops it
 * after the last commit. LR_OK (also for :memory:, nothing to do), or an
 * error with ERR. */
int lr_service_checkpoint_behind(lr_service *svc, int interval_ms, char *err, size_t errlen);

/* Opens a transaction / executes CMD at time NOW (the clock of the events,
 * not the wall clock) inside it / commits it. Store failures are fatal. */
void lr_service_begin(lr_service *svc);
void lr_service_run(lr_service *svc, lr_cmd *cmd, lr_time now);
/* Returns the commit's number: 1, 2, ... in the order of the calls. */
uint64_t lr_service_commit(lr_service *svc);
/* Waits until commit N is as durable as the sync mode says (its COMMIT
 * ran, on the store's thread with deferred writes; at full, a flush after
 * it returned too): what the caller learned from the commands up to it
 * may then be shown. */
void lr_service_wait_stored(lr_service *svc, uint64_t n);

/* The engine's clock (the time of the last event applied). */
lr_time lr_service_now(const lr_service *svc);

/* Finishes the commands already handed in, commits, stops the writer and
 * frees everything. Accepts NULL. */
void lr_service_stop(lr_service *svc);

/* For a stop that has waited long enough: the reads still queued (a pile
 * of GET /v1/stats, each seconds on a large store, perhaps for clients
 * long gone) are answered 503 shutting_down at once, and later ones too;
 * the reads running finish. */
void lr_service_refuse_reads(lr_service *svc);

/* Hands CMD to the writer (or, for a read, to a reader thread) and returns
 * at once. DONE(CMD, UD) is called once CMD's status, content type and body
 * are set and whatever it changed is on disk: on the writer's, the flush
 * or a reader's thread, or on this one when the service is stopping (503).
 * CMD, and everything it borrows, must stay valid until then; DONE may
 * free it. Thread-safe. */
void lr_service_submit(lr_service *svc, lr_cmd *cmd, lr_cmd_done_fn done, void *ud);

/* lr_service_submit() and wait for DONE. Thread-safe; not on the writer. */
void lr_service_call(lr_service *svc, lr_cmd *cmd);

/* SIGHUP of `serve`: reads PATH again and, when it validates and differs
 * from the config in use, applies it as PUT /v1/config does (journaled,
 * leads routed again as the change requires). Says on standard error
 * what came of it; an invalid file leaves the config in use untouched.
 * Not on the writer. */
void lr_service_reload(lr_service *svc, const char *path);

/* Releases what a command owns (items' events, config, body). */
void lr_cmd_release(lr_cmd *cmd);

#endif
