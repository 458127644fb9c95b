# mk/base.mk: the library (installed shared and static, and the archive the project's own
# programs link), its public header and pkg-config file, and the first unit tests.

# The project's daemon, client and tests link this archive of every object: the tests need
# the library's internal names, which the shared library hides. Every area adds its sources
# to lib_libwasmslot_a_SOURCES.
noinst_LIBRARIES += lib/libwasmslot.a
lib_libwasmslot_a_CFLAGS = $(AM_CFLAGS) -O2
lib_libwasmslot_a_SOURCES = \
	lib/wasmslot.h \
	lib/format/module.h \
	lib/runtime/runtime.h \
	lib/format/error.c \
	lib/runtime/version.c

# What is installed for embedders: libwasmslot.so and libwasmslot.a built by libtool from the
# same sources, compiled with -fvisibility=hidden so that only the names wasmslot.h marks
# WASMSLOT_API are exported (tests/tools/check-exports.sh checks it). -fno-semantic-interposition
# lets the library call its own public functions directly.
# -version-info CURRENT:REVISION:AGE, libtool's rule: an implementation change only bumps
# REVISION; added interfaces bump CURRENT and AGE and zero REVISION; removed or changed ones
# bump CURRENT and zero REVISION and AGE.
lib_LTLIBRARIES = lib/libwasmslot.la
lib_libwasmslot_la_SOURCES = $(lib_libwasmslot_a_SOURCES)
lib_libwasmslot_la_CFLAGS = $(AM_CFLAGS) -O2 -fvisibility=hidden -fno-semantic-interposition
lib_libwasmslot_la_LDFLAGS = -version-info 0:0:0 -no-undefined \
	-Wl,--version-script=$(srcdir)/lib/wasmslot.map
EXTRA_DIST += lib/wasmslot.map
EXTRA_lib_libwasmslot_la_DEPENDENCIES = lib/wasmslot.map
lib_libwasmslot_la_LIBADD = $(PTHREAD_LIBS)
include_HEADERS += lib/wasmslot.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/wasmslot.pc
EXTRA_DIST += lib/wasmslot.pc.in

check_PROGRAMS += tests/check_error
TESTS += tests/check_error
tests_check_error_SOURCES = tests/check_error.c
tests_check_error_CFLAGS = $(CHECK_CFLAGS_ALL)
tests_check_error_LDADD = $(CHECK_LDADD)
EXTRA_DIST += tests/wasm_fixture.h

# Every exported name is a WASMSLOT_API function of wasmslot.h, and every one of those is
# exported.
TESTS += tests/tools/check-exports.sh
EXTRA_DIST += tests/tools/check-exports.sh

# The include graph of lib/, proto/, daemon/ and client/ follows the layering of docs/DESIGN.md
# ("Layers"): which wing may include which, and no circle between modules.
TESTS += tests/layout/check-includes.py
EXTRA_DIST += tests/layout/check-includes.py

# The embedding example, built against the *installed* library through its wasmslot.pc, run on
# its module: a call, a pool slot used twice, a trap (make installcheck; make distcheck too).
EMBED_EXAMPLE = docs/examples/embed.wasm
noinst_DATA += $(EMBED_EXAMPLE)
CLEANFILES += $(EMBED_EXAMPLE) docs/examples/embed docs/examples/embed-static
EXTRA_DIST += docs/examples/embed.c docs/examples/embed.wat
installcheck-embed: $(EMBED_EXAMPLE)
	$(MKDIR_P) docs/examples
	PKG_CONFIG_PATH='$(DESTDIR)$(libdir)/pkgconfig' && export PKG_CONFIG_PATH && \
	PKG_CONFIG_SYSROOT_DIR='$(DESTDIR)' && export PKG_CONFIG_SYSROOT_DIR && \
	flags=`$(PKG_CONFIG) --cflags --libs wasmslot` && \
	echo "pkg-config --cflags --libs wasmslot: $$flags" && \
	$(CC) -std=c11 -Wall -Wextra -Werror $(srcdir)/docs/examples/embed.c $$flags \
		-Wl,-rpath,'$(DESTDIR)$(libdir)' -o docs/examples/embed && \
	ldd docs/examples/embed | grep 'libwasmslot\.so\.0 => $(DESTDIR)$(libdir)/' && \
	docs/examples/embed $(EMBED_EXAMPLE) && \
	private=`$(PKG_CONFIG) --static --libs wasmslot | sed 's/-L[^ ]*//; s/-lwasmslot//'` && \
	echo "static: $(DESTDIR)$(libdir)/libwasmslot.a $$private" && \
	$(CC) -std=c11 -Wall -Wextra -Werror $(srcdir)/docs/examples/embed.c \
		`$(PKG_CONFIG) --cflags wasmslot` '$(DESTDIR)$(libdir)/libwasmslot.a' $$private \
		-o docs/examples/embed-static && \
	docs/examples/embed-static $(EMBED_EXAMPLE) >/dev/null && rm -f docs/examples/embed-static
.PHONY: installcheck-embed

# wasmslot.h beside the standard WebAssembly C API's wasm.h (tests/compat/wasm.h holds the
# standard's declarations that used to collide): compiling it is the test.
check_PROGRAMS += tests/compat/wasm_h_compat
TESTS += tests/compat/wasm_h_compat
tests_compat_wasm_h_compat_SOURCES = tests/compat/wasm_h_compat.c tests/compat/wasm.h
tests_compat_wasm_h_compat_CFLAGS = $(AM_CFLAGS) -pedantic-errors
tests_compat_wasm_h_compat_LDADD = lib/libwasmslot.la
