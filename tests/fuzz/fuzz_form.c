/* fuzz_form.c -- libFuzzer target for the web-to-lead form decoder
 * (server/form.h).
 *
 * The input is "SOURCE\nBODY": the bytes before the first newline are the
 * {source} path segment, the rest the urlencoded body (no newline: source
 * "web", the whole input is the body). A source the server would refuse
 * (empty, over 64 bytes, not UTF-8, a control byte) is replaced by "web".
 *
 * Checked against the contract, with small reference implementations
 * written here from form.h's words, not from form.c:
 *   - lr_utf8_valid() agrees with a decoder by code points (no overlongs,
 *     surrogates, or code points above U+10FFFF) on the input and body;
 *   - lr_form_unescape() of the whole body succeeds exactly when every '%'
 *     starts %XX and there is no %00 nor NUL byte; on success its output is the
 *     reference decoding, NUL-terminated, no NUL inside, no longer than
 *     the input;
 *   - lr_form_decode() returns LR_OK exactly when the reference accepts
 *     (every non-empty '&' piece has a non-empty name, decodes, is UTF-8;
 *     at most LR_FORM_MAX_PAIRS pieces); on LR_OK: n <= LR_FORM_MAX_PAIRS,
 *     one pair per non-empty piece in order, each name non-empty, names
 *     and values NUL-free UTF-8 equal to the reference decoding of the
 *     parts around the first '='; on LR_EINVAL a message;
 *   - lr_form_to_lead() returns LR_OK or LR_EINVAL (with a message);
 *     LR_EINVAL whenever no value is filled in; on LR_OK a
 *     jansson object that json_dumps() can write, with only lead keys,
 *     "source" equal to the source, "id" a string (the form's first
 *     filled-in id, any case, or else the generated one), "score" and
 *     "value" finite reals when present, "fields" (when present) a
 *     non-empty object of strings and lists of two or more strings.
 * The form is always released and the lead decref'd (the leak checker
 * runs). Any violation aborts. */
#include "leadrouter/error.h"
#include "server/form.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GEN_ID "form-0000000000000000deadbeef"
#define SOURCE_MAX 64

/* UTF-8 by code points: the shortest form of a scalar value <= U+10FFFF. */
static bool ref_utf8(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        else if ((c >> 5) == 0x6) { k = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c >> 4) == 0xE) { k = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c >> 3) == 0x1E) { k = 4; cp = c & 0x07; min = 0x10000; }
        else return false;
        if (n - i < k) return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] >> 6) != 0x2) return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += k;
    }
    return true;
}

static int hex(uint8_t c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

/* Decodes S (N bytes) into OUT (N + 1 bytes); false for a bad escape or %00. */
static bool ref_unescape(const uint8_t *s, size_t n, uint8_t *out, size_t *outlen) {
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (n - i < 3 || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) return false;
            uint8_t b = (uint8_t)(hex(s[i + 1]) << 4 | hex(s[i + 2]));
            if (b == 0) return false;
            out[w++] = b;
            i += 2;
        } else {
            if (s[i] == 0) return false;        /* a NUL byte as it is, as %00 */
            out[w++] = s[i] == '+' ? ' ' : s[i];
        }
    }
    *outlen = w;
    return true;
}

/* Whether the decoded part equals the C string GOT (NUL-free, valid UTF-8). */
static bool part_matches(const uint8_t *raw, size_t n, const char *got, uint8_t *scratch) {
    size_t dn;
    if (!got || !ref_unescape(raw, n, scratch, &dn)) return false;
    return strlen(got) == dn && memcmp(got, scratch, dn) == 0 && ref_utf8(scratch, dn);
}

static bool source_ok(const uint8_t *s, size_t n) {
    if (n == 0 || n > SOURCE_MAX || !ref_utf8(s, n)) return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] == 0x7F) return false;
    return true;
}

static bool is_lead_key(const char *k) {
    static const char *const keys[] = {
        "id", "email", "phone", "name", "company", "account", "country", "state",
        "postal_code", "product", "stage", "score", "value", "source", "fields",
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(k, keys[i]) == 0) return true;
    return false;
}

static void check_lead(const json_t *lead, const lr_form *form, const char *source) {
    if (!json_is_object(lead)) abort();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)lead, key, v) {
        if (!is_lead_key(key)) abort();
        if ((strcmp(key, "score") == 0 || strcmp(key, "value") == 0) &&
            (!json_is_real(v) || !isfinite(json_real_value(v))))
            abort();
    }
    json_t *src = json_object_get(lead, "source");
    if (!json_is_string(src) || strcmp(json_string_value(src), source) != 0) abort();
    json_t *id = json_object_get(lead, "id");
    if (!json_is_string(id)) abort();
    /* the first id that is not empty nor white space alone, as given */
    const char *want = GEN_ID;
    for (size_t i = 0; i < form->n; i++)
        if (strcasecmp(form->pairs[i].name, "id") == 0 &&
            form->pairs[i].value[strspn(form->pairs[i].value, " \t\r\n")]) {
            want = form->pairs[i].value;
            break;
        }
    if (strcmp(json_string_value(id), want) != 0) abort();
    json_t *fields = json_object_get(lead, "fields");
    if (fields) {
        if (!json_is_object(fields) || json_object_size(fields) == 0) abort();
        json_object_foreach(fields, key, v) {
            if (json_is_string(v)) continue;
            if (!json_is_array(v) || json_array_size(v) < 2) abort();
            for (size_t i = 0; i < json_array_size(v); i++)
                if (!json_is_string(json_array_get(v, i))) abort();
        }
    }
    char *text = json_dumps(lead, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) abort();
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char source[SOURCE_MAX + 1] = "web";
    const uint8_t *body = data;
    size_t len = size;
    const uint8_t *nl = memchr(data, '\n', size);
    if (nl) {
        size_t sn = (size_t)(nl - data);
        if (source_ok(data, sn)) {
            memcpy(source, data, sn);
            source[sn] = '\0';
        }
        body = nl + 1;
        len = size - sn - 1;
    }

    if (lr_utf8_valid((const char *)data, size) != ref_utf8(data, size)) abort();
    if (lr_utf8_valid((const char *)body, len) != ref_utf8(body, len)) abort();

    /* Exact-size heap copies, so ASan sees any read past the end. */
    char *in = malloc(len ? len : 1);
    char *out = malloc(len + 1);
    uint8_t *ref = malloc(len + 1);
    if (!in || !out || !ref) abort();
    if (len) memcpy(in, body, len);

    size_t outlen = (size_t)-1, reflen;
    memset(out, 'X', len + 1);
    int rc = lr_form_unescape(in, len, out, &outlen);
    bool ref_ok = ref_unescape(body, len, ref, &reflen);
    if (rc == LR_OK) {
        if (!ref_ok || outlen > len || outlen != reflen || out[outlen] != '\0' ||
            memchr(out, '\0', outlen) || memcmp(out, ref, outlen) != 0)
            abort();
    } else if (rc != LR_EINVAL || ref_ok) {
        abort();
    }

    /* The reference verdict on the whole body. */
    bool want_ok = true;
    size_t pieces = 0;
    for (size_t pos = 0; pos < len;) {
        const uint8_t *amp = memchr(body + pos, '&', len - pos);
        size_t end = amp ? (size_t)(amp - body) : len;
        const uint8_t *s = body + pos;
        size_t n = end - pos, dn;
        pos = end + 1;
        if (n == 0) continue;
        pieces++;
        const uint8_t *eq = memchr(s, '=', n);
        size_t kn = eq ? (size_t)(eq - s) : n;
        const uint8_t *v = eq ? eq + 1 : s + n;
        if (kn == 0 || !ref_unescape(s, kn, ref, &dn) || !ref_utf8(ref, dn) ||
            !ref_unescape(v, (size_t)(s + n - v), ref, &dn) || !ref_utf8(ref, dn))
            want_ok = false;
    }
    if (pieces > LR_FORM_MAX_PAIRS) want_ok = false;

    lr_form form = { NULL, 0 };
    char err[256];
    memset(err, 'X', sizeof err);
    rc = lr_form_decode(in, len, &form, err, sizeof err);
    if (rc == LR_OK) {
        if (!want_ok || form.n != pieces || form.n > LR_FORM_MAX_PAIRS ||
            (form.n && !form.pairs))
            abort();
        size_t k = 0;
        for (size_t pos = 0; pos < len;) {
            const uint8_t *amp = memchr(body + pos, '&', len - pos);
            size_t end = amp ? (size_t)(amp - body) : len;
            const uint8_t *s = body + pos;
            size_t n = end - pos;
            pos = end + 1;
            if (n == 0) continue;
            const uint8_t *eq = memchr(s, '=', n);
            size_t kn = eq ? (size_t)(eq - s) : n;
            const uint8_t *v = eq ? eq + 1 : s + n;
            const lr_form_pair *p = &form.pairs[k++];
            if (!p->name || !p->value || p->name[0] == '\0' ||
                !lr_utf8_valid(p->name, strlen(p->name)) ||
                !lr_utf8_valid(p->value, strlen(p->value)) ||
                !part_matches(s, kn, p->name, ref) ||
                !part_matches(v, (size_t)(s + n - v), p->value, ref))
                abort();
        }
        if (k != form.n) abort();

        bool filled = false;
        for (size_t i = 0; i < form.n; i++)
            if (form.pairs[i].value[0]) filled = true;
        json_t *lead = NULL;
        memset(err, 'X', sizeof err);
        rc = lr_form_to_lead(&form, source, GEN_ID, &lead, err, sizeof err);
        if (rc == LR_OK) {
            if (!filled || !lead) abort();
            check_lead(lead, &form, source);
        } else if (rc != LR_EINVAL || err[0] == '\0' || !memchr(err, '\0', sizeof err)) {
            abort();
        }
        json_decref(lead);
    } else if (rc != LR_EINVAL || want_ok || err[0] == '\0' || !memchr(err, '\0', sizeof err)) {
        abort();
    }
    lr_form_release(&form);

    free(in);
    free(out);
    free(ref);
    return 0;
}
