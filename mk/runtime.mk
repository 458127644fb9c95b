# mk/runtime.mk: build rules of the runtime area: modules, instances, memories, tables, globals.
lib_libwasmslot_a_SOURCES += \
	lib/runtime/instance.c \
	lib/runtime/memory.c \
	lib/runtime/objects.c \
	lib/runtime/objects.h \
	lib/runtime/sha256.c \
	lib/runtime/sha256.h \
	lib/runtime/tier.h \
	lib/runtime/tiers.c \
	lib/runtime/tiers.h

RUNTIME_WAT = \
	tests/wat/inst_exports.wat \
	tests/wat/inst_start.wat \
	tests/wat/inst_start_trap.wat \
	tests/wat/inst_segments.wat \
	tests/wat/inst_oob_elem.wat \
	tests/wat/inst_oob_data.wat \
	tests/wat/inst_imports.wat \
	tests/wat/inst_host.wat
RUNTIME_WASM = $(RUNTIME_WAT:.wat=.wasm)
EXTRA_DIST += $(RUNTIME_WAT)
check_DATA += $(RUNTIME_WASM)
CLEANFILES += $(RUNTIME_WASM)

check_PROGRAMS += tests/check_memory tests/check_instance tests/check_sha256
TESTS += tests/check_memory tests/check_instance tests/check_sha256
tests_check_sha256_SOURCES = tests/check_sha256.c
tests_check_sha256_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_sha256_LDADD = $(CHECK_LDADD)
tests_check_memory_SOURCES = tests/check_memory.c
tests_check_memory_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_memory_LDADD = $(CHECK_LDADD)
tests_check_instance_SOURCES = tests/check_instance.c
tests_check_instance_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_instance_LDADD = $(CHECK_LDADD)

# The signal contract of wasmslot.h with host handlers installed before and after the
# library's; linked against the shared library, as an embedder would.
check_PROGRAMS += tests/check_signals
TESTS += tests/check_signals
EXTRA_DIST += tests/wat/signals.wat
check_DATA += tests/wat/signals.wasm
CLEANFILES += tests/wat/signals.wasm
tests_check_signals_SOURCES = tests/check_signals.c
tests_check_signals_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_signals_LDADD = lib/libwasmslot.la $(CHECK_LIBS)
