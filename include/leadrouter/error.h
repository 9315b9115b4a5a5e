/* error.h -- error codes of the leadrouter library.
 *
 * Functions that can fail return int: LR_OK (0) or one of the negative codes
 * below. lr_strerror() names a code. The table is the single source of both
 * the enum and the messages.
 */
#ifndef LEADROUTER_ERROR_H
#define LEADROUTER_ERROR_H

#define LR_ERRNO_MAP(X)                                              \
    X(OK, 0, "success")                                             \
    X(ENOMEM, -1, "out of memory")                                  \
    X(EINVAL, -2, "invalid argument")                               \
    X(ENOENT, -3, "not found")                                      \
    X(EEXIST, -4, "already exists")                                 \
    X(ESYNTAX, -5, "syntax error")                                  \
    X(ECONFIG, -6, "invalid configuration")                         \
    X(ESTATE, -7, "not allowed in the current state")               \
    X(EIO, -8, "input/output error")                                \
    X(ERANGE, -9, "value out of range")                             \
    X(EDAMAGED, -10, "stored data is damaged")

enum {
#define LR_ERRNO_ENUM(name, value, msg) LR_##name = (value),
    LR_ERRNO_MAP(LR_ERRNO_ENUM)
#undef LR_ERRNO_ENUM
};

/* Returns a static, human-readable message for an LR_ code ("unknown error"
 * for anything else). */
const char *lr_strerror(int code);

/* Returns the symbolic name of a code ("LR_ENOMEM"), static. */
const char *lr_errname(int code);

#endif
