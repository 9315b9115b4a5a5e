/* form.c -- urlencoded web forms to lead objects (see form.h).
 *
 * Why not MHD's post processor: it needs a live connection (so it cannot
 * be tested alone), hands values over in pieces, and passes malformed
 * escapes through silently; a form body is at most 1 MiB and already in
 * memory, and a strict decoder of forty lines is easy to test to the byte.
 *
 * Invariant: every string that leaves lr_form_decode() is valid UTF-8
 * without NUL bytes, so jansson accepts it as it is.
 */
#include "server/form.h"

#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "leadrouter/error.h"
#include "leadrouter/model.h"

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* See form.h. */
int lr_form_unescape(const char *s, size_t n, char *out, size_t *outlen) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n) return LR_EINVAL;
            int h = hexval(s[i + 1]), l = hexval(s[i + 2]);
            if (h < 0 || l < 0) return LR_EINVAL;
            c = (char)(h << 4 | l);
            i += 2;
        }
        if (c == '\0') return LR_EINVAL;   /* a %00, or a NUL byte as it is */
        out[w++] = c;
    }
    out[w] = '\0';
    *outlen = w;
    return LR_OK;
}

/* See form.h. */
bool lr_utf8_valid(const char *s, size_t n) {
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        unsigned c = *p;
        size_t k = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
                   (c & 0xF8) == 0xF0 ? 4 : 0;
        if (k == 0 || (size_t)(end - p) < k) return false;
        if ((k == 2 && c < 0xC2) || (k == 4 && c > 0xF4)) return false;
        for (size_t i = 1; i < k; i++)
            if ((p[i] & 0xC0) != 0x80) return false;
        if (k == 3 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0))) return false;
        if (k == 4 && ((c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] >= 0x90))) return false;
        p += k;
    }
    return true;
}

/* Decodes the N bytes at S into a new string in *OUT. WHAT names the part
 * ("name", "value") for the message. */
static int decode_part(const char *s, size_t n, size_t pair, const char *what, char **out,
                       char *err, size_t errlen) {
    char *d = malloc(n + 1);
    size_t dn;
    if (!d) return LR_ENOMEM;
    if (lr_form_unescape(s, n, d, &dn) != LR_OK) {
        free(d);
        snprintf(err, errlen, "pair %zu: the %s has a bad %%-escape, a %%00 or a NUL byte", pair,
                 what);
        return LR_EINVAL;
    }
    if (!lr_utf8_valid(d, dn)) {
        free(d);
        snprintf(err, errlen, "pair %zu: the %s is not valid UTF-8", pair, what);
        return LR_EINVAL;
    }
    *out = d;
    return LR_OK;
}

void lr_form_release(lr_form *f) {
    if (!f) return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->pairs[i].name);
        free(f->pairs[i].value);
    }
    free(f->pairs);
    f->pairs = NULL;
    f->n = 0;
}

/* See form.h. */
int lr_form_decode(const char *body, size_t len, lr_form *out, char *err, size_t errlen) {
    lr_form f = { NULL, 0 };
    size_t cap = 0, pos = 0, npair = 0;
    int rc = LR_OK;
    if (errlen) err[0] = '\0';
    while (pos < len) {
        const char *amp = memchr(body + pos, '&', len - pos);
        size_t end = amp ? (size_t)(amp - body) : len;
        const char *s = body + pos;
        size_t n = end - pos;
        pos = end + 1;
        if (n == 0) continue;
        npair++;
        if (f.n == LR_FORM_MAX_PAIRS) {
            snprintf(err, errlen, "a form has at most %d fields", LR_FORM_MAX_PAIRS);
            rc = LR_EINVAL;
            goto fail;
        }
        const char *eq = memchr(s, '=', n);
        size_t kn = eq ? (size_t)(eq - s) : n;
        if (kn == 0) {
            snprintf(err, errlen, "pair %zu has an empty name", npair);
            rc = LR_EINVAL;
            goto fail;
        }
        if (f.n == cap) {
            size_t ncap = cap ? 2 * cap : 16;
            lr_form_pair *np = realloc(f.pairs, ncap * sizeof *np);
            if (!np) { rc = LR_ENOMEM; goto fail; }
            f.pairs = np;
            cap = ncap;
        }
        lr_form_pair *p = &f.pairs[f.n];
        p->name = p->value = NULL;
        if ((rc = decode_part(s, kn, npair, "name", &p->name, err, errlen)) != LR_OK) goto fail;
        f.n++;                      /* from here on, released with the form */
        const char *v = eq ? eq + 1 : s + n;
        if ((rc = decode_part(v, (size_t)(s + n - v), npair, "value", &p->value, err, errlen)) != LR_OK)
            goto fail;
    }
    *out = f;
    return LR_OK;
fail:
    lr_form_release(&f);
    return rc;
}

/* ---- mapping ----------------------------------------------------------------- */

typedef struct alias {
    const char *name;               /* as posted, lower case */
    const char *field;              /* lead field; "" for the name parts */
} alias;

static const alias aliases[] = {
    { "e-mail", "email" }, { "email_address", "email" },
    { "tel", "phone" }, { "telephone", "phone" }, { "phone_number", "phone" },
    { "full_name", "name" },
    { "organization", "company" }, { "organisation", "company" },
    { "zip", "postal_code" }, { "zipcode", "postal_code" }, { "zip_code", "postal_code" },
    { "postcode", "postal_code" },
};

/* The lead field a form NAME sets ("" for first_name/last_name), or NULL
 * for a custom field. source and received_at are not settable by a form. */
static const char *known_field(const char *name) {
    static const char *const direct[] = {
        "id", "email", "phone", "name", "company", "account", "country", "state",
        "postal_code", "product", "stage", "score", "value",
    };
    for (size_t i = 0; i < sizeof direct / sizeof direct[0]; i++)
        if (strcasecmp(name, direct[i]) == 0) return direct[i];
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcasecmp(name, aliases[i].name) == 0) return aliases[i].field;
    if (strcasecmp(name, "first_name") == 0 || strcasecmp(name, "last_name") == 0) return "";
    return NULL;
}

/* Parses a decimal number (optional sign, digits, fraction, exponent;
 * surrounding spaces allowed): no hex, inf or nan. */
static bool parse_number(const char *s, double *out) {
    while (*s == ' ') s++;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    size_t digits = 0;
    while (isdigit((unsigned char)*p)) { p++; digits++; }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) { p++; digits++; }
    }
    if (digits == 0) return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') p++;
        if (!isdigit((unsigned char)*p)) return false;
        while (isdigit((unsigned char)*p)) p++;
    }
    const char *end = p;
    while (*p == ' ') p++;
    if (*p) return false;
    char *e;
    double d = strtod(s, &e);
    if (e != end || !isfinite(d)) return false;
    *out = d;
    return true;
}

/* Adds custom field NAME = VALUE to FIELDS; a second value for the same
 * name turns it into a list. */
static int add_custom(json_t *fields, const char *name, const char *value) {
    json_t *v = json_string(value);
    if (!v) return LR_ENOMEM;
    json_t *old = json_object_get(fields, name);
    if (!old) return json_object_set_new(fields, name, v) == 0 ? LR_OK : LR_ENOMEM;
    if (json_is_array(old)) return json_array_append_new(old, v) == 0 ? LR_OK : LR_ENOMEM;
    json_t *list = json_array();
    if (!list || json_array_append(list, old) != 0 || json_array_append_new(list, v) != 0 ||
        json_object_set_new(fields, name, list) != 0) {
        json_decref(list);
        return LR_ENOMEM;
    }
    return LR_OK;
}

/* Sets the lead field FIELD from the pair named NAME. */
static int set_known(json_t *lead, const char *field, const char *name, const char *value,
                     char *err, size_t errlen) {
    if (json_object_get(lead, field)) {
        snprintf(err, errlen, "'%.64s' sets the lead's %s, which is already given", name, field);
        return LR_EINVAL;
    }
    json_t *v;
    if (strcmp(field, "score") == 0 || strcmp(field, "value") == 0) {
        double d;
        if (!parse_number(value, &d)) {
            snprintf(err, errlen, "'%.64s' must be a number", name);
            return LR_EINVAL;
        }
        v = json_real(d);
    } else {
        v = json_string(value);
    }
    if (!v || json_object_set_new(lead, field, v) != 0) return LR_ENOMEM;
    return LR_OK;
}

/* Whether C is white space a browser's input may carry around a value. */
static bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* V without the white space around it, in *TRIMMED when there was some
 * (to be freed), or V itself; NULL when out of memory. */
static const char *trim(const char *v, char **trimmed) {
    size_t n = strlen(v), a = 0;
    *trimmed = NULL;
    while (a < n && is_space(v[a])) a++;
    while (n > a && is_space(v[n - 1])) n--;
    if (a == 0 && v[n] == '\0') return v;
    return *trimmed = strndup(v + a, n - a);
}

/* See form.h. */
int lr_form_to_lead(const lr_form *form, const char *source, const char *gen_id,
                    json_t **out, char *err, size_t errlen) {
    json_t *lead = json_object(), *fields = json_object();
    const char *first = NULL, *last = NULL;
    char *first_buf = NULL, *last_buf = NULL;
    int rc = LR_ENOMEM;
    if (errlen) err[0] = '\0';
    if (!lead || !fields) goto fail;
    for (size_t i = 0; i < form->n; i++) {
        const lr_form_pair *p = &form->pairs[i];
        /* a known field's value goes in without the white space around it;
         * one of white space alone is an input left empty; an id that is
         * not empty is taken as it is (the event parser refuses one with a
         * control character) */
        const char *f = known_field(p->name);
        char *buf = NULL;
        const char *v = trim(p->value, &buf);
        if (!v) {
            rc = LR_ENOMEM;
            goto fail;
        }
        if (*v == '\0') {
            free(buf);
            continue;
        }
        if (f && strcmp(f, "id") == 0) {
            free(buf);
            buf = NULL;
            v = p->value;
        }
        if (!f) {
            rc = add_custom(fields, p->name, p->value);
        } else if (*f == '\0') {
            bool is_first = tolower((unsigned char)p->name[0]) == 'f';
            const char **part = is_first ? &first : &last;
            if (*part) {
                snprintf(err, errlen, "'%.64s' is given twice", p->name);
                rc = LR_EINVAL;
            } else {
                *part = v;
                *(is_first ? &first_buf : &last_buf) = buf;
                buf = NULL;
                rc = LR_OK;
            }
        } else {
            rc = set_known(lead, f, p->name, v, err, errlen);
        }
        free(buf);
        if (rc != LR_OK) goto fail;
    }
    if (!first && !last && json_object_size(lead) == 0 && json_object_size(fields) == 0) {
        snprintf(err, errlen, "the form has no filled-in field");   /* a blank submit, a bot */
        rc = LR_EINVAL;
        goto fail;
    }
    if ((first || last) && !json_object_get(lead, "name")) {
        char *full = NULL;
        if (asprintf(&full, "%s%s%s", first ? first : "", first && last ? " " : "",
                     last ? last : "") < 0) {
            rc = LR_ENOMEM;
            goto fail;
        }
        rc = json_object_set_new(lead, "name", json_string(full)) == 0 ? LR_OK : LR_ENOMEM;
        free(full);
        if (rc != LR_OK) goto fail;
    }
    rc = LR_ENOMEM;
    if (!json_object_get(lead, "id") && json_object_set_new(lead, "id", json_string(gen_id)) != 0)
        goto fail;
    if (json_object_set_new(lead, "source", json_string(source)) != 0) goto fail;
    if (json_object_size(fields) > 0) {
        rc = json_object_set(lead, "fields", fields) == 0 ? LR_OK : LR_ENOMEM;
        if (rc != LR_OK) goto fail;
    }
    json_decref(fields);
    free(first_buf);
    free(last_buf);
    *out = lead;
    return LR_OK;
fail:
    json_decref(lead);
    json_decref(fields);
    free(first_buf);
    free(last_buf);
    return rc;
}

/* ---- ids ------------------------------------------------------------------- */

void lr_form_new_id(char *out) {
    static _Atomic uint64_t last;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t stamp = ((uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000) << 16;
    uint64_t prev = atomic_load(&last);
    do {
        if (stamp <= prev) stamp = prev + 1;
    } while (!atomic_compare_exchange_weak(&last, &prev, stamp));
    unsigned char rnd[4];
    randombytes_buf(rnd, sizeof rnd);
    snprintf(out, LR_FORM_ID_LEN + 1, "form-%016llx%02x%02x%02x%02x", (unsigned long long)stamp,
             rnd[0], rnd[1], rnd[2], rnd[3]);
}
