/* json_arena.c -- see json_arena.h.
 *
 * Invariant: while `active`, every block handed out lies in `main` or in
 * one of `extra[]`; end() frees the extras, keeps `main` (grown to what the
 * last parse needed, up to a bound) and empties it.
 */
#include "core/json_arena.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#define ARENA_MIN (64 * 1024)
#define ARENA_KEEP_MAX (4 * 1024 * 1024)    /* never keep more than this between parses */
#define ARENA_EXTRA_MAX 32

typedef struct chunk { char *p; size_t cap; } chunk;

static _Thread_local struct {
    bool active;
    chunk main;
    size_t used;
    chunk extra[ARENA_EXTRA_MAX];
    int nextra;
    size_t extra_bytes;
} A;

static bool in_chunk(const chunk *c, const void *p) {
    return c->p && (uintptr_t)p >= (uintptr_t)c->p && (uintptr_t)p < (uintptr_t)c->p + c->cap;
}

static void *arena_malloc(size_t n) {
    if (!A.active) return malloc(n);
    n = (n + 15) & ~(size_t)15;
    if (A.main.p && A.used + n <= A.main.cap) {
        void *p = A.main.p + A.used;
        A.used += n;
        return p;
    }
    /* Main chunk full: a chunk of its own (freed at end()), or plain malloc
     * when even the extras are used up. */
    if (A.nextra == ARENA_EXTRA_MAX) return malloc(n);
    size_t cap = n > ARENA_MIN ? n : ARENA_MIN;
    char *p = malloc(cap);
    if (!p) return NULL;
    A.extra[A.nextra++] = (chunk){ p, cap };
    A.extra_bytes += cap;
    /* A later small allocation may use this chunk's tail: make it the bump
     * target by swapping it with main (main becomes an extra). */
    if (cap - n > (A.main.p ? A.main.cap - A.used : 0)) {
        chunk old = A.main;
        A.main = A.extra[A.nextra - 1];
        A.used = n;
        if (old.p) A.extra[A.nextra - 1] = old;
        else A.nextra--;
        return A.main.p;
    }
    return p;
}

static void arena_free(void *p) {
    if (!p) return;
    if (in_chunk(&A.main, p)) return;
    for (int i = 0; i < A.nextra; i++)
        if (in_chunk(&A.extra[i], p)) return;
    free(p);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;      /* frees a thread's arena when the thread ends */

static void thread_exit(void *p) {
    (void)p;
    free(A.main.p);
    A.main.p = NULL;
    A.main.cap = 0;
}

static void install(void) {
    json_set_alloc_funcs(arena_malloc, arena_free);
    pthread_key_create(&exit_key, thread_exit);
}

void lr_json_arena_begin(void) {
    pthread_once(&once, install);
    if (!A.main.p) {
        A.main.p = malloc(ARENA_MIN);
        A.main.cap = A.main.p ? ARENA_MIN : 0;
        pthread_setspecific(exit_key, &A);     /* non-NULL: the destructor runs */
    }
    A.used = 0;
    A.active = true;
}

void lr_json_arena_end(void) {
    A.active = false;
    size_t need = A.main.cap + A.extra_bytes;
    for (int i = 0; i < A.nextra; i++) free(A.extra[i].p);
    A.nextra = 0;
    A.extra_bytes = 0;
    if (need > A.main.cap) {
        /* Next time one chunk holds it all. */
        free(A.main.p);
        size_t cap = need < ARENA_KEEP_MAX ? need : ARENA_KEEP_MAX;
        A.main.p = malloc(cap);
        A.main.cap = A.main.p ? cap : 0;
    } else if (A.main.cap > ARENA_KEEP_MAX) {
        free(A.main.p);
        A.main.p = NULL;
        A.main.cap = 0;
    }
    A.used = 0;
}
