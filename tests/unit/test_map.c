/* test_map.c -- the hash map: contract, growth, tombstones, 200k keys.
 *
 * Tests that need known collisions or a reproducible slot layout overwrite
 * the map's SipHash key right after init (the table is empty, so nothing is
 * hashed under the old key) and compute slot positions with
 * crypto_shorthash, as map.c does: the low 32 bits, little-endian, of
 * SipHash-2-4.
 */
#include "core/map.h"
#include "leadrouter/error.h"
#include "test.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t xorshift(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static void *V(uintptr_t v) { return (void *)v; }

static uint32_t hash32(const unsigned char *skey, const char *key, size_t len) {
    unsigned char out[crypto_shorthash_BYTES];
    crypto_shorthash(out, (const unsigned char *)key, len, skey);
    return (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 |
           (uint32_t)out[3] << 24;
}

static void fix_key(lr_map *m) {
    for (unsigned i = 0; i < sizeof m->key; i++) m->key[i] = (unsigned char)(i * 17 + 1);
}

/* Returns the slot index holding KEY (by pointer and length), or -1. */
static long slot_of(const lr_map *m, const char *key, size_t len) {
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].key == key && m->slots[i].len == len) return (long)i;
    return -1;
}

/* Checks the counters against the slots (and the old table's slots not
 * moved yet) and the load bound. */
static void check_invariants(const lr_map *m) {
    size_t live = 0, used = 0;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].key) continue;
        used++;
        live += m->slots[i].key != LR_MAP_TOMB;
    }
    for (size_t i = m->moved; m->old && i < m->oldcap; i++)
        live += m->old[i].key && m->old[i].key != LR_MAP_TOMB;
    CHECK_EQ_INT(live, m->n);
    CHECK_EQ_INT(used, m->used);
    CHECK(m->cap == 0 || (m->cap & (m->cap - 1)) == 0);
    CHECK(m->used * 10 <= m->cap * 7);
}

TEST(map_put_get_del_replace) {
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 0), LR_OK);
    CHECK(lr_map_get(&m, "alice", 5) == NULL);
    CHECK(!lr_map_del(&m, "alice", 5));
    CHECK_EQ_INT(lr_map_put(&m, "alice", 5, V(1)), LR_OK);
    CHECK_EQ_INT(lr_map_put(&m, "bob", 3, V(2)), LR_OK);
    CHECK(lr_map_get(&m, "alice", 5) == V(1));
    CHECK(lr_map_get(&m, "bob", 3) == V(2));
    CHECK(lr_map_get(&m, "carol", 5) == NULL);
    CHECK_EQ_INT(lr_map_put(&m, "alice", 5, V(3)), LR_OK);
    CHECK_EQ_INT(m.n, 2);
    CHECK(lr_map_get(&m, "alice", 5) == V(3));
    CHECK(lr_map_del(&m, "alice", 5));
    CHECK(!lr_map_del(&m, "alice", 5));
    CHECK(lr_map_get(&m, "alice", 5) == NULL);
    CHECK(lr_map_get(&m, "bob", 3) == V(2));
    CHECK_EQ_INT(m.n, 1);
    check_invariants(&m);
    lr_map_release(&m);
    lr_map_release(&m);             /* a zeroed map is accepted */
}

TEST(map_replace_borrows_the_new_key_pointer) {
    char a[] = "lead-1", b[] = "lead-1";
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 4), LR_OK);
    CHECK_EQ_INT(lr_map_put(&m, a, 6, V(1)), LR_OK);
    CHECK_EQ_INT(lr_map_put(&m, b, 6, V(2)), LR_OK);
    CHECK_EQ_INT(m.n, 1);
    CHECK(slot_of(&m, b, 6) >= 0);
    CHECK(slot_of(&m, a, 6) < 0);
    CHECK(lr_map_get(&m, a, 6) == V(2));
    lr_map_release(&m);
}

TEST(map_keys_sharing_prefixes_are_distinct) {
    /* Every prefix of one buffer, and bytes after the length, are ignored. */
    const char buf[] = "abcdef\0gh";
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 0), LR_OK);
    for (size_t len = 0; len <= 9; len++)
        CHECK_EQ_INT(lr_map_put(&m, buf, len, V(100 + len)), LR_OK);
    CHECK_EQ_INT(m.n, 10);
    for (size_t len = 0; len <= 9; len++) CHECK(lr_map_get(&m, buf, len) == V(100 + len));
    CHECK(lr_map_get(&m, "abcdeX", 6) == NULL);
    CHECK(lr_map_get(&m, "abcdef\0gX", 9) == NULL);
    CHECK(lr_map_get(&m, "abcdef\0g", 8) == V(108));   /* embedded NUL */
    CHECK(lr_map_del(&m, buf, 3));
    CHECK(lr_map_get(&m, buf, 3) == NULL);
    CHECK(lr_map_get(&m, buf, 2) == V(102));
    CHECK(lr_map_get(&m, buf, 4) == V(104));
    check_invariants(&m);
    lr_map_release(&m);
}

TEST(map_empty_key_is_a_key) {
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 0), LR_OK);
    CHECK(lr_map_get(&m, "", 0) == NULL);
    CHECK_EQ_INT(lr_map_put(&m, "", 0, V(7)), LR_OK);
    CHECK(lr_map_get(&m, "", 0) == V(7));
    CHECK(lr_map_get(&m, NULL, 0) == V(7));     /* NULL of length 0 is "" */
    CHECK(lr_map_get(&m, "x", 1) == NULL);
    CHECK_EQ_INT(lr_map_put(&m, NULL, 0, V(8)), LR_OK);
    CHECK_EQ_INT(m.n, 1);
    CHECK(lr_map_get(&m, "", 0) == V(8));
    check_invariants(&m);                       /* the slot is not "empty" */
    CHECK(lr_map_del(&m, "", 0));
    CHECK(lr_map_get(&m, NULL, 0) == NULL);
    CHECK_EQ_INT(m.n, 0);
    lr_map_release(&m);
}

TEST(map_init_sizes_table_from_hint) {
    static const struct { size_t hint, cap; } cases[] = {
        {0, 0}, {1, 8}, {5, 8}, {6, 16}, {100, 256}, {716, 1024}, {717, 2048},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        lr_map m;
        CHECK_EQ_INT(lr_map_init(&m, cases[c].hint), LR_OK);
        CHECK_EQ_INT(m.cap, cases[c].cap);
        CHECK_EQ_INT(m.n, 0);
        lr_map_release(&m);
    }
}

TEST(map_init_refuses_impossible_hint) {
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, SIZE_MAX), LR_ENOMEM);
    CHECK(m.slots == NULL && m.cap == 0 && m.n == 0 && m.used == 0);
    CHECK_EQ_INT(lr_map_init(&m, (size_t)1 << 40), LR_ENOMEM);   /* > 2^32 slots */
    CHECK(m.slots == NULL && m.cap == 0);
    lr_map_release(&m);
}

TEST(map_put_rejects_key_longer_than_uint32) {
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 0), LR_OK);
    /* The length is checked before any byte is read. */
    CHECK_EQ_INT(lr_map_put(&m, "k", (size_t)UINT32_MAX, V(1)), LR_EINVAL);
    CHECK(lr_map_get(&m, "k", (size_t)UINT32_MAX) == NULL);
    CHECK(!lr_map_del(&m, "k", (size_t)UINT32_MAX));
    CHECK_EQ_INT(m.n, 0);
    CHECK_EQ_INT(m.cap, 0);
    lr_map_release(&m);
}

TEST(map_grows_keeping_every_entry) {
    enum { N = 5000 };
    static char keys[N][24];
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 0), LR_OK);
    CHECK(m.slots == NULL);
    size_t grew = 0, prev_cap = 0;
    for (int i = 0; i < N; i++) {
        int len = snprintf(keys[i], sizeof keys[i], "g%d", i);
        CHECK_EQ_INT(lr_map_put(&m, keys[i], (size_t)len, V((uintptr_t)i + 1)), LR_OK);
        CHECK(m.used * 10 <= m.cap * 7);
        if (m.cap != prev_cap) {
            CHECK(m.cap > prev_cap);
            grew++;
            prev_cap = m.cap;
        }
    }
    /* 8 at the first put, then doubling at each 0.7 crossing:
     * 8, 16, ..., 8192 (5000 entries > 0.7 * 4096). */
    CHECK_EQ_INT(m.cap, 8192);
    CHECK_EQ_INT(grew, 11);
    check_invariants(&m);
    int bad = 0;
    for (int i = 0; i < N; i++)
        bad += lr_map_get(&m, keys[i], strlen(keys[i])) != V((uintptr_t)i + 1);
    CHECK_EQ_INT(bad, 0);
    lr_map_release(&m);
}

/* Fills OUT with COUNT distinct "cN" keys whose home slot in a table of CAP
 * under the map's key is HOME. */
static void colliding_keys(const lr_map *m, size_t cap, size_t home, char out[][16],
                           int count) {
    int found = 0;
    for (int i = 0; found < count; i++) {
        char k[16];
        int len = snprintf(k, sizeof k, "c%d", i);
        if ((hash32(m->key, k, (size_t)len) & (cap - 1)) == home) memcpy(out[found++], k, 16);
    }
}

TEST(map_tombstone_is_reused_and_trailing_tombstones_freed) {
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 6), LR_OK);
    CHECK_EQ_INT(m.cap, 16);
    fix_key(&m);
    char k[4][16];
    colliding_keys(&m, 16, 3, k, 4);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(lr_map_put(&m, k[i], strlen(k[i]), V(i + 1)), LR_OK);
    CHECK_EQ_INT(slot_of(&m, k[0], strlen(k[0])), 3);
    CHECK_EQ_INT(slot_of(&m, k[1], strlen(k[1])), 4);
    CHECK_EQ_INT(slot_of(&m, k[2], strlen(k[2])), 5);

    /* A deleted middle slot stays a tombstone so k2 stays reachable. */
    CHECK(lr_map_del(&m, k[1], strlen(k[1])));
    CHECK(m.slots[4].key == LR_MAP_TOMB);
    CHECK_EQ_INT(m.n, 2);
    CHECK_EQ_INT(m.used, 3);
    CHECK(lr_map_get(&m, k[2], strlen(k[2])) == V(3));

    /* A new key of the same run takes the tombstone: used does not grow. */
    CHECK_EQ_INT(lr_map_put(&m, k[3], strlen(k[3]), V(4)), LR_OK);
    CHECK_EQ_INT(slot_of(&m, k[3], strlen(k[3])), 4);
    CHECK_EQ_INT(m.n, 3);
    CHECK_EQ_INT(m.used, 3);

    /* The end of a run becomes empty at once, not a tombstone. */
    CHECK(lr_map_del(&m, k[2], strlen(k[2])));
    CHECK(m.slots[5].key == NULL);
    CHECK_EQ_INT(m.used, 2);

    /* Tombstones left before a freed tail are freed with it. */
    CHECK_EQ_INT(lr_map_put(&m, k[2], strlen(k[2]), V(3)), LR_OK);   /* slot 5 */
    CHECK(lr_map_del(&m, k[0], strlen(k[0])));                        /* 3: tomb */
    CHECK(lr_map_del(&m, k[3], strlen(k[3])));                        /* 4: tomb */
    CHECK(m.slots[3].key == LR_MAP_TOMB && m.slots[4].key == LR_MAP_TOMB);
    CHECK_EQ_INT(m.used, 3);
    CHECK(lr_map_del(&m, k[2], strlen(k[2])));                        /* frees 5, 4, 3 */
    CHECK(m.slots[3].key == NULL && m.slots[4].key == NULL && m.slots[5].key == NULL);
    CHECK_EQ_INT(m.n, 0);
    CHECK_EQ_INT(m.used, 0);
    check_invariants(&m);
    lr_map_release(&m);
}

TEST(map_tombstones_trigger_same_size_rebuild) {
    /* Churn through distinct keys with at most 5 live: tombstones fill the
     * table, and rebuilding must clear them without growing it (5 + 1 live
     * entries fit the 40% a rebuild leaves in 16 slots). */
    enum { N = 3000, LIVE = 5 };
    static char keys[N][24];
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 6), LR_OK);
    CHECK_EQ_INT(m.cap, 16);
    fix_key(&m);
    int rebuilds = 0;
    for (int i = 0; i < N; i++) {
        int len = snprintf(keys[i], sizeof keys[i], "t%d", i);
        size_t used_before = m.used;
        CHECK_EQ_INT(lr_map_put(&m, keys[i], (size_t)len, V((uintptr_t)i + 1)), LR_OK);
        if (used_before == 11 && m.used == m.n) rebuilds++;   /* 12 > 0.7 * 16 */
        CHECK_EQ_INT(m.cap, 16);
        if (i >= LIVE - 1) CHECK(lr_map_del(&m, keys[i - LIVE + 1], strlen(keys[i - LIVE + 1])));
        check_invariants(&m);
    }
    CHECK(rebuilds > 10);
    for (int i = N - LIVE + 1; i < N; i++)
        CHECK(lr_map_get(&m, keys[i], strlen(keys[i])) == V((uintptr_t)i + 1));
    CHECK_EQ_INT(m.n, LIVE - 1);
    lr_map_release(&m);
}

TEST(map_rebuild_after_mass_delete_keeps_capacity) {
    enum { N = 100, CHURN = 50000, WINDOW = 5 };
    static char keys[N + CHURN][24];
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 0), LR_OK);
    fix_key(&m);
    for (int i = 0; i < N; i++) {
        int len = snprintf(keys[i], sizeof keys[i], "m%d", i);
        CHECK_EQ_INT(lr_map_put(&m, keys[i], (size_t)len, V((uintptr_t)i + 1)), LR_OK);
    }
    CHECK_EQ_INT(m.cap, 256);
    for (int i = 5; i < N; i++) CHECK(lr_map_del(&m, keys[i], strlen(keys[i])));
    /* Churn fresh keys through a window of WINDOW live ones until a put
     * rebuilds (only a rebuild makes used drop). The table must keep its
     * size although the 5 + WINDOW entries would fit in 32 slots. */
    bool rebuilt = false;
    for (int i = N; i < N + CHURN && !rebuilt; i++) {
        int len = snprintf(keys[i], sizeof keys[i], "m%d", i);
        size_t used_before = m.used;
        CHECK_EQ_INT(lr_map_put(&m, keys[i], (size_t)len, V(1)), LR_OK);
        rebuilt = m.used < used_before;
        if (i >= N + WINDOW) CHECK(lr_map_del(&m, keys[i - WINDOW], strlen(keys[i - WINDOW])));
    }
    CHECK(rebuilt);
    CHECK_EQ_INT(m.cap, 256);
    for (int i = 0; i < 5; i++) CHECK(lr_map_get(&m, keys[i], strlen(keys[i])) == V((uintptr_t)i + 1));
    check_invariants(&m);
    lr_map_release(&m);
}

TEST(map_200k_keys_with_deletes_and_reinserts) {
    enum { N = 200000 };
    char (*keys)[24] = calloc(N, sizeof *keys);
    uintptr_t *want = calloc(N, sizeof *want);     /* 0: absent */
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 1000), LR_OK);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "lead-%d", i);
        CHECK_EQ_INT(lr_map_put(&m, keys[i], strlen(keys[i]), V((uintptr_t)i + 1)), LR_OK);
        want[i] = (uintptr_t)i + 1;
    }
    CHECK_EQ_INT(m.n, N);
    check_invariants(&m);

    uint64_t s = 2024;
    size_t live = N;
    int bad = 0;
    for (int op = 0; op < 600000; op++) {
        int i = (int)(xorshift(&s) % N);
        size_t len = strlen(keys[i]);
        switch (xorshift(&s) % 4) {
        case 0:
            bad += lr_map_del(&m, keys[i], len) != (want[i] != 0);
            live -= want[i] != 0;
            want[i] = 0;
            break;
        case 1:
        case 2: {
            uintptr_t v = (uintptr_t)op + N + 1;
            bad += lr_map_put(&m, keys[i], len, V(v)) != LR_OK;
            live += want[i] == 0;
            want[i] = v;
            break;
        }
        default:
            bad += lr_map_get(&m, keys[i], len) != V(want[i]);
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(m.n, live);
    check_invariants(&m);
    for (int i = 0; i < N; i++) bad += lr_map_get(&m, keys[i], strlen(keys[i])) != V(want[i]);
    CHECK_EQ_INT(bad, 0);
    /* Never-inserted keys with the same prefix are absent. */
    for (int i = N; i < N + 1000; i++) {
        char k[16];
        int len = snprintf(k, sizeof k, "lead-%d", i);
        bad += lr_map_get(&m, k, (size_t)len) != NULL;
    }
    CHECK_EQ_INT(bad, 0);
    /* Delete everything: the table ends with no live entry. */
    for (int i = 0; i < N; i++) bad += lr_map_del(&m, keys[i], strlen(keys[i])) != (want[i] != 0);
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(m.n, 0);
    check_invariants(&m);
    lr_map_release(&m);
    free(keys);
    free(want);
}

/* A table past 16,384 slots grows in steps: the next table is made (and
 * faulted in) before it is needed, a growth takes it, and the entries move
 * over a few at a time while every operation sees each entry once, in
 * whichever table it is. */
TEST(map_grows_in_steps_past_16k_slots) {
    enum { N = 60000 };
    char (*keys)[16] = calloc(N, sizeof *keys);
    lr_map m;
    CHECK_EQ_INT(lr_map_init(&m, 0), LR_OK);
    for (int i = 0; i < N; i++) snprintf(keys[i], sizeof keys[i], "k%d", i);
    int i = 0;
    for (; i < N && m.cap < 32768; i++) CHECK_EQ_INT(lr_map_put(&m, keys[i], strlen(keys[i]), V(i + 1)), LR_OK);
    CHECK(m.old == NULL && m.next == NULL);         /* 16,384 slots: rebuilt at once */
    /* load 0.55 of 32,768: the next table is made and touched a page a put */
    for (; i < N && !m.next; i++) CHECK_EQ_INT(lr_map_put(&m, keys[i], strlen(keys[i]), V(i + 1)), LR_OK);
    CHECK_EQ_INT(i, 18024);
    CHECK_EQ_INT(m.nextcap, 65536);
    const lr_map_slot *next = m.next;
    for (; i < N && !m.old; i++) CHECK_EQ_INT(lr_map_put(&m, keys[i], strlen(keys[i]), V(i + 1)), LR_OK);
    CHECK_EQ_INT(i, 22938);                         /* > 0.7 * 32,768 */
    CHECK(m.slots == next && m.next == NULL);
    CHECK_EQ_INT(m.cap, 65536);
    CHECK_EQ_INT(m.oldcap, 32768);
    CHECK_EQ_INT(m.moved, 64);
    CHECK_EQ_INT(m.n, (size_t)i);
    check_invariants(&m);
    int bad = 0;
    for (int j = 0; j < i; j++) bad += lr_map_get(&m, keys[j], strlen(keys[j])) != V(j + 1);
    CHECK_EQ_INT(bad, 0);
    /* two entries still in the old table: one replaced, one deleted */
    int in_old[2], found = 0;
    for (size_t k = m.moved; k < m.oldcap && found < 2; k++)
        if (m.old[k].key && m.old[k].key != LR_MAP_TOMB)
            in_old[found++] = (int)((uintptr_t)m.old[k].val - 1);
    CHECK_EQ_INT(found, 2);
    void *was = NULL;
    const char *a = keys[in_old[0]], *b = keys[in_old[1]];
    CHECK_EQ_INT(lr_map_add(&m, a, strlen(a), V(N + 7), &was), LR_EEXIST);
    CHECK(was == V(in_old[0] + 1));
    CHECK_EQ_INT(lr_map_put(&m, a, strlen(a), V(N + 7)), LR_OK);
    CHECK(lr_map_del(&m, b, strlen(b)));
    CHECK(!lr_map_del(&m, b, strlen(b)));
    CHECK(lr_map_get(&m, a, strlen(a)) == V(N + 7));
    CHECK(lr_map_get(&m, b, strlen(b)) == NULL);
    CHECK_EQ_INT(m.n, (size_t)i - 1);
    CHECK(m.old != NULL);
    /* a walk sees every live entry once, in both tables */
    size_t pos = 0, seen = 0;
    unsigned char *hit = calloc(N, 1);
    for (const lr_map_slot *sl; (sl = lr_map_next(&m, &pos));) {
        int v = sl->val == V(N + 7) ? in_old[0] : (int)((uintptr_t)sl->val - 1);
        bad += v < 0 || v >= i || hit[v]++;
        seen++;
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(seen, m.n);
    /* the move ends within 32,768 / 64 puts; nothing is lost */
    int start = i;
    for (; i < N && m.old; i++) CHECK_EQ_INT(lr_map_put(&m, keys[i], strlen(keys[i]), V(i + 1)), LR_OK);
    CHECK(m.old == NULL);
    CHECK(i - start <= 512);
    check_invariants(&m);
    for (int j = 0; j < i; j++) {
        void *want = j == in_old[0] ? V(N + 7) : j == in_old[1] ? NULL : V(j + 1);
        bad += lr_map_get(&m, keys[j], strlen(keys[j])) != want;
    }
    CHECK_EQ_INT(bad, 0);
    free(hit);
    lr_map_release(&m);
    free(keys);
}

int main(void) {
    if (sodium_init() < 0) return 1;
    RUN(map_put_get_del_replace);
    RUN(map_replace_borrows_the_new_key_pointer);
    RUN(map_keys_sharing_prefixes_are_distinct);
    RUN(map_empty_key_is_a_key);
    RUN(map_init_sizes_table_from_hint);
    RUN(map_init_refuses_impossible_hint);
    RUN(map_put_rejects_key_longer_than_uint32);
    RUN(map_grows_keeping_every_entry);
    RUN(map_tombstone_is_reused_and_trailing_tombstones_freed);
    RUN(map_tombstones_trigger_same_size_rebuild);
    RUN(map_rebuild_after_mass_delete_keeps_capacity);
    RUN(map_200k_keys_with_deletes_and_reinserts);
    RUN(map_grows_in_steps_past_16k_slots);
    return test_report();
}
