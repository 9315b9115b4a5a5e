/* replay.h -- a store's journal read and parsed on a thread of its own
 * while the caller applies it: the server's start-up replay.
 *
 * A start replays the whole journal through the engine (service.c). Half
 * of that time is reading the rows (SQLite) and parsing each event's JSON,
 * the other half applying them; the two halves run at once here, in
 * order: entries go from the reading thread to the caller in batches
 * through a short queue, so the caller sees every entry exactly as a
 * plain lr_store_replay() would have given it, parsed.
 */
#ifndef LR_SERVER_REPLAY_H
#define LR_SERVER_REPLAY_H

#include "leadrouter/event.h"
#include "leadrouter/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One journal entry, read and parsed. */
typedef struct lr_replay_entry {
    int64_t seq;
    lr_time at;
    bool config;                    /* a config change: text holds it */
    char *text;                     /* config: owned, LEN bytes and a NUL; the callback
                                       may take it (and set it to NULL) */
    size_t len;
    int parsed;                     /* not config: LR_OK and ev holds the event, or the
                                       parse's error and msg says why */
    lr_event ev;                    /* owned: released after the callback */
    char msg[256];
} lr_replay_entry;

/* Called on the caller's thread for each entry, in seq order. LR_OK goes
 * on; anything else stops the replay and is returned. */
typedef int (*lr_replay_fn)(lr_replay_entry *e, void *ud);

/* Replays the journal of S from its first entry: a thread reads and
 * parses, FN applies. Returns LR_OK after the last entry, FN's value when
 * it stopped, or the read's error (lr_store_replay()'s) after FN has had
 * every entry read before it. Without a second thread (it could not be
 * started) the same runs on the calling thread, one entry at a time. S
 * is the reading thread's until this returns: FN must not use it. */
int lr_replay_journal(lr_store *s, lr_replay_fn fn, void *ud);

#endif
