/* decision.c -- the JSON encoding of a decision (see decision.h).
 *
 * Keys, in this order, each left out when absent: "at" (absent when
 * LR_TIME_NONE), "lead", "action" (always), "agent" or "agents" (the array
 * wins when nagents > 0), "rule", "pool", "strategy", "expires_at" (when
 * not 0), "status", then "why"
 * = {"reason", "detail", "candidates", "pool_size"} -- "why" only when one of
 * them is present, "pool_size" only when pool_size > ncands. A candidate is
 * {"agent":A,"chosen":true}, {"agent":A,"eligible":true} or
 * {"agent":A,"skipped":REASON}; a chosen or eligible one may carry figures
 * after its state ("open":N, ..., decision.h), in LR_FIG_* order. No whitespace, no trailing newline; the
 * bytes depend on the decision alone.
 *
 * Strings are escaped here rather than through jansson. The project's rule
 * is to use the library for JSON; this is the one measured exception. For
 * a decision with 10 candidates (538 bytes, -O2, one core of the dev VM):
 * this file 185 ns; the same layout with every string through json_string
 * + json_dumpb(JSON_ENCODE_ANY) 2300 ns; a json_t tree dumped with
 * JSON_COMPACT 10000 ns -- against a budget of 4000 ns per lead for the
 * whole of `leadrouter route` at 250,000 leads/s, of which jansson's own
 * parse of the lead line already takes most. The escaper writes exactly
 * jansson's bytes for valid UTF-8 (\" \\ \b \f \n \r \t, other controls as
 * \u00XX with upper-case hex, everything else as is; test_decision.c
 * compares the two on thousands of generated strings) and replaces each
 * maximal ill-formed UTF-8 subpart with U+FFFD (Unicode's recommended
 * practice, as browsers and Python do), where jansson would refuse the
 * string and leave us nothing to write.
 *
 * The writer reserves an upper bound of the size once, then writes without
 * further checks: it cannot fail half-way.
 */
#include "leadrouter/decision.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

/* Length of the well-formed UTF-8 sequence at P (lead byte >= 0x80), or
 * minus the length of its maximal ill-formed subpart (at least 1). P is
 * NUL-terminated, and NUL is never a continuation byte, so this never
 * reads past the end. Table 3-7 of the Unicode standard. */
static int utf8_seq(const unsigned char *p) {
    unsigned c = p[0];
    unsigned lo = 0x80, hi = 0xBF;
    int n;
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c >= 0xE0 && c <= 0xEF) { n = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { n = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return -1;
    for (int i = 1; i < n; i++) {
        if (p[i] < lo || p[i] > hi) return -i;
        lo = 0x80; hi = 0xBF;
    }
    return n;
}

/* Worst-case encoded size of S as a JSON string: 6 bytes per input byte
 * (a control character as \u00XX; U+FFFD takes 3 for 1) plus the quotes. */
static size_t str_bound(const char *s) {
    return s ? 6 * strlen(s) + 2 : 0;
}

/* Writes S as a JSON string, quotes included, at P (room checked by the
 * caller with str_bound); returns the new end. */
static char *put_str(char *p, const char *s) {
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;
    *p++ = '"';
    for (;;) {
        unsigned c = *u;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') { *p++ = (char)c; u++; continue; }
        if (c == 0) break;
        if (c >= 0x80) {
            int k = utf8_seq(u);
            if (k > 0) {
                memcpy(p, u, (size_t)k);
                p += k; u += k;
            } else {
                memcpy(p, "\xEF\xBF\xBD", 3);     /* U+FFFD */
                p += 3; u += -k;
            }
            continue;
        }
        *p++ = '\\';
        switch (c) {
        case '"': *p++ = '"'; break;
        case '\\': *p++ = '\\'; break;
        case '\b': *p++ = 'b'; break;
        case '\f': *p++ = 'f'; break;
        case '\n': *p++ = 'n'; break;
        case '\r': *p++ = 'r'; break;
        case '\t': *p++ = 't'; break;
        default:
            memcpy(p, "u00", 3);
            p[3] = hex[c >> 4];
            p[4] = hex[c & 15];
            p += 5;
        }
        u++;
    }
    *p++ = '"';
    return p;
}

/* Writes the literal S at P and moves P past it. */
#define LIT(p, s) (memcpy((p), (s), sizeof(s) - 1), (p) += sizeof(s) - 1)

/* Writes ,"KEY":"VALUE" (no comma for the first member of an object) when
 * VALUE is not NULL. KEY is a string literal. */
#define MEMBER(p, first, key, value)                                     \
    do {                                                                  \
        if (value) {                                                      \
            if (!(first)) *(p)++ = ',';                                   \
            (first) = false;                                              \
            LIT(p, "\"" key "\":");                                       \
            (p) = put_str((p), (value));                                  \
        }                                                                 \
    } while (0)

#define MEMBER_MAX 16               /* ,"strategy": and the like */

/* Writes V in decimal at P; returns the byte after it. The digits go
 * straight to their places, without a copy through a buffer of variable
 * length (a call to memcpy for every figure of an explanation). */
static char *put_uint(char *p, size_t v) {
    size_t n = 1;
    for (size_t t = v; t >= 10; t /= 10) n++;
    char *end = p + n;
    do { *--end = (char)('0' + v % 10); v /= 10; } while (v);
    return p + n;
}

static char *put_int(char *p, int64_t v) {
    if (v < 0) {
        *p++ = '-';
        return put_uint(p, (size_t)(0 - (uint64_t)v));
    }
    return put_uint(p, (size_t)v);
}

/* ,"KEY": of each figure, in FIG_KEY_ROOM bytes so that it is copied
 * with one fixed-size copy, and the room one takes at most: FIG_KEY_ROOM
 * (the longest key, ,"below_min_sample":, is 20 bytes) and an int64_t
 * (20). */
#define FIG_KEY_ROOM 24
static const struct { char s[FIG_KEY_ROOM]; size_t len; } fig_key[LR_FIG__COUNT] = {
#define FIG_KEY(e, name) { ",\"" name "\":", sizeof(",\"" name "\":") - 1 },
    LR_FIG_MAP(FIG_KEY)
#undef FIG_KEY
};
#define FIG_MAX (FIG_KEY_ROOM + 20)

/* Writes C's figures at P; returns the new end. */
static char *put_figs(char *p, const lr_candidate *c) {
    for (unsigned f = 0; f < LR_FIG__COUNT; f++) {
        if (!(c->figs & (1u << f))) continue;
        memcpy(p, fig_key[f].s, FIG_KEY_ROOM);
        p += fig_key[f].len;
        if (LR_FIG_FLAGS & (1u << f)) LIT(p, "true");
        else p = put_int(p, c->fig[f]);
    }
    return p;
}

static const char *action_name(lr_action a) {
    assert((unsigned)a < LR_ACTION__COUNT);
    return (unsigned)a < LR_ACTION__COUNT ? lr_action_names[a] : "unknown";
}

/* A skipped candidate's tail, ,"skipped":"REASON"}, for every reason (the
 * names are plain ASCII: nothing to escape), each in TAIL_ROOM bytes so
 * that it is copied with one fixed-size copy: the writer has that room. */
#define TAIL_ROOM 32
#define SKIPPED_TAIL(name) ",\"skipped\":\"" name "\"}"
static const struct { char s[TAIL_ROOM]; size_t len; } skipped_json[LR_SKIP__COUNT] = {
#define SK_JSON(e, name) { SKIPPED_TAIL(name), sizeof SKIPPED_TAIL(name) - 1 },
    LR_SKIP_MAP(SK_JSON)
#undef SK_JSON
};
/* The room bound() gives a candidate besides its id: the comma, {"agent":,
 * the id's quotes and TAIL_ROOM; the longest tail is 27 bytes. */
#define CAND_MAX 48

/* Copies N bytes from S to D, short ids without a call: two overlapping
 * 8-byte loads and stores cover every length from 8 to 16. */
static inline void copy_id(char *d, const char *s, size_t n) {
    if (n > 16) {
        memcpy(d, s, n);
    } else if (n >= 8) {
        uint64_t a, b;
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
        memcpy(d, &a, 8);
        memcpy(d + n - 8, &b, 8);
    } else {
        for (size_t i = 0; i < n; i++) d[i] = s[i];
    }
}

static bool has_why(const lr_decision *d) {
    return d->reason || d->detail || d->ncands > 0 || d->pool_size > d->ncands;
}

/* An upper bound of the encoded size of D's why object. */
static size_t why_bound(const lr_decision *d) {
    size_t n = str_bound(d->reason) + str_bound(d->detail) + 2 * MEMBER_MAX;
    for (size_t i = 0; i < d->ncands; i++) {
        const lr_candidate *c = &d->cands[i];
        n += CAND_MAX + (c->agent_len ? c->agent_len + 2 : str_bound(c->agent));
        if (c->figs) n += LR_FIG__COUNT * FIG_MAX;
    }
    return n + 2 * MEMBER_MAX + 24;              /* candidates, pool_size, braces */
}

/* An upper bound of the encoded size of D. */
static size_t bound(const lr_decision *d) {
    size_t n = 96 + 5 * MEMBER_MAX;             /* braces, "at" and its time */
    n += str_bound(d->lead) + str_bound(action_name(d->action)) + str_bound(d->agent) +
         str_bound(d->rule) + str_bound(d->pool) + str_bound(d->strategy) +
         str_bound(d->status) + 4 * MEMBER_MAX + MEMBER_MAX + 32;   /* expires_at */
    for (size_t i = 0; i < d->nagents; i++) n += 1 + str_bound(d->agents[i]);
    return n + MEMBER_MAX + why_bound(d);        /* ,"why": */
}

/* Writes D's why object, {"reason":..,"candidates":[..],..}, at P (room
 * for why_bound(D) bytes); returns the new end. */
static char *write_why(const lr_decision *d, char *p) {
    bool wfirst = true;
    *p++ = '{';
    MEMBER(p, wfirst, "reason", d->reason);
    MEMBER(p, wfirst, "detail", d->detail);
    if (d->ncands > 0) {
        if (!wfirst) *p++ = ',';
        wfirst = false;
        LIT(p, "\"candidates\":[");
        for (size_t i = 0; i < d->ncands; i++) {
            const lr_candidate *c = &d->cands[i];
            assert(c->agent);
            if (i) *p++ = ',';
            LIT(p, "{\"agent\":");
            if (c->agent_len) {
                *p++ = '"';
                copy_id(p, c->agent, c->agent_len);
                p += c->agent_len;
                *p++ = '"';
            } else {
                p = put_str(p, c->agent ? c->agent : "");
            }
            if (c->state == LR_CAND_CHOSEN || c->state == LR_CAND_ELIGIBLE) {
                if (c->state == LR_CAND_CHOSEN) LIT(p, ",\"chosen\":true");
                else LIT(p, ",\"eligible\":true");
                if (c->figs) p = put_figs(p, c);
                *p++ = '}';
            } else {
                assert(c->state == LR_CAND_SKIPPED && (unsigned)c->reason < LR_SKIP__COUNT);
                unsigned r = (unsigned)c->reason < LR_SKIP__COUNT ? (unsigned)c->reason : 0;
                memcpy(p, skipped_json[r].s, TAIL_ROOM);
                p += skipped_json[r].len;
            }
        }
        *p++ = ']';
    }
    if (d->pool_size > d->ncands) {
        if (!wfirst) *p++ = ',';
        LIT(p, "\"pool_size\":");
        p = put_uint(p, d->pool_size);
    }
    *p++ = '}';
    return p;
}

/* Writes D at P (room for bound(D) bytes); returns the new end. */
static char *write_decision(const lr_decision *d, char *p) {
    bool first = true;
    *p++ = '{';
    if (d->at != LR_TIME_NONE) {
        first = false;
        LIT(p, "\"at\":\"");
        p += lr_time_format(d->at, p, 32);
        *p++ = '"';
    }
    MEMBER(p, first, "lead", d->lead);
    MEMBER(p, first, "action", action_name(d->action));
    if (d->nagents > 0) {
        LIT(p, ",\"agents\":[");
        for (size_t i = 0; i < d->nagents; i++) {
            assert(d->agents[i]);
            if (i) *p++ = ',';
            p = put_str(p, d->agents[i] ? d->agents[i] : "");
        }
        *p++ = ']';
    } else {
        MEMBER(p, first, "agent", d->agent);
    }
    MEMBER(p, first, "rule", d->rule);
    MEMBER(p, first, "pool", d->pool);
    MEMBER(p, first, "strategy", d->strategy);
    if (d->expires_at) {                        /* (after "action": never the first) */
        LIT(p, ",\"expires_at\":\"");
        p += lr_time_format(d->expires_at, p, 32);
        *p++ = '"';
    }
    MEMBER(p, first, "status", d->status);
    if (has_why(d)) {
        LIT(p, ",\"why\":");
        p = write_why(d, p);
    }
    *p++ = '}';
    return p;
}

/* Appends what WRITE writes of D, in room for ROOM bytes. The room is
 * reserved once, from an upper bound, so the writer cannot fail half-way:
 * on LR_ENOMEM OUT is as it was. */
static int append(lr_buf *out, const lr_decision *d, size_t room,
                  char *(*write)(const lr_decision *, char *)) {
    assert(d && out);
    if (lr_buf_reserve(out, room) != LR_OK) return LR_ENOMEM;
    char *end = write(d, out->data + out->len);
    out->len = (size_t)(end - out->data);
    assert(out->len < out->cap);
    *end = '\0';
    return LR_OK;
}

/* See decision.h. */
int lr_decision_write_json(const lr_decision *d, lr_buf *out) {
    return append(out, d, bound(d), write_decision);
}

/* See decision.h. */
int lr_decision_write_brief(const lr_decision *d, lr_buf *out) {
    lr_decision b = *d;
    b.cands = NULL;
    b.ncands = 0;
    if (d->ncands > b.pool_size) b.pool_size = d->ncands;
    return append(out, &b, bound(&b), write_decision);
}

/* See decision.h. */
int lr_decision_write_why(const lr_decision *d, lr_buf *out) {
    return append(out, d, why_bound(d), write_why);
}

/* See decision.h. */
int lr_json_put_string(lr_buf *out, const char *s) {
    if (!s) return lr_buf_puts(out, "null");
    if (lr_buf_reserve(out, str_bound(s)) != LR_OK) return LR_ENOMEM;
    char *end = put_str(out->data + out->len, s);
    out->len = (size_t)(end - out->data);
    out->data[out->len] = '\0';
    return LR_OK;
}
