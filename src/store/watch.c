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
 * has them open, and nothing of leadrouter's makes the database file
 * smaller (no VACUUM, no auto_vacuum): a path that names nothing, another
 * file, or a database file shorter than it was (`> DB`, `truncate -s`) is
 * somebody else's doing, and nothing more may be acknowledged. */
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
    off_t db_size;                  /* the largest seen */
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
        w->db_size = st.st_size;
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
 * SIZE (the database file's): the largest size seen, which the file may
 * not fall below (a WAL's size goes down when SQLite starts it over). */
static const char *moved(const char *path, dev_t dev, ino_t ino, off_t *size) {
    static char cut[96];            /* the caller stops the process */
    struct stat st;
    if (stat(path, &st) != 0)
        return errno == ENOENT ? "was deleted or moved away" : "cannot be looked at";
    if (st.st_dev != dev || st.st_ino != ino) return "now names another file";
    if (!size) return NULL;
    if (st.st_size == 0 && *size > 0) return "was emptied (0 bytes)";
    if (st.st_size < *size) {
        snprintf(cut, sizeof cut, "was cut short (%lld bytes, from %lld)",
                 (long long)st.st_size, (long long)*size);
        return cut;
    }
    *size = st.st_size;
    return NULL;
}

void lr_store_watch_check(lr_store_watch *w) {
    if (!w) return;
    const char *db = moved(w->db_path, w->db_dev, w->db_ino, &w->db_size);
    const char *wal = moved(w->wal_path, w->wal_dev, w->wal_ino, NULL);
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
