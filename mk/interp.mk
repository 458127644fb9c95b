# mk/interp.mk: the function-body compiler, the interpreter, fault-to-trap handling, and their tests.
lib_libwasmslot_a_SOURCES += \
	lib/interp.h \
	lib/interp_ops.h \
	lib/interp_run.h \
	lib/interp_compile.h \
	lib/interp_compile.c \
	lib/interp_compile_stack.c \
	lib/interp_compile_ctl.c \
	lib/interp_compile_value.c \
	lib/interp.c \
	lib/exec.c \
	lib/trap.c \
	lib/trap.h

INTERP_WAT = tests/wat/interp_ops.wat
EXTRA_DIST += $(INTERP_WAT)
check_DATA += $(INTERP_WAT:.wat=.wasm)
CLEANFILES += $(INTERP_WAT:.wat=.wasm)

check_PROGRAMS += tests/check_interp
TESTS += tests/check_interp
tests_check_interp_SOURCES = tests/check_interp.c
tests_check_interp_CFLAGS = $(CHECK_CFLAGS_ALL) -DWAT_DIR='"$(abs_top_builddir)/tests/wat"'
tests_check_interp_LDADD = $(CHECK_LDADD) -lm
