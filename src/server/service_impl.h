/* service_impl.h -- the service's private state, shared by service.c (the
 * writer thread, the queue, start-up and replay), execute.c (what each
 * command does and answers), outbox.c (deliveries) and reads.c (store
 * reads on the callers' threads).
 *
 * Invariant: only the writer thread touches `eng`, `store`, `cfg` and the
 * metrics counters (before it starts, the start-up's replay lends `store`
 * to replay.c's reading thread until the journal is read); `queued`, the command queue and `results` (the
 * dispatcher's outcomes) are guarded by `mu`; the reader pool of reads.c
 * by `rmu`.
 */
#ifndef LR_SERVER_SERVICE_IMPL_H
#define LR_SERVER_SERVICE_IMPL_H

#include "server/service.h"
#include "delivery/dispatch.h"
#include "server/checkpointer.h"
#include "leadrouter/decision.h"
#include "leadrouter/engine.h"

#define LR_COMMIT_BUCKETS 12
#define LR_READERS 4                /* reader threads, each with a store handle (reads.c) */
#define LR_READERS_STATS 1          /* of them, at most this many compute GET /v1/stats at once */
#define LR_RESULTS_WAIT_MS 10       /* delivery outcomes wait this long for a batch (outbox.c) */
#define LR_RESULTS_BATCH 256        /* or until this many wait */

/* An agent's email, borrowed from the config (outbox.c). */
typedef struct lr_agent_email {
    const char *id, *email;
} lr_agent_email;

struct lr_service {
    lr_service_opts opts;
    lr_store *store;
    lr_engine *eng;
    lr_config *cfg;                 /* owned: the config the engine runs on */
    char **env_names;               /* owned: "secret_env=NAME", ... of every config the
                                       service has run on (execute.c, PUT's check) */
    size_t nenv_names;
    char *cfg_text;                 /* owned */
    size_t cfg_len;
    int64_t cfg_seq;                /* journal seq of the config change */
    int64_t carry_from;             /* config changes from this seq on keep rotation
                                       positions (the store's rotations_kept_from) */
    int64_t zone_from;              /* config changes from this seq on carry cap windows
                                       into a new time zone (zone_windows_from) */
    int64_t tier_from;              /* events before this seq replay with
                                       LR_LEGACY_TIER_CLOCK (tier_clock_from) */
    int64_t pull_from;              /* ... LR_LEGACY_PULL_ORDER (pull_order_from) */
    int64_t no_answer_from;         /* ... LR_LEGACY_NO_ANSWER (no_answer_from) */
    int64_t decline_answer_from;    /* ... LR_LEGACY_DECLINE_ANSWER (decline_answer_from) */
    int64_t catch_up_order_from;    /* ... LR_LEGACY_CATCH_UP_ORDER (catch_up_order_from) */
    int64_t catch_up_answer_from;   /* ... LR_LEGACY_CATCH_UP_ANSWER (catch_up_answer_from) */
    int64_t agents_kept_from;       /* ... LR_RECONF_KEEP_GONE (agents_kept_from) */
    int64_t owner_from;             /* config changes from this seq on index open leads
                                       for a new owner rule (owner_index_from) */
    int64_t timer_order_from;       /* ... LR_LEGACY_TIMER_ORDER (timer_order_from) */
    int64_t mode_change_from;       /* config changes from this seq on route again the
                                       leads of a rule whose strategy works another way
                                       (mode_change_from) */
    int64_t zone_offers_from;       /* ... LR_RECONF_ZONE_OFFERS (zone_offers_from) */
    int64_t reroute_order_from;     /* ... LR_RECONF_REROUTE_ORDER (reroute_order_from) */
    lr_time idem_next;              /* when the writer next forgets old idempotency keys */
    bool seed_recorded;             /* lr_service_seed_recorded() */
    int64_t queue_from;             /* events before this seq replay with
                                       LR_LEGACY_QUEUE_WAITS (queue_dispatch_from) */
    bool file_changed_config;       /* opts.config_path differed from the stored config
                                       and was applied as a config change at the start */
    int64_t seq;                    /* last journal seq */

    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;            /* commands arrived, or stop */
    lr_cmd *head, *tail;
    size_t queued;
    bool stopping;
    bool started;

    /* pipelined group commit (--sync full): committed batches whose
     * callers wait for the flusher, oldest first (mu) */
    lr_flusher *flusher;            /* NULL: the COMMIT itself is durable */
    lr_store_watch *watch;          /* without a flusher: the paths looked at after
                                       each commit (the flusher has its own) */
    lr_cmd *flush_head, *flush_tail;
    uint64_t commit_gen;            /* the last commit handed to the flusher */
    uint64_t synced_gen;            /* the last one it flushed: equal, it idles */
    /* route --db (no writer thread): its commits numbered, and the last
     * one as durable as the sync mode says (mu, stored_cv) */
    uint64_t cli_commits;
    uint64_t cli_stored;
    pthread_cond_t stored_cv;
    uint64_t poke_gen;              /* poke the dispatcher once this is flushed; 0: no */
    int64_t poke_id;                /* ... and let it send deliveries up to this id */

    lr_buf *jsonl;                  /* decisions_out of the command being executed */

    /* read commands (reads.c): a queue for the reader threads, guarded by rmu */
    pthread_mutex_t rmu;
    pthread_cond_t rwork;           /* a read command arrived, a stats read ended, or stop */
    lr_cmd *rhead, *rtail;
    pthread_t rthreads[LR_READERS];
    size_t nrthreads;
    unsigned rstats;                /* readers computing stats (at most LR_READERS_STATS) */
    bool rstopping;
    uint64_t rgone;                 /* reads not run: their client had hung up */

    /* delivery (outbox.c) */
    lr_checkpointer *checkpointer;  /* NULL without a writer thread, or when off */
    lr_dispatcher *dispatch;        /* NULL without a writer thread (route --db):
                                       deliveries then wait in the outbox */
    lr_delivery_result *results;    /* outcomes reported, not yet recorded (mu) */
    size_t nresults;                /* how many (mu) */
    lr_time results_at;             /* when the oldest of them was reported (mu) */
    const lr_config *cfg_next;      /* during a config change: the new config */
    uint64_t cfg_gen;               /* bumped whenever cfg or cfg_next changes */
    uint64_t notify_gen;            /* the cfg_gen the fields below describe */
    lr_agent_email *emails;         /* the notify config's agents by id; owned */
    size_t nemails;
    bool notify_any;                /* it has notify entries at all */
    bool notify_rules;              /* some of them on rules */
    size_t dlv_added;               /* deliveries added in the open transaction */
    struct lr_outbox_hint *hints;   /* their bodies for the dispatcher (outbox.c) */
    const struct lr_outbox_bodies *bodies;  /* of the decision being added */
    lr_buf brief;                   /* scratch: its brief form (outbox.c) */
    lr_buf one;                     /* scratch: one decision's JSON (execute.c) */
    lr_delivery_counts dlv;         /* per status, for /metrics */
    int64_t data_version;           /* the store's, when dlv was last counted or kept
                                       (lr_outbox_sync_counts) */

    /* metrics */
    uint64_t leads_in;
    uint64_t decisions[LR_ACTION__COUNT];
    uint64_t commits;
    uint64_t commit_bucket[LR_COMMIT_BUCKETS + 1];     /* last: +Inf */
    double commit_sum;              /* seconds */
    uint64_t batch_cmds;            /* commands committed, for the mean batch size */
};

extern const double lr_commit_bounds[LR_COMMIT_BUCKETS];

/* Executes CMD at wall-clock time NOW inside the writer's open transaction.
 * Sets cmd->status, content_type and body. Store failures are fatal to the
 * process (the engine would be ahead of the disk): they abort. */
void lr_service_execute(lr_service *svc, lr_cmd *cmd, lr_time now);

/* Fires engine deadlines due by NOW as a journaled tick. */
void lr_service_tick(lr_service *svc, lr_time now);
/* Forgets the idempotency keys older than opts.idem_keep_ms when it is
 * time to (execute.c), in the writer's open transaction. */
void lr_service_prune_idem(lr_service *svc, lr_time now);
/* How often that is: every minute, every half keep when shorter. */
int64_t lr_service_prune_every(const lr_service *svc);
/* At a start: fires the deadlines that passed while the server was
 * stopped, all at NOW, as a journaled catch-up tick (none due: nothing). */
void lr_service_catch_up(lr_service *svc, lr_time now);

/* route --db's --start: a journaled tick at AT (past the engine's clock),
 * whatever is due or not, its decisions appended to DECISIONS_OUT. In a
 * transaction of the caller's. */
void lr_service_clock_to(lr_service *svc, lr_time at, lr_buf *decisions_out);

/* Replies {"error":{"code":CODE,"message":MSG}} with STATUS (execute.c). */
void lr_service_reply_error(lr_service *svc, lr_cmd *cmd, int status, const char *code,
                            const char *msg);

/* ---- outbox.c: the writer's side of delivery ---- */

/* The bodies a decision's deliveries are built from, as the writer has
 * them (borrowed): its JSON as stored, and its lead as received (NULL when
 * not at hand: the dispatcher then reads both from the store). */
typedef struct lr_outbox_bodies {
    const char *decision;
    size_t dlen;
    const char *lead;
    size_t llen;
} lr_outbox_bodies;

/* Adds the deliveries the config's notify entries ask for decision D
 * (stored as row DECISION_ID, with bodies B), in the open transaction. */
void lr_outbox_decision(lr_service *svc, const lr_decision *d, int64_t decision_id,
                        const lr_outbox_bodies *b);

/* After the commit, with mu held: hands the bodies of the deliveries it
 * added to the dispatcher (or drops them when there is none). */
void lr_outbox_hand_over(lr_service *svc);

/* The dispatcher's report callback: queues R for the writer (any thread). */
void lr_outbox_report(lr_delivery_result *r, void *ud);

/* Records the queued outcomes LIST in the open transaction; appends their
 * ids to *IDS (malloc'd or NULL, *N of them) for lr_dispatch_settled()
 * after the commit. */
void lr_outbox_record(lr_service *svc, lr_delivery_result *list, int64_t **ids, size_t *n);

/* POST /v1/deliveries/{id}/retry. */
void lr_outbox_exec(lr_service *svc, lr_cmd *cmd, lr_time now);

/* Counts the outbox again when another process has written to the store
 * since the last look (`leadrouter deliveries retry` on a running
 * server's store): the counts follow what it replayed. Writer thread. */
void lr_outbox_sync_counts(lr_service *svc);

/* ---- reads.c: store reads on the caller's thread ---- */

/* True for the commands the reader threads run. */
bool lr_service_is_read(lr_cmd_type t);

/* Starts the reader threads (each opens its store handle when it first
 * needs one). Returns LR_OK or LR_ENOMEM with a message in ERR. */
int lr_service_start_readers(lr_service *svc, char *err, size_t errlen);

/* Queues read command CMD for a reader thread (done_fn set). */
void lr_service_read_submit(lr_service *svc, lr_cmd *cmd);

/* Lets the reader threads finish the queue, then stops them. */
void lr_service_stop_readers(lr_service *svc);

/* Logs "leadrouter: FATAL: ..." with the store's message and aborts. */
_Noreturn void lr_service_fatal(lr_service *svc, const char *what, int rc);

/* Notes the environment variables CFG's channels name, with the member
 * that names each: a config sent over the API may name only those
 * (execute.c). */
void lr_service_note_envs(lr_service *svc, const lr_config *cfg);

#endif
