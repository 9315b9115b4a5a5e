/* reads.c -- commands that only read the store: a lead, a page of leads,
 * the statistics, deliveries. They run on the caller's (HTTP) thread, on
 * a small pool of store handles of their own, not on the writer: a long
 * read (GET /v1/stats on millions of rows takes seconds) then never holds
 * up routing.
 *
 * Consistency: a reader sees what was committed when its statement began.
 * A reply to a write leaves only after its commit, so a client always
 * reads its own writes. The statistics' "queues" member is the engine's,
 * so it comes from the writer (LR_CMD_QUEUES), after the store's part.
 *
 * Invariant: a reader handle is used by one thread at a time (taken from
 * the pool under rmu, given back after the command).
 */
#include "server/service_impl.h"
#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool lr_service_is_read(lr_cmd_type t) {
    return t == LR_CMD_GET_LEAD || t == LR_CMD_LIST_LEADS || t == LR_CMD_STATS ||
           t == LR_CMD_LIST_DELIVERIES || t == LR_CMD_GET_DELIVERY;
}

/* Takes a free reader, opening one in an empty slot when the pool has
 * room; waits for one otherwise. NULL (with a message in ERR) when none
 * can be opened. */
static lr_store *take(lr_service *svc, char *err, size_t errlen) {
    size_t slot;
    pthread_mutex_lock(&svc->rmu);
    for (;;) {
        for (size_t i = 0; i < svc->nreaders; i++) {
            if (!svc->reader_busy[i] && svc->readers[i]) {
                svc->reader_busy[i] = true;
                pthread_mutex_unlock(&svc->rmu);
                return svc->readers[i];
            }
        }
        for (slot = 0; slot < svc->nreaders; slot++)    /* a slot whose open failed */
            if (!svc->reader_busy[slot] && !svc->readers[slot]) break;
        if (slot < svc->nreaders) break;
        if (svc->nreaders < LR_READERS) {
            slot = svc->nreaders++;
            svc->readers[slot] = NULL;
            break;
        }
        pthread_cond_wait(&svc->reader_free, &svc->rmu);
    }
    svc->reader_busy[slot] = true;
    pthread_mutex_unlock(&svc->rmu);
    lr_store *s = NULL;
    int rc = lr_store_open(svc->opts.db_path, svc->opts.sync, &s, err, errlen);
    pthread_mutex_lock(&svc->rmu);
    if (rc == LR_OK) svc->readers[slot] = s;
    else svc->reader_busy[slot] = false;
    pthread_cond_signal(&svc->reader_free);
    pthread_mutex_unlock(&svc->rmu);
    return s;
}

static void give_back(lr_service *svc, lr_store *s) {
    pthread_mutex_lock(&svc->rmu);
    for (size_t i = 0; i < svc->nreaders; i++)
        if (svc->readers[i] == s) svc->reader_busy[i] = false;
    pthread_cond_signal(&svc->reader_free);
    pthread_mutex_unlock(&svc->rmu);
}

void lr_service_close_readers(lr_service *svc) {
    for (size_t i = 0; i < svc->nreaders; i++) lr_store_close(svc->readers[i]);
    svc->nreaders = 0;
}

/* A store error on a reader: the command fails, the server goes on. */
static void read_failed(lr_service *svc, lr_cmd *cmd, lr_store *s, const char *what) {
    char msg[400];
    snprintf(msg, sizeof msg, "%s: %s", what, s ? lr_store_errmsg(s) : "no store");
    lr_service_reply_error(svc, cmd, 503, "store_unavailable", msg);
}

/* STATS: the store's object, then the engine's queues from the writer. */
static void stats(lr_service *svc, lr_store *s, lr_cmd *cmd) {
    lr_buf *out = &cmd->body;
    int rc = lr_store_stats_json(s, out);
    if (rc != LR_OK) {
        read_failed(svc, cmd, s, "computing stats");
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

void lr_service_read(lr_service *svc, lr_cmd *cmd) {
    cmd->content_type = "application/json";
    cmd->status = 500;
    lr_buf_reset(&cmd->body);
    char err[512] = "";
    lr_store *s = take(svc, err, sizeof err);
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
        else if (rc != LR_OK) read_failed(svc, cmd, s, "reading a lead");
        break;
    case LR_CMD_LIST_LEADS:
        rc = lr_store_list_leads(s, &cmd->query, &cmd->body);
        if (rc == LR_EINVAL) lr_service_reply_error(svc, cmd, 400, "invalid_cursor", "the cursor is not valid");
        else if (rc != LR_OK) read_failed(svc, cmd, s, "listing leads");
        break;
    case LR_CMD_STATS:
        stats(svc, s, cmd);
        give_back(svc, s);
        return;
    case LR_CMD_LIST_DELIVERIES:
        rc = lr_store_list_deliveries(s, cmd->deliveries.status, cmd->deliveries.channel,
                                      cmd->deliveries.limit, cmd->deliveries.cursor, &cmd->body);
        if (rc == LR_EINVAL) lr_service_reply_error(svc, cmd, 400, "invalid_cursor", "the cursor is not valid");
        else if (rc != LR_OK) read_failed(svc, cmd, s, "listing deliveries");
        break;
    case LR_CMD_GET_DELIVERY:
        rc = lr_delivery_id_parse(cmd->id, &id);
        if (rc == LR_OK) rc = lr_store_delivery_json(s, id, &cmd->body);
        if (rc == LR_ENOENT || rc == LR_EINVAL)
            lr_service_reply_error(svc, cmd, 404, "not_found", "no such delivery");
        else if (rc != LR_OK) read_failed(svc, cmd, s, "reading a delivery");
        break;
    default:
        rc = LR_EINVAL;
        lr_service_reply_error(svc, cmd, 500, "internal", "not a read command");
        break;
    }
    if (rc == LR_OK) cmd->status = 200;
    give_back(svc, s);
}
