/* fuzz_json_load.c -- libFuzzer target for lr_json_loadb and
 * lr_json_loadb_text (src/core/json_load.c), which read again a text with
 * an integer literal past 64 bits, that literal rewritten.
 *
 * Against jansson reading every integer as a real: both take the same
 * texts, give the same values (numbers compared as doubles), and refuse
 * the others with the same error at the same byte. The text variant takes
 * the same texts too: its rewriting never makes a text JSON that was not
 * (nor one that was, not). */
#include "core/json_load.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int same(json_t *a, json_t *b) {
    if (json_is_number(a) && json_is_number(b)) return json_number_value(a) == json_number_value(b);
    if (json_typeof(a) != json_typeof(b)) return 0;
    switch (json_typeof(a)) {
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b)) return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!same(json_array_get(a, i), json_array_get(b, i))) return 0;
        return 1;
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b)) return 0;
        const char *k;
        json_t *v;
        json_object_foreach(a, k, v) {
            json_t *w = json_object_get(b, k);
            if (!w || !same(v, w)) return 0;
        }
        return 1;
    }
    default:
        return 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *s = (const char *)data;
    size_t fl = JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL;
    json_error_t ea, eb, ec;
    json_t *a = lr_json_loadb(s, size, fl, &ea);
    json_t *b = json_loadb(s, size, fl | JSON_DECODE_INT_AS_REAL, &eb);
    json_t *c = lr_json_loadb_text(s, size, fl, &ec);
    if (!a != !b || !a != !c) abort();
    if (a && !same(a, b)) abort();
    if (!a && (ea.position != eb.position || json_error_code(&ea) != json_error_code(&eb))) abort();
    json_decref(a);
    json_decref(b);
    json_decref(c);
    return 0;
}
