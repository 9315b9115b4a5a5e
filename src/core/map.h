/* map.h -- a hash map from byte-string keys to pointers.
 *
 * Open addressing with linear probing. Keys are borrowed: the caller keeps
 * each key's bytes alive and unchanged while its entry exists (the engine
 * points keys into the objects they index). Keyed with a random SipHash key
 * per map (libsodium), so ids chosen by outsiders cannot force collisions.
 * Iteration order is not defined and nothing may depend on it.
 */
#ifndef LR_CORE_MAP_H
#define LR_CORE_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The key of a deleted slot (lr_map_next skips them). */
extern const char lr_map_tomb_[1];
#define LR_MAP_TOMB lr_map_tomb_

typedef struct lr_map_slot {
    const char *key;                /* NULL: empty; LR_MAP_TOMB: deleted */
    uint32_t len;
    uint32_t hash;
    void *val;
} lr_map_slot;

typedef struct lr_map {
    lr_map_slot *slots;             /* owned */
    size_t cap;                     /* power of two, or 0 */
    size_t n;                       /* live entries, in both tables */
    size_t used;                    /* live + tombstones in slots */
    lr_map_slot *old;               /* the table a growth is moving out of, or NULL */
    size_t oldcap;
    size_t moved;                   /* old[0..moved) are moved (or were empty) */
    lr_map_slot *next;              /* the table of the next growth, its pages being
                                       touched in advance, or NULL */
    size_t nextcap, touched;        /* touched: bytes of next faulted in */
    unsigned char key[16];          /* SipHash key */
} lr_map;

/* Returns LR_OK, LR_ENOMEM, or LR_EIO when libsodium cannot start (M zeroed
 * on error). HINT is the expected entries. */
int lr_map_init(lr_map *m, size_t hint);
void lr_map_release(lr_map *m);             /* accepts a zeroed map */

/* Inserts or replaces KEY -> VAL (on replace the entry borrows the new KEY).
 * KEY may be NULL when LEN is 0. Returns LR_OK, LR_EINVAL when LEN exceeds
 * UINT32_MAX - 1, or LR_ENOMEM (M unchanged). */
int lr_map_put(lr_map *m, const char *key, size_t len, void *val);

/* Inserts KEY -> VAL only when KEY is absent: one probe where a get then a
 * put would take two. Returns LR_OK, LR_EEXIST (the map unchanged; *OLD,
 * when OLD is not NULL, receives the value there), or LR_ENOMEM. */
int lr_map_add(lr_map *m, const char *key, size_t len, void *val, void **old);

/* Returns the value for KEY, or NULL. */
void *lr_map_get(const lr_map *m, const char *key, size_t len);

/* Removes KEY; returns true when it was there. */
bool lr_map_del(lr_map *m, const char *key, size_t len);

/* The live entries one after another, in no defined order: *POS starts at
 * 0; returns the next entry, or NULL after the last. The map must not
 * change during the walk. */
const lr_map_slot *lr_map_next(const lr_map *m, size_t *pos);

#endif
