/* test_expr.c -- the rule expression language: literals, names, operators,
 * null semantics, precedence, functions, custom fields and syntax errors
 * with their columns. */
#include "leadrouter/error.h"
#include "leadrouter/expr.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

/* A lead with a few fields set; custom fields are added by the tests. */
static lr_lead *new_lead(void) {
    lr_lead *l = calloc(1, sizeof *l);
    l->str[LR_LF_ID] = strdup("L1");
    l->str[LR_LF_SOURCE] = strdup("facebook");
    l->str[LR_LF_PRODUCT] = strdup("solar");
    l->str[LR_LF_EMAIL] = strdup("Jane.Doe@Mail.ACME.com");
    l->str[LR_LF_STATE] = strdup("CA");
    l->str[LR_LF_STAGE] = strdup("new");
    l->score = 72.5;
    l->has_score = true;
    l->received_at = LR_TIME_NONE;
    return l;
}

static lr_field *add_field(lr_lead *l, const char *name) {
    lr_field *f = realloc(l->fields, (l->nfields + 1) * sizeof *f);
    l->fields = f;
    f = &l->fields[l->nfields++];
    memset(f, 0, sizeof *f);
    f->name = strdup(name);
    return f;
}

static void set_str(lr_value *v, const char *s) {
    v->type = LR_VSTR;
    v->u.s.len = strlen(s);
    v->u.s.ptr = strdup(s);
}

static void add_str(lr_lead *l, const char *name, const char *s) {
    set_str(&add_field(l, name)->value, s);
}

static void add_num(lr_lead *l, const char *name, double n) {
    lr_field *f = add_field(l, name);
    f->value.type = LR_VNUM;
    f->value.u.n = n;
}

static void add_bool(lr_lead *l, const char *name, bool b) {
    lr_field *f = add_field(l, name);
    f->value.type = LR_VBOOL;
    f->value.u.b = b;
}

/* A list of N strings (NULL entries become nulls). */
static void add_list(lr_lead *l, const char *name, const char *const *items, size_t n) {
    lr_field *f = add_field(l, name);
    lr_value *v = calloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        if (items[i]) set_str(&v[i], items[i]);
    f->value.type = LR_VLIST;
    f->value.u.list.items = v;
    f->value.u.list.n = n;
}

/* Compiles and evaluates SRC: 1 true, 0 false, -1 when it does not compile
 * (the message is printed). */
static int ev(const char *src, const lr_lead *lead) {
    lr_expr *e = NULL;
    int col = 0;
    char msg[200];
    int rc = lr_expr_compile(src, strlen(src), &e, &col, msg, sizeof msg);
    if (rc != LR_OK) {
        printf("  compile %s: col %d: %s (%s)\n", src, col, msg, lr_errname(rc));
        return -1;
    }
    int r = lr_expr_eval(e, lead) ? 1 : 0;
    lr_expr_free(e);
    return r;
}

#define TRUE_(src) CHECK_EQ_INT(ev(src, lead), 1)
#define FALSE_(src) CHECK_EQ_INT(ev(src, lead), 0)

/* Compiles SRC expecting a syntax error; returns its column and message. */
static int syntax_col(const char *src, size_t len, char *msg, size_t n) {
    lr_expr *e = (lr_expr *)&e;                 /* must stay untouched */
    lr_expr *before = e;
    int col = -7;
    msg[0] = '\0';
    int rc = lr_expr_compile(src, len, &e, &col, msg, n);
    if (rc != LR_ESYNTAX) {
        printf("  %s: rc %s\n", src, lr_errname(rc));
        if (rc == LR_OK) lr_expr_free(e);
        return -1;
    }
    if (e != before) return -2;
    return col;
}

#define CHECK_SYNTAX(src, want_col, want_msg)                          \
    do {                                                               \
        char m_[200];                                                  \
        CHECK_EQ_INT(syntax_col(src, strlen(src), m_, sizeof m_), want_col); \
        CHECK_CONTAINS(m_, want_msg);                                  \
    } while (0)

/* ---- literals ------------------------------------------------------------- */

TEST(string_literals_take_double_or_single_quotes) {
    lr_lead *lead = new_lead();
    TRUE_("state == \"CA\"");
    TRUE_("state == 'CA'");
    TRUE_("'abc' == \"abc\"");
    FALSE_("state == 'ca'");
    TRUE_("'' == \"\"");
    lr_lead_free(lead);
}

TEST(string_escapes_decode_backslash_quotes_newline_tab) {
    lr_lead *lead = new_lead();
    add_str(lead, "q", "say \"hi\"");
    add_str(lead, "a", "it's");
    add_str(lead, "b", "back\\slash");
    add_str(lead, "nl", "a\nb\tc");
    TRUE_("fields.q == \"say \\\"hi\\\"\"");
    TRUE_("fields.a == 'it\\'s'");
    TRUE_("fields.a == \"it's\"");
    TRUE_("fields.b == 'back\\\\slash'");
    TRUE_("fields.nl == \"a\\nb\\tc\"");
    FALSE_("fields.nl == \"anbtc\"");
    lr_lead_free(lead);
}

TEST(number_literals_with_fraction_exponent_and_minus) {
    lr_lead *lead = new_lead();
    TRUE_("score == 72.5");
    TRUE_("score == 7.25e1");
    TRUE_("score == 725E-1");
    TRUE_("1.5e+2 == 150");
    TRUE_("-3 < 0");
    TRUE_("score > -72.6");
    TRUE_("- 4 == -4");
    FALSE_("score == 72");
    lr_lead_free(lead);
}

TEST(boolean_literals_and_truthiness_of_the_result) {
    lr_lead *lead = new_lead();
    TRUE_("true");
    FALSE_("false");
    TRUE_("true == true");
    TRUE_("true != false");
    FALSE_("state");            /* a string result is not true */
    FALSE_("score");
    add_bool(lead, "vip", true);
    TRUE_("fields.vip");
    TRUE_("fields.vip == true");
    lr_lead_free(lead);
}

TEST(null_literal_is_false_and_equals_only_null) {
    lr_lead *lead = new_lead();
    FALSE_("null");
    TRUE_("null == null");
    FALSE_("null != null");
    TRUE_("fields.nope == null");
    TRUE_("null == fields.nope");
    FALSE_("state == null");
    lr_lead_free(lead);
}

TEST(list_literals_of_literals_and_expressions) {
    lr_lead *lead = new_lead();
    add_str(lead, "home", "NV");
    TRUE_("state in [\"NV\", \"CA\"]");
    FALSE_("state in []");
    TRUE_("72.5 in [1, score, 'x']");             /* expression item */
    TRUE_("'NV' in [fields.home]");
    TRUE_("[1, 'a', true, null] == [1, 'a', true, null]");
    FALSE_("[1, 2] == [1, 2, 3]");
    FALSE_("[1, 2] == [2, 1]");
    TRUE_("[state, [1, 2]] == ['CA', [1, 2]]");  /* nested lists compare item by item */
    TRUE_("[lower(state)] == ['ca']");
    FALSE_("[1] == 1");
    lr_lead_free(lead);
}

/* ---- names ---------------------------------------------------------------- */

TEST(every_lead_field_name_resolves_to_its_field) {
    lr_lead *lead = calloc(1, sizeof *lead);
    char src[128], val[32];
    for (int f = 0; f < LR_LF__STRCOUNT; f++) {
        snprintf(val, sizeof val, "v%d", f);
        lead->str[f] = strdup(val);
    }
    lead->score = 10; lead->has_score = true;
    lead->value = 250.5; lead->has_value = true;
    lead->received_at = 1700000000123;
    for (int f = 0; f < LR_LF__STRCOUNT; f++) {
        snprintf(src, sizeof src, "%s == \"v%d\"", lr_lead_field_names[f], f);
        CHECK_EQ_INT(ev(src, lead), 1);
    }
    TRUE_("score == 10");
    TRUE_("value == 250.5");
    TRUE_("received_at == 1700000000.123");
    lr_lead_free(lead);
}

TEST(missing_named_field_is_null) {
    lr_lead *lead = new_lead();
    TRUE_("phone == null");
    TRUE_("value == null");
    TRUE_("received_at == null");
    FALSE_("company == ''");
    lr_lead_free(lead);
}

TEST(custom_fields_by_fields_dot_name) {
    lr_lead *lead = new_lead();
    add_str(lead, "utm_source", "FB-ads");
    add_num(lead, "age-days", 3);
    TRUE_("fields.utm_source == 'FB-ads'");
    TRUE_("fields.age-days == 3");
    TRUE_("fields.age-days <= 3");
    TRUE_("fields.utm == null");                   /* a prefix is not the field */
    TRUE_("fields.Utm_source == null");            /* names are case-sensitive */
    lr_lead_free(lead);
}

TEST(custom_list_field_works_with_in_and_contains) {
    lr_lead *lead = new_lead();
    const char *tags[] = { "vip", "Solar", NULL };
    add_list(lead, "tags", tags, 3);
    TRUE_("contains(fields.tags, 'vip')");
    FALSE_("contains(fields.tags, 'VIP')");
    FALSE_("contains(fields.tags, null)");         /* a null item matches nothing */
    TRUE_("'Solar' in fields.tags");
    TRUE_("'x' not in fields.tags");
    FALSE_("'vip' not in fields.tags");
    FALSE_("fields.nope in fields.tags");
    TRUE_("lower(fields.tags) == null");
    TRUE_("fields.tags == ['vip', 'Solar', null]");
    lr_lead_free(lead);
}

/* ---- operators ------------------------------------------------------------ */

TEST(equality_requires_the_same_type) {
    lr_lead *lead = new_lead();
    add_str(lead, "s", "72.5");
    FALSE_("score == '72.5'");
    TRUE_("score != '72.5'");
    FALSE_("fields.s == score");
    FALSE_("true == 1");
    TRUE_("true != 1");
    TRUE_("state != 'NV'");
    FALSE_("state != 'CA'");
    lr_lead_free(lead);
}

TEST(ordering_compares_numbers_and_strings_only) {
    lr_lead *lead = new_lead();
    TRUE_("score < 80");   FALSE_("score < 72.5");
    TRUE_("score <= 72.5"); FALSE_("score <= 72");
    TRUE_("score > 72");   FALSE_("score > 72.5");
    TRUE_("score >= 72.5"); FALSE_("score >= 73");
    TRUE_("state < 'CB'");  TRUE_("'CA' <= state"); TRUE_("'a' > 'B'");
    TRUE_("'ab' > 'a'");    FALSE_("'a' >= 'ab'");
    TRUE_("'\xc3\xa9' > 'z'");                    /* bytes compare unsigned */
    FALSE_("score < 'z'");  FALSE_("score >= '1'"); FALSE_("true > false");
    FALSE_("[1] < [2]");
    lr_lead_free(lead);
}

TEST(in_and_not_in_with_lists) {
    lr_lead *lead = new_lead();
    TRUE_("state in ['CA', 'NV']");
    FALSE_("state in ['ca', 'NV']");
    FALSE_("state not in ['CA', 'NV']");
    TRUE_("state not in ['OR', 'NV']");
    TRUE_("score in [72.5]");
    FALSE_("score in ['72.5']");
    TRUE_("score not in ['72.5']");
    lr_lead_free(lead);
}

TEST(in_with_a_string_on_the_right_is_substring) {
    lr_lead *lead = new_lead();
    TRUE_("'book' in source");
    FALSE_("'Book' in source");
    TRUE_("'' in source");
    TRUE_("'x' not in source");
    FALSE_("'face' not in source");
    FALSE_("score in source");
    TRUE_("score not in source");
    FALSE_("'a' in score");                        /* neither list nor string */
    FALSE_("'a' not in score");
    lr_lead_free(lead);
}

TEST(and_or_not_treat_only_true_as_true) {
    lr_lead *lead = new_lead();
    TRUE_("not null");
    TRUE_("not score");
    TRUE_("not 'x'");
    FALSE_("not true");
    FALSE_("score and true");
    FALSE_("'x' or false");
    TRUE_("null or true");
    TRUE_("true and true and true");
    FALSE_("true and true and false");
    TRUE_("false or false or true");
    TRUE_("not not true");
    TRUE_("(state == 'CA') and (score > 70)");
    lr_lead_free(lead);
}

/* ---- null semantics ------------------------------------------------------- */

TEST(every_comparison_with_a_missing_field_is_false) {
    lr_lead *lead = new_lead();
    FALSE_("fields.x == 'a'");
    FALSE_("fields.x != 'a'");
    FALSE_("'a' != fields.x");
    FALSE_("fields.x < 1");
    FALSE_("fields.x <= 1");
    FALSE_("fields.x > 1");
    FALSE_("fields.x >= 1");
    FALSE_("phone != '555'");
    FALSE_("fields.x == fields.y");                /* two nulls, no literal */
    FALSE_("fields.x != fields.y");
    FALSE_("fields.x != state");
    FALSE_("null < 1");
    FALSE_("null >= null");
    lr_lead_free(lead);
}

TEST(eq_null_and_ne_null_test_presence) {
    lr_lead *lead = new_lead();
    TRUE_("fields.x == null");
    FALSE_("state == null");
    TRUE_("state != null");
    FALSE_("fields.x != null");
    TRUE_("null != state");
    FALSE_("null != fields.x");
    TRUE_("lower(score) == null");
    TRUE_("domain(state) == null");
    TRUE_("domain(email) != null");
    lr_lead_free(lead);
}

TEST(in_and_not_in_with_null_are_false) {
    lr_lead *lead = new_lead();
    FALSE_("fields.x in ['a', null]");
    FALSE_("fields.x not in ['a']");
    FALSE_("null in [null]");
    FALSE_("null not in []");
    FALSE_("state in fields.x");
    FALSE_("state not in fields.x");
    FALSE_("fields.x in [fields.y]");
    FALSE_("'a' in [null]");
    TRUE_("'a' not in [null]");
    lr_lead_free(lead);
}

/* ---- precedence ----------------------------------------------------------- */

TEST(not_binds_looser_than_comparison) {
    lr_lead *lead = new_lead();
    /* not (state == 'NV'); (not state) == 'NV' would be false */
    TRUE_("not state == 'NV'");
    FALSE_("not state == 'CA'");
    TRUE_("not state in ['NV']");
    TRUE_("not state not in ['CA']");
    lr_lead_free(lead);
}

TEST(and_binds_tighter_than_or) {
    lr_lead *lead = new_lead();
    TRUE_("true or false and false");             /* true or (false and false) */
    TRUE_("false and false or true");             /* (false and false) or true */
    FALSE_("(true or false) and false");
    TRUE_("state == 'NV' or state == 'CA' and score >= 70");
    FALSE_("(state == 'NV' or state == 'CA') and score >= 80");
    TRUE_("not false and true");                  /* (not false) and true */
    FALSE_("not (false or true)");
    lr_lead_free(lead);
}

/* ---- functions ------------------------------------------------------------ */

TEST(lower_folds_ascii_and_gives_null_for_non_strings) {
    lr_lead *lead = new_lead();
    add_str(lead, "utm", "FaceBook-ÄDS");
    TRUE_("lower(state) == 'ca'");
    TRUE_("lower(fields.utm) == 'facebook-Äds'");  /* non-ASCII bytes unchanged */
    TRUE_("lower(lower(state)) == 'ca'");
    TRUE_("lower('ABC') < 'abd'");
    TRUE_("lower(score) == null");
    TRUE_("lower(true) == null");
    TRUE_("lower(fields.none) == null");
    TRUE_("lower(['A']) == null");
    FALSE_("lower(state) == 'CA'");
    lr_lead_free(lead);
}

TEST(lower_and_domain_handle_long_strings_without_truncation) {
    lr_lead *lead = new_lead();
    char big[3001], src[3200];
    memset(big, 'A', 3000);
    big[3000] = '\0';
    big[2999] = 'B';
    add_str(lead, "big", big);
    big[2999] = 'b';
    memset(big, 'a', 2999);
    snprintf(src, sizeof src, "lower(fields.big) == '%.3000s'", big);
    CHECK_EQ_INT(ev(src, lead), 1);
    big[2998] = 'x';
    snprintf(src, sizeof src, "lower(fields.big) == '%.3000s'", big);
    CHECK_EQ_INT(ev(src, lead), 0);
    /* domain of a 3000-byte address: all of it survives */
    char mail[3010];
    memset(mail, 'Q', 3000);
    mail[0] = '@';
    mail[3000] = '\0';
    add_str(lead, "mail", mail);
    memset(big, 'q', 2999);
    big[2999] = '\0';
    snprintf(src, sizeof src, "domain(fields.mail) == '%s'", big);
    CHECK_EQ_INT(ev(src, lead), 1);
    big[2998] = 'Q';
    snprintf(src, sizeof src, "domain(fields.mail) == '%s'", big);
    CHECK_EQ_INT(ev(src, lead), 0);
    lr_lead_free(lead);
}

TEST(starts_with_and_ends_with_need_two_strings) {
    lr_lead *lead = new_lead();
    add_num(lead, "n", 12345);
    TRUE_("starts_with(source, 'face')");
    FALSE_("starts_with(source, 'book')");
    TRUE_("ends_with(source, 'book')");
    FALSE_("ends_with(source, 'face')");
    TRUE_("starts_with(source, '')");
    TRUE_("ends_with(source, 'facebook')");
    FALSE_("ends_with(source, 'xfacebook')");
    TRUE_("starts_with(lower(email), 'jane.')");
    FALSE_("starts_with(email, 'jane.')");
    TRUE_("ends_with(lower(email), 'acme.com')");
    FALSE_("starts_with(fields.n, '12')");
    FALSE_("starts_with(source, 1)");
    FALSE_("ends_with(fields.none, '')");
    FALSE_("starts_with(['face'], 'face')");
    lr_lead_free(lead);
}

TEST(contains_is_substring_or_list_membership) {
    lr_lead *lead = new_lead();
    TRUE_("contains(source, 'ceb')");
    FALSE_("contains(source, 'CEB')");
    TRUE_("contains(lower('XCEBY'), 'ceb')");
    TRUE_("contains(source, lower('CEB'))");
    TRUE_("contains(['a', state], 'CA')");
    FALSE_("contains(['a', state], 'ca')");
    TRUE_("contains([1, 2], 2)");
    FALSE_("contains(score, 7)");
    FALSE_("contains(source, 1)");
    FALSE_("contains(fields.none, 'a')");
    FALSE_("contains(['a', null], null)");
    lr_lead_free(lead);
}

TEST(domain_is_lowercased_part_after_last_at) {
    lr_lead *lead = new_lead();
    add_str(lead, "two", "a@b@Example.ORG");
    add_str(lead, "noat", "nobody.example.org");
    add_str(lead, "trail", "x@");
    TRUE_("domain(email) == 'mail.acme.com'");
    TRUE_("ends_with(domain(email), '.acme.com')");
    TRUE_("domain(fields.two) == 'example.org'");
    TRUE_("domain(fields.noat) == null");
    TRUE_("domain(fields.trail) == ''");
    TRUE_("domain(score) == null");
    TRUE_("domain(fields.none) == null");
    TRUE_("domain('A@B.C') in ['b.c']");
    lr_lead_free(lead);
}

TEST(function_names_need_their_arity) {
    lr_lead *lead = new_lead();
    TRUE_("lower ( state ) == 'ca'");             /* spaces before '(' allowed */
    CHECK_SYNTAX("lower(state, 'x') == 'ca'", 1, "lower takes 1 argument, got 2");
    CHECK_SYNTAX("score > 1 and contains()", 15, "contains takes 2 arguments, got 0");
    CHECK_SYNTAX("upper(state) == 'CA'", 1, "unknown function 'upper'");
    lr_lead_free(lead);
}

/* ---- errors --------------------------------------------------------------- */

TEST(unknown_name_is_an_error_pointing_at_it) {
    CHECK_SYNTAX("state == 'CA' and foo == 1", 19,
                 "unknown field 'foo' (custom fields are written fields.foo)");
    CHECK_SYNTAX("State == 'CA'", 1, "unknown field 'State'");
    CHECK_SYNTAX("state == 'CA' AND score > 1", 15, "unexpected name 'AND'");
    CHECK_SYNTAX("fields == 1", 1, "custom fields are written fields.NAME");
    CHECK_SYNTAX("fields.9x == 1", 8, "expected a custom field name after 'fields.'");
}

TEST(syntax_errors_name_their_column) {
    CHECK_SYNTAX("", 1, "unexpected end of expression");
    CHECK_SYNTAX("state == ", 10, "unexpected end of expression");
    CHECK_SYNTAX("starts_with(state, 'C'", 23, "expected ')' after arguments of starts_with");
    CHECK_SYNTAX("starts_with(state 'C')", 19, "expected ')' after arguments of starts_with");
    CHECK_SYNTAX("state == 'CA", 10, "unterminated string");
    CHECK_SYNTAX("state == \"CA\\\"", 10, "unterminated string");
    CHECK_SYNTAX("(state == 'CA'", 15, "expected ')'");
    CHECK_SYNTAX("state == 'CA')", 14, "unexpected ')'");
    CHECK_SYNTAX("state in ['CA' 'NV']", 16, "expected ',' or ']' in list");
    CHECK_SYNTAX("state in ['CA',]", 16, "unexpected ']'");
    CHECK_SYNTAX("score == 1 == 2", 12, "comparisons do not chain");
    CHECK_SYNTAX("state = 'CA'", 7, "equality is written '=='");
    CHECK_SYNTAX("!(state == 'CA')", 1, "negation is written 'not'");
    CHECK_SYNTAX("score > 1.", 9, "malformed number");
    CHECK_SYNTAX("score > 1e+", 9, "malformed number");
    CHECK_SYNTAX("score > 1e999", 9, "number out of range");
    CHECK_SYNTAX("'a\\q' == state", 3, "unknown escape");
    CHECK_SYNTAX("state @ 1", 7, "unexpected character '@'");
    /* a character outside ASCII is shown as itself, with its code point */
    CHECK_SYNTAX("\xc3\xa9 == 1", 1, "unexpected character '\xc3\xa9' (U+00E9)");
    CHECK_SYNTAX("score \xe2\x89\xa5 1", 7, "unexpected character '\xe2\x89\xa5' (U+2265)");
    CHECK_SYNTAX("-state == 1", 2, "expected a number after '-'");
    CHECK_SYNTAX("state == 'CA' score", 15, "unexpected name 'score'");
    CHECK_SYNTAX("state not 'CA'", 7, "unexpected 'not'");
    CHECK_SYNTAX("score == and", 10, "unexpected 'and'");
}

TEST(error_column_counts_bytes_across_lines) {
    CHECK_SYNTAX("state == 'CA'\nand\n  nope", 21, "unknown field 'nope'");
}

TEST(non_printable_byte_is_reported_in_hex) {
    char m[200];
    CHECK_EQ_INT(syntax_col("state\0== 1", 10, m, sizeof m), 6);
    CHECK_CONTAINS(m, "unexpected character 0x00");
}

TEST(nesting_deeper_than_64_is_an_error) {
    char src[400];
    lr_lead *lead = new_lead();
    /* 64 levels compile and evaluate */
    memset(src, 0, sizeof src);
    for (int i = 0; i < 64; i++) src[i] = '(';
    strcat(src, "true");
    for (int i = 0; i < 64; i++) strcat(src, ")");
    CHECK_EQ_INT(ev(src, lead), 1);
    /* 65 do not: the 65th '(' is at column 65 */
    memset(src, 0, sizeof src);
    for (int i = 0; i < 65; i++) src[i] = '(';
    strcat(src, "true");
    for (int i = 0; i < 65; i++) strcat(src, ")");
    CHECK_SYNTAX(src, 65, "expression nested too deeply");
    /* `not` and lists count too */
    memset(src, 0, sizeof src);
    for (int i = 0; i < 65; i++) strcat(src, "not ");
    strcat(src, "true");
    CHECK_SYNTAX(src, 257, "expression nested too deeply");
    memset(src, 0, sizeof src);
    for (int i = 0; i < 65; i++) strcat(src, "[");
    CHECK_SYNTAX(src, 65, "expression nested too deeply");
    lr_lead_free(lead);
}

TEST(input_longer_than_4096_bytes_is_refused) {
    lr_lead *lead = new_lead();
    char *src = malloc(4098);
    memset(src, ' ', 4097);
    memcpy(src, "true", 4);
    src[4096] = '\0';
    CHECK_EQ_INT(ev(src, lead), 1);               /* exactly 4096 bytes */
    src[4096] = ' ';
    src[4097] = '\0';
    CHECK_SYNTAX(src, 4097, "expression too long");
    free(src);
    lr_lead_free(lead);
}

TEST(long_and_chain_compiles_flat) {
    lr_lead *lead = new_lead();
    static char src[4096];
    strcpy(src, "true");
    while (strlen(src) + 9 < sizeof src) strcat(src, " and true");
    CHECK_EQ_INT(ev(src, lead), 1);
    memcpy(src + strlen(src) - 4, "fals", 4);      /* last operand: "fals" */
    CHECK_SYNTAX(src, (int)strlen(src) - 3, "unknown field 'fals'");
    lr_lead_free(lead);
}

TEST(compile_error_leaves_out_untouched_and_small_errbuf_is_truncated) {
    lr_expr *e = NULL;
    int col = 0;
    char m[8];
    CHECK_EQ_INT(lr_expr_compile("state ==", 8, &e, &col, m, sizeof m), LR_ESYNTAX);
    CHECK(e == NULL);
    CHECK_EQ_INT(col, 9);
    CHECK_EQ_STR(m, "unexpec");
    CHECK_EQ_INT(lr_expr_compile("(", 1, &e, NULL, NULL, 0), LR_ESYNTAX);
    CHECK(e == NULL);
    lr_expr_free(NULL);
}

TEST(compiled_expression_evaluates_many_leads) {
    lr_expr *e = NULL;
    const char *src = "state in [\"CA\", \"NV\"] and score >= 70";
    int col = 0;
    char m[100];
    CHECK_EQ_INT(lr_expr_compile(src, strlen(src), &e, &col, m, sizeof m), LR_OK);
    lr_lead *a = new_lead();
    lr_lead *b = new_lead();
    free(b->str[LR_LF_STATE]);
    b->str[LR_LF_STATE] = strdup("NV");
    b->score = 69.9;
    lr_lead *c = new_lead();
    free(c->str[LR_LF_STATE]);
    c->str[LR_LF_STATE] = NULL;
    CHECK(lr_expr_eval(e, a));
    CHECK(!lr_expr_eval(e, b));
    b->score = 70;
    CHECK(lr_expr_eval(e, b));
    CHECK(!lr_expr_eval(e, c));
    lr_expr_free(e);
    lr_lead_free(a);
    lr_lead_free(b);
    lr_lead_free(c);
}

TEST(expression_source_need_not_be_nul_terminated) {
    lr_lead *lead = new_lead();
    lr_expr *e = NULL;
    char m[100];
    int col = 0;
    /* only the first 13 bytes are the expression */
    CHECK_EQ_INT(lr_expr_compile("state == 'CA' or garbage(", 13, &e, &col, m, sizeof m), LR_OK);
    CHECK(lr_expr_eval(e, lead));
    lr_expr_free(e);
    lr_lead_free(lead);
}

int main(void) {
    RUN(string_literals_take_double_or_single_quotes);
    RUN(string_escapes_decode_backslash_quotes_newline_tab);
    RUN(number_literals_with_fraction_exponent_and_minus);
    RUN(boolean_literals_and_truthiness_of_the_result);
    RUN(null_literal_is_false_and_equals_only_null);
    RUN(list_literals_of_literals_and_expressions);
    RUN(every_lead_field_name_resolves_to_its_field);
    RUN(missing_named_field_is_null);
    RUN(custom_fields_by_fields_dot_name);
    RUN(custom_list_field_works_with_in_and_contains);
    RUN(equality_requires_the_same_type);
    RUN(ordering_compares_numbers_and_strings_only);
    RUN(in_and_not_in_with_lists);
    RUN(in_with_a_string_on_the_right_is_substring);
    RUN(and_or_not_treat_only_true_as_true);
    RUN(every_comparison_with_a_missing_field_is_false);
    RUN(eq_null_and_ne_null_test_presence);
    RUN(in_and_not_in_with_null_are_false);
    RUN(not_binds_looser_than_comparison);
    RUN(and_binds_tighter_than_or);
    RUN(lower_folds_ascii_and_gives_null_for_non_strings);
    RUN(lower_and_domain_handle_long_strings_without_truncation);
    RUN(starts_with_and_ends_with_need_two_strings);
    RUN(contains_is_substring_or_list_membership);
    RUN(domain_is_lowercased_part_after_last_at);
    RUN(function_names_need_their_arity);
    RUN(unknown_name_is_an_error_pointing_at_it);
    RUN(syntax_errors_name_their_column);
    RUN(error_column_counts_bytes_across_lines);
    RUN(non_printable_byte_is_reported_in_hex);
    RUN(nesting_deeper_than_64_is_an_error);
    RUN(input_longer_than_4096_bytes_is_refused);
    RUN(long_and_chain_compiles_flat);
    RUN(compile_error_leaves_out_untouched_and_small_errbuf_is_truncated);
    RUN(compiled_expression_evaluates_many_leads);
    RUN(expression_source_need_not_be_nul_terminated);
    return test_report();
}
