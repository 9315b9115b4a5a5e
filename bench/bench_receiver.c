/* bench_receiver.c -- the far end of webhook delivery for `make bench-server`:
 * an HTTP receiver that answers at once, so the benchmark measures
 * leadrouter's delivery and not the receiver.
 *
 *   bench_receiver [--port N] [--seconds N] [--status N] [--threads N]
 *
 *   --port     port on 127.0.0.1 (default 0: the kernel picks a free one)
 *   --seconds  exits by itself after N seconds (default 600), so a crashed
 *              benchmark never leaves it running
 *   --status   the status of every answer, 200..599 (default 200)
 *   --threads  libmicrohttpd's thread pool (default: the online CPUs)
 *
 * Once listening it prints (stdout, flushed)
 *   bench_receiver: listening on http://127.0.0.1:PORT
 * and answers every request, whatever its method and path, with STATUS and
 * the body `{}` (application/json) after reading the whole upload;
 * connections are kept alive. On SIGTERM / SIGINT or after --seconds it
 * prints one line and exits 0:
 *   bench_receiver: requests=N bytes=N deliveries=N
 * (requests answered, request body bytes read, and the deliveries in
 * them: each `"id":"dlv_` in a body, one a request from a channel without
 * `batch`, each object of the array from one with it). Exit 2 on a usage error or
 * when it cannot listen (a message on stderr).
 *
 * The counters are the only state the pool threads share: relaxed atomics,
 * read once after the daemon has stopped. The answer is one persistent MHD
 * response queued by every request (MHD reference-counts it).
 *
 * Not library code: prints, exits.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct receiver {
    struct MHD_Response *answer;    /* shared by every request */
    unsigned status;
    atomic_uint_fast64_t requests;
    atomic_uint_fast64_t bytes;
    atomic_uint_fast64_t deliveries;
} receiver;

/* A delivery object's start in a body; its bytes may come in two calls, so
 * a request's *req_cls holds how much of it the last bytes matched, plus
 * one (NULL: a new request). Its first byte, the quote, recurs in it, but
 * no longer start of it does: after a mismatch the match goes on from that
 * quote, or from nothing. A lead whose own JSON held this text would count
 * once more (the benchmark's leads do not). */
static const char DELIVERY_ID[] = "\"id\":\"dlv_";

/* Counts DELIVERY_IDs in the LEN bytes at P, from match state *AT. */
static uint64_t count_ids(const char *p, size_t len, size_t *at) {
    uint64_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (p[i] == DELIVERY_ID[*at]) {
            if (++*at == sizeof DELIVERY_ID - 1) {
                n++;
                *at = 0;
            }
        } else {
            *at = p[i] == DELIVERY_ID[0];
        }
    }
    return n;
}

static _Noreturn void usage(void) {
    fprintf(stderr, "usage: bench_receiver [--port N] [--seconds N] [--status 200..599] [--threads N]\n");
    exit(2);
}

/* The value of option NAME, an integer in [MIN, MAX]; exits 2 otherwise. */
static long int_arg(const char *name, const char *s, long min, long max) {
    char *end;
    errno = 0;
    long v = strtol(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || v < min || v > max) {
        fprintf(stderr, "bench_receiver: %s must be an integer in %ld..%ld\n", name, min, max);
        exit(2);
    }
    return v;
}

/* MHD's access handler. The first call of a request only marks it (so MHD
 * goes on to read the body); body calls count and drop the data; the last
 * call queues the answer. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls) {
    (void)url;
    (void)method;
    (void)version;
    receiver *r = cls;
    if (*req_cls == NULL) {
        *req_cls = (void *)(uintptr_t)1;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t at = (uintptr_t)*req_cls - 1;
        uint64_t n = count_ids(upload_data, *upload_data_size, &at);
        *req_cls = (void *)(uintptr_t)(at + 1);
        atomic_fetch_add_explicit(&r->bytes, *upload_data_size, memory_order_relaxed);
        if (n) atomic_fetch_add_explicit(&r->deliveries, n, memory_order_relaxed);
        *upload_data_size = 0;
        return MHD_YES;
    }
    atomic_fetch_add_explicit(&r->requests, 1, memory_order_relaxed);
    return MHD_queue_response(c, r->status, r->answer);
}

/* Waits for SIGTERM / SIGINT (blocked in every thread) or SECONDS. */
static void wait_for_end(const sigset_t *set, long seconds) {
    struct timespec now, end;
    clock_gettime(CLOCK_MONOTONIC, &end);
    end.tv_sec += seconds;
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
            return;
        struct timespec left = { end.tv_sec - now.tv_sec, end.tv_nsec - now.tv_nsec };
        if (left.tv_nsec < 0) {
            left.tv_sec--;
            left.tv_nsec += 1000000000L;
        }
        if (sigtimedwait(set, NULL, &left) >= 0) return;
        if (errno != EINTR && errno != EAGAIN) return;
    }
}

int main(int argc, char **argv) {
    long port = 0, seconds = 600, status = 200;
    long threads = sysconf(_SC_NPROCESSORS_ONLN);
    for (int i = 1; i < argc; i += 2) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--port") == 0) port = int_arg(a, v, 0, 65535);
        else if (strcmp(a, "--seconds") == 0) seconds = int_arg(a, v, 1, INT_MAX);
        else if (strcmp(a, "--status") == 0) status = int_arg(a, v, 200, 599);
        else if (strcmp(a, "--threads") == 0) threads = int_arg(a, v, 1, 256);
        else usage();
    }
    if (threads < 1) threads = 1;

    /* Blocked before MHD starts its threads, so they inherit the mask and
     * only sigtimedwait() below takes these signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    receiver r = { .status = (unsigned)status };
    atomic_init(&r.requests, 0);
    atomic_init(&r.bytes, 0);
    atomic_init(&r.deliveries, 0);
    static char body[] = "{}";      /* never written: MHD only reads it */
    r.answer = MHD_create_response_from_buffer(sizeof body - 1, body, MHD_RESPMEM_PERSISTENT);
    if (!r.answer || MHD_add_response_header(r.answer, "Content-Type", "application/json") != MHD_YES) {
        fprintf(stderr, "bench_receiver: out of memory\n");
        return 2;
    }

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, &r,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        MHD_OPTION_CONNECTION_LIMIT, 10000u,
        MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "bench_receiver: cannot listen on 127.0.0.1:%ld: %s\n", port,
                errno ? strerror(errno) : "libmicrohttpd refused to start");
        MHD_destroy_response(r.answer);
        return 2;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("bench_receiver: listening on http://127.0.0.1:%u\n", di ? (unsigned)di->port : (unsigned)port);
    fflush(stdout);

    wait_for_end(&set, seconds);
    MHD_stop_daemon(d);
    MHD_destroy_response(r.answer);
    printf("bench_receiver: requests=%llu bytes=%llu deliveries=%llu\n",
           (unsigned long long)atomic_load(&r.requests), (unsigned long long)atomic_load(&r.bytes),
           (unsigned long long)atomic_load(&r.deliveries));
    return 0;
}
