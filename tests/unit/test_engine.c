/* test_engine.c -- the engine's life cycle through the real config loader
 * and event parser: matching and explanations, fallbacks, waiting leads
 * going out when capacity frees, releases, hand-offs, caps, refusals. */
#include "harness.h"
#include "test.h"

#include <malloc.h>
#ifdef __SANITIZE_ADDRESS__
size_t __sanitizer_get_current_allocated_bytes(void);     /* libasan's; gcc has no header for it */
#endif

#define TERR "agents:\n" \
    "  - {id: alice, attributes: {territories: [CA, NV]}}\n" \
    "  - {id: bob, attributes: {territories: [TX]}}\n" \
    "  - {id: carol, attributes: {territories: [CA]}, status: away}\n" \
    "  - {id: dave, attributes: {territories: [CA]}, capacity: 0}\n" \
    "pools: {west: [alice, bob, carol, dave]}\n"

TEST(match_explains_every_candidate_in_pool_order) {
    const char *cfg = TERR "rules: [{name: hot, pool: west, strategy: round_robin, "
                           "match: {territories: state}}]\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\",\"state\":\"CA\"}\n", 1, true, &o));
    CHECK_EQ_STR(o.json.data,
                 "{\"at\":\"1970-01-01T00:00:00Z\",\"lead\":\"L1\",\"action\":\"assigned\","
                 "\"agent\":\"alice\",\"rule\":\"hot\",\"pool\":\"west\",\"strategy\":\"round_robin\","
                 "\"why\":{\"candidates\":[{\"agent\":\"alice\",\"chosen\":true},"
                 "{\"agent\":\"bob\",\"skipped\":\"no_match\"},"
                 "{\"agent\":\"carol\",\"skipped\":\"away\"},"
                 "{\"agent\":\"dave\",\"skipped\":\"at_capacity\"}]}}\n");
    run_release(&o);
}

TEST(match_with_no_value_matches_nobody_and_falls_through) {
    const char *cfg = TERR "rules: [{name: hot, pool: west, strategy: round_robin, "
                           "match: {territories: state}},\n"
                           "        {name: any, pool: west, strategy: round_robin}]\n";
    CHECK_EQ_STR(trace_of(cfg, "{\"id\":\"L1\"}\n{\"id\":\"L2\",\"state\":\"TX\"}\n"),
                 "assigned:alice assigned:bob");
}

TEST(eligible_but_not_chosen_is_marked_eligible) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\"}\n", 1, true, &o));
    CHECK_CONTAINS(o.json.data, "[{\"agent\":\"a\",\"chosen\":true},{\"agent\":\"b\",\"eligible\":true}]");
    run_release(&o);
}

TEST(explain_limit_lists_first_members_plus_chosen_and_pool_size) {
    const char *cfg = "explain_limit: 2\n"
                      "agents: [{id: a, status: away}, {id: b, status: away}, {id: c, status: away}, {id: d}]\n"
                      "pools: {p: [a, b, c, d]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\"}\n", 1, true, &o));
    CHECK_CONTAINS(o.json.data, "\"why\":{\"candidates\":[{\"agent\":\"a\",\"skipped\":\"away\"},"
                                "{\"agent\":\"b\",\"skipped\":\"away\"},"
                                "{\"agent\":\"d\",\"chosen\":true}],\"pool_size\":4}");
    run_release(&o);
}

TEST(no_explanation_when_explain_is_off) {
    const char *cfg = "agents: [{id: a}]\npools: {p: [a]}\nrules: [{name: r, pool: p, strategy: round_robin}]\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\"}\n", 1, false, &o));
    CHECK_EQ_STR(o.json.data, "{\"at\":\"1970-01-01T00:00:00Z\",\"lead\":\"L1\",\"action\":\"assigned\","
                              "\"agent\":\"a\",\"rule\":\"r\",\"pool\":\"p\",\"strategy\":\"round_robin\"}\n");
    run_release(&o);
}

TEST(fallback_queue_waits_and_goes_out_when_capacity_frees) {
    const char *cfg = "agents: [{id: a, capacity: 1}, {id: b, capacity: 1}]\npools: {p: {agents: [a, b], order: fifo}}\n"
                      "rules: [{name: r, pool: p, strategy: least_busy, fallback: queue}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n{\"id\":\"L3\"}\n{\"id\":\"L4\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L2\",\"status\":\"lost\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a assigned:b queued queued closed:b assigned:b closed:a assigned:a");
    /* L3 (first in) goes to b, then L4 to a */
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L3\",\"action\":\"assigned\",\"agent\":\"b\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L4\",\"action\":\"assigned\",\"agent\":\"a\"");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"capacity_freed\"");
    run_release(&o);
}

TEST(fallback_queue_goes_out_when_agent_comes_back) {
    const char *cfg = "agents: [{id: a, status: away}]\npools: {p: [a]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, fallback: queue}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"type\":\"agent\",\"agent\":\"a\",\"status\":\"available\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev), "queued assigned:a");
}

TEST(fallback_next_rule_and_hold_and_unrouted) {
    const char *cfg = "agents: [{id: a, status: away}, {id: b}]\npools: {pa: [a], pb: [b]}\n"
                      "rules:\n"
                      "  - {name: first, when: 'source == \"x\"', pool: pa, strategy: round_robin, fallback: second}\n"
                      "  - {name: second, when: 'false', pool: pb, strategy: round_robin}\n"
                      "  - {name: held, when: 'source == \"y\"', pool: pa, strategy: top_down, fallback: hold}\n"
                      "  - {name: last, when: 'source == \"z\"', pool: pa, strategy: top_down}\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\",\"source\":\"x\"}\n{\"id\":\"L2\",\"source\":\"y\"}\n"
                          "{\"id\":\"L3\",\"source\":\"z\"}\n{\"id\":\"L4\"}\n", 1, false, &o));
    /* x: first finds nobody, falls back to rule `second` (its `when` is not
     * tested) -> b; y: held; z: last finds nobody, next: no more rules */
    CHECK_EQ_STR(o.trace.data, "assigned:b held unrouted unrouted");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"b\",\"rule\":\"second\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L3\",\"action\":\"unrouted\",\"why\":{\"reason\":\"no_eligible_agent\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L4\",\"action\":\"unrouted\",\"why\":{\"reason\":\"no_rule_matched\"");
    run_release(&o);
}

TEST(ignore_capacity_pushes_past_capacity) {
    const char *cfg = "agents: [{id: a, capacity: 1}]\npools: {p: [a]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, ignore_capacity: true}]\n";
    CHECK_EQ_STR(trace_of(cfg, leads_(3, "")), "assigned:a assigned:a assigned:a");
}

TEST(release_routes_again_never_to_the_same_agent) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down, fallback: hold}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"type\":\"release\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"a\"}\n"
                     "{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"b\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a released:a assigned:b rejected:a released:b held");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"not_your_lead\"");
    run_release(&o);
}

TEST(decline_of_assigned_lead_releases_it) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    CHECK_EQ_STR(trace_of(cfg, "{\"id\":\"L1\"}\n{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"a\"}\n"),
                 "assigned:a released:a assigned:b");
}

/* An agent the lead is never given to again is skipped with how it lost
 * the lead (the decision that took it from them has the same name), and
 * an accept it sends too late is told that. */
TEST(skips_say_how_the_agent_lost_the_lead) {
    const char *cfg =
        "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
        "rules:\n"
        "  - {name: offer, when: 'source == \"o\"', pool: p, strategy: top_down,"
        " offer: {timeout: 1m, attempts: 2}}\n"
        "  - {name: sla, when: 'source == \"s\"', pool: p, strategy: top_down,"
        " sla: {contact_within: 1m, then: reassign}}\n"
        "  - {name: recycle, when: 'source == \"c\"', pool: p, strategy: top_down,"
        " recycle: {after: 1m, to: recycle}}\n"
        "  - {name: r, pool: p, strategy: top_down}\n";
    const char *ev =
        "{\"id\":\"EXP\",\"source\":\"o\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
        "{\"id\":\"DEC\",\"source\":\"o\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
        "{\"type\":\"decline\",\"lead\":\"DEC\",\"agent\":\"a\",\"at\":\"2026-11-02T09:00:10Z\"}\n"
        "{\"type\":\"accept\",\"lead\":\"DEC\",\"agent\":\"a\",\"at\":\"2026-11-02T09:00:10Z\"}\n"
        "{\"id\":\"REL\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
        "{\"type\":\"release\",\"lead\":\"REL\",\"agent\":\"a\",\"at\":\"2026-11-02T09:00:10Z\"}\n"
        "{\"id\":\"ADE\",\"at\":\"2026-11-02T09:00:20Z\"}\n"
        "{\"type\":\"decline\",\"lead\":\"ADE\",\"agent\":\"a\",\"at\":\"2026-11-02T09:00:30Z\"}\n"
        "{\"id\":\"SLA\",\"source\":\"s\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
        "{\"id\":\"REC\",\"source\":\"c\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
        "{\"type\":\"tick\",\"at\":\"2026-11-02T09:01:30Z\"}\n"
        "{\"type\":\"accept\",\"lead\":\"EXP\",\"agent\":\"a\",\"at\":\"2026-11-02T09:01:40Z\"}\n"
        "{\"type\":\"accept\",\"lead\":\"DEC\",\"agent\":\"a\",\"at\":\"2026-11-02T09:01:40Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, true, &o));
    static const char *const want[][2] = {
        { "EXP", "\"action\":\"offered\",\"agent\":\"b\"" },
        { "DEC", "\"action\":\"offered\",\"agent\":\"b\"" },
        { "REL", "\"action\":\"assigned\",\"agent\":\"b\"" },
        { "ADE", "\"action\":\"assigned\",\"agent\":\"b\"" },
        { "SLA", "\"action\":\"assigned\",\"agent\":\"b\"" },
        { "REC", "\"action\":\"assigned\",\"agent\":\"b\"" },
    };
    static const char *const skip[] = { "expired", "declined", "released", "declined",
                                         "reassigned", "recycled" };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char lead[64], cands[128];
        snprintf(lead, sizeof lead, "\"lead\":\"%s\",%s", want[i][0], want[i][1]);
        snprintf(cands, sizeof cands, "[{\"agent\":\"a\",\"skipped\":\"%s\"},"
                 "{\"agent\":\"b\",\"chosen\":true}]", skip[i]);
        const char *d = strstr(o.json.data, lead);
        CHECK(d != NULL);
        if (!d) continue;
        const char *eol = strchr(d, '\n');
        const char *c = strstr(d, cands);
        if (!(c && (!eol || c < eol))) printf("  %s: want %s in %.*s\n", want[i][0], cands,
                                              eol ? (int)(eol - d) : (int)strlen(d), d);
        CHECK(c && (!eol || c < eol));
    }
    CHECK_CONTAINS(o.json.data, "\"lead\":\"EXP\",\"action\":\"claim_refused\",\"agent\":\"a\","
                                "\"rule\":\"offer\",\"pool\":\"p\",\"strategy\":\"top_down\","
                                "\"why\":{\"reason\":\"not_offered\",\"detail\":\"this agent's offer "
                                "of the lead expired before: it is not given to this agent again\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"DEC\",\"action\":\"claim_refused\",\"agent\":\"a\","
                                "\"rule\":\"offer\",\"pool\":\"p\",\"strategy\":\"top_down\","
                                "\"why\":{\"reason\":\"not_offered\",\"detail\":\"this agent declined "
                                "the lead before: it is not given to this agent again\"}");
    /* a declined, b let its offer expire: the lead is unrouted, and says so */
    CHECK_CONTAINS(o.json.data, "\"lead\":\"DEC\",\"action\":\"unrouted\",\"why\":{\"reason\":"
                                "\"no_eligible_agent\",\"detail\":\"its rule let it go (its wait or its "
                                "offers ran out, or it was declined) and no rule after it found anyone "
                                "eligible; 2 agents had this lead before and may not have it again (1 "
                                "declined it, 1 let its offer expire)\"}");
    /* once nobody holds the lead, the same accept is a plain rejection */
    CHECK_CONTAINS(o.json.data, "\"lead\":\"DEC\",\"action\":\"rejected\",\"agent\":\"a\","
                                "\"why\":{\"reason\":\"not_offered\",\"detail\":\"this agent declined "
                                "the lead before: it is not given to this agent again\"}");
    run_release(&o);
}

/* An admin's assign gives a lead back to an agent it excludes;
 * when the agent loses it again, the last way counts (skip and
 * not_offered detail). */
TEST(the_last_way_an_agent_lost_a_lead_counts) {
    const char *cfg = "agents: [{id: a}, {id: b}, {id: c}]\npools: {p: [a, b, c]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down}]\n";
    const char *ev =
        "{\"id\":\"L1\"}\n"
        "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"a\"}\n"      /* a: declined; -> b */
        "{\"type\":\"assign\",\"lead\":\"L1\",\"agent\":\"a\"}\n"       /* admin: back to a */
        "{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"a\"}\n"      /* a: released; -> b */
        "{\"type\":\"accept\",\"lead\":\"L1\",\"agent\":\"a\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, true, &o));
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"b\",\"rule\":\"r\","
                                "\"pool\":\"p\",\"strategy\":\"top_down\",\"why\":{\"reason\":\"declined\","
                                "\"candidates\":[{\"agent\":\"a\",\"skipped\":\"declined\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"b\",\"rule\":\"r\","
                                "\"pool\":\"p\",\"strategy\":\"top_down\",\"why\":{\"reason\":\"released\","
                                "\"candidates\":[{\"agent\":\"a\",\"skipped\":\"released\"}");
    CHECK_CONTAINS(o.json.data, "\"detail\":\"this agent released the lead before: it is not given "
                                "to this agent again\"");
    run_release(&o);
}

/* An escalation ends an offer (expired); a broadcast member who
 * declines (declined) and one whose broadcast expired (expired). */
TEST(escalation_and_broadcast_skips) {
    const char *cfg =
        "agents: [{id: a}, {id: b}, {id: c}, {id: d}]\n"
        "pools: {one: [a], two: [b], all: [a, b, c], more: [a, b, c, d]}\n"
        "rules:\n"
        "  - {name: t, when: 'source == \"t\"', tiers: [one, two], strategy: top_down,"
        " offer: {timeout: 10m}, escalate_after: 1m, fallback: queue}\n"
        "  - {name: bc, when: 'source == \"b\"', pool: all, strategy: broadcast, offer: {timeout: 1m}}\n"
        "  - {name: r, pool: more, strategy: top_down}\n";
    const char *ev =
        "{\"id\":\"ESC\",\"source\":\"t\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
        "{\"id\":\"BC\",\"source\":\"b\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
        "{\"type\":\"decline\",\"lead\":\"BC\",\"agent\":\"a\",\"at\":\"2026-11-02T09:00:10Z\"}\n"
        "{\"type\":\"tick\",\"at\":\"2026-11-02T09:01:30Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, true, &o));
    CHECK_CONTAINS(o.json.data, "\"lead\":\"ESC\",\"action\":\"expired\",\"agent\":\"a\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"ESC\",\"action\":\"offered\",\"agent\":\"b\",\"rule\":\"t\","
                                "\"pool\":\"one+two\",\"strategy\":\"top_down\",\"expires_at\":\"2026-11-02T09:11:00Z\","
                                "\"why\":{\"reason\":\"escalated\","
                                "\"candidates\":[{\"agent\":\"a\",\"skipped\":\"expired\"}");
    /* the broadcast's fallback (next): rule r, a declined, b and c let it expire */
    CHECK_CONTAINS(o.json.data, "\"candidates\":[{\"agent\":\"a\",\"skipped\":\"declined\"},"
                                "{\"agent\":\"b\",\"skipped\":\"expired\"},{\"agent\":\"c\",\"skipped\":\"expired\"},"
                                "{\"agent\":\"d\",\"chosen\":true}]");
    run_release(&o);
}

TEST(qualified_lead_is_handed_to_closers) {
    const char *cfg = "agents: [{id: sam, capacity: 1}, {id: cleo}]\npools: {sdr: [sam], closers: [cleo]}\n"
                      "rules:\n"
                      "  - {name: close, when: 'stage == \"qualified\"', pool: closers, strategy: round_robin}\n"
                      "  - {name: qualify, pool: sdr, strategy: round_robin, fallback: queue}\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"contacted\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"qualified\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    /* sam's slot frees on the hand-off, so the waiting L2 goes to sam */
    CHECK_EQ_STR(o.trace.data, "assigned:sam queued assigned:cleo assigned:sam");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"cleo\",\"rule\":\"close\","
                                "\"pool\":\"closers\",\"strategy\":\"round_robin\",\"why\":{\"reason\":\"qualified\"}");
    run_release(&o);
}

TEST(hourly_cap_skips_agent_until_next_hour) {
    const char *cfg = "agents: [{id: a, caps: {hour: 2}}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *ev = "{\"id\":\"L1\",\"received_at\":\"2026-03-01T10:00:00Z\"}\n"
                     "{\"id\":\"L2\",\"received_at\":\"2026-03-01T10:10:00Z\"}\n"
                     "{\"id\":\"L3\",\"received_at\":\"2026-03-01T10:20:00Z\"}\n"
                     "{\"id\":\"L4\",\"received_at\":\"2026-03-01T11:00:00Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, true, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a assigned:a assigned:b assigned:a");
    CHECK_CONTAINS(o.json.data, "{\"agent\":\"a\",\"skipped\":\"cap_hour\"},{\"agent\":\"b\",\"chosen\":true}");
    run_release(&o);
}

TEST(daily_cap_releases_waiting_lead_at_midnight_on_tick) {
    const char *cfg = "agents: [{id: a, caps: {day: 1}}]\npools: {p: [a]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, fallback: queue}]\n";
    const char *ev = "{\"id\":\"L1\",\"received_at\":\"2026-03-01T22:00:00Z\"}\n"
                     "{\"id\":\"L2\",\"received_at\":\"2026-03-01T23:00:00Z\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-03-02T00:30:00Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a queued assigned:a");
    /* it goes out at midnight, when the cap window ends, not at the tick */
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-02T00:00:00Z\",\"lead\":\"L2\",\"action\":\"assigned\"");
    run_release(&o);
}

TEST(refusals_say_why_and_change_nothing) {
    const char *cfg = "agents: [{id: a}]\npools: {p: [a]}\nrules: [{name: r, pool: p, strategy: round_robin}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"id\":\"L1\"}\n"
                     "{\"type\":\"agent\",\"agent\":\"zed\",\"status\":\"away\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"nope\",\"status\":\"won\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"value\":1200}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"lost\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:a rejected rejected:zed rejected closed:a rejected");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"duplicate_lead\"");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"unknown_agent\"");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"unknown_lead\"");
    CHECK_CONTAINS(o.json.data, "\"action\":\"closed\",\"agent\":\"a\",\"rule\":\"r\",\"pool\":\"p\","
                                "\"strategy\":\"round_robin\",\"status\":\"won\"");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"lead_closed\"");
    run_release(&o);
}

TEST(clock_never_moves_backwards) {
    const char *cfg = "agents: [{id: a}]\npools: {p: [a]}\nrules: [{name: r, pool: p, strategy: round_robin}]\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\",\"received_at\":\"2026-03-01T10:00:00Z\"}\n"
                          "{\"id\":\"L2\",\"received_at\":\"2026-03-01T09:00:00Z\"}\n", 1, false, &o));
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-03-01T10:00:00Z\",\"lead\":\"L2\"");
    run_release(&o);
}

TEST(agent_stats_count_open_and_closed) {
    const char *yaml = "agents: [{id: a}]\npools: {p: [a]}\nrules: [{name: r, pool: p, strategy: round_robin}]\n";
    lr_config *cfg = NULL;
    lr_config_errors errs = { 0 };
    CHECK_EQ_INT(lr_config_load_string(yaml, strlen(yaml), "t", &cfg, &errs), LR_OK);
    lr_config_errors_release(&errs);
    lr_engine *eng = NULL;
    lr_engine_opts opts = { 0, 0, false };
    CHECK_EQ_INT(lr_engine_create(cfg, &opts, &eng), LR_OK);
    const char *lines[] = { "{\"id\":\"L1\"}", "{\"id\":\"L2\"}",
                            "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\"}" };
    for (int i = 0; i < 3; i++) {
        lr_event ev;
        char err[128];
        CHECK_EQ_INT(lr_event_parse(lines[i], strlen(lines[i]), &ev, err, sizeof err), LR_OK);
        CHECK_EQ_INT(lr_engine_apply(eng, &ev, NULL, NULL), LR_OK);
        lr_event_release(&ev);
    }
    lr_agent_stats st;
    CHECK_EQ_INT(lr_engine_agent_stats(eng, "a", &st), LR_OK);
    CHECK_EQ_INT(st.open, 1);
    CHECK_EQ_INT(st.assigned, 2);
    CHECK_EQ_INT(st.won, 1);
    CHECK_EQ_INT(st.closed, 1);
    CHECK_EQ_INT(lr_engine_agent_stats(eng, "zed", &st), LR_ENOENT);
    lr_engine_stats es;
    lr_engine_get_stats(eng, &es);
    CHECK_EQ_INT(es.leads, 2);
    CHECK_EQ_INT(es.open, 1);
    CHECK_EQ_INT(es.decisions[LR_ACTION_ASSIGNED], 2);
    CHECK_EQ_INT(es.decisions[LR_ACTION_CLOSED], 1);
    lr_engine_destroy(eng);
    lr_config_free(cfg);
}

TEST(segments_share_rotation_per_match_value) {
    /* CA leads rotate among CA agents, TX leads among TX agents */
    const char *cfg = "agents:\n"
                      "  - {id: a, attributes: {t: [CA]}}\n  - {id: b, attributes: {t: [CA, TX]}}\n"
                      "  - {id: c, attributes: {t: [TX]}}\n"
                      "pools: {p: [a, b, c]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, match: {t: state}}]\n";
    const char *ev = "{\"id\":\"1\",\"state\":\"CA\"}\n{\"id\":\"2\",\"state\":\"TX\"}\n"
                     "{\"id\":\"3\",\"state\":\"CA\"}\n{\"id\":\"4\",\"state\":\"TX\"}\n"
                     "{\"id\":\"5\",\"state\":\"CA\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev), "assigned:a assigned:b assigned:b assigned:c assigned:a");
}

TEST(pull_claims_follow_pool_order_across_match_values) {
    const char *cfg = "agents: [{id: x, attributes: {languages: [en, es]}}]\n"
                      "pools: {p: {agents: [x], order: lifo}}\n"
                      "rules: [{name: r, pool: p, strategy: queue, match: {languages: fields.language}}]\n";
    const char *ev = "{\"id\":\"L1\",\"fields\":{\"language\":\"es\"}}\n"
                     "{\"id\":\"L2\",\"fields\":{\"language\":\"en\"}}\n"
                     "{\"id\":\"L3\",\"fields\":{\"language\":\"en\"}}\n"
                     "{\"type\":\"claim\",\"agent\":\"x\"}\n{\"type\":\"claim\",\"agent\":\"x\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"x\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    const char *l3 = strstr(o.json.data, "\"lead\":\"L3\",\"action\":\"claimed\"");
    const char *l2 = strstr(o.json.data, "\"lead\":\"L2\",\"action\":\"claimed\"");
    const char *l1 = strstr(o.json.data, "\"lead\":\"L1\",\"action\":\"claimed\"");
    CHECK(l3 && l2 && l1 && l3 < l2 && l2 < l1);
    run_release(&o);
}

TEST(waiting_leads_go_out_in_pool_order_across_match_values) {
    const char *cfg = "agents: [{id: x, capacity: 1, attributes: {languages: [en, es]}}]\n"
                      "pools: {p: {agents: [x], order: fifo}}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin, match: {languages: fields.language},"
                      " fallback: queue}]\n";
    const char *ev = "{\"id\":\"L0\",\"fields\":{\"language\":\"en\"}}\n"
                     "{\"id\":\"L1\",\"fields\":{\"language\":\"en\"}}\n"
                     "{\"id\":\"L2\",\"fields\":{\"language\":\"es\"}}\n"
                     "{\"type\":\"progress\",\"lead\":\"L0\",\"status\":\"won\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"x\"");
    CHECK(strstr(o.json.data, "\"lead\":\"L2\",\"action\":\"assigned\"") == NULL);
    run_release(&o);
}

TEST(returning_lead_finds_owner_while_any_same_contact_lead_is_open) {
    const char *cfg = "agents: [{id: ann}, {id: ben}]\npools: {p: [ann, ben]}\n"
                      "rules: [{name: own, pool: p, strategy: owner}, {name: rr, pool: p, strategy: round_robin}]\n";
    const char *ev = "{\"id\":\"L1\",\"phone\":\"555\"}\n{\"id\":\"L2\",\"phone\":\"555\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L2\",\"status\":\"lost\"}\n"
                     "{\"id\":\"L3\",\"phone\":\"555\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"lost\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L3\",\"status\":\"lost\"}\n"
                     "{\"id\":\"L4\",\"phone\":\"555\"}\n";
    /* L4: nobody open with that phone: round robin goes on to ben */
    CHECK_EQ_STR(trace_of(cfg, ev), "assigned:ann assigned:ann closed:ann assigned:ann "
                                    "closed:ann closed:ann assigned:ben");
}

/* A replay that builds no explanations leaves the engine as one that
 * does: the decisions after it, explanations included, are the same. The
 * stream mixes what an explanation looks up (the pool's part for a
 * lead's match values, made by the owner rule's explanation only), queues,
 * capacity, closes and agents going away and back. */
TEST(a_replay_without_explanations_ends_in_the_same_state) {
    const char *cfg =
        "agents:\n"
        "  - {id: a1, capacity: 4, attributes: {t: [CA, NV]}}\n"
        "  - {id: a2, capacity: 2, attributes: {t: [NV]}}\n"
        "  - {id: a3, capacity: 5, attributes: {t: [CA, TX]}}\n"
        "  - {id: a4, capacity: 3, attributes: {t: [TX]}}\n"
        "pools: {p: [a1, a2, a3, a4]}\n"
        "rules:\n"
        "  - {name: own, pool: p, strategy: owner, match: {t: state}}\n"
        "  - {name: rr, pool: p, strategy: round_robin, match: {t: state}, fallback: queue}\n";
    static char ev[1 << 16];
    size_t off = 0;
    static const char *const st[] = { "CA", "NV", "TX" };
    for (int i = 1; i <= 240; i++) {
        off += (size_t)snprintf(ev + off, sizeof ev - off,
                                "{\"id\":\"L%d\",\"state\":\"%s\",\"phone\":\"55%d\"}\n",
                                i, st[(i * 7) % 3], i % 3);
        if (i > 4 && (i - 4) % 40)          /* every fortieth lead stays open */
            off += (size_t)snprintf(ev + off, sizeof ev - off,
                                    "{\"type\":\"progress\",\"lead\":\"L%d\",\"status\":\"%s\"}\n",
                                    i - 4, i % 4 ? "won" : "lost");
        if (i % 17 == 0)
            off += (size_t)snprintf(ev + off, sizeof ev - off,
                                    "{\"type\":\"agent\",\"agent\":\"a%d\",\"status\":\"%s\"}\n",
                                    1 + (i / 17) % 4, (i / 17) % 2 ? "away" : "available");
    }
    run_out whole, plain, quiet;
    CHECK(run_engine(cfg, ev, 1, true, &whole));   /* what the replayed half holds */
    CHECK_CONTAINS(whole.json.data, "\"rule\":\"own\"");
    CHECK_CONTAINS(whole.json.data, "\"action\":\"queued\"");
    run_release(&whole);
    harness_replay_lines = 240;             /* about half the stream's 485 lines */
    harness_replaying = false;
    CHECK(run_engine(cfg, ev, 1, true, &plain));
    harness_replaying = true;
    CHECK(run_engine(cfg, ev, 1, true, &quiet));
    harness_replay_lines = 0;
    harness_replaying = false;
    CHECK(plain.json.len > 20000);
    CHECK_CONTAINS(plain.json.data, "\"candidates\":[");
    CHECK_CONTAINS(plain.json.data, "\"action\":\"assigned\"");
    CHECK_CONTAINS(plain.json.data, "\"action\":\"queued\"");
    CHECK_EQ_STR(quiet.json.data, plain.json.data);
    run_release(&plain);
    run_release(&quiet);
}

TEST(open_pool_claim_from_outside_the_pool_is_not_in_pool) {
    const char *cfg = "agents: [{id: a, attributes: {t: [CA]}}, {id: z, attributes: {t: [TX]}},"
                      " {id: b, attributes: {t: [TX]}}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: open_pool, match: {t: state}}]\n";
    const char *ev = "{\"id\":\"L1\",\"state\":\"CA\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"z\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"b\",\"lead\":\"L1\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_CONTAINS(o.json.data, "\"agent\":\"z\",\"rule\":\"r\",\"pool\":\"p\",\"strategy\":\"open_pool\","
                                "\"why\":{\"reason\":\"not_in_pool\"");
    CHECK_CONTAINS(o.json.data, "\"agent\":\"b\",\"rule\":\"r\",\"pool\":\"p\",\"strategy\":\"open_pool\","
                                "\"why\":{\"reason\":\"no_match\"");
    run_release(&o);
}

/* An agent who let a lead of an open pool go and claims it again is told
 * how it lost it, not that it cannot take a lead now. */
TEST(open_pool_claim_of_a_lead_let_go_says_how) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: open_pool}]\n";
    const char *ev = "{\"id\":\"L1\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"a\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"release\",\"agent\":\"a\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"a\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"b\",\"lead\":\"L1\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "queued claimed:a released:a queued claim_refused:a claimed:b");
    CHECK_CONTAINS(o.json.data, "\"action\":\"claim_refused\",\"agent\":\"a\",\"rule\":\"r\","
                                "\"pool\":\"p\",\"strategy\":\"open_pool\",\"why\":{\"reason\":"
                                "\"released\",\"detail\":\"this agent released the lead before: it is "
                                "not given to this agent again\"}");
    run_release(&o);
}

static int count_cb(const lr_decision *d, void *ud) {
    lr_buf *b = ud;
    lr_decision_write_json(d, b);
    lr_buf_putc(b, '\n');
    return 0;
}

static lr_engine *engine_on(const char *yaml, lr_config **cfg) {
    lr_config_errors errs = { 0 };
    if (lr_config_load_string(yaml, strlen(yaml), "t", cfg, &errs) != LR_OK) {
        for (size_t i = 0; i < errs.n; i++) printf("  %s\n", errs.msgs[i]);
        lr_config_errors_release(&errs);
        return NULL;
    }
    lr_config_errors_release(&errs);
    lr_engine *eng = NULL;
    lr_engine_opts opts = { 0, 0, false };
    return lr_engine_create(*cfg, &opts, &eng) == LR_OK ? eng : NULL;
}

/* The end of a test on ENG: its output OUT, the engine and its config. */
static void finish_engine(lr_engine *eng, lr_config *cfg, lr_buf *out) {
    lr_buf_release(out);
    lr_engine_destroy(eng);
    lr_config_free(cfg);
}

/* Switches ENG from *CFG to the config YAML with FLAGS (the old one freed,
 * *CFG the new one); the decisions of the switch into OUT. */
static int reconfigure_with(lr_engine *eng, lr_config **cfg, const char *yaml, unsigned flags,
                            lr_buf *out) {
    lr_config *next = NULL;
    lr_config_errors errs = { 0 };
    int rc = lr_config_load_string(yaml, strlen(yaml), "t2", &next, &errs);
    for (size_t i = 0; rc != LR_OK && i < errs.n; i++) printf("  %s\n", errs.msgs[i]);
    lr_config_errors_release(&errs);
    if (rc != LR_OK) return rc;
    if ((rc = lr_engine_reconfigure(eng, next, flags, count_cb, out)) != LR_OK) {
        lr_config_free(next);
        return rc;
    }
    lr_config_free(*cfg);
    *cfg = next;
    return LR_OK;
}

/* reconfigure_with() as PUT /v1/config does it. */
static int reconfigure_to(lr_engine *eng, lr_config **cfg, const char *yaml, lr_buf *out) {
    return reconfigure_with(eng, cfg, yaml, LR_RECONF_NOW, out);
}

static void feed(lr_engine *eng, const char *line, lr_buf *out) {
    lr_event ev;
    char err[128];
    if (lr_event_parse(line, strlen(line), &ev, err, sizeof err) != LR_OK) {
        printf("  bad event %s: %s\n", line, err);
        return;
    }
    lr_engine_apply(eng, &ev, count_cb, out);
    lr_event_release(&ev);
}

/* An owner rule; ann, who holds one of two open leads with one email, is
 * removed by a config change: every lead is renumbered before any is
 * routed again (the owner lookup read cat's lead with cat's old index,
 * out of bounds of the new agents: a crash on the change and on every
 * replay of it), and ann's lead goes to the owner of the other, cat. */
TEST(removing_an_agent_renumbers_every_lead_before_routing_any) {
    const char *y1 = "agents: [{id: ann}, {id: ben}, {id: cat}]\npools: {team: [ann, ben, cat]}\n"
                     "rules: [{name: own, pool: team, strategy: owner},"
                     " {name: rr, pool: team, strategy: round_robin}]\n";
    const char *y2 = "agents: [{id: ben}, {id: cat}]\npools: {team: [ben, cat]}\n"
                     "rules: [{name: own, pool: team, strategy: owner},"
                     " {name: rr, pool: team, strategy: round_robin}]\n";
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(y1, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L0\",\"email\":\"x@example.org\"}", &out);
    feed(eng, "{\"id\":\"L1\",\"email\":\"x@example.org\"}", &out);
    feed(eng, "{\"type\":\"assign\",\"lead\":\"L1\",\"agent\":\"cat\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L0\",\"action\":\"assigned\",\"agent\":\"ann\",\"rule\":\"rr\"");
    CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"ann\",\"rule\":\"own\"");
    lr_buf_reset(&out);
    CHECK_EQ_INT(reconfigure_to(eng, &cfg, y2, &out), LR_OK);
    CHECK_CONTAINS(out.data, "\"lead\":\"L0\",\"action\":\"assigned\",\"agent\":\"cat\",\"rule\":\"own\"");
    lr_buf_reset(&out);
    feed(eng, "{\"id\":\"L2\",\"email\":\"x@example.org\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"assigned\",\"agent\":\"cat\",\"rule\":\"own\"");
    finish_engine(eng, cfg, &out);
}

/* cat (a day cap of 3) gets L1 and wins it, gets D1 and declines it (it
 * waits: ann is away), holds an offer of O1; a config change removes her
 * (O1 waits too), the next adds her back: she comes back as she left, her
 * counters, her day's count and her decline kept (D1 is not given back to
 * her; O1, which waits, is her third lead of the day, L2 waits for her
 * cap), the offer she had counted for nothing. Changes journaled before LR_RECONF_KEEP_GONE
 * replay as made: there she came back afresh and got D1 back. */
TEST(an_agent_removed_then_added_back_comes_back_as_it_left) {
    const char *with = "agents: [{id: ann, status: away}, {id: cat, caps: {day: 3}}]\n"
                       "pools: {team: [cat, ann], one: [cat]}\n"
                       "rules: [{name: offer, when: 'source == \"o\"', pool: one, strategy: top_down,"
                       " offer: {timeout: 1h}},"
                       " {name: r, pool: team, strategy: top_down, fallback: queue}]\n";
    const char *without = "agents: [{id: ann, status: away}]\npools: {team: [ann], one: [ann]}\n"
                          "rules: [{name: offer, when: 'source == \"o\"', pool: one, strategy: top_down,"
                          " offer: {timeout: 1h}},"
                          " {name: r, pool: team, strategy: top_down, fallback: queue}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        unsigned flags = legacy ? LR_RECONF_NOW & ~LR_RECONF_KEEP_GONE : LR_RECONF_NOW;
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(with, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}", &out);
        feed(eng, "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"at\":\"2026-11-02T09:01:00Z\"}",
             &out);
        feed(eng, "{\"id\":\"D1\",\"at\":\"2026-11-02T09:03:00Z\"}", &out);
        feed(eng, "{\"type\":\"decline\",\"lead\":\"D1\",\"agent\":\"cat\",\"at\":\"2026-11-02T09:05:00Z\"}",
             &out);
        feed(eng, "{\"id\":\"O1\",\"source\":\"o\",\"at\":\"2026-11-02T09:06:00Z\"}", &out);
        CHECK_CONTAINS(out.data, "\"lead\":\"D1\",\"action\":\"queued\"");
        CHECK_CONTAINS(out.data, "\"lead\":\"O1\",\"action\":\"offered\",\"agent\":\"cat\"");
        lr_buf b = LR_BUF_INIT;
        CHECK_EQ_INT(lr_engine_agent_json(eng, "cat", &b), LR_OK);
        CHECK_CONTAINS(b.data, "\"open\":1,");
        CHECK_CONTAINS(b.data, "\"day\":{\"count\":3");
        lr_buf_release(&b);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, without, flags, &out), LR_OK);
        lr_buf_reset(&out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, with, flags, &out), LR_OK);
        feed(eng, "{\"id\":\"L2\",\"at\":\"2026-11-02T09:11:00Z\"}", &out);
        feed(eng, "{\"id\":\"L3\",\"at\":\"2026-11-02T09:12:00Z\"}", &out);
        lr_buf_init(&b);
        CHECK_EQ_INT(lr_engine_agent_json(eng, "cat", &b), LR_OK);
        if (!legacy) {
            CHECK(strstr(out.data, "\"lead\":\"D1\"") == NULL);
            CHECK_CONTAINS(out.data, "\"lead\":\"O1\",\"action\":\"assigned\",\"agent\":\"cat\"");
            CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"queued\"");
            CHECK_CONTAINS(b.data, "\"open\":1,");
            CHECK_CONTAINS(b.data, "\"assigned\":3,\"won\":1,\"closed\":1");
            CHECK_CONTAINS(b.data, "\"day\":{\"count\":3");
        } else {
            CHECK_CONTAINS(out.data, "\"lead\":\"D1\",\"action\":\"assigned\",\"agent\":\"cat\"");
            CHECK_CONTAINS(b.data, "\"won\":0,\"closed\":0");
        }
        lr_buf_release(&b);
        finish_engine(eng, cfg, &out);
    }
}

/* Reasons kept through two removals in two changes, both agents
 * back in a third with everyone renumbered and a newcomer; with the
 * legacy flags (no KEEP_GONE) they come back afresh. */
TEST(reasons_survive_two_removals_and_renumbering) {
    const char *c1 = "agents: [{id: a}, {id: b}, {id: c}, {id: d}]\npools: {p: [a, b, c, d]}\n"
                     "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *c2 = "agents: [{id: b}, {id: c}, {id: d}]\npools: {p: [b, c, d]}\n"
                     "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *c3 = "agents: [{id: c}, {id: d}]\npools: {p: [c, d]}\n"
                     "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *c4 = "agents: [{id: d}, {id: b}, {id: x}, {id: a}, {id: c}]\npools: {p: [a, b, c, d, x]}\n"
                     "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        unsigned flags = legacy ? LR_RECONF_NOW & ~LR_RECONF_KEEP_GONE : LR_RECONF_NOW;
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(c1, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_engine_set_explain(eng, true);
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"L1\"}", &out);
        feed(eng, "{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"a\"}", &out);
        feed(eng, "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"b\"}", &out);
        feed(eng, "{\"id\":\"L2\"}", &out);
        feed(eng, "{\"type\":\"decline\",\"lead\":\"L2\",\"agent\":\"a\"}", &out);
        feed(eng, "{\"type\":\"release\",\"lead\":\"L2\",\"agent\":\"b\"}", &out);
        CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"c\"");
        CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"assigned\",\"agent\":\"c\"");
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, c2, flags, &out), LR_OK);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, c3, flags, &out), LR_OK);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, c4, flags, &out), LR_OK);
        lr_buf_reset(&out);
        feed(eng, "{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"c\"}", &out);
        feed(eng, "{\"type\":\"release\",\"lead\":\"L2\",\"agent\":\"c\"}", &out);
        if (!legacy) {
            CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"d\",\"rule\":\"r\","
                           "\"pool\":\"p\",\"strategy\":\"top_down\",\"why\":{\"reason\":\"released\","
                           "\"candidates\":[{\"agent\":\"a\",\"skipped\":\"released\"},"
                           "{\"agent\":\"b\",\"skipped\":\"declined\"},{\"agent\":\"c\",\"skipped\":\"released\"},"
                           "{\"agent\":\"d\",\"chosen\":true},{\"agent\":\"x\",\"eligible\":true}]");
            CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"assigned\",\"agent\":\"d\",\"rule\":\"r\","
                           "\"pool\":\"p\",\"strategy\":\"top_down\",\"why\":{\"reason\":\"released\","
                           "\"candidates\":[{\"agent\":\"a\",\"skipped\":\"declined\"},"
                           "{\"agent\":\"b\",\"skipped\":\"released\"},{\"agent\":\"c\",\"skipped\":\"released\"},"
                           "{\"agent\":\"d\",\"chosen\":true},{\"agent\":\"x\",\"eligible\":true}]");
        } else {
            CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"a\"");
            CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"assigned\",\"agent\":\"a\"");
        }
        finish_engine(eng, cfg, &out);
    }
}

/* How an agent lost a lead outlives the agent's removal and a config
 * that numbers the agents anew: ann, who released L1, removed and added
 * back behind a new agent, is still skipped for L1 as "released" when
 * ben declines it and it goes to the newcomer. */
TEST(how_an_agent_lost_a_lead_survives_its_removal) {
    const char *with = "agents: [{id: ann}, {id: ben}]\npools: {p: [ann, ben]}\n"
                       "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *without = "agents: [{id: ben}]\npools: {p: [ben]}\n"
                          "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    const char *back = "agents: [{id: cy}, {id: ann}, {id: ben}]\npools: {p: [ann, ben, cy]}\n"
                       "rules: [{name: r, pool: p, strategy: top_down, fallback: queue}]\n";
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(with, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_engine_set_explain(eng, true);
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L1\"}", &out);
    feed(eng, "{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"ann\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"ben\"");
    CHECK_EQ_INT(reconfigure_with(eng, &cfg, without, LR_RECONF_NOW, &out), LR_OK);
    CHECK_EQ_INT(reconfigure_with(eng, &cfg, back, LR_RECONF_NOW, &out), LR_OK);
    lr_buf_reset(&out);
    feed(eng, "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"ben\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"cy\",\"rule\":\"r\","
                             "\"pool\":\"p\",\"strategy\":\"top_down\",\"why\":{\"reason\":\"declined\","
                             "\"candidates\":[{\"agent\":\"ann\",\"skipped\":\"released\"},"
                             "{\"agent\":\"ben\",\"skipped\":\"declined\"},{\"agent\":\"cy\",\"chosen\":true}]");
    finish_engine(eng, cfg, &out);
}

/* The same change journaled before LR_RECONF_OWNER_INDEX replays as it
 * was made: the lead was routed before cat's lead was renumbered, whose
 * old number (2) is dan's now, so it went to dan; the new way it goes to
 * its owner, cat. */
TEST(a_journaled_owner_change_replays_as_it_was_made) {
    const char *y1 = "agents: [{id: ann}, {id: ben}, {id: cat}, {id: dan}]\npools: {team: [ann, ben, cat, dan]}\n"
                     "rules: [{name: own, pool: team, strategy: owner},"
                     " {name: rr, pool: team, strategy: round_robin}]\n";
    const char *y2 = "agents: [{id: ben}, {id: cat}, {id: dan}]\npools: {team: [ben, cat, dan]}\n"
                     "rules: [{name: own, pool: team, strategy: owner},"
                     " {name: rr, pool: team, strategy: round_robin}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(y1, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"L0\",\"email\":\"x@example.org\"}", &out);
        feed(eng, "{\"id\":\"L3\",\"email\":\"x@example.org\"}", &out);
        feed(eng, "{\"type\":\"assign\",\"lead\":\"L3\",\"agent\":\"cat\"}", &out);
        CHECK_CONTAINS(out.data, "\"lead\":\"L0\",\"action\":\"assigned\",\"agent\":\"ann\"");
        lr_buf_reset(&out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, y2, legacy ? LR_RECONF_CARRY | LR_RECONF_ZONE_WINDOWS
                                                             : LR_RECONF_NOW, &out), LR_OK);
        CHECK_CONTAINS(out.data, legacy ? "\"lead\":\"L0\",\"action\":\"assigned\",\"agent\":\"dan\",\"rule\":\"own\""
                                        : "\"lead\":\"L0\",\"action\":\"assigned\",\"agent\":\"cat\",\"rule\":\"own\"");
        finish_engine(eng, cfg, &out);
    }
}

/* An owner rule that a config change brings in finds the owners of the
 * leads already open (the index was kept only while an owner rule
 * existed); so does one that comes back after it was taken out. Config
 * changes journaled before replay as made (LR_RECONF_OWNER_INDEX). */
TEST(an_owner_rule_added_later_finds_the_open_leads) {
    const char *rr = "agents: [{id: ann}, {id: ben}, {id: cat}]\npools: {team: [ann, ben, cat]}\n"
                     "rules: [{name: rr, pool: team, strategy: round_robin}]\n";
    const char *own = "agents: [{id: ann}, {id: ben}, {id: cat}]\npools: {team: [ann, ben, cat]}\n"
                      "rules: [{name: own, pool: team, strategy: owner},"
                      " {name: rr, pool: team, strategy: round_robin}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(rr, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        unsigned flags = legacy ? LR_RECONF_CARRY | LR_RECONF_ZONE_WINDOWS : LR_RECONF_NOW;
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"L1\",\"email\":\"x@example.org\"}", &out);     /* ann */
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, own, flags, &out), LR_OK);
        lr_buf_reset(&out);
        feed(eng, "{\"id\":\"L2\",\"email\":\"x@example.org\"}", &out);
        if (!legacy)
            CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"assigned\",\"agent\":\"ann\",\"rule\":\"own\"");
        else
            CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"assigned\",\"agent\":\"ben\",\"rule\":\"rr\"");
        /* out and back in: L2 closed meanwhile, L1 still ann's */
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, rr, flags, &out), LR_OK);
        feed(eng, "{\"type\":\"progress\",\"lead\":\"L2\",\"status\":\"lost\"}", &out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, own, flags, &out), LR_OK);
        lr_buf_reset(&out);
        feed(eng, "{\"id\":\"L3\",\"email\":\"x@example.org\"}", &out);
        if (!legacy)
            CHECK_CONTAINS(out.data, "\"lead\":\"L3\",\"action\":\"assigned\",\"agent\":\"ann\",\"rule\":\"own\"");
        finish_engine(eng, cfg, &out);
    }
}

/* A pull queue's rule becomes round robin: the leads waiting in the queue
 * are routed again (rule_changed), not left where no claim comes any
 * more; an open pool become manual holds its waiting leads, and manual
 * become round robin gives its held ones out. Config changes
 * journaled before replay as made: there the leads stayed waiting. */
TEST(a_rule_whose_strategy_works_another_way_routes_its_waiting_leads_again) {
    const char *q = "agents: [{id: ann}, {id: ben}]\npools: {desk: [ann, ben]}\n"
                    "rules: [{name: pull, pool: desk, strategy: queue}]\n";
    const char *rr = "agents: [{id: ann}, {id: ben}]\npools: {desk: [ann, ben]}\n"
                     "rules: [{name: pull, pool: desk, strategy: round_robin}]\n";
    const char *op = "agents: [{id: ann}, {id: ben}]\npools: {desk: [ann, ben]}\n"
                     "rules: [{name: pull, pool: desk, strategy: open_pool}]\n";
    const char *man = "agents: [{id: ann}, {id: ben}]\npools: {desk: [ann, ben]}\n"
                      "rules: [{name: pull, pool: desk, strategy: manual}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        unsigned flags = legacy ? LR_RECONF_NOW & ~LR_RECONF_MODE_CHANGE : LR_RECONF_NOW;
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(q, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"L0\"}", &out);
        feed(eng, "{\"id\":\"L1\"}", &out);
        lr_buf_reset(&out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, rr, flags, &out), LR_OK);
        const char *state, *agent;
        CHECK_EQ_INT(lr_engine_lead_info(eng, "L1", &state, &agent), LR_OK);
        if (!legacy) {
            CHECK_CONTAINS(out.data, "\"lead\":\"L0\",\"action\":\"assigned\",\"agent\":\"ann\"");
            CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"ben\"");
            CHECK_CONTAINS(out.data, "\"why\":{\"reason\":\"rule_changed\"");
            CHECK_EQ_STR(state, "assigned");
        } else {
            CHECK_EQ_STR(out.data ? out.data : "", "");
            CHECK_EQ_STR(state, "waiting");
        }
        finish_engine(eng, cfg, &out);
        eng = engine_on(op, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        feed(eng, "{\"id\":\"P0\"}", &out);
        lr_buf_reset(&out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, man, flags, &out), LR_OK);
        CHECK_EQ_INT(lr_engine_lead_info(eng, "P0", &state, &agent), LR_OK);
        CHECK_EQ_STR(state, legacy ? "waiting" : "held");
        /* and back from manual: a held lead goes out */
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, rr, flags, &out), LR_OK);
        CHECK_EQ_INT(lr_engine_lead_info(eng, "P0", &state, &agent), LR_OK);
        CHECK_EQ_STR(state, legacy ? "waiting" : "assigned");
        finish_engine(eng, cfg, &out);
    }
}

/* A held lead whose rule is renamed is routed again (rule_removed) and
 * held by the renamed rule: it stays in the counts of waiting leads (it
 * was left held under no rule). Journals from before replay as made. */
TEST(a_held_lead_whose_rule_is_gone_is_routed_again) {
    const char *y1 = "agents: [{id: ann, status: away}]\npools: {p: [ann]}\n"
                     "rules: [{name: vip, pool: p, strategy: top_down, fallback: hold}]\n";
    const char *y2 = "agents: [{id: ann, status: away}]\npools: {p: [ann]}\n"
                     "rules: [{name: vip2, pool: p, strategy: top_down, fallback: hold}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        unsigned flags = legacy ? LR_RECONF_NOW & ~LR_RECONF_MODE_CHANGE : LR_RECONF_NOW;
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(y1, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"H1\"}", &out);
        CHECK_CONTAINS(out.data, "\"lead\":\"H1\",\"action\":\"held\",\"rule\":\"vip\"");
        lr_buf_reset(&out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, y2, flags, &out), LR_OK);
        lr_buf q = LR_BUF_INIT;
        CHECK_EQ_INT(lr_engine_queues_json(eng, &q), LR_OK);
        if (!legacy) {
            CHECK_CONTAINS(out.data, "\"lead\":\"H1\",\"action\":\"held\",\"rule\":\"vip2\"");
            CHECK_CONTAINS(q.data, "\"p\":{\"waiting\":1");
        } else {
            CHECK_EQ_STR(out.data ? out.data : "", "");
            CHECK_CONTAINS(q.data, "\"p\":{\"waiting\":0");
        }
        lr_buf_release(&q);
        finish_engine(eng, cfg, &out);
    }
}

/* ann's offer at 00:15 UTC counts in her hour; at 00:30 UTC she moves to
 * Kolkata (+05:30: a new hour began there at 00:30) and her count goes on
 * in that hour; she declines: the offer is taken back from the carried
 * count, and the next lead is offered to her (her hour cap is 1). Config
 * changes journaled before replay as made: there the count stayed 1. */
TEST(an_offer_declined_after_a_new_time_zone_is_taken_back_from_its_cap) {
    const char *y1 = "agents: [{id: ann, caps: {hour: 1}}, {id: ben}]\npools: {team: [ann, ben]}\n"
                     "rules: [{name: off, pool: team, strategy: top_down, offer: {timeout: 1h}}]\n";
    const char *y2 = "agents: [{id: ann, caps: {hour: 1}, schedule: {timezone: Asia/Kolkata}}, {id: ben}]\n"
                     "pools: {team: [ann, ben]}\n"
                     "rules: [{name: off, pool: team, strategy: top_down, offer: {timeout: 1h}}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        unsigned flags = legacy ? LR_RECONF_NOW & ~LR_RECONF_ZONE_OFFERS : LR_RECONF_NOW;
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(y1, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"L1\",\"at\":\"2026-11-30T00:15:41Z\"}", &out);
        CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"offered\",\"agent\":\"ann\"");
        feed(eng, "{\"type\":\"tick\",\"at\":\"2026-11-30T00:30:03Z\"}", &out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, y2, flags, &out), LR_OK);
        feed(eng, "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"ann\",\"at\":\"2026-11-30T00:31:00Z\"}",
             &out);
        lr_buf agent = LR_BUF_INIT;
        CHECK_EQ_INT(lr_engine_agent_json(eng, "ann", &agent), LR_OK);
        CHECK_CONTAINS(agent.data, legacy ? "\"hour\":{\"count\":1" : "\"hour\":{\"count\":0");
        lr_buf_release(&agent);
        lr_buf_reset(&out);
        feed(eng, "{\"id\":\"L2\",\"at\":\"2026-11-30T00:32:00Z\"}", &out);
        CHECK_CONTAINS(out.data, legacy ? "\"lead\":\"L2\",\"action\":\"offered\",\"agent\":\"ben\""
                                        : "\"lead\":\"L2\",\"action\":\"offered\",\"agent\":\"ann\"");
        finish_engine(eng, cfg, &out);
    }
}

/* The other way: ann's offer of the UTC evening before (23:50) is not in
 * the count carried into her Los Angeles day (the UTC day's: L2), though
 * her Los Angeles day holds 23:50 UTC; when it expires after the change,
 * nothing is taken back, and L3 goes to ben (her day cap is 1). */
TEST(an_offer_of_an_earlier_window_is_not_taken_from_a_carried_count) {
    const char *y1 = "agents: [{id: ann, caps: {day: 1}}, {id: ben}]\npools: {team: [ann, ben]}\n"
                     "rules: [{name: off, pool: team, strategy: top_down, offer: {timeout: 1h}}]\n";
    const char *y2 = "agents: [{id: ann, caps: {day: 1}, schedule: {timezone: America/Los_Angeles}}, {id: ben}]\n"
                     "pools: {team: [ann, ben]}\n"
                     "rules: [{name: off, pool: team, strategy: top_down, offer: {timeout: 1h}}]\n";
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(y1, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L1\",\"at\":\"2026-11-01T23:50:00Z\"}", &out);
    feed(eng, "{\"id\":\"L2\",\"at\":\"2026-11-02T00:10:00Z\"}", &out);
    feed(eng, "{\"type\":\"accept\",\"lead\":\"L2\",\"agent\":\"ann\",\"at\":\"2026-11-02T00:11:00Z\"}", &out);
    feed(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T00:30:00Z\"}", &out);
    CHECK_EQ_INT(reconfigure_to(eng, &cfg, y2, &out), LR_OK);
    feed(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T00:55:00Z\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"expired\",\"agent\":\"ann\"");
    lr_buf_reset(&out);
    feed(eng, "{\"id\":\"L3\",\"at\":\"2026-11-02T01:00:00Z\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L3\",\"action\":\"offered\",\"agent\":\"ben\"");
    finish_engine(eng, cfg, &out);
}

/* A lead closed under the third rule; a config change leaves one rule: a
 * claim of the closed lead is refused naming no rule (its old rule number
 * was read past the new, shorter list of rules: a crash). */
TEST(a_closed_leads_rule_is_renumbered_too) {
    const char *y1 = "agents: [{id: ann}]\npools: {team: [ann]}\n"
                     "rules: [{name: a, pool: team, strategy: round_robin, when: 'source == \"a\"'},"
                     " {name: b, pool: team, strategy: round_robin, when: 'source == \"b\"'},"
                     " {name: c, pool: team, strategy: round_robin}]\n";
    const char *y2 = "agents: [{id: ann}]\npools: {team: [ann]}\n"
                     "rules: [{name: only, pool: team, strategy: round_robin}]\n";
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(y1, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L1\"}", &out);
    feed(eng, "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\"}", &out);
    CHECK_EQ_INT(reconfigure_to(eng, &cfg, y2, &out), LR_OK);
    lr_buf_reset(&out);
    feed(eng, "{\"type\":\"claim\",\"lead\":\"L1\",\"agent\":\"ann\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"claim_refused\",\"agent\":\"ann\",\"why\":{\"reason\":\"lead_closed\"");
    finish_engine(eng, cfg, &out);
}

/* A preview of a lead for an owner rule whose segment no lead has made
 * yet (a preview's own segment is in no agent's memberships) finds the
 * owner as the real routing does: ben, the account's owner, not the next
 * rule's ann; with match, for a match value no lead had yet. */
TEST(a_preview_finds_the_owner_in_a_segment_not_made_yet) {
    const char *cfgs[] = {
        "agents: [{id: ann}, {id: ben}]\npools: {team: [ann, ben]}\n"
        "accounts: [{id: acme, domains: [acme.com], owner: ben}]\n"
        "rules: [{name: owned, pool: team, strategy: owner}, {name: rest, pool: team, strategy: top_down}]\n",
        "agents: [{id: ann, attributes: {states: [CA, NV]}}, {id: ben, attributes: {states: [CA, NV]}}]\n"
        "pools: {team: [ann, ben]}\naccounts: [{id: acme, domains: [acme.com], owner: ben}]\n"
        "rules: [{name: owned, pool: team, strategy: owner, match: {states: state}},"
        " {name: rest, pool: team, strategy: top_down}]\n",
    };
    for (int k = 0; k < 2; k++) {
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(cfgs[k], &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_buf out = LR_BUF_INIT;
        if (k == 1) feed(eng, "{\"id\":\"L0\",\"email\":\"al@acme.com\",\"state\":\"CA\"}", &out);
        lr_buf_reset(&out);
        lr_event ev;
        char err[64];
        const char *lead = "{\"id\":\"P\",\"email\":\"jo@acme.com\",\"state\":\"NV\"}";
        CHECK_EQ_INT(lr_event_parse(lead, strlen(lead), &ev, err, sizeof err), LR_OK);
        CHECK_EQ_INT(lr_engine_preview(eng, ev.lead, count_cb, &out), LR_OK);
        CHECK_CONTAINS(out.data, "\"lead\":\"P\",\"action\":\"assigned\",\"agent\":\"ben\",\"rule\":\"owned\"");
        lr_event_release(&ev);
        finish_engine(eng, cfg, &out);
    }
}

TEST(preview_says_what_would_happen_and_changes_nothing) {
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on("agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                               "rules: [{name: r, pool: p, strategy: round_robin}]\n", &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    lr_event ev;
    char err[64];
    CHECK_EQ_INT(lr_event_parse("{\"id\":\"P\"}", 10, &ev, err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_engine_preview(eng, ev.lead, count_cb, &out), LR_OK);
    CHECK_EQ_INT(lr_engine_preview(eng, ev.lead, count_cb, &out), LR_OK);
    CHECK_CONTAINS(out.data, "\"lead\":\"P\",\"action\":\"assigned\",\"agent\":\"a\"");
    CHECK(strstr(strstr(out.data, "\n") + 1, "\"agent\":\"a\"") != NULL);   /* same twice */
    lr_event_release(&ev);
    lr_buf_reset(&out);
    feed(eng, "{\"id\":\"L1\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"a\"");
    lr_engine_stats st;
    lr_engine_get_stats(eng, &st);
    CHECK_EQ_INT(st.leads, 1);
    CHECK_EQ_INT(st.decisions[LR_ACTION_ASSIGNED], 1);
    const char *state, *agent;
    CHECK_EQ_INT(lr_engine_lead_info(eng, "P", &state, &agent), LR_ENOENT);
    finish_engine(eng, cfg, &out);
}

/* A preview of a weighted_round_robin rule shows the credits the next
 * lead will be weighed by: the same candidates, figure for figure, as the
 * real decision after it (a preview counts no pick). */
TEST(a_preview_shows_the_credits_of_the_next_pick) {
    const char *yaml = "agents: [{id: a, weight: 5}, {id: b}, {id: c}]\npools: {p: [a, b, c]}\n"
                       "rules: [{name: r, pool: p, strategy: weighted_round_robin}]\n";
    lr_config *cfg = NULL;
    lr_config_errors errs = { 0 };
    CHECK_EQ_INT(lr_config_load_string(yaml, strlen(yaml), "t", &cfg, &errs), LR_OK);
    lr_config_errors_release(&errs);
    lr_engine *eng = NULL;
    lr_engine_opts opts = { 0, 0, true };   /* with the candidates */
    CHECK_EQ_INT(lr_engine_create(cfg, &opts, &eng), LR_OK);
    if (!eng) { lr_config_free(cfg); return; }
    lr_buf out = LR_BUF_INIT;
    for (int i = 0; i < 3; i++) {           /* credits at the 3rd pick: 1 3 3 */
        char lead[32];
        snprintf(lead, sizeof lead, "{\"id\":\"L%d\"}", i + 1);
        lr_buf_reset(&out);
        if (i == 2) {
            lr_event ev;
            char err[64];
            CHECK_EQ_INT(lr_event_parse("{\"id\":\"P\"}", 10, &ev, err, sizeof err), LR_OK);
            CHECK_EQ_INT(lr_engine_preview(eng, ev.lead, count_cb, &out), LR_OK);
            lr_event_release(&ev);
        }
        feed(eng, lead, &out);
    }
    const char *want = "\"candidates\":[{\"agent\":\"a\",\"eligible\":true,\"weight\":5,\"credit\":1},"
                       "{\"agent\":\"b\",\"chosen\":true,\"weight\":1,\"credit\":3},"
                       "{\"agent\":\"c\",\"eligible\":true,\"weight\":1,\"credit\":3}]";
    const char *preview = out.data ? strstr(out.data, want) : NULL;
    CHECK(preview != NULL);
    CHECK(preview && strstr(preview + 1, want) != NULL);        /* and the real one */
    CHECK_CONTAINS(out.data, "\"lead\":\"P\",\"action\":\"assigned\",\"agent\":\"b\"");
    CHECK_CONTAINS(out.data, "\"lead\":\"L3\",\"action\":\"assigned\",\"agent\":\"b\"");
    finish_engine(eng, cfg, &out);
}

TEST(reconfigure_keeps_agents_by_id_and_reroutes_orphaned_leads) {
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on("agents: [{id: a, capacity: 1}, {id: b}]\npools: {p: [a, b]}\n"
                               "rules: [{name: r, pool: p, strategy: round_robin}]\n", &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L1\"}", &out);
    feed(eng, "{\"id\":\"L2\"}", &out);
    lr_buf_reset(&out);
    const char *y2 = "agents: [{id: c}, {id: a, capacity: 1}]\npools: {q: [c, a]}\n"
                     "rules: [{name: r, pool: q, strategy: top_down}]\n";
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);
    /* b is gone: L2 is routed again; a is at capacity with L1 -> c */
    CHECK_EQ_STR(out.data, "{\"at\":\"1970-01-01T00:00:00Z\",\"lead\":\"L2\",\"action\":\"assigned\","
                           "\"agent\":\"c\",\"rule\":\"r\",\"pool\":\"q\",\"strategy\":\"top_down\","
                           "\"why\":{\"reason\":\"agent_removed\"}}\n");
    lr_agent_stats st;
    CHECK_EQ_INT(lr_engine_agent_stats(eng, "a", &st), LR_OK);
    CHECK_EQ_INT(st.open, 1);
    CHECK(lr_engine_lead_visible(eng, "L1", "a"));
    CHECK(!lr_engine_lead_visible(eng, "L1", "c"));
    lr_buf_reset(&out);
    feed(eng, "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\"}", &out);
    feed(eng, "{\"id\":\"L3\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L3\",\"action\":\"assigned\",\"agent\":\"c\"");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
}

/* Feeds LINE to ENG and checks that lead ID was assigned to AGENT by it. */
static void gives(lr_engine *eng, const char *line, const char *id, const char *agent) {
    lr_buf out = LR_BUF_INIT, want = LR_BUF_INIT;
    feed(eng, line, &out);
    lr_buf_printf(&want, "\"lead\":\"%s\",\"action\":\"assigned\",\"agent\":\"%s\"", id, agent);
    CHECK_CONTAINS(out.data ? out.data : "", want.data);
    lr_buf_release(&out);
    lr_buf_release(&want);
}

/* Feeds lead ID to ENG and checks that it went to AGENT. */
static void lead_goes_to(lr_engine *eng, const char *id, const char *agent) {
    char line[64];
    snprintf(line, sizeof line, "{\"id\":\"%s\"}", id);
    gives(eng, line, id, agent);
}

/* A config change keeps round robin's place: the next lead goes to the
 * agent whose turn it was (or, when that agent left the pool, to the next
 * one still in it), not to the pool's first member. Journals from before
 * (no LR_RECONF_CARRY) start the rotation again, as they did. */
TEST(reconfigure_keeps_the_round_robin_position) {
    const char *y1 = "agents: [{id: a}, {id: b}, {id: c}, {id: d}]\npools: {p: [a, b, c, d]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    const char *y2 = "agents: [{id: a}, {id: b}, {id: c}, {id: d}, {id: e}]\n"
                     "pools: {p: [a, b, c, d, e]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    const char *y3 = "agents: [{id: a}, {id: b}, {id: d}, {id: e}]\npools: {p: [a, b, d, e]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on(y1, &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    lead_goes_to(eng, "L1", "a");
    lead_goes_to(eng, "L2", "b");
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);     /* e joins at the end */
    lead_goes_to(eng, "L3", "c");
    lead_goes_to(eng, "L4", "d");
    lead_goes_to(eng, "L5", "e");
    lead_goes_to(eng, "L6", "a");
    lead_goes_to(eng, "L7", "b");
    /* c, whose turn it is, leaves: its lead L3 goes to d, the next in turn */
    lr_buf_reset(&out);
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y3, &out), LR_OK);
    CHECK_CONTAINS(out.data ? out.data : "", "\"lead\":\"L3\",\"action\":\"assigned\",\"agent\":\"d\"");
    lead_goes_to(eng, "L8", "e");
    lead_goes_to(eng, "L9", "a");
    lr_engine_destroy(eng);
    lr_config_free(c1);

    eng = engine_on(y1, &c1);                   /* a config change journaled before */
    CHECK(eng != NULL);
    if (!eng) return;
    lead_goes_to(eng, "L1", "a");
    lead_goes_to(eng, "L2", "b");
    lr_config *c2 = NULL;
    lr_config_errors errs = { 0 };
    CHECK_EQ_INT(lr_config_load_string(y2, strlen(y2), "t2", &c2, &errs), LR_OK);
    lr_config_errors_release(&errs);
    CHECK_EQ_INT(lr_engine_reconfigure(eng, c2, 0, count_cb, &out), LR_OK);
    lead_goes_to(eng, "L3", "a");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
    lr_config_free(c2);
}

/* A config change keeps weighted round robin's credits: weights 3 and 1
 * give a a b a; after a a, a change, then b. */
TEST(reconfigure_keeps_weighted_round_robin_credits) {
    const char *y1 = "agents: [{id: a, weight: 3}, {id: b, weight: 1}]\npools: {p: [a, b]}\n"
                     "rules: [{name: r, pool: p, strategy: weighted_round_robin}]\n";
    const char *y2 = "agents: [{id: a, weight: 3}, {id: b, weight: 1}, {id: z}]\npools: {p: [a, b]}\n"
                     "rules: [{name: r, pool: p, strategy: weighted_round_robin}]\n";
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on(y1, &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    lead_goes_to(eng, "L1", "a");
    lead_goes_to(eng, "L2", "a");
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);
    lead_goes_to(eng, "L3", "b");
    lead_goes_to(eng, "L4", "a");
    lead_goes_to(eng, "L5", "a");
    lead_goes_to(eng, "L6", "a");
    lead_goes_to(eng, "L7", "b");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
}

/* Two rules with the same tiers each have their own wider pool, and each
 * keeps its own rotation across a config change. */
TEST(reconfigure_keeps_each_rules_tier_rotation) {
    const char *y1 = "agents: [{id: a, status: away}, {id: b, status: away}, {id: c}, {id: d}, {id: e}]\n"
                     "pools: {p1: [a, b], p2: [c, d, e]}\n"
                     "rules:\n"
                     "  - {name: A, when: 'source == \"A\"', tiers: [p1, p2], strategy: round_robin,"
                     " escalate_after: 1m, fallback: queue}\n"
                     "  - {name: B, when: 'source == \"B\"', tiers: [p1, p2], strategy: round_robin,"
                     " escalate_after: 1m, fallback: queue}\n";
    char y2[1024];                      /* the change: an agent z in no pool */
    snprintf(y2, sizeof y2, "agents: [{id: a, status: away}, {id: b, status: away}, {id: c}, {id: d},"
             " {id: e}, {id: z}]\n%s", strstr(y1, "pools:"));
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on(y1, &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"A1\",\"source\":\"A\",\"at\":\"2026-11-02T09:00:00Z\"}", &out);
    gives(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T09:02:00Z\"}", "A1", "c");
    feed(eng, "{\"id\":\"B1\",\"source\":\"B\",\"at\":\"2026-11-02T09:03:00Z\"}", &out);
    gives(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T09:05:00Z\"}", "B1", "c");
    feed(eng, "{\"id\":\"B2\",\"source\":\"B\",\"at\":\"2026-11-02T09:06:00Z\"}", &out);
    gives(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T09:08:00Z\"}", "B2", "d");
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);
    feed(eng, "{\"id\":\"A3\",\"source\":\"A\",\"at\":\"2026-11-02T09:10:00Z\"}", &out);
    gives(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T09:12:00Z\"}", "A3", "d");
    feed(eng, "{\"id\":\"B3\",\"source\":\"B\",\"at\":\"2026-11-02T09:13:00Z\"}", &out);
    gives(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T09:15:00Z\"}", "B3", "e");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
}

/* A segment whose every member left has nothing to carry; its empty
 * record goes on to the next change, which files it again. */
TEST(reconfigure_carries_an_empty_rotation_on) {
    const char *y1 = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    const char *y2 = "agents: [{id: c}]\npools: {p: [c]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    const char *y3 = "agents: [{id: c, weight: 2}]\npools: {p: [c]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on(y1, &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    lead_goes_to(eng, "L1", "a");
    feed(eng, "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\"}", &out);
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y3, &out), LR_OK);
    lead_goes_to(eng, "L2", "c");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
}

/* A config change that takes a rule's SLA and recycling away takes them
 * from the leads already assigned under it: their deadlines do nothing. */
TEST(reconfigure_without_sla_or_recycle_drops_their_deadlines) {
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on("agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                               "rules:\n"
                               "  - {name: s, when: 'source == \"s\"', pool: p, strategy: top_down,"
                               " sla: {contact_within: 1m}}\n"
                               "  - {name: rc, pool: p, strategy: top_down, recycle: {after: 1m}}\n", &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"S1\",\"source\":\"s\",\"at\":\"2026-11-02T09:00:00Z\"}", &out);
    feed(eng, "{\"id\":\"R1\",\"at\":\"2026-11-02T09:00:00Z\"}", &out);
    lr_buf_reset(&out);
    const char *y2 = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                     "rules:\n"
                     "  - {name: s, when: 'source == \"s\"', pool: p, strategy: top_down}\n"
                     "  - {name: rc, pool: p, strategy: top_down}\n";
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);
    feed(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T09:05:00Z\"}", &out);
    CHECK_EQ_STR(out.data ? out.data : "", "");
    const char *state, *agent;
    CHECK_EQ_INT(lr_engine_lead_info(eng, "S1", &state, &agent), LR_OK);
    CHECK_EQ_STR(state, "assigned");
    CHECK_EQ_STR(agent, "a");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
}

/* A config change that removes the rule of a running offer to one agent
 * routes the lead again and gives that agent's slot and counts back. */
TEST(reconfigure_removing_an_offers_rule_frees_the_agent) {
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on("agents: [{id: ann, capacity: 1}, {id: ben}]\n"
                               "pools: {team: [ann], other: [ben]}\n"
                               "rules:\n"
                               "  - {name: o, when: 'source == \"web\"', pool: team, strategy: round_robin,"
                               " offer: {timeout: 1h}}\n"
                               "  - {name: rest, pool: other, strategy: round_robin}\n", &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L1\",\"source\":\"web\"}", &out);
    lr_buf_reset(&out);
    const char *y2 = "agents: [{id: ann, capacity: 1}, {id: ben}]\npools: {team: [ann], other: [ben]}\n"
                     "rules: [{name: rest, pool: other, strategy: round_robin}]\n";
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);
    CHECK_CONTAINS(out.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"ben\"");
    CHECK_CONTAINS(out.data, "\"reason\":\"rule_removed\"");
    lr_agent_stats st;
    CHECK_EQ_INT(lr_engine_agent_stats(eng, "ann", &st), LR_OK);
    CHECK_EQ_INT(st.open, 0);
    CHECK_EQ_INT(st.assigned, 0);
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
}

TEST(pool_edit_keeps_count_based_fairness) {
    lr_config *c1 = NULL;
    lr_engine *eng = engine_on("agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                               "rules: [{name: r, pool: p, strategy: fewest_assigned}]\n", &c1);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L1\"}", &out);       /* a */
    feed(eng, "{\"id\":\"L2\"}", &out);       /* b */
    feed(eng, "{\"id\":\"L3\"}", &out);       /* a: a 2, b 1 */
    const char *y2 = "agents: [{id: a}, {id: b}, {id: c}]\npools: {p: [c, a, b]}\n"
                     "rules: [{name: r, pool: p, strategy: fewest_assigned}]\n";
    CHECK_EQ_INT(reconfigure_to(eng, &c1, y2, &out), LR_OK);
    lr_buf_reset(&out);
    /* counts kept: a 2, b 1; c is new, and like an agent coming back it is
     * counted at the pool's average (catch_up default), 1: L4 c (tie with
     * b, pool order), L5 b (1 < 2), L6 c (all at 2, pool order) */
    feed(eng, "{\"id\":\"L4\"}", &out);
    feed(eng, "{\"id\":\"L5\"}", &out);
    feed(eng, "{\"id\":\"L6\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L4\",\"action\":\"assigned\",\"agent\":\"c\"");
    CHECK_CONTAINS(out.data, "\"lead\":\"L5\",\"action\":\"assigned\",\"agent\":\"b\"");
    CHECK_CONTAINS(out.data, "\"lead\":\"L6\",\"action\":\"assigned\",\"agent\":\"c\"");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c1);
}

TEST(next_deadline_is_the_cap_window_end) {
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on("agents: [{id: a, caps: {hour: 1}}]\npools: {p: [a]}\n"
                               "rules: [{name: r, pool: p, strategy: round_robin}]\n", &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_buf out = LR_BUF_INIT;
    CHECK_EQ_INT(lr_engine_next_deadline(eng), LR_TIME_NONE);
    feed(eng, "{\"id\":\"L1\",\"received_at\":\"2026-01-01T10:20:00Z\"}", &out);
    lr_time want;
    lr_time_parse("2026-01-01T11:00:00Z", 20, &want);
    CHECK_EQ_INT(lr_engine_next_deadline(eng), want);
    finish_engine(eng, cfg, &out);
}

/* An agent moved to another time zone keeps the leads of its day. Ann
 * (New York, one lead a day) took L1 at 10:00 New York time, and L2
 * waits; at 16:00Z she moves to Los Angeles, where it is 08:00 on the
 * same 2 November: L2 waits for Los Angeles' midnight (08:00Z). Config
 * changes journaled before LR_RECONF_ZONE_WINDOWS replay as they were
 * made: the New York window's start read in Los Angeles time had ended,
 * the count was forgotten and L2 went to her at the change, her cap
 * exceeded. */
TEST(a_new_time_zone_keeps_the_leads_of_the_agents_day) {
    const char *ny = "agents: [{id: ann, caps: {day: 1}, schedule: {timezone: America/New_York}}]\n"
                     "pools: {p: [ann]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin, fallback: queue}]\n";
    const char *la = "agents: [{id: ann, caps: {day: 1}, schedule: {timezone: America/Los_Angeles}}]\n"
                     "pools: {p: [ann]}\n"
                     "rules: [{name: r, pool: p, strategy: round_robin, fallback: queue}]\n";
    for (int legacy = 0; legacy < 2; legacy++) {
        lr_config *cfg = NULL;
        lr_engine *eng = engine_on(ny, &cfg);
        CHECK(eng != NULL);
        if (!eng) return;
        lr_buf out = LR_BUF_INIT;
        feed(eng, "{\"id\":\"L1\",\"received_at\":\"2026-11-02T15:00:00Z\"}", &out);
        feed(eng, "{\"id\":\"L2\",\"received_at\":\"2026-11-02T15:30:00Z\"}", &out);
        CHECK_CONTAINS(out.data ? out.data : "", "\"lead\":\"L2\",\"action\":\"queued\"");
        feed(eng, "{\"type\":\"tick\",\"at\":\"2026-11-02T16:00:00Z\"}", &out);
        lr_buf_reset(&out);
        CHECK_EQ_INT(reconfigure_with(eng, &cfg, la,
                                      legacy ? LR_RECONF_CARRY : LR_RECONF_CARRY | LR_RECONF_ZONE_WINDOWS,
                                      &out), LR_OK);
        feed(eng, "{\"type\":\"tick\",\"at\":\"2026-11-03T07:59:00Z\"}", &out);
        if (legacy) {
            CHECK_CONTAINS(out.data ? out.data : "",
                           "{\"at\":\"2026-11-02T16:00:00Z\",\"lead\":\"L2\",\"action\":\"assigned\"");
        } else {
            CHECK(!out.data || !strstr(out.data, "\"lead\":\"L2\""));
            lr_agent_stats st;
            CHECK_EQ_INT(lr_engine_agent_stats(eng, "ann", &st), LR_OK);
            CHECK_EQ_INT(st.window[LR_CAP_DAY], 1);
            feed(eng, "{\"type\":\"tick\",\"at\":\"2026-11-03T09:00:00Z\"}", &out);
            CHECK_CONTAINS(out.data ? out.data : "",
                           "{\"at\":\"2026-11-03T08:00:00Z\",\"lead\":\"L2\",\"action\":\"assigned\"");
        }
        finish_engine(eng, cfg, &out);
    }
}

/* Leads that nobody ready may take (every agent let them expire) do not
 * hide the lead behind them, however many there are: it goes out when the
 * agent is free again (the dispatch once looked at 64 at most). */
TEST(a_waiting_lead_behind_many_expired_ones_still_goes_out) {
    const char *cfg = "agents: [{id: ann, capacity: 1}]\npools: {desk: [ann]}\n"
                      "rules: [{name: hunt, pool: desk, strategy: longest_idle,"
                      " offer: {timeout: 1m, attempts: 1}, fallback: queue}]\n";
    lr_buf ev;
    lr_buf_init(&ev);
    for (int i = 0; i < 100; i++)
        lr_buf_printf(&ev, "{\"id\":\"L%d\",\"at\":\"2026-11-02T09:00:00Z\"}\n", i);
    lr_buf_puts(&ev, "{\"type\":\"tick\",\"at\":\"2026-11-02T12:00:00Z\"}\n"
                     "{\"id\":\"N0\",\"at\":\"2026-11-02T12:00:00Z\"}\n"
                     "{\"type\":\"accept\",\"lead\":\"N0\",\"agent\":\"ann\",\"at\":\"2026-11-02T12:00:00Z\"}\n"
                     "{\"id\":\"N1\",\"at\":\"2026-11-02T12:01:00Z\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"N0\",\"status\":\"won\",\"at\":\"2026-11-02T12:02:00Z\"}\n");
    run_out o;
    CHECK(run_engine(cfg, ev.data, 1, false, &o));
    /* every L expired once with ann; then N1 waits behind them for her */
    const char *tail = "offered:ann assigned:ann queued closed:ann offered:ann";
    size_t tl = strlen(tail);
    CHECK(o.trace.len >= tl);
    if (o.trace.len >= tl) CHECK_EQ_STR(o.trace.data + o.trace.len - tl, tail);
    CHECK_CONTAINS(o.json.data, "\"at\":\"2026-11-02T12:02:00Z\",\"lead\":\"N1\",\"action\":\"offered\"");
    lr_buf_release(&ev);
    run_release(&o);
}

/* A lead queued because its offers ran out before every member had one
 * goes out at once to a member it was not offered to, ahead of the leads
 * that come after it (it waited for a change that never came, and newer
 * leads went past it). A journal written before that replays as made. */
TEST(a_lead_queued_after_its_offers_goes_to_a_free_member_at_once) {
    const char *cfg = "agents: [{id: ann}, {id: ben}, {id: cat}]\npools: {team: [ann, ben, cat]}\n"
                      "rules: [{name: r, pool: team, strategy: top_down,"
                      " offer: {timeout: 2m, attempts: 2}, fallback: queue}]\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"id\":\"L2\",\"at\":\"2026-11-02T09:05:00Z\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "offered:ann expired:ann offered:ben expired:ben queued offered:cat offered:ann");
    lr_config *c = NULL;
    lr_engine *eng = engine_on(cfg, &c);
    CHECK(eng != NULL);
    if (!eng) return;
    lr_engine_set_legacy(eng, LR_LEGACY_QUEUE_WAITS);
    lr_buf out = LR_BUF_INIT;
    feed(eng, "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}", &out);
    feed(eng, "{\"id\":\"L2\",\"at\":\"2026-11-02T09:05:00Z\"}", &out);
    CHECK(strstr(out.data, "\"agent\":\"cat\"") == NULL);     /* L1 waits; L2 goes to ann */
    CHECK_CONTAINS(out.data, "\"lead\":\"L2\",\"action\":\"offered\",\"agent\":\"ann\"");
    lr_buf_release(&out);
    lr_engine_destroy(eng);
    lr_config_free(c);
}

/* A fallback after offers carries their cause (declined, offer_expired)
 * whether the attempts ran out or the members did (every one declined or
 * let it expire before the last attempt). */
TEST(a_fallback_after_offers_says_why_whichever_ran_out_first) {
    for (int attempts = 2; attempts <= 3; attempts++) {
        char cfg[256];
        snprintf(cfg, sizeof cfg, "agents: [{id: ann}, {id: ben}]\npools: {team: [ann, ben]}\n"
                 "rules: [{name: r, pool: team, strategy: top_down,"
                 " offer: {timeout: 2m, attempts: %d}, fallback: hold}]\n", attempts);
        run_out o;
        CHECK(run_engine(cfg, "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                              "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"ann\"}\n"
                              "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"ben\"}\n",
                         1, false, &o));
        CHECK_EQ_STR(o.trace.data, "offered:ann offered:ben held");
        CHECK_CONTAINS(o.json.data, "\"action\":\"held\",\"rule\":\"r\",\"pool\":\"team\","
                                    "\"strategy\":\"top_down\",\"why\":{\"reason\":\"declined\"}");
        run_release(&o);
        CHECK(run_engine(cfg, "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                              "{\"type\":\"tick\",\"at\":\"2026-11-02T09:10:00Z\"}\n", 1, false, &o));
        CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann offered:ben expired:ben held");
        CHECK_CONTAINS(o.json.data, "\"action\":\"held\",\"rule\":\"r\",\"pool\":\"team\","
                                    "\"strategy\":\"top_down\",\"why\":{\"reason\":\"offer_expired\"}");
        run_release(&o);
    }
}

/* The SLA and recycling judge the agent who has the lead now: the
 * qualifier's `contacted` does not excuse the closer after a hand-off,
 * nor a released lead's earlier agent the next one. */
TEST(sla_and_recycle_judge_the_agent_who_has_the_lead_now) {
    const char *handoff = "agents: [{id: sam}, {id: cleo}, {id: carl}]\n"
                          "pools: {sdr: [sam], closers: [cleo, carl]}\n"
                          "rules:\n"
                          "  - {name: close, when: 'stage == \"qualified\"', pool: closers,"
                          " strategy: round_robin, sla: {contact_within: 15m}}\n"
                          "  - {name: qualify, pool: sdr, strategy: round_robin, sla: {contact_within: 15m}}\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"contacted\",\"at\":\"2026-11-02T09:05:00Z\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"qualified\",\"at\":\"2026-11-02T09:20:00Z\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-11-02T09:40:00Z\"}\n";
    CHECK_EQ_STR(trace_of(handoff, ev), "assigned:sam assigned:cleo reassigned:cleo assigned:carl");

    const char *recycle = "agents: [{id: ann}, {id: ben}]\npools: {p: [ann, ben]}\n"
                          "rules: [{name: r, pool: p, strategy: top_down,"
                          " recycle: {after: 1h, unless: [contacted, won, lost, disqualified]}}]\n";
    ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
         "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"contacted\",\"at\":\"2026-11-02T09:01:00Z\"}\n"
         "{\"type\":\"release\",\"lead\":\"L1\",\"at\":\"2026-11-02T09:02:00Z\"}\n"
         "{\"type\":\"tick\",\"at\":\"2026-11-02T10:30:00Z\"}\n";
    /* ben never reported contact: his lead is recycled after the hour */
    CHECK_EQ_STR(trace_of(recycle, ev), "assigned:ann released:ann assigned:ben recycled:ben unrouted");
}

/* A catch-up tick (a server's start after a stop) fires what fell due
 * meanwhile at its own time: the offer that expired while nobody could
 * accept moves on, and the next agent's offer runs from the tick. A plain
 * tick steps through the deadlines, each at its time. */
TEST(a_catch_up_tick_fires_past_deadlines_at_its_time) {
    const char *cfg = "agents: [{id: ann}, {id: ben}, {id: cat}]\npools: {p: [ann, ben, cat]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down,"
                      " offer: {timeout: 5s, attempts: 3}, fallback: hold}]\n";
    const char *lead = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n";
    char ev[512];
    snprintf(ev, sizeof ev, "%s{\"type\":\"tick\",\"at\":\"2026-11-02T09:00:20Z\",\"catch_up\":true}\n", lead);
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann offered:ben");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-11-02T09:00:20Z\",\"lead\":\"L1\",\"action\":\"offered\",\"agent\":\"ben\"");
    run_release(&o);
    snprintf(ev, sizeof ev, "%s{\"type\":\"tick\",\"at\":\"2026-11-02T09:00:20Z\"}\n", lead);
    CHECK_EQ_STR(trace_of(cfg, ev), "offered:ann expired:ann offered:ben expired:ben offered:cat expired:cat held");
    /* the agents as they are at the tick: off shift since 18:00, nobody
     * is offered the lead at 19:00 */
    const char *shifts = "agents:\n"
                         "  - {id: ann, schedule: {timezone: UTC, hours: {daily: \"08:00-18:00\"}}}\n"
                         "  - {id: ben, schedule: {timezone: UTC, hours: {daily: \"08:00-18:00\"}}}\n"
                         "pools: {team: [ann, ben]}\n"
                         "rules: [{name: r, pool: team, strategy: round_robin,"
                         " offer: {timeout: 5m, attempts: 3}}]\n";
    CHECK_EQ_STR(trace_of(shifts, "{\"id\":\"L1\",\"at\":\"2026-11-02T16:58:00Z\"}\n"
                                  "{\"type\":\"tick\",\"catch_up\":true,\"at\":\"2026-11-02T19:00:00Z\"}\n"),
                 "offered:ann expired:ann unrouted");
}

/* Escalation ends the offer running in the tier the lead leaves (its
 * agent is not offered the lead again), says `escalated` on whatever it
 * decides, queued included; `sla: then: escalate` at the last tier stays
 * in the last tier. */
TEST(escalation_moves_on_to_someone_else_and_says_so) {
    const char *offer = "agents: [{id: ann}, {id: ben}, {id: cat}]\n"
                        "pools: {seniors: [ann], juniors: [ben], managers: [cat]}\n"
                        "rules: [{name: hot, tiers: [seniors, juniors, managers], strategy: round_robin,"
                        " offer: {timeout: 10m, attempts: 3}, escalate_after: 5m}]\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-11-02T09:12:00Z\"}\n";
    run_out o;
    CHECK(run_engine(offer, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann offered:ben expired:ben offered:cat");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-11-02T09:05:00Z\",\"lead\":\"L1\",\"action\":\"expired\","
                                "\"agent\":\"ann\",\"rule\":\"hot\",\"pool\":\"seniors\",\"strategy\":\"round_robin\","
                                "\"why\":{\"reason\":\"escalated\"}}");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-11-02T09:10:00Z\",\"lead\":\"L1\",\"action\":\"offered\","
                                "\"agent\":\"cat\",\"rule\":\"hot\",\"pool\":\"seniors+juniors+managers\"");
    run_release(&o);

    const char *queue = "agents: [{id: ann, capacity: 1}, {id: ben, capacity: 1}]\n"
                        "pools: {s: [ann], j: [ben]}\n"
                        "rules: [{name: hot, tiers: [s, j], strategy: top_down, escalate_after: 5m,"
                        " fallback: queue}]\n";
    ev = "{\"id\":\"A\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
         "{\"type\":\"assign\",\"lead\":\"A\",\"agent\":\"ben\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
         "{\"id\":\"B\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
         "{\"id\":\"L1\",\"at\":\"2026-11-02T09:01:00Z\"}\n"
         "{\"type\":\"tick\",\"at\":\"2026-11-02T09:07:00Z\"}\n";
    CHECK(run_engine(queue, ev, 1, false, &o));
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-11-02T09:06:00Z\",\"lead\":\"L1\",\"action\":\"queued\","
                                "\"rule\":\"hot\",\"pool\":\"s+j\",\"strategy\":\"top_down\","
                                "\"why\":{\"reason\":\"escalated\"}}");
    run_release(&o);

    const char *sla = "agents: [{id: ann}, {id: ben}]\npools: {s: [ann], j: [ben]}\n"
                      "rules: [{name: hot, tiers: [s, j], strategy: top_down, fallback: queue,"
                      " sla: {contact_within: 10m, then: escalate}}]\n";
    ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
         "{\"type\":\"tick\",\"at\":\"2026-11-02T09:30:00Z\"}\n";
    CHECK(run_engine(sla, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "assigned:ann reassigned:ann assigned:ben reassigned:ben queued");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-11-02T09:20:00Z\",\"lead\":\"L1\",\"action\":\"queued\","
                                "\"rule\":\"hot\",\"pool\":\"s+j\"");
    run_release(&o);
}

/* An offer that ends unaccepted is no lead received: it does not use up a
 * cap, nor count for fewest_assigned. */
TEST(an_offer_declined_or_expired_is_no_lead_received) {
    const char *cap = "agents: [{id: ann, caps: {day: 1}}, {id: ben}]\npools: {p: [ann, ben]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down,"
                      " offer: {timeout: 1m, attempts: 1}, fallback: hold}]\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"ann\",\"at\":\"2026-11-02T09:00:30Z\"}\n"
                     "{\"id\":\"L2\",\"at\":\"2026-11-02T09:05:00Z\"}\n"
                     "{\"id\":\"L3\",\"at\":\"2026-11-02T09:07:00Z\"}\n"
                     "{\"type\":\"accept\",\"lead\":\"L3\",\"agent\":\"ann\",\"at\":\"2026-11-02T09:07:10Z\"}\n"
                     "{\"id\":\"L4\",\"at\":\"2026-11-02T09:08:00Z\"}\n";
    /* L1 declined, L2 expired: ann still has her one lead of the day (L3);
     * then she is at her cap and L4 goes to ben */
    CHECK_EQ_STR(trace_of(cap, ev), "offered:ann held offered:ann expired:ann held offered:ann "
                                    "assigned:ann offered:ben");
    const char *fewest = "agents: [{id: ann}, {id: ben}, {id: cat}]\npools: {p: [ann, ben, cat]}\n"
                         "rules: [{name: f, pool: p, strategy: fewest_assigned, offer: {timeout: 10m}}]\n";
    ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
         "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"ann\"}\n"
         "{\"type\":\"accept\",\"lead\":\"L1\",\"agent\":\"ben\"}\n"
         "{\"id\":\"L2\",\"at\":\"2026-11-02T09:01:00Z\"}\n";
    /* ann received nothing: L2 is hers (not cat's) */
    CHECK_EQ_STR(trace_of(fewest, ev), "offered:ann offered:ben assigned:ben offered:ann");
}

/* A rule tried once in a routing is not tried again in it; the rule that
 * let a lead go (its offer ran out) was not tried in the routing that
 * follows, so a later rule's fallback to it offers the lead again, as
 * ever. And a long chain of fallbacks costs its length, not its square. */
TEST(a_rule_is_tried_once_a_routing_but_the_one_that_let_go_again) {
    const char *cfg = "agents: [{id: a1}, {id: a2}, {id: a3}, {id: b1, status: away}]\n"
                      "pools: {PA: [a1, a2, a3], PB: [b1]}\n"
                      "rules:\n"
                      "  - {name: A, pool: PA, strategy: round_robin, offer: {timeout: 1m, attempts: 1}}\n"
                      "  - {name: B, pool: PB, strategy: round_robin, fallback: A}\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-01-01T00:00:00Z\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-01-01T00:04:00Z\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev), "offered:a1 expired:a1 offered:a2 expired:a2 offered:a3 expired:a3 unrouted");
    /* 3,000 rules, each falling back to the next, the agent away: every
     * lead unrouted (this took seconds a lead when each rule in order
     * followed its whole chain again) */
    lr_buf y = LR_BUF_INIT;
    lr_buf_puts(&y, "agents: [{id: a, status: away}]\npools: {p: [a]}\nrules:\n");
    for (int i = 0; i < 3000; i++)
        lr_buf_printf(&y, "  - {name: r%d, pool: p, strategy: round_robin, fallback: r%d}\n", i, i + 1);
    lr_buf_puts(&y, "  - {name: r3000, pool: p, strategy: round_robin}\n");
    CHECK_EQ_STR(trace_of(y.data, "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n"), "unrouted unrouted");
    lr_buf_release(&y);
}

/* A history replayed to try a method cannot know who a lead will be
 * offered to: an accept without "agent" is that of the agent it is
 * offered to alone (a broadcast to two, or no offer, is refused). */
TEST(an_accept_without_an_agent_is_the_offered_agents) {
    const char *cfg = "agents: [{id: ann}, {id: ben}]\npools: {p: [ann, ben]}\n"
                      "rules:\n"
                      "  - {name: b, when: 'source == \"b\"', pool: p, strategy: broadcast, offer: {timeout: 5m}}\n"
                      "  - {name: r, pool: p, strategy: round_robin, offer: {timeout: 5m, attempts: 1}, fallback: hold}\n";
    const char *ev = "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"type\":\"accept\",\"lead\":\"L1\",\"at\":\"2026-11-02T09:01:00Z\"}\n"
                     "{\"id\":\"L2\",\"at\":\"2026-11-02T09:02:00Z\"}\n"
                     "{\"type\":\"accept\",\"lead\":\"L2\"}\n"
                     "{\"type\":\"accept\",\"lead\":\"L2\"}\n"
                     "{\"id\":\"L3\",\"source\":\"b\"}\n"
                     "{\"type\":\"accept\",\"lead\":\"L3\"}\n"
                     "{\"type\":\"accept\",\"lead\":\"L9\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    /* L2 accepted again: no longer on offer; L3 offered to both */
    CHECK_EQ_STR(o.trace.data, "offered:ann assigned:ann offered:ben assigned:ben rejected offered:ann,ben "
                               "rejected rejected");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L2\",\"action\":\"rejected\",\"why\":{\"reason\":\"not_offered\","
                                "\"detail\":\"the lead is not on offer (an accept without an agent is that of "
                                "the agent it is offered to)\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L3\",\"action\":\"rejected\",\"why\":{\"reason\":\"not_offered\","
                                "\"detail\":\"the lead is offered to 2 agents at once: an accept names which one\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L9\",\"action\":\"rejected\",\"why\":{\"reason\":\"unknown_lead\"");
    run_release(&o);
}

/* max_no_answer counts the offers in a row from its own pool: offers of
 * another pool let expire do not bring the agent closer to `away`. */
TEST(max_no_answer_counts_its_own_pools_offers) {
    const char *cfg = "agents: [{id: ann}]\n"
                      "pools: {a: [ann], b: {agents: [ann], max_no_answer: 2}}\n"
                      "rules:\n"
                      "  - {name: ra, when: 'source == \"a\"', pool: a, strategy: top_down,"
                      " offer: {timeout: 1m, attempts: 1}, fallback: hold}\n"
                      "  - {name: rb, pool: b, strategy: top_down, offer: {timeout: 1m, attempts: 1},"
                      " fallback: hold}\n";
    const char *ev = "{\"id\":\"L1\",\"source\":\"a\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                     "{\"id\":\"L2\",\"source\":\"a\",\"at\":\"2026-11-02T09:02:00Z\"}\n"
                     "{\"id\":\"L3\",\"at\":\"2026-11-02T09:04:00Z\"}\n"
                     "{\"id\":\"L4\",\"at\":\"2026-11-02T09:06:00Z\"}\n"
                     "{\"type\":\"tick\",\"at\":\"2026-11-02T09:10:00Z\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "offered:ann expired:ann held offered:ann expired:ann held "
                               "offered:ann expired:ann held offered:ann expired:ann agent_away:ann held");
    CHECK_CONTAINS(o.json.data, "{\"at\":\"2026-11-02T09:07:00Z\",\"action\":\"agent_away\",\"agent\":\"ann\","
                                "\"pool\":\"b\"");
    run_release(&o);
}

/* GET /v1/agents/{id}'s "availability": whether the agent can take a lead
 * now, or the first reason it cannot, as the explanations name it. */
TEST(an_agents_availability_says_why_it_gets_no_lead) {
    const char *yaml =
        "agents:\n"
        "  - {id: a}\n"
        "  - {id: b, status: away}\n"
        "  - {id: c, schedule: {timezone: UTC, hours: {daily: '09:00-17:00'}}}\n"
        "  - {id: d, out_of_office: [{from: '1970-01-01T00:00:00Z', to: '1970-01-02T00:00:00Z'}]}\n"
        "  - {id: e, capacity: 1}\n"
        "  - {id: f, caps: {day: 1}}\n"
        "pools: {p: [e, f]}\n"
        "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(yaml, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    const char *lines[] = { "{\"id\":\"L1\",\"received_at\":\"1970-01-01T08:00:00Z\"}",
                            "{\"id\":\"L2\",\"received_at\":\"1970-01-01T08:00:00Z\"}" };
    for (int i = 0; i < 2; i++) {
        lr_event ev;
        char msg[256];
        CHECK_EQ_INT(lr_event_parse(lines[i], strlen(lines[i]), &ev, msg, sizeof msg), LR_OK);
        ev.at = 8 * 3600000;
        CHECK_EQ_INT(lr_engine_apply(eng, &ev, NULL, NULL), LR_OK);
        lr_event_release(&ev);
    }
    static const char *const want[][2] = { { "a", "ready" }, { "b", "away" }, { "c", "off_shift" },
                                           { "d", "out_of_office" }, { "e", "at_capacity" },
                                           { "f", "cap_day" } };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        lr_buf b = { 0 };
        char frag[64];
        CHECK_EQ_INT(lr_engine_agent_json(eng, want[i][0], &b), LR_OK);
        snprintf(frag, sizeof frag, "\"availability\":\"%s\"", want[i][1]);
        CHECK_CONTAINS(b.data, frag);
        lr_buf_release(&b);
    }
    lr_engine_destroy(eng);
    lr_config_free(cfg);
}

/* The agent object says what set its status and when: its config at
 * first, max_no_answer when offers ran out, "set" when an agent event
 * changed it (one that changes nothing keeps the time). */
TEST(an_agents_status_says_what_set_it_and_when) {
    const char *yaml = "agents: [{id: ann}]\npools: {p: {agents: [ann], max_no_answer: 1}}\n"
                       "rules: [{name: r, pool: p, strategy: top_down, offer: {timeout: 1m, attempts: 1},"
                       " fallback: hold}]\n";
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(yaml, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    const char *lines[] = { "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}",
                            "{\"type\":\"tick\",\"at\":\"2026-11-02T09:05:00Z\"}",
                            "{\"type\":\"agent\",\"agent\":\"ann\",\"status\":\"available\",\"at\":\"2026-11-02T09:20:00Z\"}",
                            "{\"type\":\"agent\",\"agent\":\"ann\",\"status\":\"available\",\"at\":\"2026-11-02T09:30:00Z\"}" };
    static const char *const want[] = {
        "\"status\":\"available\"", "\"status_reason\":\"config\",\"status_since\":\"1970-01-01T00:00:00Z\"",
        "\"status\":\"away\"", "\"status_reason\":\"max_no_answer\",\"status_since\":\"2026-11-02T09:01:00Z\"",
        "\"status\":\"available\"", "\"status_reason\":\"set\",\"status_since\":\"2026-11-02T09:20:00Z\"",
        "\"status\":\"available\"", "\"status_reason\":\"set\",\"status_since\":\"2026-11-02T09:20:00Z\"",
    };
    lr_buf b;
    for (int i = 0; i < 4; i++) {
        lr_event ev;
        char msg[256];
        CHECK_EQ_INT(lr_event_parse(lines[i], strlen(lines[i]), &ev, msg, sizeof msg), LR_OK);
        CHECK_EQ_INT(lr_engine_apply(eng, &ev, NULL, NULL), LR_OK);
        lr_event_release(&ev);
        lr_buf_init(&b);
        CHECK_EQ_INT(lr_engine_agent_json(eng, "ann", &b), LR_OK);
        CHECK_CONTAINS(b.data, want[2 * i]);
        CHECK_CONTAINS(b.data, want[2 * i + 1]);
        lr_buf_release(&b);
    }
    lr_engine_destroy(eng);
    lr_config_free(cfg);
}

/* Bytes the process has allocated now (under ASan, its allocator's count). */
static size_t allocated_now(void) {
#ifdef __SANITIZE_ADDRESS__
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

/* A closed lead keeps only its id: 400 leads with a 2,000-byte custom
 * field give that memory back when they are closed (the engine kept every
 * lead whole for the life of the store), and are still known by their ids:
 * progress on one is refused as closed, the id again is a duplicate. An
 * open lead keeps everything (a lead released is routed by its fields). */
TEST(a_closed_lead_keeps_only_its_id) {
    const char *y = "agents: [{id: ann, capacity: 100000}, {id: ben, capacity: 100000}]\n"
                    "pools: {team: [ann, ben]}\n"
                    "rules: [{name: ca, when: 'fields.region == \"CA\"', pool: team, strategy: round_robin}]\n";
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(y, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    enum { N = 400, BIG = 2000 };
    lr_buf out = LR_BUF_INIT, line = LR_BUF_INIT;
    for (int i = 0; i < N; i++) {
        lr_buf_reset(&line);
        lr_buf_printf(&line, "{\"id\":\"L%d\",\"fields\":{\"region\":\"CA\",\"notes\":\"", i);
        for (int k = 0; k < BIG; k++) lr_buf_putc(&line, 'n');
        lr_buf_puts(&line, "\"}}");
        feed(eng, line.data, &out);
    }
    lr_buf_release(&line);
    CHECK_CONTAINS(out.data, "\"lead\":\"L399\",\"action\":\"assigned\",\"agent\":\"ben\"");
    lr_buf_release(&out);
    lr_buf_reserve(&out, 1 << 20);      /* the decisions below grow nothing */
    size_t before = allocated_now();
    char ev[128];
    for (int i = 1; i < N; i++) {       /* L0 stays open */
        snprintf(ev, sizeof ev, "{\"type\":\"progress\",\"lead\":\"L%d\",\"status\":\"lost\"}", i);
        feed(eng, ev, &out);
    }
    size_t after = allocated_now();
    /* nine tenths of the fields' bytes at least (the closed decisions and
     * the engine's bookkeeping take some memory meanwhile) */
    CHECK(before > after && before - after >= (size_t)(N - 1) * BIG / 10 * 9);
    CHECK_CONTAINS(out.data, "\"lead\":\"L7\",\"action\":\"closed\",\"agent\":\"ben\"");
    lr_buf_reset(&out);
    feed(eng, "{\"type\":\"progress\",\"lead\":\"L7\",\"status\":\"won\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L7\",\"action\":\"rejected\"");
    CHECK_CONTAINS(out.data, "lead_closed");
    lr_buf_reset(&out);
    feed(eng, "{\"id\":\"L7\",\"fields\":{\"region\":\"CA\"}}", &out);
    CHECK_CONTAINS(out.data, "duplicate_lead");
    /* the open one is routed again by its fields */
    lr_buf_reset(&out);
    feed(eng, "{\"type\":\"release\",\"lead\":\"L0\",\"agent\":\"ann\"}", &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L0\",\"action\":\"assigned\",\"agent\":\"ben\",\"rule\":\"ca\"");
    finish_engine(eng, cfg, &out);
}

/* A config change raises ann's capacity and turns rule b's pull queue into
 * round robin: of the two leads waiting for the freed slot, the one that
 * arrived first gets it, whether it waited under the unchanged rule a
 * (L2 at 10:01, L3 at 10:02) or is the one routed again (swapped). The
 * journaled change of before LR_RECONF_REROUTE_ORDER gave it to the lead
 * routed again in both cases, and replays so. */
TEST(a_config_change_routes_again_in_arrival_order) {
    const char *y1 = "agents: [{id: ann, capacity: 1}]\npools: {team: [ann]}\nrules:\n"
                     "  - {name: a, when: 'source == \"a\"', pool: team, strategy: round_robin, fallback: queue}\n"
                     "  - {name: b, when: 'source == \"b\"', pool: team, strategy: queue}\n";
    const char *y2 = "agents: [{id: ann, capacity: 2}]\npools: {team: [ann]}\nrules:\n"
                     "  - {name: a, when: 'source == \"a\"', pool: team, strategy: round_robin, fallback: queue}\n"
                     "  - {name: b, when: 'source == \"b\"', pool: team, strategy: round_robin, fallback: queue}\n";
    for (int swapped = 0; swapped < 2; swapped++) {
        for (int legacy = 0; legacy < 2; legacy++) {
            lr_config *cfg = NULL;
            lr_engine *eng = engine_on(y1, &cfg);
            CHECK(eng != NULL);
            if (!eng) return;
            lr_buf out = LR_BUF_INIT;
            char line[160];
            feed(eng, "{\"id\":\"L1\",\"source\":\"a\",\"received_at\":\"2026-11-02T10:00:00Z\"}", &out);
            snprintf(line, sizeof line, "{\"id\":\"L2\",\"source\":\"%s\",\"received_at\":\"2026-11-02T10:01:00Z\"}",
                     swapped ? "b" : "a");
            feed(eng, line, &out);
            snprintf(line, sizeof line, "{\"id\":\"L3\",\"source\":\"%s\",\"received_at\":\"2026-11-02T10:02:00Z\"}",
                     swapped ? "a" : "b");
            feed(eng, line, &out);
            lr_buf_reset(&out);
            unsigned flags = legacy ? LR_RECONF_NOW & ~LR_RECONF_REROUTE_ORDER : LR_RECONF_NOW;
            CHECK_EQ_INT(reconfigure_with(eng, &cfg, y2, flags, &out), LR_OK);
            const char *rerouted = swapped ? "L2" : "L3";
            char want[160];
            snprintf(want, sizeof want, "\"lead\":\"%s\",\"action\":\"assigned\",\"agent\":\"ann\"",
                     legacy ? rerouted : "L2");
            CHECK_CONTAINS(out.data, want);
            snprintf(want, sizeof want, "\"lead\":\"%s\",\"action\":\"assigned\"", legacy ? (swapped ? "L3" : "L2") : "L3");
            if (strstr(out.data, want)) TEST_FAIL_("swapped %d legacy %d: %s assigned too:\n%s", swapped, legacy, want, out.data);
            finish_engine(eng, cfg, &out);
        }
    }
}

/* Runs LINES (one event each) on Y1, switches to Y2 as a live change does;
 * the switch's decisions into OUT (the caller releases it). */
static void change_after(const char *y1, const char *const *lines, size_t n, const char *y2,
                         lr_buf *out) {
    lr_config *cfg = NULL;
    lr_engine *eng = engine_on(y1, &cfg);
    CHECK(eng != NULL);
    if (!eng) return;
    for (size_t i = 0; i < n; i++) feed(eng, lines[i], out);
    lr_buf_reset(out);
    CHECK_EQ_INT(reconfigure_to(eng, &cfg, y2, out), LR_OK);
    lr_engine_destroy(eng);
    lr_config_free(cfg);
}

/* Leads a change routes again wait only for the waiting leads that come
 * before them in their queue's order: in a queue whose first lead nobody
 * may take (a1 declined A), the lead behind it (B) still goes out after
 * the change, though it arrived after the lead routed again (L); it was
 * left queued, and the next new lead overtook it (review finding). And
 * in a priority pool the lead of the higher score (W2) goes before the
 * lead routed again, the older W1 of a lower score after it. */
TEST(a_config_change_waits_only_for_the_leads_before_in_queue_order) {
    const char *y1 = "agents: [{id: a1, capacity: 1}, {id: a9}, {id: a8, status: away}]\n"
                     "pools: {P: [a1], Q: [a9], R: [a8]}\nrules:\n"
                     "  - {name: r1, when: 'source == \"x\"', pool: P, strategy: round_robin,"
                     " offer: {timeout: 5m, attempts: 1}, fallback: queue}\n"
                     "  - {name: r9, when: 'source == \"y\"', pool: Q, strategy: round_robin}\n";
    const char *y2 = "agents: [{id: a1, capacity: 2}, {id: a8, status: away}]\n"
                     "pools: {P: [a1], Q: [a8], R: [a8]}\nrules:\n"
                     "  - {name: r1, when: 'source == \"x\"', pool: P, strategy: round_robin,"
                     " offer: {timeout: 5m, attempts: 1}, fallback: queue}\n"
                     "  - {name: r9, when: 'source == \"y\"', pool: Q, strategy: round_robin}\n";
    const char *const ev[] = {
        "{\"id\":\"A\",\"source\":\"x\",\"at\":\"2026-11-02T09:00:00Z\"}",
        "{\"type\":\"decline\",\"agent\":\"a1\",\"lead\":\"A\",\"at\":\"2026-11-02T09:01:00Z\"}",
        "{\"id\":\"L\",\"source\":\"y\",\"at\":\"2026-11-02T09:02:00Z\"}",
        "{\"id\":\"C\",\"source\":\"x\",\"at\":\"2026-11-02T09:03:00Z\"}",
        "{\"type\":\"accept\",\"agent\":\"a1\",\"lead\":\"C\",\"at\":\"2026-11-02T09:03:30Z\"}",
        "{\"id\":\"B\",\"source\":\"x\",\"at\":\"2026-11-02T09:04:00Z\"}",
    };
    lr_buf out = LR_BUF_INIT;
    change_after(y1, ev, sizeof ev / sizeof *ev, y2, &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"L\",\"action\":\"unrouted\"");
    CHECK_CONTAINS(out.data, "\"lead\":\"B\",\"action\":\"offered\",\"agent\":\"a1\"");
    lr_buf_release(&out);

    const char *p1 = "agents: [{id: a1, capacity: 1}]\n"
                     "pools: {P: {agents: [a1], order: priority}}\nrules:\n"
                     "  - {name: pull, when: 'source == \"list\"', pool: P, strategy: queue}\n"
                     "  - {name: rr, pool: P, strategy: round_robin, fallback: queue}\n";
    const char *p2 = "agents: [{id: a1, capacity: 2}]\n"
                     "pools: {P: {agents: [a1], order: priority}}\nrules:\n"
                     "  - {name: pull, when: 'source == \"list\"', pool: P, strategy: round_robin, fallback: queue}\n"
                     "  - {name: rr, pool: P, strategy: round_robin, fallback: queue}\n";
    const char *const pev[] = {
        "{\"id\":\"C\",\"at\":\"2026-11-02T09:00:00Z\"}",
        "{\"id\":\"W1\",\"score\":10,\"at\":\"2026-11-02T09:01:00Z\"}",
        "{\"id\":\"L\",\"source\":\"list\",\"score\":50,\"at\":\"2026-11-02T09:02:00Z\"}",
        "{\"id\":\"W2\",\"score\":90,\"at\":\"2026-11-02T09:03:00Z\"}",
    };
    change_after(p1, pev, sizeof pev / sizeof *pev, p2, &out);
    CHECK_CONTAINS(out.data, "\"lead\":\"W2\",\"action\":\"assigned\",\"agent\":\"a1\"");
    CHECK_CONTAINS(out.data, "\"lead\":\"L\",\"action\":\"queued\"");
    if (strstr(out.data, "\"lead\":\"W1\",\"action\":\"assigned\"")) TEST_FAIL_("W1 went out:\n%s", out.data);
    lr_buf_release(&out);
}

/* An owner rule that finds nobody says why (the other members were
 * listed eligible next to "no_eligible_agent"): the owner cannot take the
 * lead now, is not in the rule's pool, or the lead has no owner. */
TEST(an_owner_rule_says_what_kept_the_owner_from_the_lead) {
    const char *cfg = "agents: [{id: a}, {id: b}, {id: c, capacity: 1}, {id: d}]\n"
                      "pools: {team: [a, b, c], all: [a, b, c, d]}\n"
                      "accounts:\n  - {id: acme, domains: [acme.com], owner: c}\n"
                      "  - {id: ext, domains: [ext.com], owner: d}\n"
                      "rules:\n  - {name: owned, pool: team, strategy: owner, fallback: hold}\n"
                      "  - {name: rest, pool: all, strategy: round_robin}\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\",\"email\":\"x@acme.com\"}\n"
                          "{\"id\":\"L2\",\"email\":\"y@acme.com\"}\n"
                          "{\"id\":\"L3\",\"email\":\"z@ext.com\"}\n"
                          "{\"id\":\"L4\",\"email\":\"q@nowhere.com\"}\n", 4, true, &o));
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"c\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L2\",\"action\":\"held\",\"rule\":\"owned\",\"pool\":\"team\","
                                "\"strategy\":\"owner\",\"why\":{\"reason\":\"owner_unavailable\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L3\",\"action\":\"held\",\"rule\":\"owned\",\"pool\":\"team\","
                                "\"strategy\":\"owner\",\"why\":{\"reason\":\"owner_not_in_pool\"");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L4\",\"action\":\"held\",\"rule\":\"owned\",\"pool\":\"team\","
                                "\"strategy\":\"owner\",\"why\":{\"reason\":\"no_owner\"");
    run_release(&o);
    /* an owner in the pool whom a `match` leaves out of the lead's part of
     * it is unavailable (its entry says no_match), not outside the pool */
    const char *m = "agents: [{id: ann, attributes: {states: [CA]}}, {id: ben, attributes: {states: [NY]}}]\n"
                    "pools: {team: [ann, ben]}\n"
                    "accounts:\n  - {id: acme, domains: [acme.com], owner: ben}\n"
                    "rules:\n  - {name: owned, pool: team, strategy: owner, match: {states: state}, fallback: queue}\n";
    CHECK(run_engine(m, "{\"id\":\"L1\",\"email\":\"x@acme.com\",\"state\":\"CA\"}\n", 5, true, &o));
    CHECK_CONTAINS(o.json.data, "\"reason\":\"owner_unavailable\"");
    CHECK_CONTAINS(o.json.data, "{\"agent\":\"ben\",\"skipped\":\"no_match\"}");
    run_release(&o);
}

/* An agent whose offer expired and who then accepts (or declines) is told
 * that it let the lead go, not that the lead was never offered to it. */
TEST(a_late_answer_to_an_offer_says_the_offer_ended) {
    const char *cfg = "agents: [{id: a}, {id: b}, {id: c}]\npools: {team: [a, b, c]}\n"
                      "rules: [{name: r, pool: team, strategy: round_robin, offer: {timeout: 2m, attempts: 2}}]\n";
    run_out o;
    CHECK(run_engine(cfg, "{\"id\":\"L1\",\"at\":\"2026-11-02T09:00:00Z\"}\n"
                          "{\"type\":\"tick\",\"at\":\"2026-11-02T09:02:30Z\"}\n"
                          "{\"type\":\"accept\",\"agent\":\"a\",\"lead\":\"L1\",\"at\":\"2026-11-02T09:03:00Z\"}\n"
                          "{\"type\":\"decline\",\"agent\":\"a\",\"lead\":\"L1\",\"at\":\"2026-11-02T09:03:10Z\"}\n"
                          "{\"type\":\"accept\",\"agent\":\"c\",\"lead\":\"L1\",\"at\":\"2026-11-02T09:03:20Z\"}\n",
                     5, false, &o));
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"claim_refused\",\"agent\":\"a\",\"rule\":\"r\","
                                "\"pool\":\"team\",\"strategy\":\"round_robin\",\"why\":{\"reason\":\"not_offered\","
                                "\"detail\":\"this agent's offer of the lead expired before: it is not given to this agent again\"}");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"rejected\",\"agent\":\"a\",\"why\":{\"reason\":\"not_offered\","
                                "\"detail\":\"this agent's offer of the lead expired before: it is not given to this agent again\"}");
    /* c never had it */
    CHECK_CONTAINS(o.json.data, "\"agent\":\"c\",\"rule\":\"r\",\"pool\":\"team\",\"strategy\":\"round_robin\","
                                "\"why\":{\"reason\":\"not_offered\",\"detail\":\"the lead was not offered to this agent\"}");
    run_release(&o);
}

int main(void) {
    RUN(a_late_answer_to_an_offer_says_the_offer_ended);
    RUN(an_owner_rule_says_what_kept_the_owner_from_the_lead);
    RUN(a_config_change_waits_only_for_the_leads_before_in_queue_order);
    RUN(a_config_change_routes_again_in_arrival_order);
    RUN(a_closed_lead_keeps_only_its_id);
    RUN(an_agents_availability_says_why_it_gets_no_lead);
    RUN(removing_an_agent_renumbers_every_lead_before_routing_any);
    RUN(an_agent_removed_then_added_back_comes_back_as_it_left);
    RUN(how_an_agent_lost_a_lead_survives_its_removal);
    RUN(a_journaled_owner_change_replays_as_it_was_made);
    RUN(an_owner_rule_added_later_finds_the_open_leads);
    RUN(a_rule_whose_strategy_works_another_way_routes_its_waiting_leads_again);
    RUN(an_offer_declined_after_a_new_time_zone_is_taken_back_from_its_cap);
    RUN(a_held_lead_whose_rule_is_gone_is_routed_again);
    RUN(an_offer_of_an_earlier_window_is_not_taken_from_a_carried_count);
    RUN(a_closed_leads_rule_is_renumbered_too);
    RUN(match_explains_every_candidate_in_pool_order);
    RUN(match_with_no_value_matches_nobody_and_falls_through);
    RUN(eligible_but_not_chosen_is_marked_eligible);
    RUN(explain_limit_lists_first_members_plus_chosen_and_pool_size);
    RUN(no_explanation_when_explain_is_off);
    RUN(fallback_queue_waits_and_goes_out_when_capacity_frees);
    RUN(fallback_queue_goes_out_when_agent_comes_back);
    RUN(fallback_next_rule_and_hold_and_unrouted);
    RUN(ignore_capacity_pushes_past_capacity);
    RUN(release_routes_again_never_to_the_same_agent);
    RUN(decline_of_assigned_lead_releases_it);
    RUN(skips_say_how_the_agent_lost_the_lead);
    RUN(the_last_way_an_agent_lost_a_lead_counts);
    RUN(escalation_and_broadcast_skips);
    RUN(reasons_survive_two_removals_and_renumbering);
    RUN(qualified_lead_is_handed_to_closers);
    RUN(hourly_cap_skips_agent_until_next_hour);
    RUN(daily_cap_releases_waiting_lead_at_midnight_on_tick);
    RUN(refusals_say_why_and_change_nothing);
    RUN(clock_never_moves_backwards);
    RUN(agent_stats_count_open_and_closed);
    RUN(segments_share_rotation_per_match_value);
    RUN(pull_claims_follow_pool_order_across_match_values);
    RUN(waiting_leads_go_out_in_pool_order_across_match_values);
    RUN(returning_lead_finds_owner_while_any_same_contact_lead_is_open);
    RUN(open_pool_claim_from_outside_the_pool_is_not_in_pool);
    RUN(open_pool_claim_of_a_lead_let_go_says_how);
    RUN(a_replay_without_explanations_ends_in_the_same_state);
    RUN(an_agents_status_says_what_set_it_and_when);
    RUN(preview_says_what_would_happen_and_changes_nothing);
    RUN(a_preview_shows_the_credits_of_the_next_pick);
    RUN(a_preview_finds_the_owner_in_a_segment_not_made_yet);
    RUN(reconfigure_keeps_agents_by_id_and_reroutes_orphaned_leads);
    RUN(reconfigure_keeps_the_round_robin_position);
    RUN(reconfigure_keeps_weighted_round_robin_credits);
    RUN(reconfigure_keeps_each_rules_tier_rotation);
    RUN(reconfigure_carries_an_empty_rotation_on);
    RUN(pool_edit_keeps_count_based_fairness);
    RUN(next_deadline_is_the_cap_window_end);
    RUN(a_waiting_lead_behind_many_expired_ones_still_goes_out);
    RUN(a_lead_queued_after_its_offers_goes_to_a_free_member_at_once);
    RUN(a_fallback_after_offers_says_why_whichever_ran_out_first);
    RUN(sla_and_recycle_judge_the_agent_who_has_the_lead_now);
    RUN(a_catch_up_tick_fires_past_deadlines_at_its_time);
    RUN(reconfigure_without_sla_or_recycle_drops_their_deadlines);
    RUN(escalation_moves_on_to_someone_else_and_says_so);
    RUN(an_offer_declined_or_expired_is_no_lead_received);
    RUN(a_rule_is_tried_once_a_routing_but_the_one_that_let_go_again);
    RUN(an_accept_without_an_agent_is_the_offered_agents);
    RUN(max_no_answer_counts_its_own_pools_offers);
    RUN(reconfigure_removing_an_offers_rule_frees_the_agent);
    RUN(a_new_time_zone_keeps_the_leads_of_the_agents_day);
    return test_report();
}
