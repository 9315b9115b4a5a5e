/* fuzz_config.c -- libFuzzer target for the config loader: loads the input
 * as a config string and frees everything. A loaded config must satisfy
 * the invariants config.h promises (indexes in range, attribute sets
 * sorted and unique, ids findable); a rejected one must come with at least
 * one "f.yaml:LINE:COL: message" and no config. Any violation aborts. */
#include "leadrouter/config.h"
#include "leadrouter/error.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_config(const lr_config *c) {
    if (!c || c->nagents == 0 || c->nrules == 0) abort();
    if (c->explain_limit < 1 || c->explain_limit > 100000) abort();
    for (size_t i = 0; i < c->nagents; i++) {
        const lr_agent_conf *a = &c->agents[i];
        if (!a->id || lr_config_agent_index(c, a->id) != (int)i) abort();
        if (a->weight < 1 || a->capacity < -1) abort();
        for (size_t k = 0; k < a->nattrs; k++) {
            const lr_attr *at = &a->attrs[k];
            if (k && strcmp(a->attrs[k - 1].name, at->name) >= 0) abort();
            if (lr_agent_attr(a, at->name) != at) abort();
            for (size_t v = 0; v < at->nvalues; v++) {
                if (v && strcmp(at->values[v - 1], at->values[v]) >= 0) abort();
                if (!lr_attr_contains(at, at->values[v], strlen(at->values[v]))) abort();
            }
        }
    }
    for (size_t i = 0; i < c->npools; i++) {
        if (c->pools[i].nagents == 0 || c->pools[i].order >= LR_QORDER__COUNT) abort();
        for (size_t k = 0; k < c->pools[i].nagents; k++)
            if (c->pools[i].agents[k] >= c->nagents) abort();
    }
    for (size_t i = 0; i < c->naccounts; i++)
        if (c->accounts[i].owner >= c->nagents) abort();
    for (size_t i = 0; i < c->nrules; i++) {
        const lr_rule_conf *r = &c->rules[i];
        if (!r->name || !r->strategy || r->pool >= c->npools) abort();
        if ((r->when == NULL) != (r->when_src == NULL)) abort();
        if (r->fallback == LR_FALLBACK_RULE && (r->fallback_rule >= c->nrules ||
                                                r->fallback_rule == i))
            abort();
        if (r->min_sample < 1 || r->window_ms < 0) abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lr_config *cfg = NULL;
    lr_config_errors errs;
    int rc = lr_config_load_string((const char *)data, size, "f.yaml", &cfg, &errs);
    if (rc == LR_OK) {
        if (errs.n != 0) abort();
        check_config(cfg);
    } else {
        if (rc != LR_ECONFIG || cfg != NULL || errs.n == 0) abort();
        for (size_t i = 0; i < errs.n; i++) {
            const char *m = errs.msgs[i];
            if (strncmp(m, "f.yaml:", 7) != 0) abort();
            char *end;
            long line = strtol(m + 7, &end, 10);
            if (line < 1 || *end != ':') abort();
            long col = strtol(end + 1, &end, 10);
            if (col < 1 || end[0] != ':' || end[1] != ' ' || end[2] == '\0') abort();
        }
    }
    lr_config_errors_release(&errs);
    lr_config_free(cfg);
    return 0;
}
