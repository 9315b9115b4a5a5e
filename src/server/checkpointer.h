/* checkpointer.h -- a thread that keeps the WAL copied into the database
 * file in the background, on a store handle of its own, and keeps the WAL
 * from growing: PASSIVE checkpoints (they take no lock a writer needs)
 * every interval, and once the WAL passes ~40 MiB, PASSIVE ones until
 * little is left, then a RESTART one, for which the writer waits a few
 * milliseconds. Without it the writer checkpoints inside one of its
 * commits every ~40 MiB of WAL, copying up to an interval's worth of
 * pages while that commit's requests wait (measured: 25-30 commits of
 * 16-64 ms in 8 s at 64 connections, which made the p99).
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
