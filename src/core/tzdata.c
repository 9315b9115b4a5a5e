/* tzdata.c -- which time zone data leadrouter computes with (tzdata.h). */
#include "core/tzdata.h"

#include "core/expr_impl.h"
#include "core/schedule.h"
#include "core/tz.h"
#include "leadrouter/config.h"
#include "leadrouter/error.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <unicode/ucal.h>
#include <unicode/utypes.h>

#define ZONEINFO "/usr/share/zoneinfo"

const char *lr_tzdata_icu_version(void) {
    UErrorCode e = U_ZERO_ERROR;
    const char *v = ucal_getTZDataVersion(&e);
    return U_SUCCESS(e) && v && *v ? v : "unknown";
}

bool lr_tzdata_system_version(char *buf, size_t n) {
    FILE *f = fopen(ZONEINFO "/tzdata.zi", "r");
    if (!f) return false;
    char line[64];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    const char *tag = "# version ";
    if (!ok || strncmp(line, tag, strlen(tag)) != 0) return false;
    const char *v = line + strlen(tag);
    size_t len = strcspn(v, " \t\r\n");
    if (len == 0 || len >= n) return false;
    memcpy(buf, v, len);
    buf[len] = '\0';
    return true;
}

/* Versions are a year and a letter ("2022e", "2025b"): in that form,
 * byte order is time order. */
static bool well_formed(const char *v) {
    size_t n = strlen(v);
    if (n < 5 || n > 6) return false;
    for (size_t i = 0; i < 4; i++)
        if (v[i] < '0' || v[i] > '9') return false;
    for (size_t i = 4; i < n; i++)
        if (v[i] < 'a' || v[i] > 'z') return false;
    return true;
}

bool lr_tzdata_icu_is_older(void) {
    char sys[16];
    const char *icu = lr_tzdata_icu_version();
    if (!lr_tzdata_system_version(sys, sizeof sys) || !well_formed(sys) || !well_formed(icu))
        return false;
    /* "2022e" < "2025b"; a two-letter version ("2022za") after every one-letter one */
    size_t ni = strlen(icu), ns = strlen(sys);
    int c = memcmp(icu, sys, 4);
    if (c != 0) return c < 0;
    if (ni != ns) return ni < ns;
    return strcmp(icu + 4, sys + 4) < 0;
}

/* The names of the system's tz database, sorted, read once: every zone
 * and link of tzdata.zi (a line "Z NAME ..." or "L TARGET NAME"; the files
 * of the directory hold other names too, posix/..., right/...,
 * posixrules, localtime, that no ICU update will take). "Factory" is a
 * zone of no place. None when the file cannot be read (or memory ran
 * out): then nothing is known to be in it. */
static struct {
    char **v;
    size_t n;
} sys_names;
static pthread_once_t sys_once = PTHREAD_ONCE_INIT;

static int by_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void read_sys_names(void) {
    FILE *f = fopen(ZONEINFO "/tzdata.zi", "r");
    if (!f) return;
    char line[512], **v = NULL;
    size_t n = 0, cap = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof line, f)) {
        if ((line[0] != 'Z' && line[0] != 'L') || line[1] != ' ') continue;
        const char *p = line + 2;
        if (line[0] == 'L') {               /* "L TARGET NAME": skip the target */
            p += strcspn(p, " \t\n");
            p += strspn(p, " \t");
        }
        size_t len = strcspn(p, " \t\r\n");
        if (len == 0 || (len == 7 && memcmp(p, "Factory", 7) == 0)) continue;
        if (n == cap) {
            char **nv = realloc(v, (cap = cap ? cap * 2 : 512) * sizeof *v);
            if (!nv) { ok = false; break; }
            v = nv;
        }
        if (!(v[n] = strndup(p, len))) ok = false;
        else n++;
    }
    fclose(f);
    if (!ok || n == 0) {
        while (n) free(v[--n]);
        free(v);
        return;
    }
    qsort(v, n, sizeof *v, by_str);
    sys_names.v = v;
    sys_names.n = n;
}

static bool sys_names_read(void) {
    pthread_once(&sys_once, read_sys_names);
    return sys_names.n > 0;
}

bool lr_tzdata_system_has(const char *name) {
    if (!sys_names_read()) return false;
    return bsearch(&name, sys_names.v, sys_names.n, sizeof *sys_names.v, by_str) != NULL;
}

bool lr_tzdata_not_iana(const char *name, const char *canonical, char *msg, size_t n) {
    /* ICU's own IDs have no area ("BST") or are SystemV's; an Area/Place
     * name the system does not list may be a zone newer than its tz
     * database (ICU's data updated) or one IANA has since dropped */
    if ((strchr(name, '/') && strncmp(name, "SystemV/", 8) != 0) || !sys_names_read() ||
        lr_tzdata_system_has(name))
        return false;
    if (strcmp(name, canonical) == 0)
        snprintf(msg, n, "'%s' is not an IANA time zone name: write the IANA name of the place, "
                 "such as Europe/London or America/Chicago", name);
    else
        snprintf(msg, n, "'%s' is not an IANA time zone name (ICU reads it as %s): write the "
                 "IANA name of the place, such as Europe/London or America/Chicago",
                 name, canonical);
    return true;
}

/* The UTC offset in minutes at T (ms) by the system's tz database, for the
 * zone TZ is set to. */
static bool sys_offset(int64_t t, int *min) {
    time_t s = (time_t)(t / 1000);
    struct tm tm;
    if (!localtime_r(&s, &tm)) return false;
    *min = (int)(tm.tm_gmtoff / 60);
    return true;
}

/* Formats an offset as "UTC-06:00". */
static void fmt_offset(char *buf, size_t n, int min) {
    int a = min < 0 ? -min : min;
    snprintf(buf, n, "UTC%c%02d:%02d", min < 0 ? '-' : '+', a / 60, a % 60);
}

static int by_name(const void *x, const void *y) {
    return strcmp(lr_zone_name(*(lr_zone *const *)x), lr_zone_name(*(lr_zone *const *)y));
}

size_t lr_tzdata_config_notes(const lr_config *cfg, int64_t now,
                              void (*cb)(const char *note, void *ud), void *ud) {
    if (!lr_tzdata_icu_is_older()) return 0;
    char sys[16];
    if (!lr_tzdata_system_version(sys, sizeof sys)) return 0;
    /* the zones: agents' schedules (their holidays too), and those that
     * `when` expressions name (local_hour, local_weekday), each once */
    size_t nz = cfg->nagents;
    for (size_t r = 0; r < cfg->nrules; r++) nz += cfg->rules[r].when ? cfg->rules[r].when->nzones : 0;
    lr_zone **zones = malloc((nz ? nz : 1) * sizeof *zones);
    if (!zones) return 0;
    nz = 0;
    for (size_t i = 0; i < cfg->nagents; i++)
        if (cfg->agents[i].schedule && lr_schedule_zone(cfg->agents[i].schedule))
            zones[nz++] = lr_schedule_zone(cfg->agents[i].schedule);
    for (size_t r = 0; r < cfg->nrules; r++)
        for (size_t k = 0; cfg->rules[r].when && k < cfg->rules[r].when->nzones; k++)
            zones[nz++] = cfg->rules[r].when->zones[k];
    qsort(zones, nz, sizeof *zones, by_name);
    const char *old_tz = getenv("TZ");
    char *saved = old_tz ? strdup(old_tz) : NULL;
    if (old_tz && !saved) {
        free(zones);
        return 0;
    }
    size_t notes = 0;
    const int64_t step = 12 * 3600 * 1000LL, year = 365 * 24 * 3600 * 1000LL;
    for (size_t i = 0; i < nz; i++) {
        lr_zone *z = zones[i];
        const char *name = lr_zone_name(z);
        if (i > 0 && strcmp(lr_zone_name(zones[i - 1]), name) == 0) continue;     /* once */
        if (!lr_tzdata_system_has(name) || setenv("TZ", name, 1) != 0) continue;
        tzset();
        for (int64_t t = (now - year) / step * step; t <= now + 2 * year; t += step) {
            lr_civil c;
            int so;
            if (lr_zone_civil(z, t, &c) != LR_OK || !sys_offset(t, &so) || so == c.utc_offset_min)
                continue;
            char at[32], icu_off[16], sys_off[16], note[512];
            time_t s = (time_t)(t / 1000);
            struct tm tm;
            gmtime_r(&s, &tm);
            strftime(at, sizeof at, "%Y-%m-%dT%H:%MZ", &tm);
            fmt_offset(icu_off, sizeof icu_off, c.utc_offset_min);
            fmt_offset(sys_off, sizeof sys_off, so);
            snprintf(note, sizeof note,
                     "time zone '%s': ICU's zone data %s, which leadrouter computes with, gives %s at %s, "
                     "the system's tz database %s gives %s: local times in this zone follow the "
                     "older rules (docs/configuration.md, \"Time zone data\")",
                     name, lr_tzdata_icu_version(), icu_off, at, sys, sys_off);
            cb(note, ud);
            notes++;
            break;
        }
    }
    if (saved) setenv("TZ", saved, 1);
    else unsetenv("TZ");
    tzset();
    free(saved);
    free(zones);
    return notes;
}
