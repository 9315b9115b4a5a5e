/* watch.c -- the store's files still at their paths (store.h, "the
 * store's files").
 *
 * SQLite writes to the database file and the WAL it has open, whatever
 * their paths name now. A store deleted, moved away, or replaced by
 * another file (a backup moved over it) under a running writer takes
 * every commit since with it: a restart opens what the path names. So a
 * writer looks, after its commits and before it acknowledges them, at
 * what the paths name: two stat()s. SQLite deletes the WAL only when the
 * last connection closes and never replaces either file while the writer
 * has them open, and a database file in WAL mode holds its first page at
 * least: a path that names nothing or another file, or a database file
 * emptied in place (`> DB`), is somebody else's doing, and nothing more
 * may be acknowledged. A file cut to another size is not told apart: a
 * checkpoint cuts it too, to its page count, after a VACUUM or with
 * auto_vacuum (an operator's sqlite3 beside the server may do either),
 * and it writes the first page, with the new count, before the pages
 * that make the file longer. */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct lr_store_watch {
    char *db_path;                  /* owned */
    char *wal_path;                 /* owned */
    dev_t db_dev, wal_dev;
    ino_t db_ino, wal_ino;
};

int lr_store_watch_open(lr_store *s, lr_store_watch **out, char *err, size_t errlen) {
    *out = NULL;
    lr_sq_defer_drain(s);           /* the handle is used below */
    const char *db = sqlite3_db_filename(s->db, "main");
    if (!db || !db[0]) return LR_OK;   /* in memory: nothing to watch */
    lr_store_watch *w = calloc(1, sizeof *w);
    if (!w) return LR_ENOMEM;
    if (!(w->db_path = strdup(db)) || !(w->wal_path = strdup(sqlite3_filename_wal(db)))) {
        lr_store_watch_free(w);
        return LR_ENOMEM;
    }
    struct stat st;
    const char *path = w->db_path;
    bool ok = stat(path, &st) == 0;
    if (ok) {
        w->db_dev = st.st_dev;
        w->db_ino = st.st_ino;
        path = w->wal_path;
        ok = stat(path, &st) == 0;
    }
    if (!ok) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        lr_store_watch_free(w);
        return LR_EIO;
    }
    w->wal_dev = st.st_dev;
    w->wal_ino = st.st_ino;
    *out = w;
    return LR_OK;
}

/* NULL when PATH still names the file DEV/INO, else what became of it.
 * EMPTY: a file of 0 bytes is not the file either (the database file; a
 * WAL may be empty). */
static const char *moved(const char *path, dev_t dev, ino_t ino, bool empty) {
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? "was deleted or moved away" : "cannot be looked at";
    if (st.st_dev != dev || st.st_ino != ino) return "now names another file";
    return empty && st.st_size == 0 ? "was emptied (0 bytes)" : NULL;
}

void lr_store_watch_check(lr_store_watch *w) {
    if (!w) return;
    const char *db = moved(w->db_path, w->db_dev, w->db_ino, true);
    const char *wal = moved(w->wal_path, w->wal_dev, w->wal_ino, false);
    if (!db && !wal) return;
    /* The -wal and -shm still at the path stay there: they hold the last
     * commits of the store that was at the path, which a store moved away
     * and back needs (set aside, those would be lost), and which SQLite
     * would apply to another file put there (a backup). */
    if (db) {
        fprintf(stderr, "leadrouter: FATAL: %s %s while the server used it: nothing more is "
                "acknowledged. %s and %s-shm still hold that store's last commits: a store moved "
                "away needs them when it is moved back; before a server starts on another file "
                "put at the path (a backup), move them aside, or SQLite applies them to it and "
                "damages it.\n", w->db_path, db, w->wal_path, w->db_path);
    } else {
        fprintf(stderr, "leadrouter: FATAL: %s %s while the server used it: the commits since "
                "went to a file no path names and are not acknowledged (those not yet copied into "
                "the database file are lost with it).\n", w->wal_path, wal);
    }
    abort();
}

void lr_store_watch_free(lr_store_watch *w) {
    if (!w) return;
    free(w->db_path);
    free(w->wal_path);
    free(w);
}
