/* test_expr_time.c -- local_hour and local_weekday in rule expressions:
 * exact values at instants around the 2026 DST changes of America/Chicago
 * (03-08, 11-01) and in Asia/Kolkata (+05:30), null without a time, the
 * types of the results, zone sharing, compile errors with their columns,
 * and no allocation while the time stays in a zone's cached offset span. */
#include "core/expr_impl.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "leadrouter/expr.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

/* An RFC 3339 literal as lr_time (exits on a typo in the test itself). */
static lr_time T(const char *s) {
    lr_time t;
    if (lr_time_parse(s, strlen(s), &t) != LR_OK) {
        printf("bad time literal %s\n", s);
        exit(2);
    }
    return t;
}

static lr_expr *compile(const char *src) {
    lr_expr *e = NULL;
    int col = 0;
    char msg[200];
    int rc = lr_expr_compile(src, strlen(src), &e, &col, msg, sizeof msg);
    if (rc != LR_OK) {
        printf("  compile %s: col %d: %s (%s)\n", src, col, msg, lr_errname(rc));
        return NULL;
    }
    return e;
}

/* Compiles and evaluates SRC at NOW against an empty lead: 1 true, 0 false,
 * -1 when it does not compile. */
static int ev_at(const char *src, lr_time now) {
    lr_lead lead;
    memset(&lead, 0, sizeof lead);
    lead.received_at = LR_TIME_NONE;
    lr_expr *e = compile(src);
    if (!e) return -1;
    int r = lr_expr_eval_at(e, &lead, now) ? 1 : 0;
    lr_expr_free(e);
    return r;
}

/* The hour local_hour(ZONE) gives at T: the one h in 0..23 for which
 * `local_hour(ZONE) == h` holds; -1 when none does, -2 when several do. */
static int hour_at(const char *zone, const char *t) {
    char src[160];
    int found = -1;
    for (int h = 0; h < 24; h++) {
        snprintf(src, sizeof src, "local_hour(\"%s\") == %d", zone, h);
        if (ev_at(src, T(t)) == 1) found = found == -1 ? h : -2;
    }
    return found;
}

/* The day local_weekday(ZONE) gives at T ("mon".."sun"), found the same
 * way; "none" or "several" otherwise. */
static const char *wday_at(const char *zone, const char *t) {
    static const char *const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
    char src[160];
    const char *found = "none";
    for (int d = 0; d < 7; d++) {
        snprintf(src, sizeof src, "local_weekday(\"%s\") == \"%s\"", zone, days[d]);
        if (ev_at(src, T(t)) == 1) found = strcmp(found, "none") == 0 ? days[d] : "several";
    }
    return found;
}

/* Compiles SRC expecting a syntax error; returns its column (-1 when it
 * compiled or failed otherwise) and the message in MSG. */
static int syntax_col(const char *src, size_t len, char *msg, size_t n) {
    lr_expr *e = NULL;
    int col = -7;
    msg[0] = '\0';
    int rc = lr_expr_compile(src, len, &e, &col, msg, n);
    if (rc != LR_ESYNTAX) {
        printf("  %s: rc %s\n", src, lr_errname(rc));
        lr_expr_free(e);
        return -1;
    }
    return e == NULL ? col : -2;
}

#define CHECK_SYNTAX(src, want_col, want_msg)                          \
    do {                                                               \
        char m_[200];                                                  \
        CHECK_EQ_INT(syntax_col(src, strlen(src), m_, sizeof m_), want_col); \
        CHECK_EQ_STR(m_, want_msg);                                    \
    } while (0)

#define CHI "America/Chicago"

/* ---- values --------------------------------------------------------------- */

TEST(local_hour_in_chicago_around_spring_forward) {
    /* 2026-03-08: 02:00 CST (08:00Z) becomes 03:00 CDT; hour 2 never occurs */
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T05:59:59Z"), 23);   /* Sat 23:59 CST */
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T06:00:00Z"), 0);
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T07:00:00Z"), 1);
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T07:59:59.999Z"), 1);
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T08:00:00Z"), 3);
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T08:59:59Z"), 3);
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T09:00:00Z"), 4);
    CHECK_EQ_INT(hour_at(CHI, "2026-03-08T14:00:00Z"), 9);    /* CDT: UTC-5 */
    CHECK_EQ_INT(hour_at(CHI, "2026-03-07T14:00:00Z"), 8);    /* CST: UTC-6 */
    CHECK_EQ_INT(ev_at("local_hour(\"" CHI "\") == 2", T("2026-03-08T08:00:00Z")), 0);
}

TEST(local_hour_in_chicago_around_fall_back) {
    /* 2026-11-01: 02:00 CDT (07:00Z) becomes 01:00 CST; hour 1 happens twice */
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T04:59:59Z"), 23);   /* Sat 23:59 CDT */
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T05:00:00Z"), 0);
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T06:00:00Z"), 1);    /* 01:00 CDT */
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T06:59:59Z"), 1);
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T07:00:00Z"), 1);    /* 01:00 CST again */
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T07:59:59Z"), 1);
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T08:00:00Z"), 2);
    CHECK_EQ_INT(hour_at(CHI, "2026-11-01T15:00:00Z"), 9);    /* CST: UTC-6 */
    CHECK_EQ_INT(hour_at(CHI, "2026-10-31T15:00:00Z"), 10);   /* CDT: UTC-5 */
}

TEST(local_weekday_in_chicago_turns_at_local_midnight_across_dst) {
    CHECK_EQ_STR(wday_at(CHI, "2026-03-08T05:59:59Z"), "sat");
    CHECK_EQ_STR(wday_at(CHI, "2026-03-08T06:00:00Z"), "sun");    /* midnight CST */
    CHECK_EQ_STR(wday_at(CHI, "2026-03-09T04:59:59Z"), "sun");
    CHECK_EQ_STR(wday_at(CHI, "2026-03-09T05:00:00Z"), "mon");    /* midnight CDT */
    CHECK_EQ_STR(wday_at(CHI, "2026-11-01T04:59:59Z"), "sat");
    CHECK_EQ_STR(wday_at(CHI, "2026-11-01T05:00:00Z"), "sun");    /* midnight CDT */
    CHECK_EQ_STR(wday_at(CHI, "2026-11-02T05:59:59Z"), "sun");    /* a 25-hour Sunday */
    CHECK_EQ_STR(wday_at(CHI, "2026-11-02T06:00:00Z"), "mon");    /* midnight CST */
    CHECK_EQ_STR(wday_at(CHI, "2026-11-03T12:00:00Z"), "tue");
    CHECK_EQ_STR(wday_at(CHI, "2026-11-04T12:00:00Z"), "wed");
    CHECK_EQ_STR(wday_at(CHI, "2026-11-05T12:00:00Z"), "thu");
    CHECK_EQ_STR(wday_at(CHI, "2026-11-06T12:00:00Z"), "fri");
}

TEST(local_hour_and_weekday_in_kolkata_are_utc_plus_five_thirty) {
    CHECK_EQ_INT(hour_at("Asia/Kolkata", "2026-01-01T00:00:00Z"), 5);      /* 05:30 */
    CHECK_EQ_INT(hour_at("Asia/Kolkata", "2026-01-01T00:29:59Z"), 5);
    CHECK_EQ_INT(hour_at("Asia/Kolkata", "2026-01-01T00:30:00Z"), 6);
    CHECK_EQ_STR(wday_at("Asia/Kolkata", "2026-01-01T00:00:00Z"), "thu");
    CHECK_EQ_INT(hour_at("Asia/Kolkata", "2025-12-31T18:29:59Z"), 23);
    CHECK_EQ_STR(wday_at("Asia/Kolkata", "2025-12-31T18:29:59Z"), "wed");
    CHECK_EQ_INT(hour_at("Asia/Kolkata", "2025-12-31T18:30:00Z"), 0);
    CHECK_EQ_STR(wday_at("Asia/Kolkata", "2025-12-31T18:30:00Z"), "thu");
    /* no DST: the Chicago change days are ordinary days in Kolkata */
    CHECK_EQ_INT(hour_at("Asia/Kolkata", "2026-03-08T08:00:00Z"), 13);
    CHECK_EQ_INT(hour_at("Asia/Kolkata", "2026-11-01T07:00:00Z"), 12);
    CHECK_EQ_STR(wday_at("Asia/Kolkata", "2026-03-08T18:29:59Z"), "sun");
    CHECK_EQ_STR(wday_at("Asia/Kolkata", "2026-03-08T18:30:00Z"), "mon");
}

TEST(local_hour_is_a_number_and_local_weekday_a_lowercase_string) {
    lr_time t = T("2026-03-08T14:00:00Z");                        /* Sun 09:00 CDT */
    CHECK_EQ_INT(ev_at("local_hour('" CHI "') == 9", t), 1);
    CHECK_EQ_INT(ev_at("local_hour('" CHI "') == '9'", t), 0);
    CHECK_EQ_INT(ev_at("local_hour('" CHI "') in [9, 10]", t), 1);
    CHECK_EQ_INT(ev_at("local_hour('" CHI "') > 8.5", t), 1);
    CHECK_EQ_INT(ev_at("local_weekday('" CHI "') == 'sun'", t), 1);
    CHECK_EQ_INT(ev_at("local_weekday('" CHI "') == 'Sun'", t), 0);
    CHECK_EQ_INT(ev_at("local_weekday('" CHI "') == 6", t), 0);
    CHECK_EQ_INT(ev_at("starts_with(local_weekday('" CHI "'), 's')", t), 1);
    CHECK_EQ_INT(ev_at("'un' in local_weekday('" CHI "')", t), 1);
    CHECK_EQ_INT(ev_at("local_weekday('" CHI "') != null", t), 1);
    CHECK_EQ_INT(ev_at("lower(local_hour('" CHI "')) == null", t), 1);
}

TEST(business_hours_rule_follows_new_york_time) {
    const char *src = "local_hour(\"America/New_York\") >= 9 and local_hour(\"America/New_York\") < 17 "
                      "and local_weekday(\"America/New_York\") not in [\"sat\", \"sun\"]";
    lr_expr *e = compile(src);
    CHECK(e != NULL);
    if (!e) return;
    lr_lead lead;
    memset(&lead, 0, sizeof lead);
    CHECK(!lr_expr_eval_at(e, &lead, T("2026-03-09T12:59:59Z")));  /* Mon 08:59 EDT */
    CHECK(lr_expr_eval_at(e, &lead, T("2026-03-09T13:00:00Z")));   /* Mon 09:00 EDT */
    CHECK(lr_expr_eval_at(e, &lead, T("2026-03-09T20:59:59Z")));   /* Mon 16:59 EDT */
    CHECK(!lr_expr_eval_at(e, &lead, T("2026-03-09T21:00:00Z")));  /* Mon 17:00 EDT */
    CHECK(lr_expr_eval_at(e, &lead, T("2026-03-06T14:00:00Z")));   /* Fri 09:00 EST */
    CHECK(!lr_expr_eval_at(e, &lead, T("2026-03-06T13:59:59Z")));  /* Fri 08:59 EST */
    CHECK(!lr_expr_eval_at(e, &lead, T("2026-03-07T15:00:00Z")));  /* Sat 10:00 EST */
    CHECK(!lr_expr_eval_at(e, &lead, T("2026-03-08T15:00:00Z")));  /* Sun 11:00 EDT */
    CHECK(!lr_expr_eval(e, &lead));                                /* no time */
    lr_expr_free(e);
}

TEST(without_a_time_local_functions_are_null) {
    lr_lead lead;
    memset(&lead, 0, sizeof lead);
    static const char *const yes[] = {
        "local_hour('UTC') == null",
        "local_weekday('UTC') == null",
        "not (local_hour('UTC') >= 0)",
    };
    static const char *const no[] = {
        "local_hour('UTC') >= 0",
        "local_hour('UTC') < 24",
        "local_hour('UTC') != 5",
        "local_weekday('UTC') in ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']",
        "local_weekday('UTC') not in ['sat', 'sun']",
        "local_hour('UTC') != null",
    };
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        lr_expr *e = compile(yes[i]);
        CHECK(e && lr_expr_eval(e, &lead));
        CHECK(e && lr_expr_eval_at(e, &lead, LR_TIME_NONE));
        CHECK(e && !lr_expr_eval_at(e, &lead, T("2026-01-01T00:00:00Z")));
        lr_expr_free(e);
    }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) {
        lr_expr *e = compile(no[i]);
        CHECK(e && !lr_expr_eval(e, &lead));
        CHECK(e && lr_expr_eval_at(e, &lead, T("2026-01-01T06:00:00Z")));
        lr_expr_free(e);
    }
}

TEST(time_outside_years_0000_to_9999_gives_null) {
    CHECK_EQ_INT(ev_at("local_hour('UTC') == null", 253402300800000LL), 1);  /* year 10000 */
    CHECK_EQ_INT(ev_at("local_hour('UTC') == 23", 253402300799999LL), 1);
    CHECK_EQ_INT(ev_at("local_weekday('UTC') == null", -62167219200001LL), 1);
    CHECK_EQ_INT(ev_at("local_weekday('UTC') == 'sat'", -62167219200000LL), 1); /* 0000-01-01 */
}

TEST(one_expression_answers_instants_in_any_order) {
    /* the zone's cache moves back and forth between offset spans */
    lr_expr *e = compile("local_hour('" CHI "') == 1 and local_weekday('" CHI "') == 'sun'");
    CHECK(e != NULL);
    if (!e) return;
    lr_lead lead;
    memset(&lead, 0, sizeof lead);
    static const struct { const char *t; bool want; } cases[] = {
        { "2026-11-01T07:30:00Z", true },  { "2026-03-08T07:30:00Z", true },
        { "2026-11-01T06:30:00Z", true },  { "2026-03-08T08:30:00Z", false },
        { "2026-11-01T08:00:00Z", false }, { "2026-03-08T07:00:00Z", true },
        { "2026-11-01T05:59:59Z", false }, { "2026-07-05T06:00:00Z", true },
        { "2026-07-05T07:00:00Z", false }, { "2026-01-04T07:00:00Z", true },
        { "2026-01-04T06:00:00Z", false }, { "2026-11-01T07:59:59Z", true },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (lr_expr_eval_at(e, &lead, T(cases[i].t)) != cases[i].want)
            TEST_FAIL_("at %s: want %d", cases[i].t, cases[i].want);
    }
    lr_expr_free(e);
}

TEST(zone_aliases_are_accepted_and_each_name_opened_once) {
    CHECK_EQ_INT(hour_at("US/Central", "2026-03-08T08:00:00Z"), 3);
    CHECK_EQ_INT(hour_at("UTC", "2026-03-08T08:00:00Z"), 8);
    CHECK_EQ_INT(hour_at("Europe/Berlin", "2026-03-29T01:00:00Z"), 3);   /* CEST begins */
    lr_expr *e = compile("local_hour('" CHI "') > 1 or local_weekday('" CHI "') == 'mon' "
                         "or local_hour('Asia/Kolkata') == 1 or local_hour(\"" CHI "\") < 0");
    CHECK(e != NULL);
    if (e) CHECK_EQ_INT(e->nzones, 2);
    lr_expr_free(e);
    e = compile("state == 'CA'");
    CHECK(e != NULL);
    if (e) CHECK_EQ_INT(e->nzones, 0);
    lr_expr_free(e);
}

/* ---- compile errors ------------------------------------------------------- */

TEST(unknown_time_zone_is_an_error_at_the_argument) {
    CHECK_SYNTAX("local_hour(\"America/Chicgo\") >= 9", 12,
                 "unknown time zone 'America/Chicgo'");
    CHECK_SYNTAX("score > 1 and local_weekday( 'Mars/Olympus' ) == 'mon'", 30,
                 "unknown time zone 'Mars/Olympus'");
    CHECK_SYNTAX("local_hour('america/chicago') == 1", 12,
                 "unknown time zone 'america/chicago'");          /* IDs are case-sensitive */
    CHECK_SYNTAX("local_hour('GMT+05:00') == 1", 12, "unknown time zone 'GMT+05:00'");
    CHECK_SYNTAX("local_hour('') == 1", 12, "unknown time zone ''");
    CHECK_SYNTAX("local_hour(' UTC') == 1", 12, "unknown time zone ' UTC'");
    CHECK_SYNTAX("local_hour('UTC\\n') == 1", 12, "unknown time zone 'UTC?'");
    /* a NUL inside the literal does not end the name early */
    char m[200];
    CHECK_EQ_INT(syntax_col("local_hour('UTC\0x') == 1", 24, m, sizeof m), 12);
    CHECK_EQ_STR(m, "unknown time zone 'UTC?x'");
    /* a name longer than 64 bytes is cut in the message */
    char src[200], want[120];
    snprintf(src, sizeof src, "local_hour('%0100d') == 1", 0);
    snprintf(want, sizeof want, "unknown time zone '%064d...'", 0);
    CHECK_SYNTAX(src, 12, want);
}

TEST(local_functions_want_a_zone_name_in_quotes) {
    CHECK_SYNTAX("local_hour(state) == 1", 12, "local_hour wants a time zone name in quotes");
    CHECK_SYNTAX("local_weekday(fields.tz) == 'mon'", 15,
                 "local_weekday wants a time zone name in quotes");
    CHECK_SYNTAX("local_hour(('UTC')) == 1", 12, "local_hour wants a time zone name in quotes");
    CHECK_SYNTAX("local_hour('UTC' == 'UTC') == 1", 12,
                 "local_hour wants a time zone name in quotes");
    CHECK_SYNTAX("local_hour(lower('UTC')) == 1", 12, "local_hour wants a time zone name in quotes");
    CHECK_SYNTAX("local_hour(['UTC']) == 1", 12, "local_hour wants a time zone name in quotes");
    CHECK_SYNTAX("true and local_weekday(5)", 24, "local_weekday wants a time zone name in quotes");
    CHECK_SYNTAX("local_hour(local_hour('UTC')) == 1", 12,
                 "local_hour wants a time zone name in quotes");
}

TEST(local_functions_take_exactly_one_argument) {
    CHECK_SYNTAX("local_hour() == 1", 1, "local_hour takes 1 argument, got 0");
    CHECK_SYNTAX("score > 1 or local_weekday('UTC', 'UTC') == 'mon'", 14,
                 "local_weekday takes 1 argument, got 2");
    CHECK_SYNTAX("local_hour('UTC', state) == 1", 1, "local_hour takes 1 argument, got 2");
    CHECK_SYNTAX("local_minute('UTC') == 1", 1, "unknown function 'local_minute'");
    CHECK_SYNTAX("local_hour('UTC'", 17, "expected ')' after arguments of local_hour");
}

TEST(error_after_a_zone_opened_still_fails_cleanly) {
    /* the zone is opened before the error; LSan checks it is closed */
    CHECK_SYNTAX("local_hour('UTC') == 1 and nope", 28, "unknown field 'nope' "
                 "(custom fields are written fields.nope)");
    CHECK_SYNTAX("local_hour('UTC') == 1 and local_hour('Asia/Kolkata') == 2 and "
                 "local_hour('Nowhere/Land') == 3", 75, "unknown time zone 'Nowhere/Land'");
}

/* ---- allocation ----------------------------------------------------------- */

#if defined(__SANITIZE_ADDRESS__)
#define HAVE_MALLOC_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_MALLOC_HOOKS 1
#endif
#endif

#ifdef HAVE_MALLOC_HOOKS
/* The sanitizer runtime's hook (sanitizer/allocator_interface.h, which gcc
 * does not ship). */
int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void *, size_t),
                                              void (*free_hook)(const volatile void *));
static volatile long nmallocs;
static void count_malloc(const volatile void *p, size_t n) { (void)p; (void)n; nmallocs++; }
static void ignore_free(const volatile void *p) { (void)p; }

TEST(evaluation_within_an_offset_span_does_not_allocate) {
    static int installed;
    if (!installed) installed = __sanitizer_install_malloc_and_free_hooks(count_malloc, ignore_free);
    CHECK(installed);
    lr_expr *e = compile("local_hour('" CHI "') >= 9 and local_weekday('" CHI "') != 'sun' "
                         "or state in [lower(source), 'x']");
    CHECK(e != NULL);
    if (!e) return;
    lr_lead lead;
    memset(&lead, 0, sizeof lead);
    /* the first evaluation in a span may ask ICU, which allocates */
    lr_expr_eval_at(e, &lead, T("2026-06-01T05:00:00Z"));
    long before = nmallocs;
    int trues = 0;
    /* June 2026 in Chicago (all CDT), every 10 minutes */
    for (lr_time t = T("2026-06-01T05:00:00Z"); t < T("2026-07-01T05:00:00Z"); t += 600000)
        trues += lr_expr_eval_at(e, &lead, t);
    trues += lr_expr_eval(e, &lead);
    CHECK_EQ_INT(nmallocs - before, 0);
    /* 30 days, 26 of them not Sunday, 15 hours (09-23) a day, 6 evaluations an hour */
    CHECK_EQ_INT(trues, 26 * 15 * 6);
    lr_expr_free(e);
}
#endif

int main(void) {
    RUN(local_hour_in_chicago_around_spring_forward);
    RUN(local_hour_in_chicago_around_fall_back);
    RUN(local_weekday_in_chicago_turns_at_local_midnight_across_dst);
    RUN(local_hour_and_weekday_in_kolkata_are_utc_plus_five_thirty);
    RUN(local_hour_is_a_number_and_local_weekday_a_lowercase_string);
    RUN(business_hours_rule_follows_new_york_time);
    RUN(without_a_time_local_functions_are_null);
    RUN(time_outside_years_0000_to_9999_gives_null);
    RUN(one_expression_answers_instants_in_any_order);
    RUN(zone_aliases_are_accepted_and_each_name_opened_once);
    RUN(unknown_time_zone_is_an_error_at_the_argument);
    RUN(local_functions_want_a_zone_name_in_quotes);
    RUN(local_functions_take_exactly_one_argument);
    RUN(error_after_a_zone_opened_still_fails_cleanly);
#ifdef HAVE_MALLOC_HOOKS
    RUN(evaluation_within_an_offset_span_does_not_allocate);
#endif
    return test_report();
}
