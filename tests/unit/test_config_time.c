/* test_config_time.c -- the config keys of time: agents' schedule,
 * out_of_office and email, the top-level holidays, pool max_wait /
 * max_no_answer / catch_up, and rule offer / tiers / escalate_after / sla /
 * recycle. Each value parsed exactly (schedules answer lr_schedule_at at
 * chosen instants), each default, and each error with its exact
 * "file:line:column: message". (test_config.c has the rest of the loader.) */
#include "core/schedule.h"
#include "core/tzdata.h"
#include "leadrouter/config.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "config_helpers.h"


/* The instant of an RFC 3339 text (the test fails on a typo). */
static lr_time T(const char *s) {
    lr_time t = 0;
    if (lr_time_parse(s, strlen(s), &t) != LR_OK) {
        printf("  bad time in test: %s\n", s);
        test_cur_failed_ = 1;
    }
    return t;
}

/* Availability of agent I of C at the instant S; OUT_OF_OFFICE + 1 when the
 * agent has no schedule (so a check against any state fails). */
static int at(const lr_config *c, size_t i, const char *s) {
    lr_schedule *sc = c->agents[i].schedule;
    return sc ? (int)lr_schedule_at(sc, T(s)) : LR_AVAIL_OUT_OF_OFFICE + 1;
}

static const char *zone_of(const lr_config *c, size_t i) {
    lr_schedule *sc = c->agents[i].schedule;
    return sc ? lr_zone_name(lr_schedule_zone(sc)) : "(no schedule)";
}

#define ON LR_AVAIL_ON
#define OFF LR_AVAIL_OFF_SHIFT
#define OOO LR_AVAIL_OUT_OF_OFFICE

/* Two agents, two pools; tests append rules. 5 lines: rules start on 6. */
#define BASE                                                            \
    "agents: [{id: alice}, {id: bob}]\n"                                \
    "pools:\n"                                                          \
    "  west: [alice]\n"                                                 \
    "  east: [bob]\n"                                                   \
    "  north: [alice, bob]\n"

/* A valid tail after an agents list whose first agent is `a`. */
#define TAIL "pools: {p: [a]}\nrules: [{name: r, pool: p, strategy: random}]\n"

#define WON_LOST_DISQ                                                   \
    ((1u << LR_PROGRESS_WON) | (1u << LR_PROGRESS_LOST) | (1u << LR_PROGRESS_DISQUALIFIED))

/* ---- schedules ----------------------------------------------------------- */

/* 2026-11-02 is a Monday; Chicago is on CST (UTC-6) from 2026-11-01. */
static const char issue_yaml[] =
    "holidays:\n"                                                             /*  1 */
    "  America/Chicago: [2026-11-26, 2027-01-01]\n"                           /*  2 */
    "agents:\n"                                                               /*  3 */
    "  - id: alice\n"                                                         /*  4 */
    "    email: alice@example.com\n"                                          /*  5 */
    "    schedule: {timezone: America/Chicago, hours: {mon-fri: \"08:30-17:30\", sat: \"10:00-14:00\"}}\n"
    "    out_of_office: [{from: 2026-12-24, to: 2026-12-27}]\n"               /*  7 */
    "  - id: bob\n"                                                           /*  8 */
    "pools:\n"                                                                /*  9 */
    "  west: {agents: [alice, bob], order: fifo, max_wait: 30m, max_no_answer: 3, catch_up: average}\n"
    "  seniors: [alice]\n"                                                    /* 11 */
    "  juniors: [bob]\n"                                                      /* 12 */
    "  managers: {agents: [alice], catch_up: full}\n"                         /* 13 */
    "rules:\n"                                                                /* 14 */
    "  - name: hot\n"                                                         /* 15 */
    "    tiers: [seniors, juniors, managers]\n"                               /* 16 */
    "    strategy: round_robin\n"                                             /* 17 */
    "    offer: {timeout: 2m, attempts: 5}\n"                                 /* 18 */
    "    escalate_after: 5m\n"                                                /* 19 */
    "    sla: {contact_within: 15m, then: escalate}\n"                        /* 20 */
    "    recycle: {after: 30d, unless: [won, disqualified], to: cold}\n"      /* 21 */
    "  - name: cold\n"                                                        /* 22 */
    "    pool: west\n"                                                        /* 23 */
    "    strategy: round_robin\n"                                             /* 24 */
    "    sla: {contact_within: 1h, then: notify}\n"                           /* 25 */
    "    recycle: {after: 90d}\n";                                            /* 26 */

TEST(schedule_hours_are_local_to_the_agent_zone) {
    lr_config *c = ok_config(issue_yaml);
    if (!c) return;
    CHECK_EQ_STR(c->agents[0].email, "alice@example.com");
    CHECK_EQ_STR(zone_of(c, 0), "America/Chicago");
    CHECK_EQ_INT(at(c, 0, "2026-11-02T14:29:59Z"), OFF);   /* Mon 08:29:59 CST */
    CHECK_EQ_INT(at(c, 0, "2026-11-02T14:30:00Z"), ON);    /* Mon 08:30 */
    CHECK_EQ_INT(at(c, 0, "2026-11-02T23:29:59Z"), ON);    /* Mon 17:29:59 */
    CHECK_EQ_INT(at(c, 0, "2026-11-02T23:30:00Z"), OFF);   /* Mon 17:30 */
    CHECK_EQ_INT(at(c, 0, "2026-11-07T15:59:00Z"), OFF);   /* Sat 09:59 */
    CHECK_EQ_INT(at(c, 0, "2026-11-07T16:00:00Z"), ON);    /* Sat 10:00 */
    CHECK_EQ_INT(at(c, 0, "2026-11-07T20:00:00Z"), OFF);   /* Sat 14:00 */
    CHECK_EQ_INT(at(c, 0, "2026-11-08T18:00:00Z"), OFF);   /* Sun: no hours */
    CHECK(c->agents[1].schedule == NULL);
    CHECK(c->agents[1].email == NULL);
    lr_config_free(c);
}

TEST(holidays_of_the_agent_zone_are_days_off) {
    lr_config *c = ok_config(issue_yaml);
    if (!c) return;
    CHECK_EQ_INT(at(c, 0, "2026-11-25T15:00:00Z"), ON);    /* Wed 09:00 */
    CHECK_EQ_INT(at(c, 0, "2026-11-26T15:00:00Z"), OFF);   /* Thanksgiving 09:00 */
    CHECK_EQ_INT(at(c, 0, "2026-11-27T15:00:00Z"), ON);
    CHECK_EQ_INT(at(c, 0, "2027-01-01T15:00:00Z"), OFF);   /* a Friday */
    lr_config_free(c);
}

TEST(out_of_office_dates_are_whole_local_days) {
    lr_config *c = ok_config(issue_yaml);
    if (!c) return;
    CHECK_EQ_INT(at(c, 0, "2026-12-23T23:29:00Z"), ON);    /* Wed 17:29 CST */
    CHECK_EQ_INT(at(c, 0, "2026-12-24T05:59:59Z"), OFF);   /* Wed 23:59:59: off shift */
    CHECK_EQ_INT(at(c, 0, "2026-12-24T06:00:00Z"), OOO);   /* Thu 00:00 */
    CHECK_EQ_INT(at(c, 0, "2026-12-25T15:00:00Z"), OOO);
    CHECK_EQ_INT(at(c, 0, "2026-12-28T05:59:59Z"), OOO);   /* Sun 27th 23:59:59 */
    CHECK_EQ_INT(at(c, 0, "2026-12-28T06:00:00Z"), OFF);   /* Mon 00:00 */
    CHECK_EQ_INT(at(c, 0, "2026-12-28T15:00:00Z"), ON);    /* Mon 09:00 */
    lr_config_free(c);
}

TEST(hours_scalars_are_read_as_written) {
    /* Unquoted: `off` is a YAML 1.1 boolean and 10:00-14:00 could pass for
     * a number; both must reach the schedule as their characters. */
    lr_config *c = ok_config(
        "agents:\n"
        "  - id: a\n"
        "    schedule:\n"
        "      timezone: UTC\n"
        "      hours:\n"
        "        Mon-Wed: 08:00-12:00, 13:00-17:00\n"
        "        thu: 22:00-06:00\n"
        "        fri: 24h\n"
        "        sat: off\n"
        "        sun: 'off'\n"
        TAIL);
    if (!c) return;
    CHECK_EQ_INT(at(c, 0, "2026-11-02T08:00:00Z"), ON);    /* Mon */
    CHECK_EQ_INT(at(c, 0, "2026-11-02T12:30:00Z"), OFF);   /* lunch */
    CHECK_EQ_INT(at(c, 0, "2026-11-04T16:59:00Z"), ON);    /* Wed */
    CHECK_EQ_INT(at(c, 0, "2026-11-05T12:00:00Z"), OFF);   /* Thu day */
    CHECK_EQ_INT(at(c, 0, "2026-11-05T23:00:00Z"), ON);    /* Thu night */
    CHECK_EQ_INT(at(c, 0, "2026-11-06T12:00:00Z"), ON);    /* Fri 24h */
    CHECK_EQ_INT(at(c, 0, "2026-11-07T12:00:00Z"), OFF);   /* Sat off */
    CHECK_EQ_INT(at(c, 0, "2026-11-08T12:00:00Z"), OFF);   /* Sun off */
    lr_config_free(c);
}

TEST(schedule_without_hours_works_all_the_time_in_its_zone) {
    lr_config *c = ok_config(
        "holidays: {Europe/Berlin: [2026-12-25]}\n"
        "agents:\n"
        "  - {id: a, schedule: {timezone: Europe/Berlin}}\n"
        TAIL);
    if (!c) return;
    CHECK_EQ_STR(zone_of(c, 0), "Europe/Berlin");
    CHECK_EQ_INT(at(c, 0, "2026-12-24T22:59:59Z"), ON);    /* 23:59:59 CET */
    CHECK_EQ_INT(at(c, 0, "2026-12-24T23:00:00Z"), OFF);   /* the 25th, 00:00 CET */
    CHECK_EQ_INT(at(c, 0, "2026-12-25T22:59:59Z"), OFF);
    CHECK_EQ_INT(at(c, 0, "2026-12-25T23:00:00Z"), ON);
    lr_config_free(c);
}

TEST(out_of_office_takes_date_times_as_instants) {
    lr_config *c = ok_config(
        "agents:\n"
        "  - id: a\n"
        "    schedule: {timezone: America/New_York}\n"
        "    out_of_office:\n"
        "      - {from: \"2026-06-01T13:00:00Z\", to: 2026-06-01T15:30:00-04:00}\n"
        "      - {from: 2026-07-03, to: \"2026-07-06T12:00:00Z\"}\n"
        TAIL);
    if (!c) return;
    CHECK_EQ_INT(at(c, 0, "2026-06-01T12:59:59Z"), ON);
    CHECK_EQ_INT(at(c, 0, "2026-06-01T13:00:00Z"), OOO);
    CHECK_EQ_INT(at(c, 0, "2026-06-01T19:29:59Z"), OOO);
    CHECK_EQ_INT(at(c, 0, "2026-06-01T19:30:00Z"), ON);
    CHECK_EQ_INT(at(c, 0, "2026-07-03T03:59:59Z"), ON);    /* 2nd, 23:59:59 EDT */
    CHECK_EQ_INT(at(c, 0, "2026-07-03T04:00:00Z"), OOO);   /* 3rd, 00:00 EDT */
    CHECK_EQ_INT(at(c, 0, "2026-07-06T11:59:59Z"), OOO);
    CHECK_EQ_INT(at(c, 0, "2026-07-06T12:00:00Z"), ON);
    lr_config_free(c);
}

TEST(out_of_office_without_schedule_is_in_utc) {
    lr_config *c = ok_config(
        "agents:\n"
        "  - id: a\n"
        "    out_of_office: [{from: 2026-12-24, to: 2026-12-24}]\n"
        TAIL);
    if (!c) return;
    CHECK_EQ_STR(zone_of(c, 0), "UTC");
    CHECK_EQ_INT(at(c, 0, "2026-12-23T23:59:59Z"), ON);
    CHECK_EQ_INT(at(c, 0, "2026-12-24T00:00:00Z"), OOO);
    CHECK_EQ_INT(at(c, 0, "2026-12-24T23:59:59Z"), OOO);
    CHECK_EQ_INT(at(c, 0, "2026-12-25T00:00:00Z"), ON);
    lr_config_free(c);
}

TEST(holidays_match_zone_aliases_and_only_the_same_zone) {
    lr_config *c = ok_config(
        "holidays:\n"
        "  US/Central: [2026-11-26]\n"
        "  America/Chicago: [2026-12-25]\n"
        "  Asia/Tokyo: [2026-11-03]\n"
        "agents:\n"
        "  - {id: a, schedule: {timezone: America/Chicago}}\n"
        "  - {id: b, schedule: {timezone: US/Central}}\n"
        "  - {id: c, schedule: {timezone: America/New_York}}\n"
        "  - {id: d}\n"
        TAIL);
    if (!c) return;
    for (size_t i = 0; i < 2; i++) {
        CHECK_EQ_INT(at(c, i, "2026-11-26T12:00:00Z"), OFF);
        CHECK_EQ_INT(at(c, i, "2026-12-25T12:00:00Z"), OFF);
        CHECK_EQ_INT(at(c, i, "2026-11-03T12:00:00Z"), ON);
    }
    CHECK_EQ_STR(zone_of(c, 1), "US/Central");
    CHECK_EQ_INT(at(c, 2, "2026-11-26T12:00:00Z"), ON);
    CHECK_EQ_INT(at(c, 2, "2026-12-25T12:00:00Z"), ON);
    CHECK(c->agents[3].schedule == NULL);
    lr_config_free(c);
}

TEST(utc_holidays_give_agents_without_a_schedule_a_utc_one) {
    lr_config *c = ok_config(
        "holidays: {Etc/UTC: [2026-12-25], Zulu: [2027-01-01], UTC: []}\n"
        "agents:\n"
        "  - {id: a}\n"
        "  - {id: b, schedule: {timezone: America/Chicago}}\n"
        TAIL);
    if (!c) return;
    CHECK_EQ_STR(zone_of(c, 0), "UTC");
    CHECK_EQ_INT(at(c, 0, "2026-12-24T23:59:59Z"), ON);
    CHECK_EQ_INT(at(c, 0, "2026-12-25T00:00:00Z"), OFF);
    CHECK_EQ_INT(at(c, 0, "2027-01-01T12:00:00Z"), OFF);
    CHECK_EQ_INT(at(c, 1, "2026-12-25T12:00:00Z"), ON);
    lr_config_free(c);
}

TEST(empty_utc_holidays_leave_agents_without_a_schedule) {
    lr_config *c = ok_config("holidays: {UTC: [], Asia/Tokyo: [2026-01-01]}\n"
                             "agents: [{id: a}]\n" TAIL);
    if (!c) return;
    CHECK(c->agents[0].schedule == NULL);
    lr_config_free(c);
}

TEST(schedule_keys_work_in_json) {
    lr_config *c = ok_config(
        "{\"holidays\": {\"America/Chicago\": [\"2026-11-26\"]},\n"
        " \"agents\": [{\"id\": \"a\", \"email\": \"a@x.io\",\n"
        "   \"schedule\": {\"timezone\": \"America/Chicago\", \"hours\": {\"mon-fri\": \"09:00-17:00\"}},\n"
        "   \"out_of_office\": [{\"from\": \"2026-12-24\", \"to\": \"2026-12-24\"}]}],\n"
        " \"pools\": {\"p\": {\"agents\": [\"a\"], \"max_wait\": \"90s\"}},\n"
        " \"rules\": [{\"name\": \"r\", \"pool\": \"p\", \"strategy\": \"random\",\n"
        "             \"offer\": {\"timeout\": \"45s\", \"attempts\": 2}}]}\n");
    if (!c) return;
    CHECK_EQ_STR(c->agents[0].email, "a@x.io");
    CHECK_EQ_INT(at(c, 0, "2026-11-25T15:00:00Z"), ON);
    CHECK_EQ_INT(at(c, 0, "2026-11-26T15:00:00Z"), OFF);
    CHECK_EQ_INT(at(c, 0, "2026-12-24T15:00:00Z"), OOO);
    CHECK_EQ_INT(c->pools[0].max_wait_ms, 90000);
    CHECK_EQ_INT(c->rules[0].offer_timeout_ms, 45000);
    CHECK_EQ_INT(c->rules[0].offer_attempts, 2);
    lr_config_free(c);
}

/* ---- pools --------------------------------------------------------------- */

TEST(pool_options_are_parsed) {
    lr_config *c = ok_config(issue_yaml);
    if (!c) return;
    const lr_pool_conf *p = &c->pools[0];
    CHECK_EQ_STR(p->name, "west");
    CHECK_EQ_INT(p->order, LR_QORDER_FIFO);
    CHECK_EQ_INT(p->max_wait_ms, 30 * 60000);
    CHECK_EQ_INT(p->max_no_answer, 3);
    CHECK_EQ_INT(p->catch_up, LR_CATCHUP_AVERAGE);
    CHECK_EQ_INT(c->pools[3].catch_up, LR_CATCHUP_FULL);
    lr_config_free(c);

    c = ok_config("agents: [{id: a}]\n"
                  "pools:\n"
                  "  p: {agents: [a], max_wait: 1s, max_no_answer: 1, catch_up: none}\n"
                  "  q: {agents: [a], max_wait: 30d, max_no_answer: 1000}\n"
                  "rules: [{name: r, pool: p, strategy: random}]\n");
    if (!c) return;
    CHECK_EQ_INT(c->pools[0].max_wait_ms, 1000);
    CHECK_EQ_INT(c->pools[0].max_no_answer, 1);
    CHECK_EQ_INT(c->pools[0].catch_up, LR_CATCHUP_NONE);
    CHECK_EQ_INT(c->pools[1].max_wait_ms, INT64_C(30) * 86400000);
    CHECK_EQ_INT(c->pools[1].max_no_answer, 1000);
    lr_config_free(c);
}

TEST(pool_options_default_in_both_forms) {
    lr_config *c = ok_config(issue_yaml);
    if (!c) return;
    for (size_t i = 1; i < 4; i++) {        /* seniors, juniors (short), managers (long) */
        CHECK_EQ_INT(c->pools[i].max_wait_ms, -1);
        CHECK_EQ_INT(c->pools[i].max_no_answer, 0);
    }
    CHECK_EQ_INT(c->pools[1].catch_up, LR_CATCHUP_AVERAGE);
    CHECK_EQ_INT(c->pools[2].catch_up, LR_CATCHUP_AVERAGE);
    lr_config_free(c);
}

TEST(catch_up_and_sla_names_follow_the_enums) {
    CHECK_EQ_STR(lr_catch_up_names[LR_CATCHUP_NONE], "none");
    CHECK_EQ_STR(lr_catch_up_names[LR_CATCHUP_AVERAGE], "average");
    CHECK_EQ_STR(lr_catch_up_names[LR_CATCHUP_FULL], "full");
    CHECK_EQ_STR(lr_sla_names[LR_SLA_REASSIGN], "reassign");
    CHECK_EQ_STR(lr_sla_names[LR_SLA_ESCALATE], "escalate");
    CHECK_EQ_STR(lr_sla_names[LR_SLA_NOTIFY], "notify");
}

/* ---- rules --------------------------------------------------------------- */

TEST(rule_time_options_are_parsed) {
    lr_config *c = ok_config(issue_yaml);
    if (!c) return;
    const lr_rule_conf *r = &c->rules[0];
    CHECK_EQ_INT(r->pool, 1);                       /* seniors = tiers[0] */
    CHECK_EQ_INT(r->ntiers, 3);
    if (r->ntiers == 3) {
        CHECK_EQ_INT(r->tiers[0], 1);
        CHECK_EQ_INT(r->tiers[1], 2);
        CHECK_EQ_INT(r->tiers[2], 3);
    }
    CHECK_EQ_INT(r->offer_timeout_ms, 120000);
    CHECK_EQ_INT(r->offer_attempts, 5);
    CHECK_EQ_INT(r->escalate_after_ms, 300000);
    CHECK_EQ_INT(r->sla_contact_ms, 900000);
    CHECK_EQ_INT(r->sla_then, LR_SLA_ESCALATE);
    CHECK_EQ_INT(r->recycle_after_ms, INT64_C(30) * 86400000);
    CHECK_EQ_INT(r->recycle_unless, (1u << LR_PROGRESS_WON) | (1u << LR_PROGRESS_DISQUALIFIED));
    CHECK_EQ_INT(r->recycle_to, 1);                 /* cold */

    r = &c->rules[1];
    CHECK_EQ_INT(r->pool, 0);
    CHECK_EQ_INT(r->sla_contact_ms, 3600000);
    CHECK_EQ_INT(r->sla_then, LR_SLA_NOTIFY);
    CHECK_EQ_INT(r->recycle_after_ms, INT64_C(90) * 86400000);
    CHECK_EQ_INT(r->recycle_unless, WON_LOST_DISQ);
    CHECK_EQ_INT(r->recycle_to, 1);                 /* itself */
    lr_config_free(c);
}

TEST(rule_time_options_default_when_absent) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: a, pool: west, strategy: random}\n"
        "  - {name: b, pool: east, strategy: random, sla: {contact_within: 1m}, offer: {timeout: 1s}}\n");
    if (!c) return;
    for (size_t i = 0; i < 2; i++) {
        const lr_rule_conf *r = &c->rules[i];
        CHECK_EQ_INT(r->offer_attempts, 3);
        CHECK(r->tiers == NULL);
        CHECK_EQ_INT(r->ntiers, 0);
        CHECK_EQ_INT(r->escalate_after_ms, 0);
        CHECK_EQ_INT(r->sla_then, LR_SLA_REASSIGN);
        CHECK_EQ_INT(r->recycle_after_ms, 0);
        CHECK_EQ_INT(r->recycle_unless, WON_LOST_DISQ);
        CHECK_EQ_INT(r->recycle_to, i);
    }
    CHECK_EQ_INT(c->rules[0].offer_timeout_ms, 0);
    CHECK_EQ_INT(c->rules[0].sla_contact_ms, 0);
    CHECK_EQ_INT(c->rules[1].offer_timeout_ms, 1000);
    CHECK_EQ_INT(c->rules[1].sla_contact_ms, 60000);
    CHECK_EQ_INT(c->rules[1].pool, 1);
    lr_config_free(c);
}

TEST(tiers_make_the_first_tier_the_pool) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: a, tiers: [east, west], strategy: random}\n"
        "  - {name: b, pool: north, tiers: [north, east], strategy: random, escalate_after: 30d}\n"
        "  - {name: c, tiers: [west, north], strategy: random, escalate_after: 1s,\n"
        "     sla: {contact_within: 30d, then: escalate}}\n");
    if (!c) return;
    CHECK_EQ_INT(c->rules[0].pool, 1);
    CHECK_EQ_INT(c->rules[0].ntiers, 2);
    if (c->rules[0].ntiers == 2) {
        CHECK_EQ_INT(c->rules[0].tiers[0], 1);
        CHECK_EQ_INT(c->rules[0].tiers[1], 0);
    }
    CHECK_EQ_INT(c->rules[0].escalate_after_ms, 0);
    CHECK_EQ_INT(c->rules[1].pool, 2);
    CHECK_EQ_INT(c->rules[1].ntiers, 2);
    CHECK_EQ_INT(c->rules[1].escalate_after_ms, INT64_C(30) * 86400000);
    CHECK_EQ_INT(c->rules[2].pool, 0);
    CHECK_EQ_INT(c->rules[2].escalate_after_ms, 1000);
    CHECK_EQ_INT(c->rules[2].sla_contact_ms, INT64_C(30) * 86400000);
    CHECK_EQ_INT(c->rules[2].sla_then, LR_SLA_ESCALATE);
    lr_config_free(c);
}

TEST(recycle_unless_is_a_mask_of_progress_statuses) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: a, pool: west, strategy: random, recycle: {after: 1m, unless: [contacted, qualified, contacted], to: c}}\n"
        "  - {name: b, pool: west, strategy: random, recycle: {after: 3650d, unless: [], to: b}}\n"
        "  - {name: c, pool: west, strategy: random, recycle: {after: 2h, unless: [lost]}}\n");
    if (!c) return;
    CHECK_EQ_INT(c->rules[0].recycle_unless,
                 (1u << LR_PROGRESS_CONTACTED) | (1u << LR_PROGRESS_QUALIFIED));
    CHECK_EQ_INT(c->rules[0].recycle_after_ms, 60000);
    CHECK_EQ_INT(c->rules[0].recycle_to, 2);
    CHECK_EQ_INT(c->rules[1].recycle_unless, 0);
    CHECK_EQ_INT(c->rules[1].recycle_after_ms, INT64_C(3650) * 86400000);
    CHECK_EQ_INT(c->rules[1].recycle_to, 1);
    CHECK_EQ_INT(c->rules[2].recycle_unless, 1u << LR_PROGRESS_LOST);
    CHECK_EQ_INT(c->rules[2].recycle_to, 2);
    lr_config_free(c);
}

TEST(offer_bounds_are_inclusive) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: a, pool: west, strategy: random, offer: {timeout: 7d, attempts: 100}}\n"
        "  - {name: b, pool: west, strategy: random, offer: {timeout: 604800s, attempts: 1}}\n");
    if (!c) return;
    CHECK_EQ_INT(c->rules[0].offer_timeout_ms, INT64_C(7) * 86400000);
    CHECK_EQ_INT(c->rules[0].offer_attempts, 100);
    CHECK_EQ_INT(c->rules[1].offer_timeout_ms, INT64_C(7) * 86400000);
    CHECK_EQ_INT(c->rules[1].offer_attempts, 1);
    lr_config_free(c);
}

/* ---- errors: agents -------------------------------------------------------- */

TEST(unknown_time_zone_is_reported_at_the_timezone) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: a\n"
                     "    schedule: {timezone: America/Chicgo, hours: {mon: \"09:00-17:00\"}}\n"
                     "  - {id: b, schedule: {timezone: \"\"}}\n"
                     "  - {id: c, schedule: {timezone: [UTC]}}\n"
                     TAIL),
                 "t.yaml:3:26: agent 'a': unknown time zone 'America/Chicgo' "
                 "(use an IANA name such as America/Chicago)\n"
                 "t.yaml:4:35: agent 'b': unknown time zone '' (use an IANA name such as America/Chicago)\n"
                 "t.yaml:5:34: agent 'c': 'schedule.timezone' must be a string, got a list");
}

/* ICU takes old Java IDs that are no IANA name, and reads "BST" as
 * Asia/Dhaka: a London schedule written so followed Dhaka's hours. IANA's
 * own short names (EST, a fixed offset) and links (US/Eastern) stay. */
TEST(a_zone_id_that_iana_does_not_have_is_refused) {
    if (!lr_tzdata_system_has("Europe/London")) {
        printf("  (skipped: no system tz database to tell IANA names by)\n");
        return;
    }
    const char *yaml =
        "agents:\n"
        "  - {id: a, schedule: {timezone: BST, hours: {mon: \"09:00-17:00\"}}}\n"
        "  - {id: b, schedule: {timezone: EST, hours: {mon: \"09:00-17:00\"}}}\n"
        "  - {id: c, schedule: {timezone: US/Eastern, hours: {mon: \"09:00-17:00\"}}}\n"
        "holidays:\n"
        "  IST: [\"2026-12-25\"]\n"
        "  Asia/Calcutta: [\"2026-12-25\"]\n"
        "pools: {p: [a, b, c]}\n"
        "rules: [{name: r, pool: p, strategy: random, when: 'local_hour(\"PST\") < 12'}]\n";
    CHECK_EQ_STR(errors_of(yaml),
                 "t.yaml:2:34: agent 'a': schedule.timezone: 'BST' is not an IANA time zone name "
                 "(ICU reads it as Asia/Dhaka): write the IANA name of the place, such as "
                 "Europe/London or America/Chicago\n"
                 "t.yaml:6:3: holidays: 'IST' is not an IANA time zone name (ICU reads it as "
                 "Asia/Calcutta): write the IANA name of the place, such as Europe/London or "
                 "America/Chicago\n"
                 "t.yaml:9:53: rule 'r': when: 'PST' is not an IANA time zone name (ICU reads it as "
                 "America/Los_Angeles): write the IANA name of the place, such as Europe/London or "
                 "America/Chicago");
    /* a config journaled by a build that took them loads as it was */
    lr_config *c = journaled_config(yaml);
    if (!c) return;
    CHECK_EQ_STR(zone_of(c, 0), "BST");
    lr_config_free(c);
    /* ICU's SystemV/ too, said without "reads it as" itself; an Area/Place
     * name is left to ICU (one IANA dropped, or newer than the system's) */
    CHECK_EQ_STR(errors_of("agents:\n  - {id: a, schedule: {timezone: SystemV/AST4}}\n" TAIL),
                 "t.yaml:2:34: agent 'a': schedule.timezone: 'SystemV/AST4' is not an IANA time zone "
                 "name: write the IANA name of the place, such as Europe/London or America/Chicago");
    c = ok_config("agents:\n  - {id: a, schedule: {timezone: US/Pacific-New}}\n" TAIL);
    lr_config_free(c);
}

TEST(schedule_shape_errors_name_the_keys) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - {id: a, schedule: America/Chicago}\n"
                     "  - {id: b, schedule: {hours: {mon: \"09:00-17:00\"}}}\n"
                     "  - {id: c, schedule: {timezone: UTC, hours: {}, tz: UTC}}\n"
                     "  - {id: d, schedule: {timezone: UTC, hours: [mon]}}\n"
                     "  - {id: e, schedule: {timezone: UTC, hours: {mon: ~, tue: [\"09:00-17:00\"], [wed]: off}}}\n"
                     TAIL),
                 "t.yaml:2:23: agent 'a': 'schedule' must be a mapping with timezone and hours, "
                 "got 'America/Chicago'\n"
                 "t.yaml:3:23: agent 'b': missing required key 'timezone' in schedule\n"
                 "t.yaml:4:46: agent 'c': 'schedule.hours' is empty (leave it out to work at all hours)\n"
                 "t.yaml:4:50: unknown key 'tz' in schedule of agent 'c' "
                 "(known: timezone, hours)\n"
                 "t.yaml:5:46: agent 'd': 'schedule.hours' must be a mapping of days to hours such as "
                 "{mon-fri: \"09:00-17:00\"}, got a list\n"
                 "t.yaml:6:52: agent 'e': 'schedule.hours.mon' must be a string, got null\n"
                 "t.yaml:6:60: agent 'e': 'schedule.hours.tue' must be a string, got a list\n"
                 "t.yaml:6:77: agent 'e': days in 'schedule.hours' must be strings, got a list");
}

TEST(hours_errors_point_at_the_days_or_the_hours) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: a\n"
                     "    schedule:\n"
                     "      timezone: UTC\n"
                     "      hours:\n"
                     "        mnd-fri: 08:30-17:30\n"
                     "        sat: 8:3-17\n"
                     "        sun: 25:00-26:00\n"
                     "        mon,mon: 09:00-10:00\n"
                     "        fri-mon: 10:00-11:00\n"
                     "        Tue: 09:00-10:00\n"
                     "        xyz: 1-2\n"
                     TAIL),
                 "t.yaml:6:9: agent 'a': 'schedule.hours': unknown day 'mnd' (use mon..sun, mon-fri, daily)\n"
                 "t.yaml:7:14: agent 'a': 'schedule.hours': '8:3-17' is not HH:MM-HH:MM\n"
                 "t.yaml:8:14: agent 'a': 'schedule.hours': '25:00-26:00' is not a time range "
                 "(hours 00-23, 24:00 only as an end; minutes 00-59)\n"
                 "t.yaml:9:9: agent 'a': 'schedule.hours': day 'mon' is given twice\n"
                 "t.yaml:12:9: agent 'a': 'schedule.hours': unknown day 'xyz' (use mon..sun, mon-fri, daily)\n"
                 "t.yaml:12:14: agent 'a': 'schedule.hours': '1-2' is not HH:MM-HH:MM");
}

TEST(a_day_repeated_across_keys_is_reported_at_the_later_key) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - {id: a, schedule: {timezone: UTC, hours: {mon-fri: 09:00-17:00, wed: off}}}\n"
                     TAIL),
                 "t.yaml:2:69: agent 'a': 'schedule.hours': day 'wed' is given twice");
}

TEST(out_of_office_errors_point_at_the_bad_end) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: a\n"
                     "    schedule: {timezone: America/Chicago}\n"
                     "    out_of_office:\n"
                     "      - {from: 2026-12-24, to: 2026-12-20}\n"
                     "      - {from: 2026-02-30, to: 2026-03-01}\n"
                     "      - {from: 2026-03-01, to: tomorrow}\n"
                     "      - {from: 2026-03-01}\n"
                     "      - {to: 2026-03-01, note: x}\n"
                     "      - 2026-03-01\n"
                     "      - {from: [2026-03-01], to: 2026-03-01}\n"
                     "  - {id: b, out_of_office: {from: 2026-03-01, to: 2026-03-02}}\n"
                     TAIL),
                 "t.yaml:5:32: agent 'a': 'out_of_office': out of office ends before it starts "
                 "(from '2026-12-24', to '2026-12-20')\n"
                 "t.yaml:6:16: agent 'a': 'out_of_office': from '2026-02-30' is not a date "
                 "(YYYY-MM-DD) or an RFC 3339 date-time\n"
                 "t.yaml:7:32: agent 'a': 'out_of_office': to 'tomorrow' is not a date "
                 "(YYYY-MM-DD) or an RFC 3339 date-time\n"
                 "t.yaml:8:9: agent 'a': missing required key 'to' in out_of_office\n"
                 "t.yaml:9:9: agent 'a': missing required key 'from' in out_of_office\n"
                 "t.yaml:9:26: unknown key 'note' in out_of_office of agent 'a' (known: from, to)\n"
                 "t.yaml:10:9: agent 'a': out_of_office entries must be mappings with from and to, "
                 "got '2026-03-01'\n"
                 "t.yaml:11:16: agent 'a': 'out_of_office.from' must be a string, got a list\n"
                 "t.yaml:12:28: agent 'b': 'out_of_office' must be a list of {from, to} ranges, "
                 "got a mapping");
}

TEST(email_must_look_like_an_address) {
    lr_config *c = ok_config("agents: [{id: a, email: \"A.B+x@Example.com\"}]\n" TAIL);
    if (c) CHECK_EQ_STR(c->agents[0].email, "A.B+x@Example.com");
    lr_config_free(c);
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - {id: a, email: alice}\n"
                     "  - {id: b, email: \"@example.com\"}\n"
                     "  - {id: c, email: \"b@\"}\n"
                     "  - {id: d, email: \"b c@x.io\"}\n"
                     "  - {id: e, email: [a@x.io]}\n"
                     "  - {id: f, email: }\n"
                     TAIL),
                 "t.yaml:2:20: agent 'a': 'email' must be an email address such as ann@example.com, "
                 "got 'alice'\n"
                 "t.yaml:3:21: agent 'b': 'email' must be an email address such as ann@example.com, "
                 "got the string \"@example.com\"\n"
                 "t.yaml:4:21: agent 'c': 'email' must be an email address such as ann@example.com, "
                 "got the string \"b@\"\n"
                 "t.yaml:5:21: agent 'd': 'email' must be an email address such as ann@example.com, "
                 "got the string \"b c@x.io\"\n"
                 "t.yaml:6:20: agent 'e': 'email' must be a string, got a list\n"
                 "t.yaml:7:13: agent 'f': 'email' must be a string, got null");
}

TEST(email_must_be_an_address_mail_can_go_to) {
    /* as `from` and `recipient`: an address an email channel can send to */
    const char *yaml = "agents:\n"
                       "  - {id: a, email: \"a@x.io,boss@x.io\"}\n"
                       "  - {id: b, email: \"Bo <b@x.io>\"}\n"
                       "  - {id: c, email: \"a@b@c\"}\n" TAIL;
    CHECK_EQ_STR(errors_of(yaml),
                 "t.yaml:2:21: agent 'a': 'email' must be an email address such as ann@example.com, "
                 "got the string \"a@x.io,boss@x.io\"\n"
                 "t.yaml:3:21: agent 'b': 'email' must be an email address such as ann@example.com, "
                 "got the string \"Bo <b@x.io>\"\n"
                 "t.yaml:4:21: agent 'c': 'email' must be an email address such as ann@example.com, "
                 "got the string \"a@b@c\"");
    /* a config stored in the journal when the rule was looser (no blanks,
     * an @ inside) loads as it was */
    const char *old = "agents:\n"
                      "  - {id: a, email: \"a@x.io,boss@x.io\"}\n"
                      "  - {id: c, email: \"a@b@c\"}\n" TAIL;
    lr_config *cfg = journaled_config(old);
    if (cfg) CHECK_EQ_STR(cfg->agents[0].email, "a@x.io,boss@x.io");
    lr_config_free(cfg);
}

TEST(schedule_messages_cut_mid_character_stay_valid_utf8) {
    /* schedule.c quotes at most 40 bytes; "a" + "é" * 30 is cut inside an é. */
    char yaml[512];
    char day[64] = "a";
    for (int i = 0; i < 30; i++) strcat(day, "\xc3\xa9");
    snprintf(yaml, sizeof yaml,
             "agents: [{id: a, schedule: {timezone: UTC, hours: {%s: off}}}]\n" TAIL, day);
    char want[256] = "t.yaml:1:52: agent 'a': 'schedule.hours': unknown day 'a";
    for (int i = 0; i < 19; i++) strcat(want, "\xc3\xa9");
    strcat(want, "?...' (use mon..sun, mon-fri, daily)");
    CHECK_EQ_STR(errors_of(yaml), want);
}

/* ---- errors: holidays ------------------------------------------------------ */

TEST(holiday_errors_name_the_zone_or_the_date) {
    CHECK_EQ_STR(errors_of(
                     "holidays:\n"
                     "  America/Chicgo: [2026-12-25]\n"
                     "  America/Chicago: [2026-13-01, \"2026-12-25T00:00:00Z\", [x], 2026-12-26]\n"
                     "  UTC: 2026-12-25\n"
                     "  [x]: []\n"
                     "agents: [{id: a}]\n"
                     TAIL),
                 "t.yaml:2:3: holidays: unknown time zone 'America/Chicgo' "
                 "(use an IANA name such as America/Chicago)\n"
                 "t.yaml:3:21: holidays: holiday '2026-13-01' is not a date (YYYY-MM-DD)\n"
                 "t.yaml:3:34: holidays: holiday '2026-12-25T00:00:00Z' is not a date (YYYY-MM-DD)\n"
                 "t.yaml:3:57: holidays: dates must be strings, got a list\n"
                 "t.yaml:4:8: holidays: 'UTC' must be a list of dates, got '2026-12-25'\n"
                 "t.yaml:5:3: holidays: time zone names must be strings, got a list");
    CHECK_EQ_STR(errors_of("holidays: [2026-12-25]\nagents: [{id: a}]\n" TAIL),
                 "t.yaml:1:11: 'holidays' must be a mapping of time zone to dates, got a list");
}

/* ---- errors: pools ------------------------------------------------------------ */

TEST(pool_option_errors_give_the_ranges) {
    CHECK_EQ_STR(errors_of(
                     "agents: [{id: a}]\n"
                     "pools:\n"
                     "  p: {agents: [a], max_wait: 0s, max_no_answer: 0, catch_up: half}\n"
                     "  q: {agents: [a], max_wait: 721h, max_no_answer: 1001, catch_up: [full]}\n"
                     "  r: {agents: [a], max_wait: 30, max_no_answer: 2.5, max_wiat: 1m}\n"
                     "rules: [{name: r, pool: p, strategy: random}]\n"),
                 "t.yaml:3:30: pool 'p': 'max_wait' must be a duration from 1s to 30d "
                 "(a whole number and s, m, h or d), got '0s'\n"
                 "t.yaml:3:49: pool 'p': 'max_no_answer' must be an integer between 1 and 1000, got '0'\n"
                 "t.yaml:3:62: pool 'p': unknown catch_up 'half' (known: none, average, full)\n"
                 "t.yaml:4:30: pool 'q': 'max_wait' must be a duration from 1s to 30d "
                 "(a whole number and s, m, h or d), got '721h'\n"
                 "t.yaml:4:51: pool 'q': 'max_no_answer' must be an integer between 1 and 1000, got '1001'\n"
                 "t.yaml:4:67: pool 'q': 'catch_up' must be a string, got a list\n"
                 "t.yaml:5:30: pool 'r': 'max_wait' must be a duration from 1s to 30d "
                 "(a whole number and s, m, h or d), got '30'\n"
                 "t.yaml:5:49: pool 'r': 'max_no_answer' must be an integer between 1 and 1000, got '2.5'\n"
                 "t.yaml:5:54: unknown key 'max_wiat' in pool 'r' "
                 "(known: agents, order, max_wait, max_no_answer, catch_up)");
}

/* ---- errors: rules -------------------------------------------------------- */

TEST(tiers_must_be_two_or_more_known_distinct_pools) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, tiers: [west], strategy: random}\n"
                     "  - {name: b, tiers: [west, nope, west], strategy: random}\n"
                     "  - {name: c, tiers: west, strategy: random}\n"
                     "  - {name: d, tiers: [], strategy: random}\n"
                     "  - {name: e, tiers: [west, [east]], strategy: random}\n"),
                 "t.yaml:7:22: rule 'a': 'tiers' must list at least two pools, got 1\n"
                 "t.yaml:8:29: rule 'b': 'tiers': unknown pool 'nope'\n"
                 "t.yaml:8:35: rule 'b': 'tiers': pool 'west' is listed twice (first at 8:23)\n"
                 "t.yaml:9:22: rule 'c': 'tiers' must be a list of at least two pool names, got 'west'\n"
                 "t.yaml:10:22: rule 'd': 'tiers' must list at least two pools, got 0\n"
                 "t.yaml:11:29: rule 'e': pool names in 'tiers' must be strings, got a list");
}

TEST(pool_and_tiers_must_agree) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, pool: east, tiers: [west, east], strategy: random}\n"
                     "  - {name: b, pool: nope, tiers: [west, east], strategy: random}\n"
                     "  - {name: c, strategy: random}\n"),
                 "t.yaml:7:21: rule 'a': pool and tiers[0] differ (pool 'east', tiers[0] 'west')\n"
                 "t.yaml:8:21: rule 'b': unknown pool 'nope'\n"
                 "t.yaml:9:5: rule 'c': missing required key 'pool'");
}

TEST(escalation_needs_tiers) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, pool: west, strategy: random, escalate_after: 5m}\n"
                     "  - {name: b, pool: west, strategy: random, sla: {contact_within: 1h, then: escalate}}\n"
                     "  - {name: c, tiers: [west, east], strategy: random, escalate_after: 31d}\n"
                     "  - {name: d, tiers: [west, east], strategy: random, escalate_after: 0s}\n"),
                 "t.yaml:7:61: rule 'a': 'escalate_after' applies only with tiers\n"
                 "t.yaml:8:77: rule 'b': 'sla.then': escalate applies only with tiers\n"
                 "t.yaml:9:70: rule 'c': 'escalate_after' must be a duration from 1s to 30d "
                 "(a whole number and s, m, h or d), got '31d'\n"
                 "t.yaml:10:70: rule 'd': 'escalate_after' must be a duration from 1s to 30d "
                 "(a whole number and s, m, h or d), got '0s'");
}

TEST(offer_errors_give_the_ranges_and_keys) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, pool: west, strategy: random, offer: {timeout: 8d, attempts: 0}}\n"
                     "  - {name: b, pool: west, strategy: random, offer: {timeout: 604801s, attempts: 101}}\n"
                     "  - {name: c, pool: west, strategy: random, offer: {attempts: 2, retries: 1}}\n"
                     "  - {name: d, pool: west, strategy: random, offer: 2m}\n"
                     "  - {name: e, pool: west, strategy: random, offer: {timeout: 2 m}}\n"),
                 "t.yaml:7:62: rule 'a': 'offer.timeout' must be a duration from 1s to 7d "
                 "(a whole number and s, m, h or d), got '8d'\n"
                 "t.yaml:7:76: rule 'a': 'offer.attempts' must be an integer between 1 and 100, got '0'\n"
                 "t.yaml:8:62: rule 'b': 'offer.timeout' must be a duration from 1s to 7d "
                 "(a whole number and s, m, h or d), got '604801s'\n"
                 "t.yaml:8:81: rule 'b': 'offer.attempts' must be an integer between 1 and 100, got '101'\n"
                 "t.yaml:9:52: rule 'c': missing required key 'timeout' in offer\n"
                 "t.yaml:9:66: unknown key 'retries' in offer of rule 'c' (known: timeout, attempts)\n"
                 "t.yaml:10:52: rule 'd': 'offer' must be a mapping with timeout and attempts, got '2m'\n"
                 "t.yaml:11:62: rule 'e': 'offer.timeout' must be a duration from 1s to 7d "
                 "(a whole number and s, m, h or d), got '2 m'");
}

TEST(sla_errors_give_the_ranges_and_actions) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, pool: west, strategy: random, sla: {contact_within: 59s, then: shout}}\n"
                     "  - {name: b, pool: west, strategy: random, sla: {contact_within: 31d}}\n"
                     "  - {name: c, pool: west, strategy: random, sla: {then: notify, within: 1m}}\n"
                     "  - {name: d, pool: west, strategy: random, sla: 15m}\n"),
                 "t.yaml:7:67: rule 'a': 'sla.contact_within' must be a duration from 1m to 30d "
                 "(a whole number and s, m, h or d), got '59s'\n"
                 "t.yaml:7:78: rule 'a': 'sla.then': unknown action 'shout' (known: reassign, escalate, notify)\n"
                 "t.yaml:8:67: rule 'b': 'sla.contact_within' must be a duration from 1m to 30d "
                 "(a whole number and s, m, h or d), got '31d'\n"
                 "t.yaml:9:50: rule 'c': missing required key 'contact_within' in sla\n"
                 "t.yaml:9:65: unknown key 'within' in sla of rule 'c' (known: contact_within, then)\n"
                 "t.yaml:10:50: rule 'd': 'sla' must be a mapping with contact_within and then, got '15m'");
}

TEST(recycle_errors_name_statuses_rules_and_ranges) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, pool: west, strategy: random, recycle: {after: 59s, unless: [won, sold], to: zz}}\n"
                     "  - {name: b, pool: west, strategy: random, recycle: {after: 3651d, unless: won}}\n"
                     "  - {name: c, pool: west, strategy: random, recycle: {unless: [[won]], to: [a], every: 1d}}\n"
                     "  - {name: d, pool: west, strategy: random, recycle: 30d}\n"),
                 "t.yaml:7:62: rule 'a': 'recycle.after' must be a duration from 1m to 3650d "
                 "(a whole number and s, m, h or d), got '59s'\n"
                 "t.yaml:7:81: rule 'a': 'recycle.unless': unknown status 'sold' "
                 "(known: contacted, qualified, won, lost, disqualified)\n"
                 "t.yaml:7:92: rule 'a': 'recycle.to': unknown rule 'zz'\n"
                 "t.yaml:8:62: rule 'b': 'recycle.after' must be a duration from 1m to 3650d "
                 "(a whole number and s, m, h or d), got '3651d'\n"
                 "t.yaml:8:77: rule 'b': 'recycle.unless' must be a list of progress statuses, got 'won'\n"
                 "t.yaml:9:54: rule 'c': missing required key 'after' in recycle\n"
                 "t.yaml:9:64: rule 'c': statuses in 'recycle.unless' must be strings, got a list\n"
                 "t.yaml:9:76: rule 'c': 'recycle.to' must be a string, got a list\n"
                 "t.yaml:9:81: unknown key 'every' in recycle of rule 'c' (known: after, unless, to)\n"
                 "t.yaml:10:54: rule 'd': 'recycle' must be a mapping with after, unless and to, got '30d'");
}

TEST(time_errors_are_collected_with_the_others_in_file_order) {
    CHECK_EQ_STR(errors_of(
                     "holidays: {Mars/Olympus: [2026-12-25]}\n"
                     "agents:\n"
                     "  - {id: a, capacity: x, schedule: {timezone: UTC, hours: {mon: nine}}}\n"
                     "pools: {p: {agents: [a, b], max_wait: forever}}\n"
                     "rules:\n"
                     "  - {name: r, pool: p, strategy: rnd, offer: {timeout: 0s}}\n"),
                 "t.yaml:1:12: holidays: unknown time zone 'Mars/Olympus' "
                 "(use an IANA name such as America/Chicago)\n"
                 "t.yaml:3:23: agent 'a': 'capacity' must be an integer from 0 to 9223372036854775807, got 'x'\n"
                 "t.yaml:3:65: agent 'a': 'schedule.hours': 'nine' is not HH:MM-HH:MM\n"
                 "t.yaml:4:25: pool 'p': unknown agent 'b'\n"
                 "t.yaml:4:39: pool 'p': 'max_wait' must be a duration from 1s to 30d "
                 "(a whole number and s, m, h or d), got 'forever'\n"
                 "t.yaml:6:34: rule 'r': unknown strategy 'rnd' (known: round_robin, "
                 "weighted_round_robin, random, weighted_random, least_busy, most_available, "
                 "longest_idle, fewest_assigned, top_down, top_producer, owner, broadcast, queue, "
                 "open_pool, manual)\n"
                 "t.yaml:6:56: rule 'r': 'offer.timeout' must be a duration from 1s to 7d "
                 "(a whole number and s, m, h or d), got '0s'");
}

TEST(offer_applies_only_to_strategies_that_pick_an_agent) {
    const char *yaml = "agents: [{id: a}]\npools: {p: [a]}\n"
                       "rules:\n"
                       "  - {name: q, pool: p, strategy: queue, offer: {timeout: 1m}}\n"
                       "  - {name: m, pool: p, strategy: manual, offer: {timeout: 1m}}\n"
                       "  - {name: b, pool: p, strategy: broadcast, offer: {timeout: 1m}}\n";
    CHECK_EQ_STR(errors_of(yaml),
                 "t.yaml:4:48: rule 'q': 'offer' does not apply to strategy queue (its leads wait "
                 "to be claimed or assigned; an offer is made by the strategies that pick an agent, "
                 "and broadcast)\n"
                 "t.yaml:5:49: rule 'm': 'offer' does not apply to strategy manual (its leads wait "
                 "to be claimed or assigned; an offer is made by the strategies that pick an agent, "
                 "and broadcast)");
    /* a config stored in the journal before this check loads as it was */
    lr_config_free(journaled_config(yaml));
}

/* Options the engine would ignore are errors: a broadcast has no next
 * attempt, a manual rule's held leads never escalate. */
TEST(options_a_strategy_would_ignore_are_errors) {
    const char *yaml = "agents: [{id: a}, {id: b}]\npools: {p: [a], q: [b]}\n"
                       "rules:\n"
                       "  - {name: bc, pool: p, strategy: broadcast, offer: {timeout: 1m, attempts: 2}}\n"
                       "  - {name: mn, tiers: [p, q], strategy: manual, escalate_after: 5m}\n";
    CHECK_EQ_STR(errors_of(yaml),
                 "t.yaml:4:77: rule 'bc': 'offer.attempts' does not apply to strategy broadcast (it "
                 "offers the lead to every eligible member at once, then the rule's fallback)\n"
                 "t.yaml:5:65: rule 'mn': 'escalate_after' does not apply to strategy manual (its "
                 "leads are held for an admin's assign, never offered or queued)");
    lr_config_free(journaled_config(yaml));
}

int main(void) {
    RUN(schedule_hours_are_local_to_the_agent_zone);
    RUN(holidays_of_the_agent_zone_are_days_off);
    RUN(out_of_office_dates_are_whole_local_days);
    RUN(hours_scalars_are_read_as_written);
    RUN(schedule_without_hours_works_all_the_time_in_its_zone);
    RUN(out_of_office_takes_date_times_as_instants);
    RUN(out_of_office_without_schedule_is_in_utc);
    RUN(holidays_match_zone_aliases_and_only_the_same_zone);
    RUN(utc_holidays_give_agents_without_a_schedule_a_utc_one);
    RUN(empty_utc_holidays_leave_agents_without_a_schedule);
    RUN(schedule_keys_work_in_json);
    RUN(pool_options_are_parsed);
    RUN(pool_options_default_in_both_forms);
    RUN(catch_up_and_sla_names_follow_the_enums);
    RUN(rule_time_options_are_parsed);
    RUN(rule_time_options_default_when_absent);
    RUN(tiers_make_the_first_tier_the_pool);
    RUN(recycle_unless_is_a_mask_of_progress_statuses);
    RUN(offer_bounds_are_inclusive);
    RUN(unknown_time_zone_is_reported_at_the_timezone);
    RUN(a_zone_id_that_iana_does_not_have_is_refused);
    RUN(schedule_shape_errors_name_the_keys);
    RUN(hours_errors_point_at_the_days_or_the_hours);
    RUN(a_day_repeated_across_keys_is_reported_at_the_later_key);
    RUN(out_of_office_errors_point_at_the_bad_end);
    RUN(email_must_look_like_an_address);
    RUN(email_must_be_an_address_mail_can_go_to);
    RUN(offer_applies_only_to_strategies_that_pick_an_agent);
    RUN(options_a_strategy_would_ignore_are_errors);
    RUN(schedule_messages_cut_mid_character_stay_valid_utf8);
    RUN(holiday_errors_name_the_zone_or_the_date);
    RUN(pool_option_errors_give_the_ranges);
    RUN(tiers_must_be_two_or_more_known_distinct_pools);
    RUN(pool_and_tiers_must_agree);
    RUN(escalation_needs_tiers);
    RUN(offer_errors_give_the_ranges_and_keys);
    RUN(sla_errors_give_the_ranges_and_actions);
    RUN(recycle_errors_name_statuses_rules_and_ranges);
    RUN(time_errors_are_collected_with_the_others_in_file_order);
    return test_report();
}

