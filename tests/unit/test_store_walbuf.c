/* test_store_walbuf.c -- the store's VFS that writes a transaction's WAL
 * frames in one go (src/store/walbuf.c): what a commit wrote is in the
 * file when the commit returns, as another connection (SQLite's default
 * VFS, as the `sqlite3` shell would read it) sees; a transaction larger
 * than the page cache reads back what it spilled; a writer killed in the
 * middle of its work leaves whole transactions and a sound file. */
#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "test.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1793613600000                /* 2026-11-02T10:00:00Z */

static char path_[64];

static void remove_store(void) {
    const char *ext[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        char p[80];
        snprintf(p, sizeof p, "%s%s", path_, ext[i]);
        unlink(p);
    }
}

static lr_store *open_store(const char *name) {
    snprintf(path_, sizeof path_, "/tmp/lr_test_walbuf_%s_%d", name, (int)getpid());
    remove_store();
    char err[256] = "";
    lr_store *s = NULL;
    if (lr_store_open(path_, LR_SYNC_NORMAL, &s, err, sizeof err) != LR_OK)
        printf("  open: %s\n", err);
    return s;
}

/* The body of event SEQ: LEN bytes that depend on SEQ. */
static void body_of(int64_t seq, char *b, size_t len) {
    for (size_t i = 0; i + 1 < len; i++) b[i] = (char)('a' + (seq * 7 + (int64_t)i) % 26);
    b[len - 1] = '\0';
}

/* One statement's single integer through a connection of its own on
 * SQLite's default VFS; -1 on any error. */
static int64_t peek(const char *sql) {
    sqlite3 *db = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(path_, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st = NULL;
        if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return v;
}

/* Appends events FROM..TO-1 (bodies of LEN bytes) in one transaction. */
static int append(lr_store *s, int64_t from, int64_t to, size_t len) {
    char *b = malloc(len);
    int rc = b ? lr_store_begin(s) : LR_ENOMEM;
    for (int64_t q = from; rc == LR_OK && q < to; q++) {
        body_of(q, b, len);
        rc = lr_store_append_event(s, q, T0 + q, "lead", NULL, b, len - 1);
    }
    if (rc == LR_OK) rc = lr_store_commit(s);
    if (rc != LR_OK) printf("  append %lld..%lld: %s\n", (long long)from, (long long)to, lr_store_errmsg(s));
    free(b);
    return rc;
}

/* Every stored body is the one body_of() gives its seq. */
typedef struct verify { size_t len; int64_t n, bad; } verify;

static int check_body(int64_t seq, lr_time at, const char *type, const char *body, size_t len,
                      void *ud) {
    verify *v = ud;
    char want[9000];
    body_of(seq, want, v->len);
    if (len != v->len - 1 || memcmp(body, want, len) != 0) v->bad++;
    v->n++;
    return 0;
}

TEST(a_commit_is_in_the_file_when_it_returns) {
    lr_store *s = open_store("commit");
    CHECK(s != NULL);
    if (!s) return;
    for (int t = 0; t < 20; t++) {
        CHECK_EQ_INT(append(s, 1 + t * 37, 1 + (t + 1) * 37, 300), LR_OK);
        /* another connection, while the store stays open */
        CHECK_EQ_INT(peek("SELECT count(*) FROM events"), (t + 1) * 37);
    }
    CHECK_EQ_INT(peek("SELECT max(seq) FROM events"), 20 * 37);
    lr_store_close(s);
    CHECK_EQ_INT(peek("SELECT count(*) FROM events"), 20 * 37);
    remove_store();
}

TEST(a_transaction_larger_than_the_cache_reads_back_what_it_spilled) {
    lr_store *s = open_store("spill");
    CHECK(s != NULL);
    if (!s) return;
    /* 6,000 bodies of 8 KB: 48 MB in one transaction, three times the
     * store's page cache, so pages go to the WAL before the commit and
     * are read back by the same connection */
    CHECK_EQ_INT(append(s, 1, 6001, 8001), LR_OK);
    CHECK_EQ_INT(append(s, 6001, 6101, 8001), LR_OK);
    verify v = { 8001, 0, 0 };
    CHECK_EQ_INT(lr_store_replay(s, 0, check_body, &v), LR_OK);
    CHECK_EQ_INT(v.n, 6100);
    CHECK_EQ_INT(v.bad, 0);
    CHECK_EQ_INT(peek("SELECT count(*) FROM events WHERE length(body) = 8000"), 6100);
    lr_store_close(s);
    remove_store();
}

TEST(a_killed_writer_leaves_whole_transactions) {
    lr_store *s = open_store("kill");
    CHECK(s != NULL);
    if (!s) return;
    lr_store_close(s);                  /* the schema exists; the child writes */
    int fds[2];
    CHECK(pipe(fds) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        char err[256];
        lr_store *c = NULL;
        if (lr_store_open(path_, LR_SYNC_NORMAL, &c, err, sizeof err) != LR_OK) _exit(3);
        for (int64_t t = 0;; t++) {
            if (append(c, 1 + t * 10, 1 + (t + 1) * 10, 2000) != LR_OK) _exit(4);
            if (write(fds[1], "x", 1) != 1) _exit(5);
        }
    }
    close(fds[1]);
    char c;
    int commits = 0;
    while (commits < 300 && read(fds[0], &c, 1) == 1) commits++;
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    close(fds[0]);
    CHECK(WIFSIGNALED(status));
    CHECK_EQ_INT(commits, 300);
    int64_t n = peek("SELECT count(*) FROM events");
    CHECK(n >= 300 * 10);
    CHECK_EQ_INT(n % 10, 0);            /* whole transactions only */
    CHECK_EQ_INT(peek("SELECT max(seq) FROM events"), n);
    CHECK_EQ_INT(peek("SELECT count(*) FROM pragma_integrity_check WHERE integrity_check <> 'ok'"), 0);
    lr_store *r = NULL;
    char err[256] = "";
    CHECK_EQ_INT(lr_store_open(path_, LR_SYNC_NORMAL, &r, err, sizeof err), LR_OK);
    verify v = { 2000, 0, 0 };
    if (r) CHECK_EQ_INT(lr_store_replay(r, 0, check_body, &v), LR_OK);
    CHECK_EQ_INT(v.n, n);
    CHECK_EQ_INT(v.bad, 0);
    lr_store_close(r);
    remove_store();
}

int main(void) {
    RUN(a_commit_is_in_the_file_when_it_returns);
    RUN(a_transaction_larger_than_the_cache_reads_back_what_it_spilled);
    RUN(a_killed_writer_leaves_whole_transactions);
    return test_report();
}
