/* bench_workload.c -- the workload of the side-by-side benchmark (`make
 * bench`): one config and one event stream, written once for leadrouter
 * (YAML + JSONL) and once for the do-it-yourself SQL peers (CSV).
 *
 *   bench_workload [--agents N] [--leads M] [--seed S] [--per-day D]
 *                  [--close P] OUTDIR
 *
 * Writes into OUTDIR (which must exist):
 *   config.yaml      N agents a0000.. (weight 1-5, capacity 20-50, a day
 *                    cap; trainees less, see below; territories: 2-4 US states, products: 2 of 5), one
 *                    pool `field` of all of them, one rule: round_robin
 *                    matched on territories = state, fallback: queue
 *   leads.jsonl      M leads (id, received_at, source, product, state,
 *                    score) with progress events (won / lost) between them
 *   agents.csv       idx,id,capacity,day_cap        (idx = pool order)
 *   territories.csv  state,agent                    (state index 0-49)
 *   events.csv       seq,kind,lead,state,day,status (the same stream:
 *                    kind 0 lead / 1 progress; lead = the number in the
 *                    lead's id; day = UTC days since 1970 of the event's
 *                    time; status 1 won / 2 lost on progress, else 0)
 * and prints one summary line on stdout.
 *
 * The output is a pure function of the options: a seeded xorshift
 * generator, no clock, no environment.
 *
 * Shape of the stream. Lead states are drawn by population (CA, TX, FL...
 * get most leads); every state is some agent's territory (agent i holds
 * state i mod 50, plus 1-3 more drawn by population), so each state has
 * several agents. Leads arrive D a day on average (default 25,000: the
 * default stream spans 9 calendar days, so day caps reset and bind); received_at
 * increases by 1..2*86400000/D ms per lead. A lead is closed (won 1 in 4,
 * else lost) with probability P (default 0.99) by a progress event 200 to
 * 4,000 leads later, so capacity frees up; the few never closed use
 * capacity up for good, as real stale leads do. An agent's day cap is its
 * expected daily share of its states' leads times 1.0-1.6, so busy days
 * hit some caps. Every tenth agent is a trainee (capacity 2-5, day cap
 * 3-8): those limits bind within the first minutes of the stream, so even
 * a short run of a slow system meets them (and its validity check means
 * something).
 *
 * Not library code: prints, exits.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSTATES 50
#define T0_MS 1793577600000LL               /* 2026-11-02T00:00:00Z, a Monday */
#define DAY_MS 86400000LL
#define MIN_DELAY 200u                      /* a close comes this many leads later at least */
#define MAX_DELAY 4000u                     /* ... and at most */
#define MAX_TERR 4

static const char *const states[NSTATES] = {
    "CA", "TX", "FL", "NY", "PA", "IL", "OH", "GA", "NC", "MI", "NJ", "VA", "WA",
    "AZ", "TN", "MA", "IN", "MO", "MD", "WI", "CO", "MN", "SC", "AL", "LA", "KY",
    "OR", "OK", "CT", "UT", "IA", "NV", "AR", "MS", "KS", "NM", "NE", "ID", "WV",
    "HI", "NH", "ME", "MT", "RI", "DE", "SD", "ND", "AK", "VT", "WY",
};
/* Population in hundreds of thousands, in the order above. */
static const unsigned pop[NSTATES] = {
    390, 300, 222, 197, 130, 126, 118, 110, 107, 100, 93, 87, 78,
    74, 70, 70, 68, 62, 62, 59, 58, 57, 53, 51, 46, 45,
    42, 40, 36, 34, 32, 32, 30, 29, 29, 21, 20, 19, 18,
    14, 14, 14, 11, 11, 10, 9, 8, 7, 6, 6,
};
static const char *const sources[] = { "google", "facebook", "zillow", "partner", "website",
                                       "bing", "referral", "purchased_list" };
static const unsigned source_w[] = { 30, 20, 15, 10, 10, 5, 5, 5 };
static const char *const products[] = { "purchase", "refinance", "heloc", "jumbo", "reverse" };
static const unsigned product_w[] = { 45, 30, 15, 7, 3 };

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct rng { uint64_t s; } rng;

/* xorshift64*: the same seed writes the same bytes. */
static uint64_t next_u64(rng *r) {
    uint64_t x = r->s;
    x ^= x >> 12; x ^= x << 25; x ^= x >> 27;
    r->s = x;
    return x * 0x2545F4914F6CDD1Dull;
}
static uint32_t below(rng *r, uint32_t n) { return (uint32_t)((next_u64(r) >> 32) % n); }
static double unit(rng *r) { return (double)(next_u64(r) >> 11) * (1.0 / 9007199254740992.0); }

/* An index drawn with probability W[i] / sum(W). */
static unsigned pick_weighted(rng *r, const unsigned *w, size_t n) {
    unsigned total = 0;
    for (size_t i = 0; i < n; i++) total += w[i];
    unsigned x = below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i]) return (unsigned)i;
        x -= w[i];
    }
    return (unsigned)(n - 1);
}

/* "2026-11-02T00:00:03.456Z" for MS since the epoch (UTC). */
static void format_time(int64_t ms, char *buf, size_t len) {
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, len - n, ".%03dZ", (int)(ms % 1000));
}

typedef struct agent {
    unsigned weight, capacity, day_cap;
    unsigned terr[MAX_TERR], nterr;
    unsigned prod[2];
} agent;

typedef struct opts {
    unsigned long agents, leads, per_day;
    uint64_t seed;
    double close;
    const char *dir;
} opts;

static FILE *open_out(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "bench_workload: cannot write %s: %s\n", path, strerror(errno));
        exit(2);
    }
    return f;
}

static void close_out(FILE *f, const char *name) {
    if (ferror(f) | fclose(f)) {
        fprintf(stderr, "bench_workload: writing %s failed\n", name);
        exit(2);
    }
}

static bool has_terr(const agent *a, unsigned s) {
    for (unsigned k = 0; k < a->nterr; k++)
        if (a->terr[k] == s) return true;
    return false;
}

/* Agents: territories first (they decide each agent's share of the leads),
 * then the day cap from that share. */
static agent *make_agents(const opts *o, rng *r) {
    agent *ag = calloc(o->agents, sizeof *ag);
    unsigned holders[NSTATES] = { 0 };
    if (!ag) { fprintf(stderr, "bench_workload: out of memory\n"); exit(2); }
    for (unsigned long i = 0; i < o->agents; i++) {
        agent *a = &ag[i];
        a->weight = 1 + below(r, 5);
        a->capacity = 20 + below(r, 31);
        a->terr[a->nterr++] = (unsigned)(i % NSTATES);
        unsigned want = 2 + below(r, 3);
        while (a->nterr < want) {
            unsigned s = pick_weighted(r, pop, NSTATES);
            if (!has_terr(a, s)) a->terr[a->nterr++] = s;
        }
        for (unsigned k = 0; k < a->nterr; k++) holders[a->terr[k]]++;
        a->prod[0] = below(r, COUNT(products));
        a->prod[1] = (a->prod[0] + 1 + below(r, COUNT(products) - 1)) % COUNT(products);
    }
    unsigned total = 0;
    for (unsigned s = 0; s < NSTATES; s++) total += pop[s];
    for (unsigned long i = 0; i < o->agents; i++) {
        agent *a = &ag[i];
        double share = 0;           /* expected leads a day, split evenly among holders */
        for (unsigned k = 0; k < a->nterr; k++)
            share += (double)o->per_day * pop[a->terr[k]] / total / holders[a->terr[k]];
        double cap = share * (1.0 + 0.6 * unit(r));
        a->day_cap = cap < 10 ? 10 : (unsigned)(cap + 0.5);
        if (i % 10 == 9) {          /* a trainee: small limits, reached within minutes */
            a->capacity = 2 + below(r, 4);
            a->day_cap = 3 + below(r, 6);
        }
    }
    return ag;
}

static void write_config(const opts *o, const agent *ag) {
    FILE *f = open_out(o->dir, "config.yaml");
    fprintf(f, "# generated by bench_workload --agents %lu --leads %lu --seed %" PRIu64
               " --per-day %lu --close %g -- do not edit\nagents:\n",
            o->agents, o->leads, o->seed, o->per_day, o->close);
    for (unsigned long i = 0; i < o->agents; i++) {
        const agent *a = &ag[i];
        fprintf(f, "  - {id: a%04lu, weight: %u, capacity: %u, caps: {day: %u}, "
                   "attributes: {territories: [", i, a->weight, a->capacity, a->day_cap);
        for (unsigned k = 0; k < a->nterr; k++)
            fprintf(f, "%s%s", k ? ", " : "", states[a->terr[k]]);
        fprintf(f, "], products: [%s, %s]}}\n", products[a->prod[0]], products[a->prod[1]]);
    }
    fputs("pools:\n  field: [", f);
    for (unsigned long i = 0; i < o->agents; i++) fprintf(f, "%sa%04lu", i ? ", " : "", i);
    fputs("]\nrules:\n"
          "  - name: territory\n"
          "    pool: field\n"
          "    strategy: round_robin\n"
          "    match: {territories: state}\n"
          "    fallback: queue\n", f);
    close_out(f, "config.yaml");

    FILE *fa = open_out(o->dir, "agents.csv"), *ft = open_out(o->dir, "territories.csv");
    for (unsigned long i = 0; i < o->agents; i++) {
        fprintf(fa, "%lu,a%04lu,%u,%u\n", i, i, ag[i].capacity, ag[i].day_cap);
        for (unsigned k = 0; k < ag[i].nterr; k++) fprintf(ft, "%u,%lu\n", ag[i].terr[k], i);
    }
    close_out(fa, "agents.csv");
    close_out(ft, "territories.csv");
}

/* The stream. Closes are scheduled on the lead they precede: a singly
 * linked list per lead index (head[j] -> next[i] -> ...), in the order
 * they were drawn. */
static void write_events(const opts *o, rng *r, unsigned long *nprogress, long *ndays) {
    uint32_t *head = malloc((o->leads + 1) * sizeof *head);
    uint32_t *next = malloc((o->leads + 1) * sizeof *next);
    uint8_t *won = malloc(o->leads + 1);
    if (!head || !next || !won) { fprintf(stderr, "bench_workload: out of memory\n"); exit(2); }
    for (unsigned long i = 0; i <= o->leads; i++) head[i] = next[i] = 0;
    FILE *fj = open_out(o->dir, "leads.jsonl"), *fc = open_out(o->dir, "events.csv");
    int64_t t = T0_MS, gap2 = 2 * DAY_MS / (int64_t)o->per_day;
    unsigned long seq = 0;
    *nprogress = 0;
    char at[40];
    for (unsigned long j = 1; j <= o->leads; j++) {
        t += 1 + (int64_t)below(r, (uint32_t)gap2);
        format_time(t, at, sizeof at);
        long day = (long)(t / DAY_MS);
        /* closes due before lead j, oldest first: reverse the pushed list */
        uint32_t rev = 0;
        for (uint32_t i = head[j]; i;) { uint32_t nx = next[i]; next[i] = rev; rev = i; i = nx; }
        for (uint32_t i = rev; i; i = next[i]) {
            const char *st = won[i] ? "won" : "lost";
            fprintf(fj, "{\"type\":\"progress\",\"lead\":\"L%07" PRIu32 "\",\"status\":\"%s\","
                        "\"at\":\"%s\"}\n", i, st, at);
            fprintf(fc, "%lu,1,%" PRIu32 ",0,%ld,%d\n", ++seq, i, day, won[i] ? 1 : 2);
            ++*nprogress;
        }
        unsigned s = pick_weighted(r, pop, NSTATES);
        fprintf(fj, "{\"id\":\"L%07lu\",\"received_at\":\"%s\",\"source\":\"%s\","
                    "\"product\":\"%s\",\"state\":\"%s\",\"score\":%u}\n",
                j, at, sources[pick_weighted(r, source_w, COUNT(sources))],
                products[pick_weighted(r, product_w, COUNT(products))], states[s],
                1 + below(r, 100));
        fprintf(fc, "%lu,0,%lu,%u,%ld,0\n", ++seq, j, s, day);
        if (unit(r) < o->close) {
            unsigned long due = j + MIN_DELAY + below(r, MAX_DELAY - MIN_DELAY + 1);
            won[j] = below(r, 4) == 0;
            if (due <= o->leads) { next[j] = head[due]; head[due] = (uint32_t)j; }
        }
    }
    *ndays = (long)((t - T0_MS) / DAY_MS) + 1;
    close_out(fj, "leads.jsonl");
    close_out(fc, "events.csv");
    free(head);
    free(next);
    free(won);
}

static int usage(void) {
    fprintf(stderr, "usage: bench_workload [--agents N (2-9999, default 200)] "
                    "[--leads M (1-9999999, default 200000)] [--seed S] "
                    "[--per-day D (default 25000)] [--close P (0-1, default 0.99)] OUTDIR\n");
    return 2;
}

/* Parses VAL as an integer in [LO, HI] into *OUT. */
static bool parse_ul(const char *val, unsigned long lo, unsigned long hi, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(val, &end, 10);
    if (!*val || *end || errno || v < lo || v > hi || val[0] == '-') return false;
    *out = v;
    return true;
}

int main(int argc, char **argv) {
    opts o = { 200, 200000, 25000, 1, 0.99, NULL };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long x;
        if (strcmp(a, "--agents") == 0 && v && parse_ul(v, 2, 9999, &o.agents)) i++;
        else if (strcmp(a, "--leads") == 0 && v && parse_ul(v, 1, 9999999, &o.leads)) i++;
        else if (strcmp(a, "--per-day") == 0 && v && parse_ul(v, 10, 10000000, &o.per_day)) i++;
        else if (strcmp(a, "--seed") == 0 && v && parse_ul(v, 0, ~0ul, &x)) { o.seed = x; i++; }
        else if (strcmp(a, "--close") == 0 && v) {
            char *end;
            o.close = strtod(v, &end);
            if (*end || !(o.close >= 0 && o.close <= 1)) return usage();
            i++;
        } else if (a[0] != '-' && !o.dir) o.dir = a;
        else return usage();
    }
    if (!o.dir) return usage();
    rng r = { 0x9E3779B97F4A7C15ull ^ (o.seed * 0xD1B54A32D192ED03ull) };
    if (!r.s) r.s = 1;
    for (int i = 0; i < 8; i++) next_u64(&r);
    agent *ag = make_agents(&o, &r);
    write_config(&o, ag);
    unsigned long nprogress;
    long ndays;
    write_events(&o, &r, &nprogress, &ndays);
    printf("agents=%lu leads=%lu progress=%lu events=%lu days=%ld dir=%s\n", o.agents, o.leads,
           nprogress, o.leads + nprogress, ndays, o.dir);
    free(ag);
    return 0;
}
