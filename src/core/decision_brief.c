/* decision_brief.c -- the brief form of a decision's JSON text (decision.h),
 * for a decision the store kept as text (lr_decision_write_brief writes it
 * from the decision itself, which is the fast way).
 *
 * The text is read with jansson, "why.candidates" taken out, "why.pool_size"
 * set to the candidates' number when it was absent, an empty "why" taken
 * out, and the rest written back compact. jansson keeps the members in
 * their order and escapes strings as decision.c does (test_decision.c
 * compares the two), so the bytes are those lr_decision_write_brief writes.
 */
#include "leadrouter/decision.h"
#include "leadrouter/error.h"

#include <jansson.h>

int lr_decision_json_brief(const char *json, size_t len, lr_buf *out) {
    json_error_t jerr;
    json_t *d = json_loadb(json, len, 0, &jerr);
    if (!d) return json_error_code(&jerr) == json_error_out_of_memory ? LR_ENOMEM : LR_EINVAL;
    if (!json_is_object(d)) {
        json_decref(d);
        return LR_EINVAL;
    }
    int rc = LR_OK;
    json_t *why = json_object_get(d, "why");
    json_t *cands = json_object_get(why, "candidates");
    if (json_is_object(why) && cands) {
        size_t n = json_is_array(cands) ? json_array_size(cands) : 0;
        json_object_del(why, "candidates");
        if (n > 0 && !json_object_get(why, "pool_size") &&
            json_object_set_new(why, "pool_size", json_integer((json_int_t)n)) != 0)
            rc = LR_ENOMEM;
        if (json_object_size(why) == 0) json_object_del(d, "why");
    }
    if (rc == LR_OK) {
        size_t need = json_dumpb(d, NULL, 0, JSON_COMPACT);
        if (need == 0 || lr_buf_reserve(out, need + 1) != LR_OK) {
            rc = LR_ENOMEM;
        } else {
            json_dumpb(d, out->data + out->len, need, JSON_COMPACT);
            out->len += need;
            out->data[out->len] = '\0';
        }
    }
    json_decref(d);
    return rc;
}
