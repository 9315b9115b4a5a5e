/* test_store_flusher.c -- pipelined group commit (store.h, flusher.c): the
 * writer's commits are reported on disk in order, a barrier waits for a
 * commit that has begun, everything committed is there after a reopen,
 * and a store without a file is refused. */
#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "test.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define T0 1793613600000                /* 2026-11-02T10:00:00Z */

static char path_[64];

static lr_store *open_new(void) {
    char err[256] = "";
    snprintf(path_, sizeof path_, "/tmp/lr_test_flush_XXXXXX");
    int fd = mkstemp(path_);
    if (fd < 0) return NULL;
    close(fd);
    lr_store *s = NULL;
    if (lr_store_open(path_, LR_SYNC_FULL, &s, err, sizeof err) != LR_OK) printf("  open: %s\n", err);
    return s;
}

static void remove_files(void) {
    char p[80];
    unlink(path_);
    snprintf(p, sizeof p, "%s-wal", path_);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path_);
    unlink(p);
}

/* What the flusher reported. */
typedef struct reports {
    pthread_mutex_t mu;
    uint64_t last;
    int calls;
    bool out_of_order;
} reports;

static void on_synced(uint64_t gen, void *ud) {
    reports *r = ud;
    pthread_mutex_lock(&r->mu);
    if (gen <= r->last) r->out_of_order = true;
    r->last = gen;
    r->calls++;
    pthread_mutex_unlock(&r->mu);
}

/* A new store at FULL with a flusher reporting into R; false (files
 * removed) when either fails. */
static bool start(reports *r, lr_store **s, lr_flusher **f) {
    char err[256] = "";
    *f = NULL;
    if (!(*s = open_new())) return false;
    int rc = lr_flusher_start(*s, on_synced, r, f, err, sizeof err);
    CHECK_EQ_INT(rc, LR_OK);
    if (rc == LR_OK) return true;
    printf("  %s\n", err);
    lr_store_close(*s);
    remove_files();
    return false;
}

/* One event SEQ in its own transaction, numbered and reported. */
static void commit_one(lr_store *s, lr_flusher *f, int64_t seq) {
    char body[48];
    int n = snprintf(body, sizeof body, "{\"id\":\"L%lld\"}", (long long)seq);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(s, seq, T0 + seq, "lead", NULL, body, (size_t)n), LR_OK);
    uint64_t gen = lr_flusher_begin(f);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_flusher_committed(f, gen);
}

static int count_cb(int64_t seq, lr_time at, const char *type, const char *json, size_t len,
                    void *ud) {
    (void)seq; (void)at; (void)type; (void)json; (void)len;
    (*(int *)ud)++;
    return LR_OK;
}

TEST(every_commit_is_reported_flushed_in_order_and_is_there_after_a_reopen) {
    reports r = { .mu = PTHREAD_MUTEX_INITIALIZER };
    lr_store *s;
    lr_flusher *f;
    if (!start(&r, &s, &f)) return;
    char err[256] = "";
    for (int64_t i = 1; i <= 50; i++) commit_one(s, f, i);
    lr_flusher_barrier(f);
    pthread_mutex_lock(&r.mu);
    CHECK_EQ_INT(r.last, 50);               /* the 50 commits, all of them on disk */
    CHECK(!r.out_of_order);
    CHECK(r.calls >= 1 && r.calls <= 50);   /* one flush may cover several commits */
    int calls = r.calls;
    pthread_mutex_unlock(&r.mu);
    lr_flush_stats st;
    lr_flusher_stats(f, &st);
    CHECK_EQ_INT(st.count, calls);
    uint64_t inbuckets = 0;
    for (int b = 0; b <= LR_FLUSH_BUCKETS; b++) inbuckets += st.bucket[b];
    CHECK_EQ_INT(inbuckets, st.count);
    lr_flusher_stop(f);
    lr_store_close(s);

    /* another handle sees every committed event */
    CHECK_EQ_INT(lr_store_open(path_, LR_SYNC_FULL, &s, err, sizeof err), LR_OK);
    int n = 0;
    if (s) CHECK_EQ_INT(lr_store_replay(s, 0, count_cb, &n), LR_OK);
    CHECK_EQ_INT(n, 50);
    lr_store_close(s);
    remove_files();
}

typedef struct late {
    lr_store *s;
    lr_flusher *f;
    uint64_t gen;
    atomic_bool committed;
} late;

/* Commits the transaction whose number main() already took, 50 ms late. */
static void *commit_late(void *arg) {
    late *l = arg;
    struct timespec ts = { 0, 50 * 1000000L };
    nanosleep(&ts, NULL);
    lr_store_commit(l->s);
    atomic_store(&l->committed, true);
    lr_flusher_committed(l->f, l->gen);
    return NULL;
}

TEST(a_barrier_waits_for_a_commit_that_has_begun) {
    reports r = { .mu = PTHREAD_MUTEX_INITIALIZER };
    lr_store *s;
    lr_flusher *f;
    if (!start(&r, &s, &f)) return;
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(s, 1, T0, "lead", NULL, "{}", 2), LR_OK);
    late l = { .s = s, .f = f, .gen = lr_flusher_begin(f) };
    atomic_init(&l.committed, false);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, commit_late, &l), 0);
    lr_flusher_barrier(f);                  /* a reader that may have seen it */
    CHECK(atomic_load(&l.committed));
    pthread_mutex_lock(&r.mu);
    CHECK_EQ_INT(r.last, l.gen);
    pthread_mutex_unlock(&r.mu);
    pthread_join(t, NULL);
    lr_flusher_stop(f);
    lr_store_close(s);
    remove_files();
}

TEST(a_store_without_a_file_cannot_be_flushed) {
    lr_store *s = NULL;
    char err[256] = "";
    CHECK_EQ_INT(lr_store_open(":memory:", LR_SYNC_FULL, &s, err, sizeof err), LR_OK);
    if (!s) return;
    lr_flusher *f = NULL;
    reports r = { .mu = PTHREAD_MUTEX_INITIALIZER };
    CHECK_EQ_INT(lr_flusher_start(s, on_synced, &r, &f, err, sizeof err), LR_EINVAL);
    CHECK(f == NULL);
    CHECK_EQ_STR(err, "the store has no file to flush");
    lr_store_close(s);
}

int main(void) {
    RUN(every_commit_is_reported_flushed_in_order_and_is_there_after_a_reopen);
    RUN(a_barrier_waits_for_a_commit_that_has_begun);
    RUN(a_store_without_a_file_cannot_be_flushed);
    return test_report();
}
