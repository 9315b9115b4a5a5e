/* flusher.c -- durable commits with the fsync off the writer's thread
 * (store.h, "group commit, pipelined").
 *
 * The writer's handle runs at synchronous=NORMAL: its COMMIT appends the
 * transaction's frames to the WAL (the page cache) and returns. This
 * thread then calls fdatasync() on the WAL file, on a descriptor of its
 * own (Linux flushes a file's dirty pages whatever descriptor wrote them),
 * and reports the generation it covered. One fdatasync covers every
 * commit whose COMMIT returned before it began: while it runs, the writer
 * already executes what came next, in a transaction it commits when the
 * flush returns (service.c), and those replies wait for the next flush.
 * A commit is acknowledged only once a flush that began after its COMMIT
 * has returned: as durable as synchronous=FULL, with the flush out of the
 * writer's cycle.
 *
 * Why the file stays consistent: WAL at NORMAL is SQLite's "never corrupt,
 * may lose the last commits on power loss"; checkpoints (other handles,
 * synchronous FULL) sync the WAL before copying it and the database after.
 * After each flush and before its commits are acknowledged, the store's
 * paths are looked at (watch.c): a store deleted, moved, replaced or
 * emptied under the running process stops it (FATAL), as nothing written
 * since could be found after a restart.
 *
 * Generations: lr_flusher_begin() numbers a commit before its COMMIT runs,
 * lr_flusher_committed() says it returned. lr_flusher_barrier() waits until
 * everything begun so far is flushed (and reported): a reader that saw a
 * commit (which began before the read) is then sure it is on disk.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct lr_flusher {
    lr_store *store;                /* the writer's (synchronous set back at stop) */
    char *wal_path;                 /* owned */
    lr_store_watch *watch;
    int fd;
    lr_flusher_fn on_synced;
    void *ud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;            /* a commit returned, or stop */
    pthread_cond_t synced_cv;       /* a flush ended */
    /* guarded by mu */
    uint64_t begun, committed, synced;
    bool stopping;
    lr_flush_stats stats;
};

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens the WAL at f->wal_path. Returns 0 or an errno. */
static int open_wal(lr_flusher *f) {
    int fd = open(f->wal_path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return errno;
    f->fd = fd;
    return 0;
}

/* Flushes the WAL. Returns 0 or an errno. */
static int flush(lr_flusher *f) {
    return fdatasync(f->fd) != 0 ? errno : 0;
}

static void count(lr_flush_stats *s, double secs) {
    int b = 0;
    while (b < LR_FLUSH_BUCKETS && secs > lr_flush_bounds[b]) b++;
    s->bucket[b]++;
    s->sum += secs;
    s->count++;
}

const double lr_flush_bounds[LR_FLUSH_BUCKETS] = {
    0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024
};

static void *flusher_main(void *arg) {
    lr_flusher *f = arg;
    pthread_setname_np(pthread_self(), "lr-flush");
    pthread_mutex_lock(&f->mu);
    for (;;) {
        while (f->committed == f->synced && !f->stopping) pthread_cond_wait(&f->work, &f->mu);
        if (f->committed == f->synced) break;           /* stopping, nothing left */
        uint64_t target = f->committed;
        pthread_mutex_unlock(&f->mu);
        double t0 = mono_s();
        int e = flush(f);
        double secs = mono_s() - t0;
        if (e) {
            /* The commits may or may not be on disk: none can be acknowledged,
             * and the engine is ahead of what the file promises. */
            fprintf(stderr, "leadrouter: FATAL: flushing %s: %s\n", f->wal_path, strerror(e));
            abort();
        }
        lr_store_watch_check(f->watch);
        f->on_synced(target, f->ud);
        pthread_mutex_lock(&f->mu);
        f->synced = target;         /* after the callback: a barrier implies it ran */
        count(&f->stats, secs);
        pthread_cond_broadcast(&f->synced_cv);
    }
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

int lr_flusher_start(lr_store *s, lr_flusher_fn on_synced, void *ud, lr_flusher **out,
                     char *err, size_t errlen) {
    lr_sq_defer_drain(s);           /* the handle is used below */
    const char *db = sqlite3_db_filename(s->db, "main");
    if (!db || !db[0]) {
        snprintf(err, errlen, "the store has no file to flush");
        return LR_EINVAL;
    }
    lr_flusher *f = calloc(1, sizeof *f);
    if (!f) return LR_ENOMEM;
    f->fd = -1;
    f->store = s;
    f->on_synced = on_synced;
    f->ud = ud;
    int rc = LR_OK;
    if (!(f->wal_path = strdup(sqlite3_filename_wal(db)))) {
        free(f);
        return LR_ENOMEM;
    }
    int e = open_wal(f);
    if (e) {
        snprintf(err, errlen, "%s: %s", f->wal_path, strerror(e));
        rc = LR_EIO;
    }
    if (rc == LR_OK) rc = lr_store_watch_open(s, &f->watch, err, errlen);
    /* Everything committed so far (at FULL) is on disk already. */
    if (rc == LR_OK && sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(s->db));
        rc = LR_EIO;
    }
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->work, NULL);
    pthread_cond_init(&f->synced_cv, NULL);
    if (rc == LR_OK && pthread_create(&f->thread, NULL, flusher_main, f) != 0) {
        snprintf(err, errlen, "cannot start the flush thread");
        sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
        rc = LR_ENOMEM;
    }
    if (rc != LR_OK) {
        pthread_cond_destroy(&f->synced_cv);
        pthread_cond_destroy(&f->work);
        pthread_mutex_destroy(&f->mu);
        if (f->fd >= 0) close(f->fd);
        lr_store_watch_free(f->watch);
        free(f->wal_path);
        free(f);
        return rc;
    }
    *out = f;
    return LR_OK;
}

uint64_t lr_flusher_begin(lr_flusher *f) {
    pthread_mutex_lock(&f->mu);
    uint64_t gen = ++f->begun;
    pthread_mutex_unlock(&f->mu);
    return gen;
}

void lr_flusher_committed(lr_flusher *f, uint64_t gen) {
    pthread_mutex_lock(&f->mu);
    if (gen > f->committed) f->committed = gen;
    pthread_cond_signal(&f->work);
    pthread_mutex_unlock(&f->mu);
}

void lr_flusher_barrier(lr_flusher *f) {
    pthread_mutex_lock(&f->mu);
    uint64_t want = f->begun;
    while (f->synced < want) pthread_cond_wait(&f->synced_cv, &f->mu);
    pthread_mutex_unlock(&f->mu);
}

void lr_flusher_stats(lr_flusher *f, lr_flush_stats *out) {
    pthread_mutex_lock(&f->mu);
    *out = f->stats;
    pthread_mutex_unlock(&f->mu);
}

void lr_flusher_stop(lr_flusher *f) {
    if (!f) return;
    pthread_mutex_lock(&f->mu);
    f->stopping = true;
    pthread_cond_signal(&f->work);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->thread, NULL);      /* after its last flush */
    lr_sq_defer_drain(f->store);
    sqlite3_exec(f->store->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    pthread_cond_destroy(&f->synced_cv);
    pthread_cond_destroy(&f->work);
    pthread_mutex_destroy(&f->mu);
    close(f->fd);
    lr_store_watch_free(f->watch);
    free(f->wal_path);
    free(f);
}
