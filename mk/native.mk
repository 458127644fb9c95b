# mk/native.mk: the native tier (lib/native/), built when configure found LLVM 19. Its files are
# compiled with LLVM's preprocessor flags (no other file sees them), once for the project's
# archive libwasmslot.a and once, with hidden visibility, for the installed libtool library.
if HAVE_LLVM
NATIVE_SOURCES = \
	lib/native/native.h \
	lib/native/native_int.h \
	lib/native/translate.c \
	lib/native/jit.c \
	lib/native/rt.c \
	lib/native/tier.c

noinst_LIBRARIES += lib/native/libnative.a
lib_native_libnative_a_CPPFLAGS = $(AM_CPPFLAGS) $(LLVM_CPPFLAGS)
lib_native_libnative_a_CFLAGS = $(AM_CFLAGS) -O2
lib_native_libnative_a_SOURCES = $(NATIVE_SOURCES)
lib_libwasmslot_a_LIBADD = \
	lib/native/libnative_a-translate.$(OBJEXT) \
	lib/native/libnative_a-jit.$(OBJEXT) \
	lib/native/libnative_a-rt.$(OBJEXT) \
	lib/native/libnative_a-tier.$(OBJEXT)

noinst_LTLIBRARIES = lib/native/libnative.la
lib_native_libnative_la_CPPFLAGS = $(AM_CPPFLAGS) $(LLVM_CPPFLAGS)
lib_native_libnative_la_CFLAGS = $(AM_CFLAGS) -O2 -fvisibility=hidden -fno-semantic-interposition
lib_native_libnative_la_SOURCES = $(NATIVE_SOURCES)
lib_libwasmslot_la_LIBADD += lib/native/libnative.la $(LLVM_LIBS)
endif
