/* defer.c -- a store's writes run by a thread of its own (store.h,
 * "deferred writes").
 *
 * `leadrouter route --db` routes a lead in a few microseconds and then
 * spends several times that in SQLite storing it: one thread did both in
 * turn. With deferral on, the caller encodes each write into a block of
 * bytes (the same calls, in the same order) and goes on routing; this
 * thread runs the blocks through the handle, as the calls would have.
 *
 * Blocks: the caller fills `cur` without a lock, and hands it over when it
 * passes BLOCK_BYTES, at each COMMIT, and before it waits. Handed-over
 * blocks queue oldest first; at most QUEUE_MAX wait, and a caller that
 * would add one more waits for room (memory stays bounded however far
 * SQLite falls behind). A block that has run goes back to a short free
 * list.
 *
 * Ownership of the handle: while the thread runs a block it alone uses the
 * SQLite connection (opened NOMUTEX). lr_sq_defer_wait() returns once the
 * queue is empty and the thread idle, under the same mutex, so the caller
 * may use the connection until it queues its next write; the thread only
 * touches it again for a block queued after that. The caller packs a
 * decision (decision_pack.c's buffers and compressor) before queueing it;
 * the thread never packs.
 *
 * Records: a one-byte op, then its fields, each an int64, or a string as
 * a 32-bit length (NONE for NULL) and its bytes and a NUL. Strings are
 * bound straight from the block (SQLITE_STATIC): a block is reused only
 * after every statement that bound from it has been reset.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK_BYTES (256u * 1024u)
#define QUEUE_MAX 8                 /* blocks waiting, the one running not counted */
#define FREE_MAX 4                  /* blocks kept for reuse */
#define NONE UINT32_MAX             /* length of a NULL string */

enum op { OP_BEGIN = 1, OP_COMMIT, OP_EVENT, OP_LEAD, OP_DECISION, OP_STATE, OP_DELIVERY };

typedef struct block {
    struct block *next;
    lr_buf b;
} block;

struct lr_sq_defer {
    lr_store *s;
    lr_store_fatal_fn fatal;
    void *ud;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t work;            /* a block was queued, or stop */
    pthread_cond_t room;            /* a block ran: room in the queue, maybe idle */
    block *cur;                     /* the caller's, filled without the lock */
    int64_t next_decision, next_delivery;   /* the caller's: ids to give out */
    /* guarded by mu */
    block *head, *tail;             /* queued, oldest first */
    size_t queued;
    bool busy;                      /* the thread is running a block */
    bool stopping;
    block *spare;                   /* free list */
    size_t nspare;
};

/* ---- encoding (the caller's thread) ------------------------------------------ */

static int put_u8(lr_buf *b, unsigned v) { return lr_buf_putc(b, (char)v); }

static int put_i64(lr_buf *b, int64_t v) { return lr_buf_append(b, &v, sizeof v); }

static int put_bytes(lr_buf *b, const void *p, size_t len, bool null) {
    uint32_t n = null ? NONE : (uint32_t)len;
    int rc = lr_buf_append(b, &n, sizeof n);
    if (rc == LR_OK && !null) rc = lr_buf_append(b, p, len);
    if (rc == LR_OK && !null) rc = lr_buf_putc(b, '\0');
    return rc;
}

static int put_str(lr_buf *b, const char *s) {
    return put_bytes(b, s, s ? strlen(s) : 0, s == NULL);
}

/* ---- decoding (the store's thread) ------------------------------------------- */

typedef struct reader {
    const char *p, *end;
} reader;

static int64_t get_i64(reader *r) {
    int64_t v;
    memcpy(&v, r->p, sizeof v);
    r->p += sizeof v;
    return v;
}

/* A string or blob: NULL for a NULL one; *LEN (may be NULL) its length. */
static const char *get_bytes(reader *r, size_t *len) {
    uint32_t n;
    memcpy(&n, r->p, sizeof n);
    r->p += sizeof n;
    if (n == NONE) {
        if (len) *len = 0;
        return NULL;
    }
    const char *s = r->p;
    r->p += (size_t)n + 1;
    if (len) *len = n;
    return s;
}

static const char *get_str(reader *r) { return get_bytes(r, NULL); }

/* Runs the record at R (its op already read) through the handle. */
static int run_record(lr_store *s, enum op op, reader *r, const char **what) {
    switch (op) {
    case OP_BEGIN:
        *what = "BEGIN";
        return lr_sq_begin(s);
    case OP_COMMIT: {
        *what = "COMMIT";
        lr_store_after_fn fn;
        void *ud;
        memcpy(&fn, r->p, sizeof fn);
        r->p += sizeof fn;
        memcpy(&ud, r->p, sizeof ud);
        r->p += sizeof ud;
        uint64_t arg = (uint64_t)get_i64(r);
        int rc = lr_sq_commit(s);
        if (rc == LR_OK && fn) fn(ud, arg);
        return rc;
    }
    case OP_EVENT: {
        *what = "journaling an event";
        int64_t seq = get_i64(r);
        lr_time at = get_i64(r);
        const char *type = get_str(r), *lead = get_str(r);
        size_t len;
        const char *json = get_bytes(r, &len);
        return lr_sq_append_event(s, seq, at, type, lead, json, len);
    }
    case OP_LEAD: {
        *what = "storing a lead";
        const char *id = get_str(r), *source = get_str(r);
        lr_time received = get_i64(r);
        size_t len;
        const char *body = get_bytes(r, &len);
        const unsigned char *hash = (const unsigned char *)get_bytes(r, NULL);
        const char *state = get_str(r), *agent = get_str(r);
        return lr_sq_add_lead(s, id, source, received, body, len, hash, state, agent);
    }
    case OP_DECISION: {
        *what = "storing a decision";
        int64_t id = get_i64(r), seq = get_i64(r);
        lr_time at = get_i64(r);
        const char *lead = get_str(r), *action = get_str(r), *agent = get_str(r);
        lr_sq_packed pk;
        pk.body = get_bytes(r, &pk.len);
        pk.why = get_bytes(r, &pk.wlen);
        return lr_sq_insert_decision(s, id, seq, at, lead, action, agent, &pk, NULL);
    }
    case OP_STATE: {
        *what = "updating a lead";
        const char *id = get_str(r), *state = get_str(r), *agent = get_str(r);
        return lr_sq_set_lead_state(s, id, state, agent);
    }
    case OP_DELIVERY: {
        *what = "storing a delivery";
        int64_t id = get_i64(r), decision = get_i64(r);
        lr_time at = get_i64(r);
        int64_t after_ms = get_i64(r);
        const char *lead = get_str(r), *action = get_str(r), *agent = get_str(r);
        const char *channel = get_str(r), *recipient = get_str(r), *status = get_str(r);
        const char *error = get_str(r);
        bool brief = get_i64(r) != 0;
        return lr_sq_add_delivery(s, id, decision, at, after_ms, lead, action, agent, channel,
                                  recipient, status, error, brief, NULL);
    }
    }
    *what = "a deferred write";
    snprintf(s->err, sizeof s->err, "unknown deferred write %d", (int)op);
    return LR_EIO;
}

static void *defer_main(void *arg) {
    lr_sq_defer *d = arg;
    pthread_setname_np(pthread_self(), "lr-store");
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->head && !d->stopping) pthread_cond_wait(&d->work, &d->mu);
        if (!d->head) break;        /* stopping, nothing left */
        block *bl = d->head;
        d->head = bl->next;
        if (!d->head) d->tail = NULL;
        d->queued--;
        d->busy = true;
        pthread_mutex_unlock(&d->mu);

        reader r = { bl->b.data, bl->b.data + bl->b.len };
        while (r.p < r.end) {
            enum op op = (enum op)(unsigned char)*r.p++;
            const char *what = "";
            int rc = run_record(d->s, op, &r, &what);
            if (rc != LR_OK) d->fatal(what, rc, d->ud);     /* does not return */
        }

        pthread_mutex_lock(&d->mu);
        d->busy = false;
        if (d->nspare < FREE_MAX) {
            lr_buf_reset(&bl->b);
            bl->next = d->spare;
            d->spare = bl;
            d->nspare++;
        } else {
            lr_buf_release(&bl->b);
            free(bl);
        }
        pthread_cond_broadcast(&d->room);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

/* ---- queueing ---------------------------------------------------------------- */

/* Hands the current block over (when it holds anything), waiting for room
 * in the queue, and takes a fresh one. LR_ENOMEM: the current block stays
 * (nothing lost). */
static int hand_over(lr_sq_defer *d) {
    if (d->cur->b.len == 0) return LR_OK;
    pthread_mutex_lock(&d->mu);
    block *fresh = d->spare;
    if (fresh) {
        d->spare = fresh->next;
        d->nspare--;
    }
    pthread_mutex_unlock(&d->mu);
    if (!fresh) {
        fresh = calloc(1, sizeof *fresh);
        if (!fresh) return LR_ENOMEM;
        lr_buf_init(&fresh->b);
    }
    block *bl = d->cur;
    d->cur = fresh;
    bl->next = NULL;
    pthread_mutex_lock(&d->mu);
    while (d->queued >= QUEUE_MAX) pthread_cond_wait(&d->room, &d->mu);
    if (d->tail) d->tail->next = bl; else d->head = bl;
    d->tail = bl;
    d->queued++;
    pthread_cond_signal(&d->work);
    pthread_mutex_unlock(&d->mu);
    return LR_OK;
}

/* Ends a record appended from MARK: hands the block over when full, or
 * takes the record back when RC says it could not be written whole. */
static int end_record(lr_sq_defer *d, size_t mark, int rc) {
    if (rc != LR_OK) {
        d->cur->b.len = mark;
        return rc;
    }
    return d->cur->b.len >= BLOCK_BYTES ? hand_over(d) : LR_OK;
}

int lr_sq_defer_begin(lr_store *s) {
    lr_sq_defer *d = s->defer;
    size_t mark = d->cur->b.len;
    return end_record(d, mark, put_u8(&d->cur->b, OP_BEGIN));
}

int lr_sq_defer_commit(lr_store *s, lr_store_after_fn fn, void *ud, uint64_t arg) {
    lr_sq_defer *d = s->defer;
    lr_buf *b = &d->cur->b;
    size_t mark = b->len;
    int rc = put_u8(b, OP_COMMIT);
    if (rc == LR_OK) rc = lr_buf_append(b, &fn, sizeof fn);
    if (rc == LR_OK) rc = lr_buf_append(b, &ud, sizeof ud);
    if (rc == LR_OK) rc = put_i64(b, (int64_t)arg);
    if (rc != LR_OK) return end_record(d, mark, rc);
    return hand_over(d);            /* a commit starts its flush as soon as it can */
}

int lr_sq_defer_event(lr_store *s, int64_t seq, lr_time at, const char *type, const char *lead,
                      const char *json, size_t len) {
    lr_sq_defer *d = s->defer;
    lr_buf *b = &d->cur->b;
    size_t mark = b->len;
    int rc = put_u8(b, OP_EVENT);
    if (rc == LR_OK) rc = put_i64(b, seq);
    if (rc == LR_OK) rc = put_i64(b, at);
    if (rc == LR_OK) rc = put_str(b, type);
    if (rc == LR_OK) rc = put_str(b, lead);
    if (rc == LR_OK) rc = put_bytes(b, json, len, false);
    return end_record(d, mark, rc);
}

int lr_sq_defer_lead(lr_store *s, const char *id, const char *source, lr_time received,
                     const char *body, size_t len, const unsigned char hash[32],
                     const char *state, const char *agent) {
    lr_sq_defer *d = s->defer;
    lr_buf *b = &d->cur->b;
    size_t mark = b->len;
    int rc = put_u8(b, OP_LEAD);
    if (rc == LR_OK) rc = put_str(b, id);
    if (rc == LR_OK) rc = put_str(b, source);
    if (rc == LR_OK) rc = put_i64(b, received);
    if (rc == LR_OK) rc = put_bytes(b, body, len, false);
    if (rc == LR_OK) rc = put_bytes(b, hash, 32, false);
    if (rc == LR_OK) rc = put_str(b, state);
    if (rc == LR_OK) rc = put_str(b, agent);
    return end_record(d, mark, rc);
}

int lr_sq_defer_decision(lr_store *s, int64_t seq, lr_time at, const char *lead,
                         const char *action, const char *agent, const lr_sq_packed *pk,
                         int64_t *id) {
    lr_sq_defer *d = s->defer;
    lr_buf *b = &d->cur->b;
    size_t mark = b->len;
    int64_t did = d->next_decision + 1;
    int rc = put_u8(b, OP_DECISION);
    if (rc == LR_OK) rc = put_i64(b, did);
    if (rc == LR_OK) rc = put_i64(b, seq);
    if (rc == LR_OK) rc = put_i64(b, at);
    if (rc == LR_OK) rc = put_str(b, lead);
    if (rc == LR_OK) rc = put_str(b, action);
    if (rc == LR_OK) rc = put_str(b, agent);
    if (rc == LR_OK) rc = put_bytes(b, pk->body, pk->len, false);
    if (rc == LR_OK) rc = put_bytes(b, pk->why, pk->wlen, pk->why == NULL);
    if ((rc = end_record(d, mark, rc)) != LR_OK) return rc;
    d->next_decision = did;
    if (id) *id = did;
    return LR_OK;
}

int lr_sq_defer_state(lr_store *s, const char *id, const char *state, const char *agent) {
    lr_sq_defer *d = s->defer;
    lr_buf *b = &d->cur->b;
    size_t mark = b->len;
    int rc = put_u8(b, OP_STATE);
    if (rc == LR_OK) rc = put_str(b, id);
    if (rc == LR_OK) rc = put_str(b, state);
    if (rc == LR_OK) rc = put_str(b, agent);
    return end_record(d, mark, rc);
}

int lr_sq_defer_delivery(lr_store *s, int64_t decision, lr_time at, int64_t after_ms,
                         const char *lead, const char *action, const char *agent,
                         const char *channel, const char *recipient, const char *status,
                         const char *error, bool brief, int64_t *id) {
    lr_sq_defer *d = s->defer;
    lr_buf *b = &d->cur->b;
    size_t mark = b->len;
    int64_t did = d->next_delivery + 1;
    int rc = put_u8(b, OP_DELIVERY);
    if (rc == LR_OK) rc = put_i64(b, did);
    if (rc == LR_OK) rc = put_i64(b, decision);
    if (rc == LR_OK) rc = put_i64(b, at);
    if (rc == LR_OK) rc = put_i64(b, after_ms);
    if (rc == LR_OK) rc = put_str(b, lead);
    if (rc == LR_OK) rc = put_str(b, action);
    if (rc == LR_OK) rc = put_str(b, agent);
    if (rc == LR_OK) rc = put_str(b, channel);
    if (rc == LR_OK) rc = put_str(b, recipient);
    if (rc == LR_OK) rc = put_str(b, status);
    if (rc == LR_OK) rc = put_str(b, error);
    if (rc == LR_OK) rc = put_i64(b, brief);
    if ((rc = end_record(d, mark, rc)) != LR_OK) return rc;
    d->next_delivery = did;
    if (id) *id = did;
    return LR_OK;
}

void lr_sq_defer_wait(lr_store *s) {
    lr_sq_defer *d = s->defer;
    while (hand_over(d) != LR_OK) {
        /* no memory for a fresh block: let the thread run what is queued,
         * whose blocks come back as spares, and try again */
        pthread_mutex_lock(&d->mu);
        while (d->head || d->busy) pthread_cond_wait(&d->room, &d->mu);
        bool none = !d->spare;
        pthread_mutex_unlock(&d->mu);
        if (none) d->fatal("queueing a write", LR_ENOMEM, d->ud);
    }
    pthread_mutex_lock(&d->mu);
    while (d->head || d->busy) pthread_cond_wait(&d->room, &d->mu);
    pthread_mutex_unlock(&d->mu);
}

/* ---- start, stop --------------------------------------------------------------- */

static int read_max(lr_store *s, int stmt, int64_t *out) {
    sqlite3_stmt *st = s->st[stmt];
    int src = sqlite3_step(st);
    int64_t v = src == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    int rc = lr_sq_finish(s, st, src);
    if (rc == LR_OK) *out = v;
    return rc;
}

int lr_store_defer_start(lr_store *s, lr_store_fatal_fn fatal, void *ud) {
    if (s->defer) return LR_OK;
    if (!fatal) return LR_EINVAL;
    lr_sq_defer *d = calloc(1, sizeof *d);
    if (!d) return LR_ENOMEM;
    d->s = s;
    d->fatal = fatal;
    d->ud = ud;
    int rc = read_max(s, SQ_DEC_LAST_ID, &d->next_decision);
    if (rc == LR_OK) rc = read_max(s, SQ_DLV_LAST_ID, &d->next_delivery);
    if (rc == LR_OK && !(d->cur = calloc(1, sizeof *d->cur))) {
        snprintf(s->err, sizeof s->err, "out of memory");
        rc = LR_ENOMEM;
    }
    if (rc != LR_OK) {
        free(d->cur);
        free(d);
        return rc;
    }
    lr_buf_init(&d->cur->b);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->work, NULL);
    pthread_cond_init(&d->room, NULL);
    if (pthread_create(&d->thread, NULL, defer_main, d) != 0) {
        pthread_cond_destroy(&d->room);
        pthread_cond_destroy(&d->work);
        pthread_mutex_destroy(&d->mu);
        free(d->cur);
        free(d);
        snprintf(s->err, sizeof s->err, "cannot start the store's thread");
        return LR_ENOMEM;
    }
    s->defer = d;
    return LR_OK;
}

void lr_store_defer_stop(lr_store *s) {
    lr_sq_defer *d = s ? s->defer : NULL;
    if (!d) return;
    lr_sq_defer_wait(s);
    pthread_mutex_lock(&d->mu);
    d->stopping = true;
    pthread_cond_signal(&d->work);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    s->defer = NULL;
    for (block *bl = d->spare, *next; bl; bl = next) {
        next = bl->next;
        lr_buf_release(&bl->b);
        free(bl);
    }
    lr_buf_release(&d->cur->b);
    free(d->cur);
    pthread_cond_destroy(&d->room);
    pthread_cond_destroy(&d->work);
    pthread_mutex_destroy(&d->mu);
    free(d);
}
