/* agent_lists.c -- how the store finds an agent's leads without an index
 * entry per lead: lead_agent_blocks (schema in sqlite.c) and the listing
 * by agent that walks it (lr_sq_blocks_walk, which walks a source's
 * lead_source_blocks the same way; sqlite.c writes those).
 *
 * The leads' seqs are cut in blocks of 2^12. lead_agent_blocks has a row
 * (agent, block, seqs) for every block where the agent has, or had, a
 * lead, written before the lead's row. seqs is either
 *   - a blob: the offsets in the block (seq & 4095) of the leads of the
 *     block whose agent is that agent, two bytes each, little endian,
 *     ascending ("closed"); or
 *   - NULL ("open"): the block's rows must be read to know them.
 * A closed list names every such lead, and no other as long as no write
 * failed: a lead is put in its new agent's list before its row changes
 * and taken from the old one's after, so a failed write that its caller
 * commits all the same can only leave a lead in a list it left, which a
 * listing skips (it keeps only rows with the agent). A listing by agent
 * walks the agent's rows in block order: a closed row costs one lookup by
 * rowid per lead, an open one a read of up to 4,096 seqs.
 *
 * Writing a list with every lead would cost what the per-lead index did
 * (a leaf of the agent's part dirtied by nearly every lead of a commit:
 * half of the server's COMMIT). So the writer keeps each agent's open
 * list in memory (struct lr_sq_agents) and writes it once, when the
 * agent's next lead falls in a later block: that UPDATE and the new row's
 * INSERT are neighbours in the agent's part of the table, one leaf.
 * Leads only arrive in the newest block, so a list written then stays
 * exact, but for a lead moved from one agent to another, which edits the
 * written lists of both (lr_sq_agent_gain(), lr_sq_agent_lose()).
 *
 * What is in memory is lost at a rollback, at close or in a crash, and is
 * not trusted after a failed statement (SQLite may have rolled back on its
 * own): the open rows are then all that says where the lists stood, and
 * the leads' rows what they hold. The first write
 * after that (reload()) closes every open row below the newest block,
 * each block from one read of its rows, and reads the newest block's open
 * rows back into memory. One handle writes a store's leads (the engine's
 * seqs are its own): another writer's leads would be missing from the
 * lists this one writes.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIFT LR_SQ_AGENT_BLOCK_SHIFT
#define OFFSET_MASK ((int64_t)(1 << SHIFT) - 1)

/* ---- the offsets blob ------------------------------------------------------ */

typedef struct offsets {
    uint16_t *v;                    /* ascending, no duplicates */
    size_t n, cap;
} offsets;

static int offsets_add(offsets *o, uint16_t x) {
    size_t i = o->n;
    while (i > 0 && o->v[i - 1] > x) i--;           /* nearly always at the end */
    if (i > 0 && o->v[i - 1] == x) return LR_OK;
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 8;
        uint16_t *v = realloc(o->v, cap * sizeof *v);
        if (!v) return LR_ENOMEM;
        o->v = v, o->cap = cap;
    }
    memmove(o->v + i + 1, o->v + i, (o->n - i) * sizeof *o->v);
    o->v[i] = x;
    o->n++;
    return LR_OK;
}

static void offsets_remove(offsets *o, uint16_t x) {
    for (size_t i = 0; i < o->n; i++)
        if (o->v[i] == x) {
            memmove(o->v + i, o->v + i + 1, (o->n - i - 1) * sizeof *o->v);
            o->n--;
            return;
        }
}

/* Reads blob P of N bytes into O (emptied first). LR_EDAMAGED for a blob
 * that is not a list of offsets. */
static int offsets_decode(offsets *o, const unsigned char *p, int n) {
    o->n = 0;
    if (n % 2) return LR_EDAMAGED;
    for (int i = 0; i < n; i += 2) {
        int rc = offsets_add(o, (uint16_t)(p[i] | p[i + 1] << 8));
        if (rc) return rc;
    }
    return LR_OK;
}

/* Turns O's offsets little endian in place (its blob form), and back. */
static const void *offsets_le(offsets *o) {
    unsigned char *p = (unsigned char *)o->v;
    for (size_t k = 0; k < o->n; k++) {
        uint16_t x = o->v[k];
        p[2 * k] = (unsigned char)(x & 0xff), p[2 * k + 1] = (unsigned char)(x >> 8);
    }
    return p;
}

static void offsets_native(offsets *o) {
    unsigned char *p = (unsigned char *)o->v;
    for (size_t k = 0; k < o->n; k++) o->v[k] = (uint16_t)(p[2 * k] | p[2 * k + 1] << 8);
}

/* Binds O as the blob of parameter I, from O's own memory (SQLITE_STATIC:
 * call offsets_native() once the statement ran). */
static int offsets_bind(sqlite3_stmt *st, int i, offsets *o) {
    static const char empty[1];
    const void *p = o->n ? offsets_le(o) : empty;
    return sqlite3_bind_blob(st, i, p, (int)(o->n * 2), SQLITE_STATIC);
}

/* lr_agent_offsets(seq): SQL aggregate, the blob of the offsets of its
 * seqs (registered on every handle: schema 9's and 11's migrations,
 * close_block() and the sources' SOURCE_CLOSE use it). */
static void agg_step(sqlite3_context *cx, int argc, sqlite3_value **argv) {
    (void)argc;
    offsets *o = sqlite3_aggregate_context(cx, sizeof *o);
    if (!o) { sqlite3_result_error_nomem(cx); return; }
    if (offsets_add(o, (uint16_t)(sqlite3_value_int64(argv[0]) & OFFSET_MASK)) != LR_OK)
        sqlite3_result_error_nomem(cx);
}

static void agg_final(sqlite3_context *cx) {
    offsets *o = sqlite3_aggregate_context(cx, 0);
    if (!o || !o->n) {
        sqlite3_result_zeroblob(cx, 0);
    } else {
        sqlite3_result_blob(cx, offsets_le(o), (int)(o->n * 2), SQLITE_TRANSIENT);
    }
    if (o) free(o->v);
}

int lr_sq_agent_register(sqlite3 *db) {
    return sqlite3_create_function_v2(db, "lr_agent_offsets", 1,
                                      SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_DIRECTONLY,
                                      NULL, NULL, agg_step, agg_final, NULL);
}

/* ---- the open lists in memory ---------------------------------------------- */

typedef struct entry {
    char *agent;                    /* owned; NULL: an empty slot */
    int64_t block;
    offsets o;
} entry;

struct lr_sq_agents {
    entry *slot;                    /* open addressing, a power of two */
    size_t cap, used;
    int64_t newest;                 /* the block of the newest lead */
    bool loaded;                    /* false: reload() before the next write */
};

static uint32_t hash_str(const char *s) {
    uint32_t h = 2166136261u;       /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static entry *find(struct lr_sq_agents *a, const char *agent) {
    if (!a->cap) return NULL;
    for (size_t i = hash_str(agent) & (a->cap - 1);; i = (i + 1) & (a->cap - 1)) {
        if (!a->slot[i].agent) return NULL;
        if (strcmp(a->slot[i].agent, agent) == 0) return &a->slot[i];
    }
}

/* The entry of AGENT, added empty (block -1) when new; NULL when out of
 * memory. */
static entry *get(struct lr_sq_agents *a, const char *agent) {
    entry *e = find(a, agent);
    if (e) return e;
    if ((a->used + 1) * 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        entry *slot = calloc(cap, sizeof *slot);
        if (!slot) return NULL;
        for (size_t i = 0; i < a->cap; i++) {
            if (!a->slot[i].agent) continue;
            size_t k = hash_str(a->slot[i].agent) & (cap - 1);
            while (slot[k].agent) k = (k + 1) & (cap - 1);
            slot[k] = a->slot[i];
        }
        free(a->slot);
        a->slot = slot, a->cap = cap;
    }
    size_t k = hash_str(agent) & (a->cap - 1);
    while (a->slot[k].agent) k = (k + 1) & (a->cap - 1);
    if (!(a->slot[k].agent = strdup(agent))) return NULL;
    a->slot[k].block = -1;
    a->used++;
    return &a->slot[k];
}

void lr_sq_agents_distrust(lr_store *s) {
    if (s->agents) s->agents->loaded = false;
}

void lr_sq_agents_forget(lr_store *s) {
    struct lr_sq_agents *a = s->agents;
    if (!a) return;
    for (size_t i = 0; i < a->cap; i++) {
        free(a->slot[i].agent);
        free(a->slot[i].o.v);
    }
    free(a->slot);
    free(a);
    s->agents = NULL;
}

/* ---- rows of lead_agent_blocks ---------------------------------------------- */

/* Writes O as the list of (AGENT, BLOCK), the row made if missing (an
 * UPDATE first: the row is nearly always there). */
static int put_list(lr_store *s, const char *agent, int64_t block, offsets *o) {
    int rc = LR_OK;
    for (int i = 0; i < 2 && rc == LR_OK; i++) {
        sqlite3_stmt *st = s->st[i ? SQ_AGENT_PUT : SQ_AGENT_SET];
        int b = lr_sq_bind_str(st, 1, agent);
        if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, block);
        if (b == SQLITE_OK) b = offsets_bind(st, 3, o);
        rc = lr_sq_run(s, st, b);
        offsets_native(o);
        if (rc == LR_OK && sqlite3_changes(s->db) > 0) break;
    }
    return rc;
}

/* Reads the row (AGENT, BLOCK): *state 0 none, 1 open, 2 closed with its
 * list in O. */
static int get_list(lr_store *s, const char *agent, int64_t block, int *state, offsets *o) {
    sqlite3_stmt *st = s->st[SQ_AGENT_GET];
    int src = lr_sq_bind_str(st, 1, agent), rc = LR_OK;
    if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 2, block);
    if (src == SQLITE_OK) src = sqlite3_step(st);
    *state = 0;
    if (src == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
            *state = 1;
        } else {
            *state = 2;
            rc = offsets_decode(o, sqlite3_column_blob(st, 0), sqlite3_column_bytes(st, 0));
            if (rc == LR_EDAMAGED)
                snprintf(s->err, sizeof s->err, "lead_agent_blocks (%s, %lld): a list of odd length",
                         agent, (long long)block);
        }
    }
    int frc = lr_sq_finish(s, st, src);
    return frc ? frc : rc;
}

/* Reads AGENT's leads in BLOCK from the leads' rows into O. */
static int read_block(lr_store *s, const char *agent, int64_t block, offsets *o) {
    sqlite3_stmt *st = s->st[SQ_AGENT_SCAN];
    int src = lr_sq_bind_str(st, 1, agent), rc = LR_OK;
    if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 2, block << SHIFT);
    if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 3, block << SHIFT | OFFSET_MASK);
    o->n = 0;
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        src = SQLITE_OK;
        if ((rc = offsets_add(o, (uint16_t)(sqlite3_column_int64(st, 0) & OFFSET_MASK)))) break;
    }
    int frc = lr_sq_finish(s, st, src);
    return frc ? frc : rc;
}

/* Closes every open row of BLOCK from one read of its leads' rows. */
static int close_block(lr_store *s, int64_t block) {
    sqlite3_stmt *st = s->st[SQ_AGENT_CLOSE];
    int b = sqlite3_bind_int64(st, 1, block << SHIFT);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, block << SHIFT | OFFSET_MASK);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 3, block);
    int rc = lr_sq_run(s, st, b);
    if (rc) return rc;
    st = s->st[SQ_AGENT_CLOSE_EMPTY];       /* rows whose leads all moved away */
    return lr_sq_run(s, st, sqlite3_bind_int64(st, 1, block));
}

/* After a rollback, at open, or after a crash: closes the open rows below
 * the newest block (that of the newest lead, or BLOCK if later) and reads
 * the newest block's open rows into memory. */
static int reload(lr_store *s, int64_t block) {
    struct lr_sq_agents *a = s->agents;
    for (size_t i = 0; i < a->cap; i++) a->slot[i].block = -1, a->slot[i].o.n = 0;
    sqlite3_stmt *st = s->st[SQ_AGENT_NEWEST];
    int src = sqlite3_step(st);
    int64_t newest = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) >> SHIFT : 0;
    int rc = lr_sq_finish(s, st, src);
    if (rc) return rc;
    if (newest < block) newest = block;
    for (;;) {                      /* one block at a time: the statement is done before */
        st = s->st[SQ_AGENT_OPEN_BELOW];
        src = sqlite3_bind_int64(st, 1, newest);
        if (src == SQLITE_OK) src = sqlite3_step(st);
        bool any = src == SQLITE_ROW;
        int64_t b = any ? sqlite3_column_int64(st, 0) : 0;
        if ((rc = lr_sq_finish(s, st, src)) || !any) break;
        if ((rc = close_block(s, b))) break;
    }
    if (rc) return rc;
    st = s->st[SQ_AGENT_OPEN_AT];
    src = sqlite3_bind_int64(st, 1, newest);
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        src = SQLITE_OK;
        const char *agent = (const char *)sqlite3_column_text(st, 0);
        entry *e = agent ? get(a, agent) : NULL;
        if (!e) { rc = LR_ENOMEM; break; }
        e->block = newest;
        e->o.n = 0;
    }
    int frc = lr_sq_finish(s, st, src);
    if (rc || (rc = frc)) return rc;
    for (size_t i = 0; i < a->cap; i++) {
        entry *e = &a->slot[i];
        if (e->agent && e->block == newest && (rc = read_block(s, e->agent, newest, &e->o))) return rc;
    }
    a->newest = newest;
    a->loaded = true;
    return LR_OK;
}

static int ready(lr_store *s, int64_t block) {
    if (!s->agents && !(s->agents = calloc(1, sizeof *s->agents))) return LR_ENOMEM;
    return s->agents->loaded ? LR_OK : reload(s, block);
}

/* Makes E the open list of (E->agent, BLOCK): writes the list it had (a
 * block of that agent that got its last lead), then makes the row, or
 * opens it again with the list it has (a lead moved into an old block).
 * FRESH: BLOCK is the newest block, where no agent has a row that is not
 * open in memory (so there is none to read). */
static int open_at(lr_store *s, entry *e, int64_t block, bool fresh) {
    int rc;
    if (e->block >= 0 && (rc = put_list(s, e->agent, e->block, &e->o))) return rc;
    e->block = -1;
    e->o.n = 0;
    int state = 0;
    if (!fresh && (rc = get_list(s, e->agent, block, &state, &e->o))) return rc;
    if (state == 1 && (rc = read_block(s, e->agent, block, &e->o))) return rc;
    sqlite3_stmt *st = s->st[SQ_AGENT_OPEN];
    int b = lr_sq_bind_str(st, 1, e->agent);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, block);
    if ((rc = lr_sq_run(s, st, b))) return rc;
    e->block = block;
    return LR_OK;
}

/* Adds SEQ to AGENT's list; LEAD: a new lead (else one moved). */
static int add(lr_store *s, const char *agent, int64_t seq, bool lead) {
    int64_t block = seq >> SHIFT;
    entry *e = get(s->agents, agent);
    if (!e) return LR_ENOMEM;
    int rc;
    if (e->block == block) return offsets_add(&e->o, (uint16_t)(seq & OFFSET_MASK));
    if (e->block < block) {         /* the agent's first in a later block than its list's */
        if ((rc = open_at(s, e, block, lead && block >= s->agents->newest))) return rc;
        return offsets_add(&e->o, (uint16_t)(seq & OFFSET_MASK));
    }
    offsets o = { 0 };              /* a lead moved into an older block: edit its list */
    int state;                      /* (an open row not in memory: the rows are read) */
    rc = get_list(s, agent, block, &state, &o);
    if (rc == LR_OK && state != 1 && (rc = offsets_add(&o, (uint16_t)(seq & OFFSET_MASK))) == LR_OK)
        rc = put_list(s, agent, block, &o);
    free(o.v);
    return rc;
}

/* Takes SEQ out of AGENT's list. */
static int take(lr_store *s, const char *agent, int64_t seq) {
    int64_t block = seq >> SHIFT;
    entry *e = find(s->agents, agent);
    if (e && e->block == block) {
        offsets_remove(&e->o, (uint16_t)(seq & OFFSET_MASK));
        return LR_OK;
    }
    offsets o = { 0 };
    int state;                      /* none, or open not in memory: nothing listed */
    int rc = get_list(s, agent, block, &state, &o);
    if (rc == LR_OK && state == 2) {
        offsets_remove(&o, (uint16_t)(seq & OFFSET_MASK));
        rc = put_list(s, agent, block, &o);
    }
    free(o.v);
    return rc;
}

int lr_sq_agent_lead(lr_store *s, const char *agent, int64_t seq) {
    int rc = ready(s, seq >> SHIFT);
    if (rc == LR_OK) rc = add(s, agent, seq, true);
    if (rc == LR_OK && seq >> SHIFT > s->agents->newest) s->agents->newest = seq >> SHIFT;
    if (rc && s->agents) s->agents->loaded = false;
    return rc;
}

int lr_sq_agent_gain(lr_store *s, const char *agent, int64_t seq) {
    int rc = ready(s, seq >> SHIFT);
    if (rc == LR_OK) rc = add(s, agent, seq, false);
    if (rc && s->agents) s->agents->loaded = false;
    return rc;
}

int lr_sq_agent_lose(lr_store *s, const char *agent, int64_t seq) {
    int rc = ready(s, seq >> SHIFT);
    if (rc == LR_OK) rc = take(s, agent, seq);
    if (rc && s->agents) s->agents->loaded = false;
    return rc;
}

/* ---- the listing by agent ------------------------------------------------- */

int lr_sq_agent_walk(lr_store *s, const lr_lead_query *q, int64_t after, int want,
                     lr_sq_row_fn fn, void *ud) {
    return lr_sq_blocks_walk(s, SQ_AGENT_ROWS, "lead_agent_blocks", q->agent, q, after, want,
                             fn, ud);
}

/* (The same lists, per source: lead_source_blocks, sqlite.c.) */
int lr_sq_range_walk(lr_store *s, const lr_lead_query *q, int64_t after, int64_t first,
                     int64_t last, int want, int *got, lr_sq_row_fn fn, void *ud) {
    sqlite3_stmt *st = s->st[SQ_LIST_AGENT_RANGE];
    int src = lr_sq_bind_list_filters(st, q), rc = 0;
    if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 5, after >= first ? after : first - 1);
    if (src == SQLITE_OK) src = sqlite3_bind_int(st, 6, want - *got);
    if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 7, last);
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        src = SQLITE_OK;
        ++*got;
        if ((rc = fn(st, ud))) break;
    }
    int frc = lr_sq_finish(s, st, src);
    return rc ? rc : frc;
}

int lr_sq_blocks_walk(lr_store *s, int rows, const char *table, const char *key,
                      const lr_lead_query *q, int64_t after, int want, lr_sq_row_fn fn, void *ud) {
    sqlite3_stmt *pairs = s->st[rows];
    int psrc = lr_sq_bind_str(pairs, 1, key), rc = LR_OK, got = 0;
    if (psrc == SQLITE_OK) psrc = sqlite3_bind_int64(pairs, 2, after >> SHIFT);
    while (got < want && psrc == SQLITE_OK && (psrc = sqlite3_step(pairs)) == SQLITE_ROW) {
        psrc = SQLITE_OK;
        int64_t block = sqlite3_column_int64(pairs, 0);
        int64_t first = block << SHIFT, last = first | OFFSET_MASK;
        sqlite3_stmt *st;
        int src;
        if (sqlite3_column_type(pairs, 1) == SQLITE_NULL) {     /* open: read the block */
            if ((rc = lr_sq_range_walk(s, q, after, first, last, want, &got, fn, ud))) break;
            continue;
        }
        const unsigned char *p = sqlite3_column_blob(pairs, 1);
        int n = sqlite3_column_bytes(pairs, 1);
        if (n % 2) {
            snprintf(s->err, sizeof s->err, "%s (%s, %lld): a list of odd length", table, key,
                     (long long)block);
            rc = LR_EDAMAGED;
            break;
        }
        st = s->st[SQ_LIST_AGENT_ONE];
        src = lr_sq_bind_list_filters(st, q);           /* once: a reset keeps them */
        if (src != SQLITE_OK) rc = lr_sq_fail(s, src);
        for (int i = 0; i < n && got < want && rc == LR_OK; i += 2) {
            int64_t seq = first | (p[i] | p[i + 1] << 8);
            if (seq <= after) continue;
            src = sqlite3_bind_int64(st, 5, seq);
            if (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
                got++;
                rc = fn(st, ud);
            }
            sqlite3_reset(st);
            if (src != SQLITE_ROW && src != SQLITE_DONE && src != SQLITE_OK) rc = lr_sq_fail(s, src);
        }
        sqlite3_clear_bindings(st);
        if (rc) break;
    }
    int frc = lr_sq_finish(s, pairs, psrc);
    return rc ? rc : frc;
}
