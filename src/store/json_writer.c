/* json_writer.c -- the small JSON writer the store's read side shares
 * (queries.c, deliveries.c): appends to a caller's buffer with a sticky
 * error, and cuts the buffer back to where it started on failure.
 */
#include "sqlite_impl.h"

#include "leadrouter/decision.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <stdio.h>
#include <string.h>

void jw_raw(jw *w, const char *p, size_t n) {
    if (w->rc == LR_OK) w->rc = lr_buf_append(w->b, p, n);
}

void jw_lit(jw *w, const char *s) {
    jw_raw(w, s, strlen(s));
}

/* S as a JSON string (decision.h's escaping), or null when NULL. */
void jw_str(jw *w, const char *s) {
    if (w->rc == LR_OK) w->rc = lr_json_put_string(w->b, s);
}

void jw_i64(jw *w, int64_t v) {
    if (w->rc == LR_OK) w->rc = lr_buf_printf(w->b, "%lld", (long long)v);
}

/* Column COL as a JSON string, or null. */
void jw_col_str(jw *w, sqlite3_stmt *st, int col) {
    jw_str(w, (const char *)sqlite3_column_text(st, col));
}

/* Column COL (ms since the epoch) as an RFC 3339 string, or null. */
void jw_col_time(jw *w, sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) { jw_lit(w, "null"); return; }
    char t[40];
    size_t n = lr_time_format(sqlite3_column_int64(st, col), t, sizeof t);
    jw_raw(w, "\"", 1);
    jw_raw(w, t, n);
    jw_raw(w, "\"", 1);
}

/* Column COL, stored JSON, embedded as it is (null when empty). */
void jw_col_json(jw *w, sqlite3_stmt *st, int col) {
    const char *p = (const char *)sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (p && n) jw_raw(w, p, n);
    else jw_lit(w, "null");
}

/* A cursor is a position: the page after it starts past that row. */
static void put_cursor(jw *w, int64_t at) {
    char c[24];
    if (at > 0) jw_raw(w, c, (size_t)snprintf(c, sizeof c, "\"%lld\"", (long long)at));
    else jw_lit(w, "null");
}

void jw_page_end(jw *w, bool more, int64_t last, int64_t after) {
    jw_lit(w, "],\"next_cursor\":");
    put_cursor(w, more ? last : 0);
    /* where a reader that has caught up asks again: past this page's last
     * row, or where this empty page began */
    jw_lit(w, ",\"end_cursor\":");
    put_cursor(w, last > 0 ? last : after);
    jw_raw(w, "}", 1);
}

/* Returns RC, or the writer's error when RC is LR_OK; on failure the
 * buffer is cut back to where the writer started. */
int jw_end(jw *w, int rc) {
    if (rc == LR_OK) rc = w->rc;
    if (rc != LR_OK) {
        w->b->len = w->start;
        if (w->b->data) w->b->data[w->start] = '\0';
    }
    return rc;
}

