/* fuzz_schedule.c -- libFuzzer target for the schedule text parsers and the
 * schedule queries.
 *
 * The input is lines; the first byte of each says what the rest is:
 *   z<zone>             the schedule's zone (first z line only; default
 *                       America/Chicago, also used when the name is refused)
 *   h<days>=<hours>     lr_schedule_add_hours
 *   o<from>|<to>        lr_schedule_add_out_of_office
 *   d<date>             lr_schedule_add_holiday
 *   t<RFC 3339>         one more instant to query
 * Two schedules are built from the same lines. Each query instant (a fixed
 * set plus the t lines) is checked: next_change(t) is NONE or > t, the
 * answer holds up to it (asked of the other schedule, whose cache differs),
 * and walking five edges on never goes back. Rejected lines must leave a
 * NUL-terminated message. The zone's windows must hold their instant. Any
 * violation aborts. */
#include "core/schedule.h"
#include "core/tz.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINES 48
#define MAX_QUERIES 24

/* A refusal is LR_EINVAL with a message (ERR was "" before the call) or
 * LR_ENOMEM. */
static void check_msg(int rc, const char *err, size_t errlen) {
    if (rc == LR_OK || rc == LR_ENOMEM) return;
    if (rc != LR_EINVAL || err[0] == '\0' || memchr(err, '\0', errlen) == NULL) abort();
}

/* Applies one h/o/d line to S. */
static void apply(lr_schedule *s, char kind, char *text) {
    char err[160] = "";
    int rc = LR_OK;
    if (kind == 'h') {
        char *eq = strchr(text, '=');
        if (!eq) return;
        *eq = '\0';
        rc = lr_schedule_add_hours(s, text, eq + 1, err, sizeof err);
        *eq = '=';
    } else if (kind == 'o') {
        char *bar = strchr(text, '|');
        if (!bar) return;
        *bar = '\0';
        rc = lr_schedule_add_out_of_office(s, text, bar + 1, err, sizeof err);
        *bar = '|';
    } else if (kind == 'd') {
        rc = lr_schedule_add_holiday(s, text, err, sizeof err);
    } else {
        return;
    }
    check_msg(rc, err, sizeof err);
}

static void check_windows(lr_zone *z, lr_time t) {
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        lr_time s, e;
        int rc = lr_zone_window(z, (lr_cap)c, t, &s, &e);
        bool in = t >= LR_ZONE_TIME_MIN && t <= LR_ZONE_TIME_MAX;
        if (rc != (in ? LR_OK : LR_ERANGE)) abort();
        if (in && !(s <= t && t < e)) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';

    char *lines[MAX_LINES];
    int nl = 0;
    for (char *p = buf; p && *p && nl < MAX_LINES;) {
        char *nlp = strchr(p, '\n');
        if (nlp) *nlp = '\0';
        lines[nl++] = p;
        p = nlp ? nlp + 1 : NULL;
    }

    const char *zone = "America/Chicago";
    for (int i = 0; i < nl; i++)
        if (lines[i][0] == 'z') { zone = lines[i] + 1; break; }
    lr_schedule *s = NULL, *u = NULL;
    char err[160] = "";
    int rc = lr_schedule_create(zone, &s, err, sizeof err);
    check_msg(rc, err, sizeof err);
    if (rc != LR_OK) {
        zone = "America/Chicago";
        if (lr_schedule_create(zone, &s, err, sizeof err) != LR_OK) abort();
    }
    if (lr_schedule_create(zone, &u, err, sizeof err) != LR_OK) abort();

    lr_time q[MAX_QUERIES] = {
        1772951400000LL,            /* 2026-03-08T06:30:00Z */
        1772953200000LL,            /* 2026-03-08T07:00:00Z */
        1793514600000LL,            /* 2026-11-01T06:30:00Z */
        1798200000000LL,            /* 2026-12-25T12:00:00Z */
        0, INT64_MIN, INT64_MAX, LR_ZONE_TIME_MIN, LR_ZONE_TIME_MAX,
    };
    int nq = 9;
    for (int i = 0; i < nl; i++) {
        char kind = lines[i][0];
        if (kind == 't' && nq < MAX_QUERIES) {
            lr_time t;
            if (lr_time_parse(lines[i] + 1, strlen(lines[i] + 1), &t) == LR_OK) q[nq++] = t;
        } else if (kind == 'h' || kind == 'o' || kind == 'd') {
            apply(s, kind, lines[i] + 1);
            apply(u, kind, lines[i] + 1);
        }
    }

    for (int i = 0; i < nq; i++) {
        lr_time t = q[i];
        check_windows(lr_schedule_zone(s), t);
        for (int step = 0; step < 5; step++) {
            lr_avail a = lr_schedule_at(s, t);
            if ((unsigned)a > LR_AVAIL_OUT_OF_OFFICE) abort();
            lr_time n = lr_schedule_next_change(s, t);
            if (n == LR_TIME_NONE) break;
            if (n <= t) abort();
            if (lr_schedule_at(u, n - 1) != a) abort();   /* constant on [t, n) */
            if (lr_schedule_at(u, t) != a) abort();
            t = n;
        }
    }

    lr_schedule_free(s);
    lr_schedule_free(u);
    free(buf);
    return 0;
}
