/* bench_map.c -- the longest a put into the engine's hash map (core/map.h)
 * holds its thread as the map grows: the lead index of a store that keeps
 * every lead. Puts N keys named as make bench-server's leads ("m64r1t0-N"),
 * each put timed, and prints the slowest put, the slowest run of 100 and
 * of 1,000 puts in a row (a growth's work spread over puts still holds the
 * writer if it comes all at once), the puts over 1 ms, and the total.
 *
 *   build/rel/bench/bench_map [N]      (default 3,000,000; 3 runs)
 *
 * A program, not a test: the figures go to docs/benchmarks.md ("The lead
 * index's growth"). */
#include "core/map.h"
#include "leadrouter/error.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The slowest sum of W consecutive values of D[0..n), and where it ends. */
static double worst_run(const double *d, size_t n, size_t w, size_t *end) {
    double sum = 0, best = 0;
    for (size_t i = 0; i < n; i++) {
        sum += d[i];
        if (i >= w) sum -= d[i - w];
        if (sum > best) {
            best = sum;
            *end = i;
        }
    }
    return best;
}

int main(int argc, char **argv) {
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 3000000;
    if (n == 0 || sodium_init() < 0) {
        fprintf(stderr, "usage: bench_map [N > 0]\n");
        return 2;
    }
    char (*keys)[32] = malloc(n * sizeof *keys);
    double *d = malloc(n * sizeof *d);
    if (!keys || !d) return 1;
    for (size_t i = 0; i < n; i++) snprintf(keys[i], sizeof keys[i], "m64r1t0-%zu", i);
    printf("%zu puts into an empty map, each timed (ms):\n", n);
    printf("run | total | slowest put (at) | slowest 100 in a row | slowest 1,000 in a row | puts over 1 ms\n");
    for (int run = 1; run <= 3; run++) {
        lr_map m;
        if (lr_map_init(&m, 0) != LR_OK) return 1;
        double t0 = now_s(), worst = 0;
        size_t at = 0, over = 0;
        for (size_t i = 0; i < n; i++) {
            double a = now_s();
            if (lr_map_put(&m, keys[i], strlen(keys[i]), keys[i]) != LR_OK) return 1;
            d[i] = now_s() - a;
            over += d[i] > 0.001;
            if (d[i] > worst) {
                worst = d[i];
                at = i + 1;
            }
        }
        double total = now_s() - t0;
        size_t e100 = 0, e1000 = 0;
        double w100 = worst_run(d, n, 100, &e100), w1000 = worst_run(d, n, 1000, &e1000);
        printf("%d | %.0f | %.1f (%zu) | %.1f | %.1f | %zu\n", run, total * 1e3, worst * 1e3, at,
               w100 * 1e3, w1000 * 1e3, over);
        lr_map_release(&m);
    }
    free(keys);
    free(d);
    return 0;
}
