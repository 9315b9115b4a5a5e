/* expr.h -- the rule expression language.
 *
 *   state in ["CA", "NV"] and score >= 70
 *   domain(email) == "acme.com" or starts_with(lower(fields.utm_source), "fb")
 *   local_hour("America/New_York") >= 9 and local_weekday("America/New_York") not in ["sat", "sun"]
 *
 * Literals: strings ("..." or '...'), numbers, true, false, null, lists
 * [a, b]. Names: lead fields (source, product, state, score, stage, ...)
 * and custom ones as fields.NAME. Operators: == != < <= > >= in, not in,
 * and, or, not, parentheses. Functions: starts_with(s, p), ends_with(s, p),
 * contains(s, p) (substring, or membership when s is a list), lower(s),
 * domain(email), local_hour(zone) (0-23, a number) and local_weekday(zone)
 * ("mon".."sun") of the evaluation time in an IANA time zone; the zone is
 * a string literal, checked when the expression is compiled.
 *
 * A missing field is null; every comparison with null is false except
 * `== null` (and `!= null`, its negation). An expression is compiled once,
 * at config load, and evaluated without allocating.
 *
 * Threads: an expression that uses local_* is not thread-safe. Its zones
 * cache the last UTC offset span they looked up, and evaluation updates
 * that cache through the const pointer; the engine is single-threaded, so
 * one thread evaluates it at a time. Other expressions are read-only.
 */
#ifndef LEADROUTER_EXPR_H
#define LEADROUTER_EXPR_H

#include "leadrouter/model.h"

typedef struct lr_expr lr_expr;

/* Compiles SRC (LEN bytes). On success returns LR_OK and sets *out (owned;
 * free with lr_expr_free()). On a syntax or name error returns LR_ESYNTAX,
 * sets *err_col to the 1-based column of the problem and writes a message
 * (without position) into ERRBUF of ERRLEN bytes; *out is untouched.
 * A local_* call whose argument is not a string literal, or names a zone
 * ICU does not know, is such an error, at the argument's column. Returns
 * LR_ENOMEM (no message) when memory runs out. */
int lr_expr_compile(const char *src, size_t len, lr_expr **out,
                    int *err_col, char *errbuf, size_t errlen);

/* Evaluates EXPR against LEAD (both borrowed) at instant NOW: returns true
 * when the result is the boolean true, false for anything else (including
 * null). local_hour/local_weekday read NOW in their zone; with NOW =
 * LR_TIME_NONE they are null. Never allocates; not thread-safe when EXPR
 * uses local_* (see above). */
bool lr_expr_eval_at(const lr_expr *expr, const lr_lead *lead, lr_time now);

/* lr_expr_eval_at(EXPR, LEAD, LR_TIME_NONE): without a time, local_* are
 * null, so any comparison with them is false. */
bool lr_expr_eval(const lr_expr *expr, const lr_lead *lead);

void lr_expr_free(lr_expr *expr);   /* accepts NULL */

#endif
