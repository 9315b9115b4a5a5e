/* agent.c -- cap windows and time logs of an agent (see agent.h). */
#include "core/agent.h"
#include "leadrouter/error.h"

#include <stdlib.h>
#include <string.h>

#define MS_HOUR 3600000LL
#define MS_DAY 86400000LL

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Days since 1970-01-01 -> civil year/month (Howard Hinnant's algorithm). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m) {
    z += 719468;
    int64_t era = floor_div(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

lr_time lr_window_start(lr_cap c, lr_time t) {
    int64_t day = floor_div(t, MS_DAY);
    switch (c) {
    case LR_CAP_HOUR: return floor_div(t, MS_HOUR) * MS_HOUR;
    case LR_CAP_DAY: return day * MS_DAY;
    case LR_CAP_WEEK: /* 1970-01-01 was a Thursday: Monday is day -3 */
        return (floor_div(day + 3, 7) * 7 - 3) * MS_DAY;
    case LR_CAP_MONTH: {
        int64_t y; unsigned m;
        civil_from_days(day, &y, &m);
        return days_from_civil(y, m, 1) * MS_DAY;
    }
    default: return t;
    }
}

lr_time lr_window_end(lr_cap c, lr_time t) {
    lr_time s = lr_window_start(c, t);
    switch (c) {
    case LR_CAP_HOUR: return s + MS_HOUR;
    case LR_CAP_DAY: return s + MS_DAY;
    case LR_CAP_WEEK: return s + 7 * MS_DAY;
    case LR_CAP_MONTH: {
        int64_t y; unsigned m;
        civil_from_days(floor_div(s, MS_DAY), &y, &m);
        if (m == 12) { y++; m = 1; } else m++;
        return days_from_civil(y, m, 1) * MS_DAY;
    }
    default: return t;
    }
}

static lr_time agent_window_start(const lr_agent_rt *a, lr_cap c, lr_time t) {
    return a->zone ? lr_zone_window_start(a->zone, c, t) : lr_window_start(c, t);
}

lr_time lr_agent_window_end(const lr_agent_rt *a, lr_cap c, lr_time t) {
    return a->zone ? lr_zone_window_end(a->zone, c, t) : lr_window_end(c, t);
}

uint32_t lr_agent_window_count(const lr_agent_rt *a, lr_cap c, lr_time now) {
    /* Windows are contiguous and the clock never goes back, so the count
     * is current iff now is before the end of its window. */
    if (a->win_start[c] == LR_TIME_NONE) return 0;
    return now < lr_agent_window_end(a, c, a->win_start[c]) ? a->win_count[c] : 0;
}

int lr_agent_capped(const lr_agent_rt *a, lr_time now) {
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        int64_t cap = a->conf->caps[c];
        if (cap >= 0 && lr_agent_window_count(a, (lr_cap)c, now) >= (uint64_t)cap) return c;
    }
    return -1;
}

void lr_agent_count_lead(lr_agent_rt *a, lr_time now) {
    /* every window, capped or not: GET /v1/agents shows them all */
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        lr_time s = agent_window_start(a, (lr_cap)c, now);
        if (a->win_start[c] != s) {
            a->win_start[c] = s;
            a->win_count[c] = 0;
            a->carried_from[c] = a->carried_at[c] = LR_TIME_NONE;
        }
        a->win_count[c]++;
    }
}

void lr_agent_rezone(lr_agent_rt *a, const lr_agent_rt *was, lr_time now, bool track) {
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        if (was->win_start[c] == LR_TIME_NONE) continue;
        if (now < lr_agent_window_end(was, (lr_cap)c, was->win_start[c])) {
            a->win_start[c] = agent_window_start(a, (lr_cap)c, now);
            if (track) {
                /* carried again: it still holds the earlier times */
                if (was->carried_at[c] == LR_TIME_NONE) a->carried_from[c] = was->win_start[c];
                a->carried_at[c] = now;
            }
        } else {
            a->win_start[c] = LR_TIME_NONE;
            a->win_count[c] = 0;
            a->carried_from[c] = a->carried_at[c] = LR_TIME_NONE;
        }
    }
}

void lr_agent_uncount_lead(lr_agent_rt *a, lr_time at) {
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        if (a->win_count[c] == 0) continue;
        /* before a change of zone the carried count says which times it
         * holds; after it, the window does */
        bool held = a->carried_at[c] != LR_TIME_NONE && at < a->carried_at[c]
                        ? at >= a->carried_from[c]
                        : a->win_start[c] == agent_window_start(a, (lr_cap)c, at);
        if (held) a->win_count[c]--;
    }
}

void lr_agent_windows_clear(lr_agent_rt *a) {
    for (int c = 0; c < LR_CAP__COUNT; c++) {
        a->win_start[c] = a->carried_from[c] = a->carried_at[c] = LR_TIME_NONE;
        a->win_count[c] = 0;
    }
}

void lr_timelog_release(lr_timelog *l) {
    free(l->t);
    free(l->cum);
    memset(l, 0, sizeof *l);
}

int lr_timelog_add(lr_timelog *l, lr_time t, bool win) {
    if (l->n == l->cap) {
        if (l->head > l->n / 2) {           /* slide live entries to the front */
            uint32_t live = l->n - l->head;
            memmove(l->t, l->t + l->head, live * sizeof *l->t);
            memmove(l->cum, l->cum + l->head, live * sizeof *l->cum);
            l->n = live;
            l->head = 0;
        } else {
            uint32_t cap = l->cap ? l->cap * 2 : 8;
            lr_time *nt = realloc(l->t, cap * sizeof *nt);
            if (!nt) return LR_ENOMEM;
            l->t = nt;
            uint32_t *nc = realloc(l->cum, cap * sizeof *nc);
            if (!nc) return LR_ENOMEM;
            l->cum = nc;
            l->cap = cap;
        }
    }
    uint32_t prev = l->n > l->head ? l->cum[l->n - 1] : l->base;
    l->t[l->n] = t;
    l->cum[l->n] = prev + (win ? 1 : 0);
    l->n++;
    return LR_OK;
}

void lr_timelog_trim(lr_timelog *l, lr_time t) {
    while (l->head < l->n && l->t[l->head] <= t) l->base = l->cum[l->head++];
    if (l->head == l->n) { l->head = l->n = 0; }
}

void lr_timelog_remove(lr_timelog *l, lr_time t) {
    uint32_t i = l->n;
    while (i > l->head && l->t[i - 1] > t) i--;
    if (i == l->head || l->t[i - 1] != t) return;
    i--;                                    /* the entry to remove */
    uint32_t before = i > l->head ? l->cum[i - 1] : l->base;
    uint32_t win = l->cum[i] - before;
    for (uint32_t k = i; k + 1 < l->n; k++) {
        l->t[k] = l->t[k + 1];
        l->cum[k] = l->cum[k + 1] - win;
    }
    l->n--;
    if (l->head == l->n) l->head = l->n = 0;
}

uint32_t lr_timelog_count_since(const lr_timelog *l, lr_time since, uint32_t *wins) {
    uint32_t lo = l->head, hi = l->n;       /* first entry with t > since */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->t[mid] <= since) lo = mid + 1; else hi = mid;
    }
    if (wins) {
        uint32_t before = lo > l->head ? l->cum[lo - 1] : l->base;
        uint32_t last = l->n > l->head ? l->cum[l->n - 1] : l->base;
        *wins = last - before;
    }
    return l->n - lo;
}
