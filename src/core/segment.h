/* segment.h -- the unit of indexed eligibility.
 *
 * For each (pool, strategy, ignore_capacity, match values) that a lead has
 * needed, the engine keeps a segment: the pool members whose attributes
 * satisfy the match, in pool order ("members"), and the subset of them that
 * is ready to take a lead now (a bitset, plus a heap in the strategy's order
 * when the strategy ranks). Agents tell every segment they belong to when
 * their readiness or counters change, so picking never scans the pool: the
 * cost of a decision does not grow with the pool, even when a match leaves
 * 1% of it eligible.
 *
 * A segment also holds the leads waiting in it (pull queue, open pool, or
 * fallback: queue), ordered as the pool says (fifo, lifo, priority).
 *
 * Invariants: ready has bit m iff agent agents[m] is ready by this segment's
 * measure (ready, or ready_nocap when ignore_capacity); heap (when there is
 * one) holds exactly the ready members.
 */
#ifndef LR_CORE_SEGMENT_H
#define LR_CORE_SEGMENT_H

#include "core/agent.h"
#include "core/bitset.h"
#include "core/heap.h"
#include "core/lead_rt.h"
#include "core/rng.h"

#define LR_SEG_NONE UINT32_MAX

typedef struct lr_strategy lr_strategy;

typedef struct lr_segment {
    char *key;                      /* owned: the map key */
    size_t keylen;
    uint32_t pool;
    const lr_strategy *strat;
    bool ignore_capacity;
    uint32_t n;                     /* members */
    uint32_t *agents;               /* owned: member -> agent index, pool order */
    lr_agent_rt *rt;                /* borrowed: the engine's agents */
    lr_bitset ready;
    lr_heap heap;                   /* when strat->cmp */
    void *state;                    /* the strategy's own */
    /* waiting leads */
    lr_lead_rt **q;                 /* owned array: heap in queue order */
    uint32_t qn, qcap;
    lr_queue_order order;
    bool dirty;                     /* gained a ready member while leads wait */
    bool listed;                    /* on the engine's dirty list */
    bool dry;                       /* made by a preview: in no map, no agent's memberships,
                                       freed when the preview ends */
    struct lr_segment *next_dirty;
} lr_segment;

/* The agent behind member M. */
static inline lr_agent_rt *lr_seg_agent(const lr_segment *s, uint32_t m) {
    return &s->rt[s->agents[m]];
}

/* What a strategy's pick may read. */
typedef struct lr_pick_ctx {
    const lr_lead *lead;
    const struct lr_rule_conf *rule;
    lr_time now;
    lr_rng *rng;
    uint32_t owner;                 /* owner strategy: the owning agent, or LR_NO_AGENT */
} lr_pick_ctx;

/* Creates a segment over MEMBERS (agent indexes, pool order; copied), reads
 * each member's readiness from RT, and lets the strategy set up its state.
 * Returns LR_OK and *out, or LR_ENOMEM. */
int lr_segment_create(const lr_strategy *strat, uint32_t pool, bool ignore_capacity,
                      lr_queue_order order, const uint32_t *members, uint32_t n,
                      lr_agent_rt *rt, lr_segment **out);
void lr_segment_destroy(lr_segment *s);     /* accepts NULL; waiting leads are not freed */

/* Member M's readiness changed to ON (no-op when unchanged). */
void lr_segment_set_ready(lr_segment *s, uint32_t m, bool on);

/* Member M's counters changed (open leads, last assigned): re-rank it. */
void lr_segment_touch(lr_segment *s, uint32_t m);

/* Whether member M is ready in this segment. */
static inline bool lr_segment_is_ready(const lr_segment *s, uint32_t m) {
    return lr_bitset_test(&s->ready, m);
}

/* Asks the strategy for a ready member, or LR_SEG_NONE. */
uint32_t lr_segment_pick(lr_segment *s, const lr_pick_ctx *ctx);

/* The member index of agent A in S, or LR_SEG_NONE: from A's memberships,
 * or for a preview's segment (in no agent's memberships) from S's agents. */
uint32_t lr_segment_member(const lr_segment *s, uint32_t a);

/* Tells the strategy member M was given a lead. */
void lr_segment_chosen(lr_segment *s, uint32_t m);

/* Waiting leads. Push returns LR_OK or LR_ENOMEM; remove is a no-op for a
 * lead not waiting here; head returns NULL when empty. */
int lr_segment_enqueue(lr_segment *s, lr_lead_rt *l);
void lr_segment_dequeue(lr_segment *s, lr_lead_rt *l);
lr_lead_rt *lr_segment_head(const lr_segment *s);

/* Queue order of two leads under ORDER: true when A goes out first. */
bool lr_queue_before(lr_queue_order order, const lr_lead_rt *a, const lr_lead_rt *b);

#endif
