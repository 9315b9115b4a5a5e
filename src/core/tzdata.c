/* tzdata.c -- which time zone data leadrouter computes with (tzdata.h). */
#include "core/tzdata.h"

#include <stdio.h>
#include <string.h>

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

/* NAME is a zone or a link of the system's tz database: a line "Z NAME
 * ..." or "L TARGET NAME" of tzdata.zi (the files of the directory hold
 * other names too, posix/..., right/..., posixrules, localtime, that no
 * ICU update will take). "Factory" is a zone of no place. */
bool lr_tzdata_system_has(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > 64 || strcmp(name, "Factory") == 0) return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
                  ch == '/' || ch == '_' || ch == '-' || ch == '+';
        if (!ok) return false;
    }
    FILE *f = fopen(ZONEINFO "/tzdata.zi", "r");
    if (!f) return false;
    char line[512];
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if ((line[0] != 'Z' && line[0] != 'L') || line[1] != ' ') continue;
        const char *p = line + 2;
        if (line[0] == 'L') {               /* "L TARGET NAME": skip the target */
            p += strcspn(p, " \t\n");
            p += strspn(p, " \t");
        }
        size_t len = strcspn(p, " \t\r\n");
        found = len == n && memcmp(p, name, n) == 0;
    }
    fclose(f);
    return found;
}
