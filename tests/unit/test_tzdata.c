/* test_tzdata.c -- which time zone data leadrouter computes with: ICU's
 * version, the system's, which is newer, and which zone names the system
 * has that ICU may not (only names that look like zone IDs are looked up:
 * no path leaves /usr/share/zoneinfo). Run on Debian 12, whose ICU 72
 * has 2022e and whose tzdata package (installed by scripts/install-deps)
 * has 2025b or later. */
#include "core/schedule.h"
#include "core/tzdata.h"
#include "leadrouter/error.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "leadrouter/buf.h"
#include "leadrouter/config.h"

TEST(icu_and_system_versions_are_read) {
    const char *icu = lr_tzdata_icu_version();
    CHECK_EQ_INT((int)strlen(icu), 5);
    CHECK(strcmp(icu, "2022e") >= 0);
    char sys[16] = "";
    CHECK(lr_tzdata_system_version(sys, sizeof sys));
    CHECK(strcmp(sys, "2025b") >= 0);
    CHECK(!lr_tzdata_system_version(sys, 3));     /* too small a buffer */
}

TEST(debian_12_icu_data_is_older_than_its_tzdata) {
    CHECK_EQ_STR(lr_tzdata_icu_version(), "2022e");
    CHECK(lr_tzdata_icu_is_older());
}

TEST(system_zone_names_are_found_and_paths_are_not) {
    CHECK(lr_tzdata_system_has("America/New_York"));
    CHECK(lr_tzdata_system_has("America/Ciudad_Juarez"));
    CHECK(lr_tzdata_system_has("Etc/GMT+5"));
    CHECK(!lr_tzdata_system_has("America/Nowhere"));
    CHECK(!lr_tzdata_system_has("America"));                /* a directory */
    CHECK(!lr_tzdata_system_has(""));
    CHECK(!lr_tzdata_system_has("/etc/passwd"));
    CHECK(!lr_tzdata_system_has("../../../etc/passwd"));
    CHECK(!lr_tzdata_system_has("America/../America/New_York"));
    CHECK(!lr_tzdata_system_has("America//New_York"));
    CHECK(!lr_tzdata_system_has("America/New_York/"));
    CHECK(!lr_tzdata_system_has("tzdata.zi"));              /* not a zone file */
    /* files of the directory that are no zone ICU could take */
    CHECK(!lr_tzdata_system_has("posix/America/Chicago"));
    CHECK(!lr_tzdata_system_has("right/UTC"));
    CHECK(!lr_tzdata_system_has("posixrules"));
    CHECK(!lr_tzdata_system_has("localtime"));
    CHECK(!lr_tzdata_system_has("Factory"));
    CHECK(lr_tzdata_system_has("US/Central"));              /* a link */
}

/* A zone the system has and ICU's data lacks is refused with what to do;
 * a name nobody has, with an example of a good one. */
TEST(an_unknown_zone_says_whether_the_system_has_it) {
    lr_schedule *s = NULL;
    char err[256] = "";
    CHECK_EQ_INT(lr_schedule_create("America/Ciudad_Juarez", &s, err, sizeof err), LR_EINVAL);
    CHECK_CONTAINS(err, "unknown time zone 'America/Ciudad_Juarez' to ICU's zone data 2022e, though the "
                        "system's tz database has it: newer zone data for ICU is needed");
    CHECK_EQ_INT(lr_schedule_create("America/Nowhere", &s, err, sizeof err), LR_EINVAL);
    CHECK_EQ_STR(err, "unknown time zone 'America/Nowhere' (use an IANA name such as America/Chicago)");
    CHECK_EQ_INT(lr_schedule_create("America/Mexico_City", &s, err, sizeof err), LR_OK);
    lr_schedule_free(s);
}

static void keep_note(const char *note, void *ud) {
    lr_buf *b = ud;
    lr_buf_puts(b, note);
    lr_buf_putc(b, '\n');
}

/* check and route say which zones of a config ICU's older data computes
 * wrong: Mexico City (no summer time since 2022) once, however many agents
 * are there, Cairo (summer time again since 2023) named by a `when`, and
 * New York not (its rules did not change). */
TEST(a_config_is_told_which_of_its_zones_icu_gets_wrong) {
    const char *y = "agents:\n"
                    "  - {id: mx, schedule: {timezone: America/Mexico_City, hours: {mon-fri: \"09:00-17:00\"}}}\n"
                    "  - {id: ny, schedule: {timezone: America/New_York, hours: {mon-fri: \"09:00-17:00\"}}}\n"
                    "  - {id: mx2, schedule: {timezone: America/Mexico_City, hours: {mon-fri: \"09:00-17:00\"}}}\n"
                    "  - {id: plain}\n"
                    "pools: {t: [mx, ny, mx2, plain]}\nrules: [{name: r, pool: t, strategy: top_down},"
                    " {name: cairo, pool: t, strategy: top_down, when: 'local_hour(\"Africa/Cairo\") >= 9'}]\n";
    lr_config *cfg = NULL;
    lr_config_errors errs = { 0 };
    CHECK_EQ_INT(lr_config_load_string(y, strlen(y), "t", &cfg, &errs), LR_OK);
    lr_config_errors_release(&errs);
    if (!cfg) return;
    lr_buf notes = LR_BUF_INIT;
    const char *tz = getenv("TZ");
    char *tz_before = tz ? strdup(tz) : NULL;
    int64_t now = 1780000000000LL;              /* 2026-05-28 */
    CHECK_EQ_INT((int)lr_tzdata_config_notes(cfg, now, keep_note, &notes), 2);
    CHECK_CONTAINS(notes.data, "time zone 'Africa/Cairo': ");   /* a zone a `when` names */
    CHECK_CONTAINS(notes.data, "time zone 'America/Mexico_City': ICU's zone data 2022e, which leadrouter computes"
                               " with, gives UTC-05:00 at ");
    CHECK_CONTAINS(notes.data, "gives UTC-06:00: local times in this zone follow the older rules");
    CHECK(strstr(notes.data, "New_York") == NULL);
    tz = getenv("TZ");                          /* put back as it was */
    CHECK(tz_before ? tz && strcmp(tz, tz_before) == 0 : tz == NULL);
    free(tz_before);
    lr_buf_release(&notes);
    lr_config_free(cfg);
}

int main(void) {
    RUN(a_config_is_told_which_of_its_zones_icu_gets_wrong);
    RUN(icu_and_system_versions_are_read);
    RUN(debian_12_icu_data_is_older_than_its_tzdata);
    RUN(system_zone_names_are_found_and_paths_are_not);
    RUN(an_unknown_zone_says_whether_the_system_has_it);
    return test_report();
}
