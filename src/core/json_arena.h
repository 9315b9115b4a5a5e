/* json_arena.h -- jansson's allocations from a per-thread arena while an
 * event is parsed.
 *
 * Decoding one JSONL line with jansson costs a malloc and a free per value
 * and per key; for a typical lead that was about half the time of the whole
 * route. Between lr_json_arena_begin() and lr_json_arena_end() jansson's
 * allocations on this thread come from a bump arena and its frees cost
 * nothing; end() takes all of it back at once. Every jansson value made
 * inside the bracket must be released (json_decref) before end(): the
 * event parser copies what it keeps into memory of its own.
 *
 * Outside a bracket, and on other threads, jansson uses malloc and free as
 * usual; a block from malloc is recognised and freed normally, wherever it
 * is released.
 */
#ifndef LR_CORE_JSON_ARENA_H
#define LR_CORE_JSON_ARENA_H

void lr_json_arena_begin(void);
void lr_json_arena_end(void);

#endif
