/* test_decision.c -- decisions out: exact JSON, key order, escaping. */
#include "leadrouter/buf.h"
#include "leadrouter/decision.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "test.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define AT_10H 1793613600000            /* 2026-11-02T10:00:00Z */

static lr_buf out = LR_BUF_INIT;

/* The JSON of D, alone in the buffer. */
static const char *encode(const lr_decision *d) {
    lr_buf_reset(&out);
    if (lr_decision_write_json(d, &out) != LR_OK) return "(error)";
    return out.data;
}

/* The JSON of a decision whose only string is the lead id S. */
static const char *with_lead(const char *s) {
    lr_decision d = { .at = LR_TIME_NONE, .lead = s, .action = LR_ACTION_HELD };
    return encode(&d);
}

/* L1 assigned to alice by rule hot-west, four candidates in a pool of 4. */
static const lr_candidate four_cands[] = {
    { .agent = "alice", .state = LR_CAND_CHOSEN, .reason = LR_SKIP_NONE },
    { .agent = "bob", .state = LR_CAND_ELIGIBLE, .reason = LR_SKIP_NONE },
    { .agent = "carol", .state = LR_CAND_SKIPPED, .reason = LR_SKIP_AT_CAPACITY },
    { .agent = "dave", .state = LR_CAND_SKIPPED, .reason = LR_SKIP_CAP_DAY },
};

static lr_decision assigned_l1(void) {
    return (lr_decision){ .at = AT_10H, .lead = "L1", .action = LR_ACTION_ASSIGNED,
                          .agent = "alice", .rule = "hot-west", .pool = "west",
                          .strategy = "round_robin", .cands = four_cands, .ncands = 4,
                          .pool_size = 4 };
}

TEST(assigned_decision_with_candidates) {
    lr_decision d = assigned_l1();
    CHECK_EQ_STR(encode(&d),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"assigned\","
        "\"agent\":\"alice\",\"rule\":\"hot-west\",\"pool\":\"west\",\"strategy\":\"round_robin\","
        "\"why\":{\"candidates\":[{\"agent\":\"alice\",\"chosen\":true},"
        "{\"agent\":\"bob\",\"eligible\":true},{\"agent\":\"carol\",\"skipped\":\"at_capacity\"},"
        "{\"agent\":\"dave\",\"skipped\":\"cap_day\"}]}}");
}

TEST(broadcast_writes_agents_instead_of_agent) {
    const char *agents[] = { "amy", "ben", "cy" };
    lr_decision d = { .at = AT_10H + 250, .lead = "L2", .action = LR_ACTION_OFFERED,
                      .agent = "ignored", .agents = agents, .nagents = 3,
                      .rule = "shark", .pool = "tank", .strategy = "broadcast" };
    CHECK_EQ_STR(encode(&d),
        "{\"at\":\"2026-11-02T10:00:00.250Z\",\"lead\":\"L2\",\"action\":\"offered\","
        "\"agents\":[\"amy\",\"ben\",\"cy\"],\"rule\":\"shark\",\"pool\":\"tank\","
        "\"strategy\":\"broadcast\"}");
}

TEST(rejected_decision_with_reason_and_detail) {
    lr_decision d = { .at = AT_10H, .lead = "L9", .action = LR_ACTION_REJECTED,
                      .reason = "unknown_lead", .detail = "no lead 'L9' is open" };
    CHECK_EQ_STR(encode(&d),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L9\",\"action\":\"rejected\","
        "\"why\":{\"reason\":\"unknown_lead\",\"detail\":\"no lead 'L9' is open\"}}");
}

TEST(closed_decision_writes_status) {
    lr_decision d = { .at = AT_10H, .lead = "L1", .action = LR_ACTION_CLOSED, .agent = "bob",
                      .status = "won" };
    CHECK_EQ_STR(encode(&d),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"closed\","
        "\"agent\":\"bob\",\"status\":\"won\"}");
}

TEST(pool_size_written_only_when_larger_than_candidates) {
    lr_candidate c[] = { { .agent = "alice", .state = LR_CAND_CHOSEN, .reason = LR_SKIP_NONE },
                         { .agent = "bob", .state = LR_CAND_SKIPPED, .reason = LR_SKIP_DECLINED } };
    lr_decision d = { .at = LR_TIME_NONE, .lead = "L1", .action = LR_ACTION_ASSIGNED,
                      .agent = "alice", .cands = c, .ncands = 2, .pool_size = 1500,
                      .reason = "explain_limit" };
    CHECK_EQ_STR(encode(&d),
        "{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\","
        "\"why\":{\"reason\":\"explain_limit\",\"candidates\":[{\"agent\":\"alice\",\"chosen\":true},"
        "{\"agent\":\"bob\",\"skipped\":\"declined\"}],\"pool_size\":1500}}");
    d.pool_size = 2;
    d.reason = NULL;
    CHECK_EQ_STR(encode(&d),
        "{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\","
        "\"why\":{\"candidates\":[{\"agent\":\"alice\",\"chosen\":true},"
        "{\"agent\":\"bob\",\"skipped\":\"declined\"}]}}");
    d.ncands = 0;
    d.pool_size = 7;
    CHECK_EQ_STR(encode(&d), "{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\","
                            "\"why\":{\"pool_size\":7}}");
}

TEST(absent_members_are_left_out) {
    lr_decision d = { .at = LR_TIME_NONE, .action = LR_ACTION_UNROUTED };
    CHECK_EQ_STR(encode(&d), "{\"action\":\"unrouted\"}");
    d.at = 0;                                   /* the epoch is a time, not absence */
    d.reason = "no_rule_matched";
    CHECK_EQ_STR(encode(&d), "{\"at\":\"1970-01-01T00:00:00Z\",\"action\":\"unrouted\","
                            "\"why\":{\"reason\":\"no_rule_matched\"}}");
}

TEST(escapes_quotes_backslashes_and_controls) {
    CHECK_EQ_STR(with_lead("a\"b\\c/d"), "{\"lead\":\"a\\\"b\\\\c/d\",\"action\":\"held\"}");
    CHECK_EQ_STR(with_lead("\b\f\n\r\t"), "{\"lead\":\"\\b\\f\\n\\r\\t\",\"action\":\"held\"}");
    CHECK_EQ_STR(with_lead("\x01\x1f\x7f"), "{\"lead\":\"\\u0001\\u001F\x7f\",\"action\":\"held\"}");
}

TEST(valid_utf8_passes_through) {
    CHECK_EQ_STR(with_lead("Jos\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF"),
                 "{\"lead\":\"Jos\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xEF\xBF\xBF\",\"action\":\"held\"}");
}

TEST(invalid_utf8_becomes_replacement_characters) {
#define R "\xEF\xBF\xBD"
    static const struct { const char *in, *want; } cases[] = {
        { "a\x80z", "a" R "z" },                          /* lone continuation */
        { "a\xE2\x82z", "a" R "z" },                      /* truncated: one maximal subpart */
        { "a\xE2\x82", "a" R },                           /* truncated at the end */
        { "\xC0\xAF", R R },                              /* overlong */
        { "\xED\xA0\x80", R R R },                        /* surrogate */
        { "\xF4\x90\x80\x80", R R R R },                  /* above U+10FFFF */
        { "\xF0\x9F\x98z", R "z" },
        { "\xFF\xFE", R R },
        { "\xE0\x9F\x80", R R R },                        /* overlong 3-byte */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char want[128];
        snprintf(want, sizeof want, "{\"lead\":\"%s\",\"action\":\"held\"}", cases[i].want);
        CHECK_EQ_STR(with_lead(cases[i].in), want);
    }
#undef R
}

/* Random strings: valid UTF-8 must come out byte-identical to jansson's
 * encoding; any bytes at all must come out as JSON that jansson reads. */

/* Writes code point CP (not a surrogate) as UTF-8 at P; returns its length. */
static size_t put_utf8(char *p, uint32_t cp) {
    if (cp < 0x80) { p[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        p[0] = (char)(0xC0 | cp >> 6); p[1] = (char)(0x80 | (cp & 63));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (char)(0xE0 | cp >> 12); p[1] = (char)(0x80 | (cp >> 6 & 63));
        p[2] = (char)(0x80 | (cp & 63));
        return 3;
    }
    p[0] = (char)(0xF0 | cp >> 18); p[1] = (char)(0x80 | (cp >> 12 & 63));
    p[2] = (char)(0x80 | (cp >> 6 & 63)); p[3] = (char)(0x80 | (cp & 63));
    return 4;
}
TEST(escaping_matches_jansson_and_always_gives_valid_json) {
    uint32_t x = 12345;
#define NEXT() (x ^= x << 13, x ^= x >> 17, x ^= x << 5, x)
    char s[200], want[1400];
    int bad = 0;
    for (int round = 0; round < 5000 && bad < 5; round++) {
        size_t n = 0, len = NEXT() % 40;
        for (size_t k = 0; k < len; k++) {
            uint32_t cp, kind = NEXT() % 6;
            cp = kind == 0 ? 1 + NEXT() % 0x1F : kind == 1 ? (uint32_t)"\"\\/ a"[NEXT() % 5] :
                 kind == 2 ? 0x80 + NEXT() % 0x780 : kind == 3 ? 0x800 + NEXT() % 0xF800 :
                 kind == 4 ? 0x10000 + NEXT() % 0x100000 : 0x20 + NEXT() % 0x60;
            if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
            n += put_utf8(s + n, cp);
        }
        s[n] = '\0';
        json_t *j = json_string(s);
        CHECK(j != NULL);
        if (!j) { bad++; continue; }
        size_t m = json_dumpb(j, want, sizeof want, JSON_ENCODE_ANY);
        json_decref(j);
        want[m] = '\0';
        lr_decision d = { .at = LR_TIME_NONE, .action = LR_ACTION_HELD, .lead = s };
        const char *got = encode(&d);
        /* got is {"lead":<string>,"action":"held"} */
        if (strncmp(got + 8, want, m) != 0 || strcmp(got + 8 + m, ",\"action\":\"held\"}") != 0) {
            bad++;
            TEST_FAIL_("round %d: got %s want %s", round, got, want);
        }
    }
    for (int round = 0; round < 5000 && bad < 5; round++) {
        size_t len = NEXT() % 24;
        for (size_t k = 0; k < len; k++) s[k] = (char)(1 + NEXT() % 255);
        s[len] = '\0';
        const char *got = with_lead(s);
        json_error_t je;
        json_t *j = json_loads(got, 0, &je);
        if (!j) { bad++; TEST_FAIL_("round %d: invalid JSON: %s", round, je.text); continue; }
        CHECK(json_is_string(json_object_get(j, "lead")));
        json_decref(j);
    }
#undef NEXT
}

TEST(appends_and_gives_identical_bytes_for_identical_decisions) {
    lr_candidate c[] = { { .agent = "alice", .state = LR_CAND_CHOSEN, .reason = LR_SKIP_NONE } };
    lr_decision d = { .at = AT_10H, .lead = "L1", .action = LR_ACTION_ASSIGNED, .agent = "alice",
                      .cands = c, .ncands = 1 };
    lr_buf b = LR_BUF_INIT;
    lr_buf_puts(&b, "prefix|");
    CHECK_EQ_INT(lr_decision_write_json(&d, &b), LR_OK);
    size_t one = b.len - 7;
    CHECK_EQ_INT(lr_decision_write_json(&d, &b), LR_OK);
    CHECK_EQ_INT(b.len, 7 + 2 * one);
    CHECK(memcmp(b.data + 7, b.data + 7 + one, one) == 0);
    CHECK(strncmp(b.data, "prefix|{\"at\"", 12) == 0);
    CHECK(b.data[b.len - 1] == '}');                   /* no trailing newline */
    CHECK_EQ_INT(strlen(b.data), b.len);
    lr_buf_release(&b);
}

TEST(large_decision_grows_the_buffer) {
    static lr_candidate c[2000];
    static char names[2000][24];
    for (int i = 0; i < 2000; i++) {
        snprintf(names[i], sizeof names[i], "agent%04d", i);
        c[i] = (lr_candidate){ .agent = names[i], .state = i ? LR_CAND_SKIPPED : LR_CAND_CHOSEN, .reason = LR_SKIP_OFFLINE };
    }
    lr_decision d = { .at = AT_10H, .lead = "L1", .action = LR_ACTION_ASSIGNED, .agent = names[0],
                      .cands = c, .ncands = 2000 };
    const char *s = encode(&d);
    CHECK_EQ_INT(strlen(s), out.len);
    CHECK(strstr(s, "{\"agent\":\"agent1999\",\"skipped\":\"offline\"}]}}") != NULL);
    json_t *j = json_loads(s, 0, NULL);
    CHECK(j && json_array_size(json_object_get(json_object_get(j, "why"), "candidates")) == 2000);
    json_decref(j);
}

/* A candidate whose id length is given (the engine's, from the config) is
 * written without the escaping pass: the bytes must be the same as with
 * the length unknown, for ids of 1 to 40 bytes (every copy the writer
 * has) and for every skip reason, each at the end of a large buffer. */
TEST(known_id_lengths_write_the_same_bytes) {
    static char names[40][48];
    lr_candidate c[40], plain[40];
    for (int i = 0; i < 40; i++) {
        for (int k = 0; k <= i; k++) names[i][k] = "abcdefghij0123456789_.@-ABCDEFGHIJKLMNOPQRSTUVWXYZ"[(i + k) % 50];
        names[i][i + 1] = '\0';
        lr_cand_state st = i == 7 ? LR_CAND_CHOSEN : i % 4 == 1 ? LR_CAND_ELIGIBLE : LR_CAND_SKIPPED;
        lr_skip r = st == LR_CAND_SKIPPED ? (lr_skip)(1 + i % (LR_SKIP__COUNT - 1)) : LR_SKIP_NONE;
        c[i] = (lr_candidate){ .agent = names[i], .state = st, .reason = r,
                               .agent_len = strlen(names[i]) };
        plain[i] = c[i];
        plain[i].agent_len = 0;
    }
    for (size_t n = 1; n <= 40; n++) {
        lr_decision d = { .at = AT_10H, .lead = "L1", .action = LR_ACTION_ASSIGNED,
                          .agent = names[7], .cands = plain, .ncands = n, .pool_size = 99 };
        char *want = strdup(encode(&d));
        d.cands = c;
        lr_buf b = LR_BUF_INIT;                 /* exactly the room the writer asks for */
        CHECK_EQ_INT(lr_decision_write_json(&d, &b), LR_OK);
        CHECK_EQ_STR(b.data, want);
        json_t *j = json_loads(b.data, 0, NULL);
        CHECK(j != NULL);
        json_decref(j);
        lr_buf_release(&b);
        free(want);
    }
    for (int r = 1; r < LR_SKIP__COUNT; r++) {  /* each reason written by its name */
        lr_candidate one = { .agent = "x", .state = LR_CAND_SKIPPED, .reason = (lr_skip)r,
                             .agent_len = 1 };
        lr_decision d = { .lead = "L1", .action = LR_ACTION_QUEUED, .at = LR_TIME_NONE,
                          .cands = &one, .ncands = 1 };
        char want[128];
        snprintf(want, sizeof want, "{\"lead\":\"L1\",\"action\":\"queued\",\"why\":"
                 "{\"candidates\":[{\"agent\":\"x\",\"skipped\":\"%s\"}]}}", lr_skip_names[r]);
        CHECK_EQ_STR(encode(&d), want);
    }
}

/* ---- the brief form (webhooks' `why: brief`) ----------------------------- */

/* The brief form of D, alone in the buffer. */
static const char *brief(const lr_decision *d) {
    lr_buf_reset(&out);
    if (lr_decision_write_brief(d, &out) != LR_OK) return "(error)";
    return out.data;
}

TEST(brief_form_replaces_candidates_with_the_pool_size) {
    lr_decision d = assigned_l1();
    CHECK_EQ_STR(brief(&d),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"assigned\","
        "\"agent\":\"alice\",\"rule\":\"hot-west\",\"pool\":\"west\",\"strategy\":\"round_robin\","
        "\"why\":{\"pool_size\":4}}");
    d.pool_size = 0;                            /* unknown or smaller: the candidates count */
    CHECK_EQ_STR(brief(&d),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"assigned\","
        "\"agent\":\"alice\",\"rule\":\"hot-west\",\"pool\":\"west\",\"strategy\":\"round_robin\","
        "\"why\":{\"pool_size\":4}}");
    d.pool_size = 1500;                         /* larger (explain_limit): it wins */
    d.reason = "explain_limit";
    d.ncands = 2;
    CHECK_EQ_STR(brief(&d),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"assigned\","
        "\"agent\":\"alice\",\"rule\":\"hot-west\",\"pool\":\"west\",\"strategy\":\"round_robin\","
        "\"why\":{\"reason\":\"explain_limit\",\"pool_size\":1500}}");
}

TEST(brief_form_keeps_reason_and_detail_and_leaves_out_an_empty_why) {
    lr_decision d = { .at = AT_10H, .lead = "L9", .action = LR_ACTION_REJECTED,
                      .reason = "unknown_lead", .detail = "no lead 'L9' is open" };
    CHECK_EQ_STR(brief(&d),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L9\",\"action\":\"rejected\","
        "\"why\":{\"reason\":\"unknown_lead\",\"detail\":\"no lead 'L9' is open\"}}");
    lr_candidate c[] = { { .agent = "bob", .state = LR_CAND_SKIPPED, .reason = LR_SKIP_OFFLINE } };
    lr_decision q = { .at = LR_TIME_NONE, .lead = "L2", .action = LR_ACTION_QUEUED,
                      .pool = "team", .cands = c, .ncands = 1, .detail = "all \"away\"" };
    CHECK_EQ_STR(brief(&q), "{\"lead\":\"L2\",\"action\":\"queued\",\"pool\":\"team\","
                            "\"why\":{\"detail\":\"all \\\"away\\\"\",\"pool_size\":1}}");
    lr_decision closed = { .at = AT_10H, .lead = "L1", .action = LR_ACTION_CLOSED,
                           .agent = "bob", .status = "won" };
    CHECK_EQ_STR(brief(&closed),
        "{\"at\":\"2026-11-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"closed\","
        "\"agent\":\"bob\",\"status\":\"won\"}");
    const char *agents[] = { "amy", "ben" };  /* a broadcast with no pool told */
    lr_decision b = { .at = LR_TIME_NONE, .lead = "L3", .action = LR_ACTION_OFFERED,
                      .agents = agents, .nagents = 2 };
    CHECK_EQ_STR(brief(&b), "{\"lead\":\"L3\",\"action\":\"offered\",\"agents\":[\"amy\",\"ben\"]}");
    lr_buf p = LR_BUF_INIT;                     /* it appends, as the JSON writer does */
    CHECK_EQ_INT(lr_buf_puts(&p, "x|"), LR_OK);
    CHECK_EQ_INT(lr_decision_write_brief(&b, &p), LR_OK);
    CHECK_EQ_STR(p.data, "x|{\"lead\":\"L3\",\"action\":\"offered\",\"agents\":[\"amy\",\"ben\"]}");
    CHECK_EQ_INT(p.len, strlen(p.data));
    lr_buf_release(&p);
}

/* A random string for a generated decision: ASCII, characters JSON
 * escapes, controls, 2- to 4-byte UTF-8, and now and then a byte that is
 * not UTF-8 at all (the writer makes it U+FFFD). Into BUF (room for 200). */
static const char *gen_str(uint32_t *x, char *buf) {
#define NEXT() (*x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5, *x)
    size_t n = 0, len = NEXT() % 24;
    for (size_t k = 0; k < len; k++) {
        uint32_t cp, kind = NEXT() % 8;
        if (kind == 7) { buf[n++] = (char)(0x80 + NEXT() % 0x80); continue; }
        cp = kind == 0 ? 1 + NEXT() % 0x1F : kind == 1 ? (uint32_t)"\"\\/ a\x7f"[NEXT() % 6] :
             kind == 2 ? 0x80 + NEXT() % 0x780 : kind == 3 ? 0x800 + NEXT() % 0xF800 :
             kind == 4 ? 0x10000 + NEXT() % 0x100000 : 0x20 + NEXT() % 0x60;
        if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
        n += put_utf8(buf + n, cp);
    }
    buf[n] = '\0';
    return buf;
}

/* The text path (a decision the store kept as JSON, read with jansson)
 * and the fast path (from the decision) give the same bytes, for
 * generated decisions: any members present or not, 0 to 6 candidates with
 * escaped and non-ASCII ids, a pool size smaller, equal or larger. */
TEST(brief_of_the_json_text_is_byte_for_byte_the_brief_of_the_decision) {
    uint32_t seed = 777, *x = &seed;
    static char strs[10][200], ids[6][200], ags[3][200];
    lr_buf full = LR_BUF_INIT, text = LR_BUF_INIT, fast = LR_BUF_INIT;
    int bad = 0, with_cands = 0, pool_added = 0;
    for (int round = 0; round < 4000 && bad < 5; round++) {
        const char *s[10];
        for (int k = 0; k < 10; k++)            /* each absent one time in four */
            s[k] = NEXT() % 4 ? gen_str(x, strs[k]) : NULL;
        lr_candidate c[6];
        size_t nc = NEXT() % 3 ? NEXT() % 7 : 0;
        for (size_t i = 0; i < nc; i++) {
            lr_cand_state st = (lr_cand_state)(NEXT() % 3);
            c[i] = (lr_candidate){ .agent = gen_str(x, ids[i]), .state = st,
                                   .reason = st == LR_CAND_SKIPPED
                                       ? (lr_skip)(1 + NEXT() % (LR_SKIP__COUNT - 1)) : LR_SKIP_NONE };
        }
        const char *agents[3];
        size_t na = NEXT() % 5 == 0 ? 1 + NEXT() % 3 : 0;
        for (size_t i = 0; i < na; i++) agents[i] = gen_str(x, ags[i]);
        uint32_t ps = NEXT() % 4;
        lr_decision d = {
            .at = NEXT() % 4 ? AT_10H + (lr_time)(NEXT() % 100000) : LR_TIME_NONE,
            .lead = s[0], .action = (lr_action)(NEXT() % LR_ACTION__COUNT), .agent = s[1],
            .agents = agents, .nagents = na, .rule = s[2], .pool = s[3], .strategy = s[4],
            .status = s[5], .reason = NEXT() % 2 ? s[6] : NULL, .detail = NEXT() % 2 ? s[7] : NULL,
            .cands = c, .ncands = nc,
            .pool_size = ps == 0 ? 0 : ps == 1 ? nc : nc + 1 + NEXT() % 5000,
        };
        lr_buf_reset(&full);
        lr_buf_reset(&text);
        lr_buf_reset(&fast);
        CHECK_EQ_INT(lr_decision_write_json(&d, &full), LR_OK);
        int rc = lr_decision_json_brief(full.data, full.len, &text);
        CHECK_EQ_INT(lr_decision_write_brief(&d, &fast), LR_OK);
        if (rc != LR_OK || text.len != fast.len || memcmp(text.data, fast.data, fast.len) != 0) {
            bad++;
            TEST_FAIL_("round %d (rc %d):\n    full: %s\n    text: %s\n    fast: %s", round, rc,
                       full.data, text.data ? text.data : "", fast.data);
            continue;
        }
        if (strstr(fast.data, "\"candidates\"")) {
            bad++;
            TEST_FAIL_("round %d: candidates in %s", round, fast.data);
        }
        if (nc > 0) with_cands++;
        if (nc > 0 && d.pool_size <= nc) {     /* the count comes from the candidates */
            char want[48];
            snprintf(want, sizeof want, "\"pool_size\":%zu}}", nc);
            size_t wl = strlen(want);
            if (fast.len < wl || strcmp(fast.data + fast.len - wl, want) != 0) {
                bad++;
                TEST_FAIL_("round %d: %s does not end with %s", round, fast.data, want);
            }
            pool_added++;
        }
    }
    CHECK(with_cands > 1000 && pool_added > 500);   /* the generator reached both paths */
    lr_buf_release(&full);
    lr_buf_release(&text);
    lr_buf_release(&fast);
#undef NEXT
}

TEST(brief_of_text_that_is_not_a_json_object_is_einval_and_leaves_out) {
    static const char *const bad[] = {
        "[1]", "\"a string\"", "42", "", "{", "{\"lead\":\"L1\",}", "not json",
        "{\"lead\":\"L1\"} trailing", "{\"lead\":\"\\ud800\"}",
    };
    lr_buf b = LR_BUF_INIT;
    CHECK_EQ_INT(lr_buf_puts(&b, "keep"), LR_OK);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = lr_decision_json_brief(bad[i], strlen(bad[i]), &b);
        if (rc != LR_EINVAL) TEST_FAIL_("'%s': %s, want LR_EINVAL", bad[i], lr_errname(rc));
        CHECK_EQ_INT(b.len, 4);
        CHECK_EQ_STR(b.data, "keep");
    }
    /* LEN counts: the object's bytes alone, what follows not read */
    const char *two = "{\"action\":\"held\"}{\"x\":1}";
    CHECK_EQ_INT(lr_decision_json_brief(two, 17, &b), LR_OK);
    CHECK_EQ_STR(b.data, "keep{\"action\":\"held\"}");
    CHECK_EQ_INT(b.len, 4 + 17);
    lr_buf_release(&b);
}

int main(void) {
    RUN(assigned_decision_with_candidates);
    RUN(broadcast_writes_agents_instead_of_agent);
    RUN(rejected_decision_with_reason_and_detail);
    RUN(closed_decision_writes_status);
    RUN(pool_size_written_only_when_larger_than_candidates);
    RUN(absent_members_are_left_out);
    RUN(escapes_quotes_backslashes_and_controls);
    RUN(valid_utf8_passes_through);
    RUN(invalid_utf8_becomes_replacement_characters);
    RUN(escaping_matches_jansson_and_always_gives_valid_json);
    RUN(appends_and_gives_identical_bytes_for_identical_decisions);
    RUN(large_decision_grows_the_buffer);
    RUN(known_id_lengths_write_the_same_bytes);
    RUN(brief_form_replaces_candidates_with_the_pool_size);
    RUN(brief_form_keeps_reason_and_detail_and_leaves_out_an_empty_why);
    RUN(brief_of_the_json_text_is_byte_for_byte_the_brief_of_the_decision);
    RUN(brief_of_text_that_is_not_a_json_object_is_einval_and_leaves_out);
    lr_buf_release(&out);
    return test_report();
}
