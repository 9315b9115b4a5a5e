/* fuzz_event_plain.c -- libFuzzer target: the plain-lead path of the event
 * parser against the general one.
 *
 * Whatever the input, the plain path (yajl, event_plain.c) may decline it,
 * but when it accepts it the general parser (jansson, event.c) must accept
 * it too and build the same event: same type and time, same named strings
 * byte for byte, same numbers bit for bit, same custom fields in the same
 * order. Any difference aborts. */
#include "leadrouter/error.h"
#include "core/event_impl.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool same_num(double a, double b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

static bool same_str(const char *a, const char *b) {
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_value(const lr_value *a, const lr_value *b) {
    if (a->type != b->type) return false;
    switch (a->type) {
    case LR_VNULL: return true;
    case LR_VBOOL: return a->u.b == b->u.b;
    case LR_VNUM: return same_num(a->u.n, b->u.n);
    case LR_VSTR: return a->u.s.len == b->u.s.len && memcmp(a->u.s.ptr, b->u.s.ptr, a->u.s.len) == 0;
    case LR_VLIST:
        if (a->u.list.n != b->u.list.n) return false;
        for (size_t i = 0; i < a->u.list.n; i++)
            if (!same_value(&a->u.list.items[i], &b->u.list.items[i])) return false;
        return true;
    }
    return false;
}

static bool same_lead(const lr_lead *a, const lr_lead *b) {
    for (int f = 0; f < LR_LF__STRCOUNT; f++)
        if (!same_str(a->str[f], b->str[f])) return false;
    if (a->has_score != b->has_score || (a->has_score && !same_num(a->score, b->score))) return false;
    if (a->has_value != b->has_value || (a->has_value && !same_num(a->value, b->value))) return false;
    if (a->received_at != b->received_at || a->nfields != b->nfields) return false;
    for (size_t i = 0; i < a->nfields; i++)
        if (strcmp(a->fields[i].name, b->fields[i].name) != 0 ||
            !same_value(&a->fields[i].value, &b->fields[i].value))
            return false;
    return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lr_event fast, full;
    char err[128];
    if (!lr_event_parse_plain((const char *)data, size, &fast)) {
        if (fast.lead || fast.type != 0) abort();      /* declined: zeroed */
        return 0;
    }
    if (lr_event_parse_general((const char *)data, size, &full, err, sizeof err) != LR_OK) abort();
    if (fast.type != LR_EV_LEAD || full.type != LR_EV_LEAD || fast.at != full.at ||
        !fast.lead || !full.lead || !same_lead(fast.lead, full.lead) ||
        fast.lead_id || fast.agent_id)
        abort();
    lr_event_release(&fast);
    lr_event_release(&full);
    return 0;
}
