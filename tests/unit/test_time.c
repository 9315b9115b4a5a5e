/* test_time.c -- the engine watching leads over time: offers that expire
 * and move on, agents set away after unanswered offers, SLAs, max_wait,
 * recycling, schedules in the agent's zone across DST, caps that reset at
 * the agent's midnight. Exact decision sequences on events with ticks. */
#include "harness.h"
#include "test.h"

#define T(x) "{\"type\":\"tick\",\"at\":\"2026-03-02T" x "Z\"}\n"
#define LEAD(id, x) "{\"id\":\"" id "\",\"received_at\":\"2026-03-02T" x "Z\"}\n"

TEST(offer_expires_and_moves_to_the_next_candidate_then_falls_back) {
    const char *cfg = "agents: [{id: a}, {id: b}, {id: c}]\npools: {p: [a, b, c]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, fallback: hold,"
                      " offer: {timeout: 2m, attempts: 2}}]\n";
    const char *ev = LEAD("L1", "10:00:00") T("10:01:59") T("10:02:00") T("10:04:00");
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "offered:a expired:a offered:b expired:b held");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:02:00Z\",\"lead\":\"L1\",\"action\":\"expired\","
                                "\"agent\":\"a\",\"rule\":\"r\",\"pool\":\"p\",\"strategy\":\"round_robin\","
                                "\"why\":{\"reason\":\"offer_timeout\",\"detail\":\"attempt 1 of 2 (rule r: "
                                "offer.attempts)\"}}");
    /* each offer says when it lapses: what the expiry then does, to the ms */
    CHECK_CONTAINS(o.json.data, "\"action\":\"offered\",\"agent\":\"a\",\"rule\":\"r\",\"pool\":\"p\","
                                "\"strategy\":\"round_robin\",\"expires_at\":\"2026-03-02T10:02:00Z\"}");
    CHECK_CONTAINS(o.json.data, "\"action\":\"offered\",\"agent\":\"b\",\"rule\":\"r\",\"pool\":\"p\","
                                "\"strategy\":\"round_robin\",\"expires_at\":\"2026-03-02T10:04:00Z\","
                                "\"why\":{\"reason\":\"offer_expired\"}");
    /* the fallback after the last expiry says why too (c was never offered) */
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:04:00Z\",\"lead\":\"L1\",\"action\":\"held\","
                                "\"rule\":\"r\",\"pool\":\"p\",\"strategy\":\"round_robin\","
                                "\"why\":{\"reason\":\"offer_expired\"");
    run_release(&o);
}

TEST(accepted_offer_is_assigned_and_holds_the_slot) {
    const char *cfg = "agents: [{id: a, capacity: 1}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down, offer: {timeout: 2m}}]\n";
    const char *ev = LEAD("L1", "10:00:00")
                     "{\"type\":\"accept\",\"agent\":\"a\",\"lead\":\"L1\"}\n"
                     LEAD("L2", "10:01:00") T("10:05:00");
    /* L2: a holds L1, so b; when b lets it expire nobody is left: unrouted */
    CHECK_EQ_STR(trace_of(cfg, ev), "offered:a assigned:a offered:b expired:b unrouted");
}

TEST(offer_reserves_the_slot_while_it_runs) {
    const char *cfg = "agents: [{id: a, capacity: 1}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down, offer: {timeout: 2m}}]\n";
    CHECK_EQ_STR(trace_of(cfg, LEAD("L1", "10:00:00") LEAD("L2", "10:00:30")),
                 "offered:a offered:b");
}

TEST(declined_offer_goes_to_the_next_candidate) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, offer: {timeout: 2m}}]\n";
    const char *ev = LEAD("L1", "10:00:00") "{\"type\":\"decline\",\"agent\":\"a\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"accept\",\"agent\":\"b\",\"lead\":\"L1\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev), "offered:a offered:b assigned:b");
}

TEST(agent_who_lets_offers_expire_is_set_away) {
    const char *cfg = "agents: [{id: a}, {id: b}]\n"
                      "pools: {p: {agents: [a, b], max_no_answer: 2}}\n"
                      "rules: [{name: r, pool: p, strategy: top_down, offer: {timeout: 1m, attempts: 1},"
                      " fallback: hold}]\n";
    const char *ev = LEAD("L1", "10:00:00") T("10:01:00") LEAD("L2", "10:02:00") T("10:03:00")
                     LEAD("L3", "10:04:00");
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "offered:a expired:a held offered:a expired:a agent_away:a held offered:b");
    CHECK_CONTAINS(o.json.data, "\"action\":\"agent_away\",\"agent\":\"a\",\"pool\":\"p\","
                                "\"why\":{\"reason\":\"max_no_answer\"");
    run_release(&o);
}

TEST(broadcast_offer_expires_to_the_fallback) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: broadcast, offer: {timeout: 5m}, fallback: hold}]\n";
    CHECK_EQ_STR(trace_of(cfg, LEAD("L1", "10:00:00") T("10:05:00")), "offered:a,b expired:a,b held");
}

/* An offer says when it lapses (expires_at: its time plus offer.timeout);
 * a broadcast's too; an assignment, and a broadcast without a timeout,
 * have no such key. */
TEST(an_offer_says_when_it_expires) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: bc, when: 'source == \"bc\"', pool: p, strategy: broadcast,"
                      " offer: {timeout: 5m}},"
                      " {name: open, when: 'source == \"open\"', pool: p, strategy: broadcast},"
                      " {name: rr, pool: p, strategy: round_robin}]\n";
    const char *ev = "{\"id\":\"B1\",\"source\":\"bc\",\"received_at\":\"2026-03-02T10:00:00.250Z\"}\n"
                     "{\"id\":\"O1\",\"source\":\"open\",\"received_at\":\"2026-03-02T10:01:00Z\"}\n"
                     LEAD("R1", "10:02:00");
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_CONTAINS(o.json.data, "\"lead\":\"B1\",\"action\":\"offered\",\"agents\":[\"a\",\"b\"],"
                                "\"rule\":\"bc\",\"pool\":\"p\",\"strategy\":\"broadcast\","
                                "\"expires_at\":\"2026-03-02T10:05:00.250Z\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"O1\",\"action\":\"offered\",\"agents\":[\"a\",\"b\"],"
                                "\"rule\":\"open\",\"pool\":\"p\",\"strategy\":\"broadcast\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"R1\",\"action\":\"assigned\",\"agent\":\"a\","
                                "\"rule\":\"rr\",\"pool\":\"p\",\"strategy\":\"round_robin\"}");
    run_release(&o);
}

/* An offer that an escalation ends first (escalate_after counts from the
 * lead's entry into its tier, however many offers it had there) expires
 * then, not offer.timeout after it was made: its expires_at says so, for
 * the first offer and for one made after a decline. A broadcast widens and
 * keeps its agents: its own timeout holds. */
TEST(an_offer_an_escalation_ends_first_expires_then) {
    const char *cfg = "agents: [{id: a1}, {id: a2}, {id: b1}]\n"
                      "pools: {t1: [a1, a2], t2: [b1]}\n"
                      "rules: [{name: bc, when: 'source == \"bc\"', tiers: [t1, t2], strategy: broadcast,"
                      " escalate_after: 30s, offer: {timeout: 60s}},"
                      " {name: r, tiers: [t1, t2], strategy: round_robin, escalate_after: 30s,"
                      " offer: {timeout: 60s, attempts: 3}}]\n";
    const char *ev = LEAD("L1", "10:00:00")
                     "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"a1\",\"at\":\"2026-03-02T10:00:20Z\"}\n"
                     T("10:00:29.999") T("10:00:30")
                     "{\"id\":\"B1\",\"source\":\"bc\",\"received_at\":\"2026-03-02T10:01:00Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "offered:a1 offered:a2 expired:a2 offered:b1 offered:a1,a2");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"offered\","
                                "\"agent\":\"a1\",\"rule\":\"r\",\"pool\":\"t1\",\"strategy\":\"round_robin\","
                                "\"expires_at\":\"2026-03-02T10:00:30Z\"");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:00:20Z\",\"lead\":\"L1\",\"action\":\"offered\","
                                "\"agent\":\"a2\",\"rule\":\"r\",\"pool\":\"t1\",\"strategy\":\"round_robin\","
                                "\"expires_at\":\"2026-03-02T10:00:30Z\"");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:00:30Z\",\"lead\":\"L1\",\"action\":\"expired\","
                                "\"agent\":\"a2\"");
    /* in the last tier: its own timeout */
    CHECK_CONTAINS(o.json.data, "\"agent\":\"b1\",\"rule\":\"r\",\"pool\":\"t1+t2\",\"strategy\":\"round_robin\","
                                "\"expires_at\":\"2026-03-02T10:01:30Z\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"B1\",\"action\":\"offered\",\"agents\":[\"a1\",\"a2\"],"
                                "\"rule\":\"bc\",\"pool\":\"t1\",\"strategy\":\"broadcast\","
                                "\"expires_at\":\"2026-03-02T10:02:00Z\"");
    run_release(&o);
}

TEST(sla_without_contact_reassigns_to_someone_else) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, sla: {contact_within: 15m}}]\n";
    const char *ev = LEAD("L1", "10:00:00") LEAD("L2", "10:01:00")
                     "{\"type\":\"progress\",\"lead\":\"L2\",\"status\":\"contacted\"}\n" T("10:20:00");
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a assigned:b reassigned:a assigned:b");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:15:00Z\",\"lead\":\"L1\",\"action\":\"reassigned\"");
    run_release(&o);
}

TEST(sla_notify_only_reports_the_breach) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin,"
                      " sla: {contact_within: 15m, then: notify}}]\n";
    CHECK_EQ_STR(trace_of(cfg, LEAD("L1", "10:00:00") T("10:30:00")), "assigned:a sla_breached:a");
}

TEST(queued_lead_past_max_wait_falls_back) {
    const char *cfg = "agents: [{id: a}]\npools: {p: {agents: [a], max_wait: 10m}}\n"
                      "rules: [{name: pull, pool: p, strategy: queue, fallback: hold}]\n";
    run_out o;
    CHECK(run_engine(cfg, LEAD("L1", "10:00:00") T("10:09:59") T("10:10:00"), 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "queued expired held");
    CHECK_CONTAINS(o.json.data, "\"action\":\"expired\",\"rule\":\"pull\",\"pool\":\"p\","
                                "\"strategy\":\"queue\",\"why\":{\"reason\":\"max_wait\"}}");
    CHECK_CONTAINS(o.json.data, "\"action\":\"held\",\"rule\":\"pull\",\"pool\":\"p\","
                                "\"strategy\":\"queue\",\"why\":{\"reason\":\"max_wait\"");
    run_release(&o);
}

TEST(stalled_lead_is_recycled_to_the_named_rule) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {pa: [a], pb: [b]}\n"
                      "rules:\n"
                      "  - {name: first, pool: pa, strategy: top_down, recycle: {after: 1d, to: second}}\n"
                      "  - {name: second, when: 'false', pool: pb, strategy: top_down}\n";
    const char *ev = LEAD("L1", "10:00:00") LEAD("L2", "10:00:00")
                     "{\"type\":\"progress\",\"lead\":\"L2\",\"status\":\"contacted\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-03-03T10:00:00Z\"}\n";
    /* both stalled (contacted is not in `unless`): both go to b */
    CHECK_EQ_STR(trace_of(cfg, ev), "assigned:a assigned:a recycled:a assigned:b recycled:a assigned:b");
}

#define CHI "schedule: {timezone: America/Chicago, hours: {mon-fri: \"08:30-17:30\"}}"

TEST(off_shift_agent_is_skipped_across_both_dst_changes) {
    const char *cfg = "agents: [{id: a, " CHI "}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down}]\n";
    /* 08:35 local on the Friday before and the Monday after each change:
     * CST is UTC-6, CDT UTC-5 */
    const char *ev =
        "{\"id\":\"1\",\"received_at\":\"2026-03-06T14:35:00Z\"}\n"   /* Fri 08:35 CST: on */
        "{\"id\":\"2\",\"received_at\":\"2026-03-09T13:25:00Z\"}\n"   /* Mon 08:25 CDT: off */
        "{\"id\":\"3\",\"received_at\":\"2026-03-09T13:35:00Z\"}\n"   /* Mon 08:35 CDT: on */
        "{\"id\":\"4\",\"received_at\":\"2026-10-30T13:35:00Z\"}\n"   /* Fri 08:35 CDT: on */
        "{\"id\":\"5\",\"received_at\":\"2026-11-02T13:35:00Z\"}\n"   /* Mon 07:35 CST: off */
        "{\"id\":\"6\",\"received_at\":\"2026-11-02T14:35:00Z\"}\n"   /* Mon 08:35 CST: on */
        "{\"id\":\"7\",\"received_at\":\"2026-11-07T16:00:00Z\"}\n";  /* Saturday: off */
    run_out o;
    CHECK(run_engine(cfg, ev, 1, true, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a assigned:b assigned:a assigned:a assigned:b assigned:a assigned:b");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"2\",\"action\":\"assigned\",\"agent\":\"b\",\"rule\":\"r\","
                                "\"pool\":\"p\",\"strategy\":\"top_down\",\"why\":{\"candidates\":"
                                "[{\"agent\":\"a\",\"skipped\":\"off_shift\"}");
    run_release(&o);
}

TEST(out_of_office_agent_is_skipped_and_comes_back) {
    const char *cfg = "agents: [{id: a, schedule: {timezone: Europe/Berlin},"
                      " out_of_office: [{from: 2026-12-24, to: 2026-12-27}]}, {id: b}]\n"
                      "pools: {p: [a, b]}\nrules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *ev = "{\"id\":\"1\",\"received_at\":\"2026-12-23T22:59:00Z\"}\n"   /* 23:59 Berlin */
                     "{\"id\":\"2\",\"received_at\":\"2026-12-23T23:00:00Z\"}\n"   /* 24th 00:00 */
                     "{\"id\":\"3\",\"received_at\":\"2026-12-27T22:59:00Z\"}\n"   /* 27th 23:59 */
                     "{\"id\":\"4\",\"received_at\":\"2026-12-27T23:00:00Z\"}\n";  /* 28th: back */
    run_out o;
    CHECK(run_engine(cfg, ev, 1, true, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a assigned:b assigned:b assigned:a");
    CHECK_CONTAINS(o.json.data, "{\"agent\":\"a\",\"skipped\":\"out_of_office\"}");
    run_release(&o);
}

TEST(day_cap_resets_at_the_agents_own_midnight) {
    const char *cfg = "agents: [{id: a, caps: {day: 1}, schedule: {timezone: Asia/Tokyo}}]\n"
                      "pools: {p: [a]}\nrules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    /* 14:00Z is 23:00 in Tokyo; the next Tokyo day starts at 15:00Z */
    const char *ev = "{\"id\":\"1\",\"received_at\":\"2026-03-02T14:00:00Z\"}\n"
                     "{\"id\":\"2\",\"received_at\":\"2026-03-02T14:30:00Z\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-03-02T16:00:00Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a queued assigned:a");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T15:00:00Z\",\"lead\":\"2\",\"action\":\"assigned\"");
    run_release(&o);
}

TEST(shift_start_gives_out_waiting_leads) {
    const char *cfg = "agents: [{id: a, " CHI "}]\npools: {p: [a]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *ev = "{\"id\":\"1\",\"received_at\":\"2026-03-09T12:00:00Z\"}\n"   /* 07:00 CDT */
                     "{\"type\":\"tick\",\"at\":\"2026-03-09T14:00:00Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "queued assigned:a");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-09T13:30:00Z\",\"lead\":\"1\",\"action\":\"assigned\"");
    run_release(&o);
}

TEST(rules_test_the_local_hour_of_a_zone) {
    const char *cfg = "agents: [{id: day}, {id: night}]\npools: {d: [day], n: [night]}\n"
                      "rules:\n"
                      "  - {name: office, pool: d, strategy: top_down,"
                      " when: 'local_hour(\"America/New_York\") >= 9 and local_hour(\"America/New_York\") < 17"
                      " and local_weekday(\"America/New_York\") not in [\"sat\", \"sun\"]'}\n"
                      "  - {name: after-hours, pool: n, strategy: top_down}\n";
    const char *ev = "{\"id\":\"1\",\"received_at\":\"2026-03-06T13:59:00Z\"}\n"   /* Fri 08:59 EST */
                     "{\"id\":\"2\",\"received_at\":\"2026-03-06T14:00:00Z\"}\n"   /* Fri 09:00 EST */
                     "{\"id\":\"3\",\"received_at\":\"2026-03-09T13:00:00Z\"}\n"   /* Mon 09:00 EDT */
                     "{\"id\":\"4\",\"received_at\":\"2026-03-09T21:00:00Z\"}\n"   /* Mon 17:00 EDT */
                     "{\"id\":\"5\",\"received_at\":\"2026-03-07T15:00:00Z\"}\n";  /* Sat: clock stays at Mon */
    CHECK_EQ_STR(trace_of(cfg, ev), "assigned:night assigned:day assigned:day assigned:night assigned:night");
}

TEST(tiered_rule_widens_to_the_next_tier_in_time) {
    const char *cfg = "agents: [{id: s1}, {id: j1}, {id: m1}]\n"
                      "pools: {seniors: [s1], juniors: [j1], managers: [m1]}\n"
                      "rules: [{name: r, tiers: [seniors, juniors, managers], strategy: broadcast,"
                      " escalate_after: 5m}]\n";
    const char *ev = LEAD("L1", "10:00:00") T("10:04:59") T("10:05:00") T("10:10:00")
                     "{\"type\":\"claim\",\"agent\":\"m1\",\"lead\":\"L1\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "offered:s1 offered:s1,j1 offered:s1,j1,m1 claimed:m1");
    CHECK_CONTAINS(o.json.data, "\"action\":\"offered\",\"agents\":[\"s1\",\"j1\"],\"rule\":\"r\","
                                "\"pool\":\"seniors+juniors\",\"strategy\":\"broadcast\","
                                "\"why\":{\"reason\":\"escalated\"}");
    run_release(&o);
}

/* run_engine() with the legacy flags LEGACY (a journal of an earlier
 * version replayed), without explanations. */
static void run_with(const char *cfg, const char *ev, unsigned legacy, run_out *o) {
    harness_legacy = legacy;
    CHECK(run_engine(cfg, ev, 1, false, o));
    harness_legacy = 0;
}

#define DECLINE(agent, x) "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"" agent "\",\"at\":\"2026-03-02T" x "Z\"}\n"

/* escalate_after counts from the lead's entry into its tier, not from
 * each offer or queueing: offers of 2 minutes one after another do not
 * keep a lead of a 5-minute escalation in its first tier. Journals from
 * before replay as they were made: there the seniors' offers ran out
 * first and the lead was held without ever reaching the juniors. */
TEST(escalation_counts_from_the_leads_entry_into_its_tier) {
    const char *cfg = "agents: [{id: s1}, {id: s2}, {id: s3}, {id: s4}, {id: j1}]\n"
                      "pools: {seniors: [s1, s2, s3, s4], juniors: [j1]}\n"
                      "rules: [{name: r, tiers: [seniors, juniors], strategy: round_robin,"
                      " offer: {timeout: 2m, attempts: 5}, escalate_after: 5m, fallback: hold}]\n";
    const char *ev = LEAD("L1", "10:00:00") T("10:30:00");
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:s1 expired:s1 offered:s2 expired:s2 offered:s3 expired:s3 "
                               "offered:s4 expired:s4 offered:j1 expired:j1 held");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:05:00Z\",\"lead\":\"L1\",\"action\":\"offered\","
                                "\"agent\":\"s4\",\"rule\":\"r\",\"pool\":\"seniors+juniors\"");
    /* s3's offer ends at the escalation, before its 2m: its expires_at says so */
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:04:00Z\",\"lead\":\"L1\",\"action\":\"offered\","
                                "\"agent\":\"s3\",\"rule\":\"r\",\"pool\":\"seniors\",\"strategy\":\"round_robin\","
                                "\"expires_at\":\"2026-03-02T10:05:00Z\"");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:05:00Z\",\"lead\":\"L1\",\"action\":\"expired\","
                                "\"agent\":\"s3\"");
    CHECK_CONTAINS(o.json.data, "\"agent\":\"s2\",\"rule\":\"r\",\"pool\":\"seniors\",\"strategy\":\"round_robin\","
                                "\"expires_at\":\"2026-03-02T10:04:00Z\"");
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_TIER_CLOCK, &o);
    CHECK_EQ_STR(o.trace.data, "offered:s1 expired:s1 offered:s2 expired:s2 offered:s3 expired:s3 "
                               "offered:s4 expired:s4 held");
    run_release(&o);
}

/* A lead recycled to its own rule is routed anew: its escalation counts
 * from the recycling, not from its first entry into the tier an hour
 * before (amy's offer would end at once). */
TEST(a_recycled_lead_escalates_from_its_recycling) {
    const char *cfg = "agents: [{id: ann}, {id: amy}, {id: ben}]\n"
                      "pools: {s: [ann, amy], j: [ben]}\n"
                      "rules: [{name: hot, tiers: [s, j], strategy: top_down, offer: {timeout: 10m},"
                      " escalate_after: 5m, recycle: {after: 1h}}]\n";
    const char *ev = LEAD("L1", "09:00:00")
                     "{\"type\":\"accept\",\"lead\":\"L1\",\"agent\":\"ann\",\"at\":\"2026-03-02T09:01:00Z\"}\n"
                     T("10:05:59") T("10:20:00");
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:ann assigned:ann recycled:ann offered:amy expired:amy offered:ben "
                               "expired:ben unrouted");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:06:00Z\",\"lead\":\"L1\",\"action\":\"expired\","
                                "\"agent\":\"amy\"");
    run_release(&o);
}

/* A broadcast that every agent declined goes to its rule's fallback, in
 * its tier and with why.reason declined, as one that expired does: it
 * neither drops back to the first tier (to climb them again) nor says
 * no_eligible_agent. Journals from before replay as they were made. */
TEST(a_broadcast_declined_by_all_stays_in_its_tier) {
    const char *cfg = "agents: [{id: s1}, {id: s2}, {id: j1}, {id: m1}]\n"
                      "pools: {seniors: [s1, s2], juniors: [j1], managers: [m1]}\n"
                      "rules: [{name: b, tiers: [seniors, juniors, managers], strategy: broadcast,"
                      " escalate_after: 5m, fallback: queue}]\n";
    const char *ev = LEAD("L1", "10:00:00") DECLINE("s1", "10:01:00") T("10:05:30")
                     DECLINE("s2", "10:06:00") DECLINE("j1", "10:07:00") T("10:20:00");
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:s1,s2 offered:s2,j1 queued offered:m1");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:07:00Z\",\"lead\":\"L1\",\"action\":\"queued\","
                                "\"rule\":\"b\",\"pool\":\"seniors+juniors\",\"strategy\":\"broadcast\","
                                "\"why\":{\"reason\":\"declined\"");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:10:00Z\",\"lead\":\"L1\",\"action\":\"offered\","
                                "\"agents\":[\"m1\"]");
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_TIER_CLOCK, &o);
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T10:07:00Z\",\"lead\":\"L1\",\"action\":\"queued\","
                                "\"rule\":\"b\",\"pool\":\"seniors\"");
    run_release(&o);
}

#define EV(type, lead, agent, x) "{\"type\":\"" type "\",\"lead\":\"" lead "\",\"agent\":\"" agent \
                                  "\",\"at\":\"2026-03-02T" x "Z\"}\n"
#define NEXT(agent, x) "{\"type\":\"claim\",\"agent\":\"" agent "\",\"at\":\"2026-03-02T" x "Z\"}\n"
#define KIND(id, kind, x) "{\"id\":\"" id "\",\"received_at\":\"2026-03-02T" x "Z\",\"fields\":{\"kind\":\"" kind "\"}}\n"

/* The order in which ben claimed F1, C1 and C2: "FCc" for F1, C2, C1
 * (C: C2, c: C1), from routing X0 of KIND first, then REST. */
static void claim_order(const char *cfg, const char *x0, const char *rest, unsigned legacy,
                        char out[4]) {
    static const char *const ids[] = { "F1", "C2", "C1" };
    static const char letters[] = "FCc";
    char ev[2048], pat[64];
    const char *at[3];
    run_out o;
    snprintf(ev, sizeof ev, "%s%s", x0, rest);
    run_with(cfg, ev, legacy, &o);
    for (int i = 0; i < 3; i++) {
        snprintf(pat, sizeof pat, "\"lead\":\"%s\",\"action\":\"claimed\"", ids[i]);
        at[i] = strstr(o.json.data, pat);
    }
    for (int k = 0; k < 3; k++) {           /* the k-th claimed */
        int best = -1;
        for (int i = 0; i < 3; i++) {
            if (!at[i]) continue;
            if (best < 0 || at[i] < at[best]) best = i;
        }
        out[k] = best < 0 ? '-' : letters[best];
        if (best >= 0) at[best] = NULL;
    }
    out[3] = '\0';
    run_release(&o);
}

/* A rep in a FIFO pull pool and a LIFO one: the best lead of each order,
 * and of those the one that arrived first; the same whichever pool got
 * its first lead first. Journals from before replay as they were made:
 * there the pool met last decided (the newer callbacks went first). */
TEST(next_across_pools_of_different_orders_takes_the_oldest_head) {
    const char *cfg = "agents: [{id: ben}]\n"
                      "pools: {inbound: {agents: [ben], order: fifo}, callbacks: {agents: [ben], order: lifo}}\n"
                      "rules: [{name: inbound, when: 'fields.kind == \"inbound\"', pool: inbound, strategy: queue},"
                      " {name: callbacks, when: 'fields.kind == \"callback\"', pool: callbacks, strategy: queue}]\n";
    const char *rest = NEXT("ben", "10:00:30") KIND("F1", "inbound", "10:01:00")
                       KIND("C1", "callback", "10:02:00") KIND("C2", "callback", "10:03:00")
                       NEXT("ben", "10:04:00") NEXT("ben", "10:05:00") NEXT("ben", "10:06:00");
    char order[4];
    claim_order(cfg, KIND("X0", "inbound", "10:00:00"), rest, 0, order);
    CHECK_EQ_STR(order, "FCc");
    claim_order(cfg, KIND("X0", "callback", "10:00:00"), rest, 0, order);
    CHECK_EQ_STR(order, "FCc");
    claim_order(cfg, KIND("X0", "inbound", "10:00:00"), rest, LR_LEGACY_PULL_ORDER, order);
    CHECK_EQ_STR(order, "CcF");
}

/* max_no_answer counts offers to one agent let expire, in a row: a
 * decline is an answer and starts the count again, as an accept does;
 * a broadcast that expires counts against nobody (a shark tank's members
 * need not claim every lead). Journals from before replay as made: there
 * a was set away at the second expiry after its decline, and a and b
 * after two broadcasts that expired. */
TEST(a_decline_breaks_a_row_of_expiries_and_broadcasts_do_not_count) {
    const char *cfg = "agents: [{id: a}, {id: b}]\n"
                      "pools: {p: {agents: [a, b], max_no_answer: 2}, t: {agents: [a, b], max_no_answer: 2}}\n"
                      "rules: [{name: tank, when: 'score >= 90', pool: t, strategy: broadcast, offer: {timeout: 1m},"
                      " fallback: hold},"
                      " {name: r, pool: p, strategy: top_down, offer: {timeout: 1m, attempts: 1}, fallback: hold}]\n";
    const char *ev = LEAD("L1", "10:00:00") T("10:01:00")
                     LEAD("L2", "10:02:00") EV("decline", "L2", "a", "10:02:30")
                     LEAD("L3", "10:03:00") T("10:04:00")
                     "{\"id\":\"B1\",\"score\":95,\"received_at\":\"2026-03-02T10:05:00Z\"}\n" T("10:06:00")
                     "{\"id\":\"B2\",\"score\":95,\"received_at\":\"2026-03-02T10:07:00Z\"}\n" T("10:08:00")
                     LEAD("L4", "10:09:00");
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:a expired:a held offered:a held offered:a expired:a held "
                               "offered:a,b expired:a,b held offered:a,b expired:a,b held offered:a");
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_NO_ANSWER, &o);
    CHECK_EQ_STR(o.trace.data, "offered:a expired:a held offered:a held offered:a expired:a agent_away:a held "
                               "offered:b expired:b held offered:b expired:b agent_away:b held held");
    run_release(&o);
}

/* A decline of a lead assigned to the agent is an answer too: the count
 * of offers let expire starts again (ann is not set away at the next
 * expiry). Journals from before replay as made: there the decline of
 * the assigned D1 did not count, and ann was set away at 10:30. */
TEST(a_decline_of_an_assigned_lead_breaks_a_row_of_expiries) {
    const char *cfg = "agents: [{id: ann}]\n"
                      "pools: {desk: {agents: [ann], max_no_answer: 2}}\n"
                      "rules: [{name: direct, when: 'source == \"direct\"', pool: desk, strategy: top_down,"
                      " fallback: hold},"
                      " {name: offers, pool: desk, strategy: top_down, offer: {timeout: 30m, attempts: 1},"
                      " fallback: hold}]\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"id\":\"D1\",\"source\":\"direct\",\"at\":\"2026-11-02T09:40:00Z\"}\n"
                     "{\"type\":\"decline\",\"lead\":\"D1\",\"agent\":\"ann\",\"at\":\"2026-11-02T09:45:00Z\"}\n"
                     "{\"id\":\"L2\",\"at\":\"2026-11-02T10:00:00Z\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-11-02T11:00:00Z\"}\n";
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK(strstr(o.json.data, "agent_away") == NULL);
    CHECK_CONTAINS(o.trace.data, "offered:ann expired:ann held");
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_DECLINE_ANSWER, &o);
    CHECK_CONTAINS(o.json.data, "\"at\":\"2026-11-02T10:30:00Z\",\"action\":\"agent_away\",\"agent\":\"ann\"");
    run_release(&o);
}

/* A server stopped from 09:05 to 10:05: L2, queued at 09:05 (ann's hour
 * cap), ran out of its max_wait at 09:25 while ann was still capped.
 * The start's catch-up tick fires that deadline before the waiting leads
 * go out to ann, whose cap window turned at 10:00: L2 expires, as on a
 * server that kept running. Journals from before replay as made: there
 * L2 went to ann at the start (capacity_freed). */
TEST(a_catch_up_fires_past_deadlines_before_waiting_leads_go_out) {
    const char *cfg = "agents: [{id: ann, caps: {hour: 1}}]\n"
                      "pools: {solo: {agents: [ann], max_wait: 20m}}\n"
                      "rules: [{name: r, pool: solo, strategy: top_down, fallback: queue}]\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:05:00Z\"}\n"
                     "{\"id\":\"L2\",\"at\":\"2026-11-02T09:05:00Z\"}\n"
                     "{\"type\":\"tick\",\"catch_up\":true,\"at\":\"2026-11-02T10:05:00Z\"}\n";
    const char *running = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:05:00Z\"}\n"
                          "{\"id\":\"L2\",\"at\":\"2026-11-02T09:05:00Z\"}\n"
                          "{\"type\":\"tick\",\"at\":\"2026-11-02T10:05:00Z\"}\n";
    run_out o;
    run_with(cfg, running, 0, &o);
    CHECK_EQ_STR(o.trace.data, "assigned:ann queued expired unrouted");
    run_release(&o);
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "assigned:ann queued expired unrouted");
    CHECK_CONTAINS(o.json.data, "\"at\":\"2026-11-02T10:05:00Z\",\"lead\":\"L2\",\"action\":\"expired\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L2\",\"action\":\"unrouted\",\"why\":{\"reason\":\"no_eligible_agent\","
                                "\"detail\":\"its rule let it go (its wait or its offers ran out, or it was "
                                "declined) and no rule after it found anyone eligible; deadline "
                                "2026-11-02T09:25:00Z passed while the server was stopped: acted on at "
                                "its start\"}");
    run_release(&o);
    run_with(cfg, running, 0, &o);         /* a deadline met in time says nothing of it */
    CHECK(strstr(o.json.data, "server was stopped") == NULL);
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_CATCH_UP_ORDER | LR_LEGACY_CATCH_UP_ANSWER, &o);
    CHECK_EQ_STR(o.trace.data, "assigned:ann queued assigned:ann");
    run_release(&o);
}

/* An offer that ran out while the server was stopped counts for no
 * agent's max_no_answer: nobody could answer it. ann (max_no_answer: 1)
 * had L1 offered at 09:00 for 3 s; the server started again at 09:01: the
 * offer moves on to ben, ann stays available and gets L2. Journals from
 * before replay as made: there ann was set away at the start. */
TEST(an_offer_that_ran_out_during_a_stop_sets_nobody_away) {
    const char *cfg = "agents: [{id: ann}, {id: ben}]\n"
                      "pools: {desk: {agents: [ann, ben], max_no_answer: 1}}\n"
                      "rules: [{name: r, pool: desk, strategy: top_down, offer: {timeout: 3s, attempts: 2}}]\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"type\":\"tick\",\"catch_up\":true,\"at\":\"2026-11-02T09:01:00Z\"}\n"
                     "{\"id\":\"L2\",\"at\":\"2026-11-02T09:01:01Z\"}\n";
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann offered:ben offered:ann");
    CHECK(strstr(o.json.data, "agent_away") == NULL);
    /* the history says why a 3 s offer expired after a minute, and what
     * came of it; L2, routed after the start, says nothing of it */
    CHECK_CONTAINS(o.json.data, "\"at\":\"2026-11-02T09:01:00Z\",\"lead\":\"L1\",\"action\":\"expired\","
                                "\"agent\":\"ann\",\"rule\":\"r\",\"pool\":\"desk\",\"strategy\":\"top_down\","
                                "\"why\":{\"reason\":\"offer_timeout\",\"detail\":\"attempt 1 of 2 (rule r: "
                                "offer.attempts); deadline 2026-11-02T09:00:03Z passed while the server was "
                                "stopped: acted on at its start\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"offered\",\"agent\":\"ben\"");
    CHECK(strstr(strstr(o.json.data, "\"lead\":\"L2\""), "server was stopped") == NULL);
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_CATCH_UP_ANSWER, &o);
    CHECK_CONTAINS(o.json.data, "\"at\":\"2026-11-02T09:01:00Z\",\"action\":\"agent_away\",\"agent\":\"ann\"");
    run_release(&o);
}

/* What an admin needs to read a lead's history: an expired offer says
 * which of the rule's attempts it was (after the last, a ready ben does
 * not get L1: the fallback holds it); a lead nobody may have again says
 * its agents are kept from it, not that nobody was there; a recycle says
 * what it waited for. */
TEST(explanations_name_attempts_exclusions_and_recycles) {
    const char *offers = "agents: [{id: ann}, {id: ben}]\n"
                         "pools: {p: [ann, ben]}\n"
                         "rules: [{name: r, pool: p, strategy: top_down, offer: {timeout: 20s, attempts: 1},"
                         " fallback: hold}]\n";
    run_out o;
    run_with(offers, LEAD("L1", "09:00:00") T("09:01:00"), 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann held");
    CHECK_CONTAINS(o.json.data, "\"action\":\"expired\",\"agent\":\"ann\",\"rule\":\"r\",\"pool\":\"p\","
                                "\"strategy\":\"top_down\",\"why\":{\"reason\":\"offer_timeout\",\"detail\":"
                                "\"attempt 1 of 1 (rule r: offer.attempts): the rule's fallback takes the lead\"}");
    run_release(&o);
    const char *solo = "agents: [{id: ann}]\n"
                       "pools: {p: [ann]}\n"
                       "rules: [{name: r, pool: p, strategy: top_down, recycle: {after: 1h}}]\n";
    run_with(solo, LEAD("L1", "09:00:00") "{\"type\":\"release\",\"lead\":\"L1\"}\n"
                   LEAD("L2", "09:00:00") T("10:00:00"), 0, &o);
    CHECK_EQ_STR(o.trace.data, "assigned:ann released:ann unrouted assigned:ann recycled:ann unrouted");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"unrouted\",\"why\":{\"reason\":"
                                "\"no_eligible_agent\",\"detail\":\"every rule that matched found nobody eligible "
                                "and fell through; 1 agent had this lead before and may not have it again (1 "
                                "released it)\"}");
    CHECK_CONTAINS(o.json.data, "\"action\":\"recycled\",\"agent\":\"ann\",\"rule\":\"r\",\"pool\":\"p\","
                                "\"strategy\":\"top_down\",\"why\":{\"reason\":\"recycle\",\"detail\":\"no "
                                "progress of recycle.unless within 3600 s of the assignment (rule r: "
                                "recycle.after)\"}");
    run_release(&o);
    /* a lead its fallback queued is offered again as agents free up: each
     * such offer is past the rule's attempts, not "attempt 2 of 1" */
    const char *queued = "agents: [{id: ann}, {id: ben}, {id: cat}]\n"
                         "pools: {p: [ann, ben, cat]}\n"
                         "rules: [{name: r, pool: p, strategy: top_down, offer: {timeout: 1m, attempts: 1},"
                         " fallback: queue}]\n";
    run_with(queued, LEAD("L1", "09:00:00") T("09:01:00") T("09:02:00") T("09:03:00"), 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann queued offered:ben expired:ben queued "
                               "offered:cat expired:cat queued");
    CHECK_CONTAINS(o.json.data, "\"agent\":\"cat\",\"rule\":\"r\",\"pool\":\"p\",\"strategy\":\"top_down\","
                                "\"why\":{\"reason\":\"offer_timeout\",\"detail\":\"an offer after the rule's 1 "
                                "attempt (rule r: offer.attempts): the rule's fallback takes the lead\"}");
    CHECK(strstr(o.json.data, "attempt 2 of") == NULL);
    run_release(&o);
    /* a rule's name of 256 bytes is never cut, in the middle of a
     * character or at all */
    char name[257], cfg[1024], want[600];
    name[0] = 'r';
    for (int i = 1; i < 255; i += 2) memcpy(name + i, "\xc3\xa9", 2);
    name[255] = 'z';
    name[256] = '\0';
    snprintf(cfg, sizeof cfg, "agents: [{id: ann}]\npools: {p: [ann]}\n"
             "rules: [{name: \"%s\", pool: p, strategy: top_down, recycle: {after: 1h, unless: []}}]\n", name);
    run_with(cfg, LEAD("L1", "09:00:00") T("10:00:00"), 0, &o);
    snprintf(want, sizeof want, "\"detail\":\"still assigned 3600 s after the assignment (rule %s: "
             "recycle.after, no recycle.unless)\"}", name);
    CHECK_CONTAINS(o.json.data, want);
    run_release(&o);
    /* a lead nobody had says nothing of it */
    const char *away = "agents: [{id: ann, status: away}]\npools: {p: [ann]}\n"
                       "rules: [{name: r, pool: p, strategy: top_down}]\n";
    run_with(away, LEAD("L1", "09:00:00"), 0, &o);
    CHECK_CONTAINS(o.json.data, "\"detail\":\"every rule that matched found nobody eligible and fell through\"}");
    run_release(&o);
}

/* A lead that escalates to a wider tier where nobody is ready leaves its
 * rule (`fallback: next`): the later rule that queues it routes it as its
 * own and says no_eligible_agent, not `escalated` (it never widened
 * there); the expiry of the seniors' offer still says `escalated`. */
TEST(a_later_rule_after_an_escalation_says_no_eligible_agent) {
    const char *cfg = "agents: [{id: ann}, {id: ben, status: away}, {id: cat, status: away}]\n"
                      "pools: {seniors: [ann], juniors: [ben], rest: [cat]}\n"
                      "rules: [{name: hot, tiers: [seniors, juniors], strategy: top_down, offer: {timeout: 1h},"
                      " escalate_after: 10m},"
                      " {name: catchall, pool: rest, strategy: top_down, fallback: queue}]\n";
    run_out o;
    run_with(cfg, LEAD("L1", "09:00:00") T("09:30:00"), 0, &o);
    CHECK_CONTAINS(o.json.data, "\"action\":\"expired\",\"agent\":\"ann\",\"rule\":\"hot\","
                                "\"pool\":\"seniors\",\"strategy\":\"top_down\",\"why\":{\"reason\":\"escalated\"");
    CHECK_CONTAINS(o.json.data, "\"action\":\"queued\",\"rule\":\"catchall\",\"pool\":\"rest\","
                                "\"strategy\":\"top_down\",\"why\":{\"reason\":\"no_eligible_agent\"");
    run_release(&o);
}

/* A broadcast that expires names its agents as a list, even when one is
 * left (the others declined), as its offer did. */
TEST(an_expired_broadcast_names_its_agents_as_a_list) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: broadcast, offer: {timeout: 5m}, fallback: hold}]\n";
    run_out o;
    run_with(cfg, LEAD("L1", "10:00:00") DECLINE("a", "10:01:00") T("10:05:00"), 0, &o);
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"expired\",\"agents\":[\"b\"]");
    run_release(&o);
}

/* A claim of a lead that is already the agent's changes nothing and says
 * nothing (a claim sent again after its answer was lost), as an accept;
 * another agent's claim is refused. */
TEST(a_claim_of_ones_own_lead_is_a_no_op) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: open_pool}]\n";
    const char *ev = LEAD("L1", "10:00:00") EV("claim", "L1", "a", "10:01:00")
                     EV("claim", "L1", "a", "10:02:00") EV("accept", "L1", "a", "10:03:00")
                     EV("claim", "L1", "b", "10:04:00");
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "queued claimed:a claim_refused:b");
    run_release(&o);
}

/* A lead's deadline and an agent's shift end at one instant: the shift
 * ends first, so the recycled lead does not go to an agent just off
 * shift (top_down's first member), as a new lead of that instant does
 * not. Journals from before replay as made: there ann got it. */
TEST(an_agents_edge_goes_before_a_leads_deadline_of_the_same_instant) {
    const char *cfg = "agents: [{id: ann, schedule: {timezone: UTC, hours: {daily: '10:05-11:00'}}},"
                      " {id: ben}, {id: cat}]\n"
                      "pools: {team: [ann, ben, cat]}\n"
                      "rules: [{name: r, pool: team, strategy: top_down, recycle: {after: 1h}}]\n";
    const char *ev = LEAD("L1", "10:00:00") T("10:06:00") LEAD("L9", "11:00:00") T("11:30:00");
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "assigned:ben recycled:ben assigned:cat assigned:ben");
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_TIMER_ORDER, &o);
    CHECK_EQ_STR(o.trace.data, "assigned:ben recycled:ben assigned:ann assigned:ben");
    run_release(&o);
}

/* Three agents whose shift starts at one instant: the leads that waited
 * for them go round robin among the three, not all to the first. */
TEST(agents_back_at_one_instant_share_the_waiting_leads) {
    const char *cfg = "agents: [{id: ann, schedule: {timezone: UTC, hours: {daily: '09:00-17:00'}}},"
                      " {id: ben, schedule: {timezone: UTC, hours: {daily: '09:00-17:00'}}},"
                      " {id: cat, schedule: {timezone: UTC, hours: {daily: '09:00-17:00'}}}]\n"
                      "pools: {team: [ann, ben, cat]}\n"
                      "rules: [{name: rr, pool: team, strategy: round_robin, fallback: queue}]\n";
    const char *ev = LEAD("L1", "06:00:00") LEAD("L2", "07:00:00") LEAD("L3", "08:00:00") T("10:00:00");
    run_out o;
    run_with(cfg, ev, 0, &o);
    CHECK_EQ_STR(o.trace.data, "queued queued queued assigned:ann assigned:ben assigned:cat");
    run_release(&o);
    run_with(cfg, ev, LR_LEGACY_TIMER_ORDER, &o);
    CHECK_EQ_STR(o.trace.data, "queued queued queued assigned:ann assigned:ann assigned:ann");
    run_release(&o);
}

/* An offer that ran out, whose fallback is another rule that holds the
 * lead: the hold still says why (offer_expired), as a hold of the rule's
 * own would, not no_eligible_agent. */
TEST(a_fallback_rule_that_holds_after_an_offer_says_the_cause) {
    const char *cfg = "agents: [{id: ann}, {id: ben, status: away}]\npools: {p: [ann], q: [ben]}\n"
                      "rules: [{name: first, pool: p, strategy: top_down, offer: {timeout: 1m, attempts: 1},"
                      " fallback: second},"
                      " {name: second, when: 'false', pool: q, strategy: top_down, fallback: hold}]\n";
    run_out o;
    run_with(cfg, LEAD("L1", "09:00:00") T("09:05:00"), 0, &o);
    CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann held");
    CHECK_CONTAINS(o.json.data, "\"action\":\"held\",\"rule\":\"second\",\"pool\":\"q\","
                                "\"strategy\":\"top_down\",\"why\":{\"reason\":\"offer_expired\"");
    run_release(&o);
}

TEST(sla_escalate_moves_the_lead_to_the_next_tier) {
    const char *cfg = "agents: [{id: s1}, {id: j1}]\npools: {seniors: [s1], juniors: [j1]}\n"
                      "rules: [{name: r, tiers: [seniors, juniors], strategy: round_robin,"
                      " sla: {contact_within: 15m, then: escalate}}]\n";
    CHECK_EQ_STR(trace_of(cfg, LEAD("L1", "10:00:00") T("10:15:00")),
                 "assigned:s1 reassigned:s1 assigned:j1");
}

TEST(agent_back_from_absence_is_not_flooded_to_catch_up) {
    const char *base = "agents: [{id: a, status: away}, {id: b}]\n"
                       "pools: {p: {agents: [a, b], catch_up: %s}}\n"
                       "rules: [{name: r, pool: p, strategy: fewest_assigned, window: 1h}]\n";
    const char *ev = LEAD("L1", "10:00:00") LEAD("L2", "10:01:00") LEAD("L3", "10:02:00")
                     LEAD("L4", "10:03:00")
                     "{\"type\":\"agent\",\"agent\":\"a\",\"status\":\"available\",\"at\":\"2026-03-02T10:04:00Z\"}\n"
                     LEAD("L5", "10:05:00") LEAD("L6", "10:06:00") LEAD("L7", "10:07:00")
                     LEAD("L8", "10:08:00");
    const char *modes[] = { "average", "none", "full" };
    /* b has 4. average: a counts as 2 -> a a a(tie: pool order) b;
     * none: a counts as 4 -> a(tie) b a b; full: a counts 0 -> a a a a */
    const char *want[] = {
        "assigned:b assigned:b assigned:b assigned:b assigned:a assigned:a assigned:a assigned:b",
        "assigned:b assigned:b assigned:b assigned:b assigned:a assigned:b assigned:a assigned:b",
        "assigned:b assigned:b assigned:b assigned:b assigned:a assigned:a assigned:a assigned:a",
    };
    for (int i = 0; i < 3; i++) {
        char cfg[512];
        snprintf(cfg, sizeof cfg, base, modes[i]);
        CHECK_EQ_STR(trace_of(cfg, ev), want[i]);
    }
}

int main(void) {
    RUN(offer_expires_and_moves_to_the_next_candidate_then_falls_back);
    RUN(accepted_offer_is_assigned_and_holds_the_slot);
    RUN(offer_reserves_the_slot_while_it_runs);
    RUN(declined_offer_goes_to_the_next_candidate);
    RUN(agent_who_lets_offers_expire_is_set_away);
    RUN(broadcast_offer_expires_to_the_fallback);
    RUN(an_offer_says_when_it_expires);
    RUN(an_offer_an_escalation_ends_first_expires_then);
    RUN(sla_without_contact_reassigns_to_someone_else);
    RUN(sla_notify_only_reports_the_breach);
    RUN(queued_lead_past_max_wait_falls_back);
    RUN(stalled_lead_is_recycled_to_the_named_rule);
    RUN(off_shift_agent_is_skipped_across_both_dst_changes);
    RUN(out_of_office_agent_is_skipped_and_comes_back);
    RUN(day_cap_resets_at_the_agents_own_midnight);
    RUN(shift_start_gives_out_waiting_leads);
    RUN(rules_test_the_local_hour_of_a_zone);
    RUN(tiered_rule_widens_to_the_next_tier_in_time);
    RUN(escalation_counts_from_the_leads_entry_into_its_tier);
    RUN(a_broadcast_declined_by_all_stays_in_its_tier);
    RUN(next_across_pools_of_different_orders_takes_the_oldest_head);
    RUN(a_decline_breaks_a_row_of_expiries_and_broadcasts_do_not_count);
    RUN(a_decline_of_an_assigned_lead_breaks_a_row_of_expiries);
    RUN(a_later_rule_after_an_escalation_says_no_eligible_agent);
    RUN(an_expired_broadcast_names_its_agents_as_a_list);
    RUN(a_claim_of_ones_own_lead_is_a_no_op);
    RUN(an_agents_edge_goes_before_a_leads_deadline_of_the_same_instant);
    RUN(agents_back_at_one_instant_share_the_waiting_leads);
    RUN(a_fallback_rule_that_holds_after_an_offer_says_the_cause);
    RUN(a_recycled_lead_escalates_from_its_recycling);
    RUN(sla_escalate_moves_the_lead_to_the_next_tier);
    RUN(agent_back_from_absence_is_not_flooded_to_catch_up);
    RUN(a_catch_up_fires_past_deadlines_before_waiting_leads_go_out);
    RUN(an_offer_that_ran_out_during_a_stop_sets_nobody_away);
    RUN(explanations_name_attempts_exclusions_and_recycles);
    return test_report();
}
