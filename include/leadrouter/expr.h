/* expr.h -- the rule expression language.
 *
 *   state in ["CA", "NV"] and score >= 70
 *   domain(email) == "acme.com" or starts_with(lower(fields.utm_source), "fb")
 *
 * Literals: strings ("..." or '...'), numbers, true, false, null, lists
 * [a, b]. Names: lead fields (source, product, state, score, stage, ...)
 * and custom ones as fields.NAME. Operators: == != < <= > >= in, not in,
 * and, or, not, parentheses. Functions: starts_with(s, p), ends_with(s, p),
 * contains(s, p) (substring, or membership when s is a list), lower(s),
 * domain(email).
 *
 * A missing field is null; every comparison with null is false except
 * `== null` (and `!= null`, its negation). An expression is compiled once,
 * at config load, and evaluated without allocating.
 */
#ifndef LEADROUTER_EXPR_H
#define LEADROUTER_EXPR_H

#include "leadrouter/model.h"

typedef struct lr_expr lr_expr;

/* Compiles SRC (LEN bytes). On success returns LR_OK and sets *out (owned;
 * free with lr_expr_free()). On a syntax or name error returns LR_ESYNTAX,
 * sets *err_col to the 1-based column of the problem and writes a message
 * (without position) into ERRBUF of ERRLEN bytes; *out is untouched. */
int lr_expr_compile(const char *src, size_t len, lr_expr **out,
                    int *err_col, char *errbuf, size_t errlen);

/* Evaluates EXPR against LEAD: returns true when the result is the boolean
 * true, false for anything else (including null). Never allocates. */
bool lr_expr_eval(const lr_expr *expr, const lr_lead *lead);

void lr_expr_free(lr_expr *expr);   /* accepts NULL */

#endif
