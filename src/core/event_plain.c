/* event_plain.c -- the plain-lead path of lr_event_parse(): a flat lead
 * object read by yajl's event parser straight into an lr_lead.
 *
 * Most lines of a lead file, and most web-form posts, are one flat object:
 * {"id":"L1","source":"google","state":"CA","score":80,"utm":"x"}. The
 * general parser (event.c) decodes such a line into a jansson tree first
 * and then copies out of it; the tree costs about three times the copying.
 * Here yajl hands over each key and value as it reads them, and they go
 * where the lead keeps them.
 *
 * This path only ever says yes when the general parser would say yes and
 * build the same event (event_impl.h); whenever it is in doubt it declines
 * and the general parser does the work, errors and messages included. It
 * declines:
 *
 *   - anything yajl refuses, and anything that is not one object with
 *     nothing but white space after it;
 *   - a list, or an object other than "fields" (other event types carry
 *     "type" with a string, and are declined by it);
 *   - in "fields": anything but scalars, and a top-level custom key after
 *     it (the general parser puts the top-level ones first);
 *   - a key given twice, or a custom field named both at the top and in
 *     "fields" (the general parser names it);
 *   - a value of the wrong type, an id that is empty or too long, a string
 *     over the limit, more than FIELDS_MAX custom fields, an "at" or
 *     "received_at" that is not an RFC 3339 time, no "id";
 *   - what yajl and jansson read differently: bytes that are not strict
 *     UTF-8 (yajl lets overlong forms and encoded surrogates through),
 *     control bytes other than tab, LF and CR (yajl skips \f and \v),
 *     a \u escape of a surrogate or of NUL, an integer outside int64 and a
 *     number that overflows a double (errors for jansson).
 *
 * Numbers are converted as jansson does: an integer literal by strtoll and
 * then to double (so -0 is 0), any other number by strtod in the C locale.
 */
#include "leadrouter/error.h"
#include "core/event_impl.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_parse.h>

#define SCRATCH 1024                /* bytes for unescaped copies of named strings */

enum { K_CUSTOM = LR_LF__COUNT, K_TYPE, K_AT, K_FIELDS };  /* after the lead fields */

/* Where the parse is: before the lead's object, in it, after it, or in its
 * "fields" object (whose keys are all custom fields). */
enum { D_BEFORE, D_LEAD, D_AFTER, D_FIELDS };

typedef struct plain {
    int depth;                      /* D_* */
    bool fields_done;               /* "fields" was read: no top-level custom key now */
    int key;                        /* what the next value is for */
    unsigned long seen;             /* bit per key below K_CUSTOM and for type, at */
    const char *str[LR_LF__STRCOUNT];
    size_t len[LR_LF__STRCOUNT];
    size_t packed;                  /* bytes of named strings, NULs included */
    lr_lead lead;                   /* numbers, times and custom fields so far */
    size_t cap;                     /* of lead.fields */
    lr_time at;
    yajl_handle h;
    size_t end;                     /* bytes of the line up to the object's '}' */
    const char *text;               /* the line: strings that point into it stay put */
    size_t textlen;
    size_t used;                    /* of scratch */
    char scratch[SCRATCH];          /* strings yajl unescaped into its own buffer */
} plain;

static void plain_free_fields(plain *p) {
    lr_lead *l = &p->lead;
    for (size_t i = 0; i < l->nfields; i++) {
        free(l->fields[i].name);
        if (l->fields[i].value.type == LR_VSTR) free((char *)l->fields[i].value.u.s.ptr);
    }
    free(l->fields);
    l->fields = NULL;
    l->nfields = 0;
}

static char *dupn(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) { memcpy(d, s, n); d[n] = '\0'; }
    return d;
}

/* The value for the custom field named by the last key: a new field. */
static lr_field *custom_slot(plain *p) {
    return &p->lead.fields[p->lead.nfields - 1];
}

/* ---- yajl's callbacks: returning 0 declines the line ---------------------- */

/* Whether a value may come now: in the lead, or in its "fields". */
static bool at_value(const plain *p) {
    return p->depth == D_LEAD || p->depth == D_FIELDS;
}

static int on_null(void *ctx) {
    plain *p = ctx;
    if (!at_value(p)) return 0;
    if (p->key == K_CUSTOM) custom_slot(p)->value.type = LR_VNULL;
    return 1;                       /* a null lead field, type, at or fields is absent */
}

static int on_boolean(void *ctx, int b) {
    plain *p = ctx;
    if (!at_value(p) || p->key != K_CUSTOM) return 0;
    lr_value *v = &custom_slot(p)->value;
    v->type = LR_VBOOL;
    v->u.b = b != 0;
    return 1;
}

/* The C locale, for strtod_l: jansson reads "1.5" as 1.5 whatever the
 * process's locale says a decimal point is, and so must we. */
static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void make_c_locale(void) {
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Converts number literal S (N bytes, already checked by yajl's lexer) as
 * jansson would, or returns false where jansson reports an error. */
static bool number_value(const char *s, size_t n, double *out) {
    char buf[64];
    if (n >= sizeof buf) return false;
    pthread_once(&c_locale_once, make_c_locale);
    if (!c_locale) return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    if (!memchr(s, '.', n) && !memchr(s, 'e', n) && !memchr(s, 'E', n)) {
        long long i = strtoll(buf, NULL, 10);
        if (errno == ERANGE) return false;
        *out = (double)i;
    } else {
        double d = strtod_l(buf, NULL, c_locale);
        if (errno == ERANGE && isinf(d)) return false;
        *out = d;
    }
    return true;
}

static int on_number(void *ctx, const char *s, size_t n) {
    plain *p = ctx;
    double d;
    if (!at_value(p) || !number_value(s, n, &d)) return 0;
    switch (p->key) {
    case LR_LF_SCORE: p->lead.score = d; p->lead.has_score = true; return 1;
    case LR_LF_VALUE: p->lead.value = d; p->lead.has_value = true; return 1;
    case K_CUSTOM: {
        lr_value *v = &custom_slot(p)->value;
        v->type = LR_VNUM;
        v->u.n = d;
        return 1;
    }
    default: return 0;
    }
}

/* Where the string S (N bytes) will be read from once the parse is over:
 * the line itself, or a copy in the scratch buffer when yajl unescaped it
 * into its own. NULL when the scratch buffer is full. */
static const char *keep(plain *p, const char *s, size_t n) {
    if (s >= p->text && s + n <= p->text + p->textlen) return s;
    if (n > SCRATCH - p->used) return NULL;
    char *d = p->scratch + p->used;
    memcpy(d, s, n);
    p->used += n;
    return d;
}

static int on_string(void *ctx, const unsigned char *us, size_t n) {
    plain *p = ctx;
    const char *s = (const char *)us;
    if (!at_value(p) || n > LR_EVENT_STR_MAX) return 0;
    int k = p->key;
    if (k < LR_LF__STRCOUNT) {
        if (k == LR_LF_ID && (n == 0 || n > LR_EVENT_ID_MAX)) return 0;
        if (!(p->str[k] = keep(p, s, n))) return 0;
        p->len[k] = n;
        p->packed += n + 1;
        return 1;
    }
    if (k == LR_LF_RECEIVED_AT) return lr_time_parse(s, n, &p->lead.received_at) == LR_OK;
    if (k == K_AT) return lr_time_parse(s, n, &p->at) == LR_OK;
    if (k != K_CUSTOM) return 0;    /* score, value; "type" with a string */
    char *d = dupn(s, n);
    if (!d) return 0;
    lr_value *v = &custom_slot(p)->value;
    v->type = LR_VSTR;
    v->u.s.ptr = d;
    v->u.s.len = n;
    return 1;
}

static int on_start_map(void *ctx) {
    plain *p = ctx;
    if (p->depth == D_BEFORE) p->depth = D_LEAD;
    else if (p->depth == D_LEAD && p->key == K_FIELDS) p->depth = D_FIELDS;
    else return 0;
    return 1;
}

static int on_end_map(void *ctx) {
    plain *p = ctx;
    if (p->depth == D_FIELDS) {
        p->depth = D_LEAD;
        p->fields_done = true;
        return 1;
    }
    p->depth = D_AFTER;
    p->end = yajl_get_bytes_consumed(p->h);
    return 1;
}

static int on_key(void *ctx, const unsigned char *us, size_t n) {
    plain *p = ctx;
    const char *k = (const char *)us;
    int f = p->depth == D_FIELDS ? -1 : lr_lead_field_lookup(k, n);
    if (f < 0 && p->depth == D_LEAD) {
        if (n == 4 && memcmp(k, "type", 4) == 0) f = K_TYPE;
        else if (n == 2 && memcmp(k, "at", 2) == 0) f = K_AT;
        else if (n == 6 && memcmp(k, "fields", 6) == 0) f = K_FIELDS;
        else if (p->fields_done) return 0;
    }
    if (f >= 0) {
        if (p->seen & (1ul << f)) return 0;
        p->seen |= 1ul << f;
        p->key = f;
        return 1;
    }
    lr_lead *l = &p->lead;
    for (size_t i = 0; i < l->nfields; i++)
        if (strlen(l->fields[i].name) == n && memcmp(l->fields[i].name, k, n) == 0) return 0;
    if (l->nfields == LR_EVENT_FIELDS_MAX) return 0;
    if (l->nfields == p->cap) {
        size_t ncap = p->cap ? 2 * p->cap : 4;
        lr_field *nf = realloc(l->fields, ncap * sizeof *nf);
        if (!nf) return 0;
        l->fields = nf;
        p->cap = ncap;
    }
    lr_field *fl = &l->fields[l->nfields];
    if (!(fl->name = dupn(k, n))) return 0;
    fl->value.type = LR_VNULL;
    l->nfields++;
    p->key = K_CUSTOM;
    return 1;
}

static int on_array(void *ctx) {
    return 0;
}

static const yajl_callbacks callbacks = {
    .yajl_null = on_null,
    .yajl_boolean = on_boolean,
    .yajl_number = on_number,
    .yajl_string = on_string,
    .yajl_start_map = on_start_map,
    .yajl_map_key = on_key,
    .yajl_end_map = on_end_map,
    .yajl_start_array = on_array,
};

/* ---- what yajl and jansson read differently -------------------------------- */

/* True when S (N bytes) is strict UTF-8 as jansson checks it: no overlong
 * forms, no encoded surrogates, nothing above U+10FFFF. */
static bool utf8_strict(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) { i++; continue; }
        size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 :
                   c >= 0xF0 && c <= 0xF4 ? 4 : 0;
        if (k == 0 || n - i < k) return false;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80) return false;
        unsigned c1 = s[i + 1];
        if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) ||
            (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90))
            return false;
        i += k;
    }
    return true;
}

/* True when the line holds no \u escape of a surrogate or of NUL (jansson
 * refuses NUL; yajl would decode lone surrogates its own way). Every
 * backslash that yajl accepts starts an escape inside a string, so reading
 * them pairwise from the start finds each escape exactly. */
static bool escapes_plain(const char *s, size_t n) {
    const char *e = s + n, *b;
    while ((b = memchr(s, '\\', (size_t)(e - s))) != NULL) {
        if (e - b < 2) return false;
        if (b[1] == 'u') {
            if (e - b < 6) return false;
            if ((b[2] == 'd' || b[2] == 'D') && b[3] && strchr("89abcdefABCDEF", b[3])) return false;
            if (b[2] == '0' && b[3] == '0' && b[4] == '0' && b[5] == '0') return false;
        }
        s = b + 2;
    }
    return true;
}

static bool is_ctl(unsigned char c) {
    return c < 0x20 && c != '\t' && c != '\n' && c != '\r';
}

#define ONES 0x0101010101010101ull

/* Looks over the line once: sets *HIGH when it has bytes above ASCII (to be
 * checked as strict UTF-8) and returns false when it has a control byte
 * other than tab, LF and CR -- an error for jansson anywhere, while yajl
 * takes \f and \v between tokens as white space. */
static bool bytes_plain(const unsigned char *s, size_t n, bool *high) {
    uint64_t any = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {    /* eight at a time; most lines are plain ASCII */
        uint64_t w;
        memcpy(&w, s + i, 8);
        any |= w;
        if ((w - ONES * 0x20) & ~w & (ONES * 0x80))     /* some byte below 0x20 */
            for (size_t k = 0; k < 8; k++)
                if (is_ctl(s[i + k])) return false;
    }
    for (; i < n; i++) {
        any |= s[i];
        if (is_ctl(s[i])) return false;
    }
    *high = (any & (ONES * 0x80)) != 0;
    return true;
}

/* True when S (N bytes) is JSON white space only. yajl takes an
 * unterminated string after the object for a token still to come, not for
 * the trailing garbage it is: what follows the object is checked here. */
static bool only_space(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r') return false;
    return true;
}

/* ---- the text of a lead event's lead ------------------------------------------- */

/* Finding the byte range of one member of an object's text: yajl counts
 * the bytes it has read at each token (jansson keeps no positions). */
typedef struct member_scan {
    yajl_handle h;
    int depth;                      /* of the token being read: 1 in the object */
    bool next;                      /* "lead" was just read as a key at depth 1 */
    bool in;                        /* inside its value */
    size_t start, end;
} member_scan;

static int ms_key(void *ctx, const unsigned char *k, size_t n) {
    member_scan *m = ctx;
    if (m->depth == 1) m->next = n == 4 && memcmp(k, "lead", 4) == 0;
    return 1;
}

static int ms_open(void *ctx) {
    member_scan *m = ctx;
    if (m->depth == 1 && m->next) {
        m->in = true;
        m->start = yajl_get_bytes_consumed(m->h) - 1;   /* the '{' just read */
    }
    m->next = false;
    m->depth++;
    return 1;
}

static int ms_open_list(void *ctx) {
    ((member_scan *)ctx)->next = false;                 /* a list is no lead */
    return ms_open(ctx);
}

static int ms_close(void *ctx) {
    member_scan *m = ctx;
    if (--m->depth == 1 && m->in) {
        m->end = yajl_get_bytes_consumed(m->h);
        return 0;                   /* found: stop here */
    }
    return 1;
}

static int ms_scalar(void *ctx) {
    ((member_scan *)ctx)->next = false;
    return 1;
}
static int ms_bool(void *ctx, int b) { (void)b; return ms_scalar(ctx); }
static int ms_num(void *ctx, const char *s, size_t n) { (void)s; (void)n; return ms_scalar(ctx); }
static int ms_str(void *ctx, const unsigned char *s, size_t n) { (void)s; (void)n; return ms_scalar(ctx); }

bool lr_event_lead_text(const char *text, size_t len, const char **p, size_t *n) {
    static const yajl_callbacks cb = {
        .yajl_null = ms_scalar, .yajl_boolean = ms_bool, .yajl_number = ms_num,
        .yajl_string = ms_str, .yajl_start_map = ms_open, .yajl_map_key = ms_key,
        .yajl_end_map = ms_close, .yajl_start_array = ms_open_list, .yajl_end_array = ms_close,
    };
    member_scan m = { 0 };
    if (!(m.h = yajl_alloc(&cb, NULL, &m))) return false;
    yajl_parse(m.h, (const unsigned char *)text, len);  /* stops at the member's end */
    yajl_free(m.h);
    if (!m.in || m.end <= m.start || m.end > len) return false;
    *p = text + m.start;
    *n = m.end - m.start;
    return true;
}

/* ---- entry point ------------------------------------------------------------ */

/* Moves what the parse gathered in P into one new lead (named strings
 * packed after it, as the general parser does). NULL when out of memory. */
static lr_lead *build(plain *p) {
    lr_lead *l = malloc(sizeof *l + p->packed);
    if (!l) return NULL;
    *l = p->lead;
    l->packed = p->packed;
    char *pack = (char *)(l + 1);
    for (int f = 0; f < LR_LF__STRCOUNT; f++) {
        if (!p->str[f]) { l->str[f] = NULL; continue; }
        memcpy(pack, p->str[f], p->len[f]);
        pack[p->len[f]] = '\0';
        l->str[f] = pack;
        pack += p->len[f] + 1;
    }
    return l;
}

bool lr_event_parse_plain(const char *text, size_t len, lr_event *ev) {
    memset(ev, 0, sizeof *ev);
    if (len == 0) return false;
    bool high;
    if (!bytes_plain((const unsigned char *)text, len, &high) ||
        (high && !utf8_strict((const unsigned char *)text, len)))
        return false;
    if (memchr(text, '\\', len) && !escapes_plain(text, len)) return false;

    plain st, *p = &st;
    memset(p, 0, offsetof(plain, scratch));
    p->lead.received_at = LR_TIME_NONE;
    p->at = LR_TIME_NONE;
    p->text = text;
    p->textlen = len;

    bool ok = false;
    yajl_handle h = p->h = yajl_alloc(&callbacks, NULL, p);
    if (h && yajl_parse(h, (const unsigned char *)text, len) == yajl_status_ok &&
        yajl_complete_parse(h) == yajl_status_ok && p->depth == D_AFTER &&
        only_space(text + p->end, len - p->end) && p->str[LR_LF_ID]) {
        lr_lead *l = build(p);
        if (l) {
            ev->type = LR_EV_LEAD;
            ev->at = p->at;
            ev->lead = l;
            ok = true;
        }
    }
    if (h) yajl_free(h);
    if (!ok) plain_free_fields(p);
    return ok;
}
