/* json_load.c -- json_loadb that reads integers past 64 bits (json_load.h). */
#include "core/json_load.h"

json_t *lr_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err) {
    json_t *v = json_loadb(text, len, flags, err);
    if (v || (flags & JSON_DECODE_INT_AS_REAL) || json_error_code(err) != json_error_numeric_overflow)
        return v;
    return json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, err);
}
