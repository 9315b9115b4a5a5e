/* decision_pack.c -- a decision's explanation stored in a compact form.
 *
 * A decision's JSON is mostly its "why": up to explain_limit candidates,
 * each {"agent":"…","skipped":"…"}: 2 KiB and more for a decision against
 * a pool of a hundred, nine tenths of what the store writes for a lead. It
 * is written once and read rarely (GET /v1/leads/{id}, a replayed answer,
 * a webhook body), so it is not stored as JSON:
 *
 *   decisions.body  the decision's JSON without its "why" member: what the
 *                   statistics read with json_extract ("rule", "pool",
 *                   "status"), still plain JSON;
 *   decisions.why   NULL, or the "why" in one of two forms, told apart by
 *                   the first byte:
 *     0x01  the candidates as bytes, built from the decision itself
 *           (below); read back, the same code that wrote the JSON
 *           (lr_decision_write_why) writes it again, byte for byte;
 *     0x28  (zstd's magic) the "why" object's JSON compressed with zstd,
 *           level 1, one frame with its size and a checksum: rows written
 *           before the compact form, and a why given without its decision.
 *
 * The compact form, after the 0x01: a byte of flags (1 reason, 2 detail,
 * 4 pool_size), then each flagged member (reason and detail as a length
 * and bytes, pool_size as a number), the number of candidates, and for
 * each a byte of state (0 chosen, 1 eligible, 2 + the skip reason), the
 * length its id shares with the previous one's, and the rest of the id
 * (a length and bytes); with flag 8 (some candidate has figures) a chosen
 * or eligible candidate's id is followed by its figures: their mask
 * (1 << LR_FIG_*) and each value but a flag's, zigzag-encoded (a figure
 * may be negative). Numbers and lengths are unsigned LEB128. A pool's
 * ids tend to share a prefix ("a0031", "a0032"), so a candidate takes 4
 * to 8 bytes; making it costs a fraction of a microsecond where zstd took
 * about six on this machine for the JSON of a hundred.
 *
 * decision.h writes "why" last, so the split is the text before
 * `,"why":` and the object after it, and joining puts them back byte for
 * byte. The key cannot be met earlier inside a string value: a quote in a
 * JSON string is always escaped. A "why" shorter than PACK_MIN stays in
 * the body (packing it saves nothing), and a row written before schema 5
 * has why NULL: both read as they were stored. A why that does not
 * decode, or not to the bytes it was made from, is LR_EDAMAGED.
 */
#include "sqlite_impl.h"

#include "leadrouter/decision.h"
#include "leadrouter/error.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#define PACK_MIN 512
#define PACK_LEVEL 1
#define WHY_MAX ((size_t)64 << 20)       /* a larger stored size is corrupt */

static const char WHY_KEY[] = ",\"why\":";
#define WHY_KEYLEN (sizeof WHY_KEY - 1)

#define FORM_COMPACT 0x01
#define F_REASON 1
#define F_DETAIL 2
#define F_POOL_SIZE 4
#define F_FIGURES 8
#define ID_MAX ((size_t)1 << 16)         /* a longer id in a stored why is damage */

/* Writes V at P as unsigned LEB128 (NUM_MAX bytes at most); returns the
 * byte after it. */
#define NUM_MAX 10
static unsigned char *put_num(unsigned char *p, uint64_t v) {
    do {
        *p = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) *p |= 0x80;
        p++;
    } while (v);
    return p;
}

static uint64_t zigzag(int64_t v) {
    return ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
}

static int64_t unzigzag(uint64_t v) {
    return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

static bool has_figs(const lr_candidate *c) {
    return c->state != LR_CAND_SKIPPED && c->figs;
}

static unsigned char *put_bytes(unsigned char *p, const char *s, size_t len) {
    p = put_num(p, len);
    memcpy(p, s, len);
    return p + len;
}

/* Appends D's why in the compact form to B. Written straight into B's
 * room, one reservation for the head and one for each candidate: through
 * lr_buf_append, a byte or a number at a time, packing took a third of
 * `route --db`'s routing thread. */
static int pack_why(lr_buf *b, const lr_decision *d) {
    unsigned char flags = (unsigned char)((d->reason ? F_REASON : 0) | (d->detail ? F_DETAIL : 0) |
                                          (d->pool_size > d->ncands ? F_POOL_SIZE : 0));
    for (size_t i = 0; i < d->ncands && !(flags & F_FIGURES); i++)
        if (has_figs(&d->cands[i])) flags |= F_FIGURES;
    size_t rlen = d->reason ? strlen(d->reason) : 0, dlen = d->detail ? strlen(d->detail) : 0;
    if (lr_buf_reserve(b, 2 + 4 * NUM_MAX + rlen + dlen) != LR_OK) return LR_ENOMEM;
    unsigned char *p = (unsigned char *)b->data + b->len;
    *p++ = FORM_COMPACT;
    *p++ = flags;
    if (d->reason) p = put_bytes(p, d->reason, rlen);
    if (d->detail) p = put_bytes(p, d->detail, dlen);
    if (flags & F_POOL_SIZE) p = put_num(p, d->pool_size);
    p = put_num(p, d->ncands);
    b->len = (size_t)(p - (unsigned char *)b->data);
    const char *prev = "";
    size_t plen = 0;
    for (size_t i = 0; i < d->ncands; i++) {
        const lr_candidate *c = &d->cands[i];
        const char *id = c->agent ? c->agent : "";
        size_t len = c->agent_len ? c->agent_len : strlen(id), shared = 0;
        while (shared < len && shared < plen && id[shared] == prev[shared]) shared++;
        if (lr_buf_reserve(b, 1 + (3 + LR_FIG__COUNT) * NUM_MAX + len - shared) != LR_OK)
            return LR_ENOMEM;
        p = (unsigned char *)b->data + b->len;
        *p++ = (unsigned char)(c->state == LR_CAND_SKIPPED ? 2 + c->reason : c->state);
        p = put_num(p, shared);
        p = put_bytes(p, id + shared, len - shared);
        if ((flags & F_FIGURES) && c->state != LR_CAND_SKIPPED) {
            unsigned figs = c->figs & ((1u << LR_FIG__COUNT) - 1);
            p = put_num(p, figs);
            for (unsigned f = 0; f < LR_FIG__COUNT; f++)
                if ((figs & (1u << f)) && !(LR_FIG_FLAGS & (1u << f)))
                    p = put_num(p, zigzag(c->fig[f]));
        }
        b->len = (size_t)(p - (unsigned char *)b->data);
        prev = id;
        plen = len;
    }
    b->data[b->len] = '\0';            /* reserve kept the room */
    return LR_OK;
}

/* Reading the compact form: every step checks the bytes it takes. */
typedef struct rd {
    const unsigned char *p, *end;
    bool bad;
} rd;

static uint64_t get_num(rd *r) {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (r->p >= r->end) break;
        unsigned char c = *r->p++;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) return v;
    }
    r->bad = true;
    return 0;
}

static const char *get_bytes(rd *r, size_t *len) {
    uint64_t n = get_num(r);
    if (r->bad || n > (uint64_t)(r->end - r->p)) { r->bad = true; return NULL; }
    const char *p = (const char *)r->p;
    r->p += n;
    *len = (size_t)n;
    return p;
}

/* Appends to OUT the why JSON of compact form P (N bytes); BRIEF: without
 * the candidates (decision.h's brief form; "{}" when nothing remains).
 * LR_OK, LR_ENOMEM or LR_EDAMAGED (OUT unchanged). */
static int unpack_why(const unsigned char *p, size_t n, bool brief, lr_buf *out) {
    rd r = { p + 1, p + n, n < 2 };
    lr_decision d = { .at = LR_TIME_NONE };
    lr_buf ids = LR_BUF_INIT;       /* the ids and strings, NUL-terminated, end to end */
    lr_candidate *cands = NULL;
    size_t *off = NULL;             /* each id's offset in ids (which may move) */
    size_t where[2] = { 0 };        /* offsets in ids of reason, detail */
    int rc = LR_OK;
    unsigned flags = r.bad ? 0 : *r.p++;
    if (flags & ~(unsigned)(F_REASON | F_DETAIL | F_POOL_SIZE | F_FIGURES)) r.bad = true;
    for (int k = 0; k < 2 && !r.bad && rc == LR_OK; k++) {
        if (!(flags & (k ? F_DETAIL : F_REASON))) continue;
        size_t len;
        const char *s = get_bytes(&r, &len);
        where[k] = ids.len;
        if (s && memchr(s, '\0', len)) r.bad = true;
        if (!r.bad && (rc = lr_buf_append(&ids, s, len)) == LR_OK) rc = lr_buf_putc(&ids, '\0');
    }
    uint64_t pool = (flags & F_POOL_SIZE) ? get_num(&r) : 0;
    uint64_t nc = get_num(&r);
    if (!r.bad && nc > (uint64_t)(r.end - r.p) / 3) r.bad = true;   /* 3 bytes at least each */
    if (!r.bad && rc == LR_OK && nc && (!(cands = calloc((size_t)nc, sizeof *cands)) ||
                                        !(off = malloc((size_t)nc * sizeof *off))))
        rc = LR_ENOMEM;
    size_t prev = 0, plen = 0;
    for (size_t i = 0; i < nc && !r.bad && rc == LR_OK; i++) {
        unsigned st = r.p < r.end ? *r.p++ : 0xff;
        uint64_t shared = get_num(&r);
        size_t len;
        const char *rest = get_bytes(&r, &len);
        if (r.bad || st >= 2 + LR_SKIP__COUNT || shared > plen ||
            (rest && memchr(rest, '\0', len)) || shared + len > ID_MAX ||
            ids.len + shared + len >= WHY_MAX) {               /* no blob decodes that big */
            r.bad = true;
            break;
        }
        size_t at = ids.len;
        if ((rc = lr_buf_reserve(&ids, (size_t)shared + len + 1)) != LR_OK) break;
        memcpy(ids.data + at, ids.data + prev, (size_t)shared);   /* reserve kept prev */
        memcpy(ids.data + at + shared, rest, len);
        ids.len = at + (size_t)shared + len;
        ids.data[ids.len++] = '\0';
        cands[i].state = st >= 2 ? LR_CAND_SKIPPED : (lr_cand_state)st;
        cands[i].reason = st >= 2 ? (lr_skip)(st - 2) : LR_SKIP_NONE;
        if ((flags & F_FIGURES) && st < 2) {
            uint64_t figs = get_num(&r);
            if (figs >> LR_FIG__COUNT) r.bad = true;
            cands[i].figs = (unsigned)figs;
            for (unsigned f = 0; f < LR_FIG__COUNT && !r.bad; f++)
                if ((figs & (1u << f)) && !(LR_FIG_FLAGS & (1u << f)))
                    cands[i].fig[f] = unzigzag(get_num(&r));
            if (r.bad) break;
        }
        off[i] = at;
        prev = at;
        plen = (size_t)shared + len;
    }
    if (!r.bad && r.p != r.end) r.bad = true;
    if (!r.bad && rc == LR_OK) {
        for (size_t i = 0; i < nc; i++) cands[i].agent = ids.data + off[i];
        d.reason = (flags & F_REASON) ? ids.data + where[0] : NULL;
        d.detail = (flags & F_DETAIL) ? ids.data + where[1] : NULL;
        d.cands = cands;
        d.ncands = (size_t)nc;
        d.pool_size = (flags & F_POOL_SIZE) ? (size_t)pool : (size_t)nc;
        if (brief) {                /* the pool's size stands for the candidates */
            d.cands = NULL;
            d.ncands = 0;
        }
        if ((flags & F_POOL_SIZE) && pool <= nc) r.bad = true;
        else rc = lr_decision_write_why(&d, out);
    }
    free(cands);
    free(off);
    lr_buf_release(&ids);
    return rc != LR_OK ? rc : r.bad ? LR_EDAMAGED : LR_OK;
}

/* Compresses the why JSON (WHY, WLEN bytes) into s->pack after HEAD bytes. */
static int zstd_why(lr_store *s, const char *why, size_t wlen, size_t head, size_t *z) {
    if (!s->zc) {
        if (!(s->zc = ZSTD_createCCtx())) return LR_ENOMEM;
        ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, PACK_LEVEL);
        ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 1);
    }
    size_t bound = ZSTD_compressBound(wlen);
    if (lr_buf_reserve(&s->pack, bound) != LR_OK) return LR_ENOMEM;   /* after head + 1 */
    *z = ZSTD_compress2(s->zc, s->pack.data + head + 1, bound, why, wlen);
    if (ZSTD_isError(*z)) {
        snprintf(s->err, sizeof s->err, "compressing a decision: %s", ZSTD_getErrorName(*z));
        return LR_EIO;
    }
    return LR_OK;
}

int lr_sq_pack_decision(lr_store *s, const char *json, size_t len, const lr_decision *d,
                        lr_sq_packed *out) {
    *out = (lr_sq_packed){ json, len, NULL, 0 };
    if (len < PACK_MIN || json[len - 1] != '}') return LR_OK;
    const char *k = memmem(json, len, WHY_KEY, WHY_KEYLEN);
    if (!k) return LR_OK;
    size_t head = (size_t)(k - json);
    const char *why = k + WHY_KEYLEN;
    size_t wlen = len - 1 - head - WHY_KEYLEN;      /* the object, without the final '}' */
    if (wlen < PACK_MIN) return LR_OK;
    lr_buf_reset(&s->pack);
    if (lr_buf_reserve(&s->pack, head + 1) != LR_OK) return LR_ENOMEM;
    memcpy(s->pack.data, json, head);
    s->pack.data[head] = '}';
    s->pack.len = head + 1;
    size_t z = 0;
    bool compact = d != NULL;
    if (compact) {
        if (pack_why(&s->pack, d) != LR_OK) return LR_ENOMEM;
        z = s->pack.len - head - 1;
#ifndef NDEBUG
        /* the decision must be the one the JSON was written from */
        lr_buf back = LR_BUF_INIT;
        int rc = unpack_why((const unsigned char *)s->pack.data + head + 1, z, false, &back);
        assert(rc == LR_OK && back.len == wlen && memcmp(back.data, why, wlen) == 0);
        lr_buf_release(&back);
#endif
    } else {
        int rc = zstd_why(s, why, wlen, head, &z);
        if (rc != LR_OK) return rc;
    }
    char *p = s->pack.data;
    *out = (lr_sq_packed){ p, head + 1, p + head + 1, z };
    return LR_OK;
}

/* Appends the decision of row ST (lr_sq_unpack_decision); BRIEF applies
 * to a why in the compact form only. */
static int unpack(lr_store *s, sqlite3_stmt *st, int col, bool brief, lr_buf *out) {
    const char *body = (const char *)sqlite3_column_text(st, col);
    size_t blen = (size_t)sqlite3_column_bytes(st, col);
    if (!body) return lr_buf_append(out, "null", 4);
    const void *z = sqlite3_column_blob(st, col + 1);
    size_t zlen = (size_t)sqlite3_column_bytes(st, col + 1);
    if (!z) return lr_buf_append(out, body, blen);
    if (zlen > 0 && *(const unsigned char *)z == FORM_COMPACT) {
        size_t at = out->len;
        int rc = blen >= 2 && body[blen - 1] == '}' ? LR_OK : LR_EDAMAGED;
        if (rc == LR_OK) rc = lr_buf_append(out, body, blen - 1);
        if (rc == LR_OK) rc = lr_buf_append(out, WHY_KEY, WHY_KEYLEN);
        size_t why_at = out->len;
        if (rc == LR_OK) rc = unpack_why(z, zlen, brief, out);
        if (rc == LR_OK && brief && out->len - why_at == 2) out->len = why_at - WHY_KEYLEN; /* {} */
        if (rc == LR_OK) rc = lr_buf_putc(out, '}');
        if (rc != LR_OK) {
            out->len = at;                          /* OUT as it was */
            if (out->data) out->data[at] = '\0';
            if (rc == LR_EDAMAGED)
                snprintf(s->err, sizeof s->err, "a stored decision's explanation is damaged");
        }
        return rc;
    }
    unsigned long long wlen = ZSTD_getFrameContentSize(z, zlen);
    if (blen < 2 || body[blen - 1] != '}' || wlen == ZSTD_CONTENTSIZE_UNKNOWN ||
        wlen == ZSTD_CONTENTSIZE_ERROR || wlen > WHY_MAX) {
        snprintf(s->err, sizeof s->err, "a stored decision's explanation is damaged");
        return LR_EDAMAGED;
    }
    if (!s->zd && !(s->zd = ZSTD_createDCtx())) return LR_ENOMEM;
    size_t at = out->len;
    if (lr_buf_reserve(out, blen - 1 + WHY_KEYLEN + (size_t)wlen + 1) != LR_OK) return LR_ENOMEM;
    char *p = out->data + at;
    memcpy(p, body, blen - 1);
    p += blen - 1;
    memcpy(p, WHY_KEY, WHY_KEYLEN);
    p += WHY_KEYLEN;
    size_t got = ZSTD_decompressDCtx(s->zd, p, (size_t)wlen, z, zlen);
    if (ZSTD_isError(got) || got != wlen) {
        out->data[at] = '\0';                  /* OUT as it was */
        snprintf(s->err, sizeof s->err, "a stored decision's explanation is damaged");
        return LR_EDAMAGED;
    }
    p[wlen] = '}';
    out->len = at + blen - 1 + WHY_KEYLEN + (size_t)wlen + 1;
    out->data[out->len] = '\0';                     /* reserve kept the room */
    return LR_OK;
}

int lr_sq_unpack_decision(lr_store *s, sqlite3_stmt *st, int col, bool brief, lr_buf *out) {
    const void *z = sqlite3_column_blob(st, col + 1);
    size_t zlen = (size_t)sqlite3_column_bytes(st, col + 1);
    bool compact = z && zlen > 0 && *(const unsigned char *)z == FORM_COMPACT;
    if (!brief || compact || !sqlite3_column_text(st, col)) return unpack(s, st, col, brief, out);
    /* a why kept as JSON (short, or from before the compact form): the
     * whole decision, then its brief form through jansson */
    lr_buf whole = LR_BUF_INIT;
    int rc = unpack(s, st, col, false, &whole);
    if (rc == LR_OK) rc = lr_decision_json_brief(whole.data, whole.len, out);
    if (rc == LR_EINVAL) {
        snprintf(s->err, sizeof s->err, "a stored decision is not a JSON object");
        rc = LR_EDAMAGED;
    }
    lr_buf_release(&whole);
    return rc;
}

void lr_sq_pack_release(lr_store *s) {
    ZSTD_freeCCtx(s->zc);
    ZSTD_freeDCtx(s->zd);
    s->zc = NULL;
    s->zd = NULL;
    lr_buf_release(&s->pack);
    lr_buf_release(&s->unpacked);
}
