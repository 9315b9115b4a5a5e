/* bench_engine.c -- the engine benchmark behind `make bench-engine`
 * (bench/run-engine runs the modes in turn; docs/benchmarks.md explains
 * every figure).
 *
 *   bench_engine throughput [--quick] [--targets]
 *       decisions/second of lr_engine_apply() in process, per strategy, for
 *       pools of 10, 1,000 and 100,000 agents, without and with a `match`
 *       that leaves 1% of the pool eligible, explanations off and on, then
 *       the verdicts against the targets. --targets: the five target
 *       strategies at 1,000 and 100,000 agents, explanations off, only.
 *       --quick: small batches, 3 of them (a smoke run, not a measurement).
 *   bench_engine memory LEADS.jsonl
 *       bytes per agent with 100,000 agents, then RSS with every lead of
 *       LEADS.jsonl routed and left open (no closes).
 *   bench_engine exec RUNS NLEADS MIN_RATE -- CMD [ARG...]
 *       runs CMD RUNS times with stdout on /dev/null; wall and CPU time and
 *       peak RSS of each run from wait4(); medians against MIN_RATE.
 *   bench_engine one STRATEGY AGENTS none|1% off|on BATCH
 *       one throughput row, to run under `perf record`.
 *   bench_engine probe
 *       the speed of the machine right now (a fixed loop, a page fault).
 *
 * How throughput is measured:
 * - The config is a YAML string built here and loaded with
 *   lr_config_load_string(): N agents a0..aN-1 with weights 1..5, capacity
 *   1,000,000 (never reached in a run, so every agent stays eligible and
 *   the capacity arithmetic of least_busy / most_available is exercised),
 *   attributes {territories: [T<i mod 100>]}, one pool of all of them, one
 *   rule with the strategy, and for the 1% case `match: {territories:
 *   state}`. A lead's state is T<k>, k drawn from a fixed-seed xorshift over
 *   min(N, 100) territories, so a match leaves N/100 agents eligible (1 of
 *   10 at N = 10, where 1% cannot be).
 * - Leads (id, state, score, received_at 100 ms apart) are built before
 *   any clock starts, in the parent process. Each row runs in a forked
 *   child (every row starts from the same heap), which creates one engine,
 *   routes one lead per territory untimed (the segments, whose one-time
 *   build scans the pool, then exist: "warm ms"), then applies REPS
 *   consecutive batches of leads, each timed by the thread's CPU clock and
 *   by the wall clock, in chunks of CHUNK leads read into the cache first
 *   (untimed: a front door hands over a lead it has just parsed). The
 *   engine keeps every lead, so later batches run with more leads open.
 *   The callback counts; every lead must be assigned.
 * - The figure compared with the targets is the median batch in decisions
 *   per CPU second of the thread: "on one core", whatever else the shared
 *   machine runs. The wall-clock median is printed beside it.
 *
 * Not library code: prints, exits.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "leadrouter/buf.h"
#include "leadrouter/config.h"
#include "leadrouter/engine.h"
#include "leadrouter/error.h"
#include "leadrouter/event.h"

#define REPS 5                      /* timed batches per engine */
#define BATCH 200000u               /* leads per batch, explain off, targets */
#define RUN_SECONDS 0.2             /* calibrated batches last about this */
#define MAX_BATCH 200000u
#define MIN_BATCH 2000u
#define CHUNK 1024u                 /* leads timed together, fresh in the cache */
#define T0 1793577600000LL          /* 2026-11-02T00:00:00Z */
#define CAPACITY 1000000            /* never reached: agents stay eligible */

static const char *const targets[] = { "round_robin", "weighted_round_robin", "least_busy",
                                       "longest_idle", "most_available" };
static const char *const extras[] = { "random", "weighted_random", "top_down",
                                      "fewest_assigned", "top_producer", "owner" };
#define NTARGETS (sizeof targets / sizeof targets[0])
#define NEXTRAS (sizeof extras / sizeof extras[0])

/* ---- small helpers ------------------------------------------------------ */

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Wall clock. */
static double now_s(void) { return clock_s(CLOCK_MONOTONIC); }

/* CPU time of this thread: what the rate costs on one core, whatever else
 * the shared machine runs meanwhile. */
static double cpu_s(void) { return clock_s(CLOCK_THREAD_CPUTIME_ID); }

static void die(const char *what, int rc) {
    fprintf(stderr, "bench_engine: %s: %s\n", what, lr_strerror(rc));
    exit(2);
}

static void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) die("malloc", LR_ENOMEM);
    return p;
}

static char *xstrdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(xmalloc(n), s, n);
}

/* xorshift64*: the workload is the same on every run. */
static uint64_t xs_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* "1,234,567" into BUF. */
static const char *grouped(double v, char *buf, size_t len) {
    char raw[32];
    snprintf(raw, sizeof raw, "%.0f", v);
    size_t n = strlen(raw), o = 0;
    for (size_t i = 0; i < n && o + 2 < len; i++) {
        if (i && (n - i) % 3 == 0) buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = '\0';
    return buf;
}

static long page_size(void) { return sysconf(_SC_PAGESIZE); }

/* Resident set size now, in bytes (/proc/self/statm). */
static double rss_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%ld %ld", &size, &res) != 2) res = 0;
        fclose(f);
    }
    return (double)res * (double)page_size();
}

/* Peak resident set size of this process, in bytes. */
static double rss_peak(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss * 1024.0;
}

/* Minor page faults of this thread so far. */
static long minor_faults(void) {
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return ru.ru_minflt;
}

/* tcmalloc's, when bench/run-engine runs this on the leadrouter binary's
 * malloc (LD_PRELOAD): it has no mallinfo2(), so the heap is not known. */
extern void *tc_malloc(size_t size) __attribute__((weak));
static bool heap_known(void) { return !tc_malloc; }

/* Bytes the allocator has handed out and not been given back. */
static double heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

static double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

/* ---- configs and leads ---------------------------------------------------- */

static void put(int rc) { if (rc != LR_OK) die("building the config", rc); }

/* The YAML of the throughput configs (see the top of the file). Each
 * agent in block style: a file with more than 100,000 '[' and '{' is
 * refused (docs/configuration.md), and 100,000 agents written
 * {id: ..., attributes: {territories: [...]}} have 300,000. */
static char *make_config(const char *strategy, uint32_t n, bool match, size_t *len) {
    lr_buf b = LR_BUF_INIT;
    put(lr_buf_puts(&b, "agents:\n"));
    for (uint32_t i = 0; i < n; i++)
        put(lr_buf_printf(&b, "  - id: a%u\n    weight: %u\n    capacity: %d\n"
                              "    attributes:\n      territories:\n        - T%u\n",
                          i, 1 + i % 5, CAPACITY, i % 100));
    put(lr_buf_puts(&b, "pools:\n  p: ["));
    for (uint32_t i = 0; i < n; i++) put(lr_buf_printf(&b, "%sa%u", i ? ", " : "", i));
    put(lr_buf_puts(&b, "]\n"));
    if (strcmp(strategy, "owner") == 0) {   /* one account per agent: d<i>.example */
        put(lr_buf_puts(&b, "accounts:\n"));
        for (uint32_t i = 0; i < n; i++)
            put(lr_buf_printf(&b, "  - id: c%u\n    domains:\n      - d%u.example\n"
                                  "    owner: a%u\n", i, i, i));
    }
    put(lr_buf_printf(&b, "rules:\n  - name: r\n    pool: p\n    strategy: %s\n", strategy));
    if (match) put(lr_buf_puts(&b, "    match: {territories: state}\n"));
    return lr_buf_detach(&b, len);
}

static lr_config *load_config(const char *text, size_t len) {
    lr_config *cfg = NULL;
    lr_config_errors errs = { NULL, 0 };
    int rc = lr_config_load_string(text, len, "<bench>", &cfg, &errs);
    if (rc != LR_OK) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.msgs[i]);
        lr_config_errors_release(&errs);
        die("loading the generated config", rc);
    }
    lr_config_errors_release(&errs);
    return cfg;
}

/* Returns a new lead (owned by the caller until applied). */
static lr_lead *make_lead(const char *id, uint32_t state, double score, lr_time at,
                          const char *email) {
    char buf[32];
    lr_lead *l = calloc(1, sizeof *l);
    if (!l) die("building leads", LR_ENOMEM);
    l->str[LR_LF_ID] = xstrdup(id);
    snprintf(buf, sizeof buf, "T%u", state);
    l->str[LR_LF_STATE] = xstrdup(buf);
    if (email) l->str[LR_LF_EMAIL] = xstrdup(email);
    l->score = score;
    l->has_score = true;
    l->received_at = at;
    return l;
}



/* The leads of one workload. They depend on the pool size and on whether
 * they carry an owner's email, not on the strategy or the match, so every
 * case of one size shares them. Built in the parent process and only read
 * by the children that route them (the engine never writes a lead it is
 * given this way, so the children's copy-on-write pages stay shared). */
typedef struct leadset {
    uint32_t n;                     /* agents */
    bool owner;
    lr_lead **leads;
    size_t count;
} leadset;

#define MAX_SETS 4                  /* 10, 1,000, 100,000 agents; owner at 1,000 */
static leadset sets[MAX_SETS];
static size_t nsets;

static leadset *leadset_for(uint32_t n, bool owner) {
    for (size_t i = 0; i < nsets; i++)
        if (sets[i].n == n && sets[i].owner == owner) return &sets[i];
    if (nsets == MAX_SETS) die("too many lead sets", LR_ERANGE);
    sets[nsets] = (leadset){ n, owner, NULL, 0 };
    return &sets[nsets++];
}

static void leadset_release(leadset *ls) {
    for (size_t i = 0; i < ls->count; i++) lr_lead_free(ls->leads[i]);
    free(ls->leads);
    ls->leads = NULL;
    ls->count = 0;
}

static void leadsets_free(void) {
    for (size_t i = 0; i < nsets; i++) leadset_release(&sets[i]);
    nsets = 0;
}

/* One benchmark case: a strategy on a config, and its workload. */
typedef struct bcase {
    const char *strategy;
    uint32_t n;                     /* agents */
    bool match;
    bool owner;                     /* leads carry an account's email domain */
    uint32_t nstates;               /* territories leads are drawn from */
    const lr_config *cfg;
    leadset *ls;                    /* shared with the other cases of this size */
} bcase;

/* Makes c->ls hold at least COUNT leads L0.., the same ones for the same
 * size (fixed seed). */
static void build_leads(bcase *c, size_t count) {
    leadset *ls = c->ls;
    if (count <= ls->count) return;
    leadset_release(ls);
    ls->leads = xmalloc(count * sizeof *ls->leads);
    ls->count = count;
    uint64_t seed = 0x5DEECE66Dull ^ c->n;
    char id[32], email[64];
    for (size_t i = 0; i < count; i++) {
        uint64_t r = xs_next(&seed);
        uint32_t state = (uint32_t)((r >> 32) % c->nstates);
        const char *em = NULL;
        if (c->owner) {             /* a lead of agent j's account, in j's territory */
            uint32_t j = (uint32_t)((r >> 32) % c->n);
            state = j % c->nstates;
            snprintf(email, sizeof email, "u%zu@d%u.example", i, j);
            em = email;
        }
        snprintf(id, sizeof id, "L%zu", i);
        ls->leads[i] = make_lead(id, state, (double)(1 + (r & 0xffff) % 100),
                                 T0 + 100 * ((lr_time)i + 1000), em);
    }
}

typedef struct counter { uint64_t decisions, assigned; } counter;

static int count_decision(const lr_decision *d, void *ud) {
    counter *c = ud;
    c->decisions++;
    if (d->action == LR_ACTION_ASSIGNED) c->assigned++;
    return 0;
}

/* Applies lead L (the engine takes it) as the front doors do: in an event
 * built on the stack. */
static void apply_lead(lr_engine *eng, lr_lead *l, void *cnt) {
    lr_event ev;
    memset(&ev, 0, sizeof ev);
    ev.type = LR_EV_LEAD;
    ev.at = LR_TIME_NONE;
    ev.lead = l;
    int rc = lr_engine_apply(eng, &ev, count_decision, cnt);
    if (rc != LR_OK) die("lr_engine_apply", rc);
}

/* Routes one lead per territory (so every segment exists) and returns the
 * milliseconds it took. */
static double warm_up(bcase *c, lr_engine *eng) {
    counter warm = { 0, 0 };
    double w0 = now_s();
    for (uint32_t k = 0; k < (c->match ? c->nstates : 1); k++) {
        char id[32], email[64];
        snprintf(id, sizeof id, "W%u", k);
        snprintf(email, sizeof email, "w%u@d%u.example", k, k);
        apply_lead(eng, make_lead(id, k, 50, T0 + k, c->owner ? email : NULL), &warm);
    }
    return (now_s() - w0) * 1e3;
}

static volatile unsigned warm_sink;     /* keeps the reads below from being optimised out */

/* Reads the next N leads into the cache, untimed. A front door hands the
 * engine a lead it has just parsed, so the lead is in the cache; leads
 * built long before would each cost a cache miss the engine does not. */
static void warm_cache(lr_lead *const *leads, size_t n) {
    unsigned sum = 0;
    for (size_t i = 0; i < n; i++) {
        const lr_lead *l = leads[i];
        sum += (unsigned)l->received_at;
        for (int f = 0; f < LR_LF__STRCOUNT; f++)
            if (l->str[f]) sum += (unsigned char)l->str[f][0];
    }
    warm_sink = sum;
}

/* What one engine's batches measured. */
typedef struct batches {
    double wall[REPS];              /* decisions per wall-clock second, per batch */
    double cpu[REPS];               /* decisions per CPU second of the thread */
    double warm_ms;                 /* warm-up (segment build), not timed */
    double faults;                  /* minor page faults in the timed batches */
} batches;

/* One engine; REPS consecutive timed batches of BATCH leads (the engine
 * keeps every lead: batch r runs with r * BATCH leads already open).
 * Exits when a lead was not assigned: the workload would then measure
 * something else. */
static void run_batches(bcase *c, bool explain, size_t batch, int reps, batches *out) {
    size_t total = batch * (size_t)reps;
    lr_engine_opts opts = { 42, T0, explain };
    lr_engine *eng;
    int rc = lr_engine_create(c->cfg, &opts, &eng);
    if (rc != LR_OK) die("lr_engine_create", rc);
    out->warm_ms = warm_up(c, eng);
    out->faults = 0;
    counter cnt = { 0, 0 };
    for (int r = 0; r < reps; r++) {
        lr_lead **leads = c->ls->leads + (size_t)r * batch;
        long f0 = minor_faults();
        double wall = 0, cpu = 0;
        for (size_t k = 0; k < batch; k += CHUNK) {
            size_t n = batch - k < CHUNK ? batch - k : CHUNK;
            warm_cache(leads + k, n);
            double t0 = now_s(), c0 = cpu_s();
            for (size_t i = 0; i < n; i++) apply_lead(eng, leads[k + i], &cnt);
            cpu += cpu_s() - c0;
            wall += now_s() - t0;
        }
        out->cpu[r] = (double)batch / cpu;
        out->wall[r] = (double)batch / wall;
        out->faults += (double)(minor_faults() - f0);
    }
    /* No lr_engine_destroy(): the child exits, and freeing the leads would
     * only copy the parent's pages. */
    (void)eng;
    if (cnt.assigned != total || cnt.decisions != total) {
        fprintf(stderr, "bench_engine: %s N=%u: %llu of %zu leads assigned (%llu decisions): "
                "the workload is wrong\n", c->strategy, c->n,
                (unsigned long long)cnt.assigned, total, (unsigned long long)cnt.decisions);
        exit(2);
    }
}

/* run_batches() in a child process, so that every measurement starts from
 * the same heap (a heap that earlier engines grew and freed would spare a
 * later one its page faults, and rows would depend on their order). */
static void run_isolated(bcase *c, bool explain, size_t batch, int reps, batches *out) {
    build_leads(c, batch * (size_t)reps);
    int fd[2];
    if (pipe(fd) != 0) { perror("pipe"); exit(2); }
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        close(fd[0]);
        batches b;
        memset(&b, 0, sizeof b);
        run_batches(c, explain, batch, reps, &b);
        _exit(write(fd[1], &b, sizeof b) == (ssize_t)sizeof b ? 0 : 2);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], out, sizeof *out);
    close(fd[0]);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
        got != (ssize_t)sizeof *out) {
        fprintf(stderr, "bench_engine: the measurement of %s N=%u failed\n", c->strategy, c->n);
        exit(2);
    }
}

/* A batch size for C that takes about SECONDS, from probes on fresh
 * engines grown until one lasts 50 ms; within [MIN_BATCH, MAX_BATCH],
 * rounded to a thousand. */
static size_t calibrate(bcase *c, bool explain, double seconds) {
    batches b;
    size_t count = MIN_BATCH;
    for (;;) {
        run_isolated(c, explain, count, 1, &b);
        if ((double)count / b.wall[0] >= 0.05 || count >= MAX_BATCH) break;
        count = count * 4 < MAX_BATCH ? count * 4 : MAX_BATCH;
    }
    double want = b.cpu[0] * seconds;
    count = want > MAX_BATCH ? MAX_BATCH : want < MIN_BATCH ? MIN_BATCH : (size_t)want;
    return (count + 999) / 1000 * 1000;
}

/* Measures C (BATCH leads per batch, REPS batches), prints its row and
 * returns the median decisions per CPU second. */
static double measure(bcase *c, bool explain, bool target, size_t batch, int reps) {
    batches m;
    run_isolated(c, explain, batch, reps, &m);
    qsort(m.wall, (size_t)reps, sizeof *m.wall, cmp_double);
    qsort(m.cpu, (size_t)reps, sizeof *m.cpu, cmp_double);
    double med = m.cpu[reps / 2];
    char a[32], b[32], lo[32], hi[32], w[32];
    printf("%-21s %7u  %-5s %-4s %9s %11s %7.0f  %11s..%-11s %11s %7.1f %8.1f%s\n",
           c->strategy, c->n, c->match ? "1%" : "none", explain ? "on" : "off",
           grouped((double)batch, a, sizeof a), grouped(med, b, sizeof b), 1e9 / med,
           grouped(m.cpu[0], lo, sizeof lo), grouped(m.cpu[reps - 1], hi, sizeof hi),
           grouped(m.wall[reps / 2], w, sizeof w), 1000.0 * m.faults / ((double)batch * reps),
           m.warm_ms, target ? "" : "  (not a target)");
    fflush(stdout);
    return med;
}

static const uint32_t sizes[3] = { 10, 1000, 100000 };
#define MID 1                       /* sizes[MID] == 1000: the target size */

/* Medians kept for the verdicts: [strategy][size][match][explain]. */
static double results[NTARGETS][3][2][2];

static const char *verdict(bool ok) { return ok ? "met" : "MISSED"; }

/* The targets, from the medians in results[]. */
static void print_verdicts(void) {
    char a[32], b[32];
    printf("\ntargets (explain off; in process, one core):\n");
    for (size_t si = 0; si < NTARGETS; si++)
        for (int m = 0; m < 2; m++) {
            double mid = results[si][MID][m][0], big = results[si][2][m][0];
            printf("  %-21s match %-4s  1,000 agents: %11s/s >= 1,000,000: %-6s  "
                   "100,000 agents: %11s/s >= 500,000: %-6s (%.2f of 1,000 agents)\n",
                   targets[si], m ? "1%" : "none", grouped(mid, a, sizeof a),
                   verdict(mid >= 1e6), grouped(big, b, sizeof b), verdict(big >= 5e5),
                   big / mid);
        }
}

static int cmd_throughput(int argc, char **argv) {
    bool quick = false, only_targets = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = true;
        else if (strcmp(argv[i], "--targets") == 0) only_targets = true;
        else { fprintf(stderr, "bench_engine throughput: unknown option %s\n", argv[i]); return 2; }
    }
    /* Keep the memory of freed leads mapped: a larger lead set reuses it
     * instead of faulting fresh pages (setup time only; children measure). */
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    double seconds = quick ? 0.05 : RUN_SECONDS;
    size_t fixed = quick ? BATCH / 10 : BATCH;
    int reps = quick ? 3 : REPS;

    printf("In process, one thread. Per row: one engine; one lead per territory routed "
           "first (warm ms,\nnot timed); then %d timed batches of `batch` leads. The engine "
           "keeps every lead, so the\nlast batch runs with %d batches of leads open. "
           "dec/s cpu: median batch, in decisions per\nsecond of this thread's CPU time "
           "(ns/dec from it); min..max: slowest and fastest batch;\ndec/s wall: median batch "
           "by the wall clock; flt/1k: minor page faults per 1,000 decisions in the timed\n"
           "batches. Batch: %zu leads with explanations off for the five target strategies;\n"
           "otherwise calibrated to about %.2f s.\n\n",
           reps, reps - 1, fixed, seconds);
    printf("%-21s %7s  %-5s %-4s %9s %11s %7s  %-24s %11s %7s %8s\n", "strategy", "agents",
           "match", "expl", "batch", "dec/s cpu", "ns/dec", "min..max (cpu)", "dec/s wall",
           "flt/1k", "warm ms");
    for (size_t si = 0; si < (only_targets ? NTARGETS : NTARGETS + NEXTRAS); si++) {
        bool target = si < NTARGETS;
        const char *strategy = target ? targets[si] : extras[si - NTARGETS];
        for (int match = 0; match < 2; match++) {
            for (int ni = 0; ni < 3; ni++) {
                if (!target && ni != MID) continue;
                if (only_targets && ni == 0) continue;     /* the target sizes only */
                size_t len;
                char *text = make_config(strategy, sizes[ni], match, &len);
                bool owner = strcmp(strategy, "owner") == 0;
                bcase c = { strategy, sizes[ni], match != 0, owner,
                            sizes[ni] < 100 ? sizes[ni] : 100, NULL, leadset_for(sizes[ni], owner) };
                c.cfg = load_config(text, len);
                free(text);
                for (int ex = 0; ex < (target && !only_targets ? 2 : 1); ex++) {
                    size_t batch = target && !ex ? fixed : calibrate(&c, ex != 0, seconds);
                    double med = measure(&c, ex != 0, target, batch, reps);
                    if (target) results[si][ni][match][ex] = med;
                }
                lr_config_free((lr_config *)c.cfg);
            }
        }
    }
    leadsets_free();
    print_verdicts();
    return 0;
}

/* One case, for profiling: bench_engine one STRATEGY AGENTS none|1% off|on BATCH
 * (run it under `perf record`). */
static int cmd_one(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: bench_engine one STRATEGY AGENTS none|1%% off|on BATCH\n");
        return 2;
    }
    uint32_t n = (uint32_t)strtoul(argv[1], NULL, 10);
    bool match = strcmp(argv[2], "1%") == 0, explain = strcmp(argv[3], "on") == 0;
    size_t batch = strtoul(argv[4], NULL, 10);
    if (n == 0 || batch == 0) return 2;
    size_t len;
    char *text = make_config(argv[0], n, match, &len);
    bool owner = strcmp(argv[0], "owner") == 0;
    bcase c = { argv[0], n, match, owner, n < 100 ? n : 100, NULL, leadset_for(n, owner) };
    c.cfg = load_config(text, len);
    free(text);
    measure(&c, explain, true, batch, REPS);
    lr_config_free((lr_config *)c.cfg);
    leadsets_free();
    return 0;
}

/* ---- memory --------------------------------------------------------------- */

#define MEM_AGENTS 100000u

/* The memory config: MEM_AGENTS agents shaped like bench_gen's (weight,
 * two territories, two products), one pool, one round_robin rule; in
 * block style, as make_config(). */
static char *memory_config(size_t *len) {
    static const char *const st[10] = { "CA", "NY", "TX", "FL", "WA", "AZ", "NV", "OR", "IL", "GA" };
    static const char *const pr[4] = { "purchase", "refinance", "heloc", "jumbo" };
    lr_buf b = LR_BUF_INIT;
    put(lr_buf_puts(&b, "agents:\n"));
    for (uint32_t i = 0; i < MEM_AGENTS; i++) {
        uint32_t t2 = (i / 10) % 10 == i % 10 ? (i + 1) % 10 : (i / 10) % 10;
        put(lr_buf_printf(&b, "  - id: a%06u\n    weight: %u\n    attributes:\n"
                              "      territories:\n        - %s\n        - %s\n"
                              "      products:\n        - %s\n        - %s\n",
                          i, 1 + i % 5, st[i % 10], st[t2], pr[i % 4], pr[(i + 1) % 4]));
    }
    put(lr_buf_puts(&b, "pools:\n  all: ["));
    for (uint32_t i = 0; i < MEM_AGENTS; i++) put(lr_buf_printf(&b, "%sa%06u", i ? ", " : "", i));
    put(lr_buf_puts(&b, "]\nrules:\n  - name: all\n    pool: all\n    strategy: round_robin\n"));
    return lr_buf_detach(&b, len);
}

/* Applies the JSONL lead in LINE; counts into CNT. */
static void apply_line(lr_engine *eng, const char *line, size_t len, counter *cnt) {
    lr_event ev;
    char err[256];
    int rc = lr_event_parse(line, len, &ev, err, sizeof err);
    if (rc != LR_OK) { fprintf(stderr, "bench_engine: bad lead line: %s\n", err); exit(2); }
    rc = lr_engine_apply(eng, &ev, count_decision, cnt);
    lr_event_release(&ev);
    if (rc != LR_OK) die("lr_engine_apply", rc);
}

static int cmd_memory(int argc, char **argv) {
    if (argc != 1) { fprintf(stderr, "usage: bench_engine memory LEADS.jsonl\n"); return 2; }
    FILE *in = fopen(argv[0], "r");
    if (!in) { perror(argv[0]); return 2; }
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    char a[32], b[32];

    double rss0 = rss_now(), heap0 = heap_in_use();
    size_t tlen;
    char *text = memory_config(&tlen);
    lr_config *cfg = load_config(text, tlen);
    free(text);                     /* the load gave its parse's peak back itself (trim.h) */
    double rss1 = rss_now(), heap1 = heap_in_use();
    lr_engine_opts opts = { 42, T0, false };
    lr_engine *eng;
    int rc = lr_engine_create(cfg, &opts, &eng);
    if (rc != LR_OK) die("lr_engine_create", rc);
    counter cnt = { 0, 0 };
    if ((len = getline(&line, &linecap, in)) <= 0) { fprintf(stderr, "empty leads file\n"); return 2; }
    apply_line(eng, line, (size_t)len, &cnt);   /* the first lead builds the segment */
    double rss2 = rss_now(), heap2 = heap_in_use();

    double t0 = now_s();
    while ((len = getline(&line, &linecap, in)) > 0) apply_line(eng, line, (size_t)len, &cnt);
    double dt = now_s() - t0;
    double rss3 = rss_now(), heap3 = heap_in_use(), peak = rss_peak();
    lr_engine_stats st;
    lr_engine_get_stats(eng, &st);
    free(line);
    fclose(in);

    double per_agent_rss = (rss2 - rss0) / MEM_AGENTS, per_agent_heap = (heap2 - heap0) / MEM_AGENTS;
    double per_lead = (heap3 - heap2) / (double)(st.leads ? st.leads - 1 : 1);
    bool hk = heap_known();
    printf("%s agents, one pool, round_robin; leads from %s, none closed; malloc: %s\n",
           grouped(MEM_AGENTS, a, sizeof a), argv[0], hk ? "glibc" : "tcmalloc (heap not known)");
    printf("  config loaded:           RSS +%8.1f MiB   heap +%8.1f MiB\n",
           mib(rss1 - rss0), hk ? mib(heap1 - heap0) : 0.0);
    printf("  + engine + first lead:   RSS +%8.1f MiB   heap +%8.1f MiB\n",
           mib(rss2 - rss0), hk ? mib(heap2 - heap0) : 0.0);
    printf("  per agent (config + engine + segment): %.0f bytes RSS, %.0f bytes heap "
           "(target <= 1,024): %s\n", per_agent_rss, hk ? per_agent_heap : 0.0,
           verdict(per_agent_rss <= 1024 && (!hk || per_agent_heap <= 1024)));
    printf("  %s leads routed (%s assigned, %s open) in %.2f s (parse + route, in process)\n",
           grouped((double)st.leads, a, sizeof a), grouped((double)cnt.assigned, b, sizeof b),
           grouped((double)st.open, a, sizeof a), dt);
    if (hk) printf("  per open lead: %.0f bytes heap\n", per_lead);
    printf("  RSS now %.1f MiB, peak RSS %.1f MiB (target <= 1,024 MiB): %s\n", mib(rss3),
           mib(peak), verdict(peak <= 1024.0 * 1024 * 1024));
    lr_engine_destroy(eng);
    lr_config_free(cfg);
    return st.open == st.leads ? 0 : 2;
}

/* ---- end to end ----------------------------------------------------------- */

/* Runs ARGV with stdout on /dev/null; gives its wall seconds, CPU seconds
 * (user + system) and peak RSS in bytes; exits when it fails. */
static void exec_once(char **argv, double *wall, double *cpu, double *maxrss) {
    fflush(stdout);
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); exit(2); }
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0) _exit(127);
        execv(argv[0], argv);
        perror(argv[0]);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) { perror("wait4"); exit(2); }
    *wall = now_s() - t0;
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
    *maxrss = (double)ru.ru_maxrss * 1024.0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_engine: %s failed (status %d)\n", argv[0], status);
        exit(2);
    }
}

static int cmd_exec(int argc, char **argv) {
    if (argc < 5 || strcmp(argv[3], "--") != 0) {
        fprintf(stderr, "usage: bench_engine exec RUNS NLEADS MIN_RATE -- CMD [ARG...]\n");
        return 2;
    }
    int runs = atoi(argv[0]);
    double nleads = atof(argv[1]), min_rate = atof(argv[2]);
    if (runs < 1 || runs > 15 || nleads <= 0) return 2;
    double walls[15], cpus[15], peak = 0;
    char a[32], b[32], m[32];
    for (int r = 0; r < runs; r++) {
        double rss;
        exec_once(argv + 4, &walls[r], &cpus[r], &rss);
        if (rss > peak) peak = rss;
        printf("    run %d: %6.2f s wall %11s leads/s; %6.2f s CPU %11s leads/s; peak RSS %7.1f MiB\n",
               r + 1, walls[r], grouped(nleads / walls[r], a, sizeof a), cpus[r],
               grouped(nleads / cpus[r], b, sizeof b), mib(rss));
        fflush(stdout);
    }
    qsort(walls, (size_t)runs, sizeof *walls, cmp_double);
    qsort(cpus, (size_t)runs, sizeof *cpus, cmp_double);
    double w = nleads / walls[runs / 2], c = nleads / cpus[runs / 2];
    grouped(min_rate, m, sizeof m);
    printf("  median of %d: %s leads/s by the wall clock (>= %s: %s), %s leads/s of CPU time "
           "(>= %s: %s); peak RSS %.1f MiB\n", runs, grouped(w, a, sizeof a), m,
           verdict(w >= min_rate), grouped(c, b, sizeof b), m, verdict(c >= min_rate), mib(peak));
    return 0;
}

/* ---- the machine ---------------------------------------------------------- */

/* How fast this shared machine is right now: a fixed integer loop and the
 * cost of a first-touch page fault, printed before and after a run so two
 * runs can be compared. */
static int cmd_probe(void) {
    uint64_t x = 88172645463325252ull;
    double c0 = cpu_s(), t0 = now_s();
    for (int i = 0; i < 100000000; i++) x = xs_next(&x) ^ (uint64_t)i;
    double loop_cpu = cpu_s() - c0, loop_wall = now_s() - t0;
    size_t len = 64u << 20;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 2; }
    long f0 = minor_faults();
    t0 = now_s();
    for (size_t i = 0; i < len; i += 4096) p[i] = 1;
    double fault_s = now_s() - t0;
    long faults = minor_faults() - f0;
    munmap(p, len);
    printf("probe: 10^8-step xorshift loop %.3f s CPU (%.3f s wall); first touch of 64 MiB: "
           "%ld page faults, %.1f us each (checksum %llu)\n", loop_cpu, loop_wall, faults,
           faults ? fault_s * 1e6 / (double)faults : 0.0, (unsigned long long)(x & 0xff));
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "throughput") == 0) return cmd_throughput(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "one") == 0) return cmd_one(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "memory") == 0) return cmd_memory(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "exec") == 0) return cmd_exec(argc - 2, argv + 2);
    if (argc == 2 && strcmp(argv[1], "probe") == 0) return cmd_probe();
    fprintf(stderr, "usage: bench_engine throughput [--quick] [--targets] | memory LEADS.jsonl | probe |\n"
                    "       exec RUNS NLEADS MIN_RATE -- CMD [ARG...] |\n"
                    "       one STRATEGY AGENTS none|1%% off|on BATCH\n");
    return 2;
}
