/* message.c -- the bytes of a delivery: webhook body, its signature, and
 * the email for a sales rep (see message.h).
 *
 * Invariants:
 *   - every writer appends to the caller's lr_buf and, on any failure,
 *     truncates it back to its length on entry: OUT is unchanged;
 *   - nothing here reads the clock: every time comes from the caller;
 *   - in the email, every byte taken from data (lead, decision, config)
 *     goes through clean(), which turns control characters into spaces, so
 *     data can neither end a header line nor start a line of its own; the
 *     only line ends are the CRLFs written by emit_lines() and the header
 *     writer. Lead and decision JSON are UTF-8 once jansson has read them,
 *     so cutting at a UTF-8 boundary is enough to keep the body valid.
 *
 * The email body is first composed with '\n' line ends in a scratch buffer,
 * then copied line by line with CRLF: one place knows about line ends and
 * lengths. A body whose lines all fit BODY_LINE_MAX goes as it is (8bit);
 * one with a longer line goes base64 (libsodium), its lines whole up to
 * LONG_LINE_MAX: a cut instruction would not work.
 */
#include "delivery/message.h"

#include "core/json_load.h"

#include "leadrouter/decision.h"
#include "leadrouter/event.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BODY_LINE_MAX 900           /* bytes, without the CRLF (RFC 5322 allows 998) */
#define LONG_LINE_MAX 8192          /* a line's bytes in a base64 body */
#define B64_LINE 76                 /* characters of a base64 body's line (RFC 2045) */
#define SUBJECT_ID_MAX 200          /* bytes of the lead id in the Subject */
#define SUBJECT_ACTION_MAX 40
#define MAX_FIELDS 20               /* "fields" entries listed */
#define MAX_SKIPPED 10              /* skipped candidates named */
#define MAX_AGENTS 10               /* agents of a broadcast offer named */
#define MAX_RANKED 5                /* eligible agents whose figures are shown */
#define B64_WORD_RAW 45             /* bytes per RFC 2047 word: 72 characters encoded */
#define NO_AGENT "YOUR_AGENT_ID"    /* instructions, when the decision names no single agent */

/* ---- appending with a sticky error ------------------------------------------ */

/* A buffer and the first error met while appending to it: after a failure
 * every further append is a no-op, so writers check once at the end. */
typedef struct wr {
    lr_buf *b;
    int rc;
} wr;

static void put(wr *w, const char *s, size_t n) {
    if (w->rc == LR_OK && n > 0) w->rc = lr_buf_append(w->b, s, n);
}

static void puts_(wr *w, const char *s) {
    put(w, s, strlen(s));
}

static void putf(wr *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(wr *w, const char *fmt, ...) {
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    assert(n >= 0 && (size_t)n < sizeof tmp);      /* numbers and short literals only */
    if (n > 0) put(w, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

static void put_json(wr *w, const char *s) {
    if (w->rc == LR_OK) w->rc = lr_json_put_string(w->b, s);
}

/* S as a JSON string for a person to copy: as put_json, with the C1
 * controls (U+0080..U+009F) and U+2028, U+2029 written as \u escapes, so
 * that the line holds no character clean() would have turned into a space
 * and the string still names S exactly. */
static void put_json_text(wr *w, const char *s) {
    lr_buf tmp = LR_BUF_INIT;
    int rc = lr_json_put_string(&tmp, s);
    if (rc != LR_OK) {
        if (w->rc == LR_OK) w->rc = rc;
        lr_buf_release(&tmp);
        return;
    }
    const unsigned char *u = (const unsigned char *)tmp.data;
    size_t i = 0, start = 0;
    while (i < tmp.len) {
        unsigned cp = 0;
        size_t k = 0;
        if (u[i] == 0xC2 && i + 1 < tmp.len && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
            cp = u[i + 1], k = 2;
        else if (u[i] == 0xE2 && i + 2 < tmp.len && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
            cp = u[i + 2] == 0xA8 ? 0x2028 : 0x2029, k = 3;
        if (!k) { i++; continue; }
        put(w, tmp.data + start, i - start);
        putf(w, "\\u%04X", cp);
        start = i += k;
    }
    put(w, tmp.data + start, tmp.len - start);
    lr_buf_release(&tmp);
}

/* N bytes of S with every control character (C0, DEL, C1) and line or
 * paragraph separator (U+2028, U+2029) as a space. */
static void clean_n(wr *w, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, start = 0;
    while (i < n) {
        size_t bad = 0;             /* the bytes of a control character at i */
        if (u[i] < 0x20 || u[i] == 0x7F)
            bad = 1;
        else if (u[i] == 0xC2 && i + 1 < n && u[i + 1] >= 0x80 && u[i + 1] <= 0x9F)
            bad = 2;                /* U+0080..U+009F: NEL and the other C1 controls */
        else if (u[i] == 0xE2 && i + 2 < n && u[i + 1] == 0x80 && (u[i + 2] == 0xA8 || u[i + 2] == 0xA9))
            bad = 3;                /* U+2028, U+2029: line and paragraph separators */
        if (!bad) {
            i++;
            continue;
        }
        put(w, s + start, i - start);
        put(w, " ", 1);
        start = i += bad;
    }
    put(w, s + start, n - start);
}

static void clean(wr *w, const char *s) {
    if (s) clean_n(w, s, strlen(s));
}

/* Truncates B back to MARK when RC is an error; returns RC. */
static int finish(lr_buf *b, size_t mark, int rc) {
    if (rc != LR_OK && b->data) {
        b->len = mark;
        b->data[mark] = '\0';
    }
    return rc;
}

/* The length of the longest prefix of S[0..N) of at most MAX bytes that
 * does not split a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
    if (n <= max) return n;
    size_t k = max;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80) k--;
    return k;
}

/* ---- webhook body ------------------------------------------------------------ */

int lr_delivery_webhook_body(const lr_delivery_msg *m, lr_buf *out) {
    size_t mark = out->len;
    wr w = { out, LR_OK };
    putf(&w, "{\"id\":\"dlv_%" PRId64 "\",\"type\":\"decision.", m->id);
    /* the action, escaped, without the opening quote lr_json_put_string writes */
    size_t q = out->len;
    put_json(&w, m->action ? m->action : "unknown");
    if (w.rc == LR_OK) {
        memmove(out->data + q, out->data + q + 1, out->len - q);   /* with the NUL */
        out->len--;
    }
    puts_(&w, ",\"created_at\":");
    if (m->created_at == LR_TIME_NONE) {
        puts_(&w, "null");
    } else {
        char t[48];
        size_t n = lr_time_format(m->created_at, t, sizeof t);
        put(&w, "\"", 1);
        put(&w, t, n);
        put(&w, "\"", 1);
    }
    puts_(&w, ",\"channel\":");
    put_json(&w, m->channel);
    puts_(&w, ",\"lead\":");
    if (m->lead_json && m->lead_len > 0) put(&w, m->lead_json, m->lead_len);
    else puts_(&w, "null");
    puts_(&w, ",\"decision\":");
    if (m->decision_json && m->decision_len > 0) put(&w, m->decision_json, m->decision_len);
    else puts_(&w, "null");
    put(&w, "}", 1);
    return finish(out, mark, w.rc);
}

/* ---- signature --------------------------------------------------------------- */

/* HMAC-SHA256 with key SECRET over T "." BODY into MAC. */
static void hmac(const char *secret, size_t secret_len, const char *t, size_t tlen,
                 const char *body, size_t len, unsigned char mac[crypto_auth_hmacsha256_BYTES]) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, secret_len);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)t, tlen);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)".", 1);
    if (len > 0) crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

int lr_delivery_sign(const char *secret, size_t secret_len, int64_t t_sec,
                     const char *body, size_t len, char out[LR_SIGNATURE_MAX]) {
    if (!secret || secret_len == 0 || (!body && len > 0)) return LR_EINVAL;
    if (sodium_init() < 0) return LR_EIO;
    char t[24];
    int tlen = snprintf(t, sizeof t, "%" PRId64, t_sec);
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char hex[2 * crypto_auth_hmacsha256_BYTES + 1];
    hmac(secret, secret_len, t, (size_t)tlen, body, len, mac);
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, LR_SIGNATURE_MAX, "t=%s,v1=%s", t, hex);
    return LR_OK;
}

/* One "key=value" item of a signature header. */
typedef struct sig_item {
    const char *key, *val;
    size_t klen, vlen;
} sig_item;

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Reads the item at *PP into IT and moves *PP past it and its comma.
 * Returns 1 for an item, 0 at the end of the header, -1 when malformed (an
 * empty item, no '=' or an empty key, a trailing comma). */
static int next_item(const char **pp, sig_item *it) {
    const char *p = *pp;
    if (*p == '\0') return 0;
    while (is_blank(*p)) p++;
    const char *start = p;
    while (*p && *p != ',') p++;
    const char *end = p;
    while (end > start && is_blank(end[-1])) end--;
    const char *eq = memchr(start, '=', (size_t)(end - start));
    if (!eq || eq == start) return -1;
    if (*p == ',') {
        p++;
        const char *rest = p;
        while (is_blank(*rest)) rest++;
        if (*rest == '\0') return -1;
    }
    it->key = start;
    it->klen = (size_t)(eq - start);
    it->val = eq + 1;
    it->vlen = (size_t)(end - eq - 1);
    *pp = p;
    return 1;
}

static bool key_is(const sig_item *it, const char *k) {
    return it->klen == strlen(k) && memcmp(it->key, k, it->klen) == 0;
}

/* Parses a t value: an optional '-' then 1 to 18 digits (no overflow). */
static bool parse_t(const char *s, size_t n, int64_t *out) {
    bool neg = n > 0 && s[0] == '-';
    size_t i = neg ? 1 : 0;
    if (n - i < 1 || n - i > 18) return false;
    int64_t v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes a v1 value (exactly 64 hex digits) into MAC. */
static bool parse_v1(const char *s, size_t n, unsigned char mac[crypto_auth_hmacsha256_BYTES]) {
    if (n != 2 * crypto_auth_hmacsha256_BYTES) return false;
    for (size_t i = 0; i < crypto_auth_hmacsha256_BYTES; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        mac[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

int lr_delivery_verify(const char *secret, size_t secret_len, const char *header,
                       const char *body, size_t len, int64_t now_sec, int64_t tolerance_sec) {
    if (!secret || secret_len == 0 || !header || (!body && len > 0) || tolerance_sec < 0)
        return LR_EINVAL;
    unsigned char got[crypto_auth_hmacsha256_BYTES], want[crypto_auth_hmacsha256_BYTES];
    const char *t_text = NULL;
    size_t t_len = 0, nv1 = 0;
    int64_t t = 0;
    sig_item it;
    int k;

    /* first pass: the whole header is well-formed, with one t and a v1 */
    for (const char *p = header; (k = next_item(&p, &it)) != 0;) {
        if (k < 0) return LR_EINVAL;
        if (key_is(&it, "t")) {
            if (t_text || !parse_t(it.val, it.vlen, &t)) return LR_EINVAL;
            t_text = it.val;
            t_len = it.vlen;
        } else if (key_is(&it, "v1")) {
            if (!parse_v1(it.val, it.vlen, got)) return LR_EINVAL;
            nv1++;
        }
    }
    if (!t_text || nv1 == 0) return LR_EINVAL;
    if (sodium_init() < 0) return LR_EIO;

    /* second pass: compare every v1, all of them, in constant time each */
    hmac(secret, secret_len, t_text, t_len, body, len, want);
    bool match = false;
    for (const char *p = header; next_item(&p, &it) > 0;) {
        if (key_is(&it, "v1") && parse_v1(it.val, it.vlen, got) &&
            sodium_memcmp(got, want, sizeof want) == 0)
            match = true;
    }
    sodium_memzero(want, sizeof want);
    if (!match) return LR_DELIVERY_EREFUSED;
    /* |now - t| without overflow: the difference of the ordered pair fits in uint64 */
    uint64_t age = now_sec >= t ? (uint64_t)now_sec - (uint64_t)t : (uint64_t)t - (uint64_t)now_sec;
    return age <= (uint64_t)tolerance_sec ? LR_OK : LR_DELIVERY_EREFUSED;
}

/* ---- email: reading the JSON --------------------------------------------------- */

/* What the email says, read from the message and its JSON. Strings borrow
 * the message or the JSON trees. */
typedef struct mail {
    const lr_delivery_msg *m;
    json_t *lead;                   /* an object, or NULL (absent or unreadable) */
    json_t *dec;                    /* an object, or NULL */
    bool lead_unreadable;
    const char *lead_id;
    const char *action;
    const char *agent;              /* the single agent acted for, or NULL */
} mail;

/* Reads JSON text into an object; NULL when absent, unparsable or not an
 * object (*BAD says which of the last two). */
static json_t *load_object(const char *s, size_t n, bool *bad) {
    *bad = false;
    if (!s || n == 0) return NULL;
    json_error_t err;
    json_t *v = lr_json_loadb_text(s, n, JSON_ALLOW_NUL, &err);   /* a \u0000 in a lead is data too */
    if (!json_is_object(v)) {
        json_decref(v);
        *bad = true;
        return NULL;
    }
    return v;
}

/* The string at KEY of object O (NULL when O is NULL or the value is not a
 * non-empty string). */
static const char *get_str(const json_t *o, const char *key) {
    const char *s = json_string_value(json_object_get(o, key));
    return s && *s ? s : NULL;
}

static void mail_read(mail *ml, const lr_delivery_msg *m) {
    bool bad;
    memset(ml, 0, sizeof *ml);
    ml->m = m;
    ml->lead = load_object(m->lead_json, m->lead_len, &ml->lead_unreadable);
    ml->dec = load_object(m->decision_json, m->decision_len, &bad);
    ml->lead_id = get_str(ml->dec, "lead");
    if (!ml->lead_id) ml->lead_id = get_str(ml->lead, "id");
    if (!ml->lead_id) ml->lead_id = "(no id)";
    ml->action = m->action && *m->action ? m->action : get_str(ml->dec, "action");
    if (!ml->action) ml->action = "update";
    ml->agent = m->agent && *m->agent ? m->agent : get_str(ml->dec, "agent");
    const json_t *agents = json_object_get(ml->dec, "agents");
    if (!ml->agent && json_array_size(agents) == 1)
        ml->agent = json_string_value(json_array_get(agents, 0));
}

static void mail_release(mail *ml) {
    json_decref(ml->lead);
    json_decref(ml->dec);
}

static bool action_is(const mail *ml, const char *a) {
    return strcmp(ml->action, a) == 0;
}

/* Actions after which the lead is the rep's to work. A reassigned
 * decision names the agent the lead was taken from (the one who missed its
 * SLA); the agent it goes to gets an assigned decision of its own. */
static bool assigned_like(const mail *ml) {
    return action_is(ml, "assigned") || action_is(ml, "claimed");
}

/* Actions after which the decision's agent no longer has the lead (nor
 * may its key read it: GET /v1/leads/{id} is a 404 to it). */
static bool taken_away(const mail *ml) {
    return action_is(ml, "expired") || action_is(ml, "released") || action_is(ml, "reassigned") ||
           action_is(ml, "recycled");
}

/* A claim_refused whose why.reason is the agent's state (away, at
 * capacity, a cap, off shift...): the lead stays offered to it, or waiting
 * in its pool, and a claim once it can take a lead again may succeed. Any
 * other reason (not offered, already claimed, closed, ...): it cannot. */
static bool refused_for_now(const mail *ml) {
    if (!action_is(ml, "claim_refused")) return false;
    const char *why = get_str(json_object_get(ml->dec, "why"), "reason");
    if (!why || !*why) return false;
    for (int i = LR_SKIP_NONE + 1; i < LR_SKIP__COUNT; i++)
        if (i != LR_SKIP_NO_MATCH && !lr_skip_is_history((lr_skip)i) &&
            strcmp(why, lr_skip_names[i]) == 0)
            return true;
    return false;
}

/* ---- email: headers ------------------------------------------------------------ */

/* An address usable as it is in From/To: non-empty, no control character,
 * nothing that would make it a list or a display name. */
static bool address_ok(const char *s) {
    if (!s || !*s) return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F || *p == '<' || *p == '>' || *p == ',') return false;
    return true;
}

/* Writes the RFC 5322 date of T ("Sat, 28 Nov 2026 10:00:00 +0000") into
 * OUT (>= 32 bytes), from lr_time_format's text. False for a time outside
 * the years 0000-9999. */
static bool rfc5322_date(lr_time t, char out[32]) {
    static const char *const mon[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
    static const char *const wday[7] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    char iso[48];
    size_t n = lr_time_format(t, iso, sizeof iso);   /* YYYY-MM-DDTHH:MM:SS[.mmm]Z */
    if (n < 20 || iso[4] != '-' || iso[7] != '-' || iso[10] != 'T') return false;
    int month = (iso[5] - '0') * 10 + (iso[6] - '0');
    int64_t days = t / 86400000;
    if (t % 86400000 < 0) days--;
    int wd = (int)(((days % 7) + 7 + 4) % 7);           /* 1970-01-01 was a Thursday */
    snprintf(out, 32, "%s, %.2s %s %.4s %.8s +0000", wday[wd], iso + 8, mon[month - 1], iso,
             iso + 11);
    return true;
}

/* Writes S (N bytes of UTF-8) as RFC 2047 encoded words of at most 75
 * characters, folded onto continuation lines. */
static void put_encoded_words(wr *w, const char *s, size_t n) {
    for (size_t i = 0; i < n;) {
        size_t k = utf8_cut(s + i, n - i, B64_WORD_RAW);
        if (k == 0) k = n - i < B64_WORD_RAW ? n - i : B64_WORD_RAW;   /* not UTF-8 */
        char b64[sodium_base64_ENCODED_LEN(B64_WORD_RAW, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s + i, k,
                          sodium_base64_VARIANT_ORIGINAL);
        if (i > 0) puts_(w, "\r\n ");
        puts_(w, "=?UTF-8?B?");
        puts_(w, b64);
        puts_(w, "?=");
        i += k;
    }
}

/* Appends S cleaned and cut to MAX bytes ("..." when cut). */
static void clean_cut(wr *w, const char *s, size_t max) {
    size_t n = strlen(s), k = utf8_cut(s, n, max);
    clean_n(w, s, k);
    if (k < n) puts_(w, "...");
}

/* B64: the body goes base64 (a line of it is longer than RFC 5322 allows
 * a line of the message), else as it is. */
static int write_headers(const mail *ml, bool b64, lr_buf *out) {
    const lr_delivery_msg *m = ml->m;
    char date[32];
    if (!address_ok(m->from) || !address_ok(m->to) || !rfc5322_date(m->now, date))
        return LR_EINVAL;
    lr_buf subj = LR_BUF_INIT;
    wr s = { &subj, LR_OK };
    bool offer_or_assign = action_is(ml, "offered") || assigned_like(ml);
    puts_(&s, offer_or_assign ? "New lead " : "Lead ");
    clean_cut(&s, ml->lead_id, SUBJECT_ID_MAX);
    if (offer_or_assign && m->to_agent) {
        puts_(&s, " for you (");
    } else if (offer_or_assign && ml->agent) {     /* to a fixed address: whose it is */
        puts_(&s, " for ");
        clean_cut(&s, ml->agent, SUBJECT_ID_MAX);
        puts_(&s, " (");
    } else {
        puts_(&s, offer_or_assign ? " (" : ": ");
    }
    clean_cut(&s, ml->action, SUBJECT_ACTION_MAX);
    if (offer_or_assign) puts_(&s, ")");

    wr w = { out, s.rc };
    putf(&w, "Date: %s\r\n", date);
    puts_(&w, "From: ");
    puts_(&w, m->from);
    puts_(&w, "\r\nTo: ");
    puts_(&w, m->to);
    puts_(&w, "\r\nSubject: ");
    bool ascii = true;
    for (size_t i = 0; i < subj.len; i++) ascii = ascii && (unsigned char)subj.data[i] < 0x80;
    if (ascii) put(&w, subj.data, subj.len);
    else put_encoded_words(&w, subj.data, subj.len);
    putf(&w, "\r\nMessage-ID: <dlv-%" PRId64 "@leadrouter>\r\n", m->id);
    puts_(&w, "MIME-Version: 1.0\r\n"
              "Content-Type: text/plain; charset=utf-8\r\n");
    puts_(&w, b64 ? "Content-Transfer-Encoding: base64\r\n\r\n"
                  : "Content-Transfer-Encoding: 8bit\r\n\r\n");
    lr_buf_release(&subj);
    return w.rc;
}

/* ---- email: body ---------------------------------------------------------------- */

/* Writes a JSON value as text for a person: strings as they are, numbers
 * as numbers, arrays and objects as compact JSON. */
static void put_value(wr *w, const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_STRING: clean_n(w, json_string_value(v), json_string_length(v)); break;
    case JSON_INTEGER: putf(w, "%" JSON_INTEGER_FORMAT, json_integer_value(v)); break;
    case JSON_REAL: putf(w, "%.15g", json_real_value(v)); break;
    case JSON_TRUE: puts_(w, "yes"); break;
    case JSON_FALSE: puts_(w, "no"); break;
    case JSON_NULL: break;
    default: {
        char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!s) { if (w->rc == LR_OK) w->rc = LR_ENOMEM; break; }
        clean(w, s);
        free(s);
    }
    }
}

/* Whether V is worth a line: present, not null, not an empty string. */
static bool shown(const json_t *v) {
    return v && !json_is_null(v) && !(json_is_string(v) && json_string_length(v) == 0);
}

/* "  LABEL: VALUE\n" when KEY of the lead is shown; returns whether written. */
static bool lead_line(wr *w, const json_t *lead, const char *label, const char *key) {
    const json_t *v = json_object_get(lead, key);
    if (!shown(v)) return false;
    putf(w, "  %s: ", label);
    put_value(w, v);
    puts_(w, "\n");
    return true;
}

/* A lead key looked up at the top level, then in "fields". */
static const json_t *lead_key(const json_t *lead, const char *key) {
    const json_t *v = json_object_get(lead, key);
    return shown(v) ? v : json_object_get(json_object_get(lead, "fields"), key);
}

/* The "Other details" listed so far, and those there were. */
typedef struct details {
    size_t listed, total;
} details;

/* Lists custom field KEY: V under "Other details" (MAX_FIELDS at most). */
static void detail(wr *w, details *d, const char *key, const json_t *v) {
    if (!shown(v)) return;
    d->total++;
    if (d->listed == MAX_FIELDS) return;
    if (d->listed++ == 0) puts_(w, "  Other details:\n");
    puts_(w, "    ");
    clean(w, key);
    puts_(w, ": ");
    put_value(w, v);
    puts_(w, "\n");
}

/* Whether KEY is one a Name line is made of when the lead has no name. */
static bool part_of_name(const char *key) {
    return strcmp(key, "first_name") == 0 || strcmp(key, "last_name") == 0;
}

/* Who the lead is. */
static void write_lead(wr *w, const mail *ml) {
    const json_t *lead = ml->lead;
    puts_(w, "\nAbout the lead\n");
    if (!lead) {
        puts_(w, ml->lead_unreadable ? "  (the lead's details could not be read)\n"
                                     : "  (no details were sent with this lead)\n");
        return;
    }
    int n = 0;
    if (lead_line(w, lead, "Name", "name")) n++;
    else {
        const json_t *first = lead_key(lead, "first_name"), *last = lead_key(lead, "last_name");
        if (shown(first) || shown(last)) {
            puts_(w, "  Name: ");
            if (shown(first)) put_value(w, first);
            if (shown(first) && shown(last)) puts_(w, " ");
            if (shown(last)) put_value(w, last);
            puts_(w, "\n");
            n++;
        }
    }
    n += lead_line(w, lead, "Email", "email");
    n += lead_line(w, lead, "Phone", "phone");
    n += lead_line(w, lead, "Company", "company");
    n += lead_line(w, lead, "Source", "source");
    n += lead_line(w, lead, "Product", "product");
    const json_t *st = json_object_get(lead, "state"), *co = json_object_get(lead, "country");
    if (shown(st) || shown(co)) {
        puts_(w, "  Location: ");
        if (shown(st)) put_value(w, st);
        if (shown(st) && shown(co)) puts_(w, ", ");
        if (shown(co)) put_value(w, co);
        puts_(w, "\n");
        n++;
    }
    n += lead_line(w, lead, "Score", "score");
    n += lead_line(w, lead, "Value", "value");

    /* the custom fields: the lead's other top-level keys, then "fields"
     * (not again a first_name or last_name the Name line was made of).
     * A lead sent as a line of its own may carry the event's "at", and a
     * "type" of null (a lead line's "type" is absent or null: "lead" makes
     * it a wrapper, another string another event): those are not the
     * lead's. One sent wrapped, {"type":"lead","lead":{...}}, is kept
     * without the wrapper, and a "type" in it that is not null is the
     * lead's own ("commercial", "lead" too); then so is its "at". */
    bool names_shown = !shown(json_object_get(lead, "name"));
    const json_t *type = json_object_get(lead, "type");
    bool own_type_at = type && !json_is_null(type);
    details d = { 0, 0 };
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)lead, key, v) {
        if ((own_type_at || (strcmp(key, "type") != 0 && strcmp(key, "at") != 0)) &&
            strcmp(key, "fields") != 0 &&
            lr_lead_field_lookup(key, strlen(key)) < 0 && !(names_shown && part_of_name(key) && shown(v)))
            detail(w, &d, key, v);
    }
    json_object_foreach(json_object_get(lead, "fields"), key, v)
        if (!(names_shown && part_of_name(key) && !shown(json_object_get(lead, key))))
            detail(w, &d, key, v);
    size_t total = d.total, listed = d.listed;
    if (total > listed) putf(w, "    ... and %zu more\n", total - listed);
    if (n == 0 && total == 0) puts_(w, "  (no contact details)\n");
}

/* What happened, in words, for the action (after "Lead L1 "); "you" is
 * the agent, or its id in an email to a fixed address (who()). */
static const char *happened(const char *action) {
    static const char *const table[][2] = {
        { "assigned", "was assigned to you" },     { "offered", "was offered to you" },
        { "reassigned", "was taken from you" }, { "claimed", "was claimed by you" },
        { "released", "was released" },            { "expired", "expired" },
        { "recycled", "was recycled" },            { "sla_breached", "breached its SLA" },
        { "closed", "was closed" },                { "queued", "was queued" },
        { "held", "was put on hold" },             { "unrouted", "could not be routed" },
        { "rejected", "was rejected" },            { "claim_refused", "could not be claimed" },
        { "agent_away", "is affected by its agent going away" },
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(action, table[i][0]) == 0) return table[i][1];
    return NULL;
}

/* T as a person reads it: "2026-12-01 10:10:00 UTC" (no milliseconds). */
static void put_when(wr *w, lr_time when) {
    char t[48];
    size_t n = lr_time_format(when, t, sizeof t);       /* YYYY-MM-DDTHH:MM:SS[.mmm]Z */
    if (n >= 20 && t[10] == 'T') {
        t[10] = ' ';
        memcpy(t + 19, " UTC", 5);
    }
    clean(w, t);
}

/* "Lead L1 was assigned to you by rule R (strategy S, pool P) at T." */
static void write_summary(wr *w, const mail *ml) {
    const json_t *d = ml->dec;
    puts_(w, "Lead ");
    clean(w, ml->lead_id);
    const char *what = happened(ml->action);
    size_t yl = what ? strlen(what) : 0;
    if (what && yl > 4 && strcmp(what + yl - 4, " you") == 0 && !ml->m->to_agent) {
        puts_(w, " ");
        put(w, what, yl - 3);       /* "was assigned to " */
        if (ml->agent) clean(w, ml->agent); else puts_(w, "an agent");
    } else if (what) {
        puts_(w, " ");
        puts_(w, what);
    } else {
        puts_(w, ": ");
        clean(w, ml->action);
    }
    const char *rule = get_str(d, "rule"), *strategy = get_str(d, "strategy"),
               *pool = get_str(d, "pool");
    if (rule) { puts_(w, " by rule "); clean(w, rule); }
    if (strategy || pool) {
        puts_(w, " (");
        if (strategy) { puts_(w, "strategy "); clean(w, strategy); }
        if (strategy && pool) puts_(w, ", ");
        if (pool) { puts_(w, "pool "); clean(w, pool); }
        puts_(w, ")");
    }
    const char *at = get_str(d, "at");
    lr_time when = ml->m->created_at;
    if (when != LR_TIME_NONE || (at && lr_time_parse(at, strlen(at), &when) == LR_OK)) {
        puts_(w, " at ");
        put_when(w, when);
    } else if (at) {
        puts_(w, " at ");
        clean(w, at);
    }
    puts_(w, ".\n");
    const char *status = get_str(d, "status");
    if (status) { puts_(w, "Status: "); clean(w, status); puts_(w, "\n"); }
}

/* Writes candidate C's figures (decision.h: what a ranking strategy ranked
 * it by), "open 0, idle_ms 3000", and returns how many; nothing for an
 * entry without any. */
static size_t put_figures(wr *w, const json_t *c) {
    const char *key;
    const json_t *v;
    size_t n = 0;
    json_object_foreach((json_t *)c, key, v) {
        if (!strcmp(key, "agent") || !strcmp(key, "chosen") || !strcmp(key, "eligible") ||
            !strcmp(key, "skipped"))
            continue;
        if (!json_is_integer(v) && !json_is_true(v)) continue;
        if (n++) puts_(w, ", ");
        clean(w, key);
        if (json_is_integer(v)) putf(w, " %" JSON_INTEGER_FORMAT, json_integer_value(v));
    }
    return n;
}

static bool has_figures(const json_t *c) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)c, key, v) {
        if (strcmp(key, "agent") && strcmp(key, "chosen") && strcmp(key, "eligible") &&
            strcmp(key, "skipped") && (json_is_integer(v) || json_is_true(v)))
            return true;
    }
    return false;
}

/* "  Ranked by: you (open 0, idle_ms 3000); ben (open 1, idle_ms 2000)
 * and 3 more.": the chosen agent's figures, then the first MAX_RANKED
 * eligible ones', when the strategy ranked them by any. */
static void write_ranking(wr *w, const mail *ml, const json_t *cands) {
    size_t ncands = json_array_size(cands), shown = 0, ranked = 0, more = 0;
    const json_t *chosen = NULL;
    bool any = false;
    for (size_t i = 0; i < ncands; i++) {
        const json_t *c = json_array_get(cands, i);
        bool ch = json_is_true(json_object_get(c, "chosen"));
        if (!ch && !json_is_true(json_object_get(c, "eligible"))) continue;
        if (ch && !chosen) chosen = c;
        if (has_figures(c)) any = true;
    }
    if (!any) return;
    puts_(w, "  Ranked by:");
    if (chosen) {
        puts_(w, " ");
        if (ml->m->to_agent) puts_(w, "you");
        else clean(w, get_str(chosen, "agent") ? get_str(chosen, "agent") : "?");
        puts_(w, " (");
        if (!put_figures(w, chosen)) puts_(w, "no figures");
        puts_(w, ")");
        shown++;
    }
    for (size_t i = 0; i < ncands; i++) {
        const json_t *c = json_array_get(cands, i);
        if (c == chosen || !json_is_true(json_object_get(c, "eligible"))) continue;
        if (ranked == MAX_RANKED) { more++; continue; }
        ranked++;
        puts_(w, shown++ ? "; " : " ");
        clean(w, get_str(c, "agent") ? get_str(c, "agent") : "?");
        puts_(w, " (");
        if (!put_figures(w, c)) puts_(w, "no figures");
        puts_(w, ")");
    }
    if (more) putf(w, " and %zu more", more);
    puts_(w, ".\n");
}

/* Why the lead came to this rep, from the decision's "why". */
static void write_why(wr *w, const mail *ml) {
    const json_t *why = json_object_get(ml->dec, "why");
    const json_t *cands = json_object_get(why, "candidates");
    const json_t *agents = json_object_get(ml->dec, "agents");
    const char *reason = get_str(why, "reason"), *detail = get_str(why, "detail");
    size_t ncands = json_array_size(cands), nagents = json_array_size(agents);
    if (ncands == 0 && nagents < 2 && !reason && !detail) return;
    if (ml->m->to_agent || !ml->agent) {
        puts_(w, ml->m->to_agent ? "\nWhy you\n" : "\nWhy\n");
    } else {
        puts_(w, "\nWhy ");
        clean(w, ml->agent);
        puts_(w, "\n");
    }
    if (nagents >= 2) {
        putf(w, "  Offered to %zu agents at once: ", nagents);
        for (size_t i = 0; i < nagents && i < MAX_AGENTS; i++) {
            if (i) puts_(w, ", ");
            clean(w, json_string_value(json_array_get(agents, i)));
        }
        if (nagents > MAX_AGENTS) putf(w, " and %zu more", nagents - MAX_AGENTS);
        puts_(w, "; the first to accept gets it.\n");
    }
    if (ncands > 0) {
        size_t eligible = 0, skipped = 0;
        for (size_t i = 0; i < ncands; i++) {
            const json_t *c = json_array_get(cands, i);
            if (json_is_true(json_object_get(c, "chosen")) ||
                json_is_true(json_object_get(c, "eligible")))
                eligible++;
            else if (json_is_string(json_object_get(c, "skipped")))
                skipped++;
        }
        const char *strategy = get_str(ml->dec, "strategy");
        if (nagents >= 2 || (strategy && strcmp(strategy, "broadcast") == 0)) {
            /* offered to them all: nobody was chosen */
            putf(w, "  %zu eligible agent%s", eligible, eligible == 1 ? "" : "s");
        } else {
            puts_(w, "  Chosen");
            if (strategy) { puts_(w, " by "); clean(w, strategy); }
            putf(w, " among %zu eligible agent%s", eligible, eligible == 1 ? "" : "s");
        }
        const json_t *ps = json_object_get(why, "pool_size");
        if (json_is_integer(ps)) putf(w, " (pool of %" JSON_INTEGER_FORMAT ")", json_integer_value(ps));
        if (skipped > 0) {
            puts_(w, "; skipped: ");
            size_t named = 0;
            for (size_t i = 0; i < ncands && named < MAX_SKIPPED; i++) {
                const json_t *c = json_array_get(cands, i);
                const char *r = json_string_value(json_object_get(c, "skipped"));
                if (!r) continue;
                if (named++) puts_(w, ", ");
                clean(w, get_str(c, "agent") ? get_str(c, "agent") : "?");
                puts_(w, " (");
                clean(w, r);
                puts_(w, ")");
            }
            if (skipped > named) putf(w, " and %zu more", skipped - named);
        }
        puts_(w, ".\n");
        write_ranking(w, ml, cands);
    }
    if (reason) { puts_(w, "  Reason: "); clean(w, reason); puts_(w, "\n"); }
    if (detail) { puts_(w, "  Detail: "); clean(w, detail); puts_(w, "\n"); }
}

/* BASE_URL cleaned, without its trailing slashes (nothing when NULL). */
static void put_base(wr *w, const char *base) {
    if (!base) return;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/') n--;
    clean_n(w, base, n);
}

/* S percent-encoded as one path segment (RFC 3986 unreserved kept). A
 * segment "." or ".." is written %2E, %2E%2E: as they are, clients (curl,
 * browsers) remove them from the path before sending it (RFC 3986, 5.2.4). */
static void put_path_segment(wr *w, const char *s) {
    if (strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
        puts_(w, s[1] ? "%2E%2E" : "%2E");
        return;
    }
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~')
            put(w, (const char *)p, 1);
        else
            putf(w, "%%%02X", *p);
    }
}

/* "  LABEL POST BASE/v1/events {"type":TYPE,"lead":L,"agent":A}" */
static void event_line(wr *w, const mail *ml, const char *label, const char *type) {
    putf(w, "  %s POST ", label);
    put_base(w, ml->m->base_url);
    putf(w, "/v1/events {\"type\":\"%s\",\"lead\":", type);
    put_json_text(w, ml->lead_id);
    puts_(w, ",\"agent\":");
    put_json_text(w, ml->agent ? ml->agent : NO_AGENT);
    puts_(w, "}\n");
}

/* How to act on the lead through the API. */
static void write_actions(wr *w, const mail *ml) {
    puts_(w, "\nWhat to do\n");
    bool lost = taken_away(ml), claim_later = refused_for_now(ml);
    bool never = action_is(ml, "claim_refused") && !claim_later;  /* not offered to it, claimed
                                                                      by another, closed */
    if (ml->m->to_agent && (lost || never)) {
        /* the agent's key may not read the lead: a link would be a 404 */
        puts_(w, lost ? "  Nothing: the lead is no longer yours.\n" : "  Nothing: the lead is not yours.\n");
        return;
    }
    bool post = true;
    if (claim_later) {
        /* the lead is still offered to the agent, or waits in its pool */
        puts_(w, ml->m->to_agent ? "  Claim the lead once you can take one again (while it is still open):\n"
                                 : "  Claim the lead once the agent can take one again (while it is still open):\n");
        event_line(w, ml, "Claim:  ", "claim");
    } else if (action_is(ml, "offered")) {
        event_line(w, ml, "Accept: ", "accept");
        event_line(w, ml, "Decline:", "decline");
        /* past its deadline the offer is gone: the accept is a 404 */
        const char *exp = get_str(ml->dec, "expires_at");
        lr_time until;
        if (exp && lr_time_parse(exp, strlen(exp), &until) == LR_OK) {
            puts_(w, "  The offer expires at ");
            put_when(w, until);
            puts_(w, ": accept before then.\n");
        }
    } else if (assigned_like(ml)) {
        puts_(w, "  Contact the lead, then report progress:\n    POST ");
        put_base(w, ml->m->base_url);
        puts_(w, "/v1/leads/");
        put_path_segment(w, ml->lead_id);
        puts_(w, "/progress {\"status\":\"contacted\"}\n  Statuses:");
        for (int i = 0; i < LR_PROGRESS__COUNT; i++) {
            puts_(w, i ? ", " : " ");
            puts_(w, lr_progress_names[i]);
        }
        puts_(w, "; with any, the lead's value: {\"status\":\"won\",\"value\":1200}.\n");
    } else {
        puts_(w, "  See the lead: GET ");
        put_base(w, ml->m->base_url);
        puts_(w, "/v1/leads/");
        put_path_segment(w, ml->lead_id);
        puts_(w, "\n");
        post = false;
    }
    if (ml->m->to_agent)
        puts_(w, "  Send requests with your agent key: Authorization: Bearer <key>\n");
    else if (lost || never)
        /* the agent's own key reads a lead it holds, not one it lost */
        puts_(w, "  Send requests with an admin key: Authorization: Bearer <key>\n");
    else
        puts_(w, "  Send requests with an API key (the agent's own, or an admin key): "
                 "Authorization: Bearer <key>\n");
    /* the server takes a body only as application/json (415 otherwise; curl -d sends a form's type) */
    if (post) puts_(w, "  and the header Content-Type: application/json (the bodies above are JSON)\n");
}

static void write_body(wr *w, const mail *ml) {
    const lr_delivery_msg *m = ml->m;
    if (m->agent_name && *m->agent_name) {
        puts_(w, "Hello ");
        clean(w, m->agent_name);
        puts_(w, ",\n\n");
    } else {
        puts_(w, "Hello,\n\n");
    }
    write_summary(w, ml);
    write_lead(w, ml);
    write_why(w, ml);
    write_actions(w, ml);
    putf(w, "\n-- \nleadrouter, delivery dlv_%" PRId64, m->id);
    if (m->channel) { puts_(w, " (channel "); clean(w, m->channel); puts_(w, ")"); }
    puts_(w, "\n");
}

/* The length of BODY's longest '\n'-separated line. */
static size_t longest_line(const char *body, size_t len) {
    size_t most = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - body) - i : len - i;
        if (n > most) most = n;
        i += n + 1;
    }
    return most;
}

/* Copies the '\n'-separated lines of BODY to W with CRLF ends, each cut to
 * MAX bytes at a UTF-8 boundary ("..." when cut). */
static void emit_lines(wr *w, const char *body, size_t len, size_t max) {
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(body + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - body) - i : len - i;
        if (n > max) {
            put(w, body + i, utf8_cut(body + i, n, max - 3));
            puts_(w, "...");
        } else {
            put(w, body + i, n);
        }
        puts_(w, "\r\n");
        i += n + 1;
    }
}

/* Appends TEXT base64-encoded (libsodium), B64_LINE characters a line. */
static void emit_base64(wr *w, const char *text, size_t len) {
    size_t raw = B64_LINE / 4 * 3;  /* input bytes of a full line */
    char line[B64_LINE + 1];
    for (size_t i = 0; i < len && w->rc == LR_OK; i += raw) {
        size_t n = len - i < raw ? len - i : raw;
        sodium_bin2base64(line, sizeof line, (const unsigned char *)text + i, n,
                          sodium_base64_VARIANT_ORIGINAL);
        puts_(w, line);
        puts_(w, "\r\n");
    }
}

int lr_delivery_email(const lr_delivery_msg *m, lr_buf *out) {
    size_t mark = out->len;
    mail ml;
    mail_read(&ml, m);
    lr_buf body = LR_BUF_INIT, lines = LR_BUF_INIT;
    wr b = { &body, LR_OK };
    write_body(&b, &ml);
    /* A line longer than a message's line may be (an instruction with a
     * long public_url and lead id) would have to be cut, and a cut
     * instruction does not work: such a body goes base64, its lines whole
     * (up to LONG_LINE_MAX, for a lead's longest values). */
    bool b64 = b.rc == LR_OK && longest_line(body.data, body.len) > BODY_LINE_MAX;
    int rc = b.rc == LR_OK ? write_headers(&ml, b64, out) : b.rc;
    if (rc == LR_OK) {
        wr w = { out, LR_OK };
        if (b64) {
            wr l = { &lines, LR_OK };
            emit_lines(&l, body.data, body.len, LONG_LINE_MAX);
            w.rc = l.rc;
            emit_base64(&w, lines.data, lines.len);
        } else {
            emit_lines(&w, body.data, body.len, BODY_LINE_MAX);
        }
        rc = w.rc;
    }
    lr_buf_release(&lines);
    lr_buf_release(&body);
    mail_release(&ml);
    return finish(out, mark, rc);
}
