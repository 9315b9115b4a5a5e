/* sqlite_impl.h -- private to src/store/: the store handle, its prepared
 * statements and the helpers sqlite.c (open, schema, writes), queries.c
 * and stats.c (the JSON read side) share.
 *
 * Every statement of the store is in LR_STORE_STMT_MAP, prepared once at
 * open with SQLITE_PREPARE_PERSISTENT and finalized at close. A function
 * that steps a statement always ends with lr_sq_finish(), which resets it
 * and clears its bindings, on success and on error alike: no statement is
 * left holding a read transaction or a borrowed pointer (values are bound
 * SQLITE_STATIC, so a binding must not outlive the call that made it).
 */
#ifndef LR_STORE_SQLITE_IMPL_H
#define LR_STORE_SQLITE_IMPL_H

#include "leadrouter/decision.h"
#include "leadrouter/store.h"

#include <sqlite3.h>
#include <stdbool.h>

/* The columns a lead listing reads, then the filters every variant applies
 * (?1 agent, ?2 state, ?3 source, ?4 since, ?8 until, ?5 after-seq, ?6
 * limit). The
 * variant by state leads with its equality, so that SQLite walks that
 * index (which implicitly ends with seq, the rowid) in seq order instead
 * of scanning the table; by agent or by source, agent_lists.c reads one
 * block's range (LIST_AGENT_RANGE, ?7 its last seq) or one lead by seq
 * (LIST_AGENT_ONE). */
#define LR_SQ_LIST_COLS "SELECT seq, id, state, agent, source, received_at FROM leads "
#define LR_SQ_LIST_FILTERS \
    " AND (?1 IS NULL OR agent = ?1) AND (?2 IS NULL OR state = ?2)" \
    " AND (?3 IS NULL OR source = ?3) AND (?4 IS NULL OR received_at >= ?4)" \
    " AND (?8 IS NULL OR received_at < ?8)"
#define LR_SQ_LIST_TAIL LR_SQ_LIST_FILTERS " ORDER BY seq LIMIT ?6"

/* An agent's leads are found through the blocks of 2^12 seqs where that
 * agent has (or had) a lead: lead_agent_blocks (agent_lists.c). */
#define LR_SQ_AGENT_BLOCK_SHIFT 12
#define LR_SQ_STR_(x) #x
#define LR_SQ_STR(x) LR_SQ_STR_(x)
#define LR_SQ_AGENT_BLOCK_BITS LR_SQ_STR(LR_SQ_AGENT_BLOCK_SHIFT)      /* in SQL text */

/* The first assigned or claimed decision of lead l (its id order). */
#define LR_SQ_FIRST_ASSIGN(col) \
    "(SELECT d." col " FROM decisions d WHERE d.lead_seq = l.seq" \
    " AND d.action IN ('assigned', 'claimed') ORDER BY d.id LIMIT 1)"

/* A lead's row for GET /v1/stats (stats.c's lead pass), from leads l. */
#define LR_SQ_ST_LEAD_COLS \
    "SELECT l.source, l.agent, l.state = 'assigned', l.received_at, " LR_SQ_FIRST_ASSIGN("at")

/* COL in GET /v1/stats' window: at or after ?1 and before ?2, each bound
 * NULL when the request leaves that end open (a NULL COL is only in the
 * window open at both ends). */
#define LR_SQ_IN_WINDOW(col) \
    "(?1 IS NULL OR " col " >= ?1) AND (?2 IS NULL OR " col " < ?2)"

#define LR_STORE_STMT_MAP(X)                                                    \
    X(BEGIN, "BEGIN IMMEDIATE")                                                 \
    X(BEGIN_READ, "BEGIN DEFERRED")                                             \
    X(COMMIT, "COMMIT")                                                         \
    X(ROLLBACK, "ROLLBACK")                                                     \
    X(EV_APPEND, "INSERT INTO events(seq, at, type, lead, body) VALUES (?1, ?2, ?3, ?4, ?5)") \
    X(EV_LAST, "SELECT max(seq) FROM events")                                   \
    X(EV_REPLAY, "SELECT seq, at, type, body FROM events WHERE seq > ?1 ORDER BY seq") \
    X(DEC_ADD, "INSERT INTO decisions(id, seq, at, lead, action, agent, body, lead_seq, why)" \
               " VALUES (?9, ?1, ?2, ?3, ?4, ?5, ?6,"                           \
               " coalesce(?7, (SELECT seq FROM leads WHERE id = ?3)), ?8)")     \
    X(DEC_LAST_ID, "SELECT coalesce(max(id), 0) FROM decisions")                \
    X(LEAD_ADD, "INSERT INTO leads(seq, id, received_at, source, hash, body, state, agent)" \
                " VALUES (?1, ?2, ?3, ?4, ?5, ?6, coalesce(?7, 'new'), ?8)")    \
    X(LEAD_STATE_SAME_AGENT, "UPDATE leads SET state = ?2 WHERE id = ?1 AND agent IS ?3") \
    X(LEAD_STATE_SEQ, "UPDATE leads SET state = ?2, agent = ?3 WHERE seq = ?4 AND id = ?1") \
    X(LEAD_STATE_SEQ_SAME_AGENT, "UPDATE leads SET state = ?2"                  \
                                 " WHERE seq = ?4 AND id = ?1 AND agent IS ?3") \
    X(LEAD_FIND, "SELECT seq, hash FROM leads WHERE id = ?1")                   \
    X(LEAD_AGENT_SEQ, "SELECT seq, agent FROM leads WHERE seq = ?1 AND id = ?2")  \
    X(LEAD_AGENT_ID, "SELECT seq, agent FROM leads WHERE id = ?2")  /* ?2 as above */             \
    LR_STORE_AGENT_STMTS(X)                                                     \
    X(LEAD_GET, "SELECT id, state, agent, source, received_at, body, seq FROM leads WHERE id = ?1") \
    X(LEAD_DECS, "SELECT body, why FROM decisions WHERE lead_seq = ?1 ORDER BY id") \
    /* a lead's progress as applied: after the lead (?2, its seq) and not      \
     * refused (a refused event has a rejected decision of its seq) */         \
    X(LEAD_PROGRESS, "SELECT body FROM events e WHERE lead = ?1 AND type = 'progress'" \
                     " AND seq > ?2 AND NOT EXISTS (SELECT 1 FROM decisions d"  \
                     " WHERE d.lead_seq = ?2 AND d.seq = e.seq AND d.action = 'rejected')" \
                     " ORDER BY seq")                                           \
    X(EVENT_DECS, "SELECT body, why FROM decisions WHERE lead_seq = ?1 AND seq = ?1"      \
                  " AND (?2 IS NULL OR lead = ?2)" \
                  " ORDER BY id")                                               \
    X(LIST_ALL, LR_SQ_LIST_COLS "WHERE seq > ?5" LR_SQ_LIST_TAIL)               \
    X(LIST_AGENT_RANGE, LR_SQ_LIST_COLS "WHERE seq > ?5 AND seq <= ?7" LR_SQ_LIST_TAIL) \
    X(LIST_AGENT_ONE, LR_SQ_LIST_COLS "WHERE seq = ?5" LR_SQ_LIST_FILTERS)      \
    X(LIST_STATE, LR_SQ_LIST_COLS "INDEXED BY leads_state WHERE state = ?2 AND seq > ?5" \
                  LR_SQ_LIST_TAIL)                                              \
    X(SOURCE_BLOCK_ADD, "INSERT OR IGNORE INTO lead_source_blocks(source, block)" \
                        " VALUES (?1, ?2)")                                      \
    X(SOURCE_OPEN_BELOW, "SELECT DISTINCT block FROM lead_source_blocks"        \
                         " WHERE seqs IS NULL AND block < ?1 ORDER BY block")    \
    X(SOURCE_CLOSE, "INSERT INTO lead_source_blocks(source, block, seqs)"       \
                    " SELECT source, ?1, lr_agent_offsets(seq) FROM leads"       \
                    " WHERE seq >= ?1 << " LR_SQ_AGENT_BLOCK_BITS                \
                    " AND seq < (?1 + 1) << " LR_SQ_AGENT_BLOCK_BITS              \
                    " AND source IS NOT NULL GROUP BY source"                     \
                    " ON CONFLICT (source, block) DO UPDATE SET seqs = excluded.seqs" \
                    " WHERE seqs IS NULL")                                       \
    X(SOURCE_CLOSE_EMPTY, "UPDATE lead_source_blocks SET seqs = x''"            \
                          " WHERE block = ?1 AND seqs IS NULL")                  \
    X(SOURCE_ROWS, "SELECT block, seqs FROM lead_source_blocks"                 \
                   " WHERE source = ?1 AND block >= ?2 ORDER BY block")          \
    /* the statistics' two passes (stats.c) */                                 \
    X(ST_DECISION_ROWS, "SELECT agent, json_extract(body, '$.rule'),"           \
                        " json_extract(body, '$.pool'), action,"                \
                        " CASE WHEN action = 'closed' AND agent IS NOT NULL"    \
                        " THEN json_extract(body, '$.status') END FROM decisions" \
                        " WHERE id >= ?3 AND id < ?4 AND " LR_SQ_IN_WINDOW("at")) \
    X(ST_LEAD_ROWS, LR_SQ_ST_LEAD_COLS " FROM leads l"                          \
                    " WHERE " LR_SQ_IN_WINDOW("received_at"))                   \
    /* a window's leads: the blocks whose received_at reach into it, and the \
     * newest ones, not in a block yet (lead_times.c) */                      \
    X(ST_LEAD_ROWS_IN, LR_SQ_ST_LEAD_COLS " FROM lead_time_blocks b JOIN leads l" \
                       " ON l.seq >= b.block << " LR_SQ_AGENT_BLOCK_BITS         \
                       " AND l.seq < (b.block + 1) << " LR_SQ_AGENT_BLOCK_BITS   \
                       " WHERE (?1 IS NULL OR b.hi >= ?1) AND (?2 IS NULL OR b.lo < ?2)" \
                       " AND " LR_SQ_IN_WINDOW("l.received_at")                  \
                       " UNION ALL " LR_SQ_ST_LEAD_COLS " FROM leads l"          \
                       " WHERE l.seq >= (SELECT coalesce(max(block) + 1, 0)"    \
                       " FROM lead_time_blocks) << " LR_SQ_AGENT_BLOCK_BITS      \
                       " AND " LR_SQ_IN_WINDOW("l.received_at"))                 \
    /* the first id at or after ?1, and its time: a window's first and last  \
     * decision and delivery by a search over the ids (their times never go  \
     * back: the engine's clock does not) */                                  \
    X(ST_DECISION_FROM, "SELECT id, at FROM decisions WHERE id >= ?1 ORDER BY id LIMIT 1") \
    X(ST_DELIVERY_FROM, "SELECT id, created_at FROM deliveries WHERE id >= ?1"  \
                        " ORDER BY id LIMIT 1")                                 \
    /* lead_times.c: a listing's blocks from block ?1 on whose range reaches  \
     * into [?2, ?3), then (1) the first block of the newest leads */          \
    X(LIST_TIME_BLOCKS, "SELECT block, 0 FROM lead_time_blocks WHERE block >= ?1" \
                        " AND (?2 IS NULL OR hi >= ?2) AND (?3 IS NULL OR lo < ?3)" \
                        " UNION ALL SELECT coalesce(max(block) + 1, 0), 1"     \
                        " FROM lead_time_blocks ORDER BY 1")                    \
    /* lead_times.c: a full block's range of received_at */                    \
    X(TIME_BLOCK_ADD, "INSERT OR IGNORE INTO lead_time_blocks(block, lo, hi) VALUES (?1, ?2, ?3)") \
    X(TIME_BLOCKS_CLOSE, "INSERT OR IGNORE INTO lead_time_blocks(block, lo, hi)" \
                         " SELECT seq >> " LR_SQ_AGENT_BLOCK_BITS ", min(received_at)," \
                         " max(received_at) FROM leads WHERE seq >= (SELECT"    \
                         " coalesce(max(block) + 1, 0) FROM lead_time_blocks) << " \
                         LR_SQ_AGENT_BLOCK_BITS " AND seq < ?1 << " LR_SQ_AGENT_BLOCK_BITS \
                         " AND received_at IS NOT NULL GROUP BY 1")               \
    X(IDEM_GET, "SELECT hash, status, body FROM idem WHERE key = ?1")           \
    X(IDEM_PUT, "INSERT INTO idem(key, hash, status, body, created) VALUES (?1, ?2, ?3, ?4, ?5)") \
    X(IDEM_PRUNE, "DELETE FROM idem WHERE key IN (SELECT key FROM idem WHERE created < ?1"  \
                  " ORDER BY created LIMIT ?2)")                                 \
    X(KEY_ADD, "INSERT INTO keys(id, hash, role, agent, created) VALUES (?1, ?2, ?3, ?4, ?5)") \
    X(KEY_FIND, "SELECT role, agent FROM keys WHERE hash = ?1")               \
    X(KEY_LIST, "SELECT id, role, agent, created FROM keys ORDER BY created, id") \
    X(KEY_DEL, "DELETE FROM keys WHERE id = ?1")                                \
    LR_STORE_DELIVERY_STMTS(X)

/* lead_agent_blocks (agent_lists.c): ?1 agent, ?2 block, ?3 its list;
 * a block's seqs from ?1 to ?2 (AGENT_SCAN: ?2 to ?3). */
#define LR_STORE_AGENT_STMTS(X)                                                 \
    X(AGENT_GET, "SELECT seqs FROM lead_agent_blocks WHERE agent = ?1 AND block = ?2") \
    X(AGENT_SET, "UPDATE lead_agent_blocks SET seqs = ?3 WHERE agent = ?1 AND block = ?2") \
    X(AGENT_PUT, "INSERT INTO lead_agent_blocks(agent, block, seqs) VALUES (?1, ?2, ?3)" \
                 " ON CONFLICT (agent, block) DO UPDATE SET seqs = excluded.seqs") \
    X(AGENT_OPEN, "INSERT INTO lead_agent_blocks(agent, block, seqs) VALUES (?1, ?2, NULL)" \
                  " ON CONFLICT (agent, block) DO UPDATE SET seqs = NULL")       \
    X(AGENT_SCAN, "SELECT seq FROM leads WHERE seq BETWEEN ?2 AND ?3 AND agent = ?1") \
    X(AGENT_CLOSE, "INSERT INTO lead_agent_blocks(agent, block, seqs)"           \
                   " SELECT agent, ?3, lr_agent_offsets(seq) FROM leads"         \
                   " WHERE seq BETWEEN ?1 AND ?2 AND agent IS NOT NULL GROUP BY agent" \
                   " ON CONFLICT (agent, block) DO UPDATE SET seqs = excluded.seqs" \
                   " WHERE seqs IS NULL")                                        \
    X(AGENT_CLOSE_EMPTY, "UPDATE lead_agent_blocks SET seqs = x''"               \
                         " WHERE block = ?1 AND seqs IS NULL")                    \
    X(AGENT_NEWEST, "SELECT coalesce(max(seq), 0) FROM leads")                  \
    X(AGENT_OPEN_BELOW, "SELECT block FROM lead_agent_blocks"                   \
                        " WHERE seqs IS NULL AND block < ?1 ORDER BY block LIMIT 1") \
    X(AGENT_OPEN_AT, "SELECT agent FROM lead_agent_blocks WHERE seqs IS NULL AND block = ?1") \
    X(AGENT_ROWS, "SELECT block, seqs FROM lead_agent_blocks"                   \
                  " WHERE agent = ?1 AND block >= ?2 ORDER BY block")

/* The outbox (deliveries.c). A delivery row's columns, for listings. */
#define LR_SQ_DLV_COLS "SELECT id, lead, action, agent, channel, recipient, status, attempts," \
    " created_at, next_at, delivered_at, last_status, last_error FROM deliveries "
#define LR_SQ_DLV_OPEN "status IN ('pending', 'retrying')"
/* The rows of the partial index deliveries_due: open and not fresh. A
 * query that wants the index repeats this text (SQLite matches it term by
 * term). */
#define LR_SQ_DLV_QUEUED LR_SQ_DLV_OPEN " AND (updated_at IS NOT NULL OR cond)"
/* The rows of the partial index deliveries_stopped: settled without
 * being delivered, few of them (a query that wants it repeats the text). */
#define LR_SQ_DLV_STOPPED "status IN ('dead', 'cancelled')"
/* A fresh delivery: pending, never attempted nor replayed, not delayed. */
#define LR_SQ_DLV_FRESH "status = 'pending' AND updated_at IS NULL AND NOT cond"
/* Where a listing of open deliveries of status ?2 (channel ?3, or any)
 * starts reading by id: no fresh one is below the lowest mark of those
 * channels (every channel with a delivery has one: lr_sq_add_delivery);
 * retrying ones are never fresh, and a channel without a mark has no
 * fresh delivery. */
#define LR_SQ_DLV_OPEN_FROM \
    "(CASE WHEN ?2 = 'pending' THEN (SELECT coalesce(min(fresh_from), 9223372036854775807)" \
    " FROM outbox_marks WHERE ?3 IS NULL OR channel = ?3) ELSE 9223372036854775807 END)"
#define LR_STORE_DELIVERY_STMTS(X)                                              \
    X(DLV_ADD, "INSERT INTO deliveries(id, decision, lead, action, agent, channel, recipient," \
               " status, created_at, window_from, next_at, last_error, cond, brief, due_at)" \
               " VALUES (?12, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8 + ?10, ?9, ?10 > 0, ?11," \
               " CASE WHEN ?10 > 0 THEN ?8 + ?10 END)")                        \
    X(DLV_RESULT, "UPDATE deliveries SET status = ?2, attempts = ?3, next_at = ?4," \
                  " updated_at = ?5, last_status = ?6, last_error = ?7, window_from = ?8," \
                  " delivered_at = CASE WHEN ?2 = 'delivered' THEN ?5 ELSE delivered_at END" \
                  " WHERE id = ?1 AND status = ?10 AND replays = ?9")           \
    X(DLV_RETRY, "UPDATE deliveries SET status = 'pending', next_at = ?2, window_from = ?2," \
                 " updated_at = ?2, replays = replays + 1 WHERE id = ?1")       \
    X(DLV_DUE, "SELECT id, lead, action, agent, recipient, attempts, created_at," \
               " window_from, cond, replays FROM deliveries"                     \
               " WHERE channel = ?1 AND " LR_SQ_DLV_QUEUED " AND next_at <= ?2" \
               " ORDER BY next_at, id LIMIT ?3")                                \
    X(DLV_FRESH, "SELECT id, lead, action, agent, recipient, attempts, created_at," \
                 " window_from, cond, replays FROM deliveries"                   \
                 " WHERE id > ?2 AND id <= ?3 AND channel = ?1 AND " LR_SQ_DLV_FRESH \
                 " ORDER BY id LIMIT ?4")                                        \
    X(DLV_MARK_GET, "SELECT fresh_from FROM outbox_marks WHERE channel = ?1")   \
    X(DLV_MARK_SET, "INSERT INTO outbox_marks(channel, fresh_from) VALUES (?1, ?2)" \
                    " ON CONFLICT (channel) DO UPDATE SET fresh_from = excluded.fresh_from" \
                    " WHERE fresh_from <> excluded.fresh_from")                 \
    X(DLV_JOB, "SELECT d.id, d.lead, d.action, d.agent, d.recipient, d.attempts," \
               " d.created_at, d.window_from, dc.body, dc.why, l.body,"         \
               " d.cond AND EXISTS (SELECT 1 FROM decisions d2"                 \
               "   WHERE d2.lead_seq = dc.lead_seq AND d2.id > dc.id"           \
               "   AND (d.due_at IS NULL OR d2.at < d.due_at)), d.brief,"       \
               " d.replays"                                                     \
               " FROM deliveries d JOIN decisions dc ON dc.id = d.decision"     \
               " LEFT JOIN leads l ON l.seq = dc.lead_seq WHERE d.id = ?1")     \
    X(DLV_NEXT, "SELECT min(next_at) FROM deliveries WHERE channel = ?1 AND " LR_SQ_DLV_QUEUED) \
    X(DLV_COUNTS, "SELECT status, count(*) FROM deliveries GROUP BY status")    \
    X(DATA_VERSION, "PRAGMA data_version")                                      \
    X(DLV_LAST_ID, "SELECT coalesce(max(id), 0) FROM deliveries")               \
    X(DLV_GET, LR_SQ_DLV_COLS "WHERE id = ?1")                                  \
    X(DLV_LIST, LR_SQ_DLV_COLS "WHERE id > ?1 AND (?2 IS NULL OR status = ?2)"  \
                " AND (?3 IS NULL OR channel = ?3) ORDER BY id LIMIT ?4")       \
    X(DLV_LIST_STOPPED, LR_SQ_DLV_COLS "WHERE " LR_SQ_DLV_STOPPED " AND status = ?2" \
                        " AND id > ?1 AND (?3 IS NULL OR channel = ?3)"         \
                        " ORDER BY id LIMIT ?4")                                \
    /* the open ones of status ?2: from the lowest mark of the channels (?3,   \
     * or all) up by id (every fresh one is there), merged with the queued     \
     * ones below it (deliveries_queued, by status and id); retrying ones     \
     * are all queued */                                                       \
    X(DLV_LIST_OPEN, LR_SQ_DLV_COLS "WHERE id > max(?1, " LR_SQ_DLV_OPEN_FROM " - 1)" \
                     " AND status = ?2 AND (?3 IS NULL OR channel = ?3)"        \
                     " UNION ALL " LR_SQ_DLV_COLS "INDEXED BY deliveries_queued" \
                     " WHERE " LR_SQ_DLV_QUEUED " AND status = ?2 AND id > ?1"  \
                     " AND id < " LR_SQ_DLV_OPEN_FROM                           \
                     " AND (?3 IS NULL OR channel = ?3) ORDER BY 1 LIMIT ?4")   \
    X(DLV_MARK_FIRST, "INSERT INTO outbox_marks(channel, fresh_from) VALUES (?1, ?2)" \
                      " ON CONFLICT (channel) DO NOTHING")                      \
    X(DLV_LATENCY, "SELECT delivered_at - created_at FROM deliveries"           \
                   " WHERE id >= ?3 AND id < ?4 AND status = 'delivered'"       \
                   " AND " LR_SQ_IN_WINDOW("created_at") " ORDER BY 1")         \
    X(DLV_BY_CHANNEL, "SELECT channel, status, count(*) FROM deliveries"        \
                      " WHERE id >= ?3 AND id < ?4 AND " LR_SQ_IN_WINDOW("created_at") \
                      " GROUP BY channel, status ORDER BY channel, status")

typedef struct lr_sq_defer lr_sq_defer;

enum lr_sq_stmt {
#define LR_SQ_ENUM(name, sql) SQ_##name,
    LR_STORE_STMT_MAP(LR_SQ_ENUM)
#undef LR_SQ_ENUM
    SQ__COUNT
};

/* A few short names a handle remembers it has written a row for (the
 * sources of the open block, the channels with a mark), so that the next
 * lead or delivery of one skips the statement. */
typedef struct lr_sq_names {
    char v[8][64];
    size_t n;
} lr_sq_names;
/* True when NAME is among M's. */
bool lr_sq_names_has(const lr_sq_names *m, const char *name);
/* Adds NAME to M (a name too long is not kept; a full M gives up its last). */
void lr_sq_names_add(lr_sq_names *m, const char *name);

struct lr_store {
    sqlite3 *db;                    /* owned; NOMUTEX: one thread at a time */
    sqlite3_stmt *st[SQ__COUNT];    /* owned; prepared at open */
    int64_t last_event;             /* seq of this handle's last append, 0 before any */
    struct lr_sq_seqslot *seqs;     /* owned: the seqs of leads added (sqlite.c), or NULL */
    struct lr_sq_agents *agents;    /* owned: open lists of agents' leads (agent_lists.c), or NULL */
    int64_t source_open;            /* 1 + the block whose source rows this handle keeps
                                       open; 0: not known (source_lists.c) */
    lr_sq_names source_seen;        /* sources whose row of that block this
                                       handle made sure of */
    lr_sq_names channel_marked;     /* channels known to have an outbox_marks
                                       row (deliveries.c) */
    int64_t time_open;              /* 1 + the block whose range of received_at
                                       the handle keeps; 0: none (lead_times.c) */
    bool time_whole;                /* it has seen that block's every lead */
    lr_time time_lo, time_hi;       /* their lowest and highest (LR_TIME_NONE: none) */
    bool replaying;                 /* inside lr_store_replay: writes refused */
    char err[256];                  /* message of the last failure */
    bool locked;                    /* the last failure was SQLITE_BUSY (lr_store_locked) */
    struct ZSTD_CCtx_s *zc;         /* owned, made at the first use (decision_pack.c) */
    struct ZSTD_DCtx_s *zd;         /* owned, likewise */
    lr_buf pack;                    /* a packed decision, until its INSERT ran */
    lr_buf unpacked;                /* a delivery's decision, until its callback ran */
    struct lr_sq_defer *defer;      /* owned: deferred writes (defer.c), NULL when off */
    int claim_fd;                   /* the writer's lock (lr_store_claim), or -1 */
};

/* Records the handle's current SQLite error message and maps SQLite code
 * SRC to an LR_ code: duplicate key -> LR_EEXIST, other constraint ->
 * LR_EINVAL, out of memory -> LR_ENOMEM, anything else -> LR_EIO. */
int lr_sq_fail(lr_store *s, int src);

/* Ends the use of ST: resets it and clears its bindings. SRC is the last
 * sqlite3_step (or bind) result: SQLITE_DONE, SQLITE_ROW and SQLITE_OK give
 * LR_OK, anything else is mapped by lr_sq_fail(). */
int lr_sq_finish(lr_store *s, sqlite3_stmt *st, int src);

/* Steps ST once, expecting it to finish (an INSERT, UPDATE or transaction
 * statement whose bindings all succeeded when BRC is SQLITE_OK), then
 * resets it. Returns LR_OK or the mapped error. */
int lr_sq_run(lr_store *s, sqlite3_stmt *st, int brc);

/* Binds a lead listing's filters of Q on ST: ?1 agent, ?2 state, ?3
 * source, ?4 since, ?8 until (LR_SQ_LIST_FILTERS; queries.c). An SQLite code. */
int lr_sq_bind_list_filters(sqlite3_stmt *st, const lr_lead_query *q);

/* Parses an opaque page cursor (a positive decimal row id; NULL: from the
 * start, 0) into *out. LR_EINVAL for anything else. */
int lr_sq_parse_cursor(const char *c, int64_t *out);

/* The name of the VFS that writes a transaction's WAL frames in one go
 * (walbuf.c), registered on first use; NULL if it could not be: then
 * SQLite's default. */
const char *lr_sq_walbuf_vfs(void);

/* True when NAME is one of lead_rt.h's lead state names. */
bool lr_sq_known_state(const char *name);

/* Binds NUL-terminated S (NULL binds NULL) / S of LEN bytes, SQLITE_STATIC. */
int lr_sq_bind_str(sqlite3_stmt *st, int i, const char *s);
int lr_sq_bind_text(sqlite3_stmt *st, int i, const char *s, size_t len);
/* Binds T, or NULL for LR_TIME_NONE. */
int lr_sq_bind_time(sqlite3_stmt *st, int i, lr_time t);

/* ---- agent_lists.c: an agent's leads, block by block ------------------------ */

/* Registers SQL aggregate lr_agent_offsets() on DB. An SQLite code. */
int lr_sq_agent_register(sqlite3 *db);
/* Before lead SEQ is stored with AGENT: puts it in AGENT's list. */
int lr_sq_agent_lead(lr_store *s, const char *agent, int64_t seq);
/* A lead's agent changes: before its row does, lr_sq_agent_gain() puts
 * lead SEQ in the new AGENT's list; after, lr_sq_agent_lose() takes it
 * from the old one's. */
int lr_sq_agent_gain(lr_store *s, const char *agent, int64_t seq);
int lr_sq_agent_lose(lr_store *s, const char *agent, int64_t seq);
/* Frees the open lists (at a rollback, at close). */
void lr_sq_agents_forget(lr_store *s);
/* Marks them for a reload before the next write, freeing nothing (after
 * a failed statement, while callers may hold them). */
void lr_sq_agents_distrust(lr_store *s);
/* Calls FN with each lead of KEY's blocks (ROWS: a statement giving
 * (block, seqs) rows of a per-block list table, ?1 the key, ?2 the first
 * block; TABLE its name, for messages), Q's filters applied, with a seq
 * after AFTER, in seq order, WANT at most; FN's statement has the
 * LR_SQ_LIST_COLS columns. Stops at FN's first non-zero return, which it
 * returns. lr_sq_agent_walk: Q->agent's leads through lead_agent_blocks. */
typedef int (*lr_sq_row_fn)(sqlite3_stmt *st, void *ud);
int lr_sq_blocks_walk(lr_store *s, int rows, const char *table, const char *key,
                      const lr_lead_query *q, int64_t after, int want, lr_sq_row_fn fn, void *ud);
/* Calls FN for the leads of seqs FIRST..LAST after AFTER that pass Q's
 * filters, in order, until *GOT (counted up) reaches WANT; FN's non-zero
 * return stops and is returned. */
int lr_sq_range_walk(lr_store *s, const lr_lead_query *q, int64_t after, int64_t first,
                     int64_t last, int want, int *got, lr_sq_row_fn fn, void *ud);
int lr_sq_agent_walk(lr_store *s, const lr_lead_query *q, int64_t after, int want,
                     lr_sq_row_fn fn, void *ud);

/* ---- source_lists.c: a source's leads by block ------------------------- */

/* Before lead SEQ with SOURCE is inserted: its source's open row for SEQ's
 * block, after the rows of older blocks are closed. */
int lr_sq_source_lead(lr_store *s, const char *source, int64_t seq);
/* Forgets what the handle knew of the open rows (a rollback, a failure). */
void lr_sq_sources_forget(lr_store *s);

/* ---- lead_times.c: each block's range of received_at ------------------- */

/* After lead SEQ, received at RECEIVED (LR_TIME_NONE: none), is inserted:
 * the ranges of the blocks before SEQ's, once a lead passes into it. */
int lr_sq_time_lead(lr_store *s, int64_t seq, lr_time received);
/* Forgets the open block's range (a rollback, a failure). */
void lr_sq_times_forget(lr_store *s);
/* Calls FN, in seq order, for the leads after seq AFTER that pass Q's
 * filters, at most WANT, reading only the blocks whose range of
 * received_at reaches into Q's window and the newest leads. A non-zero
 * return of FN stops the walk and is returned. */
int lr_sq_time_walk(lr_store *s, const lr_lead_query *q, int64_t after, int want,
                    lr_sq_row_fn fn, void *ud);

/* ---- decision_pack.c: a decision's "why" stored compact ------------------ */
typedef struct lr_sq_packed {
    const char *body;               /* decisions.body */
    size_t len;
    const void *why;                /* decisions.why, NULL: none */
    size_t wlen;
} lr_sq_packed;

/* ---- the writes themselves ---------------------------------------------------
 *
 * What lr_store_begin(), _commit(), _append_event(), _add_lead(),
 * _add_decision(), _set_lead_state() and _add_delivery() do on the
 * handle, called by them or, with deferred writes on, by defer.c's thread
 * in the order they were called. ID > 0 is the row id to give the new row
 * (0: SQLite's next); *OUT (may be NULL) gets the row id. */
int lr_sq_begin(lr_store *s);
int lr_sq_commit(lr_store *s);
int lr_sq_append_event(lr_store *s, int64_t seq, lr_time at, const char *type,
                       const char *lead, const char *json, size_t len);
int lr_sq_add_lead(lr_store *s, const char *id, const char *source, lr_time received,
                   const char *body, size_t len, const unsigned char hash[32],
                   const char *state, const char *agent);
int lr_sq_insert_decision(lr_store *s, int64_t id, int64_t seq, lr_time at, const char *lead,
                          const char *action, const char *agent, const lr_sq_packed *pk,
                          int64_t *out);
int lr_sq_set_lead_state(lr_store *s, const char *id, const char *state, const char *agent);
int lr_sq_add_delivery(lr_store *s, int64_t did, int64_t decision, lr_time at, int64_t after_ms,
                       const char *lead, const char *action, const char *agent,
                       const char *channel, const char *recipient, const char *status,
                       const char *error, bool brief, int64_t *id);

/* ---- defer.c: the same writes queued for the store's own thread ------------
 *
 * Each copies what it needs from its arguments into the queue and returns
 * at once: LR_OK, or LR_ENOMEM with nothing queued. A decision's and a
 * delivery's row ids are given out here, in order (*ID), from the
 * highest in the table when deferral began. */
int lr_sq_defer_begin(lr_store *s);
int lr_sq_defer_commit(lr_store *s, lr_store_after_fn fn, void *ud, uint64_t arg);
int lr_sq_defer_event(lr_store *s, int64_t seq, lr_time at, const char *type, const char *lead,
                      const char *json, size_t len);
int lr_sq_defer_lead(lr_store *s, const char *id, const char *source, lr_time received,
                     const char *body, size_t len, const unsigned char hash[32],
                     const char *state, const char *agent);
int lr_sq_defer_decision(lr_store *s, int64_t seq, lr_time at, const char *lead,
                         const char *action, const char *agent, const lr_sq_packed *pk,
                         int64_t *id);
int lr_sq_defer_state(lr_store *s, const char *id, const char *state, const char *agent);
int lr_sq_defer_delivery(lr_store *s, int64_t decision, lr_time at, int64_t after_ms,
                         const char *lead, const char *action, const char *agent,
                         const char *channel, const char *recipient, const char *status,
                         const char *error, bool brief, int64_t *id);

/* Waits until the store's thread has run every queued write and is idle:
 * the handle is then the caller's until its next deferred write. Every
 * other function of the store calls it first. No-op when deferral is off. */
void lr_sq_defer_wait(lr_store *s);
static inline void lr_sq_defer_drain(lr_store *s) {
    if (s->defer) lr_sq_defer_wait(s);
}

/* Splits decision JSON (decision.h, "why" last) into the columns to
 * store: borrowed from JSON when nothing is packed, else from s->pack
 * (valid until the next call). D, when not NULL, is the decision JSON was
 * written from: its why is stored in the compact form, else compressed.
 * LR_OK, LR_ENOMEM or LR_EIO. */
int lr_sq_pack_decision(lr_store *s, const char *json, size_t len, const lr_decision *d,
                        lr_sq_packed *out);

/* Appends to OUT the decision JSON of row ST, whose column COL is the body
 * and COL + 1 the why; BRIEF: its brief form (decision.h). A NULL body
 * appends null. LR_OK, LR_ENOMEM, or LR_EDAMAGED for a damaged why, or
 * (BRIEF) a body that is not a JSON object (message in s->err; OUT
 * unchanged). */
int lr_sq_unpack_decision(lr_store *s, sqlite3_stmt *st, int col, bool brief, lr_buf *out);

/* Frees the compression contexts and buffers. */
void lr_sq_pack_release(lr_store *s);

/* ---- json_writer.c: JSON on a caller's buffer with a sticky error ---------
 * After the first failed append nothing more is written, and jw_end()
 * truncates the buffer back to where the writer started. */
typedef struct jw {
    lr_buf *b;
    size_t start;
    int rc;
} jw;

void jw_raw(jw *w, const char *p, size_t n);
void jw_lit(jw *w, const char *s);
void jw_str(jw *w, const char *s);              /* a JSON string, or null for NULL */
void jw_i64(jw *w, int64_t v);
void jw_col_str(jw *w, sqlite3_stmt *st, int col);      /* column as a string or null */
void jw_col_time(jw *w, sqlite3_stmt *st, int col);     /* ms column as RFC 3339 or null */
void jw_col_json(jw *w, sqlite3_stmt *st, int col);     /* stored JSON as it is, or null */
/* Ends a page of a listing: `],"next_cursor":"LAST"` when MORE follow,
 * else null; then `"end_cursor":"LAST"`, or AFTER (the request's
 * position) on an empty page, null when that is the start. */
void jw_page_end(jw *w, bool more, int64_t last, int64_t after);
/* Returns RC, or the writer's error when RC is LR_OK; on failure the
 * buffer is cut back to where the writer started. */
int jw_end(jw *w, int rc);

#endif
