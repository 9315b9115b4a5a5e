/* config_schedule.c -- agents' working time in the config: each agent's
 * `schedule` ({timezone, hours}) and `out_of_office` ([{from, to}]), and
 * the top-level `holidays` (zone -> dates), turned into one lr_schedule
 * per agent (core/schedule.h).
 *
 * schedule.c parses the days, hours and dates and words the messages; this
 * file walks the tree, feeds it, and puts each message at the node it is
 * about. Scalars reach schedule.c as written in the file: the tree keeps
 * every scalar's text and never types it, so YAML 1.1's `off` (a boolean
 * there) and `08:30-17:30` arrive as those characters.
 *
 * Invariants: after a clean load, an agent has a schedule exactly when it
 * has `schedule` or `out_of_office`, or it has neither (so it lives in UTC)
 * and `holidays` gives dates for UTC. A holiday zone applies to every agent
 * whose zone has the same canonical ICU ID, so aliases (US/Central and
 * America/Chicago) match; a holiday zone no agent uses is fine. When a
 * check fails, the agent may be left with a stand-in UTC schedule (so its
 * other values are still checked); the loader throws that config away.
 */
#include "core/config_impl.h"
#include "core/schedule.h"
#include "core/tzdata.h"

#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SCHED_ERR 256               /* buffer for schedule.c's messages */

static const char *const schedule_keys[] = { "timezone", "hours" };
enum { SK_TIMEZONE, SK_HOURS, SK__N };

static const char *const ooo_keys[] = { "from", "to" };
enum { OK_FROM, OK_TO, OK__N };

/* ---- weekly hours ---------------------------------------------------------- */

/* Tries lr_schedule_add_hours(DAYS, HOURS) on a fresh schedule, to tell
 * whether DAYS or HOURS alone is wrong. Returns false with the message in
 * ERR when it is refused; true otherwise (out of memory sets cx->oom). */
static bool hours_alone_ok(cfg_ctx *cx, const char *days, const char *hours, char *err,
                           size_t errlen) {
    lr_schedule *t;
    int rc = lr_schedule_create("UTC", &t, err, errlen);
    if (rc == LR_OK) {
        rc = lr_schedule_add_hours(t, days, hours, err, errlen);
        lr_schedule_free(t);
    }
    if (rc == LR_ENOMEM) cx->oom = true;
    return rc != LR_EINVAL;
}

/* Adds `schedule.hours` (mapping M: days -> hours) to S. A refused entry is
 * reported at its key when the days are wrong (or repeat an earlier key's)
 * and at its value when the hours are. */
static void check_hours(cfg_ctx *cx, const yn *m, const char *ctx, lr_schedule *s) {
    if (!want_kind(cx, m, YN_MAP, ctx, "schedule.hours",
                   "a mapping of days to hours such as {mon-fri: \"09:00-17:00\"}"))
        return;
    if (m->n == 0) {
        cx_error(cx, m->line, m->col,
                 "%s: 'schedule.hours' is empty (leave it out to work at all hours)", ctx);
        return;
    }
    for (size_t i = 0; i < m->n && !cx->oom; i++) {
        const yn *key = YN_KEY(m, i), *val = YN_VAL(m, i);
        const char *days = NULL, *hours = NULL;
        char q[CX_DESC_SIZE], label[CX_DESC_SIZE + 16], err[SCHED_ERR], e[SCHED_ERR];
        if (key->kind == YN_ALIAS) continue;
        bool kok = want_item_str(cx, key, ctx, "days in 'schedule.hours'", &days);
        if (kok) cx_quote(key->text, key->len, q, sizeof q);
        snprintf(label, sizeof label, "schedule.hours%s%s", kok ? "." : "", kok ? q : "");
        bool vok = want_str(cx, val, ctx, label, &hours);
        if (kok && vok) {
            int rc = lr_schedule_add_hours(s, days, hours, err, sizeof err);
            if (rc == LR_OK) continue;
            if (rc == LR_ENOMEM) { cx->oom = true; return; }
        }
        bool kbad = kok && !hours_alone_ok(cx, days, "24h", e, sizeof e);
        if (kbad) cx_error(cx, key->line, key->col, "%s: 'schedule.hours': %s", ctx, e);
        bool vbad = vok && !hours_alone_ok(cx, "mon", hours, e, sizeof e);
        if (vbad) cx_error(cx, val->line, val->col, "%s: 'schedule.hours': %s", ctx, e);
        if (kok && vok && !kbad && !vbad && !cx->oom)    /* a day an earlier key gave */
            cx_error(cx, key->line, key->col, "%s: 'schedule.hours': %s", ctx, err);
    }
}

/* ---- out of office --------------------------------------------------------- */

/* Adds the `out_of_office` ranges (list L of {from, to}) to S. A refused
 * range is reported at the end schedule.c names ("from ..." or "to ..."),
 * and at `to` when it ends before it starts. */
static void check_ooo(cfg_ctx *cx, const yn *l, const char *ctx, lr_schedule *s) {
    if (!want_kind(cx, l, YN_SEQ, ctx, "out_of_office", "a list of {from, to} ranges")) return;
    char where[CX_DESC_SIZE + 48], items[CX_DESC_SIZE + 48];
    snprintf(where, sizeof where, "in out_of_office of %s", ctx);
    snprintf(items, sizeof items, "%s: out_of_office entries", ctx);
    for (size_t i = 0; i < l->n && !cx->oom; i++) {
        const yn *it = l->items[i], *v[OK__N];
        if (!want_kind(cx, it, YN_MAP, items, NULL, "mappings with from and to")) continue;
        cx_split(cx, it, ooo_keys, OK__N, v, where);
        const char *end[OK__N] = { NULL, NULL };
        for (int k = 0; k < OK__N; k++) {
            char key[32];
            snprintf(key, sizeof key, "out_of_office.%s", ooo_keys[k]);
            if (!v[k])
                cx_error(cx, it->line, it->col, "%s: missing required key '%s' in out_of_office",
                         ctx, ooo_keys[k]);
            else
                want_str(cx, v[k], ctx, key, &end[k]);
        }
        if (!end[OK_FROM] || !end[OK_TO]) continue;
        char err[SCHED_ERR];
        int rc = lr_schedule_add_out_of_office(s, end[OK_FROM], end[OK_TO], err, sizeof err);
        if (rc == LR_ENOMEM) { cx->oom = true; return; }
        if (rc == LR_OK) continue;
        const yn *at = strncmp(err, "from ", 5) == 0 ? v[OK_FROM] : v[OK_TO];
        cx_error(cx, at->line, at->col, "%s: 'out_of_office': %s", ctx, err);
    }
}

/* ---- an agent ------------------------------------------------------------- */

void cx_check_agent_time(cfg_ctx *cx, const yn *sched, const yn *ooo, const char *ctx,
                         lr_agent_conf *a) {
    if (!sched && !ooo) return;
    const yn *v[SK__N] = { NULL, NULL }, *zn = NULL;
    const char *zone = "UTC";
    if (sched && want_kind(cx, sched, YN_MAP, ctx, "schedule", "a mapping with timezone and hours")) {
        char where[CX_DESC_SIZE + 48];
        snprintf(where, sizeof where, "in schedule of %s", ctx);
        cx_split(cx, sched, schedule_keys, SK__N, v, where);
        if (!v[SK_TIMEZONE])
            cx_error(cx, sched->line, sched->col, "%s: missing required key 'timezone' in schedule",
                     ctx);
        else if (want_str(cx, v[SK_TIMEZONE], ctx, "schedule.timezone", &zone))
            zn = v[SK_TIMEZONE];
    }
    char err[SCHED_ERR];
    int rc = lr_schedule_create(zone, &a->schedule, err, sizeof err);
    if (rc == LR_EINVAL && zn) {
        cx_error(cx, zn->line, zn->col, "%s: %s", ctx, err);
        rc = lr_schedule_create("UTC", &a->schedule, err, sizeof err);  /* stand-in */
    } else if (rc == LR_OK && zn && !cx->replay &&
               lr_tzdata_not_iana(zone, lr_zone_canonical(lr_schedule_zone(a->schedule)), err,
                                  sizeof err)) {
        cx_error(cx, zn->line, zn->col, "%s: schedule.timezone: %s", ctx, err);
    }
    if (rc != LR_OK) {
        const yn *at = sched ? sched : ooo;
        if (rc == LR_ENOMEM) cx->oom = true;
        else cx_error(cx, at->line, at->col, "%s: %s", ctx, err);
        return;
    }
    if (v[SK_HOURS]) check_hours(cx, v[SK_HOURS], ctx, a->schedule);
    if (ooo && !cx->oom) check_ooo(cx, ooo, ctx, a->schedule);
}

/* ---- holidays ------------------------------------------------------------ */

/* One zone of `holidays` whose name and dates checked out. */
typedef struct hol_zone {
    const char *canon;              /* canonical zone ID, borrowed from tmp */
    lr_schedule *tmp;               /* owned: the dates were checked on it */
    const yn *dates;                /* the list of dates */
} hol_zone;

static int hol_cmp(const void *pa, const void *pb) {
    return strcmp(((const hol_zone *)pa)->canon, ((const hol_zone *)pb)->canon);
}

/* Index of the first zone in HZ (N, sorted) whose canonical ID is >= CANON. */
static size_t hol_lower(const hol_zone *hz, size_t n, const char *canon) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(hz[mid].canon, canon) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Adds to S the dates of every zone of HZ (N, sorted) with canonical ID
 * CANON. Dates that did not check out were reported and are skipped. */
static void add_zone_holidays(cfg_ctx *cx, const hol_zone *hz, size_t n, const char *canon,
                              lr_schedule *s) {
    for (size_t i = hol_lower(hz, n, canon); i < n && strcmp(hz[i].canon, canon) == 0; i++) {
        const yn *l = hz[i].dates;
        for (size_t k = 0; k < l->n; k++) {
            const yn *d = l->items[k];
            if (d->kind != YN_SCALAR || memchr(d->text, '\0', d->len)) continue;
            if (lr_schedule_add_holiday(s, d->text, NULL, 0) == LR_ENOMEM) {
                cx->oom = true;
                return;
            }
        }
    }
}

/* Checks one `holidays` entry KEY: VAL. Returns true and fills *out when
 * the zone is known and its dates are a list (some may have been refused
 * and reported); false when nothing of it can apply. */
static bool check_hol_zone(cfg_ctx *cx, const yn *key, const yn *val, hol_zone *out) {
    const char *zone;
    char err[SCHED_ERR], q[CX_DESC_SIZE];
    bool zok = want_item_str(cx, key, "holidays", "time zone names", &zone);
    lr_schedule *t;
    int rc = lr_schedule_create(zok ? zone : "UTC", &t, err, sizeof err);
    if (rc == LR_EINVAL && zok) {
        cx_error(cx, key->line, key->col, "holidays: %s", err);
        zok = false;
        rc = lr_schedule_create("UTC", &t, err, sizeof err);   /* still check the dates */
    } else if (rc == LR_OK && zok && !cx->replay &&
               lr_tzdata_not_iana(zone, lr_zone_canonical(lr_schedule_zone(t)), err, sizeof err)) {
        cx_error(cx, key->line, key->col, "holidays: %s", err);
        zok = false;
    }
    if (rc != LR_OK) {
        if (rc == LR_ENOMEM) cx->oom = true;
        else cx_error(cx, key->line, key->col, "holidays: %s", err);
        return false;
    }
    if (key->kind == YN_SCALAR) cx_quote(key->text, key->len, q, sizeof q);
    else snprintf(q, sizeof q, "?");
    bool lok = want_kind(cx, val, YN_SEQ, "holidays", q, "a list of dates");
    for (size_t k = 0; lok && k < val->n && !cx->oom; k++) {
        const yn *it = val->items[k];
        const char *d;
        if (!want_item_str(cx, it, "holidays", "dates", &d)) continue;
        rc = lr_schedule_add_holiday(t, d, err, sizeof err);
        if (rc == LR_ENOMEM) cx->oom = true;
        else if (rc != LR_OK) cx_error(cx, it->line, it->col, "holidays: %s", err);
    }
    if (!zok || !lok || cx->oom) {
        lr_schedule_free(t);
        return false;
    }
    *out = (hol_zone){ lr_zone_canonical(lr_schedule_zone(t)), t, val };
    return true;
}

void cx_check_holidays(cfg_ctx *cx, const yn *n, lr_config *cfg) {
    if (!want_kind(cx, n, YN_MAP, "", "holidays", "a mapping of time zone to dates")) return;
    if (n->n == 0) return;
    hol_zone *hz = calloc(n->n, sizeof *hz);
    if (!hz) { cx->oom = true; return; }
    size_t nz = 0;
    for (size_t i = 0; i < n->n && !cx->oom; i++) {
        if (YN_KEY(n, i)->kind == YN_ALIAS) continue;
        if (check_hol_zone(cx, YN_KEY(n, i), YN_VAL(n, i), &hz[nz])) nz++;
    }
    qsort(hz, nz, sizeof *hz, hol_cmp);

    /* Agents without a schedule are in UTC: they get one if UTC has dates. */
    lr_zone *utc = NULL;
    const char *utc_canon = NULL;
    if (nz && !cx->oom) {
        int rc = lr_zone_open("UTC", &utc);
        if (rc == LR_OK) utc_canon = lr_zone_canonical(utc);
        else if (rc == LR_ENOMEM) cx->oom = true;
        else cx_error(cx, n->line, n->col, "holidays: the time zone UTC is not available");
    }
    bool utc_dates = false;
    if (utc_canon) {
        for (size_t i = hol_lower(hz, nz, utc_canon);
             i < nz && strcmp(hz[i].canon, utc_canon) == 0; i++)
            if (hz[i].dates->n) utc_dates = true;
    }
    for (size_t i = 0; nz && i < cfg->nagents && !cx->oom; i++) {
        lr_agent_conf *a = &cfg->agents[i];
        if (!a->schedule && utc_dates) {
            if (lr_schedule_create("UTC", &a->schedule, NULL, 0) != LR_OK) {
                cx->oom = true;     /* UTC opened above: only memory can fail */
                break;
            }
        }
        if (a->schedule)
            add_zone_holidays(cx, hz, nz, lr_zone_canonical(lr_schedule_zone(a->schedule)),
                              a->schedule);
    }
    lr_zone_close(utc);
    for (size_t i = 0; i < nz; i++) lr_schedule_free(hz[i].tmp);
    free(hz);
}
