/* decision.h -- decisions out: what the engine did to a lead and why.
 *
 * One JSON object per decision, in this key order:
 *
 *   {"at":"2026-11-02T10:00:00Z","lead":"L1","action":"assigned",
 *    "agent":"alice","rule":"hot-west","pool":"west",
 *    "strategy":"round_robin",
 *    "why":{"candidates":[{"agent":"alice","chosen":true},
 *                         {"agent":"bob","eligible":true},
 *                         {"agent":"carol","skipped":"at_capacity"}]}}
 *
 * A ranking strategy's candidates carry the figures it ranked them by
 * (least_busy: {"agent":"bob","eligible":true,"open":3,"idle_ms":60000}).
 *
 * "agents" (an array) replaces "agent" for a broadcast offer. Keys whose
 * value is absent are left out. The encoding is byte-for-byte determined by
 * the decision, so the same run gives the same bytes.
 */
#ifndef LEADROUTER_DECISION_H
#define LEADROUTER_DECISION_H

#include "leadrouter/buf.h"
#include "leadrouter/model.h"

typedef enum lr_cand_state {
    LR_CAND_CHOSEN = 0,
    LR_CAND_ELIGIBLE,               /* could have had it; the strategy preferred another */
    LR_CAND_SKIPPED                 /* with a reason */
} lr_cand_state;

/* The figures a strategy ranks its members by, shown on a chosen or
 * eligible candidate as they stood when the decision was made (the chosen
 * one's before the lead counted): "open", "capacity" (left out when
 * unlimited), "idle_ms" (since its last lead given or offered; left out
 * when none ever was),
 * "received", "won", "closed", "below_min_sample" (true; left out when
 * false), "weight", "credit" (weighted_round_robin's running credit at the
 * pick, its weight added: the highest wins). Written in this order, after
 * the candidate's state. */
#define LR_FIG_MAP(X)                                                   \
    X(LR_FIG_OPEN, "open") X(LR_FIG_CAPACITY, "capacity")                 \
    X(LR_FIG_IDLE_MS, "idle_ms") X(LR_FIG_RECEIVED, "received")           \
    X(LR_FIG_WON, "won") X(LR_FIG_CLOSED, "closed")                       \
    X(LR_FIG_BELOW_MIN_SAMPLE, "below_min_sample") X(LR_FIG_WEIGHT, "weight") \
    X(LR_FIG_CREDIT, "credit")

typedef enum lr_fig {
#define LR_FIG_ENUM(e, name) e,
    LR_FIG_MAP(LR_FIG_ENUM)
#undef LR_FIG_ENUM
    LR_FIG__COUNT
} lr_fig;

/* LR_FIG_BELOW_MIN_SAMPLE is a flag: written as true, its value unused. */
#define LR_FIG_FLAGS (1u << LR_FIG_BELOW_MIN_SAMPLE)

typedef struct lr_candidate {
    const char *agent;              /* borrowed (config) */
    lr_cand_state state;
    lr_skip reason;                 /* LR_CAND_SKIPPED only */
    size_t agent_len;               /* strlen(agent) when the id needs no escaping in
                                       JSON (a loaded config's ids never do); 0: the
                                       writer escapes it */
    unsigned figs;                  /* 1 << LR_FIG_*: the figures present */
    int64_t fig[LR_FIG__COUNT];
} lr_candidate;

/* Every pointer is borrowed: valid only during the decision callback. */
typedef struct lr_decision {
    lr_time at;
    const char *lead;
    lr_action action;
    const char *agent;              /* NULL when none */
    const char *const *agents;      /* broadcast offers: NAGENTS ids */
    size_t nagents;
    const char *rule;               /* NULL when no rule was involved */
    const char *pool;
    const char *strategy;
    lr_time expires_at;             /* "expires_at": when an offer lapses unanswered (its
                                       timeout, or its tier's escalation if sooner); 0:
                                       none (every other action, an offer without a timeout) */
    const lr_candidate *cands;      /* why.candidates, pool order */
    size_t ncands;
    size_t pool_size;               /* written as why.pool_size when > ncands */
    const char *reason;             /* why.reason: a short code ("no_rule_matched",
                                       "already_claimed", "unknown_lead", ...) */
    const char *detail;             /* why.detail: free text for a person, or NULL */
    const char *status;             /* progress status that closed the lead, or NULL */
} lr_decision;

/* Appends the JSON encoding of D (no trailing newline) to OUT. Returns
 * LR_OK or LR_ENOMEM (OUT unchanged). */
int lr_decision_write_json(const lr_decision *d, lr_buf *out);

/* Appends D's "why" object alone, byte for byte as lr_decision_write_json
 * writes it after ,"why": (the store keeps it in a form of its own and
 * writes it back with this). Returns LR_OK or LR_ENOMEM (OUT unchanged). */
int lr_decision_write_why(const lr_decision *d, lr_buf *out);

/* The brief form of a decision, for webhooks (a channel's `why: brief`):
 * its JSON as lr_decision_write_json writes it, except that "why" has no
 * "candidates"; "pool_size" then counts the pool whenever there was one
 * (the number of candidates unless D's pool_size is larger), and "why" is
 * left out when nothing remains in it. lr_decision_write_brief appends D's
 * brief form; lr_decision_json_brief appends the brief form of JSON (LEN
 * bytes), a decision lr_decision_write_json wrote: the same bytes as
 * lr_decision_write_brief of that decision. Both return LR_OK or LR_ENOMEM
 * (OUT unchanged); lr_decision_json_brief also LR_EINVAL when JSON is not a
 * JSON object. */
int lr_decision_write_brief(const lr_decision *d, lr_buf *out);
int lr_decision_json_brief(const char *json, size_t len, lr_buf *out);

/* Appends S as a JSON string, quotes included, escaped as decisions are
 * (invalid UTF-8 becomes U+FFFD); NULL appends null. Returns LR_OK or
 * LR_ENOMEM (OUT unchanged). For the few other places that write JSON by
 * hand on a hot path. */
int lr_json_put_string(lr_buf *out, const char *s);

#endif
