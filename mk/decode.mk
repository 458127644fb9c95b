# mk/decode.mk: the binary decoder, the module-level validator, module introspection, their tests.
lib_libwasmslot_a_SOURCES += \
	lib/format/reader.h \
	lib/format/decode.c \
	lib/format/validate.c \
	lib/format/module.c

check_PROGRAMS += tests/check_decode
TESTS += tests/check_decode
tests_check_decode_SOURCES = tests/check_decode.c
tests_check_decode_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_decode_LDADD = $(CHECK_LDADD)
tests_check_decode_CPPFLAGS = $(AM_CPPFLAGS) -DDECODE_FIXTURES='"$(abs_top_builddir)/tests/wat"'

DECODE_WAT = tests/wat/decode_full.wat tests/wat/decode_shared.wat tests/wat/decode_min.wat
EXTRA_DIST += $(DECODE_WAT)
check_DATA += tests/wat/decode_full.wasm tests/wat/decode_shared.wasm tests/wat/decode_min.wasm
CLEANFILES += tests/wat/decode_full.wasm tests/wat/decode_shared.wasm tests/wat/decode_min.wasm
