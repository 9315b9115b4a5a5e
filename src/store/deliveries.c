/* deliveries.c -- the outbox (store.h, "deliveries"): delivery rows written
 * by the writer in the transaction of their decision, the due ones read by
 * the dispatcher on its own handle, outcomes and replays recorded by the
 * writer, and the JSON of GET /v1/deliveries.
 *
 * Invariant: a delivery is "open" (pending or retrying) exactly when it
 * still has to be sent. The partial index deliveries_due(channel, next_at)
 * holds the open ones that are not fresh (sqlite.c), so the dispatcher's
 * poll costs O(log n) however many delivered and dead rows pile up; the
 * fresh ones are read by id above the dispatcher's cursor, which the
 * outbox_marks row of their channel keeps across restarts. Every channel
 * with a delivery has that row (from its first delivery on), so a listing
 * of the pending or retrying ones reads the ids from the lowest mark up
 * and the due index below it, not the delivered rows before.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const lr_delivery_status_names[LR_DLV__COUNT] = {
#define LR_DLV_NAME(e, s) s,
    LR_DLV_STATUS_MAP(LR_DLV_NAME)
#undef LR_DLV_NAME
};

/* Column COL as a NUL-terminated string or NULL (valid until the next step). */
static const char *col_str(sqlite3_stmt *st, int col) {
    return (const char *)sqlite3_column_text(st, col);
}

static bool known_status(const char *s) {
    return lr_name_lookup(lr_delivery_status_names, LR_DLV__COUNT, s) >= 0;
}

int lr_delivery_id_parse(const char *text, int64_t *out) {
    if (!text) return LR_EINVAL;
    if (strncmp(text, "dlv_", 4) == 0) text += 4;
    int64_t v;
    if (lr_sq_parse_cursor(text, &v) != LR_OK || v == 0) return LR_EINVAL;
    *out = v;
    return LR_OK;
}

/* Gives CHANNEL a mark at MADE, its delivery just added, unless it has
 * one: every channel with a fresh delivery has a mark at or below it (the
 * listing of pending ones reads from the lowest). The channels known to
 * have one are remembered until a rollback. */
static int mark_channel(lr_store *s, const char *channel, int64_t made) {
    if (lr_sq_names_has(&s->channel_marked, channel)) return LR_OK;
    sqlite3_stmt *st = s->st[SQ_DLV_MARK_FIRST];
    int b = lr_sq_bind_str(st, 1, channel);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, made);
    int rc = lr_sq_run(s, st, b);
    if (rc == LR_OK) lr_sq_names_add(&s->channel_marked, channel);
    return rc;
}

int lr_store_add_delivery(lr_store *s, int64_t decision, lr_time at, int64_t after_ms,
                          const char *lead, const char *action, const char *agent,
                          const char *channel, const char *recipient, const char *status,
                          const char *error, bool brief, int64_t *id) {
    if (!action || !channel || !status || !known_status(status)) return LR_EINVAL;
    if (s->defer)
        return lr_sq_defer_delivery(s, decision, at, after_ms, lead, action, agent, channel,
                                    recipient, status, error, brief, id);
    return lr_sq_add_delivery(s, 0, decision, at, after_ms, lead, action, agent, channel,
                              recipient, status, error, brief, id);
}

int lr_sq_add_delivery(lr_store *s, int64_t did, int64_t decision, lr_time at, int64_t after_ms,
                       const char *lead, const char *action, const char *agent,
                       const char *channel, const char *recipient, const char *status,
                       const char *error, bool brief, int64_t *id) {
    sqlite3_stmt *st = s->st[SQ_DLV_ADD];
    int b = sqlite3_bind_int64(st, 1, decision);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 2, lead);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 3, action);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 4, agent);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 5, channel);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 6, recipient);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 7, status);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 8, at);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 9, error);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 10, after_ms > 0 ? after_ms : 0);
    if (b == SQLITE_OK) b = sqlite3_bind_int(st, 11, brief);
    if (b == SQLITE_OK && did > 0) b = sqlite3_bind_int64(st, 12, did);
    int rc = lr_sq_finish(s, st, b == SQLITE_OK ? sqlite3_step(st) : b);
    int64_t made = did > 0 ? did : sqlite3_last_insert_rowid(s->db);
    if (rc == LR_OK) rc = mark_channel(s, channel, made);
    if (rc == LR_OK && id) *id = made;
    return rc;
}

/* Steps the bound UPDATE ST; LR_ENOENT when it changed no row. */
static int update_one(lr_store *s, sqlite3_stmt *st, int b) {
    int rc = lr_sq_finish(s, st, b == SQLITE_OK ? sqlite3_step(st) : b);
    if (rc == LR_OK && sqlite3_changes(s->db) == 0) return LR_ENOENT;
    return rc;
}

/* Reads delivery ID's status into PREV (16 bytes); LR_ENOENT when none. */
static int status_of(lr_store *s, int64_t id, char prev[16]) {
    sqlite3_stmt *st = s->st[SQ_DLV_GET];
    int b = sqlite3_bind_int64(st, 1, id);
    bool found = false;
    if (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) {
        found = true;
        snprintf(prev, 16, "%s", col_str(st, 6) ? col_str(st, 6) : "");
    }
    int rc = lr_sq_finish(s, st, b);
    return rc != LR_OK ? rc : found ? LR_OK : LR_ENOENT;
}

/* Records an outcome of delivery ID if its status is WAS (and its replays
 * REPLAYS): LR_ENOENT when not. */
static int result_if(lr_store *s, int64_t id, const char *was, const char *status,
                     int attempts, lr_time next_at, lr_time at, lr_time window_from,
                     int64_t replays, int http_status, const char *error) {
    sqlite3_stmt *st = s->st[SQ_DLV_RESULT];
    int b = sqlite3_bind_int64(st, 1, id);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 2, status);
    if (b == SQLITE_OK) b = sqlite3_bind_int(st, 3, attempts);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 4, next_at == LR_TIME_NONE ? at : next_at);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 5, at);
    if (b == SQLITE_OK)
        b = http_status ? sqlite3_bind_int(st, 6, http_status) : sqlite3_bind_null(st, 6);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 7, error);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 8, window_from == LR_TIME_NONE ? at : window_from);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 9, replays);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 10, was);
    return update_one(s, st, b);
}

int lr_store_delivery_result(lr_store *s, int64_t id, const char *status, int attempts,
                             lr_time next_at, lr_time at, lr_time window_from, int64_t replays,
                             int http_status, const char *error, char prev[16]) {
    lr_sq_defer_drain(s);
    if (!status || !known_status(status)) return LR_EINVAL;
    /* an UPDATE of the row if pending, else of the row if retrying: its
     * status before, with no SELECT of it (most outcomes are a fresh
     * delivery's first) */
    int rc = LR_ENOENT;
    static const char *const was[] = { "pending", "retrying" };
    for (size_t i = 0; i < 2 && rc == LR_ENOENT; i++) {
        rc = result_if(s, id, was[i], status, attempts, next_at, at, window_from, replays,
                       http_status, error);
        if (rc == LR_OK) snprintf(prev, 16, "%s", was[i]);
    }
    if (rc == LR_ENOENT) {          /* settled, replayed or none: its status, if any */
        int src = status_of(s, id, prev);
        if (src != LR_OK && src != LR_ENOENT) return src;
    }
    return rc;
}

int lr_store_delivery_retry(lr_store *s, int64_t id, lr_time now, char prev[16]) {
    lr_sq_defer_drain(s);
    int rc = status_of(s, id, prev);
    if (rc != LR_OK) return rc;
    sqlite3_stmt *st = s->st[SQ_DLV_RETRY];
    int b = sqlite3_bind_int64(st, 1, id);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, now);
    return update_one(s, st, b);
}


static int id_cmp(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The first eight columns of DLV_JOB and DLV_DUE, and the replays in
 * column REPLAYS, as a job without bodies. */
static lr_delivery_job job_row(sqlite3_stmt *st, int replays) {
    return (lr_delivery_job){
        .id = sqlite3_column_int64(st, 0),
        .lead = col_str(st, 1),
        .action = col_str(st, 2),
        .agent = col_str(st, 3),
        .recipient = col_str(st, 4),
        .attempts = sqlite3_column_int(st, 5),
        .created_at = sqlite3_column_int64(st, 6),
        .window_from = sqlite3_column_int64(st, 7),
        .replays = sqlite3_column_int64(st, replays),
    };
}

/* Reads delivery ID's job (its row, decision and lead) and hands it to CB
 * (as unreadable when its decision cannot be read or is missing): CB's
 * return, or an error. */
static int one_job(lr_store *s, int64_t id, lr_store_job_cb cb, void *ud) {
    sqlite3_stmt *st = s->st[SQ_DLV_JOB];
    int b = sqlite3_bind_int64(st, 1, id);
    int stop = 0, urc = LR_OK;
    if (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) {
        lr_delivery_job j = job_row(st, 13);
        lr_buf_reset(&s->unpacked);
        urc = lr_sq_unpack_decision(s, st, 8, sqlite3_column_int(st, 12) != 0, &s->unpacked);
        if (urc == LR_EDAMAGED) {   /* the caller settles it: it cannot be sent */
            j.unreadable = true;
            urc = LR_OK;
        } else {
            j.decision_json = s->unpacked.data;
            j.decision_len = s->unpacked.len;
        }
        j.lead_json = col_str(st, 10);
        j.lead_len = (size_t)sqlite3_column_bytes(st, 10);
        j.moved_on = sqlite3_column_int(st, 11) != 0;
        if (urc == LR_OK) stop = cb(&j, ud);
    } else if (b == SQLITE_DONE) {
        /* its decision's row is missing (the join finds none): it cannot
         * be sent, and the caller settles it rather than meet it again */
        lr_delivery_job j = { .id = id, .unreadable = true };
        stop = cb(&j, ud);
    }
    int rc = lr_sq_finish(s, st, b);
    if (urc != LR_OK) return urc;
    return stop ? stop : rc;
}

/* A due delivery as the due query read it: a job without bodies whose
 * strings are offsets into the pass's arena (-1: NULL), or only an id
 * (whole: read again with its bodies). */
typedef struct due {
    int64_t id;
    lr_delivery_job job;            /* unless whole */
    bool whole;
    long str[4];                    /* lead, action, agent, recipient */
} due;

/* Copies column COL (a string or NULL) into ARENA: its offset, or -1. */
static long keep_str(lr_buf *arena, sqlite3_stmt *st, int col, int *rc) {
    const char *v = col_str(st, col);
    if (!v || *rc != LR_OK) return -1;
    long at = (long)arena->len;
    *rc = lr_buf_append(arena, v, strlen(v) + 1);
    return at;
}

/* Reads the rows of ST (bound; columns as DLV_DUE's) first, with their
 * columns (the table's row is read for the partial index's rows anyway),
 * the busy ones (SKIP, sorted) dropped; a known one (the caller has its
 * bodies) is then handed to CB as read, and only the others' bodies are
 * read, one at a time. *NROWS and *LAST: the rows ST gave, busy ones
 * included, and the last one's id (0: none). */
static int hand_rows(lr_store *s, sqlite3_stmt *st, int b, int limit, const int64_t *skip,
                     size_t nskip, lr_store_known_fn known, lr_store_job_cb cb, void *ud,
                     int *nrows, int64_t *last) {
    size_t cap = limit < 64 ? (size_t)limit : 64;   /* grows with the rows read */
    due *v = malloc(cap * sizeof *v);
    if (!v) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return LR_ENOMEM;
    }
    lr_buf arena = LR_BUF_INIT;
    size_t n = 0;
    int mrc = LR_OK;
    *nrows = 0;
    *last = 0;
    while (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) {
        b = SQLITE_OK;
        int64_t id = sqlite3_column_int64(st, 0);
        ++*nrows;
        *last = id;
        if (nskip && bsearch(&id, skip, nskip, sizeof *skip, id_cmp)) continue;
        if (n == (size_t)limit || mrc != LR_OK) continue;
        if (n == cap) {
            due *nv = realloc(v, 2 * cap * sizeof *v);
            if (!nv) { mrc = LR_ENOMEM; continue; }
            v = nv;
            cap *= 2;
        }
        due *d = &v[n++];
        d->id = id;
        /* a conditional one is read whole: moved_on needs the decisions */
        d->whole = sqlite3_column_int(st, 8) != 0 || !known || !known(id, ud);
        if (d->whole) continue;                     /* only its id is used */
        d->job = job_row(st, 9);                    /* strings: set from the arena below */
        for (int k = 0; k < 4; k++) d->str[k] = keep_str(&arena, st, 1 + k, &mrc);
    }
    int rc = lr_sq_finish(s, st, b);
    if (rc == LR_OK) rc = mrc;
    for (size_t i = 0; rc == LR_OK && i < n; i++) {
        due *d = &v[i];
        if (d->whole) {
            rc = one_job(s, d->id, cb, ud);
            continue;
        }
        const char **str[4] = { &d->job.lead, &d->job.action, &d->job.agent, &d->job.recipient };
        for (int k = 0; k < 4; k++) *str[k] = d->str[k] < 0 ? NULL : arena.data + d->str[k];
        rc = cb(&d->job, ud);
    }
    lr_buf_release(&arena);
    free(v);
    return rc;
}

int lr_store_due_deliveries(lr_store *s, const char *channel, lr_time now, int limit,
                            int64_t *skip, size_t nskip, lr_store_known_fn known,
                            lr_store_job_cb cb, void *ud) {
    lr_sq_defer_drain(s);
    if (limit <= 0) return LR_OK;
    if (nskip > 1) qsort(skip, nskip, sizeof *skip, id_cmp);
    sqlite3_stmt *st = s->st[SQ_DLV_DUE];
    int b = lr_sq_bind_str(st, 1, channel);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, now);
    if (b == SQLITE_OK) b = sqlite3_bind_int(st, 3, limit);
    int nrows;
    int64_t last;
    return hand_rows(s, st, b, limit, skip, nskip, known, cb, ud, &nrows, &last);
}

int lr_store_fresh_deliveries(lr_store *s, const char *channel, int64_t after, int64_t upto,
                              int limit, int64_t *skip, size_t nskip, lr_store_known_fn known,
                              lr_store_job_cb cb, void *ud, int64_t *reached) {
    lr_sq_defer_drain(s);
    *reached = after;
    if (limit <= 0) return LR_OK;
    if (nskip > 1) qsort(skip, nskip, sizeof *skip, id_cmp);
    /* the newest id now: "every row up to UPTO was read" must not cover
     * ids that do not exist yet */
    sqlite3_stmt *st = s->st[SQ_DLV_LAST_ID];
    int b = sqlite3_step(st);
    if (b == SQLITE_ROW) {
        int64_t newest = sqlite3_column_int64(st, 0);
        if (newest < upto) upto = newest;
        b = SQLITE_DONE;
    }
    int rc = lr_sq_finish(s, st, b);
    if (rc != LR_OK) return rc;
    if (upto <= after) return LR_OK;
    st = s->st[SQ_DLV_FRESH];
    b = lr_sq_bind_str(st, 1, channel);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, after);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 3, upto);
    if (b == SQLITE_OK) b = sqlite3_bind_int(st, 4, limit);
    int nrows;
    int64_t last;
    rc = hand_rows(s, st, b, limit, skip, nskip, known, cb, ud, &nrows, &last);
    if (rc == LR_OK) *reached = nrows < limit ? upto : last;
    return rc;
}

int lr_store_outbox_mark(lr_store *s, const char *channel, int64_t *fresh_from) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = s->st[SQ_DLV_MARK_GET];
    int b = lr_sq_bind_str(st, 1, channel);
    int64_t v = 0;
    if (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    int rc = lr_sq_finish(s, st, b);
    if (rc == LR_OK) *fresh_from = v;
    return rc;
}

int lr_store_set_outbox_mark(lr_store *s, const char *channel, int64_t fresh_from) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = s->st[SQ_DLV_MARK_SET];
    int b = lr_sq_bind_str(st, 1, channel);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, fresh_from);
    return lr_sq_finish(s, st, b == SQLITE_OK ? sqlite3_step(st) : b);
}

int lr_store_next_delivery(lr_store *s, const char *channel, lr_time *out) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = s->st[SQ_DLV_NEXT];
    int b = lr_sq_bind_str(st, 1, channel);
    lr_time t = LR_TIME_NONE;
    if (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW &&
        sqlite3_column_type(st, 0) != SQLITE_NULL)
        t = sqlite3_column_int64(st, 0);
    int rc = lr_sq_finish(s, st, b);
    if (rc == LR_OK) *out = t;
    return rc;
}

int lr_store_delivery_counts(lr_store *s, lr_delivery_counts *out) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = s->st[SQ_DLV_COUNTS];
    lr_delivery_counts c = { 0 };
    int b;
    while ((b = sqlite3_step(st)) == SQLITE_ROW) {
        const char *k = col_str(st, 0);
        int i = k ? lr_name_lookup(lr_delivery_status_names, LR_DLV__COUNT, k) : -1;
        if (i >= 0) c.n[i] = sqlite3_column_int64(st, 1);
    }
    int rc = lr_sq_finish(s, st, b);
    if (rc != LR_OK) return rc;
    st = s->st[SQ_DLV_LAST_ID];
    if ((b = sqlite3_step(st)) == SQLITE_ROW) c.last_id = sqlite3_column_int64(st, 0);
    if ((rc = lr_sq_finish(s, st, b)) == LR_OK) *out = c;
    return rc;
}

/* Writes the delivery row at ST's current row (LR_SQ_DLV_COLS) as JSON. */
static void write_row(jw *w, sqlite3_stmt *st) {
    char id[32];
    snprintf(id, sizeof id, "dlv_%lld", (long long)sqlite3_column_int64(st, 0));
    bool open = strcmp(col_str(st, 6) ? col_str(st, 6) : "", "pending") == 0 ||
                strcmp(col_str(st, 6) ? col_str(st, 6) : "", "retrying") == 0;
    static const char *const keys[] = { "lead", "action", "agent", "channel", "recipient",
                                        "status" };
    jw_lit(w, "{\"id\":");
    jw_str(w, id);
    for (int k = 0; k < 6; k++) {
        jw_lit(w, ",\"");
        jw_lit(w, keys[k]);
        jw_lit(w, "\":");
        jw_col_str(w, st, 1 + k);
    }
    jw_lit(w, ",\"attempts\":");
    jw_i64(w, sqlite3_column_int64(st, 7));
    jw_lit(w, ",\"created_at\":");
    jw_col_time(w, st, 8);
    jw_lit(w, ",\"next_attempt_at\":");
    if (open) jw_col_time(w, st, 9);
    else jw_lit(w, "null");
    jw_lit(w, ",\"delivered_at\":");
    jw_col_time(w, st, 10);
    jw_lit(w, ",\"last_status\":");
    if (sqlite3_column_type(st, 11) == SQLITE_NULL) jw_lit(w, "null");
    else jw_i64(w, sqlite3_column_int64(st, 11));
    jw_lit(w, ",\"last_error\":");
    jw_col_str(w, st, 12);
    jw_raw(w, "}", 1);
}

int lr_store_delivery_json(lr_store *s, int64_t id, lr_buf *out) {
    lr_sq_defer_drain(s);
    jw w = { out, out->len, LR_OK };
    sqlite3_stmt *st = s->st[SQ_DLV_GET];
    int b = sqlite3_bind_int64(st, 1, id);
    bool found = false;
    if (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) {
        found = true;
        write_row(&w, st);
    }
    int rc = lr_sq_finish(s, st, b);
    if (rc == LR_OK && !found) rc = LR_ENOENT;
    return jw_end(&w, rc);
}

int lr_store_list_deliveries(lr_store *s, const char *status, const char *channel,
                             int limit, const char *cursor, lr_buf *out) {
    lr_sq_defer_drain(s);
    int64_t after;
    if (limit < 1 || limit > 1000 || (status && !known_status(status)) ||
        lr_sq_parse_cursor(cursor, &after) != LR_OK)
        return LR_EINVAL;
    bool stopped = status && (strcmp(status, "dead") == 0 || strcmp(status, "cancelled") == 0);
    bool open = status && (strcmp(status, "pending") == 0 || strcmp(status, "retrying") == 0);
    sqlite3_stmt *st = s->st[stopped ? SQ_DLV_LIST_STOPPED : open ? SQ_DLV_LIST_OPEN : SQ_DLV_LIST];
    int b = sqlite3_bind_int64(st, 1, after);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 2, status);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 3, channel);
    if (b == SQLITE_OK) b = sqlite3_bind_int(st, 4, limit + 1);
    jw w = { out, out->len, LR_OK };
    int n = 0;
    int64_t last = 0;
    bool more = false;
    jw_lit(&w, "{\"deliveries\":[");
    while (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) {
        b = SQLITE_OK;
        if (n == limit) { more = true; break; }
        if (n++) jw_raw(&w, ",", 1);
        last = sqlite3_column_int64(st, 0);
        write_row(&w, st);
    }
    int rc = lr_sq_finish(s, st, b);
    jw_page_end(&w, more, last, after);
    return jw_end(&w, rc);
}
