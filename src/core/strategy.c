/* strategy.c -- the registry: strategy name -> vtable. One line per
 * strategy; the file of each is src/core/strategies/NAME.c. */
#include "core/strategy_impl.h"

#include <string.h>

#define LR_STRATEGY_LIST(X) \
    X(round_robin) X(weighted_round_robin) X(random) X(weighted_random) \
    X(least_busy) X(most_available) X(longest_idle) X(fewest_assigned) \
    X(top_down) X(top_producer) X(owner) X(broadcast) X(queue) \
    X(open_pool) X(manual)

#define LR_STRATEGY_DECL(n) extern const lr_strategy lr_strategy_##n;
LR_STRATEGY_LIST(LR_STRATEGY_DECL)

static const lr_strategy *const table[] = {
#define LR_STRATEGY_PTR(n) &lr_strategy_##n,
    LR_STRATEGY_LIST(LR_STRATEGY_PTR)
};

static const char *const names[] = {
#define LR_STRATEGY_NAME(n) #n,
    LR_STRATEGY_LIST(LR_STRATEGY_NAME)
};

#define NSTRATEGIES (sizeof table / sizeof table[0])

const lr_strategy *lr_strategy_find(const char *name) {
    for (size_t i = 0; i < NSTRATEGIES; i++)
        if (strcmp(table[i]->name, name) == 0) return table[i];
    return NULL;
}

const char *lr_strategy_name(const lr_strategy *s) { return s->name; }

const char *const *lr_strategy_names(size_t *n) {
    *n = NSTRATEGIES;
    return names;
}
