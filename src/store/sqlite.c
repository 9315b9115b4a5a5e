/* sqlite.c -- the store on SQLite (store.h): opening and migrating the
 * database, transactions, the journal and the projection writes. The JSON
 * read side is in queries.c; the statements in sqlite_impl.h.
 *
 * Connection: one sqlite3 handle per lr_store, opened NOMUTEX (the handle
 * is used by one thread at a time), WAL journal (readers on other handles
 * never block the writer), synchronous FULL / NORMAL / OFF from the sync
 * argument, foreign_keys on, a 5 s busy wait (busy_wait()), extended result codes, a 16
 * MiB page cache (room for the hot index pages of a few million leads;
 * measured: 64 MiB made each commit slower, SQLite's cache bookkeeping per
 * transaction grows with the cache, and bought no fewer writes), 16 KiB
 * pages in a new store (configure(): `route --db` ~15% faster; over HTTP
 * the same leads/s as 4 KiB and a lower p99; an older store keeps its
 * 4 KiB), and a
 * checkpoint every ~40 MiB of WAL rather than SQLite's 1000 pages:
 * the id index's pages are dirtied again and again, and a longer WAL
 * copies each of them to the database once per checkpoint, not once per
 * 4 MiB (measured +15-25% leads/s with random ids). The price: the commit
 * that triggers a checkpoint waits for it (with FULL, a write and fsync
 * of up to 40 MiB to the database file).
 *
 * Schema, version 18 (PRAGMA user_version; MIGRATIONS[] below moves a file
 * from each version to the next, one transaction per step):
 *
 *   events(seq INTEGER PRIMARY KEY, at, type, lead, body)
 *       the journal; body is the event as applied. Index events_progress
 *       on (lead, seq) WHERE type = 'progress': only progress events are
 *       ever looked up by lead, and a partial index spares every lead event
 *       an index insert.
 *   decisions(id INTEGER PRIMARY KEY, seq, at, lead, lead_seq, action,
 *             agent, body, why)
 *       one row per decision, body its decision.h JSON, or that JSON
 *       without its "why" when why holds the "why" compressed
 *       (decision_pack.c: nine tenths of a lead's bytes); lead_seq is the seq
 *       of the lead's row (NULL when no such lead was stored: a decision
 *       about an unknown id). One index, on (lead_seq) -- with the rowid:
 *       (lead_seq, id); the decisions a lead's own event made (its
 *       replayed answer) are those with lead_seq = seq = the lead's seq
 *       (an index on seq, dropped in version 6, cost every decision an
 *       insert for that one read). A lead's decisions are found by its
 *       seq, not its id: new leads' seqs grow, so that index is written at
 *       its end, where an index on the id text (often random) dirties one
 *       random page per decision. For the same reason there is no index on
 *       agent (one insertion point per agent). With the partial indexes
 *       below this took the writer from 15-18k to 26-34k leads/s with
 *       random (UUID) lead ids, 35-39k to 54-58k with sequential ones
 *       (sync OFF, CPU time, 4 writes a lead, 100 leads a transaction).
 *   leads(seq INTEGER PRIMARY KEY, id TEXT UNIQUE, received_at, source,
 *         state DEFAULT 'new', agent, hash BLOB, body)
 *       one row per lead. The creating event's seq is the rowid: leads are
 *       stored in arrival order, listing pages walk the table (or the
 *       state index, ending in the rowid; or an agent's or a source's
 *       blocks, below) by seq with no sort, and one event creates at most one lead (a second lead on
 *       the same seq is LR_EEXIST). No index on agent (version 8 dropped
 *       it): every lead entered it in its agent's part, a leaf of its own
 *       for nearly every lead of a commit, which was half of the server's
 *       COMMIT at 64 connections; lead_agent_blocks below stands for it.
 *   lead_agent_blocks(agent, block, seqs, PRIMARY KEY (agent, block)) WITHOUT ROWID
 *       the blocks of 2^12 seqs (seq >> 12) in which the agent has, or
 *       had, a lead, each with the list of that agent's leads in it (seqs,
 *       NULL while the writer holds it in memory; agent_lists.c). A
 *       listing by agent walks the agent's blocks in order and looks up
 *       each lead of a list by its seq. A lead given to an agent that has
 *       one in the same block writes nothing; the list is written when
 *       the agent's first lead in a later block is, next to it: about two
 *       writes per agent per 4,096 events instead of one per lead. In
 *       `bench/run-server` at 64 connections, against the index:
 *       COMMIT 0.35-0.38 ms -> 0.16-0.18 ms, p99 12-15 ms -> 9.5-10.2 ms,
 *       12,038-13,768 -> 14,740-16,306 leads/s (2026-11-29, version 8,
 *       which had no lists and read every block's rows: 88 ms for a
 *       50-lead page of a sparse agent; bench/bench_list_agent.c). A
 *       partial index, lead_agent_blocks_open (block) over the rows whose
 *       list is NULL, finds what a writer left open.
 *   lead_source_blocks(source, block, seqs, PRIMARY KEY (source, block)) WITHOUT ROWID
 *       as lead_agent_blocks, per source, instead of an index on
 *       leads(source) (dropped in version 11): each lead entered that
 *       index in its source's part, ~1.4 of a commit's 17 pages at 64
 *       connections. A lead's source never changes and leads arrive in
 *       the newest block only, so the writer needs no lists in memory
 *       (source_lists.c): it inserts a source's open row (seqs NULL) with
 *       its first lead of a block, and when a lead with a source falls in
 *       a later block (or after a rollback or a failure, not knowing where
 *       it stood), it closes every open row below it, each block's lists
 *       made from one read of its rows (SOURCE_CLOSE). A listing by
 *       source walks its rows as one by agent does (lr_sq_blocks_walk). A
 *       partial index, lead_source_blocks_open (block) over the open
 *       rows, finds them.
 *   lead_time_blocks(block INTEGER PRIMARY KEY, lo, hi)
 *       each full block's lowest and highest received_at (a block whose
 *       leads have none has no row): GET /v1/stats with a window reads the
 *       leads of the blocks that reach into it and of the blocks above the
 *       highest row, not every lead (lead_times.c; version 20). One row
 *       per 4,096 events, from what the writer saw, or one read of the
 *       block's rows after an open or a rollback; no index on received_at,
 *       which each lead would enter.
 *   deliveries(id INTEGER PRIMARY KEY, decision, lead, action, agent,
 *              channel, recipient, status, attempts, created_at,
 *              window_from, next_at, updated_at, delivered_at,
 *              last_status, last_error, cond, brief, replays, due_at)
 *       the outbox (deliveries.c): one row per notification of a decision,
 *       written with it; brief: its decision is sent without why's
 *       candidates (a webhook's `why: brief` when it was made, so that a
 *       config change does not change the body between attempts). A
 *       delivery is "fresh" from its insert until its first outcome or a
 *       replay sets updated_at; a conditional one (cond, notify `after`)
 *       never is. One partial index, deliveries_due (channel, next_at),
 *       over the open rows that are not fresh (retrying, replayed,
 *       conditional): the dispatcher's poll. A fresh one is found by id
 *       instead: it is due at once and ids grow with time, so the
 *       dispatcher scans the ids above a cursor per channel, in the pages
 *       the writer has just written (until version 9 every delivery went
 *       through the index: an entry inserted with its decision's commit,
 *       removed with its outcome's; with a webhook on every decision, 19.1
 *       pages a commit then, 17.2 now: docs/benchmarks.md). No index on
 *       status: each outcome would move an entry in it; but a partial
 *       one, deliveries_stopped (status, id), over the dead and cancelled
 *       rows (few: a delivery enters it when it is given up), so that listing them
 *       does not walk every delivered row (version 18). The pending and
 *       retrying ones are listed from the channels' marks (below) and,
 *       below the lowest mark, from a third partial index over the same
 *       rows as deliveries_due, deliveries_queued (status, id), which
 *       gives them in id order (version 19): a delivery that is sent at
 *       its first attempt enters neither.
 *   outbox_marks(channel TEXT PRIMARY KEY, fresh_from)
 *       per channel, an id at or below its lowest fresh delivery not yet
 *       settled: where the dispatcher's scan starts after a restart
 *       (written by the writer with outcomes), and where a listing of
 *       pending deliveries starts reading by id. Since version 19 a
 *       channel has one from its first delivery on (the id of that one).
 *   engine_marks(name TEXT PRIMARY KEY, seq)
 *       how to replay the journal from a seq on: rotations_kept_from, the
 *       first seq whose config changes keep rotation positions (the seq
 *       after the last one when the store was upgraded to version 12; 1
 *       for a store made since); queue_dispatch_from, the first seq whose
 *       fallback-queued leads go out at once to a ready member (engine.h
 *       LR_LEGACY_QUEUE_WAITS before it; set by version 13 likewise);
 *       zone_windows_from, the first seq whose config changes carry an
 *       agent's cap windows into its new time zone (engine.h
 *       LR_RECONF_ZONE_WINDOWS; set by version 14 likewise);
 *       tier_clock_from, the first seq whose events count escalate_after
 *       from the lead's entry into its tier and send a broadcast declined
 *       by all to its rule's fallback (engine.h LR_LEGACY_TIER_CLOCK
 *       before it; set by version 14 likewise);
 *       pull_order_from, the first seq whose claims without a lead id take,
 *       of the best lead of each queue order, the one that arrived first
 *       (engine.h LR_LEGACY_PULL_ORDER before it; set by version 15
 *       likewise); no_answer_from, the first seq whose expired broadcasts
 *       count for no agent's max_no_answer and whose declines start the
 *       counts again (LR_LEGACY_NO_ANSWER before it; version 15 likewise);
 *       owner_index_from, the first seq whose config changes index the
 *       open leads for an owner rule they bring in (engine.h
 *       LR_RECONF_OWNER_INDEX; version 15 likewise); timer_order_from,
 *       the first seq whose timers of one instant fire agents' first
 *       (LR_LEGACY_TIMER_ORDER before it; version 15 likewise);
 *       mode_change_from, the first seq whose config changes route again
 *       the leads waiting under a rule whose strategy now works another
 *       way (LR_RECONF_MODE_CHANGE; version 15 likewise);
 *       zone_offers_from, the first seq whose config changes let an offer
 *       made before an agent's new time zone be taken back from its
 *       carried counts (LR_RECONF_ZONE_OFFERS; version 15 likewise);
 *       reroute_order_from, the first seq whose config changes route
 *       again the leads that lost their place in arrival order with the
 *       waiting ones (LR_RECONF_REROUTE_ORDER; version 16 likewise);
 *       decline_answer_from, the first seq whose declines of an assigned
 *       lead start the agent's max_no_answer counts again
 *       (LR_LEGACY_DECLINE_ANSWER before it; version 17 likewise);
 *       catch_up_order_from, the first seq whose catch-up ticks fire the
 *       leads' past deadlines before the waiting leads go out
 *       (LR_LEGACY_CATCH_UP_ORDER before it; version 21 likewise);
 *       catch_up_answer_from, the first seq whose catch-up ticks count
 *       the offers that expired meanwhile for no max_no_answer
 *       (LR_LEGACY_CATCH_UP_ANSWER before it; version 22 likewise);
 *       agents_kept_from, the first seq whose config changes keep a
 *       removed agent's counters, windows and declines for its return
 *       (LR_RECONF_KEEP_GONE; version 21 likewise);
 *       seed, the --seed of the store's first start (not a seq: the
 *       random strategies replay with it).
 *   idem(key TEXT PRIMARY KEY, hash, status, body, created)
 *       an Idempotency-Key's request hash and answer; created (ms; the
 *       migration's time for keys stored before version 14) is what
 *       lr_store_idem_prune goes by (index idem_created)
 *   keys(id TEXT PRIMARY KEY, hash BLOB UNIQUE, role, agent, created)
 *
 * There are no foreign keys between the tables: the journal is the source
 * of truth and the writer keeps the projections consistent with it in the
 * same transaction; a foreign key check would cost a lookup per row.
 * The one remaining random write per lead is the id's entry in leads' UNIQUE
 * index (needed by lr_store_find_lead): with random ids it is about half
 * of the writer's cost (see above), with time-ordered ids nearly nothing.
 *
 * Invariants: every statement is reset and cleared when the function that
 * stepped it returns; out-parameters are written only on LR_OK; on LR_EIO
 * (and every other SQLite failure) s->err holds sqlite3_errmsg().
 */
#include "sqlite_impl.h"

#include "core/lead_rt.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SCHEMA_VERSION 22
#define LR_SQ_APPLICATION_ID 1280468082              /* 0x4C526472, "LRdr": PRAGMA application_id */
#define LR_SQ_STR_(x) #x
#define LR_SQ_STR(x) LR_SQ_STR_(x)
#define WAL_CHECKPOINT_BYTES (40 * 1024 * 1024)  /* the writer checkpoints past this */
/* PRAGMA journal_size_limit, in pages: when the WAL starts over, SQLite
 * cuts its file back to this size at the next commit. More than the WAL
 * reaches between two restarts (the checkpointer's RESTART_AT, 10,240
 * pages), so a WAL that starts over as usual is overwritten in place;
 * one that a reader's snapshot let grow past it (2.1 GB measured after a
 * 50 s read under load) shrinks once the reader is done, instead of
 * keeping its largest size until the server stops. */
#define WAL_KEEP_PAGES 16384
#define LR_SQ_PAGE_SIZE "16384"                  /* of a new store (configure()) */

/* MIGRATIONS[v] takes a database from user_version v to v + 1. */
static const char *const MIGRATIONS[SCHEMA_VERSION] = {
    /* 0 -> 1: the first schema */
    "CREATE TABLE events("
    "  seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, type TEXT NOT NULL,"
    "  lead TEXT, body TEXT NOT NULL);"
    "CREATE INDEX events_progress ON events(lead, seq) WHERE type = 'progress';"
    "CREATE TABLE decisions("
    "  id INTEGER PRIMARY KEY, seq INTEGER NOT NULL, at INTEGER NOT NULL, lead TEXT,"
    "  lead_seq INTEGER, action TEXT NOT NULL, agent TEXT, body TEXT NOT NULL);"
    "CREATE INDEX decisions_lead ON decisions(lead_seq);"
    "CREATE INDEX decisions_seq ON decisions(seq);"
    "CREATE TABLE leads("
    "  seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, received_at INTEGER,"
    "  source TEXT, state TEXT NOT NULL DEFAULT 'new', agent TEXT,"
    "  hash BLOB NOT NULL, body TEXT NOT NULL);"
    "CREATE INDEX leads_agent ON leads(agent) WHERE agent IS NOT NULL;"
    "CREATE INDEX leads_state ON leads(state);"
    "CREATE INDEX leads_source ON leads(source);"
    "CREATE TABLE idem("
    "  key TEXT PRIMARY KEY, hash BLOB NOT NULL, status INTEGER NOT NULL,"
    "  body TEXT NOT NULL);"
    "CREATE TABLE keys("
    "  id TEXT PRIMARY KEY, hash BLOB NOT NULL UNIQUE, role TEXT NOT NULL,"
    "  agent TEXT, created INTEGER);",
    /* 1 -> 2: the outbox of deliveries (src/store/deliveries.c) */
    "CREATE TABLE deliveries("
    "  id INTEGER PRIMARY KEY, decision INTEGER NOT NULL, lead TEXT, action TEXT NOT NULL,"
    "  agent TEXT, channel TEXT NOT NULL, recipient TEXT, status TEXT NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL,"
    "  window_from INTEGER NOT NULL, next_at INTEGER NOT NULL, updated_at INTEGER,"
    "  delivered_at INTEGER, last_status INTEGER, last_error TEXT);"
    "CREATE INDEX deliveries_due ON deliveries(channel, next_at)"
    "  WHERE status IN ('pending', 'retrying');"
    "CREATE INDEX deliveries_status ON deliveries(status);",
    /* 2 -> 3: conditional deliveries (notify `after`) */
    "ALTER TABLE deliveries ADD COLUMN cond INTEGER NOT NULL DEFAULT 0;",
    /* 3 -> 4: no index on status (every outcome moved an entry in it; the
     * counts are read once at start, listings walk the ids) */
    "DROP INDEX IF EXISTS deliveries_status;",
    /* 4 -> 5: a decision's "why" compressed (decision_pack.c); older rows
     * keep it in body, with why NULL */
    "ALTER TABLE decisions ADD COLUMN why BLOB;",
    /* 5 -> 6: no index on decisions(seq): an event's decisions are read
     * only for a lead's replayed answer, found by the lead's seq */
    "DROP INDEX IF EXISTS decisions_seq;",
    /* 6 -> 7: a webhook delivery's decision sent brief (the channel's
     * `why` when the delivery was made; older rows were sent whole) */
    "ALTER TABLE deliveries ADD COLUMN brief INTEGER NOT NULL DEFAULT 0;",
    /* 7 -> 8: the blocks of seqs where an agent has leads, instead of an
     * index entry per lead (see the schema above) */
    "CREATE TABLE IF NOT EXISTS lead_agent_blocks(agent TEXT NOT NULL, block INTEGER NOT NULL,"
    "  PRIMARY KEY (agent, block)) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO lead_agent_blocks(agent, block)"
    "  SELECT agent, seq >> " LR_SQ_AGENT_BLOCK_BITS " FROM leads WHERE agent IS NOT NULL;"
    "DROP INDEX IF EXISTS leads_agent;",
    /* 8 -> 9: each block's list of the agent's leads (agent_lists.c); the
     * newest block's lists stay open, for the writer to read back */
    "ALTER TABLE lead_agent_blocks ADD COLUMN seqs BLOB;"
    "CREATE INDEX lead_agent_blocks_open ON lead_agent_blocks(block) WHERE seqs IS NULL;"
    "INSERT INTO lead_agent_blocks(agent, block, seqs)"
    "  SELECT agent, seq >> " LR_SQ_AGENT_BLOCK_BITS ", lr_agent_offsets(seq) FROM leads"
    "  WHERE agent IS NOT NULL AND seq >> " LR_SQ_AGENT_BLOCK_BITS
    "    < (SELECT coalesce(max(seq), 0) FROM leads) >> " LR_SQ_AGENT_BLOCK_BITS
    "  GROUP BY 1, 2 ON CONFLICT (agent, block) DO UPDATE SET seqs = excluded.seqs;"
    "UPDATE lead_agent_blocks SET seqs = x'' WHERE seqs IS NULL"
    "  AND block < (SELECT coalesce(max(seq), 0) FROM leads) >> " LR_SQ_AGENT_BLOCK_BITS ";",
    /* 9 -> 10: fresh deliveries (never attempted) out of the due index; the
     * dispatcher finds them by id from a stored mark per channel */
    "DROP INDEX IF EXISTS deliveries_due;"
    "CREATE INDEX deliveries_due ON deliveries(channel, next_at) WHERE " LR_SQ_DLV_QUEUED ";"
    "CREATE TABLE IF NOT EXISTS outbox_marks(channel TEXT PRIMARY KEY, fresh_from INTEGER NOT NULL)"
    "  WITHOUT ROWID;",
    /* 10 -> 11: the blocks of seqs where a source has leads, instead of an
     * index entry per lead (see the schema above) */
    "CREATE TABLE IF NOT EXISTS lead_source_blocks(source TEXT NOT NULL, block INTEGER NOT NULL,"
    "  seqs BLOB, PRIMARY KEY (source, block)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS lead_source_blocks_open ON lead_source_blocks(block)"
    "  WHERE seqs IS NULL;"
    "INSERT INTO lead_source_blocks(source, block, seqs)"
    "  SELECT source, seq >> " LR_SQ_AGENT_BLOCK_BITS ", lr_agent_offsets(seq) FROM leads"
    "  WHERE source IS NOT NULL GROUP BY 1, 2"
    "  ON CONFLICT (source, block) DO UPDATE SET seqs = excluded.seqs;"
    "UPDATE lead_source_blocks SET seqs = NULL"
    "  WHERE block = (SELECT coalesce(max(seq), 0) FROM leads) >> " LR_SQ_AGENT_BLOCK_BITS ";"
    "DROP INDEX IF EXISTS leads_source;",
    /* 11 -> 12: the journal's first seq whose config changes keep rotation
     * positions (engine.h LR_RECONF_CARRY); older ones replay as made */
    "CREATE TABLE IF NOT EXISTS engine_marks(name TEXT PRIMARY KEY, seq INTEGER NOT NULL)"
    "  WITHOUT ROWID;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'rotations_kept_from', coalesce(max(seq), 0) + 1 FROM events;",
    /* 12 -> 13: how often each delivery was replayed: an attempt's outcome
     * counts only while the row has the replays its attempt read */
    "ALTER TABLE deliveries ADD COLUMN replays INTEGER NOT NULL DEFAULT 0;"
    /* a conditional one's due time: only its lead's decisions before it
     * cancel it (one not attempted is due at next_at, its replay's time if
     * it was replayed; one attempted passed the check then) */
    "ALTER TABLE deliveries ADD COLUMN due_at INTEGER;"
    "UPDATE deliveries SET due_at = CASE WHEN attempts = 0 THEN next_at ELSE created_at END"
    "  WHERE cond;"
    /* the file is marked as a leadrouter store (check_ours()) */
    "PRAGMA application_id = " LR_SQ_STR(LR_SQ_APPLICATION_ID) ";"
    /* and older journals replay queued leads as they waited then */
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'queue_dispatch_from', coalesce(max(seq), 0) + 1 FROM events;",
    /* 13 -> 14: older journals replay an agent's change of time zone as it
     * was made then (its cap windows read in the new zone), and tiers'
     * escalations and broadcasts declined by all as they were made */
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'zone_windows_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'tier_clock_from', coalesce(max(seq), 0) + 1 FROM events;"
    /* idempotency keys are kept for a while, not for ever: a key's time */
    "ALTER TABLE idem ADD COLUMN created INTEGER;"
    "UPDATE idem SET created = CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER);"
    "CREATE INDEX idem_created ON idem(created);",
    /* 14 -> 15: older journals replay claims without a lead id across
     * pools of different orders, and max_no_answer, as they were made */
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'pull_order_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'no_answer_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'owner_index_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'timer_order_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'mode_change_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'zone_offers_from', coalesce(max(seq), 0) + 1 FROM events;",
    /* 15 -> 16: older journals replay the leads a config change routed
     * again before the waiting ones, as they were made */
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'reroute_order_from', coalesce(max(seq), 0) + 1 FROM events;",
    /* 16 -> 17: older journals replay declines of assigned leads as made
     * (no max_no_answer count started again) */
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'decline_answer_from', coalesce(max(seq), 0) + 1 FROM events;",
    /* 17 -> 18: the dead and cancelled deliveries listed without a walk
     * through the delivered ones */
    "CREATE INDEX IF NOT EXISTS deliveries_stopped ON deliveries(status, id)"
    "  WHERE " LR_SQ_DLV_STOPPED ";",
    /* 18 -> 19: every channel with a fresh delivery has a mark at or below
     * it (the pending ones are listed from the lowest mark up), and the
     * queued ones are found by status and id */
    "CREATE INDEX IF NOT EXISTS deliveries_queued ON deliveries(status, id)"
    "  WHERE " LR_SQ_DLV_QUEUED ";"
    "INSERT INTO outbox_marks(channel, fresh_from)"
    "  SELECT channel, min(id) FROM deliveries WHERE " LR_SQ_DLV_FRESH " GROUP BY channel"
    "  ON CONFLICT (channel) DO UPDATE SET fresh_from = min(fresh_from, excluded.fresh_from);",
    /* 19 -> 20: each full block's range of received_at, so that a window's
     * statistics read only the blocks that reach into it (lead_times.c) */
    "CREATE TABLE IF NOT EXISTS lead_time_blocks(block INTEGER PRIMARY KEY, lo INTEGER NOT NULL,"
    "  hi INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO lead_time_blocks(block, lo, hi)"
    "  SELECT seq >> " LR_SQ_AGENT_BLOCK_BITS ", min(received_at), max(received_at) FROM leads"
    "  WHERE seq >> " LR_SQ_AGENT_BLOCK_BITS
    "    < (SELECT coalesce(max(seq), 0) FROM leads) >> " LR_SQ_AGENT_BLOCK_BITS
    "  AND received_at IS NOT NULL GROUP BY 1;",
    /* 20 -> 21: older journals replay a start's catch-up, and agents
     * removed by a config change then added back, as they were made */
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'catch_up_order_from', coalesce(max(seq), 0) + 1 FROM events;"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'agents_kept_from', coalesce(max(seq), 0) + 1 FROM events;",
    /* 21 -> 22: older journals replay the offers a catch-up found expired
     * as counted for max_no_answer. (A development build named one mark
     * catch_up_from for both catch-up changes: it stands for both.) */
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'catch_up_order_from', seq FROM engine_marks WHERE name = 'catch_up_from';"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'catch_up_answer_from', seq FROM engine_marks WHERE name = 'catch_up_from';"
    "DELETE FROM engine_marks WHERE name = 'catch_up_from';"
    "INSERT OR IGNORE INTO engine_marks(name, seq)"
    "  SELECT 'catch_up_answer_from', coalesce(max(seq), 0) + 1 FROM events;",
};

static const char *const STMT_SQL[SQ__COUNT] = {
#define LR_SQ_TEXT(name, sql) sql,
    LR_STORE_STMT_MAP(LR_SQ_TEXT)
#undef LR_SQ_TEXT
};

static const char *const SYNC_PRAGMA[] = {
    [LR_SYNC_FULL] = "PRAGMA synchronous=FULL",
    [LR_SYNC_NORMAL] = "PRAGMA synchronous=NORMAL",
    [LR_SYNC_OFF] = "PRAGMA synchronous=OFF",
};

/* ---- shared helpers (sqlite_impl.h) ----------------------------------- */

/* SQLite's message for SRC on DB, with what an operator does about it
 * when the cause is the file system: "disk I/O error" on a full disk is
 * not a failing disk. */
static void describe(sqlite3 *db, int src, char *err, size_t errlen) {
    const char *path = sqlite3_db_filename(db, "main");
    int sys = sqlite3_system_errno(db);
    if ((src & 0xff) == SQLITE_FULL || sys == ENOSPC || sys == EDQUOT)
        snprintf(err, errlen, "%s (no space left on the file system of %s)", sqlite3_errmsg(db),
                 path && path[0] ? path : "the store");
    else if ((src & 0xff) == SQLITE_READONLY)
        snprintf(err, errlen, "%s (%s, its -wal and its -shm must be writable by this user)",
                 sqlite3_errmsg(db), path && path[0] ? path : "the store");
    else
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
}

int lr_sq_fail(lr_store *s, int src) {
    describe(s->db, src, s->err, sizeof s->err);
    s->locked = (src & 0xff) == SQLITE_BUSY;
    /* SQLite may have rolled the transaction back on its own (an I/O
     * error, a full disk): what the handle remembers of it may be gone.
     * The agents' lists are only marked: a caller up the stack may hold
     * one (agent_lists.c) */
    free(s->seqs);
    s->seqs = NULL;
    lr_sq_sources_forget(s);
    lr_sq_agents_distrust(s);
    switch (src) {
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_ROWID:
        return LR_EEXIST;
    default:
        if ((src & 0xff) == SQLITE_NOMEM) return LR_ENOMEM;
        return (src & 0xff) == SQLITE_CONSTRAINT ? LR_EINVAL : LR_EIO;
    }
}

int lr_sq_finish(lr_store *s, sqlite3_stmt *st, int src) {
    int rc = src == SQLITE_DONE || src == SQLITE_ROW || src == SQLITE_OK ? LR_OK
                                                                        : lr_sq_fail(s, src);
    sqlite3_reset(st);              /* after the message was taken */
    sqlite3_clear_bindings(st);
    return rc;
}

int lr_sq_bind_str(sqlite3_stmt *st, int i, const char *s) {
    return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

int lr_sq_bind_text(sqlite3_stmt *st, int i, const char *s, size_t len) {
    return sqlite3_bind_text64(st, i, s, len, SQLITE_STATIC, SQLITE_UTF8);
}

int lr_sq_bind_time(sqlite3_stmt *st, int i, lr_time t) {
    return t == LR_TIME_NONE ? sqlite3_bind_null(st, i) : sqlite3_bind_int64(st, i, t);
}

int lr_sq_parse_cursor(const char *c, int64_t *out) {
    if (!c) { *out = 0; return LR_OK; }
    size_t n = strlen(c);
    if (n == 0 || n > 18 || c[0] == '0') return LR_EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (c[i] < '0' || c[i] > '9') return LR_EINVAL;
        v = v * 10 + (c[i] - '0');
    }
    *out = v;
    return LR_OK;
}

int lr_sq_run(lr_store *s, sqlite3_stmt *st, int brc) {
    int rc = brc == SQLITE_OK ? sqlite3_step(st) : brc;
    return lr_sq_finish(s, st, rc);
}

/* Writes are refused while a replay is iterating the journal (its callback
 * must not write through the handle it is being fed from). */
static int writable(lr_store *s) {
    if (!s->replaying) return LR_OK;
    snprintf(s->err, sizeof s->err, "store written during its own replay");
    return LR_ESTATE;
}

/* ---- the seqs of the leads added --------------------------------------------
 *
 * A lead's row is found by its seq (the table's rowid) in one search where
 * its id needs two (the index on ids, then the row): a lead's decisions
 * and state changes name it by id. So the handle remembers the seqs of
 * the leads it added, in SEQ_SLOTS slots by the id's hash (a newer lead
 * takes the slot of an older one, which is then found by its id), and
 * forgets them all at a rollback, which may have taken their rows away.
 * A committed lead keeps its seq and id for ever. In `make bench`, a
 * lead's progress comes a few thousand leads after it: the slots find
 * nearly all of them, and `route --db` took ~10% less time (2026-11-29). */
#define SEQ_SLOTS 32768             /* a power of two: 1.5 MiB */
#define SEQ_ID_MAX 40               /* longer ids are looked up by id */

struct lr_sq_seqslot {
    int64_t seq;                    /* 0: empty */
    char id[SEQ_ID_MAX];
};

static struct lr_sq_seqslot *seq_slot(const lr_store *s, const char *id, size_t n) {
    uint32_t h = 2166136261u;       /* FNV-1a */
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)id[i]) * 16777619u;
    return &s->seqs[h & (SEQ_SLOTS - 1)];
}

static void remember_seq(lr_store *s, const char *id, int64_t seq) {
    size_t n = strlen(id);
    if (n >= SEQ_ID_MAX) return;
    if (!s->seqs && !(s->seqs = calloc(SEQ_SLOTS, sizeof *s->seqs))) return;   /* only slower */
    struct lr_sq_seqslot *slot = seq_slot(s, id, n);
    slot->seq = seq;
    memcpy(slot->id, id, n + 1);
}

/* The seq of lead ID when remembered, else 0. */
static int64_t seq_of(const lr_store *s, const char *id) {
    if (!s->seqs || !id) return 0;
    size_t n = strlen(id);
    if (n >= SEQ_ID_MAX) return 0;
    const struct lr_sq_seqslot *slot = seq_slot(s, id, n);
    return slot->seq && memcmp(slot->id, id, n + 1) == 0 ? slot->seq : 0;
}

static void forget_seqs(lr_store *s) {
    free(s->seqs);
    s->seqs = NULL;
    lr_sq_sources_forget(s);
    lr_sq_agents_forget(s);
    s->channel_marked.n = 0;        /* their marks may be rolled back too */
    lr_sq_times_forget(s);
}

bool lr_sq_names_has(const lr_sq_names *m, const char *name) {
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i], name) == 0) return true;
    return false;
}

void lr_sq_names_add(lr_sq_names *m, const char *name) {
    size_t len = strlen(name), max = sizeof m->v / sizeof m->v[0];
    if (len >= sizeof m->v[0]) return;
    size_t k = m->n < max ? m->n : max - 1;
    memcpy(m->v[k], name, len + 1);
    if (k == m->n) m->n++;
}

/* ---- open, migrate, close ---------------------------------------------- */

/* Reads the integer answer of PRAGMA statement SQL into *out. Returns an
 * SQLite code. */
static int query_int(sqlite3 *db, const char *sql, int *out) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* SQLite's busy handler: another handle holds a lock we need (the
 * checkpointer's RESTART, which holds the writer's lock for a few ms, or
 * a second process). Retries every 100 us for the first 10 ms, then every
 * ms, for 5 s in all (sqlite3_busy_timeout sleeps 1, 2, 5, 10 ... ms, so
 * a 3 ms wait could cost 8), or UD retries when not NULL
 * (lr_store_busy_limit). */
static int busy_wait(void *ud, int n) {
    if (n >= (ud ? (int)(intptr_t)ud : 100 + 4990)) return 0;
    struct timespec ts = { 0, n < 100 ? 100000L : 1000000L };
    nanosleep(&ts, NULL);
    return 1;
}

/* Sets the connection's pragmas. WAL is required of a file database (an
 * in-memory one reports "memory" and is accepted). Returns an SQLite code.
 *
 * A new store gets 16 KiB pages (a store keeps the size it was made with):
 * `leadrouter route --db` over the 200,000 leads of `make bench` took
 * 3.2-3.7 s against 3.8-4.4 s with SQLite's 4 KiB (three rounds each,
 * 2026-11-29): fewer pages to split, find and write at each commit. The
 * server's figures did not move beyond the noise either way. */
static int configure(sqlite3 *db, lr_store_sync sync, bool *wal) {
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_exec(db, "PRAGMA page_size=" LR_SQ_PAGE_SIZE, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *mode = (const char *)sqlite3_column_text(st, 0);
        *wal = mode && (strcmp(mode, "wal") == 0 || strcmp(mode, "memory") == 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) return rc;
    if ((rc = sqlite3_exec(db, SYNC_PRAGMA[sync], NULL, NULL, NULL)) != SQLITE_OK) return rc;
    if ((rc = sqlite3_exec(db, "PRAGMA foreign_keys=ON; PRAGMA cache_size=-16384;"
                           " PRAGMA temp_store=MEMORY", NULL, NULL, NULL)) != SQLITE_OK)
        return rc;
    int page = 0;
    if ((rc = query_int(db, "PRAGMA page_size", &page)) != SQLITE_OK) return rc;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%d", WAL_CHECKPOINT_BYTES / (page > 0 ? page : 4096));
    if ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK) return rc;
    snprintf(sql, sizeof sql, "PRAGMA journal_size_limit=%lld",
             (long long)WAL_KEEP_PAGES * (page > 0 ? page : 4096));
    if ((rc = sqlite3_exec(db, sql, NULL, NULL, NULL)) != SQLITE_OK) return rc;
    return sqlite3_busy_handler(db, busy_wait, NULL);
}

/* Reads PRAGMA user_version into *out. Returns an SQLite code. */
static int user_version(sqlite3 *db, int *out) {
    return query_int(db, "PRAGMA user_version", out);
}

/* Brings the schema to SCHEMA_VERSION, one transaction per step. A step
 * re-reads the version under the write lock, so two processes opening a
 * new file migrate it once; an up-to-date file takes no lock at all.
 * Returns LR_OK, LR_EIO with ERR set, or LR_ESTATE for a file written by a
 * newer leadrouter. */
static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen) {
    int v = 0, rc = user_version(db, &v);
    while (rc == SQLITE_OK && v < SCHEMA_VERSION) {
        int from = v;
        rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
        if (rc == SQLITE_OK) rc = user_version(db, &v);
        if (rc == SQLITE_OK && v < SCHEMA_VERSION) {
            char sql[48];
            from = v;
            snprintf(sql, sizeof sql, "PRAGMA user_version=%d", v + 1);
            rc = sqlite3_exec(db, MIGRATIONS[v], NULL, NULL, NULL);
            if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
        }
        if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "schema migration to version %d: %s", from + 1,
                     sqlite3_errmsg(db));
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return LR_EIO;
        }
        rc = user_version(db, &v);
    }
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "reading the schema version: %s", sqlite3_errmsg(db));
        return LR_EIO;
    }
    if (v > SCHEMA_VERSION) {
        snprintf(err, errlen, "%s: the store's schema version %d is newer than this "
                 "program's (%d): it was made by a newer leadrouter; nothing was changed", path, v,
                 SCHEMA_VERSION);
        return LR_ESTATE;
    }
    return LR_OK;
}

/* Refuses, before anything is written to it (the WAL switch of
 * configure() included), a file that is not a leadrouter store: an SQLite
 * database marked by another program's application_id, or with tables
 * and neither leadrouter's mark nor the tables of its first schema
 * (stores made before schema 13 have no mark; 13 adds it), or with a
 * schema version and no tables; with EXISTING an empty one too. Returns
 * LR_OK, LR_ESTATE or LR_EIO (not a database at all), with ERR set. */
static int check_ours(sqlite3 *db, const char *path, bool existing, char *err, size_t errlen) {
    int v = 0, app = 0, objects = 0, first = 0;
    int rc = sqlite3_busy_handler(db, busy_wait, NULL);
    if (rc == SQLITE_OK) rc = user_version(db, &v);
    if (rc == SQLITE_OK) rc = query_int(db, "PRAGMA application_id", &app);
    if (rc == SQLITE_OK) rc = query_int(db, "SELECT count(*) FROM sqlite_schema", &objects);
    if (rc == SQLITE_OK)
        rc = query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name IN"
                       " ('events', 'decisions', 'leads', 'idem', 'keys')", &first);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
        return LR_EIO;
    }
    if (app == LR_SQ_APPLICATION_ID) return LR_OK;
    if (app == 0 && v == 0 && objects == 0) {
        if (!existing) return LR_OK;                    /* a new store */
        snprintf(err, errlen, "%s: not a leadrouter store: it holds no tables (an empty file "
                 "or database)", path);
        return LR_ESTATE;
    }
    if (app == 0 && v >= 1 && first == 5) return LR_OK; /* made before schema 13 */
    char what[96];
    if (app != 0) snprintf(what, sizeof what, "application id %d", app);
    else if (objects == 0) snprintf(what, sizeof what, "schema version %d, no tables", v);
    else snprintf(what, sizeof what, "its tables are not leadrouter's");
    snprintf(err, errlen, "%s: not a leadrouter store: another program's SQLite database (%s); "
             "nothing was changed", path, what);
    return LR_ESTATE;
}

/* Before SQLite's first use in the process: no memory statistics. Kept,
 * every allocation of every connection takes a global mutex (4% of
 * `route --db`); nothing here reads them. A no-op when something else
 * started SQLite first. */
static void sqlite_once(void) {
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* The message for SQLite's failure RC to open or set up PATH: what is
 * wrong with the path when SQLite only says it cannot open it. */
static void cannot_open(sqlite3 *db, int rc, const char *path, char *err, size_t errlen) {
    struct stat st;
    char *copy = strdup(path);
    const char *dir = copy ? dirname(copy) : ".";
    if ((rc & 0xff) == SQLITE_CANTOPEN && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        snprintf(err, errlen, "%s is a directory: --db names the store's file", path);
    else if ((rc & 0xff) == SQLITE_CANTOPEN && stat(dir, &st) != 0)
        snprintf(err, errlen, "%s: its directory %s: %s", path, dir, strerror(errno));
    else if (db) {
        char why[320];
        describe(db, rc, why, sizeof why);
        snprintf(err, errlen, "%s: %s", path, why);
    } else
        snprintf(err, errlen, "%s: %s", path, sqlite3_errstr(rc));
    free(copy);
}

/* Makes S the store's only writer among leadrouter processes (see
 * lr_store_open_writer). The lock is a flock(2) on the WAL file, on a
 * descriptor of its own: SQLite takes its POSIX locks on the database
 * file and the -shm, never on the -wal, so closing this descriptor cannot
 * drop one of them (a close of any descriptor of a file drops every POSIX
 * lock the process holds on it), and flock and POSIX locks do not see
 * each other. The WAL stays the same file while any connection has the
 * store open. */
static int claim(lr_store *s, char *err, size_t errlen) {
    const char *db = sqlite3_db_filename(s->db, "main");
    if (!db || !db[0]) return LR_OK;            /* in memory: nobody else sees it */
    /* a read opens (makes) the WAL of a store just switched to WAL mode */
    if (sqlite3_exec(s->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", db, sqlite3_errmsg(s->db));
        return LR_EIO;
    }
    const char *wal = sqlite3_filename_wal(db);
    int fd = open(wal, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", wal, strerror(errno));
        return LR_EIO;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK)
            snprintf(err, errlen, "%s is in use by another leadrouter process (a `serve` or a "
                     "`route --db`): one process at a time writes a store", db);
        else
            snprintf(err, errlen, "%s: locking it: %s", wal, strerror(e));
        return e == EWOULDBLOCK ? LR_ESTATE : LR_EIO;
    }
    s->claim_fd = fd;
    return LR_OK;
}

/* LR_OK when this process may write every file of the store: a database
 * file, -wal or -shm it may not write (one left read-only by another
 * user's start, a read-only mount) is named now rather than at the first
 * write (in WAL mode a BEGIN IMMEDIATE succeeds on a read-only database
 * file). */
static int files_writable(sqlite3 *db, char *err, size_t errlen) {
    const char *path = sqlite3_db_filename(db, "main");
    if (!path || !path[0]) return LR_OK;
    char f[3][4096];
    snprintf(f[0], sizeof f[0], "%s", path);
    snprintf(f[1], sizeof f[1], "%s", sqlite3_filename_wal(path));
    snprintf(f[2], sizeof f[2], "%s-shm", path);
    for (int i = 0; i < 3; i++) {
        if (access(f[i], W_OK) == 0 || errno == ENOENT) continue;
        snprintf(err, errlen, "%s: this user cannot write it (%s): the store's file, its -wal and "
                 "its -shm must be writable", f[i], strerror(errno));
        return LR_EIO;
    }
    if (sqlite3_db_readonly(db, "main") == 1) {
        snprintf(err, errlen, "%s: SQLite opened it read-only: the store's file, its -wal and its "
                 "-shm must be writable", path);
        return LR_EIO;
    }
    return LR_OK;
}

/* Opens PATH; EXISTING refuses a missing file and one without the schema
 * instead of creating them; WRITER claims the store (claim()) before its
 * schema is brought up to date, and checks that it can write it. */
static int open_store(const char *path, lr_store_sync sync, bool existing, bool writer,
                      lr_store **out, char *err, size_t errlen) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    assert(out);
    pthread_once(&once, sqlite_once);
    if (!path || (unsigned)sync > LR_SYNC_OFF) {
        snprintf(err, errlen, "%s", !path ? "no store path" : "bad sync mode");
        return LR_EINVAL;
    }
    /* a device or a pipe is no store, and SQLite would make its journal
     * beside it (/dev/null-journal, for root) */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is not a regular file: --db names the store's file", path);
        return LR_EINVAL;
    }
    lr_store *s = calloc(1, sizeof *s);
    if (!s) { snprintf(err, errlen, "out of memory"); return LR_ENOMEM; }
    s->claim_fd = -1;
    int lrc = LR_EIO;
    bool wal = false;
    int rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
                             (existing ? 0 : SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX,
                             lr_sq_walbuf_vfs());
    if (rc == SQLITE_OK) rc = sqlite3_extended_result_codes(s->db, 1);
    if (rc == SQLITE_OK) rc = lr_sq_agent_register(s->db);
    if (rc == SQLITE_OK && (lrc = check_ours(s->db, path, existing, err, errlen)) != LR_OK)
        goto fail;
    if (rc == SQLITE_OK) rc = configure(s->db, sync, &wal);
    if (rc != SQLITE_OK) {
        lrc = LR_EIO;
        cannot_open(s->db, rc, path, err, errlen);
        goto fail;
    }
    if (!wal) {
        lrc = LR_EIO;
        snprintf(err, errlen, "%s: the file system refuses WAL mode", path);
        goto fail;
    }
    if (writer && (lrc = claim(s, err, errlen)) != LR_OK) goto fail;
    if (writer && (lrc = files_writable(s->db, err, errlen)) != LR_OK) goto fail;
    if ((lrc = migrate(s->db, path, err, errlen)) != LR_OK) goto fail;
    for (int i = 0; i < SQ__COUNT; i++) {
        rc = sqlite3_prepare_v3(s->db, STMT_SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "preparing statement %d: %s", i, sqlite3_errmsg(s->db));
            lrc = rc == SQLITE_NOMEM ? LR_ENOMEM : LR_EIO;
            goto fail;
        }
    }
    *out = s;
    return LR_OK;
fail:
    lr_store_close(s);
    return lrc;
}

int lr_store_open(const char *path, lr_store_sync sync, lr_store **out, char *err,
                  size_t errlen) {
    return open_store(path, sync, false, false, out, err, errlen);
}

int lr_store_open_writer(const char *path, lr_store_sync sync, lr_store **out, char *err,
                         size_t errlen) {
    return open_store(path, sync, false, true, out, err, errlen);
}

int lr_store_open_existing(const char *path, lr_store **out, char *err, size_t errlen) {
    return open_store(path, LR_SYNC_FULL, true, false, out, err, errlen);
}

int lr_store_open_again(const char *path, lr_store_sync sync, lr_store **out, char *err,
                        size_t errlen) {
    return open_store(path, sync, true, false, out, err, errlen);
}

/* Finalizes every statement and closes the database; an open transaction
 * is rolled back by SQLite. */
void lr_store_close(lr_store *s) {
    if (!s) return;
    lr_store_defer_stop(s);
    for (int i = 0; i < SQ__COUNT; i++) sqlite3_finalize(s->st[i]);
    sqlite3_close(s->db);
    if (s->claim_fd >= 0) close(s->claim_fd);  /* after SQLite let go of the files */
    forget_seqs(s);
    lr_sq_pack_release(s);
    free(s);
}

int lr_store_checkpoint(lr_store *s, bool restart, int *wal_pages, int *copied) {
    lr_sq_defer_drain(s);
    int log = 0, done = 0;
    int src = sqlite3_wal_checkpoint_v2(s->db, NULL,
                                        restart ? SQLITE_CHECKPOINT_RESTART
                                                : SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (src != SQLITE_OK && src != SQLITE_BUSY) return lr_sq_fail(s, src);
    if (wal_pages) *wal_pages = log;
    if (copied) *copied = done;
    return LR_OK;
}

int lr_store_sync_file(lr_store *s) {
    lr_sq_defer_drain(s);
    sqlite3_file *f = NULL;
    int src = sqlite3_file_control(s->db, "main", SQLITE_FCNTL_FILE_POINTER, &f);
    if (src == SQLITE_OK && f && f->pMethods) src = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
    return src == SQLITE_OK ? LR_OK : lr_sq_fail(s, src);
}

int lr_store_busy_limit(lr_store *s, int ms) {
    if (ms < 1) ms = 1;
    intptr_t tries = ms <= 10 ? 10 * ms : 100 + (ms - 10);
    int src = sqlite3_busy_handler(s->db, busy_wait, (void *)tries);
    return src == SQLITE_OK ? LR_OK : lr_sq_fail(s, src);
}

int lr_store_wal_limit(lr_store *s, int64_t bytes) {
    lr_sq_defer_drain(s);
    int page = 0;
    if (query_int(s->db, "PRAGMA page_size", &page) != SQLITE_OK || page <= 0) page = 4096;
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint=%lld", (long long)(bytes / page));
    int src = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? LR_OK : lr_sq_fail(s, src);
}

bool lr_store_locked(const lr_store *s) {
    return s && s->locked;
}

const char *lr_store_errmsg(const lr_store *s) {
    return s ? s->err : "no store";
}

/* ---- transactions ------------------------------------------------------ */

/* BEGIN IMMEDIATE: the write lock is taken now (waiting up to the busy
 * timeout for another writer), so the transaction cannot fail later for
 * want of it. LR_ESTATE inside a transaction. */
int lr_store_begin(lr_store *s) {
    return s->defer ? lr_sq_defer_begin(s) : lr_sq_begin(s);
}

int lr_sq_begin(lr_store *s) {
    int rc = writable(s);
    if (rc) return rc;
    if (!sqlite3_get_autocommit(s->db)) {
        snprintf(s->err, sizeof s->err, "a transaction is already open");
        return LR_ESTATE;
    }
    return lr_sq_run(s, s->st[SQ_BEGIN], SQLITE_OK);
}

/* LR_ESTATE outside a transaction. On failure the transaction may still
 * be open (SQLITE_BUSY): call lr_store_rollback(). */
int lr_store_commit(lr_store *s) {
    return lr_store_commit_then(s, NULL, NULL, 0);
}

int lr_store_commit_then(lr_store *s, lr_store_after_fn fn, void *ud, uint64_t arg) {
    if (s->defer) return lr_sq_defer_commit(s, fn, ud, arg);
    int rc = lr_sq_commit(s);
    if (rc == LR_OK && fn) fn(ud, arg);
    return rc;
}

int lr_sq_commit(lr_store *s) {
    int rc = writable(s);
    if (rc) return rc;
    if (sqlite3_get_autocommit(s->db)) {
        snprintf(s->err, sizeof s->err, "no transaction is open");
        return LR_ESTATE;
    }
    return lr_sq_run(s, s->st[SQ_COMMIT], SQLITE_OK);
}

int lr_store_read_begin(lr_store *s) {
    lr_sq_defer_drain(s);
    if (!sqlite3_get_autocommit(s->db)) {
        snprintf(s->err, sizeof s->err, "a transaction is already open");
        return LR_ESTATE;
    }
    return lr_sq_run(s, s->st[SQ_BEGIN_READ], SQLITE_OK);
}

/* Ends the read transaction (nothing to commit); LR_OK when none is open. */
int lr_store_read_end(lr_store *s) {
    lr_sq_defer_drain(s);
    if (sqlite3_get_autocommit(s->db)) return LR_OK;
    return lr_sq_run(s, s->st[SQ_COMMIT], SQLITE_OK);
}

/* Discards the open transaction; LR_OK (and nothing done) when none is
 * open, so error paths may call it unconditionally. */
int lr_store_rollback(lr_store *s) {
    lr_sq_defer_drain(s);
    int rc = writable(s);
    if (rc) return rc;
    /* what was appended may be gone (SQLite may have rolled back on its
     * own after an I/O error): add_lead needs a new append, and the seqs
     * remembered may name rows that are no more */
    s->last_event = 0;
    forget_seqs(s);
    if (sqlite3_get_autocommit(s->db)) return LR_OK;
    return lr_sq_run(s, s->st[SQ_ROLLBACK], SQLITE_OK);
}

/* ---- the journal --------------------------------------------------------- */

/* LR_EEXIST when SEQ is already in the journal; LR_EINVAL without TYPE or
 * JSON. Remembers SEQ for the next lr_store_add_lead() on success. */
int lr_store_append_event(lr_store *s, int64_t seq, lr_time at, const char *type,
                          const char *lead, const char *json, size_t len) {
    if (!type || !json || seq <= 0) return LR_EINVAL;
    return s->defer ? lr_sq_defer_event(s, seq, at, type, lead, json, len)
                    : lr_sq_append_event(s, seq, at, type, lead, json, len);
}

int lr_sq_append_event(lr_store *s, int64_t seq, lr_time at, const char *type,
                       const char *lead, const char *json, size_t len) {
    int rc = writable(s);
    if (rc) return rc;
    if (!type || !json || seq <= 0) return LR_EINVAL;
    sqlite3_stmt *st = s->st[SQ_EV_APPEND];
    int b = sqlite3_bind_int64(st, 1, seq);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, at);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 3, type);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 4, lead);
    if (b == SQLITE_OK) b = lr_sq_bind_text(st, 5, json, len);
    rc = lr_sq_run(s, st, b);
    if (rc == LR_OK) s->last_event = seq;
    return rc;
}

int lr_store_last_seq(lr_store *s, int64_t *out) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = s->st[SQ_EV_LAST];
    int src = sqlite3_step(st);
    int64_t v = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;   /* NULL reads as 0 */
    int rc = lr_sq_finish(s, st, src);
    if (rc == LR_OK) *out = v;
    return rc;
}

int lr_store_engine_mark_keep(lr_store *s, const char *name, int64_t value) {
    int rc = writable(s);
    if (rc) return rc;
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO engine_marks(name, seq) VALUES (?1, ?2)",
                                 -1, &st, NULL);
    if (src == SQLITE_OK) src = lr_sq_bind_str(st, 1, name);
    if (src == SQLITE_OK) src = sqlite3_bind_int64(st, 2, value);
    if (src == SQLITE_OK) src = sqlite3_step(st);
    sqlite3_finalize(st);
    return src == SQLITE_DONE ? LR_OK : lr_sq_fail(s, src);
}

int lr_store_engine_mark(lr_store *s, const char *name, int64_t *out) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = NULL;
    int src = sqlite3_prepare_v2(s->db, "SELECT seq FROM engine_marks WHERE name = ?1", -1, &st, NULL);
    if (src == SQLITE_OK) src = lr_sq_bind_str(st, 1, name);
    if (src == SQLITE_OK) src = sqlite3_step(st);
    bool found = src == SQLITE_ROW;
    if (found) *out = sqlite3_column_int64(st, 0);
    int rc = found || src == SQLITE_DONE ? LR_OK : lr_sq_fail(s, src);
    sqlite3_finalize(st);
    return rc != LR_OK ? rc : found ? LR_OK : LR_ENOENT;
}

/* Iterates the journal with one read statement; CB's pointers are valid
 * during the call only. While it runs the handle refuses writes and
 * another replay (LR_ESTATE); CB may read through it, or write through
 * another handle. Returns LR_OK, CB's non-zero return, or an error. */
/* See store.h. */
int lr_store_data_version(lr_store *s, int64_t *out) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = s->st[SQ_DATA_VERSION];
    int64_t v = 0;
    int b = sqlite3_step(st);
    if (b == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
    int rc = lr_sq_finish(s, st, b);
    if (rc == LR_OK) *out = v;
    return rc;
}

int lr_store_replay(lr_store *s, int64_t after, lr_store_replay_cb cb, void *ud) {
    lr_sq_defer_drain(s);
    if (s->replaying) return LR_ESTATE;
    sqlite3_stmt *st = s->st[SQ_EV_REPLAY];
    int src = sqlite3_bind_int64(st, 1, after), stop = 0;
    s->replaying = true;
    while (src == SQLITE_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *type = (const char *)sqlite3_column_text(st, 2);
        const char *json = (const char *)sqlite3_column_text(st, 3);
        size_t len = (size_t)sqlite3_column_bytes(st, 3);
        if (!type || !json) { src = SQLITE_NOMEM; break; }
        stop = cb(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1), type, json, len, ud);
        if (stop) break;
        src = SQLITE_OK;
    }
    s->replaying = false;
    int rc = lr_sq_finish(s, st, src);
    return stop ? stop : rc;
}

/* ---- projection writes ------------------------------------------------- */

/* The decision is tied to LEAD's stored row (lead_seq) as it is now: add
 * the lead before its decisions (the lead just added on this handle needs
 * no lookup). A decision about an id with no stored lead is kept, and
 * shows in no lead's lr_store_lead_json(). */
int lr_store_add_decision(lr_store *s, int64_t seq, lr_time at, const char *lead,
                          const char *action, const char *agent, const char *json,
                          size_t len, const lr_decision *d, int64_t *id) {
    int rc = writable(s);
    if (rc) return rc;
    if (!action || !json) return LR_EINVAL;
    lr_sq_packed pk;
    if ((rc = lr_sq_pack_decision(s, json, len, d, &pk)) != LR_OK) return rc;
    if (s->defer) return lr_sq_defer_decision(s, seq, at, lead, action, agent, &pk, id);
    return lr_sq_insert_decision(s, 0, seq, at, lead, action, agent, &pk, id);
}

int lr_sq_insert_decision(lr_store *s, int64_t id, int64_t seq, lr_time at, const char *lead,
                          const char *action, const char *agent, const lr_sq_packed *pk,
                          int64_t *out) {
    int rc = writable(s);
    if (rc) return rc;
    sqlite3_stmt *st = s->st[SQ_DEC_ADD];
    int b = sqlite3_bind_int64(st, 1, seq);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, at);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 3, lead);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 4, action);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 5, agent);
    if (b == SQLITE_OK) b = lr_sq_bind_text(st, 6, pk->body, pk->len);
    if (b == SQLITE_OK && pk->why) b = sqlite3_bind_blob(st, 8, pk->why, (int)pk->wlen, SQLITE_STATIC);
    int64_t lead_seq = seq_of(s, lead);
    if (b == SQLITE_OK && lead_seq) b = sqlite3_bind_int64(st, 7, lead_seq);
    if (b == SQLITE_OK && id > 0) b = sqlite3_bind_int64(st, 9, id);
    rc = lr_sq_run(s, st, b);
    if (rc == LR_OK && out) *out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

/* The lead's seq is that of the last lr_store_append_event() on this
 * handle: the writer appends the lead's event, then adds the lead.
 * LR_ESTATE before any append; LR_EEXIST for a known id (or a second lead
 * on the same event); LR_EINVAL without id, body or hash. */
int lr_store_add_lead(lr_store *s, const char *id, const char *source, lr_time received,
                      const char *body, size_t len, const unsigned char hash[32],
                      const char *state, const char *agent) {
    if (!id || !body || !hash || (state && !lr_sq_known_state(state))) return LR_EINVAL;
    return s->defer ? lr_sq_defer_lead(s, id, source, received, body, len, hash, state, agent)
                    : lr_sq_add_lead(s, id, source, received, body, len, hash, state, agent);
}

int lr_sq_add_lead(lr_store *s, const char *id, const char *source, lr_time received,
                   const char *body, size_t len, const unsigned char hash[32],
                   const char *state, const char *agent) {
    int rc = writable(s);
    if (rc) return rc;
    if (s->last_event <= 0) {
        snprintf(s->err, sizeof s->err, "lead %s added before its event was appended", id);
        return LR_ESTATE;
    }
    /* the agent's list first: a listed seq without its lead is harmless
     * (a listing keeps only rows with that agent), a lead unlisted is not;
     * likewise the source's block */
    if (agent && (rc = lr_sq_agent_lead(s, agent, s->last_event)) != LR_OK) return rc;
    if (source && (rc = lr_sq_source_lead(s, source, s->last_event)) != LR_OK) return rc;
    sqlite3_stmt *st = s->st[SQ_LEAD_ADD];
    int b = sqlite3_bind_int64(st, 1, s->last_event);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 2, id);
    if (b == SQLITE_OK) b = lr_sq_bind_time(st, 3, received);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 4, source);
    if (b == SQLITE_OK) b = sqlite3_bind_blob(st, 5, hash, 32, SQLITE_STATIC);
    if (b == SQLITE_OK) b = lr_sq_bind_text(st, 6, body, len);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 7, state);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 8, agent);
    if ((rc = lr_sq_run(s, st, b)) != LR_OK) return rc;
    remember_seq(s, id, s->last_event);
    return lr_sq_time_lead(s, s->last_event, received);
}

bool lr_sq_known_state(const char *name) {
    for (int i = 0; i < LR_LEAD__COUNT; i++)
        if (strcmp(name, lr_lead_state_names[i]) == 0) return true;
    return false;
}

/* Runs the UPDATE ST of lead ID (its row SEQ when not 0) to STATE with
 * AGENT; *changed says whether it changed a row. */
static int update_lead(lr_store *s, sqlite3_stmt *st, const char *id, int64_t seq,
                       const char *state, const char *agent, bool *changed) {
    int b = lr_sq_bind_str(st, 1, id);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 2, state);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 3, agent);
    if (b == SQLITE_OK && seq) b = sqlite3_bind_int64(st, 4, seq);
    int rc = lr_sq_run(s, st, b);
    *changed = rc == LR_OK && sqlite3_changes(s->db) > 0;
    return rc;
}

/* LR_EINVAL for a state that is not a lead_rt.h name, LR_ENOENT for an
 * unknown lead. AGENT NULL clears the agent.
 *
 * Most changes keep the lead's agent (a lead closed by whoever had it):
 * tried first, that UPDATE leaves the agents' lists alone. A change of
 * agent reads the lead's agent, moves the lead between their lists
 * (agent_lists.c), then updates the row. */
int lr_store_set_lead_state(lr_store *s, const char *id, const char *state,
                            const char *agent) {
    if (!id || !state || !lr_sq_known_state(state)) return LR_EINVAL;
    return s->defer ? lr_sq_defer_state(s, id, state, agent) : lr_sq_set_lead_state(s, id, state, agent);
}

int lr_sq_set_lead_state(lr_store *s, const char *id, const char *state, const char *agent) {
    int rc = writable(s);
    if (rc) return rc;
    bool changed = false;
    int64_t seq = seq_of(s, id);    /* when remembered, found by its rowid */
    rc = update_lead(s, s->st[seq ? SQ_LEAD_STATE_SEQ_SAME_AGENT : SQ_LEAD_STATE_SAME_AGENT], id,
                     seq, state, agent, &changed);
    if (rc != LR_OK || changed) return rc;
    char *from = NULL;              /* the lead's agent now */
    bool found = false;
    for (int by_id = !seq; !found && by_id < 2; by_id++) {
        sqlite3_stmt *st = s->st[by_id ? SQ_LEAD_AGENT_ID : SQ_LEAD_AGENT_SEQ];
        int src = by_id ? SQLITE_OK : sqlite3_bind_int64(st, 1, seq);
        if (src == SQLITE_OK) src = lr_sq_bind_str(st, 2, id);
        if (src == SQLITE_OK) src = sqlite3_step(st);
        if ((found = src == SQLITE_ROW)) {
            seq = sqlite3_column_int64(st, 0);
            const char *a = (const char *)sqlite3_column_text(st, 1);
            if (a && !(from = strdup(a))) src = SQLITE_NOMEM;
        }
        if ((rc = lr_sq_finish(s, st, src)) != LR_OK) {
            free(from);
            return rc;
        }
    }
    if (!found) return LR_ENOENT;
    /* the new agent's list before the row, the old one's after: a failure
     * half-way leaves the lead listed once too often, never missing */
    if (agent) rc = lr_sq_agent_gain(s, agent, seq);
    if (rc == LR_OK) rc = update_lead(s, s->st[SQ_LEAD_STATE_SEQ], id, seq, state, agent, &changed);
    if (rc == LR_OK && from) rc = lr_sq_agent_lose(s, from, seq);
    free(from);
    return rc;
}

int lr_store_find_lead(lr_store *s, const char *id, int64_t *seq, unsigned char hash[32]) {
    lr_sq_defer_drain(s);
    if (!id) return LR_EINVAL;
    sqlite3_stmt *st = s->st[SQ_LEAD_FIND];
    int src = lr_sq_bind_str(st, 1, id);
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src == SQLITE_DONE) { lr_sq_finish(s, st, src); return LR_ENOENT; }
    if (src == SQLITE_ROW) {
        const void *h = sqlite3_column_blob(st, 1);
        if (sqlite3_column_bytes(st, 1) == 32 && h) {
            *seq = sqlite3_column_int64(st, 0);
            memcpy(hash, h, 32);
        } else {
            lr_sq_finish(s, st, src);
            snprintf(s->err, sizeof s->err, "lead %s: stored hash is not 32 bytes", id);
            return LR_EIO;
        }
    }
    return lr_sq_finish(s, st, src);
}

/* ---- idempotency keys and API keys --------------------------------------- */

/* OUT gets the stored body appended (unchanged on failure). */
int lr_store_idem_get(lr_store *s, const char *key, unsigned char hash[32], int *status,
                      lr_buf *out) {
    lr_sq_defer_drain(s);
    if (!key) return LR_EINVAL;
    sqlite3_stmt *st = s->st[SQ_IDEM_GET];
    int src = lr_sq_bind_str(st, 1, key), rc = LR_OK;
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src == SQLITE_DONE) rc = LR_ENOENT;
    if (src == SQLITE_ROW) {
        const void *h = sqlite3_column_blob(st, 0);
        const void *body = sqlite3_column_blob(st, 2);     /* as stored, no conversion */
        size_t len = (size_t)sqlite3_column_bytes(st, 2);
        if (!h || sqlite3_column_bytes(st, 0) != 32) rc = LR_EIO;
        else if (lr_buf_append(out, body ? body : "", len) != LR_OK) rc = LR_ENOMEM;
        else {
            memcpy(hash, h, 32);
            *status = sqlite3_column_int(st, 1);
        }
        if (rc == LR_EIO) snprintf(s->err, sizeof s->err, "idempotency key: stored hash is not 32 bytes");
    }
    int frc = lr_sq_finish(s, st, src);
    return rc != LR_OK ? rc : frc;
}

/* LR_EEXIST when KEY is already stored. BODY may be NULL (empty). */
int lr_store_idem_put(lr_store *s, const char *key, const unsigned char hash[32], int status,
                      const char *body, size_t len, lr_time created) {
    lr_sq_defer_drain(s);
    int rc = writable(s);
    if (rc) return rc;
    if (!key || !hash) return LR_EINVAL;
    if (!body) { body = ""; len = 0; }
    sqlite3_stmt *st = s->st[SQ_IDEM_PUT];
    int b = lr_sq_bind_str(st, 1, key);
    if (b == SQLITE_OK) b = sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
    if (b == SQLITE_OK) b = sqlite3_bind_int(st, 3, status);
    if (b == SQLITE_OK) b = lr_sq_bind_text(st, 4, body, len);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 5, created);
    return lr_sq_run(s, st, b);
}

int lr_store_idem_prune(lr_store *s, lr_time before, int limit, int *deleted) {
    lr_sq_defer_drain(s);
    int rc = writable(s);
    if (rc) return rc;
    sqlite3_stmt *st = s->st[SQ_IDEM_PRUNE];
    int b = sqlite3_bind_int64(st, 1, before);
    if (b == SQLITE_OK) b = sqlite3_bind_int(st, 2, limit);
    rc = lr_sq_run(s, st, b);
    if (deleted) *deleted = rc == LR_OK ? sqlite3_changes(s->db) : 0;
    return rc;
}

/* LR_EEXIST for a known id or secret hash; LR_EINVAL without id or role. */
int lr_store_key_add(lr_store *s, const char *id, const unsigned char hash[32],
                     const char *role, const char *agent, lr_time created) {
    lr_sq_defer_drain(s);
    int rc = writable(s);
    if (rc) return rc;
    if (!id || !hash || !role) return LR_EINVAL;
    sqlite3_stmt *st = s->st[SQ_KEY_ADD];
    int b = lr_sq_bind_str(st, 1, id);
    if (b == SQLITE_OK) b = sqlite3_bind_blob(st, 2, hash, 32, SQLITE_STATIC);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 3, role);
    if (b == SQLITE_OK) b = lr_sq_bind_str(st, 4, agent);
    if (b == SQLITE_OK) b = lr_sq_bind_time(st, 5, created);
    return lr_sq_run(s, st, b);
}

/* LR_ERANGE when ROLE or AGENT does not fit its buffer (neither written). */
int lr_store_key_find(lr_store *s, const unsigned char hash[32], char *role, size_t rolelen,
                      char *agent, size_t agentlen) {
    lr_sq_defer_drain(s);
    if (!hash) return LR_EINVAL;
    sqlite3_stmt *st = s->st[SQ_KEY_FIND];
    int src = sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC), rc = LR_OK;
    if (src == SQLITE_OK) src = sqlite3_step(st);
    if (src == SQLITE_DONE) rc = LR_ENOENT;
    if (src == SQLITE_ROW) {
        const char *r = (const char *)sqlite3_column_text(st, 0);
        const char *a = (const char *)sqlite3_column_text(st, 1);
        if (!r) rc = LR_ENOMEM;
        else if (strlen(r) >= rolelen || strlen(a ? a : "") >= agentlen) rc = LR_ERANGE;
        else {
            memcpy(role, r, strlen(r) + 1);
            memcpy(agent, a ? a : "", strlen(a ? a : "") + 1);
        }
    }
    int frc = lr_sq_finish(s, st, src);
    return rc != LR_OK ? rc : frc;
}

/* See store.h. */
int lr_store_key_remove(lr_store *s, const char *id) {
    lr_sq_defer_drain(s);
    int rc = writable(s);
    if (rc) return rc;
    sqlite3_stmt *st = s->st[SQ_KEY_DEL];
    rc = lr_sq_run(s, st, lr_sq_bind_str(st, 1, id));
    return rc == LR_OK && sqlite3_changes(s->db) == 0 ? LR_ENOENT : rc;
}

int lr_store_key_list(lr_store *s, lr_store_key_cb cb, void *ud) {
    lr_sq_defer_drain(s);
    sqlite3_stmt *st = s->st[SQ_KEY_LIST];
    int src, rc = LR_OK;
    while (rc == LR_OK && (src = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *role = (const char *)sqlite3_column_text(st, 1);
        const char *agent = (const char *)sqlite3_column_text(st, 2);
        lr_time created = sqlite3_column_type(st, 3) == SQLITE_NULL ? LR_TIME_NONE
                                                                    : sqlite3_column_int64(st, 3);
        rc = cb(id ? id : "", role ? role : "", agent, created, ud);
    }
    if (rc != LR_OK) { sqlite3_reset(st); return rc; }
    return lr_sq_finish(s, st, src);
}
