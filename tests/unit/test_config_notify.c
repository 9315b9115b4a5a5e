/* test_config_notify.c -- the delivery part of the config: channels,
 * allow_private_targets and notify (src/core/config_notify.c). */
#include "config_helpers.h"

#include <stdlib.h>

#define AGENTS "agents:\n  - {id: ann, email: ann@example.com}\n  - {id: bob}\n" \
               "pools:\n  team: [ann, bob]\n"
#define RULE "rules:\n  - {name: r, pool: team, strategy: round_robin}\n"

TEST(channels_get_their_defaults_and_options) {
    setenv("LR_UNIT_SECRET", "s3cret", 1);
    lr_config *cfg = ok_config(
        AGENTS
        "channels:\n"
        "  crm: {webhook: \"https://crm.example.com/hook\", secret_env: LR_UNIT_SECRET}\n"
        "  erp: {webhook: \"https://erp.example.com/hook\", batch: 100}\n"
        "  mail: {smtp: \"smtp://127.0.0.1:2525\", from: leads@example.com, timeout: 30s,\n"
        "         concurrency: 2, backoff: 5s, backoff_max: 2m, retry_for: 2h,\n"
        "         public_url: \"https://leads.example.com\"}\n"
        "allow_private_targets: [mail]\n" RULE);
    if (!cfg) return;
    CHECK_EQ_INT(cfg->nchannels, 3);
    const lr_channel_conf *c = &cfg->channels[0];
    CHECK_EQ_STR(c->name, "crm");
    CHECK_EQ_INT(c->kind, LR_CHANNEL_WEBHOOK);
    CHECK_EQ_STR(c->url, "https://crm.example.com/hook");
    CHECK_EQ_STR(c->secret_env, "LR_UNIT_SECRET");
    CHECK_EQ_INT(c->timeout_ms, 10000);
    CHECK_EQ_INT(c->concurrency, 4);
    CHECK_EQ_INT(c->batch, 1);
    CHECK_EQ_INT(c->backoff_ms, 10000);
    CHECK_EQ_INT(c->backoff_max_ms, 3600000);
    CHECK_EQ_INT(c->retry_for_ms, 86400000);
    CHECK_EQ_INT(c->allow_private, 0);
    CHECK_EQ_INT(cfg->channels[1].batch, 100);
    c = &cfg->channels[2];
    CHECK_EQ_INT(c->kind, LR_CHANNEL_SMTP);
    CHECK_EQ_STR(c->from, "leads@example.com");
    CHECK_EQ_STR(c->public_url, "https://leads.example.com");
    CHECK_EQ_INT(c->timeout_ms, 30000);
    CHECK_EQ_INT(c->concurrency, 2);
    CHECK_EQ_INT(c->backoff_ms, 5000);
    CHECK_EQ_INT(c->backoff_max_ms, 120000);
    CHECK_EQ_INT(c->retry_for_ms, 7200000);
    CHECK_EQ_INT(c->allow_private, 1);
    lr_config_free(cfg);
}

TEST(notify_entries_at_top_level_and_per_rule) {
    lr_config *cfg = ok_config(
        AGENTS
        "channels:\n"
        "  crm: {webhook: \"http://crm.example.com/hook\"}\n"
        "  mail: {smtp: \"smtps://mail.example.com\", from: leads@example.com}\n"
        "notify:\n"
        "  - {on: [assigned, reassigned], to: crm}\n"
        "rules:\n"
        "  - name: r\n    pool: team\n    strategy: round_robin\n"
        "    notify:\n"
        "      - {on: [offered], to: mail, recipient: agent}\n"
        "      - {on: [expired], to: mail, recipient: ops@example.com}\n");
    if (!cfg) return;
    CHECK_EQ_INT(cfg->nnotify, 1);
    CHECK_EQ_INT(cfg->notify[0].on, (1u << LR_ACTION_ASSIGNED) | (1u << LR_ACTION_REASSIGNED));
    CHECK_EQ_INT(cfg->notify[0].channel, 0);
    CHECK_EQ_INT(cfg->rules[0].nnotify, 2);
    CHECK_EQ_INT(cfg->rules[0].notify[0].on, 1u << LR_ACTION_OFFERED);
    CHECK_EQ_INT(cfg->rules[0].notify[0].channel, 1);
    CHECK_EQ_INT(cfg->rules[0].notify[0].to_agent, 1);
    CHECK_EQ_INT(cfg->rules[0].notify[1].to_agent, 0);
    CHECK_EQ_STR(cfg->rules[0].notify[1].recipient, "ops@example.com");
    CHECK_EQ_INT(lr_config_channel_index(cfg, "mail"), 1);
    CHECK_EQ_INT(lr_config_channel_index(cfg, "fax"), -1);
    lr_config_free(cfg);
}

TEST(channel_mistakes_are_named_where_they_are) {
    unsetenv("LR_UNIT_UNSET");
    CHECK_EQ_STR(errors_of(
        AGENTS
        "channels:\n"
        "  crm: {webhook: \"ftp://x.example.com\", secret_env: LR_UNIT_UNSET}\n"
        "  both: {webhook: \"http://a.example.com\", smtp: \"smtp://b.example.com\"}\n"
        "  none: {from: a@b.example}\n"
        "  mail: {smtp: \"smtp://b.example.com\", from: \"Leads <leads@example.com>\", secret_env: X}\n"
        "  9bad: {webhook: \"no url\"}\n"
        "allow_private_targets: [crm, nope]\n" RULE),
        "t.yaml:7:19: channel 'crm': 'webhook' must be a https:// or http:// URL, got 'ftp://x.example.com'\n"
        "t.yaml:7:53: channel 'crm': the environment variable LR_UNIT_UNSET (secret_env) is not set or empty\n"
        "t.yaml:8:50: channel 'both': give either 'webhook' or 'smtp', not both\n"
        "t.yaml:9:9: channel 'none': missing 'webhook: URL' or 'smtp: URL'\n"
        "t.yaml:10:47: channel 'mail': 'from' must be an address such as leads@example.com, got the string \"Leads <leads@example.com>\"\n"
        "t.yaml:10:87: channel 'mail': 'secret_env' applies only to webhook channels\n"
        "t.yaml:11:3: channel '9bad': a channel name must be an identifier (letters, digits, _; not starting with a digit)\n"
        "t.yaml:11:20: channel '9bad': 'webhook' is not a valid URL: 'no url'\n"
        "t.yaml:12:30: 'allow_private_targets': unknown channel 'nope'");
}

/* libcurl would take "https:///h" as the host h and port 0 as a port; a
 * config from the journal, accepted before these were refused, still
 * loads. */
TEST(a_url_needs_a_host_and_a_port_other_than_0) {
    const char *yaml = AGENTS
        "channels:\n"
        "  a: {webhook: \"https:///hooks\"}\n"
        "  b: {webhook: \"http://crm.example.com:0/hooks\"}\n"
        "  c: {smtp: \"smtp:///\", from: leads@example.com}\n"
        "  d: {webhook: \"https://user:pw@crm.example.com:8443/hooks\"}\n" RULE;
    CHECK_EQ_STR(errors_of(yaml),
        "t.yaml:7:17: channel 'a': 'webhook' has no host after '//': 'https:///hooks'\n"
        "t.yaml:8:17: channel 'b': 'webhook' has port 0, which nothing listens on: "
        "'http://crm.example.com:0/hooks'\n"
        "t.yaml:9:14: channel 'c': 'smtp' is not a valid URL: 'smtp:///'");
    const char *old = AGENTS
        "channels:\n"
        "  a: {webhook: \"https:///hooks\"}\n"
        "  b: {webhook: \"http://crm.example.com:0/hooks\"}\n" RULE;
    lr_config *cfg = journaled_config(old);
    if (cfg) CHECK_EQ_STR(cfg->channels[0].url, "https:///hooks");
    lr_config_free(cfg);
}

TEST(notify_mistakes_are_named_where_they_are) {
    CHECK_EQ_STR(errors_of(
        AGENTS
        "channels:\n"
        "  crm: {webhook: \"https://crm.example.com\"}\n"
        "  mail: {smtp: \"smtp://b.example.com\", from: leads@example.com}\n"
        "notify:\n"
        "  - {on: [assigned, sold], to: crm}\n"
        "  - {on: [], to: pager}\n"
        "  - {on: [assigned], to: mail}\n"
        "  - {on: [assigned], to: crm, recipient: agent}\n"
        "  - {to: mail, recipient: 'not an address'}\n" RULE),
        "t.yaml:10:21: notify #1: unknown action 'sold' in 'on' (known: assigned, offered, queued, "
        "held, claimed, claim_refused, released, closed, unrouted, rejected, expired, reassigned, "
        "recycled, sla_breached, agent_away)\n"
        "t.yaml:11:10: notify #2: 'on' must not be empty\n"
        "t.yaml:11:18: notify #2: unknown channel 'pager'\n"
        "t.yaml:12:5: notify #3: missing 'recipient' for an smtp channel ('agent' or an address)\n"
        "t.yaml:13:42: notify #4: 'recipient' applies only to smtp channels (a webhook has its URL)\n"
        "t.yaml:14:5: notify #5: missing required key 'on'\n"
        "t.yaml:14:28: notify #5: 'recipient' must be 'agent' (the agent's email) or an address "
        "such as ops@example.com, got the string \"not an address\"");
}

TEST(journaled_configs_do_not_need_their_secrets_set) {
    unsetenv("LR_UNIT_GONE");
    const char *yaml = AGENTS
        "channels:\n  crm: {webhook: \"https://crm.example.com\", secret_env: LR_UNIT_GONE}\n" RULE;
    lr_config *cfg = journaled_config(yaml);
    if (cfg) CHECK_EQ_STR(cfg->channels[0].secret_env, "LR_UNIT_GONE");
    lr_config_free(cfg);
    CHECK_EQ_INT(load(yaml, &cfg), LR_ECONFIG);
}

TEST(after_delays_notices_of_waiting_leads_only) {
    lr_config *cfg = ok_config(
        AGENTS "channels:\n  crm: {webhook: \"https://crm.example.com\"}\n"
        "notify:\n  - {on: [queued, offered], to: crm, after: 10m}\n" RULE);
    if (cfg) CHECK_EQ_INT(cfg->notify[0].after_ms, 600000);
    lr_config_free(cfg);
    CHECK_EQ_STR(errors_of(
        AGENTS "channels:\n  crm: {webhook: \"https://crm.example.com\"}\n"
        "notify:\n  - {on: [queued, assigned], to: crm, after: 10m}\n"
        "  - {on: [queued], to: crm, after: soon}\n" RULE),
        "t.yaml:9:46: notify #1: 'after' applies only to queued, offered and held (a lead "
        "still waiting after that long)\n"
        "t.yaml:10:36: notify #2: 'after' must be a duration from 1s to 30d (a whole number "
        "and s, m, h or d), got 'soon'");
}

TEST(smtp_login_comes_from_two_variables) {
    setenv("LR_UNIT_SMTP_USER", "leads", 1);
    setenv("LR_UNIT_SMTP_PASS", "hunter2", 1);
    unsetenv("LR_UNIT_SMTP_NONE");
    lr_config *cfg = ok_config(
        AGENTS "channels:\n  mail: {smtp: \"smtps://mail.example.com\", from: a@example.com,\n"
        "         username_env: LR_UNIT_SMTP_USER, password_env: LR_UNIT_SMTP_PASS}\n" RULE);
    if (cfg) {
        CHECK_EQ_STR(cfg->channels[0].username_env, "LR_UNIT_SMTP_USER");
        CHECK_EQ_STR(cfg->channels[0].password_env, "LR_UNIT_SMTP_PASS");
    }
    lr_config_free(cfg);
    CHECK_EQ_STR(errors_of(
        AGENTS "channels:\n"
        "  a: {smtp: \"smtp://m.example.com\", from: a@example.com, username_env: LR_UNIT_SMTP_USER}\n"
        "  b: {smtp: \"smtp://m.example.com\", from: a@example.com, username_env: LR_UNIT_SMTP_USER,\n"
        "      password_env: LR_UNIT_SMTP_NONE}\n"
        "  c: {webhook: \"https://c.example.com\", password_env: LR_UNIT_SMTP_PASS}\n" RULE),
        "t.yaml:7:6: channel 'a': give both 'username_env' and 'password_env', or neither\n"
        "t.yaml:9:21: channel 'b': the environment variable LR_UNIT_SMTP_NONE (password_env) "
        "is not set or empty\n"
        "t.yaml:10:55: channel 'c': 'password_env' applies only to smtp channels");
}

TEST(webhook_channels_send_the_brief_why_unless_told_full) {
    lr_config *cfg = ok_config(
        AGENTS
        "channels:\n"
        "  crm: {webhook: \"https://crm.example.com/hook\"}\n"
        "  audit: {webhook: \"https://audit.example.com/hook\", why: full}\n"
        "  ops: {webhook: \"https://ops.example.com/hook\", why: brief}\n"
        "  mail: {smtp: \"smtp://127.0.0.1:2525\", from: leads@example.com}\n" RULE);
    if (!cfg) return;
    CHECK_EQ_INT(cfg->nchannels, 4);
    CHECK_EQ_STR(cfg->channels[0].name, "crm");
    CHECK_EQ_INT(cfg->channels[0].why_full, 0);     /* the default: brief */
    CHECK_EQ_STR(cfg->channels[1].name, "audit");
    CHECK_EQ_INT(cfg->channels[1].why_full, 1);
    CHECK_EQ_STR(cfg->channels[2].name, "ops");
    CHECK_EQ_INT(cfg->channels[2].why_full, 0);
    CHECK_EQ_INT(cfg->channels[3].why_full, 0);
    lr_config_free(cfg);
}

TEST(why_mistakes_are_named_where_they_are) {
    CHECK_EQ_STR(errors_of(
        AGENTS
        "channels:\n"
        "  crm: {webhook: \"https://crm.example.com\", why: maybe}\n"
        "  hook: {webhook: \"https://h.example.com\", why: fully}\n"
        "  mail: {smtp: \"smtp://b.example.com\", from: leads@example.com, why: full}\n" RULE),
        "t.yaml:7:50: channel 'crm': 'why' must be brief or full, got 'maybe'\n"
        "t.yaml:8:49: channel 'hook': 'why' must be brief or full, got 'fully'\n"
        "t.yaml:9:70: channel 'mail': 'why' applies only to webhook channels (an email "
        "explains in words)");
}

int main(void) {
    RUN(channels_get_their_defaults_and_options);
    RUN(notify_entries_at_top_level_and_per_rule);
    RUN(channel_mistakes_are_named_where_they_are);
    RUN(a_url_needs_a_host_and_a_port_other_than_0);
    RUN(notify_mistakes_are_named_where_they_are);
    RUN(journaled_configs_do_not_need_their_secrets_set);
    RUN(after_delays_notices_of_waiting_leads_only);
    RUN(smtp_login_comes_from_two_variables);
    RUN(webhook_channels_send_the_brief_why_unless_told_full);
    RUN(why_mistakes_are_named_where_they_are);
    return test_report();
}
