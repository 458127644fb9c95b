/* native/native_int.h: what the native tier's files share: the translator's entry, the JIT,
 * and the runtime helpers that generated code calls (private to lib/native/). */
#ifndef NATIVE_INT_H
#define NATIVE_INT_H

#include "format/module.h"
#include "runtime/runtime.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

/* Runtime helpers called by generated code, through their absolute addresses (the code is
 * linked into this process, and workers fork from it, so the addresses hold everywhere). The
 * translator declares each one's LLVM type. */
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

/* Polls (loop headers, function entries) between two readings of the clock. */
#define NATIVE_POLL_PERIOD 1024

/* Translate every body of m (already validated) into one LLVM module in C, laid out for tm.
 * Function k is named "<prefix>f<k>" (its own signature: exec, instance, parameters) with an
 * entry "<prefix>e<k>" (void: exec, instance, cells). Returns the module, or NULL with
 * *unsupported set to a static string naming what the translator does not handle. */
LLVMModuleRef native__translate(const struct wasmslot_module *m, const char *prefix,
                                LLVMContextRef C, LLVMTargetMachineRef tm,
                                const char **unsupported);

/* Compile m's bodies (validated, and compiled for the interpreter) to machine code and link it
 * (jit.c). Returns 0; 1 when m stays on the interpreter, with the reason in m->tier_fallback;
 * or a negative code with err. */
int native__compile(struct wasmslot_module *m, struct wasmslot_error *err);

/* Release the machine code native__compile made for m. */
void native__release(struct wasmslot_module *m);

#endif
