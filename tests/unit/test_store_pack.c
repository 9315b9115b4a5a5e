/* test_store_pack.c -- a decision's "why" stored compact or compressed
 * (src/store/decision_pack.c): every way a decision is read back gives the
 * JSON that was stored, byte for byte, whichever form it was kept in; the
 * statistics still read the rule and pool; rows written before schema 5
 * read as they were; a damaged row is an error that names it, not a
 * crash. */
#include "leadrouter/buf.h"
#include "leadrouter/decision.h"
#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "schema_undo.h"
#include "test.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1793613600000                /* 2026-11-02T10:00:00Z */

static char path[64];

static lr_store *open_new(void) {
    char err[256] = "";
    snprintf(path, sizeof path, "/tmp/lr_test_pack_XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0) return NULL;
    close(fd);
    lr_store *s = NULL;
    if (lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err) != LR_OK) printf("  open: %s\n", err);
    return s;
}

static lr_store *reopen(lr_store *s) {
    char err[256] = "";
    lr_store_close(s);
    s = NULL;
    if (lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err) != LR_OK) printf("  reopen: %s\n", err);
    return s;
}

static void remove_db(lr_store *s) {
    char p[80];
    lr_store_close(s);
    unlink(path);
    snprintf(p, sizeof p, "%s-wal", path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path);
    unlink(p);
}

/* Runs SQL on the file with a plain SQLite handle (the store closed). */
static int sql(const char *q) {
    sqlite3 *db = NULL;
    int rc = sqlite3_open(path, &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, q, NULL, NULL, NULL);
    if (rc != SQLITE_OK) printf("  sql: %s\n", sqlite3_errmsg(db));
    sqlite3_close(db);
    return rc;
}

/* Reads one integer with a plain SQLite handle. */
static long long sql_int(const char *q) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    long long v = -1;
    if (sqlite3_open(path, &db) == SQLITE_OK && sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* The JSON of an assignment of lead ID explained over NCANDS candidates
 * (the chosen one first; a third eligible, the rest skipped), into OUT. */
static lr_candidate cands_[200];
static lr_decision last_;               /* the decision assignment() wrote last */
static bool compact_;                   /* put() gives the store that decision too */

static void assignment(const char *id, size_t ncands, lr_buf *out) {
    static char names[200][16];
    lr_candidate *c = cands_;
    for (size_t i = 0; i < ncands && i < 200; i++) {
        snprintf(names[i], sizeof names[i], "agent%03zu", i);
        lr_cand_state st = i == 0 ? LR_CAND_CHOSEN : i % 3 ? LR_CAND_SKIPPED : LR_CAND_ELIGIBLE;
        c[i] = (lr_candidate){ .agent = names[i], .state = st,
                               .reason = st == LR_CAND_SKIPPED ? (i % 2 ? LR_SKIP_NO_MATCH : LR_SKIP_AWAY)
                                                               : LR_SKIP_NONE };
    }
    lr_decision d = { .at = T0, .lead = id, .action = LR_ACTION_ASSIGNED, .agent = names[0],
                      .rule = "west \"hot\"", .pool = "west", .strategy = "round_robin",
                      .cands = c, .ncands = ncands, .pool_size = ncands + 50 };
    lr_buf_reset(out);
    lr_decision_write_json(&d, out);
    last_ = d;
}

/* Journals lead ID as event SEQ and stores it with decision JSON. */
static int64_t put(lr_store *s, int64_t seq, const char *id, const lr_buf *json) {
    char body[64];
    int n = snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    unsigned char h[32] = { (unsigned char)seq };
    int64_t dec = 0;
    int rc = lr_store_append_event(s, seq, T0, "lead", id, body, (size_t)n);
    if (rc == LR_OK) rc = lr_store_add_lead(s, id, NULL, T0, body, (size_t)n, h, "assigned", "agent000");
    if (rc == LR_OK) rc = lr_store_add_decision(s, seq, T0, id, "assigned", "agent000", json->data,
                                                json->len, compact_ ? &last_ : NULL, &dec);
    if (rc != LR_OK) printf("  put %s: %s\n", id, lr_strerror(rc));
    return rc == LR_OK ? dec : -1;
}

/* "[" JSON "]": what lr_store_decisions_of_event gives for one decision. */
static void bracket(const lr_buf *json, lr_buf *out) {
    lr_buf_reset(out);
    lr_buf_putc(out, '[');
    lr_buf_append(out, json->data, json->len);
    lr_buf_putc(out, ']');
}

typedef struct got { lr_buf json; int n, unreadable; } got;

/* Counts the jobs; keeps the last readable one's decision. */
static int collect(const lr_delivery_job *j, void *ud) {
    got *g = ud;
    g->n++;
    if (j->unreadable) {
        g->unreadable++;
        if (j->decision_json) g->n += 100;      /* must not have one */
        return 0;
    }
    lr_buf_reset(&g->json);
    if (j->decision_json) lr_buf_append(&g->json, j->decision_json, j->decision_len);
    return 0;
}

/* The fresh deliveries of CHANNEL (all of them are), at most LIMIT. */
static int fresh(lr_store *s, const char *channel, int limit, got *g) {
    int64_t reached = 0;
    return lr_store_fresh_deliveries(s, channel, 0, INT64_MAX, limit, NULL, 0, NULL, collect, g,
                                     &reached);
}

/* A decision over 100 candidates, stored compact (COMPACT: the decision
 * given) or compressed, read back every way the store reads decisions. */
static void long_why_round_trip(bool compact) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_buf json = LR_BUF_INIT, want = LR_BUF_INIT, b = LR_BUF_INIT;
    assignment("L1", 100, &json);
    CHECK(json.len > 3000);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    compact_ = compact;
    int64_t dec = put(s, 1, "L1", &json);
    compact_ = false;
    int64_t dl = 0;
    CHECK_EQ_INT(lr_store_add_delivery(s, dec, T0, 0, "L1", "assigned", "agent000", "crm", NULL,
                                       "pending", NULL, false, &dl), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);

    bracket(&json, &want);                      /* the decisions of its event */
    CHECK_EQ_INT(lr_store_decisions_of_event(s, 1, NULL, &b), LR_OK);
    CHECK_EQ_STR(b.data, want.data);
    lr_buf_reset(&b);                           /* the lead's view */
    CHECK_EQ_INT(lr_store_lead_json(s, "L1", NULL, &b), LR_OK);
    CHECK_CONTAINS(b.data, want.data);
    got g = { LR_BUF_INIT, 0, 0 };              /* a webhook's body */
    CHECK_EQ_INT(fresh(s, "crm", 10, &g), LR_OK);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_STR(g.json.data, json.data);
    lr_buf_reset(&b);                           /* the statistics still see rule and pool */
    CHECK_EQ_INT(lr_store_stats_json(s, LR_TIME_NONE, LR_TIME_NONE, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"west \\\"hot\\\"\":{\"assigned\":1}");

    lr_store_close(s);                          /* on disk: body without why, why small */
    s = NULL;
    CHECK_EQ_INT(sql_int("SELECT instr(body, '\"why\"') FROM decisions"), 0);
    CHECK_EQ_INT(sql_int("SELECT json_extract(body, '$.pool') = 'west' FROM decisions"), 1);
    CHECK_EQ_INT(sql_int(compact ? "SELECT substr(why, 1, 1) = x'01' FROM decisions"
                                 : "SELECT substr(why, 1, 1) = x'28' FROM decisions"), 1);
    long long packed = sql_int("SELECT length(why) FROM decisions");
    CHECK(packed > 0 && packed * 4 < (long long)json.len);
    s = reopen(s);
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_decisions_of_event(s, 1, NULL, &b), LR_OK);
    CHECK_EQ_STR(b.data, want.data);
    lr_buf_release(&g.json);
    lr_buf_release(&json);
    lr_buf_release(&want);
    lr_buf_release(&b);
    remove_db(s);
}

TEST(a_long_why_is_stored_compressed_and_read_back_byte_for_byte) {
    long_why_round_trip(false);
}

TEST(a_compact_why_reads_back_byte_for_byte_every_way) {
    long_why_round_trip(true);
}

/* Commits S's open transaction, whose event 1 decided JSON; checks that
 * the store gives that JSON back, and (the store closed) that STORED_SQL
 * says 1 of the file; then removes the store. */
static void check_read_back(lr_store *s, const lr_buf *json, const char *stored_sql) {
    lr_buf want = LR_BUF_INIT, b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    bracket(json, &want);
    CHECK_EQ_INT(lr_store_decisions_of_event(s, 1, NULL, &b), LR_OK);
    CHECK_EQ_STR(b.data, want.data);
    lr_store_close(s);
    CHECK_EQ_INT(sql_int(stored_sql), 1);
    lr_buf_release(&want);
    lr_buf_release(&b);
    remove_db(reopen(NULL));                    /* it opens again */
}

TEST(a_short_why_and_a_decision_without_one_stay_whole) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_buf json = LR_BUF_INIT;
    assignment("L1", 3, &json);
    CHECK_CONTAINS(json.data, "\"why\":");
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    put(s, 1, "L1", &json);
    check_read_back(s, &json, "SELECT why IS NULL AND instr(body, '\"why\"') > 0 FROM decisions");
    lr_buf_release(&json);
}

/* A mark of engine_marks tells replay from which journal entry on a
 * behaviour applies: a new store has NAME at 1; a store upgraded by the
 * migration that added it (UNDO takes the file back to before it) has it
 * after its last entry, so its N config changes replay as they were made,
 * and it stays. KEPT, the mark of an earlier migration, stays at 1. */
static void check_mark(const char *name, const char *undo, int64_t n, const char *kept) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    int64_t seq = 0;
    CHECK_EQ_INT(lr_store_engine_mark(s, name, &seq), LR_OK);
    CHECK_EQ_INT(seq, 1);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    for (int64_t i = 1; i <= n; i++)
        CHECK_EQ_INT(lr_store_append_event(s, i, T0, "config", NULL, "{}", 2), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_store_close(s);
    s = NULL;
    CHECK_EQ_INT(sql(undo), SQLITE_OK);
    s = reopen(s);                              /* the migration again */
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ_INT(lr_store_engine_mark(s, name, &seq), LR_OK);
    CHECK_EQ_INT(seq, n + 1);
    if (kept) {
        CHECK_EQ_INT(lr_store_engine_mark(s, kept, &seq), LR_OK);
        CHECK_EQ_INT(seq, 1);
    }
    s = reopen(s);
    CHECK(s != NULL);
    if (!s) return;
    CHECK_EQ_INT(lr_store_engine_mark(s, name, &seq), LR_OK);
    CHECK_EQ_INT(seq, n + 1);
    CHECK_EQ_INT(lr_store_engine_mark(s, "no_such_mark", &seq), LR_ENOENT);
    remove_db(s);
}

/* Schema 12 marks where the journal's config changes start keeping
 * rotation positions. */
TEST(rotations_are_kept_from_the_first_entry_written_by_schema_12) {
    check_mark("rotations_kept_from",
               UNDO_SCHEMA_14 "DROP TABLE engine_marks; ALTER TABLE deliveries DROP COLUMN replays;"
               " ALTER TABLE deliveries DROP COLUMN due_at; PRAGMA user_version = 11;", 3, NULL);
}

/* Schema 13 marks where queued leads start going out at once to a ready
 * member (engine.h LR_LEGACY_QUEUE_WAITS before). */
TEST(queue_dispatch_is_marked_from_the_first_entry_written_by_schema_13) {
    check_mark("queue_dispatch_from",
               UNDO_SCHEMA_14 "DELETE FROM engine_marks WHERE name = 'queue_dispatch_from';"
               " ALTER TABLE deliveries DROP COLUMN replays; ALTER TABLE deliveries DROP COLUMN due_at;"
               " PRAGMA application_id = 0; PRAGMA user_version = 12;", 5, "rotations_kept_from");
}

/* Schema 14 marks where a config change carries an agent's cap windows
 * into its new time zone (engine.h LR_RECONF_ZONE_WINDOWS). */
TEST(zone_windows_are_marked_from_the_first_entry_written_by_schema_14) {
    check_mark("zone_windows_from",
               UNDO_SCHEMA_14 "DELETE FROM engine_marks WHERE name = 'zone_windows_from'; PRAGMA user_version = 13;",
               7, "queue_dispatch_from");
}

/* Schema 14 marks too where tiers' escalations count from the lead's entry
 * into its tier (engine.h LR_LEGACY_TIER_CLOCK before). */
TEST(tier_clock_is_marked_from_the_first_entry_written_by_schema_14) {
    check_mark("tier_clock_from",
               UNDO_SCHEMA_14 "DELETE FROM engine_marks WHERE name = 'tier_clock_from'; PRAGMA user_version = 13;",
               4, "zone_windows_from");
}

/* Schema 15 marks where claims without a lead id across pools of different
 * orders, and max_no_answer, work as they do now (engine.h
 * LR_LEGACY_PULL_ORDER, LR_LEGACY_NO_ANSWER before). */
TEST(pull_order_and_no_answer_are_marked_from_the_first_entry_written_by_schema_15) {
    check_mark("pull_order_from", UNDO_SCHEMA_15 "PRAGMA user_version = 14;", 6, "tier_clock_from");
    check_mark("no_answer_from", UNDO_SCHEMA_15 "PRAGMA user_version = 14;", 2, "tier_clock_from");
    check_mark("owner_index_from", UNDO_SCHEMA_15 "PRAGMA user_version = 14;", 3, "tier_clock_from");
    check_mark("timer_order_from", UNDO_SCHEMA_15 "PRAGMA user_version = 14;", 4, "tier_clock_from");
    check_mark("mode_change_from", UNDO_SCHEMA_15 "PRAGMA user_version = 14;", 5, "tier_clock_from");
    check_mark("zone_offers_from", UNDO_SCHEMA_15 "PRAGMA user_version = 14;", 6, "tier_clock_from");
}

/* Schema 16 marks where config changes route leads again in arrival order
 * with the waiting ones (LR_RECONF_REROUTE_ORDER). */
TEST(reroute_order_is_marked_from_the_first_entry_written_by_schema_16) {
    check_mark("reroute_order_from", UNDO_SCHEMA_16 "PRAGMA user_version = 15;", 4, "zone_offers_from");
}

/* Schema 17 marks where a decline of an assigned lead starts the agent's
 * max_no_answer counts again (LR_LEGACY_DECLINE_ANSWER before). */
TEST(decline_answer_is_marked_from_the_first_entry_written_by_schema_17) {
    check_mark("decline_answer_from", UNDO_SCHEMA_17 "PRAGMA user_version = 16;", 4, "reroute_order_from");
}

/* Schema 21 marks where a catch-up fires past deadlines before the
 * waiting leads go out (LR_LEGACY_CATCH_UP before), and where a
 * config change keeps a removed agent for its return (LR_RECONF_KEEP_GONE). */
TEST(catch_up_order_and_kept_agents_are_marked_from_the_first_entry_written_by_schema_21) {
    check_mark("catch_up_order_from", UNDO_SCHEMA_21 "PRAGMA user_version = 20;", 4, "decline_answer_from");
    check_mark("agents_kept_from", UNDO_SCHEMA_21 "PRAGMA user_version = 20;", 3, "decline_answer_from");
}

/* Schema 22 marks where a catch-up's expired offers count for no
 * max_no_answer (LR_LEGACY_CATCH_UP_ANSWER before); a store of the
 * development build that named one mark catch_up_from for both catch-up
 * changes gets both marks at its seq. */
TEST(catch_up_answers_are_marked_from_the_first_entry_written_by_schema_22) {
    check_mark("catch_up_answer_from", UNDO_SCHEMA_22 "PRAGMA user_version = 21;", 5, "catch_up_order_from");
    check_mark("catch_up_order_from",
               UNDO_SCHEMA_21 "INSERT INTO engine_marks(name, seq) VALUES ('catch_up_from', 4);"
               " INSERT INTO engine_marks(name, seq) VALUES ('agents_kept_from', 1); PRAGMA user_version = 21;",
               3, "agents_kept_from");
    check_mark("catch_up_answer_from",
               UNDO_SCHEMA_21 "INSERT INTO engine_marks(name, seq) VALUES ('catch_up_from', 4);"
               " INSERT INTO engine_marks(name, seq) VALUES ('agents_kept_from', 1); PRAGMA user_version = 21;",
               3, "agents_kept_from");
}

/* Schema 13 gives a delayed notice its due time: an unattempted one's
 * next_at; one attempted passed its check then (due at its creation). */
TEST(schema_13_gives_delayed_notices_their_due_time) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_buf json = LR_BUF_INIT;
    lr_buf_puts(&json, "{\"lead\":\"L1\",\"action\":\"queued\"}");
    int64_t a = 0, b = 0;
    char prev[16];
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    int64_t dec = put(s, 1, "L1", &json);
    CHECK_EQ_INT(lr_store_add_delivery(s, dec, T0, 60000, "L1", "queued", NULL, "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, dec, T0, 60000, "L1", "queued", NULL, "crm", NULL,
                                       "pending", NULL, false, &b), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, b, "retrying", 1, T0 + 90000, T0 + 60000, T0, 0, 503,
                                          "answered 503", prev), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_store_close(s);
    s = NULL;
    CHECK_EQ_INT(sql(UNDO_SCHEMA_14 "ALTER TABLE deliveries DROP COLUMN replays; ALTER TABLE deliveries DROP COLUMN due_at;"
                     " PRAGMA application_id = 0; PRAGMA user_version = 12;"), SQLITE_OK);
    s = reopen(s);                              /* 12 -> 13 */
    CHECK(s != NULL);
    if (!s) return;
    char q[96];
    snprintf(q, sizeof q, "SELECT coalesce(due_at - %lld, -1) FROM deliveries WHERE id = %lld", (long long)T0, (long long)a);
    CHECK_EQ_INT(sql_int(q), 60000);
    snprintf(q, sizeof q, "SELECT coalesce(due_at - %lld, -1) FROM deliveries WHERE id = %lld", (long long)T0, (long long)b);
    CHECK_EQ_INT(sql_int(q), 0);
    lr_buf_release(&json);
    remove_db(s);
}

TEST(a_schema_4_file_migrates_and_its_old_rows_read_as_stored) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_store_close(s);
    s = NULL;
    /* back to what schema 4 was: no why column, the whole JSON in body, no
     * deliveries.brief, no lead_agent_blocks */
    CHECK_EQ_INT(sql(UNDO_SCHEMA_14 "ALTER TABLE decisions DROP COLUMN why; ALTER TABLE deliveries DROP COLUMN brief;"
                     " ALTER TABLE deliveries DROP COLUMN replays; ALTER TABLE deliveries DROP COLUMN due_at;"
                     " DROP TABLE lead_agent_blocks; PRAGMA user_version = 4;"), SQLITE_OK);
    s = reopen(s);                              /* migrates to the current version */
    CHECK(s != NULL);
    if (!s) return;
    lr_buf json = LR_BUF_INIT, old = LR_BUF_INIT, want = LR_BUF_INIT, b = LR_BUF_INIT;
    assignment("L2", 100, &json);
    assignment("L1", 100, &old);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    put(s, 2, "L2", &json);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_store_close(s);
    s = NULL;
    CHECK_EQ_INT(sql_int("PRAGMA user_version"), SCHEMA_NOW);
    CHECK_EQ_INT(sql_int("SELECT count(*) FROM pragma_table_info('deliveries') WHERE name = 'replays'"), 1);
    CHECK_EQ_INT(sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'outbox_marks'"), 1);
    CHECK_EQ_INT(sql_int("SELECT instr(sql, 'updated_at IS NOT NULL') > 0 FROM sqlite_schema"
                         " WHERE name = 'deliveries_due'"), 1);
    CHECK_EQ_INT(sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'leads_agent'"), 0);
    CHECK_EQ_INT(sql_int("SELECT count(*) FROM sqlite_schema WHERE name = 'decisions_seq'"), 0);
    /* a row as schema 4 wrote it: the whole JSON in body, why NULL */
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    CHECK_EQ_INT(sqlite3_open(path, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_prepare_v2(db, "INSERT INTO decisions(seq, at, lead, lead_seq, action, body)"
                                        " VALUES (1, 0, 'L1', 1, 'assigned', ?1)", -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_text(st, 1, old.data, (int)old.len, SQLITE_STATIC);
    CHECK_EQ_INT(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
    sqlite3_close(db);
    s = reopen(s);
    bracket(&old, &want);
    CHECK_EQ_INT(lr_store_decisions_of_event(s, 1, NULL, &b), LR_OK);
    CHECK_EQ_STR(b.data, want.data);
    bracket(&json, &want);
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_decisions_of_event(s, 2, NULL, &b), LR_OK);
    CHECK_EQ_STR(b.data, want.data);
    lr_buf_release(&json);
    lr_buf_release(&old);
    lr_buf_release(&want);
    lr_buf_release(&b);
    remove_db(s);
}

TEST(a_damaged_why_is_an_error_that_says_so_and_leaves_the_buffer) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_buf json = LR_BUF_INIT, b = LR_BUF_INIT;
    assignment("L1", 100, &json);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    put(s, 1, "L1", &json);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_store_close(s);
    s = NULL;
    /* the frame cut short, then garbage */
    CHECK_EQ_INT(sql("UPDATE decisions SET why = substr(why, 1, length(why) / 2)"), SQLITE_OK);
    s = reopen(s);
    CHECK_EQ_INT(lr_buf_puts(&b, "keep"), LR_OK);
    CHECK_EQ_INT(lr_store_decisions_of_event(s, 1, NULL, &b), LR_EDAMAGED);
    CHECK_EQ_STR(b.data, "keep");
    CHECK_CONTAINS(lr_store_errmsg(s), "damaged");
    lr_store_close(s);
    s = NULL;
    CHECK_EQ_INT(sql("UPDATE decisions SET why = x'0102030405060708'"), SQLITE_OK);
    s = reopen(s);
    CHECK_EQ_INT(lr_store_lead_json(s, "L1", NULL, &b), LR_EDAMAGED);
    CHECK_EQ_STR(b.data, "keep");
    lr_buf_release(&json);
    lr_buf_release(&b);
    remove_db(s);
}

TEST(a_damaged_decision_comes_as_unreadable_and_holds_back_no_other_delivery) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_buf j1 = LR_BUF_INIT, j2 = LR_BUF_INIT;
    assignment("L1", 100, &j1);
    assignment("L2", 100, &j2);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    int64_t d1 = put(s, 1, "L1", &j1), d2 = put(s, 2, "L2", &j2), x1 = 0, x2 = 0;
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "agent000", "crm", NULL,
                                       "pending", NULL, false, &x1), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d2, T0, 0, "L2", "assigned", "agent000", "crm", NULL,
                                       "pending", NULL, false, &x2), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_store_close(s);
    s = NULL;
    CHECK_EQ_INT(sql("UPDATE decisions SET why = x'00' WHERE lead = 'L1'"), SQLITE_OK);
    s = reopen(s);
    got g = { LR_BUF_INIT, 0, 0 };
    CHECK_EQ_INT(fresh(s, "crm", 10, &g), LR_OK);
    CHECK_EQ_INT(g.n, 2);                       /* L1's, marked unreadable, then L2's whole */
    CHECK_EQ_INT(g.unreadable, 1);
    CHECK_EQ_STR(g.json.data, j2.data);
    g.n = g.unreadable = 0;                     /* a limit of one: the damaged one comes */
    CHECK_EQ_INT(fresh(s, "crm", 1, &g), LR_OK);
    CHECK_EQ_INT(g.unreadable, 1);
    lr_buf_release(&g.json);
    lr_buf_release(&j1);
    lr_buf_release(&j2);
    remove_db(s);
}

/* Ids that share a prefix or not, need escaping, are long or empty; every
 * state and skip reason; reason and detail with quotes and control
 * characters; with and without pool_size. */
TEST(a_compact_why_keeps_every_id_state_reason_and_detail) {
    static const char *ids[] = { "a", "ab", "abc\"q", "\xC3\xA9-\xC3\xBC", "", "x\ny\\z",
                                 "agent-with-a-long-identifier-0001",
                                 "agent-with-a-long-identifier-0002", "agent-with-a-long", "b" };
    enum { N = LR_SKIP__COUNT + 2 };
    lr_candidate c[N];
    for (int i = 0; i < N; i++) {
        lr_cand_state st = i == 0 ? LR_CAND_CHOSEN : i == 1 ? LR_CAND_ELIGIBLE : LR_CAND_SKIPPED;
        c[i] = (lr_candidate){ .agent = ids[i % 10], .state = st,
                               .reason = st == LR_CAND_SKIPPED ? (lr_skip)(i - 2) : LR_SKIP_NONE };
    }
    lr_decision ds[3] = {
        { .at = T0, .lead = "L1", .action = LR_ACTION_ASSIGNED, .agent = "a", .rule = "r",
          .pool = "p", .strategy = "round_robin", .cands = c, .ncands = N, .pool_size = 5000,
          .reason = "no \"one\" here", .detail = "line\nbreak \x01 and \xE2\x82\xAC" },
        { .at = T0, .lead = "L2", .action = LR_ACTION_OFFERED, .cands = c, .ncands = N,
          .pool_size = N },
        { .at = T0, .lead = "L3", .action = LR_ACTION_QUEUED, .reason = "nobody",
          .detail = "x", .pool_size = 9 },
    };
    for (int k = 0; k < 3; k++) {
        lr_store *s = open_new();
        if (!s) { CHECK(0); return; }
        lr_buf json = LR_BUF_INIT;
        char pad[700];                  /* the why must reach PACK_MIN to be packed */
        memset(pad, 'd', sizeof pad - 1);
        pad[sizeof pad - 1] = '\0';
        if (k == 2) ds[k].detail = pad;
        CHECK_EQ_INT(lr_decision_write_json(&ds[k], &json), LR_OK);
        CHECK_EQ_INT(lr_store_begin(s), LR_OK);
        char body[32];                  /* its lead, whose event made it */
        int n = snprintf(body, sizeof body, "{\"id\":\"%s\"}", ds[k].lead);
        unsigned char h[32] = { 1 };
        CHECK_EQ_INT(lr_store_append_event(s, 1, T0, "lead", ds[k].lead, body, (size_t)n), LR_OK);
        CHECK_EQ_INT(lr_store_add_lead(s, ds[k].lead, NULL, T0, body, (size_t)n, h, NULL, NULL),
                     LR_OK);
        CHECK_EQ_INT(lr_store_add_decision(s, 1, T0, ds[k].lead, "assigned", NULL, json.data,
                                           json.len, &ds[k], NULL), LR_OK);
        check_read_back(s, &json, "SELECT substr(why, 1, 1) = x'01' FROM decisions");
        lr_buf_release(&json);
    }
}

/* Figures on chosen and eligible candidates, every one of them, at the
 * ends of their range and negative; a skipped candidate's figures are not
 * written in the JSON, nor kept. */
TEST(a_compact_why_keeps_every_figure_of_a_ranking) {
    enum { N = 120 };
    static lr_candidate c[N];
    static char names[N][16];
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "rep%03d", i);
        lr_cand_state st = i == 0 ? LR_CAND_CHOSEN : i % 4 == 3 ? LR_CAND_SKIPPED : LR_CAND_ELIGIBLE;
        c[i] = (lr_candidate){ .agent = names[i], .state = st,
                               .reason = st == LR_CAND_SKIPPED ? LR_SKIP_AWAY : LR_SKIP_NONE,
                               .figs = (unsigned)(i * 37) & ((1u << LR_FIG__COUNT) - 1) };
        for (int f = 0; f < LR_FIG__COUNT; f++) c[i].fig[f] = (int64_t)(i - 60) * 1000003 * (f + 1);
    }
    c[1].figs = (1u << LR_FIG__COUNT) - 1;
    c[1].fig[LR_FIG_IDLE_MS] = INT64_MIN;
    c[1].fig[LR_FIG_OPEN] = INT64_MAX;
    c[2].figs = 0;
    lr_decision d = { .at = T0, .lead = "L1", .action = LR_ACTION_ASSIGNED, .agent = names[0],
                      .rule = "r", .pool = "p", .strategy = "least_busy", .cands = c, .ncands = N,
                      .pool_size = 500 };
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_buf json = LR_BUF_INIT;
    CHECK_EQ_INT(lr_decision_write_json(&d, &json), LR_OK);
    CHECK_CONTAINS(json.data, "{\"agent\":\"rep001\",\"eligible\":true,\"open\":9223372036854775807,"
                              "\"capacity\":-118000354,\"idle_ms\":-9223372036854775808,");
    CHECK_CONTAINS(json.data, "\"below_min_sample\":true,\"weight\":-472001416,\"credit\":-531001593},"
                              "{\"agent\":\"rep002\",\"eligible\":true},"
                              "{\"agent\":\"rep003\",\"skipped\":\"away\"},");
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    char body[] = "{\"id\":\"L1\"}";
    unsigned char h[32] = { 1 };
    CHECK_EQ_INT(lr_store_append_event(s, 1, T0, "lead", "L1", body, strlen(body)), LR_OK);
    CHECK_EQ_INT(lr_store_add_lead(s, "L1", NULL, T0, body, strlen(body), h, NULL, NULL), LR_OK);
    CHECK_EQ_INT(lr_store_add_decision(s, 1, T0, "L1", "assigned", NULL, json.data, json.len, &d,
                                       NULL), LR_OK);
    check_read_back(s, &json, "SELECT substr(why, 1, 1) = x'01' FROM decisions");
    lr_buf_release(&json);
}

/* the state byte 0x12 below is past every skip reason (2 + the reason) */
_Static_assert(2 + LR_SKIP__COUNT <= 0x12, "a_damaged_compact_why: state 0x12 must be none such");
TEST(a_damaged_compact_why_is_an_error_and_a_made_one_reads) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    compact_ = true;
    lr_buf json = LR_BUF_INIT, b = LR_BUF_INIT;
    assignment("L1", 100, &json);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    put(s, 1, "L1", &json);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    compact_ = false;
    lr_store_close(s);
    s = NULL;
    static const char *damage[] = {
        "UPDATE decisions SET why = substr(why, 1, length(why) / 2)",   /* cut short */
        "UPDATE decisions SET why = why || x'00'",                      /* trailing bytes */
        "UPDATE decisions SET why = x'01000112000161'",                 /* state 18: none such */
        "UPDATE decisions SET why = x'01000102050161'",                 /* shares 5 of nothing */
        "UPDATE decisions SET why = x'0110'",                           /* an unknown flag */
        "UPDATE decisions SET why = x'010801000001618002'",           /* figure 8: none such */
        "UPDATE decisions SET why = x'01040303000001610000016200000163'", /* pool_size 3 of 3 */
        "UPDATE decisions SET why = x'0100FFFFFFFFFFFFFFFFFFFF01'",     /* a number too long */
        "UPDATE decisions SET why = x'01'",
    };
    for (size_t i = 0; i < sizeof damage / sizeof *damage; i++) {
        CHECK_EQ_INT(sql(damage[i]), SQLITE_OK);
        s = reopen(s);
        lr_buf_reset(&b);
        CHECK_EQ_INT(lr_buf_puts(&b, "keep"), LR_OK);
        if (lr_store_decisions_of_event(s, 1, NULL, &b) != LR_EDAMAGED) {
            printf("  not found damaged: %s\n", damage[i]);
            CHECK(0);
        }
        CHECK_EQ_STR(b.data, "keep");
        lr_store_close(s);
        s = NULL;
    }
    /* made by hand as decision_pack.c describes it: flags 0, one
     * candidate, chosen, sharing 0 bytes, id "a" */
    CHECK_EQ_INT(sql("UPDATE decisions SET why = x'010001000001' || CAST('a' AS BLOB)"), SQLITE_OK);
    s = reopen(s);
    lr_buf_reset(&b);
    CHECK_EQ_INT(lr_store_decisions_of_event(s, 1, NULL, &b), LR_OK);
    CHECK_CONTAINS(b.data, "\"why\":{\"candidates\":[{\"agent\":\"a\",\"chosen\":true}]}}]");
    lr_buf_release(&json);
    lr_buf_release(&b);
    remove_db(s);
}

/* ---- the brief form a webhook channel gets (`why: brief`) ---------------- */

enum { STORED_COMPACT, STORED_ZSTD, STORED_IN_BODY };

/* Stores assignment() of lead L1 over NCANDS candidates, made to say WHAT
 * of its pool (0: pool_size as assignment() has it, larger than the
 * candidates; 1: pool_size equal to their number, so not written; 2: no
 * pool_size, but a reason and a detail), in stored form FORM, with a
 * delivery to "crm"; then reads the delivery as a brief and as a full
 * channel. WANT_WHY: the brief form's why object. */
static void brief_delivery(int form, int what, const char *want_why) {
    static const char *const form_sql[] = {
        "SELECT substr(why, 1, 1) = x'01' AND instr(body, '\"why\"') = 0 FROM decisions",
        "SELECT substr(why, 1, 1) = x'28' AND instr(body, '\"why\"') = 0 FROM decisions",
        "SELECT why IS NULL AND instr(body, '\"candidates\"') > 0 FROM decisions",
    };
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    lr_buf json = LR_BUF_INIT, want = LR_BUF_INIT;
    assignment("L1", form == STORED_IN_BODY ? 3 : 100, &json);
    if (what == 1) last_.pool_size = last_.ncands;
    if (what == 2) {
        last_.pool_size = 0;
        last_.reason = "explain_limit";
        last_.detail = "a \"short\" list\n\xC3\xA9t\xC3\xA9";
    }
    lr_buf_reset(&json);
    CHECK_EQ_INT(lr_decision_write_json(&last_, &json), LR_OK);
    CHECK_EQ_INT(lr_decision_json_brief(json.data, json.len, &want), LR_OK);
    char literal[512];                          /* and what that is, spelled out */
    snprintf(literal, sizeof literal,
             "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"assigned\","
             "\"agent\":\"agent000\",\"rule\":\"west \\\"hot\\\"\",\"pool\":\"west\","
             "\"strategy\":\"round_robin\",\"why\":%s}", want_why);
    CHECK_EQ_STR(want.data, literal);

    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    compact_ = form == STORED_COMPACT;
    int64_t dec = put(s, 1, "L1", &json), dl = 0;
    compact_ = false;
    CHECK_EQ_INT(lr_store_add_delivery(s, dec, T0, 0, "L1", "assigned", "agent000", "crm", NULL,
                                       "pending", NULL, true, &dl), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, dec, T0, 0, "L1", "assigned", "agent000", "audit",
                                       NULL, "pending", NULL, false, &dl), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_store_close(s);                          /* stored in the form under test */
    CHECK_EQ_INT(sql_int(form_sql[form]), 1);
    s = reopen(NULL);

    got g = { LR_BUF_INIT, 0, 0 };              /* made brief: without the candidates */
    CHECK_EQ_INT(fresh(s, "crm", 10, &g), LR_OK);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_STR(g.json.data, want.data);
    CHECK(g.json.data && !strstr(g.json.data, "candidates"));
    g.n = 0;                                    /* made for `why: full`: the whole decision */
    CHECK_EQ_INT(fresh(s, "audit", 10, &g), LR_OK);
    CHECK_EQ_INT(g.n, 1);
    CHECK_EQ_STR(g.json.data, json.data);
    CHECK_CONTAINS(g.json.data, "\"candidates\":[{\"agent\":\"agent000\",\"chosen\":true}");
    lr_buf_release(&g.json);
    lr_buf_release(&json);
    lr_buf_release(&want);
    remove_db(s);
}

#define DETAIL_JSON "\"detail\":\"a \\\"short\\\" list\\n\xC3\xA9t\xC3\xA9\""

TEST(a_brief_channel_gets_a_compact_why_without_its_candidates) {
    brief_delivery(STORED_COMPACT, 0, "{\"pool_size\":150}");
    brief_delivery(STORED_COMPACT, 1, "{\"pool_size\":100}");
    brief_delivery(STORED_COMPACT, 2,
                   "{\"reason\":\"explain_limit\"," DETAIL_JSON ",\"pool_size\":100}");
}

TEST(a_brief_channel_gets_a_compressed_why_without_its_candidates) {
    brief_delivery(STORED_ZSTD, 0, "{\"pool_size\":150}");
    brief_delivery(STORED_ZSTD, 1, "{\"pool_size\":100}");
    brief_delivery(STORED_ZSTD, 2,
                   "{\"reason\":\"explain_limit\"," DETAIL_JSON ",\"pool_size\":100}");
}

TEST(a_brief_channel_gets_a_short_why_kept_in_the_body_without_its_candidates) {
    brief_delivery(STORED_IN_BODY, 0, "{\"pool_size\":53}");
    brief_delivery(STORED_IN_BODY, 1, "{\"pool_size\":3}");
    brief_delivery(STORED_IN_BODY, 2,
                   "{\"reason\":\"explain_limit\"," DETAIL_JSON ",\"pool_size\":3}");
}

int main(void) {
    RUN(a_long_why_is_stored_compressed_and_read_back_byte_for_byte);
    RUN(a_short_why_and_a_decision_without_one_stay_whole);
    RUN(rotations_are_kept_from_the_first_entry_written_by_schema_12);
    RUN(queue_dispatch_is_marked_from_the_first_entry_written_by_schema_13);
    RUN(zone_windows_are_marked_from_the_first_entry_written_by_schema_14);
    RUN(tier_clock_is_marked_from_the_first_entry_written_by_schema_14);
    RUN(pull_order_and_no_answer_are_marked_from_the_first_entry_written_by_schema_15);
    RUN(reroute_order_is_marked_from_the_first_entry_written_by_schema_16);
    RUN(decline_answer_is_marked_from_the_first_entry_written_by_schema_17);
    RUN(catch_up_order_and_kept_agents_are_marked_from_the_first_entry_written_by_schema_21);
    RUN(catch_up_answers_are_marked_from_the_first_entry_written_by_schema_22);
    RUN(schema_13_gives_delayed_notices_their_due_time);
    RUN(a_schema_4_file_migrates_and_its_old_rows_read_as_stored);
    RUN(a_damaged_why_is_an_error_that_says_so_and_leaves_the_buffer);
    RUN(a_damaged_decision_comes_as_unreadable_and_holds_back_no_other_delivery);
    RUN(a_compact_why_reads_back_byte_for_byte_every_way);
    RUN(a_compact_why_keeps_every_id_state_reason_and_detail);
    RUN(a_compact_why_keeps_every_figure_of_a_ranking);
    RUN(a_damaged_compact_why_is_an_error_and_a_made_one_reads);
    RUN(a_brief_channel_gets_a_compact_why_without_its_candidates);
    RUN(a_brief_channel_gets_a_compressed_why_without_its_candidates);
    RUN(a_brief_channel_gets_a_short_why_kept_in_the_body_without_its_candidates);
    return test_report();
}
