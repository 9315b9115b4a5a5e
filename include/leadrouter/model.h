/* model.h -- the domain objects every module shares: values, leads, the
 * enums for agent status, lead progress and decision actions, each with its
 * one string table.
 *
 * Times are int64 milliseconds since the Unix epoch, UTC (lr_time).
 * Strings in these structs are NUL-terminated UTF-8; who owns them is said
 * at each struct.
 */
#ifndef LEADROUTER_MODEL_H
#define LEADROUTER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef int64_t lr_time;            /* ms since 1970-01-01T00:00:00Z */
#define LR_TIME_NONE INT64_MIN      /* "never" / "not given" */

/* ---- values (lead fields, expression results) -------------------------- */

typedef enum lr_vtype {
    LR_VNULL = 0,
    LR_VBOOL,
    LR_VNUM,
    LR_VSTR,
    LR_VLIST                        /* list of scalar values */
} lr_vtype;

typedef struct lr_value {
    lr_vtype type;
    union {
        bool b;
        double n;
        struct { const char *ptr; size_t len; } s;     /* not always NUL-terminated */
        struct { const struct lr_value *items; size_t n; } list;
    } u;
} lr_value;

/* ---- leads --------------------------------------------------------------- */

/* The named lead fields, in the order of lr_lead_field_names[]. Rule
 * expressions resolve a field name to one of these at compile time. */
#define LR_LEAD_FIELD_MAP(X) \
    X(ID, "id")              \
    X(SOURCE, "source")      \
    X(PRODUCT, "product")    \
    X(EMAIL, "email")        \
    X(PHONE, "phone")        \
    X(NAME, "name")          \
    X(COMPANY, "company")    \
    X(ACCOUNT, "account")    \
    X(COUNTRY, "country")    \
    X(STATE, "state")        \
    X(POSTAL_CODE, "postal_code") \
    X(STAGE, "stage")        \
    X(SCORE, "score")        \
    X(VALUE, "value")        \
    X(RECEIVED_AT, "received_at")

typedef enum lr_lead_field {
#define LR_LF_ENUM(e, s) LR_LF_##e,
    LR_LEAD_FIELD_MAP(LR_LF_ENUM)
#undef LR_LF_ENUM
    LR_LF__COUNT
} lr_lead_field;

#define LR_LF__STRCOUNT LR_LF_SCORE   /* fields before SCORE are strings */

extern const char *const lr_lead_field_names[LR_LF__COUNT];

/* Returns the field for a name, or -1 when the name is not a lead field. */
int lr_lead_field_lookup(const char *name, size_t len);

/* A custom field: fields.NAME in rules, "fields": {...} in JSON. */
typedef struct lr_field {
    char *name;                     /* owned */
    lr_value value;                 /* strings and list items owned by the lead */
} lr_field;

/* A lead. Every pointer is owned by the lead and freed by lr_lead_free().
 * String fields are NULL when absent. A parser may store the strings of
 * str[] packed right after the struct, in the same allocation (`packed`
 * bytes): such a string is not freed on its own. Change a field with
 * lr_lead_set_str(), which knows the difference. */
typedef struct lr_lead {
    char *str[LR_LF__STRCOUNT];     /* indexed by lr_lead_field (< LR_LF_SCORE) */
    size_t packed;                  /* bytes of strings stored after the struct */
    double score;  bool has_score;
    double value;  bool has_value;
    lr_time received_at;            /* LR_TIME_NONE until known */
    lr_field *fields;               /* owned array */
    size_t nfields;
} lr_lead;

#define lr_lead_id(l) ((l)->str[LR_LF_ID])

/* Frees everything a lead owns, then the lead itself. Accepts NULL. */
void lr_lead_free(lr_lead *lead);

/* A new lead with LEAD's id, received_at, score and value, and nothing
 * else (no other string, no custom field), in one allocation: what the
 * engine keeps of a closed lead. NULL when out of memory. */
lr_lead *lr_lead_id_only(const lr_lead *lead);

/* Whether ID has no control character (U+0000-U+001F, U+007F): what a
 * new lead's id must be, so that a path can name it (the API refuses
 * control characters in paths). `serve` and `route` refuse other ids;
 * a journal replays whatever it holds. */
bool lr_lead_id_nameable(const char *id);

/* Replaces string field F (< LR_LF__STRCOUNT) with a copy of VALUE (NULL
 * clears it). Returns LR_OK or LR_ENOMEM (the lead unchanged). */
int lr_lead_set_str(lr_lead *lead, lr_lead_field f, const char *value);

/* Computes the lead's content hash (32 bytes) for idempotency: equal for
 * the same fields and values however the JSON was written, different when
 * any value differs; the engine's `stage` is left out. Returns LR_OK or
 * LR_ENOMEM. */
int lr_lead_hash(const lr_lead *lead, unsigned char out[32]);

/* Returns the value of a named field (LR_VNULL when absent). The value
 * borrows the lead's memory. */
lr_value lr_lead_get(const lr_lead *lead, lr_lead_field f);

/* Returns the custom field NAME (LR_VNULL when absent); borrows. */
lr_value lr_lead_get_custom(const lr_lead *lead, const char *name, size_t len);

/* ---- enums with their string tables -------------------------------------- */

/* Agent status. Any status may move to any other (the admin or the agent
 * says so); only `available` agents receive leads. */
#define LR_AGENT_STATUS_MAP(X) X(AVAILABLE, "available") X(AWAY, "away") X(OFFLINE, "offline")
typedef enum lr_agent_status {
#define LR_AS_ENUM(e, s) LR_AGENT_##e,
    LR_AGENT_STATUS_MAP(LR_AS_ENUM)
#undef LR_AS_ENUM
    LR_AGENT__COUNT
} lr_agent_status;

/* Progress a rep reports on a lead. contacted and qualified keep the lead
 * open (qualified routes it again); won, lost and disqualified close it. */
#define LR_PROGRESS_MAP(X) \
    X(CONTACTED, "contacted") X(QUALIFIED, "qualified") \
    X(WON, "won") X(LOST, "lost") X(DISQUALIFIED, "disqualified")
typedef enum lr_progress {
#define LR_PG_ENUM(e, s) LR_PROGRESS_##e,
    LR_PROGRESS_MAP(LR_PG_ENUM)
#undef LR_PG_ENUM
    LR_PROGRESS__COUNT
} lr_progress;

/* What a decision did to a lead. */
#define LR_ACTION_MAP(X) \
    X(ASSIGNED, "assigned") X(OFFERED, "offered") X(QUEUED, "queued") \
    X(HELD, "held") X(CLAIMED, "claimed") X(CLAIM_REFUSED, "claim_refused") \
    X(RELEASED, "released") X(CLOSED, "closed") X(UNROUTED, "unrouted") \
    X(REJECTED, "rejected") X(EXPIRED, "expired") X(REASSIGNED, "reassigned") \
    X(RECYCLED, "recycled") X(SLA_BREACHED, "sla_breached") X(AGENT_AWAY, "agent_away")
typedef enum lr_action {
#define LR_ACT_ENUM(e, s) LR_ACTION_##e,
    LR_ACTION_MAP(LR_ACT_ENUM)
#undef LR_ACT_ENUM
    LR_ACTION__COUNT
} lr_action;

/* Why a candidate was passed over. */
#define LR_SKIP_MAP(X) \
    X(NONE, "") X(AWAY, "away") X(OFFLINE, "offline") \
    X(AT_CAPACITY, "at_capacity") X(CAP_HOUR, "cap_hour") X(CAP_DAY, "cap_day") \
    X(CAP_WEEK, "cap_week") X(CAP_MONTH, "cap_month") X(NO_MATCH, "no_match") \
    X(DECLINED, "declined") X(OFF_SHIFT, "off_shift") X(OUT_OF_OFFICE, "out_of_office") \
    X(EXPIRED, "expired") X(RELEASED, "released") X(REASSIGNED, "reassigned") \
    X(RECYCLED, "recycled")
/* (Append only: a stored explanation keeps a reason by its number.) The
 * agent had the lead before and is never given it again: DECLINED (it
 * declined it), EXPIRED (its offer expired, or an escalation ended it),
 * RELEASED (it released it), REASSIGNED (an SLA took it back), RECYCLED
 * (a recycling took it back): lr_skip_is_history(). */
typedef enum lr_skip {
#define LR_SK_ENUM(e, s) LR_SKIP_##e,
    LR_SKIP_MAP(LR_SK_ENUM)
#undef LR_SK_ENUM
    LR_SKIP__COUNT
} lr_skip;

static inline bool lr_skip_is_history(lr_skip s) {
    return s == LR_SKIP_DECLINED || s == LR_SKIP_EXPIRED || s == LR_SKIP_RELEASED ||
           s == LR_SKIP_REASSIGNED || s == LR_SKIP_RECYCLED;
}

/* Cap windows: calendar hour, day, ISO week (Monday start), month. */
#define LR_CAP_MAP(X) X(HOUR, "hour") X(DAY, "day") X(WEEK, "week") X(MONTH, "month")
typedef enum lr_cap {
#define LR_CAP_ENUM(e, s) LR_CAP_##e,
    LR_CAP_MAP(LR_CAP_ENUM)
#undef LR_CAP_ENUM
    LR_CAP__COUNT
} lr_cap;

extern const char *const lr_agent_status_names[LR_AGENT__COUNT];
extern const char *const lr_progress_names[LR_PROGRESS__COUNT];
extern const char *const lr_action_names[LR_ACTION__COUNT];
extern const char *const lr_skip_names[LR_SKIP__COUNT];
extern const char *const lr_cap_names[LR_CAP__COUNT];

/* Look a name up in one of the tables above: returns the index, or -1. */
int lr_name_lookup(const char *const *table, int n, const char *name);

#endif
