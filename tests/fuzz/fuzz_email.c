/* fuzz_email.c -- libFuzzer target: the email for a sales rep
 * (lr_delivery_email) from lead and decision JSON as stored, which may be
 * anything, and a public URL, agent name and action from the config.
 *
 * The input is split at NUL bytes: lead JSON, decision JSON, the public
 * URL, the agent's name, the action (missing parts are NULL). Whatever
 * they hold, the email is written (LR_OK) and is a message an SMTP relay
 * takes as it is: CRLF line ends only, no NUL, no line longer than 998
 * bytes, a blank line after the headers, and a body that is either 8bit
 * text or base64 that decodes to CRLF-ended text. Any other outcome
 * aborts. */
#include "delivery/message.h"
#include "leadrouter/error.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The next NUL-separated part of [*p, end), or NULL when none is left. */
static const char *part(const char **p, const char *end, size_t *len) {
    if (*p >= end) return NULL;
    const char *s = *p, *nul = memchr(s, '\0', (size_t)(end - s));
    *len = nul ? (size_t)(nul - s) : (size_t)(end - s);
    *p = s + *len + 1;
    return s;
}

static void check_crlf(const char *s, size_t n, size_t max_line) {
    size_t line = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\0') abort();
        if (s[i] == '\r') {
            if (i + 1 >= n || s[i + 1] != '\n') abort();
        } else if (s[i] == '\n') {
            if (i == 0 || s[i - 1] != '\r') abort();
            line = 0;
            continue;
        }
        if (++line > max_line + 1) abort();     /* the CR counted */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* each part copied NUL-terminated: the message reads C strings too */
    char *copy = malloc(size + 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    copy[size] = '\0';
    const char *p = copy, *end = copy + size;
    size_t len[5] = { 0 };
    const char *v[5];
    for (int i = 0; i < 5; i++) {
        v[i] = part(&p, end, &len[i]);
        if (v[i]) ((char *)v[i])[len[i]] = '\0';
    }
    lr_delivery_msg m = {
        .id = 7, .channel = "mail", .action = v[4] ? v[4] : "assigned",
        .created_at = 1793613600000, .lead_json = v[0], .lead_len = len[0],
        .decision_json = v[1], .decision_len = len[1], .from = "leads@example.com",
        .to = "alice@example.com", .agent_name = v[3], .to_agent = len[3] % 2 == 0,
        .base_url = v[2], .now = 1793613600000,
    };
    lr_buf out = LR_BUF_INIT, text = LR_BUF_INIT;
    int rc = lr_delivery_email(&m, &out);
    if (rc == LR_ENOMEM) goto done;
    if (rc != LR_OK) abort();
    check_crlf(out.data, out.len, 998);
    const char *body = strstr(out.data, "\r\n\r\n");
    if (!body) abort();
    body += 4;
    size_t blen = out.len - (size_t)(body - out.data);
    static const char b64[] = "\r\nContent-Transfer-Encoding: base64\r\n\r\n";
    const char *h = strstr(out.data, b64);
    if (h && h + strlen(b64) == body) {
        size_t n = 0;
        if (lr_buf_reserve(&text, blen) != LR_OK) goto done;
        if (sodium_base642bin((unsigned char *)text.data, blen, body, blen, "\r\n", &n, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0)
            abort();
        check_crlf(text.data, n, 8192);
    } else if (!strstr(out.data, "\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")) {
        abort();
    }
done:
    lr_buf_release(&out);
    lr_buf_release(&text);
    free(copy);
    return 0;
}
