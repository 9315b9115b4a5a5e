/* config.h -- the routing configuration: agents, pools, accounts, rules.
 *
 * One loader and one validator serve the file, the API and `leadrouter
 * check`. A config is immutable once loaded; the engine borrows it. Every
 * problem found is reported as "file:line:column: message", all of them,
 * not only the first.
 *
 * Ownership: lr_config_load*() return a config that owns every string,
 * array and compiled expression inside it; lr_config_free() releases all.
 */
#ifndef LEADROUTER_CONFIG_H
#define LEADROUTER_CONFIG_H

#include "leadrouter/model.h"

struct lr_expr;
struct lr_strategy;
struct lr_schedule;

/* An agent attribute: a named set of strings (products, territories...). */
typedef struct lr_attr {
    char *name;
    char **values;                  /* sorted, unique */
    size_t nvalues;
} lr_attr;

typedef struct lr_agent_conf {
    char *id;                       /* unique, non-empty */
    size_t id_len;                  /* strlen(id), set by the loader (whose ids never need
                                       escaping in JSON); 0 when not known */
    char *name;                     /* NULL when absent */
    lr_agent_status status;         /* initial status; default available */
    uint32_t weight;                /* >= 1; default 1 */
    int64_t capacity;               /* max open leads; -1 = unlimited */
    int64_t caps[LR_CAP__COUNT];    /* leads per window; -1 = no cap */
    lr_attr *attrs;                 /* sorted by name */
    size_t nattrs;
    /* schedule: {timezone, hours}, out_of_office: [...], and the top-level
     * holidays of the agent's zone, all in one schedule (src/core/schedule.h).
     * NULL when the agent has none of them: always on, caps in UTC. */
    struct lr_schedule *schedule;   /* owned */
    char *email;                    /* for notifications (later); NULL when absent */
    int line, column;               /* where it was defined */
} lr_agent_conf;

/* Order in which a pool's queue gives out waiting leads. */
#define LR_QORDER_MAP(X) X(FIFO, "fifo") X(LIFO, "lifo") X(PRIORITY, "priority")
typedef enum lr_queue_order {
#define LR_QO_ENUM(e, s) LR_QORDER_##e,
    LR_QORDER_MAP(LR_QO_ENUM)
#undef LR_QO_ENUM
    LR_QORDER__COUNT
} lr_queue_order;
extern const char *const lr_queue_order_names[LR_QORDER__COUNT];

/* What an agent's count-based fairness does when they come back after an
 * absence (status, shift start, end of out of office). */
#define LR_CATCHUP_MAP(X) X(NONE, "none") X(AVERAGE, "average") X(FULL, "full")
typedef enum lr_catch_up {
#define LR_CU_ENUM(e, s) LR_CATCHUP_##e,
    LR_CATCHUP_MAP(LR_CU_ENUM)
#undef LR_CU_ENUM
    LR_CATCHUP__COUNT
} lr_catch_up;
extern const char *const lr_catch_up_names[LR_CATCHUP__COUNT];

typedef struct lr_pool_conf {
    char *name;
    uint32_t *agents;               /* indexes into lr_config.agents, pool order */
    size_t nagents;
    lr_queue_order order;           /* default fifo */
    int64_t max_wait_ms;            /* a lead queued here longer falls back; -1: forever */
    uint32_t max_no_answer;         /* offers in a row an agent lets expire before being
                                       set away; 0: never */
    lr_catch_up catch_up;           /* default average */
    int line, column;
} lr_pool_conf;

typedef struct lr_account_conf {
    char *id;
    char **domains;                 /* lower-case email domains */
    size_t ndomains;
    uint32_t owner;                 /* index into lr_config.agents */
    int line, column;
} lr_account_conf;

/* match: {ATTRIBUTE: FIELD}: the agent's attribute set must contain the
 * lead's field value. */
typedef struct lr_match {
    char *attr;                     /* agent attribute name */
    int field;                      /* lr_lead_field, or -1 for a custom field */
    char *custom;                   /* custom field name when field == -1 */
} lr_match;

typedef enum lr_fallback_kind {
    LR_FALLBACK_NEXT = 0,           /* try the next rule whose `when` holds */
    LR_FALLBACK_QUEUE,              /* wait in the pool's queue (hunt group) */
    LR_FALLBACK_HOLD,               /* held until an admin assigns it */
    LR_FALLBACK_RULE                /* route by the named rule */
} lr_fallback_kind;

/* What an SLA breach does. */
#define LR_SLA_MAP(X) X(REASSIGN, "reassign") X(ESCALATE, "escalate") X(NOTIFY, "notify")
typedef enum lr_sla_then {
#define LR_SLA_ENUM(e, s) LR_SLA_##e,
    LR_SLA_MAP(LR_SLA_ENUM)
#undef LR_SLA_ENUM
    LR_SLA__COUNT
} lr_sla_then;
extern const char *const lr_sla_names[LR_SLA__COUNT];

/* ---- delivery: channels and who is told of which decisions ------------ */

typedef enum lr_channel_kind { LR_CHANNEL_WEBHOOK = 0, LR_CHANNEL_SMTP } lr_channel_kind;

/* channels: {NAME: {webhook: URL, secret_env: VAR} | {smtp: URL, from: ADDR}} */
typedef struct lr_channel_conf {
    char *name;                     /* unique */
    lr_channel_kind kind;
    char *url;                      /* http(s):// (webhook) or smtp(s):// (smtp) */
    char *secret_env;               /* webhook: variable holding the signing secret;
                                       NULL: deliveries are not signed */
    char *from;                     /* smtp: the sender address */
    char *public_url;               /* smtp: the server's URL for the instructions
                                       in messages; NULL when absent */
    char *username_env;             /* smtp: variables holding the relay's login */
    char *password_env;             /* (both or neither); NULL: no login */
    int64_t timeout_ms;             /* one attempt; default 10 s */
    uint32_t concurrency;           /* attempts in flight at once; default 4 */
    uint32_t batch;                 /* webhook: deliveries one request may carry (a
                                       JSON array of them when > 1); default 1 */
    int64_t backoff_ms;             /* delay before the first retry; default 10 s,
                                       doubled each retry (with jitter) */
    int64_t backoff_max_ms;         /* longest delay between retries; default 1 h */
    int64_t retry_for_ms;           /* retries stop (dead) this long after the
                                       decision; default 24 h */
    bool allow_private;             /* listed in allow_private_targets */
    bool why_full;                  /* webhook `why: full`: the decision's why with its
                                       candidates; default (brief): without them */
    int line, column;
} lr_channel_conf;

/* notify: [{on: [ACTIONS], to: CHANNEL, recipient: agent | ADDRESS, after: DURATION}] */
typedef struct lr_notify_conf {
    uint32_t on;                    /* bit (1u << lr_action) per action */
    uint32_t channel;               /* index into lr_config.channels */
    int64_t after_ms;               /* after: only when the lead is still where the
                                       decision left it this long after; 0: at once */
    bool to_agent;                  /* smtp: to the decision's agent(s) `email` */
    char *recipient;                /* smtp: a fixed address when !to_agent */
    int line, column;
} lr_notify_conf;

typedef struct lr_rule_conf {
    char *name;                     /* unique */
    struct lr_expr *when;           /* owned; NULL = always */
    char *when_src;                 /* the expression text, NULL when absent */
    uint32_t pool;                  /* index into lr_config.pools */
    const struct lr_strategy *strategy;  /* static, from the strategy table */
    lr_match *match;
    size_t nmatch;
    lr_fallback_kind fallback;
    uint32_t fallback_rule;         /* index into lr_config.rules (LR_FALLBACK_RULE) */
    bool ignore_capacity;           /* push regardless of open load */
    int64_t window_ms;              /* fewest_assigned / top_producer window; default 24 h
                                       (fewest_assigned) or 30 days (top_producer) */
    uint32_t min_sample;            /* top_producer: closed leads before the ratio counts; default 10 */

    /* offer: {timeout: 2m, attempts: 3}: the chosen agent must accept in time */
    int64_t offer_timeout_ms;       /* 0: no offer stage (assign at once) */
    uint32_t offer_attempts;        /* agents tried before the fallback; default 3 */

    /* tiers: [a, b, c] with escalate_after: 5m. When tiers are given, `pool`
     * is tiers[0] and the lead widens to the next tier when nobody in the
     * current one took it in time. */
    uint32_t *tiers;                /* pool indexes; NULL when no tiers */
    size_t ntiers;
    int64_t escalate_after_ms;      /* 0: no escalation by time */

    /* sla: {contact_within: 15m, then: reassign} */
    int64_t sla_contact_ms;         /* 0: no SLA */
    lr_sla_then sla_then;

    /* recycle: {after: 30d, unless: [won, lost, disqualified], to: RULE} */
    int64_t recycle_after_ms;       /* 0: never */
    uint32_t recycle_unless;        /* bit (1 << lr_progress) per status that stops it;
                                       default won, lost, disqualified */
    uint32_t recycle_to;            /* rule index; default this rule */

    lr_notify_conf *notify;         /* notify: entries for this rule's decisions */
    size_t nnotify;
    int line, column;
} lr_rule_conf;

typedef struct lr_config {
    char *path;                     /* file it came from ("<string>" otherwise) */
    lr_agent_conf *agents;  size_t nagents;
    lr_pool_conf *pools;    size_t npools;
    lr_account_conf *accounts; size_t naccounts;
    lr_rule_conf *rules;    size_t nrules;
    uint32_t explain_limit;         /* default 100 */
    lr_channel_conf *channels; size_t nchannels;
    lr_notify_conf *notify; size_t nnotify;    /* for every decision */
} lr_config;

/* The list of problems a load found. Each message is complete:
 * "routing.yaml:12:5: rule 'hot-west': unknown strategy 'round_robbin'". */
typedef struct lr_config_errors {
    char **msgs;
    size_t n;
} lr_config_errors;

/* A config file larger than this is refused ("not a routing config"):
 * /dev/zero or a log given by mistake is not read to the end of memory. */
#define LR_CONFIG_MAX_BYTES (64 << 20)

/* Loads and validates PATH. On success returns LR_OK and sets *out (owned
 * by the caller). On failure returns LR_ECONFIG (or LR_EIO when the file
 * cannot be read, LR_ENOMEM) with every problem in *errs, and *out
 * untouched. ERRS must be released with lr_config_errors_release() either way. */
int lr_config_load_file(const char *path, lr_config **out, lr_config_errors *errs);

/* Warnings about a config that loads but cannot work as written: an agent
 * in no pool, a pool no rule uses, a rule no lead reaches (after a rule
 * with no `when` that places every lead, and named by no fallback or
 * recycle), a `when` that is a value rather than a condition, an account
 * domain with an '@' (no email's domain has one). Calls CB
 * with each "file:line:column: warning: ..." message; returns how many. */
size_t lr_config_warnings(const lr_config *cfg, void (*cb)(const char *msg, void *ud), void *ud);

/* As lr_config_load_file() on a string (YAML or JSON) of LEN bytes; NAME is
 * used in messages in place of a file name. */
int lr_config_load_string(const char *text, size_t len, const char *name,
                          lr_config **out, lr_config_errors *errs);

/* As lr_config_load_string() without checking that the environment
 * variables a config names (channels' secret_env) are set: for configs
 * replayed from the journal, which ran before and may be superseded. */
int lr_config_load_journaled(const char *text, size_t len, const char *name,
                             lr_config **out, lr_config_errors *errs);

void lr_config_free(lr_config *cfg);            /* accepts NULL */
void lr_config_errors_release(lr_config_errors *errs);

/* Lookups; return the index or -1. */
int lr_config_agent_index(const lr_config *cfg, const char *id);
int lr_config_pool_index(const lr_config *cfg, const char *name);
int lr_config_rule_index(const lr_config *cfg, const char *name);
int lr_config_channel_index(const lr_config *cfg, const char *name);

/* Returns the agent's attribute NAME, or NULL. */
const lr_attr *lr_agent_attr(const lr_agent_conf *a, const char *name);

/* True when the sorted attribute set contains VALUE (LEN bytes). */
bool lr_attr_contains(const lr_attr *attr, const char *value, size_t len);

#endif
