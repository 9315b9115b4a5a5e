/* queries.c -- the store's read side as JSON (store.h): a lead, a page of
 * leads, the decisions of an event (the statistics: stats.c).
 *
 * JSON is written here, in C, after plain SQL queries: key order is fixed
 * by the code, times are RFC 3339 (lr_time_format), and stored bodies (the
 * lead as received, decision and progress events, all JSON when written)
 * are embedded as JSON values, byte for byte. Strings read back from the
 * tables (ids, names, states) are escaped by lr_json_put_string(), as the
 * decisions are.
 *
 * Every function appends to the caller's buffer and leaves it as it was
 * on any failure.
 *
 * Reads are not wrapped in a transaction: on the writer's own handle (the
 * server's read path) nothing can change between the statements of one
 * call.
 */
#include "sqlite_impl.h"

#include "leadrouter/decision.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Steps ST (bound by the caller) and writes its first column, stored JSON,
 * as an array: [body,...]. Finishes ST. */
static int write_bodies(lr_store *s, sqlite3_stmt *st, int src, jw *w) {
    int n = 0;
    jw_raw(w, "[", 1);
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++) jw_raw(w, ",", 1);
        jw_col_json(w, st, 0);
        src = SQLITE_OK;
    }
    jw_raw(w, "]", 1);
    return lr_sq_finish(s, st, src);
}

/* As write_bodies, for decisions: columns 0 and 1 are body and why
 * (decision_pack.c). */
static int write_decisions(lr_store *s, sqlite3_stmt *st, int src, jw *w) {
    int n = 0, rc = LR_OK;
    jw_raw(w, "[", 1);
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        src = SQLITE_OK;
        if (n++) jw_raw(w, ",", 1);
        if (w->rc == LR_OK && (rc = lr_sq_unpack_decision(s, st, 0, false, w->b)) != LR_OK) break;
    }
    jw_raw(w, "]", 1);
    int frc = lr_sq_finish(s, st, src);
    return rc != LR_OK ? rc : frc;
}

int lr_store_decisions_of_event(lr_store *s, int64_t seq, const char *lead, lr_buf *out) {
    lr_sq_defer_drain(s);
    jw w = { out, out->len, LR_OK };
    sqlite3_stmt *st = s->st[SQ_EVENT_DECS];
    int src = sqlite3_bind_int64(st, 1, seq);
    if (src == SQLITE_OK) src = lr_sq_bind_str(st, 2, lead);
    return jw_end(&w, write_decisions(s, st, src, &w));
}

/* ---- one lead ------------------------------------------------------------ */

/* {"id","state","agent","source","received_at","lead","decisions","progress"}.
 * LR_ENOENT for an unknown lead, or one not held by AGENT when AGENT is
 * given (the leads row's agent: its holder, or who closed it). */
int lr_store_lead_json(lr_store *s, const char *id, const char *agent, lr_buf *out) {
    lr_sq_defer_drain(s);
    if (!id) return LR_EINVAL;
    jw w = { out, out->len, LR_OK };
    sqlite3_stmt *st = s->st[SQ_LEAD_GET];
    int src = lr_sq_bind_str(st, 1, id), rc = LR_OK;
    int64_t seq = 0;
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src == SQLITE_DONE) rc = LR_ENOENT;
    if (src == SQLITE_ROW) {
        seq = sqlite3_column_int64(st, 6);
        const char *holder = (const char *)sqlite3_column_text(st, 2);
        if (agent && (!holder || strcmp(holder, agent) != 0)) {
            rc = LR_ENOENT;
        } else {
            jw_lit(&w, "{\"id\":");
            jw_col_str(&w, st, 0);
            jw_lit(&w, ",\"state\":");
            jw_col_str(&w, st, 1);
            jw_lit(&w, ",\"agent\":");
            jw_col_str(&w, st, 2);
            jw_lit(&w, ",\"source\":");
            jw_col_str(&w, st, 3);
            jw_lit(&w, ",\"received_at\":");
            jw_col_time(&w, st, 4);
            jw_lit(&w, ",\"lead\":");
            jw_col_json(&w, st, 5);
        }
    }
    int frc = lr_sq_finish(s, st, src);
    if (rc == LR_OK) rc = frc;
    if (rc != LR_OK) return jw_end(&w, rc);

    jw_lit(&w, ",\"decisions\":");
    st = s->st[SQ_LEAD_DECS];
    rc = write_decisions(s, st, sqlite3_bind_int64(st, 1, seq), &w);
    if (rc == LR_OK) {
        jw_lit(&w, ",\"progress\":");
        st = s->st[SQ_LEAD_PROGRESS];
        int b = lr_sq_bind_str(st, 1, id);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, seq);
        rc = write_bodies(s, st, b, &w);
    }
    jw_raw(&w, "}", 1);
    return jw_end(&w, rc);
}

/* ---- lead listing ---------------------------------------------------------- */

/* A cursor is the decimal seq of the last lead of a page, as we write it:
 * 1 to 18 digits, no sign, no leading zero. NULL is the first page. */

int lr_sq_bind_list_filters(sqlite3_stmt *st, const lr_lead_query *q) {
    int b = lr_sq_bind_str(st, 1, q->agent);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 2, q->state);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 3, q->source);
    if (b == SQLITE_OK) b = lr_sq_bind_time(st, 4, q->since);
    if (b == SQLITE_OK) b = lr_sq_bind_time(st, 8, q->until);
    return b;
}

/* A page being written: LIMIT rows, the row after them only noted. */
typedef struct page {
    jw *w;
    int limit, n;
    int64_t last;                   /* the seq of the page's last row */
    bool more;
} page;

/* lr_sq_row_fn: writes row ST (LR_SQ_LIST_COLS) to the page, or notes
 * that one follows; 1 then (stop). */
static int write_row(sqlite3_stmt *st, void *ud) {
    page *pg = ud;
    jw *w = pg->w;
    if (pg->n == pg->limit) { pg->more = true; return 1; }
    if (pg->n++) jw_raw(w, ",", 1);
    pg->last = sqlite3_column_int64(st, 0);
    jw_lit(w, "{\"id\":");
    jw_col_str(w, st, 1);
    jw_lit(w, ",\"state\":");
    jw_col_str(w, st, 2);
    jw_lit(w, ",\"agent\":");
    jw_col_str(w, st, 3);
    jw_lit(w, ",\"source\":");
    jw_col_str(w, st, 4);
    jw_lit(w, ",\"received_at\":");
    jw_col_time(w, st, 5);
    jw_raw(w, "}", 1);
    return 0;
}

/* {"leads":[...],"next_cursor":"<seq>"|null}: one row more than the limit
 * is read to know whether another page follows, so the last page says null
 * rather than leading to an empty one. LR_EINVAL for a limit outside
 * 1..1000, an unknown state or a cursor that is not ours. */
int lr_store_list_leads(lr_store *s, const lr_lead_query *q, lr_buf *out) {
    lr_sq_defer_drain(s);
    int64_t after;
    if (!q || q->limit < 1 || q->limit > 1000) return LR_EINVAL;
    if (q->state && !lr_sq_known_state(q->state)) return LR_EINVAL;
    if (lr_sq_parse_cursor(q->cursor, &after) != LR_OK) {
        snprintf(s->err, sizeof s->err, "bad cursor");
        return LR_EINVAL;
    }
    jw w = { out, out->len, LR_OK };
    page pg = { &w, q->limit, 0, 0, false };
    jw_lit(&w, "{\"leads\":[");
    int rc;
    if (q->agent) {
        rc = lr_sq_agent_walk(s, q, after, q->limit + 1, write_row, &pg);
        if (rc > 0) rc = LR_OK;     /* write_row's stop */
    } else if (q->source && !q->state) {
        rc = lr_sq_blocks_walk(s, SQ_SOURCE_ROWS, "lead_source_blocks", q->source, q, after,
                               q->limit + 1, write_row, &pg);
        if (rc > 0) rc = LR_OK;     /* write_row's stop */
    } else if (!q->state && (q->since != LR_TIME_NONE || q->until != LR_TIME_NONE)) {
        rc = lr_sq_time_walk(s, q, after, q->limit + 1, write_row, &pg);
        if (rc > 0) rc = LR_OK;     /* write_row's stop */
    } else {
        sqlite3_stmt *st = s->st[q->state ? SQ_LIST_STATE : SQ_LIST_ALL];
        int src = lr_sq_bind_list_filters(st, q);
        if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 5, after);
        if (src == SQLITE_OK) src = sqlite3_bind_int(st, 6, q->limit + 1);
        while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
            src = write_row(st, &pg) ? SQLITE_DONE : SQLITE_OK;
        rc = lr_sq_finish(s, st, src);
    }
    jw_page_end(&w, pg.more, pg.last, after);
    return jw_end(&w, rc);
}
