# mk/atomic.mk: the threads proposal's instructions in the interpreter: their sources, their
# Check test and guest fixtures, and the guest part of the atomic benchmark (mk/shmem.mk).
lib_libwasmslot_a_SOURCES += \
	lib/interp/atomic.h \
	lib/interp/atomic_compile.h \
	lib/interp/atomic_run.h

ATOMIC_WAT = tests/wat/atomic_guest.wat tests/wat/atomic_unshared.wat tests/wat/atomic_ops.wat
ATOMIC_WASM = $(ATOMIC_WAT:.wat=.wasm)
EXTRA_DIST += $(ATOMIC_WAT)
check_DATA += $(ATOMIC_WASM)
CLEANFILES += $(ATOMIC_WASM)

check_PROGRAMS += tests/check_atomic
TESTS += tests/check_atomic
tests_check_atomic_SOURCES = tests/check_atomic.c
tests_check_atomic_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_atomic_LDADD = $(CHECK_LDADD)

# atomic-bench (built by mk/shmem.mk) runs the guest cases from atomic_guest.wasm.
tests_bench_atomic_bench_CPPFLAGS += \
	-DATOMIC_GUEST_WASM='"$(abs_top_builddir)/tests/wat/atomic_guest.wasm"'

bench: tests/wat/atomic_guest.wasm
bench-atomic: tests/wat/atomic_guest.wasm
