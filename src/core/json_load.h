/* json_load.h -- jansson's json_loadb for what leadrouter reads from
 * outside: leads, events, the lead texts it keeps.
 *
 * jansson refuses an integer that does not fit in 64 bits ("too big
 * integer") though it is JSON; an ad platform's numeric id can be one.
 * When a text has one, these read it again with each integer literal of
 * 19 digits or more rewritten, and only those (an integer of fewer digits
 * stays an integer: -0 stays 0, as the fast parser reads it):
 *
 *   lr_json_loadb        as a real, the double nearest to it: every
 *                        number of a lead is a double to the engine
 *                        (model.h), and 12345678901234567891 is then
 *                        the same number whether it fits or not;
 *   lr_json_loadb_text   as a string of its digits, for a person to read
 *                        (an email): what was sent, digit for digit.
 *
 * A number beyond a double's range (1e400) stays an error
 * (json_error_numeric_overflow), and any other error is reported where
 * it is in TEXT.
 */
#ifndef LR_CORE_JSON_LOAD_H
#define LR_CORE_JSON_LOAD_H

#include <jansson.h>
#include <stddef.h>

json_t *lr_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err);
json_t *lr_json_loadb_text(const char *text, size_t len, size_t flags, json_error_t *err);

#endif
