/* test_store.c -- the SQLite store through store.h: schema, journal and
 * replay, projections and their JSON, pagination, idempotency and API
 * keys, statistics, transactions and durability. Each test works on its
 * own database file under /tmp, removed at the end. */
#include "leadrouter/buf.h"
#include "leadrouter/decision.h"
#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "store_helpers.h"
#include "test.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1793613600000                /* 2026-11-02T10:00:00Z */

/* A hash whose 32 bytes are all B. */
static const unsigned char *hash_of(unsigned char b) {
    static unsigned char h[32];
    memset(h, b, sizeof h);
    return h;
}

/* Journals lead ID as event SEQ at AT and stores it (received at AT). */
static int put_lead(lr_store *s, int64_t seq, const char *id, const char *source, lr_time at) {
    char body[160];
    int n = source ? snprintf(body, sizeof body, "{\"id\":\"%s\",\"source\":\"%s\"}", id, source)
                   : snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    int rc = lr_store_append_event(s, seq, at, "lead", id, body, (size_t)n);
    if (rc == LR_OK) rc = lr_store_add_lead(s, id, source, at, body, (size_t)n, hash_of((unsigned char)seq), NULL, NULL);
    return rc;
}

/* Stores the decision of event SEQ, encoded by lr_decision_write_json, and
 * the lead state it leads to (STATE NULL: unchanged). */
static int put_decision(lr_store *s, int64_t seq, lr_time at, const char *lead, lr_action act,
                        const char *agent, const char *rule, const char *pool,
                        const char *status, const char *state) {
    lr_buf b = LR_BUF_INIT;
    lr_decision d = { .at = at, .lead = lead, .action = act, .agent = agent, .rule = rule,
                      .pool = pool, .strategy = rule ? "round_robin" : NULL, .status = status };
    int rc = lr_decision_write_json(&d, &b);
    if (rc == LR_OK)
        rc = lr_store_add_decision(s, seq, at, lead, lr_action_names[act], agent, b.data, b.len, &d, NULL);
    if (rc == LR_OK && state)
        rc = lr_store_set_lead_state(s, lead, state, act == LR_ACTION_CLOSED ? NULL : agent);
    lr_buf_release(&b);
    return rc;
}

/* ---- schema, journal ---------------------------------------------------- */

TEST(open_creates_schema_and_reopen_keeps_data) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    int64_t last = -1;
    CHECK_EQ_INT(lr_store_last_seq(d.s, &last), LR_OK);
    CHECK_EQ_INT(last, 0);
    CHECK_EQ_INT(put_lead(d.s, 1, "L1", "google", T0), LR_OK);
    CHECK_EQ_INT(db_reopen(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(lr_store_last_seq(d.s, &last), LR_OK);
    CHECK_EQ_INT(last, 1);
    int64_t seq = 0;
    unsigned char h[32];
    CHECK_EQ_INT(lr_store_find_lead(d.s, "L1", &seq, h), LR_OK);
    CHECK_EQ_INT(seq, 1);
    CHECK(memcmp(h, hash_of(1), 32) == 0);
    db_remove(&d);
}

TEST(open_refuses_a_path_that_is_not_a_database) {
    char err[256] = "";
    lr_store *s = (lr_store *)1;
    CHECK_EQ_INT(lr_store_open("/nonexistent-dir/x.db", LR_SYNC_OFF, &s, err, sizeof err), LR_EIO);
    CHECK(s == (lr_store *)1);
    CHECK_CONTAINS(err, "/nonexistent-dir/x.db");
    char path[] = "/tmp/lr_test_store_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ_INT(write(fd, "this is not a database file at all, just text......", 52), 52);
    close(fd);
    CHECK_EQ_INT(lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err), LR_EIO);
    CHECK_CONTAINS(err, "not a database");
    unlink(path);
}

/* Another program's SQLite database: refused, and left as it was (no
 * table added, its rollback journal mode kept). */
TEST(open_refuses_another_programs_database_and_leaves_it_alone) {
    char path[] = "/tmp/lr_test_store_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    sqlite3 *other = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(other, "CREATE TABLE invoices(id INTEGER PRIMARY KEY, total REAL);"
                              "INSERT INTO invoices VALUES (1, 9.5)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    char err[512] = "";
    lr_store *s = (lr_store *)1;
    CHECK_EQ_INT(lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err), LR_ESTATE);
    CHECK(s == (lr_store *)1);
    CHECK_CONTAINS(err, path);
    CHECK_CONTAINS(err, "not a leadrouter store");
    CHECK_EQ_INT(lr_store_open_existing(path, &s, err, sizeof err), LR_ESTATE);
    CHECK_CONTAINS(err, "another program");
    CHECK_EQ_INT(sqlite3_open(path, &other), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_EQ_INT(sqlite3_prepare_v2(other, "SELECT (SELECT count(*) FROM sqlite_schema) || ' ' || "
                                    "(SELECT journal_mode FROM pragma_journal_mode)", -1, &st,
                                    NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_EQ_STR((const char *)sqlite3_column_text(st, 0), "1 delete");
    sqlite3_finalize(st);
    /* with a schema version of its own, or an application id: the same */
    CHECK_EQ_INT(sqlite3_exec(other, "PRAGMA user_version = 3", NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ_INT(lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err), LR_ESTATE);
    CHECK_CONTAINS(err, "its tables are not leadrouter's");
    CHECK_EQ_INT(sqlite3_exec(other, "PRAGMA user_version = 99; PRAGMA application_id = 7",
                              NULL, NULL, NULL), SQLITE_OK);
    CHECK_EQ_INT(lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err), LR_ESTATE);
    CHECK_CONTAINS(err, "(application id 7)");
    CHECK_EQ_INT(sqlite3_prepare_v2(other, "SELECT journal_mode || ' ' || (SELECT user_version FROM"
                                    " pragma_user_version) FROM pragma_journal_mode", -1, &st,
                                    NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_EQ_STR((const char *)sqlite3_column_text(st, 0), "delete 99");
    sqlite3_finalize(st);
    sqlite3_close(other);
    unlink(path);
}

/* One writer at a time: a second writer's open (another process's, as
 * flock sees each open file apart) is refused naming the store, and goes
 * through once the first handle is closed. A handle opened again never
 * makes a store at a path that has none. */
TEST(one_claim_at_a_time_and_open_again_makes_nothing) {
    char dir[] = "/tmp/lr_test_claim_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[64], wal[72], shm[72];
    snprintf(path, sizeof path, "%s/s.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    char err[512] = "";
    lr_store *a = NULL, *b = NULL;
    CHECK(lr_store_open_again(path, LR_SYNC_OFF, &a, err, sizeof err) != LR_OK);
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(lr_store_open_writer(path, LR_SYNC_OFF, &a, err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_store_open_writer(path, LR_SYNC_OFF, &b, err, sizeof err), LR_ESTATE);
    CHECK_CONTAINS(err, "s.db is in use by another leadrouter process");
    /* another handle still reads and writes what is not the journal */
    CHECK_EQ_INT(lr_store_open_again(path, LR_SYNC_OFF, &b, err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_store_begin(b), LR_OK);
    CHECK_EQ_INT(lr_store_rollback(b), LR_OK);
    lr_store_close(b);
    lr_store_close(a);
    CHECK_EQ_INT(lr_store_open_writer(path, LR_SYNC_OFF, &b, err, sizeof err), LR_OK);
    lr_store_close(b);
    unlink(path);
    unlink(wal);
    unlink(shm);
    CHECK_EQ_INT(rmdir(dir), 0);
}

/* lr_store_open_existing (keys list, deliveries): a missing or empty file
 * is refused and stays as it was; a store opens. */
TEST(open_existing_refuses_a_missing_or_empty_file) {
    char path[] = "/tmp/lr_test_store_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    char err[512] = "";
    lr_store *s = NULL;
    CHECK_EQ_INT(lr_store_open_existing(path, &s, err, sizeof err), LR_ESTATE);
    CHECK_CONTAINS(err, "not a leadrouter store: it holds no tables");
    struct stat sb;
    CHECK_EQ_INT(stat(path, &sb), 0);
    CHECK_EQ_INT((int)sb.st_size, 0);
    unlink(path);
    CHECK_EQ_INT(lr_store_open_existing(path, &s, err, sizeof err), LR_EIO);
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err), LR_OK);
    lr_store_close(s);
    s = NULL;
    CHECK_EQ_INT(lr_store_open_existing(path, &s, err, sizeof err), LR_OK);
    lr_store_close(s);
    /* a store carries leadrouter's mark; one made before it (schema 12,
     * no mark) is still a store */
    sqlite3 *db12 = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db12), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    CHECK_EQ_INT(sqlite3_prepare_v2(db12, "PRAGMA application_id", -1, &st, NULL), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_ROW);
    CHECK_EQ_INT(sqlite3_column_int(st, 0), 0x4C526472);
    sqlite3_finalize(st);
    CHECK_EQ_INT(sqlite3_exec(db12, UNDO_SCHEMA_14 "PRAGMA application_id = 0; PRAGMA user_version = 12;"
                              " ALTER TABLE deliveries DROP COLUMN replays; ALTER TABLE deliveries DROP COLUMN due_at", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db12);
    s = NULL;
    CHECK_EQ_INT(lr_store_open_existing(path, &s, err, sizeof err), LR_OK);
    lr_store_close(s);
    unlink(path);
    char wal[sizeof path + 8];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
}

/* Collects "seq type at json;" lines. */
static int collect(int64_t seq, lr_time at, const char *type, const char *json, size_t len,
                   void *ud) {
    lr_buf *b = ud;
    return lr_buf_printf(b, "%lld %s %lld %.*s;", (long long)seq, type, (long long)(at - T0),
                         (int)len, json);
}

static void journal5(lr_store *s) {
    static const char *const types[] = { "config", "lead", "agent", "progress", "tick" };
    for (int i = 0; i < 5; i++) {
        char j[32];
        int n = snprintf(j, sizeof j, "{\"n\":%d}", i + 1);
        CHECK_EQ_INT(lr_store_append_event(s, i + 1, T0 + i * 1000, types[i], i == 1 || i == 3 ? "L1" : NULL,
                                           j, (size_t)n), LR_OK);
    }
}

TEST(journal_replays_every_event_in_order) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    journal5(d.s);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_replay(d.s, 0, collect, &b), LR_OK);
    CHECK_EQ_STR(b.data, "1 config 0 {\"n\":1};2 lead 1000 {\"n\":2};3 agent 2000 {\"n\":3};"
                         "4 progress 3000 {\"n\":4};5 tick 4000 {\"n\":5};");
    int64_t last = 0;
    CHECK_EQ_INT(lr_store_last_seq(d.s, &last), LR_OK);
    CHECK_EQ_INT(last, 5);
    CHECK_EQ_INT(lr_store_append_event(d.s, 5, T0, "tick", NULL, "{}", 2), LR_EEXIST);
    CHECK_EQ_INT(lr_store_append_event(d.s, 6, T0, NULL, NULL, "{}", 2), LR_EINVAL);
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(replay_starts_after_the_given_seq) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    journal5(d.s);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_replay(d.s, 3, collect, &b), LR_OK);
    CHECK_EQ_STR(b.data, "4 progress 3000 {\"n\":4};5 tick 4000 {\"n\":5};");
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_replay(d.s, 5, collect, &b), LR_OK);
    CHECK_EQ_INT(b.len, 0);
    lr_buf_release(&b);
    db_remove(&d);
}

/* Stops after the second entry with 42; tries to write through the store. */
typedef struct replay_probe {
    lr_store *s;
    int calls;
    int write_rc;
} replay_probe;

static int probe(int64_t seq, lr_time at, const char *type, const char *json, size_t len,
                 void *ud) {
    replay_probe *p = ud;
    p->write_rc = lr_store_append_event(p->s, 100 + seq, at, type, NULL, json, len);
    return ++p->calls == 2 ? 42 : 0;
}

TEST(replay_stops_on_callback_value_and_refuses_writes) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    journal5(d.s);
    replay_probe p = { d.s, 0, 0 };
    CHECK_EQ_INT(lr_store_replay(d.s, 0, probe, &p), 42);
    CHECK_EQ_INT(p.calls, 2);
    CHECK_EQ_INT(p.write_rc, LR_ESTATE);
    int64_t last = 0;
    CHECK_EQ_INT(lr_store_last_seq(d.s, &last), LR_OK);
    CHECK_EQ_INT(last, 5);
    /* the handle writes again once the replay is over */
    CHECK_EQ_INT(lr_store_append_event(d.s, 6, T0, "tick", NULL, "{}", 2), LR_OK);
    db_remove(&d);
}

/* ---- leads and decisions -------------------------------------------------- */

/* L1 arrives (seq 1) and goes to alice; L2 (seq 2) is held; L1's progress
 * (seq 3) contacted, then (seq 4) won, which closes it. */
static void scenario_small(lr_store *s) {
    CHECK_EQ_INT(put_lead(s, 1, "L1", "google", T0), LR_OK);
    CHECK_EQ_INT(put_decision(s, 1, T0 + 250, "L1", LR_ACTION_ASSIGNED, "alice", "hot", "west",
                              NULL, "assigned"), LR_OK);
    CHECK_EQ_INT(put_lead(s, 2, "L2", NULL, T0 + 1000), LR_OK);
    CHECK_EQ_INT(put_decision(s, 2, T0 + 1000, "L2", LR_ACTION_HELD, NULL, "manual", "admins",
                              NULL, "held"), LR_OK);
    const char *p1 = "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"contacted\"}";
    const char *p2 = "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"value\":1200}";
    CHECK_EQ_INT(lr_store_append_event(s, 3, T0 + 60000, "progress", "L1", p1, strlen(p1)), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(s, 4, T0 + 120000, "progress", "L1", p2, strlen(p2)), LR_OK);
    CHECK_EQ_INT(put_decision(s, 4, T0 + 120000, "L1", LR_ACTION_CLOSED, "alice", "hot", "west",
                              "won", "closed"), LR_OK);
}

TEST(lead_json_has_lead_decisions_and_progress) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    scenario_small(d.s);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L1", NULL, &b), LR_OK);
    CHECK_EQ_STR(b.data,
        "{\"id\":\"L1\",\"state\":\"closed\",\"agent\":null,\"source\":\"google\","
        "\"received_at\":\"2026-11-02T10:00:00Z\",\"lead\":{\"id\":\"L1\",\"source\":\"google\"},"
        "\"decisions\":[{\"at\":\"2026-11-02T10:00:00.250Z\",\"lead\":\"L1\",\"action\":\"assigned\","
        "\"agent\":\"alice\",\"rule\":\"hot\",\"pool\":\"west\",\"strategy\":\"round_robin\"},"
        "{\"at\":\"2026-11-02T10:02:00Z\",\"lead\":\"L1\",\"action\":\"closed\",\"agent\":\"alice\","
        "\"rule\":\"hot\",\"pool\":\"west\",\"strategy\":\"round_robin\",\"status\":\"won\"}],"
        "\"progress\":[{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"contacted\"},"
        "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"value\":1200}]}");
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L2", NULL, &b), LR_OK);
    CHECK_EQ_STR(b.data,
        "{\"id\":\"L2\",\"state\":\"held\",\"agent\":null,\"source\":null,"
        "\"received_at\":\"2026-11-02T10:00:01Z\",\"lead\":{\"id\":\"L2\"},"
        "\"decisions\":[{\"at\":\"2026-11-02T10:00:01Z\",\"lead\":\"L2\",\"action\":\"held\","
        "\"rule\":\"manual\",\"pool\":\"admins\",\"strategy\":\"round_robin\"}],\"progress\":[]}");
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(lead_json_for_an_agent_shows_only_its_own_leads) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 1, "L1", "web", T0), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 1, T0, "L1", LR_ACTION_ASSIGNED, "alice", "r", "p", NULL,
                              "assigned"), LR_OK);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_buf_puts(&b, "keep:"), LR_OK);
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L1", "bob", &b), LR_ENOENT);
    CHECK_EQ_INT(lr_store_lead_json(d.s, "nope", NULL, &b), LR_ENOENT);
    CHECK_EQ_STR(b.data, "keep:");
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L1", "alice", &b), LR_OK);
    CHECK_CONTAINS(b.data, "keep:{\"id\":\"L1\",\"state\":\"assigned\",\"agent\":\"alice\",");
    lr_buf_release(&b);
    db_remove(&d);
}

/* A lead's replayed answer: the decisions its own event made about it,
 * not those of its other events, nor those its event made about others. */
TEST(decisions_of_event_are_the_answer_a_lead_event_got) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 1, "L1", NULL, T0), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 1, T0, "L1", LR_ACTION_QUEUED, NULL, NULL, NULL, NULL, NULL), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 2, "L2", NULL, T0), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 2, T0, "L2", LR_ACTION_UNROUTED, NULL, NULL, NULL, NULL, NULL), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 2, T0, "L1", LR_ACTION_ASSIGNED, "ann", NULL, NULL, NULL, NULL), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 2, T0, "L2", LR_ACTION_QUEUED, NULL, NULL, NULL, NULL, NULL), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(d.s, 3, T0, "tick", NULL, "{}", 2), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 3, T0, "L1", LR_ACTION_CLOSED, "ann", NULL, NULL, NULL, NULL), LR_OK);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_decisions_of_event(d.s, 1, "L1", &b), LR_OK);
    CHECK_EQ_STR(b.data, "[{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"queued\"}]");
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_decisions_of_event(d.s, 2, "L2", &b), LR_OK);
    CHECK_EQ_STR(b.data, "[{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L2\",\"action\":\"unrouted\"},"
                         "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L2\",\"action\":\"queued\"}]");
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_decisions_of_event(d.s, 2, NULL, &b), LR_OK);    /* the same */
    CHECK_CONTAINS(b.data, "\"unrouted\"},{");
    CHECK(strstr(b.data, "\"L1\"") == NULL);
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_decisions_of_event(d.s, 2, "L1", &b), LR_OK);    /* not L2's lead */
    CHECK_EQ_STR(b.data, "[]");
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_decisions_of_event(d.s, 3, NULL, &b), LR_OK);    /* not a lead event */
    CHECK_EQ_STR(b.data, "[]");
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(duplicate_lead_is_eexist_and_find_lead_reports_seq_and_hash) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(lr_store_add_lead(d.s, "L0", NULL, T0, "{}", 2, hash_of(9), NULL, NULL), LR_ESTATE);
    CHECK_EQ_INT(put_lead(d.s, 7, "L1", NULL, T0), LR_OK);
    /* a second lead on the same event */
    CHECK_EQ_INT(lr_store_add_lead(d.s, "L2", NULL, T0, "{}", 2, hash_of(9), NULL, NULL), LR_EEXIST);
    CHECK_EQ_INT(put_lead(d.s, 8, "L1", NULL, T0), LR_EEXIST);
    CHECK_CONTAINS(lr_store_errmsg(d.s), "UNIQUE");
    int64_t seq = -1;
    unsigned char h[32];
    CHECK_EQ_INT(lr_store_find_lead(d.s, "L1", &seq, h), LR_OK);
    CHECK_EQ_INT(seq, 7);
    CHECK(memcmp(h, hash_of(7), 32) == 0);
    seq = -1;
    CHECK_EQ_INT(lr_store_find_lead(d.s, "L2", &seq, h), LR_ENOENT);
    CHECK_EQ_INT(seq, -1);
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L2", "assigned", "bob"), LR_ENOENT);
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L1", "busy", "bob"), LR_EINVAL);
    db_remove(&d);
}

TEST(a_lead_is_stored_in_its_first_decisions_state_in_one_insert) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(d.s, 1, T0, "lead", "L1", "{}", 2), LR_OK);
    CHECK_EQ_INT(lr_store_add_lead(d.s, "L1", "web", T0, "{}", 2, hash_of(1), "busy", "bob"),
                 LR_EINVAL);
    CHECK_EQ_INT(lr_store_add_lead(d.s, "L1", "web", T0, "{}", 2, hash_of(1), "assigned", "bob"),
                 LR_OK);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L1", NULL, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"state\":\"assigned\"");
    CHECK_CONTAINS(b.data, "\"agent\":\"bob\"");
    lr_buf_reset(&b);
    lr_lead_query q = { .agent = "bob", .state = "assigned", .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10 };
    CHECK_EQ_INT(lr_store_list_leads(d.s, &q, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"id\":\"L1\"");
    lr_buf_release(&b);
    db_remove(&d);
}

/* ---- listing --------------------------------------------------------------- */

/* 12 leads, L01..L12 at seq 1..12, received a minute apart; sources
 * alternate google / web; odd ones go to alice, even ones are held. */
static void scenario_list(lr_store *s) {
    for (int i = 1; i <= 12; i++) {
        char id[16];
        snprintf(id, sizeof id, "L%02d", i);
        CHECK_EQ_INT(put_lead(s, i, id, i % 2 ? "google" : "web", T0 + (i - 1) * 60000), LR_OK);
        if (i % 2)
            CHECK_EQ_INT(lr_store_set_lead_state(s, id, "assigned", "alice"), LR_OK);
        else
            CHECK_EQ_INT(lr_store_set_lead_state(s, id, "held", NULL), LR_OK);
    }
}

/* The ids of a page, then "|" and its next_cursor, from the JSON. */
static const char *page(lr_store *s, lr_lead_query q) {
    static char out[256];
    lr_buf b = LR_BUF_INIT;
    int rc = lr_store_list_leads(s, &q, &b);
    if (rc != LR_OK) { snprintf(out, sizeof out, "error %s", lr_errname(rc)); return out; }
    size_t n = 0;
    const char *p = b.data;
    while ((p = strstr(p, "{\"id\":\"")) != NULL) {
        p += 7;
        n += (size_t)snprintf(out + n, sizeof out - n, "%.*s ", (int)strcspn(p, "\""), p);
    }
    p = strstr(b.data, "\"next_cursor\":");
    snprintf(out + n, sizeof out - n, "|%.*s", p ? (int)strcspn(p + 14, ",}") : 0, p ? p + 14 : "");
    lr_buf_release(&b);
    return out;
}

/* The end_cursor of the page Q gives. */
static const char *end_of(lr_store *s, lr_lead_query q) {
    static char out[64];
    lr_buf b = LR_BUF_INIT;
    int rc = lr_store_list_leads(s, &q, &b);
    const char *p = rc == LR_OK ? strstr(b.data, "\"end_cursor\":") : NULL;
    snprintf(out, sizeof out, "%.*s", p ? (int)strcspn(p + 13, "}") : 5, p ? p + 13 : "error");
    lr_buf_release(&b);
    return out;
}

TEST(list_leads_pages_with_cursors) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    scenario_list(d.s);
    lr_lead_query q = { .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 2, .source = "google" };
    CHECK_EQ_STR(page(d.s, q), "L01 L03 |\"3\"");
    q.cursor = "3";
    CHECK_EQ_STR(page(d.s, q), "L05 L07 |\"7\"");
    q.cursor = "7";
    CHECK_EQ_STR(page(d.s, q), "L09 L11 |null");
    /* the last page says where it ends; asked from there, an empty page
     * says the same; the first page of nothing, nothing */
    CHECK_EQ_STR(end_of(d.s, q), "\"11\"");
    q.cursor = "11";
    CHECK_EQ_STR(page(d.s, q), "|null");
    CHECK_EQ_STR(end_of(d.s, q), "\"11\"");
    q.cursor = "3";
    CHECK_EQ_STR(end_of(d.s, q), "\"7\"");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 2, .source = "nowhere" };
    CHECK_EQ_STR(end_of(d.s, q), "null");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 5 };
    CHECK_EQ_STR(page(d.s, q), "L01 L02 L03 L04 L05 |\"5\"");
    q.cursor = "5";
    CHECK_EQ_STR(page(d.s, q), "L06 L07 L08 L09 L10 |\"10\"");
    q.cursor = "10";
    CHECK_EQ_STR(page(d.s, q), "L11 L12 |null");
    db_remove(&d);
}

TEST(list_leads_filters_by_agent_state_source_and_time) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    scenario_list(d.s);
    lr_lead_query q = { .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 4, .agent = "alice" };
    CHECK_EQ_STR(page(d.s, q), "L01 L03 L05 L07 |\"7\"");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10, .state = "held", .source = "web" };
    CHECK_EQ_STR(page(d.s, q), "L02 L04 L06 L08 L10 L12 |null");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10, .state = "held", .source = "google" };
    CHECK_EQ_STR(page(d.s, q), "|null");
    q = (lr_lead_query){ .since = T0 + 9 * 60000, .until = LR_TIME_NONE, .limit = 10 };
    CHECK_EQ_STR(page(d.s, q), "L10 L11 L12 |null");
    q = (lr_lead_query){ .since = T0 + 6 * 60000, .until = LR_TIME_NONE, .limit = 10, .agent = "alice",
                         .state = "assigned" };
    CHECK_EQ_STR(page(d.s, q), "L07 L09 L11 |null");
    /* until: received before it (Lk at T0 + k - 1 minutes), by every path
     * (the table, an agent's blocks, a source's blocks, with since) */
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = T0 + 3 * 60000, .limit = 10 };
    CHECK_EQ_STR(page(d.s, q), "L01 L02 L03 |null");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = T0 + 4 * 60000, .limit = 10, .agent = "alice" };
    CHECK_EQ_STR(page(d.s, q), "L01 L03 |null");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = T0 + 5 * 60000, .limit = 2, .source = "google" };
    CHECK_EQ_STR(page(d.s, q), "L01 L03 |\"3\"");
    q.cursor = "3";
    CHECK_EQ_STR(page(d.s, q), "L05 |null");
    q = (lr_lead_query){ .since = T0 + 6 * 60000, .until = T0 + 9 * 60000, .limit = 10, .agent = "alice",
                         .state = "assigned" };
    CHECK_EQ_STR(page(d.s, q), "L07 L09 |null");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10, .agent = "bob" };
    CHECK_EQ_STR(page(d.s, q), "|null");

    lr_buf b = LR_BUF_INIT;
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 1, .cursor = "11" };
    CHECK_EQ_INT(lr_store_list_leads(d.s, &q, &b), LR_OK);
    CHECK_EQ_STR(b.data, "{\"leads\":[{\"id\":\"L12\",\"state\":\"held\",\"agent\":null,"
                         "\"source\":\"web\",\"received_at\":\"2026-11-02T10:11:00Z\"}],"
                         "\"next_cursor\":null,\"end_cursor\":\"12\"}");
    lr_buf_release(&b);
    db_remove(&d);
}

/* A state change that keeps the agent, one that moves the lead to another
 * agent and one that clears it: the lead and the lists by agent and by
 * state follow each. */
TEST(lead_state_changes_keep_move_or_clear_the_agent) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    scenario_list(d.s);
    lr_lead_query q = { .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10, .agent = "alice" };
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L03", "closed", "alice"), LR_OK);
    CHECK_EQ_STR(page(d.s, q), "L01 L03 L05 L07 L09 L11 |null");
    q.state = "closed";
    CHECK_EQ_STR(page(d.s, q), "L03 |null");
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L03", "assigned", "bob"), LR_OK);
    CHECK_EQ_STR(page(d.s, q), "|null");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10, .agent = "bob", .state = "assigned" };
    CHECK_EQ_STR(page(d.s, q), "L03 |null");
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L03", "waiting", NULL), LR_OK);
    CHECK_EQ_STR(page(d.s, q), "|null");
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L02", "unrouted", NULL), LR_OK);    /* none kept */
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10, .state = "waiting" };
    CHECK_EQ_STR(page(d.s, q), "L03 |null");
    q.state = "unrouted";
    CHECK_EQ_STR(page(d.s, q), "L02 |null");
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L03", NULL, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"state\":\"waiting\"");
    CHECK(strstr(b.data, "bob") == NULL && strstr(b.data, "alice") == NULL);
    lr_buf_release(&b);
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L99", "closed", NULL), LR_ENOENT);
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L99", "closed", "alice"), LR_ENOENT);
    db_remove(&d);
}

/* An agent's leads are found through the blocks of 4,096 seqs where it
 * has leads (agent_lists.c): leads far apart, a block boundary between two
 * seqs, pages that end inside a block, a lead moved to another agent and
 * back, and a block written in a transaction that was rolled back. */
TEST(list_by_agent_crosses_blocks_and_follows_moves) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    static const int64_t seqs[] = { 3, 4095, 4096, 4097, 9000, 20000, 20001, 100000 };
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        char id[16];
        snprintf(id, sizeof id, "S%lld", (long long)seqs[i]);
        CHECK_EQ_INT(put_lead(d.s, seqs[i], id, "web", T0), LR_OK);
        CHECK_EQ_INT(lr_store_set_lead_state(d.s, id, "assigned", i % 3 == 2 ? "bob" : "alice"),
                     LR_OK);
    }
    lr_lead_query q = { .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 2, .agent = "alice" };
    CHECK_EQ_STR(page(d.s, q), "S3 S4095 |\"4095\"");
    q.cursor = "4095";
    CHECK_EQ_STR(page(d.s, q), "S4097 S9000 |\"9000\"");
    q.cursor = "9000";
    CHECK_EQ_STR(page(d.s, q), "S20001 S100000 |null");
    q = (lr_lead_query){ .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 10, .agent = "bob" };
    CHECK_EQ_STR(page(d.s, q), "S4096 S20000 |null");
    /* moved to bob, then back to alice: each list follows */
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "S9000", "assigned", "bob"), LR_OK);
    CHECK_EQ_STR(page(d.s, q), "S4096 S9000 S20000 |null");
    q.agent = "alice";
    CHECK_EQ_STR(page(d.s, q), "S3 S4095 S4097 S20001 S100000 |null");
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "S9000", "assigned", "alice"), LR_OK);
    CHECK_EQ_STR(page(d.s, q), "S3 S4095 S4097 S9000 S20001 S100000 |null");
    /* carol's first block, rolled back: written again with her next lead */
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 200000, "C1", "web", T0), LR_OK);
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "C1", "assigned", "carol"), LR_OK);
    CHECK_EQ_INT(lr_store_rollback(d.s), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(d.s, 200001, T0, "lead", "C2", "{}", 2), LR_OK);
    CHECK_EQ_INT(lr_store_add_lead(d.s, "C2", "web", T0, "{}", 2, hash_of(2), "assigned", "carol"),
                 LR_OK);
    CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
    q.agent = "carol";
    CHECK_EQ_STR(page(d.s, q), "C2 |null");
    db_remove(&d);
}

TEST(list_leads_refuses_bad_cursor_limit_and_state) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    scenario_list(d.s);
    static const char *const bad[] = { "", "abc", "-1", "+3", "03", "0", "3a", " 3",
                                       "1234567890123456789" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        lr_lead_query q = { .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 2, .cursor = bad[i] };
        CHECK_EQ_STR(page(d.s, q), "error LR_EINVAL");
    }
    lr_lead_query q = { .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 0 };
    CHECK_EQ_STR(page(d.s, q), "error LR_EINVAL");
    q.limit = 1001;
    CHECK_EQ_STR(page(d.s, q), "error LR_EINVAL");
    q.limit = 1000;
    q.state = "busy";
    CHECK_EQ_STR(page(d.s, q), "error LR_EINVAL");
    q.state = NULL;
    q.cursor = "999999999999999999";
    CHECK_EQ_STR(page(d.s, q), "|null");
    db_remove(&d);
}

/* ---- idempotency and API keys ----------------------------------------------- */

TEST(idempotency_key_round_trip) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    lr_buf b = LR_BUF_INIT;
    unsigned char h[32];
    int status = 0;
    CHECK_EQ_INT(lr_store_idem_get(d.s, "k1", h, &status, &b), LR_ENOENT);
    CHECK_EQ_INT(lr_store_idem_put(d.s, "k1", hash_of(3), 201, "{\"ok\":true}", 11, T0), LR_OK);
    CHECK_EQ_INT(lr_store_idem_put(d.s, "k1", hash_of(4), 200, "{}", 2, T0), LR_EEXIST);
    CHECK_EQ_INT(lr_buf_puts(&b, ">"), LR_OK);
    CHECK_EQ_INT(lr_store_idem_get(d.s, "k1", h, &status, &b), LR_OK);
    CHECK_EQ_INT(status, 201);
    CHECK(memcmp(h, hash_of(3), 32) == 0);
    CHECK_EQ_STR(b.data, ">{\"ok\":true}");
    lr_buf_release(&b);
    db_remove(&d);
}

/* Keys are forgotten oldest first, those stored before the time given,
 * at most LIMIT at once. */
TEST(idempotency_keys_are_pruned_by_age) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    static const char *const keys[] = { "a", "b", "c", "d" };
    static const lr_time at[] = { T0 + 30, T0 + 10, T0 + 20, T0 + 40 };
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(lr_store_idem_put(d.s, keys[i], hash_of(i), 201, "{}", 2, at[i]), LR_OK);
    int n = -1;
    CHECK_EQ_INT(lr_store_idem_prune(d.s, T0 + 35, 2, &n), LR_OK);
    CHECK_EQ_INT(n, 2);                                         /* b and c: the oldest */
    lr_buf b = LR_BUF_INIT;
    unsigned char h[32];
    int status = 0;
    CHECK_EQ_INT(lr_store_idem_get(d.s, "b", h, &status, &b), LR_ENOENT);
    CHECK_EQ_INT(lr_store_idem_get(d.s, "c", h, &status, &b), LR_ENOENT);
    CHECK_EQ_INT(lr_store_idem_get(d.s, "a", h, &status, &b), LR_OK);
    CHECK_EQ_INT(lr_store_idem_prune(d.s, T0 + 35, 2, &n), LR_OK);
    CHECK_EQ_INT(n, 1);                                         /* a; d is newer */
    CHECK_EQ_INT(lr_store_idem_get(d.s, "a", h, &status, &b), LR_ENOENT);
    CHECK_EQ_INT(lr_store_idem_get(d.s, "d", h, &status, &b), LR_OK);
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(api_keys_are_found_by_secret_hash) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(lr_store_key_add(d.s, "k_admin", hash_of(1), "admin", NULL, T0), LR_OK);
    CHECK_EQ_INT(lr_store_key_add(d.s, "k_alice", hash_of(2), "agent", "alice", T0), LR_OK);
    CHECK_EQ_INT(lr_store_key_add(d.s, "k_admin", hash_of(5), "admin", NULL, T0), LR_EEXIST);
    CHECK_EQ_INT(lr_store_key_add(d.s, "k_other", hash_of(2), "admin", NULL, T0), LR_EEXIST);
    char role[16], agent[16];
    CHECK_EQ_INT(lr_store_key_find(d.s, hash_of(2), role, sizeof role, agent, sizeof agent), LR_OK);
    CHECK_EQ_STR(role, "agent");
    CHECK_EQ_STR(agent, "alice");
    CHECK_EQ_INT(lr_store_key_find(d.s, hash_of(1), role, sizeof role, agent, sizeof agent), LR_OK);
    CHECK_EQ_STR(role, "admin");
    CHECK_EQ_STR(agent, "");
    strcpy(role, "untouched");
    CHECK_EQ_INT(lr_store_key_find(d.s, hash_of(7), role, sizeof role, agent, sizeof agent), LR_ENOENT);
    CHECK_EQ_INT(lr_store_key_find(d.s, hash_of(2), role, 5, agent, sizeof agent), LR_ERANGE);
    CHECK_EQ_STR(role, "untouched");
    db_remove(&d);
}

/* ---- statistics ------------------------------------------------------------- */

/* Fills D's store for the statistics tests below. */
static void stats_store(db *dd) {
    db d = *dd;
    /* L1..L10 received at T0 + i min; L1..L6 to alice, L7..L10 to bob,
     * each assigned i * 100 ms after it arrived (L10: claimed after an
     * offer; L5 reassigned later: only the first counts) */
    int64_t seq = 0;
    for (int i = 1; i <= 10; i++) {
        char id[16];
        lr_time at = T0 + i * 60000;
        snprintf(id, sizeof id, "L%d", i);
        CHECK_EQ_INT(put_lead(d.s, ++seq, id, i <= 8 ? "google" : "web", at), LR_OK);
        const char *agent = i <= 6 ? "alice" : "bob";
        if (i == 10) {
            CHECK_EQ_INT(put_decision(d.s, seq, at, id, LR_ACTION_OFFERED, NULL, "all", "everyone",
                                      NULL, "offered"), LR_OK);
            CHECK_EQ_INT(lr_store_append_event(d.s, ++seq, at + 1000, "claim", id, "{}", 2), LR_OK);
            CHECK_EQ_INT(put_decision(d.s, seq, at + 1000, id, LR_ACTION_CLAIMED, agent, "all",
                                      "everyone", NULL, "assigned"), LR_OK);
        } else {
            CHECK_EQ_INT(put_decision(d.s, seq, at + i * 100, id, LR_ACTION_ASSIGNED, agent,
                                      "hot", "west", NULL, "assigned"), LR_OK);
        }
    }
    /* L11: held, never assigned; received at T0 by its sender's word, held
     * when it came, after L10's claim (the engine's clock never goes back) */
    CHECK_EQ_INT(put_lead(d.s, ++seq, "L11", "web", T0), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, seq, T0 + 601000, "L11", LR_ACTION_HELD, NULL, NULL, NULL, NULL,
                              "held"), LR_OK);
    /* L5 released and reassigned to bob an hour later */
    CHECK_EQ_INT(lr_store_append_event(d.s, ++seq, T0 + 3600000, "release", "L5", "{}", 2), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, seq, T0 + 3600000, "L5", LR_ACTION_RELEASED, "alice", "hot",
                              "west", NULL, NULL), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, seq, T0 + 3600000, "L5", LR_ACTION_ASSIGNED, "bob", "hot", "west",
                              NULL, "assigned"), LR_OK);
    /* L1 won and L2 lost (alice), L7 won (bob) */
    static const struct { const char *lead, *agent, *status; } out[] = {
        { "L1", "alice", "won" }, { "L2", "alice", "lost" }, { "L7", "bob", "won" } };
    for (int i = 0; i < 3; i++) {
        CHECK_EQ_INT(lr_store_append_event(d.s, ++seq, T0 + 7200000, "progress", out[i].lead, "{}", 2),
                     LR_OK);
        CHECK_EQ_INT(put_decision(d.s, seq, T0 + 7200000, out[i].lead, LR_ACTION_CLOSED, out[i].agent,
                                  "hot", "west", out[i].status, "closed"), LR_OK);
    }
}

TEST(stats_json_counts_and_time_to_assign) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    stats_store(&d);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_stats_json(d.s, LR_TIME_NONE, LR_TIME_NONE, &b), LR_OK);
    /* assign times: L1..L9 100..900 ms, L10 1000 ms -> median 500 (5th
     * of 10), p90 900 (9th) */
    CHECK_EQ_STR(b.data,
        "{\"leads\":11,"
        "\"decisions\":{\"assigned\":10,\"claimed\":1,\"closed\":3,\"held\":1,\"offered\":1,"
        "\"released\":1},"
        "\"by_agent\":{\"alice\":{\"assigned\":6,\"closed\":2,\"released\":1,\"open\":3,\"won\":1,"
        "\"lost\":1},\"bob\":{\"assigned\":4,\"claimed\":1,\"closed\":1,\"open\":4,\"won\":1,"
        "\"lost\":0}},"
        "\"by_rule\":{\"all\":{\"claimed\":1,\"offered\":1},\"hot\":{\"assigned\":10,\"closed\":3,"
        "\"released\":1}},"
        "\"by_pool\":{\"everyone\":{\"claimed\":1,\"offered\":1},\"west\":{\"assigned\":10,"
        "\"closed\":3,\"released\":1}},"
        "\"by_source\":{\"google\":{\"leads\":8,\"assigned\":8},\"web\":{\"leads\":3,"
        "\"assigned\":2}},"
        "\"time_to_assign_ms\":{\"median\":500,\"p90\":900,\"count\":10},"
        "\"deliveries\":{\"by_channel\":{},\"latency_ms\":{\"median\":null,\"p90\":null,\"count\":0}}}");
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(stats_json_over_a_window) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    stats_store(&d);
    lr_buf b = LR_BUF_INIT;
    /* [T0 + 5 min, T0 + 9 min): L5..L8 received, their first assignments
     * made (L9's at T0 + 9 min + 900 ms is not); the open leads are those
     * of L5..L8 assigned now (L5 to bob since its reassignment, outside);
     * the closings at T0 + 2 h are not in it */
    CHECK_EQ_INT(lr_store_stats_json(d.s, T0 + 5 * 60000, T0 + 9 * 60000, &b), LR_OK);
    CHECK_EQ_STR(b.data,
        "{\"leads\":4,"
        "\"decisions\":{\"assigned\":4},"
        "\"by_agent\":{\"alice\":{\"assigned\":2,\"open\":1,\"won\":0,\"lost\":0},"
        "\"bob\":{\"assigned\":2,\"open\":2,\"won\":0,\"lost\":0}},"
        "\"by_rule\":{\"hot\":{\"assigned\":4}},"
        "\"by_pool\":{\"west\":{\"assigned\":4}},"
        "\"by_source\":{\"google\":{\"leads\":4,\"assigned\":4}},"
        "\"time_to_assign_ms\":{\"median\":600,\"p90\":800,\"count\":4},"
        "\"deliveries\":{\"by_channel\":{},\"latency_ms\":{\"median\":null,\"p90\":null,\"count\":0}}}");
    /* since T0 + 2 h, open at the end: the three closings, no lead */
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_stats_json(d.s, T0 + 7200000, LR_TIME_NONE, &b), LR_OK);
    CHECK_EQ_STR(b.data,
        "{\"leads\":0,"
        "\"decisions\":{\"closed\":3},"
        "\"by_agent\":{\"alice\":{\"closed\":2,\"open\":0,\"won\":1,\"lost\":1},"
        "\"bob\":{\"closed\":1,\"open\":0,\"won\":1,\"lost\":0}},"
        "\"by_rule\":{\"hot\":{\"closed\":3}},"
        "\"by_pool\":{\"west\":{\"closed\":3}},"
        "\"by_source\":{},"
        "\"time_to_assign_ms\":{\"median\":null,\"p90\":null,\"count\":0},"
        "\"deliveries\":{\"by_channel\":{},\"latency_ms\":{\"median\":null,\"p90\":null,\"count\":0}}}");
    /* until T0 + 1 ms, open at the start: L11, received at T0 (held later) */
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_stats_json(d.s, LR_TIME_NONE, T0 + 1, &b), LR_OK);
    CHECK_EQ_STR(b.data,
        "{\"leads\":1,"
        "\"decisions\":{},"
        "\"by_agent\":{},\"by_rule\":{},\"by_pool\":{},"
        "\"by_source\":{\"web\":{\"leads\":1,\"assigned\":0}},"
        "\"time_to_assign_ms\":{\"median\":null,\"p90\":null,\"count\":0},"
        "\"deliveries\":{\"by_channel\":{},\"latency_ms\":{\"median\":null,\"p90\":null,\"count\":0}}}");
    lr_buf_release(&b);
    db_remove(&d);
}

/* A window takes the deliveries of the decisions made in it (created_at,
 * the decision's time), with their latency. */
TEST(stats_json_window_takes_the_deliveries_of_its_decisions) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    stats_store(&d);
    int64_t in = 0, out = 0;
    char prev[16];
    CHECK_EQ_INT(lr_store_add_delivery(d.s, 1, T0 + 6 * 60000, 0, "L6", "assigned", "alice", "crm",
                                       NULL, "pending", NULL, false, &in), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(d.s, 2, T0 + 7200000, 0, "L1", "closed", "alice", "crm",
                                       NULL, "pending", NULL, false, &out), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(d.s, in, "delivered", 1, LR_TIME_NONE, T0 + 6 * 60000 + 40,
                                          T0 + 6 * 60000, 0, 200, NULL, prev), LR_OK);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_stats_json(d.s, T0 + 5 * 60000, T0 + 9 * 60000, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"deliveries\":{\"by_channel\":{\"crm\":{\"delivered\":1}},"
                           "\"latency_ms\":{\"median\":40,\"p90\":40,\"count\":1}}");
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_stats_json(d.s, T0 + 7200000, LR_TIME_NONE, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"by_channel\":{\"crm\":{\"pending\":1}},"
                           "\"latency_ms\":{\"median\":null,\"p90\":null,\"count\":0}");
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_stats_json(d.s, LR_TIME_NONE, LR_TIME_NONE, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"by_channel\":{\"crm\":{\"delivered\":1,\"pending\":1}}");
    lr_buf_release(&b);
    db_remove(&d);
}

/* The answer of a sqlite3 query SQL on PATH as "a=1,b=2" (rows of two
 * columns), for the statistics' oracle. */
static void sql_pairs(const char *path, const char *sql, lr_time a, lr_time b, char *out,
                      size_t len) {
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    size_t n = 0;
    out[0] = '\0';
    if (sqlite3_open(path, &h) == SQLITE_OK && sqlite3_prepare_v2(h, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, a);
        sqlite3_bind_int64(st, 2, b);
        while (sqlite3_step(st) == SQLITE_ROW && n + 64 < len)
            n += (size_t)snprintf(out + n, len - n, "%s\"%s\":%lld", n ? "," : "",
                                  (const char *)sqlite3_column_text(st, 0),
                                  (long long)sqlite3_column_int64(st, 1));
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
}

static int exec_on(const char *path, const char *sql) {
    sqlite3 *h = NULL;
    int rc = sqlite3_open(path, &h);
    if (rc == SQLITE_OK) rc = sqlite3_exec(h, sql, NULL, NULL, NULL);
    sqlite3_close(h);
    return rc;
}

/* A window's leads come from the blocks of 4,096 seqs whose range of
 * received_at reaches into it (and the newest, not full yet); its
 * decisions and deliveries from a search over their ids. 14,000 leads in
 * three handles' lives (block 0 begun by one and ended by the next, block
 * 1 seen whole, block 2 with a rollback), one in 50 sent
 * days late (a backlog: received long before it came; one, early in
 * block 0, a month late), one in 300 with
 * no received time, a decision each and a delivery for one in 3: every
 * window's answer is the one a read of every lead gives (the blocks'
 * ranges deleted), and its decisions and deliveries are SQL's count. */
TEST(stats_json_window_reads_the_blocks_that_reach_into_it) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    enum { N = 14000 };
    int64_t seq = 0;
    lr_time clock = T0;
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    for (int i = 1; i <= N; i++) {
        char id[16];
        snprintf(id, sizeof id, "W%d", i);
        clock += 1000;
        lr_time received = i % 300 == 0 ? LR_TIME_NONE : i % 50 == 0 ? T0 - (i % 7) * 86400000
                           : i == 101 ? T0 - 30 * 86400000LL : clock - 200;
        ++seq;
        char body[64];
        int n = snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
        CHECK_EQ_INT(lr_store_append_event(d.s, seq, clock, "lead", id, body, (size_t)n), LR_OK);
        CHECK_EQ_INT(lr_store_add_lead(d.s, id, i % 2 ? "web" : "ads", received, body, (size_t)n,
                                       hash_of((unsigned char)seq), NULL, NULL), LR_OK);
        int64_t dec = 0;
        lr_buf b = LR_BUF_INIT;
        lr_decision dd = { .at = clock, .lead = id, .action = LR_ACTION_ASSIGNED,
                           .agent = i % 3 ? "ann" : "bo", .rule = "r", .pool = "p",
                           .strategy = "round_robin" };
        CHECK_EQ_INT(lr_decision_write_json(&dd, &b), LR_OK);
        CHECK_EQ_INT(lr_store_add_decision(d.s, seq, clock, id, "assigned", dd.agent, b.data,
                                           b.len, &dd, &dec), LR_OK);
        lr_buf_release(&b);
        CHECK_EQ_INT(lr_store_set_lead_state(d.s, id, "assigned", dd.agent), LR_OK);
        if (i % 3 == 0)
            CHECK_EQ_INT(lr_store_add_delivery(d.s, dec, clock, 0, id, "assigned", dd.agent,
                                               i % 2 ? "crm" : "mail", NULL, "pending", NULL,
                                               false, NULL), LR_OK);
        if (i == 3000 || i == 13000) {                  /* a new handle mid-block */
            CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
            lr_store_close(d.s);
            char err[256];
            d.s = NULL;
            CHECK_EQ_INT(lr_store_open(d.path, LR_SYNC_OFF, &d.s, err, sizeof err), LR_OK);
            if (!d.s) return;
            CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
        }
        if (i == 10000) {                               /* a rollback in the block */
            CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
            CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
            CHECK_EQ_INT(lr_store_append_event(d.s, seq + 1, clock, "lead", "gone", "{}", 2), LR_OK);
            CHECK_EQ_INT(lr_store_add_lead(d.s, "gone", NULL, T0 + 99 * 86400000LL, "{}", 2,
                                           hash_of(1), NULL, NULL), LR_OK);
            CHECK_EQ_INT(lr_store_rollback(d.s), LR_OK);
            CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
        }
    }
    CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
    /* the full blocks' ranges are their leads' */
    char got[512], want[600];
    sql_pairs(d.path, "SELECT 'blocks', count(*) FROM lead_time_blocks", 0, 0, got, sizeof got);
    CHECK_EQ_STR(got, "\"blocks\":3");
    sql_pairs(d.path, "SELECT 'wrong', count(*) FROM (SELECT seq >> 12 AS k, min(received_at) AS lo,"
                      " max(received_at) AS hi FROM leads WHERE received_at IS NOT NULL"
                      " AND seq >> 12 < 3 GROUP BY 1) x LEFT JOIN lead_time_blocks t ON t.block = x.k"
                      " WHERE t.lo IS NOT x.lo OR t.hi IS NOT x.hi", 0, 0, got, sizeof got);
    CHECK_EQ_STR(got, "\"wrong\":0");
    static const lr_time windows[][2] = {
        { T0 + 1000000, T0 + 2000000 }, { T0 + 4000000, T0 + 4096500 },
        { T0 + 9000000, LR_TIME_NONE }, { LR_TIME_NONE, T0 + 100000 },
        { T0 - 3 * 86400000LL, T0 - 2 * 86400000LL + 1 }, { T0 + 20000000, T0 + 30000000 },
        { T0 + 4095000, T0 + 4097000 }, { LR_TIME_NONE, T0 },
        { T0 - 31 * 86400000LL, T0 - 29 * 86400000LL },
    };
    enum { W = sizeof windows / sizeof windows[0] };
    static char blocks[W][4096];
    lr_buf b = LR_BUF_INIT;
    for (size_t w = 0; w < W; w++) {
        lr_buf_reset(&b);
        CHECK_EQ_INT(lr_store_stats_json(d.s, windows[w][0], windows[w][1], &b), LR_OK);
        snprintf(blocks[w], sizeof blocks[w], "%s", b.data ? b.data : "");
        lr_time a = windows[w][0] == LR_TIME_NONE ? INT64_MIN : windows[w][0];
        lr_time z = windows[w][1] == LR_TIME_NONE ? INT64_MAX : windows[w][1];
        sql_pairs(d.path, "SELECT action, count(*) FROM decisions WHERE at >= ?1 AND at < ?2"
                          " GROUP BY 1 ORDER BY 1", a, z, got, sizeof got);
        snprintf(want, sizeof want, "\"decisions\":{%s}", got);
        CHECK_CONTAINS(b.data, want);
        sql_pairs(d.path, "SELECT channel, count(*) FROM deliveries WHERE created_at >= ?1"
                          " AND created_at < ?2 GROUP BY 1 ORDER BY 1", a, z, got, sizeof got);
        CHECK(strstr(b.data, "\"by_channel\":{") != NULL);
        if (got[0]) {
            char one[64];
            for (char *p = strtok(got, ","); p; p = strtok(NULL, ",")) {
                char *colon = strrchr(p, ':');
                snprintf(one, sizeof one, "%.*s:{\"pending\":%s}", (int)(colon - p), p, colon + 1);
                CHECK_CONTAINS(b.data, one);
            }
        } else {
            CHECK_CONTAINS(b.data, "\"by_channel\":{}");
        }
    }
    /* without the ranges every lead is read: the same answers */
    CHECK_EQ_INT(exec_on(d.path, "DELETE FROM lead_time_blocks"), SQLITE_OK);
    for (size_t w = 0; w < W; w++) {
        lr_buf_reset(&b);
        CHECK_EQ_INT(lr_store_stats_json(d.s, windows[w][0], windows[w][1], &b), LR_OK);
        CHECK_EQ_STR(blocks[w], b.data);
        CHECK(strstr(b.data, "\"leads\":0,") == NULL || w == 5);
    }
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(stats_json_of_an_empty_store) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_stats_json(d.s, LR_TIME_NONE, LR_TIME_NONE, &b), LR_OK);
    CHECK_EQ_STR(b.data, "{\"leads\":0,\"decisions\":{},\"by_agent\":{},\"by_rule\":{},"
                         "\"by_pool\":{},\"by_source\":{},"
                         "\"time_to_assign_ms\":{\"median\":null,\"p90\":null,\"count\":0},"
        "\"deliveries\":{\"by_channel\":{},\"latency_ms\":{\"median\":null,\"p90\":null,\"count\":0}}}");
    lr_buf_release(&b);
    db_remove(&d);
}

/* ---- transactions and durability --------------------------------------------- */

TEST(rollback_leaves_nothing) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_ESTATE);
    CHECK_EQ_INT(put_lead(d.s, 1, "L1", "web", T0), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 1, T0, "L1", LR_ACTION_ASSIGNED, "alice", "r", "p", NULL,
                              "assigned"), LR_OK);
    CHECK_EQ_INT(lr_store_idem_put(d.s, "k", hash_of(1), 200, "{}", 2, T0), LR_OK);
    CHECK_EQ_INT(lr_store_key_add(d.s, "key", hash_of(1), "admin", NULL, T0), LR_OK);
    CHECK_EQ_INT(lr_store_rollback(d.s), LR_OK);
    CHECK_EQ_INT(lr_store_rollback(d.s), LR_OK);
    CHECK_EQ_INT(lr_store_commit(d.s), LR_ESTATE);

    int64_t last = -1, seq;
    unsigned char h[32];
    int status;
    char role[16], agent[16];
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_last_seq(d.s, &last), LR_OK);
    CHECK_EQ_INT(last, 0);
    CHECK_EQ_INT(lr_store_find_lead(d.s, "L1", &seq, h), LR_ENOENT);
    CHECK_EQ_INT(lr_store_idem_get(d.s, "k", h, &status, &b), LR_ENOENT);
    CHECK_EQ_INT(lr_store_key_find(d.s, hash_of(1), role, sizeof role, agent, sizeof agent), LR_ENOENT);
    CHECK_EQ_INT(lr_store_stats_json(d.s, LR_TIME_NONE, LR_TIME_NONE, &b), LR_OK);
    CHECK_CONTAINS(b.data, "{\"leads\":0,\"decisions\":{},");
    /* the rolled-back event is gone: a lead needs a new append */
    CHECK_EQ_INT(lr_store_add_lead(d.s, "L1", NULL, T0, "{}", 2, hash_of(1), NULL, NULL), LR_ESTATE);
    lr_buf_release(&b);
    db_remove(&d);
}

/* A lead's seq, remembered when it was added, is forgotten with it: a
 * decision about that id afterwards ties to no row (not to the row that
 * took the seq since). */
TEST(a_rollback_forgets_the_seqs_of_its_leads) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 1, "L1", "web", T0), LR_OK);
    CHECK_EQ_INT(lr_store_rollback(d.s), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 1, "L9", "web", T0), LR_OK);
    CHECK_EQ_INT(put_decision(d.s, 1, T0, "L1", LR_ACTION_ASSIGNED, "alice", "r", "p", NULL,
                              NULL), LR_OK);
    CHECK_EQ_INT(lr_store_set_lead_state(d.s, "L1", "assigned", "alice"), LR_ENOENT);
    CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L9", NULL, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"decisions\":[]");
    CHECK_CONTAINS(b.data, "\"state\":\"new\"");
    lr_buf_release(&b);
    db_remove(&d);
}

TEST(full_sync_commit_survives_reopen) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_FULL), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    scenario_small(d.s);
    CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
    lr_buf before = LR_BUF_INIT, after = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L1", NULL, &before), LR_OK);
    CHECK_EQ_INT(lr_store_stats_json(d.s, LR_TIME_NONE, LR_TIME_NONE, &before), LR_OK);
    /* an uncommitted transaction at close is lost */
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 5, "L9", NULL, T0), LR_OK);
    CHECK_EQ_INT(db_reopen(&d, LR_SYNC_FULL), LR_OK);
    CHECK_EQ_INT(lr_store_lead_json(d.s, "L1", NULL, &after), LR_OK);
    CHECK_EQ_INT(lr_store_stats_json(d.s, LR_TIME_NONE, LR_TIME_NONE, &after), LR_OK);
    CHECK_EQ_STR(after.data, before.data);
    int64_t last = 0;
    CHECK_EQ_INT(lr_store_last_seq(d.s, &last), LR_OK);
    CHECK_EQ_INT(last, 4);
    lr_buf_release(&before);
    lr_buf_release(&after);
    db_remove(&d);
}

TEST(second_handle_reads_while_the_writer_holds_a_transaction) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_FULL), LR_OK);
    CHECK_EQ_INT(lr_store_key_add(d.s, "k1", hash_of(1), "ingest", NULL, T0), LR_OK);
    CHECK_EQ_INT(lr_store_begin(d.s), LR_OK);
    CHECK_EQ_INT(put_lead(d.s, 1, "L1", NULL, T0), LR_OK);
    lr_store *r = NULL;
    char err[256] = "", role[16], agent[16];
    CHECK_EQ_INT(lr_store_open(d.path, LR_SYNC_FULL, &r, err, sizeof err), LR_OK);
    int64_t last = -1;
    if (r) {
        CHECK_EQ_INT(lr_store_key_find(r, hash_of(1), role, sizeof role, agent, sizeof agent), LR_OK);
        CHECK_EQ_STR(role, "ingest");
        CHECK_EQ_INT(lr_store_last_seq(r, &last), LR_OK);
        CHECK_EQ_INT(last, 0);
        CHECK_EQ_INT(lr_store_commit(d.s), LR_OK);
        CHECK_EQ_INT(lr_store_last_seq(r, &last), LR_OK);
        CHECK_EQ_INT(last, 1);
    }
    lr_store_close(r);
    db_remove(&d);
}

int main(void) {
    RUN(open_creates_schema_and_reopen_keeps_data);
    RUN(one_claim_at_a_time_and_open_again_makes_nothing);
    RUN(open_refuses_a_path_that_is_not_a_database);
    RUN(journal_replays_every_event_in_order);
    RUN(replay_starts_after_the_given_seq);
    RUN(replay_stops_on_callback_value_and_refuses_writes);
    RUN(lead_json_has_lead_decisions_and_progress);
    RUN(lead_json_for_an_agent_shows_only_its_own_leads);
    RUN(decisions_of_event_are_the_answer_a_lead_event_got);
    RUN(duplicate_lead_is_eexist_and_find_lead_reports_seq_and_hash);
    RUN(a_lead_is_stored_in_its_first_decisions_state_in_one_insert);
    RUN(list_leads_pages_with_cursors);
    RUN(list_leads_filters_by_agent_state_source_and_time);
    RUN(lead_state_changes_keep_move_or_clear_the_agent);
    RUN(list_by_agent_crosses_blocks_and_follows_moves);
    RUN(list_leads_refuses_bad_cursor_limit_and_state);
    RUN(idempotency_key_round_trip);
    RUN(idempotency_keys_are_pruned_by_age);
    RUN(api_keys_are_found_by_secret_hash);
    RUN(stats_json_counts_and_time_to_assign);
    RUN(stats_json_over_a_window);
    RUN(stats_json_window_reads_the_blocks_that_reach_into_it);
    RUN(stats_json_window_takes_the_deliveries_of_its_decisions);
    RUN(stats_json_of_an_empty_store);
    RUN(open_refuses_another_programs_database_and_leaves_it_alone);
    RUN(open_existing_refuses_a_missing_or_empty_file);
    RUN(rollback_leaves_nothing);
    RUN(a_rollback_forgets_the_seqs_of_its_leads);
    RUN(full_sync_commit_survives_reopen);
    RUN(second_handle_reads_while_the_writer_holds_a_transaction);
    return test_report();
}
