/* source_lists.c -- how the store finds a source's leads without an
 * index entry per lead: the writer's side of lead_source_blocks (schema
 * in sqlite.c; a listing walks it with lr_sq_blocks_walk, agent_lists.c).
 *
 * A lead's source never changes and leads arrive in the newest block
 * only, so, unlike an agent's, a source's lists need no memory: a
 * source's row for the newest block is inserted open (seqs NULL) with its
 * first lead there, and closed -- all the block's sources at once, from
 * one read of its rows -- when a lead with a source falls in a later
 * block. What the handle remembers (which block it keeps open, and the
 * sources whose row it made sure of there) goes with the seqs it
 * remembers, at a rollback or a failure: the next lead then closes every
 * row still open below its block (lead_source_blocks_open finds them),
 * whatever the handle knew.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <stdlib.h>
#include <string.h>

/* Closes every source row still open below BLOCK: each such block's lists
 * made from its leads' rows, one read of the block for all its sources. */
static int close_source_blocks(lr_store *s, int64_t block) {
    int64_t *v = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = s->st[SQ_SOURCE_OPEN_BELOW];
    int b = sqlite3_bind_int64(st, 1, block), mrc = LR_OK;
    while (b == SQLITE_OK && (b = sqlite3_step(st)) == SQLITE_ROW) {
        b = SQLITE_OK;
        if (n == cap) {
            int64_t *nv = realloc(v, (cap = cap ? 2 * cap : 4) * sizeof *v);
            if (!nv) { mrc = LR_ENOMEM; break; }
            v = nv;
        }
        v[n++] = sqlite3_column_int64(st, 0);
    }
    int rc = lr_sq_finish(s, st, b);
    if (rc == LR_OK) rc = mrc;
    /* (a row whose lead's INSERT failed, and was committed all the same,
     * has no lead: it closes empty) */
    for (size_t i = 0; rc == LR_OK && i < n; i++) {
        rc = lr_sq_run(s, s->st[SQ_SOURCE_CLOSE], sqlite3_bind_int64(s->st[SQ_SOURCE_CLOSE], 1, v[i]));
        sqlite3_stmt *e = s->st[SQ_SOURCE_CLOSE_EMPTY];
        if (rc == LR_OK) rc = lr_sq_run(s, e, sqlite3_bind_int64(e, 1, v[i]));
    }
    free(v);
    return rc;
}

int lr_sq_source_lead(lr_store *s, const char *source, int64_t seq) {
    int64_t block = seq >> LR_SQ_AGENT_BLOCK_SHIFT;
    if (s->source_open != block + 1) {
        int rc = close_source_blocks(s, block);
        if (rc != LR_OK) return rc;
        s->source_open = block + 1;
        s->source_seen.n = 0;       /* sources of an older block */
    }
    if (lr_sq_names_has(&s->source_seen, source)) return LR_OK;
    sqlite3_stmt *st = s->st[SQ_SOURCE_BLOCK_ADD];
    int b = lr_sq_bind_str(st, 1, source);
    if (b == SQLITE_OK) b = sqlite3_bind_int64(st, 2, block);
    int rc = lr_sq_run(s, st, b);
    if (rc == LR_OK) lr_sq_names_add(&s->source_seen, source);
    return rc;
}

void lr_sq_sources_forget(lr_store *s) {
    s->source_seen.n = 0;
    s->source_open = 0;
}

