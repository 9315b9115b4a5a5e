/* json_load.c -- json_loadb that reads integers past 64 bits (json_load.h). */
#include "core/json_load.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define LONG_DIGITS 19              /* INT64_MAX has 19: from there jansson may refuse */

/* Whether C is one of SET's characters (NUL is none). */
static bool in_set(char c, const char *set) {
    return c != '\0' && strchr(set, c) != NULL;
}

/* TEXT (LEN bytes) with every integer literal of LONG_DIGITS digits or
 * more (outside strings) rewritten: with ".0" after it, or AS_STRING in
 * quotes. malloc'd, *OUTLEN set; NULL when there is none (*COUNT 0) or
 * no memory. */
static char *rewrite(const char *text, size_t len, bool as_string, size_t *outlen, size_t *countp) {
    size_t count = 0;
    char *out = NULL;
    size_t o = 0;
    for (int pass = 0; pass < 2; pass++) {
        bool in_str = false;
        for (size_t i = 0; i < len;) {
            char c = text[i];
            if (in_str) {
                if (c == '\\' && i + 1 < len) {
                    if (out) { out[o++] = c; out[o++] = text[i + 1]; }
                    i += 2;
                    continue;
                }
                if (c == '"') in_str = false;
                if (out) out[o++] = c;
                i++;
                continue;
            }
            if (c == '"') in_str = true;
            if (c == '-' || (c >= '0' && c <= '9')) {
                size_t j = i + (c == '-'), first = j, digits = 0;
                while (j < len && text[j] >= '0' && text[j] <= '9') j++, digits++;
                /* an integer literal as JSON writes one: no leading 0, and
                 * nothing of a number after it (else it is left as it is,
                 * for the parse to refuse) */
                bool integer = digits > 0 && text[first] != '0' && (j >= len || !in_set(text[j], ".eE+-"));
                while (j < len && in_set(text[j], "0123456789.eE+-")) j++;     /* the token */
                bool long_int = integer && digits >= LONG_DIGITS;
                if (long_int) count++;
                if (out) {
                    if (long_int && as_string) out[o++] = '"';
                    memcpy(out + o, text + i, j - i);
                    o += j - i;
                    if (long_int) {
                        if (as_string) out[o++] = '"';
                        else { out[o++] = '.'; out[o++] = '0'; }
                    }
                }
                i = j;
                continue;
            }
            if (out) out[o++] = c;
            i++;
        }
        if (pass == 0) {
            *countp = count;
            if (count == 0 || !(out = malloc(len + 2 * count + 1))) return NULL;
        }
    }
    out[o] = '\0';
    *outlen = o;
    return out;
}

static json_t *load(const char *text, size_t len, size_t flags, json_error_t *err, bool as_string) {
    json_t *v = json_loadb(text, len, flags, err);
    if (v || json_error_code(err) != json_error_numeric_overflow) return v;
    size_t n, count = 0;
    char *copy = rewrite(text, len, as_string, &n, &count);
    if (!copy && count) return NULL;        /* no memory: the overflow stands */
    if (copy) {
        json_error_t again;
        v = json_loadb(copy, n, flags, &again);
        free(copy);
        if (v) return v;
    }
    /* an error further on, a real out of range, or what "0-99999999999999999999"
     * is (no long integer of ours: a syntax error): where it is in TEXT */
    return json_loadb(text, len, flags | JSON_DECODE_INT_AS_REAL, err);
}

json_t *lr_json_loadb(const char *text, size_t len, size_t flags, json_error_t *err) {
    return load(text, len, flags, err, false);
}

json_t *lr_json_loadb_text(const char *text, size_t len, size_t flags, json_error_t *err) {
    return load(text, len, flags, err, true);
}
