/* deliveries.c -- `leadrouter deliveries list|retry`: the outbox of a
 * store, from the command line.
 *
 * `list` prints one JSON object per line (the objects of GET
 * /v1/deliveries). `retry` makes deliveries pending again in one
 * transaction; a server running on the same store sends them within a
 * second (its dispatcher polls the store), with the same delivery ids.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "leadrouter/error.h"
#include "leadrouter/store.h"

void cli_deliveries_help(FILE *out) {
    fputs(
        "usage: leadrouter deliveries list --db FILE [--status S] [--channel NAME] [--limit N]\n"
        "       leadrouter deliveries retry --db FILE ID...\n"
        "\n"
        "Deliveries are the webhook posts and emails the config's `notify` entries\n"
        "ask for, one per decision, channel and recipient; they are written with the\n"
        "decision and sent after it is committed (docs/api.md, \"Deliveries\").\n"
        "\n"
        "`list` prints one JSON object per line, oldest first: id, lead, action,\n"
        "agent, channel, recipient, status (pending, retrying, delivered, dead,\n"
        "cancelled), attempts, created_at, next_attempt_at, delivered_at, last_status, last_error.\n"
        "\n"
        "`retry` makes each delivery ID (dlv_42 or 42) pending again, due now, with\n"
        "a new retry window; a server running on the store sends it within a second,\n"
        "with the same delivery id.\n"
        "\n"
        "options:\n"
        "  -d, --db FILE        the server's store; required\n"
        "  -s, --status S       list: only pending, retrying, delivered, dead or\n"
        "                       cancelled\n"
        "  -c, --channel NAME   list: only this channel\n"
        "  -n, --limit N        list: at most N (default: all)\n"
        "  -h, --help           show this help and exit\n"
        "\n"
        "exit status:\n"
        "  0  done\n"
        "  1  retry: a delivery id was not found (the others were replayed)\n"
        "  2  usage error, or the store cannot be read or written\n",
        out);
}

/* Prints each element of the page's "deliveries" array on a line; sets
 * *next (malloc'd) to the next cursor or NULL. */
static int print_page(const lr_buf *page, long *left, char **next) {
    json_error_t e;
    json_t *root = json_loadb(page->data, page->len, 0, &e);
    if (!root) return LR_EINVAL;
    json_t *arr = json_object_get(root, "deliveries"), *it;
    size_t i;
    json_array_foreach(arr, i, it) {
        if (*left == 0) break;
        char *line = json_dumps(it, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) puts(line);
        free(line);
        if (*left > 0) (*left)--;
    }
    const char *c = json_string_value(json_object_get(root, "next_cursor"));
    *next = c && *left != 0 ? strdup(c) : NULL;
    json_decref(root);
    return LR_OK;
}

static int deliveries_list(int argc, char **argv) {
    static const struct option longopts[] = {
        { "db", required_argument, NULL, 'd' },
        { "status", required_argument, NULL, 's' },
        { "channel", required_argument, NULL, 'c' },
        { "limit", required_argument, NULL, 'n' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL, *status = NULL, *channel = NULL;
    long limit = -1;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:s:c:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 's': status = optarg; break;
        case 'c': channel = optarg; break;
        case 'n': {
            char *end;
            limit = strtol(optarg, &end, 10);
            if (!*optarg || *end || limit < 1)
                return cli_usage_error("deliveries list", "--limit must be a positive integer");
            break;
        }
        case 'h': cli_deliveries_help(stdout); return LR_EXIT_OK;
        default: return cli_option_error("deliveries list", c, argv);
        }
    }
    if (optind < argc)
        return cli_usage_error("deliveries list", "unexpected argument '%s'", argv[optind]);
    if (!db) return cli_usage_error("deliveries list", "--db FILE is required");
    if (status && lr_name_lookup(lr_delivery_status_names, LR_DLV__COUNT, status) < 0)
        return cli_usage_error("deliveries list",
                               "--status must be pending, retrying, delivered, dead or cancelled");
    lr_store *st = cli_open_store("deliveries list", db, false);
    if (!st) return LR_EXIT_USAGE;
    char *cursor = NULL;
    int rc = LR_OK;
    do {
        lr_buf page = LR_BUF_INIT;
        rc = lr_store_list_deliveries(st, status, channel, 1000, cursor, &page);
        free(cursor);
        cursor = NULL;
        if (rc == LR_OK) rc = print_page(&page, &limit, &cursor);
        lr_buf_release(&page);
    } while (rc == LR_OK && cursor);
    free(cursor);
    if (rc != LR_OK) fprintf(stderr, "leadrouter deliveries list: %s\n", lr_store_errmsg(st));
    lr_store_close(st);
    return rc == LR_OK ? LR_EXIT_OK : LR_EXIT_USAGE;
}

static int deliveries_retry(int argc, char **argv) {
    static const struct option longopts[] = {
        { "db", required_argument, NULL, 'd' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'h': cli_deliveries_help(stdout); return LR_EXIT_OK;
        default: return cli_option_error("deliveries retry", c, argv);
        }
    }
    if (!db) return cli_usage_error("deliveries retry", "--db FILE is required");
    if (optind >= argc) return cli_usage_error("deliveries retry", "give at least one delivery id");
    for (int i = optind; i < argc; i++) {
        int64_t id;
        if (lr_delivery_id_parse(argv[i], &id) != LR_OK)
            return cli_usage_error("deliveries retry", "'%s' is not a delivery id (dlv_42 or 42)",
                                   argv[i]);
    }
    lr_store *st = cli_open_store("deliveries retry", db, false);
    if (!st) return LR_EXIT_USAGE;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    lr_time now = (lr_time)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    int missing = 0;
    int rc = lr_store_begin(st);
    for (int i = optind; rc == LR_OK && i < argc; i++) {
        int64_t id;
        char prev[16];
        lr_delivery_id_parse(argv[i], &id);
        rc = lr_store_delivery_retry(st, id, now, prev);
        if (rc == LR_ENOENT) {
            fprintf(stderr, "leadrouter deliveries retry: no delivery %s\n", argv[i]);
            missing = 1;
            rc = LR_OK;
        } else if (rc == LR_OK) {
            printf("dlv_%lld: pending (was %s)\n", (long long)id, prev);
        }
    }
    if (rc == LR_OK) rc = lr_store_commit(st);
    else lr_store_rollback(st);
    if (rc != LR_OK) fprintf(stderr, "leadrouter deliveries retry: %s\n", lr_store_errmsg(st));
    lr_store_close(st);
    return rc != LR_OK ? LR_EXIT_USAGE : missing ? LR_EXIT_REJECTED : LR_EXIT_OK;
}

int cli_deliveries(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("deliveries", "a subcommand is required: list, retry");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        cli_deliveries_help(stdout);
        return LR_EXIT_OK;
    }
    if (strcmp(sub, "list") == 0) return deliveries_list(argc - 1, argv + 1);
    if (strcmp(sub, "retry") == 0) return deliveries_retry(argc - 1, argv + 1);
    return cli_usage_error("deliveries", "unknown subcommand '%s' (list, retry)", sub);
}
