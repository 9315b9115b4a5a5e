/* queue.c -- pull (lean): the lead waits in the pool's queue; an agent's
 * claim without a lead id takes the next one in the pool's order (fifo,
 * lifo, priority) that the agent matches. Capacity is the WIP limit. */
#include "core/strategy_impl.h"

const lr_strategy lr_strategy_queue = { .name = "queue", .mode = LR_MODE_QUEUE };
