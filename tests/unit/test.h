/* test.h -- the unit test harness (header only).
 *
 *   TEST(round_robin_skips_agent_at_capacity) { ... CHECK_EQ_STR(got, "bob"); }
 *   int main(void) { RUN(round_robin_skips_agent_at_capacity); return test_report(); }
 *
 * Checks print both values with file:line and survive NDEBUG. A failing
 * check marks the current test failed and the test goes on. Each test
 * prints "ok NAME" or "FAIL NAME"; test_report() prints "N passed, N failed"
 * and returns the exit status.
 */
#ifndef LEADROUTER_TEST_H
#define LEADROUTER_TEST_H

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static int test_passed_, test_failed_, test_cur_failed_;

#define TEST(name) static void name(void)

#define RUN(name)                                                      \
    do {                                                               \
        test_cur_failed_ = 0;                                          \
        name();                                                        \
        if (test_cur_failed_) { test_failed_++; printf("FAIL %s\n", #name); } \
        else { test_passed_++; printf("ok %s\n", #name); }             \
        fflush(stdout);                                                \
    } while (0)

#define TEST_FAIL_(...)                                                \
    do {                                                               \
        fprintf(stdout, "  %s:%d: ", __FILE__, __LINE__);              \
        fprintf(stdout, __VA_ARGS__);                                  \
        fputc('\n', stdout);                                           \
        test_cur_failed_ = 1;                                          \
    } while (0)

#define CHECK(cond)                                                    \
    do { if (!(cond)) TEST_FAIL_("check failed: %s", #cond); } while (0)

#define CHECK_EQ_INT(a, b)                                             \
    do {                                                               \
        long long a_ = (long long)(a), b_ = (long long)(b);            \
        if (a_ != b_) TEST_FAIL_("%s == %s: %lld != %lld", #a, #b, a_, b_); \
    } while (0)

#define CHECK_EQ_STR(a, b)                                             \
    do {                                                               \
        const char *a_ = (a), *b_ = (b);                               \
        if (!a_ || !b_ || strcmp(a_, b_) != 0)                         \
            TEST_FAIL_("%s == %s:\n    got:  %s\n    want: %s", #a, #b, \
                       a_ ? a_ : "(null)", b_ ? b_ : "(null)");        \
    } while (0)

#define CHECK_NEAR(a, b, eps)                                          \
    do {                                                               \
        double a_ = (a), b_ = (b);                                     \
        if (!(fabs(a_ - b_) <= (eps)))                                 \
            TEST_FAIL_("%s ~= %s: %g vs %g (eps %g)", #a, #b, a_, b_, (double)(eps)); \
    } while (0)

/* Substring check: HAY must contain NEEDLE. */
#define CHECK_CONTAINS(hay, needle)                                    \
    do {                                                               \
        const char *h_ = (hay), *n_ = (needle);                        \
        if (!h_ || !strstr(h_, n_))                                    \
            TEST_FAIL_("%s contains %s:\n    in:   %s\n    want: %s", #hay, #needle, \
                       h_ ? h_ : "(null)", n_);                        \
    } while (0)

static inline int test_report(void) {
    printf("%d passed, %d failed\n", test_passed_, test_failed_);
    return test_failed_ ? 1 : 0;
}

#endif
