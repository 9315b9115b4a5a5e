/* lead_hash.c -- a lead's identity for idempotency: the same lead id sent
 * twice is the same lead only if its content is the same. The hash covers
 * what the lead says, not how its JSON was spelled: key order, spacing and
 * escapes do not change it; a changed value does. BLAKE2b-256 (libsodium)
 * over the named fields in their fixed order, then the custom fields sorted
 * by name, each part length-prefixed so no two leads share an encoding. */
#include "leadrouter/model.h"
#include "leadrouter/error.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static void put_bytes(crypto_generichash_state *st, const void *p, size_t n) {
    uint64_t len = n;
    crypto_generichash_update(st, (const unsigned char *)&len, sizeof len);
    crypto_generichash_update(st, p, n);
}

static void put_value(crypto_generichash_state *st, const lr_value *v) {
    unsigned char tag = (unsigned char)v->type;
    crypto_generichash_update(st, &tag, 1);
    switch (v->type) {
    case LR_VBOOL: { unsigned char b = v->u.b; crypto_generichash_update(st, &b, 1); break; }
    case LR_VNUM: put_bytes(st, &v->u.n, sizeof v->u.n); break;
    case LR_VSTR: put_bytes(st, v->u.s.ptr, v->u.s.len); break;
    case LR_VLIST:
        put_bytes(st, &v->u.list.n, sizeof v->u.list.n);
        for (size_t i = 0; i < v->u.list.n; i++) put_value(st, &v->u.list.items[i]);
        break;
    default: break;
    }
}

static int by_name(const void *a, const void *b) {
    return strcmp((*(const lr_field *const *)a)->name, (*(const lr_field *const *)b)->name);
}

int lr_lead_hash(const lr_lead *lead, unsigned char out[32]) {
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, 32);
    for (int f = 0; f < LR_LF__STRCOUNT; f++) {
        if (f == LR_LF_STAGE) continue;     /* the engine's, not the sender's */
        const char *s = lead->str[f];
        unsigned char present = s != NULL;
        crypto_generichash_update(&st, &present, 1);
        if (s) put_bytes(&st, s, strlen(s));
    }
    lr_value score = lr_lead_get(lead, LR_LF_SCORE), value = lr_lead_get(lead, LR_LF_VALUE);
    put_value(&st, &score);
    put_value(&st, &value);
    put_bytes(&st, &lead->received_at, sizeof lead->received_at);
    const lr_field **v = NULL;
    if (lead->nfields) {
        v = malloc(lead->nfields * sizeof *v);
        if (!v) return LR_ENOMEM;
        for (size_t i = 0; i < lead->nfields; i++) v[i] = &lead->fields[i];
        qsort(v, lead->nfields, sizeof *v, by_name);
    }
    for (size_t i = 0; i < lead->nfields; i++) {
        put_bytes(&st, v[i]->name, strlen(v[i]->name));
        put_value(&st, &v[i]->value);
    }
    free(v);
    crypto_generichash_final(&st, out, 32);
    return LR_OK;
}
