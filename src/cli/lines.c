/* lines.c -- reads a stream in large blocks and hands it out line by line.
 *
 * Invariants: buf[start, end) holds the bytes read and not yet handed out;
 * buf[start, scan) is known to hold no '\n'. A line is returned as a
 * pointer into buf, so there is no copy and no allocation per line; the
 * buffer only grows when one line does not fit (up to about 2 x max_line).
 * A line longer than max_line is dropped as it streams past (discarding)
 * and reported once, when its end is reached.
 *
 * A UTF-8 byte order mark at the start of the stream is not part of the
 * first line.
 *
 * read(2) rather than fread(): it returns what a pipe has now instead of
 * waiting for a whole block, so decisions stream out while a producer is
 * still writing.
 */
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "leadrouter/error.h"

#define BLOCK (256u * 1024u)

int cli_lines_init(cli_lines *r, int fd, size_t max_line) {
    memset(r, 0, sizeof *r);
    r->buf = malloc(BLOCK);
    if (!r->buf) return LR_ENOMEM;
    r->fd = fd;
    r->cap = BLOCK;
    r->max_line = max_line;
    return LR_OK;
}

void cli_lines_release(cli_lines *r) {
    free(r->buf);
    r->buf = NULL;
    r->cap = r->start = r->end = r->scan = 0;
}

/* Makes room after buf[end]: moves the unread bytes to the front, and
 * doubles the buffer when they fill it. Returns LR_OK or LR_ENOMEM. */
static int make_room(cli_lines *r) {
    if (r->start > 0) {
        size_t n = r->end - r->start;
        memmove(r->buf, r->buf + r->start, n);
        r->scan -= r->start;
        r->end = n;
        r->start = 0;
    }
    if (r->end < r->cap) return LR_OK;
    char *p = realloc(r->buf, r->cap * 2);
    if (!p) return LR_ENOMEM;
    r->buf = p;
    r->cap *= 2;
    return LR_OK;
}

/* Reads what is available into buf[end, cap). Returns LR_OK (r->eof set
 * at the end of input) or LR_EIO. */
static int fill(cli_lines *r) {
    if (r->before_read) r->before_read(r->ud);
    for (;;) {
        ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
        if (n > 0) { r->end += (size_t)n; return LR_OK; }
        if (n == 0) { r->eof = 1; return LR_OK; }
        if (errno != EINTR) return LR_EIO;
    }
}

/* Hands out buf[start, stop) as a line (trimming one '\r') and moves
 * past it and SKIP more bytes (the '\n'). */
static int take(cli_lines *r, size_t stop, size_t skip, const char **line, size_t *len) {
    size_t n = stop - r->start;
    const char *p = r->buf + r->start;
    r->start = r->scan = stop + skip;
    r->lineno++;
    if (r->discarding) {
        r->discarding = 0;
        return LR_ERANGE;
    }
    if (n > 0 && p[n - 1] == '\r') n--;
    if (r->lineno == 1 && n >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
        p += 3;                     /* a UTF-8 byte order mark, as Windows tools write */
        n -= 3;
    }
    if (n > r->max_line) return LR_ERANGE;
    *line = p;
    *len = n;
    return LR_OK;
}

int cli_lines_next(cli_lines *r, const char **line, size_t *len) {
    for (;;) {
        char *nl = memchr(r->buf + r->scan, '\n', r->end - r->scan);
        if (nl) return take(r, (size_t)(nl - r->buf), 1, line, len);
        r->scan = r->end;
        if (r->eof) {
            if (r->start == r->end && !r->discarding) return LR_ENOENT;
            return take(r, r->end, 0, line, len);
        }
        if (r->end - r->start > r->max_line + 1) {
            /* Too long already: forget what we have of it, keep reading
             * until its end so the next line starts in the right place. */
            r->discarding = 1;
            r->start = r->scan = r->end = 0;
        }
        int rc = make_room(r);
        if (rc == LR_OK) rc = fill(r);
        if (rc != LR_OK) return rc;
    }
}
