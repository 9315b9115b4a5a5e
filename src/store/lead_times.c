/* lead_times.c -- how a window of received_at finds its leads without
 * reading every lead: lead_time_blocks (schema in sqlite.c), the writer's
 * side, and the walk of a listing by time (GET /v1/leads?since=&until=);
 * GET /v1/stats reads the blocks with one statement (ST_LEAD_ROWS_IN).
 *
 * A lead's received_at is its sender's word, in no order, so no search
 * over seqs finds a window's leads; but it is usually close to the
 * lead's arrival. Each full block of 2^12 seqs keeps the lowest and
 * highest received_at of its leads, and a window reads only the blocks
 * whose range reaches into it, and the newest leads, not in a full
 * block yet. Leads arrive in the newest block only and their
 * received_at never changes, so a block's range is written once, when a
 * lead passes into a later block.
 *
 * The handle keeps the range of the block it is filling. When it has
 * seen that block's every lead (it filled it from its first), the range
 * goes in as it is; otherwise (the first block after an open or a
 * rollback, which may hold leads of an earlier run) the ranges of every
 * block not yet written are read from the leads' rows. A block with no
 * received_at at all has no row, like a block with no lead: the reader
 * takes every block up to the highest written as written.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

int lr_sq_time_lead(lr_store *s, int64_t seq, lr_time received) {
    int64_t block = seq >> LR_SQ_AGENT_BLOCK_SHIFT;
    if (s->time_open != block + 1) {
        /* the handle sees this block whole when it saw the one it leaves
         * whole (the blocks between have no lead), or when SEQ is the
         * block's first */
        bool left_whole = s->time_open && s->time_whole;
        bool whole = left_whole || (seq & (((int64_t)1 << LR_SQ_AGENT_BLOCK_SHIFT) - 1)) == 0;
        int rc;
        if (left_whole) {
            rc = LR_OK;
            if (s->time_lo != LR_TIME_NONE) {
                sqlite3_stmt *st = s->st[SQ_TIME_BLOCK_ADD];
                int b = sqlite3_bind_int64(st, 1, s->time_open - 1);
                if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, s->time_lo);
                if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 3, s->time_hi);
                rc = lr_sq_run(s, st, b);
            }
        } else {
            sqlite3_stmt *st = s->st[SQ_TIME_BLOCKS_CLOSE];
            rc = lr_sq_run(s, st, sqlite3_bind_int64(st, 1, block));
        }
        if (rc != LR_OK) return rc;
        s->time_whole = whole;
        s->time_open = block + 1;
        s->time_lo = s->time_hi = LR_TIME_NONE;
    }
    if (received != LR_TIME_NONE) {
        if (s->time_lo == LR_TIME_NONE || received < s->time_lo) s->time_lo = received;
        if (s->time_hi == LR_TIME_NONE || received > s->time_hi) s->time_hi = received;
    }
    return LR_OK;
}

void lr_sq_times_forget(lr_store *s) {
    s->time_open = 0;
    s->time_whole = false;
}

int lr_sq_time_walk(lr_store *s, const lr_lead_query *q, int64_t after, int want,
                    lr_sq_row_fn fn, void *ud) {
    sqlite3_stmt *blocks = s->st[SQ_LIST_TIME_BLOCKS];
    int bsrc = sqlite3_bind_int64(blocks, 1, after >> LR_SQ_AGENT_BLOCK_SHIFT);
    if (bsrc == SQLITE_OK) bsrc = lr_sq_bind_time(blocks, 2, q->since);
    if (bsrc == SQLITE_OK) bsrc = lr_sq_bind_time(blocks, 3, q->until);
    int rc = LR_OK, got = 0;
    while (got < want && bsrc == SQLITE_OK && (bsrc = sqlite3_step(blocks)) == SQLITE_ROW) {
        bsrc = SQLITE_OK;
        int64_t first = sqlite3_column_int64(blocks, 0) << LR_SQ_AGENT_BLOCK_SHIFT;
        bool tail = sqlite3_column_int(blocks, 1);  /* the newest leads, in no block yet */
        int64_t last = tail ? INT64_MAX : first + ((int64_t)1 << LR_SQ_AGENT_BLOCK_SHIFT) - 1;
        if ((rc = lr_sq_range_walk(s, q, after, first, last, want, &got, fn, ud))) break;
    }
    int brc = lr_sq_finish(s, blocks, bsrc == SQLITE_ROW ? SQLITE_OK : bsrc);
    return rc ? rc : brc;
}
