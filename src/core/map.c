/* map.c -- open-addressing hash map from borrowed byte strings (see map.h).
 *
 * Design:
 *   - cap is 0 (nothing allocated yet) or a power of two >= MIN_CAP; a key
 *     starts probing at hash & (cap - 1) and walks forward one slot at a
 *     time (linear probing) until it finds itself or an empty slot.
 *   - Deleting leaves a tombstone (key == LR_MAP_TOMB) so later keys of the
 *     same run stay reachable. A tombstone directly before an empty slot
 *     ends no run that matters, so del turns such a tail of tombstones back
 *     into empty slots.
 *   - The hash is SipHash-2-4 (libsodium crypto_shorthash) under a random
 *     per-map key, truncated to its low 32 bits (little-endian) and kept in
 *     the slot: lookups compare it before touching the key's bytes, and a
 *     rehash never hashes a key again.
 *
 * Invariants:
 *   n <= used; used * 10 <= cap * 7 (tombstones count as used), so every
 *   probe ends at an empty slot; cap <= 2^32 (the stored hash has 32 bits).
 *
 * When an insertion would break the load bound, the whole table is rebuilt
 * into a fresh allocation sized so that the live entries fill at most 40%:
 * it doubles when live entries need it (0.7 * cap + 1 entries fill 35% of
 * 2 * cap) and keeps its size when tombstones were the problem. Either way
 * the next rebuild is at least 0.3 * cap insertions away, so insertion is
 * amortised O(1). The new table is fully allocated before the old one is
 * touched, so LR_ENOMEM leaves M as it was.
 */
#include "core/map.h"
#include "core/hugemem.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

_Static_assert(crypto_shorthash_BYTES == 8, "SipHash-2-4 output is 8 bytes");
_Static_assert(crypto_shorthash_KEYBYTES == sizeof(((lr_map *)0)->key),
               "lr_map.key must hold a crypto_shorthash key");

/* Only its address matters: no caller's key can point here. */
const char lr_map_tomb_[1];

#define MIN_CAP 8
#define MAX_CAP ((size_t)1 << (SIZE_MAX > UINT32_MAX ? 32 : 31))
#define MAX_KEYLEN ((size_t)UINT32_MAX - 1)

/* A NULL key of length 0 is the empty key; store a non-NULL pointer so the
 * slot does not read as empty, and so memcmp never sees NULL. */
static const char empty_key[1];

static uint32_t hash_key(const lr_map *m, const char *key, size_t len) {
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)key, (unsigned long long)len, m->key);
    return (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
           (uint32_t)out[3] << 24;
}

/* Returns the smallest power of two >= MIN_CAP that keeps NEED entries at
 * or under the load LOAD_TENTHS / 10, or 0 when that would pass MAX_CAP. */
static size_t cap_for(size_t need, unsigned load_tenths) {
    if (need > SIZE_MAX / 10) return 0;
    size_t cap = MIN_CAP;
    while (need * 10 > cap * load_tenths) {
        if (cap >= MAX_CAP) return 0;
        cap *= 2;
    }
    return cap;
}

/* Returns LR_OK; LR_ENOMEM (M zeroed) when the table for HINT entries
 * cannot be allocated; LR_EIO (M zeroed) when libsodium cannot start (no
 * entropy source). HINT 0 allocates nothing until the first put. */
int lr_map_init(lr_map *m, size_t hint) {
    memset(m, 0, sizeof *m);
    if (sodium_init() < 0) return LR_EIO;
    if (hint > 0) {
        size_t cap = cap_for(hint, 7);          /* load <= 0.7 */
        if (!cap) return LR_ENOMEM;
        m->slots = lr_huge_alloc(cap * sizeof *m->slots);
        if (!m->slots) return LR_ENOMEM;
        m->cap = cap;
    }
    randombytes_buf(m->key, sizeof m->key);
    return LR_OK;
}

/* Frees the table (not the keys or values, which the map never owned). */
void lr_map_release(lr_map *m) {
    lr_huge_free(m->slots, m->cap * sizeof *m->slots);
    memset(m, 0, sizeof *m);
}

/* Returns the index of KEY's slot, or SIZE_MAX when absent. */
static size_t find(const lr_map *m, const char *key, uint32_t len, uint32_t h) {
    if (!m->cap) return SIZE_MAX;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const lr_map_slot *s = &m->slots[i];
        if (!s->key) return SIZE_MAX;
        if (s->hash == h && s->len == len && s->key != LR_MAP_TOMB &&
            memcmp(s->key, key, len) == 0)
            return i;
    }
}

/* Rebuilds the table with room for NEED live entries (see the top of the
 * file). Returns LR_OK, or LR_ENOMEM with M unchanged. */
static int rehash(lr_map *m, size_t need) {
    size_t cap = cap_for(need, 4);              /* live load <= 0.4 */
    if (!cap) return LR_ENOMEM;
    if (cap < m->cap) cap = m->cap;             /* never shrink */
    if (cap > SIZE_MAX / sizeof(lr_map_slot)) return LR_ENOMEM;
    lr_map_slot *slots = lr_huge_alloc(cap * sizeof *slots);
    if (!slots) return LR_ENOMEM;
    size_t mask = cap - 1;
    for (size_t j = 0; j < m->cap; j++) {
        const lr_map_slot *s = &m->slots[j];
        if (!s->key || s->key == LR_MAP_TOMB) continue;
        size_t i = s->hash & mask;
        while (slots[i].key) i = (i + 1) & mask;
        slots[i] = *s;
    }
    lr_huge_free(m->slots, m->cap * sizeof *m->slots);
    m->slots = slots;
    m->cap = cap;
    m->used = m->n;
    return LR_OK;
}

/* Inserts KEY -> VAL or replaces the value of an equal key (the entry then
 * borrows the new KEY pointer). Returns LR_OK; LR_EINVAL when LEN exceeds
 * UINT32_MAX - 1; LR_ENOMEM when the table must grow and cannot (M is then
 * unchanged). */
static int put(lr_map *m, const char *key, size_t len, void *val, bool replace, void **old) {
    if (len > MAX_KEYLEN) return LR_EINVAL;
    if (!key) {
        assert(len == 0);
        key = empty_key;
    }
    uint32_t h = hash_key(m, key, len);
    size_t i = 0;
    if (m->cap) {
        size_t mask = m->cap - 1;
        size_t tomb = SIZE_MAX;
        for (i = h & mask; m->slots[i].key; i = (i + 1) & mask) {
            lr_map_slot *s = &m->slots[i];
            if (s->key == LR_MAP_TOMB) {
                if (tomb == SIZE_MAX) tomb = i;
            } else if (s->hash == h && s->len == len && memcmp(s->key, key, len) == 0) {
                if (!replace) {
                    if (old) *old = s->val;
                    return LR_EEXIST;
                }
                s->key = key;
                s->val = val;
                return LR_OK;
            }
        }
        if (tomb != SIZE_MAX) {             /* reuse: used does not change */
            m->slots[tomb] = (lr_map_slot){key, (uint32_t)len, h, val};
            m->n++;
            return LR_OK;
        }
    }
    if (!m->cap || (m->used + 1) * 10 > m->cap * 7) {
        int rc = rehash(m, m->n + 1);
        if (rc != LR_OK) return rc;
        size_t mask = m->cap - 1;
        for (i = h & mask; m->slots[i].key; i = (i + 1) & mask) {}
    }
    m->slots[i] = (lr_map_slot){key, (uint32_t)len, h, val};
    m->n++;
    m->used++;
    return LR_OK;
}

int lr_map_put(lr_map *m, const char *key, size_t len, void *val) {
    return put(m, key, len, val, true, NULL);
}

int lr_map_add(lr_map *m, const char *key, size_t len, void *val, void **old) {
    return put(m, key, len, val, false, old);
}

/* Returns the value stored under KEY (LEN bytes), or NULL when absent. */
void *lr_map_get(const lr_map *m, const char *key, size_t len) {
    if (len > MAX_KEYLEN || !m->cap) return NULL;
    assert(key || len == 0);
    if (!key) key = empty_key;
    size_t i = find(m, key, (uint32_t)len, hash_key(m, key, len));
    return i == SIZE_MAX ? NULL : m->slots[i].val;
}

/* Removes KEY; returns true when it was there. Never allocates. */
bool lr_map_del(lr_map *m, const char *key, size_t len) {
    if (len > MAX_KEYLEN || !m->cap) return false;
    assert(key || len == 0);
    if (!key) key = empty_key;
    size_t i = find(m, key, (uint32_t)len, hash_key(m, key, len));
    if (i == SIZE_MAX) return false;
    size_t mask = m->cap - 1;
    m->slots[i] = (lr_map_slot){LR_MAP_TOMB, 0, 0, NULL};
    m->n--;
    /* No probe needs a tombstone that an empty slot follows: free the run
     * of tombstones ending here. The walk ends at the first live or empty
     * slot before I, which exists because used <= 0.7 * cap. */
    if (!m->slots[(i + 1) & mask].key) {
        while (m->slots[i].key == LR_MAP_TOMB) {
            m->slots[i].key = NULL;
            m->used--;
            i = (i - 1) & mask;
        }
    }
    return true;
}
