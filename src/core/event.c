/* event.c -- one JSON text (a JSONL line) to an lr_event, with jansson.
 *
 * lr_event_parse() offers the line to the plain-lead path first
 * (event_plain.c, event_impl.h), which reads most lead lines without a
 * jansson tree; what it declines comes here. Shapes are in event.h. What
 * this parser decides, beyond that (the plain path decides the same):
 *
 *   - The text is decoded by json_loadb with JSON_REJECT_DUPLICATES: a key
 *     given twice in any object is an error ("duplicate key 'x'"), never a
 *     silent "last one wins". jansson also rejects invalid UTF-8 and \u0000,
 *     so every string that reaches an event is NUL-free UTF-8.
 *   - null means absent, for every optional member (and for "type": a
 *     {"type":null,...} line is a lead).
 *   - A lead is the top-level object when "type" is absent, or the "lead"
 *     member of a {"type":"lead"} event. Known keys are the lead fields of
 *     model.h (id, source, product, email, phone, name, company, account,
 *     country, state, postal_code, stage, score, value, received_at) plus
 *     "fields" (an object of custom fields). Any other key of a lead is kept
 *     as a custom field too, because web forms post arbitrary flat keys: the
 *     top-level {"id":"L1","utm":"x"} and {"id":"L1","fields":{"utm":"x"}}
 *     give the same lead, and giving a name both ways is a duplicate key.
 *     For a top-level lead, "type" and "at" belong to the event; inside a
 *     "lead" member they are ordinary custom fields.
 *   - Custom field values are strings, numbers, booleans, null (kept as an
 *     LR_VNULL field) or lists of those scalars, in the order given.
 *   - Limits: ids (lead id, "lead", "agent") non-empty and at most 256
 *     bytes; any other string at most 64 KiB; at most 256 custom fields; a
 *     list at most 1000 items.
 *   - The other event types, and a lead wrapped in {"type":"lead"}, take
 *     only their own members (MEMBERS below) plus "type" and "at": any
 *     other key is an error naming it, so that a misspelt "valeu", or a
 *     lead's "source" put beside "lead" instead of in it, is not dropped
 *     in silence. The journal's texts were
 *     accepted when they came, by a build that may have ignored unknown
 *     keys: lr_event_parse_journal() still ignores them. "at" is optional
 *     everywhere (a tick without it is a no-op for the engine).
 *   - ev->at comes only from "at"; lead->received_at only from
 *     "received_at" (LR_TIME_NONE when absent). Choosing between them and
 *     the clock is the engine's business.
 *
 * Error messages name the member by its path ("'lead.fields.x' must be ..."),
 * quote at most 64 bytes of any value, and are always valid UTF-8 without
 * control characters, so the HTTP layer can put them into JSON as they are.
 *
 * Speed: the object is walked once with jansson's iterator (no per-key
 * json_object_get for leads), lead keys are matched by length then bytes,
 * and the custom field array is allocated at most twice. Strings are copied
 * once, from jansson's value into the lead.
 */
#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "core/event_impl.h"
#include "core/json_arena.h"
#include "core/json_load.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ID_MAX LR_EVENT_ID_MAX
#define STR_MAX LR_EVENT_STR_MAX
#define FIELDS_MAX LR_EVENT_FIELDS_MAX
#define LIST_MAX 1000
#define QUOTE_MAX 64                /* bytes of a value or key quoted in a message */

const char *const lr_event_type_names[LR_EV__COUNT] = {
#define LR_EV_NAME(e, s) s,
    LR_EVENT_TYPE_MAP(LR_EV_NAME)
#undef LR_EV_NAME
};

/* Where error messages go. */
typedef struct errsink {
    char *buf;
    size_t len;
} errsink;

/* Length of the longest prefix of S (at most N bytes) that ends on a UTF-8
 * character boundary, assuming S is valid UTF-8 up to N. */
static size_t utf8_cut(const char *s, size_t n) {
    size_t i = n;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
    if (i == 0) return 0;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return n - (i - 1) >= need ? n : i - 1;
}

/* Makes the message in BUF printable: bytes that are not part of a valid
 * UTF-8 sequence (including one cut short at the end by snprintf
 * truncation), and control characters, become '?'. */
static void sanitize(char *buf) {
    unsigned char *p = (unsigned char *)buf;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
                   (c & 0xF8) == 0xF0 ? 4 : 0;
        bool ok = n > 0 && !(n == 2 && c < 0xC2) && !(n == 4 && c > 0xF4);
        for (size_t k = 1; ok && k < n; k++) ok = (p[k] & 0xC0) == 0x80;
        if (ok && n == 3) {
            unsigned c1 = p[1];
            ok = !(c == 0xE0 && c1 < 0xA0) && !(c == 0xED && c1 >= 0xA0);
        } else if (ok && n == 4) {
            unsigned c1 = p[1];
            ok = !(c == 0xF0 && c1 < 0x90) && !(c == 0xF4 && c1 >= 0x90);
        }
        if (!ok) { *p++ = '?'; continue; }
        if (n == 1 && (c < 0x20 || c == 0x7F)) *p = '?';
        p += n;
    }
}

/* Formats a message into E and returns RC. */
__attribute__((format(printf, 3, 4)))
static int fail(errsink *e, int rc, const char *fmt, ...) {
    if (e->len == 0) return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->buf, e->len, fmt, ap);
    va_end(ap);
    sanitize(e->buf);
    return rc;
}

/* Copies at most QUOTE_MAX bytes of S into Q (>= QUOTE_MAX + 4 bytes),
 * cut on a character boundary and marked with "..." when cut. */
static const char *quote(char *q, const char *s, size_t n) {
    if (n <= QUOTE_MAX) {
        memcpy(q, s, n);
        q[n] = '\0';
    } else {
        size_t k = utf8_cut(s, QUOTE_MAX);
        memcpy(q, s, k);
        memcpy(q + k, "...", 4);
    }
    return q;
}

static char *dupn(const char *s, size_t n) {
    char *p = malloc(n + 1);
    if (p) { memcpy(p, s, n); p[n] = '\0'; }
    return p;
}

/* ---- leads ---------------------------------------------------------------- */

/* Checks a string member V named PFX+NAME against a byte limit and copies
 * it to *OUT. ID says it is an identifier (non-empty, at most ID_MAX). */
static int take_string(json_t *v, const char *pfx, const char *name, bool id,
                       char **pack, char **out, errsink *e) {
    if (!json_is_string(v)) return fail(e, LR_EINVAL, "'%s%s' must be a string", pfx, name);
    size_t n = json_string_length(v);
    if (id && n == 0) return fail(e, LR_EINVAL, "'%s%s' must not be empty", pfx, name);
    if (id && n > ID_MAX)
        return fail(e, LR_EINVAL, "'%s%s' must be at most %d bytes", pfx, name, ID_MAX);
    if (n > STR_MAX)
        return fail(e, LR_EINVAL, "'%s%s' is longer than %d bytes", pfx, name, STR_MAX);
    char *s;
    if (pack) {                     /* into the lead's own allocation */
        s = *pack;
        memcpy(s, json_string_value(v), n);
        s[n] = '\0';
        *pack += n + 1;
    } else if (!(s = dupn(json_string_value(v), n))) {
        return LR_ENOMEM;
    }
    *out = s;
    return LR_OK;
}

/* Parses the RFC 3339 string V (member PFX+NAME) into *OUT. */
static int take_time(json_t *v, const char *pfx, const char *name, lr_time *out,
                     errsink *e) {
    if (!json_is_string(v)) return fail(e, LR_EINVAL, "'%s%s' must be an RFC 3339 time string", pfx, name);
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (lr_time_parse(s, n, out) != LR_OK) {
        char q[QUOTE_MAX + 4];
        return fail(e, LR_EINVAL, "'%s%s' is not an RFC 3339 time: '%s'", pfx, name, quote(q, s, n));
    }
    return LR_OK;
}

static int take_number(json_t *v, const char *pfx, const char *name, double *out,
                       errsink *e) {
    if (!json_is_number(v)) return fail(e, LR_EINVAL, "'%s%s' must be a number", pfx, name);
    *out = json_number_value(v);
    return LR_OK;
}

/* Converts the scalar V to *OUT (strings copied, NUL-terminated). Returns
 * LR_OK, LR_EINVAL when V is not a scalar (nothing written), LR_ENOMEM. */
static int scalar_value(json_t *v, lr_value *out) {
    switch (json_typeof(v)) {
    case JSON_STRING: {
        char *s = dupn(json_string_value(v), json_string_length(v));
        if (!s) return LR_ENOMEM;
        out->type = LR_VSTR;
        out->u.s.ptr = s;
        out->u.s.len = json_string_length(v);
        return LR_OK;
    }
    case JSON_INTEGER:
    case JSON_REAL: out->type = LR_VNUM; out->u.n = json_number_value(v); return LR_OK;
    case JSON_TRUE: out->type = LR_VBOOL; out->u.b = true; return LR_OK;
    case JSON_FALSE: out->type = LR_VBOOL; out->u.b = false; return LR_OK;
    case JSON_NULL: out->type = LR_VNULL; return LR_OK;
    default: return LR_EINVAL;
    }
}

static bool too_long(json_t *v) {
    return json_is_string(v) && json_string_length(v) > STR_MAX;
}

/* Converts custom field value V, named PFX+NAME in messages, to *OUT, which
 * owns what it points to afterwards (freed as lr_lead_free does). */
static int custom_value(json_t *v, const char *pfx, const char *name, lr_value *out,
                        errsink *e) {
    char q[QUOTE_MAX + 4];
    if (too_long(v))
        return fail(e, LR_EINVAL, "'%s%s' is longer than %d bytes", pfx, quote(q, name, strlen(name)), STR_MAX);
    if (!json_is_array(v)) {
        int rc = scalar_value(v, out);
        if (rc == LR_EINVAL) goto shape;
        return rc;
    }
    size_t n = json_array_size(v);
    if (n > LIST_MAX)
        return fail(e, LR_EINVAL, "'%s%s' has more than %d items", pfx, quote(q, name, strlen(name)), LIST_MAX);
    lr_value *items = n ? calloc(n, sizeof *items) : NULL;
    if (n && !items) return LR_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        json_t *it = json_array_get(v, i);
        int rc = too_long(it) ? LR_ERANGE : scalar_value(it, &items[i]);
        if (rc != LR_OK) {
            for (size_t k = 0; k < i; k++)
                if (items[k].type == LR_VSTR) free((char *)items[k].u.s.ptr);
            free(items);
            if (rc == LR_ERANGE)
                return fail(e, LR_EINVAL, "'%s%s' has an item longer than %d bytes", pfx, quote(q, name, strlen(name)), STR_MAX);
            if (rc == LR_EINVAL) goto shape;
            return rc;
        }
    }
    out->type = LR_VLIST;
    out->u.list.items = items;
    out->u.list.n = n;
    return LR_OK;
shape:
    return fail(e, LR_EINVAL, "'%s%s' must be a string, number, boolean, null or a list of those",
                pfx, quote(q, name, strlen(name)));
}

/* Frees what custom value V owns (as lr_lead_free does). */
static void value_release(lr_value *v) {
    if (v->type == LR_VSTR) {
        free((char *)v->u.s.ptr);
    } else if (v->type == LR_VLIST) {
        for (size_t i = 0; i < v->u.list.n; i++)
            if (v->u.list.items[i].type == LR_VSTR) free((char *)v->u.list.items[i].u.s.ptr);
        free((lr_value *)v->u.list.items);
    }
    v->type = LR_VNULL;
}

/* Appends custom field NAME (N bytes) = V to LEAD. *CAP is the capacity of
 * lead->fields; when full it grows by HINT (how many more may come) at
 * once, so a lead costs at most two allocations for its fields. */
static int add_custom(lr_lead *lead, size_t *cap, size_t hint, const char *name,
                      size_t n, json_t *v, const char *pfx, errsink *e) {
    if (lead->nfields == FIELDS_MAX)
        return fail(e, LR_EINVAL, "a lead has at most %d custom fields", FIELDS_MAX);
    if (lead->nfields == *cap) {
        size_t ncap = lead->nfields + (hint ? hint : 1);
        if (ncap > FIELDS_MAX) ncap = FIELDS_MAX;
        lr_field *nf = realloc(lead->fields, ncap * sizeof *nf);
        if (!nf) return LR_ENOMEM;
        lead->fields = nf;
        *cap = ncap;
    }
    lr_field *f = &lead->fields[lead->nfields];
    f->value.type = LR_VNULL;
    int rc = custom_value(v, pfx, name, &f->value, e);
    if (rc != LR_OK) return rc;
    f->name = dupn(name, n);
    if (!f->name) {
        value_release(&f->value);
        return LR_ENOMEM;
    }
    lead->nfields++;
    return LR_OK;
}

/* Builds a lead from the object OBJ. PFX is "" for a top-level lead (whose
 * "type" is skipped and whose "at" goes to *AT) or "lead." for the member
 * of a lead event. Returns LR_OK with *OUT owned by the caller, or an error
 * with nothing allocated. */
static int parse_lead(json_t *obj, const char *pfx, lr_time *at, lr_lead **out,
                      errsink *e) {
    bool top = *pfx == '\0';
    /* One allocation for the lead and its named strings: measure them. */
    size_t packed = 0;
    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        json_t *v = json_object_iter_value(it);
        int f = lr_lead_field_lookup(json_object_iter_key(it), json_object_iter_key_len(it));
        if (f >= 0 && f < LR_LF__STRCOUNT && json_is_string(v) && json_string_length(v) <= STR_MAX)
            packed += json_string_length(v) + 1;
    }
    lr_lead *lead = calloc(1, sizeof *lead + packed);
    if (!lead) return LR_ENOMEM;
    lead->packed = packed;
    char *pack = (char *)(lead + 1);
    lead->received_at = LR_TIME_NONE;
    json_t *fields = NULL;
    size_t cap = 0, ntop = 0;
    int rc = LR_OK;
    char fpfx[16];

    for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        size_t kn = json_object_iter_key_len(it);
        json_t *v = json_object_iter_value(it);
        int f = lr_lead_field_lookup(k, kn);
        if (f >= 0) {
            if (json_is_null(v)) continue;
            if (f < LR_LF__STRCOUNT)
                rc = take_string(v, pfx, k, f == LR_LF_ID, &pack, &lead->str[f], e);
            else if (f == LR_LF_SCORE)
                lead->has_score = (rc = take_number(v, pfx, k, &lead->score, e)) == LR_OK;
            else if (f == LR_LF_VALUE)
                lead->has_value = (rc = take_number(v, pfx, k, &lead->value, e)) == LR_OK;
            else
                rc = take_time(v, pfx, k, &lead->received_at, e);
        } else if (kn == 6 && memcmp(k, "fields", 6) == 0) {
            if (json_is_object(v)) fields = v;
            else if (!json_is_null(v)) rc = fail(e, LR_EINVAL, "'%sfields' must be an object", pfx);
        } else if (top && kn == 4 && memcmp(k, "type", 4) == 0) {
            continue;
        } else if (top && kn == 2 && memcmp(k, "at", 2) == 0) {
            if (!json_is_null(v)) rc = take_time(v, pfx, k, at, e);
        } else {
            rc = add_custom(lead, &cap, json_object_size(obj), k, kn, v, pfx, e);
            ntop++;
        }
        if (rc != LR_OK) goto fail;
    }
    if (!lead->str[LR_LF_ID]) {
        rc = fail(e, LR_EINVAL, "'%sid' is required", pfx);
        goto fail;
    }
    if (fields && json_object_size(fields) > 0) {
        /* a name given both as a top-level key and in "fields" */
        for (size_t i = 0; i < ntop; i++) {
            const char *n = lead->fields[i].name;
            if (json_object_get(fields, n)) {
                char q[QUOTE_MAX + 4];
                rc = fail(e, LR_EINVAL, "duplicate key '%s' (top level and in 'fields')",
                          quote(q, n, strlen(n)));
                goto fail;
            }
        }
        snprintf(fpfx, sizeof fpfx, "%sfields.", pfx);
        size_t hint = json_object_size(fields);
        for (void *it = json_object_iter(fields); it; it = json_object_iter_next(fields, it)) {
            rc = add_custom(lead, &cap, hint, json_object_iter_key(it),
                            json_object_iter_key_len(it), json_object_iter_value(it), fpfx, e);
            if (rc != LR_OK) goto fail;
        }
    }
    *out = lead;
    return LR_OK;
fail:
    lr_lead_free(lead);
    return rc;
}

/* ---- other events ---------------------------------------------------------- */

/* Reads the identifier member KEY of OBJ into *OUT (NULL when absent and
 * not REQUIRED). TNAME names the event type in the message. */
static int take_id(json_t *obj, const char *key, bool required, const char *tname,
                   char **out, errsink *e) {
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        if (required) return fail(e, LR_EINVAL, "'%s' is required for a%s %s event", key,
                                  strchr("aeiou", tname[0]) ? "n" : "", tname);
        return LR_OK;
    }
    return take_string(v, "", key, true, NULL, out, e);
}

/* Reads "status" of OBJ as an index of TABLE (N names) into *OUT. */
static int take_status(json_t *obj, const char *const *table, int n, const char *tname,
                       int *out, errsink *e) {
    json_t *v = json_object_get(obj, "status");
    if (!v || json_is_null(v))
        return fail(e, LR_EINVAL, "'status' is required for a%s %s event",
                    strchr("aeiou", tname[0]) ? "n" : "", tname);
    int i = json_is_string(v) ? lr_name_lookup(table, n, json_string_value(v)) : -1;
    if (i < 0) {
        char list[128] = "";
        for (int k = 0; k < n; k++) {
            if (k) strcat(list, ", ");
            strcat(list, table[k]);
        }
        return fail(e, LR_EINVAL, "'status' must be one of %s", list);
    }
    *out = i;
    return LR_OK;
}

/* The members of each event type (a lead: its wrapper), besides "type" and "at", in
 * the order a message lists them. */
static const char *const MEMBERS[LR_EV__COUNT][4] = {
    [LR_EV_LEAD] = { "lead" },          /* the {"type":"lead"} wrapper */
    [LR_EV_AGENT] = { "agent", "status" },
    [LR_EV_PROGRESS] = { "lead", "status", "value" },
    [LR_EV_CLAIM] = { "agent", "lead" },
    [LR_EV_ACCEPT] = { "agent", "lead" },
    [LR_EV_DECLINE] = { "agent", "lead" },
    [LR_EV_ASSIGN] = { "lead", "agent" },
    [LR_EV_RELEASE] = { "lead", "agent" },
    [LR_EV_TICK] = { "catch_up" },
};

/* Refuses a member of OBJ that an event of type T does not have. */
static int check_members(json_t *obj, lr_event_type t, errsink *e) {
    const char *const *m = MEMBERS[t];
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        (void)v;
        if (strcmp(k, "type") == 0 || strcmp(k, "at") == 0) continue;
        int i = 0;
        while (i < 4 && m[i] && strcmp(k, m[i]) != 0) i++;
        if (i < 4 && m[i]) continue;
        char q[QUOTE_MAX + 4], list[64] = "";
        for (i = 0; i < 4 && m[i]; i++) {
            strcat(list, m[i]);
            strcat(list, ", ");
        }
        strcat(list, "at");
        const char *tn = lr_event_type_names[t];
        return fail(e, LR_EINVAL, "unknown member '%s' in a%s %s event (its members: %s%s)",
                    quote(q, k, strlen(k)), strchr("aeiou", tn[0]) ? "n" : "", tn, list,
                    t == LR_EV_LEAD ? "; the lead's own fields go inside 'lead'" : "");
    }
    return LR_OK;
}

/* Fills EV (type already set) from OBJ for every type but lead; STRICT:
 * a member the type does not have is an error. */
static int parse_other(json_t *obj, lr_event *ev, bool strict, errsink *e) {
    const char *tn = lr_event_type_names[ev->type];
    int rc = LR_OK, st;
    if (strict && (rc = check_members(obj, ev->type, e)) != LR_OK) return rc;
    switch (ev->type) {
    case LR_EV_AGENT:
        if ((rc = take_id(obj, "agent", true, tn, &ev->agent_id, e)) != LR_OK) break;
        if ((rc = take_status(obj, lr_agent_status_names, LR_AGENT__COUNT, tn, &st, e)) != LR_OK) break;
        ev->status = (lr_agent_status)st;
        break;
    case LR_EV_PROGRESS: {
        if ((rc = take_id(obj, "lead", true, tn, &ev->lead_id, e)) != LR_OK) break;
        if ((rc = take_status(obj, lr_progress_names, LR_PROGRESS__COUNT, tn, &st, e)) != LR_OK) break;
        ev->progress = (lr_progress)st;
        json_t *v = json_object_get(obj, "value");
        if (v && !json_is_null(v)) {
            rc = take_number(v, "", "value", &ev->value, e);
            ev->has_value = rc == LR_OK;
        }
        break;
    }
    case LR_EV_CLAIM:
        if ((rc = take_id(obj, "agent", true, tn, &ev->agent_id, e)) != LR_OK) break;
        rc = take_id(obj, "lead", false, tn, &ev->lead_id, e);
        break;
    case LR_EV_ACCEPT:              /* without "agent": whoever it is offered to alone */
        if ((rc = take_id(obj, "lead", true, tn, &ev->lead_id, e)) != LR_OK) break;
        rc = take_id(obj, "agent", false, tn, &ev->agent_id, e);
        break;
    case LR_EV_DECLINE:
    case LR_EV_ASSIGN:
        if ((rc = take_id(obj, "lead", true, tn, &ev->lead_id, e)) != LR_OK) break;
        rc = take_id(obj, "agent", true, tn, &ev->agent_id, e);
        break;
    case LR_EV_RELEASE:
        if ((rc = take_id(obj, "lead", true, tn, &ev->lead_id, e)) != LR_OK) break;
        rc = take_id(obj, "agent", false, tn, &ev->agent_id, e);
        break;
    case LR_EV_TICK: {
        json_t *v = json_object_get(obj, "catch_up");
        if (v && !json_is_null(v)) {
            if (!json_is_boolean(v)) rc = fail(e, LR_EINVAL, "'catch_up' must be true or false");
            else ev->catch_up = json_is_true(v);
        }
        break;
    }
    case LR_EV_LEAD:
    case LR_EV__COUNT:
        break;
    }
    if (rc != LR_OK) return rc;
    json_t *at = json_object_get(obj, "at");
    if (at && !json_is_null(at)) rc = take_time(at, "", "at", &ev->at, e);
    return rc;
}

/* ---- entry points ------------------------------------------------------------ */

/* Turns jansson's decoding error into our message and code: a duplicate
 * key is a shape error (LR_EINVAL) naming the key; the rest is LR_ESYNTAX. */
static int json_failure(const json_error_t *je, errsink *e) {
    if (json_error_code(je) == json_error_duplicate_key) {
        /* jansson says: duplicate object key near '"KEY"' */
        const char *p = strstr(je->text, "near '\"");
        size_t n = p ? strlen(p += 7) : 0;
        if (n >= 2 && p[n - 1] == '\'' && p[n - 2] == '"') {
            char q[QUOTE_MAX + 4];
            return fail(e, LR_EINVAL, "duplicate key '%s' at column %d", quote(q, p, n - 2), je->column);
        }
        return fail(e, LR_EINVAL, "duplicate key at column %d", je->column);
    }
    if (json_error_code(je) == json_error_numeric_overflow)
        return fail(e, LR_ESYNTAX, "a number at column %d is beyond the range of a double (%s)",
                    je->column, je->text);
    if (je->line > 1)
        return fail(e, LR_ESYNTAX, "invalid JSON at line %d, column %d: %s", je->line, je->column, je->text);
    return fail(e, LR_ESYNTAX, "invalid JSON at column %d: %s", je->column, je->text);
}

/* Fills *EV from the decoded value ROOT. Returns LR_OK, or an error with
 * a message in E and *EV left zeroed. */
static int parse_root(json_t *root, lr_event *ev, bool strict, errsink *e) {
    lr_event out = { .type = LR_EV_LEAD, .at = LR_TIME_NONE };
    int rc;

    memset(ev, 0, sizeof *ev);
    if (!json_is_object(root)) return fail(e, LR_EINVAL, "event is not a JSON object");
    json_t *type = json_object_get(root, "type");
    if (!type || json_is_null(type)) {
        rc = parse_lead(root, "", &out.at, &out.lead, e);
        goto done;
    }
    if (!json_is_string(type)) return fail(e, LR_EINVAL, "'type' must be a string");
    int t = lr_name_lookup(lr_event_type_names, LR_EV__COUNT, json_string_value(type));
    if (t < 0) {
        char q[QUOTE_MAX + 4];
        return fail(e, LR_EINVAL, "unknown event type '%s'",
                    quote(q, json_string_value(type), json_string_length(type)));
    }
    out.type = (lr_event_type)t;
    if (out.type == LR_EV_LEAD) {
        json_t *l = json_object_get(root, "lead");
        json_t *at = json_object_get(root, "at");
        if (strict && (rc = check_members(root, LR_EV_LEAD, e)) != LR_OK)
            ;
        else if (!l || json_is_null(l))
            rc = fail(e, LR_EINVAL, "'lead' is required for a lead event");
        else if (!json_is_object(l))
            rc = fail(e, LR_EINVAL, "'lead' must be an object");
        else if (at && !json_is_null(at) && (rc = take_time(at, "", "at", &out.at, e)) != LR_OK)
            ;
        else
            rc = parse_lead(l, "lead.", &out.at, &out.lead, e);
        out.wrapped = true;
    } else {
        rc = parse_other(root, &out, strict, e);
    }
done:
    if (rc != LR_OK) {
        lr_event_release(&out);
        return rc;
    }
    *ev = out;
    return LR_OK;
}

static int parse_json(const char *text, size_t len, lr_event *ev, bool strict, char *errbuf,
                      size_t errlen) {
    errsink e = { errbuf, errlen };
    if (errlen) errbuf[0] = '\0';
    json_error_t je;

    memset(ev, 0, sizeof *ev);
    json_t *root = lr_json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!root) return json_failure(&je, &e);
    int rc = parse_root(root, ev, strict, &e);
    json_decref(root);
    return rc;
}

/* See event.h. V is only read: jansson's getters take non-const pointers,
 * hence the cast. No arena here: V's memory belongs to the caller. */
int lr_event_parse_json(const struct json_t *v, lr_event *ev, char *errbuf, size_t errlen) {
    errsink e = { errbuf, errlen };
    if (errlen) errbuf[0] = '\0';
    return parse_root((json_t *)v, ev, true, &e);
}

/* See event_impl.h. jansson's own allocations come from the thread's
 * arena for the length of the parse (json_arena.h): what the event keeps
 * is copied. */
static int parse_arena(const char *text, size_t len, lr_event *ev, bool strict, char *errbuf,
                       size_t errlen) {
    lr_json_arena_begin();
    int rc = parse_json(text, len, ev, strict, errbuf, errlen);
    lr_json_arena_end();
    return rc;
}

int lr_event_parse_general(const char *text, size_t len, lr_event *ev, char *errbuf,
                           size_t errlen) {
    return parse_arena(text, len, ev, true, errbuf, errlen);
}

/* A plain lead takes the short way (event_plain.c), the rest jansson's. */
static int parse_text(const char *text, size_t len, lr_event *ev, bool strict, char *errbuf,
                      size_t errlen) {
    if (lr_event_parse_plain(text, len, ev)) {
        if (errlen) errbuf[0] = '\0';
        return LR_OK;
    }
    return parse_arena(text, len, ev, strict, errbuf, errlen);
}

/* See event.h. */
int lr_event_parse(const char *text, size_t len, lr_event *ev, char *errbuf,
                   size_t errlen) {
    return parse_text(text, len, ev, true, errbuf, errlen);
}

/* See event.h. */
int lr_event_parse_journal(const char *text, size_t len, lr_event *ev, char *errbuf,
                           size_t errlen) {
    return parse_text(text, len, ev, false, errbuf, errlen);
}

/* See event.h. */
void lr_event_release(lr_event *ev) {
    if (!ev) return;
    lr_lead_free(ev->lead);
    free(ev->lead_id);
    free(ev->agent_id);
    memset(ev, 0, sizeof *ev);
}
