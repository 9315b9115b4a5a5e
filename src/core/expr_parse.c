/* expr_parse.c -- compiles rule expressions (see expr.h) into the node tree
 * of expr_impl.h: a scanner, a recursive-descent parser and a pass that
 * folds literal lists into constants.
 *
 * Grammar, lowest precedence first:
 *
 *   or      := and ('or' and)*
 *   and     := not ('and' not)*
 *   not     := 'not' not | cmp
 *   cmp     := unary [('==' | '!=' | '<' | '<=' | '>' | '>=' | 'in' | 'not' 'in') unary]
 *   unary   := '-' NUMBER | primary
 *   primary := STRING | NUMBER | 'true' | 'false' | 'null' | FIELD | fields.NAME
 *            | FUNC '(' [or (',' or)*] ')' | '(' or ')' | '[' [or (',' or)*] ']'
 *
 * Comparisons do not chain (`a == b == c` is an error). A bare name is a
 * lead field resolved here, once; anything else is an error naming the
 * column. Errors are positioned at the offending token, as a byte offset.
 *
 * Invariants:
 *   - the scanner is pure (source, offset) -> token, so the parser may peek
 *     one token ahead without side effects; scanning errors surface only
 *     when the parser advances onto the bad token;
 *   - the first error wins: every parse function returns -1 once p->err is
 *     set and nothing after it overwrites the message;
 *   - nesting ((, [, calls, `not`) is limited to LR_EXPR_MAX_DEPTH and the
 *     source to LR_EXPR_MAX_LEN bytes, which bounds recursion both here and
 *     in the evaluator;
 *   - decoded strings are never longer than their source text, so one pool
 *     of len + 1 bytes holds them all and never moves;
 *   - the zone of a local_* call is opened here, once per distinct name, so
 *     an unknown zone is a compile error and evaluation never opens one; the
 *     parser owns the zones until they pass to the lr_expr with the nodes.
 */
#include "core/expr_impl.h"
#include "core/tz.h"
#include "core/tzdata.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- scanner ------------------------------------------------------------ */

typedef enum tok_type {
    T_EOF, T_ERR, T_STR, T_NUM, T_NAME, T_CUSTOM,
    T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA, T_MINUS,
    T_EQ, T_NE, T_LT, T_LE, T_GT, T_GE,
    T_AND, T_OR, T_NOT, T_IN, T_TRUE, T_FALSE, T_NULL
} tok_type;

typedef enum lex_err {
    LE_NONE, LE_CHAR, LE_ASSIGN, LE_BANG, LE_UNTERMINATED, LE_ESCAPE,
    LE_NUMBER, LE_CUSTOM, LE_FIELDS
} lex_err;

typedef struct token {
    tok_type type;
    size_t start, end;          /* byte offsets of the token in the source */
    lex_err err;                /* T_ERR: what is wrong */
    size_t err_at;              /* T_ERR: byte offset of the problem */
} token;

static bool is_space(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
static bool is_alpha(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static tok_type keyword(const char *s, size_t n) {
    static const struct { const char *word; tok_type type; } kw[] = {
        { "and", T_AND }, { "or", T_OR }, { "not", T_NOT }, { "in", T_IN },
        { "true", T_TRUE }, { "false", T_FALSE }, { "null", T_NULL },
    };
    for (size_t i = 0; i < sizeof kw / sizeof kw[0]; i++)
        if (strlen(kw[i].word) == n && memcmp(kw[i].word, s, n) == 0) return kw[i].type;
    return T_NAME;
}

static token lex_error(token t, lex_err err, size_t at) {
    t.type = T_ERR;
    t.err = err;
    t.err_at = at;
    return t;
}

/* Scans one token at or after POS. Pure: the same (s, len, pos) always
 * gives the same token. Returns T_ERR with the problem's offset when the
 * text there is not a token. */
static token lex(const char *s, size_t len, size_t pos) {
    token t = { .type = T_EOF };
    while (pos < len && is_space((unsigned char)s[pos])) pos++;
    t.start = t.end = pos;
    if (pos >= len) return t;

    unsigned char c = (unsigned char)s[pos];
    size_t e = pos + 1;
    if (is_alpha(c)) {
        while (e < len && (is_alpha((unsigned char)s[e]) || is_digit((unsigned char)s[e]))) e++;
        t.end = e;
        t.type = keyword(s + pos, e - pos);
        if (t.type == T_NAME && e - pos == 6 && memcmp(s + pos, "fields", 6) == 0) {
            if (e >= len || s[e] != '.') return lex_error(t, LE_FIELDS, pos);
            size_t n = e + 1;
            if (n >= len || !is_alpha((unsigned char)s[n])) return lex_error(t, LE_CUSTOM, n);
            for (n++; n < len; n++) {
                unsigned char d = (unsigned char)s[n];
                if (!is_alpha(d) && !is_digit(d) && d != '-') break;
            }
            t.type = T_CUSTOM;
            t.end = n;
        }
        return t;
    }
    if (is_digit(c)) {
        while (e < len && is_digit((unsigned char)s[e])) e++;
        if (e < len && s[e] == '.') {
            e++;
            if (e >= len || !is_digit((unsigned char)s[e])) return lex_error(t, LE_NUMBER, pos);
            while (e < len && is_digit((unsigned char)s[e])) e++;
        }
        if (e < len && (s[e] == 'e' || s[e] == 'E')) {
            e++;
            if (e < len && (s[e] == '+' || s[e] == '-')) e++;
            if (e >= len || !is_digit((unsigned char)s[e])) return lex_error(t, LE_NUMBER, pos);
            while (e < len && is_digit((unsigned char)s[e])) e++;
        }
        t.type = T_NUM;
        t.end = e;
        return t;
    }
    if (c == '"' || c == '\'') {
        for (; e < len; e++) {
            if (s[e] == '\\') {
                if (e + 1 >= len) break;
                char x = s[e + 1];
                if (x != '\\' && x != '"' && x != '\'' && x != 'n' && x != 't')
                    return lex_error(t, LE_ESCAPE, e);
                e++;
            } else if ((unsigned char)s[e] == c) {
                t.type = T_STR;
                t.end = e + 1;
                return t;
            }
        }
        return lex_error(t, LE_UNTERMINATED, pos);
    }
    bool eq_next = e < len && s[e] == '=';
    switch (c) {
    case '(': t.type = T_LPAREN; break;
    case ')': t.type = T_RPAREN; break;
    case '[': t.type = T_LBRACK; break;
    case ']': t.type = T_RBRACK; break;
    case ',': t.type = T_COMMA; break;
    case '-': t.type = T_MINUS; break;
    case '<': t.type = eq_next ? T_LE : T_LT; e += eq_next; break;
    case '>': t.type = eq_next ? T_GE : T_GT; e += eq_next; break;
    case '=':
        if (!eq_next) return lex_error(t, LE_ASSIGN, pos);
        t.type = T_EQ; e++; break;
    case '!':
        if (!eq_next) return lex_error(t, LE_BANG, pos);
        t.type = T_NE; e++; break;
    default:
        return lex_error(t, LE_CHAR, pos);
    }
    t.end = e;
    return t;
}

/* ---- parser state and errors ---------------------------------------------- */

typedef struct parser {
    const char *src;
    size_t len;
    token tok;                  /* the current token */
    int depth;                  /* current nesting */
    expr_node *nodes;           /* owned until handed to the lr_expr */
    size_t nnodes, cap;
    char *pool;                 /* len + 1 bytes */
    size_t pool_used;
    size_t nlistkids;           /* items of every list literal: bound for folding */
    lr_zone **zones;            /* owned: zones of local_* calls, in order of first use */
    size_t nzones, zcap;
    int err;                    /* 0, LR_ESYNTAX or LR_ENOMEM */
    size_t err_at;
    char *errbuf;
    size_t errlen;
} parser;

/* Records a syntax error at byte offset AT unless one is already recorded.
 * Always returns -1, so callers can `return fail(...)`. */
static int fail(parser *p, size_t at, const char *fmt, ...) {
    if (p->err) return -1;
    p->err = LR_ESYNTAX;
    p->err_at = at;
    if (p->errbuf && p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->errbuf, p->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static int nomem(parser *p) {
    if (!p->err) p->err = LR_ENOMEM;
    return -1;
}

/* Writes a printable rendering of byte C into OUT (at least 8 bytes). */
static const char *show_byte(unsigned char c, char *out) {
    if (c >= 0x20 && c < 0x7f) snprintf(out, 8, "'%c'", c);
    else snprintf(out, 8, "0x%02x", c);
    return out;
}

/* The character at S (N bytes left) for a message, into OUT (24 bytes):
 * a UTF-8 character as itself and its code point ('é' (U+00E9)), else as
 * show_byte() does. */
static const char *show_char(const char *s, size_t n, char *out) {
    unsigned char c = (unsigned char)s[0];
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (k == 0 || k > n) return show_byte(c, out);
    uint32_t cp = c & (k == 2 ? 0x1F : k == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < k; i++) {
        unsigned char x = (unsigned char)s[i];
        if ((x & 0xC0) != 0x80) return show_byte(c, out);
        cp = (cp << 6) | (x & 0x3F);
    }
    snprintf(out, 24, "'%.*s' (U+%04X)", (int)k, s, (unsigned)cp);
    return out;
}

/* Describes token T for "unexpected ..." messages into OUT (64 bytes). */
static const char *describe(const parser *p, const token *t, char *out, size_t n) {
    int w = (int)(t->end - t->start);
    switch (t->type) {
    case T_EOF: return "end of expression";
    case T_STR: return "string";
    case T_NUM: return "number";
    case T_NAME:
    case T_CUSTOM:
        snprintf(out, n, "name '%.*s'", w > 40 ? 40 : w, p->src + t->start);
        return out;
    default:
        snprintf(out, n, "'%.*s'", w > 40 ? 40 : w, p->src + t->start);
        return out;
    }
}

static int unexpected(parser *p) {
    char d[64];
    if (p->tok.type == T_EOF) return fail(p, p->tok.start, "unexpected end of expression");
    return fail(p, p->tok.start, "unexpected %s", describe(p, &p->tok, d, sizeof d));
}

/* Moves to the next token; a scanning error there becomes the error. */
static int advance(parser *p) {
    p->tok = lex(p->src, p->len, p->tok.end);
    if (p->tok.type != T_ERR) return 0;
    char b[8];
    size_t at = p->tok.err_at;
    switch (p->tok.err) {
    case LE_ASSIGN: return fail(p, at, "unexpected '='; equality is written '=='");
    case LE_BANG: return fail(p, at, "unexpected '!'; negation is written 'not'");
    case LE_UNTERMINATED: return fail(p, at, "unterminated string");
    case LE_ESCAPE:
        return fail(p, at, "unknown escape in string: backslash before %s "
                    "(escapes are \\\\ \\\" \\' \\n \\t)",
                    show_byte((unsigned char)p->src[at + 1], b));
    case LE_NUMBER: return fail(p, at, "malformed number");
    case LE_CUSTOM: return fail(p, at, "expected a custom field name after 'fields.'");
    case LE_FIELDS: return fail(p, at, "custom fields are written fields.NAME");
    case LE_CHAR:
    case LE_NONE:
        break;
    }
    char ch[24];
    return fail(p, at, "unexpected character %s", show_char(p->src + at, p->len - at, ch));
}

/* Counts one more level of nesting at byte AT; the caller decrements
 * p->depth when the level closes. */
static int enter(parser *p, size_t at) {
    if (p->depth >= LR_EXPR_MAX_DEPTH) return fail(p, at, "expression nested too deeply");
    p->depth++;
    return 0;
}

/* Appends a node; returns its index, or -1 when out of memory. */
static int32_t new_node(parser *p, expr_op op) {
    if (p->err) return -1;
    if (p->nnodes == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 16;
        expr_node *nn = realloc(p->nodes, cap * sizeof *nn);
        if (!nn) return nomem(p);
        p->nodes = nn;
        p->cap = cap;
    }
    expr_node *n = &p->nodes[p->nnodes];
    memset(n, 0, sizeof *n);
    n->op = (uint8_t)op;
    n->a = n->b = n->next = -1;
    return (int32_t)p->nnodes++;
}

/* ---- literals ------------------------------------------------------------- */

/* Copies N bytes into the pool and returns where they went. */
static char *pool_put(parser *p, const char *s, size_t n) {
    assert(p->pool_used + n <= p->len);
    char *dst = p->pool + p->pool_used;
    if (n) memcpy(dst, s, n);
    p->pool_used += n;
    return dst;
}

/* Decodes the (already validated) string token T into the pool. */
static void decode_string(parser *p, const token *t, lr_value *out) {
    char *dst = p->pool + p->pool_used;
    size_t n = 0;
    for (size_t i = t->start + 1; i + 1 < t->end; i++) {
        char c = p->src[i];
        if (c == '\\') {
            c = p->src[++i];
            if (c == 'n') c = '\n';
            else if (c == 't') c = '\t';
        }
        dst[n++] = c;
    }
    assert(p->pool_used + n <= p->len);
    p->pool_used += n;
    out->type = LR_VSTR;
    out->u.s.ptr = dst;
    out->u.s.len = n;
}

/* Converts the (already validated) number token T. strtod() follows the
 * C locale's decimal point, so '.' is swapped for the current one first. */
static int number_value(parser *p, const token *t, double *out) {
    const char *dp = localeconv()->decimal_point;
    size_t dpl = dp && *dp ? strlen(dp) : 1;
    size_t n = t->end - t->start;
    char *buf = malloc(n * dpl + 1);
    if (!buf) return nomem(p);
    size_t k = 0;
    for (size_t i = t->start; i < t->end; i++) {
        if (p->src[i] == '.') { memcpy(buf + k, dp && *dp ? dp : ".", dpl); k += dpl; }
        else buf[k++] = p->src[i];
    }
    buf[k] = '\0';
    char *end;
    double v = strtod(buf, &end);
    bool whole = *end == '\0';
    free(buf);
    if (!whole) return fail(p, t->start, "malformed number");
    if (isinf(v)) return fail(p, t->start, "number out of range");
    *out = v;
    return 0;
}

/* ---- grammar -------------------------------------------------------------- */

static int32_t parse_or(parser *p);

static const struct func {
    const char *name;
    expr_op op;
    int arity;
} funcs[] = {
    { "lower", N_LOWER, 1 },
    { "domain", N_DOMAIN, 1 },
    { "starts_with", N_STARTS, 2 },
    { "ends_with", N_ENDS, 2 },
    { "contains", N_CONTAINS, 2 },
    { "local_hour", N_LHOUR, 1 },
    { "local_weekday", N_LWDAY, 1 },
};

/* Writes zone name NAME (N bytes) for a message into OUT (at least 72
 * bytes): at most 64 bytes of it, non-printable bytes as '?'. */
static const char *show_zone(const char *name, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i < n && i < LR_ZONE_NAME_MAX; i++) {
        unsigned char c = (unsigned char)name[i];
        out[k++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    if (n > LR_ZONE_NAME_MAX) { memcpy(out + k, "...", 3); k += 3; }
    out[k] = '\0';
    return out;
}

/* The index in p->zones of the zone named by the string V, opening it when
 * no earlier call named it. Returns -1 with p->err set when ICU does not
 * know the name (a syntax error at byte AT, the argument) or memory runs
 * out. */
static int32_t zone_index(parser *p, const lr_value *v, size_t at) {
    char name[LR_ZONE_NAME_MAX + 1], shown[LR_ZONE_NAME_MAX + 8];
    size_t n = v->u.s.len;
    if (n == 0 || n > LR_ZONE_NAME_MAX || memchr(v->u.s.ptr, '\0', n))
        return fail(p, at, "unknown time zone '%s'", show_zone(v->u.s.ptr, n, shown));
    memcpy(name, v->u.s.ptr, n);
    name[n] = '\0';
    for (size_t i = 0; i < p->nzones; i++)
        if (strcmp(lr_zone_name(p->zones[i]), name) == 0) return (int32_t)i;
    if (p->nzones == p->zcap) {
        size_t cap = p->zcap ? p->zcap * 2 : 4;
        lr_zone **nz = realloc(p->zones, cap * sizeof *nz);
        if (!nz) return nomem(p);
        p->zones = nz;
        p->zcap = cap;
    }
    lr_zone *z = NULL;
    int rc = lr_zone_open(name, &z);
    if (rc == LR_ENOMEM) return nomem(p);
    if (rc != LR_OK && lr_tzdata_system_has(name))
        return fail(p, at, "unknown time zone '%s' to ICU's zone data %s, though the system's tz "
                    "database has it: newer zone data for ICU is needed (docs/configuration.md, "
                    "\"Time zone data\")", show_zone(name, n, shown), lr_tzdata_icu_version());
    if (rc != LR_OK) return fail(p, at, "unknown time zone '%s'", show_zone(name, n, shown));
    p->zones[p->nzones] = z;
    return (int32_t)p->nzones++;
}

/* Turns the argument node ARG of a call to F (local_hour / local_weekday)
 * into the call itself, so no node is left orphaned: the argument must be
 * a string literal naming a zone. ARG_TOK is the type of the argument's
 * first token (a parenthesised string is not a literal) and AT its offset.
 * Returns ARG, or -1 with p->err set. */
static int32_t zone_call(parser *p, const struct func *f, int32_t arg, tok_type arg_tok, size_t at) {
    expr_node *a = &p->nodes[arg];
    if (arg_tok != T_STR || a->op != N_LIT || a->lit.type != LR_VSTR)
        return fail(p, at, "%s wants a time zone name in quotes", f->name);
    int32_t z = zone_index(p, &a->lit, at);
    if (z < 0) return -1;
    a->op = (uint8_t)f->op;
    a->n = (uint32_t)z;
    memset(&a->lit, 0, sizeof a->lit);
    return arg;
}

/* NAME '(' args ')': the current token is the name, the next is '('. */
static int32_t parse_call(parser *p) {
    token name = p->tok;
    size_t nlen = name.end - name.start;
    const struct func *f = NULL;
    for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++)
        if (strlen(funcs[i].name) == nlen && memcmp(funcs[i].name, p->src + name.start, nlen) == 0)
            f = &funcs[i];
    if (!f)
        return fail(p, name.start, "unknown function '%.*s'",
                    (int)(nlen > 40 ? 40 : nlen), p->src + name.start);
    if (advance(p) || enter(p, p->tok.start) || advance(p)) return -1;

    int32_t first = -1, last = -1;
    int nargs = 0;
    tok_type arg_tok = p->tok.type;     /* the first argument's first token */
    size_t arg_at = p->tok.start;
    if (p->tok.type != T_RPAREN) {
        for (;;) {
            int32_t k = parse_or(p);
            if (k < 0) return -1;
            if (last < 0) first = k;
            else p->nodes[last].next = k;
            last = k;
            nargs++;
            if (p->tok.type == T_COMMA) {
                if (advance(p)) return -1;
                continue;
            }
            if (p->tok.type == T_RPAREN) break;
            return fail(p, p->tok.start, "expected ')' after arguments of %s", f->name);
        }
    }
    if (nargs != f->arity)
        return fail(p, name.start, "%s takes %d argument%s, got %d", f->name, f->arity,
                    f->arity == 1 ? "" : "s", nargs);
    if ((f->op == N_LHOUR || f->op == N_LWDAY) && zone_call(p, f, first, arg_tok, arg_at) < 0)
        return -1;
    p->depth--;
    if (advance(p)) return -1;
    if (f->op == N_LHOUR || f->op == N_LWDAY) return first;
    int32_t n = new_node(p, f->op);
    if (n < 0) return -1;
    p->nodes[n].a = first;
    p->nodes[n].b = f->arity == 2 ? p->nodes[first].next : -1;
    return n;
}

/* '[' items ']': the current token is '['. */
static int32_t parse_list(parser *p) {
    if (enter(p, p->tok.start) || advance(p)) return -1;
    int32_t n = new_node(p, N_LIST);
    if (n < 0) return -1;
    int32_t last = -1;
    uint32_t count = 0;
    if (p->tok.type != T_RBRACK) {
        for (;;) {
            int32_t k = parse_or(p);
            if (k < 0) return -1;
            if (last < 0) p->nodes[n].a = k;
            else p->nodes[last].next = k;
            last = k;
            count++;
            if (p->tok.type == T_COMMA) {
                if (advance(p)) return -1;
                continue;
            }
            if (p->tok.type == T_RBRACK) break;
            return fail(p, p->tok.start, "expected ',' or ']' in list");
        }
    }
    p->nodes[n].n = count;
    p->nlistkids += count;
    p->depth--;
    if (advance(p)) return -1;
    return n;
}

/* A literal, a name, a call, a parenthesised expression or a list. Each
 * parse_* function returns the index of the node it built, or -1 with
 * p->err set. */
static int32_t parse_primary(parser *p) {
    token t = p->tok;
    int32_t n;
    switch (t.type) {
    case T_STR:
        if ((n = new_node(p, N_LIT)) < 0) return -1;
        decode_string(p, &t, &p->nodes[n].lit);
        break;
    case T_NUM: {
        double v = 0;
        if (number_value(p, &t, &v) || (n = new_node(p, N_LIT)) < 0) return -1;
        p->nodes[n].lit.type = LR_VNUM;
        p->nodes[n].lit.u.n = v;
        break;
    }
    case T_TRUE:
    case T_FALSE:
        if ((n = new_node(p, N_LIT)) < 0) return -1;
        p->nodes[n].lit.type = LR_VBOOL;
        p->nodes[n].lit.u.b = t.type == T_TRUE;
        break;
    case T_NULL:
        if ((n = new_node(p, N_LIT)) < 0) return -1;
        break;
    case T_CUSTOM: {
        size_t skip = sizeof "fields." - 1;
        if ((n = new_node(p, N_CUSTOM)) < 0) return -1;
        p->nodes[n].lit.type = LR_VSTR;
        p->nodes[n].lit.u.s.len = t.end - t.start - skip;
        p->nodes[n].lit.u.s.ptr = pool_put(p, p->src + t.start + skip, t.end - t.start - skip);
        break;
    }
    case T_NAME: {
        if (lex(p->src, p->len, t.end).type == T_LPAREN) return parse_call(p);
        int f = lr_lead_field_lookup(p->src + t.start, t.end - t.start);
        if (f < 0) {
            int w = (int)(t.end - t.start > 40 ? 40 : t.end - t.start);
            return fail(p, t.start, "unknown field '%.*s' (custom fields are written fields.%.*s)",
                        w, p->src + t.start, w, p->src + t.start);
        }
        if ((n = new_node(p, N_FIELD)) < 0) return -1;
        p->nodes[n].field = (uint16_t)f;
        break;
    }
    case T_LPAREN:
        if (enter(p, t.start) || advance(p)) return -1;
        if ((n = parse_or(p)) < 0) return -1;
        if (p->tok.type != T_RPAREN) {
            char d[64];
            return fail(p, p->tok.start, "expected ')', found %s", describe(p, &p->tok, d, sizeof d));
        }
        p->depth--;
        break;
    case T_LBRACK:
        return parse_list(p);
    default:
        return unexpected(p);
    }
    if (advance(p)) return -1;
    return n;
}

/* '-' applies to number literals only: it is part of the literal. */
static int32_t parse_unary(parser *p) {
    if (p->tok.type != T_MINUS) return parse_primary(p);
    if (advance(p)) return -1;
    if (p->tok.type != T_NUM) {
        char d[64];
        return fail(p, p->tok.start, "expected a number after '-', found %s",
                    describe(p, &p->tok, d, sizeof d));
    }
    int32_t n = parse_primary(p);
    if (n < 0) return -1;
    p->nodes[n].lit.u.n = -p->nodes[n].lit.u.n;
    return n;
}

/* Returns the comparison at the current token (N_EQ..N_NOTIN) and how many
 * tokens spell it, or -1 when there is none. */
static int cmp_op(const parser *p, int *ntok) {
    *ntok = 1;
    switch (p->tok.type) {
    case T_EQ: return N_EQ;
    case T_NE: return N_NE;
    case T_LT: return N_LT;
    case T_LE: return N_LE;
    case T_GT: return N_GT;
    case T_GE: return N_GE;
    case T_IN: return N_IN;
    case T_NOT:
        if (lex(p->src, p->len, p->tok.end).type != T_IN) return -1;
        *ntok = 2;
        return N_NOTIN;
    default: return -1;
    }
}

static bool is_null_lit(const parser *p, int32_t i) {
    return p->nodes[i].op == N_LIT && p->nodes[i].lit.type == LR_VNULL;
}

/* At most one comparison: a second operator right after it is an error
 * rather than a silent (a == b) == c. */
static int32_t parse_cmp(parser *p) {
    int32_t l = parse_unary(p);
    if (l < 0) return -1;
    int ntok;
    int op = cmp_op(p, &ntok);
    if (op < 0) return l;
    while (ntok--)
        if (advance(p)) return -1;
    int32_t r = parse_unary(p);
    if (r < 0) return -1;
    if (cmp_op(p, &ntok) >= 0)
        return fail(p, p->tok.start, "comparisons do not chain; combine them with 'and'");
    int32_t n = new_node(p, (expr_op)op);
    if (n < 0) return -1;
    expr_node *nd = &p->nodes[n];
    nd->a = l;
    nd->b = r;
    if (op == N_EQ || op == N_NE)
        nd->flags = (uint8_t)((is_null_lit(p, l) ? EXPR_LNULL : 0) | (is_null_lit(p, r) ? EXPR_RNULL : 0));
    return n;
}

/* `not` binds looser than comparison: not a == b is not (a == b). */
static int32_t parse_not(parser *p) {
    if (p->tok.type != T_NOT) return parse_cmp(p);
    if (enter(p, p->tok.start) || advance(p)) return -1;
    int32_t k = parse_not(p);
    if (k < 0) return -1;
    p->depth--;
    int32_t n = new_node(p, N_NOT);
    if (n < 0) return -1;
    p->nodes[n].a = k;
    return n;
}

/* One level of `and` or `or`: a chain of operands under one n-ary node. */
static int32_t parse_chain(parser *p, tok_type sep, expr_op op, int32_t (*sub)(parser *)) {
    int32_t first = sub(p);
    if (first < 0 || p->tok.type != sep) return first;
    int32_t n = new_node(p, op);
    if (n < 0) return -1;
    p->nodes[n].a = first;
    int32_t last = first;
    while (p->tok.type == sep) {
        if (advance(p)) return -1;
        int32_t k = sub(p);
        if (k < 0) return -1;
        p->nodes[last].next = k;
        last = k;
    }
    return n;
}

static int32_t parse_and(parser *p) { return parse_chain(p, T_AND, N_AND, parse_not); }
static int32_t parse_or(parser *p) { return parse_chain(p, T_OR, N_OR, parse_and); }

/* ---- folding -------------------------------------------------------------- */

/* Turns every list literal under node I whose items are all literals into
 * a constant LR_VLIST, items taken from ITEMS[*used...]. Children first, so
 * nested literal lists fold too. */
static void fold(expr_node *nodes, int32_t i, lr_value *items, size_t *used) {
    expr_node *n = &nodes[i];
    if (n->op == N_LIST || n->op == N_AND || n->op == N_OR) {
        for (int32_t k = n->a; k >= 0; k = nodes[k].next) fold(nodes, k, items, used);
    } else {
        if (n->a >= 0) fold(nodes, n->a, items, used);
        if (n->b >= 0) fold(nodes, n->b, items, used);
    }
    if (n->op != N_LIST) return;
    for (int32_t k = n->a; k >= 0; k = nodes[k].next)
        if (nodes[k].op != N_LIT) return;
    lr_value list = { .type = LR_VLIST };
    if (n->n) {
        list.u.list.items = items + *used;
        for (int32_t k = n->a; k >= 0; k = nodes[k].next) items[(*used)++] = nodes[k].lit;
    }
    list.u.list.n = n->n;
    n->op = N_LIT;
    n->lit = list;
}

/* ---- public --------------------------------------------------------------- */

/* Closes the N zones of ZONES and frees the array (NULL when N is 0). */
static void close_zones(lr_zone **zones, size_t n) {
    for (size_t i = 0; i < n; i++) lr_zone_close(zones[i]);
    free(zones);
}

int lr_expr_compile(const char *src, size_t len, lr_expr **out,
                    int *err_col, char *errbuf, size_t errlen) {
    assert(out && (src || len == 0));
    if (!out || (!src && len)) return LR_EINVAL;
    if (!src) src = "";
    if (errbuf && errlen) errbuf[0] = '\0';
    if (len > LR_EXPR_MAX_LEN) {
        if (err_col) *err_col = LR_EXPR_MAX_LEN + 1;
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "expression too long (more than %d bytes)", LR_EXPR_MAX_LEN);
        return LR_ESYNTAX;
    }

    parser p = { .src = src, .len = len, .errbuf = errbuf, .errlen = errlen };
    lr_expr *e = NULL;
    lr_value *items = NULL;
    int32_t root = -1;
    p.pool = malloc(len + 1);
    if (!p.pool) { nomem(&p); goto done; }
    if (advance(&p) == 0) root = parse_or(&p);
    if (root >= 0 && p.tok.type != T_EOF) unexpected(&p);
    if (p.err) goto done;
    assert(p.depth == 0);

    if (p.nlistkids && !(items = malloc(p.nlistkids * sizeof *items))) { nomem(&p); goto done; }
    size_t used = 0;
    fold(p.nodes, root, items, &used);
    assert(used <= p.nlistkids);
    if (!(e = malloc(sizeof *e))) { nomem(&p); goto done; }
    e->nodes = p.nodes;
    e->nnodes = p.nnodes;
    e->root = root;
    e->pool = p.pool;
    e->items = items;
    e->zones = p.zones;
    e->nzones = p.nzones;
    *out = e;
    return LR_OK;

done:
    if (p.err == LR_ESYNTAX && err_col) *err_col = (int)p.err_at + 1;
    if (p.err != LR_ESYNTAX && errbuf && errlen) errbuf[0] = '\0';
    free(items);
    free(p.nodes);
    free(p.pool);
    close_zones(p.zones, p.nzones);
    return p.err;
}

void lr_expr_free(lr_expr *expr) {
    if (!expr) return;
    free(expr->nodes);
    free(expr->pool);
    free(expr->items);
    close_zones(expr->zones, expr->nzones);
    free(expr);
}
