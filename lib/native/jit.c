/* native/jit.c: from a translated LLVM module to linked machine code: the O2 pipeline, an
 * object for the host CPU, ORC's LLJIT to link it into this process (read+execute pages,
 * never writable and executable at once), and the table of code ranges the fault handler
 * reads. */
#include "config.h"

#include "native/native.h"
#include "native/native_int.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Object.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Module-wide state of a natively compiled module (m->tier_state). */
struct native_module {
    LLVMOrcResourceTrackerRef rt;
    int range; /* index in the code range table, -1 when none */
};

/* Code ranges of every loaded module, for native__pc_in_code. Append-only: a freed module's
 * range is emptied, never reused, so the signal handler needs no lock. */
#define MAX_RANGES 4096
static struct {
    _Atomic uintptr_t lo, hi;
} ranges[MAX_RANGES];
static _Atomic int nranges;

static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;
static LLVMOrcLLJITRef jit;
static uint64_t module_seq;

static void init_llvm(void)
{
    if (LLVMInitializeNativeTarget() != 0 || LLVMInitializeNativeAsmPrinter() != 0)
        return;
    init_ok = true;
}

bool native__available(void)
{
    pthread_once(&init_once, init_llvm);
    return init_ok;
}

bool native__pc_in_code(uintptr_t pc)
{
    int n = atomic_load_explicit(&nranges, memory_order_acquire);
    for (int i = 0; i < n; i++)
        if (pc >= atomic_load_explicit(&ranges[i].lo, memory_order_relaxed) &&
            pc < atomic_load_explicit(&ranges[i].hi, memory_order_relaxed))
            return true;
    return false;
}

static LLVMTargetMachineRef host_tm(void)
{
    char *triple = LLVMGetDefaultTargetTriple();
    char *cpu = LLVMGetHostCPUName();
    char *features = LLVMGetHostCPUFeatures();
    LLVMTargetRef target = NULL;
    char *msg = NULL;
    LLVMTargetMachineRef tm = NULL;
    if (LLVMGetTargetFromTriple(triple, &target, &msg) == 0)
        tm = LLVMCreateTargetMachine(target, triple, cpu, features, LLVMCodeGenLevelDefault,
                                     LLVMRelocPIC, LLVMCodeModelSmall);
    LLVMDisposeMessage(msg);
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return tm;
}

static int set_error(struct wasmslot_error *err, const char *what, LLVMErrorRef e)
{
    char *msg = LLVMGetErrorMessage(e);
    wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return -WASMSLOT_EINVALID;
}

static int ensure_jit(struct wasmslot_error *err)
{
    if (jit != NULL)
        return 0;
    LLVMErrorRef e = LLVMOrcCreateLLJIT(&jit, NULL);
    if (e != NULL) {
        jit = NULL;
        return set_error(err, "creating the JIT", e);
    }
    return 0;
}

/* Record [lo, hi) of the module's code from the object's symbol table and the linked
 * addresses of its functions. */
static int add_range(LLVMMemoryBufferRef obj, const char *prefix)
{
    char *msg = NULL;
    LLVMBinaryRef bin = LLVMCreateBinary(obj, NULL, &msg);
    LLVMDisposeMessage(msg);
    if (bin == NULL)
        return -1;
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    size_t plen = strlen(prefix);
    LLVMSymbolIteratorRef it = LLVMObjectFileCopySymbolIterator(bin);
    while (!LLVMObjectFileIsSymbolIteratorAtEnd(bin, it)) {
        const char *name = LLVMGetSymbolName(it);
        uint64_t size = LLVMGetSymbolSize(it);
        LLVMOrcExecutorAddress addr = 0;
        if (name != NULL && strncmp(name, prefix, plen) == 0 && size > 0) {
            LLVMErrorRef e = LLVMOrcLLJITLookup(jit, &addr, name);
            if (e != NULL) {
                LLVMConsumeError(e);
            } else {
                if (addr < lo)
                    lo = addr;
                if (addr + size > hi)
                    hi = addr + size;
            }
        }
        LLVMMoveToNextSymbol(it);
    }
    LLVMDisposeSymbolIterator(it);
    LLVMDisposeBinary(bin);
    int n = atomic_load_explicit(&nranges, memory_order_relaxed);
    if (lo >= hi || n >= MAX_RANGES)
        return -1;
    atomic_store_explicit(&ranges[n].lo, lo, memory_order_relaxed);
    atomic_store_explicit(&ranges[n].hi, hi, memory_order_relaxed);
    atomic_store_explicit(&nranges, n + 1, memory_order_release);
    return n;
}

int native__compile(struct wasmslot_module *m, struct wasmslot_error *err)
{
    int rc = 0;
    char prefix[32];
    LLVMContextRef C = NULL;
    LLVMTargetMachineRef tm = NULL;
    LLVMModuleRef M = NULL;
    LLVMMemoryBufferRef obj = NULL;
    struct native_module *nm = NULL;
    const char *unsupported = NULL;

    pthread_mutex_lock(&jit_lock);
    if ((rc = ensure_jit(err)) < 0)
        goto out;
    snprintf(prefix, sizeof prefix, "wsm%llu_", (unsigned long long)++module_seq);
    C = LLVMContextCreate();
    tm = host_tm();
    if (tm == NULL) {
        rc = wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: no target for this host");
        goto out;
    }
    M = native__translate(m, prefix, C, tm, &unsupported);
    if (M == NULL) {
        char buf[160];
        snprintf(buf, sizeof buf, "the native tier does not translate %s", unsupported);
        m->tier_fallback = strdup(buf);
        rc = 1;
        goto out;
    }
#ifdef NATIVE_VERIFY
    char *vmsg = NULL;
    if (LLVMVerifyModule(M, LLVMReturnStatusAction, &vmsg)) {
        fprintf(stderr, "native tier: invalid IR: %s\n", vmsg);
        LLVMDumpModule(M);
        abort();
    }
    LLVMDisposeMessage(vmsg);
#endif
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMErrorRef e = LLVMRunPasses(M, "default<O2>", tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    if (e != NULL) {
        rc = set_error(err, "optimising", e);
        goto out;
    }
    char *emsg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, M, LLVMObjectFile, &emsg, &obj) != 0) {
        rc = wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: emitting code: %s", emsg);
        LLVMDisposeMessage(emsg);
        goto out;
    }
    nm = calloc(1, sizeof *nm);
    if (nm == NULL) {
        rc = wasmslot_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    nm->range = -1;
    LLVMOrcJITDylibRef jd = LLVMOrcLLJITGetMainJITDylib(jit);
    nm->rt = LLVMOrcJITDylibCreateResourceTracker(jd);
    /* The JIT takes the buffer; keep a copy for the symbol table. */
    LLVMMemoryBufferRef copy = LLVMCreateMemoryBufferWithMemoryRangeCopy(
        LLVMGetBufferStart(obj), LLVMGetBufferSize(obj), "wasm");
    e = LLVMOrcLLJITAddObjectFileWithRT(jit, nm->rt, obj);
    obj = NULL;
    if (e != NULL) {
        LLVMDisposeMemoryBuffer(copy);
        rc = set_error(err, "loading code", e);
        goto out;
    }
    char name[64];
    for (uint32_t k = 0; k < m->nfuncs; k++) {
        LLVMOrcExecutorAddress code = 0, entry = 0;
        snprintf(name, sizeof name, "%sf%u", prefix, k);
        e = LLVMOrcLLJITLookup(jit, &code, name);
        if (e == NULL) {
            snprintf(name, sizeof name, "%se%u", prefix, k);
            e = LLVMOrcLLJITLookup(jit, &entry, name);
        }
        if (e != NULL) {
            LLVMDisposeMemoryBuffer(copy);
            rc = set_error(err, "linking code", e);
            goto out;
        }
        m->funcs[k].native_code = (void *)(uintptr_t)code;
        m->funcs[k].native_entry = (void *)(uintptr_t)entry;
    }
    nm->range = add_range(copy, prefix);
    LLVMDisposeMemoryBuffer(copy);
    m->tier_state = nm;
    nm = NULL;

out:
    if (nm != NULL) {
        if (nm->rt != NULL) {
            LLVMErrorRef re = LLVMOrcResourceTrackerRemove(nm->rt);
            if (re != NULL)
                LLVMConsumeError(re);
            LLVMOrcReleaseResourceTracker(nm->rt);
        }
        free(nm);
        for (uint32_t k = 0; k < m->nfuncs; k++)
            m->funcs[k].native_code = m->funcs[k].native_entry = NULL;
    }
    if (obj != NULL)
        LLVMDisposeMemoryBuffer(obj);
    if (M != NULL)
        LLVMDisposeModule(M);
    if (tm != NULL)
        LLVMDisposeTargetMachine(tm);
    if (C != NULL)
        LLVMContextDispose(C);
    pthread_mutex_unlock(&jit_lock);
    return rc;
}

void native__release(struct wasmslot_module *m)
{
    struct native_module *nm = m->tier_state;
    if (nm == NULL)
        return;
    pthread_mutex_lock(&jit_lock);
    if (nm->range >= 0) {
        atomic_store_explicit(&ranges[nm->range].hi, 0, memory_order_relaxed);
        atomic_store_explicit(&ranges[nm->range].lo, 0, memory_order_relaxed);
    }
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(nm->rt);
    if (e != NULL)
        LLVMConsumeError(e);
    LLVMOrcReleaseResourceTracker(nm->rt);
    pthread_mutex_unlock(&jit_lock);
    free(nm);
    m->tier_state = NULL;
    for (uint32_t k = 0; k < m->nfuncs; k++)
        m->funcs[k].native_code = m->funcs[k].native_entry = NULL;
}
