/* bench_fsync.c -- the disk's floor for `make bench`: how many durable
 * commits per second the disk under a directory can do at most.
 *
 *   bench_fsync DIR [SECONDS]
 *
 * Writes 4 KiB and calls fdatasync(), in a loop, for SECONDS (default 3),
 * into a 16 MiB file under DIR that is written and synced once before the
 * clock starts. The writes walk the file sequentially and wrap around, so
 * no write changes the file's size or allocation: each fdatasync() is one
 * device cache flush and nothing else, which is what a commit to a
 * preallocated write-ahead log costs (PostgreSQL's WAL segments; SQLite's
 * WAL once it has grown). A database that makes every commit durable on its
 * own cannot commit faster than this; one that does more commits per
 * second shares each fsync among several of them (group commit).
 *
 * Prints one line:
 *   fsync_per_s=N mean_ms=X p50_ms=X p99_ms=X syncs=N seconds=S dir=DIR
 * The file is removed at the end. Exit status 0, or 2 on a usage or I/O
 * error (with a message on stderr).
 *
 * Not library code: prints, exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BLOCK 4096
#define FILE_BYTES (16u * 1024u * 1024u)
#define MAX_SAMPLES 2000000u

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Writes the whole of BUF (LEN bytes) at OFF. Returns 0 or -1 (errno). */
static int write_at(int fd, const char *buf, size_t len, off_t off) {
    while (len > 0) {
        ssize_t n = pwrite(fd, buf, len, off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        buf += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

int main(int argc, char **argv) {
    double seconds = 3.0;
    if (argc < 2 || argc > 3 || (argc == 3 && !((seconds = atof(argv[2])) > 0 && seconds <= 600))) {
        fprintf(stderr, "usage: bench_fsync DIR [SECONDS (0 < S <= 600, default 3)]\n");
        return 2;
    }
    const char *dir = argv[1];
    char path[4096];
    if (snprintf(path, sizeof path, "%s/.bench_fsync.%ld", dir, (long)getpid()) >= (int)sizeof path) {
        fprintf(stderr, "bench_fsync: directory name too long\n");
        return 2;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "bench_fsync: cannot create %s: %s\n", path, strerror(errno));
        return 2;
    }
    static char block[BLOCK];
    memset(block, 'x', sizeof block);
    double *lat = malloc(MAX_SAMPLES * sizeof *lat);
    int status = 2;
    if (!lat) {
        fprintf(stderr, "bench_fsync: out of memory\n");
        goto out;
    }
    /* Allocate and sync the file once: the timed loop only overwrites. */
    for (off_t off = 0; off < (off_t)FILE_BYTES; off += BLOCK)
        if (write_at(fd, block, BLOCK, off) != 0) {
            fprintf(stderr, "bench_fsync: write %s: %s\n", path, strerror(errno));
            goto out;
        }
    if (fsync(fd) != 0) {
        fprintf(stderr, "bench_fsync: fsync %s: %s\n", path, strerror(errno));
        goto out;
    }

    size_t n = 0;
    off_t off = 0;
    double t0 = now_s(), end = t0 + seconds, t = t0;
    while (t < end && n < MAX_SAMPLES) {
        block[0] = (char)('a' + n % 26);        /* a new page content each time */
        if (write_at(fd, block, BLOCK, off) != 0 || fdatasync(fd) != 0) {
            fprintf(stderr, "bench_fsync: write+fdatasync %s: %s\n", path, strerror(errno));
            goto out;
        }
        double t1 = now_s();
        lat[n++] = t1 - t;
        t = t1;
        off += BLOCK;
        if (off >= (off_t)FILE_BYTES) off = 0;
    }
    double elapsed = t - t0;
    qsort(lat, n, sizeof *lat, cmp_double);
    printf("fsync_per_s=%.0f mean_ms=%.3f p50_ms=%.3f p99_ms=%.3f syncs=%zu seconds=%.2f dir=%s\n",
           (double)n / elapsed, elapsed / (double)n * 1e3, lat[n / 2] * 1e3,
           lat[(size_t)((double)n * 0.99)] * 1e3, n, elapsed, dir);
    status = 0;
out:
    free(lat);
    close(fd);
    unlink(path);
    return status;
}
