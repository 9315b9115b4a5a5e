/* tz.h -- civil time in IANA time zones (ICU's C API), and the calendar
 * windows (hour, day, ISO week, month) of a zone.
 *
 * All knowledge of time zones (offsets, DST rules, their history) comes from
 * ICU's tz data through one UCalendar per zone; the date arithmetic itself is
 * the proleptic Gregorian calendar on integers, as in timefmt.c, so a date
 * here is the same date lr_time_parse() reads. An lr_zone is not thread-safe
 * (it caches); the engine is single-threaded and each agent holds its own.
 *
 * Wall time -> instant (lr_zone_instant and everything built on it):
 *   - a wall time that occurs twice (the clock goes back) is its EARLIER
 *     instant: 2026-11-01 01:30 in America/Chicago is 06:30Z (CDT), not
 *     07:30Z (CST);
 *   - a wall time that does not occur (the clock jumps forward over it) is
 *     the FIRST INSTANT AFTER THE GAP, i.e. the transition itself:
 *     2026-03-08 02:30 in America/Chicago is 08:00Z (03:00 CDT).
 * This map is monotonic: a later wall time never gives an earlier instant.
 *
 * Windows: the window of kind C containing t is the set of instants whose
 * local calendar fields (date and hour / date / ISO week from Monday / year
 * and month) equal t's. It is the half-open interval [start, end) where start
 * is the instant (by the rule above) of the local wall time that begins the
 * window and end is the start of the next one. So a local day is 23 or 25
 * hours around DST changes, and when the clock goes back one hour the
 * repeated local hour is one window two hours long (06:00Z-08:00Z for
 * 01:00-02:00 on 2026-11-01 in Chicago); a half-hour DST change (Lord Howe)
 * makes 30- and 90-minute hours. For "UTC" the windows are exactly those of
 * lr_window_start/lr_window_end (core/agent.h).
 *
 * Supported instants are those lr_time_parse() yields: years 0000-9999 UTC
 * (LR_ZONE_TIME_MIN..LR_ZONE_TIME_MAX). Outside, lr_zone_civil fails with
 * LR_ERANGE and the window functions return LR_TIME_NONE.
 *
 * Caches (invariant: a cache entry is either empty or exact):
 *   - the offset span: [lo, hi) between two consecutive ICU transitions and
 *     the UTC offset over it; civil times inside it need no ICU call;
 *   - one window [start, end) per cap kind, the last one computed; a window
 *     query whose t falls inside it is answered from it.
 * A zone never changes, so the caches are never invalidated.
 */
#ifndef LR_CORE_TZ_H
#define LR_CORE_TZ_H

#include "leadrouter/model.h"

#define LR_ZONE_TIME_MIN (-62167219200000LL)   /* 0000-01-01T00:00:00Z */
#define LR_ZONE_TIME_MAX 253402300799999LL     /* 9999-12-31T23:59:59.999Z */
#define LR_ZONE_NAME_MAX 64                    /* longest zone name accepted (bytes) */

typedef struct lr_zone lr_zone;

/* Opens the zone NAME: an IANA/ICU system zone ID such as "America/Chicago",
 * "Europe/Berlin", "UTC", or an alias ICU knows ("US/Central"). IDs are
 * case-sensitive. Returns LR_OK and sets *out (free with lr_zone_close), or
 * LR_EINVAL for NULL, a name ICU does not know as a system zone (ICU would
 * silently use "Etc/Unknown", i.e. GMT: refused), a custom ID such as
 * "GMT+05:00", or a name longer than LR_ZONE_NAME_MAX; LR_ENOMEM. */
int lr_zone_open(const char *name, lr_zone **out);

/* Frees Z. Accepts NULL. */
void lr_zone_close(lr_zone *z);

/* The name Z was opened with (borrowed, lives as long as Z). */
const char *lr_zone_name(const lr_zone *z);

/* ICU's canonical ID of Z ("America/Chicago" for "US/Central", "Etc/UTC"
 * for "UTC"): two zones with the same canonical ID are the same zone.
 * Borrowed, lives as long as Z. */
const char *lr_zone_canonical(const lr_zone *z);

/* Civil (wall clock) time. month 1-12, day 1-31, hour 0-23, minute 0-59,
 * second 0-59 (milliseconds dropped), weekday 0=Monday..6=Sunday,
 * utc_offset_min = local - UTC in minutes (truncated toward zero for the
 * pre-1900 local-mean-time offsets that have seconds). */
typedef struct lr_civil {
    int year, month, day, hour, minute, second, weekday;
    int utc_offset_min;
} lr_civil;

/* The wall time of instant T in Z. Returns LR_OK and fills *out, LR_ERANGE
 * when T is outside LR_ZONE_TIME_MIN..MAX, or LR_EINVAL if ICU fails. */
int lr_zone_civil(lr_zone *z, lr_time t, lr_civil *out);

/* The instant of the wall time YEAR-MONTH-DAY HOUR:MINUTE:00 in Z, by the
 * rule at the top of this file (earlier instant when repeated, first instant
 * after the gap when skipped). Returns LR_OK and sets *out, or LR_EINVAL
 * for a field out of range (year 0-9999, month 1-12, day within the month,
 * hour 0-23, minute 0-59) or an ICU failure. */
int lr_zone_instant(lr_zone *z, int year, int month, int day, int hour, int minute,
                    lr_time *out);

/* As lr_zone_instant for a wall time given as LOCAL: milliseconds since
 * 1970-01-01T00:00 wall time (lr_days_from_date(...) * 86400000 + ms into
 * the day; values past the end of a day roll into the next). LOCAL must be
 * within about a month of the supported range. Returns LR_OK or LR_EINVAL. */
int lr_zone_local_instant(lr_zone *z, int64_t local, lr_time *out);

/* Start and end ([start, end)) of the local window of kind C containing T:
 * hour, day, ISO week (from Monday 00:00), month. LR_TIME_NONE when T is
 * out of range or C is not a cap kind. Cheap when T falls in the window of
 * the previous call for the same C. */
lr_time lr_zone_window_start(lr_zone *z, lr_cap c, lr_time t);
lr_time lr_zone_window_end(lr_zone *z, lr_cap c, lr_time t);

/* Both ends at once: returns LR_OK and sets *start and *end, or LR_ERANGE /
 * LR_EINVAL (nothing written). */
int lr_zone_window(lr_zone *z, lr_cap c, lr_time t, lr_time *start, lr_time *end);

/* Proleptic Gregorian dates <-> days since 1970-01-01 (no zone involved).
 * lr_date_valid says whether Y-M-D is a real date with year 0-9999. */
int64_t lr_days_from_date(int year, int month, int day);
void lr_date_from_days(int64_t days, int *year, int *month, int *day);
int lr_date_valid(int year, int month, int day);
/* 0=Monday..6=Sunday of day DAYS since 1970-01-01 (a Thursday). */
int lr_weekday_of_days(int64_t days);

#endif
