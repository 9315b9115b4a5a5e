/* error.c -- names and messages of the LR_ error codes (see error.h). */
#include "leadrouter/error.h"

const char *lr_strerror(int code) {
    switch (code) {
#define LR_ERRNO_MSG(name, value, msg) case (value): return msg;
        LR_ERRNO_MAP(LR_ERRNO_MSG)
#undef LR_ERRNO_MSG
    }
    return "unknown error";
}

const char *lr_errname(int code) {
    switch (code) {
#define LR_ERRNO_NAME(name, value, msg) case (value): return "LR_" #name;
        LR_ERRNO_MAP(LR_ERRNO_NAME)
#undef LR_ERRNO_NAME
    }
    return "LR_UNKNOWN";
}
