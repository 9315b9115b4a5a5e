/* auth.h -- API keys, roles and the per-key rate limit of the HTTP server.
 *
 * A key is "lr_" followed by the unpadded base64url encoding of 24 random
 * bytes (192 bits): 35 characters, e.g. "lr_3q2-7wAAAAB5hcpT0...". Its id is
 * the 8 characters after "lr_": public, shown in listings and logs. The
 * store keeps only the BLAKE2b-256 hash of the whole key (libsodium's
 * crypto_generichash), so a copy of the database gives no usable key.
 *
 * Roles:
 *   admin    everything
 *   ingest   POST /v1/leads and /v1/forms/{source} only
 *   agent    bound to one agent: its own leads, progress, claim, accept,
 *            decline, next, its own status
 *
 * lr_auth is the server's lookup: a cache (key hash -> role, agent, token
 * bucket) in front of its own store handle, both under one mutex, so any
 * connection thread may call lr_auth_check(). A miss asks the store, so a
 * key made by `leadrouter keys create` while the server runs works at
 * once. Malformed keys never reach the store. Unknown keys are not cached
 * (nothing stale to expire when they are created later). A request whose
 * key is not in the cache takes a token from its client address's bucket
 * first (lr_auth_unknown()): an address that sends many unknown keys is
 * refused before its requests reach the store, and keys already in use
 * are never held up by it.
 *
 * The token bucket takes "now" as a parameter: nothing here reads a clock.
 */
#ifndef LR_SERVER_AUTH_H
#define LR_SERVER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "leadrouter/store.h"

#define LR_KEY_PREFIX "lr_"
#define LR_KEY_RANDOM_BYTES 24
#define LR_KEY_LEN 35                   /* "lr_" + 32 base64url characters */
#define LR_KEY_ID_LEN 8
#define LR_AGENT_ID_MAX 256             /* as the event parser's ids */

#define LR_ROLE_MAP(X) X(ADMIN, "admin") X(INGEST, "ingest") X(AGENT, "agent")
typedef enum lr_role {
#define LR_ROLE_ENUM(e, s) LR_ROLE_##e,
    LR_ROLE_MAP(LR_ROLE_ENUM)
#undef LR_ROLE_ENUM
    LR_ROLE__COUNT
} lr_role;
extern const char *const lr_role_names[LR_ROLE__COUNT];

/* Returns the role named NAME, or -1. */
int lr_role_lookup(const char *name);

/* Who a request comes from, once its key is known. */
typedef struct lr_principal {
    lr_role role;
    char key_id[LR_KEY_ID_LEN + 1];
    char agent[LR_AGENT_ID_MAX + 1];    /* agent role: the bound agent; else "" */
} lr_principal;

/* ---- keys ------------------------------------------------------------------ */

/* Makes a new random key into KEY (LR_KEY_LEN + 1 bytes, NUL-terminated)
 * and its id into ID (LR_KEY_ID_LEN + 1 bytes). Returns LR_OK, or LR_EIO
 * when libsodium cannot start. */
int lr_key_generate(char *key, char *id);

/* True when KEY (LEN bytes) has the shape of a key: the prefix, then
 * exactly 32 base64url characters. Says nothing about whether it exists. */
bool lr_key_well_formed(const char *key, size_t len);

/* The stored hash of KEY (LEN bytes): BLAKE2b-256, unkeyed. */
void lr_key_hash(const char *key, size_t len, unsigned char out[32]);

/* ---- token bucket ------------------------------------------------------------ */

/* RATE tokens per second refill a bucket of BURST tokens; a request takes
 * one. A fresh bucket (last_ms == LR_BUCKET_FRESH) is full. */
typedef struct lr_bucket {
    double tokens;
    int64_t last_ms;
} lr_bucket;
#define LR_BUCKET_FRESH INT64_MIN

/* A key the server knows is asked about in the store again once this old
 * (ms): a revoked key (`keys revoke`) is refused within it. */
#define LR_AUTH_RECHECK_MS 1000
/* The bucket of a client address for keys not in the cache holds this
 * many seconds of its rate. */
#define LR_AUTH_UNKNOWN_BURST 10
/* ... and all addresses together have this many times an address's rate
 * and burst. */
#define LR_AUTH_UNKNOWN_ALL 64

/* Takes one token at time NOW_MS (any monotonic milliseconds). Returns
 * true when there was one; otherwise false with *retry_after the whole
 * seconds (>= 1) until there will be. RATE <= 0 means no limit (always
 * true). A clock that goes backwards refills nothing. */
bool lr_bucket_take(lr_bucket *b, double rate, double burst, int64_t now_ms,
                    int *retry_after);

/* ---- the server's lookup -------------------------------------------------------- */

typedef struct lr_auth lr_auth;

/* Opens the lookup on the store at DB_PATH (its own handle). RATE is the
 * requests per second per key (0: no limit), BURST the bucket size (0:
 * twice RATE); UNKNOWN_RATE the requests per second per client address
 * whose key is not in the cache, in bursts of LR_AUTH_UNKNOWN_BURST times
 * it (0: no limit). Returns LR_OK and *out, or an error with a message in
 * ERR. */
int lr_auth_open(const char *db_path, double rate, double burst, double unknown_rate,
                 lr_auth **out, char *err, size_t errlen);
void lr_auth_close(lr_auth *a);         /* accepts NULL */

/* Checks the bearer key KEY (LEN bytes) sent from the client address FROM
 * (may be NULL) at time NOW_MS. Returns LR_OK with *who filled; LR_ENOENT
 * for a malformed or unknown key; LR_ESTATE when the key is not in the
 * cache and FROM, or all addresses together, are over their rate for such
 * keys (*retry_after set; the store was not asked); LR_ERANGE when the key is over its rate
 * (*retry_after set, *who filled); LR_EIO when the store failed.
 * Thread-safe. */
int lr_auth_check(lr_auth *a, const char *key, size_t len, const struct sockaddr *from,
                  int64_t now_ms, lr_principal *who, int *retry_after);

/* A request from FROM at NOW_MS that has no key to check (no
 * Authorization header, or not "Bearer KEY"): takes a token from FROM's
 * bucket and the shared one. Returns LR_ENOENT (answer 401), or LR_ESTATE
 * when either is empty (*retry_after set). Thread-safe. */
int lr_auth_unknown(lr_auth *a, const struct sockaddr *from, int64_t now_ms, int *retry_after);

#endif
