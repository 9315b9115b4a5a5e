/* walbuf.c -- a VFS over the default one that writes a transaction's WAL
 * frames a buffer at a time instead of two system calls per page.
 *
 * SQLite appends a WAL frame as two writes, its 24-byte header and then
 * the page, each a pwrite() of its own. A commit of the server dirties
 * dozens of index pages (every lead goes to another agent's leaf, every
 * progress event to another lead's), and on this kind of virtual machine
 * a system call costs microseconds: the COMMIT was mostly pwrite().
 *
 * This VFS passes every call to the default VFS, except that writes to a
 * WAL file (opened with SQLITE_OPEN_WAL) that continue one another are
 * gathered in a buffer (BUF_CAP) and written with one call. The buffer is
 * written out
 *
 *   - right after the page of a commit frame (a frame header whose "size
 *     of the database after the commit" is not zero), inside that page's
 *     xWrite, so a failure is the commit's error, as without the buffer;
 *   - before any other call on the file (read, size, truncate, sync,
 *     lock, file control, close), so the connection that wrote never
 *     reads the file without what it wrote (a page spilled from its cache
 *     in mid-transaction, the frames a checkpoint copies);
 *   - when a write does not continue the buffer, or would overflow it.
 *
 * Other connections, in this process or another, read only committed
 * frames (those the WAL index's header counts, published after walFrames
 * returns): they are in the file by then. A crash loses only frames of a
 * transaction whose commit frame was not written: what SQLite already
 * treats as not committed. Durability is untouched: syncing stays where
 * it was (the flush thread, flusher.c, or SQLite's own xSync, which writes
 * the buffer first).
 *
 * A write that fails is reported by the call that made it, and again by
 * every later call on the file.
 *
 * Only what has the shape of SQLite's frames is gathered: a 24-byte
 * header, then the write that follows it (the page; walWriteOneFrame() in
 * wal.c, the same since WAL came in 3.7.0; Debian 12 has 3.40). Any other
 * write (the WAL's own header, a page rewritten in place, or a way of
 * writing a later SQLite might have) writes the buffer out and goes
 * straight through, so a change there costs speed, never a commit.
 */
#include "sqlite_impl.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define WALBUF_VFS "leadrouter-walbuf"
/* The unix VFS writes at most 0x1ffff bytes a call (it masks the length,
 * seekAndWriteFd() in SQLite's os_unix.c): the buffer stays below. 127 KiB
 * hold 31 frames of 4 KiB pages (one call where there were 62), or 7 of
 * the 16 KiB pages of a store made since 2026-11-29 (one for 14). */
#define BUF_CAP ((size_t)127 << 10)
#define FRAME_HDR 24

typedef struct wb_file {
    sqlite3_file base;              /* pMethods: wb_methods */
    sqlite3_file *real;             /* the default VFS's file, right after this struct */
    bool wal;
    bool after_hdr;                 /* the last write was a frame's header */
    bool commit_next;               /* ... and the frame commits */
    int err;                        /* a failed write: every later call fails */
    char *buf;                      /* WAL only, from the first write */
    size_t len;
    sqlite3_int64 off;              /* file offset of buf[0] */
} wb_file;

static sqlite3_vfs *real_vfs;

static int wb_flush(wb_file *f) {
    if (f->len == 0) return f->err;
    int rc = f->real->pMethods->xWrite(f->real, f->buf, (int)f->len, f->off);
    f->len = 0;
    if (rc != SQLITE_OK && f->err == SQLITE_OK) f->err = rc;
    return f->err;
}

/* Every call but a write begins with this: the buffer written out, and a
 * kept error returned. */
#define FLUSHED(f) do { int rc_ = wb_flush(f); if (rc_ != SQLITE_OK) return rc_; } while (0)

static int wb_close(sqlite3_file *file) {
    wb_file *f = (wb_file *)file;
    int rc = wb_flush(f);
    int rc2 = f->real->pMethods->xClose(f->real);
    free(f->buf);
    f->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xRead(f->real, p, n, off);
}

static int wb_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off) {
    wb_file *f = (wb_file *)file;
    if (!f->wal) return f->real->pMethods->xWrite(f->real, p, n, off);
    if (f->err != SQLITE_OK) return f->err;
    size_t len = (size_t)n;
    if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len || f->len + len > BUF_CAP))
        FLUSHED(f);
    if (!f->buf && !(f->buf = malloc(BUF_CAP))) {
        FLUSHED(f);
        return f->real->pMethods->xWrite(f->real, p, n, off);
    }
    if (len > BUF_CAP) return f->real->pMethods->xWrite(f->real, p, n, off);
    if (len != FRAME_HDR && !f->after_hdr) {
        /* not a frame's page: the WAL's own header, a page rewritten in
         * place, or a way of writing this file SQLite did not have when
         * this was written: in order, and at once */
        FLUSHED(f);
        return f->real->pMethods->xWrite(f->real, p, n, off);
    }
    if (f->len == 0) f->off = off;
    memcpy(f->buf + f->len, p, len);
    f->len += len;
    if (len == FRAME_HDR) {
        /* a frame header: bytes 4-7, big-endian, are the database size
         * after the commit, zero unless this frame commits */
        const unsigned char *h = p;
        f->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
        f->after_hdr = true;
        return SQLITE_OK;
    }
    f->after_hdr = false;           /* the page of the frame whose header came last */
    if (f->commit_next) {
        f->commit_next = false;
        return wb_flush(f);
    }
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xTruncate(f->real, size);
}

static int wb_sync(sqlite3_file *file, int flags) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xSync(f->real, flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xFileSize(f->real, size);
}

static int wb_lock(sqlite3_file *file, int lock) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xLock(f->real, lock);
}

static int wb_unlock(sqlite3_file *file, int lock) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xUnlock(f->real, lock);
}

static int wb_check_reserved(sqlite3_file *file, int *out) {
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int wb_file_control(sqlite3_file *file, int op, void *arg) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xFileControl(f->real, op, arg);
}

static int wb_sector_size(sqlite3_file *file) {
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xSectorSize(f->real);
}

static int wb_device(sqlite3_file *file) {
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int wb_shm_map(sqlite3_file *file, int region, int size, int extend, void volatile **pp) {
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xShmMap(f->real, region, size, extend, pp);
}

/* The WAL index belongs to the database file, never buffered: these pass. */
static int wb_shm_lock(sqlite3_file *file, int offset, int n, int flags) {
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *file) {
    wb_file *f = (wb_file *)file;
    f->real->pMethods->xShmBarrier(f->real);
}

static int wb_shm_unmap(sqlite3_file *file, int del) {
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xShmUnmap(f->real, del);
}

static int wb_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **pp) {
    wb_file *f = (wb_file *)file;
    FLUSHED(f);
    return f->real->pMethods->xFetch(f->real, off, n, pp);
}

static int wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p) {
    wb_file *f = (wb_file *)file;
    return f->real->pMethods->xUnfetch(f->real, off, p);
}

static const sqlite3_io_methods wb_methods = {
    3, wb_close, wb_read, wb_write, wb_truncate, wb_sync, wb_file_size, wb_lock, wb_unlock,
    wb_check_reserved, wb_file_control, wb_sector_size, wb_device, wb_shm_map, wb_shm_lock,
    wb_shm_barrier, wb_shm_unmap, wb_fetch, wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *file, int flags,
                   int *out_flags) {
    wb_file *f = (wb_file *)file;
    memset(f, 0, sizeof *f);
    f->real = (sqlite3_file *)&f[1];
    int rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
    if (rc != SQLITE_OK) return rc;           /* base.pMethods NULL: no xClose */
    if (f->real->pMethods->iVersion < 3) {    /* the default VFS has them all */
        f->real->pMethods->xClose(f->real);
        return SQLITE_CANTOPEN;
    }
    f->wal = (flags & SQLITE_OPEN_WAL) != 0;
    f->base.pMethods = &wb_methods;
    return SQLITE_OK;
}

/* The rest of the VFS is the default one's: only xOpen and the file size
 * differ (set up in walbuf_register). */
static sqlite3_vfs wb_vfs;
static int wb_registered = SQLITE_ERROR;

static void walbuf_register(void) {
    real_vfs = sqlite3_vfs_find(NULL);
    if (!real_vfs) return;
    wb_vfs = *real_vfs;
    wb_vfs.szOsFile = (int)sizeof(wb_file) + real_vfs->szOsFile;
    wb_vfs.zName = WALBUF_VFS;
    wb_vfs.pNext = NULL;
    wb_vfs.xOpen = wb_open;
    wb_registered = sqlite3_vfs_register(&wb_vfs, 0);
}

const char *lr_sq_walbuf_vfs(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, walbuf_register);
    return wb_registered == SQLITE_OK ? WALBUF_VFS : NULL;
}
