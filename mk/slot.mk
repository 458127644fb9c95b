# mk/slot.mk: memory images, slots and pools: library sources, their Check test, the benchmark.
lib_libwasmslot_a_SOURCES += \
	lib/mem/image.c lib/mem/image.h \
	lib/mem/slot.c lib/mem/slot.h \
	lib/mem/pool.c lib/mem/pool.h \
	lib/mem/pagemap.c lib/mem/pagemap.h

SLOT_WAT = \
	tests/wat/slot_secret.wat \
	tests/wat/slot_other.wat \
	tests/wat/slot_global.wat \
	tests/wat/slot_oob.wat
SLOT_WASM = $(SLOT_WAT:.wat=.wasm)
EXTRA_DIST += $(SLOT_WAT)
check_DATA += $(SLOT_WASM)
CLEANFILES += $(SLOT_WASM)

check_PROGRAMS += tests/check_slot
TESTS += tests/check_slot
tests_check_slot_SOURCES = tests/check_slot.c
tests_check_slot_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_slot_LDADD = $(CHECK_LDADD)

# The benchmark is built by `make` and `make bench`, never run by `make check`; `make bench-slot`
# runs it.
noinst_PROGRAMS += tests/bench/slot-bench
tests_bench_slot_bench_SOURCES = tests/bench/slot_bench.c
tests_bench_slot_bench_CFLAGS = $(AM_CFLAGS) -O2
tests_bench_slot_bench_LDADD = lib/libwasmslot.a $(PTHREAD_LIBS)

bench: tests/bench/slot-bench$(EXEEXT)

bench-slot: tests/bench/slot-bench$(EXEEXT)
	tests/bench/slot-bench$(EXEEXT)

.PHONY: bench bench-slot
