/* fuzz_expr.c -- libFuzzer target for the rule expression compiler and
 * evaluator: compiles the input; on success evaluates it against a fixed
 * lead at a fixed time (2026-11-01T07:30:00Z, inside Chicago's repeated
 * hour, twice: the answer must not change), at a second time in another
 * offset span and again at the first (the zone caches move, the answer
 * must not), and without a time; on a syntax error checks that the column
 * lies inside the input (or just past it) and that a message was written.
 * Any violation aborts. */
#include "leadrouter/error.h"
#include "leadrouter/expr.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const lr_value tags[] = {
        { .type = LR_VSTR, .u.s = { "vip", 3 } },
        { .type = LR_VNUM, .u.n = 7 },
        { .type = LR_VNULL },
        { .type = LR_VSTR, .u.s = { "Solar-X", 7 } },
    };
    lr_field fields[] = {
        { .name = (char *)"utm_source", .value = { .type = LR_VSTR, .u.s = { "FB-Ads", 6 } } },
        { .name = (char *)"tags", .value = { .type = LR_VLIST, .u.list = { tags, 4 } } },
        { .name = (char *)"age", .value = { .type = LR_VNUM, .u.n = 3.5 } },
        { .name = (char *)"vip", .value = { .type = LR_VBOOL, .u.b = true } },
    };
    lr_lead lead = { .score = 72, .has_score = true, .received_at = 1700000000000,
                     .fields = fields, .nfields = 4 };
    lead.str[LR_LF_ID] = (char *)"L1";
    lead.str[LR_LF_SOURCE] = (char *)"facebook";
    lead.str[LR_LF_EMAIL] = (char *)"Jane@Mail.Acme.COM";
    lead.str[LR_LF_STATE] = (char *)"CA";
    lead.str[LR_LF_STAGE] = (char *)"";

    lr_expr *e = NULL;
    int col = 0;
    char msg[128];
    int rc = lr_expr_compile((const char *)data, size, &e, &col, msg, sizeof msg);
    if (rc == LR_OK) {
        const lr_time now = 1793518200000LL;        /* 2026-11-01T07:30:00Z */
        const lr_time other = 1772958600000LL;      /* 2026-03-08T08:30:00Z */
        bool a = lr_expr_eval_at(e, &lead, now);
        bool b = lr_expr_eval_at(e, &lead, now);
        (void)lr_expr_eval_at(e, &lead, other);
        bool c = lr_expr_eval_at(e, &lead, now);
        bool d = lr_expr_eval(e, &lead);
        bool d2 = lr_expr_eval_at(e, &lead, LR_TIME_NONE);
        if (a != b || a != c || d != d2) abort();
        lr_expr_free(e);
    } else {
        if (rc != LR_ESYNTAX || e != NULL) abort();
        if (col < 1 || (size_t)col > size + 1) abort();
        if (msg[0] == '\0') abort();
    }
    return 0;
}
