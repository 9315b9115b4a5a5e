/* dispatch.h -- the dispatcher: sends the outbox's deliveries (store.h)
 * after their decisions are committed, off the writer's thread.
 *
 *   writer:      decision + delivery rows in one COMMIT -> lr_dispatch_hint()
 *                (the bodies it has at hand) -> flush -> lr_dispatch_durable(),
 *                lr_dispatch_poke()
 *   dispatcher:  reads due deliveries on its own store handle -- retries
 *                through the due index, fresh ones by id above its cursor
 *                (only their rows when it has their bodies from a hint) --
 *                sends them
 *                with libcurl (webhooks over HTTP(S), email over SMTP), at
 *                most `concurrency` at once per channel, and reports each
 *                outcome through REPORT
 *   writer:      records the outcomes (256 at once, or after 10 ms) and the
 *                cursors' marks (lr_dispatch_marks), COMMIT ->
 *                lr_dispatch_settled()
 *
 * A delivery is in flight from the moment it is picked until the writer
 * has committed its outcome; it is not picked again meanwhile. A crash
 * anywhere loses nothing: a delivery whose outcome was not committed is
 * still open in the store and is sent again, with the same id, after the
 * restart (receivers drop duplicates by the Leadrouter-Delivery id); a
 * fresh one is found again because the stored mark of its channel never
 * passes a delivery whose outcome is not committed with it.
 *
 * Sending never blocks the writer: the only things the two threads share
 * are this object's mutex-guarded fields and the report callback.
 */
#ifndef LR_DELIVERY_DISPATCH_H
#define LR_DELIVERY_DISPATCH_H

#include "leadrouter/config.h"
#include "leadrouter/store.h"

typedef struct lr_dispatcher lr_dispatcher;

/* The outcome of one attempt, handed to the report callback (which takes
 * ownership: free() it). */
typedef struct lr_delivery_result {
    struct lr_delivery_result *next;    /* free for the receiver's list */
    int64_t id;
    const char *status;             /* static: "delivered", "retrying", "dead" or
                                       "cancelled" (a notice whose lead moved on) */
    int attempts;                   /* attempts so far, this one included */
    lr_time next_at;                /* "retrying": when the next attempt is due */
    lr_time at;                     /* when the attempt ended */
    lr_time window_from;            /* retries stop retry_for after this */
    int64_t replays;                /* the delivery's replays when it was picked (a
                                       replay since then makes this outcome stale) */
    int http_status;                /* the answer's status (SMTP: reply code); 0: none */
    char error[300];                /* what went wrong, "" when delivered */
} lr_delivery_result;

typedef void (*lr_dispatch_report_fn)(lr_delivery_result *r, void *ud);

/* Opens a store handle on DB_PATH and starts the dispatcher's thread with
 * no channels (lr_dispatch_configure gives them). Returns LR_OK and *out,
 * or an error with a message in ERR. */
int lr_dispatch_start(const char *db_path, lr_store_sync sync, lr_dispatch_report_fn report,
                      void *ud, lr_dispatcher **out, char *err, size_t errlen);

/* The bodies of fresh delivery ID as the writer has them: DECISION (in
 * the form the delivery was made with: as stored, or brief) and LEAD (as
 * received, or NULL when the writer does not have it at hand: then no
 * hint is given at all), both malloc'd, taken over. The
 * dispatcher then does not read them back from the store. Dropped when
 * too many wait (the store has them). Thread-safe. */
void lr_dispatch_hint(lr_dispatcher *d, int64_t id, char *decision, size_t dlen, char *lead,
                      size_t llen);

/* Whether a hint given now would be kept: false while as many wait as the
 * dispatcher holds (a receiver down, a backlog), so that the writer does
 * not copy bodies only to have them dropped. Thread-safe. */
bool lr_dispatch_hint_room(lr_dispatcher *d);

/* Deliveries with ids up to ID are on disk, with their decisions: nothing
 * newer is sent (a writer whose commits reach the disk later, on a flush
 * thread, says this after each flush; ids grow with the commits). Until it
 * is called there is no limit. Thread-safe. */
void lr_dispatch_durable(lr_dispatcher *d, int64_t id);

/* Takes CFG's channels (copied, secrets read from the environment now).
 * Thread-safe; attempts already in flight finish with the old settings. */
int lr_dispatch_configure(lr_dispatcher *d, const lr_config *cfg);

/* New or replayed deliveries were committed: look for due ones now. */
void lr_dispatch_poke(lr_dispatcher *d);

/* The writer committed the outcomes of deliveries IDS: they may be picked
 * again (when they are still open). */
void lr_dispatch_settled(lr_dispatcher *d, const int64_t *ids, size_t n);

/* A channel's mark for the store (lr_store_set_outbox_mark): no fresh
 * delivery of CHANNEL that still has to be sent has an id below
 * fresh_from. */
typedef struct lr_dispatch_mark {
    char channel[260];
    int64_t fresh_from;
} lr_dispatch_mark;
typedef int (*lr_dispatch_mark_fn)(const char *channel, int64_t fresh_from, void *ud);

/* Calls FN with each channel's mark as of now (only channels the
 * dispatcher has read since it started): the writer stores them with the
 * outcomes it records, in the same transaction -- a delivery awaiting its
 * outcome's commit keeps the mark at or below it. Stops at, and returns,
 * FN's first error. Thread-safe. */
int lr_dispatch_marks(lr_dispatcher *d, lr_dispatch_mark_fn fn, void *ud);

/* Stops the thread: attempts in flight are abandoned (they stay open in the
 * store and are sent again later) and nothing more is reported. The other
 * functions may still be called, until lr_dispatch_free. Accepts NULL. */
void lr_dispatch_stop(lr_dispatcher *d);

/* Frees a stopped dispatcher (lr_dispatch_stop) and what it held. Accepts
 * NULL. */
void lr_dispatch_free(lr_dispatcher *d);

#endif
