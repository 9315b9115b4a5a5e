/* broadcast.c -- shark tank: the lead is offered to every ready member at
 * once; the first claim (or accept) wins and later claims are refused. The
 * engine does the offering; the strategy only names the mode. */
#include "core/strategy_impl.h"

const lr_strategy lr_strategy_broadcast = { .name = "broadcast", .mode = LR_MODE_BROADCAST };
