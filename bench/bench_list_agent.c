/* bench_list_agent.c -- GET /v1/leads?agent= (and ?source=) on a large
 * store: what a page of one agent's leads costs, for the agents a router
 * makes, and a page of a source's.
 *
 *   build/rel/bench/bench_list_agent [LEADS] [FILE]
 *                                  (default 400,000 leads in a temp file)
 *
 * Builds a store of LEADS leads (600-byte bodies, one event per lead, one
 * in two seqs a lead as when every lead has a progress event), given
 * round robin to 200 agents, with three more agents:
 *   sparse  one lead in every 4,096 seqs (a part-timer, a specialist);
 *   moved   as many leads, each moved to a round-robin agent soon after
 *           (a rep who left: every listing page of theirs is empty);
 *   late    its leads moved to it long after they arrived (reassigned
 *           from a rep who left).
 * Every lead's source is "web" but one in every 4,096 seqs, "fair" (a
 * rare source: a trade fair's list).
 * Then times the first 50-lead page and a walk of every page, for each
 * kind, on a store closed and opened again (nothing in memory), medians
 * of 5. A program, not a test: the figures go to docs/benchmarks.md. */
#include "leadrouter/buf.h"
#include "leadrouter/error.h"
#include "leadrouter/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void die(const char *what, int rc, lr_store *s) {
    fprintf(stderr, "bench_list_agent: %s: %s (%s)\n", what, lr_strerror(rc),
            s ? lr_store_errmsg(s) : "");
    exit(1);
}

static const unsigned char *hash_of(long n) {
    static unsigned char h[32];
    memset(h, 0, sizeof h);
    memcpy(h, &n, sizeof n);
    return h;
}

static void build(const char *path, long leads) {
    char err[256];
    lr_store *s = NULL;
    int rc = lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err);
    if (rc) { fprintf(stderr, "bench_list_agent: %s\n", err); exit(1); }
    char body[640];
    memset(body, 'x', sizeof body);
    body[0] = '{', body[1] = '"', body[2] = 'x', body[3] = '"', body[4] = ':', body[5] = '"';
    body[598] = '"', body[599] = '}', body[600] = 0;
    char id[32], agent[16];
    for (long i = 0; i < leads; i++) {
        if (i % 1000 == 0 && (rc = lr_store_begin(s))) die("begin", rc, s);
        int64_t seq = 2 * i + 1;
        snprintf(id, sizeof id, "L%07ld", i);
        const char *a = agent;
        if (i % 2048 == 7) a = "sparse";
        else if (i % 2048 == 9) a = "moved";
        else snprintf(agent, sizeof agent, "a%03ld", i % 200);
        if ((rc = lr_store_append_event(s, seq, 0, "lead", id, "{}", 2))) die("append", rc, s);
        const char *src = i % 2048 == 13 ? "fair" : "web";
        if ((rc = lr_store_add_lead(s, id, src, 0, body, 600, hash_of(i), "assigned", a)))
            die("add_lead", rc, s);
        if (i % 2048 == 9 + 40) {       /* the moved agent's lead of 40 leads ago */
            snprintf(id, sizeof id, "L%07ld", i - 40);
            if ((rc = lr_store_set_lead_state(s, id, "assigned", "a000"))) die("move", rc, s);
        }
        if (i % 1000 == 999 && (rc = lr_store_commit(s))) die("commit", rc, s);
    }
    if (leads % 1000 && (rc = lr_store_commit(s))) die("commit", rc, s);
    /* late: every 2,048th lead of the first half, moved at the end */
    if ((rc = lr_store_begin(s))) die("begin", rc, s);
    for (long i = 11; i < leads / 2; i += 2048) {
        snprintf(id, sizeof id, "L%07ld", i);
        if ((rc = lr_store_set_lead_state(s, id, "assigned", "late"))) die("late", rc, s);
    }
    if ((rc = lr_store_commit(s))) die("commit", rc, s);
    lr_store_close(s);
}

/* Times the first page and the walk of all pages of AGENT or SOURCE:
 * medians of 5, each on a freshly opened store. *N gets the leads walked. */
static void measure(const char *path, const char *agent, const char *source, double *first,
                    double *walk, long *n, long *pages) {
    double f[5], w[5];
    for (int r = 0; r < 5; r++) {
        char err[256], cur[32] = "";
        lr_store *s = NULL;
        int rc = lr_store_open(path, LR_SYNC_OFF, &s, err, sizeof err);
        if (rc) { fprintf(stderr, "bench_list_agent: %s\n", err); exit(1); }
        lr_buf b = LR_BUF_INIT;
        *n = 0, *pages = 0;
        double t0 = now_ms();
        for (;;) {
            lr_lead_query q = { .agent = agent, .source = source, .since = LR_TIME_NONE, .until = LR_TIME_NONE, .limit = 50,
                                .cursor = cur[0] ? cur : NULL };
            b.len = 0;
            if ((rc = lr_store_list_leads(s, &q, &b))) die("list", rc, s);
            if (*pages == 0) f[r] = now_ms() - t0;
            ++*pages;
            for (const char *p = b.data; (p = strstr(p, "{\"id\":")); p++) ++*n;
            const char *c = strstr(b.data, "\"next_cursor\":\"");
            if (!c) break;
            c += 15;
            size_t k = strcspn(c, "\"");
            if (k >= sizeof cur) die("cursor", LR_EINVAL, s);
            memcpy(cur, c, k);
            cur[k] = 0;
        }
        w[r] = now_ms() - t0;
        lr_buf_release(&b);
        lr_store_close(s);
    }
    qsort(f, 5, sizeof f[0], cmp_d);
    qsort(w, 5, sizeof w[0], cmp_d);
    *first = f[2], *walk = w[2];
}

int main(int argc, char **argv) {
    long leads = argc > 1 ? atol(argv[1]) : 400000;
    char path[64] = "/tmp/bench_list_agent_XXXXXX";
    const char *file = argc > 2 ? argv[2] : NULL;
    if (leads < 4096) { fprintf(stderr, "usage: bench_list_agent [LEADS >= 4096] [FILE]\n"); return 2; }
    if (!file) {
        int fd = mkstemp(path);
        if (fd < 0) { perror("mkstemp"); return 1; }
        close(fd);
        file = path;
    }
    double t0 = now_ms();
    build(file, leads);
    printf("store: %ld leads in %.1f s (%s)\n", leads, (now_ms() - t0) / 1e3, file);
    static const char *const who[][2] = { { "a017", NULL }, { "sparse", NULL }, { "moved", NULL },
                                          { "late", NULL }, { NULL, "web" }, { NULL, "fair" } };
    printf("%-14s %8s %6s %14s %12s\n", "listing", "leads", "pages", "first_page_ms",
           "all_pages_ms");
    for (size_t i = 0; i < sizeof who / sizeof who[0]; i++) {
        double f, w;
        long n, pages;
        char name[32];
        snprintf(name, sizeof name, "%s=%s", who[i][0] ? "agent" : "source",
                 who[i][0] ? who[i][0] : who[i][1]);
        measure(file, who[i][0], who[i][1], &f, &w, &n, &pages);
        printf("%-14s %8ld %6ld %14.2f %12.1f\n", name, n, pages, f, w);
    }
    if (file == path) {
        char p[80];
        unlink(path);
        snprintf(p, sizeof p, "%s-wal", path);
        unlink(p);
        snprintf(p, sizeof p, "%s-shm", path);
        unlink(p);
    }
    return 0;
}
