/* test_form.c -- web-to-lead: urlencoded decoding and the mapping of form
 * fields to a lead, down to the event the server applies. */
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "server/form.h"
#include "test.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char out[256];
static size_t outlen;

static int unescape(const char *s) {
    return lr_form_unescape(s, strlen(s), out, &outlen);
}

TEST(unescape_decodes_plus_and_percent_escapes) {
    CHECK_EQ_INT(unescape("a+b%20c%2Bd"), LR_OK);
    CHECK_EQ_STR(out, "a b c+d");
    CHECK_EQ_INT(outlen, 7);
    CHECK_EQ_INT(unescape("%41%4a%4A%7e"), LR_OK);
    CHECK_EQ_STR(out, "AJJ~");
    CHECK_EQ_INT(unescape("caf%C3%A9"), LR_OK);
    CHECK_EQ_STR(out, "caf\xC3\xA9");
    CHECK_EQ_INT(unescape(""), LR_OK);
    CHECK_EQ_STR(out, "");
    CHECK_EQ_INT(outlen, 0);
    CHECK_EQ_INT(unescape("100%25"), LR_OK);
    CHECK_EQ_STR(out, "100%");
}

TEST(unescape_refuses_bad_escapes_and_nul) {
    CHECK_EQ_INT(unescape("%"), LR_EINVAL);
    CHECK_EQ_INT(unescape("a%4"), LR_EINVAL);
    CHECK_EQ_INT(unescape("%zz"), LR_EINVAL);
    CHECK_EQ_INT(unescape("%g1"), LR_EINVAL);
    CHECK_EQ_INT(unescape("%00"), LR_EINVAL);
    CHECK_EQ_INT(unescape("ab%"), LR_EINVAL);
}

TEST(unescape_stops_at_the_length_given) {
    /* "%4" followed by a byte outside the length is still cut short */
    const char s[] = "%41%42";
    CHECK_EQ_INT(lr_form_unescape(s, 5, out, &outlen), LR_EINVAL);
    CHECK_EQ_INT(lr_form_unescape(s, 3, out, &outlen), LR_OK);
    CHECK_EQ_STR(out, "A");
}

/* ---- decode ---- */

static lr_form form;
static char err[256];

static int decode(const char *s) {
    lr_form_release(&form);
    return lr_form_decode(s, strlen(s), &form, err, sizeof err);
}

TEST(decode_splits_pairs_in_order) {
    CHECK_EQ_INT(decode("email=a%40b.com&name=Ann+Lee&&flag&empty="), LR_OK);
    CHECK_EQ_INT(form.n, 4);
    CHECK_EQ_STR(form.pairs[0].name, "email");
    CHECK_EQ_STR(form.pairs[0].value, "a@b.com");
    CHECK_EQ_STR(form.pairs[1].name, "name");
    CHECK_EQ_STR(form.pairs[1].value, "Ann Lee");
    CHECK_EQ_STR(form.pairs[2].name, "flag");
    CHECK_EQ_STR(form.pairs[2].value, "");
    CHECK_EQ_STR(form.pairs[3].name, "empty");
    CHECK_EQ_STR(form.pairs[3].value, "");
    CHECK_EQ_INT(decode(""), LR_OK);
    CHECK_EQ_INT(form.n, 0);
}

TEST(decode_keeps_equals_signs_after_the_first) {
    CHECK_EQ_INT(decode("q=a=b%3Dc"), LR_OK);
    CHECK_EQ_INT(form.n, 1);
    CHECK_EQ_STR(form.pairs[0].value, "a=b=c");
}

TEST(decode_refuses_empty_names_bad_escapes_and_bad_utf8) {
    CHECK_EQ_INT(decode("a=1&=2"), LR_EINVAL);
    CHECK_EQ_STR(err, "pair 2 has an empty name");
    CHECK_EQ_INT(form.n, 0);
    CHECK_EQ_INT(decode("a=1&b=%2"), LR_EINVAL);
    CHECK_EQ_STR(err, "pair 2: the value has a bad %-escape, a %00 or a NUL byte");
    CHECK_EQ_INT(decode("a%ZZ=1"), LR_EINVAL);
    CHECK_EQ_STR(err, "pair 1: the name has a bad %-escape, a %00 or a NUL byte");
    CHECK_EQ_INT(decode("a=%FF"), LR_EINVAL);
    CHECK_EQ_STR(err, "pair 1: the value is not valid UTF-8");
    CHECK_EQ_INT(decode("a=%C0%AF"), LR_EINVAL);        /* overlong '/' */
    CHECK_EQ_INT(decode("a=%ED%A0%80"), LR_EINVAL);     /* a surrogate */
    CHECK_EQ_INT(decode("a=%00"), LR_EINVAL);
    /* a NUL byte as it is, as %00: refused, not a value cut short at it
     * nor a name made empty (found by fuzz_form) */
    lr_form_release(&form);
    CHECK_EQ_INT(lr_form_decode("name=Bob\0x", 10, &form, err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "pair 1: the value has a bad %-escape, a %00 or a NUL byte");
    CHECK_EQ_INT(lr_form_decode("\0=1", 3, &form, err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "pair 1: the name has a bad %-escape, a %00 or a NUL byte");
}

TEST(decode_refuses_more_than_1000_pairs) {
    char *s = malloc(1001 * 4 + 1);
    size_t w = 0;
    for (int i = 0; i < 1001; i++) w += (size_t)sprintf(s + w, "a=1&");
    CHECK_EQ_INT(decode(s), LR_EINVAL);
    CHECK_EQ_STR(err, "a form has at most 1000 fields");
    s[1000 * 4] = '\0';
    CHECK_EQ_INT(decode(s), LR_OK);
    CHECK_EQ_INT(form.n, 1000);
    free(s);
}

TEST(utf8_validation_follows_the_standard) {
    CHECK(lr_utf8_valid("", 0));
    CHECK(lr_utf8_valid("h\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 10));
    CHECK(!lr_utf8_valid("\xC3", 1));                   /* cut short */
    CHECK(!lr_utf8_valid("\xC1\xBF", 2));               /* overlong */
    CHECK(!lr_utf8_valid("\xE0\x80\xAF", 3));           /* overlong */
    CHECK(!lr_utf8_valid("\xF4\x90\x80\x80", 4));       /* above U+10FFFF */
    CHECK(!lr_utf8_valid("\x80", 1));
}

/* ---- mapping ---- */

/* Decodes BODY and maps it for SOURCE; returns the lead as compact JSON
 * with sorted keys (static), or "ERR: message". */
static const char *lead_of(const char *body, const char *source) {
    static char buf[1024];
    json_t *lead = NULL;
    if (decode(body) != LR_OK) {
        snprintf(buf, sizeof buf, "ERR: %s", err);
        return buf;
    }
    if (lr_form_to_lead(&form, source, "form-0123456789abcdef", &lead, err, sizeof err) != LR_OK) {
        snprintf(buf, sizeof buf, "ERR: %s", err);
        return buf;
    }
    char *s = json_dumps(lead, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(buf, sizeof buf, "%s", s);
    free(s);
    json_decref(lead);
    return buf;
}

TEST(known_fields_map_to_the_lead_and_the_rest_to_fields) {
    CHECK_EQ_STR(lead_of("id=W1&email=a%40b.com&phone=555&company=Acme&account=A1&country=US"
                         "&state=CA&postal_code=94110&product=purchase&stage=new&utm_campaign=spring",
                         "website"),
                 "{\"account\":\"A1\",\"company\":\"Acme\",\"country\":\"US\",\"email\":\"a@b.com\","
                 "\"fields\":{\"utm_campaign\":\"spring\"},\"id\":\"W1\",\"phone\":\"555\","
                 "\"postal_code\":\"94110\",\"product\":\"purchase\",\"source\":\"website\","
                 "\"stage\":\"new\",\"state\":\"CA\"}");
}

TEST(aliases_and_case_map_to_lead_fields) {
    CHECK_EQ_STR(lead_of("E-Mail=x%40y.org&Tel=1&Organization=Co&ZIP=10001", "s"),
                 "{\"company\":\"Co\",\"email\":\"x@y.org\",\"id\":\"form-0123456789abcdef\","
                 "\"phone\":\"1\",\"postal_code\":\"10001\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("email_address=a%40b&telephone=2&organisation=O&postcode=N1", "s"),
                 "{\"company\":\"O\",\"email\":\"a@b\",\"id\":\"form-0123456789abcdef\","
                 "\"phone\":\"2\",\"postal_code\":\"N1\",\"source\":\"s\"}");
}

TEST(first_and_last_name_make_the_name) {
    CHECK_EQ_STR(lead_of("first_name=Ann&last_name=Lee", "s"),
                 "{\"id\":\"form-0123456789abcdef\",\"name\":\"Ann Lee\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("last_name=Lee", "s"),
                 "{\"id\":\"form-0123456789abcdef\",\"name\":\"Lee\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("first_name=Ann&last_name=Lee&full_name=Ann+B.+Lee", "s"),
                 "{\"id\":\"form-0123456789abcdef\",\"name\":\"Ann B. Lee\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("first_name=Ann&first_name=Bo", "s"), "ERR: 'first_name' is given twice");
}

TEST(score_and_value_must_be_numbers) {
    CHECK_EQ_STR(lead_of("score=80&value=+1.5e3", "s"),
                 "{\"id\":\"form-0123456789abcdef\",\"score\":80.0,\"source\":\"s\",\"value\":1500.0}");
    CHECK_EQ_STR(lead_of("score=-3.25", "s"),
                 "{\"id\":\"form-0123456789abcdef\",\"score\":-3.25,\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("score=high", "s"), "ERR: 'score' must be a number");
    CHECK_EQ_STR(lead_of("value=nan", "s"), "ERR: 'value' must be a number");
    CHECK_EQ_STR(lead_of("value=0x10", "s"), "ERR: 'value' must be a number");
    CHECK_EQ_STR(lead_of("value=1e999", "s"), "ERR: 'value' must be a number");
    CHECK_EQ_STR(lead_of("value=.", "s"), "ERR: 'value' must be a number");
}

TEST(a_known_field_given_twice_is_an_error) {
    CHECK_EQ_STR(lead_of("email=a%40b&email=c%40d", "s"),
                 "ERR: 'email' sets the lead's email, which is already given");
    CHECK_EQ_STR(lead_of("zip=1&postal_code=2", "s"),
                 "ERR: 'postal_code' sets the lead's postal_code, which is already given");
}

TEST(repeated_custom_fields_become_lists) {
    CHECK_EQ_STR(lead_of("interest=a&interest=b&interest=c&other=x", "s"),
                 "{\"fields\":{\"interest\":[\"a\",\"b\",\"c\"],\"other\":\"x\"},"
                 "\"id\":\"form-0123456789abcdef\",\"source\":\"s\"}");
}

TEST(empty_values_are_no_values) {
    CHECK_EQ_STR(lead_of("email=&phone=&note=&id=&company=Acme", "s"),
                 "{\"company\":\"Acme\",\"id\":\"form-0123456789abcdef\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("email=&phone=&note=&id=", "s"), "ERR: the form has no filled-in field");
    CHECK_EQ_STR(lead_of("", "s"), "ERR: the form has no filled-in field");
    CHECK_EQ_STR(lead_of("note=hello", "s"),
                 "{\"fields\":{\"note\":\"hello\"},\"id\":\"form-0123456789abcdef\",\"source\":\"s\"}");
}

/* Browsers send what was typed: white space around a known field's value
 * is dropped (an email with a trailing space would not match), and a
 * value of white space alone is an input left blank; a custom field keeps
 * what was typed, and an id is taken as it is. */
TEST(white_space_around_known_fields_is_dropped) {
    CHECK_EQ_STR(lead_of("first_name=%20&last_name=Lee", "s"),
                 "{\"id\":\"form-0123456789abcdef\",\"name\":\"Lee\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("first_name=+Ann%09&last_name=Lee+&email=+a%40b.com%0D%0A&score=%20", "s"),
                 "{\"email\":\"a@b.com\",\"id\":\"form-0123456789abcdef\",\"name\":\"Ann Lee\","
                 "\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("id=W7&note=+hi+&blank=+++", "s"),
                 "{\"fields\":{\"note\":\" hi \"},\"id\":\"W7\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("id=+W8+", "s"),      /* an id is taken as it is */
                 "{\"id\":\" W8 \",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("id=+++&name=Ann", "s"),     /* but one of white space alone is none */
                 "{\"id\":\"form-0123456789abcdef\",\"name\":\"Ann\",\"source\":\"s\"}");
    CHECK_EQ_STR(lead_of("email=%20&phone=%09", "s"), "ERR: the form has no filled-in field");
    CHECK_EQ_STR(lead_of("score=+7+", "s"),
                 "{\"id\":\"form-0123456789abcdef\",\"score\":7.0,\"source\":\"s\"}");
}

TEST(source_comes_from_the_path_and_a_form_source_is_a_custom_field) {
    CHECK_EQ_STR(lead_of("source=spoofed&received_at=2020-01-01T00:00:00Z", "landing"),
                 "{\"fields\":{\"received_at\":\"2020-01-01T00:00:00Z\",\"source\":\"spoofed\"},"
                 "\"id\":\"form-0123456789abcdef\",\"source\":\"landing\"}");
}

TEST(a_form_lead_parses_as_a_lead_event) {
    json_t *lead = NULL;
    CHECK_EQ_INT(decode("id=W7&email=a%40b.com&score=70&colour=blue"), LR_OK);
    CHECK_EQ_INT(lr_form_to_lead(&form, "web", "unused", &lead, err, sizeof err), LR_OK);
    lr_event ev;
    CHECK_EQ_INT(lr_event_parse_json(lead, &ev, err, sizeof err), LR_OK);
    CHECK_EQ_INT(ev.type, LR_EV_LEAD);
    CHECK_EQ_STR(lr_lead_id(ev.lead), "W7");
    CHECK_EQ_STR(ev.lead->str[LR_LF_SOURCE], "web");
    CHECK_EQ_STR(ev.lead->str[LR_LF_EMAIL], "a@b.com");
    CHECK(ev.lead->has_score && ev.lead->score == 70);
    CHECK_EQ_INT(ev.lead->nfields, 1);
    CHECK_EQ_STR(ev.lead->fields[0].name, "colour");
    lr_event_release(&ev);
    json_decref(lead);
}

TEST(a_form_lead_with_a_bad_id_is_refused_by_the_event_parser) {
    char id[300];
    memset(id, 'x', 299);
    id[299] = '\0';
    char body[320];
    snprintf(body, sizeof body, "id=%s", id);
    json_t *lead = NULL;
    CHECK_EQ_INT(decode(body), LR_OK);
    CHECK_EQ_INT(lr_form_to_lead(&form, "web", "unused", &lead, err, sizeof err), LR_OK);
    lr_event ev;
    CHECK_EQ_INT(lr_event_parse_json(lead, &ev, err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "'id' must be at most 256 bytes");
    json_decref(lead);
}

/* ---- generated ids ---------------------------------------------------- */

static bool id_shape_ok(const char *id) {
    if (strlen(id) != LR_FORM_ID_LEN || strncmp(id, "form-", 5) != 0) return false;
    for (const char *p = id + 5; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f'))) return false;
    return true;
}

TEST(generated_ids_carry_the_time_and_grow_with_each_one) {
    char prev[LR_FORM_ID_LEN + 1], id[LR_FORM_ID_LEN + 1];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long before = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    lr_form_new_id(prev);
    CHECK(id_shape_ok(prev));
    char ms[13];
    memcpy(ms, prev + 5, 12);
    ms[12] = '\0';
    long long at = strtoll(ms, NULL, 16);       /* the stamp's milliseconds */
    CHECK(at >= before && at <= before + 5000);
    /* far more ids than milliseconds pass: many share one */
    for (int i = 0; i < 100000; i++) {
        lr_form_new_id(id);
        if (!id_shape_ok(id) || strcmp(id, prev) <= 0) {
            CHECK(id_shape_ok(id));
            CHECK(strcmp(id, prev) > 0);
            break;
        }
        memcpy(prev, id, sizeof id);
    }
}

enum { ID_THREADS = 4, IDS_EACH = 25000 };

typedef struct {
    char (*ids)[LR_FORM_ID_LEN + 1];
    pthread_barrier_t *start;
} id_batch;

static void *make_ids(void *arg) {
    id_batch *b = arg;
    pthread_barrier_wait(b->start);     /* all at once: they race for stamps */
    for (int i = 0; i < IDS_EACH; i++) lr_form_new_id(b->ids[i]);
    return NULL;
}

static int by_stamp(const void *a, const void *b) {
    return strncmp(a, b, 5 + 16);
}

TEST(generated_ids_from_several_threads_never_share_a_stamp) {
    char (*ids)[LR_FORM_ID_LEN + 1] = malloc(ID_THREADS * IDS_EACH * sizeof *ids);
    CHECK(ids != NULL);
    if (!ids) return;
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, ID_THREADS);
    id_batch b[ID_THREADS];
    pthread_t t[ID_THREADS];
    for (int k = 0; k < ID_THREADS; k++) {
        b[k] = (id_batch){ ids + k * IDS_EACH, &start };
        if (k) CHECK_EQ_INT(pthread_create(&t[k], NULL, make_ids, &b[k]), 0);
    }
    make_ids(&b[0]);
    for (int k = 1; k < ID_THREADS; k++) pthread_join(t[k], NULL);
    pthread_barrier_destroy(&start);
    for (int k = 0; k < ID_THREADS; k++)    /* each thread's own ids grow */
        for (int i = 1; i < IDS_EACH; i++)
            if (strcmp(b[k].ids[i], b[k].ids[i - 1]) <= 0) {
                CHECK(strcmp(b[k].ids[i], b[k].ids[i - 1]) > 0);
                break;
            }
    qsort(ids, ID_THREADS * IDS_EACH, sizeof *ids, by_stamp);
    int same = 0;
    for (int i = 1; i < ID_THREADS * IDS_EACH; i++) same += by_stamp(ids[i], ids[i - 1]) == 0;
    CHECK_EQ_INT(same, 0);
    free(ids);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    RUN(unescape_decodes_plus_and_percent_escapes);
    RUN(unescape_refuses_bad_escapes_and_nul);
    RUN(unescape_stops_at_the_length_given);
    RUN(decode_splits_pairs_in_order);
    RUN(decode_keeps_equals_signs_after_the_first);
    RUN(decode_refuses_empty_names_bad_escapes_and_bad_utf8);
    RUN(decode_refuses_more_than_1000_pairs);
    RUN(utf8_validation_follows_the_standard);
    RUN(known_fields_map_to_the_lead_and_the_rest_to_fields);
    RUN(aliases_and_case_map_to_lead_fields);
    RUN(first_and_last_name_make_the_name);
    RUN(score_and_value_must_be_numbers);
    RUN(a_known_field_given_twice_is_an_error);
    RUN(repeated_custom_fields_become_lists);
    RUN(empty_values_are_no_values);
    RUN(white_space_around_known_fields_is_dropped);
    RUN(source_comes_from_the_path_and_a_form_source_is_a_custom_field);
    RUN(a_form_lead_parses_as_a_lead_event);
    RUN(a_form_lead_with_a_bad_id_is_refused_by_the_event_parser);
    RUN(generated_ids_carry_the_time_and_grow_with_each_one);
    RUN(generated_ids_from_several_threads_never_share_a_stamp);
    lr_form_release(&form);
    return test_report();
}
