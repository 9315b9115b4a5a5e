/* service.c -- the writer thread: queue, group commit, start-up replay,
 * graceful stop (see service.h for the contract).
 *
 * The loop: wait for commands (or the engine's next deadline), take up to
 * max_batch of them, BEGIN, fire due deadlines, execute each command,
 * COMMIT, then hand the batch back. With --sync full the COMMIT only
 * writes the WAL and the batch waits for the flush thread (flusher.c),
 * whose fdatasync covers every commit before it, while this thread goes
 * on with the next batches: in one transaction, left open until that
 * flush ends (or max_batch commands wait), then committed at once for
 * the next flush, before the commands queued meanwhile run (they start
 * the next transaction). Each command's done callback runs after the flush that
 * covers its commit, so its reply leaves only once it is on disk. Without
 * a flush thread (--inline-fsync, or another sync mode) the COMMIT is as
 * durable as the mode says and the callbacks run right after it. The more
 * callers wait, the more commands share one fsync.
 *
 * Start-up: the journal is replayed through a fresh engine, config changes
 * included, which rebuilds the state exactly (the engine is deterministic
 * and every event carries the time it was applied at). A thread of
 * replay.c reads and parses the entries while this one applies them.
 */
#include "server/service_impl.h"
#include "server/replay.h"
#include "core/trim.h"
#include "leadrouter/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WRITER_WAL_LIMIT (320LL * 1024 * 1024)  /* with the checkpointer: twice its RESTART_AT
                                                  (16 KiB pages), so that the writer checkpoints
                                                  only if it falls behind */

const double lr_commit_bounds[LR_COMMIT_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024
};

static lr_time wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (lr_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The writer's clock: the wall clock, but never before the engine's. A
 * request that reads the engine (stats, queues, metrics) moves its clock
 * to the wall clock without a journal entry; should the wall clock then
 * step back, an event stamped with it would be replayed, after a restart,
 * at a time before decisions already stored (their times must never go
 * back as their ids grow: GET /v1/stats finds a window's by a search over
 * the ids). */
static lr_time writer_now(const lr_service *svc) {
    lr_time w = wall_ms(), e = lr_engine_now(svc->eng);
    return w > e ? w : e;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void lr_cmd_release(lr_cmd *cmd) {
    if (!cmd) return;
    for (size_t i = 0; i < cmd->nitems; i++) lr_event_release(&cmd->items[i].ev);
    free(cmd->items);
    cmd->items = NULL;
    cmd->nitems = 0;
    lr_config_free(cmd->config);
    cmd->config = NULL;
    free(cmd->refusal);
    cmd->refusal = NULL;
    lr_config_free(cmd->unchecked);
    cmd->unchecked = NULL;
    free(cmd->warnings);
    cmd->warnings = NULL;
    lr_buf_release(&cmd->body);
}

/* ---- the writer ------------------------------------------------------------ */

static void record_commit(lr_service *svc, double secs, size_t ncmds) {
    int b = 0;
    while (b < LR_COMMIT_BUCKETS && secs > lr_commit_bounds[b]) b++;
    svc->commit_bucket[b]++;
    svc->commit_sum += secs;
    svc->commits++;
    svc->batch_cmds += ncmds;
}

/* Hands each command of list BATCH back to its submitter (mu not held:
 * a callback may free its command, or resume an HTTP connection). */
static void release(lr_cmd *batch) {
    for (lr_cmd *c = batch; c;) {
        lr_cmd *next = c->next;
        c->next = NULL;
        c->done_fn(c, c->done_ud);
        c = next;
    }
}

static size_t count_cmds(const lr_cmd *c) {
    size_t n = 0;
    for (; c; c = c->next) n++;
    return n;
}

/* True when no flush is running or waiting: a commit now starts one at
 * once (mu held). */
static bool flush_idle(const lr_service *svc) {
    return !svc->flusher || svc->synced_gen >= svc->commit_gen;
}

/* True when the delivery outcomes waiting should be recorded now (mu
 * held, svc->results set): LR_RESULTS_BATCH of them, or the oldest has
 * waited LR_RESULTS_WAIT_MS by the clock T (or the clock went back). */
static bool results_due(const lr_service *svc, lr_time t) {
    return svc->nresults >= LR_RESULTS_BATCH || t >= svc->results_at + LR_RESULTS_WAIT_MS ||
           svc->results_at > t + LR_RESULTS_WAIT_MS;
}

/* A COMMIT that failed (a full disk, an I/O error): the engine is ahead
 * of the store, so the process stops (FATAL). Whether the transaction is
 * stored is not known: SQLite may fail after its commit frame is in the
 * WAL (growing the -shm on a full disk), and the next start recovers it.
 * The requests of the transaction (list BATCH) are answered 503 first,
 * saying so, and given a moment to leave: sent again with the same id or
 * Idempotency-Key once the server is back, they are made or answered 200.
 * Those of the commits before it are answered by their flush, which goes
 * on meanwhile. */
_Noreturn static void commit_failed(lr_service *svc, lr_cmd *batch, int rc) {
    char msg[512];
    snprintf(msg, sizeof msg, "the store could not commit this request (%s), which may or may "
             "not have been stored; the server stops; send it again with the same id or "
             "Idempotency-Key once it is back (what was stored is answered 200, not made twice)",
             lr_store_errmsg(svc->store));
    for (lr_cmd *c = batch; c; c = c->next) {
        c->content_type = NULL;
        lr_service_reply_error(svc, c, 503, "store_unavailable", msg);
    }
    fprintf(stderr, "leadrouter: COMMIT failed: %zu requests answered 503\n", count_cmds(batch));
    release(batch);
    struct timespec pause = { 0, 250 * 1000000L };
    nanosleep(&pause, NULL);
    lr_service_fatal(svc, "COMMIT", rc);
}

static void *writer_main(void *arg) {
    lr_service *svc = arg;
    pthread_setname_np(pthread_self(), "lr-writer");
    /* The open transaction: the commands executed in it, oldest first, and
     * the delivery outcomes it recorded. */
    bool open = false;
    lr_cmd *head = NULL, *tail = NULL;
    size_t ncmds = 0;
    int64_t *settled = NULL;
    size_t nsettled = 0;
    pthread_mutex_lock(&svc->mu);
    for (;;) {
        while (!svc->head && !svc->stopping) {
            if (open && flush_idle(svc)) break;     /* what it holds commits now */
            lr_time dl = lr_engine_next_deadline(svc->eng);
            /* old idempotency keys go on an idle server too */
            if (svc->opts.idem_keep_ms > 0 && (dl == LR_TIME_NONE || svc->idem_next < dl))
                dl = svc->idem_next;
            if (svc->results) {     /* a batch of them, or the oldest waited enough */
                if (results_due(svc, wall_ms())) break;
                lr_time rdl = svc->results_at + LR_RESULTS_WAIT_MS;
                if (dl == LR_TIME_NONE || rdl < dl) dl = rdl;
            }
            if (dl == LR_TIME_NONE) {
                pthread_cond_wait(&svc->work, &svc->mu);
                continue;
            }
            if (dl <= wall_ms()) break;
            struct timespec ts = { dl / 1000, (long)(dl % 1000) * 1000000 };
            pthread_cond_timedwait(&svc->work, &svc->mu, &ts);
        }
        if (!svc->head && !svc->results && svc->stopping && !open) break;
        /* A flush ended while a transaction is open: commit it now, before
         * what came meanwhile runs, so the next flush starts sooner; that
         * goes into the next transaction. */
        bool commit_first = open && flush_idle(svc) && svc->flusher;
        /* take a batch: with what the transaction holds, max_batch at most */
        lr_cmd *batch = commit_first ? NULL : svc->head, *last = batch;
        size_t n = batch ? 1 : 0;
        while (last && last->next && ncmds + n < svc->opts.max_batch) { last = last->next; n++; }
        if (batch) {
            svc->head = last->next;
            if (!svc->head) svc->tail = NULL;
            last->next = NULL;
            svc->queued -= n;
        }
        /* outcomes: only once due (each transaction that records some
         * rewrites their rows' pages, and the due index's for retries),
         * all at a stop */
        lr_delivery_result *results = NULL;
        if (!commit_first && svc->results && (svc->stopping || results_due(svc, wall_ms()))) {
            results = svc->results;
            svc->results = NULL;
            svc->nresults = 0;
        }
        pthread_mutex_unlock(&svc->mu);

        lr_time now = writer_now(svc);
        bool fresh = !open;             /* the first pass of a transaction */
        if (!open) {
            /* another process holding the store's lock (a sqlite3 shell in
             * a transaction) makes the requests wait, not the server stop */
            int rc;
            bool said = false;
            while ((rc = lr_store_begin(svc->store)) != LR_OK && lr_store_locked(svc->store)) {
                if (!said)
                    fprintf(stderr, "leadrouter: the store is locked by another process: waiting\n");
                said = true;
                lr_store_rollback(svc->store);
            }
            if (rc != LR_OK) lr_service_fatal(svc, "BEGIN", rc);
            if (said) fprintf(stderr, "leadrouter: the store is free again\n");
            open = true;
            now = writer_now(svc);
        }
        if (results) lr_outbox_record(svc, results, &settled, &nsettled);
        lr_service_tick(svc, now);
        if (fresh) lr_service_prune_idem(svc, now);     /* one slice a commit */
        for (lr_cmd *c = batch; c; c = c->next) lr_service_execute(svc, c, now);
        if (batch) {
            if (tail) tail->next = batch; else head = batch;
            tail = last;
            ncmds += n;
        }

        pthread_mutex_lock(&svc->mu);
        /* While a flush runs, the transaction stays open for what comes
         * next: a commit now would wait for the next flush anyway, and one
         * COMMIT for all of it writes each page it changed to the WAL once,
         * where a commit per batch wrote the same leaf pages again and again
         * (and every byte more makes the fsync slower). */
        if (!flush_idle(svc) && !svc->stopping && ncmds < svc->opts.max_batch) continue;
        pthread_mutex_unlock(&svc->mu);

        uint64_t gen = svc->flusher ? lr_flusher_begin(svc->flusher) : 0;
        double t0 = mono_s();
        int rc = lr_store_commit(svc->store);
        if (rc != LR_OK) commit_failed(svc, head, rc);
        lr_store_watch_check(svc->watch);   /* no flusher: before anything is handed out */
        record_commit(svc, mono_s() - t0, ncmds);
        open = false;
        batch = head;
        last = tail;
        head = tail = NULL;
        ncmds = 0;

        pthread_mutex_lock(&svc->mu);
        /* Outcomes may be forgotten now: were they lost with the last
         * commits, the deliveries would only be sent again. */
        if (svc->dispatch && nsettled) lr_dispatch_settled(svc->dispatch, settled, nsettled);
        free(settled);
        settled = NULL;
        nsettled = 0;
        lr_outbox_hand_over(svc);   /* the new deliveries' bodies, before any poke */
        if (!svc->flusher) {
            if (svc->dispatch && svc->dlv_added) lr_dispatch_poke(svc->dispatch);
            svc->dlv_added = 0;
            pthread_mutex_unlock(&svc->mu);
            release(batch);
            pthread_mutex_lock(&svc->mu);
            continue;
        }
        if (batch) {                /* their replies wait for the flush */
            for (lr_cmd *c = batch; c; c = c->next) c->gen = gen;
            if (svc->flush_tail) svc->flush_tail->next = batch; else svc->flush_head = batch;
            svc->flush_tail = last;
        }
        if (svc->dlv_added) {
            svc->poke_gen = gen;
            svc->poke_id = svc->dlv.last_id;
        }
        svc->dlv_added = 0;
        svc->commit_gen = gen;
        pthread_mutex_unlock(&svc->mu);
        lr_flusher_committed(svc->flusher, gen);
        pthread_mutex_lock(&svc->mu);
    }
    pthread_mutex_unlock(&svc->mu);
    return NULL;
}

/* The flusher's callback: every commit up to SYNCED is on disk. Wakes the
 * callers of those batches and lets the dispatcher see their deliveries. */
static void flushed(uint64_t synced, void *ud) {
    lr_service *svc = ud;
    pthread_mutex_lock(&svc->mu);
    if (synced > svc->synced_gen) svc->synced_gen = synced;
    pthread_cond_signal(&svc->work);    /* a transaction left open commits now */
    lr_cmd *done = svc->flush_head, *last = NULL;
    for (lr_cmd *c = done; c && c->gen <= synced; c = c->next) last = c;
    if (last) {
        svc->flush_head = last->next;
        if (!svc->flush_head) svc->flush_tail = NULL;
        last->next = NULL;
    } else {
        done = NULL;
    }
    if (svc->poke_gen && svc->poke_gen <= synced) {
        if (svc->dispatch) {
            lr_dispatch_durable(svc->dispatch, svc->poke_id);
            lr_dispatch_poke(svc->dispatch);
        }
        svc->poke_gen = 0;
    }
    pthread_mutex_unlock(&svc->mu);
    release(done);
}

void lr_service_submit(lr_service *svc, lr_cmd *cmd, lr_cmd_done_fn done, void *ud) {
    cmd->done_fn = done;
    cmd->done_ud = ud;
    cmd->next = NULL;
    if (lr_service_is_read(cmd->type)) {
        lr_service_read_submit(svc, cmd);
        return;
    }
    pthread_mutex_lock(&svc->mu);
    if (svc->stopping) {
        pthread_mutex_unlock(&svc->mu);
        lr_service_reply_error(svc, cmd, 503, "shutting_down", "the server is stopping");
        done(cmd, ud);
        return;
    }
    if (svc->tail) svc->tail->next = cmd; else svc->head = cmd;
    svc->tail = cmd;
    svc->queued++;
    pthread_cond_signal(&svc->work);
    pthread_mutex_unlock(&svc->mu);
}

typedef struct waiter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
} waiter;

static void wake(lr_cmd *cmd, void *ud) {
    waiter *w = ud;
    (void)cmd;
    pthread_mutex_lock(&w->mu);
    w->done = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

void lr_service_call(lr_service *svc, lr_cmd *cmd) {
    waiter w = { .done = false };
    pthread_mutex_init(&w.mu, NULL);
    pthread_cond_init(&w.cv, NULL);
    lr_service_submit(svc, cmd, wake, &w);
    pthread_mutex_lock(&w.mu);
    while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
    pthread_mutex_unlock(&w.mu);
    pthread_cond_destroy(&w.cv);
    pthread_mutex_destroy(&w.mu);
}

/* ---- start-up ---------------------------------------------------------------- */

static int read_file(const char *path, char **text, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) { snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno)); return LR_EIO; }
    lr_buf b = LR_BUF_INIT;
    char chunk[65536];
    size_t n;
    int rc = LR_OK;
    bool big = false;
    while (rc == LR_OK && !big && (n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        big = b.len + n > LR_CONFIG_MAX_BYTES;
        if (!big) rc = lr_buf_append(&b, chunk, n);
    }
    bool bad = ferror(f);
    int e = errno;                  /* fread's, when it failed (a directory: EISDIR) */
    fclose(f);
    if (big) {
        lr_buf_release(&b);
        snprintf(err, errlen, "%s: over %d MiB: not a routing config", path, LR_CONFIG_MAX_BYTES >> 20);
        return LR_EINVAL;
    }
    if (rc != LR_OK || bad) {
        lr_buf_release(&b);
        if (rc != LR_OK) snprintf(err, errlen, "%s: cannot read: out of memory", path);
        else snprintf(err, errlen, "%s: cannot read: %s", path, strerror(e));
        return rc != LR_OK ? rc : LR_EIO;
    }
    if (!b.data && lr_buf_puts(&b, "") != LR_OK) return LR_ENOMEM;
    *text = lr_buf_detach(&b, len);
    return LR_OK;
}

/* lr_config_warnings' callback: MSG on stderr, named by the file UD
 * rather than "<string>", as `leadrouter check` names it. */
static void print_warning(const char *msg, void *ud) {
    const char *pfx = "<string>:";
    if (strncmp(msg, pfx, strlen(pfx)) == 0) fprintf(stderr, "leadrouter: %s:%s\n", (const char *)ud,
                                                      msg + strlen(pfx));
    else fprintf(stderr, "leadrouter: %s\n", msg);
}

static int load_config(const char *text, size_t len, const char *name, bool journaled,
                       lr_config **out, char *err, size_t errlen) {
    lr_config_errors errs = { 0 };
    int rc = journaled ? lr_config_load_journaled(text, len, name, out, &errs)
                       : lr_config_load_string(text, len, name, out, &errs);
    if (rc != LR_OK) {
        /* whole lines only: those that fit with room for one that says how
         * many more there are (a cut line would read as an error of its own) */
        size_t off = 0, i = 0, tail = strlen(name) + 96;   /* the last line's length */
        for (; i < errs.n; i++) {
            size_t need = strlen(errs.msgs[i]) + (i ? 1 : 0);
            if (off + need + 1 > errlen || (i + 1 < errs.n && off + need + tail + 1 > errlen)) break;
            off += (size_t)snprintf(err + off, errlen - off, "%s%s", i ? "\n" : "", errs.msgs[i]);
        }
        if (i < errs.n)
            snprintf(err + off, errlen - off, "%s%s: %zu more errors not shown here: leadrouter check "
                     "--config lists them all", off ? "\n" : "", name, errs.n - i);
        if (errs.n == 0) snprintf(err, errlen, "%s: %s", name, lr_strerror(rc));
    }
    lr_config_errors_release(&errs);
    return rc;
}

/* Takes TEXT (owned) as the service's config: creates the engine, or
 * switches it (decisions of the switch are not stored: replay only). */
static int adopt_config(lr_service *svc, char *text, size_t len, int64_t seq, lr_time at,
                        bool journaled, char *err, size_t errlen) {
    lr_config *cfg = NULL;
    char name[64];      /* a journaled config is named by its entry: the file may differ */
    if (journaled) snprintf(name, sizeof name, "journal entry %lld (config)", (long long)seq);
    int rc = load_config(text, len, journaled ? name
                         : svc->opts.config_path ? svc->opts.config_path : "config",
                         journaled, &cfg, err, errlen);
    if (rc != LR_OK) { free(text); return rc; }
    if (!svc->eng) {
        lr_engine_opts eo = { .seed = svc->opts.seed, .start = at, .explain = !svc->opts.no_explain };
        rc = lr_engine_create(cfg, &eo, &svc->eng);
        if (rc == LR_OK && journaled) lr_engine_set_replaying(svc->eng, true);  /* until replayed */
    } else {
        unsigned flags = (seq >= svc->carry_from ? LR_RECONF_CARRY : 0) |
                         (seq >= svc->zone_from ? LR_RECONF_ZONE_WINDOWS : 0) |
                         (seq >= svc->owner_from ? LR_RECONF_OWNER_INDEX : 0) |
                         (seq >= svc->mode_change_from ? LR_RECONF_MODE_CHANGE : 0) |
                         (seq >= svc->zone_offers_from ? LR_RECONF_ZONE_OFFERS : 0) |
                         (seq >= svc->reroute_order_from ? LR_RECONF_REROUTE_ORDER : 0) |
                         (seq >= svc->agents_kept_from ? LR_RECONF_KEEP_GONE : 0);
        rc = lr_engine_reconfigure(svc->eng, cfg, flags, NULL, NULL);
    }
    if (rc != LR_OK) {
        lr_config_free(cfg);
        free(text);
        snprintf(err, errlen, "starting the engine: %s", lr_strerror(rc));
        return rc;
    }
    lr_config_free(svc->cfg);
    free(svc->cfg_text);
    svc->cfg = cfg;
    lr_service_note_envs(svc, cfg);
    svc->cfg_text = text;
    svc->cfg_len = len;
    svc->cfg_seq = seq;
    svc->cfg_gen++;
    return LR_OK;
}

typedef struct replay_ctx {
    lr_service *svc;
    char *err;
    size_t errlen;
    size_t cfg_max;                 /* the longest config text replayed */
} replay_ctx;

/* Applies one journal entry, read and parsed by replay.c, as it was
 * applied live. */
static int replay_one(lr_replay_entry *e, void *ud) {
    replay_ctx *r = ud;
    lr_service *svc = r->svc;
    int64_t seq = e->seq;
    svc->seq = seq;
    if (svc->eng)
        lr_engine_set_legacy(svc->eng, (seq < svc->queue_from ? LR_LEGACY_QUEUE_WAITS : 0) |
                                       (seq < svc->tier_from ? LR_LEGACY_TIER_CLOCK : 0) |
                                       (seq < svc->pull_from ? LR_LEGACY_PULL_ORDER : 0) |
                                       (seq < svc->no_answer_from ? LR_LEGACY_NO_ANSWER : 0) |
                                       (seq < svc->timer_order_from ? LR_LEGACY_TIMER_ORDER : 0) |
                                       (seq < svc->decline_answer_from ? LR_LEGACY_DECLINE_ANSWER : 0) |
                                       (seq < svc->catch_up_order_from ? LR_LEGACY_CATCH_UP_ORDER : 0) |
                                       (seq < svc->catch_up_answer_from ? LR_LEGACY_CATCH_UP_ANSWER : 0));
    if (e->config) {
        char *text = e->text;           /* adopt_config's now */
        e->text = NULL;
        if (e->len > r->cfg_max) r->cfg_max = e->len;
        if (svc->eng) {                 /* as live: the clock moves to the change first */
            lr_event tick = { .type = LR_EV_TICK, .at = e->at };
            int rc = lr_engine_apply(svc->eng, &tick, NULL, NULL);
            if (rc != LR_OK) { free(text); return rc; }
        }
        return adopt_config(svc, text, e->len, seq, e->at, true, r->err, r->errlen);
    }
    if (!svc->eng) {
        snprintf(r->err, r->errlen, "journal entry %lld comes before any config", (long long)seq);
        return LR_ECONFIG;
    }
    if (e->parsed != LR_OK) {
        snprintf(r->err, r->errlen, "journal entry %lld does not parse: %s", (long long)seq, e->msg);
        return LR_EINVAL;
    }
    e->ev.at = e->at;
    if (e->ev.type == LR_EV_LEAD) svc->leads_in++;
    return lr_engine_apply(svc->eng, &e->ev, NULL, NULL);
}

/* Whether PATH names no store yet: no file, or an empty one (made by
 * touch or mktemp): opening it makes a new store. */
static bool store_is_new(const char *path) {
    struct stat st;
    if (!path) return false;
    if (stat(path, &st) != 0) return errno == ENOENT;
    return S_ISREG(st.st_mode) && st.st_size == 0;
}

int lr_service_open(const lr_service_opts *opts, lr_service **out, char *err, size_t errlen) {
    /* nothing to serve without a config: no empty store made at the path */
    if (!opts->config_path && store_is_new(opts->db_path)) {
        snprintf(err, errlen, "%s %s: give a config with --config to make a new store",
                 opts->db_path, access(opts->db_path, F_OK) == 0 ? "is empty" : "does not exist");
        return LR_ECONFIG;
    }
    /* The file is read once (a pipe can be read only once). A new store
     * is not made for a config that does not load: checked before it is
     * opened. An existing store's own config is replayed as it was
     * accepted, and the file applied below only when it differs. */
    char *text = NULL;
    size_t len = 0;
    lr_config *file_cfg = NULL;     /* the file, when it changes an existing store's config */
    if (opts->config_path) {
        int rc = read_file(opts->config_path, &text, &len, err, errlen);
        if (rc == LR_OK && store_is_new(opts->db_path)) {
            lr_config *cfg = NULL;
            rc = load_config(text, len, opts->config_path, false, &cfg, err, errlen);
            if (rc == LR_OK) lr_config_warnings(cfg, print_warning, (void *)opts->config_path);
            lr_config_free(cfg);
        }
        if (rc != LR_OK) { free(text); return rc; }
    }
    lr_service *svc = calloc(1, sizeof *svc);
    if (!svc) { free(text); return LR_ENOMEM; }
    svc->opts = *opts;
    svc->idem_next = wall_ms() + lr_service_prune_every(svc);  /* not at once: a start commits nothing */
    if (!svc->opts.max_batch) svc->opts.max_batch = 256;
    pthread_mutex_init(&svc->mu, NULL);
    pthread_cond_init(&svc->work, NULL);
    pthread_cond_init(&svc->stored_cv, NULL);
    pthread_mutex_init(&svc->rmu, NULL);
    pthread_cond_init(&svc->rwork, NULL);

    int rc = lr_store_open_writer(opts->db_path, opts->sync, &svc->store, err, errlen);
    if (rc != LR_OK) goto fail;
    /* from which journal entry each behaviour applies (sqlite.c's
     * engine_marks); a mark that is not there: never, replay as made */
    const struct { const char *name; int64_t *seq; } marks[] = {
        { "rotations_kept_from", &svc->carry_from }, { "queue_dispatch_from", &svc->queue_from },
        { "zone_windows_from", &svc->zone_from }, { "tier_clock_from", &svc->tier_from },
        { "pull_order_from", &svc->pull_from }, { "no_answer_from", &svc->no_answer_from },
        { "owner_index_from", &svc->owner_from }, { "timer_order_from", &svc->timer_order_from },
        { "mode_change_from", &svc->mode_change_from }, { "zone_offers_from", &svc->zone_offers_from },
        { "reroute_order_from", &svc->reroute_order_from },
        { "decline_answer_from", &svc->decline_answer_from },
        { "catch_up_order_from", &svc->catch_up_order_from },
        { "catch_up_answer_from", &svc->catch_up_answer_from },
        { "agents_kept_from", &svc->agents_kept_from },
    };
    for (size_t i = 0; i < sizeof marks / sizeof marks[0] && (rc == LR_OK || rc == LR_ENOENT); i++) {
        rc = lr_store_engine_mark(svc->store, marks[i].name, marks[i].seq);
        if (rc == LR_ENOENT) *marks[i].seq = INT64_MAX;
    }
    /* the seed the journal was made with: a start with another --seed
     * would replay random choices other than those stored */
    int64_t seed = 0, last = 0;
    if (rc == LR_OK || rc == LR_ENOENT) rc = lr_store_engine_mark(svc->store, "seed", &seed);
    if (rc == LR_OK) {
        svc->opts.seed = (uint64_t)seed;
    } else if (rc == LR_ENOENT && (rc = lr_store_last_seq(svc->store, &last)) == LR_OK && last > 0) {
        svc->seed_recorded = true;  /* made before stores kept their seed: this
                                       start's is recorded once it has succeeded */
    }                               /* a new store: kept with its first config */
    if (rc != LR_OK) {
        snprintf(err, errlen, "reading the store: %s", lr_store_errmsg(svc->store));
        goto fail;
    }
    replay_ctx r = { svc, err, errlen, 0 };
    rc = lr_replay_journal(svc->store, replay_one, &r);
    if (rc != LR_OK) {
        if (!err[0]) snprintf(err, errlen, "replaying the journal: %s", lr_strerror(rc));
        goto fail;
    }
    if (r.cfg_max >= LR_TRIM_AFTER) lr_trim();  /* the configs' parses, once (trim.h) */
    if (svc->eng) {
        lr_engine_set_legacy(svc->eng, 0);      /* new events: as this version */
        lr_engine_set_replaying(svc->eng, false);
    }
    /* A file that differs from the store's config must load before
     * anything is written: a start that fails changes nothing. */
    if (text && svc->eng && !(svc->cfg_text && len == svc->cfg_len && memcmp(text, svc->cfg_text, len) == 0) &&
        (rc = load_config(text, len, opts->config_path, false, &file_cfg, err, errlen)) != LR_OK)
        goto fail;
    if (file_cfg) lr_config_warnings(file_cfg, print_warning, (void *)opts->config_path);
    /* Deadlines that passed while the server was stopped fire now, before
     * anything else (a new config included): an offer that expired
     * meanwhile moves on to the next agent, who gets the whole timeout
     * from now, not one that ran out while nobody could accept it. */
    lr_time dl = svc->eng ? lr_engine_next_deadline(svc->eng) : LR_TIME_NONE;
    if (!opts->event_clock && dl != LR_TIME_NONE && dl <= wall_ms()) {
        if ((rc = lr_store_begin(svc->store)) == LR_OK) {
            lr_service_catch_up(svc, wall_ms());
            rc = lr_store_commit(svc->store);
        }
        if (rc != LR_OK) {
            snprintf(err, errlen, "storing the deadlines passed while stopped: %s",
                     lr_store_errmsg(svc->store));
            goto fail;
        }
    }
    /* route --db's --start past an existing store's clock moves it there,
     * as a tick in the journal (a file's events without a time are then
     * dated there, and the deadlines passed by then fire), before a
     * changed config, which would be dated there too */
    if (opts->event_clock && svc->eng && opts->start > lr_engine_now(svc->eng)) {
        if ((rc = lr_store_begin(svc->store)) == LR_OK) {
            lr_service_clock_to(svc, opts->start, opts->startup_out);
            rc = lr_store_commit(svc->store);
        }
        if (rc != LR_OK) {
            snprintf(err, errlen, "storing the clock's move to --start: %s", lr_store_errmsg(svc->store));
            goto fail;
        }
    }
    if (text) {
        lr_time now = wall_ms();
        if (opts->event_clock)
            now = svc->eng && lr_engine_now(svc->eng) > opts->start ? lr_engine_now(svc->eng)
                                                                    : opts->start;
        if (svc->cfg_text && len == svc->cfg_len && memcmp(text, svc->cfg_text, len) == 0) {
            /* unchanged */
        } else if (!svc->eng) {
            /* A new store: the file is the first journal entry. */
            int64_t seq = svc->seq + 1;
            char *copy = malloc(len + 1);
            if (!copy) { rc = LR_ENOMEM; goto fail; }
            memcpy(copy, text, len + 1);
            if ((rc = adopt_config(svc, copy, len, seq, now, false, err, errlen)) != LR_OK)
                goto fail;
            if ((rc = lr_store_begin(svc->store)) == LR_OK &&
                (rc = lr_store_append_event(svc->store, seq, now, "config", NULL, text, len)) == LR_OK &&
                (rc = lr_store_engine_mark_keep(svc->store, "seed", (int64_t)svc->opts.seed)) == LR_OK)
                rc = lr_store_commit(svc->store);
            if (rc != LR_OK) {
                snprintf(err, errlen, "storing the config: %s", lr_store_errmsg(svc->store));
                goto fail;
            }
            svc->seq = seq;
        } else {
            /* A changed file: a config change like PUT /v1/config, its
             * decisions stored. */
            lr_cmd cmd;
            memset(&cmd, 0, sizeof cmd);
            cmd.type = LR_CMD_PUT_CONFIG;
            cmd.config = file_cfg;          /* loaded above */
            file_cfg = NULL;
            cmd.config_text = text;
            cmd.config_len = len;
            cmd.decisions_out = opts->startup_out;
            if ((rc = lr_store_begin(svc->store)) == LR_OK) {
                lr_service_execute(svc, &cmd, now);
                rc = lr_store_commit(svc->store);
            }
            lr_cmd_release(&cmd);
            if (rc != LR_OK) {
                snprintf(err, errlen, "storing the config: %s", lr_store_errmsg(svc->store));
                goto fail;
            }
            svc->file_changed_config = true;
        }
        free(text);
        text = NULL;
    }
    if (!svc->eng) {
        snprintf(err, errlen, "%s has no config yet: give one with --config", opts->db_path);
        rc = LR_ECONFIG;
        goto fail;
    }
    if ((rc = lr_store_delivery_counts(svc->store, &svc->dlv)) != LR_OK ||
        (rc = lr_store_data_version(svc->store, &svc->data_version)) != LR_OK) {
        snprintf(err, errlen, "counting deliveries: %s", lr_store_errmsg(svc->store));
        goto fail;
    }
    if (svc->seed_recorded) {
        if ((rc = lr_store_begin(svc->store)) == LR_OK &&
            (rc = lr_store_engine_mark_keep(svc->store, "seed", (int64_t)svc->opts.seed)) == LR_OK)
            rc = lr_store_commit(svc->store);
        if (rc != LR_OK) {
            snprintf(err, errlen, "storing the seed: %s", lr_store_errmsg(svc->store));
            goto fail;
        }
    }
    *out = svc;
    return LR_OK;
fail:
    free(text);
    lr_config_free(file_cfg);
    lr_service_stop(svc);
    return rc;
}

void lr_service_reload(lr_service *svc, const char *path) {
    char err[4096] = "";
    char *text = NULL;
    size_t len = 0;
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = LR_CMD_PUT_CONFIG;
    cmd.if_changed = true;
    if (read_file(path, &text, &len, err, sizeof err) != LR_OK) {
        fprintf(stderr, "leadrouter: SIGHUP: the config in use stays:\n%s\n", err);
        return;
    }
    /* A text that does not load may still be the config in use, as an
     * earlier version accepted it (the writer compares): no change then. */
    bool loads = load_config(text, len, path, false, &cmd.config, err, sizeof err) == LR_OK;
    if (loads) lr_config_warnings(cmd.config, print_warning, (void *)path);
    cmd.config_text = text;
    cmd.config_len = len;
    lr_service_call(svc, &cmd);
    if (!loads && cmd.status != 200) {
        fprintf(stderr, "leadrouter: SIGHUP: the config in use stays:\n%s\n", err);
        lr_cmd_release(&cmd);
        free(text);
        return;
    }
    long long version = 0;
    const char *body = cmd.body.data ? cmd.body.data : "";
    sscanf(body, "{\"version\":%lld", &version);
    if (cmd.status != 200)
        fprintf(stderr, "leadrouter: SIGHUP: %s not applied: %d %s\n", path, cmd.status, body);
    else if (strstr(body, "\"unchanged\":true"))
        fprintf(stderr, "leadrouter: SIGHUP: %s is the config in use (version %lld): nothing "
                "changed\n", path, version);
    else
        fprintf(stderr, "leadrouter: SIGHUP: %s applied as a config change (version %lld), as "
                "PUT /v1/config would\n", path, version);
    lr_cmd_release(&cmd);
    free(text);
}

bool lr_service_config_file_applied(const lr_service *svc) {
    return svc->file_changed_config;
}

const lr_config *lr_service_config(const lr_service *svc) {
    return svc->cfg;
}

uint64_t lr_service_seed(const lr_service *svc) {
    return svc->opts.seed;
}

bool lr_service_seed_recorded(const lr_service *svc) {
    return svc->seed_recorded;
}

/* Starts the checkpoint thread on the service's file, every INTERVAL_MS;
 * the writer then checkpoints itself only if the thread falls behind. */
static int start_checkpointer(lr_service *svc, int interval_ms, char *err, size_t errlen) {
    int rc = lr_checkpointer_start(svc->opts.db_path, svc->opts.sync, interval_ms,
                                   &svc->checkpointer, err, errlen);
    if (rc == LR_OK && (rc = lr_store_wal_limit(svc->store, WRITER_WAL_LIMIT)) != LR_OK)
        snprintf(err, errlen, "%s", lr_store_errmsg(svc->store));
    return rc;
}

int lr_service_start(const lr_service_opts *opts, lr_service **out, char *err, size_t errlen) {
    lr_service *svc;
    int rc = lr_service_open(opts, &svc, err, errlen);
    if (rc != LR_OK) return rc;
    for (size_t i = 0; i < svc->cfg->nchannels; i++) {
        const lr_channel_conf *c = &svc->cfg->channels[i];
        const char *const vars[][2] = { { c->secret_env, "secret_env" },
                                        { c->username_env, "username_env" },
                                        { c->password_env, "password_env" } };
        for (size_t k = 0; k < 3; k++) {
            const char *var = vars[k][0];
            if (var && (!getenv(var) || !getenv(var)[0])) {
                snprintf(err, errlen, "channel '%s': the environment variable %s (%s) is not "
                         "set or empty", c->name, var, vars[k][1]);
                lr_service_stop(svc);
                return LR_ECONFIG;
            }
        }
    }
    if (opts->sync == LR_SYNC_FULL && !opts->inline_fsync)
        rc = lr_flusher_start(svc->store, flushed, svc, &svc->flusher, err, errlen);
    else
        rc = lr_store_watch_open(svc->store, &svc->watch, err, errlen);
    if (rc == LR_OK)
        rc = lr_dispatch_start(opts->db_path, opts->sync, lr_outbox_report, svc, &svc->dispatch,
                               err, errlen);
    /* Whatever is in the store now is on disk; what the writer adds is
     * only once its flush is done (flushed()). */
    if (rc == LR_OK && svc->flusher) lr_dispatch_durable(svc->dispatch, svc->dlv.last_id);
    if (rc == LR_OK) rc = lr_dispatch_configure(svc->dispatch, svc->cfg);
    if (rc == LR_OK && opts->checkpoint_ms >= 0)
        rc = start_checkpointer(svc, opts->checkpoint_ms, err, errlen);
    if (rc != LR_OK) {
        if (!err[0]) snprintf(err, errlen, "starting the dispatcher: %s", lr_strerror(rc));
        lr_service_stop(svc);
        return rc;
    }
    if (pthread_create(&svc->thread, NULL, writer_main, svc) != 0) {
        snprintf(err, errlen, "cannot start the writer thread");
        lr_service_stop(svc);
        return LR_ENOMEM;
    }
    svc->started = true;
    if ((rc = lr_service_start_readers(svc, err, errlen)) != LR_OK) {
        lr_service_stop(svc);
        return rc;
    }
    *out = svc;
    return LR_OK;
}

void lr_service_begin(lr_service *svc) {
    int rc = lr_store_begin(svc->store);
    if (rc != LR_OK) lr_service_fatal(svc, "BEGIN", rc);
}

void lr_service_run(lr_service *svc, lr_cmd *cmd, lr_time now) {
    lr_service_execute(svc, cmd, now);
}

/* route --db's commits up to N are as durable as the sync mode says. */
static void stored_up_to(lr_service *svc, uint64_t n) {
    pthread_mutex_lock(&svc->mu);
    if (n > svc->cli_stored) svc->cli_stored = n;
    pthread_cond_broadcast(&svc->stored_cv);
    pthread_mutex_unlock(&svc->mu);
}

/* route --db's flushes: its commits are numbered by the flusher's
 * generations (it begins no other). */
static void flushed_quietly(uint64_t synced, void *ud) {
    stored_up_to(ud, synced);
}

int lr_service_flush_behind(lr_service *svc, char *err, size_t errlen) {
    if (svc->started || svc->flusher || svc->opts.sync != LR_SYNC_FULL) return LR_OK;
    const char *path = svc->opts.db_path;
    if (!path || !path[0] || strcmp(path, ":memory:") == 0) return LR_OK;  /* no file */
    return lr_flusher_start(svc->store, flushed_quietly, svc, &svc->flusher, err, errlen);
}

int lr_service_checkpoint_behind(lr_service *svc, int interval_ms, char *err, size_t errlen) {
    if (svc->started || svc->checkpointer) return LR_OK;
    const char *path = svc->opts.db_path;
    if (!path || !path[0] || strcmp(path, ":memory:") == 0) return LR_OK;  /* no file */
    return start_checkpointer(svc, interval_ms, err, errlen);
}

/* A deferred write failed on the store's thread (store.h). */
static void store_fatal(const char *what, int rc, void *ud) {
    lr_service_fatal(ud, what, rc);
}

int lr_service_defer_writes(lr_service *svc, char *err, size_t errlen) {
    if (svc->started) return LR_OK;     /* the server's writer has no use for it */
    int rc = lr_store_defer_start(svc->store, store_fatal, svc);
    if (rc != LR_OK)
        snprintf(err, errlen, "starting the store's thread: %s (%s)", lr_strerror(rc),
                 lr_store_errmsg(svc->store));
    return rc;
}

/* The COMMIT of flush generation GEN returned: the flusher may cover it. */
static void committed(void *ud, uint64_t gen) {
    lr_flusher_committed(ud, gen);
}

/* Without a flusher the COMMIT itself is as durable as the mode says. */
static void committed_stored(void *ud, uint64_t n) {
    stored_up_to(ud, n);
}

uint64_t lr_service_commit(lr_service *svc) {
    double t0 = mono_s();
    uint64_t n = svc->flusher ? lr_flusher_begin(svc->flusher) : svc->cli_commits + 1;
    svc->cli_commits = n;
    int rc = svc->flusher ? lr_store_commit_then(svc->store, committed, svc->flusher, n)
                          : lr_store_commit_then(svc->store, committed_stored, svc, n);
    if (rc != LR_OK) lr_service_fatal(svc, "COMMIT", rc);
    record_commit(svc, mono_s() - t0, 0);
    svc->dlv_added = 0;             /* no dispatcher here: they wait in the outbox */
    lr_outbox_hand_over(svc);       /* (which frees their bodies) */
    return n;
}

void lr_service_wait_stored(lr_service *svc, uint64_t n) {
    pthread_mutex_lock(&svc->mu);
    while (svc->cli_stored < n) pthread_cond_wait(&svc->stored_cv, &svc->mu);
    pthread_mutex_unlock(&svc->mu);
}

lr_time lr_service_now(const lr_service *svc) { return lr_engine_now(svc->eng); }

void lr_service_stop(lr_service *svc) {
    if (!svc) return;
    lr_service_stop_readers(svc);   /* they finish their queue (stats ask the writer) */
    /* no more outcomes; its last ones are recorded below. The writer and the
     * flusher may still call it (hints, marks, pokes): freed after them */
    lr_dispatch_stop(svc->dispatch);
    if (svc->started) {
        pthread_mutex_lock(&svc->mu);
        svc->stopping = true;
        pthread_cond_broadcast(&svc->work);
        pthread_mutex_unlock(&svc->mu);
        pthread_join(svc->thread, NULL);
    }
    lr_store_defer_stop(svc->store);    /* its last COMMIT before the last flush */
    lr_flusher_stop(svc->flusher);  /* its last flush releases the last callers */
    svc->flusher = NULL;
    lr_store_watch_free(svc->watch);
    lr_checkpointer_stop(svc->checkpointer);
    lr_dispatch_free(svc->dispatch);
    svc->dispatch = NULL;
    pthread_cond_destroy(&svc->rwork);
    pthread_mutex_destroy(&svc->rmu);
    for (lr_delivery_result *r = svc->results, *next; r; r = next) {
        next = r->next;             /* without a writer: left open, sent later */
        free(r);
    }
    lr_outbox_hand_over(svc);       /* no dispatcher any more: frees what is left */
    free(svc->emails);
    lr_buf_release(&svc->brief);
    lr_buf_release(&svc->one);
    lr_engine_destroy(svc->eng);
    lr_config_free(svc->cfg);
    free(svc->cfg_text);
    for (size_t i = 0; i < svc->nenv_names; i++) free(svc->env_names[i]);
    free(svc->env_names);
    lr_store_close(svc->store);
    pthread_cond_destroy(&svc->work);
    pthread_cond_destroy(&svc->stored_cv);
    pthread_mutex_destroy(&svc->mu);
    free(svc);
}
