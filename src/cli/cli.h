/* cli.h -- what the files of the `leadrouter` command share.
 *
 * main.c dispatches argv[1] to a subcommand through one table; each
 * subcommand (route.c, check.c, ...) is a pair run + help. lines.c splits
 * an input stream into lines without a malloc per line; summary.c prints
 * the --summary tables. None of this is library code: it may print and
 * exit codes are decided here.
 *
 * Exit codes, the same for every subcommand:
 *   0  success
 *   1  some input lines were rejected (the others were processed)
 *   2  usage, configuration or I/O error
 */
#ifndef LR_CLI_H
#define LR_CLI_H

#include <stdint.h>
#include <stdio.h>

#include "core/map.h"
#include "leadrouter/config.h"
#include "leadrouter/engine.h"

#define LR_CLI_VERSION "0.1.0"

enum {
    LR_EXIT_OK = 0,
    LR_EXIT_REJECTED = 1,
    LR_EXIT_USAGE = 2                /* also: config and I/O errors */
};

/* ---- subcommands (one file each) ---------------------------------------- */

/* ARGV[0] is the subcommand's name; returns the exit status. */
int cli_route(int argc, char **argv);
void cli_route_help(FILE *out);
int cli_check(int argc, char **argv);
void cli_check_help(FILE *out);
int cli_serve(int argc, char **argv);
void cli_serve_help(FILE *out);
int cli_keys(int argc, char **argv);
void cli_keys_help(FILE *out);
int cli_deliveries(int argc, char **argv);
void cli_deliveries_help(FILE *out);

/* Prints "leadrouter CMD: MESSAGE (see leadrouter CMD --help)" on stderr
 * and returns LR_EXIT_USAGE. CMD may be NULL for the top level. */
int cli_usage_error(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reports what getopt_long() returned C (':' or '?') for: a missing value
 * or an unknown option, through cli_usage_error(). Returns LR_EXIT_USAGE. */
int cli_option_error(const char *cmd, int c, char **argv);

/* Loads PATH; on failure prints every error line on stderr and returns
 * NULL. The caller frees the config with lr_config_free(). */
lr_config *cli_load_config(const char *path);

/* Prints on stderr why a store's service (serve, route --db) did not open:
 * the errors of the --config file CONFIG ("CONFIG:LINE:COL: ..." lines,
 * rc LR_ECONFIG) as `check` prints them, anything else as "leadrouter CMD:
 * ERR" (lr_strerror(RC) when ERR is empty). */
void cli_service_error(const char *cmd, const char *config, int rc, const char *err);

/* Prints on stderr, as "NAME: note: ...", the notes about CFG's time zones
 * that cli_load_config() prints (zones whose local times the ICU data in
 * use gets wrong now). */
void cli_zone_notes(const lr_config *cfg, const char *name);

/* Opens the store DB (synchronous=FULL) for command CMD ("keys list", ...),
 * made when missing only when CREATE (a listing of a mistyped path must
 * say so, not make an empty store); on failure prints "leadrouter CMD:
 * why" on stderr and returns NULL. The caller closes it with
 * lr_store_close(). (keys.c) */
struct lr_store *cli_open_store(const char *cmd, const char *db, bool create);

/* ---- lines.c: block reader that hands out one line at a time ------------ */

typedef struct cli_lines {
    int fd;                          /* borrowed */
    char *buf;                       /* owned */
    size_t cap, start, end, scan;    /* buf[start, end) is unread data */
    size_t max_line;                 /* longer lines are reported, not returned */
    uint64_t lineno;                 /* number of the line last returned */
    int eof;
    int discarding;                  /* inside a line longer than max_line */
    void (*before_read)(void *ud);   /* optional: called before a read may block */
    void *ud;
} cli_lines;

/* Prepares to read FD (borrowed) in blocks. Returns LR_OK or LR_ENOMEM. */
int cli_lines_init(cli_lines *r, int fd, size_t max_line);
void cli_lines_release(cli_lines *r);

/* Gives the next line (without its "\n" or "\r\n") in *LINE / *LEN, valid
 * until the next call, and its number in r->lineno. Returns LR_OK, LR_ENOENT
 * at the end of input, LR_ERANGE for a line longer than max_line (skipped;
 * r->lineno names it), LR_EIO on a read error or LR_ENOMEM. */
int cli_lines_next(cli_lines *r, const char **line, size_t *len);

/* ---- summary.c: the --summary tables ------------------------------------ */

/* What `route` counted that the engine does not: per rule, by action. */
typedef struct cli_rule_tally {
    uint64_t decisions;
    uint64_t by_action[LR_ACTION__COUNT];
} cli_rule_tally;

/* A lead not assigned yet, for the time to its first assignment. */
typedef struct cli_wait {
    lr_time arrival;                 /* its received_at, else its first decision's at */
    char id[];
} cli_wait;

typedef struct cli_tally {
    uint64_t lines;                  /* non-blank lines read */
    uint64_t rejected;               /* lines that were not a valid event */
    cli_rule_tally *rules;           /* cfg->nrules + 1; the last: no rule */
    lr_map waiting;                  /* id -> cli_wait *: leads not assigned yet */
    const char *arriving;            /* the new lead whose event is being applied (its
                                        id, in idbuf: the engine may free the event's
                                        lead), while not assigned; NULL: none */
    char *idbuf;
    size_t idcap;
    lr_time arrival;                 /* its arrival: received_at, else its first
                                        decision's at (LR_TIME_NONE until then) */
    int64_t *waits;                  /* ms from arrival to first assignment or claim */
    size_t nwaits, capwaits;
} cli_tally;

/* Sets up T for a run on CFG; LR_OK or LR_ENOMEM. cli_tally_release frees
 * what it holds (a zeroed T too). */
int cli_tally_init(cli_tally *t, const lr_config *cfg);
void cli_tally_release(cli_tally *t);

/* Before lead LEAD's event is applied: the lead arrives, unless KNOWN
 * (the engine has a lead of that id: a repeat, refused as duplicate_lead,
 * as the server keeps a lead's first arrival) or still waiting from an
 * earlier arrival. */
int cli_tally_lead(cli_tally *t, const lr_lead *lead, bool known);

/* After the event: the arriving lead, if nobody took it, waits in
 * T->waiting. LR_OK or LR_ENOMEM. */
int cli_tally_applied(cli_tally *t);

/* Counts decision D: a lead's first assignment or claim gives a wait. */
int cli_tally_decision(cli_tally *t, const lr_decision *d);

/* Prints the run's summary (leads in, time to assignment, decisions by
 * action, per agent, per rule) as aligned tables to OUT. */
void cli_summary_print(FILE *out, const lr_config *cfg, const lr_engine *eng,
                       const cli_tally *t);

#endif
