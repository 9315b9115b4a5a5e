/* trim.h -- gives the memory a passing peak used back to the system.
 *
 * Loading a large config builds its parse tree, several times the size of
 * the config it yields, and frees it: glibc's malloc returns most of it by
 * itself, gperftools' tcmalloc (the release build's malloc, Makefile)
 * keeps every freed page for later allocations. A server that loaded a
 * config of 100,000 agents then held ~160 MiB it no longer used
 * (docs/benchmarks.md, "The allocator").
 */
#ifndef LR_CORE_TRIM_H
#define LR_CORE_TRIM_H

/* A config text this long leaves a peak worth giving back: without the
 * release, tcmalloc kept ~5 MiB more resident after the parse of a 1 MiB
 * config, ~20 MiB after one of 3 MB (docs/benchmarks.md). Below 1 MiB, so
 * that PUT /v1/config (a body of 1 MiB at most) gives its peak back too. */
#define LR_TRIM_AFTER ((size_t)256 << 10)

/* Returns the allocator's free memory to the system: tcmalloc's, when the
 * process runs on it, else glibc's (malloc_trim). Costs a walk of the free
 * lists: for after a rare peak, not for every request. */
void lr_trim(void);

#endif
