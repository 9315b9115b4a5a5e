/* event.h -- events in: the JSONL format shared by files, the HTTP API,
 * the simulator and the tests.
 *
 *   {"id":"L1","source":"google","state":"CA","score":80}   a lead (no "type")
 *   {"type":"lead","at":"2026-11-02T10:00:00Z","lead":{"id":"L2"}}
 *   {"type":"agent","agent":"bob","status":"away"}
 *   {"type":"progress","lead":"L1","status":"won","value":1200}
 *   {"type":"claim","agent":"bob","lead":"L1"}    ("lead" optional)
 *   {"type":"accept","agent":"bob","lead":"L1"}
 *   {"type":"decline","agent":"bob","lead":"L1"}
 *   {"type":"assign","lead":"L1","agent":"bob"}
 *   {"type":"release","lead":"L1"}                ("agent" optional)
 *   {"type":"tick","at":"2026-11-02T10:05:00Z"}
 *
 * Every event may carry "at" (RFC 3339). Parsing checks shapes and types
 * only; whether the lead or agent exists is the engine's business.
 */
#ifndef LEADROUTER_EVENT_H
#define LEADROUTER_EVENT_H

#include "leadrouter/model.h"

#define LR_EVENT_TYPE_MAP(X) \
    X(LEAD, "lead") X(AGENT, "agent") X(PROGRESS, "progress") X(CLAIM, "claim") \
    X(ACCEPT, "accept") X(DECLINE, "decline") X(ASSIGN, "assign") \
    X(RELEASE, "release") X(TICK, "tick")
typedef enum lr_event_type {
#define LR_EV_ENUM(e, s) LR_EV_##e,
    LR_EVENT_TYPE_MAP(LR_EV_ENUM)
#undef LR_EV_ENUM
    LR_EV__COUNT
} lr_event_type;
extern const char *const lr_event_type_names[LR_EV__COUNT];

/* A parsed event. Owns every pointer; release with lr_event_release(). */
typedef struct lr_event {
    lr_event_type type;
    lr_time at;                     /* LR_TIME_NONE when not given */
    lr_lead *lead;                  /* LR_EV_LEAD: the lead (owned) */
    bool wrapped;                   /* LR_EV_LEAD: given as {"type":"lead","lead":{...}} */
    char *lead_id;                  /* progress, claim (optional), accept, decline, assign, release */
    char *agent_id;                 /* agent, claim, accept, decline, assign, release (optional) */
    lr_agent_status status;         /* LR_EV_AGENT */
    lr_progress progress;           /* LR_EV_PROGRESS */
    double value; bool has_value;   /* LR_EV_PROGRESS: deal value, optional */
    bool catch_up;                  /* LR_EV_TICK: deadlines already past fire at "at", not
                                       each at its own time (a server's start after a stop) */
} lr_event;

/* Parses one JSON text (one JSONL line) of LEN bytes. On success returns
 * LR_OK and fills *ev (release with lr_event_release()). On failure returns
 * LR_ESYNTAX (not JSON) or LR_EINVAL (not a valid event), writes a message
 * naming what is wrong and where ("column 14: ..." for JSON errors, the
 * field name for shape errors) into ERRBUF, and leaves *ev zeroed. */
int lr_event_parse(const char *text, size_t len, lr_event *ev,
                   char *errbuf, size_t errlen);

/* As lr_event_parse() on a text of the server's journal: a member that an
 * event of its type does not have is ignored, as builds before the check
 * ignored it when they accepted and journaled the text. */
int lr_event_parse_journal(const char *text, size_t len, lr_event *ev,
                           char *errbuf, size_t errlen);

/* As lr_event_parse() on a value the caller has already decoded with
 * jansson (V: borrowed, only read; an element of an array body, or an
 * object built by the caller). The same checks and messages, minus the
 * JSON syntax ones: returns LR_OK, or LR_EINVAL with a message in ERRBUF
 * and *ev zeroed. */
struct json_t;
int lr_event_parse_json(const struct json_t *v, lr_event *ev, char *errbuf, size_t errlen);

/* The text of the lead of a lead event TEXT (LEN bytes) as the client
 * wrote it: the "lead" member's bytes of {"type":"lead","lead":{...}}, or
 * TEXT itself for a bare lead (a bare lead has no object member). Sets
 * *P and *N (into TEXT); false when TEXT holds no such member. */
bool lr_event_lead_text(const char *text, size_t len, const char **p, size_t *n);

/* Frees what EV owns and zeroes it. Accepts a zeroed event. */
void lr_event_release(lr_event *ev);

/* Parses an RFC 3339 timestamp ("2026-11-02T10:00:00Z",
 * "2026-11-02T10:00:00.250+02:00"). Returns LR_OK and sets *out, or
 * LR_EINVAL. */
int lr_time_parse(const char *s, size_t len, lr_time *out);

/* Formats T as RFC 3339 UTC with milliseconds only when non-zero
 * ("2026-11-02T10:00:00Z", "2026-11-02T10:00:00.250Z") into BUF (>= 32
 * bytes). Returns the length written. */
size_t lr_time_format(lr_time t, char *buf, size_t buflen);

#endif
