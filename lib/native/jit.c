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
    LLVMOrcJITDylibRef jd; /* the module's own symbol namespace */
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

/* The code generation options (host_tm), as the cache key records them. */
#define CODEGEN_ID "O2 default<O2> pic small poll=1024 prefix=" NATIVE_PREFIX
_Static_assert(NATIVE_POLL_PERIOD == 1024, "CODEGEN_ID names the poll period");

static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;
/* Under jit_lock: the JIT, and the JITDylibs of freed modules, kept for the next ones (ORC's C
 * API cannot remove a JITDylib; emptied, one serves again). */
static LLVMOrcLLJITRef jit;
static LLVMOrcJITDylibRef *spare_jds;
static size_t nspare_jds, cspare_jds;
static uint64_t jd_seq;

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

char *native__target_id(void)
{
    unsigned major = 0, minor = 0, patch = 0;
    LLVMGetVersion(&major, &minor, &patch);
    char *triple = LLVMGetDefaultTargetTriple();
    char *cpu = LLVMGetHostCPUName();
    char *features = LLVMGetHostCPUFeatures();
    char *id = NULL;
    if (asprintf(&id, "llvm %u.%u.%u\ntriple %s\ncpu %s\nfeatures %s\ncodegen %s\n", major, minor,
                 patch, triple, cpu, features, CODEGEN_ID) < 0)
        id = NULL;
    LLVMDisposeMessage(triple);
    LLVMDisposeMessage(cpu);
    LLVMDisposeMessage(features);
    return id;
}

static int set_error(struct wasmslot_error *err, const char *what, LLVMErrorRef e)
{
    char *msg = LLVMGetErrorMessage(e);
    wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return -WASMSLOT_EINVALID;
}

int native__emit(struct wasmslot_module *m, LLVMMemoryBufferRef *obj, struct wasmslot_error *err)
{
    int rc = 0;
    LLVMContextRef C = NULL;
    LLVMTargetMachineRef tm = NULL;
    LLVMModuleRef M = NULL;
    const char *unsupported = NULL;

    *obj = NULL;
    if (!native__available())
        return wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: LLVM has no target here");
    C = LLVMContextCreate();
    tm = host_tm();
    if (tm == NULL) {
        rc = wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: no target for this host");
        goto out;
    }
    M = native__translate(m, NATIVE_PREFIX, C, tm, &unsupported);
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
    if (LLVMTargetMachineEmitToMemoryBuffer(tm, M, LLVMObjectFile, &emsg, obj) != 0) {
        rc = wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: emitting code: %s", emsg);
        LLVMDisposeMessage(emsg);
        *obj = NULL;
        goto out;
    }

out:
    if (M != NULL)
        LLVMDisposeModule(M);
    if (tm != NULL)
        LLVMDisposeTargetMachine(tm);
    if (C != NULL)
        LLVMContextDispose(C);
    return rc;
}

/* ------------------------------------------------------------------ linking */

/* ORC reports errors it cannot return (a failed materialisation) here as well as to the
 * lookup that triggered it; the library never prints, and the lookup's error is the one kept. */
static void drop_error(void *ctx, LLVMErrorRef e)
{
    (void)ctx;
    LLVMConsumeError(e);
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
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(jit), drop_error, NULL);
    return 0;
}

/* A JITDylib for one module: a spare one, or a new one holding the helpers' addresses (as
 * absolute symbols, the names generated code calls them by) and, behind them, the process's
 * own symbols (libc functions the code generator may call). */
static int take_jd(LLVMOrcJITDylibRef *out, struct wasmslot_error *err)
{
    if (nspare_jds > 0) {
        *out = spare_jds[--nspare_jds];
        return 0;
    }
    char name[48];
    snprintf(name, sizeof name, "wasmslot.module.%llu", (unsigned long long)++jd_seq);
    LLVMOrcJITDylibRef jd =
        LLVMOrcExecutionSessionCreateBareJITDylib(LLVMOrcLLJITGetExecutionSession(jit), name);
    LLVMOrcCSymbolMapPair syms[NH__COUNT];
    for (unsigned h = 0; h < NH__COUNT; h++) {
        char sym[NATIVE_HELPER_NAME_MAX];
        native__helper_name((enum native_helper)h, sym);
        syms[h].Name = LLVMOrcLLJITMangleAndIntern(jit, sym);
        syms[h].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)native__helpers[h];
        syms[h].Sym.Flags.GenericFlags =
            LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
        syms[h].Sym.Flags.TargetFlags = 0;
    }
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(syms, NH__COUNT);
    LLVMErrorRef e = LLVMOrcJITDylibDefine(jd, mu);
    if (e != NULL) {
        LLVMOrcDisposeMaterializationUnit(mu);
        return set_error(err, "defining the runtime helpers", e);
    }
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    e = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(jit),
                                                             NULL, NULL);
    if (e != NULL)
        return set_error(err, "searching the process's symbols", e);
    LLVMOrcJITDylibAddGenerator(jd, gen);
    *out = jd;
    return 0;
}

/* Keep the JITDylib of a module whose code is gone for the next module. */
static void give_jd(LLVMOrcJITDylibRef jd)
{
    if (nspare_jds == cspare_jds) {
        size_t c = cspare_jds ? 2 * cspare_jds : 16;
        LLVMOrcJITDylibRef *p = realloc(spare_jds, c * sizeof *p);
        if (p == NULL)
            return; /* it stays in the session, unused */
        spare_jds = p;
        cspare_jds = c;
    }
    spare_jds[nspare_jds++] = jd;
}

/* Function k of the object: 'f' (its code) or 'e' (its entry from C), from the symbol's name;
 * false for another symbol. */
static bool parse_name(const char *name, uint32_t nfuncs, bool *entry, uint32_t *k)
{
    size_t plen = strlen(NATIVE_PREFIX);
    if (name == NULL || strncmp(name, NATIVE_PREFIX, plen) != 0)
        return false;
    name += plen;
    if (name[0] != 'f' && name[0] != 'e')
        return false;
    *entry = name[0] == 'e';
    char *end = NULL;
    errno = 0;
    unsigned long v = strtoul(name + 1, &end, 10);
    if (errno != 0 || end == name + 1 || *end != '\0' || v >= nfuncs)
        return false;
    *k = (uint32_t)v;
    return true;
}

/* Sizes of the object's functions, from its symbol table: size[2k] of function k's code,
 * size[2k + 1] of its entry. */
static int symbol_sizes(const void *data, size_t len, uint32_t nfuncs, uint64_t *size)
{
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRange(data, len, "wasm", 0);
    char *msg = NULL;
    LLVMBinaryRef bin = LLVMCreateBinary(buf, NULL, &msg);
    LLVMDisposeMessage(msg);
    if (bin == NULL) {
        LLVMDisposeMemoryBuffer(buf);
        return -1;
    }
    LLVMSymbolIteratorRef it = LLVMObjectFileCopySymbolIterator(bin);
    while (!LLVMObjectFileIsSymbolIteratorAtEnd(bin, it)) {
        bool entry;
        uint32_t k;
        if (parse_name(LLVMGetSymbolName(it), nfuncs, &entry, &k))
            size[2 * k + entry] = LLVMGetSymbolSize(it);
        LLVMMoveToNextSymbol(it);
    }
    LLVMDisposeSymbolIterator(it);
    LLVMDisposeBinary(bin);
    LLVMDisposeMemoryBuffer(buf);
    return 0;
}

/* One lookup of every function and entry in a module's JITDylib (which links the object). */
struct lookup {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    LLVMErrorRef err;
    struct wasmslot_module *m;
};

static void lookup_done(LLVMErrorRef e, LLVMOrcCSymbolMapPairs res, size_t n, void *ctx)
{
    struct lookup *l = ctx;
    for (size_t i = 0; e == NULL && i < n; i++) {
        bool entry;
        uint32_t k;
        if (!parse_name(LLVMOrcSymbolStringPoolEntryStr(res[i].Name), l->m->nfuncs, &entry, &k))
            continue;
        void *addr = (void *)(uintptr_t)res[i].Sym.Address;
        if (entry)
            l->m->funcs[k].native_entry = addr;
        else
            l->m->funcs[k].native_code = addr;
    }
    pthread_mutex_lock(&l->mu);
    l->err = e;
    l->done = true;
    pthread_cond_signal(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

static LLVMErrorRef lookup_funcs(struct wasmslot_module *m, LLVMOrcJITDylibRef jd)
{
    size_t n = 2 * (size_t)m->nfuncs;
    LLVMOrcCLookupSetElement *set = calloc(n + 1, sizeof *set);
    if (set == NULL)
        return LLVMCreateStringError("out of memory");
    char name[64];
    for (uint32_t k = 0; k < m->nfuncs; k++) {
        snprintf(name, sizeof name, "%sf%u", NATIVE_PREFIX, k);
        set[2 * k].Name = LLVMOrcLLJITMangleAndIntern(jit, name);
        snprintf(name, sizeof name, "%se%u", NATIVE_PREFIX, k);
        set[2 * k + 1].Name = LLVMOrcLLJITMangleAndIntern(jit, name);
        set[2 * k].LookupFlags = set[2 * k + 1].LookupFlags =
            LLVMOrcSymbolLookupFlagsRequiredSymbol;
    }
    LLVMOrcCJITDylibSearchOrderElement order[2] = {
        {jd, LLVMOrcJITDylibLookupFlagsMatchExportedSymbolsOnly},
        {NULL, LLVMOrcJITDylibLookupFlagsMatchExportedSymbolsOnly},
    };
    struct lookup l = {.m = m};
    pthread_mutex_init(&l.mu, NULL);
    pthread_cond_init(&l.cv, NULL);
    /* The set's names pass to the lookup. */
    LLVMOrcExecutionSessionLookup(LLVMOrcLLJITGetExecutionSession(jit), LLVMOrcLookupKindStatic,
                                  order, 1, set, n, lookup_done, &l);
    pthread_mutex_lock(&l.mu);
    while (!l.done)
        pthread_cond_wait(&l.cv, &l.mu);
    pthread_mutex_unlock(&l.mu);
    pthread_cond_destroy(&l.cv);
    pthread_mutex_destroy(&l.mu);
    free(set);
    return l.err;
}

/* Record [lo, hi) of the module's code from its functions' addresses and sizes. */
static int add_range(const struct wasmslot_module *m, const uint64_t *size)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (uint32_t k = 0; k < m->nfuncs; k++) {
        const uintptr_t a[2] = {(uintptr_t)m->funcs[k].native_code,
                                (uintptr_t)m->funcs[k].native_entry};
        for (int i = 0; i < 2; i++) {
            if (size[2 * k + i] == 0)
                continue;
            if (a[i] < lo)
                lo = a[i];
            if (a[i] + size[2 * k + i] > hi)
                hi = a[i] + size[2 * k + i];
        }
    }
    int n = atomic_load_explicit(&nranges, memory_order_relaxed);
    if (lo >= hi || n >= MAX_RANGES)
        return -1;
    atomic_store_explicit(&ranges[n].lo, lo, memory_order_relaxed);
    atomic_store_explicit(&ranges[n].hi, hi, memory_order_relaxed);
    atomic_store_explicit(&nranges, n + 1, memory_order_release);
    return n;
}

/* Unlink the module's code and keep its JITDylib for another. Under jit_lock. */
static void unlink_code(struct native_module *nm)
{
    LLVMErrorRef e = LLVMOrcResourceTrackerRemove(nm->rt);
    LLVMOrcReleaseResourceTracker(nm->rt);
    if (e != NULL)
        LLVMConsumeError(e); /* the JITDylib may hold the old names: not reused */
    else
        give_jd(nm->jd);
}

int native__load(struct wasmslot_module *m, const void *data, size_t len,
                 struct wasmslot_error *err)
{
    int rc = 0;
    struct native_module *nm = NULL;
    uint64_t *size = calloc(2 * (size_t)m->nfuncs + 1, sizeof *size);
    if (size == NULL)
        return wasmslot_error_set(err, ENOMEM, "out of memory");
    if (symbol_sizes(data, len, m->nfuncs, size) < 0) {
        free(size);
        return wasmslot_error_set(err, WASMSLOT_EINVALID, "native tier: not an object file");
    }

    pthread_mutex_lock(&jit_lock);
    if ((rc = ensure_jit(err)) < 0)
        goto out;
    nm = calloc(1, sizeof *nm);
    if (nm == NULL) {
        rc = wasmslot_error_set(err, ENOMEM, "out of memory");
        goto out;
    }
    nm->range = -1;
    if ((rc = take_jd(&nm->jd, err)) < 0)
        goto out;
    nm->rt = LLVMOrcJITDylibCreateResourceTracker(nm->jd);
    /* The JIT takes its own copy: data stays the caller's. */
    LLVMMemoryBufferRef obj = LLVMCreateMemoryBufferWithMemoryRangeCopy(data, len, "wasm");
    LLVMErrorRef e = LLVMOrcLLJITAddObjectFileWithRT(jit, nm->rt, obj);
    if (e != NULL) {
        rc = set_error(err, "loading code", e);
        goto out;
    }
    e = lookup_funcs(m, nm->jd);
    if (e != NULL) {
        rc = set_error(err, "linking code", e);
        goto out;
    }
    nm->range = add_range(m, size);
    m->tier_state = nm;
    nm = NULL;

out:
    if (nm != NULL) {
        if (nm->rt != NULL)
            unlink_code(nm);
        free(nm);
        for (uint32_t k = 0; k < m->nfuncs; k++)
            m->funcs[k].native_code = m->funcs[k].native_entry = NULL;
    }
    pthread_mutex_unlock(&jit_lock);
    free(size);
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
    unlink_code(nm);
    pthread_mutex_unlock(&jit_lock);
    free(nm);
    m->tier_state = NULL;
    for (uint32_t k = 0; k < m->nfuncs; k++)
        m->funcs[k].native_code = m->funcs[k].native_entry = NULL;
}
