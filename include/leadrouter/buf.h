/* buf.h -- a growable byte buffer (as git's strbuf).
 *
 * lr_buf_init() gives an empty buffer; every _init has lr_buf_release().
 * The contents are always NUL-terminated. Appends report LR_ENOMEM and
 * leave the buffer as it was.
 */
#ifndef LEADROUTER_BUF_H
#define LEADROUTER_BUF_H

#include <stddef.h>

typedef struct lr_buf {
    char *data;                     /* owned; NULL until the first append */
    size_t len;
    size_t cap;
} lr_buf;

#define LR_BUF_INIT { NULL, 0, 0 }

void lr_buf_init(lr_buf *b);
void lr_buf_release(lr_buf *b);     /* frees and re-inits */
void lr_buf_reset(lr_buf *b);       /* len = 0, keeps the memory */
int lr_buf_reserve(lr_buf *b, size_t extra);
int lr_buf_append(lr_buf *b, const void *p, size_t n);
int lr_buf_puts(lr_buf *b, const char *s);
int lr_buf_putc(lr_buf *b, char c);
int lr_buf_printf(lr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Hands the memory to the caller (who frees it) and re-inits B. Returns
 * NULL for an empty, never-grown buffer. */
char *lr_buf_detach(lr_buf *b, size_t *len);

#endif
