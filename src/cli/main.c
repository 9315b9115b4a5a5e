/* main.c -- the `leadrouter` command: dispatches argv[1] to a subcommand.
 *
 * Subcommands live in one table (name, one-line summary, run, help); a new
 * one (serve, keys, ...) is one file and one row here. Top-level options
 * are only --help and --version; everything else belongs to a subcommand,
 * which parses its own options with getopt_long().
 */
#include "cli/cli.h"
#include "core/tzdata.h"

#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>

typedef struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *out);
} command;

static const command commands[] = {
    { "route", "route JSONL events through a config; one JSON decision per line",
      cli_route, cli_route_help },
    { "check", "validate a routing config; name file:line:column of every mistake",
      cli_check, cli_check_help },
    { "serve", "run the HTTP API on a store; every 2xx is committed first",
      cli_serve, cli_serve_help },
    { "keys", "create, list and revoke API keys for the server (shown once, stored as a hash)",
      cli_keys, cli_keys_help },
    { "deliveries", "list the outbox of webhook and email deliveries; replay dead ones",
      cli_deliveries, cli_deliveries_help },
};
#define NCOMMANDS (sizeof commands / sizeof commands[0])

static const command *find_command(const char *name) {
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int cli_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "leadrouter%s%s: ", cmd ? " " : "", cmd ? cmd : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see leadrouter%s%s --help)\n", cmd ? " " : "", cmd ? cmd : "");
    return LR_EXIT_USAGE;
}

int cli_option_error(const char *cmd, int c, char **argv) {
    /* getopt_long() has moved optind past the faulty argument, except for
     * an unknown letter inside a cluster ("-xv"), which optopt names. */
    const char *arg = argv[optind - 1];
    if (c == ':') return cli_usage_error(cmd, "option '%s' needs a value", arg);
    if (optopt && strncmp(arg, "--", 2) != 0)
        return cli_usage_error(cmd, "unknown option '-%c'", optopt);
    return cli_usage_error(cmd, "unknown option '%s'", arg);
}

static void main_help(FILE *out) {
    fputs("usage: leadrouter COMMAND [OPTIONS] [ARGS]\n"
          "       leadrouter COMMAND --help\n"
          "\n"
          "leadrouter decides who works each sales lead: it reads leads and other\n"
          "events, routes them by the rules of one YAML config (agents, pools,\n"
          "rules) and says, for every lead, who got it, by which rule and why.\n"
          "\n"
          "commands:\n", out);
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("  help       show this help, or a command's: leadrouter help route\n"
          "\n"
          "options:\n"
          "  -h, --help       show this help and exit\n"
          "  -V, --version    print the version and exit\n"
          "\n"
          "exit status:\n"
          "  0  success\n"
          "  1  some input lines were rejected (the others were processed)\n"
          "  2  usage, configuration or I/O error\n"
          "\n"
          "example:\n"
          "  leadrouter check --config routing.yaml\n"
          "  leadrouter route --config routing.yaml leads.jsonl > decisions.jsonl\n",
          out);
}

static int run(int argc, char **argv) {
    if (argc < 2) {
        main_help(stderr);
        return LR_EXIT_USAGE;
    }
    const char *arg = argv[1];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
        main_help(stdout);
        return LR_EXIT_OK;
    }
    if (strcmp(arg, "--version") == 0 || strcmp(arg, "-V") == 0) {
        printf("leadrouter %s\n", LR_CLI_VERSION);
        char sys_tz[16];
        printf("time zone data: ICU's %s (the system's tz database: %s)\n", lr_tzdata_icu_version(),
               lr_tzdata_system_version(sys_tz, sizeof sys_tz) ? sys_tz : "none found");
        return LR_EXIT_OK;
    }
    if (strcmp(arg, "help") == 0) {
        if (argc < 3) {
            main_help(stdout);
            return LR_EXIT_OK;
        }
        if (strcmp(argv[2], "help") == 0 || strcmp(argv[2], "--help") == 0 ||
            strcmp(argv[2], "-h") == 0) {
            main_help(stdout);          /* help is a command of its own */
            return LR_EXIT_OK;
        }
        const command *cmd = find_command(argv[2]);
        if (!cmd) return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
        cmd->help(stdout);
        return LR_EXIT_OK;
    }
    if (arg[0] == '-') return cli_usage_error(NULL, "unknown option '%s'", arg);
    const command *cmd = find_command(arg);
    if (!cmd) return cli_usage_error(NULL, "unknown command '%s'", arg);
    return cmd->run(argc - 1, argv + 1);
}

int main(int argc, char **argv) {
    /* a reader that went away is a write error like a full disk (exit 2),
     * not a signal */
    signal(SIGPIPE, SIG_IGN);
    int rc = run(argc, argv);
    /* what a command printed must have reached its reader: else the run did
     * not do what it says (serve prints one line at its start; its exit
     * status is about its stop). A command that failed said why already. */
    bool serve = argc >= 2 && strcmp(argv[1], "serve") == 0;
    if (!serve && (fflush(stdout) != 0 || ferror(stdout)) && rc == LR_EXIT_OK) {
        fprintf(stderr, "leadrouter: cannot write to standard output\n");
        rc = LR_EXIT_USAGE;
    }
    return rc;
}
