/* native/native_int.h: what the native tier's files share: the translator's entry, the JIT,
 * and the runtime helpers that generated code calls (private to lib/native/). */
#ifndef NATIVE_INT_H
#define NATIVE_INT_H

#include "format/module.h"
#include "runtime/runtime.h"
#include "runtime/sha256.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include <stdio.h>

/* Runtime helpers called by generated code. The code names them (native__helper_name) and the
 * JIT resolves the names to native__helpers[] when it links the code, so the object holds no
 * address of this process and the code cache may keep it. The translator declares each one's
 * LLVM type. */
enum native_helper {
    NH_TRAP,        /* void (exec, i32 code), noreturn */
    NH_POLL,        /* void (exec): the poll countdown ran out */
    NH_MEM_SIZE,    /* i32 (inst) */
    NH_MEM_GROW,    /* i32 (inst, i32 delta) */
    NH_MEM_FILL,    /* void (inst, i32 d, i32 v, i32 n) */
    NH_MEM_COPY,    /* void (inst, i32 d, i32 s, i32 n) */
    NH_MEM_INIT,    /* void (inst, i32 seg, i32 d, i32 s, i32 n) */
    NH_DATA_DROP,   /* void (inst, i32 seg) */
    NH_TABLE_GET,   /* ptr (inst, i32 t, i32 i) */
    NH_TABLE_SET,   /* void (inst, i32 t, i32 i, ptr v) */
    NH_TABLE_SIZE,  /* i32 (inst, i32 t) */
    NH_TABLE_GROW,  /* i32 (inst, i32 t, ptr v, i32 n) */
    NH_TABLE_FILL,  /* void (inst, i32 t, i32 i, ptr v, i32 n) */
    NH_TABLE_COPY,  /* void (inst, i32 dt, i32 st, i32 d, i32 s, i32 n) */
    NH_TABLE_INIT,  /* void (inst, i32 t, i32 seg, i32 d, i32 s, i32 n) */
    NH_ELEM_DROP,   /* void (inst, i32 seg) */
    NH_SIG_EQ,      /* i32 (ptr functype, ptr functype) */
    NH_CALL,        /* void (exec, inst, ptr func, ptr cells): any function, any tier */
    NH_ATOMIC_ADDR, /* ptr (inst, i64 ea, i32 size): bounds, then alignment, then the address */
    NH_WAIT32,      /* i32 (exec, inst, i64 ea, i32 expected, i64 timeout) */
    NH_WAIT64,      /* i32 (exec, inst, i64 ea, i64 expected, i64 timeout) */
    NH_NOTIFY,      /* i32 (inst, i64 ea, i32 count) */
    NH__COUNT
};

extern void *const native__helpers[NH__COUNT];

/* The symbol generated code calls helper h by: "wasmslot_nh<h>". Numbered rather than named
 * after the function, so that a helper added to the enum needs nothing more here; an object
 * built with another numbering is never loaded, since the cache key covers the build. */
#define NATIVE_HELPER_NAME_MAX 24
static inline void native__helper_name(enum native_helper h, char name[NATIVE_HELPER_NAME_MAX])
{
    snprintf(name, NATIVE_HELPER_NAME_MAX, "wasmslot_nh%u", (unsigned)h);
}

/* Polls (loop headers, function entries) between two readings of the clock. */
#define NATIVE_POLL_PERIOD 1024

/* Translate every body of m (already validated) into one LLVM module in C, laid out for tm.
 * Function k is named "<prefix>f<k>" (its own signature: exec, instance, parameters) with an
 * entry "<prefix>e<k>" (void: exec, instance, cells). Returns the module, or NULL with
 * *unsupported set to a static string naming what the translator does not handle. */
LLVMModuleRef native__translate(const struct wasmslot_module *m, const char *prefix,
                                LLVMContextRef C, LLVMTargetMachineRef tm,
                                const char **unsupported);

/* The prefix of the functions' names in the object. Every module's object is linked into a
 * symbol namespace (a JITDylib) of its own, so the names need not differ between modules and
 * the object does not depend on what else this process loaded. */
#define NATIVE_PREFIX "wasm_"

/* Translate m's bodies (validated, and compiled for the interpreter), optimise them (O2) and
 * emit an ELF object for the host CPU (jit.c). Returns 0 with *obj (the caller disposes of it);
 * 1 when m stays on the interpreter, with the reason in m->tier_fallback; or a negative code with
 * err. */
int native__emit(struct wasmslot_module *m, LLVMMemoryBufferRef *obj, struct wasmslot_error *err);

/* Link the object at data (made by native__emit, in this process or another) into read+execute
 * pages and point m's functions at its code. data stays the caller's. Returns 0, or a negative
 * code with err and m unchanged. */
int native__load(struct wasmslot_module *m, const void *data, size_t len,
                 struct wasmslot_error *err);

/* What besides a module's bytes decides the object native__emit makes in this process: the
 * LLVM version, the target triple, the host CPU's name and features, the code generation
 * options. A malloc()ed string, or NULL when out of memory. */
char *native__target_id(void);

/* The code cache's key for m (key.c): a SHA-256 over its bytes, CACHE_FORMAT, this library's
 * version and build ID, and native__target_id. Returns 0, or -1 when out of memory. */
int native__cache_key(const struct wasmslot_module *m, uint8_t key[SHA256_BYTES]);

/* Release the machine code native__load linked for m. */
void native__release(struct wasmslot_module *m);

/* Before a call from C into generated code on ex (native/stack.c): set ex->native_stack_limit
 * and return the top of the exec's own machine stack to switch to (0: stay on this one, when
 * re-entered from a host function or when the stack cannot be mapped, the thread's own stack
 * then bounding the depth). */
uintptr_t native__stack_enter(struct wasmslot_exec *ex);

/* Call fn(arg) with the stack pointer at top (16-byte aligned) and return on the caller's
 * stack. A trap leaves through siglongjmp to trap__run, on the caller's stack. */
void native__on_stack(void *arg, void (*fn)(void *), void *top);

#endif
