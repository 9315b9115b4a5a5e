/* schedule.h -- an agent's working time: weekly hours in the agent's own
 * time zone, out-of-office ranges, holidays; "is the agent on at t?" and
 * "when can that answer change next?".
 *
 * Built from config of this shape (the loader calls the functions below and
 * reports their messages at the position of the offending node):
 *
 *   schedule: {timezone: America/Chicago,
 *              hours: {mon-fri: "08:30-17:30", sat: "10:00-14:00"}}
 *   out_of_office: [{from: 2026-12-24, to: 2026-12-27}]
 *   holidays: {America/Chicago: [2026-12-25, 2027-01-01]}   # top level, per zone
 *
 * Days: mon tue wed thu fri sat sun (any case), ranges "mon-fri" (a range
 * may wrap: "fri-mon" is fri,sat,sun,mon), lists "mon,wed,fri-sun", "daily".
 * A day given twice, in one key or across keys, is an error.
 * Hours: "08:30-17:30" (H:MM or HH:MM; 24:00 allowed as an end), several
 * ranges "08:00-12:00, 13:00-17:00" (at most LR_SCHEDULE_MAX_RANGES a day;
 * overlapping ranges simply add up), "24h" (the whole day), "off". A range
 * ending at or before its start crosses midnight: "22:00-06:00" belongs to
 * the day it starts on (so "mon: 22:00-06:00" works Monday night into
 * Tuesday morning); "08:00-08:00" is 24 hours from 08:00.
 *
 * Meaning (all local times in the schedule's zone, turned into instants by
 * lr_zone_instant's rule: a repeated wall time is its earlier instant, a
 * skipped one the first instant after the gap):
 *   - a range of day D is the instant interval [instant(D start),
 *     instant(D end)), so 08:30-17:30 is 08:30 local on both sides of a DST
 *     change, and an overnight shift across one is an hour shorter or longer;
 *     a range swallowed by a gap is empty;
 *   - out of office from/to DATES covers [00:00 local of `from`, 00:00 local
 *     of the day after `to`) (inclusive dates); given as RFC 3339 date-times
 *     they are the instants [from, to); one end may be a date, the other a
 *     date-time;
 *   - a holiday is the whole local day [00:00, next 00:00), whatever shifts
 *     overlap it (including the tail of the previous night's overnight shift);
 *   - no `hours` at all: the agent works all the time (out of office and
 *     holidays still apply); hours given, but none for a day: off that day.
 *   Precedence: out of office, then holiday (OFF_SHIFT), then hours.
 *
 * Invariant: lr_schedule_at is constant on [t, lr_schedule_next_change(t)).
 * lr_schedule_at caches the last answer over exactly that interval, so the
 * engine's monotonic queries cost one comparison between edges; every
 * lr_schedule_add_* clears the cache. Not thread-safe (owns an lr_zone).
 *
 * Errors: the add/create functions return LR_OK, LR_EINVAL with a message
 * in ERR ("unknown day 'mnd' (use mon..sun, mon-fri, daily)", "'8:3-17' is
 * not HH:MM-HH:MM") and the schedule unchanged, or LR_ENOMEM (unchanged).
 * ERR may be NULL (ERRLEN 0); messages are always NUL-terminated and
 * truncated to ERRLEN.
 */
#ifndef LR_CORE_SCHEDULE_H
#define LR_CORE_SCHEDULE_H

#include <stddef.h>

#include "core/tz.h"
#include "leadrouter/model.h"

#define LR_SCHEDULE_MAX_RANGES 8

typedef struct lr_schedule lr_schedule;

typedef enum lr_avail {
    LR_AVAIL_ON = 0,
    LR_AVAIL_OFF_SHIFT,             /* outside hours, or a holiday: skip reason off_shift */
    LR_AVAIL_OUT_OF_OFFICE          /* skip reason out_of_office */
} lr_avail;

/* Creates an empty schedule (works all the time) in zone ZONE (an IANA ID,
 * see lr_zone_open). Returns LR_OK and sets *out (free with
 * lr_schedule_free), LR_EINVAL ("unknown time zone 'X'"), or LR_ENOMEM. */
int lr_schedule_create(const char *zone, lr_schedule **out, char *err, size_t errlen);

/* Adds working hours HOURS for the days DAYS (both borrowed; syntax at the
 * top of this file). The first call turns "works all the time" into "works
 * the given hours only". LR_OK, LR_EINVAL with a message, or LR_ENOMEM. */
int lr_schedule_add_hours(lr_schedule *s, const char *days, const char *hours,
                          char *err, size_t errlen);

/* Adds an out-of-office range FROM..TO: each a date YYYY-MM-DD (inclusive,
 * local) or an RFC 3339 date-time (an instant). An empty range ("to" before
 * "from") is an error. LR_OK, LR_EINVAL with a message, or LR_ENOMEM. */
int lr_schedule_add_out_of_office(lr_schedule *s, const char *from, const char *to,
                                  char *err, size_t errlen);

/* Adds the local day DATE (YYYY-MM-DD) as a holiday. A date given twice
 * counts once. LR_OK, LR_EINVAL with a message, or LR_ENOMEM. */
int lr_schedule_add_holiday(lr_schedule *s, const char *date, char *err, size_t errlen);

/* Frees S and its zone. Accepts NULL. */
void lr_schedule_free(lr_schedule *s);

/* The agent's availability at T. Instants the zone cannot convert (outside
 * years 0000-9999) are OFF_SHIFT unless out of office. */
lr_avail lr_schedule_at(lr_schedule *s, lr_time t);

/* The first instant > T at which lr_schedule_at may differ from its value at
 * T: a shift edge, a local midnight starting or ending a holiday, an
 * out-of-office edge. LR_TIME_NONE when nothing will change (no hours and no
 * absence ahead, or T outside years 0000-9999 with none). Never returns an
 * instant <= T and never skips an edge: the answer at T holds on
 * [T, next_change). */
lr_time lr_schedule_next_change(lr_schedule *s, lr_time t);

/* The schedule's zone (borrowed; owned by S). */
lr_zone *lr_schedule_zone(lr_schedule *s);

#endif
