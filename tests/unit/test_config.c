/* test_config.c -- the config loader and validator: every field of a full
 * config, every default, both pool forms, JSON input, and each error with
 * its exact "file:line:column: message". */
#include "leadrouter/config.h"
#include "leadrouter/error.h"
#include "leadrouter/expr.h"
#include "leadrouter/strategy.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers -------------------------------------------------------------- */

#include "config_helpers.h"

/* A minimal valid config's agents and pools; tests append rules. */
#define BASE                                                            \
    "agents:\n"                                                         \
    "  - id: alice\n"                                                   \
    "  - id: bob\n"                                                     \
    "pools:\n"                                                          \
    "  west: [alice, bob]\n"
/* BASE is 5 lines: a rules list after it starts on line 6. */

#define ONE_RULE "rules:\n  - {name: r1, pool: west, strategy: round_robin}\n"

static const char full_yaml[] =
    "explain_limit: 50\n"                                               /*  1 */
    "agents:\n"                                                         /*  2 */
    "  - id: alice\n"                                                   /*  3 */
    "    name: Alice Ng\n"                                              /*  4 */
    "    status: available\n"                                           /*  5 */
    "    weight: 3\n"                                                   /*  6 */
    "    capacity: 10\n"                                                /*  7 */
    "    caps: {hour: 8, day: 40, week: 150, month: 500}\n"             /*  8 */
    "    attributes: {products: [mortgage, heloc], territories: [CA, NV], sources: [google]}\n"
    "  - id: bob\n"                                                     /* 10 */
    "    status: away\n"                                                /* 11 */
    "  - id: carol.x@example-1_2\n"                                     /* 12 */
    "    status: offline\n"                                             /* 13 */
    "  - {id: dave, attributes: {tier: [gold]}}\n"                     /* 14 */
    "pools:\n"                                                          /* 15 */
    "  west: [alice, bob]\n"                                            /* 16 */
    "  east: {agents: [carol.x@example-1_2, dave], order: priority}\n"  /* 17 */
    "accounts:\n"                                                       /* 18 */
    "  - {id: acme, domains: [ACME.com, Acme.io], owner: dave}\n"       /* 19 */
    "rules:\n"                                                          /* 20 */
    "  - name: hot-west\n"                                              /* 21 */
    "    when: 'state in [\"CA\", \"NV\"] and score >= 70'\n"           /* 22 */
    "    pool: west\n"                                                  /* 23 */
    "    strategy: round_robin\n"                                       /* 24 */
    "    match: {territories: state, tier: fields.tier}\n"              /* 25 */
    "    fallback: fair\n"                                              /* 26 */
    "    ignore_capacity: true\n"                                       /* 27 */
    "  - name: fair\n"                                                  /* 28 */
    "    pool: east\n"                                                  /* 29 */
    "    strategy: fewest_assigned\n"                                   /* 30 */
    "    window: 12h\n"                                                 /* 31 */
    "    fallback: queue\n"                                             /* 32 */
    "  - name: best\n"                                                  /* 33 */
    "    pool: east\n"                                                  /* 34 */
    "    strategy: top_producer\n"                                      /* 35 */
    "    window: 7d\n"                                                  /* 36 */
    "    min_sample: 25\n"                                              /* 37 */
    "    fallback: hold\n";                                             /* 38 */

/* ---- valid configs ---------------------------------------------------- */

TEST(full_config_loads_every_field) {
    lr_config *c = ok_config(full_yaml);
    if (!c) return;
    CHECK_EQ_STR(c->path, "<string>");
    CHECK_EQ_INT(c->explain_limit, 50);

    CHECK_EQ_INT(c->nagents, 4);
    const lr_agent_conf *a = &c->agents[0];
    CHECK_EQ_STR(a->id, "alice");
    CHECK_EQ_STR(a->name, "Alice Ng");
    CHECK_EQ_INT(a->status, LR_AGENT_AVAILABLE);
    CHECK_EQ_INT(a->weight, 3);
    CHECK_EQ_INT(a->capacity, 10);
    CHECK_EQ_INT(a->caps[LR_CAP_HOUR], 8);
    CHECK_EQ_INT(a->caps[LR_CAP_DAY], 40);
    CHECK_EQ_INT(a->caps[LR_CAP_WEEK], 150);
    CHECK_EQ_INT(a->caps[LR_CAP_MONTH], 500);
    CHECK_EQ_INT(a->line, 3);
    CHECK_EQ_INT(a->column, 5);
    CHECK_EQ_INT(a->nattrs, 3);
    if (a->nattrs == 3) {
        CHECK_EQ_STR(a->attrs[0].name, "products");
        CHECK_EQ_INT(a->attrs[0].nvalues, 2);
        CHECK_EQ_STR(a->attrs[0].values[0], "heloc");
        CHECK_EQ_STR(a->attrs[0].values[1], "mortgage");
        CHECK_EQ_STR(a->attrs[1].name, "sources");
        CHECK_EQ_INT(a->attrs[1].nvalues, 1);
        CHECK_EQ_STR(a->attrs[1].values[0], "google");
        CHECK_EQ_STR(a->attrs[2].name, "territories");
        CHECK_EQ_INT(a->attrs[2].nvalues, 2);
        CHECK_EQ_STR(a->attrs[2].values[0], "CA");
        CHECK_EQ_STR(a->attrs[2].values[1], "NV");
    }
    CHECK_EQ_STR(c->agents[1].id, "bob");
    CHECK_EQ_INT(c->agents[1].status, LR_AGENT_AWAY);
    CHECK_EQ_INT(c->agents[1].line, 10);
    CHECK_EQ_STR(c->agents[2].id, "carol.x@example-1_2");
    CHECK_EQ_INT(c->agents[2].status, LR_AGENT_OFFLINE);
    CHECK_EQ_STR(c->agents[3].id, "dave");

    CHECK_EQ_INT(c->npools, 2);
    CHECK_EQ_STR(c->pools[0].name, "west");
    CHECK_EQ_INT(c->pools[0].nagents, 2);
    CHECK_EQ_INT(c->pools[0].agents[0], 0);
    CHECK_EQ_INT(c->pools[0].agents[1], 1);
    CHECK_EQ_INT(c->pools[0].order, LR_QORDER_FIFO);
    CHECK_EQ_INT(c->pools[0].line, 16);
    CHECK_EQ_INT(c->pools[0].column, 3);
    CHECK_EQ_STR(c->pools[1].name, "east");
    CHECK_EQ_INT(c->pools[1].nagents, 2);
    CHECK_EQ_INT(c->pools[1].agents[0], 2);
    CHECK_EQ_INT(c->pools[1].agents[1], 3);
    CHECK_EQ_INT(c->pools[1].order, LR_QORDER_PRIORITY);

    CHECK_EQ_INT(c->naccounts, 1);
    CHECK_EQ_STR(c->accounts[0].id, "acme");
    CHECK_EQ_INT(c->accounts[0].ndomains, 2);
    CHECK_EQ_STR(c->accounts[0].domains[0], "acme.com");
    CHECK_EQ_STR(c->accounts[0].domains[1], "acme.io");
    CHECK_EQ_INT(c->accounts[0].owner, 3);
    CHECK_EQ_INT(c->accounts[0].line, 19);
    CHECK_EQ_INT(c->accounts[0].column, 5);

    CHECK_EQ_INT(c->nrules, 3);
    const lr_rule_conf *r = &c->rules[0];
    CHECK_EQ_STR(r->name, "hot-west");
    CHECK_EQ_STR(r->when_src, "state in [\"CA\", \"NV\"] and score >= 70");
    CHECK(r->when != NULL);
    CHECK_EQ_INT(r->pool, 0);
    CHECK(r->strategy == lr_strategy_find("round_robin"));
    CHECK_EQ_INT(r->nmatch, 2);
    if (r->nmatch == 2) {
        CHECK_EQ_STR(r->match[0].attr, "territories");
        CHECK_EQ_INT(r->match[0].field, LR_LF_STATE);
        CHECK(r->match[0].custom == NULL);
        CHECK_EQ_STR(r->match[1].attr, "tier");
        CHECK_EQ_INT(r->match[1].field, -1);
        CHECK_EQ_STR(r->match[1].custom, "tier");
    }
    CHECK_EQ_INT(r->fallback, LR_FALLBACK_RULE);
    CHECK_EQ_INT(r->fallback_rule, 1);
    CHECK_EQ_INT(r->ignore_capacity, 1);
    CHECK_EQ_INT(r->window_ms, 0);
    CHECK_EQ_INT(r->min_sample, 10);
    CHECK_EQ_INT(r->line, 21);
    CHECK_EQ_INT(r->column, 5);

    r = &c->rules[1];
    CHECK_EQ_STR(r->name, "fair");
    CHECK(r->when == NULL);
    CHECK(r->when_src == NULL);
    CHECK_EQ_INT(r->pool, 1);
    CHECK(r->strategy == lr_strategy_find("fewest_assigned"));
    CHECK_EQ_INT(r->window_ms, 12 * 3600 * 1000);
    CHECK_EQ_INT(r->fallback, LR_FALLBACK_QUEUE);
    CHECK_EQ_INT(r->ignore_capacity, 0);

    r = &c->rules[2];
    CHECK(r->strategy == lr_strategy_find("top_producer"));
    CHECK_EQ_INT(r->window_ms, 7 * 86400 * INT64_C(1000));
    CHECK_EQ_INT(r->min_sample, 25);
    CHECK_EQ_INT(r->fallback, LR_FALLBACK_HOLD);
    lr_config_free(c);
}

TEST(full_config_when_is_compiled_from_its_text) {
    lr_config *c = ok_config(full_yaml);
    if (!c) return;
    lr_lead lead = { .score = 80, .has_score = true, .received_at = LR_TIME_NONE };
    lead.str[LR_LF_STATE] = "NV";
    CHECK(lr_expr_eval(c->rules[0].when, &lead));
    lead.str[LR_LF_STATE] = "TX";
    CHECK(!lr_expr_eval(c->rules[0].when, &lead));
    lr_config_free(c);
}

TEST(defaults_apply_when_fields_are_absent) {
    lr_config *c = ok_config(BASE ONE_RULE);
    if (!c) return;
    CHECK_EQ_INT(c->explain_limit, 100);
    CHECK_EQ_INT(c->naccounts, 0);
    const lr_agent_conf *a = &c->agents[1];
    CHECK(a->name == NULL);
    CHECK_EQ_INT(a->status, LR_AGENT_AVAILABLE);
    CHECK_EQ_INT(a->weight, 1);
    CHECK_EQ_INT(a->capacity, -1);
    for (int k = 0; k < LR_CAP__COUNT; k++) CHECK_EQ_INT(a->caps[k], -1);
    CHECK_EQ_INT(a->nattrs, 0);
    CHECK_EQ_INT(c->pools[0].order, LR_QORDER_FIFO);
    const lr_rule_conf *r = &c->rules[0];
    CHECK(r->when == NULL);
    CHECK(r->when_src == NULL);
    CHECK_EQ_INT(r->nmatch, 0);
    CHECK_EQ_INT(r->fallback, LR_FALLBACK_NEXT);
    CHECK_EQ_INT(r->ignore_capacity, 0);
    CHECK_EQ_INT(r->window_ms, 0);
    CHECK_EQ_INT(r->min_sample, 10);
    CHECK_EQ_INT(r->line, 7);
    CHECK_EQ_INT(r->column, 5);
    lr_config_free(c);
}

TEST(window_defaults_to_24h_for_fewest_assigned_and_30d_for_top_producer) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: f, pool: west, strategy: fewest_assigned}\n"
        "  - {name: t, pool: west, strategy: top_producer}\n");
    if (!c) return;
    CHECK_EQ_INT(c->rules[0].window_ms, INT64_C(86400000));
    CHECK_EQ_INT(c->rules[1].window_ms, INT64_C(30) * 86400000);
    CHECK_EQ_INT(c->rules[1].min_sample, 10);
    lr_config_free(c);
}

TEST(durations_take_seconds_minutes_hours_and_days) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: a, pool: west, strategy: fewest_assigned, window: 90s}\n"
        "  - {name: b, pool: west, strategy: fewest_assigned, window: 15m}\n"
        "  - {name: c, pool: west, strategy: fewest_assigned, window: \"2h\"}\n"
        "  - {name: d, pool: west, strategy: fewest_assigned, window: 3650d}\n");
    if (!c) return;
    CHECK_EQ_INT(c->rules[0].window_ms, 90000);
    CHECK_EQ_INT(c->rules[1].window_ms, 900000);
    CHECK_EQ_INT(c->rules[2].window_ms, 7200000);
    CHECK_EQ_INT(c->rules[3].window_ms, INT64_C(3650) * 86400000);
    lr_config_free(c);
}

TEST(pools_take_the_short_and_the_long_form) {
    lr_config *c = ok_config(
        "agents: [{id: alice}, {id: bob}, {id: carol}]\n"
        "pools:\n"
        "  short: [bob, alice]\n"
        "  long: {agents: [carol, alice], order: lifo}\n"
        "  block:\n"
        "    agents:\n"
        "      - bob\n"
        "rules: [{name: r, pool: block, strategy: queue}]\n");
    if (!c) return;
    CHECK_EQ_INT(c->npools, 3);
    if (c->npools != 3) { lr_config_free(c); return; }
    CHECK_EQ_STR(c->pools[0].name, "short");
    CHECK_EQ_INT(c->pools[0].nagents, 2);
    CHECK_EQ_INT(c->pools[0].agents[0], 1);
    CHECK_EQ_INT(c->pools[0].agents[1], 0);
    CHECK_EQ_INT(c->pools[0].order, LR_QORDER_FIFO);
    CHECK_EQ_STR(c->pools[1].name, "long");
    CHECK_EQ_INT(c->pools[1].nagents, 2);
    CHECK_EQ_INT(c->pools[1].agents[0], 2);
    CHECK_EQ_INT(c->pools[1].agents[1], 0);
    CHECK_EQ_INT(c->pools[1].order, LR_QORDER_LIFO);
    CHECK_EQ_STR(c->pools[2].name, "block");
    CHECK_EQ_INT(c->pools[2].nagents, 1);
    CHECK_EQ_INT(c->pools[2].agents[0], 1);
    CHECK_EQ_INT(c->pools[2].order, LR_QORDER_FIFO);
    CHECK_EQ_INT(c->pools[2].line, 5);
    CHECK_EQ_INT(c->pools[2].column, 3);
    CHECK_EQ_INT(c->rules[0].pool, 2);
    lr_config_free(c);
}

TEST(owner_strategy_without_accounts_and_rules_all_with_when_are_fine) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: a, pool: west, strategy: owner, when: 'score > 50'}\n"
        "  - {name: b, pool: west, strategy: random, when: 'true'}\n");
    if (!c) return;
    CHECK_EQ_INT(c->nrules, 2);
    CHECK_EQ_INT(c->naccounts, 0);
    lr_config_free(c);
}

TEST(attributes_are_sorted_and_deduplicated_for_binary_search) {
    lr_config *c = ok_config(
        "agents:\n"
        "  - id: alice\n"
        "    attributes:\n"
        "      zones: [b, a, c, b, a]\n"
        "      languages: es\n"
        "      empty: []\n"
        "pools: {p: [alice]}\n"
        "rules: [{name: r, pool: p, strategy: top_down}]\n");
    if (!c) return;
    const lr_agent_conf *a = &c->agents[0];
    CHECK_EQ_INT(a->nattrs, 3);
    if (a->nattrs != 3) { lr_config_free(c); return; }
    CHECK_EQ_STR(a->attrs[0].name, "empty");
    CHECK_EQ_INT(a->attrs[0].nvalues, 0);
    CHECK_EQ_STR(a->attrs[1].name, "languages");
    CHECK_EQ_INT(a->attrs[1].nvalues, 1);
    CHECK_EQ_STR(a->attrs[1].values[0], "es");
    CHECK_EQ_STR(a->attrs[2].name, "zones");
    CHECK_EQ_INT(a->attrs[2].nvalues, 3);
    CHECK_EQ_STR(a->attrs[2].values[0], "a");
    CHECK_EQ_STR(a->attrs[2].values[1], "b");
    CHECK_EQ_STR(a->attrs[2].values[2], "c");

    const lr_attr *z = lr_agent_attr(a, "zones");
    CHECK(z == &a->attrs[2]);
    CHECK(lr_agent_attr(a, "languages") == &a->attrs[1]);
    CHECK(lr_agent_attr(a, "empty") == &a->attrs[0]);
    CHECK(lr_agent_attr(a, "products") == NULL);
    CHECK(lr_attr_contains(z, "a", 1));
    CHECK(lr_attr_contains(z, "c", 1));
    CHECK(lr_attr_contains(z, "bxyz", 1));      /* only LEN bytes count */
    CHECK(!lr_attr_contains(z, "bxyz", 2));
    CHECK(!lr_attr_contains(z, "d", 1));
    CHECK(!lr_attr_contains(z, "", 0));
    CHECK(!lr_attr_contains(lr_agent_attr(a, "empty"), "a", 1));
    CHECK(!lr_attr_contains(NULL, "a", 1));
    lr_config_free(c);
}

TEST(lookups_return_the_index_or_minus_one) {
    lr_config *c = ok_config(full_yaml);
    if (!c) return;
    CHECK_EQ_INT(lr_config_agent_index(c, "alice"), 0);
    CHECK_EQ_INT(lr_config_agent_index(c, "dave"), 3);
    CHECK_EQ_INT(lr_config_agent_index(c, "eve"), -1);
    CHECK_EQ_INT(lr_config_pool_index(c, "east"), 1);
    CHECK_EQ_INT(lr_config_pool_index(c, "north"), -1);
    CHECK_EQ_INT(lr_config_rule_index(c, "best"), 2);
    CHECK_EQ_INT(lr_config_rule_index(c, "worst"), -1);
    lr_config_free(c);
}

TEST(queue_order_names_follow_the_enum) {
    CHECK_EQ_STR(lr_queue_order_names[LR_QORDER_FIFO], "fifo");
    CHECK_EQ_STR(lr_queue_order_names[LR_QORDER_LIFO], "lifo");
    CHECK_EQ_STR(lr_queue_order_names[LR_QORDER_PRIORITY], "priority");
}

TEST(json_input_is_accepted) {
    lr_config *c = ok_config(
        "{\n"
        "  \"explain_limit\": 7,\n"
        "  \"agents\": [\n"
        "    {\"id\": \"alice\", \"weight\": 2, \"capacity\": 0,\n"
        "     \"attributes\": {\"products\": [\"solar\"]}},\n"
        "    {\"id\": \"bob\", \"status\": \"away\"}\n"
        "  ],\n"
        "  \"pools\": {\"west\": [\"alice\", \"bob\"],\n"
        "\t\"east\": {\"agents\": [\"bob\"], \"order\": \"lifo\"}},\n"
        "  \"rules\": [\n"
        "    {\"name\": \"r\", \"pool\": \"west\", \"strategy\": \"least_busy\",\n"
        "     \"when\": \"product == \\\"solar\\\"\", \"ignore_capacity\": true,\n"
        "     \"match\": {\"products\": \"product\"}}\n"
        "  ]\n"
        "}\n");
    if (!c) return;
    CHECK_EQ_INT(c->explain_limit, 7);
    CHECK_EQ_INT(c->nagents, 2);
    CHECK_EQ_INT(c->agents[0].weight, 2);
    CHECK_EQ_INT(c->agents[0].capacity, 0);
    CHECK_EQ_INT(c->agents[1].status, LR_AGENT_AWAY);
    CHECK_EQ_INT(c->pools[1].order, LR_QORDER_LIFO);
    CHECK_EQ_STR(c->rules[0].when_src, "product == \"solar\"");
    CHECK_EQ_INT(c->rules[0].ignore_capacity, 1);
    CHECK_EQ_INT(c->rules[0].match[0].field, LR_LF_PRODUCT);
    lr_config_free(c);
}

TEST(errors_are_empty_after_a_successful_load) {
    lr_config_errors e = { (char **)1, 99 };    /* garbage: must be overwritten */
    lr_config *c = NULL;
    const char *y = BASE ONE_RULE;
    CHECK_EQ_INT(lr_config_load_string(y, strlen(y), "t.yaml", &c, &e), LR_OK);
    CHECK_EQ_INT(e.n, 0);
    CHECK(e.msgs == NULL);
    lr_config_errors_release(&e);
    lr_config_free(c);
    lr_config_free(NULL);
    lr_config_errors_release(NULL);
}

TEST(failed_load_leaves_out_untouched) {
    lr_config *c = (lr_config *)&errs_;        /* a sentinel, never freed */
    lr_config_errors e;
    CHECK_EQ_INT(lr_config_load_string("x: 1\n", 5, "t.yaml", &c, &e), LR_ECONFIG);
    CHECK(c == (lr_config *)&errs_);
    CHECK(e.n > 0);
    lr_config_errors_release(&e);
}

TEST(load_file_reads_the_file_and_names_it_in_messages) {
    char path[] = "/tmp/lr_test_config_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    const char *y = BASE ONE_RULE;
    CHECK_EQ_INT(write(fd, y, strlen(y)), (long long)strlen(y));
    close(fd);
    lr_config *c = NULL;
    lr_config_errors e;
    CHECK_EQ_INT(lr_config_load_file(path, &c, &e), LR_OK);
    CHECK_EQ_INT(e.n, 0);
    if (c) CHECK_EQ_STR(c->path, path);
    lr_config_free(c);
    lr_config_errors_release(&e);

    FILE *f = fopen(path, "w");
    fputs("agents: [\n", f);
    fclose(f);
    c = NULL;
    CHECK_EQ_INT(lr_config_load_file(path, &c, &e), LR_ECONFIG);
    CHECK(c == NULL);
    char want[256];
    snprintf(want, sizeof want, "%s:2:1: YAML syntax error: flow sequence without a closing bracket", path);
    CHECK_EQ_INT(e.n, 1);
    if (e.n) CHECK_EQ_STR(e.msgs[0], want);
    lr_config_errors_release(&e);
    unlink(path);
}

TEST(load_file_reports_an_unreadable_file) {
    lr_config *c = NULL;
    lr_config_errors e;
    CHECK_EQ_INT(lr_config_load_file("/nonexistent/routing.yaml", &c, &e), LR_EIO);
    CHECK(c == NULL);
    CHECK_EQ_INT(e.n, 1);
    if (e.n) CHECK_EQ_STR(e.msgs[0], "/nonexistent/routing.yaml: cannot read: No such file or directory");
    lr_config_errors_release(&e);
    CHECK_EQ_INT(lr_config_load_file("/tmp", &c, &e), LR_EIO);
    if (e.n) CHECK_EQ_STR(e.msgs[0], "/tmp: cannot read: Is a directory");
    lr_config_errors_release(&e);
}

/* ---- YAML-level errors ------------------------------------------------------ */

TEST(yaml_syntax_error_is_reported_with_its_position) {
    CHECK_EQ_STR(errors_of("agents:\n  - id: a\n    name: b: c\n"),
                 "t.yaml:3:12: YAML syntax error: invalid nested block mapping on the same line");
    CHECK_EQ_STR(errors_of("rules: [1, 2\n"),
                 "t.yaml:2:1: YAML syntax error: flow sequence without a closing bracket");
    CHECK_EQ_STR(errors_of("rules: \"abc\n"),
                 "t.yaml:1:9: YAML syntax error: double-quoted scalar without closing quote");
}

TEST(invalid_utf8_and_nul_bytes_are_syntax_errors) {
    /* libfyaml 0.7.12 hangs on '%' followed by invalid UTF-8: the loader
     * must catch it first */
    static const char dir[] = "%\x8b";
    lr_config *c = NULL;
    lr_config_errors e;
    CHECK_EQ_INT(lr_config_load_string(dir, 2, "t.yaml", &c, &e), LR_ECONFIG);
    CHECK_EQ_INT(e.n, 1);
    if (e.n) CHECK_EQ_STR(e.msgs[0], "t.yaml:1:2: YAML syntax error: invalid UTF-8");
    lr_config_errors_release(&e);
    CHECK_EQ_STR(errors_of("agents:\n  - id: \xc3\xa9\xc3\x28\n"),
                 "t.yaml:2:10: YAML syntax error: invalid UTF-8");
    CHECK_EQ_STR(errors_of("rules: \xed\xa0\x80\n"),      /* a surrogate */
                 "t.yaml:1:8: YAML syntax error: invalid UTF-8");
    CHECK_EQ_STR(errors_of("rules: \xc0\xaf\n"),           /* overlong '/' */
                 "t.yaml:1:8: YAML syntax error: invalid UTF-8");
    static const char nul[] = "agents:\n  - id: a\0b\n";
    CHECK_EQ_INT(lr_config_load_string(nul, sizeof nul - 1, "t.yaml", &c, &e), LR_ECONFIG);
    if (e.n) CHECK_EQ_STR(e.msgs[0], "t.yaml:2:10: YAML syntax error: NUL character in the input");
    lr_config_errors_release(&e);
}

TEST(empty_input_and_non_mapping_top_level_are_errors) {
    CHECK_EQ_STR(errors_of(""),
                 "t.yaml:1:1: the config is empty (expected a mapping with agents, pools and rules)");
    CHECK_EQ_STR(errors_of("# nothing\n---\n"),
                 "t.yaml:2:1: the config is empty (expected a mapping with agents, pools and rules)");
    CHECK_EQ_STR(errors_of("- agents\n- rules\n"),
                 "t.yaml:1:1: the top level must be a mapping with agents, pools and rules, got a list");
    CHECK_EQ_STR(errors_of("hello\n"),
                 "t.yaml:1:1: the top level must be a mapping with agents, pools and rules, got 'hello'");
}

TEST(duplicate_keys_are_errors) {
    CHECK_EQ_STR(errors_of(BASE ONE_RULE "pools: {}\n"),
                 "t.yaml:8:1: duplicate key 'pools' (first at 4:1)");
    CHECK_EQ_STR(errors_of("agents:\n  - {id: a, weight: 1, weight: 2}\n"
                           "pools: {p: [a]}\nrules: [{name: r, pool: p, strategy: random}]\n"),
                 "t.yaml:2:24: duplicate key 'weight' (first at 2:13)");
}

TEST(aliases_and_extra_documents_are_errors) {
    CHECK_EQ_STR(errors_of(BASE "rules:\n  - &r {name: r1, pool: west, strategy: random}\n"
                           "  - *r\n"),
                 "t.yaml:8:5: YAML aliases are not supported (*r)");
    CHECK_EQ_STR(errors_of(BASE ONE_RULE "---\nx: 1\n"),
                 "t.yaml:8:1: only one YAML document is allowed");
}

/* A tag would be dropped and the node read as if untagged ("!!str 5"
 * the number 5): refused where it is. */
TEST(yaml_tags_are_errors) {
    CHECK_EQ_STR(errors_of("agents:\n  - {id: ann, capacity: !!str 5}\n"
                           "pools: !!map\n  west: [ann]\n" ONE_RULE),
                 "t.yaml:2:25: YAML tags are not supported (!!str)\n"
                 "t.yaml:3:8: YAML tags are not supported (!!map)");
    CHECK_EQ_STR(errors_of(BASE "rules:\n  - !rule {name: r1, pool: west, strategy: random}\n"),
                 "t.yaml:7:5: YAML tags are not supported (!rule)");
}

/* A config in the journal was accepted when it was stored: one with a tag
 * (ignored then) or more brackets than allowed now still loads from it. */
TEST(journaled_configs_load_past_the_yaml_limits) {
    lr_config *cfg = journaled_config("agents:\n  - {id: ann, capacity: !!str 5}\n"
                                      "pools: !!map\n  west: [ann]\n"
                                      "rules: [{name: r1, pool: west, strategy: random}]\n");
    CHECK(cfg != NULL);
    if (cfg) CHECK_EQ_INT(cfg->agents[0].capacity, 5);
    lr_config_free(cfg);
    /* 33,334 agents written in flow style: 100,003 brackets */
    size_t size = 33334 * 48 + 256, n = 0;
    char *text = malloc(size);
    CHECK(text != NULL);
    if (!text) return;
    n += (size_t)snprintf(text + n, size - n, "agents:\n");
    for (int i = 0; i < 33334; i++)
        n += (size_t)snprintf(text + n, size - n, "  - {id: a%d, attributes: {t: [x]}}\n", i);
    snprintf(text + n, size - n, "pools: {west: [a0]}\nrules:\n  - name: r1\n    pool: west\n"
                                 "    strategy: random\n");
    lr_config_errors e;
    cfg = NULL;
    CHECK_EQ_INT(lr_config_load_string(text, strlen(text), "t.yaml", &cfg, &e), LR_ECONFIG);
    CHECK_EQ_INT(e.n, 1);
    lr_config_errors_release(&e);
    cfg = journaled_config(text);
    CHECK(cfg != NULL);
    if (cfg) CHECK_EQ_INT(cfg->nagents, 33334);
    lr_config_free(cfg);
    free(text);
}

/* Nesting past CX_YAML_MAX_DEPTH (64) is an error at the bracket that
 * goes too deep; brackets in text are text. */
TEST(yaml_nested_too_deep_is_an_error) {
    static char deep[4096];
    size_t n = 0;
    n += (size_t)snprintf(deep + n, sizeof deep - n, "agents: ");
    for (int i = 0; i < 2000; i++) deep[n++] = '[';
    deep[n] = '\0';
    CHECK_EQ_STR(errors_of(deep), "t.yaml:1:72: YAML nested deeper than 64 levels");
    /* 63 flow levels under the top mapping: as deep as it goes */
    n = (size_t)snprintf(deep, sizeof deep, "agents: ");
    for (int i = 0; i < 63; i++) deep[n++] = '[';
    for (int i = 0; i < 63; i++) deep[n++] = ']';
    snprintf(deep + n, sizeof deep - n, "\n");
    CHECK_EQ_STR(errors_of(deep), "t.yaml:1:1: missing required key 'pools'\n"
                                  "t.yaml:1:1: missing required key 'rules'\n"
                                  "t.yaml:1:10: agent #1 must be a mapping, got a list");
    n = (size_t)snprintf(deep, sizeof deep, "agents: ");
    for (int i = 0; i < 64; i++) deep[n++] = '[';
    for (int i = 0; i < 64; i++) deep[n++] = ']';
    snprintf(deep + n, sizeof deep - n, "\n");
    CHECK_EQ_STR(errors_of(deep), "t.yaml:1:72: YAML nested deeper than 64 levels");
    /* in comments, quoted, plain and block scalars a bracket is text: 70
     * of each load */
    static char many[32768];
    const char *texts[] = {
        "  - {id: a%d, name: \"x[[{\\\"[\", attributes: {t: ['it''s[']}}   # [[[\n",
        "  - id: a%d\n    name: >-\n      Team [West #%d]\n      ['quoted?\n",
        "  - id: a%d\n    name: Team [West %d\n",
        "  - id: a%d\n    name: Jean-'Pierre [\n    attributes: {t: ['x[', \"[\"]}\n",
        "  - id: a%d\n    name: Agent %d\n      [west #]\n",
        "  - id: a%d\n    name:\n      |\n      [west team\n",
    };
    for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
        n = (size_t)snprintf(many, sizeof many, "agents:\n");
        for (int i = 0; i < 70; i++) n += (size_t)snprintf(many + n, sizeof many - n, texts[k], i, i);
        snprintf(many + n, sizeof many - n, "pools: {p: [a0]}\nrules: [{name: r, pool: p, strategy: random}]\n");
        lr_config *cfg = ok_config(many);
        lr_config_free(cfg);
    }
}

/* libfyaml reads a flow collection to its end before its first event (a
 * 5 MB "[[[...]]]" took 15 s and 2.7 GB): past 100,000 brackets in the
 * file, anywhere, nothing is parsed. */
TEST(a_file_with_too_many_brackets_is_refused_before_parsing) {
    size_t size = 2 * 100001 + 64;
    char *text = malloc(size);
    CHECK(text != NULL);
    if (!text) return;
    size_t n = (size_t)snprintf(text, size, "agents:\n  - {id: a, name: \"");
    for (int i = 0; i < 100001; i++) text[n++] = i % 2 ? '{' : '[';
    snprintf(text + n, size - n, "\"}\n");
    CHECK_EQ_STR(errors_of(text), "t.yaml:2:100019: more than 100000 '[' and '{' in the file: "
                                  "write long lists in block style (\"- item\" lines)");
    free(text);
}

/* A file of a million wrong items made a million messages: 1,000 are
 * kept, and one more says so. */
TEST(errors_stop_at_a_thousand) {
    static char many[64 * 1024];
    size_t n = (size_t)snprintf(many, sizeof many, "agents:\n");
    for (int i = 0; i < 3000; i++) n += (size_t)snprintf(many + n, sizeof many - n, "  - 7\n");
    snprintf(many + n, sizeof many - n, "pools: {}\nrules: []\n");
    lr_config *cfg = NULL;
    lr_config_errors e;
    CHECK_EQ_INT(lr_config_load_string(many, strlen(many), "t.yaml", &cfg, &e), LR_ECONFIG);
    CHECK_EQ_INT(e.n, 1001);
    if (e.n == 1001) {
        CHECK_EQ_STR(e.msgs[0], "t.yaml:2:5: agent #1 must be a mapping, got '7'");
        CHECK_EQ_STR(e.msgs[1000], "t.yaml:1002:5: more than 1000 errors: the first 1000 found are "
                                   "above, the next one is here");
    }
    lr_config_errors_release(&e);
    lr_config_free(cfg);
}

/* ---- top level ---------------------------------------------------------- */

TEST(agents_pools_and_rules_are_required) {
    CHECK_EQ_STR(errors_of("explain_limit: 5\n"),
                 "t.yaml:1:1: missing required key 'agents'\n"
                 "t.yaml:1:1: missing required key 'pools'\n"
                 "t.yaml:1:1: missing required key 'rules'");
    CHECK_EQ_STR(errors_of(BASE),
                 "t.yaml:1:1: missing required key 'rules'");
}

TEST(agents_and_rules_must_not_be_empty) {
    CHECK_EQ_STR(errors_of("agents: []\npools: {}\nrules: []\n"),
                 "t.yaml:1:9: 'agents' must not be empty\n"
                 "t.yaml:3:8: 'rules' must not be empty");
    CHECK_EQ_STR(errors_of("agents: {}\npools: []\nrules: x\n"),
                 "t.yaml:1:9: 'agents' must be a list of agents, got a mapping\n"
                 "t.yaml:2:8: 'pools' must be a mapping of pool name to agents, got a list\n"
                 "t.yaml:3:8: 'rules' must be a list of rules, got 'x'");
}

TEST(explain_limit_must_be_an_integer_from_1_to_100000) {
    lr_config *c = ok_config("explain_limit: 100000\n" BASE ONE_RULE);
    if (c) CHECK_EQ_INT(c->explain_limit, 100000);
    lr_config_free(c);
    CHECK_EQ_STR(errors_of("explain_limit: 0\n" BASE ONE_RULE),
                 "t.yaml:1:16: 'explain_limit' must be an integer between 1 and 100000, got '0'");
    CHECK_EQ_STR(errors_of("explain_limit: 100001\n" BASE ONE_RULE),
                 "t.yaml:1:16: 'explain_limit' must be an integer between 1 and 100000, got '100001'");
}

TEST(unknown_keys_are_named_with_the_known_ones) {
    CHECK_EQ_STR(errors_of(BASE ONE_RULE "agent: x\n"),
                 "t.yaml:8:1: unknown key 'agent' at top level "
                 "(known: agents, pools, accounts, rules, explain_limit, holidays, channels, notify, allow_private_targets)");
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: alice\n"
                     "    wieght: 2\n"
                     "    caps: {hour: 1, year: 2}\n"
                     "pools:\n"
                     "  west: {agents: [alice], ordr: lifo}\n"
                     "accounts:\n"
                     "  - {id: acme, owner: alice, domain: acme.com}\n"
                     "rules:\n"
                     "  - name: hot-west\n"
                     "    pool: west\n"
                     "    strategey: round_robin\n"
                     "  - {pool: west, strategy: random, when: 'true', fallbak: hold}\n"),
                 "t.yaml:3:5: unknown key 'wieght' in agent 'alice' "
                 "(known: id, name, status, weight, capacity, caps, attributes, email, schedule, "
                 "out_of_office)\n"
                 "t.yaml:4:21: unknown key 'year' in caps of agent 'alice' (known: hour, day, week, month)\n"
                 "t.yaml:6:27: unknown key 'ordr' in pool 'west' (known: agents, order, max_wait, max_no_answer, catch_up)\n"
                 "t.yaml:8:30: unknown key 'domain' in account 'acme' (known: id, domains, owner)\n"
                 "t.yaml:10:5: rule 'hot-west': missing required key 'strategy'\n"
                 "t.yaml:12:5: unknown key 'strategey' in rule 'hot-west' (known: name, when, pool, "
                 "strategy, match, fallback, ignore_capacity, window, min_sample, offer, tiers, "
                 "escalate_after, sla, recycle, notify)\n"
                 "t.yaml:13:5: rule #2: missing required key 'name'\n"
                 "t.yaml:13:50: unknown key 'fallbak' in rule #2 (known: name, when, pool, "
                 "strategy, match, fallback, ignore_capacity, window, min_sample, offer, tiers, "
                 "escalate_after, sla, recycle, notify)");
}

/* ---- agents --------------------------------------------------------------- */

/* An agents list followed by a valid pool (of the first agent) and rule. */
#define TAIL "pools: {p: [a]}\nrules: [{name: r, pool: p, strategy: random}]\n"

TEST(agent_id_is_required_valid_and_unique) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: a\n"
                     "  - name: No Id\n"
                     "  - id: \"b c\"\n"
                     "  - id: a\n"
                     "  - id: [x]\n"
                     "  - id: ''\n"
                     "  - x\n"
                     TAIL),
                 "t.yaml:3:5: agent #2: missing required key 'id'\n"
                 "t.yaml:4:10: agent #3: invalid id 'b c' (1 to 256 characters of A-Z a-z 0-9 _ . @ -)\n"
                 "t.yaml:5:9: duplicate agent id 'a' (first defined at 2:5)\n"
                 "t.yaml:6:9: agent #5: 'id' must be a string, got a list\n"
                 "t.yaml:7:10: agent #6: invalid id '' (1 to 256 characters of A-Z a-z 0-9 _ . @ -)\n"
                 "t.yaml:8:5: agent #7 must be a mapping, got 'x'");
}

TEST(agent_id_may_be_256_bytes_not_257) {
    char yaml[1024], id[300];
    memset(id, 'x', 256);
    id[256] = '\0';
    snprintf(yaml, sizeof yaml, "agents: [{id: a}, {id: %s}]\n" TAIL, id);
    lr_config *c = ok_config(yaml);
    if (c) CHECK_EQ_INT(strlen(c->agents[1].id), 256);
    lr_config_free(c);
    snprintf(yaml, sizeof yaml, "agents: [{id: a}, {id: %sx}]\n" TAIL, id);
    char want[512];
    id[80] = '\0';                  /* messages quote at most 80 bytes */
    snprintf(want, sizeof want,
             "t.yaml:1:24: agent #2: invalid id '%s...' (1 to 256 characters of A-Z a-z 0-9 _ . @ -)",
             id);
    CHECK_EQ_STR(errors_of(yaml), want);
}

TEST(agent_status_must_be_a_known_name) {
    CHECK_EQ_STR(errors_of("agents: [{id: a, status: busy}]\n" TAIL),
                 "t.yaml:1:26: agent 'a': unknown status 'busy' (known: available, away, offline)");
}

TEST(agent_numbers_must_be_integers_in_range) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: a\n"
                     "    weight: 0\n"
                     "    capacity: 1.5\n"
                     "  - id: b\n"
                     "    weight: 1000001\n"
                     "    capacity: -1\n"
                     "  - id: c\n"
                     "    weight: \"3\"\n"
                     "    capacity: ten\n"
                     "  - id: d\n"
                     "    weight: 1e3\n"
                     "    capacity: 99999999999999999999\n"
                     "  - id: e\n"
                     "    weight: 0x10\n"
                     "    capacity:\n"
                     TAIL),
                 "t.yaml:3:13: agent 'a': 'weight' must be an integer between 1 and 1000000, got '0'\n"
                 "t.yaml:4:15: agent 'a': 'capacity' must be an integer from 0 to 9223372036854775807, got '1.5'\n"
                 "t.yaml:6:13: agent 'b': 'weight' must be an integer between 1 and 1000000, got '1000001'\n"
                 "t.yaml:7:15: agent 'b': 'capacity' must be an integer from 0 to 9223372036854775807, got '-1'\n"
                 "t.yaml:9:14: agent 'c': 'weight' must be an integer between 1 and 1000000, got the string \"3\"\n"
                 "t.yaml:10:15: agent 'c': 'capacity' must be an integer from 0 to 9223372036854775807, got 'ten'\n"
                 "t.yaml:12:13: agent 'd': 'weight' must be an integer between 1 and 1000000, got '1e3'\n"
                 "t.yaml:13:15: agent 'd': 'capacity' must be an integer from 0 to 9223372036854775807, got '99999999999999999999'\n"
                 "t.yaml:15:13: agent 'e': 'weight' must be an integer between 1 and 1000000, got '0x10'\n"
                 "t.yaml:16:5: agent 'e': 'capacity' must be an integer from 0 to 9223372036854775807, got null");
}

TEST(integers_accept_a_sign_and_leading_zeros) {
    lr_config *c = ok_config("agents: [{id: a, weight: +7, capacity: 010, caps: {day: 0}}]\n" TAIL);
    if (!c) return;
    CHECK_EQ_INT(c->agents[0].weight, 7);
    CHECK_EQ_INT(c->agents[0].capacity, 10);
    CHECK_EQ_INT(c->agents[0].caps[LR_CAP_DAY], 0);
    CHECK_EQ_INT(c->agents[0].caps[LR_CAP_HOUR], -1);
    lr_config_free(c);
}

TEST(agent_caps_are_a_mapping_of_non_negative_integers) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: a\n"
                     "    caps: {hour: -1, day: 2.5, week: x, month: '4'}\n"
                     "  - id: b\n"
                     "    caps: [1, 2]\n"
                     TAIL),
                 "t.yaml:3:18: agent 'a': 'caps.hour' must be an integer from 0 to 9223372036854775807, got '-1'\n"
                 "t.yaml:3:27: agent 'a': 'caps.day' must be an integer from 0 to 9223372036854775807, got '2.5'\n"
                 "t.yaml:3:38: agent 'a': 'caps.week' must be an integer from 0 to 9223372036854775807, got 'x'\n"
                 "t.yaml:3:49: agent 'a': 'caps.month' must be an integer from 0 to 9223372036854775807, got the string \"4\"\n"
                 "t.yaml:5:11: agent 'b': 'caps' must be a mapping of hour, day, week and month, got a list");
}

TEST(agent_attributes_are_named_lists_of_strings) {
    CHECK_EQ_STR(errors_of(
                     "agents:\n"
                     "  - id: a\n"
                     "    attributes:\n"
                     "      products: [solar, {x: 1}, [y]]\n"
                     "      2fast: [a]\n"
                     "      sources: {google: 1}\n"
                     "      langs:\n"
                     "  - id: b\n"
                     "    attributes: [products]\n"
                     TAIL),
                 "t.yaml:4:25: agent 'a': values of attribute 'products' must be strings, got a mapping\n"
                 "t.yaml:4:33: agent 'a': values of attribute 'products' must be strings, got a list\n"
                 "t.yaml:5:7: agent 'a': invalid attribute name '2fast' (letters, digits and _, "
                 "not starting with a digit)\n"
                 "t.yaml:6:16: agent 'a': values of attribute 'sources' must be strings, got a mapping\n"
                 "t.yaml:7:7: agent 'a': values of attribute 'langs' must be strings, got null\n"
                 "t.yaml:9:17: agent 'b': 'attributes' must be a mapping of attribute name to values, "
                 "got a list");
}

TEST(single_quoted_scalars_unescape_and_fold) {
    /* libfyaml 0.7.12 reads '''' as three quotes; the loader does it */
    lr_config *c = ok_config(
        "agents:\n"
        "  - id: a\n"
        "    name: 'it''''s  ok'\n"
        "  - id: b\n"
        "    name: 'one\n"
        "      two  \n"
        "\n"
        "      three'\n"
        "  - id: c\n"
        "    name: ''''''''\n"
        TAIL);
    if (!c) return;
    CHECK_EQ_STR(c->agents[0].name, "it''s  ok");
    CHECK_EQ_STR(c->agents[1].name, "one two\nthree");
    CHECK_EQ_STR(c->agents[2].name, "'''");
    lr_config_free(c);
}

TEST(strings_must_not_hold_nul_characters) {
    CHECK_EQ_STR(errors_of("agents: [{id: a, name: \"x\\0y\"}]\n" TAIL),
                 "t.yaml:1:25: agent 'a': 'name' must not contain NUL characters");
    /* in a list of strings too (it said "must be strings, got the string") */
    CHECK_EQ_STR(errors_of("agents: [{id: a, attributes: {t: [\"CA\\0NV\"]}}]\n" TAIL),
                 "t.yaml:1:36: agent 'a': values of attribute 't' must not contain NUL characters");
}

/* ---- pools ------------------------------------------------------------------ */

TEST(pool_members_must_be_known_unique_and_present) {
    CHECK_EQ_STR(errors_of(
                     "agents: [{id: alice}, {id: bob}]\n"
                     "pools:\n"
                     "  west: [alice, bobb, alice]\n"
                     "  east: {agents: [], order: random}\n"
                     "  north: alice\n"
                     "  south: {order: lifo}\n"
                     "  up: {agents: bob}\n"
                     "  down: [bob, {x: 1}]\n"
                     "rules: [{name: r, pool: west, strategy: random}]\n"),
                 "t.yaml:3:17: pool 'west': unknown agent 'bobb'\n"
                 "t.yaml:3:23: pool 'west': agent 'alice' is listed twice (first at 3:10)\n"
                 "t.yaml:4:18: pool 'east' has no agents\n"
                 "t.yaml:4:29: pool 'east': unknown order 'random' (known: fifo, lifo, priority)\n"
                 "t.yaml:5:10: pool 'north' must be a list of agent ids or a mapping with agents "
                 "and order, got 'alice'\n"
                 "t.yaml:6:10: pool 'south': missing required key 'agents'\n"
                 "t.yaml:7:16: pool 'up': 'agents' must be a list of agent ids, got 'bob'\n"
                 "t.yaml:8:15: pool 'down': agent ids must be strings, got a mapping");
}

TEST(pool_names_are_non_empty_strings) {
    CHECK_EQ_STR(errors_of(
                     "agents: [{id: a}]\n"
                     "pools:\n"
                     "  '': [a]\n"
                     "  ? [x]\n"
                     "  : [a]\n"
                     "  p: [a]\n"
                     "rules: [{name: r, pool: p, strategy: random}]\n"),
                 "t.yaml:3:4: pool names must be strings of 1 to 256 bytes without a control "
                 "character, got the string \"\"\n"
                 "t.yaml:4:5: pool names must be strings of 1 to 256 bytes without a control "
                 "character, got a list");
}

/* A name is printed raw in warnings and summaries (an ESC would drive the
 * terminal, a newline split a table): no control bytes in pool and rule
 * names and account ids, but a journaled config loads as it was accepted. */
TEST(names_have_no_control_characters) {
    const char *yaml = "agents: [{id: a}]\n"
                       "pools:\n"
                       "  \"p\\tq\": [a]\n"
                       "  p: [a]\n"
                       "accounts: [{id: \"acme\\n\", domains: [acme.com], owner: a}]\n"
                       "rules:\n"
                       "  - {name: \"\\e[31mred\", pool: p, strategy: random}\n"
                       "  - {name: \"del\\x7f\", pool: \"p\\tq\", strategy: random}\n";
    CHECK_EQ_STR(errors_of(yaml),
                 "t.yaml:3:4: pool names must be strings of 1 to 256 bytes without a control "
                 "character, got the string \"p?q\"\n"
                 "t.yaml:5:18: account #1: 'id' must be a string of 1 to 256 bytes without a "
                 "control character, got the string \"acme?\"\n"
                 "t.yaml:7:13: rule #1: 'name' must be a string of 1 to 256 bytes without a "
                 "control character, got the string \"?[31mred\"\n"
                 "t.yaml:8:13: rule #2: 'name' must be a string of 1 to 256 bytes without a "
                 "control character, got the string \"del?\"\n"
                 "t.yaml:8:30: rule #2: unknown pool 'p?q'");
    lr_config *cfg = journaled_config(yaml);
    if (cfg) {
        CHECK_EQ_INT(cfg->nrules, 2);
        CHECK_EQ_STR(cfg->rules[0].name, "\x1b[31mred");
    }
    lr_config_free(cfg);
}

/* ---- accounts ------------------------------------------------------------- */

TEST(accounts_need_a_unique_id_a_known_owner_and_unique_domains) {
    CHECK_EQ_STR(errors_of(BASE
                     "accounts:\n"
                     "  - id: acme\n"
                     "    domains: [Acme.com, acme.io]\n"
                     "    owner: alice\n"
                     "  - {id: acme, domains: ACME.COM, owner: bob}\n"
                     "  - {id: beta, domains: [b.com, ''], owner: dan}\n"
                     "  - {id: gamma}\n"
                     "  - {domains: [[x]], owner: bob}\n"
                     ONE_RULE),
                 "t.yaml:10:10: duplicate account id 'acme' (first defined at 7:5)\n"
                 "t.yaml:10:25: domain 'acme.com' is listed twice (first for account 'acme' at 8:15)\n"
                 "t.yaml:11:34: account 'beta': domains must not be empty\n"
                 "t.yaml:11:45: account 'beta': unknown owner 'dan'\n"
                 "t.yaml:12:5: account 'gamma': missing required key 'owner'\n"
                 "t.yaml:13:5: account #5: missing required key 'id'\n"
                 "t.yaml:13:16: account #5: domains must be strings, got a list");
}

TEST(account_domains_are_stored_lower_case) {
    lr_config *c = ok_config(BASE "accounts: [{id: x, domains: MiXeD.Example.COM, owner: bob}]\n"
                             ONE_RULE);
    if (!c) return;
    CHECK_EQ_INT(c->accounts[0].ndomains, 1);
    CHECK_EQ_STR(c->accounts[0].domains[0], "mixed.example.com");
    CHECK_EQ_INT(c->accounts[0].owner, 1);
    lr_config_free(c);
}

/* ---- rules ------------------------------------------------------------------ */

TEST(rules_need_a_unique_name_a_known_pool_and_a_known_strategy) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, pool: west, strategy: random}\n"
                     "  - {name: a, pool: wst, strategy: round_robbin}\n"
                     "  - {name: next, pool: west, strategy: random}\n"
                     "  - {name: [x], pool: [west], strategy: queue}\n"
                     "  - {}\n"),
                 "t.yaml:8:12: duplicate rule name 'a' (first defined at 7:5)\n"
                 "t.yaml:8:21: rule 'a': unknown pool 'wst'\n"
                 "t.yaml:8:36: rule 'a': unknown strategy 'round_robbin' (known: round_robin, "
                 "weighted_round_robin, random, weighted_random, least_busy, most_available, "
                 "longest_idle, fewest_assigned, top_down, top_producer, owner, broadcast, queue, "
                 "open_pool, manual)\n"
                 "t.yaml:9:12: rule #3: the rule name 'next' is reserved (it is a fallback keyword)\n"
                 "t.yaml:10:12: rule #4: 'name' must be a string, got a list\n"
                 "t.yaml:10:23: rule #4: 'pool' must be a string, got a list\n"
                 "t.yaml:11:5: rule #5: missing required key 'name'\n"
                 "t.yaml:11:5: rule #5: missing required key 'pool'\n"
                 "t.yaml:11:5: rule #5: missing required key 'strategy'");
}

/* Agents' attributes come only from the config: a match on an attribute
 * no agent has (a typo) could never match, and is an error that lists the
 * attributes there are. */
TEST(match_on_an_attribute_no_agent_has_is_an_error) {
    CHECK_EQ_STR(errors_of("agents:\n"
                           "  - {id: alice, attributes: {territories: [CA], products: [x]}}\n"
                           "  - {id: bob, attributes: {territories: [NV]}}\n"
                           "pools:\n"
                           "  west: [alice, bob]\n"
                           "rules:\n"
                           "  - {name: r, pool: west, strategy: random, match: {teritories: state}}\n"),
                 "t.yaml:7:53: rule 'r': match: no agent has the attribute 'teritories', so the "
                 "rule matches nobody (the agents' attributes: products, territories)");
}

TEST(match_fallback_and_options_are_checked) {
    CHECK_EQ_STR(errors_of("agents:\n"
                           "  - {id: alice, attributes: {territories: [CA], tier: [a], x: [b]}}\n"
                           "  - id: bob\n"
                           "pools:\n"
                           "  west: [alice, bob]\n"
                     "rules:\n"
                     "  - name: a\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    match: {territories: stat, 9lives: state, tier: fields., x: [state]}\n"
                     "    fallback: a\n"
                     "    ignore_capacity: yes\n"
                     "    window: 24h\n"
                     "    min_sample: 5\n"
                     "  - name: b\n"
                     "    pool: west\n"
                     "    strategy: top_producer\n"
                     "    fallback: nowhere\n"
                     "    window: 24\n"
                     "    min_sample: 0\n"
                     "  - name: c\n"
                     "    pool: west\n"
                     "    strategy: fewest_assigned\n"
                     "    match: [state]\n"
                     "    window: 3651d\n"
                     "    ignore_capacity: \"true\"\n"),
                 "t.yaml:10:26: rule 'a': 'match.territories': unknown lead field 'stat' (known: id, "
                 "source, product, email, phone, name, company, account, country, state, postal_code, "
                 "stage, score, value, received_at, or fields.NAME)\n"
                 "t.yaml:10:32: rule 'a': match: invalid attribute name '9lives' (letters, digits "
                 "and _, not starting with a digit)\n"
                 "t.yaml:10:53: rule 'a': 'match.tier': unknown lead field 'fields.' (known: id, "
                 "source, product, email, phone, name, company, account, country, state, postal_code, "
                 "stage, score, value, received_at, or fields.NAME)\n"
                 "t.yaml:10:65: rule 'a': 'match.x' must be a string, got a list\n"
                 "t.yaml:11:15: rule 'a': a rule cannot fall back to itself\n"
                 "t.yaml:12:22: rule 'a': 'ignore_capacity' must be true or false, got 'yes'\n"
                 "t.yaml:13:13: rule 'a': 'window' applies only to strategies fewest_assigned and "
                 "top_producer\n"
                 "t.yaml:14:17: rule 'a': 'min_sample' applies only to strategy top_producer\n"
                 "t.yaml:18:15: rule 'b': unknown fallback 'nowhere' (next, queue, hold or the name "
                 "of another rule)\n"
                 "t.yaml:19:13: rule 'b': 'window' must be a duration such as 90s, 15m, 24h or 30d "
                 "(at most 3650d), got '24'\n"
                 "t.yaml:20:17: rule 'b': 'min_sample' must be an integer from 1 to 4294967295, got '0'\n"
                 "t.yaml:24:12: rule 'c': 'match' must be a mapping of agent attribute to lead "
                 "field, got a list\n"
                 "t.yaml:25:13: rule 'c': 'window' must be a duration such as 90s, 15m, 24h or 30d "
                 "(at most 3650d), got '3651d'\n"
                 "t.yaml:26:23: rule 'c': 'ignore_capacity' must be true or false, got the string "
                 "\"true\"");
}

TEST(fallback_to_a_later_rule_resolves) {
    lr_config *c = ok_config(BASE
        "rules:\n"
        "  - {name: a, pool: west, strategy: random, fallback: c}\n"
        "  - {name: b, pool: west, strategy: random, fallback: hold}\n"
        "  - {name: c, pool: west, strategy: random, fallback: b}\n");
    if (!c) return;
    CHECK_EQ_INT(c->rules[0].fallback, LR_FALLBACK_RULE);
    CHECK_EQ_INT(c->rules[0].fallback_rule, 2);
    CHECK_EQ_INT(c->rules[1].fallback, LR_FALLBACK_HOLD);
    CHECK_EQ_INT(c->rules[2].fallback, LR_FALLBACK_RULE);
    CHECK_EQ_INT(c->rules[2].fallback_rule, 1);
    lr_config_free(c);
}

TEST(fallback_loops_are_reported_once_each) {
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - {name: a, pool: west, strategy: random, fallback: b}\n"
                     "  - {name: b, pool: west, strategy: random, fallback: c}\n"
                     "  - {name: c, pool: west, strategy: random, fallback: b}\n"
                     "  - {name: d, pool: west, strategy: random, fallback: e}\n"
                     "  - {name: e, pool: west, strategy: random, fallback: d}\n"),
                 "t.yaml:8:55: rule 'b': fallbacks form a loop (b -> c -> b)\n"
                 "t.yaml:10:55: rule 'd': fallbacks form a loop (d -> e -> d)");
}

TEST(when_errors_point_into_the_expression) {
    /* plain and quoted scalars on one line: the column within the file;
     * block scalars (| and >): the line and column within the file; escapes,
     * several lines of a quoted scalar, a folded block whose blank lines
     * were folded away: the scalar's own position */
    CHECK_EQ_STR(errors_of(BASE
                     "rules:\n"
                     "  - name: plain\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: score >= 70 and scor < 3\n"
                     "  - name: single\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: 'state == \"CA\" and scor > 1'\n"
                     "  - {name: double, pool: west, strategy: random, when: \"stage == 1 and scor\"}\n"
                     "  - name: block\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: |\n"
                     "      score > 1 and\n"
                     "      scor\n"
                     "  - {name: empty, pool: west, strategy: random, when: ''}\n"
                     "  - {name: escaped, pool: west, strategy: random, when: \"state == \\\"CA\\\" or scor\"}\n"
                     "  - {name: none, pool: west, strategy: random, when: }\n"
                     "  - {name: utf8, pool: west, strategy: random, when: 'name == \"\xc3\xa9\xc3\xa9\" and scor'}\n"
                     "  - name: folded\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: >-\n"
                     "      score > 1 and\n"
                     "      state == \"\xc3\xa9\" and\n"
                     "      \t scor\n"
                     "  - name: gap\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: >\n"
                     "      score > 1\n"
                     "\n"
                     "      and scor\n"
                     "  - name: tail\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: |\n"
                     "      score > 1 and\n"
                     "\n"
                     "  - {name: after, pool: west, strategy: random}\n"
                     "  - name: fold\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: >\n"
                     "      score ==\n"
                     "\n"
                     "      = 1\n"
                     "  - name: indented\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: |2\n"
                     "        score == = 1\n"
                     "  - name: blank_first\n"
                     "    pool: west\n"
                     "    strategy: random\n"
                     "    when: |\n"
                     "\n"
                     "      score == = 1\n"),
                 "t.yaml:10:27: rule 'plain': when: column 17: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:14:30: rule 'single': when: column 19: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:15:72: rule 'double': when: column 16: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:21:7: rule 'block': when: column 15: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:22:56: rule 'empty': when: column 1: unexpected end of expression\n"
                 "t.yaml:23:58: rule 'escaped': when: column 18: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:24:48: rule 'none': 'when' must be a string, got null\n"
                 "t.yaml:25:72: rule 'utf8': when: column 18: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:32:9: rule 'folded': when: column 34: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:37:7: rule 'gap': when: column 15: unknown field 'scor' "
                 "(custom fields are written fields.scor)\n"
                 "t.yaml:44:20: rule 'tail': when: column 15: unexpected end of expression\n"
                 "t.yaml:51:7: rule 'fold': when: column 10: unexpected '='; equality is written '=='\n"
                 "t.yaml:58:18: rule 'indented': when: column 12: unexpected '='; equality is written '=='\n"
                 "t.yaml:64:16: rule 'blank_first': when: column 11: unexpected '='; equality is written '=='");
}

/* ---- several problems at once --------------------------------------------- */

TEST(several_errors_in_one_file_are_all_reported_in_file_order) {
    CHECK_EQ_STR(errors_of(
                     "explain_limit: many\n"
                     "agents:\n"
                     "  - id: alice\n"
                     "    capacity: 1.5\n"
                     "  - id: alice\n"
                     "pools:\n"
                     "  west: [alice, bobb]\n"
                     "rules:\n"
                     "  - name: hot-west\n"
                     "    when: 'state in [\"CA\", \"NV\"] and score >= 70'\n"
                     "    pool: west\n"
                     "    strategy: round_robbin\n"
                     "    strategey: round_robin\n"),
                 "t.yaml:1:16: 'explain_limit' must be an integer between 1 and 100000, got 'many'\n"
                 "t.yaml:4:15: agent 'alice': 'capacity' must be an integer from 0 to 9223372036854775807, got '1.5'\n"
                 "t.yaml:5:9: duplicate agent id 'alice' (first defined at 3:5)\n"
                 "t.yaml:7:17: pool 'west': unknown agent 'bobb'\n"
                 "t.yaml:12:15: rule 'hot-west': unknown strategy 'round_robbin' (known: round_robin, "
                 "weighted_round_robin, random, weighted_random, least_busy, most_available, "
                 "longest_idle, fewest_assigned, top_down, top_producer, owner, broadcast, queue, "
                 "open_pool, manual)\n"
                 "t.yaml:13:5: unknown key 'strategey' in rule 'hot-west' (known: name, when, pool, "
                 "strategy, match, fallback, ignore_capacity, window, min_sample, offer, tiers, "
                 "escalate_after, sla, recycle, notify)");
}

int main(void) {
    RUN(full_config_loads_every_field);
    RUN(full_config_when_is_compiled_from_its_text);
    RUN(defaults_apply_when_fields_are_absent);
    RUN(window_defaults_to_24h_for_fewest_assigned_and_30d_for_top_producer);
    RUN(durations_take_seconds_minutes_hours_and_days);
    RUN(pools_take_the_short_and_the_long_form);
    RUN(owner_strategy_without_accounts_and_rules_all_with_when_are_fine);
    RUN(attributes_are_sorted_and_deduplicated_for_binary_search);
    RUN(lookups_return_the_index_or_minus_one);
    RUN(queue_order_names_follow_the_enum);
    RUN(json_input_is_accepted);
    RUN(errors_are_empty_after_a_successful_load);
    RUN(failed_load_leaves_out_untouched);
    RUN(load_file_reads_the_file_and_names_it_in_messages);
    RUN(load_file_reports_an_unreadable_file);
    RUN(yaml_syntax_error_is_reported_with_its_position);
    RUN(invalid_utf8_and_nul_bytes_are_syntax_errors);
    RUN(empty_input_and_non_mapping_top_level_are_errors);
    RUN(duplicate_keys_are_errors);
    RUN(aliases_and_extra_documents_are_errors);
    RUN(yaml_tags_are_errors);
    RUN(yaml_nested_too_deep_is_an_error);
    RUN(journaled_configs_load_past_the_yaml_limits);
    RUN(a_file_with_too_many_brackets_is_refused_before_parsing);
    RUN(errors_stop_at_a_thousand);
    RUN(agents_pools_and_rules_are_required);
    RUN(agents_and_rules_must_not_be_empty);
    RUN(explain_limit_must_be_an_integer_from_1_to_100000);
    RUN(unknown_keys_are_named_with_the_known_ones);
    RUN(agent_id_is_required_valid_and_unique);
    RUN(agent_id_may_be_256_bytes_not_257);
    RUN(agent_status_must_be_a_known_name);
    RUN(agent_numbers_must_be_integers_in_range);
    RUN(integers_accept_a_sign_and_leading_zeros);
    RUN(agent_caps_are_a_mapping_of_non_negative_integers);
    RUN(agent_attributes_are_named_lists_of_strings);
    RUN(single_quoted_scalars_unescape_and_fold);
    RUN(strings_must_not_hold_nul_characters);
    RUN(pool_members_must_be_known_unique_and_present);
    RUN(pool_names_are_non_empty_strings);
    RUN(names_have_no_control_characters);
    RUN(accounts_need_a_unique_id_a_known_owner_and_unique_domains);
    RUN(account_domains_are_stored_lower_case);
    RUN(rules_need_a_unique_name_a_known_pool_and_a_known_strategy);
    RUN(match_on_an_attribute_no_agent_has_is_an_error);
    RUN(match_fallback_and_options_are_checked);
    RUN(fallback_to_a_later_rule_resolves);
    RUN(fallback_loops_are_reported_once_each);
    RUN(when_errors_point_into_the_expression);
    RUN(several_errors_in_one_file_are_all_reported_in_file_order);
    return test_report();
}
