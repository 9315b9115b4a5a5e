/* buf.c -- growable byte buffer (see buf.h). */
#include "leadrouter/buf.h"
#include "leadrouter/error.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void lr_buf_init(lr_buf *b) { b->data = NULL; b->len = b->cap = 0; }

void lr_buf_release(lr_buf *b) { free(b->data); lr_buf_init(b); }

void lr_buf_reset(lr_buf *b) { b->len = 0; if (b->data) b->data[0] = '\0'; }

int lr_buf_reserve(lr_buf *b, size_t extra) {
    if (b->len + extra + 1 <= b->cap) return LR_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1) {
        if (cap > SIZE_MAX / 2) return LR_ENOMEM;
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p) return LR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return LR_OK;
}

int lr_buf_append(lr_buf *b, const void *p, size_t n) {
    if (lr_buf_reserve(b, n) != LR_OK) return LR_ENOMEM;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return LR_OK;
}

int lr_buf_puts(lr_buf *b, const char *s) { return lr_buf_append(b, s, strlen(s)); }

int lr_buf_putc(lr_buf *b, char c) { return lr_buf_append(b, &c, 1); }

int lr_buf_printf(lr_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return LR_EINVAL;
    if (lr_buf_reserve(b, (size_t)n) != LR_OK) return LR_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return LR_OK;
}

char *lr_buf_detach(lr_buf *b, size_t *len) {
    char *p = b->data;
    if (len) *len = b->len;
    lr_buf_init(b);
    return p;
}
