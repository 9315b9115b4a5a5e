/* fuzz_engine.c -- libFuzzer target for the engine under any sequence of
 * events and config changes.
 *
 * The input is read three bytes at a time: an operation and two
 * arguments. Operations are leads (to rules with offers, broadcasts, open
 * pools, pull queues, SLAs, recycling, tiers that escalate, caps and
 * max_no_answer), declines, releases, accepts, claims, progress, an
 * admin's assigns, agent statuses, the clock moving on with ticks, and
 * config changes between three configs that remove agents, add them back
 * and number them anew. The same sequence is applied to three engines:
 * two must make byte-identical decisions (the engine is deterministic),
 * and one that replays it without explanations must end in the same state
 * (a lead after the sequence is decided the same way by all three). Any
 * apply that fails, or a sanitizer's finding, is a crash. */
#include "leadrouter/buf.h"
#include "leadrouter/config.h"
#include "leadrouter/engine.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULES                                                                                   \
    "rules:\n"                                                                                  \
    "  - {name: offer, when: 'source == \"o\"', pool: p, strategy: top_down,"                   \
    " offer: {timeout: 1m, attempts: 2}, fallback: queue}\n"                                   \
    "  - {name: bc, when: 'source == \"b\"', pool: p, strategy: broadcast, offer: {timeout: 1m}}\n" \
    "  - {name: open, when: 'source == \"p\"', pool: p, strategy: open_pool}\n"                 \
    "  - {name: pull, when: 'source == \"q\"', pool: p, strategy: queue}\n"                     \
    "  - {name: sla, when: 'source == \"s\"', pool: p, strategy: round_robin,"                  \
    " sla: {contact_within: 1m, then: reassign}}\n"                                             \
    "  - {name: rec, when: 'source == \"c\"', pool: p, strategy: least_busy,"                   \
    " recycle: {after: 2m, to: rec}}\n"                                                         \
    "  - {name: tier, when: 'source == \"t\"', tiers: [one, p], strategy: top_down,"            \
    " offer: {timeout: 10m}, escalate_after: 1m, fallback: queue}\n"                            \
    "  - {name: man, when: 'source == \"m\"', pool: p, strategy: manual}\n"                     \
    "  - {name: rr, pool: p, strategy: round_robin, fallback: queue}\n"

static const char *const yaml[] = {
    "agents: [{id: a, capacity: 2}, {id: b}, {id: c, caps: {hour: 3}}, {id: d, capacity: 1},"
    " {id: e}]\n"
    "pools: {p: {agents: [a, b, c, d, e], max_no_answer: 2, max_wait: 3m}, one: [a]}\n" RULES,
    "agents: [{id: a, capacity: 2}, {id: c, caps: {hour: 3}}, {id: e}]\n"
    "pools: {p: {agents: [a, c, e], max_no_answer: 2, max_wait: 3m}, one: [a]}\n" RULES,
    "agents: [{id: x}, {id: e}, {id: d, capacity: 1}, {id: c}, {id: b}, {id: a, capacity: 2}]\n"
    "pools: {p: {agents: [e, d, c, b, a, x], max_no_answer: 2}, one: [d]}\n" RULES,
};
#define NCONFIGS (sizeof yaml / sizeof yaml[0])

static const char *const agents[] = { "a", "b", "c", "d", "e", "x", "zz", "a" };
static const char sources[] = "obpqsctm";
static const char *const progress[] = { "contacted", "qualified", "won", "lost" };
static const char *const statuses[] = { "available", "away", "offline", "available" };

static lr_config *configs[NCONFIGS];

static void load_configs(void) {
    for (size_t i = 0; i < NCONFIGS; i++) {
        if (configs[i]) continue;
        lr_config_errors errs = { 0 };
        if (lr_config_load_string(yaml[i], strlen(yaml[i]), "fuzz", &configs[i], &errs) != LR_OK) {
            for (size_t k = 0; k < errs.n; k++) fprintf(stderr, "config %zu: %s\n", i, errs.msgs[k]);
            abort();
        }
        lr_config_errors_release(&errs);
    }
}

static int collect(const lr_decision *d, void *ud) {
    lr_buf *b = ud;
    if (b) {
        lr_decision_write_json(d, b);
        lr_buf_putc(b, '\n');
    }
    return 0;
}

/* Applies the event LINE to each engine, its decisions to OUT[i] (NULL:
 * none kept). */
static void apply_all(lr_engine **eng, lr_buf **out, size_t n, const char *line) {
    for (size_t i = 0; i < n; i++) {
        lr_event ev;
        char err[128];
        if (lr_event_parse(line, strlen(line), &ev, err, sizeof err) != LR_OK) {
            fprintf(stderr, "bad event %s: %s\n", line, err);
            abort();
        }
        int rc = lr_engine_apply(eng[i], &ev, collect, out[i]);
        lr_event_release(&ev);
        if (rc != LR_OK) {
            fprintf(stderr, "apply %s: %d\n", line, rc);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    load_configs();
    enum { N = 3 };
    lr_engine *eng[N] = { 0 };
    lr_buf b0 = LR_BUF_INIT, b1 = LR_BUF_INIT;
    lr_buf *out[N] = { &b0, &b1, NULL };
    lr_engine_opts opts = { 7, 1793610000000, true };     /* 2026-11-02T09:00:00Z */
    for (int i = 0; i < N; i++)
        if (lr_engine_create(configs[0], &opts, &eng[i]) != LR_OK) abort();
    lr_engine_set_replaying(eng[2], true);
    lr_engine_set_explain(eng[2], false);

    lr_time now = opts.start;
    unsigned nleads = 0;
    char line[512], at[32];
    for (size_t i = 0; i + 3 <= size && i < 3 * 400; i += 3) {
        unsigned op = data[i] % 12, x = data[i + 1], y = data[i + 2];
        const char *ag = agents[x & 7];
        char lead[16];
        snprintf(lead, sizeof lead, "L%u", nleads ? (y % nleads) : 0);
        now += op == 9 ? (lr_time)(x % 64) * 5000 : 1000;
        lr_time_format(now, at, sizeof at);
        switch (op) {
        case 0: case 1:
            snprintf(line, sizeof line, "{\"id\":\"L%u\",\"source\":\"%c\",\"score\":%u,\"at\":\"%s\"}",
                     nleads++, sources[x & 7], y, at);
            break;
        case 2: case 3: case 4: case 7: {                 /* an answer about one lead */
            static const char *const type[] = { [2] = "decline", [3] = "release", [4] = "accept",
                                                [7] = "assign" };
            snprintf(line, sizeof line, "{\"type\":\"%s\",\"lead\":\"%s\",\"agent\":\"%s\",\"at\":\"%s\"}",
                     type[op], lead, ag, at);
            break;
        }
        case 5:
            if (x & 8)
                snprintf(line, sizeof line, "{\"type\":\"claim\",\"agent\":\"%s\",\"at\":\"%s\"}", ag, at);
            else
                snprintf(line, sizeof line,
                         "{\"type\":\"claim\",\"lead\":\"%s\",\"agent\":\"%s\",\"at\":\"%s\"}", lead, ag, at);
            break;
        case 6:
            snprintf(line, sizeof line,
                     "{\"type\":\"progress\",\"lead\":\"%s\",\"status\":\"%s\",\"at\":\"%s\"}", lead,
                     progress[(x >> 3) & 3], at);
            break;
        case 8:
            snprintf(line, sizeof line, "{\"type\":\"agent\",\"agent\":\"%s\",\"status\":\"%s\",\"at\":\"%s\"}",
                     ag, statuses[(x >> 3) & 3], at);
            break;
        case 9:
            snprintf(line, sizeof line, "{\"type\":\"tick\",\"at\":\"%s\"}", at);
            break;
        default: {                                        /* 10, 11: a config change */
            const lr_config *cfg = configs[x % NCONFIGS];
            for (int k = 0; k < N; k++)
                if (lr_engine_reconfigure(eng[k], cfg, LR_RECONF_NOW, collect, out[k]) != LR_OK) abort();
            continue;
        }
        }
        apply_all(eng, out, N, line);
    }
    if (getenv("FUZZ_ENGINE_DUMP") && b0.data) fputs(b0.data, stderr);   /* to read a finding */
    if (b0.len != b1.len || (b0.len && memcmp(b0.data, b1.data, b0.len) != 0)) {
        fprintf(stderr, "two engines decided differently\n");
        abort();
    }
    /* the replaying engine ends in the same state: a lead to every rule
     * afterwards is decided alike (explained by both) */
    lr_engine_set_replaying(eng[2], false);
    lr_engine_set_explain(eng[2], true);
    lr_buf p0 = LR_BUF_INIT, p2 = LR_BUF_INIT;
    lr_buf *probe[N] = { &p0, NULL, &p2 };
    for (const char *s = sources; *s; s++) {
        snprintf(line, sizeof line, "{\"id\":\"PROBE-%c\",\"source\":\"%c\"}", *s, *s);
        apply_all(eng, probe, N, line);
    }
    if (p0.len != p2.len || (p0.len && memcmp(p0.data, p2.data, p0.len) != 0)) {
        fprintf(stderr, "a replay ends elsewhere:\n%s---\n%s", p0.data ? p0.data : "",
                p2.data ? p2.data : "");
        abort();
    }
    for (int i = 0; i < N; i++) lr_engine_destroy(eng[i]);
    lr_buf_release(&b0);
    lr_buf_release(&b1);
    lr_buf_release(&p0);
    lr_buf_release(&p2);
    return 0;
}
