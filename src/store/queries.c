/* queries.c -- the store's read side as JSON (store.h): a lead, a page of
 * leads, the decisions of an event, the statistics.
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
 * GET /v1/stats (lr_store_stats_json), keys in this order:
 *
 *   {"leads":N,                          every stored lead
 *    "decisions":{"assigned":N,...},     decisions per action, actions by name
 *    "by_agent":{"alice":{"assigned":N,"claimed":N,...,"open":N,"won":N,"lost":N},...},
 *        decisions naming the agent per action (by name; broadcast offers,
 *        which name no single agent, are not counted), then "open": leads
 *        now in state assigned to the agent, "won"/"lost": closed decisions
 *        of the agent with that status. Agents by name.
 *    "by_rule":{"hot-west":{"assigned":N,"queued":N,...},...},
 *    "by_pool":{"west":{"assigned":N,...},...},
 *        decisions per rule / pool (the decision's "rule" / "pool") and action
 *    "by_source":{"google":{"leads":N,"assigned":N},...},
 *        leads per source, and how many of them were ever assigned or
 *        claimed; leads without a source are not listed
 *    "time_to_assign_ms":{"median":N|null,"p90":N|null,"count":N},
 *        over leads with a received time and an assigned or claimed
 *        decision: the first such decision's at minus received_at.
 *        Nearest-rank percentiles on the sorted values (1-based rank
 *        ceil(p * count): the median of 4 values is the 2nd); null when
 *        count is 0.
 *    "deliveries":{"by_channel":{"crm":{"delivered":N,"dead":N,...},...},
 *                  "latency_ms":{"median":..,"p90":..,"count":N}}}
 *        deliveries per channel and status, and the time from decision to
 *        delivered over delivered ones (same percentiles)
 *
 * Objects keyed by name list their keys in byte order. Reads are not
 * wrapped in a transaction: on the writer's own handle (the server's read
 * path) nothing can change between the statements of one call.
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
    } else {
        sqlite3_stmt *st = s->st[q->state ? SQ_LIST_STATE : SQ_LIST_ALL];
        int src = lr_sq_bind_list_filters(st, q);
        if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 5, after);
        if (src == SQLITE_OK) src = sqlite3_bind_int(st, 6, q->limit + 1);
        while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW)
            src = write_row(st, &pg) ? SQLITE_DONE : SQLITE_OK;
        rc = lr_sq_finish(s, st, src);
    }
    jw_page_end(&w, pg.more, pg.last);
    return jw_end(&w, rc);
}

/* ---- statistics ------------------------------------------------------------ */

/* Writes rows (key, action, count) of ST, sorted by key then action, as
 * {"key":{"action":N,...},...}; or rows (action, count) as {"action":N,...}
 * when NESTED is false. Finishes ST. */
static int write_counts(lr_store *s, sqlite3_stmt *st, int src, bool nested, jw *w) {
    char *key = NULL;                   /* the open inner object's key */
    int n = 0;
    jw_raw(w, "{", 1);
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        src = SQLITE_OK;
        int c = nested ? 1 : 0;
        if (nested) {
            const char *k = (const char *)sqlite3_column_text(st, 0);
            if (!k) { src = SQLITE_NOMEM; break; }
            if (!key || strcmp(key, k) != 0) {
                jw_lit(w, key ? "}," : "");
                free(key);
                if (!(key = strdup(k))) { src = SQLITE_NOMEM; break; }
                jw_str(w, key);
                jw_lit(w, ":{");
                n = 0;
            }
        }
        if (n++) jw_raw(w, ",", 1);
        jw_col_str(w, st, c);
        jw_raw(w, ":", 1);
        jw_i64(w, sqlite3_column_int64(st, c + 1));
    }
    if (key) jw_raw(w, "}", 1);
    free(key);
    jw_raw(w, "}", 1);
    return lr_sq_finish(s, st, src);
}

/* "by_agent": ST_AGENTS gives rows (agent, kind, key, n) sorted by agent,
 * kind, key: kind 0 the agent's decisions per action (written as they
 * come), 1 its open leads, 2 its closed decisions with status won / lost
 * (kept, and written with "open" when the agent's object closes). */
static void close_agent(jw *w, int n, int64_t open, int64_t won, int64_t lost) {
    jw_lit(w, n ? ",\"open\":" : "\"open\":");
    jw_i64(w, open);
    jw_lit(w, ",\"won\":");
    jw_i64(w, won);
    jw_lit(w, ",\"lost\":");
    jw_i64(w, lost);
    jw_raw(w, "}", 1);
}

static int write_agents(lr_store *s, jw *w) {
    sqlite3_stmt *st = s->st[SQ_ST_AGENTS];
    char *cur = NULL;
    int64_t open = 0, won = 0, lost = 0;
    int src, n = 0;
    jw_raw(w, "{", 1);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *agent = (const char *)sqlite3_column_text(st, 0);
        const char *key = (const char *)sqlite3_column_text(st, 2);
        int64_t count = sqlite3_column_int64(st, 3);
        if (!agent || !key) { src = SQLITE_NOMEM; break; }
        if (!cur || strcmp(cur, agent) != 0) {
            if (cur) {
                close_agent(w, n, open, won, lost);
                jw_raw(w, ",", 1);
            }
            free(cur);
            if (!(cur = strdup(agent))) { src = SQLITE_NOMEM; break; }
            jw_str(w, cur);
            jw_raw(w, ":{", 2);
            open = won = lost = 0;
            n = 0;
        }
        switch (sqlite3_column_int(st, 1)) {
        case 0:
            if (n++) jw_raw(w, ",", 1);
            jw_str(w, key);
            jw_raw(w, ":", 1);
            jw_i64(w, count);
            break;
        case 1: open = count; break;
        default: *(strcmp(key, "won") == 0 ? &won : &lost) = count; break;
        }
    }
    if (cur) close_agent(w, n, open, won, lost);
    free(cur);
    jw_raw(w, "}", 1);
    return lr_sq_finish(s, st, src);
}

/* "by_source": {"src":{"leads":N,"assigned":N},...}. */
static int write_sources(lr_store *s, jw *w) {
    sqlite3_stmt *st = s->st[SQ_ST_SOURCES];
    int src, n = 0;
    jw_raw(w, "{", 1);
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n++) jw_raw(w, ",", 1);
        jw_col_str(w, st, 0);
        jw_lit(w, ":{\"leads\":");
        jw_i64(w, sqlite3_column_int64(st, 1));
        jw_lit(w, ",\"assigned\":");
        jw_i64(w, sqlite3_column_int64(st, 2));
        jw_raw(w, "}", 1);
    }
    jw_raw(w, "}", 1);
    return lr_sq_finish(s, st, src);
}

/* The sorted times are read into memory (8 bytes a row) and the
 * nearest-rank median and p90 picked from them. */
int lr_sq_write_percentiles(lr_store *s, sqlite3_stmt *st, jw *w) {
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? 2 * cap : 256;
            int64_t *nv = realloc(v, ncap * sizeof *v);
            if (!nv) { src = SQLITE_NOMEM; break; }
            v = nv;
            cap = ncap;
        }
        v[n++] = sqlite3_column_int64(st, 0);
    }
    int rc = lr_sq_finish(s, st, src);
    if (rc == LR_OK) {
        jw_lit(w, "{\"median\":");
        if (n) jw_i64(w, v[(n + 1) / 2 - 1]);
        else jw_lit(w, "null");
        jw_lit(w, ",\"p90\":");
        if (n) jw_i64(w, v[(9 * n + 9) / 10 - 1]);
        else jw_lit(w, "null");
        jw_lit(w, ",\"count\":");
        jw_i64(w, (int64_t)n);
        jw_raw(w, "}", 1);
    }
    free(v);
    return rc;
}

/* The shape is in the comment at the top of this file. */
int lr_store_stats_json(lr_store *s, lr_buf *out) {
    lr_sq_defer_drain(s);
    jw w = { out, out->len, LR_OK };
    sqlite3_stmt *st = s->st[SQ_ST_LEADS];
    int src = sqlite3_step(st);
    int64_t leads = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    int rc = lr_sq_finish(s, st, src);
    if (rc == LR_OK) {
        jw_lit(&w, "{\"leads\":");
        jw_i64(&w, leads);
        jw_lit(&w, ",\"decisions\":");
        rc = write_counts(s, s->st[SQ_ST_ACTIONS], SQLITE_OK, false, &w);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"by_agent\":");
        rc = write_agents(s, &w);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"by_rule\":");
        st = s->st[SQ_ST_BY_PATH];
        rc = write_counts(s, st, lr_sq_bind_str(st, 1, "$.rule"), true, &w);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"by_pool\":");
        st = s->st[SQ_ST_BY_PATH];
        rc = write_counts(s, st, lr_sq_bind_str(st, 1, "$.pool"), true, &w);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"by_source\":");
        rc = write_sources(s, &w);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"time_to_assign_ms\":");
        rc = lr_sq_write_percentiles(s, s->st[SQ_ST_TTA], &w);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"deliveries\":{\"by_channel\":");
        rc = write_counts(s, s->st[SQ_DLV_BY_CHANNEL], SQLITE_OK, true, &w);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"latency_ms\":");
        rc = lr_sq_write_percentiles(s, s->st[SQ_DLV_LATENCY], &w);
        jw_raw(&w, "}", 1);
    }
    jw_raw(&w, "}", 1);
    return jw_end(&w, rc);
}
