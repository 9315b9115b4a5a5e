/* test_delivery_message.c -- what a delivery carries: the webhook body
 * (exact bytes), its signature (against vectors computed with Python's
 * hmac module) and its verification, and the email for a sales rep
 * (headers, CRLF, header injection, RFC 2047, instructions, cut lines). */
#include "delivery/message.h"
#include "leadrouter/error.h"
#include "test.h"

#include <sodium.h>
#include <stdlib.h>

#define SECRET "whsec"
#define T0 1700000000
#define AT 1795860000123                /* 2026-11-28T10:00:00.123Z, a Saturday */

/* python3 -c 'import hmac,hashlib;print(hmac.new(b"whsec",b"1700000000.{\"id\":\"dlv_42\"}",
 *             hashlib.sha256).hexdigest())' */
#define BODY42 "{\"id\":\"dlv_42\"}"
#define MAC42 "103789e709de66616bc4956ee8f0bc871938225971cf3f32e29a47688cce1d49"
#define SIG42 "t=1700000000,v1=" MAC42

static lr_buf out = LR_BUF_INIT;

static const char *LEAD =
    "{\"id\":\"L1\",\"source\":\"google\",\"product\":\"purchase\",\"state\":\"CA\","
    "\"country\":\"US\",\"score\":72,\"name\":\"Maria Garcia\",\"email\":\"maria@example.com\","
    "\"phone\":\"+1-415-555-0142\",\"value\":1200.5,"
    "\"fields\":{\"budget\":500000,\"tags\":[\"a\",\"b\"],\"first_time\":true}}";

static const char *DECISION =
    "{\"at\":\"2026-11-28T10:00:00.123Z\",\"lead\":\"L1\",\"action\":\"assigned\","
    "\"agent\":\"alice\",\"rule\":\"hot-west\",\"pool\":\"west\",\"strategy\":\"round_robin\","
    "\"why\":{\"candidates\":[{\"agent\":\"alice\",\"chosen\":true},"
    "{\"agent\":\"bob\",\"eligible\":true},{\"agent\":\"carol\",\"skipped\":\"at_capacity\"}]}}";

/* The sample message: lead L1 assigned to alice. */
static lr_delivery_msg sample(void) {
    lr_delivery_msg m = {
        .id = 42, .channel = "crm", .action = "assigned", .created_at = AT,
        .lead_json = LEAD, .lead_len = strlen(LEAD),
        .decision_json = DECISION, .decision_len = strlen(DECISION),
        .from = "leads@example.com", .to = "alice@example.com", .agent_name = "Alice", .to_agent = true,
        .base_url = "https://lr.example.com/", .now = AT,
    };
    return m;
}

static void set_lead(lr_delivery_msg *m, const char *lead) {
    m->lead_json = lead;
    m->lead_len = lead ? strlen(lead) : 0;
}

static void set_decision(lr_delivery_msg *m, const char *d) {
    m->decision_json = d;
    m->decision_len = d ? strlen(d) : 0;
}

/* The email of M alone in the buffer, or "(error N)". */
static const char *email(const lr_delivery_msg *m) {
    static char err[32];
    lr_buf_reset(&out);
    int rc = lr_delivery_email(m, &out);
    if (rc != LR_OK) {
        snprintf(err, sizeof err, "(error %d)", rc);
        return err;
    }
    return out.data;
}

/* The header block of the email in the buffer (up to the blank line), copied. */
static char *headers_of(const char *mail) {
    const char *end = strstr(mail, "\r\n\r\n");
    size_t n = end ? (size_t)(end - mail) + 2 : strlen(mail);
    char *h = malloc(n + 1);
    memcpy(h, mail, n);
    h[n] = '\0';
    return h;
}

/* Whether every CR is followed by LF and every LF preceded by CR. */
static bool crlf_only(const char *s) {
    for (size_t i = 0; s[i]; i++) {
        if (s[i] == '\r' && s[i + 1] != '\n') return false;
        if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
    }
    return true;
}

/* The longest line of S (CRLF-separated), in bytes. */
static size_t longest_line(const char *s) {
    size_t best = 0;
    for (const char *p = s; *p;) {
        const char *e = strstr(p, "\r\n");
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n > best) best = n;
        p += n + (e ? 2 : 0);
    }
    return best;
}

/* ---- signature ------------------------------------------------------------------ */

TEST(sign_matches_independent_hmac_sha256_vector) {
    char sig[LR_SIGNATURE_MAX];
    CHECK_EQ_INT(lr_delivery_sign(SECRET, 5, T0, BODY42, strlen(BODY42), sig), LR_OK);
    CHECK_EQ_STR(sig, SIG42);
}

TEST(sign_empty_body_and_key_longer_than_a_block_match_vectors) {
    char sig[LR_SIGNATURE_MAX];
    /* hmac.new(b"whsec", b"1700000000.", sha256) */
    CHECK_EQ_INT(lr_delivery_sign(SECRET, 5, T0, NULL, 0, sig), LR_OK);
    CHECK_EQ_STR(sig, "t=1700000000,v1=ab5fdf6f7cdf5f7abf2f4d61c6b0376dc6bf75beafc17135e5fd06513ee7afd8");
    /* hmac.new(b"k" * 100, b"1700000000.hello", sha256): the key is hashed first */
    char key[100];
    memset(key, 'k', sizeof key);
    CHECK_EQ_INT(lr_delivery_sign(key, sizeof key, T0, "hello", 5, sig), LR_OK);
    CHECK_EQ_STR(sig, "t=1700000000,v1=0e8d224aefc4953ac5f6c791d5ebec57dfbc0cde3ffbdbab5ee3cad02a696eba");
}

TEST(sign_refuses_null_or_empty_secret_and_leaves_out_untouched) {
    char sig[LR_SIGNATURE_MAX] = "untouched";
    CHECK_EQ_INT(lr_delivery_sign(NULL, 0, T0, "x", 1, sig), LR_EINVAL);
    CHECK_EQ_INT(lr_delivery_sign("", 0, T0, "x", 1, sig), LR_EINVAL);
    CHECK_EQ_INT(lr_delivery_sign(SECRET, 5, T0, NULL, 3, sig), LR_EINVAL);
    CHECK_EQ_STR(sig, "untouched");
}

TEST(sign_fits_the_extreme_timestamp) {
    char sig[LR_SIGNATURE_MAX];
    CHECK_EQ_INT(lr_delivery_sign(SECRET, 5, INT64_MIN, "x", 1, sig), LR_OK);
    CHECK(strncmp(sig, "t=-9223372036854775808,v1=", 26) == 0);
    CHECK_EQ_INT(strlen(sig), 26 + 64);
}

TEST(verify_accepts_the_python_vector_and_its_own_signatures) {
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, strlen(BODY42), T0, 300), LR_OK);
    char sig[LR_SIGNATURE_MAX];
    lr_delivery_sign("s3cr3t", 6, 1800000000, "{}", 2, sig);
    CHECK_EQ_INT(lr_delivery_verify("s3cr3t", 6, sig, "{}", 2, 1800000000, 0), LR_OK);
}

TEST(verify_refuses_changed_body) {
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, "{\"id\":\"dlv_43\"}", 15, T0, 300),
                 LR_DELIVERY_EREFUSED);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, strlen(BODY42) - 1, T0, 300),
                 LR_DELIVERY_EREFUSED);
}

TEST(verify_refuses_wrong_secret) {
    CHECK_EQ_INT(lr_delivery_verify("whsed", 5, SIG42, BODY42, strlen(BODY42), T0, 300),
                 LR_DELIVERY_EREFUSED);
    CHECK_EQ_INT(lr_delivery_verify("whsec2", 6, SIG42, BODY42, strlen(BODY42), T0, 300),
                 LR_DELIVERY_EREFUSED);
}

TEST(verify_refuses_timestamp_beyond_tolerance_either_way) {
    size_t n = strlen(BODY42);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, n, T0 + 300, 300), LR_OK);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, n, T0 - 300, 300), LR_OK);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, n, T0 + 301, 300), LR_DELIVERY_EREFUSED);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, n, T0 - 301, 300), LR_DELIVERY_EREFUSED);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, n, INT64_MAX, 300), LR_DELIVERY_EREFUSED);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, n, INT64_MIN, 300), LR_DELIVERY_EREFUSED);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, SIG42, BODY42, n, T0, -1), LR_EINVAL);
}

TEST(verify_accepts_any_matching_v1_in_either_case_and_ignores_other_keys) {
    size_t n = strlen(BODY42);
    const char *rotated = "t=1700000000,v1=" "00000000000000000000000000000000"
                          "00000000000000000000000000000000,v1=" MAC42;
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, rotated, BODY42, n, T0, 300), LR_OK);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, "v0=whatever, v1=" MAC42 " , t=1700000000",
                                    BODY42, n, T0, 300), LR_OK);
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5,
                                    "t=1700000000,v1=103789E709DE66616BC4956EE8F0BC871938225971CF3F32E29A47688CCE1D49",
                                    BODY42, n, T0, 300), LR_OK);
    /* the signed t is the text sent: the same number written otherwise does not match */
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, "t=01700000000,v1=" MAC42, BODY42, n, T0, 300),
                 LR_DELIVERY_EREFUSED);
}

TEST(verify_refuses_malformed_headers) {
    static const char *const bad[] = {
        "",
        " ",
        "t=1700000000",                                 /* no v1 */
        "v1=" MAC42,                                    /* no t */
        "t=,v1=" MAC42,
        "t=17e8,v1=" MAC42,
        "t=+1700000000,v1=" MAC42,
        "t=1234567890123456789,v1=" MAC42,              /* 19 digits */
        "t=1700000000,t=1700000000,v1=" MAC42,
        "t=1700000000,v1=" "103789e709de",
        "t=1700000000,v1=" MAC42 "0",
        "t=1700000000,v1=" "g03789e709de66616bc4956ee8f0bc871938225971cf3f32e29a47688cce1d49",
        "t=1700000000,,v1=" MAC42,
        "t=1700000000,v1=" MAC42 ",",
        "t=1700000000,v1=" MAC42 ", ",
        "t=1700000000,=x,v1=" MAC42,
        "t=1700000000,junk,v1=" MAC42,
        "t=1700000000;v1=" MAC42,
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = lr_delivery_verify(SECRET, 5, bad[i], BODY42, strlen(BODY42), T0, 300);
        if (rc != LR_EINVAL) TEST_FAIL_("header \"%s\": %d, want LR_EINVAL", bad[i], rc);
    }
    CHECK_EQ_INT(lr_delivery_verify(SECRET, 5, NULL, BODY42, 1, T0, 300), LR_EINVAL);
    CHECK_EQ_INT(lr_delivery_verify("", 0, SIG42, BODY42, strlen(BODY42), T0, 300), LR_EINVAL);
}

/* ---- webhook body ---------------------------------------------------------------- */

TEST(webhook_body_exact_bytes) {
    lr_delivery_msg m = sample();
    set_lead(&m, "{\"id\":\"L1\",\"score\":72}");
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\"}");
    lr_buf_reset(&out);
    lr_buf_puts(&out, "prefix|");
    CHECK_EQ_INT(lr_delivery_webhook_body(&m, &out), LR_OK);
    CHECK_EQ_STR(out.data,
        "prefix|{\"id\":\"dlv_42\",\"type\":\"decision.assigned\","
        "\"created_at\":\"2026-11-28T10:00:00.123Z\",\"channel\":\"crm\","
        "\"lead\":{\"id\":\"L1\",\"score\":72},"
        "\"decision\":{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\"}}");
    CHECK_EQ_INT(out.len, strlen(out.data));
}

TEST(webhook_body_absent_parts_are_null_and_strings_escaped) {
    lr_delivery_msg m = { .id = -7, .channel = NULL, .action = "odd\"act", .created_at = LR_TIME_NONE,
                          .lead_json = NULL, .decision_json = "{}", .decision_len = 2 };
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_delivery_webhook_body(&m, &out), LR_OK);
    CHECK_EQ_STR(out.data,
        "{\"id\":\"dlv_-7\",\"type\":\"decision.odd\\\"act\",\"created_at\":null,"
        "\"channel\":null,\"lead\":null,\"decision\":{}}");
    m.action = NULL;
    m.decision_json = NULL;
    m.created_at = 0;
    m.channel = "c";
    lr_buf_reset(&out);
    CHECK_EQ_INT(lr_delivery_webhook_body(&m, &out), LR_OK);
    CHECK_EQ_STR(out.data,
        "{\"id\":\"dlv_-7\",\"type\":\"decision.unknown\",\"created_at\":\"1970-01-01T00:00:00Z\","
        "\"channel\":\"c\",\"lead\":null,\"decision\":null}");
}

/* ---- email ----------------------------------------------------------------------- */

TEST(email_sample_exact_text) {
    lr_delivery_msg m = sample();
    CHECK_EQ_STR(email(&m),
        "Date: Sat, 28 Nov 2026 10:00:00 +0000\r\n"
        "From: leads@example.com\r\n"
        "To: alice@example.com\r\n"
        "Subject: New lead L1 for you (assigned)\r\n"
        "Message-ID: <dlv-42@leadrouter>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Hello Alice,\r\n"
        "\r\n"
        "Lead L1 was assigned to you by rule hot-west (strategy round_robin, pool west)"
        " at 2026-11-28 10:00:00 UTC.\r\n"
        "\r\n"
        "About the lead\r\n"
        "  Name: Maria Garcia\r\n"
        "  Email: maria@example.com\r\n"
        "  Phone: +1-415-555-0142\r\n"
        "  Source: google\r\n"
        "  Product: purchase\r\n"
        "  Location: CA, US\r\n"
        "  Score: 72\r\n"
        "  Value: 1200.5\r\n"
        "  Other details:\r\n"
        "    budget: 500000\r\n"
        "    tags: [\"a\",\"b\"]\r\n"
        "    first_time: yes\r\n"
        "\r\n"
        "Why you\r\n"
        "  Chosen by round_robin among 2 eligible agents; skipped: carol (at_capacity).\r\n"
        "\r\n"
        "What to do\r\n"
        "  Contact the lead, then report progress:\r\n"
        "    POST https://lr.example.com/v1/leads/L1/progress {\"status\":\"contacted\"}\r\n"
        "  Statuses: contacted, qualified, won, lost, disqualified; with any, the lead's value: "
        "{\"status\":\"won\",\"value\":1200}.\r\n"
        "  Send requests with your agent key: Authorization: Bearer <key>\r\n"
        "  and the header Content-Type: application/json (the bodies above are JSON)\r\n"
        "\r\n"
        "-- \r\n"
        "leadrouter, delivery dlv_42 (channel crm)\r\n");
    CHECK(crlf_only(out.data));
}

TEST(email_offered_gives_accept_and_decline_events) {
    lr_delivery_msg m = sample();
    m.action = "offered";
    const char *e = email(&m);
    CHECK_CONTAINS(e, "\r\nSubject: New lead L1 for you (offered)\r\n");
    CHECK_CONTAINS(e, "\r\nLead L1 was offered to you by rule hot-west");
    CHECK_CONTAINS(e, "\r\n  Accept:  POST https://lr.example.com/v1/events "
                      "{\"type\":\"accept\",\"lead\":\"L1\",\"agent\":\"alice\"}\r\n");
    CHECK_CONTAINS(e, "\r\n  Decline: POST https://lr.example.com/v1/events "
                      "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"alice\"}\r\n");
    CHECK(!strstr(e, "progress"));
    CHECK(!strstr(e, "expires"));           /* the decision gives no deadline */
    CHECK(crlf_only(e));
}

/* An offer's deadline (the decision's expires_at) is told, in UTC as the
 * rest of the email: accepted later, the offer is gone. */
TEST(email_offer_says_when_it_expires) {
    lr_delivery_msg m = sample();
    m.action = "offered";
    set_decision(&m, "{\"at\":\"2026-03-02T10:00:00Z\",\"lead\":\"L1\",\"action\":\"offered\","
                     "\"agent\":\"alice\",\"rule\":\"hot-west\",\"expires_at\":\"2026-03-02T10:10:00.250Z\"}");
    const char *e = email(&m);
    CHECK_CONTAINS(e, "{\"type\":\"decline\",\"lead\":\"L1\",\"agent\":\"alice\"}\r\n"
                      "  The offer expires at 2026-03-02 10:10:00 UTC: accept before then.\r\n");
    CHECK(crlf_only(e));
    /* a broadcast offer's too */
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"offered\",\"agents\":[\"alice\",\"bob\"],"
                     "\"expires_at\":\"2026-03-02T10:05:00Z\"}");
    CHECK_CONTAINS(email(&m), "  The offer expires at 2026-03-02 10:05:00 UTC: accept before then.\r\n");
    /* one that does not parse is left out, not guessed */
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"offered\",\"agent\":\"alice\","
                     "\"expires_at\":\"soon\"}");
    CHECK(!strstr(email(&m), "expires"));
}

TEST(email_claimed_asks_for_progress) {
    lr_delivery_msg m = sample();
    m.action = "claimed";
    CHECK_CONTAINS(email(&m), "Subject: New lead L1 for you (claimed)\r\n");
    CHECK_CONTAINS(out.data, "/v1/leads/L1/progress {\"status\":\"contacted\"}");
    CHECK(!strstr(out.data, "/v1/events"));
}

/* A reassigned decision names the agent the lead was taken from (its SLA
 * missed); like expired, released and recycled, it leaves the agent
 * without the lead, whose key then reads it as a 404: no instruction. */
TEST(email_lead_taken_from_the_agent_gives_no_instruction) {
    static const char *const actions[] = { "reassigned", "expired", "released", "recycled" };
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        lr_delivery_msg m = sample();
        m.action = actions[i];
        const char *e = email(&m);
        CHECK_CONTAINS(e, "\r\nWhat to do\r\n  Nothing: the lead is no longer yours.\r\n\r\n-- \r\n");
        CHECK(!strstr(e, "/v1/"));
        CHECK(!strstr(e, "New lead"));
        /* to an ops mailbox (an admin key reads any lead) the link stays */
        m.to = "ops@example.com";
        m.to_agent = false;
        m.agent = "alice";
        CHECK_CONTAINS(email(&m), "\r\n  See the lead: GET https://lr.example.com/v1/leads/L1\r\n");
        /* with an admin key: the agent's own reads it as a 404 */
        CHECK_CONTAINS(out.data, "\r\n  Send requests with an admin key: Authorization: Bearer <key>\r\n");
        CHECK(!strstr(out.data, "the agent's own"));
    }
    lr_delivery_msg m = sample();
    m.action = "reassigned";
    CHECK_CONTAINS(email(&m), "\r\nSubject: Lead L1: reassigned\r\n");
    CHECK_CONTAINS(out.data, "\r\nLead L1 was taken from you by rule hot-west");
}

/* A claim refused for the agent's state (at capacity, a cap, away, off
 * shift) leaves the lead offered to it or waiting in its pool: the email
 * gives the claim to send once it can take a lead. Refused for any other
 * reason (not offered to it, claimed by another, closed) the lead never
 * was the agent's: nothing to do, and not "no longer yours". */
TEST(email_claim_refused_says_whether_the_lead_is_still_open) {
    lr_delivery_msg m = sample();
    m.action = "claim_refused";
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"claim_refused\",\"agent\":\"alice\","
                     "\"why\":{\"reason\":\"at_capacity\",\"detail\":\"the agent cannot take a lead now\"}}");
    const char *e = email(&m);
    CHECK(!strstr(e, "Nothing"));
    CHECK_CONTAINS(e, "\r\n  Claim the lead once you can take one again (while it is still open):\r\n"
                      "  Claim:   POST https://lr.example.com/v1/events "
                      "{\"type\":\"claim\",\"lead\":\"L1\",\"agent\":\"alice\"}\r\n");
    CHECK_CONTAINS(e, "\r\n  and the header Content-Type: application/json");
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"claim_refused\",\"agent\":\"alice\","
                     "\"why\":{\"reason\":\"already_claimed\",\"detail\":\"the lead is assigned to bob\"}}");
    e = email(&m);
    CHECK_CONTAINS(e, "\r\nWhat to do\r\n  Nothing: the lead is not yours.\r\n\r\n-- \r\n");
    CHECK(!strstr(e, "no longer"));
    CHECK(!strstr(e, "/v1/"));
    /* the agent had the lead and let it go, one way or another: never for now */
    static const char *const had[] = { "declined", "expired", "released", "reassigned", "recycled" };
    for (size_t i = 0; i < sizeof had / sizeof had[0]; i++) {
        char dec[256];
        snprintf(dec, sizeof dec, "{\"lead\":\"L1\",\"action\":\"claim_refused\",\"agent\":\"alice\","
                 "\"why\":{\"reason\":\"%s\",\"detail\":\"the agent cannot take this lead\"}}", had[i]);
        set_decision(&m, dec);
        e = email(&m);
        CHECK_CONTAINS(e, "\r\nWhat to do\r\n  Nothing: the lead is not yours.\r\n");
        CHECK(!strstr(e, "Claim the lead once"));
    }
}

/* Every POST the email gives has a JSON body, which the server takes only
 * as application/json (415 for curl -d's form type): the email says so. */
TEST(email_names_the_content_type_of_its_posts) {
    lr_delivery_msg m = sample();
    static const char *const ct = "\r\n  and the header Content-Type: application/json";
    CHECK_CONTAINS(email(&m), ct);
    m.action = "offered";
    CHECK_CONTAINS(email(&m), ct);
    m.action = "closed";
    CHECK(!strstr(email(&m), "Content-Type: application/json"));
}

/* "." and ".." as path segments are removed by clients (curl, browsers):
 * written %2E and %2E%2E they reach the lead. */
TEST(email_dot_segment_lead_ids_are_percent_encoded) {
    lr_delivery_msg m = sample();
    set_decision(&m, "{\"lead\":\"..\",\"action\":\"assigned\",\"agent\":\"alice\"}");
    CHECK_CONTAINS(email(&m), "POST https://lr.example.com/v1/leads/%2E%2E/progress ");
    set_decision(&m, "{\"lead\":\".\",\"action\":\"assigned\",\"agent\":\"alice\"}");
    CHECK_CONTAINS(email(&m), "POST https://lr.example.com/v1/leads/%2E/progress ");
    set_decision(&m, "{\"lead\":\"...\",\"action\":\"assigned\",\"agent\":\"alice\"}");
    CHECK_CONTAINS(email(&m), "POST https://lr.example.com/v1/leads/.../progress ");
    set_decision(&m, "{\"lead\":\"a..b\",\"action\":\"closed\",\"agent\":\"alice\"}");
    m.action = "closed";
    CHECK_CONTAINS(email(&m), "GET https://lr.example.com/v1/leads/a..b\r\n");
}

/* A lead id may hold U+0085 or U+2028 (not a control character to the
 * API): the accept line's JSON escapes them, so it names the lead exactly
 * and no such character reaches the body. */
TEST(email_json_escapes_c1_and_line_separators) {
    lr_delivery_msg m = sample();
    m.action = "offered";
    set_decision(&m, "{\"lead\":\"a\\u0085b\\u2028c\\u2029d\",\"action\":\"offered\",\"agent\":\"alice\"}");
    const char *e = email(&m);
    CHECK_CONTAINS(e, "{\"type\":\"accept\",\"lead\":\"a\\u0085b\\u2028c\\u2029d\",\"agent\":\"alice\"}");
    CHECK(!strstr(e, "\xC2\x85"));
    CHECK(!strstr(e, "\xE2\x80\xA8"));
    CHECK(!strstr(e, "\xE2\x80\xA9"));
}

TEST(email_other_action_points_to_the_lead) {
    lr_delivery_msg m = sample();
    m.action = "sla_breached";
    const char *e = email(&m);
    CHECK_CONTAINS(e, "\r\nSubject: Lead L1: sla_breached\r\n");
    CHECK_CONTAINS(e, "\r\nLead L1 breached its SLA by rule hot-west");
    CHECK_CONTAINS(e, "\r\n  See the lead: GET https://lr.example.com/v1/leads/L1\r\n");
    m.action = "brand_new";
    CHECK_CONTAINS(email(&m), "\r\nLead L1: brand_new by rule hot-west");
}

TEST(email_without_base_url_shows_paths_only) {
    lr_delivery_msg m = sample();
    m.base_url = NULL;
    CHECK_CONTAINS(email(&m), "\r\n    POST /v1/leads/L1/progress {\"status\":\"contacted\"}\r\n");
    m.action = "offered";
    CHECK_CONTAINS(email(&m), "\r\n  Accept:  POST /v1/events {\"type\":\"accept\",");
}

TEST(email_lead_id_is_escaped_in_json_and_percent_encoded_in_paths) {
    lr_delivery_msg m = sample();
    set_decision(&m, "{\"lead\":\"a/b \\\"c\\\"\",\"action\":\"offered\",\"agent\":\"al\\\\ice\"}");
    m.action = "offered";
    CHECK_CONTAINS(email(&m), "{\"type\":\"accept\",\"lead\":\"a/b \\\"c\\\"\",\"agent\":\"al\\\\ice\"}");
    m.action = "assigned";
    CHECK_CONTAINS(email(&m), "POST https://lr.example.com/v1/leads/a%2Fb%20%22c%22/progress ");
}

TEST(email_broadcast_offer_names_agents_and_leaves_agent_to_fill) {
    lr_delivery_msg m = sample();
    m.action = "offered";
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"offered\",\"agents\":[\"alice\",\"bob\",\"carol\"]}");
    const char *e = email(&m);
    CHECK_CONTAINS(e, "\r\n  Offered to 3 agents at once: alice, bob, carol; the first to accept gets it.\r\n");
    CHECK(!strstr(e, "Chosen"));
    CHECK_CONTAINS(e, "\"lead\":\"L1\",\"agent\":\"YOUR_AGENT_ID\"}");
    /* with its candidates: who was eligible, not who was chosen (nobody) */
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"offered\",\"strategy\":\"broadcast\","
                     "\"agents\":[\"alice\",\"bob\"],\"why\":{\"candidates\":[{\"agent\":\"alice\",\"eligible\":true},"
                     "{\"agent\":\"bob\",\"eligible\":true},{\"agent\":\"cat\",\"skipped\":\"away\"}]}}");
    e = email(&m);
    CHECK_CONTAINS(e, "\r\n  Offered to 2 agents at once: alice, bob; the first to accept gets it.\r\n"
                      "  2 eligible agents; skipped: cat (away).\r\n");
    CHECK(!strstr(e, "Chosen"));
    /* a broadcast that found one agent offers to that one alone */
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"offered\",\"strategy\":\"broadcast\",\"agents\":[\"alice\"],"
                     "\"why\":{\"candidates\":[{\"agent\":\"alice\",\"eligible\":true}]}}");
    e = email(&m);
    CHECK_CONTAINS(e, "\r\n  1 eligible agent.\r\n");
    CHECK(!strstr(e, "Chosen"));
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"offered\",\"agents\":[\"bob\"]}");
    CHECK_CONTAINS(email(&m), "{\"type\":\"accept\",\"lead\":\"L1\",\"agent\":\"bob\"}");
}

TEST(email_why_names_ten_skipped_then_counts_the_rest_with_reason_and_detail) {
    lr_delivery_msg m = sample();
    lr_buf d = LR_BUF_INIT;
    lr_buf_puts(&d, "{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"a0\",\"strategy\":\"weighted\","
                    "\"why\":{\"reason\":\"overflow\",\"detail\":\"west was full\",\"candidates\":["
                    "{\"agent\":\"a0\",\"chosen\":true}");
    for (int i = 1; i <= 13; i++) lr_buf_printf(&d, ",{\"agent\":\"s%d\",\"skipped\":\"away\"}", i);
    lr_buf_puts(&d, "],\"pool_size\":20}}");
    set_decision(&m, d.data);
    const char *e = email(&m);
    CHECK_CONTAINS(e, "\r\n  Chosen by weighted among 1 eligible agent (pool of 20); skipped: "
                      "s1 (away), s2 (away), s3 (away), s4 (away), s5 (away), s6 (away), "
                      "s7 (away), s8 (away), s9 (away), s10 (away) and 3 more.\r\n"
                      "  Reason: overflow\r\n  Detail: west was full\r\n");
    lr_buf_release(&d);
}

/* A ranking strategy's figures: the rep's own, then the first five other
 * eligible agents', the rest counted; skipped agents have none. */
TEST(email_why_shows_the_figures_the_strategy_ranked_by) {
    lr_delivery_msg m = sample();
    lr_buf d = LR_BUF_INIT;
    lr_buf_puts(&d, "{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\","
                    "\"strategy\":\"least_busy\",\"why\":{\"candidates\":["
                    "{\"agent\":\"e0\",\"skipped\":\"away\"},"
                    "{\"agent\":\"alice\",\"chosen\":true,\"open\":0,\"idle_ms\":3000}");
    for (int i = 1; i <= 7; i++)
        lr_buf_printf(&d, ",{\"agent\":\"e%d\",\"eligible\":true,\"open\":%d,\"idle_ms\":%d}", i, i,
                      1000 * i);
    lr_buf_puts(&d, "]}}");
    set_decision(&m, d.data);
    const char *e = email(&m);
    CHECK_CONTAINS(e, "\r\n  Chosen by least_busy among 8 eligible agents; skipped: e0 (away).\r\n"
                      "  Ranked by: you (open 0, idle_ms 3000); e1 (open 1, idle_ms 1000); "
                      "e2 (open 2, idle_ms 2000); e3 (open 3, idle_ms 3000); "
                      "e4 (open 4, idle_ms 4000); e5 (open 5, idle_ms 5000) and 2 more.\r\n");
    m.to_agent = false;
    m.to = "ops@example.com";
    CHECK_CONTAINS(email(&m), "  Ranked by: alice (open 0, idle_ms 3000); e1 (open 1, ");
    /* a top_producer candidate under min_sample */
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\","
                     "\"strategy\":\"top_producer\",\"why\":{\"candidates\":["
                     "{\"agent\":\"alice\",\"chosen\":true,\"won\":1,\"closed\":1,"
                     "\"below_min_sample\":true}]}}");
    CHECK_CONTAINS(email(&m), "  Ranked by: alice (won 1, closed 1, below_min_sample).\r\n");
    lr_buf_release(&d);
}

/* A decision without a chosen agent (queued after offers ran out, with
 * members free): still the first five eligible agents' figures, the rest
 * counted. */
TEST(email_ranking_without_chosen_shows_five_eligible) {
    lr_delivery_msg m = sample();
    m.to_agent = false;
    m.to = "ops@example.com";
    lr_buf d = LR_BUF_INIT;
    lr_buf_puts(&d, "{\"lead\":\"L1\",\"action\":\"queued\",\"strategy\":\"least_busy\","
                    "\"why\":{\"reason\":\"offer_expired\",\"candidates\":["
                    "{\"agent\":\"e0\",\"skipped\":\"declined\"}");
    for (int i = 1; i <= 7; i++)
        lr_buf_printf(&d, ",{\"agent\":\"e%d\",\"eligible\":true,\"open\":%d}", i, i);
    lr_buf_puts(&d, "]}}");
    set_decision(&m, d.data);
    CHECK_CONTAINS(email(&m), "  Ranked by: e1 (open 1); e2 (open 2); e3 (open 3); e4 (open 4); "
                              "e5 (open 5) and 2 more.\r\n");
    lr_buf_release(&d);
}

TEST(email_greeting_without_agent_name) {
    lr_delivery_msg m = sample();
    m.agent_name = NULL;
    CHECK_CONTAINS(email(&m), "\r\n\r\nHello,\r\n\r\nLead L1 was assigned");
}

/* To a fixed address (an ops mailbox, not the agent's own): no greeting by
 * the agent's name, and the lead is the agent's, not "yours". */
TEST(email_to_a_fixed_address_names_the_agent) {
    lr_delivery_msg m = sample();
    m.to = "ops@example.com";
    m.agent_name = NULL;
    m.to_agent = false;
    const char *e = email(&m);
    CHECK_CONTAINS(e, "Subject: New lead L1 for alice (assigned)\r\n");
    CHECK_CONTAINS(e, "\r\n\r\nHello,\r\n");
    CHECK_CONTAINS(e, "Lead L1 was assigned to alice by rule hot-west");
    CHECK_CONTAINS(e, "\r\nWhy alice\r\n");
    CHECK_CONTAINS(e, "Send requests with an API key (the agent's own, or an admin key)");
    CHECK(!strstr(e, " you"));
}

TEST(email_refuses_bad_from_or_to_and_leaves_out_unchanged) {
    static const char *const bad[] = {
        NULL, "", "a@b.c\r\nBcc: x@y.z", "a@b.c\n", "Eve <e@x.y>", "a@b.c, d@e.f", "a@b.c>", "a\t@b.c",
    };
    lr_delivery_msg m = sample();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lr_buf_reset(&out);
        lr_buf_puts(&out, "kept");
        m = sample();
        m.to = bad[i];
        int rc = lr_delivery_email(&m, &out);
        if (rc != LR_EINVAL) TEST_FAIL_("to #%zu: %d, want LR_EINVAL", i, rc);
        m = sample();
        m.from = bad[i];
        rc = lr_delivery_email(&m, &out);
        if (rc != LR_EINVAL) TEST_FAIL_("from #%zu: %d, want LR_EINVAL", i, rc);
        CHECK_EQ_STR(out.data, "kept");
        CHECK_EQ_INT(out.len, 4);
    }
}

TEST(email_refuses_a_date_it_cannot_write) {
    lr_delivery_msg m = sample();
    m.now = LR_TIME_NONE;
    CHECK_EQ_STR(email(&m), "(error -2)");
    m.now = 253402300800000;                          /* 10000-01-01 */
    CHECK_EQ_STR(email(&m), "(error -2)");
}

TEST(email_date_header_weekdays) {
    lr_delivery_msg m = sample();
    m.now = 0;
    CHECK(strncmp(email(&m), "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n", 39) == 0);
    m.now = 1709251199999;                            /* 2024-02-29T23:59:59.999Z */
    CHECK(strncmp(email(&m), "Date: Thu, 29 Feb 2024 23:59:59 +0000\r\n", 39) == 0);
    m.now = -1;                                       /* 1969-12-31T23:59:59.999Z */
    CHECK(strncmp(email(&m), "Date: Wed, 31 Dec 1969 23:59:59 +0000\r\n", 39) == 0);
}

TEST(email_crlf_in_lead_id_stays_on_the_subject_line) {
    lr_delivery_msg m = sample();
    set_decision(&m, "{\"lead\":\"L1\\r\\nBcc: evil@x.y\",\"action\":\"assigned\"}");
    const char *e = email(&m);
    char *h = headers_of(e);
    CHECK_CONTAINS(h, "\r\nSubject: New lead L1  Bcc: evil@x.y for you (assigned)\r\n");
    CHECK(!strstr(h, "\r\nBcc:"));
    CHECK(crlf_only(e));
    free(h);
}

TEST(email_crlf_in_lead_fields_cannot_start_a_line) {
    lr_delivery_msg m = sample();
    set_lead(&m, "{\"id\":\"L1\",\"name\":\"Eve\\r\\nBcc: x@y.z\",\"company\":\"A\\nB\\u0000C\\u007f\","
                 "\"fields\":{\"note\\r\\nX-Evil: 1\":\"v\\r\\n\\r\\nBcc: y@z\"}}");
    m.agent_name = "Al\r\nX-Injected: 1";
    const char *e = email(&m);
    char *h = headers_of(e);
    CHECK(!strstr(h, "Bcc") && !strstr(h, "X-Evil") && !strstr(h, "X-Injected"));
    CHECK_CONTAINS(e, "\r\nHello Al  X-Injected: 1,\r\n");
    CHECK_CONTAINS(e, "\r\n  Name: Eve  Bcc: x@y.z\r\n");
    CHECK_CONTAINS(e, "\r\n  Company: A B C \r\n");
    CHECK_CONTAINS(e, "\r\n    note  X-Evil: 1: v    Bcc: y@z\r\n");
    CHECK(!strstr(e, "\r\nBcc") && !strstr(e, "\r\nX-"));
    CHECK(crlf_only(e));
    free(h);
    /* NEL and the other C1 controls, and U+2028/U+2029, which some mail
     * readers break lines at; other characters stay (é, U+2027) */
    set_lead(&m, "{\"id\":\"L1\",\"name\":\"a\\u0085b\\u009fc\\u2028d\\u2029e\\u00e9\\u2027f\"}");
    CHECK_CONTAINS(email(&m), "\r\n  Name: a b c d e\xc3\xa9\xe2\x80\xa7" "f\r\n");
}

TEST(email_non_ascii_subject_is_rfc2047_encoded) {
    lr_delivery_msg m = sample();
    set_decision(&m, "{\"lead\":\"L\xc3\xa9" "1\",\"action\":\"assigned\"}");
    const char *e = email(&m);
    /* base64("New lead Lé1 for you (assigned)") */
    CHECK_CONTAINS(e, "\r\nSubject: =?UTF-8?B?TmV3IGxlYWQgTMOpMSBmb3IgeW91IChhc3NpZ25lZCk=?=\r\n");
    CHECK_CONTAINS(e, "\r\nLead L\xc3\xa9" "1 was assigned to you");   /* the body is 8bit UTF-8 */
}

TEST(email_long_non_ascii_subject_folds_into_short_words) {
    lr_delivery_msg m = sample();
    lr_buf d = LR_BUF_INIT;
    lr_buf_puts(&d, "{\"lead\":\"");
    for (int i = 0; i < 150; i++) lr_buf_puts(&d, "\xc3\xa9");      /* 300 bytes of é */
    lr_buf_puts(&d, "\",\"action\":\"assigned\"}");
    set_decision(&m, d.data);
    char *h = headers_of(email(&m));
    const char *s = strstr(h, "\r\nSubject: ");
    CHECK(s != NULL);
    if (s) {
        s += 11;
        int words = 0;
        for (;;) {
            CHECK(strncmp(s, "=?UTF-8?B?", 10) == 0);
            const char *end = strstr(s, "?=");
            if (!end) { TEST_FAIL_("unterminated encoded word"); break; }
            CHECK((size_t)(end + 2 - s) <= 75);
            words++;
            s = end + 2;
            if (strncmp(s, "\r\n ", 3) != 0) break;
            s += 3;
        }
        CHECK_EQ_INT(strncmp(s, "\r\nMessage-ID:", 13), 0);
        /* "New lead " + 200 bytes (the id cut at 200) + "..." + " for you (assigned)"
         * = 231 bytes, at most 45 a word and never half an é: 45 + 44 * 4 + 10 */
        CHECK_EQ_INT(words, 6);
    }
    CHECK(crlf_only(out.data));
    free(h);
    lr_buf_release(&d);
}

TEST(email_unparsable_lead_json_still_gives_a_message) {
    lr_delivery_msg m = sample();
    set_lead(&m, "{\"id\":\"L1\",\"name\":");
    const char *e = email(&m);
    CHECK_CONTAINS(e, "Subject: New lead L1 for you (assigned)\r\n");
    CHECK_CONTAINS(e, "\r\nAbout the lead\r\n  (the lead's details could not be read)\r\n\r\nWhy you\r\n");
    set_lead(&m, "[1,2]");
    CHECK_CONTAINS(email(&m), "  (the lead's details could not be read)\r\n");
    set_lead(&m, NULL);
    set_decision(&m, "not json");
    e = email(&m);
    CHECK_CONTAINS(e, "Subject: New lead (no id) for you (assigned)\r\n");
    CHECK_CONTAINS(e, "\r\nLead (no id) was assigned to you at 2026-11-28 10:00:00 UTC.\r\n");
    CHECK_CONTAINS(e, "  (no details were sent with this lead)\r\n");
}

TEST(email_takes_lead_id_from_lead_and_names_from_fields) {
    lr_delivery_msg m = sample();
    set_decision(&m, NULL);
    set_lead(&m, "{\"id\":\"L7\",\"fields\":{\"first_name\":\"Ana\",\"last_name\":\"Lima\"}}");
    const char *e = email(&m);
    CHECK_CONTAINS(e, "Subject: New lead L7 for you (assigned)\r\n");
    CHECK_CONTAINS(e, "\r\nAbout the lead\r\n  Name: Ana Lima\r\n\r\n");     /* not twice */
    set_lead(&m, "{\"id\":\"L7\",\"first_name\":\"Ana\",\"last_name\":\"Lima\",\"x\":1}");
    CHECK_CONTAINS(email(&m), "\r\nAbout the lead\r\n  Name: Ana Lima\r\n  Other details:\r\n    x: 1\r\n\r\n");
    /* the Name line takes the top-level one: the other is a detail */
    set_lead(&m, "{\"id\":\"L7\",\"first_name\":\"Ana\",\"fields\":{\"first_name\":\"Ann-Marie\",\"last_name\":\"Lima\"}}");
    CHECK_CONTAINS(email(&m), "\r\n  Name: Ana Lima\r\n  Other details:\r\n    first_name: Ann-Marie\r\n\r\n");
    /* with a name, they are details like any other */
    set_lead(&m, "{\"id\":\"L7\",\"name\":\"A. Lima\",\"first_name\":\"Ana\"}");
    CHECK_CONTAINS(email(&m), "\r\n  Name: A. Lima\r\n  Other details:\r\n    first_name: Ana\r\n");
    CHECK(!strstr(e, "Why you"));
}

/* A lead's top-level custom keys were left out of "Other details" (only
 * "fields" was listed); an integer past 64 bits made the lead unreadable. */
TEST(email_lists_top_level_custom_fields_and_long_integers) {
    lr_delivery_msg m = sample();
    set_lead(&m, "{\"id\":\"L8\",\"at\":\"2026-11-28T10:00:00Z\",\"name\":\"Ana\",\"ad_id\":12345678901234567891,"
                 "\"utm\":\"x\",\"score\":5,\"fields\":{\"gclid\":-123456789012345678901234,\"tags\":[1,2],"
                 "\"note\":\"12345678901234567891234 \\\" 99999999999999999999\",\"budget\":1e20,\"ratio\":0.25}}");
    /* the digits as sent (not the nearest double, 12345678901234567168),
     * and the other integers as integers */
    CHECK_CONTAINS(email(&m), "\r\nAbout the lead\r\n  Name: Ana\r\n  Score: 5\r\n  Other details:\r\n"
                              "    ad_id: 12345678901234567891\r\n    utm: x\r\n"
                              "    gclid: -123456789012345678901234\r\n    tags: [1,2]\r\n"
                              "    note: 12345678901234567891234 \" 99999999999999999999\r\n"
                              "    budget: 1e+20\r\n    ratio: 0.25\r\n\r\n");
}

/* A lead sent wrapped ({"type":"lead","lead":{...}}) is kept without the
 * wrapper: a "type" in it is its own, and so is its "at"; a lead line's
 * "at" is the event's, and its "type" absent or null. */
TEST(email_lists_a_wrapped_leads_own_type_and_at) {
    lr_delivery_msg m = sample();
    set_lead(&m, "{\"id\":\"L9\",\"type\":\"commercial\",\"at\":\"the office\",\"units\":12}");
    CHECK_CONTAINS(email(&m), "  Other details:\r\n    type: commercial\r\n    at: the office\r\n"
                              "    units: 12\r\n\r\n");
    /* a lead line's "type" is absent or null, never "lead" (that makes
     * it a wrapper): a stored lead with "type":"lead" was sent wrapped */
    set_lead(&m, "{\"id\":\"L9\",\"type\":\"lead\",\"at\":\"the office\",\"units\":12}");
    CHECK_CONTAINS(email(&m), "  Other details:\r\n    type: lead\r\n    at: the office\r\n"
                              "    units: 12\r\n\r\n");
    set_lead(&m, "{\"id\":\"L9\",\"type\":null,\"at\":\"2026-11-28T10:00:00Z\",\"units\":12}");
    CHECK_CONTAINS(email(&m), "  Other details:\r\n    units: 12\r\n\r\n");
    set_lead(&m, "{\"id\":\"L9\",\"at\":\"2026-11-28T10:00:00Z\",\"units\":12}");
    CHECK_CONTAINS(email(&m), "  Other details:\r\n    units: 12\r\n\r\n");
}

TEST(email_time_falls_back_to_the_decision_at) {
    lr_delivery_msg m = sample();
    m.created_at = LR_TIME_NONE;
    set_decision(&m, "{\"at\":\"2026-11-02T09:30:00+02:00\",\"lead\":\"L1\",\"action\":\"assigned\"}");
    CHECK_CONTAINS(email(&m), "\r\nLead L1 was assigned to you at 2026-11-02 07:30:00 UTC.\r\n");
    set_decision(&m, "{\"lead\":\"L1\",\"action\":\"assigned\"}");
    CHECK_CONTAINS(email(&m), "\r\nLead L1 was assigned to you.\r\n");
}

TEST(email_lists_twenty_fields_then_counts_the_rest) {
    lr_delivery_msg m = sample();
    lr_buf l = LR_BUF_INIT;
    lr_buf_puts(&l, "{\"id\":\"L1\",\"fields\":{");
    for (int i = 1; i <= 25; i++) lr_buf_printf(&l, "%s\"f%d\":%d", i > 1 ? "," : "", i, i);
    lr_buf_puts(&l, "}}");
    set_lead(&m, l.data);
    const char *e = email(&m);
    CHECK_CONTAINS(e, "\r\n    f20: 20\r\n    ... and 5 more\r\n");
    CHECK(!strstr(e, "f21"));
    lr_buf_release(&l);
}

/* The body of the email in the buffer as a mail client shows it: its
 * base64 decoded when it says so (static; "" when it does not decode). */
static const char *body_of(const char *mail) {
    static lr_buf text = LR_BUF_INIT;
    lr_buf_reset(&text);
    const char *body = strstr(mail, "\r\n\r\n");
    if (!body) return "";
    body += 4;
    char *h = headers_of(mail);
    bool b64 = strstr(h, "\r\nContent-Transfer-Encoding: base64\r\n") != NULL;
    free(h);
    if (!b64) return body;
    size_t n = strlen(body), len = 0;
    if (lr_buf_reserve(&text, n) != LR_OK) return "";
    if (sodium_base642bin((unsigned char *)text.data, n, body, n, "\r\n", &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return "";
    text.data[len] = '\0';
    text.len = len;
    return text.data;
}

/* A line longer than a message may carry (RFC 5322: 998 bytes) makes the
 * body base64, its lines whole (up to 8,192 bytes, cut at a UTF-8
 * boundary beyond); an email without one stays 8bit, as it reads. */
TEST(email_long_line_goes_base64_whole) {
    lr_delivery_msg m = sample();
    CHECK_CONTAINS(email(&m), "\r\nContent-Transfer-Encoding: 8bit\r\n\r\nHello Alice,\r\n");
    lr_buf l = LR_BUF_INIT, want = LR_BUF_INIT;
    lr_buf_puts(&l, "{\"id\":\"L1\",\"fields\":{\"notes\":\"x");      /* "    notes: x" = 12 bytes */
    lr_buf_puts(&want, "\r\n    notes: x");
    for (int i = 0; i < 1000; i++) {                                   /* euro signs, 3 bytes */
        lr_buf_puts(&l, "\xe2\x82\xac");
        lr_buf_puts(&want, "\xe2\x82\xac");
    }
    lr_buf_puts(&l, "\"}}");
    lr_buf_puts(&want, "\r\n");
    set_lead(&m, l.data);
    const char *e = email(&m);
    CHECK(crlf_only(e));
    CHECK(longest_line(e) <= 76);
    CHECK_CONTAINS(e, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    const char *text = body_of(e);
    CHECK_CONTAINS(text, "Hello Alice,\r\n");
    CHECK_CONTAINS(text, want.data);                                   /* 3,012 bytes, whole */
    CHECK(crlf_only(text));

    lr_buf_reset(&l);
    lr_buf_puts(&l, "{\"id\":\"L1\",\"fields\":{\"notes\":\"x");
    for (int i = 0; i < 3000; i++) lr_buf_puts(&l, "\xe2\x82\xac");
    lr_buf_puts(&l, "\"}}");
    set_lead(&m, l.data);
    const char *p = strstr(body_of(email(&m)), "\r\n    notes: x");
    CHECK(p != NULL);
    if (p) {
        const char *end = strstr(p + 2, "\r\n");
        /* 8,189 bytes hold 12 + 2,725 * 3 = 8,187: then "..." */
        CHECK_EQ_INT(end - (p + 2), 8187 + 3);
        CHECK(strncmp(end - 6, "\xe2\x82\xac...", 6) == 0);
    }
    lr_buf_release(&l);
    lr_buf_release(&want);
}

/* The progress instruction with a long public URL and a long lead id (256
 * bytes of 4-byte characters, 768 percent-encoded in its path) is longer
 * than 900 bytes: it comes whole, so that it still works as written. */
TEST(email_long_instruction_comes_whole) {
    lr_delivery_msg m = sample();
    lr_buf id = LR_BUF_INIT, url = LR_BUF_INIT, lead = LR_BUF_INIT, dec = LR_BUF_INIT,
           want = LR_BUF_INIT;
    for (int i = 0; i < 64; i++) lr_buf_puts(&id, "\xf0\x9d\x84\x9e");  /* U+1D11E */
    lr_buf_puts(&url, "https://leads.example.com/");
    for (int i = 0; i < 20; i++) lr_buf_puts(&url, "a-long-path/");
    lr_buf_printf(&lead, "{\"id\":\"%s\"}", id.data);
    lr_buf_printf(&dec, "{\"lead\":\"%s\",\"action\":\"assigned\",\"agent\":\"alice\"}", id.data);
    set_lead(&m, lead.data);
    set_decision(&m, dec.data);
    m.base_url = url.data;
    lr_buf_puts(&want, "POST ");
    lr_buf_puts(&want, url.data);
    lr_buf_puts(&want, "v1/leads/");
    for (int i = 0; i < 64; i++) lr_buf_puts(&want, "%F0%9D%84%9E");
    const char *e = email(&m);
    CHECK_CONTAINS(e, "\r\nContent-Transfer-Encoding: base64\r\n\r\n");
    const char *text = body_of(e);
    const char *p = strstr(text, want.data);
    CHECK(p != NULL);
    if (p) {
        const char *end = strstr(p, "\r\n");
        CHECK(end && end - p > 900);
        CHECK(end && strncmp(end - 3, "...", 3) != 0);
        CHECK(end && end[-1] == '}');                                 /* its JSON body, whole */
    } else {
        printf("  %s\n", text);
    }
    lr_buf_release(&id);
    lr_buf_release(&url);
    lr_buf_release(&lead);
    lr_buf_release(&dec);
    lr_buf_release(&want);
}

int main(void) {
    RUN(sign_matches_independent_hmac_sha256_vector);
    RUN(sign_empty_body_and_key_longer_than_a_block_match_vectors);
    RUN(sign_refuses_null_or_empty_secret_and_leaves_out_untouched);
    RUN(sign_fits_the_extreme_timestamp);
    RUN(verify_accepts_the_python_vector_and_its_own_signatures);
    RUN(verify_refuses_changed_body);
    RUN(verify_refuses_wrong_secret);
    RUN(verify_refuses_timestamp_beyond_tolerance_either_way);
    RUN(verify_accepts_any_matching_v1_in_either_case_and_ignores_other_keys);
    RUN(verify_refuses_malformed_headers);
    RUN(webhook_body_exact_bytes);
    RUN(webhook_body_absent_parts_are_null_and_strings_escaped);
    RUN(email_sample_exact_text);
    RUN(email_offered_gives_accept_and_decline_events);
    RUN(email_offer_says_when_it_expires);
    RUN(email_claimed_asks_for_progress);
    RUN(email_lead_taken_from_the_agent_gives_no_instruction);
    RUN(email_claim_refused_says_whether_the_lead_is_still_open);
    RUN(email_names_the_content_type_of_its_posts);
    RUN(email_dot_segment_lead_ids_are_percent_encoded);
    RUN(email_json_escapes_c1_and_line_separators);
    RUN(email_other_action_points_to_the_lead);
    RUN(email_without_base_url_shows_paths_only);
    RUN(email_lead_id_is_escaped_in_json_and_percent_encoded_in_paths);
    RUN(email_broadcast_offer_names_agents_and_leaves_agent_to_fill);
    RUN(email_why_names_ten_skipped_then_counts_the_rest_with_reason_and_detail);
    RUN(email_why_shows_the_figures_the_strategy_ranked_by);
    RUN(email_ranking_without_chosen_shows_five_eligible);
    RUN(email_greeting_without_agent_name);
    RUN(email_refuses_bad_from_or_to_and_leaves_out_unchanged);
    RUN(email_refuses_a_date_it_cannot_write);
    RUN(email_date_header_weekdays);
    RUN(email_crlf_in_lead_id_stays_on_the_subject_line);
    RUN(email_crlf_in_lead_fields_cannot_start_a_line);
    RUN(email_non_ascii_subject_is_rfc2047_encoded);
    RUN(email_long_non_ascii_subject_folds_into_short_words);
    RUN(email_unparsable_lead_json_still_gives_a_message);
    RUN(email_takes_lead_id_from_lead_and_names_from_fields);
    RUN(email_to_a_fixed_address_names_the_agent);
    RUN(email_lists_top_level_custom_fields_and_long_integers);
    RUN(email_lists_a_wrapped_leads_own_type_and_at);
    RUN(email_time_falls_back_to_the_decision_at);
    RUN(email_lists_twenty_fields_then_counts_the_rest);
    RUN(email_long_line_goes_base64_whole);
    RUN(email_long_instruction_comes_whole);
    lr_buf_release(&out);
    return test_report();
}
