/* store_helpers.h -- a store on a temp file for the store tests: open it
 * new, reopen it, remove it with its WAL and shared-memory files. Shared
 * by test_store.c and test_store_defer.c. */
#ifndef LEADROUTER_TEST_STORE_HELPERS_H
#define LEADROUTER_TEST_STORE_HELPERS_H

#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "schema_undo.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct db {
    char path[64];
    lr_store *s;
} db;

/* Opens a store on a new temp file (the empty file is a new database). */
__attribute__((unused)) static int db_open(db *d, lr_store_sync sync) {
    char err[256] = "";
    snprintf(d->path, sizeof d->path, "/tmp/lr_test_store_XXXXXX");
    int fd = mkstemp(d->path);
    if (fd < 0) return LR_EIO;
    close(fd);
    int rc = lr_store_open(d->path, sync, &d->s, err, sizeof err);
    if (rc != LR_OK) printf("  open: %s\n", err);
    return rc;
}

__attribute__((unused)) static int db_reopen(db *d, lr_store_sync sync) {
    char err[256] = "";
    lr_store_close(d->s);
    d->s = NULL;
    int rc = lr_store_open(d->path, sync, &d->s, err, sizeof err);
    if (rc != LR_OK) printf("  reopen: %s\n", err);
    return rc;
}

__attribute__((unused)) static void db_remove(db *d) {
    char p[80];
    lr_store_close(d->s);
    d->s = NULL;
    unlink(d->path);
    snprintf(p, sizeof p, "%s-wal", d->path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", d->path);
    unlink(p);
}

#endif
