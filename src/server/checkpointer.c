/* checkpointer.c -- the background WAL checkpoints (checkpointer.h). */
#include "server/checkpointer.h"
#include "leadrouter/error.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RESTART_AT 10240            /* WAL frames (160 MiB of 16 KiB pages, the pages of
                                       a new store; 40 MiB of 4 KiB ones) */
#define CLOSE_ENOUGH 256            /* frames left for the RESTART to copy */
#define CHASE_MAX 8                 /* PASSIVE passes before it */
#define BUSY_MS 20                  /* the longest a RESTART waits for a reader */
#define IDLE_TIMES 4                /* after a pass with nothing to copy, the next
                                       comes this many intervals later: an idle
                                       server's passes cost ~90 us each */

struct lr_checkpointer {
    lr_store *store;
    int interval_ms;
    bool sync;                      /* flush what it copied (not at LR_SYNC_OFF) */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t stop_cv;
    bool stopping;
    int synced;                     /* WAL frames copied as of the last flush */
    int last_log;                   /* WAL frames at the last pass (fewer: restarted) */
};

/* A PASSIVE checkpoint, then an fdatasync of the database file when it
 * copied pages: SQLite syncs the file only when a checkpoint copied the
 * whole WAL, which with commits never stopping is only the RESTART one;
 * it then had 40 MiB of pages to flush while the writer waited (37-50 ms
 * measured). Flushed here, outside every lock, the RESTART finds little.
 * At LR_SYNC_OFF nothing is flushed, as SQLite's own checkpoints would not. */
static int passive(lr_checkpointer *c, int *log, int *copied) {
    int rc = lr_store_checkpoint(c->store, false, log, copied);
    if (rc == LR_OK && *log < c->last_log) c->synced = 0;      /* a new WAL */
    if (rc == LR_OK) c->last_log = *log;
    if (rc == LR_OK && c->sync && *copied > 0 && *copied != c->synced) {
        lr_store_sync_file(c->store);   /* a failure shows again in SQLite's own sync */
        c->synced = *copied;
    }
    return rc;
}

/* One pass: copy what the WAL holds; once it is past RESTART_AT, chase
 * the writer until little is left, then RESTART: the writer waits only
 * for that little, and its next commit starts the WAL over.
 *
 * A reader's snapshot (a read transaction of another process: a sqlite3
 * shell, `leadrouter deliveries list`) pins the frames after it, and no
 * chase copies them: then no RESTART, which would hold the writers' lock
 * while it waits for the reader, and the writer's BEGIN would give up
 * after its 5 s (measured: `route --db` aborted, "database is locked").
 * The handle's waits are BUSY_MS at most (lr_checkpointer_start) for the
 * reader that comes between the chase and the RESTART. The WAL grows
 * until the reader is done. */
static int pass(lr_checkpointer *c, bool *idle) {
    int log = 0, copied = 0, before = c->last_log;
    int rc = passive(c, &log, &copied);
    /* -1 and -1: the checkpoint could not run (another held its lock) */
    *idle = rc == LR_OK && log >= 0 && log == before && copied == log;
    if (rc != LR_OK || log < RESTART_AT) return rc;
    for (int i = 0; i < CHASE_MAX && log - copied > CLOSE_ENOUGH; i++)
        if ((rc = passive(c, &log, &copied)) != LR_OK) return rc;
    if (log - copied > CLOSE_ENOUGH) return LR_OK;     /* pinned by a reader */
    return lr_store_checkpoint(c->store, true, NULL, NULL);
}

static void *checkpoint_main(void *arg) {
    lr_checkpointer *c = arg;
    pthread_setname_np(pthread_self(), "lr-checkpoint");
    char failing[256] = "";         /* the failure last said, until a pass works */
    bool idle = false;
    pthread_mutex_lock(&c->mu);
    while (!c->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)c->interval_ms * (idle ? IDLE_TIMES : 1) * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        int w = 0;
        while (!c->stopping && w != ETIMEDOUT) w = pthread_cond_timedwait(&c->stop_cv, &c->mu, &ts);
        if (c->stopping) break;
        pthread_mutex_unlock(&c->mu);
        /* retried next time; said once, not ten times a second (a full disk) */
        if (pass(c, &idle) != LR_OK) {
            const char *msg = lr_store_errmsg(c->store);
            if (strcmp(msg, failing) != 0)
                fprintf(stderr, "leadrouter: background checkpoint: %s (tried again every %d ms; "
                        "said again only when it changes)\n", msg, c->interval_ms);
            snprintf(failing, sizeof failing, "%s", msg);
        } else if (failing[0]) {
            fprintf(stderr, "leadrouter: background checkpoint: working again\n");
            failing[0] = '\0';
        }
        pthread_mutex_lock(&c->mu);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

int lr_checkpointer_start(const char *db_path, lr_store_sync sync, int interval_ms,
                          lr_checkpointer **out, char *err, size_t errlen) {
    lr_checkpointer *c = calloc(1, sizeof *c);
    if (!c) return LR_ENOMEM;
    c->interval_ms = interval_ms > 0 ? interval_ms : 100;
    c->sync = sync != LR_SYNC_OFF;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->stop_cv, NULL);
    int rc = lr_store_open_again(db_path, sync, &c->store, err, errlen);
    if (rc == LR_OK && (rc = lr_store_busy_limit(c->store, BUSY_MS)) != LR_OK)
        snprintf(err, errlen, "%s", lr_store_errmsg(c->store));
    if (rc == LR_OK && pthread_create(&c->thread, NULL, checkpoint_main, c) != 0) {
        snprintf(err, errlen, "cannot start the checkpoint thread");
        rc = LR_ENOMEM;
    }
    if (rc != LR_OK) {
        lr_store_close(c->store);
        pthread_cond_destroy(&c->stop_cv);
        pthread_mutex_destroy(&c->mu);
        free(c);
        return rc;
    }
    *out = c;
    return LR_OK;
}

void lr_checkpointer_stop(lr_checkpointer *c) {
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stopping = true;
    pthread_cond_signal(&c->stop_cv);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL);
    lr_store_close(c->store);
    pthread_cond_destroy(&c->stop_cv);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
