/* timefmt.c -- RFC 3339 timestamps to and from lr_time (declared in event.h).
 *
 * lr_time is milliseconds since 1970-01-01T00:00:00Z on the proleptic
 * Gregorian calendar, leap seconds not counted (as POSIX time).
 *
 * Accepted by lr_time_parse (LEN bytes, no NUL needed, nothing else around):
 *
 *   YYYY-MM-DD{T|t| }HH:MM:SS[.fraction]{Z|z|+HH:MM|-HH:MM}
 *   YYYY-MM-DD                       a date alone: midnight UTC (config
 *                                    out-of-office ranges use it)
 *
 * Choices, so that the same text always gives the same instant:
 *   - the fraction has one or more digits; the first three are kept as
 *     milliseconds, the rest are truncated (not rounded);
 *   - every field is range-checked: month 1-12, day within its month (leap
 *     years by the Gregorian rule), hour 0-23, minute 0-59, offset hours
 *     0-23 and minutes 0-59; "-00:00" means UTC;
 *   - second 60 (a leap second) is accepted and read as :59.999 of the same
 *     minute, since lr_time cannot represent it: the event is kept and time
 *     order is preserved;
 *   - years are 0000-9999 (four digits, no sign), and so is the result
 *     once the offset is applied: "0000-01-01T00:00:00+01:00" (year -1 in
 *     UTC) is rejected, so every parsed time formats back to RFC 3339 and
 *     parses again to the same value.
 *
 * The calendar arithmetic is Howard Hinnant's days_from_civil and its
 * inverse: pure integer code, no timegm(), no dependence on TZ or locale.
 * Fixed offsets only: named time zones are the job of the zone module.
 */
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

#define MS_PER_DAY 86400000LL
#define TIME_MIN (-62167219200000LL)        /* 0000-01-01T00:00:00Z */
#define TIME_MAX 253402300799999LL          /* 9999-12-31T23:59:59.999Z */

/* Days since 1970-01-01 of the civil date Y-M-D (M 1-12, D 1-31). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);                     /* [0, 399] */
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;         /* [0, 146096] */
    return era * 146097 + (int64_t)doe - 719468;
}

/* The civil date of day Z since 1970-01-01 (the inverse of the above). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool is_leap(unsigned y) {
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned days_in_month(unsigned y, unsigned m) {
    static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* Reads exactly N decimal digits at S into *OUT; false if any is not one. */
static bool digits(const char *s, size_t n, unsigned *out) {
    unsigned v = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = (unsigned char)s[i] - '0';
        if (c > 9) return false;
        v = v * 10 + c;
    }
    *out = v;
    return true;
}

/* Parses the RFC 3339 text S of LEN bytes (see the top of this file).
 * Returns LR_OK and sets *OUT, or LR_EINVAL (OUT untouched). */
int lr_time_parse(const char *s, size_t len, lr_time *out) {
    unsigned y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
    int64_t off_min = 0;

    if (len < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d))
        return LR_EINVAL;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo)) return LR_EINVAL;

    if (len > 10) {
        if (len < 20 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
            !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) ||
            s[16] != ':' || !digits(s + 17, 2, &sec))
            return LR_EINVAL;
        if (h > 23 || mi > 59 || sec > 60) return LR_EINVAL;
        size_t i = 19;
        if (s[i] == '.') {
            size_t start = ++i;
            while (i < len && (unsigned)((unsigned char)s[i] - '0') <= 9) {
                if (i - start < 3) ms = ms * 10 + (unsigned)(s[i] - '0');
                i++;
            }
            if (i == start) return LR_EINVAL;
            for (size_t k = i - start; k < 3; k++) ms *= 10;
        }
        if (i >= len) return LR_EINVAL;                   /* the zone is required */
        if (s[i] == 'Z' || s[i] == 'z') {
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            unsigned oh, om;
            if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
                !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
                return LR_EINVAL;
            off_min = (int64_t)oh * 60 + om;
            if (s[i] == '-') off_min = -off_min;
            i += 6;
        } else {
            return LR_EINVAL;
        }
        if (i != len) return LR_EINVAL;
        if (sec == 60) { sec = 59; ms = 999; }
    }

    int64_t days = days_from_civil(y, mo, d);
    int64_t secs = (int64_t)h * 3600 + (int64_t)mi * 60 + sec - off_min * 60;
    int64_t t = days * MS_PER_DAY + secs * 1000 + ms;
    if (t < TIME_MIN || t > TIME_MAX) return LR_EINVAL;
    *out = t;
    return LR_OK;
}

static char *put2(char *p, unsigned v) {
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* Formats T as "YYYY-MM-DDTHH:MM:SS[.mmm]Z" into BUF (BUFLEN >= 32, always
 * NUL-terminated when BUFLEN > 0). Years outside 0000-9999 (which
 * lr_time_parse never yields but arithmetic on times can) are written with
 * as many digits as needed and a '-' sign before year 0. Returns the length
 * written, not counting the NUL. Hand-formatted: this runs once per decision
 * and snprintf would be several times slower. */
size_t lr_time_format(lr_time t, char *buf, size_t buflen) {
    assert(buflen >= 32);
    char tmp[48], *p = tmp;
    int64_t days = t / MS_PER_DAY, rem = t % MS_PER_DAY;
    if (rem < 0) { rem += MS_PER_DAY; days--; }
    int64_t y;
    unsigned mo, d;
    civil_from_days(days, &y, &mo, &d);

    if (y >= 0 && y <= 9999) {
        p = put2(p, (unsigned)(y / 100));
        p = put2(p, (unsigned)(y % 100));
    } else {
        p += snprintf(p, 24, y < 0 ? "-%04lld" : "%lld", (long long)(y < 0 ? -y : y));
    }
    unsigned ms = (unsigned)(rem % 1000), s = (unsigned)(rem / 1000);
    *p++ = '-'; p = put2(p, mo);
    *p++ = '-'; p = put2(p, d);
    *p++ = 'T'; p = put2(p, s / 3600);
    *p++ = ':'; p = put2(p, s / 60 % 60);
    *p++ = ':'; p = put2(p, s % 60);
    if (ms) {
        *p++ = '.';
        *p++ = (char)('0' + ms / 100);
        p = put2(p, ms % 100);
    }
    *p++ = 'Z';
    size_t n = (size_t)(p - tmp);
    if (buflen == 0) return 0;
    if (n >= buflen) n = buflen - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return n;
}
