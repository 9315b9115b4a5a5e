/* config_impl.h -- private to the config loader (config_load.c,
 * config_value.c, config_check.c, config_schedule.c, config_rules.c).
 *
 * Loading is two steps. config_load.c turns the YAML text into a small
 * tree of `yn` nodes, each with its 1-based line and column (libfyaml
 * 0.7.12 does not export node positions, so the tree is built from the
 * parser's events, whose marks it does export). config_check.c,
 * config_schedule.c and config_rules.c then walk that tree against the
 * schema, fill an lr_config, and report every problem through cx_error().
 *
 * Invariants: tree nodes and their text live in the context's arena and die
 * with it; nothing in the lr_config points into the arena. Every mapping in
 * the tree has unique scalar keys or a "duplicate key" error was reported.
 * Alias nodes were reported when built; the checkers skip them silently.
 */
#ifndef LR_CORE_CONFIG_IMPL_H
#define LR_CORE_CONFIG_IMPL_H

#include "leadrouter/config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum yn_kind { YN_SCALAR, YN_MAP, YN_SEQ, YN_ALIAS } yn_kind;

/* How a scalar was written: YS_EMPTY is a value left out (`key:`). */
typedef enum yn_style { YS_EMPTY, YS_PLAIN, YS_QUOTED, YS_BLOCK } yn_style;

typedef struct yn {
    yn_kind kind;
    yn_style style;                 /* scalars */
    int line, col;                  /* 1-based start */
    int end_line, end_col;          /* 1-based end (scalars: just past the
                                       text, before a closing quote) */
    const char *text;               /* scalar text (NUL-terminated; may hold
                                       NULs), alias: the anchor name,
                                       collections: "" */
    size_t len;
    struct yn **items;              /* seq: n items; map: 2n, key then value */
    size_t n;
} yn;

#define YN_KEY(m, i) ((m)->items[2 * (i)])
#define YN_VAL(m, i) ((m)->items[2 * (i) + 1])

typedef struct cx_err {
    int line, col;
    size_t seq;                     /* report order, to sort stably */
    char *msg;                      /* "NAME:LINE:COL: message" */
} cx_err;

typedef struct cx_block cx_block;

typedef struct cfg_ctx {
    const char *name;               /* file name used in messages */
    const char *src;                /* the text being loaded (NULL: none) */
    size_t srclen;
    cx_err *errs;
    size_t nerrs, errcap;
    bool oom;                       /* an allocation failed somewhere */
    bool replay;                    /* a config replayed from the journal: secret_env
                                       variables need not be set, and checks added
                                       after it was stored do not refuse it */
    cx_block *arena;
} cfg_ctx;

/* ---- config_load.c ------------------------------------------------------ */

/* The tables of config.h's enums (lr_queue_order_names, lr_catch_up_names,
 * lr_sla_names) are defined there too. */

/* Messages kept at most; one more says there were more. */
#define CX_MAX_ERRORS 1000

/* YAML nesting deeper than this is refused (a config needs about 8). */
#define CX_YAML_MAX_DEPTH 64

/* A file with more '[' and '{' than this is refused before it is parsed
 * (config_load.c, too_many_brackets). */
#define CX_YAML_MAX_FLOW 100000

/* Records "NAME:LINE:COL: message". Never fails: on OOM sets cx->oom. */
void cx_error(cfg_ctx *cx, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Allocates N bytes from the context's arena (freed with the context);
 * NULL (and cx->oom) when memory runs out. */
void *cx_alloc(cfg_ctx *cx, size_t n);

/* ---- config_value.c ----------------------------------------------------- */

/* Longest name (agent id, pool, rule, account, attribute), in bytes. */
#define LR_NAME_MAX 256

/* Longest user text quoted in a message. */
#define CX_QUOTE_MAX 80

/* Size of a buffer for cx_quote / cx_describe output. */
#define CX_DESC_SIZE (CX_QUOTE_MAX + 32)

/* Writes S (LEN bytes) into BUF for a message: control bytes become '?',
 * text past CX_QUOTE_MAX bytes is cut (at a character boundary) with "...". */
void cx_quote(const char *s, size_t len, char *buf, size_t size);
/* cx_quote with MAX bytes instead of CX_QUOTE_MAX (a message of ours whose
 * user text is already bounded). */
void cx_quote_max(const char *s, size_t len, char *buf, size_t size, size_t max);

/* Describes what N is, for "got ...": "'1.5'", "the string \"3\"",
 * "a mapping", "a list", "null". */
void cx_describe(const yn *n, char *buf, size_t size);

/* True for a missing value: `key:`, ~, null. */
bool yn_is_null(const yn *n);

/* The value of KEY in mapping M, or NULL; *keyp (when not NULL) gets the
 * key node. */
const yn *yn_get(const yn *m, const char *key, const yn **keyp);

/* "CTX: " when CTX is non-empty, else "": two %s arguments of a message. */
#define CX_PFX(ctx) (ctx)[0] ? (ctx) : "", (ctx)[0] ? ": " : ""

/* Splits mapping M into the values of the NKNOWN keys in KNOWN (vals[i],
 * NULL when absent) and reports every other key as
 * "unknown key 'K' WHERE (known: ...)". */
void cx_split(cfg_ctx *cx, const yn *m, const char *const *known, size_t nknown,
              const yn **vals, const char *where);

/* Reports "CTX: 'KEY' must be WHAT, got ..." at N, or "CTX must be WHAT,
 * got ..." when KEY is NULL. */
void cx_mismatch(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
                 const char *what);

/* Each want_* checks one value. On a mismatch it reports (cx_mismatch) at
 * N and returns false; the out parameter is written only on success.
 * Alias nodes fail silently (the tree builder reported them). */
bool want_kind(cfg_ctx *cx, const yn *n, yn_kind kind, const char *ctx,
               const char *key, const char *what);
/* A non-null scalar without NUL bytes; *out borrows the tree. */
bool want_str(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
              const char **out);
/* As want_str for an item of a list: "CTX: ITEMS must be strings, got ...". */
bool want_item_str(cfg_ctx *cx, const yn *n, const char *ctx, const char *items,
                   const char **out);
/* A plain decimal integer in LO..HI; WHAT names the range in the message. */
bool want_int(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
              int64_t lo, int64_t hi, const char *what, int64_t *out);
/* A plain true / false (also True, TRUE, False, FALSE). */
bool want_bool(cfg_ctx *cx, const yn *n, const char *ctx, const char *key, bool *out);
/* A string of 1 to LR_NAME_MAX bytes without a control byte (U+0000 to
 * U+001F, U+007F; allowed in a journaled config, as it was accepted). */
bool cx_name(cfg_ctx *cx, const yn *n, const char *ctx, const char *key, const char **out);
/* Whether S (LEN bytes) has a control byte: 0x00-0x1F or 0x7F. */
bool cx_has_control(const char *s, size_t len);

/* True when S (LEN bytes) is an identifier: [A-Za-z_][A-Za-z0-9_]*, at
 * most LR_NAME_MAX bytes. */
bool cx_ident(const char *s, size_t len);

/* True when S (LEN bytes) is a plain address: local@domain, at most 254
 * bytes of printable ASCII, none of < > , ; " ' ( ) [ ] \ (config_notify.c). */
bool cx_plain_address(const char *s, size_t len);

#define CX_MS_PER_DAY INT64_C(86400000)
#define CX_DURATION_MAX_DAYS 3650

/* Parses a duration "Ns", "Nm", "Nh" or "Nd" (a whole number N; 1 s to
 * CX_DURATION_MAX_DAYS days) into milliseconds; false when S (LEN bytes)
 * is not one. */
bool cx_parse_duration(const char *s, size_t len, int64_t *ms);
/* A duration (cx_parse_duration) from LO to HI milliseconds; otherwise
 * reports "CTX: 'KEY' must be a duration from 1s to 7d (a whole number and
 * s, m, h or d), got ..." at N. */
bool want_duration(cfg_ctx *cx, const yn *n, const char *ctx, const char *key,
                   int64_t lo, int64_t hi, int64_t *out);

/* Returns a malloc'd, NUL-terminated copy of S (LEN bytes); NULL (and
 * cx->oom) on OOM. */
char *cx_strdup(cfg_ctx *cx, const char *s, size_t len);

/* A name -> index table, sorted, for uniqueness checks and lookups. */
typedef struct name_ent {
    const char *name;               /* borrowed */
    uint32_t idx;
} name_ent;

typedef struct name_ix {
    name_ent *v;                    /* malloc'd; sorted by name, then idx */
    size_t n;
} name_ix;

/* Builds IX over N names found at NAMES, NAMES + STRIDE bytes, ... (the
 * name field of an array of structs); NULL names are left out. Returns
 * false on OOM (cx->oom set, IX empty). */
bool name_ix_build(cfg_ctx *cx, name_ix *ix, const char *const *names,
                   size_t stride, size_t n);
/* Returns the smallest idx with NAME, or -1. */
long name_ix_find(const name_ix *ix, const char *name);
void name_ix_release(name_ix *ix);  /* accepts a zeroed index */

/* Reports each entry of IX that repeats an earlier name as
 * "duplicate WHAT 'x' (first defined at L:C)" at AT[idx]; the first
 * definition's position is read from LINES/COLS (int fields of an array of
 * structs of STRIDE bytes). */
void cx_report_dups(cfg_ctx *cx, const name_ix *ix, const char *what,
                    const yn *const *at, const int *lines, const int *cols,
                    size_t stride);

/* ---- config_schedule.c ---------------------------------------------------- */

/* Builds agent A's schedule (a->schedule, owned by A) from its `schedule`
 * mapping SCHED and its `out_of_office` list OOO (either may be NULL; when
 * both are, A gets no schedule). Without `schedule` the zone is UTC. CTX
 * names the agent in messages. */
void cx_check_agent_time(cfg_ctx *cx, const yn *sched, const yn *ooo, const char *ctx,
                         lr_agent_conf *a);

/* Checks the top-level `holidays` mapping N (zone -> dates) and adds each
 * zone's dates to the schedule of every agent of CFG in that zone (same
 * canonical zone, so aliases match); agents without a schedule are in UTC
 * and get one if UTC has holidays. */
void cx_check_holidays(cfg_ctx *cx, const yn *n, lr_config *cfg);

/* ---- config_notify.c ------------------------------------------------------- */

/* Checks the top-level `channels` mapping N into cfg->channels and builds
 * IX over their names; ALLOW is the `allow_private_targets` list (or NULL). */
void cx_check_channels(cfg_ctx *cx, const yn *n, const yn *allow, lr_config *cfg,
                       name_ix *ix);

/* Checks a `notify` list N (top level, or of the rule named by CTX) into
 * *OUT / *NOUT against the channels of CFG indexed by CHANNELS. */
void cx_check_notify(cfg_ctx *cx, const yn *n, const char *ctx, const name_ix *channels,
                     const lr_config *cfg, lr_notify_conf **out, size_t *nout);

/* Frees what cx_check_channels / cx_check_notify put in CFG and its rules. */
void cx_free_notify(lr_config *cfg);

/* ---- config_check.c / config_rules.c -------------------------------------- */

/* Validates the document ROOT (NULL for an empty stream) into CFG, which
 * starts zeroed apart from its path. Problems go to cx_error(). */
void cx_check(cfg_ctx *cx, const yn *root, lr_config *cfg);

/* Validates the `rules` list N into cfg->rules; agents and pools are
 * already in CFG and POOLS indexes the pool names. */
void cx_check_rules(cfg_ctx *cx, const yn *n, const name_ix *pools, const name_ix *channels,
                    lr_config *cfg);

#endif
