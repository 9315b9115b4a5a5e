/* test_auth.c -- API keys (format, hash), the token bucket (with an
 * injected clock), and the server's key lookup on a real store. */
#include "leadrouter/error.h"
#include "leadrouter/store.h"
#include "server/auth.h"
#include "test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdlib.h>
#include <unistd.h>

static void hex(const unsigned char *h, size_t n, char *out) {
    sodium_bin2hex(out, 2 * n + 1, h, n);
}

TEST(key_is_prefix_and_32_base64url_characters) {
    char key[LR_KEY_LEN + 1], id[LR_KEY_ID_LEN + 1];
    CHECK_EQ_INT(lr_key_generate(key, id), LR_OK);
    CHECK_EQ_INT(strlen(key), 35);
    CHECK(strncmp(key, "lr_", 3) == 0);
    for (size_t i = 3; i < strlen(key); i++)
        CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", key[i]));
    CHECK(lr_key_well_formed(key, strlen(key)));
}

TEST(key_id_is_the_8_characters_after_the_prefix) {
    char key[LR_KEY_LEN + 1], id[LR_KEY_ID_LEN + 1];
    lr_key_generate(key, id);
    CHECK_EQ_INT(strlen(id), 8);
    CHECK(memcmp(id, key + 3, 8) == 0);
}

TEST(keys_carry_192_random_bits) {
    /* 32 base64url characters decode back to 24 bytes, and two keys differ. */
    char a[LR_KEY_LEN + 1], b[LR_KEY_LEN + 1], id[LR_KEY_ID_LEN + 1];
    lr_key_generate(a, id);
    lr_key_generate(b, id);
    CHECK(strcmp(a, b) != 0);
    unsigned char raw[64];
    size_t n = 0;
    CHECK_EQ_INT(sodium_base642bin(raw, sizeof raw, a + 3, 32, NULL, &n, NULL,
                                   sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
    CHECK_EQ_INT(n, 24);
}

TEST(malformed_keys_are_refused_before_any_lookup) {
    const char *good = "lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    CHECK(lr_key_well_formed(good, strlen(good)));
    CHECK(!lr_key_well_formed("lr_AAAA", 7));
    CHECK(!lr_key_well_formed("xx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 35));
    CHECK(!lr_key_well_formed("lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA+", 35));
    CHECK(!lr_key_well_formed("lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/", 35));
    CHECK(!lr_key_well_formed("lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", 35));
    CHECK(!lr_key_well_formed("lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 36));
    CHECK(!lr_key_well_formed("lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\0", 35));
}

TEST(key_hash_is_blake2b_256_of_the_whole_key) {
    unsigned char h[32];
    char hx[65];
    lr_key_hash("abc", 3, h);
    hex(h, 32, hx);
    CHECK_EQ_STR(hx, "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
    lr_key_hash("lr_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 35, h);
    hex(h, 32, hx);
    CHECK_EQ_STR(hx, "0f33ec62863fe42f3ad2e4be28ed5e4a019ac52a061d35c3f2d61904c52c65dc");
}

TEST(role_names_round_trip) {
    CHECK_EQ_INT(lr_role_lookup("admin"), LR_ROLE_ADMIN);
    CHECK_EQ_INT(lr_role_lookup("ingest"), LR_ROLE_INGEST);
    CHECK_EQ_INT(lr_role_lookup("agent"), LR_ROLE_AGENT);
    CHECK_EQ_INT(lr_role_lookup("Admin"), -1);
    CHECK_EQ_INT(lr_role_lookup(""), -1);
}

/* ---- token bucket ---- */

TEST(bucket_allows_the_burst_then_refuses) {
    lr_bucket b = { 0, LR_BUCKET_FRESH };
    int retry = -1;
    for (int i = 0; i < 200; i++) CHECK(lr_bucket_take(&b, 100, 200, 1000, &retry));
    CHECK(!lr_bucket_take(&b, 100, 200, 1000, &retry));
    CHECK_EQ_INT(retry, 1);
}

TEST(bucket_refills_at_the_rate) {
    lr_bucket b = { 0, LR_BUCKET_FRESH };
    int retry = 0;
    for (int i = 0; i < 20; i++) lr_bucket_take(&b, 10, 20, 0, &retry);
    CHECK(!lr_bucket_take(&b, 10, 20, 0, &retry));
    CHECK(!lr_bucket_take(&b, 10, 20, 99, &retry));   /* 0.99 of a token */
    CHECK(lr_bucket_take(&b, 10, 20, 100, &retry));   /* one token after 100 ms */
    CHECK(!lr_bucket_take(&b, 10, 20, 100, &retry));
    /* 500 ms later: 5 tokens, no more */
    for (int i = 0; i < 5; i++) CHECK(lr_bucket_take(&b, 10, 20, 600, &retry));
    CHECK(!lr_bucket_take(&b, 10, 20, 600, &retry));
}

TEST(bucket_never_holds_more_than_the_burst) {
    lr_bucket b = { 0, LR_BUCKET_FRESH };
    int retry = 0, ok = 0;
    lr_bucket_take(&b, 10, 20, 0, &retry);
    for (int i = 0; i < 100; i++) ok += lr_bucket_take(&b, 10, 20, 3600000, &retry);
    CHECK_EQ_INT(ok, 20);
}

TEST(bucket_retry_after_is_whole_seconds_rounded_up) {
    lr_bucket b = { 0, LR_BUCKET_FRESH };
    int retry = 0;
    CHECK(lr_bucket_take(&b, 0.25, 1, 0, &retry));
    CHECK(!lr_bucket_take(&b, 0.25, 1, 0, &retry));
    CHECK_EQ_INT(retry, 4);                          /* one token in 4 s */
    CHECK(!lr_bucket_take(&b, 0.25, 1, 1500, &retry));
    CHECK_EQ_INT(retry, 3);                          /* 2.5 s left, rounded up */
}

TEST(bucket_ignores_a_clock_going_backwards) {
    lr_bucket b = { 0, LR_BUCKET_FRESH };
    int retry = 0;
    CHECK(lr_bucket_take(&b, 1, 1, 10000, &retry));
    CHECK(!lr_bucket_take(&b, 1, 1, 5000, &retry));
    CHECK(!lr_bucket_take(&b, 1, 1, 10999, &retry));
    CHECK(lr_bucket_take(&b, 1, 1, 11000, &retry));
}

TEST(bucket_with_rate_zero_never_refuses) {
    lr_bucket b = { 0, LR_BUCKET_FRESH };
    int retry = 0;
    for (int i = 0; i < 10000; i++) CHECK(lr_bucket_take(&b, 0, 0, 0, &retry));
}

/* ---- the lookup, on a store in a temporary file ---- */

static char dbdir[64];
static char dbpath[96];

/* A new store at dbpath: the server's key lookup opens the store its
 * service made (lr_store_open_again), never a new one. */
static void db_setup(void) {
    snprintf(dbdir, sizeof dbdir, "/tmp/lr-test-auth.XXXXXX");
    if (!mkdtemp(dbdir)) abort();
    snprintf(dbpath, sizeof dbpath, "%s/db", dbdir);
    lr_store *s = NULL;
    char err[256];
    if (lr_store_open(dbpath, LR_SYNC_OFF, &s, err, sizeof err) != LR_OK) abort();
    lr_store_close(s);
}

static void db_teardown(void) {
    char p[128];
    static const char *const suffix[] = { "", "-wal", "-shm" };
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", dbpath, suffix[i]);
        unlink(p);
    }
    rmdir(dbdir);
}

/* Stores a new key with ROLE and AGENT; returns it in KEY. */
static void add_key(const char *role, const char *agent, char *key) {
    lr_store *s = NULL;
    char err[256];
    char id[LR_KEY_ID_LEN + 1];
    unsigned char h[32];
    if (lr_store_open(dbpath, LR_SYNC_OFF, &s, err, sizeof err) != LR_OK) abort();
    lr_key_generate(key, id);
    lr_key_hash(key, strlen(key), h);
    if (lr_store_key_add(s, id, h, role, agent, 0) != LR_OK) abort();
    lr_store_close(s);
}

/* `keys revoke` removes a key from the store while the server runs: the
 * server refuses it once it asks again (LR_AUTH_RECHECK_MS); the other
 * keys, and their rate limits, go on. */
TEST(lookup_refuses_a_revoked_key_within_a_second) {
    db_setup();
    char bob[LR_KEY_LEN + 1], ann[LR_KEY_LEN + 1];
    add_key("agent", "bob", bob);
    add_key("agent", "ann", ann);
    lr_auth *a = NULL;
    char err[256];
    CHECK_EQ_INT(lr_auth_open(dbpath, 1, 3, 0, &a, err, sizeof err), LR_OK);
    lr_principal who;
    int retry = 0;
    CHECK_EQ_INT(lr_auth_check(a, bob, strlen(bob), NULL, 10000, &who, &retry), LR_OK);
    CHECK_EQ_INT(lr_auth_check(a, ann, strlen(ann), NULL, 10000, &who, &retry), LR_OK);
    CHECK_EQ_INT(lr_auth_check(a, ann, strlen(ann), NULL, 10000, &who, &retry), LR_OK);
    lr_store *s = NULL;
    char id[LR_KEY_ID_LEN + 1];
    memcpy(id, bob + 3, LR_KEY_ID_LEN);
    id[LR_KEY_ID_LEN] = '\0';
    CHECK_EQ_INT(lr_store_open(dbpath, LR_SYNC_OFF, &s, err, sizeof err), LR_OK);
    CHECK_EQ_INT(lr_store_key_remove(s, id), LR_OK);
    CHECK_EQ_INT(lr_store_key_remove(s, id), LR_ENOENT);
    lr_store_close(s);
    /* known and confirmed less than a second ago: still taken */
    CHECK_EQ_INT(lr_auth_check(a, bob, strlen(bob), NULL, 10999, &who, &retry), LR_OK);
    CHECK_EQ_INT(lr_auth_check(a, bob, strlen(bob), NULL, 11000, &who, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_check(a, bob, strlen(bob), NULL, 11001, &who, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_check(a, bob, strlen(bob), NULL, 99000, &who, &retry), LR_ENOENT);
    /* ann goes on */
    CHECK_EQ_INT(lr_auth_check(a, ann, strlen(ann), NULL, 11000, &who, &retry), LR_OK);
    CHECK_EQ_STR(who.agent, "ann");
    lr_auth_close(a);
    db_teardown();
}

TEST(lookup_finds_role_and_agent_of_a_stored_key) {
    db_setup();
    char admin[LR_KEY_LEN + 1], bob[LR_KEY_LEN + 1];
    add_key("admin", NULL, admin);
    add_key("agent", "bob", bob);
    lr_auth *a = NULL;
    char err[256];
    CHECK_EQ_INT(lr_auth_open(dbpath, 0, 0, 0, &a, err, sizeof err), LR_OK);
    lr_principal who;
    int retry = 0;
    CHECK_EQ_INT(lr_auth_check(a, admin, strlen(admin), NULL, 0, &who, &retry), LR_OK);
    CHECK_EQ_INT(who.role, LR_ROLE_ADMIN);
    CHECK_EQ_STR(who.agent, "");
    CHECK(memcmp(who.key_id, admin + 3, 8) == 0 && who.key_id[8] == '\0');
    CHECK_EQ_INT(lr_auth_check(a, bob, strlen(bob), NULL, 0, &who, &retry), LR_OK);
    CHECK_EQ_INT(who.role, LR_ROLE_AGENT);
    CHECK_EQ_STR(who.agent, "bob");
    /* again, from the cache */
    CHECK_EQ_INT(lr_auth_check(a, bob, strlen(bob), NULL, 0, &who, &retry), LR_OK);
    CHECK_EQ_STR(who.agent, "bob");
    lr_auth_close(a);
    db_teardown();
}

TEST(lookup_refuses_unknown_and_malformed_keys) {
    db_setup();
    char admin[LR_KEY_LEN + 1];
    add_key("admin", NULL, admin);
    lr_auth *a = NULL;
    char err[256];
    CHECK_EQ_INT(lr_auth_open(dbpath, 0, 0, 0, &a, err, sizeof err), LR_OK);
    lr_principal who;
    int retry = 0;
    char other[LR_KEY_LEN + 1];
    memcpy(other, admin, sizeof other);
    other[20] = other[20] == 'A' ? 'B' : 'A';       /* one character off */
    CHECK_EQ_INT(lr_auth_check(a, other, strlen(other), NULL, 0, &who, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_check(a, admin, 34, NULL, 0, &who, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_check(a, "", 0, NULL, 0, &who, &retry), LR_ENOENT);
    lr_auth_close(a);
    db_teardown();
}

TEST(lookup_sees_a_key_created_after_a_miss) {
    db_setup();
    char first[LR_KEY_LEN + 1], later[LR_KEY_LEN + 1];
    add_key("ingest", NULL, first);
    lr_auth *a = NULL;
    char err[256];
    CHECK_EQ_INT(lr_auth_open(dbpath, 0, 0, 0, &a, err, sizeof err), LR_OK);
    lr_principal who;
    int retry = 0;
    char id[LR_KEY_ID_LEN + 1];
    lr_key_generate(later, id);
    CHECK_EQ_INT(lr_auth_check(a, later, strlen(later), NULL, 0, &who, &retry), LR_ENOENT);
    /* `leadrouter keys create` while the server runs: */
    lr_store *s = NULL;
    unsigned char h[32];
    CHECK_EQ_INT(lr_store_open(dbpath, LR_SYNC_OFF, &s, err, sizeof err), LR_OK);
    lr_key_hash(later, strlen(later), h);
    CHECK_EQ_INT(lr_store_key_add(s, id, h, "ingest", NULL, 0), LR_OK);
    lr_store_close(s);
    CHECK_EQ_INT(lr_auth_check(a, later, strlen(later), NULL, 0, &who, &retry), LR_OK);
    CHECK_EQ_INT(who.role, LR_ROLE_INGEST);
    lr_auth_close(a);
    db_teardown();
}

TEST(lookup_limits_each_key_on_its_own) {
    db_setup();
    char k1[LR_KEY_LEN + 1], k2[LR_KEY_LEN + 1];
    add_key("admin", NULL, k1);
    add_key("admin", NULL, k2);
    lr_auth *a = NULL;
    char err[256];
    CHECK_EQ_INT(lr_auth_open(dbpath, 2, 4, 0, &a, err, sizeof err), LR_OK);
    lr_principal who;
    int retry = 0;
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(lr_auth_check(a, k1, 35, NULL, 1000, &who, &retry), LR_OK);
    memset(&who, 0, sizeof who);
    CHECK_EQ_INT(lr_auth_check(a, k1, 35, NULL, 1000, &who, &retry), LR_ERANGE);
    CHECK_EQ_INT(retry, 1);
    CHECK(memcmp(who.key_id, k1 + 3, 8) == 0);      /* says which key */
    CHECK_EQ_INT(lr_auth_check(a, k2, 35, NULL, 1000, &who, &retry), LR_OK);
    CHECK_EQ_INT(lr_auth_check(a, k1, 35, NULL, 1500, &who, &retry), LR_OK);   /* 2/s refills */
    lr_auth_close(a);
    db_teardown();
}

static struct sockaddr_in v4(const char *a) {
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    inet_pton(AF_INET, a, &sa.sin_addr);
    return sa;
}

static struct sockaddr_in6 v6(const char *a) {
    struct sockaddr_in6 sa;
    memset(&sa, 0, sizeof sa);
    sa.sin6_family = AF_INET6;
    inet_pton(AF_INET6, a, &sa.sin6_addr);
    return sa;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* Someone trying keys from one address: 1/s in bursts of 10, then 429
 * (LR_ESTATE) without a store lookup; other addresses, and keys already
 * in use from the same address, go on; a new good key waits its turn. */
TEST(an_address_that_tries_unknown_keys_is_refused_for_a_while) {
    db_setup();
    char good[LR_KEY_LEN + 1], fresh[LR_KEY_LEN + 1], bad[LR_KEY_LEN + 1], id[LR_KEY_ID_LEN + 1];
    add_key("admin", NULL, good);
    add_key("admin", NULL, fresh);
    lr_key_generate(bad, id);                       /* well formed, never stored */
    lr_auth *a = NULL;
    char err[256];
    CHECK_EQ_INT(lr_auth_open(dbpath, 0, 0, 1, &a, err, sizeof err), LR_OK);
    lr_principal who;
    int retry = 0;
    struct sockaddr_in x = v4("198.51.100.7"), y = v4("198.51.100.8");
    struct sockaddr_in6 x6 = v6("::ffff:198.51.100.7"), z = v6("2001:db8:1:2::5"),
                        z2 = v6("2001:db8:1:2:ffff::9"), w = v6("2001:db8:1:3::5");
    CHECK_EQ_INT(lr_auth_check(a, good, 35, SA(x), 5000, &who, &retry), LR_OK);  /* 1 token */
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(x), 5000, &who, &retry), LR_ENOENT);
    for (int i = 0; i < 3; i++) CHECK_EQ_INT(lr_auth_check(a, "lr_x", 4, SA(x), 5000, &who, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_unknown(a, SA(x), 5000, &retry), LR_ENOENT);  /* the 10th token */
    CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(x), 5000, &who, &retry), LR_ESTATE);
    CHECK_EQ_INT(retry, 1);
    CHECK_EQ_INT(lr_auth_unknown(a, SA(x), 5000, &retry), LR_ESTATE);
    CHECK_EQ_INT(lr_auth_check(a, "", 0, SA(x6), 5000, &who, &retry), LR_ESTATE);  /* v4-mapped: the same */
    /* a key already in use goes on; a new one waits for a token */
    CHECK_EQ_INT(lr_auth_check(a, good, 35, SA(x), 5000, &who, &retry), LR_OK);
    CHECK_EQ_INT(lr_auth_check(a, fresh, 35, SA(x), 5999, &who, &retry), LR_ESTATE);
    CHECK_EQ_INT(lr_auth_check(a, fresh, 35, SA(x), 6000, &who, &retry), LR_OK);
    CHECK_EQ_INT(lr_auth_check(a, fresh, 35, SA(x), 6000, &who, &retry), LR_OK);
    CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(x), 6000, &who, &retry), LR_ESTATE);
    /* other addresses have their own buckets; IPv6 by its /64 */
    CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(y), 6000, &who, &retry), LR_ENOENT);
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(z), 6000, &who, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(z2), 6000, &who, &retry), LR_ESTATE);
    CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(w), 6000, &who, &retry), LR_ENOENT);
    /* refilled after 10 s */
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(x), 16000, &who, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_check(a, bad, 35, SA(x), 16000, &who, &retry), LR_ESTATE);
    lr_auth_close(a);
    db_teardown();
}

/* Many addresses at once: each address has its bucket, but together they
 * have LR_AUTH_UNKNOWN_ALL times one (64 x 10 tokens, 64 a second): no
 * number of addresses makes the store be asked faster. A newcomer to a
 * full set of the fixed table takes the fullest slot's bucket as it is,
 * not a fresh one. */
TEST(unknown_keys_from_many_addresses_are_bounded_together) {
    db_setup();
    lr_auth *a = NULL;
    char err[256];
    CHECK_EQ_INT(lr_auth_open(dbpath, 0, 0, 1, &a, err, sizeof err), LR_OK);
    int retry = 0, taken = 0;
    for (unsigned i = 0; i < 100000; i++) {
        struct sockaddr_in sa;
        memset(&sa, 0, sizeof sa);
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(0x0a000000u + i);
        taken += lr_auth_unknown(a, SA(sa), 1000, &retry) == LR_ENOENT;
    }
    CHECK_EQ_INT(taken, LR_AUTH_UNKNOWN_ALL * LR_AUTH_UNKNOWN_BURST);
    /* 10 s later the shared bucket is full again: one address has its 10 */
    struct sockaddr_in x = v4("192.0.2.9");
    for (int i = 0; i < 10; i++) CHECK_EQ_INT(lr_auth_unknown(a, SA(x), 11000, &retry), LR_ENOENT);
    CHECK_EQ_INT(lr_auth_unknown(a, SA(x), 11000, &retry), LR_ESTATE);
    /* cycling through far more addresses than the table holds, a second
     * apart: a slot taken over keeps its bucket, so a round of them gets
     * about what the table refilled, not a burst each */
    taken = 0;
    for (int round = 0; round < 3; round++) {
        for (unsigned i = 0; i < 20000; i++) {
            struct sockaddr_in sa;
            memset(&sa, 0, sizeof sa);
            sa.sin_family = AF_INET;
            sa.sin_addr.s_addr = htonl(0x0b000000u + i);
            taken += lr_auth_unknown(a, SA(sa), 100000 + 1000 * round, &retry) == LR_ENOENT;
        }
    }
    CHECK(taken <= LR_AUTH_UNKNOWN_ALL * LR_AUTH_UNKNOWN_BURST + 2 * LR_AUTH_UNKNOWN_ALL);
    lr_auth_close(a);
    db_teardown();
}

int main(void) {
    if (sodium_init() < 0) return 1;
    RUN(key_is_prefix_and_32_base64url_characters);
    RUN(key_id_is_the_8_characters_after_the_prefix);
    RUN(keys_carry_192_random_bits);
    RUN(malformed_keys_are_refused_before_any_lookup);
    RUN(key_hash_is_blake2b_256_of_the_whole_key);
    RUN(role_names_round_trip);
    RUN(bucket_allows_the_burst_then_refuses);
    RUN(bucket_refills_at_the_rate);
    RUN(bucket_never_holds_more_than_the_burst);
    RUN(bucket_retry_after_is_whole_seconds_rounded_up);
    RUN(bucket_ignores_a_clock_going_backwards);
    RUN(bucket_with_rate_zero_never_refuses);
    RUN(lookup_finds_role_and_agent_of_a_stored_key);
    RUN(lookup_refuses_a_revoked_key_within_a_second);
    RUN(lookup_refuses_unknown_and_malformed_keys);
    RUN(lookup_sees_a_key_created_after_a_miss);
    RUN(lookup_limits_each_key_on_its_own);
    RUN(an_address_that_tries_unknown_keys_is_refused_for_a_while);
    RUN(unknown_keys_from_many_addresses_are_bounded_together);
    return test_report();
}
