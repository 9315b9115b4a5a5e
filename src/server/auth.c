/* auth.c -- API keys, roles and per-key rate limits (see auth.h).
 *
 * Invariants of lr_auth: every field is read and written under `mu`; the
 * cache holds only keys the store has confirmed; an entry's map key points
 * into the entry itself (its hash), and entries are freed only by
 * lr_auth_close(). A key can be removed from the store while the server
 * runs (`keys revoke`): an entry is asked about again once it is
 * LR_AUTH_RECHECK_MS old, and one the store no longer has leaves the map
 * (it stays in `all` until lr_auth_close()).
 *
 * The hash of the presented key is what is looked up: the map compares
 * hash bytes, never the secret, and the store is asked by hash too.
 *
 * A request whose key is not in the cache (missing, malformed, unknown,
 * revoked, or not used since the start) takes a token from its client
 * address's bucket before anything else, and one with no token left is
 * refused without asking the store: someone trying keys cannot make every
 * request wait for the store lookups behind the mutex. The buckets sit in
 * a fixed table (FAIL_SETS sets of FAIL_WAYS), found by a keyed hash of
 * the address (IPv6 by its /64), so no number of addresses grows it and
 * no one can aim at another address's set; a full set gives the slot
 * whose bucket is fullest to the newcomer, bucket and all (a fresh, full
 * one would hand a burst to whoever cycles through more addresses than
 * the table holds). All such requests also share one bucket of
 * LR_AUTH_UNKNOWN_ALL times the rate: whatever the number of addresses,
 * the store is asked at most that often for keys it may not have.
 */
#include "server/auth.h"

#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/map.h"
#include "leadrouter/error.h"

const char *const lr_role_names[LR_ROLE__COUNT] = {
#define LR_ROLE_NAME(e, s) s,
    LR_ROLE_MAP(LR_ROLE_NAME)
#undef LR_ROLE_NAME
};

int lr_role_lookup(const char *name) {
    for (int i = 0; i < LR_ROLE__COUNT; i++)
        if (strcmp(lr_role_names[i], name) == 0) return i;
    return -1;
}

/* ---- keys ------------------------------------------------------------------ */

/* See auth.h. */
int lr_key_generate(char *key, char *id) {
    if (sodium_init() < 0) return LR_EIO;
    unsigned char raw[LR_KEY_RANDOM_BYTES];
    randombytes_buf(raw, sizeof raw);
    memcpy(key, LR_KEY_PREFIX, 3);
    sodium_bin2base64(key + 3, LR_KEY_LEN + 1 - 3, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
    memcpy(id, key + 3, LR_KEY_ID_LEN);
    id[LR_KEY_ID_LEN] = '\0';
    return LR_OK;
}

static bool b64url_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* See auth.h. 24 bytes encode to exactly 32 characters, all significant,
 * so any 32 base64url characters are a possible key. */
bool lr_key_well_formed(const char *key, size_t len) {
    if (len != LR_KEY_LEN || memcmp(key, LR_KEY_PREFIX, 3) != 0) return false;
    for (size_t i = 3; i < len; i++)
        if (!b64url_char(key[i])) return false;
    return true;
}

/* See auth.h. */
void lr_key_hash(const char *key, size_t len, unsigned char out[32]) {
    crypto_generichash(out, 32, (const unsigned char *)key, len, NULL, 0);
}

/* ---- token bucket ------------------------------------------------------------ */

/* See auth.h. */
bool lr_bucket_take(lr_bucket *b, double rate, double burst, int64_t now_ms,
                    int *retry_after) {
    if (rate <= 0) return true;
    if (burst < 1) burst = 1;
    if (b->last_ms == LR_BUCKET_FRESH) {
        b->tokens = burst;
        b->last_ms = now_ms;
    } else if (now_ms > b->last_ms) {
        b->tokens += (double)(now_ms - b->last_ms) * rate / 1000.0;
        if (b->tokens > burst) b->tokens = burst;
        b->last_ms = now_ms;
    }
    if (b->tokens >= 1.0) {
        b->tokens -= 1.0;
        return true;
    }
    double secs = ceil((1.0 - b->tokens) / rate);
    *retry_after = secs < 1 ? 1 : secs > 3600 ? 3600 : (int)secs;
    return false;
}

/* ---- the server's lookup -------------------------------------------------------- */

typedef struct entry {
    unsigned char hash[32];         /* the map's key points here */
    lr_principal who;
    lr_bucket bucket;
    int64_t checked_ms;             /* when the store last confirmed it */
} entry;

#define FAIL_SETS 1024
#define FAIL_WAYS 4

typedef struct fail_slot {
    uint64_t tag;                   /* the address's keyed hash, never 0; 0: free */
    lr_bucket bucket;
} fail_slot;

struct lr_auth {
    pthread_mutex_t mu;
    lr_store *store;                /* own handle; used only under mu */
    lr_map cache;                   /* hash -> entry* */
    entry **all;                    /* every entry, to free them */
    size_t nall, capall;
    double rate, burst;
    double fail_rate, fail_burst;   /* per address, for keys not in the cache */
    lr_bucket fail_all;             /* every address together: LR_AUTH_UNKNOWN_ALL times */
    unsigned char fail_key[crypto_shorthash_KEYBYTES];
    fail_slot *fails;               /* FAIL_SETS * FAIL_WAYS */
};

/* See auth.h. */
int lr_auth_open(const char *db_path, double rate, double burst, double unknown_rate,
                 lr_auth **out, char *err, size_t errlen) {
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium cannot start");
        return LR_EIO;
    }
    lr_auth *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "%s", lr_strerror(LR_ENOMEM));
        return LR_ENOMEM;
    }
    a->rate = rate > 0 ? rate : 0;
    a->burst = burst > 0 ? burst : 2 * a->rate;
    a->fail_rate = unknown_rate > 0 ? unknown_rate : 0;
    a->fail_burst = LR_AUTH_UNKNOWN_BURST * a->fail_rate;
    a->fail_all.last_ms = LR_BUCKET_FRESH;
    crypto_shorthash_keygen(a->fail_key);
    a->fails = calloc(FAIL_SETS * FAIL_WAYS, sizeof *a->fails);
    int rc = a->fails ? lr_map_init(&a->cache, 16) : LR_ENOMEM;
    if (rc != LR_OK) {
        snprintf(err, errlen, "%s", lr_strerror(rc));
        free(a->fails);
        free(a);
        return rc;
    }
    rc = lr_store_open_again(db_path, LR_SYNC_FULL, &a->store, err, errlen);
    if (rc != LR_OK) {
        lr_map_release(&a->cache);
        free(a->fails);
        free(a);
        return rc;
    }
    pthread_mutex_init(&a->mu, NULL);
    *out = a;
    return LR_OK;
}

/* See auth.h. */
void lr_auth_close(lr_auth *a) {
    if (!a) return;
    for (size_t i = 0; i < a->nall; i++) {
        sodium_memzero(a->all[i]->hash, sizeof a->all[i]->hash);
        free(a->all[i]);
    }
    free(a->all);
    lr_map_release(&a->cache);
    free(a->fails);
    lr_store_close(a->store);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

/* Asks the store for HASH: LR_OK with WHO's role and agent set, LR_ENOENT
 * for no key or an unusable row, or LR_EIO. Called under a->mu. */
static int find_key(lr_auth *a, const unsigned char hash[32], lr_principal *who) {
    char role[16], agent[LR_AGENT_ID_MAX + 1];
    int rc = lr_store_key_find(a->store, hash, role, sizeof role, agent, sizeof agent);
    if (rc == LR_ERANGE) return LR_ENOENT;          /* an unusable row */
    if (rc != LR_OK) return rc == LR_ENOENT ? LR_ENOENT : LR_EIO;
    int r = lr_role_lookup(role);
    if (r < 0 || (r == LR_ROLE_AGENT && agent[0] == '\0')) return LR_ENOENT;
    who->role = (lr_role)r;
    snprintf(who->agent, sizeof who->agent, "%s", r == LR_ROLE_AGENT ? agent : "");
    return LR_OK;
}

/* Asks the store for HASH and caches the answer. Called under a->mu.
 * Returns LR_OK with *out, LR_ENOENT, LR_EIO or LR_ENOMEM. */
static int load_entry(lr_auth *a, const unsigned char hash[32], entry **out) {
    lr_principal who = { 0 };
    int rc = find_key(a, hash, &who);
    if (rc != LR_OK) return rc;
    if (a->nall == a->capall) {
        size_t ncap = a->capall ? 2 * a->capall : 16;
        entry **n = realloc(a->all, ncap * sizeof *n);
        if (!n) return LR_ENOMEM;
        a->all = n;
        a->capall = ncap;
    }
    entry *e = calloc(1, sizeof *e);
    if (!e) return LR_ENOMEM;
    memcpy(e->hash, hash, 32);
    e->who = who;
    e->bucket.last_ms = LR_BUCKET_FRESH;
    if ((rc = lr_map_put(&a->cache, (const char *)e->hash, 32, e)) != LR_OK) {
        free(e);
        return rc;
    }
    a->all[a->nall++] = e;
    *out = e;
    return LR_OK;
}

/* The tokens B would hold at NOW_MS (a fresh bucket is full). */
static double tokens_at(const lr_bucket *b, double rate, double burst, int64_t now_ms) {
    if (b->last_ms == LR_BUCKET_FRESH) return burst;
    double t = b->tokens;
    if (now_ms > b->last_ms) t += (double)(now_ms - b->last_ms) * rate / 1000.0;
    return t > burst ? burst : t;
}

/* The bucket of the client address FROM (NULL or a family other than IPv4
 * and IPv6: one shared bucket). Called under a->mu. */
static lr_bucket *fail_bucket(lr_auth *a, const struct sockaddr *from, int64_t now_ms) {
    unsigned char buf[9] = { 0 }, h[crypto_shorthash_BYTES];
    size_t n = 1;
    if (from && from->sa_family == AF_INET) {
        buf[0] = 4;
        memcpy(buf + 1, &((const struct sockaddr_in *)(const void *)from)->sin_addr, 4);
        n = 5;
    } else if (from && from->sa_family == AF_INET6) {
        const struct in6_addr *in6 = &((const struct sockaddr_in6 *)(const void *)from)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(in6)) {
            buf[0] = 4;
            memcpy(buf + 1, in6->s6_addr + 12, 4);
            n = 5;
        } else {
            buf[0] = 6;
            memcpy(buf + 1, in6->s6_addr, 8);       /* its /64 */
            n = 9;
        }
    }
    crypto_shorthash(h, buf, n, a->fail_key);
    uint64_t tag;
    memcpy(&tag, h, sizeof tag);
    tag |= 1;
    fail_slot *set = a->fails + (tag >> 1) % FAIL_SETS * FAIL_WAYS, *victim = set;
    double most = -1;
    for (int i = 0; i < FAIL_WAYS; i++) {
        if (set[i].tag == tag) return &set[i].bucket;
        double t = set[i].tag ? tokens_at(&set[i].bucket, a->fail_rate, a->fail_burst, now_ms)
                              : a->fail_burst + 1;
        if (t > most) most = t, victim = &set[i];
    }
    if (!victim->tag) victim->bucket.last_ms = LR_BUCKET_FRESH;    /* a free slot: full */
    victim->tag = tag;
    return &victim->bucket;
}

/* Takes a token for a request from FROM whose key is not in the cache:
 * false (with *retry_after) when FROM, or every address together, has
 * none left. Called under a->mu. */
static bool take_unknown(lr_auth *a, const struct sockaddr *from, int64_t now_ms, int *retry_after) {
    if (!lr_bucket_take(fail_bucket(a, from, now_ms), a->fail_rate, a->fail_burst, now_ms,
                        retry_after))
        return false;
    return lr_bucket_take(&a->fail_all, LR_AUTH_UNKNOWN_ALL * a->fail_rate,
                          LR_AUTH_UNKNOWN_ALL * a->fail_burst, now_ms, retry_after);
}

/* See auth.h. */
int lr_auth_unknown(lr_auth *a, const struct sockaddr *from, int64_t now_ms, int *retry_after) {
    pthread_mutex_lock(&a->mu);
    bool ok = take_unknown(a, from, now_ms, retry_after);
    pthread_mutex_unlock(&a->mu);
    return ok ? LR_ENOENT : LR_ESTATE;
}

/* See auth.h. */
int lr_auth_check(lr_auth *a, const char *key, size_t len, const struct sockaddr *from,
                  int64_t now_ms, lr_principal *who, int *retry_after) {
    if (!lr_key_well_formed(key, len)) return lr_auth_unknown(a, from, now_ms, retry_after);
    unsigned char hash[32];
    lr_key_hash(key, len, hash);

    pthread_mutex_lock(&a->mu);
    entry *e = lr_map_get(&a->cache, (const char *)hash, 32);
    int rc = LR_OK;
    if (!e && !take_unknown(a, from, now_ms, retry_after)) {
        rc = LR_ESTATE;                 /* too many unknown keys: this address, or all */
    } else if (e && now_ms - e->checked_ms >= LR_AUTH_RECHECK_MS) {
        /* revoked since, or its role or agent changed in the store */
        int fr = find_key(a, hash, &e->who);
        if (fr == LR_OK) {
            e->checked_ms = now_ms;
        } else if (fr == LR_ENOENT) {
            lr_map_del(&a->cache, (const char *)e->hash, 32);
            e = NULL;
            rc = LR_ENOENT;
        } else {
            rc = LR_EIO;                /* asked again at the next request */
        }
    } else if (!e) {
        rc = load_entry(a, hash, &e);
        if (rc == LR_OK) e->checked_ms = now_ms;
    }
    if (rc == LR_OK) {
        /* The map found the entry by its hash; confirm in constant time. */
        if (sodium_memcmp(e->hash, hash, 32) != 0) rc = LR_ENOENT;
    }
    if (rc == LR_OK) {
        *who = e->who;
        memcpy(who->key_id, key + 3, LR_KEY_ID_LEN);
        who->key_id[LR_KEY_ID_LEN] = '\0';
        int wait = 0;
        if (!lr_bucket_take(&e->bucket, a->rate, a->burst, now_ms, &wait)) {
            *retry_after = wait;
            rc = LR_ERANGE;
        }
    }
    pthread_mutex_unlock(&a->mu);
    sodium_memzero(hash, sizeof hash);
    return rc;
}
