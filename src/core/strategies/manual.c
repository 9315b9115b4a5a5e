/* manual.c -- the lead is held until an admin's assign event says who. */
#include "core/strategy_impl.h"

const lr_strategy lr_strategy_manual = { .name = "manual", .mode = LR_MODE_MANUAL };
