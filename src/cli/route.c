/* route.c -- `leadrouter route`: JSONL events in, JSONL decisions out.
 *
 * One engine, fed every event of the input in order; each decision is
 * written as one JSON line. The run is a pure function of (config, input,
 * --seed, --start): nothing reads the wall clock.
 *
 * Speed: input is read in large blocks and split in place (lines.c);
 * decisions are encoded into one lr_buf that is written with one fwrite()
 * each time it passes OUT_FLUSH bytes, and before every read that might
 * block, so a slow producer still sees its decisions. The loop allocates
 * nothing per line itself (the parser and the engine do what they must).
 * With --db, SQLite's work (most of the time of a lead) is done by the
 * store's own thread (deferred writes, store.h) while this one routes;
 * the fsyncs by a flush thread, and the WAL's copy into the database by a
 * checkpoint thread (checkpointer.h: -7% time for `make bench`'s stream,
 * its 23 checkpoint fsyncs were 0.4 s of the store thread's 2.8 s).
 * While lines keep coming, decisions are written as they are made, ahead
 * of the store by the batches not yet committed and flushed (holding them
 * back until then, tens of megabytes in memory no cache holds, made `make
 * bench`'s stream 8% slower written to /dev/null, 20-70% to a file).
 * Before a read that would wait (a producer that sends leads as they
 * come), the open batch is committed and the last commit's flush waited
 * for, then the decisions not yet written are: a lead that came alone is
 * stored when its decision shows, not when 10,000 more have come (in a
 * burst, the decisions past OUT_FLUSH bytes were written as they came).
 *
 * Errors: a line that is not a valid event is reported on stderr as
 * "FILE:LINE: reason", skipped, and makes the exit status 1; the run goes
 * on. A bad config, a bad option or an unreadable input exits 2 before any
 * event is routed; a write error or running out of memory stops the run
 * with 2.
 */
#include "cli/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leadrouter/error.h"
#include "server/service.h"

#define MAX_LINE (1024u * 1024u)     /* longer input lines are rejected */
#define OUT_FLUSH (512u * 1024u)

typedef struct route_run {
    const lr_config *cfg;
    lr_buf out;                      /* decisions not yet written */
    int write_failed;
    int summary;                     /* tally per rule (only for --summary) */
    cli_tally tally;
    size_t last_rule;                /* index of the rule last seen: a cheap cache */
    lr_service *svc;                 /* --db: events go through the store */
    size_t batch, in_batch;          /* --db: lines per transaction */
    uint64_t last_commit;            /* --db: the number of the last one */
    int in_fd;                       /* the input, polled before a read */
} route_run;

void cli_route_help(FILE *out) {
    fputs(
        "usage: leadrouter route --config FILE [OPTIONS] [EVENTS]\n"
        "\n"
        "Reads events, one JSON object per line, from EVENTS (a file; standard\n"
        "input when absent or \"-\"), applies each in order to one routing engine\n"
        "and writes every decision as one JSON line on standard output:\n"
        "  {\"at\":\"...\",\"lead\":\"L1\",\"action\":\"assigned\",\"agent\":\"alice\",\n"
        "   \"rule\":\"...\",\"pool\":\"...\",\"strategy\":\"round_robin\",\"why\":{...}}\n"
        "A line without \"type\" is a lead; other types: agent, progress, claim,\n"
        "accept, decline, assign, release, tick. Blank lines are skipped. A line\n"
        "that is not a valid event (or is longer than 1 MiB) is reported on stderr\n"
        "as FILE:LINE: reason, and the run goes on. The same config, events,\n"
        "--seed and --start give the same output, byte for byte.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE   the routing config (YAML or JSON); required\n"
        "  -s, --seed N        seed of the random strategies (default 0); with --db,\n"
        "                      the store keeps the seed of its first run\n"
        "      --start TIME    RFC 3339 time of the engine's clock until an event\n"
        "                      carries one (default 1970-01-01T00:00:00Z); with --db,\n"
        "                      a store whose clock is earlier moves to it first\n"
        "      --no-explain    leave out why.candidates (smaller, faster output)\n"
        "      --summary       after the run, print on stderr the leads in, the\n"
        "                      time to their first assignment (median, p90),\n"
        "                      decisions by action, per agent and per rule\n"
        "      --db FILE       also keep everything in the SQLite store FILE, as\n"
        "                      `leadrouter serve` does: events journaled, decisions\n"
        "                      stored, committed in groups of --batch lines (a\n"
        "                      second thread writes the store while routing goes\n"
        "                      on, a third copies its WAL into the file); a store\n"
        "                      that has events already continues from\n"
        "                      its state, and a lead id it has seen is not routed\n"
        "                      again; a --config that differs from its config is\n"
        "                      a config change, whose decisions are printed first\n"
        "                      (--config is read once and checked as `serve` does:\n"
        "                      a pipe works; a file identical to the store's\n"
        "                      config is no change);\n"
        "                      decisions are printed as they are made, ahead of\n"
        "                      the batches not yet stored; when the input has\n"
        "                      nothing more yet, the lines so far are stored\n"
        "                      before the decisions still held are printed\n"
        "      --sync MODE     with --db: full (default: every commit fsynced, by a\n"
        "                      flush thread while routing goes on; the run ends\n"
        "                      when the last one is on disk), normal, or off\n"
        "      --batch N       with --db: lines per commit, 1 to 1000000 (default\n"
        "                      10000)\n"
        "  -h, --help          show this help and exit\n"
        "\n"
        "exit status:\n"
        "  0  every event was routed\n"
        "  1  some input lines were rejected (all the others were routed)\n"
        "  2  usage, configuration or I/O error (a bad config routes nothing)\n"
        "\n"
        "example:\n"
        "  leadrouter route --config routing.yaml --summary leads.jsonl > decisions.jsonl\n",
        out);
}

/* Writes the pending decisions. Returns LR_OK or LR_EIO (reported once). */
static int flush_out(route_run *run) {
    if (run->out.len == 0 || run->write_failed) return run->write_failed ? LR_EIO : LR_OK;
    if (fwrite(run->out.data, 1, run->out.len, stdout) != run->out.len || fflush(stdout) != 0) {
        fprintf(stderr, "leadrouter route: cannot write the decisions: %s\n", strerror(errno));
        run->write_failed = 1;
        return LR_EIO;
    }
    lr_buf_reset(&run->out);
    return LR_OK;
}

/* Before a read. With --db, a read that would wait (nothing to read yet)
 * first commits the lines so far and waits until they are stored. */
static void flush_before_read(void *ud) {
    route_run *run = ud;
    if (run->svc) {
        struct pollfd p = { .fd = run->in_fd, .events = POLLIN };
        if (poll(&p, 1, 0) == 0) {
            if (run->in_batch) {
                run->in_batch = 0;
                run->last_commit = lr_service_commit(run->svc);
            }
            if (run->last_commit) lr_service_wait_stored(run->svc, run->last_commit);
        }
    }
    (void)flush_out(run);
}

/* Counts D against its rule (the last slot when it has none). */
static void tally_rule(route_run *run, const lr_decision *d) {
    const lr_config *cfg = run->cfg;
    size_t i = cfg->nrules;
    if (d->rule) {
        if (run->last_rule < cfg->nrules && (d->rule == cfg->rules[run->last_rule].name ||
                                             strcmp(d->rule, cfg->rules[run->last_rule].name) == 0)) {
            i = run->last_rule;
        } else {
            int r = lr_config_rule_index(cfg, d->rule);
            if (r >= 0) i = run->last_rule = (size_t)r;
        }
    }
    cli_rule_tally *rt = &run->tally.rules[i];
    rt->decisions++;
    rt->by_action[d->action]++;
}

/* The engine's decision callback: one JSON line into the output buffer. */
static int on_decision(const lr_decision *d, void *ud) {
    route_run *run = ud;
    int rc = LR_OK;
    if (run->summary) {
        tally_rule(run, d);
        if ((rc = cli_tally_decision(&run->tally, d)) != LR_OK) return rc;
    }
    rc = lr_decision_write_json(d, &run->out);
    if (rc == LR_OK) rc = lr_buf_putc(&run->out, '\n');
    if (rc != LR_OK) return rc;
    if (run->out.len >= OUT_FLUSH) return flush_out(run);
    return LR_OK;
}

/* True when LINE holds only spaces, tabs and carriage returns. */
static int blank(const char *line, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r') return 0;
    return 1;
}

/* Reports a line lr_event_parse() refused (RC, its message ERR) as
 * "NAME:LINENO: invalid JSON ..." or "NAME:LINENO: invalid event: ...". */
static void report_line(const char *name, uint64_t lineno, int rc, const char *err) {
    const char *kind = rc == LR_ESYNTAX ? "invalid JSON" : "invalid event";
    size_t k = strlen(kind);
    if (!err[0]) err = lr_strerror(rc);
    if (strncmp(err, kind, k) == 0)
        fprintf(stderr, "%s:%llu: %s\n", name, (unsigned long long)lineno, err);
    else
        fprintf(stderr, "%s:%llu: %s: %s\n", name, (unsigned long long)lineno, kind, err);
}

/* --db: one event through the service, as the server would apply it, at
 * the event's own time. A lead seen before is not routed again (the same
 * content is skipped quietly, other content is reported). */
static int route_stored(route_run *run, lr_event *ev, const char *line, size_t len,
                        const char *name, uint64_t lineno) {
    lr_cmd_item item;
    memset(&item, 0, sizeof item);
    item.ev = *ev;
    item.body = item.lead_body = line;
    item.len = item.lead_len = len;
    if (ev->type == LR_EV_LEAD && ev->wrapped)      /* {"type":"lead","lead":{...}} */
        lr_event_lead_text(line, len, &item.lead_body, &item.lead_len);
    lr_time now = ev->at;
    if (ev->type == LR_EV_LEAD) {
        if (now == LR_TIME_NONE) now = ev->lead->received_at;
        if (lr_lead_hash(ev->lead, item.hash) != LR_OK) { lr_event_release(ev); return LR_ENOMEM; }
    }
    if (now == LR_TIME_NONE || now < lr_service_now(run->svc)) now = lr_service_now(run->svc);
    lr_cmd cmd;
    memset(&cmd, 0, sizeof cmd);
    cmd.type = ev->type == LR_EV_LEAD ? LR_CMD_LEADS : LR_CMD_EVENTS;
    cmd.items = &item;
    cmd.nitems = 1;
    cmd.decisions_out = &run->out;
    if (run->in_batch == 0) lr_service_begin(run->svc);
    lr_service_run(run->svc, &cmd, now);
    if (++run->in_batch >= run->batch) {
        run->last_commit = lr_service_commit(run->svc);
        run->in_batch = 0;
    }
    if (cmd.status == 409 && cmd.type == LR_CMD_LEADS) {
        run->tally.rejected++;
        fprintf(stderr, "%s:%llu: lead '%s' is in the store with other content: not routed\n",
                name, (unsigned long long)lineno, lr_lead_id(item.ev.lead));
    }
    lr_event_release(&item.ev);
    lr_buf_release(&cmd.body);
    if (run->out.len >= OUT_FLUSH) return flush_out(run);
    return LR_OK;
}

/* Routes every line of R. Returns LR_OK (rejected lines counted in the
 * tally) or the error that stopped the run (already reported). */
static int route_lines(route_run *run, lr_engine *eng, cli_lines *r, const char *name) {
    char err[512];
    const char *line = NULL;
    size_t len = 0;
    for (;;) {
        int rc = cli_lines_next(r, &line, &len);
        if (rc == LR_ENOENT) return LR_OK;
        if (rc == LR_ERANGE) {
            run->tally.lines++;
            run->tally.rejected++;
            fprintf(stderr, "%s:%llu: line too long (more than %u bytes)\n", name,
                    (unsigned long long)r->lineno, MAX_LINE);
            continue;
        }
        if (rc != LR_OK) {
            fprintf(stderr, "leadrouter route: %s: %s\n", name,
                    rc == LR_EIO ? strerror(errno) : lr_strerror(rc));
            return rc;
        }
        if (blank(line, len)) continue;
        run->tally.lines++;

        lr_event ev;
        err[0] = '\0';
        rc = lr_event_parse(line, len, &ev, err, sizeof err);
        if (rc == LR_OK && ev.type == LR_EV_LEAD && !lr_lead_id_nameable(lr_lead_id(ev.lead))) {
            snprintf(err, sizeof err, "'id' must not contain a control character (the lead "
                     "could not be named in a path)");
            lr_event_release(&ev);
            rc = LR_EINVAL;
        }
        if (rc != LR_OK) {
            run->tally.rejected++;
            report_line(name, r->lineno, rc, err);
            continue;
        }
        if (run->svc) {
            rc = route_stored(run, &ev, line, len, name, r->lineno);
        } else {
            if (run->summary && ev.type == LR_EV_LEAD) {
                const char *st, *ag;
                bool known = lr_engine_lead_info(eng, lr_lead_id(ev.lead), &st, &ag) == LR_OK;
                rc = cli_tally_lead(&run->tally, ev.lead, known);
            }
            if (rc == LR_OK) rc = lr_engine_apply(eng, &ev, on_decision, run);
            if (rc == LR_OK && run->summary) rc = cli_tally_applied(&run->tally);
            lr_event_release(&ev);
        }
        if (rc != LR_OK) {
            if (rc != LR_EIO)
                fprintf(stderr, "leadrouter route: %s:%llu: %s\n", name,
                        (unsigned long long)r->lineno, lr_strerror(rc));
            return rc;
        }
    }
}

typedef struct route_opts {
    const char *config;
    const char *input;               /* NULL or "-": stdin */
    lr_engine_opts eng;
    int summary;
    const char *db;
    lr_store_sync sync;
    bool sync_given;
    bool seed_given;
    bool start_given;
    size_t batch;
} route_opts;

/* Parses the options into *O. Returns -1 to go on, or an exit status. */
static int parse_args(int argc, char **argv, route_opts *o) {
    enum { OPT_START = 256, OPT_NO_EXPLAIN, OPT_SUMMARY, OPT_DB, OPT_SYNC, OPT_BATCH };
    static const struct option longopts[] = {
        { "config", required_argument, NULL, 'c' },
        { "seed", required_argument, NULL, 's' },
        { "start", required_argument, NULL, OPT_START },
        { "no-explain", no_argument, NULL, OPT_NO_EXPLAIN },
        { "summary", no_argument, NULL, OPT_SUMMARY },
        { "db", required_argument, NULL, OPT_DB },
        { "sync", required_argument, NULL, OPT_SYNC },
        { "batch", required_argument, NULL, OPT_BATCH },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":c:s:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 's': {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end || errno)
                return cli_usage_error("route", "--seed wants a number from 0 to 2^64-1, not '%s'", optarg);
            o->eng.seed = (uint64_t)v;
            o->seed_given = true;
            break;
        }
        case OPT_START:
            if (lr_time_parse(optarg, strlen(optarg), &o->eng.start) != LR_OK)
                return cli_usage_error("route", "--start wants an RFC 3339 time "
                                       "(2026-11-02T09:00:00Z), not '%s'", optarg);
            o->start_given = true;
            break;
        case OPT_NO_EXPLAIN: o->eng.explain = false; break;
        case OPT_SUMMARY: o->summary = 1; break;
        case OPT_DB: o->db = optarg; break;
        case OPT_SYNC:
            o->sync_given = true;
            if (strcmp(optarg, "full") == 0) o->sync = LR_SYNC_FULL;
            else if (strcmp(optarg, "normal") == 0) o->sync = LR_SYNC_NORMAL;
            else if (strcmp(optarg, "off") == 0) o->sync = LR_SYNC_OFF;
            else return cli_usage_error("route", "--sync wants full, normal or off, not '%s'", optarg);
            break;
        case OPT_BATCH: {
            char *end;
            unsigned long v = strtoul(optarg, &end, 10);
            if (optarg[0] < '1' || optarg[0] > '9' || *end || v > 1000000)
                return cli_usage_error("route", "--batch wants a number from 1 to 1000000, not '%s'", optarg);
            o->batch = v;
            break;
        }
        case 'h': cli_route_help(stdout); return LR_EXIT_OK;
        default: return cli_option_error("route", c, argv);
        }
    }
    if (optind < argc) o->input = argv[optind++];
    if (optind < argc) return cli_usage_error("route", "one events file at most ('%s' is one too many)", argv[optind]);
    if (!o->config) return cli_usage_error("route", "--config FILE is required");
    if (o->db && o->summary) return cli_usage_error("route", "--summary does not go with --db");
    return -1;
}

int cli_route(int argc, char **argv) {
    route_opts o = { .eng = { 0, 0, true }, .sync = LR_SYNC_FULL, .batch = 10000 };
    int status = parse_args(argc, argv, &o);
    if (status < 0 && !o.db && o.sync_given)
        return cli_usage_error("route", "--sync goes with --db (without a store nothing is written)");
    if (status >= 0) return status;

    /* With --db the store's service reads --config itself, once (a pipe
     * can be read only once) and as strictly as `serve` does: a new store
     * is made only from a config that loads, a file identical to the
     * config in a store is no change even if an earlier version accepted
     * what this one would refuse. */
    lr_config *cfg = NULL;
    if (!o.db && !(cfg = cli_load_config(o.config))) return LR_EXIT_USAGE;

    int stdin_in = !o.input || strcmp(o.input, "-") == 0;
    const char *name = stdin_in ? "<stdin>" : o.input;
    int fd = stdin_in ? STDIN_FILENO : open(o.input, O_RDONLY | O_CLOEXEC);
    /* a directory opens, and fails only at the first read: by then --db
     * would have made the store or journaled a config change */
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(fd);
        fd = -1;
        errno = EISDIR;
    }
    if (fd < 0) {
        fprintf(stderr, "leadrouter route: cannot open '%s': %s\n", stdin_in ? "-" : o.input,
                strerror(errno));
        lr_config_free(cfg);
        return LR_EXIT_USAGE;
    }

    route_run run;
    memset(&run, 0, sizeof run);
    run.cfg = cfg;
    run.summary = o.summary;
    run.in_fd = fd;
    lr_buf_init(&run.out);
    lr_engine *eng = NULL;
    cli_lines lines;
    int rc = cli_lines_init(&lines, fd, MAX_LINE);
    if (rc == LR_OK) rc = lr_buf_reserve(&run.out, OUT_FLUSH + 4096);
    if (rc == LR_OK && o.summary) rc = cli_tally_init(&run.tally, cfg);
    if (rc == LR_OK && o.db) {
        lr_service_opts so = { .db_path = o.db, .sync = o.sync, .config_path = o.config,
                               .seed = o.eng.seed, .event_clock = true, .start = o.eng.start,
                               .no_explain = !o.eng.explain, .startup_out = &run.out };
        char err[2048] = "";
        rc = lr_service_open(&so, &run.svc, err, sizeof err);
        bool said = rc != LR_OK;
        if (said) cli_service_error("route", o.config, rc, err);
        if (rc == LR_OK && lr_service_seed_recorded(run.svc))
            fprintf(stderr, "leadrouter route: %s now keeps the seed its journal replays with: "
                    "%llu (this run's --seed; a store made by an earlier version did not keep "
                    "it)\n", o.db, (unsigned long long)lr_service_seed(run.svc));
        if (rc == LR_OK && o.start_given && lr_service_now(run.svc) > o.eng.start) {
            char at[40], start[40];
            lr_time_format(lr_service_now(run.svc), at, sizeof at);
            lr_time_format(o.eng.start, start, sizeof start);
            fprintf(stderr, "leadrouter route: %s's clock is at %s, past --start %s: --start is not "
                    "used (a store's clock never goes back)\n", o.db, at, start);
        }
        if (rc == LR_OK && o.seed_given && lr_service_seed(run.svc) != o.eng.seed)
            fprintf(stderr, "leadrouter route: %s keeps the seed of its first run (%llu): --seed "
                    "%llu is not used (the journal replays with the seed it was made with)\n",
                    o.db, (unsigned long long)lr_service_seed(run.svc),
                    (unsigned long long)o.eng.seed);
        if (rc == LR_OK && lr_service_config_file_applied(run.svc))
            fprintf(stderr, "leadrouter route: %s differs from the config stored in %s: applied "
                    "as a config change (its decisions come first)\n", o.config, o.db);
        if (rc == LR_OK) cli_zone_notes(lr_service_config(run.svc), o.config);  /* as without --db */
        if (rc == LR_OK) rc = lr_service_flush_behind(run.svc, err, sizeof err);
        if (rc == LR_OK) rc = lr_service_defer_writes(run.svc, err, sizeof err);
        if (rc == LR_OK) rc = lr_service_checkpoint_behind(run.svc, 0, err, sizeof err);
        if (rc != LR_OK && !said)
            fprintf(stderr, "leadrouter route: %s\n", err[0] ? err : lr_strerror(rc));
        run.batch = o.batch;
    } else if (rc == LR_OK) {
        rc = lr_engine_create(cfg, &o.eng, &eng);
    }
    if (rc != LR_OK) {
        if (!o.db) fprintf(stderr, "leadrouter route: %s\n", lr_strerror(rc));
    } else {
        lines.before_read = flush_before_read;
        lines.ud = &run;
        rc = route_lines(&run, eng, &lines, name);
        if (run.svc && run.in_batch) lr_service_commit(run.svc);
        if (flush_out(&run) != LR_OK) rc = LR_EIO;
    }
    lr_service_stop(run.svc);

    if (rc == LR_OK && o.summary) cli_summary_print(stderr, cfg, eng, &run.tally);
    status = rc != LR_OK ? LR_EXIT_USAGE : run.tally.rejected ? LR_EXIT_REJECTED : LR_EXIT_OK;

    lr_engine_destroy(eng);
    cli_lines_release(&lines);
    lr_buf_release(&run.out);
    cli_tally_release(&run.tally);
    if (!stdin_in) close(fd);
    lr_config_free(cfg);
    return status;
}
