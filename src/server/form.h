/* form.h -- web-to-lead: an application/x-www-form-urlencoded body (a
 * website's <form method="post">) to the lead JSON object the event parser
 * reads.
 *
 * Decoding (WHATWG urlencoded, strictly): pairs separated by '&', name and
 * value by the first '='; '+' is a space; %XX is a byte. Refused, with a
 * message: a '%' not followed by two hex digits, a %00 or a NUL byte, bytes that are not
 * valid UTF-8 after decoding, an empty name, more than LR_FORM_MAX_PAIRS
 * pairs. Empty pairs ("a=1&&b=2") are skipped.
 *
 * Mapping (names compared without regard to ASCII case):
 *   id, email, phone, name, company, account, country, state, postal_code,
 *   product, stage, score, value         -> the lead field of that name
 *   e-mail, email_address                -> email
 *   tel, telephone, phone_number         -> phone
 *   full_name; first_name + last_name    -> name ("First Last"; full_name
 *                                           or name wins over the parts)
 *   organization, organisation           -> company
 *   zip, zipcode, zip_code, postcode     -> postal_code
 *   anything else                        -> fields.NAME (as given)
 * score and value must be numbers. An empty value is no value (an unfilled
 * input). A known field given twice is an error; any other name given
 * twice becomes a list (checkboxes). source is the {source} path segment;
 * a form's own "source" input goes to fields. id, when absent, is the one
 * the caller generated.
 */
#ifndef LR_SERVER_FORM_H
#define LR_SERVER_FORM_H

#include <stdbool.h>
#include <stddef.h>

struct json_t;

#define LR_FORM_MAX_PAIRS 1000

typedef struct lr_form_pair {
    char *name;                     /* owned, NUL-terminated, UTF-8 */
    char *value;                    /* owned, NUL-terminated, UTF-8 (may be "") */
} lr_form_pair;

typedef struct lr_form {
    lr_form_pair *pairs;            /* owned, in the order given */
    size_t n;
} lr_form;

/* Decodes the N bytes at S (%XX and '+') into OUT (N + 1 bytes at least),
 * NUL-terminated, and sets *outlen. Returns LR_OK, or LR_EINVAL for a bad
 * escape, a %00 or a NUL byte. */
int lr_form_unescape(const char *s, size_t n, char *out, size_t *outlen);

/* Decodes BODY (LEN bytes) into *out (release with lr_form_release()).
 * Returns LR_OK, LR_EINVAL with a message in ERR, or LR_ENOMEM. */
int lr_form_decode(const char *body, size_t len, lr_form *out, char *err, size_t errlen);
void lr_form_release(lr_form *f);   /* accepts a zeroed form */

/* True when the N bytes at S are valid UTF-8 (no overlongs, surrogates or
 * code points above U+10FFFF). Used for path segments and query values too. */
bool lr_utf8_valid(const char *s, size_t n);

/* Builds the lead object for FORM posted to SOURCE, with GEN_ID as its id
 * when the form has none. Returns LR_OK and *out (a new jansson object,
 * owned by the caller), LR_EINVAL with a message in ERR (also for a form
 * with no filled-in field: a blank submit makes no lead), or LR_ENOMEM. */
int lr_form_to_lead(const lr_form *form, const char *source, const char *gen_id,
                    struct json_t **out, char *err, size_t errlen);

/* The id of a lead posted by a form that names none (LR_FORM_ID_LEN
 * characters and a NUL into OUT): "form-", 16 hex digits of a stamp (the
 * wall clock's milliseconds times 65,536, plus one for each id made in the
 * same millisecond, so that each id this process makes sorts after the
 * last), then 8 random hex digits (no clash with another process's ids of
 * the same moment). Ids that grow with time go to the end of the store's
 * index of lead ids; random ones would each rewrite a page somewhere in
 * its middle at every commit (docs/benchmarks.md, "Lead ids"). Any
 * thread. */
#define LR_FORM_ID_LEN (5 + 16 + 8)
void lr_form_new_id(char *out);

#endif
