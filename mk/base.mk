# mk/base.mk: the library archive, its public header, and the first unit tests.
lib_LIBRARIES += lib/libwasmslot.a
include_HEADERS += lib/wasmslot.h
lib_libwasmslot_a_CFLAGS = $(AM_CFLAGS) -O2
lib_libwasmslot_a_SOURCES = \
	lib/wasmslot.h \
	lib/format/module.h \
	lib/runtime/runtime.h \
	lib/format/error.c

check_PROGRAMS += tests/check_error
TESTS += tests/check_error
tests_check_error_SOURCES = tests/check_error.c
tests_check_error_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_error_LDADD = $(CHECK_LDADD)
EXTRA_DIST += tests/wasm_fixture.h
