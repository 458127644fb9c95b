# mk/bench.mk: the compute benchmark: C kernels run natively and, compiled to wasm32, in the
# engine. Built by `make` and `make bench` when configure found a wasm32 C compiler;
# `make bench-compute` runs it; never part of `make check`.

COMPUTE_WASM = tests/bench/compute/kernels.wasm
# Same -O2 as the native build; no libc, so the module has no imports. clang hides symbols on
# wasm by default, hence -fvisibility=default for --export-dynamic to export the kernels.
COMPUTE_WASM_FLAGS = --target=wasm32 -O2 -fvisibility=default -nostdlib \
	-Wl,--no-entry -Wl,--export-dynamic

if HAVE_WASM_CC
noinst_PROGRAMS += tests/bench/compute_bench
noinst_DATA += $(COMPUTE_WASM)
CLEANFILES += $(COMPUTE_WASM)
COMPUTE_BENCH_DEPS = tests/bench/compute_bench$(EXEEXT) $(COMPUTE_WASM)
else
COMPUTE_BENCH_DEPS =
endif
tests_bench_compute_bench_SOURCES = \
	tests/bench/compute_bench.c \
	tests/bench/compute/kernels.c \
	tests/bench/compute/kernels.h
tests_bench_compute_bench_CPPFLAGS = $(AM_CPPFLAGS) \
	-DCOMPUTE_KERNELS_WASM='"$(abs_top_builddir)/$(COMPUTE_WASM)"'
tests_bench_compute_bench_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_compute_bench_LDADD = lib/libwasmslot.a $(PTHREAD_LIBS) -lm

$(COMPUTE_WASM): tests/bench/compute/kernels.c tests/bench/compute/kernels.h
	$(AM_V_GEN)$(MKDIR_P) $(@D) && $(WASM_CC) $(COMPUTE_WASM_FLAGS) $< -o $@

bench: $(COMPUTE_BENCH_DEPS)

bench-compute: $(COMPUTE_BENCH_DEPS)
	@test -n '$(COMPUTE_BENCH_DEPS)' || { echo 'bench-compute: configure found no wasm32 C compiler (WASM_CC)' >&2; exit 1; }
	tests/bench/compute_bench$(EXEEXT) $(COMPUTE_WASM)

.PHONY: bench bench-compute

# The compile benchmark (issue 13): one large module (tests/bench/gen_big.py writes a C program
# of BIG_FUNCS varied functions; wasm32-wasi, -O2: a few MB of code) compiled by the
# interpreter, by the native tier from scratch, and by the native tier from its code cache.
# `make bench-compile` builds the module on first use (minutes) and runs it.
BIG_FUNCS = 6000
BIG_WASM = tests/bench/big.wasm
EXTRA_DIST += tests/bench/gen_big.py
CLEANFILES += tests/bench/big.c $(BIG_WASM)
noinst_PROGRAMS += tests/bench/compile_bench
tests_bench_compile_bench_SOURCES = tests/bench/compile_bench.c
tests_bench_compile_bench_LDADD = lib/libwasmslot.a $(PTHREAD_LIBS) -lm

tests/bench/big.c: tests/bench/gen_big.py
	$(AM_V_GEN)$(MKDIR_P) $(@D) && python3 $(srcdir)/tests/bench/gen_big.py $(BIG_FUNCS) >$@.tmp && mv $@.tmp $@

$(BIG_WASM): tests/bench/big.c
	$(AM_V_GEN)$(WASM_CC) --target=wasm32-wasi --sysroot=$(WASI_SYSROOT) -O2 $< -o $@ -lm

bench-compile: tests/bench/compile_bench$(EXEEXT)
	@test -n '$(COMPUTE_BENCH_DEPS)' || { echo 'bench-compile: configure found no wasm32 C compiler (WASM_CC)' >&2; exit 1; }
	$(MAKE) $(AM_MAKEFLAGS) $(BIG_WASM)
	tests/bench/compile_bench$(EXEEXT) $(BIG_WASM)

.PHONY: bench-compile

# The instantiate benchmark (issue 13): acquire a pool slot, instantiate, call a trivial export,
# free the instance and release the slot, on the interpreter and on the native tier in one run,
# taking turns. `make bench-instantiate` runs it; never part of `make check`.
INSTANTIATE_WASM = tests/bench/instantiate.wasm
EXTRA_DIST += tests/bench/instantiate.wat
noinst_DATA += $(INSTANTIATE_WASM)
CLEANFILES += $(INSTANTIATE_WASM)
noinst_PROGRAMS += tests/bench/instantiate_bench
tests_bench_instantiate_bench_SOURCES = tests/bench/instantiate_bench.c
tests_bench_instantiate_bench_CPPFLAGS = $(AM_CPPFLAGS) \
	-DINSTANTIATE_WASM='"$(abs_top_builddir)/$(INSTANTIATE_WASM)"'
tests_bench_instantiate_bench_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_instantiate_bench_LDADD = lib/libwasmslot.a $(PTHREAD_LIBS) -lm

bench: tests/bench/instantiate_bench$(EXEEXT) $(INSTANTIATE_WASM)

bench-instantiate: tests/bench/instantiate_bench$(EXEEXT) $(INSTANTIATE_WASM)
	tests/bench/instantiate_bench$(EXEEXT) $(INSTANTIATE_WASM)

.PHONY: bench-instantiate
