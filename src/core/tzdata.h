/* tzdata.h -- which time zone data leadrouter computes with.
 *
 * Local times come from ICU's zone data (tz.h), which is built into the
 * ICU library of the machine (Debian 12's ICU 72: IANA tzdata 2022e) or
 * read from the .res files in $ICU_TIMEZONE_FILES_DIR, ICU's own way to
 * update it. The system's tz database (/usr/share/zoneinfo, the tzdata
 * package) is usually newer. These say which versions are in use, so the
 * server can say so at its start and an unknown zone's message can say
 * why (docs/configuration.md, "Time zone data").
 */
#ifndef LR_CORE_TZDATA_H
#define LR_CORE_TZDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The version of ICU's zone data ("2022e"), or "unknown". Static. */
const char *lr_tzdata_icu_version(void);

/* The system tz database's version ("2025b", from the first line of
 * /usr/share/zoneinfo/tzdata.zi) into BUF of N bytes. False when it
 * cannot be read. */
bool lr_tzdata_system_version(char *buf, size_t n);

/* Whether the system's version is newer than ICU's: then zones whose
 * rules changed in between are computed by their older rules. */
bool lr_tzdata_icu_is_older(void);

/* Whether the system tz database has a zone or link NAME
 * ("America/Ciudad_Juarez", from tzdata.zi, read once): for the message
 * of a zone ICU's data does not know. Thread-safe. */
bool lr_tzdata_system_has(const char *name);

/* Whether NAME, a zone ICU knows as CANONICAL, is one of ICU's own IDs
 * that no IANA name is (the three-letter IDs of old Java: "BST", which
 * ICU reads as Asia/Dhaka, "IST" as Asia/Calcutta, "PST", ..., and
 * SystemV/...): true, with a message in MSG (N bytes) saying so, when the
 * system's tz database can be read and does not have NAME. An Area/Place
 * name is never one (a zone newer than the system's database, from ICU
 * data updated, or one IANA has dropped since). A config refuses such a
 * name (one it journaled before keeps it). */
bool lr_tzdata_not_iana(const char *name, const char *canonical, char *msg, size_t n);

/* For each time zone the agents of CFG use whose UTC offset by ICU's data
 * differs from the system tz database's (read by the C library's
 * localtime) at some instant from a year before NOW to two years after it
 * (looked at every 12 hours), writes a note naming the zone, the first
 * such instant and both offsets, and calls CB with it. Returns how many.
 * Only when ICU's data is the older (lr_tzdata_icu_is_older). Not
 * thread-safe: it sets TZ for a moment and puts it back (the CLI calls it
 * before any thread starts). */
struct lr_config;
size_t lr_tzdata_config_notes(const struct lr_config *cfg, int64_t now,
                              void (*cb)(const char *note, void *ud), void *ud);

#endif
