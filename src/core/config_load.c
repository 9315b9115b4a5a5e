/* config_load.c -- reads a config (YAML or JSON) into the position-annotated
 * tree of config_impl.h, collects the problems, and holds the public face
 * of config.h: load, free, lookups.
 *
 * The tree is built from libfyaml's parser events because the events carry
 * start marks for every node, mappings and sequences included, while
 * libfyaml 0.7.12 exports no node positions. libfyaml's own diagnostics are
 * collected (never printed) and turned into "YAML syntax error" messages.
 *
 * Invariants: a load either returns a complete, valid config or no config;
 * the messages are sorted by position (then by report order).
 */
#include "core/config_impl.h"
#include "core/schedule.h"
#include "core/trim.h"

#include "leadrouter/buf.h"
#include "leadrouter/error.h"
#include "leadrouter/expr.h"

#include <errno.h>
#include <libfyaml.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const lr_queue_order_names[LR_QORDER__COUNT] = {
#define LR_QO_NAME(e, s) s,
    LR_QORDER_MAP(LR_QO_NAME)
#undef LR_QO_NAME
};

const char *const lr_catch_up_names[LR_CATCHUP__COUNT] = {
#define LR_CU_NAME(e, s) s,
    LR_CATCHUP_MAP(LR_CU_NAME)
#undef LR_CU_NAME
};

const char *const lr_sla_names[LR_SLA__COUNT] = {
#define LR_SLA_NAME(e, s) s,
    LR_SLA_MAP(LR_SLA_NAME)
#undef LR_SLA_NAME
};

/* ---- arena ---------------------------------------------------------------- */

struct cx_block {
    cx_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
};

#define CX_BLOCK_SIZE 16384

void *cx_alloc(cfg_ctx *cx, size_t n) {
    n = (n + 15) & ~(size_t)15;
    if (n == 0) n = 16;
    cx_block *b = cx->arena;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > CX_BLOCK_SIZE ? n : CX_BLOCK_SIZE;
        b = malloc(sizeof *b + cap);
        if (!b) { cx->oom = true; return NULL; }
        b->used = 0;
        b->cap = cap;
        b->next = cx->arena;
        cx->arena = b;
    }
    void *p = b->data + b->used;
    b->used += n;
    return p;
}

static void arena_free(cfg_ctx *cx) {
    while (cx->arena) {
        cx_block *next = cx->arena->next;
        free(cx->arena);
        cx->arena = next;
    }
}

/* ---- messages ------------------------------------------------------------- */

static size_t bad_utf8(const unsigned char *s, size_t len);

/* Makes S (LEN bytes) valid UTF-8 by turning each byte that starts no valid
 * sequence into '?': a message may carry text cut mid-character by the
 * module that wrote it, and messages end up in JSON replies. */
static void fix_utf8(char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        size_t off = i + bad_utf8((const unsigned char *)s + i, len - i);
        if (off >= len) break;
        s[off] = '?';
        i = off + 1;
    }
}

void cx_error(cfg_ctx *cx, int line, int col, const char *fmt, ...) {
    if (cx->nerrs > CX_MAX_ERRORS) return;
    /* a file of a million list items, each wrong, made a million messages
     * (and gigabytes): the first ones say enough, and a last one (sorted
     * last) says where the next one is */
    bool last = cx->nerrs == CX_MAX_ERRORS;
    if (cx->nerrs == cx->errcap) {
        size_t cap = cx->errcap ? cx->errcap * 2 : 16;
        cx_err *v = realloc(cx->errs, cap * sizeof *v);
        if (!v) { cx->oom = true; return; }
        cx->errs = v;
        cx->errcap = cap;
    }
    lr_buf b = LR_BUF_INIT;
    char body[1024] = "";
    if (!last) {
        va_list ap;
        va_start(ap, fmt);
        int blen = vsnprintf(body, sizeof body, fmt, ap);
        va_end(ap);
        if (blen > 0) fix_utf8(body, strlen(body));
    }
    int rc = last ? lr_buf_printf(&b, "%s:%d:%d: more than %d errors: the first %d found are "
                                  "above, the next one is here", cx->name, line, col,
                                  CX_MAX_ERRORS, CX_MAX_ERRORS)
                  : lr_buf_printf(&b, "%s:%d:%d: %s", cx->name, line, col, body);
    if (rc != LR_OK) {
        lr_buf_release(&b);
        cx->oom = true;
        return;
    }
    cx_err *e = &cx->errs[cx->nerrs];
    e->line = last ? INT_MAX : line;
    e->col = last ? 0 : col;
    e->seq = cx->nerrs;
    e->msg = lr_buf_detach(&b, NULL);
    cx->nerrs++;
}

static int err_cmp(const void *pa, const void *pb) {
    const cx_err *a = pa, *b = pb;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    if (a->col != b->col) return a->col < b->col ? -1 : 1;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Moves the context's messages into ERRS (sorted); returns LR_ENOMEM when
 * the array cannot be allocated (the messages are then dropped). */
static int errs_hand_over(cfg_ctx *cx, lr_config_errors *errs) {
    int rc = LR_OK;
    if (cx->nerrs) qsort(cx->errs, cx->nerrs, sizeof *cx->errs, err_cmp);
    char **msgs = NULL;
    if (errs && cx->nerrs) {
        msgs = malloc(cx->nerrs * sizeof *msgs);
        if (!msgs) rc = LR_ENOMEM;
    }
    for (size_t i = 0; i < cx->nerrs; i++) {
        if (msgs) msgs[i] = cx->errs[i].msg;
        else free(cx->errs[i].msg);
    }
    if (msgs) { errs->msgs = msgs; errs->n = cx->nerrs; }
    free(cx->errs);
    cx->errs = NULL;
    cx->nerrs = cx->errcap = 0;
    return rc;
}

/* Copies a libfyaml message, control bytes made '?'. */
static void sanitize(const char *s, char *buf, size_t size) {
    size_t i = 0;
    for (; s && s[i] && i + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    buf[i] = '\0';
}

/* ---- YAML -> tree ---------------------------------------------------------- */

typedef struct frame {
    yn *node;
    yn **vec;                       /* malloc'd children so far */
    size_t n, cap;
} frame;

static bool frame_push_child(cfg_ctx *cx, frame *f, yn *child) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        yn **v = realloc(f->vec, cap * sizeof *v);
        if (!v) { cx->oom = true; return false; }
        f->vec = v;
        f->cap = cap;
    }
    f->vec[f->n++] = child;
    return true;
}

static int key_cmp(const void *pa, const void *pb) {
    const yn *a = *(yn *const *)pa, *b = *(yn *const *)pb;
    size_t m = a->len < b->len ? a->len : b->len;
    int r = memcmp(a->text, b->text, m);
    if (r) return r;
    if (a->len != b->len) return a->len < b->len ? -1 : 1;
    if (a->line != b->line) return a->line < b->line ? -1 : 1;
    return (a->col > b->col) - (a->col < b->col);
}

/* Reports every key of mapping M that repeats an earlier one. */
static void check_dup_keys(cfg_ctx *cx, const yn *m) {
    if (m->n < 2) return;
    yn **keys = malloc(m->n * sizeof *keys);
    if (!keys) { cx->oom = true; return; }
    size_t nk = 0;
    for (size_t i = 0; i < m->n; i++)
        if (YN_KEY(m, i)->kind == YN_SCALAR) keys[nk++] = YN_KEY(m, i);
    qsort(keys, nk, sizeof *keys, key_cmp);
    for (size_t i = 1, first = 0; i < nk; i++) {
        if (keys[i]->len == keys[first]->len &&
            memcmp(keys[i]->text, keys[first]->text, keys[i]->len) == 0) {
            char q[CX_DESC_SIZE];
            cx_quote(keys[i]->text, keys[i]->len, q, sizeof q);
            cx_error(cx, keys[i]->line, keys[i]->col, "duplicate key '%s' (first at %d:%d)",
                     q, keys[first]->line, keys[first]->col);
        } else {
            first = i;
        }
    }
    free(keys);
}

static yn_style scalar_style(struct fy_token *t, size_t len) {
    switch (t ? fy_scalar_token_get_style(t) : FYSS_ANY) {
    case FYSS_PLAIN: return len ? YS_PLAIN : YS_EMPTY;
    case FYSS_SINGLE_QUOTED:
    case FYSS_DOUBLE_QUOTED: return YS_QUOTED;
    case FYSS_LITERAL:
    case FYSS_FOLDED: return YS_BLOCK;
    default: return YS_EMPTY;
    }
}

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

/* Writes the value of the single-quoted scalar whose source (between the
 * quotes) is RAW (N bytes) to OUT (at least N bytes): '' is a quote, and
 * lines fold as YAML says -- blanks around a line break go, one break
 * becomes a space, k > 1 breaks become k - 1 newlines. Returns the length.
 *
 * libfyaml 0.7.12 gets these wrong (four quotes in a row give three and
 * eat the next character) and leaks memory computing some of them, so the
 * loader never asks it for a single-quoted scalar's text. */
static size_t single_quoted(const char *raw, size_t n, char *out) {
    size_t o = 0, i = 0;
    while (i < n) {
        char c = raw[i];
        if (c == '\'' && i + 1 < n && raw[i + 1] == '\'') {
            out[o++] = '\'';
            i += 2;
        } else if (is_blank(c)) {
            size_t j = i;
            while (j < n && is_blank(raw[j])) j++;
            if (j == n || (raw[j] != '\n' && raw[j] != '\r')) {
                memcpy(out + o, raw + i, j - i);
                o += j - i;
            }
            i = j;
        } else if (c == '\n' || c == '\r') {
            size_t breaks = 0;
            while (i < n && (raw[i] == '\n' || raw[i] == '\r')) {
                i += raw[i] == '\r' && i + 1 < n && raw[i + 1] == '\n' ? 2 : 1;
                breaks++;
                while (i < n && is_blank(raw[i])) i++;
            }
            if (breaks == 1) out[o++] = ' ';
            for (size_t k = 1; k < breaks; k++) out[o++] = '\n';
        } else {
            out[o++] = c;
            i++;
        }
    }
    return o;
}

/* Fills N from scalar or alias token T of the source SRC (SRCLEN bytes);
 * false on OOM. */
static bool node_text(cfg_ctx *cx, yn *n, struct fy_token *t, const char *src,
                      size_t srclen) {
    const struct fy_mark *sm = t ? fy_token_start_mark(t) : NULL;
    const struct fy_mark *em = t ? fy_token_end_mark(t) : NULL;
    if (t && fy_scalar_token_get_style(t) == FYSS_SINGLE_QUOTED && sm && em &&
        sm->input_pos <= em->input_pos && em->input_pos <= srclen) {
        size_t rawlen = em->input_pos - sm->input_pos;
        char *v = cx_alloc(cx, rawlen + 1);
        if (!v) return false;
        n->len = single_quoted(src + sm->input_pos, rawlen, v);
        v[n->len] = '\0';
        n->text = v;
        return true;
    }
    size_t len = 0;
    const char *s = t ? fy_token_get_text(t, &len) : "";
    if (!s) { cx->oom = true; return false; }
    char *copy = cx_alloc(cx, len + 1);
    if (!copy) return false;
    memcpy(copy, s, len);
    copy[len] = '\0';
    n->text = copy;
    n->len = len;
    return true;
}

/* Reports TAG (a node's tag token, or NULL): libfyaml resolves "!!str",
 * "!!binary" and the like, and this loader would read the node as if
 * untagged, so "capacity: !!str 5" would be the number 5. */
static void refuse_tag(cfg_ctx *cx, struct fy_token *tag, const char *src, size_t srclen,
                       int line, int col) {
    if (!tag || cx->replay) return;     /* a journaled config loads as it was accepted */
    const struct fy_mark *sm = fy_token_start_mark(tag), *em = fy_token_end_mark(tag);
    char q[CX_DESC_SIZE] = "?";
    if (sm && em && sm->input_pos < em->input_pos && em->input_pos <= srclen)
        cx_quote(src + sm->input_pos, em->input_pos - sm->input_pos, q, sizeof q);
    if (sm) { line = sm->line + 1; col = sm->column + 1; }
    cx_error(cx, line, col, "YAML tags are not supported (%s)", q);
}

/* Makes a node from event E at LINE:COL of the source SRC; NULL on OOM. */
static yn *node_from_event(cfg_ctx *cx, struct fy_event *e, int line, int col,
                           const char *src, size_t srclen) {
    yn *n = cx_alloc(cx, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->text = "";
    n->line = line;
    n->col = col;
    const struct fy_mark *em = fy_event_end_mark(e);
    n->end_line = em ? em->line + 1 : line;
    n->end_col = em ? em->column + 1 : col;
    switch (e->type) {
    case FYET_MAPPING_START:
        n->kind = YN_MAP;
        refuse_tag(cx, e->mapping_start.tag, src, srclen, line, col);
        break;
    case FYET_SEQUENCE_START:
        n->kind = YN_SEQ;
        refuse_tag(cx, e->sequence_start.tag, src, srclen, line, col);
        break;
    case FYET_SCALAR:
        n->kind = YN_SCALAR;
        refuse_tag(cx, e->scalar.tag, src, srclen, line, col);
        if (!node_text(cx, n, e->scalar.value, src, srclen)) return NULL;
        n->style = scalar_style(e->scalar.value, n->len);
        break;
    default:
        n->kind = YN_ALIAS;
        if (n->col > 1) n->col--;   /* the mark is past the '*' */
        if (!node_text(cx, n, e->alias.anchor, src, srclen)) return NULL;
        char q[CX_DESC_SIZE];
        cx_quote(n->text, n->len, q, sizeof q);
        cx_error(cx, n->line, n->col, "YAML aliases are not supported (*%s)", q);
        break;
    }
    return n;
}

/* Turns the parser's collected diagnostics into messages. */
static void report_syntax(cfg_ctx *cx, struct fy_diag *diag, int line, int col) {
    void *it = NULL;
    struct fy_diag_error *de;
    bool any = false;
    while ((de = fy_diag_errors_iterate(diag, &it))) {
        if (de->type < FYET_ERROR) continue;
        char msg[512];
        sanitize(de->msg, msg, sizeof msg);
        cx_error(cx, de->line > 0 ? de->line : line, de->column > 0 ? de->column : col,
                 "YAML syntax error: %s", msg);
        any = true;
    }
    if (!any) cx_error(cx, line, col, "YAML syntax error");
}

/* Returns the offset of the first byte of S that is NUL or not valid
 * UTF-8 (overlong forms, surrogates and code points past U+10FFFF
 * included), or LEN. YAML text is Unicode, and libfyaml 0.7.12 loops
 * forever on some invalid UTF-8 (a '%' followed by a byte >= 0x80), so
 * nothing else reaches it. */
static size_t bad_utf8(const unsigned char *s, size_t len) {
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == 0) return i;
        if (c < 0x80) { i++; continue; }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; min = 0x10000; }
        else return i;
        if (len - i < n) return i;
        for (size_t k = 1; k < n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
        i += n;
    }
    return len;
}

/* Reports the byte at OFF of TEXT as a syntax error at its line and
 * column (columns count characters). */
static void report_bad_byte(cfg_ctx *cx, const char *text, size_t off) {
    int line = 1, col = 1;
    for (size_t i = 0; i < off; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') { line++; col = 1; }
        else if ((c & 0xC0) != 0x80) col++;
    }
    cx_error(cx, line, col, "YAML syntax error: %s",
             text[off] ? "invalid UTF-8" : "NUL character in the input");
}

/* Finds the (CX_YAML_MAX_FLOW + 1)th '[' or '{' of TEXT, anywhere (in a
 * string too): libfyaml's scanner reads a flow collection to its end
 * before it gives its first event, at ~600 bytes a nesting level, so a
 * "[[[...]]]" of 5 MB took 15 s and 2.7 GB before the depth check of
 * parse_yaml() could stop it. Counting every bracket bounds that (100,000
 * levels: ~60 MB) where a reading of YAML's tokens that skipped strings
 * and comments could be led astray. Returns whether there are more, and
 * where the first one too many is (its column in characters). */
static bool too_many_brackets(const char *text, size_t len, int *linep, int *colp) {
    size_t n = 0;
    int line = 1, col = 1;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if ((c == '[' || c == '{') && ++n > CX_YAML_MAX_FLOW) {
            *linep = line;
            *colp = col;
            return true;
        }
        if (c == '\n') { line++; col = 1; }
        else if (((unsigned char)c & 0xC0) != 0x80) col++;
    }
    return false;
}

static void diag_sink(struct fy_diag *diag, void *user, const char *buf, size_t len) {
    (void)diag; (void)user; (void)buf; (void)len;
}

/* Parses TEXT into a tree; *rootp is NULL for an empty stream. Returns
 * LR_OK (problems such as duplicate keys may have been reported),
 * LR_ESYNTAX after reporting a syntax error, or LR_ENOMEM. A journaled
 * config (cx->replay) was accepted by the version that stored it: the
 * limits added since (tags, nesting, brackets) do not apply to it. */
static int parse_yaml(cfg_ctx *cx, const char *text, size_t len, yn **rootp) {
    size_t bad = bad_utf8((const unsigned char *)text, len);
    if (bad < len) {
        report_bad_byte(cx, text, bad);
        return LR_ESYNTAX;
    }
    int dl, dc;
    if (!cx->replay && too_many_brackets(text, len, &dl, &dc)) {
        cx_error(cx, dl, dc, "more than %d '[' and '{' in the file: write long lists in block "
                 "style (\"- item\" lines)", CX_YAML_MAX_FLOW);
        return LR_ESYNTAX;
    }
    struct fy_diag_cfg dcfg;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = diag_sink;
    dcfg.colorize = false;
    struct fy_diag *diag = fy_diag_create(&dcfg);
    if (!diag) return LR_ENOMEM;
    fy_diag_set_collect_errors(diag, true);
    struct fy_parse_cfg pcfg = { .flags = FYPCF_QUIET | FYPCF_JSON_NONE, .diag = diag };
    struct fy_parser *p = fy_parser_create(&pcfg);
    if (!p || fy_parser_set_string(p, len ? text : "", len) != 0) {
        fy_parser_destroy(p);
        fy_diag_destroy(diag);
        return LR_ENOMEM;
    }

    frame *st = NULL;
    size_t depth = 0, stcap = 0;
    yn *root = NULL;
    int docs = 0, line = 1, col = 1;
    bool stop = false, too_deep = false;
    struct fy_event *e;
    while (!stop && !cx->oom && (e = fy_parser_parse(p))) {
        const struct fy_mark *sm = fy_event_start_mark(e);
        if (sm) { line = sm->line + 1; col = sm->column + 1; }
        yn *n = NULL;
        switch (e->type) {
        case FYET_DOCUMENT_START:
            if (++docs > 1) {
                cx_error(cx, line, col, "only one YAML document is allowed");
                stop = true;
            }
            break;
        case FYET_MAPPING_START:
        case FYET_SEQUENCE_START:
        case FYET_SCALAR:
        case FYET_ALIAS:
            if (depth >= CX_YAML_MAX_DEPTH && !cx->replay && e->type != FYET_SCALAR &&
                e->type != FYET_ALIAS) {
                /* libfyaml and the tree take ~800 bytes a level: a file
                 * of brackets would take gigabytes */
                cx_error(cx, line, col, "YAML nested deeper than %d levels", CX_YAML_MAX_DEPTH);
                stop = too_deep = true;
                break;
            }
            if (!(n = node_from_event(cx, e, line, col, text, len))) break;
            if (depth == 0) root = n;
            else if (!frame_push_child(cx, &st[depth - 1], n)) break;
            if (n->kind == YN_MAP || n->kind == YN_SEQ) {
                if (depth == stcap) {
                    size_t cap = stcap ? stcap * 2 : 16;
                    frame *ns = realloc(st, cap * sizeof *ns);
                    if (!ns) { cx->oom = true; break; }
                    st = ns;
                    stcap = cap;
                }
                st[depth++] = (frame){ .node = n };
            }
            break;
        case FYET_MAPPING_END:
        case FYET_SEQUENCE_END: {
            if (depth == 0) break;
            frame *f = &st[--depth];
            yn *c = f->node;
            if (f->n) {
                c->items = cx_alloc(cx, f->n * sizeof *c->items);
                if (c->items) memcpy(c->items, f->vec, f->n * sizeof *c->items);
            }
            c->n = c->kind == YN_MAP ? f->n / 2 : f->n;
            c->end_line = line;
            c->end_col = col;
            free(f->vec);
            if (c->kind == YN_MAP && c->items) check_dup_keys(cx, c);
            break;
        }
        default:
            break;
        }
        fy_parser_event_free(p, e);
    }

    int rc = LR_OK;
    if (cx->oom) {
        rc = LR_ENOMEM;
    } else if (too_deep) {
        rc = LR_ESYNTAX;
    } else if (!stop && (fy_parser_get_stream_error(p) || depth > 0)) {
        report_syntax(cx, diag, line, col);
        rc = LR_ESYNTAX;
    }
    while (depth > 0) free(st[--depth].vec);
    free(st);
    fy_parser_destroy(p);
    fy_diag_destroy(diag);
    if (rc == LR_OK) *rootp = root;
    return rc;
}

/* ---- loading ----------------------------------------------------------- */

static void errs_init(lr_config_errors *errs) {
    if (errs) { errs->msgs = NULL; errs->n = 0; }
}

/* Sets ERRS to the single message MSG (no position). */
static void errs_single(lr_config_errors *errs, const char *msg) {
    if (!errs) return;
    errs->msgs = malloc(sizeof *errs->msgs);
    if (!errs->msgs) return;
    errs->msgs[0] = strdup(msg);
    if (!errs->msgs[0]) { free(errs->msgs); errs->msgs = NULL; return; }
    errs->n = 1;
}

/* The common body of both loads: NAME for messages, PATH for cfg->path. */
static int load(const char *text, size_t len, const char *name, const char *path,
                bool replay, lr_config **out, lr_config_errors *errs) {
    cfg_ctx cx = { .name = name, .src = text, .srclen = len, .replay = replay };
    lr_config *cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->path = strdup(path))) {
        free(cfg);
        return LR_ENOMEM;
    }
    yn *root = NULL;
    int rc = parse_yaml(&cx, text, len, &root);
    if (rc == LR_OK) cx_check(&cx, root, cfg);
    if (cx.oom) rc = LR_ENOMEM;
    else if (cx.nerrs || rc == LR_ESYNTAX) rc = LR_ECONFIG;
    int hrc = errs_hand_over(&cx, errs);
    if (rc == LR_OK && hrc != LR_OK) rc = hrc;
    arena_free(&cx);
    if (rc != LR_OK) lr_config_free(cfg);
    /* the parse's peak (trim.h); a replay's configs, one after another,
     * would each fault in again what the one before gave back: the
     * service trims once after its replay */
    if (len >= LR_TRIM_AFTER && !replay) lr_trim();
    if (rc != LR_OK) return rc;
    *out = cfg;
    return LR_OK;
}

int lr_config_load_string(const char *text, size_t len, const char *name,
                          lr_config **out, lr_config_errors *errs) {
    errs_init(errs);
    if (!text && len) return LR_EINVAL;
    return load(text, len, name ? name : "<string>", "<string>", false, out, errs);
}

int lr_config_load_journaled(const char *text, size_t len, const char *name,
                             lr_config **out, lr_config_errors *errs) {
    errs_init(errs);
    if (!text && len) return LR_EINVAL;
    return load(text, len, name ? name : "<string>", "<string>", true, out, errs);
}

int lr_config_load_file(const char *path, lr_config **out, lr_config_errors *errs) {
    errs_init(errs);
    FILE *f = fopen(path, "rb");
    lr_buf b = LR_BUF_INIT;
    int err = 0;
    if (!f) {
        err = errno;
    } else {
        char chunk[65536];
        size_t n;
        while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
            if (b.len + n > LR_CONFIG_MAX_BYTES) {     /* /dev/zero, a log given by mistake */
                fclose(f);
                lr_buf_release(&b);
                char msg[4096 + 64];
                snprintf(msg, sizeof msg, "%s: over %d MiB: not a routing config", path,
                         LR_CONFIG_MAX_BYTES >> 20);
                errs_single(errs, msg);
                return LR_EINVAL;
            }
            if (lr_buf_append(&b, chunk, n) != LR_OK) {
                fclose(f);
                lr_buf_release(&b);
                return LR_ENOMEM;
            }
        }
        if (ferror(f)) err = errno ? errno : EIO;
        fclose(f);
    }
    if (err) {
        lr_buf_release(&b);
        char eb[128], msg[4096 + 256];
        snprintf(msg, sizeof msg, "%s: cannot read: %s", path, strerror_r(err, eb, sizeof eb));
        errs_single(errs, msg);
        return LR_EIO;
    }
    int rc = load(b.data ? b.data : "", b.len, path, path, false, out, errs);
    lr_buf_release(&b);
    return rc;
}

/* ---- release ------------------------------------------------------------ */

void lr_config_free(lr_config *cfg) {
    if (!cfg) return;
    for (size_t i = 0; i < cfg->nagents; i++) {
        lr_agent_conf *a = &cfg->agents[i];
        free(a->id);
        free(a->name);
        for (size_t k = 0; k < a->nattrs; k++) {
            for (size_t v = 0; v < a->attrs[k].nvalues; v++) free(a->attrs[k].values[v]);
            free(a->attrs[k].values);
            free(a->attrs[k].name);
        }
        free(a->attrs);
        lr_schedule_free(a->schedule);
        free(a->email);
    }
    free(cfg->agents);
    for (size_t i = 0; i < cfg->npools; i++) {
        free(cfg->pools[i].name);
        free(cfg->pools[i].agents);
    }
    free(cfg->pools);
    for (size_t i = 0; i < cfg->naccounts; i++) {
        lr_account_conf *a = &cfg->accounts[i];
        free(a->id);
        for (size_t k = 0; k < a->ndomains; k++) free(a->domains[k]);
        free(a->domains);
    }
    free(cfg->accounts);
    for (size_t i = 0; i < cfg->nrules; i++) {
        lr_rule_conf *r = &cfg->rules[i];
        free(r->name);
        lr_expr_free(r->when);
        free(r->when_src);
        for (size_t k = 0; k < r->nmatch; k++) {
            free(r->match[k].attr);
            free(r->match[k].custom);
        }
        free(r->match);
        free(r->tiers);
    }
    cx_free_notify(cfg);
    free(cfg->rules);
    free(cfg->path);
    free(cfg);
}

void lr_config_errors_release(lr_config_errors *errs) {
    if (!errs) return;
    for (size_t i = 0; i < errs->n; i++) free(errs->msgs[i]);
    free(errs->msgs);
    errs->msgs = NULL;
    errs->n = 0;
}

/* ---- lookups -------------------------------------------------------------- */

int lr_config_agent_index(const lr_config *cfg, const char *id) {
    for (size_t i = 0; i < cfg->nagents; i++)
        if (cfg->agents[i].id && strcmp(cfg->agents[i].id, id) == 0) return (int)i;
    return -1;
}

int lr_config_pool_index(const lr_config *cfg, const char *name) {
    for (size_t i = 0; i < cfg->npools; i++)
        if (cfg->pools[i].name && strcmp(cfg->pools[i].name, name) == 0) return (int)i;
    return -1;
}

int lr_config_rule_index(const lr_config *cfg, const char *name) {
    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].name && strcmp(cfg->rules[i].name, name) == 0) return (int)i;
    return -1;
}

int lr_config_channel_index(const lr_config *cfg, const char *name) {
    for (size_t i = 0; i < cfg->nchannels; i++)
        if (cfg->channels[i].name && strcmp(cfg->channels[i].name, name) == 0) return (int)i;
    return -1;
}

const lr_attr *lr_agent_attr(const lr_agent_conf *a, const char *name) {
    size_t lo = 0, hi = a->nattrs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = strcmp(a->attrs[mid].name, name);
        if (r == 0) return &a->attrs[mid];
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Orders the NUL-terminated S against VALUE of LEN bytes as strcmp would. */
static int cmp_len(const char *s, const char *value, size_t len) {
    size_t slen = strlen(s);
    int r = memcmp(s, value, slen < len ? slen : len);
    if (r) return r;
    return (slen > len) - (slen < len);
}

bool lr_attr_contains(const lr_attr *attr, const char *value, size_t len) {
    if (!attr) return false;
    size_t lo = 0, hi = attr->nvalues;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_len(attr->values[mid], value, len);
        if (r == 0) return true;
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return false;
}
