/* wasm_error.c: names and messages of every error and trap code the library returns. */
#include "config.h"

#include "wasm_module.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int code_of(int err)
{
    return err < 0 ? -err : err;
}

bool wasm_is_trap(int err)
{
    int c = code_of(err);
    return c >= WASM_TRAP_UNREACHABLE && c <= WASM_TRAP_HOST;
}

/* Library codes only; the exhaustive switch lets -Wswitch catch a new member. */
static const char *lib_message(enum wasm_errcode c)
{
    switch (c) {
    case WASM_EMALFORMED:
        return "malformed module";
    case WASM_EINVALID:
        return "invalid module";
    case WASM_EUNLINKABLE:
        return "unknown import or incompatible import type";
    case WASM_ENOTFOUND:
        return "not found";
    case WASM_EARGS:
        return "wrong number or types of arguments";
    case WASM_EEXHAUSTED:
        return "pool exhausted";
    case WASM_ELIMIT:
        return "limit reached";
    case WASM_EEXIT:
        return "program exited";
    case WASM_TRAP_UNREACHABLE:
        return "unreachable";
    case WASM_TRAP_OOB_MEMORY:
        return "out of bounds memory access";
    case WASM_TRAP_OOB_TABLE:
        return "out of bounds table access";
    case WASM_TRAP_DIV_ZERO:
        return "integer divide by zero";
    case WASM_TRAP_INT_OVERFLOW:
        return "integer overflow";
    case WASM_TRAP_BAD_CONVERSION:
        return "invalid conversion to integer";
    case WASM_TRAP_UNDEFINED_ELEM:
        return "undefined element";
    case WASM_TRAP_UNINIT_ELEM:
        return "uninitialized element";
    case WASM_TRAP_INDIRECT_MISMATCH:
        return "indirect call type mismatch";
    case WASM_TRAP_STACK_EXHAUSTED:
        return "call stack exhausted";
    case WASM_TRAP_TIMEOUT:
        return "timeout";
    case WASM_TRAP_UNALIGNED_ATOMIC:
        return "unaligned atomic";
    case WASM_TRAP_EXPECTED_SHARED:
        return "expected shared memory";
    case WASM_TRAP_HOST:
        return "host function failed";
    }
    return NULL;
}

static const char *lib_name(enum wasm_errcode c)
{
    switch (c) {
    case WASM_EMALFORMED:
        return "malformed_module";
    case WASM_EINVALID:
        return "invalid_module";
    case WASM_EUNLINKABLE:
        return "unlinkable";
    case WASM_ENOTFOUND:
        return "not_found";
    case WASM_EARGS:
        return "bad_arguments";
    case WASM_EEXHAUSTED:
        return "pool_exhausted";
    case WASM_ELIMIT:
        return "limit_reached";
    case WASM_EEXIT:
        return "exit";
    case WASM_TRAP_UNREACHABLE:
        return "unreachable";
    case WASM_TRAP_OOB_MEMORY:
        return "out_of_bounds_memory";
    case WASM_TRAP_OOB_TABLE:
        return "out_of_bounds_table";
    case WASM_TRAP_DIV_ZERO:
        return "integer_divide_by_zero";
    case WASM_TRAP_INT_OVERFLOW:
        return "integer_overflow";
    case WASM_TRAP_BAD_CONVERSION:
        return "invalid_conversion";
    case WASM_TRAP_UNDEFINED_ELEM:
        return "undefined_element";
    case WASM_TRAP_UNINIT_ELEM:
        return "uninitialized_element";
    case WASM_TRAP_INDIRECT_MISMATCH:
        return "indirect_call_type_mismatch";
    case WASM_TRAP_STACK_EXHAUSTED:
        return "call_stack_exhausted";
    case WASM_TRAP_TIMEOUT:
        return "timeout";
    case WASM_TRAP_UNALIGNED_ATOMIC:
        return "unaligned_atomic";
    case WASM_TRAP_EXPECTED_SHARED:
        return "expected_shared_memory";
    case WASM_TRAP_HOST:
        return "host_error";
    }
    return NULL;
}

const char *wasm_strerror(int err)
{
    int c = code_of(err);
    const char *s;

    if (c == 0)
        return "success";
    if (c >= WASM_EMALFORMED && (s = lib_message((enum wasm_errcode)c)) != NULL)
        return s;
    if (c < WASM_EMALFORMED)
        return strerror(c);
    return "unknown error";
}

const char *wasm_errname(int err)
{
    int c = code_of(err);
    const char *s;

    if (c == 0)
        return "ok";
    if (c >= WASM_EMALFORMED && (s = lib_name((enum wasm_errcode)c)) != NULL)
        return s;
    if (c < WASM_EMALFORMED)
        return "system_error";
    return "unknown_error";
}

const char *wasm_valtype_name(enum wasm_valtype t)
{
    switch (t) {
    case WASM_I32:
        return "i32";
    case WASM_I64:
        return "i64";
    case WASM_F32:
        return "f32";
    case WASM_F64:
        return "f64";
    case WASM_V128:
        return "v128";
    case WASM_FUNCREF:
        return "funcref";
    case WASM_EXTERNREF:
        return "externref";
    }
    return NULL;
}

int wasm_error_set(struct wasm_error *err, int code, const char *fmt, ...)
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
