/* asan.h -- telling AddressSanitizer which bytes of our own allocators'
 * chunks are in use (slab.c, arena.c). Without the sanitizer the macros
 * cost nothing and REDZONE is 0. */
#ifndef LR_CORE_ASAN_H
#define LR_CORE_ASAN_H

#if defined(__SANITIZE_ADDRESS__)
#define LR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LR_ASAN 1
#endif
#endif

#ifdef LR_ASAN
#include <sanitizer/asan_interface.h>
#define REDZONE 16                  /* poisoned bytes after each record */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define REDZONE 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#endif
