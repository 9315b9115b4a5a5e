/* rng.h -- the engine's random source: xoshiro256** seeded by splitmix64.
 *
 * The engine owns one; strategies receive it through their pick context and
 * never touch a global generator, so a seed fixes every random choice.
 */
#ifndef LR_CORE_RNG_H
#define LR_CORE_RNG_H

#include <stdint.h>

typedef struct lr_rng { uint64_t s[4]; } lr_rng;

void lr_rng_seed(lr_rng *r, uint64_t seed);
uint64_t lr_rng_next(lr_rng *r);

/* Returns a uniform integer in [0, n) (n > 0), without modulo bias. */
uint64_t lr_rng_below(lr_rng *r, uint64_t n);

#endif
