/* message.h -- what a delivery carries: the webhook body and its signature,
 * and the email a sales rep reads.
 *
 * Pure functions of their arguments: no clock, no I/O, no global state
 * (the caller passes every time). Every pointer is borrowed for the call.
 * Each writer appends to an lr_buf and leaves it as it was on failure.
 *
 * Webhook signature (the recipe receivers follow, as Stripe's):
 *   header  Leadrouter-Signature: t=1700000000,v1=5f3a...
 *   signed  the bytes "1700000000" "." BODY (the t text exactly as sent)
 *   MAC     lower-case hex HMAC-SHA256, the channel secret as key
 *   check   compare in constant time with every v1 of the header; refuse
 *           when none matches or when t is further than the tolerance
 *           (e.g. 300 s) from the receiver's clock, which stops replays.
 */
#ifndef LEADROUTER_DELIVERY_MESSAGE_H
#define LEADROUTER_DELIVERY_MESSAGE_H

#include "leadrouter/buf.h"
#include "leadrouter/error.h"
#include "leadrouter/model.h"   /* lr_time: int64 ms since the Unix epoch, LR_TIME_NONE */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A signature that does not match, or whose timestamp is too old.
 * error.h has no LR_EPERM ("permission denied") yet; until it has, a
 * refused signature is reported as LR_ESTATE. Callers and tests compare
 * with this name, so adding LR_EPERM is a one-line change here. */
#define LR_DELIVERY_EREFUSED LR_ESTATE

typedef struct lr_delivery_msg {
    int64_t id;                 /* delivery id (shown as "dlv_<id>") */
    const char *channel;        /* channel name from the config */
    const char *action;         /* decision action: "assigned", "offered", ... */
    lr_time created_at;         /* when the decision was made */
    const char *lead_json;      /* the lead as received: a JSON object text, or NULL */
    size_t lead_len;
    const char *decision_json;  /* the decision (see include/leadrouter/decision.h for its shape) */
    size_t decision_len;
    /* email only */
    const char *from;           /* sender address */
    const char *to;             /* recipient address */
    const char *agent;          /* the recipient agent's id, or NULL (then the
                                   decision's single agent, if any) */
    const char *agent_name;     /* the recipient agent's display name, or NULL */
    bool to_agent;              /* to the agent itself (its `email`), not to a fixed
                                   address: the text speaks to the agent */
    const char *base_url;       /* the server's public URL for instructions, or NULL */
    lr_time now;                /* the Date: header */
} lr_delivery_msg;

/* Appends the webhook JSON body to OUT:
 *   {"id":"dlv_42","type":"decision.assigned","created_at":"2026-11-28T10:00:00.123Z",
 *    "channel":"crm","lead":<lead_json verbatim, or null>,"decision":<decision_json verbatim>}
 * created_at is null when LR_TIME_NONE, channel null when NULL, lead and
 * decision null when NULL or empty; action NULL gives "decision.unknown".
 * lead_json / decision_json are trusted (produced by leadrouter) and copied
 * as they are. Returns LR_OK or LR_ENOMEM (OUT unchanged). */
int lr_delivery_webhook_body(const lr_delivery_msg *m, lr_buf *out);

/* Writes the signature header value "t=T,v1=HEX" into OUT (at least
 * LR_SIGNATURE_MAX bytes): HEX is lower-case hex HMAC-SHA256 with key SECRET
 * over the bytes "T" "." BODY, T the Unix time in seconds (as Stripe does).
 * Returns LR_OK; LR_EINVAL on a NULL/empty secret or a NULL body with LEN
 * > 0; LR_EIO when libsodium cannot start. OUT untouched on failure. */
#define LR_SIGNATURE_MAX 96
int lr_delivery_sign(const char *secret, size_t secret_len, int64_t t_sec,
                     const char *body, size_t len, char out[LR_SIGNATURE_MAX]);

/* Checks a header value "t=T,v1=HEX[,v1=HEX...]" against SECRET and BODY.
 * Items are separated by commas (blanks around them allowed), in any
 * order; exactly one t (an optionally negative decimal of at most 18
 * digits), at least one v1 (64 hex digits, either case); other keys (v0,
 * ...) are ignored, as Stripe's receivers do.
 * Returns LR_OK when one v1 matches (constant-time compare) and
 * |NOW_SEC - T| <= TOLERANCE_SEC; LR_EINVAL for a malformed header, a
 * NULL/empty secret or a negative tolerance; LR_DELIVERY_EREFUSED for a
 * mismatch or a timestamp out of tolerance; LR_EIO when libsodium cannot
 * start. */
int lr_delivery_verify(const char *secret, size_t secret_len, const char *header,
                       const char *body, size_t len, int64_t now_sec, int64_t tolerance_sec);

/* Appends an RFC 5322 email (CRLF line ends, no bare CR or LF) to OUT, for
 * curl's SMTP upload (curl does the dot-stuffing):
 *
 *   Date: Sat, 28 Nov 2026 10:00:00 +0000        (from m->now)
 *   From: FROM
 *   To: TO
 *   Subject: New lead L1 for you (assigned)      (other actions: "Lead L1: expired")
 *   Message-ID: <dlv-42@leadrouter>
 *   MIME-Version: 1.0
 *   Content-Type: text/plain; charset=utf-8
 *   Content-Transfer-Encoding: 8bit              (base64: see below)
 *
 * then a plain body for a sales rep: a greeting (with AGENT_NAME when
 * given), what happened (by which rule, strategy and pool, when), who the
 * lead is (its named fields, then up to 20 custom fields: its other top-level
 * keys, then those of "fields"), why it
 * came to this rep (from the decision's "why"), and how to act (accept /
 * decline an offer, report progress on an assignment; URLs on BASE_URL, or
 * the paths alone when it is NULL).
 *
 * Safety: a Subject with non-ASCII bytes is RFC 2047 encoded
 * (=?UTF-8?B?...?=, folded into words of at most 75 characters); control
 * characters in any value taken from data become spaces, in headers and
 * body alike, so data never starts a line of its own. A body with a line
 * longer than 900 bytes (a long public URL and lead id in an instruction)
 * is sent base64 instead, its lines whole up to 8,192 bytes, cut beyond at
 * a UTF-8 boundary (ending "..."). Lead and decision
 * JSON that do not parse are left out, the message is still written.
 *
 * Returns LR_OK; LR_ENOMEM; LR_EINVAL when FROM or TO is NULL, empty, or
 * contains a control character, '<', '>' or ',', or when NOW is not a time
 * of the years 0000-9999 (LR_TIME_NONE is not). OUT unchanged on failure. */
int lr_delivery_email(const lr_delivery_msg *m, lr_buf *out);

#endif
