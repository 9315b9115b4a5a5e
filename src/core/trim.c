/* trim.c -- gives free memory back to the system (trim.h). */
#include "core/trim.h"

#include <malloc.h>

/* gperftools' C interface (gperftools/malloc_extension_c.h), declared
 * weak: NULL when tcmalloc is not linked (the test build, ASan's malloc),
 * so the code does not depend on its headers or library. */
extern void MallocExtension_ReleaseFreeMemory(void) __attribute__((weak));

void lr_trim(void) {
    if (MallocExtension_ReleaseFreeMemory) MallocExtension_ReleaseFreeMemory();
    else malloc_trim(0);
}
