/* agent.h -- an agent's live state inside the engine: status, open leads,
 * counters per cap window, and the short histories the windowed strategies
 * read (leads received, outcomes).
 *
 * Cap windows are calendar windows in the agent's own zone (its schedule's;
 * UTC without one): the hour, the day, the ISO week (from Monday) and the
 * month that contain a time, so a day cap resets at the agent's midnight.
 * A window's count belongs
 * to the window that starts at win_start[c]; a count whose window has ended
 * reads as zero (lr_agent_window_count), so no sweep is needed.
 */
#ifndef LR_CORE_AGENT_H
#define LR_CORE_AGENT_H

#include "core/tz.h"
#include "leadrouter/config.h"

struct lr_segment;

/* A sorted log of times (and, for outcomes, a running count of wins), kept
 * only as far back as the longest window any rule reads. */
typedef struct lr_timelog {
    lr_time *t;                     /* owned */
    uint32_t *cum;                  /* owned; wins up to and including i (outcomes only) */
    uint32_t head, n, cap;          /* live entries are [head, n) */
    uint32_t base;                  /* wins dropped off the front */
} lr_timelog;

typedef struct lr_membership {
    struct lr_segment *seg;
    uint32_t m;                     /* member index in seg */
} lr_membership;

/* Offers in a row an agent let expire, for one pool with max_no_answer. */
typedef struct lr_no_answer {
    const struct lr_pool_conf *pool;    /* borrowed: a pool of the current config */
    uint32_t n;
} lr_no_answer;

typedef struct lr_agent_rt {
    const lr_agent_conf *conf;      /* borrowed from the config */
    uint32_t idx;
    lr_agent_status status;
    const char *status_reason;      /* static: what set it ("config", "set" by an agent
                                       event, "max_no_answer") */
    lr_time status_since;           /* when it last changed (the engine's start: its first) */
    uint32_t open;                  /* leads assigned and not closed */
    lr_time last_assigned;          /* LR_TIME_NONE: never */
    uint64_t assigned;              /* ever */
    uint64_t won, closed;           /* ever */
    uint32_t win_count[LR_CAP__COUNT];
    lr_time win_start[LR_CAP__COUNT];
    /* a count carried into a new time zone (lr_agent_rezone with TRACK):
     * the leads it holds were counted from carried_from (the old window's
     * start) until carried_at (the change); LR_TIME_NONE: none */
    lr_time carried_from[LR_CAP__COUNT], carried_at[LR_CAP__COUNT];
    lr_time cap_timer_at;           /* a cap-reset timer is pending for this time */
    lr_time sched_timer_at;         /* a schedule-change timer is pending for this time */
    lr_zone *zone;                  /* borrowed from the schedule; NULL: UTC */
    lr_no_answer *na;               /* owned: per pool with max_no_answer; an accept (or a
                                       config change) empties it */
    uint32_t nna, capna;
    bool present;                   /* available and on shift (capacity aside) */
    bool ready;                     /* available, under caps and under capacity */
    bool ready_nocap;               /* available and under caps */
    lr_timelog received;            /* assignment times (fewest_assigned) */
    lr_timelog outcomes;            /* close times with running wins (top_producer) */
    lr_membership *mem;             /* owned: the segments this agent belongs to */
    uint32_t nmem, capmem;
} lr_agent_rt;

/* Start and end of the UTC window of kind C that contains T. */
lr_time lr_window_start(lr_cap c, lr_time t);
lr_time lr_window_end(lr_cap c, lr_time t);

/* End of the agent's own window of kind C that contains T. */
lr_time lr_agent_window_end(const lr_agent_rt *a, lr_cap c, lr_time t);

/* The agent's count in the window of kind C that contains NOW. */
uint32_t lr_agent_window_count(const lr_agent_rt *a, lr_cap c, lr_time now);

/* Returns the first cap the agent has reached at NOW, or -1. */
int lr_agent_capped(const lr_agent_rt *a, lr_time now);

/* Counts one more lead in every window. */
void lr_agent_count_lead(lr_agent_rt *a, lr_time now);

/* A has WAS's windows and a new time zone (a config change at NOW): each
 * count still current in WAS's zone goes on in A's window that contains
 * NOW; a count whose window had ended is dropped. Only counts are kept,
 * not the leads' times, so the new window is judged by the old one's
 * count: leads of the old window received before the new one began
 * count in it too (fewer leads for the rep that day), and leads of an
 * earlier old window that fall into the new one do not (moving west
 * late in the day, a rep may get up to a cap's worth more that day).
 * With TRACK, A remembers which times a carried count holds, so that an
 * offer made before the change and ended unaccepted after it is taken
 * back from it (lr_agent_uncount_lead). */
void lr_agent_rezone(lr_agent_rt *a, const lr_agent_rt *was, lr_time now, bool track);
/* Takes back the lead counted at AT (an offer that ended unaccepted) from
 * the windows that still hold it: those AT falls in, or a count carried
 * into a new zone that holds AT's. */
void lr_agent_uncount_lead(lr_agent_rt *a, lr_time at);
/* A's windows hold no count (a new agent). */
void lr_agent_windows_clear(lr_agent_rt *a);

/* Timelogs. Appends return LR_OK or LR_ENOMEM (log unchanged). Entries must
 * be appended in time order. */
void lr_timelog_release(lr_timelog *l);
int lr_timelog_add(lr_timelog *l, lr_time t, bool win);
/* Drops entries at or before T. */
void lr_timelog_trim(lr_timelog *l, lr_time t);
/* Removes the latest entry at time T, if there is one (with its win). */
void lr_timelog_remove(lr_timelog *l, lr_time t);
/* Entries after SINCE; *wins receives how many of them were wins. */
uint32_t lr_timelog_count_since(const lr_timelog *l, lr_time since, uint32_t *wins);

#endif
