/* bench_check.c -- the validity check of `make bench`: before a system's
 * figures are printed, its decisions are replayed in the order it made
 * them, and every assignment is checked against the agents' limits.
 *
 *   bench_check --agents AGENTS.csv --sqlite-peer DB    history table of bench_peer_sqlite
 *   bench_check --agents AGENTS.csv --history FILE      the same as CSV (lead,action,agent,day;
 *                                                       the PostgreSQL peer's COPY ... TO STDOUT)
 *   bench_check --agents AGENTS.csv --leadrouter DB     decisions table of a leadrouter store
 *   bench_check --agents AGENTS.csv --decisions FILE    decisions as JSON lines (route's stdout)
 *
 * AGENTS.csv is bench_workload's (idx,id,capacity,day_cap). The replay
 * keeps, per agent, its open leads and the leads received on its current
 * day, and per lead whether it is assigned, to whom, and closed. A
 * violation is:
 *   - an assignment that takes an agent over its capacity or its day cap;
 *   - a lead assigned a second time (without a release in between);
 *   - an agent's day going back (a decision on an earlier day than one
 *     already counted: the count of that day could no longer be checked);
 *   - a close of a lead closed before, or naming another agent than the
 *     lead's.
 * Days: the peers record the day they counted the lead on; for leadrouter
 * it is the UTC day of the decision's "at" (its cap windows are UTC days).
 * Actions: peers 'a' assigned, 'u' unassigned, 'c' closed; leadrouter
 * assigned/claimed, queued/held/unrouted/offered (not assigned: counted as
 * unassigned unless assigned later), closed, released; refusals are
 * counted and otherwise ignored.
 *
 * Prints one line:
 *   valid=yes|no records=N leads=L assigned=A unassigned=U closed=C
 *   capacity_reached=K day_cap_reached=J violations=V
 * (capacity_reached / day_cap_reached: assignments that brought an agent
 * exactly to its limit -- the limits were met, and held), and the first
 * violations on stderr. Exit 0 valid, 1 invalid, 2 an error.
 *
 * Not library code: prints, exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
#define SHOW_MAX 10                  /* violations printed */

/* ---- a string -> int map (open addressing, keys owned) -------------------- */

typedef struct slot { char *key; int64_t val; } slot;
typedef struct smap { slot *s; size_t cap, n; } smap;

static uint64_t hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;                 /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static void oom(void) { fprintf(stderr, "bench_check: out of memory\n"); exit(2); }

/* The slot of KEY: its value, or a new slot set to DFLT. */
static int64_t *smap_get(smap *m, const char *key, int64_t dflt) {
    if (2 * (m->n + 1) > m->cap) {
        size_t ncap = m->cap ? 2 * m->cap : 1024;
        slot *ns = calloc(ncap, sizeof *ns);
        if (!ns) oom();
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->s[i].key) continue;
            size_t j = hash_str(m->s[i].key) & (ncap - 1);
            while (ns[j].key) j = (j + 1) & (ncap - 1);
            ns[j] = m->s[i];
        }
        free(m->s);
        m->s = ns;
        m->cap = ncap;
    }
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->s[j].key) {
        if (strcmp(m->s[j].key, key) == 0) return &m->s[j].val;
        j = (j + 1) & (m->cap - 1);
    }
    if (!(m->s[j].key = strdup(key))) oom();
    m->s[j].val = dflt;
    m->n++;
    return &m->s[j].val;
}

/* Like smap_get() without inserting: NULL when KEY is absent. */
static int64_t *smap_find(const smap *m, const char *key) {
    if (!m->cap) return NULL;
    size_t j = hash_str(key) & (m->cap - 1);
    while (m->s[j].key) {
        if (strcmp(m->s[j].key, key) == 0) return &m->s[j].val;
        j = (j + 1) & (m->cap - 1);
    }
    return NULL;
}

static void smap_free(smap *m) {
    for (size_t i = 0; i < m->cap; i++) free(m->s[i].key);
    free(m->s);
}

/* ---- the replay ------------------------------------------------------------ */

typedef struct agent_lim {
    char id[32];
    int64_t capacity, day_cap;
    int64_t open, day, day_count;
} agent_lim;

/* Per lead, packed in the map's value: agent + 1 (0 none), flags above. */
#define L_AGENT_MASK 0xffffffll
#define L_ASSIGNED (1ll << 32)       /* assigned now (until closed or released) */
#define L_EVER (1ll << 33)           /* assigned at some point */
#define L_CLOSED (1ll << 34)

typedef struct replay {
    agent_lim *ag;
    size_t nag;
    smap agent_ids;                  /* id -> idx */
    smap leads;
    uint64_t records, assigned, closed, refused, violations, cap_hits, daycap_hits;
} replay;

static void violation(replay *r, const char *lead, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void violation(replay *r, const char *lead, const char *fmt, ...) {
    if (r->violations++ >= SHOW_MAX) return;
    va_list ap;
    fprintf(stderr, "bench_check: record %" PRIu64 ": lead %s: ", r->records, lead);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void do_assign(replay *r, const char *lead, int64_t idx, int64_t day) {
    int64_t *l = smap_get(&r->leads, lead, 0);
    if (idx < 0 || (size_t)idx >= r->nag) {
        violation(r, lead, "assigned to an unknown agent (#%" PRId64 ")", idx);
        return;
    }
    agent_lim *a = &r->ag[idx];
    if (*l & L_ASSIGNED)
        violation(r, lead, "assigned to %s while still assigned to agent #%" PRId64, a->id,
                  (int64_t)((*l & L_AGENT_MASK) - 1));
    else if (*l & L_EVER)
        violation(r, lead, "assigned a second time (to %s)", a->id);
    *l = (*l & ~L_AGENT_MASK) | L_ASSIGNED | L_EVER | (idx + 1);
    r->assigned++;
    if (++a->open > a->capacity)
        violation(r, lead, "agent %s has %" PRId64 " open leads, capacity %" PRId64, a->id, a->open,
                  a->capacity);
    else if (a->open == a->capacity)
        r->cap_hits++;
    if (day < a->day)
        violation(r, lead, "agent %s: day %" PRId64 " after day %" PRId64, a->id, day, a->day);
    if (day > a->day) {
        a->day = day;
        a->day_count = 0;
    }
    if (++a->day_count > a->day_cap)
        violation(r, lead, "agent %s received %" PRId64 " leads in a day, cap %" PRId64, a->id,
                  a->day_count, a->day_cap);
    else if (a->day_count == a->day_cap)
        r->daycap_hits++;
}

/* IDX is the agent the record names, or -1 when it names none. */
static void do_close(replay *r, const char *lead, int64_t idx) {
    int64_t *l = smap_get(&r->leads, lead, 0);
    if (*l & L_CLOSED) {
        violation(r, lead, "closed twice");
        return;
    }
    *l |= L_CLOSED;
    r->closed++;
    if (!(*l & L_ASSIGNED)) return;  /* a waiting lead closed: nobody's capacity */
    int64_t owner = (*l & L_AGENT_MASK) - 1;
    if (idx >= 0 && idx != owner)
        violation(r, lead, "closed by agent %s, assigned to #%" PRId64,
                  (size_t)idx < r->nag ? r->ag[idx].id : "?", owner);
    r->ag[owner].open--;
    *l &= ~L_ASSIGNED;
}

static void do_release(replay *r, const char *lead) {
    int64_t *l = smap_get(&r->leads, lead, 0);
    if (!(*l & L_ASSIGNED)) return;
    r->ag[(*l & L_AGENT_MASK) - 1].open--;
    *l &= ~(L_ASSIGNED | L_EVER);    /* a released lead may be assigned again */
}

/* One record: ACTION a / u / c / r / x (refused), AGENT an idx or -1. */
static void apply(replay *r, const char *lead, char action, int64_t agent, int64_t day) {
    r->records++;
    if (!lead || !*lead) { r->refused++; return; }
    switch (action) {
    case 'a': do_assign(r, lead, agent, day); break;
    case 'u': smap_get(&r->leads, lead, 0); break;
    case 'c': do_close(r, lead, agent); break;
    case 'r': do_release(r, lead); break;
    default: r->refused++; break;
    }
}

/* ---- inputs ------------------------------------------------------------------ */

static void load_agents(replay *r, const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "bench_check: cannot read %s: %s\n", path, strerror(errno)); exit(2); }
    char line[256];
    size_t cap = 0;
    while (fgets(line, sizeof line, f)) {
        long idx;
        agent_lim a;
        memset(&a, 0, sizeof a);
        if (sscanf(line, "%ld,%31[^,],%" SCNd64 ",%" SCNd64, &idx, a.id, &a.capacity, &a.day_cap) != 4 ||
            idx != (long)r->nag) {
            fprintf(stderr, "bench_check: %s: bad line: %s", path, line);
            exit(2);
        }
        a.day = INT64_MIN;
        if (r->nag == cap && !(r->ag = realloc(r->ag, (cap = cap ? 2 * cap : 256) * sizeof *r->ag)))
            oom();
        r->ag[r->nag] = a;
        *smap_get(&r->agent_ids, a.id, 0) = (int64_t)r->nag;
        r->nag++;
    }
    fclose(f);
}

static int64_t agent_idx(replay *r, const char *id) {
    if (!id) return -1;
    int64_t *v = smap_find(&r->agent_ids, id);
    return v ? *v : (int64_t)r->nag;     /* unknown: out of range, reported by do_assign */
}

static char leadrouter_action(const char *a) {
    if (!a) return 'x';
    if (!strcmp(a, "assigned") || !strcmp(a, "claimed")) return 'a';
    if (!strcmp(a, "queued") || !strcmp(a, "held") || !strcmp(a, "unrouted") ||
        !strcmp(a, "offered"))
        return 'u';
    if (!strcmp(a, "closed")) return 'c';
    if (!strcmp(a, "released")) return 'r';
    return 'x';
}

static sqlite3 *open_ro(const char *path) {
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_check: cannot open %s: %s\n", path, sqlite3_errmsg(db));
        exit(2);
    }
    return db;
}

static void read_sqlite(replay *r, const char *path, bool leadrouter) {
    sqlite3 *db = open_ro(path);
    const char *sql = leadrouter
        ? "SELECT lead, action, agent, at FROM decisions ORDER BY id"
        : "SELECT lead, action, agent, day FROM history ORDER BY id";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *lead = (const char *)sqlite3_column_text(st, 0);
        const char *action = (const char *)sqlite3_column_text(st, 1);
        const char *agent = (const char *)sqlite3_column_text(st, 2);
        int64_t x = sqlite3_column_int64(st, 3);
        if (leadrouter) {
            int64_t day = x >= 0 ? x / DAY_MS : (x - DAY_MS + 1) / DAY_MS;
            apply(r, lead, leadrouter_action(action), agent_idx(r, agent), day);
        } else {
            apply(r, lead, action ? action[0] : 'x',
                  sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2), x);
        }
        rc = SQLITE_OK;
    }
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "bench_check: %s: %s\n", path, sqlite3_errmsg(db));
        exit(2);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static FILE *open_in(const char *path) {
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) { fprintf(stderr, "bench_check: cannot read %s: %s\n", path, strerror(errno)); exit(2); }
    return f;
}

/* lead,action,agent,day -- agent empty when none. */
static void read_history_csv(replay *r, const char *path) {
    FILE *f = open_in(path);
    char line[256], lead[64], action[8], agent[32];
    long long day;
    while (fgets(line, sizeof line, f)) {
        agent[0] = '\0';
        if (sscanf(line, "%63[^,],%7[^,],%31[^,],%lld", lead, action, agent, &day) != 4 &&
            sscanf(line, "%63[^,],%7[^,],,%lld", lead, action, &day) != 3) {
            fprintf(stderr, "bench_check: %s: bad line: %s", path, line);
            exit(2);
        }
        apply(r, lead, action[0], agent[0] ? strtoll(agent, NULL, 10) : -1, day);
    }
    if (f != stdin) fclose(f);
}

/* Days since 1970-01-01 of the date at the start of an RFC 3339 time. */
static int64_t day_of(const char *at) {
    int y, m, d;
    if (!at || sscanf(at, "%d-%d-%d", &y, &m, &d) != 3) return 0;
    y -= m <= 2;                     /* days_from_civil (H. Hinnant) */
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153u * (unsigned)(m + (m > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void read_decisions_jsonl(replay *r, const char *path) {
    FILE *f = open_in(path);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (n <= 1) continue;
        json_error_t je;
        json_t *d = json_loadb(line, (size_t)n, 0, &je);
        if (!d) { fprintf(stderr, "bench_check: %s: %s\n", path, je.text); exit(2); }
        const char *agent = json_string_value(json_object_get(d, "agent"));
        apply(r, json_string_value(json_object_get(d, "lead")),
              leadrouter_action(json_string_value(json_object_get(d, "action"))),
              agent ? agent_idx(r, agent) : -1, day_of(json_string_value(json_object_get(d, "at"))));
        json_decref(d);
    }
    free(line);
    if (f != stdin) fclose(f);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_check --agents AGENTS.csv (--sqlite-peer DB | --history CSV |"
                    " --leadrouter DB | --decisions JSONL)\n");
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 5 || strcmp(argv[1], "--agents") != 0) return usage();
    replay r;
    memset(&r, 0, sizeof r);
    load_agents(&r, argv[2]);
    const char *mode = argv[3], *src = argv[4];
    if (!strcmp(mode, "--sqlite-peer")) read_sqlite(&r, src, false);
    else if (!strcmp(mode, "--leadrouter")) read_sqlite(&r, src, true);
    else if (!strcmp(mode, "--history")) read_history_csv(&r, src);
    else if (!strcmp(mode, "--decisions")) read_decisions_jsonl(&r, src);
    else return usage();

    uint64_t ever = 0;
    for (size_t i = 0; i < r.leads.cap; i++)
        if (r.leads.s[i].key && (r.leads.s[i].val & L_EVER)) ever++;
    if (r.violations > SHOW_MAX)
        fprintf(stderr, "bench_check: ... %" PRIu64 " violations in all\n", r.violations);
    printf("valid=%s records=%" PRIu64 " leads=%zu assigned=%" PRIu64 " unassigned=%" PRIu64
           " closed=%" PRIu64 " capacity_reached=%" PRIu64 " day_cap_reached=%" PRIu64
           " violations=%" PRIu64 "\n",
           r.violations ? "no" : "yes", r.records, r.leads.n, r.assigned, (uint64_t)r.leads.n - ever,
           r.closed, r.cap_hits, r.daycap_hits, r.violations);
    smap_free(&r.leads);
    smap_free(&r.agent_ids);
    free(r.ag);
    return r.violations ? 1 : 0;
}
