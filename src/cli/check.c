/* check.c -- `leadrouter check --config FILE`: load and validate a config,
 * and the config loading every subcommand shares.
 *
 * All problems are printed, one "file:line:column: message" per line, not
 * only the first: the admin fixes the file in one pass.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

#include "core/tzdata.h"
#include "leadrouter/error.h"

static void print_warning(const char *msg, void *ud) {
    (void)ud;
    fprintf(stderr, "%s\n", msg);
}

static void zone_note(const char *note, void *ud) {
    fprintf(stderr, "%s: note: %s\n", (const char *)ud, note);
}

lr_config *cli_load_config(const char *path) {
    lr_config *cfg = NULL;
    lr_config_errors errs = { NULL, 0 };
    int rc = lr_config_load_file(path, &cfg, &errs);
    if (rc != LR_OK) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.msgs[i]);
        if (errs.n == 0) fprintf(stderr, "%s: %s\n", path, lr_strerror(rc));
        cfg = NULL;
    }
    lr_config_errors_release(&errs);
    if (cfg) cli_zone_notes(cfg, path);
    return cfg;
}

void cli_service_error(const char *cmd, const char *config, int rc, const char *err) {
    size_t n = config ? strlen(config) : 0;
    if (rc == LR_ECONFIG && n && strncmp(err, config, n) == 0 && err[n] == ':')
        fprintf(stderr, "%s\n", err);
    else
        fprintf(stderr, "leadrouter %s: %s\n", cmd, err[0] ? err : lr_strerror(rc));
}

void cli_zone_notes(const lr_config *cfg, const char *name) {
    /* the zones whose local times ICU's older data gets wrong now (the
     * wall clock: a note about the config, not about routing) */
    lr_tzdata_config_notes(cfg, (int64_t)time(NULL) * 1000, zone_note, (void *)name);
}

void cli_check_help(FILE *out) {
    fputs(
        "usage: leadrouter check --config FILE\n"
        "\n"
        "Loads and validates a routing config (agents, pools, accounts, rules)\n"
        "without routing anything. On success prints\n"
        "  FILE: ok (N agents, N pools, N rules)\n"
        "otherwise prints every problem on stderr as \"file:line:column: message\".\n"
        "\n"
        "options:\n"
        "  -c, --config FILE   the routing config (YAML or JSON); required\n"
        "  -h, --help          show this help and exit\n"
        "\n"
        "exit status:\n"
        "  0  the config is valid\n"
        "  2  the config has errors, cannot be read, or bad usage\n"
        "\n"
        "example:\n"
        "  leadrouter check --config examples/routing.yaml\n",
        out);
}

int cli_check(int argc, char **argv) {
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *config = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'h': cli_check_help(stdout); return LR_EXIT_OK;
        default: return cli_option_error("check", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("check", "unexpected argument '%s'", argv[optind]);
    if (!config) return cli_usage_error("check", "--config FILE is required");

    lr_config *cfg = cli_load_config(config);
    if (!cfg) return LR_EXIT_USAGE;
    size_t nwarn = lr_config_warnings(cfg, print_warning, NULL);
    printf("%s: ok (%zu agents, %zu pools, %zu rules%s)\n", config, cfg->nagents,
           cfg->npools, cfg->nrules, nwarn ? "; warnings on stderr" : "");
    lr_config_free(cfg);
    return LR_EXIT_OK;
}
