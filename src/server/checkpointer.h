/* checkpointer.h -- a thread that keeps the WAL copied into the database
 * file in the background (PASSIVE checkpoints on a store handle of its
 * own), so that the checkpoint the writer runs itself every ~40 MiB of
 * WAL, inside a commit whose replies wait for it, finds little left to
 * copy. It never blocks the writer: a PASSIVE checkpoint takes no lock a
 * writer needs.
 */
#ifndef LR_SERVER_CHECKPOINTER_H
#define LR_SERVER_CHECKPOINTER_H

#include "leadrouter/store.h"

typedef struct lr_checkpointer lr_checkpointer;

/* Opens a handle on DB_PATH and starts checkpointing every INTERVAL_MS.
 * Returns LR_OK and *out, or an error with a message in ERR. */
int lr_checkpointer_start(const char *db_path, lr_store_sync sync, int interval_ms,
                          lr_checkpointer **out, char *err, size_t errlen);

/* Stops the thread and closes its handle. Accepts NULL. */
void lr_checkpointer_stop(lr_checkpointer *c);

#endif
