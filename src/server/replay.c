/* replay.c -- the journal read and parsed on a thread of its own while the
 * caller applies it (replay.h).
 *
 * The reading thread runs lr_store_replay() and fills batches of entries
 * in a ring of DEPTH slots; the caller takes them in order. Invariants
 * (under mu): taken <= written <= taken + DEPTH; slots written - 1 down to
 * taken are the caller's to apply, the slot `written % DEPTH` the
 * reader's to fill (when written < taken + DEPTH); once `stop` is set the
 * reader publishes nothing more and releases what it holds, and the
 * caller, after joining it, releases what was published and not taken.
 */
#include "server/replay.h"
#include "leadrouter/error.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 256                   /* entries handed over at once */
#define DEPTH 4                     /* batches read ahead at most */

typedef struct batch {
    size_t n;
    lr_replay_entry e[BATCH];
} batch;

typedef struct pipe {
    lr_store *s;
    lr_replay_fn fn;
    void *ud;
    bool threaded;                  /* false: each entry applied as it is read */
    lr_replay_entry one;            /* !threaded: the entry being applied */
    pthread_mutex_t mu;
    pthread_cond_t can_read, can_apply;
    batch *slot[DEPTH];
    uint64_t written, taken;        /* batches published, batches applied */
    batch *cur;                     /* the reader's batch being filled, or NULL */
    bool stop;                      /* the caller stopped: read no further */
    bool done;                      /* the reader has ended; read_rc is its result */
    int read_rc;
} pipe;

static void entry_release(lr_replay_entry *e) {
    free(e->text);
    e->text = NULL;
    lr_event_release(&e->ev);
}

/* Fills E from one journal row. On failure (out of memory) E owns nothing. */
static int entry_fill(lr_replay_entry *e, int64_t seq, lr_time at, const char *type,
                      const char *json, size_t len) {
    e->seq = seq;
    e->at = at;
    e->config = strcmp(type, "config") == 0;
    e->len = len;
    e->text = NULL;
    e->msg[0] = '\0';
    if (e->config) {
        memset(&e->ev, 0, sizeof e->ev);
        e->parsed = LR_OK;
        if (!(e->text = malloc(len + 1))) return LR_ENOMEM;
        memcpy(e->text, json, len);
        e->text[len] = '\0';
        return LR_OK;
    }
    e->parsed = lr_event_parse_journal(json, len, &e->ev, e->msg, sizeof e->msg);
    return LR_OK;
}

/* Hands the full batch over and takes the next free slot; returns 1 once
 * the caller has stopped (nothing is then the reader's). */
static int publish(pipe *p) {
    pthread_mutex_lock(&p->mu);
    p->written++;
    pthread_cond_signal(&p->can_apply);
    while (!p->stop && p->written - p->taken == DEPTH) pthread_cond_wait(&p->can_read, &p->mu);
    int stopped = p->stop;
    p->cur = stopped ? NULL : p->slot[p->written % DEPTH];
    if (p->cur) p->cur->n = 0;
    pthread_mutex_unlock(&p->mu);
    return stopped;
}

/* lr_store_replay()'s callback. */
static int read_one(int64_t seq, lr_time at, const char *type, const char *json, size_t len,
                    void *ud) {
    pipe *p = ud;
    if (!p->threaded) {
        int rc = entry_fill(&p->one, seq, at, type, json, len);
        if (rc == LR_OK) rc = p->fn(&p->one, p->ud);
        entry_release(&p->one);
        return rc;
    }
    int rc = entry_fill(&p->cur->e[p->cur->n], seq, at, type, json, len);
    if (rc != LR_OK) return rc;
    return ++p->cur->n == BATCH ? publish(p) : LR_OK;
}

static void *reader_main(void *arg) {
    pipe *p = arg;
    pthread_setname_np(pthread_self(), "lr-replay");
    int rc = lr_store_replay(p->s, 0, read_one, p);
    pthread_mutex_lock(&p->mu);
    if (p->stop) {
        if (p->cur)
            for (size_t i = 0; i < p->cur->n; i++) entry_release(&p->cur->e[i]);
    } else if (p->cur && p->cur->n) {
        p->written++;               /* the last batch, or what was read before an error */
    }
    p->cur = NULL;
    p->read_rc = rc;
    p->done = true;
    pthread_cond_signal(&p->can_apply);
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int lr_replay_journal(lr_store *s, lr_replay_fn fn, void *ud) {
    pipe *p = calloc(1, sizeof *p);
    if (!p) return LR_ENOMEM;
    p->s = s;
    p->fn = fn;
    p->ud = ud;
    pthread_t th;
    int sync = 0;                   /* how many of mu, can_read, can_apply were made */
    if (pthread_mutex_init(&p->mu, NULL) == 0 && ++sync &&
        pthread_cond_init(&p->can_read, NULL) == 0 && ++sync &&
        pthread_cond_init(&p->can_apply, NULL) == 0 && ++sync) {
        bool slots = true;
        for (int i = 0; slots && i < DEPTH; i++) slots = (p->slot[i] = malloc(sizeof(batch))) != NULL;
        if (slots) {
            p->cur = p->slot[0];
            p->cur->n = 0;
            p->threaded = true;     /* before the thread runs: it reads it */
            p->threaded = pthread_create(&th, NULL, reader_main, p) == 0;
        }
    }
    int rc;
    if (!p->threaded) {             /* one thread: read, parse and apply in turn */
        rc = lr_store_replay(s, 0, read_one, p);
    } else {
        rc = LR_OK;
        for (;;) {
            pthread_mutex_lock(&p->mu);
            while (p->taken == p->written && !p->done) pthread_cond_wait(&p->can_apply, &p->mu);
            if (p->taken == p->written) {       /* done, and everything applied */
                rc = p->read_rc;
                pthread_mutex_unlock(&p->mu);
                break;
            }
            batch *b = p->slot[p->taken % DEPTH];
            pthread_mutex_unlock(&p->mu);
            for (size_t i = 0; i < b->n; i++) {
                if (rc == LR_OK) rc = fn(&b->e[i], ud);
                entry_release(&b->e[i]);
            }
            pthread_mutex_lock(&p->mu);
            p->taken++;
            if (rc != LR_OK) p->stop = true;
            pthread_cond_signal(&p->can_read);
            pthread_mutex_unlock(&p->mu);
            if (rc != LR_OK) break;
        }
        pthread_join(th, NULL);
        for (; p->taken < p->written; p->taken++) {     /* read ahead of a stop */
            batch *b = p->slot[p->taken % DEPTH];
            for (size_t i = 0; i < b->n; i++) entry_release(&b->e[i]);
        }
    }
    for (int i = 0; i < DEPTH; i++) free(p->slot[i]);
    if (sync > 2) pthread_cond_destroy(&p->can_apply);
    if (sync > 1) pthread_cond_destroy(&p->can_read);
    if (sync > 0) pthread_mutex_destroy(&p->mu);
    free(p);
    return rc;
}
