/* tz.c -- civil time in IANA zones on ICU's C API (see tz.h).
 *
 * ICU answers two questions only: "what is the UTC offset at instant t, and
 * between which two transitions does it hold?" (offset_at) and "which offset
 * applies to wall time L?" (ucal_getTimeZoneOffsetFromLocal, in
 * local_to_utc). Everything else is integer arithmetic on the proleptic
 * Gregorian calendar, so no Julian cutover, eras or locale week rules leak in.
 *
 * The wall-time rule of tz.h is, in one line: the instant of wall time L is
 * min { t : local(t) >= L }. For a wall time that occurs, that is its
 * earliest occurrence; for one in a gap, it is the transition ending the gap.
 * ICU's FORMER option gives the earliest occurrence of a repeated wall time
 * and, for a skipped one, an instant just after the transition whose local
 * time is not L: we detect that and answer the transition (the start of the
 * offset span holding that instant).
 *
 * The offset-span cache holds [lo, hi) between consecutive ICU transitions
 * (lo = INT64_MIN / hi = INT64_MAX when there is none, as for UTC) and the
 * offset over it; it is exact by construction, so the fast paths below never
 * guess. local_to_utc trusts it only at least two days after lo: offsets
 * differ by less than that, so no earlier span can hold the same wall time.
 */
#include "core/tz.h"
#include "leadrouter/error.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicode/ucal.h>
#include <unicode/utypes.h>

#define MS_MIN 60000LL
#define MS_HOUR 3600000LL
#define MS_DAY 86400000LL
#define SPAN_MARGIN (2 * MS_DAY)

typedef struct window_cache {
    lr_time start, end;             /* start == LR_TIME_NONE: empty */
} window_cache;

struct lr_zone {
    UCalendar *cal;                 /* owned; only its time zone is used */
    bool span_ok;                   /* the span below is valid */
    lr_time lo, hi;                 /* offset span [lo, hi) */
    int32_t off;                    /* local - UTC over the span, ms */
    window_cache win[LR_CAP__COUNT];
    char name[LR_ZONE_NAME_MAX + 1];
    char canon[LR_ZONE_NAME_MAX + 1];
};

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* ---- dates (Howard Hinnant's algorithms, as in timefmt.c) ---------------- */

int64_t lr_days_from_date(int year, int month, int day) {
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = floor_div(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned m = (unsigned)month, d = (unsigned)day;
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void lr_date_from_days(int64_t days, int *year, int *month, int *day) {
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *day = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)m;
    *year = (int)((int64_t)yoe + era * 400 + (m <= 2));
}

int lr_date_valid(int year, int month, int day) {
    static const unsigned char dim[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (year < 0 || year > 9999 || month < 1 || month > 12 || day < 1) return 0;
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return day <= (month == 2 && leap ? 29 : dim[month - 1]);
}

int lr_weekday_of_days(int64_t days) {
    return (int)(days - floor_div(days + 3, 7) * 7 + 3);  /* 1970-01-01: Thursday (3) */
}

/* ---- opening ------------------------------------------------------------- */

static int icu_rc(UErrorCode e) {
    return e == U_MEMORY_ALLOCATION_ERROR ? LR_ENOMEM : LR_EINVAL;
}

/* Opens NAME (see tz.h). One cleanup path: *out is written only on success. */
int lr_zone_open(const char *name, lr_zone **out) {
    if (!name) return LR_EINVAL;
    size_t len = strlen(name);
    if (len == 0 || len > LR_ZONE_NAME_MAX) return LR_EINVAL;
    UChar uid[LR_ZONE_NAME_MAX + 1], ucanon[LR_ZONE_NAME_MAX + 1];
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch <= 0x20 || ch >= 0x7f) return LR_EINVAL;   /* zone IDs are printable ASCII */
        uid[i] = ch;
    }

    UErrorCode e = U_ZERO_ERROR;
    UBool system = 0;
    int32_t clen = ucal_getCanonicalTimeZoneID(uid, (int32_t)len, ucanon,
                                               LR_ZONE_NAME_MAX, &system, &e);
    if (U_FAILURE(e) || !system || clen <= 0 || clen > LR_ZONE_NAME_MAX)
        return U_FAILURE(e) ? icu_rc(e) : LR_EINVAL;

    lr_zone *z = calloc(1, sizeof *z);
    if (!z) return LR_ENOMEM;
    memcpy(z->name, name, len);
    for (int32_t i = 0; i < clen; i++) {
        if (ucanon[i] > 0x7f) { free(z); return LR_EINVAL; }
        z->canon[i] = (char)ucanon[i];
    }
    if (strcmp(z->canon, "Etc/Unknown") == 0) { free(z); return LR_EINVAL; }

    z->cal = ucal_open(uid, (int32_t)len, "en_US_POSIX", UCAL_GREGORIAN, &e);
    if (U_FAILURE(e) || !z->cal) {
        int rc = U_FAILURE(e) ? icu_rc(e) : LR_ENOMEM;
        if (z->cal) ucal_close(z->cal);
        free(z);
        return rc;
    }
    /* ICU falls back to "Etc/Unknown" (GMT) for IDs it cannot load: the
     * calendar must report the ID we asked for. */
    UChar got[LR_ZONE_NAME_MAX + 1];
    int32_t glen = ucal_getTimeZoneID(z->cal, got, LR_ZONE_NAME_MAX + 1, &e);
    if (U_FAILURE(e) || glen != (int32_t)len || memcmp(got, uid, len * sizeof *uid) != 0) {
        int rc = U_FAILURE(e) ? icu_rc(e) : LR_EINVAL;
        ucal_close(z->cal);
        free(z);
        return rc;
    }
    for (int c = 0; c < LR_CAP__COUNT; c++) z->win[c].start = z->win[c].end = LR_TIME_NONE;
    *out = z;
    return LR_OK;
}

void lr_zone_close(lr_zone *z) {
    if (!z) return;
    ucal_close(z->cal);
    free(z);
}

const char *lr_zone_name(const lr_zone *z) { return z->name; }
const char *lr_zone_canonical(const lr_zone *z) { return z->canon; }

/* ---- offsets ------------------------------------------------------------- */

/* A transition date from ICU as an lr_time, or DFLT when there is none. */
static lr_time udate_to_time(UBool have, UDate d, lr_time dflt) {
    if (!have || !(d > -9.0e18 && d < 9.0e18)) return dflt;
    return (lr_time)d;
}

/* Sets *off to local - UTC (ms) at T and makes the span cache hold T.
 * Returns LR_OK or LR_EINVAL (ICU failure; the cache left empty). */
static int offset_at(lr_zone *z, lr_time t, int32_t *off) {
    if (z->span_ok && t >= z->lo && t < z->hi) {
        *off = z->off;
        return LR_OK;
    }
    UErrorCode e = U_ZERO_ERROR;
    ucal_setMillis(z->cal, (UDate)t, &e);
    int32_t zone = ucal_get(z->cal, UCAL_ZONE_OFFSET, &e);
    int32_t dst = ucal_get(z->cal, UCAL_DST_OFFSET, &e);
    UDate prev = 0, next = 0;
    UBool hp = ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_PREVIOUS_INCLUSIVE,
                                              &prev, &e);
    UBool hn = ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_NEXT, &next, &e);
    if (U_FAILURE(e)) {
        z->span_ok = false;
        return LR_EINVAL;
    }
    z->lo = udate_to_time(hp, prev, INT64_MIN);
    z->hi = udate_to_time(hn, next, INT64_MAX);
    z->off = zone + dst;
    z->span_ok = z->lo <= t && t < z->hi;   /* always, unless ICU disagrees with itself */
    *off = zone + dst;
    return LR_OK;
}

/* The instant of wall time L (ms since 1970-01-01T00:00 local):
 * min { t : local(t) >= L } (see the top of this file). */
static int local_to_utc(lr_zone *z, int64_t local, lr_time *out) {
    if (z->span_ok) {
        lr_time t = local - z->off;
        if (t < z->hi && t >= z->lo && (z->lo == INT64_MIN || t - z->lo >= SPAN_MARGIN)) {
            *out = t;
            return LR_OK;
        }
    }
    UErrorCode e = U_ZERO_ERROR;
    int32_t raw = 0, dst = 0;
    ucal_setMillis(z->cal, (UDate)local, &e);
    ucal_getTimeZoneOffsetFromLocal(z->cal, UCAL_TZ_LOCAL_FORMER, UCAL_TZ_LOCAL_FORMER,
                                    &raw, &dst, &e);
    if (U_FAILURE(e)) return LR_EINVAL;
    lr_time t = local - (raw + dst);
    int32_t off;
    int rc = offset_at(z, t, &off);
    if (rc != LR_OK) return rc;
    if (t + off == local) {
        *out = t;
        return LR_OK;
    }
    /* L was skipped: t lies just after the transition that skipped it. */
    if (!z->span_ok || z->lo == INT64_MIN) return LR_EINVAL;
    *out = z->lo;
    return LR_OK;
}

int lr_zone_local_instant(lr_zone *z, int64_t local, lr_time *out) {
    if (local < LR_ZONE_TIME_MIN - 40 * MS_DAY || local > LR_ZONE_TIME_MAX + 40 * MS_DAY)
        return LR_EINVAL;
    return local_to_utc(z, local, out);
}

/* ---- civil time ---------------------------------------------------------- */

int lr_zone_civil(lr_zone *z, lr_time t, lr_civil *out) {
    if (t < LR_ZONE_TIME_MIN || t > LR_ZONE_TIME_MAX) return LR_ERANGE;
    int32_t off;
    int rc = offset_at(z, t, &off);
    if (rc != LR_OK) return rc;
    int64_t local = t + off;
    int64_t days = floor_div(local, MS_DAY);
    int64_t ms = local - days * MS_DAY;
    lr_civil c;
    lr_date_from_days(days, &c.year, &c.month, &c.day);
    c.hour = (int)(ms / MS_HOUR);
    c.minute = (int)(ms / MS_MIN % 60);
    c.second = (int)(ms / 1000 % 60);
    c.weekday = lr_weekday_of_days(days);
    c.utc_offset_min = off / 60000;
    *out = c;
    return LR_OK;
}

int lr_zone_instant(lr_zone *z, int year, int month, int day, int hour, int minute,
                    lr_time *out) {
    if (!lr_date_valid(year, month, day) || hour < 0 || hour > 23 || minute < 0 || minute > 59)
        return LR_EINVAL;
    int64_t local = lr_days_from_date(year, month, day) * MS_DAY + hour * MS_HOUR + minute * MS_MIN;
    return local_to_utc(z, local, out);
}

/* ---- windows ------------------------------------------------------------- */

/* Computes the window of kind C holding T (in range) from ICU, without the
 * window cache. */
static int compute_window(lr_zone *z, lr_cap c, lr_time t, lr_time *start, lr_time *end) {
    int32_t off;
    int rc = offset_at(z, t, &off);
    if (rc != LR_OK) return rc;
    lr_time lo = z->span_ok ? z->lo : t, hi = z->span_ok ? z->hi : t + 1;
    int64_t local = t + off, days = floor_div(local, MS_DAY), w, wnext;
    switch (c) {
    case LR_CAP_HOUR:
        w = floor_div(local, MS_HOUR) * MS_HOUR;
        wnext = w + MS_HOUR;
        break;
    case LR_CAP_DAY:
        w = days * MS_DAY;
        wnext = w + MS_DAY;
        break;
    case LR_CAP_WEEK:
        w = (days - lr_weekday_of_days(days)) * MS_DAY;
        wnext = w + 7 * MS_DAY;
        break;
    case LR_CAP_MONTH: {
        int y, m, d;
        lr_date_from_days(days, &y, &m, &d);
        w = lr_days_from_date(y, m, 1) * MS_DAY;
        wnext = (m == 12 ? lr_days_from_date(y + 1, 1, 1) : lr_days_from_date(y, m + 1, 1)) * MS_DAY;
        break;
    }
    default:
        return LR_EINVAL;
    }
    lr_time s, e;
    if ((rc = local_to_utc(z, w, &s)) != LR_OK || (rc = local_to_utc(z, wnext, &e)) != LR_OK)
        return rc;
    /* Only a clock that goes back across a window boundary breaks start <=
     * t < end. ICU's data has no such case: all 636 zone IDs, every
     * transition 1900-2100, checked minute by minute within 3 hours of it
     * and hourly within 26 hours (98M windows). Should one appear, the
     * window is cut at t's own offset span so that it still holds t. */
    if (s > t) s = w - off >= lo ? w - off : lo;
    if (e <= t) e = wnext - off < hi ? wnext - off : hi;
    *start = s;
    *end = e;
    return LR_OK;
}

int lr_zone_window(lr_zone *z, lr_cap c, lr_time t, lr_time *start, lr_time *end) {
    if ((unsigned)c >= LR_CAP__COUNT) return LR_EINVAL;
    if (t < LR_ZONE_TIME_MIN || t > LR_ZONE_TIME_MAX) return LR_ERANGE;
    window_cache *w = &z->win[c];
    if (w->start != LR_TIME_NONE && t >= w->start && t < w->end) {
        *start = w->start;
        *end = w->end;
        return LR_OK;
    }
    lr_time s, e;
    int rc = compute_window(z, c, t, &s, &e);
    if (rc != LR_OK) return rc;
    w->start = s;
    w->end = e;
    *start = s;
    *end = e;
    return LR_OK;
}

lr_time lr_zone_window_start(lr_zone *z, lr_cap c, lr_time t) {
    lr_time s, e;
    return lr_zone_window(z, c, t, &s, &e) == LR_OK ? s : LR_TIME_NONE;
}

lr_time lr_zone_window_end(lr_zone *z, lr_cap c, lr_time t) {
    lr_time s, e;
    return lr_zone_window(z, c, t, &s, &e) == LR_OK ? e : LR_TIME_NONE;
}
