/* test_memory.c -- big blocks on huge pages (hugemem.c) and the slab of
 * fixed-size records (slab.c): zeroed memory, contents kept across
 * growth, records distinct and reused after free. */
#include "core/hugemem.h"
#include "core/slab.h"
#include "test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

TEST(huge_alloc_is_zeroed_and_big_blocks_are_2_mib_aligned) {
    unsigned char *small = lr_huge_alloc(1000);
    CHECK(small && all_zero(small, 1000));
    size_t big = 3 * LR_HUGE_MIN + 123;
    unsigned char *b = lr_huge_alloc(big);
    CHECK(b != NULL);
    CHECK_EQ_INT((uintptr_t)b % LR_HUGE_MIN, 0);
    CHECK(all_zero(b, big));
    memset(b, 0xab, big);                       /* every byte is writable */
    lr_huge_free(small, 1000);
    lr_huge_free(b, big);
    lr_huge_free(NULL, big);
    CHECK(lr_huge_alloc(0) == NULL);
}

/* Fills P with a pattern that depends on the offset. */
static void fill(unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + 3);
}

static int has_fill(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + 3)) return 0;
    return 1;
}

TEST(huge_realloc_keeps_contents_and_zeroes_the_rest_across_sizes) {
    /* small -> small -> big -> bigger -> same rounded size -> small -> free */
    size_t sizes[] = {100, 5000, LR_HUGE_MIN + 10, 5 * LR_HUGE_MIN, 5 * LR_HUGE_MIN - 4096,
                      5 * LR_HUGE_MIN - 100, 40000};
    size_t n = 64;
    unsigned char *p = lr_huge_alloc(n);
    fill(p, n);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t m = sizes[k];
        unsigned char *q = lr_huge_realloc(p, n, m);
        CHECK(q != NULL);
        size_t kept = n < m ? n : m;
        CHECK(has_fill(q, kept));
        CHECK(all_zero(q + kept, m - kept));
        fill(q, m);
        p = q;
        n = m;
    }
    CHECK(lr_huge_realloc(p, n, 0) == NULL);    /* frees */
    p = lr_huge_realloc(NULL, 0, LR_HUGE_MIN);  /* allocates */
    CHECK(p && all_zero(p, LR_HUGE_MIN));
    lr_huge_free(p, LR_HUGE_MIN);
}

typedef struct rec { uint64_t a[15]; } rec;     /* 120 bytes: rounded to 128 */

TEST(slab_records_are_distinct_zeroed_and_aligned_across_chunks) {
    lr_slab s;
    lr_slab_init(&s, sizeof(rec));
    enum { N = 50000 };                          /* several chunks, up to 2 MiB ones */
    rec **v = calloc(N, sizeof *v);
    for (size_t i = 0; i < N; i++) {
        v[i] = lr_slab_alloc(&s);
        CHECK(v[i] != NULL);
        CHECK_EQ_INT((uintptr_t)v[i] % 16, 0);
        CHECK(all_zero((unsigned char *)v[i], sizeof(rec)));
        for (int j = 0; j < 15; j++) v[i]->a[j] = i;
    }
    for (size_t i = 0; i < N; i++)              /* no record overlaps another */
        for (int j = 0; j < 15; j++) CHECK_EQ_INT(v[i]->a[j], i);
    lr_slab_release(&s);
    free(v);
}

TEST(slab_reuses_freed_records_zeroed_before_taking_new_memory) {
    lr_slab s;
    lr_slab_init(&s, sizeof(rec));
    rec *a = lr_slab_alloc(&s), *b = lr_slab_alloc(&s), *c = lr_slab_alloc(&s);
    memset(b, 0xff, sizeof *b);
    memset(c, 0xff, sizeof *c);
    lr_slab_free(&s, b);
    lr_slab_free(&s, c);
    lr_slab_free(&s, NULL);
    rec *d = lr_slab_alloc(&s), *e = lr_slab_alloc(&s);
    CHECK(d == c && e == b);                    /* last freed, first reused */
    CHECK(all_zero((unsigned char *)d, sizeof *d));
    CHECK(all_zero((unsigned char *)e, sizeof *e));
    rec *f = lr_slab_alloc(&s);                 /* the free list is empty: new memory */
    CHECK(f != a && f != b && f != c);
    lr_slab_release(&s);
    rec *g = lr_slab_alloc(&s);                 /* usable again after release */
    CHECK(g && all_zero((unsigned char *)g, sizeof *g));
    lr_slab_release(&s);
}

int main(void) {
    RUN(huge_alloc_is_zeroed_and_big_blocks_are_2_mib_aligned);
    RUN(huge_realloc_keeps_contents_and_zeroes_the_rest_across_sizes);
    RUN(slab_records_are_distinct_zeroed_and_aligned_across_chunks);
    RUN(slab_reuses_freed_records_zeroed_before_taking_new_memory);
    return test_report();
}
