/* test_store_deliveries.c -- the outbox in the store (store.h,
 * "deliveries"): rows written with their decision, the fresh and the due
 * ones as the dispatcher reads them, the channels' marks, outcomes, replays, counts, the JSON of the API
 * and the cancellation of delayed notices whose lead moved on. */
#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "store/sqlite_impl.h"          /* the statements' text, for their plans */
#include "schema_undo.h"
#include "test.h"

#include <stdlib.h>
#include <unistd.h>

#define T0 1793613600000                /* 2026-11-02T10:00:00Z */

static char path_[64];

static lr_store *open_new(void) {
    char err[256] = "";
    snprintf(path_, sizeof path_, "/tmp/lr_test_dlv_XXXXXX");
    int fd = mkstemp(path_);
    if (fd < 0) return NULL;
    close(fd);
    lr_store *s = NULL;
    if (lr_store_open(path_, LR_SYNC_OFF, &s, err, sizeof err) != LR_OK) printf("  open: %s\n", err);
    return s;
}

static void remove_db(lr_store *s) {
    char p[80];
    lr_store_close(s);
    unlink(path_);
    snprintf(p, sizeof p, "%s-wal", path_);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", path_);
    unlink(p);
}

/* Lead ID arrives as event SEQ at AT; its decision ACTION is stored: *dec. */
static void lead_and_decision(lr_store *s, int64_t seq, const char *id, const char *action,
                              lr_time at, int64_t *dec) {
    char body[96], djson[160];
    int n = snprintf(body, sizeof body, "{\"id\":\"%s\"}", id);
    unsigned char h[32];
    memset(h, (int)seq, sizeof h);
    CHECK_EQ_INT(lr_store_append_event(s, seq, at, "lead", id, body, (size_t)n), LR_OK);
    CHECK_EQ_INT(lr_store_add_lead(s, id, NULL, at, body, (size_t)n, h, NULL, NULL), LR_OK);
    n = snprintf(djson, sizeof djson, "{\"lead\":\"%s\",\"action\":\"%s\"}", id, action);
    CHECK_EQ_INT(lr_store_add_decision(s, seq, at, id, action, "ann", djson, (size_t)n, NULL, dec),
                 LR_OK);
}

/* Begins a transaction on S with lead L1, its decision and one pending
 * delivery on "crm": the delivery's id. */
static int64_t begin_with_one(lr_store *s) {
    int64_t d1, a = 0;
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    lead_and_decision(s, 1, "L1", "assigned", T0, &d1);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    return a;
}

typedef struct seen {
    int64_t ids[8];
    bool moved[8];
    int64_t replays[8];
    char lead_json[8][64];
    int n;
} seen;

static int collect(const lr_delivery_job *j, void *ud) {
    seen *v = ud;
    if (v->n < 8) {
        v->ids[v->n] = j->id;
        v->moved[v->n] = j->moved_on;
        v->replays[v->n] = j->replays;
        snprintf(v->lead_json[v->n], sizeof v->lead_json[0], "%.*s", (int)j->lead_len,
                 j->lead_json ? j->lead_json : "");
        v->n++;
    }
    return 0;
}

/* Collects CHANNEL's fresh deliveries with AFTER < id <= UPTO: *REACHED. */
static int fresh(lr_store *s, const char *channel, int64_t after, int64_t upto, int limit,
                 int64_t *skip, size_t nskip, seen *v, int64_t *reached) {
    return lr_store_fresh_deliveries(s, channel, after, upto, limit, skip, nskip, NULL, collect,
                                     v, reached);
}

/* The text of the store's delivery statement NAME. */
static const char *sql_of(const char *name) {
#define SQL_CASE(n, sql) if (strcmp(name, #n) == 0) return sql;
    LR_STORE_DELIVERY_STMTS(SQL_CASE)
#undef SQL_CASE
    return "";
}

/* Does the query plan of SQL (one of the store's statements, as text)
 * mention WANT? */
static bool plan_has(lr_store *s, const char *sql, const char *want) {
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char q[1024];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    bool found = false;
    if (sqlite3_open(path_, &db) == SQLITE_OK &&
        sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK)
        while (sqlite3_step(st) == SQLITE_ROW)
            found |= strstr((const char *)sqlite3_column_text(st, 3), want) != NULL;
    else
        printf("  %s: %s\n", q, sqlite3_errmsg(db));
    sqlite3_finalize(st);
    sqlite3_close(db);
    (void)s;
    return found;
}

/* A fresh delivery (never attempted) is due at once and read by id; once
 * it has an outcome that is not final it is read by its due time. */
TEST(fresh_deliveries_come_by_id_and_retries_by_due_time) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    int64_t d1, d2, a, b, c;
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    lead_and_decision(s, 1, "L1", "assigned", T0, &d1);
    lead_and_decision(s, 2, "L2", "assigned", T0 + 10, &d2);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", "mail",
                                       "ann@example.com", "pending", NULL, false, &c), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d2, T0 + 10, 0, "L2", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &b), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    seen v = { 0 };
    char prev[16] = "";
    int64_t reached = -1;
    CHECK_EQ_INT(fresh(s, "crm", 0, INT64_MAX, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 2);                       /* by id, the other channel's left out */
    CHECK_EQ_INT(v.ids[0], a);
    CHECK_EQ_INT(v.ids[1], b);
    CHECK_EQ_STR(v.lead_json[0], "{\"id\":\"L1\"}");
    CHECK_EQ_INT(reached, b);                   /* the newest id: no more to read */
    v = (seen){ 0 };
    CHECK_EQ_INT(fresh(s, "crm", a, INT64_MAX, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 1);                       /* above the cursor only */
    CHECK_EQ_INT(v.ids[0], b);
    v = (seen){ 0 };
    CHECK_EQ_INT(fresh(s, "crm", 0, c, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 1);                       /* not above UPTO (not durable yet) */
    CHECK_EQ_INT(reached, c);
    v = (seen){ 0 };
    CHECK_EQ_INT(fresh(s, "crm", 0, INT64_MAX, 1, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 1);                       /* a full page: reached its last row */
    CHECK_EQ_INT(reached, a);
    v = (seen){ 0 };                            /* the busy ones are left out */
    int64_t skip[] = { b, 999, a };
    CHECK_EQ_INT(fresh(s, "crm", 0, INT64_MAX, 10, skip, 3, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 0);
    CHECK_EQ_INT(reached, b);
    v = (seen){ 0 };
    CHECK_EQ_INT(fresh(s, "crm", b, INT64_MAX, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 0);
    CHECK_EQ_INT(reached, b);                   /* nothing above: the cursor stays */
    /* the due query has none of them, nor a time to wait for */
    v = (seen){ 0 };
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 10, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 0);
    lr_time next = 0;
    CHECK_EQ_INT(lr_store_next_delivery(s, "mail", &next), LR_OK);
    CHECK_EQ_INT(next, LR_TIME_NONE);
    /* outcomes: delivered leaves; retrying comes back through the due query at next_at */
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "delivered", 1, LR_TIME_NONE, T0 + 20, T0,
                                          0, 200, NULL, prev),
                 LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, b, "retrying", 1, T0 + 5000, T0 + 20, T0,
                                          0, 503, "answered 503", prev), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, 999, "dead", 1, LR_TIME_NONE, T0, T0, 0,
                                          0, "x", prev), LR_ENOENT);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    v = (seen){ 0 };
    CHECK_EQ_INT(fresh(s, "crm", 0, INT64_MAX, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 0);
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 4999, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 0);
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 5000, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(v.ids[0], b);
    CHECK_EQ_INT(lr_store_next_delivery(s, "crm", &next), LR_OK);
    CHECK_EQ_INT(next, T0 + 5000);
    lr_delivery_counts k;
    CHECK_EQ_INT(lr_store_delivery_counts(s, &k), LR_OK);
    CHECK_EQ_INT(k.n[LR_DLV_PENDING], 1);
    CHECK_EQ_INT(k.n[LR_DLV_RETRYING], 1);
    CHECK_EQ_INT(k.n[LR_DLV_DELIVERED], 1);
    CHECK_EQ_INT(k.n[LR_DLV_DEAD], 0);
    /* the dispatcher's reads use the index and the ids, never a whole scan */
    CHECK(plan_has(s, sql_of("DLV_DUE"), "USING INDEX deliveries_due"));
    CHECK(plan_has(s, sql_of("DLV_NEXT"), "INDEX deliveries_due"));
    CHECK(plan_has(s, sql_of("DLV_FRESH"), "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"));
    remove_db(s);
}

/* A channel's mark: 0 until stored, then what was stored last, in the
 * writer's transaction. */
TEST(a_channels_mark_is_kept_with_its_transaction) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    int64_t m = -1;
    CHECK_EQ_INT(lr_store_outbox_mark(s, "crm", &m), LR_OK);
    CHECK_EQ_INT(m, 0);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_set_outbox_mark(s, "crm", 41), LR_OK);
    CHECK_EQ_INT(lr_store_set_outbox_mark(s, "mail", 7), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_set_outbox_mark(s, "crm", 41), LR_OK);    /* unchanged: no write */
    CHECK_EQ_INT(lr_store_set_outbox_mark(s, "crm", 42), LR_OK);
    CHECK_EQ_INT(lr_store_rollback(s), LR_OK);
    CHECK_EQ_INT(lr_store_outbox_mark(s, "crm", &m), LR_OK);
    CHECK_EQ_INT(m, 41);
    CHECK_EQ_INT(lr_store_outbox_mark(s, "mail", &m), LR_OK);
    CHECK_EQ_INT(m, 7);
    CHECK_EQ_INT(lr_store_outbox_mark(s, "sms", &m), LR_OK);
    CHECK_EQ_INT(m, 0);
    remove_db(s);
}

TEST(delivery_json_and_pages) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    int64_t d1, a, b;
    char prev[16];
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    lead_and_decision(s, 1, "L1", "assigned", T0, &d1);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "bob", "mail", NULL,
                                       "dead", "agent 'bob' has no email in the config", false, &b),
                 LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "delivered", 2, LR_TIME_NONE, T0 + 1500, T0,
                                          0, 204, NULL, prev), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_buf out = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_delivery_json(s, a, &out), LR_OK);
    CHECK_EQ_STR(out.data, "{\"id\":\"dlv_1\",\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"ann\","
                           "\"channel\":\"crm\",\"recipient\":null,\"status\":\"delivered\","
                           "\"attempts\":2,\"created_at\":\"2026-11-02T10:00:00Z\","
                           "\"next_attempt_at\":null,\"delivered_at\":\"2026-11-02T10:00:01.500Z\","
                           "\"last_status\":204,\"last_error\":null}");
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, NULL, NULL, 1, NULL, &out), LR_OK);
    CHECK(strstr(out.data, "\"next_cursor\":\"1\",\"end_cursor\":\"1\"}") != NULL);
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, NULL, NULL, 1, "1", &out), LR_OK);
    CHECK(strstr(out.data, "\"id\":\"dlv_2\"") != NULL);
    CHECK(strstr(out.data, "\"last_error\":\"agent 'bob' has no email in the config\"") != NULL);
    CHECK(strstr(out.data, "\"next_cursor\":null,\"end_cursor\":\"2\"}") != NULL);
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "dead", "crm", 10, NULL, &out), LR_OK);
    CHECK_EQ_STR(out.data, "{\"deliveries\":[],\"next_cursor\":null,\"end_cursor\":null}");
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "lost", NULL, 10, NULL, &out), LR_EINVAL);
    CHECK_EQ_INT(lr_store_list_deliveries(s, NULL, NULL, 10, "x1", &out), LR_EINVAL);
    CHECK_EQ_INT(lr_store_delivery_json(s, 77, &out), LR_ENOENT);
    CHECK_EQ_INT((int)out.len, 0);
    lr_buf_release(&out);
    int64_t id;
    CHECK_EQ_INT(lr_delivery_id_parse("dlv_42", &id), LR_OK);
    CHECK_EQ_INT(id, 42);
    CHECK_EQ_INT(lr_delivery_id_parse("42", &id), LR_OK);
    CHECK_EQ_INT(lr_delivery_id_parse("dlv_", &id), LR_EINVAL);
    CHECK_EQ_INT(lr_delivery_id_parse("dlv_0", &id), LR_EINVAL);
    CHECK_EQ_INT(lr_delivery_id_parse("dlv_-1", &id), LR_EINVAL);
    remove_db(s);
}

TEST(retry_makes_a_dead_delivery_pending_again) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    char prev[16] = "";
    int64_t a = begin_with_one(s);
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "dead", 1, LR_TIME_NONE, T0 + 100, T0, 0,
                                          410, "answered 410", prev), LR_OK);
    /* a second outcome of a settled delivery is refused */
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "delivered", 2, LR_TIME_NONE, T0 + 200, T0,
                                          0, 200, NULL, prev), LR_ENOENT);
    CHECK_EQ_STR(prev, "dead");
    CHECK_EQ_INT(lr_store_delivery_retry(s, a, T0 + 60000, prev), LR_OK);
    CHECK_EQ_STR(prev, "dead");
    CHECK_EQ_INT(lr_store_delivery_retry(s, 99, T0, prev), LR_ENOENT);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    seen v = { 0 };
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 59999, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 0);
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 60000, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 1);
    remove_db(s);
}

/* The ids a listing page in OUT names, as "1,5,9" (and "+" when it has a
 * next page). */
static void page_ids(const lr_buf *out, char *ids, size_t len) {
    size_t n = 0;
    ids[0] = '\0';
    for (const char *p = out->data; (p = strstr(p, "\"id\":\"dlv_")) && n + 24 < len; p++)
        n += (size_t)snprintf(ids + n, len - n, "%s%lld", n ? "," : "", atoll(p + 10));
    if (!strstr(out->data, "\"next_cursor\":null")) snprintf(ids + n, len - n, "+");
}

/* Dead and cancelled deliveries among many delivered ones (found through
 * their own index, deliveries_stopped): in id order, a page at a time, by
 * channel; a replayed one leaves the list, one given up again comes back. */
TEST(dead_and_cancelled_deliveries_are_listed_among_the_delivered) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    int64_t d1, id;
    char prev[16], ids[256];
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    lead_and_decision(s, 1, "L1", "assigned", T0, &d1);
    /* 1..300: every 40th dead (crm: 40, 120, 200, 280; mail: 80, 160,
     * 240), every 70th cancelled (70, 140, 210, 280 is dead), the rest
     * delivered */
    for (int i = 1; i <= 300; i++) {
        const char *ch = i % 80 == 0 ? "mail" : "crm";
        CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", ch, NULL,
                                           "pending", NULL, false, &id), LR_OK);
        const char *st = i % 40 == 0 ? "dead" : i % 70 == 0 ? "cancelled" : "delivered";
        CHECK_EQ_INT(lr_store_delivery_result(s, id, st, 1, LR_TIME_NONE, T0 + 10, T0, 0,
                                              strcmp(st, "dead") == 0 ? 410 : 200, NULL, prev),
                     LR_OK);
    }
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_buf out = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_list_deliveries(s, "dead", NULL, 3, NULL, &out), LR_OK);
    page_ids(&out, ids, sizeof ids);
    CHECK_EQ_STR(ids, "40,80,120+");
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "dead", NULL, 3, "120", &out), LR_OK);
    page_ids(&out, ids, sizeof ids);
    CHECK_EQ_STR(ids, "160,200,240+");
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "dead", NULL, 3, "240", &out), LR_OK);
    page_ids(&out, ids, sizeof ids);
    CHECK_EQ_STR(ids, "280");
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "dead", "mail", 10, NULL, &out), LR_OK);
    page_ids(&out, ids, sizeof ids);
    CHECK_EQ_STR(ids, "80,160,240");
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "cancelled", NULL, 10, NULL, &out), LR_OK);
    page_ids(&out, ids, sizeof ids);
    CHECK_EQ_STR(ids, "70,140,210");
    /* 120 replayed: pending, out of the list; given up again: back */
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_retry(s, 120, T0 + 60000, prev), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "dead", "crm", 10, NULL, &out), LR_OK);
    page_ids(&out, ids, sizeof ids);
    CHECK_EQ_STR(ids, "40,200,280");
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, 120, "dead", 2, LR_TIME_NONE, T0 + 60010, T0 + 60000,
                                          1, 410, "answered 410", prev), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_store_list_deliveries(s, "dead", "crm", 10, NULL, &out), LR_OK);
    page_ids(&out, ids, sizeof ids);
    CHECK_EQ_STR(ids, "40,120,200,280");
    lr_buf_release(&out);
    remove_db(s);
}

/* The ids of every page of STATUS (and CHANNEL) listed LIMIT at a time,
 * as "1,5,9". */
static void all_pages(lr_store *s, const char *status, const char *channel, int limit,
                      char *ids, size_t len) {
    lr_buf out = LR_BUF_INIT;
    char cursor[24] = "", page[4096];
    size_t n = 0;
    ids[0] = '\0';
    for (int guard = 0; guard < 1000; guard++) {
        lr_buf_reset(&out);
        if (lr_store_list_deliveries(s, status, channel, limit, cursor[0] ? cursor : NULL,
                                     &out) != LR_OK) {
            snprintf(ids, len, "error");
            break;
        }
        page_ids(&out, page, sizeof page);
        size_t pl = strlen(page);
        bool more = pl && page[pl - 1] == '+';
        if (more) page[--pl] = '\0';
        if (pl && n + pl + 2 < len) n += (size_t)snprintf(ids + n, len - n, "%s%s", n ? "," : "", page);
        const char *c = strstr(out.data, "\"next_cursor\":\"");
        if (!more || !c) break;
        snprintf(cursor, sizeof cursor, "%lld", atoll(c + 15));
    }
    lr_buf_release(&out);
}

/* The ids of the model's deliveries of STATUS (and CHANNEL), as "1,5,9". */
static void model_ids(const char (*status)[12], const char *const *channel, int n,
                      const char *want, const char *ch, char *ids, size_t len) {
    size_t k = 0;
    ids[0] = '\0';
    for (int i = 1; i <= n && k + 24 < len; i++)
        if (strcmp(status[i], want) == 0 && (!ch || strcmp(channel[i], ch) == 0))
            k += (size_t)snprintf(ids + k, len - k, "%s%d", k ? "," : "", i);
}

/* Pending and retrying deliveries are listed from the channels' marks up
 * and through the due index below them, never by a walk through every
 * delivered row: a random outbox of three channels (fresh, delayed,
 * retried, replayed, delivered, dead), its marks as the dispatcher would
 * leave them (or none), against a model, page by page; a channel's first
 * delivery gives it a mark, also after a rollback took the first one back;
 * a store of version 18 gets its marks when it opens. */
TEST(pending_and_retrying_deliveries_are_listed_from_the_marks) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    enum { N = 400 };
    static const char *const chans[3] = { "crm", "mail", "hook" };
    static char status[N + 1][12];
    const char *channel[N + 1];
    int64_t d1, id;
    char prev[16], got[4096], want[4096];
    uint32_t r = 12345;
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    lead_and_decision(s, 1, "L1", "assigned", T0, &d1);
    for (int i = 1; i <= N; i++) {
        r = r * 1103515245u + 12345u;
        uint32_t x = (r >> 8) % 100;
        /* the fresh ones are the newest of each channel (the dispatcher
         * sends in id order): the last 40 ids stay fresh */
        bool old = i <= N - 40;
        channel[i] = chans[(r >> 20) % 3];
        int64_t after = x < 8 ? 60000 : 0;             /* delayed: queued, not fresh */
        CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, after, "L1", "assigned", "ann", channel[i],
                                           NULL, "pending", NULL, false, &id), LR_OK);
        CHECK_EQ_INT(id, i);
        const char *st = !old ? NULL : x < 55 ? "delivered" : x < 75 ? "retrying"
                         : x < 85 ? "dead" : NULL;
        snprintf(status[i], sizeof status[i], "%s", st ? st : "pending");
        if (st)
            CHECK_EQ_INT(lr_store_delivery_result(s, id, st, 1,
                                                  strcmp(st, "retrying") == 0 ? T0 + 5000
                                                  : LR_TIME_NONE, T0 + 10, T0, 0, 500, NULL,
                                                  prev), LR_OK);
        else if (old && x >= 95) {                          /* given up, then replayed */
            CHECK_EQ_INT(lr_store_delivery_result(s, id, "dead", 1, LR_TIME_NONE, T0 + 10, T0,
                                                  0, 410, NULL, prev), LR_OK);
            CHECK_EQ_INT(lr_store_delivery_retry(s, id, T0 + 20, prev), LR_OK);
        } else if (old && x >= 8) {                         /* sent, failed: to be retried */
            CHECK_EQ_INT(lr_store_delivery_result(s, id, "retrying", 1, T0 + 9000, T0 + 10, T0,
                                                  0, 503, NULL, prev), LR_OK);
            snprintf(status[i], sizeof status[i], "retrying");
        }
    }
    /* the dispatcher's marks: crm's at its oldest fresh delivery, mail's
     * below it; hook's stays the one of its first delivery */
    int64_t first_fresh[3] = { 0, 0, 0 };
    for (int i = N - 39; i <= N; i++)
        for (int c = 0; c < 3; c++)
            if (strcmp(channel[i], chans[c]) == 0 && !first_fresh[c] && status[i][0] == 'p')
                first_fresh[c] = i;
    CHECK(first_fresh[0] > 0);
    CHECK_EQ_INT(lr_store_set_outbox_mark(s, "crm", first_fresh[0]), LR_OK);
    CHECK_EQ_INT(lr_store_set_outbox_mark(s, "mail", first_fresh[1] / 2), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    int64_t mark = -1;
    CHECK_EQ_INT(lr_store_outbox_mark(s, "hook", &mark), LR_OK);
    int first_hook = 1;
    while (strcmp(channel[first_hook], "hook") != 0) first_hook++;
    CHECK_EQ_INT(mark, first_hook);
    static const char *const statuses[4] = { "pending", "retrying", "dead", "delivered" };
    for (int k = 0; k < 4; k++)
        for (int c = -1; c < 3; c++) {
            const char *ch = c < 0 ? NULL : chans[c];
            model_ids(status, channel, N, statuses[k], ch, want, sizeof want);
            all_pages(s, statuses[k], ch, 7, got, sizeof got);
            if (strcmp(got, want) != 0)
                printf("  %s %s: got %s\n  want %s\n", statuses[k], ch ? ch : "any", got, want);
            CHECK_EQ_STR(got, want);
        }
    CHECK(plan_has(s, sql_of("DLV_LIST_OPEN"), "USING INTEGER PRIMARY KEY (rowid>?)"));
    CHECK(plan_has(s, sql_of("DLV_LIST_OPEN"),
                   "USING INDEX deliveries_queued (status=? AND id>? AND id<?)"));
    CHECK(!plan_has(s, sql_of("DLV_LIST_OPEN"), "TEMP B-TREE"));

    /* a new channel's first delivery rolled back: the next one still
     * gives it a mark */
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", "late", NULL,
                                       "pending", NULL, false, &id), LR_OK);
    CHECK_EQ_INT(lr_store_rollback(s), LR_OK);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", "late", NULL,
                                       "pending", NULL, false, &id), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    CHECK_EQ_INT(lr_store_outbox_mark(s, "late", &mark), LR_OK);
    CHECK_EQ_INT(mark, N + 1);
    all_pages(s, "pending", "late", 7, got, sizeof got);
    CHECK_EQ_STR(got, "401");

    /* back to version 18, without marks: opened, every channel with a
     * fresh delivery has one at its first */
    lr_store_close(s);
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path_, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, UNDO_SCHEMA_19 "PRAGMA user_version = 18;", NULL, NULL, NULL),
                 SQLITE_OK);
    sqlite3_close(db);
    char err[256] = "";
    s = NULL;
    CHECK_EQ_INT(lr_store_open(path_, LR_SYNC_OFF, &s, err, sizeof err), LR_OK);
    if (!s) return;
    CHECK_EQ_INT(lr_store_outbox_mark(s, "crm", &mark), LR_OK);
    CHECK_EQ_INT(mark, first_fresh[0]);
    CHECK_EQ_INT(lr_store_outbox_mark(s, "late", &mark), LR_OK);
    CHECK_EQ_INT(mark, N + 1);
    model_ids(status, channel, N, "pending", NULL, want, sizeof want);
    all_pages(s, "pending", NULL, 7, got, sizeof got);
    CHECK_EQ_STR(got, strcat(want, ",401"));
    remove_db(s);
}

/* Each outcome says the status it replaced (the metrics' gauges move by
 * it), read with no SELECT of the row: pending, then retrying, and a
 * settled or unknown delivery takes no outcome. */
TEST(an_outcome_tells_the_status_it_replaced) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    char prev[16] = "";
    int64_t a = begin_with_one(s);
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "retrying", 1, T0 + 1000, T0 + 10, T0, 0, 503,
                                          "answered 503", prev), LR_OK);
    CHECK_EQ_STR(prev, "pending");
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "retrying", 2, T0 + 3000, T0 + 1010, T0, 0, 0,
                                          "timed out", prev), LR_OK);
    CHECK_EQ_STR(prev, "retrying");
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "delivered", 3, LR_TIME_NONE, T0 + 3010, T0, 0,
                                          200, NULL, prev), LR_OK);
    CHECK_EQ_STR(prev, "retrying");
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "dead", 4, LR_TIME_NONE, T0 + 4000, T0, 0,
                                          410, NULL, prev), LR_ENOENT);
    CHECK_EQ_STR(prev, "delivered");
    CHECK_EQ_INT(lr_store_delivery_result(s, a + 1, "delivered", 1, LR_TIME_NONE, T0, T0, 0,
                                          200, NULL, prev), LR_ENOENT);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_buf out = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_delivery_json(s, a, &out), LR_OK);
    CHECK(strstr(out.data, "\"status\":\"delivered\",\"attempts\":3") != NULL);
    if (!strstr(out.data, "\"attempts\":3")) printf("  %s\n", out.data);
    lr_buf_release(&out);
    remove_db(s);
}

/* A replay while an attempt is in flight: the attempt's outcome, when it
 * comes, is stale (the replay is sent anew), and the replay's own counts. */
TEST(an_outcome_picked_before_a_replay_is_stale) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    char prev[16] = "";
    int64_t a = begin_with_one(s);
    /* picked (no replay yet); replayed at T0 + 50; its 410 comes at T0 + 4000 */
    CHECK_EQ_INT(lr_store_delivery_retry(s, a, T0 + 50, prev), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "dead", 1, LR_TIME_NONE, T0 + 4000, T0, 0,
                                          410, "answered 410", prev), LR_ENOENT);
    CHECK_EQ_STR(prev, "pending");
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    seen v = { 0 };
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 4001, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 1);                       /* still due: the replay goes out */
    CHECK_EQ_INT(v.replays[0], 1);
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(s, a, "delivered", 1, LR_TIME_NONE, T0 + 4100, T0 + 4001,
                                          v.replays[0], 200, NULL, prev), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    lr_buf out = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_delivery_json(s, a, &out), LR_OK);
    CHECK(strstr(out.data, "\"status\":\"delivered\"") != NULL);
    lr_buf_release(&out);
    remove_db(s);
}

/* The dispatcher reads a due delivery on its own handle while the writer
 * has replayed it and not yet committed: the attempt was picked after the
 * replay by the clock, yet from a snapshot without it. Its outcome is
 * stale all the same, and the replay (a new retry window) stays. */
TEST(an_outcome_read_before_a_replay_committed_is_stale) {
    lr_store *w = open_new();
    if (!w) { CHECK(0); return; }
    char err[256] = "", prev[16] = "";
    lr_store *r = NULL;
    CHECK_EQ_INT(lr_store_open(path_, LR_SYNC_OFF, &r, err, sizeof err), LR_OK);
    if (!r) { remove_db(w); return; }
    int64_t d1, a;
    CHECK_EQ_INT(lr_store_begin(w), LR_OK);
    lead_and_decision(w, 1, "L1", "assigned", T0, &d1);
    CHECK_EQ_INT(lr_store_add_delivery(w, d1, T0, 0, "L1", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(w, a, "retrying", 1, T0 + 1000, T0 + 10, T0, 0, 503,
                                          "answered 503", prev), LR_OK);
    CHECK_EQ_INT(lr_store_commit(w), LR_OK);
    /* the replay at T0 + 5000, in a transaction not yet committed ... */
    CHECK_EQ_INT(lr_store_begin(w), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_retry(w, a, T0 + 5000, prev), LR_OK);
    /* ... while the dispatcher picks it at T0 + 5001, due anyway */
    seen v = { 0 };
    CHECK_EQ_INT(lr_store_read_begin(r), LR_OK);
    CHECK_EQ_INT(lr_store_due_deliveries(r, "crm", T0 + 5001, 10, NULL, 0, NULL, collect, &v), LR_OK);
    lr_store_read_end(r);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(v.replays[0], 0);
    CHECK_EQ_INT(lr_store_commit(w), LR_OK);
    /* its 503, with the window it read (from T0), comes after the commit */
    CHECK_EQ_INT(lr_store_begin(w), LR_OK);
    CHECK_EQ_INT(lr_store_delivery_result(w, a, "dead", 2, LR_TIME_NONE, T0 + 5100, T0,
                                          v.replays[0], 503, "answered 503", prev), LR_ENOENT);
    CHECK_EQ_INT(lr_store_commit(w), LR_OK);
    lr_buf out = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_delivery_json(w, a, &out), LR_OK);
    CHECK(strstr(out.data, "\"status\":\"pending\"") != NULL);
    CHECK(strstr(out.data, "\"attempts\":1,") != NULL);
    lr_buf_release(&out);
    lr_store_close(r);
    remove_db(w);
}

TEST(a_delayed_notice_knows_when_its_lead_moved_on) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    int64_t d1, d2, a, b;
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    lead_and_decision(s, 1, "L1", "queued", T0, &d1);
    lead_and_decision(s, 2, "L2", "queued", T0, &d2);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 600000, "L1", "queued", NULL, "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d2, T0, 600000, "L2", "queued", NULL, "crm", NULL,
                                       "pending", NULL, false, &b), LR_OK);
    /* L1 is assigned later (event 3) */
    CHECK_EQ_INT(lr_store_append_event(s, 3, T0 + 1000, "progress", "L1", "{}", 2), LR_OK);
    CHECK_EQ_INT(lr_store_add_decision(s, 3, T0 + 1000, "L1", "assigned", "ann", "{}", 2, NULL, NULL),
                 LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    seen v = { 0 };
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 599999, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 0);                       /* not due before its 10 minutes */
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 600000, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 2);
    CHECK_EQ_INT(v.ids[0], a);
    CHECK_EQ_INT(v.moved[0], 1);
    CHECK_EQ_INT(v.moved[1], 0);
    /* L2's next decision comes after its notice was due (a server that was
     * down then decides at its start): the notice still goes */
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_append_event(s, 4, T0 + 900000, "tick", NULL, "{}", 2), LR_OK);
    CHECK_EQ_INT(lr_store_add_decision(s, 4, T0 + 900000, "L2", "assigned", "ann", "{}", 2, NULL,
                                       NULL), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    v = (seen){ 0 };
    CHECK_EQ_INT(lr_store_due_deliveries(s, "crm", T0 + 900001, 10, NULL, 0, NULL, collect, &v), LR_OK);
    CHECK_EQ_INT(v.n, 2);
    CHECK_EQ_INT(v.ids[1], b);
    CHECK_EQ_INT(v.moved[1], 0);
    remove_db(s);
}

static bool know_all(int64_t id, void *ud) { (void)id; (void)ud; return true; }

static int no_bodies(const lr_delivery_job *j, void *ud) {
    int *n = ud;
    if (!j->decision_json && !j->lead_json && j->lead && strcmp(j->lead, "L1") == 0 &&
        strcmp(j->action, "assigned") == 0 && j->attempts == 0 && j->created_at == T0)
        (*n)++;
    return 0;
}

static int count_unreadable(const lr_delivery_job *j, void *ud) {
    *(int *)ud += j->unreadable && !j->decision_json;
    return 0;
}

TEST(a_known_delivery_comes_without_its_bodies_unless_conditional) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    int64_t d1, a, b;
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    lead_and_decision(s, 1, "L1", "assigned", T0, &d1);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 0, "L1", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    int n = 0;
    int64_t reached;
    CHECK_EQ_INT(lr_store_fresh_deliveries(s, "crm", 0, INT64_MAX, 10, NULL, 0, know_all,
                                           no_bodies, &n, &reached), LR_OK);
    CHECK_EQ_INT(n, 1);
    /* a conditional one (after: 1 s) is read whole: moved_on needs the decisions */
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_add_delivery(s, d1, T0, 1000, "L1", "assigned", "ann", "late", NULL,
                                       "pending", NULL, false, &b), LR_OK);
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    seen v = { 0 };
    CHECK_EQ_INT(lr_store_due_deliveries(s, "late", T0 + 1000, 10, NULL, 0, know_all, collect,
                                         &v), LR_OK);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(v.ids[0], b);
    CHECK_EQ_STR(v.lead_json[0], "{\"id\":\"L1\"}");
    /* a delivery whose decision row is missing comes, as unreadable: the
     * dispatcher settles it instead of passing over it */
    sqlite3 *db = NULL;
    CHECK_EQ_INT(sqlite3_open(path_, &db), SQLITE_OK);
    CHECK_EQ_INT(sqlite3_exec(db, "DELETE FROM decisions", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    int unreadable = 0;
    CHECK_EQ_INT(lr_store_fresh_deliveries(s, "crm", 0, INT64_MAX, 10, NULL, 0, NULL,
                                           count_unreadable, &unreadable, &reached), LR_OK);
    CHECK_EQ_INT(unreadable, 1);
    remove_db(s);
}

/* The dispatcher reads a pass in one read transaction: what another
 * handle commits meanwhile is not in it, and is there after it. */
TEST(a_read_transaction_keeps_one_snapshot) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    char err[256] = "";
    lr_store *w = NULL;
    CHECK_EQ_INT(lr_store_open(path_, LR_SYNC_OFF, &w, err, sizeof err), LR_OK);
    if (!w) { remove_db(s); return; }
    int64_t d1, d2, a, b;
    CHECK_EQ_INT(lr_store_begin(w), LR_OK);
    lead_and_decision(w, 1, "L1", "assigned", T0, &d1);
    CHECK_EQ_INT(lr_store_add_delivery(w, d1, T0, 0, "L1", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &a), LR_OK);
    CHECK_EQ_INT(lr_store_commit(w), LR_OK);

    CHECK_EQ_INT(lr_store_read_begin(s), LR_OK);
    CHECK_EQ_INT(lr_store_read_begin(s), LR_ESTATE);        /* one at a time */
    seen v = { 0 };
    int64_t reached = 0;
    CHECK_EQ_INT(fresh(s, "crm", 0, INT64_MAX, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(lr_store_begin(w), LR_OK);                 /* a writer is not held up */
    lead_and_decision(w, 2, "L2", "assigned", T0, &d2);
    CHECK_EQ_INT(lr_store_add_delivery(w, d2, T0, 0, "L2", "assigned", "ann", "crm", NULL,
                                       "pending", NULL, false, &b), LR_OK);
    CHECK_EQ_INT(lr_store_commit(w), LR_OK);
    v = (seen){ 0 };
    CHECK_EQ_INT(fresh(s, "crm", 0, INT64_MAX, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 1);                                   /* the snapshot of the first read */
    CHECK_EQ_INT(reached, a);               /* so the cursor cannot pass the newer one */
    CHECK_EQ_INT(lr_store_read_end(s), LR_OK);
    CHECK_EQ_INT(lr_store_read_end(s), LR_OK);              /* none open: nothing to do */
    v = (seen){ 0 };
    CHECK_EQ_INT(fresh(s, "crm", a, INT64_MAX, 10, NULL, 0, &v, &reached), LR_OK);
    CHECK_EQ_INT(v.n, 1);
    CHECK_EQ_INT(v.ids[0], b);
    lr_store_close(w);
    remove_db(s);
}

static int count_in_order(const lr_delivery_job *j, void *ud) {
    int64_t *last = ud;
    if (j->id <= last[0] || !j->lead || strcmp(j->action, "assigned") != 0) last[1] = -1;
    last[0] = j->id;
    if (last[1] >= 0) last[1]++;
    return 0;
}

static bool know_odd(int64_t id, void *ud) {
    (void)ud;
    return id % 2;
}

/* More fresh rows than one read buffer holds: all of them, in order,
 * known ones from the query's row and the others read whole. */
TEST(many_fresh_deliveries_come_in_order) {
    lr_store *s = open_new();
    if (!s) { CHECK(0); return; }
    CHECK_EQ_INT(lr_store_begin(s), LR_OK);
    for (int i = 1; i <= 150; i++) {
        char id[16];
        snprintf(id, sizeof id, "L%d", i);
        int64_t dec, x;
        lead_and_decision(s, i, id, "assigned", T0, &dec);
        CHECK_EQ_INT(lr_store_add_delivery(s, dec, T0, 0, id, "assigned", "ann", "crm", NULL,
                                           "pending", NULL, false, &x), LR_OK);
    }
    CHECK_EQ_INT(lr_store_commit(s), LR_OK);
    int64_t st[2] = { 0, 0 }, reached = 0;
    CHECK_EQ_INT(lr_store_fresh_deliveries(s, "crm", 0, INT64_MAX, 1000, NULL, 0, know_odd,
                                           count_in_order, st, &reached), LR_OK);
    CHECK_EQ_INT(st[1], 150);
    CHECK_EQ_INT(reached, 150);
    int64_t lim[2] = { 0, 0 };
    CHECK_EQ_INT(lr_store_fresh_deliveries(s, "crm", 0, INT64_MAX, 100, NULL, 0, NULL,
                                           count_in_order, lim, &reached), LR_OK);
    CHECK_EQ_INT(lim[1], 100);
    CHECK_EQ_INT(reached, 100);
    reached = 7;
    CHECK_EQ_INT(lr_store_fresh_deliveries(s, "crm", 3, INT64_MAX, 0, NULL, 0, NULL,
                                           count_in_order, lim, &reached), LR_OK);
    CHECK_EQ_INT(lim[1], 100);                              /* a limit of 0: nothing */
    CHECK_EQ_INT(reached, 3);                               /* and the cursor stays */
    remove_db(s);
}

int main(void) {
    RUN(fresh_deliveries_come_by_id_and_retries_by_due_time);
    RUN(a_channels_mark_is_kept_with_its_transaction);
    RUN(delivery_json_and_pages);
    RUN(retry_makes_a_dead_delivery_pending_again);
    RUN(dead_and_cancelled_deliveries_are_listed_among_the_delivered);
    RUN(pending_and_retrying_deliveries_are_listed_from_the_marks);
    RUN(an_outcome_tells_the_status_it_replaced);
    RUN(an_outcome_picked_before_a_replay_is_stale);
    RUN(an_outcome_read_before_a_replay_committed_is_stale);
    RUN(a_delayed_notice_knows_when_its_lead_moved_on);
    RUN(a_known_delivery_comes_without_its_bodies_unless_conditional);
    RUN(a_read_transaction_keeps_one_snapshot);
    RUN(many_fresh_deliveries_come_in_order);
    return test_report();
}
