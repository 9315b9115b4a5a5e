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

/* A record is written straight into the block's room: its size first
 * (STR_ROOM and BYTES_ROOM for each string), one reservation, then each
 * field at the pointer. */
#define BYTES_ROOM(len) (sizeof(uint32_t) + (len) + 1)
#define STR_ROOM(s) BYTES_ROOM((s) ? strlen(s) : 0)

static char *put_u8(char *p, unsigned v) {
    *p = (char)v;
    return p + 1;
}

static char *put_i64(char *p, int64_t v) {
    memcpy(p, &v, sizeof v);
    return p + sizeof v;
}

static char *put_ptr(char *p, const void *v, size_t size) {
    memcpy(p, v, size);
    return p + size;
}

static char *put_bytes(char *p, const void *v, size_t len, bool null) {
    uint32_t n = null ? NONE : (uint32_t)len;
    memcpy(p, &n, sizeof n);
    p += sizeof n;
    if (null) return p;
    memcpy(p, v, len);
    p[len] = '\0';
    return p + len + 1;
}

static char *put_str(char *p, const char *s) {
    return put_bytes(p, s, s ? strlen(s) : 0, s == NULL);
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

/* Room for a record of SIZE bytes in the current block: where to write
 * it, or NULL (no memory: nothing written). */
static char *begin_record(lr_sq_defer *d, size_t size) {
    lr_buf *b = &d->cur->b;
    return lr_buf_reserve(b, size) == LR_OK ? b->data + b->len : NULL;
}

/* Ends the record whose last byte is before END: hands the block over
 * when full. */
static int end_record(lr_sq_defer *d, char *end) {
    lr_buf *b = &d->cur->b;
    b->len = (size_t)(end - b->data);
    b->data[b->len] = '\0';            /* lr_buf's promise; reserve kept the room */
    return b->len >= BLOCK_BYTES ? hand_over(d) : LR_OK;
}

/* end_record() for a record that took the id after *LAST: once it is in
 * the block, the id is given out (*LAST, and *ID when asked). */
static int end_numbered(lr_sq_defer *d, char *end, int64_t *last, int64_t *id) {
    int rc = end_record(d, end);
    if (rc != LR_OK) return rc;
    ++*last;
    if (id) *id = *last;
    return LR_OK;
}

int lr_sq_defer_begin(lr_store *s) {
    lr_sq_defer *d = s->defer;
    char *p = begin_record(d, 1);
    return p ? end_record(d, put_u8(p, OP_BEGIN)) : LR_ENOMEM;
}

int lr_sq_defer_commit(lr_store *s, lr_store_after_fn fn, void *ud, uint64_t arg) {
    lr_sq_defer *d = s->defer;
    char *p = begin_record(d, 1 + sizeof fn + sizeof ud + sizeof(int64_t));
    if (!p) return LR_ENOMEM;
    p = put_u8(p, OP_COMMIT);
    p = put_ptr(p, &fn, sizeof fn);
    p = put_ptr(p, &ud, sizeof ud);
    p = put_i64(p, (int64_t)arg);
    int rc = end_record(d, p);
    return rc == LR_OK ? hand_over(d) : rc;   /* a commit starts its flush as soon as it can */
}

int lr_sq_defer_event(lr_store *s, int64_t seq, lr_time at, const char *type, const char *lead,
                      const char *json, size_t len) {
    lr_sq_defer *d = s->defer;
    char *p = begin_record(d, 1 + 2 * 8 + STR_ROOM(type) + STR_ROOM(lead) + BYTES_ROOM(len));
    if (!p) return LR_ENOMEM;
    p = put_u8(p, OP_EVENT);
    p = put_i64(p, seq);
    p = put_i64(p, at);
    p = put_str(p, type);
    p = put_str(p, lead);
    p = put_bytes(p, json, len, false);
    return end_record(d, p);
}

int lr_sq_defer_lead(lr_store *s, const char *id, const char *source, lr_time received,
                     const char *body, size_t len, const unsigned char hash[32],
                     const char *state, const char *agent) {
    lr_sq_defer *d = s->defer;
    char *p = begin_record(d, 1 + 8 + STR_ROOM(id) + STR_ROOM(source) + BYTES_ROOM(len) +
                                  BYTES_ROOM(32) + STR_ROOM(state) + STR_ROOM(agent));
    if (!p) return LR_ENOMEM;
    p = put_u8(p, OP_LEAD);
    p = put_str(p, id);
    p = put_str(p, source);
    p = put_i64(p, received);
    p = put_bytes(p, body, len, false);
    p = put_bytes(p, hash, 32, false);
    p = put_str(p, state);
    p = put_str(p, agent);
    return end_record(d, p);
}

int lr_sq_defer_decision(lr_store *s, int64_t seq, lr_time at, const char *lead,
                         const char *action, const char *agent, const lr_sq_packed *pk,
                         int64_t *id) {
    lr_sq_defer *d = s->defer;
    int64_t did = d->next_decision + 1;
    char *p = begin_record(d, 1 + 3 * 8 + STR_ROOM(lead) + STR_ROOM(action) + STR_ROOM(agent) +
                                  BYTES_ROOM(pk->len) + BYTES_ROOM(pk->wlen));
    if (!p) return LR_ENOMEM;
    p = put_u8(p, OP_DECISION);
    p = put_i64(p, did);
    p = put_i64(p, seq);
    p = put_i64(p, at);
    p = put_str(p, lead);
    p = put_str(p, action);
    p = put_str(p, agent);
    p = put_bytes(p, pk->body, pk->len, false);
    p = put_bytes(p, pk->why, pk->wlen, pk->why == NULL);
    return end_numbered(d, p, &d->next_decision, id);
}

int lr_sq_defer_state(lr_store *s, const char *id, const char *state, const char *agent) {
    lr_sq_defer *d = s->defer;
    char *p = begin_record(d, 1 + STR_ROOM(id) + STR_ROOM(state) + STR_ROOM(agent));
    if (!p) return LR_ENOMEM;
    p = put_u8(p, OP_STATE);
    p = put_str(p, id);
    p = put_str(p, state);
    p = put_str(p, agent);
    return end_record(d, p);
}

int lr_sq_defer_delivery(lr_store *s, int64_t decision, lr_time at, int64_t after_ms,
                         const char *lead, const char *action, const char *agent,
                         const char *channel, const char *recipient, const char *status,
                         const char *error, bool brief, int64_t *id) {
    lr_sq_defer *d = s->defer;
    int64_t did = d->next_delivery + 1;
    char *p = begin_record(d, 1 + 5 * 8 + STR_ROOM(lead) + STR_ROOM(action) + STR_ROOM(agent) +
                                  STR_ROOM(channel) + STR_ROOM(recipient) + STR_ROOM(status) +
                                  STR_ROOM(error));
    if (!p) return LR_ENOMEM;
    p = put_u8(p, OP_DELIVERY);
    p = put_i64(p, did);
    p = put_i64(p, decision);
    p = put_i64(p, at);
    p = put_i64(p, after_ms);
    p = put_str(p, lead);
    p = put_str(p, action);
    p = put_str(p, agent);
    p = put_str(p, channel);
    p = put_str(p, recipient);
    p = put_str(p, status);
    p = put_str(p, error);
    p = put_i64(p, brief);
    return end_numbered(d, p, &d->next_delivery, id);
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
