/* decision_pack.c -- a decision's explanation stored compressed.
 *
 * A decision's JSON is mostly its "why": up to explain_limit candidates,
 * each {"agent":"…","skipped":"…"}: 2 KiB and more for a decision against
 * a pool of a hundred, nine tenths of what the store writes for a lead. It
 * is written once and read rarely (GET /v1/leads/{id}, a replayed answer,
 * a webhook body), so it is stored compressed:
 *
 *   decisions.body  the decision's JSON without its "why" member: what the
 *                   statistics read with json_extract ("rule", "pool",
 *                   "status"), still plain JSON;
 *   decisions.why   NULL, or the "why" object's JSON compressed with zstd
 *                   (level 1, one frame with its size and a checksum, so
 *                   damage is found rather than served).
 *
 * decision.h writes "why" last, so the split is the text before
 * `,"why":` and the object after it, and joining puts them back byte for
 * byte. The key cannot be met earlier inside a string value: a quote in a
 * JSON string is always escaped. A "why" shorter than PACK_MIN stays in
 * the body (compressing it saves nothing), and a row written before
 * schema 5 has why NULL: both read as they were stored. A why that does
 * not decompress, or not to the bytes it was made from, is LR_EDAMAGED.
 */
#include "sqlite_impl.h"

#include "leadrouter/error.h"

#include <stdio.h>
#include <string.h>
#include <zstd.h>

#define PACK_MIN 512
#define PACK_LEVEL 1
#define WHY_MAX ((size_t)64 << 20)       /* a larger stored size is corrupt */

static const char WHY_KEY[] = ",\"why\":";
#define WHY_KEYLEN (sizeof WHY_KEY - 1)

int lr_sq_pack_decision(lr_store *s, const char *json, size_t len, lr_sq_packed *out) {
    *out = (lr_sq_packed){ json, len, NULL, 0 };
    if (len < PACK_MIN || json[len - 1] != '}') return LR_OK;
    const char *k = memmem(json, len, WHY_KEY, WHY_KEYLEN);
    if (!k) return LR_OK;
    size_t head = (size_t)(k - json);
    const char *why = k + WHY_KEYLEN;
    size_t wlen = len - 1 - head - WHY_KEYLEN;      /* the object, without the final '}' */
    if (wlen < PACK_MIN) return LR_OK;
    if (!s->zc) {
        if (!(s->zc = ZSTD_createCCtx())) return LR_ENOMEM;
        ZSTD_CCtx_setParameter(s->zc, ZSTD_c_compressionLevel, PACK_LEVEL);
        ZSTD_CCtx_setParameter(s->zc, ZSTD_c_checksumFlag, 1);
    }
    size_t bound = ZSTD_compressBound(wlen);
    lr_buf_reset(&s->pack);
    if (lr_buf_reserve(&s->pack, head + 1 + bound) != LR_OK) return LR_ENOMEM;
    char *p = s->pack.data;
    memcpy(p, json, head);
    p[head] = '}';
    size_t z = ZSTD_compress2(s->zc, p + head + 1, bound, why, wlen);
    if (ZSTD_isError(z)) {
        snprintf(s->err, sizeof s->err, "compressing a decision: %s", ZSTD_getErrorName(z));
        return LR_EIO;
    }
    *out = (lr_sq_packed){ p, head + 1, p + head + 1, z };
    return LR_OK;
}

int lr_sq_unpack_decision(lr_store *s, sqlite3_stmt *st, int col, lr_buf *out) {
    const char *body = (const char *)sqlite3_column_text(st, col);
    size_t blen = (size_t)sqlite3_column_bytes(st, col);
    if (!body) return lr_buf_append(out, "null", 4);
    const void *z = sqlite3_column_blob(st, col + 1);
    size_t zlen = (size_t)sqlite3_column_bytes(st, col + 1);
    if (!z) return lr_buf_append(out, body, blen);
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

void lr_sq_pack_release(lr_store *s) {
    ZSTD_freeCCtx(s->zc);
    ZSTD_freeDCtx(s->zd);
    s->zc = NULL;
    s->zd = NULL;
    lr_buf_release(&s->pack);
    lr_buf_release(&s->unpacked);
}
