/* test_bitset.c -- the hierarchical bitset against a plain bool array. */
#include "core/bitset.h"
#include "leadrouter/error.h"
#include "test.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

/* Checks the structural invariants: count, summary bits, nothing past n. */
static void check_structure(const lr_bitset *b) {
    uint32_t pop = 0;
    for (uint32_t w = 0; w < b->nwords[0]; w++) pop += (uint32_t)__builtin_popcountll(b->words[0][w]);
    CHECK_EQ_INT(pop, b->count);
    if (b->n % 64) CHECK_EQ_INT(b->words[0][b->nwords[0] - 1] >> (b->n % 64), 0);
    for (uint32_t k = 0; k + 1 < b->nlevels; k++) {
        for (uint32_t w = 0; w < b->nwords[k + 1] * 64; w++) {
            bool summary = (b->words[k + 1][w / 64] >> (w % 64)) & 1;
            bool nonzero = w < b->nwords[k] && b->words[k][w] != 0;
            if (summary != nonzero) {
                TEST_FAIL_("level %u bit %u is %d, word below non-zero %d", k + 1, w, summary,
                           nonzero);
                return;
            }
        }
    }
    if (b->nlevels) CHECK_EQ_INT(b->nwords[b->nlevels - 1], 1);
}

/* Full cross-check of next (every from), test and select against REF. */
static void check_all(const lr_bitset *b, const bool *ref, uint32_t n) {
    check_structure(b);
    uint32_t want = LR_BITSET_NONE, count = 0;
    for (uint32_t i = 0; i < n; i++) count += ref[i];
    CHECK_EQ_INT(b->count, count);
    uint32_t bad = 0;
    for (uint32_t i = n; i-- > 0;) {
        if (ref[i]) want = i;
        if (lr_bitset_next(b, i) != want || lr_bitset_test(b, i) != ref[i]) bad++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(lr_bitset_next(b, n), LR_BITSET_NONE);
    CHECK_EQ_INT(lr_bitset_next(b, n + 1), LR_BITSET_NONE);
    CHECK_EQ_INT(lr_bitset_next(b, UINT32_MAX), LR_BITSET_NONE);
    CHECK_EQ_INT(lr_bitset_select(b, count), LR_BITSET_NONE);
    /* select(k) for every k is quadratic; on big sets take a stride plus
     * both ends, which exercises the forward and the backward scan. */
    uint32_t stride = count > 2000 ? count / 1000 : 1, k = 0;
    bad = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (!ref[i]) continue;
        if ((k % stride == 0 || k + 3 >= count) && lr_bitset_select(b, k) != i) bad++;
        k++;
    }
    CHECK_EQ_INT(bad, 0);
}

/* Random set/clear runs on a universe of N, cross-checked after every op
 * (spot queries) and fully every CHECK_EVERY ops and at the end. DENSITY
 * is the per-mille chance that an op sets rather than clears. */
static void random_run(uint32_t n, uint32_t ops, uint32_t check_every, unsigned density,
                       uint64_t seed) {
    lr_bitset b;
    CHECK_EQ_INT(lr_bitset_init(&b, n), LR_OK);
    bool *ref = calloc(n ? n : 1, sizeof *ref);
    uint64_t s = seed;
    uint32_t count = 0;
    for (uint32_t op = 0; n && op < ops; op++) {
        uint32_t i = (uint32_t)(xorshift(&s) % n);
        if (xorshift(&s) % 1000 < density) {
            lr_bitset_set(&b, i);
            count += !ref[i];
            ref[i] = true;
        } else {
            lr_bitset_clear(&b, i);
            count -= ref[i];
            ref[i] = false;
        }
        if (b.count != count) {
            TEST_FAIL_("n=%u op %u: count %u want %u", n, op, b.count, count);
            break;
        }
        /* Spot query: next from a little before I. The reference scan is
         * capped so sparse big sets stay fast; a query whose answer lies
         * past the cap is skipped (check_all covers every from). */
        uint32_t back = (uint32_t)(xorshift(&s) % 130);
        uint32_t from = i > back ? i - back : 0, want = LR_BITSET_NONE, j;
        for (j = from; j < n && j - from < 4096; j++)
            if (ref[j]) { want = j; break; }
        bool known = want != LR_BITSET_NONE || j == n;
        if (known && lr_bitset_next(&b, from) != want) {
            TEST_FAIL_("n=%u op %u: next(%u) = %u want %u", n, op, from,
                       lr_bitset_next(&b, from), want);
            break;
        }
        if ((op + 1) % check_every == 0) check_all(&b, ref, n);
    }
    check_all(&b, ref, n);
    free(ref);
    lr_bitset_release(&b);
}

TEST(bitset_empty_universe_answers_none) {
    lr_bitset b;
    CHECK_EQ_INT(lr_bitset_init(&b, 0), LR_OK);
    CHECK_EQ_INT(b.nlevels, 0);
    CHECK_EQ_INT(b.count, 0);
    CHECK_EQ_INT(lr_bitset_next(&b, 0), LR_BITSET_NONE);
    CHECK_EQ_INT(lr_bitset_next(&b, UINT32_MAX), LR_BITSET_NONE);
    CHECK_EQ_INT(lr_bitset_select(&b, 0), LR_BITSET_NONE);
    CHECK(!lr_bitset_test(&b, 0));
    lr_bitset_release(&b);
    lr_bitset_release(&b);          /* a zeroed set is accepted */
}

TEST(bitset_levels_stack_until_one_word) {
    static const struct { uint32_t n, nlevels, top_words0; } cases[] = {
        {1, 1, 1}, {63, 1, 1}, {64, 1, 1}, {65, 2, 2}, {4096, 2, 64},
        {4097, 3, 65}, {300000, 4, 4688}, {262144, 3, 4096}, {262145, 4, 4097},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lr_bitset b;
        CHECK_EQ_INT(lr_bitset_init(&b, cases[c].n), LR_OK);
        CHECK_EQ_INT(b.nlevels, cases[c].nlevels);
        CHECK_EQ_INT(b.nwords[0], cases[c].top_words0);
        CHECK_EQ_INT(b.nwords[b.nlevels - 1], 1);
        lr_bitset_release(&b);
    }
}

TEST(bitset_next_from_at_or_past_n_is_none) {
    lr_bitset b;
    CHECK_EQ_INT(lr_bitset_init(&b, 65), LR_OK);
    lr_bitset_set(&b, 64);
    CHECK_EQ_INT(lr_bitset_next(&b, 0), 64);
    CHECK_EQ_INT(lr_bitset_next(&b, 64), 64);
    CHECK_EQ_INT(lr_bitset_next(&b, 65), LR_BITSET_NONE);
    CHECK_EQ_INT(lr_bitset_next(&b, 1000), LR_BITSET_NONE);
    CHECK_EQ_INT(lr_bitset_next(&b, UINT32_MAX), LR_BITSET_NONE);
    CHECK(!lr_bitset_test(&b, 65));
    lr_bitset_release(&b);
}

TEST(bitset_set_and_clear_are_idempotent) {
    lr_bitset b;
    CHECK_EQ_INT(lr_bitset_init(&b, 200), LR_OK);
    lr_bitset_set(&b, 7);
    lr_bitset_set(&b, 7);
    CHECK_EQ_INT(b.count, 1);
    lr_bitset_clear(&b, 8);
    CHECK_EQ_INT(b.count, 1);
    lr_bitset_clear(&b, 7);
    lr_bitset_clear(&b, 7);
    CHECK_EQ_INT(b.count, 0);
    CHECK_EQ_INT(b.words[1][0], 0);
    CHECK_EQ_INT(lr_bitset_next(&b, 0), LR_BITSET_NONE);
    lr_bitset_release(&b);
}

TEST(bitset_summary_bit_clears_only_when_word_empties) {
    lr_bitset b;
    CHECK_EQ_INT(lr_bitset_init(&b, 300000), LR_OK);
    lr_bitset_set(&b, 70);          /* word 1 of level 0 */
    lr_bitset_set(&b, 71);
    CHECK_EQ_INT(b.words[1][0], 2);
    CHECK_EQ_INT(b.words[2][0], 1);
    CHECK_EQ_INT(b.words[3][0], 1);
    lr_bitset_clear(&b, 70);
    CHECK_EQ_INT(b.words[1][0], 2);
    CHECK_EQ_INT(b.words[3][0], 1);
    lr_bitset_clear(&b, 71);
    CHECK_EQ_INT(b.words[1][0], 0);
    CHECK_EQ_INT(b.words[2][0], 0);
    CHECK_EQ_INT(b.words[3][0], 0);
    lr_bitset_release(&b);
}

TEST(bitset_next_climbs_and_descends_across_levels) {
    lr_bitset b;
    CHECK_EQ_INT(lr_bitset_init(&b, 300000), LR_OK);
    lr_bitset_set(&b, 299999);
    CHECK_EQ_INT(lr_bitset_next(&b, 0), 299999);
    CHECK_EQ_INT(lr_bitset_next(&b, 299999), 299999);
    CHECK_EQ_INT(lr_bitset_select(&b, 0), 299999);
    lr_bitset_set(&b, 0);
    lr_bitset_set(&b, 262143);      /* last bit under the first level-3 bit */
    lr_bitset_set(&b, 262144);      /* first bit under the second */
    CHECK_EQ_INT(lr_bitset_next(&b, 1), 262143);
    CHECK_EQ_INT(lr_bitset_next(&b, 262144), 262144);
    CHECK_EQ_INT(lr_bitset_next(&b, 262145), 299999);
    CHECK_EQ_INT(lr_bitset_select(&b, 0), 0);
    CHECK_EQ_INT(lr_bitset_select(&b, 1), 262143);
    CHECK_EQ_INT(lr_bitset_select(&b, 2), 262144);
    CHECK_EQ_INT(lr_bitset_select(&b, 3), 299999);
    CHECK_EQ_INT(lr_bitset_select(&b, 4), LR_BITSET_NONE);
    lr_bitset_clear(&b, 299999);
    CHECK_EQ_INT(lr_bitset_next(&b, 262145), LR_BITSET_NONE);
    lr_bitset_release(&b);
}

TEST(bitset_random_ops_match_bool_array_small_sizes) {
    static const uint32_t sizes[] = {0, 1, 63, 64, 65};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        random_run(sizes[i], 4000, 50, 500, 0x9E3779B97F4A7C15ULL + i);
        random_run(sizes[i], 4000, 50, 900, 0xD1B54A32D192ED03ULL + i);
        random_run(sizes[i], 4000, 50, 100, 0xA0761D6478BD642FULL + i);
    }
}

TEST(bitset_random_ops_match_bool_array_4096) {
    random_run(4096, 40000, 5000, 500, 42);
    random_run(4096, 40000, 5000, 20, 43);      /* sparse: long climbs */
    random_run(4096, 40000, 5000, 980, 44);     /* dense */
}

TEST(bitset_random_ops_match_bool_array_300000) {
    random_run(300000, 100000, 50000, 500, 7);
    random_run(300000, 30000, 30000, 2, 8);     /* very sparse */
    random_run(300000, 400000, 200000, 990, 9); /* dense */
}

int main(void) {
    RUN(bitset_empty_universe_answers_none);
    RUN(bitset_levels_stack_until_one_word);
    RUN(bitset_next_from_at_or_past_n_is_none);
    RUN(bitset_set_and_clear_are_idempotent);
    RUN(bitset_summary_bit_clears_only_when_word_empties);
    RUN(bitset_next_climbs_and_descends_across_levels);
    RUN(bitset_random_ops_match_bool_array_small_sizes);
    RUN(bitset_random_ops_match_bool_array_4096);
    RUN(bitset_random_ops_match_bool_array_300000);
    return test_report();
}
