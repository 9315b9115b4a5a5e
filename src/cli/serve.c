/* serve.c -- `leadrouter serve`: the durable HTTP server.
 *
 * Order of things: parse options; block SIGTERM, SIGINT and SIGHUP in this thread
 * before any other thread exists (every thread inherits the mask, so the
 * signals stay pending for sigwait() and no handler ever runs); start the
 * service (store, replay, writer), the key lookup and the HTTP daemon;
 * print "leadrouter: listening on http://HOST:PORT" on stdout; wait for a
 * signal (SIGHUP: read the --config file again, and wait on); then stop
 * accepting, let the requests in flight finish (their commands commit and
 * their replies go out), stop the writer, exit 0.
 */
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "core/tzdata.h"
#include "leadrouter/error.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/service.h"

#define DRAIN_MS 30000               /* longest wait for requests in flight at a stop */
#define ROOM_MIB 512                 /* less free space than this on the store's file system:
                                        a warning (the WAL alone reaches 256 MiB) */
#define MAX_REDIRECTS 64

void cli_serve_help(FILE *out) {
    fputs(
        "usage: leadrouter serve --db FILE [--config FILE] [OPTIONS]\n"
        "\n"
        "Runs the HTTP API (docs/api.md) on one store. Every request that changes\n"
        "something is answered only once it is committed: with --sync full (the\n"
        "default) a 2xx means the lead and its decisions are on disk. On start the\n"
        "journal is replayed, so counters, queues and offers survive restarts.\n"
        "When the server is ready it prints on standard output:\n"
        "  leadrouter: listening on http://HOST:PORT\n"
        "SIGTERM or SIGINT stops it gracefully: no new connections, the requests\n"
        "in flight finish and commit, then it exits 0. SIGHUP reads the --config\n"
        "file again and applies it when it changed, as PUT /v1/config does (an\n"
        "invalid file is reported and the config in use stays).\n"
        "\n"
        "options:\n"
        "  -c, --config FILE    the routing config (YAML or JSON); required the first\n"
        "                       time; when it differs from the stored one it becomes\n"
        "                       the new config (journaled as a config change)\n"
        "  -d, --db FILE        the store (SQLite; a missing one is made when --config\n"
        "                       is given); required; one process at a time writes it\n"
        "  -l, --listen ADDR    HOST:PORT to listen on (default 127.0.0.1:8080);\n"
        "                       port 0 picks a free port; [::1]:8080 for IPv6; an\n"
        "                       empty HOST or * listens on every address\n"
        "      --sync MODE      full (default), normal or off: how durable a commit is\n"
        "      --http-threads N HTTP event loops, each serving its share of the\n"
        "                       connections (default 2; 1 to 64)\n"
        "      --inline-fsync   with --sync full: fsync inside each commit, on the\n"
        "                       writer's thread, instead of on a flush thread while\n"
        "                       the writer goes on (equally durable; slower; for\n"
        "                       comparison)\n"
        "  -s, --seed N         seed of the random strategies (default 0); a store\n"
        "                       keeps the seed of its first start\n"
        "      --rate-limit N   requests per second per API key, bursts of 2N\n"
        "                       (default 100; 0 turns the limit off)\n"
        "      --unknown-key-limit N\n"
        "                       requests per second per client address whose API key\n"
        "                       the server does not know yet (missing, unknown or not\n"
        "                       used since the start), bursts of 10N, and 64 times that\n"
        "                       for all addresses together; past it 429 without a look\n"
        "                       at the key (default 10; 0: no limit)\n"
        "      --form-redirect SOURCE=URL\n"
        "                       answer web forms posted to /v1/forms/SOURCE with\n"
        "                       303 See Other to URL (a thank-you page); repeatable\n"
        "      --idempotency-keep DURATION\n"
        "                       forget an Idempotency-Key and its answer this long\n"
        "                       after it was stored: Ns, Nm, Nh or Nd (default 7d;\n"
        "                       0: keep them for ever)\n"
        "      --checkpoint-every MS\n"
        "                       copy the WAL into the database file in the background\n"
        "                       every MS milliseconds (default 25; four times MS after\n"
        "                       a pass with nothing to copy; 0: only the writer's\n"
        "                       own checkpoints, inside its commits)\n"
        "  -h, --help           show this help and exit\n"
        "\n"
        "exit status:\n"
        "  0  stopped by SIGTERM or SIGINT\n"
        "  2  usage error, bad config, unusable store, or the address is taken\n"
        "\n"
        "example:\n"
        "  leadrouter keys create --db leadrouter.db --role admin\n"
        "  leadrouter serve --config routing.yaml --db leadrouter.db --listen 127.0.0.1:8080\n",
        out);
}

/* A commit that finds the disk full stops the server (FATAL), and so
 * would the first write of every start until room is made: with less
 * than a MiB free the server does not start (false), with less than
 * ROOM_MIB it warns. */
static bool room(const char *db) {
    /* the file system of the file SQLite opens: a symlink's target */
    char *real = realpath(db, NULL);
    char *copy = real ? real : strdup(db);
    struct statvfs vfs;
    bool ok = true;
    if (copy && statvfs(dirname(copy), &vfs) == 0) {
        unsigned long long kib = (unsigned long long)vfs.f_bavail * vfs.f_frsize >> 10;
        if (kib < 1024)
            fprintf(stderr, "leadrouter serve: %s: no space left on its file system (%llu KiB "
                    "free): its first commit would stop the server; make room, then start "
                    "again\n", db, kib);
        else if (kib >> 10 < ROOM_MIB)
            fprintf(stderr, "leadrouter: warning: %llu MiB free on the file system of %s: under "
                    "load its WAL alone grows to 256 MiB, and a full disk stops the server "
                    "(docs/api.md, \"Running the server\")\n", kib >> 10, db);
        ok = kib >= 1024;
    }
    free(copy);
    return ok;
}

/* Splits "HOST:PORT" / "[V6]:PORT" into HOST (hostlen bytes) and *port. */
static bool parse_listen(const char *s, char *host, size_t hostlen, uint16_t *port) {
    const char *colon;
    size_t hn;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':') return false;
        hn = (size_t)(close - s - 1);
        memcpy(host, s + 1, hn < hostlen ? hn : 0);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) return false;
        hn = (size_t)(colon - s);
        if (memchr(s, ':', hn)) return false;   /* IPv6 needs brackets */
        memcpy(host, s, hn < hostlen ? hn : 0);
    }
    if (hn >= hostlen) return false;
    host[hn] = '\0';
    char *end;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || errno || p > 65535) return false;
    *port = (uint16_t)p;
    return true;
}

/* Checks "SOURCE=URL" and fills R (pointing into ARG, which is modified). */
static bool parse_redirect(char *arg, lr_form_redirect *r) {
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg) return false;
    const char *url = eq + 1;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0 && url[0] != '/')
        return false;
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p < 0x21 || *p == 0x7F) return false;  /* no header injection */
    *eq = '\0';
    r->source = arg;
    r->url = url;
    return true;
}

/* "0", or N followed by s, m, h or d (N = 0: 0), from 1 s to 3650 d,
 * into *MS. */
static bool keep_duration(const char *s, int64_t *ms) {
    if (strcmp(s, "0") == 0) { *ms = 0; return true; }
    if (s[0] < '0' || s[0] > '9') return false;     /* strtoll takes " 7d" and "+7d" */
    char *end = NULL;
    errno = 0;
    long long n = strtoll(s, &end, 10);
    if (errno || n < 0 || !end[0] || end[1]) return false;
    int64_t unit = end[0] == 's' ? 1000 : end[0] == 'm' ? 60000 : end[0] == 'h' ? 3600000LL
                 : end[0] == 'd' ? 86400000LL : 0;
    if (!unit || n > 3650LL * 86400000LL / unit) return false;
    *ms = (int64_t)n * unit;
    return true;
}

int cli_serve(int argc, char **argv) {
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "db", required_argument, NULL, 'd' },
        { "listen", required_argument, NULL, 'l' },
        { "sync", required_argument, NULL, 'S' },
        { "seed", required_argument, NULL, 's' },
        { "rate-limit", required_argument, NULL, 'r' },
        { "unknown-key-limit", required_argument, NULL, 'u' },
        { "form-redirect", required_argument, NULL, 'f' },
        { "checkpoint-every", required_argument, NULL, 'k' },
        { "idempotency-keep", required_argument, NULL, 'I' },
        { "inline-fsync", no_argument, NULL, 'F' },
        { "http-threads", required_argument, NULL, 'T' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    /* First, before any thread and while the options are read: the
     * signals stay pending for sigwait() (a SIGHUP or SIGTERM sent as the
     * server starts is taken once it listens, not fatal at once). */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    const char *config = NULL, *db = NULL, *listen = "127.0.0.1:8080";
    lr_store_sync sync = LR_SYNC_FULL;
    uint64_t seed = 0;
    bool seed_given = false;
    double rate = 100, unknown_rate = 10;
    long checkpoint_ms = 25;
    int64_t idem_keep_ms = 7 * 86400000LL;
    bool inline_fsync = false;
    long http_threads = 2;
    lr_form_redirect redirects[MAX_REDIRECTS];
    size_t nredirects = 0;
    int c;
    char *end;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:d:l:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': config = optarg; break;
        case 'd': db = optarg; break;
        case 'l': listen = optarg; break;
        case 'S':
            if (strcmp(optarg, "full") == 0) sync = LR_SYNC_FULL;
            else if (strcmp(optarg, "normal") == 0) sync = LR_SYNC_NORMAL;
            else if (strcmp(optarg, "off") == 0) sync = LR_SYNC_OFF;
            else return cli_usage_error("serve", "--sync must be full, normal or off, not '%s'", optarg);
            break;
        case 's':
            errno = 0;
            seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno || optarg[0] == '-')
                return cli_usage_error("serve", "--seed must be a non-negative integer, not '%s'", optarg);
            seed_given = true;
            break;
        case 'r':
            errno = 0;
            rate = strtod(optarg, &end);
            if (!*optarg || *end || errno || !(rate >= 0 && rate <= 1e9))
                return cli_usage_error("serve", "--rate-limit must be a number >= 0, not '%s'", optarg);
            break;
        case 'u':
            errno = 0;
            unknown_rate = strtod(optarg, &end);
            if (!*optarg || *end || errno || !(unknown_rate >= 0 && unknown_rate <= 1e9))
                return cli_usage_error("serve", "--unknown-key-limit must be a number >= 0, not '%s'",
                                       optarg);
            break;
        case 'f':
            if (nredirects == MAX_REDIRECTS)
                return cli_usage_error("serve", "at most %d --form-redirect options", MAX_REDIRECTS);
            if (!parse_redirect(optarg, &redirects[nredirects]))
                return cli_usage_error("serve", "--form-redirect needs SOURCE=URL with an http(s):// "
                                       "or /path URL without spaces, not '%s'", optarg);
            nredirects++;
            break;
        case 'k':
            errno = 0;
            checkpoint_ms = strtol(optarg, &end, 10);
            if (!*optarg || *end || errno || checkpoint_ms < 0 || checkpoint_ms > 3600000)
                return cli_usage_error("serve", "--checkpoint-every must be milliseconds from 0 "
                                       "to 3600000, not '%s'", optarg);
            break;
        case 'I':
            if (!keep_duration(optarg, &idem_keep_ms))
                return cli_usage_error("serve", "--idempotency-keep must be 0 or a duration from 1s "
                                       "to 3650d (Ns, Nm, Nh, Nd), not '%s'", optarg);
            break;
        case 'F': inline_fsync = true; break;
        case 'T':
            errno = 0;
            http_threads = strtol(optarg, &end, 10);
            if (!*optarg || *end || errno || http_threads < 1 || http_threads > 64)
                return cli_usage_error("serve", "--http-threads must be from 1 to 64, not '%s'", optarg);
            break;
        case 'h': cli_serve_help(stdout); return LR_EXIT_OK;
        default: return cli_option_error("serve", c, argv);
        }
    }
    if (optind < argc) return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!db) return cli_usage_error("serve", "--db FILE is required");
    char host[256];
    uint16_t port;
    if (!parse_listen(listen, host, sizeof host, &port))
        return cli_usage_error("serve", "--listen must be HOST:PORT (or [IPv6]:PORT), not '%s'", listen);

    if (!room(db)) return LR_EXIT_USAGE;
    char err[4096] = "";
    /* the address first: a start that cannot have it changes no store */
    int lfd = -1;
    if (lr_http_bind(host, port, &lfd, err, sizeof err) != LR_OK) {
        fprintf(stderr, "leadrouter serve: %s\n", err);
        return LR_EXIT_USAGE;
    }
    lr_service_opts so = { .db_path = db, .sync = sync, .config_path = config, .seed = seed,
                           .checkpoint_ms = checkpoint_ms ? (int)checkpoint_ms : -1,
                           .idem_keep_ms = idem_keep_ms,
                           .inline_fsync = inline_fsync };
    lr_service *svc = NULL;
    int rc = lr_service_start(&so, &svc, err, sizeof err);
    if (rc != LR_OK) {
        close(lfd);
        cli_service_error("serve", config, rc, err);
        return LR_EXIT_USAGE;
    }
    if (lr_service_seed_recorded(svc))
        fprintf(stderr, "leadrouter: %s now keeps the seed its journal replays with: %llu (this "
                "start's --seed; a store made by an earlier version did not keep it)\n", db,
                (unsigned long long)lr_service_seed(svc));
    if (seed_given && lr_service_seed(svc) != seed)
        fprintf(stderr, "leadrouter: %s keeps the seed of its first start (%llu): --seed %llu is "
                "not used (the journal replays with the seed it was made with)\n", db,
                (unsigned long long)lr_service_seed(svc), (unsigned long long)seed);
    if (config && lr_service_config_file_applied(svc))
        fprintf(stderr, "leadrouter: %s differs from the config stored in %s: applied as a config "
                "change (it replaces a PUT /v1/config made since; start without --config to keep "
                "the stored config)\n", config, db);
    lr_auth *auth = NULL;
    if ((rc = lr_auth_open(db, rate, 2 * rate, unknown_rate, &auth, err, sizeof err)) != LR_OK) {
        fprintf(stderr, "leadrouter serve: %s\n", err);
        close(lfd);
        lr_service_stop(svc);
        return LR_EXIT_USAGE;
    }
    lr_http_opts ho = { .host = host, .port = port, .svc = svc, .auth = auth,
                        .redirects = redirects, .nredirects = nredirects,
                        .threads = (unsigned)http_threads, .fd = lfd };
    lr_http *http = NULL;
    if ((rc = lr_http_start(&ho, &http, err, sizeof err)) != LR_OK) {
        fprintf(stderr, "leadrouter serve: %s\n", err);
        lr_auth_close(auth);
        lr_service_stop(svc);
        return LR_EXIT_USAGE;
    }
    char sys_tz[16];          /* said before "listening": a client may read both then */
    if (lr_tzdata_icu_is_older() && lr_tzdata_system_version(sys_tz, sizeof sys_tz))
        fprintf(stderr, "leadrouter: note: local times come from ICU's zone data %s, older than "
                "the system's tz database (%s): a zone whose rules changed in between is "
                "computed by its older rules (docs/configuration.md, \"Time zone data\")\n",
                lr_tzdata_icu_version(), sys_tz);
    bool v6 = strchr(host, ':') != NULL;
    printf("leadrouter: listening on http://%s%s%s:%u\n", v6 ? "[" : "",
           host[0] && strcmp(host, "*") != 0 ? host : "0.0.0.0", v6 ? "]" : "",
           (unsigned)lr_http_port(http));
    fflush(stdout);

    int sig = 0;
    for (;;) {
        while (sigwait(&stop, &sig) != 0) {}
        if (sig != SIGHUP) break;
        if (config)
            lr_service_reload(svc, config);
        else
            fprintf(stderr, "leadrouter: SIGHUP: no --config file to read again (the stored "
                    "config stays; PUT /v1/config changes it)\n");
    }
    fprintf(stderr, "leadrouter: %s received: stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    lr_http_stop(http, DRAIN_MS);
    lr_service_stop(svc);
    lr_auth_close(auth);
    fprintf(stderr, "leadrouter: stopped\n");
    return LR_EXIT_OK;
}
