/* schedule.c -- an agent's working time (see schedule.h).
 *
 * Representation: per weekday up to LR_SCHEDULE_MAX_RANGES ranges of local
 * minutes [start, end), 0 <= start < 1440, start < end <= start + 1440 (an
 * overnight range ends past 1440); out-of-office ranges as instant
 * intervals; holidays as a sorted, duplicate-free array of local dates
 * (days since 1970-01-01).
 *
 * lr_schedule_at is a function of membership of t in a set of instant
 * intervals: out-of-office ranges, holiday days [instant(h 00:00),
 * instant(h+1 00:00)), and shift occurrences [instant(D + start),
 * instant(D + end)) for each local date D. lr_schedule_next_change returns
 * the least interval edge > t, so nothing can change before it. A shift
 * occurrence of day D ends before local date D+1 ends and starts on D, so
 * deciding t (local date D) needs the occurrences of D-1 and D only.
 *
 * The supported instants are those of tz.h (years 0000-9999). Outside them a
 * schedule with hours is OFF_SHIFT and one without is ON (out of office
 * still applies); the range ends themselves are edges, so the invariant
 * "at is constant on [t, next_change(t))" holds everywhere.
 */
#include "core/schedule.h"
#include "core/tzdata.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_MIN 60000LL
#define MS_DAY 86400000LL
#define MIN_DAY 1440
#define SCAN_DAYS 16                /* days scanned for the next shift edge */
#define EDGE_NONE INT64_MAX
#define COALESCE 64                 /* edges next_change skips when nothing changes */

typedef struct range {
    int16_t start, end;             /* local minutes of the day; see above */
} range;

typedef struct absence {
    lr_time from, to;               /* [from, to) */
} absence;

struct lr_schedule {
    lr_zone *zone;                  /* owned */
    bool has_hours;                 /* some add_hours succeeded */
    bool has_ranges;                /* some day has a range */
    uint8_t given;                  /* bit d: weekday d (0 = Monday) was given */
    uint8_t nr[7];
    range r[7][LR_SCHEDULE_MAX_RANGES];
    absence *ooo;                   /* owned; once at() has run, sorted and merged */
    size_t nooo, capooo;
    bool ooo_sorted;                /* ooo is sorted by from, none overlapping or
                                       touching another (ooo_normalize) */
    int64_t *hol;                   /* owned, sorted, unique local dates */
    size_t nhol, caphol;
    lr_time c_from, c_until;        /* at() is c_state on [c_from, c_until); */
    lr_avail c_state;               /* c_from == LR_TIME_NONE: no cache */
};

static const char *const day_names[7] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
#define DAYS_HINT "(use mon..sun, mon-fri, daily)"

/* ---- errors -------------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LR_EINVAL;
}

/* Copies N bytes of S for quoting in a message: at most 40, control bytes as
 * '?', "..." when cut. Returns OUT. */
static const char *clip(char out[48], const char *s, size_t n) {
    size_t k = 0;
    for (; k < n && k < 40; k++) out[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? '?' : s[k];
    if (k < n) { memcpy(out + k, "...", 3); k += 3; }
    out[k] = '\0';
    return out;
}

/* ---- lifetime ------------------------------------------------------------ */

static void clear_cache(lr_schedule *s) {
    s->c_from = s->c_until = LR_TIME_NONE;
}

int lr_schedule_create(const char *zone, lr_schedule **out, char *err, size_t errlen) {
    lr_schedule *s = calloc(1, sizeof *s);
    if (!s) return LR_ENOMEM;
    int rc = lr_zone_open(zone, &s->zone);
    if (rc != LR_OK) {
        free(s);
        if (rc == LR_ENOMEM) return rc;
        char q[48];
        if (zone && lr_tzdata_system_has(zone))
            return fail(err, errlen, "unknown time zone '%s' to ICU's zone data %s, though the "
                        "system's tz database has it: newer zone data for ICU is needed "
                        "(docs/configuration.md, \"Time zone data\")",
                        clip(q, zone, strlen(zone)), lr_tzdata_icu_version());
        return fail(err, errlen, "unknown time zone '%s' (use an IANA name such as America/Chicago)",
                    zone ? clip(q, zone, strlen(zone)) : "");
    }
    clear_cache(s);
    *out = s;
    return LR_OK;
}

void lr_schedule_free(lr_schedule *s) {
    if (!s) return;
    lr_zone_close(s->zone);
    free(s->ooo);
    free(s->hol);
    free(s);
}

lr_zone *lr_schedule_zone(lr_schedule *s) { return s->zone; }

/* ---- parsing ------------------------------------------------------------- */

static bool is_space(char c) { return c == ' ' || c == '\t'; }

/* Trims spaces and tabs around [*p, *p + *n). */
static void trim(const char **p, size_t *n) {
    while (*n && is_space(**p)) { (*p)++; (*n)--; }
    while (*n && is_space((*p)[*n - 1])) (*n)--;
}

static bool eq_ci(const char *p, size_t n, const char *word) {
    size_t k = strlen(word);
    if (n != k) return false;
    for (size_t i = 0; i < n; i++)
        if (tolower((unsigned char)p[i]) != word[i]) return false;
    return true;
}

/* The weekday (0 = Monday) named by P[0..N), or -1. */
static int day_index(const char *p, size_t n) {
    for (int d = 0; d < 7; d++)
        if (eq_ci(p, n, day_names[d])) return d;
    return -1;
}

/* Parses a day key into a bit mask of weekdays. */
static int parse_days(const char *days, uint8_t *mask, char *err, size_t errlen) {
    char q[48];
    const char *p = days;
    size_t len = strlen(days);
    uint8_t m = 0;
    trim(&p, &len);
    if (len == 0) return fail(err, errlen, "no days given " DAYS_HINT);
    const char *end = p + len;
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *tok = p;
        size_t n = (size_t)((comma ? comma : end) - p);
        trim(&tok, &n);
        uint8_t add = 0;
        const char *dash = memchr(tok, '-', n);
        if (n == 0) {
            return fail(err, errlen, "empty day in '%s' " DAYS_HINT, clip(q, days, strlen(days)));
        } else if (eq_ci(tok, n, "daily")) {
            add = 0x7f;
        } else if (dash) {
            const char *a = tok, *b = dash + 1;
            size_t na = (size_t)(dash - tok), nb = (size_t)(tok + n - b);
            trim(&a, &na);
            trim(&b, &nb);
            int da = day_index(a, na), db = day_index(b, nb);
            if (eq_ci(a, na, "daily") || eq_ci(b, nb, "daily"))   /* "daily-fri" */
                return fail(err, errlen, "'%s': a range is of days mon..sun; daily stands alone "
                            DAYS_HINT, clip(q, tok, n));
            if (da < 0) return fail(err, errlen, "unknown day '%s' " DAYS_HINT, clip(q, a, na));
            if (db < 0) return fail(err, errlen, "unknown day '%s' " DAYS_HINT, clip(q, b, nb));
            for (int d = da;; d = (d + 1) % 7) {
                add |= (uint8_t)(1u << d);
                if (d == db) break;
            }
        } else {
            int d = day_index(tok, n);
            if (d < 0) return fail(err, errlen, "unknown day '%s' " DAYS_HINT, clip(q, tok, n));
            add = (uint8_t)(1u << d);
        }
        if (m & add) {
            for (int d = 0; d < 7; d++)
                if (m & add & (1u << d)) return fail(err, errlen, "day '%s' is given twice", day_names[d]);
        }
        m |= add;
        if (!comma) break;
        p = comma + 1;
    }
    *mask = m;
    return LR_OK;
}

/* Reads "H:MM" or "HH:MM" at *P (before END) into minutes (hours not yet
 * range-checked: 24:xx is read as 1440 + xx). Advances *P. */
static bool read_clock(const char **p, const char *end, int *minutes) {
    const char *s = *p;
    int h = 0, k = 0;
    while (s < end && k < 2 && isdigit((unsigned char)*s)) { h = h * 10 + (*s++ - '0'); k++; }
    if (k == 0 || s >= end || *s != ':') return false;
    s++;
    if (end - s < 2 || !isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1])) return false;
    int mi = (s[0] - '0') * 10 + (s[1] - '0');
    *p = s + 2;
    *minutes = mi > 59 ? -1 : h * 60 + mi;
    return true;
}

/* Parses an hours spec into ranges; *n = 0 for "off". */
static int parse_hours(const char *hours, range out[LR_SCHEDULE_MAX_RANGES], int *n,
                       char *err, size_t errlen) {
    char q[48];
    const char *p = hours;
    size_t len = strlen(hours);
    trim(&p, &len);
    if (len == 0) return fail(err, errlen, "empty hours (use HH:MM-HH:MM, 24h or off)");
    if (eq_ci(p, len, "off")) { *n = 0; return LR_OK; }
    if (eq_ci(p, len, "24h")) {
        out[0] = (range){ 0, MIN_DAY };
        *n = 1;
        return LR_OK;
    }
    int k = 0;
    const char *end = p + len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *tok = p, *tend;
        size_t tn = (size_t)((comma ? comma : end) - p);
        trim(&tok, &tn);
        tend = tok + tn;
        if (tn == 0) return fail(err, errlen, "empty range in '%s'", clip(q, hours, strlen(hours)));
        const char *s = tok;
        int a, b;
        bool ok = read_clock(&s, tend, &a);
        while (ok && s < tend && is_space(*s)) s++;
        ok = ok && s < tend && *s == '-';
        if (ok) s++;
        while (ok && s < tend && is_space(*s)) s++;
        ok = ok && read_clock(&s, tend, &b) && s == tend;
        if (!ok) return fail(err, errlen, "'%s' is not HH:MM-HH:MM", clip(q, tok, tn));
        if (a < 0 || b < 0 || a >= MIN_DAY || b > MIN_DAY)
            return fail(err, errlen, "'%s' is not a time range (hours 00-23, 24:00 only as an end; "
                        "minutes 00-59)", clip(q, tok, tn));
        if (k == LR_SCHEDULE_MAX_RANGES)
            return fail(err, errlen, "more than %d ranges in '%s'", LR_SCHEDULE_MAX_RANGES,
                        clip(q, hours, strlen(hours)));
        if (b <= a) b += MIN_DAY;   /* crosses midnight: belongs to the start day */
        out[k++] = (range){ (int16_t)a, (int16_t)b };
        if (!comma) break;
        p = comma + 1;
    }
    *n = k;
    return LR_OK;
}

int lr_schedule_add_hours(lr_schedule *s, const char *days, const char *hours,
                          char *err, size_t errlen) {
    if (!days || !hours) return fail(err, errlen, "hours need days and a time range");
    uint8_t mask = 0;
    int rc = parse_days(days, &mask, err, errlen);
    if (rc != LR_OK) return rc;
    for (int d = 0; d < 7; d++)
        if (mask & s->given & (1u << d)) return fail(err, errlen, "day '%s' is given twice", day_names[d]);
    range r[LR_SCHEDULE_MAX_RANGES];
    int n = 0;
    if ((rc = parse_hours(hours, r, &n, err, errlen)) != LR_OK) return rc;
    for (int d = 0; d < 7; d++) {
        if (!(mask & (1u << d))) continue;
        memcpy(s->r[d], r, (size_t)n * sizeof *r);
        s->nr[d] = (uint8_t)n;
        if (n) s->has_ranges = true;
    }
    s->given |= mask;
    s->has_hours = true;
    clear_cache(s);
    return LR_OK;
}

/* Parses exactly "YYYY-MM-DD" (a real date) into days since 1970-01-01. */
static bool parse_date(const char *p, size_t n, int64_t *days) {
    if (n != 10 || p[4] != '-' || p[7] != '-') return false;
    int v[3] = { 0, 0, 0 }, w[3] = { 4, 2, 2 }, off[3] = { 0, 5, 8 };
    for (int f = 0; f < 3; f++)
        for (int i = 0; i < w[f]; i++) {
            char c = p[off[f] + i];
            if (!isdigit((unsigned char)c)) return false;
            v[f] = v[f] * 10 + (c - '0');
        }
    if (!lr_date_valid(v[0], v[1], v[2])) return false;
    *days = lr_days_from_date(v[0], v[1], v[2]);
    return true;
}

/* One end of an out-of-office range: a date (its local midnight, or for
 * the end the next local midnight) or an RFC 3339 instant. */
static int parse_edge(lr_schedule *s, const char *what, const char *text, bool is_end,
                      lr_time *out, char *err, size_t errlen) {
    size_t n = strlen(text);
    int64_t days;
    if (parse_date(text, n, &days)) {
        if (lr_zone_local_instant(s->zone, (days + (is_end ? 1 : 0)) * MS_DAY, out) == LR_OK)
            return LR_OK;
    } else if (n != 10 && lr_time_parse(text, n, out) == LR_OK) {
        return LR_OK;
    }
    char q[48];
    return fail(err, errlen, "%s '%s' is not a date (YYYY-MM-DD) or an RFC 3339 date-time", what,
                clip(q, text, n));
}

int lr_schedule_add_out_of_office(lr_schedule *s, const char *from, const char *to,
                                  char *err, size_t errlen) {
    if (!from || !to) return fail(err, errlen, "out of office needs both 'from' and 'to'");
    lr_time a, b;
    int rc = parse_edge(s, "from", from, false, &a, err, errlen);
    if (rc == LR_OK) rc = parse_edge(s, "to", to, true, &b, err, errlen);
    if (rc != LR_OK) return rc;
    if (b <= a) {
        char q1[48], q2[48];
        return fail(err, errlen, b < a ? "out of office ends before it starts (from '%s', to '%s')"
                                       : "out of office ends as it starts: no time away (from '%s', to '%s')",
                    clip(q1, from, strlen(from)), clip(q2, to, strlen(to)));
    }
    if (s->nooo == s->capooo) {
        size_t cap = s->capooo ? s->capooo * 2 : 4;
        absence *na = realloc(s->ooo, cap * sizeof *na);
        if (!na) return LR_ENOMEM;
        s->ooo = na;
        s->capooo = cap;
    }
    s->ooo[s->nooo++] = (absence){ a, b };
    s->ooo_sorted = false;
    clear_cache(s);
    return LR_OK;
}

static int absence_cmp(const void *pa, const void *pb) {
    const absence *a = pa, *b = pb;
    return a->from < b->from ? -1 : a->from > b->from;
}

/* Sorts the absences and merges those that overlap or touch: the union
 * is the same, and then the one holding t is found by a binary search,
 * and where an absence ends no other holds (a chain of 20,000 absences,
 * each ending where the next began, given newest first, took a scan per
 * link: 0.7 s for the first lead). */
static void ooo_normalize(lr_schedule *s) {
    if (s->ooo_sorted) return;
    s->ooo_sorted = true;
    if (s->nooo < 2) return;
    qsort(s->ooo, s->nooo, sizeof *s->ooo, absence_cmp);
    size_t n = 1;
    for (size_t i = 1; i < s->nooo; i++) {
        if (s->ooo[i].from <= s->ooo[n - 1].to) {
            if (s->ooo[i].to > s->ooo[n - 1].to) s->ooo[n - 1].to = s->ooo[i].to;
        } else {
            s->ooo[n++] = s->ooo[i];
        }
    }
    s->nooo = n;
}

/* Index of the first absence (normalized) that starts after T. */
static size_t ooo_after(const lr_schedule *s, lr_time t) {
    size_t lo = 0, hi = s->nooo;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ooo[mid].from <= t) lo = mid + 1; else hi = mid;
    }
    return lo;
}

/* The absence (normalized) holding T, or NULL. */
static const absence *ooo_holding(const lr_schedule *s, lr_time t) {
    size_t i = ooo_after(s, t);
    return i > 0 && t < s->ooo[i - 1].to ? &s->ooo[i - 1] : NULL;
}

/* Index of the first holiday >= DAY. */
static size_t hol_lower(const lr_schedule *s, int64_t day) {
    size_t lo = 0, hi = s->nhol;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->hol[mid] < day) lo = mid + 1; else hi = mid;
    }
    return lo;
}

int lr_schedule_add_holiday(lr_schedule *s, const char *date, char *err, size_t errlen) {
    int64_t day;
    char q[48];
    if (!date || !parse_date(date, strlen(date), &day))
        return fail(err, errlen, "holiday '%s' is not a date (YYYY-MM-DD)",
                    date ? clip(q, date, strlen(date)) : "");
    size_t i = hol_lower(s, day);
    if (i < s->nhol && s->hol[i] == day) return LR_OK;
    if (s->nhol == s->caphol) {
        size_t cap = s->caphol ? s->caphol * 2 : 8;
        int64_t *nh = realloc(s->hol, cap * sizeof *nh);
        if (!nh) return LR_ENOMEM;
        s->hol = nh;
        s->caphol = cap;
    }
    memmove(s->hol + i + 1, s->hol + i, (s->nhol - i) * sizeof *s->hol);
    s->hol[i] = day;
    s->nhol++;
    clear_cache(s);
    return LR_OK;
}

/* ---- queries ------------------------------------------------------------- */

/* The instant of local minute MINUTE of date DAY (minutes may pass 1440). */
static lr_time local_at(lr_schedule *s, int64_t day, int minute, bool *ok) {
    lr_time t;
    if (lr_zone_local_instant(s->zone, day * MS_DAY + minute * MS_MIN, &t) != LR_OK) {
        *ok = false;
        return 0;
    }
    return t;
}

static bool in_range(lr_time t) { return t >= LR_ZONE_TIME_MIN && t <= LR_ZONE_TIME_MAX; }

/* The local date of T (in range). */
static bool local_day(lr_schedule *s, lr_time t, int64_t *day) {
    lr_civil c;
    if (lr_zone_civil(s->zone, t, &c) != LR_OK) return false;
    *day = lr_days_from_date(c.year, c.month, c.day);
    return true;
}

/* lr_schedule_at without the cache. */
static lr_avail compute_at(lr_schedule *s, lr_time t) {
    if (ooo_holding(s, t)) return LR_AVAIL_OUT_OF_OFFICE;
    if (!s->has_hours && s->nhol == 0) return LR_AVAIL_ON;
    int64_t d;
    if (!in_range(t) || !local_day(s, t, &d)) return s->has_hours ? LR_AVAIL_OFF_SHIFT : LR_AVAIL_ON;
    size_t h = hol_lower(s, d);
    if (h < s->nhol && s->hol[h] == d) return LR_AVAIL_OFF_SHIFT;
    if (!s->has_hours) return LR_AVAIL_ON;
    for (int64_t dd = d - 1; dd <= d; dd++) {
        int wd = lr_weekday_of_days(dd);
        for (int k = 0; k < s->nr[wd]; k++) {
            bool ok = true;
            lr_time a = local_at(s, dd, s->r[wd][k].start, &ok);
            lr_time b = local_at(s, dd, s->r[wd][k].end, &ok);
            if (ok && a <= t && t < b) return LR_AVAIL_ON;
        }
    }
    return LR_AVAIL_OFF_SHIFT;
}

static lr_time next_change_from(lr_schedule *s, lr_time t, lr_avail cur);

/* at() through the cache; *UNTIL is where the answer may change next
 * (INT64_MAX: never). On a miss the cache is refilled from T. */
static lr_avail at_cached(lr_schedule *s, lr_time t, lr_time *until) {
    if (s->c_from == LR_TIME_NONE || t < s->c_from || t >= s->c_until) {
        ooo_normalize(s);
        lr_avail a = compute_at(s, t);
        lr_time next = next_change_from(s, t, a);
        s->c_state = a;
        s->c_from = t;
        s->c_until = next == LR_TIME_NONE ? INT64_MAX : next;
    }
    *until = s->c_until;
    return s->c_state;
}

lr_avail lr_schedule_at(lr_schedule *s, lr_time t) {
    lr_time until;
    return at_cached(s, t, &until);
}

/* Lowers *BEST to E when t < E < *BEST. */
static void edge(lr_time *best, lr_time t, lr_time e) {
    if (e > t && e < *best) *best = e;
}

/* The least interval edge > t (LR_TIME_NONE: none): at() is constant
 * between two consecutive edges, but need not differ across one. */
static lr_time next_edge(lr_schedule *s, lr_time t) {
    lr_time best = EDGE_NONE;
    size_t after = ooo_after(s, t);             /* edges ascend: from, to, from, ... */
    if (after < s->nooo) edge(&best, t, s->ooo[after].from);
    if (after > 0) edge(&best, t, s->ooo[after - 1].to);
    bool zoned = s->has_ranges || s->nhol > 0;   /* anything that depends on local time */
    int64_t d;
    if (!zoned || t > LR_ZONE_TIME_MAX) goto done;
    if (t < LR_ZONE_TIME_MIN) {                  /* at() changes rules at the range start */
        edge(&best, t, LR_ZONE_TIME_MIN);
        goto done;
    }
    if (!local_day(s, t, &d)) goto done;

    /* holidays: the first whose start is past t ends the search */
    for (size_t i = hol_lower(s, d - 1); i < s->nhol; i++) {
        bool ok = true;
        lr_time a = local_at(s, s->hol[i], 0, &ok), b = local_at(s, s->hol[i] + 1, 0, &ok);
        if (!ok) break;
        edge(&best, t, a);
        edge(&best, t, b);
        if (a > t) break;
    }

    /* shifts: day by day until a day starts after the best edge so far */
    if (s->has_ranges) {
        int64_t dd = d - 1;
        for (; dd < d - 1 + SCAN_DAYS; dd++) {
            bool ok = true;
            lr_time day0 = local_at(s, dd, 0, &ok);
            if (!ok) break;
            if (day0 > t && day0 > best) break;
            int wd = lr_weekday_of_days(dd);
            for (int k = 0; k < s->nr[wd]; k++) {
                lr_time a = local_at(s, dd, s->r[wd][k].start, &ok);
                lr_time b = local_at(s, dd, s->r[wd][k].end, &ok);
                if (!ok) break;
                edge(&best, t, a);
                edge(&best, t, b);
            }
        }
        /* Every range was swallowed by a gap (or the scan ran out): nothing
         * before the next unscanned day can change. */
        if (dd == d - 1 + SCAN_DAYS) {
            bool ok = true;
            lr_time next = local_at(s, dd, 0, &ok);
            if (ok) edge(&best, t, next);
        }
    }
    /* Past the supported range at() no longer reads local time. */
    if (best != EDGE_NONE && best > LR_ZONE_TIME_MAX + 1 && t <= LR_ZONE_TIME_MAX)
        best = LR_ZONE_TIME_MAX + 1;
done:
    return best == EDGE_NONE ? LR_TIME_NONE : best;
}

/* The first edge after T where at() differs from CUR (its value at T),
 * skipping up to COALESCE edges that change nothing (a shift under a
 * holiday, the midnights of "daily: 24h"); after that many the edge is
 * returned anyway, which is still correct ("may differ"). */
static lr_time next_change_from(lr_schedule *s, lr_time t, lr_avail cur) {
    if (cur == LR_AVAIL_OUT_OF_OFFICE) {
        /* Away until the end of the absence holding t (merged with those
         * it touches): no shift edge in between matters. */
        const absence *a = ooo_holding(s, t);
        return a ? a->to : t;
    }
    lr_time e = next_edge(s, t);
    for (int i = 0; i < COALESCE && e != LR_TIME_NONE; i++) {
        if (compute_at(s, e) != cur) return e;
        e = next_edge(s, e);
    }
    return e;
}

/* Answered from the cache: at() is constant on [c_from, c_until), so for t
 * in it the next change after t is c_until too. */
lr_time lr_schedule_next_change(lr_schedule *s, lr_time t) {
    lr_time until;
    at_cached(s, t, &until);
    return until == INT64_MAX ? LR_TIME_NONE : until;
}
