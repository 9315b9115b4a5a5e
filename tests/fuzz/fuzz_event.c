/* fuzz_event.c -- libFuzzer target for the event parser and RFC 3339 times.
 *
 * Parses the input as one event (released when it parses; the message must
 * be a NUL-terminated string either way) and as a timestamp; a parsed time
 * must survive lr_time_format -> lr_time_parse unchanged. */
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lr_event ev;
    char err[128];
    int rc = lr_event_parse((const char *)data, size, &ev, err, sizeof err);
    if (rc == LR_OK) {
        lr_event_release(&ev);
    } else if (strlen(err) == 0 || strlen(err) >= sizeof err ||
               (rc != LR_ESYNTAX && rc != LR_EINVAL)) {
        abort();
    }

    lr_time t;
    if (lr_time_parse((const char *)data, size, &t) == LR_OK) {
        char buf[64];
        lr_time back;
        size_t n = lr_time_format(t, buf, sizeof buf);
        if (lr_time_parse(buf, n, &back) != LR_OK || back != t) abort();
    }
    return 0;
}
