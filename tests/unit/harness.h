/* harness.h -- runs the real engine on a YAML config and JSONL events, as
 * `leadrouter route` does, and gives the decisions back for assertions:
 * either as JSON lines or as a compact trace "assigned:alice queued ...".
 */
#ifndef LEADROUTER_TEST_HARNESS_H
#define LEADROUTER_TEST_HARNESS_H

#include "leadrouter/config.h"
#include "leadrouter/engine.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct run_out {
    lr_buf json;                    /* one decision per line */
    lr_buf trace;                   /* action[:agent|:a,b] separated by spaces */
} run_out;

static int collect_(const lr_decision *d, void *ud) {
    run_out *o = ud;
    lr_decision_write_json(d, &o->json);
    lr_buf_putc(&o->json, '\n');
    if (o->trace.len) lr_buf_putc(&o->trace, ' ');
    lr_buf_puts(&o->trace, lr_action_names[d->action]);
    if (d->nagents) {
        lr_buf_putc(&o->trace, ':');
        for (size_t i = 0; i < d->nagents; i++) {
            if (i) lr_buf_putc(&o->trace, ',');
            lr_buf_puts(&o->trace, d->agents[i]);
        }
    } else if (d->agent) {
        lr_buf_putc(&o->trace, ':');
        lr_buf_puts(&o->trace, d->agent);
    }
    return 0;
}

/* The engine's legacy flags for run_engine (lr_engine_set_legacy): 0, as
 * live; a test that replays an older journal sets it, then back to 0. */
static unsigned harness_legacy;

/* The first harness_replay_lines event lines are applied as a start-up
 * replays a journal: their decisions go nowhere (not collected), and with
 * harness_replaying the engine is told so (lr_engine_set_replaying). */
static int harness_replay_lines;
static bool harness_replaying;

/* Applies EVENTS (JSONL) to an engine on YAML; returns false (with a
 * message on stdout) when the config or an event does not parse. */
static bool run_engine(const char *yaml, const char *events, uint64_t seed, bool explain,
                       run_out *out) {
    lr_buf_init(&out->json);
    lr_buf_init(&out->trace);
    lr_config *cfg = NULL;
    lr_config_errors errs = { 0 };
    if (lr_config_load_string(yaml, strlen(yaml), "t.yaml", &cfg, &errs) != LR_OK) {
        for (size_t i = 0; i < errs.n; i++) printf("  config: %s\n", errs.msgs[i]);
        lr_config_errors_release(&errs);
        return false;
    }
    lr_config_errors_release(&errs);
    lr_engine_opts opts = { .seed = seed, .start = 0, .explain = explain };
    lr_engine *eng = NULL;
    if (lr_engine_create(cfg, &opts, &eng) != LR_OK) { lr_config_free(cfg); return false; }
    lr_engine_set_legacy(eng, harness_legacy);
    bool ok = true;
    const char *p = events;
    int lineno = 0;
    while (*p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        lineno++;
        if (len > 0) {
            lr_event ev;
            char err[256];
            if (lr_event_parse(p, len, &ev, err, sizeof err) != LR_OK) {
                printf("  event line %d: %s\n", lineno, err);
                ok = false;
            } else {
                bool replay = lineno <= harness_replay_lines;
                lr_engine_set_replaying(eng, replay && harness_replaying);
                if (lr_engine_apply(eng, &ev, replay ? NULL : collect_, out) != LR_OK) ok = false;
                lr_event_release(&ev);
            }
        }
        p += len + (nl ? 1 : 0);
    }
    lr_engine_destroy(eng);
    lr_config_free(cfg);
    return ok;
}

static void run_release(run_out *o) {
    lr_buf_release(&o->json);
    lr_buf_release(&o->trace);
}

/* Runs and returns the trace (static buffer, valid until the next call). */
__attribute__((unused)) static const char *trace_of(const char *yaml, const char *events) {
    static char buf[2 << 20];
    run_out o;
    bool ok = run_engine(yaml, events, 1, true, &o);
    snprintf(buf, sizeof buf, "%s%s", ok ? "" : "ERROR ", o.trace.data ? o.trace.data : "");
    run_release(&o);
    return buf;
}

/* N leads "L1".."LN", one per line, with EXTRA json members ("" or
 * ",\"state\":\"CA\""). Returns a static buffer. */
__attribute__((unused)) static const char *leads_(int n, const char *extra) {
    static char buf[1 << 20];
    size_t off = 0;
    for (int i = 1; i <= n && off < sizeof buf - 256; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "{\"id\":\"L%d\"%s}\n", i, extra);
    buf[off] = '\0';
    return buf;
}

#endif
