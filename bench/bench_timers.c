/* bench_timers.c -- deadlines at scale: the timer heap with up to
 * 10,000,000 pending deadlines (push and fire cost per timer against the
 * heap's size), and the engine's decisions/s with every lead carrying two
 * deadlines (an SLA and a recycle) against the same run without them.
 *
 *   build/rel/bench/bench_timers [LEADS]      (default 1,000,000)
 *
 * Prints medians of 3 runs. A program, not a test: the figures go to
 * docs/benchmarks.md. */
#include "core/timers.h"
#include "leadrouter/config.h"
#include "leadrouter/engine.h"
#include "leadrouter/error.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ULL;
static uint64_t xs(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median3(double a, double b, double c) {
    double v[3] = { a, b, c };
    qsort(v, 3, sizeof v[0], cmp_d);
    return v[1];
}

/* Fills a heap with N timers at random times within a day, then measures
 * pushing and firing 1,000,000 more at that size. ns per push, per pop. */
static void heap_at(size_t n, double *push_ns, double *pop_ns) {
    lr_timers t;
    lr_timers_init(&t);
    for (size_t i = 0; i < n; i++)
        lr_timers_push(&t, (lr_time)(xs() % 86400000) + 86400000, LR_TIMER_SLA, (uint32_t)i, 0);
    const size_t k = 1000000;
    double t0 = now_s();
    for (size_t i = 0; i < k; i++)
        lr_timers_push(&t, (lr_time)(xs() % 86400000), LR_TIMER_SLA, (uint32_t)i, 0);
    double t1 = now_s();
    lr_timer out;
    size_t fired = 0;
    while (fired < k && lr_timers_pop_due(&t, 86400000, &out)) fired++;
    double t2 = now_s();
    *push_ns = (t1 - t0) / (double)k * 1e9;
    *pop_ns = (t2 - t1) / (double)fired * 1e9;
    lr_timers_release(&t);
}

static int count(const lr_decision *d, void *ud) { (*(size_t *)ud)++; (void)d; return 0; }

/* decisions/s routing LEADS leads over 1,000 agents, with or without two
 * deadlines per lead. */
static double engine_run(size_t leads, bool deadlines) {
    lr_buf y = LR_BUF_INIT;
    lr_buf_puts(&y, "agents:\n");
    for (int i = 0; i < 1000; i++) lr_buf_printf(&y, "  - {id: a%d}\n", i);
    lr_buf_puts(&y, "pools:\n  all: [");
    for (int i = 0; i < 1000; i++) lr_buf_printf(&y, "%sa%d", i ? ", " : "", i);
    lr_buf_puts(&y, "]\nrules:\n  - {name: r, pool: all, strategy: round_robin");
    if (deadlines) lr_buf_puts(&y, ", sla: {contact_within: 30d}, recycle: {after: 3650d}");
    lr_buf_puts(&y, "}\n");
    lr_config *cfg = NULL;
    lr_config_errors errs = { 0 };
    if (lr_config_load_string(y.data, y.len, "bench", &cfg, &errs) != LR_OK) {
        for (size_t i = 0; i < errs.n; i++) fprintf(stderr, "%s\n", errs.msgs[i]);
        exit(2);
    }
    lr_config_errors_release(&errs);
    lr_buf_release(&y);
    lr_engine_opts o = { 1, 1767225600000LL, false };
    lr_engine *eng;
    if (lr_engine_create(cfg, &o, &eng) != LR_OK) exit(2);
    lr_event *evs = calloc(leads, sizeof *evs);
    for (size_t i = 0; i < leads; i++) {
        lr_lead *l = calloc(1, sizeof *l);
        char id[24];
        snprintf(id, sizeof id, "L%zu", i);
        l->str[LR_LF_ID] = strdup(id);
        l->received_at = LR_TIME_NONE;
        evs[i].type = LR_EV_LEAD;
        evs[i].at = LR_TIME_NONE;
        evs[i].lead = l;
    }
    size_t n = 0;
    double t0 = now_s();
    for (size_t i = 0; i < leads; i++) lr_engine_apply(eng, &evs[i], count, &n);
    double t1 = now_s();
    lr_engine_destroy(eng);
    lr_config_free(cfg);
    free(evs);
    return (double)leads / (t1 - t0);
}

int main(int argc, char **argv) {
    size_t leads = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
    printf("timer heap: cost per timer at a given number of pending deadlines (median of 3)\n");
    printf("%12s %12s %12s\n", "pending", "push ns", "fire ns");
    size_t sizes[] = { 1000, 1000000, 10000000 };
    for (int s = 0; s < 3; s++) {
        double p[3], f[3];
        for (int r = 0; r < 3; r++) heap_at(sizes[s], &p[r], &f[r]);
        printf("%12zu %12.0f %12.0f\n", sizes[s], median3(p[0], p[1], p[2]), median3(f[0], f[1], f[2]));
    }
    printf("\nengine, %zu leads, 1,000 agents, round_robin (median of 3)\n", leads);
    double a[3], b[3];
    for (int r = 0; r < 3; r++) { a[r] = engine_run(leads, false); b[r] = engine_run(leads, true); }
    double ma = median3(a[0], a[1], a[2]), mb = median3(b[0], b[1], b[2]);
    printf("%-40s %12.0f decisions/s\n", "no deadlines", ma);
    printf("%-40s %12.0f decisions/s\n", "two deadlines per lead (SLA, recycle)", mb);
    printf("%-40s %12.2f\n", "ratio with/without", mb / ma);
    printf("(%zu deadlines pending at the end of the second run)\n", 2 * leads);
    return 0;
}
