/* carry.c -- rotation positions and credits kept across a config change.
 *
 * A config change rebuilds every segment (reconfig.c), and with them the
 * strategies' state: round_robin's position, weighted_round_robin's
 * credits. Without this, every edit of the config sent the next lead of
 * each segment to its first member again. Before the old segments go,
 * lr_carry_collect() asks each strategy that keeps such state for it
 * (carry_out), as (agent, value) pairs, and files it under the segment's
 * carry key: its key with the pool named instead of numbered (pool
 * numbers change with the config). Agents are named by their index in
 * the new config (agents are matched by id); those that are gone are left
 * out. When a segment with that carry key is next made, lr_carry_apply()
 * gives the state to its strategy (carry_in) for the members it still
 * has, and the record is used up (a tier union, a pool of its rule's own,
 * is named by the rule and the tier); a preview's segment reads it and leaves
 * it. A record that no segment took before the next change is carried on
 * to that one.
 *
 * Journals written before this existed replay their config changes as
 * they were made, from scratch (LR_RECONF_CARRY, set by the caller).
 */
#include "core/engine_impl.h"
#include "core/strategy_impl.h"
#include "leadrouter/error.h"

#include <stdlib.h>
#include <string.h>

struct lr_carried {
    char *key;                      /* owned: the carry key */
    size_t keylen;
    bool used;                      /* a segment took it */
    size_t n;
    lr_carry items[];               /* who: an agent index of the config it was filed for */
};

/* OUT = the carry key of a segment of pool POOL_ID (E's config) whose
 * segment key is KEY. */
static int carry_key(const lr_engine *e, uint32_t pool_id, const char *key, size_t keylen,
                     lr_buf *out) {
    const char *name = "";
    uint32_t tier = 0;
    if (pool_id < e->cfg->npools) {
        name = e->cfg->pools[pool_id].name;
    } else {                        /* the union of tiers 0..TIER of one rule */
        uint32_t x = pool_id - (uint32_t)e->cfg->npools;
        for (size_t ri = 0; ri < e->cfg->nrules; ri++) {
            const lr_rule_conf *r = &e->cfg->rules[ri];
            uint32_t first = e->tier_first[ri];
            if (first != UINT32_MAX && x >= first && x < first + r->ntiers - 1) {
                name = r->name;
                tier = x - first + 1;
                break;
            }
        }
    }
    uint32_t n = (uint32_t)strlen(name);
    lr_buf_reset(out);
    int rc = lr_buf_putc(out, tier ? 'x' : 'p');                        /* a pool, a tier union */
    if (rc == LR_OK && tier) rc = lr_buf_append(out, &tier, sizeof tier);
    if (rc == LR_OK) rc = lr_buf_append(out, &n, sizeof n);
    if (rc == LR_OK) rc = lr_buf_append(out, name, n);
    if (rc == LR_OK && keylen > LR_SEG_KEY_POOL_BYTES)
        rc = lr_buf_append(out, key + LR_SEG_KEY_POOL_BYTES, keylen - LR_SEG_KEY_POOL_BYTES);
    return rc;
}

/* Files a record of N ITEMS under KEY in SET (replacing one there). */
static int file(lr_carry_set *set, const lr_buf *key, const lr_carry *items, size_t n) {
    lr_carried *c = malloc(sizeof *c + n * sizeof *items);
    if (!c) return LR_ENOMEM;
    if (!(c->key = malloc(key->len ? key->len : 1))) {
        free(c);
        return LR_ENOMEM;
    }
    memcpy(c->key, key->data, key->len);
    c->keylen = key->len;
    c->used = false;
    c->n = n;
    if (n) memcpy(c->items, items, n * sizeof *items);
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 16;
        lr_carried **v = realloc(set->v, cap * sizeof *v);
        if (!v) goto nomem;
        set->v = v;
        set->cap = cap;
    }
    lr_carried *old = lr_map_get(&set->by_key, c->key, c->keylen);
    if (lr_map_put(&set->by_key, c->key, c->keylen, c) != LR_OK) goto nomem;
    if (old && !old->used) {
        old->used = true;           /* replaced: never taken */
        set->live--;
    }
    set->v[set->n++] = c;
    set->live++;
    return LR_OK;
nomem:
    free(c->key);
    free(c);
    return LR_ENOMEM;
}

void lr_carry_release(lr_carry_set *set) {
    for (size_t i = 0; i < set->n; i++) {
        free(set->v[i]->key);
        free(set->v[i]);
    }
    free(set->v);
    lr_map_release(&set->by_key);
    memset(set, 0, sizeof *set);
}

int lr_carry_collect(const lr_engine *e, const uint32_t *map, lr_carry_set *out) {
    memset(out, 0, sizeof *out);
    int rc = lr_map_init(&out->by_key, e->nsegs + e->carried.live);
    lr_buf key = LR_BUF_INIT;
    lr_carry *items = NULL;
    size_t cap = 0;
    /* records no segment took yet, then the segments' own state */
    for (size_t i = 0; rc == LR_OK && i < e->carried.n; i++) {
        const lr_carried *c = e->carried.v[i];
        if (c->used) continue;
        if (c->n > cap) {
            lr_carry *v = realloc(items, c->n * sizeof *v);
            if (!v) { rc = LR_ENOMEM; break; }
            items = v;
            cap = c->n;
        }
        size_t k = 0;
        for (size_t j = 0; j < c->n; j++)
            if (map[c->items[j].who] != LR_NO_AGENT)
                items[k++] = (lr_carry){ map[c->items[j].who], c->items[j].value };
        lr_buf_reset(&key);
        rc = lr_buf_append(&key, c->key, c->keylen);
        if (rc == LR_OK) rc = file(out, &key, items, k);
    }
    for (size_t i = 0; rc == LR_OK && i < e->nsegs; i++) {
        const lr_segment *s = e->segs[i];
        if (!s->strat->carry_out || !s->n) continue;
        if (s->n > cap) {
            lr_carry *v = realloc(items, s->n * sizeof *v);
            if (!v) { rc = LR_ENOMEM; break; }
            items = v;
            cap = s->n;
        }
        size_t n = s->strat->carry_out(s, items), k = 0;
        for (size_t j = 0; j < n; j++) {
            uint32_t a = map[s->agents[items[j].who]];
            if (a != LR_NO_AGENT) items[k++] = (lr_carry){ a, items[j].value };
        }
        rc = carry_key(e, s->pool, s->key, s->keylen, &key);
        if (rc == LR_OK) rc = file(out, &key, items, k);
    }
    free(items);
    lr_buf_release(&key);
    if (rc != LR_OK) lr_carry_release(out);
    return rc;
}

int lr_carry_apply(lr_engine *e, lr_segment *s, const char *key, size_t keylen) {
    if (!e->carried.live || !s->strat->carry_in || !s->n) return LR_OK;
    lr_buf ck = LR_BUF_INIT;
    int rc = carry_key(e, s->pool, key, keylen, &ck);
    lr_carried *c = rc == LR_OK ? lr_map_get(&e->carried.by_key, ck.data, ck.len) : NULL;
    lr_buf_release(&ck);
    if (rc != LR_OK || !c || c->used) return rc;
    /* agent index -> member + 1 (0: not a member) */
    uint32_t *pos = calloc(e->cfg->nagents ? e->cfg->nagents : 1, sizeof *pos);
    lr_carry *in = malloc((c->n ? c->n : 1) * sizeof *in);
    if (!pos || !in) {
        free(pos);
        free(in);
        return LR_ENOMEM;
    }
    for (uint32_t m = 0; m < s->n; m++) pos[s->agents[m]] = m + 1;
    size_t k = 0;
    for (size_t i = 0; i < c->n; i++)
        if (pos[c->items[i].who]) in[k++] = (lr_carry){ pos[c->items[i].who] - 1, c->items[i].value };
    if (k) s->strat->carry_in(s, in, k);
    free(pos);
    free(in);
    if (!s->dry) {
        c->used = true;
        e->carried.live--;
    }
    return LR_OK;
}
