/* test_strategies.c -- each strategy's choices, exactly, through the real
 * engine and config loader (harness.h); random ones within statistical
 * bounds under a fixed seed. */
#include "harness.h"
#include "test.h"

#define AGENTS3 "agents: [{id: alice}, {id: bob}, {id: carol}]\npools: {p: [alice, bob, carol]}\n"

TEST(round_robin_gives_leads_in_turn) {
    const char *cfg = AGENTS3 "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    CHECK_EQ_STR(trace_of(cfg, leads_(4, "")),
                 "assigned:alice assigned:bob assigned:carol assigned:alice");
}

TEST(round_robin_skips_agent_at_capacity) {
    const char *cfg = "agents: [{id: alice}, {id: bob, capacity: 1}, {id: carol}]\n"
                      "pools: {p: [alice, bob, carol]}\n"
                      "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    CHECK_EQ_STR(trace_of(cfg, leads_(6, "")),
                 "assigned:alice assigned:bob assigned:carol assigned:alice "
                 "assigned:carol assigned:alice");
}

TEST(round_robin_skips_away_agent_and_takes_them_back) {
    const char *cfg = AGENTS3 "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    const char *ev = "{\"id\":\"L1\"}\n"
                     "{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"away\"}\n"
                     "{\"id\":\"L2\"}\n{\"id\":\"L3\"}\n"
                     "{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"available\"}\n"
                     "{\"id\":\"L4\"}\n{\"id\":\"L5\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "assigned:alice assigned:carol assigned:alice assigned:bob assigned:carol");
}

TEST(weighted_round_robin_is_smooth_as_nginx) {
    const char *cfg = "agents: [{id: a, weight: 5}, {id: b}, {id: c}]\npools: {p: [a, b, c]}\n"
                      "rules: [{name: r, pool: p, strategy: weighted_round_robin}]\n";
    CHECK_EQ_STR(trace_of(cfg, leads_(14, "")),
                 "assigned:a assigned:a assigned:b assigned:a assigned:c assigned:a assigned:a "
                 "assigned:a assigned:a assigned:b assigned:a assigned:c assigned:a assigned:a");
}

TEST(weighted_round_robin_keeps_credit_of_agent_away) {
    /* weights 2,1: a b a | b away: a a | b back: nginx's credits resume */
    const char *cfg = "agents: [{id: a, weight: 2}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: weighted_round_robin}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n{\"id\":\"L3\"}\n"
                     "{\"type\":\"agent\",\"agent\":\"b\",\"status\":\"away\"}\n"
                     "{\"id\":\"L4\"}\n{\"id\":\"L5\"}\n"
                     "{\"type\":\"agent\",\"agent\":\"b\",\"status\":\"available\"}\n"
                     "{\"id\":\"L6\"}\n{\"id\":\"L7\"}\n{\"id\":\"L8\"}\n";
    /* credits (a,b): start 0,0. L1 a:2-3=-1,b1 | L2 a1,b2 -> b: b-1 | L3 a3 -> a:0,b0
     * b away (b keeps 0); L4,L5 only a (total 2): a picks, credit stays 0
     * b back: L6 a2,b1 -> a: -1 | L7 a1,b2 -> b: -1 | L8 a3,b0 -> a */
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "assigned:a assigned:b assigned:a assigned:a assigned:a assigned:a "
                 "assigned:b assigned:a");
}

/* top_producer's pool: seed leads go round robin (a S1 S4, b S2 S5, c S3),
 * then they close: a 1 won of 2, b 2 of 2, c 1 of 1. */
#define TP_CONFIG                                                                           \
    "agents: [{id: a}, {id: b}, {id: c}]\npools: {p: [a, b, c], q: [a, b, c]}\n"            \
    "rules: [{name: seed, when: 'source == \"seed\"', pool: q, strategy: round_robin},\n"   \
    "        {name: r, pool: p, strategy: top_producer, min_sample: 2}]\n"
#define TP_SEEDS                                                                            \
    "{\"id\":\"S1\",\"source\":\"seed\"}\n{\"id\":\"S2\",\"source\":\"seed\"}\n"                   \
    "{\"id\":\"S3\",\"source\":\"seed\"}\n{\"id\":\"S4\",\"source\":\"seed\"}\n"                   \
    "{\"id\":\"S5\",\"source\":\"seed\"}\n"                                                       \
    "{\"type\":\"progress\",\"lead\":\"S1\",\"status\":\"won\"}\n"                                 \
    "{\"type\":\"progress\",\"lead\":\"S4\",\"status\":\"lost\"}\n"                                \
    "{\"type\":\"progress\",\"lead\":\"S2\",\"status\":\"won\"}\n"                                 \
    "{\"type\":\"progress\",\"lead\":\"S5\",\"status\":\"won\"}\n"                                 \
    "{\"type\":\"progress\",\"lead\":\"S3\",\"status\":\"won\"}\n"

static void count_agents(const char *trace, int *counts, const char *const *names, int n) {
    for (int i = 0; i < n; i++) counts[i] = 0;
    char tok[64];
    const char *p = trace;
    while (*p) {
        int len = 0;
        while (p[len] && p[len] != ' ') len++;
        snprintf(tok, sizeof tok, "%.*s", len, p);
        for (int i = 0; i < n; i++) {
            char want[64];
            snprintf(want, sizeof want, "assigned:%s", names[i]);
            if (strcmp(tok, want) == 0) counts[i]++;
        }
        p += len;
        while (*p == ' ') p++;
    }
}

TEST(random_spreads_evenly_within_bounds) {
    const char *cfg = AGENTS3 "rules: [{name: r, pool: p, strategy: random}]\n";
    const char *names[] = { "alice", "bob", "carol" };
    int c[3];
    count_agents(trace_of(cfg, leads_(30000, "")), c, names, 3);
    for (int i = 0; i < 3; i++) CHECK(c[i] > 9400 && c[i] < 10600);   /* 10000 +- ~6 sigma */
    CHECK_EQ_INT(c[0] + c[1] + c[2], 30000);
}

TEST(weighted_random_follows_weights_within_bounds) {
    const char *cfg = "agents: [{id: a, weight: 3}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: weighted_random}]\n";
    const char *names[] = { "a", "b" };
    int c[2];
    count_agents(trace_of(cfg, leads_(20000, "")), c, names, 2);
    CHECK(c[0] > 14600 && c[0] < 15400);       /* 15000 +- ~6.5 sigma (sigma 61) */
    CHECK_EQ_INT(c[0] + c[1], 20000);
}

TEST(random_is_the_same_for_the_same_seed) {
    const char *cfg = AGENTS3 "rules: [{name: r, pool: p, strategy: random}]\n";
    char first[65536];
    snprintf(first, sizeof first, "%s", trace_of(cfg, leads_(50, "")));
    CHECK_EQ_STR(trace_of(cfg, leads_(50, "")), first);
}

TEST(least_busy_takes_fewest_open_then_longest_idle) {
    const char *cfg = AGENTS3 "rules: [{name: r, pool: p, strategy: least_busy}]\n";
    /* L1 alice, L2 bob, L3 carol (ties: never assigned, pool order); alice
     * wins L1 -> closed, so alice has 0 open: L4 alice; L5: all 1 open,
     * longest idle is bob (t=1s) */
    const char *ev = "{\"id\":\"L1\",\"received_at\":\"2026-01-01T00:00:00Z\"}\n"
                     "{\"id\":\"L2\",\"received_at\":\"2026-01-01T00:00:01Z\"}\n"
                     "{\"id\":\"L3\",\"received_at\":\"2026-01-01T00:00:02Z\"}\n"
                     "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\"}\n"
                     "{\"id\":\"L4\",\"received_at\":\"2026-01-01T00:00:03Z\"}\n"
                     "{\"id\":\"L5\",\"received_at\":\"2026-01-01T00:00:04Z\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "assigned:alice assigned:bob assigned:carol closed:alice assigned:alice "
                 "assigned:bob");
}

TEST(most_available_takes_most_free_capacity) {
    const char *cfg = "agents: [{id: a, capacity: 2}, {id: b, capacity: 4}, {id: c, capacity: 3}]\n"
                      "pools: {p: [a, b, c]}\n"
                      "rules: [{name: r, pool: p, strategy: most_available}]\n";
    /* free a2 b4 c3 -> b(3) ; b3 c3 tie: longest idle c (never) -> c ;
     * a2 b3 c2 -> b ; a2 b2 c2: a never assigned -> a */
    CHECK_EQ_STR(trace_of(cfg, leads_(4, "")),
                 "assigned:b assigned:c assigned:b assigned:a");
}

TEST(longest_idle_takes_who_waited_longest) {
    const char *cfg = AGENTS3 "rules: [{name: r, pool: p, strategy: longest_idle}]\n";
    const char *ev = "{\"id\":\"L1\",\"received_at\":\"2026-01-01T00:00:00Z\"}\n"
                     "{\"type\":\"assign\",\"lead\":\"L1\",\"agent\":\"carol\"}\n"
                     "{\"id\":\"L2\",\"received_at\":\"2026-01-01T00:01:00Z\"}\n"
                     "{\"id\":\"L3\",\"received_at\":\"2026-01-01T00:02:00Z\"}\n"
                     "{\"id\":\"L4\",\"received_at\":\"2026-01-01T00:03:00Z\"}\n";
    /* L1 alice; manual reassign to carol at 0:00 (carol last at 0:00,
     * alice at 0:00 too, earlier); L2: bob never -> bob; L3: alice and
     * carol both at 0:00 -> pool order alice; L4 carol */
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "assigned:alice assigned:carol assigned:bob assigned:alice assigned:carol");
}

TEST(fewest_assigned_counts_only_the_window) {
    const char *cfg = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                      "rules: [{name: r, pool: p, strategy: fewest_assigned, window: 1h}]\n";
    const char *ev = "{\"id\":\"L1\",\"received_at\":\"2026-01-01T00:00:00Z\"}\n"
                     "{\"type\":\"assign\",\"lead\":\"L1\",\"agent\":\"a\"}\n"
                     "{\"id\":\"L2\",\"received_at\":\"2026-01-01T00:30:00Z\"}\n"
                     "{\"id\":\"L3\",\"received_at\":\"2026-01-01T00:40:00Z\"}\n"
                     "{\"id\":\"L4\",\"received_at\":\"2026-01-01T01:35:00Z\"}\n";
    /* L1 -> a; assigning it to a again is refused (already a's).
     * 0:30: a 1, b 0 -> b; 0:40: a 1, b 1 -> a (pool order);
     * 1:35: the window starts at 0:35: a has 0:40 only, b nothing -> b */
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "assigned:a rejected:a assigned:b assigned:a assigned:b");
}

/* The "candidates" of decision N (1-based) of a run, as written: a static
 * buffer; "" when there is no such decision or it has none. */
static const char *candidates_of(const char *yaml, const char *events, int n) {
    static char buf[1 << 16];
    run_out o;
    buf[0] = '\0';
    if (run_engine(yaml, events, 1, true, &o) && o.json.data) {
        const char *line = o.json.data;
        for (int i = 1; i < n && line; i++) {
            line = strchr(line, '\n');
            if (line) line++;
        }
        const char *c = line ? strstr(line, "\"candidates\":") : NULL;
        const char *nl = line ? strchr(line, '\n') : NULL;
        const char *end = c ? strchr(c, ']') : NULL;
        if (c && end && (!nl || end < nl))
            snprintf(buf, sizeof buf, "%.*s", (int)(end + 1 - c), c);
    }
    run_release(&o);
    return buf;
}

/* Each ranking strategy's candidates carry the figures it ranked them by,
 * the chosen one's as they were before the lead counted. */
TEST(ranking_candidates_show_the_figures_they_were_ranked_by) {
    const char *lb = AGENTS3 "rules: [{name: r, pool: p, strategy: least_busy}]\n";
    const char *lb_ev = "{\"id\":\"L1\",\"at\":\"2026-01-01T00:00:00Z\"}\n"
                        "{\"id\":\"L2\",\"at\":\"2026-01-01T00:00:01Z\"}\n"
                        "{\"id\":\"L3\",\"at\":\"2026-01-01T00:00:02Z\"}\n"
                        "{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\","
                        "\"at\":\"2026-01-01T00:00:02Z\"}\n"
                        "{\"id\":\"L4\",\"at\":\"2026-01-01T00:00:03Z\"}\n";
    CHECK_EQ_STR(candidates_of(lb, lb_ev, 1),
                 "\"candidates\":[{\"agent\":\"alice\",\"chosen\":true,\"open\":0},"
                 "{\"agent\":\"bob\",\"eligible\":true,\"open\":0},"
                 "{\"agent\":\"carol\",\"eligible\":true,\"open\":0}]");
    CHECK_EQ_STR(candidates_of(lb, lb_ev, 5),
                 "\"candidates\":[{\"agent\":\"alice\",\"chosen\":true,\"open\":0,\"idle_ms\":3000},"
                 "{\"agent\":\"bob\",\"eligible\":true,\"open\":1,\"idle_ms\":2000},"
                 "{\"agent\":\"carol\",\"eligible\":true,\"open\":1,\"idle_ms\":1000}]");

    const char *ma = "agents: [{id: a, capacity: 2}, {id: b, capacity: 4}, {id: c},"
                     " {id: d, status: away}]\n"
                     "pools: {p: [a, b, c, d]}\n"
                     "rules: [{name: r, pool: p, strategy: most_available}]\n";
    CHECK_EQ_STR(candidates_of(ma, leads_(1, ""), 1),
                 "\"candidates\":[{\"agent\":\"a\",\"eligible\":true,\"open\":0,\"capacity\":2},"
                 "{\"agent\":\"b\",\"eligible\":true,\"open\":0,\"capacity\":4},"
                 "{\"agent\":\"c\",\"chosen\":true,\"open\":0},"
                 "{\"agent\":\"d\",\"skipped\":\"away\"}]");

    const char *fa = "agents: [{id: a}, {id: b}]\npools: {p: [a, b]}\n"
                     "rules: [{name: r, pool: p, strategy: fewest_assigned, window: 1h}]\n";
    const char *fa_ev = "{\"id\":\"L1\",\"at\":\"2026-01-01T00:00:00Z\"}\n"
                        "{\"id\":\"L2\",\"at\":\"2026-01-01T00:30:00Z\"}\n"
                        "{\"id\":\"L3\",\"at\":\"2026-01-01T00:40:00Z\"}\n"
                        "{\"id\":\"L4\",\"at\":\"2026-01-01T01:35:00Z\"}\n";
    /* at 1:35 the window starts at 0:35: a has L3, b nothing (L2 at 0:30) */
    CHECK_EQ_STR(candidates_of(fa, fa_ev, 4),
                 "\"candidates\":[{\"agent\":\"a\",\"eligible\":true,\"received\":1},"
                 "{\"agent\":\"b\",\"chosen\":true,\"received\":0}]");

    const char *tp = TP_CONFIG;
    const char *tp_ev =
        TP_SEEDS
        "{\"id\":\"L1\"}\n";
    /* c's 1 of 1 is under min_sample: ranked at the pool's 4 of 5 */
    CHECK_EQ_STR(candidates_of(tp, tp_ev, 11),
                 "\"candidates\":[{\"agent\":\"a\",\"eligible\":true,\"won\":1,\"closed\":2},"
                 "{\"agent\":\"b\",\"chosen\":true,\"won\":2,\"closed\":2},"
                 "{\"agent\":\"c\",\"eligible\":true,\"won\":1,\"closed\":1,"
                 "\"below_min_sample\":true}]");

    /* weights 5, 1, 1 give a a b a c a a; the credits at each pick, the
     * weights added: 5 1 1, 3 2 2, 1 3 3 (b first of the tie), 6 -3 4, ... */
    const char *wr = "agents: [{id: a, weight: 5}, {id: b}, {id: c}]\npools: {p: [a, b, c]}\n"
                     "rules: [{name: r, pool: p, strategy: weighted_round_robin}]\n";
    CHECK_EQ_STR(candidates_of(wr, leads_(7, ""), 1),
                 "\"candidates\":[{\"agent\":\"a\",\"chosen\":true,\"weight\":5,\"credit\":5},"
                 "{\"agent\":\"b\",\"eligible\":true,\"weight\":1,\"credit\":1},"
                 "{\"agent\":\"c\",\"eligible\":true,\"weight\":1,\"credit\":1}]");
    CHECK_EQ_STR(candidates_of(wr, leads_(7, ""), 3),
                 "\"candidates\":[{\"agent\":\"a\",\"eligible\":true,\"weight\":5,\"credit\":1},"
                 "{\"agent\":\"b\",\"chosen\":true,\"weight\":1,\"credit\":3},"
                 "{\"agent\":\"c\",\"eligible\":true,\"weight\":1,\"credit\":3}]");
    CHECK_EQ_STR(candidates_of(wr, leads_(7, ""), 4),
                 "\"candidates\":[{\"agent\":\"a\",\"chosen\":true,\"weight\":5,\"credit\":6},"
                 "{\"agent\":\"b\",\"eligible\":true,\"weight\":1,\"credit\":-3},"
                 "{\"agent\":\"c\",\"eligible\":true,\"weight\":1,\"credit\":4}]");
    CHECK_EQ_STR(candidates_of(wr, leads_(7, ""), 5),
                 "\"candidates\":[{\"agent\":\"a\",\"eligible\":true,\"weight\":5,\"credit\":4},"
                 "{\"agent\":\"b\",\"eligible\":true,\"weight\":1,\"credit\":-2},"
                 "{\"agent\":\"c\",\"chosen\":true,\"weight\":1,\"credit\":5}]");
    /* an agent away keeps its credit; the others' picks go on without it */
    const char *wr_away = "{\"id\":\"L1\"}\n"
                          "{\"type\":\"agent\",\"agent\":\"a\",\"status\":\"away\"}\n"
                          "{\"id\":\"L2\"}\n{\"id\":\"L3\"}\n"
                          "{\"type\":\"agent\",\"agent\":\"a\",\"status\":\"available\"}\n"
                          "{\"id\":\"L4\"}\n";
    /* L1: a 5 chosen (then -2); without a, b and c: L2 2 2, b chosen (then
     * 0); L3 1 3, c chosen (then 1); a back with its -2: L4 3 2 2 */
    CHECK_EQ_STR(candidates_of(wr, wr_away, 2),
                 "\"candidates\":[{\"agent\":\"a\",\"skipped\":\"away\"},"
                 "{\"agent\":\"b\",\"chosen\":true,\"weight\":1,\"credit\":2},"
                 "{\"agent\":\"c\",\"eligible\":true,\"weight\":1,\"credit\":2}]");
    CHECK_EQ_STR(candidates_of(wr, wr_away, 4),
                 "\"candidates\":[{\"agent\":\"a\",\"chosen\":true,\"weight\":5,\"credit\":3},"
                 "{\"agent\":\"b\",\"eligible\":true,\"weight\":1,\"credit\":2},"
                 "{\"agent\":\"c\",\"eligible\":true,\"weight\":1,\"credit\":2}]");

    /* round robin ranks by nothing but its turn: no figures */
    const char *rr = AGENTS3 "rules: [{name: r, pool: p, strategy: round_robin}]\n";
    CHECK_EQ_STR(candidates_of(rr, leads_(1, ""), 1),
                 "\"candidates\":[{\"agent\":\"alice\",\"chosen\":true},"
                 "{\"agent\":\"bob\",\"eligible\":true},{\"agent\":\"carol\",\"eligible\":true}]");
}

TEST(top_down_takes_first_eligible_in_pool_order) {
    const char *cfg = "agents: [{id: a, capacity: 2}, {id: b, capacity: 1}, {id: c}]\n"
                      "pools: {p: [a, b, c]}\n"
                      "rules: [{name: r, pool: p, strategy: top_down}]\n";
    CHECK_EQ_STR(trace_of(cfg, leads_(5, "")),
                 "assigned:a assigned:a assigned:b assigned:c assigned:c");
}

TEST(top_producer_ranks_by_won_over_closed_after_min_sample) {
    const char *cfg = TP_CONFIG;
    /* seed: a gets S1,S4 (won, lost) 1/2; b gets S2,S5 (won, won) 2/2;
     * c gets S3 (won) 1/1 but under min_sample: ranked at overall 4/5.
     * b (1.0) > c (0.8) > a (0.5): new leads go to b */
    const char *ev =
        TP_SEEDS
        "{\"id\":\"L1\"}\n"
        "{\"type\":\"agent\",\"agent\":\"b\",\"status\":\"away\"}\n"
        "{\"id\":\"L2\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "assigned:a assigned:b assigned:c assigned:a assigned:b "
                 "closed:a closed:a closed:b closed:b closed:c assigned:b assigned:c");
}

TEST(owner_routes_account_domain_and_returning_leads_to_owner) {
    const char *cfg = AGENTS3 "accounts: [{id: acme, domains: [acme.com], owner: carol}]\n"
                      "rules: [{name: own, pool: p, strategy: owner},\n"
                      "        {name: rr, pool: p, strategy: round_robin}]\n";
    const char *ev = "{\"id\":\"L1\",\"email\":\"jo@ACME.com\"}\n"
                     "{\"id\":\"L2\",\"email\":\"x@other.org\"}\n"
                     "{\"id\":\"L3\",\"email\":\"x@other.org\"}\n"
                     "{\"id\":\"L4\",\"account\":\"acme\"}\n"
                     "{\"id\":\"L5\",\"phone\":\"+1555\"}\n"
                     "{\"id\":\"L6\",\"phone\":\"+1555\"}\n";
    /* L1 domain -> carol; L2 no owner -> rr alice; L3 same email as open
     * L2 -> alice; L4 account -> carol; L5 rr bob; L6 same phone -> bob */
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "assigned:carol assigned:alice assigned:alice assigned:carol "
                 "assigned:bob assigned:bob");
}

TEST(broadcast_offers_all_and_first_claim_wins) {
    const char *cfg = "agents: [{id: alice}, {id: bob, status: away}, {id: carol}]\n"
                      "pools: {p: [alice, bob, carol]}\n"
                      "rules: [{name: r, pool: p, strategy: broadcast}]\n";
    const char *ev = "{\"id\":\"L1\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"carol\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\",\"lead\":\"L1\"}\n"
                     "{\"id\":\"L2\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"bob\",\"lead\":\"L2\"}\n"
                     "{\"type\":\"decline\",\"agent\":\"alice\",\"lead\":\"L2\"}\n"
                     "{\"type\":\"accept\",\"agent\":\"carol\",\"lead\":\"L2\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "offered:alice,carol claimed:carol claim_refused:alice "
                 "offered:alice,carol claim_refused:bob claimed:carol");
}

TEST(broadcast_declined_by_all_falls_back) {
    const char *cfg = "agents: [{id: alice}, {id: bob}]\npools: {p: [alice, bob]}\n"
                      "rules: [{name: r, pool: p, strategy: broadcast, fallback: hold}]\n";
    const char *ev = "{\"id\":\"L1\"}\n"
                     "{\"type\":\"decline\",\"agent\":\"alice\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"decline\",\"agent\":\"bob\",\"lead\":\"L1\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev), "offered:alice,bob held");
}

TEST(queue_gives_next_lead_on_claim_in_pool_order) {
    const char *fifo = AGENTS3 "rules: [{name: r, pool: p, strategy: queue}]\n";
    const char *ev = "{\"id\":\"L1\",\"score\":10}\n{\"id\":\"L2\",\"score\":90}\n"
                     "{\"id\":\"L3\",\"score\":50}\n"
                     "{\"type\":\"claim\",\"agent\":\"bob\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"bob\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\",\"lead\":\"L3\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n";
    run_out o;
    CHECK(run_engine(fifo, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "queued queued queued claimed:bob claimed:bob "
                               "claim_refused:alice claimed:alice claim_refused:alice");
    CHECK_CONTAINS(o.json.data, "\"lead\":\"L1\",\"action\":\"claimed\",\"agent\":\"bob\"");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"take_next\"");
    CHECK_CONTAINS(o.json.data, "\"reason\":\"queue_empty\"");
    run_release(&o);
}

/* A pull that alice cannot make says why in her own terms: at capacity,
 * then away, whatever the first waiting lead is (here one she gave back,
 * which said "declined"). */
TEST(pull_refusal_names_the_agents_own_reason) {
    const char *cfg = "agents: [{id: alice, capacity: 1}, {id: bob}]\npools: {p: [alice, bob]}\n"
                      "rules: [{name: r, pool: p, strategy: queue}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"agent\",\"agent\":\"alice\",\"status\":\"away\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "queued queued claimed:alice released:alice queued claimed:alice "
                               "claim_refused:alice claim_refused:alice");
    const char *first = strstr(o.json.data, "\"action\":\"claim_refused\"");
    CHECK(first != NULL);
    if (first) {
        CHECK_CONTAINS(first, "\"reason\":\"at_capacity\"");
        const char *second = strstr(first + 1, "\"action\":\"claim_refused\"");
        CHECK(second != NULL);
        if (second) CHECK_CONTAINS(second, "\"reason\":\"away\"");
    }
    CHECK(strstr(o.json.data, "\"reason\":\"declined\"") == NULL);
    run_release(&o);
}

TEST(queue_priority_and_lifo_orders) {
    const char *base = "agents: [{id: alice}]\npools: {p: {agents: [alice], order: %s}}\n"
                       "rules: [{name: r, pool: p, strategy: queue}]\n";
    const char *ev = "{\"id\":\"L1\",\"score\":10}\n{\"id\":\"L2\",\"score\":90}\n"
                     "{\"id\":\"L3\",\"score\":50}\n{\"id\":\"L4\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\"}\n";
    const char *orders[] = { "priority", "lifo", "fifo" };
    const char *want[] = { "L2 L3 L1 L4", "L4 L3 L2 L1", "L1 L2 L3 L4" };
    for (int i = 0; i < 3; i++) {
        char cfg[512];
        snprintf(cfg, sizeof cfg, base, orders[i]);
        run_out o;
        CHECK(run_engine(cfg, ev, 1, false, &o));
        char got[128] = "";
        const char *p = o.json.data;
        while (p && (p = strstr(p, "\"action\":\"claimed\""))) {
            /* the lead id precedes the action: scan back to "lead":" */
            const char *q = p;
            while (q > o.json.data && strncmp(q, "\"lead\":\"", 8) != 0) q--;
            q += 8;
            char id[16];
            int n = 0;
            while (q[n] != '"' && n < 15) { id[n] = q[n]; n++; }
            id[n] = 0;
            if (got[0]) strcat(got, " ");
            strcat(got, id);
            p++;
        }
        CHECK_EQ_STR(got, want[i]);
        run_release(&o);
    }
}

TEST(open_pool_lets_member_claim_by_id) {
    const char *cfg = "agents: [{id: alice}, {id: bob}, {id: zed}]\npools: {p: [alice, bob]}\n"
                      "rules: [{name: r, pool: p, strategy: open_pool}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"id\":\"L2\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"bob\",\"lead\":\"L2\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"zed\",\"lead\":\"L1\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\",\"lead\":\"L2\"}\n"
                     "{\"type\":\"claim\",\"agent\":\"alice\",\"lead\":\"L1\"}\n";
    CHECK_EQ_STR(trace_of(cfg, ev),
                 "queued queued claimed:bob claim_refused:zed claim_refused:alice claimed:alice");
}

TEST(manual_holds_until_assign) {
    const char *cfg = AGENTS3 "rules: [{name: r, pool: p, strategy: manual}]\n";
    const char *ev = "{\"id\":\"L1\"}\n{\"type\":\"assign\",\"lead\":\"L1\",\"agent\":\"bob\"}\n";
    run_out o;
    CHECK(run_engine(cfg, ev, 1, false, &o));
    CHECK_EQ_STR(o.trace.data, "held assigned:bob");
    CHECK_CONTAINS(o.json.data, "\"action\":\"assigned\",\"agent\":\"bob\",\"rule\":\"r\","
                                "\"pool\":\"p\",\"strategy\":\"manual\"");
    run_release(&o);
}

int main(void) {
    RUN(round_robin_gives_leads_in_turn);
    RUN(round_robin_skips_agent_at_capacity);
    RUN(round_robin_skips_away_agent_and_takes_them_back);
    RUN(weighted_round_robin_is_smooth_as_nginx);
    RUN(weighted_round_robin_keeps_credit_of_agent_away);
    RUN(random_spreads_evenly_within_bounds);
    RUN(weighted_random_follows_weights_within_bounds);
    RUN(random_is_the_same_for_the_same_seed);
    RUN(least_busy_takes_fewest_open_then_longest_idle);
    RUN(most_available_takes_most_free_capacity);
    RUN(longest_idle_takes_who_waited_longest);
    RUN(fewest_assigned_counts_only_the_window);
    RUN(ranking_candidates_show_the_figures_they_were_ranked_by);
    RUN(top_down_takes_first_eligible_in_pool_order);
    RUN(top_producer_ranks_by_won_over_closed_after_min_sample);
    RUN(owner_routes_account_domain_and_returning_leads_to_owner);
    RUN(broadcast_offers_all_and_first_claim_wins);
    RUN(broadcast_declined_by_all_falls_back);
    RUN(queue_gives_next_lead_on_claim_in_pool_order);
    RUN(pull_refusal_names_the_agents_own_reason);
    RUN(queue_priority_and_lifo_orders);
    RUN(open_pool_lets_member_claim_by_id);
    RUN(manual_holds_until_assign);
    return test_report();
}
