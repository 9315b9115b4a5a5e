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
 *   n <= used + the live entries of old[moved..]; used * 10 <= cap * 7
 *   (tombstones count as used), so every probe ends at an empty slot;
 *   cap <= 2^32 (the stored hash has 32 bits).
 *
 * When an insertion would break the load bound, the table is rebuilt into
 * a fresh allocation sized so that the live entries fill at most 40%: it
 * doubles when live entries need it (0.7 * cap + 1 entries fill 35% of
 * 2 * cap) and keeps its size when tombstones were the problem. Either way
 * the next rebuild is at least 0.3 * cap insertions away, so insertion is
 * amortised O(1). The new table is fully allocated before the old one is
 * touched, so LR_ENOMEM leaves M as it was.
 *
 * A table of up to SYNC_MAX slots is rebuilt at once. A larger one is
 * moved a little at a time (as Redis's dict does): the new table becomes
 * slots[], the old one stays as old[], and every put and del first moves
 * the next MOVE_STEP slots of old[] (moved counts them). A lookup tries
 * slots[], then old[]; an old slot below moved is no longer the entry's
 * (it is in slots[], or was deleted there), so old[] is read only at and
 * above moved, and written only to mark a deletion or replace a value: its
 * probe runs stay whole. An entry is in one table: put looks in both
 * before it inserts into slots[]. Rebuilding the lead index of 734,003
 * leads at once held the engine's thread 59 ms (1,468,006 leads: 130 ms);
 * in steps, each put pays at most MOVE_STEP slot moves (a few µs), and the
 * move is over after oldcap / MOVE_STEP puts, long before slots[] could
 * fill up (its load grows by 1/MOVE_STEP of oldcap at most meanwhile).
 *
 * The new table's memory is fresh, and its first touches are page faults
 * (a 2 MiB huge page zeroed each: 2.7 ms measured on this VM). Moved
 * entries touch it in order, but each put's own key lands anywhere: in
 * steps alone, the first hundred puts after a growth faulted nearly every
 * page and took 86-93 ms together, no better than the rebuild at once. So
 * a table past SYNC_MAX slots makes the next one early, once its load
 * reaches PREPARE_AT (0.55; growth comes at 0.7), and each put touches
 * one more 4 KiB of it: the 96 MiB table of 4,194,304 slots takes 24,576
 * puts, where 314,572 come before the growth (on huge pages, one put in
 * 512 faults a 2 MiB page in, the others find it there). A rebuild that
 * tombstones brought on (the live entries under 0.4) takes that table
 * too, and so doubles where it would have kept its size: into memory
 * already there, not a fresh table of the same size that every put's key
 * would fault in.
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
#define SYNC_MAX ((size_t)1 << 14)      /* slots: rebuilt at once up to this many */
#define MOVE_STEP 64                    /* old slots moved by each put and del */
#define PREPARE_AT 55                   /* % of load at which the next table is made */
#define TOUCH_STEP 4096                 /* bytes of it faulted in by each put */
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

/* Frees the tables (not the keys or values, which the map never owned). */
void lr_map_release(lr_map *m) {
    lr_huge_free(m->slots, m->cap * sizeof *m->slots);
    lr_huge_free(m->old, m->oldcap * sizeof *m->old);
    lr_huge_free(m->next, m->nextcap * sizeof *m->next);
    memset(m, 0, sizeof *m);
}

/* Makes the table of the next growth once M's load passes PREPARE_AT,
 * then faults in TOUCH_STEP more bytes of it. A failure to make it costs
 * nothing: the growth allocates then. */
static void prepare(lr_map *m) {
    if (!m->next) {
        if (m->cap <= SYNC_MAX || m->old || m->used * 100 < m->cap * PREPARE_AT ||
            m->cap >= MAX_CAP || m->cap > SIZE_MAX / 2 / sizeof(lr_map_slot))
            return;
        if (!(m->next = lr_huge_alloc(2 * m->cap * sizeof *m->next))) return;
        m->nextcap = 2 * m->cap;
        m->touched = 0;
    }
    size_t size = m->nextcap * sizeof *m->next;
    if (m->touched < size) {
        ((volatile char *)m->next)[m->touched] = 0;
        m->touched += TOUCH_STEP;
    }
}

/* Returns the index of KEY's slot in the table V of CAP slots, or SIZE_MAX
 * when absent; slots below FROM do not count (old[] below moved). */
static size_t find_in(const lr_map_slot *v, size_t cap, size_t from, const char *key,
                      uint32_t len, uint32_t h) {
    if (!cap) return SIZE_MAX;
    size_t mask = cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        const lr_map_slot *s = &v[i];
        if (!s->key) return SIZE_MAX;
        if (s->hash == h && s->len == len && s->key != LR_MAP_TOMB && i >= from &&
            memcmp(s->key, key, len) == 0)
            return i;
    }
}

/* KEY's slot, in slots[] or old[], or NULL when absent. */
static lr_map_slot *find(const lr_map *m, const char *key, uint32_t len, uint32_t h) {
    size_t i = find_in(m->slots, m->cap, 0, key, len, h);
    if (i != SIZE_MAX) return &m->slots[i];
    if (m->old && (i = find_in(m->old, m->oldcap, m->moved, key, len, h)) != SIZE_MAX)
        return &m->old[i];
    return NULL;
}

/* Moves the next STEPS slots of old[] into slots[]; frees old[] once all
 * are moved. */
static void move_some(lr_map *m, size_t steps) {
    if (!m->old) return;
    size_t mask = m->cap - 1;
    size_t end = steps < m->oldcap - m->moved ? m->moved + steps : m->oldcap;
    for (size_t j = m->moved; j < end; j++) {
        const lr_map_slot *s = &m->old[j];
        if (!s->key || s->key == LR_MAP_TOMB) continue;
        size_t i = s->hash & mask;
        while (m->slots[i].key) i = (i + 1) & mask;
        m->slots[i] = *s;
        m->used++;
    }
    m->moved = end;
    if (end == m->oldcap) {
        lr_huge_free(m->old, m->oldcap * sizeof *m->old);
        m->old = NULL;
        m->oldcap = m->moved = 0;
    }
}

/* Rebuilds the table with room for NEED live entries (see the top of the
 * file): at once, or its move started. Returns LR_OK, or LR_ENOMEM with M
 * unchanged. */
static int rehash(lr_map *m, size_t need) {
    move_some(m, SIZE_MAX);                     /* the move before, if any, ends */
    size_t cap = cap_for(need, 4);              /* live load <= 0.4 */
    if (!cap) return LR_ENOMEM;
    if (cap < m->cap) cap = m->cap;             /* never shrink */
    if (cap > SIZE_MAX / sizeof(lr_map_slot)) return LR_ENOMEM;
    lr_map_slot *slots = NULL;
    if (m->next && m->nextcap >= cap) {         /* made in advance, still all empty */
        cap = m->nextcap;
        slots = m->next;
        m->next = NULL;
    } else {
        slots = lr_huge_alloc(cap * sizeof *slots);
        if (!slots) return LR_ENOMEM;
        lr_huge_free(m->next, m->nextcap * sizeof *m->next);
        m->next = NULL;
    }
    m->nextcap = m->touched = 0;
    m->old = m->slots;
    m->oldcap = m->cap;
    m->moved = 0;
    m->slots = slots;
    m->cap = cap;
    m->used = 0;
    move_some(m, m->oldcap <= SYNC_MAX ? SIZE_MAX : MOVE_STEP);
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
    move_some(m, MOVE_STEP);
    prepare(m);
    size_t i = 0;
    if (m->cap) {
        size_t mask = m->cap - 1;
        size_t tomb = SIZE_MAX;
        lr_map_slot *s = NULL;
        for (i = h & mask; m->slots[i].key && !s; i = (i + 1) & mask) {
            lr_map_slot *t = &m->slots[i];
            if (t->key == LR_MAP_TOMB) {
                if (tomb == SIZE_MAX) tomb = i;
            } else if (t->hash == h && t->len == len && memcmp(t->key, key, len) == 0) {
                s = t;
            }
        }
        if (!s && m->old) {
            size_t j = find_in(m->old, m->oldcap, m->moved, key, (uint32_t)len, h);
            if (j != SIZE_MAX) s = &m->old[j];
        }
        if (s) {
            if (!replace) {
                if (old) *old = s->val;
                return LR_EEXIST;
            }
            s->key = key;
            s->val = val;
            return LR_OK;
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
    const lr_map_slot *s = find(m, key, (uint32_t)len, hash_key(m, key, len));
    return s ? s->val : NULL;
}

/* Removes KEY; returns true when it was there. Never allocates. */
bool lr_map_del(lr_map *m, const char *key, size_t len) {
    if (len > MAX_KEYLEN || !m->cap) return false;
    assert(key || len == 0);
    if (!key) key = empty_key;
    uint32_t h = hash_key(m, key, len);
    move_some(m, MOVE_STEP);
    size_t i = find_in(m->slots, m->cap, 0, key, (uint32_t)len, h);
    if (i == SIZE_MAX) {            /* in old[], if anywhere: marked, runs left whole */
        if (!m->old || (i = find_in(m->old, m->oldcap, m->moved, key, (uint32_t)len, h)) == SIZE_MAX)
            return false;
        m->old[i] = (lr_map_slot){LR_MAP_TOMB, 0, 0, NULL};
        m->n--;
        return true;
    }
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

const lr_map_slot *lr_map_next(const lr_map *m, size_t *pos) {
    for (size_t i = *pos; i < m->cap + m->oldcap; i++) {
        if (i >= m->cap && i - m->cap < m->moved) i = m->cap + m->moved;
        if (i >= m->cap + m->oldcap) break;
        const lr_map_slot *s = i < m->cap ? &m->slots[i] : &m->old[i - m->cap];
        if (s->key && s->key != LR_MAP_TOMB) {
            *pos = i + 1;
            return s;
        }
    }
    *pos = m->cap + m->oldcap;
    return NULL;
}
