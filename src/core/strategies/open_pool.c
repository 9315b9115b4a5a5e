/* open_pool.c -- cherry picking: the lead waits, visible to the pool, and
 * any member who matches and has capacity claims it by id. */
#include "core/strategy_impl.h"

const lr_strategy lr_strategy_open_pool = { .name = "open_pool", .mode = LR_MODE_OPEN_POOL };
