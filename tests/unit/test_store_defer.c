/* test_store_defer.c -- deferred writes (store.h, defer.c): the writes run
 * on the store's thread leave the same rows as direct ones, with the row
 * ids they were given; a read waits for the writes queued before it; a
 * commit's callback runs after its COMMIT; stopping waits for the queue;
 * and a write that fails there calls the fatal callback. */
#include "leadrouter/buf.h"
#include "leadrouter/decision.h"
#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "store_helpers.h"
#include "test.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1793613600000                /* 2026-11-02T10:00:00Z */

static void fatal_in_test(const char *what, int rc, void *ud) {
    (void)ud;
    printf("  deferred write failed: %s: %s\n", what, lr_strerror(rc));
    abort();
}

/* Lead Ln as event n, assigned to alice with its decision, then closed
 * by event n + 100000; *DEC gets the first decision's id. */
static void put_lead(lr_store *s, int n, int64_t *dec) {
    char id[16], body[64], json[160];
    snprintf(id, sizeof id, "L%d", n);
    int blen = snprintf(body, sizeof body, "{\"id\":\"%s\",\"source\":\"web\"}", id);
    unsigned char hash[32];
    memset(hash, n, sizeof hash);
    CHECK_EQ_INT(lr_store_append_event(s, n, T0 + n, "lead", id, body, (size_t)blen), LR_OK);
    CHECK_EQ_INT(lr_store_add_lead(s, id, "web", T0 + n, body, (size_t)blen, hash, "assigned",
                                   "alice"), LR_OK);
    int jlen = snprintf(json, sizeof json, "{\"lead\":\"%s\",\"action\":\"assigned\","
                        "\"agent\":\"alice\"}", id);
    CHECK_EQ_INT(lr_store_add_decision(s, n, T0 + n, id, "assigned", "alice", json,
                                       (size_t)jlen, NULL, dec), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(s, n + 100000, T0 + n, "progress", id, "{}", 2), LR_OK);
    jlen = snprintf(json, sizeof json, "{\"lead\":\"%s\",\"action\":\"closed\"}", id);
    CHECK_EQ_INT(lr_store_add_decision(s, n + 100000, T0 + n, id, "closed", "alice", json,
                                       (size_t)jlen, NULL, NULL), LR_OK);
    CHECK_EQ_INT(lr_store_set_lead_state(s, id, "closed", "alice"), LR_OK);
}

/* The store's rows as one text: what a reader would see. */
static void dump(lr_store *s, int n, lr_buf *out) {
    for (int i = 1; i <= n; i++) {
        char id[16];
        snprintf(id, sizeof id, "L%d", i);
        CHECK_EQ_INT(lr_store_lead_json(s, id, NULL, out), LR_OK);
        CHECK_EQ_INT(lr_buf_putc(out, '\n'), LR_OK);
    }
    CHECK_EQ_INT(lr_store_stats_json(s, LR_TIME_NONE, LR_TIME_NONE, out), LR_OK);
}

typedef struct after {
    pthread_t thread;
    int calls;
    uint64_t arg;
} after;

static void on_committed(void *ud, uint64_t arg) {
    after *a = ud;
    a->thread = pthread_self();
    a->calls++;
    a->arg = arg;
}

TEST(deferred_writes_leave_the_rows_direct_ones_do) {
    enum { N = 3000 };                  /* ~0.5 MiB of records a transaction: blocks */
    db a, b;
    CHECK_EQ_INT(db_open(&a, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(db_open(&b, LR_SYNC_OFF), LR_OK);
    if (!a.s || !b.s) return;
    CHECK_EQ_INT(lr_store_defer_start(b.s, fatal_in_test, NULL), LR_OK);
    int64_t ida[N + 1], idb[N + 1];
    for (int k = 0; k < 3; k++) {       /* three transactions */
        CHECK_EQ_INT(lr_store_begin(a.s), LR_OK);
        CHECK_EQ_INT(lr_store_begin(b.s), LR_OK);
        for (int i = k * N / 3 + 1; i <= (k + 1) * N / 3; i++) {
            put_lead(a.s, i, &ida[i]);
            put_lead(b.s, i, &idb[i]);
            CHECK_EQ_INT(idb[i], ida[i]);   /* given out in order, as SQLite would */
        }
        CHECK_EQ_INT(lr_store_commit(a.s), LR_OK);
        CHECK_EQ_INT(lr_store_commit(b.s), LR_OK);
    }
    CHECK_EQ_INT(ida[N], 2 * N - 1);
    lr_buf da = LR_BUF_INIT, dbuf = LR_BUF_INIT;
    dump(a.s, N, &da);
    dump(b.s, N, &dbuf);                /* reads wait for the queue */
    CHECK(da.len > 0);
    CHECK_EQ_INT(da.len, dbuf.len);
    CHECK(da.len == dbuf.len && memcmp(da.data, dbuf.data, da.len) == 0);
    lr_buf_release(&da);
    lr_buf_release(&dbuf);
    db_remove(&a);
    db_remove(&b);
}

TEST(a_read_sees_the_writes_queued_before_it) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    if (!d.s) return;
    CHECK_EQ_INT(lr_store_defer_start(d.s, fatal_in_test, NULL), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    int64_t dec = 0;
    put_lead(d.s, 1, &dec);
    CHECK_EQ_INT(dec, 1);
    int64_t seq = 0;
    unsigned char h[32];
    CHECK_EQ_INT(lr_store_find_lead(d.s, "L1", &seq, h), LR_OK);     /* uncommitted, same handle */
    CHECK_EQ_INT(seq, 1);
    int64_t dl = 0;
    CHECK_EQ_INT(lr_store_add_delivery(d.s, dec, T0, 0, "L1", "assigned", "alice", "crm", NULL,
                                       "pending", NULL, true, &dl), LR_OK);
    CHECK_EQ_INT(dl, 1);
    after a = { 0 };
    CHECK_EQ_INT(lr_store_commit_then(d.s, on_committed, &a, 42), LR_OK);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_delivery_json(d.s, 1, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"channel\":\"crm\"");
    /* the callback ran on the store's thread, after its COMMIT */
    CHECK_EQ_INT(a.calls, 1);
    CHECK_EQ_INT(a.arg, 42);
    CHECK(!pthread_equal(a.thread, pthread_self()));
    lr_store_defer_stop(d.s);
    lr_store_defer_stop(d.s);           /* a second stop does nothing */
    /* ids go on from the highest in the table */
    CHECK_EQ_INT(lr_store_defer_start(d.s, fatal_in_test, NULL), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    put_lead(d.s, 2, &dec);
    CHECK_EQ_INT(dec, 3);
    CHECK_EQ_INT(lr_store_add_delivery(d.s, dec, T0, 0, "L2", "assigned", "alice", "crm", NULL,
                                       "pending", NULL, false, &dl), LR_OK);
    CHECK_EQ_INT(dl, 2);
    CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
    lr_store_defer_stop(d.s);
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L2", NULL, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"state\":\"closed\"");
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(bad_arguments_are_refused_at_once) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    if (!d.s) return;
    CHECK_EQ_INT(lr_store_defer_start(d.s, NULL, NULL), LR_EINVAL);
    CHECK_EQ_INT(lr_store_defer_start(d.s, fatal_in_test, NULL), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(d.s, 0, T0, "lead", "L1", "{}", 2), LR_EINVAL);
    CHECK_EQ_INT(lr_store_add_lead(d.s, "L1", NULL, T0, "{}", 2, NULL, NULL, NULL), LR_EINVAL);
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L1", "busy", NULL), LR_EINVAL);
    CHECK_EQ_INT(lr_store_add_decision(d.s, 1, T0, "L1", NULL, NULL, "{}", 2, NULL, NULL),
                 LR_EINVAL);
    db_remove(&d);                      /* closes: stops the thread */
}

static void exit_from_fatal(const char *what, int rc, void *ud) {
    (void)ud;
    _exit(rc == LR_EEXIST && strcmp(what, "storing a lead") == 0 ? 42 : 1);
}

TEST(a_write_that_fails_on_the_stores_thread_is_fatal) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    if (!d.s) return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        lr_store_defer_start(d.s, exit_from_fatal, NULL);
        lr_store_begin(d.s);
        int64_t dec;
        put_lead(d.s, 1, &dec);
        /* the same lead again: the INSERT fails there, not here */
        lr_store_append_event(d.s, 2, T0, "lead", "L1", "{}", 2);
        int rc = lr_store_add_lead(d.s, "L1", NULL, T0, "{}", 2, (const unsigned char *)
                                   "0123456789abcdef0123456789abcdef", NULL, NULL);
        if (rc != LR_OK) _exit(2);
        lr_store_commit(d.s);
        lr_store_defer_stop(d.s);
        _exit(0);                       /* not reached: the fatal callback exits */
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ_INT(WEXITSTATUS(status), 42);
    db_remove(&d);
}

int main(void) {
    RUN(deferred_writes_leave_the_rows_direct_ones_do);
    RUN(a_read_sees_the_writes_queued_before_it);
    RUN(bad_arguments_are_refused_at_once);
    RUN(a_write_that_fails_on_the_stores_thread_is_fatal);
    return test_report();
}
