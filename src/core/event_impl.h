/* event_impl.h -- the two halves of lr_event_parse(), for the library and
 * its tests.
 *
 * lr_event_parse() first offers a line to the plain-lead path
 * (event_plain.c): a flat top-level lead object, read in one pass by
 * yajl's event parser straight into an lr_lead, with no document tree.
 * Everything else -- other event types, "fields", lists, anything invalid
 * or unusual -- is declined there and decoded by the general parser
 * (event.c, jansson), which also writes every error message. The plain
 * path accepts a line only when the general parser would accept it and
 * build the same event: tests/fuzz/fuzz_event_plain.c checks exactly that
 * on every input.
 */
#ifndef LR_CORE_EVENT_IMPL_H
#define LR_CORE_EVENT_IMPL_H

#include "leadrouter/event.h"

#include <stdbool.h>
#include <stddef.h>

/* Limits of an event, the same on both paths. */
#define LR_EVENT_ID_MAX 256         /* bytes of an id: lead id, "lead", "agent" */
#define LR_EVENT_STR_MAX 65536      /* bytes of any other string */
#define LR_EVENT_FIELDS_MAX 256     /* custom fields of a lead */

/* Parses TEXT (LEN bytes) when it is a plain lead: a JSON object whose
 * members are lead fields, "at", "type": null and custom fields with
 * scalar values. Returns true with *EV filled (owned by the caller), or
 * false with *EV zeroed and nothing allocated: the line is for
 * lr_event_parse_general(). */
bool lr_event_parse_plain(const char *text, size_t len, lr_event *ev);

/* The general parser: any event, with jansson; the error message in
 * ERRBUF. Same contract as lr_event_parse(). */
int lr_event_parse_general(const char *text, size_t len, lr_event *ev,
                           char *errbuf, size_t errlen);

#endif
