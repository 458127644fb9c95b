# mk/shmem.mk: shared memories and wait/notify: library sources, their Check test, the benchmark.
lib_libwasmslot_a_SOURCES += lib/mem/shmem.c lib/mem/shmem.h

SHMEM_WAT = tests/wat/shmem_guest.wat
SHMEM_WASM = $(SHMEM_WAT:.wat=.wasm)
EXTRA_DIST += $(SHMEM_WAT)
check_DATA += $(SHMEM_WASM)
CLEANFILES += $(SHMEM_WASM)

check_PROGRAMS += tests/check_shmem
TESTS += tests/check_shmem
tests_check_shmem_SOURCES = tests/check_shmem.c
tests_check_shmem_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_shmem_LDADD = $(CHECK_LDADD) -lm

# Built by `make` and `make bench`, never run by `make check`; `make bench-atomic` runs it.
noinst_PROGRAMS += tests/bench/atomic-bench
tests_bench_atomic_bench_SOURCES = tests/bench/atomic_bench.c
tests_bench_atomic_bench_CPPFLAGS = $(AM_CPPFLAGS) \
	-DSHMEM_GUEST_WASM='"$(abs_top_builddir)/tests/wat/shmem_guest.wasm"'
tests_bench_atomic_bench_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_atomic_bench_LDADD = lib/libwasmslot.a $(PTHREAD_LIBS) -lm

bench: tests/bench/atomic-bench$(EXEEXT) $(SHMEM_WASM)

bench-atomic: tests/bench/atomic-bench$(EXEEXT) $(SHMEM_WASM)
	tests/bench/atomic-bench$(EXEEXT)

.PHONY: bench bench-atomic
