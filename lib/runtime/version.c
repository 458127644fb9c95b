/* runtime/version.c: the version of the library linked in, for embedders to compare with the
 * header they compiled against. */
#include "config.h"

#include "wasmslot.h"

#define STR_(x) #x
#define STR(x)  STR_(x)

const char *wasmslot_version(void)
{
    return STR(WASMSLOT_VERSION_MAJOR) "." STR(WASMSLOT_VERSION_MINOR) "." STR(
        WASMSLOT_VERSION_PATCH);
}
