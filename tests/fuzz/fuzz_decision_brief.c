/* fuzz_decision_brief.c -- libFuzzer target: the brief form of a decision's
 * text (lr_decision_json_brief), as a webhook gets it from a stored row
 * that may be damaged.
 *
 * Whatever the input: LR_EINVAL leaves the buffer as it was; LR_OK
 * appends one JSON object with no "candidates" in its "why", which the
 * brief form of itself leaves as it is (brief twice = brief once). Any
 * other outcome aborts. */
#include "leadrouter/decision.h"
#include "leadrouter/error.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lr_buf out = LR_BUF_INIT, again = LR_BUF_INIT;
    if (lr_buf_append(&out, "[", 1) != LR_OK) return 0;     /* what was there before */
    int rc = lr_decision_json_brief((const char *)data, size, &out);
    if (rc == LR_EINVAL || rc == LR_ENOMEM) {
        if (out.len != 1 || out.data[0] != '[') abort();
    } else if (rc == LR_OK) {
        const char *obj = out.data + 1;
        size_t len = out.len - 1;
        json_error_t jerr;
        json_t *j = json_loadb(obj, len, 0, &jerr);
        if (!json_is_object(j)) abort();
        json_t *why = json_object_get(j, "why");
        if (json_is_object(why) && json_object_get(why, "candidates")) abort();
        json_decref(j);
        if (lr_decision_json_brief(obj, len, &again) != LR_OK) abort();
        if (again.len != len || memcmp(again.data, obj, len) != 0) abort();
    } else {
        abort();
    }
    lr_buf_release(&out);
    lr_buf_release(&again);
    return 0;
}
