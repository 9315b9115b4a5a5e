/* test_event.c -- events in (JSON -> lr_event) and RFC 3339 times. */
#include "leadrouter/buf.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "core/event_impl.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <time.h>

static lr_event ev;
static char err[256];

static int parse(const char *s) {
    return lr_event_parse(s, strlen(s), &ev, err, sizeof err);
}

static bool is_zeroed(const lr_event *e) {
    static const lr_event zero;
    return memcmp(e, &zero, sizeof zero) == 0;
}

/* Parses S, expects failure RC with a message containing WANT, and a
 * zeroed event even though it was dirty before. */
#define CHECK_FAILS(s, rc, want)                                      \
    do {                                                              \
        memset(&ev, 0xA5, sizeof ev);                                 \
        CHECK_EQ_INT(parse(s), rc);                                   \
        CHECK_CONTAINS(err, want);                                    \
        CHECK(is_zeroed(&ev));                                        \
    } while (0)

static lr_time T(const char *s) {
    lr_time t = 42;
    if (lr_time_parse(s, strlen(s), &t) != LR_OK) return LR_TIME_NONE;
    return t;
}

static const char *F(lr_time t) {
    static char buf[64];
    lr_time_format(t, buf, sizeof buf);
    return buf;
}

/* A string of N copies of C, valid for the next three calls (a ring of
 * four buffers, freed by rep_free()). */
static char *rep_ring[4];
static unsigned rep_next;

static const char *rep(char c, size_t n) {
    char **slot = &rep_ring[rep_next++ % 4];
    free(*slot);
    *slot = malloc(n + 1);
    memset(*slot, c, n);
    (*slot)[n] = '\0';
    return *slot;
}

static void rep_free(void) {
    for (int i = 0; i < 4; i++) { free(rep_ring[i]); rep_ring[i] = NULL; }
}

/* ---- leads ---------------------------------------------------------------- */

TEST(line_without_type_is_a_lead) {
    CHECK_EQ_INT(parse("{\"id\":\"L1\",\"source\":\"google\",\"state\":\"CA\",\"score\":80}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_LEAD);
    CHECK(ev.at == LR_TIME_NONE);
    CHECK(ev.lead != NULL);
    CHECK_EQ_STR(lr_lead_id(ev.lead), "L1");
    CHECK_EQ_STR(ev.lead->str[LR_LF_SOURCE], "google");
    CHECK_EQ_STR(ev.lead->str[LR_LF_STATE], "CA");
    CHECK(ev.lead->str[LR_LF_EMAIL] == NULL);
    CHECK(ev.lead->has_score);
    CHECK_NEAR(ev.lead->score, 80, 0);
    CHECK(!ev.lead->has_value);
    CHECK(ev.lead->received_at == LR_TIME_NONE);
    CHECK_EQ_INT(ev.lead->nfields, 0);
    CHECK(ev.lead_id == NULL && ev.agent_id == NULL);
    lr_event_release(&ev);
    CHECK(is_zeroed(&ev));
}

TEST(lead_with_every_field) {
    const char *s =
        "{\"id\":\"L9\",\"received_at\":\"2026-11-02T12:00:00+02:00\",\"source\":\"google\","
        "\"product\":\"solar\",\"email\":\"jane@example.com\",\"phone\":\"+1 555 0100\","
        "\"name\":\"Jane Do\xC3\xAB\",\"company\":\"Acme\",\"account\":\"A-7\",\"country\":\"US\","
        "\"state\":\"CA\",\"postal_code\":\"94103\",\"stage\":\"warm\",\"score\":87.5,"
        "\"value\":1200,\"fields\":{\"utm\":\"fall\"}}";
    CHECK_EQ_INT(parse(s), LR_OK);
    lr_lead *l = ev.lead;
    CHECK_EQ_STR(lr_lead_id(l), "L9");
    CHECK_EQ_INT(l->received_at, 1793613600000);          /* 10:00Z */
    CHECK_EQ_STR(l->str[LR_LF_SOURCE], "google");
    CHECK_EQ_STR(l->str[LR_LF_PRODUCT], "solar");
    CHECK_EQ_STR(l->str[LR_LF_EMAIL], "jane@example.com");
    CHECK_EQ_STR(l->str[LR_LF_PHONE], "+1 555 0100");
    CHECK_EQ_STR(l->str[LR_LF_NAME], "Jane Do\xC3\xAB");
    CHECK_EQ_STR(l->str[LR_LF_COMPANY], "Acme");
    CHECK_EQ_STR(l->str[LR_LF_ACCOUNT], "A-7");
    CHECK_EQ_STR(l->str[LR_LF_COUNTRY], "US");
    CHECK_EQ_STR(l->str[LR_LF_STATE], "CA");
    CHECK_EQ_STR(l->str[LR_LF_POSTAL_CODE], "94103");
    CHECK_EQ_STR(l->str[LR_LF_STAGE], "warm");
    CHECK(l->has_score && l->score == 87.5);
    CHECK(l->has_value && l->value == 1200);
    CHECK_EQ_INT(l->nfields, 1);
    CHECK_EQ_STR(l->fields[0].name, "utm");
    CHECK_EQ_INT(l->fields[0].value.type, LR_VSTR);
    CHECK_EQ_STR(l->fields[0].value.u.s.ptr, "fall");
    CHECK(ev.at == LR_TIME_NONE);
    lr_event_release(&ev);
}

TEST(lead_event_takes_at_and_nested_lead) {
    CHECK_EQ_INT(parse("{\"type\":\"lead\",\"at\":\"2026-11-02T10:00:00Z\",\"lead\":{\"id\":\"L2\"}}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_LEAD);
    CHECK_EQ_INT(ev.at, 1793613600000);
    CHECK_EQ_STR(lr_lead_id(ev.lead), "L2");
    CHECK_EQ_INT(ev.lead->nfields, 0);
    lr_event_release(&ev);
}

TEST(top_level_lead_at_is_the_event_time_not_a_field) {
    CHECK_EQ_INT(parse("{\"at\":\"2026-11-02T10:00:00Z\",\"id\":\"L3\",\"type\":null}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_LEAD);
    CHECK_EQ_INT(ev.at, 1793613600000);
    CHECK(ev.lead->received_at == LR_TIME_NONE);
    CHECK_EQ_INT(ev.lead->nfields, 0);
    lr_event_release(&ev);
}

TEST(null_lead_members_are_absent) {
    CHECK_EQ_INT(parse("{\"id\":\"L4\",\"email\":null,\"score\":null,\"value\":null,"
                       "\"received_at\":null,\"fields\":null,\"at\":null}"), LR_OK);
    CHECK(ev.lead->str[LR_LF_EMAIL] == NULL);
    CHECK(!ev.lead->has_score && !ev.lead->has_value);
    CHECK(ev.lead->received_at == LR_TIME_NONE && ev.at == LR_TIME_NONE);
    CHECK_EQ_INT(ev.lead->nfields, 0);
    lr_event_release(&ev);
}

TEST(custom_fields_keep_every_value_kind_in_order) {
    CHECK_EQ_INT(parse("{\"id\":\"L5\",\"utm\":\"fall\",\"fields\":{\"s\":\"x\",\"n\":1.5,"
                       "\"i\":7,\"t\":true,\"f\":false,\"z\":null,\"l\":[\"a\",2,true,null],"
                       "\"e\":[]}}"), LR_OK);
    lr_lead *l = ev.lead;
    CHECK_EQ_INT(l->nfields, 9);
    if (l->nfields != 9) { lr_event_release(&ev); return; }
    CHECK_EQ_STR(l->fields[0].name, "utm");       /* top-level unknown keys first */
    CHECK_EQ_STR(l->fields[0].value.u.s.ptr, "fall");
    CHECK_EQ_STR(l->fields[1].name, "s");
    CHECK_EQ_INT(l->fields[1].value.type, LR_VSTR);
    CHECK_EQ_INT(l->fields[1].value.u.s.len, 1);
    CHECK_EQ_STR(l->fields[1].value.u.s.ptr, "x");
    CHECK_EQ_STR(l->fields[2].name, "n");
    CHECK(l->fields[2].value.type == LR_VNUM && l->fields[2].value.u.n == 1.5);
    CHECK_EQ_STR(l->fields[3].name, "i");
    CHECK(l->fields[3].value.type == LR_VNUM && l->fields[3].value.u.n == 7);
    CHECK(l->fields[4].value.type == LR_VBOOL && l->fields[4].value.u.b);
    CHECK(l->fields[5].value.type == LR_VBOOL && !l->fields[5].value.u.b);
    CHECK_EQ_STR(l->fields[6].name, "z");
    CHECK_EQ_INT(l->fields[6].value.type, LR_VNULL);
    CHECK_EQ_STR(l->fields[7].name, "l");
    CHECK_EQ_INT(l->fields[7].value.type, LR_VLIST);
    CHECK_EQ_INT(l->fields[7].value.u.list.n, 4);
    const lr_value *it = l->fields[7].value.u.list.items;
    CHECK(it[0].type == LR_VSTR && strcmp(it[0].u.s.ptr, "a") == 0 && it[0].u.s.len == 1);
    CHECK(it[1].type == LR_VNUM && it[1].u.n == 2);
    CHECK(it[2].type == LR_VBOOL && it[2].u.b);
    CHECK_EQ_INT(it[3].type, LR_VNULL);
    CHECK_EQ_STR(l->fields[8].name, "e");
    CHECK(l->fields[8].value.type == LR_VLIST && l->fields[8].value.u.list.n == 0);
    lr_value v = lr_lead_get_custom(l, "utm", 3);
    CHECK_EQ_STR(v.u.s.ptr, "fall");
    lr_event_release(&ev);
}

TEST(nested_lead_keeps_at_and_type_as_custom_fields) {
    CHECK_EQ_INT(parse("{\"type\":\"lead\",\"lead\":{\"id\":\"L6\",\"at\":\"x\",\"type\":\"y\"}}"), LR_OK);
    CHECK(ev.at == LR_TIME_NONE);
    CHECK_EQ_INT(ev.lead->nfields, 2);
    CHECK_EQ_STR(ev.lead->fields[0].name, "at");
    CHECK_EQ_STR(ev.lead->fields[1].name, "type");
    lr_event_release(&ev);
}

TEST(lead_limits_accept_the_maximum) {
    lr_buf b = LR_BUF_INIT;
    lr_buf_printf(&b, "{\"id\":\"%s\",\"email\":\"%s\",\"fields\":{\"l\":[", rep('i', 256), rep('e', 65536));
    for (int i = 0; i < 1000; i++) lr_buf_puts(&b, i ? ",1" : "1");
    lr_buf_puts(&b, "]");
    for (int i = 1; i < 256; i++) lr_buf_printf(&b, ",\"f%d\":%d", i, i);
    lr_buf_puts(&b, "}}");
    CHECK_EQ_INT(lr_event_parse(b.data, b.len, &ev, err, sizeof err), LR_OK);
    if (ev.lead) {
        CHECK_EQ_INT(strlen(lr_lead_id(ev.lead)), 256);
        CHECK_EQ_INT(strlen(ev.lead->str[LR_LF_EMAIL]), 65536);
        CHECK_EQ_INT(ev.lead->nfields, 256);
        CHECK_EQ_INT(ev.lead->fields[0].value.u.list.n, 1000);
        CHECK_EQ_STR(ev.lead->fields[255].name, "f255");
    }
    lr_event_release(&ev);
    lr_buf_release(&b);
}

/* ---- other events ------------------------------------------------------------ */

TEST(agent_event) {
    CHECK_EQ_INT(parse("{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"away\"}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_AGENT);
    CHECK_EQ_STR(ev.agent_id, "bob");
    CHECK_EQ_INT(ev.status, LR_AGENT_AWAY);
    CHECK(ev.lead == NULL && ev.lead_id == NULL && ev.at == LR_TIME_NONE);
    lr_event_release(&ev);
}

TEST(progress_event_with_value_and_at) {
    CHECK_EQ_INT(parse("{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"value\":1200,"
                       "\"at\":\"2026-11-02T15:30:00Z\"}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_PROGRESS);
    CHECK_EQ_STR(ev.lead_id, "L1");
    CHECK_EQ_INT(ev.progress, LR_PROGRESS_WON);
    CHECK(ev.has_value && ev.value == 1200);
    CHECK_EQ_INT(ev.at, 1793633400000);
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"disqualified\"}"), LR_OK);
    CHECK_EQ_INT(ev.progress, LR_PROGRESS_DISQUALIFIED);
    CHECK(!ev.has_value);
    lr_event_release(&ev);
}

TEST(claim_event_with_and_without_lead) {
    CHECK_EQ_INT(parse("{\"type\":\"claim\",\"agent\":\"bob\",\"lead\":\"L1\"}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_CLAIM);
    CHECK_EQ_STR(ev.agent_id, "bob");
    CHECK_EQ_STR(ev.lead_id, "L1");
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"type\":\"claim\",\"agent\":\"bob\"}"), LR_OK);
    CHECK_EQ_STR(ev.agent_id, "bob");
    CHECK(ev.lead_id == NULL);
    lr_event_release(&ev);
}

TEST(accept_decline_assign_events) {
    static const struct { const char *json; lr_event_type type; } cases[] = {
        { "{\"type\":\"accept\",\"agent\":\"bob\",\"lead\":\"L1\"}", LR_EV_ACCEPT },
        { "{\"type\":\"decline\",\"agent\":\"bob\",\"lead\":\"L1\"}", LR_EV_DECLINE },
        { "{\"type\":\"assign\",\"lead\":\"L1\",\"agent\":\"bob\"}", LR_EV_ASSIGN },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_EQ_INT(parse(cases[i].json), LR_OK);
        CHECK_EQ_INT(ev.type, cases[i].type);
        CHECK_EQ_STR(ev.agent_id, "bob");
        CHECK_EQ_STR(ev.lead_id, "L1");
        lr_event_release(&ev);
    }
}

TEST(release_event_agent_optional) {
    CHECK_EQ_INT(parse("{\"type\":\"release\",\"lead\":\"L1\"}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_RELEASE);
    CHECK_EQ_STR(ev.lead_id, "L1");
    CHECK(ev.agent_id == NULL);
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"type\":\"release\",\"lead\":\"L1\",\"agent\":\"amy\"}"), LR_OK);
    CHECK_EQ_STR(ev.agent_id, "amy");
    lr_event_release(&ev);
}

TEST(tick_event_at_optional) {
    CHECK_EQ_INT(parse("{\"type\":\"tick\",\"at\":\"2026-11-02T10:05:00Z\"}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_TICK);
    CHECK_EQ_INT(ev.at, 1793613600000 + 5 * 60000);
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"type\":\"tick\"}"), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_TICK);
    CHECK(ev.at == LR_TIME_NONE);
    CHECK(!ev.catch_up);
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"type\":\"tick\",\"catch_up\":true}"), LR_OK);
    CHECK(ev.catch_up);
    lr_event_release(&ev);
    CHECK_FAILS("{\"type\":\"tick\",\"catch_up\":\"yes\"}", LR_EINVAL, "'catch_up' must be true or false");
}

TEST(unknown_members_of_other_events_are_named) {
    CHECK_FAILS("{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"valeu\":1200}", LR_EINVAL,
                "unknown member 'valeu' in a progress event (its members: lead, status, value, at)");
    CHECK_FAILS("{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"offline\",\"note\":{}}", LR_EINVAL,
                "unknown member 'note' in an agent event (its members: agent, status, at)");
    CHECK_FAILS("{\"type\":\"tick\",\"bogus\":true}", LR_EINVAL,
                "unknown member 'bogus' in a tick event (its members: catch_up, at)");
    CHECK_FAILS("{\"type\":\"release\",\"lead\":\"L1\",\"status\":\"won\"}", LR_EINVAL,
                "unknown member 'status' in a release event (its members: lead, agent, at)");
    /* every member of every type is known, and a null one too */
    CHECK_EQ_INT(parse("{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"value\":null,"
                       "\"at\":\"2026-11-02T10:00:00Z\"}"), LR_OK);
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"type\":\"claim\",\"agent\":\"bob\",\"lead\":null}"), LR_OK);
    lr_event_release(&ev);
}

/* A lead's own fields put beside "lead" in its wrapper were dropped. */
TEST(a_lead_wrapper_takes_only_lead_and_at) {
    CHECK_FAILS("{\"type\":\"lead\",\"lead\":{\"id\":\"L1\"},\"source\":\"fb\"}", LR_EINVAL,
                "unknown member 'source' in a lead event (its members: lead, at; "
                "the lead's own fields go inside 'lead')");
    CHECK_EQ_INT(parse("{\"type\":\"lead\",\"at\":\"2026-11-02T10:00:00Z\","
                       "\"lead\":{\"id\":\"L1\",\"source\":\"fb\",\"type\":\"x\"}}"), LR_OK);
    CHECK_EQ_STR(ev.lead->str[LR_LF_SOURCE], "fb");
    lr_event_release(&ev);
    /* the journal keeps what earlier builds accepted */
    const char *t = "{\"type\":\"lead\",\"lead\":{\"id\":\"L1\"},\"source\":\"fb\"}";
    CHECK_EQ_INT(lr_event_parse_journal(t, strlen(t), &ev, err, sizeof err), LR_OK);
    CHECK(ev.lead->str[LR_LF_SOURCE] == NULL);
    lr_event_release(&ev);
}

TEST(the_journal_still_ignores_unknown_members) {
    const char *t = "{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"offline\","
                    "\"note\":{\"deep\":[1,[2]]},\"v\":2}";
    CHECK_EQ_INT(lr_event_parse_journal(t, strlen(t), &ev, err, sizeof err), LR_OK);
    CHECK_EQ_INT(ev.status, LR_AGENT_OFFLINE);
    lr_event_release(&ev);
    t = "{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"gone\",\"v\":2}";   /* the rest is checked */
    CHECK_EQ_INT(lr_event_parse_journal(t, strlen(t), &ev, err, sizeof err), LR_EINVAL);
}

TEST(event_type_names_match_the_enum) {
    CHECK_EQ_STR(lr_event_type_names[LR_EV_LEAD], "lead");
    CHECK_EQ_STR(lr_event_type_names[LR_EV_PROGRESS], "progress");
    CHECK_EQ_STR(lr_event_type_names[LR_EV_TICK], "tick");
}

/* ---- errors ------------------------------------------------------------------ */

TEST(invalid_json_names_the_column) {
    CHECK_FAILS("{\"id\":\"L1\",\"x\":}", LR_ESYNTAX, "invalid JSON at column 16: ");
    CHECK_FAILS("", LR_ESYNTAX, "invalid JSON at column 0");
    CHECK_FAILS("{\"id\":\"L1\"} {}", LR_ESYNTAX, "end of file expected");
    CHECK_FAILS("{\"id\":\"L\xFF\"}", LR_ESYNTAX, "invalid JSON at column");
    CHECK_FAILS("{\"id\":\"L\\u0000\"}", LR_ESYNTAX, "invalid JSON at column");
    CHECK_FAILS("{\n\"id\":}", LR_ESYNTAX, "invalid JSON at line 2, column 6");
}

/* jansson refused an integer past 64 bits as "too big integer": JSON all
 * the same, and an ad platform's id may be one. Every number of a lead is
 * a double: so is it. A number past a double's range is still refused. */
TEST(integers_past_64_bits_are_numbers) {
    CHECK_EQ_INT(parse("{\"id\":\"L1\",\"ad\":9223372036854775808,\"neg\":-99999999999999999999,"
                       "\"small\":7}"), LR_OK);
    CHECK_EQ_INT(ev.lead->nfields, 3);
    if (ev.lead->nfields == 3) {
        CHECK(ev.lead->fields[0].value.type == LR_VNUM && ev.lead->fields[0].value.u.n == 9223372036854775808.0);
        CHECK(ev.lead->fields[1].value.type == LR_VNUM && ev.lead->fields[1].value.u.n == -1e20);
        CHECK(ev.lead->fields[2].value.type == LR_VNUM && ev.lead->fields[2].value.u.n == 7);
    }
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\","
                       "\"value\":18446744073709551616}"), LR_OK);
    CHECK(ev.has_value && ev.value == 18446744073709551616.0);
    lr_event_release(&ev);
    CHECK_FAILS("{\"id\":\"L1\",\"n\":1e400}", LR_ESYNTAX,
                "a number at column 20 is beyond the range of a double");
    /* only the long integers are read again as reals: -0 beside one is
     * still 0, as alone (a lead's hash, its idempotency, takes the bits) */
    CHECK_EQ_INT(parse("{\"id\":\"L1\",\"score\":-0,\"big\":12345678901234567891,\"s\":\"-0 99999999999999999999\"}"),
                 LR_OK);
    CHECK(ev.lead->has_score && ev.lead->score == 0 && !signbit(ev.lead->score));
    CHECK(ev.lead->nfields == 2 && ev.lead->fields[0].value.u.n == 12345678901234567891.0);
    CHECK(ev.lead->nfields == 2 && strcmp(ev.lead->fields[1].value.u.s.ptr, "-0 99999999999999999999") == 0);
    lr_event_release(&ev);
    /* an error after a long integer is where it is in the text */
    CHECK_FAILS("{\"id\":\"L1\",\"big\":12345678901234567891,\"x\":}", LR_ESYNTAX, "invalid JSON at column 43");
}

TEST(non_object_is_rejected) {
    CHECK_FAILS("[1,2]", LR_EINVAL, "event is not a JSON object");
    CHECK_FAILS("42", LR_EINVAL, "event is not a JSON object");
    CHECK_FAILS("\"lead\"", LR_EINVAL, "event is not a JSON object");
}

TEST(unknown_or_bad_type_is_rejected) {
    CHECK_FAILS("{\"type\":\"foo\"}", LR_EINVAL, "unknown event type 'foo'");
    CHECK_FAILS("{\"type\":7}", LR_EINVAL, "'type' must be a string");
}

TEST(required_members_are_named) {
    CHECK_FAILS("{\"type\":\"claim\",\"lead\":\"L1\"}", LR_EINVAL, "'agent' is required for a claim event");
    CHECK_FAILS("{\"type\":\"accept\",\"agent\":\"bob\"}", LR_EINVAL, "'lead' is required for an accept event");
    CHECK_FAILS("{\"type\":\"assign\",\"lead\":\"L1\",\"agent\":null}", LR_EINVAL, "'agent' is required for an assign event");
    CHECK_FAILS("{\"type\":\"release\"}", LR_EINVAL, "'lead' is required for a release event");
    CHECK_FAILS("{\"type\":\"progress\",\"lead\":\"L1\"}", LR_EINVAL, "'status' is required for a progress event");
    CHECK_FAILS("{\"type\":\"agent\",\"status\":\"away\"}", LR_EINVAL, "'agent' is required for an agent event");
    CHECK_FAILS("{\"type\":\"lead\"}", LR_EINVAL, "'lead' is required for a lead event");
    CHECK_FAILS("{\"type\":\"lead\",\"lead\":\"L1\"}", LR_EINVAL, "'lead' must be an object");
}

TEST(status_must_come_from_its_table) {
    CHECK_FAILS("{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"busy\"}", LR_EINVAL,
                "'status' must be one of available, away, offline");
    CHECK_FAILS("{\"type\":\"agent\",\"agent\":\"bob\",\"status\":1}", LR_EINVAL,
                "'status' must be one of available, away, offline");
    CHECK_FAILS("{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"Won\"}", LR_EINVAL,
                "'status' must be one of contacted, qualified, won, lost, disqualified");
}

TEST(ids_must_be_short_non_empty_strings) {
    CHECK_FAILS("{\"id\":17}", LR_EINVAL, "'id' must be a string");
    CHECK_FAILS("{\"id\":\"\"}", LR_EINVAL, "'id' must not be empty");
    char buf[400];
    snprintf(buf, sizeof buf, "{\"id\":\"%s\"}", rep('x', 257));
    CHECK_FAILS(buf, LR_EINVAL, "'id' must be at most 256 bytes");
    snprintf(buf, sizeof buf, "{\"type\":\"claim\",\"agent\":\"%s\"}", rep('x', 257));
    CHECK_FAILS(buf, LR_EINVAL, "'agent' must be at most 256 bytes");
    CHECK_FAILS("{\"type\":\"claim\",\"agent\":\"\"}", LR_EINVAL, "'agent' must not be empty");
    CHECK_FAILS("{\"type\":\"release\",\"lead\":[\"L1\"]}", LR_EINVAL, "'lead' must be a string");
}

TEST(lead_id_is_required) {
    CHECK_FAILS("{\"source\":\"google\"}", LR_EINVAL, "'id' is required");
    CHECK_FAILS("{\"type\":\"lead\",\"lead\":{\"source\":\"x\"}}", LR_EINVAL, "'lead.id' is required");
    CHECK_FAILS("{\"id\":null}", LR_EINVAL, "'id' is required");
}

TEST(lead_member_types_are_checked) {
    CHECK_FAILS("{\"id\":\"L1\",\"score\":\"80\"}", LR_EINVAL, "'score' must be a number");
    CHECK_FAILS("{\"id\":\"L1\",\"value\":true}", LR_EINVAL, "'value' must be a number");
    CHECK_FAILS("{\"id\":\"L1\",\"state\":5}", LR_EINVAL, "'state' must be a string");
    CHECK_FAILS("{\"type\":\"lead\",\"lead\":{\"id\":\"L1\",\"score\":[]}}", LR_EINVAL, "'lead.score' must be a number");
    CHECK_FAILS("{\"id\":\"L1\",\"fields\":[1]}", LR_EINVAL, "'fields' must be an object");
    CHECK_FAILS("{\"type\":\"progress\",\"lead\":\"L1\",\"status\":\"won\",\"value\":\"1200\"}", LR_EINVAL,
                "'value' must be a number");
}

TEST(times_must_be_rfc3339) {
    CHECK_FAILS("{\"type\":\"tick\",\"at\":\"yesterday\"}", LR_EINVAL, "'at' is not an RFC 3339 time: 'yesterday'");
    CHECK_FAILS("{\"id\":\"L1\",\"received_at\":\"2026-02-30T00:00:00Z\"}", LR_EINVAL,
                "'received_at' is not an RFC 3339 time: '2026-02-30T00:00:00Z'");
    CHECK_FAILS("{\"id\":\"L1\",\"at\":1793613600}", LR_EINVAL, "'at' must be an RFC 3339 time string");
    CHECK_FAILS("{\"type\":\"lead\",\"at\":\"soon\",\"lead\":{\"id\":\"L1\"}}", LR_EINVAL,
                "'at' is not an RFC 3339 time: 'soon'");
}

TEST(custom_fields_nested_too_deep_are_rejected) {
    const char *tail = "' must be a string, number, boolean, null or a list of those";
    char want[128];
    snprintf(want, sizeof want, "'fields.x%s", tail);
    CHECK_FAILS("{\"id\":\"L1\",\"fields\":{\"x\":{\"a\":1}}}", LR_EINVAL, want);
    CHECK_FAILS("{\"id\":\"L1\",\"fields\":{\"x\":[1,[2]]}}", LR_EINVAL, want);
    CHECK_FAILS("{\"id\":\"L1\",\"fields\":{\"x\":[{}]}}", LR_EINVAL, want);
    snprintf(want, sizeof want, "'addr%s", tail);
    CHECK_FAILS("{\"id\":\"L1\",\"addr\":{\"city\":\"SF\"}}", LR_EINVAL, want);
    snprintf(want, sizeof want, "'lead.fields.x%s", tail);
    CHECK_FAILS("{\"type\":\"lead\",\"lead\":{\"id\":\"L1\",\"fields\":{\"ok\":[\"a\"],\"x\":[[]]}}}", LR_EINVAL, want);
}

TEST(duplicate_keys_are_rejected) {
    CHECK_FAILS("{\"id\":\"L1\",\"state\":\"CA\",\"state\":\"NY\"}", LR_EINVAL, "duplicate key 'state'");
    CHECK_FAILS("{\"id\":\"L1\",\"fields\":{\"a\":1,\"a\":2}}", LR_EINVAL, "duplicate key 'a'");
    CHECK_FAILS("{\"id\":\"L1\",\"utm\":\"a\",\"fields\":{\"utm\":\"b\"}}", LR_EINVAL, "duplicate key 'utm'");
    CHECK_FAILS("{\"type\":\"tick\",\"type\":\"tick\"}", LR_EINVAL, "duplicate key 'type'");
}

TEST(lead_limits_reject_one_more) {
    lr_buf b = LR_BUF_INIT;
    lr_buf_printf(&b, "{\"id\":\"L1\",\"email\":\"%s\"}", rep('e', 65537));
    CHECK_FAILS(b.data, LR_EINVAL, "'email' is longer than 65536 bytes");
    lr_buf_reset(&b);
    lr_buf_printf(&b, "{\"id\":\"L1\",\"fields\":{\"note\":\"%s\"}}", rep('e', 65537));
    CHECK_FAILS(b.data, LR_EINVAL, "'fields.note' is longer than 65536 bytes");
    lr_buf_reset(&b);
    lr_buf_printf(&b, "{\"id\":\"L1\",\"fields\":{\"l\":[1,\"%s\"]}}", rep('e', 65537));
    CHECK_FAILS(b.data, LR_EINVAL, "'fields.l' has an item longer than 65536 bytes");
    lr_buf_reset(&b);
    lr_buf_puts(&b, "{\"id\":\"L1\",\"fields\":{\"l\":[");
    for (int i = 0; i < 1001; i++) lr_buf_puts(&b, i ? ",\"x\"" : "\"x\"");
    lr_buf_puts(&b, "]}}");
    CHECK_FAILS(b.data, LR_EINVAL, "'fields.l' has more than 1000 items");
    lr_buf_reset(&b);
    lr_buf_puts(&b, "{\"id\":\"L1\",\"top\":\"t\",\"fields\":{");
    for (int i = 0; i < 256; i++) lr_buf_printf(&b, "%s\"f%d\":\"v\"", i ? "," : "", i);
    lr_buf_puts(&b, "}}");
    CHECK_FAILS(b.data, LR_EINVAL, "a lead has at most 256 custom fields");
    lr_buf_release(&b);
}

TEST(error_messages_are_printable_and_bounded) {
    CHECK_FAILS("{\"type\":\"a\\nb\\u0007\"}", LR_EINVAL, "unknown event type 'a?b?'");
    char buf[300];
    snprintf(buf, sizeof buf, "{\"type\":\"tick\",\"at\":\"%s\"}", rep('y', 200));
    memset(&ev, 0, sizeof ev);
    CHECK_EQ_INT(parse(buf), LR_EINVAL);
    char want[100];
    snprintf(want, sizeof want, "'%s...'", rep('y', 64));
    CHECK_CONTAINS(err, want);
    CHECK(strlen(err) < 120);
    /* a quoted value is cut on a character boundary: 63 'y' then a 2-byte char */
    snprintf(buf, sizeof buf, "{\"type\":\"%s\xC3\xA9zzz\"}", rep('y', 63));
    CHECK_EQ_INT(parse(buf), LR_EINVAL);
    snprintf(want, sizeof want, "'%s...'", rep('y', 63));
    CHECK_CONTAINS(err, want);
    /* a small error buffer truncates without splitting or overflowing */
    char small[8];
    memset(small, 'Z', sizeof small);
    CHECK_EQ_INT(lr_event_parse("[]", 2, &ev, small, 6), LR_EINVAL);
    CHECK_EQ_STR(small, "event");
    CHECK(small[6] == 'Z');
    CHECK_EQ_INT(lr_event_parse("[]", 2, &ev, NULL, 0), LR_EINVAL);
}

TEST(release_accepts_a_zeroed_event) {
    lr_event z;
    memset(&z, 0, sizeof z);
    lr_event_release(&z);
    CHECK(is_zeroed(&z));
}

/* ---- times ------------------------------------------------------------------- */

TEST(time_parse_utc_and_fractions) {
    CHECK_EQ_INT(T("2026-11-02T10:00:00Z"), 1793613600000);
    CHECK_EQ_INT(T("2026-11-02T10:00:00.250Z"), 1793613600250);
    CHECK_EQ_INT(T("2026-11-02T10:00:00.5Z"), 1793613600500);
    CHECK_EQ_INT(T("2026-11-02T10:00:00.25Z"), 1793613600250);
    CHECK_EQ_INT(T("2026-11-02T10:00:00.123999999Z"), 1793613600123);   /* truncated */
    CHECK_EQ_INT(T("2026-11-02t10:00:00z"), 1793613600000);
    CHECK_EQ_INT(T("2026-11-02 10:00:00Z"), 1793613600000);
    CHECK_EQ_INT(T("1970-01-01T00:00:00Z"), 0);
}

TEST(time_parse_offsets_convert_to_utc) {
    CHECK_EQ_INT(T("2026-11-02T12:00:00+02:00"), 1793613600000);
    CHECK_EQ_INT(T("2026-11-02T04:30:00-05:30"), 1793613600000);
    CHECK_EQ_INT(T("2026-11-02T10:00:00-00:00"), 1793613600000);
    CHECK_EQ_INT(T("2026-11-03T00:30:00.250+14:30"), 1793613600250);
    CHECK_EQ_INT(T("1970-01-01T00:59:59.999+01:00"), -1);
}

TEST(time_parse_date_only_is_midnight_utc) {
    CHECK_EQ_INT(T("2026-11-02"), 1793613600000 - 10 * 3600000);
    CHECK_EQ_INT(T("2024-02-29"), 1709164800000);
}

TEST(time_parse_validates_the_calendar) {
    CHECK_EQ_INT(T("2024-02-29T00:00:00Z"), 1709164800000);
    CHECK_EQ_INT(T("2000-02-29T12:00:00Z"), 951825600000);
    CHECK(T("2026-02-29T00:00:00Z") == LR_TIME_NONE);
    CHECK(T("1900-02-29T00:00:00Z") == LR_TIME_NONE);
    CHECK(T("2026-02-30T00:00:00Z") == LR_TIME_NONE);
    CHECK(T("2026-04-31T00:00:00Z") == LR_TIME_NONE);
    CHECK(T("2026-13-01T00:00:00Z") == LR_TIME_NONE);
    CHECK(T("2026-00-01T00:00:00Z") == LR_TIME_NONE);
    CHECK(T("2026-01-00T00:00:00Z") == LR_TIME_NONE);
    CHECK(T("2026-01-01T24:00:00Z") == LR_TIME_NONE);
    CHECK(T("2026-01-01T00:60:00Z") == LR_TIME_NONE);
    CHECK(T("2026-01-01T00:00:61Z") == LR_TIME_NONE);
    CHECK(T("2026-13-01") == LR_TIME_NONE);
}

TEST(time_parse_rejects_malformed_text) {
    static const char *bad[] = {
        "2026-11-02T10:00:00", "2026-11-02T10:00:00+02", "2026-11-02T10:00:00+0200",
        "2026-11-02T10:00:00+24:00", "2026-11-02T10:00:00+02:60", "2026-11-02T10:00:00.Z",
        "2026-11-02T10:00Z", "2026-11-02X10:00:00Z", "2026-11-02T10:00:00Z ",
        " 2026-11-02T10:00:00Z", "2026-11-2T10:00:00Z", "+2026-11-02T10:00:00Z",
        "2026/11/02", "2026-11-02T", "yesterday", "", "2026-1a-02", "2026-11-02T10:00:00ZZ",
        "2026-11-02T10:00:00.12a3Z",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        lr_time t = 7;
        CHECK_EQ_INT(lr_time_parse(bad[i], strlen(bad[i]), &t), LR_EINVAL);
        CHECK_EQ_INT(t, 7);
    }
}

TEST(time_parse_reads_only_len_bytes) {
    const char *s = "2026-11-02T10:00:00Z trailing";
    lr_time t;
    CHECK_EQ_INT(lr_time_parse(s, 20, &t), LR_OK);
    CHECK_EQ_INT(t, 1793613600000);
    CHECK_EQ_INT(lr_time_parse(s, 10, &t), LR_OK);     /* the date alone */
    CHECK_EQ_INT(lr_time_parse(s, 19, &t), LR_EINVAL);
}

TEST(time_leap_second_reads_as_last_millisecond) {
    CHECK_EQ_INT(T("2016-12-31T23:59:60Z"), T("2016-12-31T23:59:59.999Z"));
    CHECK_EQ_INT(T("2016-12-31T23:59:60.5Z"), T("2016-12-31T23:59:59.999Z"));
}

TEST(time_format_writes_ms_only_when_nonzero) {
    CHECK_EQ_STR(F(1793613600000), "2026-11-02T10:00:00Z");
    CHECK_EQ_STR(F(1793613600250), "2026-11-02T10:00:00.250Z");
    CHECK_EQ_STR(F(1793613600007), "2026-11-02T10:00:00.007Z");
    CHECK_EQ_STR(F(0), "1970-01-01T00:00:00Z");
    char small[32];
    CHECK_EQ_INT(lr_time_format(1793613600250, small, sizeof small), 24);
    CHECK_EQ_STR(small, "2026-11-02T10:00:00.250Z");
}

TEST(time_format_before_1970_and_extreme_years) {
    CHECK_EQ_STR(F(-1), "1969-12-31T23:59:59.999Z");
    CHECK_EQ_STR(F(-14182940000), "1969-07-20T20:17:40Z");
    CHECK_EQ_STR(F(-62167219200000), "0000-01-01T00:00:00Z");
    CHECK_EQ_STR(F(253402300799999), "9999-12-31T23:59:59.999Z");
    CHECK_EQ_INT(T("0000-01-01T00:00:00Z"), -62167219200000);
    CHECK_EQ_INT(T("9999-12-31T23:59:59.999Z"), 253402300799999);
    CHECK_EQ_STR(F(-62167219200000 - 3600000), "-0001-12-31T23:00:00Z");
    CHECK(T("0000-01-01T00:00:00+01:00") == LR_TIME_NONE);      /* year -1 in UTC */
    CHECK(T("9999-12-31T23:59:59-00:01") == LR_TIME_NONE);      /* year 10000 in UTC */
    CHECK_EQ_INT(T("0000-01-01T00:00:00-01:00"), -62167219200000 + 3600000);
    CHECK_EQ_STR(F(253402300800000), "10000-01-01T00:00:00Z");
}

/* Every day of 1600-2400 and pseudo-random instants over 0000-9999:
 * format agrees with gmtime_r, and parse inverts format. */
TEST(time_round_trips_agree_with_gmtime) {
    int bad = 0;
    uint64_t x = 0x9E3779B97F4A7C15u;
    const int64_t lo = -62167219200000, hi = 253402300799999;
    for (int64_t i = 0; i < 300000 && bad < 5; i++) {
        lr_time t;
        if (i < 292194) {
            t = T("1600-01-01T00:00:00Z") + i * 86400000 + (i * 7919 % 86400000);
        } else {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            t = lo + (int64_t)(x % (uint64_t)(hi - lo + 1));
        }
        char want[64];
        int64_t s = t >= 0 ? t / 1000 : -((-t + 999) / 1000);
        time_t tt = (time_t)s;
        struct tm tm;
        gmtime_r(&tt, &tm);
        int ms = (int)(t - s * 1000);
        int n = snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                         tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        snprintf(want + n, sizeof want - (size_t)n, ms ? ".%03dZ" : "Z", ms);
        const char *got = F(t);
        lr_time back = T(got);
        if (strcmp(got, want) != 0 || back != t) {
            bad++;
            TEST_FAIL_("t=%" PRId64 ": got %s want %s, back %" PRId64, t, got, want, back);
        }
    }
}

/* ---- the plain-lead path (event_plain.c) ------------------------------------ */

static bool plain(const char *s) {
    return lr_event_parse_plain(s, strlen(s), &ev);
}

TEST(plain_path_reads_flat_leads_as_the_general_parser_does) {
    CHECK(plain("{\"id\":\"L1\",\"source\":\"google\",\"state\":\"CA\",\"score\":80}"));
    CHECK_EQ_STR(ev.lead->str[LR_LF_SOURCE], "google");
    CHECK_EQ_STR(ev.lead->str[LR_LF_STATE], "CA");
    CHECK(ev.lead->has_score && ev.lead->score == 80);
    CHECK_EQ_INT(ev.lead->nfields, 0);
    lr_event_release(&ev);

    /* escapes are decoded; non-ASCII text is kept byte for byte */
    CHECK(plain("{\"id\":\"L\\u00e9\",\"name\":\"Ren\\u00e9e \\\"R\\\" O\\\\Brien\\/x\",\"type\":null,"
                "\"company\":\"Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac\"}"));
    CHECK_EQ_STR(ev.lead->str[LR_LF_ID], "L\xc3\xa9");
    CHECK_EQ_STR(ev.lead->str[LR_LF_NAME], "Ren\xc3\xa9" "e \"R\" O\\Brien/x");
    CHECK_EQ_STR(ev.lead->str[LR_LF_COMPANY], "Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac");
    lr_event_release(&ev);

    /* times, numbers as jansson converts them, custom fields in order */
    CHECK(plain("{\"id\":\"L2\",\"at\":\"2026-11-02T10:00:01.5Z\",\"received_at\":\"2026-11-02T10:00:00Z\","
                "\"score\":-0,\"value\":1.5e3,\"utm\":\"x\",\"ok\":true,\"n\":null,\"big\":9007199254740993}"));
    CHECK_EQ_STR(F(ev.at), "2026-11-02T10:00:01.500Z");
    CHECK_EQ_STR(F(ev.lead->received_at), "2026-11-02T10:00:00Z");
    CHECK(ev.lead->has_score && ev.lead->score == 0 && !signbit(ev.lead->score));
    CHECK(ev.lead->has_value && ev.lead->value == 1500);
    CHECK_EQ_INT(ev.lead->nfields, 4);
    CHECK_EQ_STR(ev.lead->fields[0].name, "utm");
    CHECK_EQ_STR(ev.lead->fields[0].value.u.s.ptr, "x");
    CHECK_EQ_STR(ev.lead->fields[1].name, "ok");
    CHECK(ev.lead->fields[1].value.type == LR_VBOOL && ev.lead->fields[1].value.u.b);
    CHECK_EQ_STR(ev.lead->fields[2].name, "n");
    CHECK(ev.lead->fields[2].value.type == LR_VNULL);
    CHECK(ev.lead->fields[3].value.type == LR_VNUM && ev.lead->fields[3].value.u.n == 9007199254740992.0);
    lr_event_release(&ev);

    /* a "fields" object of scalars: after the top-level custom fields, its
     * keys custom whatever their names; lead fields may follow it */
    CHECK(plain("{\"id\":\"L3\",\"utm\":\"top\",\"fields\":{\"notes\":\"n\\u00e9\",\"source\":\"s\","
                "\"type\":\"t\",\"at\":1.5,\"fields\":false,\"z\":null},\"score\":5}"));
    CHECK_EQ_INT(ev.lead->nfields, 7);
    CHECK(ev.lead->str[LR_LF_SOURCE] == NULL);
    CHECK(ev.lead->has_score && ev.lead->score == 5);
    static const char *const names[] = { "utm", "notes", "source", "type", "at", "fields", "z" };
    for (size_t i = 0; i < 7 && i < ev.lead->nfields; i++) CHECK_EQ_STR(ev.lead->fields[i].name, names[i]);
    if (ev.lead->nfields == 7) {
        CHECK_EQ_STR(ev.lead->fields[1].value.u.s.ptr, "n\xc3\xa9");
        CHECK(ev.lead->fields[4].value.type == LR_VNUM && ev.lead->fields[4].value.u.n == 1.5);
        CHECK(ev.lead->fields[5].value.type == LR_VBOOL && !ev.lead->fields[5].value.u.b);
        CHECK(ev.lead->fields[6].value.type == LR_VNULL);
    }
    lr_event_release(&ev);
    CHECK(plain("{\"id\":\"L4\",\"fields\":null}"));
    CHECK_EQ_INT(ev.lead->nfields, 0);
    lr_event_release(&ev);
    CHECK(plain("{\"id\":\"L5\",\"fields\":{}}"));
    CHECK_EQ_INT(ev.lead->nfields, 0);
    lr_event_release(&ev);
}

/* What the plain path declines goes to the general parser, which accepts
 * it or names the mistake as before. */
TEST(plain_path_declines_what_it_cannot_vouch_for) {
    static const char *const lines[] = {
        "{\"id\":\"L\",\"x\":1,\"x\":2}",                 /* duplicate custom key */
        "{\"id\":\"L\",\"id\":\"M\"}",                    /* duplicate lead field */
        "{\"id\":\"L\",\"b\":\"\\ud800\"}",               /* lone surrogate escape */
        "{\"id\":\"L\",\"e\":\"\\ud83d\\ude00\"}",        /* a pair: valid, but declined */
        "{\"id\":\"L\",\"b\":\"a\\u0000b\"}",             /* NUL */
        "{\"id\":\"L\",\"b\":\"\xc0\xaf\"}",              /* overlong UTF-8 */
        "{\"id\":\"L\",\"b\":\"\xed\xa0\x80\"}",          /* encoded surrogate */
        "{\"id\":\"L\",\"score\":123456789012345678901234567890}",
        "{\"id\":\"L\",\"score\":1e400}",
        "{\"id\":\"L\",\"fields\":{\"a\":1},\"b\":2}",      /* a top-level custom key after "fields" */
        "{\"id\":\"L\",\"a\":1,\"fields\":{\"a\":2}}",      /* one name both ways */
        "{\"id\":\"L\",\"fields\":{\"a\":1,\"a\":2}}",      /* twice in "fields" */
        "{\"id\":\"L\",\"fields\":{},\"fields\":{}}",
        "{\"id\":\"L\",\"fields\":{\"a\":{\"b\":1}}}",
        "{\"id\":\"L\",\"fields\":{\"a\":[1]}}",
        "{\"id\":\"L\",\"fields\":\"x\"}",
        "{\"id\":\"L\",\"fields\":[]}",
        "{\"id\":\"L\",\"fields\":{\"a\":1}",                /* unterminated */
        "{\"id\":\"L\",\"other\":{\"a\":1}}",
        "{\"id\":\"L\",\"tags\":[\"a\",1]}",
        "{\"type\":\"lead\",\"lead\":{\"id\":\"L\"}}",
        "{\"type\":\"agent\",\"agent\":\"bob\",\"status\":\"away\"}",
        "{\"id\":\"\",\"source\":\"x\"}",
        "{\"source\":\"x\"}",
        "{\"id\":\"L\",\"score\":\"80\"}",
        "{\"id\":\"L\"} {\"id\":\"M\"}",
        "{\"id\":\"L\",\"received_at\":\"yesterday\"}",
        "{\"id\":\"L\",\"score\":01}",
        "{\"id\":\"L\",\"s\":\"tab\tin\"}",
        "{\"id\":\"L\",\f\"a\":1}",                  /* yajl skips a form feed, jansson does not */
        "{\"id\":\"L\"} \"x",                        /* an unterminated string after it */
        "[{\"id\":\"L\"}]",
        "",
    };
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        memset(&ev, 0xA5, sizeof ev);
        if (plain(lines[i])) {
            TEST_FAIL_("the plain path took %s", lines[i]);
            lr_event_release(&ev);
        }
        CHECK(is_zeroed(&ev));
    }
    /* and lr_event_parse still answers as the general parser does */
    CHECK_FAILS("{\"id\":\"L\",\"x\":1,\"x\":2}", LR_EINVAL, "duplicate key 'x'");
    CHECK_FAILS("{\"id\":\"L\",\"b\":\"a\\u0000b\"}", LR_ESYNTAX, "invalid JSON");
    CHECK_FAILS("{\"id\":\"L\",\"score\":\"80\"}", LR_EINVAL, "'score' must be a number");
    CHECK_FAILS("{\"id\":\"L\",\"a\":1,\"fields\":{\"a\":2}}", LR_EINVAL, "duplicate key 'a'");
    CHECK_FAILS("{\"id\":\"L\",\"fields\":\"x\"}", LR_EINVAL, "'fields' must be an object");
    CHECK_EQ_INT(parse("{\"id\":\"L\",\"fields\":{\"a\":1},\"b\":2}"), LR_OK);
    CHECK_EQ_STR(ev.lead->fields[0].name, "b");     /* top-level ones first */
    lr_event_release(&ev);
    CHECK_EQ_INT(parse("{\"id\":\"L\",\"e\":\"\\ud83d\\ude00\"}"), LR_OK);
    CHECK_EQ_STR(ev.lead->fields[0].value.u.s.ptr, "\xf0\x9f\x98\x80");
    lr_event_release(&ev);
}

int main(void) {
    RUN(line_without_type_is_a_lead);
    RUN(lead_with_every_field);
    RUN(lead_event_takes_at_and_nested_lead);
    RUN(top_level_lead_at_is_the_event_time_not_a_field);
    RUN(null_lead_members_are_absent);
    RUN(custom_fields_keep_every_value_kind_in_order);
    RUN(nested_lead_keeps_at_and_type_as_custom_fields);
    RUN(lead_limits_accept_the_maximum);
    RUN(agent_event);
    RUN(progress_event_with_value_and_at);
    RUN(claim_event_with_and_without_lead);
    RUN(accept_decline_assign_events);
    RUN(release_event_agent_optional);
    RUN(tick_event_at_optional);
    RUN(unknown_members_of_other_events_are_named);
    RUN(a_lead_wrapper_takes_only_lead_and_at);
    RUN(the_journal_still_ignores_unknown_members);
    RUN(event_type_names_match_the_enum);
    RUN(invalid_json_names_the_column);
    RUN(integers_past_64_bits_are_numbers);
    RUN(non_object_is_rejected);
    RUN(unknown_or_bad_type_is_rejected);
    RUN(required_members_are_named);
    RUN(status_must_come_from_its_table);
    RUN(ids_must_be_short_non_empty_strings);
    RUN(lead_id_is_required);
    RUN(lead_member_types_are_checked);
    RUN(times_must_be_rfc3339);
    RUN(custom_fields_nested_too_deep_are_rejected);
    RUN(duplicate_keys_are_rejected);
    RUN(lead_limits_reject_one_more);
    RUN(error_messages_are_printable_and_bounded);
    RUN(release_accepts_a_zeroed_event);
    RUN(time_parse_utc_and_fractions);
    RUN(time_parse_offsets_convert_to_utc);
    RUN(time_parse_date_only_is_midnight_utc);
    RUN(time_parse_validates_the_calendar);
    RUN(time_parse_rejects_malformed_text);
    RUN(time_parse_reads_only_len_bytes);
    RUN(time_leap_second_reads_as_last_millisecond);
    RUN(time_format_writes_ms_only_when_nonzero);
    RUN(time_format_before_1970_and_extreme_years);
    RUN(time_round_trips_agree_with_gmtime);
    RUN(plain_path_reads_flat_leads_as_the_general_parser_does);
    RUN(plain_path_declines_what_it_cannot_vouch_for);
    rep_free();
    return test_report();
}
