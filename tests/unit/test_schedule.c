/* test_schedule.c -- agent schedules in real zones: shift edges in the
 * agent's zone across the 2026 DST changes, overnight shifts, several
 * ranges a day, out of office by dates and by instants, holidays, exact
 * next_change walks, agreement with a wall-clock oracle minute by minute,
 * and the parse errors with their messages. */
#include "core/schedule.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "test.h"

#include <stdarg.h>
#include <stdlib.h>

#define MIN_MS 60000LL
#define DAY_MS 86400000LL

static lr_time T(const char *s) {
    lr_time t;
    if (lr_time_parse(s, strlen(s), &t) != LR_OK) {
        printf("bad time literal %s\n", s);
        exit(2);
    }
    return t;
}

static char err[256];

/* A schedule in ZONE with hours given as "days=hours" pairs, NULL-ended;
 * exits on error (the error tests call the functions directly). */
static lr_schedule *S(const char *zone, ...) {
    lr_schedule *s = NULL;
    if (lr_schedule_create(zone, &s, err, sizeof err) != LR_OK) {
        printf("create %s: %s\n", zone, err);
        exit(2);
    }
    va_list ap;
    va_start(ap, zone);
    const char *kv;
    while ((kv = va_arg(ap, const char *)) != NULL) {
        char days[64];
        const char *eq = strchr(kv, '=');
        snprintf(days, sizeof days, "%.*s", (int)(eq - kv), kv);
        if (lr_schedule_add_hours(s, days, eq + 1, err, sizeof err) != LR_OK) {
            printf("add_hours %s: %s\n", kv, err);
            exit(2);
        }
    }
    va_end(ap);
    return s;
}

static const char *const avail_names[] = { "ON", "OFF", "OOO" };

static const char *at(lr_schedule *s, const char *when) {
    return avail_names[lr_schedule_at(s, T(when))];
}

static const char *fmt(lr_time t) {
    static char buf[40];
    if (t == LR_TIME_NONE) return "NONE";
    lr_time_format(t, buf, sizeof buf);
    return buf;
}

/* Walks next_change from T0 while edges are < T1: "EDGE STATE" lines. Also
 * checks that every edge is after the previous one. */
static const char *walk(lr_schedule *s, const char *t0, const char *t1) {
    static char out[4096];
    size_t n = 0;
    out[0] = '\0';
    lr_time t = T(t0), end = T(t1);
    for (int i = 0; i < 100; i++) {
        lr_time e = lr_schedule_next_change(s, t);
        if (e == LR_TIME_NONE || e >= end) break;
        if (e <= t) { TEST_FAIL_("next_change(%lld) = %lld", (long long)t, (long long)e); break; }
        char buf[40];
        lr_time_format(e, buf, sizeof buf);
        n += (size_t)snprintf(out + n, sizeof out - n, "%s %s\n", buf, avail_names[lr_schedule_at(s, e)]);
        t = e;
    }
    return out;
}

TEST(shift_is_on_between_its_local_edges) {
    lr_schedule *s = S("America/Chicago", "mon-fri=08:30-17:30", "sat=10:00-14:00", NULL);
    CHECK_EQ_STR(at(s, "2026-06-15T13:29:59.999Z"), "OFF");    /* Mon 08:29:59.999 CDT */
    CHECK_EQ_STR(at(s, "2026-06-15T13:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-06-15T22:29:59Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-06-15T22:30:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-06-13T14:59:00Z"), "OFF");        /* Sat 09:59 */
    CHECK_EQ_STR(at(s, "2026-06-13T15:00:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-06-13T19:00:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-06-14T17:00:00Z"), "OFF");        /* Sunday */
    lr_schedule_free(s);
}

TEST(shift_starts_at_same_local_time_on_both_sides_of_dst_changes) {
    lr_schedule *s = S("America/Chicago", "mon-fri=08:30-17:30", NULL);
    /* Friday before spring forward (CST), Monday after (CDT) */
    CHECK_EQ_STR(at(s, "2026-03-06T14:29:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-03-06T14:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-03-09T13:29:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-03-09T13:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-03-09T22:29:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-03-09T22:30:00Z"), "OFF");
    /* Friday before fall back (CDT), Monday after (CST) */
    CHECK_EQ_STR(at(s, "2026-10-30T13:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-11-02T14:29:59Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-11-02T14:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-11-02T23:29:59Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-11-02T23:30:00Z"), "OFF");
    lr_schedule_free(s);

    s = S("Europe/Berlin", "daily=08:30-17:30", NULL);
    CHECK_EQ_STR(at(s, "2026-03-28T07:29:00Z"), "OFF");        /* CET */
    CHECK_EQ_STR(at(s, "2026-03-28T07:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-03-29T06:29:00Z"), "OFF");        /* CEST, the change day */
    CHECK_EQ_STR(at(s, "2026-03-29T06:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-10-25T07:29:00Z"), "OFF");        /* CET, the change day */
    CHECK_EQ_STR(at(s, "2026-10-25T07:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-10-25T16:30:00Z"), "OFF");
    lr_schedule_free(s);
}

TEST(shift_inside_the_dst_night_follows_the_wall_time_rule) {
    lr_schedule *s = S("America/Chicago", "sun=01:30-02:30", NULL);
    /* spring: 02:30 does not exist, so the shift ends at the gap (03:00 CDT) */
    CHECK_EQ_STR(at(s, "2026-03-08T07:29:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-03-08T07:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-03-08T07:59:59Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-03-08T08:00:00Z"), "OFF");
    /* fall: from the first 01:30 (CDT) to 02:30 CST: two hours */
    CHECK_EQ_STR(at(s, "2026-11-01T06:29:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-11-01T06:30:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-11-01T08:29:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-11-01T08:30:00Z"), "OFF");
    lr_schedule_free(s);
    /* a range swallowed by the gap is empty */
    s = S("America/Chicago", "sun=02:00-02:45", NULL);
    CHECK_EQ_STR(at(s, "2026-03-08T08:00:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-03-01T08:10:00Z"), "ON");         /* the Sunday before */
    CHECK_EQ_STR(walk(s, "2026-03-02T00:00:00Z", "2026-03-16T00:00:00Z"),
                 "2026-03-15T07:00:00Z ON\n2026-03-15T07:45:00Z OFF\n");
    lr_schedule_free(s);
}

TEST(overnight_shift_belongs_to_its_start_day_and_spans_dst) {
    lr_schedule *s = S("America/Chicago", "sat=22:00-06:00", NULL);
    CHECK_EQ_STR(at(s, "2026-06-14T02:59:00Z"), "OFF");        /* Sat 21:59 CDT */
    CHECK_EQ_STR(at(s, "2026-06-14T03:00:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-06-14T10:59:00Z"), "ON");         /* Sun 05:59 */
    CHECK_EQ_STR(at(s, "2026-06-14T11:00:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-06-13T10:00:00Z"), "OFF");        /* Sat 05:00: no Friday shift */
    /* across fall back: 22:00 CDT to 06:00 CST, 9 hours */
    CHECK_EQ_STR(walk(s, "2026-10-31T00:00:00Z", "2026-11-02T00:00:00Z"),
                 "2026-11-01T03:00:00Z ON\n2026-11-01T12:00:00Z OFF\n");
    /* across spring forward: 22:00 CST to 06:00 CDT, 7 hours */
    CHECK_EQ_STR(walk(s, "2026-03-07T00:00:00Z", "2026-03-09T00:00:00Z"),
                 "2026-03-08T04:00:00Z ON\n2026-03-08T11:00:00Z OFF\n");
    lr_schedule_free(s);
}

TEST(several_ranges_a_day_and_24h_and_off) {
    lr_schedule *s = S("Europe/Berlin", "mon-fri=08:00-12:00, 13:00-17:00", "sat=24h", "sun=off", NULL);
    CHECK_EQ_STR(at(s, "2026-06-15T06:00:00Z"), "ON");         /* Mon 08:00 CEST */
    CHECK_EQ_STR(at(s, "2026-06-15T09:59:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-06-15T10:00:00Z"), "OFF");        /* lunch */
    CHECK_EQ_STR(at(s, "2026-06-15T11:00:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-06-15T15:00:00Z"), "OFF");
    CHECK_EQ_STR(at(s, "2026-06-19T22:00:00Z"), "ON");         /* Sat 00:00 */
    CHECK_EQ_STR(at(s, "2026-06-20T21:59:59Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-06-20T22:00:00Z"), "OFF");        /* Sun */
    CHECK_EQ_STR(walk(s, "2026-06-19T12:00:00Z", "2026-06-22T12:00:00Z"),
                 "2026-06-19T15:00:00Z OFF\n2026-06-19T22:00:00Z ON\n"
                 "2026-06-20T22:00:00Z OFF\n2026-06-22T06:00:00Z ON\n"
                 "2026-06-22T10:00:00Z OFF\n2026-06-22T11:00:00Z ON\n");
    lr_schedule_free(s);
}

TEST(no_hours_means_always_on_and_nothing_changes) {
    lr_schedule *s = S("America/Chicago", NULL);
    CHECK_EQ_STR(at(s, "2026-06-14T03:00:00Z"), "ON");
    CHECK_EQ_STR(at(s, "1970-01-01T00:00:00Z"), "ON");
    CHECK_EQ_INT(lr_schedule_next_change(s, T("2026-06-14T03:00:00Z")), LR_TIME_NONE);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-01-05", "2026-01-06", err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_schedule_next_change(s, T("2026-06-14T03:00:00Z")), LR_TIME_NONE);
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("2026-01-01T00:00:00Z"))), "2026-01-05T06:00:00Z");
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("2026-01-05T06:00:00Z"))), "2026-01-07T06:00:00Z");
    /* hours given but all off: off for good */
    lr_schedule *o = S("UTC", "daily=off", NULL);
    CHECK_EQ_STR(at(o, "2026-06-14T03:00:00Z"), "OFF");
    CHECK_EQ_INT(lr_schedule_next_change(o, T("2026-06-14T03:00:00Z")), LR_TIME_NONE);
    lr_schedule_free(o);
    lr_schedule_free(s);
}

TEST(out_of_office_dates_are_inclusive_local_days) {
    lr_schedule *s = S("America/Chicago", NULL);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-12-24", "2026-12-27", err, sizeof err), LR_OK);
    CHECK_EQ_STR(at(s, "2026-12-24T05:59:59.999Z"), "ON");     /* Dec 23 23:59:59.999 CST */
    CHECK_EQ_STR(at(s, "2026-12-24T06:00:00Z"), "OOO");
    CHECK_EQ_STR(at(s, "2026-12-28T05:59:59.999Z"), "OOO");    /* Dec 27 23:59:59.999 */
    CHECK_EQ_STR(at(s, "2026-12-28T06:00:00Z"), "ON");
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2027-02-03", "2027-02-03", err, sizeof err), LR_OK);
    CHECK_EQ_STR(walk(s, "2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"),
                 "2027-02-03T06:00:00Z OOO\n2027-02-04T06:00:00Z ON\n");
    lr_schedule_free(s);
    /* a date range over the fall-back night is one day longer than 24h*n */
    s = S("Europe/Berlin", NULL);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-10-25", "2026-10-25", err, sizeof err), LR_OK);
    CHECK_EQ_STR(walk(s, "2026-10-01T00:00:00Z", "2027-01-01T00:00:00Z"),
                 "2026-10-24T22:00:00Z OOO\n2026-10-25T23:00:00Z ON\n");
    lr_schedule_free(s);
}

TEST(out_of_office_by_instants_and_mixed) {
    lr_schedule *s = S("America/Chicago", "daily=24h", NULL);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-07-01T12:00:00Z", "2026-07-01T15:30:00-05:00",
                                               err, sizeof err), LR_OK);
    CHECK_EQ_STR(at(s, "2026-07-01T11:59:59.999Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-07-01T12:00:00Z"), "OOO");
    CHECK_EQ_STR(at(s, "2026-07-01T20:29:59.999Z"), "OOO");
    CHECK_EQ_STR(at(s, "2026-07-01T20:30:00Z"), "ON");
    /* from a date (local midnight) to an instant */
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-08-10", "2026-08-10T12:00:00Z", err, sizeof err),
                 LR_OK);
    CHECK_EQ_STR(walk(s, "2026-08-09T12:00:00Z", "2026-08-11T00:00:00Z"),
                 "2026-08-10T05:00:00Z OOO\n2026-08-10T12:00:00Z ON\n");
    lr_schedule_free(s);
}

TEST(overlapping_absences_end_at_the_last_one_whatever_the_shifts) {
    lr_schedule *s = S("UTC", "mon-fri=09:00-17:00", NULL);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-07-05", "2026-07-20", err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-07-01", "2026-07-10", err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-07-21T00:00:00Z", "2026-07-21T10:00:00Z",
                                               err, sizeof err), LR_OK);
    CHECK_EQ_STR(walk(s, "2026-06-30T12:00:00Z", "2026-07-23T00:00:00Z"),
                 "2026-06-30T17:00:00Z OFF\n2026-07-01T00:00:00Z OOO\n"
                 "2026-07-21T10:00:00Z ON\n2026-07-21T17:00:00Z OFF\n"
                 "2026-07-22T09:00:00Z ON\n2026-07-22T17:00:00Z OFF\n");
    lr_schedule_free(s);
}

/* 1,999 absences of a minute each, given newest first, each ending where
 * the one before it (in time) begins, but for one minute left out: two
 * chains, each away to its end. */
TEST(a_chain_of_absences_in_any_order_is_one_absence) {
    lr_schedule *s = S("UTC", NULL);
    lr_time base = T("2030-01-01T00:00:00Z");
    for (int m = 1999; m >= 0; m--) {
        if (m == 1000) continue;
        char from[40], to[40];
        snprintf(from, sizeof from, "%s", fmt(base + (lr_time)m * 60000));
        snprintf(to, sizeof to, "%s", fmt(base + (lr_time)(m + 1) * 60000));
        CHECK_EQ_INT(lr_schedule_add_out_of_office(s, from, to, err, sizeof err), LR_OK);
    }
    CHECK_EQ_STR(walk(s, "2029-12-31T23:00:00Z", "2030-01-03T00:00:00Z"),
                 "2030-01-01T00:00:00Z OOO\n2030-01-01T16:40:00Z ON\n"
                 "2030-01-01T16:41:00Z OOO\n2030-01-02T09:20:00Z ON\n");
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("2030-01-01T05:00:30Z"))), "2030-01-01T16:40:00Z");
    /* one added after a question counts, merged with what it touches */
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2030-01-01T16:40:00Z", "2030-01-01T16:41:00Z",
                                               err, sizeof err), LR_OK);
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("2030-01-01T05:00:30Z"))), "2030-01-02T09:20:00Z");
    CHECK_EQ_STR(at(s, "2030-01-02T09:19:59.999Z"), "OOO");
    CHECK_EQ_STR(at(s, "2030-01-02T09:20:00Z"), "ON");
    lr_schedule_free(s);
}

TEST(holiday_is_the_whole_local_day_off_shift) {
    lr_schedule *s = S("America/Chicago", "daily=22:00-06:00", NULL);
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-12-25", err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-12-25", err, sizeof err), LR_OK);   /* counts once */
    /* Dec 24 22:00 CST on; the holiday starts at local midnight */
    CHECK_EQ_STR(walk(s, "2026-12-24T12:00:00Z", "2026-12-27T00:00:00Z"),
                 "2026-12-25T04:00:00Z ON\n2026-12-25T06:00:00Z OFF\n"
                 "2026-12-26T06:00:00Z ON\n2026-12-26T12:00:00Z OFF\n");
    CHECK_EQ_INT(lr_schedule_at(s, T("2026-12-25T18:00:00Z")), LR_AVAIL_OFF_SHIFT);
    lr_schedule_free(s);
    /* no hours: only the holiday's midnights change anything */
    s = S("Europe/Berlin", NULL);
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2027-01-01", err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-12-25", err, sizeof err), LR_OK);
    CHECK_EQ_STR(walk(s, "2026-12-01T00:00:00Z", "2028-01-01T00:00:00Z"),
                 "2026-12-24T23:00:00Z OFF\n2026-12-25T23:00:00Z ON\n"
                 "2026-12-31T23:00:00Z OFF\n2027-01-01T23:00:00Z ON\n");
    CHECK_EQ_INT(lr_schedule_next_change(s, T("2027-01-02T00:00:00Z")), LR_TIME_NONE);
    lr_schedule_free(s);
}

TEST(out_of_office_wins_over_holiday_and_hours) {
    lr_schedule *s = S("UTC", "daily=09:00-17:00", NULL);
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-05-01", err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-04-30T12:00:00Z", "2026-05-01T12:00:00Z",
                                               err, sizeof err), LR_OK);
    CHECK_EQ_STR(at(s, "2026-04-30T11:00:00Z"), "ON");
    CHECK_EQ_STR(at(s, "2026-04-30T20:00:00Z"), "OOO");        /* off shift, but away */
    CHECK_EQ_STR(at(s, "2026-05-01T10:00:00Z"), "OOO");        /* holiday, but away */
    CHECK_EQ_STR(at(s, "2026-05-01T13:00:00Z"), "OFF");        /* holiday */
    CHECK_EQ_STR(at(s, "2026-05-02T10:00:00Z"), "ON");
    lr_schedule_free(s);
}

TEST(next_change_walks_a_berlin_week_edge_by_edge) {
    lr_schedule *s = S("Europe/Berlin", "mon-fri=09:00-17:00", "sat=22:00-06:00", NULL);
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-10-23", err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-10-20T10:00:00Z", "2026-10-20T12:00:00Z",
                                               err, sizeof err), LR_OK);
    CHECK_EQ_STR(walk(s, "2026-10-19T00:00:00Z", "2026-10-27T00:00:00Z"),
                 "2026-10-19T07:00:00Z ON\n2026-10-19T15:00:00Z OFF\n"
                 "2026-10-20T07:00:00Z ON\n2026-10-20T10:00:00Z OOO\n"
                 "2026-10-20T12:00:00Z ON\n2026-10-20T15:00:00Z OFF\n"
                 "2026-10-21T07:00:00Z ON\n2026-10-21T15:00:00Z OFF\n"
                 "2026-10-22T07:00:00Z ON\n2026-10-22T15:00:00Z OFF\n"
                 "2026-10-24T20:00:00Z ON\n2026-10-25T05:00:00Z OFF\n"   /* 22:00 CEST-06:00 CET */
                 "2026-10-26T08:00:00Z ON\n2026-10-26T16:00:00Z OFF\n");
    lr_schedule_free(s);
}

TEST(next_change_walks_a_chicago_week_over_spring_forward) {
    lr_schedule *s = S("America/Chicago", "mon-fri=08:30-17:30", "sat=10:00-14:00", NULL);
    CHECK_EQ_STR(walk(s, "2026-03-02T00:00:00Z", "2026-03-10T00:00:00Z"),
                 "2026-03-02T14:30:00Z ON\n2026-03-02T23:30:00Z OFF\n"
                 "2026-03-03T14:30:00Z ON\n2026-03-03T23:30:00Z OFF\n"
                 "2026-03-04T14:30:00Z ON\n2026-03-04T23:30:00Z OFF\n"
                 "2026-03-05T14:30:00Z ON\n2026-03-05T23:30:00Z OFF\n"
                 "2026-03-06T14:30:00Z ON\n2026-03-06T23:30:00Z OFF\n"
                 "2026-03-07T16:00:00Z ON\n2026-03-07T20:00:00Z OFF\n"
                 "2026-03-09T13:30:00Z ON\n2026-03-09T22:30:00Z OFF\n");
    /* from inside a shift, and exactly at an edge */
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("2026-03-09T15:00:00Z"))), "2026-03-09T22:30:00Z");
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("2026-03-09T13:30:00Z"))), "2026-03-09T22:30:00Z");
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("2026-03-09T13:29:59.999Z"))), "2026-03-09T13:30:00Z");
    lr_schedule_free(s);
}

/* The oracle: the schedule "mon-fri 08:30-17:30, sat 22:00-06:00" with the
 * holiday 2026-11-26 and out of office 2026-03-04 (dates), read off the
 * wall clock. No edge lies in a DST hour, so the wall clock and the
 * instant-interval semantics agree. */
static lr_avail oracle(lr_zone *z, lr_time t) {
    lr_civil c;
    if (lr_zone_civil(z, t, &c) != LR_OK) return (lr_avail)99;
    if (c.year == 2026 && c.month == 3 && c.day == 4) return LR_AVAIL_OUT_OF_OFFICE;
    if (c.year == 2026 && c.month == 11 && c.day == 26) return LR_AVAIL_OFF_SHIFT;
    int m = c.hour * 60 + c.minute;
    if (c.weekday < 5 && m >= 510 && m < 1050) return LR_AVAIL_ON;
    if (c.weekday == 5 && m >= 1320) return LR_AVAIL_ON;
    if (c.weekday == 6 && m < 360) return LR_AVAIL_ON;
    return LR_AVAIL_OFF_SHIFT;
}

static void check_against_oracle(const char *from, int days) {
    lr_schedule *fwd = S("America/Chicago", "mon-fri=08:30-17:30", "sat=22:00-06:00", NULL);
    lr_schedule *bwd = S("America/Chicago", "mon-fri=08:30-17:30", "sat=22:00-06:00", NULL);
    lr_schedule *list[2] = { fwd, bwd };
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_INT(lr_schedule_add_holiday(list[k], "2026-11-26", err, sizeof err), LR_OK);
        CHECK_EQ_INT(lr_schedule_add_out_of_office(list[k], "2026-03-04", "2026-03-04", err, sizeof err), LR_OK);
    }
    lr_zone *z = lr_schedule_zone(fwd);
    size_t n = (size_t)days * 1440;
    lr_time t0 = T(from);
    lr_avail *want = malloc(n * sizeof *want);
    lr_time *next = malloc(n * sizeof *next);
    for (size_t i = 0; i < n; i++) want[i] = oracle(z, t0 + (lr_time)i * MIN_MS);
    next[n - 1] = LR_TIME_NONE;                 /* unknown past the end */
    for (size_t i = n - 1; i-- > 0;)
        next[i] = want[i + 1] != want[i] ? t0 + (lr_time)(i + 1) * MIN_MS : next[i + 1];
    int bad = 0;
    for (size_t i = 0; i < n && bad < 5; i++) {
        lr_time t = t0 + (lr_time)i * MIN_MS;
        lr_avail a = lr_schedule_at(fwd, t);                        /* forward: cached */
        size_t j = n - 1 - i;
        lr_avail b = lr_schedule_at(bwd, t0 + (lr_time)j * MIN_MS);      /* backward: misses */
        lr_time nc = lr_schedule_next_change(fwd, t);
        lr_time nc2 = lr_schedule_next_change(bwd, t0 + (lr_time)j * MIN_MS);
        if (a != want[i] || b != want[j] || (next[i] != LR_TIME_NONE && nc != next[i]) ||
            (next[j] != LR_TIME_NONE && nc2 != next[j])) {
            bad++;
            TEST_FAIL_("at %s: fwd %d bwd %d want %d/%d next %lld/%lld want %lld/%lld", fmt(t), a, b,
                       want[i], want[j], (long long)nc, (long long)nc2, (long long)next[i],
                       (long long)next[j]);
        }
    }
    CHECK_EQ_INT(bad, 0);
    free(want);
    free(next);
    lr_schedule_free(fwd);
    lr_schedule_free(bwd);
}

TEST(at_and_next_change_agree_with_wall_clock_minute_by_minute_around_dst) {
    check_against_oracle("2026-02-26T00:00:00Z", 21);   /* spring forward, out of office */
    check_against_oracle("2026-10-22T00:00:00Z", 38);   /* fall back, Thanksgiving */
}

TEST(cache_is_cleared_when_the_schedule_changes) {
    lr_schedule *s = S("UTC", "daily=24h", NULL);
    CHECK_EQ_STR(at(s, "2026-05-05T10:00:00Z"), "ON");
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-05-05", "2026-05-05", err, sizeof err), LR_OK);
    CHECK_EQ_STR(at(s, "2026-05-05T10:00:00Z"), "OOO");
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-05-06", err, sizeof err), LR_OK);
    CHECK_EQ_STR(at(s, "2026-05-06T10:00:00Z"), "OFF");
    lr_schedule *t = S("UTC", NULL);
    CHECK_EQ_STR(at(t, "2026-05-06T10:00:00Z"), "ON");
    CHECK_EQ_INT(lr_schedule_add_hours(t, "wed", "11:00-12:00", err, sizeof err), LR_OK);
    CHECK_EQ_STR(at(t, "2026-05-06T10:00:00Z"), "OFF");
    lr_schedule_free(t);
    lr_schedule_free(s);
}

TEST(instants_outside_years_0000_to_9999_are_handled) {
    lr_schedule *s = S("UTC", "daily=09:00-17:00", NULL);
    CHECK_EQ_INT(lr_schedule_at(s, INT64_MAX), LR_AVAIL_OFF_SHIFT);
    CHECK_EQ_INT(lr_schedule_at(s, INT64_MIN), LR_AVAIL_OFF_SHIFT);
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, INT64_MIN)), "0000-01-01T09:00:00Z");
    CHECK_EQ_INT(lr_schedule_next_change(s, T("9999-12-31T20:00:00Z")), LR_TIME_NONE);
    CHECK_EQ_INT(lr_schedule_next_change(s, LR_ZONE_TIME_MAX + 1), LR_TIME_NONE);
    CHECK_EQ_INT(lr_schedule_next_change(s, INT64_MAX), LR_TIME_NONE);
    lr_schedule_free(s);
    /* the last shift of 9999 is cut where local time stops being read */
    s = S("America/Chicago", "daily=17:00-20:00", NULL);
    CHECK_EQ_STR(at(s, "9999-12-31T23:30:00Z"), "ON");
    CHECK_EQ_STR(fmt(lr_schedule_next_change(s, T("9999-12-31T23:30:00Z"))), "10000-01-01T00:00:00Z");
    CHECK_EQ_INT(lr_schedule_at(s, LR_ZONE_TIME_MAX + 1), LR_AVAIL_OFF_SHIFT);
    lr_schedule_free(s);
    s = S("UTC", NULL);
    CHECK_EQ_INT(lr_schedule_at(s, INT64_MIN), LR_AVAIL_ON);
    CHECK_EQ_INT(lr_schedule_next_change(s, INT64_MIN), LR_TIME_NONE);
    lr_schedule_free(s);
}

/* Runs add_hours on a fresh Chicago schedule; returns the message or "ok". */
static const char *hours_err(const char *days, const char *hours) {
    lr_schedule *s = S("America/Chicago", NULL);
    int rc = lr_schedule_add_hours(s, days, hours, err, sizeof err);
    lr_schedule_free(s);
    if (rc == LR_OK) return "ok";
    if (rc != LR_EINVAL) return "wrong code";
    return err;
}

TEST(parse_errors_name_what_is_wrong) {
    CHECK_EQ_STR(hours_err("mnd", "08:00-17:00"), "unknown day 'mnd' (use mon..sun, mon-fri, daily)");
    /* it said "unknown day 'daily'" while it suggested daily */
    CHECK_EQ_STR(hours_err("daily-fri", "08:00-17:00"),
                 "'daily-fri': a range is of days mon..sun; daily stands alone (use mon..sun, mon-fri, daily)");
    CHECK_EQ_STR(hours_err("mon-fry", "08:00-17:00"), "unknown day 'fry' (use mon..sun, mon-fri, daily)");
    CHECK_EQ_STR(hours_err("mon,,fri", "08:00-17:00"),
                 "empty day in 'mon,,fri' (use mon..sun, mon-fri, daily)");
    CHECK_EQ_STR(hours_err("  ", "08:00-17:00"), "no days given (use mon..sun, mon-fri, daily)");
    CHECK_EQ_STR(hours_err("mon,wed,mon", "08:00-17:00"), "day 'mon' is given twice");
    CHECK_EQ_STR(hours_err("mon", "8:3-17"), "'8:3-17' is not HH:MM-HH:MM");
    CHECK_EQ_STR(hours_err("mon", "08:00-12:00, 13:00"), "'13:00' is not HH:MM-HH:MM");
    CHECK_EQ_STR(hours_err("mon", "0800-1700"), "'0800-1700' is not HH:MM-HH:MM");
    CHECK_EQ_STR(hours_err("mon", "25:00-26:00"),
                 "'25:00-26:00' is not a time range (hours 00-23, 24:00 only as an end; minutes 00-59)");
    CHECK_EQ_STR(hours_err("mon", "08:60-09:00"),
                 "'08:60-09:00' is not a time range (hours 00-23, 24:00 only as an end; minutes 00-59)");
    CHECK_EQ_STR(hours_err("mon", "24:00-08:00"),
                 "'24:00-08:00' is not a time range (hours 00-23, 24:00 only as an end; minutes 00-59)");
    CHECK_EQ_STR(hours_err("mon", ""), "empty hours (use HH:MM-HH:MM, 24h or off)");
    CHECK_EQ_STR(hours_err("mon", "08:00-12:00,"), "empty range in '08:00-12:00,'");
    CHECK_EQ_STR(hours_err("mon", "1:00-1:30,2:00-2:30,3:00-3:30,4:00-4:30,5:00-5:30,6:00-6:30,"
                                  "7:00-7:30,8:00-8:30,9:00-9:30"),
                 "more than 8 ranges in '1:00-1:30,2:00-2:30,3:00-3:30,4:00-4:30,...'");
    CHECK_EQ_STR(hours_err("mon", "off, 08:00-09:00"), "'off' is not HH:MM-HH:MM");
    /* accepted spellings */
    CHECK_EQ_STR(hours_err("Mon - Fri", " 8:30 - 17:30 "), "ok");
    CHECK_EQ_STR(hours_err("fri-mon", "22:00-24:00"), "ok");
    CHECK_EQ_STR(hours_err("DAILY", "OFF"), "ok");
    CHECK_EQ_STR(hours_err("sun", "24H"), "ok");
    CHECK_EQ_STR(hours_err("mon,wed-thu, sat", "00:00-00:00"), "ok");
}

TEST(day_given_twice_across_keys_is_an_error_and_leaves_schedule_unchanged) {
    lr_schedule *s = S("America/Chicago", "mon-fri=09:00-17:00", NULL);
    CHECK_EQ_INT(lr_schedule_add_hours(s, "sat,fri", "10:00-12:00", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "day 'fri' is given twice");
    CHECK_EQ_INT(lr_schedule_add_hours(s, "daily", "10:00-12:00", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "day 'mon' is given twice");
    /* a failed call changes nothing: sat is still free, still off */
    CHECK_EQ_INT(lr_schedule_add_hours(s, "sat,sun", "bad", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(at(s, "2026-06-13T17:00:00Z"), "OFF");
    CHECK_EQ_INT(lr_schedule_add_hours(s, "sat", "10:00-14:00", err, sizeof err), LR_OK);
    CHECK_EQ_STR(at(s, "2026-06-13T17:00:00Z"), "ON");
    lr_schedule_free(s);
}

TEST(zone_date_and_range_errors) {
    lr_schedule *s = (lr_schedule *)1;
    CHECK_EQ_INT(lr_schedule_create("Mars/Base", &s, err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "unknown time zone 'Mars/Base' (use an IANA name such as America/Chicago)");
    CHECK(s == (lr_schedule *)1);
    s = S("America/Chicago", NULL);
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-13-01", "2026-12-27", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "from '2026-13-01' is not a date (YYYY-MM-DD) or an RFC 3339 date-time");
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-12-24", "12/27/2026", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "to '12/27/2026' is not a date (YYYY-MM-DD) or an RFC 3339 date-time");
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-12-24T10:00:00", "2026-12-27", err, sizeof err),
                 LR_EINVAL);   /* a date-time needs its offset */
    CHECK_EQ_STR(err, "from '2026-12-24T10:00:00' is not a date (YYYY-MM-DD) or an RFC 3339 date-time");
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-12-27", "2026-12-24", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "out of office ends before it starts (from '2026-12-27', to '2026-12-24')");
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, "2026-12-24T10:00:00Z", "2026-12-24T10:00:00Z",
                                               err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "out of office ends as it starts: no time away (from '2026-12-24T10:00:00Z', "
                      "to '2026-12-24T10:00:00Z')");
    CHECK_EQ_INT(lr_schedule_add_out_of_office(s, NULL, "2026-12-24", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "out of office needs both 'from' and 'to'");
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-02-29", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "holiday '2026-02-29' is not a date (YYYY-MM-DD)");
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "2026-12-25T00:00:00Z", err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "holiday '2026-12-25T00:00:00Z' is not a date (YYYY-MM-DD)");
    /* nothing was added */
    CHECK_EQ_INT(lr_schedule_next_change(s, T("2026-01-01T00:00:00Z")), LR_TIME_NONE);
    /* NULL error buffers and short ones */
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "x", NULL, 0), LR_EINVAL);
    char small[8];
    CHECK_EQ_INT(lr_schedule_add_holiday(s, "x", small, sizeof small), LR_EINVAL);
    CHECK_EQ_STR(small, "holiday");
    lr_schedule_free(s);
    lr_schedule_free(NULL);
}

int main(void) {
    RUN(shift_is_on_between_its_local_edges);
    RUN(shift_starts_at_same_local_time_on_both_sides_of_dst_changes);
    RUN(shift_inside_the_dst_night_follows_the_wall_time_rule);
    RUN(overnight_shift_belongs_to_its_start_day_and_spans_dst);
    RUN(several_ranges_a_day_and_24h_and_off);
    RUN(no_hours_means_always_on_and_nothing_changes);
    RUN(out_of_office_dates_are_inclusive_local_days);
    RUN(out_of_office_by_instants_and_mixed);
    RUN(a_chain_of_absences_in_any_order_is_one_absence);
    RUN(overlapping_absences_end_at_the_last_one_whatever_the_shifts);
    RUN(holiday_is_the_whole_local_day_off_shift);
    RUN(out_of_office_wins_over_holiday_and_hours);
    RUN(next_change_walks_a_berlin_week_edge_by_edge);
    RUN(next_change_walks_a_chicago_week_over_spring_forward);
    RUN(at_and_next_change_agree_with_wall_clock_minute_by_minute_around_dst);
    RUN(cache_is_cleared_when_the_schedule_changes);
    RUN(instants_outside_years_0000_to_9999_are_handled);
    RUN(parse_errors_name_what_is_wrong);
    RUN(day_given_twice_across_keys_is_an_error_and_leaves_schedule_unchanged);
    RUN(zone_date_and_range_errors);
    return test_report();
}
