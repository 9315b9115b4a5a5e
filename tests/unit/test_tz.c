/* test_tz.c -- civil time, wall-time instants and calendar windows in real
 * IANA zones (ICU's data): DST changes of 2026 in America/Chicago (03-08,
 * 11-01) and Europe/Berlin (03-29, 10-25), half-hour zones, UTC against
 * agent.c's windows, and properties over every zone ICU knows. */
#include "core/agent.h"
#include "core/tz.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "test.h"

#include <stdlib.h>
#include <unicode/ucal.h>
#include <unicode/uenum.h>

#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define DAY_MS 86400000LL

/* An RFC 3339 literal as lr_time (aborts the test program on a typo). */
static lr_time T(const char *s) {
    lr_time t;
    if (lr_time_parse(s, strlen(s), &t) != LR_OK) {
        printf("bad time literal %s\n", s);
        exit(2);
    }
    return t;
}

static lr_zone *Z(const char *name) {
    lr_zone *z = NULL;
    if (lr_zone_open(name, &z) != LR_OK) {
        printf("cannot open zone %s\n", name);
        exit(2);
    }
    return z;
}

/* "YYYY-MM-DD HH:MM:SS wd=N off=N" of T in Z, for compact exact checks. */
static const char *civ(lr_zone *z, lr_time t) {
    static char buf[64];
    lr_civil c;
    int rc = lr_zone_civil(z, t, &c);
    if (rc != LR_OK) { snprintf(buf, sizeof buf, "error %d", rc); return buf; }
    snprintf(buf, sizeof buf, "%04d-%02d-%02d %02d:%02d:%02d wd=%d off=%d", c.year, c.month,
             c.day, c.hour, c.minute, c.second, c.weekday, c.utc_offset_min);
    return buf;
}

/* The instant of a wall time as RFC 3339 UTC text, or "error N". */
static const char *inst(lr_zone *z, int y, int mo, int d, int h, int mi) {
    static char buf[40];
    lr_time t;
    int rc = lr_zone_instant(z, y, mo, d, h, mi, &t);
    if (rc != LR_OK) snprintf(buf, sizeof buf, "error %d", rc);
    else lr_time_format(t, buf, sizeof buf);
    return buf;
}

/* "[start, end)" of the window of kind C holding T, in RFC 3339 UTC. */
static const char *win(lr_zone *z, lr_cap c, lr_time t) {
    static char buf[80];
    char a[32], b[32];
    lr_time s = lr_zone_window_start(z, c, t), e = lr_zone_window_end(z, c, t);
    lr_time_format(s, a, sizeof a);
    lr_time_format(e, b, sizeof b);
    snprintf(buf, sizeof buf, "[%s, %s)", a, b);
    return buf;
}

TEST(chicago_civil_time_around_2026_spring_forward) {
    lr_zone *z = Z("America/Chicago");
    CHECK_EQ_STR(civ(z, T("2026-03-08T07:59:59Z")), "2026-03-08 01:59:59 wd=6 off=-360");
    CHECK_EQ_STR(civ(z, T("2026-03-08T08:00:00Z")), "2026-03-08 03:00:00 wd=6 off=-300");
    CHECK_EQ_STR(civ(z, T("2026-03-07T12:00:00Z")), "2026-03-07 06:00:00 wd=5 off=-360");
    CHECK_EQ_STR(civ(z, T("2026-03-09T12:00:00Z")), "2026-03-09 07:00:00 wd=0 off=-300");
    lr_zone_close(z);
}

TEST(chicago_civil_time_around_2026_fall_back) {
    lr_zone *z = Z("America/Chicago");
    CHECK_EQ_STR(civ(z, T("2026-11-01T06:59:59Z")), "2026-11-01 01:59:59 wd=6 off=-300");
    CHECK_EQ_STR(civ(z, T("2026-11-01T07:00:00Z")), "2026-11-01 01:00:00 wd=6 off=-360");
    CHECK_EQ_STR(civ(z, T("2026-11-01T08:00:00Z")), "2026-11-01 02:00:00 wd=6 off=-360");
    CHECK_EQ_STR(civ(z, T("2026-10-31T05:00:00Z")), "2026-10-31 00:00:00 wd=5 off=-300");
    lr_zone_close(z);
}

TEST(berlin_civil_time_around_both_2026_changes) {
    lr_zone *z = Z("Europe/Berlin");
    CHECK_EQ_STR(civ(z, T("2026-03-29T00:59:59Z")), "2026-03-29 01:59:59 wd=6 off=60");
    CHECK_EQ_STR(civ(z, T("2026-03-29T01:00:00Z")), "2026-03-29 03:00:00 wd=6 off=120");
    CHECK_EQ_STR(civ(z, T("2026-10-25T00:59:59Z")), "2026-10-25 02:59:59 wd=6 off=120");
    CHECK_EQ_STR(civ(z, T("2026-10-25T01:00:00Z")), "2026-10-25 02:00:00 wd=6 off=60");
    CHECK_EQ_STR(civ(z, T("2026-12-31T23:30:00Z")), "2027-01-01 00:30:00 wd=4 off=60");
    lr_zone_close(z);
}

TEST(instant_of_wall_time_in_spring_gap_is_first_instant_after_gap) {
    lr_zone *z = Z("America/Chicago");
    CHECK_EQ_STR(inst(z, 2026, 3, 8, 1, 59), "2026-03-08T07:59:00Z");
    CHECK_EQ_STR(inst(z, 2026, 3, 8, 2, 0), "2026-03-08T08:00:00Z");
    CHECK_EQ_STR(inst(z, 2026, 3, 8, 2, 30), "2026-03-08T08:00:00Z");
    CHECK_EQ_STR(inst(z, 2026, 3, 8, 2, 59), "2026-03-08T08:00:00Z");
    CHECK_EQ_STR(inst(z, 2026, 3, 8, 3, 0), "2026-03-08T08:00:00Z");
    CHECK_EQ_STR(inst(z, 2026, 3, 8, 3, 1), "2026-03-08T08:01:00Z");
    lr_zone_close(z);
    z = Z("Europe/Berlin");
    CHECK_EQ_STR(inst(z, 2026, 3, 29, 2, 30), "2026-03-29T01:00:00Z");
    CHECK_EQ_STR(inst(z, 2026, 3, 29, 1, 59), "2026-03-29T00:59:00Z");
    lr_zone_close(z);
}

TEST(instant_of_repeated_wall_time_is_the_earlier_one) {
    lr_zone *z = Z("America/Chicago");
    CHECK_EQ_STR(inst(z, 2026, 11, 1, 0, 59), "2026-11-01T05:59:00Z");
    CHECK_EQ_STR(inst(z, 2026, 11, 1, 1, 0), "2026-11-01T06:00:00Z");
    CHECK_EQ_STR(inst(z, 2026, 11, 1, 1, 30), "2026-11-01T06:30:00Z");
    CHECK_EQ_STR(inst(z, 2026, 11, 1, 1, 59), "2026-11-01T06:59:00Z");
    CHECK_EQ_STR(inst(z, 2026, 11, 1, 2, 0), "2026-11-01T08:00:00Z");
    lr_zone_close(z);
    z = Z("Europe/Berlin");
    CHECK_EQ_STR(inst(z, 2026, 10, 25, 2, 30), "2026-10-25T00:30:00Z");
    CHECK_EQ_STR(inst(z, 2026, 10, 25, 3, 0), "2026-10-25T02:00:00Z");
    lr_zone_close(z);
}

TEST(instant_refuses_fields_out_of_range) {
    lr_zone *z = Z("Europe/Berlin");
    CHECK_EQ_STR(inst(z, 2026, 13, 1, 0, 0), "error -2");
    CHECK_EQ_STR(inst(z, 2026, 2, 29, 0, 0), "error -2");
    CHECK_EQ_STR(inst(z, 2026, 4, 31, 0, 0), "error -2");
    CHECK_EQ_STR(inst(z, 2026, 1, 1, 24, 0), "error -2");
    CHECK_EQ_STR(inst(z, 2026, 1, 1, 0, 60), "error -2");
    CHECK_EQ_STR(inst(z, 10000, 1, 1, 0, 0), "error -2");
    CHECK_EQ_STR(inst(z, -1, 1, 1, 0, 0), "error -2");
    CHECK_EQ_STR(inst(z, 2028, 2, 29, 12, 0), "2028-02-29T11:00:00Z");
    lr_zone_close(z);
}

TEST(local_day_is_23_hours_at_spring_forward_and_25_at_fall_back) {
    lr_zone *z = Z("America/Chicago");
    CHECK_EQ_STR(win(z, LR_CAP_DAY, T("2026-03-08T12:00:00Z")),
                 "[2026-03-08T06:00:00Z, 2026-03-09T05:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_DAY, T("2026-11-01T12:00:00Z")),
                 "[2026-11-01T05:00:00Z, 2026-11-02T06:00:00Z)");
    CHECK_EQ_INT(lr_zone_window_end(z, LR_CAP_DAY, T("2026-03-08T12:00:00Z")) -
                 lr_zone_window_start(z, LR_CAP_DAY, T("2026-03-08T12:00:00Z")), 23 * HOUR_MS);
    CHECK_EQ_INT(lr_zone_window_end(z, LR_CAP_DAY, T("2026-11-01T12:00:00Z")) -
                 lr_zone_window_start(z, LR_CAP_DAY, T("2026-11-01T12:00:00Z")), 25 * HOUR_MS);
    /* the last millisecond of the day and the first of the next */
    CHECK_EQ_STR(win(z, LR_CAP_DAY, T("2026-11-02T05:59:59.999Z")),
                 "[2026-11-01T05:00:00Z, 2026-11-02T06:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_DAY, T("2026-11-02T06:00:00Z")),
                 "[2026-11-02T06:00:00Z, 2026-11-03T06:00:00Z)");
    lr_zone_close(z);
    z = Z("Europe/Berlin");
    CHECK_EQ_STR(win(z, LR_CAP_DAY, T("2026-03-29T10:00:00Z")),
                 "[2026-03-28T23:00:00Z, 2026-03-29T22:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_DAY, T("2026-10-25T10:00:00Z")),
                 "[2026-10-24T22:00:00Z, 2026-10-25T23:00:00Z)");
    lr_zone_close(z);
}

TEST(local_hour_windows_around_dst_changes) {
    lr_zone *z = Z("America/Chicago");
    /* 01:00-02:00 happens twice on 2026-11-01: one two-hour window */
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-11-01T06:10:00Z")),
                 "[2026-11-01T06:00:00Z, 2026-11-01T08:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-11-01T07:30:00Z")),
                 "[2026-11-01T06:00:00Z, 2026-11-01T08:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-11-01T08:00:00Z")),
                 "[2026-11-01T08:00:00Z, 2026-11-01T09:00:00Z)");
    /* 02:00-03:00 never happens on 2026-03-08: 01:xx ends where 03:xx starts */
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-03-08T07:30:00Z")),
                 "[2026-03-08T07:00:00Z, 2026-03-08T08:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-03-08T08:00:00Z")),
                 "[2026-03-08T08:00:00Z, 2026-03-08T09:00:00Z)");
    lr_zone_close(z);
}

TEST(week_starts_monday_00_00_local) {
    lr_zone *z = Z("America/Chicago");
    /* Sunday 2026-03-08: the week began Monday 03-02 in CST, ends Monday
     * 03-09 in CDT (167 hours) */
    CHECK_EQ_STR(win(z, LR_CAP_WEEK, T("2026-03-08T12:00:00Z")),
                 "[2026-03-02T06:00:00Z, 2026-03-09T05:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_WEEK, T("2026-03-09T04:59:59.999Z")),
                 "[2026-03-02T06:00:00Z, 2026-03-09T05:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_WEEK, T("2026-03-09T05:00:00Z")),
                 "[2026-03-09T05:00:00Z, 2026-03-16T05:00:00Z)");
    /* Monday 2026-11-02 01:00 UTC is still Sunday evening in Chicago */
    CHECK_EQ_STR(win(z, LR_CAP_WEEK, T("2026-11-02T01:00:00Z")),
                 "[2026-10-26T05:00:00Z, 2026-11-02T06:00:00Z)");
    lr_zone_close(z);
    z = Z("Europe/Berlin");
    /* Sunday 2026-06-14 22:30 UTC is Monday 00:30 in Berlin: a new week */
    CHECK_EQ_STR(win(z, LR_CAP_WEEK, T("2026-06-14T22:30:00Z")),
                 "[2026-06-14T22:00:00Z, 2026-06-21T22:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_WEEK, T("2026-06-14T21:59:59Z")),
                 "[2026-06-07T22:00:00Z, 2026-06-14T22:00:00Z)");
    lr_zone_close(z);
}

TEST(month_windows_in_local_time) {
    lr_zone *z = Z("America/Chicago");
    CHECK_EQ_STR(win(z, LR_CAP_MONTH, T("2026-03-15T00:00:00Z")),
                 "[2026-03-01T06:00:00Z, 2026-04-01T05:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_MONTH, T("2026-12-31T23:00:00Z")),
                 "[2026-12-01T06:00:00Z, 2027-01-01T06:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_MONTH, T("2027-01-01T05:59:59Z")),
                 "[2026-12-01T06:00:00Z, 2027-01-01T06:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_MONTH, T("2028-02-10T00:00:00Z")),
                 "[2028-02-01T06:00:00Z, 2028-03-01T06:00:00Z)");
    lr_zone_close(z);
    z = Z("Europe/Berlin");
    CHECK_EQ_STR(win(z, LR_CAP_MONTH, T("2026-10-31T22:59:59Z")),
                 "[2026-09-30T22:00:00Z, 2026-10-31T23:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_MONTH, T("2026-10-31T23:00:00Z")),
                 "[2026-10-31T23:00:00Z, 2026-11-30T23:00:00Z)");
    lr_zone_close(z);
}

TEST(kolkata_hours_start_at_half_past_utc) {
    lr_zone *z = Z("Asia/Kolkata");
    CHECK_EQ_STR(civ(z, T("2026-06-15T10:00:00Z")), "2026-06-15 15:30:00 wd=0 off=330");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-06-15T10:00:00Z")),
                 "[2026-06-15T09:30:00Z, 2026-06-15T10:30:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-06-15T10:30:00Z")),
                 "[2026-06-15T10:30:00Z, 2026-06-15T11:30:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_DAY, T("2026-06-15T10:00:00Z")),
                 "[2026-06-14T18:30:00Z, 2026-06-15T18:30:00Z)");
    lr_zone_close(z);
}

TEST(lord_howe_half_hour_dst_makes_90_and_30_minute_hours) {
    lr_zone *z = Z("Australia/Lord_Howe");
    /* 2026-04-05 02:00 +11:00 -> 01:30 +10:30: local hour 1 lasts 90 min */
    CHECK_EQ_STR(civ(z, T("2026-04-04T14:59:00Z")), "2026-04-05 01:59:00 wd=6 off=660");
    CHECK_EQ_STR(civ(z, T("2026-04-04T15:00:00Z")), "2026-04-05 01:30:00 wd=6 off=630");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-04-04T14:10:00Z")),
                 "[2026-04-04T14:00:00Z, 2026-04-04T15:30:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-04-04T15:10:00Z")),
                 "[2026-04-04T14:00:00Z, 2026-04-04T15:30:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-04-04T15:30:00Z")),
                 "[2026-04-04T15:30:00Z, 2026-04-04T16:30:00Z)");
    /* 2026-10-04 02:00 +10:30 -> 02:30 +11:00: local hour 2 lasts 30 min */
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-10-03T15:00:00Z")),
                 "[2026-10-03T14:30:00Z, 2026-10-03T15:30:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-10-03T15:45:00Z")),
                 "[2026-10-03T15:30:00Z, 2026-10-03T16:00:00Z)");
    CHECK_EQ_STR(win(z, LR_CAP_HOUR, T("2026-10-03T16:00:00Z")),
                 "[2026-10-03T16:00:00Z, 2026-10-03T17:00:00Z)");
    CHECK_EQ_STR(inst(z, 2026, 10, 4, 2, 15), "2026-10-03T15:30:00Z");
    CHECK_EQ_STR(inst(z, 2026, 4, 5, 1, 45), "2026-04-04T14:45:00Z");
    lr_zone_close(z);
}

/* A small deterministic generator for the property tests (splitmix64). */
static uint64_t rnd(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

TEST(utc_windows_agree_with_agent_windows_on_random_instants) {
    lr_zone *z = Z("UTC");
    uint64_t seed = 42;
    int bad = 0;
    for (int i = 0; i < 200000 && bad < 5; i++) {
        lr_time t;
        uint64_t r = rnd(&seed);
        if (i % 4 == 0)         /* anywhere in 0000-9999 */
            t = LR_ZONE_TIME_MIN + (lr_time)(r % (uint64_t)(LR_ZONE_TIME_MAX - LR_ZONE_TIME_MIN));
        else if (i % 4 == 1)    /* near a previous one: exercises the cache */
            t = T("2026-01-01T00:00:00Z") + (lr_time)(r % (400 * (uint64_t)DAY_MS));
        else if (i % 4 == 2)    /* exact boundaries */
            t = (lr_time)(r % 20000) * DAY_MS - (lr_time)(r % 3);
        else                    /* before 1970 */
            t = -(lr_time)(r % (uint64_t)(300LL * 365 * DAY_MS));
        lr_cap c = (lr_cap)(r >> 60 & 3);
        lr_time zs = lr_zone_window_start(z, c, t), ze = lr_zone_window_end(z, c, t);
        if (zs != lr_window_start(c, t) || ze != lr_window_end(c, t)) {
            bad++;
            TEST_FAIL_("cap %d t=%lld: zone [%lld,%lld) agent [%lld,%lld)", (int)c, (long long)t,
                       (long long)zs, (long long)ze, (long long)lr_window_start(c, t),
                       (long long)lr_window_end(c, t));
        }
    }
    CHECK_EQ_INT(bad, 0);
    lr_zone_close(z);
}

TEST(unknown_zones_are_refused) {
    lr_zone *z = (lr_zone *)1;
    CHECK_EQ_INT(lr_zone_open("Mars/Olympus_Mons", &z), LR_EINVAL);
    CHECK_EQ_INT(lr_zone_open("america/chicago", &z), LR_EINVAL);   /* IDs are case-sensitive */
    CHECK_EQ_INT(lr_zone_open("Etc/Unknown", &z), LR_EINVAL);
    CHECK_EQ_INT(lr_zone_open("GMT+05:00", &z), LR_EINVAL);         /* custom, not a system zone */
    CHECK_EQ_INT(lr_zone_open("", &z), LR_EINVAL);
    CHECK_EQ_INT(lr_zone_open(NULL, &z), LR_EINVAL);
    CHECK_EQ_INT(lr_zone_open("America/Chicago ", &z), LR_EINVAL);
    CHECK_EQ_INT(lr_zone_open("Europe/Z\xc3\xbcrich", &z), LR_EINVAL);
    CHECK_EQ_INT(lr_zone_open("America/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &z),
                 LR_EINVAL);
    CHECK(z == (lr_zone *)1);                                       /* untouched on failure */
    lr_zone_close(NULL);
}

TEST(zone_names_and_aliases) {
    lr_zone *z = Z("US/Central");
    CHECK_EQ_STR(lr_zone_name(z), "US/Central");
    CHECK_EQ_STR(lr_zone_canonical(z), "America/Chicago");
    CHECK_EQ_STR(civ(z, T("2026-07-01T12:00:00Z")), "2026-07-01 07:00:00 wd=2 off=-300");
    lr_zone_close(z);
    z = Z("UTC");
    CHECK_EQ_STR(lr_zone_name(z), "UTC");
    CHECK_EQ_STR(lr_zone_canonical(z), "Etc/UTC");
    lr_zone_close(z);
}

TEST(out_of_range_instants_are_refused) {
    lr_zone *z = Z("Europe/Berlin");
    lr_civil c;
    CHECK_EQ_INT(lr_zone_civil(z, LR_ZONE_TIME_MAX + 1, &c), LR_ERANGE);
    CHECK_EQ_INT(lr_zone_civil(z, LR_ZONE_TIME_MIN - 1, &c), LR_ERANGE);
    CHECK_EQ_INT(lr_zone_civil(z, LR_TIME_NONE, &c), LR_ERANGE);
    CHECK_EQ_INT(lr_zone_window_start(z, LR_CAP_DAY, INT64_MAX), LR_TIME_NONE);
    CHECK_EQ_INT(lr_zone_window_end(z, LR_CAP_DAY, LR_TIME_NONE), LR_TIME_NONE);
    CHECK_EQ_INT(lr_zone_window_start(z, (lr_cap)7, 0), LR_TIME_NONE);
    CHECK_EQ_STR(civ(z, LR_ZONE_TIME_MAX), "10000-01-01 00:59:59 wd=5 off=60");
    CHECK_EQ_STR(win(z, LR_CAP_MONTH, LR_ZONE_TIME_MAX),
                 "[9999-12-31T23:00:00Z, 10000-01-31T23:00:00Z)");
    lr_zone_close(z);
}

/* Checks the window properties of one zone at instant T: start <= t < end,
 * the window's last millisecond and its end agree (a partition), and
 * lr_zone_instant gives min{t : local(t) >= L}. */
static int check_zone_at(lr_zone *z, lr_zone *fresh, lr_time t) {
    int bad = 0;
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        lr_time s, e, s2, e2, s3, e3;
        if (lr_zone_window(z, (lr_cap)c, t, &s, &e) != LR_OK) return 1;
        if (!(s <= t && t < e)) bad++;
        if (lr_zone_window(fresh, (lr_cap)c, e - 1, &s2, &e2) != LR_OK || s2 != s || e2 != e) bad++;
        if (lr_zone_window(fresh, (lr_cap)c, e, &s3, &e3) != LR_OK || s3 != e) bad++;
    }
    lr_civil cv;
    if (lr_zone_civil(z, t, &cv) != LR_OK) return bad + 1;
    lr_time at;
    if (lr_zone_instant(fresh, cv.year, cv.month, cv.day, cv.hour, cv.minute, &at) != LR_OK) return bad + 1;
    if (at > t) bad++;                              /* t's own wall minute occurs by t */
    lr_civil c2;
    if (lr_zone_civil(fresh, at, &c2) != LR_OK) return bad + 1;
    if (c2.hour != cv.hour || c2.minute != cv.minute || c2.day != cv.day) bad++;
    return bad;
}

TEST(every_icu_zone_has_partitioning_windows_1900_to_2100) {
    UErrorCode e = U_ZERO_ERROR;
    UEnumeration *en = ucal_openTimeZoneIDEnumeration(UCAL_ZONE_TYPE_CANONICAL, NULL, NULL, &e);
    CHECK(U_SUCCESS(e));
    if (U_FAILURE(e)) return;
    uint64_t seed = 7;
    int zones = 0, bad = 0;
    const char *id;
    int32_t len;
    lr_time lo = T("1900-01-01T00:00:00Z"), hi = T("2100-01-01T00:00:00Z");
    while ((id = uenum_next(en, &len, &e)) != NULL && U_SUCCESS(e)) {
        lr_zone *z = NULL, *fresh = NULL;
        if (lr_zone_open(id, &z) != LR_OK || lr_zone_open(id, &fresh) != LR_OK) {
            TEST_FAIL_("cannot open ICU zone %s", id);
            lr_zone_close(z);
            continue;
        }
        zones++;
        int zb = 0;
        for (int i = 0; i < 60; i++)
            zb += check_zone_at(z, fresh, lo + (lr_time)(rnd(&seed) % (uint64_t)(hi - lo)));
        /* and right around each of the zone's transitions in 2020-2030 */
        UCalendar *cal = ucal_open(NULL, 0, "en_US_POSIX", UCAL_GREGORIAN, &e);
        UChar uid[80];
        for (int32_t k = 0; k < len && k < 79; k++) uid[k] = (UChar)id[k];
        ucal_setTimeZone(cal, uid, len, &e);
        UDate d = (UDate)T("2020-01-01T00:00:00Z");
        for (int k = 0; k < 25; k++) {
            ucal_setMillis(cal, d, &e);
            if (!ucal_getTimeZoneTransitionDate(cal, UCAL_TZ_TRANSITION_NEXT, &d, &e) ||
                d > (UDate)T("2030-01-01T00:00:00Z"))
                break;
            for (lr_time dt = -2 * HOUR_MS; dt <= 2 * HOUR_MS; dt += 15 * MIN_MS)
                zb += check_zone_at(z, fresh, (lr_time)d + dt - (dt > 0));
        }
        ucal_close(cal);
        if (zb) { bad++; if (bad <= 5) TEST_FAIL_("zone %s: %d violations", id, zb); }
        lr_zone_close(z);
        lr_zone_close(fresh);
    }
    uenum_close(en);
    CHECK(zones > 300);
    CHECK_EQ_INT(bad, 0);
}

int main(void) {
    RUN(chicago_civil_time_around_2026_spring_forward);
    RUN(chicago_civil_time_around_2026_fall_back);
    RUN(berlin_civil_time_around_both_2026_changes);
    RUN(instant_of_wall_time_in_spring_gap_is_first_instant_after_gap);
    RUN(instant_of_repeated_wall_time_is_the_earlier_one);
    RUN(instant_refuses_fields_out_of_range);
    RUN(local_day_is_23_hours_at_spring_forward_and_25_at_fall_back);
    RUN(local_hour_windows_around_dst_changes);
    RUN(week_starts_monday_00_00_local);
    RUN(month_windows_in_local_time);
    RUN(kolkata_hours_start_at_half_past_utc);
    RUN(lord_howe_half_hour_dst_makes_90_and_30_minute_hours);
    RUN(utc_windows_agree_with_agent_windows_on_random_instants);
    RUN(unknown_zones_are_refused);
    RUN(zone_names_and_aliases);
    RUN(out_of_range_instants_are_refused);
    RUN(every_icu_zone_has_partitioning_windows_1900_to_2100);
    return test_report();
}
