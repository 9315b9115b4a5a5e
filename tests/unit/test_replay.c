/* test_replay.c -- the start-up replay's two threads (src/server/replay.c):
 * a journal read and parsed on one thread and applied on another gives
 * the caller every entry in order, parsed as a read and a parse in turn
 * would have; a stop ends it at once and leaks nothing (ASan's leak check
 * runs at exit); the store is the caller's again afterwards. */
#include "leadrouter/buf.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "leadrouter/store.h"
#include "server/replay.h"
#include "store_helpers.h"
#include "test.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#define T0 1793613600000                /* 2026-11-02T10:00:00Z */

/* Journals N entries: configs at 1 and N/2, a line that is no event at
 * BAD (0: none), else leads, agents' statuses and progress in turn. */
static void journal(lr_store *s, int n, int bad) {
    for (int i = 1; i <= n; i++) {
        char j[128];
        const char *type;
        int len;
        if (i == 1 || i == n / 2) {
            type = "config";
            len = snprintf(j, sizeof j, "agents: [{id: a%d}]\n", i);
        } else if (i == bad) {
            type = "lead";
            len = snprintf(j, sizeof j, "{\"id\":\"L%d\",\"score\":\"high\"", i);
        } else if (i % 3 == 0) {
            type = "agent";
            len = snprintf(j, sizeof j, "{\"type\":\"agent\",\"agent\":\"a%d\",\"status\":\"away\"}", i % 7);
        } else if (i % 3 == 1) {
            type = "progress";
            len = snprintf(j, sizeof j, "{\"type\":\"progress\",\"lead\":\"L%d\",\"status\":\"won\"}", i - 1);
        } else {
            type = "lead";
            len = snprintf(j, sizeof j, "{\"id\":\"L%d\",\"state\":\"TX\"}", i);
        }
        CHECK_EQ_INT(lr_store_append_event(s, i, T0 + i, type, NULL, j, (size_t)len), LR_OK);
    }
}

/* One line per entry: what the caller was given. */
static void describe(lr_buf *b, int64_t seq, lr_time at, bool config, const char *text, size_t len,
                     int parsed, const lr_event *ev, const char *msg) {
    if (config) {
        lr_buf_printf(b, "%lld %lld config %zu %s|", (long long)seq, (long long)(at - T0), len, text);
        return;
    }
    if (parsed != LR_OK) {
        lr_buf_printf(b, "%lld %lld error %d %s|", (long long)seq, (long long)(at - T0), parsed, msg);
        return;
    }
    lr_buf_printf(b, "%lld %lld event %d %s %s %s|", (long long)seq, (long long)(at - T0), (int)ev->type,
                  ev->lead ? lr_lead_id(ev->lead) : "-", ev->lead_id ? ev->lead_id : "-",
                  ev->agent_id ? ev->agent_id : "-");
}

/* The reference: the journal read, and each entry parsed, in turn. */
static int one_by_one(int64_t seq, lr_time at, const char *type, const char *json, size_t len,
                      void *ud) {
    lr_buf *b = ud;
    if (strcmp(type, "config") == 0) {
        char *text = strndup(json, len);
        describe(b, seq, at, true, text, len, LR_OK, NULL, NULL);
        free(text);
        return LR_OK;
    }
    lr_event ev;
    char msg[256];
    int rc = lr_event_parse(json, len, &ev, msg, sizeof msg);
    describe(b, seq, at, false, NULL, 0, rc, &ev, msg);
    lr_event_release(&ev);
    return LR_OK;
}

typedef struct applier {
    lr_buf out;
    int calls;
    int stop_at;                    /* the call that returns 42 (0: none) */
    int slow_until;                 /* the calls before it sleep: the reader runs ahead */
    pthread_t caller;               /* every entry is applied on it */
    int elsewhere;                  /* entries applied on another thread */
} applier;

static int apply(lr_replay_entry *e, void *ud) {
    applier *a = ud;
    a->calls++;
    if (!pthread_equal(pthread_self(), a->caller)) a->elsewhere++;
    if (a->calls < a->slow_until) {
        struct timespec ts = { 0, 20000 };
        nanosleep(&ts, NULL);
    }
    CHECK(!e->config || (e->text && e->text[e->len] == '\0' && strlen(e->text) == e->len));
    describe(&a->out, e->seq, e->at, e->config, e->text, e->len, e->parsed, &e->ev, e->msg);
    if (e->config && e->seq % 2) {  /* the caller may take a config's text */
        free(e->text);
        e->text = NULL;
    }
    if (!e->config && e->parsed == LR_OK && e->ev.lead && e->seq % 4 == 2) {
        lr_lead_free(e->ev.lead);   /* or an event's lead, as the engine does */
        e->ev.lead = NULL;
    }
    return a->calls == a->stop_at ? 42 : LR_OK;
}

TEST(the_journal_is_applied_in_order_as_read_and_parsed_in_turn) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    journal(d.s, 3001, 2000);       /* more than the batches read ahead */
    lr_buf want = LR_BUF_INIT;
    CHECK_EQ_INT(lr_store_replay(d.s, 0, one_by_one, &want), LR_OK);
    CHECK_CONTAINS(want.data, "|2000 2000 error ");
    CHECK_CONTAINS(want.data, "|1500 1500 config ");
    for (int slow = 0; slow <= 1; slow++) {
        applier a = { LR_BUF_INIT, 0, 0, slow ? 3001 : 0, pthread_self(), 0 };
        CHECK_EQ_INT(lr_replay_journal(d.s, apply, &a), LR_OK);
        CHECK_EQ_INT(a.calls, 3001);
        CHECK_EQ_INT(a.elsewhere, 0);
        CHECK_EQ_STR(a.out.data, want.data);
        lr_buf_release(&a.out);
    }
    /* the store is the caller's again: it writes */
    CHECK_EQ_INT(lr_store_append_event(d.s, 3002, T0, "tick", NULL, "{}", 2), LR_OK);
    lr_buf_release(&want);
    db_remove(&d);
}

TEST(a_stop_is_returned_and_nothing_after_it_is_applied) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    journal(d.s, 2500, 0);
    static const int stops[] = { 1, 255, 256, 257, 700, 1024, 1025, 2499, 2500 };
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++) {
        for (int slow = 0; slow <= 1; slow++) {
            applier a = { LR_BUF_INIT, 0, stops[i], slow ? stops[i] : 0, pthread_self(), 0 };
            CHECK_EQ_INT(lr_replay_journal(d.s, apply, &a), 42);
            CHECK_EQ_INT(a.calls, stops[i]);
            lr_buf_release(&a.out);
        }
    }
    CHECK_EQ_INT(lr_store_append_event(d.s, 2501, T0, "tick", NULL, "{}", 2), LR_OK);
    db_remove(&d);
}

/* The reading thread may run before lr_replay_journal() goes on: it must
 * still leave every entry to the caller's thread (it once applied them
 * itself when it ran first). */
TEST(entries_are_applied_on_the_callers_thread) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    journal(d.s, 40, 0);
    int elsewhere = 0;
    for (int round = 0; round < 300; round++) {
        applier a = { LR_BUF_INIT, 0, 0, 0, pthread_self(), 0 };
        CHECK_EQ_INT(lr_replay_journal(d.s, apply, &a), LR_OK);
        CHECK_EQ_INT(a.calls, 40);
        elsewhere += a.elsewhere;
        lr_buf_release(&a.out);
    }
    CHECK_EQ_INT(elsewhere, 0);
    db_remove(&d);
}

TEST(an_empty_journal_applies_nothing) {
    db d;
    CHECK_EQ_INT(db_open(&d, LR_SYNC_OFF), LR_OK);
    applier a = { LR_BUF_INIT, 0, 0, 0, pthread_self(), 0 };
    CHECK_EQ_INT(lr_replay_journal(d.s, apply, &a), LR_OK);
    CHECK_EQ_INT(a.calls, 0);
    lr_buf_release(&a.out);
    db_remove(&d);
}

int main(void) {
    RUN(the_journal_is_applied_in_order_as_read_and_parsed_in_turn);
    RUN(a_stop_is_returned_and_nothing_after_it_is_applied);
    RUN(entries_are_applied_on_the_callers_thread);
    RUN(an_empty_journal_applies_nothing);
    return test_report();
}
