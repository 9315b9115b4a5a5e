/* bench_peer_sqlite.c -- the do-it-yourself lead router on SQLite, the
 * SQLite peer of `make bench`.
 *
 *   bench_peer_sqlite --workload DIR --db FILE --clients N [--seconds S]
 *
 * The same tables and the same SQL as the PostgreSQL peer
 * (bench/peer_pg.sql, bench/peer_pg_tx.sql; the semantics are written down
 * there), in one C program: N client threads, each with its own
 * connection, take the events of DIR/events.csv in stream order (a shared
 * counter stands in for the requests arriving) and run one transaction
 * per event:
 *   a lead:     BEGIN IMMEDIATE (the database's write lock, waited for by
 *               SQLite's busy handler); read the state's rotation; pick the
 *               next eligible agent after it; insert the assignment and the
 *               history row; update the agent's counters and the rotation;
 *               COMMIT. Nobody eligible: a history row 'u' (unassigned).
 *   a progress: BEGIN IMMEDIATE; close the assignment; decrement the
 *               agent's open count; history row; COMMIT.
 * The database is in WAL mode with synchronous=FULL: every COMMIT syncs
 * the WAL, so an answered lead is on disk (the same durability as
 * leadrouter --sync full and PostgreSQL's synchronous_commit = on).
 *
 * FILE is created anew (with its -wal and -shm). The run stops taking
 * events after S seconds (default 15) or at the end of the stream; the
 * transactions under way finish. Prints one line:
 *   clients=N seconds=S events=E leads=L assigned=A unassigned=U closed=C
 *   events_per_s=X leads_per_s=X p50_ms=X p99_ms=X busy_retries=B sqlite=VERSION
 * where latency is per event, from taking it to its COMMIT returning
 * (waiting for the lock included). bench_check then replays the history
 * table to check the decisions. Exit 0, or 2 on an error.
 *
 * Not library code: prints, exits.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 256
#define BUSY_MS 60000                /* busy_timeout: waiting for the lock is the cost */

typedef struct event {
    int32_t kind, lead, state, day, status;
} event;

typedef struct shared {
    const char *db;
    const event *ev;
    size_t nev;
    atomic_size_t next;              /* the next event to take */
    double deadline;                 /* CLOCK_MONOTONIC seconds */
    pthread_barrier_t start;
} shared;

enum { S_BEGIN, S_COMMIT, S_ROLLBACK, S_ROT, S_PICK, S_AGENT_ADD, S_ASSIGN, S_HIST, S_ROT_SET,
       S_CLOSE, S_AGENT_SUB, S__COUNT };

/* The statements of both peers, written for SQLite (no FOR UPDATE: the
 * write lock of BEGIN IMMEDIATE covers the whole database). */
static const char *const SQL[S__COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_ROT] = "SELECT last FROM rotation WHERE state = ?1",
    [S_PICK] = "SELECT a.idx FROM agents a JOIN territories t ON t.agent = a.idx"
               " WHERE t.state = ?1 AND a.open < a.capacity"
               "   AND (a.cap_day < ?2 OR a.day_count < a.day_cap)"
               " ORDER BY a.idx <= ?3, a.idx LIMIT 1",
    [S_AGENT_ADD] = "UPDATE agents SET open = open + 1,"
                    " day_count = CASE WHEN cap_day < ?2 THEN 1 ELSE day_count + 1 END,"
                    " cap_day = max(cap_day, ?2) WHERE idx = ?1 RETURNING cap_day",
    [S_ASSIGN] = "INSERT INTO assignments (lead, agent, day) VALUES (?1, ?2, ?3)",
    [S_HIST] = "INSERT INTO history (lead, action, agent, day) VALUES (?1, ?2, ?3, ?4)",
    [S_ROT_SET] = "UPDATE rotation SET last = ?1 WHERE state = ?2",
    [S_CLOSE] = "UPDATE assignments SET status = ?2 WHERE lead = ?1 AND status = 0 RETURNING agent",
    [S_AGENT_SUB] = "UPDATE agents SET open = open - 1 WHERE idx = ?1",
};

static const char *const SCHEMA =
    "PRAGMA journal_mode=WAL;"
    "CREATE TABLE agents (idx INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
    "  capacity INTEGER NOT NULL, day_cap INTEGER NOT NULL, open INTEGER NOT NULL DEFAULT 0,"
    "  cap_day INTEGER NOT NULL DEFAULT -1, day_count INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE territories (state INTEGER NOT NULL, agent INTEGER NOT NULL REFERENCES agents,"
    "  PRIMARY KEY (state, agent)) WITHOUT ROWID;"
    "CREATE TABLE rotation (state INTEGER PRIMARY KEY, last INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE assignments (lead INTEGER PRIMARY KEY, agent INTEGER NOT NULL REFERENCES agents,"
    "  day INTEGER NOT NULL, status INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE history (id INTEGER PRIMARY KEY, lead INTEGER NOT NULL, action TEXT NOT NULL,"
    "  agent INTEGER, day INTEGER NOT NULL);";

typedef struct client {
    shared *sh;
    sqlite3 *db;
    sqlite3_stmt *st[S__COUNT];
    double *lat;                     /* seconds, one per event */
    size_t nlat, cap;
    uint64_t leads, assigned, unassigned, closed, busy;
    char err[512];                   /* the first error, if any */
} client;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prints "bench_peer_sqlite: MESSAGE" on stderr and exits 2. */
static _Noreturn void die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static _Noreturn void die(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "bench_peer_sqlite: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* Reads the CSV file DIR/NAME as rows of NCOL integers into a malloc'd
 * array (*NROWS rows). A field that starts with 'a' (the agent id of
 * agents.csv) is skipped: it is not one of the NCOL. */
static int32_t *read_ints(const char *dir, const char *name, int ncol, size_t *nrows) {
    char path[4096], line[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "r");
    if (!f) die("cannot read %s: %s", path, strerror(errno));
    size_t n = 0, cap = 1024;
    int32_t *v = malloc(cap * (size_t)ncol * sizeof *v);
    while (v && fgets(line, sizeof line, f)) {
        if (n == cap && !(v = realloc(v, (cap *= 2) * (size_t)ncol * sizeof *v))) break;
        char *p = line;
        for (int c = 0; c < ncol; c++) {
            while (*p && (*p < '0' || *p > '9') && *p != '-') {
                if (*p == 'a') while (*p && *p != ',') p++;   /* the agent id text */
                else p++;
            }
            v[n * (size_t)ncol + (size_t)c] = (int32_t)strtol(p, &p, 10);
        }
        n++;
    }
    if (!v) die("out of memory reading %s", path);
    fclose(f);
    *nrows = n;
    return v;
}

static void exec_sql(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) die("%s: %s", sql, msg ? msg : "?");
}

/* Creates FILE with the schema, the agents, territories and rotation. */
static void create_db(const char *file, const char *dir) {
    char path[4200];
    const char *sfx[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s%s", file, sfx[i]);
        if (unlink(path) != 0 && errno != ENOENT) die("cannot remove %s: %s", path, strerror(errno));
    }
    sqlite3 *db = NULL;
    if (sqlite3_open(file, &db) != SQLITE_OK) die("cannot create %s: %s", file, sqlite3_errmsg(db));
    exec_sql(db, SCHEMA);
    exec_sql(db, "BEGIN");
    size_t na, nt;
    int32_t *ag = read_ints(dir, "agents.csv", 3, &na);          /* idx, capacity, day_cap */
    int32_t *te = read_ints(dir, "territories.csv", 2, &nt);     /* state, agent */
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "INSERT INTO agents (idx, id, capacity, day_cap) VALUES (?1, printf('a%04d', ?1), ?2, ?3)",
                       -1, &st, NULL);
    for (size_t i = 0; i < na; i++) {
        for (int c = 0; c < 3; c++) sqlite3_bind_int(st, c + 1, ag[i * 3 + (size_t)c]);
        if (sqlite3_step(st) != SQLITE_DONE) die("loading agents: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_prepare_v2(db, "INSERT INTO territories (state, agent) VALUES (?1, ?2)", -1, &st, NULL);
    for (size_t i = 0; i < nt; i++) {
        sqlite3_bind_int(st, 1, te[i * 2]);
        sqlite3_bind_int(st, 2, te[i * 2 + 1]);
        if (sqlite3_step(st) != SQLITE_DONE) die("loading territories: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    exec_sql(db, "INSERT INTO rotation (state) SELECT DISTINCT state FROM territories; COMMIT; ANALYZE");
    sqlite3_close(db);
    free(ag);
    free(te);
}

/* Records the first error of C and returns false. */
static bool fail(client *c, const char *what) {
    if (!c->err[0]) snprintf(c->err, sizeof c->err, "%s: %s", what, sqlite3_errmsg(c->db));
    return false;
}

/* Steps ST, expecting a row (*out = column 0, or -1 with no row) or the
 * end. Resets it. Returns false on an error. */
static bool step(client *c, int which, int *out) {
    sqlite3_stmt *st = c->st[which];
    int rc = sqlite3_step(st);
    if (out) *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    if (rc == SQLITE_ROW) rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_DONE : SQLITE_ERROR;
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? true : fail(c, SQL[which]);
}

static void bind(client *c, int which, int n, int a, int b, int d) {
    sqlite3_stmt *st = c->st[which];
    sqlite3_bind_int(st, 1, a);
    if (n > 1) sqlite3_bind_int(st, 2, b);
    if (n > 2) sqlite3_bind_int(st, 3, d);
}

static bool history(client *c, int lead, const char *action, int agent, int day) {
    sqlite3_stmt *st = c->st[S_HIST];
    sqlite3_bind_int(st, 1, lead);
    sqlite3_bind_text(st, 2, action, 1, SQLITE_STATIC);
    if (agent >= 0) sqlite3_bind_int(st, 3, agent);
    else sqlite3_bind_null(st, 3);
    sqlite3_bind_int(st, 4, day);
    return step(c, S_HIST, NULL);
}

/* One event, one transaction. Returns false on an error (rolled back). */
static bool run_event(client *c, const event *e) {
    for (;;) {                       /* BEGIN IMMEDIATE waits BUSY_MS at most per try */
        int rc = sqlite3_step(c->st[S_BEGIN]);
        sqlite3_reset(c->st[S_BEGIN]);
        if (rc == SQLITE_DONE) break;
        if (rc != SQLITE_BUSY) return fail(c, "BEGIN IMMEDIATE");
        c->busy++;
    }
    bool ok = true;
    if (e->kind == 0) {
        int last, pick, day;
        c->leads++;
        bind(c, S_ROT, 1, e->state, 0, 0);
        ok = step(c, S_ROT, &last);
        if (ok) { bind(c, S_PICK, 3, e->state, e->day, last); ok = step(c, S_PICK, &pick); }
        if (ok && pick >= 0) {
            bind(c, S_AGENT_ADD, 2, pick, e->day, 0);
            ok = step(c, S_AGENT_ADD, &day);
            if (ok) { bind(c, S_ASSIGN, 3, e->lead, pick, day); ok = step(c, S_ASSIGN, NULL); }
            if (ok) ok = history(c, e->lead, "a", pick, day);
            if (ok) { bind(c, S_ROT_SET, 2, pick, e->state, 0); ok = step(c, S_ROT_SET, NULL); }
            if (ok) c->assigned++;
        } else if (ok) {
            ok = history(c, e->lead, "u", -1, e->day);
            if (ok) c->unassigned++;
        }
    } else {
        int agent;
        bind(c, S_CLOSE, 2, e->lead, e->status, 0);
        ok = step(c, S_CLOSE, &agent);
        if (ok && agent >= 0) {
            bind(c, S_AGENT_SUB, 1, agent, 0, 0);
            ok = step(c, S_AGENT_SUB, NULL);
            if (ok) ok = history(c, e->lead, "c", agent, e->day);
            if (ok) c->closed++;
        }
    }
    if (ok) {
        int rc = sqlite3_step(c->st[S_COMMIT]);
        sqlite3_reset(c->st[S_COMMIT]);
        if (rc == SQLITE_DONE) return true;
        fail(c, "COMMIT");
    }
    sqlite3_step(c->st[S_ROLLBACK]);
    sqlite3_reset(c->st[S_ROLLBACK]);
    return false;
}

static void open_client(client *c) {
    if (sqlite3_open_v2(c->sh->db, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK)
        die("cannot open %s: %s", c->sh->db, sqlite3_errmsg(c->db));
    exec_sql(c->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON");
    sqlite3_busy_timeout(c->db, BUSY_MS);
    for (int i = 0; i < S__COUNT; i++)
        if (sqlite3_prepare_v3(c->db, SQL[i], -1, SQLITE_PREPARE_PERSISTENT, &c->st[i], NULL) !=
            SQLITE_OK)
            die("%s: %s", SQL[i], sqlite3_errmsg(c->db));
}

static void *client_main(void *arg) {
    client *c = arg;
    shared *sh = c->sh;
    pthread_barrier_wait(&sh->start);
    for (;;) {
        double t0 = now_s();
        if (t0 >= sh->deadline) break;
        size_t i = atomic_fetch_add(&sh->next, 1);
        if (i >= sh->nev) break;
        if (!run_event(c, &sh->ev[i])) break;
        if (c->nlat == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 4096;
            double *p = realloc(c->lat, c->cap * sizeof *p);
            if (!p) { snprintf(c->err, sizeof c->err, "out of memory"); break; }
            c->lat = p;
        }
        c->lat[c->nlat++] = now_s() - t0;
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int usage(void) {
    fprintf(stderr, "usage: bench_peer_sqlite --workload DIR --db FILE --clients N (1-%d) "
                    "[--seconds S (default 15)]\n", MAX_CLIENTS);
    return 2;
}

int main(int argc, char **argv) {
    const char *dir = NULL, *file = NULL;
    int nclients = 0;
    double seconds = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--workload") == 0) dir = argv[i + 1];
        else if (strcmp(argv[i], "--db") == 0) file = argv[i + 1];
        else if (strcmp(argv[i], "--clients") == 0) nclients = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
        else return usage();
    }
    if (argc % 2 != 1 || !dir || !file || nclients < 1 || nclients > MAX_CLIENTS ||
        !(seconds > 0 && seconds <= 3600))
        return usage();

    size_t nev;
    int32_t *raw = read_ints(dir, "events.csv", 6, &nev);   /* seq,kind,lead,state,day,status */
    event *ev = malloc((nev ? nev : 1) * sizeof *ev);
    if (!ev) die("out of memory");
    for (size_t i = 0; i < nev; i++) {
        const int32_t *r = &raw[i * 6];
        ev[i] = (event){ r[1], r[2], r[3], r[4], r[5] };
    }
    free(raw);
    create_db(file, dir);

    shared sh = { .db = file, .ev = ev, .nev = nev };
    atomic_init(&sh.next, 0);
    client *cl = calloc((size_t)nclients, sizeof *cl);
    pthread_t *th = calloc((size_t)nclients, sizeof *th);
    if (!cl || !th) die("out of memory");
    pthread_barrier_init(&sh.start, NULL, (unsigned)nclients + 1);
    for (int i = 0; i < nclients; i++) {
        cl[i].sh = &sh;
        open_client(&cl[i]);
    }
    for (int i = 0; i < nclients; i++)
        if (pthread_create(&th[i], NULL, client_main, &cl[i]) != 0) die("cannot start a client thread");
    double t0 = now_s();
    sh.deadline = t0 + seconds;
    pthread_barrier_wait(&sh.start);
    for (int i = 0; i < nclients; i++) pthread_join(th[i], NULL);
    double elapsed = now_s() - t0;

    uint64_t leads = 0, assigned = 0, unassigned = 0, closed = 0, busy = 0;
    size_t nlat = 0;
    int status = 0;
    for (int i = 0; i < nclients; i++) {
        client *c = &cl[i];
        leads += c->leads; assigned += c->assigned; unassigned += c->unassigned;
        closed += c->closed; busy += c->busy; nlat += c->nlat;
        if (c->err[0]) {
            fprintf(stderr, "bench_peer_sqlite: client %d: %s\n", i, c->err);
            status = 2;
        }
    }
    double *all = malloc((nlat ? nlat : 1) * sizeof *all);
    if (!all) die("out of memory");
    size_t k = 0;
    for (int i = 0; i < nclients; i++) {
        memcpy(all + k, cl[i].lat, cl[i].nlat * sizeof *all);
        k += cl[i].nlat;
    }
    qsort(all, nlat, sizeof *all, cmp_double);
    double p50 = nlat ? all[nlat / 2] : 0, p99 = nlat ? all[(size_t)((double)nlat * 0.99)] : 0;
    printf("clients=%d seconds=%.2f events=%zu leads=%llu assigned=%llu unassigned=%llu closed=%llu "
           "events_per_s=%.1f leads_per_s=%.1f p50_ms=%.2f p99_ms=%.2f busy_retries=%llu sqlite=%s\n",
           nclients, elapsed, nlat, (unsigned long long)leads, (unsigned long long)assigned,
           (unsigned long long)unassigned, (unsigned long long)closed, (double)nlat / elapsed,
           (double)leads / elapsed, p50 * 1e3, p99 * 1e3, (unsigned long long)busy,
           sqlite3_libversion());
    if (nlat == nev) fprintf(stderr, "bench_peer_sqlite: note: the stream ran out before the time limit\n");

    for (int i = 0; i < nclients; i++) {
        for (int s = 0; s < S__COUNT; s++) sqlite3_finalize(cl[i].st[s]);
        sqlite3_close(cl[i].db);
        free(cl[i].lat);
    }
    pthread_barrier_destroy(&sh.start);
    free(all);
    free(cl);
    free(th);
    free(ev);
    return status;
}
