# mk/native.mk: the native tier (lib/native/), built when configure found LLVM 19. Its files are
# compiled with LLVM's preprocessor flags (no other file sees them), once for the project's
# archive libwasmslot.a and once, with hidden visibility, for the installed libtool library.
if HAVE_LLVM
NATIVE_SOURCES = \
	lib/native/native.h \
	lib/native/native_int.h \
	lib/native/cache.c \
	lib/native/cache.h \
	lib/native/key.c \
	lib/native/translate.c \
	lib/native/translate_atomic.h \
	lib/native/jit.c \
	lib/native/rt.c \
	lib/native/stack.c \
	lib/native/tier.c

noinst_LIBRARIES += lib/native/libnative.a
lib_native_libnative_a_CPPFLAGS = $(AM_CPPFLAGS) $(LLVM_CPPFLAGS)
lib_native_libnative_a_CFLAGS = $(AM_CFLAGS) -O2
lib_native_libnative_a_SOURCES = $(NATIVE_SOURCES)
lib_libwasmslot_a_LIBADD = \
	lib/native/libnative_a-cache.$(OBJEXT) \
	lib/native/libnative_a-key.$(OBJEXT) \
	lib/native/libnative_a-translate.$(OBJEXT) \
	lib/native/libnative_a-jit.$(OBJEXT) \
	lib/native/libnative_a-rt.$(OBJEXT) \
	lib/native/libnative_a-stack.$(OBJEXT) \
	lib/native/libnative_a-tier.$(OBJEXT)

noinst_LTLIBRARIES = lib/native/libnative.la
lib_native_libnative_la_CPPFLAGS = $(AM_CPPFLAGS) $(LLVM_CPPFLAGS)
lib_native_libnative_la_CFLAGS = $(AM_CFLAGS) -O2 -fvisibility=hidden -fno-semantic-interposition
lib_native_libnative_la_SOURCES = $(NATIVE_SOURCES)
lib_libwasmslot_la_LIBADD += lib/native/libnative.la $(LLVM_LIBS)
endif

# The code cache (lib/native/cache.c) through the public API. Built in every configuration; it
# skips itself (exit 77) where the build has no native tier.
CACHE_WAT = \
	tests/wat/cache_code.wat \
	tests/wat/cache_other.wat \
	tests/wat/cache_atomic.wat
CACHE_WASM = $(CACHE_WAT:.wat=.wasm)
EXTRA_DIST += $(CACHE_WAT)
check_DATA += $(CACHE_WASM)
CLEANFILES += $(CACHE_WASM)
check_PROGRAMS += tests/check_cache
TESTS += tests/check_cache
tests_check_cache_SOURCES = tests/check_cache.c
tests_check_cache_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_cache_LDADD = $(CHECK_LDADD)
