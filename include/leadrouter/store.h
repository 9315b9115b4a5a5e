/* store.h -- durable storage: the journal of applied events, the decisions,
 * the leads as received, config versions, API keys and idempotency keys.
 *
 * The server's state is the engine's, and the engine is deterministic: the
 * journal of events (each with the time it was applied at, and config
 * changes among them) is the source of truth, and replaying it through a
 * fresh engine rebuilds every counter, queue, rotation and offer exactly.
 * The other tables are projections kept in the same transactions, for
 * queries and idempotency.
 *
 * SQLite is the implementation (src/store/sqlite.c): one file, WAL,
 * synchronous=FULL by default. SQL lives only in src/store/, always with
 * bound parameters. A store handle is used by one thread at a time; the
 * server's writer owns one, and other threads may open their own on the
 * same file (readers do not block the writer in WAL mode). With deferred
 * writes (below) the handle's own thread runs the writes, and the caller
 * uses the handle only once they are done.
 *
 * Every function returns LR_OK or a negative LR_E code; on LR_EIO the
 * handle's last error message is in lr_store_errmsg().
 */
#ifndef LEADROUTER_STORE_H
#define LEADROUTER_STORE_H

#include "leadrouter/buf.h"
#include "leadrouter/decision.h"
#include "leadrouter/model.h"

typedef struct lr_store lr_store;

typedef enum lr_store_sync {
    LR_SYNC_FULL = 0,               /* fsync at every commit: a 2xx is on disk */
    LR_SYNC_NORMAL,                 /* WAL sync at checkpoints only: a power loss may
                                       lose the last commits (a process crash does not) */
    LR_SYNC_OFF                     /* no fsync at all: for tests and benchmarks only */
} lr_store_sync;

/* Opens (creating when missing) the store at PATH and brings its schema up
 * to date. Returns LR_OK and *out, or LR_EIO with a message in ERR;
 * LR_ESTATE for an SQLite database of another program (tables and no
 * leadrouter schema: nothing is added to it) or of a newer leadrouter. */
int lr_store_open(const char *path, lr_store_sync sync, lr_store **out, char *err,
                  size_t errlen);
/* The same for a store that must exist already: a missing file, an empty
 * one or an SQLite database without the schema is an error (LR_EIO,
 * LR_ESTATE) and nothing is created. With LR_SYNC_FULL. */
int lr_store_open_existing(const char *path, lr_store **out, char *err, size_t errlen);
/* Another handle on a store this process opened already (readers, the
 * checkpointer, the key lookup, the dispatcher): like
 * lr_store_open_existing, at SYNC. Never creates a file: were the store
 * deleted under a running server, a new handle fails instead of making an
 * empty store at the path. */
int lr_store_open_again(const char *path, lr_store_sync sync, lr_store **out, char *err,
                        size_t errlen);
/* lr_store_open for the handle that writes the journal (`serve`, `route
 * --db`): the journal and the engine's state are one process's, so the
 * store is claimed for this handle until lr_store_close, before its
 * schema is brought up to date: LR_ESTATE with a message naming the file
 * when another process (a `serve`, a `route --db`) holds it. Other
 * processes may still read the store and write what is not the journal
 * (`keys`). A store file, -wal or -shm this user cannot write is an
 * error too (LR_EIO). */
int lr_store_open_writer(const char *path, lr_store_sync sync, lr_store **out, char *err,
                         size_t errlen);
void lr_store_close(lr_store *s);           /* accepts NULL */
const char *lr_store_errmsg(const lr_store *s);

/* Copies what it can of the WAL into the database file without waiting
 * for the writer or blocking it (a PASSIVE checkpoint), on a handle of its
 * own: *wal_pages gets the WAL's size and *copied how much of it is now in
 * the database file (either may be NULL). With RESTART it waits for the
 * writer's transaction to end, copies the rest while the writer waits, and
 * makes the next commit start the WAL over: what keeps the WAL from
 * growing while commits never stop (SQLite restarts a WAL only when all
 * of it was copied before the next transaction began). */
int lr_store_checkpoint(lr_store *s, bool restart, int *wal_pages, int *copied);

/* Flushes the database file (not the WAL) to disk through the handle's
 * own file (SQLite's xSync: no descriptor of ours, whose close would drop
 * SQLite's locks). */
int lr_store_sync_file(lr_store *s);

/* Makes the handle give up after about MS milliseconds (at least 1) when
 * another handle holds a lock it needs, instead of 5 s: for a handle whose
 * waits would hold up others (the checkpointer's RESTART holds the
 * writers' lock while it waits for readers). */
int lr_store_busy_limit(lr_store *s, int ms);

/* Makes the handle's commits checkpoint themselves once the WAL passes
 * BYTES (SQLite's wal_autocheckpoint; ~40 MiB at open). */
int lr_store_wal_limit(lr_store *s, int64_t bytes);

/* ---- pipelined group commit (flusher.c) ----------------------------------
 *
 * For a writer at LR_SYNC_FULL that wants its fsync off its own thread:
 * lr_flusher_start() turns the handle's commits into WAL writes without an
 * fsync and starts a thread that fdatasync()s the WAL after them. The
 * writer numbers each commit with lr_flusher_begin() before its COMMIT and
 * reports it with lr_flusher_committed() after; ON_SYNCED(GEN, UD) is
 * called on the flusher's thread once every commit up to GEN is on disk,
 * and only then may their results be acknowledged. A failed flush aborts
 * the process (what was committed is not known to be durable). */
typedef struct lr_flusher lr_flusher;
typedef void (*lr_flusher_fn)(uint64_t synced, void *ud);

#define LR_FLUSH_BUCKETS 12
extern const double lr_flush_bounds[LR_FLUSH_BUCKETS];     /* seconds */
typedef struct lr_flush_stats {
    uint64_t count;
    double sum;                     /* seconds */
    uint64_t bucket[LR_FLUSH_BUCKETS + 1];                  /* last: +Inf */
} lr_flush_stats;

int lr_flusher_start(lr_store *s, lr_flusher_fn on_synced, void *ud, lr_flusher **out,
                     char *err, size_t errlen);
uint64_t lr_flusher_begin(lr_flusher *f);
void lr_flusher_committed(lr_flusher *f, uint64_t gen);
/* Waits until every commit begun so far is on disk (any thread). */
void lr_flusher_barrier(lr_flusher *f);
void lr_flusher_stats(lr_flusher *f, lr_flush_stats *out);
/* Flushes what is committed, stops the thread, sets the handle back to
 * synchronous=FULL. Call after the writer's last commit. Accepts NULL. */
void lr_flusher_stop(lr_flusher *f);

/* ---- the store's files (watch.c) ------------------------------------------
 *
 * SQLite goes on writing to the files it has open when somebody deletes,
 * moves or replaces the store under a running process; a restart would
 * find none of it. lr_store_watch_open() notes which files the store's
 * path and its -wal name;
 * lr_store_watch_check() (two stat()s) stops the process, FATAL on
 * stderr, when a path names no file or another one, or the database file
 * was emptied in place: call it after commits and before acknowledging
 * them (or handing out what they made). A store in memory has nothing to watch (*OUT is
 * NULL); check and free accept NULL. */
typedef struct lr_store_watch lr_store_watch;
int lr_store_watch_open(lr_store *s, lr_store_watch **out, char *err, size_t errlen);
void lr_store_watch_check(lr_store_watch *w);
void lr_store_watch_free(lr_store_watch *w);

/* One transaction at a time. Commit returns only when the data is as
 * durable as the sync mode says. */
int lr_store_begin(lr_store *s);
/* Whether the last error was another connection holding the store's lock
 * past the busy timeout (5 s): worth trying again. */
bool lr_store_locked(const lr_store *s);
int lr_store_commit(lr_store *s);

/* Commits, then calls FN(UD, ARG) (when not NULL) once the COMMIT has
 * returned: at once, or with deferred writes on, on the store's thread
 * after the COMMIT ran there. */
typedef void (*lr_store_after_fn)(void *ud, uint64_t arg);
int lr_store_commit_then(lr_store *s, lr_store_after_fn fn, void *ud, uint64_t arg);

/* ---- deferred writes (defer.c) ----------------------------------------------
 *
 * For a writer whose own work (routing) is as long as its SQL: after
 * lr_store_defer_start(), lr_store_begin, _commit(_then), _append_event,
 * _add_lead, _add_decision, _set_lead_state and _add_delivery copy their
 * arguments into a queue and return at once, and a thread of the store's
 * own runs them through the handle, in the same order, while the caller
 * goes on. A decision's or a delivery's row id is given out when it is
 * queued (the next after the highest in the table when deferral began:
 * one writer at a time, as always). Any other function of the handle
 * first waits until the queue is empty, then runs on the caller's
 * thread: a read sees every write queued before it. A write that fails
 * on the store's thread cannot be reported to its caller, who has gone
 * on: FATAL(WHAT, RC, UD) is called there, and must not return (the
 * writer's own stores are fatal too, service.c). At most a few MiB wait
 * in the queue; a caller ahead of the thread waits for room.
 *
 * lr_store_defer_stop() waits for the queue to empty and stops the thread
 * (lr_store_close() does it too). Both accept a handle already in that
 * state (a second start keeps the first FATAL). LR_OK, LR_ENOMEM, or
 * LR_EIO (the ids could not be read). lr_store_errmsg() may then describe
 * a failure of either thread; read it in FATAL, not from the caller. */
typedef void (*lr_store_fatal_fn)(const char *what, int rc, void *ud);
int lr_store_defer_start(lr_store *s, lr_store_fatal_fn fatal, void *ud);
void lr_store_defer_stop(lr_store *s);

/* A read transaction: the reads until lr_store_read_end() see one
 * snapshot, taken at the first of them, and share the cost of opening
 * it (a lookup in the WAL's index per statement otherwise). LR_ESTATE
 * when a transaction is open already. */
int lr_store_read_begin(lr_store *s);
int lr_store_read_end(lr_store *s);
int lr_store_rollback(lr_store *s);

/* ---- the journal ------------------------------------------------------- */

/* Appends event SEQ (strictly increasing) applied at AT. TYPE is the event
 * type name ("lead", "progress", ... and "config" for a config change),
 * LEAD the lead id it concerns (or NULL), JSON the event as applied. */
int lr_store_append_event(lr_store *s, int64_t seq, lr_time at, const char *type,
                          const char *lead, const char *json, size_t len);

/* The highest journal seq (0 when empty). */
int lr_store_last_seq(lr_store *s, int64_t *out);

/* The seq of the engine mark NAME ("rotations_kept_from": the first seq
 * whose config changes keep rotation positions; "queue_dispatch_from":
 * the first seq replayed without LR_LEGACY_QUEUE_WAITS). LR_ENOENT when
 * none. */
int lr_store_engine_mark(lr_store *s, const char *name, int64_t *out);
/* Sets engine mark NAME to VALUE, unless it has one ("seed": the --seed
 * the journal replays with, its 64 bits as a signed value), in the
 * transaction that is open. LR_OK, or an error (lr_store_errmsg). */
int lr_store_engine_mark_keep(lr_store *s, const char *name, int64_t value);

/* Calls CB for every journal entry with seq > AFTER, in order. A non-zero
 * return from CB stops the replay and is returned. */
typedef int (*lr_store_replay_cb)(int64_t seq, lr_time at, const char *type,
                                  const char *json, size_t len, void *ud);
int lr_store_replay(lr_store *s, int64_t after, lr_store_replay_cb cb, void *ud);

/* ---- projections ----------------------------------------------------- */

/* Records a decision made by event SEQ: ACTION, LEAD (may be NULL), AGENT
 * (may be NULL), at AT, JSON its encoding (decision.h). D, when not NULL,
 * is the decision JSON was written from: its explanation is then kept in
 * a compact form made from D (decision_pack.c), and read back as the same
 * JSON. *ID (when not NULL) gets the decision's row id, which deliveries
 * refer to. */
int lr_store_add_decision(lr_store *s, int64_t seq, lr_time at, const char *lead,
                          const char *action, const char *agent, const char *json,
                          size_t len, const lr_decision *d, int64_t *id);

/* Records a new lead as received: its id, source, received time, the
 * request body that created it and a 32-byte hash of that body (for
 * idempotency: the same id with another body is a conflict), in STATE
 * (lead_rt.h names; NULL: "new") with AGENT (may be NULL): the server
 * stores a lead with its first decision's outcome, in one INSERT. */
int lr_store_add_lead(lr_store *s, const char *id, const char *source, lr_time received,
                      const char *body, size_t len, const unsigned char hash[32],
                      const char *state, const char *agent);

/* The lead's state and agent after a decision (state: lead_rt.h names). */
int lr_store_set_lead_state(lr_store *s, const char *id, const char *state,
                            const char *agent);

/* Looks a lead up: LR_OK with *seq the journal seq of the event that
 * created it and HASH its body hash, or LR_ENOENT. */
int lr_store_find_lead(lr_store *s, const char *id, int64_t *seq, unsigned char hash[32]);

/* Appends to OUT a JSON array of the decisions that lead event SEQ made
 * about the lead it created (the answer it was given), in order; LEAD,
 * when not NULL, must be that lead's id. */
int lr_store_decisions_of_event(lr_store *s, int64_t seq, const char *lead, lr_buf *out);

/* Appends to OUT the JSON object for GET /v1/leads/{id}:
 *   {"id":..,"state":..,"agent":..,"received_at":..,"source":..,
 *    "lead":<the body as received>,"decisions":[...],"progress":[...]}
 * ("progress": the progress events of the lead, as applied). LR_ENOENT
 * when there is no such lead. When AGENT is not NULL the lead must be
 * assigned to that agent, else LR_ENOENT (an agent key sees its own). */
int lr_store_lead_json(lr_store *s, const char *id, const char *agent, lr_buf *out);

typedef struct lr_lead_query {
    const char *agent;              /* NULL: any */
    const char *state;              /* NULL: any (lead_rt.h state names) */
    const char *source;             /* NULL: any */
    lr_time since;                  /* LR_TIME_NONE: any; else received_at >= since */
    lr_time until;                  /* LR_TIME_NONE: any; else received_at < until */
    int limit;                      /* 1..1000 */
    const char *cursor;             /* NULL or the opaque cursor of the previous page */
} lr_lead_query;

/* Appends to OUT {"leads":[{id,state,agent,source,received_at},...],
 * "next_cursor":"..."|null} in order of arrival. LR_EINVAL for a cursor
 * that is not one of ours. */
int lr_store_list_leads(lr_store *s, const lr_lead_query *q, lr_buf *out);

/* Appends to OUT the JSON object for GET /v1/stats: leads and decisions
 * per agent, pool, rule and source, the median and p90 time in ms from
 * arrival to assignment (first assigned/claimed decision), and deliveries
 * per channel and status with their latency. Over the window [SINCE,
 * UNTIL) (either LR_TIME_NONE: open at that end): the leads received in
 * it (received_at), the decisions made in it (at), the deliveries made in
 * it (created_at, their decision's time). */
int lr_store_stats_json(lr_store *s, lr_time since, lr_time until, lr_buf *out);

/* ---- deliveries: the outbox (src/store/deliveries.c) ----------------------
 *
 * A delivery is one notification of one decision on one channel (to one
 * recipient). It is written in the same transaction as its decision, so a
 * committed decision always has its deliveries and an uncommitted one has
 * none; the dispatcher sends it after the commit and reports the outcome,
 * which the writer records. Statuses: pending (not tried yet, or replayed),
 * retrying (failed, tried again at next_at), delivered, dead (given up,
 * with the last answer kept), cancelled (a delayed notice whose lead moved
 * on before it was due: notify `after`). Ids are shown as "dlv_<id>". */

#define LR_DLV_STATUS_MAP(X) \
    X(PENDING, "pending") X(RETRYING, "retrying") X(DELIVERED, "delivered") \
    X(DEAD, "dead") X(CANCELLED, "cancelled")
typedef enum lr_delivery_status {
#define LR_DLV_ENUM(e, s) LR_DLV_##e,
    LR_DLV_STATUS_MAP(LR_DLV_ENUM)
#undef LR_DLV_ENUM
    LR_DLV__COUNT
} lr_delivery_status;
extern const char *const lr_delivery_status_names[LR_DLV__COUNT];

/* Adds a delivery of decision DECISION (lr_store_add_decision's id) made
 * at AT: STATUS "pending", due at AT + AFTER_MS, or "dead" with ERROR when
 * it cannot be sent at all (an agent without an email). A delivery with
 * AFTER_MS > 0 is conditional: it is cancelled instead of sent when its
 * lead had another decision meanwhile. BRIEF: its decision is sent in its
 * brief form (decision.h; a webhook channel's `why: brief` when the
 * delivery is made, so that every attempt sends the same body). *ID gets
 * its id. */
int lr_store_add_delivery(lr_store *s, int64_t decision, lr_time at, int64_t after_ms,
                          const char *lead, const char *action, const char *agent,
                          const char *channel, const char *recipient, const char *status,
                          const char *error, bool brief, int64_t *id);

/* Records an attempt's outcome: STATUS ("delivered", "retrying", "dead",
 * "cancelled"), ATTEMPTS so far, NEXT_AT (retrying), AT the time of the
 * outcome, WINDOW_FROM the start of its retry window, REPLAYS the job's
 * replays as the attempt read them, HTTP_STATUS (0 when there was no
 * answer) and ERROR (NULL when none); PREV gets the status it had.
 * LR_ENOENT when there is no such delivery, it is no longer open (pending
 * or retrying: an outcome never overwrites another), or it was replayed
 * (lr_store_delivery_retry) since the attempt read it, even by a replay
 * not yet committed then: the replay is sent anew. */
int lr_store_delivery_result(lr_store *s, int64_t id, const char *status, int attempts,
                             lr_time next_at, lr_time at, lr_time window_from, int64_t replays,
                             int http_status, const char *error, char prev[16]);

/* Makes delivery ID pending again, due at NOW, its retry window restarted
 * (POST /v1/deliveries/{id}/retry); PREV gets the status it had.
 * LR_ENOENT when there is none. */
int lr_store_delivery_retry(lr_store *s, int64_t id, lr_time now, char prev[16]);

/* What the dispatcher needs to send one delivery. Borrowed pointers, valid
 * during the callback only. */
typedef struct lr_delivery_job {
    int64_t id;
    const char *lead, *action, *agent, *recipient;
    int attempts;
    lr_time created_at;             /* the decision's time */
    lr_time window_from;            /* retries stop retry_for after this */
    int64_t replays;                /* how often it was replayed (its outcome's check) */
    const char *decision_json;      /* the decision as stored */
    size_t decision_len;
    const char *lead_json;          /* the lead as received, or NULL */
    size_t lead_len;
    bool moved_on;                  /* conditional, and its lead had a later decision */
    bool unreadable;                /* its stored decision is damaged (LR_EDAMAGED):
                                       decision_json NULL; it cannot be sent */
} lr_delivery_job;

/* Calls CB for the deliveries of CHANNEL due by NOW (pending or retrying)
 * that are not fresh (see lr_store_fresh_deliveries), oldest due first, among the first LIMIT of them, leaving out the NSKIP
 * ids in SKIP (which it sorts). A non-zero return from CB stops and is
 * returned. When KNOWN (may be NULL) says the caller has a delivery's
 * bodies already, its job comes without them (decision_json NULL), unless
 * it is conditional. A job's decision_json is in the form its delivery was
 * made with (lr_store_add_delivery's BRIEF). */
typedef int (*lr_store_job_cb)(const lr_delivery_job *job, void *ud);
typedef bool (*lr_store_known_fn)(int64_t id, void *ud);
int lr_store_due_deliveries(lr_store *s, const char *channel, lr_time now, int limit,
                            int64_t *skip, size_t nskip, lr_store_known_fn known,
                            lr_store_job_cb cb, void *ud);

/* Like lr_store_due_deliveries, for CHANNEL's fresh deliveries (pending,
 * never attempted nor replayed, not delayed by `after`: the ones the due
 * query leaves out; they are due at once) with AFTER < id <= UPTO, by id,
 * at most LIMIT rows. *REACHED (on LR_OK): an id such that every fresh
 * delivery of CHANNEL up to it was among the rows read -- UPTO, or the
 * newest id, when fewer than LIMIT were; else the last row's id (AFTER
 * when nothing was read). A row whose decision is missing comes as
 * unreadable. The scan reads every channel's rows above AFTER (the ids are
 * the only index); a channel has a stored mark from its first delivery on
 * (lr_store_add_delivery), so a scan starts there, not at the first row. */
int lr_store_fresh_deliveries(lr_store *s, const char *channel, int64_t after, int64_t upto,
                              int limit, int64_t *skip, size_t nskip, lr_store_known_fn known,
                              lr_store_job_cb cb, void *ud, int64_t *reached);

/* CHANNEL's stored mark (0 when none: CHANNEL has no fresh delivery): no fresh
 * delivery of CHANNEL that still has to be sent has an id below it. The
 * first delivery of a channel sets it to its own id. */
int lr_store_outbox_mark(lr_store *s, const char *channel, int64_t *fresh_from);
/* Stores CHANNEL's mark (in the open transaction, if any). */
int lr_store_set_outbox_mark(lr_store *s, const char *channel, int64_t fresh_from);

/* The earliest next attempt of CHANNEL's open deliveries that are not
 * fresh, or LR_TIME_NONE. */
int lr_store_next_delivery(lr_store *s, const char *channel, lr_time *out);

/* Counts of deliveries per status (lr_delivery_status), and the highest
 * delivery id. */
typedef struct lr_delivery_counts {
    int64_t n[LR_DLV__COUNT];
    int64_t last_id;                /* 0: none */
} lr_delivery_counts;
int lr_store_delivery_counts(lr_store *s, lr_delivery_counts *out);

/* A number that changes whenever another connection (another process:
 * `leadrouter deliveries retry`, `keys create`) has committed to the store
 * since the last call on S; S's own commits leave it. */
int lr_store_data_version(lr_store *s, int64_t *out);

/* Appends delivery ID's JSON object to OUT (LR_ENOENT when none):
 *   {"id":"dlv_42","lead":..,"action":..,"agent":..,"channel":..,"recipient":..,
 *    "status":..,"attempts":N,"created_at":..,"next_attempt_at":..|null,
 *    "delivered_at":..|null,"last_status":N|null,"last_error":..|null} */
int lr_store_delivery_json(lr_store *s, int64_t id, lr_buf *out);

/* Appends {"deliveries":[...],"next_cursor":".."|null} to OUT: deliveries
 * by id, filtered by STATUS and CHANNEL (NULL: any), LIMIT 1..1000 a page.
 * Dead and cancelled ones come from their index, pending and retrying ones
 * from the channels' marks up and the due index below them; other pages
 * walk the ids from the cursor.
 * LR_EINVAL for a bad cursor, limit or status. */
int lr_store_list_deliveries(lr_store *s, const char *status, const char *channel,
                             int limit, const char *cursor, lr_buf *out);

/* Parses "dlv_42" or "42" into 42. LR_EINVAL for anything else. */
int lr_delivery_id_parse(const char *text, int64_t *out);

/* ---- idempotency keys -------------------------------------------------- */

/* Looks KEY up: LR_OK with the stored request hash, status and response
 * body appended to OUT, or LR_ENOENT. */
int lr_store_idem_get(lr_store *s, const char *key, unsigned char hash[32], int *status,
                      lr_buf *out);
int lr_store_idem_put(lr_store *s, const char *key, const unsigned char hash[32], int status,
                      const char *body, size_t len, lr_time created);
/* Forgets up to LIMIT keys stored before BEFORE, the oldest first; *deleted
 * (may be NULL) gets how many. */
int lr_store_idem_prune(lr_store *s, lr_time before, int limit, int *deleted);

/* ---- API keys -------------------------------------------------------- */

/* Stores a key: ID (public, shown in listings), HASH of the secret (32
 * bytes), ROLE ("admin", "ingest", "agent"), AGENT (agent role only). */
int lr_store_key_add(lr_store *s, const char *id, const unsigned char hash[32],
                     const char *role, const char *agent, lr_time created);

/* Removes key ID: LR_OK, or LR_ENOENT when there is none. A running
 * server stops taking it within LR_AUTH_RECHECK_MS (server/auth.h). */
int lr_store_key_remove(lr_store *s, const char *id);

/* Finds the key whose secret hashes to HASH: LR_OK with ROLE and AGENT
 * copied into the buffers (AGENT "" when none), or LR_ENOENT. */
int lr_store_key_find(lr_store *s, const unsigned char hash[32], char *role, size_t rolelen,
                      char *agent, size_t agentlen);

/* Calls CB for every key, oldest first: its public id, role, agent (NULL
 * when none) and creation time; never the secret, which is not stored. A
 * non-zero return from CB stops the listing and is returned. */
typedef int (*lr_store_key_cb)(const char *id, const char *role, const char *agent,
                               lr_time created, void *ud);
int lr_store_key_list(lr_store *s, lr_store_key_cb cb, void *ud);

#endif
