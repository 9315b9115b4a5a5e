/* keys.c -- `leadrouter keys create|list|revoke`: the server's API keys.
 *
 * The key is printed once, alone on standard output (so scripts can take
 * it with $(...)), and never stored: the store keeps its hash (auth.h).
 * Its public id and role go to standard error. A running server sees the
 * new key at its first use: its lookup asks the store on a cache miss; a
 * revoked one within a second (it asks again about each key it knows).
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "leadrouter/error.h"
#include "leadrouter/event.h"
#include "leadrouter/store.h"
#include "server/auth.h"
#include "server/form.h"

#define ID_TRIES 4                   /* new keys when the 8-character id is taken */

void cli_keys_help(FILE *out) {
    fputs(
        "usage: leadrouter keys create --db FILE --role ROLE [--agent ID]\n"
        "       leadrouter keys list --db FILE\n"
        "       leadrouter keys revoke --db FILE ID\n"
        "\n"
        "`keys list` prints every key's public id, role, agent and creation time\n"
        "(never a secret: only hashes are stored). `keys revoke` removes key ID\n"
        "(as `keys list` shows it); a running server refuses it (401) within a\n"
        "second.\n"
        "\n"
        "Creates an API key for `leadrouter serve` and prints it once, alone on\n"
        "standard output; only its hash is stored. On standard error:\n"
        "  key id: ID, role: ROLE\n"
        "(ID, the first 8 characters after \"lr_\", is public). Clients send the\n"
        "key as: Authorization: Bearer KEY. A running server accepts it at once.\n"
        "\n"
        "roles:\n"
        "  admin    everything\n"
        "  ingest   POST /v1/leads and /v1/forms/{source} only\n"
        "  agent    one agent's own leads, progress, claim, accept, decline,\n"
        "           release, claimable leads, next lead and status; needs --agent\n"
        "\n"
        "options:\n"
        "  -d, --db FILE      the server's store (created when missing); required\n"
        "  -r, --role ROLE    admin, ingest or agent; required\n"
        "  -a, --agent ID     the agent an agent key acts for (agent role only)\n"
        "  -h, --help         show this help and exit\n"
        "\n"
        "exit status:\n"
        "  0  the key was created (revoke: removed)\n"
        "  2  usage error, no such key, or the store cannot be written\n"
        "\n"
        "example:\n"
        "  KEY=$(leadrouter keys create --db leadrouter.db --role agent --agent bob)\n"
        "  curl -H \"Authorization: Bearer $KEY\" http://127.0.0.1:8080/v1/agents/bob\n",
        out);
}

lr_store *cli_open_store(const char *cmd, const char *db, bool create) {
    char err[512] = "";
    lr_store *st = NULL;
    if (!create && access(db, F_OK) != 0) {
        fprintf(stderr, "leadrouter %s: no store at %s (%s)\n", cmd, db, strerror(errno));
        return NULL;
    }
    int rc = create ? lr_store_open(db, LR_SYNC_FULL, &st, err, sizeof err)
                    : lr_store_open_existing(db, &st, err, sizeof err);
    if (rc != LR_OK) {
        const char *why = err[0] ? err : lr_strerror(rc);
        if (strncmp(why, db, strlen(db)) == 0)  /* it names the file already */
            fprintf(stderr, "leadrouter %s: %s\n", cmd, why);
        else
            fprintf(stderr, "leadrouter %s: %s: %s\n", cmd, db, why);
        return NULL;
    }
    return st;
}

static int print_key(const char *id, const char *role, const char *agent, lr_time created,
                     void *ud) {
    char when[40] = "-";
    if (created != LR_TIME_NONE) lr_time_format(created, when, sizeof when);
    printf("%-10s %-7s %-20s %s\n", id, role, agent ? agent : "-", when);
    (void)ud;
    return 0;
}

/* keys list --db FILE: every key's id, role, agent and creation time. */
static int keys_list(int argc, char **argv) {
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
        case 'h': cli_keys_help(stdout); return LR_EXIT_OK;
        default: return cli_option_error("keys list", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("keys list", "unexpected argument '%s'", argv[optind]);
    if (!db) return cli_usage_error("keys list", "--db FILE is required");
    lr_store *st = cli_open_store("keys list", db, false);
    if (!st) return LR_EXIT_USAGE;
    printf("%-10s %-7s %-20s %s\n", "id", "role", "agent", "created");
    int rc = lr_store_key_list(st, print_key, NULL);
    if (rc != LR_OK) fprintf(stderr, "leadrouter keys list: %s\n", lr_store_errmsg(st));
    lr_store_close(st);
    return rc == LR_OK ? LR_EXIT_OK : LR_EXIT_USAGE;
}

/* keys revoke --db FILE ID: removes key ID. Read without getopt: a key
 * id is 8 base64url characters, and one in 64 starts with '-' ("-hRvkTst"
 * is no option). */
static int keys_revoke(int argc, char **argv) {
    const char *db = NULL, *id = NULL;
    bool ids_only = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!ids_only && (strcmp(a, "--db") == 0 || strcmp(a, "-d") == 0)) {
            if (i + 1 >= argc) return cli_usage_error("keys revoke", "%s needs a FILE", a);
            db = argv[++i];
        } else if (!ids_only && strncmp(a, "--db=", 5) == 0) {
            db = a + 5;
        } else if (!ids_only && (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)) {
            cli_keys_help(stdout);
            return LR_EXIT_OK;
        } else if (!ids_only && strcmp(a, "--") == 0) {
            ids_only = true;
        } else if (!id) {
            id = a;
        } else {
            return cli_usage_error("keys revoke", "unexpected argument '%s'", a);
        }
    }
    if (!db) return cli_usage_error("keys revoke", "--db FILE is required");
    if (!id) return cli_usage_error("keys revoke", "the key's id is required (keys list shows them)");
    lr_store *st = cli_open_store("keys revoke", db, false);
    if (!st) return LR_EXIT_USAGE;
    int rc = lr_store_key_remove(st, id);
    if (rc == LR_ENOENT)
        fprintf(stderr, "leadrouter keys revoke: no key '%s' in %s (keys list shows them)\n", id, db);
    else if (rc != LR_OK)
        fprintf(stderr, "leadrouter keys revoke: %s\n", lr_store_errmsg(st));
    else
        fprintf(stderr, "key id: %s revoked\n", id);
    lr_store_close(st);
    return rc == LR_OK ? LR_EXIT_OK : LR_EXIT_USAGE;
}

static int keys_create(int argc, char **argv) {
    static const struct option longopts[] = {
        { "db", required_argument, NULL, 'd' },
        { "role", required_argument, NULL, 'r' },
        { "agent", required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *db = NULL, *role = NULL, *agent = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":d:r:a:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': db = optarg; break;
        case 'r': role = optarg; break;
        case 'a': agent = optarg; break;
        case 'h': cli_keys_help(stdout); return LR_EXIT_OK;
        default: return cli_option_error("keys create", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("keys create", "unexpected argument '%s'", argv[optind]);
    if (!db) return cli_usage_error("keys create", "--db FILE is required");
    if (!role) return cli_usage_error("keys create", "--role admin|ingest|agent is required");
    int r = lr_role_lookup(role);
    if (r < 0) return cli_usage_error("keys create", "--role must be admin, ingest or agent, not '%s'", role);
    if (r == LR_ROLE_AGENT && !agent)
        return cli_usage_error("keys create", "an agent key needs --agent ID");
    if (r != LR_ROLE_AGENT && agent)
        return cli_usage_error("keys create", "--agent is only for --role agent");
    if (agent && (!agent[0] || strlen(agent) > LR_AGENT_ID_MAX || !lr_utf8_valid(agent, strlen(agent))))
        return cli_usage_error("keys create", "--agent must be 1 to %d bytes of UTF-8", LR_AGENT_ID_MAX);

    lr_store *st = cli_open_store("keys create", db, true);
    if (!st) return LR_EXIT_USAGE;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    lr_time created = (lr_time)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    char key[LR_KEY_LEN + 1], id[LR_KEY_ID_LEN + 1];
    unsigned char hash[32];
    int rc = LR_EEXIST;
    for (int t = 0; t < ID_TRIES && rc == LR_EEXIST; t++) {
        if ((rc = lr_key_generate(key, id)) != LR_OK) break;
        lr_key_hash(key, strlen(key), hash);
        rc = lr_store_key_add(st, id, hash, lr_role_names[r], agent, created);
    }
    if (rc != LR_OK) {
        fprintf(stderr, "leadrouter keys create: cannot store the key: %s%s%s\n", lr_strerror(rc),
                rc == LR_EIO ? ": " : "", rc == LR_EIO ? lr_store_errmsg(st) : "");
        lr_store_close(st);
        sodium_memzero(key, sizeof key);
        return LR_EXIT_USAGE;
    }
    /* The key is shown once: one that could not be written out is taken
     * back (a working admin key nobody has). Stored first, without holding
     * the store's lock while standard output may block. */
    bool written = printf("%s\n", key) > 0 && fflush(stdout) == 0 && !ferror(stdout);
    sodium_memzero(key, sizeof key);
    if (!written) {
        rc = lr_store_key_remove(st, id);
        fprintf(stderr, "leadrouter keys create: cannot write the key to standard output: %s\n",
                rc == LR_OK ? "it was removed from the store"
                            : "and it could not be removed: remove key id from the keys table");
        lr_store_close(st);
        return LR_EXIT_USAGE;
    }
    lr_store_close(st);
    if (agent) fprintf(stderr, "key id: %s, role: %s (%s)\n", id, lr_role_names[r], agent);
    else fprintf(stderr, "key id: %s, role: %s\n", id, lr_role_names[r]);
    return LR_EXIT_OK;
}

int cli_keys(int argc, char **argv) {
    if (argc < 2) return cli_usage_error("keys", "a subcommand is required: create, list or revoke");
    const char *sub = argv[1];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0) {
        cli_keys_help(stdout);
        return LR_EXIT_OK;
    }
    if (strcmp(sub, "create") == 0) return keys_create(argc - 1, argv + 1);
    if (strcmp(sub, "list") == 0) return keys_list(argc - 1, argv + 1);
    if (strcmp(sub, "revoke") == 0) return keys_revoke(argc - 1, argv + 1);
    return cli_usage_error("keys", "unknown subcommand '%s' (create, list, revoke)", sub);
}
