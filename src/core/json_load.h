/* json_load.h -- jansson's json_loadb for what leadrouter reads from
 * outside: leads, events, the lead texts it keeps.
 *
 * jansson refuses an integer that does not fit in 64 bits ("too big
 * integer") though it is JSON; an ad platform's numeric id can be one.
 * Every number of a lead is a double to the engine anyway (model.h), so
 * such a text is read again with JSON_DECODE_INT_AS_REAL: each integer
 * becomes the double nearest to it, as a smaller one does. A number
 * beyond a double's range (1e400) stays an error
 * (json_error_numeric_overflow).
 */
#ifndef LR_CORE_JSON_LOAD_H
#define LR_CORE_JSON_LOAD_H

#include <jansson.h>
#include <stddef.h>

json_t *lr_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err);

#endif
