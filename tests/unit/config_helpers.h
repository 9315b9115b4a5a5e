/* config_helpers.h -- loading configs in the config tests: the messages of
 * a rejected config as one string, and configs that must load. Shared by
 * test_config.c, test_config_time.c and test_config_notify.c. */
#ifndef LEADROUTER_TEST_CONFIG_HELPERS_H
#define LEADROUTER_TEST_CONFIG_HELPERS_H

#include "leadrouter/config.h"
#include "leadrouter/error.h"
#include "test.h"

#include <stdio.h>
#include <string.h>

/* ---- helpers -------------------------------------------------------------- */

static char errs_[32768];

/* Loads YAML as "t.yaml": returns the code; the messages, one a line, are
 * in errs_. */
__attribute__((unused)) static int load(const char *yaml, lr_config **cfg) {
    lr_config_errors e;
    *cfg = NULL;
    int rc = lr_config_load_string(yaml, strlen(yaml), "t.yaml", cfg, &e);
    errs_[0] = '\0';
    for (size_t i = 0; i < e.n; i++) {
        if (i) strncat(errs_, "\n", sizeof errs_ - strlen(errs_) - 1);
        strncat(errs_, e.msgs[i], sizeof errs_ - strlen(errs_) - 1);
    }
    lr_config_errors_release(&e);
    return rc;
}

/* Loads YAML that must be rejected; returns its messages. */
__attribute__((unused)) static const char *errors_of(const char *yaml) {
    lr_config *cfg;
    int rc = load(yaml, &cfg);
    if (rc != LR_ECONFIG || cfg) {
        printf("  expected LR_ECONFIG, got %s\n", lr_errname(rc));
        test_cur_failed_ = 1;
        lr_config_free(cfg);
    }
    return errs_;
}

/* Loads YAML as a config from the journal (lr_config_load_journaled),
 * which must be accepted (the test fails otherwise). */
__attribute__((unused)) static lr_config *journaled_config(const char *yaml) {
    lr_config *cfg = NULL;
    lr_config_errors e;
    int rc = lr_config_load_journaled(yaml, strlen(yaml), "j.yaml", &cfg, &e);
    if (rc != LR_OK) {
        printf("  expected LR_OK from the journaled load, got %s\n", lr_errname(rc));
        test_cur_failed_ = 1;
    }
    lr_config_errors_release(&e);
    return cfg;
}

/* Loads YAML that must be accepted (the test fails otherwise). */
__attribute__((unused)) static lr_config *ok_config(const char *yaml) {
    lr_config *cfg;
    int rc = load(yaml, &cfg);
    if (rc != LR_OK) {
        printf("  expected LR_OK, got %s:\n%s\n", lr_errname(rc), errs_);
        test_cur_failed_ = 1;
    }
    return cfg;
}

#endif
