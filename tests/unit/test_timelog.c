/* test_timelog.c -- the agents' time logs (leads received, outcomes with
 * wins): counts in a window, trimming, and removing an entry (an offer
 * that ended unaccepted) with its win. */
#include "core/agent.h"
#include "leadrouter/error.h"
#include "test.h"

TEST(counts_entries_after_a_time_with_their_wins) {
    lr_timelog l = { 0 };
    CHECK_EQ_INT(lr_timelog_add(&l, 10, true), LR_OK);
    CHECK_EQ_INT(lr_timelog_add(&l, 20, false), LR_OK);
    CHECK_EQ_INT(lr_timelog_add(&l, 30, true), LR_OK);
    uint32_t wins = 0;
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 3);
    CHECK_EQ_INT(wins, 2);
    CHECK_EQ_INT(lr_timelog_count_since(&l, 10, &wins), 2);
    CHECK_EQ_INT(wins, 1);
    lr_timelog_trim(&l, 20);
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 1);
    CHECK_EQ_INT(wins, 1);
    lr_timelog_release(&l);
}

TEST(remove_takes_out_the_latest_entry_at_a_time_and_its_win) {
    lr_timelog l = { 0 };
    for (int i = 0; i < 20; i++) CHECK_EQ_INT(lr_timelog_add(&l, 100 + i, i % 2 == 0), LR_OK);
    CHECK_EQ_INT(lr_timelog_add(&l, 200, true), LR_OK);
    CHECK_EQ_INT(lr_timelog_add(&l, 200, false), LR_OK);
    CHECK_EQ_INT(lr_timelog_add(&l, 300, true), LR_OK);
    uint32_t wins = 0;
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 23);
    CHECK_EQ_INT(wins, 12);
    lr_timelog_remove(&l, 104);             /* a win in the middle */
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 22);
    CHECK_EQ_INT(wins, 11);
    CHECK_EQ_INT(lr_timelog_count_since(&l, 104, &wins), 18);
    CHECK_EQ_INT(wins, 9);                  /* 106..118 (7), 200 (1), 300 (1) */
    lr_timelog_remove(&l, 200);             /* the later of two at 200: no win */
    CHECK_EQ_INT(lr_timelog_count_since(&l, 199, &wins), 2);
    CHECK_EQ_INT(wins, 2);
    lr_timelog_remove(&l, 250);             /* none there: nothing changes */
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 21);
    CHECK_EQ_INT(wins, 11);
    lr_timelog_trim(&l, 150);               /* the front goes, the counts stay right */
    lr_timelog_remove(&l, 300);
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 1);
    CHECK_EQ_INT(wins, 1);
    lr_timelog_remove(&l, 200);             /* the last one: the log is empty */
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 0);
    CHECK_EQ_INT(wins, 0);
    CHECK_EQ_INT(lr_timelog_add(&l, 400, true), LR_OK);
    CHECK_EQ_INT(lr_timelog_count_since(&l, 0, &wins), 1);
    CHECK_EQ_INT(wins, 1);
    lr_timelog_release(&l);
}

int main(void) {
    RUN(counts_entries_after_a_time_with_their_wins);
    RUN(remove_takes_out_the_latest_entry_at_a_time_and_its_win);
    return test_report();
}
