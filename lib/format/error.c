/* format/error.c: names and messages of every error and trap code the library returns. */
#include "config.h"

#include "format/module.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int code_of(int err)
{
    return err < 0 ? -err : err;
}

bool wasmslot_is_trap(int err)
{
    int c = code_of(err);
    return c >= WASMSLOT_TRAP_UNREACHABLE && c <= WASMSLOT_TRAP_UNLINKED_IMPORT;
}

/* Library codes only; the exhaustive switch lets -Wswitch catch a new member. */
static const char *lib_message(enum wasmslot_errcode c)
{
    switch (c) {
    case WASMSLOT_EMALFORMED:
        return "malformed module";
    case WASMSLOT_EINVALID:
        return "invalid module";
    case WASMSLOT_EUNLINKABLE:
        return "unknown import or incompatible import type";
    case WASMSLOT_ENOTFOUND:
        return "not found";
    case WASMSLOT_EARGS:
        return "wrong number or types of arguments";
    case WASMSLOT_EEXHAUSTED:
        return "pool exhausted";
    case WASMSLOT_ELIMIT:
        return "limit reached";
    case WASMSLOT_EEXIT:
        return "program exited";
    case WASMSLOT_ESIGNALS:
        return "another SIGSEGV/SIGBUS handler replaced the library's; call "
               "wasmslot_trap_handlers_install() again";
    case WASMSLOT_TRAP_UNREACHABLE:
        return "unreachable";
    case WASMSLOT_TRAP_OOB_MEMORY:
        return "out of bounds memory access";
    case WASMSLOT_TRAP_OOB_TABLE:
        return "out of bounds table access";
    case WASMSLOT_TRAP_DIV_ZERO:
        return "integer divide by zero";
    case WASMSLOT_TRAP_INT_OVERFLOW:
        return "integer overflow";
    case WASMSLOT_TRAP_BAD_CONVERSION:
        return "invalid conversion to integer";
    case WASMSLOT_TRAP_UNDEFINED_ELEM:
        return "undefined element";
    case WASMSLOT_TRAP_UNINIT_ELEM:
        return "uninitialized element";
    case WASMSLOT_TRAP_INDIRECT_MISMATCH:
        return "indirect call type mismatch";
    case WASMSLOT_TRAP_STACK_EXHAUSTED:
        return "call stack exhausted";
    case WASMSLOT_TRAP_TIMEOUT:
        return "timeout";
    case WASMSLOT_TRAP_UNALIGNED_ATOMIC:
        return "unaligned atomic";
    case WASMSLOT_TRAP_EXPECTED_SHARED:
        return "expected shared memory";
    case WASMSLOT_TRAP_HOST:
        return "host function failed";
    case WASMSLOT_TRAP_UNLINKED_IMPORT:
        return "unlinked import";
    }
    return NULL;
}

static const char *lib_name(enum wasmslot_errcode c)
{
    switch (c) {
    case WASMSLOT_EMALFORMED:
        return "malformed_module";
    case WASMSLOT_EINVALID:
        return "invalid_module";
    case WASMSLOT_EUNLINKABLE:
        return "unlinkable";
    case WASMSLOT_ENOTFOUND:
        return "not_found";
    case WASMSLOT_EARGS:
        return "bad_arguments";
    case WASMSLOT_EEXHAUSTED:
        return "pool_exhausted";
    case WASMSLOT_ELIMIT:
        return "limit_reached";
    case WASMSLOT_EEXIT:
        return "exit";
    case WASMSLOT_ESIGNALS:
        return "trap_handlers_replaced";
    case WASMSLOT_TRAP_UNREACHABLE:
        return "unreachable";
    case WASMSLOT_TRAP_OOB_MEMORY:
        return "out_of_bounds_memory";
    case WASMSLOT_TRAP_OOB_TABLE:
        return "out_of_bounds_table";
    case WASMSLOT_TRAP_DIV_ZERO:
        return "integer_divide_by_zero";
    case WASMSLOT_TRAP_INT_OVERFLOW:
        return "integer_overflow";
    case WASMSLOT_TRAP_BAD_CONVERSION:
        return "invalid_conversion";
    case WASMSLOT_TRAP_UNDEFINED_ELEM:
        return "undefined_element";
    case WASMSLOT_TRAP_UNINIT_ELEM:
        return "uninitialized_element";
    case WASMSLOT_TRAP_INDIRECT_MISMATCH:
        return "indirect_call_type_mismatch";
    case WASMSLOT_TRAP_STACK_EXHAUSTED:
        return "call_stack_exhausted";
    case WASMSLOT_TRAP_TIMEOUT:
        return "timeout";
    case WASMSLOT_TRAP_UNALIGNED_ATOMIC:
        return "unaligned_atomic";
    case WASMSLOT_TRAP_EXPECTED_SHARED:
        return "expected_shared_memory";
    case WASMSLOT_TRAP_HOST:
        return "host_error";
    case WASMSLOT_TRAP_UNLINKED_IMPORT:
        return "unlinked_import";
    }
    return NULL;
}

const char *wasmslot_strerror(int err)
{
    int c = code_of(err);
    const char *s;

    if (c == 0)
        return "success";
    if (c >= WASMSLOT_EMALFORMED && (s = lib_message((enum wasmslot_errcode)c)) != NULL)
        return s;
    if (c < WASMSLOT_EMALFORMED)
        return strerror(c);
    return "unknown error";
}

const char *wasmslot_errname(int err)
{
    int c = code_of(err);
    const char *s;

    if (c == 0)
        return "ok";
    if (c >= WASMSLOT_EMALFORMED && (s = lib_name((enum wasmslot_errcode)c)) != NULL)
        return s;
    if (c < WASMSLOT_EMALFORMED)
        return "system_error";
    return "unknown_error";
}

const char *wasmslot_valtype_name(enum wasmslot_valtype t)
{
    switch (t) {
    case WASMSLOT_I32:
        return "i32";
    case WASMSLOT_I64:
        return "i64";
    case WASMSLOT_F32:
        return "f32";
    case WASMSLOT_F64:
        return "f64";
    case WASMSLOT_V128:
        return "v128";
    case WASMSLOT_FUNCREF:
        return "funcref";
    case WASMSLOT_EXTERNREF:
        return "externref";
    }
    return NULL;
}

int wasmslot_error_set(struct wasmslot_error *err, int code, const char *fmt, ...)
{
    int neg = code < 0 ? code : -code;

    if (err != NULL) {
        va_list ap;

        err->code = neg;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof(err->message), fmt, ap);
        va_end(ap);
    }
    return neg;
}
