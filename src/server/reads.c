/* reads.c -- commands that only read the store: a lead, a page of leads,
 * the statistics, deliveries. They run on reader threads (LR_READERS), each
 * with a store handle of its own, not on the writer and not on the HTTP
 * threads: a long read (GET /v1/stats on millions of rows takes seconds)
 * then holds up neither routing nor other requests.
 *
 * Consistency: a reader sees what was committed when its statement began,
 * and answers only once that is on disk (lr_flusher_barrier: at most one
 * flush later). A reply to a write leaves only after its commit is on
 * disk, so a client always reads its own writes. The statistics' "queues"
 * member is the engine's, so it comes from the writer (LR_CMD_QUEUES),
 * after the store's part.
 *
 * The statistics read every row of the store (seconds on a million leads,
 * and their sorts take memory): at most LR_READERS_STATS readers compute
 * them at once, and the others take the commands queued behind them, so
 * a few dashboards asking for stats together do not hold up the reads of
 * leads (6 at once once made a GET /v1/leads/{id} wait 24.7 s); a reader
 * gives the memory a stats read freed back to the system.
 *
 * Invariant: the queue (rhead, rtail), rstats and rstopping are guarded by
 * rmu; a store handle belongs to its thread.
 */
#include "server/service_impl.h"
#include "core/trim.h"
#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lr_service_is_read(lr_cmd_type t) {
    return t == LR_CMD_GET_LEAD || t == LR_CMD_LIST_LEADS || t == LR_CMD_STATS ||
           t == LR_CMD_LIST_DELIVERIES || t == LR_CMD_GET_DELIVERY;
}

/* A store error on a reader: the command fails, the server goes on. */
/* A read that failed with RC: damaged data is a 500 (asking again will not
 * help), anything else a 503 (the store busy or failing for now). */
static void read_failed(lr_service *svc, lr_cmd *cmd, lr_store *s, const char *what, int rc) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s: %s", what, s ? lr_store_errmsg(s) : "no store");
    if (rc == LR_EDAMAGED) lr_service_reply_error(svc, cmd, 500, "internal", msg);
    else lr_service_reply_error(svc, cmd, 503, "store_unavailable", msg);
}

/* STATS: the store's object, then the engine's queues from the writer. */
static void stats(lr_service *svc, lr_store *s, lr_cmd *cmd) {
    lr_buf *out = &cmd->body;
    int rc = lr_store_stats_json(s, cmd->since, cmd->until, out);
    if (rc != LR_OK) {
        read_failed(svc, cmd, s, "computing stats", rc);
        return;
    }
    lr_cmd q;
    memset(&q, 0, sizeof q);
    q.type = LR_CMD_QUEUES;
    lr_service_call(svc, &q);
    if (q.status == 200 && out->len && out->data[out->len - 1] == '}') {
        out->len--;
        if (lr_buf_puts(out, ",\"queues\":") != LR_OK ||
            lr_buf_append(out, q.body.data, q.body.len) != LR_OK || lr_buf_putc(out, '}') != LR_OK)
            lr_service_fatal(svc, "out of memory", LR_ENOMEM);
        cmd->status = 200;
    } else {
        cmd->status = q.status;
        lr_buf_reset(out);
        lr_buf_append(out, q.body.data, q.body.len);
    }
    lr_cmd_release(&q);
}

/* Runs read command CMD on handle S (NULL: it could not be opened; ERR
 * says why). */
static void run(lr_service *svc, lr_store *s, lr_cmd *cmd, const char *err) {
    cmd->content_type = "application/json";
    cmd->status = 500;
    lr_buf_reset(&cmd->body);
    if (!s) {
        lr_service_reply_error(svc, cmd, 503, "store_unavailable", err);
        return;
    }
    int rc = LR_OK;
    int64_t id = 0;
    switch (cmd->type) {
    case LR_CMD_GET_LEAD:
        rc = lr_store_lead_json(s, cmd->id, cmd->scope_agent, &cmd->body);
        if (rc == LR_ENOENT) lr_service_reply_error(svc, cmd, 404, "not_found", "no such lead");
        else if (rc != LR_OK) read_failed(svc, cmd, s, "reading a lead", rc);
        break;
    case LR_CMD_LIST_LEADS:
        rc = lr_store_list_leads(s, &cmd->query, &cmd->body);
        if (rc == LR_EINVAL) lr_service_reply_error(svc, cmd, 400, "invalid_cursor", "the cursor is not valid");
        else if (rc != LR_OK) read_failed(svc, cmd, s, "listing leads", rc);
        break;
    case LR_CMD_STATS:
        stats(svc, s, cmd);
        return;
    case LR_CMD_LIST_DELIVERIES:
        rc = lr_store_list_deliveries(s, cmd->deliveries.status, cmd->deliveries.channel,
                                      cmd->deliveries.limit, cmd->deliveries.cursor, &cmd->body);
        if (rc == LR_EINVAL) lr_service_reply_error(svc, cmd, 400, "invalid_cursor", "the cursor is not valid");
        else if (rc != LR_OK) read_failed(svc, cmd, s, "listing deliveries", rc);
        break;
    case LR_CMD_GET_DELIVERY:
        rc = lr_delivery_id_parse(cmd->id, &id);
        if (rc == LR_OK) rc = lr_store_delivery_json(s, id, &cmd->body);
        if (rc == LR_ENOENT || rc == LR_EINVAL)
            lr_service_reply_error(svc, cmd, 404, "not_found", "no such delivery");
        else if (rc != LR_OK) read_failed(svc, cmd, s, "reading a delivery", rc);
        break;
    default:
        rc = LR_EINVAL;
        lr_service_reply_error(svc, cmd, 500, "internal", "not a read command");
        break;
    }
    if (rc == LR_OK) cmd->status = 200;
}

/* Takes the first queued command this reader may run: any but a stats
 * read while LR_READERS_STATS of them run. NULL when there is none. */
static lr_cmd *take(lr_service *svc) {
    lr_cmd *prev = NULL, *cmd = svc->rhead;
    while (cmd && cmd->type == LR_CMD_STATS && svc->rstats >= LR_READERS_STATS) {
        prev = cmd;
        cmd = cmd->next;
    }
    if (!cmd) return NULL;
    if (prev) prev->next = cmd->next; else svc->rhead = cmd->next;
    if (svc->rtail == cmd) svc->rtail = prev;
    cmd->next = NULL;
    if (cmd->type == LR_CMD_STATS) svc->rstats++;
    return cmd;
}

static void *reader_main(void *arg) {
    lr_service *svc = arg;
    pthread_setname_np(pthread_self(), "lr-reader");
    lr_store *s = NULL;
    pthread_mutex_lock(&svc->rmu);
    for (;;) {
        lr_cmd *cmd;
        while (!(cmd = take(svc)) && !svc->rstopping) pthread_cond_wait(&svc->rwork, &svc->rmu);
        if (!cmd) break;        /* stopping; a stats read still queued goes to the reader
                                   computing one, which takes it when it is done */
        pthread_mutex_unlock(&svc->rmu);

        char err[512] = "";
        bool gone = cmd->gone_fn && cmd->gone_fn(cmd->done_ud);
        if (gone) {
            /* nobody to answer: a pile of GET /v1/stats from clients that
             * gave up would hold up every read queued behind them */
            lr_service_reply_error(svc, cmd, 503, "client_gone",
                                   "the client closed its connection before the read ran");
            pthread_mutex_lock(&svc->rmu);
            svc->rgone++;
            pthread_mutex_unlock(&svc->rmu);
        } else {
            if (!s && lr_store_open_again(svc->opts.db_path, svc->opts.sync, &s, err, sizeof err) != LR_OK)
                s = NULL;                   /* tried again with the next command */
            run(svc, s, cmd, err);
            /* What was read may come from a commit whose flush is still
             * running: nothing is shown before it is on disk. */
            if (svc->flusher) lr_flusher_barrier(svc->flusher);
        }
        bool was_stats = cmd->type == LR_CMD_STATS;
        cmd->done_fn(cmd, cmd->done_ud);    /* CMD may be freed from here on */
        if (was_stats && !gone) lr_trim();  /* the sorts' memory, back to the system */

        pthread_mutex_lock(&svc->rmu);
        if (was_stats) {
            svc->rstats--;
            pthread_cond_broadcast(&svc->rwork);    /* a queued stats read may go now */
        }
    }
    pthread_mutex_unlock(&svc->rmu);
    lr_store_close(s);
    return NULL;
}

int lr_service_start_readers(lr_service *svc, char *err, size_t errlen) {
    for (size_t i = 0; i < LR_READERS; i++) {
        if (pthread_create(&svc->rthreads[i], NULL, reader_main, svc) != 0) {
            snprintf(err, errlen, "cannot start a reader thread");
            return LR_ENOMEM;
        }
        svc->nrthreads++;
    }
    return LR_OK;
}

void lr_service_read_submit(lr_service *svc, lr_cmd *cmd) {
    pthread_mutex_lock(&svc->rmu);
    if (svc->rstopping || !svc->nrthreads) {
        pthread_mutex_unlock(&svc->rmu);
        lr_service_reply_error(svc, cmd, 503, "shutting_down", "the server is stopping");
        cmd->done_fn(cmd, cmd->done_ud);
        return;
    }
    if (svc->rtail) svc->rtail->next = cmd; else svc->rhead = cmd;
    svc->rtail = cmd;
    pthread_cond_signal(&svc->rwork);
    pthread_mutex_unlock(&svc->rmu);
}

void lr_service_refuse_reads(lr_service *svc) {
    pthread_mutex_lock(&svc->rmu);
    svc->rstopping = true;          /* later ones are refused by lr_service_read_submit */
    lr_cmd *cmd = svc->rhead;
    svc->rhead = svc->rtail = NULL;
    pthread_cond_broadcast(&svc->rwork);
    pthread_mutex_unlock(&svc->rmu);
    while (cmd) {
        lr_cmd *next = cmd->next;
        cmd->next = NULL;
        lr_service_reply_error(svc, cmd, 503, "shutting_down", "the server is stopping");
        cmd->done_fn(cmd, cmd->done_ud);    /* CMD may be freed from here on */
        cmd = next;
    }
}

void lr_service_stop_readers(lr_service *svc) {
    pthread_mutex_lock(&svc->rmu);
    svc->rstopping = true;
    pthread_cond_broadcast(&svc->rwork);
    pthread_mutex_unlock(&svc->rmu);
    for (size_t i = 0; i < svc->nrthreads; i++) pthread_join(svc->rthreads[i], NULL);
    svc->nrthreads = 0;
}
