/* strategy.h -- the names of the distribution strategies.
 *
 * Each strategy is one file under src/core/strategies/ behind one vtable
 * (src/core/strategy_impl.h); this header is the public face of the
 * registry: the config loader resolves a rule's `strategy:` name here, and
 * an unknown name is a config error.
 */
#ifndef LEADROUTER_STRATEGY_H
#define LEADROUTER_STRATEGY_H

#include <stddef.h>

typedef struct lr_strategy lr_strategy;

/* Returns the strategy called NAME, or NULL. Static; never freed. */
const lr_strategy *lr_strategy_find(const char *name);

/* Returns the strategy's name. */
const char *lr_strategy_name(const lr_strategy *s);

/* The registered names, in table order: *n receives the count. */
const char *const *lr_strategy_names(size_t *n);

#endif
