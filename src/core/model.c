/* model.c -- string tables and lead helpers (see model.h). */
#include "leadrouter/model.h"
#include "leadrouter/error.h"

#include <stdlib.h>
#include <string.h>

const char *const lr_lead_field_names[LR_LF__COUNT] = {
#define LR_LF_NAME(e, s) s,
    LR_LEAD_FIELD_MAP(LR_LF_NAME)
#undef LR_LF_NAME
};
const char *const lr_agent_status_names[LR_AGENT__COUNT] = {
#define LR_NAME(e, s) s,
    LR_AGENT_STATUS_MAP(LR_NAME)
};
const char *const lr_progress_names[LR_PROGRESS__COUNT] = { LR_PROGRESS_MAP(LR_NAME) };
const char *const lr_action_names[LR_ACTION__COUNT] = { LR_ACTION_MAP(LR_NAME) };
const char *const lr_skip_names[LR_SKIP__COUNT] = { LR_SKIP_MAP(LR_NAME) };
const char *const lr_cap_names[LR_CAP__COUNT] = { LR_CAP_MAP(LR_NAME) };
#undef LR_NAME

int lr_name_lookup(const char *const *table, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(table[i], name) == 0) return i;
    return -1;
}

/* Length and first byte first, so a custom key usually costs no memcmp at
 * all: the parsers ask this for every key of every lead. */
int lr_lead_field_lookup(const char *name, size_t len) {
    static const unsigned char lens[LR_LF__COUNT] = {
#define LR_LF_LEN(e, s) sizeof(s) - 1,
        LR_LEAD_FIELD_MAP(LR_LF_LEN)
#undef LR_LF_LEN
    };
    for (int i = 0; i < LR_LF__COUNT; i++) {
        const char *f = lr_lead_field_names[i];
        if (lens[i] == len && f[0] == name[0] && memcmp(f, name, len) == 0) return i;
    }
    return -1;
}

static void value_free(lr_value *v) {
    if (v->type == LR_VSTR) {
        free((char *)v->u.s.ptr);
    } else if (v->type == LR_VLIST) {
        for (size_t i = 0; i < v->u.list.n; i++)
            value_free((lr_value *)&v->u.list.items[i]);
        free((lr_value *)v->u.list.items);
    }
    v->type = LR_VNULL;
}

/* Whether S lives in the lead's own allocation (packed after the struct). */
static bool is_packed(const lr_lead *lead, const char *s) {
    const char *base = (const char *)(lead + 1);
    return s >= base && s < base + lead->packed;
}

bool lr_lead_id_nameable(const char *id) {
    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p < 0x20 || *p == 0x7F) return false;
    return true;
}

void lr_lead_free(lr_lead *lead) {
    if (!lead) return;
    for (int i = 0; i < LR_LF__STRCOUNT; i++)
        if (!is_packed(lead, lead->str[i])) free(lead->str[i]);
    for (size_t i = 0; i < lead->nfields; i++) {
        free(lead->fields[i].name);
        value_free(&lead->fields[i].value);
    }
    free(lead->fields);
    free(lead);
}

lr_lead *lr_lead_id_only(const lr_lead *lead) {
    const char *id = lr_lead_id(lead);
    size_t n = id ? strlen(id) + 1 : 0;
    lr_lead *c = calloc(1, sizeof *c + n);
    if (!c) return NULL;
    if (id) {
        memcpy(c + 1, id, n);
        c->str[LR_LF_ID] = (char *)(c + 1);
    }
    c->packed = n;
    c->score = lead->score;
    c->has_score = lead->has_score;
    c->value = lead->value;
    c->has_value = lead->has_value;
    c->received_at = lead->received_at;
    return c;
}

int lr_lead_set_str(lr_lead *lead, lr_lead_field f, const char *value) {
    char *s = NULL;
    if (value && !(s = strdup(value))) return LR_ENOMEM;
    if (!is_packed(lead, lead->str[f])) free(lead->str[f]);
    lead->str[f] = s;
    return LR_OK;
}

lr_value lr_lead_get(const lr_lead *lead, lr_lead_field f) {
    lr_value v = { .type = LR_VNULL };
    if (f < LR_LF__STRCOUNT) {
        const char *s = lead->str[f];
        if (s) { v.type = LR_VSTR; v.u.s.ptr = s; v.u.s.len = strlen(s); }
    } else if (f == LR_LF_SCORE) {
        if (lead->has_score) { v.type = LR_VNUM; v.u.n = lead->score; }
    } else if (f == LR_LF_VALUE) {
        if (lead->has_value) { v.type = LR_VNUM; v.u.n = lead->value; }
    } else if (f == LR_LF_RECEIVED_AT) {
        /* seconds since the epoch, so rules can compare against numbers */
        if (lead->received_at != LR_TIME_NONE) {
            v.type = LR_VNUM; v.u.n = (double)lead->received_at / 1000.0;
        }
    }
    return v;
}

lr_value lr_lead_get_custom(const lr_lead *lead, const char *name, size_t len) {
    for (size_t i = 0; i < lead->nfields; i++) {
        const char *n = lead->fields[i].name;
        if (strncmp(n, name, len) == 0 && n[len] == '\0') return lead->fields[i].value;
    }
    lr_value v = { .type = LR_VNULL };
    return v;
}
