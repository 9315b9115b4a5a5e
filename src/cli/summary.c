/* summary.c -- the tables `leadrouter route --summary` prints on stderr.
 *
 * Four blocks: totals (with the time from a lead's arrival to its first
 * assignment or claim, as GET /v1/stats measures it), decisions by
 * action, leads per agent, decisions per rule. Each table is laid out in
 * two passes over its cells (widths, then print) so any number of agents
 * or rules aligns without allocating.
 * Nothing here depends on the wall clock: the same run prints the same
 * summary.
 */
#include "cli/cli.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "leadrouter/error.h"
#include "leadrouter/strategy.h"

#define CELL 160                      /* longest cell printed; longer ids are cut */
#define MAXCOLS 10

/* Writes the cell at ROW, COL (row -1 = header) into BUF of CELL bytes. */
typedef void (*cell_fn)(long row, int col, char *buf, const void *ud);

/* Prints a table of NROWS rows and NCOLS columns, two spaces between
 * columns, text left-aligned and numbers (NUMERIC[col]) right-aligned. */
static void print_table(FILE *out, int ncols, const int *numeric, long nrows,
                        cell_fn cell, const void *ud) {
    size_t width[MAXCOLS] = {0};
    char buf[CELL];
    for (long r = -1; r < nrows; r++)
        for (int c = 0; c < ncols; c++) {
            cell(r, c, buf, ud);
            size_t n = strlen(buf);
            if (n > width[c]) width[c] = n;
        }
    for (long r = -1; r < nrows; r++) {
        fputs("  ", out);
        for (int c = 0; c < ncols; c++) {
            cell(r, c, buf, ud);
            int w = (int)width[c];
            if (c == ncols - 1 && !numeric[c]) fputs(buf, out);
            else fprintf(out, numeric[c] ? "%*s" : "%-*s", w, buf);
            if (c < ncols - 1) fputs("  ", out);
        }
        fputc('\n', out);
    }
}

static void u64(char *buf, uint64_t v) { snprintf(buf, CELL, "%" PRIu64, v); }

static void text(char *buf, const char *s) { snprintf(buf, CELL, "%s", s ? s : "-"); }

/* ---- time to assignment ---------------------------------------------------- */

int cli_tally_init(cli_tally *t, const lr_config *cfg) {
    memset(t, 0, sizeof *t);
    t->rules = calloc(cfg->nrules + 1, sizeof *t->rules);
    if (!t->rules) return LR_ENOMEM;
    return lr_map_init(&t->waiting, 1024);
}

void cli_tally_release(cli_tally *t) {
    size_t pos = 0;
    for (const lr_map_slot *s; (s = lr_map_next(&t->waiting, &pos));) free(s->val);
    lr_map_release(&t->waiting);
    free(t->rules);
    free(t->waits);
    free(t->idbuf);
    memset(t, 0, sizeof *t);
}

/* A lead taken as it arrives (the usual case) never enters the map: only
 * one that waits is copied there, after its event. */
int cli_tally_lead(cli_tally *t, const lr_lead *lead, bool known) {
    const char *id = lr_lead_id(lead);
    size_t len = strlen(id);
    t->arriving = NULL;
    if (known || lr_map_get(&t->waiting, id, len)) return LR_OK;
    if (len >= t->idcap) {
        char *p = realloc(t->idbuf, len + 64);
        if (!p) return LR_ENOMEM;
        t->idbuf = p;
        t->idcap = len + 64;
    }
    memcpy(t->idbuf, id, len + 1);
    t->arriving = t->idbuf;
    t->arrival = lead->received_at;
    return LR_OK;
}

int cli_tally_applied(cli_tally *t) {
    const char *id = t->arriving;
    t->arriving = NULL;
    if (!id) return LR_OK;
    size_t len = strlen(id);
    cli_wait *w = malloc(sizeof *w + len + 1);
    if (!w) return LR_ENOMEM;
    w->arrival = t->arrival;
    memcpy(w->id, id, len + 1);
    if (lr_map_put(&t->waiting, w->id, len, w) != LR_OK) {
        free(w);
        return LR_ENOMEM;
    }
    return LR_OK;
}

static int add_wait(cli_tally *t, lr_time arrival, lr_time at) {
    if (t->nwaits == t->capwaits) {
        size_t cap = t->capwaits ? 2 * t->capwaits : 1024;
        int64_t *p = realloc(t->waits, cap * sizeof *p);
        if (!p) return LR_ENOMEM;
        t->waits = p;
        t->capwaits = cap;
    }
    int64_t ms = arrival == LR_TIME_NONE ? 0 : at - arrival;
    t->waits[t->nwaits++] = ms > 0 ? ms : 0;
    return LR_OK;
}

int cli_tally_decision(cli_tally *t, const lr_decision *d) {
    if (!d->lead) return LR_OK;
    bool own = t->arriving && strcmp(t->arriving, d->lead) == 0;
    /* a lead without received_at arrives when the engine decides on it:
     * its event's time (the decisions of deadlines that passed before the
     * event come first, at their own times: not its arrival) */
    if (own && t->arrival == LR_TIME_NONE) t->arrival = d->at;
    if (d->action != LR_ACTION_ASSIGNED && d->action != LR_ACTION_CLAIMED) return LR_OK;
    if (own) {
        t->arriving = NULL;
        return add_wait(t, t->arrival, d->at);
    }
    size_t len = strlen(d->lead);
    cli_wait *w = lr_map_get(&t->waiting, d->lead, len);
    if (!w) return LR_OK;                   /* assigned before: not its first */
    int rc = add_wait(t, w->arrival, d->at);
    lr_map_del(&t->waiting, d->lead, len);
    free(w);
    return rc;
}

static int cmp_i64(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The nearest-rank percentile P (in percent) of the N sorted values V:
 * the value of 1-based rank ceil(P * N / 100), as GET /v1/stats takes it. */
static int64_t nearest_rank(const int64_t *v, size_t n, unsigned p) {
    size_t rank = (p * n + 99) / 100;
    return v[rank ? rank - 1 : 0];
}

/* "median 45000 ms, p90 120000 ms (37 leads)", or why there is none. */
static void print_waits(FILE *out, const cli_tally *t) {
    fputs("  time to assign  ", out);
    if (t->nwaits == 0) {
        fputs("- (no lead was assigned or claimed)\n", out);
        return;
    }
    qsort(t->waits, t->nwaits, sizeof *t->waits, cmp_i64);
    fprintf(out, "median %" PRId64 " ms, p90 %" PRId64 " ms (%zu lead%s)\n",
            nearest_rank(t->waits, t->nwaits, 50), nearest_rank(t->waits, t->nwaits, 90),
            t->nwaits, t->nwaits == 1 ? "" : "s");
}

/* ---- decisions by action ------------------------------------------------ */

static void action_cell(long row, int col, char *buf, const void *ud) {
    const lr_engine_stats *st = ud;
    if (row < 0) { text(buf, col == 0 ? "action" : "decisions"); return; }
    if (col == 0) text(buf, lr_action_names[row]);
    else u64(buf, st->decisions[row]);
}

/* ---- per agent ---------------------------------------------------------- */

typedef struct agent_ctx {
    const lr_config *cfg;
    const lr_engine *eng;
} agent_ctx;

static void agent_cell(long row, int col, char *buf, const void *ud) {
    static const char *const heads[] = { "agent", "status", "assigned", "open", "won", "closed" };
    const agent_ctx *ctx = ud;
    if (row < 0) { text(buf, heads[col]); return; }
    const char *id = ctx->cfg->agents[row].id;
    lr_agent_stats st;
    if (lr_engine_agent_stats(ctx->eng, id, &st) != LR_OK) memset(&st, 0, sizeof st);
    switch (col) {
    case 0: text(buf, id); break;
    case 1: text(buf, lr_agent_status_names[st.status]); break;
    case 2: u64(buf, st.assigned); break;
    case 3: u64(buf, st.open); break;
    case 4: u64(buf, st.won); break;
    default: u64(buf, st.closed); break;
    }
}

/* ---- per rule ----------------------------------------------------------- */

typedef struct rule_ctx {
    const lr_config *cfg;
    const cli_tally *t;
    long nrows;                      /* rules, plus "(none)" when it has any */
} rule_ctx;

/* what a rule's leads became: a shark tank's claims and its offers that
 * expired count as much as a round robin's assignments */
static const lr_action rule_actions[] = {
    LR_ACTION_ASSIGNED, LR_ACTION_OFFERED, LR_ACTION_CLAIMED, LR_ACTION_EXPIRED,
    LR_ACTION_QUEUED, LR_ACTION_HELD,
};
#define NRULE_ACTIONS (int)(sizeof rule_actions / sizeof rule_actions[0])

static void rule_cell(long row, int col, char *buf, const void *ud) {
    const rule_ctx *ctx = ud;
    const lr_config *cfg = ctx->cfg;
    if (row < 0) {
        if (col == 0) text(buf, "rule");
        else if (col == 1) text(buf, "pool");
        else if (col == 2) text(buf, "strategy");
        else if (col == 3) text(buf, "decisions");
        else text(buf, lr_action_names[rule_actions[col - 4]]);
        return;
    }
    const cli_rule_tally *rt = &ctx->t->rules[row];
    int none = (size_t)row == cfg->nrules;
    const lr_rule_conf *rc = none ? NULL : &cfg->rules[row];
    switch (col) {
    case 0: text(buf, none ? "(no rule)" : rc->name); break;
    case 1: text(buf, none ? "-" : cfg->pools[rc->pool].name); break;
    case 2: text(buf, none || !rc->strategy ? "-" : lr_strategy_name(rc->strategy)); break;
    case 3: u64(buf, rt->decisions); break;
    default: u64(buf, rt->by_action[rule_actions[col - 4]]); break;
    }
}

void cli_summary_print(FILE *out, const lr_config *cfg, const lr_engine *eng,
                       const cli_tally *t) {
    lr_engine_stats st;
    lr_engine_get_stats(eng, &st);
    uint64_t total = 0;
    for (int a = 0; a < LR_ACTION__COUNT; a++) total += st.decisions[a];

    fprintf(out, "\nsummary\n");
    fprintf(out, "  events applied  %" PRIu64 "\n", t->lines - t->rejected);
    fprintf(out, "  lines rejected  %" PRIu64 "\n", t->rejected);
    fprintf(out, "  leads in        %" PRIu64 "\n", st.leads);
    fprintf(out, "  decisions       %" PRIu64 "\n", total);
    fprintf(out, "  open now        %" PRIu64 "\n", st.open);
    fprintf(out, "  waiting now     %" PRIu64 "\n", st.waiting);
    fprintf(out, "  unrouted now    %" PRIu64 "\n", st.unrouted);
    print_waits(out, t);

    static const int action_num[] = { 0, 1 };
    fprintf(out, "\ndecisions by action\n");
    print_table(out, 2, action_num, LR_ACTION__COUNT, action_cell, &st);

    static const int agent_num[] = { 0, 0, 1, 1, 1, 1 };
    agent_ctx actx = { cfg, eng };
    fprintf(out, "\nleads per agent\n");
    print_table(out, 6, agent_num, (long)cfg->nagents, agent_cell, &actx);
    /* the agents' open and the total would not add up unexplained */
    uint64_t held = 0;
    for (size_t i = 0; i < cfg->nagents; i++) {
        lr_agent_stats as;
        if (lr_engine_agent_stats(eng, cfg->agents[i].id, &as) == LR_OK) held += as.open;
    }
    if (held > st.open)
        fprintf(out, "  (an agent's assigned and open count a lead offered to it alone while\n"
                     "   the offer runs; the totals above count the %" PRIu64 " offered so as waiting)\n",
                held - st.open);

    static const int rule_num[] = { 0, 0, 0, 1, 1, 1, 1, 1, 1, 1 };
    rule_ctx rctx = { cfg, t, (long)cfg->nrules };
    if (t->rules[cfg->nrules].decisions > 0) rctx.nrows++;
    fprintf(out, "\ndecisions per rule\n");
    print_table(out, 4 + NRULE_ACTIONS, rule_num, rctx.nrows, rule_cell, &rctx);
}
