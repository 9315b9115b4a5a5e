/* stats.c -- GET /v1/stats as JSON (lr_store_stats_json, store.h).
 *
 * Keys in this order:
 *
 *   {"leads":N,                          every stored lead (of the window)
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
 *        decision: the first such decision's at minus received_at (0 when
 *        negative). Nearest-rank percentiles on the sorted values (1-based
 *        rank ceil(p * count): the median of 4 values is the 2nd); null
 *        when count is 0.
 *    "deliveries":{"by_channel":{"crm":{"delivered":N,"dead":N,...},...},
 *                  "latency_ms":{"median":..,"p90":..,"count":N}}}
 *        deliveries per channel and status, and the time from decision to
 *        delivered over delivered ones (same percentiles)
 *
 * Objects keyed by name list their keys in byte order.
 *
 * A window [since, until) takes the leads received in it (received_at),
 * the decisions made in it (at) and the deliveries made in it
 * (created_at): each statement's WHERE, LR_SQ_IN_WINDOW. The decisions'
 * and the deliveries' times never go back as their ids grow (the
 * engine's clock does not), so a window's are found by a search over the
 * ids (window_ids) and read by id. A lead's received_at is the client's,
 * in no order: a window reads the blocks of leads whose range of
 * received_at reaches into it (lead_time_blocks, lead_times.c) and the
 * newest leads, not in a full block yet.
 *
 * Everything but the deliveries comes from two passes, one over the
 * decisions and one over the leads, grouped here rather than by SQLite:
 * SQLite's GROUP BY sorts every row, and with a statement per figure the
 * decisions were read four times (their bodies parsed for "rule" and for
 * "pool") and each lead's first assignment looked up twice. A pass's rows
 * go into a hash table of groups (the row's grouping columns as one key);
 * the groups, a few per agent, rule, pool and action, are then sorted and
 * written. The deliveries (an outbox of one row a decision and channel)
 * are few groups already counted by SQLite, read into the same tables;
 * their latencies are read sorted.
 *
 * The statements run in one read transaction when the handle has none
 * open (a reader handle, reads.c): the figures are of one moment, not of
 * a decisions pass and a later leads pass with leads in between.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- groups: rows counted by their grouping columns ---------------------------
 *
 * A key is the columns one after another, each a byte 0 (NULL) or 1
 * followed by the text and its NUL: unambiguous, and each text can be
 * read back in place as a C string. */

typedef struct group {
    uint64_t hash;                  /* 0: an empty slot */
    char *key;
    size_t len;
    int64_t n, m;                   /* the counts the pass keeps */
} group;

typedef struct groups {
    group *v;
    size_t cap, n;                  /* cap: a power of two, or 0 */
} groups;

static void groups_free(groups *g) {
    for (size_t i = 0; i < g->cap; i++) free(g->v[i].key);
    free(g->v);
    *g = (groups){ 0 };
}

static uint64_t key_hash(const char *p, size_t len) {
    uint64_t h = 14695981039346656037ull;  /* FNV-1a */
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h ? h : 1;
}

static group *slot_of(group *v, size_t cap, uint64_t h, const char *key, size_t len) {
    for (size_t i = h & (cap - 1);; i = (i + 1) & (cap - 1))
        if (!v[i].hash || (v[i].hash == h && v[i].len == len && memcmp(v[i].key, key, len) == 0))
            return &v[i];
}

/* The group of KEY (LEN bytes), made when new; NULL when out of memory. */
static group *groups_get(groups *g, const char *key, size_t len) {
    if (2 * (g->n + 1) > g->cap) {              /* at most half full */
        size_t ncap = g->cap ? 2 * g->cap : 64;
        group *nv = calloc(ncap, sizeof *nv);
        if (!nv) return NULL;
        for (size_t i = 0; i < g->cap; i++)
            if (g->v[i].hash) *slot_of(nv, ncap, g->v[i].hash, g->v[i].key, g->v[i].len) = g->v[i];
        free(g->v);
        g->v = nv;
        g->cap = ncap;
    }
    uint64_t h = key_hash(key, len);
    group *e = slot_of(g->v, g->cap, h, key, len);
    if (!e->hash) {
        if (!(e->key = malloc(len))) return NULL;
        memcpy(e->key, key, len);
        e->len = len;
        e->hash = h;
        g->n++;
    }
    return e;
}

/* Appends column COL of ST to the key in B. */
static int key_col(lr_buf *b, sqlite3_stmt *st, int col) {
    if (sqlite3_column_type(st, col) == SQLITE_NULL) return lr_buf_putc(b, 0);
    const char *t = (const char *)sqlite3_column_text(st, col);
    if (!t) return LR_ENOMEM;
    int rc = lr_buf_putc(b, 1);
    return rc == LR_OK ? lr_buf_append(b, t, strlen(t) + 1) : rc;
}

/* The next column of a key at *P (moved past it): its text, or NULL for a
 * NULL column. */
static const char *key_next(const char **p) {
    if (!*(*p)++) return NULL;
    const char *t = *p;
    *p += strlen(t) + 1;
    return t;
}

/* ---- rows: what is written, sorted ------------------------------------------- */

typedef struct row {
    const char *key, *sub;          /* into a group's key, or literals */
    int kind;
    int64_t n;
} row;

typedef struct rows {
    row *v;
    size_t n, cap;
} rows;

static int rows_add(rows *r, const char *key, int kind, const char *sub, int64_t n) {
    if (r->n == r->cap) {
        size_t ncap = r->cap ? 2 * r->cap : 64;
        row *nv = realloc(r->v, ncap * sizeof *nv);
        if (!nv) return LR_ENOMEM;
        r->v = nv;
        r->cap = ncap;
    }
    r->v[r->n++] = (row){ key, sub, kind, n };
    return LR_OK;
}

static int cmp_str(const char *a, const char *b) {
    return a && b ? strcmp(a, b) : (a != NULL) - (b != NULL);
}

static int cmp_row(const void *pa, const void *pb) {
    const row *a = pa, *b = pb;
    int c = cmp_str(a->key, b->key);
    if (!c) c = (a->kind > b->kind) - (a->kind < b->kind);
    return c ? c : cmp_str(a->sub, b->sub);
}

/* Sorts R by key, kind and sub, adding up rows that are equal in all three. */
static void rows_sort(rows *r) {
    if (!r->n) return;
    qsort(r->v, r->n, sizeof *r->v, cmp_row);
    size_t k = 0;
    for (size_t i = 1; i < r->n; i++) {
        if (cmp_row(&r->v[k], &r->v[i]) == 0) r->v[k].n += r->v[i].n;
        else r->v[++k] = r->v[i];
    }
    r->n = k + 1;
}

/* {"sub":N,...} of sorted R, or {"key":{"sub":N,...},...} when NESTED. */
static void write_rows(jw *w, const rows *r, bool nested) {
    const char *key = NULL;
    jw_raw(w, "{", 1);
    for (size_t i = 0, n = 0; i < r->n; i++) {
        const row *e = &r->v[i];
        if (nested && (i == 0 || strcmp(key, e->key) != 0)) {
            jw_lit(w, i ? "}," : "");
            jw_str(w, key = e->key);
            jw_lit(w, ":{");
            n = 0;
        }
        if (n++) jw_raw(w, ",", 1);
        jw_str(w, e->sub);
        jw_raw(w, ":", 1);
        jw_i64(w, e->n);
    }
    if (nested && r->n) jw_raw(w, "}", 1);
    jw_raw(w, "}", 1);
}

/* "by_agent" of sorted R: kind 0 the agent's decisions per action (written
 * as they come), 1 its open leads, 2 its closed decisions with status won
 * or lost, written with "open" when the agent's object closes. */
static void close_agent(jw *w, int n, int64_t open, int64_t won, int64_t lost) {
    jw_lit(w, n ? ",\"open\":" : "\"open\":");
    jw_i64(w, open);
    jw_lit(w, ",\"won\":");
    jw_i64(w, won);
    jw_lit(w, ",\"lost\":");
    jw_i64(w, lost);
    jw_raw(w, "}", 1);
}

static void write_agents(jw *w, const rows *r) {
    int64_t open = 0, won = 0, lost = 0;
    int n = 0;
    jw_raw(w, "{", 1);
    for (size_t i = 0; i < r->n; i++) {
        const row *e = &r->v[i];
        if (i == 0 || strcmp(r->v[i - 1].key, e->key) != 0) {
            if (i) {
                close_agent(w, n, open, won, lost);
                jw_raw(w, ",", 1);
            }
            jw_str(w, e->key);
            jw_raw(w, ":{", 2);
            open = won = lost = 0;
            n = 0;
        }
        switch (e->kind) {
        case 0:
            if (n++) jw_raw(w, ",", 1);
            jw_str(w, e->sub);
            jw_raw(w, ":", 1);
            jw_i64(w, e->n);
            break;
        case 1: open = e->n; break;
        default: *(strcmp(e->sub, "won") == 0 ? &won : &lost) = e->n; break;
        }
    }
    if (r->n) close_agent(w, n, open, won, lost);
    jw_raw(w, "}", 1);
}

/* ---- the two passes -------------------------------------------------------------- */

typedef struct tally {
    groups dec;                     /* (agent, rule, pool, action, status) -> n */
    groups src;                     /* (source) -> n leads, m ever assigned */
    groups open;                    /* (agent) -> n leads in state assigned */
    groups dlv;                     /* (channel, status) -> n deliveries */
    int64_t leads;
    int64_t *tta;                   /* times to assignment, ms */
    size_t ntta, cap;
    lr_buf key;
} tally;

/* Counts ST's rows into G by their first NCOLS columns: one a row, or
 * the row's column NCOLS when WEIGHED. Finishes ST. */
static int count_rows(lr_store *s, sqlite3_stmt *st, int ncols, bool weighed, groups *g,
                      lr_buf *key) {
    int src, rc = LR_OK;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        lr_buf_reset(key);
        for (int c = 0; rc == LR_OK && c < ncols; c++) rc = key_col(key, st, c);
        group *e = rc == LR_OK ? groups_get(g, key->data, key->len) : NULL;
        if (!e) break;
        e->n += weighed ? sqlite3_column_int64(st, ncols) : 1;
    }
    int frc = lr_sq_finish(s, st, src == SQLITE_ROW ? SQLITE_NOMEM : src);
    return frc != LR_OK ? frc : rc;
}

/* Appends X to the array *V of *N values (room for *CAP); false when out
 * of memory. */
static bool push_i64(int64_t **v, size_t *n, size_t *cap, int64_t x) {
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 256;
        int64_t *nv = realloc(*v, ncap * sizeof *nv);
        if (!nv) return false;
        *v = nv;
        *cap = ncap;
    }
    (*v)[(*n)++] = x;
    return true;
}

/* The group in G of column COL of ST's row (not NULL); NULL when out of
 * memory. */
static group *group_of(groups *g, lr_buf *key, sqlite3_stmt *st, int col) {
    lr_buf_reset(key);
    return key_col(key, st, col) == LR_OK ? groups_get(g, key->data, key->len) : NULL;
}

/* The leads of ST: (source, agent, assigned now, received_at, first
 * assignment's at). */
static int lead_pass(lr_store *s, sqlite3_stmt *st, tally *t) {
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        t->leads++;
        bool assigned = sqlite3_column_type(st, 4) != SQLITE_NULL;
        group *e;
        if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
            if (!(e = group_of(&t->src, &t->key, st, 0))) break;
            e->n++;
            e->m += assigned;
        }
        if (sqlite3_column_type(st, 1) != SQLITE_NULL && sqlite3_column_int(st, 2)) {
            if (!(e = group_of(&t->open, &t->key, st, 1))) break;
            e->n++;
        }
        if (assigned && sqlite3_column_type(st, 3) != SQLITE_NULL) {
            int64_t ms = sqlite3_column_int64(st, 4) - sqlite3_column_int64(st, 3);
            if (!push_i64(&t->tta, &t->ntta, &t->cap, ms > 0 ? ms : 0)) break;
        }
    }
    return lr_sq_finish(s, st, src == SQLITE_ROW ? SQLITE_NOMEM : src);    /* a break: no memory */
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* {"median":N|null,"p90":N|null,"count":N} of the N sorted values V:
 * nearest rank. */
static void write_percentiles(jw *w, const int64_t *v, size_t n) {
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

/* Steps ST (its first column sorted integers) and writes its percentiles.
 * Finishes ST. */
static int write_col_percentiles(lr_store *s, sqlite3_stmt *st, jw *w) {
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    int src;
    while ((src = sqlite3_step(st)) == SQLITE_ROW)
        if (!push_i64(&v, &n, &cap, sqlite3_column_int64(st, 0))) break;
    int rc = lr_sq_finish(s, st, src == SQLITE_ROW ? SQLITE_NOMEM : src);
    if (rc == LR_OK) write_percentiles(w, v, n);
    free(v);
    return rc;
}

/* The groups of the passes as the rows of each object. */
static int make_rows(tally *t, rows *actions, rows *agents, rows *rules, rows *pools, rows *sources,
                     rows *channels) {
    int rc = LR_OK;
    for (size_t i = 0; rc == LR_OK && i < t->dec.cap; i++) {
        const group *e = &t->dec.v[i];
        if (!e->hash) continue;
        const char *p = e->key;
        const char *agent = key_next(&p), *rule = key_next(&p), *pool = key_next(&p);
        const char *action = key_next(&p), *status = key_next(&p);
        if (!action) continue;      /* NOT NULL in the schema */
        rc = rows_add(actions, NULL, 0, action, e->n);
        if (rc == LR_OK && agent) rc = rows_add(agents, agent, 0, action, e->n);
        if (rc == LR_OK && agent && status && strcmp(action, "closed") == 0 &&
            (strcmp(status, "won") == 0 || strcmp(status, "lost") == 0))
            rc = rows_add(agents, agent, 2, status, e->n);
        if (rc == LR_OK && rule) rc = rows_add(rules, rule, 0, action, e->n);
        if (rc == LR_OK && pool) rc = rows_add(pools, pool, 0, action, e->n);
    }
    for (size_t i = 0; rc == LR_OK && i < t->open.cap; i++) {
        const char *p = t->open.v[i].key;
        if (t->open.v[i].hash) rc = rows_add(agents, key_next(&p), 1, "open", t->open.v[i].n);
    }
    /* a source's row keeps its slot's index in n (its key is unique) */
    for (size_t i = 0; rc == LR_OK && i < t->src.cap; i++) {
        const char *p = t->src.v[i].key;
        if (t->src.v[i].hash) rc = rows_add(sources, key_next(&p), 0, NULL, (int64_t)i);
    }
    for (size_t i = 0; rc == LR_OK && i < t->dlv.cap; i++) {
        const char *p = t->dlv.v[i].key;
        if (!t->dlv.v[i].hash) continue;
        const char *channel = key_next(&p), *status = key_next(&p);
        if (channel && status) rc = rows_add(channels, channel, 0, status, t->dlv.v[i].n);
    }
    rows_sort(actions);
    rows_sort(agents);
    rows_sort(rules);
    rows_sort(pools);
    rows_sort(sources);
    rows_sort(channels);
    return rc;
}

/* The ids in which a window's rows lie: [from, to). */
typedef struct id_span {
    int64_t from, to;
} id_span;

/* Binds the window [SINCE, UNTIL) to ST (LR_TIME_NONE: open), and, when
 * IDS, the ids it lies in (?3, ?4). */
static int bind_window(lr_store *s, sqlite3_stmt *st, lr_time since, lr_time until,
                       const id_span *ids) {
    int b = lr_sq_bind_time(st, 1, since);
    if (b == SQLITE_OK) b = lr_sq_bind_time(st, 2, until);
    if (b == SQLITE_OK && ids) b = sqlite3_bind_int64(st, 3, ids->from);
    if (b == SQLITE_OK && ids) b = sqlite3_bind_int64(st, 4, ids->to);
    return b == SQLITE_OK ? LR_OK : lr_sq_finish(s, st, b);
}

/* The first id of a table whose time is T or later, into *OUT (the last
 * id + 1 when none): a search over the ids with FROM (the first row at or
 * after an id, and its time), whose times never go back as the ids grow.
 * LO and HI: the lowest and highest id to look at. */
static int first_at(lr_store *s, sqlite3_stmt *from, int64_t lo, int64_t hi, lr_time t,
                    int64_t *out) {
    int64_t end = hi + 1;
    while (lo < end) {
        int64_t mid = lo + (end - lo) / 2, id = 0;
        lr_time at = 0;
        int b = sqlite3_bind_int64(from, 1, mid);
        bool found = false;
        if (b == SQLITE_OK && (b = sqlite3_step(from)) == SQLITE_ROW) {
            b = SQLITE_OK;
            found = true;
            id = sqlite3_column_int64(from, 0);
            at = sqlite3_column_int64(from, 1);
        }
        int rc = lr_sq_finish(s, from, b);
        if (rc != LR_OK) return rc;
        if (!found || at >= t) end = mid;      /* (none at or after mid: past the last) */
        else lo = id + 1;
    }
    *out = lo;
    return LR_OK;
}

/* The ids of a table (LAST: its highest id; FROM as first_at's) whose
 * time is in [SINCE, UNTIL). */
static int window_ids(lr_store *s, sqlite3_stmt *last, sqlite3_stmt *from, lr_time since,
                      lr_time until, id_span *out) {
    *out = (id_span){ 0, INT64_MAX };
    if (since == LR_TIME_NONE && until == LR_TIME_NONE) return LR_OK;
    int64_t top = 0;
    int b = sqlite3_step(last);
    if (b == SQLITE_ROW) {
        b = SQLITE_OK;
        top = sqlite3_column_int64(last, 0);
    }
    int rc = lr_sq_finish(s, last, b);
    if (rc == LR_OK && since != LR_TIME_NONE) rc = first_at(s, from, 1, top, since, &out->from);
    if (rc == LR_OK && until != LR_TIME_NONE) rc = first_at(s, from, out->from, top, until, &out->to);
    return rc;
}

/* The shape is in the comment at the top of this file. */
int lr_store_stats_json(lr_store *s, lr_time since, lr_time until, lr_buf *out) {
    lr_sq_defer_drain(s);
    tally t = { 0 };
    lr_buf_init(&t.key);
    rows actions = { 0 }, agents = { 0 }, rules = { 0 }, pools = { 0 }, sources = { 0 };
    rows channels = { 0 };
    bool txn = sqlite3_get_autocommit(s->db);
    int rc = txn ? lr_store_read_begin(s) : LR_OK;
    sqlite3_stmt *const *st = s->st;
    /* a window reads its decisions and deliveries by id, its leads by the
     * blocks that reach into it */
    id_span dec, dlv;
    bool window = since != LR_TIME_NONE || until != LR_TIME_NONE;
    sqlite3_stmt *leads = st[window ? SQ_ST_LEAD_ROWS_IN : SQ_ST_LEAD_ROWS];
    if (rc == LR_OK)
        rc = window_ids(s, st[SQ_DEC_LAST_ID], st[SQ_ST_DECISION_FROM], since, until, &dec);
    if (rc == LR_OK)
        rc = window_ids(s, st[SQ_DLV_LAST_ID], st[SQ_ST_DELIVERY_FROM], since, until, &dlv);
    if (rc == LR_OK) rc = bind_window(s, st[SQ_ST_DECISION_ROWS], since, until, &dec);
    if (rc == LR_OK) rc = count_rows(s, st[SQ_ST_DECISION_ROWS], 5, false, &t.dec, &t.key);
    if (rc == LR_OK) rc = bind_window(s, leads, since, until, NULL);
    if (rc == LR_OK) rc = lead_pass(s, leads, &t);
    if (rc == LR_OK) rc = bind_window(s, st[SQ_DLV_BY_CHANNEL], since, until, &dlv);
    if (rc == LR_OK) rc = count_rows(s, st[SQ_DLV_BY_CHANNEL], 2, true, &t.dlv, &t.key);
    if (rc == LR_OK &&
        (rc = make_rows(&t, &actions, &agents, &rules, &pools, &sources, &channels)) != LR_OK)
        snprintf(s->err, sizeof s->err, "out of memory");
    if (rc == LR_OK && t.ntta) qsort(t.tta, t.ntta, sizeof *t.tta, cmp_i64);
    jw w = { out, out->len, LR_OK };
    if (rc == LR_OK) {
        jw_lit(&w, "{\"leads\":");
        jw_i64(&w, t.leads);
        jw_lit(&w, ",\"decisions\":");
        write_rows(&w, &actions, false);
        jw_lit(&w, ",\"by_agent\":");
        write_agents(&w, &agents);
        jw_lit(&w, ",\"by_rule\":");
        write_rows(&w, &rules, true);
        jw_lit(&w, ",\"by_pool\":");
        write_rows(&w, &pools, true);
        jw_lit(&w, ",\"by_source\":{");
        for (size_t i = 0; i < sources.n; i++) {
            const group *e = &t.src.v[sources.v[i].n];
            if (i) jw_raw(&w, ",", 1);
            jw_str(&w, sources.v[i].key);
            jw_lit(&w, ":{\"leads\":");
            jw_i64(&w, e->n);
            jw_lit(&w, ",\"assigned\":");
            jw_i64(&w, e->m);
            jw_raw(&w, "}", 1);
        }
        jw_lit(&w, "},\"time_to_assign_ms\":");
        write_percentiles(&w, t.tta, t.ntta);
        jw_lit(&w, ",\"deliveries\":{\"by_channel\":");
        write_rows(&w, &channels, true);
    }
    if (rc == LR_OK) {
        jw_lit(&w, ",\"latency_ms\":");
        rc = bind_window(s, st[SQ_DLV_LATENCY], since, until, &dlv);
        if (rc == LR_OK) rc = write_col_percentiles(s, st[SQ_DLV_LATENCY], &w);
        jw_lit(&w, "}}");
    }
    if (txn) {
        /* a read's end; should it fail, the snapshot must not stay open for
         * the handle's next reads (and pin the WAL) */
        int erc = lr_store_read_end(s);
        if (erc != LR_OK) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        if (rc == LR_OK) rc = erc;
    }
    free(actions.v);
    free(agents.v);
    free(rules.v);
    free(pools.v);
    free(sources.v);
    free(channels.v);
    groups_free(&t.dec);
    groups_free(&t.src);
    groups_free(&t.open);
    groups_free(&t.dlv);
    free(t.tta);
    lr_buf_release(&t.key);
    return jw_end(&w, rc);
}
