/* bench_engine.c -- the engine benchmark behind `make bench-engine`.
 *
 *   bench_engine throughput [--quick]
 *       decisions/second of lr_engine_apply() in process, per strategy, for
 *       pools of 10, 1,000 and 100,000 agents, without and with a `match`
 *       that leaves 1% of the pool eligible, explanations off and on.
 *   bench_engine memory LEADS.jsonl
 *       bytes per agent with 100,000 agents, then RSS with every lead of
 *       LEADS.jsonl routed and left open (no closes).
 *   bench_engine exec RUNS NLEADS MIN_RATE -- CMD [ARG...]
 *       runs CMD RUNS times with stdout on /dev/null; wall time and peak
 *       RSS of each run from wait4(); median leads/s against MIN_RATE.
 *
 * How throughput is measured (docs/benchmarks.md says the same):
 * - The config is a YAML string built here and loaded with
 *   lr_config_load_string(): N agents a0..aN-1 with weights 1..5, capacity
 *   1,000,000 (never reached in a run, so every agent stays eligible and
 *   the capacity arithmetic of least_busy / most_available is exercised),
 *   attributes {territories: [T<i mod 100>]}, one pool of all of them, one
 *   rule with the strategy, and for the 1% case `match: {territories:
 *   state}`. A lead's state is T<k>, k drawn from a fixed-seed xorshift over
 *   min(N, 100) territories, so a match leaves N/100 agents eligible (1 of
 *   10 at N = 10, where 1% cannot be).
 * - Lead events are built before the clock starts; only the loop of
 *   lr_engine_apply() calls is timed (CLOCK_MONOTONIC). The decision
 *   callback counts and checks that every lead was assigned.
 * - Each repetition uses a fresh engine. Before the clock starts one lead
 *   per territory is routed, so the segments (the per-match indexes, whose
 *   one-time build scans the pool) exist; their build time is printed as
 *   "warm ms" and is not in the rate.
 * - Leads per run: calibrated so a run takes about 0.25 s (at least 0.2 s
 *   unless the 1,000,000-lead ceiling is hit), 5 runs, median reported.
 *
 * Not library code: prints, exits.
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

#define REPS 5
#define RUN_SECONDS 0.25
#define MAX_LEADS 1000000u
#define MIN_LEADS 2000u
#define T0 1793577600000LL          /* 2026-11-02T00:00:00Z */
#define CAPACITY 1000000            /* never reached: agents stay eligible */

static const char *const targets[] = { "round_robin", "weighted_round_robin", "least_busy",
                                       "longest_idle", "most_available" };
static const char *const extras[] = { "random", "weighted_random", "top_down",
                                      "fewest_assigned", "top_producer", "owner" };
#define NTARGETS (sizeof targets / sizeof targets[0])
#define NEXTRAS (sizeof extras / sizeof extras[0])

/* ---- small helpers ------------------------------------------------------ */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

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

/* Bytes the allocator has handed out and not been given back. */
static double heap_in_use(void) {
    struct mallinfo2 mi = mallinfo2();
    return (double)mi.uordblks + (double)mi.hblkhd;
}

static double mib(double bytes) { return bytes / (1024.0 * 1024.0); }

/* ---- configs and leads ---------------------------------------------------- */

static void put(lr_buf *b, int rc) { if (rc != LR_OK) die("building the config", rc); }

/* The YAML of the throughput configs (see the top of the file). */
static char *make_config(const char *strategy, uint32_t n, bool match, size_t *len) {
    lr_buf b = LR_BUF_INIT;
    put(&b, lr_buf_puts(&b, "agents:\n"));
    for (uint32_t i = 0; i < n; i++)
        put(&b, lr_buf_printf(&b, "  - {id: a%u, weight: %u, capacity: %d, "
                                  "attributes: {territories: [T%u]}}\n",
                              i, 1 + i % 5, CAPACITY, i % 100));
    put(&b, lr_buf_puts(&b, "pools:\n  p: ["));
    for (uint32_t i = 0; i < n; i++) put(&b, lr_buf_printf(&b, "%sa%u", i ? ", " : "", i));
    put(&b, lr_buf_puts(&b, "]\n"));
    if (strcmp(strategy, "owner") == 0) {   /* one account per agent: d<i>.example */
        put(&b, lr_buf_puts(&b, "accounts:\n"));
        for (uint32_t i = 0; i < n; i++)
            put(&b, lr_buf_printf(&b, "  - {id: c%u, domains: [d%u.example], owner: a%u}\n",
                                  i, i, i));
    }
    put(&b, lr_buf_printf(&b, "rules:\n  - name: r\n    pool: p\n    strategy: %s\n", strategy));
    if (match) put(&b, lr_buf_puts(&b, "    match: {territories: state}\n"));
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

/* Fills EV with a lead event (the lead is owned by EV until applied). */
static void make_lead(lr_event *ev, const char *id, uint32_t state, double score,
                      lr_time at, const char *email) {
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
    memset(ev, 0, sizeof *ev);
    ev->type = LR_EV_LEAD;
    ev->at = LR_TIME_NONE;
    ev->lead = l;
}

/* One benchmark case: a strategy on a config, and its workload. */
typedef struct bcase {
    const char *strategy;
    uint32_t n;                     /* agents */
    bool match;
    bool owner;                     /* leads carry an account's email domain */
    uint32_t nstates;               /* territories leads are drawn from */
    const lr_config *cfg;
    lr_event *ev;                   /* built leads, up to evcap */
    size_t evcap;
} bcase;

/* Builds COUNT leads numbered from FIRST with a fixed seed. */
static void build_leads(bcase *c, size_t count) {
    if (count > c->evcap) {
        free(c->ev);
        c->ev = xmalloc(count * sizeof *c->ev);
        c->evcap = count;
    }
    uint64_t seed = 0x5DEECE66Dull ^ c->n;
    char id[32], email[64];
    for (size_t i = 0; i < count; i++) {
        uint64_t r = xs_next(&seed);
        uint32_t state = (uint32_t)((r >> 32) % c->nstates);
        const char *em = NULL;
        if (c->owner) {
            uint32_t j = (uint32_t)((r >> 32) % c->n);
            state = j % c->nstates;
            snprintf(email, sizeof email, "u%zu@d%u.example", i, j);
            em = email;
        }
        snprintf(id, sizeof id, "L%zu", i);
        make_lead(&c->ev[i], id, state, (double)(1 + (r & 0xffff) % 100),
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

/* One timed run over COUNT fresh leads: returns decisions per second and
 * the warm-up (segment build) time in *warm_ms. */
static double run_once(bcase *c, bool explain, size_t count, double *warm_ms) {
    build_leads(c, count);
    lr_engine_opts opts = { 42, T0, explain };
    lr_engine *eng;
    int rc = lr_engine_create(c->cfg, &opts, &eng);
    if (rc != LR_OK) die("lr_engine_create", rc);

    /* One lead per territory first, so every segment exists. */
    counter warm = { 0, 0 };
    double w0 = now_s();
    for (uint32_t k = 0; k < (c->match ? c->nstates : 1); k++) {
        lr_event ev;
        char id[32], email[64];
        snprintf(id, sizeof id, "W%u", k);
        snprintf(email, sizeof email, "w%u@d%u.example", k, k);
        make_lead(&ev, id, k, 50, T0 + k, c->owner ? email : NULL);
        if ((rc = lr_engine_apply(eng, &ev, count_decision, &warm)) != LR_OK)
            die("lr_engine_apply", rc);
    }
    *warm_ms = (now_s() - w0) * 1e3;

    counter cnt = { 0, 0 };
    double t0 = now_s();
    for (size_t i = 0; i < count; i++)
        if ((rc = lr_engine_apply(eng, &c->ev[i], count_decision, &cnt)) != LR_OK)
            die("lr_engine_apply", rc);
    double dt = now_s() - t0;
    lr_engine_destroy(eng);
    if (cnt.assigned != count || cnt.decisions != count) {
        fprintf(stderr, "bench_engine: %s N=%u: %llu of %zu leads assigned (%llu decisions): "
                "the workload is wrong\n", c->strategy, c->n,
                (unsigned long long)cnt.assigned, count, (unsigned long long)cnt.decisions);
        exit(2);
    }
    return (double)count / dt;
}

/* Calibrates the leads per run, then takes the median of REPS runs. */
static double measure(bcase *c, bool explain, bool target, double seconds, int reps) {
    double warm = 0, rate = 0;
    size_t count = MIN_LEADS;
    for (;;) {                      /* grow until a run takes >= 50 ms */
        double t0 = now_s();
        rate = run_once(c, explain, count, &warm);
        if (now_s() - t0 >= 0.05 || count >= MAX_LEADS) break;
        count = count * 4 < MAX_LEADS ? count * 4 : MAX_LEADS;
    }
    double want = rate * seconds;
    count = want > MAX_LEADS ? MAX_LEADS : want < MIN_LEADS ? MIN_LEADS : (size_t)want;
    count = (count + 999) / 1000 * 1000;

    double rates[REPS], warms[REPS];
    for (int r = 0; r < reps; r++) rates[r] = run_once(c, explain, count, &warms[r]);
    qsort(rates, (size_t)reps, sizeof *rates, cmp_double);
    qsort(warms, (size_t)reps, sizeof *warms, cmp_double);
    double med = rates[reps / 2];
    char a[32], b[32], lo[32], hi[32];
    printf("%-21s %7u  %-5s %-4s %9s %13s %8.0f  %11s..%-11s %8.1f%s\n", c->strategy, c->n,
           c->match ? "1%" : "none", explain ? "on" : "off", grouped((double)count, a, sizeof a),
           grouped(med, b, sizeof b), 1e9 / med, grouped(rates[0], lo, sizeof lo),
           grouped(rates[reps - 1], hi, sizeof hi), warms[reps / 2],
           target ? "" : "  (not a target)");
    fflush(stdout);
    return med;
}

/* Medians kept for the verdicts: [strategy][size][match][explain]. */
static double results[NTARGETS][3][2][2];

static int cmd_throughput(int argc, char **argv) {
    bool quick = argc > 0 && strcmp(argv[0], "--quick") == 0;
    double seconds = quick ? 0.05 : RUN_SECONDS;
    int reps = quick ? 3 : REPS;
    static const uint32_t sizes[3] = { 10, 1000, 100000 };

    printf("%-21s %7s  %-5s %-4s %9s %13s %8s  %-24s %8s\n", "strategy", "agents", "match",
           "expl", "leads/run", "decisions/s", "ns/dec", "min..max of runs", "warm ms");
    for (size_t si = 0; si < NTARGETS + NEXTRAS; si++) {
        bool target = si < NTARGETS;
        const char *strategy = target ? targets[si] : extras[si - NTARGETS];
        for (int ni = 0; ni < 3; ni++) {
            if (!target && sizes[ni] != 1000) continue;
            for (int match = 0; match < 2; match++) {
                size_t len;
                char *text = make_config(strategy, sizes[ni], match, &len);
                bcase c = { strategy, sizes[ni], match != 0, strcmp(strategy, "owner") == 0,
                            sizes[ni] < 100 ? sizes[ni] : 100, NULL, NULL, 0 };
                c.cfg = load_config(text, len);
                free(text);
                for (int ex = 0; ex < (target ? 2 : 1); ex++) {
                    double med = measure(&c, ex != 0, target, seconds, reps);
                    if (target) results[si][ni][match][ex] = med;
                }
                lr_config_free((lr_config *)c.cfg);
                free(c.ev);
            }
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "throughput") == 0) return cmd_throughput(argc - 2, argv + 2);
    fprintf(stderr, "usage: bench_engine throughput [--quick] | memory LEADS.jsonl | "
                    "exec RUNS NLEADS MIN_RATE -- CMD [ARG...]\n");
    return 2;
}
